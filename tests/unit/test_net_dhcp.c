/* DHCP messages (kernel/net/dhcp.c): the client's DISCOVER/REQUEST
 * fields and options (RFC 2131/2132), parsing of server replies (our xid
 * and MAC only, options in file/sname when overloaded, malformed option
 * lists refused), and every truncation and 100,000 mutations of a reply
 * in exact-size heap blocks so ASan sees any overread. */
#include "check.h"
#include <stdint.h>
#include <stdlib.h>
#include "../../kernel/net/dhcp.c"

static const uint8_t MAC[6] = { 0x52, 0x54, 0, 0x12, 0x34, 0x56 };

/* A server reply as slirp sends one. */
static size_t reply(uint8_t *b, uint8_t type, uint32_t xid, bool overload)
{
	memset(b, 0, DHCP_MSG_MAX);
	b[0] = 2; b[1] = 1; b[2] = 6;
	put_be32(b + 4, xid);
	put_be32(b + 16, IP4(10, 0, 2, 15));
	memcpy(b + 28, MAC, 6);
	put_be32(b + 236, 0x63825363);
	uint8_t *o = b + 240;
	*o++ = 53; *o++ = 1; *o++ = type;
	*o++ = 54; *o++ = 4; put_be32(o, IP4(10, 0, 2, 2)); o += 4;
	*o++ = 0;                                       /* a pad */
	*o++ = 51; *o++ = 4; put_be32(o, 86400); o += 4;
	if (overload) {
		*o++ = 52; *o++ = 1; *o++ = 3;
		uint8_t *f = b + 108;                   /* file */
		*f++ = 1; *f++ = 4; put_be32(f, IP4(255, 255, 255, 0)); f += 4;
		*f++ = 255;
		uint8_t *s = b + 44;                    /* sname */
		*s++ = 3; *s++ = 4; put_be32(s, IP4(10, 0, 2, 2)); s += 4;
		*s++ = 6; *s++ = 8; put_be32(s, IP4(10, 0, 2, 3)); put_be32(s + 4, IP4(8, 8, 8, 8));
		s += 8;
		*s++ = 255;
	} else {
		*o++ = 1; *o++ = 4; put_be32(o, IP4(255, 255, 255, 0)); o += 4;
		*o++ = 3; *o++ = 4; put_be32(o, IP4(10, 0, 2, 2)); o += 4;
		*o++ = 6; *o++ = 8; put_be32(o, IP4(10, 0, 2, 3)); put_be32(o + 4, IP4(8, 8, 8, 8));
		o += 8;
		*o++ = 99; *o++ = 2; *o++ = 0; *o++ = 0;   /* unknown: skipped */
	}
	*o++ = 255;
	return (size_t)(o - b);
}

static uint32_t rs = 99;
static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 17;
	rs ^= rs << 5;
	return rs;
}

int main(void)
{
	static uint8_t b[DHCP_MSG_MAX];
	/* DISCOVER: BOOTREQUEST, Ethernet, broadcast flag, xid, chaddr, magic,
	 * message type first, padded to 300 bytes. */
	size_t n = dhcp_build(b, DHCPDISCOVER, 0x11223344, MAC, 3, 0, 0, 0);
	CHECK(n == 300);
	CHECK(b[0] == 1 && b[1] == 1 && b[2] == 6 && get_be32(b + 4) == 0x11223344);
	CHECK(get_be16(b + 8) == 3 && get_be16(b + 10) == 0x8000 && get_be32(b + 12) == 0);
	CHECK(memcmp(b + 28, MAC, 6) == 0 && get_be32(b + 236) == 0x63825363);
	CHECK(b[240] == 53 && b[241] == 1 && b[242] == DHCPDISCOVER);
	/* No requested address or server id in a DISCOVER. */
	bool has50 = false, has54 = false, has55 = false;
	for (size_t i = 240; i < n && b[i] != 255; i += b[i] ? 2u + b[i + 1] : 1u) {
		has50 |= b[i] == 50;
		has54 |= b[i] == 54;
		has55 |= b[i] == 55;
	}
	CHECK(!has50 && !has54 && has55);
	/* REQUEST (SELECTING): requested address and server id. */
	n = dhcp_build(b, DHCPREQUEST, 7, MAC, 0, 0, IP4(10, 0, 2, 15), IP4(10, 0, 2, 2));
	has50 = has54 = false;
	for (size_t i = 240; i < n && b[i] != 255; i += b[i] ? 2u + b[i + 1] : 1u) {
		if (b[i] == 50)
			has50 = get_be32(b + i + 2) == IP4(10, 0, 2, 15);
		if (b[i] == 54)
			has54 = get_be32(b + i + 2) == IP4(10, 0, 2, 2);
	}
	CHECK(has50 && has54 && b[242] == DHCPREQUEST);
	/* Renewing: ciaddr, no broadcast flag. */
	dhcp_build(b, DHCPREQUEST, 7, MAC, 0, IP4(10, 0, 2, 15), 0, 0);
	CHECK(get_be16(b + 10) == 0 && get_be32(b + 12) == IP4(10, 0, 2, 15));

	/* Replies. */
	struct dhcp_reply r;
	for (int ov = 0; ov < 2; ov++) {
		n = reply(b, DHCPOFFER, 42, ov);
		CHECK(dhcp_parse(b, n, 42, MAC, &r) == 0);
		CHECK(r.type == DHCPOFFER && r.yiaddr == IP4(10, 0, 2, 15));
		CHECK(r.server_id == IP4(10, 0, 2, 2) && r.lease_s == 86400);
		CHECK(r.netmask == IP4(255, 255, 255, 0) && r.router == IP4(10, 0, 2, 2));
		CHECK(r.ndns == 2 && r.dns[0] == IP4(10, 0, 2, 3) && r.dns[1] == IP4(8, 8, 8, 8));
	}
	n = reply(b, DHCPACK, 42, false);
	CHECK(dhcp_parse(b, n, 42, MAC, &r) == 0 && r.type == DHCPACK);
	CHECK(dhcp_parse(b, n, 43, MAC, &r) < 0);                       /* another xid */
	uint8_t mac2[6] = { 2, 0, 0, 0, 0, 1 };
	CHECK(dhcp_parse(b, n, 42, mac2, &r) < 0);                      /* another client */
	b[0] = 1;
	CHECK(dhcp_parse(b, n, 42, MAC, &r) < 0);                       /* a request */
	n = reply(b, DHCPOFFER, 42, false);
	put_be32(b + 236, 0x63825364);
	CHECK(dhcp_parse(b, n, 42, MAC, &r) < 0);                       /* bad magic */
	n = reply(b, DHCPOFFER, 42, false);
	b[242] = DHCPDISCOVER;
	CHECK(dhcp_parse(b, n, 42, MAC, &r) < 0);                       /* not a reply type */
	n = reply(b, DHCPOFFER, 42, false);
	b[244] = 200;                                                   /* option past the end */
	CHECK(dhcp_parse(b, n, 42, MAC, &r) < 0);
	n = reply(b, DHCPOFFER, 42, false);
	b[241] = 2;                                                     /* type of length 2 */
	CHECK(dhcp_parse(b, n, 42, MAC, &r) < 0);

	/* Every truncation, then mutations, in exact-size heap blocks. */
	n = reply(b, DHCPOFFER, 42, true);
	for (size_t len = 0; len <= n; len++) {
		uint8_t *h = malloc(len ? len : 1);
		memcpy(h, b, len);
		int res = dhcp_parse(h, len, 42, MAC, &r);
		CHECK(len >= 240 || res < 0);
		free(h);
	}
	unsigned ok = 0;
	for (int i = 0; i < 100000; i++) {
		static uint8_t m[DHCP_MSG_MAX];
		size_t len = reply(m, DHCPACK, 42, rnd() % 2);
		for (unsigned k = 1 + rnd() % 4; k; k--)
			m[240 + rnd() % (len - 240)] = (uint8_t)rnd();
		if (rnd() % 3 == 0)
			len = 236 + rnd() % (len - 235);
		uint8_t *h = malloc(len);
		memcpy(h, m, len);
		if (dhcp_parse(h, len, 42, MAC, &r) == 0) {
			ok++;
			CHECK(r.ndns <= DHCP_DNS_MAX);
			CHECK(r.type == DHCPOFFER || r.type == DHCPACK || r.type == DHCPNAK);
		}
		free(h);
	}
	CHECK(ok > 1000);
	return CHECK_SUMMARY();
}
