/*
 * Network interfaces: what a NIC driver registers and what the stack
 * above uses. A driver fills mac, mtu, link_up, send and open, then calls
 * netif_register; once up (netif_up) it hands every received frame to netif_input (from
 * its interrupt handler; later from a NAPI-style poll loop).
 *
 * Addresses are IPv4 in host order. One address per interface, set by
 * netif_set_addr (net_init: ip= on the command line or DHCP).
 *
 * Locking: the stack's net_lock (net/stack.h) guards the ARP cache, the
 * transmit scratch frame, the addresses and the counters; the driver's
 * send/xmit is called with it held and must not take it (nif->lock is
 * left for the driver's own use). Waiting (ARP resolution, ping) sleeps
 * on one wait queue woken by every ARP update and echo reply.
 */
#pragma once
#include "net/arp_cache.h"
#include "net/inet_addr.h"
#include "net/packet.h"
#include "sched/spinlock.h"

struct netif_stats {
	uint64_t rx_packets, rx_bytes, rx_dropped;   /* dropped: counted by reason in drops */
	uint64_t tx_packets, tx_bytes, tx_dropped;   /* dropped: no room in the device's ring */
	uint64_t arp_requests_sent, arp_replies_sent, echo_replies_sent;
	/* The driver's interrupt mitigation: receive interrupts that found
	 * frames, receive polls (batches of up to a budget), interrupts that
	 * reaped transmit completions. */
	uint64_t rx_interrupts, rx_polls, tx_interrupts;
};

/* A piece of a frame or datagram (a header we built, a span of a socket's
 * ring buffer...). */
struct net_iov {
	const void *base;
	size_t len;
};
#define NET_IOV_MAX 6

/* Offloads asked of the device for one frame (virtio_net_hdr semantics;
 * offsets count from the start of the Ethernet frame). Only set when the
 * interface's features include them. */
struct netif_tx_meta {
	bool csum_partial;             /* device sums from csum_start to the end */
	uint16_t csum_start, csum_offset;   /* and stores at csum_start + csum_offset */
	uint16_t gso_size;             /* TSO: TCP payload bytes per segment, 0: none */
	uint16_t hdr_len;              /* Ethernet + IPv4 + TCP header bytes (TSO) */
};

/* Interface features (nif->features), set by the driver before register. */
#define NETIF_F_TX_CSUM  (1u << 0)   /* netif_tx_meta.csum_partial honoured */
#define NETIF_F_TSO      (1u << 1)   /* netif_tx_meta.gso_size honoured, frames to 64 KiB */
#define NETIF_F_RX_CSUM  (1u << 2)   /* received frames may come with NETIF_RX_CSUM_OK */
#define NETIF_F_LOOPBACK (1u << 3)   /* lo: never leaves the machine, no checksums needed */

/* netif_input_flags: what the device already checked. */
#define NETIF_RX_CSUM_OK (1u << 0)   /* L4 checksum verified (or not needed: partial) */

struct netif {
	char name[8];                    /* "eth0", given by netif_register unless set (lo) */
	uint8_t mac[ETH_ALEN];
	unsigned mtu;                    /* IP bytes per frame */
	bool link_up;
	uint32_t addr, netmask, gateway; /* 0 while unconfigured */
	/* Queues one frame (copied; any context). 0, or -ENOSPC when the
	 * device's ring is full, -EMSGSIZE when len > 14 + mtu. */
	int (*send)(struct netif *nif, const void *frame, size_t len);
	/* Gather form with offloads (NULL meta: none); same rules as send.
	 * Optional: without it the stack flattens into send. */
	int (*xmit)(struct netif *nif, const struct net_iov *iov, int n,
		    const struct netif_tx_meta *meta);
	unsigned features;               /* NETIF_F_* */
	/* Allocates buffers and starts receiving (netif_up; thread context). */
	int (*open)(struct netif *nif);
	bool up;                         /* open succeeded */
	void *priv;                      /* the driver's */

	spinlock_t lock;                 /* the driver's, if it wants one */
	struct arp_cache arp;
	uint8_t *tx_frame;               /* ETH_HLEN + mtu bytes: scratch for output */
	struct netif_stats stats;
	struct net_drops drops;
	struct netif *next;
};

/* Names it, sets up ARP and the scratch frame. 0 or -ENOMEM. */
int netif_register(struct netif *nif);
struct netif *netif_first(void);          /* ->next for the rest */
struct netif *netif_find(const char *name);
/* Brings the interface up (once; later calls return 0). Thread context.
 * The device receives nothing before: buffers are allocated here. */
int netif_up(struct netif *nif);
/* Sets the address (bringing the interface up first); thread context. */
int netif_set_addr(struct netif *nif, uint32_t addr, uint32_t netmask, uint32_t gateway);

/* A received frame (without the virtio header); any context. */
void netif_input(struct netif *nif, const void *frame, size_t len);
/* With NETIF_RX_* flags from the device. */
void netif_input_flags(struct netif *nif, const void *frame, size_t len, unsigned rx_flags);

/* Thread context. The MAC for an on-link address: asks by ARP (retried
 * every second) until the deadline (absolute, clock_monotonic_ns).
 * 0 or -ETIMEDOUT. */
int netif_resolve(struct netif *nif, uint32_t ip, uint8_t mac[ETH_ALEN], uint64_t deadline);
/* Sends an IPv4 datagram of proto with the payload to dst, via the
 * gateway when dst is off-link; the next hop must be resolved (else
 * -EHOSTUNREACH, and an ARP request goes out). Thread or interrupt context. */
int netif_output_ipv4(struct netif *nif, uint32_t dst, uint8_t proto,
		      const void *payload, size_t len);
/* ICMP echo to dst with `size` bytes of data; waits for the matching
 * reply until the deadline. 0 and *rtt_ns, or -ETIMEDOUT / -EHOSTUNREACH. */
int net_ping(struct netif *nif, uint32_t dst, uint16_t seq, size_t size, uint64_t deadline,
	     uint64_t *rtt_ns);

