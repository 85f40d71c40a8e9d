/* TCP state machine (kernel/net/tcp.c) under ASan/UBSan: scripted segment
 * exchanges with the test playing the peer (handshakes both ways,
 * simultaneous open and close, data in order, out of order, duplicated,
 * overlapping, RST in every state, challenge ACKs, zero windows, RTO with
 * backoff, fast retransmit, SACK-driven retransmission, TIME_WAIT,
 * keep-alive, backlog overflow), then two instances over a simulated lossy,
 * reordering link moving megabytes, then random segments into every state. */
#include "check.h"
#include <stdint.h>
#include <stdlib.h>
#include "../../kernel/net/checksum.c"
#include "../../kernel/net/packet.c"
#include "../../kernel/net/tcp.c"

#define A_IP IP4(10, 0, 0, 1)
#define B_IP IP4(10, 0, 0, 2)
#define MS 1000ull
#define SEC 1000000ull

static uint64_t now_us = 1000 * SEC;
static uint32_t rng = 12345;
static uint32_t xr(void)
{
	rng ^= rng << 13; rng ^= rng >> 17; rng ^= rng << 5;
	return rng;
}

/* Every connection the tests make, with the events it got. */
struct tconn {
	struct tcp_conn c;
	unsigned ev;
	bool closed, freed;
	bool poison;   /* on TCP_EV_CLOSED: free the rings and poison the connection, as
			* the kernel frees an orphan then: any later use crashes */
	unsigned nclosed;
};
#define MAXC 64
static struct tconn *conns[MAXC];
static int nconns;

/* Captured or in-flight segments. */
struct pkt {
	uint32_t src, dst;
	uint64_t at;
	size_t len;
	uint8_t *buf;
};
#define QMAX 4096
static struct pkt q[QMAX];
static int qn;
static bool link_mode;   /* outputs go to the simulated link (else captured) */
static int loss_pct, reorder_pct, dup_pct;
static uint64_t delay_us = 1000;
static uint64_t tso_seen;
static bool reorder_fixed;
static bool link_cubic = true;   /* test_link: CUBIC on both ends (else NewReno) */   /* net_relay.py's model: held back delay + 5 ms */

static struct tconn *T(struct tcp_conn *c) { return (struct tconn *)c; }

static uint64_t env_now(void *ctx) { (void)ctx; return now_us; }
static uint32_t env_random(void *ctx) { (void)ctx; return xr(); }
static void *env_alloc(void *ctx, size_t n) { (void)ctx; return malloc(n); }
static void env_free(void *ctx, void *p, size_t n) { (void)ctx; (void)n; free(p); }
static void env_event(void *ctx, struct tcp_conn *c, unsigned ev)
{
	(void)ctx;
	struct tconn *t = T(c);
	CHECK(!t->freed);   /* no event after the end */
	t->ev |= ev;
	if (ev & TCP_EV_CLOSED) {
		t->closed = true;
		t->nclosed++;
		if (t->poison && !c->parent && c->state != TCP_LISTEN) {
			tcp_conn_free_rings(c);
			memset(c, 0xa5, sizeof(*c));
			t->freed = true;
		}
	}
}

static void enqueue(uint32_t src, uint32_t dst, const uint8_t *seg, size_t len)
{
	if (qn == QMAX)
		return;
	struct pkt *p = &q[qn++];
	p->src = src;
	p->dst = dst;
	p->len = len;
	p->buf = malloc(len);
	memcpy(p->buf, seg, len);
	p->at = now_us + delay_us;
	if (link_mode && reorder_pct && (int)(xr() % 100) < reorder_pct)
		p->at += reorder_fixed ? delay_us + 5000 : xr() % (3 * delay_us);
}

static void emit(uint32_t src, uint32_t dst, uint8_t *seg, size_t len)
{
	put_be16(seg + 16, 0);
	put_be16(seg + 16, csum_fold(csum_add(csum_pseudo(src, dst, IPPROTO_TCP, (uint16_t)len), seg, len)));
	if (link_mode) {
		if ((int)(xr() % 100) < loss_pct)
			return;
		if ((int)(xr() % 100) < dup_pct)
			enqueue(src, dst, seg, len);
	}
	enqueue(src, dst, seg, len);
}

static int env_output(void *ctx, struct tcp_conn *c, uint8_t *hdr, unsigned hlen,
		      const struct tcp_iov *pl, int npl, unsigned tso)
{
	(void)ctx;
	size_t total = hlen;
	for (int i = 0; i < npl; i++)
		total += pl[i].len;
	CHECK(hlen >= 20 && hlen <= 60 && hlen % 4 == 0);
	if (tso) {
		/* cut like a device would: header copies, seq advanced, FIN/PSH on the last */
		tso_seen++;
		uint8_t *flat = malloc(total);
		size_t off = hlen;
		for (int i = 0; i < npl; i++) {
			memcpy(flat + off, pl[i].base, pl[i].len);
			off += pl[i].len;
		}
		size_t data = total - hlen;
		uint32_t seq = get_be32(hdr + 4);
		for (size_t d = 0; d < data; d += tso) {
			size_t n = data - d < tso ? data - d : tso;
			uint8_t *seg = malloc(hlen + n);
			memcpy(seg, hdr, hlen);
			put_be32(seg + 4, seq + (uint32_t)d);
			if (d + n < data)
				seg[13] &= (uint8_t)~(TCP_FIN | TCP_PSH);
			memcpy(seg + hlen, flat + hlen + d, n);
			emit(c->laddr, c->raddr, seg, hlen + n);
			free(seg);
		}
		free(flat);
		return 0;
	}
	uint8_t *seg = malloc(total);
	memcpy(seg, hdr, hlen);
	size_t off = hlen;
	for (int i = 0; i < npl; i++) {
		memcpy(seg + off, pl[i].base, pl[i].len);
		off += pl[i].len;
	}
	emit(c->laddr, c->raddr, seg, total);
	free(seg);
	return 0;
}

static struct tconn *new_conn(void);
static bool spawn_poison;
static struct tcp_conn *env_spawn(void *ctx, struct tcp_conn *l, uint32_t la, uint16_t lp,
				  uint32_t ra, uint16_t rp)
{
	(void)ctx; (void)l;
	struct tconn *t = new_conn();
	if (!t)
		return NULL;
	t->c.laddr = la; t->c.lport = lp; t->c.raddr = ra; t->c.rport = rp;
	t->poison = spawn_poison;
	return &t->c;
}

static int env_reply(void *ctx, uint32_t src, uint32_t dst, uint8_t *hdr, unsigned hlen)
{
	(void)ctx;
	emit(src, dst, hdr, hlen);
	return 0;
}

static struct tcp_env env = {
	.now_us = env_now, .output = env_output, .event = env_event, .alloc = env_alloc,
	.free = env_free, .random = env_random, .spawn = env_spawn, .reply = env_reply,
	.isn_secret = 0x5eed,
};

static int max_spawn = MAXC;
static struct tconn *new_conn(void)
{
	if (nconns >= MAXC || nconns >= max_spawn)
		return NULL;
	struct tconn *t = calloc(1, sizeof(*t));
	tcp_conn_init(&t->c, &env);
	conns[nconns++] = t;
	return t;
}

static void reset_world(void)
{
	for (int i = 0; i < nconns; i++) {
		if (!conns[i]->freed)
			tcp_conn_free_rings(&conns[i]->c);
		free(conns[i]);
	}
	nconns = 0;
	for (int i = 0; i < qn; i++)
		free(q[i].buf);
	qn = 0;
	link_mode = false;
	loss_pct = reorder_pct = dup_pct = 0;
	max_spawn = MAXC;
}

/* Pops the oldest captured segment (parsed), false when none. */
static uint8_t *last_buf;
static bool pop(struct tcp_info *t)
{
	if (!qn)
		return false;
	free(last_buf);
	last_buf = q[0].buf;
	CHECK(tcp_parse(q[0].buf, q[0].len, q[0].src, q[0].dst, t) == NET_OK);
	memmove(q, q + 1, sizeof(q[0]) * (size_t)(--qn));
	return true;
}

static void drain(void)
{
	struct tcp_info t;
	while (pop(&t))
		;
}

/* The peer's segment into c. */
static bool inject(struct tcp_conn *c, uint32_t seq, uint32_t ack, uint8_t flags, uint16_t win,
		   const void *data, size_t len, const struct tcp_opts *o)
{
	uint8_t buf[2048 + 60];
	struct tcp_info t = { .sport = c->rport ? c->rport : 4000, .dport = c->lport, .seq = seq,
			      .ack = ack, .flags = flags, .window = win };
	if (o)
		t.opts = *o;
	size_t ol = tcp_opts_len(&t.opts);
	if (len)
		memcpy(buf + TCP_HLEN + ol, data, len);
	uint32_t src = c->raddr ? c->raddr : B_IP, dst = c->laddr ? c->laddr : A_IP;
	size_t hl = tcp_build(buf, &t, src, dst, len);
	struct tcp_info in;
	CHECK(tcp_parse(buf, hl + len, src, dst, &in) == NET_OK);
	return tcp_input_seg(c, src, dst, &in);
}

/* ---- scripted tests: our conn is the client A:1000, peer B:80 ---- */

static uint32_t peer_iss = 5000;

static struct tconn *open_active(bool opts_on)
{
	struct tconn *a = new_conn();
	a->c.laddr = A_IP; a->c.lport = 1000; a->c.raddr = B_IP; a->c.rport = 80;
	CHECK(tcp_connect(&a->c) == 0);
	struct tcp_info s;
	CHECK(pop(&s));
	CHECK(s.flags == TCP_SYN && s.opts.has_mss && s.opts.sack_ok && s.opts.has_ts &&
	      s.opts.has_wscale && s.opts.wscale == TCP_RCV_WSCALE);
	CHECK(a->c.state == TCP_SYN_SENT);
	struct tcp_opts o = { .has_mss = true, .mss = 1460 };
	if (opts_on) {
		o.has_wscale = true; o.wscale = 2; o.sack_ok = true; o.has_ts = true;
		o.tsval = 100; o.tsecr = s.opts.tsval;
	}
	now_us += 10 * MS;
	inject(&a->c, peer_iss, s.seq + 1, TCP_SYN | TCP_ACK, 16384, NULL, 0, &o);
	CHECK(a->c.state == TCP_ESTABLISHED);
	CHECK(a->ev & TCP_EV_CONNECTED);
	CHECK(pop(&s) && s.flags == TCP_ACK && s.ack == peer_iss + 1);
	CHECK(a->c.ts_ok == opts_on && a->c.sack_ok == opts_on && a->c.ws_ok == opts_on);
	CHECK(a->c.srtt_us >= 9 * MS && a->c.srtt_us <= 11 * MS);
	CHECK(a->c.mss == (opts_on ? 1448 : 1460));
	return a;
}

static uint32_t write_data(struct tcp_conn *c, const uint8_t *d, uint32_t n)
{
	struct tcp_iov v[2];
	uint32_t room = tcp_snd_space(c, v);
	if (n > room)
		n = room;
	uint32_t a = n < v[0].len ? n : v[0].len;
	memcpy((void *)v[0].base, d, a);
	if (n > a)
		memcpy((void *)v[1].base, d + a, n - a);
	tcp_snd_commit(c, n);
	return n;
}

static uint32_t read_data(struct tcp_conn *c, uint8_t *d, uint32_t n)
{
	struct tcp_iov v[2];
	uint32_t have = tcp_rcv_peek(c, v);
	if (n > have)
		n = have;
	if (!n)
		return 0;
	uint32_t a = n < v[0].len ? n : v[0].len;
	memcpy(d, v[0].base, a);
	if (n > a)
		memcpy(d + a, v[1].base, n - a);
	tcp_rcv_consume(c, n);
	return n;
}

static void test_active_open(void)
{
	reset_world();
	struct tconn *a = open_active(true);
	/* send data: one segment with PSH, timestamps */
	uint8_t d[3000];
	for (int i = 0; i < 3000; i++)
		d[i] = (uint8_t)i;
	CHECK(write_data(&a->c, d, 100) == 100);
	tcp_push(&a->c, false);
	struct tcp_info s;
	CHECK(pop(&s) && s.payload_len == 100 && (s.flags & TCP_PSH) && s.opts.has_ts &&
	      s.opts.tsecr == 100);
	/* Nagle: a second small write waits for the ACK */
	write_data(&a->c, d, 10);
	tcp_push(&a->c, false);
	CHECK(qn == 0);
	uint32_t iss = a->c.iss;
	struct tcp_opts o = { .has_ts = true, .tsval = 101, .tsecr = 1 };
	inject(&a->c, peer_iss + 1, iss + 101, TCP_ACK, 4096, NULL, 0, &o);
	CHECK(pop(&s) && s.payload_len == 10 && s.seq == iss + 101);
	CHECK(a->c.snd_wnd == 4096u << 2);
	/* TCP_NODELAY sends at once */
	a->c.nodelay = true;
	write_data(&a->c, d, 5);
	tcp_push(&a->c, false);
	CHECK(pop(&s) && s.payload_len == 5);
	/* cork holds partial segments, uncork flushes */
	inject(&a->c, peer_iss + 1, iss + 116, TCP_ACK, 4096, NULL, 0, &o);
	a->c.cork = true;
	write_data(&a->c, d, 7);
	tcp_push(&a->c, false);
	CHECK(qn == 0);
	a->c.cork = false;
	tcp_push(&a->c, false);
	CHECK(pop(&s) && s.payload_len == 7);
	/* MSG_MORE holds too */
	inject(&a->c, peer_iss + 1, iss + 123, TCP_ACK, 4096, NULL, 0, &o);
	write_data(&a->c, d, 9);
	tcp_push(&a->c, true);
	CHECK(qn == 0);
	tcp_push(&a->c, false);
	CHECK(pop(&s) && s.payload_len == 9);
	/* full segments go out even with data in flight */
	write_data(&a->c, d, 3000);
	tcp_push(&a->c, false);
	CHECK(pop(&s) && s.payload_len == 1448 && pop(&s) && s.payload_len == 1448);
	CHECK(pop(&s) && s.payload_len == 104);   /* nodelay */
	CHECK(!pop(&s));
	/* after an idle RTO, a grown window starts again at 10 segments */
	inject(&a->c, peer_iss + 1, a->c.snd_max, TCP_ACK, 65535, NULL, 0, &o);
	a->c.cwnd = 50u * a->c.mss;
	now_us += a->c.rto_us + 1;
	write_data(&a->c, d, 100);
	tcp_push(&a->c, false);
	CHECK(a->c.cwnd == TCP_INIT_CWND * a->c.mss);
	drain();
}

static void test_passive_open(void)
{
	reset_world();
	struct tconn *l = new_conn();
	l->c.laddr = 0; l->c.lport = 80;
	tcp_listen(&l->c, 2);
	struct tcp_opts o = { .has_mss = true, .mss = 1000, .sack_ok = true, .has_ts = true,
			      .tsval = 7, .has_wscale = true, .wscale = 7 };
	struct tcp_conn fake = { .lport = 80, .laddr = A_IP, .raddr = B_IP, .rport = 4000 };
	(void)fake;
	/* an ACK to a listener: RST */
	CHECK(inject(&l->c, 1, 1, TCP_ACK, 100, NULL, 0, NULL));
	/* RST to a listener: ignored */
	CHECK(!inject(&l->c, 1, 1, TCP_RST, 100, NULL, 0, NULL));
	CHECK(!inject(&l->c, 700, 0, TCP_SYN, 65535, NULL, 0, &o));
	CHECK(nconns == 2);
	struct tconn *ch = conns[1];
	CHECK(ch->c.state == TCP_SYN_RECEIVED && ch->c.raddr == B_IP && ch->c.rport == 4000 &&
	      ch->c.laddr == A_IP);
	CHECK(l->c.synq_len == 1);
	struct tcp_info s;
	CHECK(pop(&s) && s.flags == (TCP_SYN | TCP_ACK) && s.ack == 701 && s.opts.has_mss &&
	      s.opts.mss == 1460 && s.opts.sack_ok && s.opts.has_ts && s.opts.tsecr == 7 &&
	      s.opts.has_wscale);
	/* retransmitted SYN: SYN-ACK again */
	inject(&ch->c, 700, 0, TCP_SYN, 65535, NULL, 0, &o);
	CHECK(pop(&s) && s.flags == (TCP_SYN | TCP_ACK));
	/* a bad ACK: RST */
	o.has_mss = o.sack_ok = o.has_wscale = false;
	o.tsval = 8;
	o.tsecr = s.opts.tsval;
	CHECK(inject(&ch->c, 701, s.seq + 5, TCP_ACK, 512, NULL, 0, &o));
	CHECK(ch->c.state == TCP_SYN_RECEIVED);
	/* the handshake completes with data in the third segment */
	CHECK(tcp_accept(&l->c) == NULL);
	inject(&ch->c, 701, s.seq + 1, TCP_ACK | TCP_PSH, 512, "hello", 5, &o);
	CHECK(ch->c.state == TCP_ESTABLISHED && (l->ev & TCP_EV_ACCEPT));
	CHECK(ch->c.mss == 1000 - 12 && ch->c.snd_wnd == 512u << 7);
	CHECK(l->c.aq_len == 1 && l->c.synq_len == 0);
	CHECK(tcp_accept(&l->c) == &ch->c && l->c.aq_len == 0 && !ch->c.parent);
	CHECK(ch->c.rcv.len == 5 && memcmp(ch->c.rcv.buf, "hello", 5) == 0);
	/* quick ACK at the start */
	CHECK(pop(&s) && s.flags == TCP_ACK && s.ack == 706);
	/* backlog: 2 established + synq bound */
	max_spawn = MAXC;
	for (int i = 0; i < 40; i++) {
		struct tcp_info in = { .sport = (uint16_t)(5000 + i), .dport = 80, .seq = 1,
				       .flags = TCP_SYN, .window = 1000 };
		tcp_input_seg(&l->c, B_IP, A_IP, &in);
	}
	CHECK(l->c.synq_len == 16);   /* max(backlog, 16) */
	CHECK(l->c.stat_in_errs == 24);
	drain();
	/* close the listener: every child is reset */
	int before = nconns;
	tcp_close(&l->c);
	CHECK(l->c.state == TCP_CLOSED);
	int rsts = 0;
	while (pop(&s))
		rsts += (s.flags & TCP_RST) != 0;
	CHECK(rsts == 16);
	for (int i = 2; i < before; i++)
		CHECK(conns[i]->closed);
}

static void test_tiny_mss(void)
{
	/* an absurd MSS in a SYN: clamped, not wrapped around */
	reset_world();
	struct tconn *l = new_conn();
	l->c.lport = 80;
	tcp_listen(&l->c, 4);
	struct tcp_opts tiny = { .has_mss = true, .mss = 1, .has_ts = true, .tsval = 3 };
	struct tcp_info in = { .sport = 4999, .dport = 80, .seq = 77, .flags = TCP_SYN,
			       .window = 1000, .opts = tiny };
	tcp_input_seg(&l->c, B_IP, A_IP, &in);
	CHECK(nconns == 2 && conns[1]->c.mss >= 64 && conns[1]->c.mss <= 88);
	drain();
}

static void test_syn_cookies(void)
{
	reset_world();
	struct tconn *l = new_conn();
	l->c.lport = 80;
	tcp_listen(&l->c, 4);
	struct tcp_info s;
	/* fill the SYN queue (16), then a cookie answers */
	for (int i = 0; i < 16; i++) {
		struct tcp_info in = { .sport = (uint16_t)(2000 + i), .dport = 80, .seq = 100,
				       .flags = TCP_SYN, .window = 1000 };
		tcp_input_seg(&l->c, B_IP, A_IP, &in);
	}
	CHECK(l->c.synq_len == 16);
	drain();
	struct tcp_opts o = { .has_mss = true, .mss = 1400, .has_ts = true, .tsval = 9,
			      .sack_ok = true, .has_wscale = true, .wscale = 7 };
	struct tcp_info syn = { .sport = 3000, .dport = 80, .seq = 5555, .flags = TCP_SYN,
				.window = 2000, .opts = o };
	int before = nconns;
	tcp_input_seg(&l->c, B_IP, A_IP, &syn);
	CHECK(nconns == before && l->c.stat_cookies_sent == 1);   /* nothing stored */
	CHECK(pop(&s) && s.flags == (TCP_SYN | TCP_ACK) && s.ack == 5556 && s.opts.has_mss &&
	      !s.opts.has_ts && !s.opts.sack_ok && !s.opts.has_wscale && s.sport == 80 &&
	      s.dport == 3000);
	uint32_t cookie = s.seq;
	CHECK((cookie & 3) == 1);   /* 1300 <= 1400 < 1440 */
	/* a wrong cookie: RST */
	struct tcp_info ack = { .sport = 3000, .dport = 80, .seq = 5556, .ack = cookie + 5,
				.flags = TCP_ACK, .window = 3000 };
	CHECK(tcp_input_seg(&l->c, B_IP, A_IP, &ack));
	/* from another port: RST */
	ack.ack = cookie + 1;
	ack.sport = 3001;
	CHECK(tcp_input_seg(&l->c, B_IP, A_IP, &ack));
	/* the right one, with data: an established connection in the accept queue */
	ack.sport = 3000;
	ack.flags = TCP_ACK | TCP_PSH;
	ack.payload = (const uint8_t *)"GET";
	ack.payload_len = 3;
	CHECK(!tcp_input_seg(&l->c, B_IP, A_IP, &ack));
	CHECK(nconns == before + 1 && l->c.aq_len == 1 && l->c.stat_cookies_ok == 1);
	struct tcp_conn *c = tcp_accept(&l->c);
	CHECK(c && c->state == TCP_ESTABLISHED && c->mss == 1300 && !c->ts_ok && !c->ws_ok &&
	      c->snd_wnd == 3000 && c->rcv.len == 3 && c->rport == 3000 && c->raddr == B_IP);
	CHECK(pop(&s) && s.ack == 5559);
	/* cookies expire after two periods */
	drain();
	tcp_input_seg(&l->c, B_IP, A_IP, &syn);
	CHECK(pop(&s));
	cookie = s.seq;
	now_us += 2ull * TCP_COOKIE_PERIOD_US + 1;
	ack.payload_len = 0;
	ack.ack = cookie + 1;
	ack.sport = 3000;
	ack.seq = 5556;
	CHECK(tcp_input_seg(&l->c, B_IP, A_IP, &ack));
	drain();
}

static void test_simultaneous(void)
{
	reset_world();
	struct tconn *a = new_conn(), *b = new_conn();
	a->c.laddr = A_IP; a->c.lport = 1; a->c.raddr = B_IP; a->c.rport = 2;
	b->c.laddr = B_IP; b->c.lport = 2; b->c.raddr = A_IP; b->c.rport = 1;
	tcp_connect(&a->c);
	tcp_connect(&b->c);
	/* cross the SYNs */
	struct tcp_info sa, sb, s;
	CHECK(pop(&sa) && pop(&sb));
	tcp_input_seg(&b->c, A_IP, B_IP, &sa);
	uint8_t *keep = last_buf; last_buf = NULL;
	(void)keep;
	CHECK(b->c.state == TCP_SYN_RECEIVED);
	tcp_input_seg(&a->c, B_IP, A_IP, &sb);
	CHECK(a->c.state == TCP_SYN_RECEIVED);
	free(keep);
	/* each sends SYN-ACK, each goes ESTABLISHED */
	CHECK(pop(&s));
	tcp_input_seg(&a->c, B_IP, A_IP, &s);   /* b's SYN-ACK was first */
	CHECK(pop(&s));
	tcp_input_seg(&b->c, A_IP, B_IP, &s);
	CHECK(a->c.state == TCP_ESTABLISHED && b->c.state == TCP_ESTABLISHED);
	drain();
	/* simultaneous close: FIN_WAIT_1 -> CLOSING -> TIME_WAIT on both */
	tcp_shutdown_wr(&a->c);
	tcp_shutdown_wr(&b->c);
	struct tcp_info fa, fb;
	CHECK(pop(&fa) && (fa.flags & TCP_FIN) && pop(&fb) && (fb.flags & TCP_FIN));
	tcp_input_seg(&b->c, A_IP, B_IP, &fa);
	CHECK(b->c.state == TCP_CLOSING);
	free(last_buf); last_buf = NULL;
	tcp_input_seg(&a->c, B_IP, A_IP, &fb);
	CHECK(a->c.state == TCP_CLOSING);
	while (pop(&s)) {
		if (s.dport == 1)
			tcp_input_seg(&a->c, B_IP, A_IP, &s);
		else
			tcp_input_seg(&b->c, A_IP, B_IP, &s);
	}
	CHECK(a->c.state == TCP_TIME_WAIT && b->c.state == TCP_TIME_WAIT);
	CHECK(a->ev & TCP_EV_TIMEWAIT);
	/* TIME_WAIT: a new SYN with a higher sequence may reuse it */
	struct tcp_info syn = { .sport = 2, .dport = 1, .seq = a->c.rcv_nxt + 100000,
				.flags = TCP_SYN };
	syn.opts.has_ts = true;
	syn.opts.tsval = a->c.ts_recent + 10;
	CHECK(tcp_tw_reusable(&a->c, &syn));
	syn.opts.tsval = a->c.ts_recent - 10;
	CHECK(!tcp_tw_reusable(&a->c, &syn));
	/* 2*MSL later: CLOSED */
	now_us += TCP_TIMEWAIT_US - 1;
	tcp_timer(&a->c);
	CHECK(a->c.state == TCP_TIME_WAIT);
	now_us += 2;
	CHECK(tcp_next_deadline(&a->c) <= now_us);
	tcp_timer(&a->c);
	CHECK(a->c.state == TCP_CLOSED && a->closed);
}

static void test_receive_reassembly(void)
{
	reset_world();
	struct tconn *a = open_active(true);
	uint32_t r = peer_iss + 1, iss1 = a->c.iss + 1;
	struct tcp_opts o = { .has_ts = true, .tsval = 200, .tsecr = 1 };
	uint8_t d[8000];
	for (int i = 0; i < 8000; i++)
		d[i] = (uint8_t)(i * 7 + 3);
	struct tcp_info s;
	/* out of order: [1000,2000) then [3000,4000): dup ACKs with SACK */
	inject(&a->c, r + 1000, iss1, TCP_ACK, 1000, d + 1000, 1000, &o);
	CHECK(pop(&s) && s.ack == r && s.opts.nsack == 1 && s.opts.sack[0][0] == r + 1000 &&
	      s.opts.sack[0][1] == r + 2000);
	inject(&a->c, r + 3000, iss1, TCP_ACK, 1000, d + 3000, 1000, &o);
	CHECK(pop(&s) && s.ack == r && s.opts.nsack == 2 && s.opts.sack[0][0] == r + 3000);
	/* a duplicate of an island: D-SACK first, then the islands */
	inject(&a->c, r + 3000, iss1, TCP_ACK, 1000, d + 3000, 500, &o);
	CHECK(pop(&s) && s.ack == r && s.opts.nsack == 3 && s.opts.sack[0][0] == r + 3000 &&
	      s.opts.sack[0][1] == r + 3500);
	/* overlapping the first island and the gap: [1500, 3200) */
	inject(&a->c, r + 1500, iss1, TCP_ACK, 1000, d + 1500, 1700, &o);
	CHECK(pop(&s) && s.opts.nsack == 1 && s.opts.sack[0][0] == r + 1000 &&
	      s.opts.sack[0][1] == r + 4000);
	CHECK(a->c.nooo == 1);
	/* duplicate of nothing received yet is fine; the hole [0,1000) fills */
	inject(&a->c, r, iss1, TCP_ACK, 1000, d, 1000, &o);
	CHECK(pop(&s) && s.ack == r + 4000 && s.opts.nsack == 0);
	CHECK(a->c.rcv.len == 4000 && a->c.nooo == 0);
	/* an old duplicate: ACKed at once with a D-SACK block (RFC 2883) */
	inject(&a->c, r + 500, iss1, TCP_ACK, 1000, d + 500, 1000, &o);
	CHECK(pop(&s) && s.ack == r + 4000 && s.opts.nsack == 1 &&
	      s.opts.sack[0][0] == r + 500 && s.opts.sack[0][1] == r + 1500);
	/* a segment overlapping the left edge keeps only its new part */
	inject(&a->c, r + 3900, iss1, TCP_ACK, 1000, d + 3900, 600, &o);
	CHECK(a->c.rcv_nxt == r + 4500);
	uint8_t out[8000];
	CHECK(read_data(&a->c, out, 8000) == 4500 && memcmp(out, d, 4500) == 0);
	drain();
	/* PAWS: an old timestamp is dropped with an ACK */
	struct tcp_opts old = { .has_ts = true, .tsval = 100, .tsecr = 1 };
	inject(&a->c, r + 4500, iss1, TCP_ACK, 1000, d + 4500, 100, &old);
	CHECK(a->c.rcv_nxt == r + 4500 && pop(&s) && s.ack == r + 4500);
	/* data beyond the window is trimmed */
	uint32_t wnd = a->c.rcv_adv - a->c.rcv_nxt;
	CHECK(wnd > 0);
	/* FIN out of order, then the data before it */
	inject(&a->c, r + 4600, iss1, TCP_ACK | TCP_FIN, 1000, d + 4600, 100, &o);
	CHECK(a->c.state == TCP_ESTABLISHED && a->c.fin_ooo);
	inject(&a->c, r + 4500, iss1, TCP_ACK, 1000, d + 4500, 100, &o);
	CHECK(a->c.state == TCP_CLOSE_WAIT && a->c.rcv_fin && a->c.rcv_nxt == r + 4701);
	CHECK(read_data(&a->c, out, 8000) == 200 && memcmp(out, d + 4500, 200) == 0);
	drain();
	/* CLOSE_WAIT -> LAST_ACK -> CLOSED */
	tcp_close(&a->c);
	CHECK(a->c.state == TCP_LAST_ACK && pop(&s) && (s.flags & TCP_FIN));
	inject(&a->c, r + 4701, s.seq + 1, TCP_ACK, 1000, NULL, 0, &o);
	CHECK(a->c.state == TCP_CLOSED && a->closed && !a->c.error);
}

static void test_delayed_ack(void)
{
	reset_world();
	struct tconn *a = open_active(true);
	a->c.quickacks = 0;
	uint32_t r = peer_iss + 1, iss1 = a->c.iss + 1;
	struct tcp_opts o = { .has_ts = true, .tsval = 200, .tsecr = 1 };
	uint8_t d[1448] = { 0 };
	struct tcp_info s;
	inject(&a->c, r, iss1, TCP_ACK, 1000, d, 1448, &o);
	CHECK(qn == 0 && a->c.dack_at == now_us + TCP_DELACK_US);
	inject(&a->c, r + 1448, iss1, TCP_ACK, 1000, d, 1448, &o);
	CHECK(pop(&s) && s.ack == r + 2896 && a->c.dack_at == 0);
	inject(&a->c, r + 2896, iss1, TCP_ACK, 1000, d, 100, &o);
	CHECK(qn == 0);
	now_us += TCP_DELACK_US;
	tcp_timer(&a->c);
	CHECK(pop(&s) && s.ack == r + 2996);
	/* reading a full window's worth opens it: a window update */
	uint32_t before = a->c.rcv_adv;
	uint8_t out[4000];
	read_data(&a->c, out, 4000);
	(void)before;
}

static void test_rst(void)
{
	static const enum tcp_state states[] = { TCP_SYN_RECEIVED, TCP_ESTABLISHED, TCP_FIN_WAIT_1,
		TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK, TCP_TIME_WAIT };
	for (unsigned k = 0; k < sizeof(states) / sizeof(states[0]); k++) {
		for (int variant = 0; variant < 3; variant++) {
			reset_world();
			struct tconn *a = open_active(false);
			struct tcp_conn *c = &a->c;
			uint32_t r = peer_iss + 1;
			struct tcp_info s;
			/* drive into the state */
			switch (states[k]) {
			case TCP_SYN_RECEIVED: c->state = TCP_SYN_RECEIVED; break;
			case TCP_ESTABLISHED: break;
			case TCP_FIN_WAIT_1: tcp_shutdown_wr(c); break;
			case TCP_FIN_WAIT_2:
				tcp_shutdown_wr(c);
				inject(c, r, c->snd_max, TCP_ACK, 1000, NULL, 0, NULL);
				break;
			case TCP_CLOSE_WAIT:
				inject(c, r, c->snd_una, TCP_ACK | TCP_FIN, 1000, NULL, 0, NULL);
				r++;
				break;
			case TCP_CLOSING:
				tcp_shutdown_wr(c);
				inject(c, r, c->snd_una, TCP_ACK | TCP_FIN, 1000, NULL, 0, NULL);
				r++;
				break;
			case TCP_LAST_ACK:
				inject(c, r, c->snd_una, TCP_ACK | TCP_FIN, 1000, NULL, 0, NULL);
				r++;
				tcp_shutdown_wr(c);
				break;
			case TCP_TIME_WAIT:
				tcp_shutdown_wr(c);
				inject(c, r, c->snd_max, TCP_ACK | TCP_FIN, 1000, NULL, 0, NULL);
				r++;
				break;
			default: break;
			}
			CHECK(c->state == states[k]);
			drain();
			a->ev = 0;
			if (variant == 0) {
				/* exact: reset */
				inject(c, r, 0, TCP_RST, 0, NULL, 0, NULL);
				CHECK(c->state == TCP_CLOSED);
				if (states[k] == TCP_ESTABLISHED || states[k] == TCP_FIN_WAIT_1 ||
				    states[k] == TCP_FIN_WAIT_2)
					CHECK(c->error == T_ECONNRESET && (a->ev & TCP_EV_ERROR));
				CHECK(qn == 0);
			} else if (variant == 1) {
				/* in the window, not exact: challenge ACK */
				inject(c, r + 10, 0, TCP_RST, 0, NULL, 0, NULL);
				CHECK(c->state == states[k]);
				CHECK(pop(&s) && s.flags == TCP_ACK && s.ack == r);
			} else {
				/* outside: dropped silently */
				inject(c, r + 0x40000000u, 0, TCP_RST, 0, NULL, 0, NULL);
				CHECK(c->state == states[k] && qn == 0);
				/* a SYN in a synchronized state: challenge ACK */
				inject(c, r + 5, 0, TCP_SYN, 1000, NULL, 0, NULL);
				CHECK(c->state == states[k]);
				CHECK(pop(&s) && s.flags == TCP_ACK);
			}
		}
	}
	/* SYN_SENT: a RST with an acceptable ACK refuses; without ACK ignored */
	reset_world();
	struct tconn *a = new_conn();
	a->c.laddr = A_IP; a->c.lport = 1000; a->c.raddr = B_IP; a->c.rport = 80;
	tcp_connect(&a->c);
	drain();
	inject(&a->c, 0, a->c.iss + 1, TCP_RST, 0, NULL, 0, NULL);
	CHECK(a->c.state == TCP_SYN_SENT);
	CHECK(inject(&a->c, 0, a->c.iss + 7, TCP_ACK, 0, NULL, 0, NULL));   /* bad ACK: RST */
	inject(&a->c, 0, a->c.iss + 1, TCP_RST | TCP_ACK, 0, NULL, 0, NULL);
	CHECK(a->c.state == TCP_CLOSED && a->c.error == T_ECONNREFUSED);
	/* RST for segments to nowhere */
	uint8_t h[60];
	unsigned hl;
	struct tcp_info t = { .sport = 1, .dport = 2, .seq = 100, .flags = TCP_SYN, .payload_len = 3 };
	CHECK(tcp_rst_for(&t, h, &hl) && hl == 20 && get_be32(h + 8) == 104 &&
	      h[13] == (TCP_RST | TCP_ACK) && get_be32(h + 4) == 0);
	t.flags = TCP_ACK; t.ack = 999;
	CHECK(tcp_rst_for(&t, h, &hl) && get_be32(h + 4) == 999 && h[13] == TCP_RST);
	t.flags = TCP_RST;
	CHECK(!tcp_rst_for(&t, h, &hl));
}

static void test_rto(void)
{
	reset_world();
	struct tconn *a = open_active(true);
	uint32_t r = peer_iss + 1;
	uint8_t d[1000] = { 1 };
	write_data(&a->c, d, 1000);
	tcp_push(&a->c, false);
	struct tcp_info s;
	CHECK(pop(&s) && s.payload_len == 1000);
	uint32_t rto = a->c.rto_us;
	CHECK(rto >= TCP_RTO_MIN_US);
	uint64_t t0 = now_us;
	/* a tail loss probe first: the last segment again, the RTO stays */
	CHECK(a->c.tlp_at && a->c.tlp_at < a->c.rto_at);
	now_us = a->c.tlp_at;
	tcp_timer(&a->c);
	CHECK(pop(&s) && s.payload_len == 1000 && s.seq == a->c.iss + 1);
	CHECK(a->c.cwnd > a->c.mss);
	/* each timeout doubles the wait */
	for (int i = 0; i < 4; i++) {
		uint64_t dl = tcp_next_deadline(&a->c);
		CHECK(dl == t0 + ((uint64_t)rto << i));
		now_us = dl;
		tcp_timer(&a->c);
		CHECK(pop(&s) && s.payload_len == 1000 && s.seq == a->c.iss + 1);
		CHECK(a->c.cwnd == a->c.mss);
		t0 = now_us;
	}
	CHECK(a->c.stat_retrans == 5);
	/* an ACK ends it: backoff reset, no RTT sample from retransmissions (Karn) */
	uint32_t srtt = a->c.srtt_us;
	struct tcp_opts o = { .has_ts = true, .tsval = 300, .tsecr = 1 };
	inject(&a->c, r, a->c.iss + 1001, TCP_ACK, 1000, NULL, 0, &o);
	CHECK(a->c.backoff == 0 && a->c.srtt_us == srtt && a->c.rto_at == 0);
	/* a dead peer: ETIMEDOUT after the retries, with a RST */
	write_data(&a->c, d, 10);
	tcp_push(&a->c, false);
	for (int i = 0; i < 40 && a->c.state != TCP_CLOSED; i++) {
		now_us = tcp_next_deadline(&a->c);
		tcp_timer(&a->c);
	}
	CHECK(a->c.state == TCP_CLOSED && a->c.error == T_ETIMEDOUT);
	/* SYN retries */
	reset_world();
	a = new_conn();
	a->c.laddr = A_IP; a->c.lport = 1000; a->c.raddr = B_IP; a->c.rport = 80;
	tcp_connect(&a->c);
	int syns = 0;
	for (int i = 0; i < 20 && a->c.state != TCP_CLOSED; i++) {
		now_us = tcp_next_deadline(&a->c);
		tcp_timer(&a->c);
	}
	while (pop(&s))
		syns += s.flags == TCP_SYN;
	CHECK(syns == 1 + TCP_SYN_RETRIES && a->c.error == T_ETIMEDOUT);
}

static void test_fast_retransmit(bool sack)
{
	reset_world();
	struct tconn *a = open_active(sack);
	uint32_t r = peer_iss + 1, base = a->c.iss + 1;
	unsigned mss = a->c.mss;
	uint8_t d[20000];
	for (int i = 0; i < 20000; i++)
		d[i] = (uint8_t)i;
	write_data(&a->c, d, 10 * mss);
	tcp_push(&a->c, false);
	struct tcp_info s;
	int n = 0;
	while (pop(&s))
		n++;
	CHECK(n == 10);
	/* segment 0 lost; 1..4 arrive: dup ACKs (with SACK blocks) */
	struct tcp_opts o = { .has_ts = sack, .tsval = 400, .tsecr = 1 };
	for (int k = 1; k <= 4; k++) {
		if (sack) {
			o.nsack = 1;
			o.sack[0][0] = base + mss;
			o.sack[0][1] = base + (uint32_t)(k + 1) * mss;
		}
		inject(&a->c, r, base, TCP_ACK, 8000, NULL, 0, &o);
	}
	CHECK(a->c.in_recovery);
	/* CUBIC's reduction: 0.7 of the window (10 segments, nothing acked yet) */
	CHECK(a->c.ssthresh == 7u * mss);
	CHECK(pop(&s) && s.seq == base && s.payload_len == mss);
	CHECK(a->c.stat_retrans == 1);
	o.tsecr = a->c.recovery_ts;   /* ACKs of the retransmission, not the original */
	if (sack) {
		/* a second hole: 5 lost, 6..9 SACKed -> retransmit 5 after the ACK of 0..4 */
		drain();
		o.nsack = 1;
		o.sack[0][0] = base + 6 * mss;
		o.sack[0][1] = base + 10 * mss;
		inject(&a->c, r, base + 5 * mss, TCP_ACK, 8000, NULL, 0, &o);
		bool found = false;
		while (pop(&s))
			if (s.seq == base + 5 * mss && s.payload_len == mss)
				found = true;
		CHECK(found);
		CHECK(a->c.in_recovery);
	} else {
		/* partial ACK: the next hole at once (NewReno) */
		drain();
		inject(&a->c, r, base + 5 * mss, TCP_ACK, 8000, NULL, 0, &o);
		CHECK(pop(&s) && s.seq == base + 5 * mss);
		drain();
	}
	inject(&a->c, r, base + 10 * mss, TCP_ACK, 8000, NULL, 0, &o);
	CHECK(!a->c.in_recovery && a->c.snd.len == 0);
	CHECK(a->c.cwnd <= a->c.ssthresh + a->c.mss);
}

static void test_zero_window(void)
{
	reset_world();
	struct tconn *a = open_active(true);
	uint32_t r = peer_iss + 1, base = a->c.iss + 1;
	struct tcp_opts o = { .has_ts = true, .tsval = 500, .tsecr = 1 };
	inject(&a->c, r, base, TCP_ACK, 0, NULL, 0, &o);
	CHECK(a->c.snd_wnd == 0);
	uint8_t d[100] = { 0 };
	write_data(&a->c, d, 100);
	tcp_push(&a->c, false);
	CHECK(qn == 0 && a->c.persist_at);
	struct tcp_info s;
	uint64_t prev = 0;
	for (int i = 0; i < 3; i++) {
		uint64_t dl = tcp_next_deadline(&a->c);
		if (prev)
			CHECK(dl - now_us >= 2 * prev - 2);
		prev = dl - now_us;
		now_us = dl;
		tcp_timer(&a->c);
		CHECK(pop(&s) && s.payload_len == 0 && s.seq == base - 1);
		inject(&a->c, r, base, TCP_ACK, 0, NULL, 0, &o);   /* still closed */
		CHECK(a->c.state == TCP_ESTABLISHED);
	}
	/* window opens */
	inject(&a->c, r, base, TCP_ACK, 10, NULL, 0, &o);
	CHECK(pop(&s) && s.payload_len == 40);   /* 10 << 2 */
	/* our own zero window: fill it, the peer's data beyond is trimmed */
	reset_world();
	a = open_active(true);
	a->c.quickacks = 0;
	base = a->c.iss + 1;
	uint32_t wnd = a->c.rcv.size;
	uint8_t *big = calloc(1, 2048);
	uint32_t seq = r, sent = 0;
	while (sent < wnd + 5000) {
		inject(&a->c, seq, base, TCP_ACK, 1000, big, 1400, &o);
		seq += 1400;
		sent += 1400;
	}
	CHECK(a->c.rcv.len == a->c.rcv.size);
	drain();
	inject(&a->c, a->c.rcv_nxt, base, TCP_ACK, 1000, big, 100, &o);
	CHECK(pop(&s) && s.window == 0);
	/* a window probe gets an ACK */
	inject(&a->c, a->c.rcv_nxt - 1, base, TCP_ACK, 1000, NULL, 0, &o);
	CHECK(pop(&s) && s.ack == a->c.rcv_nxt);
	/* the application reads: a window update */
	uint8_t *out = malloc(wnd);
	read_data(&a->c, out, wnd);
	CHECK(pop(&s) && s.window > 0);
	free(out);
	free(big);
}

static void test_keepalive(void)
{
	reset_world();
	struct tconn *a = open_active(true);
	a->c.keepalive = true;
	a->c.ka_idle_s = 10; a->c.ka_intvl_s = 2; a->c.ka_cnt = 3;
	tcp_keepalive_update(&a->c);
	struct tcp_info s;
	now_us += 10 * SEC;
	tcp_timer(&a->c);
	CHECK(pop(&s) && s.seq == a->c.snd_una - 1 && s.payload_len == 0);
	/* answered: back to idle */
	struct tcp_opts o = { .has_ts = true, .tsval = 600, .tsecr = 1 };
	now_us += SEC;
	inject(&a->c, peer_iss + 1, a->c.snd_una, TCP_ACK, 1000, NULL, 0, &o);
	now_us = tcp_next_deadline(&a->c);
	tcp_timer(&a->c);
	int probes = 0;
	for (int i = 0; i < 10 && a->c.state != TCP_CLOSED; i++) {
		while (pop(&s))
			probes++;
		now_us = tcp_next_deadline(&a->c);
		tcp_timer(&a->c);
	}
	while (pop(&s))
		if (!(s.flags & TCP_RST))
			probes++;
	CHECK(a->c.state == TCP_CLOSED && a->c.error == T_ETIMEDOUT);
	CHECK(probes >= 3);
}

static void test_close_rules(void)
{
	/* unread data at close: RST */
	reset_world();
	struct tconn *a = open_active(true);
	struct tcp_opts o = { .has_ts = true, .tsval = 700, .tsecr = 1 };
	inject(&a->c, peer_iss + 1, a->c.iss + 1, TCP_ACK, 1000, "xyz", 3, &o);
	drain();
	tcp_close(&a->c);
	struct tcp_info s;
	CHECK(pop(&s) && (s.flags & TCP_RST) && a->c.state == TCP_CLOSED);
	/* linger 0: RST */
	reset_world();
	a = open_active(true);
	a->c.linger_on = true;
	a->c.linger_s = 0;
	tcp_close(&a->c);
	CHECK(pop(&s) && (s.flags & TCP_RST));
	/* orderly: FIN_WAIT_1 -> FIN_WAIT_2 -> TIME_WAIT */
	reset_world();
	a = open_active(true);
	tcp_close(&a->c);
	CHECK(pop(&s) && s.flags == (TCP_FIN | TCP_ACK) && a->c.state == TCP_FIN_WAIT_1);
	inject(&a->c, peer_iss + 1, s.seq + 1, TCP_ACK, 1000, NULL, 0, &o);
	CHECK(a->c.state == TCP_FIN_WAIT_2);
	inject(&a->c, peer_iss + 1, s.seq + 1, TCP_ACK | TCP_FIN, 1000, NULL, 0, &o);
	CHECK(a->c.state == TCP_TIME_WAIT);
	CHECK(pop(&s) && s.ack == peer_iss + 2);
	/* a retransmitted FIN in TIME_WAIT is ACKed again */
	inject(&a->c, peer_iss + 1, s.seq, TCP_ACK | TCP_FIN, 1000, NULL, 0, &o);
	CHECK(pop(&s) && s.ack == peer_iss + 2);
	/* orphan FIN_WAIT_2 times out */
	reset_world();
	a = open_active(true);
	tcp_close(&a->c);
	pop(&s);
	inject(&a->c, peer_iss + 1, s.seq + 1, TCP_ACK, 1000, NULL, 0, &o);
	CHECK(a->c.state == TCP_FIN_WAIT_2);
	now_us = tcp_next_deadline(&a->c);
	tcp_timer(&a->c);
	CHECK(a->c.state == TCP_CLOSED);
}

/* ---- two instances over a simulated link ---- */

static struct tcp_conn *lookup(uint32_t src, uint32_t dst, const struct tcp_info *t)
{
	struct tcp_conn *lis = NULL;
	for (int i = 0; i < nconns; i++) {
		struct tcp_conn *c = &conns[i]->c;
		if (conns[i]->freed)
			continue;
		if (c->state == TCP_LISTEN && c->lport == t->dport)
			lis = c;
		else if (c->state != TCP_CLOSED && c->laddr == dst && c->raddr == src &&
			 c->lport == t->dport && c->rport == t->sport)
			return c;
	}
	return lis;
}

static int trace_left;
static void deliver_due(void)
{
	for (int i = 0; i < qn;) {
		if (q[i].at > now_us) {
			i++;
			continue;
		}
		struct pkt p = q[i];
		memmove(q + i, q + i + 1, sizeof(q[0]) * (size_t)(qn - i - 1));
		qn--;
		struct tcp_info t;
		CHECK(tcp_parse(p.buf, p.len, p.src, p.dst, &t) == NET_OK);
		struct tcp_conn *c = lookup(p.src, p.dst, &t);
		if (trace_left > 0) {
			trace_left--;
			fprintf(stderr, "%llu %u->%u seq %u ack %u fl %x len %zu win %u ts %u/%u sack %u | to %s rcv_nxt %u adv %u una %u tsr %u\n",
				(unsigned long long)now_us, t.sport, t.dport, t.seq, t.ack, t.flags, t.payload_len, t.window,
				t.opts.tsval, t.opts.tsecr, t.opts.nsack, c ? tcp_state_name(c->state) : "-", c ? c->rcv_nxt : 0, c ? c->rcv_adv : 0, c ? c->snd_una : 0, c ? c->ts_recent : 0);
		}
		if (c) {
			if (tcp_input_seg(c, p.src, p.dst, &t)) {
				uint8_t h[60];
				unsigned hl;
				if (tcp_rst_for(&t, h, &hl))
					emit(p.dst, p.src, h, hl);
			}
		}
		free(p.buf);
		i = 0;
	}
}

static void run_timers(void)
{
	for (int i = 0; i < nconns; i++) {
		struct tcp_conn *c = &conns[i]->c;
		uint64_t d = tcp_next_deadline(c);
		if (d && d <= now_us)
			tcp_timer(c);
	}
}

static uint64_t next_event(void)
{
	uint64_t n = now_us + 100 * MS;
	for (int i = 0; i < qn; i++)
		if (q[i].at < n)
			n = q[i].at;
	for (int i = 0; i < nconns; i++) {
		uint64_t d = tcp_next_deadline(&conns[i]->c);
		if (d && d < n)
			n = d;
	}
	return n > now_us ? n : now_us;
}

static void test_link(uint32_t seed, int loss, int reorder, int dup, size_t total, bool sack,
		      unsigned tso)
{
	reset_world();
	rng = seed;
	link_mode = true;
	loss_pct = loss; reorder_pct = reorder; dup_pct = dup;
	struct tconn *l = new_conn();
	l->c.lport = 80; l->c.laddr = B_IP;
	tcp_listen(&l->c, 8);
	struct tconn *a = new_conn();
	a->c.laddr = A_IP; a->c.lport = 3333; a->c.raddr = B_IP; a->c.rport = 80;
	a->c.tso_max = tso;
	a->c.cubic = l->c.cubic = link_cubic;   /* the module's default is CUBIC */
	a->c.rcvbuf = 65536 + (xr() % 100000);
	a->c.sndbuf = 30000 + (xr() % 200000);
	if (!sack) {
		/* a peer without options: NewReno without SACK */
		a->c.no_opts = true;
	}
	tcp_connect(&a->c);
	uint8_t *src = malloc(total), *dst_a = malloc(total), *dst_b = malloc(total);
	for (size_t i = 0; i < total; i++)
		src[i] = (uint8_t)(xr() >> 7);
	size_t sent_a = 0, got_b = 0, sent_b = 0, got_a = 0;
	uint64_t t_start = now_us;
	struct tcp_conn *b = NULL;
	bool a_shut = false, b_shut = false;
	for (int iter = 0; iter < 2000000; iter++) {
		now_us = next_event();
		deliver_due();
		run_timers();
		if (!b)
			b = tcp_accept(&l->c);
		if (a->c.state == TCP_ESTABLISHED || a->c.state == TCP_CLOSE_WAIT) {
			if (sent_a < total) {
				sent_a += write_data(&a->c, src + sent_a, (uint32_t)(total - sent_a > 70000 ? 70000 : total - sent_a));
				tcp_push(&a->c, false);
			} else if (!a_shut) {
				tcp_shutdown_wr(&a->c);
				a_shut = true;
			}
		}
		if (b && (b->state == TCP_ESTABLISHED || b->state == TCP_CLOSE_WAIT)) {
			size_t half = total / 2;
			if (sent_b < half) {
				sent_b += write_data(b, src + sent_b, (uint32_t)(half - sent_b > 50000 ? 50000 : half - sent_b));
				tcp_push(b, false);
			} else if (!b_shut) {
				tcp_shutdown_wr(b);
				b_shut = true;
			}
		}
		static int dbg;
		if (getenv("TCPDBG") && (int)seed == atoi(getenv("TCPDBG")) && b && now_us > t_start + 60 * SEC && dbg++ < 1 && (trace_left = 40))
			fprintf(stderr, "a %s una %u nxt %u max %u len %u fin %d/%u rcv_nxt %u wnd %u rto %llu cwnd %u\nb %s una %u nxt %u max %u len %u fin %d/%u rcv_nxt %u wnd %u rto %llu cwnd %u\n",
				tcp_state_name(a->c.state), a->c.snd_una, a->c.snd_nxt, a->c.snd_max, a->c.snd.len, a->c.fin_sent, a->c.fin_seq, a->c.rcv_nxt, a->c.snd_wnd, (unsigned long long)a->c.rto_at, a->c.cwnd,
				tcp_state_name(b->state), b->snd_una, b->snd_nxt, b->snd_max, b->snd.len, b->fin_sent, b->fin_seq, b->rcv_nxt, b->snd_wnd, (unsigned long long)b->rto_at, b->cwnd);
		if (b)
			got_b += read_data(b, dst_b + got_b, (uint32_t)(total - got_b));
		got_a += read_data(&a->c, dst_a + got_a, (uint32_t)(total - got_a));
		if (a_shut && b_shut && (a->c.state == TCP_TIME_WAIT || a->c.state == TCP_CLOSED) &&
		    (b->state == TCP_TIME_WAIT || b->state == TCP_CLOSED))
			break;
	}
	CHECK(got_b == total && memcmp(src, dst_b, total) == 0);
	CHECK(got_a == total / 2 && memcmp(src, dst_a, total / 2) == 0);
	CHECK(b && b->rcv_fin && a->c.rcv_fin);
	CHECK(b && (a->c.state == TCP_TIME_WAIT || b->state == TCP_TIME_WAIT));
	if (getenv("TCPSTAT") && b)
		fprintf(stderr, "seed %u: rto %u/%u recoveries %u/%u undo %u/%u retrans %u/%u time %.1f s\n", seed,
			a->c.stat_rto, b->stat_rto, a->c.stat_recoveries, b->stat_recoveries, a->c.stat_undo, b->stat_undo,
			a->c.total_retrans, b->total_retrans, (now_us - t_start) / 1e6);
	if (a->c.state != TCP_TIME_WAIT && b->state != TCP_TIME_WAIT) fprintf(stderr, "seed %u: a=%s b=%s err %d %d reset %d %d t=%llu\n", seed, tcp_state_name(a->c.state), tcp_state_name(b->state), a->c.error, b->error, a->c.reset, b->reset, (unsigned long long)now_us);
	if (got_b != total || !b || got_a != total / 2)
		fprintf(stderr, "link seed %u: got %zu/%zu, %zu/%zu a=%s b=%s\n", seed, got_b, total,
			got_a, total / 2, tcp_state_name(a->c.state), b ? tcp_state_name(b->state) : "-");
	free(src); free(dst_a); free(dst_b);
	reset_world();
}

/* ---- fuzz: random segments into every state ---- */

static void test_fuzz(void)
{
	for (int round = 0; round < 3000; round++) {
		reset_world();
		rng = 777 + (uint32_t)round;
		struct tconn *a = open_active(round & 1);
		int target = (int)(xr() % 6);
		struct tcp_conn *c = &a->c;
		uint32_t r = peer_iss + 1;
		if (target == 1) tcp_shutdown_wr(c);
		if (target == 2) { inject(c, r, c->snd_una, TCP_ACK | TCP_FIN, 1000, NULL, 0, NULL); r++; }
		if (target == 3) { tcp_close(c); inject(c, r, c->snd_max, TCP_ACK | TCP_FIN, 1000, NULL, 0, NULL); r++; }
		if (target == 4) c->state = TCP_SYN_RECEIVED;
		if (target == 5) { uint8_t d[500] = {0}; write_data(c, d, 500); tcp_push(c, false); }
		uint8_t data[1500];
		a->poison = true;
		if (a->closed)
			continue;
		for (int k = 0; k < 60 && !a->closed; k++) {
			struct tcp_opts o = { 0 };
			if (xr() & 1) { o.has_ts = true; o.tsval = xr(); o.tsecr = xr(); }
			if (xr() % 4 == 0) { o.nsack = 1 + xr() % 3; for (unsigned j = 0; j < o.nsack; j++) { o.sack[j][0] = c->snd_una + (xr() % 4000) - 1000; o.sack[j][1] = o.sack[j][0] + xr() % 3000; } }
			if (xr() % 8 == 0) { o.has_mss = true; o.mss = (uint16_t)xr(); }
			uint32_t seq = (xr() & 1) ? r + (xr() % 3000) - 1000 : xr();
			uint32_t ack = (xr() & 1) ? c->snd_una + (xr() % 3000) - 1000 : xr();
			uint8_t flags = (uint8_t)xr();
			size_t len = xr() % 4 == 0 ? xr() % 1400 : 0;
			for (size_t j = 0; j < len; j++)
				data[j] = (uint8_t)xr();
			inject(c, seq, ack, flags, (uint16_t)xr(), data, len, &o);
			if (!a->closed && xr() % 5 == 0) { now_us += xr() % (3 * SEC); tcp_timer(c); }
			if (!a->closed && xr() % 7 == 0) { uint8_t out[3000]; read_data(c, out, 3000); }
			if (!a->closed && xr() % 29 == 0) tcp_close(c);
			drain();
		}
		if (!a->closed)
			CHECK(c->snd.len <= c->snd.size && c->rcv.len <= c->rcv.size);
	}
}

/* Random segments at a listener and its children: SYNs with random
 * options, handshake ACKs, resets, data; children freed (poisoned) as the
 * kernel frees them. */
static void test_fuzz_listener(void)
{
	for (int round = 0; round < 300; round++) {
		reset_world();
		rng = 4242 + (uint32_t)round;
		spawn_poison = true;
		struct tconn *l = new_conn();
		l->c.lport = 80;
		tcp_listen(&l->c, 1 + xr() % 8);
		for (int k = 0; k < 200; k++) {
			struct tcp_info t = { .sport = (uint16_t)(1000 + xr() % 8), .dport = 80,
					      .seq = xr() % 64, .ack = xr(), .window = (uint16_t)xr() };
			unsigned pick = xr() % 4;
			t.flags = pick == 0 ? TCP_SYN : pick == 1 ? TCP_ACK : (uint8_t)xr();
			if (xr() & 1) {
				t.opts.has_mss = xr() & 1; t.opts.mss = (uint16_t)xr();
				t.opts.has_wscale = xr() & 1; t.opts.wscale = (uint8_t)(xr() % 15);
				t.opts.sack_ok = xr() & 1;
				t.opts.has_ts = xr() & 1; t.opts.tsval = xr() % 100; t.opts.tsecr = xr();
			}
			uint8_t data[64];
			if (xr() % 4 == 0) {
				t.payload = data;
				t.payload_len = xr() % sizeof(data);
			}
			/* to the child when one matches, else the listener */
			struct tcp_conn *dst = &l->c;
			for (int i = 1; i < nconns; i++)
				if (!conns[i]->freed && conns[i]->c.rport == t.sport &&
				    conns[i]->c.state != TCP_CLOSED) {
					dst = &conns[i]->c;
					if (xr() & 1) {
						/* often the right numbers */
						t.seq = conns[i]->c.rcv_nxt;
						t.ack = conns[i]->c.snd_nxt;
					}
				}
			tcp_input_seg(dst, B_IP, A_IP, &t);
			if (xr() % 5 == 0) {
				now_us += xr() % (2 * SEC);
				for (int i = 0; i < nconns; i++)
					if (!conns[i]->freed)
						tcp_timer(&conns[i]->c);
			}
			if (xr() % 9 == 0) {
				struct tcp_conn *a = tcp_accept(&l->c);
				if (a) {
					T(a)->poison = true;
					tcp_close(a);
				}
			}
			drain();
			CHECK(l->c.synq_len <= 16 && l->c.aq_len <= l->c.backlog);
			if (l->c.synq_len > 16 || l->c.aq_len > l->c.backlog) {
				fprintf(stderr, "round %d k %d synq %u aq %u backlog %u\n", round, k, l->c.synq_len, l->c.aq_len, l->c.backlog);
				break;
			}
		}
		tcp_close(&l->c);
		drain();
		spawn_poison = false;
	}
}

int main(void)
{
	test_active_open();
	test_passive_open();
	test_tiny_mss();
	test_syn_cookies();
	test_simultaneous();
	test_receive_reassembly();
	test_delayed_ack();
	test_rst();
	test_rto();
	test_fast_retransmit(false);
	test_fast_retransmit(true);
	test_zero_window();
	test_keepalive();
	test_close_rules();
	test_link(1, 0, 0, 0, 1 << 20, true, 0);
	test_link(2, 5, 10, 0, 2 << 20, true, 0);
	test_link(3, 3, 20, 2, 1 << 20, false, 0);
	test_link(4, 1, 5, 1, 4 << 20, true, 65000);
	link_cubic = false;   /* NewReno */
	test_link(5, 3, 10, 1, 2 << 20, true, 0);
	test_link(6, 2, 5, 0, 2 << 20, false, 0);
	link_cubic = true;
	for (uint32_t s = 10; s < 16; s++)
		test_link(s, (int)(s % 8), (int)(s * 3 % 25), (int)(s % 3), 512 << 10, s & 1, (s & 2) ? 30000 : 0);
	test_fuzz();
	test_fuzz_listener();
	free(last_buf);
	reset_world();
	return CHECK_SUMMARY();
}
