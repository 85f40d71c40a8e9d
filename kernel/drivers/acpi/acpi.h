/*
 * ACPI: what the firmware tables say about this machine. acpi_init() finds
 * the RSDP (from the PVH start info, else by scanning the BIOS areas), walks
 * the RSDT/XSDT and decodes the MADT (CPUs, IOAPICs, ISA IRQ overrides) and
 * the FADT (how to power off). Missing or garbled tables give a warning and
 * the defaults of a plain PC: one CPU, an IOAPIC at 0xFEC00000 with GSI
 * base 0, ISA IRQ n = GSI n, edge, active high.
 */
#pragma once
#include "drivers/acpi/tables.h"

void acpi_init(void);

/* Enabled CPUs, by local APIC id, boot CPU first when the MADT lists it. */
extern unsigned acpi_cpu_count;
extern uint32_t acpi_cpu_apic_id[ACPI_MAX_CPUS];

extern unsigned acpi_ioapic_count;
extern struct acpi_ioapic_info acpi_ioapic[ACPI_MAX_IOAPICS];
/* Local APIC MMIO base the MADT gives (the MSR is what the LAPIC code uses). */
extern uint64_t acpi_lapic_addr;

/* Maps an ISA IRQ (0..15) through the interrupt source overrides. */
struct acpi_irq_route {
	uint32_t gsi;
	bool active_low;
	bool level;
};
struct acpi_irq_route acpi_isa_irq_route(unsigned isa_irq);

/* A validated table by signature ("HPET", "MCFG", ...); n picks the n-th of
 * several (SSDTs). Returns its kernel address and length, or NULL. */
const void *acpi_find_table(const char sig[4], unsigned n, uint32_t *len);

/* How acpi_poweroff() will do it: "pm1" (FADT PM1 control), "sleep-ctl"
 * (HW-reduced sleep control register), or NULL when it cannot. */
const char *acpi_poweroff_method(void);
/* Enters S5. Returns only if that did not stop the machine. */
void acpi_poweroff(void);
