/*
 * TCP state machine for one connection (see tcp.h). Pure: everything
 * outside comes through c->env. Every public entry point ends in
 * finish(), which delivers the events gathered during the call in one
 * env->event call; TCP_EV_CLOSED may free c, so nothing touches c after.
 */
#include "net/tcp.h"
#include "net/byteorder.h"

#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

/* errno values (Linux); the module has no errno.h of its own */
#define T_ECONNRESET   104
#define T_ECONNREFUSED 111
#define T_ETIMEDOUT    110
#define T_ENOMEM       12
#define T_EPIPE        32

static const char *const state_names[] = {
	"CLOSED", "LISTEN", "SYN_SENT", "SYN_RECEIVED", "ESTABLISHED", "FIN_WAIT_1",
	"FIN_WAIT_2", "CLOSE_WAIT", "CLOSING", "LAST_ACK", "TIME_WAIT",
};

const char *tcp_state_name(enum tcp_state s)
{
	return (unsigned)s <= TCP_TIME_WAIT ? state_names[s] : "?";
}

static inline uint64_t now(const struct tcp_conn *c) { return c->env->now_us(c->env->ctx); }

static void finish(struct tcp_conn *c)
{
	unsigned ev = c->pending_ev;
	if (c->state == TCP_CLOSED && !c->closed_notified) {
		c->closed_notified = true;
		ev |= TCP_EV_CLOSED;
	}
	c->pending_ev = 0;
	/* called even without events: the glue re-arms its timer here */
	c->env->event(c->env->ctx, c, ev);
}

/* ---- rings ---------------------------------------------------------- */

static uint32_t ring_pos(const struct tcp_ring *r, uint32_t off)
{
	uint32_t p = r->head + off;
	return p >= r->size ? p - r->size : p;
}

/* Two pieces covering n bytes at offset off. */
static int ring_span(const struct tcp_ring *r, uint32_t off, uint32_t n, struct tcp_iov out[2])
{
	if (!n)
		return 0;
	uint32_t p = ring_pos(r, off);
	uint32_t first = MIN(n, r->size - p);
	out[0].base = r->buf + p;
	out[0].len = first;
	if (first == n)
		return 1;
	out[1].base = r->buf;
	out[1].len = n - first;
	return 2;
}

static void ring_write(struct tcp_ring *r, uint32_t off, const uint8_t *src, uint32_t n)
{
	uint32_t p = ring_pos(r, off);
	uint32_t first = MIN(n, r->size - p);
	__builtin_memcpy(r->buf + p, src, first);
	if (n > first)
		__builtin_memcpy(r->buf, src + first, n - first);
}

/* reset: nothing lives beyond len (the send ring) so an empty ring may
 * start over at 0, keeping large writes in one piece */
static void ring_drop(struct tcp_ring *r, uint32_t n, bool reset)
{
	r->head = ring_pos(r, n);
	r->len -= n;
	if (!r->len && reset)
		r->head = 0;
}

static int ring_alloc(struct tcp_conn *c, struct tcp_ring *r, uint32_t size)
{
	if (r->size)
		return 0;
	r->buf = c->env->alloc(c->env->ctx, size);
	if (!r->buf)
		return -T_ENOMEM;
	r->size = size;
	r->head = r->len = 0;
	return 0;
}

void tcp_conn_free_rings(struct tcp_conn *c)
{
	if (c->snd.size)
		c->env->free(c->env->ctx, c->snd.buf, c->snd.size);
	if (c->rcv.size)
		c->env->free(c->env->ctx, c->rcv.buf, c->rcv.size);
	c->snd = (struct tcp_ring){ 0 };
	c->rcv = (struct tcp_ring){ 0 };
}

/* ---- setup ------------------------------------------------------------ */

void tcp_conn_init(struct tcp_conn *c, const struct tcp_env *env)
{
	__builtin_memset(c, 0, sizeof(*c));
	c->env = env;
	c->state = TCP_CLOSED;
	c->mtu = 1500;
	c->rto_us = TCP_RTO_INIT_US;
	c->ssthresh = 0x7fffffff;
	c->sndbuf = TCP_RING_DEFAULT;
	c->rcvbuf = TCP_RING_DEFAULT;
	c->ka_idle_s = 7200;
	c->ka_intvl_s = 75;
	c->ka_cnt = 9;
	c->reordering = 3;
	c->cubic = true;   /* Linux's default */
	c->quickacks = TCP_QUICKACKS;
	c->rcv_wscale = TCP_RCV_WSCALE;
	c->recover = 0;
	c->closed_notified = true;   /* a fresh socket is CLOSED without ever closing */
}

static uint32_t mix32(uint32_t h)
{
	h ^= h >> 16; h *= 0x7feb352d; h ^= h >> 15; h *= 0x846ca68b; h ^= h >> 16;
	return h;
}

/* RFC 6528: a clock (4 us ticks) plus a keyed hash of the 4-tuple. */
static uint32_t isn(struct tcp_conn *c)
{
	uint32_t k = c->env->isn_secret;
	uint32_t h = mix32(c->laddr ^ k);
	h = mix32(h ^ c->raddr);
	h = mix32(h ^ ((uint32_t)c->lport << 16 | c->rport) ^ (k >> 7));
	return h + (uint32_t)(now(c) >> 2);
}

static uint32_t rcv_buf_size(const struct tcp_conn *c)
{
	uint32_t n = MAX(c->rcvbuf, 4096u);
	return MIN(n, 65535u << TCP_RCV_WSCALE);
}

static int alloc_rings(struct tcp_conn *c)
{
	if (ring_alloc(c, &c->rcv, rcv_buf_size(c)) || ring_alloc(c, &c->snd, MAX(c->sndbuf, 4096u)))
		return -T_ENOMEM;
	return 0;
}

/* Payload per segment from the peer's MSS, the path MTU and TCP_MAXSEG,
 * less the timestamp option that every segment carries. */
static void set_mss(struct tcp_conn *c)
{
	unsigned m = c->peer_mss ? c->peer_mss : TCP_DEFAULT_MSS;
	m = MIN(m, c->mtu - 40);
	if (c->user_mss)
		m = MIN(m, c->user_mss);
	/* a floor before the options come off (a peer may announce MSS 1) */
	if (m < 88)
		m = 88;
	if (c->ts_ok)
		m -= 12;
	c->mss = (uint16_t)m;
}

static unsigned adv_mss(const struct tcp_conn *c)
{
	unsigned m = c->mtu - 40;
	if (c->user_mss && c->user_mss < m)
		m = c->user_mss;
	return MIN(m, 65495u);
}

static void init_cc(struct tcp_conn *c)
{
	c->cwnd = TCP_INIT_CWND * c->mss;
	c->ssthresh = 0x7fffffff;
}

/* ---- timers ------------------------------------------------------------ */

static void arm_rto(struct tcp_conn *c)
{
	uint64_t rto = (uint64_t)c->rto_us << c->backoff;
	if (rto > TCP_RTO_MAX_US)
		rto = TCP_RTO_MAX_US;
	c->rto_at = now(c) + rto;
}

/* Tail loss probe (RFC 8985 7, simplified): two smoothed RTTs after the
 * last send with nothing acked, one segment goes out to draw a SACK that
 * starts fast recovery, instead of waiting for the RTO. */
static void arm_tlp(struct tcp_conn *c)
{
	if (!c->srtt_us || c->snd_una == c->snd_max || c->backoff) {
		c->tlp_at = 0;
		return;
	}
	uint64_t pto = 2ull * c->srtt_us;
	if (c->snd_max - c->snd_una <= c->mss)
		pto += TCP_DELACK_US;   /* one segment out: the peer may delay its ACK */
	if (pto < 10000)
		pto = 10000;
	uint64_t at = now(c) + pto;
	c->tlp_at = c->rto_at && at >= c->rto_at ? 0 : at;
}

uint64_t tcp_next_deadline(const struct tcp_conn *c)
{
	uint64_t d = 0;
	const uint64_t *t[] = { &c->rto_at, &c->dack_at, &c->ka_at, &c->tw_at, &c->persist_at,
				&c->tlp_at };
	for (unsigned i = 0; i < 6; i++)
		if (*t[i] && (!d || *t[i] < d))
			d = *t[i];
	return d;
}

static void rtt_sample(struct tcp_conn *c, uint32_t r)
{
	if (!r)
		r = 1;
	if (!c->min_rtt_us || r < c->min_rtt_us)
		c->min_rtt_us = r;
	if (!c->srtt_us) {
		c->srtt_us = r;
		c->rttvar_us = r / 2;
	} else {
		uint32_t d = c->srtt_us > r ? c->srtt_us - r : r - c->srtt_us;
		c->rttvar_us = (3 * c->rttvar_us + d) / 4;
		c->srtt_us = (7 * c->srtt_us + r) / 8;
	}
	uint64_t rto = (uint64_t)c->srtt_us + MAX(4ull * c->rttvar_us, 1000ull);
	c->rto_us = (uint32_t)MIN(MAX(rto, (uint64_t)TCP_RTO_MIN_US), (uint64_t)TCP_RTO_MAX_US);
}

/* ---- output -------------------------------------------------------------- */

static uint32_t ts_now(const struct tcp_conn *c) { return (uint32_t)(now(c) / 1000) + c->ts_offset; }

/* Options for a segment; returns their length (multiple of 4). */
static unsigned write_opts(struct tcp_conn *c, uint8_t *b, uint8_t flags)
{
	unsigned n = 0;
	if (flags & TCP_SYN) {
		bool synack = flags & TCP_ACK;
		b[n++] = 2; b[n++] = 4; put_be16(b + n, (uint16_t)c->adv_mss); n += 2;
		bool sack = synack ? c->sack_ok : !c->no_opts;
		bool ts = synack ? c->ts_ok : !c->no_opts;
		bool ws = synack ? c->ws_ok : !c->no_opts;
		if (sack && ts) {
			b[n++] = 4; b[n++] = 2;
		} else if (sack) {
			b[n++] = 1; b[n++] = 1; b[n++] = 4; b[n++] = 2;
		} else if (ts) {
			b[n++] = 1; b[n++] = 1;
		}
		if (ts) {
			b[n++] = 8; b[n++] = 10;
			put_be32(b + n, ts_now(c)); put_be32(b + n + 4, synack ? c->ts_recent : 0);
			n += 8;
		}
		if (ws) {
			b[n++] = 1; b[n++] = 3; b[n++] = 3; b[n++] = c->rcv_wscale;
		}
		return n;
	}
	if (c->ts_ok) {
		b[n++] = 1; b[n++] = 1; b[n++] = 8; b[n++] = 10;
		put_be32(b + n, ts_now(c)); put_be32(b + n + 4, c->ts_recent);
		n += 8;
	}
	if (c->sack_ok && (c->nooo || c->dsack) && !(flags & TCP_RST)) {
		unsigned max = c->ts_ok ? 3 : 4, k = 0;
		b[n++] = 1; b[n++] = 1; b[n++] = 5;
		uint8_t *lenp = b + n++;
		if (c->dsack) {
			/* D-SACK first: what arrived twice, so the sender can tell
			 * a needless retransmission (and undo, learn reordering) */
			put_be32(b + n, c->dsack_l); put_be32(b + n + 4, c->dsack_r);
			n += 8; k++;
		}
		/* the most recent island first (RFC 2018 4), then the others */
		int first = -1;
		for (unsigned i = 0; i < c->nooo && k < max; i++)
			if (SEQ_GEQ(c->last_ooo, c->ooo[i].l) && SEQ_LEQ(c->last_ooo, c->ooo[i].r))
				first = (int)i;
		if (first >= 0 && k < max) {
			put_be32(b + n, c->ooo[first].l); put_be32(b + n + 4, c->ooo[first].r);
			n += 8; k++;
		}
		for (unsigned i = 0; i < c->nooo && k < max; i++) {
			if ((int)i == first)
				continue;
			put_be32(b + n, c->ooo[i].l); put_be32(b + n + 4, c->ooo[i].r);
			n += 8; k++;
		}
		*lenp = (uint8_t)(2 + 8 * k);
	}
	return n;
}

uint32_t tcp_rcv_window(const struct tcp_conn *c)
{
	if (!c->rcv.size)
		return MIN(rcv_buf_size(c), 65535u);
	uint32_t free = c->rcv.size - c->rcv.len;
	uint32_t unit = 1u << c->rcv_wscale;
	if (!c->ws_ok)
		free = MIN(free, 65535u);
	free &= ~(unit - 1);
	uint32_t cur = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	/* never move the right edge left (RFC 9293 3.8.6.2.2); grow it only by
	 * a segment or a good part of the buffer (receiver SWS avoidance) */
	if (free <= cur)
		return cur;
	if (free - cur < MIN(c->rcv.size / 2, (uint32_t)c->adv_mss))
		return cur;   /* also keeps a zero window shut until a segment fits */
	return free;
}

/* Builds and sends one segment. */
static void send_seg(struct tcp_conn *c, uint32_t seq, uint8_t flags, uint32_t len, bool rexmit)
{
	uint8_t hdr[TCP_MAX_HLEN];
	unsigned olen = write_opts(c, hdr + TCP_HLEN, flags);
	unsigned hlen = TCP_HLEN + olen;
	uint32_t wnd = 0;
	if (!(flags & TCP_RST) || (flags & TCP_ACK)) {
		wnd = tcp_rcv_window(c);
		if (flags & TCP_SYN) {
			wnd = MIN(wnd, 65535u);
		} else {
			if (SEQ_GT(c->rcv_nxt + wnd, c->rcv_adv))
				c->rcv_adv = c->rcv_nxt + wnd;
			wnd >>= c->ws_ok ? c->rcv_wscale : 0;
			wnd = MIN(wnd, 65535u);
		}
	}
	if (flags & TCP_ACK) {
		c->dsack = false;
		c->last_ack_sent = c->rcv_nxt;
		c->ack_pending = 0;
		c->ack_now = false;
		c->dack_at = 0;
	}
	put_be16(hdr, c->lport);
	put_be16(hdr + 2, c->rport);
	put_be32(hdr + 4, seq);
	put_be32(hdr + 8, (flags & TCP_ACK) ? c->rcv_nxt : 0);
	hdr[12] = (uint8_t)((hlen / 4) << 4);
	hdr[13] = flags;
	put_be16(hdr + 14, (uint16_t)wnd);
	put_be16(hdr + 16, 0);
	put_be16(hdr + 18, 0);
	struct tcp_iov pl[2];
	int npl = 0;
	if (len) {
		/* data starts at snd_una (the SYN is acked once data flows) */
		npl = ring_span(&c->snd, seq - c->snd_una, len, pl);
	}
	unsigned tso = 0;
	if (len > c->mss)
		tso = c->mss;
	c->stat_out_segs += tso ? (len + c->mss - 1) / c->mss : 1;
	if (rexmit) {
		c->stat_retrans++;
		c->total_retrans++;
	}
	if (flags & TCP_RST)
		c->stat_out_rsts++;
	c->last_snd_us = now(c);
	c->env->output(c->env->ctx, c, hdr, hlen, pl, npl, tso);
}

/* Control segments carry snd_max, not snd_nxt: after a timeout rewinds
 * snd_nxt, an ACK with an older sequence number would be unacceptable to
 * a peer that already has those bytes, and both ends could wait forever. */
static void send_ack(struct tcp_conn *c)
{
	send_seg(c, c->snd_max, TCP_ACK, 0, false);
}

static void send_rst(struct tcp_conn *c)
{
	send_seg(c, c->snd_max, TCP_RST | TCP_ACK, 0, false);
}

/* RFC 5961 7: challenge ACKs, at most 10 per second per connection. */
static void challenge_ack(struct tcp_conn *c)
{
	uint64_t sec = now(c) / 1000000;
	if (sec != c->chack_epoch) {
		c->chack_epoch = sec;
		c->chack_count = 0;
	}
	if (c->chack_count++ < 10)
		send_ack(c);
}

static void send_syn(struct tcp_conn *c, bool rexmit)
{
	uint8_t f = TCP_SYN;
	if (c->state == TCP_SYN_RECEIVED)
		f |= TCP_ACK;
	send_seg(c, c->iss, f, 0, rexmit);
}

/* Sum of scoreboard bytes within [a, b). */
static uint32_t sacked_in(const struct tcp_conn *c, uint32_t a, uint32_t b)
{
	uint32_t n = 0;
	for (unsigned i = 0; i < c->nsacked; i++) {
		uint32_t l = c->sacked[i].l, r = c->sacked[i].r;
		if (SEQ_LT(l, a))
			l = a;
		if (SEQ_GT(r, b))
			r = b;
		if (SEQ_LT(l, r))
			n += r - l;
	}
	return n;
}

/* RFC 6675-style pipe: bytes above the highest SACK plus the holes
 * already retransmitted; holes not yet retransmitted count as lost. */
static uint32_t pipe(const struct tcp_conn *c)
{
	if (!c->nsacked)
		return c->snd_nxt - c->snd_una;
	uint32_t above = SEQ_GT(c->snd_nxt, c->high_sack) ? c->snd_nxt - c->high_sack : 0;
	uint32_t rx = SEQ_LT(c->rexmit_nxt, c->high_sack) ? c->rexmit_nxt : c->high_sack;
	uint32_t holes = 0;
	if (SEQ_GT(rx, c->snd_una))
		holes = (rx - c->snd_una) - sacked_in(c, c->snd_una, rx);
	return above + holes;
}

/* The next hole at or after from, below high_sack: start and length. */
static bool next_hole(const struct tcp_conn *c, uint32_t from, uint32_t *start, uint32_t *len)
{
	uint32_t p = SEQ_LT(from, c->snd_una) ? c->snd_una : from;
	for (;;) {
		if (SEQ_GEQ(p, c->high_sack))
			return false;
		bool moved = false;
		uint32_t end = c->high_sack;
		for (unsigned i = 0; i < c->nsacked; i++) {
			if (SEQ_LEQ(c->sacked[i].l, p) && SEQ_LT(p, c->sacked[i].r)) {
				p = c->sacked[i].r;
				moved = true;
			} else if (SEQ_GT(c->sacked[i].l, p) && SEQ_LT(c->sacked[i].l, end)) {
				end = c->sacked[i].l;
			}
		}
		if (moved)
			continue;
		*start = p;
		*len = end - p;
		return true;
	}
}

static bool can_send_data(const struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_ESTABLISHED: case TCP_CLOSE_WAIT: case TCP_FIN_WAIT_1:
	case TCP_CLOSING: case TCP_LAST_ACK:
		return true;
	default:
		return false;
	}
}

/* Sends what the windows allow: SACK-recovery retransmissions first,
 * then new data (Nagle, cork, MSG_MORE), then the FIN. */
static void output(struct tcp_conn *c, bool more)
{
	if (!can_send_data(c) || !c->snd.size) {
		if (c->ack_now)
			send_ack(c);
		return;
	}
	uint32_t seg_max = c->mss;
	if (c->tso_max > c->mss)
		seg_max = c->tso_max / c->mss * c->mss;
	/* idle for an RTO with nothing in flight: what cwnd said about the
	 * path is stale, start again from the initial window (RFC 5681 4.1,
	 * as Linux's tcp_slow_start_after_idle) */
	if (c->snd_una == c->snd_max && c->snd.len && c->last_snd_us &&
	    now(c) - c->last_snd_us > c->rto_us && c->cwnd > TCP_INIT_CWND * c->mss) {
		c->cwnd = TCP_INIT_CWND * c->mss;
		c->epoch_us = 0;
	}
	for (int guard = 0; guard < 4096; guard++) {
		uint32_t una = c->snd_una;
		/* once the FIN went out its sequence number is fixed */
		uint32_t data_end = c->fin_sent ? c->fin_seq : una + c->snd.len;
		bool sack_rec = c->in_recovery && c->sack_ok && c->nsacked;
		uint32_t flight = sack_rec ? pipe(c) : c->snd_nxt - una;
		uint32_t cwnd_room = c->cwnd > flight ? c->cwnd - flight : 0;
		if (sack_rec && cwnd_room >= c->mss) {
			uint32_t hs, hl;
			if (next_hole(c, c->rexmit_nxt, &hs, &hl)) {
				hl = MIN(hl, (uint32_t)c->mss);
				if (SEQ_GT(hs + hl, data_end))
					hl = data_end - hs;
				if (hl) {
					send_seg(c, hs, TCP_ACK | TCP_PSH, hl, true);
					c->rexmit_nxt = hs + hl;
					c->rtt_timing = false;
					if (!c->rto_at)
						arm_rto(c);
					continue;
				}
			}
			c->rexmit_nxt = c->high_sack;
		}
		uint32_t avail = SEQ_GT(data_end, c->snd_nxt) ? data_end - c->snd_nxt : 0;
		uint32_t wnd_edge = una + c->snd_wnd;
		uint32_t wnd_room = SEQ_GT(wnd_edge, c->snd_nxt) ? wnd_edge - c->snd_nxt : 0;
		uint32_t len = MIN(avail, MIN(wnd_room, cwnd_room));
		c->cwnd_limited = cwnd_room < MIN(avail, wnd_room);
		len = MIN(len, seg_max);
		bool fin = c->fin_queued && c->snd_nxt + len == data_end &&
			   len <= c->mss && (len || cwnd_room || flight == 0);
		if (!len && !fin)
			break;
		if (len && len < c->mss && !fin) {
			/* a partial segment */
			if (len < avail) {
				/* held back by a window: wait for room unless nothing
				 * is in flight (then the ACKs that would open it never come) */
				if (flight)
					break;
			} else if (c->cork || more) {
				break;
			} else if (!c->nodelay && c->snd_nxt != una) {
				break;   /* Nagle */
			}
		}
		uint8_t flags = TCP_ACK;
		if (len && c->snd_nxt + len == data_end)
			flags |= TCP_PSH;
		if (fin)
			flags |= TCP_FIN;
		bool rexmit = SEQ_LT(c->snd_nxt, c->snd_max);
		send_seg(c, c->snd_nxt, flags, len, rexmit);
		if (!rexmit && !c->rtt_timing) {
			c->rtt_timing = true;
			c->rtt_seq = c->snd_nxt;
			c->rtt_start = now(c);
		}
		if (rexmit)
			c->rtt_timing = false;
		c->snd_nxt += len;
		if (fin) {
			c->fin_seq = c->snd_nxt;
			c->fin_sent = true;
			c->snd_nxt++;
		}
		c->bytes_sent += len;
		if (SEQ_GT(c->snd_nxt, c->snd_max))
			c->snd_max = c->snd_nxt;
		if (!c->rto_at)
			arm_rto(c);
		if (!rexmit)
			arm_tlp(c);
		c->persist_at = 0;
		if (fin)
			break;
	}
	/* zero window with data waiting and nothing in flight: probe it */
	if (c->snd_nxt == c->snd_una && c->snd.len && c->snd_wnd == 0 && !c->persist_at) {
		c->rto_at = 0;
		uint64_t t = (uint64_t)c->rto_us << c->backoff;
		c->persist_at = now(c) + MIN(t, (uint64_t)TCP_RTO_MAX_US);
	}
	if (c->ack_now)
		send_ack(c);
}

void tcp_push(struct tcp_conn *c, bool more)
{
	output(c, more);
	finish(c);
}

void tcp_ack_now(struct tcp_conn *c)
{
	if (tcp_synchronized(c) && c->state != TCP_TIME_WAIT) {
		c->ack_now = true;
		c->quickacks = MAX(c->quickacks, 1u);
		output(c, false);
	}
	finish(c);
}

/* ---- state changes -------------------------------------------------------- */

static void cancel_timers(struct tcp_conn *c)
{
	c->rto_at = c->dack_at = c->ka_at = c->tw_at = c->persist_at = c->tlp_at = 0;
}

static void unlink_child(struct tcp_conn *c)
{
	struct tcp_conn *p = c->parent;
	if (!p)
		return;
	for (struct tcp_conn **pp = &p->aq_head; *pp; pp = &(*pp)->aq_next) {
		if (*pp == c) {
			*pp = c->aq_next;
			break;
		}
	}
	p->aq_tail = NULL;
	for (struct tcp_conn *q = p->aq_head; q; q = q->aq_next)
		p->aq_tail = q;
	if (c->in_aq)
		p->aq_len--;
	else
		p->synq_len--;
	c->parent = NULL;
	c->aq_next = NULL;
	c->in_aq = false;
}

static void enter_closed(struct tcp_conn *c)
{
	c->state = TCP_CLOSED;
	cancel_timers(c);
	/* an unaccepted child that dies leaves its listener's queues; once it
	 * was ready it stays for accept to return (Linux does the same) */
	if (c->parent && !c->in_aq)
		unlink_child(c);
	c->pending_ev |= TCP_EV_READABLE | TCP_EV_WRITABLE;
}

static void enter_time_wait(struct tcp_conn *c)
{
	c->state = TCP_TIME_WAIT;
	cancel_timers(c);
	c->tw_at = now(c) + TCP_TIMEWAIT_US;
	c->pending_ev |= TCP_EV_TIMEWAIT | TCP_EV_READABLE | TCP_EV_WRITABLE;
}

static void set_error(struct tcp_conn *c, int err)
{
	c->error = err;
	c->pending_ev |= TCP_EV_ERROR | TCP_EV_READABLE | TCP_EV_WRITABLE;
}

/* Internal: no finish(), the entry point that called it ends with one
 * (an event here could free c under the caller's feet). */
static void abort_conn(struct tcp_conn *c, int err)
{
	switch (c->state) {
	case TCP_SYN_RECEIVED: case TCP_ESTABLISHED: case TCP_FIN_WAIT_1:
	case TCP_FIN_WAIT_2: case TCP_CLOSE_WAIT:
		send_rst(c);
		break;
	default:
		break;
	}
	if (err)
		set_error(c, err);
	c->reset = true;
	enter_closed(c);
}

void tcp_abort(struct tcp_conn *c, int err)
{
	abort_conn(c, err);
	finish(c);
}

static void become_established(struct tcp_conn *c)
{
	c->state = TCP_ESTABLISHED;
	c->established_once = true;
	c->rto_at = 0;
	c->retries = 0;
	c->backoff = 0;
	set_mss(c);
	init_cc(c);
	c->rexmit_nxt = c->snd_una;
	c->last_rcv_us = now(c);
	if (c->keepalive)
		c->ka_at = now(c) + (uint64_t)c->ka_idle_s * 1000000;
	c->pending_ev |= TCP_EV_CONNECTED | TCP_EV_WRITABLE;
	if (c->parent) {
		struct tcp_conn *p = c->parent;
		c->in_aq = true;
		p->synq_len--;
		p->aq_len++;
		p->pending_ev |= TCP_EV_ACCEPT;
	}
}

/* Options of a SYN: what the peer offers. */
static void take_syn_opts(struct tcp_conn *c, const struct tcp_info *t, bool we_offered)
{
	const struct tcp_opts *o = &t->opts;
	c->peer_mss = o->has_mss && o->mss ? o->mss : TCP_DEFAULT_MSS;
	c->ws_ok = o->has_wscale && we_offered;
	c->snd_wscale = c->ws_ok ? o->wscale : 0;
	if (!c->ws_ok)
		c->rcv_wscale = 0;
	c->sack_ok = o->sack_ok && we_offered;
	c->ts_ok = o->has_ts && we_offered;
	if (c->ts_ok) {
		c->ts_recent = o->tsval;
		c->ts_recent_age_s = (uint32_t)(now(c) / 1000000);
	}
}

/* ---- listen ------------------------------------------------------------- */

void tcp_listen(struct tcp_conn *c, unsigned backlog)
{
	c->state = TCP_LISTEN;
	c->backlog = backlog ? backlog : 1;
	c->closed_notified = false;
}

struct tcp_conn *tcp_accept(struct tcp_conn *l)
{
	for (struct tcp_conn *q = l->aq_head; q; q = q->aq_next) {
		if (q->in_aq) {
			unlink_child(q);
			return q;
		}
	}
	return NULL;
}

static void child_start(struct tcp_conn *l, struct tcp_conn *c, const struct tcp_info *t);
static void child_start_quiet(struct tcp_conn *l, struct tcp_conn *c, const struct tcp_info *t,
			      uint32_t cookie_iss);
static void output(struct tcp_conn *c, bool more);
static bool sync_input(struct tcp_conn *c, const struct tcp_info *t);

/* SYN cookies (when the SYN queue is full): the SYN-ACK's sequence number
 * is a keyed hash of the 4-tuple, the peer's ISN and a 64 s counter, with
 * the low 2 bits naming the MSS; nothing is stored. The connection that a
 * valid ACK then creates has no window scaling, SACK or timestamps (the
 * cookie cannot carry them). */
static const uint16_t cookie_mss[4] = { 536, 1300, 1440, 1460 };

static uint32_t cookie_hash(const struct tcp_conn *l, uint32_t saddr, uint32_t daddr,
			    uint16_t sport, uint16_t dport, uint32_t irs, uint32_t count)
{
	uint32_t k = l->env->isn_secret;
	uint32_t h = mix32(saddr ^ k ^ 0x5bd1e995u);
	h = mix32(h ^ daddr);
	h = mix32(h ^ ((uint32_t)sport << 16 | dport));
	h = mix32(h ^ irs);
	return mix32(h ^ count ^ (k << 3));
}

static void send_cookie(struct tcp_conn *l, uint32_t saddr, uint32_t daddr,
			const struct tcp_info *t)
{
	uint16_t peer = t->opts.has_mss && t->opts.mss ? t->opts.mss : TCP_DEFAULT_MSS;
	unsigned idx = 0;
	for (unsigned i = 0; i < 4; i++)
		if (cookie_mss[i] <= peer)
			idx = i;
	uint32_t count = (uint32_t)(now(l) / TCP_COOKIE_PERIOD_US);
	uint32_t iss = (cookie_hash(l, saddr, daddr, t->sport, t->dport, t->seq, count) & ~3u) | idx;
	uint8_t h[TCP_HLEN + 4];
	put_be16(h, t->dport);
	put_be16(h + 2, t->sport);
	put_be32(h + 4, iss);
	put_be32(h + 8, t->seq + 1);
	h[12] = (uint8_t)(((TCP_HLEN + 4) / 4) << 4);
	h[13] = TCP_SYN | TCP_ACK;
	put_be16(h + 14, (uint16_t)MIN(rcv_buf_size(l), 65535u));
	put_be16(h + 16, 0);
	put_be16(h + 18, 0);
	h[20] = 2; h[21] = 4;
	put_be16(h + 22, (uint16_t)adv_mss(l));
	l->cookies_at = now(l);
	l->stat_cookies_sent++;
	l->stat_out_segs++;
	l->env->reply(l->env->ctx, daddr, saddr, h, sizeof(h));
}

/* An ACK at a listener: true when it answered one of our cookies (and a
 * connection was made of it). */
static bool cookie_ack(struct tcp_conn *l, uint32_t saddr, uint32_t daddr,
		       const struct tcp_info *t)
{
	if (!l->cookies_at || now(l) - l->cookies_at > 2ull * TCP_COOKIE_PERIOD_US ||
	    (t->flags & (TCP_SYN | TCP_RST)) || !l->env->reply)
		return false;
	uint32_t iss = t->ack - 1, irs = t->seq - 1;
	uint32_t count = (uint32_t)(now(l) / TCP_COOKIE_PERIOD_US);
	bool ok = false;
	for (uint32_t back = 0; back < 2 && !ok; back++)
		ok = ((cookie_hash(l, saddr, daddr, t->sport, t->dport, irs, count - back) ^ iss) & ~3u) == 0;
	if (!ok || l->aq_len >= l->backlog)
		return false;
	struct tcp_conn *c = l->env->spawn(l->env->ctx, l, daddr, t->dport, saddr, t->sport);
	if (!c)
		return false;
	/* as if the SYN had been kept: child_start's work without options */
	struct tcp_info syn = { .sport = t->sport, .dport = t->dport, .seq = irs, .flags = TCP_SYN,
				.window = (uint16_t)MIN((uint32_t)t->window, 65535u) };
	syn.opts.has_mss = true;
	syn.opts.mss = cookie_mss[iss & 3];
	child_start_quiet(l, c, &syn, iss);
	l->stat_cookies_ok++;
	sync_input(c, t);
	if (c->state != TCP_CLOSED && c->state != TCP_TIME_WAIT)
		output(c, false);
	finish(c);
	return true;
}

/* The SYN queue is bounded; when it is full, SYN cookies answer (the
 * accept queue, backlog, bounds everything). */
static bool listen_input(struct tcp_conn *l, uint32_t saddr, uint32_t daddr,
			 const struct tcp_info *t)
{
	if (t->flags & TCP_RST)
		return false;
	if (t->flags & TCP_ACK) {
		if (cookie_ack(l, saddr, daddr, t))
			return false;
		return true;   /* RST it */
	}
	if (!(t->flags & TCP_SYN) || (t->flags & TCP_FIN))
		return false;
	unsigned synq_max = MAX(l->backlog, 16u);
	if (l->aq_len >= l->backlog) {
		l->stat_in_errs++;
		return false;
	}
	if (l->synq_len >= synq_max) {
		l->stat_in_errs++;
		if (l->env->reply)
			send_cookie(l, saddr, daddr, t);
		return false;
	}
	struct tcp_conn *c = l->env->spawn(l->env->ctx, l, daddr, t->dport, saddr, t->sport);
	if (!c)
		return false;
	child_start(l, c, t);
	finish(c);
	return false;
}

/* Called by the glue's spawn path: the child exists with its tuple. */
static void child_start(struct tcp_conn *l, struct tcp_conn *c, const struct tcp_info *t)
{
	child_start_quiet(l, c, t, 0);
	c->rtt_start = now(c);
	send_syn(c, false);
	c->rcv_adv = c->rcv_nxt + MIN(rcv_buf_size(c), 65535u);
	arm_rto(c);
}

/* A child in SYN_RECEIVED for the SYN t; iss: a cookie's (0: a fresh one). */
static void child_start_quiet(struct tcp_conn *l, struct tcp_conn *c, const struct tcp_info *t,
			      uint32_t cookie_iss)
{
	c->state = TCP_SYN_RECEIVED;
	c->closed_notified = false;
	c->parent = l;
	c->nodelay = l->nodelay;
	c->cork = l->cork;
	c->cubic = l->cubic;
	c->keepalive = l->keepalive;
	c->ka_idle_s = l->ka_idle_s;
	c->ka_intvl_s = l->ka_intvl_s;
	c->ka_cnt = l->ka_cnt;
	c->user_mss = l->user_mss;
	c->sndbuf = l->sndbuf;
	c->rcvbuf = l->rcvbuf;
	c->linger_on = l->linger_on;
	c->linger_s = l->linger_s;
	c->irs = t->seq;
	c->rcv_nxt = t->seq + 1;
	take_syn_opts(c, t, true);
	c->iss = cookie_iss ? cookie_iss : isn(c);
	c->ts_offset = c->env->random(c->env->ctx);
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->recover = c->iss;
	c->snd_wnd = t->window;   /* unscaled in a SYN */
	c->snd_wl1 = t->seq;
	c->snd_wl2 = c->iss;
	c->adv_mss = (uint16_t)adv_mss(c);
	set_mss(c);
	/* child list: SYN_RECEIVED children sit in the listener's list too */
	c->aq_next = NULL;
	if (l->aq_tail)
		l->aq_tail->aq_next = c;
	else
		l->aq_head = c;
	l->aq_tail = c;
	l->synq_len++;
	c->rcv_adv = c->rcv_nxt + MIN(rcv_buf_size(c), 65535u);
	if (cookie_iss)
		c->retries = 1;   /* no RTT sample: the SYN-ACK's time is unknown */
}

/* ---- active open --------------------------------------------------------- */

int tcp_connect(struct tcp_conn *c)
{
	c->state = TCP_SYN_SENT;
	c->closed_notified = false;
	c->iss = isn(c);
	c->ts_offset = c->env->random(c->env->ctx);
	c->snd_una = c->iss;
	c->snd_nxt = c->snd_max = c->iss + 1;
	c->recover = c->iss;
	c->adv_mss = (uint16_t)adv_mss(c);
	c->rcv_wscale = TCP_RCV_WSCALE;
	c->rtt_start = now(c);
	send_syn(c, false);
	arm_rto(c);
	finish(c);
	return 0;
}

static bool synsent_input(struct tcp_conn *c, const struct tcp_info *t)
{
	bool ack = t->flags & TCP_ACK;
	if (ack && (SEQ_LEQ(t->ack, c->iss) || SEQ_GT(t->ack, c->snd_max)))
		return !(t->flags & TCP_RST);
	if (t->flags & TCP_RST) {
		if (ack) {
			set_error(c, T_ECONNREFUSED);
			c->reset = true;
			enter_closed(c);
		}
		return false;
	}
	if (!(t->flags & TCP_SYN))
		return false;
	c->irs = t->seq;
	c->rcv_nxt = t->seq + 1;
	take_syn_opts(c, t, !c->no_opts);
	if (ack) {
		c->snd_una = t->ack;
		c->snd_wnd = (uint32_t)t->window << c->snd_wscale;
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = t->seq;
		c->snd_wl2 = t->ack;
		if (c->retries == 0)
			rtt_sample(c, (uint32_t)(now(c) - c->rtt_start));
		if (alloc_rings(c)) {
			abort_conn(c, T_ENOMEM);
			return false;
		}
		become_established(c);
		if (c->fin_queued)
			c->state = TCP_FIN_WAIT_1;   /* shut down while connecting */
		c->rcv_adv = c->rcv_nxt;
		c->ack_now = true;
		output(c, false);   /* the ACK, with data when some is queued */
	} else {
		/* simultaneous open */
		c->state = TCP_SYN_RECEIVED;
		c->snd_wnd = t->window;
		c->snd_wl1 = t->seq;
		c->snd_wl2 = c->iss;
		set_mss(c);
		send_syn(c, false);
		arm_rto(c);
	}
	return false;
}

/* ---- receive path ---------------------------------------------------------- */

static void ooo_add(struct tcp_conn *c, uint32_t l, uint32_t r)
{
	/* merge with every island it touches */
	for (unsigned i = 0; i < c->nooo;) {
		if (SEQ_LEQ(c->ooo[i].l, r) && SEQ_GEQ(c->ooo[i].r, l)) {
			if (SEQ_LT(c->ooo[i].l, l))
				l = c->ooo[i].l;
			if (SEQ_GT(c->ooo[i].r, r))
				r = c->ooo[i].r;
			c->ooo[i] = c->ooo[--c->nooo];
		} else {
			i++;
		}
	}
	if (c->nooo < TCP_OOO_MAX) {
		c->ooo[c->nooo].l = l;
		c->ooo[c->nooo].r = r;
		c->nooo++;
	}
	c->last_ooo = l;
}

/* Takes islands that now touch rcv_nxt into the readable bytes. */
static void ooo_collapse(struct tcp_conn *c)
{
	bool again = true;
	while (again) {
		again = false;
		for (unsigned i = 0; i < c->nooo; i++) {
			if (SEQ_LEQ(c->ooo[i].l, c->rcv_nxt)) {
				if (SEQ_GT(c->ooo[i].r, c->rcv_nxt)) {
					uint32_t n = c->ooo[i].r - c->rcv_nxt;
					c->rcv.len += n;
					c->rcv_nxt += n;
					c->bytes_received += n;
				}
				c->ooo[i] = c->ooo[--c->nooo];
				again = true;
				break;
			}
		}
	}
}

/* In-window data (already trimmed to the window). */
static void rcv_data(struct tcp_conn *c, uint32_t seq, const uint8_t *p, uint32_t len)
{
	if (!len)
		return;
	uint32_t off = seq - c->rcv_nxt;
	uint32_t room = c->rcv.size - c->rcv.len;
	if (off >= room)
		return;
	if (len > room - off)
		len = room - off;
	ring_write(&c->rcv, c->rcv.len + off, p, len);
	if (len > c->rcv_mss)
		c->rcv_mss = len;
	if (off == 0) {
		bool had_ooo = c->nooo != 0;
		c->rcv.len += len;
		c->rcv_nxt += len;
		c->bytes_received += len;
		if (had_ooo) {
			ooo_collapse(c);
			c->ack_now = true;   /* a hole filled: tell the sender at once */
		}
		c->pending_ev |= TCP_EV_READABLE;
		c->ack_pending += len;
		uint32_t full = MAX(c->rcv_mss, (uint32_t)c->adv_mss / 2);
		if (c->ack_pending >= 2 * full || c->quickacks) {
			c->ack_now = true;
			if (c->quickacks)
				c->quickacks--;
		}
	} else {
		for (unsigned i = 0; i < c->nooo; i++)
			if (SEQ_LEQ(c->ooo[i].l, seq) && SEQ_GEQ(c->ooo[i].r, seq + len)) {
				c->dsack = true;   /* had it already */
				c->dsack_l = seq;
				c->dsack_r = seq + len;
			}
		ooo_add(c, seq, seq + len);
		c->ack_now = true;   /* duplicate ACK with SACK blocks */
	}
}

/* A SACK block from the peer into the scoreboard. */
static void sack_add(struct tcp_conn *c, uint32_t l, uint32_t r)
{
	if (!SEQ_LT(l, r) || SEQ_LEQ(r, c->snd_una) || SEQ_GT(r, c->snd_max))
		return;
	if (SEQ_LT(l, c->snd_una))
		l = c->snd_una;
	for (unsigned i = 0; i < c->nsacked;) {
		if (SEQ_LEQ(c->sacked[i].l, r) && SEQ_GEQ(c->sacked[i].r, l)) {
			if (SEQ_LT(c->sacked[i].l, l))
				l = c->sacked[i].l;
			if (SEQ_GT(c->sacked[i].r, r))
				r = c->sacked[i].r;
			c->sacked[i] = c->sacked[--c->nsacked];
		} else {
			i++;
		}
	}
	if (c->nsacked == TCP_SACK_MAX) {
		/* keep the blocks nearest snd_una: drop the highest */
		unsigned hi = 0;
		for (unsigned i = 1; i < c->nsacked; i++)
			if (SEQ_GT(c->sacked[i].l, c->sacked[hi].l))
				hi = i;
		if (SEQ_GT(l, c->sacked[hi].l))
			return;
		c->sacked[hi] = c->sacked[--c->nsacked];
	}
	c->sacked[c->nsacked].l = l;
	c->sacked[c->nsacked].r = r;
	c->nsacked++;
	if (c->nsacked == 1 || SEQ_GT(r, c->high_sack))
		c->high_sack = r;
}

static void sack_trim(struct tcp_conn *c)
{
	c->sacked_bytes = 0;
	for (unsigned i = 0; i < c->nsacked;) {
		if (SEQ_LEQ(c->sacked[i].r, c->snd_una)) {
			c->sacked[i] = c->sacked[--c->nsacked];
			continue;
		}
		if (SEQ_LT(c->sacked[i].l, c->snd_una))
			c->sacked[i].l = c->snd_una;
		c->sacked_bytes += c->sacked[i].r - c->sacked[i].l;
		i++;
	}
	if (!c->nsacked)
		c->high_sack = c->snd_una;
}

/* ---- congestion control: NewReno, or CUBIC's window growth ---- */

/* ssthresh after a loss: half the flight (Reno) or 0.7 of cwnd (CUBIC,
 * with fast convergence: a window below the last maximum releases more). */
static uint32_t loss_ssthresh(struct tcp_conn *c)
{
	uint32_t flight = c->snd_max - c->snd_una;
	if (!c->cubic)
		return MAX(flight / 2, 2u * c->mss);
	uint32_t w = c->cwnd;
	c->w_max = w < c->w_max ? (uint32_t)((uint64_t)w * 85 / 100) : w;
	c->epoch_us = 0;
	return MAX((uint32_t)((uint64_t)w * 7 / 10), 2u * c->mss);
}

static uint32_t cbrt64(uint64_t x)
{
	uint64_t lo = 0, hi = 2097152;   /* 2^21: its cube exceeds 2^63 */
	while (lo < hi) {
		uint64_t mid = (lo + hi + 1) / 2;
		if (mid * mid * mid <= x)
			lo = mid;
		else
			hi = mid - 1;
	}
	return (uint32_t)lo;
}

/* Congestion avoidance for `acked` new bytes. */
static void cong_avoid(struct tcp_conn *c, uint32_t acked)
{
	if (!c->cubic) {
		c->bytes_acked += acked;
		if (c->bytes_acked >= c->cwnd) {
			c->bytes_acked -= c->cwnd;
			c->cwnd += c->mss;
		}
		return;
	}
	uint64_t t = now(c);
	uint32_t mss = c->mss;
	if (!c->epoch_us) {
		c->epoch_us = t;
		c->bytes_acked = 0;
		c->est_acc = 0;
		c->w_est = c->cwnd;
		if (c->cwnd < c->w_max) {
			/* K = cbrt((W_max - cwnd) / C) s, C = 0.4 segments/s^3 */
			uint64_t seg = (c->w_max - c->cwnd) / mss;
			c->k_ms = cbrt64(seg * 2500000000ull);
			c->w_origin = c->w_max;
		} else {
			c->k_ms = 0;
			c->w_origin = c->cwnd;
		}
	}
	/* W_cubic one RTT ahead, in bytes */
	int64_t d = (int64_t)((t - c->epoch_us + c->srtt_us) / 1000) - c->k_ms;
	if (d > 1000000)
		d = 1000000;
	if (d < -1000000)
		d = -1000000;
	int64_t target = (int64_t)c->w_origin + d * d * d * 4 / 10000000 * mss / 1000;
	if (target < (int64_t)c->cwnd)
		target = c->cwnd;
	if (target > (int64_t)c->cwnd * 3 / 2)
		target = (int64_t)c->cwnd * 3 / 2;
	/* Reno-friendly estimate: alpha = 3(1 - 0.7)/(1 + 0.7) = 0.53 segment per RTT */
	c->est_acc += acked * 53 / 100;
	if (c->est_acc >= c->cwnd) {
		c->est_acc -= c->cwnd;
		c->w_est += mss;
	}
	if ((int64_t)c->w_est > target)
		target = c->w_est;
	/* +1 MSS per `need` bytes acked */
	uint64_t need = target > (int64_t)c->cwnd ?
			(uint64_t)c->cwnd * mss / (uint64_t)(target - c->cwnd) : 100ull * c->cwnd;
	if (need < mss / 2)
		need = mss / 2;
	c->bytes_acked += acked;
	while (c->bytes_acked >= need && c->cwnd < (1u << 30)) {
		c->bytes_acked -= (uint32_t)need;
		c->cwnd += mss;
	}
}

/* Duplicate ACKs that mean a loss: 3, fewer when so little is in flight
 * and nothing new can be sent that 3 could never come (RFC 5827). */
static unsigned dupthresh(const struct tcp_conn *c)
{
	uint32_t flight_segs = (c->snd_max - c->snd_una + c->mss - 1) / c->mss;
	bool more = c->snd.len > c->snd_max - c->snd_una;
	if (!more && flight_segs < 4)
		return flight_segs > 1 ? flight_segs - 1 : 1;
	return c->reordering;
}

static void enter_recovery(struct tcp_conn *c)
{
	c->cwnd_before_loss = c->cwnd;
	c->ssthresh_before_loss = c->ssthresh;
	c->ssthresh = loss_ssthresh(c);
	c->recover = c->snd_max;
	c->in_recovery = true;
	c->recovery_ts = ts_now(c);
	c->round_max = c->snd_max;
	c->stat_recoveries++;
	c->rtt_timing = false;
	c->bytes_acked = 0;
	if (c->sack_ok && c->nsacked) {
		/* RFC 6675 5 (4.3): the first hole goes out whatever pipe says */
		c->cwnd = c->ssthresh;
		c->rexmit_nxt = c->snd_una;
		uint32_t hs, hl;
		if (next_hole(c, c->snd_una, &hs, &hl)) {
			hl = MIN(hl, (uint32_t)c->mss);
			if (hl) {
				send_seg(c, hs, TCP_ACK, hl, true);
				c->rexmit_nxt = hs + hl;
			}
		}
	} else {
		/* NewReno: retransmit the first segment, inflate by the 3 dupacks */
		uint32_t len = MIN((uint32_t)c->mss, c->snd.len);
		if (len)
			send_seg(c, c->snd_una, TCP_ACK, len, true);
		c->cwnd = c->ssthresh + 3u * c->mss;
	}
	arm_tlp(c);
}

/* Processes the ACK field; false: drop the segment. */
static bool ack_input(struct tcp_conn *c, const struct tcp_info *t, uint32_t seglen)
{
	uint32_t ack = t->ack;
	if (SEQ_GT(ack, c->snd_max)) {
		send_ack(c);   /* acks something not yet sent */
		return false;
	}
	/* RFC 5961 5.2: too old an ACK */
	uint32_t maxwin = MAX(c->max_snd_wnd, 65535u);
	if (SEQ_LT(ack, c->snd_una - maxwin)) {
		challenge_ack(c);
		return false;
	}
	uint32_t sacked_before = c->sacked_bytes;
	if (c->sack_ok && t->opts.nsack) {
		for (unsigned i = 0; i < t->opts.nsack; i++)
			sack_add(c, t->opts.sack[i][0], t->opts.sack[i][1]);
		sack_trim(c);
	}
	/* new SACK information makes an ACK a duplicate whatever its window
	 * says (RFC 6675 counts SACKed bytes, not identical ACKs) */
	bool sack_news = c->sacked_bytes > sacked_before;

	uint32_t wnd = (uint32_t)t->window << c->snd_wscale;
	bool wnd_update = false;
	if (SEQ_LT(c->snd_wl1, t->seq) || (c->snd_wl1 == t->seq && SEQ_LEQ(c->snd_wl2, ack))) {
		wnd_update = wnd != c->snd_wnd;
		c->snd_wnd = wnd;
		c->snd_wl1 = t->seq;
		c->snd_wl2 = ack;
		if (wnd > c->max_snd_wnd)
			c->max_snd_wnd = wnd;
		if (wnd)
			c->persist_at = 0;
	}

	bool advanced = SEQ_GT(ack, c->snd_una);
	if (advanced) {
		uint32_t acked = ack - c->snd_una;
		uint32_t data = acked;
		bool fin_acked = false;
		if (c->fin_sent && SEQ_GT(ack, c->fin_seq)) {
			data--;
			fin_acked = true;
		}
		if (data > c->snd.len)
			data = c->snd.len;
		ring_drop(&c->snd, data, false);
		c->snd_una = ack;
		if (SEQ_LT(c->snd_nxt, ack))
			c->snd_nxt = ack;
		if (SEQ_LT(c->rexmit_nxt, ack))
			c->rexmit_nxt = ack;
		sack_trim(c);
		if (c->rtt_timing && SEQ_GT(ack, c->rtt_seq)) {
			c->rtt_timing = false;
			rtt_sample(c, (uint32_t)(now(c) - c->rtt_start));
		}
		c->retries = 0;
		c->backoff = 0;
		c->probes = 0;
		c->dupacks = 0;
		if (c->in_recovery && c->ts_ok && t->opts.has_ts && t->opts.tsecr &&
		    SEQ_LT(t->opts.tsecr, c->recovery_ts) && !c->retries) {
			/* Eifel (RFC 3522): this ACK echoes a timestamp older than
			 * our first retransmission, so the original got through:
			 * the recovery was reordering, undo it and be more patient */
			c->in_recovery = false;
			c->cwnd = MAX(c->cwnd, c->cwnd_before_loss);
			c->ssthresh = MAX(c->ssthresh, c->ssthresh_before_loss);
			c->rexmit_nxt = c->snd_una;
			c->epoch_us = 0;
			if (c->reordering < 6)
				c->reordering++;
			c->stat_undo++;
		} else if (c->in_recovery) {
			if (SEQ_GEQ(ack, c->recover)) {
				c->in_recovery = false;
				c->cwnd = MIN(c->ssthresh, MAX(c->snd_max - c->snd_una, (uint32_t)c->mss) + c->mss);
				c->cwnd = MAX(c->cwnd, 2u * c->mss);
			} else if (!(c->sack_ok && c->nsacked)) {
				/* NewReno partial ACK: the next hole, deflate */
				uint32_t len = MIN((uint32_t)c->mss, c->snd.len);
				if (len)
					send_seg(c, c->snd_una, TCP_ACK, len, true);
				c->cwnd = c->cwnd > acked ? c->cwnd - acked : 0;
				c->cwnd += c->mss;
			}
		} else if (!c->cwnd_limited && 2 * (c->snd_max - c->snd_una + acked) < c->cwnd) {
			/* application- or window-limited: a window that was not
			 * used was not tested; do not grow it (RFC 7661) */
		} else if (c->cwnd < c->ssthresh) {
			c->cwnd += MIN(acked, 2u * c->mss * 4);
		} else {
			cong_avoid(c, acked);
		}
		if (c->cwnd > (1u << 30))
			c->cwnd = 1u << 30;
		if (c->snd_una == c->snd_max) {
			c->rto_at = 0;
			c->tlp_at = 0;
		} else {
			arm_rto(c);
			arm_tlp(c);
		}
		if (data)
			c->pending_ev |= TCP_EV_WRITABLE;
		if (fin_acked) {
			switch (c->state) {
			case TCP_FIN_WAIT_1:
				c->state = TCP_FIN_WAIT_2;
				if (c->orphan)
					c->tw_at = now(c) + TCP_FIN_TIMEOUT_US;
				break;
			case TCP_CLOSING:
				enter_time_wait(c);
				break;
			case TCP_LAST_ACK:
				enter_closed(c);
				return false;
			default:
				break;
			}
		}
	}
	/* a retransmitted hole lost again: data sent after this round's
	 * retransmissions got SACKed while holes remain; go round again */
	if (c->in_recovery && c->sack_ok && c->nsacked && SEQ_GT(c->high_sack, c->round_max)) {
		uint32_t hs, hl;
		if (next_hole(c, c->snd_una, &hs, &hl) && SEQ_LT(hs, c->rexmit_nxt)) {
			c->rexmit_nxt = c->snd_una;
			c->round_max = c->snd_max;
		}
	}
	if (advanced) {
		/* a new ACK: not a duplicate */
	} else if (ack == c->snd_una && seglen == 0 && (!wnd_update || sack_news) &&
		   c->snd_una != c->snd_max && !(t->flags & (TCP_SYN | TCP_FIN))) {
		/* duplicate ACK (RFC 5681 2) */
		c->dupacks++;
		if (!c->in_recovery) {
			unsigned thresh = dupthresh(c);
			bool lost = c->dupacks >= thresh ||
				    (c->sack_ok && c->sacked_bytes >= thresh * c->mss);
			if (lost && SEQ_GEQ(c->snd_una, c->recover))
				enter_recovery(c);
		} else if (!(c->sack_ok && c->nsacked)) {
			c->cwnd += c->mss;   /* NewReno inflation */
		}
	} else if (ack == c->snd_una && c->sack_ok && !c->in_recovery && c->snd_una != c->snd_max &&
		   c->sacked_bytes >= dupthresh(c) * c->mss && SEQ_GEQ(c->snd_una, c->recover)) {
		enter_recovery(c);
	}
	return true;
}

static void rcv_fin(struct tcp_conn *c)
{
	c->rcv_nxt++;
	c->rcv_fin = true;
	c->fin_ooo = false;
	c->ack_now = true;
	c->pending_ev |= TCP_EV_READABLE;
	switch (c->state) {
	case TCP_SYN_RECEIVED:
	case TCP_ESTABLISHED:
		c->state = TCP_CLOSE_WAIT;
		break;
	case TCP_FIN_WAIT_1:
		/* our FIN not acked yet (else we would be in FIN_WAIT_2) */
		c->state = TCP_CLOSING;
		break;
	case TCP_FIN_WAIT_2:
		enter_time_wait(c);
		break;
	default:
		break;
	}
}

/* Segment acceptability (RFC 9293 3.10.7.4, first check). */
static bool acceptable(const struct tcp_conn *c, uint32_t seq, uint32_t len)
{
	uint32_t wnd = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	if (!len) {
		if (!wnd)
			return seq == c->rcv_nxt;
		return SEQ_GEQ(seq, c->rcv_nxt) && SEQ_LT(seq, c->rcv_nxt + wnd);
	}
	if (!wnd)
		return false;
	return (SEQ_GEQ(seq, c->rcv_nxt) && SEQ_LT(seq, c->rcv_nxt + wnd)) ||
	       (SEQ_GEQ(seq + len - 1, c->rcv_nxt) && SEQ_LT(seq + len - 1, c->rcv_nxt + wnd));
}

static bool sync_input(struct tcp_conn *c, const struct tcp_info *t)
{
	uint8_t f = t->flags;
	uint32_t seq = t->seq;
	uint32_t plen = (uint32_t)t->payload_len;
	uint32_t seglen = plen + ((f & TCP_SYN) ? 1 : 0) + ((f & TCP_FIN) ? 1 : 0);

	/* a retransmitted SYN while we wait for the handshake's ACK */
	if (c->state == TCP_SYN_RECEIVED && (f & TCP_SYN) && !(f & (TCP_ACK | TCP_RST)) &&
	    seq == c->irs) {
		send_syn(c, true);
		return false;
	}
	/* simultaneous open: the peer's SYN-ACK repeats the SYN we took
	 * already; its ACK is what counts (RFC 9293 figure 8) */
	if (c->state == TCP_SYN_RECEIVED && !c->parent && (f & TCP_SYN) && (f & TCP_ACK) &&
	    seq == c->irs) {
		f &= (uint8_t)~TCP_SYN;
		seq++;
		seglen--;
	}
	/* PAWS (RFC 7323 5) */
	if (c->ts_ok && t->opts.has_ts && !(f & TCP_RST) && SEQ_LT(t->opts.tsval, c->ts_recent)) {
		uint32_t age = (uint32_t)(now(c) / 1000000) - c->ts_recent_age_s;
		if (age < 24u * 24 * 3600) {
			c->stat_in_errs++;
			send_ack(c);
			return false;
		}
	}
	if (!acceptable(c, seq, seglen)) {
		if (!(f & TCP_RST) && plen && SEQ_LEQ(seq + plen, c->rcv_nxt) && c->sack_ok) {
			/* all of it arrived before: D-SACK it */
			c->dsack = true;
			c->dsack_l = seq;
			c->dsack_r = seq + plen;
		}
		if (!(f & TCP_RST)) {
			if (c->state == TCP_TIME_WAIT && (f & TCP_FIN))
				c->tw_at = now(c) + TCP_TIMEWAIT_US;
			send_ack(c);
		}
		return false;
	}
	c->last_rcv_us = now(c);
	if (c->keepalive && c->ka_at)
		c->probes = 0;

	if (f & TCP_RST) {
		/* RFC 5961 3.2: only an exact match resets; else a challenge */
		if (seq != c->rcv_nxt) {
			challenge_ack(c);
			return false;
		}
		c->reset = true;
		switch (c->state) {
		case TCP_SYN_RECEIVED:
			if (!c->parent)
				set_error(c, T_ECONNREFUSED);
			break;
		case TCP_ESTABLISHED: case TCP_FIN_WAIT_1: case TCP_FIN_WAIT_2:
		case TCP_CLOSE_WAIT:
			set_error(c, c->state == TCP_CLOSE_WAIT ? T_EPIPE : T_ECONNRESET);
			break;
		default:
			break;
		}
		enter_closed(c);
		return false;
	}
	if (f & TCP_SYN) {
		/* RFC 5961 4.2: a SYN in a synchronized state gets a challenge ACK */
		challenge_ack(c);
		return false;
	}
	if (!(f & TCP_ACK))
		return false;

	/* timestamps: TS.Recent from segments covering Last.ACK.sent */
	if (c->ts_ok && t->opts.has_ts && SEQ_LEQ(seq, c->last_ack_sent) &&
	    SEQ_GEQ(t->opts.tsval, c->ts_recent)) {
		c->ts_recent = t->opts.tsval;
		c->ts_recent_age_s = (uint32_t)(now(c) / 1000000);
	}

	if (c->state == TCP_SYN_RECEIVED) {
		if (SEQ_LEQ(t->ack, c->snd_una) || SEQ_GT(t->ack, c->snd_max))
			return true;   /* RST it */
		if (c->parent && c->parent->aq_len >= c->parent->backlog) {
			/* accept queue full: ignore the ACK, the SYN-ACK will be
			 * sent again and the peer's ACK with it (Linux) */
			c->parent->stat_in_errs++;
			return false;
		}
		if (alloc_rings(c)) {
			abort_conn(c, T_ENOMEM);
			return false;
		}
		if (c->retries == 0)
			rtt_sample(c, (uint32_t)(now(c) - c->rtt_start));
		c->snd_una = t->ack;
		c->snd_wnd = (uint32_t)t->window << c->snd_wscale;
		c->max_snd_wnd = c->snd_wnd;
		c->snd_wl1 = seq;
		c->snd_wl2 = t->ack;
		become_established(c);
		c->rcv_adv = c->rcv_nxt + tcp_rcv_window(c);
	}
	if (c->state == TCP_TIME_WAIT) {
		if (f & TCP_FIN) {
			c->tw_at = now(c) + TCP_TIMEWAIT_US;
			send_ack(c);
		}
		return false;
	}
	if (!ack_input(c, t, plen))
		return false;
	if (c->state == TCP_CLOSED)
		return false;

	/* data */
	const uint8_t *p = t->payload;
	bool fin = f & TCP_FIN;
	if (plen || fin) {
		switch (c->state) {
		case TCP_ESTABLISHED: case TCP_FIN_WAIT_1: case TCP_FIN_WAIT_2:
			break;
		default:
			/* the peer's FIN came already: no more data from it */
			plen = 0;
			fin = false;
			break;
		}
	}
	if (plen && c->orphan && c->state != TCP_ESTABLISHED) {
		/* data for a socket the application closed: RST (Linux) */
		abort_conn(c, 0);
		return false;
	}
	if (plen) {
		if (SEQ_LT(seq, c->rcv_nxt)) {
			uint32_t d = c->rcv_nxt - seq;
			c->dsack = true;
			c->dsack_l = seq;
			c->dsack_r = d >= plen ? seq + plen : c->rcv_nxt;
			if (d >= plen) {
				plen = 0;
				c->ack_now = true;   /* a duplicate: ACK it (RFC 9293) */
			} else {
				p += d;
				plen -= d;
				seq = c->rcv_nxt;
			}
		}
		uint32_t wnd_end = c->rcv_adv;
		if (SEQ_GT(seq + plen, wnd_end)) {
			uint32_t keep = SEQ_GT(wnd_end, seq) ? wnd_end - seq : 0;
			if (keep < plen)
				fin = false;
			plen = keep;
			c->ack_now = true;
		}
		rcv_data(c, seq, p, plen);
	}
	if (fin) {
		uint32_t fseq = t->seq + (uint32_t)t->payload_len;
		if (fseq == c->rcv_nxt)
			rcv_fin(c);
		else if (SEQ_GT(fseq, c->rcv_nxt)) {
			c->fin_ooo = true;
			c->fin_ooo_seq = fseq;
			c->ack_now = true;
		}
	}
	if (c->fin_ooo && c->fin_ooo_seq == c->rcv_nxt && !c->rcv_fin)
		rcv_fin(c);
	return false;
}

bool tcp_input_seg(struct tcp_conn *c, uint32_t saddr, uint32_t daddr, const struct tcp_info *t)
{
	bool rst = false;
	c->stat_in_segs++;
	switch (c->state) {
	case TCP_CLOSED:
		return !(t->flags & TCP_RST);
	case TCP_LISTEN:
		rst = listen_input(c, saddr, daddr, t);
		break;
	case TCP_SYN_SENT:
		rst = synsent_input(c, t);
		break;
	default:
		rst = sync_input(c, t);
		if (c->state != TCP_CLOSED) {
			output(c, c->cork);
			if (c->ack_pending && !c->dack_at && c->state != TCP_TIME_WAIT)
				c->dack_at = now(c) + TCP_DELACK_US;
		}
		break;
	}
	struct tcp_conn *parent = c->parent;
	unsigned pev = parent ? parent->pending_ev : 0;
	finish(c);
	if (pev)
		finish(parent);
	return rst;
}

bool tcp_rst_for(const struct tcp_info *t, uint8_t *hdr, unsigned *hlen)
{
	if (t->flags & TCP_RST)
		return false;
	uint32_t seq, ack = 0;
	uint8_t flags = TCP_RST;
	if (t->flags & TCP_ACK) {
		seq = t->ack;
	} else {
		seq = 0;
		ack = t->seq + (uint32_t)t->payload_len + ((t->flags & TCP_SYN) ? 1 : 0) +
		      ((t->flags & TCP_FIN) ? 1 : 0);
		flags |= TCP_ACK;
	}
	put_be16(hdr, t->dport);
	put_be16(hdr + 2, t->sport);
	put_be32(hdr + 4, seq);
	put_be32(hdr + 8, ack);
	hdr[12] = 5 << 4;
	hdr[13] = flags;
	put_be16(hdr + 14, 0);
	put_be16(hdr + 16, 0);
	put_be16(hdr + 18, 0);
	*hlen = TCP_HLEN;
	return true;
}

bool tcp_tw_reusable(const struct tcp_conn *c, const struct tcp_info *t)
{
	if (c->state != TCP_TIME_WAIT || (t->flags & (TCP_SYN | TCP_ACK | TCP_RST)) != TCP_SYN)
		return false;
	if (c->ts_ok && t->opts.has_ts)
		return SEQ_GT(t->opts.tsval, c->ts_recent);
	return SEQ_GT(t->seq, c->rcv_nxt);
}

void tcp_tw_kill(struct tcp_conn *c)
{
	enter_closed(c);
	finish(c);
}

/* ---- timers ------------------------------------------------------------ */

static void rto_fire(struct tcp_conn *c)
{
	c->rto_at = 0;
	switch (c->state) {
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		if (++c->retries > (c->state == TCP_SYN_SENT ? TCP_SYN_RETRIES : TCP_SYNACK_RETRIES)) {
			if (c->state == TCP_SYN_SENT)
				set_error(c, T_ETIMEDOUT);
			enter_closed(c);
			return;
		}
		c->backoff++;
		c->rtt_timing = false;
		send_syn(c, true);
		arm_rto(c);
		return;
	case TCP_CLOSED: case TCP_LISTEN: case TCP_TIME_WAIT:
		return;
	default:
		break;
	}
	if (c->snd_una == c->snd_max)
		return;
	if (++c->retries > TCP_RETRIES2) {
		abort_conn(c, T_ETIMEDOUT);
		return;
	}
	c->stat_rto++;
	if (c->retries == 1) {
		c->cwnd_before_loss = c->cwnd;
		c->ssthresh_before_loss = c->ssthresh;
		c->ssthresh = loss_ssthresh(c);
	}
	c->cwnd = c->mss;
	c->bytes_acked = 0;
	c->in_recovery = false;
	c->recover = c->snd_max;
	c->dupacks = 0;
	c->nsacked = 0;
	c->sacked_bytes = 0;
	c->high_sack = c->snd_una;
	c->rexmit_nxt = c->snd_una;
	c->rtt_timing = false;
	c->backoff++;
	/* go back: resend from snd_una (the FIN too when it was out) */
	c->snd_nxt = c->snd_una;
	output(c, false);
	arm_rto(c);
}

static void tlp_fire(struct tcp_conn *c)
{
	if (!can_send_data(c) || c->snd_una == c->snd_max)
		return;
	if (c->in_recovery) {
		/* recovery stalled (a retransmission lost and nothing after it
		 * to tell): the first hole again, and a new round */
		uint32_t hs, hl;
		c->rexmit_nxt = c->snd_una;
		c->round_max = c->snd_max;
		if (c->sack_ok && c->nsacked && next_hole(c, c->snd_una, &hs, &hl)) {
			hl = MIN(hl, (uint32_t)c->mss);
			send_seg(c, hs, TCP_ACK, hl, true);
			c->rexmit_nxt = hs + hl;
		} else if (c->snd.len) {
			send_seg(c, c->snd_una, TCP_ACK, MIN((uint32_t)c->mss, c->snd.len), true);
		}
		arm_tlp(c);
		return;
	}
	/* new data when the window allows, else the last segment again */
	uint32_t before = c->snd_max;
	uint32_t cw = c->cwnd;
	c->cwnd = c->snd_max - c->snd_una + c->mss;
	output(c, false);
	c->cwnd = cw;
	if (c->snd_max != before)
		return;
	uint32_t data_end = c->fin_sent ? c->fin_seq : c->snd_una + c->snd.len;
	if (SEQ_GT(data_end, c->snd_max))
		data_end = c->snd_max;
	uint32_t len = data_end - c->snd_una;
	if (len > c->mss)
		len = c->mss;
	uint8_t fl = TCP_ACK;
	if (c->fin_sent && SEQ_GT(c->snd_max, c->fin_seq))
		fl |= TCP_FIN;
	if (len || (fl & TCP_FIN))
		send_seg(c, data_end - len, fl | (len ? TCP_PSH : 0), len, true);
}

static void persist_fire(struct tcp_conn *c)
{
	c->persist_at = 0;
	if (!can_send_data(c) || !c->snd.len || c->snd_wnd || c->snd_nxt != c->snd_una)
		return;
	/* a zero-window probe: an old sequence number makes the peer answer
	 * with its current window (as Linux does) */
	send_seg(c, c->snd_una - 1, TCP_ACK, 0, false);
	c->probes++;
	if (c->backoff < 12)
		c->backoff++;
	uint64_t t = (uint64_t)c->rto_us << c->backoff;
	c->persist_at = now(c) + MIN(t, (uint64_t)TCP_RTO_MAX_US);
}

static void keepalive_fire(struct tcp_conn *c)
{
	c->ka_at = 0;
	if (!c->keepalive || c->state < TCP_ESTABLISHED || c->state == TCP_TIME_WAIT)
		return;
	uint64_t t = now(c);
	uint64_t idle = (uint64_t)c->ka_idle_s * 1000000, intvl = (uint64_t)c->ka_intvl_s * 1000000;
	if (c->snd_una != c->snd_max || c->snd.len) {
		c->ka_at = t + idle;   /* not idle: data in flight has its own timer */
		return;
	}
	uint64_t since = t - c->last_rcv_us;
	if (since < idle && !c->probes) {
		c->ka_at = c->last_rcv_us + idle;
		return;
	}
	if (c->probes && c->last_rcv_us + intvl > t && since < intvl) {
		/* answered */
		c->probes = 0;
		c->ka_at = c->last_rcv_us + idle;
		return;
	}
	if (c->probes >= c->ka_cnt) {
		abort_conn(c, T_ETIMEDOUT);
		return;
	}
	send_seg(c, c->snd_una - 1, TCP_ACK, 0, false);
	c->probes++;
	c->ka_at = t + intvl;
}

void tcp_keepalive_update(struct tcp_conn *c)
{
	if (c->keepalive && c->state >= TCP_ESTABLISHED && c->state != TCP_TIME_WAIT) {
		uint64_t t = now(c);
		c->ka_at = MAX(c->last_rcv_us, t - (uint64_t)c->ka_idle_s * 1000000) +
			   (uint64_t)c->ka_idle_s * 1000000;
		if (c->ka_at < t)
			c->ka_at = t;
	} else {
		c->ka_at = 0;
	}
}

void tcp_timer(struct tcp_conn *c)
{
	uint64_t t = now(c);
	if (c->tw_at && c->tw_at <= t) {
		c->tw_at = 0;
		if (c->state == TCP_TIME_WAIT || c->state == TCP_FIN_WAIT_2) {
			enter_closed(c);
			finish(c);
			return;
		}
	}
	if (c->dack_at && c->dack_at <= t) {
		c->dack_at = 0;
		if (tcp_synchronized(c) && c->state != TCP_TIME_WAIT && c->ack_pending) {
			c->quickacks = MAX(c->quickacks, 1u);
			send_ack(c);
		}
	}
	if (c->tlp_at && c->tlp_at <= t) {
		c->tlp_at = 0;
		tlp_fire(c);
	}
	if (c->rto_at && c->rto_at <= t)
		rto_fire(c);
	if (c->state != TCP_CLOSED && c->persist_at && c->persist_at <= t)
		persist_fire(c);
	if (c->state != TCP_CLOSED && c->ka_at && c->ka_at <= t)
		keepalive_fire(c);
	finish(c);
}

/* ---- application side ------------------------------------------------ */

uint32_t tcp_snd_space(const struct tcp_conn *c, struct tcp_iov out[2])
{
	if (!c->snd.size)
		return 0;
	uint32_t free = c->snd.size - c->snd.len;
	int n = ring_span(&c->snd, c->snd.len, free, out);
	if (n < 2)
		out[1].len = 0;
	if (n < 1)
		out[0].len = 0;
	return free;
}

void tcp_snd_commit(struct tcp_conn *c, uint32_t n)
{
	if (n > c->snd.size - c->snd.len)
		n = c->snd.size - c->snd.len;
	c->snd.len += n;
}

uint32_t tcp_rcv_peek(const struct tcp_conn *c, struct tcp_iov out[2])
{
	int n = ring_span(&c->rcv, 0, c->rcv.len, out);
	if (n < 2)
		out[1].len = 0;
	if (n < 1)
		out[0].len = 0;
	return c->rcv.len;
}

void tcp_rcv_consume(struct tcp_conn *c, uint32_t n)
{
	if (n > c->rcv.len)
		n = c->rcv.len;
	if (!n)
		return;
	uint32_t before = SEQ_GT(c->rcv_adv, c->rcv_nxt) ? c->rcv_adv - c->rcv_nxt : 0;
	/* out-of-order bytes sit after the readable ones, at offsets from
	 * the head: dropping from the head keeps them in place */
	ring_drop(&c->rcv, n, c->nooo == 0);
	if (tcp_synchronized(c) && c->state != TCP_TIME_WAIT && c->state != TCP_CLOSED &&
	    !c->rcv_fin) {
		/* a window update only when the window the peer knows has
		 * shrunk to half the buffer or less and would at least double
		 * (Linux's __tcp_cleanup_rbuf): otherwise the ACKs that data
		 * draws anyway carry it */
		if (2 * before <= c->rcv.size) {
			uint32_t after = tcp_rcv_window(c);
			if (after >= 2 * before && after >= c->adv_mss)
				send_ack(c);
		}
	}
	finish(c);
}

static void shutdown_wr(struct tcp_conn *c)
{
	switch (c->state) {
	case TCP_ESTABLISHED:
		c->state = TCP_FIN_WAIT_1;
		break;
	case TCP_CLOSE_WAIT:
		c->state = TCP_LAST_ACK;
		break;
	case TCP_SYN_SENT:
	case TCP_SYN_RECEIVED:
		c->fin_queued = true;   /* sent once established */
		return;
	default:
		return;
	}
	c->fin_queued = true;
	output(c, false);
}

void tcp_shutdown_wr(struct tcp_conn *c)
{
	shutdown_wr(c);
	finish(c);
}

void tcp_close(struct tcp_conn *c)
{
	c->orphan = true;
	switch (c->state) {
	case TCP_LISTEN: {
		struct tcp_conn *q;
		while ((q = c->aq_head)) {
			unlink_child(q);
			q->orphan = true;
			q->closed_notified = false;   /* a reset one is reported again: freed */
			tcp_abort(q, 0);   /* may free q (TCP_EV_CLOSED) */
		}
		c->state = TCP_CLOSED;
		break;
	}
	case TCP_SYN_SENT:
		enter_closed(c);
		break;
	case TCP_SYN_RECEIVED: case TCP_ESTABLISHED: case TCP_CLOSE_WAIT:
		/* unread data or SO_LINGER 0: abort (RFC 2525 2.17, as Linux) */
		if (c->rcv.len || (c->linger_on && c->linger_s == 0) || c->state == TCP_SYN_RECEIVED) {
			tcp_abort(c, 0);
			return;
		}
		shutdown_wr(c);
		break;
	case TCP_FIN_WAIT_2:
		if (c->rcv.len) {
			tcp_abort(c, 0);
			return;
		}
		c->tw_at = now(c) + TCP_FIN_TIMEOUT_US;
		break;
	case TCP_FIN_WAIT_1: case TCP_CLOSING: case TCP_LAST_ACK:
		if (c->linger_on && c->linger_s == 0) {
			tcp_abort(c, 0);
			return;
		}
		break;
	default:
		break;
	}
	finish(c);
}

void tcp_set_mtu(struct tcp_conn *c, unsigned mtu)
{
	if (mtu < 68 || mtu >= c->mtu)
		return;
	c->mtu = mtu;
	if (!tcp_synchronized(c))
		return;
	uint16_t old = c->mss;
	set_mss(c);
	if (c->mss < old && c->snd_una != c->snd_max) {
		/* resend what was cut down (without a congestion response:
		 * it was not congestion, RFC 1191 6.5) */
		c->snd_nxt = c->snd_una;
		output(c, false);
	}
	finish(c);
}

void tcp_icmp_unreach(struct tcp_conn *c, int err)
{
	/* RFC 1122 4.2.3.9: hard errors abort only a connection being opened */
	if (c->state == TCP_SYN_SENT) {
		set_error(c, err);
		enter_closed(c);
	} else if (tcp_synchronized(c)) {
		c->error = 0;   /* soft: reported only if the connection times out */
	}
	finish(c);
}
