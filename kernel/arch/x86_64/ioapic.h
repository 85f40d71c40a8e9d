/*
 * IOAPICs: device interrupt lines (GSIs) to vectors. ISA IRQs 0..15 go
 * through the MADT's interrupt source overrides (e.g. the PIT's IRQ 0 is
 * GSI 2; an SCI may be level/low); GSIs >= 16 are PCI lines, level and
 * active low. The convention is vector = VEC_IRQ_BASE + GSI (trap.h).
 */
#pragma once

/* Maps every IOAPIC the MADT lists and masks all their pins. After
 * acpi_init() and lapic_init(). */
void ioapic_init(void);

/* irq < 16: an ISA IRQ (overrides applied); else a GSI. Routes it to
 * `vector` on the calling CPU, fixed delivery, and unmasks it. Returns the
 * GSI, or -1 when no IOAPIC has that line. */
int ioapic_route_irq(unsigned isa_irq_or_gsi, uint8_t vector);
/* The same with everything explicit. */
int ioapic_route_gsi(uint32_t gsi, uint8_t vector, uint32_t apic_id,
		     bool active_low, bool level);
/* The GSI an ISA IRQ (< 16) or GSI number stands for. */
uint32_t ioapic_irq_to_gsi(unsigned isa_irq_or_gsi);
void ioapic_mask(unsigned isa_irq_or_gsi);
void ioapic_unmask(unsigned isa_irq_or_gsi);
