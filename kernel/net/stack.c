/*
 * The stack's lock, clock, timers and its kernel thread, netd.
 *
 * Timers sit in two lists sorted by deadline: `near` (due within
 * NEAR_NS: retransmission, delayed-ACK, ARP timers) and `far` (TIME_WAIT,
 * keep-alive, reassembly), so arming a short timer never scans past
 * thousands of long ones; both insert scanning from the back (new
 * deadlines are usually the latest of their kind), and far timers move
 * to `near` as their time comes. netd sleeps until the earliest
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

#define NEAR_NS (1000ull * 1000000)
static struct list near = LIST_INIT(near), far = LIST_INIT(far);
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

static void insert_sorted(struct list *l, struct net_timer *t)
{
	struct list *pos = l->prev;
	while (pos != l && list_entry(pos, struct net_timer, node)->deadline > t->deadline)
		pos = pos->prev;
	list_insert_after(pos, &t->node);
}

static uint64_t head_deadline(const struct list *l)
{
	return list_empty(l) ? UINT64_MAX : list_entry(l->next, struct net_timer, node)->deadline;
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
	insert_sorted(deadline < net_now_ns() + NEAR_NS ? &near : &far, t);
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
	/* Far timers whose time is near join the near list (in order: far
	 * is sorted, so they come out earliest first). */
	while (head_deadline(&far) < now + NEAR_NS) {
		struct net_timer *t = list_entry(far.next, struct net_timer, node);
		list_remove(&t->node);
		insert_sorted(&near, t);
	}
	for (int batch = 0; batch < 256 && !list_empty(&near); batch++) {
		struct net_timer *t = list_entry(near.next, struct net_timer, node);
		if (t->deadline > now)
			break;
		list_remove(&t->node);
		t->deadline = 0;
		t->fn(t);
	}
	uint64_t next = UINT64_MAX;
	if (!list_empty(&work))
		next = 0;
	else
		next = MIN(head_deadline(&near), head_deadline(&far));
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
