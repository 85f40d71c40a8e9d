/*
 * The one-shot event timer of this CPU, on the local APIC: TSC-deadline
 * mode when the CPU has it, else the APIC's own count-down (one-shot mode)
 * calibrated against the TSC at boot. Tickless: nothing fires unless
 * armed, and each arming fires at most once.
 */
#pragma once

/* After lapic_init() and time_init(). */
void timer_init(void);
/* Each application processor, after lapic_init_ap(). */
void timer_init_ap(void);
/* Called in interrupt context (interrupts off, EOI already sent) when an
 * armed deadline has passed on this CPU. Never before the deadline. */
void timer_set_callback(void (*fn)(void));
/* Arms this CPU's timer for a clock_monotonic_ns() deadline, replacing any
 * deadline armed before. A deadline in the past fires at once. */
void timer_arm_ns(uint64_t deadline_monotonic_ns);
/* Disarms this CPU's timer. */
void timer_cancel(void);
/* "tsc-deadline" or "apic-oneshot". */
const char *timer_mode(void);
/* One-shot mode: the APIC timer rate measured, 0 before the first arming. */
uint64_t timer_apic_khz(void);
/* Timer interrupts this CPU has taken (for idle accounting and tests). */
uint64_t timer_irq_count(void);
