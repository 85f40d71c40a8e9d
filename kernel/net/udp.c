/*
 * UDP sockets (RFC 768) with Linux's behaviour.
 *
 * Port table: a hash of bound sockets by local port, under net_lock. A
 * bind conflicts with a socket on the same port whose address overlaps
 * (equal, or either is INADDR_ANY) unless both set SO_REUSEADDR or both
 * SO_REUSEPORT. An unbound socket gets an ephemeral port (32768-60999,
 * from a random start) at its first send or connect.
 *
 * Input (udp_input, net_lock held): a unicast datagram goes to the best
 * match (connected to the sender > bound to the address > INADDR_ANY;
 * among SO_REUSEPORT equals, by a hash of the sender); a broadcast to
 * every socket on the port. The receive queue is bounded by SO_RCVBUF
 * (payload plus a per-datagram overhead); a datagram that does not fit
 * is dropped and counted in net_mib.udp_rcvbuf_errors.
 *
 * Output: the payload is copied from the caller into the socket's own
 * buffer (allocated once, grown to the largest datagram; a mutex keeps
 * concurrent senders apart) outside net_lock, then handed to ip_output
 * with the header in front. Checksums: none on loopback, offloaded when
 * the interface can, else computed.
 *
 * ICMP errors about our datagrams set the socket's pending error (a hard
 * error on a connected socket, any error with IP_RECVERR), which the
 * next send or receive returns (ECONNREFUSED for port unreachable...).
 */
#include "net/inet.h"
#include "net/stack.h"
#include "net/sys_socket.h"
#include "net/checksum.h"
#include "net/byteorder.h"
#include "fs/deps.h"
#include "sched/thread.h"
#include "mm/heap.h"
#include "lib/string.h"
#include "lib/printf.h"
#include "errno.h"

#define UDP_HASH 64
#define EPHEMERAL_LO 32768
#define EPHEMERAL_HI 60999
#define UDP_MAX_PAYLOAD 65507           /* 65535 - IPv4 header - UDP header */
#define DGRAM_OVERHEAD 256              /* charged per queued datagram (Linux: skb truesize) */
#define RCV_SHUTDOWN 1
#define SEND_SHUTDOWN 2
#define MSG_ERRQUEUE 0x2000

struct udp_dgram {
	struct list node;
	uint32_t saddr, daddr;
	uint16_t sport;
	uint8_t ttl, tos;
	int ifindex;
	size_t len;
	uint8_t data[];
};

struct udp_sock {
	struct inet_opts inet;          /* first: see net/inet.h */
	struct socket *s;
	uint32_t laddr, raddr;          /* host order */
	uint16_t lport, rport;
	bool connected, bound_port, bound_addr, hashed;
	int shut;
	struct list hnode;              /* in udp_table[lport % UDP_HASH] */
	struct list rq;                 /* struct udp_dgram, net_lock */
	size_t rq_mem;                  /* charged bytes */
	unsigned rq_count;
	uint32_t drops;
	struct mutex rlock;             /* one reader: a peeked datagram stays */
	struct mutex wlock;             /* the send buffer */
	uint8_t *sbuf;
	size_t sbuf_size;
};

static struct list udp_table[UDP_HASH];
static bool udp_table_ready;
static uint32_t udp_next_port;

#define list_first_entry(l, type, member) list_entry((l)->next, type, member)
#define list_for_each(pos, head) \
	for (struct list *pos = (head)->next; pos != (head); pos = pos->next)

static const struct sock_ops udp_ops;

static inline struct udp_sock *ud(struct socket *s)
{
	return s->pcb;
}

static void table_init(void)
{
	if (udp_table_ready)
		return;
	for (int i = 0; i < UDP_HASH; i++)
		list_init(&udp_table[i]);
	uint32_t r;
	random_bytes(&r, sizeof(r));
	udp_next_port = r;
	udp_table_ready = true;
}

/* --- port table (net_lock held) ----------------------------------------------------- */

static bool addr_overlap(uint32_t a, uint32_t b)
{
	return !a || !b || a == b;
}

/* Whether u may take (addr, port). */
static bool port_free(struct udp_sock *u, uint32_t addr, uint16_t port)
{
	list_for_each(n, &udp_table[port % UDP_HASH]) {
		struct udp_sock *o = list_entry(n, struct udp_sock, hnode);
		if (o == u || o->lport != port || !addr_overlap(o->laddr, addr))
			continue;
		if (u->s->reuseaddr && o->s->reuseaddr)
			continue;
		if (u->s->reuseport && o->s->reuseport)
			continue;
		return false;
	}
	return true;
}

static void hash_in(struct udp_sock *u)
{
	list_push_back(&udp_table[u->lport % UDP_HASH], &u->hnode);
	u->hashed = true;
}

static void hash_out(struct udp_sock *u)
{
	if (u->hashed)
		list_remove(&u->hnode);
	u->hashed = false;
}

/* A free ephemeral port for u (any port use on it counts). */
static int autobind(struct udp_sock *u)
{
	if (u->lport)
		return 0;
	unsigned range = EPHEMERAL_HI - EPHEMERAL_LO + 1;
	uint32_t start = udp_next_port++;
	for (unsigned i = 0; i < range; i++) {
		uint16_t port = (uint16_t)(EPHEMERAL_LO + (start + i) % range);
		bool used = false;
		list_for_each(n, &udp_table[port % UDP_HASH])
			if (list_entry(n, struct udp_sock, hnode)->lport == port) {
				used = true;
				break;
			}
		if (!used) {
			u->lport = port;
			hash_in(u);
			return 0;
		}
	}
	return -EAGAIN;
}

/* --- creation ---------------------------------------------------------------------- */

static void udp_destroy(struct socket *s)
{
	struct udp_sock *u = s->pcb;
	if (u) {
		kfree(u->sbuf);
		kfree(u);
	}
	s->pcb = NULL;
}

int udp_sock_create(struct socket *s, int protocol)
{
	(void)protocol;
	struct udp_sock *u = kzalloc(sizeof(*u));
	if (!u)
		return -ENOMEM;
	inet_opts_init(&u->inet);
	u->s = s;
	list_init(&u->hnode);
	list_init(&u->rq);
	mutex_init(&u->rlock);
	mutex_init(&u->wlock);
	s->pcb = u;
	s->ops = &udp_ops;
	s->destroy = udp_destroy;
	uint64_t f = net_lock_irqsave();
	table_init();
	net_unlock_irqrestore(f);
	return 0;
}

static void udp_release(struct socket *s)
{
	struct udp_sock *u = ud(s);
	struct list q;
	list_init(&q);
	uint64_t f = net_lock_irqsave();
	hash_out(u);
	while (!list_empty(&u->rq)) {
		struct udp_dgram *d = list_first_entry(&u->rq, struct udp_dgram, node);
		list_remove(&d->node);
		list_push_back(&q, &d->node);
	}
	u->rq_mem = 0;
	u->rq_count = 0;
	net_unlock_irqrestore(f);
	while (!list_empty(&q)) {
		struct udp_dgram *d = list_first_entry(&q, struct udp_dgram, node);
		list_remove(&d->node);
		kfree(d);
	}
	sock_put(s);
}

/* --- addresses ----------------------------------------------------------------------- */

/* A sockaddr_in for bind/connect/sendto: AF_UNSPEC is taken as AF_INET
 * where Linux does (bind to INADDR_ANY, sendto). */
static int parse_in(const void *addr, size_t len, uint32_t *ip, uint16_t *port, bool unspec_ok)
{
	if (len < sizeof(struct sockaddr_in_k))
		return -EINVAL;
	const struct sockaddr_in_k *sin = addr;
	if (sin->family != AF_INET && !(unspec_ok && sin->family == AF_UNSPEC))
		return -EAFNOSUPPORT;
	*ip = __builtin_bswap32(sin->addr);
	*port = __builtin_bswap16(sin->port);
	return 0;
}

static int udp_bind(struct socket *s, const void *addr, size_t len)
{
	struct udp_sock *u = ud(s);
	uint32_t ip;
	uint16_t port;
	if (len < sizeof(struct sockaddr_in_k))
		return -EINVAL;
	const struct sockaddr_in_k *sin = addr;
	if (sin->family != AF_INET && !(sin->family == AF_UNSPEC && sin->addr == 0))
		return -EAFNOSUPPORT;
	parse_in(addr, len, &ip, &port, true);
	if (ip && !ip_is_local(ip) && !ip_is_broadcast(ip) && !u->inet.freebind &&
	    !u->inet.transparent && (ip >> 28) != 0xe)
		return -EADDRNOTAVAIL;
	uint64_t f = net_lock_irqsave();
	int r = 0;
	if (u->lport)
		r = -EINVAL;
	else if (port) {
		if (!port_free(u, ip, port))
			r = -EADDRINUSE;
		else {
			u->laddr = ip;
			u->lport = port;
			hash_in(u);
		}
	} else {
		u->laddr = ip;
		r = autobind(u);
		if (r)
			u->laddr = 0;
	}
	if (!r) {
		u->bound_port = true;
		u->bound_addr = ip != 0;
	}
	net_unlock_irqrestore(f);
	return r;
}

static int udp_connect(struct socket *s, const void *addr, size_t len, bool nonblock)
{
	(void)nonblock;
	struct udp_sock *u = ud(s);
	if (len >= sizeof(uint16_t) && *(const uint16_t *)addr == AF_UNSPEC) {
		/* Dissolve: no peer; an automatically chosen port and source
		 * address are given up too (Linux's udp_disconnect). */
		uint64_t f = net_lock_irqsave();
		u->connected = false;
		u->raddr = 0;
		u->rport = 0;
		if (!u->bound_addr)
			u->laddr = 0;
		if (!u->bound_port) {
			hash_out(u);
			u->lport = 0;
		}
		net_unlock_irqrestore(f);
		return 0;
	}
	uint32_t ip;
	uint16_t port;
	int r = parse_in(addr, len, &ip, &port, false);
	if (r)
		return r;
	if (!ip)
		ip = 0x7f000001;        /* INADDR_ANY means this host, as Linux */
	if (ip_is_broadcast(ip) && !s->broadcast)
		return -EACCES;
	struct ip_route_info ri;
	uint64_t f = net_lock_irqsave();
	r = ip_route(ip, &ri);
	if (!r) {
		if (!u->laddr)
			u->laddr = ri.src;
		r = autobind(u);
	}
	if (!r) {
		u->raddr = ip;
		u->rport = port;
		u->connected = true;
		s->error = 0;
	}
	net_unlock_irqrestore(f);
	return r;
}

static int udp_getname(struct socket *s, void *addr, size_t *len, bool peer)
{
	struct udp_sock *u = ud(s);
	uint8_t a[sizeof(struct sockaddr_in_k)];
	uint64_t f = net_lock_irqsave();
	bool ok = !peer || u->connected;
	if (ok)
		sockaddr_in_fill(a, peer ? u->raddr : u->laddr, peer ? u->rport : u->lport);
	net_unlock_irqrestore(f);
	if (!ok)
		return -ENOTCONN;
	size_t n = MIN(*len, sizeof(a));
	memcpy(addr, a, n);
	*len = sizeof(a);
	return 0;
}

static int udp_shutdown(struct socket *s, int how)
{
	struct udp_sock *u = ud(s);
	uint64_t f = net_lock_irqsave();
	u->shut |= how + 1;
	bool conn = u->connected;
	net_unlock_irqrestore(f);
	sock_wake(s, 0);
	/* Linux sets the flags, but reports an unconnected socket. */
	return conn ? 0 : -ENOTCONN;
}

/* --- output ---------------------------------------------------------------------------- */

/* Ancillary data of a send (Linux's ip_cmsg_send): IP_PKTINFO (source
 * address), IP_TTL, IP_TOS; SOL_SOCKET ones UDP accepts are ignored;
 * anything else at those levels EINVAL. */
struct udp_cmsg {
	uint32_t src;
	int ttl, tos;
};

#define SO_MARK_K 36
#define SO_TIMESTAMPING_K 37
#define SCM_TXTIME_K 61

static int udp_cmsg(const struct sock_msg *m, struct udp_cmsg *cm)
{
	int err = 0;
	for (const struct cmsg_k *c = cmsg_next(m, NULL, &err); c; c = cmsg_next(m, c, &err)) {
		size_t dlen = c->len - CMSG_HDR;
		const uint8_t *d = (const uint8_t *)c + CMSG_HDR;
		if (c->level == SOL_SOCKET) {
			switch (c->type) {
			case SCM_RIGHTS: case SCM_CREDENTIALS: case SO_MARK_K:
			case SO_TIMESTAMPING_K: case SCM_TXTIME_K:
				continue;
			}
			return -EINVAL;
		}
		if (c->level != SOL_IP)
			continue;
		int v = 0;
		switch (c->type) {
		case IP_PKTINFO: {
			struct { int32_t ifindex; uint32_t spec_dst, addr; } pi;
			if (dlen != sizeof(pi))
				return -EINVAL;
			memcpy(&pi, d, sizeof(pi));
			cm->src = __builtin_bswap32(pi.spec_dst);
			if (cm->src && !ip_is_local(cm->src))
				return -EINVAL;
			break;
		}
		case IP_TTL:
			if (dlen != sizeof(int))
				return -EINVAL;
			memcpy(&v, d, sizeof(v));
			if (v < 1 || v > 255)
				return -EINVAL;
			cm->ttl = v;
			break;
		case IP_TOS:
			if (dlen == sizeof(int))
				memcpy(&v, d, sizeof(v));
			else if (dlen == 1)
				v = d[0];
			else
				return -EINVAL;
			if (v < 0 || v > 255)
				return -EINVAL;
			cm->tos = v;
			break;
		case IP_RETOPTS:
			break;
		default:
			return -EINVAL;
		}
	}
	return err;
}

static int take_error(struct socket *s)
{
	if (!READ_ONCE(s->error))
		return 0;
	return -__atomic_exchange_n(&s->error, 0, __ATOMIC_ACQ_REL);
}

bool udp_input(struct netif *nif, const struct ipv4_info *ip, const struct udp_info *p);

/* A broadcast we send is also received by our own
 * sockets on that port, as on Linux, which loops such datagrams back.
 * net_lock held. */
static void loop_back(struct netif *nif, const struct ip_tx *tx, const uint8_t *dgram, size_t len)
{
	struct ipv4_info ip = {
		.hlen = IPV4_HLEN, .tos = tx->tos, .ttl = tx->ttl ? tx->ttl : INET_DEFAULT_TTL,
		.proto = IPPROTO_UDP, .total_len = (uint16_t)(IPV4_HLEN + len),
		.src = tx->src, .dst = tx->dst, .payload = dgram, .payload_len = len,
	};
	struct udp_info u = {
		.sport = get_be16(dgram), .dport = get_be16(dgram + 2), .len = (uint16_t)len,
		.has_csum = false, .payload = dgram + UDP_HLEN, .payload_len = len - UDP_HLEN,
	};
	udp_input(nif, &ip, &u);
}

static ssize_t udp_sendmsg(struct socket *s, struct sock_msg *m, int flags)
{
	struct udp_sock *u = ud(s);
	if (flags & MSG_OOB)
		return -EOPNOTSUPP;
	if (!READ_ONCE(u->lport)) {
		/* Linux binds a port before anything else is looked at */
		uint64_t f = net_lock_irqsave();
		int r = autobind(u);
		net_unlock_irqrestore(f);
		if (r)
			return r;
	}
	struct udp_cmsg cm = { 0, -1, -1 };
	if (m->control) {
		int r = udp_cmsg(m, &cm);
		if (r)
			return r;
	}
	size_t len = m->uio->resid;
	uint32_t dst;
	uint16_t dport;
	if (m->namelen) {
		int r = parse_in(m->name, m->namelen, &dst, &dport, true);
		if (r)
			return r;
		if (!dport)
			return -EINVAL;
		if (!dst)
			dst = 0x7f000001;
	} else {
		if (!READ_ONCE(u->connected))
			return -EDESTADDRREQ;
		dst = u->raddr;
		dport = u->rport;
	}
	if (len > UDP_MAX_PAYLOAD)
		return -EMSGSIZE;
	if (READ_ONCE(u->shut) & SEND_SHUTDOWN)
		return -EPIPE;
	int err = take_error(s);
	if (err)
		return err;
	if (ip_is_broadcast(dst) && !s->broadcast)
		return -EACCES;
	mutex_lock(&u->wlock);
	size_t need = UDP_HLEN + len;
	if (u->sbuf_size < need) {
		size_t sz = MAX(need, (size_t)2048);
		uint8_t *nb = kmalloc(sz);
		if (!nb) {
			mutex_unlock(&u->wlock);
			return -ENOBUFS;
		}
		kfree(u->sbuf);
		u->sbuf = nb;
		u->sbuf_size = sz;
	}
	uint8_t *hdr = u->sbuf;
	if (len && uio_copy_in(m->uio, hdr + UDP_HLEN, len) < 0) {
		mutex_unlock(&u->wlock);
		return -EFAULT;
	}
	struct ip_route_info ri;
	uint64_t f = net_lock_irqsave();
	int r = ip_route(dst, &ri);
	if (!r)
		r = autobind(u);
	if (r) {
		net_unlock_irqrestore(f);
		mutex_unlock(&u->wlock);
		return r;
	}
	uint32_t src = cm.src ? cm.src
		     : u->laddr && !ip_is_broadcast(u->laddr) && (u->laddr >> 28) != 0xe
		       ? u->laddr : ri.src;
	put_be16(hdr, u->lport);
	put_be16(hdr + 2, dport);
	put_be16(hdr + 4, (uint16_t)need);
	put_be16(hdr + 6, 0);
	struct ip_tx tx = {
		.src = src, .dst = dst, .proto = IPPROTO_UDP,
		.tos = cm.tos >= 0 ? (uint8_t)cm.tos : inet_tx_tos(&u->inet),
		.ttl = cm.ttl > 0 ? (uint8_t)cm.ttl : inet_tx_ttl(&u->inet),
		.df = inet_tx_df(&u->inet, false),
	};
	if (ri.features & NETIF_F_LOOPBACK) {
		/* never leaves the machine: no checksum (0 is valid for UDP) */
	} else if (ri.features & NETIF_F_TX_CSUM) {
		uint16_t ps = (uint16_t)~csum_fold(csum_pseudo(src, dst, IPPROTO_UDP, (uint16_t)need));
		put_be16(hdr + 6, ps);
		tx.csum_partial = true;
		tx.csum_start = 0;
		tx.csum_offset = 6;
	} else {
		uint32_t sum = csum_pseudo(src, dst, IPPROTO_UDP, (uint16_t)need);
		sum = csum_add(sum, hdr, need);
		uint16_t c = csum_fold(sum);
		put_be16(hdr + 6, c ? c : 0xffff);
	}
	struct net_iov iov = { hdr, need };
	r = ip_output(&tx, &iov, 1);
	if (r == 0)
		net_mib.udp_out_datagrams++;
	if (r == 0 && ip_is_broadcast(dst))
		loop_back(ri.nif, &tx, hdr, need);
	else if (r == -ENOBUFS) {
		net_mib.udp_sndbuf_errors++;
		if (!u->inet.recverr)
			r = 0;              /* dropped, as Linux without IP_RECVERR */
	}
	net_unlock_irqrestore(f);
	mutex_unlock(&u->wlock);
	return r ? r : (ssize_t)len;
}

/* --- input ------------------------------------------------------------------------------ */

/* How well u matches a datagram (0: not at all). */
static int score(struct udp_sock *u, const struct ipv4_info *ip, const struct udp_info *p,
		 bool bcast)
{
	if (u->lport != p->dport || (u->shut & RCV_SHUTDOWN))
		return 0;
	int sc = 1;
	if (u->laddr) {
		if (u->laddr != ip->dst && !bcast)
			return 0;
		if (u->laddr != ip->dst && bcast && !ip_is_broadcast(u->laddr))
			return 0;
		sc += 2;
	}
	if (u->connected) {
		if (u->raddr != ip->src || u->rport != p->sport)
			return 0;
		sc += 4;
	}
	return sc;
}

static void enqueue(struct udp_sock *u, struct netif *nif, const struct ipv4_info *ip,
		    const struct udp_info *p)
{
	size_t charge = p->payload_len + DGRAM_OVERHEAD;
	if (u->rq_mem + charge > (size_t)u->s->rcvbuf) {
		net_mib.udp_rcvbuf_errors++;
		net_mib.udp_in_errors++;
		u->drops++;
		return;
	}
	struct udp_dgram *d = kmalloc(sizeof(*d) + p->payload_len);
	if (!d) {
		net_mib.udp_rcvbuf_errors++;
		net_mib.udp_in_errors++;
		u->drops++;
		return;
	}
	d->saddr = ip->src;
	d->daddr = ip->dst;
	d->sport = p->sport;
	d->ttl = ip->ttl;
	d->tos = ip->tos;
	d->ifindex = nif ? sock_ifindex(nif) : 0;
	d->len = p->payload_len;
	memcpy(d->data, p->payload, p->payload_len);
	list_push_back(&u->rq, &d->node);
	u->rq_mem += charge;
	u->rq_count++;
	net_mib.udp_in_datagrams++;
	sock_wake(u->s, EPOLLIN | EPOLLRDNORM);
}

bool udp_input(struct netif *nif, const struct ipv4_info *ip, const struct udp_info *p)
{
	if (!udp_table_ready)
		return false;
	bool bcast = ip_is_broadcast(ip->dst) || (ip->dst >> 28) == 0xe;
	struct list *b = &udp_table[p->dport % UDP_HASH];
	if (bcast) {
		bool any = false;
		list_for_each(n, b) {
			struct udp_sock *u = list_entry(n, struct udp_sock, hnode);
			if (score(u, ip, p, true)) {
				enqueue(u, nif, ip, p);
				any = true;
			}
		}
		return any;
	}
	struct udp_sock *best = NULL;
	int best_sc = 0, ties = 0;
	uint32_t h = ip->src * 2654435761u ^ p->sport;
	list_for_each(n, b) {
		struct udp_sock *u = list_entry(n, struct udp_sock, hnode);
		int sc = score(u, ip, p, false);
		if (!sc || sc < best_sc)
			continue;
		if (sc > best_sc) {
			best = u;
			best_sc = sc;
			ties = 1;
		} else if (u->s->reuseport && best->s->reuseport) {
			/* SO_REUSEPORT group: spread senders by a hash */
			ties++;
			if (h % (uint32_t)ties == 0)
				best = u;
		} else {
			best = u;           /* SO_REUSEADDR sharers: the last bound wins (Linux) */
		}
	}
	if (!best)
		return false;
	enqueue(best, nif, ip, p);
	return true;
}

static int icmp_errno(uint8_t type, uint8_t code, bool *hard)
{
	*hard = false;
	if (type == ICMP_TIME_EXCEEDED)
		return EHOSTUNREACH;
	if (type != ICMP_DEST_UNREACH)
		return 0;
	static const struct { uint8_t err; bool hard; } tab[16] = {
		{ ENETUNREACH, true }, { EHOSTUNREACH, true }, { ENOPROTOOPT, true },
		{ ECONNREFUSED, true }, { EMSGSIZE, false }, { EOPNOTSUPP, false },
		{ ENETUNREACH, true }, { EHOSTDOWN, true }, { 64 /* ENONET */, true },
		{ ENETUNREACH, true }, { EHOSTUNREACH, true }, { ENETUNREACH, false },
		{ EHOSTUNREACH, false }, { EHOSTUNREACH, true }, { EHOSTUNREACH, true },
		{ EHOSTUNREACH, true },
	};
	if (code >= 16)
		return EHOSTUNREACH;
	*hard = tab[code].hard;
	return tab[code].err;
}

void udp_icmp_error(uint8_t type, uint8_t code, uint32_t mtu,
		    const struct ipv4_info *orig, const uint8_t *l4, size_t l4_len)
{
	(void)mtu;
	if (!udp_table_ready || l4_len < 4)
		return;
	uint16_t sport = get_be16(l4), dport = get_be16(l4 + 2);
	bool hard;
	int err = icmp_errno(type, code, &hard);
	if (!err)
		return;
	list_for_each(n, &udp_table[sport % UDP_HASH]) {
		struct udp_sock *u = list_entry(n, struct udp_sock, hnode);
		if (u->lport != sport || (u->laddr && u->laddr != orig->src))
			continue;
		if (u->connected && (u->raddr != orig->dst || u->rport != dport))
			continue;
		if (code == 4 && type == ICMP_DEST_UNREACH)
			hard = u->inet.pmtudisc == IP_PMTUDISC_DO;
		if (!u->inet.recverr && (!hard || !u->connected))
			continue;
		u->s->error = err;
		sock_wake(u->s, EPOLLERR);
		return;
	}
}

/* --- receiving --------------------------------------------------------------------------- */

struct in_pktinfo_k {
	int32_t ifindex;
	uint32_t spec_dst, addr;     /* network order */
};

static ssize_t udp_recvmsg(struct socket *s, struct sock_msg *m, int flags)
{
	struct udp_sock *u = ud(s);
	if (flags & MSG_ERRQUEUE)
		return -EAGAIN;             /* no error queue */
	size_t room = m->control_len;
	m->control_len = 0;
	m->namelen = 0;
	bool nonblock = sock_nonblock(s, flags);
	uint64_t deadline = sock_rcv_deadline(s);
	ssize_t r;
	struct udp_dgram *d;
	mutex_lock(&u->rlock);
	for (;;) {
		r = take_error(s);
		if (r)
			goto out;
		uint64_t f = net_lock_irqsave();
		d = list_empty(&u->rq) ? NULL : list_first_entry(&u->rq, struct udp_dgram, node);
		if (d && !(flags & MSG_PEEK)) {
			list_remove(&d->node);
			u->rq_mem -= d->len + DGRAM_OVERHEAD;
			u->rq_count--;
		}
		bool shut = u->shut & RCV_SHUTDOWN;
		net_unlock_irqrestore(f);
		if (d)
			break;
		if (shut) {
			r = 0;
			goto out;
		}
		mutex_unlock(&u->rlock);
		r = sock_wait(s, !list_empty(&u->rq) || s->error || (u->shut & RCV_SHUTDOWN),
			      nonblock, deadline);
		mutex_lock(&u->rlock);
		if (r)
			goto out;
	}
	size_t n = MIN(d->len, m->uio->resid);
	r = n && uio_copy_out(m->uio, d->data, n) < 0 ? -EFAULT : (ssize_t)n;
	if (d->len > n)
		m->msg_flags |= MSG_TRUNC;
	if ((flags & MSG_TRUNC) && r >= 0)
		r = (ssize_t)d->len;
	m->namelen = sockaddr_in_fill(m->name, d->saddr, d->sport);
	if (room) {
		if (u->inet.pktinfo) {
			struct in_pktinfo_k pi = { d->ifindex, __builtin_bswap32(d->daddr),
						   __builtin_bswap32(d->daddr) };
			cmsg_put(m, room, SOL_IP, IP_PKTINFO, &pi, sizeof(pi));
		}
		if (u->inet.recvttl) {
			int t = d->ttl;
			cmsg_put(m, room, SOL_IP, IP_TTL, &t, sizeof(t));
		}
		if (u->inet.recvtos)
			cmsg_put(m, room, SOL_IP, IP_TOS, &d->tos, 1);
	}
	if (!(flags & MSG_PEEK))
		kfree(d);
out:
	mutex_unlock(&u->rlock);
	return r;
}

static uint32_t udp_poll(struct socket *s, struct poll_table *pt)
{
	struct udp_sock *u = ud(s);
	poll_wait(pt, &s->ph);
	uint32_t m = 0;
	if (READ_ONCE(s->error))
		m |= EPOLLERR;
	if (!list_empty(&u->rq))
		m |= EPOLLIN | EPOLLRDNORM;
	int shut = READ_ONCE(u->shut);
	if (shut & RCV_SHUTDOWN)
		m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (shut == (RCV_SHUTDOWN | SEND_SHUTDOWN))
		m |= EPOLLHUP;
	m |= EPOLLOUT | EPOLLWRNORM | EPOLLWRBAND;
	return m;
}

#define FIONREAD 0x541B
#define SIOCOUTQ 0x5411

static long udp_ioctl(struct socket *s, unsigned long cmd, unsigned long arg)
{
	struct udp_sock *u = ud(s);
	int v = 0;
	if (cmd == FIONREAD) {
		uint64_t f = net_lock_irqsave();
		if (!list_empty(&u->rq))
			v = (int)list_first_entry(&u->rq, struct udp_dgram, node)->len;
		net_unlock_irqrestore(f);
	} else if (cmd != SIOCOUTQ) {
		return -ENOTTY;
	}
	return copy_to_user((void *)arg, &v, sizeof(v)) < 0 ? -EFAULT : 0;
}

#define UDP_CORK 1
#define UDP_SEGMENT 103
#define UDP_GRO 104

static int udp_setsockopt(struct socket *s, int level, int name, const void *val, size_t len)
{
	struct udp_sock *u = ud(s);
	if (level == SOL_SOCKET)
		return -ENOPROTOOPT;
	if (level == SOL_IP)
		return inet_setsockopt(&u->inet, name, val, len);
	if (level == SOL_UDP) {
		if (len < sizeof(int))
			return -EINVAL;
		if (name == UDP_CORK || name == UDP_GRO)
			return 0;           /* accepted: each send is one datagram */
		return -ENOPROTOOPT;
	}
	return -ENOPROTOOPT;
}

static int udp_getsockopt(struct socket *s, int level, int name, void *val, size_t *len)
{
	struct udp_sock *u = ud(s);
	if (level == SOL_SOCKET)
		return -ENOPROTOOPT;
	if (level == SOL_IP) {
		if (name == IP_MTU) {
			struct ip_route_info ri;
			if (!u->connected)
				return -ENOTCONN;
			uint64_t f = net_lock_irqsave();
			int r = ip_route(u->raddr, &ri);
			net_unlock_irqrestore(f);
			if (r)
				return r;
			int v = (int)MIN(ri.mtu, 65535u);     /* IP_MAX_MTU, as Linux */
			if (*len < sizeof(int))
				return -EINVAL;
			memcpy(val, &v, sizeof(v));
			*len = sizeof(v);
			return 0;
		}
		return inet_getsockopt(&u->inet, name, val, len);
	}
	if (level == SOL_UDP && (name == UDP_CORK || name == UDP_GRO)) {
		if (*len < sizeof(int))
			return -EINVAL;
		int v = 0;
		memcpy(val, &v, sizeof(v));
		*len = sizeof(v);
		return 0;
	}
	return -ENOPROTOOPT;
}

static const struct sock_ops udp_ops = {
	.bind = udp_bind,
	.connect = udp_connect,
	.sendmsg = udp_sendmsg,
	.recvmsg = udp_recvmsg,
	.shutdown = udp_shutdown,
	.getname = udp_getname,
	.setsockopt = udp_setsockopt,
	.getsockopt = udp_getsockopt,
	.poll = udp_poll,
	.ioctl = udp_ioctl,
	.release = udp_release,
};

/* --- /proc/net/udp ------------------------------------------------------------------------ */

size_t udp_proc_net(char *buf, size_t len)
{
	size_t n = 0;
	char line[160];
	int k = snprintf(line, sizeof(line), "%-127s\n",
			 "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when "
			 "retrnsmt   uid  timeout inode ref pointer drops");
	n += snprintf(buf, len, "%s", line);
	(void)k;
	uint64_t f = net_lock_irqsave();
	if (udp_table_ready) {
		int sl = 0;
		for (int i = 0; i < UDP_HASH; i++) {
			list_for_each(it, &udp_table[i]) {
				struct udp_sock *u = list_entry(it, struct udp_sock, hnode);
				struct file *fl = READ_ONCE(u->s->file);
				uint64_t ino = fl ? fl->path.inode->ino : 0;
				char body[160];
				snprintf(body, sizeof(body),
					 "%5d: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu %d %016lx %u",
					 sl++, __builtin_bswap32(u->laddr), u->lport,
					 __builtin_bswap32(u->raddr), u->rport, u->connected ? 1 : 7,
					 0u, (unsigned)u->rq_mem, 0, 0ul, 0u, 0u, 0, ino,
					 READ_ONCE(u->s->refs), 0ul, u->drops);
				snprintf(line, sizeof(line), "%-127s\n", body);
				n += snprintf(n < len ? buf + n : NULL, n < len ? len - n : 0, "%s", line);
			}
		}
	}
	net_unlock_irqrestore(f);
	return n;
}
