/*
 * The Internet checksum (RFC 1071): the ones' complement of the ones'
 * complement sum of the data as big-endian 16-bit words. Values here are
 * the host-order value of that big-endian word: store with put_be16.
 *
 *   uint32_t s = csum_pseudo(src, dst, IPPROTO_UDP, len);
 *   s = csum_add(s, hdr, 8);               // even lengths, except the last piece
 *   s = csum_add(s, data, n);
 *   put_be16(hdr + 6, csum_fold(s));
 *
 * Checking: the same sum over data that includes the checksum field folds
 * to 0 (csum_fold returns 0) when it is correct.
 * Incremental update (RFC 1624, eqn. 3) for a field that changes in an
 * already checksummed header (TTL decrement, NAT): csum_update16/32.
 * Pure: no kernel headers (tests/unit/test_net_checksum.c).
 */
#pragma once
#include <stddef.h>
#include <stdint.h>

/* Adds len bytes to a running sum. A piece of odd length must be the
 * last one (its final byte is padded with a zero, as RFC 1071 says). */
uint32_t csum_add(uint32_t sum, const void *buf, size_t len);
/* Folds the carries and complements: the checksum to put on the wire. */
uint16_t csum_fold(uint32_t sum);
/* Sum of the IPv4 pseudo-header for TCP and UDP (RFC 768, RFC 9293):
 * addresses in host order, len = transport header + data. */
uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len);
/* The checksum after a 16-bit (32-bit) field changed from old to new. */
uint16_t csum_update16(uint16_t csum, uint16_t old, uint16_t new_);
uint16_t csum_update32(uint16_t csum, uint32_t old, uint32_t new_);
