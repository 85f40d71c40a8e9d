/*
 * The stack's lock, clock, timers and its kernel thread, netd.
 *
 * Timers sit in one list sorted by deadline (arming scans from the back:
 * new deadlines are usually the latest). netd sleeps until the earliest
 * deadline, or forever when nothing is armed, so an idle stack takes no
 * timer interrupts; arming an earlier deadline or queueing deferred work
 * kicks it awake. Expired timers and deferred work run in netd with
 * net_lock held. Deferred work is how loopback delivers: the sender holds
 * net_lock, so a frame sent to ourselves cannot be input there and then.
 */
#include "net/stack.h"
#include "net/ip.h"
#include "arch/x86_64/time.h"
#include "lib/klog.h"
#include "sched/thread.h"
#include "sched/wait.h"

spinlock_t net_lock = SPINLOCK_INIT;

static struct list timers = LIST_INIT(timers);
static struct list work = LIST_INIT(work);
static uint64_t timer_head_deadline = UINT64_MAX;   /* what netd sleeps until */

/* netd's sleep: `kicked` (under the queue's lock) makes a kick between
 * netd's last look and its sleep count. */
static struct wait_queue netd_wq = WAIT_QUEUE_INIT(netd_wq);
static bool netd_kicked;
static struct thread *netd_thread;

uint64_t net_now_ns(void) { return clock_monotonic_ns(); }

static void netd_kick(void)
{
	uint64_t f = wq_lock(&netd_wq);
	netd_kicked = true;
	wq_wake_locked(&netd_wq, 1);
	wq_unlock(&netd_wq, f);
}

void net_timer_init(struct net_timer *t, net_timer_fn fn, void *arg)
{
	list_init(&t->node);
	t->deadline = 0;
	t->fn = fn;
	t->arg = arg;
}

void net_timer_arm(struct net_timer *t, uint64_t deadline)
{
	if (deadline == 0)
		deadline = 1;           /* 0 means "not armed" */
	if (t->deadline)
		list_remove(&t->node);
	t->deadline = deadline;
	struct list *pos = timers.prev;
	while (pos != &timers && list_entry(pos, struct net_timer, node)->deadline > deadline)
		pos = pos->prev;
	list_insert_after(pos, &t->node);
	if (deadline < timer_head_deadline) {
		timer_head_deadline = deadline;
		netd_kick();
	}
}

void net_timer_cancel(struct net_timer *t)
{
	if (!t->deadline)
		return;
	list_remove(&t->node);
	t->deadline = 0;
	/* netd may wake for nothing at the old head deadline; harmless. */
}

void net_defer(struct net_work *w)
{
	if (w->queued)
		return;
	w->queued = true;
	list_push_back(&work, &w->node);
	netd_kick();
}

/* Runs what is due; returns the next deadline (UINT64_MAX: none). */
static uint64_t netd_run(void)
{
	uint64_t f = net_lock_irqsave();
	/* Bounded batches, so a long queue does not keep interrupts off. */
	for (int batch = 0; batch < 64 && !list_empty(&work); batch++) {
		struct net_work *w = list_entry(work.next, struct net_work, node);
		list_remove(&w->node);
		w->queued = false;
		w->fn(w);
	}
	uint64_t now = net_now_ns();
	for (int batch = 0; batch < 256 && !list_empty(&timers); batch++) {
		struct net_timer *t = list_entry(timers.next, struct net_timer, node);
		if (t->deadline > now)
			break;
		list_remove(&t->node);
		t->deadline = 0;
		t->fn(t);
	}
	uint64_t next = UINT64_MAX;
	if (!list_empty(&work))
		next = 0;
	else if (!list_empty(&timers))
		next = list_entry(timers.next, struct net_timer, node)->deadline;
	timer_head_deadline = next;
	net_unlock_irqrestore(f);
	return next;
}

static void netd_main(void *arg)
{
	(void)arg;
	for (;;) {
		uint64_t next = netd_run();
		if (next == 0)
			continue;
		uint64_t f = wq_lock(&netd_wq);
		if (netd_kicked) {
			netd_kicked = false;
			wq_unlock(&netd_wq, f);
			continue;
		}
		if (next != UINT64_MAX && next <= net_now_ns()) {
			wq_unlock(&netd_wq, f);
			continue;
		}
		wq_wait_locked(&netd_wq, f, 0, next == UINT64_MAX ? TIME_FOREVER : next, 0);
		f = wq_lock(&netd_wq);
		netd_kicked = false;
		wq_unlock(&netd_wq, f);
	}
}

int netd_start(void)
{
	if (netd_thread)
		return 0;
	struct thread_attr a = { .sched_class = SCHED_HIGH, .cpu = -1 };
	netd_thread = thread_create_attr(netd_main, NULL, "netd", &a);
	if (!netd_thread) {
		pr_err("net: cannot start netd");
		return -1;
	}
	thread_detach(netd_thread);
	return 0;
}
