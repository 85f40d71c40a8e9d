/*
 * timerfd: a timer as a file (timerfd_create(2)). Reading gives the number
 * of expirations since the last read as 8 bytes.
 *
 * The state (next deadline in monotonic ns, interval, expirations not yet
 * read) lives under the pollhead's wait-queue lock. Expirations are counted
 * from the clock, not from interrupts: tfd_catch_up() adds every period
 * that has passed since `next`, so a late timer interrupt never loses
 * ticks. The ktimer callback (interrupt context) only catches up, re-arms
 * itself for the next period and calls pollhead_wake (IRQ-safe).
 *
 * All clocks run on the monotonic clock: CLOCK_BOOTTIME equals it (no
 * suspend), and an absolute CLOCK_REALTIME deadline is converted with the
 * wall-clock offset at settime (later clock_settime does not move it).
 *
 * settime and release serialise on arm_lock, which the callback never
 * takes; the callback re-arms only while the state says "armed" and
 * `dead` is clear, so cancel-then-arm in settime and cancel-twice in
 * release leave no callback behind.
 */
#include "fs/vfs.h"
#include "sched/thread.h"
#include "sched/timer.h"
#include "sched/spinlock.h"
#include "fs/deps.h"
#include "linux/syscall.h"
#include "arch/x86_64/time.h"
#include "lib/string.h"
#include "errno.h"

#define CLOCK_REALTIME  0
#define CLOCK_MONOTONIC 1
#define CLOCK_BOOTTIME  7
#define CLOCK_REALTIME_ALARM 8
#define CLOCK_BOOTTIME_ALARM 9

#define TFD_CLOEXEC  O_CLOEXEC
#define TFD_NONBLOCK O_NONBLOCK
#define TFD_TIMER_ABSTIME       1
#define TFD_TIMER_CANCEL_ON_SET 2   /* accepted; wisp's clock is never set under it */

#define NSEC 1000000000ull

struct k_timespec {
	int64_t sec, nsec;
};

struct k_itimerspec {
	struct k_timespec interval, value;
};

struct timerfd {
	struct pollhead ph;        /* its wq lock guards the fields below */
	int clockid;
	bool armed;
	bool dead;                 /* releasing: the callback must not re-arm */
	uint64_t next;             /* monotonic ns of the next expiration */
	uint64_t interval;         /* 0: one-shot */
	uint64_t ticks;            /* expirations not read yet */
	spinlock_t arm_lock;       /* settime/release: the ktimer itself */
	struct ktimer kt;
};

/* Wait-queue lock held. Counts the expirations up to now. */
static void tfd_catch_up(struct timerfd *t, uint64_t now)
{
	if (!t->armed || now < t->next)
		return;
	if (t->interval) {
		uint64_t n = (now - t->next) / t->interval + 1;
		t->ticks += n;
		t->next += n * t->interval;
	} else {
		t->ticks++;
		t->armed = false;
	}
}

static void tfd_fire(struct ktimer *kt)
{
	struct timerfd *t = kt->arg;
	uint64_t fl = wq_lock(&t->ph.wq);
	tfd_catch_up(t, clock_monotonic_ns());
	bool ready = t->ticks != 0;
	if (t->armed && !t->dead)
		ktimer_arm(&t->kt, t->next);
	wq_unlock(&t->ph.wq, fl);
	if (ready)
		pollhead_wake(&t->ph, EPOLLIN | EPOLLRDNORM);
}

static ssize_t tfd_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)pos;
	struct timerfd *t = f->priv;
	if (u->resid < 8)
		return -EINVAL;
	uint64_t v;
	for (;;) {
		uint64_t fl = wq_lock(&t->ph.wq);
		tfd_catch_up(t, clock_monotonic_ns());
		if (t->ticks) {
			v = t->ticks;
			t->ticks = 0;
			wq_unlock(&t->ph.wq, fl);
			break;
		}
		if (f->flags & O_NONBLOCK) {
			wq_unlock(&t->ph.wq, fl);
			return -EAGAIN;
		}
		int r = wq_wait_locked(&t->ph.wq, fl, 0, TIME_FOREVER, WQ_INTERRUPTIBLE);
		if (r)
			return -EINTR;
	}
	if (uio_copy_out(u, &v, 8) < 0)
		return -EFAULT;
	return 8;
}

static uint32_t tfd_poll(struct file *f, struct poll_table *pt)
{
	struct timerfd *t = f->priv;
	poll_wait(pt, &t->ph);
	uint64_t fl = wq_lock(&t->ph.wq);
	tfd_catch_up(t, clock_monotonic_ns());
	bool ready = t->ticks != 0;
	wq_unlock(&t->ph.wq, fl);
	return ready ? EPOLLIN | EPOLLRDNORM : 0;
}

static void tfd_release(struct file *f)
{
	struct timerfd *t = f->priv;
	uint64_t fl = spin_lock_irqsave(&t->arm_lock);
	uint64_t wf = wq_lock(&t->ph.wq);
	t->dead = true;
	wq_unlock(&t->ph.wq, wf);
	/* The first cancel may find it re-armed by a callback still running;
	 * the second then waits that callback out (it cannot re-arm again). */
	ktimer_cancel(&t->kt);
	ktimer_cancel(&t->kt);
	spin_unlock_irqrestore(&t->arm_lock, fl);
	fs_free(t);
}

static const struct file_ops timerfd_ops = {
	.read = tfd_read,
	.poll = tfd_poll,
	.release = tfd_release,
};

static bool clock_ok(int c)
{
	return c == CLOCK_REALTIME || c == CLOCK_MONOTONIC || c == CLOCK_BOOTTIME;
}

static long sys_timerfd_create(int clockid, int flags)
{
	if (clockid == CLOCK_REALTIME_ALARM || clockid == CLOCK_BOOTTIME_ALARM)
		return -EPERM;      /* Linux without CAP_WAKE_ALARM */
	if (!clock_ok(clockid))
		return -EINVAL;
	if (flags & ~(TFD_CLOEXEC | TFD_NONBLOCK))
		return -EINVAL;
	struct timerfd *t = fs_alloc(sizeof(*t));
	if (!t)
		return -ENOMEM;
	pollhead_init(&t->ph);
	t->clockid = clockid;
	t->arm_lock = (spinlock_t)SPINLOCK_INIT;
	ktimer_init(&t->kt, tfd_fire, t);
	struct file *f = file_anon("[timerfd]", 0600, O_RDWR | (flags & O_NONBLOCK),
				   &timerfd_ops, t);
	if (!f) {
		fs_free(t);
		return -ENOMEM;
	}
	int fd = fd_install(f, 0, flags & TFD_CLOEXEC);
	file_put(f);
	return fd;
}
SYSCALL(283, timerfd_create, sys_timerfd_create, "dx");

static bool ts_valid(const struct k_timespec *ts)
{
	return ts->sec >= 0 && ts->nsec >= 0 && ts->nsec < (int64_t)NSEC;
}

static uint64_t ts_ns(const struct k_timespec *ts)
{
	/* Saturates: a deadline centuries away is "never" in practice. */
	if ((uint64_t)ts->sec >= UINT64_MAX / NSEC - 1)
		return UINT64_MAX / 2;
	return (uint64_t)ts->sec * NSEC + (uint64_t)ts->nsec;
}

static void ns_ts(uint64_t ns, struct k_timespec *ts)
{
	ts->sec = (int64_t)(ns / NSEC);
	ts->nsec = (int64_t)(ns % NSEC);
}

/* Wait-queue lock held: the current setting as timerfd_gettime sees it. */
static void tfd_get_locked(struct timerfd *t, uint64_t now, struct k_itimerspec *out)
{
	memset(out, 0, sizeof(*out));
	tfd_catch_up(t, now);
	if (!t->armed)
		return;
	ns_ts(t->interval, &out->interval);
	uint64_t left = t->next > now ? t->next - now : 1;
	ns_ts(left, &out->value);
}

/* The timerfd at fd with a reference, or NULL with *err set. */
static struct file *tfd_get(int fd, long *err)
{
	struct file *f = fd_get(fd);
	if (!f) {
		*err = -EBADF;
		return NULL;
	}
	if (f->ops != &timerfd_ops) {
		file_put(f);
		*err = -EINVAL;
		return NULL;
	}
	return f;
}

static long sys_timerfd_settime(int fd, int flags, const struct k_itimerspec *unew,
				struct k_itimerspec *uold)
{
	if (flags & ~(TFD_TIMER_ABSTIME | TFD_TIMER_CANCEL_ON_SET))
		return -EINVAL;
	struct k_itimerspec nv;
	if (copy_from_user(&nv, unew, sizeof(nv)) < 0)
		return -EFAULT;
	if (!ts_valid(&nv.value) || !ts_valid(&nv.interval))
		return -EINVAL;
	long err;
	struct file *f = tfd_get(fd, &err);
	if (!f)
		return err;
	struct timerfd *t = f->priv;
	bool arm = nv.value.sec || nv.value.nsec;
	uint64_t now = clock_monotonic_ns();
	uint64_t deadline = 0;
	if (arm) {
		uint64_t v = ts_ns(&nv.value);
		if (!(flags & TFD_TIMER_ABSTIME)) {
			deadline = now + v;
		} else if (t->clockid == CLOCK_REALTIME) {
			int64_t mono = (int64_t)v - (int64_t)(clock_realtime_ns() - now);
			deadline = mono > 0 ? (uint64_t)mono : 1;
		} else {
			deadline = v ? v : 1;
		}
	}
	struct k_itimerspec old;
	uint64_t al = spin_lock_irqsave(&t->arm_lock);
	uint64_t fl = wq_lock(&t->ph.wq);
	tfd_get_locked(t, now, &old);
	t->armed = arm;
	t->next = deadline;
	t->interval = arm ? ts_ns(&nv.interval) : 0;
	t->ticks = 0;
	wq_unlock(&t->ph.wq, fl);
	ktimer_cancel(&t->kt);
	if (arm)
		ktimer_arm(&t->kt, deadline);
	spin_unlock_irqrestore(&t->arm_lock, al);
	file_put(f);
	if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(286, timerfd_settime, sys_timerfd_settime, "fxpp");

static long sys_timerfd_gettime(int fd, struct k_itimerspec *ucur)
{
	long err;
	struct file *f = tfd_get(fd, &err);
	if (!f)
		return err;
	struct timerfd *t = f->priv;
	struct k_itimerspec cur;
	uint64_t fl = wq_lock(&t->ph.wq);
	tfd_get_locked(t, clock_monotonic_ns(), &cur);
	wq_unlock(&t->ph.wq, fl);
	file_put(f);
	if (copy_to_user(ucur, &cur, sizeof(cur)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(287, timerfd_gettime, sys_timerfd_gettime, "fp");
