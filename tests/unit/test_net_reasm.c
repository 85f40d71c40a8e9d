/* IPv4 reassembly (kernel/net/reasm.c): in order, reverse, overlapping
 * with equal and with conflicting bytes, duplicates, a missing piece
 * timing out, the limits (fragments per datagram, memory, datagram
 * count, 65535 bytes), a 64 KiB datagram, and a fuzzer (random cuts,
 * shuffles, duplicates, corruptions; every completed datagram must be the
 * original or the whole thing dropped), each fragment in a heap block of
 * exactly its size so ASan sees any overread. Memory is counted: nothing
 * leaks. */
#include "check.h"
#include <stdint.h>
#include <stdlib.h>
#include "../../kernel/net/checksum.c"
#include "../../kernel/net/packet.c"
#include "../../kernel/net/reasm.c"

static long live;
void *reasm_alloc(size_t n)
{
	live++;
	return malloc(n);
}
void reasm_free(void *p)
{
	if (p)
		live--;
	free(p);
}

#define S 1000000000ull
static const uint32_t SRC = IP4(10, 0, 2, 2), DST = IP4(10, 0, 2, 15);

static uint32_t rs = 12345;
static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 17;
	rs ^= rs << 5;
	return rs;
}

/* A fragment [off, off+len) of data (offset in bytes, a multiple of 8),
 * parsed as the input path would; the caller frees *buf. */
static struct ipv4_info frag(const uint8_t *data, size_t total, size_t off, size_t len,
			     uint16_t id, uint8_t **buf)
{
	uint8_t *b = malloc(IPV4_HLEN + len);
	bool more = off + len < total;
	memcpy(b + IPV4_HLEN, data + off, len);
	ipv4_build(b, 0, id, (uint16_t)((more ? IPV4_MF : 0) | off / 8), 64, IPPROTO_UDP, SRC,
		   DST, len);
	struct ipv4_info ip;
	enum net_drop r = ipv4_parse(b, IPV4_HLEN + len, &ip);
	CHECK(r == NET_OK);
	*buf = b;
	return ip;
}

static enum reasm_result feed(struct reasm *r, const uint8_t *data, size_t total, size_t off,
			      size_t len, uint16_t id, uint64_t now, struct reasm_done *d)
{
	uint8_t *b;
	struct ipv4_info ip = frag(data, total, off, len, id, &b);
	enum reasm_result res = reasm_input(r, &ip, now, d);
	free(b);
	return res;
}

/* The completed datagram is data[0..total) behind a valid header. */
static bool is_whole(const struct reasm_done *d, const uint8_t *data, size_t total, uint16_t id)
{
	struct ipv4_info ip;
	if (ipv4_parse(d->data, d->len, &ip) != NET_OK)
		return false;
	return ip.payload_len == total && ip.id == id && !ipv4_is_fragment(&ip) &&
	       ip.src == SRC && ip.dst == DST && memcmp(ip.payload, data, total) == 0;
}

static unsigned exp_calls;
static size_t exp_len;
static uint16_t exp_id;
static uint8_t exp_data[8];
static void expired(const uint8_t *dgram, size_t len, void *arg)
{
	(void)arg;
	struct ipv4_info ip;
	exp_calls++;
	exp_len = len;
	CHECK(ipv4_parse_quoted(dgram, len, &ip) == NET_OK);
	exp_id = ip.id;
	memcpy(exp_data, ip.payload, 8);
}

static void fill(uint8_t *d, size_t n)
{
	for (size_t i = 0; i < n; i++)
		d[i] = (uint8_t)rnd();
}

int main(void)
{
	static uint8_t data[70000];
	fill(data, sizeof(data));
	struct reasm r;
	struct reasm_done d;
	uint64_t t = 100 * S;

	/* In order: three pieces. */
	reasm_init(&r, NULL);
	CHECK(feed(&r, data, 3000, 0, 1480, 1, t, &d) == REASM_HELD);
	CHECK(feed(&r, data, 3000, 1480, 1480, 1, t, &d) == REASM_HELD);
	CHECK(feed(&r, data, 3000, 2960, 40, 1, t, &d) == REASM_DONE);
	CHECK(is_whole(&d, data, 3000, 1));
	reasm_release(&d);
	CHECK(r.n == 0 && r.mem == 0 && r.st.oks == 1 && r.st.reqds == 3);

	/* Reverse order; the last piece first sizes the buffer exactly. */
	CHECK(feed(&r, data, 3001, 2960, 41, 2, t, &d) == REASM_HELD);
	CHECK(feed(&r, data, 3001, 1480, 1480, 2, t, &d) == REASM_HELD);
	CHECK(feed(&r, data, 3001, 0, 1480, 2, t, &d) == REASM_DONE);
	CHECK(is_whole(&d, data, 3001, 2));
	reasm_release(&d);

	/* Two datagrams interleaved, same addresses, different ids. */
	CHECK(feed(&r, data, 2000, 0, 1000, 3, t, &d) == REASM_HELD);
	CHECK(feed(&r, data + 7, 2000, 0, 1000, 4, t, &d) == REASM_HELD);
	CHECK(feed(&r, data + 7, 2000, 1000, 1000, 4, t, &d) == REASM_DONE);
	CHECK(is_whole(&d, data + 7, 2000, 4));
	reasm_release(&d);
	CHECK(feed(&r, data, 2000, 1000, 1000, 3, t, &d) == REASM_DONE);
	CHECK(is_whole(&d, data, 2000, 3));
	reasm_release(&d);

	/* Overlaps with the same bytes and duplicates are accepted. */
	CHECK(feed(&r, data, 4000, 0, 2000, 5, t, &d) == REASM_HELD);
	CHECK(feed(&r, data, 4000, 0, 2000, 5, t, &d) == REASM_HELD);       /* duplicate */
	CHECK(feed(&r, data, 4000, 1000, 2000, 5, t, &d) == REASM_HELD);    /* overlaps both */
	CHECK(feed(&r, data, 4000, 2992, 1008, 5, t, &d) == REASM_DONE);
	CHECK(is_whole(&d, data, 4000, 5));
	reasm_release(&d);

	/* A conflicting overlap drops the datagram; what follows starts anew. */
	uint64_t fails = r.st.fails;
	static uint8_t other[70000];
	memcpy(other, data, sizeof(other));
	other[1500] ^= 0xff;
	CHECK(feed(&r, data, 4000, 0, 2000, 6, t, &d) == REASM_HELD);
	CHECK(feed(&r, other, 4000, 1000, 2000, 6, t, &d) == REASM_DROP);
	CHECK(r.n == 0 && r.st.fails == fails + 1 && r.st.overlaps == 1);
	CHECK(feed(&r, data, 4000, 2000, 2000, 6, t, &d) == REASM_HELD);     /* new entry */
	CHECK(r.n == 1);
	reasm_flush(&r);

	/* Contradicting ends: a second last fragment with another length;
	 * a last fragment before data we already hold; data past the end. */
	CHECK(feed(&r, data, 3000, 2960, 40, 7, t, &d) == REASM_HELD);
	CHECK(feed(&r, data, 3016, 2960, 56, 7, t, &d) == REASM_DROP);
	CHECK(feed(&r, data, 4000, 2000, 1000, 8, t, &d) == REASM_HELD);
	CHECK(feed(&r, data, 1000, 0, 1000, 8, t, &d) == REASM_DROP);       /* ends before 2000 */
	CHECK(feed(&r, data, 1004, 504, 500, 9, t, &d) == REASM_HELD);    /* the last */
	CHECK(feed(&r, data, 4000, 1000, 1000, 9, t, &d) == REASM_DROP);    /* past the end */
	CHECK(r.n == 0);

	/* Malformed fragments: empty, non-last not a multiple of 8, past 65535. */
	uint64_t bad = r.st.bad_frags;
	CHECK(feed(&r, data, 4000, 0, 1001, 10, t, &d) == REASM_DROP);
	{
		uint8_t *b;
		struct ipv4_info ip = frag(data, 100, 64, 0, 11, &b);
		CHECK(reasm_input(&r, &ip, t, &d) == REASM_DROP);
		free(b);
		ip = frag(data, 65535, 65528, 8, 12, &b);   /* 20 + 65528 + 8 > 65535 */
		CHECK(reasm_input(&r, &ip, t, &d) == REASM_DROP);
		free(b);
	}
	CHECK(r.st.bad_frags == bad + 3 && r.n == 0);

	/* A missing piece: the datagram times out after 30 s, not before. */
	uint64_t to = r.st.timeouts;
	CHECK(feed(&r, data, 3000, 0, 1480, 13, t, &d) == REASM_HELD);
	CHECK(feed(&r, data, 3000, 2960, 40, 13, t + 5 * S, &d) == REASM_HELD);
	CHECK(reasm_next_expiry(&r) == t + 30 * S);
	CHECK(reasm_expire(&r, t + 30 * S - 1, NULL, NULL) == 0 && r.n == 1);
	exp_calls = 0;
	CHECK(reasm_expire(&r, t + 30 * S, expired, NULL) == 1 && r.n == 0 && r.mem == 0);
	/* The first fragment had come: its header and 8 bytes reported. */
	CHECK(exp_calls == 1 && exp_len == IPV4_HLEN + 8 && exp_id == 13 &&
	      memcmp(exp_data, data, 8) == 0);
	/* Without the first fragment: nothing to report. */
	CHECK(feed(&r, data, 3000, 1480, 1480, 15, t, &d) == REASM_HELD);
	CHECK(reasm_expire(&r, t + 30 * S, expired, NULL) == 1 && exp_calls == 1);
	CHECK(r.st.timeouts == to + 2);
	CHECK(reasm_next_expiry(&r) == UINT64_MAX);
	/* The late piece starts a new datagram that cannot complete alone. */
	CHECK(feed(&r, data, 3000, 1480, 1480, 13, t + 31 * S, &d) == REASM_HELD);
	reasm_flush(&r);

	/* The largest datagram: 65515 payload bytes in 8-byte-aligned pieces
	 * of 1480 (45 fragments), shuffled. */
	{
		const size_t total = 65535 - IPV4_HLEN;
		size_t offs[64];
		unsigned n = 0;
		for (size_t o = 0; o < total; o += 1480)
			offs[n++] = o;
		for (unsigned i = n - 1; i > 0; i--) {
			unsigned j = rnd() % (i + 1);
			size_t x = offs[i];
			offs[i] = offs[j];
			offs[j] = x;
		}
		enum reasm_result res = REASM_HELD;
		for (unsigned i = 0; i < n; i++) {
			size_t len = offs[i] + 1480 > total ? total - offs[i] : 1480;
			res = feed(&r, data, total, offs[i], len, 14, t, &d);
			CHECK(res == (i + 1 == n ? REASM_DONE : REASM_HELD));
		}
		if (res == REASM_DONE) {
			CHECK(is_whole(&d, data, total, 14) && d.len == 65535);
			reasm_release(&d);
		}
	}

	/* Limits: fragments per datagram. */
	{
		struct reasm_limits lim = { .max_frags = 4, .max_mem = 1 << 20, .max_datagrams = 8,
					    .timeout_ns = 30 * S };
		reasm_init(&r, &lim);
		for (int i = 0; i < 4; i++)
			CHECK(feed(&r, data, 800, 0, 8, 20, t, &d) == REASM_HELD);   /* duplicates */
		CHECK(feed(&r, data, 800, 8, 8, 20, t, &d) == REASM_DROP);
		CHECK(r.n == 0);
		/* Datagram count: the oldest is evicted for a new one. */
		for (uint16_t id = 0; id < 9; id++)
			CHECK(feed(&r, data, 800, 0, 8, (uint16_t)(100 + id), t + id, &d) == REASM_HELD);
		CHECK(r.n == 8 && r.st.evicted == 1);
		/* id 100 went: completing it needs its first piece again. */
		CHECK(feed(&r, data, 16, 8, 8, 100, t, &d) == REASM_HELD);
		CHECK(r.st.evicted == 2);
		reasm_flush(&r);
		CHECK(r.mem == 0);
	}
	/* Memory: datagrams beyond max_mem evict the oldest; one that can
	 * never fit is dropped. */
	{
		struct reasm_limits lim = { .max_frags = 64, .max_mem = 20000, .max_datagrams = 64,
					    .timeout_ns = 30 * S };
		reasm_init(&r, &lim);
		CHECK(feed(&r, data, 9000, 0, 4000, 30, t, &d) == REASM_HELD);
		CHECK(feed(&r, data, 9000, 0, 4000, 31, t, &d) == REASM_HELD);
		CHECK(r.mem <= lim.max_mem);
		CHECK(feed(&r, data, 9000, 0, 8800, 32, t, &d) == REASM_HELD);
		CHECK(r.mem <= lim.max_mem && r.st.evicted >= 1);
		CHECK(feed(&r, data, 30000, 0, 24000, 33, t, &d) == REASM_DROP);
		CHECK(r.mem <= lim.max_mem);
		reasm_flush(&r);
		CHECK(r.mem == 0);
	}

	/* Fuzz: random datagrams cut in random 8-byte-aligned pieces (with
	 * overlaps), shuffled, some duplicated, some corrupted, some pieces
	 * lost. A completed datagram must be exactly the original (a corrupt
	 * piece must make it fail, never complete wrong); at the end nothing
	 * is held once everything expired. */
	reasm_init(&r, NULL);
	unsigned done = 0, dropped = 0;
	for (unsigned round = 0; round < 3000; round++) {
		size_t total = 1 + rnd() % (rnd() % 4 ? 4000 : 65000);
		struct { size_t off, len; bool corrupt; } p[80];
		unsigned n = 0;
		for (size_t o = 0; o < total && n < 70;) {
			size_t len = 8 * (1 + rnd() % 200);
			if (o + len > total)
				len = total - o;
			p[n++] = (typeof(p[0])){ o, len, false };
			/* Overlap back a little sometimes. */
			size_t back = rnd() % 3 == 0 ? 8 * (rnd() % 4) : 0;
			o += len;
			if (o < total && back && back < len)
				o -= back;
		}
		if (p[n - 1].off + p[n - 1].len < total)
			continue;      /* too many pieces for the array: skip this one */
		bool lose = rnd() % 10 == 0, corrupt = rnd() % 10 == 0;
		unsigned extra = rnd() % 3;
		for (unsigned e = 0; e < extra && n < 80; e++) {
			unsigned k = rnd() % n;
			p[n++] = p[k];
		}
		if (corrupt)
			p[rnd() % n].corrupt = true;
		for (unsigned i = n - 1; i > 0; i--) {
			unsigned j = rnd() % (i + 1);
			typeof(p[0]) x = p[i];
			p[i] = p[j];
			p[j] = x;
		}
		if (lose)
			n--;
		uint16_t id = (uint16_t)(round + 1000);
		bool got = false, wrong = false;
		for (unsigned i = 0; i < n && !got; i++) {
			uint8_t *b;
			struct ipv4_info ip = frag(data, total, p[i].off, p[i].len, id, &b);
			if (p[i].corrupt)
				b[IPV4_HLEN + rnd() % p[i].len] ^= (uint8_t)(1 + rnd() % 255);
			enum reasm_result res = reasm_input(&r, &ip, t + round, &d);
			free(b);
			if (res == REASM_DONE) {
				got = true;
				wrong = !is_whole(&d, data, total, id);
				reasm_release(&d);
			}
		}
		/* A corrupted piece that was the only copy of its bytes yields
		 * a different datagram; detect only what overlap checking can. */
		if (got && !corrupt)
			CHECK(!wrong);
		done += got;
		dropped += !got;
	}
	CHECK(done > 1000);
	reasm_expire(&r, t + 10000 * S, NULL, NULL);
	CHECK(r.n == 0 && r.mem == 0);
	CHECK(live == 0);
	printf("reasm fuzz: %u completed, %u not; stats: reqds %lu oks %lu fails %lu "
	       "timeouts %lu overlaps %lu evicted %lu\n", done, dropped,
	       (unsigned long)r.st.reqds, (unsigned long)r.st.oks, (unsigned long)r.st.fails,
	       (unsigned long)r.st.timeouts, (unsigned long)r.st.overlaps,
	       (unsigned long)r.st.evicted);
	return CHECK_SUMMARY();
}
