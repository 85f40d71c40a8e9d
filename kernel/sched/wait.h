/*
 * Wait queues: the one blocking primitive everything else (mutexes,
 * condition variables, semaphores, completions, join, futexes, sockets)
 * is built from.
 *
 * The queue's spinlock protects the condition being waited for, which is
 * what makes lost wake-ups impossible: the waiter checks the condition and
 * enqueues itself under the lock, and the waker changes the condition and
 * wakes under the same lock.
 *
 *     uint64_t f = wq_lock(wq);
 *     while (!condition) {
 *             int r = wq_wait_locked(wq, f, 0, deadline, WQ_INTERRUPTIBLE);
 *             if (r) return r;            // -ETIMEDOUT or -EINTR
 *             f = wq_lock(wq);
 *     }
 *     ... consume ...
 *     wq_unlock(wq, f);
 *
 * A wake-up always wins over a timeout or an interruption that happen at the
 * same time: a waiter that was woken returns 0, so a wake-one is never lost.
 * Each waiter carries a key (the futex's user address; 0 otherwise) so one
 * queue can hold waiters on several keys (futex hash buckets).
 *
 * Lock order: wait-queue locks come before run-queue and timer locks. They
 * are interrupt-safe (taken with interrupts off), so interrupt handlers may
 * wake. Two queue locks are only ever held together by wq_requeue, which
 * orders them by address.
 */
#pragma once
#include "sched/list.h"
#include "sched/spinlock.h"

struct thread;

struct wait_queue {
	spinlock_t lock;
	struct list waiters;
};

struct waiter {
	struct list node;
	struct thread *thread;
	struct wait_queue *volatile wq;  /* changes under both locks on requeue */
	uint64_t key;
	volatile bool woken;
};

#define WQ_INTERRUPTIBLE 1u

#define WAIT_QUEUE_INIT(name) { SPINLOCK_INIT, LIST_INIT((name).waiters) }

void wq_init(struct wait_queue *wq);
static inline uint64_t wq_lock(struct wait_queue *wq) { return spin_lock_irqsave(&wq->lock); }
static inline void wq_unlock(struct wait_queue *wq, uint64_t f) { spin_unlock_irqrestore(&wq->lock, f); }

/* Called with wq locked (flags f from wq_lock): queues the caller with
 * `key`, unlocks, sleeps until woken, the absolute deadline
 * (TIME_FOREVER: none) or, with WQ_INTERRUPTIBLE, thread_interrupt.
 * Returns 0 (woken), -ETIMEDOUT or -EINTR, with wq unlocked. */
int wq_wait_locked(struct wait_queue *wq, uint64_t f, uint64_t key,
		   uint64_t deadline, unsigned flags);

/* These take the lock themselves; the _locked forms expect it held.
 * They return how many waiters they woke. */
int wq_wake(struct wait_queue *wq, int n);
int wq_wake_all(struct wait_queue *wq);
int wq_wake_locked(struct wait_queue *wq, int n);
/* Wakes up to n waiters whose key is `key`. */
int wq_wake_key(struct wait_queue *wq, uint64_t key, int n);
/* Futex requeue: wakes up to nwake waiters with `key` in `from`, then
 * moves up to nmove more of them to `to` with the key changed to new_key.
 * Returns woken + moved. */
int wq_requeue(struct wait_queue *from, struct wait_queue *to, uint64_t key,
	       uint64_t new_key, int nwake, int nmove);
bool wq_has_waiters(struct wait_queue *wq);

/* --- for futexes (linux/futex.c), which walk the waiters themselves and
 * hold two queue locks (taken in address order) for requeueing --- */
/* Wakes this waiter of a locked queue (removes it from the queue). */
void wq_wake_waiter_locked(struct waiter *w);
/* wq_requeue with both locks held by the caller. */
int wq_requeue_locked(struct wait_queue *from, struct wait_queue *to, uint64_t key,
		      uint64_t new_key, int nwake, int nmove);
/* --- end futex helpers --- */

/* Waits until cond (evaluated with wq locked) holds; 0, -ETIMEDOUT, -EINTR. */
#define wq_wait_event(wq, cond, deadline, flags) ({                       \
	int r_ = 0;                                                       \
	uint64_t f_ = wq_lock(wq);                                        \
	while (!(cond)) {                                                 \
		r_ = wq_wait_locked((wq), f_, 0, (deadline), (flags));    \
		if (r_)                                                   \
			break;                                            \
		f_ = wq_lock(wq);                                         \
	}                                                                 \
	if (!r_)                                                          \
		wq_unlock((wq), f_);                                      \
	r_;                                                               \
})
