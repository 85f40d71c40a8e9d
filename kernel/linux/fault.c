/*
 * Exceptions in the program (trap.c calls user_fault for any the fault
 * handlers did not serve). Until signal delivery exists every one is
 * fatal: a report naming the signal, the address and a short user
 * backtrace, then the exit status a shell shows for a killed process,
 * 128 + the signal.
 */
#include "linux/signal.h"
#include "linux/task.h"
#include "linux/syscall.h"
#include "mm/vm.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/usercopy.h"
#include "lib/klog.h"
#include "lib/printf.h"

const char *signal_name(int sig, char *buf, size_t len)
{
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT",
		[SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
		[SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE", [SIGKILL] = "SIGKILL",
		[SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
		[SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT", [SIGSTOP] = "SIGSTOP",
	};
	if (sig > 0 && sig < (int)ARRAY_SIZE(names) && names[sig])
		return names[sig];
	snprintf(buf, len, "signal %d", sig);
	return buf;
}

static int signal_for(const struct trap_frame *tf)
{
	switch (tf->vector) {
	case TRAP_DE: case TRAP_MF: case TRAP_XM:
		return SIGFPE;
	case TRAP_UD:
		return SIGILL;
	case TRAP_DB: case TRAP_BP:
		return SIGTRAP;
	case TRAP_AC:
		return SIGBUS;
	case TRAP_PF:
		return vm_last_fault() == VM_FAULT_OOM ? SIGKILL : SIGSEGV;
	default:
		return SIGSEGV;      /* #GP, #SS, #NP, ... */
	}
}

/* Walks the program's frame-pointer chain, as far as it is readable. */
static void user_backtrace(const struct trap_frame *tf)
{
	pr_err("  #0  0x%016lx", tf->rip);
	uint64_t fp = tf->rbp;
	for (int i = 1; i < 16 && fp; i++) {
		uint64_t frame[2];
		if (fp & 7 || copy_from_user(frame, (const void *)fp, sizeof(frame)) < 0)
			break;
		if (!frame[1])
			break;
		pr_err("  #%-2d 0x%016lx", i, frame[1]);
		if (frame[0] <= fp)
			break;
		fp = frame[0];
	}
}

bool user_fault(struct trap_frame *tf)
{
	if (tf->vector == TRAP_PF && syscall_from_fault(tf))
		return true;
	int sig = signal_for(tf);
	char buf[16], where[96];
	uint64_t addr = tf->vector == TRAP_PF ? trap_cr2() : tf->rip;
	if (sig == SIGKILL) {
		pr_err("program killed: out of memory at address 0x%lx (rip 0x%lx)", addr, tf->rip);
		program_exit(128 + SIGKILL);
	}
	pr_err("program killed by %s at address 0x%lx", signal_name(sig, buf, sizeof(buf)), addr);
	vm_describe(addr, where, sizeof(where));
	pr_err("%s (%s), rip 0x%lx, rsp 0x%lx; address %s", trap_name((unsigned)tf->vector),
	       tf->vector == TRAP_PF ? (tf->error & PF_WRITE ? "write" :
					tf->error & PF_IFETCH ? "execute" : "read") : "fault",
	       tf->rip, tf->rsp, where);
	pr_err("user backtrace (frame pointers):");
	user_backtrace(tf);
	program_exit(128 + sig);
}
