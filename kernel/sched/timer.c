/* Per-CPU one-shot timer heaps: see timer.h. */
#include "sched/timer.h"
#include "sched/spinlock.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/cpu.h"
#include "sched/hw.h"
#include "lib/klog.h"

struct timer_base {
	spinlock_t lock;
	struct pheap heap;
	struct ktimer *volatile running;
	uint64_t hw_deadline;       /* what the hardware is armed for, 0 = nothing */
	uint64_t interrupts;
} __aligned(64);

static struct timer_base bases[MAX_CPUS];

#define LAZY_DISARM_NS 10000000ull

void ktimer_init(struct ktimer *t, ktimer_fn fn, void *arg)
{
	t->fn = fn;
	t->arg = arg;
	t->cpu = -1;
}

/* Called with b->lock held and interrupts off, on b's CPU. The hardware
 * is only ever moved earlier: when the earliest timer goes away (a time
 * slice cancelled at every switch, a wait that ended before its deadline)
 * the hardware stays armed and fires once for nothing, which costs less
 * than reprogramming the APIC twice per context switch. A CPU with no
 * timers left takes at most that one interrupt (within 10 ms), then none. */
static void reprogram(struct timer_base *b)
{
	struct pheap_node *m = pheap_min(&b->heap);
	if (!m) {
		/* Nothing left. A deadline far away (a long timeout that was
		 * not needed) would wake an idle CPU much later for nothing:
		 * disarm that one; a near one (a time slice) may just fire. */
		if (b->hw_deadline && b->hw_deadline > clock_monotonic_ns() + LAZY_DISARM_NS) {
			b->hw_deadline = 0;
			hw_timer_arm(0);
		}
		return;
	}
	uint64_t want = m->key;
	if (b->hw_deadline && b->hw_deadline <= want)
		return;             /* fires first; timer_run_expired re-arms */
	b->hw_deadline = want;
	hw_timer_arm(want);
}

bool timer_hw_present(void)
{
	return hw_timer_present();
}

void ktimer_arm(struct ktimer *t, uint64_t deadline)
{
	if (!deadline)
		deadline = 1;       /* 0 means "nothing armed" to the hardware layer */
	uint64_t f = irq_save();
	ktimer_cancel(t);
	struct timer_base *b = &bases[cpu_id()];
	spin_lock(&b->lock);
	pheap_insert(&b->heap, &t->node, deadline);
	t->cpu = (int)cpu_id();
	reprogram(b);
	spin_unlock(&b->lock);
	irq_restore(f);
}

bool ktimer_cancel(struct ktimer *t)
{
	for (;;) {
		int c = t->cpu;
		if (c < 0)
			break;
		struct timer_base *b = &bases[c];
		uint64_t f = spin_lock_irqsave(&b->lock);
		if (t->cpu != c) {              /* fired or moved meanwhile */
			spin_unlock_irqrestore(&b->lock, f);
			continue;
		}
		pheap_remove(&b->heap, &t->node);
		t->cpu = -1;
		/* Leaving the hardware armed early is harmless (an interrupt
		 * that finds nothing due); reprogram only on our own CPU. */
		if ((unsigned)c == cpu_id())
			reprogram(b);
		spin_unlock_irqrestore(&b->lock, f);
		return true;
	}
	/* Not pending: but its callback may be running somewhere right now. */
	unsigned me = cpu_id();
	for (unsigned c = 0; c < MAX_CPUS; c++)
		while (bases[c].running == t && c != me)   /* on me: it is the caller */
			cpu_relax();
	return false;
}

void timer_run_expired(void)
{
	uint64_t f = irq_save();
	struct timer_base *b = &bases[cpu_id()];
	spin_lock(&b->lock);
	b->hw_deadline = 0;         /* a one-shot timer is spent once it fired */
	uint64_t now = clock_monotonic_ns();
	for (;;) {
		struct pheap_node *m = pheap_min(&b->heap);
		if (!m || m->key > now) {
			if (m)
				now = clock_monotonic_ns();
			if (!m || m->key > now)
				break;
		}
		pheap_pop(&b->heap);
		struct ktimer *t = container_of(m, struct ktimer, node);
		t->cpu = -1;
		b->running = t;
		spin_unlock(&b->lock);
		t->fn(t);
		spin_lock(&b->lock);
		b->running = NULL;
	}
	reprogram(b);
	spin_unlock(&b->lock);
	irq_restore(f);
}

/* The hardware timer's interrupt. */
void timer_interrupt(void)
{
	bases[cpu_id()].interrupts++;
	timer_run_expired();
}

uint64_t timer_interrupts(unsigned cpu)
{
	return bases[cpu].interrupts;
}

uint64_t timer_next_deadline(void)
{
	uint64_t f = irq_save();
	struct timer_base *b = &bases[cpu_id()];
	spin_lock(&b->lock);
	struct pheap_node *m = pheap_min(&b->heap);
	uint64_t r = m ? m->key : UINT64_MAX;
	spin_unlock(&b->lock);
	irq_restore(f);
	return r;
}

void timer_init_cpu(unsigned cpu)
{
	pheap_init(&bases[cpu].heap);
}

/* After something else used this CPU's hardware timer (the timer
 * driver's self-test): take it back, forget what we thought it was armed
 * for, and arm it for our earliest deadline. */
void sched_timer_resume(void)
{
	uint64_t f = irq_save();
	hw_init_callback();
	struct timer_base *b = &bases[cpu_id()];
	spin_lock(&b->lock);
	b->hw_deadline = 0;
	hw_timer_arm(0);
	reprogram(b);
	spin_unlock(&b->lock);
	irq_restore(f);
}

void timer_dump(void);
void timer_dump(void)
{
	uint64_t now = clock_monotonic_ns();
	for (unsigned c = 0; c < MAX_CPUS; c++) {
		struct timer_base *b = &bases[c];
		struct pheap_node *m = pheap_min(&b->heap);
		if (!m && !b->hw_deadline)
			continue;
		pr_warn("cpu%u timers: %zu, next in %ld us, hardware armed for %ld us from now, %lu interrupts",
			c, b->heap.count, m ? (long)(m->key - now) / 1000 : 0,
			b->hw_deadline ? (long)(b->hw_deadline - now) / 1000 : 0, b->interrupts);
	}
}
