/*
 * Threads. A thread is a kernel stack (with an unmapped guard page below)
 * plus saved registers; the Linux layer gives the ones that run the
 * program a user context as well (struct thread.user), so one Linux
 * thread of the program is one of these.
 *
 * Lifecycle: thread_create makes a runnable, joinable thread. It ends by
 * returning from its function or calling thread_exit. Exactly one of
 * thread_join (waits, then frees) or thread_detach (frees by itself at
 * exit) must be called for each thread.
 *
 * Blocking: every wait takes an absolute deadline on the monotonic clock
 * (clock_monotonic_ns, ns; TIME_FOREVER for none) and may be
 * interruptible: thread_interrupt(t) sets t's interrupt flag and wakes t
 * out of any interruptible wait, which then returns -EINTR (the Linux
 * layer's signal delivery uses this). Waits return 0, -ETIMEDOUT or -EINTR.
 */
#pragma once
#include "sched/list.h"
#include "sched/pheap.h"
#include "sched/timer.h"
#include "sched/wait.h"

#define TIME_FOREVER UINT64_MAX

#define KSTACK_PAGES 4                     /* 16 KiB of stack ... */
#define KSTACK_SIZE  (KSTACK_PAGES * 4096) /* ... above one guard page */

enum thread_state {
	THREAD_RUNNING,     /* on a CPU (or about to block: see sched.c) */
	THREAD_RUNNABLE,    /* in a run queue */
	THREAD_MIGRATING,   /* between two run queues */
	THREAD_BLOCKED,     /* waiting; only thread_wake makes it runnable */
	THREAD_DEAD,        /* exited; its stack is still in use until switched away */
};

/* Scheduling classes: a runnable thread of a higher class always runs
 * before any of a lower one; within a class, the least virtual runtime. */
enum sched_class {
	SCHED_NORMAL = 0,
	SCHED_HIGH = 1,     /* interrupt-driven kernel work (net, block, timers) */
	SCHED_IDLE_CLASS = 2,  /* internal: the per-CPU idle threads */
};

#define THREAD_NAME_LEN 24
#define CPUMASK_ALL UINT64_MAX

/* Thread flags. */
#define TF_PREEMPT   (1u << 0)  /* may be preempted in the kernel (see sched.c) */
#define TF_FPU       (1u << 1)  /* has FPU/SSE/AVX state to keep (user threads) */
#define TF_DETACHED  (1u << 2)
#define TF_IDLE      (1u << 3)
#define TF_USER      (1u << 4)  /* runs program code: FS/GS bases switched */

struct thread {
	uint64_t rsp;               /* saved by ctx_switch; offset 0 (switch.S) */
	uint64_t kstack_top;        /* TSS.RSP0 / syscall stack while it runs */
	uint64_t kstack_base;       /* lowest mapped byte (guard page below) */
	volatile int state;         /* enum thread_state */
	unsigned flags;
	int sched_class;
	int tid;
	volatile unsigned cpu;      /* run queue it belongs to */
	uint64_t affinity;          /* CPUs it may run on (bit per CPU) */
	struct pheap_node rq_node;
	uint64_t vruntime;          /* ns of CPU time, weighted (all weights 1 now) */
	uint64_t run_start;         /* clock when it last went on a CPU */
	uint64_t cpu_time_ns;       /* total CPU time */
	uint64_t nr_switches;       /* times it went off a CPU */
	volatile bool interrupted;  /* thread_interrupt() pending */
	bool in_interruptible_wait;
	struct ktimer wait_timer;   /* deadline of the current wait */
	void (*fn)(void *);
	void *arg;
	long exit_code;
	volatile bool exited;       /* off its stack for good: joinable */
	struct wait_queue join_wq;  /* its lock also guards exited/TF_DETACHED */
	int preempt_count;          /* > 0: not preempted even with TF_PREEMPT */
	struct list all_node;       /* every thread, for listings */
	struct list reap_node;
	void *fpu_state;            /* XSAVE/FXSAVE area (64-byte aligned), or NULL */
	unsigned fpu_cpu;           /* CPU whose registers hold its state last */
	void *user;                 /* the Linux layer's per-thread data */
	/* TF_USER threads: the program's FS base (TLS) and GS base (held in
	 * MSR_KERNEL_GS_BASE while in the kernel). Live in the MSRs while the
	 * thread runs; saved here when it leaves a CPU, loaded when it comes
	 * back. */
	uint64_t user_fs_base, user_gs_base;
	char name[THREAD_NAME_LEN];
};

struct thread_attr {
	int sched_class;            /* SCHED_NORMAL by default */
	uint64_t affinity;          /* 0 means all CPUs */
	unsigned flags;             /* TF_PREEMPT, TF_FPU, TF_DETACHED */
	int cpu;                    /* -1: the scheduler picks */
};

typedef void (*thread_fn)(void *arg);

/* NULL when out of memory. attr may be NULL. */
struct thread *thread_create(thread_fn fn, void *arg, const char *name);
struct thread *thread_create_attr(thread_fn fn, void *arg, const char *name,
				  const struct thread_attr *attr);
__noreturn void thread_exit(long code);
/* Waits for t to end, frees it, returns its exit code. */
long thread_join(struct thread *t);
/* As thread_join with a deadline / interruptibly: 0 and *code, -ETIMEDOUT
 * or -EINTR (then t is still joinable). */
int thread_join_timeout(struct thread *t, uint64_t deadline, bool interruptible, long *code);
void thread_detach(struct thread *t);

static inline struct thread *thread_current(void);
void thread_yield(void);
/* sched_yield: gives the CPU to the other queued threads of the caller's
 * class before it runs again. */
void thread_yield_to_others(void);
/* Sleeps ns nanoseconds (at least). 0, or -EINTR when interrupted. */
int thread_sleep_ns(uint64_t ns);
int thread_sleep_until(uint64_t deadline, bool interruptible);

/* Wakes t out of interruptible waits (they return -EINTR) until cleared. */
void thread_interrupt(struct thread *t);
void thread_clear_interrupt(struct thread *t);

void thread_set_affinity(struct thread *t, uint64_t mask);
void thread_set_class(struct thread *t, int sched_class);
/* CPU time used by t so far, including the current run. */
uint64_t thread_cpu_time_ns(struct thread *t);
/* Marks the current thread as owning FPU/SSE/AVX state (initialised clean). */
void thread_use_fpu(void);
/* Number of threads alive (created and not yet freed). */
unsigned thread_count(void);
/* Calls fn for every thread (for /proc, debugging) with the thread list
 * locked and interrupts off: fn must not block or create/free threads. */
void thread_for_each(void (*fn)(struct thread *t, void *arg), void *arg);

#include "arch/x86_64/percpu.h"
static inline struct thread *thread_current(void)
{
	struct thread *t;
	__asm__ volatile("movq %%gs:%c1, %0" : "=r"(t) : "i"(PERCPU_CURRENT));
	return t;
}
