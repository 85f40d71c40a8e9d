/* Threads: create/join of many threads, thread ids, thread-local storage,
 * detached threads, pthread_exit values, per-thread names, affinity. */
#include "check.h"
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#define NTHREADS 100

static __thread int tls_value = 7;
static __thread char tls_buf[64];
static atomic_int started;
static pid_t tids[NTHREADS];
static pid_t main_pid;

static void *worker(void *arg)
{
	intptr_t i = (intptr_t)arg;
	/* each thread sees its own initialised copy */
	if (tls_value != 7 || tls_buf[0] != 0)
		return (void *)-1;
	tls_value = (int)i * 3;
	tls_buf[0] = (char)i;
	tids[i] = (pid_t)syscall(SYS_gettid);
	atomic_fetch_add(&started, 1);
	sched_yield();
	if (tls_value != (int)i * 3 || tls_buf[0] != (char)i)
		return (void *)-2;
	if (getpid() != main_pid)
		return (void *)-3;
	return (void *)(i * 2);
}

static atomic_int detached_done;
static void *detached(void *arg)
{
	(void)arg;
	atomic_fetch_add(&detached_done, 1);
	return NULL;
}

static void *exits_early(void *arg)
{
	pthread_exit((void *)((intptr_t)arg + 1000));
	return NULL;
}

static void *named(void *arg)
{
	char name[16] = "";
	prctl(PR_SET_NAME, (unsigned long)arg);
	prctl(PR_GET_NAME, (unsigned long)name);
	return (void *)(intptr_t)(strcmp(name, arg) == 0);
}

int main(void)
{
	pthread_t t[NTHREADS];
	main_pid = getpid();
	for (intptr_t i = 0; i < NTHREADS; i++)
		EXPECT(pthread_create(&t[i], NULL, worker, (void *)i) == 0);
	for (intptr_t i = 0; i < NTHREADS; i++) {
		void *r;
		EXPECT(pthread_join(t[i], &r) == 0);
		EXPECT(r == (void *)(i * 2));
	}
	EXPECT(atomic_load(&started) == NTHREADS);
	EXPECT(tls_value == 7);
	/* thread ids: distinct, not the pid */
	int dup = 0;
	for (int i = 0; i < NTHREADS; i++) {
		if (tids[i] <= 1)
			dup++;
		for (int j = 0; j < i; j++)
			if (tids[i] == tids[j])
				dup++;
	}
	EXPECT(dup == 0);
	EXPECT(syscall(SYS_gettid) == getpid());

	/* create/join in sequence: ids keep growing, memory is reused */
	for (intptr_t i = 0; i < 200; i++) {
		pthread_t x;
		void *r;
		EXPECT(pthread_create(&x, NULL, exits_early, (void *)i) == 0);
		EXPECT(pthread_join(x, &r) == 0);
		EXPECT(r == (void *)(i + 1000));
	}

	/* detached threads */
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	for (int i = 0; i < 50; i++) {
		pthread_t x;
		EXPECT(pthread_create(&x, &a, detached, NULL) == 0);
	}
	for (int i = 0; i < 10000 && atomic_load(&detached_done) < 50; i++)
		usleep(1000);
	EXPECT(atomic_load(&detached_done) == 50);

	/* names are per thread */
	prctl(PR_SET_NAME, (unsigned long)"main-thread");
	pthread_t n1, n2;
	void *r1, *r2;
	pthread_create(&n1, NULL, named, "alpha");
	pthread_create(&n2, NULL, named, "beta");
	pthread_join(n1, &r1);
	pthread_join(n2, &r2);
	EXPECT(r1 == (void *)1 && r2 == (void *)1);
	char name[16] = "";
	prctl(PR_GET_NAME, (unsigned long)name);
	EXPECT(strcmp(name, "main-thread") == 0);

	/* affinity: the mask names online CPUs; pinning to CPU 0 works */
	cpu_set_t set;
	CPU_ZERO(&set);
	EXPECT(sched_getaffinity(0, sizeof(set), &set) == 0);
	int ncpu = CPU_COUNT(&set);
	EXPECT(ncpu >= 1 && CPU_ISSET(0, &set));
	EXPECT(ncpu == sysconf(_SC_NPROCESSORS_ONLN) || sysconf(_SC_NPROCESSORS_ONLN) < 0);
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(0, &one);
	EXPECT(sched_setaffinity(0, sizeof(one), &one) == 0);
	unsigned cpu = 99;
	EXPECT(syscall(SYS_getcpu, &cpu, NULL, NULL) == 0 && cpu == 0);
	EXPECT(sched_getcpu() == 0);
	EXPECT(sched_setaffinity(0, sizeof(set), &set) == 0);
	printf("cpus %d\n", ncpu);

	/* scheduling policies */
	struct sched_param sp = { 0 };
	EXPECT(syscall(SYS_sched_getscheduler, 0) == SCHED_OTHER);
	EXPECT(syscall(SYS_sched_setscheduler, 0, SCHED_BATCH, &sp) == 0);
	EXPECT(syscall(SYS_sched_getscheduler, 0) == SCHED_BATCH);
	sp.sched_priority = 10;
	struct utsname u;
	uname(&u);
	if (strstr(u.version, "wisp")) {
		/* wisp has no real-time class (docs/linux-abi.md) */
		EXPECT_ERRNO(syscall(SYS_sched_setscheduler, 0, SCHED_FIFO, &sp), EPERM);
		EXPECT(getpid() == 1);
		/* a clone that would make a process is refused */
		EXPECT_ERRNO(syscall(SYS_clone, (long)SIGCHLD, 0L, 0L, 0L, 0L), ENOSYS);
	}
	sp.sched_priority = 0;
	EXPECT(syscall(SYS_sched_setscheduler, 0, SCHED_OTHER, &sp) == 0);
	EXPECT(sched_get_priority_max(SCHED_FIFO) == 99 && sched_get_priority_min(SCHED_RR) == 1);
	EXPECT(sched_get_priority_max(SCHED_OTHER) == 0);
	return guest_done("thr_create");
}
