/*
 * Interrupt and exception entry. Each of the 256 vectors has a stub, 16 bytes
 * apart from trap_stubs, that makes every stack look alike — a zero where the
 * CPU pushes no error code, then the vector number — and jumps to
 * trap_common, which saves the registers as a struct trap_frame (trap.h) and
 * calls trap_dispatch(tf). The exit restores them and returns with iretq.
 *
 * %gs: in the kernel GS_BASE points at this CPU's struct percpu; while the
 * program runs it is the program's own and KERNEL_GS_BASE holds ours. So an
 * entry from ring 3 does swapgs and so does the matching exit. Two entries
 * from ring 0 may still find the program's GS loaded:
 *  - NMI, #DF and #MC arrive anywhere, also between `syscall` and the
 *    syscall path's own swapgs. For these three the GS_BASE MSR decides:
 *    an upper-half (negative) address is ours.
 *  - iretq to ring 3 may fault (a bad frame from a signal return) after
 *    the exit's swapgs. Recognised by the faulting rip being trap_iret with
 *    a ring-3 frame in front of it.
 * %ebx carries "swapgs again on exit" across the C call (callee-saved).
 */
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/frame.h"

#define TF_VECTOR   120     /* offsets in struct trap_frame */
#define TF_RIP      136
#define TF_CS       144
#define TF_RSP      160
#define TF_SIZE     176
#define MSR_GS_BASE 0xC0000101

/* The CPU pushes an error code for these vectors. */
#define HAS_ERROR(v) ((v) == 8 || ((v) >= 10 && (v) <= 14) || (v) == 17 || \
		      (v) == 21 || (v) == 29 || (v) == 30)

	.text
	.balign 16
	.globl trap_stubs
	.type trap_stubs, @function
trap_stubs:
	.set vec, 0
	.rept 256
	.balign 16
	.if HAS_ERROR(vec)
	.else
	pushq $0
	.endif
	pushq $vec
	/* A jmp with a fixed 5-byte encoding, so no stub outgrows its 16
	 * bytes whatever the assembler's relaxation does (2 + 5 + 5 max). */
	.byte 0xe9
	.long trap_common - . - 4
	.set vec, vec + 1
	.endr
	.size trap_stubs, . - trap_stubs

	.globl trap_common
	.type trap_common, @function
trap_common:
	PUSH_GPRS
	/* A clean RFLAGS for C: DF clear as the ABI wants, AC clear so SMAP
	 * guards the kernel even if the program had set AC. IF is already 0
	 * (interrupt gates). */
	pushq $2
	popfq

	xorl %ebx, %ebx
	testb $3, TF_CS(%rsp)
	jnz 1f                          /* from ring 3 */
	movq TF_VECTOR(%rsp), %rax
	cmpq $2, %rax
	je 2f
	cmpq $8, %rax
	je 2f
	cmpq $18, %rax
	je 2f
	leaq trap_iret(%rip), %rax
	cmpq %rax, TF_RIP(%rsp)
	jne 3f
	movq TF_RSP(%rsp), %rax         /* the frame iretq was popping */
	testb $3, 8(%rax)
	jz 3f
1:	swapgs
	movl $1, %ebx
	jmp 3f
2:	movl $MSR_GS_BASE, %ecx         /* NMI, #DF, #MC: ask the MSR */
	rdmsr
	testl %edx, %edx
	jns 1b
3:
	/* A frame record for the interrupted code, so a backtrace taken in a
	 * handler continues into what the trap interrupted. */
	pushq TF_RIP(%rsp)
	pushq %rbp
	movq %rsp, %rbp
	leaq 16(%rsp), %rdi
	call trap_dispatch
	addq $16, %rsp

trap_exit:
	testl %ebx, %ebx
	jz 4f
	swapgs
4:	POP_GPRS
	addq $16, %rsp                  /* vector, error */
	.globl trap_iret
trap_iret:
	iretq
	.size trap_common, . - trap_common

/*
 * void trap_return(struct trap_frame *tf): leaves through the common exit
 * with the registers in *tf, to ring 3 (with swapgs) or ring 0 as tf->cs
 * says. The frame must sit on the stack the code returned to may reuse,
 * e.g. at the top of a thread's kernel stack. Never returns.
 */
	.globl trap_return
	.type trap_return, @function
trap_return:
	cli
	movq %rdi, %rsp
	xorl %ebx, %ebx
	testb $3, TF_CS(%rsp)
	jz trap_exit
	movl $1, %ebx
	jmp trap_exit
	.size trap_return, . - trap_return

	.section .note.GNU-stack, "", @progbits
