/*
 * DHCP messages (RFC 2131, options RFC 2132): building the client's
 * DISCOVER and REQUEST, parsing the server's OFFER/ACK/NAK. Pure
 * (tests/unit/test_net_dhcp.c); the client itself is in netconfig.c.
 */
#pragma once
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DHCP_SERVER_PORT 67
#define DHCP_CLIENT_PORT 68

#define DHCPDISCOVER 1
#define DHCPOFFER    2
#define DHCPREQUEST  3
#define DHCPDECLINE  4
#define DHCPACK      5
#define DHCPNAK      6
#define DHCPRELEASE  7

#define DHCP_FIXED_LEN 236       /* BOOTP header before the magic cookie */
#define DHCP_MSG_MAX   576       /* what we build (and RFC 2131's minimum to accept) */
#define DHCP_DNS_MAX   3

struct dhcp_reply {
	uint8_t type;              /* DHCPOFFER, DHCPACK, DHCPNAK */
	uint32_t yiaddr, server_id, netmask, router;
	uint32_t dns[DHCP_DNS_MAX];
	unsigned ndns;
	uint32_t lease_s, t1_s, t2_s;   /* 0: not given */
};

/* A client message (DISCOVER, REQUEST) into buf (DHCP_MSG_MAX bytes):
 * broadcast flag set, client identifier and parameter request list;
 * req_ip/server_id are sent when non-zero (REQUEST in SELECTING), ciaddr
 * when renewing. Returns its length (at least 300: BOOTP's minimum). */
size_t dhcp_build(uint8_t *buf, uint8_t type, uint32_t xid, const uint8_t mac[6],
		  uint16_t secs, uint32_t ciaddr, uint32_t req_ip, uint32_t server_id);
/* A server reply for our xid and MAC: 0 and *r, or -1 (not a reply,
 * not ours, malformed, no message type). */
int dhcp_parse(const uint8_t *p, size_t len, uint32_t xid, const uint8_t mac[6],
	       struct dhcp_reply *r);
