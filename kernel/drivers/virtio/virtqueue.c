/*
 * Split virtqueue ring arithmetic (see virtqueue.h). Pure: no kernel
 * headers, so tests/unit/test_virtqueue.c includes this file.
 *
 * Ordering: the device must see a chain's descriptors before the avail
 * ring entry, and that entry before avail->idx; we must read used->idx
 * before the used entry it covers. x86 keeps stores in order and loads in
 * order, but the compiler does not, and the notify decision (store avail
 * idx, then load used flags) needs a full fence: __atomic_thread_fence
 * gives both without depending on kernel headers.
 *
 * That fence is not always kept: QEMU before 8.1 under TCG with one vCPU
 * (max_cpus 1) translates mfence and locked instructions with no host
 * fence, while the device model runs in another host thread, so the
 * store->load pairs (avail->idx then avail_event; used_event then
 * used->idx) can be reordered. With VIRTIO_F_EVENT_IDX a missed pairing
 * is permanent (no later index passes the same event again), so
 * virtq_should_notify repairs a missed notification on a later call and
 * drivers re-check their queues from a timer (virtio_net.c).
 */
#include "drivers/virtio/virtqueue.h"

#define VQ_USED_ALIGN 4096

static inline void vq_mb(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
static inline void vq_wmb(void) { __atomic_thread_fence(__ATOMIC_RELEASE); }
static inline void vq_rmb(void) { __atomic_thread_fence(__ATOMIC_ACQUIRE); }

/* The event fields sit right after each ring's entries. */
static inline volatile uint16_t *used_event(struct virtq *vq)
{
	return (volatile uint16_t *)&vq->avail->ring[vq->num];
}
static inline volatile uint16_t *avail_event(struct virtq *vq)
{
	return (volatile uint16_t *)&vq->used->ring[vq->num];
}

size_t virtq_ring_bytes(unsigned num, size_t *avail_off, size_t *used_off)
{
	size_t a = 16 * (size_t)num;
	size_t u = a + 6 + 2 * (size_t)num;
	u = (u + VQ_USED_ALIGN - 1) & ~(size_t)(VQ_USED_ALIGN - 1);
	if (avail_off)
		*avail_off = a;
	if (used_off)
		*used_off = u;
	return u + 6 + 8 * (size_t)num;
}

void virtq_init(struct virtq *vq, unsigned num, void *mem, uint64_t phys, void **cookie)
{
	size_t ao, uo;
	size_t bytes = virtq_ring_bytes(num, &ao, &uo);
	unsigned char *p = mem;
	for (size_t i = 0; i < bytes; i++)
		p[i] = 0;
	vq->num = num;
	vq->desc = mem;
	vq->avail = (struct vring_avail *)(p + ao);
	vq->used = (struct vring_used *)(p + uo);
	vq->desc_phys = phys;
	vq->avail_phys = phys + ao;
	vq->used_phys = phys + uo;
	vq->cookie = cookie;
	for (unsigned i = 0; i < num; i++) {
		vq->desc[i].next = (uint16_t)((i + 1) & (num - 1));
		cookie[i] = 0;
	}
	vq->free_head = 0;
	vq->num_free = (uint16_t)(num < 65536 ? num : 65535);
	vq->avail_idx = 0;
	vq->last_used = 0;
	vq->event_idx = false;
	vq->cb_disabled = false;
	vq->kick_idx = 0;
	vq->kicked_idx = 0;
	vq->seen_event = 0;
	vq->repairs = 0;
}

int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned n, void *cookie)
{
	if (n == 0 || n > vq->num_free)
		return -1;
	uint16_t head = vq->free_head, i = head, last = head;
	for (unsigned k = 0; k < n; k++) {
		struct vring_desc *d = &vq->desc[i];
		d->addr = bufs[k].phys;
		d->len = bufs[k].len;
		d->flags = (uint16_t)((bufs[k].device_writes ? VRING_DESC_F_WRITE : 0) |
				      (k + 1 < n ? VRING_DESC_F_NEXT : 0));
		last = i;
		i = d->next;           /* the free list is chained through next */
	}
	(void)last;
	vq->free_head = i;
	vq->num_free = (uint16_t)(vq->num_free - n);
	vq->cookie[head] = cookie;

	/* avail->ring[idx % num], then the index the device polls. */
	vq->avail->ring[vq->avail_idx & (vq->num - 1)] = head;
	vq_wmb();
	vq->avail_idx++;
	*(volatile uint16_t *)&vq->avail->idx = vq->avail_idx;
	vq_mb();
	return head;
}

bool virtq_should_notify(struct virtq *vq)
{
	/* The avail index store must be visible before we read what the
	 * device asked for, or both sides could decide to wait. */
	vq_mb();
	uint16_t old = vq->kick_idx, new_ = vq->avail_idx;
	vq->kick_idx = new_;
	bool kick;
	if (vq->event_idx) {
		uint16_t ev = *avail_event(vq);
		/* The rule of section 2.7.10, plus a repair: a device that
		 * asked for an index we passed without notifying (between the
		 * last notification and the previous decision), and has not
		 * moved avail_event since that decision, is idle and waiting
		 * for us. That happens only when the fence above did not
		 * order our avail->idx store before the avail_event load
		 * (QEMU < 8.1 under TCG with one vCPU emits no host fence for
		 * mfence or locked instructions: the device's thread then
		 * misses the new index while we read avail_event from before
		 * its update); without the repair the queue would wait
		 * forever, as with event_idx no later chain passes that
		 * avail_event again. A device that is busy moves avail_event
		 * as it consumes, so this costs at most one spare notification
		 * when it pauses. */
		kick = virtq_need_event(ev, new_, old);
		if (!kick && ev == vq->seen_event && virtq_need_event(ev, old, vq->kicked_idx)) {
			kick = true;
			vq->repairs++;
		}
		vq->seen_event = ev;
	} else {
		kick = !(*(volatile uint16_t *)&vq->used->flags & VRING_USED_F_NO_NOTIFY);
	}
	if (kick)
		vq->kicked_idx = new_;
	return kick;
}

void virtq_disable_cb(struct virtq *vq)
{
	vq->cb_disabled = true;
	if (vq->event_idx)
		*used_event(vq) = (uint16_t)(vq->last_used - 1);
	else
		*(volatile uint16_t *)&vq->avail->flags |= VRING_AVAIL_F_NO_INTERRUPT;
}

bool virtq_enable_cb(struct virtq *vq)
{
	vq->cb_disabled = false;
	if (vq->event_idx)
		*used_event(vq) = vq->last_used;
	else
		*(volatile uint16_t *)&vq->avail->flags &= (uint16_t)~VRING_AVAIL_F_NO_INTERRUPT;
	/* The request must be visible before we look: a chain used before
	 * the device saw it raised no interrupt. */
	vq_mb();
	return !virtq_has_used(vq);
}

bool virtq_has_used(const struct virtq *vq)
{
	return *(volatile uint16_t *)&vq->used->idx != vq->last_used;
}

void *virtq_get_used(struct virtq *vq, uint32_t *len)
{
	uint16_t idx = *(volatile uint16_t *)&vq->used->idx;
	if (idx == vq->last_used)
		return 0;
	vq_rmb();
	volatile struct vring_used_elem *e = &vq->used->ring[vq->last_used & (vq->num - 1)];
	uint32_t id = e->id;
	if (len)
		*len = e->len;
	vq->last_used++;
	if (id >= vq->num)
		return 0;              /* a broken device; nothing sane to free */
	void *cookie = vq->cookie[id];
	vq->cookie[id] = 0;

	/* Give the chain back: walk it to its tail, link the tail to the old
	 * free head. The device does not change descriptors, so next/flags
	 * are as we wrote them. */
	uint16_t tail = (uint16_t)id;
	unsigned count = 1;
	while ((vq->desc[tail].flags & VRING_DESC_F_NEXT) && count < vq->num) {
		tail = vq->desc[tail].next;
		count++;
	}
	vq->desc[tail].next = vq->free_head;
	vq->desc[tail].flags = 0;
	vq->free_head = (uint16_t)id;
	vq->num_free = (uint16_t)(vq->num_free + count);
	if (vq->event_idx && !vq->cb_disabled) {
		/* Interrupt at the next chain after this one; the fence orders
		 * the store before the caller's next read of used->idx, so a
		 * chain used meanwhile is either seen then or interrupts. */
		*used_event(vq) = vq->last_used;
		vq_mb();
	}
	return cookie;
}
