/*
 * COM1 receive interrupt. The UART raises its IRQ line (ISA IRQ 4, edge,
 * active high unless the MADT overrides it) while its receive FIFO holds
 * data; the handler lets the console drain it (console_rx_poll, which also
 * does the stdin flow control) and EOIs. A byte that lands after the drain
 * raises a new edge, which the local APIC holds pending until the EOI, so
 * nothing is lost.
 */
#include "drivers/serial_irq.h"
#include "drivers/serial.h"
#include "drivers/console.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/trap.h"
#include "lib/klog.h"

static void com1_irq(struct trap_frame *tf, void *arg)
{
	(void)tf, (void)arg;
	console_rx_poll();
	lapic_eoi();
}

void serial_irq_init(void)
{
	uint32_t gsi = ioapic_irq_to_gsi(SERIAL_IRQ);
	if (gsi >= 24) {
		pr_warn("serial: COM1 is on GSI %u, beyond the vectors set aside; input is polled", gsi);
		return;
	}
	uint8_t vec = (uint8_t)(VEC_IRQ_BASE + gsi);
	trap_set_handler(vec, com1_irq, NULL);
	if (ioapic_route_irq(SERIAL_IRQ, vec) < 0)
		return;
	serial_enable_rx_irq();
	/* Bytes that came before the interrupt was on raised no edge we saw. */
	console_rx_poll();
	pr_debug("serial: COM1 IRQ %u -> GSI %u -> vector %u", SERIAL_IRQ, gsi, vec);
}
