/*
 * epoll: an interest list of (file, fd) items, each hung on its file's
 * pollheads with a callback that puts it on the ready list (poll.h).
 * epoll_wait re-polls the ready items, so the callback only needs to say
 * "maybe": level-triggered items stay on the list while they poll ready,
 * edge-triggered ones leave it until their next wake-up, EPOLLONESHOT
 * disables an item after one report.
 *
 * Locks: epoll_mutex (global) orders ctl against files going away; each
 * instance's mtx serialises ctl and the harvest of one epoll; ep->lock
 * (a spinlock) guards the ready list and is the only one the callbacks,
 * which run under a pollhead's lock, take.
 */
#include "fs/vfs.h"
#include "sched/sync.h"
#include "sched/thread.h"
#include "arch/x86_64/time.h"
#include "fs/deps.h"
#include "linux/syscall.h"
#include "linux/signal.h"
#include "lib/string.h"
#include "errno.h"

#define EPOLL_CTL_ADD 1
#define EPOLL_CTL_DEL 2
#define EPOLL_CTL_MOD 3
#define EPOLL_CLOEXEC O_CLOEXEC

/* Bits that are options, not events. */
#define EP_OPTS (EPOLLONESHOT | EPOLLET | EPOLLEXCLUSIVE | EPOLLWAKEUP)

struct epoll_event_k {
	uint32_t events;
	uint64_t data;
} __attribute__((packed));

struct epoll {
	struct mutex mtx;
	spinlock_t lock;
	struct list items;
	struct list ready;
	struct pollhead ph;         /* epoll_wait sleeps here; nested epolls listen */
	struct file *file;
};

struct epitem {
	struct list node;           /* ep->items */
	struct list rdl;            /* ep->ready (when on_ready) */
	struct list fnode;          /* file->epitems */
	struct epoll *ep;
	struct file *file;
	int fd;
	uint32_t events;
	uint64_t data;
	bool on_ready;
	int npe;
	struct poll_entry pe[2];
};

static struct mutex epoll_mutex = MUTEX_INIT(epoll_mutex);
static const struct file_ops epoll_ops;

static void ready_add_locked(struct epoll *ep, struct epitem *epi)
{
	if (!epi->on_ready) {
		list_push_back(&ep->ready, &epi->rdl);
		epi->on_ready = true;
	}
}

static bool ep_callback(struct poll_entry *pe, uint32_t events)
{
	struct epitem *epi = pe->priv;
	struct epoll *ep = epi->ep;
	uint64_t f = spin_lock_irqsave(&ep->lock);
	uint32_t want = epi->events & ~EP_OPTS;
	if (!want || (events && !(events & (want | EPOLLERR | EPOLLHUP)))) {
		spin_unlock_irqrestore(&ep->lock, f);
		return false;
	}
	ready_add_locked(ep, epi);
	spin_unlock_irqrestore(&ep->lock, f);
	pollhead_wake(&ep->ph, EPOLLIN);
	return true;
}

static void ep_queue(struct poll_table *pt, struct pollhead *ph)
{
	struct epitem *epi = pt->priv;
	if (epi->npe == 2)
		return;
	struct poll_entry *pe = &epi->pe[epi->npe++];
	pe->fn = ep_callback;
	pe->priv = epi;
	pe->exclusive = epi->events & EPOLLEXCLUSIVE;
	poll_entry_add(ph, pe);
}

/* Unhooks and frees an item; epoll_mutex and ep->mtx held. */
static void ep_remove(struct epoll *ep, struct epitem *epi)
{
	for (int i = 0; i < epi->npe; i++)
		poll_entry_remove(&epi->pe[i]);
	list_remove(&epi->fnode);
	list_remove(&epi->node);
	uint64_t f = spin_lock_irqsave(&ep->lock);
	if (epi->on_ready)
		list_remove(&epi->rdl);
	spin_unlock_irqrestore(&ep->lock, f);
	fs_free(epi);
}

static struct epitem *ep_find(struct epoll *ep, struct file *file, int fd)
{
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &ep->items) {
		struct epitem *epi = list_entry(pos, struct epitem, node);
		if (epi->file == file && epi->fd == fd)
			return epi;
	}
	return NULL;
}

/* A file's last reference went: it leaves every epoll it was in. */
void epoll_file_release(struct file *f);
void epoll_file_release(struct file *f)
{
	mutex_lock(&epoll_mutex);
	while (!list_empty(&f->epitems)) {
		struct epitem *epi = list_entry(f->epitems.next, struct epitem, fnode);
		struct epoll *ep = epi->ep;
		mutex_lock(&ep->mtx);
		ep_remove(ep, epi);
		mutex_unlock(&ep->mtx);
	}
	mutex_unlock(&epoll_mutex);
}

static void epoll_release(struct file *f)
{
	struct epoll *ep = f->priv;
	mutex_lock(&epoll_mutex);
	mutex_lock(&ep->mtx);
	while (!list_empty(&ep->items))
		ep_remove(ep, list_entry(ep->items.next, struct epitem, node));
	mutex_unlock(&ep->mtx);
	mutex_unlock(&epoll_mutex);
	fs_free(ep);
}

static uint32_t epoll_poll(struct file *f, struct poll_table *pt)
{
	struct epoll *ep = f->priv;
	poll_wait(pt, &ep->ph);
	uint64_t fl = spin_lock_irqsave(&ep->lock);
	bool ready = !list_empty(&ep->ready);
	spin_unlock_irqrestore(&ep->lock, fl);
	return ready ? EPOLLIN | EPOLLRDNORM : 0;
}

static const struct file_ops epoll_ops = {
	.poll = epoll_poll,
	.release = epoll_release,
};

static long epoll_new(int flags)
{
	if (flags & ~EPOLL_CLOEXEC)
		return -EINVAL;
	struct epoll *ep = fs_alloc(sizeof(*ep));
	if (!ep)
		return -ENOMEM;
	mutex_init(&ep->mtx);
	ep->lock = (spinlock_t)SPINLOCK_INIT;
	list_init(&ep->items);
	list_init(&ep->ready);
	pollhead_init(&ep->ph);
	struct file *f = file_anon("[eventpoll]", 0600, O_RDWR, &epoll_ops, ep);
	if (!f) {
		fs_free(ep);
		return -ENOMEM;
	}
	ep->file = f;
	int fd = fd_install(f, 0, flags & EPOLL_CLOEXEC);
	file_put(f);
	return fd;
}

static long sys_epoll_create1(int flags)
{
	return epoll_new(flags);
}
SYSCALL(291, epoll_create1, sys_epoll_create1, "x");

static long sys_epoll_create(int size)
{
	if (size <= 0)
		return -EINVAL;
	return epoll_new(0);
}
SYSCALL(213, epoll_create, sys_epoll_create, "d");

/* Whether adding target to ep would close a loop of epolls. */
static bool makes_loop(struct epoll *ep, struct file *target, int depth)
{
	if (target->ops != &epoll_ops)
		return false;
	struct epoll *t = target->priv;
	if (t == ep || depth > 5)
		return true;
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &t->items) {
		struct epitem *epi = list_entry(pos, struct epitem, node);
		if (makes_loop(ep, epi->file, depth + 1))
			return true;
	}
	return false;
}

static long sys_epoll_ctl(int epfd, int op, int fd, const struct epoll_event_k *uev)
{
	struct epoll_event_k ev = { 0 };
	if (op != EPOLL_CTL_DEL && copy_from_user(&ev, uev, sizeof(ev)) < 0)
		return -EFAULT;
	struct file *epf = fd_get(epfd);
	if (!epf)
		return -EBADF;
	struct file *f = fd_get(fd);
	if (!f) {
		file_put(epf);
		return -EBADF;
	}
	long r = 0;
	if (!f->ops || !f->ops->poll) {
		r = -EPERM;          /* regular files and directories */
		goto out;
	}
	if (epf->ops != &epoll_ops || epf == f) {
		r = -EINVAL;
		goto out;
	}
	if (ev.events & EPOLLEXCLUSIVE) {
		if (op == EPOLL_CTL_MOD || f->ops == &epoll_ops ||
		    (ev.events & ~(EPOLLIN | EPOLLOUT | EPOLLWAKEUP | EPOLLET | EPOLLEXCLUSIVE))) {
			r = -EINVAL;
			goto out;
		}
	}
	struct epoll *ep = epf->priv;
	mutex_lock(&epoll_mutex);
	mutex_lock(&ep->mtx);
	struct epitem *epi = ep_find(ep, f, fd);
	switch (op) {
	case EPOLL_CTL_ADD: {
		if (epi) {
			r = -EEXIST;
			break;
		}
		if (makes_loop(ep, f, 0)) {
			r = -ELOOP;
			break;
		}
		epi = fs_alloc(sizeof(*epi));
		if (!epi) {
			r = -ENOMEM;
			break;
		}
		epi->ep = ep;
		epi->file = f;
		epi->fd = fd;
		epi->events = ev.events | EPOLLERR | EPOLLHUP;
		epi->data = ev.data;
		list_push_back(&ep->items, &epi->node);
		list_push_back(&f->epitems, &epi->fnode);
		struct poll_table pt = { ep_queue, epi };
		uint32_t m = file_poll(f, &pt);
		if (m & epi->events & ~EP_OPTS) {
			uint64_t fl = spin_lock_irqsave(&ep->lock);
			ready_add_locked(ep, epi);
			spin_unlock_irqrestore(&ep->lock, fl);
			pollhead_wake(&ep->ph, EPOLLIN);
		}
		break;
	}
	case EPOLL_CTL_MOD: {
		if (!epi) {
			r = -ENOENT;
			break;
		}
		if (epi->events & EPOLLEXCLUSIVE) {
			r = -EINVAL;
			break;
		}
		uint64_t fl = spin_lock_irqsave(&ep->lock);
		epi->events = ev.events | EPOLLERR | EPOLLHUP;
		epi->data = ev.data;
		spin_unlock_irqrestore(&ep->lock, fl);
		uint32_t m = file_poll(f, NULL);
		if (m & epi->events & ~EP_OPTS) {
			fl = spin_lock_irqsave(&ep->lock);
			ready_add_locked(ep, epi);
			spin_unlock_irqrestore(&ep->lock, fl);
			pollhead_wake(&ep->ph, EPOLLIN);
		}
		break;
	}
	case EPOLL_CTL_DEL:
		if (!epi)
			r = -ENOENT;
		else
			ep_remove(ep, epi);
		break;
	default:
		r = -EINVAL;
	}
	mutex_unlock(&ep->mtx);
	mutex_unlock(&epoll_mutex);
out:
	file_put(f);
	file_put(epf);
	return r;
}
SYSCALL(233, epoll_ctl, sys_epoll_ctl, "fdfp");

/* Reports up to max ready items; ep->mtx held. */
static int harvest(struct epoll *ep, struct epoll_event_k *uev, int max)
{
	struct list tx;
	list_init(&tx);
	uint64_t fl = spin_lock_irqsave(&ep->lock);
	while (!list_empty(&ep->ready)) {
		struct list *n = ep->ready.next;
		list_remove(n);
		list_push_back(&tx, n);
		/* threads: on_ready stays set while the item sits on tx, or a
		 * wake-up on another CPU would link its rdl into ep->ready
		 * while it is still on tx (a corrupted list, harvest looping) */
	}
	spin_unlock_irqrestore(&ep->lock, fl);
	int count = 0, err = 0;
	while (!list_empty(&tx)) {
		struct epitem *epi = list_entry(tx.next, struct epitem, rdl);
		fl = spin_lock_irqsave(&ep->lock);
		list_remove(&epi->rdl);
		epi->on_ready = false;
		spin_unlock_irqrestore(&ep->lock, fl);
		if (count == max || err) {
			fl = spin_lock_irqsave(&ep->lock);
			ready_add_locked(ep, epi);
			spin_unlock_irqrestore(&ep->lock, fl);
			continue;
		}
		uint32_t want = epi->events & ~EP_OPTS;
		uint32_t m = want ? file_poll(epi->file, NULL) & want : 0;
		if (!m)
			continue;
		struct epoll_event_k e = { m, epi->data };
		if (copy_to_user(&uev[count], &e, sizeof(e)) < 0) {
			err = -EFAULT;
			fl = spin_lock_irqsave(&ep->lock);
			ready_add_locked(ep, epi);
			spin_unlock_irqrestore(&ep->lock, fl);
			continue;
		}
		count++;
		fl = spin_lock_irqsave(&ep->lock);
		if (epi->events & EPOLLONESHOT)
			epi->events &= EP_OPTS;
		else if (!(epi->events & EPOLLET))
			ready_add_locked(ep, epi);      /* level: look again next time */
		spin_unlock_irqrestore(&ep->lock, fl);
	}
	return count ? count : err;
}

static long epoll_wait_common(int epfd, struct epoll_event_k *uev, int max, uint64_t deadline)
{
	if (max <= 0 || max > (int)(INT32_MAX / sizeof(struct epoll_event_k)))
		return -EINVAL;
	if (!user_range_ok((uint64_t)uev, (uint64_t)max * sizeof(*uev)))
		return -EFAULT;
	struct file *f = fd_get(epfd);
	if (!f)
		return -EBADF;
	if (f->ops != &epoll_ops) {
		file_put(f);
		return -EINVAL;
	}
	struct epoll *ep = f->priv;
	long r;
	bool timed_out = deadline == 0;
	for (;;) {
		mutex_lock(&ep->mtx);
		r = harvest(ep, uev, max);
		mutex_unlock(&ep->mtx);
		if (r != 0 || timed_out)
			break;
		int w = wq_wait_event(&ep->ph.wq, !list_empty(&ep->ready), deadline, WQ_INTERRUPTIBLE);
		if (w == -ETIMEDOUT)
			timed_out = true;
		else if (w == -EINTR) {
			r = -EINTR;
			break;
		}
	}
	file_put(f);
	return r;
}

static uint64_t deadline_ms(int ms)
{
	if (ms < 0)
		return TIME_FOREVER;
	if (ms == 0)
		return 0;
	return clock_monotonic_ns() + (uint64_t)ms * 1000000u;
}

static long sys_epoll_wait(int epfd, struct epoll_event_k *uev, int max, int timeout)
{
	return epoll_wait_common(epfd, uev, max, deadline_ms(timeout));
}
SYSCALL(232, epoll_wait, sys_epoll_wait, "fpdd");

static long sys_epoll_pwait(int epfd, struct epoll_event_k *uev, int max, int timeout,
			    const void *sigmask, size_t sigsetsize)
{
	/* --- signals: the temporary mask (linux/signal.c) --- */
	int r = signal_set_temp_mask_user(sigmask, sigsetsize);
	if (r < 0)
		return r;
	return epoll_wait_common(epfd, uev, max, deadline_ms(timeout));
}
SYSCALL(281, epoll_pwait, sys_epoll_pwait, "fpddpu");

static long sys_epoll_pwait2(int epfd, struct epoll_event_k *uev, int max,
			     const struct timespec_k *uts, const void *sigmask, size_t sigsetsize)
{
	/* --- signals: the temporary mask (linux/signal.c) --- */
	int r = signal_set_temp_mask_user(sigmask, sigsetsize);
	if (r < 0)
		return r;
	uint64_t deadline;
	r = timeout_from_user(uts, &deadline);
	if (r < 0)
		return r;
	return epoll_wait_common(epfd, uev, max, deadline);
}
SYSCALL(441, epoll_pwait2, sys_epoll_pwait2, "fpdppu");
