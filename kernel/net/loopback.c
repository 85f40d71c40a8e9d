/*
 * lo: 127.0.0.1/8 and every datagram to one of our own addresses.
 *
 * Transmit copies the frame and queues it; netd delivers it later (the
 * sender holds net_lock and may be deep in TCP: input there and then
 * would re-enter it). Frames are delivered with NETIF_RX_CSUM_OK: lo
 * offers checksum offload and TSO, so transports leave partial sums and
 * send up to 64 KiB segments, which nobody needs to verify or cut.
 */
#include "net/ip.h"
#include "net/byteorder.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "errno.h"

#define LO_MTU        65536
#define LO_QUEUE_MAX  1024      /* frames waiting for netd ... */
#define LO_QUEUE_BYTES (8u << 20)   /* ... and their bytes (64 KiB TSO frames) */
#define LO_BATCH      64        /* per netd pass, so others get the lock */

struct lo_frame {
	struct list node;
	size_t len;
	uint8_t data[];
};

struct netif *loopback_nif;
static struct netif lo;
static struct list queue = LIST_INIT(queue);
static unsigned queued;
static size_t queued_bytes;
static struct net_work lo_work;

static int lo_xmit(struct netif *nif, const struct net_iov *iov, int n,
		   const struct netif_tx_meta *meta)
{
	(void)nif;
	(void)meta;
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].len;
	if (len > ETH_HLEN + LO_MTU)
		return -EMSGSIZE;
	/* Full: the sender sees -ENOSPC (TCP retransmits, UDP drops). */
	if (queued >= LO_QUEUE_MAX || queued_bytes + len > LO_QUEUE_BYTES)
		return -ENOSPC;
	struct lo_frame *f = kmalloc(sizeof(*f) + len);
	if (!f)
		return -ENOSPC;
	f->len = 0;
	for (int i = 0; i < n; i++) {
		memcpy(f->data + f->len, iov[i].base, iov[i].len);
		f->len += iov[i].len;
	}
	list_push_back(&queue, &f->node);
	queued++;
	queued_bytes += f->len;
	net_defer(&lo_work);
	return 0;
}

static int lo_send(struct netif *nif, const void *frame, size_t len)
{
	const struct net_iov iov = { frame, len };
	return lo_xmit(nif, &iov, 1, NULL);
}

/* netd, net_lock held. */
static void lo_deliver(struct net_work *w)
{
	for (int i = 0; i < LO_BATCH && !list_empty(&queue); i++) {
		struct lo_frame *f = list_entry(queue.next, struct lo_frame, node);
		list_remove(&f->node);
		queued--;
		queued_bytes -= f->len;
		netif_input_locked(&lo, f->data, f->len, NETIF_RX_CSUM_OK);
		kfree(f);
	}
	if (!list_empty(&queue))
		net_defer(w);
}

int loopback_init(void)
{
	if (loopback_nif)
		return 0;
	memcpy(lo.name, "lo", 3);
	lo.mtu = LO_MTU;
	lo.link_up = true;
	lo.send = lo_send;
	lo.xmit = lo_xmit;
	lo.features = NETIF_F_LOOPBACK | NETIF_F_TX_CSUM | NETIF_F_TSO | NETIF_F_RX_CSUM;
	lo_work.fn = lo_deliver;
	list_init(&lo_work.node);
	int r = netif_register(&lo);
	if (r < 0)
		return r;
	loopback_nif = &lo;
	return netif_set_addr(&lo, IP4(127, 0, 0, 1), IP4(255, 0, 0, 0), 0);
}
