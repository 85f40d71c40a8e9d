/* UDP sockets over loopback (and, with "host PORT", to a UDP echo server
 * on the host reached through slirp's gateway 10.0.2.2). */
#include "check.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in sa(const char *ip, int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static int bound(const char *ip, int port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in a = sa(ip, port);
	if (bind(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(s);
		return -1;
	}
	return s;
}

static int port_of(int s)
{
	struct sockaddr_in a;
	socklen_t l = sizeof(a);
	getsockname(s, (struct sockaddr *)&a, &l);
	return ntohs(a.sin_port);
}

static void loopback(void)
{
	int r = bound("127.0.0.1", 5000);
	EXPECT(r >= 0);
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sa("127.0.0.1", 5000);
	EXPECT(sendto(s, "hello", 5, 0, (struct sockaddr *)&to, sizeof(to)) == 5);
	/* autobound to an ephemeral port */
	int sp = port_of(s);
	EXPECT(sp >= 32768 && sp <= 60999);
	EXPECT(sendto(s, "world!", 6, 0, (struct sockaddr *)&to, sizeof(to)) == 6);
	struct pollfd p = { r, POLLIN, 0 };
	EXPECT(poll(&p, 1, 2000) == 1 && (p.revents & POLLIN));
	int n = 0;
	EXPECT(ioctl(r, FIONREAD, &n) == 0 && n == 5);
	char buf[64];
	EXPECT(recv(r, buf, sizeof(buf), MSG_PEEK) == 5);
	struct sockaddr_in from;
	socklen_t fl = sizeof(from);
	EXPECT(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 5 &&
	       !memcmp(buf, "hello", 5));
	EXPECT(fl == sizeof(from) && from.sin_family == AF_INET && ntohs(from.sin_port) == sp &&
	       from.sin_addr.s_addr == htonl(INADDR_LOOPBACK));
	/* MSG_TRUNC: the real length, the flag in recvmsg */
	EXPECT(recv(r, buf, 2, MSG_TRUNC | MSG_PEEK) == 6);
	struct iovec iov = { buf, 3 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	EXPECT(recvmsg(r, &mh, 0) == 3 && (mh.msg_flags & MSG_TRUNC));
	EXPECT_ERRNO(recv(r, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	/* an empty datagram */
	EXPECT(sendto(s, "", 0, 0, (struct sockaddr *)&to, sizeof(to)) == 0);
	EXPECT(poll(&p, 1, 2000) == 1);
	EXPECT(recv(r, buf, sizeof(buf), 0) == 0);

	/* bind rules */
	EXPECT(bound("127.0.0.1", 5000) < 0 && errno == EADDRINUSE);
	EXPECT(bound("0.0.0.0", 5000) < 0 && errno == EADDRINUSE);
	EXPECT(bound("10.9.9.9", 5001) < 0 && errno == EADDRNOTAVAIL);
	EXPECT_ERRNO(bind(r, (struct sockaddr *)&to, sizeof(to)), EINVAL);
	int a1 = socket(AF_INET, SOCK_DGRAM, 0), a2 = socket(AF_INET, SOCK_DGRAM, 0);
	int one = 1;
	setsockopt(a1, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	setsockopt(a2, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in any = sa("0.0.0.0", 5002);
	EXPECT(bind(a1, (struct sockaddr *)&any, sizeof(any)) == 0);
	EXPECT(bind(a2, (struct sockaddr *)&any, sizeof(any)) == 0);
	close(a1);
	close(a2);

	/* connect: a default peer, filtering, getsockname's address */
	int c = socket(AF_INET, SOCK_DGRAM, 0);
	EXPECT(connect(c, (struct sockaddr *)&to, sizeof(to)) == 0);
	struct sockaddr_in me;
	socklen_t ml = sizeof(me);
	EXPECT(getsockname(c, (struct sockaddr *)&me, &ml) == 0 &&
	       me.sin_addr.s_addr == htonl(INADDR_LOOPBACK) && me.sin_port != 0);
	struct sockaddr_in peer;
	socklen_t pl = sizeof(peer);
	EXPECT(getpeername(c, (struct sockaddr *)&peer, &pl) == 0 && ntohs(peer.sin_port) == 5000);
	EXPECT(send(c, "c1", 2, 0) == 2);
	fl = sizeof(from);
	EXPECT(recvfrom(r, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 2);
	/* r answers c; a stranger's datagram to c is filtered out */
	EXPECT(sendto(r, "re", 2, 0, (struct sockaddr *)&me, sizeof(me)) == 2);
	EXPECT(sendto(s, "xx", 2, 0, (struct sockaddr *)&me, sizeof(me)) == 2);
	p.fd = c;
	EXPECT(poll(&p, 1, 2000) == 1);
	usleep(50000);
	EXPECT(recv(c, buf, sizeof(buf), 0) == 2 && !memcmp(buf, "re", 2));
	EXPECT_ERRNO(recv(c, buf, sizeof(buf), MSG_DONTWAIT), EAGAIN);
	/* dissolve with AF_UNSPEC */
	struct sockaddr unspec = { .sa_family = AF_UNSPEC };
	EXPECT(connect(c, &unspec, sizeof(unspec)) == 0);
	EXPECT_ERRNO(send(c, "x", 1, 0), EDESTADDRREQ);
	pl = sizeof(peer);
	EXPECT_ERRNO(getpeername(c, (struct sockaddr *)&peer, &pl), ENOTCONN);
	close(c);

	/* ICMP port unreachable: a connected socket gets ECONNREFUSED */
	c = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in nobody = sa("127.0.0.1", 5999);
	EXPECT(connect(c, (struct sockaddr *)&nobody, sizeof(nobody)) == 0);
	EXPECT(send(c, "anyone?", 7, 0) == 7);
	p = (struct pollfd){ c, POLLIN, 0 };
	EXPECT(poll(&p, 1, 2000) == 1 && (p.revents & POLLERR));
	EXPECT_ERRNO(recv(c, buf, sizeof(buf), 0), ECONNREFUSED);
	int err = -1;
	socklen_t el = sizeof(err);
	EXPECT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0);
	EXPECT(send(c, "again", 5, 0) == 5);
	usleep(100000);
	err = -1;
	EXPECT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == ECONNREFUSED);
	close(c);

	/* broadcast needs SO_BROADCAST */
	struct sockaddr_in bc = sa("255.255.255.255", 5000);
	EXPECT_ERRNO(sendto(s, "b", 1, 0, (struct sockaddr *)&bc, sizeof(bc)), EACCES);
	EXPECT(setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) == 0);

	/* SO_RCVTIMEO */
	struct timeval tv = { 0, 150000 };
	EXPECT(setsockopt(r, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	double t0 = now();
	EXPECT_ERRNO(recv(r, buf, sizeof(buf), 0), EAGAIN);
	EXPECT(now() - t0 >= 0.1);

	/* epoll readiness */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = r };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, r, &ev) == 0);
	EXPECT(epoll_wait(ep, &ev, 1, 0) == 0);
	EXPECT(sendto(s, "e", 1, 0, (struct sockaddr *)&to, sizeof(to)) == 1);
	EXPECT(epoll_wait(ep, &ev, 1, 2000) == 1 && ev.data.fd == r);
	EXPECT(recv(r, buf, sizeof(buf), 0) == 1);
	close(ep);

	/* sendmmsg / recvmmsg, IP_PKTINFO */
	EXPECT(setsockopt(r, IPPROTO_IP, IP_PKTINFO, &one, sizeof(one)) == 0);
	struct mmsghdr mm[3];
	struct iovec mi[3];
	char data[3][8] = { "m0", "m11", "m222" };
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 3; i++) {
		mi[i] = (struct iovec){ data[i], strlen(data[i]) };
		mm[i].msg_hdr.msg_iov = &mi[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_name = &to;
		mm[i].msg_hdr.msg_namelen = sizeof(to);
	}
	EXPECT(sendmmsg(s, mm, 3, 0) == 3 && mm[2].msg_len == 4);
	char rb[3][16];
	char cb[3][64];
	struct iovec ri[3];
	memset(mm, 0, sizeof(mm));
	for (int i = 0; i < 3; i++) {
		ri[i] = (struct iovec){ rb[i], sizeof(rb[i]) };
		mm[i].msg_hdr.msg_iov = &ri[i];
		mm[i].msg_hdr.msg_iovlen = 1;
		mm[i].msg_hdr.msg_control = cb[i];
		mm[i].msg_hdr.msg_controllen = sizeof(cb[i]);
	}
	usleep(50000);
	EXPECT(recvmmsg(r, mm, 3, MSG_WAITFORONE, NULL) == 3);
	EXPECT(mm[0].msg_len == 2 && mm[1].msg_len == 3 && mm[2].msg_len == 4);
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mm[0].msg_hdr);
	EXPECT(cm && cm->cmsg_level == IPPROTO_IP && cm->cmsg_type == IP_PKTINFO);
	if (cm) {
		struct in_pktinfo pi;
		memcpy(&pi, CMSG_DATA(cm), sizeof(pi));
		EXPECT(pi.ipi_addr.s_addr == htonl(INADDR_LOOPBACK) && pi.ipi_ifindex == 1);
	}

	/* the receive buffer bounds the queue; drops are counted */
	int small = 1;
	EXPECT(setsockopt(r, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)) == 0);
	static char big[1400];
	for (int i = 0; i < 20; i++)
		sendto(s, big, sizeof(big), 0, (struct sockaddr *)&to, sizeof(to));
	usleep(100000);
	int got = 0;
	while (recv(r, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		got++;
	EXPECT(got >= 1 && got < 20);
	/* too big */
	static char huge[65508];
	EXPECT_ERRNO(sendto(s, huge, sizeof(huge), 0, (struct sockaddr *)&to, sizeof(to)), EMSGSIZE);
	/* a large datagram (fragmented on the way) arrives whole */
	int big_r = bound("127.0.0.1", 5003);
	struct sockaddr_in to3 = sa("127.0.0.1", 5003);
	for (size_t i = 0; i < 30000; i++)
		huge[i] = (char)(i * 13);
	EXPECT(sendto(s, huge, 30000, 0, (struct sockaddr *)&to3, sizeof(to3)) == 30000);
	static char back[65536];
	p = (struct pollfd){ big_r, POLLIN, 0 };
	EXPECT(poll(&p, 1, 2000) == 1);
	EXPECT(recv(big_r, back, sizeof(back), 0) == 30000 && !memcmp(back, huge, 30000));
	close(big_r);

	/* shutdown: unconnected reports ENOTCONN but still wakes readers */
	EXPECT_ERRNO(shutdown(r, SHUT_RD), ENOTCONN);
	EXPECT(recv(r, buf, sizeof(buf), 0) == 0);

	/* /proc/net/udp lists our sockets */
	int pf = open("/proc/net/udp", O_RDONLY);
	if (pf >= 0) {
		static char txt[8192];
		ssize_t k = read(pf, txt, sizeof(txt) - 1);
		EXPECT(k > 0);
		if (k > 0) {
			txt[k] = 0;
			EXPECT(strstr(txt, "local_address") && strstr(txt, "0100007F:1388"));
		}
		close(pf);
	}
	close(r);
	close(s);
}

/* UDP through slirp to the host's echo server. */
static void host_echo(int port)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in to = sa("10.0.2.2", port);
	struct timeval tv = { 3, 0 };
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	char buf[2048];
	int ok = 0;
	for (int i = 0; i < 20 && ok < 5; i++) {
		char msg[64];
		int n = snprintf(msg, sizeof(msg), "ping %d from wisp", i);
		if (sendto(s, msg, n, 0, (struct sockaddr *)&to, sizeof(to)) != n)
			continue;
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t k = recvfrom(s, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (k == n && !memcmp(buf, msg, n) && from.sin_addr.s_addr == to.sin_addr.s_addr &&
		    from.sin_port == to.sin_port)
			ok++;
	}
	EXPECT(ok == 5);
	/* a 1400-byte datagram and a fragmented 8000-byte one */
	static char big[8000], back[8000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7 + 1);
	for (int len = 1400; len <= 8000; len += 6600) {
		EXPECT(sendto(s, big, len, 0, (struct sockaddr *)&to, sizeof(to)) == len);
		EXPECT(recv(s, back, sizeof(back), 0) == len && !memcmp(back, big, len));
	}
	printf("host echo: %d\n", ok);
	close(s);

	/* broadcasts leave by eth0 and come back to our own sockets */
	int b = socket(AF_INET, SOCK_DGRAM, 0);
	int one = 1;
	struct sockaddr_in any = sa("0.0.0.0", 6000);
	EXPECT(bind(b, (struct sockaddr *)&any, sizeof(any)) == 0);
	struct sockaddr_in lim = sa("255.255.255.255", 6000), dir = sa("10.0.2.255", 6000);
	EXPECT_ERRNO(sendto(b, "x", 1, 0, (struct sockaddr *)&lim, sizeof(lim)), EACCES);
	EXPECT(setsockopt(b, SOL_SOCKET, SO_BROADCAST, &one, sizeof(one)) == 0);
	EXPECT(sendto(b, "lim", 3, 0, (struct sockaddr *)&lim, sizeof(lim)) == 3);
	EXPECT(sendto(b, "dir", 3, 0, (struct sockaddr *)&dir, sizeof(dir)) == 3);
	struct timeval tv2 = { 2, 0 };
	setsockopt(b, SOL_SOCKET, SO_RCVTIMEO, &tv2, sizeof(tv2));
	EXPECT(recv(b, buf, sizeof(buf), 0) == 3 && !memcmp(buf, "lim", 3));
	EXPECT(recv(b, buf, sizeof(buf), 0) == 3 && !memcmp(buf, "dir", 3));
	close(b);
}

int main(int argc, char **argv)
{
	if (argc > 2 && !strcmp(argv[1], "host"))
		host_echo(atoi(argv[2]));
	else
		loopback();
	return guest_done("sock_udp");
}
