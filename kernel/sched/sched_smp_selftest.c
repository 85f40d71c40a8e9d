/*
 * Multi-CPU self-tests (selftest=sched_smp) and the scheduler benchmark
 * (selftest=sched_bench: context switch, cross-CPU wake-up, FPU costs,
 * timer interrupts on idle CPUs; figures printed with pr_warn).
 */
#include "sched/sched.h"
#include "sched/sync.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/kvmap.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/trap.h"
#include "mm/page_alloc.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "errno.h"

#define FAIL(...) do { pr_err(__VA_ARGS__); return 1; } while (0)
#define MS 1000000ull

int sched_test_prodcons(unsigned nprod, unsigned items, uint64_t mask_p, uint64_t mask_c);

static uint64_t deadline_in(uint64_t ns) { return clock_monotonic_ns() + ns; }

/* --- pinned threads stay where they are pinned -------------------------------- */

static volatile bool pin_bad;
static void pinned(void *arg)
{
	unsigned want = (unsigned)(uintptr_t)arg;
	for (int i = 0; i < 50; i++) {
		if (cpu_id() != want)
			pin_bad = true;
		if (i & 1)
			thread_yield();
		else
			thread_sleep_ns(100000);
	}
}

/* --- ping-pong: a turn variable and a wait queue per pair ---------------------- */

struct pingpong {
	struct wait_queue wq;
	volatile unsigned turn;     /* 0: ping's, 1: pong's */
	unsigned rounds;
	volatile int failed;        /* a wait that timed out: a lost wake-up */
};

static void pp_side(struct pingpong *p, unsigned me)
{
	for (unsigned i = 0; i < p->rounds; i++) {
		uint64_t f = wq_lock(&p->wq);
		while (p->turn != me) {
			int r = wq_wait_locked(&p->wq, f, 0, deadline_in(5000 * MS), 0);
			f = wq_lock(&p->wq);
			if (r == -ETIMEDOUT && p->turn != me) {
				p->failed = 1;
				wq_unlock(&p->wq, f);
				return;
			}
		}
		p->turn = !me;
		wq_wake_locked(&p->wq, 1);
		wq_unlock(&p->wq, f);
	}
}

static void pong_fn(void *arg)
{
	pp_side(arg, 1);
}

static void ping_fn(void *arg)
{
	pp_side(arg, 0);
}

/* Runs a ping-pong between CPUs a and b; returns ns per round trip or 0. */
static uint64_t pingpong(unsigned a, unsigned b, unsigned rounds, unsigned flags, int *failed)
{
	struct pingpong p;
	wq_init(&p.wq);
	p.turn = 0;
	p.rounds = rounds;
	p.failed = 0;
	struct thread_attr aa = { .affinity = 1ull << a, .cpu = (int)a, .flags = flags };
	struct thread_attr ab = { .affinity = 1ull << b, .cpu = (int)b, .flags = flags };
	uint64_t t0 = clock_monotonic_ns();
	struct thread *x = thread_create_attr(ping_fn, &p, "ping", &aa);
	struct thread *y = thread_create_attr(pong_fn, &p, "pong", &ab);
	thread_join(x);
	thread_join(y);
	uint64_t dt = clock_monotonic_ns() - t0;
	*failed = p.failed;
	return dt / rounds;
}

/* --- TLB shoot-down ------------------------------------------------------------- */

static uint64_t tlb_va;
static volatile unsigned tlb_seen[MAX_CPUS];

static void read_tlb_page(void *arg)
{
	(void)arg;
	tlb_seen[cpu_id()] = *(volatile unsigned *)tlb_va;
}

static int test_tlb(void)
{
	uint64_t p1 = page_alloc(0), p2 = page_alloc(0);
	tlb_va = kva_reserve(PAGE_SIZE);
	if (!p1 || !p2 || !tlb_va)
		FAIL("tlb: no memory");
	*(volatile unsigned *)phys_to_virt(p1) = 1111;
	*(volatile unsigned *)phys_to_virt(p2) = 2222;
	kvmap_map(tlb_va, p1);
	smp_call_mask(sched_online_mask(), read_tlb_page, NULL);   /* fills every TLB */
	for (unsigned c = 0; c < MAX_CPUS; c++)
		if ((sched_online_mask() >> c & 1) && tlb_seen[c] != 1111)
			FAIL("tlb: cpu %u read %u before the change", c, tlb_seen[c]);
	kvmap_unmap(tlb_va);
	kvmap_map(tlb_va, p2);
	tlb_shootdown(tlb_va, tlb_va + PAGE_SIZE);
	smp_call_mask(sched_online_mask(), read_tlb_page, NULL);
	for (unsigned c = 0; c < MAX_CPUS; c++)
		if ((sched_online_mask() >> c & 1) && tlb_seen[c] != 2222)
			FAIL("tlb: cpu %u still reads the old page (%u)", c, tlb_seen[c]);
	kvmap_unmap(tlb_va);
	tlb_shootdown(tlb_va, tlb_va + PAGE_SIZE);
	page_free(p1, 0);
	page_free(p2, 0);
	return 0;
}

/* --- work spreads: threads started on one CPU run on all ----------------------- */

static volatile uint64_t ran_on;
static void busy_fn(void *arg)
{
	(void)arg;
	uint64_t end = clock_monotonic_ns() + 20 * MS;
	while (clock_monotonic_ns() < end) {
		__atomic_or_fetch(&ran_on, 1ull << cpu_id(), __ATOMIC_RELAXED);
		cpu_relax();
	}
}

/* --- affinity changes move a running thread ----------------------------------- */

static volatile unsigned mover_cpu;
static volatile bool mover_stop;
static void mover(void *arg)
{
	(void)arg;
	while (!mover_stop) {
		mover_cpu = cpu_id();
		thread_yield();
	}
}

static int test_sched_smp(void)
{
	if (!smp_wait_online(10000 * MS))
		FAIL("sched_smp: only %u of %u CPUs came online", sched_cpus_online(),
		     smp_cpus_expected());
	unsigned n = sched_cpus_online();
	pr_info("sched_smp: %u CPUs online (all up %lu us after smp_init)", n,
		smp_bringup_ns() / 1000);
	pr_warn("sched_smp: %u CPUs online", n);
	if (n < 2)
		return 0;

	/* pinning */
	pin_bad = false;
	struct thread *t[4 * MAX_CPUS];
	for (unsigned c = 0; c < n; c++) {
		struct thread_attr a = { .affinity = 1ull << c, .cpu = -1 };
		t[c] = thread_create_attr(pinned, (void *)(uintptr_t)c, "pinned", &a);
	}
	for (unsigned c = 0; c < n; c++)
		thread_join(t[c]);
	if (pin_bad)
		FAIL("sched_smp: a pinned thread ran elsewhere");

	/* affinity change moves a thread */
	mover_stop = false;
	struct thread_attr a0 = { .affinity = 1, .cpu = 0, .flags = TF_PREEMPT };
	struct thread *m = thread_create_attr(mover, NULL, "mover", &a0);
	for (unsigned c = 0; c < n; c++) {
		thread_set_affinity(m, 1ull << c);
		uint64_t end = deadline_in(2000 * MS);
		thread_sleep_ns(2 * MS);
		while (mover_cpu != c && clock_monotonic_ns() < end)
			thread_sleep_ns(1 * MS);
		if (mover_cpu != c) {
			mover_stop = true;
			thread_join(m);
			FAIL("sched_smp: thread did not move to cpu %u (on %u)", c, mover_cpu);
		}
	}
	mover_stop = true;
	thread_join(m);

	/* producers on the first CPU, consumers on the last */
	if (sched_test_prodcons(2, 3000, 1, 1ull << (n - 1)))
		return 1;
	/* and unpinned, all over */
	if (sched_test_prodcons(4, 2000, 0, 0))
		return 1;

	/* no lost wake-ups: pairs ping-ponging across CPUs, every wait bounded */
	unsigned pairs = n;
	struct pingpong pp[MAX_CPUS];
	for (unsigned i = 0; i < pairs; i++) {
		wq_init(&pp[i].wq);
		pp[i].turn = 0;
		pp[i].rounds = 2000;
		pp[i].failed = 0;
		struct thread_attr x = { .affinity = 1ull << i, .cpu = (int)i };
		struct thread_attr y = { .affinity = 1ull << ((i + 1) % n), .cpu = (int)((i + 1) % n) };
		t[2 * i] = thread_create_attr(ping_fn, &pp[i], "ping", &x);
		t[2 * i + 1] = thread_create_attr(pong_fn, &pp[i], "pong", &y);
	}
	for (unsigned i = 0; i < 2 * pairs; i++)
		thread_join(t[i]);
	for (unsigned i = 0; i < pairs; i++)
		if (pp[i].failed)
			FAIL("sched_smp: pair %u lost a wake-up (5 s without one)", i);
	/* the same, unpinned: threads migrate while they wake each other */
	for (unsigned i = 0; i < pairs; i++) {
		pp[i].turn = 0;
		pp[i].rounds = 1000;
		t[2 * i] = thread_create(ping_fn, &pp[i], "ping");
		t[2 * i + 1] = thread_create(pong_fn, &pp[i], "pong");
	}
	for (unsigned i = 0; i < 2 * pairs; i++)
		thread_join(t[i]);
	for (unsigned i = 0; i < pairs; i++)
		if (pp[i].failed)
			FAIL("sched_smp: unpinned pair %u lost a wake-up", i);

	/* load spreads: 2n busy threads all created on CPU 0 */
	ran_on = 0;
	for (unsigned i = 0; i < 2 * n; i++) {
		struct thread_attr a = { .cpu = 0, .flags = TF_PREEMPT };
		t[i] = thread_create_attr(busy_fn, NULL, "busy", &a);
	}
	for (unsigned i = 0; i < 2 * n; i++)
		thread_join(t[i]);
	unsigned used = 0;
	for (uint64_t m = ran_on; m; m &= m - 1)
		used++;
	if (used < 2)
		FAIL("sched_smp: busy threads ran only on cpus %#lx", ran_on);

	if (test_tlb())
		return 1;
	return 0;
}
SELFTEST("sched_smp", test_sched_smp);

/* --- benchmark ------------------------------------------------------------------- */

static bool nm_handler(struct trap_frame *tf, uint64_t cr2)
{
	(void)tf, (void)cr2;
	__asm__ volatile("clts");
	return true;
}

static int sched_bench(void)
{
	smp_wait_online(10000 * MS);
	unsigned n = sched_cpus_online(), me = cpu_id();
	int failed;
	const unsigned rounds = 3000;
	/* same CPU: two threads pinned to one CPU, each round trip is two switches */
	uint64_t same = pingpong(me, me, rounds, 0, &failed);
	if (failed)
		FAIL("sched_bench: lost wake-up");
	uint64_t same_fpu = pingpong(me, me, rounds, TF_FPU, &failed);
	pr_warn("sched_bench: same-CPU switch %lu ns (%lu ns with FPU state), via a wait queue",
		same / 2, same_fpu / 2);
	if (n >= 2) {
		unsigned other = me == 0 ? 1 : 0;
		uint64_t cross = pingpong(me, other, rounds, 0, &failed);
		if (failed)
			FAIL("sched_bench: lost wake-up across CPUs");
		pr_warn("sched_bench: cross-CPU wake-up %lu ns (round trip %lu ns)", cross / 2, cross);
	}

	/* FPU: the eager cost (save + restore per switch) against the lazy
	 * alternative's trap (#NM on first use after a switch). */
	thread_use_fpu();
	void *area = thread_current()->fpu_state;
	uint64_t f = irq_save();
	uint64_t t0 = rdtsc();
	for (int i = 0; i < 1000; i++) {
		fpu_save(area);
		fpu_restore(area);
	}
	uint64_t eager = tsc_to_ns(rdtsc() - t0) / 1000;
	uint64_t lazy = 0;
	if (!fpu_ring0_emulated()) {    /* no SSE in emulated ring 0 */
		trap_set_fault_handler(TRAP_NM, nm_handler);
		t0 = rdtsc();
		for (int i = 0; i < 1000; i++) {
			write_cr0(read_cr0() | (1ul << 3));     /* TS */
			uint64_t v;
			__asm__ volatile("movq %%xmm0, %0" : "=r"(v));
		}
		lazy = tsc_to_ns(rdtsc() - t0) / 1000;
		trap_set_fault_handler(TRAP_NM, NULL);
	}
	irq_restore(f);
	pr_warn("sched_bench: fpu save+restore %lu ns (%s, %zu bytes); #NM trap + clts %lu ns",
		eager, fpu_xcr0() ? "xsaveopt/xrstor" : "fxsave/fxrstor", fpu_area_size(), lazy);

	/* idle CPUs take no timer interrupts (stay on one CPU to tell) */
	me = cpu_id();
	thread_set_affinity(thread_current(), 1ull << me);
	thread_sleep_ns(20 * MS);   /* a spent slice may still fire once (within 10 ms) */
	uint64_t before[MAX_CPUS];
	for (unsigned c = 0; c < n; c++)
		before[c] = timer_interrupts(c);
	uint64_t s0 = sched_switches(me);
	thread_sleep_ns(1000 * MS);
	uint64_t idle_irqs = 0;
	for (unsigned c = 0; c < n; c++)
		if (c != me)
			idle_irqs += timer_interrupts(c) - before[c];
	pr_warn("sched_bench: idle CPUs: %lu timer interrupts/s over %u CPUs; "
		"this CPU: %lu (its own sleep), %lu switches",
		idle_irqs, n - 1, timer_interrupts(me) - before[me], sched_switches(me) - s0);
	thread_set_affinity(thread_current(), CPUMASK_ALL);
	return 0;
}
SELFTEST("sched_bench", sched_bench);
