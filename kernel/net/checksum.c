/*
 * Internet checksum (see checksum.h). Summed a 64-bit word at a time:
 * each native (little-endian) load is split in two 32-bit halves added to
 * a 64-bit accumulator, so no carry is lost for any length up to 2^31
 * words; the folded result is byte-swapped back, since the ones'
 * complement sum does not depend on byte order (RFC 1071 2(B)). A
 * trailing odd byte is the low byte of a little-endian word, which the
 * swap makes the high byte RFC 1071 pads it as. The unit test compares
 * this against the plain byte-pair definition.
 */
#include "net/checksum.h"

static uint32_t fold32(uint64_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint32_t)s;
}

uint32_t csum_add(uint32_t sum, const void *buf, size_t len)
{
	const uint8_t *p = buf;
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	uint64_t s = 0;
	while (len >= 32) {
		uint64_t a, b, c, d;
		__builtin_memcpy(&a, p, 8);
		__builtin_memcpy(&b, p + 8, 8);
		__builtin_memcpy(&c, p + 16, 8);
		__builtin_memcpy(&d, p + 24, 8);
		s += (a & 0xffffffffu) + (a >> 32) + (b & 0xffffffffu) + (b >> 32) +
		     (c & 0xffffffffu) + (c >> 32) + (d & 0xffffffffu) + (d >> 32);
		p += 32;
		len -= 32;
	}
	while (len >= 8) {
		uint64_t a;
		__builtin_memcpy(&a, p, 8);
		s += (a & 0xffffffffu) + (a >> 32);
		p += 8;
		len -= 8;
	}
	while (len >= 2) {
		s += (uint32_t)(p[0] | p[1] << 8);
		p += 2;
		len -= 2;
	}
	if (len)
		s += p[0];
	uint32_t le = fold32(s);
	uint32_t be = (le & 0xff) << 8 | le >> 8;
	return fold32((uint64_t)sum + be);
#else
	uint64_t s = sum;
	while (len >= 2) {
		s += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	return fold32(s);
#endif
}

uint16_t csum_fold(uint32_t sum)
{
	return (uint16_t)~fold32(sum);
}

uint32_t csum_pseudo(uint32_t src, uint32_t dst, uint8_t proto, uint16_t len)
{
	uint64_t s = (src >> 16) + (src & 0xffff) + (dst >> 16) + (dst & 0xffff) +
		     proto + len;
	return fold32(s);
}

/* RFC 1624: HC' = ~(~HC + ~m + m'). Using the complement-of-sum form
 * (not eqn. 2) avoids producing 0x0000 where 0xffff is meant. */
uint16_t csum_update16(uint16_t csum, uint16_t old, uint16_t new_)
{
	uint64_t s = (uint16_t)~csum;
	s += (uint16_t)~old;
	s += new_;
	return (uint16_t)~fold32(s);
}

uint16_t csum_update32(uint16_t csum, uint32_t old, uint32_t new_)
{
	csum = csum_update16(csum, (uint16_t)(old >> 16), (uint16_t)(new_ >> 16));
	return csum_update16(csum, (uint16_t)old, (uint16_t)new_);
}
