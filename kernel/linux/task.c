/*
 * Tasks: the Linux threads of the program. Each task runs on a scheduler
 * thread of its own (struct thread.user points at it), flagged TF_USER
 * (the scheduler switches its FS/GS bases) and TF_FPU (its FPU/SSE state
 * is saved and restored with it); the scheduler also points TSS.RSP0 and
 * the per-CPU syscall stack at the thread's kernel stack on every switch.
 *
 * The first task (tid 1, the program's pid) runs on the boot thread;
 * clone.c makes the others (tids 2, 3, ...).
 */
#include "linux/task.h"
#include "linux/futex.h"
#include "linux/syscall.h"
#include "sched/sched.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/power.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/usercopy.h"
#include "drivers/console.h"
#include "fs/shutdown.h"
#include "mm/heap.h"
#include "mm/page_alloc.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "errno.h"

#define KSTACK_ORDER 2          /* 16 KiB */

static struct task initial;

static spinlock_t tasks_lock = SPINLOCK_INIT;
static struct list tasks = LIST_INIT(tasks);
static unsigned ntasks;
/* CPU time of the threads that have exited (getrusage, times). */
static uint64_t exited_cpu_ns;

/* --- every CPU runs program threads ----------------------------------------
 * The syscall MSRs and SMEP/SMAP are per CPU: the boot CPU gets them in
 * program_start (syscall_init, usercopy_init), the other CPUs here: those
 * up by then through a cross-CPU call, later ones as they come up. */
static uint64_t user_cr4_bits;

static void user_cpu_setup(void *arg)
{
	(void)arg;
	syscall_init_cpu();
	write_cr4(read_cr4() | __atomic_load_n(&user_cr4_bits, __ATOMIC_SEQ_CST));
}

void smp_ap_hook(unsigned cpu)
{
	(void)cpu;
	user_cpu_setup(NULL);
}

struct task *task_current(void)
{
	return thread_current()->user;
}

struct task *task_create_initial(void)
{
	struct task *t = &initial;
	t->kstack = page_alloc_virt(KSTACK_ORDER);
	if (!t->kstack)
		return NULL;
	t->kstack_top = (uint64_t)t->kstack + (PAGE_SIZE << KSTACK_ORDER);
	t->tid = 1;
	__atomic_store_n(&user_cr4_bits, read_cr4() & (CR4_SMEP | CR4_SMAP), __ATOMIC_SEQ_CST);
	smp_call_mask(sched_online_mask() & ~(1ull << cpu_id()), user_cpu_setup, NULL);
	/* The boot thread becomes the program's first thread: its entries
	 * from ring 3 use this stack, it owns FPU state and user FS/GS. */
	struct thread *th = thread_current();
	thread_use_fpu();
	uint64_t f = irq_save();
	th->kstack_top = t->kstack_top;
	th->flags |= TF_USER;
	th->user = t;
	t->thread = th;
	irq_restore(f);
	f = spin_lock_irqsave(&tasks_lock);
	list_push_back(&tasks, &t->node);
	ntasks++;
	spin_unlock_irqrestore(&tasks_lock, f);
	return t;
}

void task_activate(struct task *t)
{
	uint64_t f = irq_save();
	this_cpu()->kstack_top = t->kstack_top;
	trap_set_kernel_stack(cpu_id(), t->kstack_top);
	wrmsr(MSR_FS_BASE, t->fs_base);
	/* While the kernel runs, the program's GS base waits in
	 * KERNEL_GS_BASE; swapgs on the way out puts it in place. */
	wrmsr(MSR_KERNEL_GS_BASE, t->gs_base);
	irq_restore(f);
}

/* Called by clone before the new thread may run: the task counts as
 * alive from here on (so the parent exiting at once does not end the
 * program). */
void task_register(struct task *t);
void task_register(struct task *t)
{
	uint64_t f = spin_lock_irqsave(&tasks_lock);
	list_push_back(&tasks, &t->node);
	ntasks++;
	spin_unlock_irqrestore(&tasks_lock, f);
}

/* Undoes task_register when the thread could not be created. */
void task_unregister(struct task *t);
void task_unregister(struct task *t)
{
	uint64_t f = spin_lock_irqsave(&tasks_lock);
	list_remove(&t->node);
	ntasks--;
	spin_unlock_irqrestore(&tasks_lock, f);
}

int task_with_tid(int tid, void (*fn)(struct task *t, void *arg), void *arg)
{
	if (tid == 0)
		tid = task_current()->tid;
	int r = -ESRCH;
	uint64_t f = spin_lock_irqsave(&tasks_lock);
	for (struct list *p = tasks.next; p != &tasks; p = p->next) {
		struct task *t = list_entry(p, struct task, node);
		if (t->tid == tid) {
			fn(t, arg);
			r = 0;
			break;
		}
	}
	spin_unlock_irqrestore(&tasks_lock, f);
	return r;
}

void task_for_each(void (*fn)(struct task *t, void *arg), void *arg)
{
	uint64_t f = spin_lock_irqsave(&tasks_lock);
	for (struct list *p = tasks.next; p != &tasks; p = p->next)
		fn(list_entry(p, struct task, node), arg);
	spin_unlock_irqrestore(&tasks_lock, f);
}

unsigned task_count(void)
{
	return ntasks;
}

uint64_t task_process_cpu_ns(void)
{
	uint64_t f = spin_lock_irqsave(&tasks_lock);
	uint64_t sum = exited_cpu_ns;
	for (struct list *p = tasks.next; p != &tasks; p = p->next) {
		struct task *t = list_entry(p, struct task, node);
		if (t->thread)
			sum += thread_cpu_time_ns(t->thread);
	}
	spin_unlock_irqrestore(&tasks_lock, f);
	return sum;
}

/* The signal code's clean-up of a leaving thread (weak: optional). */
#pragma weak signal_task_exit
void signal_task_exit(struct task *t);

__noreturn void task_exit(int status)
{
	struct task *t = task_current();
	struct thread *th = thread_current();
	futex_exit_robust_list(t);
	if (t->clear_child_tid) {
		/* What pthread_join waits for: the tid word cleared and a
		 * wake-up on it. A bad pointer is ignored, as on Linux. */
		uint32_t zero = 0;
		if (copy_to_user((void *)t->clear_child_tid, &zero, sizeof(zero)) == 0)
			futex_wake_addr(t->clear_child_tid, 1);
	}
	uint64_t f = spin_lock_irqsave(&tasks_lock);
	list_remove(&t->node);
	unsigned left = --ntasks;
	exited_cpu_ns += thread_cpu_time_ns(th);
	spin_unlock_irqrestore(&tasks_lock, f);
	if (left == 0)
		program_exit(status);      /* the last thread: the program ends */
	if (signal_task_exit)
		signal_task_exit(t);
	f = irq_save();
	th->user = NULL;
	irq_restore(f);
	if (t != &initial)
		kfree(t);
	/* The scheduler thread ends; it was created detached (clone.c), the
	 * boot thread is never freed. */
	thread_exit(0);
}

void program_exit(int status)
{
	/* The first thread to end the program runs the exit hooks (the
	 * network delivers what TCP still holds, bounded by net.drain_ms);
	 * one that arrives meanwhile waits for the power-off. Powering off
	 * stops every CPU, so the other threads end with it. */
	static int ending;
	if (__atomic_exchange_n(&ending, 1, __ATOMIC_ACQ_REL))
		for (;;)
			thread_sleep_until(TIME_FOREVER, false);
	irq_enable();   /* the hooks may sleep; a fault path can get here with them off */
	exit_hooks_run();
	machine_exit(status & 0xff);
}
