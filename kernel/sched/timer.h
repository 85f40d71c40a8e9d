/*
 * High-resolution one-shot timers, one heap per CPU (pheap keyed by the
 * absolute deadline in monotonic ns). The hardware timer of a CPU is armed
 * for the earliest deadline of its heap only, and not at all when the heap
 * is empty: an idle CPU takes no timer interrupts (tickless).
 *
 * Callbacks run on the CPU the timer was armed on, with interrupts off,
 * from the timer interrupt (or the idle loop): they must not block or
 * allocate. Typical ones wake a thread or set need_resched.
 */
#pragma once
#include "sched/pheap.h"

struct ktimer;
typedef void (*ktimer_fn)(struct ktimer *t);

struct ktimer {
	struct pheap_node node;
	ktimer_fn fn;
	void *arg;
	volatile int cpu;           /* heap it is in, -1 when not armed */
};

void ktimer_init(struct ktimer *t, ktimer_fn fn, void *arg);
/* Arms (or re-arms) t on this CPU for the absolute time deadline (ns). */
void ktimer_arm(struct ktimer *t, uint64_t deadline);
/* Disarms t. Returns true when it was pending; when its callback is
 * running on another CPU, waits for it to finish first, so t may be freed
 * after this returns. */
bool ktimer_cancel(struct ktimer *t);
static inline bool ktimer_pending(const struct ktimer *t) { return t->cpu >= 0; }

/* Runs the expired timers of this CPU and re-arms the hardware; the timer
 * interrupt calls it (and the idle loop when there is no timer hardware). */
void timer_run_expired(void);
/* True when this CPU has a timer hardware can wake it for. */
bool timer_hw_present(void);
/* Timer interrupts taken by a CPU so far. */
uint64_t timer_interrupts(unsigned cpu);
/* The earliest deadline pending on this CPU, or UINT64_MAX. */
uint64_t timer_next_deadline(void);
void timer_init_cpu(unsigned cpu);
/* Gives this CPU's hardware timer back to the scheduler after another user
 * (the timer driver's self-test) had it. */
void sched_timer_resume(void);
