/*
 * IPv4 reassembly (RFC 791 3.2, RFC 815's hole idea kept as a bitmap).
 * Pure (tests/unit/test_net_reasm.c): the caller passes the time, holds
 * the lock and provides reasm_alloc/reasm_free.
 *
 * A datagram in progress is keyed by (src, dst, id, proto) and holds one
 * buffer its fragments are copied into, with a bitmap of the 8-byte
 * blocks received. Limits: the datagram may not exceed 65535 bytes, nor
 * take more than max_frags fragments; all datagrams together stay under
 * max_mem bytes (the oldest are evicted to make room) and max_datagrams;
 * each lives at most timeout_ns from its first fragment.
 *
 * Overlaps: a fragment re-sending bytes we hold with the same content (a
 * retransmission, a duplicate) is accepted; different content drops the
 * whole datagram (an overlap attack, RFC 5722's reasoning for IPv4 too).
 * A fragment contradicting the known end (a second "last" fragment with
 * another length, data beyond the last) drops it too.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/packet.h"

struct reasm_limits {
	unsigned max_frags;        /* fragments per datagram */
	size_t max_mem;            /* bytes, all datagrams */
	unsigned max_datagrams;
	uint64_t timeout_ns;
};
#define REASM_DEFAULT_LIMITS { 128, 4u << 20, 64, 30ull * 1000000000 }

struct reasm_stats {
	uint64_t reqds, oks, fails, timeouts;   /* as the SNMP Ip group counts them */
	uint64_t bad_frags, overlaps, evicted;
};

struct reasm_dgram;
struct reasm {
	struct reasm_dgram *list;  /* oldest first */
	unsigned n;
	size_t mem;
	struct reasm_limits lim;
	struct reasm_stats st;
};

/* The whole datagram (header first, fragment fields cleared, checksum
 * recomputed); give it back with reasm_release. */
struct reasm_done {
	uint8_t *data;
	size_t len;
	void *mem;
};

enum reasm_result {
	REASM_HELD,                /* kept; the datagram is not complete yet */
	REASM_DONE,                /* *out holds the datagram */
	REASM_DROP,                /* refused (the datagram may be gone too) */
};

void reasm_init(struct reasm *r, const struct reasm_limits *lim);
/* ip: a parsed fragment (ipv4_is_fragment), its header at
 * ip->payload - ip->hlen. */
enum reasm_result reasm_input(struct reasm *r, const struct ipv4_info *ip, uint64_t now,
			      struct reasm_done *out);
void reasm_release(struct reasm_done *d);
/* Drops datagrams older than the timeout; returns how many. For each
 * whose first fragment had come, `first` (may be NULL) gets its header
 * followed by the first min(8, bytes held) payload bytes, contiguous (for
 * ICMP time exceeded, RFC 792: code 1, only when fragment 0 came). */
typedef void (*reasm_expired_fn)(const uint8_t *dgram, size_t len, void *arg);
unsigned reasm_expire(struct reasm *r, uint64_t now, reasm_expired_fn first, void *arg);
/* When the oldest datagram expires (UINT64_MAX: none). */
uint64_t reasm_next_expiry(const struct reasm *r);
void reasm_flush(struct reasm *r);

/* Provided by the user of the module. */
void *reasm_alloc(size_t n);
void reasm_free(void *p);
