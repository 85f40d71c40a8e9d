/*
 * Signal system calls, state only: handlers, the mask and the alternate
 * stack are stored and reported back; nothing is delivered yet (no signal
 * source exists but faults, which fault.c reports as fatal).
 */
#include "linux/syscall.h"
#include "linux/signal.h"
#include "linux/task.h"
#include "arch/x86_64/usercopy.h"
#include "errno.h"

#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SS_AUTODISARM (1u << 31)
#define MINSIGSTKSZ 2048

#define UNBLOCKABLE ((1ull << (SIGKILL - 1)) | (1ull << (SIGSTOP - 1)))

static long sys_rt_sigaction(int sig, const struct k_sigaction *uact,
			     struct k_sigaction *uold, size_t setsize)
{
	if (setsize != 8)
		return -EINVAL;
	if (sig < 1 || sig > NSIG)
		return -EINVAL;
	struct task_signals *s = &task_current()->sig;
	struct k_sigaction act;
	if (uact) {
		if (sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		if (copy_from_user(&act, uact, sizeof(act)) < 0)
			return -EFAULT;
	}
	if (uold && copy_to_user(uold, &s->action[sig - 1], sizeof(act)) < 0)
		return -EFAULT;
	if (uact) {
		act.mask &= ~UNBLOCKABLE;
		s->action[sig - 1] = act;
	}
	return 0;
}
SYSCALL(13, rt_sigaction, sys_rt_sigaction, "dppu");

static long sys_rt_sigprocmask(int how, const uint64_t *uset, uint64_t *uold, size_t setsize)
{
	if (setsize != 8)
		return -EINVAL;
	struct task_signals *s = &task_current()->sig;
	uint64_t set = 0, old = s->blocked;
	if (uset) {
		if (copy_from_user(&set, uset, sizeof(set)) < 0)
			return -EFAULT;
		switch (how) {
		case SIG_BLOCK: s->blocked |= set; break;
		case SIG_UNBLOCK: s->blocked &= ~set; break;
		case SIG_SETMASK: s->blocked = set; break;
		default: return -EINVAL;
		}
		s->blocked &= ~UNBLOCKABLE;
	}
	if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(14, rt_sigprocmask, sys_rt_sigprocmask, "dppu");

static long sys_rt_sigpending(uint64_t *uset, size_t setsize)
{
	if (setsize > 8)
		return -EINVAL;
	uint64_t p = task_current()->sig.pending & task_current()->sig.blocked;
	return copy_to_user(uset, &p, setsize) < 0 ? -EFAULT : 0;
}
SYSCALL(127, rt_sigpending, sys_rt_sigpending, "pu");

static long sys_sigaltstack(const struct k_stack *uss, struct k_stack *uold)
{
	struct task_signals *s = &task_current()->sig;
	struct k_stack old = s->altstack;
	if (!old.size)
		old.flags = SS_DISABLE;
	if (uss) {
		struct k_stack ss;
		if (copy_from_user(&ss, uss, sizeof(ss)) < 0)
			return -EFAULT;
		int mode = ss.flags & ~(int32_t)SS_AUTODISARM;
		if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
			return -EINVAL;
		if (mode == SS_DISABLE) {
			ss.sp = 0;
			ss.size = 0;
		} else if (ss.size < MINSIGSTKSZ) {
			return -ENOMEM;
		}
		ss.flags = mode == SS_DISABLE ? SS_DISABLE : 0;
		s->altstack = ss;
	}
	if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(131, sigaltstack, sys_sigaltstack, "pp");
