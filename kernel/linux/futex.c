/*
 * futex(2): waiting on and waking up at a 32-bit word of the program's
 * memory. Waiters sleep on the scheduler's wait queues; a hash table of
 * 256 queues (buckets), each waiter carrying its futex address as the
 * wait key, so one bucket serves many futexes.
 *
 * Keys: there is one program and one address space, so the user virtual
 * address identifies a futex for private and shared futexes alike
 * (FUTEX_PRIVATE_FLAG changes nothing). A MAP_SHARED page mapped twice at
 * two addresses would be two futexes; nothing in wisp maps it so.
 *
 * No lost wake-ups: FUTEX_WAIT reads the word and enqueues itself under
 * the bucket's lock; a waker (who changed the word before calling) wakes
 * under the same lock. The word is read once without the lock first so
 * that demand paging happens outside it.
 *
 * Timeouts: FUTEX_WAIT's is relative (CLOCK_MONOTONIC); FUTEX_WAIT_BITSET's
 * absolute, on CLOCK_MONOTONIC or with FUTEX_CLOCK_REALTIME on
 * CLOCK_REALTIME (converted to a monotonic deadline when the wait starts:
 * a later change of the wall clock does not move it). Waits are
 * interruptible (-EINTR) by the signal code's thread_interrupt.
 *
 * Priority-inheritance operations return ENOSYS (glibc then uses plain
 * futexes for everything but PTHREAD_PRIO_INHERIT mutexes).
 */
#include "linux/futex.h"
#include "linux/syscall.h"
#include "linux/task.h"
#include "sched/sched.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/usercopy.h"
#include "lib/klog.h"
#include "errno.h"

#define FUTEX_WAIT            0
#define FUTEX_WAKE            1
#define FUTEX_FD              2
#define FUTEX_REQUEUE         3
#define FUTEX_CMP_REQUEUE     4
#define FUTEX_WAKE_OP         5
#define FUTEX_LOCK_PI         6
#define FUTEX_UNLOCK_PI       7
#define FUTEX_TRYLOCK_PI      8
#define FUTEX_WAIT_BITSET     9
#define FUTEX_WAKE_BITSET     10
#define FUTEX_WAIT_REQUEUE_PI 11
#define FUTEX_CMP_REQUEUE_PI  12
#define FUTEX_LOCK_PI2        13

#define FUTEX_PRIVATE_FLAG    128
#define FUTEX_CLOCK_REALTIME  256
#define FUTEX_CMD_MASK        (~(FUTEX_PRIVATE_FLAG | FUTEX_CLOCK_REALTIME))

#define FUTEX_BITSET_MATCH_ANY 0xffffffffu

#define FUTEX_WAITERS    0x80000000u
#define FUTEX_OWNER_DIED 0x40000000u
#define FUTEX_TID_MASK   0x3fffffffu

#define NSEC 1000000000ull

#define NBUCKETS 256
static struct wait_queue buckets[NBUCKETS];
static bool buckets_ready;

int __cmpxchg_user32(uint32_t *uaddr, uint32_t old, uint32_t new, uint32_t *cur);

static struct wait_queue *bucket(uint64_t uaddr)
{
	if (!__atomic_load_n(&buckets_ready, __ATOMIC_ACQUIRE)) {
		/* First use happens from the program's first thread, before
		 * any other exists: no race. */
		for (int i = 0; i < NBUCKETS; i++)
			wq_init(&buckets[i]);
		__atomic_store_n(&buckets_ready, true, __ATOMIC_RELEASE);
	}
	uint64_t h = (uaddr >> 2) * 0x9e3779b97f4a7c15ull;
	return &buckets[h >> 56];
}

/* -EINVAL for a misaligned futex word, -EFAULT outside the program. */
static int check_addr(uint64_t uaddr)
{
	if (uaddr & 3)
		return -EINVAL;
	return user_range_ok(uaddr, 4) ? 0 : -EFAULT;
}

static bool bad_addr(uint64_t uaddr)
{
	return check_addr(uaddr) != 0;
}

static int get_word(uint64_t uaddr, uint32_t *v)
{
	return copy_from_user(v, (const void *)uaddr, 4) < 0 ? -EFAULT : 0;
}

/* Locks two buckets in address order (one when they are the same). */
static uint64_t lock2(struct wait_queue *a, struct wait_queue *b)
{
	uint64_t f = irq_save();
	if (a > b) {
		struct wait_queue *t = a;
		a = b;
		b = t;
	}
	spin_lock(&a->lock);
	if (b != a)
		spin_lock(&b->lock);
	return f;
}

static void unlock2(struct wait_queue *a, struct wait_queue *b, uint64_t f)
{
	spin_unlock(&a->lock);
	if (b != a)
		spin_unlock(&b->lock);
	irq_restore(f);
}

/* --- wait ----------------------------------------------------------------- */

static long futex_wait(uint64_t uaddr, uint32_t val, uint64_t deadline, uint32_t bitset)
{
	if (!bitset)
		return -EINVAL;
	uint32_t v;
	if (get_word(uaddr, &v) < 0)          /* faults the page in, unlocked */
		return -EFAULT;
	if (v != val)
		return -EAGAIN;
	struct wait_queue *wq = bucket(uaddr);
	uint64_t f = wq_lock(wq);
	if (get_word(uaddr, &v) < 0) {
		wq_unlock(wq, f);
		return -EFAULT;
	}
	if (v != val) {
		wq_unlock(wq, f);
		return -EAGAIN;
	}
	task_current()->futex_bitset = bitset;
	return wq_wait_locked(wq, f, uaddr, deadline, WQ_INTERRUPTIBLE);
}

/* A timespec from user memory as ns; -EINVAL/-EFAULT. */
static int64_t read_timespec(uint64_t uts)
{
	int64_t ts[2];
	if (copy_from_user(ts, (const void *)uts, sizeof(ts)) < 0)
		return -EFAULT;
	if (ts[0] < 0 || ts[1] < 0 || (uint64_t)ts[1] >= NSEC)
		return -EINVAL;
	if ((uint64_t)ts[0] >= (uint64_t)INT64_MAX / NSEC - 1)
		return INT64_MAX;
	return ts[0] * (int64_t)NSEC + ts[1];
}

/* The monotonic deadline of a wait: timeout relative, or absolute on
 * CLOCK_MONOTONIC / CLOCK_REALTIME. */
static int deadline_of(uint64_t uts, bool absolute, bool realtime, uint64_t *deadline)
{
	*deadline = TIME_FOREVER;
	if (!uts)
		return 0;
	int64_t ns = read_timespec(uts);
	if (ns < 0)
		return (int)ns;
	uint64_t now = clock_monotonic_ns();
	if (!absolute) {
		*deadline = (uint64_t)ns > TIME_FOREVER - now ? TIME_FOREVER : now + (uint64_t)ns;
		return 0;
	}
	if (realtime) {
		/* As a monotonic deadline: the same distance from now. */
		int64_t rt = (int64_t)clock_realtime_ns();
		int64_t d = ns - rt;
		if (d <= 0)
			*deadline = now;
		else
			*deadline = (uint64_t)d > TIME_FOREVER - now ? TIME_FOREVER : now + (uint64_t)d;
		return 0;
	}
	*deadline = (uint64_t)ns;
	return 0;
}

/* --- wake ----------------------------------------------------------------- */

/* Wakes up to n waiters on uaddr whose bitset meets `bitset`. */
static int wake_bitset(uint64_t uaddr, int n, uint32_t bitset)
{
	if (!bitset)
		return -EINVAL;
	struct wait_queue *wq = bucket(uaddr);
	int woken = 0;
	uint64_t f = wq_lock(wq);
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &wq->waiters) {
		if (woken >= n)
			break;
		struct waiter *w = list_entry(pos, struct waiter, node);
		if (w->key != uaddr)
			continue;
		/* A futex waiter is a program thread: its task says which
		 * bits it waits for. */
		struct task *t = w->thread->user;
		if (t && !(t->futex_bitset & bitset))
			continue;
		wq_wake_waiter_locked(w);
		woken++;
	}
	wq_unlock(wq, f);
	return woken;
}

int futex_wake_addr(uint64_t uaddr, int n)
{
	return wake_bitset(uaddr, n, FUTEX_BITSET_MATCH_ANY);
}

/* --- requeue -------------------------------------------------------------- */

static long futex_requeue(uint64_t uaddr, int nwake, int nmove, uint64_t uaddr2,
			  bool cmp, uint32_t val3)
{
	if (nwake < 0 || nmove < 0)
		return -EINVAL;
	int e = check_addr(uaddr2);
	if (e)
		return e;
	uint32_t v;
	if (cmp && get_word(uaddr, &v) < 0)
		return -EFAULT;
	struct wait_queue *from = bucket(uaddr), *to = bucket(uaddr2);
	uint64_t f = lock2(from, to);
	if (cmp) {
		/* Under both locks: a waiter that saw a newer value cannot
		 * slip in and be moved. */
		if (get_word(uaddr, &v) < 0) {
			unlock2(from, to, f);
			return -EFAULT;
		}
		if (v != val3) {
			unlock2(from, to, f);
			return -EAGAIN;
		}
	}
	int r = wq_requeue_locked(from, to, uaddr, uaddr2, nwake, nmove);
	unlock2(from, to, f);
	return r;
}

/* --- wake_op ---------------------------------------------------------------- */

#define FUTEX_OP_SET  0
#define FUTEX_OP_ADD  1
#define FUTEX_OP_OR   2
#define FUTEX_OP_ANDN 3
#define FUTEX_OP_XOR  4
#define FUTEX_OP_OPARG_SHIFT 8

static int sext12(uint32_t x)
{
	return (int)(x << 20) >> 20;
}

/*
 * Applies the operation encoded in val3 to *uaddr2 atomically and wakes
 * nwake waiters on uaddr, plus nwake2 on uaddr2 when the old value of
 * *uaddr2 passes the comparison. The operation is done before the wakes
 * without the bucket locks: like a user-space store followed by
 * FUTEX_WAKE, which the protocol already allows.
 */
static long futex_wake_op(uint64_t uaddr, int nwake, int nwake2, uint64_t uaddr2, uint32_t val3)
{
	int e = check_addr(uaddr2);
	if (e)
		return e;
	unsigned op = (val3 >> 28) & 0xf, cmp = (val3 >> 24) & 0xf;
	int oparg = sext12((val3 >> 12) & 0xfff), cmparg = sext12(val3 & 0xfff);
	if (op & FUTEX_OP_OPARG_SHIFT) {
		if (oparg < 0 || oparg > 31)
			return -EINVAL;
		oparg = 1 << oparg;
		op &= ~FUTEX_OP_OPARG_SHIFT;
	}
	uint32_t old, cur, new;
	if (get_word(uaddr2, &old) < 0)
		return -EFAULT;
	for (int tries = 0;; tries++) {
		switch (op) {
		case FUTEX_OP_SET:  new = (uint32_t)oparg; break;
		case FUTEX_OP_ADD:  new = old + (uint32_t)oparg; break;
		case FUTEX_OP_OR:   new = old | (uint32_t)oparg; break;
		case FUTEX_OP_ANDN: new = old & ~(uint32_t)oparg; break;
		case FUTEX_OP_XOR:  new = old ^ (uint32_t)oparg; break;
		default: return -ENOSYS;
		}
		if (__cmpxchg_user32((uint32_t *)uaddr2, old, new, &cur) < 0)
			return -EFAULT;
		if (cur == old)
			break;
		old = cur;
		if (tries > 1000)
			cond_resched();
	}
	int o = (int)old;
	bool pass;
	switch (cmp) {
	case 0: pass = o == cmparg; break;
	case 1: pass = o != cmparg; break;
	case 2: pass = o < cmparg; break;
	case 3: pass = o <= cmparg; break;
	case 4: pass = o > cmparg; break;
	case 5: pass = o >= cmparg; break;
	default: return -ENOSYS;
	}
	int r = futex_wake_addr(uaddr, nwake);
	if (pass)
		r += futex_wake_addr(uaddr2, nwake2);
	return r;
}

/* --- the system call ---------------------------------------------------------- */

static void pi_once(void)
{
	static bool said;
	if (!said) {
		said = true;
		pr_warn("futex: priority-inheritance operations are not supported: returning ENOSYS");
	}
}

static long sys_futex(uint64_t uaddr, int op, uint32_t val, uint64_t utime,
		      uint64_t uaddr2, uint32_t val3)
{
	int cmd = op & FUTEX_CMD_MASK;
	bool realtime = op & FUTEX_CLOCK_REALTIME;
	if (realtime && cmd != FUTEX_WAIT && cmd != FUTEX_WAIT_BITSET &&
	    cmd != FUTEX_LOCK_PI2 && cmd != FUTEX_WAIT_REQUEUE_PI)
		return -ENOSYS;
	int e = check_addr(uaddr);
	if (e)
		return e;
	uint64_t deadline;
	int r;
	switch (cmd) {
	case FUTEX_WAIT:
		/* Relative; FUTEX_CLOCK_REALTIME changes nothing for a
		 * relative timeout. */
		r = deadline_of(utime, false, false, &deadline);
		return r < 0 ? r : futex_wait(uaddr, val, deadline, FUTEX_BITSET_MATCH_ANY);
	case FUTEX_WAIT_BITSET:
		r = deadline_of(utime, true, realtime, &deadline);
		return r < 0 ? r : futex_wait(uaddr, val, deadline, val3);
	case FUTEX_WAKE:
		return futex_wake_addr(uaddr, (int)MIN(val, (uint32_t)INT32_MAX));
	case FUTEX_WAKE_BITSET:
		return wake_bitset(uaddr, (int)MIN(val, (uint32_t)INT32_MAX), val3);
	case FUTEX_REQUEUE:
		return futex_requeue(uaddr, (int)val, (int)MIN(utime, (uint64_t)INT32_MAX),
				     uaddr2, false, 0);
	case FUTEX_CMP_REQUEUE:
		return futex_requeue(uaddr, (int)val, (int)MIN(utime, (uint64_t)INT32_MAX),
				     uaddr2, true, val3);
	case FUTEX_WAKE_OP:
		return futex_wake_op(uaddr, (int)MIN(val, (uint32_t)INT32_MAX),
				     (int)MIN(utime, (uint64_t)INT32_MAX), uaddr2, val3);
	case FUTEX_LOCK_PI: case FUTEX_UNLOCK_PI: case FUTEX_TRYLOCK_PI:
	case FUTEX_WAIT_REQUEUE_PI: case FUTEX_CMP_REQUEUE_PI: case FUTEX_LOCK_PI2:
		pi_once();
		return -ENOSYS;
	default:
		return -ENOSYS;
	}
}
SYSCALL(202, futex, sys_futex, "pdxpxx");

/* --- robust futexes ------------------------------------------------------------- */

/* struct robust_list_head in user memory. */
struct robust_head {
	uint64_t list;            /* first entry (points back at the head when empty) */
	int64_t futex_offset;     /* from an entry to its futex word */
	uint64_t list_op_pending; /* an entry being added or removed */
};

#define ROBUST_LIST_LIMIT 2048

/* The owner of the futex at uaddr died: mark it and wake a waiter, as
 * Linux does, when it is still ours. */
static void owner_died(uint64_t uaddr, int tid, bool pending)
{
	if (bad_addr(uaddr))
		return;
	uint32_t v, cur;
	for (int tries = 0; tries < 100; tries++) {
		if (get_word(uaddr, &v) < 0)
			return;
		if ((v & FUTEX_TID_MASK) != (uint32_t)tid) {
			/* A pending entry the thread did not own yet may have
			 * waiters that expect a wake-up all the same. */
			if (pending && v == 0)
				futex_wake_addr(uaddr, 1);
			return;
		}
		uint32_t nv = (v & FUTEX_WAITERS) | FUTEX_OWNER_DIED;
		if (__cmpxchg_user32((uint32_t *)uaddr, v, nv, &cur) < 0)
			return;
		if (cur == v) {
			if (v & FUTEX_WAITERS)
				futex_wake_addr(uaddr, 1);
			return;
		}
	}
}

void futex_exit_robust_list(struct task *t)
{
	if (!t->robust_list)
		return;
	struct robust_head h;
	if (copy_from_user(&h, (const void *)t->robust_list, sizeof(h)) < 0)
		return;
	uint64_t pending = h.list_op_pending & ~1ull;
	uint64_t e = h.list;
	for (int i = 0; i < ROBUST_LIST_LIMIT && e != t->robust_list; i++) {
		uint64_t next;
		uint64_t entry = e & ~1ull;      /* bit 0: a PI futex */
		if (copy_from_user(&next, (const void *)entry, sizeof(next)) < 0)
			return;
		if (entry != pending)
			owner_died(entry + (uint64_t)h.futex_offset, t->tid, false);
		e = next;
	}
	if (pending)
		owner_died(pending + (uint64_t)h.futex_offset, t->tid, true);
}

static long sys_set_robust_list(uint64_t head, uint64_t len)
{
	if (len != sizeof(struct robust_head))
		return -EINVAL;
	struct task *t = task_current();
	t->robust_list = head;
	t->robust_len = len;
	return 0;
}
SYSCALL(273, set_robust_list, sys_set_robust_list, "pu");

struct robust_get {
	uint64_t head, len;
};

static void get_robust(struct task *t, void *arg)
{
	struct robust_get *g = arg;
	g->head = t->robust_list;
	g->len = t->robust_len ? t->robust_len : sizeof(struct robust_head);
}

static long sys_get_robust_list(int tid, uint64_t *head, uint64_t *len)
{
	struct robust_get g;
	if (task_with_tid(tid, get_robust, &g) < 0)
		return -ESRCH;
	if (copy_to_user(head, &g.head, 8) < 0 || copy_to_user(len, &g.len, 8) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(274, get_robust_list, sys_get_robust_list, "dpp");
