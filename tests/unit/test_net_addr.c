/* IPv4 address text (kernel/net/inet_addr.c): formatting every octet
 * width, strict parsing (rejects short forms, extra parts, big or long
 * parts, signs, spaces), round trips, netmasks. */
#include "check.h"
#include <stdint.h>
#include <stdlib.h>
#include "../../kernel/net/inet_addr.c"

int main(void)
{
	char b[IP4_STRLEN];
	CHECK(strcmp(ip4_str(0x0a00020f, b), "10.0.2.15") == 0);
	CHECK(strcmp(ip4_str(0, b), "0.0.0.0") == 0);
	CHECK(strcmp(ip4_str(0xffffffff, b), "255.255.255.255") == 0);
	CHECK(strcmp(ip4_str(0xc0a86401, b), "192.168.100.1") == 0);
	uint32_t ip = 1;
	CHECK(ip4_parse("10.0.2.15", &ip) == 0 && ip == 0x0a00020f);
	CHECK(ip4_parse("255.255.255.255", &ip) == 0 && ip == 0xffffffff);
	CHECK(ip4_parse("0.0.0.0", &ip) == 0 && ip == 0);
	CHECK(ip4_parse("010.0.0.1", &ip) == 0 && ip == 0x0a000001);   /* decimal, not octal */
	static const char *const bad[] = {
		"", "10", "10.0", "10.0.2", "10.0.2.15.", "10.0.2.15.1", ".10.0.2.15", "10..2.15",
		"256.0.0.1", "1.2.3.256", "1000.0.0.1", "0001.0.0.1", "1.2.3.4 ", " 1.2.3.4",
		"+1.2.3.4", "-1.2.3.4", "1.2.3.a", "1.2.3.4/24", "0x1.2.3.4", "999.999.999.999",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ip = 7;
		CHECK(ip4_parse(bad[i], &ip) == -1 && ip == 7);
	}
	/* Round trips. */
	srand(2);
	for (int i = 0; i < 100000; i++) {
		uint32_t v = (uint32_t)rand() << 16 ^ (uint32_t)rand();
		if (i < 256)
			v = (uint32_t)i * 0x01010101u;
		CHECK(ip4_parse(ip4_str(v, b), &ip) == 0 && ip == v);
	}
	CHECK(ip4_mask(0) == 0 && ip4_mask(24) == 0xffffff00 && ip4_mask(32) == 0xffffffff &&
	      ip4_mask(1) == 0x80000000 && ip4_mask(31) == 0xfffffffe);
	return CHECK_SUMMARY();
}
