/* Edge cases of the socket calls printed one per line, for comparison
 * with Linux: tests/data/sock_probe.linux.txt is this program's output on
 * Linux 6.1 (Debian's kernel, test_sockets.py test_linux_agrees makes it
 * again), and test_sockets.py checks that wisp prints the same. Lines
 * about what wisp does not do (MSG_OOB on AF_UNIX streams, IPv6 addresses
 * in netlink dumps) are left out. */
#include <stdio.h>
#include <string.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <net/if.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

/* errno as a number: the C libraries word strerror differently */
#define P(name, expr) do { errno = 0; long r_ = (long)(expr); \
	if (r_ < 0) printf("%-30s %ld errno %d\n", name, r_, errno); \
	else printf("%-30s %ld\n", name, r_); } while (0)

struct nlh { unsigned len; unsigned short type, flags; unsigned seq, pid; };

static volatile int pipes;
static void onpipe(int s) { (void)s; pipes++; }

static void part1(void)
{
 int sv[2]; char b[64]; int v; socklen_t l = sizeof v;
 socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv); close(sv[1]);
 pipes=0; P("seqpacket send closed", send(sv[0], "x", 1, 0)); printf("sigpipes %d\n", pipes);
 P("seqpacket recv closed", recv(sv[0], b, 8, 0)); close(sv[0]);
 socketpair(AF_UNIX, SOCK_DGRAM, 0, sv); close(sv[1]);
 P("dgram send closed peer", send(sv[0], "x", 1, 0));
 P("dgram send closed again", send(sv[0], "x", 1, 0)); 
 P("dgram recv closed", recv(sv[0], b, 8, MSG_DONTWAIT)); close(sv[0]);
 int u = socket(AF_UNIX, SOCK_STREAM, 0);
 P("unconn stream recv", recv(u, b, 8, MSG_DONTWAIT));
 P("unconn stream read", read(u, b, 8));
 struct pollfd p = { u, POLLIN|POLLOUT, 0 }; poll(&p, 1, 0); printf("unconn stream poll %#x\n", p.revents);
 P("unconn unix shutdown", shutdown(u, SHUT_RDWR));
 P("unconn stream getpeername", getpeername(u, (void*)b, &l));
 close(u);
 int d = socket(AF_UNIX, SOCK_DGRAM, 0);
 p.fd = d; poll(&p, 1, 0); printf("unconn dgram poll %#x\n", p.revents);
 P("dgram accept", accept(d, NULL, NULL));
 P("dgram recv nonblock", recv(d, b, 8, MSG_DONTWAIT));
 P("dgram send unconnected", send(d, "x", 1, 0));
 close(d);
 socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 struct sockaddr_un su = { AF_UNIX, "/tmp/zz" };
 P("stream sendto connected", sendto(sv[0], "x", 1, 0, (void*)&su, sizeof su));
 P("stream listen connected", listen(sv[0], 1));
 P("stream recv after oob", recv(sv[1], b, 8, MSG_DONTWAIT));
 l = sizeof v; P("SO_SNDBUF unix", (getsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &v, &l), v));
 l = sizeof v; P("SO_RCVBUF unix", (getsockopt(sv[0], SOL_SOCKET, SO_RCVBUF, &v, &l), v));
 P("SO_SNDLOWAT set", setsockopt(sv[0], SOL_SOCKET, SO_SNDLOWAT, &v, sizeof v));
 v = 7; P("SO_PRIORITY 7", setsockopt(sv[0], SOL_SOCKET, SO_PRIORITY, &v, sizeof v));
 struct linger lg; l = sizeof lg; P("SO_LINGER get", (getsockopt(sv[0], SOL_SOCKET, SO_LINGER, &lg, &l), lg.l_onoff * 100 + lg.l_linger + 1000 * (int)l));
 P("IP level on unix", setsockopt(sv[0], IPPROTO_IP, IP_TOS, &v, sizeof v));
 P("unix shutdown 3", shutdown(sv[0], 3));
 close(sv[0]); close(sv[1]);
 int s = socket(AF_INET, SOCK_DGRAM, 0);
 P("udp listen", listen(s, 1));
 P("udp accept", accept(s, NULL, NULL));
 P("udp shutdown unconn", shutdown(s, SHUT_WR));
 P("udp send after shut_wr", sendto(s, "x", 1, 0, (void*)&(struct sockaddr_in){AF_INET, htons(9), {htonl(0x7f000001)}, {0}}, 16));
 close(s);
 s = socket(AF_INET, SOCK_DGRAM, 0);
 struct sockaddr_in a = { AF_INET, 0, { htonl(0x7f000001) }, {0} };
 P("udp sendto port 0", sendto(s, "x", 1, 0, (void*)&a, sizeof a));
 struct sockaddr_in un = { AF_UNSPEC, 0, { 0 }, {0} };
 P("udp bind AF_UNSPEC any", bind(s, (void*)&un, sizeof un));
 P("udp bind again", bind(s, (void*)&a, sizeof a));
 v = 0x10; setsockopt(s, IPPROTO_IP, IP_TOS, &v, sizeof v); l = sizeof v; P("IP_TOS get", (getsockopt(s, IPPROTO_IP, IP_TOS, &v, &l), v));
 P("udp MSG_ERRQUEUE", recv(s, b, 8, MSG_ERRQUEUE|MSG_DONTWAIT));
 P("udp MSG_OOB", recv(s, b, 8, MSG_OOB|MSG_DONTWAIT));
 P("udp recv nonblock", recv(s, b, 8, MSG_DONTWAIT));
 int fds[1] = { 0 };
 char cb[CMSG_SPACE(4)]; memset(cb, 0, sizeof cb);
 struct iovec iov = { "x", 1 };
 a.sin_port = htons(9);
 struct msghdr mh = { .msg_name = &a, .msg_namelen = sizeof a, .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof cb };
 struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(4); memcpy(CMSG_DATA(c), fds, 4);
 P("udp SCM_RIGHTS", sendmsg(s, &mh, 0));
 c->cmsg_level = IPPROTO_IP; c->cmsg_type = 77;
 P("udp cmsg IP bad type", sendmsg(s, &mh, 0));
 int n = 0; P("udp FIONREAD empty", (ioctl(s, FIONREAD, &n), n));
 P("udp getpeername", getpeername(s, (void*)b, &l));
 struct sockaddr_in lo = { AF_INET, htons(7), { htonl(0x7f000001) }, {0} };
 P("udp connect", connect(s, (void*)&lo, sizeof lo));
 P("udp connect port 0", connect(s, (void*)&a, sizeof a));
 close(s);

}

static void part2(void)
{
 char b[256]; int v; socklen_t l;
 int d1 = socket(AF_UNIX, SOCK_DGRAM, 0), d2 = socket(AF_UNIX, SOCK_DGRAM, 0);
 struct sockaddr_un a1 = { AF_UNIX, "/tmp/p2a" }, a2 = { AF_UNIX, "/tmp/p2b" };
 unlink(a1.sun_path); unlink(a2.sun_path);
 bind(d1, (void*)&a1, sizeof a1); bind(d2, (void*)&a2, sizeof a2);
 sendto(d1, "hi", 2, 0, (void*)&a2, sizeof a2);
 struct sockaddr_un from; l = 4;
 P("recvfrom small addrlen", recvfrom(d2, b, 8, 0, (void*)&from, &l)); printf("  addrlen now %u\n", l);
 sendto(d1, "hi", 2, 0, (void*)&a2, sizeof a2);
 P("recvfrom addr no len", syscall(SYS_recvfrom, d2, b, 8, 0, &from, NULL));
 P("recv after that", recv(d2, b, 8, MSG_DONTWAIT));
 sendto(d1, "hi", 2, 0, (void*)&a2, sizeof a2);
 struct iovec iov = { b, 8 }; struct msghdr mh = { .msg_name = &from, .msg_namelen = 5, .msg_iov = &iov, .msg_iovlen = 1 };
 P("recvmsg small namelen", recvmsg(d2, &mh, 0)); printf("  namelen %u\n", mh.msg_namelen);
 l = sizeof v; P("SO_TYPE raw unix", (socket(AF_UNIX, SOCK_RAW, 0) >= 0 ? 0 : -1));
 int ur = socket(AF_UNIX, SOCK_RAW, 0); l = sizeof v; getsockopt(ur, SOL_SOCKET, SO_TYPE, &v, &l); printf("SO_TYPE of raw unix %d\n", v);
 l = sizeof v; getsockopt(ur, SOL_SOCKET, SO_PROTOCOL, &v, &l); printf("SO_PROTOCOL unix %d\n", v);
 struct ucred uc; l = sizeof uc; P("SO_PEERCRED unconn unix", getsockopt(ur, SOL_SOCKET, SO_PEERCRED, &uc, &l)); printf("  %d %d %d len %u\n", uc.pid, (int)uc.uid, (int)uc.gid, l);
 int t = socket(AF_INET, SOCK_STREAM, 0);
 l = sizeof uc; P("SO_PEERCRED tcp", getsockopt(t, SOL_SOCKET, SO_PEERCRED, &uc, &l)); printf("  %d %d %d\n", uc.pid, (int)uc.uid, (int)uc.gid);
 unsigned long long ck; l = 4; P("SO_COOKIE len 4", getsockopt(t, SOL_SOCKET, SO_COOKIE, &ck, &l));
 P("SO_BINDTODEVICE nope", setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "nope", 5));
 P("SO_BINDTODEVICE lo", setsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, "lo", 3));
 l = sizeof b; P("SO_BINDTODEVICE get", getsockopt(t, SOL_SOCKET, SO_BINDTODEVICE, b, &l)); printf("  len %u '%s'\n", l, l ? b : "");
 v = -5; P("SO_RCVBUF -5", setsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, sizeof v)); l = sizeof v; getsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, &l); printf("  rcvbuf %d\n", v);
 struct timeval tv = { -1, 0 }; P("SO_RCVTIMEO -1", setsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv)); l = sizeof tv; getsockopt(t, SOL_SOCKET, SO_RCVTIMEO, &tv, &l); printf("  %ld %ld\n", (long)tv.tv_sec, (long)tv.tv_usec);
 v = 0; P("SO_RCVLOWAT 0", setsockopt(t, SOL_SOCKET, SO_RCVLOWAT, &v, sizeof v)); l = sizeof v; getsockopt(t, SOL_SOCKET, SO_RCVLOWAT, &v, &l); printf("  %d\n", v);
 v = 1; P("SO_KEEPALIVE", setsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof v)); l = sizeof v; getsockopt(t, SOL_SOCKET, SO_KEEPALIVE, &v, &l); printf("  %d\n", v);
 close(t);
 int u = socket(AF_INET, SOCK_DGRAM, 0);
 l = sizeof v; P("IP_MTU unconnected", getsockopt(u, IPPROTO_IP, IP_MTU, &v, &l));
 struct sockaddr_in lo = { AF_INET, htons(9), { htonl(0x7f000001) }, {0} };
 connect(u, (void*)&lo, sizeof lo); l = sizeof v; P("IP_MTU connected lo", (getsockopt(u, IPPROTO_IP, IP_MTU, &v, &l), v));
 l = sizeof v; P("IP_TTL len 1", (l = 1, getsockopt(u, IPPROTO_IP, IP_TTL, &v, &l), (long)l));
 v = 1; P("IP_MTU_DISCOVER 9", (v = 9, setsockopt(u, IPPROTO_IP, IP_MTU_DISCOVER, &v, sizeof v)));
 v = 0; P("IP_TOS byte", setsockopt(u, IPPROTO_IP, IP_TOS, "\x10", 1));
 P("IP_TTL len 0", setsockopt(u, IPPROTO_IP, IP_TTL, &v, 0));
 P("IP_ADD_MEMBERSHIP short", setsockopt(u, IPPROTO_IP, IP_ADD_MEMBERSHIP, &v, 4));
 P("SOL_UDP UDP_CORK", setsockopt(u, IPPROTO_UDP, 1, (v = 1, &v), sizeof v));
 P("SOL_TCP on udp", setsockopt(u, IPPROTO_TCP, 1, &v, sizeof v));
 P("level 999 on udp", setsockopt(u, 999, 1, &v, sizeof v));
 int n = -1; P("SIOCOUTQ udp", (ioctl(u, 0x5411, &n), n));
 P("sendmmsg vlen 0", sendmmsg(u, NULL, 0, 0));
 struct timespec bad = { 0, 2000000000 }; P("recvmmsg bad timeout", recvmmsg(u, (void*)b, 1, 0, &bad));
 P("unknown ioctl", ioctl(u, 0x1234, &n));
 P("SIOCGSTAMP", ioctl(u, 0x8906, b));
 close(u);
 int s = socket(AF_INET, SOCK_DGRAM, 0);
 struct ifreq rq[1]; struct ifconf ic = { .ifc_len = 10, .ifc_req = rq };
 P("SIOCGIFCONF tiny", (ioctl(s, SIOCGIFCONF, &ic), ic.ifc_len));
 struct ifreq r; memset(&r, 0, sizeof r); r.ifr_ifindex = 99; P("SIOCGIFNAME 99", ioctl(s, SIOCGIFNAME, &r));
 memset(&r, 0, sizeof r); strcpy(r.ifr_name, "lo"); P("SIOCGIFBRDADDR lo", ioctl(s, SIOCGIFBRDADDR, &r)); printf("  %s\n", inet_ntoa(((struct sockaddr_in*)&r.ifr_broadaddr)->sin_addr));
 memset(&r, 0, sizeof r); strcpy(r.ifr_name, "lo"); P("SIOCGIFMTU lo", (ioctl(s, SIOCGIFMTU, &r), r.ifr_mtu));
 memset(&r, 0, sizeof r); strcpy(r.ifr_name, "lo"); P("SIOCGIFFLAGS lo", (ioctl(s, SIOCGIFFLAGS, &r), r.ifr_flags));
 memset(&r, 0, sizeof r); strcpy(r.ifr_name, "lo"); P("SIOCGIFTXQLEN lo", (ioctl(s, SIOCGIFTXQLEN, &r), r.ifr_qlen));
 int us = socket(AF_UNIX, SOCK_STREAM, 0);
 memset(&r, 0, sizeof r); strcpy(r.ifr_name, "lo"); P("SIOCGIFADDR on unix sock", ioctl(us, SIOCGIFADDR, &r));
 memset(&r, 0, sizeof r); strcpy(r.ifr_name, "lo"); P("SIOCGIFINDEX on unix sock", ioctl(us, SIOCGIFINDEX, &r));
 P("FIONREAD unconn unix", ioctl(us, FIONREAD, &n));
 struct sockaddr_un ab = { AF_UNIX, "" }; P("unix bind len 2 then listen", (bind(us, (void*)&ab, 2), listen(us, 1)));
 l = sizeof ab; P("getsockname autobind", (getsockname(us, (void*)&ab, &l), (long)l));
 P("FIONREAD listening unix", ioctl(us, FIONREAD, &n));
 P("send on listener", send(us, "x", 1, 0));
 P("recv on listener", recv(us, b, 1, MSG_DONTWAIT));
 P("shutdown listener", shutdown(us, SHUT_RDWR));
 P("accept after shutdown", accept(us, NULL, NULL));
 struct pollfd p = { us, POLLIN|POLLOUT, 0 }; poll(&p, 1, 0); printf("listener poll after shutdown %#x\n", p.revents);
}

/* fds and credentials in flight, names across accept, netlink port ids
 * and acknowledgements */
static void part3(void)
{
 int sv[2]; char b[256];
 /* fds over dgram with a short control buffer */
 socketpair(AF_UNIX, SOCK_DGRAM, 0, sv);
 int fds[3] = {0, 1, 2};
 char cb[CMSG_SPACE(12)]; memset(cb, 0, sizeof cb);
 struct iovec iov = { "m", 1 };
 struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cb, .msg_controllen = sizeof cb };
 struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c->cmsg_level = SOL_SOCKET; c->cmsg_type = SCM_RIGHTS; c->cmsg_len = CMSG_LEN(12); memcpy(CMSG_DATA(c), fds, 12);
 P("send 3 fds", sendmsg(sv[0], &mh, 0));
 char rc[CMSG_LEN(8)]; struct iovec riov = { b, 8 };
 struct msghdr rh = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = rc, .msg_controllen = sizeof rc };
 P("recv short ctl", recvmsg(sv[1], &rh, 0)); printf("  flags %#x controllen %zu\n", rh.msg_flags, (size_t)rh.msg_controllen);
 c = CMSG_FIRSTHDR(&rh); if (c) printf("  cmsg len %zu type %d\n", (size_t)c->cmsg_len, c->cmsg_type);
 P("send 3 fds again", sendmsg(sv[0], &mh, 0));
 char rc2[10]; rh.msg_control = rc2; rh.msg_controllen = sizeof rc2; rh.msg_flags = 0;
 P("recv ctl 10 bytes", recvmsg(sv[1], &rh, 0)); printf("  flags %#x controllen %zu\n", rh.msg_flags, (size_t)rh.msg_controllen);
 /* no control: controllen becomes 0 */
 send(sv[0], "z", 1, 0); char rc3[64]; rh.msg_control = rc3; rh.msg_controllen = sizeof rc3; rh.msg_flags = 0;
 P("recv no ctl", recvmsg(sv[1], &rh, 0)); printf("  controllen %zu\n", (size_t)rh.msg_controllen);
 /* SO_PASSCRED on dgram */
 int on = 1; setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
 send(sv[0], "z", 1, 0); rh.msg_controllen = sizeof rc3; rh.msg_flags = 0;
 P("recv passcred", recvmsg(sv[1], &rh, 0)); c = CMSG_FIRSTHDR(&rh); printf("  controllen %zu type %d\n", (size_t)rh.msg_controllen, c ? c->cmsg_type : -1);
 close(sv[0]); close(sv[1]);
 /* stream: a message with fds is read on its own */
 socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
 send(sv[0], "ab", 2, 0);
 iov.iov_base = "cd"; iov.iov_len = 2; mh.msg_control = cb; mh.msg_controllen = sizeof cb; c = CMSG_FIRSTHDR(&mh); c->cmsg_len = CMSG_LEN(4);
 mh.msg_controllen = CMSG_SPACE(4);
 sendmsg(sv[0], &mh, 0); send(sv[0], "ef", 2, 0);
 riov.iov_len = 10; char rc4[64]; rh.msg_control = rc4; rh.msg_controllen = sizeof rc4; rh.msg_flags = 0;
 P("stream read 1", recvmsg(sv[1], &rh, 0)); printf("  controllen %zu\n", (size_t)rh.msg_controllen);
 rh.msg_controllen = sizeof rc4; P("stream read 2", recvmsg(sv[1], &rh, 0)); printf("  controllen %zu\n", (size_t)rh.msg_controllen);
 rh.msg_controllen = sizeof rc4; P("stream read 3", recvmsg(sv[1], &rh, MSG_DONTWAIT)); printf("  controllen %zu\n", (size_t)rh.msg_controllen);
 close(sv[0]); close(sv[1]);
 /* names across accept */
 int l = socket(AF_UNIX, SOCK_STREAM, 0); struct sockaddr_un a = { AF_UNIX, "/tmp/p3" }; unlink(a.sun_path);
 bind(l, (void*)&a, sizeof a); listen(l, 1);
 int cl = socket(AF_UNIX, SOCK_STREAM, 0); setsockopt(cl, SOL_SOCKET, SO_PASSCRED, &on, sizeof on);
 P("connect passcred", connect(cl, (void*)&a, sizeof a));
 struct sockaddr_un x; socklen_t xl = sizeof x; getsockname(cl, (void*)&x, &xl); printf("client name len %u abstract %d\n", xl, xl > 2 && x.sun_path[0] == 0);
 xl = sizeof x; int s = accept(l, (void*)&x, &xl); printf("accept peer len %u\n", xl);
 xl = sizeof x; getsockname(s, (void*)&x, &xl); printf("accepted name len %u %s\n", xl, x.sun_path);
 xl = sizeof x; getpeername(cl, (void*)&x, &xl); printf("client peer len %u %s\n", xl, x.sun_path);
 close(s); close(cl); close(l);
 /* netlink details */
 int n = socket(AF_NETLINK, SOCK_RAW, 0);
 struct { unsigned short f, pad; unsigned pid, groups; } na = { AF_NETLINK, 0, 12345, 0 };
 P("nl bind pid 12345", bind(n, (void*)&na, sizeof na));
 socklen_t nl = sizeof na; getsockname(n, (void*)&na, &nl); printf("nl pid %u len %u\n", na.pid, nl);
 P("nl bind again other pid", (na.pid = 777, bind(n, (void*)&na, sizeof na)));
 struct { struct nlh h; unsigned char fam, pad; unsigned short type; int index; unsigned flags, change; } gl = { { sizeof gl, 18, 1 | 4, 5, 0 }, 0, 0, 0, 1, 0, 0 };
 send(n, &gl, sizeof gl, 0);
 for (int i = 0; i < 3; i++) { int k = recv(n, b, sizeof b, MSG_DONTWAIT); if (k < 0) { printf("get lo: recv %d errno %d\n", k, errno); break; }
   struct nlh *h = (void*)b; printf("get lo: msg type %d flags %#x seq %u pid %u\n", h->type, h->flags, h->seq, h->pid);
   if (h->type == 2) printf("  error %d\n", *(int*)(h + 1)); }
 close(n);
}

/* readiness: the epoll mask of sockets in many states */
static unsigned pm(int fd)
{
	int ep = epoll_create1(0);
	struct epoll_event e = { .events = EPOLLIN | EPOLLOUT | EPOLLRDHUP | EPOLLPRI, .data.u32 = 0 };
	epoll_ctl(ep, EPOLL_CTL_ADD, fd, &e);
	struct epoll_event o = { 0 };
	int n = epoll_wait(ep, &o, 1, 0);
	close(ep);
	return n > 0 ? o.events : 0;
}
#define M(name, fd) printf("%-34s %#x\n", name, pm(fd))

static void part4(void)
{
 int sv[2];
 socketpair(AF_UNIX, SOCK_STREAM, 0, sv); M("stream pair idle", sv[0]);
 send(sv[1], "x", 1, 0); M("stream with data", sv[0]);
 shutdown(sv[1], SHUT_WR); M("stream peer SHUT_WR", sv[0]); M("stream self after SHUT_WR", sv[1]);
 shutdown(sv[0], SHUT_WR); M("stream both SHUT_WR", sv[0]);
 close(sv[0]); close(sv[1]);
 socketpair(AF_UNIX, SOCK_STREAM, 0, sv); shutdown(sv[0], SHUT_RD); M("stream self SHUT_RD", sv[0]); M("stream peer of SHUT_RD", sv[1]);
 close(sv[1]); M("stream peer closed", sv[0]); close(sv[0]);
 socketpair(AF_UNIX, SOCK_STREAM, 0, sv); send(sv[0], "x", 1, 0); close(sv[1]); M("stream closed with unread", sv[0]); close(sv[0]);
 socketpair(AF_UNIX, SOCK_DGRAM, 0, sv); M("dgram pair idle", sv[0]); close(sv[1]); M("dgram peer closed", sv[0]); close(sv[0]);
 socketpair(AF_UNIX, SOCK_SEQPACKET, 0, sv); M("seqpacket idle", sv[0]); close(sv[1]); M("seqpacket peer closed", sv[0]); close(sv[0]);
 int u = socket(AF_UNIX, SOCK_STREAM, 0); M("unix stream fresh", u);
 struct sockaddr_un a = { AF_UNIX, "/tmp/p4" }; unlink(a.sun_path); bind(u, (void*)&a, sizeof a); M("unix stream bound", u);
 listen(u, 1); M("unix listener", u);
 int c = socket(AF_UNIX, SOCK_STREAM, 0); connect(c, (void*)&a, sizeof a); M("unix listener pending", u); M("unix client connected", c);
 int s = accept(u, NULL, NULL); M("unix accepted", s); close(s); close(c); close(u);
 int d = socket(AF_UNIX, SOCK_DGRAM, 0); M("unix dgram fresh", d); shutdown(d, SHUT_RDWR); M("unix dgram shut", d); close(d);
 int ud = socket(AF_INET, SOCK_DGRAM, 0); M("udp fresh", ud);
 struct sockaddr_in lo = { AF_INET, htons(5999), { htonl(0x7f000001) }, {0} };
 connect(ud, (void*)&lo, sizeof lo); send(ud, "x", 1, 0); usleep(100000); M("udp after port unreachable", ud);
 shutdown(ud, SHUT_RD); M("udp SHUT_RD", ud); shutdown(ud, SHUT_WR); M("udp SHUT_RDWR", ud); close(ud);
 int nl = socket(AF_NETLINK, SOCK_RAW, 0); M("netlink fresh", nl); close(nl);}

/* SOL_SOCKET options Linux stores and reports (busy polling, pacing,
 * zerocopy, memory info...) on AF_UNIX and UDP sockets (TCP's buffer
 * defaults are TCP's own; SO_PEEK_OFF is not supported here) */
static void part5(void)
{
	int fams[2][2] = { { AF_UNIX, SOCK_STREAM }, { AF_INET, SOCK_DGRAM } };
	const char *nm[2] = { "unix", "udp" };
	int opts[] = { 46, 47, 49, 60, 69, 70, 61, 71, 72, 74, 75, 40, 43, 44, 45, 41, 55, 59 };
	for (int f = 0; f < 2; f++) {
		int s = socket(fams[f][0], fams[f][1], 0);
		for (unsigned i = 0; i < sizeof(opts) / sizeof(*opts); i++) {
			int v = 1;
			char n[64];
			snprintf(n, sizeof(n), "%s set %d", nm[f], opts[i]);
			P(n, setsockopt(s, SOL_SOCKET, opts[i], &v, sizeof(v)));
			long long g = 0;
			socklen_t l = sizeof(g);
			snprintf(n, sizeof(n), "%s get %d", nm[f], opts[i]);
			errno = 0;
			long r = getsockopt(s, SOL_SOCKET, opts[i], &g, &l);
			if (r < 0)
				printf("%-30s -1 errno %d\n", n, errno);
			else
				printf("%-30s %lld len %u\n", n, g, l);
		}
		close(s);
	}
}

/* UDP port sharing: which socket gets a unicast datagram */
static int mk(int port, int ra, int rp, const char *ip)
{
	int s = socket(AF_INET, SOCK_DGRAM, 0), v = 1;
	if (ra)
		setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v));
	if (rp)
		setsockopt(s, SOL_SOCKET, SO_REUSEPORT, &v, sizeof(v));
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	inet_pton(AF_INET, ip, &a.sin_addr);
	if (bind(s, (void *)&a, sizeof(a)))
		printf("bind %d errno %d\n", port, errno);
	return s;
}

static void who(const char *name, int *s, int n)
{
	char b[8];
	printf("%s:", name);
	for (int i = 0; i < n; i++)
		printf(" %zd", recv(s[i], b, 8, MSG_DONTWAIT));
	printf("\n");
}

static void part6(void)
{
	int tx = socket(AF_INET, SOCK_DGRAM, 0);
	struct sockaddr_in d = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	int s1[2] = { mk(7301, 1, 0, "0.0.0.0"), mk(7301, 1, 0, "0.0.0.0") };
	d.sin_port = htons(7301);
	sendto(tx, "a", 1, 0, (void *)&d, sizeof(d));
	usleep(50000);
	who("reuseaddr any+any", s1, 2);
	int s2[2] = { mk(7302, 1, 0, "0.0.0.0"), mk(7302, 1, 0, "127.0.0.1") };
	d.sin_port = htons(7302);
	sendto(tx, "a", 1, 0, (void *)&d, sizeof(d));
	usleep(50000);
	who("any then specific", s2, 2);
	int s3[2] = { mk(7303, 1, 0, "127.0.0.1"), mk(7303, 1, 0, "0.0.0.0") };
	d.sin_port = htons(7303);
	sendto(tx, "a", 1, 0, (void *)&d, sizeof(d));
	usleep(50000);
	who("specific then any", s3, 2);
	mk(7304, 0, 0, "127.0.0.1");
	mk(7304, 0, 0, "127.0.0.2");
	printf("no reuse, different addresses: both bound\n");
	mk(7305, 0, 1, "0.0.0.0");
	mk(7305, 1, 0, "0.0.0.0");
	int s6[3] = { mk(7306, 0, 1, "0.0.0.0"), mk(7306, 0, 1, "0.0.0.0"), mk(7306, 0, 1, "127.0.0.1") };
	d.sin_port = htons(7306);
	for (int i = 0; i < 6; i++)
		sendto(tx, "a", 1, 0, (void *)&d, sizeof(d));
	usleep(50000);
	int tot = 0;
	char b[8];
	for (int i = 0; i < 3; i++)
		while (recv(s6[i], b, 8, MSG_DONTWAIT) > 0)
			tot++;
	printf("reuseport group got %d of 6\n", tot);
}


/* TCP: unconnected, listening, connected after a nonblocking connect,
 * refused (blocking and not), buffer defaults, unknown options */
static struct sockaddr_in lo_port(int port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
				 .sin_addr.s_addr = htonl(0x7f000001) };
	return a;
}

static int tcp_listener(int *port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo_port(0);
	socklen_t l = sizeof(a);
	bind(s, (void *)&a, sizeof(a));
	listen(s, 4);
	getsockname(s, (void *)&a, &l);
	*port = ntohs(a.sin_port);
	return s;
}

static void pl(const char *name, int fd)
{
	struct pollfd p = { fd, POLLIN | POLLOUT, 0 };
	poll(&p, 1, 0);
	printf("%-30s %#x\n", name, p.revents);
}

static void part7(void)
{
 char b[8]; int v = 1; socklen_t l;
 int t = socket(AF_INET, SOCK_STREAM, 0);
 l = sizeof v; getsockopt(t, SOL_SOCKET, SO_SNDBUF, &v, &l); printf("tcp SO_SNDBUF default %d\n", v);
 l = sizeof v; getsockopt(t, SOL_SOCKET, SO_RCVBUF, &v, &l); printf("tcp SO_RCVBUF default %d\n", v);
 v = 4096; setsockopt(t, SOL_SOCKET, SO_SNDBUF, &v, sizeof v); l = sizeof v; getsockopt(t, SOL_SOCKET, SO_SNDBUF, &v, &l); printf("tcp SO_SNDBUF set 4096 %d\n", v);
 pipes = 0; P("tcp send unconnected", send(t, "x", 1, 0)); printf("sigpipes %d\n", pipes);
 pipes = 0; P("tcp send nosignal", send(t, "x", 1, MSG_NOSIGNAL)); printf("sigpipes %d\n", pipes);
 pipes = 0; P("tcp write unconnected", write(t, "x", 1)); printf("sigpipes %d\n", pipes);
 P("tcp recv unconnected", recv(t, b, 1, MSG_DONTWAIT));
 P("tcp set SOL_SOCKET 9999", setsockopt(t, SOL_SOCKET, 9999, &v, sizeof v));
 l = sizeof v; P("tcp get SOL_SOCKET 9999", getsockopt(t, SOL_SOCKET, 9999, &v, &l));
 P("tcp set SO_TYPE", setsockopt(t, SOL_SOCKET, SO_TYPE, &v, sizeof v));
 P("tcp set SO_ERROR", setsockopt(t, SOL_SOCKET, SO_ERROR, &v, sizeof v));
 P("tcp set SO_ACCEPTCONN", setsockopt(t, SOL_SOCKET, SO_ACCEPTCONN, &v, sizeof v));
 P("tcp set SO_PEERCRED", setsockopt(t, SOL_SOCKET, SO_PEERCRED, &v, sizeof v));
 P("tcp set level 999", setsockopt(t, 999, 1, &v, sizeof v));
 pl("tcp fresh poll", t); M("tcp fresh", t);
 P("tcp shutdown unconnected", shutdown(t, SHUT_WR));
 pl("tcp fresh SHUT_WR poll", t);
 close(t);
 int port, ls = tcp_listener(&port);
 pipes = 0; P("tcp send on listener", send(ls, "x", 1, 0)); printf("sigpipes %d\n", pipes);
 P("tcp recv on listener", recv(ls, b, 1, MSG_DONTWAIT));
 struct sockaddr_in a = lo_port(port);
 int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
 P("tcp nonblocking connect", connect(c, (void *)&a, sizeof a));
 struct pollfd p = { c, POLLOUT, 0 }; poll(&p, 1, 2000);
 P("tcp connect after it completed", connect(c, (void *)&a, sizeof a));
 P("tcp connect again", connect(c, (void *)&a, sizeof a));
 pl("tcp connected poll", c);
 int s = accept(ls, NULL, NULL);
 close(s); close(c); close(ls);
 /* refused */
 int dead, ld = tcp_listener(&dead); close(ld);
 a = lo_port(dead);
 int d = socket(AF_INET, SOCK_STREAM, 0);
 P("tcp blocking connect refused", connect(d, (void *)&a, sizeof a));
 pl("tcp refused poll", d); M("tcp refused", d);
 l = sizeof v; v = -1; getsockopt(d, SOL_SOCKET, SO_ERROR, &v, &l); printf("tcp refused SO_ERROR %d\n", v);
 P("tcp refused recv", recv(d, b, 1, MSG_DONTWAIT));
 pipes = 0; P("tcp refused send", send(d, "x", 1, 0)); printf("sigpipes %d\n", pipes);
 close(d);
 d = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
 P("tcp nonblocking refused", connect(d, (void *)&a, sizeof a));
 usleep(100000);
 pl("tcp nb refused poll", d); M("tcp nb refused", d);
 l = sizeof v; v = -1; getsockopt(d, SOL_SOCKET, SO_ERROR, &v, &l); printf("tcp nb refused SO_ERROR %d\n", v);
 pl("tcp nb refused poll after", d);
 P("tcp nb refused recv", recv(d, b, 1, MSG_DONTWAIT));
 pipes = 0; P("tcp nb refused send", send(d, "x", 1, 0)); printf("sigpipes %d\n", pipes);
 P("tcp nb refused connect again", connect(d, (void *)&a, sizeof a));
 pl("tcp nb refused poll then", d);
 P("tcp nb refused recv then", recv(d, b, 1, MSG_DONTWAIT));
 P("tcp nb refused connect third", connect(d, (void *)&a, sizeof a));
 usleep(100000);
 l = sizeof v; v = -1; getsockopt(d, SOL_SOCKET, SO_ERROR, &v, &l); printf("tcp nb refused SO_ERROR third %d\n", v);
 close(d);
}

int main(void)
{
	signal(SIGPIPE, onpipe);
	setvbuf(stdout, NULL, _IOLBF, 0);
	part1();
	part2();
	part3();
	part4();
	part5();
	part6();
	part7();
	printf("sock_probe: done\n");
	return 0;
}
