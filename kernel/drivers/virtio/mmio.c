/*
 * The virtio-mmio transport, version 2 (virtio 1.2 section 4.2.2).
 *
 * Where the devices are: Firecracker, and QEMU's microvm when ACPI is off
 * (`-M microvm,acpi=off`; auto-kernel-cmdline), append
 * `virtio_mmio.device=SIZE@ADDR:IRQ` to the kernel command line for every
 * device. QEMU 7.2's microvm with ACPI on (its default) does not: it
 * describes them in the DSDT only. So without command-line entries we
 * probe microvm's window (MICROVM_MMIO_BASE, 512-byte slots) and take the
 * IRQ from the slot number the way microvm assigns them (checked against
 * QEMU 7.2): with the second IOAPIC (ioapic2, default on) 24 slots on GSIs
 * 24..47; without it 8 slots on GSIs 16..23. Slots with device id 0 are
 * empty placeholders; QEMU fills the highest slots first.
 *
 * Version 1 (legacy) devices are refused with a message: QEMU gives
 * legacy ones unless told `-global virtio-mmio.force-legacy=false`.
 */
#include "drivers/virtio/transport.h"
#include "arch/x86_64/mmio.h"
#include "drivers/acpi/acpi.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "errno.h"

extern struct cmdline kernel_cmdline;

#define MMIO_MAGIC            0x000
#define MMIO_VERSION          0x004
#define MMIO_DEVICE_ID        0x008
#define MMIO_VENDOR_ID        0x00c
#define MMIO_DEVICE_FEATURES  0x010
#define MMIO_DEVICE_FEATURES_SEL 0x014
#define MMIO_DRIVER_FEATURES  0x020
#define MMIO_DRIVER_FEATURES_SEL 0x024
#define MMIO_QUEUE_SEL        0x030
#define MMIO_QUEUE_NUM_MAX    0x034
#define MMIO_QUEUE_NUM        0x038
#define MMIO_QUEUE_READY      0x044
#define MMIO_QUEUE_NOTIFY     0x050
#define MMIO_INTERRUPT_STATUS 0x060
#define MMIO_INTERRUPT_ACK    0x064
#define MMIO_STATUS           0x070
#define MMIO_QUEUE_DESC_LOW   0x080
#define MMIO_QUEUE_DESC_HIGH  0x084
#define MMIO_QUEUE_DRIVER_LOW 0x090
#define MMIO_QUEUE_DRIVER_HIGH 0x094
#define MMIO_QUEUE_DEVICE_LOW 0x0a0
#define MMIO_QUEUE_DEVICE_HIGH 0x0a4
#define MMIO_CONFIG_GENERATION 0x0fc
#define MMIO_CONFIG           0x100

#define MMIO_MAGIC_VALUE 0x74726976   /* "virt" */

/* QEMU microvm (hw/i386/microvm.h): the window and its IRQs. */
#define MICROVM_MMIO_BASE  0xfeb00000ull
#define MICROVM_MMIO_SLOT  512

struct mmio_dev {
	volatile void *regs;
	uint64_t phys;
};

static inline volatile void *R(struct virtio_device *vd)
{
	return ((struct mmio_dev *)vd->tp)->regs;
}

static uint8_t m_get_status(struct virtio_device *vd)
{
	return (uint8_t)mmio_read32(R(vd), MMIO_STATUS);
}

static void m_set_status(struct virtio_device *vd, uint8_t s)
{
	mmio_write32(R(vd), MMIO_STATUS, s);
}

static uint64_t m_get_features(struct virtio_device *vd)
{
	mmio_write32(R(vd), MMIO_DEVICE_FEATURES_SEL, 0);
	uint64_t lo = mmio_read32(R(vd), MMIO_DEVICE_FEATURES);
	mmio_write32(R(vd), MMIO_DEVICE_FEATURES_SEL, 1);
	uint64_t hi = mmio_read32(R(vd), MMIO_DEVICE_FEATURES);
	return lo | hi << 32;
}

static void m_set_features(struct virtio_device *vd, uint64_t f)
{
	mmio_write32(R(vd), MMIO_DRIVER_FEATURES_SEL, 0);
	mmio_write32(R(vd), MMIO_DRIVER_FEATURES, (uint32_t)f);
	mmio_write32(R(vd), MMIO_DRIVER_FEATURES_SEL, 1);
	mmio_write32(R(vd), MMIO_DRIVER_FEATURES, (uint32_t)(f >> 32));
}

static uint32_t m_config_generation(struct virtio_device *vd)
{
	return mmio_read32(R(vd), MMIO_CONFIG_GENERATION);
}

/* Config space is read with accesses of the field's own width. */
static void m_config_read(struct virtio_device *vd, unsigned off, void *buf, unsigned len)
{
	volatile uint8_t *p = (volatile uint8_t *)R(vd) + MMIO_CONFIG + off;
	switch (len) {
	case 1: *(uint8_t *)buf = *p; break;
	case 2: *(uint16_t *)buf = *(volatile uint16_t *)p; break;
	case 4: *(uint32_t *)buf = *(volatile uint32_t *)p; break;
	case 8: {
		uint64_t lo = *(volatile uint32_t *)p, hi = *(volatile uint32_t *)(p + 4);
		*(uint64_t *)buf = lo | hi << 32;
		break;
	}
	default:
		for (unsigned i = 0; i < len; i++)
			((uint8_t *)buf)[i] = p[i];
	}
}

static unsigned m_queue_max(struct virtio_device *vd, unsigned idx)
{
	mmio_write32(R(vd), MMIO_QUEUE_SEL, idx);
	if (mmio_read32(R(vd), MMIO_QUEUE_READY))
		return 0;    /* in use already: not ours to set up */
	return mmio_read32(R(vd), MMIO_QUEUE_NUM_MAX);
}

static int m_queue_enable(struct virtio_device *vd, struct virtio_vq *q)
{
	volatile void *r = R(vd);
	mmio_write32(r, MMIO_QUEUE_SEL, q->index);
	mmio_write32(r, MMIO_QUEUE_NUM, q->ring.num);
	mmio_write32(r, MMIO_QUEUE_DESC_LOW, (uint32_t)q->ring.desc_phys);
	mmio_write32(r, MMIO_QUEUE_DESC_HIGH, (uint32_t)(q->ring.desc_phys >> 32));
	mmio_write32(r, MMIO_QUEUE_DRIVER_LOW, (uint32_t)q->ring.avail_phys);
	mmio_write32(r, MMIO_QUEUE_DRIVER_HIGH, (uint32_t)(q->ring.avail_phys >> 32));
	mmio_write32(r, MMIO_QUEUE_DEVICE_LOW, (uint32_t)q->ring.used_phys);
	mmio_write32(r, MMIO_QUEUE_DEVICE_HIGH, (uint32_t)(q->ring.used_phys >> 32));
	mmio_write32(r, MMIO_QUEUE_READY, 1);
	return mmio_read32(r, MMIO_QUEUE_READY) == 1 ? 0 : -EIO;
}

static void m_notify(struct virtio_device *vd, struct virtio_vq *q)
{
	mmio_write32(R(vd), MMIO_QUEUE_NOTIFY, q->index);
}

static uint32_t m_irq_ack(struct virtio_device *vd)
{
	uint32_t s = mmio_read32(R(vd), MMIO_INTERRUPT_STATUS);
	if (s)
		mmio_write32(R(vd), MMIO_INTERRUPT_ACK, s);
	return s;
}

/* microvm's virtio-mmio lines are level-triggered, active high (its DSDT
 * says so); the line stays up until InterruptACK clears the status. */
static const struct virtio_transport mmio_transport = {
	.name = "mmio",
	.get_status = m_get_status,
	.set_status = m_set_status,
	.get_features = m_get_features,
	.set_features = m_set_features,
	.config_generation = m_config_generation,
	.config_read = m_config_read,
	.queue_max = m_queue_max,
	.queue_enable = m_queue_enable,
	.notify = m_notify,
	.irq_ack = m_irq_ack,
};

/* Addresses probed so far, so the window scan skips command-line ones. */
static uint64_t seen[32];
static unsigned nseen;

static bool was_seen(uint64_t phys)
{
	for (unsigned i = 0; i < nseen; i++)
		if (seen[i] == phys)
			return true;
	return false;
}

/* Returns 1 when a device was added, 0 for an empty slot, -errno on error. */
static int mmio_probe(uint64_t phys, uint64_t size, int irq, bool quiet)
{
	if (was_seen(phys))
		return 0;
	if (nseen < ARRAY_SIZE(seen))
		seen[nseen++] = phys;
	volatile void *regs = mmio_map(phys, size < 0x200 ? 0x200 : size);
	if (!regs) {
		pr_warn("virtio-mmio: %#lx is outside the direct map; ignored", phys);
		return -EINVAL;
	}
	if (mmio_read32(regs, MMIO_MAGIC) != MMIO_MAGIC_VALUE) {
		if (!quiet)
			pr_warn("virtio-mmio: no device at %#lx (bad magic)", phys);
		return quiet ? 0 : -ENODEV;
	}
	uint32_t id = mmio_read32(regs, MMIO_DEVICE_ID);
	if (id == 0)
		return 0;
	uint32_t version = mmio_read32(regs, MMIO_VERSION);
	if (version != 2) {
		pr_warn("virtio-mmio: device %u at %#lx is legacy (version %u); only virtio 1.x "
			"is supported (QEMU: -global virtio-mmio.force-legacy=false)", id, phys, version);
		return -ENODEV;
	}
	struct mmio_dev *md = kzalloc(sizeof(*md));
	struct virtio_device *vd = kzalloc(sizeof(*vd));
	if (!md || !vd) {
		kfree(md);
		kfree(vd);
		return -ENOMEM;
	}
	md->regs = regs;
	md->phys = phys;
	vd->t = &mmio_transport;
	vd->tp = md;
	vd->device_id = id;
	vd->gsi = irq;
	snprintf(vd->where, sizeof(vd->where), "mmio@%#lx", phys);
	virtio_add_device(vd);
	return 1;
}

/* SIZE[KMG]@ADDR:IRQ[:ID] (Linux's format). */
static bool parse_entry(const char *s, uint64_t *size, uint64_t *addr, int *irq)
{
	char buf[64];
	strlcpy(buf, s, sizeof(buf));
	char *at = strchr(buf, '@');
	if (!at)
		return false;
	*at = 0;
	char *colon = strchr(at + 1, ':');
	if (!colon)
		return false;
	*colon = 0;
	char *colon2 = strchr(colon + 1, ':');
	if (colon2)
		*colon2 = 0;
	uint64_t irq64;
	if (!parse_u64(buf, size) || !parse_u64(at + 1, addr) ||
	    !parse_u64(colon + 1, &irq64) || irq64 > 255)
		return false;
	*irq = (int)irq64;
	return true;
}

void virtio_mmio_probe_all(void)
{
	unsigned from_cmdline = 0;
	for (int i = 0; i < kernel_cmdline.nopts; i++) {
		const struct cmdline_opt *o = &kernel_cmdline.opts[i];
		if (strcmp(o->key, "virtio_mmio.device"))
			continue;
		uint64_t size, addr;
		int irq;
		if (!parse_entry(o->value, &size, &addr, &irq)) {
			pr_warn("virtio-mmio: cannot parse virtio_mmio.device=%s", o->value);
			continue;
		}
		pr_debug("virtio-mmio: command line: %#lx size %#lx irq %d", addr, size, irq);
		if (mmio_probe(addr, size, irq, false) > 0)
			from_cmdline++;
	}
	if (from_cmdline)
		return;
	/* No entries: maybe microvm with auto-kernel-cmdline=off. Its window
	 * reads all-ones or zeros elsewhere, so the magic check is enough. */
	if (!cmdline_get(&kernel_cmdline, "virtio_mmio.scan") ||
	    strcmp(cmdline_get(&kernel_cmdline, "virtio_mmio.scan"), "0")) {
		bool ioapic2 = false;
		for (unsigned i = 0; i < acpi_ioapic_count; i++)
			if (acpi_ioapic[i].gsi_base == 24)
				ioapic2 = true;
		unsigned slots = ioapic2 ? 24 : 8;
		int irq_base = ioapic2 ? 24 : 16;
		/* Highest slot first: that is the first -device given. */
		for (unsigned s = slots; s-- > 0;)
			mmio_probe(MICROVM_MMIO_BASE + s * MICROVM_MMIO_SLOT, MICROVM_MMIO_SLOT,
				   irq_base + (int)s, true);
	}
}
