/*
 * Internet checksum (see checksum.h). Plain byte-pair arithmetic into a
 * 64-bit accumulator: no carries are lost for any length we can be given,
 * and it does not care about alignment. A word-at-a-time version (sum
 * native 64-bit loads, byte-swap the folded result) can replace the loop
 * when throughput matters; the unit test compares against this one.
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
	uint64_t s = sum;
	while (len >= 2) {
		s += (uint32_t)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		s += (uint32_t)p[0] << 8;
	return fold32(s);
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
