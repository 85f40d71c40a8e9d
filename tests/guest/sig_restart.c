/* EINTR and SA_RESTART on a blocking pipe read interrupted by alarm,
 * nanosleep's remaining time, pause, and timers: setitimer and
 * timer_create counts, overruns, SIGEV_NONE, SIGEV_THREAD_ID. */
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static volatile int alarms, ticks, rt_hits, rt_value, rt_overrun;
static int wfd;

static void on_alarm(int sig)
{
	(void)sig;
	alarms++;
}

static void on_alarm_write(int sig)
{
	(void)sig;
	alarms++;
	write(wfd, "x", 1);     /* the restarted read finds this */
}

static void on_tick(int sig)
{
	(void)sig;
	ticks++;
}

static void on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)sig;
	(void)uc;
	rt_hits++;
	rt_value = si->si_value.sival_int;
	rt_overrun = si->si_overrun;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(void)
{
	int p[2];
	EXPECT(pipe(p) == 0);
	wfd = p[1];
	struct sigaction sa;
	char c;

	/* 1. without SA_RESTART: read fails with EINTR */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	errno = 0;
	EXPECT(read(p[0], &c, 1) == -1 && errno == EINTR);
	EXPECT(alarms == 1);

	/* 2. with SA_RESTART: the read is restarted and gets the byte */
	sa.sa_handler = on_alarm_write;
	sa.sa_flags = SA_RESTART;
	sigaction(SIGALRM, &sa, NULL);
	alarm(1);
	EXPECT(read(p[0], &c, 1) == 1 && c == 'x');
	EXPECT(alarms == 2);

	/* 3. alarm returns the time left; alarm(0) cancels */
	EXPECT(alarm(5) == 0);
	unsigned left = alarm(0);
	EXPECT(left == 5 || left == 4);

	/* 4. nanosleep interrupted: EINTR and the remaining time */
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;       /* nanosleep is never restarted */
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 200000 } };
	EXPECT(setitimer(ITIMER_REAL, &it, NULL) == 0);
	struct timespec req = { 5, 0 }, rem = { 0, 0 };
	double t0 = now();
	errno = 0;
	EXPECT(nanosleep(&req, &rem) == -1 && errno == EINTR);
	EXPECT(now() - t0 < 2.0);
	EXPECT(rem.tv_sec >= 3 && rem.tv_sec <= 5);

	/* 5. pause returns EINTR after the handler */
	alarms = 0;
	it.it_value.tv_usec = 100000;
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	EXPECT(pause() == -1 && errno == EINTR && alarms == 1);

	/* 6. periodic setitimer: 10 ms ticks */
	sa.sa_handler = on_tick;
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval per = { { 0, 10000 }, { 0, 10000 } };
	EXPECT(setitimer(ITIMER_REAL, &per, NULL) == 0);
	struct itimerval got;
	EXPECT(getitimer(ITIMER_REAL, &got) == 0 && got.it_interval.tv_usec == 10000);
	EXPECT(got.it_value.tv_sec == 0 && got.it_value.tv_usec > 0 && got.it_value.tv_usec <= 10000);
	t0 = now();
	while (ticks < 10 && now() - t0 < 5.0)
		pause();
	EXPECT(ticks >= 10);
	memset(&per, 0, sizeof(per));
	setitimer(ITIMER_REAL, &per, NULL);
	EXPECT(getitimer(ITIMER_REAL, &got) == 0 && got.it_value.tv_usec == 0 && got.it_value.tv_sec == 0);
	EXPECT_ERRNO(setitimer(5, &per, NULL), EINVAL);

	/* 7. timer_create SIGEV_SIGNAL, periodic, with a value */
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	struct sigevent ev;
	memset(&ev, 0, sizeof(ev));
	ev.sigev_notify = SIGEV_SIGNAL;
	ev.sigev_signo = SIGRTMIN + 1;
	ev.sigev_value.sival_int = 77;
	timer_t tid;
	EXPECT(timer_create(CLOCK_MONOTONIC, &ev, &tid) == 0);
	struct itimerspec its = { { 0, 5000000 }, { 0, 5000000 } };
	EXPECT(timer_settime(tid, 0, &its, NULL) == 0);
	t0 = now();
	while (rt_hits < 10 && now() - t0 < 5.0)
		pause();
	EXPECT(rt_hits >= 10 && rt_value == 77);
	struct itimerspec cur;
	EXPECT(timer_gettime(tid, &cur) == 0 && cur.it_interval.tv_nsec == 5000000);

	/* 8. overruns: block the signal, let it expire several times */
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &set, &old);
	int before = rt_hits;
	struct timespec w = { 0, 60 * 1000 * 1000 };
	while (nanosleep(&w, &w) < 0)
		;
	sigprocmask(SIG_SETMASK, &old, NULL);
	EXPECT(rt_hits == before + 1);
	EXPECT(rt_overrun >= 3);
	EXPECT(timer_getoverrun(tid) == rt_overrun);
	EXPECT(timer_delete(tid) == 0);
	EXPECT_ERRNO(timer_settime(tid, 0, &its, NULL), EINVAL);

	/* 9. SIGEV_NONE: counts down, no signal */
	ev.sigev_notify = SIGEV_NONE;
	EXPECT(timer_create(CLOCK_REALTIME, &ev, &tid) == 0);
	its.it_interval.tv_nsec = 0;
	its.it_value.tv_sec = 10;
	its.it_value.tv_nsec = 0;
	EXPECT(timer_settime(tid, 0, &its, NULL) == 0);
	EXPECT(timer_gettime(tid, &cur) == 0 && cur.it_value.tv_sec >= 9);
	EXPECT(timer_delete(tid) == 0);

	/* 10. SIGEV_THREAD_ID to ourselves, absolute time */
	rt_hits = 0;
	ev.sigev_notify = SIGEV_THREAD_ID;
	ev.sigev_signo = SIGRTMIN + 1;
	ev.sigev_value.sival_int = 99;
#ifndef sigev_notify_thread_id
#define sigev_notify_thread_id _sigev_un._tid
#endif
	ev.sigev_notify_thread_id = gettid();
	EXPECT(timer_create(CLOCK_MONOTONIC, &ev, &tid) == 0);
	struct timespec abs;
	clock_gettime(CLOCK_MONOTONIC, &abs);
	abs.tv_nsec += 20000000;
	if (abs.tv_nsec >= 1000000000) {
		abs.tv_sec++;
		abs.tv_nsec -= 1000000000;
	}
	its.it_value = abs;
	EXPECT(timer_settime(tid, TIMER_ABSTIME, &its, NULL) == 0);
	t0 = now();
	while (!rt_hits && now() - t0 < 5.0)
		pause();
	EXPECT(rt_hits == 1 && rt_value == 99);
	timer_delete(tid);
	return guest_done("sig_restart");
}
