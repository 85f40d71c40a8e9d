/*
 * AF_INET pieces shared by UDP (udp.c) and TCP (tcp_sock.c): the IP-level
 * socket options (SOL_IP) and the family's create function (inet.c).
 *
 * How TCP and UDP share the options: each protocol control block embeds
 * one struct inet_opts (UDP: as its first member). For level SOL_IP its
 * setsockopt/getsockopt op calls inet_setsockopt/inet_getsockopt on that
 * struct, handling first only what is its own (UDP: IP_MTU; TCP likewise
 * may answer IP_MTU from its path MTU), and its output fills struct ip_tx
 * with inet_tx_tos()/inet_tx_ttl() and, for TCP, df = inet_tx_df(). Values
 * in host order; everything here works on a kernel copy, no locks needed
 * (fields are read racily by the output path, as Linux does).
 *
 * Notes for TCP: Linux keeps the ECN bits of IP_TOS for TCP itself (the
 * low 2 bits): inet_setsockopt stores the value as given, the caller may
 * mask them. IP_RECVERR and IP_PKTINFO only matter to datagram receivers.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "net/socket.h"

#define IP_TOS            1
#define IP_TTL            2
#define IP_HDRINCL        3
#define IP_OPTIONS        4
#define IP_RECVOPTS       6
#define IP_RETOPTS        7
#define IP_PKTINFO        8
#define IP_MTU_DISCOVER   10
#define IP_RECVERR        11
#define IP_RECVTTL        12
#define IP_RECVTOS        13
#define IP_MTU            14
#define IP_FREEBIND       15
#define IP_TRANSPARENT    19
#define IP_BIND_ADDRESS_NO_PORT 24
#define IP_MULTICAST_IF   32
#define IP_MULTICAST_TTL  33
#define IP_MULTICAST_LOOP 34
#define IP_ADD_MEMBERSHIP 35
#define IP_DROP_MEMBERSHIP 36

#define IP_PMTUDISC_DONT  0
#define IP_PMTUDISC_WANT  1
#define IP_PMTUDISC_DO    2
#define IP_PMTUDISC_PROBE 3

#define INET_DEFAULT_TTL 64

struct inet_opts {
	uint8_t tos;               /* IP_TOS */
	int16_t ttl;               /* IP_TTL; -1: the default (64) */
	uint8_t pmtudisc;          /* IP_MTU_DISCOVER; default WANT (DF set) */
	uint8_t mc_ttl;            /* IP_MULTICAST_TTL (default 1) */
	bool recverr, pktinfo, recvttl, recvtos, freebind, transparent,
	     bind_no_port, mc_loop, hdrincl;
};

/* Defaults as Linux: tos 0, ttl default, PMTU discovery "want". */
void inet_opts_init(struct inet_opts *o);
/* SOL_IP options: 0, -EINVAL (bad length or value), -ENOPROTOOPT. */
int inet_setsockopt(struct inet_opts *o, int name, const void *val, size_t len);
/* *len in: room (at least 1 for an int option); out: bytes to copy.
 * Like Linux, a short buffer gets the value as one byte. */
int inet_getsockopt(const struct inet_opts *o, int name, void *val, size_t *len);

static inline uint8_t inet_tx_tos(const struct inet_opts *o) { return o->tos; }
static inline uint8_t inet_tx_ttl(const struct inet_opts *o)
{
	return o->ttl < 0 ? INET_DEFAULT_TTL : (uint8_t)o->ttl;
}
/* Don't-fragment for output (IP_PMTUDISC_DO/PROBE, and WANT for TCP). */
static inline bool inet_tx_df(const struct inet_opts *o, bool stream)
{
	return o->pmtudisc >= IP_PMTUDISC_DO || (stream && o->pmtudisc == IP_PMTUDISC_WANT);
}
