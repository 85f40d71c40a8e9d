/*
 * Exceptions in the program (trap.c calls user_fault for any the fault
 * handlers did not serve) become synchronous signals with Linux's siginfo:
 * the handler, if the program has one, runs on the way back to ring 3;
 * otherwise the default action ends the program with a report naming the
 * signal, the address and a user backtrace, and the exit status a shell
 * shows for a killed process, 128 + the signal (signal.c).
 */
#include "linux/signal.h"
#include "linux/task.h"
#include "linux/syscall.h"
#include "mm/vm.h"
#include "arch/x86_64/trap.h"
#include "lib/klog.h"

/* Linux's choice of signal and si_code for each exception. */
static int signal_for(const struct trap_frame *tf, int *code, uint64_t *addr)
{
	*addr = tf->rip;
	switch (tf->vector) {
	case TRAP_DE:
		*code = FPE_INTDIV;
		return SIGFPE;
	case TRAP_MF: case TRAP_XM:
		*code = FPE_FLTINV;
		return SIGFPE;
	case TRAP_UD:
		*code = ILL_ILLOPN;
		return SIGILL;
	case TRAP_DB:
		*code = TRAP_TRACE;
		return SIGTRAP;
	case TRAP_BP:
		/* Linux reports int3 as SI_KERNEL, address 0 */
		*code = SI_KERNEL;
		*addr = 0;
		return SIGTRAP;
	case TRAP_AC:
		*code = BUS_ADRALN;
		return SIGBUS;
	case TRAP_PF: {
		int f = vm_last_fault();
		*addr = trap_cr2();
		if (f == VM_FAULT_OOM)
			return SIGKILL;
		*code = f == VM_FAULT_ACCESS ? SEGV_ACCERR : SEGV_MAPERR;
		return SIGSEGV;
	}
	default:                /* #GP, #SS, #NP, ...: address unknown */
		*code = SI_KERNEL;
		*addr = 0;
		return SIGSEGV;
	}
}

bool user_fault(struct trap_frame *tf)
{
	if (tf->vector == TRAP_PF && syscall_from_fault(tf))
		return true;
	int code;
	uint64_t addr;
	int sig = signal_for(tf, &code, &addr);
	if (sig == SIGKILL) {
		pr_err("program killed: out of memory at address 0x%lx (rip 0x%lx)", addr, tf->rip);
		program_exit(128 + SIGKILL);
	}
	signal_force_fault(sig, code, addr, tf, tf->vector == TRAP_PF ? trap_cr2() : 0);
	/* Deliver now (the exception exit does it again: a no-op then). */
	signal_return_to_user(tf, false);
	return true;
}
