/*
 * Readiness (poll.h) and the calls that wait on it without keeping state:
 * poll, ppoll, select, pselect6. epoll is epoll.c.
 */
#include "fs/poll.h"
#include "fs/vfs.h"
#include "sched/thread.h"
#include "arch/x86_64/time.h"
#include "fs/deps.h"
#include "linux/syscall.h"
#include "linux/signal.h"
#include "lib/string.h"
#include "errno.h"

void pollhead_init(struct pollhead *ph)
{
	wq_init(&ph->wq);
	list_init(&ph->entries);
}

void pollhead_wake(struct pollhead *ph, uint32_t events)
{
	uint64_t f = wq_lock(&ph->wq);
	wq_wake_locked(&ph->wq, INT32_MAX);
	bool exclusive_done = false;
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &ph->entries) {
		struct poll_entry *e = list_entry(pos, struct poll_entry, node);
		if (e->exclusive) {
			/* EPOLLEXCLUSIVE: one interested listener is enough. */
			if (!exclusive_done && e->fn(e, events))
				exclusive_done = true;
		} else {
			e->fn(e, events);
		}
	}
	wq_unlock(&ph->wq, f);
}

void poll_entry_add(struct pollhead *ph, struct poll_entry *e)
{
	uint64_t f = wq_lock(&ph->wq);
	e->head = ph;
	list_push_back(&ph->entries, &e->node);
	wq_unlock(&ph->wq, f);
}

void poll_entry_remove(struct poll_entry *e)
{
	struct pollhead *ph = e->head;
	if (!ph)
		return;
	uint64_t f = wq_lock(&ph->wq);
	list_remove(&e->node);
	e->head = NULL;
	wq_unlock(&ph->wq, f);
}

uint32_t file_poll(struct file *f, struct poll_table *pt)
{
	if (f->ops && f->ops->poll)
		return f->ops->poll(f, pt);
	/* Regular files and directories are always ready, as on Linux. */
	return EPOLLIN | EPOLLOUT | EPOLLRDNORM | EPOLLWRNORM;
}

/* --- one poll/select call ------------------------------------------------------- */

#define POLLIN_SET  (EPOLLIN | EPOLLRDNORM | EPOLLRDBAND | EPOLLHUP | EPOLLERR)
#define POLLOUT_SET (EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND | EPOLLERR)
#define POLLEX_SET  (EPOLLPRI)

struct pollfd_k {
	int fd;
	int16_t events;
	int16_t revents;
};

struct poll_call {
	struct wait_queue wq;
	volatile bool triggered;
	struct poll_entry *entries;
	int nentries, cap;
};

static bool call_wake(struct poll_entry *e, uint32_t events)
{
	(void)events;
	struct poll_call *pc = e->priv;
	pc->triggered = true;
	wq_wake_all(&pc->wq);
	return true;
}

static void call_queue(struct poll_table *pt, struct pollhead *ph)
{
	struct poll_call *pc = pt->priv;
	if (pc->nentries == pc->cap)
		return;             /* (each file has at most two heads) */
	struct poll_entry *e = &pc->entries[pc->nentries++];
	e->fn = call_wake;
	e->priv = pc;
	e->exclusive = false;
	poll_entry_add(ph, e);
}

/* Polls n items until one is ready, the deadline (TIME_FOREVER: none; 0:
 * just look) or a signal. Returns how many have revents, or -EINTR. */
static int do_poll(struct pollfd_k *items, unsigned n, uint64_t deadline)
{
	struct poll_call pc = { 0 };
	wq_init(&pc.wq);
	pc.cap = (int)n * 2;
	struct file **files = NULL;
	if (n) {
		pc.entries = fs_alloc(sizeof(*pc.entries) * pc.cap);
		files = fs_alloc(sizeof(*files) * n);
		if (!pc.entries || !files) {
			fs_free(pc.entries);
			fs_free(files);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i < n; i++)
		files[i] = items[i].fd >= 0 ? fd_get(items[i].fd) : NULL;
	struct poll_table pt = { call_queue, &pc };
	bool first = true, timed_out = deadline == 0;
	int count, r = 0;
	for (;;) {
		pc.triggered = false;
		count = 0;
		for (unsigned i = 0; i < n; i++) {
			struct pollfd_k *p = &items[i];
			p->revents = 0;
			if (p->fd < 0)
				continue;
			if (!files[i] || (files[i]->mode & FMODE_PATH)) {
				p->revents = EPOLLNVAL;
				count++;
				continue;
			}
			uint32_t m = file_poll(files[i], first && !timed_out ? &pt : NULL);
			m &= (uint16_t)p->events | EPOLLERR | EPOLLHUP;
			p->revents = (int16_t)m;
			if (m)
				count++;
		}
		first = false;
		if (count || timed_out)
			break;
		r = wq_wait_event(&pc.wq, pc.triggered, deadline, WQ_INTERRUPTIBLE);
		if (r == -ETIMEDOUT)
			timed_out = true;
		else if (r == -EINTR)
			break;
	}
	for (int i = 0; i < pc.nentries; i++)
		poll_entry_remove(&pc.entries[i]);
	for (unsigned i = 0; i < n; i++)
		if (files[i])
			file_put(files[i]);
	fs_free(pc.entries);
	fs_free(files);
	return r == -EINTR ? -EINTR : count;
}

int timeout_from_user(const struct timespec_k *uts, uint64_t *deadline)
{
	if (!uts) {
		*deadline = TIME_FOREVER;
		return 0;
	}
	struct timespec_k ts;
	if (copy_from_user(&ts, uts, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
		return -EINVAL;
	if (ts.sec == 0 && ts.nsec == 0) {
		*deadline = 0;
		return 0;
	}
	uint64_t ns = (uint64_t)ts.sec * 1000000000u + (uint64_t)ts.nsec;
	if ((uint64_t)ts.sec > UINT64_MAX / 2000000000u)
		ns = TIME_FOREVER / 2;
	*deadline = clock_monotonic_ns() + ns;
	return 0;
}

void timeout_put_left(struct timespec_k *uts, uint64_t deadline)
{
	if (!uts || deadline == TIME_FOREVER || deadline == 0)
		return;
	uint64_t now = clock_monotonic_ns();
	uint64_t left = deadline > now ? deadline - now : 0;
	struct timespec_k ts = { (int64_t)(left / 1000000000u), (int64_t)(left % 1000000000u) };
	copy_to_user(uts, &ts, sizeof(ts));
}

#define POLL_MAX 65536

static long poll_common(struct pollfd_k *ufds, unsigned nfds, uint64_t deadline)
{
	uint64_t soft, hard;
	fd_get_rlimit(&soft, &hard);
	if (nfds > soft && nfds > POLL_MAX)
		return -EINVAL;
	struct pollfd_k *k = NULL;
	if (nfds) {
		k = fs_alloc(sizeof(*k) * nfds);
		if (!k)
			return -ENOMEM;
		if (copy_from_user(k, ufds, sizeof(*k) * nfds) < 0) {
			fs_free(k);
			return -EFAULT;
		}
	}
	int r = do_poll(k, nfds, deadline);
	if (r >= 0) {
		for (unsigned i = 0; i < nfds; i++)
			if (copy_to_user(&ufds[i].revents, &k[i].revents, sizeof(int16_t)) < 0)
				r = -EFAULT;
	}
	fs_free(k);
	return r;
}

static long sys_poll(struct pollfd_k *ufds, unsigned nfds, int timeout_ms)
{
	uint64_t deadline = timeout_ms < 0 ? TIME_FOREVER
			  : timeout_ms == 0 ? 0
			  : clock_monotonic_ns() + (uint64_t)timeout_ms * 1000000u;
	return poll_common(ufds, nfds, deadline);
}
SYSCALL(7, poll, sys_poll, "pud");

/* --- signals: the signal mask argument of ppoll/pselect6 is the blocked
 * mask until the return to user (linux/signal.c restores it there) --- */
static int check_sigmask(const void *mask, size_t size)
{
	return signal_set_temp_mask_user(mask, size);
}

static long sys_ppoll(struct pollfd_k *ufds, unsigned nfds, struct timespec_k *uts,
		      const void *sigmask, size_t sigsetsize)
{
	uint64_t deadline;
	int r = timeout_from_user(uts, &deadline);
	if (r < 0)
		return r;
	r = check_sigmask(sigmask, sigsetsize);
	if (r < 0)
		return r;
	long n = poll_common(ufds, nfds, deadline);
	timeout_put_left(uts, deadline);
	return n;
}
SYSCALL(271, ppoll, sys_ppoll, "pupxu");

/* --- select --------------------------------------------------------------------- */

static long do_select(int nfds, uint64_t *uin, uint64_t *uout, uint64_t *uex, uint64_t deadline)
{
	if (nfds < 0)
		return -EINVAL;
	int max = fd_table_size();
	if (nfds > max)
		nfds = max;       /* bits past the table are ignored, as Linux */
	size_t words = ((size_t)nfds + 63) / 64;
	size_t bytes = words * 8;
	uint64_t *sets = fs_alloc(bytes * 3 + 8);
	if (!sets)
		return -ENOMEM;
	uint64_t *in = sets, *out = sets + words, *ex = sets + 2 * words;
	if ((uin && copy_from_user(in, uin, bytes) < 0) ||
	    (uout && copy_from_user(out, uout, bytes) < 0) ||
	    (uex && copy_from_user(ex, uex, bytes) < 0)) {
		fs_free(sets);
		return -EFAULT;
	}
	unsigned n = 0;
	for (int fd = 0; fd < nfds; fd++) {
		uint64_t bit = 1ull << (fd % 64);
		if (((uin ? in[fd / 64] : 0) | (uout ? out[fd / 64] : 0) | (uex ? ex[fd / 64] : 0)) & bit)
			n++;
	}
	struct pollfd_k *items = n ? fs_alloc(sizeof(*items) * n) : NULL;
	if (n && !items) {
		fs_free(sets);
		return -ENOMEM;
	}
	unsigned k = 0;
	for (int fd = 0; fd < nfds; fd++) {
		uint64_t bit = 1ull << (fd % 64);
		int16_t ev = 0;
		if (uin && (in[fd / 64] & bit))
			ev |= POLLIN_SET;
		if (uout && (out[fd / 64] & bit))
			ev |= POLLOUT_SET;
		if (uex && (ex[fd / 64] & bit))
			ev |= POLLEX_SET;
		if (!ev)
			continue;
		struct file *f = fd_get(fd);
		if (!f) {
			fs_free(items);
			fs_free(sets);
			return -EBADF;
		}
		file_put(f);
		items[k].fd = fd;
		items[k].events = ev;
		k++;
	}
	int r = do_poll(items, n, deadline);
	if (r >= 0) {
		memset(sets, 0, bytes * 3);
		int count = 0;
		for (unsigned i = 0; i < n; i++) {
			int fd = items[i].fd;
			uint64_t bit = 1ull << (fd % 64);
			uint16_t rev = (uint16_t)items[i].revents;
			if (rev & EPOLLNVAL) {
				r = -EBADF;
				break;
			}
			if ((items[i].events & EPOLLIN) && (rev & POLLIN_SET)) {
				in[fd / 64] |= bit;
				count++;
			}
			if ((items[i].events & EPOLLOUT) && (rev & POLLOUT_SET)) {
				out[fd / 64] |= bit;
				count++;
			}
			if ((items[i].events & EPOLLPRI) && (rev & POLLEX_SET)) {
				ex[fd / 64] |= bit;
				count++;
			}
		}
		if (r >= 0) {
			r = count;
			if ((uin && copy_to_user(uin, in, bytes) < 0) ||
			    (uout && copy_to_user(uout, out, bytes) < 0) ||
			    (uex && copy_to_user(uex, ex, bytes) < 0))
				r = -EFAULT;
		}
	}
	fs_free(items);
	fs_free(sets);
	return r;
}

struct timeval_k {
	int64_t sec;
	int64_t usec;
};

static long sys_select(int nfds, uint64_t *in, uint64_t *out, uint64_t *ex, struct timeval_k *utv)
{
	uint64_t deadline = TIME_FOREVER;
	if (utv) {
		struct timeval_k tv;
		if (copy_from_user(&tv, utv, sizeof(tv)) < 0)
			return -EFAULT;
		if (tv.sec < 0 || tv.usec < 0)
			return -EINVAL;
		/* Linux normalises usec >= 1000000 rather than refusing it. */
		uint64_t ns = (uint64_t)tv.sec * 1000000000u + (uint64_t)tv.usec * 1000u;
		deadline = ns ? clock_monotonic_ns() + ns : 0;
	}
	long r = do_select(nfds, in, out, ex, deadline);
	if (utv && deadline != 0) {
		uint64_t now = clock_monotonic_ns();
		uint64_t left = deadline > now ? deadline - now : 0;
		struct timeval_k tv = { (int64_t)(left / 1000000000u), (int64_t)(left % 1000000000u / 1000u) };
		copy_to_user(utv, &tv, sizeof(tv));
	}
	return r;
}
SYSCALL(23, select, sys_select, "dpppp");

struct sigset_arg {
	const void *ss;
	size_t len;
};

static long sys_pselect6(int nfds, uint64_t *in, uint64_t *out, uint64_t *ex,
			 struct timespec_k *uts, const struct sigset_arg *usig)
{
	uint64_t deadline;
	int r = timeout_from_user(uts, &deadline);
	if (r < 0)
		return r;
	if (usig) {
		struct sigset_arg sa;
		if (copy_from_user(&sa, usig, sizeof(sa)) < 0)
			return -EFAULT;
		r = check_sigmask(sa.ss, sa.len);
		if (r < 0)
			return r;
	}
	long n = do_select(nfds, in, out, ex, deadline);
	timeout_put_left(uts, deadline);
	return n;
}
SYSCALL(270, pselect6, sys_pselect6, "dppppp");
