/*
 * virtio-net (virtio 1.2 section 5.1), minimal: one receive queue kept
 * full of buffers and one transmit queue, no offloads yet. Features used:
 * MAC (the address from config; else a random locally administered one),
 * STATUS (link state from config; else the link is up), MTU (the device's
 * MTU sizes the frames and the receive buffers).
 *
 * Every packet on either queue is preceded by the 12-byte virtio_net_hdr
 * (in virtio 1.x it always includes num_buffers); with no offloads we send
 * it zeroed and ignore the device's.
 *
 * Receive: num buffers of 12 + 14 + mtu bytes each, allocated when the
 * interface is brought up (vnet_open); the
 * completion callback (interrupt context) hands each frame to netif_input
 * and puts the same buffer straight back, so the ring never runs dry.
 * Transmit: a pool of as many buffers as the ring has entries; send copies
 * the frame into a free one and the completion returns it to the pool.
 * Later: NAPI-style polling with interrupts suppressed under load, merged
 * receive buffers, checksum offload and TSO.
 */
#include "drivers/virtio/virtio.h"
#include "net/netif.h"
#include "arch/x86_64/cpu.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "errno.h"

#define VIRTIO_NET_F_MTU    3
#define VIRTIO_NET_F_MAC    5
#define VIRTIO_NET_F_STATUS 16

/* Config space. */
#define VNET_CFG_MAC    0
#define VNET_CFG_STATUS 6
#define VNET_CFG_MTU    10
#define VIRTIO_NET_S_LINK_UP 1

#define VNET_RXQ 0
#define VNET_TXQ 1
#define VNET_QUEUE_MAX 256
#define VNET_HDR_LEN 12

struct vnet_hdr {
	uint8_t flags, gso_type;
	uint16_t hdr_len, gso_size, csum_start, csum_offset, num_buffers;
};
_Static_assert(sizeof(struct vnet_hdr) == VNET_HDR_LEN, "virtio_net_hdr");

struct vnet {
	struct netif nif;
	struct virtio_device *vd;
	struct virtio_vq *rxq, *txq;
	size_t buf_len;              /* header + largest frame */
	uint8_t **rx_bufs;
	spinlock_t tx_lock;          /* guards the pool */
	uint8_t **tx_free;           /* stack of free transmit buffers */
	unsigned tx_nfree;
	uint64_t rx_refill_failed, rx_short;
};

static int rx_post(struct vnet *v, uint8_t *buf)
{
	struct virtio_sg sg = { buf, (uint32_t)v->buf_len, true };
	return virtio_vq_add(v->rxq, &sg, 1, buf, false);
}

static void vnet_rx_done(struct virtio_vq *q)
{
	struct vnet *v = q->priv;
	uint8_t *buf;
	uint32_t len;
	while ((buf = virtio_vq_get_used(q, &len))) {
		if (len > VNET_HDR_LEN && len <= v->buf_len)
			netif_input(&v->nif, buf + VNET_HDR_LEN, len - VNET_HDR_LEN);
		else
			v->rx_short++;
		/* The descriptor just came back, so there is room. */
		if (rx_post(v, buf) < 0)
			v->rx_refill_failed++;
	}
}

static void vnet_tx_done(struct virtio_vq *q)
{
	struct vnet *v = q->priv;
	uint8_t *buf;
	while ((buf = virtio_vq_get_used(q, NULL))) {
		uint64_t f = spin_lock_irqsave(&v->tx_lock);
		v->tx_free[v->tx_nfree++] = buf;
		spin_unlock_irqrestore(&v->tx_lock, f);
	}
}

static int vnet_send(struct netif *nif, const void *frame, size_t len)
{
	struct vnet *v = nif->priv;
	if (len > v->buf_len - VNET_HDR_LEN)
		return -EMSGSIZE;
	uint64_t f = spin_lock_irqsave(&v->tx_lock);
	uint8_t *buf = v->tx_nfree ? v->tx_free[--v->tx_nfree] : NULL;
	spin_unlock_irqrestore(&v->tx_lock, f);
	if (!buf) {
		/* Completions may be waiting for an interrupt not yet taken. */
		vnet_tx_done(v->txq);
		f = spin_lock_irqsave(&v->tx_lock);
		buf = v->tx_nfree ? v->tx_free[--v->tx_nfree] : NULL;
		spin_unlock_irqrestore(&v->tx_lock, f);
		if (!buf)
			return -ENOSPC;
	}
	memset(buf, 0, VNET_HDR_LEN);
	memcpy(buf + VNET_HDR_LEN, frame, len);
	struct virtio_sg sg = { buf, (uint32_t)(VNET_HDR_LEN + len), false };
	int r = virtio_vq_add(v->txq, &sg, 1, buf, false);
	if (r < 0) {
		f = spin_lock_irqsave(&v->tx_lock);
		v->tx_free[v->tx_nfree++] = buf;
		spin_unlock_irqrestore(&v->tx_lock, f);
	}
	return r;
}

static void random_mac(uint8_t mac[6])
{
	uint64_t r;
	if (!rdrand64(&r))
		r = rdtsc() * 0x9e3779b97f4a7c15ull;
	for (int i = 0; i < 6; i++)
		mac[i] = (uint8_t)(r >> (8 * i));
	mac[0] = (uint8_t)((mac[0] & ~1u) | 2u);   /* unicast, locally administered */
}

static int vnet_open(struct netif *nif);

static void free_bufs(uint8_t **arr, unsigned n)
{
	if (!arr)
		return;
	for (unsigned i = 0; i < n; i++)
		kfree(arr[i]);
	kfree(arr);
}

/* n buffers of len bytes each (the heap's blocks are physically
 * contiguous); NULL, with nothing left allocated, when memory runs out. */
static uint8_t **alloc_bufs(unsigned n, size_t len)
{
	uint8_t **arr = kcalloc(n, sizeof(uint8_t *));
	if (!arr)
		return NULL;
	for (unsigned i = 0; i < n; i++)
		if (!(arr[i] = kmalloc(len))) {
			free_bufs(arr, n);
			return NULL;
		}
	return arr;
}

int virtio_net_probe(struct virtio_device *vd)
{
	uint64_t want = 1ull << VIRTIO_NET_F_MAC | 1ull << VIRTIO_NET_F_STATUS |
			1ull << VIRTIO_NET_F_MTU;
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
	nif->open = vnet_open;
	if (virtio_has_feature(vd, VIRTIO_NET_F_MAC)) {
		for (unsigned i = 0; i < ETH_ALEN; i++)
			virtio_config_read(vd, VNET_CFG_MAC + i, &nif->mac[i], 1);
	} else {
		random_mac(nif->mac);
	}
	nif->link_up = true;
	if (virtio_has_feature(vd, VIRTIO_NET_F_STATUS)) {
		uint16_t st;
		virtio_config_read(vd, VNET_CFG_STATUS, &st, 2);
		nif->link_up = st & VIRTIO_NET_S_LINK_UP;
	}
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
	/* Section 5.1.6.3.1: without merged buffers, each receive buffer
	 * holds a whole frame (at least 1526 bytes with the header). */
	v->buf_len = VNET_HDR_LEN + ETH_HLEN + MAX(nif->mtu, 1500u);
	v->rxq = virtio_setup_vq(vd, VNET_RXQ, VNET_QUEUE_MAX, vnet_rx_done, v);
	v->txq = virtio_setup_vq(vd, VNET_TXQ, VNET_QUEUE_MAX, vnet_tx_done, v);
	if (!v->rxq || !v->txq)
		return -ENODEV;          /* (v stays: the device is marked FAILED) */
	if (netif_register(nif) < 0)
		return -ENOMEM;
	if (virtio_driver_ok(vd) < 0) {
		nif->link_up = false;    /* registered, but never usable */
		return -EIO;
	}
	pr_debug("virtio-net: %s on %s: queues %u/%u, buffers of %zu bytes, irq %d", nif->name,
		 vd->where, v->rxq->ring.num, v->txq->ring.num, v->buf_len, vd->gsi);
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
	uint8_t **rx = alloc_bufs(nrx, v->buf_len), **tx = alloc_bufs(ntx, v->buf_len);
	if (!rx || !tx) {
		free_bufs(rx, nrx);
		free_bufs(tx, ntx);
		pr_warn("virtio-net: %s: no memory for %u+%u buffers", nif->name, nrx, ntx);
		return -ENOMEM;
	}
	uint64_t f = spin_lock_irqsave(&v->tx_lock);
	v->tx_free = tx;
	v->tx_nfree = ntx;
	spin_unlock_irqrestore(&v->tx_lock, f);
	v->rx_bufs = rx;
	/* After DRIVER_OK: a driver must not notify the device before it
	 * (section 3.1.1). */
	for (unsigned i = 0; i < nrx; i++)
		if (rx_post(v, rx[i]) < 0)
			return -EIO;
	pr_debug("virtio-net: %s: up, rx %u x %zu bytes, tx %u", nif->name, nrx, v->buf_len, ntx);
	return 0;
}

/* For the self-test: interrupts taken by the receive queue. */
uint64_t virtio_net_rx_interrupts(struct netif *nif)
{
	struct vnet *v = nif->priv;
	return nif->send == vnet_send ? v->rxq->nr_interrupts : 0;
}
