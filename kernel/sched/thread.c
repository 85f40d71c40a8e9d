/*
 * Threads: creation, kernel stacks, exit, join/detach, sleeping,
 * interruption. See thread.h.
 */
#include "sched/sched.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/kvmap.h"
#include "arch/x86_64/time.h"
#include "mm/heap.h"
#include "mm/page_alloc.h"
#include "lib/string.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "errno.h"
#include "arch/x86_64/trap.h"

void thread_trampoline(void);
void sched_add_new(struct thread *t, int cpu);
void tlb_shootdown(uint64_t start, uint64_t end);

/* --- kernel stacks ----------------------------------------------------------
 * Each stack is KSTACK_SIZE of mapped pages in the KVA region above an
 * unmapped guard page: an overflow faults instead of corrupting the
 * neighbour. Stacks of freed threads are kept mapped in a cache (creating
 * and joining thousands of threads then costs no page-table work and no
 * TLB shoot-downs); beyond the cache they are unmapped and their pages
 * freed. A virtual range is never reused, so a stale translation on
 * another CPU can only point into a range nobody uses. */

#define STACK_CACHE_MAX 128

static spinlock_t stack_lock = SPINLOCK_INIT;
static uint64_t stack_cache[STACK_CACHE_MAX];
static unsigned stack_cached;

static void stack_unmap(uint64_t base, unsigned npages)
{
	for (unsigned i = 0; i < npages; i++) {
		uint64_t p = kvmap_unmap(base + (uint64_t)i * PAGE_SIZE);
		if (p)
			page_free(p, 0);
	}
}

static uint64_t stack_alloc(void)
{
	uint64_t f = spin_lock_irqsave(&stack_lock);
	uint64_t base = stack_cached ? stack_cache[--stack_cached] : 0;
	spin_unlock_irqrestore(&stack_lock, f);
	if (base)
		return base;
	uint64_t va = kva_reserve(KSTACK_SIZE + PAGE_SIZE);
	if (!va)
		return 0;
	base = va + PAGE_SIZE;          /* va itself stays unmapped: the guard */
	for (unsigned i = 0; i < KSTACK_PAGES; i++) {
		uint64_t p = page_alloc(0);
		if (!p || kvmap_map(base + (uint64_t)i * PAGE_SIZE, p) < 0) {
			if (p)
				page_free(p, 0);
			stack_unmap(base, i);
			return 0;
		}
	}
	return base;
}

static void stack_free(uint64_t base)
{
	uint64_t f = spin_lock_irqsave(&stack_lock);
	if (stack_cached < STACK_CACHE_MAX) {
		stack_cache[stack_cached++] = base;
		base = 0;
	}
	spin_unlock_irqrestore(&stack_lock, f);
	if (base) {
		stack_unmap(base, KSTACK_PAGES);
		tlb_shootdown(base, base + KSTACK_SIZE);
	}
}

/* --- the thread list, ids, reaping -------------------------------------------- */

static spinlock_t threads_lock = SPINLOCK_INIT;
static struct list all_threads = LIST_INIT(all_threads);
static unsigned nthreads;
static int next_tid = 1;

/* Detached threads that exited, freed from thread context (the exit path
 * runs where the heap may not be called: see finish_switch). */
static spinlock_t reap_lock = SPINLOCK_INIT;
static struct list reap_list = LIST_INIT(reap_list);

unsigned thread_count(void)
{
	return nthreads;
}

void thread_for_each(void (*fn)(struct thread *t, void *arg), void *arg)
{
	uint64_t f = spin_lock_irqsave(&threads_lock);
	struct list *p;
	for (p = all_threads.next; p != &all_threads; p = p->next)
		fn(list_entry(p, struct thread, all_node), arg);
	spin_unlock_irqrestore(&threads_lock, f);
}

static void thread_free(struct thread *t)
{
	uint64_t f = spin_lock_irqsave(&threads_lock);
	list_remove(&t->all_node);
	nthreads--;
	spin_unlock_irqrestore(&threads_lock, f);
	stack_free(t->kstack_base);
	fpu_area_free(t->fpu_state);
	kfree(t);
}

void thread_reap_deferred(void)
{
	if (list_empty(&reap_list))
		return;
	for (;;) {
		uint64_t f = spin_lock_irqsave(&reap_lock);
		struct thread *t = NULL;
		if (!list_empty(&reap_list)) {
			t = list_entry(reap_list.next, struct thread, reap_node);
			list_remove(&t->reap_node);
		}
		spin_unlock_irqrestore(&reap_lock, f);
		if (!t)
			return;
		thread_free(t);
	}
}

/* Called by the scheduler once a dead thread is off its stack for good. */
void thread_finished(struct thread *t)
{
	uint64_t f = wq_lock(&t->join_wq);
	t->exited = true;
	bool detached = t->flags & TF_DETACHED;
	if (!detached)
		wq_wake_locked(&t->join_wq, INT32_MAX);
	wq_unlock(&t->join_wq, f);
	if (detached) {
		f = spin_lock_irqsave(&reap_lock);
		list_push_back(&reap_list, &t->reap_node);
		spin_unlock_irqrestore(&reap_lock, f);
	}
}

/* --- creation ------------------------------------------------------------------ */

static struct thread *thread_new(thread_fn fn, void *arg, const char *name,
				 const struct thread_attr *attr)
{
	thread_reap_deferred();
	struct thread *t = kzalloc(sizeof(*t));
	if (!t)
		return NULL;
	t->kstack_base = stack_alloc();
	if (!t->kstack_base) {
		kfree(t);
		return NULL;
	}
	t->kstack_top = t->kstack_base + KSTACK_SIZE;
	t->fn = fn;
	t->arg = arg;
	t->flags = attr ? attr->flags : 0;
	t->sched_class = attr ? attr->sched_class : SCHED_NORMAL;
	t->affinity = attr && attr->affinity ? attr->affinity : CPUMASK_ALL;
	t->fpu_cpu = UINT32_MAX;
	if (t->flags & TF_FPU) {
		t->fpu_state = fpu_area_alloc();
		if (!t->fpu_state) {
			stack_free(t->kstack_base);
			kfree(t);
			return NULL;
		}
	}
	strlcpy(t->name, name ? name : "thread", sizeof(t->name));
	wq_init(&t->join_wq);
	ktimer_init(&t->wait_timer, NULL, t);
	list_init(&t->reap_node);
	/* The first switch to t pops six callee-saved registers (zero: rbp 0
	 * ends backtraces) and returns into thread_trampoline with the stack
	 * 16-byte aligned for its call. */
	uint64_t *sp = (uint64_t *)(t->kstack_top - 16);
	*--sp = (uint64_t)thread_trampoline;
	for (int i = 0; i < 6; i++)
		*--sp = 0;
	t->rsp = (uint64_t)sp;
	t->state = THREAD_RUNNABLE;

	uint64_t f = spin_lock_irqsave(&threads_lock);
	t->tid = next_tid++;
	list_push_back(&all_threads, &t->all_node);
	nthreads++;
	spin_unlock_irqrestore(&threads_lock, f);
	return t;
}

struct thread *thread_create_attr(thread_fn fn, void *arg, const char *name,
				  const struct thread_attr *attr)
{
	struct thread *t = thread_new(fn, arg, name, attr);
	if (t)
		sched_add_new(t, attr ? attr->cpu : -1);
	return t;
}

struct thread *thread_create(thread_fn fn, void *arg, const char *name)
{
	struct thread_attr a = { .cpu = -1 };
	return thread_create_attr(fn, arg, name, &a);
}

struct thread *thread_alloc_idle(unsigned cpu, void (*fn)(void *));
struct thread *thread_alloc_idle(unsigned cpu, void (*fn)(void *))
{
	struct thread_attr a = { .sched_class = SCHED_IDLE_CLASS,
				 .affinity = 1ull << cpu, .flags = TF_IDLE };
	char name[THREAD_NAME_LEN];
	snprintf(name, sizeof(name), "idle%u", cpu);
	struct thread *t = thread_new(fn, NULL, name, &a);
	if (t) {
		t->cpu = cpu;
		t->state = THREAD_RUNNABLE;   /* never queued: picked when nothing is */
	}
	return t;
}

void thread_register_boot(struct thread *t);
void thread_register_boot(struct thread *t)
{
	strlcpy(t->name, "main", sizeof(t->name));
	wq_init(&t->join_wq);
	ktimer_init(&t->wait_timer, NULL, t);
	list_init(&t->reap_node);
	uint64_t f = spin_lock_irqsave(&threads_lock);
	t->tid = next_tid++;
	list_push_back(&all_threads, &t->all_node);
	nthreads++;
	spin_unlock_irqrestore(&threads_lock, f);
}

void thread_use_fpu(void)
{
	struct thread *t = thread_current();
	if (t->flags & TF_FPU)
		return;
	void *a = fpu_area_alloc();
	if (!a)
		panic("thread_use_fpu: out of memory");
	t->fpu_state = a;
	/* Load the clean state now: this CPU's registers may hold another
	 * thread's values. */
	uint64_t f = irq_save();
	fpu_restore(a);
	t->fpu_cpu = UINT32_MAX;
	t->flags |= TF_FPU;
	irq_restore(f);
}

/* --- exit, join, detach ----------------------------------------------------------- */

__noreturn void thread_exit(long code)
{
	struct thread *t = thread_current();
	t->exit_code = code;
	irq_disable();
	ktimer_cancel(&t->wait_timer);
	set_current_state(THREAD_DEAD);
	schedule();
	panic("thread_exit: a dead thread ran again");
}

int thread_join_timeout(struct thread *t, uint64_t deadline, bool interruptible, long *code)
{
	int r = wq_wait_event(&t->join_wq, t->exited, deadline,
			      interruptible ? WQ_INTERRUPTIBLE : 0);
	if (r)
		return r;
	if (code)
		*code = t->exit_code;
	thread_free(t);
	return 0;
}

long thread_join(struct thread *t)
{
	long code = 0;
	thread_join_timeout(t, TIME_FOREVER, false, &code);
	return code;
}

void thread_detach(struct thread *t)
{
	uint64_t f = wq_lock(&t->join_wq);
	bool gone = t->exited;
	t->flags |= TF_DETACHED;
	wq_unlock(&t->join_wq, f);
	if (gone)
		thread_free(t);
}

/* --- sleeping and interruption ----------------------------------------------------- */

static void wake_timer_fn(struct ktimer *kt)
{
	thread_wake(kt->arg);
}

/* The current thread's wait timer, armed for deadline (nothing for
 * TIME_FOREVER). */
void thread_arm_wait_timer(uint64_t deadline);
void thread_arm_wait_timer(uint64_t deadline)
{
	struct thread *t = thread_current();
	if (deadline == TIME_FOREVER)
		return;
	t->wait_timer.fn = wake_timer_fn;
	ktimer_arm(&t->wait_timer, deadline);
}

int thread_sleep_until(uint64_t deadline, bool interruptible)
{
	struct thread *t = thread_current();
	int r = 0;
	thread_arm_wait_timer(deadline);
	for (;;) {
		uint64_t f = irq_save();
		set_current_state(THREAD_BLOCKED);
		if (interruptible && t->interrupted)
			r = -EINTR;
		else if (clock_monotonic_ns() >= deadline)
			r = 0;
		else {
			schedule();
			irq_restore(f);
			continue;
		}
		t->state = THREAD_RUNNING;
		irq_restore(f);
		break;
	}
	ktimer_cancel(&t->wait_timer);
	return r;
}

int thread_sleep_ns(uint64_t ns)
{
	uint64_t now = clock_monotonic_ns();
	return thread_sleep_until(ns > TIME_FOREVER - now ? TIME_FOREVER : now + ns, true);
}

void thread_interrupt(struct thread *t)
{
	__atomic_store_n(&t->interrupted, true, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	thread_wake(t);
}

void thread_clear_interrupt(struct thread *t)
{
	__atomic_store_n(&t->interrupted, false, __ATOMIC_SEQ_CST);
}

void sched_dump_threads(uint64_t now);
void sched_dump_threads(uint64_t now)
{
	static const char *const states[] = { "running", "runnable", "migrating", "blocked", "dead" };
	struct list *p;
	for (p = all_threads.next; p != &all_threads; p = p->next) {
		struct thread *t = list_entry(p, struct thread, all_node);
		pr_warn("  tid %d %s: %s cpu %u, timer %s (%ld us from now), rip %#lx",
			t->tid, t->name, t->state >= 0 && t->state <= 4 ? states[t->state] : "?",
			t->cpu, ktimer_pending(&t->wait_timer) ? "armed" : "off",
			ktimer_pending(&t->wait_timer) ? (long)(t->wait_timer.node.key - now) / 1000 : 0,
			t->rsp && t->state != THREAD_RUNNING ? ((uint64_t *)t->rsp)[6] : 0);
		if (t->state == THREAD_BLOCKED && t->rsp)
			backtrace_print(((uint64_t *)t->rsp)[6], ((uint64_t *)t->rsp)[5]);
	}
}
