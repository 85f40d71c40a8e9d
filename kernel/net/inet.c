/*
 * The AF_INET family: socket() hands SOCK_STREAM to TCP and SOCK_DGRAM to
 * UDP with Linux's checks, and the IP-level options both share
 * (net/inet.h).
 */
#include "net/inet.h"
#include "net/sys_socket.h"
#include "net/packet.h"
#include "net/stack.h"
#include "lib/string.h"
#include "errno.h"

int inet_create(struct socket *s, int type, int protocol, bool kern)
{
	(void)kern;
	net_wait_configured();      /* DHCP may still run (net/stack.h) */
	switch (type) {
	case SOCK_STREAM:
		if (protocol && protocol != IPPROTO_TCP)
			return -EPROTONOSUPPORT;
		s->protocol = IPPROTO_TCP;
		return tcp_sock_create(s, IPPROTO_TCP);
	case SOCK_DGRAM:
		if (protocol == IPPROTO_ICMP)
			return -EACCES;     /* ping sockets: net.ipv4.ping_group_range "1 0" */
		if (protocol && protocol != IPPROTO_UDP)
			return -EPROTONOSUPPORT;
		s->protocol = IPPROTO_UDP;
		return udp_sock_create(s, IPPROTO_UDP);
	case SOCK_RAW:
		/* Raw sockets need CAP_NET_RAW: as an unprivileged Linux. */
		return protocol < 0 || protocol > 255 ? -EINVAL : -EPERM;
	default:
		return -ESOCKTNOSUPPORT;
	}
}

void inet_opts_init(struct inet_opts *o)
{
	memset(o, 0, sizeof(*o));
	o->ttl = -1;
	o->pmtudisc = IP_PMTUDISC_WANT;
	o->mc_ttl = 1;
	o->mc_loop = true;
}

/* An option value: an int, or one byte when shorter (as Linux). */
static int get_val(const void *val, size_t len, int *out)
{
	if (len >= sizeof(int)) {
		memcpy(out, val, sizeof(int));
		return 0;
	}
	if (len >= 1) {
		*out = *(const uint8_t *)val;
		return 0;
	}
	return -EINVAL;
}

int inet_setsockopt(struct inet_opts *o, int name, const void *val, size_t len)
{
	int v = 0;
	switch (name) {
	case IP_TOS: case IP_TTL: case IP_MTU_DISCOVER: case IP_RECVERR: case IP_PKTINFO:
	case IP_RECVTTL: case IP_RECVTOS: case IP_FREEBIND: case IP_TRANSPARENT:
	case IP_BIND_ADDRESS_NO_PORT: case IP_MULTICAST_TTL: case IP_MULTICAST_LOOP:
	case IP_RECVOPTS: case IP_RETOPTS: case IP_HDRINCL:
		if (get_val(val, len, &v))
			return -EINVAL;
		break;
	}
	switch (name) {
	case IP_TOS:
		o->tos = (uint8_t)v;
		return 0;
	case IP_TTL:
		if (len < 1)
			return -EINVAL;
		if (v != -1 && (v < 1 || v > 255))
			return -EINVAL;
		o->ttl = (int16_t)v;
		return 0;
	case IP_MTU_DISCOVER:
		if (v < IP_PMTUDISC_DONT || v > 5)
			return -EINVAL;
		o->pmtudisc = (uint8_t)v;
		return 0;
	case IP_RECVERR: o->recverr = v; return 0;
	case IP_PKTINFO: o->pktinfo = v; return 0;
	case IP_RECVTTL: o->recvttl = v; return 0;
	case IP_RECVTOS: o->recvtos = v; return 0;
	case IP_FREEBIND: o->freebind = v; return 0;
	case IP_TRANSPARENT: o->transparent = v; return 0;
	case IP_BIND_ADDRESS_NO_PORT: o->bind_no_port = v; return 0;
	case IP_RECVOPTS: case IP_RETOPTS: return 0;
	case IP_HDRINCL: return -ENOPROTOOPT;     /* raw sockets only */
	case IP_MULTICAST_TTL:
		if (v == -1)
			v = 1;
		if (v < 0 || v > 255)
			return -EINVAL;
		o->mc_ttl = (uint8_t)v;
		return 0;
	case IP_MULTICAST_LOOP: o->mc_loop = v; return 0;
	case IP_OPTIONS:
		return len == 0 ? 0 : -EINVAL;        /* no IP options are sent */
	case IP_MULTICAST_IF:
		return len < 4 ? -EINVAL : 0;
	case IP_ADD_MEMBERSHIP:
	case IP_DROP_MEMBERSHIP:
		/* No multicast routing: joining is accepted for programs that
		 * probe it, nothing is received. struct ip_mreq at least. */
		return len < 8 ? -EINVAL : 0;
	default:
		return -ENOPROTOOPT;
	}
}

int inet_getsockopt(const struct inet_opts *o, int name, void *val, size_t *len)
{
	int v;
	switch (name) {
	case IP_TOS: v = o->tos; break;
	case IP_TTL: v = o->ttl < 0 ? INET_DEFAULT_TTL : o->ttl; break;
	case IP_MTU_DISCOVER: v = o->pmtudisc; break;
	case IP_RECVERR: v = o->recverr; break;
	case IP_PKTINFO: v = o->pktinfo; break;
	case IP_RECVTTL: v = o->recvttl; break;
	case IP_RECVTOS: v = o->recvtos; break;
	case IP_FREEBIND: v = o->freebind; break;
	case IP_TRANSPARENT: v = o->transparent; break;
	case IP_BIND_ADDRESS_NO_PORT: v = o->bind_no_port; break;
	case IP_MULTICAST_TTL: v = o->mc_ttl; break;
	case IP_MULTICAST_LOOP: v = o->mc_loop; break;
	case IP_OPTIONS:
		*len = 0;
		return 0;
	default:
		return -ENOPROTOOPT;
	}
	if (*len < sizeof(int) && *len > 0 && v >= 0 && v <= 255) {
		*(uint8_t *)val = (uint8_t)v;
		*len = 1;
		return 0;
	}
	if (*len < sizeof(int))
		return -EINVAL;
	memcpy(val, &v, sizeof(v));
	*len = sizeof(v);
	return 0;
}
