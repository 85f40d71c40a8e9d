/*
 * The IPv4 layer's internals, shared by its files (stack.c, netif.c,
 * ip.c, route.c, icmp.c, loopback.c, netconfig.c, proc_net.c). Other
 * layers use net/stack.h only. Everything here runs with net_lock held
 * unless it says otherwise.
 */
#pragma once
#include "net/stack.h"

/* ---- netd (stack.c) ---- */
/* Work for netd, run once with net_lock held (queueing twice before it
 * runs runs it once). */
struct net_work {
	struct list node;
	void (*fn)(struct net_work *w);
	bool queued;
};
void net_defer(struct net_work *w);
int netd_start(void);                     /* thread context, once */

/* ---- interfaces (netif.c) ---- */
/* Input of one Ethernet frame. */
void netif_input_locked(struct netif *nif, const void *frame, size_t len, unsigned rx_flags);
/* Hands a whole frame (Ethernet header first) to the driver, gathering
 * iov when it has xmit, else flattening into the scratch frame. Pads
 * short frames. Counts tx stats. 0 or the driver's error. */
int netif_xmit_locked(struct netif *nif, const struct net_iov *iov, int n,
		      const struct netif_tx_meta *meta);
/* Sends an IPv4 frame (hdr: Ethernet + IPv4 headers, the Ethernet
 * destination left to fill) towards the next hop `hop`: looked up in the
 * ARP cache, else queued behind an ARP request (a few per next hop, given
 * up with ARP). 0, -ENOBUFS, or the driver's error. */
int netif_send_ipv4(struct netif *nif, uint32_t hop, uint8_t *hdr, size_t hlen,
		    const struct net_iov *iov, int n, const struct netif_tx_meta *meta);
/* Wakes thread-context waiters of netif_resolve / net_ping / DHCP (safe
 * under net_lock). */
void net_wake(void);
uint64_t net_event_seq(void);
int net_wait(uint64_t seq, uint64_t deadline);   /* thread context, no locks */
/* An echo reply arrived (icmp.c -> netif.c's ping). */
bool net_ping_reply(uint16_t id, uint16_t seq, uint64_t now);
/* Every datagram waiting for ARP, for /proc and tests. */
unsigned netif_arp_pending(void);

/* ---- routes and path MTU (route.c) ---- */
#define ROUTE_MAX 16
#define RTF_UP      0x0001
#define RTF_GATEWAY 0x0002
#define RTF_HOST    0x0004
struct route {
	uint32_t dst, mask, gw;
	struct netif *nif;
	unsigned metric;
	unsigned flags;            /* RTF_*, as /proc/net/route shows them */
};
/* Replaces the routes of nif with its connected route and, when it has
 * a gateway, a default route through it. */
void route_set_nif(struct netif *nif);
/* The table, for /proc/net/route: copies up to max, returns the count. */
unsigned route_snapshot(struct route *out, unsigned max);
/* Path MTU learnt from ICMP fragmentation needed (RFC 1191), expiring
 * after PMTU_EXPIRE_NS; never above the interface MTU. */
#define PMTU_EXPIRE_NS (600ull * 1000000000)
#define PMTU_MIN 552           /* lower claims are taken as this (as Linux) */
void pmtu_update(uint32_t dst, unsigned mtu);
unsigned pmtu_get(uint32_t dst, unsigned mtu);   /* mtu: the interface's */
/* The interface a frame to `dst` leaves by and the next hop (the
 * destination or the gateway). */
int route_lookup(uint32_t dst, struct netif **nif, uint32_t *hop, uint32_t *src);

/* ---- IPv4 (ip.c) ---- */
void ip_input(struct netif *nif, const uint8_t *p, size_t len, unsigned rx_flags,
	      enum net_drop *why);
void ip_reasm_init(void);
/* Delivery hook for the DHCP client: UDP to port 68 goes here first
 * (returns true when consumed). */
bool dhcp_input(struct netif *nif, const struct ipv4_info *ip, const struct udp_info *u);

/* ---- ICMP (icmp.c) ---- */
void icmp_input(struct netif *nif, const struct ipv4_info *ip, bool unicast, enum net_drop *why);
/* ICMP errors suppressed by the rate limit. */
extern uint64_t icmp_rate_limited;

/* ---- loopback (loopback.c) ---- */
extern struct netif *loopback_nif;
int loopback_init(void);
