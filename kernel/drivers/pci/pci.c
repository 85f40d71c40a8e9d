/*
 * PCI configuration space scan (pci.h).
 */
#include "drivers/pci/pci.h"
#include "drivers/acpi/acpi.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/mmio.h"
#include "lib/klog.h"
#include "mm/heap.h"
#include "sched/spinlock.h"

/* ACPI MCFG: the standard 36-byte header, 8 reserved bytes, then one
 * entry per ECAM window. */
struct mcfg_entry {
	uint64_t base;
	uint16_t segment;
	uint8_t bus_start, bus_end;
	uint32_t reserved;
} __packed;

static uint64_t ecam_base;            /* of bus 0 (may lie below the window) */
static unsigned ecam_bus_start, ecam_bus_end;
static bool have_ecam;
static volatile void *ecam_bus_map[256];  /* per bus, mapped on first use */
static spinlock_t cf8_lock = SPINLOCK_INIT;

static struct pci_dev *devices, **devices_tail = &devices;

struct pci_dev *pci_devices(void) { return devices; }

enum chipset { CHIP_UNKNOWN, CHIP_Q35, CHIP_I440FX };
static enum chipset chipset;

static volatile uint8_t *ecam_addr(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	if (!have_ecam || bus < ecam_bus_start || bus > ecam_bus_end)
		return NULL;
	if (!ecam_bus_map[bus]) {
		ecam_bus_map[bus] = mmio_map(ecam_base + ((uint64_t)bus << 20), 1u << 20);
		if (!ecam_bus_map[bus])
			return NULL;
	}
	return (volatile uint8_t *)ecam_bus_map[bus] + (dev << 15 | fn << 12 | off);
}

static uint32_t cfg_read32(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	volatile uint8_t *p = ecam_addr(bus, dev, fn, off & 0xffc);
	if (p)
		return *(volatile uint32_t *)p;
	if (off >= 256)
		return 0xffffffff;
	uint64_t f = spin_lock_irqsave(&cf8_lock);
	outl(0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc));
	uint32_t v = inl(0xcfc);
	spin_unlock_irqrestore(&cf8_lock, f);
	return v;
}

static void cfg_write32(unsigned bus, unsigned dev, unsigned fn, unsigned off, uint32_t v)
{
	volatile uint8_t *p = ecam_addr(bus, dev, fn, off & 0xffc);
	if (p) {
		*(volatile uint32_t *)p = v;
		return;
	}
	if (off >= 256)
		return;
	uint64_t f = spin_lock_irqsave(&cf8_lock);
	outl(0xcf8, 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc));
	outl(0xcfc, v);
	spin_unlock_irqrestore(&cf8_lock, f);
}

uint32_t pci_read32(const struct pci_dev *d, unsigned off)
{
	return cfg_read32(d->bus, d->dev, d->fn, off);
}

uint16_t pci_read16(const struct pci_dev *d, unsigned off)
{
	return (uint16_t)(pci_read32(d, off & ~3u) >> ((off & 2) * 8));
}

uint8_t pci_read8(const struct pci_dev *d, unsigned off)
{
	return (uint8_t)(pci_read32(d, off & ~3u) >> ((off & 3) * 8));
}

void pci_write32(const struct pci_dev *d, unsigned off, uint32_t v)
{
	cfg_write32(d->bus, d->dev, d->fn, off, v);
}

/* Read-modify-write of the dword: fine for the registers we touch
 * (command; no write-1-to-clear bits in the other half are set by us:
 * the status half is written back with zeros in its RW1C bits). */
void pci_write16(const struct pci_dev *d, unsigned off, uint16_t v)
{
	uint32_t old = pci_read32(d, off & ~3u);
	unsigned sh = (off & 2) * 8;
	if ((off & ~3u) == PCI_COMMAND)
		old &= 0x0000ffff;          /* do not clear status bits by accident */
	old = (old & ~(0xffffu << sh)) | (uint32_t)v << sh;
	pci_write32(d, off & ~3u, old);
}

static uint8_t dev_read8(void *ctx, unsigned off)
{
	return pci_read8(ctx, off);
}

unsigned pci_find_cap(const struct pci_dev *d, uint8_t id, unsigned prev)
{
	return pci_cap_next(dev_read8, (void *)d, prev, id);
}

void pci_enable(const struct pci_dev *d)
{
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	cmd |= PCI_CMD_MEM | PCI_CMD_IO | PCI_CMD_MASTER;
	cmd &= (uint16_t)~PCI_CMD_INTX_DISABLE;
	pci_write16(d, PCI_COMMAND, cmd);
}

static void read_bars(struct pci_dev *d)
{
	unsigned nbars = d->header_type == 0 ? 6 : d->header_type == 1 ? 2 : 0;
	uint16_t cmd = pci_read16(d, PCI_COMMAND);
	/* No decoding while the BARs hold all-ones for sizing. */
	pci_write16(d, PCI_COMMAND, cmd & (uint16_t)~(PCI_CMD_IO | PCI_CMD_MEM));
	for (unsigned i = 0; i < nbars; i++) {
		unsigned off = PCI_BAR0 + 4 * i;
		uint32_t v = pci_read32(d, off);
		pci_write32(d, off, 0xffffffff);
		uint32_t sz = pci_read32(d, off);
		pci_write32(d, off, v);
		if (v & 1) {
			d->bar_io[i] = true;
			d->bar[i] = v & ~3u;
			d->bar_size[i] = sz ? (uint16_t)(~(sz & ~3u) + 1) : 0;
			continue;
		}
		uint64_t base = v & ~0xfu, mask = sz & ~0xfu;
		bool is64 = ((v >> 1) & 3) == 2 && i + 1 < nbars;
		if (is64) {
			uint32_t hi = pci_read32(d, off + 4);
			pci_write32(d, off + 4, 0xffffffff);
			uint32_t szhi = pci_read32(d, off + 4);
			pci_write32(d, off + 4, hi);
			base |= (uint64_t)hi << 32;
			mask |= (uint64_t)szhi << 32;
		} else if (mask) {
			mask |= 0xffffffff00000000ull;
		}
		d->bar[i] = base;
		d->bar_size[i] = mask ? ~mask + 1 : 0;
		if (is64)
			i++;
	}
	pci_write16(d, PCI_COMMAND, cmd);
}

/* INTx pin (0-based, after swizzling up to bus 0) of a bus-0 slot -> GSI,
 * as QEMU's DSDT _PRT for the machine says (hw/i386/acpi-build.c):
 * q35: slots 0x19-0x1d and 0x1f use PIRQ A-D by pin, every other slot PIRQ
 * E-H rotated by slot; PIRQ A-H are GSI 16-23 (level, active low).
 * pc (PIIX3) sends its PIRQs to the ISA IRQ the firmware chose (the
 * interrupt line register), which the MADT overrides make level-triggered;
 * handled in scan_fn. A wrong guess costs speed, not correctness:
 * blk_wait polls. */
static int intx_gsi(unsigned slot, unsigned pin0)
{
	switch (chipset) {
	case CHIP_Q35:
		if ((slot >= 0x19 && slot <= 0x1d) || slot == 0x1f)
			return 16 + (int)pin0;
		return 16 + 4 + (int)((slot + pin0) & 3);
	default:
		return -1;
	}
}

static void scan_bus(unsigned bus, int root_slot, int swizzle, unsigned depth);

static void scan_fn(unsigned bus, unsigned dev, unsigned fn, int root_slot, int swizzle,
		    unsigned depth)
{
	uint32_t id = cfg_read32(bus, dev, fn, 0);
	if ((id & 0xffff) == 0xffff || (id & 0xffff) == 0)
		return;
	struct pci_dev *d = kzalloc(sizeof(*d));
	if (!d)
		return;
	d->bus = (uint8_t)bus, d->dev = (uint8_t)dev, d->fn = (uint8_t)fn;
	d->vendor = (uint16_t)id;
	d->device = (uint16_t)(id >> 16);
	uint32_t cr = pci_read32(d, PCI_CLASS_REV);
	d->class = (uint8_t)(cr >> 24);
	d->subclass = (uint8_t)(cr >> 16);
	d->prog_if = (uint8_t)(cr >> 8);
	d->header_type = pci_read8(d, PCI_HEADER_TYPE) & 0x7f;
	d->irq_pin = pci_read8(d, PCI_INTERRUPT_PIN);
	d->gsi = -1;
	if (bus == 0 && dev == 0 && fn == 0 && d->vendor == 0x8086)
		chipset = d->device == 0x29c0 ? CHIP_Q35 : d->device == 0x1237 ? CHIP_I440FX
									  : CHIP_UNKNOWN;
	d->irq_active_low = true;
	d->irq_level = true;
	if (d->irq_pin >= 1 && d->irq_pin <= 4 && chipset == CHIP_I440FX) {
		uint8_t line = pci_read8(d, PCI_INTERRUPT_LINE);
		if (line < 16) {
			struct acpi_irq_route r = acpi_isa_irq_route(line);
			d->gsi = (int)r.gsi;
			d->irq_active_low = r.active_low;
			d->irq_level = r.level;
		}
	} else if (d->irq_pin >= 1 && d->irq_pin <= 4) {
		unsigned pin0 = (unsigned)(d->irq_pin - 1);
		if (bus == 0)
			d->gsi = intx_gsi(dev, pin0);
		else if (root_slot >= 0)
			d->gsi = intx_gsi((unsigned)root_slot, (pin0 + dev + (unsigned)swizzle) & 3);
	}
	read_bars(d);
	*devices_tail = d;
	devices_tail = &d->next;
	pr_debug("pci: %02x:%02x.%x %04x:%04x class %02x%02x pin %u gsi %d", bus, dev, fn,
		 d->vendor, d->device, d->class, d->subclass, d->irq_pin, d->gsi);

	if (d->header_type == 1 && depth < 8) {
		unsigned sec = pci_read8(d, PCI_SECONDARY_BUS);
		/* A bridge's children swizzle by their own slot, then by every
		 * bridge's slot between them and bus 0. */
		if (sec > bus)
			scan_bus(sec, bus == 0 ? (int)dev : root_slot,
				 bus == 0 ? 0 : (int)((unsigned)swizzle + dev), depth + 1);
	}
}

static void scan_bus(unsigned bus, int root_slot, int swizzle, unsigned depth)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		uint32_t id = cfg_read32(bus, dev, 0, 0);
		if ((id & 0xffff) == 0xffff)
			continue;
		uint8_t ht = (uint8_t)(cfg_read32(bus, dev, 0, PCI_HEADER_TYPE & ~3u) >> 16);
		unsigned nfn = (ht & 0x80) ? 8 : 1;
		for (unsigned fn = 0; fn < nfn; fn++)
			scan_fn(bus, dev, fn, root_slot, swizzle, depth);
	}
}

void pci_init(void)
{
	uint32_t len;
	const uint8_t *mcfg = acpi_find_table("MCFG", 0, &len);
	if (mcfg && len >= 44 + sizeof(struct mcfg_entry)) {
		const struct mcfg_entry *e = (const void *)(mcfg + 44);
		/* Segment 0 only: that is all QEMU has. */
		if (e->segment == 0 && e->base) {
			ecam_base = e->base;
			ecam_bus_start = e->bus_start;
			ecam_bus_end = e->bus_end;
			have_ecam = true;
			pr_debug("pci: ECAM at %#lx, buses %u-%u", ecam_base, ecam_bus_start,
				 ecam_bus_end);
		}
	}
	if (!have_ecam) {
		/* Legacy ports: present when writing CF8 reads back. */
		outl(0xcf8, 0x80000000u);
		if (inl(0xcf8) != 0x80000000u) {
			pr_debug("pci: no configuration mechanism; no PCI");
			return;
		}
	}
	scan_bus(0, -1, 0, 0);
	unsigned n = 0;
	for (struct pci_dev *d = devices; d; d = d->next)
		n++;
	pr_debug("pci: %u function(s) via %s", n, have_ecam ? "ECAM" : "ports 0xcf8/0xcfc");
}
