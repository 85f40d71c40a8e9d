/*
 * Sleeping locks and events, all built on wait queues (wait.h): mutexes,
 * condition variables, counting semaphores, read-write locks, completions.
 * They block, so they are for thread context only (never in an interrupt
 * handler, never with a spinlock held). Every wait has a _timeout form
 * taking an absolute monotonic deadline (TIME_FOREVER: none) and a flags
 * word (WQ_INTERRUPTIBLE), returning 0, -ETIMEDOUT or -EINTR.
 */
#pragma once
#include "sched/wait.h"

struct thread;

struct mutex {
	struct wait_queue wq;           /* its lock guards owner */
	struct thread *volatile owner;
};
#define MUTEX_INIT(name) { WAIT_QUEUE_INIT((name).wq), NULL }
void mutex_init(struct mutex *m);
void mutex_lock(struct mutex *m);
int mutex_lock_timeout(struct mutex *m, uint64_t deadline, unsigned flags);
bool mutex_trylock(struct mutex *m);
void mutex_unlock(struct mutex *m);
bool mutex_held(struct mutex *m);       /* by the caller */

struct condvar {
	struct wait_queue wq;
};
#define CONDVAR_INIT(name) { WAIT_QUEUE_INIT((name).wq) }
void cond_init(struct condvar *c);
/* Releases m, waits for a signal, retakes m (also on timeout/interrupt). */
void cond_wait(struct condvar *c, struct mutex *m);
int cond_wait_timeout(struct condvar *c, struct mutex *m, uint64_t deadline, unsigned flags);
void cond_signal(struct condvar *c);
void cond_broadcast(struct condvar *c);

struct semaphore {
	struct wait_queue wq;           /* its lock guards count */
	long count;
};
void sem_init(struct semaphore *s, long count);
void sem_down(struct semaphore *s);
int sem_down_timeout(struct semaphore *s, uint64_t deadline, unsigned flags);
bool sem_trydown(struct semaphore *s);
void sem_up(struct semaphore *s);

/* Writers first: a waiting writer holds off new readers. */
struct rwlock {
	struct wait_queue wq;
	int readers;                    /* > 0 readers, -1 a writer */
	int writers_waiting;
};
void rwlock_init(struct rwlock *l);
void rw_read_lock(struct rwlock *l);
int rw_read_lock_timeout(struct rwlock *l, uint64_t deadline, unsigned flags);
void rw_read_unlock(struct rwlock *l);
void rw_write_lock(struct rwlock *l);
int rw_write_lock_timeout(struct rwlock *l, uint64_t deadline, unsigned flags);
void rw_write_unlock(struct rwlock *l);

/* A one-shot or counted event: complete() releases one waiter (or the
 * next to come), complete_all() every waiter for good. */
struct completion {
	struct wait_queue wq;
	unsigned done;
};
#define COMPLETION_ALL 0x40000000u
void completion_init(struct completion *c);
void complete(struct completion *c);
void complete_all(struct completion *c);
void wait_for_completion(struct completion *c);
int wait_for_completion_timeout(struct completion *c, uint64_t deadline, unsigned flags);
bool completion_done(struct completion *c);
