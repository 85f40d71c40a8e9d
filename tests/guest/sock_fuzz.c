/* Random socket calls with random arguments on nonblocking sockets of
 * every family and type: the kernel must answer each with a result or an
 * errno (never crash or hang). Deterministic: argv[1] is the seed. */
#include "check.h"
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <unistd.h>

static uint64_t rs;
static uint32_t rnd(void)
{
	rs ^= rs << 13;
	rs ^= rs >> 7;
	rs ^= rs << 17;
	return (uint32_t)rs;
}

#define NS 12
static int fds[NS];
static unsigned char buf[70000], buf2[4096];
static const int fams[] = { AF_UNIX, AF_INET, AF_NETLINK, AF_INET6, 0, 17 };
static const int types[] = { SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET, SOCK_RAW, 4, 99 };
static const unsigned long ioctls[] = { 0x541B, 0x5411, 0x8912, 0x8913, 0x8915, 0x8910,
					0x8921, 0x8927, 0x8933, 0x5421, 0x891b, 0x8906, 0x1234 };

static void fill(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)rnd();
	/* plausible families at the start of addresses */
	if (n >= 2 && (rnd() & 1)) {
		unsigned short f = (unsigned short)fams[rnd() % 6];
		memcpy(p, &f, 2);
		if (f == AF_INET && n >= 8 && (rnd() & 1)) {
			p[4] = 127; p[5] = 0; p[6] = 0; p[7] = 1;
		}
		if (f == AF_UNIX && n > 4 && (rnd() & 1))
			p[2] = 0;              /* abstract */
	}
}

static int any_fd(void)
{
	return fds[rnd() % NS];
}

static long len_pick(void)
{
	switch (rnd() % 6) {
	case 0: return 0;
	case 1: return rnd() % 20;
	case 2: return rnd() % 130;
	case 3: return 16;
	case 4: return -(long)(rnd() % 3);
	default: return rnd() % 70000;
	}
}

int main(int argc, char **argv)
{
	rs = argc > 1 ? strtoull(argv[1], NULL, 0) : 88172645463325252ull;
	if (!rs)
		rs = 1;
	long iters = argc > 2 ? atol(argv[2]) : 20000;
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < NS; i++)
		fds[i] = -1;
	long calls = 0;
	int trace = getenv("FUZZ_TRACE") != NULL;
	for (long it = 0; it < iters; it++) {
		int k = rnd() % NS;
		int fd = fds[k];
		long l = len_pick();
		size_t ul = l < 0 ? 0 : (size_t)l;
		fill(buf, ul < sizeof(buf) ? ul : sizeof(buf));
		socklen_t sl = (socklen_t)(rnd() % 140);
		calls++;
		int op = (int)(rnd() % 20);
		if (trace)
			fprintf(stderr, "%ld op %d fd %d\n", it, op, fd);
		switch (op) {
		case 0: case 1: {
			if (fd >= 0)
				close(fd);
			int t = types[rnd() % 6] | SOCK_NONBLOCK | (rnd() & 1 ? SOCK_CLOEXEC : 0);
			int f = fams[rnd() % 3];
			fds[k] = socket(f, t, rnd() % 4 == 0 ? (int)(rnd() % 20) : 0);
			break;
		}
		case 2: {
			int sv[2];
			if (socketpair(AF_UNIX, types[rnd() % 3] | SOCK_NONBLOCK, 0, sv) == 0) {
				if (fd >= 0)
					close(fd);
				fds[k] = sv[0];
				int j = rnd() % NS;
				if (fds[j] >= 0 && j != k)
					close(fds[j]);
				fds[j == k ? (k + 1) % NS : j] = sv[1];
			}
			break;
		}
		case 3: syscall(SYS_bind, fd, buf, l); break;
		case 4: syscall(SYS_connect, fd, buf, l); break;
		case 5: listen(fd, (int)(rnd() % 8) - 1); break;
		case 6: {
			int a = accept4(fd, rnd() & 1 ? (void *)buf2 : NULL, &sl, SOCK_NONBLOCK);
			if (a >= 0) {
				int j = rnd() % NS;
				if (fds[j] >= 0)
					close(fds[j]);
				fds[j] = a;
			}
			break;
		}
		case 7: syscall(SYS_sendto, fd, buf, ul, (rnd() & 0x40c3) | MSG_DONTWAIT,
				rnd() & 1 ? buf + 100 : NULL, (long)(rnd() % 140)); break;
		case 8: syscall(SYS_recvfrom, fd, buf2, rnd() % sizeof(buf2),
				(rnd() & 0x2163) | MSG_DONTWAIT, rnd() & 1 ? buf + 100 : NULL,
				rnd() & 1 ? &sl : NULL); break;
		case 9: {
			struct iovec iov[3] = { { buf, rnd() % 2000 }, { buf + 3000, rnd() % 100 },
						{ buf2, rnd() % 64 } };
			struct msghdr mh = { .msg_name = rnd() & 1 ? buf + 200 : NULL,
					     .msg_namelen = rnd() % 140, .msg_iov = iov,
					     .msg_iovlen = rnd() % 4,
					     .msg_control = rnd() & 1 ? buf + 400 : NULL,
					     .msg_controllen = rnd() % 300 };
			if (rnd() & 1) {
				/* a well-formed header, random type and fds */
				unsigned long long cl = 16 + rnd() % 32;
				int lvl = rnd() & 1 ? SOL_SOCKET : (int)(rnd() % 300);
				int ty = rnd() % 4;
				memcpy(buf + 400, &cl, 8);
				memcpy(buf + 408, &lvl, 4);
				memcpy(buf + 412, &ty, 4);
				for (int q = 0; q < 8; q++) {
					int v = rnd() & 1 ? any_fd() : (int)(rnd() % 40) - 2;
					memcpy(buf + 416 + 4 * q, &v, 4);
				}
			}
			syscall(SYS_sendmsg, fd, &mh, (rnd() & 0x40c3) | MSG_DONTWAIT);
			break;
		}
		case 10: {
			struct iovec iov[2] = { { buf2, rnd() % 2048 }, { buf2 + 2048, rnd() % 2048 } };
			struct msghdr mh = { .msg_name = rnd() & 1 ? buf + 200 : NULL,
					     .msg_namelen = rnd() % 140, .msg_iov = iov,
					     .msg_iovlen = rnd() % 3,
					     .msg_control = rnd() & 1 ? buf + 400 : NULL,
					     .msg_controllen = rnd() % 300 };
			long r = syscall(SYS_recvmsg, fd, &mh, (rnd() & 0x40002163) | MSG_DONTWAIT);
			/* close any fds that arrived */
			if (r >= 0 && mh.msg_control && mh.msg_controllen >= 16) {
				struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
				if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS)
					for (size_t q = 0; q < (c->cmsg_len - 16) / 4 && q < 64; q++) {
						int v;
						memcpy(&v, (char *)CMSG_DATA(c) + 4 * q, 4);
						if (v > 2)
							close(v);
					}
			}
			break;
		}
		case 11: setsockopt(fd, rnd() % 3 == 0 ? SOL_SOCKET : (int)(rnd() % 300),
				    (int)(rnd() % 80), buf, (socklen_t)(rnd() % 40)); break;
		case 12: {
			socklen_t ol = (socklen_t)(rnd() % 600);
			static unsigned char ob[600];
			getsockopt(fd, rnd() % 3 == 0 ? SOL_SOCKET : (int)(rnd() % 300),
				   (int)(rnd() % 80), ob, &ol);
			break;
		}
		case 13: {
			static unsigned char ib[64];
			fill(ib, sizeof(ib));
			if (rnd() & 1)
				memcpy(ib, rnd() & 1 ? "lo" : "eth0", 5);
			unsigned long c = ioctls[rnd() % 13];
			if (c == 0x8912) {          /* SIOCGIFCONF: a sane buffer */
				struct { int len; int pad; void *p; } ic = { (int)(rnd() % 200), 0,
					rnd() & 1 ? buf2 : NULL };
				ioctl(fd, c, &ic);
			} else if (c != 0x5421 || (rnd() & 1)) {
				int on = 1;
				ioctl(fd, c, c == 0x5421 ? (void *)&on : (void *)ib);
			}
			break;
		}
		case 14: shutdown(fd, (int)(rnd() % 4)); break;
		case 15: getsockname(fd, (void *)buf2, &sl); break;
		case 16: getpeername(fd, (void *)buf2, &sl); break;
		case 17: write(fd, buf, ul % 5000); break;
		case 18: read(fd, buf2, sizeof(buf2)); break;
		case 19: {
			struct mmsghdr mm[2];
			struct iovec iov = { buf2, 100 };
			memset(mm, 0, sizeof(mm));
			mm[0].msg_hdr.msg_iov = &iov;
			mm[0].msg_hdr.msg_iovlen = 1;
			mm[1] = mm[0];
			if (rnd() & 1)
				sendmmsg(fd, mm, rnd() % 3, MSG_DONTWAIT);
			else
				recvmmsg(fd, mm, rnd() % 3, MSG_DONTWAIT, NULL);
			break;
		}
		}
	}
	for (int i = 0; i < NS; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	printf("%ld calls\n", calls);
	return guest_done("sock_fuzz");
}
