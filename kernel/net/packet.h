/*
 * Ethernet, ARP, IPv4, ICMP, UDP and TCP headers: parsing with strict
 * validation and building. Pure (tests/unit/test_net_packet.c fuzzes it
 * under ASan): no kernel headers, no allocation, no global state.
 *
 * A parser takes (pointer, length), never reads outside it, fills a
 * host-order *_info (with pointers into the buffer for options and
 * payload) and returns NET_OK or the reason the packet must be dropped;
 * the caller counts the reason (struct net_drops). Lengths given by a
 * header are trusted only after they are checked against the bytes we
 * have; trailing bytes beyond the IPv4 total length (Ethernet padding)
 * are cut off.
 *
 * A builder writes a header at the start of `buf` (the caller reserved
 * room for it) and returns its length; checksums that cover the payload
 * expect the payload already in place right after the header.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define ETH_ALEN      6
#define ETH_HLEN      14
#define ETH_ZLEN      60      /* shortest frame without the FCS */
#define ETH_P_IPV4    0x0800
#define ETH_P_ARP     0x0806
#define ETH_P_VLAN    0x8100

#define ARP_LEN       28      /* Ethernet/IPv4 ARP */
#define ARP_OP_REQUEST 1
#define ARP_OP_REPLY   2

#define IPV4_HLEN     20      /* without options */
#define IPV4_MAX_HLEN 60
#define IPV4_DF       0x4000
#define IPV4_MF       0x2000
#define IPV4_OFFMASK  0x1fff
#define IPPROTO_ICMP  1
#define IPPROTO_TCP   6
#define IPPROTO_UDP   17

#define ICMP_HLEN     8
#define ICMP_ECHO_REPLY   0
#define ICMP_DEST_UNREACH 3
#define ICMP_ECHO_REQUEST 8
#define ICMP_TIME_EXCEEDED 11

#define UDP_HLEN      8
#define TCP_HLEN      20
#define TCP_MAX_HLEN  60
#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10
#define TCP_URG 0x20
#define TCP_ECE 0x40
#define TCP_CWR 0x80

/* Why a packet was dropped. Order is the order of the counters in logs
 * and, later, /proc/net/snmp-style output. */
enum net_drop {
	NET_OK = 0,
	NET_DROP_ETH_SHORT,        /* frame shorter than an Ethernet header */
	NET_DROP_ETH_TYPE,         /* EtherType we do not speak */
	NET_DROP_ETH_DST,          /* not for our MAC, broadcast or multicast */
	NET_DROP_ARP_SHORT,
	NET_DROP_ARP_FORMAT,       /* not Ethernet/IPv4, or unknown operation */
	NET_DROP_ARP_NOT_US,       /* a request for another address */
	NET_DROP_IP_SHORT,         /* fewer bytes than a minimal header */
	NET_DROP_IP_VERSION,
	NET_DROP_IP_IHL,           /* IHL < 5 or beyond the bytes we have */
	NET_DROP_IP_LEN,           /* total length < IHL or > the bytes we have */
	NET_DROP_IP_CSUM,
	NET_DROP_IP_SRC,           /* source is broadcast/multicast/loopback */
	NET_DROP_IP_NOT_US,        /* destination is not one of our addresses */
	NET_DROP_IP_FRAG,          /* fragment we cannot take (unused since reassembly) */
	NET_DROP_IP_PROTO,         /* protocol we do not speak */
	NET_DROP_ICMP_SHORT,
	NET_DROP_ICMP_CSUM,
	NET_DROP_ICMP_TYPE,        /* a type we ignore */
	NET_DROP_UDP_SHORT,
	NET_DROP_UDP_LEN,          /* UDP length < 8 or > the IP payload */
	NET_DROP_UDP_CSUM,
	NET_DROP_UDP_NO_PORT,      /* nobody listens (no sockets yet) */
	NET_DROP_TCP_SHORT,
	NET_DROP_TCP_OFF,          /* data offset < 5 or beyond the segment */
	NET_DROP_TCP_CSUM,
	NET_DROP_TCP_OPT,          /* malformed option list */
	NET_DROP_TCP_NO_PORT,      /* no connection or listener (no TCP yet) */
	NET_DROP_NO_BUFFER,        /* a reply could not be queued */
	NET_DROP_IP_REASM,         /* fragment refused by reassembly (limits, overlap, length) */
	NET_DROP_ARP_QUEUE,        /* output waiting for ARP: queue full or ARP gave up */
	NET_DROP_MAX
};
const char *net_drop_name(enum net_drop r);

struct net_drops {
	uint64_t n[NET_DROP_MAX];
};

/* ---- Ethernet ---- */
struct eth_info {
	uint8_t dst[ETH_ALEN], src[ETH_ALEN];
	uint16_t type;
	const uint8_t *payload;
	size_t len;
};
enum net_drop eth_parse(const uint8_t *p, size_t len, struct eth_info *e);
size_t eth_build(uint8_t *buf, const uint8_t dst[ETH_ALEN], const uint8_t src[ETH_ALEN],
		 uint16_t type);
static inline bool eth_is_multicast(const uint8_t *mac) { return mac[0] & 1; }
extern const uint8_t eth_broadcast[ETH_ALEN];

/* ---- ARP (Ethernet/IPv4 only) ---- */
struct arp_info {
	uint16_t op;
	uint8_t sha[ETH_ALEN], tha[ETH_ALEN];
	uint32_t spa, tpa;
};
enum net_drop arp_parse(const uint8_t *p, size_t len, struct arp_info *a);
size_t arp_build(uint8_t *buf, const struct arp_info *a);

/* ---- IPv4 ---- */
struct ipv4_info {
	unsigned hlen;             /* header bytes, options included */
	uint8_t tos, ttl, proto;
	uint16_t total_len, id, frag;   /* frag: flags and offset as on the wire */
	uint32_t src, dst;
	const uint8_t *options;
	size_t opt_len;
	const uint8_t *payload;
	size_t payload_len;        /* total_len - hlen */
};
enum net_drop ipv4_parse(const uint8_t *p, size_t len, struct ipv4_info *ip);
/* A 20-byte header without options for payload_len bytes of payload. */
size_t ipv4_build(uint8_t *buf, uint8_t tos, uint16_t id, uint16_t frag, uint8_t ttl,
		  uint8_t proto, uint32_t src, uint32_t dst, size_t payload_len);
/* The IPv4 header quoted in an ICMP error: the datagram is usually cut
 * short, so its total length is not checked against the bytes we have,
 * nor the checksum (RFC 1122 3.2.2: the quote is the header and at least
 * 8 bytes). Needs the whole header and 8 bytes after it; payload points
 * to them (payload_len: the quoted bytes). */
enum net_drop ipv4_parse_quoted(const uint8_t *p, size_t len, struct ipv4_info *ip);
static inline bool ipv4_is_fragment(const struct ipv4_info *ip)
{
	return (ip->frag & (IPV4_MF | IPV4_OFFMASK)) != 0;
}

/* ---- ICMP ---- */
struct icmp_info {
	uint8_t type, code;
	uint16_t id, seq;          /* echo request/reply: bytes 4..7 */
	const uint8_t *data;       /* after the 8-byte header */
	size_t data_len;
};
enum net_drop icmp_parse(const uint8_t *p, size_t len, struct icmp_info *ic);
/* Echo request/reply: header, then data copied in (may alias buf + 8). */
size_t icmp_build_echo(uint8_t *buf, uint8_t type, uint16_t id, uint16_t seq,
		       const void *data, size_t data_len);

/* ---- UDP ---- */
struct udp_info {
	uint16_t sport, dport, len;
	bool has_csum;
	const uint8_t *payload;
	size_t payload_len;
};
/* src/dst are the IPv4 addresses, for the pseudo-header. */
enum net_drop udp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
			struct udp_info *u);
/* As udp_parse, without verifying the checksum (the device did:
 * NETIF_RX_CSUM_OK, or loopback's partial sums). */
enum net_drop udp_parse_nocsum(const uint8_t *p, size_t len, struct udp_info *u);
/* Header for payload_len bytes already at buf + 8; checksum always set. */
size_t udp_build(uint8_t *buf, uint16_t sport, uint16_t dport, uint32_t src, uint32_t dst,
		 size_t payload_len);

/* ---- TCP ---- */
#define TCP_MAX_SACK 4
struct tcp_opts {
	bool has_mss, has_wscale, sack_ok, has_ts;
	uint16_t mss;
	uint8_t wscale;
	uint32_t tsval, tsecr;
	unsigned nsack;
	uint32_t sack[TCP_MAX_SACK][2];   /* left, right edges */
};
struct tcp_info {
	uint16_t sport, dport;
	uint32_t seq, ack;
	uint8_t flags;
	uint16_t window, urg;
	unsigned hlen;
	struct tcp_opts opts;
	const uint8_t *payload;
	size_t payload_len;
};
enum net_drop tcp_parse(const uint8_t *p, size_t len, uint32_t src, uint32_t dst,
			struct tcp_info *t);
enum net_drop tcp_parse_nocsum(const uint8_t *p, size_t len, struct tcp_info *t);
/* Options as we would send them (MSS, window scale, SACK-permitted,
 * timestamps, SACK blocks), padded to 4 bytes; bytes they take. */
size_t tcp_opts_len(const struct tcp_opts *o);
/* Header and options (t->hlen is ignored) for payload_len bytes already
 * at buf + TCP_HLEN + tcp_opts_len(&t->opts); returns that header length. */
size_t tcp_build(uint8_t *buf, const struct tcp_info *t, uint32_t src, uint32_t dst,
		 size_t payload_len);
