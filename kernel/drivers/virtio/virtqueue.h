/*
 * Split virtqueues (virtio 1.2 section 2.7): the ring memory and the index
 * arithmetic, with no locking and no device access, so the host unit tests
 * can run it (tests/unit/test_virtqueue.c). The caller (virtio.c) holds a
 * lock around every call and tells the device about new buffers.
 *
 * One contiguous, physically contiguous block holds the three parts:
 *   descriptor table  16 bytes * num       (alignment 16)
 *   available ring    6 + 2 * num bytes    (alignment 2)
 *   used ring         6 + 8 * num bytes    (alignment 4; we start it on
 *                                           its own 4 KiB page, as legacy did)
 * All fields are little-endian, which is x86's order.
 */
#pragma once

#define VRING_DESC_F_NEXT     1
#define VRING_DESC_F_WRITE    2   /* device writes (driver reads) this buffer */
#define VRING_DESC_F_INDIRECT 4
#define VRING_AVAIL_F_NO_INTERRUPT 1
#define VRING_USED_F_NO_NOTIFY     1

struct vring_desc {
	uint64_t addr;
	uint32_t len;
	uint16_t flags;
	uint16_t next;
};

struct vring_avail {
	uint16_t flags;
	uint16_t idx;
	uint16_t ring[];          /* num entries, then used_event */
};

struct vring_used_elem {
	uint32_t id;
	uint32_t len;
};

struct vring_used {
	uint16_t flags;
	uint16_t idx;
	struct vring_used_elem ring[];   /* num entries, then avail_event */
};

/* One buffer of a chain: physical address and length. */
struct virtq_buf {
	uint64_t phys;
	uint32_t len;
	bool device_writes;
};

struct virtq {
	unsigned num;             /* ring size, a power of two <= 32768 */
	struct vring_desc *desc;
	struct vring_avail *avail;
	struct vring_used *used;
	uint64_t desc_phys, avail_phys, used_phys;
	uint16_t free_head;       /* first free descriptor (free ones chained by next) */
	uint16_t num_free;
	uint16_t avail_idx;       /* our copy of avail->idx */
	uint16_t last_used;       /* next used->idx position we consume */
	void **cookie;            /* per head descriptor: the caller's request */
	/* VIRTIO_F_EVENT_IDX (section 2.7.7, 2.7.10): the device says when it
	 * wants a notification (avail_event, after the used ring) and we say
	 * when we want an interrupt (used_event, after the available ring)
	 * instead of the flags. Set by the caller after virtq_init. */
	bool event_idx;
	bool cb_disabled;         /* interrupts suppressed (virtq_disable_cb) */
	uint16_t kick_idx;        /* avail_idx at the last notification decision */
	uint16_t kicked_idx;      /* avail_idx at the last decision that notified */
	uint16_t seen_event;      /* avail_event as read at the last decision */
	uint32_t repairs;         /* notifications only the repair asked for */
};

/* Bytes of ring memory for num entries, and where avail/used start. */
size_t virtq_ring_bytes(unsigned num, size_t *avail_off, size_t *used_off);
/* Sets up vq over zeroed-or-not ring memory `mem` at physical `phys`
 * (virtq_ring_bytes(num) bytes) with a cookie array of num entries. */
void virtq_init(struct virtq *vq, unsigned num, void *mem, uint64_t phys, void **cookie);
/* Adds one chain: the n buffers in order (device-readable ones must come
 * before device-writable ones) and makes it available. Returns the head
 * descriptor, or -1 when fewer than n descriptors are free (or n is 0). */
int virtq_add(struct virtq *vq, const struct virtq_buf *bufs, unsigned n, void *cookie);
/* Whether the device wants to hear about the chains added since the last
 * call: with event_idx, whether avail_event falls among them (section
 * 2.7.10); else unless it set VRING_USED_F_NO_NOTIFY. Call once per batch
 * of adds, right before notifying (it remembers where the batch ended).
 * With event_idx it also notifies when avail_event sits, unchanged since
 * the previous call, among chains an earlier call declined to notify: the
 * device asked for them and has not moved, so that earlier decision read
 * a stale avail_event (the store->load fence it relies on was not kept:
 * QEMU before 8.1 drops fences under TCG with one vCPU) and the device
 * waits for a kick that never came (see virtqueue.c). */
bool virtq_should_notify(struct virtq *vq);
/* Takes the next used chain: returns its cookie and the bytes the device
 * wrote (*len), frees its descriptors; NULL when none is pending. */
void *virtq_get_used(struct virtq *vq, uint32_t *len);
/* Whether the device has used chains we have not taken yet. */
bool virtq_has_used(const struct virtq *vq);
/* Interrupt suppression, a hint to the device (section 2.7.7): disable
 * asks for no interrupts (flag, or with event_idx a used_event the used
 * index will not reach for 65535 entries); enable asks for one at the next
 * used chain and returns false when chains are already waiting (they will
 * raise no interrupt: the caller must take them). With event_idx and
 * interrupts on, virtq_get_used moves used_event along as it consumes. */
void virtq_disable_cb(struct virtq *vq);
bool virtq_enable_cb(struct virtq *vq);
/* The device's wrap-safe test: does moving an index from old to new_ pass
 * event? (virtio 1.2 section 2.7.10, vring_need_event) */
static inline bool virtq_need_event(uint16_t event, uint16_t new_, uint16_t old)
{
	return (uint16_t)(new_ - event - 1) < (uint16_t)(new_ - old);
}
