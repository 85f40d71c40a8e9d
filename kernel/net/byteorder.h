/*
 * Network byte order, read and written through byte pointers: packet
 * fields are often misaligned (an IPv4 header after a 14-byte Ethernet
 * header), so parsers never cast a buffer to a struct of wide fields.
 * Pure: used by the host unit tests too.
 */
#pragma once
#include <stdint.h>

static inline uint16_t get_be16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }
static inline uint32_t get_be32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}
static inline void put_be16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static inline void put_be32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24); p[1] = (uint8_t)(v >> 16); p[2] = (uint8_t)(v >> 8); p[3] = (uint8_t)v;
}

/* IPv4 addresses are kept in host order everywhere in the stack (so
 * masks and comparisons are plain integer arithmetic); IP4(10,0,2,15). */
#define IP4(a, b, c, d) ((uint32_t)(a) << 24 | (uint32_t)(b) << 16 | (uint32_t)(c) << 8 | (uint32_t)(d))
