/*
 * A word-at-a-time Internet checksum for TCP's transmit path (checksum.c's
 * csum_add goes byte pair by byte pair: under TCG that dominated sending
 * without checksum offload). Pure; tests/unit/test_tcp.c checks it against
 * csum_add for every alignment and length.
 *
 * The sum of little-endian 16-bit words is the byte-swap of the sum of the
 * big-endian ones (RFC 1071 2(B)), so the data is summed 8 bytes at a time
 * in native order and swapped once at the end.
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Like csum_add(0, p, n) folded to 16 bits (a trailing odd byte padded). */
static inline uint32_t tcp_csum_fast(const void *buf, size_t n)
{
	const uint8_t *p = buf;
	uint64_t acc = 0;
	while (n >= 32) {
		uint64_t w0, w1, w2, w3;
		__builtin_memcpy(&w0, p, 8);
		__builtin_memcpy(&w1, p + 8, 8);
		__builtin_memcpy(&w2, p + 16, 8);
		__builtin_memcpy(&w3, p + 24, 8);
		acc += (w0 & 0xffffffffu) + (w0 >> 32) + (w1 & 0xffffffffu) + (w1 >> 32) +
		       (w2 & 0xffffffffu) + (w2 >> 32) + (w3 & 0xffffffffu) + (w3 >> 32);
		p += 32;
		n -= 32;
	}
	while (n >= 8) {
		uint64_t w;
		__builtin_memcpy(&w, p, 8);
		acc += (w & 0xffffffffu) + (w >> 32);
		p += 8;
		n -= 8;
	}
	while (n >= 2) {
		acc += (uint32_t)p[0] | (uint32_t)p[1] << 8;
		p += 2;
		n -= 2;
	}
	if (n)
		acc += p[0];
	while (acc >> 16)
		acc = (acc & 0xffff) + (acc >> 16);
	uint32_t s = (uint32_t)acc;
	return ((s & 0xff) << 8) | (s >> 8);
}
