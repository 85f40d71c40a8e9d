/*
 * The kernel's only accesses to user memory. Every instruction that may
 * fault on a user address is listed in usercopy_fixups as (instruction,
 * fixup), both as 32-bit offsets from the entry itself so the table needs
 * no relocation. usercopy_fixup() (usercopy.c) looks a faulting rip up
 * there and resumes at the fixup, which reports the failure.
 *
 * With SMAP the accesses are bracketed by setting and clearing RFLAGS.AC.
 * Not with stac/clac: PVM (the /dev/kvm of the machines here) emulates the
 * guest's ring 0 and its emulator fails on them, ending the VM; popfq does
 * the same job everywhere at the price of a few cycles.
 */

#define RFLAGS_AC 0x40000

.macro OPEN
	testb $1, usercopy_smap(%rip)
	jz 98f
	pushfq
	orl $RFLAGS_AC, (%rsp)
	popfq
98:
.endm

.macro CLOSE
	testb $1, usercopy_smap(%rip)
	jz 99f
	pushfq
	andl $~RFLAGS_AC, (%rsp)
	popfq
99:
.endm

.macro FIXUP insn, fix
	.pushsection .rodata.usercopy_fixups, "a"
	.balign 4
	.long \insn - .
	.long \fix - .
	.popsection
.endm

	.section .rodata.usercopy_fixups, "a"
	.balign 4
	.globl usercopy_fixups_start
usercopy_fixups_start:

	.text

/* size_t __copy_user(void *dst, const void *src, size_t n):
 * returns the number of bytes NOT copied (0 on success). */
	.globl __copy_user
	.type __copy_user, @function
/* Words first, then the tail (see memcpy in lib/string.c for why). A
 * fault in the word loop reports the words left plus the tail: a word
 * that straddles the faulting page boundary counts as not copied. */
__copy_user:
	OPEN
	movq %rdx, %rcx
	shrq $3, %rcx
	andl $7, %edx
1:	rep movsq
	movl %edx, %ecx
3:	rep movsb
	CLOSE
	xorl %eax, %eax
	ret
2:	CLOSE
	leaq (%rdx, %rcx, 8), %rax
	ret
4:	CLOSE
	movq %rcx, %rax
	ret
	FIXUP 1b, 2b
	FIXUP 3b, 4b
	.size __copy_user, . - __copy_user

/* size_t __clear_user(void *dst, size_t n): bytes NOT cleared. */
	.globl __clear_user
	.type __clear_user, @function
__clear_user:
	OPEN
	movq %rsi, %rcx
	shrq $3, %rcx
	andl $7, %esi
	xorl %eax, %eax
1:	rep stosq
	movl %esi, %ecx
3:	rep stosb
	CLOSE
	xorl %eax, %eax
	ret
2:	CLOSE
	leaq (%rsi, %rcx, 8), %rax
	ret
4:	CLOSE
	movq %rcx, %rax
	ret
	FIXUP 1b, 2b
	FIXUP 3b, 4b
	.size __clear_user, . - __clear_user

/* long __strncpy_user(char *dst, const char *src, size_t n): copies up to
 * and including the NUL, at most n bytes. Returns the string length when a
 * NUL was copied, n when none was found, -14 (EFAULT) on a fault. */
	.globl __strncpy_user
	.type __strncpy_user, @function
__strncpy_user:
	OPEN
	xorl %eax, %eax
3:	cmpq %rdx, %rax
	je 4f
1:	movb (%rsi,%rax), %cl
	movb %cl, (%rdi,%rax)
	testb %cl, %cl
	jz 4f
	incq %rax
	jmp 3b
4:	CLOSE
	ret
2:	CLOSE
	movq $-14, %rax
	ret
	FIXUP 1b, 2b
	.size __strncpy_user, . - __strncpy_user

/* --- for futexes (linux/futex.c) ---
 * int __cmpxchg_user32(uint32_t *uaddr, uint32_t old, uint32_t new,
 *                      uint32_t *cur): an atomic compare-and-exchange on a
 * 4-byte aligned user word; *cur (kernel memory) gets the value found.
 * 0, or -14 (EFAULT) on a fault. */
	.globl __cmpxchg_user32
	.type __cmpxchg_user32, @function
__cmpxchg_user32:
	OPEN
	movl %esi, %eax
1:	lock cmpxchgl %edx, (%rdi)
	CLOSE
	movl %eax, (%rcx)
	xorl %eax, %eax
	ret
2:	CLOSE
	movl $-14, %eax
	ret
	FIXUP 1b, 2b
	.size __cmpxchg_user32, . - __cmpxchg_user32
/* --- end futex helpers --- */

	.section .rodata.usercopy_fixups, "a"
	.balign 4
	.globl usercopy_fixups_end
usercopy_fixups_end:

	.section .note.GNU-stack, "", @progbits
