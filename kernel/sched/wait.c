/* Wait queues: see wait.h. */
#include "sched/sched.h"
#include "arch/x86_64/time.h"
#include "errno.h"

void thread_arm_wait_timer(uint64_t deadline);

void wq_init(struct wait_queue *wq)
{
	wq->lock = (spinlock_t)SPINLOCK_INIT;
	list_init(&wq->waiters);
}

/* Locks the queue w is on now (requeue may move it). Interrupts off. */
static struct wait_queue *lock_waiter_queue(struct waiter *w)
{
	for (;;) {
		struct wait_queue *q = w->wq;
		spin_lock(&q->lock);
		if (w->wq == q)
			return q;
		spin_unlock(&q->lock);
	}
}

int wq_wait_locked(struct wait_queue *wq, uint64_t f, uint64_t key,
		   uint64_t deadline, unsigned flags)
{
	struct thread *t = thread_current();
	struct waiter w = { .thread = t, .wq = wq, .key = key, .woken = false };
	list_push_back(&wq->waiters, &w.node);
	thread_arm_wait_timer(deadline);
	int r;
	for (;;) {
		/* Blocked before the checks: a wake between them and
		 * schedule() makes schedule() return at once. */
		set_current_state(THREAD_BLOCKED);
		if (w.woken) {
			r = 0;
			break;
		}
		if ((flags & WQ_INTERRUPTIBLE) && t->interrupted) {
			r = -EINTR;
			break;
		}
		if (deadline != TIME_FOREVER && clock_monotonic_ns() >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		spin_unlock(&wq->lock);
		schedule();
		wq = lock_waiter_queue(&w);
	}
	t->state = THREAD_RUNNING;
	if (!w.woken)
		list_remove(&w.node);
	spin_unlock(&wq->lock);
	if (deadline != TIME_FOREVER)
		ktimer_cancel(&t->wait_timer);
	irq_restore(f);
	return r;
}

static bool wake_one(struct waiter *w)
{
	struct thread *t = w->thread;
	list_remove(&w->node);
	__atomic_store_n(&w->woken, true, __ATOMIC_SEQ_CST);
	/* w may be gone once the queue lock drops; t is not (it needs the
	 * lock to leave wq_wait_locked). */
	thread_wake(t);
	return true;
}

int wq_wake_locked(struct wait_queue *wq, int n)
{
	int woken = 0;
	while (woken < n && !list_empty(&wq->waiters)) {
		wake_one(list_entry(wq->waiters.next, struct waiter, node));
		woken++;
	}
	return woken;
}

int wq_wake(struct wait_queue *wq, int n)
{
	uint64_t f = wq_lock(wq);
	int r = wq_wake_locked(wq, n);
	wq_unlock(wq, f);
	return r;
}

int wq_wake_all(struct wait_queue *wq)
{
	return wq_wake(wq, INT32_MAX);
}

int wq_wake_key(struct wait_queue *wq, uint64_t key, int n)
{
	int woken = 0;
	uint64_t f = wq_lock(wq);
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &wq->waiters) {
		if (woken >= n)
			break;
		struct waiter *w = list_entry(pos, struct waiter, node);
		if (w->key == key) {
			wake_one(w);
			woken++;
		}
	}
	wq_unlock(wq, f);
	return woken;
}

/* --- for futexes (linux/futex.c): the caller holds the locks ------------ */

void wq_wake_waiter_locked(struct waiter *w)
{
	wake_one(w);
}

int wq_requeue_locked(struct wait_queue *from, struct wait_queue *to, uint64_t key,
		      uint64_t new_key, int nwake, int nmove)
{
	int woken = 0, moved = 0;
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &from->waiters) {
		struct waiter *w = list_entry(pos, struct waiter, node);
		if (w->key != key)
			continue;
		if (woken < nwake) {
			wake_one(w);
			woken++;
		} else if (moved < nmove) {
			list_remove(&w->node);
			w->key = new_key;
			w->wq = to;
			list_push_back(&to->waiters, &w->node);
			moved++;
		} else {
			break;
		}
	}
	return woken + moved;
}
/* --- end futex helpers --- */

int wq_requeue(struct wait_queue *from, struct wait_queue *to, uint64_t key,
	       uint64_t new_key, int nwake, int nmove)
{
	uint64_t f = irq_save();
	struct wait_queue *a = from < to ? from : to, *b = from < to ? to : from;
	spin_lock(&a->lock);
	if (b != a)
		spin_lock(&b->lock);
	int r = wq_requeue_locked(from, to, key, new_key, nwake, nmove);
	if (b != a)
		spin_unlock(&b->lock);
	spin_unlock(&a->lock);
	irq_restore(f);
	return r;
}

bool wq_has_waiters(struct wait_queue *wq)
{
	return !list_empty(&wq->waiters);
}
