/* DHCP messages (see dhcp.h). */
#include "net/dhcp.h"
#include "net/byteorder.h"

#define BOOTREQUEST 1
#define BOOTREPLY   2
#define MAGIC 0x63825363u

#define OPT_PAD        0
#define OPT_SUBNET     1
#define OPT_ROUTER     3
#define OPT_DNS        6
#define OPT_REQ_IP     50
#define OPT_LEASE      51
#define OPT_OVERLOAD   52
#define OPT_MSG_TYPE   53
#define OPT_SERVER_ID  54
#define OPT_PARAMS     55
#define OPT_MAX_SIZE   57
#define OPT_T1         58
#define OPT_T2         59
#define OPT_CLIENT_ID  61
#define OPT_END        255

size_t dhcp_build(uint8_t *buf, uint8_t type, uint32_t xid, const uint8_t mac[6],
		  uint16_t secs, uint32_t ciaddr, uint32_t req_ip, uint32_t server_id)
{
	for (size_t i = 0; i < DHCP_MSG_MAX; i++)
		buf[i] = 0;
	buf[0] = BOOTREQUEST;
	buf[1] = 1;                /* htype: Ethernet */
	buf[2] = 6;                /* hlen */
	put_be32(buf + 4, xid);
	put_be16(buf + 8, secs);
	/* Broadcast flag (RFC 2131 4.1): we cannot receive unicast IP before
	 * we have an address... */
	put_be16(buf + 10, ciaddr ? 0 : 0x8000);
	put_be32(buf + 12, ciaddr);
	for (int i = 0; i < 6; i++)
		buf[28 + i] = mac[i];
	put_be32(buf + DHCP_FIXED_LEN, MAGIC);
	uint8_t *o = buf + DHCP_FIXED_LEN + 4;
	*o++ = OPT_MSG_TYPE; *o++ = 1; *o++ = type;
	*o++ = OPT_CLIENT_ID; *o++ = 7; *o++ = 1;
	for (int i = 0; i < 6; i++)
		*o++ = mac[i];
	if (req_ip) {
		*o++ = OPT_REQ_IP; *o++ = 4; put_be32(o, req_ip); o += 4;
	}
	if (server_id) {
		*o++ = OPT_SERVER_ID; *o++ = 4; put_be32(o, server_id); o += 4;
	}
	*o++ = OPT_MAX_SIZE; *o++ = 2; put_be16(o, DHCP_MSG_MAX); o += 2;
	*o++ = OPT_PARAMS; *o++ = 6;
	*o++ = OPT_SUBNET; *o++ = OPT_ROUTER; *o++ = OPT_DNS; *o++ = OPT_LEASE;
	*o++ = OPT_T1; *o++ = OPT_T2;
	*o++ = OPT_END;
	size_t len = (size_t)(o - buf);
	return len < 300 ? 300 : len;
}

/* One options area (the options field, or file/sname when overloaded). */
static int parse_opts(const uint8_t *p, size_t len, struct dhcp_reply *r, uint8_t *overload)
{
	size_t i = 0;
	while (i < len) {
		uint8_t code = p[i];
		if (code == OPT_PAD) {
			i++;
			continue;
		}
		if (code == OPT_END)
			return 0;
		if (i + 2 > len || i + 2 + p[i + 1] > len)
			return -1;
		uint8_t olen = p[i + 1];
		const uint8_t *v = p + i + 2;
		switch (code) {
		case OPT_MSG_TYPE:
			if (olen != 1)
				return -1;
			r->type = v[0];
			break;
		case OPT_SUBNET:
			if (olen == 4)
				r->netmask = get_be32(v);
			break;
		case OPT_ROUTER:
			if (olen >= 4 && olen % 4 == 0)
				r->router = get_be32(v);
			break;
		case OPT_DNS:
			if (olen % 4)
				break;
			for (unsigned k = 0; k < olen / 4u && r->ndns < DHCP_DNS_MAX; k++)
				r->dns[r->ndns++] = get_be32(v + 4 * k);
			break;
		case OPT_LEASE:
			if (olen == 4)
				r->lease_s = get_be32(v);
			break;
		case OPT_T1:
			if (olen == 4)
				r->t1_s = get_be32(v);
			break;
		case OPT_T2:
			if (olen == 4)
				r->t2_s = get_be32(v);
			break;
		case OPT_SERVER_ID:
			if (olen == 4)
				r->server_id = get_be32(v);
			break;
		case OPT_OVERLOAD:
			if (olen == 1 && overload)
				*overload = v[0];
			break;
		default:
			break;
		}
		i += 2u + olen;
	}
	return 0;   /* no END: accepted as far as it went */
}

int dhcp_parse(const uint8_t *p, size_t len, uint32_t xid, const uint8_t mac[6],
	       struct dhcp_reply *r)
{
	if (len < DHCP_FIXED_LEN + 4 || p[0] != BOOTREPLY || p[1] != 1 || p[2] != 6 ||
	    get_be32(p + 4) != xid || get_be32(p + DHCP_FIXED_LEN) != MAGIC)
		return -1;
	for (int i = 0; i < 6; i++)
		if (p[28 + i] != mac[i])
			return -1;
	*r = (struct dhcp_reply){ 0 };
	r->yiaddr = get_be32(p + 16);
	uint8_t overload = 0;
	if (parse_opts(p + DHCP_FIXED_LEN + 4, len - DHCP_FIXED_LEN - 4, r, &overload) < 0)
		return -1;
	/* RFC 2132 9.3: options may continue in file (1), sname (2) or both. */
	if ((overload & 1) && parse_opts(p + 108, 128, r, NULL) < 0)
		return -1;
	if ((overload & 2) && parse_opts(p + 44, 64, r, NULL) < 0)
		return -1;
	if (r->type != DHCPOFFER && r->type != DHCPACK && r->type != DHCPNAK)
		return -1;
	return 0;
}
