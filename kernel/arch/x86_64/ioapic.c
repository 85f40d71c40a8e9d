/*
 * IOAPIC driver (82093AA datasheet): two MMIO registers, an index (IOREGSEL)
 * and a window (IOWIN), in front of the version register and one 64-bit
 * redirection entry per pin. Destination: physical APIC id (8 bits; x2APIC
 * ids above 255 would need interrupt remapping, which we do not do).
 */
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/mmio.h"
#include "drivers/acpi/acpi.h"
#include "lib/klog.h"
#include "sched/spinlock.h"

#define IOREGSEL 0x00
#define IOWIN    0x10
#define REG_VER  0x01
#define REG_REDIR(pin) (0x10 + 2 * (pin))

#define RTE_ACTIVE_LOW (1u << 13)
#define RTE_LEVEL      (1u << 15)
#define RTE_MASKED     (1u << 16)

static struct ioapic {
	volatile void *mmio;
	uint32_t gsi_base, pins;
} ioapics[ACPI_MAX_IOAPICS];
static unsigned nioapics;
static spinlock_t lock = SPINLOCK_INIT;

static uint32_t reg_read(struct ioapic *io, uint32_t reg)
{
	mmio_write32(io->mmio, IOREGSEL, reg);
	return mmio_read32(io->mmio, IOWIN);
}

static void reg_write(struct ioapic *io, uint32_t reg, uint32_t v)
{
	mmio_write32(io->mmio, IOREGSEL, reg);
	mmio_write32(io->mmio, IOWIN, v);
}

static struct ioapic *find(uint32_t gsi, uint32_t *pin)
{
	for (unsigned i = 0; i < nioapics; i++) {
		struct ioapic *io = &ioapics[i];
		if (gsi >= io->gsi_base && gsi < io->gsi_base + io->pins) {
			*pin = gsi - io->gsi_base;
			return io;
		}
	}
	return NULL;
}

void ioapic_init(void)
{
	for (unsigned i = 0; i < acpi_ioapic_count; i++) {
		const struct acpi_ioapic_info *a = &acpi_ioapic[i];
		struct ioapic *io = &ioapics[nioapics];
		io->mmio = mmio_map(a->addr, PAGE_SIZE);
		if (!io->mmio) {
			pr_warn("ioapic: %#x is outside the direct map; ignored", a->addr);
			continue;
		}
		uint32_t ver = reg_read(io, REG_VER);
		if (ver == 0xFFFFFFFF) {
			pr_warn("ioapic: nothing answers at %#x; ignored", a->addr);
			continue;
		}
		io->gsi_base = a->gsi_base;
		io->pins = ((ver >> 16) & 0xFF) + 1;
		/* The low half holds the mask bit; routing rewrites the high. */
		for (uint32_t pin = 0; pin < io->pins; pin++)
			reg_write(io, REG_REDIR(pin), RTE_MASKED);
		nioapics++;
		pr_info("ioapic: %#x, GSIs %u-%u, all masked", a->addr, io->gsi_base,
			io->gsi_base + io->pins - 1);
	}
	if (!nioapics)
		pr_warn("ioapic: none usable: device interrupts will not be delivered");
}

uint32_t ioapic_irq_to_gsi(unsigned irq)
{
	return irq < 16 ? acpi_isa_irq_route(irq).gsi : irq;
}

int ioapic_route_gsi(uint32_t gsi, uint8_t vector, uint32_t apic_id,
		     bool active_low, bool level)
{
	uint32_t pin;
	struct ioapic *io = find(gsi, &pin);
	if (!io || apic_id > 255) {
		pr_warn("ioapic: cannot route GSI %u to APIC id %u", gsi, apic_id);
		return -1;
	}
	uint32_t lo = vector | (active_low ? RTE_ACTIVE_LOW : 0) | (level ? RTE_LEVEL : 0);
	uint64_t f = spin_lock_irqsave(&lock);
	/* Masked while the two halves disagree. */
	reg_write(io, REG_REDIR(pin), RTE_MASKED);
	reg_write(io, REG_REDIR(pin) + 1, apic_id << 24);
	reg_write(io, REG_REDIR(pin), lo);
	spin_unlock_irqrestore(&lock, f);
	return (int)gsi;
}

int ioapic_route_irq(unsigned irq, uint8_t vector)
{
	if (irq < 16) {
		struct acpi_irq_route r = acpi_isa_irq_route(irq);
		return ioapic_route_gsi(r.gsi, vector, lapic_id(), r.active_low, r.level);
	}
	return ioapic_route_gsi(irq, vector, lapic_id(), true, true);
}

static void set_mask(unsigned irq, bool masked)
{
	uint32_t pin;
	struct ioapic *io = find(ioapic_irq_to_gsi(irq), &pin);
	if (!io)
		return;
	uint64_t f = spin_lock_irqsave(&lock);
	uint32_t lo = reg_read(io, REG_REDIR(pin));
	reg_write(io, REG_REDIR(pin), masked ? lo | RTE_MASKED : lo & ~RTE_MASKED);
	spin_unlock_irqrestore(&lock, f);
}

void ioapic_mask(unsigned irq)
{
	set_mask(irq, true);
}

void ioapic_unmask(unsigned irq)
{
	set_mask(irq, false);
}
