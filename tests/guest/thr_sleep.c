/* Sleeping blocks on the scheduler: sleeps last as long as asked (not
 * much longer), other threads run meanwhile, a sleeping thread uses no
 * CPU time; TIMER_ABSTIME; sched_yield lets others run. */
#include "check.h"
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <time.h>
#include <unistd.h>

static uint64_t ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static atomic_int stop;
static atomic_long spins;

static void *spinner(void *arg)
{
	(void)arg;
	while (!atomic_load(&stop))
		atomic_fetch_add(&spins, 1);
	return NULL;
}

static void *sleeper(void *arg)
{
	(void)arg;
	struct timespec ts = { 0, 100 * 1000000 };
	nanosleep(&ts, NULL);
	return (void *)(uintptr_t)ns(CLOCK_THREAD_CPUTIME_ID);
}

int main(void)
{
	/* accuracy: at least the time asked, at most 50 ms late (TCG) */
	static const long ms[] = { 1, 10, 50, 200 };
	for (unsigned i = 0; i < sizeof(ms) / sizeof(ms[0]); i++) {
		struct timespec ts = { ms[i] / 1000, (ms[i] % 1000) * 1000000L };
		uint64_t t0 = ns(CLOCK_MONOTONIC);
		EXPECT(nanosleep(&ts, NULL) == 0);
		uint64_t el = ns(CLOCK_MONOTONIC) - t0;
		EXPECT(el >= (uint64_t)ms[i] * 1000000ull);
		EXPECT(el < (uint64_t)ms[i] * 1000000ull + 50000000ull);
		printf("sleep %ld ms: %lu us\n", ms[i], (unsigned long)(el / 1000));
	}
	/* absolute, on both clocks */
	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 30 * 1000000;
	if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
	EXPECT(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0);
	EXPECT(ns(CLOCK_MONOTONIC) >= (uint64_t)abs.tv_sec * 1000000000ull + (uint64_t)abs.tv_nsec);
	clock_gettime(CLOCK_REALTIME, &abs);
	abs.tv_nsec += 30 * 1000000;
	if (abs.tv_nsec >= 1000000000) { abs.tv_sec++; abs.tv_nsec -= 1000000000; }
	EXPECT(clock_nanosleep(CLOCK_REALTIME, TIMER_ABSTIME, &abs, NULL) == 0);
	EXPECT(ns(CLOCK_REALTIME) >= (uint64_t)abs.tv_sec * 1000000000ull + (uint64_t)abs.tv_nsec);
	/* a past deadline returns at once; bad arguments */
	abs.tv_sec = 0;
	EXPECT(clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &abs, NULL) == 0);
	struct timespec bad = { 0, 1000000000 };
	EXPECT_ERRNO(nanosleep(&bad, NULL), EINVAL);
	EXPECT(clock_nanosleep(CLOCK_THREAD_CPUTIME_ID, 0, &abs, NULL) == EINVAL);

	/* while this thread sleeps, a spinner runs (even on one CPU) */
	pthread_t sp;
	pthread_create(&sp, NULL, spinner, NULL);
	while (atomic_load(&spins) == 0)
		sched_yield();
	uint64_t cpu0 = ns(CLOCK_THREAD_CPUTIME_ID);
	long before = atomic_load(&spins);
	usleep(200000);
	long during = atomic_load(&spins) - before;
	uint64_t cpu_used = ns(CLOCK_THREAD_CPUTIME_ID) - cpu0;
	EXPECT(during > 1000);
	EXPECT(cpu_used < 50000000ull);        /* the sleeper did not spin */
	/* sched_yield gives the CPU to the spinner too */
	before = atomic_load(&spins);
	for (int i = 0; i < 20; i++)
		sched_yield();
	EXPECT(atomic_load(&spins) > before || sysconf(_SC_NPROCESSORS_ONLN) > 1);
	atomic_store(&stop, 1);
	pthread_join(sp, NULL);
	/* the process's CPU time includes the spinner's */
	EXPECT(ns(CLOCK_PROCESS_CPUTIME_ID) >= 100000000ull);

	/* a sleeping thread's own CPU time stays small */
	pthread_t sl;
	void *cpu;
	pthread_create(&sl, NULL, sleeper, NULL);
	pthread_join(sl, &cpu);
	EXPECT((uintptr_t)cpu < 50000000u);
	return guest_done("thr_sleep");
}
