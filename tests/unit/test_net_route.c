/* Routes and path MTU (kernel/net/route.c) against stub interfaces:
 * longest prefix, metric, our addresses and 127/8 through lo (with their
 * source addresses), broadcast and multicast on the link, interfaces
 * down or unconfigured, ip_is_local / ip_is_broadcast, the path-MTU
 * cache (lowered only, floor, expiry, per destination, capped by the
 * interface, replacement when full). */
#include "check.h"
#include <stdint.h>
#include "../../kernel/net/route.c"
#include "net/byteorder.h"

static uint64_t now_ns = 1000000000ull;
uint64_t net_now_ns(void) { return now_ns; }

static struct netif lo, eth0, eth1;
struct netif *loopback_nif;
struct netif *netif_first(void) { return &eth0; }

static void set(struct netif *n, uint32_t a, unsigned bits, uint32_t gw)
{
	n->addr = a;
	n->netmask = ip4_mask(bits);
	n->gateway = gw;
	route_set_nif(n);
}

int main(void)
{
	memcpy(lo.name, "lo", 3);
	memcpy(eth0.name, "eth0", 5);
	memcpy(eth1.name, "eth1", 5);
	lo.mtu = 65536;
	lo.features = NETIF_F_LOOPBACK;
	eth0.mtu = 1500;
	eth1.mtu = 9000;
	eth0.next = &eth1;
	eth1.next = &lo;
	lo.up = eth0.up = eth1.up = true;
	loopback_nif = &lo;
	struct netif *nif;
	uint32_t hop, src;
	struct ip_route_info ri;

	/* Nothing configured: only lo. */
	set(&lo, IP4(127, 0, 0, 1), 8, 0);
	CHECK(route_lookup(IP4(8, 8, 8, 8), &nif, &hop, &src) == -ENETUNREACH);
	CHECK(route_lookup(IP4(127, 0, 0, 1), &nif, &hop, &src) == 0 && nif == &lo &&
	      src == IP4(127, 0, 0, 1));
	CHECK(route_lookup(IP4(127, 9, 9, 9), &nif, &hop, &src) == 0 && nif == &lo &&
	      src == IP4(127, 0, 0, 1) && hop == IP4(127, 9, 9, 9));

	set(&eth0, IP4(10, 0, 2, 15), 24, IP4(10, 0, 2, 2));
	set(&eth1, IP4(192, 168, 7, 1), 16, 0);
	/* On-link, off-link through the gateway, the longer prefix wins. */
	CHECK(route_lookup(IP4(10, 0, 2, 9), &nif, &hop, &src) == 0 && nif == &eth0 &&
	      hop == IP4(10, 0, 2, 9) && src == IP4(10, 0, 2, 15));
	CHECK(route_lookup(IP4(1, 2, 3, 4), &nif, &hop, &src) == 0 && nif == &eth0 &&
	      hop == IP4(10, 0, 2, 2));
	CHECK(route_lookup(IP4(192, 168, 200, 3), &nif, &hop, &src) == 0 && nif == &eth1 &&
	      hop == IP4(192, 168, 200, 3) && src == IP4(192, 168, 7, 1));
	/* Our own addresses go through lo, from themselves. */
	CHECK(route_lookup(IP4(10, 0, 2, 15), &nif, &hop, &src) == 0 && nif == &lo &&
	      src == IP4(10, 0, 2, 15));
	CHECK(ip_is_local(IP4(192, 168, 7, 1)) && ip_is_local(IP4(127, 3, 2, 1)));
	CHECK(!ip_is_local(IP4(10, 0, 2, 16)) && !ip_is_local(0));
	/* Broadcasts: limited and directed; lo's 127.255.255.255 is not one. */
	CHECK(ip_is_broadcast(0xffffffffu) && ip_is_broadcast(IP4(10, 0, 2, 255)) &&
	      ip_is_broadcast(IP4(192, 168, 255, 255)));
	CHECK(!ip_is_broadcast(IP4(10, 0, 2, 254)) && !ip_is_broadcast(IP4(127, 255, 255, 255)));
	/* The limited broadcast and multicast stay on the link. */
	CHECK(route_lookup(0xffffffffu, &nif, &hop, &src) == 0 && nif == &eth0 &&
	      hop == 0xffffffffu);
	CHECK(route_lookup(IP4(224, 0, 0, 251), &nif, &hop, &src) == 0 && hop == IP4(224, 0, 0, 251));
	/* A down interface is skipped. */
	eth1.up = false;
	CHECK(route_lookup(IP4(192, 168, 200, 3), &nif, &hop, &src) == 0 && nif == &eth0 &&
	      hop == IP4(10, 0, 2, 2));
	eth1.up = true;
	/* The table as /proc/net/route shows it. */
	struct route r[ROUTE_MAX];
	unsigned n = route_snapshot(r, ROUTE_MAX);
	CHECK(n == 4);
	unsigned gws = 0;
	for (unsigned i = 0; i < n; i++)
		gws += (r[i].flags & RTF_GATEWAY) != 0;
	CHECK(gws == 1);
	/* Reconfiguring replaces an interface's routes. */
	set(&eth0, IP4(10, 0, 3, 15), 24, 0);
	CHECK(route_snapshot(r, ROUTE_MAX) == 3);
	CHECK(route_lookup(IP4(1, 2, 3, 4), &nif, &hop, &src) == -ENETUNREACH);
	set(&eth0, IP4(10, 0, 2, 15), 24, IP4(10, 0, 2, 2));

	/* Path MTU: the interface's, lowered per destination, only lowered,
	 * with a floor, until it expires. */
	CHECK(ip_route(IP4(1, 2, 3, 4), &ri) == 0 && ri.mtu == 1500 && ri.nif == &eth0 &&
	      ri.src == IP4(10, 0, 2, 15));
	pmtu_update(IP4(1, 2, 3, 4), 1400);
	CHECK(ip_route(IP4(1, 2, 3, 4), &ri) == 0 && ri.mtu == 1400);
	CHECK(ip_route(IP4(1, 2, 3, 5), &ri) == 0 && ri.mtu == 1500);
	pmtu_update(IP4(1, 2, 3, 4), 1450);
	CHECK(pmtu_get(IP4(1, 2, 3, 4), 1500) == 1400);
	pmtu_update(IP4(1, 2, 3, 4), 100);
	CHECK(pmtu_get(IP4(1, 2, 3, 4), 1500) == PMTU_MIN);
	CHECK(pmtu_get(IP4(1, 2, 3, 4), 500) == 500);    /* never above the interface */
	now_ns += PMTU_EXPIRE_NS;
	CHECK(pmtu_get(IP4(1, 2, 3, 4), 1500) == 1500);
	CHECK(pmtu_used == 0);
	/* Full: the entry expiring first is replaced. */
	for (uint32_t i = 0; i < PMTU_SLOTS + 4; i++) {
		now_ns += 1000;
		pmtu_update(IP4(5, 5, 5, 0) + i, 1000);
	}
	CHECK(pmtu_used == PMTU_SLOTS);
	CHECK(pmtu_get(IP4(5, 5, 5, 0), 1500) == 1500);                 /* the oldest went */
	CHECK(pmtu_get(IP4(5, 5, 5, 0) + PMTU_SLOTS + 3, 1500) == 1000); /* the newest stays */
	return CHECK_SUMMARY();
}
