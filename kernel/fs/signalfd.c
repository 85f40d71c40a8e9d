/*
 * signalfd: pending signals as a file (signalfd(2)). A read takes signals
 * of the file's mask off the calling thread's pending set, then the
 * process's (linux/signal.c does the dequeueing under its lock), and
 * returns each as a 128-byte struct signalfd_siginfo. Like Linux, the
 * program must block those signals, or normal delivery gets there first.
 *
 * All signalfds share one pollhead: signal.c calls signalfd_notify() with
 * its lock held whenever it queues a signal, and every listener re-polls
 * (a spurious wake-up of a signalfd whose mask does not match costs one
 * poll). Because the pending sets are read under signal.c's lock, which
 * ranks above the wait-queue lock, a blocking read cannot check them under
 * the wait-queue lock: it checks a sequence number that notify bumps
 * before waking, so no wake-up is lost between the check and the sleep.
 */
#include "fs/vfs.h"
#include "sched/thread.h"
#include "sched/spinlock.h"
#include "fs/deps.h"
#include "linux/signal.h"
#include "linux/syscall.h"
#include "lib/string.h"
#include "errno.h"

#define SFD_CLOEXEC  O_CLOEXEC
#define SFD_NONBLOCK O_NONBLOCK

/* struct signalfd_siginfo, Linux's layout. */
struct signalfd_siginfo {
	uint32_t ssi_signo;
	int32_t ssi_errno;
	int32_t ssi_code;
	uint32_t ssi_pid;
	uint32_t ssi_uid;
	int32_t ssi_fd;
	uint32_t ssi_tid;
	uint32_t ssi_band;
	uint32_t ssi_overrun;
	uint32_t ssi_trapno;
	int32_t ssi_status;
	int32_t ssi_int;
	uint64_t ssi_ptr;
	uint64_t ssi_utime;
	uint64_t ssi_stime;
	uint64_t ssi_addr;
	uint16_t ssi_addr_lsb;
	uint16_t pad2;
	int32_t ssi_syscall;
	uint64_t ssi_call_addr;
	uint32_t ssi_arch;
	uint8_t pad[28];
};
_Static_assert(sizeof(struct signalfd_siginfo) == 128, "signalfd_siginfo is 128 bytes");

struct signalfd {
	uint64_t mask;              /* read without a lock: a 64-bit store is atomic */
};

static struct pollhead sfd_ph;
static volatile bool sfd_ph_ready;
static spinlock_t sfd_init_lock = SPINLOCK_INIT;
static volatile uint64_t sfd_seq;

void signalfd_notify(void)
{
	if (!sfd_ph_ready)
		return;
	__atomic_add_fetch(&sfd_seq, 1, __ATOMIC_SEQ_CST);
	pollhead_wake(&sfd_ph, EPOLLIN | EPOLLRDNORM);
}

static void sfd_ph_init(void)
{
	uint64_t f = spin_lock_irqsave(&sfd_init_lock);
	if (!sfd_ph_ready) {
		pollhead_init(&sfd_ph);
		__atomic_store_n(&sfd_ph_ready, true, __ATOMIC_RELEASE);
	}
	spin_unlock_irqrestore(&sfd_init_lock, f);
}

static bool is_fault(int sig)
{
	return sig == SIGSEGV || sig == SIGBUS || sig == SIGILL || sig == SIGFPE ||
	       sig == SIGTRAP;
}

static void to_ssi(const struct ksiginfo *i, struct signalfd_siginfo *o)
{
	memset(o, 0, sizeof(*o));
	o->ssi_signo = (uint32_t)i->signo;
	o->ssi_errno = i->errno_;
	o->ssi_code = i->code;
	if (i->code == SI_TIMER) {
		o->ssi_tid = (uint32_t)i->timer.tid;
		o->ssi_overrun = (uint32_t)i->timer.overrun;
		o->ssi_int = (int32_t)i->timer.value;
		o->ssi_ptr = i->timer.value;
	} else if (is_fault(i->signo) && i->code > 0 && i->code != SI_KERNEL) {
		o->ssi_addr = i->fault.addr;
	} else {
		o->ssi_pid = (uint32_t)i->kill.pid;
		o->ssi_uid = i->kill.uid;
		o->ssi_int = (int32_t)i->kill.value;
		o->ssi_ptr = i->kill.value;
	}
}

static ssize_t sfd_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)pos;
	struct signalfd *s = f->priv;
	if (u->resid < sizeof(struct signalfd_siginfo))
		return -EINVAL;
	ssize_t done = 0;
	while (u->resid >= sizeof(struct signalfd_siginfo)) {
		struct ksiginfo info;
		uint64_t seq = __atomic_load_n(&sfd_seq, __ATOMIC_SEQ_CST);
		int sig = signal_dequeue_set(READ_ONCE(s->mask), &info);
		if (!sig) {
			/* Only the first signal is waited for. */
			if (done)
				break;
			if (f->flags & O_NONBLOCK)
				return -EAGAIN;
			uint64_t fl = wq_lock(&sfd_ph.wq);
			if (__atomic_load_n(&sfd_seq, __ATOMIC_SEQ_CST) != seq) {
				wq_unlock(&sfd_ph.wq, fl);
				continue;
			}
			if (wq_wait_locked(&sfd_ph.wq, fl, 0, TIME_FOREVER, WQ_INTERRUPTIBLE))
				return -EINTR;
			continue;
		}
		struct signalfd_siginfo o;
		to_ssi(&info, &o);
		if (uio_copy_out(u, &o, sizeof(o)) < 0)
			return done ? done : -EFAULT;
		done += sizeof(o);
	}
	return done;
}

static uint32_t sfd_poll(struct file *f, struct poll_table *pt)
{
	struct signalfd *s = f->priv;
	poll_wait(pt, &sfd_ph);
	return signal_pending_set() & READ_ONCE(s->mask) ? EPOLLIN | EPOLLRDNORM : 0;
}

static void sfd_release(struct file *f)
{
	fs_free(f->priv);
}

static const struct file_ops signalfd_ops = {
	.read = sfd_read,
	.poll = sfd_poll,
	.release = sfd_release,
};

static long sys_signalfd4(int fd, const uint64_t *umask, size_t size, int flags)
{
	if (flags & ~(SFD_CLOEXEC | SFD_NONBLOCK))
		return -EINVAL;
	if (size != sizeof(uint64_t))
		return -EINVAL;
	uint64_t mask;
	if (copy_from_user(&mask, umask, sizeof(mask)) < 0)
		return -EFAULT;
	mask &= ~SIG_UNBLOCKABLE;
	sfd_ph_init();
	if (fd != -1) {
		/* A new mask for an existing signalfd (flags ignored, as Linux). */
		struct file *f = fd_get(fd);
		if (!f)
			return -EBADF;
		if (f->ops != &signalfd_ops) {
			file_put(f);
			return -EINVAL;
		}
		struct signalfd *s = f->priv;
		WRITE_ONCE(s->mask, mask);
		file_put(f);
		signalfd_notify();      /* pollers re-check against the new mask */
		return fd;
	}
	struct signalfd *s = fs_alloc(sizeof(*s));
	if (!s)
		return -ENOMEM;
	s->mask = mask;
	struct file *f = file_anon("[signalfd]", 0600, O_RDWR | (flags & O_NONBLOCK),
				   &signalfd_ops, s);
	if (!f) {
		fs_free(s);
		return -ENOMEM;
	}
	int nfd = fd_install(f, 0, flags & SFD_CLOEXEC);
	file_put(f);
	return nfd;
}
SYSCALL(289, signalfd4, sys_signalfd4, "dpux");

static long sys_signalfd(int fd, const uint64_t *umask, size_t size)
{
	return sys_signalfd4(fd, umask, size, 0);
}
SYSCALL(282, signalfd, sys_signalfd, "dpu");
