/* Framed console protocol: demultiplexer and encoder; see console_proto.h. */
#include "console_proto.h"

#include <string.h>

void cp_demux_init(struct cp_demux *d)
{
	memset(d, 0, sizeof(*d));
	d->state = CP_S_IDLE;
}

int cp_demux_mid_frame(const struct cp_demux *d)
{
	return d->state != CP_S_IDLE;
}

static void end_of_frame(struct cp_demux *d, const struct cp_handlers *h)
{
	if (d->chan == CP_READY && h->ready)
		h->ready(h->ctx);
	if (d->chan == CP_EXIT && !d->bad && h->exit)
		h->exit(h->ctx, (int32_t)((uint32_t)d->exit_buf[0] | (uint32_t)d->exit_buf[1] << 8 |
					  (uint32_t)d->exit_buf[2] << 16 |
					  (uint32_t)d->exit_buf[3] << 24));
	d->state = CP_S_IDLE;
	d->bad = 0;
}

void cp_demux_feed(struct cp_demux *d, const struct cp_handlers *h, const uint8_t *p, size_t n)
{
	size_t i = 0;

	while (i < n) {
		switch (d->state) {
		case CP_S_IDLE: {
			/* Pass a whole run of noise at once, up to the next magic. */
			const uint8_t *m = memchr(p + i, CP_MAGIC, n - i);
			size_t run = m ? (size_t)(m - (p + i)) : n - i;
			if (run && h->noise)
				h->noise(h->ctx, p + i, run);
			i += run;
			if (m) {
				d->state = CP_S_CHAN;
				i++;
			}
			break;
		}
		case CP_S_CHAN:
			d->chan = p[i++];
			d->state = CP_S_LEN;
			break;
		case CP_S_LEN:
			d->left = p[i++];
			d->exit_len = 0;
			d->bad = d->chan == CP_EXIT && d->left != 4;
			if (d->bad && h->bad_frame)
				h->bad_frame(h->ctx, d->chan, d->left);
			if (d->left == 0)
				end_of_frame(d, h); /* an empty data frame: nothing to pass on */
			else
				d->state = CP_S_PAYLOAD;
			break;
		case CP_S_PAYLOAD: {
			size_t take = n - i < d->left ? n - i : d->left;
			if (d->chan == CP_EXIT) {
				if (!d->bad)
					memcpy(d->exit_buf + d->exit_len, p + i, take);
				d->exit_len += (uint8_t)take;
			} else if (h->data) {
				h->data(h->ctx, d->chan, p + i, take);
			}
			i += take;
			d->left -= (uint8_t)take;
			if (d->left == 0)
				end_of_frame(d, h);
			break;
		}
		}
	}
}

size_t cp_encoded_size(size_t n)
{
	return n + 3 * ((n + CP_MAX_PAYLOAD - 1) / CP_MAX_PAYLOAD);
}

size_t cp_encode_stdin(uint8_t *out, const uint8_t *data, size_t n)
{
	size_t o = 0;

	while (n) {
		size_t k = n > CP_MAX_PAYLOAD ? CP_MAX_PAYLOAD : n;
		out[o++] = CP_MAGIC;
		out[o++] = CP_STDIN;
		out[o++] = (uint8_t)k;
		memcpy(out + o, data, k);
		o += k;
		data += k;
		n -= k;
	}
	return o;
}

size_t cp_encode_eof(uint8_t *out)
{
	out[0] = CP_MAGIC;
	out[1] = CP_STDIN;
	out[2] = 0;
	return 3;
}
