/*
 * Scheduler self-tests: selftest=sched, sync, timer_sleep, fpu, sched_smp.
 * Each is bounded in time (a stuck test fails by its deadline instead of
 * hanging the boot) and sized to run in a few seconds under TCG.
 */
#include "sched/sched.h"
#include "sched/sync.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/time.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "lib/cmdline.h"
#include "lib/string.h"
#include "errno.h"

extern struct cmdline kernel_cmdline;

#define FAIL(...) do { pr_err(__VA_ARGS__); return 1; } while (0)
#define MS 1000000ull

static uint64_t deadline_in(uint64_t ns) { return clock_monotonic_ns() + ns; }

/* --- sched: create/join/detach/yield ------------------------------------------ */

static volatile unsigned counter;

static void count_fn(void *arg)
{
	__atomic_add_fetch(&counter, 1, __ATOMIC_RELAXED);
	if ((uintptr_t)arg & 1)
		thread_yield();
	if ((uintptr_t)arg % 7 == 0)
		thread_exit((long)(uintptr_t)arg * 3);
}

static void yielder(void *arg)
{
	volatile unsigned *n = arg;
	for (int i = 0; i < 200; i++) {
		(*n)++;
		thread_yield();
	}
}

struct spin_arg {
	uint64_t ns, end, cpu_ns;
};
static struct spin_arg spin_args[2];

/* Spins for a->ns of its own CPU time, offering the CPU now and then. */
static void cond_spinner(void *arg)
{
	struct spin_arg *a = arg;
	while (thread_cpu_time_ns(thread_current()) < a->ns)
		cond_resched();
	a->end = clock_monotonic_ns();
	a->cpu_ns = thread_cpu_time_ns(thread_current());
}

static void count_threads(struct thread *t, void *arg)
{
	(void)t;
	(*(unsigned *)arg)++;
}

static int test_sched(void)
{
	/* thousands of threads, created and joined in waves */
	const unsigned total = 3000, wave = 150;
	struct thread *ts[150];
	counter = 0;
	unsigned before = thread_count();
	uint64_t t0 = clock_monotonic_ns();
	for (unsigned base = 0; base < total; base += wave) {
		for (unsigned i = 0; i < wave; i++) {
			ts[i] = thread_create(count_fn, (void *)(uintptr_t)(base + i), "count");
			if (!ts[i])
				FAIL("sched: thread_create failed at %u", base + i);
		}
		for (unsigned i = 0; i < wave; i++) {
			long code = thread_join(ts[i]);
			long want = (base + i) % 7 == 0 ? (long)(base + i) * 3 : 0;
			if (code != want)
				FAIL("sched: thread %u exit code %ld, want %ld", base + i, code, want);
		}
	}
	uint64_t dt = clock_monotonic_ns() - t0;
	if (counter != total)
		FAIL("sched: %u of %u threads ran", counter, total);
	if (thread_count() != before)
		FAIL("sched: %u threads alive after joins, %u before", thread_count(), before);
	pr_info("sched: %u threads created+joined in %lu us (%lu ns each)", total,
		dt / 1000, dt / total);

	/* detached threads free themselves */
	counter = 0;
	for (unsigned i = 0; i < 200; i++) {
		struct thread *t = thread_create(count_fn, (void *)(uintptr_t)(2 * i + 1), "det");
		if (!t)
			FAIL("sched: create detached");
		thread_detach(t);
	}
	uint64_t end = deadline_in(5000 * MS);
	while ((counter < 200 || thread_count() != before) && clock_monotonic_ns() < end)
		thread_sleep_ns(1 * MS);
	if (counter != 200 || thread_count() != before)
		FAIL("sched: detached: %u ran, %u alive (want %u)", counter, thread_count(), before);

	/* cond_resched time-slices kernel threads that cannot be preempted;
	 * CPU time is accounted per thread. (CPU time is wall time while on
	 * the CPU, so a host stall of the vCPU counts: keep the margin wide.) */
	struct thread_attr pin = { .affinity = 1ull << cpu_id(), .cpu = (int)cpu_id() };
	spin_args[0] = (struct spin_arg){ 150 * MS, 0, 0 };
	spin_args[1] = (struct spin_arg){ 5 * MS, 0, 0 };
	struct thread *sa = thread_create_attr(cond_spinner, &spin_args[0], "cr-long", &pin);
	struct thread *sb = thread_create_attr(cond_spinner, &spin_args[1], "cr-short", &pin);
	uint64_t w0 = clock_monotonic_ns();
	thread_join(sb);
	thread_join(sa);
	uint64_t wall = clock_monotonic_ns() - w0;
	if (spin_args[1].end >= spin_args[0].end)
		FAIL("sched: cond_resched: the short spinner finished after the long one");
	if (spin_args[0].cpu_ns < 150 * MS || spin_args[0].cpu_ns > wall)
		FAIL("sched: cpu time %lu us for 150 ms of spinning in %lu us",
		     spin_args[0].cpu_ns / 1000, wall / 1000);
	unsigned seen = 0;
	thread_for_each(count_threads, &seen);
	if (seen != thread_count())
		FAIL("sched: thread_for_each saw %u of %u", seen, thread_count());

	/* yield round-robins among equals (all pinned to this CPU) */
	volatile unsigned n[3] = { 0, 0, 0 };
	struct thread_attr a = { .affinity = 1ull << cpu_id(), .cpu = (int)cpu_id() };
	struct thread *y[3];
	for (int i = 0; i < 3; i++)
		y[i] = thread_create_attr(yielder, (void *)&n[i], "yield", &a);
	for (int i = 0; i < 3; i++)
		thread_join(y[i]);
	if (n[0] != 200 || n[1] != 200 || n[2] != 200)
		FAIL("sched: yielders %u %u %u", n[0], n[1], n[2]);
	return 0;
}
SELFTEST("sched", test_sched);

/* --- sync: mutex, condvar, semaphore, rwlock, completion, wait queues --------- */

static struct mutex mtx = MUTEX_INIT(mtx);
static volatile unsigned long shared;

static void mutex_worker(void *arg)
{
	unsigned iters = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < iters; i++) {
		mutex_lock(&mtx);
		unsigned long v = shared;
		if (i % 4 == 0)
			thread_yield();     /* hold it across a switch */
		shared = v + 1;
		mutex_unlock(&mtx);
	}
}

#define QCAP 8
static struct {
	struct mutex m;
	struct condvar not_empty, not_full;
	unsigned q[QCAP], head, tail, count;
	unsigned long sum_in, sum_out;
} pc;

static void producer(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg;
	for (unsigned i = 1; i <= n; i++) {
		mutex_lock(&pc.m);
		while (pc.count == QCAP)
			cond_wait(&pc.not_full, &pc.m);
		pc.q[pc.tail++ % QCAP] = i;
		pc.count++;
		pc.sum_in += i;
		cond_signal(&pc.not_empty);
		mutex_unlock(&pc.m);
	}
}

static void consumer(void *arg)
{
	unsigned n = (unsigned)(uintptr_t)arg;
	for (unsigned i = 0; i < n; i++) {
		mutex_lock(&pc.m);
		while (pc.count == 0)
			cond_wait(&pc.not_empty, &pc.m);
		pc.sum_out += pc.q[pc.head++ % QCAP];
		pc.count--;
		cond_signal(&pc.not_full);
		mutex_unlock(&pc.m);
	}
}

/* Producers and consumers with the given affinities; checks the sums. */
int sched_test_prodcons(unsigned nprod, unsigned items, uint64_t mask_p, uint64_t mask_c);
int sched_test_prodcons(unsigned nprod, unsigned items, uint64_t mask_p, uint64_t mask_c)
{
	mutex_init(&pc.m);
	cond_init(&pc.not_empty);
	cond_init(&pc.not_full);
	pc.head = pc.tail = pc.count = 0;
	pc.sum_in = pc.sum_out = 0;
	struct thread *t[16];
	struct thread_attr ap = { .affinity = mask_p, .cpu = -1 };
	struct thread_attr ac = { .affinity = mask_c, .cpu = -1 };
	for (unsigned i = 0; i < nprod; i++) {
		t[2 * i] = thread_create_attr(producer, (void *)(uintptr_t)items, "prod", &ap);
		t[2 * i + 1] = thread_create_attr(consumer, (void *)(uintptr_t)items, "cons", &ac);
	}
	for (unsigned i = 0; i < 2 * nprod; i++)
		thread_join(t[i]);
	unsigned long want = (unsigned long)nprod * items * (items + 1) / 2;
	if (pc.sum_in != want || pc.sum_out != want || pc.count)
		FAIL("prodcons: in %lu out %lu want %lu left %u", pc.sum_in, pc.sum_out, want, pc.count);
	return 0;
}

static struct semaphore sem;
static volatile unsigned sem_inside, sem_max;

static void sem_worker(void *arg)
{
	(void)arg;
	for (int i = 0; i < 50; i++) {
		sem_down(&sem);
		unsigned in = __atomic_add_fetch(&sem_inside, 1, __ATOMIC_SEQ_CST);
		unsigned m = sem_max;
		while (in > m && !__atomic_compare_exchange_n(&sem_max, &m, in, false,
							     __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST))
			;
		thread_yield();
		__atomic_sub_fetch(&sem_inside, 1, __ATOMIC_SEQ_CST);
		sem_up(&sem);
	}
}

static struct rwlock rw;
static volatile int rw_readers, rw_writers;
static volatile bool rw_bad;

static void rw_worker(void *arg)
{
	bool writer = (uintptr_t)arg & 1;
	for (int i = 0; i < 40; i++) {
		if (writer) {
			rw_write_lock(&rw);
			if (__atomic_add_fetch(&rw_writers, 1, __ATOMIC_SEQ_CST) != 1 || rw_readers)
				rw_bad = true;
			thread_yield();
			__atomic_sub_fetch(&rw_writers, 1, __ATOMIC_SEQ_CST);
			rw_write_unlock(&rw);
		} else {
			rw_read_lock(&rw);
			__atomic_add_fetch(&rw_readers, 1, __ATOMIC_SEQ_CST);
			if (rw_writers)
				rw_bad = true;
			thread_yield();
			__atomic_sub_fetch(&rw_readers, 1, __ATOMIC_SEQ_CST);
			rw_read_unlock(&rw);
		}
	}
}

static struct completion done;
static void completer(void *arg)
{
	thread_sleep_ns((uint64_t)(uintptr_t)arg);
	complete(&done);
}

static struct wait_queue wq_a, wq_b;
static volatile int intr_result;
static void interruptible_waiter(void *arg)
{
	(void)arg;
	uint64_t f = wq_lock(&wq_a);
	intr_result = wq_wait_locked(&wq_a, f, 0, TIME_FOREVER, WQ_INTERRUPTIBLE);
}

static volatile int keyed_result[4];
static void keyed_waiter(void *arg)
{
	unsigned i = (unsigned)(uintptr_t)arg;
	uint64_t f = wq_lock(&wq_a);
	keyed_result[i] = wq_wait_locked(&wq_a, f, 100 + (i & 1), deadline_in(3000 * MS), 0) == 0 ? 1 : -1;
}

static int test_sync(void)
{
	/* mutex: a counter without lost updates */
	shared = 0;
	struct thread *t[8];
	for (int i = 0; i < 8; i++)
		t[i] = thread_create(mutex_worker, (void *)(uintptr_t)500, "mutex");
	for (int i = 0; i < 8; i++)
		thread_join(t[i]);
	if (shared != 8 * 500)
		FAIL("sync: mutex counter %lu, want %u", shared, 8 * 500);
	if (!mutex_trylock(&mtx) || mutex_trylock(&mtx))
		FAIL("sync: trylock");
	mutex_unlock(&mtx);

	/* condition variables: bounded producer/consumer */
	if (sched_test_prodcons(3, 2000, 0, 0))
		return 1;

	/* semaphore: never more than 3 inside */
	sem_init(&sem, 3);
	sem_inside = sem_max = 0;
	for (int i = 0; i < 8; i++)
		t[i] = thread_create(sem_worker, NULL, "sem");
	for (int i = 0; i < 8; i++)
		thread_join(t[i]);
	if (sem_max > 3 || sem_max == 0 || sem.count != 3)
		FAIL("sync: semaphore max inside %u, count %ld", sem_max, sem.count);
	if (sem_down_timeout(&sem, 0, 0) != 0)
		FAIL("sync: sem_down with units left");
	sem_init(&sem, 0);
	uint64_t t0 = clock_monotonic_ns();
	if (sem_down_timeout(&sem, deadline_in(5 * MS), 0) != -ETIMEDOUT)
		FAIL("sync: sem_down_timeout did not time out");
	if (clock_monotonic_ns() - t0 < 5 * MS)
		FAIL("sync: sem timeout early");

	/* rwlock: readers share, writers exclude */
	rwlock_init(&rw);
	rw_bad = false;
	for (int i = 0; i < 8; i++)
		t[i] = thread_create(rw_worker, (void *)(uintptr_t)(i % 3 == 0), "rw");
	for (int i = 0; i < 8; i++)
		thread_join(t[i]);
	if (rw_bad || rw_readers || rw_writers || rw.readers)
		FAIL("sync: rwlock exclusion broken");

	/* completion: wait, timeout, complete_all */
	completion_init(&done);
	if (wait_for_completion_timeout(&done, deadline_in(2 * MS), 0) != -ETIMEDOUT)
		FAIL("sync: completion timeout");
	struct thread *c = thread_create(completer, (void *)(uintptr_t)(2 * MS), "compl");
	if (wait_for_completion_timeout(&done, deadline_in(5000 * MS), 0) != 0)
		FAIL("sync: completion never came");
	thread_join(c);
	complete_all(&done);
	wait_for_completion(&done);
	wait_for_completion(&done);

	/* interruption */
	wq_init(&wq_a);
	wq_init(&wq_b);
	intr_result = 1;
	c = thread_create(interruptible_waiter, NULL, "intr");
	while (!wq_has_waiters(&wq_a))
		thread_sleep_ns(100000);
	thread_interrupt(c);
	thread_join(c);
	if (intr_result != -EINTR)
		FAIL("sync: interrupted wait returned %d", intr_result);

	/* keys and requeue (what futex needs) */
	for (int i = 0; i < 4; i++)
		keyed_result[i] = 0;
	for (int i = 0; i < 4; i++)
		t[i] = thread_create(keyed_waiter, (void *)(uintptr_t)i, "key");
	uint64_t end = deadline_in(2000 * MS);
	for (;;) {
		uint64_t f = wq_lock(&wq_a);
		unsigned n = 0;
		struct list *p;
		for (p = wq_a.waiters.next; p != &wq_a.waiters; p = p->next)
			n++;
		wq_unlock(&wq_a, f);
		if (n == 4 || clock_monotonic_ns() > end)
			break;
		thread_sleep_ns(100000);
	}
	/* key 100: threads 0 and 2; key 101: 1 and 3 */
	if (wq_wake_key(&wq_a, 100, 1) != 1)
		FAIL("sync: wake_key");
	/* move the other key-100 waiter to wq_b as key 200, wake key 101 */
	if (wq_requeue(&wq_a, &wq_b, 100, 200, 0, 5) != 1)
		FAIL("sync: requeue");
	if (wq_wake_key(&wq_a, 101, 5) != 2)
		FAIL("sync: wake_key 101");
	if (wq_wake_key(&wq_b, 200, 5) != 1)
		FAIL("sync: wake requeued");
	for (int i = 0; i < 4; i++)
		thread_join(t[i]);
	for (int i = 0; i < 4; i++)
		if (keyed_result[i] != 1)
			FAIL("sync: keyed waiter %d result %d", i, keyed_result[i]);
	return 0;
}
SELFTEST("sync", test_sync);

/* --- timer_sleep: accuracy, alone and under load --------------------------------- */

static volatile bool spin_stop;
static void spinner(void *arg)
{
	(void)arg;
	while (!spin_stop)
		cpu_relax();
}

static int sleep_round(const char *what, uint64_t *worst)
{
	static const uint64_t req[] = { 100000, 1 * MS, 3 * MS, 10 * MS };
	*worst = 0;
	thread_sleep_ns(100000);    /* warm-up: first runs of the code paths are slow under TCG */
	thread_sleep_ns(100000);
	for (unsigned i = 0; i < ARRAY_SIZE(req); i++) {
		for (int k = 0; k < 3; k++) {
			uint64_t t0 = clock_monotonic_ns();
			thread_sleep_ns(req[i]);
			uint64_t dt = clock_monotonic_ns() - t0;
			if (dt < req[i])
				FAIL("timer_sleep: %s: slept %lu ns < %lu", what, dt, req[i]);
			if (dt - req[i] > *worst)
				*worst = dt - req[i];
		}
	}
	return 0;
}

static int test_timer_sleep(void)
{
	uint64_t worst_idle, worst_load;
	if (sleep_round("idle", &worst_idle))
		return 1;
	/* load: two CPU hogs per CPU, preemptible */
	spin_stop = false;
	unsigned n = 2 * sched_cpus_online();
	struct thread *t[2 * MAX_CPUS];
	struct thread_attr a = { .flags = TF_PREEMPT, .cpu = -1 };
	for (unsigned i = 0; i < n; i++)
		t[i] = thread_create_attr(spinner, NULL, "hog", &a);
	int r = sleep_round("load", &worst_load);
	spin_stop = true;
	for (unsigned i = 0; i < n; i++)
		thread_join(t[i]);
	if (r)
		return 1;
	pr_warn("timer_sleep: worst oversleep %lu us idle, %lu us with %u hogs (%s timer)",
		worst_idle / 1000, worst_load / 1000, n, timer_hw_present() ? "hw" : "polled");
	/* The sleeper is woken by its timer and preempts the hogs at once
	 * (wake-up preemption). The bound is loose: under TCG a vCPU may not
	 * run for a while when the host has fewer cores than vCPUs. */
	if (timer_hw_present() && worst_load > 250 * MS)
		FAIL("timer_sleep: oversleep %lu us under load", worst_load / 1000);
	return 0;
}
SELFTEST("timer_sleep", test_timer_sleep);

/* --- fpu: per-thread SSE state ------------------------------------------------------ */

static volatile bool fpu_bad;
static void fpu_worker(void *arg)
{
	thread_use_fpu();
	uint64_t v = (uint64_t)(uintptr_t)arg * 0x0101010101010101ull;
	__asm__ volatile("movq %0, %%xmm0; movq %0, %%xmm7" :: "r"(v));
	for (int i = 0; i < 300; i++) {
		thread_yield();
		uint64_t a, b;
		__asm__ volatile("movq %%xmm0, %0; movq %%xmm7, %1" : "=r"(a), "=r"(b));
		if (a != v || b != v)
			fpu_bad = true;
	}
}

static int test_fpu(void)
{
	if (fpu_ring0_emulated()) {
		pr_warn("fpu: skipped: ring 0 is emulated here and cannot run SSE");
		return 0;
	}
	fpu_bad = false;
	struct thread *t[6];
	for (int i = 0; i < 6; i++)
		t[i] = thread_create(fpu_worker, (void *)(uintptr_t)(i + 1), "fpu");
	for (int i = 0; i < 6; i++)
		thread_join(t[i]);
	if (fpu_bad)
		FAIL("fpu: a thread's xmm registers changed across switches");
	return 0;
}
SELFTEST("fpu", test_fpu);

/* --- kstack_guard: a thread that overflows its stack hits the guard page ---- */

static volatile bool stop_recursing;

__attribute__((noinline)) static int recurse(int depth)
{
	volatile char pad[256];
	pad[0] = (char)depth;
	if (stop_recursing)
		return 0;
	return recurse(depth + 1) + pad[0];
}

static void overflow_fn(void *arg)
{
	(void)arg;
	recurse(0);
}

/* Runs only when named (it ends the VM): expect a #DF report, status 134. */
static int test_kstack_guard(void)
{
	const char *list = cmdline_get(&kernel_cmdline, "selftest");
	bool named = false;
	static const char me[] = "kstack_guard";
	for (const char *p = list; p && *p; p++)
		if ((p == list || p[-1] == ',') && !strncmp(p, me, sizeof(me) - 1) &&
		    (p[sizeof(me) - 1] == ',' || p[sizeof(me) - 1] == 0))
			named = true;
	if (!named)
		return 0;
	pr_warn("kstack_guard: a thread recursing into the guard page below its "
		"stack; expect a double-fault report and exit status 134");
	struct thread *t = thread_create(overflow_fn, NULL, "overflow");
	thread_join(t);
	pr_err("kstack_guard: the thread came back");
	return 1;
}
SELFTEST("kstack_guard", test_kstack_guard);
