/*
 * PVH entry. The loader (QEMU -kernel, wisp-vmm, Firecracker, Xen) enters at
 * pvh_start32 in 32-bit protected mode, paging off, %ebx = physical address of
 * struct hvm_start_info. We build an identity map of the first 1 GiB, enter
 * long mode and call boot_early() in C, still at the physical link address.
 *
 * The kernel is a PIE, and 32-bit code has no RIP-relative addressing, so this
 * section addresses its own data as KERNEL_LOAD_PHYS + offset-within-section.
 */
#include "arch/x86_64/layout.h"

#define PHYS(sym) (KERNEL_LOAD_PHYS + ((sym) - pvh_start32))

#define CR0_PE   (1 << 0)
#define CR0_WP   (1 << 16)
#define CR0_PG   (1 << 31)
#define CR4_PAE  (1 << 5)
#define MSR_EFER 0xC0000080
#define EFER_LME (1 << 8)
#define EFER_NXE (1 << 11)

	.section .boot, "awx"
	.code32
	.globl pvh_start32
pvh_start32:
	cli
	cld
	rdtsc                           /* boot time is measured from here */
	movl %eax, PHYS(boot_entry_tsc)
	movl %edx, PHYS(boot_entry_tsc) + 4
	movl %ebx, %esi                 /* start_info, kept for C */

	/* PML4[0] -> PDPT, PDPT[0] -> PD, PD = 512 x 2 MiB identity. */
	movl $PHYS(boot_pdpt) + 3, PHYS(boot_pml4)
	movl $PHYS(boot_pd) + 3, PHYS(boot_pdpt)
	movl $PHYS(boot_pd), %edi
	xorl %ecx, %ecx
1:	movl %ecx, %eax
	shll $21, %eax
	orl $0x83, %eax                 /* present, writable, 2 MiB */
	movl %eax, (%edi, %ecx, 8)
	incl %ecx
	cmpl $512, %ecx
	jne 1b

	movl %cr4, %eax
	orl $CR4_PAE, %eax
	movl %eax, %cr4
	movl $PHYS(boot_pml4), %eax
	movl %eax, %cr3

	/* EFER: long mode, and no-execute when the CPU has it. */
	movl $0x80000001, %eax
	cpuid
	movl $EFER_LME, %edi
	btl $20, %edx
	jnc 2f
	orl $EFER_NXE, %edi
2:	movl $MSR_EFER, %ecx
	rdmsr
	orl %edi, %eax
	wrmsr

	movl %cr0, %eax
	orl $(CR0_PG | CR0_WP | CR0_PE), %eax
	movl %eax, %cr0

	lgdt PHYS(boot_gdt_ptr)
	ljmp $8, $PHYS(start64)

	.code64
start64:
	movl $16, %eax
	movl %eax, %ds
	movl %eax, %es
	movl %eax, %ss
	xorl %eax, %eax
	movl %eax, %fs
	movl %eax, %gs

	/* Zero .bss (loaders usually do; the ABI does not promise it). */
	leaq __bss_start(%rip), %rdi
	leaq __bss_end(%rip), %rcx
	subq %rdi, %rcx
	xorl %eax, %eax
	rep stosb

	leaq boot_stack_top(%rip), %rsp
	xorl %ebp, %ebp
	movl %esi, %edi                 /* zero-extends start_info */
	call boot_early
3:	hlt
	jmp 3b

	.balign 8
boot_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF        /* 64-bit code */
	.quad 0x00CF92000000FFFF        /* data */
boot_gdt_ptr:
	.word boot_gdt_ptr - boot_gdt - 1
	.long PHYS(boot_gdt)

	.globl boot_entry_tsc
	.balign 8
boot_entry_tsc:
	.quad 0

	/* These tables stay mapped (identity) only until the kernel moves high. */
	.balign 4096
	.globl boot_pml4
boot_pml4:  .skip 4096
boot_pdpt:  .skip 4096
boot_pd:    .skip 4096

/*
 * boot_enter_high(cr3, stack_top, entry, arg): switch to the final page
 * tables and continue at the kernel's relocated (upper-half) address.
 */
	.text
	.globl boot_enter_high
boot_enter_high:
	movq %rdi, %cr3
	movq %rsi, %rsp
	xorl %ebp, %ebp
	movq %rcx, %rdi
	pushq $0                        /* fake return address ends backtraces */
	jmp *%rdx

	.bss
	.balign 16
	.globl boot_stack
boot_stack:
	.skip 16384
	.globl boot_stack_top
boot_stack_top:
