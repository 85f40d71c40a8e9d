/* Mutexes, condition variables, semaphores, rwlocks, completions: see sync.h. */
#include "sched/sync.h"
#include "sched/sched.h"
#include "lib/klog.h"
#include "errno.h"

/* --- mutex: no hand-off, a woken waiter competes again (short critical
 * sections in a kernel favour throughput); unlock wakes one waiter each
 * time, so no wake-up is lost. */

void mutex_init(struct mutex *m)
{
	wq_init(&m->wq);
	m->owner = NULL;
}

int mutex_lock_timeout(struct mutex *m, uint64_t deadline, unsigned flags)
{
	struct thread *me = thread_current();
	uint64_t f = wq_lock(&m->wq);
	if (m->owner == me)
		panic("mutex_lock: %s takes a mutex it holds", me->name);
	while (m->owner) {
		int r = wq_wait_locked(&m->wq, f, 0, deadline, flags);
		f = wq_lock(&m->wq);
		if (r && m->owner) {
			/* timed out or interrupted (a wake-up would have returned 0) */
			wq_unlock(&m->wq, f);
			return r;
		}
	}
	m->owner = me;
	wq_unlock(&m->wq, f);
	return 0;
}

void mutex_lock(struct mutex *m)
{
	mutex_lock_timeout(m, TIME_FOREVER, 0);
}

bool mutex_trylock(struct mutex *m)
{
	uint64_t f = wq_lock(&m->wq);
	bool ok = !m->owner;
	if (ok)
		m->owner = thread_current();
	wq_unlock(&m->wq, f);
	return ok;
}

void mutex_unlock(struct mutex *m)
{
	uint64_t f = wq_lock(&m->wq);
	if (m->owner != thread_current())
		panic("mutex_unlock: not the owner (%s)", thread_current()->name);
	m->owner = NULL;
	wq_wake_locked(&m->wq, 1);
	wq_unlock(&m->wq, f);
}

bool mutex_held(struct mutex *m)
{
	return m->owner == thread_current();
}

/* --- condition variables ---------------------------------------------------- */

void cond_init(struct condvar *c)
{
	wq_init(&c->wq);
}

int cond_wait_timeout(struct condvar *c, struct mutex *m, uint64_t deadline, unsigned flags)
{
	/* Queue lock first, then release the mutex: a signaller needs the
	 * mutex (to change the condition) and then the queue lock, so it
	 * finds us queued. */
	uint64_t f = wq_lock(&c->wq);
	mutex_unlock(m);
	int r = wq_wait_locked(&c->wq, f, 0, deadline, flags);
	mutex_lock(m);
	return r;
}

void cond_wait(struct condvar *c, struct mutex *m)
{
	cond_wait_timeout(c, m, TIME_FOREVER, 0);
}

void cond_signal(struct condvar *c)
{
	wq_wake(&c->wq, 1);
}

void cond_broadcast(struct condvar *c)
{
	wq_wake_all(&c->wq);
}

/* --- semaphores --------------------------------------------------------------- */

void sem_init(struct semaphore *s, long count)
{
	wq_init(&s->wq);
	s->count = count;
}

int sem_down_timeout(struct semaphore *s, uint64_t deadline, unsigned flags)
{
	uint64_t f = wq_lock(&s->wq);
	while (s->count <= 0) {
		int r = wq_wait_locked(&s->wq, f, 0, deadline, flags);
		f = wq_lock(&s->wq);
		if (r && s->count <= 0) {
			wq_unlock(&s->wq, f);
			return r;
		}
	}
	s->count--;
	/* More units than this one may have been posted while we woke. */
	if (s->count > 0)
		wq_wake_locked(&s->wq, 1);
	wq_unlock(&s->wq, f);
	return 0;
}

void sem_down(struct semaphore *s)
{
	sem_down_timeout(s, TIME_FOREVER, 0);
}

bool sem_trydown(struct semaphore *s)
{
	uint64_t f = wq_lock(&s->wq);
	bool ok = s->count > 0;
	if (ok)
		s->count--;
	wq_unlock(&s->wq, f);
	return ok;
}

void sem_up(struct semaphore *s)
{
	uint64_t f = wq_lock(&s->wq);
	s->count++;
	wq_wake_locked(&s->wq, 1);
	wq_unlock(&s->wq, f);
}

/* --- read-write locks ------------------------------------------------------------ */

void rwlock_init(struct rwlock *l)
{
	wq_init(&l->wq);
	l->readers = 0;
	l->writers_waiting = 0;
}

int rw_read_lock_timeout(struct rwlock *l, uint64_t deadline, unsigned flags)
{
	uint64_t f = wq_lock(&l->wq);
	while (l->readers < 0 || l->writers_waiting) {
		int r = wq_wait_locked(&l->wq, f, 0, deadline, flags);
		f = wq_lock(&l->wq);
		if (r && (l->readers < 0 || l->writers_waiting)) {
			wq_unlock(&l->wq, f);
			return r;
		}
	}
	l->readers++;
	wq_unlock(&l->wq, f);
	return 0;
}

void rw_read_lock(struct rwlock *l)
{
	rw_read_lock_timeout(l, TIME_FOREVER, 0);
}

void rw_read_unlock(struct rwlock *l)
{
	uint64_t f = wq_lock(&l->wq);
	if (--l->readers == 0)
		wq_wake_locked(&l->wq, INT32_MAX);
	wq_unlock(&l->wq, f);
}

int rw_write_lock_timeout(struct rwlock *l, uint64_t deadline, unsigned flags)
{
	uint64_t f = wq_lock(&l->wq);
	l->writers_waiting++;
	while (l->readers != 0) {
		int r = wq_wait_locked(&l->wq, f, 0, deadline, flags);
		f = wq_lock(&l->wq);
		if (r && l->readers != 0) {
			l->writers_waiting--;
			/* readers held off by us may go now */
			wq_wake_locked(&l->wq, INT32_MAX);
			wq_unlock(&l->wq, f);
			return r;
		}
	}
	l->writers_waiting--;
	l->readers = -1;
	wq_unlock(&l->wq, f);
	return 0;
}

void rw_write_lock(struct rwlock *l)
{
	rw_write_lock_timeout(l, TIME_FOREVER, 0);
}

void rw_write_unlock(struct rwlock *l)
{
	uint64_t f = wq_lock(&l->wq);
	l->readers = 0;
	wq_wake_locked(&l->wq, INT32_MAX);
	wq_unlock(&l->wq, f);
}

/* --- completions -------------------------------------------------------------------- */

void completion_init(struct completion *c)
{
	wq_init(&c->wq);
	c->done = 0;
}

void complete(struct completion *c)
{
	uint64_t f = wq_lock(&c->wq);
	if (c->done < COMPLETION_ALL)
		c->done++;
	wq_wake_locked(&c->wq, 1);
	wq_unlock(&c->wq, f);
}

void complete_all(struct completion *c)
{
	uint64_t f = wq_lock(&c->wq);
	c->done = COMPLETION_ALL;
	wq_wake_locked(&c->wq, INT32_MAX);
	wq_unlock(&c->wq, f);
}

int wait_for_completion_timeout(struct completion *c, uint64_t deadline, unsigned flags)
{
	uint64_t f = wq_lock(&c->wq);
	while (!c->done) {
		int r = wq_wait_locked(&c->wq, f, 0, deadline, flags);
		f = wq_lock(&c->wq);
		if (r && !c->done) {
			wq_unlock(&c->wq, f);
			return r;
		}
	}
	if (c->done < COMPLETION_ALL)
		c->done--;
	wq_unlock(&c->wq, f);
	return 0;
}

void wait_for_completion(struct completion *c)
{
	wait_for_completion_timeout(c, TIME_FOREVER, 0);
}

bool completion_done(struct completion *c)
{
	return c->done != 0;
}
