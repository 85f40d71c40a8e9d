/* Network options of the tool; see netopts.h. */
#include "netopts.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

void net_config_init(struct net_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mode = NET_USER;
}

void net_config_free(struct net_config *c)
{
	free(c->pub);
	c->pub = NULL;
	c->npub = 0;
}

/* A decimal number of at most 5 digits, no sign, no leading zeros (a
 * leading zero reads as octal to some tools, and "080" is surely a typo). */
static int parse_dec(const char *s, size_t n, unsigned long max, unsigned long *out)
{
	unsigned long v = 0;

	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!isdigit((unsigned char)s[i]))
			return -1;
		v = v * 10 + (unsigned long)(s[i] - '0');
	}
	if (v > max)
		return -1;
	*out = v;
	return 0;
}

static int parse_ipv4_n(const char *s, size_t n, unsigned char out[4])
{
	size_t i = 0;

	for (int part = 0; part < 4; part++) {
		size_t start = i;
		unsigned long v;
		while (i < n && s[i] != '.')
			i++;
		if (i - start > 3 || parse_dec(s + start, i - start, 255, &v) < 0)
			return -1;
		out[part] = (unsigned char)v;
		if (part < 3) {
			if (i >= n || s[i] != '.')
				return -1;
			i++;
		}
	}
	return i == n ? 0 : -1;
}

int net_parse_ipv4(const char *s, unsigned char out[4])
{
	return parse_ipv4_n(s, strlen(s), out);
}

static void quad(char dst[16], const unsigned char a[4])
{
	snprintf(dst, 16, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]);
}

int net_parse_mode(struct net_config *c, const char *spec, char *err, size_t errlen)
{
	if (!strcmp(spec, "user")) {
		c->mode = NET_USER;
		return 0;
	}
	if (!strcmp(spec, "none")) {
		c->mode = NET_NONE;
		return 0;
	}
	if (!strncmp(spec, "tap:", 4)) {
		const char *name = spec + 4;
		size_t n = strlen(name);
		/* Linux interface names: 1..15 bytes, no '/', ':' or blanks;
		 * ',' and '=' would also break QEMU's option syntax. */
		if (n == 0 || n > 15 || strpbrk(name, "/:,= \t\n") || !strcmp(name, ".") ||
		    !strcmp(name, ".."))
			return fail(err, errlen, "bad --net '%s': the tap name must be 1 to 15 "
				    "characters without '/', ':', ',', '=' or blanks", spec);
		c->mode = NET_TAP;
		memcpy(c->tap, name, n + 1);
		return 0;
	}
	return fail(err, errlen, "bad --net '%s': use none, user or tap:NAME", spec);
}

/* [IP:]HOST:GUEST[/tcp|/udp], as docker's -p (without ranges). */
int net_add_publish(struct net_config *c, const char *spec, char *err, size_t errlen)
{
	struct net_publish p;
	const char *slash = strchr(spec, '/');
	size_t len = slash ? (size_t)(slash - spec) : strlen(spec);
	const char *colon[3];
	int ncolon = 0;
	unsigned long hp, gp;
	const char *hs;

	memset(&p, 0, sizeof(p));
	if (slash) {
		if (!strcmp(slash, "/udp"))
			p.udp = 1;
		else if (strcmp(slash, "/tcp"))
			return fail(err, errlen, "bad -p '%s': the protocol must be /tcp or /udp",
				    spec);
	}
	for (size_t i = 0; i < len; i++)
		if (spec[i] == ':') {
			if (ncolon == 2)
				return fail(err, errlen, "bad -p '%s': use [IP:]HOST:GUEST[/udp], "
					    "e.g. 8080:80 or 127.0.0.1:8080:80", spec);
			colon[ncolon++] = spec + i;
		}
	if (ncolon == 0)
		return fail(err, errlen, "bad -p '%s': give the host port too, as HOST:GUEST "
			    "(e.g. 8080:80)", spec);
	if (ncolon == 2) {
		unsigned char a[4];
		if (parse_ipv4_n(spec, (size_t)(colon[0] - spec), a) < 0)
			return fail(err, errlen, "bad -p '%s': '%.*s' is not an IPv4 address",
				    spec, (int)(colon[0] - spec), spec);
		quad(p.host_ip, a);
		hs = colon[0] + 1;
	} else {
		/* Published ports are for this machine only unless the user
		 * names an address: never every interface by default. */
		strcpy(p.host_ip, "127.0.0.1");
		hs = spec;
	}
	const char *last = colon[ncolon - 1];
	if (parse_dec(hs, (size_t)(last - hs), 65535, &hp) < 0 || hp == 0)
		return fail(err, errlen, "bad -p '%s': host port '%.*s' is not 1..65535", spec,
			    (int)(last - hs), hs);
	if (parse_dec(last + 1, (size_t)(spec + len - last - 1), 65535, &gp) < 0 || gp == 0)
		return fail(err, errlen, "bad -p '%s': guest port '%.*s' is not 1..65535", spec,
			    (int)(spec + len - last - 1), last + 1);
	p.host_port = (unsigned)hp;
	p.guest_port = (unsigned)gp;
	for (size_t i = 0; i < c->npub; i++) {
		const struct net_publish *q = &c->pub[i];
		if (q->udp == p.udp && q->host_port == p.host_port &&
		    (!strcmp(q->host_ip, p.host_ip) || !strcmp(q->host_ip, "0.0.0.0") ||
		     !strcmp(p.host_ip, "0.0.0.0")))
			return fail(err, errlen, "bad -p '%s': host port %u/%s is already published",
				    spec, p.host_port, p.udp ? "udp" : "tcp");
	}
	c->pub = xrealloc(c->pub, (c->npub + 1) * sizeof(*c->pub));
	c->pub[c->npub++] = p;
	return 0;
}

/* dhcp | A.B.C.D/NN[,gw=A.B.C.D][,dns=A.B.C.D] */
int net_parse_ip(struct net_config *c, const char *spec, char *err, size_t errlen)
{
	static const char usage[] = "use A.B.C.D/NN[,gw=A.B.C.D][,dns=A.B.C.D] or dhcp";
	unsigned char a[4];
	const char *s = spec, *comma, *sl;
	unsigned long pfx;

	c->ip_set = 1;
	c->dhcp = 0;
	c->ip[0] = c->gw[0] = c->dns[0] = 0;
	if (!strcmp(spec, "dhcp")) {
		c->dhcp = 1;
		return 0;
	}
	comma = strchr(s, ',');
	size_t n = comma ? (size_t)(comma - s) : strlen(s);
	sl = memchr(s, '/', n);
	if (!sl)
		return fail(err, errlen, "bad --ip '%s': the prefix length is missing (%s)", spec,
			    usage);
	if (parse_ipv4_n(s, (size_t)(sl - s), a) < 0)
		return fail(err, errlen, "bad --ip '%s': '%.*s' is not an IPv4 address (%s)", spec,
			    (int)(sl - s), s, usage);
	if (parse_dec(sl + 1, (size_t)(s + n - sl - 1), 32, &pfx) < 0)
		return fail(err, errlen, "bad --ip '%s': the prefix length must be 0..32", spec);
	if (a[0] == 0 || a[0] == 127 || a[0] >= 224)
		return fail(err, errlen, "bad --ip '%s': not a usable host address", spec);
	quad(c->ip, a);
	c->prefix = (unsigned)pfx;
	while (comma) {
		s = comma + 1;
		comma = strchr(s, ',');
		n = comma ? (size_t)(comma - s) : strlen(s);
		char *field = !strncmp(s, "gw=", 3) ? c->gw : !strncmp(s, "dns=", 4) ? c->dns : NULL;
		if (!field)
			return fail(err, errlen, "bad --ip '%s': unknown field '%.*s' (%s)", spec,
				    (int)n, s, usage);
		size_t k = field == c->gw ? 3 : 4;
		if (parse_ipv4_n(s + k, n - k, a) < 0)
			return fail(err, errlen, "bad --ip '%s': '%.*s' is not an IPv4 address", spec,
				    (int)(n - k), s + k);
		quad(field, a);
	}
	return 0;
}

int net_check(const struct net_config *c, char *err, size_t errlen)
{
	if (c->npub && c->mode != NET_USER)
		return fail(err, errlen, "-p publishes ports through QEMU's user networking: it "
			    "needs --net user, not --net %s",
			    c->mode == NET_NONE ? "none" : "tap:NAME");
	if (c->ip_set && c->mode == NET_NONE)
		return fail(err, errlen, "--ip needs a network: it cannot go with --net none");
	return 0;
}

char *net_netdev_arg(const struct net_config *c)
{
	struct strbuf b;

	if (c->mode == NET_NONE)
		return NULL;
	strbuf_init(&b);
	if (c->mode == NET_TAP) {
		/* The tap exists and is configured already (by the user or a
		 * test): QEMU runs no scripts on it. */
		strbuf_addf(&b, "tap,id=n0,ifname=%s,script=no,downscript=no", c->tap);
		return strbuf_detach(&b);
	}
	strbuf_adds(&b, "user,id=n0");
	for (size_t i = 0; i < c->npub; i++) {
		const struct net_publish *p = &c->pub[i];
		/* The guest address is slirp's DHCP lease unless --ip set one. */
		strbuf_addf(&b, ",hostfwd=%s:%s:%u-%s:%u", p->udp ? "udp" : "tcp", p->host_ip,
			    p->host_port, c->ip_set && !c->dhcp ? c->ip : "", p->guest_port);
	}
	return strbuf_detach(&b);
}

void net_kernel_opts(const struct net_config *c, struct strvec *kopts)
{
	if (c->mode == NET_NONE) {
		strvec_push(kopts, "net=none");
		return;
	}
	if (!c->ip_set) {
		/* slirp's plan is fixed and known: giving it to the kernel
		 * saves the DHCP exchange at boot and cannot disagree with
		 * what slirp hands out. tap: the kernel's default (DHCP). */
		if (c->mode == NET_USER) {
			strvec_push(kopts, "net=static");
			strvec_push(kopts, "ip=" SLIRP_GUEST_IP "/24");
			strvec_push(kopts, "gw=" SLIRP_GATEWAY);
			strvec_push(kopts, "dns=" SLIRP_DNS);
		}
		return;
	}
	if (c->dhcp) {
		strvec_push(kopts, "net=dhcp");
		return;
	}
	strvec_push(kopts, "net=static");
	strvec_pushf(kopts, "ip=%s/%u", c->ip, c->prefix);
	if (c->gw[0])
		strvec_pushf(kopts, "gw=%s", c->gw);
	if (c->dns[0])
		strvec_pushf(kopts, "dns=%s", c->dns);
}
