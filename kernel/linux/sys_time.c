/*
 * Clocks and sleeping. Sleeps block on the scheduler (a timer wakes the
 * thread; other threads run meanwhile) and are interruptible by signals.
 */
#include "linux/syscall.h"
#include "linux/task.h"
#include "sched/sched.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/usercopy.h"
#include "errno.h"

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define CLOCK_TAI 11

#define NSEC 1000000000ll

struct timespec {
	int64_t sec, nsec;
};

struct timeval {
	int64_t sec, usec;
};

/* ns on the clock, or -EINVAL. */
static int64_t clock_ns(int clk)
{
	switch (clk) {
	case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE: case CLOCK_REALTIME_ALARM:
	case CLOCK_TAI:
		return (int64_t)clock_realtime_ns();
	case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW: case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME: case CLOCK_BOOTTIME_ALARM:
		return (int64_t)clock_monotonic_ns();
	/* threads: CPU time as the scheduler accounts it (kernel time in
	 * system calls included: there is no user/system split). */
	case CLOCK_PROCESS_CPUTIME_ID:
		return (int64_t)task_process_cpu_ns();
	case CLOCK_THREAD_CPUTIME_ID:
		return (int64_t)thread_cpu_time_ns(thread_current());
	}
	return -EINVAL;
}

static long sys_clock_gettime(int clk, struct timespec *uts)
{
	int64_t ns = clock_ns(clk);
	if (ns < 0)
		return ns;
	struct timespec ts = { ns / NSEC, ns % NSEC };
	return copy_to_user(uts, &ts, sizeof(ts)) < 0 ? -EFAULT : 0;
}
SYSCALL(228, clock_gettime, sys_clock_gettime, "dp");

static long sys_clock_getres(int clk, struct timespec *uts)
{
	if (clock_ns(clk) < 0)
		return -EINVAL;
	struct timespec ts = { 0, 1 };
	if (clk == CLOCK_REALTIME_COARSE || clk == CLOCK_MONOTONIC_COARSE)
		ts.nsec = 4000000;
	if (uts && copy_to_user(uts, &ts, sizeof(ts)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(229, clock_getres, sys_clock_getres, "dp");

static long sys_gettimeofday(struct timeval *utv, void *utz)
{
	int64_t ns = (int64_t)clock_realtime_ns();
	if (utv) {
		struct timeval tv = { ns / NSEC, (ns % NSEC) / 1000 };
		if (copy_to_user(utv, &tv, sizeof(tv)) < 0)
			return -EFAULT;
	}
	if (utz) {
		int32_t tz[2] = { 0, 0 };          /* UTC, no DST */
		if (copy_to_user(utz, tz, sizeof(tz)) < 0)
			return -EFAULT;
	}
	return 0;
}
SYSCALL(96, gettimeofday, sys_gettimeofday, "pp");

static long sys_time(int64_t *ut)
{
	int64_t t = (int64_t)(clock_realtime_ns() / NSEC);
	if (ut && copy_to_user(ut, &t, sizeof(t)) < 0)
		return -EFAULT;
	return t;
}
SYSCALL(201, time, sys_time, "p");

/* threads: sleeps block on the scheduler until the deadline on clock clk.
 * A realtime deadline becomes a monotonic one when the sleep starts (a
 * later change of the wall clock does not move it). 0 or -EINTR. */
static long sleep_until(int clk, int64_t deadline)
{
	int64_t now = clock_ns(clk);
	if (deadline <= now)
		return 0;
	uint64_t mono = clock_monotonic_ns(), d = (uint64_t)(deadline - now);
	if (clk == CLOCK_PROCESS_CPUTIME_ID)
		d = (uint64_t)(deadline - now);  /* approximation: as wall time */
	return thread_sleep_until(d > TIME_FOREVER - mono ? TIME_FOREVER : mono + d, true);
}

/* What remains of a relative sleep cut short, for nanosleep's rem. */
static long put_remaining(struct timespec *urem, int64_t deadline, int clk)
{
	if (!urem)
		return 0;
	int64_t left = deadline - clock_ns(clk);
	if (left < 0)
		left = 0;
	struct timespec ts = { left / NSEC, left % NSEC };
	return copy_to_user(urem, &ts, sizeof(ts)) < 0 ? -EFAULT : 0;
}

static long read_ts(const struct timespec *uts, struct timespec *ts)
{
	if (copy_from_user(ts, uts, sizeof(*ts)) < 0)
		return -EFAULT;
	if (ts->sec < 0 || ts->nsec < 0 || ts->nsec >= NSEC)
		return -EINVAL;
	return 0;
}

static long sys_nanosleep(const struct timespec *ureq, struct timespec *urem)
{
	struct timespec ts;
	long r = read_ts(ureq, &ts);
	if (r < 0)
		return r;
	int64_t now = clock_ns(CLOCK_MONOTONIC);
	int64_t d = ts.sec > (INT64_MAX - now) / NSEC - 1 ? INT64_MAX : now + ts.sec * NSEC + ts.nsec;
	r = sleep_until(CLOCK_MONOTONIC, d);
	if (r == -EINTR && put_remaining(urem, d, CLOCK_MONOTONIC) < 0)
		return -EFAULT;
	return r;
}
SYSCALL(35, nanosleep, sys_nanosleep, "pp");

#define TIMER_ABSTIME 1

static long sys_clock_nanosleep(int clk, int flags, const struct timespec *ureq,
				struct timespec *urem)
{
	if (clk == CLOCK_THREAD_CPUTIME_ID)
		return -EINVAL;
	int64_t now = clock_ns(clk);
	if (now < 0)
		return -EINVAL;
	struct timespec ts;
	long r = read_ts(ureq, &ts);
	if (r < 0)
		return r;
	int64_t t = ts.sec > INT64_MAX / NSEC - 1 ? INT64_MAX : ts.sec * NSEC + ts.nsec;
	if (!(flags & TIMER_ABSTIME))
		t = t > INT64_MAX - now ? INT64_MAX : now + t;
	r = sleep_until(clk, t);
	if (r == -EINTR && !(flags & TIMER_ABSTIME) && put_remaining(urem, t, clk) < 0)
		return -EFAULT;
	return r;
}
SYSCALL(230, clock_nanosleep, sys_clock_nanosleep, "dxpp");

struct tms {
	int64_t utime, stime, cutime, cstime;
};

static long sys_times(struct tms *ut)
{
	/* Clock ticks at AT_CLKTCK = 100 Hz; the program's CPU time (all its
	 * threads) as user time, the elapsed time as the return value. */
	int64_t ticks = (int64_t)(clock_monotonic_ns() / 10000000ull);
	struct tms t = { (int64_t)(task_process_cpu_ns() / 10000000ull), 0, 0, 0 };
	if (ut && copy_to_user(ut, &t, sizeof(t)) < 0)
		return -EFAULT;
	return ticks;
}
SYSCALL(100, times, sys_times, "p");

struct rusage {
	struct timeval utime, stime;
	int64_t rest[14];
};

static long sys_getrusage(int who, struct rusage *ur)
{
	if (who != 0 && who != -1 && who != 1)     /* SELF, CHILDREN, THREAD */
		return -EINVAL;
	struct rusage r = { 0 };
	if (who != -1) {
		/* threads: RUSAGE_SELF all threads, RUSAGE_THREAD the caller */
		uint64_t ns = who == 1 ? thread_cpu_time_ns(thread_current()) : task_process_cpu_ns();
		int64_t us = (int64_t)(ns / 1000);
		r.utime.sec = us / 1000000;
		r.utime.usec = us % 1000000;
	}
	return copy_to_user(ur, &r, sizeof(r)) < 0 ? -EFAULT : 0;
}
SYSCALL(98, getrusage, sys_getrusage, "dp");
