/* Unit tests for tools/wisp/console_proto.c: every way of splitting a stream
 * across reads must demultiplex to the same result. */
#include "../../tools/wisp/console_proto.c"

#include "check.h"

#include <stdlib.h>

struct rec {
	uint8_t chan_data[6][4096];
	size_t chan_len[6];
	uint8_t noise[1024];
	size_t noise_len;
	int exits;
	int32_t status;
	int bad;
	int ready;
	char order[256]; /* channel sequence, one char per callback run */
	size_t order_len;
};

static void on_data(void *ctx, unsigned chan, const uint8_t *p, size_t n)
{
	struct rec *r = ctx;
	unsigned c = chan < 6 ? chan : 0;
	CHECK(n > 0);
	memcpy(r->chan_data[c] + r->chan_len[c], p, n);
	r->chan_len[c] += n;
	if (r->order_len == 0 || r->order[r->order_len - 1] != (char)('0' + c))
		r->order[r->order_len++] = (char)('0' + c);
}

static void on_noise(void *ctx, const uint8_t *p, size_t n)
{
	struct rec *r = ctx;
	CHECK(n > 0);
	memcpy(r->noise + r->noise_len, p, n);
	r->noise_len += n;
	if (r->order_len == 0 || r->order[r->order_len - 1] != 'n')
		r->order[r->order_len++] = 'n';
}

static void on_exit_(void *ctx, int32_t status)
{
	struct rec *r = ctx;
	r->exits++;
	r->status = status;
	r->order[r->order_len++] = 'x';
}

static void on_ready(void *ctx)
{
	struct rec *r = ctx;
	r->ready++;
}

static void on_bad(void *ctx, unsigned chan, unsigned len)
{
	struct rec *r = ctx;
	(void)chan;
	(void)len;
	r->bad++;
}

/* A stream with noise, every channel, a frame split mid-payload, payload
 * bytes equal to the magic, an empty frame, an unknown channel, a malformed
 * exit frame and finally a good exit frame with a negative status. */
static const uint8_t stream[] = {
	'B', 'I', 'O', 'S', '\n',
	0xF5, 1, 5, 'h', 'e', 'l', 'l', 'o',
	0xF5, 2, 3, 'e', 0xF5, 'r',
	0xF5, 3, 6, 'w', 'i', 's', 'p', ':', '\n',
	0xF5, 1, 0,
	0xF5, 4, 1, '!',
	0xF5, 9, 2, 0xF5, 0xF5,
	0xF5, 5, 2, 1, 2,
	0xF5, 1, 2, 0xF5, '\n',
	0xF5, 5, 4, 0xFE, 0xFF, 0xFF, 0xFF,
};

static void check_result(const struct rec *r)
{
	CHECK(r->noise_len == 5 && memcmp(r->noise, "BIOS\n", 5) == 0);
	CHECK(r->chan_len[1] == 7 && memcmp(r->chan_data[1], "hello\xF5\n", 7) == 0);
	CHECK(r->chan_len[2] == 3 && memcmp(r->chan_data[2], "e\xF5r", 3) == 0);
	CHECK(r->chan_len[3] == 6 && memcmp(r->chan_data[3], "wisp:\n", 6) == 0);
	CHECK(r->chan_len[4] == 1 && r->chan_data[4][0] == '!');
	CHECK(r->chan_len[0] == 2); /* the unknown channel 9 went to data() */
	CHECK(r->bad == 1);
	CHECK(r->exits == 1 && r->status == -2);
	CHECK(strcmp(r->order, "n12340" "1x") == 0);
}

static const struct cp_handlers *handlers(struct rec *r)
{
	static struct cp_handlers h;
	h.data = on_data;
	h.noise = on_noise;
	h.exit = on_exit_;
	h.ready = on_ready;
	h.bad_frame = on_bad;
	h.ctx = r;
	return &h;
}

static void test_whole_and_split(void)
{
	struct cp_demux d;
	struct rec *r = calloc(1, sizeof(*r));

	/* In one piece. */
	cp_demux_init(&d);
	cp_demux_feed(&d, handlers(r), stream, sizeof(stream));
	check_result(r);
	CHECK(!cp_demux_mid_frame(&d));

	/* One byte at a time. */
	memset(r, 0, sizeof(*r));
	cp_demux_init(&d);
	for (size_t i = 0; i < sizeof(stream); i++)
		cp_demux_feed(&d, handlers(r), stream + i, 1);
	check_result(r);

	/* Every split into three pieces. */
	for (size_t a = 0; a <= sizeof(stream); a++)
		for (size_t b = a; b <= sizeof(stream); b++) {
			memset(r, 0, sizeof(*r));
			cp_demux_init(&d);
			cp_demux_feed(&d, handlers(r), stream, a);
			cp_demux_feed(&d, handlers(r), stream + a, b - a);
			cp_demux_feed(&d, handlers(r), stream + b, sizeof(stream) - b);
			CHECK(r->exits == 1 && r->status == -2 && r->chan_len[1] == 7 &&
			      r->noise_len == 5);
		}
	free(r);
}

static void test_mid_frame_and_null_handlers(void)
{
	struct cp_demux d;
	struct cp_handlers none = { 0 };
	const uint8_t part[] = { 0xF5, 1, 10, 'a', 'b' };

	cp_demux_init(&d);
	cp_demux_feed(&d, &none, part, sizeof(part));
	CHECK(cp_demux_mid_frame(&d));
	cp_demux_feed(&d, &none, stream, sizeof(stream)); /* no crash without handlers */
}

/* The ready frame is empty and reaches its own handler, split or not. */
static void test_ready(void)
{
	const uint8_t s[] = { 'x', 0xF5, 6, 0, 0xF5, 1, 1, 'a' };
	struct cp_demux d;
	struct rec *r = calloc(1, sizeof(*r));
	for (size_t a = 0; a <= sizeof(s); a++) {
		memset(r, 0, sizeof(*r));
		cp_demux_init(&d);
		cp_demux_feed(&d, handlers(r), s, a);
		cp_demux_feed(&d, handlers(r), s + a, sizeof(s) - a);
		CHECK(r->ready == 1 && r->chan_len[1] == 1 && r->noise_len == 1);
	}
	free(r);
}

static void test_encode(void)
{
	uint8_t data[600], out[700], eof[3];
	struct cp_demux d;
	struct rec *r = calloc(1, sizeof(*r));
	size_t n;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (uint8_t)i;
	CHECK(cp_encoded_size(0) == 0);
	CHECK(cp_encoded_size(1) == 4);
	CHECK(cp_encoded_size(255) == 258);
	CHECK(cp_encoded_size(256) == 262);
	CHECK(cp_encode_stdin(out, data, 0) == 0);
	n = cp_encode_stdin(out, data, sizeof(data));
	CHECK(n == cp_encoded_size(sizeof(data)) && n == 609);
	CHECK(out[0] == 0xF5 && out[1] == 0 && out[2] == 255);
	CHECK(out[258] == 0xF5 && out[259] == 0 && out[260] == 255);
	CHECK(out[516] == 0xF5 && out[517] == 0 && out[518] == 90);
	CHECK(cp_encode_eof(eof) == 3 && eof[0] == 0xF5 && eof[1] == 0 && eof[2] == 0);

	/* The demultiplexer reads our own frames back (as channel 0). */
	cp_demux_init(&d);
	cp_demux_feed(&d, handlers(r), out, n);
	cp_demux_feed(&d, handlers(r), eof, 3);
	CHECK(r->chan_len[0] == sizeof(data) && memcmp(r->chan_data[0], data, sizeof(data)) == 0);
	CHECK(!cp_demux_mid_frame(&d));
	free(r);
}

int main(void)
{
	test_whole_and_split();
	test_mid_frame_and_null_handlers();
	test_encode();
	test_ready();
	return CHECK_SUMMARY();
}
