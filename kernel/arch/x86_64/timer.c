/*
 * One-shot timer on the local APIC.
 *
 * The deadline is kept per CPU as a TSC value. In TSC-deadline mode the
 * hardware compares against the TSC itself; in one-shot mode we convert
 * the remaining time into APIC timer counts, rounding up, and clamp very
 * long waits to the 32-bit counter. Either way the interrupt handler
 * checks the TSC and re-arms when it is early (a clamp, or rounding in
 * the count calibration), so the callback never runs before its deadline.
 */
#include "arch/x86_64/timer.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/trap.h"
#include "lib/klog.h"
#include "sched/spinlock.h"

#define MSR_TSC_DEADLINE 0x6E0

static bool tsc_deadline;
static uint64_t apic_per_ns_32;      /* APIC timer counts per ns, 32.32 (one-shot mode) */
static void (*callback)(void);

static struct {
	uint64_t deadline_tsc;           /* 0: not armed */
	uint64_t irqs;
	bool lvt_ready;                  /* one-shot LVT unmasked on this CPU */
} __aligned(64) cpu_timer[MAX_CPUS];

/* One-shot mode: the APIC timer's rate is measured against the TSC from
 * timer_init() to the first arming, a window that costs the boot nothing. */
static struct {
	spinlock_t lock;
	bool running, done;
	unsigned cpu;
	uint64_t tsc0;
	uint32_t count0;
} cal;
static uint64_t apic_khz;

const char *timer_mode(void)
{
	return tsc_deadline ? "tsc-deadline" : "apic-oneshot";
}

uint64_t timer_apic_khz(void)
{
	return __atomic_load_n(&cal.done, __ATOMIC_ACQUIRE) ? apic_khz : 0;
}

uint64_t timer_irq_count(void)
{
	return READ_ONCE(cpu_timer[cpu_id()].irqs);
}

void timer_set_callback(void (*fn)(void))
{
	WRITE_ONCE(callback, fn);
}

/* One (TSC, APIC count) point: the narrowest of three TSC brackets around
 * reading the count, so a slow access (under TCG: code being translated,
 * a host hiccup) does not skew the measurement. */
static void cal_sample(uint64_t *tsc, uint32_t *count)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 3; i++) {
		uint64_t a = rdtsc();
		uint32_t c = lapic_read(LAPIC_TIMER_CUR);
		uint64_t b = rdtsc();
		if (b - a < best) {
			best = b - a;
			*tsc = a + (b - a) / 2;
			*count = c;
		}
	}
}

static void cal_start(void)
{
	lapic_write(LAPIC_TIMER_DIV, 0xB);   /* divide by 1 */
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | LVT_TIMER_ONESHOT | VEC_LAPIC_TIMER);
	cpu_timer[cpu_id()].lvt_ready = false;
	lapic_write(LAPIC_TIMER_INIT, 0xFFFFFFFF);
	cal_sample(&cal.tsc0, &cal.count0);
	cal.cpu = cpu_id();
	cal.running = true;
}

/* Ends the measurement this CPU started, at least 200 us after its start.
 * False when the counter ran out (more than 2^32 counts: seconds). */
static bool cal_finish(void)
{
	while (rdtsc() - cal.tsc0 < tsc_khz / 5)
		cpu_relax();
	uint64_t t1;
	uint32_t left;
	cal_sample(&t1, &left);
	lapic_write(LAPIC_TIMER_INIT, 0);
	cal.running = false;
	uint64_t counts = cal.count0 - left, ns = tsc_to_ns(t1 - cal.tsc0);
	if (!left || !counts || !ns || left > cal.count0)
		return false;
	apic_per_ns_32 = (counts << 32) / ns;   /* counts < 2^32: no overflow */
	apic_khz = counts * 1000000 / ns;
	return true;
}

/* Interrupts are off. */
static void ensure_calibrated(void)
{
	spin_lock(&cal.lock);
	if (!cal.done) {
		/* Another CPU got here first, or the window ran out: measure now. */
		if (!cal.running || cal.cpu != cpu_id() || !cal_finish()) {
			cal_start();
			if (!cal_finish())
				panic("timer: the APIC timer does not count");
		}
		__atomic_store_n(&cal.done, true, __ATOMIC_RELEASE);
	}
	spin_unlock(&cal.lock);
}

/* Programs the hardware for dl (TSC); interrupts are off. */
static void program(uint64_t dl)
{
	if (tsc_deadline) {
		wrmsr(MSR_TSC_DEADLINE, dl);   /* a past value fires at once */
		return;
	}
	if (unlikely(!__atomic_load_n(&cal.done, __ATOMIC_ACQUIRE)))
		ensure_calibrated();
	unsigned c = cpu_id();
	if (unlikely(!cpu_timer[c].lvt_ready)) {
		lapic_write(LAPIC_TIMER_DIV, 0xB);
		lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_ONESHOT | VEC_LAPIC_TIMER);
		cpu_timer[c].lvt_ready = true;
	}
	uint64_t now = rdtsc(), count = 1;
	if (dl > now) {
		/* Rounded up, plus 1/1024 against calibration error: late by
		 * a hair beats an early interrupt and a re-arm. Beyond ~18
		 * minutes the counter's maximum will do (the handler re-arms). */
		uint64_t ns = tsc_to_ns(dl - now);
		unsigned __int128 c = (unsigned __int128)(ns + (ns >> 10)) * apic_per_ns_32;
		count = ns >> 40 ? UINT64_MAX : (uint64_t)(c >> 32) + 1;
	}
	lapic_write(LAPIC_TIMER_INIT, count > 0xFFFFFFFF ? 0xFFFFFFFF : (uint32_t)count);
}

void timer_arm_ns(uint64_t deadline_ns)
{
	uint64_t dl = monotonic_ns_to_tsc(deadline_ns);
	uint64_t f = irq_save();
	cpu_timer[cpu_id()].deadline_tsc = dl ? dl : 1;
	program(dl ? dl : 1);
	irq_restore(f);
}

void timer_cancel(void)
{
	uint64_t f = irq_save();
	cpu_timer[cpu_id()].deadline_tsc = 0;
	if (tsc_deadline)
		wrmsr(MSR_TSC_DEADLINE, 0);
	else if (__atomic_load_n(&cal.done, __ATOMIC_ACQUIRE))
		lapic_write(LAPIC_TIMER_INIT, 0);   /* (before that, nothing was armed) */
	irq_restore(f);
}

static void timer_irq(struct trap_frame *tf, void *arg)
{
	(void)tf, (void)arg;
	typeof(cpu_timer[0]) *t = &cpu_timer[cpu_id()];
	t->irqs++;
	lapic_eoi();
	uint64_t dl = t->deadline_tsc;
	if (!dl)
		return;                  /* cancelled after it fired */
	if (rdtsc() < dl) {
		program(dl);             /* early: clamp or rounding */
		return;
	}
	t->deadline_tsc = 0;
	void (*fn)(void) = READ_ONCE(callback);
	if (fn)
		fn();
}

void timer_init_ap(void)
{
	if (tsc_deadline) {
		lapic_write(LAPIC_LVT_TIMER, LVT_TIMER_TSC_DEADLINE | VEC_LAPIC_TIMER);
		/* The SDM asks for a fence so the LVT write lands before the
		 * first (non-serializing) deadline MSR write. */
		__asm__ volatile("mfence" ::: "memory");
	}
	/* One-shot mode: program() unmasks the LVT at the first arming. */
}

void timer_init(void)
{
	uint32_t a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	tsc_deadline = (c >> 24) & 1;
	trap_set_handler(VEC_LAPIC_TIMER, timer_irq, NULL);
	if (!tsc_deadline)
		cal_start();
	timer_init_ap();
	pr_info("timer: %s, tickless", tsc_deadline ? "TSC-deadline" :
		"APIC one-shot (rate measured against the TSC until first use)");
}
