/*
 * The modern virtio-pci transport (virtio 1.2 section 4.1): the device
 * describes its register blocks with vendor capabilities (COMMON, NOTIFY,
 * ISR, DEVICE cfg), each a window in one of its BARs. QEMU's default
 * virtio-*-pci devices are transitional (legacy I/O BAR plus these), and
 * we use only the modern part.
 *
 * Interrupts: the legacy INTx line (pci.c translates it to a GSI and its
 * trigger mode: level, active low on q35); reading the ISR register acknowledges and lowers it. MSI-X
 * is left disabled, which is what makes the device use INTx and ISR.
 */
#include "drivers/virtio/transport.h"
#include "drivers/pci/pci.h"
#include "arch/x86_64/mmio.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "mm/heap.h"
#include "lib/string.h"
#include "errno.h"

#define VIRTIO_PCI_VENDOR 0x1af4

#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4

/* struct virtio_pci_common_cfg offsets. */
#define CC_DFSELECT    0x00
#define CC_DF          0x04
#define CC_GFSELECT    0x08
#define CC_GF          0x0c
#define CC_MSIX        0x10
#define CC_NUMQ        0x12
#define CC_STATUS      0x14
#define CC_CFGGEN      0x15
#define CC_Q_SELECT    0x16
#define CC_Q_SIZE      0x18
#define CC_Q_MSIX      0x1a
#define CC_Q_ENABLE    0x1c
#define CC_Q_NOFF      0x1e
#define CC_Q_DESC      0x20
#define CC_Q_AVAIL     0x28
#define CC_Q_USED      0x30

struct vpci {
	struct pci_dev *pdev;
	volatile uint8_t *common, *notify, *isr, *device;
	uint32_t notify_mult;
	uint32_t device_len;
};

static inline struct vpci *P(struct virtio_device *vd) { return vd->tp; }

static inline uint8_t r8(volatile uint8_t *b, unsigned o) { return *(volatile uint8_t *)(b + o); }
static inline uint16_t r16(volatile uint8_t *b, unsigned o) { return *(volatile uint16_t *)(b + o); }
static inline uint32_t r32(volatile uint8_t *b, unsigned o) { return *(volatile uint32_t *)(b + o); }
static inline void w8(volatile uint8_t *b, unsigned o, uint8_t v) { *(volatile uint8_t *)(b + o) = v; }
static inline void w16(volatile uint8_t *b, unsigned o, uint16_t v) { *(volatile uint16_t *)(b + o) = v; }
static inline void w32(volatile uint8_t *b, unsigned o, uint32_t v) { *(volatile uint32_t *)(b + o) = v; }
/* 64-bit fields as two 32-bit writes, low first (section 4.1.3.1). */
static inline void w64(volatile uint8_t *b, unsigned o, uint64_t v)
{
	w32(b, o, (uint32_t)v);
	w32(b, o + 4, (uint32_t)(v >> 32));
}

static uint8_t p_get_status(struct virtio_device *vd) { return r8(P(vd)->common, CC_STATUS); }
static void p_set_status(struct virtio_device *vd, uint8_t s) { w8(P(vd)->common, CC_STATUS, s); }

static uint64_t p_get_features(struct virtio_device *vd)
{
	volatile uint8_t *c = P(vd)->common;
	w32(c, CC_DFSELECT, 0);
	uint64_t lo = r32(c, CC_DF);
	w32(c, CC_DFSELECT, 1);
	return lo | (uint64_t)r32(c, CC_DF) << 32;
}

static void p_set_features(struct virtio_device *vd, uint64_t f)
{
	volatile uint8_t *c = P(vd)->common;
	w32(c, CC_GFSELECT, 0);
	w32(c, CC_GF, (uint32_t)f);
	w32(c, CC_GFSELECT, 1);
	w32(c, CC_GF, (uint32_t)(f >> 32));
}

static uint32_t p_config_generation(struct virtio_device *vd)
{
	return r8(P(vd)->common, CC_CFGGEN);
}

static void p_config_read(struct virtio_device *vd, unsigned off, void *buf, unsigned len)
{
	volatile uint8_t *d = P(vd)->device;
	if (!d || off + len > P(vd)->device_len) {
		for (unsigned i = 0; i < len; i++)
			((uint8_t *)buf)[i] = 0;
		return;
	}
	switch (len) {
	case 1: *(uint8_t *)buf = r8(d, off); break;
	case 2: *(uint16_t *)buf = r16(d, off); break;
	case 4: *(uint32_t *)buf = r32(d, off); break;
	case 8: *(uint64_t *)buf = r32(d, off) | (uint64_t)r32(d, off + 4) << 32; break;
	default:
		for (unsigned i = 0; i < len; i++)
			((uint8_t *)buf)[i] = r8(d, off + i);
	}
}

static unsigned p_queue_max(struct virtio_device *vd, unsigned idx)
{
	volatile uint8_t *c = P(vd)->common;
	if (idx >= r16(c, CC_NUMQ))
		return 0;
	w16(c, CC_Q_SELECT, (uint16_t)idx);
	return r16(c, CC_Q_SIZE);
}

static int p_queue_enable(struct virtio_device *vd, struct virtio_vq *q)
{
	volatile uint8_t *c = P(vd)->common;
	w16(c, CC_Q_SELECT, (uint16_t)q->index);
	w16(c, CC_Q_SIZE, (uint16_t)q->ring.num);
	w16(c, CC_Q_MSIX, 0xffff);     /* VIRTIO_MSI_NO_VECTOR: INTx */
	w64(c, CC_Q_DESC, q->ring.desc_phys);
	w64(c, CC_Q_AVAIL, q->ring.avail_phys);
	w64(c, CC_Q_USED, q->ring.used_phys);
	q->notify_off = r16(c, CC_Q_NOFF) * P(vd)->notify_mult;
	w16(c, CC_Q_ENABLE, 1);
	return r16(c, CC_Q_ENABLE) == 1 ? 0 : -EIO;
}

static void p_notify(struct virtio_device *vd, struct virtio_vq *q)
{
	w16(P(vd)->notify, q->notify_off, (uint16_t)q->index);
}

static uint32_t p_irq_ack(struct virtio_device *vd)
{
	return r8(P(vd)->isr, 0);       /* reading clears it */
}

static const struct virtio_transport pci_transport = {
	.name = "pci",
	.get_status = p_get_status,
	.set_status = p_set_status,
	.get_features = p_get_features,
	.set_features = p_set_features,
	.config_generation = p_config_generation,
	.config_read = p_config_read,
	.queue_max = p_queue_max,
	.queue_enable = p_queue_enable,
	.notify = p_notify,
	.irq_ack = p_irq_ack,
};

/* The window a capability describes, mapped; NULL when unusable. */
static volatile uint8_t *map_cap(struct pci_dev *d, unsigned cap, uint32_t *len_out)
{
	uint8_t bar = pci_read8(d, cap + 4);
	uint32_t off = pci_read32(d, cap + 8), len = pci_read32(d, cap + 12);
	if (bar > 5 || d->bar_io[bar] || !d->bar[bar] || !len)
		return NULL;
	if (d->bar_size[bar] && (uint64_t)off + len > d->bar_size[bar])
		return NULL;
	if (len_out)
		*len_out = len;
	return (volatile uint8_t *)mmio_map(d->bar[bar] + off, len);
}

static void probe(struct pci_dev *d)
{
	uint32_t id;
	if (d->device >= 0x1040 && d->device <= 0x107f)
		id = d->device - 0x1040u;
	else if (d->device >= 0x1000 && d->device <= 0x103f)
		id = pci_read16(d, 0x2e);      /* transitional: subsystem id */
	else
		return;
	char where[32];
	snprintf(where, sizeof(where), "pci %02x:%02x.%x", d->bus, d->dev, d->fn);
	struct vpci *p = kzalloc(sizeof(*p));
	struct virtio_device *vd = kzalloc(sizeof(*vd));
	if (!p || !vd) {
		kfree(p);
		kfree(vd);
		return;
	}
	p->pdev = d;
	for (unsigned cap = pci_find_cap(d, PCI_CAP_ID_VENDOR, 0); cap;
	     cap = pci_find_cap(d, PCI_CAP_ID_VENDOR, cap)) {
		uint8_t type = pci_read8(d, cap + 3);
		/* The first capability of each type is the preferred one. */
		switch (type) {
		case VIRTIO_PCI_CAP_COMMON_CFG:
			if (!p->common)
				p->common = map_cap(d, cap, NULL);
			break;
		case VIRTIO_PCI_CAP_NOTIFY_CFG:
			if (!p->notify) {
				p->notify = map_cap(d, cap, NULL);
				p->notify_mult = pci_read32(d, cap + 16);
			}
			break;
		case VIRTIO_PCI_CAP_ISR_CFG:
			if (!p->isr)
				p->isr = map_cap(d, cap, NULL);
			break;
		case VIRTIO_PCI_CAP_DEVICE_CFG:
			if (!p->device)
				p->device = map_cap(d, cap, &p->device_len);
			break;
		}
	}
	if (!p->common || !p->notify || !p->isr) {
		pr_warn("virtio: %s: no usable modern capabilities (legacy-only device?); ignored",
			where);
		kfree(p);
		kfree(vd);
		return;
	}
	pci_enable(d);
	vd->t = &pci_transport;
	vd->tp = p;
	vd->device_id = id;
	vd->gsi = d->gsi;
	vd->irq_active_low = d->irq_active_low;
	vd->irq_edge = !d->irq_level;
	if (d->gsi < 0)
		pr_warn("virtio: %s: INTx line unknown on this chipset; completions are polled", where);
	memcpy(vd->where, where, sizeof(where));
	virtio_add_device(vd);
}

void virtio_pci_probe_all(void)
{
	for (struct pci_dev *d = pci_devices(); d; d = d->next)
		if (d->vendor == VIRTIO_PCI_VENDOR)
			probe(d);
}
