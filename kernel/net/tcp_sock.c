/*
 * TCP in the kernel: the glue between the pure state machine (tcp.c) and
 * the stack (stack.h) and socket layer (socket.h).
 *
 * - Connections live in a hash of their 4-tuple; listeners and bound
 *   sockets in a table by local port (SO_REUSEADDR/SO_REUSEPORT close to
 *   Linux). Segments nobody wants get a RST.
 * - Each connection has one net timer, armed at the module's earliest
 *   deadline after every call into it (env->event runs at the end of each).
 * - Output goes through ip_output with the route's checksum offload and TSO
 *   when it has them; otherwise the checksum is summed here.
 * - User copies run outside net_lock: the rings' application side is
 *   reserved under the lock, copied without it, then committed (tcp.h).
 *   One sender and one receiver at a time per socket (mutexes).
 * - A tcp_sock outlives its socket: close() hands the connection to the
 *   module, which runs it to CLOSED or TIME_WAIT; TCP_EV_CLOSED then frees
 *   it when no socket and no listener refers to it.
 */
#include "net/tcp.h"
#include "net/stack.h"
#include "net/socket.h"
#include "net/inet.h"
#include "net/byteorder.h"
#include "net/checksum.h"
#include "arch/x86_64/usercopy.h"
#include "fs/poll.h"
#include "fs/shutdown.h"
#include "fs/vfs.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "sched/sync.h"
#include "sched/thread.h"
#include "errno.h"

#define TCP_NODELAY       1
#define TCP_MAXSEG        2
#define TCP_CORK          3
#define TCP_KEEPIDLE      4
#define TCP_KEEPINTVL     5
#define TCP_KEEPCNT       6
#define TCP_SYNCNT        7
#define TCP_LINGER2       8
#define TCP_DEFER_ACCEPT  9
#define TCP_WINDOW_CLAMP  10
#define TCP_INFO          11
#define TCP_QUICKACK      12
#define TCP_CONGESTION    13
#define TCP_USER_TIMEOUT  18
#define TCP_FASTOPEN      23
#define TCP_NOTSENT_LOWAT 25
#define TCP_FASTOPEN_CONNECT 30

#define SO_KEEPALIVE 9
#define SO_LINGER    13
#define SO_SNDBUF    7
#define SO_RCVBUF    8
#define SO_SNDBUFFORCE 32
#define SO_RCVBUFFORCE 33

#define FIONREAD   0x541B
#define SIOCOUTQ   0x5411
#define SIOCOUTQNSD 0x894B

#define TCP_WMEM_DEFAULT 16384    /* net.ipv4.tcp_wmem's default */
#define TCP_RMEM_DEFAULT 131072   /* net.ipv4.tcp_rmem's default */

#define EPHEMERAL_LO 32768
#define EPHEMERAL_HI 60999

struct tcp_sock {
	struct tcp_conn c;             /* first: the module's pointer is ours */
	struct socket *sock;           /* NULL: orphaned or not accepted yet */
	struct net_timer timer;
	uint64_t timer_at;             /* us deadline armed */
	struct tcp_sock *hnext;        /* connection hash chain */
	struct tcp_sock *pnext;        /* port table chain (bound sockets, listeners) */
	struct tcp_sock *anext, *aprev;   /* every tcp_sock (/proc/net/tcp) */
	bool hashed, in_ports;
	bool bound;                    /* bind() or an automatic port */
	bool shut_rd;
	bool connect_started;
	/* Linux's sock->state: connect() in progress (SS_CONNECTING) and
	 * reported connected (SS_CONNECTED). A nonblocking connect that
	 * completed answers 0 to the next connect(), then EISCONN. */
	bool connecting, connected;
	uint32_t bind_addr;
	uint16_t bind_port;
	bool reuseaddr, reuseport;
	unsigned features;             /* route's NETIF_F_* */
	struct mutex snd_mx, rcv_mx;
	struct inet_opts inet;
	uint64_t mib_retrans, mib_rsts, mib_errs;
	bool counted_estab;
};

#define EHASH_SIZE 4096
#define PHASH_SIZE 256
static struct tcp_sock *ehash[EHASH_SIZE];
static struct tcp_sock *phash[PHASH_SIZE];
static struct tcp_sock *all_socks;
static unsigned next_ephemeral;
static bool tcp_ready;
static struct tcp_env env;

static inline struct tcp_sock *TS(struct tcp_conn *c) { return (struct tcp_sock *)c; }

static unsigned ehash_fn(uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	uint32_t h = la * 0x9e3779b1u ^ ra * 0x85ebca6bu ^ ((uint32_t)lp << 16 | rp) * 0xc2b2ae35u;
	h ^= h >> 15;
	return h & (EHASH_SIZE - 1);
}

static void ehash_add(struct tcp_sock *ts)
{
	if (ts->hashed)
		return;
	unsigned h = ehash_fn(ts->c.laddr, ts->c.lport, ts->c.raddr, ts->c.rport);
	ts->hnext = ehash[h];
	ehash[h] = ts;
	ts->hashed = true;
}

static void ehash_del(struct tcp_sock *ts)
{
	if (!ts->hashed)
		return;
	unsigned h = ehash_fn(ts->c.laddr, ts->c.lport, ts->c.raddr, ts->c.rport);
	for (struct tcp_sock **pp = &ehash[h]; *pp; pp = &(*pp)->hnext)
		if (*pp == ts) {
			*pp = ts->hnext;
			break;
		}
	ts->hashed = false;
}

static struct tcp_sock *ehash_find(uint32_t la, uint16_t lp, uint32_t ra, uint16_t rp)
{
	for (struct tcp_sock *ts = ehash[ehash_fn(la, lp, ra, rp)]; ts; ts = ts->hnext)
		if (ts->c.laddr == la && ts->c.lport == lp && ts->c.raddr == ra && ts->c.rport == rp)
			return ts;
	return NULL;
}

static void ports_add(struct tcp_sock *ts)
{
	if (ts->in_ports)
		return;
	unsigned h = ts->bind_port & (PHASH_SIZE - 1);
	ts->pnext = phash[h];
	phash[h] = ts;
	ts->in_ports = true;
}

static void ports_del(struct tcp_sock *ts)
{
	if (!ts->in_ports)
		return;
	for (struct tcp_sock **pp = &phash[ts->bind_port & (PHASH_SIZE - 1)]; *pp; pp = &(*pp)->pnext)
		if (*pp == ts) {
			*pp = ts->pnext;
			break;
		}
	ts->in_ports = false;
}

/* Would binding (addr, port) conflict with what holds the port? Like
 * Linux: overlapping addresses conflict unless both sides set
 * SO_REUSEPORT, or both set SO_REUSEADDR and the holder is not listening. */
static bool port_conflict(struct tcp_sock *me, uint32_t addr, uint16_t port)
{
	for (struct tcp_sock *o = phash[port & (PHASH_SIZE - 1)]; o; o = o->pnext) {
		if (o == me || o->bind_port != port)
			continue;
		if (addr && o->bind_addr && addr != o->bind_addr)
			continue;
		if (me->reuseport && o->reuseport)
			continue;
		if (me->reuseaddr && (o->reuseaddr || !o->sock) && o->c.state != TCP_LISTEN)
			continue;
		return true;
	}
	return false;
}

static int pick_ephemeral(struct tcp_sock *ts, uint32_t addr)
{
	unsigned n = EPHEMERAL_HI - EPHEMERAL_LO + 1;
	if (!next_ephemeral)
		next_ephemeral = (unsigned)(net_now_ns() >> 10) % n;
	for (unsigned i = 0; i < n; i++) {
		uint16_t port = (uint16_t)(EPHEMERAL_LO + (next_ephemeral++ % n));
		bool used = false;
		for (struct tcp_sock *o = phash[port & (PHASH_SIZE - 1)]; o; o = o->pnext)
			if (o->bind_port == port)
				used = true;
		if (used)
			continue;
		(void)addr;
		ts->bind_port = port;
		return 0;
	}
	return -EADDRNOTAVAIL;
}

/* ---- environment ---------------------------------------------------------- */

static uint64_t env_now(void *ctx) { (void)ctx; return net_now_ns() / 1000; }

static uint32_t rng_state;
static uint32_t env_random(void *ctx)
{
	(void)ctx;
	uint32_t x = rng_state ? rng_state : (uint32_t)net_now_ns() | 1;
	x ^= x << 13; x ^= x >> 17; x ^= x << 5;
	rng_state = x;
	return x;
}

static void *env_alloc(void *ctx, size_t n) { (void)ctx; return kmalloc(n); }
static void env_free(void *ctx, void *p, size_t n) { (void)ctx; (void)n; kfree(p); }

/* Sum of pieces that may have odd lengths anywhere. */
static uint32_t csum_pieces(uint32_t sum, const struct net_iov *v, int n)
{
	bool odd = false;
	for (int i = 0; i < n; i++) {
		if (!v[i].len)
			continue;
		uint32_t s = csum_add(0, v[i].base, v[i].len);
		s = (s & 0xffff) + (s >> 16);
		s = (s & 0xffff) + (s >> 16);
		if (odd)
			s = ((s & 0xff) << 8) | (s >> 8);
		sum += s;
		if (v[i].len & 1)
			odd = !odd;
	}
	return sum;
}

static int env_output(void *ctx, struct tcp_conn *c, uint8_t *hdr, unsigned hlen,
		      const struct tcp_iov *pl, int npl, unsigned tso)
{
	(void)ctx;
	struct tcp_sock *ts = TS(c);
	struct net_iov v[3];
	int n = 0;
	v[n++] = (struct net_iov){ hdr, hlen };
	size_t len = hlen;
	for (int i = 0; i < npl; i++) {
		v[n++] = (struct net_iov){ pl[i].base, pl[i].len };
		len += pl[i].len;
	}
	struct ip_tx tx = {
		.src = c->laddr, .dst = c->raddr, .proto = IPPROTO_TCP,
		.tos = inet_tx_tos(&ts->inet), .ttl = inet_tx_ttl(&ts->inet), .df = true,
	};
	if (ts->features & NETIF_F_TX_CSUM) {
		tx.csum_partial = true;
		tx.csum_start = 0;
		tx.csum_offset = 16;
		uint16_t ps = (uint16_t)~csum_fold(csum_pseudo(c->laddr, c->raddr, IPPROTO_TCP,
							       (uint16_t)len));
		put_be16(hdr + 16, ps);
	} else {
		uint32_t s = csum_pseudo(c->laddr, c->raddr, IPPROTO_TCP, (uint16_t)len);
		put_be16(hdr + 16, csum_fold(csum_pieces(s, v, n)));
	}
	if (tso && (ts->features & NETIF_F_TSO))
		tx.gso_size = (uint16_t)tso;
	net_mib.tcp_out_segs += tso ? (len - hlen + tso - 1) / tso : 1;
	int r = ip_output(&tx, v, n);
	if (r == -EMSGSIZE && tso) {
		/* the route lost TSO: send it in MSS pieces */
		ts->features &= ~NETIF_F_TSO;
		c->tso_max = 0;
	}
	return r;
}

static void tcp_sock_free(struct tcp_sock *ts);

/* Lazily: the timer is re-armed only when the module's deadline comes
 * before the armed one. A deadline that moved later (the RTO restarts on
 * every ACK) lets the timer fire early once and re-arm then, instead of a
 * sorted-list insertion per ACK. */
static void timer_sync(struct tcp_sock *ts)
{
	uint64_t d = tcp_next_deadline(&ts->c);
	if (!d || (ts->timer_at && ts->timer_at <= d))
		return;
	ts->timer_at = d;
	net_timer_arm(&ts->timer, d * 1000);
}

static void mib_sync(struct tcp_sock *ts)
{
	struct tcp_conn *c = &ts->c;
	net_mib.tcp_retrans_segs += c->stat_retrans - ts->mib_retrans;
	ts->mib_retrans = c->stat_retrans;
	net_mib.tcp_out_rsts += c->stat_out_rsts - ts->mib_rsts;
	ts->mib_rsts = c->stat_out_rsts;
	net_mib.tcp_in_errs += c->stat_in_errs - ts->mib_errs;
	ts->mib_errs = c->stat_in_errs;
}

static void env_event(void *ctx, struct tcp_conn *c, unsigned ev)
{
	(void)ctx;
	struct tcp_sock *ts = TS(c);
	mib_sync(ts);
	if (ev & TCP_EV_CONNECTED)
		ts->counted_estab = true;
	if (ev & TCP_EV_CLOSED) {
		if (ts->counted_estab && c->reset && c->error)
			net_mib.tcp_estab_resets++;
		else if (!ts->counted_estab && ts->connect_started)
			net_mib.tcp_attempt_fails++;
		net_timer_cancel(&ts->timer);
		ts->timer_at = 0;
		ehash_del(ts);
		if (!ts->sock && !c->parent && c->state != TCP_LISTEN) {
			tcp_sock_free(ts);
			return;
		}
	} else if ((ev & TCP_EV_TIMEWAIT) && !ts->sock) {
		/* no reader or writer can be copying: the rings may go */
		tcp_conn_free_rings(c);
	}
	timer_sync(ts);
	if (ts->sock) {
		uint32_t e = 0;
		if (ev & (TCP_EV_READABLE | TCP_EV_ERROR | TCP_EV_CLOSED))
			e |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
		if (ev & (TCP_EV_CONNECTED | TCP_EV_ERROR | TCP_EV_CLOSED))
			e |= EPOLLOUT | EPOLLWRNORM;
		/* freed send space wakes writers only once poll would call the
		 * socket writable (a third free), not on every ACK */
		if ((ev & TCP_EV_WRITABLE) && c->snd.size - c->snd.len >= c->snd.len / 2)
			e |= EPOLLOUT | EPOLLWRNORM;
		if (ev & TCP_EV_ERROR) {
			e |= EPOLLERR;
			/* SO_ERROR (socket.c) reads and clears the socket's copy */
			__atomic_store_n(&ts->sock->error, c->error, __ATOMIC_RELEASE);
		}
		if (ev & TCP_EV_CLOSED)
			e |= EPOLLHUP;
		if (ev & TCP_EV_ACCEPT)
			e |= EPOLLIN | EPOLLRDNORM;
		if (e)
			sock_wake(ts->sock, e);
	}
}

static void timer_fn(struct net_timer *t)
{
	struct tcp_sock *ts = t->arg;
	ts->timer_at = 0;
	tcp_timer(&ts->c);   /* its event re-arms (or frees) */
}

static struct tcp_sock *tcp_sock_new(void)
{
	struct tcp_sock *ts = kzalloc(sizeof(*ts));
	if (!ts)
		return NULL;
	tcp_conn_init(&ts->c, &env);
	net_timer_init(&ts->timer, timer_fn, ts);
	mutex_init(&ts->snd_mx);
	mutex_init(&ts->rcv_mx);
	inet_opts_init(&ts->inet);
	ts->anext = all_socks;
	if (all_socks)
		all_socks->aprev = ts;
	all_socks = ts;
	return ts;
}

/* net_lock held. */
static void tcp_sock_free(struct tcp_sock *ts)
{
	net_timer_cancel(&ts->timer);
	ehash_del(ts);
	ports_del(ts);
	if (ts->aprev)
		ts->aprev->anext = ts->anext;
	else
		all_socks = ts->anext;
	if (ts->anext)
		ts->anext->aprev = ts->aprev;
	tcp_conn_free_rings(&ts->c);
	kfree(ts);
}

/* Route facts for a connection to c->raddr. */
static void apply_route(struct tcp_sock *ts, const struct ip_route_info *ri)
{
	struct tcp_conn *c = &ts->c;
	c->mtu = ri->mtu > 65535 ? 65535 : ri->mtu;
	if (c->mtu < 68)
		c->mtu = 576;
	ts->features = ri->features;
	c->tso_max = (ri->features & NETIF_F_TSO) ? 65535 - 20 - 60 : 0;
}

static struct tcp_conn *env_spawn(void *ctx, struct tcp_conn *l, uint32_t la, uint16_t lp,
				  uint32_t ra, uint16_t rp)
{
	(void)ctx;
	struct tcp_sock *lts = TS(l);
	struct ip_route_info ri;
	if (ip_route(ra, &ri) < 0)
		return NULL;
	struct tcp_sock *ts = tcp_sock_new();
	if (!ts)
		return NULL;
	ts->c.laddr = la; ts->c.lport = lp; ts->c.raddr = ra; ts->c.rport = rp;
	apply_route(ts, &ri);
	ts->inet = lts->inet;
	ts->bind_addr = la;
	ts->bind_port = lp;
	ehash_add(ts);
	net_mib.tcp_passive_opens++;
	return &ts->c;
}

/* ---- input ------------------------------------------------------------------ */

static void send_rst_for(uint32_t src, uint32_t dst, const struct tcp_info *t)
{
	uint8_t h[TCP_HLEN];
	unsigned hl;
	if (!tcp_rst_for(t, h, &hl))
		return;
	put_be16(h + 16, csum_fold(csum_add(csum_pseudo(dst, src, IPPROTO_TCP, (uint16_t)hl), h, hl)));
	struct net_iov v = { h, hl };
	struct ip_tx tx = { .src = dst, .dst = src, .proto = IPPROTO_TCP, .df = true };
	net_mib.tcp_out_rsts++;
	net_mib.tcp_out_segs++;
	ip_output(&tx, &v, 1);
}

static int env_reply(void *ctx, uint32_t src, uint32_t dst, uint8_t *h, unsigned hl)
{
	(void)ctx;
	put_be16(h + 16, csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP, (uint16_t)hl), h, hl)));
	struct net_iov v = { h, hl };
	struct ip_tx tx = { .src = src, .dst = dst, .proto = IPPROTO_TCP, .df = true };
	net_mib.tcp_out_segs++;
	return ip_output(&tx, &v, 1);
}

static struct tcp_sock *find_listener(uint32_t addr, uint16_t port, uint32_t raddr, uint16_t rport)
{
	struct tcp_sock *best = NULL;
	unsigned nbest = 0, score = 0;
	uint32_t h = (raddr * 0x9e3779b1u) ^ rport;
	for (struct tcp_sock *o = phash[port & (PHASH_SIZE - 1)]; o; o = o->pnext) {
		if (o->bind_port != port || o->c.state != TCP_LISTEN)
			continue;
		if (o->bind_addr && o->bind_addr != addr)
			continue;
		unsigned sc = o->bind_addr ? 2 : 1;
		if (sc > score) {
			score = sc;
			best = o;
			nbest = 1;
		} else if (sc == score && o->reuseport) {
			/* SO_REUSEPORT group: spread by the peer */
			nbest++;
			if (h % nbest == 0)
				best = o;
		}
	}
	return best;
}

void tcp_input(struct netif *nif, const struct ipv4_info *ip, const struct tcp_info *t)
{
	(void)nif;
	net_mib.tcp_in_segs++;
	if (!tcp_ready || ip_is_broadcast(ip->dst) || (ip->dst >> 28) == 14)
		return;
	struct tcp_sock *ts = ehash_find(ip->dst, t->dport, ip->src, t->sport);
	if (ts && ts->c.state == TCP_TIME_WAIT && tcp_tw_reusable(&ts->c, t)) {
		tcp_tw_kill(&ts->c);   /* frees it when orphaned */
		ts = NULL;
	}
	if (!ts)
		ts = find_listener(ip->dst, t->dport, ip->src, t->sport);
	if (!ts) {
		send_rst_for(ip->src, ip->dst, t);
		return;
	}
	if (tcp_input_seg(&ts->c, ip->src, ip->dst, t))
		send_rst_for(ip->src, ip->dst, t);
}

void tcp_icmp_error(uint8_t type, uint8_t code, uint32_t mtu,
		    const struct ipv4_info *orig, const uint8_t *l4, size_t l4_len)
{
	if (!tcp_ready || l4_len < 8)
		return;
	uint16_t sport = get_be16(l4), dport = get_be16(l4 + 2);
	uint32_t seq = get_be32(l4 + 4);
	struct tcp_sock *ts = ehash_find(orig->src, sport, orig->dst, dport);
	if (!ts)
		return;
	struct tcp_conn *c = &ts->c;
	/* RFC 5927: only errors quoting a sequence number we have in flight */
	if (c->state != TCP_SYN_SENT && (SEQ_LT(seq, c->snd_una) || SEQ_GT(seq, c->snd_max)))
		return;
	if (type == ICMP_DEST_UNREACH) {
		if (code == 4) {
			tcp_set_mtu(c, mtu);
			return;
		}
		int err = EHOSTUNREACH;
		if (code == 0 || code == 6 || code == 11)
			err = ENETUNREACH;
		else if (code == 2 || code == 3)
			err = ECONNREFUSED;
		tcp_icmp_unreach(c, err);
	}
}

/* ---- socket operations -------------------------------------------------------- */

static struct tcp_sock *SK(struct socket *s) { return s->pcb; }

/* The pending error, reported once (by a call or by SO_ERROR). */
static int take_error(struct tcp_sock *ts)
{
	int e = ts->c.error;
	ts->c.error = 0;
	if (ts->sock)
		__atomic_store_n(&ts->sock->error, 0, __ATOMIC_RELEASE);
	return e;
}

/* SO_ERROR (socket.c) takes the socket's copy of the error without the
 * stack lock; an error taken there is no longer pending here either (Linux
 * has one sk_err). env_event sets both copies together. net_lock held. */
static void error_sync(struct tcp_sock *ts)
{
	if (ts->c.error && ts->sock && !__atomic_load_n(&ts->sock->error, __ATOMIC_ACQUIRE))
		ts->c.error = 0;
}

static void sync_opts(struct tcp_sock *ts, struct socket *s)
{
	ts->reuseaddr = s->reuseaddr;
	ts->reuseport = s->reuseport;
	/* ring sizes: tcp_setsockopt copies SO_SNDBUF/SO_RCVBUF when the
	 * application sets them; until then the rings keep TCP_RING_DEFAULT
	 * while the socket reports Linux's initial sizes (tcp_sock_create) */
	ts->c.keepalive = s->keepalive;
	ts->c.linger_on = s->linger_on;
	ts->c.linger_s = (unsigned)s->linger_s;
}

static int tcp_bind(struct socket *s, const void *addr, size_t len)
{
	uint32_t ip;
	uint16_t port;
	int r = sockaddr_in_parse(addr, len, &ip, &port);
	if (r < 0)
		return r;
	struct tcp_sock *ts = SK(s);
	uint64_t f = net_lock_irqsave();
	sync_opts(ts, s);
	if (ts->bound || ts->c.state != TCP_CLOSED) {
		r = -EINVAL;
		goto out;
	}
	if (ip && !ip_is_local(ip) && !ts->inet.freebind && !ts->inet.transparent) {
		r = -EADDRNOTAVAIL;
		goto out;
	}
	if (port) {
		if (port_conflict(ts, ip, port)) {
			r = -EADDRINUSE;
			goto out;
		}
		ts->bind_port = port;
	} else if ((r = pick_ephemeral(ts, ip)) < 0) {
		goto out;
	}
	ts->bind_addr = ip;
	ts->bound = true;
	ports_add(ts);
	r = 0;
out:
	net_unlock_irqrestore(f);
	return r;
}

static bool connect_done(struct tcp_sock *ts)
{
	return ts->c.state != TCP_SYN_SENT && ts->c.state != TCP_SYN_RECEIVED;
}

/* A fresh connection in place of a failed attempt, keeping the options. */
static void restart_conn(struct tcp_sock *ts)
{
	struct tcp_conn *c = &ts->c, keep = *c;
	tcp_conn_free_rings(c);
	tcp_conn_init(c, &env);
	c->nodelay = keep.nodelay;
	c->cork = keep.cork;
	c->keepalive = keep.keepalive;
	c->ka_idle_s = keep.ka_idle_s;
	c->ka_intvl_s = keep.ka_intvl_s;
	c->ka_cnt = keep.ka_cnt;
	c->user_mss = keep.user_mss;
	c->sndbuf = keep.sndbuf;
	c->rcvbuf = keep.rcvbuf;
	c->linger_on = keep.linger_on;
	c->linger_s = keep.linger_s;
	ts->connect_started = false;
	ts->connecting = ts->connected = false;
	ts->shut_rd = false;
	ts->counted_estab = false;
	ts->mib_retrans = ts->mib_rsts = ts->mib_errs = 0;
}

static int tcp_connect_op(struct socket *s, const void *addr, size_t len, bool nonblock)
{
	struct tcp_sock *ts = SK(s);
	uint32_t ip;
	uint16_t port;
	if (len >= 2 && *(const uint16_t *)addr == AF_UNSPEC)
		return -EINVAL;   /* disconnect: not supported */
	int r = sockaddr_in_parse(addr, len, &ip, &port);
	if (r < 0)
		return r;
	if (!port)
		return -ECONNREFUSED;
	uint64_t f = net_lock_irqsave();
	sync_opts(ts, s);
	struct tcp_conn *c = &ts->c;
	/* Linux's __inet_stream_connect: the socket's own state first */
	if (ts->connected) {
		net_unlock_irqrestore(f);
		return -EISCONN;
	}
	if (ts->connecting) {
		if (!connect_done(ts)) {
			net_unlock_irqrestore(f);
			if (nonblock)
				return -EALREADY;
			goto wait;
		}
		goto finish;   /* a nonblocking connect ended: report it */
	}
	if (c->state != TCP_CLOSED) {
		net_unlock_irqrestore(f);
		return -EISCONN;   /* a listener, an accepted connection */
	}
	if (ts->connect_started)
		restart_conn(ts);   /* an attempt whose end was seen otherwise */
	if (ip == 0)
		ip = IP4(127, 0, 0, 1);   /* Linux: INADDR_ANY means this host */
	if (ip_is_broadcast(ip) || (ip >> 28) == 14) {
		net_unlock_irqrestore(f);
		return -ENETUNREACH;
	}
	struct ip_route_info ri;
	if (ip_route(ip, &ri) < 0) {
		net_unlock_irqrestore(f);
		return -ENETUNREACH;
	}
	uint32_t src = ts->bind_addr ? ts->bind_addr : ri.src;
	if (!ts->bound) {
		r = pick_ephemeral(ts, src);
		if (r < 0) {
			net_unlock_irqrestore(f);
			return r;
		}
		ts->bound = true;
		ports_add(ts);
	}
	if (ehash_find(src, ts->bind_port, ip, port)) {
		net_unlock_irqrestore(f);
		return -EADDRNOTAVAIL;
	}
	c->laddr = src;
	c->lport = ts->bind_port;
	c->raddr = ip;
	c->rport = port;
	apply_route(ts, &ri);
	ehash_add(ts);
	ts->connect_started = true;
	ts->connecting = true;
	net_mib.tcp_active_opens++;
	tcp_connect(c);
	net_unlock_irqrestore(f);
	if (nonblock)
		return -EINPROGRESS;
wait:
	r = sock_wait(s, connect_done(ts), false, sock_snd_deadline(s));
	if (r == -EAGAIN)
		return -EINPROGRESS;   /* SO_SNDTIMEO ran out: Linux says EINPROGRESS */
	if (r < 0)
		return r;
	f = net_lock_irqsave();
	if (!ts->connecting) {
		/* another thread's connect reported the end first */
		r = ts->connected ? 0 : -ECONNABORTED;
		net_unlock_irqrestore(f);
		return r;
	}
finish:
	ts->connecting = false;
	error_sync(ts);
	if (c->state == TCP_CLOSED) {
		/* refused, reset, timed out: the error (or ECONNABORTED when
		 * SO_ERROR took it), then the socket is fresh again, as after
		 * Linux's tcp_disconnect: it polls POLLOUT|POLLHUP, reads give
		 * ENOTCONN, and connect may start over */
		r = c->error ? -take_error(ts) : -ECONNABORTED;
		restart_conn(ts);
	} else {
		ts->connected = true;
		r = 0;
	}
	net_unlock_irqrestore(f);
	return r;
}

static int tcp_listen_op(struct socket *s, int backlog)
{
	struct tcp_sock *ts = SK(s);
	int r = 0;
	if (backlog < 1)
		backlog = 1;
	uint64_t f = net_lock_irqsave();
	sync_opts(ts, s);
	if (ts->c.state == TCP_LISTEN) {
		ts->c.backlog = (unsigned)backlog;
		goto out;
	}
	if (ts->c.state != TCP_CLOSED || ts->connect_started) {
		r = -EINVAL;
		goto out;
	}
	if (!ts->bound) {
		r = pick_ephemeral(ts, 0);
		if (r < 0)
			goto out;
		ts->bound = true;
		ports_add(ts);
	} else {
		/* listening makes SO_REUSEADDR sharing stricter: check again */
		ts->c.state = TCP_LISTEN;
		bool clash = port_conflict(ts, ts->bind_addr, ts->bind_port);
		ts->c.state = TCP_CLOSED;
		if (clash) {
			r = -EADDRINUSE;
			goto out;
		}
	}
	ts->c.laddr = ts->bind_addr;
	ts->c.lport = ts->bind_port;
	tcp_listen(&ts->c, (unsigned)backlog);
out:
	net_unlock_irqrestore(f);
	return r;
}

static const struct sock_ops tcp_ops;
static void tcp_destroy(struct socket *s) { (void)s; }

static bool accept_ready(struct tcp_sock *ts)
{
	return ts->c.aq_len > 0 || ts->c.state != TCP_LISTEN;
}

static int tcp_accept_op(struct socket *s, struct socket **out, bool nonblock)
{
	struct tcp_sock *ts = SK(s);
	for (;;) {
		struct socket *ns = sock_alloc(AF_INET, SOCK_STREAM, IPPROTO_TCP);
		if (!ns)
			return -ENOMEM;
		uint64_t f = net_lock_irqsave();
		if (ts->c.state != TCP_LISTEN) {
			net_unlock_irqrestore(f);
			sock_put(ns);
			return -EINVAL;
		}
		struct tcp_conn *c = tcp_accept(&ts->c);
		if (c) {
			struct tcp_sock *cs = TS(c);
			cs->sock = ns;
			ns->pcb = cs;
			ns->ops = &tcp_ops;
			ns->destroy = tcp_destroy;
			ns->sndbuf = s->sndbuf;
			ns->rcvbuf = s->rcvbuf;
			ns->keepalive = s->keepalive;
			ns->linger_on = s->linger_on;
			ns->linger_s = s->linger_s;
			cs->bound = true;
			cs->connected = true;
			ns->error = c->error;   /* reset while queued: reported once */
			if (c->state == TCP_CLOSED) {
				/* reset before accept: the socket reports it */
			}
			net_unlock_irqrestore(f);
			*out = ns;
			return 0;
		}
		net_unlock_irqrestore(f);
		sock_put(ns);
		int r = sock_wait(s, accept_ready(ts), nonblock, sock_rcv_deadline(s));
		if (r < 0)
			return r;
	}
}

static bool can_write(struct tcp_sock *ts)
{
	struct tcp_conn *c = &ts->c;
	if (c->error || c->fin_queued || c->state == TCP_CLOSED)
		return true;
	if (c->state == TCP_SYN_SENT || c->state == TCP_SYN_RECEIVED)
		return false;
	return c->snd.size && c->snd.len < c->snd.size;
}

/* -errno when sending is impossible now, 0 when it may go on. */
static int send_state(struct tcp_sock *ts)
{
	struct tcp_conn *c = &ts->c;
	error_sync(ts);
	if (c->error)
		return -take_error(ts);
	if (c->fin_queued)
		return -EPIPE;
	switch (c->state) {
	case TCP_ESTABLISHED: case TCP_CLOSE_WAIT:
		return 0;
	case TCP_SYN_SENT: case TCP_SYN_RECEIVED:
		return 1;   /* wait for the handshake */
	default:
		/* Linux's sk_stream_wait_connect: EPIPE (and SIGPIPE) for any
		 * state but the handshake's, never-connected and listening
		 * sockets included */
		return -EPIPE;
	}
}

static ssize_t tcp_sendmsg(struct socket *s, struct sock_msg *m, int flags)
{
	struct tcp_sock *ts = SK(s);
	struct tcp_conn *c = &ts->c;
	struct uio *u = m->uio;
	bool nonblock = sock_nonblock(s, flags);
	bool more = flags & MSG_MORE;
	ssize_t sent = 0;
	if (mutex_lock_timeout(&ts->snd_mx, TIME_FOREVER, WQ_INTERRUPTIBLE) < 0)
		return -EINTR;
	for (;;) {
		uint64_t f = net_lock_irqsave();
		int st = send_state(ts);
		if (st < 0) {
			net_unlock_irqrestore(f);
			if (sent)
				break;
			mutex_unlock(&ts->snd_mx);
			return st;
		}
		struct tcp_iov v[2];
		uint32_t room = st == 0 ? tcp_snd_space(c, v) : 0;
		if (u->resid == 0) {
			net_unlock_irqrestore(f);
			break;
		}
		if (!room) {
			net_unlock_irqrestore(f);
			if (nonblock) {
				if (!sent)
					sent = -EAGAIN;
				break;
			}
			int r = sock_wait(s, can_write(ts), false, sock_snd_deadline(s));
			if (r < 0) {
				if (!sent)
					sent = r;
				break;
			}
			continue;
		}
		net_unlock_irqrestore(f);
		uint32_t n = room;
		if (n > u->resid)
			n = (uint32_t)u->resid;
		uint32_t a = n < v[0].len ? n : v[0].len;
		int r = uio_copy_in(u, (void *)v[0].base, a);
		if (r == 0 && n > a)
			r = uio_copy_in(u, (void *)v[1].base, n - a);
		if (r < 0) {
			if (!sent)
				sent = r;
			break;
		}
		f = net_lock_irqsave();
		tcp_snd_commit(c, n);
		sent += n;
		/* hold back a partial segment while the caller has more to write */
		tcp_push(c, more || u->resid > 0);
		net_unlock_irqrestore(f);
	}
	if (sent > 0 && !more) {
		uint64_t f = net_lock_irqsave();
		tcp_push(c, false);
		net_unlock_irqrestore(f);
	}
	mutex_unlock(&ts->snd_mx);
	return sent;
}

static bool can_read(struct tcp_sock *ts)
{
	struct tcp_conn *c = &ts->c;
	return c->rcv.len || c->rcv_fin || c->error || ts->shut_rd || c->state == TCP_CLOSED ||
	       c->state == TCP_LISTEN;
}

static ssize_t tcp_recvmsg(struct socket *s, struct sock_msg *m, int flags)
{
	struct tcp_sock *ts = SK(s);
	struct tcp_conn *c = &ts->c;
	struct uio *u = m->uio;
	bool nonblock = sock_nonblock(s, flags);
	bool peek = flags & MSG_PEEK;
	ssize_t copied = 0;
	size_t target = 1;
	if (flags & MSG_OOB)
		return -EINVAL;
	if (flags & MSG_WAITALL)
		target = u->resid;
	else if (s->rcvlowat > 1)
		target = (size_t)s->rcvlowat < u->resid ? (size_t)s->rcvlowat : u->resid;
	if (mutex_lock_timeout(&ts->rcv_mx, TIME_FOREVER, WQ_INTERRUPTIBLE) < 0)
		return -EINTR;
	m->namelen = 0;
	while (u->resid) {
		uint64_t f = net_lock_irqsave();
		struct tcp_iov v[2];
		uint32_t avail = c->rcv.size ? tcp_rcv_peek(c, v) : 0;
		if (!avail) {
			int r = 0;
			error_sync(ts);
			if (copied && (size_t)copied >= target)
				r = 1;
			else if (c->state == TCP_LISTEN)
				r = -ENOTCONN;
			else if (c->error) {
				r = copied ? 1 : -take_error(ts);
			} else if (c->rcv_fin || ts->shut_rd)
				r = 1;
			else if (c->state == TCP_CLOSED)
				r = ts->connect_started || c->established_once ? 1 : -ENOTCONN;
			else if (nonblock)
				r = copied ? 1 : -EAGAIN;
			net_unlock_irqrestore(f);
			if (r) {
				if (r < 0)
					copied = r;
				break;
			}
			r = sock_wait(s, can_read(ts), false, sock_rcv_deadline(s));
			if (r < 0) {
				if (!copied)
					copied = r;
				break;
			}
			continue;
		}
		net_unlock_irqrestore(f);
		uint32_t n = avail;
		if (n > u->resid)
			n = (uint32_t)u->resid;
		uint32_t a = n < v[0].len ? n : v[0].len;
		int r = uio_copy_out(u, v[0].base, a);
		if (r == 0 && n > a)
			r = uio_copy_out(u, v[1].base, n - a);
		if (r < 0) {
			if (!copied)
				copied = r;
			break;
		}
		copied += n;
		if (peek)
			break;
		f = net_lock_irqsave();
		tcp_rcv_consume(c, n);
		net_unlock_irqrestore(f);
		if ((size_t)copied >= target)
			break;
	}
	mutex_unlock(&ts->rcv_mx);
	return copied;
}

static int tcp_shutdown_op(struct socket *s, int how)
{
	struct tcp_sock *ts = SK(s);
	if (how < SHUT_RD || how > SHUT_RDWR)
		return -EINVAL;
	uint64_t f = net_lock_irqsave();
	struct tcp_conn *c = &ts->c;
	int r = 0;
	if (c->state == TCP_CLOSED || c->state == TCP_LISTEN) {
		if (c->state == TCP_LISTEN && how != SHUT_WR) {
			/* Linux: shutting a listener's reading side stops it */
			tcp_close(c);
			c->orphan = false;
			ports_del(ts);
			ts->bound = false;
		} else {
			/* Linux records the shutdown anyway: a read gives EOF */
			if (c->state == TCP_CLOSED && how != SHUT_WR)
				ts->shut_rd = true;
			r = -ENOTCONN;
		}
		net_unlock_irqrestore(f);
		sock_wake(s, EPOLLIN | EPOLLOUT | EPOLLHUP);
		return r;
	}
	if (how != SHUT_WR)
		ts->shut_rd = true;
	if (how != SHUT_RD)
		tcp_shutdown_wr(c);
	net_unlock_irqrestore(f);
	sock_wake(s, EPOLLIN | EPOLLOUT | EPOLLRDHUP);
	return 0;
}

static int tcp_getname(struct socket *s, void *addr, size_t *len, bool peer)
{
	struct tcp_sock *ts = SK(s);
	uint64_t f = net_lock_irqsave();
	struct tcp_conn *c = &ts->c;
	uint32_t ip;
	uint16_t port;
	int r = 0;
	if (peer) {
		bool conn = c->state != TCP_CLOSED && c->state != TCP_LISTEN && c->raddr;
		if (!conn && !(c->state == TCP_CLOSED && c->established_once && c->raddr))
			r = -ENOTCONN;
		ip = c->raddr;
		port = c->rport;
		if (c->state == TCP_CLOSED)
			r = -ENOTCONN;
	} else {
		ip = c->laddr ? c->laddr : ts->bind_addr;
		port = c->lport ? c->lport : ts->bind_port;
	}
	net_unlock_irqrestore(f);
	if (r < 0)
		return r;
	uint8_t tmp[16];
	size_t n = sockaddr_in_fill(tmp, ip, port);
	size_t copy = n < *len ? n : *len;
	memcpy(addr, tmp, copy);
	*len = n;
	return 0;
}

static uint32_t tcp_poll(struct socket *s, struct poll_table *pt)
{
	struct tcp_sock *ts = SK(s);
	poll_wait(pt, &s->ph);
	struct tcp_conn *c = &ts->c;
	enum tcp_state st = c->state;
	uint32_t m = 0;
	if (st == TCP_LISTEN)
		return c->aq_len ? EPOLLIN | EPOLLRDNORM : 0;
	/* a connection that ended (reset, refused, timed out, closed) is shut
	 * both ways, as Linux's tcp_done; a fresh socket is not */
	bool ended = st == TCP_CLOSED && (c->reset || ts->connect_started || c->established_once);
	bool rcv_shut = c->rcv_fin || ts->shut_rd || ended;
	bool snd_shut = c->fin_queued || ended;
	if ((rcv_shut && snd_shut) || st == TCP_CLOSED)
		m |= EPOLLHUP;
	if (rcv_shut)
		m |= EPOLLIN | EPOLLRDNORM | EPOLLRDHUP;
	if (st != TCP_SYN_SENT && st != TCP_SYN_RECEIVED) {
		if (c->rcv.len >= (uint32_t)(s->rcvlowat > 1 ? s->rcvlowat : 1))
			m |= EPOLLIN | EPOLLRDNORM;
		if (!snd_shut) {
			/* writable while a third of the buffer is free (Linux's
			 * sk_stream_wspace >= sk_stream_min_wspace) */
			uint32_t size = c->snd.size ? c->snd.size : c->sndbuf;
			uint32_t used = c->snd.len;
			if (size - used >= used / 2 && size > used)
				m |= EPOLLOUT | EPOLLWRNORM;
		} else {
			m |= EPOLLOUT | EPOLLWRNORM;
		}
	}
	if (__atomic_load_n(&s->error, __ATOMIC_ACQUIRE))
		m |= EPOLLERR;
	return m;
}

static long tcp_ioctl(struct socket *s, unsigned long cmd, unsigned long arg)
{
	struct tcp_sock *ts = SK(s);
	int v;
	uint64_t f = net_lock_irqsave();
	struct tcp_conn *c = &ts->c;
	switch (cmd) {
	case FIONREAD:
		v = c->state == TCP_LISTEN ? -1 : (int)c->rcv.len;
		break;
	case SIOCOUTQ:
		v = c->state == TCP_LISTEN ? -1 : (int)c->snd.len;
		break;
	case SIOCOUTQNSD:
		v = c->state == TCP_LISTEN ? -1 :
		    (int)(c->snd.len - (c->snd_nxt - c->snd_una < c->snd.len ? c->snd_nxt - c->snd_una : c->snd.len));
		break;
	default:
		net_unlock_irqrestore(f);
		return -ENOTTY;
	}
	net_unlock_irqrestore(f);
	if (v < 0)
		return -EINVAL;
	return copy_to_user((void *)arg, &v, sizeof(v)) ? -EFAULT : 0;
}

static int int_val(const void *val, size_t len, int *out)
{
	if (len < sizeof(int))
		return -EINVAL;
	memcpy(out, val, sizeof(int));
	return 0;
}

static int tcp_setsockopt(struct socket *s, int level, int name, const void *val, size_t len)
{
	struct tcp_sock *ts = SK(s);
	struct tcp_conn *c = &ts->c;
	int v = 0, r = 0;
	if (level == SOL_IP)
		return inet_setsockopt(&ts->inet, name, val, len);
	if (level == SOL_SOCKET) {
		uint64_t f = net_lock_irqsave();
		switch (name) {
		case SO_KEEPALIVE:
			c->keepalive = s->keepalive;
			tcp_keepalive_update(c);
			break;
		case SO_LINGER:
			c->linger_on = s->linger_on;
			c->linger_s = (unsigned)s->linger_s;
			break;
		case SO_SNDBUF: case SO_SNDBUFFORCE:
			if (!c->snd.size)
				c->sndbuf = (uint32_t)s->sndbuf;
			break;
		case SO_RCVBUF: case SO_RCVBUFFORCE:
			if (!c->rcv.size)
				c->rcvbuf = (uint32_t)s->rcvbuf;
			break;
		default:
			/* socket.c passes those it stored (ignoring
			 * ENOPROTOOPT) and those it does not know (the
			 * answer then): nothing TCP-specific at SOL_SOCKET */
			r = -ENOPROTOOPT;
			break;
		}
		sync_opts(ts, s);
		timer_sync(ts);
		net_unlock_irqrestore(f);
		return r;
	}
	if (level != SOL_TCP)
		return -ENOPROTOOPT;
	switch (name) {
	case TCP_CONGESTION: {
		bool reno = len >= 4 && !memcmp(val, "reno", 4) && (len == 4 || !((const char *)val)[4]);
		bool cubic = len >= 5 && !memcmp(val, "cubic", 5) && (len == 5 || !((const char *)val)[5]);
		if (!reno && !cubic)
			return -ENOENT;
		uint64_t f = net_lock_irqsave();
		c->cubic = cubic;
		net_unlock_irqrestore(f);
		return 0;
	}
	default:
		if (int_val(val, len, &v))
			return -EINVAL;
	}
	uint64_t f = net_lock_irqsave();
	switch (name) {
	case TCP_NODELAY:
		c->nodelay = v != 0;
		if (c->nodelay)
			tcp_push(c, false);
		break;
	case TCP_CORK:
		c->cork = v != 0;
		if (!c->cork)
			tcp_push(c, false);
		break;
	case TCP_MAXSEG:
		if (v && (v < 88 || v > 32767))
			r = -EINVAL;
		else
			c->user_mss = (unsigned)v;
		break;
	case TCP_KEEPIDLE: case TCP_KEEPINTVL:
		if (v < 1 || v > 32767) {
			r = -EINVAL;
			break;
		}
		if (name == TCP_KEEPIDLE)
			c->ka_idle_s = (unsigned)v;
		else
			c->ka_intvl_s = (unsigned)v;
		tcp_keepalive_update(c);
		break;
	case TCP_KEEPCNT:
		if (v < 1 || v > 127)
			r = -EINVAL;
		else
			c->ka_cnt = (unsigned)v;
		break;
	case TCP_QUICKACK:
		if (v)
			tcp_ack_now(c);
		break;
	case TCP_SYNCNT:
		if (v < 1 || v > 127)
			r = -EINVAL;
		break;
	case TCP_DEFER_ACCEPT: case TCP_FASTOPEN: case TCP_FASTOPEN_CONNECT: case TCP_LINGER2:
	case TCP_WINDOW_CLAMP: case TCP_USER_TIMEOUT: case TCP_NOTSENT_LOWAT:
		break;   /* accepted, without effect */
	default:
		r = -ENOPROTOOPT;
	}
	timer_sync(ts);
	net_unlock_irqrestore(f);
	return r;
}

/* Linux's TCP state numbers (TCP_INFO, /proc/net/tcp). */
static uint8_t linux_state(enum tcp_state s)
{
	static const uint8_t map[] = {
		[TCP_CLOSED] = 7, [TCP_LISTEN] = 10, [TCP_SYN_SENT] = 2, [TCP_SYN_RECEIVED] = 3,
		[TCP_ESTABLISHED] = 1, [TCP_FIN_WAIT_1] = 4, [TCP_FIN_WAIT_2] = 5,
		[TCP_CLOSE_WAIT] = 8, [TCP_CLOSING] = 11, [TCP_LAST_ACK] = 9, [TCP_TIME_WAIT] = 6,
	};
	return map[s];
}

/* struct tcp_info as Linux lays it out (up to tcpi_snd_wnd). */
struct linux_tcp_info {
	uint8_t state, ca_state, retransmits, probes, backoff, options, wscale, flags;
	uint32_t rto, ato, snd_mss, rcv_mss;
	uint32_t unacked, sacked, lost, retrans, fackets;
	uint32_t last_data_sent, last_ack_sent, last_data_recv, last_ack_recv;
	uint32_t pmtu, rcv_ssthresh, rtt, rttvar, snd_ssthresh, snd_cwnd, advmss, reordering;
	uint32_t rcv_rtt, rcv_space;
	uint32_t total_retrans;
	uint64_t pacing_rate, max_pacing_rate, bytes_acked, bytes_received;
	uint32_t segs_out, segs_in;
	uint32_t notsent_bytes, min_rtt, data_segs_in, data_segs_out;
	uint64_t delivery_rate;
	uint64_t busy_time, rwnd_limited, sndbuf_limited;
	uint32_t delivered, delivered_ce;
	uint64_t bytes_sent, bytes_retrans;
	uint32_t dsack_dups, reord_seen;
	uint32_t rcv_ooopack;
	uint32_t snd_wnd;
} __attribute__((packed, aligned(8)));

static void fill_info(struct tcp_sock *ts, struct linux_tcp_info *i)
{
	struct tcp_conn *c = &ts->c;
	uint64_t now = net_now_ns() / 1000;
	memset(i, 0, sizeof(*i));
	/* Linux hands a socket's TIME_WAIT to a mini-socket: its owner sees CLOSE */
	i->state = c->state == TCP_TIME_WAIT ? 7 : linux_state(c->state);
	i->ca_state = c->in_recovery ? 3 : 0;
	i->retransmits = (uint8_t)c->retries;
	i->probes = (uint8_t)c->probes;
	i->backoff = (uint8_t)c->backoff;
	i->options = (c->ts_ok ? 1 : 0) | (c->sack_ok ? 2 : 0) | (c->ws_ok ? 4 : 0);
	i->wscale = (uint8_t)((c->snd_wscale & 15) | (c->rcv_wscale << 4));
	i->rto = c->rto_us;
	i->ato = TCP_DELACK_US;
	i->snd_mss = c->mss ? c->mss : TCP_DEFAULT_MSS;
	i->rcv_mss = c->rcv_mss ? c->rcv_mss : TCP_DEFAULT_MSS;
	uint32_t mss = i->snd_mss;
	i->unacked = (c->snd_max - c->snd_una + mss - 1) / mss;
	i->sacked = c->sacked_bytes / mss;
	i->retrans = 0;
	i->last_data_sent = (uint32_t)((now - c->last_snd_us) / 1000);
	i->last_data_recv = (uint32_t)((now - c->last_rcv_us) / 1000);
	i->last_ack_recv = i->last_data_recv;
	i->pmtu = c->mtu;
	i->rcv_ssthresh = tcp_rcv_window(c);
	i->rtt = c->srtt_us;
	i->rttvar = c->rttvar_us;
	i->snd_ssthresh = c->ssthresh >= 0x7fffffff ? 0x7fffffff : c->ssthresh / mss;
	i->snd_cwnd = c->cwnd / mss;
	i->advmss = c->adv_mss;
	i->reordering = 3;
	i->rcv_space = c->rcv.size;
	i->total_retrans = c->total_retrans;
	i->bytes_acked = c->bytes_sent - (c->snd_max - c->snd_una);
	i->bytes_received = c->bytes_received;
	i->bytes_sent = c->bytes_sent;
	i->segs_out = (uint32_t)c->stat_out_segs;
	i->segs_in = (uint32_t)c->stat_in_segs;
	i->min_rtt = c->min_rtt_us;
	i->notsent_bytes = c->snd.len - (c->snd_nxt - c->snd_una < c->snd.len ? c->snd_nxt - c->snd_una : c->snd.len);
	i->snd_wnd = c->snd_wnd;
}

static int put_int(void *val, size_t *len, int v)
{
	if (*len >= sizeof(int)) {
		memcpy(val, &v, sizeof(int));
		*len = sizeof(int);
	} else if (*len >= 1) {
		*(uint8_t *)val = (uint8_t)v;
		*len = 1;
	} else {
		return -EINVAL;
	}
	return 0;
}

static int tcp_getsockopt(struct socket *s, int level, int name, void *val, size_t *len)
{
	struct tcp_sock *ts = SK(s);
	struct tcp_conn *c = &ts->c;
	if (level == SOL_IP) {
		if (name == 14 /* IP_MTU */) {
			if (!tcp_synchronized(c))
				return -ENOTCONN;
			return put_int(val, len, (int)c->mtu);
		}
		return inet_getsockopt(&ts->inet, name, val, len);
	}
	if (level == SOL_SOCKET)
		return -ENOPROTOOPT;
	if (level != SOL_TCP)
		return -ENOPROTOOPT;
	int v;
	switch (name) {
	case TCP_NODELAY: v = c->nodelay; break;
	case TCP_CORK: v = c->cork; break;
	case TCP_MAXSEG:
		v = c->mss ? c->mss : (c->user_mss ? (int)c->user_mss : TCP_DEFAULT_MSS);
		break;
	case TCP_KEEPIDLE: v = (int)c->ka_idle_s; break;
	case TCP_KEEPINTVL: v = (int)c->ka_intvl_s; break;
	case TCP_KEEPCNT: v = (int)c->ka_cnt; break;
	case TCP_SYNCNT: v = TCP_SYN_RETRIES; break;
	case TCP_QUICKACK: v = c->quickacks > 0; break;
	case TCP_DEFER_ACCEPT: case TCP_FASTOPEN: case TCP_USER_TIMEOUT: case TCP_NOTSENT_LOWAT:
		v = 0;
		break;
	case TCP_LINGER2: v = (int)(TCP_FIN_TIMEOUT_US / 1000000); break;
	case TCP_WINDOW_CLAMP: v = (int)(c->rcv.size ? c->rcv.size : c->rcvbuf); break;
	case TCP_CONGESTION: {
		char name_[16] = { 0 };
		memcpy(name_, c->cubic ? "cubic" : "reno", c->cubic ? 5 : 4);
		size_t n = *len < sizeof(name_) ? *len : sizeof(name_);
		memcpy(val, name_, n);
		*len = n;
		return 0;
	}
	case TCP_INFO: {
		struct linux_tcp_info i;
		uint64_t f = net_lock_irqsave();
		fill_info(ts, &i);
		net_unlock_irqrestore(f);
		size_t n = *len < sizeof(i) ? *len : sizeof(i);
		memcpy(val, &i, n);
		*len = n;
		return 0;
	}
	default:
		return -ENOPROTOOPT;
	}
	return put_int(val, len, v);
}

/* SO_LINGER with a timeout: close waits until what was sent is
 * acknowledged, FIN included (or the time runs out). */
static bool linger_done(struct tcp_sock *ts)
{
	struct tcp_conn *c = &ts->c;
	return c->state == TCP_CLOSED || c->state == TCP_TIME_WAIT || c->state == TCP_FIN_WAIT_2 ||
	       c->state == TCP_LISTEN;
}

static void tcp_release(struct socket *s)
{
	struct tcp_sock *ts = SK(s);
	uint64_t f = net_lock_irqsave();
	sync_opts(ts, s);
	struct tcp_conn *c = &ts->c;
	bool linger = s->linger_on && s->linger_s > 0 && c->state != TCP_LISTEN &&
		      c->state != TCP_CLOSED;
	if (linger) {
		/* the socket stays attached (so events wake us) while we wait */
		tcp_close(c);
		net_unlock_irqrestore(f);
		uint64_t deadline = net_now_ns() + (uint64_t)s->linger_s * 1000000000ull;
		(void)sock_wait(s, linger_done(ts), false, deadline);
		f = net_lock_irqsave();
	}
	ts->sock = NULL;
	s->pcb = NULL;
	if (c->state == TCP_CLOSED) {
		if (!c->parent)
			tcp_sock_free(ts);
	} else if (c->state == TCP_TIME_WAIT) {
		/* nobody reads or writes any more: 30 s without the rings */
		c->orphan = true;
		tcp_conn_free_rings(c);
	} else if (!linger) {
		tcp_close(c);   /* may free ts (TCP_EV_CLOSED) */
	}
	net_unlock_irqrestore(f);
	sock_put(s);
}

static const struct sock_ops tcp_ops = {
	.bind = tcp_bind,
	.connect = tcp_connect_op,
	.listen = tcp_listen_op,
	.accept = tcp_accept_op,
	.sendmsg = tcp_sendmsg,
	.recvmsg = tcp_recvmsg,
	.shutdown = tcp_shutdown_op,
	.getname = tcp_getname,
	.setsockopt = tcp_setsockopt,
	.getsockopt = tcp_getsockopt,
	.poll = tcp_poll,
	.ioctl = tcp_ioctl,
	.release = tcp_release,
};

/* ---- the program's exit ------------------------------------------------------- */

/*
 * The program's exit ends the machine, and with it whatever TCP had not
 * delivered: a server's last response, a client's upload (`nc host port <
 * file`). So the exit does what Linux's would, then waits for it: the
 * descriptors close (TCP sockets become orphans that send their FIN after
 * their data, or a RST with unread data, as close does), and the exit waits
 * until the peers acknowledged everything, bounded by net.drain_ms= (5000
 * by default, 0: no wait). Nothing to deliver, no wait, descriptors
 * untouched.
 */
#define DRAIN_MS_DEFAULT 5000

extern struct cmdline kernel_cmdline;

/* A connection the exit waits for. net_lock held. */
static bool drain_pending(struct tcp_sock *ts, bool closed)
{
	struct tcp_conn *c = &ts->c;
	if (c->parent)
		return false;      /* never accepted: the application wrote nothing */
	switch (c->state) {
	case TCP_ESTABLISHED: case TCP_CLOSE_WAIT: case TCP_FIN_WAIT_1:
	case TCP_CLOSING: case TCP_LAST_ACK:
		/* after the close, a socket still attached is held by a
		 * call blocked in another thread: its data, not a FIN */
		return !closed || !ts->sock || c->snd.len;
	default:
		/* listeners, handshakes, FIN_WAIT_2 (our FIN acknowledged),
		 * TIME_WAIT, closed */
		return false;
	}
}

static unsigned drain_count(bool closed)
{
	unsigned n = 0;
	uint64_t f = net_lock_irqsave();
	for (struct tcp_sock *ts = all_socks; ts; ts = ts->anext)
		n += drain_pending(ts, closed);
	net_unlock_irqrestore(f);
	return n;
}

static void tcp_exit_drain(void *arg)
{
	(void)arg;
	if (!drain_count(false))
		return;
	uint64_t limit_ms = DRAIN_MS_DEFAULT;
	const char *v = cmdline_get(&kernel_cmdline, "net.drain_ms");
	if (v && !parse_u64(v, &limit_ms))
		limit_ms = DRAIN_MS_DEFAULT;
	if (!limit_ms)
		return;
	uint64_t t0 = net_now_ns(), deadline = t0 + limit_ms * 1000000ull;
	fd_close_range(0, ~0u, 0);
	unsigned n;
	while ((n = drain_count(true)) && net_now_ns() < deadline)
		/* 1 ms steps (a slirp round trip is tens of us), not
		 * interruptible: a pending signal must not make this spin */
		thread_sleep_until(net_now_ns() + 1000000, false);
	uint64_t us = (net_now_ns() - t0) / 1000;
	if (n)
		pr_warn("net: exit: gave up after %lu ms with %u TCP connection%s still sending",
			(unsigned long)(us / 1000), n, n == 1 ? "" : "s");
	else
		pr_info("net: exit: TCP delivered what it held in %lu.%03lu ms",
			(unsigned long)(us / 1000), (unsigned long)(us % 1000));
}

static struct exit_hook drain_hook = { .name = "tcp", .run = tcp_exit_drain };

static void tcp_init_once(void)
{
	if (tcp_ready)
		return;
	env.now_us = env_now;
	env.output = env_output;
	env.event = env_event;
	env.alloc = env_alloc;
	env.free = env_free;
	env.random = env_random;
	env.spawn = env_spawn;
	env.reply = env_reply;
	env.isn_secret = env_random(NULL) ^ (uint32_t)(net_now_ns() * 2654435761u);
	exit_hook_add(&drain_hook);
	tcp_ready = true;
}

int tcp_sock_create(struct socket *s, int protocol)
{
	(void)protocol;
	uint64_t f = net_lock_irqsave();
	tcp_init_once();
	struct tcp_sock *ts = tcp_sock_new();
	if (!ts) {
		net_unlock_irqrestore(f);
		return -ENOMEM;
	}
	ts->sock = s;
	/* Linux's initial tcp_wmem[1]/tcp_rmem[1], what getsockopt reports
	 * before autotuning grows them. wisp has no autotuning: the rings
	 * stay at TCP_RING_DEFAULT (tcp.c) unless the application sets
	 * SO_SNDBUF/SO_RCVBUF, which then size them as on Linux (locked) */
	s->sndbuf = TCP_WMEM_DEFAULT;
	s->rcvbuf = TCP_RMEM_DEFAULT;
	sync_opts(ts, s);
	net_unlock_irqrestore(f);
	s->pcb = ts;
	s->ops = &tcp_ops;
	s->destroy = tcp_destroy;
	return 0;
}

/* ---- /proc/net/tcp ------------------------------------------------------------ */

size_t tcp_proc_net(char *buf, size_t len)
{
	size_t n = 0;
	char line[160];
#define EMIT(...) do {                                                  \
		int k_ = snprintf(line, sizeof(line), __VA_ARGS__);             \
		if (k_ > 0) {                                                   \
			if (n < len)                                            \
				memcpy(buf + n, line, (size_t)k_ < len - n ? (size_t)k_ : len - n); \
			n += (size_t)k_;                                        \
		}                                                               \
	} while (0)
	EMIT("  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt"
	     "   uid  timeout inode                                                     \n");
	uint64_t f = net_lock_irqsave();
	unsigned sl = 0;
	uint64_t now = net_now_ns() / 1000;
	for (struct tcp_sock *ts = all_socks; ts; ts = ts->anext) {
		struct tcp_conn *c = &ts->c;
		if (c->state == TCP_CLOSED && !ts->bound)
			continue;
		if (c->state == TCP_CLOSED)
			continue;
		uint32_t la = c->laddr ? c->laddr : ts->bind_addr;
		uint16_t lp = c->lport ? c->lport : ts->bind_port;
		int tr = 0;
		uint64_t when = 0;
		if (c->rto_at) { tr = 1; when = c->rto_at; }
		else if (c->persist_at) { tr = 4; when = c->persist_at; }
		else if (c->tw_at) { tr = 3; when = c->tw_at; }
		else if (c->ka_at) { tr = 2; when = c->ka_at; }
		unsigned long jif = when > now ? (unsigned long)((when - now) / 10000) : 0;
		unsigned rxq = c->state == TCP_LISTEN ? c->aq_len : c->rcv.len;
		unsigned txq = c->state == TCP_LISTEN ? c->backlog : c->snd.len;
		int ssth = c->ssthresh >= 0x7fffffff ? -1 : (int)(c->ssthresh / (c->mss ? c->mss : 1));
		EMIT("%4u: %08X:%04X %08X:%04X %02X %08X:%08X %02X:%08lX %08X %5u %8d %lu %d %016lx %u %u %u %u %d\n",
		     sl++, __builtin_bswap32(la), lp, __builtin_bswap32(c->raddr), c->rport,
		     linux_state(c->state), txq, rxq, tr, jif, c->retries, 0u, 0, 0ul,
		     ts->sock ? 1 : 0, (unsigned long)0, c->rto_us / 10000, 0u,
		     (c->cwnd && c->mss) ? c->cwnd / c->mss : 10u, ssth, 0);
	}
	net_unlock_irqrestore(f);
#undef EMIT
	return n;
}
