/*
 * virtio core: the device life cycle (section 3.1.1 of virtio 1.2), queue
 * set-up, the driver table and interrupt dispatch. Transports (mmio.c,
 * pci.c) only move registers.
 */
#include "drivers/virtio/virtio.h"
#include "drivers/virtio/transport.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/kvmap.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/trap.h"
#include "mm/heap.h"
#include "sched/thread.h"
#include "mm/page_alloc.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "errno.h"

/*
 * The drivers, by device id. A new virtio driver adds one line here.
 */
int virtio_blk_probe(struct virtio_device *vd);
int virtio_net_probe(struct virtio_device *vd);

static const struct {
	uint32_t id;
	const char *name;
	int (*probe)(struct virtio_device *vd);
} drivers[] = {
	{ VIRTIO_ID_BLOCK, "virtio-blk", virtio_blk_probe },
	{ VIRTIO_ID_NET, "virtio-net", virtio_net_probe },
};

static struct virtio_device *all_devices, **all_tail = &all_devices;

struct virtio_device *virtio_devices(void) { return all_devices; }

uint64_t virtio_virt_to_phys(const void *p)
{
	uint64_t v = (uint64_t)p;
	if (v >= DIRECT_MAP_BASE && v < DIRECT_MAP_BASE + boot_info.direct_map_end)
		return v - DIRECT_MAP_BASE;
	if (v >= KVA_BASE && v < KVA_END) {
		uint64_t pa = kvmap_lookup(v & ~(uint64_t)(PAGE_SIZE - 1));
		return pa ? (pa & ~(uint64_t)(PAGE_SIZE - 1)) + (v & (PAGE_SIZE - 1)) : 0;
	}
	if (v >= KERNEL_VIRT_MIN && v < KERNEL_VIRT_MAX)
		return kernel_virt_to_phys(p);
	return 0;
}

void virtio_add_device(struct virtio_device *vd)
{
	*all_tail = vd;
	all_tail = &vd->next;
	for (size_t i = 0; i < ARRAY_SIZE(drivers); i++) {
		if (drivers[i].id != vd->device_id)
			continue;
		pr_debug("virtio: %s: device %u -> %s", vd->where, vd->device_id, drivers[i].name);
		if (drivers[i].probe(vd) < 0) {
			pr_warn("virtio: %s: %s could not drive it", vd->where, drivers[i].name);
			virtio_fail(vd);
		}
		return;
	}
	pr_info("virtio: %s: device type %u has no driver; left alone", vd->where, vd->device_id);
}

void virtio_fail(struct virtio_device *vd)
{
	vd->t->set_status(vd, vd->t->get_status(vd) | VIRTIO_STATUS_FAILED);
}

int virtio_negotiate(struct virtio_device *vd, uint64_t wanted)
{
	const struct virtio_transport *t = vd->t;
	t->set_status(vd, 0);
	/* Reset completes when status reads back 0 (section 4.1.4.3.2). */
	for (int i = 0; i < 1000000 && t->get_status(vd) != 0; i++)
		__asm__ volatile("pause");
	t->set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE);
	t->set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER);
	uint64_t offered = t->get_features(vd);
	if (!((offered >> VIRTIO_F_VERSION_1) & 1)) {
		pr_warn("virtio: %s: legacy-only device (no VERSION_1); not supported", vd->where);
		virtio_fail(vd);
		return -ENODEV;
	}
	uint64_t f = offered & (wanted | (1ull << VIRTIO_F_VERSION_1));
	t->set_features(vd, f);
	t->set_status(vd, VIRTIO_STATUS_ACKNOWLEDGE | VIRTIO_STATUS_DRIVER |
			  VIRTIO_STATUS_FEATURES_OK);
	if (!(t->get_status(vd) & VIRTIO_STATUS_FEATURES_OK)) {
		pr_warn("virtio: %s: device refused features %#lx", vd->where, f);
		virtio_fail(vd);
		return -ENODEV;
	}
	vd->features = f;
	pr_debug("virtio: %s: features offered %#lx, using %#lx", vd->where, offered, f);
	return 0;
}

void virtio_config_read(struct virtio_device *vd, unsigned off, void *buf, unsigned len)
{
	uint32_t gen;
	do {
		gen = vd->t->config_generation(vd);
		vd->t->config_read(vd, off, buf, len);
	} while (gen != vd->t->config_generation(vd));
}

struct virtio_vq *virtio_setup_vq(struct virtio_device *vd, unsigned idx,
				  unsigned max, virtio_vq_callback_t cb, void *priv)
{
	if (idx >= VIRTIO_MAX_VQS)
		return NULL;
	unsigned devmax = vd->t->queue_max(vd, idx);
	if (devmax == 0) {
		pr_warn("virtio: %s: queue %u does not exist", vd->where, idx);
		return NULL;
	}
	/* Split rings must be a power of two in size; the device's maximum
	 * need not be for virtio-pci, so round down. */
	unsigned num = 1;
	while (num * 2 <= devmax && num * 2 <= max)
		num *= 2;
	struct virtio_vq *q = &vd->vqs[idx];
	size_t bytes = virtq_ring_bytes(num, NULL, NULL);
	unsigned order = 0;
	while (((size_t)PAGE_SIZE << order) < bytes)
		order++;
	void *mem = page_alloc_virt(order);
	void **cookies = kcalloc(num, sizeof(void *));
	if (!mem || !cookies) {
		if (mem)
			page_free_virt(mem, order);
		kfree(cookies);
		return NULL;
	}
	q->vd = vd;
	q->index = idx;
	wq_init(&q->space_wq);
	q->callback = cb;
	q->priv = priv;
	virtq_init(&q->ring, num, mem, page_virt_to_phys(mem), cookies);
	q->ring.event_idx = virtio_has_feature(vd, VIRTIO_F_EVENT_IDX);
	if (vd->t->queue_enable(vd, q) < 0) {
		pr_warn("virtio: %s: queue %u could not be enabled", vd->where, idx);
		return NULL;
	}
	if (idx >= vd->nvqs)
		vd->nvqs = idx + 1;
	pr_debug("virtio: %s: queue %u, %u entries (device max %u)", vd->where, idx, num, devmax);
	return q;
}

/* ---- interrupts ---- */

#define VIRTIO_MAX_GSI 64   /* vectors VEC_IRQ_BASE .. +63 */
static struct virtio_device *irq_devs[VIRTIO_MAX_GSI];

void virtio_poll(struct virtio_device *vd)
{
	for (unsigned i = 0; i < vd->nvqs; i++) {
		struct virtio_vq *q = &vd->vqs[i];
		if (q->callback && virtq_has_used(&q->ring))
			q->callback(q);
	}
}

static void virtio_irq(struct trap_frame *tf, void *arg)
{
	(void)tf;
	unsigned gsi = (unsigned)(uintptr_t)arg;
	for (struct virtio_device *vd = irq_devs[gsi]; vd; vd = vd->irq_next) {
		/* Acknowledge first: a completion that lands after this raises
		 * the line again, so none is lost. */
		uint32_t isr = vd->t->irq_ack(vd);
		for (unsigned i = 0; i < vd->nvqs; i++) {
			struct virtio_vq *q = &vd->vqs[i];
			if ((isr & 1) || virtq_has_used(&q->ring)) {
				q->nr_interrupts++;
				if (q->callback)
					q->callback(q);
			}
		}
		if (isr & 2) {
			pr_debug("virtio: %s: configuration changed", vd->where);
			if (vd->config_changed)
				vd->config_changed(vd);
		}
	}
	lapic_eoi();
}

int virtio_driver_ok(struct virtio_device *vd)
{
	if (vd->gsi >= 0 && vd->gsi < VIRTIO_MAX_GSI) {
		bool first = irq_devs[vd->gsi] == NULL;
		vd->irq_next = irq_devs[vd->gsi];
		irq_devs[vd->gsi] = vd;
		if (first) {
			uint8_t vec = (uint8_t)(VEC_IRQ_BASE + vd->gsi);
			trap_set_handler(vec, virtio_irq, (void *)(uintptr_t)vd->gsi);
			if (ioapic_route_gsi((uint32_t)vd->gsi, vec, lapic_id(),
					     vd->irq_active_low, !vd->irq_edge) < 0) {
				pr_warn("virtio: %s: no IOAPIC pin for GSI %d; completions are polled",
					vd->where, vd->gsi);
				irq_devs[vd->gsi] = vd->irq_next;
				vd->gsi = -1;
			}
		}
	} else if (vd->gsi >= 0) {
		pr_warn("virtio: %s: GSI %d beyond the vectors set aside; completions are polled",
			vd->where, vd->gsi);
		vd->gsi = -1;
	}
	vd->t->set_status(vd, vd->t->get_status(vd) | VIRTIO_STATUS_DRIVER_OK);
	uint8_t st = vd->t->get_status(vd);
	if (st & (VIRTIO_STATUS_NEEDS_RESET | VIRTIO_STATUS_FAILED)) {
		pr_warn("virtio: %s: device status %#x after DRIVER_OK", vd->where, st);
		return -EIO;
	}
	return 0;
}

/* ---- queues ---- */

static int vq_add(struct virtio_vq *q, const struct virtio_sg *sg, unsigned n,
		  void *cookie, bool wait, bool kick_now)
{
	struct virtq_buf bufs[64];
	if (n == 0 || n > ARRAY_SIZE(bufs) || n > q->ring.num)
		return -EINVAL;
	for (unsigned i = 0; i < n; i++) {
		bufs[i].phys = virtio_virt_to_phys(sg[i].buf);
		bufs[i].len = sg[i].len;
		bufs[i].device_writes = sg[i].device_writes;
		if (!bufs[i].phys)
			return -EINVAL;
	}
	/* The wait queue's lock guards the ring too: one lock, taken with
	 * interrupts off, so the interrupt handler cannot race us. */
	uint64_t f = wq_lock(&q->space_wq);
	while (q->ring.num_free < n) {
		if (!wait) {
			wq_unlock(&q->space_wq, f);
			return -ENOSPC;
		}
		wq_wait_locked(&q->space_wq, f, 0, TIME_FOREVER, 0);
		f = wq_lock(&q->space_wq);
	}
	int head = virtq_add(&q->ring, bufs, n, cookie);
	bool kick = head >= 0 && kick_now && virtq_should_notify(&q->ring);
	wq_unlock(&q->space_wq, f);
	if (head < 0)
		return -ENOSPC;
	if (kick) {
		q->nr_notifies++;
		q->vd->t->notify(q->vd, q);
	}
	return 0;
}

int virtio_vq_add(struct virtio_vq *q, const struct virtio_sg *sg, unsigned n,
		  void *cookie, bool wait)
{
	return vq_add(q, sg, n, cookie, wait, true);
}

int virtio_vq_add_nokick(struct virtio_vq *q, const struct virtio_sg *sg, unsigned n,
			 void *cookie)
{
	return vq_add(q, sg, n, cookie, false, false);
}

void virtio_vq_kick(struct virtio_vq *q)
{
	uint64_t f = wq_lock(&q->space_wq);
	bool kick = virtq_should_notify(&q->ring);
	wq_unlock(&q->space_wq, f);
	if (kick) {
		q->nr_notifies++;
		q->vd->t->notify(q->vd, q);
	}
}

bool virtio_vq_nudge(struct virtio_vq *q, uint16_t *seen)
{
	uint64_t f = wq_lock(&q->space_wq);
	struct virtq *vq = &q->ring;
	uint16_t used = *(volatile uint16_t *)&vq->used->idx;
	bool stuck = used != vq->avail_idx && used == *seen;
	*seen = used;
	if (stuck)      /* the decisions so far are settled by this one */
		vq->kick_idx = vq->kicked_idx = vq->avail_idx;
	wq_unlock(&q->space_wq, f);
	if (stuck) {
		q->nr_notifies++;
		q->nr_nudges++;
		q->vd->t->notify(q->vd, q);
	}
	return stuck;
}

void virtio_vq_disable_cb(struct virtio_vq *q)
{
	uint64_t f = wq_lock(&q->space_wq);
	virtq_disable_cb(&q->ring);
	wq_unlock(&q->space_wq, f);
}

bool virtio_vq_enable_cb(struct virtio_vq *q)
{
	uint64_t f = wq_lock(&q->space_wq);
	bool idle = virtq_enable_cb(&q->ring);
	wq_unlock(&q->space_wq, f);
	return idle;
}

void *virtio_vq_get_used(struct virtio_vq *q, uint32_t *len)
{
	uint64_t f = wq_lock(&q->space_wq);
	void *c = virtq_get_used(&q->ring, len);
	if (c)
		wq_wake_locked(&q->space_wq, INT32_MAX);
	wq_unlock(&q->space_wq, f);
	return c;
}

void virtio_init(void)
{
	virtio_mmio_probe_all();
	virtio_pci_probe_all();
	unsigned n = 0;
	for (struct virtio_device *vd = all_devices; vd; vd = vd->next)
		n++;
	pr_debug("virtio: %u device(s)", n);
}
