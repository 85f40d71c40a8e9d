/* Assembly halves of the trap self-tests (trap_selftest.c). */
#include "arch/x86_64/gdt.h"

#define VEC_TEST 0x81
#define VEC_NONE 0x82

/* rax is free once checked: compare reg with val, fail with number n. */
#define EXPECT(reg, n, val)		\
	movabsq $val, %rax;		\
	cmpq %rax, %reg;		\
	movl $n, %eax;			\
	jne 10f

	.text

/*
 * Loads a known value into every register but rsp, raises `int $0x81`
 * (whose test handler sets rax = rdi * 3) and leaves in eax 0 when rax is
 * right and every other register came back unchanged, else the number of
 * the first register that did not (1 = rax).
 */
.macro INT_REGS_TEST
	movabsq $0x1111111111111111, %rbx
	movabsq $0x2222222222222222, %rcx
	movabsq $0x3333333333333333, %rdx
	movabsq $0x4444444444444444, %rsi
	movq $7, %rdi
	movabsq $0x5555555555555555, %rbp
	movabsq $0x6666666666666666, %r8
	movabsq $0x7777777777777777, %r9
	movabsq $0x8888888888888888, %r10
	movabsq $0x9999999999999999, %r11
	movabsq $0xaaaaaaaaaaaaaaaa, %r12
	movabsq $0xbbbbbbbbbbbbbbbb, %r13
	movabsq $0xcccccccccccccccc, %r14
	movabsq $0xdddddddddddddddd, %r15
	int $VEC_TEST
	cmpq $21, %rax
	movl $1, %eax           /* mov leaves the flags alone */
	jne 10f
	EXPECT(rbx, 2, 0x1111111111111111)
	EXPECT(rcx, 3, 0x2222222222222222)
	EXPECT(rdx, 4, 0x3333333333333333)
	EXPECT(rsi, 5, 0x4444444444444444)
	EXPECT(rdi, 6, 7)
	EXPECT(rbp, 7, 0x5555555555555555)
	EXPECT(r8, 8, 0x6666666666666666)
	EXPECT(r9, 9, 0x7777777777777777)
	EXPECT(r10, 10, 0x8888888888888888)
	EXPECT(r11, 11, 0x9999999999999999)
	EXPECT(r12, 12, 0xaaaaaaaaaaaaaaaa)
	EXPECT(r13, 13, 0xbbbbbbbbbbbbbbbb)
	EXPECT(r14, 14, 0xcccccccccccccccc)
	EXPECT(r15, 15, 0xdddddddddddddddd)
	xorl %eax, %eax
10:
.endm

/*
 * uint64_t selftest_probe(uint64_t addr): reads the word at addr. When
 * that faults, the test's #PF handler resumes at selftest_probe_fixup with
 * rax = ~0: the shape copy_from_user's exception fixups will have.
 */
	.globl selftest_probe, selftest_probe_insn, selftest_probe_fixup
	.type selftest_probe, @function
selftest_probe:
	pushq %rbp
	movq %rsp, %rbp
selftest_probe_insn:
	movq (%rdi), %rax
selftest_probe_fixup:
	popq %rbp
	ret
	.size selftest_probe, . - selftest_probe

/*
 * uint64_t selftest_user_enter(uint64_t rip, uint64_t rsp, uint64_t *ctx):
 * runs ring-3 code at rip on stack rsp with interrupts off, until a trap
 * handler calls selftest_user_exit(ctx, value); returns that value.
 */
	.globl selftest_user_enter
	.type selftest_user_enter, @function
selftest_user_enter:
	pushq %rbp
	movq %rsp, %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdx)
	pushq $USER_SS
	pushq %rsi
	pushq $2                /* rflags: IF off */
	pushq $USER_CS
	pushq %rdi
	xorl %eax, %eax         /* nothing of the kernel's reaches ring 3 */
	xorl %ebx, %ebx
	xorl %ecx, %ecx
	xorl %edx, %edx
	xorl %esi, %esi
	xorl %edi, %edi
	xorl %ebp, %ebp
	xorl %r8d, %r8d
	xorl %r9d, %r9d
	xorl %r10d, %r10d
	xorl %r11d, %r11d
	xorl %r12d, %r12d
	xorl %r13d, %r13d
	xorl %r14d, %r14d
	xorl %r15d, %r15d
	swapgs
	iretq
	.size selftest_user_enter, . - selftest_user_enter

/* void selftest_user_exit(uint64_t *ctx, uint64_t value) */
	.globl selftest_user_exit
	.type selftest_user_exit, @function
selftest_user_exit:
	movq (%rdi), %rsp
	movq %rsi, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size selftest_user_exit, . - selftest_user_exit

/*
 * Ring-3 code, run at its physical address through a temporary identity
 * mapping. The program's GS base points at two magic words. Vectors are
 * raised from here rather than from ring 0 because under PVM ring 0 is
 * emulated, and KVM's emulator does `int n` only in real mode.
 */
	.globl selftest_user_code
	.type selftest_user_code, @function
selftest_user_code:
	movq %gs:0, %rax        /* the program's GS is loaded */
	xorl %ebx, %ebx
	movw %cs, %bx
	xorl %ecx, %ecx
	movw %ss, %cx
	int3                    /* stage 0: handler checks, sets rdx */
	movq %gs:8, %rsi        /* after the exit path: the program's GS again */
	int3                    /* stage 1: checks rsi and rdx */
	INT_REGS_TEST           /* a vector >= 32, registers intact */
	int $VEC_NONE           /* nobody's: logged once, ignored */
	.globl selftest_user_after_ints
selftest_user_after_ints:     /* where a #UD on `int n` resumes (PVM) */
	int3                    /* stage 2: checks eax, leaves for good */
	ud2
	.size selftest_user_code, . - selftest_user_code

	.section .note.GNU-stack, "", @progbits
