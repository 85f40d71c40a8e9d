/* Interfaces as programs see them: getifaddrs and if_nameindex (netlink
 * under both C libraries), the SIOCGIF* ioctls, a raw NETLINK_ROUTE
 * exchange, and getaddrinfo("localhost"). With "eth", eth0 must be there
 * with slirp's 10.0.2.15/24. */
#include "check.h"
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <net/if.h>
#include <netdb.h>
#include <netinet/in.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

/* The netlink ABI (musl ships no kernel headers). */
#define NETLINK_ROUTE 0
#define NETLINK_GENERIC 16
#define NLMSG_ERROR 2
#define NLMSG_DONE 3
#define NLM_F_REQUEST 1
#define NLM_F_ACK 4
#define NLM_F_DUMP 0x300
#define RTM_NEWLINK 16
#define RTM_GETLINK 18
#define RTM_NEWROUTE 24
struct nlmsghdr { unsigned nlmsg_len; unsigned short nlmsg_type, nlmsg_flags; unsigned nlmsg_seq, nlmsg_pid; };
struct nlmsgerr { int error; struct nlmsghdr msg; };
struct sockaddr_nl { unsigned short nl_family, nl_pad; unsigned nl_pid, nl_groups; };
struct ifinfomsg { unsigned char ifi_family, pad; unsigned short ifi_type; int ifi_index; unsigned ifi_flags, ifi_change; };
struct rtmsg { unsigned char f[8]; unsigned flags; };
#define NLMSG_ALIGN(n) (((n) + 3) & ~3u)
#define NLMSG_LENGTH(n) ((n) + sizeof(struct nlmsghdr))
#define NLMSG_DATA(h) ((void *)((char *)(h) + sizeof(struct nlmsghdr)))
#define NLMSG_OK(h, n) ((n) >= (int)sizeof(struct nlmsghdr) && (h)->nlmsg_len >= sizeof(struct nlmsghdr) && (h)->nlmsg_len <= (unsigned)(n))
#define NLMSG_NEXT(h, n) ((n) -= NLMSG_ALIGN((h)->nlmsg_len), (struct nlmsghdr *)((char *)(h) + NLMSG_ALIGN((h)->nlmsg_len)))

static int eth, linux_ref;

static void ifaddrs_check(void)
{
	struct ifaddrs *ifa = NULL;
	EXPECT(getifaddrs(&ifa) == 0);
	int lo4 = 0, eth4 = 0, lo_link = 0, eth_link = 0;
	for (struct ifaddrs *i = ifa; i; i = i->ifa_next) {
		if (!i->ifa_addr)
			continue;
		if (i->ifa_addr->sa_family == AF_INET) {
			struct sockaddr_in *a = (void *)i->ifa_addr, *m = (void *)i->ifa_netmask;
			char t[32];
			inet_ntop(AF_INET, &a->sin_addr, t, sizeof(t));
			printf("%s inet %s flags %#x\n", i->ifa_name, t, i->ifa_flags);
			if (!strcmp(i->ifa_name, "lo")) {
				lo4 = a->sin_addr.s_addr == htonl(INADDR_LOOPBACK) &&
				      m && m->sin_addr.s_addr == htonl(0xff000000) &&
				      (i->ifa_flags & IFF_LOOPBACK) && (i->ifa_flags & IFF_UP);
			}
			if (!strcmp(i->ifa_name, "eth0")) {
				struct sockaddr_in *b = (void *)i->ifa_broadaddr;
				eth4 = !strcmp(t, "10.0.2.15") && m &&
				       m->sin_addr.s_addr == htonl(0xffffff00) &&
				       (i->ifa_flags & IFF_UP) && (i->ifa_flags & IFF_BROADCAST) &&
				       (linux_ref ||   /* busybox ip sets no broadcast there */
					(b && b->sin_addr.s_addr == inet_addr("10.0.2.255")));
			}
		} else if (i->ifa_addr->sa_family == AF_PACKET) {
			if (!strcmp(i->ifa_name, "lo"))
				lo_link = 1;
			if (!strcmp(i->ifa_name, "eth0"))
				eth_link = 1;
		}
	}
	freeifaddrs(ifa);
	EXPECT(lo4 && lo_link);
	if (eth)
		EXPECT(eth4 && eth_link);

	struct if_nameindex *ni = if_nameindex();
	EXPECT(ni != NULL);
	int seen_lo = 0;
	for (struct if_nameindex *p = ni; p && p->if_index; p++)
		if (!strcmp(p->if_name, "lo") && p->if_index == 1)
			seen_lo = 1;
	if (ni)
		if_freenameindex(ni);
	EXPECT(seen_lo);
	EXPECT(if_nametoindex("lo") == 1);
	char name[IF_NAMESIZE];
	EXPECT(if_indextoname(1, name) && !strcmp(name, "lo"));
	EXPECT(if_nametoindex("nonesuch") == 0);
}

static void ioctls(void)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct ifreq r;
	memset(&r, 0, sizeof(r));
	strcpy(r.ifr_name, "lo");
	EXPECT(ioctl(s, SIOCGIFFLAGS, &r) == 0 && (r.ifr_flags & IFF_LOOPBACK) && (r.ifr_flags & IFF_UP));
	EXPECT(ioctl(s, SIOCGIFADDR, &r) == 0 &&
	       ((struct sockaddr_in *)&r.ifr_addr)->sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	EXPECT(ioctl(s, SIOCGIFNETMASK, &r) == 0 &&
	       ((struct sockaddr_in *)&r.ifr_netmask)->sin_addr.s_addr == htonl(0xff000000));
	EXPECT(ioctl(s, SIOCGIFINDEX, &r) == 0 && r.ifr_ifindex == 1);
	EXPECT(ioctl(s, SIOCGIFMTU, &r) == 0 && r.ifr_mtu > 0);
	EXPECT(ioctl(s, SIOCGIFHWADDR, &r) == 0 && r.ifr_hwaddr.sa_family == 772);
	r.ifr_ifindex = 1;
	EXPECT(ioctl(s, SIOCGIFNAME, &r) == 0 && !strcmp(r.ifr_name, "lo"));
	strcpy(r.ifr_name, "nope0");
	EXPECT_ERRNO(ioctl(s, SIOCGIFFLAGS, &r), ENODEV);
	struct ifreq reqs[8];
	struct ifconf ic = { .ifc_len = sizeof(reqs), .ifc_req = reqs };
	EXPECT(ioctl(s, SIOCGIFCONF, &ic) == 0);
	int n = ic.ifc_len / (int)sizeof(struct ifreq);
	EXPECT(n >= 1 && !strcmp(reqs[0].ifr_name, "lo"));
	struct ifconf q = { .ifc_len = 0, .ifc_buf = NULL };
	EXPECT(ioctl(s, SIOCGIFCONF, &q) == 0 && q.ifc_len == ic.ifc_len);
	if (eth) {
		EXPECT(n == 2);
		memset(&r, 0, sizeof(r));
		strcpy(r.ifr_name, "eth0");
		EXPECT(ioctl(s, SIOCGIFADDR, &r) == 0 &&
		       ((struct sockaddr_in *)&r.ifr_addr)->sin_addr.s_addr == inet_addr("10.0.2.15"));
		if (!linux_ref)
			EXPECT(ioctl(s, SIOCGIFBRDADDR, &r) == 0 &&
			       ((struct sockaddr_in *)&r.ifr_broadaddr)->sin_addr.s_addr ==
			       inet_addr("10.0.2.255"));
		EXPECT(ioctl(s, SIOCGIFHWADDR, &r) == 0 && r.ifr_hwaddr.sa_family == 1 &&
		       (unsigned char)r.ifr_hwaddr.sa_data[0] == 0x52);
		EXPECT(ioctl(s, SIOCGIFFLAGS, &r) == 0 && (r.ifr_flags & IFF_UP) &&
		       !(r.ifr_flags & IFF_LOOPBACK));
		if (!linux_ref)      /* the Linux guest's carrier may come later */
			EXPECT(r.ifr_flags & IFF_RUNNING);
		EXPECT(ioctl(s, SIOCGIFMTU, &r) == 0 && r.ifr_mtu == 1500);
	}
	close(s);
}

static void raw_netlink(void)
{
	if (!linux_ref)
		EXPECT_ERRNO(socket(AF_NETLINK, SOCK_RAW, NETLINK_GENERIC), EPROTONOSUPPORT);
	EXPECT_ERRNO(socket(AF_NETLINK, SOCK_STREAM, NETLINK_ROUTE), ESOCKTNOSUPPORT);
	int s = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	EXPECT(s >= 0);
	struct sockaddr_nl a = { .nl_family = AF_NETLINK };
	EXPECT(bind(s, (struct sockaddr *)&a, sizeof(a)) == 0);
	socklen_t al = sizeof(a);
	EXPECT(getsockname(s, (struct sockaddr *)&a, &al) == 0 && al == sizeof(a) && a.nl_pid != 0);
	/* an unsupported request: NLMSG_ERROR EOPNOTSUPP */
	struct { struct nlmsghdr h; struct rtmsg r; } req = {
		.h = { sizeof(req), RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK, 42, 0 },
	};
	EXPECT(send(s, &req, sizeof(req), 0) == sizeof(req));
	char buf[8192];
	ssize_t n = recv(s, buf, sizeof(buf), MSG_DONTWAIT);
	struct nlmsghdr *h = (void *)buf;
	EXPECT(n >= (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) && h->nlmsg_type == NLMSG_ERROR &&
	       h->nlmsg_seq == 42 && h->nlmsg_pid == a.nl_pid);
	if (n > 0)
		EXPECT(((struct nlmsgerr *)NLMSG_DATA(h))->error == -EOPNOTSUPP);
	/* a link dump ends with NLMSG_DONE */
	struct { struct nlmsghdr h; struct ifinfomsg i; } dump = {
		.h = { sizeof(dump), RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, 7, 0 },
	};
	EXPECT(send(s, &dump, sizeof(dump), 0) == sizeof(dump));
	int links = 0, done = 0;
	while (!done && (n = recv(s, buf, sizeof(buf), MSG_DONTWAIT)) > 0)
		for (h = (void *)buf; NLMSG_OK(h, n); h = NLMSG_NEXT(h, n)) {
			if (h->nlmsg_type == NLMSG_DONE)
				done = 1;
			else if (h->nlmsg_type == RTM_NEWLINK && h->nlmsg_seq == 7)
				links++;
		}
	EXPECT(done && links == (eth ? 2 : 1));
	EXPECT_ERRNO(recv(s, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	close(s);
}

static void resolver(void)
{
	if (access("/etc/hosts", R_OK) != 0)
		return;
	struct addrinfo hints = { .ai_family = AF_INET, .ai_socktype = SOCK_DGRAM };
	struct addrinfo *res = NULL;
	int r = getaddrinfo("localhost", "53", &hints, &res);
	EXPECT(r == 0);
	if (r == 0) {
		struct sockaddr_in *a = (void *)res->ai_addr;
		EXPECT(a->sin_addr.s_addr == htonl(INADDR_LOOPBACK) && ntohs(a->sin_port) == 53);
		freeaddrinfo(res);
	}
	/* AF_UNSPEC with AI_ADDRCONFIG: glibc asks netlink which families
	 * have addresses (only IPv4 here) */
	struct addrinfo h2 = { .ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM,
			       .ai_flags = AI_ADDRCONFIG };
	res = NULL;
	r = getaddrinfo("localhost", "80", &h2, &res);
	EXPECT(r == 0 && res && res->ai_family == AF_INET);
	if (r == 0)
		freeaddrinfo(res);
	res = NULL;
	EXPECT(getaddrinfo("127.0.0.1", NULL, &hints, &res) == 0);
	if (res)
		freeaddrinfo(res);
}

int main(int argc, char **argv)
{
	eth = argc > 1 && !strcmp(argv[1], "eth");
	linux_ref = argc > 1 && !strcmp(argv[1], "linux");
	eth |= linux_ref;          /* the Linux guest has eth0 configured */
	ifaddrs_check();
	ioctls();
	raw_netlink();
	resolver();
	return guest_done("sock_if");
}
