/*
 * Timers that send signals: alarm, setitimer/getitimer, and the POSIX
 * timer_* calls, on the scheduler's one-shot ktimers (callbacks run in
 * interrupt context on the CPU that armed them; a periodic timer re-arms
 * itself from its callback).
 *
 * ITIMER_VIRTUAL and ITIMER_PROF count CPU time on Linux; wisp's program
 * has its CPUs to itself, so they run on the monotonic clock like
 * ITIMER_REAL (an approximation, documented in docs/linux-abi.md).
 *
 * POSIX timers whose signal is still queued when they fire again count an
 * overrun instead (signal_send_timer), reported in si_overrun and by
 * timer_getoverrun, as on Linux.
 */
#include "linux/signal.h"
#include "linux/task.h"
#include "linux/syscall.h"
#include "sched/sched.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/usercopy.h"
#include "lib/string.h"
#include "errno.h"

#define NSEC 1000000000ull

struct timeval_k { int64_t sec, usec; };
struct timespec_k { int64_t sec, nsec; };
struct itimerval_k { struct timeval_k interval, value; };
struct itimerspec_k { struct timespec_k interval, value; };

/* One timer, whichever call made it. Guarded by timers_lock; the
 * callback takes it too, so ktimer_cancel runs outside it. */
struct stimer {
	struct ktimer kt;
	bool used;
	bool active;            /* armed by the program (the callback may re-arm) */
	int clock;
	uint64_t deadline;      /* monotonic ns of the next expiry */
	uint64_t interval;      /* ns, 0 for one-shot */
	int notify;             /* SIGEV_* */
	int signo;
	uint64_t value;         /* sigev_value */
	int tid;                /* SIGEV_THREAD_ID target, 0: the process */
	int code;               /* SI_TIMER, or SI_KERNEL for itimers */
	struct sigtimer_ref ref;
};

static spinlock_t timers_lock = SPINLOCK_INIT;

#define ITIMER_REAL 0
#define ITIMER_VIRTUAL 1
#define ITIMER_PROF 2
static struct stimer itimers[3];

#define MAX_TIMERS 64
static struct stimer ptimers[MAX_TIMERS];

#define SIGEV_SIGNAL 0
#define SIGEV_NONE 1
#define SIGEV_THREAD 2
#define SIGEV_THREAD_ID 4

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_PROCESS_CPUTIME_ID 2
#define CLOCK_THREAD_CPUTIME_ID 3
#define CLOCK_BOOTTIME 7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9
#define TIMER_ABSTIME 1

static void fire(struct ktimer *kt)
{
	struct stimer *t = kt->arg;
	uint64_t f = spin_lock_irqsave(&timers_lock);
	if (!t->active) {
		spin_unlock_irqrestore(&timers_lock, f);
		return;
	}
	uint64_t now = clock_monotonic_ns();
	if (t->interval) {
		t->deadline += t->interval;
		if (t->deadline <= now) {
			/* Expiries missed (a long interrupt-off stretch, a tiny
			 * interval): they count as overruns. */
			uint64_t missed = (now - t->deadline) / t->interval + 1;
			t->deadline += missed * t->interval;
			if (t->code == SI_TIMER)
				t->ref.overrun += (int)MIN(missed, (uint64_t)INT32_MAX / 2);
		}
		ktimer_arm(&t->kt, t->deadline);
	} else {
		t->active = false;
	}
	if (t->notify != SIGEV_NONE) {
		signal_send_timer(t->tid, t->signo, &t->ref, t->value, t->code);
	}
	spin_unlock_irqrestore(&timers_lock, f);
}

/* Stops t for good (its callback may be running on another CPU: it sees
 * !active and does nothing, and ktimer_cancel waits for it). */
static void stop(struct stimer *t)
{
	uint64_t f = spin_lock_irqsave(&timers_lock);
	t->active = false;
	spin_unlock_irqrestore(&timers_lock, f);
	ktimer_cancel(&t->kt);
}

static void start(struct stimer *t, uint64_t deadline, uint64_t interval)
{
	uint64_t f = spin_lock_irqsave(&timers_lock);
	t->deadline = deadline;
	t->interval = interval;
	t->active = true;
	ktimer_arm(&t->kt, deadline);
	spin_unlock_irqrestore(&timers_lock, f);
}

/* Remaining ns and interval of t (0 remaining: disarmed). */
static void remaining(struct stimer *t, uint64_t *left, uint64_t *interval)
{
	uint64_t f = spin_lock_irqsave(&timers_lock);
	uint64_t now = clock_monotonic_ns();
	*left = t->active ? (t->deadline > now ? t->deadline - now : 1) : 0;
	*interval = t->active ? t->interval : 0;
	spin_unlock_irqrestore(&timers_lock, f);
}

/* --- alarm, setitimer, getitimer --------------------------------------------- */

static const int itimer_sig[3] = { SIGALRM, SIGVTALRM, SIGPROF };

static struct stimer *itimer(int which)
{
	struct stimer *t = &itimers[which];
	if (!t->used) {
		ktimer_init(&t->kt, fire, t);
		t->used = true;
		t->notify = SIGEV_SIGNAL;
		t->signo = itimer_sig[which];
		t->code = SI_KERNEL;
	}
	return t;
}

static bool tv_valid(const struct timeval_k *tv)
{
	return tv->sec >= 0 && tv->usec >= 0 && tv->usec < 1000000;
}

static uint64_t tv_ns(const struct timeval_k *tv)
{
	if ((uint64_t)tv->sec > UINT64_MAX / NSEC / 2)
		return UINT64_MAX / 2;
	return (uint64_t)tv->sec * NSEC + (uint64_t)tv->usec * 1000;
}

static struct timeval_k ns_tv(uint64_t ns)
{
	/* Linux rounds a remaining time up to whole microseconds, so a
	 * running timer never reads as 0 (disarmed). */
	uint64_t us = (ns + 999) / 1000;
	return (struct timeval_k){ (int64_t)(us / 1000000), (int64_t)(us % 1000000) };
}

static long sys_getitimer(int which, struct itimerval_k *uv)
{
	if (which < 0 || which > 2)
		return -EINVAL;
	uint64_t left, iv;
	remaining(itimer(which), &left, &iv);
	struct itimerval_k v = { ns_tv(iv), ns_tv(left) };
	return copy_to_user(uv, &v, sizeof(v)) < 0 ? -EFAULT : 0;
}
SYSCALL(36, getitimer, sys_getitimer, "dp");

static long do_setitimer(int which, const struct itimerval_k *nv, struct itimerval_k *ov)
{
	struct stimer *t = itimer(which);
	uint64_t left, iv;
	remaining(t, &left, &iv);
	if (ov) {
		ov->interval = ns_tv(iv);
		ov->value = ns_tv(left);
	}
	stop(t);
	uint64_t v = tv_ns(&nv->value);
	if (v)
		start(t, clock_monotonic_ns() + v, tv_ns(&nv->interval));
	return 0;
}

static long sys_setitimer(int which, const struct itimerval_k *unv, struct itimerval_k *uov)
{
	if (which < 0 || which > 2)
		return -EINVAL;
	struct itimerval_k nv = { 0 }, ov;
	if (unv && copy_from_user(&nv, unv, sizeof(nv)) < 0)
		return -EFAULT;
	if (!tv_valid(&nv.value) || !tv_valid(&nv.interval))
		return -EINVAL;
	do_setitimer(which, &nv, &ov);
	if (uov && copy_to_user(uov, &ov, sizeof(ov)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(38, setitimer, sys_setitimer, "dpp");

static long sys_alarm(unsigned secs)
{
	struct itimerval_k nv = { { 0, 0 }, { secs, 0 } }, ov;
	do_setitimer(ITIMER_REAL, &nv, &ov);
	/* Linux: the old remaining time in seconds, rounded to nearest, but
	 * never 0 for a pending alarm. */
	long r = ov.value.sec;
	if ((!r && ov.value.usec) || ov.value.usec >= 500000)
		r++;
	return r;
}
SYSCALL(37, alarm, sys_alarm, "u");

/* --- POSIX timers ------------------------------------------------------------- */

struct sigevent_k {
	uint64_t value;
	int32_t signo;
	int32_t notify;
	int32_t tid;
	int32_t pad[11];
};

static struct stimer *ptimer(int id)
{
	if (id < 0 || id >= MAX_TIMERS)
		return NULL;
	struct stimer *t = &ptimers[id];
	return __atomic_load_n(&t->used, __ATOMIC_ACQUIRE) ? t : NULL;
}

static void nothing_fn(struct task *t, void *arg) { (void)t; (void)arg; }

static long sys_timer_create(int clock, const struct sigevent_k *usev, int32_t *uid)
{
	switch (clock) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_BOOTTIME:
	case CLOCK_PROCESS_CPUTIME_ID: case CLOCK_THREAD_CPUTIME_ID:
	case CLOCK_REALTIME_ALARM: case CLOCK_BOOTTIME_ALARM:
		break;
	default:
		return -EINVAL;
	}
	struct sigevent_k ev = { .signo = SIGALRM, .notify = SIGEV_SIGNAL };
	if (usev && copy_from_user(&ev, usev, sizeof(ev)) < 0)
		return -EFAULT;
	int notify = ev.notify & ~SIGEV_THREAD_ID;
	if (ev.notify != SIGEV_NONE && ev.notify != SIGEV_SIGNAL &&
	    ev.notify != (SIGEV_SIGNAL | SIGEV_THREAD_ID))
		return -EINVAL;     /* SIGEV_THREAD is the C library's job */
	if (ev.notify != SIGEV_NONE && (ev.signo < 1 || ev.signo > NSIG))
		return -EINVAL;
	if ((ev.notify & SIGEV_THREAD_ID) && task_with_tid(ev.tid, nothing_fn, NULL) < 0)
		return -EINVAL;
	uint64_t f = spin_lock_irqsave(&timers_lock);
	int id = -1;
	for (int i = 0; i < MAX_TIMERS; i++) {
		if (!ptimers[i].used) {
			id = i;
			break;
		}
	}
	if (id < 0) {
		spin_unlock_irqrestore(&timers_lock, f);
		return -EAGAIN;
	}
	struct stimer *t = &ptimers[id];
	memset(t, 0, sizeof(*t));
	ktimer_init(&t->kt, fire, t);
	t->clock = clock;
	t->notify = notify == SIGEV_NONE ? SIGEV_NONE : SIGEV_SIGNAL;
	t->signo = ev.signo;
	t->value = usev ? ev.value : (uint64_t)id;
	t->tid = (ev.notify & SIGEV_THREAD_ID) ? ev.tid : 0;
	t->code = SI_TIMER;
	t->ref.id = id;
	__atomic_store_n(&t->used, true, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&timers_lock, f);
	int32_t kid = id;
	if (copy_to_user(uid, &kid, sizeof(kid)) < 0) {
		f = spin_lock_irqsave(&timers_lock);
		t->used = false;
		spin_unlock_irqrestore(&timers_lock, f);
		return -EFAULT;
	}
	return 0;
}
SYSCALL(222, timer_create, sys_timer_create, "dpp");

static struct timespec_k ns_ts(uint64_t ns)
{
	return (struct timespec_k){ (int64_t)(ns / NSEC), (int64_t)(ns % NSEC) };
}

static bool ts_valid(const struct timespec_k *ts)
{
	return ts->sec >= 0 && ts->nsec >= 0 && ts->nsec < (int64_t)NSEC;
}

static uint64_t ts_ns(const struct timespec_k *ts)
{
	if ((uint64_t)ts->sec > UINT64_MAX / NSEC / 2)
		return UINT64_MAX / 2;
	return (uint64_t)ts->sec * NSEC + (uint64_t)ts->nsec;
}

static bool realtime_clock(int c)
{
	return c == CLOCK_REALTIME || c == CLOCK_REALTIME_ALARM;
}

static long sys_timer_settime(int id, int flags, const struct itimerspec_k *unv,
			      struct itimerspec_k *uov)
{
	struct stimer *t = ptimer(id);
	if (!t)
		return -EINVAL;
	struct itimerspec_k nv;
	if (copy_from_user(&nv, unv, sizeof(nv)) < 0)
		return -EFAULT;
	if (!ts_valid(&nv.value) || !ts_valid(&nv.interval))
		return -EINVAL;
	uint64_t left, iv;
	remaining(t, &left, &iv);
	stop(t);
	uint64_t v = ts_ns(&nv.value);
	if (v) {
		uint64_t now = clock_monotonic_ns(), deadline;
		if (flags & TIMER_ABSTIME) {
			/* An absolute time on the timer's clock, turned into
			 * one on the monotonic clock (the ktimers' clock). */
			uint64_t cnow = realtime_clock(t->clock) ? clock_realtime_ns() : now;
			deadline = v > cnow ? now + (v - cnow) : now;
		} else {
			deadline = now + v;
		}
		t->ref.overrun = 0;
		start(t, deadline, ts_ns(&nv.interval));
	}
	if (uov) {
		struct itimerspec_k ov = { ns_ts(iv), ns_ts(left) };
		if (copy_to_user(uov, &ov, sizeof(ov)) < 0)
			return -EFAULT;
	}
	return 0;
}
SYSCALL(223, timer_settime, sys_timer_settime, "dxpp");

static long sys_timer_gettime(int id, struct itimerspec_k *ucur)
{
	struct stimer *t = ptimer(id);
	if (!t)
		return -EINVAL;
	uint64_t left, iv;
	remaining(t, &left, &iv);
	struct itimerspec_k cur = { ns_ts(iv), ns_ts(left) };
	return copy_to_user(ucur, &cur, sizeof(cur)) < 0 ? -EFAULT : 0;
}
SYSCALL(224, timer_gettime, sys_timer_gettime, "dp");

static long sys_timer_getoverrun(int id)
{
	struct stimer *t = ptimer(id);
	if (!t)
		return -EINVAL;
	return t->ref.overrun_last;
}
SYSCALL(225, timer_getoverrun, sys_timer_getoverrun, "d");

static long sys_timer_delete(int id)
{
	struct stimer *t = ptimer(id);
	if (!t)
		return -EINVAL;
	stop(t);
	signal_forget_timer(&t->ref);
	uint64_t f = spin_lock_irqsave(&timers_lock);
	__atomic_store_n(&t->used, false, __ATOMIC_RELEASE);
	spin_unlock_irqrestore(&timers_lock, f);
	return 0;
}
SYSCALL(226, timer_delete, sys_timer_delete, "d");
