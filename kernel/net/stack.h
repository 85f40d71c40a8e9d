/*
 * The contract between the layers of the network stack: its one lock, its
 * timers, IPv4 output and routing, and the protocol entry points the IPv4
 * input path calls. Each layer lives in its own files (docs/net.md
 * "Layout"); this header is what they may assume of each other.
 *
 * Locking: one stack lock, net_lock, guards every piece of protocol state
 * (interfaces' ARP caches and queues, routes, reassembly, UDP and TCP
 * control blocks and their buffers, the port tables). It is a spinlock
 * taken with interrupts off, so it may be taken from a driver's receive
 * path. It is never held while touching user memory (copies can fault and
 * sleep) nor while sleeping. A driver's send is called with it held and
 * must not take it. Lock order: net_lock, then wait-queue/pollhead locks
 * (pollhead_wake under net_lock is fine), then the heap's locks.
 *
 * Contexts: netif_input may run in a driver's interrupt handler or its
 * polling thread; it takes net_lock itself. Protocol input (udp_input,
 * tcp_input, the ICMP error hooks) and net timers run with net_lock held
 * and must not block; they may allocate (kmalloc is interrupt-safe) and
 * wake threads.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/netif.h"
#include "net/packet.h"
#include "sched/list.h"
#include "sched/spinlock.h"

extern spinlock_t net_lock;
static inline uint64_t net_lock_irqsave(void) { return spin_lock_irqsave(&net_lock); }
static inline void net_unlock_irqrestore(uint64_t f) { spin_unlock_irqrestore(&net_lock, f); }

/* Monotonic time in ns, the stack's one clock. */
uint64_t net_now_ns(void);

/*
 * Net timers: callbacks that run in the stack's own kernel thread (netd)
 * with net_lock held, at or after their deadline (ms precision is what
 * TCP needs). Arm and cancel with net_lock held. After net_timer_cancel
 * returns the callback will not run (it cannot be running: it would hold
 * net_lock), so the owner may be freed. Idle stacks arm nothing: no timer
 * interrupts when nothing is pending.
 */
struct net_timer;
typedef void (*net_timer_fn)(struct net_timer *t);
struct net_timer {
	struct list node;
	uint64_t deadline;         /* 0 when not armed */
	net_timer_fn fn;
	void *arg;
};
void net_timer_init(struct net_timer *t, net_timer_fn fn, void *arg);
void net_timer_arm(struct net_timer *t, uint64_t deadline);
void net_timer_cancel(struct net_timer *t);
static inline bool net_timer_pending(const struct net_timer *t) { return t->deadline != 0; }

/* ---- IPv4 output and routing ---------------------------------------- */

/* What the transport asks of ip_output. */
struct ip_tx {
	uint32_t src;              /* 0: the route's source address */
	uint32_t dst;
	uint8_t proto, tos, ttl;   /* ttl 0: the default (64) */
	bool df;                   /* don't fragment (TCP; path-MTU discovery) */
	/* Offloads, only when the route's interface offers them (ip_route's
	 * features): the transport left a partial checksum (the pseudo-header
	 * sum) in its header and the device completes it from csum_start
	 * (offset from the start of the L4 header) storing at csum_offset. */
	bool csum_partial;
	uint16_t csum_start, csum_offset;
	uint16_t gso_size;         /* TSO: device cuts the TCP payload in segments of this */
};

/* Sends an IPv4 datagram whose payload is the concatenation of iov[0..n)
 * (n <= NET_IOV_MAX - 1: the IP layer prepends its headers).
 * net_lock held. Routes (local addresses, 127/8: through the loopback
 * interface, delivered later from netd, never re-entering the caller),
 * resolves the next hop (queueing a few datagrams behind an ARP request),
 * fragments when !df and larger than the MTU. 0, or -ENETUNREACH,
 * -EHOSTUNREACH (ARP gave up), -EMSGSIZE (df and too big), -ENOBUFS
 * (device ring full and queue full: the caller retransmits later). */
int ip_output(const struct ip_tx *tx, const struct net_iov *iov, int n);

/* The route to dst: the source address to use, the path MTU (from the
 * interface MTU, lowered by ICMP fragmentation-needed messages), the
 * interface's NETIF_F_* features. 0 or -ENETUNREACH. */
struct ip_route_info {
	struct netif *nif;
	uint32_t src;
	unsigned mtu;
	unsigned features;
};
int ip_route(uint32_t dst, struct ip_route_info *ri);
/* One of our addresses (any interface, 127/8). */
bool ip_is_local(uint32_t addr);
/* 255.255.255.255 or the directed broadcast of one of our subnets. */
bool ip_is_broadcast(uint32_t addr);
/* A fresh IPv4 identification value. */
uint16_t ip_next_id(void);

/* ---- protocol input: called by the IPv4 layer with net_lock held ---- */

/* Headers and checksums are already validated (by the parsers in
 * packet.c, or by the device when it offers RX_CSUM); fragments are
 * reassembled. `nif` is the receiving interface. */
/* false: no socket wants it (the IPv4 layer answers ICMP port unreachable
 * unless the destination was a broadcast, and counts NET_DROP_UDP_NO_PORT). */
bool udp_input(struct netif *nif, const struct ipv4_info *ip, const struct udp_info *u);
/* TCP answers RSTs for closed ports itself. */
void tcp_input(struct netif *nif, const struct ipv4_info *ip, const struct tcp_info *t);

/* An ICMP error about a datagram we sent: `orig` is the quoted IPv4
 * header, `l4` its first bytes (at least 8: the ports). For
 * ICMP_DEST_UNREACH code 4 (fragmentation needed) `mtu` is the next-hop
 * MTU (the IPv4 layer has already lowered the path MTU). */
void udp_icmp_error(uint8_t type, uint8_t code, uint32_t mtu,
		    const struct ipv4_info *orig, const uint8_t *l4, size_t l4_len);
void tcp_icmp_error(uint8_t type, uint8_t code, uint32_t mtu,
		    const struct ipv4_info *orig, const uint8_t *l4, size_t l4_len);

/* Sends an ICMP error (destination unreachable, ...) about a received
 * datagram, quoting its header and first 8 payload bytes; rate-limited,
 * never about ICMP errors, broadcasts or fragments other than the first. */
void icmp_send_error(uint8_t type, uint8_t code, uint32_t info, const struct ipv4_info *ip);

/* ---- configuration ---------------------------------------------------- */
/* Brings up lo and the NICs from the command line (ip=, gw=, dns=,
 * net=dhcp|static|none; DHCP by default when a NIC exists), before the
 * program starts. Thread context. */
void net_init(void);
/* Waits until the boot's configuration is final: the DHCP lease is in or
 * DHCP has given up (3 s). net_init does not wait for DHCP; the first
 * users of the configuration do (AF_INET and netlink socket creation,
 * /proc/net). Returns at once with ip=, net=none, no NIC, or once done.
 * Thread context. */
void net_wait_configured(void);
/* The DNS servers configured (static or from DHCP), for /etc/resolv.conf. */
unsigned net_dns_servers(uint32_t *out, unsigned max);

/* ---- counters, /proc/net/snmp ---------------------------------------- */
struct net_mib {
	/* Ip */
	uint64_t ip_in_receives, ip_in_hdr_errors, ip_in_addr_errors, ip_in_unknown_protos,
		ip_in_discards, ip_in_delivers, ip_out_requests, ip_out_discards,
		ip_out_no_routes, ip_reasm_reqds, ip_reasm_oks, ip_reasm_fails,
		ip_reasm_timeouts, ip_frag_oks, ip_frag_fails, ip_frag_creates;
	/* Icmp */
	uint64_t icmp_in_msgs, icmp_in_errors, icmp_in_dest_unreachs, icmp_in_echos,
		icmp_in_echo_reps, icmp_out_msgs, icmp_out_dest_unreachs, icmp_out_echo_reps;
	/* Tcp */
	uint64_t tcp_active_opens, tcp_passive_opens, tcp_attempt_fails, tcp_estab_resets,
		tcp_in_segs, tcp_out_segs, tcp_retrans_segs, tcp_in_errs, tcp_out_rsts,
		tcp_in_csum_errors;
	/* Udp */
	uint64_t udp_in_datagrams, udp_no_ports, udp_in_errors, udp_out_datagrams,
		udp_rcvbuf_errors, udp_sndbuf_errors, udp_in_csum_errors;
};
extern struct net_mib net_mib;    /* updated under net_lock */

/* /proc/net files: each protocol formats its own table in Linux's format
 * into buf (at most len bytes; returns the length it needed). */
size_t tcp_proc_net(char *buf, size_t len);      /* /proc/net/tcp */
size_t udp_proc_net(char *buf, size_t len);      /* /proc/net/udp */
size_t unix_proc_net(char *buf, size_t len);     /* /proc/net/unix */
