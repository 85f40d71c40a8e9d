/* Unit tests for tools/wisp/netopts.c: -p, --net and --ip parsing and the
 * QEMU / kernel text they become. */
#include "../../tools/wisp/buf.c"
#include "../../tools/wisp/netopts.c"

#include "check.h"

static char err[256];

static int pub_ok(struct net_config *c, const char *spec)
{
	int r = net_add_publish(c, spec, err, sizeof(err));
	if (r < 0)
		fprintf(stderr, "-p %s: %s\n", spec, err);
	return r == 0;
}

/* Fails, and the message names the spec (so the user sees what was wrong). */
static int pub_bad(const char *spec)
{
	struct net_config c;
	net_config_init(&c);
	err[0] = 0;
	int r = net_add_publish(&c, spec, err, sizeof(err));
	net_config_free(&c);
	return r < 0 && strstr(err, spec) != NULL && !strchr(err, '\n');
}

static int netdev_is(const struct net_config *c, const char *want)
{
	char *got = net_netdev_arg(c);
	int ok = (!got && !want) || (got && want && !strcmp(got, want));
	if (!ok)
		fprintf(stderr, "netdev got [%s] want [%s]\n", got ? got : "(null)",
			want ? want : "(null)");
	free(got);
	return ok;
}

static int kopts_are(const struct net_config *c, const char *want)
{
	struct strvec v;
	struct strbuf b;
	strvec_init(&v);
	strbuf_init(&b);
	net_kernel_opts(c, &v);
	for (size_t i = 0; i < v.n; i++)
		strbuf_addf(&b, i ? " %s" : "%s", v.v[i]);
	int ok = !strcmp(b.s, want);
	if (!ok)
		fprintf(stderr, "kopts got [%s] want [%s]\n", b.s, want);
	strvec_free(&v);
	strbuf_free(&b);
	return ok;
}

static void test_publish(void)
{
	struct net_config c;
	net_config_init(&c);
	CHECK(pub_ok(&c, "8080:80"));
	CHECK(pub_ok(&c, "127.0.0.2:8080:80/tcp"));
	CHECK(pub_ok(&c, "5353:53/udp"));
	CHECK(pub_ok(&c, "65535:1"));
	CHECK(c.npub == 4);
	CHECK(!strcmp(c.pub[0].host_ip, "127.0.0.1")); /* never 0.0.0.0 by default */
	CHECK(c.pub[0].host_port == 8080 && c.pub[0].guest_port == 80 && !c.pub[0].udp);
	CHECK(!strcmp(c.pub[1].host_ip, "127.0.0.2"));
	CHECK(c.pub[2].udp && c.pub[2].guest_port == 53);
	CHECK(netdev_is(&c, "user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80,"
			    "hostfwd=tcp:127.0.0.2:8080-:80,hostfwd=udp:127.0.0.1:5353-:53,"
			    "hostfwd=tcp:127.0.0.1:65535-:1"));
	/* The same host port twice (same address, or every address). */
	CHECK(net_add_publish(&c, "8080:81", err, sizeof(err)) < 0);
	CHECK(net_add_publish(&c, "0.0.0.0:5353:54/udp", err, sizeof(err)) < 0);
	CHECK(pub_ok(&c, "8080:80/udp")); /* another protocol is another port */
	CHECK(net_check(&c, err, sizeof(err)) == 0);
	c.mode = NET_NONE;
	CHECK(net_check(&c, err, sizeof(err)) < 0 && strstr(err, "-p"));
	c.mode = NET_TAP;
	CHECK(net_check(&c, err, sizeof(err)) < 0);
	net_config_free(&c);

	CHECK(pub_bad("80"));
	CHECK(pub_bad(""));
	CHECK(pub_bad(":80"));
	CHECK(pub_bad("8080:"));
	CHECK(pub_bad("0:80"));
	CHECK(pub_bad("8080:0"));
	CHECK(pub_bad("65536:80"));
	CHECK(pub_bad("8080:99999999999999999999"));
	CHECK(pub_bad("080:80"));
	CHECK(pub_bad("-1:80"));
	CHECK(pub_bad("+80:80"));
	CHECK(pub_bad(" 80:80"));
	CHECK(pub_bad("8080:80/sctp"));
	CHECK(pub_bad("8080:80/"));
	CHECK(pub_bad("8080:80/tcp/udp"));
	CHECK(pub_bad("1.2.3:8080:80"));
	CHECK(pub_bad("1.2.3.256:8080:80"));
	CHECK(pub_bad("localhost:8080:80"));
	CHECK(pub_bad("[::1]:8080:80"));
	CHECK(pub_bad("1.2.3.4:5:6:7"));
	CHECK(pub_bad("8000-8010:80"));
}

static void test_mode(void)
{
	struct net_config c;
	net_config_init(&c);
	CHECK(c.mode == NET_USER);
	CHECK(netdev_is(&c, "user,id=n0"));
	CHECK(kopts_are(&c, "net=static ip=10.0.2.15/24 gw=10.0.2.2 dns=10.0.2.3"));
	CHECK(net_parse_mode(&c, "none", err, sizeof(err)) == 0 && c.mode == NET_NONE);
	CHECK(netdev_is(&c, NULL));
	CHECK(kopts_are(&c, "net=none"));
	CHECK(net_parse_mode(&c, "tap:wisp0", err, sizeof(err)) == 0 && c.mode == NET_TAP);
	CHECK(netdev_is(&c, "tap,id=n0,ifname=wisp0,script=no,downscript=no"));
	CHECK(kopts_are(&c, "")); /* the kernel's default: DHCP */
	CHECK(net_parse_mode(&c, "tap:123456789012345", err, sizeof(err)) == 0);
	CHECK(net_parse_mode(&c, "tap:1234567890123456", err, sizeof(err)) < 0);
	CHECK(net_parse_mode(&c, "tap:", err, sizeof(err)) < 0);
	CHECK(net_parse_mode(&c, "tap:a,b", err, sizeof(err)) < 0);
	CHECK(net_parse_mode(&c, "tap:a/b", err, sizeof(err)) < 0);
	CHECK(net_parse_mode(&c, "tap:..", err, sizeof(err)) < 0);
	CHECK(net_parse_mode(&c, "bridge", err, sizeof(err)) < 0 && strstr(err, "bridge"));
	CHECK(net_parse_mode(&c, "", err, sizeof(err)) < 0);
	net_config_free(&c);
}

static void test_ip(void)
{
	struct net_config c;
	net_config_init(&c);
	CHECK(net_parse_ip(&c, "192.168.77.2/24,gw=192.168.77.1,dns=192.168.77.1", err,
			   sizeof(err)) == 0);
	CHECK(kopts_are(&c, "net=static ip=192.168.77.2/24 gw=192.168.77.1 dns=192.168.77.1"));
	/* The guest's address is then hostfwd's target. */
	CHECK(pub_ok(&c, "8080:80"));
	CHECK(netdev_is(&c, "user,id=n0,hostfwd=tcp:127.0.0.1:8080-192.168.77.2:80"));
	CHECK(net_parse_ip(&c, "10.0.0.5/8", err, sizeof(err)) == 0);
	CHECK(kopts_are(&c, "net=static ip=10.0.0.5/8"));
	CHECK(net_parse_ip(&c, "dhcp", err, sizeof(err)) == 0);
	CHECK(kopts_are(&c, "net=dhcp"));
	CHECK(netdev_is(&c, "user,id=n0,hostfwd=tcp:127.0.0.1:8080-:80"));
	c.mode = NET_NONE;
	CHECK(net_check(&c, err, sizeof(err)) < 0);
	c.mode = NET_USER;
	static const char *const bad[] = {
		"10.0.2.15", "10.0.2.15/", "10.0.2.15/33", "10.0.2.15/024", "10.0.2/24",
		"10.0.2.15/24,gw=", "10.0.2.15/24,gw=1.2.3", "10.0.2.15/24,mtu=1500",
		"10.0.2.15/24,", "127.0.0.1/8", "0.0.0.0/0", "224.0.0.1/4", "DHCP",
		"10.0.2.15 /24", "",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = 0;
		int r = net_parse_ip(&c, bad[i], err, sizeof(err));
		CHECK(r < 0 && strstr(err, bad[i]));
		if (r == 0)
			fprintf(stderr, "--ip '%s' accepted\n", bad[i]);
	}
	net_config_free(&c);
}

static void test_ipv4(void)
{
	unsigned char a[4];
	CHECK(net_parse_ipv4("1.2.3.4", a) == 0 && a[0] == 1 && a[3] == 4);
	CHECK(net_parse_ipv4("255.255.255.255", a) == 0 && a[2] == 255);
	CHECK(net_parse_ipv4("0.0.0.0", a) == 0);
	CHECK(net_parse_ipv4("01.2.3.4", a) < 0);
	CHECK(net_parse_ipv4("1.2.3.4.", a) < 0);
	CHECK(net_parse_ipv4("1..3.4", a) < 0);
	CHECK(net_parse_ipv4("1.2.3.1000", a) < 0);
	CHECK(net_parse_ipv4("1.2.3", a) < 0);
	CHECK(net_parse_ipv4("", a) < 0);
	CHECK(net_parse_ipv4("0x1.2.3.4", a) < 0);
}

int main(void)
{
	test_publish();
	test_mode();
	test_ip();
	test_ipv4();
	return CHECK_SUMMARY();
}
