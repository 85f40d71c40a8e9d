/*
 * The ARP cache: IPv4 address -> MAC, a small fixed table per interface.
 * Pure (tests/unit/test_net_arp.c): the caller passes the time in and
 * holds the lock.
 *
 * Entries are INCOMPLETE (a request is out; we have no MAC) or REACHABLE
 * (a MAC heard at `updated`, fresh for ARP_REACHABLE_NS). An incomplete
 * entry is retried every ARP_RETRY_NS and given up after ARP_INCOMPLETE_NS.
 * A reachable entry older than ARP_REACHABLE_NS is stale: still used for
 * ARP_STALE_NS more while requests (one per ARP_RETRY_NS, asked for by
 * arp_cache_lookup_probe) try to refresh it, so traffic to a busy
 * neighbour never stops for ARP (RFC 1122 2.3.2.1); then it expires.
 * A full table evicts the entry used least recently.
 */
#pragma once
#include <stdbool.h>
#include <stdint.h>

#define ARP_CACHE_SIZE     32
#define ARP_REACHABLE_NS   (60ull * 1000000000)
#define ARP_RETRY_NS       (1ull * 1000000000)
#define ARP_INCOMPLETE_NS  (3ull * 1000000000)
#define ARP_STALE_NS       (30ull * 1000000000)

enum arp_state { ARP_FREE, ARP_INCOMPLETE, ARP_REACHABLE };

struct arp_entry {
	uint32_t ip;
	uint8_t mac[6];
	uint8_t state;
	uint64_t updated;     /* REACHABLE: when the MAC was heard; INCOMPLETE: created */
	uint64_t requested;   /* INCOMPLETE: last request sent */
	uint64_t used;        /* last lookup (for eviction) */
};

struct arp_cache {
	struct arp_entry e[ARP_CACHE_SIZE];
};

void arp_cache_init(struct arp_cache *c);
/* The MAC for ip, if known (fresh or stale): true and *mac filled. */
bool arp_cache_lookup(struct arp_cache *c, uint32_t ip, uint64_t now, uint8_t mac[6]);
/* The same; *refresh tells whether the entry is stale and a request to
 * refresh it should be sent now (paced by ARP_RETRY_NS). */
bool arp_cache_lookup_probe(struct arp_cache *c, uint32_t ip, uint64_t now, uint8_t mac[6],
			    bool *refresh);
/* Records ip -> mac heard now. `create`: make an entry if there is none
 * (we were asked or asked ourselves); otherwise only refresh one that
 * exists (RFC 826: the merge flag). */
void arp_cache_update(struct arp_cache *c, uint32_t ip, const uint8_t mac[6], uint64_t now,
		      bool create);
/* Called when ip is needed and not known: makes an INCOMPLETE entry and
 * returns true when a request should be sent now (first time, or the
 * retry interval passed). */
bool arp_cache_want(struct arp_cache *c, uint32_t ip, uint64_t now);
/* Drops expired entries; returns how many. */
unsigned arp_cache_expire(struct arp_cache *c, uint64_t now);
