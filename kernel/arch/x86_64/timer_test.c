/*
 * SELFTEST("timer"): one-shot deadlines fire, never early and not much
 * late (TCG is slow and jittery: +20 ms is the bound), and an idle CPU with
 * nothing armed takes no interrupts at all.
 */
#include "arch/x86_64/timer.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/time.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "lib/string.h"
#include "sched/timer.h"

#define LATE_BOUND_NS 20000000ull

static volatile uint64_t fired_at;
static volatile unsigned fired;

static void on_fire(void)
{
	fired_at = clock_monotonic_ns();
	fired++;
}

/* Halts until the timer fired; returns the number of wake-ups, i.e. of
 * interrupts of any kind this CPU took meanwhile. sti;hlt is atomic (sti
 * takes effect after the next instruction), so no wake-up is lost. */
static unsigned halt_until_fired(unsigned before)
{
	unsigned wakes = 0;
	for (;;) {
		irq_disable();
		if (fired != before)
			break;
		__asm__ volatile("sti; hlt" ::: "memory");
		wakes++;
	}
	irq_enable();
	return wakes;
}

static int check_deadline(uint64_t delay_ns)
{
	unsigned before = fired;
	uint64_t dl = clock_monotonic_ns() + delay_ns;
	timer_arm_ns(dl);
	halt_until_fired(before);
	int64_t late = (int64_t)(fired_at - dl);
	pr_info("timer: %6lu us deadline: fired %ld us late", delay_ns / 1000, late / 1000);
	if (late < 0 || (uint64_t)late > LATE_BOUND_NS) {
		pr_err("timer: %lu ns deadline fired %ld ns from it", delay_ns, late);
		return 1;
	}
	return 0;
}

static int timer_selftest(void)
{
	int bad = 0;
	timer_set_callback(on_fire);
	irq_enable();
	static const uint64_t delays[] = { 1000000, 5000000, 20000000, 100000 };
	for (unsigned i = 0; i < ARRAY_SIZE(delays); i++)
		bad += check_deadline(delays[i]);

	/* A deadline already past fires at once. */
	bad += check_deadline(0);

	/* Re-arming replaces: a 30 ms deadline moved to 2 ms fires once, at 2 ms. */
	unsigned before = fired;
	timer_arm_ns(clock_monotonic_ns() + 30000000);
	uint64_t dl = clock_monotonic_ns() + 2000000;
	timer_arm_ns(dl);
	halt_until_fired(before);
	if (fired_at < dl || fired_at - dl > LATE_BOUND_NS) {
		pr_err("timer: re-armed deadline fired %ld ns from it", (int64_t)(fired_at - dl));
		bad++;
	}

	/* Cancel: nothing fires in the next 10 ms. */
	before = fired;
	uint64_t irqs = timer_irq_count();
	timer_arm_ns(clock_monotonic_ns() + 1000000);
	timer_cancel();
	for (uint64_t end = clock_monotonic_ns() + 10000000; clock_monotonic_ns() < end;)
		cpu_relax();
	if (fired != before || timer_irq_count() != irqs) {
		pr_err("timer: a cancelled deadline fired");
		bad++;
	}

	/* Tickless idle: with the only deadline 50 ms away, the CPU must sleep
	 * through: no periodic tick, no PIT, no stray device interrupt. Every
	 * wake-up from hlt is an interrupt, so count them: one, the timer's
	 * (two in one-shot mode if calibration made it early and it re-armed). */
	before = fired;
	irqs = timer_irq_count();
	dl = clock_monotonic_ns() + 50000000;
	timer_arm_ns(dl);
	unsigned wakes = halt_until_fired(before);
	unsigned timer_irqs = (unsigned)(timer_irq_count() - irqs);
	pr_info("timer: idle 50 ms: %u wake-up(s), %u timer interrupt(s), fired %ld us late",
		wakes, timer_irqs, (int64_t)(fired_at - dl) / 1000);
	unsigned max_timer = strcmp(timer_mode(), "tsc-deadline") ? 2 : 1;
	if (wakes != timer_irqs || timer_irqs < 1 || timer_irqs > max_timer ||
	    fired - before != 1) {
		pr_err("timer: idle CPU: %u wake-ups, %u timer interrupts, %u callbacks in 50 ms",
		       wakes, timer_irqs, fired - before);
		bad++;
	}
	if (timer_apic_khz())
		pr_info("timer: APIC timer runs at %lu kHz (measured against the TSC)",
			timer_apic_khz());
	sched_timer_resume();   /* the scheduler's timer again */
	return bad;
}
SELFTEST("timer", timer_selftest);
