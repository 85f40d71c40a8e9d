/* AF_UNIX sockets: socketpair of each type, path and abstract names,
 * listen/accept with threads, shutdown/EOF/EPIPE/SIGPIPE, SCM_RIGHTS,
 * readiness, timeouts, peeking and truncation, sendfile into a socket. */
#include "check.h"
#include <fcntl.h>
#include <stddef.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/socket.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

static volatile int sigpipes;
static void on_pipe(int sig) { (void)sig; sigpipes++; }

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void pair_stream(void)
{
	int sv[2];
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	char buf[64];
	EXPECT(write(sv[0], "hello", 5) == 5);
	EXPECT(send(sv[0], " world", 6, 0) == 6);
	int n = 0;
	EXPECT(ioctl(sv[1], FIONREAD, &n) == 0 && n == 11);
	EXPECT(recv(sv[1], buf, 3, MSG_PEEK) == 3 && !memcmp(buf, "hel", 3));
	EXPECT(read(sv[1], buf, sizeof(buf)) == 11 && !memcmp(buf, "hello world", 11));
	EXPECT_ERRNO(recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
	/* readv/writev */
	struct iovec w[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
	EXPECT(writev(sv[1], w, 3) == 5);
	char x[2], y[10];
	struct iovec r[2] = { { x, 2 }, { y, 10 } };
	EXPECT(readv(sv[0], r, 2) == 5 && !memcmp(x, "ab", 2) && !memcmp(y, "cde", 3));
	/* names of a pair: unbound */
	struct sockaddr_un a;
	socklen_t al = sizeof(a);
	EXPECT(getsockname(sv[0], (struct sockaddr *)&a, &al) == 0 && al == 2 && a.sun_family == AF_UNIX);
	al = sizeof(a);
	EXPECT(getpeername(sv[0], (struct sockaddr *)&a, &al) == 0 && al == 2);
	/* credentials */
	struct ucred uc;
	socklen_t ul = sizeof(uc);
	EXPECT(getsockopt(sv[0], SOL_SOCKET, SO_PEERCRED, &uc, &ul) == 0 && ul == sizeof(uc) &&
	       uc.pid > 0 && uc.uid == 0 && uc.gid == 0);
	/* EFAULT on a connected socket */
	EXPECT_ERRNO(send(sv[0], (void *)8, 1, 0), EFAULT);
	/* shutdown: SHUT_WR here is EOF there */
	EXPECT(shutdown(sv[0], SHUT_WR) == 0);
	EXPECT(recv(sv[1], buf, sizeof(buf), 0) == 0);
	EXPECT_ERRNO(send(sv[0], "x", 1, MSG_NOSIGNAL), EPIPE);
	struct pollfd p = { sv[1], POLLIN | POLLRDHUP, 0 };
	EXPECT(poll(&p, 1, 0) == 1 && (p.revents & POLLIN) && (p.revents & POLLRDHUP));
	/* the other way still works */
	EXPECT(send(sv[1], "back", 4, 0) == 4);
	EXPECT(recv(sv[0], buf, sizeof(buf), 0) == 4);
	/* close: EOF, EPIPE with SIGPIPE, and without with MSG_NOSIGNAL */
	close(sv[0]);
	EXPECT(recv(sv[1], buf, sizeof(buf), 0) == 0);
	sigpipes = 0;
	EXPECT_ERRNO(write(sv[1], "x", 1), EPIPE);
	EXPECT(sigpipes == 1);
	EXPECT_ERRNO(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
	EXPECT(sigpipes == 1);
	p = (struct pollfd){ sv[1], POLLIN | POLLOUT, 0 };
	EXPECT(poll(&p, 1, 0) == 1 && (p.revents & POLLHUP));
	close(sv[1]);

	/* unread data at close: the peer reads ECONNRESET */
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	EXPECT(send(sv[1], "lost", 4, 0) == 4);
	close(sv[0]);
	EXPECT_ERRNO(recv(sv[1], buf, sizeof(buf), 0), ECONNRESET);
	EXPECT(recv(sv[1], buf, sizeof(buf), 0) == 0);
	close(sv[1]);
	/* the same error is SO_ERROR's, read and cleared */
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	EXPECT(send(sv[1], "lost", 4, 0) == 4);
	close(sv[0]);
	p = (struct pollfd){ sv[1], POLLIN, 0 };
	EXPECT(poll(&p, 1, 0) == 1 && (p.revents & POLLERR) && (p.revents & POLLHUP));
	int e = 0;
	socklen_t el = sizeof(e);
	EXPECT(getsockopt(sv[1], SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == ECONNRESET);
	EXPECT(getsockopt(sv[1], SOL_SOCKET, SO_ERROR, &e, &el) == 0 && e == 0);
	EXPECT(recv(sv[1], buf, sizeof(buf), 0) == 0);
	close(sv[1]);
}

static void pair_dgram(int type)
{
	int sv[2];
	EXPECT(socketpair(AF_UNIX, type, 0, sv) == 0);
	char buf[64];
	EXPECT(send(sv[0], "one", 3, 0) == 3);
	EXPECT(send(sv[0], "second", 6, 0) == 6);
	EXPECT(send(sv[0], "", 0, 0) == 0);
	/* Linux: the next datagram; a seqpacket socket counts them all */
	int n = 0;
	EXPECT(ioctl(sv[1], FIONREAD, &n) == 0 && n == (type == SOCK_DGRAM ? 3 : 9));
	EXPECT(recv(sv[1], buf, sizeof(buf), MSG_PEEK) == 3);
	EXPECT(recv(sv[1], buf, sizeof(buf), 0) == 3 && !memcmp(buf, "one", 3));
	/* truncation: MSG_TRUNC returns the real size; the rest is dropped */
	struct iovec iov = { buf, 2 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	EXPECT(recvmsg(sv[1], &mh, 0) == 2 && (mh.msg_flags & MSG_TRUNC));
	EXPECT(recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) == 0);   /* the empty one */
	EXPECT(send(sv[0], "abcdef", 6, 0) == 6);
	EXPECT(recv(sv[1], buf, 2, MSG_TRUNC) == 6);
	EXPECT_ERRNO(recv(sv[1], buf, 1, MSG_DONTWAIT), EAGAIN);
	/* message too big for the send buffer */
	int sb = 4096;
	EXPECT(setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sb, sizeof(sb)) == 0);
	static char big[16384];
	EXPECT_ERRNO(send(sv[0], big, sizeof(big), 0), EMSGSIZE);
	/* fill up: nonblocking send gives EAGAIN */
	int sent = 0;
	for (int i = 0; i < 10000; i++) {
		if (send(sv[0], big, 1000, MSG_DONTWAIT) < 0) {
			EXPECT(errno == EAGAIN);
			break;
		}
		sent++;
	}
	EXPECT(sent > 0 && sent < 10000);
	struct pollfd p = { sv[0], POLLOUT, 0 };
	if (type == SOCK_SEQPACKET)
		EXPECT(poll(&p, 1, 0) == 0);
	while (recv(sv[1], buf, sizeof(buf), MSG_DONTWAIT) > 0)
		;
	EXPECT(poll(&p, 1, 0) == 1 && (p.revents & POLLOUT));
	close(sv[0]);
	if (type == SOCK_SEQPACKET) {
		EXPECT(recv(sv[1], buf, sizeof(buf), 0) == 0);
		EXPECT_ERRNO(send(sv[1], "x", 1, MSG_NOSIGNAL), EPIPE);
	} else {
		EXPECT_ERRNO(send(sv[1], "x", 1, 0), ECONNREFUSED);
	}
	close(sv[1]);
}

struct srv {
	int lfd;
	int got;
	char data[32];
};

static void *server(void *arg)
{
	struct srv *s = arg;
	struct sockaddr_un peer;
	socklen_t pl = sizeof(peer);
	int c = accept4(s->lfd, (struct sockaddr *)&peer, &pl, SOCK_CLOEXEC);
	if (c < 0)
		return NULL;
	s->got = (int)read(c, s->data, sizeof(s->data));
	write(c, "pong", 4);
	close(c);
	return NULL;
}

static void path_names(void)
{
	mkdir("/tmp/u", 0755);
	unlink("/tmp/u/sock");
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	strcpy(a.sun_path, "/tmp/u/sock");
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + strlen(a.sun_path) + 1;
	EXPECT_ERRNO(listen(l, 5), EINVAL);           /* unbound */
	EXPECT(bind(l, (struct sockaddr *)&a, alen) == 0);
	EXPECT_ERRNO(bind(l, (struct sockaddr *)&a, alen), EADDRINUSE);   /* the path exists */
	struct stat st;
	EXPECT(stat("/tmp/u/sock", &st) == 0 && S_ISSOCK(st.st_mode));
	int l2 = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT_ERRNO(bind(l2, (struct sockaddr *)&a, alen), EADDRINUSE);
	/* not listening yet */
	EXPECT_ERRNO(connect(l2, (struct sockaddr *)&a, alen), ECONNREFUSED);
	EXPECT(listen(l, 5) == 0);
	int v = 0;
	socklen_t vl = sizeof(v);
	EXPECT(getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &v, &vl) == 0 && v == 1);
	struct sockaddr_un b;
	socklen_t bl = sizeof(b);
	EXPECT(getsockname(l, (struct sockaddr *)&b, &bl) == 0 && bl == alen &&
	       !strcmp(b.sun_path, "/tmp/u/sock"));

	/* /proc/net/unix lists it, listening (__SO_ACCEPTCON), with its path */
	int pf = open("/proc/net/unix", O_RDONLY);
	EXPECT(pf >= 0);
	if (pf >= 0) {
		static char txt[16384];
		ssize_t k = read(pf, txt, sizeof(txt) - 1);
		EXPECT(k > 0);
		txt[k > 0 ? k : 0] = 0;
		EXPECT(strstr(txt, "Num       RefCount Protocol Flags    Type St Inode Path\n") == txt);
		EXPECT(strstr(txt, " 00010000 0001 01 ") && strstr(txt, " /tmp/u/sock\n"));
		close(pf);
	}

	struct srv s = { .lfd = l };
	pthread_t th;
	pthread_create(&th, NULL, server, &s);
	int c = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT(connect(c, (struct sockaddr *)&a, alen) == 0);
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, alen), EISCONN);
	bl = sizeof(b);
	EXPECT(getpeername(c, (struct sockaddr *)&b, &bl) == 0 && !strcmp(b.sun_path, "/tmp/u/sock"));
	/* the name goes, the connection stays */
	EXPECT(unlink("/tmp/u/sock") == 0);
	EXPECT(write(c, "ping", 4) == 4);
	char buf[8];
	EXPECT(read(c, buf, sizeof(buf)) == 4 && !memcmp(buf, "pong", 4));
	pthread_join(th, NULL);
	EXPECT(s.got == 4 && !memcmp(s.data, "ping", 4));
	EXPECT(read(c, buf, sizeof(buf)) == 0);
	close(c);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, alen), ENOENT);
	close(c);
	close(l);
	close(l2);

	/* a path whose socket closed: ECONNREFUSED; a regular file too */
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	strcpy(a.sun_path, "/tmp/u/dg");
	unlink(a.sun_path);
	EXPECT(bind(d, (struct sockaddr *)&a, sizeof(a)) == 0);
	close(d);
	c = socket(AF_UNIX, SOCK_DGRAM, 0);
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, sizeof(a)), ECONNREFUSED);
	int f = open("/tmp/u/file", O_CREAT | O_WRONLY, 0644);
	close(f);
	strcpy(a.sun_path, "/tmp/u/file");
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, sizeof(a)), ECONNREFUSED);
	strcpy(a.sun_path, "/tmp/nope/x");
	EXPECT_ERRNO(bind(c, (struct sockaddr *)&a, sizeof(a)), ENOENT);
	close(c);

	/* a stream connect to a datagram socket */
	d = socket(AF_UNIX, SOCK_DGRAM, 0);
	strcpy(a.sun_path, "/tmp/u/dg2");
	EXPECT(bind(d, (struct sockaddr *)&a, sizeof(a)) == 0);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	EXPECT_ERRNO(connect(c, (struct sockaddr *)&a, sizeof(a)), EPROTOTYPE);
	close(c);
	/* datagrams to a path, with the sender's address */
	int e = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un ea = { .sun_family = AF_UNIX };
	strcpy(ea.sun_path, "/tmp/u/dg3");
	EXPECT(bind(e, (struct sockaddr *)&ea, sizeof(ea)) == 0);
	EXPECT(sendto(e, "dgram", 5, 0, (struct sockaddr *)&a, sizeof(a)) == 5);
	struct sockaddr_un from;
	socklen_t fl = sizeof(from);
	EXPECT(recvfrom(d, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl) == 5 &&
	       !strcmp(from.sun_path, "/tmp/u/dg3"));
	/* connect for a default destination, then AF_UNSPEC to dissolve it */
	EXPECT(connect(e, (struct sockaddr *)&a, sizeof(a)) == 0);
	EXPECT(send(e, "c", 1, 0) == 1);
	EXPECT(recv(d, buf, sizeof(buf), 0) == 1);
	struct sockaddr un = { .sa_family = AF_UNSPEC };
	EXPECT(connect(e, &un, sizeof(un)) == 0);
	EXPECT_ERRNO(send(e, "c", 1, 0), ENOTCONN);
	close(d);
	close(e);
}

static void abstract_names(void)
{
	int l = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	memcpy(a.sun_path, "\0wisp-abstract", 14);
	socklen_t alen = offsetof(struct sockaddr_un, sun_path) + 14;
	EXPECT(bind(l, (struct sockaddr *)&a, alen) == 0);
	EXPECT(listen(l, 1) == 0);
	int l2 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	EXPECT_ERRNO(bind(l2, (struct sockaddr *)&a, alen), EADDRINUSE);
	close(l2);
	int c = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
	EXPECT(connect(c, (struct sockaddr *)&a, alen) == 0);
	/* the client may write before accept */
	EXPECT(send(c, "early", 5, 0) == 5);
	struct sockaddr_un b;
	socklen_t bl = sizeof(b);
	int s = accept(l, (struct sockaddr *)&b, &bl);
	EXPECT(s >= 0);
	EXPECT(bl == 2);                /* the client is unbound */
	bl = sizeof(b);
	EXPECT(getsockname(s, (struct sockaddr *)&b, &bl) == 0 && bl == alen &&
	       !memcmp(b.sun_path, "\0wisp-abstract", 14));
	char buf[16];
	EXPECT(recv(s, buf, sizeof(buf), 0) == 5);
	/* backlog: 1 + 1 pending, then EAGAIN for a nonblocking connect */
	int c2 = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
	int c3 = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
	int c4 = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK, 0);
	EXPECT(connect(c2, (struct sockaddr *)&a, alen) == 0);
	EXPECT(connect(c3, (struct sockaddr *)&a, alen) == 0);
	EXPECT_ERRNO(connect(c4, (struct sockaddr *)&a, alen), EAGAIN);
	/* closing the listener resets the pending ones */
	close(l);
	EXPECT_ERRNO(recv(c2, buf, sizeof(buf), 0), ECONNRESET);
	memcpy(a.sun_path, "\0nobody", 7);
	EXPECT_ERRNO(connect(c4, (struct sockaddr *)&a, offsetof(struct sockaddr_un, sun_path) + 7),
		     ECONNREFUSED);
	/* no fd left: accept fails with EMFILE and the connection stays queued */
	int c5 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	int l5 = socket(AF_UNIX, SOCK_SEQPACKET, 0);
	struct sockaddr_un a5 = { .sun_family = AF_UNIX };
	memcpy(a5.sun_path, "\0emfile", 7);
	socklen_t a5l = offsetof(struct sockaddr_un, sun_path) + 7;
	EXPECT(bind(l5, (struct sockaddr *)&a5, a5l) == 0 && listen(l5, 4) == 0);
	EXPECT(connect(c5, (struct sockaddr *)&a5, a5l) == 0);
	struct rlimit old, lim;
	getrlimit(RLIMIT_NOFILE, &old);
	lim = old;
	lim.rlim_cur = (rlim_t)l5 + 1;      /* every fd up to l5 in use? fill the holes */
	int holes[64], nh = 0;
	for (int fd = 0; fd <= l5 && nh < 64; fd++)
		if (fcntl(fd, F_GETFD) < 0)
			holes[nh++] = dup(l5);
	EXPECT(setrlimit(RLIMIT_NOFILE, &lim) == 0);
	EXPECT_ERRNO(accept(l5, NULL, NULL), EMFILE);
	EXPECT(setrlimit(RLIMIT_NOFILE, &old) == 0);
	int s5 = accept(l5, NULL, NULL);
	EXPECT(s5 >= 0);
	EXPECT(send(c5, "q", 1, 0) == 1 && recv(s5, buf, 1, 0) == 1);
	for (int i = 0; i < nh; i++)
		close(holes[i]);
	close(s5);
	close(c5);
	close(l5);

	/* autobind: a 5-hex-digit abstract name */
	int d = socket(AF_UNIX, SOCK_DGRAM, 0);
	struct sockaddr_un z = { .sun_family = AF_UNIX };
	EXPECT(bind(d, (struct sockaddr *)&z, 2) == 0);
	bl = sizeof(b);
	EXPECT(getsockname(d, (struct sockaddr *)&b, &bl) == 0 && bl == 8 && b.sun_path[0] == 0);
	close(d);
	close(c);
	close(c2);
	close(c3);
	close(c4);
	close(s);
}

static void fd_passing(void)
{
	int sv[2];
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	int p[2];
	EXPECT(pipe(p) == 0);
	char cbuf[CMSG_SPACE(2 * sizeof(int))];
	memset(cbuf, 0, sizeof(cbuf));
	struct iovec iov = { "F", 1 };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf,
			     .msg_controllen = CMSG_SPACE(2 * sizeof(int)) };
	struct cmsghdr *cm = CMSG_FIRSTHDR(&mh);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(cm), p, 2 * sizeof(int));
	EXPECT(sendmsg(sv[0], &mh, 0) == 1);
	close(p[0]);
	char rbuf[CMSG_SPACE(2 * sizeof(int))];
	char c;
	struct iovec riov = { &c, 1 };
	struct msghdr rh = { .msg_iov = &riov, .msg_iovlen = 1, .msg_control = rbuf,
			     .msg_controllen = sizeof(rbuf) };
	EXPECT(recvmsg(sv[1], &rh, MSG_CMSG_CLOEXEC) == 1 && c == 'F');
	struct cmsghdr *rc = CMSG_FIRSTHDR(&rh);
	EXPECT(rc && rc->cmsg_level == SOL_SOCKET && rc->cmsg_type == SCM_RIGHTS &&
	       rc->cmsg_len == CMSG_LEN(2 * sizeof(int)));
	if (rc) {
		int fds[2];
		memcpy(fds, CMSG_DATA(rc), sizeof(fds));
		EXPECT(fcntl(fds[0], F_GETFD) == FD_CLOEXEC);
		EXPECT(write(fds[1], "via", 3) == 3);
		char b[4];
		EXPECT(read(fds[0], b, 3) == 3 && !memcmp(b, "via", 3));
		close(fds[0]);
		close(fds[1]);
	}
	/* a bad fd, a bad level/type */
	memcpy(CMSG_DATA(cm), (int[]){ 999, 998 }, 2 * sizeof(int));
	EXPECT_ERRNO(sendmsg(sv[0], &mh, 0), EBADF);
	cm->cmsg_type = 77;
	EXPECT_ERRNO(sendmsg(sv[0], &mh, 0), EINVAL);
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = 1000;
	EXPECT_ERRNO(sendmsg(sv[0], &mh, 0), EINVAL);
	/* no room for the fds: MSG_CTRUNC */
	cm->cmsg_len = CMSG_LEN(2 * sizeof(int));
	memcpy(CMSG_DATA(cm), p, 2 * sizeof(int));
	p[0] = p[1];
	memcpy(CMSG_DATA(cm), p, 2 * sizeof(int));
	EXPECT(sendmsg(sv[0], &mh, 0) == 1);
	rh.msg_control = NULL;
	rh.msg_controllen = 0;
	EXPECT(recvmsg(sv[1], &rh, 0) == 1 && (rh.msg_flags & MSG_CTRUNC));
	close(p[1]);
	/* SO_PASSCRED: credentials arrive */
	int on = 1;
	EXPECT(setsockopt(sv[1], SOL_SOCKET, SO_PASSCRED, &on, sizeof(on)) == 0);
	EXPECT(send(sv[0], "c", 1, 0) == 1);
	rh.msg_control = rbuf;
	rh.msg_controllen = sizeof(rbuf) > CMSG_SPACE(sizeof(struct ucred)) ? sizeof(rbuf)
		: CMSG_SPACE(sizeof(struct ucred));
	char cred[CMSG_SPACE(sizeof(struct ucred))];
	rh.msg_control = cred;
	rh.msg_controllen = sizeof(cred);
	EXPECT(recvmsg(sv[1], &rh, 0) == 1);
	rc = CMSG_FIRSTHDR(&rh);
	EXPECT(rc && rc->cmsg_type == SCM_CREDENTIALS);
	close(sv[0]);
	close(sv[1]);
}

static void *slow_reader(void *arg)
{
	int fd = *(int *)arg;
	static char buf[65536];
	long total = 0;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n; i++)
			if (buf[i] != (char)((total + i) * 7)) {
				total = -1000000000;
				break;
			}
		total += n;
	}
	*(long *)arg = total;
	return NULL;
}

static void bulk_and_sendfile(void)
{
	int sv[2];
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	long arg = sv[1];
	pthread_t th;
	pthread_create(&th, NULL, slow_reader, &arg);
	/* 4 MiB through a 208 KiB buffer: the writer blocks and is woken */
	static char data[1 << 20];
	long total = 0;
	for (int r = 0; r < 4; r++) {
		for (size_t i = 0; i < sizeof(data); i++)
			data[i] = (char)((total + (long)i) * 7);
		EXPECT(write(sv[0], data, sizeof(data)) == (ssize_t)sizeof(data));
		total += sizeof(data);
	}
	/* sendfile from a file into the socket continues the pattern */
	int f = open("/tmp/sf", O_CREAT | O_RDWR | O_TRUNC, 0644);
	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (char)((total + (long)i) * 7);
	EXPECT(write(f, data, sizeof(data)) == (ssize_t)sizeof(data));
	off_t off = 0;
	double t0 = now();
	EXPECT(sendfile(sv[0], f, &off, sizeof(data)) == (ssize_t)sizeof(data));
	EXPECT(off == (off_t)sizeof(data));
	double dt = now() - t0;
	EXPECT(dt < 5.0);
	total += sizeof(data);
	close(f);
	close(sv[0]);
	pthread_join(th, NULL);
	EXPECT(arg == total);
	close(sv[1]);
	/* a nonblocking sendfile into a full socket moves only what fitted
	 * and leaves the file offset there */
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv) == 0);
	f = open("/tmp/sf", O_RDONLY);
	ssize_t n = sendfile(sv[0], f, NULL, sizeof(data));
	EXPECT(n > 0 && n < (ssize_t)sizeof(data));
	EXPECT(lseek(f, 0, SEEK_CUR) == n);
	close(f);
	close(sv[0]);
	close(sv[1]);
}

static void readiness_and_timeouts(void)
{
	int sv[2];
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN | EPOLLET, .data.u32 = 7 };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, sv[1], &ev) == 0);
	struct epoll_event out;
	EXPECT(epoll_wait(ep, &out, 1, 0) == 0);
	EXPECT(send(sv[0], "x", 1, 0) == 1);
	EXPECT(epoll_wait(ep, &out, 1, 1000) == 1 && out.data.u32 == 7 && (out.events & EPOLLIN));
	EXPECT(epoll_wait(ep, &out, 1, 0) == 0);       /* edge-triggered: once */
	struct pollfd p = { sv[0], POLLOUT, 0 };
	EXPECT(poll(&p, 1, 0) == 1 && p.revents == POLLOUT);
	char c;
	EXPECT(recv(sv[1], &c, 1, 0) == 1);
	struct timeval tv = { 0, 200000 };
	EXPECT(setsockopt(sv[1], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) == 0);
	double t0 = now();
	EXPECT_ERRNO(recv(sv[1], &c, 1, 0), EAGAIN);
	double dt = now() - t0;
	EXPECT(dt >= 0.15 && dt < 2.0);
	/* a socket fd in select */
	fd_set rs;
	FD_ZERO(&rs);
	FD_SET(sv[1], &rs);
	struct timeval z = { 0, 0 };
	EXPECT(select(sv[1] + 1, &rs, NULL, NULL, &z) == 0);
	close(ep);
	close(sv[0]);
	close(sv[1]);
}

int main(void)
{
	signal(SIGPIPE, on_pipe);
	pair_stream();
	pair_dgram(SOCK_DGRAM);
	pair_dgram(SOCK_SEQPACKET);
	path_names();
	abstract_names();
	fd_passing();
	bulk_and_sendfile();
	readiness_and_timeouts();
	return guest_done("sock_unix");
}
