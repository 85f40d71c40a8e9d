/*
 * selftest=net: on the first interface, with QEMU's user-mode network
 * (slirp: we are 10.0.2.15/24, the gateway 10.0.2.2 answers ARP and
 * ICMP echo), resolves the gateway and pings it, printing round-trip
 * times; then feeds malformed frames straight into netif_input and checks
 * each is counted under its drop reason. Without an interface: skipped.
 * Addresses can be changed with net.ip=, net.gw= (e.g. on a tap device).
 */
#include "net/ip.h"
#include "net/proc_net.h"
#include "net/reasm.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "arch/x86_64/time.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "lib/string.h"
#include "errno.h"
#include "sched/thread.h"

extern struct cmdline kernel_cmdline;
typedef int (*xmit_fn)(struct netif *, const struct net_iov *, int,
		       const struct netif_tx_meta *);
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
	static uint8_t seed[6][128], f[160];
	size_t seedlen[6];
	uint32_t src = nif->gateway, dst = nif->addr;
	for (int k = 0; k < 6; k++)
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
	/* The two halves of a fragmented echo request (mutations reach
	 * reassembly: overlaps, odd lengths, offsets, ends). */
	static uint8_t echo[ICMP_HLEN + 56];
	n = icmp_build_echo(echo, ICMP_ECHO_REQUEST, 8, 8, NULL, 56);
	ip = seed[4] + ETH_HLEN;
	memcpy(ip + 20, echo, 32);
	seedlen[4] = ETH_HLEN + ipv4_build(ip, 0, 4, IPV4_MF, 64, IPPROTO_ICMP, src, dst, 32) + 32;
	ip = seed[5] + ETH_HLEN;
	memcpy(ip + 20, echo + 32, n - 32);
	seedlen[5] = ETH_HLEN + ipv4_build(ip, 0, 4, 32 / 8, 64, IPPROTO_ICMP, src, dst, n - 32) +
		     n - 32;

	uint64_t f0 = net_lock_irqsave();
	int (*real_send)(struct netif *, const void *, size_t) = nif->send;
	xmit_fn real_xmit = nif->xmit;
	nif->send = sink_send;
	nif->xmit = NULL;          /* everything through send, flattened */
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
			unsigned k = rnd() % 6;
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
	nif->xmit = real_xmit;
	net_unlock_irqrestore(f0);
	(void)handled_min;
	uint64_t got = nif->stats.rx_packets - rx0;
	uint64_t dropped = nif->stats.rx_dropped - drop0;
	pr_info("net: fuzz: %u frames in, %lu dropped, %lu replies (%lu malformed)", rounds,
		dropped, sink_frames, sink_bad);
	pr_info("net: fuzz: reassembly: %lu fragments, %lu datagrams completed, %lu failed",
		net_mib.ip_reasm_reqds, net_mib.ip_reasm_oks, net_mib.ip_reasm_fails);
	/* Real traffic may arrive meanwhile, so at least, not exactly. */
	if (got < rounds || dropped == 0 || dropped > got || sink_bad) {
		pr_err("net selftest: fuzz accounting: %lu received, %lu dropped, %lu bad replies",
		       got, dropped, sink_bad);
		return 1;
	}
	return 0;
}

/* ---- the IPv4 layer: captured output ---- */


#define CAP_FRAMES 8
static struct {
	unsigned n;
	size_t len[CAP_FRAMES];
	uint8_t f[CAP_FRAMES][ETH_HLEN + 1500];
} cap;
static int (*cap_real_send)(struct netif *, const void *, size_t);
static xmit_fn cap_real_xmit;

static int cap_send(struct netif *nif, const void *frame, size_t len)
{
	(void)nif;
	if (cap.n < CAP_FRAMES && len <= sizeof(cap.f[0])) {
		memcpy(cap.f[cap.n], frame, len);
		cap.len[cap.n] = len;
	}
	cap.n++;
	return 0;
}

/* Diverts the interface's output into cap (nothing reaches the wire). */
static void cap_begin(struct netif *nif)
{
	uint64_t f = net_lock_irqsave();
	cap.n = 0;
	cap_real_send = nif->send;
	cap_real_xmit = nif->xmit;
	nif->send = cap_send;
	nif->xmit = NULL;
	net_unlock_irqrestore(f);
}

static void cap_end(struct netif *nif)
{
	uint64_t f = net_lock_irqsave();
	nif->send = cap_real_send;
	nif->xmit = cap_real_xmit;
	net_unlock_irqrestore(f);
}

/* The IPv4 datagram in captured frame i. */
static bool cap_ip(unsigned i, struct ipv4_info *ip)
{
	struct eth_info e;
	return i < cap.n && i < CAP_FRAMES && eth_parse(cap.f[i], cap.len[i], &e) == NET_OK &&
	       e.type == ETH_P_IPV4 && ipv4_parse(e.payload, e.len, ip) == NET_OK;
}

/* Injects one IPv4 datagram (header built here) from src to dst. */
static void inject(struct netif *nif, const uint8_t *src_mac, uint32_t src, uint32_t dst,
		   uint8_t proto, uint16_t id, uint16_t frag, const void *payload, size_t len)
{
	static uint8_t f[ETH_HLEN + IPV4_HLEN + 1500];
	eth_build(f, nif->mac, src_mac, ETH_P_IPV4);
	memcpy(f + ETH_HLEN + IPV4_HLEN, payload, len);
	ipv4_build(f + ETH_HLEN, 0, id, frag, 64, proto, src, dst, len);
	netif_input(nif, f, ETH_HLEN + IPV4_HLEN + len);
}

#define ECHO_DATA 3000
static int fragmented_echo(struct netif *nif, const uint8_t gw_mac[ETH_ALEN], uint32_t gw)
{
	static uint8_t req[ICMP_HLEN + ECHO_DATA];
	static uint8_t data[ECHO_DATA];
	for (size_t i = 0; i < ECHO_DATA; i++)
		data[i] = (uint8_t)(i * 7 + 3);
	size_t n = icmp_build_echo(req, ICMP_ECHO_REQUEST, 0x4242, 9, data, ECHO_DATA);
	int bad = 0;
	/* Three fragments, last first. */
	cap_begin(nif);
	uint64_t oks = net_mib.ip_reasm_oks;
	inject(nif, gw_mac, gw, nif->addr, IPPROTO_ICMP, 0x777, 2960 / 8, req + 2960, n - 2960);
	inject(nif, gw_mac, gw, nif->addr, IPPROTO_ICMP, 0x777, IPV4_MF | 1480 / 8, req + 1480, 1480);
	inject(nif, gw_mac, gw, nif->addr, IPPROTO_ICMP, 0x777, IPV4_MF, req, 1480);
	cap_end(nif);
	/* The reply (3008 bytes of ICMP) leaves in three fragments too;
	 * put them back together the way a peer would. */
	struct reasm r;
	reasm_init(&r, NULL);
	struct reasm_done d = { 0 };
	bool whole = false;
	for (unsigned i = 0; i < cap.n; i++) {
		struct ipv4_info ip;
		if (!cap_ip(i, &ip) || !ipv4_is_fragment(&ip) || ip.src != nif->addr || ip.dst != gw)
			continue;
		if (reasm_input(&r, &ip, clock_monotonic_ns(), &d) == REASM_DONE)
			whole = true;
	}
	reasm_flush(&r);
	struct ipv4_info ip;
	struct icmp_info ic;
	size_t per = (nif->mtu - IPV4_HLEN) & ~7u;
	unsigned nfrag = (unsigned)((n + per - 1) / per);
	if (net_mib.ip_reasm_oks != oks + 1 || cap.n != nfrag || !whole ||
	    ipv4_parse(d.data, d.len, &ip) != NET_OK ||
	    icmp_parse(ip.payload, ip.payload_len, &ic) != NET_OK || ic.type != ICMP_ECHO_REPLY ||
	    ic.id != 0x4242 || ic.seq != 9 || ic.data_len != ECHO_DATA ||
	    memcmp(ic.data, data, ECHO_DATA) != 0) {
		pr_err("net selftest: fragmented echo: reassembled %lu, %u reply frames, reply %s",
		       net_mib.ip_reasm_oks - oks, cap.n, whole ? "malformed" : "incomplete");
		bad = 1;
	} else {
		pr_info("net: fragmented echo request (3 fragments, reversed) answered in %u "
			"fragments", cap.n);
	}
	if (whole)
		reasm_release(&d);

	/* A conflicting overlap: the datagram is dropped, nobody answers. */
	uint64_t before = nif->drops.n[NET_DROP_IP_REASM];
	cap_begin(nif);
	inject(nif, gw_mac, gw, nif->addr, IPPROTO_ICMP, 0x778, IPV4_MF, req, 1480);
	req[1100] ^= 0x55;
	inject(nif, gw_mac, gw, nif->addr, IPPROTO_ICMP, 0x778, 1000 / 8, req + 1000, n - 1000);
	req[1100] ^= 0x55;
	cap_end(nif);
	if (cap.n != 0 || nif->drops.n[NET_DROP_IP_REASM] != before + 1) {
		pr_err("net selftest: conflicting overlap: %u replies, %lu reasm drops", cap.n,
		       nif->drops.n[NET_DROP_IP_REASM] - before);
		bad = 1;
	}
	return bad;
}

static int port_unreachable(struct netif *nif, const uint8_t gw_mac[ETH_ALEN], uint32_t gw)
{
	uint8_t u[UDP_HLEN + 12];
	memcpy(u + UDP_HLEN, "hello, port9", 12);
	udp_build(u, 4444, 9, gw, nif->addr, 12);
	uint64_t out = net_mib.icmp_out_dest_unreachs;
	cap_begin(nif);
	inject(nif, gw_mac, gw, nif->addr, IPPROTO_UDP, 0x900, 0, u, sizeof(u));
	unsigned unicast = cap.n;
	struct ipv4_info ip, q;
	struct icmp_info ic;
	bool ok = unicast == 1 && cap_ip(0, &ip) && ip.proto == IPPROTO_ICMP && ip.dst == gw &&
		  ip.src == nif->addr && icmp_parse(ip.payload, ip.payload_len, &ic) == NET_OK &&
		  ic.type == ICMP_DEST_UNREACH && ic.code == 3 &&
		  ipv4_parse_quoted(ic.data, ic.data_len, &q) == NET_OK && q.id == 0x900 &&
		  q.proto == IPPROTO_UDP && q.payload_len == 8 && get_be16(q.payload + 2) == 9;
	/* Not for a broadcast. */
	udp_build(u, 4444, 9, gw, 0xffffffffu, 12);
	inject(nif, gw_mac, gw, 0xffffffffu, IPPROTO_UDP, 0x901, 0, u, sizeof(u));
	cap_end(nif);
	if (!ok || cap.n != 1 || net_mib.icmp_out_dest_unreachs != out + 1) {
		pr_err("net selftest: port unreachable: %u frames for unicast, %u in all", unicast,
		       cap.n);
		return 1;
	}
	pr_info("net: UDP to a closed port answered by ICMP port unreachable (not for broadcast)");
	return 0;
}

static int frag_needed(struct netif *nif, const uint8_t gw_mac[ETH_ALEN], uint32_t gw)
{
	const uint32_t far = IP4(192, 0, 2, 1);
	uint8_t m[ICMP_HLEN + IPV4_HLEN + 8];
	memset(m, 0, sizeof(m));
	m[0] = ICMP_DEST_UNREACH;
	m[1] = 4;
	put_be16(m + 6, 1200);
	ipv4_build(m + ICMP_HLEN, 0, 5, IPV4_DF, 64, IPPROTO_TCP, nif->addr, far, 1460);
	put_be16(m + ICMP_HLEN + IPV4_HLEN, 40000);
	put_be16(m + ICMP_HLEN + IPV4_HLEN + 2, 80);
	put_be16(m + 2, csum_fold(csum_add(0, m, sizeof(m))));
	inject(nif, gw_mac, gw, nif->addr, IPPROTO_ICMP, 0x910, 0, m, sizeof(m));
	struct ip_route_info ri, ri2;
	uint64_t f = net_lock_irqsave();
	int r1 = ip_route(far, &ri), r2 = ip_route(far + 1, &ri2);
	net_unlock_irqrestore(f);
	if (r1 || r2 || ri.mtu != 1200 || ri2.mtu != nif->mtu || ri.nif != nif) {
		pr_err("net selftest: path MTU: %d/%u, other destination %d/%u", r1, ri.mtu, r2,
		       ri2.mtu);
		return 1;
	}
	pr_info("net: fragmentation needed (mtu 1200) lowered the path MTU to 192.0.2.1 only");
	return 0;
}

static int arp_queue_and_fragments(struct netif *nif, uint32_t gw)
{
	const uint32_t ghost = (nif->addr & nif->netmask) | 77;
	const uint8_t ghost_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 77 };
	static uint8_t payload[UDP_HLEN + 4000];
	memset(payload, 'q', sizeof(payload));
	int bad = 0;
	cap_begin(nif);
	/* Unknown next hop: an ARP request goes out, the datagram waits. */
	udp_build(payload, 5000, 5001, nif->addr, ghost, 32);
	struct ip_tx tx = { .dst = ghost, .proto = IPPROTO_UDP };
	struct net_iov iov = { payload, UDP_HLEN + 32 };
	uint64_t f = net_lock_irqsave();
	int r = ip_output(&tx, &iov, 1);
	unsigned waiting = netif_arp_pending();
	net_unlock_irqrestore(f);
	struct eth_info e;
	struct arp_info a;
	bool asked = cap.n == 1 && eth_parse(cap.f[0], cap.len[0], &e) == NET_OK &&
		     e.type == ETH_P_ARP && arp_parse(e.payload, e.len, &a) == NET_OK &&
		     a.op == ARP_OP_REQUEST && a.tpa == ghost;
	/* The answer releases it to the MAC it gave. */
	uint8_t fr[ETH_HLEN + ARP_LEN];
	struct arp_info ans = { .op = ARP_OP_REPLY, .spa = ghost, .tpa = nif->addr };
	memcpy(ans.sha, ghost_mac, ETH_ALEN);
	memcpy(ans.tha, nif->mac, ETH_ALEN);
	eth_build(fr, nif->mac, ghost_mac, ETH_P_ARP);
	arp_build(fr + ETH_HLEN, &ans);
	netif_input(nif, fr, sizeof(fr));
	struct ipv4_info ip;
	bool sent = cap.n == 2 && memcmp(cap.f[1], ghost_mac, ETH_ALEN) == 0 && cap_ip(1, &ip) &&
		    ip.dst == ghost && ip.proto == IPPROTO_UDP;
	if (r != 0 || waiting != 1 || !asked || !sent || netif_arp_pending() != 0) {
		pr_err("net selftest: ARP queue: ip_output %d, %u waiting, request %d, sent %d", r,
		       waiting, asked, sent);
		bad = 1;
	}
	/* 4000 bytes of UDP without DF: three fragments of at most the MTU. */
	cap.n = 0;
	udp_build(payload, 5000, 5001, nif->addr, gw, 4000);
	tx = (struct ip_tx){ .dst = gw, .proto = IPPROTO_UDP };
	iov = (struct net_iov){ payload, sizeof(payload) };
	uint64_t creates = net_mib.ip_frag_creates;
	f = net_lock_irqsave();
	r = ip_output(&tx, &iov, 1);
	/* With DF: refused. */
	tx.df = true;
	int rdf = ip_output(&tx, &iov, 1);
	net_unlock_irqrestore(f);
	cap_end(nif);
	size_t bytes = 0;
	size_t per = (nif->mtu - IPV4_HLEN) & ~7u;
	unsigned nfrag = (unsigned)((sizeof(payload) + per - 1) / per);
	bool frags_ok = cap.n == nfrag;
	for (unsigned i = 0; i < cap.n && frags_ok; i++) {
		frags_ok = cap_ip(i, &ip) && ipv4_is_fragment(&ip) && ip.total_len <= nif->mtu &&
			   (size_t)(ip.frag & IPV4_OFFMASK) * 8 == bytes;
		bytes += ip.payload_len;
	}
	if (r != 0 || rdf != -EMSGSIZE || !frags_ok || bytes != sizeof(payload) ||
	    net_mib.ip_frag_creates != creates + nfrag) {
		pr_err("net selftest: output fragmentation: %d, df %d, %u frames, %zu bytes", r,
		       rdf, cap.n, bytes);
		bad = 1;
	}
	/* A partial checksum (the pseudo-header sum left for the device)
	 * on a datagram that must be fragmented is completed in software;
	 * pieces of odd lengths exercise the byte-swapped sums. */
	cap_begin(nif);
	for (size_t i = UDP_HLEN; i < sizeof(payload); i++)
		payload[i] = (uint8_t)(i * 13 + 1);
	put_be16(payload, 5000);
	put_be16(payload + 2, 5001);
	put_be16(payload + 4, sizeof(payload));
	{
		/* The field holds the folded, uncomplemented pseudo sum. */
		uint32_t ps = csum_pseudo(nif->addr, gw, IPPROTO_UDP, sizeof(payload));
		while (ps >> 16)
			ps = (ps & 0xffff) + (ps >> 16);
		put_be16(payload + 6, (uint16_t)ps);
	}
	struct net_iov pieces[3] = { { payload, 7 }, { payload + 7, 1001 },
				     { payload + 1008, sizeof(payload) - 1008 } };
	tx = (struct ip_tx){ .dst = gw, .proto = IPPROTO_UDP, .csum_partial = true,
			     .csum_start = 0, .csum_offset = 6 };
	f = net_lock_irqsave();
	r = ip_output(&tx, pieces, 3);
	net_unlock_irqrestore(f);
	cap_end(nif);
	struct reasm ra;
	reasm_init(&ra, NULL);
	struct reasm_done d = { 0 };
	bool whole = false;
	for (unsigned i = 0; i < cap.n; i++)
		if (cap_ip(i, &ip) && reasm_input(&ra, &ip, clock_monotonic_ns(), &d) == REASM_DONE)
			whole = true;
	reasm_flush(&ra);
	struct udp_info u;
	enum net_drop why = NET_DROP_MAX;
	if (whole) {
		why = ipv4_parse(d.data, d.len, &ip);
		if (why == NET_OK)
			why = udp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &u);
		reasm_release(&d);
	}
	if (r != 0 || !whole || why != NET_OK) {
		pr_err("net selftest: software checksum: ip_output %d, %u frames, %s", r, cap.n,
		       whole ? net_drop_name(why) : "incomplete");
		bad = 1;
	}
	if (!bad)
		pr_info("net: datagram queued behind ARP and sent on the reply; 4008-byte UDP "
			"datagram sent in %u fragments; partial checksum completed in software",
			nfrag);
	return bad;
}

static int loopback(struct netif *nif)
{
	struct netif *lo = netif_find("lo");
	if (!lo || lo->addr != IP4(127, 0, 0, 1)) {
		pr_err("net selftest: no lo");
		return 1;
	}
	int bad = 0;
	const struct { uint32_t dst; size_t size; } pings[] = {
		{ IP4(127, 0, 0, 1), 56 }, { IP4(127, 1, 2, 3), 56 }, { nif->addr, 56 },
		{ IP4(127, 0, 0, 1), 30000 },   /* one frame: lo's MTU is 64 KiB */
	};
	uint64_t rx0 = lo->stats.rx_packets;
	for (unsigned i = 0; i < sizeof(pings) / sizeof(pings[0]); i++) {
		uint64_t rtt;
		char b[16];
		int r = net_ping(NULL, pings[i].dst, (uint16_t)(500 + i), pings[i].size,
				 clock_monotonic_ns() + 1000 * MS, &rtt);
		if (r < 0) {
			pr_err("net selftest: lo: ping %s: %d", ip4_str(pings[i].dst, b), r);
			bad = 1;
			continue;
		}
		pr_info("net: lo: %zu bytes from %s: time=%lu.%03lu ms", pings[i].size + 8,
			ip4_str(pings[i].dst, b), rtt / 1000000, rtt / 1000 % 1000);
	}
	/* Request and reply each crossed lo. */
	if (lo->stats.rx_packets - rx0 != 8) {
		pr_err("net selftest: lo: %lu frames received, expected 8",
		       lo->stats.rx_packets - rx0);
		bad = 1;
	}
	/* Many round trips: the RTT of the loopback path through netd. */
	uint64_t tmin = UINT64_MAX, tsum = 0;
	unsigned ok = 0;
	for (unsigned i = 0; i < 200; i++) {
		uint64_t rtt;
		if (net_ping(NULL, IP4(127, 0, 0, 1), (uint16_t)(1000 + i), 56,
			     clock_monotonic_ns() + 1000 * MS, &rtt) == 0) {
			ok++;
			tsum += rtt;
			tmin = MIN(tmin, rtt);
		}
	}
	if (ok != 200) {
		pr_err("net selftest: lo: %u of 200 pings answered", ok);
		bad = 1;
	} else {
		pr_info("net: lo: 200 pings: rtt min/avg = %lu.%03lu/%lu.%03lu ms", tmin / 1000000,
			tmin / 1000 % 1000, tsum / ok / 1000000, tsum / ok / 1000 % 1000);
	}
	return bad;
}

static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (!strncmp(hay, needle, n))
			return true;
	return false;
}

/* /proc/net text: every interface in dev, header and value lines of
 * snmp with the same number of fields. */
static int proc_files(void)
{
	static char buf[4096];
	int bad = 0;
	size_t n = proc_net_dev(buf, sizeof(buf));
	buf[MIN(n, sizeof(buf) - 1)] = 0;
	if (n >= sizeof(buf) || !contains(buf, "  eth0:") || !contains(buf, "    lo:")) {
		pr_err("net selftest: /proc/net/dev:\n%s", buf);
		bad = 1;
	}
	n = proc_net_snmp(buf, sizeof(buf));
	buf[MIN(n, sizeof(buf) - 1)] = 0;
	unsigned lines = 0, fields[16];
	const char *p = buf;
	while (*p && lines < 16) {
		unsigned k = 0;
		for (; *p && *p != '\n'; p++)
			k += *p == ' ';
		fields[lines++] = k;
		if (*p)
			p++;
	}
	if (n >= sizeof(buf) || lines != 10 || strncmp(buf, "Ip: Forwarding", 14) != 0)
		bad = 1;
	for (unsigned i = 0; i + 1 < lines; i += 2)
		if (fields[i] != fields[i + 1])
			bad = 1;
	if (bad)
		pr_err("net selftest: /proc/net/snmp:\n%s", buf);
	n = proc_net_route(buf, sizeof(buf));
	buf[MIN(n, sizeof(buf) - 1)] = 0;
	if (!contains(buf, "eth0\t00000000\t")) {
		pr_err("net selftest: /proc/net/route has no default route:\n%s", buf);
		bad = 1;
	}
	return bad;
}

/* ---- net timers: order, lateness, cancellation, both lists ---- */

#define NT 48
static struct {
	struct net_timer t[NT];
	uint64_t due[NT], ran_at[NT];
	unsigned order[NT], nran;
} nt;

static void nt_fn(struct net_timer *t)
{
	unsigned i = (unsigned)(uintptr_t)t->arg;
	nt.ran_at[i] = net_now_ns();
	nt.order[nt.nran++] = i;
}

static int net_timers(void)
{
	uint64_t f = net_lock_irqsave();
	uint64_t t0 = net_now_ns();
	nt.nran = 0;
	for (unsigned i = 0; i < NT; i++) {
		net_timer_init(&nt.t[i], nt_fn, (void *)(uintptr_t)i);
		/* 5..1200 ms: some beyond the near horizon (1 s). */
		nt.due[i] = t0 + (5 + rnd() % 1195) * MS;
		nt.ran_at[i] = 0;
		net_timer_arm(&nt.t[i], nt.due[i]);
	}
	/* Re-arming moves a timer; cancelling one means it never runs. */
	net_timer_arm(&nt.t[0], nt.due[0] = t0 + 3 * MS);
	net_timer_cancel(&nt.t[1]);
	net_timer_cancel(&nt.t[2]);
	net_timer_arm(&nt.t[2], nt.due[2] = t0 + 1150 * MS);
	net_unlock_irqrestore(f);
	thread_sleep_ns(1300 * MS);
	f = net_lock_irqsave();
	int bad = 0;
	uint64_t worst = 0;
	for (unsigned k = 0; k < nt.nran; k++) {
		unsigned i = nt.order[k];
		if (i == 1 || nt.ran_at[i] < nt.due[i] ||
		    (k && nt.due[nt.order[k - 1]] > nt.due[i]))
			bad = 1;
		if (nt.ran_at[i] - nt.due[i] > worst)
			worst = nt.ran_at[i] - nt.due[i];
	}
	for (unsigned i = 0; i < NT; i++)
		if (net_timer_pending(&nt.t[i]))
			bad = 1;
	unsigned nran = nt.nran;
	net_unlock_irqrestore(f);
	if (bad || nran != NT - 1) {
		pr_err("net selftest: timers: %u of %u ran, order/lateness %s", nran, NT - 1,
		       bad ? "wrong" : "right");
		return 1;
	}
	pr_info("net: %u net timers (5 ms to 1.2 s) ran in order, at most %lu.%03lu ms late",
		nran, worst / 1000000, worst / 1000 % 1000);
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
	/* net_init configured it (DHCP by default, or ip=/gw=); net.ip=
	 * and net.gw= override, for tap devices. */
	int r;
	if (cmdline_get(&kernel_cmdline, "net.ip") || !nif->addr) {
		if (!nif->addr && !cmdline_get(&kernel_cmdline, "net.ip") &&
		    !cmdline_get(&kernel_cmdline, "net"))
			pr_warn("net selftest: %s has no address (no DHCP answer); using 10.0.2.15",
				nif->name);
		uint32_t addr = cmdline_ip("net.ip", IP4(10, 0, 2, 15));
		uint32_t gwd = cmdline_ip("net.gw", IP4(10, 0, 2, 2));
		r = netif_set_addr(nif, addr, IP4(255, 255, 255, 0), gwd);
		if (r < 0) {
			pr_err("net selftest: %s: cannot bring it up (%d)", nif->name, r);
			return 1;
		}
	}
	uint32_t gw = nif->gateway ? nif->gateway : IP4(10, 0, 2, 2);
	{
		char a[16], g[16];
		unsigned bits = 0;
		for (uint32_t m = nif->netmask; m; m <<= 1)
			bits++;
		pr_info("net selftest: %s is %s/%u, gateway %s", nif->name, ip4_str(nif->addr, a),
			bits, ip4_str(gw, g));
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
	bad |= loopback(nif);
	bad |= net_timers();
	bad |= fragmented_echo(nif, mac, gw);
	bad |= port_unreachable(nif, mac, gw);
	bad |= frag_needed(nif, mac, gw);
	bad |= arp_queue_and_fragments(nif, gw);
	bad |= proc_files();
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
