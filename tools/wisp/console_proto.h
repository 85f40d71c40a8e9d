/* The framed console protocol between the wisp kernel and the host tool
 * (docs/console-protocol.md). Over the one serial line:
 *
 *   guest -> host   0xF5 CHAN LEN payload[LEN]
 *                   CHAN 1 stdout, 2 stderr, 3 kernel info/debug log,
 *                   4 kernel warning/error log: LEN 1..255
 *                   CHAN 5 exit: LEN 4, little-endian int32 status
 *                   CHAN 6 ready: LEN 0, the kernel reads its input now;
 *                   the host sends no stdin before it (bytes sent while
 *                   firmware and boot code own the UART can be lost)
 *   host -> guest   0xF5 0 LEN data[LEN]   stdin, LEN 1..255
 *                   0xF5 0 0               end of stdin
 *
 * Bytes outside a frame (firmware noise before the kernel switches to frames)
 * are reported separately. Pure: a byte-at-a-time state machine that keeps
 * its place across arbitrary read boundaries, and an encoder. */
#ifndef WISP_CONSOLE_PROTO_H
#define WISP_CONSOLE_PROTO_H

#include <stddef.h>
#include <stdint.h>

#define CP_MAGIC 0xF5
#define CP_MAX_PAYLOAD 255

enum cp_chan {
	CP_STDIN = 0,
	CP_STDOUT = 1,
	CP_STDERR = 2,
	CP_LOG_INFO = 3,
	CP_LOG_WARN = 4,
	CP_EXIT = 5,
	CP_READY = 6,
};

struct cp_handlers {
	/* Payload bytes of a data frame (chan 1..4, or an unknown chan). One
	 * frame may arrive in several calls when it spans reads. */
	void (*data)(void *ctx, unsigned chan, const uint8_t *p, size_t n);
	/* Bytes outside any frame. */
	void (*noise)(void *ctx, const uint8_t *p, size_t n);
	/* A complete exit frame. */
	void (*exit)(void *ctx, int32_t status);
	/* The ready frame: stdin may flow from now on. */
	void (*ready)(void *ctx);
	/* A malformed exit frame (LEN != 4); its payload is skipped. */
	void (*bad_frame)(void *ctx, unsigned chan, unsigned len);
	void *ctx;
};

struct cp_demux {
	enum { CP_S_IDLE, CP_S_CHAN, CP_S_LEN, CP_S_PAYLOAD } state;
	uint8_t chan;
	uint8_t left;     /* payload bytes still to come */
	uint8_t exit_buf[4];
	uint8_t exit_len;
	int bad;          /* skipping the payload of a malformed frame */
};

void cp_demux_init(struct cp_demux *d);
/* Feed bytes as they arrive; handlers are called synchronously. */
void cp_demux_feed(struct cp_demux *d, const struct cp_handlers *h, const uint8_t *p, size_t n);
/* Whether a frame is partly received (the stream ended mid-frame). */
int cp_demux_mid_frame(const struct cp_demux *d);

/* Encode stdin data as frames of at most 255 bytes. out must hold
 * cp_encoded_size(n) bytes; returns the bytes written. n == 0 writes nothing
 * (end of file is cp_encode_eof, never an empty data frame). */
size_t cp_encoded_size(size_t n);
size_t cp_encode_stdin(uint8_t *out, const uint8_t *data, size_t n);
/* The end-of-stdin frame: 3 bytes. */
size_t cp_encode_eof(uint8_t *out);

#endif
