/*
 * What the scheduler needs from the interrupt hardware (local APIC timer,
 * IPIs), in one place. hw.c maps these onto the APIC driver's interface;
 * until that is there, everything here reports "absent" and the scheduler
 * runs cooperatively on one CPU, polling its timers from the idle loop.
 */
#pragma once

bool hw_timer_present(void);
/* One-shot: interrupt (→ timer_interrupt) at absolute monotonic time
 * deadline; 0 disarms. This CPU only. */
void hw_timer_arm(uint64_t deadline);
bool hw_ipi_present(void);
void hw_send_ipi(unsigned cpu, uint8_t vector);
/* End of interrupt for the local APIC. */
void hw_eoi(void);
/* Registers the scheduler's handlers (timer, IPIs) with the hardware. */
void hw_init(void);
/* (Re-)registers the scheduler's timer callback. */
void hw_init_callback(void);

void timer_interrupt(void);
