/*
 * selftest=net: on the first interface, with QEMU's user-mode network
 * (slirp: we are 10.0.2.15/24, the gateway 10.0.2.2 answers ARP and
 * ICMP echo), resolves the gateway and pings it, printing round-trip
 * times; then feeds malformed frames straight into netif_input and checks
 * each is counted under its drop reason. Without an interface: skipped.
 * Addresses can be changed with net.ip=, net.gw= (e.g. on a tap device).
 */
#include "net/ip.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "arch/x86_64/time.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "lib/string.h"
#include "errno.h"

extern struct cmdline kernel_cmdline;
uint64_t virtio_net_rx_interrupts(struct netif *nif);

#define MS 1000000ull

static uint32_t cmdline_ip(const char *key, uint32_t dflt)
{
	const char *s = cmdline_get(&kernel_cmdline, key);
	uint32_t ip;
	if (s && ip4_parse(s, &ip) == 0)
		return ip;
	if (s)
		pr_warn("net: %s=%s is not an IPv4 address; using the default", key, s);
	return dflt;
}

/* Feeds one frame and checks that exactly `why` went up by one. */
static int expect_drop(struct netif *nif, const uint8_t *f, size_t len, enum net_drop why)
{
	struct net_drops before = nif->drops;
	netif_input(nif, f, len);
	int bad = 0;
	for (int r = 1; r < NET_DROP_MAX; r++) {
		uint64_t d = nif->drops.n[r] - before.n[r];
		if (d != (r == (int)why)) {
			pr_err("net selftest: frame of %zu bytes: %s +%lu (expected %s)", len,
			       net_drop_name((enum net_drop)r), d, net_drop_name(why));
			bad = 1;
		}
	}
	return bad;
}

static int malformed(struct netif *nif, const uint8_t gw_mac[ETH_ALEN])
{
	uint8_t f[128];
	int bad = 0;
	uint32_t src = nif->gateway, dst = nif->addr;
	size_t n = eth_build(f, nif->mac, gw_mac, ETH_P_IPV4);
	uint8_t *ip = f + n;
	/* A valid UDP datagram to a port nobody has: counted as no_port. */
	memset(ip + 28, 'x', 16);
	udp_build(ip + 20, 9, 9, src, dst, 16);
	ipv4_build(ip, 0, 1, 0, 64, IPPROTO_UDP, src, dst, 24);
	bad |= expect_drop(nif, f, 14 + 44, NET_DROP_UDP_NO_PORT);
	bad |= expect_drop(nif, f, 10, NET_DROP_ETH_SHORT);
	bad |= expect_drop(nif, f, 14 + 19, NET_DROP_IP_SHORT);
	bad |= expect_drop(nif, f, 14 + 40, NET_DROP_IP_LEN);     /* truncated datagram */
	ip[0] = 0x44;
	bad |= expect_drop(nif, f, 14 + 44, NET_DROP_IP_IHL);
	ip[0] = 0x4f;
	bad |= expect_drop(nif, f, 14 + 44, NET_DROP_IP_IHL);     /* 60 > 44 bytes */
	ip[0] = 0x45;
	ip[8]--;                                                   /* TTL, checksum kept */
	bad |= expect_drop(nif, f, 14 + 44, NET_DROP_IP_CSUM);
	ip[8]++;
	ip[20 + 8 + 3] ^= 0x40;                                    /* payload bit */
	bad |= expect_drop(nif, f, 14 + 44, NET_DROP_UDP_CSUM);
	ip[20 + 8 + 3] ^= 0x40;
	/* A TCP segment with a malformed option list (checksum right). */
	memset(ip + 20, 0, 24);
	ip[20 + 12] = 6 << 4;
	ip[20 + 20] = 2;          /* MSS of length 9 */
	ip[20 + 21] = 9;
	put_be16(ip + 20 + 16, csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP, 24),
						  ip + 20, 24)));
	ipv4_build(ip, 0, 2, 0, 64, IPPROTO_TCP, src, dst, 24);
	bad |= expect_drop(nif, f, 14 + 44, NET_DROP_TCP_OPT);
	/* Not for us: another MAC, another address, a multicast source. */
	f[5] ^= 1;
	bad |= expect_drop(nif, f, 14 + 44, NET_DROP_ETH_DST);
	f[5] ^= 1;
	ipv4_build(ip, 0, 3, 0, 64, IPPROTO_TCP, src, dst + 1, 24);
	bad |= expect_drop(nif, f, 14 + 44, NET_DROP_IP_NOT_US);
	ipv4_build(ip, 0, 3, 0, 64, IPPROTO_TCP, IP4(224, 0, 0, 1), dst, 24);
	bad |= expect_drop(nif, f, 14 + 44, NET_DROP_IP_SRC);
	/* A fragment that is not the last, of a length not a multiple of 8. */
	ipv4_build(ip, 0, 4, IPV4_MF, 64, IPPROTO_UDP, src, dst, 20);
	bad |= expect_drop(nif, f, 14 + 40, NET_DROP_IP_REASM);
	/* An ARP for Ethernet/IPv6 and an IPv6 frame. */
	n = eth_build(f, eth_broadcast, gw_mac, ETH_P_ARP);
	struct arp_info a = { .op = ARP_OP_REQUEST, .spa = src, .tpa = dst };
	arp_build(f + n, &a);
	f[n + 3] = 0xdd;
	bad |= expect_drop(nif, f, n + ARP_LEN, NET_DROP_ARP_FORMAT);
	put_be16(f + 12, 0x86dd);
	bad |= expect_drop(nif, f, 60, NET_DROP_ETH_TYPE);
	return bad;
}

/* ---- fuzzing the input path, with transmission diverted ---- */

static uint64_t sink_frames, sink_bad;

/* Stands in for the driver while fuzzing: whatever the input path
 * answers must itself parse cleanly, and nothing reaches the wire (a
 * mutated echo request could otherwise make us answer arbitrary hosts
 * through slirp). */
static int sink_send(struct netif *nif, const void *frame, size_t len)
{
	struct eth_info e;
	struct ipv4_info ip;
	struct arp_info a;
	struct icmp_info ic;
	sink_frames++;
	if (len > ETH_HLEN + nif->mtu || eth_parse(frame, len, &e) != NET_OK) {
		sink_bad++;
		return 0;
	}
	if (e.type == ETH_P_ARP)
		sink_bad += arp_parse(e.payload, e.len, &a) != NET_OK;
	else if (e.type != ETH_P_IPV4 || ipv4_parse(e.payload, e.len, &ip) != NET_OK ||
		 ip.src != nif->addr ||
		 (ip.proto == IPPROTO_ICMP && icmp_parse(ip.payload, ip.payload_len, &ic) != NET_OK))
		sink_bad++;
	return 0;
}

static uint32_t rnd_state = 0x2545f491;
static uint32_t rnd(void)
{
	rnd_state ^= rnd_state << 13;
	rnd_state ^= rnd_state >> 17;
	rnd_state ^= rnd_state << 5;
	return rnd_state;
}

/* Seeds addressed to us (ARP request, echo request, UDP, TCP with
 * options), mutated, truncated, padded, checksums repaired half the
 * time; plus noise. Every frame must be counted as received and either
 * handled or dropped under some reason. */
static int fuzz_input(struct netif *nif, const uint8_t gw_mac[ETH_ALEN])
{
	static uint8_t seed[4][128], f[160];
	size_t seedlen[4];
	uint32_t src = nif->gateway, dst = nif->addr;
	for (int k = 0; k < 4; k++)
		eth_build(seed[k], nif->mac, gw_mac, k == 0 ? ETH_P_ARP : ETH_P_IPV4);
	struct arp_info a = { .op = ARP_OP_REQUEST, .spa = src, .tpa = dst };
	memcpy(a.sha, gw_mac, ETH_ALEN);
	seedlen[0] = ETH_HLEN + arp_build(seed[0] + ETH_HLEN, &a);
	uint8_t *ip = seed[1] + ETH_HLEN;
	size_t n = icmp_build_echo(ip + 20, ICMP_ECHO_REQUEST, 7, 7, "fuzzfuzzfuzz", 12);
	seedlen[1] = ETH_HLEN + ipv4_build(ip, 0, 1, 0, 64, IPPROTO_ICMP, src, dst, n) + n;
	ip = seed[2] + ETH_HLEN;
	memset(ip + 28, 'u', 20);
	n = udp_build(ip + 20, 1000, 2000, src, dst, 20) + 20;
	seedlen[2] = ETH_HLEN + ipv4_build(ip, 0, 2, 0, 64, IPPROTO_UDP, src, dst, n) + n;
	ip = seed[3] + ETH_HLEN;
	struct tcp_info t = { .sport = 80, .dport = 5555, .flags = TCP_SYN, .window = 1000 };
	t.opts = (struct tcp_opts){ .has_mss = true, .mss = 1460, .has_wscale = true,
				    .wscale = 7, .sack_ok = true, .has_ts = true };
	n = tcp_build(ip + 20, &t, src, dst, 0);
	seedlen[3] = ETH_HLEN + ipv4_build(ip, 0, 3, 0, 64, IPPROTO_TCP, src, dst, n) + n;

	uint64_t f0 = net_lock_irqsave();
	int (*real_send)(struct netif *, const void *, size_t) = nif->send;
	nif->send = sink_send;
	net_unlock_irqrestore(f0);
	uint64_t rx0 = nif->stats.rx_packets, drop0 = nif->stats.rx_dropped;
	unsigned rounds = 20000, handled_min = 0;
	for (unsigned i = 0; i < rounds; i++) {
		size_t len;
		if (i % 8 == 7) {                      /* noise */
			len = rnd() % sizeof(f);
			for (size_t j = 0; j < len; j++)
				f[j] = (uint8_t)rnd();
			if (len >= ETH_HLEN && rnd() % 2)
				memcpy(f, nif->mac, ETH_ALEN);
		} else {
			unsigned k = rnd() % 4;
			len = seedlen[k];
			memcpy(f, seed[k], len);
			for (unsigned m = 1 + rnd() % 3; m; m--) {
				size_t at = ETH_HLEN + rnd() % (len - ETH_HLEN);
				f[at] = rnd() % 2 ? (uint8_t)rnd() : f[at] ^ (uint8_t)(1u << (rnd() % 8));
			}
			if (rnd() % 4 == 0)
				len = rnd() % (len + 1);
			else if (rnd() % 8 == 0)
				len += rnd() % (sizeof(f) - len);
			uint8_t *h = f + ETH_HLEN;
			unsigned ihl = (h[0] & 0xf) * 4u;
			if (k && rnd() % 2 && len >= ETH_HLEN + 20 && ihl >= 20 &&
			    ETH_HLEN + ihl <= len) {
				put_be16(h + 10, 0);
				put_be16(h + 10, csum_fold(csum_add(0, h, ihl)));
				if (k == 1 && len >= ETH_HLEN + ihl + 8) {
					size_t pl = len - ETH_HLEN - ihl;
					put_be16(h + ihl + 2, 0);
					put_be16(h + ihl + 2, csum_fold(csum_add(0, h + ihl, pl)));
				}
			}
			if (k == 1 && len == seedlen[1])
				handled_min++;   /* (may or may not be valid after mutation) */
		}
		netif_input(nif, f, len);
	}
	f0 = net_lock_irqsave();
	nif->send = real_send;
	net_unlock_irqrestore(f0);
	(void)handled_min;
	uint64_t got = nif->stats.rx_packets - rx0;
	uint64_t dropped = nif->stats.rx_dropped - drop0;
	pr_info("net: fuzz: %u frames in, %lu dropped, %lu replies (%lu malformed)", rounds,
		dropped, sink_frames, sink_bad);
	/* Real traffic may arrive meanwhile, so at least, not exactly. */
	if (got < rounds || dropped == 0 || dropped > got || sink_bad) {
		pr_err("net selftest: fuzz accounting: %lu received, %lu dropped, %lu bad replies",
		       got, dropped, sink_bad);
		return 1;
	}
	return 0;
}

static int net_selftest(void)
{
	struct netif *nif = netif_find("eth0");
	if (!nif) {
		pr_info("net selftest: no network interface; skipped");
		return 0;
	}
	if (!nif->link_up) {
		pr_err("net selftest: %s: link down", nif->name);
		return 1;
	}
	uint32_t addr = cmdline_ip("net.ip", IP4(10, 0, 2, 15));
	uint32_t gw = cmdline_ip("net.gw", IP4(10, 0, 2, 2));
	int r = netif_set_addr(nif, addr, IP4(255, 255, 255, 0), gw);
	if (r < 0) {
		pr_err("net selftest: %s: cannot bring it up (%d)", nif->name, r);
		return 1;
	}

	char b[16];
	uint8_t mac[ETH_ALEN];
	uint64_t t0 = clock_monotonic_ns();
	r = netif_resolve(nif, gw, mac, t0 + 5000 * MS);
	if (r < 0) {
		pr_err("net selftest: no ARP answer from %s (%d)", ip4_str(gw, b), r);
		return 1;
	}
	uint64_t us = (clock_monotonic_ns() - t0) / 1000;
	pr_info("net: %s is at %02x:%02x:%02x:%02x:%02x:%02x (ARP, %lu.%03lu ms)", ip4_str(gw, b),
		mac[0], mac[1], mac[2], mac[3], mac[4], mac[5], us / 1000, us % 1000);

	int answered = 0;
	for (uint16_t seq = 1; seq <= 4; seq++) {
		uint64_t rtt;
		/* The last one fills the MTU exactly. */
		size_t size = seq == 4 ? nif->mtu - IPV4_HLEN - ICMP_HLEN : 56;
		r = net_ping(nif, gw, seq, size, clock_monotonic_ns() + 2000 * MS, &rtt);
		if (r < 0) {
			pr_err("net: ping %s seq %u (%zu bytes): %d", b, seq, size, r);
			continue;
		}
		answered++;
		pr_info("net: %zu bytes from %s: icmp_seq=%u time=%lu.%03lu ms", size + 8, b, seq,
			rtt / 1000000, rtt / 1000 % 1000);
	}
	int bad = answered == 4 ? 0 : 1;
	if (bad)
		pr_err("net selftest: %d of 4 pings answered", answered);

	/* More round trips than the rings have entries: receive buffers and
	 * transmit buffers must come back and be reused. */
	unsigned burst = 600, ok = 0;
	uint64_t tmin = UINT64_MAX, tmax = 0, tsum = 0;
	for (unsigned i = 0; i < burst; i++) {
		uint64_t rtt;
		if (net_ping(nif, gw, (uint16_t)(100 + i), 32, clock_monotonic_ns() + 2000 * MS,
			     &rtt) < 0)
			continue;
		ok++;
		tmin = MIN(tmin, rtt);
		tmax = MAX(tmax, rtt);
		tsum += rtt;
	}
	if (ok != burst) {
		pr_err("net selftest: burst: %u of %u pings answered", ok, burst);
		bad = 1;
	} else {
		uint64_t avg = tsum / ok;
		pr_info("net: %u pings: rtt min/avg/max = %lu.%03lu/%lu.%03lu/%lu.%03lu ms", ok,
			tmin / 1000000, tmin / 1000 % 1000, avg / 1000000, avg / 1000 % 1000,
			tmax / 1000000, tmax / 1000 % 1000);
	}

	/* The answers came by interrupt, not by the transmit path polling. */
	uint64_t irqs = virtio_net_rx_interrupts(nif);
	if (irqs == 0) {
		pr_err("net selftest: no receive interrupt");
		bad = 1;
	}
	bad |= malformed(nif, mac);

	struct netif_stats *s = &nif->stats;
	pr_info("net: %s: rx %lu packets %lu bytes (%lu dropped), tx %lu packets %lu bytes "
		"(%lu dropped), %lu rx interrupts", nif->name, s->rx_packets, s->rx_bytes,
		s->rx_dropped, s->tx_packets, s->tx_bytes, s->tx_dropped, irqs);
	for (int i = 1; i < NET_DROP_MAX; i++)
		if (nif->drops.n[i])
			pr_info("net: %s: dropped %s: %lu", nif->name,
				net_drop_name((enum net_drop)i), nif->drops.n[i]);
	/* Last: it leaves the counters full of fuzz. */
	bad |= fuzz_input(nif, mac);
	return bad;
}
SELFTEST("net", net_selftest);
