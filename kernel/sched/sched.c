/*
 * The scheduler: per-CPU run queues, two classes, virtual-runtime fairness
 * within a class, wake-up placement and work stealing across CPUs,
 * tickless time slices. See docs/scheduler.md for the design and the
 * locking rules.
 *
 * Locking. Each CPU's run queue has a spinlock, always taken with
 * interrupts off. A thread's state and run-queue membership are guarded
 * by the lock of the run queue its `cpu` field names; `cpu` only changes
 * under that lock (a migrating thread is THREAD_MIGRATING and in no queue
 * while it moves, so nobody needs two run-queue locks at once).
 * schedule() holds its queue's lock across the switch; the next thread
 * drops it (finish_switch). So whoever takes a run-queue lock finds each
 * of its threads either running (rq->curr) or entirely off its stack.
 */
#include "sched/sched.h"
#include "sched/hw.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/trap.h"
#include "lib/klog.h"
#include "lib/cmdline.h"
#include "lib/string.h"

extern struct cmdline kernel_cmdline;

#define SLICE_NS      4000000ull   /* time slice when others wait */
#define WAKE_LAG_NS   (SLICE_NS / 2)  /* credit a waking sleeper may bring */
#define WAKEUP_GRAN_NS 1000000ull   /* lead a waker needs to preempt at once */
/* vruntimes start here, so that a lag below a queue's min_vruntime never
 * wraps around zero. */
#define VRUNTIME_BASE (1ull << 62)

struct rq {
	spinlock_t lock;
	struct pheap queue[2];      /* [SCHED_NORMAL], [SCHED_HIGH] by vruntime */
	volatile unsigned nr_queued;
	struct thread *volatile curr;
	struct thread *idle;
	uint64_t min_vruntime;
	volatile bool need_resched;
	volatile bool polling;      /* idle and watching need_resched: no IPI needed */
	struct ktimer slice_timer;
	uint64_t nr_switches;
	struct thread *fpu_loaded;  /* whose registers this CPU holds */
} __aligned(64);

static struct rq rqs[MAX_CPUS];
static volatile uint64_t online_mask;
static volatile uint64_t idle_mask;   /* CPUs in their idle loop with nothing queued */
static unsigned ncpus_online;
static struct thread boot_thread;
static uint64_t idle_poll_ns = 50000;  /* idle_poll= on the command line */

struct thread *ctx_switch(uint64_t *save_rsp, uint64_t new_rsp, struct thread *prev);
void thread_finished(struct thread *t);     /* thread.c */
void thread_reap_deferred(void);            /* thread.c */
struct thread *thread_alloc_idle(unsigned cpu, void (*fn)(void *)); /* thread.c */
void thread_register_boot(struct thread *t); /* thread.c */
void sched_dump_threads(uint64_t now);       /* thread.c */
void sched_debug_init(void);
void timer_dump(void);                      /* timer.c */

#pragma weak trap_set_kernel_stack
void trap_set_kernel_stack(unsigned cpu, uint64_t top);

unsigned sched_cpus_online(void) { return ncpus_online; }
uint64_t sched_online_mask(void) { return online_mask; }
uint64_t sched_switches(unsigned cpu) { return rqs[cpu].nr_switches; }

void set_current_state(int state)
{
	__atomic_store_n(&thread_current()->state, state, __ATOMIC_SEQ_CST);
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
}

/* --- run queue operations (rq locked) ------------------------------------ */

static void update_min_vruntime(struct rq *rq)
{
	uint64_t m = UINT64_MAX;
	struct thread *c = rq->curr;
	if (c && !(c->flags & TF_IDLE) && c->sched_class == SCHED_NORMAL)
		m = c->vruntime;
	struct pheap_node *n = pheap_min(&rq->queue[SCHED_NORMAL]);
	if (n && n->key < m)
		m = n->key;
	if (m != UINT64_MAX && m > rq->min_vruntime)
		rq->min_vruntime = m;
}

/* Charges the running thread for the time since it last was. */
static void update_curr(struct rq *rq, uint64_t now)
{
	struct thread *c = rq->curr;
	if (now <= c->run_start)
		return;
	uint64_t d = now - c->run_start;
	c->run_start = now;
	c->cpu_time_ns += d;
	if (!(c->flags & TF_IDLE))
		c->vruntime += d;
	update_min_vruntime(rq);
}

static void enqueue(struct rq *rq, struct thread *t)
{
	t->state = THREAD_RUNNABLE;
	t->cpu = (unsigned)(rq - rqs);
	pheap_insert(&rq->queue[t->sched_class], &t->rq_node, t->vruntime);
	rq->nr_queued++;
}

static void dequeue(struct rq *rq, struct thread *t)
{
	pheap_remove(&rq->queue[t->sched_class], &t->rq_node);
	rq->nr_queued--;
}

static struct thread *pick_next(struct rq *rq)
{
	for (int c = SCHED_HIGH; c >= SCHED_NORMAL; c--) {
		struct pheap_node *n = pheap_pop(&rq->queue[c]);
		if (n) {
			rq->nr_queued--;
			return container_of(n, struct thread, rq_node);
		}
	}
	return rq->idle;
}

static void push_balance(unsigned me);

static void slice_expired(struct ktimer *kt)
{
	struct rq *rq = kt->arg;
	/* A CPU with several threads waiting is the one that notices
	 * imbalance: busy CPUs with a single thread take no timer interrupts. */
	if (rq->nr_queued >= 2)
		push_balance((unsigned)(rq - rqs));
	rq->need_resched = true;
	/* We are in the timer interrupt (or the idle loop's poll), which may
	 * not end in a preemption point: a self-IPI makes one. */
	if (hw_ipi_present())
		hw_send_ipi((unsigned)(rq - rqs), VEC_IPI_RESCHED);
}

/* Arms the time slice when someone waits for this CPU, disarms it when
 * nobody does (tickless). Only for a current thread that a slice can
 * preempt (ring 3 code, TF_PREEMPT kernel threads): other kernel threads
 * give the CPU up by blocking, and a slice would only cost timer
 * programming on every wake-up. rq locked; rq must be this CPU's. */
static void update_slice(struct rq *rq, uint64_t now)
{
	struct thread *c = rq->curr;
	bool want = rq->nr_queued > 0 && (c->flags & (TF_PREEMPT | TF_USER));
	if (want && !ktimer_pending(&rq->slice_timer))
		ktimer_arm(&rq->slice_timer, now + SLICE_NS);
	else if (!want && ktimer_pending(&rq->slice_timer))
		ktimer_cancel(&rq->slice_timer);
}

static void resched_cpu(unsigned cpu)
{
	struct rq *rq = &rqs[cpu];
	__atomic_store_n(&rq->need_resched, true, __ATOMIC_SEQ_CST);
	if (cpu == cpu_id() && !(rq->curr->flags & (TF_PREEMPT | TF_USER)))
		return;                 /* idle: its loop looks before it halts;
					   other kernel threads: only a switch
					   of their own will do */
	if (cpu != cpu_id() && __atomic_load_n(&rq->polling, __ATOMIC_SEQ_CST))
		return;                 /* it is watching need_resched */
	if (hw_ipi_present())
		hw_send_ipi(cpu, VEC_IPI_RESCHED);
}

/* Lets a waiting thread onto rq: decides whether the CPU should switch.
 * rq locked. */
static void check_preempt(struct rq *rq, struct thread *t)
{
	unsigned cpu = (unsigned)(rq - rqs);
	struct thread *c = rq->curr;
	if ((c->flags & TF_IDLE) || t->sched_class > c->sched_class) {
		resched_cpu(cpu);
		return;
	}
	/* Wake-up preemption: a sleeper well behind the running thread
	 * (it slept, so it has credit) goes first. */
	if (t->sched_class == c->sched_class &&
	    t->vruntime + WAKEUP_GRAN_NS < c->vruntime + (clock_monotonic_ns() - c->run_start)) {
		resched_cpu(cpu);
		return;
	}
	if (cpu == cpu_id()) {
		update_slice(rq, clock_monotonic_ns());
	} else if (hw_ipi_present()) {
		/* The other CPU arms its slice timer on the IPI; and an idle CPU
		 * may come and steal. */
		hw_send_ipi(cpu, VEC_IPI_RESCHED);
	}
	uint64_t idle = idle_mask & t->affinity & ~(1ull << cpu);
	if (idle)
		resched_cpu((unsigned)__builtin_ctzll(idle));   /* come and steal */
}

/* Where a waking or new thread should run. Racy reads: a heuristic. */
static unsigned select_cpu(struct thread *t, unsigned prev)
{
	uint64_t allowed = t->affinity & online_mask;
	if (!allowed)
		allowed = online_mask;      /* affinity to CPUs that never came up */
	if ((allowed & (1ull << prev)) && rqs[prev].curr == rqs[prev].idle &&
	    rqs[prev].nr_queued == 0)
		return prev;
	uint64_t idle = idle_mask & allowed;
	if (idle)
		return (unsigned)__builtin_ctzll(idle);
	if (allowed & (1ull << prev))
		return prev;
	/* least loaded allowed CPU */
	unsigned best = (unsigned)__builtin_ctzll(allowed), best_n = UINT32_MAX;
	for (uint64_t m = allowed; m; m &= m - 1) {
		unsigned c = (unsigned)__builtin_ctzll(m);
		if (rqs[c].nr_queued < best_n) {
			best = c;
			best_n = rqs[c].nr_queued;
		}
	}
	return best;
}

/* Locks the run queue t belongs to (t->cpu may change until we hold it). */
static struct rq *lock_thread_rq(struct thread *t)
{
	for (;;) {
		unsigned c = t->cpu;
		struct rq *rq = &rqs[c];
		spin_lock(&rq->lock);
		if (t->cpu == c)
			return rq;
		spin_unlock(&rq->lock);
	}
}

/* t was taken out of `from` (state MIGRATING, unlocked): puts it on `to`,
 * keeping its lag behind from's min_vruntime, bounded by `credit`. */
static void place_on(struct rq *to, struct thread *t, uint64_t from_min, uint64_t credit)
{
	int64_t lag = (int64_t)(t->vruntime - from_min);
	if (lag < -(int64_t)credit)
		lag = -(int64_t)credit;
	if (lag > (int64_t)(8 * SLICE_NS))
		lag = 8 * SLICE_NS;     /* ran far ahead: no need to starve it */
	t->vruntime = to->min_vruntime + (uint64_t)lag;
	enqueue(to, t);
	check_preempt(to, t);
}

bool thread_wake(struct thread *t)
{
	uint64_t f = irq_save();
	struct rq *rq = lock_thread_rq(t);
	if (t->state != THREAD_BLOCKED) {
		spin_unlock(&rq->lock);
		irq_restore(f);
		return false;
	}
	if (rq->curr == t) {
		/* Still on its CPU, on its way into schedule(): it will see this
		 * and carry on. */
		t->state = THREAD_RUNNING;
		spin_unlock(&rq->lock);
		irq_restore(f);
		return true;
	}
	unsigned from = t->cpu, to = select_cpu(t, from);
	uint64_t from_min = rq->min_vruntime;
	if (to != from) {
		t->state = THREAD_MIGRATING;
		t->cpu = to;
		spin_unlock(&rq->lock);
		rq = &rqs[to];
		spin_lock(&rq->lock);
	}
	place_on(rq, t, from_min, WAKE_LAG_NS);
	spin_unlock(&rq->lock);
	irq_restore(f);
	return true;
}

/* Puts a new thread on a run queue. */
void sched_add_new(struct thread *t, int cpu)
{
	uint64_t f = irq_save();
	unsigned c = cpu >= 0 ? (unsigned)cpu : select_cpu(t, cpu_id());
	struct rq *rq = &rqs[c];
	spin_lock(&rq->lock);
	/* A new thread starts half a slice behind the others (Linux's
	 * START_DEBIT): creating threads cannot starve those already there,
	 * and a sleeper that wakes up beats the newcomers. */
	t->vruntime = rq->min_vruntime + SLICE_NS / 2;
	enqueue(rq, t);
	check_preempt(rq, t);
	spin_unlock(&rq->lock);
	irq_restore(f);
}

/* --- switching -------------------------------------------------------------- */

static void fpu_switch(struct rq *rq, unsigned cpu, struct thread *prev, struct thread *next)
{
	if (prev->flags & TF_FPU) {
		fpu_save(prev->fpu_state);
		prev->fpu_cpu = cpu;
	}
	if ((next->flags & TF_FPU) && !(rq->fpu_loaded == next && next->fpu_cpu == cpu)) {
		fpu_restore(next->fpu_state);
		rq->fpu_loaded = next;
		next->fpu_cpu = cpu;
	}
}

/* The second half of a switch, in the thread switched to. */
static void finish_switch(struct thread *prev)
{
	unsigned cpu = cpu_id();
	struct rq *rq = &rqs[cpu];
	/* Read prev's state before the lock drops: after that a blocked prev
	 * may be woken, run elsewhere and even exit. */
	int st = prev->state;
	spin_unlock(&rq->lock);
	if (st == THREAD_DEAD) {
		thread_finished(prev);
	} else if (st == THREAD_MIGRATING) {
		/* prev left because its affinity excludes this CPU: queue it
		 * where it may run (nobody else touches a MIGRATING thread). */
		spin_lock(&rq->lock);
		uint64_t from_min = rq->min_vruntime;
		unsigned to = select_cpu(prev, cpu);
		prev->cpu = to;
		spin_unlock(&rq->lock);
		struct rq *dst = &rqs[to];
		spin_lock(&dst->lock);
		place_on(dst, prev, from_min, SLICE_NS);
		spin_unlock(&dst->lock);
	}
}

void schedule(void)
{
	uint64_t f = irq_save();
	unsigned cpu = cpu_id();
	struct rq *rq = &rqs[cpu];
	spin_lock(&rq->lock);
	struct thread *prev = rq->curr;
	uint64_t now = clock_monotonic_ns();
	update_curr(rq, now);
	rq->need_resched = false;
	if (prev->state == THREAD_RUNNING && !(prev->flags & TF_IDLE)) {
		if (!(prev->affinity & (1ull << cpu))) {
			/* affinity changed to exclude this CPU: move it */
			unsigned to = select_cpu(prev, cpu);
			if (to != cpu) {
				/* rq->curr stays prev until the switch, so nobody
				 * else can touch it meanwhile; it is queued on `to`
				 * after the switch (see below). */
				prev->state = THREAD_MIGRATING;
			}
		}
		if (prev->state == THREAD_RUNNING)
			enqueue(rq, prev);
	}
	struct thread *next = pick_next(rq);
	next->state = THREAD_RUNNING;
	if (next == prev) {
		update_slice(rq, now);
		spin_unlock(&rq->lock);
		irq_restore(f);
		return;
	}
	next->cpu = cpu;
	next->run_start = now;
	rq->curr = next;
	rq->nr_switches++;
	prev->nr_switches++;
	this_cpu()->current = next;
	if (next->kstack_top) {
		this_cpu()->kstack_top = next->kstack_top;
		if (trap_set_kernel_stack)
			trap_set_kernel_stack(cpu, next->kstack_top);
	}
	fpu_switch(rq, cpu, prev, next);
	if (prev->flags & TF_USER) {
		prev->user_fs_base = rdmsr(MSR_FS_BASE);
		prev->user_gs_base = rdmsr(MSR_KERNEL_GS_BASE);
	}
	if (next->flags & TF_USER) {
		wrmsr(MSR_FS_BASE, next->user_fs_base);
		wrmsr(MSR_KERNEL_GS_BASE, next->user_gs_base);
	}
	update_slice(rq, now);
	prev = ctx_switch(&prev->rsp, next->rsp, prev);
	finish_switch(prev);
	irq_restore(f);
}

/* A new thread's first instructions (from thread_trampoline). */
void thread_start(struct thread *prev);
void thread_start(struct thread *prev)
{
	finish_switch(prev);
	irq_enable();
	struct thread *t = thread_current();
	t->fn(t->arg);
	thread_exit(0);
}

void thread_yield(void)
{
	schedule();
}

/* --- sched_yield (linux/sys_sched.c) ---
 * A yield that lets the other threads of the caller's class run first:
 * its vruntime moves just past the earliest queued one's. A plain
 * schedule() picks the caller again while it is behind them, so a program
 * spinning on sched_yield for another thread's progress would spin for as
 * long as its wake-up credit lasts. */
void thread_yield_to_others(void)
{
	uint64_t f = irq_save();
	struct rq *rq = &rqs[cpu_id()];
	spin_lock(&rq->lock);
	struct thread *c = rq->curr;
	update_curr(rq, clock_monotonic_ns());
	if (c->sched_class <= SCHED_HIGH) {
		struct pheap_node *n = pheap_min(&rq->queue[c->sched_class]);
		if (n && n->key >= c->vruntime)
			c->vruntime = n->key + 1;
	}
	spin_unlock(&rq->lock);
	irq_restore(f);
	schedule();
}
/* --- end sched_yield --- */

void cond_resched(void)
{
	/* No slice timer runs for kernel threads that cannot be preempted, so
	 * look at the clock here: a slice is up when others wait. */
	uint64_t f = irq_save();
	struct rq *rq = &rqs[cpu_id()];
	bool go = rq->need_resched ||
		  (rq->nr_queued && clock_monotonic_ns() - rq->curr->run_start >= SLICE_NS);
	irq_restore(f);
	if (go)
		schedule();
}

void preempt_disable(void)
{
	thread_current()->preempt_count++;
	barrier();
}

void preempt_enable(void)
{
	barrier();
	thread_current()->preempt_count--;
}

void sched_preempt_check(struct trap_frame *tf)
{
	struct rq *rq = &rqs[cpu_id()];
	if (!rq->need_resched)
		return;
	struct thread *t = rq->curr;
	bool ok = trap_from_user(tf) ||
		  ((tf->rflags & (1u << 9)) && (t->flags & TF_PREEMPT) &&
		   t->preempt_count == 0);
	if (ok)
		schedule();
}

/* The reschedule IPI: a thread was queued here (or the slice ended). */
static void ipi_resched(struct trap_frame *tf, void *arg)
{
	(void)arg;
	hw_eoi();
	struct rq *rq = &rqs[cpu_id()];
	spin_lock(&rq->lock);
	update_slice(rq, clock_monotonic_ns());
	spin_unlock(&rq->lock);
	sched_preempt_check(tf);
}

/* --- affinity, class, accounting -------------------------------------------- */

void thread_set_affinity(struct thread *t, uint64_t mask)
{
	if (!mask)
		mask = CPUMASK_ALL;
	uint64_t f = irq_save();
	struct rq *rq = lock_thread_rq(t);
	t->affinity = mask;
	bool move = !(mask & (1ull << t->cpu));
	if (move && t->state == THREAD_RUNNABLE) {
		dequeue(rq, t);
		uint64_t from_min = rq->min_vruntime;
		unsigned to = select_cpu(t, t->cpu);
		t->state = THREAD_MIGRATING;
		t->cpu = to;
		spin_unlock(&rq->lock);
		rq = &rqs[to];
		spin_lock(&rq->lock);
		place_on(rq, t, from_min, SLICE_NS);
	} else if (move && t->state == THREAD_RUNNING && rq->curr == t) {
		resched_cpu(t->cpu);    /* schedule() moves it */
	}
	spin_unlock(&rq->lock);
	irq_restore(f);
	if (t == thread_current() && move)
		schedule();
}

void thread_set_class(struct thread *t, int sched_class)
{
	uint64_t f = irq_save();
	struct rq *rq = lock_thread_rq(t);
	if (t->state == THREAD_RUNNABLE) {
		dequeue(rq, t);
		t->sched_class = sched_class;
		enqueue(rq, t);
	} else {
		t->sched_class = sched_class;
	}
	spin_unlock(&rq->lock);
	irq_restore(f);
}

uint64_t thread_cpu_time_ns(struct thread *t)
{
	uint64_t f = irq_save();
	struct rq *rq = lock_thread_rq(t);
	uint64_t r = t->cpu_time_ns;
	if (rq->curr == t)
		r += clock_monotonic_ns() - t->run_start;
	spin_unlock(&rq->lock);
	irq_restore(f);
	return r;
}

/* --- idle and load balancing ------------------------------------------------ */

/* Takes a runnable thread allowed here from the busiest other CPU. */
static bool try_steal(unsigned me)
{
	unsigned victim = me, most = 0;
	for (uint64_t m = online_mask & ~(1ull << me); m; m &= m - 1) {
		unsigned c = (unsigned)__builtin_ctzll(m);
		if (rqs[c].nr_queued > most) {
			most = rqs[c].nr_queued;
			victim = c;
		}
	}
	if (victim == me)
		return false;
	struct rq *src = &rqs[victim];
	uint64_t f = irq_save();
	if (!spin_trylock(&src->lock)) {
		irq_restore(f);
		return false;
	}
	/* Look at up to 8 candidates, earliest first; put back the others. */
	struct thread *got = NULL, *skipped[8];
	int nskip = 0;
	for (int cls = SCHED_HIGH; cls >= SCHED_NORMAL && !got; cls--) {
		while (nskip < 8) {
			struct pheap_node *n = pheap_pop(&src->queue[cls]);
			if (!n)
				break;
			struct thread *t = container_of(n, struct thread, rq_node);
			if (t->affinity & (1ull << me)) {
				got = t;
				break;
			}
			skipped[nskip++] = t;
		}
	}
	for (int i = 0; i < nskip; i++)
		pheap_insert(&src->queue[skipped[i]->sched_class], &skipped[i]->rq_node,
			     skipped[i]->vruntime);
	uint64_t from_min = src->min_vruntime;
	if (got) {
		src->nr_queued--;
		got->state = THREAD_MIGRATING;
		got->cpu = me;
	}
	spin_unlock(&src->lock);
	if (got) {
		struct rq *rq = &rqs[me];
		spin_lock(&rq->lock);
		place_on(rq, got, from_min, SLICE_NS);
		spin_unlock(&rq->lock);
	}
	irq_restore(f);
	return got != NULL;
}

/* Moves one queued thread from this CPU to the least loaded CPU when the
 * loads (running + queued) differ by two or more. Interrupts off. */
static void push_balance(unsigned me)
{
	struct rq *src = &rqs[me];
	unsigned my_load = src->nr_queued + 1, best = me, best_load = my_load;
	for (uint64_t m = online_mask & ~(1ull << me); m; m &= m - 1) {
		unsigned c = (unsigned)__builtin_ctzll(m);
		unsigned l = rqs[c].nr_queued + (rqs[c].curr != rqs[c].idle);
		if (l < best_load) {
			best = c;
			best_load = l;
		}
	}
	if (best == me || my_load < best_load + 2)
		return;
	spin_lock(&src->lock);
	struct thread *got = NULL, *skipped[8];
	int nskip = 0;
	while (nskip < 8) {
		struct pheap_node *n = pheap_pop(&src->queue[SCHED_NORMAL]);
		if (!n)
			break;
		struct thread *t = container_of(n, struct thread, rq_node);
		if (t->affinity & (1ull << best)) {
			got = t;
			break;
		}
		skipped[nskip++] = t;
	}
	for (int i = 0; i < nskip; i++)
		pheap_insert(&src->queue[SCHED_NORMAL], &skipped[i]->rq_node, skipped[i]->vruntime);
	uint64_t from_min = src->min_vruntime;
	if (got) {
		src->nr_queued--;
		got->state = THREAD_MIGRATING;
		got->cpu = best;
	}
	spin_unlock(&src->lock);
	if (got) {
		struct rq *dst = &rqs[best];
		spin_lock(&dst->lock);
		place_on(dst, got, from_min, SLICE_NS);
		spin_unlock(&dst->lock);
	}
}

static void idle_loop(void *arg)
{
	(void)arg;
	unsigned me = cpu_id();
	struct rq *rq = &rqs[me];
	uint64_t bit = 1ull << me;
	for (;;) {
		thread_reap_deferred();
		if (!hw_timer_present())
			timer_run_expired();    /* no timer interrupt: poll */
		if (rq->nr_queued || rq->need_resched) {
			schedule();
			continue;
		}
		if (ncpus_online > 1 && try_steal(me)) {
			schedule();
			continue;
		}
		__atomic_or_fetch(&idle_mask, bit, __ATOMIC_SEQ_CST);
		if (idle_poll_ns && hw_timer_present()) {
			/* Poll a little before halting: a wake-up that comes
			 * soon then costs no IPI and no exit from hlt (the same
			 * idea as Linux's haltpoll). */
			__atomic_store_n(&rq->polling, true, __ATOMIC_SEQ_CST);
			uint64_t end = clock_monotonic_ns() + idle_poll_ns;
			while (!rq->need_resched && !rq->nr_queued && clock_monotonic_ns() < end)
				cpu_relax();
			__atomic_store_n(&rq->polling, false, __ATOMIC_SEQ_CST);
		}
		irq_disable();
		if (rq->nr_queued || rq->need_resched) {
			__atomic_and_fetch(&idle_mask, ~bit, __ATOMIC_SEQ_CST);
			irq_enable();
			continue;
		}
		if (!hw_timer_present()) {
			__atomic_and_fetch(&idle_mask, ~bit, __ATOMIC_SEQ_CST);
			irq_enable();
			cpu_relax();
			continue;
		}
		/* sti takes effect after the next instruction: no interrupt can
		 * slip in between the checks above and the hlt. */
		__asm__ volatile("sti; hlt" ::: "memory");
		__atomic_and_fetch(&idle_mask, ~bit, __ATOMIC_SEQ_CST);
	}
}

/* --- bring-up ---------------------------------------------------------------- */

static void rq_init(unsigned cpu)
{
	struct rq *rq = &rqs[cpu];
	rq->min_vruntime = VRUNTIME_BASE;
	pheap_init(&rq->queue[0]);
	pheap_init(&rq->queue[1]);
	ktimer_init(&rq->slice_timer, slice_expired, rq);
	timer_init_cpu(cpu);
	rq->idle = thread_alloc_idle(cpu, idle_loop);
	if (!rq->idle)
		panic("sched: no memory for the idle thread of cpu %u", cpu);
}

extern char boot_stack_top[];

void sched_init(void)
{
	uint64_t v;
	const char *opt = cmdline_get(&kernel_cmdline, "idle_poll");
	if (opt && parse_u64(opt, &v))
		idle_poll_ns = v;
	fpu_init_cpu();
	struct thread *t = &boot_thread;
	t->state = THREAD_RUNNING;
	t->affinity = CPUMASK_ALL;
	t->kstack_top = (uint64_t)boot_stack_top;
	t->vruntime = VRUNTIME_BASE;
	t->fpu_cpu = UINT32_MAX;
	thread_register_boot(t);
	rq_init(0);
	struct rq *rq = &rqs[0];
	rq->curr = t;
	t->run_start = clock_monotonic_ns();
	this_cpu()->current = t;
	online_mask = 1;
	ncpus_online = 1;
	hw_init();
	trap_set_handler(VEC_IPI_RESCHED, ipi_resched, NULL);
	sched_debug_init();
	pr_info("sched: fpu %s, %zu-byte state, xcr0 %#lx", fpu_xcr0() ? "xsave" : "fxsave",
		fpu_area_size(), fpu_xcr0());
}

/* Prepares the run queue of an AP before it starts: the idle thread the AP
 * boots on. Returns that thread's stack top. */
uint64_t sched_prepare_ap(unsigned cpu)
{
	rq_init(cpu);
	return rqs[cpu].idle->kstack_top;
}

__noreturn void sched_start_ap(unsigned cpu)
{
	fpu_init_cpu();
	struct rq *rq = &rqs[cpu];
	struct thread *idle = rq->idle;
	idle->state = THREAD_RUNNING;
	idle->cpu = cpu;
	idle->run_start = clock_monotonic_ns();
	rq->curr = idle;
	this_cpu()->current = idle;
	this_cpu()->kstack_top = idle->kstack_top;
	__atomic_or_fetch(&online_mask, 1ull << cpu, __ATOMIC_SEQ_CST);
	__atomic_add_fetch(&ncpus_online, 1, __ATOMIC_SEQ_CST);
	irq_enable();
	idle_loop(NULL);
	__builtin_unreachable();
}

/* --- debugging ----------------------------------------------------------------- */

/* Prints every CPU's run queue, every thread (with a backtrace for the
 * blocked ones) and the timer heaps; no locks: for a stuck machine. An NMI
 * (QEMU monitor `nmi`) prints it, unless `sched_nmi_quiet`. */
void sched_dump(void)
{
	uint64_t now = clock_monotonic_ns();
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		if (!(online_mask >> c & 1))
			continue;
		struct rq *rq = &rqs[c];
		pr_warn("cpu%u: curr %s nr_queued %u need_resched %d polling %d slice %s min_vr %lu idle %d",
			c, rq->curr ? rq->curr->name : "-", rq->nr_queued, rq->need_resched,
			rq->polling, ktimer_pending(&rq->slice_timer) ? "armed" : "off",
			rq->min_vruntime / 1000, (int)(idle_mask >> c & 1));
	}
	sched_dump_threads(now);
	timer_dump();
}

static bool nmi_dump(struct trap_frame *tf, uint64_t cr2)
{
	(void)tf, (void)cr2;
	/* Every CPU gets the NMI; one dump per NMI is enough. */
	static volatile uint64_t last;
	uint64_t now = clock_monotonic_ns();
	uint64_t prev = last;
	if (now - prev > 100000000ull && __atomic_compare_exchange_n(&last, &prev, now, false,
					__ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
		sched_dump();
	return false;
}

void sched_debug_init(void);
void sched_debug_init(void)
{
	/* An NMI comes from a person asking where a stuck machine is (QEMU
	 * monitor `nmi`): answer with the run queues and threads too. */
	if (!cmdline_get(&kernel_cmdline, "sched_nmi_quiet"))
		trap_set_fault_handler(TRAP_NMI, nmi_dump);
}
