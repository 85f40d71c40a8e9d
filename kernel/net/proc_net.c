/*
 * /proc/net/{dev,snmp,route,arp} in Linux's formats (as of 6.1, the
 * release procfs reports), so ifconfig/netstat/ip-style readers parse
 * them. Each formats into buf (at most len bytes) under net_lock and
 * returns the length it needed, like tcp_proc_net and friends.
 */
#include "net/ip.h"
#include "net/proc_net.h"
#include "lib/printf.h"
#include "lib/string.h"
#include <stdarg.h>

struct pbuf {
	char *p;
	size_t len, at;
};

static __printf(2, 3) void pb(struct pbuf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	size_t room = b->at < b->len ? b->len - b->at : 0;
	int n = vsnprintf(room ? b->p + b->at : NULL, room, fmt, ap);
	va_end(ap);
	if (n > 0)
		b->at += (size_t)n;
}

/* Addresses as Linux prints them in route: the network-order word read
 * as a little-endian integer. */
static uint32_t le_word(uint32_t host_order) { return __builtin_bswap32(host_order); }

size_t proc_net_dev(char *buf, size_t len)
{
	struct pbuf b = { buf, len, 0 };
	pb(&b, "Inter-|   Receive                                                |  Transmit\n");
	pb(&b, " face |bytes    packets errs drop fifo frame compressed multicast|"
	       "bytes    packets errs drop fifo colls carrier compressed\n");
	uint64_t f = net_lock_irqsave();
	/* lo first, as Linux lists it (ifindex 1). */
	for (int pass = 0; pass < 2; pass++)
	for (struct netif *n = netif_first(); n; n = n->next) {
		if ((pass == 0) != ((n->features & NETIF_F_LOOPBACK) != 0))
			continue;
		const struct netif_stats *s = &n->stats;
		pb(&b, "%6s:%8lu %7lu %4lu %4lu %4u %5u %10u %9u %8lu %7lu %4u %4lu %4u %5u %7u %10u\n",
		   n->name, s->rx_bytes, s->rx_packets, 0ul, s->rx_dropped, 0u, 0u, 0u, 0u,
		   s->tx_bytes, s->tx_packets, 0u, s->tx_dropped, 0u, 0u, 0u, 0u);
	}
	net_unlock_irqrestore(f);
	return b.at;
}

size_t proc_net_snmp(char *buf, size_t len)
{
	struct pbuf b = { buf, len, 0 };
	uint64_t f = net_lock_irqsave();
	const struct net_mib m = net_mib;
	net_unlock_irqrestore(f);
	pb(&b, "Ip: Forwarding DefaultTTL InReceives InHdrErrors InAddrErrors ForwDatagrams "
	       "InUnknownProtos InDiscards InDelivers OutRequests OutDiscards OutNoRoutes "
	       "ReasmTimeout ReasmReqds ReasmOKs ReasmFails FragOKs FragFails FragCreates\n");
	/* Forwarding 2: not a router. */
	pb(&b, "Ip: 2 64 %lu %lu %lu 0 %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu %lu\n",
	   m.ip_in_receives, m.ip_in_hdr_errors, m.ip_in_addr_errors, m.ip_in_unknown_protos,
	   m.ip_in_discards, m.ip_in_delivers, m.ip_out_requests, m.ip_out_discards,
	   m.ip_out_no_routes, m.ip_reasm_timeouts, m.ip_reasm_reqds, m.ip_reasm_oks, m.ip_reasm_fails,
	   m.ip_frag_oks, m.ip_frag_fails, m.ip_frag_creates);
	pb(&b, "Icmp: InMsgs InErrors InCsumErrors InDestUnreachs InTimeExcds InParmProbs "
	       "InSrcQuenchs InRedirects InEchos InEchoReps InTimestamps InTimestampReps "
	       "InAddrMasks InAddrMaskReps OutMsgs OutErrors OutDestUnreachs OutTimeExcds "
	       "OutParmProbs OutSrcQuenchs OutRedirects OutEchos OutEchoReps OutTimestamps "
	       "OutTimestampReps OutAddrMasks OutAddrMaskReps\n");
	pb(&b, "Icmp: %lu %lu 0 %lu 0 0 0 0 %lu %lu 0 0 0 0 %lu 0 %lu 0 0 0 0 0 %lu 0 0 0 0\n",
	   m.icmp_in_msgs, m.icmp_in_errors, m.icmp_in_dest_unreachs, m.icmp_in_echos,
	   m.icmp_in_echo_reps, m.icmp_out_msgs, m.icmp_out_dest_unreachs,
	   m.icmp_out_echo_reps);
	pb(&b, "Tcp: RtoAlgorithm RtoMin RtoMax MaxConn ActiveOpens PassiveOpens AttemptFails "
	       "EstabResets CurrEstab InSegs OutSegs RetransSegs InErrs OutRsts InCsumErrors\n");
	pb(&b, "Tcp: 1 200 120000 -1 %lu %lu %lu %lu 0 %lu %lu %lu %lu %lu %lu\n",
	   m.tcp_active_opens, m.tcp_passive_opens, m.tcp_attempt_fails, m.tcp_estab_resets,
	   m.tcp_in_segs, m.tcp_out_segs, m.tcp_retrans_segs, m.tcp_in_errs, m.tcp_out_rsts,
	   m.tcp_in_csum_errors);
	pb(&b, "Udp: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors "
	       "InCsumErrors IgnoredMulti MemErrors\n");
	pb(&b, "Udp: %lu %lu %lu %lu %lu %lu %lu 0 0\n", m.udp_in_datagrams, m.udp_no_ports,
	   m.udp_in_errors, m.udp_out_datagrams, m.udp_rcvbuf_errors, m.udp_sndbuf_errors,
	   m.udp_in_csum_errors);
	pb(&b, "UdpLite: InDatagrams NoPorts InErrors OutDatagrams RcvbufErrors SndbufErrors "
	       "InCsumErrors IgnoredMulti MemErrors\n");
	pb(&b, "UdpLite: 0 0 0 0 0 0 0 0 0\n");
	return b.at;
}

/* Lines padded to 127 characters, as Linux's fib_route_seq_show. */
static void pad127(struct pbuf *b, size_t line_start)
{
	size_t w = b->at - line_start;
	if (w < 127)
		pb(b, "%*s", (int)(127 - w), "");
	pb(b, "\n");
}

size_t proc_net_route(char *buf, size_t len)
{
	struct pbuf b = { buf, len, 0 };
	struct route r[ROUTE_MAX];
	uint64_t f = net_lock_irqsave();
	unsigned n = route_snapshot(r, ROUTE_MAX);
	net_unlock_irqrestore(f);
	size_t s = b.at;
	pb(&b, "Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT");
	pad127(&b, s);
	for (unsigned i = 0; i < n; i++) {
		/* lo's routes live in Linux's local table, not shown here. */
		if (r[i].nif->features & NETIF_F_LOOPBACK)
			continue;
		s = b.at;
		pb(&b, "%s\t%08X\t%08X\t%04X\t0\t0\t%u\t%08X\t0\t0\t0", r[i].nif->name,
		   le_word(r[i].dst), le_word(r[i].gw), r[i].flags, r[i].metric, le_word(r[i].mask));
		pad127(&b, s);
	}
	return b.at;
}

size_t proc_net_arp(char *buf, size_t len)
{
	struct pbuf b = { buf, len, 0 };
	pb(&b, "IP address       HW type     Flags       HW address            Mask     Device\n");
	uint64_t f = net_lock_irqsave();
	uint64_t now = net_now_ns();
	for (struct netif *n = netif_first(); n; n = n->next) {
		if (n->features & NETIF_F_LOOPBACK)
			continue;
		for (unsigned i = 0; i < ARP_CACHE_SIZE; i++) {
			const struct arp_entry *e = &n->arp.e[i];
			if (e->state == ARP_FREE)
				continue;
			bool ok = e->state == ARP_REACHABLE &&
				  now - e->updated < ARP_REACHABLE_NS + ARP_STALE_NS;
			if (e->state == ARP_REACHABLE && !ok)
				continue;
			char a[16], mac[18];
			static const uint8_t zero[6];
			const uint8_t *m = ok ? e->mac : zero;
			snprintf(mac, sizeof(mac), "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2],
				 m[3], m[4], m[5]);
			pb(&b, "%-16s 0x1         0x%-9x %-21s *        %s\n", ip4_str(e->ip, a),
			   ok ? 2u : 0u, mac, n->name);
		}
	}
	net_unlock_irqrestore(f);
	return b.at;
}
