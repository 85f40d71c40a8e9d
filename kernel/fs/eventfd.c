/*
 * eventfd: a 64-bit counter as a file (eventfd(2)). The counter lives
 * under the pollhead's wait-queue lock, so the blocking paths are the
 * plain wq_wait_event pattern.
 */
#include "fs/vfs.h"
#include "sched/thread.h"
#include "fs/deps.h"
#include "linux/syscall.h"
#include "lib/string.h"
#include "errno.h"

#define EFD_SEMAPHORE 1
#define EFD_CLOEXEC   O_CLOEXEC
#define EFD_NONBLOCK  O_NONBLOCK
#define EFD_MAX       0xfffffffffffffffeull

struct eventfd {
	struct pollhead ph;
	uint64_t count;
	bool semaphore;
};

static ssize_t efd_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)pos;
	struct eventfd *e = f->priv;
	if (u->resid < 8)
		return -EINVAL;
	uint64_t v;
	for (;;) {
		uint64_t fl = wq_lock(&e->ph.wq);
		if (e->count) {
			v = e->semaphore ? 1 : e->count;
			e->count -= v;
			wq_unlock(&e->ph.wq, fl);
			break;
		}
		if (f->flags & O_NONBLOCK) {
			wq_unlock(&e->ph.wq, fl);
			return -EAGAIN;
		}
		int r = wq_wait_locked(&e->ph.wq, fl, 0, TIME_FOREVER, WQ_INTERRUPTIBLE);
		if (r)
			return -EINTR;
	}
	pollhead_wake(&e->ph, EPOLLOUT);
	if (uio_copy_out(u, &v, 8) < 0)
		return -EFAULT;
	return 8;
}

static ssize_t efd_write(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)pos;
	struct eventfd *e = f->priv;
	if (u->resid < 8)
		return -EINVAL;
	uint64_t v;
	if (uio_copy_in(u, &v, 8) < 0)
		return -EFAULT;
	if (v == UINT64_MAX)
		return -EINVAL;
	for (;;) {
		uint64_t fl = wq_lock(&e->ph.wq);
		if (EFD_MAX - e->count >= v) {
			e->count += v;
			wq_unlock(&e->ph.wq, fl);
			break;
		}
		if (f->flags & O_NONBLOCK) {
			wq_unlock(&e->ph.wq, fl);
			return -EAGAIN;
		}
		int r = wq_wait_locked(&e->ph.wq, fl, 0, TIME_FOREVER, WQ_INTERRUPTIBLE);
		if (r)
			return -EINTR;
	}
	if (v)
		pollhead_wake(&e->ph, EPOLLIN);
	return 8;
}

static uint32_t efd_poll(struct file *f, struct poll_table *pt)
{
	struct eventfd *e = f->priv;
	poll_wait(pt, &e->ph);
	uint64_t c = READ_ONCE(e->count);
	uint32_t m = 0;
	if (c)
		m |= EPOLLIN | EPOLLRDNORM;
	if (c < EFD_MAX)
		m |= EPOLLOUT | EPOLLWRNORM;
	return m;
}

static void efd_release(struct file *f)
{
	fs_free(f->priv);
}

static const struct file_ops eventfd_ops = {
	.read = efd_read,
	.write = efd_write,
	.poll = efd_poll,
	.release = efd_release,
};

static long sys_eventfd2(unsigned initval, int flags)
{
	if (flags & ~(EFD_SEMAPHORE | EFD_CLOEXEC | EFD_NONBLOCK))
		return -EINVAL;
	struct eventfd *e = fs_alloc(sizeof(*e));
	if (!e)
		return -ENOMEM;
	pollhead_init(&e->ph);
	e->count = initval;
	e->semaphore = flags & EFD_SEMAPHORE;
	struct file *f = file_anon("[eventfd]", 0600, O_RDWR | (flags & O_NONBLOCK),
				   &eventfd_ops, e);
	if (!f) {
		fs_free(e);
		return -ENOMEM;
	}
	int fd = fd_install(f, 0, flags & EFD_CLOEXEC);
	file_put(f);
	return fd;
}
SYSCALL(290, eventfd2, sys_eventfd2, "ux");

static long sys_eventfd(unsigned initval)
{
	return sys_eventfd2(initval, 0);
}
SYSCALL(284, eventfd, sys_eventfd, "u");
