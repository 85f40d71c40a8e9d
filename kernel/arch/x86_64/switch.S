/*
 * Thread context switch. Only the callee-saved registers need saving: the
 * switch is a function call as far as the compiler is concerned. Flags are
 * not saved: the scheduler switches with interrupts off and each thread
 * restores its own interrupt state when it leaves schedule().
 *
 *   struct thread *ctx_switch(uint64_t *save_rsp, uint64_t new_rsp,
 *                             struct thread *prev);
 * Saves the current stack pointer in *save_rsp, continues on new_rsp and
 * returns prev (in the new thread), so the new thread knows whom it
 * replaced.
 */
	.text
	.globl ctx_switch
	.type ctx_switch, @function
ctx_switch:
	pushq %rbp
	pushq %rbx
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	movq %rsp, (%rdi)
	movq %rsi, %rsp
	movq %rdx, %rax
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %rbx
	popq %rbp
	ret
	.size ctx_switch, . - ctx_switch

/* Where a new thread first returns to: rax holds the previous thread. */
	.globl thread_trampoline
	.type thread_trampoline, @function
thread_trampoline:
	movq %rax, %rdi
	xorl %ebp, %ebp
	call thread_start
	ud2
	.size thread_trampoline, . - thread_trampoline

	.section .note.GNU-stack, "", @progbits
