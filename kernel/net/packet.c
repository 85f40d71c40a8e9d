/*
 * Header parsing and building (see packet.h). Every parser checks a
 * length before the bytes it covers are read; the order of the checks
 * decides which reason a doubly-broken packet is counted under, and is
 * the same as the order of the fields.
 */
#include "net/packet.h"
#include "net/byteorder.h"
#include "net/checksum.h"

#define MIN_QUOTE(a, b) ((a) < (b) ? (a) : (b))

const uint8_t eth_broadcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static const char *const drop_names[NET_DROP_MAX] = {
	[NET_OK] = "ok",
	[NET_DROP_ETH_SHORT] = "eth_short",
	[NET_DROP_ETH_TYPE] = "eth_type",
	[NET_DROP_ETH_DST] = "eth_dst",
	[NET_DROP_ARP_SHORT] = "arp_short",
	[NET_DROP_ARP_FORMAT] = "arp_format",
	[NET_DROP_ARP_NOT_US] = "arp_not_us",
	[NET_DROP_IP_SHORT] = "ip_short",
	[NET_DROP_IP_VERSION] = "ip_version",
	[NET_DROP_IP_IHL] = "ip_ihl",
	[NET_DROP_IP_LEN] = "ip_len",
	[NET_DROP_IP_CSUM] = "ip_csum",
	[NET_DROP_IP_SRC] = "ip_src",
	[NET_DROP_IP_NOT_US] = "ip_not_us",
	[NET_DROP_IP_FRAG] = "ip_frag",
	[NET_DROP_IP_PROTO] = "ip_proto",
	[NET_DROP_ICMP_SHORT] = "icmp_short",
	[NET_DROP_ICMP_CSUM] = "icmp_csum",
	[NET_DROP_ICMP_TYPE] = "icmp_type",
	[NET_DROP_UDP_SHORT] = "udp_short",
	[NET_DROP_UDP_LEN] = "udp_len",
	[NET_DROP_UDP_CSUM] = "udp_csum",
	[NET_DROP_UDP_NO_PORT] = "udp_no_port",
	[NET_DROP_TCP_SHORT] = "tcp_short",
	[NET_DROP_TCP_OFF] = "tcp_off",
	[NET_DROP_TCP_CSUM] = "tcp_csum",
	[NET_DROP_TCP_OPT] = "tcp_opt",
	[NET_DROP_TCP_NO_PORT] = "tcp_no_port",
	[NET_DROP_NO_BUFFER] = "no_buffer",
	[NET_DROP_IP_REASM] = "ip_reasm",
	[NET_DROP_ARP_QUEUE] = "arp_queue",
};

const char *net_drop_name(enum net_drop r)
{
	return (unsigned)r < NET_DROP_MAX && drop_names[r] ? drop_names[r] : "?";
}

/* ---- Ethernet ---- */

enum net_drop eth_parse(const uint8_t *p, size_t len, struct eth_info *e)
{
	if (len < ETH_HLEN)
		return NET_DROP_ETH_SHORT;
	__builtin_memcpy(e->dst, p, ETH_ALEN);
	__builtin_memcpy(e->src, p + 6, ETH_ALEN);
	e->type = get_be16(p + 12);
	e->payload = p + ETH_HLEN;
	e->len = len - ETH_HLEN;
	return NET_OK;
}

size_t eth_build(uint8_t *buf, const uint8_t dst[ETH_ALEN], const uint8_t src[ETH_ALEN],
		 uint16_t type)
{
	__builtin_memcpy(buf, dst, ETH_ALEN);
	__builtin_memcpy(buf + 6, src, ETH_ALEN);
	put_be16(buf + 12, type);
	return ETH_HLEN;
}

/* ---- ARP (RFC 826) ---- */

enum net_drop arp_parse(const uint8_t *p, size_t len, struct arp_info *a)
{
	if (len < 8)
		return NET_DROP_ARP_SHORT;
	/* Ethernet (1) / IPv4, 6-byte and 4-byte addresses: the only pair
	 * this stack resolves. Check the shape before trusting the size. */
	if (get_be16(p) != 1 || get_be16(p + 2) != ETH_P_IPV4 || p[4] != 6 || p[5] != 4)
		return NET_DROP_ARP_FORMAT;
	if (len < ARP_LEN)
		return NET_DROP_ARP_SHORT;
	a->op = get_be16(p + 6);
	if (a->op != ARP_OP_REQUEST && a->op != ARP_OP_REPLY)
		return NET_DROP_ARP_FORMAT;
	__builtin_memcpy(a->sha, p + 8, ETH_ALEN);
	a->spa = get_be32(p + 14);
	__builtin_memcpy(a->tha, p + 18, ETH_ALEN);
	a->tpa = get_be32(p + 24);
	return NET_OK;
}

size_t arp_build(uint8_t *buf, const struct arp_info *a)
{
	put_be16(buf, 1);
	put_be16(buf + 2, ETH_P_IPV4);
	buf[4] = 6;
	buf[5] = 4;
	put_be16(buf + 6, a->op);
	__builtin_memcpy(buf + 8, a->sha, ETH_ALEN);
	put_be32(buf + 14, a->spa);
	__builtin_memcpy(buf + 18, a->tha, ETH_ALEN);
	put_be32(buf + 24, a->tpa);
	return ARP_LEN;
}

/* ---- IPv4 (RFC 791, RFC 1122 3.2.1) ---- */

/* The fields of a header whose lengths the caller has checked. */
static void ipv4_fill(const uint8_t *p, unsigned hlen, uint16_t total, struct ipv4_info *ip)
{
	ip->hlen = hlen;
	ip->tos = p[1];
	ip->total_len = total;
	ip->id = get_be16(p + 4);
	ip->frag = get_be16(p + 6);
	ip->ttl = p[8];
	ip->proto = p[9];
	ip->src = get_be32(p + 12);
	ip->dst = get_be32(p + 16);
	ip->options = p + IPV4_HLEN;
	ip->opt_len = hlen - IPV4_HLEN;
	ip->payload = p + hlen;
}

enum net_drop ipv4_parse(const uint8_t *p, size_t len, struct ipv4_info *ip)
{
	if (len < IPV4_HLEN)
		return NET_DROP_IP_SHORT;
	if (p[0] >> 4 != 4)
		return NET_DROP_IP_VERSION;
	unsigned hlen = (p[0] & 0xf) * 4u;
	if (hlen < IPV4_HLEN || hlen > len)
		return NET_DROP_IP_IHL;
	uint16_t total = get_be16(p + 2);
	if (total < hlen || total > len)
		return NET_DROP_IP_LEN;
	if (csum_fold(csum_add(0, p, hlen)) != 0)
		return NET_DROP_IP_CSUM;
	ipv4_fill(p, hlen, total, ip);
	ip->payload_len = total - hlen;   /* bytes past total are link padding */
	return NET_OK;
}

enum net_drop ipv4_parse_quoted(const uint8_t *p, size_t len, struct ipv4_info *ip)
{
	if (len < IPV4_HLEN + 8)
		return NET_DROP_IP_SHORT;
	if (p[0] >> 4 != 4)
		return NET_DROP_IP_VERSION;
	unsigned hlen = (p[0] & 0xf) * 4u;
	if (hlen < IPV4_HLEN || hlen + 8 > len)
		return NET_DROP_IP_IHL;
	uint16_t total = get_be16(p + 2);
	if (total < hlen + 8)
		return NET_DROP_IP_LEN;
	ipv4_fill(p, hlen, total, ip);
	ip->payload_len = MIN_QUOTE(len - hlen, (size_t)total - hlen);
	return NET_OK;
}

size_t ipv4_build(uint8_t *buf, uint8_t tos, uint16_t id, uint16_t frag, uint8_t ttl,
		  uint8_t proto, uint32_t src, uint32_t dst, size_t payload_len)
{
	buf[0] = 0x45;
	buf[1] = tos;
	put_be16(buf + 2, (uint16_t)(IPV4_HLEN + payload_len));
	put_be16(buf + 4, id);
	put_be16(buf + 6, frag);
	buf[8] = ttl;
	buf[9] = proto;
	put_be16(buf + 10, 0);
	put_be32(buf + 12, src);
	put_be32(buf + 16, dst);
	put_be16(buf + 10, csum_fold(csum_add(0, buf, IPV4_HLEN)));
	return IPV4_HLEN;
}

/* ---- ICMP (RFC 792) ---- */

enum net_drop icmp_parse(const uint8_t *p, size_t len, struct icmp_info *ic)
{
	if (len < ICMP_HLEN)
		return NET_DROP_ICMP_SHORT;
	if (csum_fold(csum_add(0, p, len)) != 0)
		return NET_DROP_ICMP_CSUM;
	ic->type = p[0];
	ic->code = p[1];
	ic->id = get_be16(p + 4);
	ic->seq = get_be16(p + 6);
	ic->data = p + ICMP_HLEN;
	ic->data_len = len - ICMP_HLEN;
	return NET_OK;
}

size_t icmp_build_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq,
		       const void *data, size_t data_len)
{
	if (data && data != buf + ICMP_HLEN)
		__builtin_memmove(buf + ICMP_HLEN, data, data_len);
	buf[0] = type;
	buf[1] = 0;
	put_be16(buf + 2, 0);
	put_be16(buf + 4, id);
	put_be16(buf + 6, seq);
	put_be16(buf + 2, csum_fold(csum_add(0, buf, ICMP_HLEN + data_len)));
	return ICMP_HLEN + data_len;
}

/* ---- UDP (RFC 768) ---- */

static enum net_drop udp_parse_common(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
				      bool verify, struct udp_info *u)
{
	if (len < UDP_HLEN)
		return NET_DROP_UDP_SHORT;
	uint16_t ulen = get_be16(p + 4);
	if (ulen < UDP_HLEN || ulen > len)
		return NET_DROP_UDP_LEN;
	/* A zero checksum means the sender computed none (allowed on IPv4). */
	u->has_csum = get_be16(p + 6) != 0;
	if (verify && u->has_csum &&
	    csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_UDP, ulen), p, ulen)) != 0)
		return NET_DROP_UDP_CSUM;
	u->sport = get_be16(p);
	u->dport = get_be16(p + 2);
	u->len = ulen;
	u->payload = p + UDP_HLEN;
	u->payload_len = ulen - UDP_HLEN;
	return NET_OK;
}

enum net_drop udp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
			struct udp_info *u)
{
	return udp_parse_common(p, len, src, dst, true, u);
}

enum net_drop udp_parse_nocsum(const uint8_t *p, size_t len, struct udp_info *u)
{
	return udp_parse_common(p, len, 0, 0, false, u);
}

size_t udp_build(uint8_t *buf, uint16_t sport, uint16_t dport, uint32_t src, uint32_t dst,
		 size_t payload_len)
{
	uint16_t ulen = (uint16_t)(UDP_HLEN + payload_len);
	put_be16(buf, sport);
	put_be16(buf + 2, dport);
	put_be16(buf + 4, ulen);
	put_be16(buf + 6, 0);
	uint16_t c = csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_UDP, ulen), buf, ulen));
	/* 0 on the wire means "no checksum"; a computed 0 is sent as 0xffff. */
	put_be16(buf + 6, c ? c : 0xffff);
	return UDP_HLEN;
}

/* ---- TCP (RFC 9293, options RFC 7323 and RFC 2018) ---- */

#define TCPOPT_EOL    0
#define TCPOPT_NOP    1
#define TCPOPT_MSS    2
#define TCPOPT_WSCALE 3
#define TCPOPT_SACK_OK 4
#define TCPOPT_SACK   5
#define TCPOPT_TS     8

/* Options with a wrong length for their kind are malformed; unknown
 * kinds are skipped by their length (RFC 9293 3.1, 3.2). */
static enum net_drop tcp_parse_opts(const uint8_t *p, size_t len, struct tcp_opts *o)
{
	size_t i = 0;
	while (i < len) {
		uint8_t kind = p[i];
		if (kind == TCPOPT_EOL)
			break;
		if (kind == TCPOPT_NOP) {
			i++;
			continue;
		}
		if (i + 1 >= len)
			return NET_DROP_TCP_OPT;
		uint8_t olen = p[i + 1];
		if (olen < 2 || olen > len - i)
			return NET_DROP_TCP_OPT;
		const uint8_t *v = p + i + 2;
		switch (kind) {
		case TCPOPT_MSS:
			if (olen != 4)
				return NET_DROP_TCP_OPT;
			o->has_mss = true;
			o->mss = get_be16(v);
			break;
		case TCPOPT_WSCALE:
			if (olen != 3)
				return NET_DROP_TCP_OPT;
			o->has_wscale = true;
			/* RFC 7323 2.3: larger shifts are used as 14. */
			o->wscale = v[0] > 14 ? 14 : v[0];
			break;
		case TCPOPT_SACK_OK:
			if (olen != 2)
				return NET_DROP_TCP_OPT;
			o->sack_ok = true;
			break;
		case TCPOPT_SACK:
			if (olen < 10 || (olen - 2) % 8 != 0)
				return NET_DROP_TCP_OPT;
			o->nsack = 0;
			for (unsigned k = 0; k < (olen - 2u) / 8 && k < TCP_MAX_SACK; k++) {
				o->sack[k][0] = get_be32(v + 8 * k);
				o->sack[k][1] = get_be32(v + 8 * k + 4);
				o->nsack++;
			}
			break;
		case TCPOPT_TS:
			if (olen != 10)
				return NET_DROP_TCP_OPT;
			o->has_ts = true;
			o->tsval = get_be32(v);
			o->tsecr = get_be32(v + 4);
			break;
		default:
			break;
		}
		i += olen;
	}
	return NET_OK;
}

static enum net_drop tcp_parse_common(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
				      bool verify, struct tcp_info *t)
{
	if (len < TCP_HLEN)
		return NET_DROP_TCP_SHORT;
	unsigned hlen = (p[12] >> 4) * 4u;
	if (hlen < TCP_HLEN || hlen > len)
		return NET_DROP_TCP_OFF;
	if (len > 0xffff)
		return NET_DROP_TCP_CSUM;
	if (verify &&
	    csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP, (uint16_t)len), p, len)) != 0)
		return NET_DROP_TCP_CSUM;
	__builtin_memset(&t->opts, 0, sizeof(t->opts));
	enum net_drop r = tcp_parse_opts(p + TCP_HLEN, hlen - TCP_HLEN, &t->opts);
	if (r != NET_OK)
		return r;
	t->sport = get_be16(p);
	t->dport = get_be16(p + 2);
	t->seq = get_be32(p + 4);
	t->ack = get_be32(p + 8);
	t->flags = p[13];
	t->window = get_be16(p + 14);
	t->urg = get_be16(p + 18);
	t->hlen = hlen;
	t->payload = p + hlen;
	t->payload_len = len - hlen;
	return NET_OK;
}

enum net_drop tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
			struct tcp_info *t)
{
	return tcp_parse_common(p, len, src, dst, true, t);
}

enum net_drop tcp_parse_nocsum(const uint8_t *p, size_t len, struct tcp_info *t)
{
	return tcp_parse_common(p, len, 0, 0, false, t);
}

/* Layout (as common stacks do, so every option is 4-byte aligned):
 * MSS(4) | NOP NOP SACK_OK? or NOP NOP TS(10) | NOP WSCALE(3) | SACK. */
static size_t tcp_write_opts(uint8_t *b, const struct tcp_opts *o)
{
	size_t n = 0;
	if (o->has_mss) {
		b[n] = TCPOPT_MSS; b[n + 1] = 4; put_be16(b + n + 2, o->mss);
		n += 4;
	}
	if (o->has_ts) {
		if (o->sack_ok) {
			b[n] = TCPOPT_SACK_OK; b[n + 1] = 2;
		} else {
			b[n] = TCPOPT_NOP; b[n + 1] = TCPOPT_NOP;
		}
		b[n + 2] = TCPOPT_TS; b[n + 3] = 10;
		put_be32(b + n + 4, o->tsval);
		put_be32(b + n + 8, o->tsecr);
		n += 12;
	} else if (o->sack_ok) {
		b[n] = TCPOPT_NOP; b[n + 1] = TCPOPT_NOP;
		b[n + 2] = TCPOPT_SACK_OK; b[n + 3] = 2;
		n += 4;
	}
	if (o->has_wscale) {
		b[n] = TCPOPT_NOP; b[n + 1] = TCPOPT_WSCALE; b[n + 2] = 3; b[n + 3] = o->wscale;
		n += 4;
	}
	unsigned ns = o->nsack;
	/* 40 bytes of option space: with timestamps only 3 blocks fit. */
	unsigned room = (unsigned)((TCP_MAX_HLEN - TCP_HLEN - n - 4) / 8);
	if (ns > room)
		ns = room;
	if (ns) {
		b[n] = TCPOPT_NOP; b[n + 1] = TCPOPT_NOP;
		b[n + 2] = TCPOPT_SACK; b[n + 3] = (uint8_t)(2 + 8 * ns);
		n += 4;
		for (unsigned k = 0; k < ns; k++) {
			put_be32(b + n, o->sack[k][0]);
			put_be32(b + n + 4, o->sack[k][1]);
			n += 8;
		}
	}
	return n;
}

size_t tcp_opts_len(const struct tcp_opts *o)
{
	uint8_t scratch[TCP_MAX_HLEN - TCP_HLEN + 8];
	return tcp_write_opts(scratch, o);
}

size_t tcp_build(uint8_t *buf, const struct tcp_info *t, uint32_t src, uint32_t dst,
		 size_t payload_len)
{
	size_t hlen = TCP_HLEN + tcp_write_opts(buf + TCP_HLEN, &t->opts);
	put_be16(buf, t->sport);
	put_be16(buf + 2, t->dport);
	put_be32(buf + 4, t->seq);
	put_be32(buf + 8, t->ack);
	buf[12] = (uint8_t)((hlen / 4) << 4);
	buf[13] = t->flags;
	put_be16(buf + 14, t->window);
	put_be16(buf + 16, 0);
	put_be16(buf + 18, t->urg);
	size_t seg = hlen + payload_len;
	put_be16(buf + 16, csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP, (uint16_t)seg),
					      buf, seg)));
	return hlen;
}
