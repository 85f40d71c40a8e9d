/* Split virtqueue ring arithmetic (kernel/drivers/virtio/virtqueue.c)
 * against a simulated device: chain building, free-list bookkeeping,
 * 16-bit index wrap-around, exhaustion, notification suppression. */
#include "check.h"
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include "../../kernel/drivers/virtio/virtqueue.c"

/* The device side: takes the next available chain, checks its shape,
 * returns it as used with `written` bytes. */
static uint16_t dev_avail_seen;

static int dev_take(struct virtq *vq, unsigned *n_out, unsigned *n_in, uint64_t *first_phys)
{
	if (vq->avail->idx == dev_avail_seen)
		return -1;
	uint16_t head = vq->avail->ring[dev_avail_seen & (vq->num - 1)];
	dev_avail_seen++;
	unsigned o = 0, in = 0, steps = 0;
	uint16_t i = head;
	*first_phys = vq->desc[i].addr;
	for (;;) {
		if (vq->desc[i].flags & VRING_DESC_F_WRITE)
			in++;
		else {
			CHECK(in == 0);     /* readable ones come first */
			o++;
		}
		if (!(vq->desc[i].flags & VRING_DESC_F_NEXT))
			break;
		i = vq->desc[i].next;
		CHECK(++steps < vq->num);
		if (steps >= vq->num)
			break;
	}
	*n_out = o, *n_in = in;
	return head;
}

static void dev_use(struct virtq *vq, uint16_t head, uint32_t len)
{
	uint16_t u = vq->used->idx;
	vq->used->ring[u & (vq->num - 1)].id = head;
	vq->used->ring[u & (vq->num - 1)].len = len;
	vq->used->idx = (uint16_t)(u + 1);
}

int main(void)
{
	size_t ao, uo;
	CHECK(virtq_ring_bytes(8, &ao, &uo) == 4096 + 6 + 64);
	CHECK(ao == 128 && uo == 4096);
	CHECK(virtq_ring_bytes(256, &ao, &uo) == 8192 + 6 + 2048);
	CHECK(uo % 4096 == 0 && uo >= ao + 6 + 512);

	enum { N = 8 };
	size_t bytes = virtq_ring_bytes(N, NULL, NULL);
	void *mem = aligned_alloc(4096, (bytes + 4095) & ~4095ul);
	memset(mem, 0xAA, bytes);            /* init must not rely on zeroed memory */
	void *cookies[N];
	struct virtq vq;
	virtq_init(&vq, N, mem, 0x100000, cookies);
	CHECK(vq.num_free == N && vq.desc_phys == 0x100000 && vq.used_phys == 0x100000 + 4096);
	CHECK(vq.avail->idx == 0 && vq.used->idx == 0);
	CHECK(!virtq_has_used(&vq) && virtq_get_used(&vq, NULL) == NULL);

	/* A 3-buffer chain: header (read), data (write), status (write). */
	struct virtq_buf b[N + 1];
	b[0] = (struct virtq_buf){ 0x1000, 16, false };
	b[1] = (struct virtq_buf){ 0x2000, 512, true };
	b[2] = (struct virtq_buf){ 0x3000, 1, true };
	int h = virtq_add(&vq, b, 3, (void *)0x11);
	CHECK(h >= 0 && vq.num_free == N - 3 && vq.avail->idx == 1);
	unsigned o, in;
	uint64_t ph;
	CHECK(dev_take(&vq, &o, &in, &ph) == h && o == 1 && in == 2 && ph == 0x1000);
	CHECK(vq.desc[h].len == 16);
	CHECK(virtq_should_notify(&vq));
	vq.used->flags = VRING_USED_F_NO_NOTIFY;
	CHECK(!virtq_should_notify(&vq));
	vq.used->flags = 0;
	dev_use(&vq, (uint16_t)h, 513);
	CHECK(virtq_has_used(&vq));
	uint32_t len = 0;
	CHECK(virtq_get_used(&vq, &len) == (void *)0x11 && len == 513);
	CHECK(vq.num_free == N && !virtq_has_used(&vq));

	/* Exhaustion: chains that do not fit are refused, nothing changes. */
	CHECK(virtq_add(&vq, b, 0, (void *)1) == -1);
	CHECK(virtq_add(&vq, b, N + 1, (void *)1) == -1);
	for (int k = 0; k < N; k++)
		b[k] = (struct virtq_buf){ 0x10000u + 0x1000u * (unsigned)k, 512, k > 0 };
	int h1 = virtq_add(&vq, b, 5, (void *)0x21);
	CHECK(h1 >= 0 && vq.num_free == 3);
	CHECK(virtq_add(&vq, b, 4, (void *)0x22) == -1 && vq.num_free == 3 && vq.avail->idx == 2);
	int h2 = virtq_add(&vq, b, 3, (void *)0x23);
	CHECK(h2 >= 0 && vq.num_free == 0);
	/* Completed out of order. */
	CHECK(dev_take(&vq, &o, &in, &ph) == h1 && o == 1 && in == 4);
	CHECK(dev_take(&vq, &o, &in, &ph) == h2 && o == 1 && in == 2);
	dev_use(&vq, (uint16_t)h2, 0);
	dev_use(&vq, (uint16_t)h1, 0);
	CHECK(virtq_get_used(&vq, NULL) == (void *)0x23 && vq.num_free == 3);
	CHECK(virtq_get_used(&vq, NULL) == (void *)0x21 && vq.num_free == N);

	/* Many rounds with mixed chain lengths: the 16-bit indices wrap
	 * (70000 > 65536) and every descriptor keeps coming back. */
	unsigned long rounds = 0;
	int bad = 0;
	uintptr_t next_cookie = 1, expect = 1;
	for (int r = 0; r < 70000; r++) {
		unsigned n = 1 + (unsigned)(r % 3);
		for (unsigned k = 0; k < n; k++)
			b[k] = (struct virtq_buf){ 0x1000u * (k + 1), 512, k + 1 == n };
		if (virtq_add(&vq, b, n, (void *)next_cookie) < 0) {
			bad++;
			break;
		}
		next_cookie++;
		int hh = dev_take(&vq, &o, &in, &ph);
		if (hh < 0 || o + in != n) {
			bad++;
			break;
		}
		dev_use(&vq, (uint16_t)hh, n);
		uint32_t l;
		void *c = virtq_get_used(&vq, &l);
		if (c != (void *)expect || l != n)
			bad++;
		expect++;
		rounds++;
	}
	CHECK(bad == 0 && rounds == 70000);
	CHECK(vq.num_free == N);
	CHECK(vq.avail_idx == (uint16_t)(70000 + 3) && vq.last_used == vq.avail_idx);

	/* A device returning a bogus id does not corrupt the free list. */
	dev_use(&vq, 999, 0);
	CHECK(virtq_get_used(&vq, NULL) == NULL && vq.num_free == N);

	/* Interrupt suppression by flag: disable sets it, enable clears it
	 * and reports chains that are already waiting. */
	virtq_disable_cb(&vq);
	CHECK(vq.avail->flags & VRING_AVAIL_F_NO_INTERRUPT);
	b[0] = (struct virtq_buf){ 0x1000, 64, true };
	h = virtq_add(&vq, b, 1, (void *)0x31);
	dev_take(&vq, &o, &in, &ph);
	dev_use(&vq, (uint16_t)h, 1);
	CHECK(!virtq_enable_cb(&vq) && !(vq.avail->flags & VRING_AVAIL_F_NO_INTERRUPT));
	CHECK(virtq_get_used(&vq, NULL) == (void *)0x31 && virtq_enable_cb(&vq));
	free(mem);

	/* Event index (section 2.7.10): a fresh queue. */
	mem = aligned_alloc(4096, (bytes + 4095) & ~4095ul);
	virtq_init(&vq, N, mem, 0x100000, cookies);
	vq.event_idx = true;
	dev_avail_seen = 0;
	volatile uint16_t *used_ev = &vq.avail->ring[N];
	volatile uint16_t *avail_ev = (volatile uint16_t *)&vq.used->ring[N];
	CHECK((uint8_t *)used_ev + 2 <= (uint8_t *)vq.used &&
	      (uint8_t *)avail_ev + 2 <= (uint8_t *)mem + bytes);
	/* Notifications: only when the batch passes avail_event. */
	*avail_ev = 0;
	virtq_add(&vq, b, 1, (void *)1);
	CHECK(virtq_should_notify(&vq));              /* 0 -> 1 passes 0 */
	virtq_add(&vq, b, 1, (void *)2);
	CHECK(!virtq_should_notify(&vq));             /* 1 -> 2 does not */
	*avail_ev = 3;
	virtq_add(&vq, b, 1, (void *)3);
	CHECK(!virtq_should_notify(&vq));             /* 2 -> 3 */
	virtq_add(&vq, b, 1, (void *)4);
	virtq_add(&vq, b, 1, (void *)5);
	CHECK(virtq_should_notify(&vq));              /* 3 -> 5 passes 3 */
	CHECK(virtq_need_event(0xffff, 1, 0xfffe) && !virtq_need_event(1, 1, 0xfffe));
	/* Interrupts: consuming moves used_event along; disabled, it is left
	 * far behind; enable points it at the next chain. */
	for (int k = 0; k < 2; k++) {
		int hh = dev_take(&vq, &o, &in, &ph);
		dev_use(&vq, (uint16_t)hh, 0);
	}
	CHECK(virtq_get_used(&vq, NULL) == (void *)1 && *used_ev == 1);
	virtq_disable_cb(&vq);
	CHECK(*used_ev == 0 && !(vq.avail->flags & VRING_AVAIL_F_NO_INTERRUPT));
	CHECK(virtq_get_used(&vq, NULL) == (void *)2 && *used_ev == 0);
	CHECK(!virtq_need_event(*used_ev, 2, 1));    /* the device would not interrupt */
	CHECK(virtq_enable_cb(&vq) && *used_ev == 2);
	int hh = dev_take(&vq, &o, &in, &ph);
	dev_use(&vq, (uint16_t)hh, 0);
	CHECK(virtq_need_event(*used_ev, 3, 2));     /* now it would */
	CHECK(!virtq_enable_cb(&vq));                /* and a chain waits */
	free(mem);

	/* A notification lost to a stale avail_event read (the fence between
	 * the avail->idx store and the avail_event load not kept, as QEMU
	 * < 8.1 under TCG with one vCPU does): the device went idle asking
	 * for index 1 after we had read its older request (0). Later calls
	 * notify once it is seen unchanged among chains not notified. */
	mem = aligned_alloc(4096, (bytes + 4095) & ~4095ul);
	virtq_init(&vq, N, mem, 0x100000, cookies);
	vq.event_idx = true;
	avail_ev = (volatile uint16_t *)&vq.used->ring[N];
	*avail_ev = 0;
	virtq_add(&vq, b, 1, (void *)1);
	CHECK(virtq_should_notify(&vq));              /* 0 -> 1 passes 0 */
	virtq_add(&vq, b, 1, (void *)2);
	CHECK(!virtq_should_notify(&vq));             /* stale 0: the lost one */
	*avail_ev = 1;                                /* the device's request lands */
	virtq_add(&vq, b, 1, (void *)3);
	CHECK(!virtq_should_notify(&vq));             /* 1 just changed: maybe busy */
	virtq_add(&vq, b, 1, (void *)4);
	CHECK(virtq_should_notify(&vq));              /* 1 unchanged, passed: repaired */
	virtq_add(&vq, b, 1, (void *)5);
	CHECK(!virtq_should_notify(&vq));             /* and only once */
	/* A busy device moves avail_event every time: no spare notification. */
	for (uint16_t k = 2; k < 6; k++) {
		*avail_ev = k;
		virtq_add(&vq, b, 0, NULL);               /* n == 0 adds nothing */
		vq.avail_idx++, vq.avail->idx = vq.avail_idx;
		CHECK(!virtq_should_notify(&vq));
	}
	/* The same across the 16-bit wrap, batched (two adds per decision):
	 * indexes 0xfffc.., the device's request 0xfffe is read stale. */
	vq.avail_idx = vq.kick_idx = vq.kicked_idx = 0xfffc;
	vq.seen_event = *avail_ev = 0xfffc;
	vq.avail_idx = 0xfffe;
	CHECK(virtq_should_notify(&vq));              /* 0xfffc..0xfffe passes 0xfffc */
	vq.avail_idx = 0;
	CHECK(!virtq_should_notify(&vq));             /* read 0xfffc: stale, lost */
	*avail_ev = 0xfffe;
	vq.avail_idx = 2;
	CHECK(!virtq_should_notify(&vq));             /* changed: not yet */
	vq.avail_idx = 4;
	CHECK(virtq_should_notify(&vq) && vq.kicked_idx == 4);   /* repaired after the wrap */
	vq.avail_idx = 6;
	CHECK(!virtq_should_notify(&vq));
	/* The classic rule is untouched: a request ahead of us is not one we
	 * passed (0x10 > 8), and one inside the batch notifies. */
	*avail_ev = 0x10;
	vq.avail_idx = 8;
	CHECK(!virtq_should_notify(&vq));
	vq.avail_idx = 0x20;
	CHECK(virtq_should_notify(&vq));
	free(mem);
	return CHECK_SUMMARY();
}
