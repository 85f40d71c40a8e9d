/*
 * Interfaces: registration, Ethernet input dispatch (ARP here, IPv4 to
 * ip.c), ARP (answers, learning, the queue of datagrams waiting for a
 * next hop's MAC), the transmit helpers the IPv4 layer sends through,
 * and the thread-context waits (resolve, ping).
 *
 * Everything runs under net_lock (stack.h): netif_input takes it, the
 * IPv4 layer's callers hold it. Drivers' send/xmit are called with it
 * held and never take it.
 */
#include "net/ip.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "sched/sync.h"
#include "sched/wait.h"
#include "errno.h"

static struct netif *netifs, **netifs_tail = &netifs;
static unsigned eth_count;

/* Everyone waiting for the network in thread context (ARP answers, echo
 * replies, DHCP) sleeps here; `events` counts wake-ups so a waiter never
 * misses one that came between its check and its sleep. */
static struct wait_queue net_wq = WAIT_QUEUE_INIT(net_wq);
static uint64_t net_events;

void net_wake(void)
{
	uint64_t f = wq_lock(&net_wq);
	net_events++;
	if (!list_empty(&net_wq.waiters))
		wq_wake_locked(&net_wq, INT32_MAX);
	wq_unlock(&net_wq, f);
}

uint64_t net_event_seq(void)
{
	uint64_t f = wq_lock(&net_wq);
	uint64_t s = net_events;
	wq_unlock(&net_wq, f);
	return s;
}

int net_wait(uint64_t seq, uint64_t deadline)
{
	uint64_t f = wq_lock(&net_wq);
	if (net_events != seq) {
		wq_unlock(&net_wq, f);
		return 0;
	}
	return wq_wait_locked(&net_wq, f, 0, deadline, 0);
}

/* The one outstanding kernel ping (the self-test's; sockets have their own). */
static struct {
	bool active, answered;
	uint16_t id, seq;
	uint64_t rx_ns;
} ping;

bool net_ping_reply(uint16_t id, uint16_t seq, uint64_t now)
{
	if (!ping.active || ping.answered || id != ping.id || seq != ping.seq)
		return false;
	ping.answered = true;
	ping.rx_ns = now;
	net_wake();
	return true;
}

int netif_register(struct netif *nif)
{
	/* The scratch frame flattens output for drivers without xmit (and
	 * for the self-test's capture); lo always gathers. */
	if (!(nif->features & NETIF_F_LOOPBACK)) {
		nif->tx_frame = kzalloc(ETH_HLEN + nif->mtu);
		if (!nif->tx_frame)
			return -ENOMEM;
	}
	/* A driver may name it (lo); NICs are eth0, eth1... */
	if (!nif->name[0])
		snprintf(nif->name, sizeof(nif->name), "eth%u", eth_count++);
	arp_cache_init(&nif->arp);
	uint64_t f = net_lock_irqsave();
	*netifs_tail = nif;
	netifs_tail = &nif->next;
	net_unlock_irqrestore(f);
	if (!(nif->features & NETIF_F_LOOPBACK))
		pr_info("net: %s: %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, link %s", nif->name,
			nif->mac[0], nif->mac[1], nif->mac[2], nif->mac[3], nif->mac[4],
			nif->mac[5], nif->mtu, nif->link_up ? "up" : "down");
	return 0;
}

struct netif *netif_first(void) { return netifs; }

struct netif *netif_find(const char *name)
{
	for (struct netif *n = netifs; n; n = n->next)
		if (!strcmp(n->name, name))
			return n;
	return NULL;
}

int netif_up(struct netif *nif)
{
	static struct mutex up_lock = MUTEX_INIT(up_lock);
	mutex_lock(&up_lock);
	int r = 0;
	if (!nif->up) {
		r = nif->open ? nif->open(nif) : 0;
		nif->up = r == 0;
	}
	mutex_unlock(&up_lock);
	return r;
}

static int arp_send_locked(struct netif *nif, uint16_t op, const uint8_t *dst_mac,
			   const uint8_t *tha, uint32_t tpa);

int netif_set_addr(struct netif *nif, uint32_t addr, uint32_t netmask, uint32_t gateway)
{
	int r = netif_up(nif);
	if (r < 0)
		return r;
	uint64_t f = net_lock_irqsave();
	nif->addr = addr;
	nif->netmask = netmask;
	nif->gateway = gateway;
	route_set_nif(nif);
	/* Announce the address (gratuitous ARP, RFC 5227 2.3): neighbours
	 * holding a stale entry for it update it. */
	if (addr && nif->link_up && !(nif->features & NETIF_F_LOOPBACK))
		arp_send_locked(nif, ARP_OP_REQUEST, eth_broadcast,
				(const uint8_t[ETH_ALEN]){ 0 }, addr);
	net_unlock_irqrestore(f);
	char a[16], m[16], g[16];
	if (!(nif->features & NETIF_F_LOOPBACK))
		pr_info("net: %s: address %s netmask %s gateway %s", nif->name, ip4_str(addr, a),
			ip4_str(netmask, m), ip4_str(gateway, g));
	return 0;
}

/* ---- transmit ---- */

int netif_xmit_locked(struct netif *nif, const struct net_iov *iov, int n,
		      const struct netif_tx_meta *meta)
{
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].len;
	int r;
	if (len < ETH_ZLEN) {
		/* Short frames are padded with zeros to the Ethernet minimum:
		 * flatten (they are tiny) and pad. */
		uint8_t f[ETH_ZLEN] = { 0 };
		size_t at = 0;
		for (int i = 0; i < n; i++) {
			memcpy(f + at, iov[i].base, iov[i].len);
			at += iov[i].len;
		}
		const struct net_iov one = { f, ETH_ZLEN };
		r = nif->xmit ? nif->xmit(nif, &one, 1, meta) : nif->send(nif, f, ETH_ZLEN);
		len = ETH_ZLEN;
	} else if (nif->xmit) {
		r = nif->xmit(nif, iov, n, meta);
	} else if (n == 1) {
		r = nif->send(nif, iov[0].base, len);
	} else if (len > ETH_HLEN + nif->mtu || !nif->tx_frame) {
		r = -EMSGSIZE;
	} else {
		size_t at = 0;
		for (int i = 0; i < n; i++) {
			if (iov[i].base != nif->tx_frame + at)
				memmove(nif->tx_frame + at, iov[i].base, iov[i].len);
			at += iov[i].len;
		}
		r = nif->send(nif, nif->tx_frame, len);
	}
	if (r < 0) {
		nif->stats.tx_dropped++;
		return r;
	}
	nif->stats.tx_packets++;
	nif->stats.tx_bytes += len;
	return 0;
}

static int arp_send_locked(struct netif *nif, uint16_t op, const uint8_t *dst_mac,
			   const uint8_t *tha, uint32_t tpa)
{
	uint8_t f[ETH_HLEN + ARP_LEN];
	struct arp_info a = { .op = op, .spa = nif->addr, .tpa = tpa };
	memcpy(a.sha, nif->mac, ETH_ALEN);
	memcpy(a.tha, tha, ETH_ALEN);
	size_t n = eth_build(f, dst_mac, nif->mac, ETH_P_ARP);
	n += arp_build(f + n, &a);
	if (op == ARP_OP_REQUEST)
		nif->stats.arp_requests_sent++;
	else
		nif->stats.arp_replies_sent++;
	const struct net_iov iov = { f, n };
	return netif_xmit_locked(nif, &iov, 1, NULL);
}

/* ---- datagrams waiting for ARP ---- */

#define ARP_PENDING_PER_HOP 4
#define ARP_PENDING_MAX     64

struct arp_pending {
	struct list node;
	struct netif *nif;
	uint32_t hop;
	uint64_t since;
	bool has_meta;
	struct netif_tx_meta meta;
	size_t len;
	uint8_t frame[];           /* Ethernet destination filled on resolution */
};

static struct list pending = LIST_INIT(pending);
static unsigned npending;
static void arp_timer_fn(struct net_timer *t);
static struct net_timer arp_timer = { .fn = arp_timer_fn };

unsigned netif_arp_pending(void) { return npending; }

static void pending_free(struct arp_pending *p)
{
	list_remove(&p->node);
	npending--;
	kfree(p);
}

/* ARP gave up on the next hop: the transports hear of it as an ICMP
 * host unreachable about their datagram (connect() fails with
 * EHOSTUNREACH instead of timing out), as Linux reports neighbour
 * failure. */
static void pending_fail(struct arp_pending *p)
{
	p->nif->drops.n[NET_DROP_ARP_QUEUE]++;
	p->nif->stats.tx_dropped++;
	net_mib.ip_out_discards++;
	const uint8_t *iph = p->frame + ETH_HLEN;
	size_t ilen = p->len - ETH_HLEN;
	struct ipv4_info o = { 0 };
	if (ilen < IPV4_HLEN + 8)
		return;
	o.hlen = (iph[0] & 0xf) * 4u;
	o.proto = iph[9];
	o.id = get_be16(iph + 4);
	o.frag = get_be16(iph + 6);
	o.src = get_be32(iph + 12);
	o.dst = get_be32(iph + 16);
	o.total_len = get_be16(iph + 2);
	if (o.hlen < IPV4_HLEN || o.hlen + 8 > ilen || (o.frag & IPV4_OFFMASK))
		return;
	o.payload = iph + o.hlen;
	o.payload_len = ilen - o.hlen;
	if (o.proto == IPPROTO_TCP)
		tcp_icmp_error(ICMP_DEST_UNREACH, 1, 0, &o, o.payload, o.payload_len);
	else if (o.proto == IPPROTO_UDP)
		udp_icmp_error(ICMP_DEST_UNREACH, 1, 0, &o, o.payload, o.payload_len);
}

/* Every second while something waits: retry the requests, give up on
 * next hops ARP gave up on. */
static void arp_timer_fn(struct net_timer *t)
{
	(void)t;
	uint64_t now = net_now_ns();
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &pending) {
		struct arp_pending *p = list_entry(pos, struct arp_pending, node);
		if (now - p->since >= ARP_INCOMPLETE_NS) {
			pending_fail(p);
			pending_free(p);
		}
	}
	list_for_each_safe(pos, tmp, &pending) {
		struct arp_pending *p = list_entry(pos, struct arp_pending, node);
		if (arp_cache_want(&p->nif->arp, p->hop, now))
			arp_send_locked(p->nif, ARP_OP_REQUEST, eth_broadcast,
					(const uint8_t[ETH_ALEN]){ 0 }, p->hop);
	}
	if (npending)
		net_timer_arm(&arp_timer, now + ARP_RETRY_NS);
}

static int pending_add(struct netif *nif, uint32_t hop, const struct net_iov *iov, int n,
		       const struct netif_tx_meta *meta, uint64_t now)
{
	unsigned same = 0;
	struct arp_pending *oldest = NULL;
	struct list *pos;
	for (pos = pending.next; pos != &pending; pos = pos->next) {
		struct arp_pending *p = list_entry(pos, struct arp_pending, node);
		if (p->nif == nif && p->hop == hop && same++ == 0)
			oldest = p;
	}
	/* A full queue drops its oldest (as Linux's arp_queue): the newest
	 * datagrams are the ones a transport still cares about. */
	if (same >= ARP_PENDING_PER_HOP || npending >= ARP_PENDING_MAX) {
		struct arp_pending *victim = same >= ARP_PENDING_PER_HOP ? oldest
			: list_entry(pending.next, struct arp_pending, node);
		victim->nif->drops.n[NET_DROP_ARP_QUEUE]++;
		victim->nif->stats.tx_dropped++;
		net_mib.ip_out_discards++;
		pending_free(victim);
	}
	size_t len = 0;
	for (int i = 0; i < n; i++)
		len += iov[i].len;
	struct arp_pending *p = kmalloc(sizeof(*p) + len);
	if (!p) {
		nif->drops.n[NET_DROP_ARP_QUEUE]++;
		net_mib.ip_out_discards++;
		return -ENOBUFS;
	}
	p->nif = nif;
	p->hop = hop;
	p->len = len;
	/* The first datagram for a next hop dates the wait; later ones
	 * inherit the ARP entry's age so all go when ARP gives up. */
	p->since = oldest ? oldest->since : now;
	p->has_meta = meta != NULL;
	if (meta)
		p->meta = *meta;
	size_t at = 0;
	for (int i = 0; i < n; i++) {
		memcpy(p->frame + at, iov[i].base, iov[i].len);
		at += iov[i].len;
	}
	list_push_back(&pending, &p->node);
	npending++;
	if (!net_timer_pending(&arp_timer))
		net_timer_arm(&arp_timer, now + ARP_RETRY_NS);
	return 0;
}

static void pending_flush(struct netif *nif, uint32_t ip, const uint8_t *mac)
{
	struct list *pos, *tmp;
	list_for_each_safe(pos, tmp, &pending) {
		struct arp_pending *p = list_entry(pos, struct arp_pending, node);
		if (p->nif != nif || p->hop != ip)
			continue;
		memcpy(p->frame, mac, ETH_ALEN);
		const struct net_iov iov = { p->frame, p->len };
		netif_xmit_locked(nif, &iov, 1, p->has_meta ? &p->meta : NULL);
		pending_free(p);
	}
	if (!npending)
		net_timer_cancel(&arp_timer);
}

int netif_send_ipv4(struct netif *nif, uint32_t hop, uint8_t *hdr, size_t hlen,
		    const struct net_iov *iov, int n, const struct netif_tx_meta *meta)
{
	struct net_iov v[NET_IOV_MAX];
	v[0] = (struct net_iov){ hdr, hlen };
	for (int i = 0; i < n; i++)
		v[i + 1] = iov[i];
	if (nif->features & NETIF_F_LOOPBACK) {
		memset(hdr, 0, ETH_ALEN);
	} else if (hop == 0xffffffffu || (nif->netmask != 0xffffffffu &&
					  hop == (nif->addr | ~nif->netmask))) {
		memcpy(hdr, eth_broadcast, ETH_ALEN);
	} else if ((hop >> 28) == 0xe) {
		/* RFC 1112 6.4: 01:00:5e and the group's low 23 bits. */
		const uint8_t m[ETH_ALEN] = { 0x01, 0x00, 0x5e, (uint8_t)(hop >> 16 & 0x7f),
					      (uint8_t)(hop >> 8), (uint8_t)hop };
		memcpy(hdr, m, ETH_ALEN);
	} else {
		uint64_t now = net_now_ns();
		bool refresh;
		if (arp_cache_lookup_probe(&nif->arp, hop, now, hdr, &refresh)) {
			/* Stale: keep sending while a request refreshes it. */
			if (refresh)
				arp_send_locked(nif, ARP_OP_REQUEST, eth_broadcast,
						(const uint8_t[ETH_ALEN]){ 0 }, hop);
		} else {
			if (arp_cache_want(&nif->arp, hop, now))
				arp_send_locked(nif, ARP_OP_REQUEST, eth_broadcast,
						(const uint8_t[ETH_ALEN]){ 0 }, hop);
			return pending_add(nif, hop, v, n + 1, meta, now);
		}
	}
	return netif_xmit_locked(nif, v, n + 1, meta);
}

/* ---- input ---- */

static void arp_input(struct netif *nif, const uint8_t *p, size_t len, enum net_drop *why)
{
	struct arp_info a;
	*why = arp_parse(p, len, &a);
	if (*why != NET_OK)
		return;
	uint64_t now = net_now_ns();
	bool for_us = nif->addr && a.tpa == nif->addr;
	/* RFC 826: refresh an entry we have for the sender; create one when
	 * the packet is for us (we will talk back). Never learn 0.0.0.0
	 * (probes) or broadcast senders. */
	if (a.spa && !eth_is_multicast(a.sha)) {
		arp_cache_update(&nif->arp, a.spa, a.sha, now, for_us);
		if (npending)
			pending_flush(nif, a.spa, a.sha);
		net_wake();
	}
	if (!for_us) {
		*why = NET_DROP_ARP_NOT_US;
		return;
	}
	if (a.op == ARP_OP_REQUEST)
		arp_send_locked(nif, ARP_OP_REPLY, a.sha, a.sha, a.spa);
}

void netif_input_locked(struct netif *nif, const void *frame, size_t len, unsigned rx_flags)
{
	const uint8_t *p = frame;
	enum net_drop why;
	struct eth_info e;
	nif->stats.rx_packets++;
	nif->stats.rx_bytes += len;
	why = eth_parse(p, len, &e);
	if (why == NET_OK && !(nif->features & NETIF_F_LOOPBACK) &&
	    memcmp(e.dst, nif->mac, ETH_ALEN) != 0 && memcmp(e.dst, eth_broadcast, ETH_ALEN) != 0)
		why = NET_DROP_ETH_DST;
	if (why == NET_OK) {
		if (e.type == ETH_P_IPV4)
			ip_input(nif, e.payload, e.len, rx_flags, &why);
		else if (e.type == ETH_P_ARP && !(nif->features & NETIF_F_LOOPBACK))
			arp_input(nif, e.payload, e.len, &why);
		else
			why = NET_DROP_ETH_TYPE;
	}
	if (why != NET_OK) {
		nif->drops.n[why]++;
		nif->stats.rx_dropped++;
	}
}

void netif_input_flags(struct netif *nif, const void *frame, size_t len, unsigned rx_flags)
{
	uint64_t f = net_lock_irqsave();
	netif_input_locked(nif, frame, len, rx_flags);
	net_unlock_irqrestore(f);
}

void netif_input(struct netif *nif, const void *frame, size_t len)
{
	netif_input_flags(nif, frame, len, 0);
}

/* ---- waiting (thread context) ---- */

int netif_resolve(struct netif *nif, uint32_t ip, uint8_t mac[ETH_ALEN], uint64_t deadline)
{
	for (;;) {
		uint64_t seq = net_event_seq();
		uint64_t now = net_now_ns();
		uint64_t f = net_lock_irqsave();
		bool known = arp_cache_lookup(&nif->arp, ip, now, mac);
		if (!known && arp_cache_want(&nif->arp, ip, now))
			arp_send_locked(nif, ARP_OP_REQUEST, eth_broadcast,
					(const uint8_t[ETH_ALEN]){ 0 }, ip);
		net_unlock_irqrestore(f);
		if (known)
			return 0;
		if (now >= deadline)
			return -ETIMEDOUT;
		/* Wake at the next retry time at the latest. */
		uint64_t until = MIN(deadline, now + ARP_RETRY_NS);
		net_wait(seq, until);
	}
}

int netif_output_ipv4(struct netif *nif, uint32_t dst, uint8_t proto,
		      const void *payload, size_t len)
{
	struct ip_tx tx = { .src = nif->addr, .dst = dst, .proto = proto };
	const struct net_iov iov = { payload, len };
	uint64_t f = net_lock_irqsave();
	int r = nif->addr ? ip_output(&tx, &iov, 1) : -ENETUNREACH;
	net_unlock_irqrestore(f);
	return r;
}

int net_ping(struct netif *nif, uint32_t dst, uint16_t seq, size_t size, uint64_t deadline,
	     uint64_t *rtt_ns)
{
	static uint16_t next_id = 0x5749;    /* "WI" */
	if (size > 65535 - IPV4_HLEN - ICMP_HLEN)
		return -EMSGSIZE;
	uint8_t *pkt = kmalloc(ICMP_HLEN + size);
	if (!pkt)
		return -ENOMEM;
	for (size_t i = 0; i < size; i++)
		pkt[ICMP_HLEN + i] = (uint8_t)('a' + i % 26);
	uint64_t f = net_lock_irqsave();
	uint16_t id = next_id++;
	ping.active = true;
	ping.answered = false;
	ping.id = id;
	ping.seq = seq;
	size_t n = icmp_build_echo(pkt, ICMP_ECHO_REQUEST, id, seq, NULL, size);
	uint64_t sent = net_now_ns();
	/* nif NULL: whatever the route says (lo for our own addresses). */
	struct ip_tx tx = { .src = nif ? nif->addr : 0, .dst = dst, .proto = IPPROTO_ICMP };
	const struct net_iov iov = { pkt, n };
	int r = ip_output(&tx, &iov, 1);
	if (r == 0)
		net_mib.icmp_out_msgs++;
	net_unlock_irqrestore(f);
	kfree(pkt);
	while (r == 0) {
		uint64_t ev = net_event_seq();
		f = net_lock_irqsave();
		bool got = ping.answered;
		uint64_t rx = ping.rx_ns;
		net_unlock_irqrestore(f);
		if (got) {
			*rtt_ns = rx - sent;
			break;
		}
		if (net_now_ns() >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		net_wait(ev, deadline);
	}
	f = net_lock_irqsave();
	ping.active = false;
	net_unlock_irqrestore(f);
	return r;
}
