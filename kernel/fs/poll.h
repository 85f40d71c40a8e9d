/*
 * Readiness: the one mechanism under poll, select, epoll and every blocking
 * read or write of a stream (pipes, eventfd, the console, and sockets).
 *
 * An object that can become ready embeds a struct pollhead:
 *   - its file_ops->poll(f, pt) returns the EPOLL* bits that hold now and
 *     calls poll_wait(pt, &obj->ph) so that a waiter can hear about changes;
 *   - whenever its state changes (data arrived, room freed, peer closed) it
 *     calls pollhead_wake(&obj->ph, events) with the bits that may now hold
 *     (0 = "something changed": every listener re-polls);
 *   - a thread blocking in the object's own read/write waits on
 *     obj->ph.wq with wq_wait_event(), checking its condition under the
 *     wait-queue lock (see sched/wait.h): pollhead_wake wakes it too.
 *
 * Listeners (poll/select calls, epoll instances) hang a struct poll_entry
 * on the pollhead; its callback runs from pollhead_wake under the
 * pollhead's lock, possibly in interrupt context: it must not block, only
 * take spinlocks and wake threads.
 *
 * For the network work: a socket embeds a pollhead, implements ->poll from
 * its buffers/state (EPOLLIN when data or a pending connection or EOF,
 * EPOLLOUT when send space, EPOLLRDHUP|EPOLLIN on FIN, EPOLLHUP when both
 * directions are closed, EPOLLERR on a pending error) and calls
 * pollhead_wake() from the TCP/UDP input path. Nothing else is needed for
 * poll, select, epoll (level, edge, oneshot, exclusive) to work on it.
 */
#pragma once
#include "sched/list.h"
#include "sched/wait.h"

#define EPOLLIN      0x001u
#define EPOLLPRI     0x002u
#define EPOLLOUT     0x004u
#define EPOLLERR     0x008u
#define EPOLLHUP     0x010u
#define EPOLLNVAL    0x020u
#define EPOLLRDNORM  0x040u
#define EPOLLRDBAND  0x080u
#define EPOLLWRNORM  0x100u
#define EPOLLWRBAND  0x200u
#define EPOLLMSG     0x400u
#define EPOLLRDHUP   0x2000u
#define EPOLLEXCLUSIVE (1u << 28)
#define EPOLLWAKEUP  (1u << 29)
#define EPOLLONESHOT (1u << 30)
#define EPOLLET      (1u << 31)

struct pollhead {
	struct wait_queue wq;       /* blocking readers/writers; its lock guards entries */
	struct list entries;        /* struct poll_entry */
};

struct poll_entry;
/* Returns true when it woke someone (EPOLLEXCLUSIVE accounting). */
typedef bool (*poll_wake_fn)(struct poll_entry *e, uint32_t events);

struct poll_entry {
	struct list node;
	struct pollhead *head;      /* NULL when not queued */
	poll_wake_fn fn;
	void *priv;
	bool exclusive;
};

struct poll_table {
	/* Called by poll_wait for each pollhead of the file. */
	void (*queue)(struct poll_table *pt, struct pollhead *ph);
	void *priv;
};

static inline void poll_wait(struct poll_table *pt, struct pollhead *ph)
{
	if (pt && pt->queue)
		pt->queue(pt, ph);
}

void pollhead_init(struct pollhead *ph);
/* Wakes the blocked threads and calls the listeners. */
void pollhead_wake(struct pollhead *ph, uint32_t events);
void poll_entry_add(struct pollhead *ph, struct poll_entry *e);
void poll_entry_remove(struct poll_entry *e);

struct file;
/* The readiness of f (EPOLLNVAL-free): f->ops->poll, or "always ready" for
 * files without one (regular files, as Linux). */
uint32_t file_poll(struct file *f, struct poll_table *pt);

/* Timeouts of the waiting calls (ppoll, pselect6, epoll_pwait2, recvmmsg):
 * a relative struct timespec from the program. */
struct timespec_k {
	int64_t sec;
	int64_t nsec;
};
/* The absolute deadline: TIME_FOREVER for NULL, 0 (do not wait) for a
 * zero timeout; -EFAULT, or -EINVAL for a negative or unnormalised one. */
int timeout_from_user(const struct timespec_k *uts, uint64_t *deadline);
/* Writes the time left until deadline back to uts (as Linux does for
 * ppoll, pselect6 and recvmmsg); nothing for NULL, forever or 0. */
void timeout_put_left(struct timespec_k *uts, uint64_t deadline);
