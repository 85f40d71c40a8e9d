/*
 * IPv4 output and input (net_lock held throughout).
 *
 * Output builds the Ethernet and IPv4 headers in a small buffer on the
 * stack and hands [headers, payload iov...] to the interface: no copy of
 * the payload unless the driver cannot gather (then netif.c flattens) or
 * the datagram waits for ARP. Fragmentation (RFC 791) cuts the payload
 * iov into ranges without copying either. Checksum offload and TSO are
 * translated to the device's per-frame metadata (offsets from the start
 * of the frame), and done in software when the route's interface cannot.
 *
 * Input: header checks (packet.c), destination filter (weak host model:
 * any of our addresses on any interface, or a broadcast), reassembly,
 * then ICMP here, UDP and TCP in their layers (checksums skipped when the
 * device vouched for them: NETIF_RX_CSUM_OK).
 */
#include "net/ip.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "net/reasm.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "errno.h"

struct net_mib net_mib;

static uint16_t ip_id;

uint16_t ip_next_id(void) { return ip_id++; }

/* ---- output ---- */

static size_t iov_total(const struct net_iov *iov, int n)
{
	size_t t = 0;
	for (int i = 0; i < n; i++)
		t += iov[i].len;
	return t;
}

/* The pieces of iov covering bytes [off, off + len) into out (at most
 * NET_IOV_MAX - 1); returns how many. */
static int iov_slice(const struct net_iov *iov, int n, size_t off, size_t len,
		     struct net_iov *out)
{
	int k = 0;
	for (int i = 0; i < n && len; i++) {
		if (off >= iov[i].len) {
			off -= iov[i].len;
			continue;
		}
		size_t take = MIN(iov[i].len - off, len);
		out[k++] = (struct net_iov){ (const uint8_t *)iov[i].base + off, take };
		len -= take;
		off = 0;
	}
	return k;
}

static uint8_t iov_byte(const struct net_iov *iov, int n, size_t off)
{
	for (int i = 0; i < n; i++) {
		if (off < iov[i].len)
			return ((const uint8_t *)iov[i].base)[off];
		off -= iov[i].len;
	}
	return 0;
}

/* Completes a partial checksum in software: the interface cannot, or
 * the datagram is fragmented. The L4 header is rewritten in `fix`, a
 * copy of the payload's first piece(s) up to the checksum field, which
 * replaces them in `out`. Returns the new iov count, or -EINVAL. */
#define FIX_MAX 128
static int csum_in_software(const struct ip_tx *tx, const struct net_iov *iov, int n,
			    uint8_t fix[FIX_MAX], struct net_iov *out)
{
	size_t total = iov_total(iov, n);
	size_t at = (size_t)tx->csum_start + tx->csum_offset;
	if (at + 2 > total || at + 2 > FIX_MAX)
		return -EINVAL;
	/* Copy whole leading pieces until the field is covered (a header is
	 * rarely split), then sum everything from csum_start. */
	size_t head = 0;
	int k = 0;
	while (k < n && head < at + 2) {
		if (head + iov[k].len > FIX_MAX)
			break;
		memcpy(fix + head, iov[k].base, iov[k].len);
		head += iov[k++].len;
	}
	if (head < at + 2) {
		/* A huge first piece: copy just the prefix. */
		size_t need = at + 2 - head;
		memcpy(fix + head, iov[k].base, need);
		head += need;
	}
	/* The field holds the pseudo-header sum; the sum over the data with
	 * it in place is the checksum. Pieces are summed whole; one that
	 * starts at an odd offset contributes its sum byte-swapped (RFC 1071
	 * 2(B): the sum is byte-order independent). */
	uint64_t sum = 0;
	size_t pos = 0, rel = 0;
	for (int i = 0; i < n; i++) {
		const uint8_t *b = iov[i].base;
		size_t l = iov[i].len;
		if (pos + l <= tx->csum_start) {
			pos += l;
			continue;
		}
		size_t skip = pos < tx->csum_start ? tx->csum_start - pos : 0;
		uint32_t s = csum_add(0, b + skip, l - skip);
		while (s >> 16)
			s = (s & 0xffff) + (s >> 16);
		if (rel & 1)
			s = (s & 0xff) << 8 | s >> 8;
		sum += s;
		rel += l - skip;
		pos += l;
	}
	while (sum >> 32)
		sum = (sum & 0xffffffffu) + (sum >> 32);
	uint16_t c = csum_fold((uint32_t)(sum & 0xffff) + (uint32_t)(sum >> 16));
	if (c == 0 && tx->proto == IPPROTO_UDP)
		c = 0xffff;
	put_be16(fix + at, c);
	int m = 0;
	out[m++] = (struct net_iov){ fix, head };
	m += iov_slice(iov, n, head, total - head, out + m);
	return m;
}

/* One frame: [eth + ip header, pieces]. */
static int output_frame(struct netif *nif, uint32_t hop, const struct ip_tx *tx, uint32_t src,
			uint16_t id, uint16_t frag, const struct net_iov *iov, int n, size_t len,
			const struct netif_tx_meta *meta)
{
	uint8_t hdr[ETH_HLEN + IPV4_HLEN];
	/* The destination MAC is filled in by netif_send_ipv4. */
	eth_build(hdr, eth_broadcast, nif->mac, ETH_P_IPV4);
	ipv4_build(hdr + ETH_HLEN, tx->tos, id, frag, tx->ttl ? tx->ttl : 64, tx->proto, src,
		   tx->dst, len);
	return netif_send_ipv4(nif, hop, hdr, sizeof(hdr), iov, n, meta);
}

int ip_output(const struct ip_tx *tx, const struct net_iov *iov, int n)
{
	struct netif *nif;
	uint32_t hop, src;
	net_mib.ip_out_requests++;
	if (n < 0 || n > NET_IOV_MAX - 1)
		return -EINVAL;
	if (route_lookup(tx->dst, &nif, &hop, &src) < 0) {
		net_mib.ip_out_no_routes++;
		return -ENETUNREACH;
	}
	if (tx->src)
		src = tx->src;
	size_t len = iov_total(iov, n);
	if (len > 65535 - IPV4_HLEN) {
		net_mib.ip_out_discards++;
		return -EMSGSIZE;
	}
	unsigned mtu = pmtu_get(tx->dst, nif->mtu);
	struct net_iov fixed[NET_IOV_MAX];
	uint8_t fix[FIX_MAX];
	struct netif_tx_meta meta = { 0 }, *mp = NULL;
	bool fits = IPV4_HLEN + len <= mtu;
	bool tso = tx->gso_size && !fits && (nif->features & NETIF_F_TSO);
	if (tx->gso_size && !fits && !tso) {
		net_mib.ip_out_discards++;
		return -EMSGSIZE;        /* TSO asked of an interface without it */
	}
	if (tx->csum_partial) {
		if ((nif->features & NETIF_F_TX_CSUM) && (fits || tso)) {
			meta.csum_partial = true;
			meta.csum_start = (uint16_t)(ETH_HLEN + IPV4_HLEN + tx->csum_start);
			meta.csum_offset = tx->csum_offset;
			mp = &meta;
		} else {
			int m = csum_in_software(tx, iov, n, fix, fixed);
			if (m < 0) {
				net_mib.ip_out_discards++;
				return m;
			}
			iov = fixed;
			n = m;
		}
	}
	if (tso) {
		meta.gso_size = tx->gso_size;
		meta.hdr_len = (uint16_t)(ETH_HLEN + IPV4_HLEN + (iov_byte(iov, n, 12) >> 4) * 4u);
		mp = &meta;
	}
	uint16_t id = ip_next_id();
	if (fits || tso) {
		int r = output_frame(nif, hop, tx, src, id, tx->df ? IPV4_DF : 0, iov, n, len, mp);
		if (r < 0)
			net_mib.ip_out_discards++;
		return r == -ENOSPC ? -ENOBUFS : r;
	}
	if (tx->df) {
		net_mib.ip_frag_fails++;
		return -EMSGSIZE;
	}
	/* Fragments of (mtu - header) rounded down to 8 bytes. */
	size_t per = (mtu - IPV4_HLEN) & ~7u;
	if (per < 8) {
		net_mib.ip_frag_fails++;
		return -EMSGSIZE;
	}
	for (size_t off = 0; off < len; off += per) {
		size_t flen = MIN(per, len - off);
		struct net_iov piece[NET_IOV_MAX];
		int k = iov_slice(iov, n, off, flen, piece);
		uint16_t frag = (uint16_t)(off / 8) | (off + flen < len ? IPV4_MF : 0);
		int r = output_frame(nif, hop, tx, src, id, frag, piece, k, flen, NULL);
		if (r < 0) {
			net_mib.ip_frag_fails++;
			net_mib.ip_out_discards++;
			return r == -ENOSPC ? -ENOBUFS : r;
		}
		net_mib.ip_frag_creates++;
	}
	net_mib.ip_frag_oks++;
	return 0;
}

/* ---- reassembly glue ---- */

static struct reasm reasm;
static struct net_timer reasm_timer;

void *reasm_alloc(size_t n) { return kmalloc(n); }
void reasm_free(void *p) { kfree(p); }

static void reasm_sync_mib(void)
{
	net_mib.ip_reasm_reqds = reasm.st.reqds;
	net_mib.ip_reasm_oks = reasm.st.oks;
	net_mib.ip_reasm_fails = reasm.st.fails;
	net_mib.ip_reasm_timeouts = reasm.st.timeouts;
}

static void reasm_rearm(void)
{
	uint64_t next = reasm_next_expiry(&reasm);
	if (next == UINT64_MAX)
		net_timer_cancel(&reasm_timer);
	else if (!net_timer_pending(&reasm_timer) || reasm_timer.deadline != next)
		net_timer_arm(&reasm_timer, next);
}

/* RFC 1122 3.3.2: time exceeded (fragment reassembly) to the sender
 * when the first fragment had come. */
static void reasm_expired(const uint8_t *dgram, size_t len, void *arg)
{
	(void)arg;
	struct ipv4_info ip;
	if (ipv4_parse_quoted(dgram, len, &ip) == NET_OK && ip_is_local(ip.dst))
		icmp_send_error(ICMP_TIME_EXCEEDED, 1, 0, &ip);
}

static void reasm_timer_fn(struct net_timer *t)
{
	(void)t;
	reasm_expire(&reasm, net_now_ns(), reasm_expired, NULL);
	reasm_sync_mib();
	reasm_rearm();
}

void ip_reasm_init(void)
{
	reasm_init(&reasm, NULL);
	net_timer_init(&reasm_timer, reasm_timer_fn, NULL);
}

/* ---- input ---- */

static void deliver(struct netif *nif, const struct ipv4_info *ip, bool unicast,
		    unsigned rx_flags, enum net_drop *why)
{
	bool csum_ok = rx_flags & NETIF_RX_CSUM_OK;
	switch (ip->proto) {
	case IPPROTO_ICMP:
		net_mib.ip_in_delivers++;
		icmp_input(nif, ip, unicast, why);
		return;
	case IPPROTO_UDP: {
		struct udp_info u;
		*why = csum_ok ? udp_parse_nocsum(ip->payload, ip->payload_len, &u)
			       : udp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, &u);
		if (*why != NET_OK) {
			net_mib.udp_in_errors++;
			if (*why == NET_DROP_UDP_CSUM)
				net_mib.udp_in_csum_errors++;
			return;
		}
		net_mib.ip_in_delivers++;
		if (u.dport == 68 && dhcp_input(nif, ip, &u)) {
			net_mib.udp_in_datagrams++;
			return;
		}
		if (udp_input(nif, ip, &u))
			return;
		net_mib.udp_no_ports++;
		*why = NET_DROP_UDP_NO_PORT;
		if (unicast)
			icmp_send_error(ICMP_DEST_UNREACH, 3, 0, ip);
		return;
	}
	case IPPROTO_TCP: {
		struct tcp_info t;
		*why = csum_ok ? tcp_parse_nocsum(ip->payload, ip->payload_len, &t)
			       : tcp_parse(ip->payload, ip->payload_len, ip->src, ip->dst, &t);
		if (*why != NET_OK) {
			net_mib.tcp_in_errs++;
			if (*why == NET_DROP_TCP_CSUM)
				net_mib.tcp_in_csum_errors++;
			return;
		}
		/* Only unicast: TCP has no broadcast (RFC 1122 4.2.3.10). */
		if (!unicast) {
			*why = NET_DROP_IP_NOT_US;
			return;
		}
		net_mib.ip_in_delivers++;
		tcp_input(nif, ip, &t);
		return;
	}
	default:
		net_mib.ip_in_unknown_protos++;
		*why = NET_DROP_IP_PROTO;
		if (unicast)
			icmp_send_error(ICMP_DEST_UNREACH, 2, 0, ip);   /* protocol unreachable */
		return;
	}
}

void ip_input(struct netif *nif, const uint8_t *p, size_t len, unsigned rx_flags,
	      enum net_drop *why)
{
	struct ipv4_info ip;
	net_mib.ip_in_receives++;
	*why = ipv4_parse(p, len, &ip);
	if (*why != NET_OK) {
		net_mib.ip_in_hdr_errors++;
		return;
	}
	bool lo = nif->features & NETIF_F_LOOPBACK;
	/* RFC 1122 3.2.1.3: never accept a broadcast, multicast or (from
	 * the wire) loopback source. */
	if (ip.src >= IP4(224, 0, 0, 0) || (!lo && (ip.src >> 24) == 127) ||
	    (!lo && ip.src && ip_is_broadcast(ip.src))) {
		net_mib.ip_in_addr_errors++;
		*why = NET_DROP_IP_SRC;
		return;
	}
	bool unicast = ip_is_local(ip.dst) && ((ip.dst >> 24) != 127 || lo);
	bool bcast = !unicast && ip_is_broadcast(ip.dst);
	if (!unicast && !bcast) {
		net_mib.ip_in_addr_errors++;
		*why = NET_DROP_IP_NOT_US;
		return;
	}
	if (ipv4_is_fragment(&ip)) {
		struct reasm_done done;
		enum reasm_result rr = reasm_input(&reasm, &ip, net_now_ns(), &done);
		reasm_sync_mib();
		reasm_rearm();
		if (rr == REASM_HELD)
			return;
		if (rr == REASM_DROP) {
			*why = NET_DROP_IP_REASM;
			return;
		}
		struct ipv4_info whole;
		*why = ipv4_parse(done.data, done.len, &whole);
		/* A device's checksum verdict is about frames; only loopback's
		 * vouching holds for the reassembled whole. */
		if (*why == NET_OK)
			deliver(nif, &whole, unicast, lo ? rx_flags : 0, why);
		reasm_release(&done);
		return;
	}
	deliver(nif, &ip, unicast, rx_flags, why);
}
