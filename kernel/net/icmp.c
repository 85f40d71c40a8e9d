/*
 * ICMP (RFC 792, RFC 1122 3.2.2), net_lock held: echo replies, errors
 * about datagrams we sent (path MTU, then the transport's handler), and
 * errors we send about datagrams we received (rate-limited).
 */
#include "net/ip.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "lib/string.h"

uint64_t icmp_rate_limited;

static int icmp_send(uint32_t src, uint32_t dst, uint8_t tos, const struct net_iov *iov, int n)
{
	struct ip_tx tx = { .src = src, .dst = dst, .proto = IPPROTO_ICMP, .tos = tos };
	int r = ip_output(&tx, iov, n);
	if (r == 0)
		net_mib.icmp_out_msgs++;
	return r;
}

static void echo_reply(struct netif *nif, const struct ipv4_info *ip, const struct icmp_info *ic,
		       enum net_drop *why)
{
	uint8_t h[ICMP_HLEN];
	h[0] = ICMP_ECHO_REPLY;
	h[1] = 0;
	put_be16(h + 2, 0);
	put_be16(h + 4, ic->id);
	put_be16(h + 6, ic->seq);
	put_be16(h + 2, csum_fold(csum_add(csum_add(0, h, ICMP_HLEN), ic->data, ic->data_len)));
	/* The data goes back from the receive buffer: ip_output's paths
	 * all copy before returning. Replies larger than the MTU (to a
	 * fragmented request) are fragmented. */
	const struct net_iov iov[2] = { { h, ICMP_HLEN }, { ic->data, ic->data_len } };
	if (icmp_send(ip->dst, ip->src, ip->tos, iov, 2) < 0) {
		*why = NET_DROP_NO_BUFFER;
		return;
	}
	net_mib.icmp_out_echo_reps++;
	nif->stats.echo_replies_sent++;
}

/* RFC 1191 7.1: old routers send 0; guess the next plateau below the
 * datagram's length. */
static unsigned plateau_below(unsigned len)
{
	static const unsigned plateaus[] = { 32000, 17914, 8166, 4352, 2002, 1492, 1006, 508,
					     296, 68 };
	for (unsigned i = 0; i < sizeof(plateaus) / sizeof(plateaus[0]); i++)
		if (plateaus[i] < len)
			return plateaus[i];
	return 68;
}

static void error_input(const struct icmp_info *ic, enum net_drop *why)
{
	struct ipv4_info orig;
	if (ipv4_parse_quoted(ic->data, ic->data_len, &orig) != NET_OK || !ip_is_local(orig.src)) {
		net_mib.icmp_in_errors++;
		*why = NET_DROP_ICMP_TYPE;
		return;
	}
	unsigned mtu = 0;
	if (ic->type == ICMP_DEST_UNREACH && ic->code == 4) {
		/* Fragmentation needed and DF set: the next-hop MTU is in
		 * the low half of the word after the checksum. */
		mtu = ic->seq;
		if (mtu == 0 || mtu >= orig.total_len)
			mtu = plateau_below(orig.total_len);
		pmtu_update(orig.dst, mtu);
		mtu = pmtu_get(orig.dst, mtu);
	}
	if (orig.proto == IPPROTO_TCP)
		tcp_icmp_error(ic->type, ic->code, mtu, &orig, orig.payload, orig.payload_len);
	else if (orig.proto == IPPROTO_UDP)
		udp_icmp_error(ic->type, ic->code, mtu, &orig, orig.payload, orig.payload_len);
}

void icmp_input(struct netif *nif, const struct ipv4_info *ip, bool unicast, enum net_drop *why)
{
	struct icmp_info ic;
	net_mib.icmp_in_msgs++;
	*why = icmp_parse(ip->payload, ip->payload_len, &ic);
	if (*why != NET_OK) {
		net_mib.icmp_in_errors++;
		return;
	}
	switch (ic.type) {
	case ICMP_ECHO_REQUEST:
		net_mib.icmp_in_echos++;
		/* RFC 1122 3.2.2.6: broadcast requests may be ignored, and are
		 * (no smurf amplifier). */
		if (!unicast || ic.code != 0 || !ip->src) {
			*why = NET_DROP_ICMP_TYPE;
			return;
		}
		echo_reply(nif, ip, &ic, why);
		return;
	case ICMP_ECHO_REPLY:
		net_mib.icmp_in_echo_reps++;
		if (!net_ping_reply(ic.id, ic.seq, net_now_ns()))
			*why = NET_DROP_ICMP_TYPE;   /* late or not ours */
		return;
	case ICMP_DEST_UNREACH:
		net_mib.icmp_in_dest_unreachs++;
		error_input(&ic, why);
		return;
	case ICMP_TIME_EXCEEDED:
		error_input(&ic, why);
		return;
	default:
		*why = NET_DROP_ICMP_TYPE;
		return;
	}
}

/* Token bucket: ICMP_RATE errors a second, bursts of ICMP_BURST (as
 * Linux's icmp_msgs_per_sec / icmp_msgs_burst). */
#define ICMP_RATE  1000
#define ICMP_BURST 50
static bool rate_ok(void)
{
	static uint64_t last_ns;
	static unsigned tokens = ICMP_BURST;
	uint64_t now = net_now_ns();
	uint64_t gained = (now - last_ns) / (1000000000ull / ICMP_RATE);
	if (gained) {
		tokens = gained >= ICMP_BURST ? ICMP_BURST : (unsigned)MIN(ICMP_BURST, tokens + gained);
		last_ns = now;
	}
	if (!tokens) {
		icmp_rate_limited++;
		return false;
	}
	tokens--;
	return true;
}

static bool is_icmp_error(const struct ipv4_info *ip)
{
	if (ip->proto != IPPROTO_ICMP)
		return false;
	if (ip->payload_len < 1)
		return true;                 /* unknown: treat as an error, stay quiet */
	switch (ip->payload[0]) {
	case ICMP_ECHO_REPLY: case ICMP_ECHO_REQUEST:
	case 13: case 14: case 15: case 16: case 17: case 18:   /* queries */
		return false;
	default:
		return true;
	}
}

void icmp_send_error(uint8_t type, uint8_t code, uint32_t info, const struct ipv4_info *ip)
{
	/* RFC 1122 3.2.2: never about an ICMP error, a broadcast or
	 * multicast, a source that is not a single host, a non-first
	 * fragment. */
	if (is_icmp_error(ip) || ip_is_broadcast(ip->dst) || ip->dst >= IP4(224, 0, 0, 0) ||
	    !ip->src || ip->src >= IP4(224, 0, 0, 0) || ip_is_broadcast(ip->src) ||
	    (ip->frag & IPV4_OFFMASK))
		return;
	if (!rate_ok())
		return;
	uint8_t h[ICMP_HLEN];
	h[0] = type;
	h[1] = code;
	put_be16(h + 2, 0);
	put_be32(h + 4, info);
	/* The offending header and its first 8 payload bytes (RFC 792). */
	const uint8_t *quote = ip->payload - ip->hlen;
	size_t qlen = ip->hlen + MIN(ip->payload_len, (size_t)8);
	put_be16(h + 2, csum_fold(csum_add(csum_add(0, h, ICMP_HLEN), quote, qlen)));
	const struct net_iov iov[2] = { { h, ICMP_HLEN }, { quote, qlen } };
	/* From the address the datagram was sent to, when it is ours;
	 * internetwork-control precedence as Linux sends. */
	uint32_t src = ip_is_local(ip->dst) ? ip->dst : 0;
	if (icmp_send(src, ip->src, 0xc0, iov, 2) == 0 && type == ICMP_DEST_UNREACH)
		net_mib.icmp_out_dest_unreachs++;
}
