/*
 * Application processor start-up code. smp.c copies trampoline_start ..
 * trampoline_end to a page P below 1 MiB and patches the data at the end;
 * a STARTUP IPI starts the AP in real mode at P:0 (CS = P >> 4, IP = 0).
 * Real mode -> protected mode -> long mode on temporary page tables that
 * identity-map the first 2 MiB (where P is) and share the kernel's upper
 * half; then a jump to smp_ap_entry in the kernel, on the stack the AP's
 * slot names. The kernel switches to its own page tables from there.
 * Everything here is addressed relative to P (in %ebx), never by a link
 * address, since the code runs at a place chosen at run time.
 */
#define TR(x) ((x) - trampoline_start)

	.section .rodata, "a"
	.balign 16
	.globl trampoline_start, trampoline_end
	.globl tr_pm_ptr, tr_lm_ptr, tr_gdtr, tr_cr3, tr_entry, tr_next_slot, tr_stacks
	.code16
trampoline_start:
	cli
	cld
	movw %cs, %ax
	movw %ax, %ds
	xorl %ebx, %ebx
	movw %ax, %bx
	shll $4, %ebx                   /* ebx = P, kept until the kernel */
	lgdtl TR(tr_gdtr)
	movl %cr0, %eax
	orl $1, %eax                    /* PE */
	movl %eax, %cr0
	ljmpl *TR(tr_pm_ptr)

	.code32
tr_pm:
	movw $0x10, %ax
	movw %ax, %ds
	movw %ax, %es
	movw %ax, %ss
	movw %ax, %fs
	movw %ax, %gs
	movl %cr4, %eax
	orl $(1 << 5), %eax             /* PAE */
	movl %eax, %cr4
	movl TR(tr_cr3)(%ebx), %eax
	movl %eax, %cr3
	movl $0xC0000080, %ecx          /* EFER: LME, NXE (the kernel's tables use NX) */
	rdmsr
	orl $((1 << 8) | (1 << 11)), %eax
	wrmsr
	movl %cr0, %eax
	orl $0x80010001, %eax           /* PG, WP, PE */
	movl %eax, %cr0
	ljmpl *TR(tr_lm_ptr)(%ebx)

	.code64
tr_lm:
	movl $1, %eax
	lock xaddl %eax, TR(tr_next_slot)(%rbx)
	movq TR(tr_stacks)(%rbx, %rax, 8), %rsp
	movl %eax, %edi
	xorl %ebp, %ebp
	movq TR(tr_entry)(%rbx), %rax
	pushq $0                        /* a null return address ends backtraces */
	jmpq *%rax

	.balign 8
tr_gdt:
	.quad 0
	.quad 0x00CF9A000000FFFF        /* 0x08: 32-bit code */
	.quad 0x00CF92000000FFFF        /* 0x10: data */
	.quad 0x00AF9A000000FFFF        /* 0x18: 64-bit code */
tr_gdt_end:
	.balign 8
tr_gdtr:
	.word tr_gdt_end - tr_gdt - 1
	.long TR(tr_gdt)                /* + P, patched */
	.balign 8
tr_pm_ptr:
	.long TR(tr_pm)                 /* + P, patched */
	.word 0x08
	.balign 8
tr_lm_ptr:
	.long TR(tr_lm)                 /* + P, patched */
	.word 0x18
	.balign 8
tr_cr3:
	.quad 0                         /* temporary PML4, below 4 GiB */
tr_entry:
	.quad 0                         /* smp_ap_entry */
tr_next_slot:
	.long 0
	.long 0
tr_stacks:
	.fill 64, 8, 0                  /* stack top per slot */
trampoline_end:

	.section .note.GNU-stack, "", @progbits
