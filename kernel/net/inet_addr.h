/*
 * IPv4 addresses as text, for the command line and logs. Pure
 * (tests/unit/test_net_addr.c). Addresses are host order.
 */
#pragma once
#include <stdint.h>

#define IP4_STRLEN 16
/* "10.0.2.15" into buf; returns buf. */
const char *ip4_str(uint32_t ip, char buf[IP4_STRLEN]);
/* Strict dotted quad: four decimal parts 0..255 of 1 to 3 digits, nothing
 * else (no octal, no short forms like "10.1"). 0 or -1. */
int ip4_parse(const char *s, uint32_t *ip);
/* A netmask of `bits` (0..32) leading ones. */
static inline uint32_t ip4_mask(unsigned bits)
{
	return bits == 0 ? 0 : bits >= 32 ? 0xffffffffu : ~((1u << (32 - bits)) - 1);
}
