/*
 * Interfaces, the input path (Ethernet -> ARP / IPv4 -> ICMP, UDP, TCP)
 * and the minimal output path (IPv4 over a resolved next hop). Input runs
 * in the driver's interrupt handler with nif->lock held; replies (ARP,
 * echo) are built in nif->tx_frame and queued there and then. What has no
 * consumer yet (UDP, TCP, fragments) is validated and counted as a drop,
 * so malformed traffic is accounted for before the protocols exist.
 */
#include "net/netif.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "arch/x86_64/time.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "sched/sync.h"
#include "sched/wait.h"
#include "errno.h"

static int arp_send_locked(struct netif *nif, uint16_t op, const uint8_t *dst_mac,
			   const uint8_t *tha, uint32_t tpa);

static struct netif *netifs, **netifs_tail = &netifs;
static unsigned netif_count;
static uint16_t ip_id;

/* Everyone waiting for the network (ARP answers, echo replies) sleeps
 * here; `events` counts wake-ups so a waiter never misses one that came
 * between its check and its sleep. */
static struct wait_queue net_wq = WAIT_QUEUE_INIT(net_wq);
static uint64_t net_events;

static void net_wake(void)
{
	uint64_t f = wq_lock(&net_wq);
	net_events++;
	wq_wake_locked(&net_wq, INT32_MAX);
	wq_unlock(&net_wq, f);
}

static uint64_t net_event_seq(void)
{
	uint64_t f = wq_lock(&net_wq);
	uint64_t s = net_events;
	wq_unlock(&net_wq, f);
	return s;
}

/* Sleeps until an event after `seq` or the deadline. */
static int net_wait(uint64_t seq, uint64_t deadline)
{
	uint64_t f = wq_lock(&net_wq);
	if (net_events != seq) {
		wq_unlock(&net_wq, f);
		return 0;
	}
	return wq_wait_locked(&net_wq, f, 0, deadline, 0);
}

/* The one outstanding ping (a socket layer replaces this). */
static struct {
	spinlock_t lock;
	bool active, answered;
	uint16_t id, seq;
	uint64_t rx_ns;
} ping;

int netif_register(struct netif *nif)
{
	nif->tx_frame = kzalloc(ETH_HLEN + nif->mtu);
	if (!nif->tx_frame)
		return -ENOMEM;
	snprintf(nif->name, sizeof(nif->name), "eth%u", netif_count++);
	arp_cache_init(&nif->arp);
	*netifs_tail = nif;
	netifs_tail = &nif->next;
	pr_info("net: %s: %02x:%02x:%02x:%02x:%02x:%02x, mtu %u, link %s", nif->name,
		nif->mac[0], nif->mac[1], nif->mac[2], nif->mac[3], nif->mac[4], nif->mac[5],
		nif->mtu, nif->link_up ? "up" : "down");
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

int netif_set_addr(struct netif *nif, uint32_t addr, uint32_t netmask, uint32_t gateway)
{
	int r = netif_up(nif);
	if (r < 0)
		return r;
	uint64_t f = spin_lock_irqsave(&nif->lock);
	nif->addr = addr;
	nif->netmask = netmask;
	nif->gateway = gateway;
	/* Announce the address (gratuitous ARP, RFC 5227 2.3): neighbours
	 * holding a stale entry for it update it. */
	if (addr && nif->link_up)
		arp_send_locked(nif, ARP_OP_REQUEST, eth_broadcast,
				(const uint8_t[ETH_ALEN]){ 0 }, addr);
	spin_unlock_irqrestore(&nif->lock, f);
	char a[16], m[16], g[16];
	pr_info("net: %s: address %s netmask %s gateway %s", nif->name, ip4_str(addr, a),
		ip4_str(netmask, m), ip4_str(gateway, g));
	return 0;
}

/* ---- output (nif->lock held) ---- */

static int xmit_locked(struct netif *nif, size_t len)
{
	/* Short frames are padded to the Ethernet minimum with zeros (the
	 * scratch frame may hold an older, longer one). */
	if (len < ETH_ZLEN) {
		memset(nif->tx_frame + len, 0, ETH_ZLEN - len);
		len = ETH_ZLEN;
	}
	int r = nif->send(nif, nif->tx_frame, len);
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
	uint8_t *f = nif->tx_frame;
	struct arp_info a = { .op = op, .spa = nif->addr, .tpa = tpa };
	memcpy(a.sha, nif->mac, ETH_ALEN);
	memcpy(a.tha, tha, ETH_ALEN);
	size_t n = eth_build(f, dst_mac, nif->mac, ETH_P_ARP);
	n += arp_build(f + n, &a);
	if (op == ARP_OP_REQUEST)
		nif->stats.arp_requests_sent++;
	else
		nif->stats.arp_replies_sent++;
	return xmit_locked(nif, n);
}

static uint32_t next_hop(const struct netif *nif, uint32_t dst)
{
	if ((dst & nif->netmask) == (nif->addr & nif->netmask) || !nif->gateway)
		return dst;
	return nif->gateway;
}

static int output_ipv4_locked(struct netif *nif, uint32_t dst, uint8_t proto,
			      const void *payload, size_t len)
{
	if (!nif->addr)
		return -ENETUNREACH;
	if (len > nif->mtu - IPV4_HLEN)
		return -EMSGSIZE;        /* no fragmentation on output yet */
	uint8_t mac[ETH_ALEN];
	uint32_t hop = next_hop(nif, dst);
	uint64_t now = clock_monotonic_ns();
	if (!arp_cache_lookup(&nif->arp, hop, now, mac)) {
		if (arp_cache_want(&nif->arp, hop, now))
			arp_send_locked(nif, ARP_OP_REQUEST, eth_broadcast,
					(const uint8_t[ETH_ALEN]){ 0 }, hop);
		return -EHOSTUNREACH;
	}
	uint8_t *f = nif->tx_frame;
	size_t n = eth_build(f, mac, nif->mac, ETH_P_IPV4);
	/* payload may already sit in the scratch frame (echo replies). */
	if (payload != f + n + IPV4_HLEN)
		memmove(f + n + IPV4_HLEN, payload, len);
	n += ipv4_build(f + n, 0, ip_id++, IPV4_DF, 64, proto, nif->addr, dst, len);
	return xmit_locked(nif, n + len);
}

int netif_output_ipv4(struct netif *nif, uint32_t dst, uint8_t proto,
		      const void *payload, size_t len)
{
	uint64_t f = spin_lock_irqsave(&nif->lock);
	int r = output_ipv4_locked(nif, dst, proto, payload, len);
	spin_unlock_irqrestore(&nif->lock, f);
	return r;
}

/* ---- input (nif->lock held) ---- */

/* Returns whether waiters should be woken. */
static bool arp_input(struct netif *nif, const uint8_t *p, size_t len, enum net_drop *why)
{
	struct arp_info a;
	*why = arp_parse(p, len, &a);
	if (*why != NET_OK)
		return false;
	uint64_t now = clock_monotonic_ns();
	bool for_us = nif->addr && a.tpa == nif->addr;
	/* RFC 826: refresh an entry we have for the sender; create one when
	 * the packet is for us (we will talk back). Never learn 0.0.0.0
	 * (probes) or broadcast senders. */
	if (a.spa && !eth_is_multicast(a.sha))
		arp_cache_update(&nif->arp, a.spa, a.sha, now, for_us);
	if (!for_us) {
		*why = NET_DROP_ARP_NOT_US;
		return true;
	}
	if (a.op == ARP_OP_REQUEST)
		arp_send_locked(nif, ARP_OP_REPLY, a.sha, a.sha, a.spa);
	return true;
}

static bool icmp_input(struct netif *nif, const struct ipv4_info *ip, bool unicast,
		       enum net_drop *why)
{
	struct icmp_info ic;
	*why = icmp_parse(ip->payload, ip->payload_len, &ic);
	if (*why != NET_OK)
		return false;
	if (ic.type == ICMP_ECHO_REQUEST && ic.code == 0) {
		/* RFC 1122 3.2.2.6: answer unicast requests; broadcast ones
		 * may be ignored, and are (no smurf amplifier). */
		if (!unicast) {
			*why = NET_DROP_ICMP_TYPE;
			return false;
		}
		if (ip->payload_len > nif->mtu - IPV4_HLEN) {
			*why = NET_DROP_IP_LEN;
			return false;
		}
		uint8_t *out = nif->tx_frame + ETH_HLEN + IPV4_HLEN;
		size_t n = icmp_build_echo(out, ICMP_ECHO_REPLY, ic.id, ic.seq, ic.data,
					   ic.data_len);
		if (output_ipv4_locked(nif, ip->src, IPPROTO_ICMP, out, n) < 0)
			*why = NET_DROP_NO_BUFFER;
		else
			nif->stats.echo_replies_sent++;
		return false;
	}
	if (ic.type == ICMP_ECHO_REPLY) {
		uint64_t now = clock_monotonic_ns();
		bool hit = false;
		spin_lock(&ping.lock);
		if (ping.active && !ping.answered && ic.id == ping.id && ic.seq == ping.seq) {
			ping.answered = true;
			ping.rx_ns = now;
			hit = true;
		}
		spin_unlock(&ping.lock);
		if (!hit)
			*why = NET_DROP_ICMP_TYPE;   /* late or not ours */
		return hit;
	}
	/* Destination unreachable / fragmentation needed (path MTU) and the
	 * rest come with the transport protocols. */
	*why = NET_DROP_ICMP_TYPE;
	return false;
}

static bool ipv4_input(struct netif *nif, const uint8_t *p, size_t len, enum net_drop *why)
{
	struct ipv4_info ip;
	*why = ipv4_parse(p, len, &ip);
	if (*why != NET_OK)
		return false;
	/* RFC 1122 3.2.1.3: never accept a broadcast, multicast or loopback
	 * source; martians from the wire. */
	if (ip.src >= IP4(224, 0, 0, 0) || (ip.src >> 24) == 127 ||
	    (nif->netmask && ip.src == (nif->addr | ~nif->netmask))) {
		*why = NET_DROP_IP_SRC;
		return false;
	}
	bool unicast = nif->addr && ip.dst == nif->addr;
	bool bcast = ip.dst == 0xffffffff ||
		     (nif->addr && nif->netmask && ip.dst == (nif->addr | ~nif->netmask));
	if (!unicast && !bcast) {
		*why = NET_DROP_IP_NOT_US;
		return false;
	}
	if (ipv4_is_fragment(&ip)) {
		*why = NET_DROP_IP_FRAG;
		return false;
	}
	switch (ip.proto) {
	case IPPROTO_ICMP:
		return icmp_input(nif, &ip, unicast, why);
	case IPPROTO_UDP: {
		struct udp_info u;
		*why = udp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &u);
		if (*why == NET_OK)
			*why = NET_DROP_UDP_NO_PORT;
		return false;
	}
	case IPPROTO_TCP: {
		struct tcp_info t;
		*why = tcp_parse(ip.payload, ip.payload_len, ip.src, ip.dst, &t);
		if (*why == NET_OK)
			*why = NET_DROP_TCP_NO_PORT;
		return false;
	}
	default:
		*why = NET_DROP_IP_PROTO;
		return false;
	}
}

void netif_input(struct netif *nif, const void *frame, size_t len)
{
	const uint8_t *p = frame;
	enum net_drop why;
	bool wake = false;
	struct eth_info e;
	uint64_t f = spin_lock_irqsave(&nif->lock);
	nif->stats.rx_packets++;
	nif->stats.rx_bytes += len;
	why = eth_parse(p, len, &e);
	if (why == NET_OK && memcmp(e.dst, nif->mac, ETH_ALEN) != 0 &&
	    memcmp(e.dst, eth_broadcast, ETH_ALEN) != 0)
		why = NET_DROP_ETH_DST;
	if (why == NET_OK) {
		if (e.type == ETH_P_ARP)
			wake = arp_input(nif, e.payload, e.len, &why);
		else if (e.type == ETH_P_IPV4)
			wake = ipv4_input(nif, e.payload, e.len, &why);
		else
			why = NET_DROP_ETH_TYPE;
	}
	if (why != NET_OK) {
		nif->drops.n[why]++;
		nif->stats.rx_dropped++;
	}
	spin_unlock_irqrestore(&nif->lock, f);
	if (wake)
		net_wake();
}

/* ---- waiting (thread context) ---- */

int netif_resolve(struct netif *nif, uint32_t ip, uint8_t mac[ETH_ALEN], uint64_t deadline)
{
	for (;;) {
		uint64_t seq = net_event_seq();
		uint64_t now = clock_monotonic_ns();
		uint64_t f = spin_lock_irqsave(&nif->lock);
		bool known = arp_cache_lookup(&nif->arp, ip, now, mac);
		if (!known && arp_cache_want(&nif->arp, ip, now))
			arp_send_locked(nif, ARP_OP_REQUEST, eth_broadcast,
					(const uint8_t[ETH_ALEN]){ 0 }, ip);
		spin_unlock_irqrestore(&nif->lock, f);
		if (known)
			return 0;
		if (now >= deadline)
			return -ETIMEDOUT;
		/* Wake at the next retry time at the latest. */
		uint64_t until = MIN(deadline, now + ARP_RETRY_NS);
		net_wait(seq, until);
	}
}

int net_ping(struct netif *nif, uint32_t dst, uint16_t seq, size_t size, uint64_t deadline,
	     uint64_t *rtt_ns)
{
	static uint16_t next_id = 0x5749;    /* "WI" */
	if (size > nif->mtu - IPV4_HLEN - ICMP_HLEN)
		return -EMSGSIZE;
	uint8_t *pkt = kmalloc(ICMP_HLEN + size);
	if (!pkt)
		return -ENOMEM;
	for (size_t i = 0; i < size; i++)
		pkt[ICMP_HLEN + i] = (uint8_t)('a' + i % 26);
	uint64_t f = spin_lock_irqsave(&ping.lock);
	uint16_t id = next_id++;
	ping.active = true;
	ping.answered = false;
	ping.id = id;
	ping.seq = seq;
	spin_unlock_irqrestore(&ping.lock, f);
	size_t n = icmp_build_echo(pkt, ICMP_ECHO_REQUEST, id, seq, NULL, size);
	uint64_t sent = clock_monotonic_ns();
	int r = netif_output_ipv4(nif, dst, IPPROTO_ICMP, pkt, n);
	kfree(pkt);
	while (r == 0) {
		uint64_t ev = net_event_seq();
		f = spin_lock_irqsave(&ping.lock);
		bool got = ping.answered;
		uint64_t rx = ping.rx_ns;
		spin_unlock_irqrestore(&ping.lock, f);
		if (got) {
			*rtt_ns = rx - sent;
			break;
		}
		if (clock_monotonic_ns() >= deadline) {
			r = -ETIMEDOUT;
			break;
		}
		net_wait(ev, deadline);
	}
	f = spin_lock_irqsave(&ping.lock);
	ping.active = false;
	spin_unlock_irqrestore(&ping.lock, f);
	return r;
}
