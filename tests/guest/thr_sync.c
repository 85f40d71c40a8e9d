/* Threads: mutex, condition variable, rwlock, barrier and semaphore
 * storms across threads; every count must come out exact. */
#include "check.h"
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>

#define NT 8
#define ITERS 20000

static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static long counter;

static void *mutex_storm(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		pthread_mutex_lock(&mu);
		long c = counter;
		if ((i & 63) == 0)
			sched_yield();          /* hold the lock across a switch */
		counter = c + 1;
		pthread_mutex_unlock(&mu);
	}
	return NULL;
}

/* a bounded queue with two condition variables */
#define QCAP 4
#define ITEMS 5000
static pthread_mutex_t qmu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t not_full = PTHREAD_COND_INITIALIZER, not_empty = PTHREAD_COND_INITIALIZER;
static int q[QCAP], qhead, qcount;
static long consumed_sum, consumed_n;

static void *producer(void *arg)
{
	int base = (int)(intptr_t)arg;
	for (int i = 1; i <= ITEMS; i++) {
		pthread_mutex_lock(&qmu);
		while (qcount == QCAP)
			pthread_cond_wait(&not_full, &qmu);
		q[(qhead + qcount++) % QCAP] = base + i;
		pthread_cond_signal(&not_empty);
		pthread_mutex_unlock(&qmu);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	int n = (int)(intptr_t)arg;
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&qmu);
		while (qcount == 0)
			pthread_cond_wait(&not_empty, &qmu);
		int v = q[qhead];
		qhead = (qhead + 1) % QCAP;
		qcount--;
		consumed_sum += v;
		consumed_n++;
		pthread_cond_signal(&not_full);
		pthread_mutex_unlock(&qmu);
	}
	return NULL;
}

static pthread_rwlock_t rw = PTHREAD_RWLOCK_INITIALIZER;
static long rw_a, rw_b;
static atomic_int rw_bad;

static void *rw_storm(void *arg)
{
	int writer = (int)(intptr_t)arg & 1;
	for (int i = 0; i < ITERS / 4; i++) {
		if (writer) {
			pthread_rwlock_wrlock(&rw);
			rw_a++;
			rw_b++;
			pthread_rwlock_unlock(&rw);
		} else {
			pthread_rwlock_rdlock(&rw);
			if (rw_a != rw_b)
				atomic_fetch_add(&rw_bad, 1);
			pthread_rwlock_unlock(&rw);
		}
	}
	return NULL;
}

static pthread_barrier_t bar;
static atomic_int phase_count[10];
static atomic_int barrier_bad;

static void *barrier_storm(void *arg)
{
	(void)arg;
	for (int p = 0; p < 10; p++) {
		atomic_fetch_add(&phase_count[p], 1);
		pthread_barrier_wait(&bar);
		if (atomic_load(&phase_count[p]) != NT)
			atomic_fetch_add(&barrier_bad, 1);
		pthread_barrier_wait(&bar);
	}
	return NULL;
}

static sem_t sem;
static atomic_int in_section, max_in_section;

static void *sem_storm(void *arg)
{
	(void)arg;
	for (int i = 0; i < 2000; i++) {
		sem_wait(&sem);
		int n = atomic_fetch_add(&in_section, 1) + 1;
		int m = atomic_load(&max_in_section);
		while (n > m && !atomic_compare_exchange_weak(&max_in_section, &m, n))
			;
		atomic_fetch_sub(&in_section, 1);
		sem_post(&sem);
	}
	return NULL;
}

/* broadcast: all waiters wake */
static pthread_cond_t go = PTHREAD_COND_INITIALIZER;
static int go_flag, woke;

static void *bcast_waiter(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&mu);
	while (!go_flag)
		pthread_cond_wait(&go, &mu);
	woke++;
	pthread_mutex_unlock(&mu);
	return NULL;
}

static void run(void *(*fn)(void *), int n, int arg_is_index)
{
	pthread_t t[NT];
	for (int i = 0; i < n; i++)
		EXPECT(pthread_create(&t[i], NULL, fn, arg_is_index ? (void *)(intptr_t)i : NULL) == 0);
	for (int i = 0; i < n; i++)
		EXPECT(pthread_join(t[i], NULL) == 0);
}

int main(void)
{
	run(mutex_storm, NT, 0);
	EXPECT(counter == (long)NT * ITERS);

	pthread_t p[3], c[2];
	for (int i = 0; i < 3; i++)
		pthread_create(&p[i], NULL, producer, (void *)(intptr_t)(i * 100000));
	pthread_create(&c[0], NULL, consumer, (void *)(intptr_t)(ITEMS + ITEMS / 2));
	pthread_create(&c[1], NULL, consumer, (void *)(intptr_t)(2 * ITEMS - ITEMS / 2));
	for (int i = 0; i < 3; i++)
		pthread_join(p[i], NULL);
	pthread_join(c[0], NULL);
	pthread_join(c[1], NULL);
	long want = 0;
	for (int i = 0; i < 3; i++)
		want += (long)ITEMS * (i * 100000) + (long)ITEMS * (ITEMS + 1) / 2;
	EXPECT(consumed_n == 3 * ITEMS);
	EXPECT(consumed_sum == want);

	run(rw_storm, NT, 1);
	EXPECT(rw_bad == 0 && rw_a == (long)(NT / 2) * (ITERS / 4) && rw_a == rw_b);

	pthread_barrier_init(&bar, NULL, NT);
	run(barrier_storm, NT, 0);
	EXPECT(barrier_bad == 0);

	sem_init(&sem, 0, 3);
	run(sem_storm, NT, 0);
	EXPECT(max_in_section >= 1 && max_in_section <= 3);

	pthread_t w[NT];
	for (int i = 0; i < NT; i++)
		pthread_create(&w[i], NULL, bcast_waiter, NULL);
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	nanosleep(&ts, NULL);
	pthread_mutex_lock(&mu);
	go_flag = 1;
	pthread_cond_broadcast(&go);
	pthread_mutex_unlock(&mu);
	for (int i = 0; i < NT; i++)
		pthread_join(w[i], NULL);
	EXPECT(woke == NT);
	return guest_done("thr_sync");
}
