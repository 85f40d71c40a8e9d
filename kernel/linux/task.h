/*
 * The program's side of a thread: what Linux keeps per task and the
 * scheduler does not need to know about. For now the program is a single
 * task running on the boot thread; when kernel/sched brings threads, each
 * struct thread that runs program code points at one of these (clone
 * makes more).
 */
#pragma once
#include "linux/signal.h"
#include "sched/list.h"

struct trap_frame;

struct task {
	int tid;
	/* The kernel stack entries from ring 3 use (TSS.RSP0, percpu
	 * kstack_top), and the frame of the system call in progress. */
	void *kstack;
	uint64_t kstack_top;
	struct trap_frame *frame;
	bool force_iret;

	uint64_t fs_base, gs_base;             /* arch_prctl */
	uint64_t clear_child_tid;              /* set_tid_address */
	uint64_t robust_list, robust_len;      /* set_robust_list */

	struct task_signals sig;               /* linux/signal.h */
	char comm[16];                         /* prctl(PR_SET_NAME) */

	/* --- threads (linux/task.c, clone.c, futex.c, sys_sched.c) -------
	 * One task per Linux thread of the program, each on a scheduler
	 * thread of its own (thread->user points back here). The list of
	 * tasks is guarded by the tasks lock (task_with_tid/task_for_each). */
	struct thread *thread;                 /* NULL until it first runs */
	struct list node;                      /* all live tasks */
	uint32_t futex_bitset;                 /* of the futex wait in progress */
	int sched_policy;                      /* SCHED_OTHER, _BATCH or _IDLE */
	/* clone → the new thread's first entry to ring 3 */
	struct trap_frame *start_frame;
	void *start_fpu;                       /* the parent's FPU state at clone */
	/* --- end threads --- */
};

/* The task running on this CPU. */
struct task *task_current(void);
/* Creates the first task (tid 1) with its kernel stack. NULL when out of
 * memory. */
struct task *task_create_initial(void);
/* Makes t the task of this CPU: its kernel stack becomes the one entries
 * from ring 3 use, its FS/GS bases are loaded. */
void task_activate(struct task *t);

/* --- threads --------------------------------------------------------- */
/* Calls fn(task, arg) for the live task with thread id tid (0: the
 * caller) with the tasks lock held (interrupts off: fn must not block).
 * 0, or -ESRCH when there is no such task. */
int task_with_tid(int tid, void (*fn)(struct task *t, void *arg), void *arg);
/* Calls fn for every live task, tasks lock held (same rules). */
void task_for_each(void (*fn)(struct task *t, void *arg), void *arg);
/* Live tasks (threads of the program). */
unsigned task_count(void);
/* CPU time of the whole program (live and exited threads), ns. */
uint64_t task_process_cpu_ns(void);
/* The calling thread leaves (SYS_exit): robust futexes, clear_child_tid,
 * then the scheduler thread ends; the last one ends the program with
 * status. */
__noreturn void task_exit(int status);
/* --- end threads --- */

/* Ends the program with an exit status (exit_group, fatal signals). */
__noreturn void program_exit(int status);
