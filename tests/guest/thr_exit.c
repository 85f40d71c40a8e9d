/* The main thread leaves with pthread_exit while others carry on; the
 * program ends (status 0) when the last thread does. A thread that dies
 * holding a robust mutex hands EOWNERDEAD to the next locker. */
#include "check.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

static pthread_mutex_t robust;
static atomic_int finished;
static pthread_t main_thread;

static void *dies_holding(void *arg)
{
	(void)arg;
	pthread_mutex_lock(&robust);
	return NULL;                    /* exits without unlocking */
}

static void *worker(void *arg)
{
	int n = (int)(intptr_t)arg;
	usleep(20000 * (unsigned)n);
	/* joining the main thread (gone with pthread_exit) works too */
	if (n == 0) {
		void *r;
		if (pthread_join(main_thread, &r) != 0 || r != (void *)42)
			fprintf(stderr, "join main failed\n"), exit(3);
	}
	if (atomic_fetch_add(&finished, 1) + 1 == 4) {
		printf("%s: ok\n", guest_failures ? "thr_exit: FAILED" : "thr_exit");
		fflush(stdout);
		if (guest_failures)
			exit(1);
	}
	return NULL;
}

int main(void)
{
	pthread_mutexattr_t ma;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setrobust(&ma, PTHREAD_MUTEX_ROBUST);
	pthread_mutex_init(&robust, &ma);
	pthread_t t;
	pthread_create(&t, NULL, dies_holding, NULL);
	pthread_join(t, NULL);
	int r = pthread_mutex_lock(&robust);
	EXPECT(r == EOWNERDEAD);
	if (r == EOWNERDEAD)
		EXPECT(pthread_mutex_consistent(&robust) == 0);
	EXPECT(pthread_mutex_unlock(&robust) == 0);
	EXPECT(pthread_mutex_lock(&robust) == 0);
	pthread_mutex_unlock(&robust);

	main_thread = pthread_self();
	for (int i = 0; i < 4; i++) {
		pthread_t w;
		pthread_create(&w, NULL, worker, (void *)(intptr_t)i);
		pthread_detach(w);
	}
	pthread_exit((void *)42);
}
