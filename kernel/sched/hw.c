/* The scheduler's view of the interrupt hardware: see hw.h. */
#include "sched/hw.h"
#include "sched/timer.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/timer.h"

static bool present;

bool hw_timer_present(void)
{
	return present;
}

void hw_timer_arm(uint64_t deadline)
{
	if (!present)
		return;
	if (deadline)
		timer_arm_ns(deadline);
	else
		timer_cancel();
}

bool hw_ipi_present(void)
{
	return present;
}

void hw_send_ipi(unsigned cpu, uint8_t vector)
{
	lapic_send_ipi(percpu_area[cpu].apic_id, vector);
}

void hw_eoi(void)
{
	lapic_eoi();
}

void hw_init_callback(void)
{
	timer_set_callback(timer_interrupt);
}

/* Called once the local APIC and its timer are up (main.c order). */
void hw_init(void)
{
	percpu_area[0].apic_id = lapic_id();
	hw_init_callback();
	present = true;
}
