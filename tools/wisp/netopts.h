/* The VM's network options: `--net none|user|tap:NAME`, `-p [IP:]HOST:GUEST[/udp]`
 * and `--ip A.B.C.D/NN[,gw=A.B.C.D][,dns=A.B.C.D]` (or `--ip dhcp`).
 *
 * Pure: parsing and the text they become (QEMU's -netdev value, the kernel's
 * net options); nothing here opens a socket. run.c checks that a published
 * host port is free before QEMU starts. See docs/usage.md.
 *
 * Parse errors fill err with one line that names the bad spec and says what
 * is expected; the caller prefixes "wisp: error:" and exits 125. */
#ifndef WISP_NETOPTS_H
#define WISP_NETOPTS_H

#include <stddef.h>

#include "buf.h"

enum net_mode { NET_USER, NET_NONE, NET_TAP };

struct net_publish {
	int udp;              /* 0: tcp */
	char host_ip[16];     /* dotted quad; "127.0.0.1" unless given */
	unsigned host_port;   /* 1..65535 */
	unsigned guest_port;  /* 1..65535 */
};

struct net_config {
	enum net_mode mode;
	char tap[16];                 /* NET_TAP: interface name (IFNAMSIZ - 1) */
	struct net_publish *pub;      /* -p, in the order given */
	size_t npub;
	int ip_set;                   /* --ip given */
	int dhcp;                     /* --ip dhcp */
	char ip[16];                  /* static address, dotted quad */
	unsigned prefix;              /* 0..32 */
	char gw[16], dns[16];         /* "" when not given */
};

/* QEMU user networking's fixed plan (slirp's defaults). */
#define SLIRP_GUEST_IP "10.0.2.15"
#define SLIRP_GATEWAY "10.0.2.2"
#define SLIRP_DNS "10.0.2.3"

void net_config_init(struct net_config *c);
void net_config_free(struct net_config *c);

/* Each returns 0, or -1 with err filled. */
int net_parse_mode(struct net_config *c, const char *spec, char *err, size_t errlen);
int net_add_publish(struct net_config *c, const char *spec, char *err, size_t errlen);
int net_parse_ip(struct net_config *c, const char *spec, char *err, size_t errlen);
/* After all options: the combination makes sense (-p needs user networking,
 * a host port is published once). */
int net_check(const struct net_config *c, char *err, size_t errlen);

/* Strict dotted quad ("10.0.2.15"; no leading zeros, no shorthand). */
int net_parse_ipv4(const char *s, unsigned char out[4]);

/* The -netdev value ("user,id=n0,hostfwd=..." / "tap,id=n0,...") or NULL
 * for NET_NONE; malloc'd. */
char *net_netdev_arg(const struct net_config *c);
/* Kernel command-line options for the network (net=, ip=, gw=, dns=),
 * appended to kopts: --ip's, else slirp's fixed plan for user networking,
 * net=none without a NIC, nothing for tap (the kernel's default: DHCP). */
void net_kernel_opts(const struct net_config *c, struct strvec *kopts);

#endif
