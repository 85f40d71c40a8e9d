/* Socket system calls: Linux's argument checks and errno values. */
#include "check.h"
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	int linux_ref = argc > 1 && !strcmp(argv[1], "linux");
	int fd = open("/", O_RDONLY | O_DIRECTORY);
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t len = sizeof(sin);
	int v = 1;
	char buf[16];

	/* bad fds and non-sockets */
	EXPECT_ERRNO(bind(-1, (struct sockaddr *)&sin, sizeof(sin)), EBADF);
	EXPECT_ERRNO(bind(999, (struct sockaddr *)&sin, sizeof(sin)), EBADF);
	EXPECT_ERRNO(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), ENOTSOCK);
	EXPECT_ERRNO(connect(fd, (struct sockaddr *)&sin, sizeof(sin)), ENOTSOCK);
	EXPECT_ERRNO(listen(fd, 1), ENOTSOCK);
	EXPECT_ERRNO(accept(fd, NULL, NULL), ENOTSOCK);
	EXPECT_ERRNO(send(fd, "x", 1, 0), ENOTSOCK);
	EXPECT_ERRNO(recv(fd, buf, 1, 0), ENOTSOCK);
	EXPECT_ERRNO(shutdown(fd, SHUT_RD), ENOTSOCK);
	EXPECT_ERRNO(getsockname(fd, (struct sockaddr *)&sin, &len), ENOTSOCK);
	EXPECT_ERRNO(getpeername(-1, (struct sockaddr *)&sin, &len), EBADF);
	EXPECT_ERRNO(setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v)), ENOTSOCK);
	EXPECT_ERRNO(getsockopt(-5, SOL_SOCKET, SO_TYPE, &v, &len), EBADF);

	/* families, types, protocols */
	/* wisp has no IPv6, no packet sockets and no raw sockets (run with
	 * "linux" against a Linux guest, which has them, these are skipped) */
	if (!linux_ref) {
		EXPECT_ERRNO(socket(AF_INET6, SOCK_STREAM, 0), EAFNOSUPPORT);
		EXPECT_ERRNO(socket(AF_INET6, SOCK_DGRAM, 0), EAFNOSUPPORT);
		EXPECT_ERRNO(socket(AF_PACKET, SOCK_RAW, 0), EAFNOSUPPORT);
		EXPECT_ERRNO(socket(AF_INET, SOCK_RAW, IPPROTO_ICMP), EPERM);
		int sv6[2];
		EXPECT_ERRNO(socketpair(AF_INET6, SOCK_STREAM, 0, sv6), EAFNOSUPPORT);
	}
	EXPECT_ERRNO(socket(12345, SOCK_STREAM, 0), EAFNOSUPPORT);
	EXPECT_ERRNO(socket(-1, SOCK_STREAM, 0), EAFNOSUPPORT);
	EXPECT_ERRNO(socket(AF_UNIX, 0x40000000 | SOCK_STREAM, 0), EINVAL);
	EXPECT_ERRNO(socket(AF_UNIX, 11, 0), EINVAL);
	EXPECT_ERRNO(socket(AF_UNIX, SOCK_STREAM, 7), EPROTONOSUPPORT);
	EXPECT_ERRNO(socket(AF_UNIX, 4 /* SOCK_RDM */, 0), ESOCKTNOSUPPORT);
	EXPECT_ERRNO(socket(AF_INET, SOCK_STREAM, IPPROTO_UDP), EPROTONOSUPPORT);
	EXPECT_ERRNO(socket(AF_INET, SOCK_DGRAM, IPPROTO_TCP), EPROTONOSUPPORT);
	EXPECT_ERRNO(socket(AF_INET, SOCK_SEQPACKET, 0), ESOCKTNOSUPPORT);
	int sv[2];
	EXPECT_ERRNO(socketpair(AF_INET, SOCK_DGRAM, 0, sv), EOPNOTSUPP);
	EXPECT_ERRNO(syscall(SYS_socketpair, AF_UNIX, SOCK_STREAM, 0, (long)8), EFAULT);

	int u = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	EXPECT(u >= 0);
	EXPECT(fcntl(u, F_GETFD) == FD_CLOEXEC);
	int t = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0);
	EXPECT(t >= 0);
	EXPECT(fcntl(t, F_GETFL) & O_NONBLOCK);

	/* address lengths */
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	EXPECT_ERRNO(bind(u, (struct sockaddr *)&sun, 129), EINVAL);
	EXPECT_ERRNO(bind(u, (struct sockaddr *)&sun, -1), EINVAL);
	EXPECT_ERRNO(bind(u, (struct sockaddr *)8, sizeof(sun)), EFAULT);
	EXPECT_ERRNO(connect(u, (struct sockaddr *)&sun, 1), EINVAL);
	EXPECT_ERRNO(sendto(u, "x", 1, 0, (struct sockaddr *)&sun, 200), EINVAL);
	EXPECT_ERRNO(send(u, (void *)8, 1, 0), ENOTCONN);      /* no peer: checked first */
	EXPECT_ERRNO(accept4(t, NULL, NULL, 0x1234), EINVAL);
	EXPECT_ERRNO(listen(u, 5), EOPNOTSUPP);
	EXPECT_ERRNO(accept(t, NULL, NULL), EINVAL);          /* not listening */
	EXPECT_ERRNO(shutdown(t, 7), EINVAL);
	EXPECT_ERRNO(send(t, "x", 1, 0), ENOTCONN);
	EXPECT_ERRNO(getpeername(t, (struct sockaddr *)&sun, &len), ENOTCONN);
	int neg = -1;
	EXPECT_ERRNO(getsockname(t, (struct sockaddr *)&sun, (socklen_t *)&neg), EINVAL);
	EXPECT_ERRNO(getsockname(t, (struct sockaddr *)&sun, (socklen_t *)8), EFAULT);

	/* msghdr checks */
	struct iovec iov = { buf, 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1025 };
	EXPECT_ERRNO(syscall(SYS_sendmsg, u, &mh, 0), EMSGSIZE);
	EXPECT_ERRNO(syscall(SYS_sendmsg, u, 8L, 0), EFAULT);
	mh.msg_iovlen = 1;
	mh.msg_namelen = (socklen_t)-1;
	mh.msg_name = &sun;
	EXPECT_ERRNO(sendmsg(u, &mh, 0), EINVAL);
	struct iovec biov = { buf, (size_t)-1 };
	struct msghdr mh2 = { .msg_iov = &biov, .msg_iovlen = 1 };
	EXPECT_ERRNO(sendmsg(u, &mh2, 0), EINVAL);

	/* options */
	EXPECT_ERRNO(setsockopt(u, SOL_SOCKET, SO_REUSEADDR, &v, 2), EINVAL);
	EXPECT_ERRNO(setsockopt(u, SOL_SOCKET, SO_REUSEADDR, &v, -1), EINVAL);
	EXPECT_ERRNO(setsockopt(u, SOL_SOCKET, SO_TYPE, &v, sizeof(v)), ENOPROTOOPT);
	EXPECT_ERRNO(setsockopt(u, SOL_SOCKET, 9999, &v, sizeof(v)), ENOPROTOOPT);
	EXPECT_ERRNO(getsockopt(u, SOL_SOCKET, 9999, &v, &len), ENOPROTOOPT);
	socklen_t nl = (socklen_t)-1;
	EXPECT_ERRNO(getsockopt(u, SOL_SOCKET, SO_TYPE, &v, &nl), EINVAL);
	struct timeval tv = { 0, 2000000 };
	EXPECT_ERRNO(setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), EDOM);
	EXPECT_ERRNO(setsockopt(u, SOL_SOCKET, SO_RCVTIMEO, &tv, 4), EINVAL);
	struct linger lg = { 1, 5 };
	EXPECT_ERRNO(setsockopt(u, SOL_SOCKET, SO_LINGER, &lg, 4), EINVAL);
	EXPECT(setsockopt(u, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	struct linger lg2;
	len = sizeof(lg2);
	EXPECT(getsockopt(u, SOL_SOCKET, SO_LINGER, &lg2, &len) == 0 && len == sizeof(lg2) &&
	       lg2.l_onoff == 1 && lg2.l_linger == 5);

	len = sizeof(v);
	EXPECT(getsockopt(u, SOL_SOCKET, SO_TYPE, &v, &len) == 0 && v == SOCK_DGRAM && len == 4);
	EXPECT(getsockopt(u, SOL_SOCKET, SO_DOMAIN, &v, &len) == 0 && v == AF_UNIX);
	EXPECT(getsockopt(t, SOL_SOCKET, SO_ACCEPTCONN, &v, &len) == 0 && v == 0);
	EXPECT(getsockopt(u, SOL_SOCKET, SO_ERROR, &v, &len) == 0 && v == 0);
	/* Linux's doubling and caps */
	v = 10000;
	EXPECT(setsockopt(u, SOL_SOCKET, SO_SNDBUF, &v, sizeof(v)) == 0);
	EXPECT(getsockopt(u, SOL_SOCKET, SO_SNDBUF, &v, &len) == 0 && v == 20000);
	v = 1;
	EXPECT(setsockopt(u, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0);
	EXPECT(getsockopt(u, SOL_SOCKET, SO_RCVBUF, &v, &len) == 0 && v == 2304);
	v = 1 << 30;
	EXPECT(setsockopt(u, SOL_SOCKET, SO_RCVBUF, &v, sizeof(v)) == 0);
	EXPECT(getsockopt(u, SOL_SOCKET, SO_RCVBUF, &v, &len) == 0 && v == 425984);
	tv = (struct timeval){ 3, 500000 };
	EXPECT(setsockopt(u, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) == 0);
	struct timeval tv2;
	len = sizeof(tv2);
	EXPECT(getsockopt(u, SOL_SOCKET, SO_SNDTIMEO, &tv2, &len) == 0 && tv2.tv_sec == 3 &&
	       tv2.tv_usec == 500000);
	/* a short buffer gets a truncated int, as Linux */
	char c = 0x55;
	len = 1;
	EXPECT(getsockopt(u, SOL_SOCKET, SO_TYPE, &c, &len) == 0 && len == 1 && c == SOCK_DGRAM);

	/* TCP / IP level on a UDP socket */
	int d = socket(AF_INET, SOCK_DGRAM, 0);
	EXPECT(d >= 0);
	len = sizeof(v);
	EXPECT(getsockopt(d, SOL_SOCKET, SO_PROTOCOL, &v, &len) == 0 && v == IPPROTO_UDP);
	EXPECT(getsockopt(d, IPPROTO_IP, IP_TTL, &v, &len) == 0 && v == 64);
	v = 300;
	EXPECT_ERRNO(setsockopt(d, IPPROTO_IP, IP_TTL, &v, sizeof(v)), EINVAL);
	v = 9;
	EXPECT(setsockopt(d, IPPROTO_IP, IP_TTL, &v, sizeof(v)) == 0);
	EXPECT(getsockopt(d, IPPROTO_IP, IP_TTL, &v, &len) == 0 && v == 9);
	v = 1;
	EXPECT(setsockopt(d, IPPROTO_IP, IP_RECVERR, &v, sizeof(v)) == 0);
	EXPECT(setsockopt(d, SOL_SOCKET, SO_REUSEPORT, &v, sizeof(v)) == 0);
	EXPECT_ERRNO(setsockopt(u, SOL_SOCKET, SO_REUSEPORT, &v, sizeof(v)), EOPNOTSUPP);
	/* the wrong family of address */
	struct sockaddr_in6_fake { unsigned short fam; char rest[26]; } s6 = { AF_INET6, { 0 } };
	EXPECT_ERRNO(bind(d, (struct sockaddr *)&s6, sizeof(s6)), EAFNOSUPPORT);
	EXPECT_ERRNO(bind(d, (struct sockaddr *)&sin, 8), EINVAL);
	EXPECT_ERRNO(connect(d, (struct sockaddr *)&s6, sizeof(s6)), EAFNOSUPPORT);

	/* behaviours checked against Linux 6.1 */
	int pr[2];
	EXPECT(socketpair(AF_UNIX, SOCK_DGRAM, 0, pr) == 0);
	close(pr[1]);
	EXPECT_ERRNO(send(pr[0], "x", 1, 0), ECONNREFUSED);
	EXPECT_ERRNO(send(pr[0], "x", 1, 0), ENOTCONN);    /* the link was dropped */
	close(pr[0]);
	int q = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in p0 = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	EXPECT_ERRNO(sendto(q, "x", 1, 0, (struct sockaddr *)&p0, sizeof(p0)), EINVAL);
	struct sockaddr_in any0 = { .sin_family = AF_UNSPEC };
	EXPECT_ERRNO(bind(q, (struct sockaddr *)&any0, sizeof(any0)), EINVAL);   /* autobound */
	EXPECT_ERRNO(recv(q, buf, 1, MSG_OOB | MSG_DONTWAIT), EAGAIN);
	EXPECT_ERRNO(send(q, "x", 1, MSG_OOB), EOPNOTSUPP);
	char cb[CMSG_SPACE(sizeof(int))];
	memset(cb, 0, sizeof(cb));
	struct iovec xiov = { "x", 1 };
	p0.sin_port = htons(9);
	struct msghdr cm = { .msg_name = &p0, .msg_namelen = sizeof(p0), .msg_iov = &xiov,
			     .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof(cb) };
	struct cmsghdr *ch = CMSG_FIRSTHDR(&cm);
	ch->cmsg_len = CMSG_LEN(sizeof(int));
	ch->cmsg_level = IPPROTO_IP;
	ch->cmsg_type = 77;
	EXPECT_ERRNO(sendmsg(q, &cm, 0), EINVAL);
	ch->cmsg_type = IP_TTL;
	int ttl = 0;
	memcpy(CMSG_DATA(ch), &ttl, sizeof(ttl));
	EXPECT_ERRNO(sendmsg(q, &cm, 0), EINVAL);
	ttl = 5;
	memcpy(CMSG_DATA(ch), &ttl, sizeof(ttl));
	EXPECT(sendmsg(q, &cm, 0) == 1);
	EXPECT_ERRNO(shutdown(q, SHUT_WR), ENOTCONN);
	EXPECT_ERRNO(sendto(q, "x", 1, 0, (struct sockaddr *)&p0, sizeof(p0)), EPIPE);
	close(q);
	/* unix: an existing path beats "already bound" */
	int ub = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un bp = { .sun_family = AF_UNIX, .sun_path = "/tmp/errs-a" };
	unlink(bp.sun_path);
	EXPECT(bind(ub, (struct sockaddr *)&bp, sizeof(bp)) == 0);
	EXPECT_ERRNO(bind(ub, (struct sockaddr *)&bp, sizeof(bp)), EADDRINUSE);
	strcpy(bp.sun_path, "/tmp/errs-b");
	EXPECT_ERRNO(bind(ub, (struct sockaddr *)&bp, sizeof(bp)), EINVAL);
	EXPECT(access("/tmp/errs-b", F_OK) != 0);
	close(ub);

	/* read/write on sockets go through the same paths */
	EXPECT_ERRNO(write(t, "x", 1), ENOTCONN);
	EXPECT_ERRNO(lseek(u, 0, SEEK_SET), ESPIPE);
	EXPECT_ERRNO(syscall(SYS_pread64, u, buf, 1, 0), ESPIPE);

	/* /proc/self/fd names */
	char path[64], link[64];
	snprintf(path, sizeof(path), "/proc/self/fd/%d", u);
	ssize_t n = readlink(path, link, sizeof(link) - 1);
	EXPECT(n > 0);
	if (n > 0) {
		link[n] = 0;
		EXPECT(strncmp(link, "socket:[", 8) == 0);
	}
	close(u);
	close(t);
	close(d);
	close(fd);
	return guest_done("sock_errors");
}
