/*
 * virtio-net (virtio 1.2 section 5.1): one receive queue kept full of
 * buffers, one transmit queue, the offloads QEMU's back-ends offer.
 *
 * Features, each used only when the device offers it (QEMU's user-mode
 * network offers no checksum or segmentation offload: only a back-end
 * with vnet headers, such as tap, does):
 *   MAC, STATUS (link state, updated by the configuration interrupt), MTU;
 *   CSUM        -> NETIF_F_TX_CSUM: the device completes partial checksums;
 *   HOST_TSO4   -> NETIF_F_TSO: frames up to 64 KiB cut into segments by
 *                  the device;
 *   GUEST_CSUM  -> NETIF_F_RX_CSUM: frames marked DATA_VALID or NEEDS_CSUM
 *                  reach the stack with NETIF_RX_CSUM_OK;
 *   MRG_RXBUF   -> small (2 KiB) receive buffers; a frame may span several
 *                  (num_buffers) and is then copied into one scratch frame;
 *   GUEST_TSO4  -> (only with MRG_RXBUF and GUEST_CSUM) the device may hand
 *                  us TCP segments of up to 64 KiB (a Linux peer's GSO
 *                  packets on a tap); they go up as one frame;
 *   EVENT_IDX   -> notifications and interrupts by event index (in the
 *                  virtqueue core).
 *
 * Every packet on either queue starts with the 12-byte virtio_net_hdr (in
 * virtio 1.x it always includes num_buffers).
 *
 * Receive, NAPI-style: the first interrupt of a burst turns the queue's
 * interrupts off and hands frames to the stack up to a budget; when the
 * ring ran dry it turns them on again and looks once more (a frame that
 * landed before the device saw the request raised no interrupt); when the
 * budget ran out it leaves the rest to the interface's receive thread,
 * which polls in budgets until the ring is dry. Only one of them takes
 * frames at a time (rx_owner). Each buffer is reposted as soon as its
 * frame is handed on, and the device is told once per batch.
 * Transmit: frames are copied (the caller's pieces are only valid during
 * the call: holding them until the device is done would need a reference
 * the stack does not give) into a buffer that also holds the header, so
 * a frame is one descriptor; a TSO frame beyond it continues in one of a
 * few 64 KiB buffers (two descriptors). Transmit interrupts stay off:
 * completions are reaped by the next transmit (and by any interrupt, and
 * by the watchdog while chains are out, so a full ring with nothing more
 * to send still drains).
 * Watchdog: a timer that repairs notifications and interrupts lost to a
 * fence the platform did not keep (vnet_watchdog).
 */
#include "drivers/virtio/virtio.h"
#include "net/checksum.h"
#include "net/netif.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/time.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "mm/page_alloc.h"
#include "sched/thread.h"
#include "sched/timer.h"
#include "errno.h"

extern struct cmdline kernel_cmdline;

#define VIRTIO_NET_F_CSUM       0
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU        3
#define VIRTIO_NET_F_MAC        5
#define VIRTIO_NET_F_GUEST_TSO4 7
#define VIRTIO_NET_F_HOST_TSO4  11
#define VIRTIO_NET_F_MRG_RXBUF  15
#define VIRTIO_NET_F_STATUS     16

/* virtio_net_hdr.flags and gso_type. */
#define VNET_HDR_F_NEEDS_CSUM 1
#define VNET_HDR_F_DATA_VALID 2
#define VNET_HDR_GSO_NONE  0
#define VNET_HDR_GSO_TCPV4 1

/* Config space. */
#define VNET_CFG_MAC    0
#define VNET_CFG_STATUS 6
#define VNET_CFG_MTU    10
#define VIRTIO_NET_S_LINK_UP 1

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_QUEUE_MAX 256
#define VNET_HDR_LEN 12
#define VNET_MRG_BUF 2048        /* receive buffer with MRG_RXBUF: two per page */
#define VNET_BUDGET 64           /* frames per poll before others get a turn */
#define VNET_TSO_BUFS 8          /* 64 KiB transmit buffers with TSO */
#define VNET_TSO_ORDER 4         /* 2^4 pages = 64 KiB */
#define VNET_GSO_MAX (ETH_HLEN + 65535)   /* the largest IPv4 datagram, framed */
#define VNET_WATCHDOG_NS 10000000ull       /* 10 ms: see vnet_watchdog */

struct vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};
_Static_assert(sizeof(struct vnet_hdr) == VNET_HDR_LEN, "virtio_net_hdr");

/* Equal buffers carved out of page blocks (physically contiguous, and no
 * heap redzones around each one in debug boots). */
struct bufset {
	uint8_t **buf;
	unsigned n;
	void **blocks;
	unsigned nblocks, order;
};

/* One transmit chain in flight: its cookie. */
struct vnet_tx {
	uint8_t *buf;                /* header + the frame (or its first part) */
	uint8_t *big;                /* TSO: the rest of the frame, or NULL */
};

struct vnet {
	struct netif nif;
	struct virtio_device *vd;
	struct virtio_vq *rxq, *txq;
	bool mrg, rx_csum, rx_tso;
	bool napi;                   /* virtio_net.napi=0: every frame in the interrupt,
					transmit interrupts on (no mitigation) */
	size_t rx_buf_len;           /* bytes per receive buffer */
	size_t rx_max;               /* largest frame accepted */
	uint8_t *rx_scratch;         /* merged frames are put together here */
	struct bufset rx;

	/* Receive polling: 1 while the interrupt handler or the thread takes
	 * frames (the queue's interrupts are off then). */
	int rx_owner;
	struct wait_queue rx_wq;     /* the thread waits here for rx_sched */
	bool rx_sched;
	struct thread *rx_thread;

	spinlock_t tx_lock;          /* guards the pools */
	size_t tx_buf_len;
	struct bufset tx, big;
	struct vnet_tx *tx_slots;
	struct vnet_tx **tx_free;    /* stack of free slots */
	unsigned tx_nfree;
	uint8_t **big_free;
	unsigned big_nfree;

	/* Watchdog (vnet_watchdog): armed while transmit chains are out or
	 * after a receive burst; wd_armed is 1 from arming until the
	 * callback decides to stop, so only one path arms it at a time. */
	struct ktimer wd;
	int wd_armed;
	uint16_t wd_tx_used;         /* transmit used index at the last look */
	uint64_t tx_nudges, rx_rescues;

	uint64_t rx_refill_failed, rx_bad, rx_merged, rx_toobig, rx_csum_ok;
	uint64_t rx_handoffs;        /* budgets the interrupt left to the thread */
	uint64_t tx_nospc, tx_tso, tx_csum_sw;
	unsigned link_changes;
};

void netif_input_flags(struct netif *nif, const void *frame, size_t len, unsigned rx_flags)
	__attribute__((weak));

/* ---- buffers ---- */

/* Copies by 8-byte words: under TCG each iteration of a rep string
 * instruction costs about the same whatever its width, so rep movsq moves
 * a full frame ~8x faster than the kernel's rep movsb memcpy (selftest=vnet
 * prints both: ~0.4 against ~3.2 us for 1514 bytes). */
static void vnet_copy(void *dst, const void *src, size_t n)
{
	size_t q = n / 8, r = n % 8;
	__asm__ volatile("rep movsq" : "+D"(dst), "+S"(src), "+c"(q) :: "memory");
	__asm__ volatile("rep movsb" : "+D"(dst), "+S"(src), "+c"(r) :: "memory");
}

static void bufset_free(struct bufset *s)
{
	for (unsigned i = 0; s->blocks && i < s->nblocks; i++)
		if (s->blocks[i])
			page_free_virt(s->blocks[i], s->order);
	kfree(s->blocks);
	kfree(s->buf);
	memset(s, 0, sizeof(*s));
}

/* n buffers of size bytes (rounded up to 64), packed into blocks of
 * 2^order pages; 0 or -ENOMEM with nothing left allocated. */
static int bufset_alloc(struct bufset *s, unsigned n, size_t size)
{
	memset(s, 0, sizeof(*s));
	size = ALIGN_UP(size, 64);
	unsigned order = 0;
	while (((size_t)MM_PAGE_SIZE << order) < size)
		order++;
	unsigned per = (unsigned)(((size_t)MM_PAGE_SIZE << order) / size);
	s->n = n;
	s->order = order;
	s->nblocks = (n + per - 1) / per;
	s->buf = kcalloc(n, sizeof(*s->buf));
	s->blocks = kcalloc(s->nblocks, sizeof(*s->blocks));
	if (!s->buf || !s->blocks)
		goto fail;
	for (unsigned b = 0; b < s->nblocks; b++) {
		uint8_t *blk = page_alloc_virt(order);
		if (!blk)
			goto fail;
		s->blocks[b] = blk;
		for (unsigned k = 0; k < per && b * per + k < n; k++)
			s->buf[b * per + k] = blk + k * size;
	}
	return 0;
fail:
	bufset_free(s);
	return -ENOMEM;
}

static void vnet_wd_arm(struct vnet *v)
{
	if (!__atomic_exchange_n(&v->wd_armed, 1, __ATOMIC_SEQ_CST))
		ktimer_arm(&v->wd, clock_monotonic_ns() + VNET_WATCHDOG_NS);
}

/* ---- receive ---- */

static void rx_deliver(struct vnet *v, const void *frame, size_t len, unsigned flags)
{
	if (flags)
		v->rx_csum_ok++;
	if (netif_input_flags)
		netif_input_flags(&v->nif, frame, len, flags);
	else
		netif_input(&v->nif, frame, len);
}

static void rx_repost(struct vnet *v, uint8_t *buf)
{
	struct virtio_sg sg = { buf, (uint32_t)v->rx_buf_len, true };
	/* A descriptor just came back, so there is room. */
	if (virtio_vq_add_nokick(v->rxq, &sg, 1, buf) < 0)
		v->rx_refill_failed++;
}

/* The next buffer of a merged frame: the device publishes all of a
 * frame's buffers with one used index update, so it is there; the short
 * wait only covers a device that does otherwise. */
static uint8_t *rx_next_piece(struct vnet *v, uint32_t *len)
{
	uint64_t deadline = 0;
	for (;;) {
		uint8_t *b = virtio_vq_get_used(v->rxq, len);
		if (b)
			return b;
		uint64_t now = clock_monotonic_ns();
		if (!deadline)
			deadline = now + 1000000;
		else if (now > deadline)
			return NULL;
		__asm__ volatile("pause");
	}
}

/* Takes one frame off the used ring and hands it on; false when none. */
static bool rx_one(struct vnet *v)
{
	uint32_t len;
	uint8_t *buf = virtio_vq_get_used(v->rxq, &len);
	if (!buf)
		return false;
	const struct vnet_hdr *h = (const struct vnet_hdr *)buf;
	unsigned flags = 0;
	if (len <= VNET_HDR_LEN || len > v->rx_buf_len) {
		v->rx_bad++;
		v->nif.stats.rx_dropped++;
		rx_repost(v, buf);
		return true;
	}
	/* NEEDS_CSUM: the sender left a partial checksum (a local peer); no
	 * one on the path can corrupt it, and the IP layer skips the check. */
	if (v->rx_csum && (h->flags & (VNET_HDR_F_DATA_VALID | VNET_HDR_F_NEEDS_CSUM)))
		flags |= NETIF_RX_CSUM_OK;
	unsigned nbufs = v->mrg ? h->num_buffers : 1;
	if (nbufs <= 1) {
		rx_deliver(v, buf + VNET_HDR_LEN, len - VNET_HDR_LEN, flags);
		rx_repost(v, buf);
		return true;
	}
	/* Merged: the header is in the first buffer only; the frame goes on
	 * at the start of the next ones. Copy it into one piece (the stack
	 * takes contiguous frames); all the buffers are consumed whatever
	 * happens, so the next frame starts where it should. */
	bool ok = nbufs <= v->rxq->ring.num && v->rx_scratch;
	size_t off = len - VNET_HDR_LEN;
	if (ok && off <= v->rx_max)
		vnet_copy(v->rx_scratch, buf + VNET_HDR_LEN, off);
	rx_repost(v, buf);
	for (unsigned i = 1; i < nbufs && i < v->rxq->ring.num; i++) {
		uint32_t l;
		uint8_t *b = rx_next_piece(v, &l);
		if (!b) {
			ok = false;
			break;
		}
		if (l > v->rx_buf_len || off + l > v->rx_max)
			ok = false;
		else if (ok)
			vnet_copy(v->rx_scratch + off, b, l);
		off += l;
		rx_repost(v, b);
	}
	if (ok && off <= v->rx_max) {
		v->rx_merged++;
		rx_deliver(v, v->rx_scratch, off, flags);
	} else {
		v->rx_toobig++;
		v->nif.stats.rx_dropped++;
	}
	return true;
}

/* Up to budget frames; the device hears about the reposted buffers once. */
static unsigned rx_poll(struct vnet *v, unsigned budget)
{
	unsigned n = 0;
	while (n < budget && rx_one(v))
		n++;
	if (n)
		virtio_vq_kick(v->rxq);
	v->nif.stats.rx_polls++;
	return n;
}

static bool rx_claim(struct vnet *v)
{
	int zero = 0;
	return __atomic_compare_exchange_n(&v->rx_owner, &zero, 1, false, __ATOMIC_ACQUIRE,
					   __ATOMIC_RELAXED);
}

/* The owner's loop (queue interrupts off). Returns with ownership given
 * up, or (in the interrupt, budget exhausted) handed to the thread. */
static void rx_run(struct vnet *v, bool in_irq)
{
	for (;;) {
		if (rx_poll(v, VNET_BUDGET) == VNET_BUDGET) {
			if (in_irq && v->rx_thread) {
				v->rx_handoffs++;
				uint64_t f = wq_lock(&v->rx_wq);
				v->rx_sched = true;
				wq_wake_locked(&v->rx_wq, 1);
				wq_unlock(&v->rx_wq, f);
				return;              /* the thread owns it now */
			}
			if (!in_irq)
				thread_yield();
			continue;
		}
		/* Dry: interrupts back on, ownership given up, then one more
		 * look. Releasing before looking matters: an interrupt that
		 * comes in between finds the owner still set and returns, and
		 * the frame that raised it is what the look finds. */
		virtio_vq_enable_cb(v->rxq);
		__atomic_store_n(&v->rx_owner, 0, __ATOMIC_SEQ_CST);
		if (!virtq_has_used(&v->rxq->ring) || !rx_claim(v)) {
			/* The look can miss a frame whose interrupt the
			 * device then skips (the enable's fence not kept,
			 * see virtqueue.c): the watchdog looks again later. */
			vnet_wd_arm(v);
			return;
		}
		virtio_vq_disable_cb(v->rxq);
	}
}

static void vnet_rx_done(struct virtio_vq *q)
{
	struct vnet *v = q->priv;
	if (!v->napi) {
		/* Everything in the interrupt, as before polling. */
		if (!virtq_has_used(&q->ring))
			return;
		v->nif.stats.rx_interrupts++;
		while (rx_poll(v, VNET_BUDGET) == VNET_BUDGET)
			;
		return;
	}
	if (!virtq_has_used(&q->ring) || !rx_claim(v))
		return;                      /* nothing, or a poller has it */
	v->nif.stats.rx_interrupts++;
	virtio_vq_disable_cb(q);
	rx_run(v, true);
}

static void vnet_rx_thread(void *arg)
{
	struct vnet *v = arg;
	for (;;) {
		wq_wait_event(&v->rx_wq, v->rx_sched, TIME_FOREVER, 0);
		uint64_t f = wq_lock(&v->rx_wq);
		v->rx_sched = false;
		wq_unlock(&v->rx_wq, f);
		rx_run(v, false);            /* the interrupt handed us ownership */
	}
}

/* ---- transmit ---- */

/* Takes back the chains the device is done with (tx_lock held). */
static unsigned tx_reap_locked(struct vnet *v)
{
	struct vnet_tx *t;
	unsigned n = 0;
	while ((t = virtio_vq_get_used(v->txq, NULL))) {
		if (t->big)
			v->big_free[v->big_nfree++] = t->big;
		t->big = NULL;
		v->tx_free[v->tx_nfree++] = t;
		n++;
	}
	return n;
}

static void vnet_tx_done(struct virtio_vq *q)
{
	struct vnet *v = q->priv;
	if (!v->tx_free)
		return;
	uint64_t f = spin_lock_irqsave(&v->tx_lock);
	if (tx_reap_locked(v))
		v->nif.stats.tx_interrupts++;
	spin_unlock_irqrestore(&v->tx_lock, f);
}

/* A slot (and a big buffer when want_big); NULL when none is free even
 * after reaping. */
static struct vnet_tx *tx_get(struct vnet *v, bool want_big)
{
	struct vnet_tx *t = NULL;
	uint64_t f = spin_lock_irqsave(&v->tx_lock);
	for (int tries = 0; tries < 2 && !t; tries++) {
		if (tries)
			tx_reap_locked(v);
		if (v->tx_nfree && (!want_big || v->big_nfree)) {
			t = v->tx_free[--v->tx_nfree];
			t->big = want_big ? v->big_free[--v->big_nfree] : NULL;
		}
	}
	spin_unlock_irqrestore(&v->tx_lock, f);
	return t;
}

static void tx_put(struct vnet *v, struct vnet_tx *t)
{
	uint64_t f = spin_lock_irqsave(&v->tx_lock);
	if (t->big)
		v->big_free[v->big_nfree++] = t->big;
	t->big = NULL;
	v->tx_free[v->tx_nfree++] = t;
	spin_unlock_irqrestore(&v->tx_lock, f);
}

/* Copies len bytes of the pieces, from byte `skip` on, to dst. */
static void iov_copy(uint8_t *dst, const struct net_iov *iov, int n, size_t skip, size_t len)
{
	for (int i = 0; i < n && len; i++) {
		if (skip >= iov[i].len) {
			skip -= iov[i].len;
			continue;
		}
		size_t k = MIN(iov[i].len - skip, len);
		vnet_copy(dst, (const uint8_t *)iov[i].base + skip, k);
		dst += k;
		len -= k;
		skip = 0;
	}
}

static int vnet_xmit(struct netif *nif, const struct net_iov *iov, int n,
		     const struct netif_tx_meta *meta)
{
	struct vnet *v = nif->priv;
	if (!v->tx_free)
		return -ENETDOWN;
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].len;
	bool gso = meta && meta->gso_size && len > ETH_HLEN + nif->mtu;
	if (gso ? !(nif->features & NETIF_F_TSO) || len > VNET_GSO_MAX ||
		  meta->hdr_len >= len || !meta->csum_partial
		: len > ETH_HLEN + nif->mtu)
		return -EMSGSIZE;
	if (meta && meta->csum_partial &&
	    ((size_t)meta->csum_start + meta->csum_offset + 2 > len))
		return -EINVAL;
	size_t room = v->tx_buf_len - VNET_HDR_LEN;
	struct vnet_tx *t = tx_get(v, len > room);
	if (!t) {
		v->tx_nospc++;
		return -ENOSPC;
	}
	struct vnet_hdr *h = (struct vnet_hdr *)t->buf;
	memset(h, 0, sizeof(*h));
	size_t first = MIN(len, room);
	iov_copy(t->buf + VNET_HDR_LEN, iov, n, 0, first);
	if (len > first)
		iov_copy(t->big, iov, n, first, len - first);
	if (meta && meta->csum_partial) {
		if (nif->features & NETIF_F_TX_CSUM) {
			h->flags = VNET_HDR_F_NEEDS_CSUM;
			h->csum_start = meta->csum_start;
			h->csum_offset = meta->csum_offset;
		} else if (len <= room) {
			/* Not offered: finish it here (the field holds the
			 * pseudo-header sum, as the device would find it). */
			uint8_t *p = t->buf + VNET_HDR_LEN;
			uint16_t c = csum_fold(csum_add(0, p + meta->csum_start,
							len - meta->csum_start));
			p[meta->csum_start + meta->csum_offset] = (uint8_t)(c >> 8);
			p[meta->csum_start + meta->csum_offset + 1] = (uint8_t)c;
			v->tx_csum_sw++;
		}
	}
	if (gso) {
		h->gso_type = VNET_HDR_GSO_TCPV4;
		h->gso_size = meta->gso_size;
		h->hdr_len = meta->hdr_len;
		v->tx_tso++;
	}
	struct virtio_sg sg[2] = {
		{ t->buf, (uint32_t)(VNET_HDR_LEN + first), false },
		{ t->big, (uint32_t)(len - first), false },
	};
	int r = virtio_vq_add(v->txq, sg, t->big ? 2 : 1, t, false);
	if (r < 0) {
		tx_put(v, t);
		v->tx_nospc++;
		return r;
	}
	vnet_wd_arm(v);
	return 0;
}

/*
 * The watchdog: with VIRTIO_F_EVENT_IDX, a notification or interrupt
 * missed once is missed for good (no later index passes the same event
 * again), and one is missed when a store->load fence is not kept (QEMU
 * < 8.1 under TCG with one vCPU drops them; see virtqueue.c): transmit
 * chains would wait in the ring unseen, or frames in the receive ring
 * with interrupts on and no interrupt coming. Long after the fact our
 * stores are visible, so a plain look is reliable: it reaps transmit
 * completions, kicks the transmit queue when chains wait and the device
 * has used none for a whole period (a spare kick is harmless), and takes
 * receive frames nobody is taking. Armed by transmits and at the end of
 * receive bursts; stops when nothing is outstanding, so an idle
 * interface takes no timer interrupts.
 */
static void vnet_rx_done(struct virtio_vq *q);

static bool vnet_wd_work(struct vnet *v)
{
	uint64_t f = spin_lock_irqsave(&v->tx_lock);
	tx_reap_locked(v);
	bool tx_out = v->tx_nfree < v->txq->ring.num;
	spin_unlock_irqrestore(&v->tx_lock, f);
	return tx_out;
}

static bool vnet_rx_stranded(struct vnet *v)
{
	return v->napi && virtq_has_used(&v->rxq->ring) &&
	       !__atomic_load_n(&v->rx_owner, __ATOMIC_SEQ_CST);
}

static void vnet_watchdog(struct ktimer *t)
{
	struct vnet *v = t->arg;
	bool tx_out = vnet_wd_work(v);
	if (tx_out && virtio_vq_nudge(v->txq, &v->wd_tx_used) && v->tx_nudges++ == 0)
		pr_info("virtio-net: %s: transmit queue stalled with chains waiting; kicked "
			"(a lost notification)", v->nif.name);
	bool rx = vnet_rx_stranded(v);
	if (rx) {
		v->rx_rescues++;
		vnet_rx_done(v->rxq);      /* as the lost interrupt would have */
	}
	if (tx_out || rx) {
		ktimer_arm(t, clock_monotonic_ns() + VNET_WATCHDOG_NS);
		return;
	}
	/* Stop; but a transmit that saw the flag still set did not arm it:
	 * look once more after clearing it. An arming CPU may now wait in
	 * ktimer_arm for this callback to return; it holds no tx_lock
	 * there, and tx_lock is all we take from here on. */
	__atomic_store_n(&v->wd_armed, 0, __ATOMIC_SEQ_CST);
	uint64_t f = spin_lock_irqsave(&v->tx_lock);
	bool out = v->tx_nfree < v->txq->ring.num;
	spin_unlock_irqrestore(&v->tx_lock, f);
	if (out)
		vnet_wd_arm(v);
}

static int vnet_send(struct netif *nif, const void *frame, size_t len)
{
	struct net_iov iov = { frame, len };
	return vnet_xmit(nif, &iov, 1, NULL);
}

/* ---- configuration ---- */

static void random_mac(uint8_t mac[6])
{
	uint64_t r;
	if (!rdrand64(&r))
		r = rdtsc() * 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(r >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & ~1u) | 2u);   /* unicast, locally administered */
}

static bool read_link(struct virtio_device *vd)
{
	uint16_t st;
	virtio_config_read(vd, VNET_CFG_STATUS, &st, 2);
	return st & VIRTIO_NET_S_LINK_UP;
}

/* Configuration interrupt: with STATUS, the link may have changed. */
static void vnet_config_changed(struct virtio_device *vd)
{
	struct vnet *v = vd->priv;
	if (!virtio_has_feature(vd, VIRTIO_NET_F_STATUS))
		return;
	bool up = read_link(vd);
	if (up != v->nif.link_up) {
		v->nif.link_up = up;
		v->link_changes++;
		pr_info("net: %s: link %s", v->nif.name, up ? "up" : "down");
	}
}

static int vnet_open(struct netif *nif);

int virtio_net_probe(struct virtio_device *vd)
{
	uint64_t want = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |
			1ull << VIRTIO_NET_F_MTU | 1ull << VIRTIO_NET_F_CSUM |
			1ull << VIRTIO_NET_F_HOST_TSO4 | 1ull << VIRTIO_NET_F_GUEST_CSUM |
			1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_F_EVENT_IDX;
	/* Large received segments only where they fit: in merged 2 KiB
	 * buffers (never 64 KiB per ring entry). GUEST_TSO4 requires
	 * GUEST_CSUM (section 5.1.3.1). Reading the offer before the reset
	 * that negotiation does is harmless: it is a plain register. */
	uint64_t offered = vd->t->get_features(vd);
	uint64_t need = 1ull << VIRTIO_NET_F_MRG_RXBUF | 1ull << VIRTIO_NET_F_GUEST_CSUM;
	if ((offered & need) == need)
		want |= 1ull << VIRTIO_NET_F_GUEST_TSO4;
	if (virtio_negotiate(vd, want) < 0)
		return -ENODEV;
	struct vnet *v = kzalloc(sizeof(*v));
	if (!v)
		return -ENOMEM;
	v->vd = vd;
	vd->priv = v;
	struct netif *nif = &v->nif;
	nif->priv = v;
	nif->send = vnet_send;
	nif->xmit = vnet_xmit;
	nif->open = vnet_open;
	wq_init(&v->rx_wq);
	ktimer_init(&v->wd, vnet_watchdog, v);
	const char *napi = cmdline_get(&kernel_cmdline, "virtio_net.napi");
	v->napi = !napi || strcmp(napi, "0") != 0;
	if (virtio_has_feature(vd, VIRTIO_NET_F_MAC)) {
		for (unsigned i = 0; i < ETH_ALEN; i++)
			virtio_config_read(vd, VNET_CFG_MAC + i, &nif->mac[i], 1);
	} else {
		random_mac(nif->mac);
	}
	nif->link_up = virtio_has_feature(vd, VIRTIO_NET_F_STATUS) ? read_link(vd) : true;
	nif->mtu = 1500;
	if (virtio_has_feature(vd, VIRTIO_NET_F_MTU)) {
		uint16_t mtu;
		virtio_config_read(vd, VNET_CFG_MTU, &mtu, 2);
		/* 68 is IPv4's minimum (RFC 791); above 9000 we would rather
		 * have merged buffers than 9 KiB ones per ring entry. */
		if (mtu >= 68 && mtu <= 9000)
			nif->mtu = mtu;
		else
			pr_warn("virtio-net: %s: MTU %u ignored; using 1500", vd->where, mtu);
	}
	/* HOST_TSO4 requires CSUM (section 5.1.3.1), which a device checks. */
	if (virtio_has_feature(vd, VIRTIO_NET_F_CSUM))
		nif->features |= NETIF_F_TX_CSUM;
	if (virtio_has_feature(vd, VIRTIO_NET_F_HOST_TSO4) &&
	    virtio_has_feature(vd, VIRTIO_NET_F_CSUM))
		nif->features |= NETIF_F_TSO;
	v->rx_csum = virtio_has_feature(vd, VIRTIO_NET_F_GUEST_CSUM);
	if (v->rx_csum)
		nif->features |= NETIF_F_RX_CSUM;
	v->mrg = virtio_has_feature(vd, VIRTIO_NET_F_MRG_RXBUF);
	v->rx_tso = v->mrg && v->rx_csum && virtio_has_feature(vd, VIRTIO_NET_F_GUEST_TSO4);
	v->rx_max = v->rx_tso ? VNET_GSO_MAX : ETH_HLEN + MAX(nif->mtu, 1500u);
	/* Section 5.1.6.3.1: without merged buffers, each receive buffer
	 * holds a whole frame (at least 1526 bytes with the header). */
	v->rx_buf_len = v->mrg ? VNET_MRG_BUF : VNET_HDR_LEN + v->rx_max;
	v->tx_buf_len = VNET_HDR_LEN + ETH_HLEN + MAX(nif->mtu, 1500u);
	v->rxq = virtio_setup_vq(vd, VNET_RXQ, VNET_QUEUE_MAX, vnet_rx_done, v);
	v->txq = virtio_setup_vq(vd, VNET_TXQ, VNET_QUEUE_MAX, vnet_tx_done, v);
	if (!v->rxq || !v->txq)
		return -ENODEV;          /* (v stays: the device is marked FAILED) */
	vd->config_changed = vnet_config_changed;
	if (netif_register(nif) < 0)
		return -ENOMEM;
	if (virtio_driver_ok(vd) < 0) {
		nif->link_up = false;    /* registered, but never usable */
		return -EIO;
	}
	char feat[96];
	snprintf(feat, sizeof(feat), "%s%s%s%s%s%s%s",
		 nif->features & NETIF_F_TX_CSUM ? " csum" : "",
		 nif->features & NETIF_F_TSO ? " tso4" : "",
		 v->rx_csum ? " guest_csum" : "", v->rx_tso ? " guest_tso4" : "",
		 v->mrg ? " mrg_rxbuf" : "",
		 virtio_has_feature(vd, VIRTIO_F_EVENT_IDX) ? " event_idx" : "",
		 virtio_has_feature(vd, VIRTIO_NET_F_STATUS) ? " status" : "");
	pr_info("net: %s: features%s", nif->name, feat[0] ? feat : " none");
	pr_debug("virtio-net: %s on %s: queues %u/%u, rx buffers of %zu bytes, irq %d", nif->name,
		 vd->where, v->rxq->ring.num, v->txq->ring.num, v->rx_buf_len, vd->gsi);
	return 0;
}

/* Brings the interface up (netif_up, thread context): the buffers are
 * allocated here, not at probe, so a NIC nobody configures costs only
 * its rings, and the ~1 MiB of buffers is not taken during early boot.
 * Until then the device drops what it receives (no buffers posted). */
static int vnet_open(struct netif *nif)
{
	struct vnet *v = nif->priv;
	unsigned nrx = v->rxq->ring.num, ntx = v->txq->ring.num;
	bool tso = nif->features & NETIF_F_TSO;
	int r = bufset_alloc(&v->rx, nrx, v->rx_buf_len);
	if (r == 0)
		r = bufset_alloc(&v->tx, ntx, v->tx_buf_len);
	if (r == 0 && tso)
		r = bufset_alloc(&v->big, VNET_TSO_BUFS, (size_t)MM_PAGE_SIZE << VNET_TSO_ORDER);
	struct vnet_tx *slots = kcalloc(ntx, sizeof(*slots));
	struct vnet_tx **fr = kcalloc(ntx, sizeof(*fr));
	uint8_t **bigfr = tso ? kcalloc(VNET_TSO_BUFS, sizeof(*bigfr)) : NULL;
	if (v->mrg && r == 0 && !(v->rx_scratch = kmalloc(v->rx_max)))
		r = -ENOMEM;
	if (r < 0 || !slots || !fr || (tso && !bigfr)) {
		bufset_free(&v->rx);
		bufset_free(&v->tx);
		bufset_free(&v->big);
		kfree(slots);
		kfree(fr);
		kfree(bigfr);
		kfree(v->rx_scratch);
		v->rx_scratch = NULL;
		pr_warn("virtio-net: %s: no memory for %u+%u buffers", nif->name, nrx, ntx);
		return -ENOMEM;
	}
	for (unsigned i = 0; i < ntx; i++) {
		slots[i].buf = v->tx.buf[i];
		fr[i] = &slots[i];
	}
	for (unsigned i = 0; tso && i < VNET_TSO_BUFS; i++)
		bigfr[i] = v->big.buf[i];
	if (v->napi) {
		char name[THREAD_NAME_LEN];
		snprintf(name, sizeof(name), "%s-rx", nif->name);
		v->rx_thread = thread_create(vnet_rx_thread, v, name);
		if (!v->rx_thread)
			pr_warn("virtio-net: %s: no receive thread; all frames taken in the "
				"interrupt", nif->name);
	}
	uint64_t f = spin_lock_irqsave(&v->tx_lock);
	v->tx_slots = slots;
	v->big_free = bigfr;
	v->big_nfree = tso ? VNET_TSO_BUFS : 0;
	v->tx_nfree = ntx;
	v->tx_free = fr;
	spin_unlock_irqrestore(&v->tx_lock, f);
	/* Completions are reaped by the next transmit: no interrupt each
	 * (virtio_net.napi=0 keeps them, as the driver once did). */
	if (v->napi)
		virtio_vq_disable_cb(v->txq);
	/* After DRIVER_OK: a driver must not notify the device before it
	 * (section 3.1.1). */
	for (unsigned i = 0; i < nrx; i++) {
		struct virtio_sg sg = { v->rx.buf[i], (uint32_t)v->rx_buf_len, true };
		if (virtio_vq_add_nokick(v->rxq, &sg, 1, v->rx.buf[i]) < 0)
			return -EIO;
	}
	virtio_vq_kick(v->rxq);
	pr_debug("virtio-net: %s: up, rx %u x %zu bytes, tx %u x %zu%s", nif->name, nrx,
		 v->rx_buf_len, ntx, v->tx_buf_len, tso ? " + 8 x 64 KiB" : "");
	return 0;
}

/* For the self-test: interrupts taken by the receive queue. */
uint64_t virtio_net_rx_interrupts(struct netif *nif)
{
	struct vnet *v = nif->priv;
	return nif->send == vnet_send ? v->rxq->nr_interrupts : 0;
}

/* For the driver's self-test (virtio_net_selftest.c). */
bool virtio_net_is(struct netif *nif)
{
	return nif->send == vnet_send;
}

uint64_t virtio_net_tx_notifies(struct netif *nif)
{
	struct vnet *v = nif->priv;
	return virtio_net_is(nif) ? v->txq->nr_notifies : 0;
}

/* For the self-test: receive work the interrupt left to the thread. */
uint64_t virtio_net_rx_handoffs(struct netif *nif)
{
	struct vnet *v = nif->priv;
	return virtio_net_is(nif) ? v->rx_handoffs : 0;
}

/* For the self-test: link changes seen by the configuration interrupt. */
unsigned virtio_net_link_changes(struct netif *nif)
{
	struct vnet *v = nif->priv;
	return virtio_net_is(nif) ? v->link_changes : 0;
}

/* For the self-test: the driver's copy. */
void virtio_net_copy(void *dst, const void *src, size_t n)
{
	vnet_copy(dst, src, n);
}

/* For the self-test: the average cost of telling the device about the
 * transmit queue (a register write that exits to QEMU), over n writes.
 * Harmless: the device finds nothing new. */
uint64_t virtio_net_notify_ns(struct netif *nif, unsigned n)
{
	struct vnet *v = nif->priv;
	if (!virtio_net_is(nif) || !n)
		return 0;
	uint64_t t0 = clock_monotonic_ns();
	for (unsigned i = 0; i < n; i++)
		v->vd->t->notify(v->vd, v->txq);
	return (clock_monotonic_ns() - t0) / n;
}
