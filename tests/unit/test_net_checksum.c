/* Internet checksum (kernel/net/checksum.c): RFC 1071's worked example,
 * odd lengths, split sums, the pseudo-header, RFC 1624 incremental
 * updates against recomputation, and a real IPv4 header. */
#include "check.h"
#include <stdint.h>
#include <stdlib.h>
#include "../../kernel/net/checksum.c"
#include "net/byteorder.h"

/* Reference: the definition, one 16-bit word at a time, 32-bit folds. */
static uint16_t ref_csum(const uint8_t *p, size_t len)
{
	uint32_t s = 0;
	for (size_t i = 0; i < len; i += 2) {
		s += (uint32_t)p[i] << 8 | (i + 1 < len ? p[i + 1] : 0);
		s = (s & 0xffff) + (s >> 16);
	}
	return (uint16_t)~s;
}

int main(void)
{
	/* RFC 1071 section 3: 00 01 f2 03 f4 f5 f6 f7 sums to 0xddf2. */
	const uint8_t rfc[] = { 0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7 };
	CHECK(csum_add(0, rfc, sizeof(rfc)) == 0xddf2);
	CHECK(csum_fold(csum_add(0, rfc, sizeof(rfc))) == (uint16_t)~0xddf2);

	/* Empty, one byte, all ones. */
	CHECK(csum_fold(0) == 0xffff);
	const uint8_t one = 0xab;
	CHECK(csum_add(0, &one, 1) == 0xab00);
	uint8_t ff[64];
	memset(ff, 0xff, sizeof(ff));
	CHECK(csum_fold(csum_add(0, ff, sizeof(ff))) == 0);

	/* A real IPv4 header (from a capture): checksum b861. */
	uint8_t ip[20] = { 0x45, 0x00, 0x00, 0x73, 0x00, 0x00, 0x40, 0x00, 0x40, 0x11,
			   0x00, 0x00, 0xc0, 0xa8, 0x00, 0x01, 0xc0, 0xa8, 0x00, 0xc7 };
	CHECK(csum_fold(csum_add(0, ip, 20)) == 0xb861);
	put_be16(ip + 10, 0xb861);
	CHECK(csum_fold(csum_add(0, ip, 20)) == 0);

	/* Random buffers: equals the reference; split at even points equals whole. */
	srand(1);
	static uint8_t buf[70000];
	for (int round = 0; round < 300; round++) {
		size_t len = (size_t)rand() % (round < 280 ? 2000 : sizeof(buf));
		for (size_t i = 0; i < len; i++)
			buf[i] = (uint8_t)rand();
		uint16_t whole = csum_fold(csum_add(0, buf, len));
		CHECK(whole == ref_csum(buf, len));
		size_t cut = len ? ((size_t)rand() % len) & ~(size_t)1 : 0;
		CHECK(csum_fold(csum_add(csum_add(0, buf, cut), buf + cut, len - cut)) == whole);
	}
	/* Every start alignment and every length to 300 (the word-at-a-time
	 * loop's tails), with a running sum carried in. */
	for (size_t i = 0; i < 400; i++)
		buf[i] = (uint8_t)rand();
	for (size_t off = 0; off < 8; off++)
		for (size_t len = 0; len <= 300; len++) {
			uint32_t init = (uint32_t)rand() & 0x1ffff;
			uint32_t raw = (uint16_t)~ref_csum(buf + off, len);
			CHECK(csum_fold(csum_add(init, buf + off, len)) == csum_fold(init + raw));
		}
	/* 70,000 bytes of 0xff: many carries. */
	memset(buf, 0xff, sizeof(buf));
	CHECK(csum_fold(csum_add(0, buf, sizeof(buf))) == ref_csum(buf, sizeof(buf)));

	/* Pseudo-header: equals summing its 12 bytes. */
	uint8_t ph[12] = { 10, 0, 2, 15, 10, 0, 2, 2, 0, 17, 0x01, 0x23 };
	CHECK(csum_pseudo(0x0a00020f, 0x0a000202, 17, 0x123) == csum_add(0, ph, 12));
	CHECK(csum_pseudo(0xffffffff, 0xffffffff, 255, 0xffff) ==
	      csum_add(0, (uint8_t[12]){ 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
					 0, 255, 0xff, 0xff }, 12));

	/* Incremental update: change random words of random headers. */
	for (int round = 0; round < 20000; round++) {
		uint8_t h[20];
		for (int i = 0; i < 20; i++)
			h[i] = (uint8_t)rand();
		if (round % 7 == 0)
			memset(h, 0, 20);      /* sums near zero: the 0/0xffff corner */
		/* A header is never all zeros (version 4); eqn. 3 gives 0x0000
		 * instead of 0xffff only for all-zero data. */
		h[0] = 0x45;
		put_be16(h + 10, 0);
		put_be16(h + 10, csum_fold(csum_add(0, h, 20)));
		int w = 2 + (rand() % 8) * 2;
		if (w == 10)
			w = 8;
		uint16_t old = get_be16(h + w), new_ = (uint16_t)rand();
		if (round % 11 == 0)
			new_ = 0;
		uint16_t upd = csum_update16(get_be16(h + 10), old, new_);
		put_be16(h + w, new_);
		put_be16(h + 10, upd);
		/* The updated header still verifies. */
		CHECK(csum_fold(csum_add(0, h, 20)) == 0);
		/* 32-bit: the source address. */
		uint32_t o32 = get_be32(h + 12), n32 = (uint32_t)rand();
		uint16_t u32 = csum_update32(get_be16(h + 10), o32, n32);
		put_be32(h + 12, n32);
		put_be16(h + 10, u32);
		CHECK(csum_fold(csum_add(0, h, 20)) == 0);
	}
	/* TTL decrement as a router does it: the 16-bit word ttl|proto. */
	uint8_t t[20] = { 0x45, 0, 0, 84, 0x12, 0x34, 0x40, 0, 64, 1, 0, 0, 10, 0, 2, 15, 10, 0, 2, 2 };
	put_be16(t + 10, csum_fold(csum_add(0, t, 20)));
	uint16_t w8 = get_be16(t + 8);
	t[8]--;
	put_be16(t + 10, csum_update16(get_be16(t + 10), w8, get_be16(t + 8)));
	CHECK(csum_fold(csum_add(0, t, 20)) == 0);
	return CHECK_SUMMARY();
}
