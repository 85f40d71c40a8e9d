/*
 * The `syscall` instruction lands here (MSR_LSTAR), in ring 0 with the
 * program's stack and GS, interrupts masked by SFMASK, rcx = return rip,
 * r11 = the program's rflags, rax = the number, arguments in rdi, rsi,
 * rdx, r10, r8, r9 (Linux x86-64 convention).
 *
 * We build a struct trap_frame (trap.h) on the kernel stack, exactly as an
 * interrupt from ring 3 would look, so signal delivery and the scheduler
 * can treat both alike: vector = SYSCALL_VECTOR marks it, error = the
 * syscall number (Linux's orig_rax, for restarting). syscall_dispatch()
 * puts the result in the frame's rax and says how to leave: sysretq in the
 * common case, or the interrupt exit (iretq) when the frame was changed in
 * ways sysret cannot restore (rt_sigreturn, signal delivery, a
 * non-canonical rip, which would make sysretq fault in ring 0).
 */
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/frame.h"
#include "arch/x86_64/percpu.h"

#define SYSCALL_VECTOR 256
#define TF_RIP      136
#define TF_RFLAGS   152
#define TF_RSP      160

	.text
	.globl syscall_entry
	.type syscall_entry, @function
	.balign 16
syscall_entry:
	swapgs
	movq %rsp, %gs:PERCPU_USER_RSP
	movq %gs:PERCPU_KSTACK_TOP, %rsp
	pushq $USER_SS
	pushq %gs:PERCPU_USER_RSP
	pushq %r11                      /* rflags */
	pushq $USER_CS
	pushq %rcx                      /* rip */
	pushq %rax                      /* error slot: orig_rax */
	pushq $SYSCALL_VECTOR
	PUSH_GPRS
	/* SFMASK cleared IF, TF, DF, AC and NT: the flags are already what C
	 * wants. Interrupts may come in from here on. */
	sti
	/* A frame record, so kernel backtraces end at the program's rip. */
	pushq TF_RIP(%rsp)
	pushq %rbp
	movq %rsp, %rbp
	leaq 16(%rsp), %rdi
	call syscall_dispatch
	addq $16, %rsp
	cli
	testl %eax, %eax
	jnz 1f

	POP_GPRS                        /* rcx and r11 are reloaded below */
	/* Now at vector; rip at +16, rflags at +32, rsp at +40. */
	movq 16(%rsp), %rcx
	movq 32(%rsp), %r11
	movq 40(%rsp), %rsp
	swapgs
	sysretq

1:	/* The slow way out: the interrupt exit, from this very frame. */
	movq %rsp, %rdi
	jmp trap_return
	.size syscall_entry, . - syscall_entry

	.section .note.GNU-stack, "", @progbits
