/*
 * Scheduling system calls, per thread as on Linux (pid 0 or a thread id;
 * the program's pid 1 is its first thread): sched_yield, the CPU affinity
 * masks (the scheduler's, bit per CPU), policies, getcpu.
 *
 * Policies: SCHED_OTHER, SCHED_BATCH and SCHED_IDLE are accepted and
 * reported back; all three run in the scheduler's normal class (it has no
 * weights yet). SCHED_FIFO, SCHED_RR and SCHED_DEADLINE fail with EPERM,
 * what an unprivileged Linux process gets: wisp has no real-time class,
 * and claiming one would promise latencies it does not give. Programs
 * that try real-time scheduling handle EPERM already.
 */
#include "linux/syscall.h"
#include "linux/task.h"
#include "sched/sched.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/usercopy.h"
#include "errno.h"

#define SCHED_OTHER    0
#define SCHED_FIFO     1
#define SCHED_RR       2
#define SCHED_BATCH    3
#define SCHED_IDLE     5
#define SCHED_DEADLINE 6
#define SCHED_RESET_ON_FORK 0x40000000

static long sys_sched_yield(void)
{
	thread_yield_to_others();
	return 0;
}
SYSCALL(24, sched_yield, sys_sched_yield, "");

/* --- affinity ------------------------------------------------------------- */

static void get_affinity(struct task *t, void *arg)
{
	*(uint64_t *)arg = t->thread ? t->thread->affinity : CPUMASK_ALL;
}

static long sys_sched_getaffinity(int tid, unsigned len, uint8_t *mask)
{
	/* The kernel's mask is 64 bits (MAX_CPUS); Linux wants room for
	 * every possible CPU and a whole number of longs. */
	if (len < 8 || (len & 7))
		return -EINVAL;
	uint64_t m;
	if (task_with_tid(tid, get_affinity, &m) < 0)
		return -ESRCH;
	m &= sched_online_mask();
	if (copy_to_user(mask, &m, sizeof(m)) < 0)
		return -EFAULT;
	return 8;
}
SYSCALL(204, sched_getaffinity, sys_sched_getaffinity, "dup");

static void set_affinity(struct task *t, void *arg)
{
	if (t->thread)
		thread_set_affinity(t->thread, *(uint64_t *)arg);
}

static long sys_sched_setaffinity(int tid, unsigned len, const uint8_t *mask)
{
	uint64_t m = 0;
	if (copy_from_user(&m, mask, MIN(len, 8u)) < 0)
		return -EFAULT;
	m &= sched_online_mask();
	if (!m)
		return -EINVAL;
	struct task *self = task_current();
	if (tid == 0 || tid == self->tid) {
		/* May move the caller to another CPU at once. */
		thread_set_affinity(self->thread, m);
		return 0;
	}
	return task_with_tid(tid, set_affinity, &m) < 0 ? -ESRCH : 0;
}
SYSCALL(203, sched_setaffinity, sys_sched_setaffinity, "dup");

/* --- policies and priorities ------------------------------------------------- */

static bool valid_policy(int policy)
{
	return policy == SCHED_OTHER || policy == SCHED_FIFO || policy == SCHED_RR ||
	       policy == SCHED_BATCH || policy == SCHED_IDLE || policy == SCHED_DEADLINE;
}

static long sys_sched_get_priority_max(int policy)
{
	if (!valid_policy(policy))
		return -EINVAL;
	return policy == SCHED_FIFO || policy == SCHED_RR ? 99 : 0;
}
SYSCALL(146, sched_get_priority_max, sys_sched_get_priority_max, "d");

static long sys_sched_get_priority_min(int policy)
{
	if (!valid_policy(policy))
		return -EINVAL;
	return policy == SCHED_FIFO || policy == SCHED_RR ? 1 : 0;
}
SYSCALL(147, sched_get_priority_min, sys_sched_get_priority_min, "d");

static void get_policy(struct task *t, void *arg)
{
	*(int *)arg = t->sched_policy;
}

static long sys_sched_getscheduler(int tid)
{
	int p;
	if (tid < 0)
		return -EINVAL;
	return task_with_tid(tid, get_policy, &p) < 0 ? -ESRCH : p;
}
SYSCALL(145, sched_getscheduler, sys_sched_getscheduler, "d");

static void set_policy(struct task *t, void *arg)
{
	t->sched_policy = *(int *)arg;
}

static long sys_sched_setscheduler(int tid, int policy, const int *uparam)
{
	int prio;
	if (tid < 0 || !uparam)
		return -EINVAL;
	if (copy_from_user(&prio, uparam, sizeof(prio)) < 0)
		return -EFAULT;
	policy &= ~SCHED_RESET_ON_FORK;
	if (!valid_policy(policy))
		return -EINVAL;
	if (policy == SCHED_FIFO || policy == SCHED_RR) {
		if (prio < 1 || prio > 99)
			return -EINVAL;
		return -EPERM;
	}
	if (policy == SCHED_DEADLINE)
		return -EINVAL;             /* only through sched_setattr */
	if (prio != 0)
		return -EINVAL;
	return task_with_tid(tid, set_policy, &policy) < 0 ? -ESRCH : 0;
}
SYSCALL(144, sched_setscheduler, sys_sched_setscheduler, "ddp");

static void nothing(struct task *t, void *arg)
{
	(void)t, (void)arg;
}

static long sys_sched_getparam(int tid, int *param)
{
	int zero = 0;
	if (tid < 0 || !param)
		return -EINVAL;
	if (task_with_tid(tid, nothing, NULL) < 0)
		return -ESRCH;
	return copy_to_user(param, &zero, sizeof(zero)) < 0 ? -EFAULT : 0;
}
SYSCALL(143, sched_getparam, sys_sched_getparam, "dp");

static long sys_sched_setparam(int tid, const int *param)
{
	int prio;
	if (tid < 0 || !param)
		return -EINVAL;
	if (copy_from_user(&prio, param, sizeof(prio)) < 0)
		return -EFAULT;
	if (task_with_tid(tid, nothing, NULL) < 0)
		return -ESRCH;
	return prio == 0 ? 0 : -EINVAL;    /* the normal policies have priority 0 */
}
SYSCALL(142, sched_setparam, sys_sched_setparam, "dp");

static long sys_sched_rr_get_interval(int tid, int64_t *uts)
{
	if (tid < 0)
		return -EINVAL;
	if (task_with_tid(tid, nothing, NULL) < 0)
		return -ESRCH;
	int64_t ts[2] = { 0, 4000000 };      /* the scheduler's 4 ms slice */
	return copy_to_user(uts, ts, sizeof(ts)) < 0 ? -EFAULT : 0;
}
SYSCALL(148, sched_rr_get_interval, sys_sched_rr_get_interval, "dp");

/* The same answer as the vDSO's getcpu, which reads TSC_AUX (set to the
 * CPU number on each CPU). */
static long sys_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	(void)cache;
	unsigned c = cpu_id(), n = 0;
	if (cpu && copy_to_user(cpu, &c, sizeof(c)) < 0)
		return -EFAULT;
	if (node && copy_to_user(node, &n, sizeof(n)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(309, getcpu, sys_getcpu, "ppp");
