/*
 * TCP for one connection (RFC 9293) as a pure state machine: no kernel
 * headers, no global state, no clock of its own. The environment comes in
 * through struct tcp_env (time, segment output, allocation, events), so
 * host tests (tests/unit/test_tcp*.c) drive it with scripted segments and
 * the kernel glue (tcp_sock.c) drives it from tcp_input and a net timer.
 *
 * Covered: the state machine with RST rules (RFC 9293 3.10.7) and RFC 5961
 * challenge ACKs, window scaling and timestamps with PAWS (RFC 7323), SACK
 * (RFC 2018) generation and a scoreboard used in recovery (RFC 6675-style
 * pipe), MSS and path MTU, RTO (RFC 6298, Karn, backoff, 200 ms minimum),
 * NewReno congestion control (RFC 5681/6582), delayed ACKs, Nagle, cork,
 * zero-window probes, keep-alive, linger, TIME_WAIT. See docs/net.md.
 *
 * Buffers are byte rings. The send ring holds [snd_una, snd_una + len);
 * the application appends after len, the protocol only reads below it.
 * The receive ring holds the in-order bytes the application has not read
 * yet, then (at their offsets from rcv_nxt) out-of-order bytes, tracked by
 * the ooo[] intervals: data never needs a buffer of its own. The regions
 * the application and the protocol touch are disjoint, so user copies can
 * run without the stack lock: tcp_snd_space/tcp_snd_commit and
 * tcp_rcv_peek/tcp_rcv_consume split a copy into reserve, copy, commit.
 *
 * Sequence space arithmetic is modulo 2^32 (SEQ_LT and friends).
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/packet.h"

#define SEQ_LT(a, b)  ((int32_t)((uint32_t)(a) - (uint32_t)(b)) < 0)
#define SEQ_LEQ(a, b) ((int32_t)((uint32_t)(a) - (uint32_t)(b)) <= 0)
#define SEQ_GT(a, b)  SEQ_LT(b, a)
#define SEQ_GEQ(a, b) SEQ_LEQ(b, a)

enum tcp_state {
	TCP_CLOSED = 0, TCP_LISTEN, TCP_SYN_SENT, TCP_SYN_RECEIVED, TCP_ESTABLISHED,
	TCP_FIN_WAIT_1, TCP_FIN_WAIT_2, TCP_CLOSE_WAIT, TCP_CLOSING, TCP_LAST_ACK,
	TCP_TIME_WAIT,
};
const char *tcp_state_name(enum tcp_state s);

/* Tunables (Linux's values where it has one). */
#define TCP_RTO_MIN_US      200000u
#define TCP_RTO_MAX_US      120000000u
#define TCP_RTO_INIT_US     1000000u
#define TCP_DELACK_US       40000u
#define TCP_TIMEWAIT_US     30000000u     /* 2*MSL with MSL = 15 s */
#define TCP_SYN_RETRIES     6
#define TCP_SYNACK_RETRIES  5
#define TCP_RETRIES2        15
#define TCP_FIN_TIMEOUT_US  60000000u     /* orphaned FIN_WAIT_2 */
#define TCP_DEFAULT_MSS     536
/* Ring sizes when the application sets no SO_SNDBUF/SO_RCVBUF: Linux starts
 * at 16 KiB/128 KiB (what getsockopt reports, tcp_sock.c) and autotunes up to
 * 4/6 MiB; without autotuning a fixed 208 KiB ring (net.core.wmem_default)
 * keeps the measured throughput. */
#define TCP_RING_DEFAULT    212992u
#define TCP_INIT_CWND       10            /* segments, RFC 6928 */
#define TCP_OOO_MAX         32            /* out-of-order islands kept */
#define TCP_SACK_MAX        32            /* scoreboard blocks */
#define TCP_QUICKACKS       16
#define TCP_RCV_WSCALE      7
#define TCP_COOKIE_PERIOD_US 64000000u    /* a SYN cookie is good for 64-128 s */

struct tcp_ring {
	uint8_t *buf;
	uint32_t size;             /* 0: not allocated */
	uint32_t head;             /* offset of the first byte */
	uint32_t len;              /* bytes held (send: unacked + unsent; rcv: readable) */
};

struct tcp_iov { const uint8_t *base; uint32_t len; };

/* Event bits given to env->event. */
#define TCP_EV_READABLE  0x01      /* data or FIN arrived */
#define TCP_EV_WRITABLE  0x02      /* send space freed */
#define TCP_EV_CONNECTED 0x04      /* SYN_SENT/SYN_RECEIVED -> ESTABLISHED */
#define TCP_EV_ERROR     0x08      /* c->error set (RST, timeout, ICMP) */
#define TCP_EV_ACCEPT    0x10      /* listener: a connection is ready */
#define TCP_EV_CLOSED    0x20      /* reached CLOSED: the glue may unhash and free */
#define TCP_EV_TIMEWAIT  0x40      /* entered TIME_WAIT (rings no longer needed) */

struct tcp_conn;
struct tcp_env {
	uint64_t (*now_us)(void *ctx);
	/* One segment: hdr (TCP header with options, checksum field 0) and
	 * the payload pieces; tso_mss != 0: the payload is longer than one
	 * segment and must be cut in pieces of tso_mss. */
	int (*output)(void *ctx, struct tcp_conn *c, uint8_t *hdr, unsigned hlen,
		      const struct tcp_iov *pl, int npl, unsigned tso_mss);
	void (*event)(void *ctx, struct tcp_conn *c, unsigned ev);
	void *(*alloc)(void *ctx, size_t n);
	void (*free)(void *ctx, void *p, size_t n);
	uint32_t (*random)(void *ctx);
	uint32_t isn_secret;       /* keys the ISN hash (RFC 6528) */
	/* A listener got an acceptable SYN: a new connection (tcp_conn_init'ed
	 * by the glue with the tuple and hashed), or NULL. */
	struct tcp_conn *(*spawn)(void *ctx, struct tcp_conn *listener, uint32_t laddr,
				  uint16_t lport, uint32_t raddr, uint16_t rport);
	/* A segment without a connection (a SYN cookie's SYN-ACK) from src to
	 * dst: header with checksum field 0, no payload. */
	int (*reply)(void *ctx, uint32_t src, uint32_t dst, uint8_t *hdr, unsigned hlen);
	void *ctx;
};

struct tcp_interval { uint32_t l, r; };

struct tcp_conn {
	const struct tcp_env *env;
	enum tcp_state state;
	uint32_t laddr, raddr;     /* host order */
	uint16_t lport, rport;

	/* send sequence space */
	uint32_t iss, snd_una, snd_nxt, snd_max, snd_wnd, snd_wl1, snd_wl2;
	uint32_t snd_up;
	uint8_t snd_wscale, rcv_wscale;
	bool ws_ok, ts_ok, sack_ok;
	uint16_t mss;              /* payload bytes per segment we send (options excluded) */
	uint16_t peer_mss;         /* as announced */
	uint16_t adv_mss;          /* what we announce */
	unsigned mtu;              /* path MTU (IP bytes) */
	unsigned tso_max;          /* 0: no TSO, else max payload bytes per output */

	/* receive sequence space */
	uint32_t irs, rcv_nxt, rcv_adv;   /* rcv_adv: right edge we announced */
	uint32_t ts_recent, ts_recent_age_s;
	uint32_t ts_offset;
	struct tcp_interval ooo[TCP_OOO_MAX];   /* out-of-order data held (seq) */
	unsigned nooo;
	uint32_t last_ooo;         /* most recent island, reported first in SACK */
	bool dsack;                /* report [dsack_l, dsack_r) as a duplicate (RFC 2883) */
	uint32_t dsack_l, dsack_r;

	/* SACK scoreboard: blocks the peer reported above snd_una */
	struct tcp_interval sacked[TCP_SACK_MAX];
	unsigned nsacked;
	uint32_t high_sack;        /* highest SACKed sequence (valid when nsacked) */
	uint32_t rexmit_nxt;       /* recovery: next hole byte to retransmit */
	uint32_t round_max;        /* snd_max when this round of hole retransmissions began */

	/* congestion control */
	uint32_t cwnd, ssthresh, recover, bytes_acked;
	unsigned dupacks;
	bool in_recovery;
	bool cwnd_limited;         /* the last send stopped at cwnd (RFC 7661: grow only then) */
	uint32_t cwnd_before_loss, ssthresh_before_loss;
	/* CUBIC (RFC 9438), when c->cubic: the window before the last
	 * reduction, the epoch's start and K, the Reno-friendly estimate */
	bool cubic;
	uint32_t w_max, w_origin, w_est, est_acc;
	uint64_t epoch_us;
	uint32_t k_ms;
	uint32_t recovery_ts;      /* our TSval when recovery's first retransmission left */
	unsigned reordering;       /* duplicate-ACK threshold (segments), grows on spurious recoveries */
	unsigned stat_undo;

	/* RTT, RTO */
	uint32_t srtt_us, rttvar_us, rto_us, min_rtt_us;
	uint32_t rtt_seq;          /* timed segment (0 flag in rtt_timing) */
	uint64_t rtt_start;
	bool rtt_timing;
	unsigned backoff, retries;
	uint64_t rto_at, dack_at, ka_at, tw_at, persist_at, tlp_at;   /* 0: not armed */
	unsigned probes;

	/* acks */
	unsigned ack_pending;      /* full segments received and not acked */
	bool ack_now;
	unsigned quickacks;
	uint64_t last_rcv_us, last_snd_us;

	/* options set by the application */
	bool nodelay, cork, keepalive, linger_on, rst_on_close;
	bool no_opts;              /* offer no window scale, SACK, timestamps (tests) */
	unsigned linger_s;
	unsigned ka_idle_s, ka_intvl_s, ka_cnt;
	unsigned user_mss;         /* TCP_MAXSEG, 0: none */
	uint32_t sndbuf, rcvbuf;   /* ring sizes to allocate (TCP_RING_DEFAULT) */

	/* closing */
	bool fin_queued;           /* application shut its write side */
	bool fin_sent;             /* FIN's sequence is snd_max - 1 once sent */
	uint32_t fin_seq;
	bool rcv_fin;              /* peer's FIN consumed (rcv_nxt moved past it) */
	bool shut_rd;
	bool orphan;               /* the application closed it */
	int error;                 /* positive errno (ECONNRESET, ETIMEDOUT, ...) */
	bool reset;                /* ended by a RST (sent or received) */

	struct tcp_ring snd, rcv;

	/* listener / children */
	struct tcp_conn *parent;   /* child: its listener until accepted */
	struct tcp_conn *aq_next;  /* accept queue link */
	struct tcp_conn *aq_head, *aq_tail;
	unsigned aq_len, synq_len, backlog;
	bool in_aq;
	uint64_t cookies_at;       /* listener: last SYN cookie sent (us), 0: never */
	uint64_t stat_cookies_sent, stat_cookies_ok;

	/* rate limit of challenge ACKs (RFC 5961 7) */
	uint64_t chack_epoch;
	unsigned chack_count;

	/* bookkeeping */
	unsigned pending_ev;       /* events gathered during one entry, delivered at its end */
	bool closed_notified;
	bool established_once;     /* reached ESTABLISHED (a child: acceptable) */
	uint32_t last_ack_sent;    /* RFC 7323 Last.ACK.sent */
	bool fin_ooo;              /* a FIN arrived beyond a hole at fin_ooo_seq */
	uint32_t fin_ooo_seq;
	uint32_t rcv_mss;          /* largest segment received (delayed ACK) */
	uint32_t max_snd_wnd;
	uint32_t sacked_bytes;

	/* statistics (TCP_INFO, MIB deltas read by the glue) */
	uint64_t stat_in_segs, stat_out_segs, stat_retrans, stat_out_rsts, stat_in_errs;
	uint64_t bytes_sent, bytes_received;
	unsigned total_retrans;
	unsigned stat_rto, stat_recoveries;
};

/* Defaults: CLOSED, buffers sizes, options off. */
void tcp_conn_init(struct tcp_conn *c, const struct tcp_env *env);
/* Frees the rings. */
void tcp_conn_free_rings(struct tcp_conn *c);

/* Active open: SYN out. Tuple set by the caller. 0 or -ENOMEM. */
int tcp_connect(struct tcp_conn *c);
/* Passive open. */
void tcp_listen(struct tcp_conn *c, unsigned backlog);
/* Pops an established connection off a listener's accept queue. */
struct tcp_conn *tcp_accept(struct tcp_conn *l);

/* A segment for c (found by the glue; for a listener, any segment to its
 * port without a connection) from saddr to daddr. true: answer it with a
 * RST (tcp_rst_for). */
bool tcp_input_seg(struct tcp_conn *c, uint32_t saddr, uint32_t daddr, const struct tcp_info *t);
/* TIME_WAIT and a new SYN with a higher sequence number or timestamp
 * (RFC 6191): the glue kills the old connection and hands the SYN on. */
bool tcp_tw_reusable(const struct tcp_conn *c, const struct tcp_info *t);
void tcp_tw_kill(struct tcp_conn *c);
/* RST for a segment nobody wants (RFC 9293 3.10.7.1); false: send none
 * (the segment was a RST). Builds header into hdr (>= TCP_HLEN). */
bool tcp_rst_for(const struct tcp_info *t, uint8_t *hdr, unsigned *hlen);

/* Timers: the earliest deadline (us, 0: none) and the handler. */
uint64_t tcp_next_deadline(const struct tcp_conn *c);
void tcp_timer(struct tcp_conn *c);

/* Application side. */
/* Free space to append to the send ring (two pieces). */
uint32_t tcp_snd_space(const struct tcp_conn *c, struct tcp_iov out[2]);
/* n bytes were written into the space; then tcp_push. */
void tcp_snd_commit(struct tcp_conn *c, uint32_t n);
/* Sends what the window and Nagle/cork allow; more: the application has
 * more to write (MSG_MORE), hold back a partial segment. */
void tcp_push(struct tcp_conn *c, bool more);
/* Readable bytes (two pieces). */
uint32_t tcp_rcv_peek(const struct tcp_conn *c, struct tcp_iov out[2]);
/* n bytes were read: frees ring space, maybe sends a window update. */
void tcp_rcv_consume(struct tcp_conn *c, uint32_t n);
/* shutdown(SHUT_WR): FIN after the queued data. */
void tcp_shutdown_wr(struct tcp_conn *c);
/* close(): FIN (or RST when unread data or linger 0). The connection then
 * runs to CLOSED/TIME_WAIT by itself (TCP_EV_CLOSED). */
void tcp_close(struct tcp_conn *c);
/* Sends a RST and moves to CLOSED. */
void tcp_abort(struct tcp_conn *c, int err);
/* Path MTU dropped (ICMP fragmentation needed). */
void tcp_set_mtu(struct tcp_conn *c, unsigned mtu);
/* Hard ICMP error (unreachable): error while connecting, else soft. */
void tcp_icmp_unreach(struct tcp_conn *c, int err);
/* TCP_QUICKACK / TCP_NODELAY / TCP_CORK changes that need an output. */
void tcp_ack_now(struct tcp_conn *c);
/* Keepalive on/off or timing changed. */
void tcp_keepalive_update(struct tcp_conn *c);

/* Window we would announce now (bytes, unscaled). */
uint32_t tcp_rcv_window(const struct tcp_conn *c);
static inline uint32_t tcp_inflight(const struct tcp_conn *c) { return c->snd_max - c->snd_una; }
static inline bool tcp_synchronized(const struct tcp_conn *c)
{
	return c->state >= TCP_ESTABLISHED;
}
