/* ARP cache (kernel/net/arp_cache.c): lookup, request pacing, expiry of
 * reachable and incomplete entries, refresh vs create, eviction of the
 * least recently used when full. Time is passed in. */
#include "check.h"
#include <stdint.h>
#include "../../kernel/net/arp_cache.c"

#define S 1000000000ull

int main(void)
{
	static struct arp_cache c;
	arp_cache_init(&c);
	uint8_t mac[6], m1[6] = { 2, 0, 0, 0, 0, 1 }, m2[6] = { 2, 0, 0, 0, 0, 2 };
	uint64_t t = 1000 * S;
	CHECK(!arp_cache_lookup(&c, 1, t, mac));
	/* First want sends, again within a second does not, after it does. */
	CHECK(arp_cache_want(&c, 1, t));
	CHECK(!arp_cache_want(&c, 1, t + S / 2));
	CHECK(!arp_cache_lookup(&c, 1, t + S / 2, mac));   /* incomplete: no MAC */
	CHECK(arp_cache_want(&c, 1, t + S));
	/* Incomplete entries give up after 3 s: the next want starts over. */
	CHECK(arp_cache_want(&c, 1, t + 3 * S));
	CHECK(!arp_cache_want(&c, 1, t + 3 * S + 1));
	/* The reply arrives. */
	arp_cache_update(&c, 1, m1, t + 4 * S, false);    /* refresh: entry exists */
	CHECK(arp_cache_lookup(&c, 1, t + 4 * S, mac) && memcmp(mac, m1, 6) == 0);
	CHECK(!arp_cache_want(&c, 1, t + 5 * S));          /* known: no request */
	/* Refresh-only for an unknown address does nothing; create does. */
	arp_cache_update(&c, 2, m2, t + 4 * S, false);
	CHECK(!arp_cache_lookup(&c, 2, t + 4 * S, mac));
	arp_cache_update(&c, 2, m2, t + 4 * S, true);
	CHECK(arp_cache_lookup(&c, 2, t + 4 * S, mac) && memcmp(mac, m2, 6) == 0);
	/* A new MAC replaces the old. */
	arp_cache_update(&c, 2, m1, t + 5 * S, false);
	CHECK(arp_cache_lookup(&c, 2, t + 5 * S, mac) && memcmp(mac, m1, 6) == 0);
	/* Stale: 60 s after it was heard the MAC is still used, and a
	 * refresh request is asked for once a second; an answer makes it
	 * fresh again. */
	uint64_t heard = t + 4 * S;
	bool refresh;
	CHECK(arp_cache_lookup_probe(&c, 1, heard + ARP_REACHABLE_NS - 1, mac, &refresh) &&
	      !refresh);
	CHECK(arp_cache_lookup_probe(&c, 1, heard + ARP_REACHABLE_NS, mac, &refresh) && refresh);
	CHECK(arp_cache_lookup_probe(&c, 1, heard + ARP_REACHABLE_NS + S / 2, mac, &refresh) &&
	      !refresh);
	CHECK(arp_cache_lookup_probe(&c, 1, heard + ARP_REACHABLE_NS + S, mac, &refresh) && refresh);
	CHECK(!arp_cache_want(&c, 1, heard + ARP_REACHABLE_NS + S));     /* still known */
	arp_cache_update(&c, 1, m1, heard + ARP_REACHABLE_NS + 2 * S, false);
	CHECK(arp_cache_lookup_probe(&c, 1, heard + ARP_REACHABLE_NS + 3 * S, mac, &refresh) &&
	      !refresh);
	heard += ARP_REACHABLE_NS + 2 * S;
	/* Expiry: the stale time over without an answer, lookups fail, want
	 * asks again. */
	CHECK(arp_cache_lookup(&c, 1, heard + ARP_REACHABLE_NS + ARP_STALE_NS - 1, mac));
	CHECK(!arp_cache_lookup(&c, 1, heard + ARP_REACHABLE_NS + ARP_STALE_NS, mac));
	CHECK(arp_cache_want(&c, 1, heard + ARP_REACHABLE_NS + ARP_STALE_NS));
	/* arp_cache_expire sweeps. */
	CHECK(arp_cache_expire(&c, heard + 2 * ARP_REACHABLE_NS + ARP_STALE_NS +
				   ARP_INCOMPLETE_NS) == 2);
	for (unsigned i = 0; i < ARP_CACHE_SIZE; i++)
		CHECK(c.e[i].state == ARP_FREE);
	/* Full table: the least recently used goes. */
	t = 2000 * S;
	for (uint32_t ip = 100; ip < 100 + ARP_CACHE_SIZE; ip++)
		arp_cache_update(&c, ip, m1, t + ip, true);
	for (uint32_t ip = 100; ip < 100 + ARP_CACHE_SIZE; ip++)
		if (ip != 105)
			CHECK(arp_cache_lookup(&c, ip, t + 1000 + ip, mac));
	arp_cache_update(&c, 999, m2, t + 2000, true);
	CHECK(arp_cache_lookup(&c, 999, t + 2001, mac) && memcmp(mac, m2, 6) == 0);
	CHECK(!arp_cache_lookup(&c, 105, t + 2001, mac));
	unsigned known = 0;
	for (uint32_t ip = 100; ip < 100 + ARP_CACHE_SIZE; ip++)
		known += arp_cache_lookup(&c, ip, t + 2002, mac);
	CHECK(known == ARP_CACHE_SIZE - 1);
	/* Clock wrap-safe arithmetic: now - updated with now just after. */
	arp_cache_init(&c);
	arp_cache_update(&c, 7, m1, 0, true);
	CHECK(arp_cache_lookup(&c, 7, 0, mac));
	return CHECK_SUMMARY();
}
