/*
 * selftest=vnet: measures the virtio-net driver on QEMU's user-mode
 * network (or any peer answering ICMP echo at the gateway): bursts of
 * echo requests to the gateway sent through the driver's xmit as fast as
 * the ring takes them (small frames, then full-size ones), and the
 * replies they bring back. Prints transmit frames/s, and receive
 * interrupts and polls per 1000 frames received (the effect of NAPI-style
 * polling and event indexes: compare with virtio_net.napi=0 and the
 * device's event_idx=off). Fails only when frames cannot be sent or no
 * replies come back. Without a virtio-net interface: skipped.
 */
#include "net/netif.h"
#include "net/byteorder.h"
#include "arch/x86_64/time.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "sched/thread.h"
#include "errno.h"

extern struct cmdline kernel_cmdline;
bool virtio_net_is(struct netif *nif);
uint64_t virtio_net_tx_notifies(struct netif *nif);
uint64_t virtio_net_rx_interrupts(struct netif *nif);
uint64_t virtio_net_notify_ns(struct netif *nif, unsigned n);
void virtio_net_copy(void *dst, const void *src, size_t n);
unsigned virtio_net_link_changes(struct netif *nif);
uint64_t virtio_net_rx_handoffs(struct netif *nif);

/* What a transmit costs besides the device: the copy of a full frame
 * against one notification (why xmit copies rather than waiting to
 * chain the caller's buffers). */
static int copy_vs_notify(struct netif *nif)
{
	size_t len = ETH_HLEN + nif->mtu;
	uint8_t *a = kzalloc(len), *b = kzalloc(len + 12);
	if (!a || !b) {
		kfree(a);
		kfree(b);
		return 0;
	}
	const unsigned n = 20000;
	uint64_t t0 = clock_monotonic_ns();
	for (unsigned i = 0; i < n; i++) {
		a[i % len] = (uint8_t)i;
		memcpy(b + 12, a, len);
	}
	uint64_t copy = (clock_monotonic_ns() - t0) / n;
	t0 = clock_monotonic_ns();
	for (unsigned i = 0; i < n; i++) {
		a[i % len] = (uint8_t)i;
		virtio_net_copy(b + 12, a, len);
	}
	uint64_t words = (clock_monotonic_ns() - t0) / n;
	bool same = memcmp(a, b + 12, len) == 0;
	kfree(a);
	kfree(b);
	pr_info("vnet: copying a %zu-byte frame: %lu ns by memcpy, %lu ns by the driver's word "
		"copy%s; one notification: %lu ns", len, (unsigned long)copy,
		(unsigned long)words, same ? "" : " (WRONG)",
		(unsigned long)virtio_net_notify_ns(nif, 200));
	return same ? 0 : 1;
}

#define MS 1000000ull

struct burst {
	uint64_t tx_ns, rx, irqs, polls, notifies, nospc, dev_irqs, handoffs;
};

/* n echo requests of `data` bytes to the gateway; waits up to 2 s for
 * the replies. */
static int burst(struct netif *nif, const uint8_t gw_mac[ETH_ALEN], unsigned n, size_t data,
		 uint16_t seq0, struct burst *b)
{
	size_t len = ETH_HLEN + 20 + 8 + data;
	uint8_t *f = kzalloc(len);
	if (!f)
		return -ENOMEM;
	uint64_t rx0 = nif->stats.rx_packets, irq0 = nif->stats.rx_interrupts;
	uint64_t poll0 = nif->stats.rx_polls, not0 = virtio_net_tx_notifies(nif);
	uint64_t dev0 = virtio_net_rx_interrupts(nif), hand0 = virtio_net_rx_handoffs(nif);
	size_t eh = eth_build(f, gw_mac, nif->mac, ETH_P_IPV4);
	uint64_t t0 = clock_monotonic_ns(), deadline = t0 + 5000 * MS;
	unsigned sent = 0;
	b->nospc = 0;
	while (sent < n && clock_monotonic_ns() < deadline) {
		icmp_build_echo(f + eh + 20, ICMP_ECHO_REQUEST, 0x7a7a, (uint16_t)(seq0 + sent),
				f + eh + 28, data);
		ipv4_build(f + eh, 0, (uint16_t)sent, IPV4_DF, 64, IPPROTO_ICMP, nif->addr,
			   nif->gateway, 8 + data);
		struct net_iov iov[2] = { { f, eh + 20 }, { f + eh + 20, 8 + data } };
		int r = nif->xmit(nif, iov, 2, NULL);
		if (r == -ENOSPC) {
			b->nospc++;
			__asm__ volatile("pause");
			continue;
		}
		if (r < 0) {
			pr_err("vnet selftest: xmit of %zu bytes: %d", len, r);
			kfree(f);
			return r;
		}
		sent++;
	}
	b->tx_ns = clock_monotonic_ns() - t0;
	kfree(f);
	if (sent < n) {
		pr_err("vnet selftest: only %u of %u frames sent in 5 s", sent, n);
		return -ETIMEDOUT;
	}
	/* The replies: until all came or none for 50 ms (a peer may drop
	 * some of a burst: Linux's tap queue overflows). */
	uint64_t end = clock_monotonic_ns() + 2000 * MS, last = 0, quiet = clock_monotonic_ns();
	while (nif->stats.rx_packets - rx0 < n && clock_monotonic_ns() < end) {
		uint64_t now = clock_monotonic_ns();
		if (nif->stats.rx_packets != last) {
			last = nif->stats.rx_packets;
			quiet = now;
		} else if (now - quiet > 50 * MS) {
			break;
		}
		thread_sleep_ns(1 * MS);
	}
	b->rx = nif->stats.rx_packets - rx0;
	b->irqs = nif->stats.rx_interrupts - irq0;
	b->polls = nif->stats.rx_polls - poll0;
	b->notifies = virtio_net_tx_notifies(nif) - not0;
	b->dev_irqs = virtio_net_rx_interrupts(nif) - dev0;
	b->handoffs = virtio_net_rx_handoffs(nif) - hand0;
	return 0;
}

static void report(const char *what, unsigned n, size_t len, const struct burst *b)
{
	uint64_t fps = b->tx_ns ? (uint64_t)n * 1000000000ull / b->tx_ns : 0;
	uint64_t per_k = b->rx ? b->irqs * 1000 / b->rx : 0;
	uint64_t polls_k = b->rx ? b->polls * 1000 / b->rx : 0;
	pr_info("vnet: %s: tx %u frames of %zu bytes in %lu us: %lu frames/s, %lu.%02lu MB/s, "
		"%lu notifications, %lu ring-full retries", what, n, len, b->tx_ns / 1000, fps,
		fps * len / 1000000, fps * len / 10000 % 100, b->notifies, b->nospc);
	pr_info("vnet: %s: rx %lu frames, %lu interrupts (%lu per 1000 frames), %lu polls "
		"(%lu per 1000); %lu device interrupts in all (%lu per 1000 frames sent); "
		"%lu budgets left to the thread", what, b->rx, b->irqs, per_k, b->polls, polls_k,
		b->dev_irqs, b->dev_irqs * 1000 / (n ? n : 1), b->handoffs);
}

/* vnet.link_wait=1: the host turns the link off and on again (QEMU's
 * set_link) around now; the configuration interrupt must bring both
 * changes (counted by the driver, so it does not matter whether they
 * came before we looked). */
static int link_wait(struct netif *nif)
{
	uint64_t t0 = clock_monotonic_ns(), deadline = t0 + 10000 * MS;
	unsigned seen = 0;
	while (clock_monotonic_ns() < deadline) {
		unsigned c = virtio_net_link_changes(nif);
		if (c != seen)
			pr_info("vnet: %u link change(s) after %lu ms, link %s", c,
				(unsigned long)((clock_monotonic_ns() - t0) / MS),
				nif->link_up ? "up" : "down");
		seen = c;
		if (c >= 2 && nif->link_up)
			return 0;
		thread_sleep_ns(1 * MS);
	}
	pr_err("vnet selftest: %u link changes seen, link %s", seen, nif->link_up ? "up" : "down");
	return 1;
}

static int vnet_selftest(void)
{
	struct netif *nif = netif_first();
	while (nif && !virtio_net_is(nif))
		nif = nif->next;
	if (!nif) {
		pr_info("vnet selftest: no virtio-net interface; skipped");
		return 0;
	}
	if (!nif->addr || !nif->gateway) {
		int r = netif_set_addr(nif, IP4(10, 0, 2, 15), IP4(255, 255, 255, 0),
				       IP4(10, 0, 2, 2));
		if (r < 0) {
			pr_err("vnet selftest: %s: cannot configure: %d", nif->name, r);
			return 1;
		}
	}
	uint8_t mac[ETH_ALEN];
	if (netif_resolve(nif, nif->gateway, mac, clock_monotonic_ns() + 3000 * MS) < 0) {
		pr_err("vnet selftest: the gateway does not answer ARP");
		return 1;
	}
	if (cmdline_get(&kernel_cmdline, "vnet.link_wait"))
		return link_wait(nif);
	int bad = 0;
	struct burst b;
	/* Five bursts of each size, summed: one burst's figures depend a lot
	 * on how QEMU's threads happened to interleave with ours. */
	const unsigned reps = 5, nsmall = 2000, nbig = 1000;
	size_t sizes[2] = { 56, nif->mtu - 28 };
	for (int k = 0; k < 2; k++) {
		unsigned n = k ? nbig : nsmall;
		struct burst sum = { 0 };
		for (unsigned r = 0; r < reps; r++) {
			if (burst(nif, mac, n, sizes[k], (uint16_t)(r * 5000 + k * 30000), &b) < 0)
				return 1;
			sum.tx_ns += b.tx_ns, sum.rx += b.rx, sum.irqs += b.irqs;
			sum.polls += b.polls, sum.notifies += b.notifies, sum.nospc += b.nospc;
			sum.dev_irqs += b.dev_irqs, sum.handoffs += b.handoffs;
		}
		report(k ? "full" : "small", n * reps, ETH_HLEN + 20 + 8 + sizes[k], &sum);
		bad |= sum.rx < n * reps / 2;
	}
	if (bad)
		pr_err("vnet selftest: fewer than half the echo requests were answered");
	bad |= copy_vs_notify(nif);
	return bad;
}
SELFTEST("vnet", vnet_selftest);
