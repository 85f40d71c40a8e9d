/* ARP cache (see arp_cache.h). Linear scans: 32 entries. */
#include "net/arp_cache.h"

void arp_cache_init(struct arp_cache *c)
{
	for (unsigned i = 0; i < ARP_CACHE_SIZE; i++)
		c->e[i] = (struct arp_entry){ .state = ARP_FREE };
}

static bool expired(const struct arp_entry *e, uint64_t now)
{
	if (e->state == ARP_REACHABLE)
		return now - e->updated >= ARP_REACHABLE_NS + ARP_STALE_NS;
	if (e->state == ARP_INCOMPLETE)
		return now - e->updated >= ARP_INCOMPLETE_NS;
	return false;
}

static struct arp_entry *find(struct arp_cache *c, uint32_t ip, uint64_t now)
{
	for (unsigned i = 0; i < ARP_CACHE_SIZE; i++) {
		struct arp_entry *e = &c->e[i];
		if (e->state == ARP_FREE || e->ip != ip)
			continue;
		if (expired(e, now)) {
			e->state = ARP_FREE;
			return NULL;
		}
		return e;
	}
	return NULL;
}

/* A free slot, else an expired one, else the least recently used. */
static struct arp_entry *alloc(struct arp_cache *c, uint32_t ip, uint64_t now)
{
	struct arp_entry *victim = NULL;
	for (unsigned i = 0; i < ARP_CACHE_SIZE; i++) {
		struct arp_entry *e = &c->e[i];
		if (e->state == ARP_FREE || expired(e, now)) {
			victim = e;
			break;
		}
		if (!victim || e->used < victim->used)
			victim = e;
	}
	*victim = (struct arp_entry){ .ip = ip, .state = ARP_INCOMPLETE, .updated = now,
				      .used = now };
	return victim;
}

bool arp_cache_lookup_probe(struct arp_cache *c, uint32_t ip, uint64_t now, uint8_t mac[6],
			    bool *refresh)
{
	struct arp_entry *e = find(c, ip, now);
	*refresh = false;
	if (!e || e->state != ARP_REACHABLE)
		return false;
	e->used = now;
	for (int i = 0; i < 6; i++)
		mac[i] = e->mac[i];
	if (now - e->updated >= ARP_REACHABLE_NS && now - e->requested >= ARP_RETRY_NS) {
		e->requested = now;
		*refresh = true;
	}
	return true;
}

bool arp_cache_lookup(struct arp_cache *c, uint32_t ip, uint64_t now, uint8_t mac[6])
{
	bool refresh;
	return arp_cache_lookup_probe(c, ip, now, mac, &refresh);
}

void arp_cache_update(struct arp_cache *c, uint32_t ip, const uint8_t mac[6], uint64_t now,
		      bool create)
{
	struct arp_entry *e = find(c, ip, now);
	if (!e) {
		if (!create)
			return;
		e = alloc(c, ip, now);
	}
	for (int i = 0; i < 6; i++)
		e->mac[i] = mac[i];
	e->state = ARP_REACHABLE;
	e->updated = now;
}

bool arp_cache_want(struct arp_cache *c, uint32_t ip, uint64_t now)
{
	struct arp_entry *e = find(c, ip, now);
	if (e && e->state == ARP_REACHABLE)
		return false;
	if (!e) {
		e = alloc(c, ip, now);
		e->requested = now;
		return true;
	}
	e->used = now;
	if (now - e->requested >= ARP_RETRY_NS) {
		e->requested = now;
		return true;
	}
	return false;
}

unsigned arp_cache_expire(struct arp_cache *c, uint64_t now)
{
	unsigned n = 0;
	for (unsigned i = 0; i < ARP_CACHE_SIZE; i++)
		if (c->e[i].state != ARP_FREE && expired(&c->e[i], now)) {
			c->e[i].state = ARP_FREE;
			n++;
		}
	return n;
}
