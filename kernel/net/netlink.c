/*
 * AF_NETLINK, NETLINK_ROUTE only, as much as the C libraries ask of it:
 * getifaddrs and if_nameindex (glibc and musl) dump the links
 * (RTM_GETLINK) and the addresses (RTM_GETADDR). A request is answered
 * while it is sent: the reply datagrams are queued on the socket before
 * sendmsg returns (musl reads them with MSG_DONTWAIT). Every other
 * request gets an NLMSG_ERROR with EOPNOTSUPP; no multicast groups send
 * anything.
 *
 * Replies carry the request's sequence number and the socket's port id
 * (nl_pid: the program's pid for its first netlink socket, then -4096,
 * -4097... as Linux), which glibc checks. Interfaces are numbered as the
 * interface ioctls number them (sys_socket.h: lo is 1).
 */
#include "net/sys_socket.h"
#include "net/stack.h"
#include "fs/deps.h"
#include "sched/spinlock.h"
#include "sched/thread.h"
#include "mm/heap.h"
#include "lib/string.h"
#include "errno.h"

#define NETLINK_ROUTE 0
#define SOL_NETLINK 270

#define NLMSG_NOOP 1
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define NLMSG_MIN_TYPE 0x10
#define NLM_F_REQUEST 1
#define NLM_F_MULTI 2
#define NLM_F_ACK 4
#define NLM_F_DUMP 0x300
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWADDR 20
#define RTM_GETADDR 22

#define IFLA_ADDRESS 1
#define IFLA_BROADCAST 2
#define IFLA_IFNAME 3
#define IFLA_MTU 4
#define IFLA_STATS 7
#define IFLA_TXQLEN 13
#define IFLA_OPERSTATE 16
#define IFA_ADDRESS 1
#define IFA_LOCAL 2
#define IFA_LABEL 3
#define IFA_BROADCAST 4
#define IFA_FLAGS 8
#define IFA_F_PERMANENT 0x80
#define RT_SCOPE_UNIVERSE 0
#define RT_SCOPE_HOST 254
#define ARPHRD_ETHER 1
#define ARPHRD_LOOPBACK 772
#define IF_OPER_UP 6
#define IF_OPER_UNKNOWN 0

#define NL_BATCH 4096          /* bytes of messages per reply datagram */
#define NL_SEND_MAX 65536      /* a request buffer */

struct nlmsghdr_k {
	uint32_t len;
	uint16_t type, flags;
	uint32_t seq, pid;
};

struct ifinfomsg_k {
	uint8_t family, pad;
	uint16_t type;
	int32_t index;
	uint32_t flags, change;
};

struct ifaddrmsg_k {
	uint8_t family, prefixlen, flags, scope;
	uint32_t index;
};

struct sockaddr_nl_k {
	uint16_t family, pad;
	uint32_t pid, groups;
};

struct nl_dgram {
	struct list node;
	size_t len;
	uint8_t data[];
};

struct nl_sock {
	struct socket *s;
	uint32_t portid;
	bool bound;
	uint32_t groups;
	struct list named;
	struct list rq;            /* struct nl_dgram */
	size_t rq_bytes;
	unsigned rq_count;
	int shut;
	struct mutex rlock;        /* one reader: a peeked datagram stays */
};

static spinlock_t nl_lock = SPINLOCK_INIT;
static struct list nl_named = LIST_INIT(nl_named);
static int32_t nl_next_neg = -4096;

#define list_first_entry(l, type, member) list_entry((l)->next, type, member)
#define list_for_each(pos, head) \
	for (struct list *pos = (head)->next; pos != (head); pos = pos->next)

static const struct sock_ops netlink_ops;

static inline struct nl_sock *nl(struct socket *s)
{
	return s->pcb;
}

static void nl_destroy(struct socket *s)
{
	kfree(s->pcb);
	s->pcb = NULL;
}

int netlink_create(struct socket *s, int type, int protocol, bool kern)
{
	(void)kern;
	if (type != SOCK_RAW && type != SOCK_DGRAM)
		return -ESOCKTNOSUPPORT;
	if (protocol < 0 || protocol >= 32)
		return -EPROTONOSUPPORT;
	if (protocol != NETLINK_ROUTE)
		return -EPROTONOSUPPORT;
	net_wait_configured();      /* getifaddrs: DHCP may still run */
	struct nl_sock *n = kzalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	n->s = s;
	list_init(&n->named);
	list_init(&n->rq);
	mutex_init(&n->rlock);
	s->pcb = n;
	s->ops = &netlink_ops;
	s->destroy = nl_destroy;
	return 0;
}

static void nl_release(struct socket *s)
{
	struct nl_sock *n = nl(s);
	struct list q;
	list_init(&q);
	uint64_t f = spin_lock_irqsave(&nl_lock);
	if (n->bound)
		list_remove(&n->named);
	while (!list_empty(&n->rq)) {
		struct nl_dgram *d = list_first_entry(&n->rq, struct nl_dgram, node);
		list_remove(&d->node);
		list_push_back(&q, &d->node);
	}
	spin_unlock_irqrestore(&nl_lock, f);
	while (!list_empty(&q)) {
		struct nl_dgram *d = list_first_entry(&q, struct nl_dgram, node);
		list_remove(&d->node);
		kfree(d);
	}
	sock_put(s);
}

/* --- port ids (nl_lock held) ------------------------------------------------ */

static bool portid_used(uint32_t id)
{
	list_for_each(it, &nl_named)
		if (list_entry(it, struct nl_sock, named)->portid == id)
			return true;
	return false;
}

static void autobind_locked(struct nl_sock *n)
{
	if (n->bound)
		return;
	uint32_t id = 1;                    /* the program's pid */
	while (portid_used(id))
		id = (uint32_t)nl_next_neg--;
	n->portid = id;
	n->bound = true;
	list_push_back(&nl_named, &n->named);
}

static int nl_bind(struct socket *s, const void *addr, size_t len)
{
	struct nl_sock *n = nl(s);
	if (len < sizeof(struct sockaddr_nl_k))
		return -EINVAL;
	const struct sockaddr_nl_k *a = addr;
	if (a->family != AF_NETLINK)
		return -EINVAL;
	uint64_t f = spin_lock_irqsave(&nl_lock);
	int r = 0;
	if (n->bound) {
		if (a->pid && a->pid != n->portid)
			r = -EINVAL;
	} else if (a->pid) {
		if (portid_used(a->pid))
			r = -EADDRINUSE;
		else {
			n->portid = a->pid;
			n->bound = true;
			list_push_back(&nl_named, &n->named);
		}
	} else {
		autobind_locked(n);
	}
	if (!r)
		n->groups = a->groups;
	spin_unlock_irqrestore(&nl_lock, f);
	return r;
}

static int nl_connect(struct socket *s, const void *addr, size_t len, bool nonblock)
{
	(void)nonblock;
	if (len < sizeof(uint16_t))
		return -EINVAL;
	const struct sockaddr_nl_k *a = addr;
	if (a->family == AF_UNSPEC)
		return 0;
	if (len < sizeof(*a) || a->family != AF_NETLINK)
		return -EINVAL;
	uint64_t f = spin_lock_irqsave(&nl_lock);
	autobind_locked(nl(s));
	spin_unlock_irqrestore(&nl_lock, f);
	return 0;
}

static int nl_getname(struct socket *s, void *addr, size_t *len, bool peer)
{
	struct nl_sock *n = nl(s);
	struct sockaddr_nl_k a = { AF_NETLINK, 0, peer ? 0 : n->portid, peer ? 0 : n->groups };
	size_t k = MIN(*len, sizeof(a));
	memcpy(addr, &a, k);
	*len = sizeof(a);
	return 0;
}

/* --- building replies ---------------------------------------------------------- */

struct nl_out {
	struct list batches;       /* struct nl_dgram, filled in turn */
	struct nl_dgram *cur;
	uint32_t seq, pid;
	int err;
};

/* Room for a message of len bytes (4-aligned): a pointer into the
 * current batch, or NULL when out of memory. */
static uint8_t *out_reserve(struct nl_out *o, size_t len)
{
	len = ALIGN_UP(len, 4);
	if (!o->cur || o->cur->len + len > NL_BATCH) {
		size_t cap = MAX((size_t)NL_BATCH, len);
		struct nl_dgram *d = kzalloc(sizeof(*d) + cap);
		if (!d) {
			o->err = -ENOBUFS;
			return NULL;
		}
		list_push_back(&o->batches, &d->node);
		o->cur = d;
	}
	uint8_t *p = o->cur->data + o->cur->len;
	o->cur->len += len;
	return p;
}

struct msg_builder {
	uint8_t buf[512];
	size_t len;
};

static void mb_start(struct msg_builder *b, uint16_t type, uint16_t flags, const struct nl_out *o)
{
	memset(b->buf, 0, sizeof(b->buf));
	struct nlmsghdr_k *h = (void *)b->buf;
	h->type = type;
	h->flags = flags;
	h->seq = o->seq;
	h->pid = o->pid;
	b->len = sizeof(*h);
}

static void *mb_put(struct msg_builder *b, const void *data, size_t len)
{
	size_t a = ALIGN_UP(len, 4);
	if (b->len + a > sizeof(b->buf))
		return NULL;
	uint8_t *p = b->buf + b->len;
	if (data)
		memcpy(p, data, len);
	b->len += a;
	return p;
}

static void mb_attr(struct msg_builder *b, uint16_t type, const void *data, size_t len)
{
	size_t a = ALIGN_UP(4 + len, 4);
	if (b->len + a > sizeof(b->buf))
		return;
	uint8_t *p = b->buf + b->len;
	uint16_t hl[2] = { (uint16_t)(4 + len), type };
	memcpy(p, hl, 4);
	memcpy(p + 4, data, len);
	b->len += a;
}

static void mb_end(struct msg_builder *b, struct nl_out *o)
{
	((struct nlmsghdr_k *)b->buf)->len = (uint32_t)b->len;
	uint8_t *p = out_reserve(o, b->len);
	if (p)
		memcpy(p, b->buf, b->len);
}

static void put_link(struct nl_out *o, struct netif *nif, uint16_t flags)
{
	struct msg_builder b;
	mb_start(&b, RTM_NEWLINK, flags, o);
	bool lo = sock_if_is_loopback(nif);
	struct ifinfomsg_k ii = {
		.family = AF_UNSPEC,
		.type = lo ? ARPHRD_LOOPBACK : ARPHRD_ETHER,
		.index = sock_ifindex(nif),
		.flags = sock_if_flags(nif),
	};
	mb_put(&b, &ii, sizeof(ii));
	mb_attr(&b, IFLA_IFNAME, nif->name, strlen(nif->name) + 1);
	uint32_t txq = 1000, mtu = lo && !nif->mtu ? 65536 : nif->mtu;
	mb_attr(&b, IFLA_TXQLEN, &txq, 4);
	uint8_t oper = (ii.flags & IFF_RUNNING) ? IF_OPER_UP : IF_OPER_UNKNOWN;
	mb_attr(&b, IFLA_OPERSTATE, &oper, 1);
	mb_attr(&b, IFLA_MTU, &mtu, 4);
	uint8_t mac[ETH_ALEN] = { 0 };
	if (!lo)
		memcpy(mac, nif->mac, ETH_ALEN);
	mb_attr(&b, IFLA_ADDRESS, mac, ETH_ALEN);
	static const uint8_t bcast[ETH_ALEN] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
	mb_attr(&b, IFLA_BROADCAST, lo ? mac : bcast, ETH_ALEN);
	uint32_t st[24];
	memset(st, 0, sizeof(st));
	st[0] = (uint32_t)nif->stats.rx_packets;
	st[1] = (uint32_t)nif->stats.tx_packets;
	st[2] = (uint32_t)nif->stats.rx_bytes;
	st[3] = (uint32_t)nif->stats.tx_bytes;
	st[6] = (uint32_t)nif->stats.rx_dropped;
	st[7] = (uint32_t)nif->stats.tx_dropped;
	mb_attr(&b, IFLA_STATS, st, sizeof(st));
	mb_end(&b, o);
}

static unsigned prefix_len(uint32_t mask)
{
	unsigned n = 0;
	while (mask & 0x80000000u) {
		n++;
		mask <<= 1;
	}
	return n;
}

static void put_addr(struct nl_out *o, struct netif *nif, uint16_t flags)
{
	bool lo = sock_if_is_loopback(nif);
	uint32_t a = READ_ONCE(nif->addr), m = READ_ONCE(nif->netmask);
	if (lo && !a) {
		a = 0x7f000001;
		m = 0xff000000;
	}
	if (!a)
		return;
	struct msg_builder b;
	mb_start(&b, RTM_NEWADDR, flags, o);
	struct ifaddrmsg_k ia = {
		.family = AF_INET, .prefixlen = (uint8_t)prefix_len(m),
		.flags = IFA_F_PERMANENT, .scope = lo ? RT_SCOPE_HOST : RT_SCOPE_UNIVERSE,
		.index = (uint32_t)sock_ifindex(nif),
	};
	mb_put(&b, &ia, sizeof(ia));
	uint32_t na = __builtin_bswap32(a);
	mb_attr(&b, IFA_ADDRESS, &na, 4);
	mb_attr(&b, IFA_LOCAL, &na, 4);
	if (!lo && m != 0xffffffffu) {
		uint32_t bc = __builtin_bswap32(a | ~m);
		mb_attr(&b, IFA_BROADCAST, &bc, 4);
	}
	mb_attr(&b, IFA_LABEL, nif->name, strlen(nif->name) + 1);
	uint32_t fl = IFA_F_PERMANENT;
	mb_attr(&b, IFA_FLAGS, &fl, 4);
	mb_end(&b, o);
}

static void put_done(struct nl_out *o)
{
	struct msg_builder b;
	mb_start(&b, NLMSG_DONE, NLM_F_MULTI, o);
	int32_t z = 0;
	mb_put(&b, &z, sizeof(z));
	mb_end(&b, o);
}

static void put_error(struct nl_out *o, int err, const struct nlmsghdr_k *req)
{
	o->cur = NULL;              /* an ACK or error is a datagram of its own, as Linux */
	struct msg_builder b;
	mb_start(&b, NLMSG_ERROR, 0x100 /* NLM_F_CAPPED: the request's header only */, o);
	int32_t e = err;
	mb_put(&b, &e, sizeof(e));
	mb_put(&b, req, sizeof(*req));
	mb_end(&b, o);
}

/* One request. */
static void handle(struct nl_out *o, const struct nlmsghdr_k *h, const uint8_t *payload, size_t plen)
{
	bool dump = (h->flags & NLM_F_DUMP) == NLM_F_DUMP;
	int err = 0;
	switch (h->type) {
	case RTM_GETLINK:
		if (dump) {
			for (int i = 1;; i++) {
				struct netif *n = sock_ifbyindex(i);
				if (!n)
					break;
				put_link(o, n, NLM_F_MULTI);
			}
			put_done(o);
			return;
		} else {
			struct ifinfomsg_k ii = { 0 };
			memcpy(&ii, payload, MIN(plen, sizeof(ii)));
			struct netif *n = ii.index > 0 ? sock_ifbyindex(ii.index) : NULL;
			/* or by IFLA_IFNAME */
			size_t off = ALIGN_UP(sizeof(ii), 4);
			while (!n && off + 4 <= plen) {
				uint16_t al, at;
				memcpy(&al, payload + off, 2);
				memcpy(&at, payload + off + 2, 2);
				if (al < 4 || off + al > plen)
					break;
				if (at == IFLA_IFNAME) {
					char name[16] = { 0 };
					memcpy(name, payload + off + 4, MIN((size_t)al - 4, sizeof(name) - 1));
					n = netif_find(name);
				}
				off += ALIGN_UP((size_t)al, 4);
			}
			if (!n)
				err = -ENODEV;
			else
				put_link(o, n, 0);
		}
		break;
	case RTM_GETADDR: {
		uint8_t fam = plen ? payload[0] : AF_UNSPEC;
		if (!dump) {
			err = -EOPNOTSUPP;
			break;
		}
		if (fam == AF_UNSPEC || fam == AF_INET)
			for (int i = 1;; i++) {
				struct netif *n = sock_ifbyindex(i);
				if (!n)
					break;
				put_addr(o, n, NLM_F_MULTI);
			}
		put_done(o);
		return;
	}
	default:
		if (h->type < NLMSG_MIN_TYPE)
			return;             /* control messages: nothing */
		err = -EOPNOTSUPP;
	}
	if (err || (h->flags & NLM_F_ACK))
		put_error(o, err, h);
}

static ssize_t nl_sendmsg(struct socket *s, struct sock_msg *m, int flags)
{
	(void)flags;
	struct nl_sock *n = nl(s);
	if (m->namelen) {
		if (m->namelen < sizeof(struct sockaddr_nl_k))
			return -EINVAL;
		const struct sockaddr_nl_k *a = (const void *)m->name;
		if (a->family != AF_NETLINK)
			return -EINVAL;
		if (a->pid || a->groups)
			return -EPERM;      /* to other sockets or groups: not here */
	}
	size_t len = m->uio->resid;
	if (len > NL_SEND_MAX)
		return -EMSGSIZE;
	uint8_t *buf = kmalloc(len ? len : 1);
	if (!buf)
		return -ENOBUFS;
	if (len && uio_copy_in(m->uio, buf, len) < 0) {
		kfree(buf);
		return -EFAULT;
	}
	uint64_t f = spin_lock_irqsave(&nl_lock);
	autobind_locked(n);
	uint32_t pid = n->portid;
	spin_unlock_irqrestore(&nl_lock, f);

	struct nl_out o;
	list_init(&o.batches);
	o.cur = NULL;
	o.pid = pid;
	o.err = 0;
	size_t off = 0;
	while (off + sizeof(struct nlmsghdr_k) <= len) {
		struct nlmsghdr_k h;
		memcpy(&h, buf + off, sizeof(h));
		if (h.len < sizeof(h) || h.len > len - off)
			break;
		o.seq = h.seq;
		if (h.flags & NLM_F_REQUEST) {
			o.cur = NULL;       /* each request's answer in datagrams of its own */
			handle(&o, &h, buf + off + sizeof(h), h.len - sizeof(h));
		}
		off += ALIGN_UP((size_t)h.len, 4);
	}
	kfree(buf);
	/* Queue the answers (bounded by SO_RCVBUF: beyond it, dropped). */
	bool any = false;
	f = spin_lock_irqsave(&nl_lock);
	while (!list_empty(&o.batches)) {
		struct nl_dgram *d = list_first_entry(&o.batches, struct nl_dgram, node);
		list_remove(&d->node);
		if (n->rq_bytes + d->len > (size_t)s->rcvbuf && n->rq_count) {
			list_push_back(&o.batches, &d->node);
			break;
		}
		list_push_back(&n->rq, &d->node);
		n->rq_bytes += d->len;
		n->rq_count++;
		any = true;
	}
	spin_unlock_irqrestore(&nl_lock, f);
	while (!list_empty(&o.batches)) {
		struct nl_dgram *d = list_first_entry(&o.batches, struct nl_dgram, node);
		list_remove(&d->node);
		kfree(d);
		s->error = ENOBUFS;
	}
	if (any)
		sock_wake(s, EPOLLIN | EPOLLRDNORM);
	return (ssize_t)len;
}

static ssize_t nl_recvmsg(struct socket *s, struct sock_msg *m, int flags)
{
	struct nl_sock *n = nl(s);
	m->control_len = 0;
	m->namelen = 0;
	bool nonblock = sock_nonblock(s, flags);
	uint64_t deadline = sock_rcv_deadline(s);
	struct nl_dgram *d;
	ssize_t r;
	mutex_lock(&n->rlock);
	for (;;) {
		if (READ_ONCE(s->error)) {
			r = -__atomic_exchange_n(&s->error, 0, __ATOMIC_ACQ_REL);
			goto out;
		}
		uint64_t f = spin_lock_irqsave(&nl_lock);
		d = list_empty(&n->rq) ? NULL : list_first_entry(&n->rq, struct nl_dgram, node);
		if (d && !(flags & MSG_PEEK)) {
			list_remove(&d->node);
			n->rq_bytes -= d->len;
			n->rq_count--;
		}
		bool shut = n->shut;
		spin_unlock_irqrestore(&nl_lock, f);
		if (d)
			break;
		if (shut) {
			r = 0;
			goto out;
		}
		mutex_unlock(&n->rlock);
		r = sock_wait(s, !list_empty(&n->rq) || s->error || n->shut, nonblock, deadline);
		mutex_lock(&n->rlock);
		if (r)
			goto out;
	}
	size_t k = MIN(d->len, m->uio->resid);
	r = k && uio_copy_out(m->uio, d->data, k) < 0 ? -EFAULT : (ssize_t)k;
	if (d->len > k)
		m->msg_flags |= MSG_TRUNC;
	if ((flags & MSG_TRUNC) && r >= 0)
		r = (ssize_t)d->len;
	struct sockaddr_nl_k a = { AF_NETLINK, 0, 0, 0 };
	memcpy(m->name, &a, sizeof(a));
	m->namelen = sizeof(a);
	if (!(flags & MSG_PEEK))
		kfree(d);
out:
	mutex_unlock(&n->rlock);
	return r;
}

static int nl_shutdown(struct socket *s, int how)
{
	struct nl_sock *n = nl(s);
	if (how == SHUT_RD || how == SHUT_RDWR)
		n->shut = 1;
	sock_wake(s, 0);
	return 0;
}

static uint32_t nl_poll(struct socket *s, struct poll_table *pt)
{
	struct nl_sock *n = nl(s);
	poll_wait(pt, &s->ph);
	uint32_t m = EPOLLOUT | EPOLLWRNORM;
	if (!list_empty(&n->rq) || n->shut)
		m |= EPOLLIN | EPOLLRDNORM;
	if (READ_ONCE(s->error))
		m |= EPOLLERR;
	return m;
}

static int nl_setsockopt(struct socket *s, int level, int name, const void *val, size_t len)
{
	(void)s; (void)name; (void)val;
	if (level == SOL_SOCKET)
		return -ENOPROTOOPT;
	if (level != SOL_NETLINK)
		return -ENOPROTOOPT;
	if (len < sizeof(int))
		return -EINVAL;
	return 0;                   /* memberships, ext ack, strict checking: accepted */
}

static int nl_getsockopt(struct socket *s, int level, int name, void *val, size_t *len)
{
	(void)s; (void)name;
	if (level != SOL_NETLINK)
		return -ENOPROTOOPT;
	if (*len < sizeof(int))
		return -EINVAL;
	int v = 0;
	memcpy(val, &v, sizeof(v));
	*len = sizeof(v);
	return 0;
}

#define FIONREAD 0x541B

static long nl_ioctl(struct socket *s, unsigned long cmd, unsigned long arg)
{
	struct nl_sock *n = nl(s);
	if (cmd != FIONREAD)
		return -ENOTTY;
	int v = 0;
	uint64_t f = spin_lock_irqsave(&nl_lock);
	if (!list_empty(&n->rq))
		v = (int)list_first_entry(&n->rq, struct nl_dgram, node)->len;
	spin_unlock_irqrestore(&nl_lock, f);
	return copy_to_user((void *)arg, &v, sizeof(v)) < 0 ? -EFAULT : 0;
}

static const struct sock_ops netlink_ops = {
	.bind = nl_bind,
	.connect = nl_connect,
	.sendmsg = nl_sendmsg,
	.recvmsg = nl_recvmsg,
	.shutdown = nl_shutdown,
	.getname = nl_getname,
	.setsockopt = nl_setsockopt,
	.getsockopt = nl_getsockopt,
	.poll = nl_poll,
	.ioctl = nl_ioctl,
	.release = nl_release,
};
