/*
 * The routing table and the path-MTU cache (net_lock held throughout).
 *
 * Routes: a small array searched by longest prefix (a handful of
 * entries: lo's 127/8, each interface's connected subnet, a default
 * route), rebuilt per interface when its address changes. Our own
 * addresses always route through lo (the "local" table, as Linux has).
 *
 * Path MTU (RFC 1191): destinations whose ICMP fragmentation-needed told
 * us a lower MTU, with an expiry after which the interface MTU is tried
 * again. ip_route honours it; TCP reads it from ip_route's mtu.
 */
#include "net/ip.h"
#include "errno.h"

static struct route routes[ROUTE_MAX];
static unsigned nroutes;

struct pmtu_entry {
	uint32_t dst;
	unsigned mtu;
	uint64_t expires;          /* 0: free */
};
#define PMTU_SLOTS 16
static struct pmtu_entry pmtu[PMTU_SLOTS];
static unsigned pmtu_used;     /* live entries (fast path: 0) */

static void route_add(uint32_t dst, uint32_t mask, uint32_t gw, struct netif *nif,
		      unsigned metric)
{
	if (nroutes == ROUTE_MAX)
		return;
	unsigned flags = RTF_UP | (gw ? RTF_GATEWAY : 0) | (mask == 0xffffffffu ? RTF_HOST : 0);
	routes[nroutes++] = (struct route){ .dst = dst & mask, .mask = mask, .gw = gw,
					    .nif = nif, .metric = metric, .flags = flags };
}

void route_set_nif(struct netif *nif)
{
	unsigned j = 0;
	for (unsigned i = 0; i < nroutes; i++)
		if (routes[i].nif != nif)
			routes[j++] = routes[i];
	nroutes = j;
	if (!nif->addr)
		return;
	route_add(nif->addr, nif->netmask, 0, nif, 0);
	if (nif->gateway && !(nif->features & NETIF_F_LOOPBACK))
		route_add(0, 0, nif->gateway, nif, 0);
}

unsigned route_snapshot(struct route *out, unsigned max)
{
	unsigned n = 0;
	for (unsigned i = 0; i < nroutes && n < max; i++)
		out[n++] = routes[i];
	return n;
}

bool ip_is_local(uint32_t addr)
{
	if ((addr >> 24) == 127)
		return true;
	for (struct netif *n = netif_first(); n; n = n->next)
		if (n->addr && n->addr == addr)
			return true;
	return false;
}

bool ip_is_broadcast(uint32_t addr)
{
	if (addr == 0xffffffffu)
		return true;
	for (struct netif *n = netif_first(); n; n = n->next)
		if (n->addr && n->netmask && n->netmask != 0xffffffffu &&
		    !(n->features & NETIF_F_LOOPBACK) && addr == (n->addr | ~n->netmask))
			return true;
	return false;
}

int route_lookup(uint32_t dst, struct netif **nif, uint32_t *hop, uint32_t *src)
{
	if (ip_is_local(dst) && loopback_nif) {
		*nif = loopback_nif;
		*hop = dst;
		/* To ourselves from the same address (Linux does the same);
		 * 127/8 from 127.0.0.1. */
		*src = (dst >> 24) == 127 ? loopback_nif->addr : dst;
		return 0;
	}
	const struct route *best = NULL;
	for (unsigned i = 0; i < nroutes; i++) {
		const struct route *r = &routes[i];
		if ((dst & r->mask) != r->dst || !r->nif->up)
			continue;
		if (!best || r->mask > best->mask ||
		    (r->mask == best->mask && r->metric < best->metric))
			best = r;
	}
	if (!best)
		return -ENETUNREACH;
	*nif = best->nif;
	/* The limited broadcast and multicast go on the link, not to the
	 * gateway. */
	*hop = best->gw && dst != 0xffffffffu && (dst >> 28) != 0xe ? best->gw : dst;
	*src = best->nif->addr;
	return 0;
}

int ip_route(uint32_t dst, struct ip_route_info *ri)
{
	uint32_t hop;
	int r = route_lookup(dst, &ri->nif, &hop, &ri->src);
	if (r < 0)
		return r;
	ri->mtu = pmtu_get(dst, ri->nif->mtu);
	ri->features = ri->nif->features;
	return 0;
}

unsigned pmtu_get(uint32_t dst, unsigned mtu)
{
	if (!pmtu_used)
		return mtu;
	uint64_t now = net_now_ns();
	for (unsigned i = 0; i < PMTU_SLOTS; i++) {
		struct pmtu_entry *e = &pmtu[i];
		if (!e->expires || e->dst != dst)
			continue;
		if (now >= e->expires) {
			e->expires = 0;
			pmtu_used--;
			return mtu;
		}
		return e->mtu < mtu ? e->mtu : mtu;
	}
	return mtu;
}

void pmtu_update(uint32_t dst, unsigned mtu)
{
	if (mtu < PMTU_MIN)
		mtu = PMTU_MIN;
	uint64_t now = net_now_ns();
	struct pmtu_entry *slot = NULL;
	for (unsigned i = 0; i < PMTU_SLOTS; i++) {
		struct pmtu_entry *e = &pmtu[i];
		if (e->expires && now >= e->expires) {
			e->expires = 0;
			pmtu_used--;
		}
		if (e->expires && e->dst == dst) {
			/* Only ever lowered until it expires (RFC 1191 6.3:
			 * a higher claim is an old or forged message). */
			if (mtu < e->mtu)
				e->mtu = mtu;
			return;
		}
		/* A free slot, else the one expiring first. */
		if (!e->expires) {
			if (!slot || slot->expires)
				slot = e;
		} else if (!slot || (slot->expires && e->expires < slot->expires)) {
			slot = e;
		}
	}
	if (!slot)
		return;
	if (!slot->expires)
		pmtu_used++;
	*slot = (struct pmtu_entry){ .dst = dst, .mtu = mtu, .expires = now + PMTU_EXPIRE_NS };
}
