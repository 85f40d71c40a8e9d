/*
 * The program's side of a thread: what Linux keeps per task and the
 * scheduler does not need to know about. For now the program is a single
 * task running on the boot thread; when kernel/sched brings threads, each
 * struct thread that runs program code points at one of these (clone
 * makes more).
 */
#pragma once
#include "linux/signal.h"

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
};

/* The task running on this CPU. */
struct task *task_current(void);
/* Creates the first task (tid 1) with its kernel stack. NULL when out of
 * memory. */
struct task *task_create_initial(void);
/* Makes t the task of this CPU: its kernel stack becomes the one entries
 * from ring 3 use, its FS/GS bases are loaded. */
void task_activate(struct task *t);

/* Ends the program with an exit status (exit_group, fatal signals). */
__noreturn void program_exit(int status);
