/* IPv4 address text (see inet_addr.h). */
#include "net/inet_addr.h"

const char *ip4_str(uint32_t ip, char buf[IP4_STRLEN])
{
	char *p = buf;
	for (int part = 3; part >= 0; part--) {
		unsigned v = (ip >> (8 * part)) & 255;
		if (v >= 100)
			*p++ = (char)('0' + v / 100);
		if (v >= 10)
			*p++ = (char)('0' + v / 10 % 10);
		*p++ = (char)('0' + v % 10);
		if (part)
			*p++ = '.';
	}
	*p = 0;
	return buf;
}

int ip4_parse(const char *s, uint32_t *ip)
{
	uint32_t v = 0;
	for (int part = 0; part < 4; part++) {
		if (*s < '0' || *s > '9')
			return -1;
		unsigned n = 0;
		for (int d = 0; *s >= '0' && *s <= '9'; d++, s++) {
			if (d >= 3)
				return -1;
			n = n * 10 + (unsigned)(*s - '0');
		}
		if (n > 255)
			return -1;
		v = v << 8 | n;
		if (part < 3 && *s++ != '.')
			return -1;
	}
	if (*s)
		return -1;
	*ip = v;
	return 0;
}
