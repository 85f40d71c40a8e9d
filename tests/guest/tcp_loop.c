/* TCP over loopback inside the guest: connect/accept and names, a 16 MiB
 * transfer each way with checksums (throughput printed), half-close,
 * nonblocking connect with epoll and SO_ERROR, refused connects, many
 * connections at once, RST on close with unread data, SO_LINGER 0, poll
 * states like Linux, options (TCP_NODELAY, TCP_INFO, TCP_MAXSEG, keep-alive,
 * FIONREAD/SIOCOUTQ), bind conflicts and SO_REUSEADDR, EPIPE. */
#include "check.h"
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#ifndef SIOCINQ
#define SIOCINQ FIONREAD
#endif
#ifndef SIOCOUTQ
#define SIOCOUTQ TIOCOUTQ
#endif

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static struct sockaddr_in lo_addr(uint16_t port)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port) };
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

/* A listener on 127.0.0.1, port chosen by the kernel. */
static int listener(uint16_t *port, int backlog)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT(s >= 0);
	int one = 1;
	EXPECT(setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) == 0);
	struct sockaddr_in a = lo_addr(0);
	EXPECT(bind(s, (void *)&a, sizeof(a)) == 0);
	EXPECT(listen(s, backlog) == 0);
	socklen_t l = sizeof(a);
	EXPECT(getsockname(s, (void *)&a, &l) == 0);
	*port = ntohs(a.sin_port);
	EXPECT(*port >= 32768 && *port <= 60999);
	return s;
}

static int connect_to(uint16_t port)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo_addr(port);
	EXPECT(connect(s, (void *)&a, sizeof(a)) == 0);
	return s;
}

static int readn(int fd, void *buf, size_t n)
{
	size_t got = 0;
	while (got < n) {
		ssize_t r = read(fd, (char *)buf + got, n - got);
		if (r <= 0)
			return r < 0 ? -1 : (int)got;
		got += (size_t)r;
	}
	return (int)got;
}

static int writen(int fd, const void *buf, size_t n)
{
	size_t put = 0;
	while (put < n) {
		ssize_t r = write(fd, (const char *)buf + put, n - put);
		if (r <= 0)
			return -1;
		put += (size_t)r;
	}
	return (int)put;
}

static uint64_t fnv(uint64_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 0x100000001b3ull;
	return h;
}

/* ---- bulk transfer ---- */

#define BULK (16u << 20)
struct bulk { int fd; uint64_t sum; size_t n; };

static void *bulk_send(void *arg)
{
	struct bulk *b = arg;
	static __thread uint8_t buf[65536];
	uint64_t h = 0xcbf29ce484222325ull;
	uint32_t x = 12345;
	for (size_t off = 0; off < b->n; off += sizeof(buf)) {
		for (size_t i = 0; i < sizeof(buf); i++) {
			x = x * 1103515245 + 12345;
			buf[i] = (uint8_t)(x >> 16);
		}
		h = fnv(h, buf, sizeof(buf));
		if (writen(b->fd, buf, sizeof(buf)) < 0)
			break;
	}
	b->sum = h;
	shutdown(b->fd, SHUT_WR);
	return NULL;
}

static void *bulk_recv(void *arg)
{
	struct bulk *b = arg;
	static __thread uint8_t buf[100000];
	uint64_t h = 0xcbf29ce484222325ull;
	size_t total = 0;
	for (;;) {
		ssize_t r = read(b->fd, buf, sizeof(buf));
		if (r <= 0)
			break;
		h = fnv(h, buf, (size_t)r);
		total += (size_t)r;
	}
	b->sum = h;
	b->n = total;
	return NULL;
}

static void test_bulk(void)
{
	uint16_t port;
	int l = listener(&port, 8);
	int c = connect_to(port);
	int s = accept(l, NULL, NULL);
	EXPECT(s >= 0);
	/* names agree */
	struct sockaddr_in a1, a2;
	socklen_t l1 = sizeof(a1), l2 = sizeof(a2);
	EXPECT(getsockname(c, (void *)&a1, &l1) == 0 && getpeername(s, (void *)&a2, &l2) == 0);
	EXPECT(a1.sin_port == a2.sin_port && a1.sin_addr.s_addr == a2.sin_addr.s_addr);
	EXPECT(getpeername(c, (void *)&a1, &l1) == 0 && ntohs(a1.sin_port) == port);
	/* client -> server, then server -> client, at the same time */
	struct bulk tx1 = { .fd = c, .n = BULK }, rx1 = { .fd = s };
	struct bulk tx2 = { .fd = s, .n = BULK }, rx2 = { .fd = c };
	pthread_t t[4];
	double t0 = now_s();
	pthread_create(&t[0], NULL, bulk_send, &tx1);
	pthread_create(&t[1], NULL, bulk_recv, &rx1);
	pthread_join(t[0], NULL);
	pthread_join(t[1], NULL);
	double t1 = now_s();
	EXPECT(rx1.n == BULK && rx1.sum == tx1.sum);
	printf("loopback one way: %.1f MB/s\n", BULK / (t1 - t0) / 1e6);
	pthread_create(&t[2], NULL, bulk_send, &tx2);
	pthread_create(&t[3], NULL, bulk_recv, &rx2);
	pthread_join(t[2], NULL);
	pthread_join(t[3], NULL);
	EXPECT(rx2.n == BULK && rx2.sum == tx2.sum);
	struct tcp_info ti;
	socklen_t il = sizeof(ti);
	EXPECT(getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &il) == 0);
	/* both directions shut and c saw the peer's FIN: TIME_WAIT, which
	 * Linux shows its owner as CLOSE (7), or CLOSING (11) */
	EXPECT(ti.tcpi_state == 7 || ti.tcpi_state == 11);
	close(c);
	close(s);
	close(l);
}

/* ---- half-close ---- */

static void test_half_close(void)
{
	uint16_t port;
	int l = listener(&port, 8);
	int c = connect_to(port);
	int s = accept(l, NULL, NULL);
	EXPECT(write(c, "question", 8) == 8);
	EXPECT(shutdown(c, SHUT_WR) == 0);
	char buf[64];
	EXPECT(readn(s, buf, 8) == 8 && memcmp(buf, "question", 8) == 0);
	EXPECT(read(s, buf, sizeof(buf)) == 0);   /* EOF */
	/* the server can still answer */
	EXPECT(write(s, "answer", 6) == 6);
	EXPECT(readn(c, buf, 6) == 6 && memcmp(buf, "answer", 6) == 0);
	/* a write after SHUT_WR: EPIPE (SIGPIPE ignored) */
	signal(SIGPIPE, SIG_IGN);
	EXPECT_ERRNO(write(c, "x", 1), EPIPE);
	struct pollfd p = { .fd = s, .events = POLLIN | POLLOUT | POLLRDHUP };
	EXPECT(poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLRDHUP | POLLOUT)) == (POLLIN | POLLRDHUP | POLLOUT));
	EXPECT(!(p.revents & POLLHUP));
	close(s);
	EXPECT(read(c, buf, sizeof(buf)) == 0);
	p.fd = c;
	EXPECT(poll(&p, 1, 1000) == 1 && (p.revents & POLLHUP));
	close(c);
	close(l);
}

/* ---- nonblocking connect, epoll, refusals ---- */

static void test_nonblocking(void)
{
	uint16_t port;
	int l = listener(&port, 8);
	int c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	struct sockaddr_in a = lo_addr(port);
	int r = connect(c, (void *)&a, sizeof(a));
	EXPECT(r == 0 || errno == EINPROGRESS);
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLOUT, .data.fd = c };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, c, &ev) == 0);
	struct epoll_event out;
	EXPECT(epoll_wait(ep, &out, 1, 2000) == 1 && (out.events & EPOLLOUT));
	int err = -1;
	socklen_t el = sizeof(err);
	EXPECT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == 0);
	/* the listener becomes readable */
	struct epoll_event lev = { .events = EPOLLIN, .data.fd = l };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, l, &lev) == 0);
	EXPECT(epoll_wait(ep, &out, 1, 2000) >= 1);
	int s = accept4(l, NULL, NULL, SOCK_NONBLOCK);
	EXPECT(s >= 0);
	EXPECT((fcntl(s, F_GETFL) & O_NONBLOCK) != 0);
	char b;
	EXPECT_ERRNO(read(s, &b, 1), EAGAIN);
	close(s);
	close(c);
	close(ep);
	close(l);
	/* refused: blocking and nonblocking */
	uint16_t dead;
	int l2 = listener(&dead, 1);
	close(l2);
	c = socket(AF_INET, SOCK_STREAM, 0);
	a = lo_addr(dead);
	EXPECT_ERRNO(connect(c, (void *)&a, sizeof(a)), ECONNREFUSED);
	close(c);
	c = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
	r = connect(c, (void *)&a, sizeof(a));
	EXPECT(r == -1 && (errno == EINPROGRESS || errno == ECONNREFUSED));
	if (errno == EINPROGRESS) {
		struct pollfd p = { .fd = c, .events = POLLOUT };
		EXPECT(poll(&p, 1, 2000) == 1 && (p.revents & (POLLERR | POLLHUP)));
		EXPECT(getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &el) == 0 && err == ECONNREFUSED);
	}
	close(c);
	/* the same socket may try again after a refusal, and then succeed */
	c = socket(AF_INET, SOCK_STREAM, 0);
	EXPECT_ERRNO(connect(c, (void *)&a, sizeof(a)), ECONNREFUSED);
	int l3 = socket(AF_INET, SOCK_STREAM, 0);
	int one = 1;
	setsockopt(l3, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	EXPECT(bind(l3, (void *)&a, sizeof(a)) == 0 && listen(l3, 1) == 0);
	EXPECT(connect(c, (void *)&a, sizeof(a)) == 0);
	EXPECT_ERRNO(connect(c, (void *)&a, sizeof(a)), EISCONN);
	close(c);
	close(l3);
}

/* The nonblocking listener case of accept (the test above used a blocking one). */
static void test_accept_nonblock(void)
{
	uint16_t port;
	int l = listener(&port, 8);
	fcntl(l, F_SETFL, O_NONBLOCK);
	EXPECT_ERRNO(accept(l, NULL, NULL), EAGAIN);
	struct pollfd p = { .fd = l, .events = POLLIN | POLLOUT };
	EXPECT(poll(&p, 1, 0) == 0);   /* a listener: nothing until a connection */
	close(l);
	/* a fresh socket polls POLLOUT|POLLHUP like Linux */
	int s = socket(AF_INET, SOCK_STREAM, 0);
	p.fd = s;
	EXPECT(poll(&p, 1, 0) == 1 && p.revents == (POLLOUT | POLLHUP));
	char b;
	EXPECT_ERRNO(read(s, &b, 1), ENOTCONN);
	close(s);
}

/* ---- many connections ---- */

#define MANY 100
static void *many_server(void *arg)
{
	int l = *(int *)arg;
	for (int i = 0; i < MANY; i++) {
		int s = accept(l, NULL, NULL);
		if (s < 0)
			break;
		char buf[32];
		int n = (int)read(s, buf, sizeof(buf));
		if (n > 0)
			writen(s, buf, (size_t)n);
		close(s);
	}
	return NULL;
}

static void test_many(void)
{
	uint16_t port;
	int l = listener(&port, 128);
	pthread_t t;
	pthread_create(&t, NULL, many_server, &l);
	int fds[MANY];
	for (int i = 0; i < MANY; i++)
		fds[i] = connect_to(port);
	int ok = 0;
	for (int i = 0; i < MANY; i++) {
		char msg[16], buf[16];
		int n = snprintf(msg, sizeof(msg), "conn %d", i);
		writen(fds[i], msg, (size_t)n);
		if (readn(fds[i], buf, (size_t)n) == n && memcmp(buf, msg, (size_t)n) == 0)
			ok++;
		EXPECT(read(fds[i], buf, 1) == 0);
		close(fds[i]);
	}
	EXPECT(ok == MANY);
	pthread_join(t, NULL);
	close(l);
}

/* ---- resets ---- */

static void test_resets(void)
{
	signal(SIGPIPE, SIG_IGN);
	uint16_t port;
	int l = listener(&port, 8);
	/* unread data at close: the peer sees a reset */
	int c = connect_to(port);
	int s = accept(l, NULL, NULL);
	EXPECT(write(c, "unread", 6) == 6);
	usleep(20000);
	close(s);
	char buf[16];
	struct pollfd p = { .fd = c, .events = POLLIN };
	EXPECT(poll(&p, 1, 2000) == 1);
	EXPECT_ERRNO(read(c, buf, sizeof(buf)), ECONNRESET);
	EXPECT(read(c, buf, sizeof(buf)) == 0);   /* then EOF, like Linux */
	EXPECT_ERRNO(send(c, "x", 1, MSG_NOSIGNAL), EPIPE);
	close(c);
	/* SO_LINGER 0: close sends a reset */
	c = connect_to(port);
	s = accept(l, NULL, NULL);
	struct linger lg = { .l_onoff = 1, .l_linger = 0 };
	EXPECT(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	close(c);
	p.fd = s;
	EXPECT(poll(&p, 1, 2000) == 1 && (p.revents & (POLLIN | POLLERR | POLLHUP)));
	EXPECT_ERRNO(read(s, buf, sizeof(buf)), ECONNRESET);
	close(s);
	close(l);
}

/* SO_LINGER with a timeout: close returns once the peer has everything */
static void test_linger(void)
{
	uint16_t port;
	int l = listener(&port, 8);
	int c = connect_to(port);
	int s = accept(l, NULL, NULL);
	static char buf[100000];
	memset(buf, 'L', sizeof(buf));
	EXPECT(writen(c, buf, sizeof(buf)) == (int)sizeof(buf));
	struct linger lg = { .l_onoff = 1, .l_linger = 5 };
	EXPECT(setsockopt(c, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) == 0);
	EXPECT(close(c) == 0);
	/* wisp returns once the FIN is acknowledged, so everything is queued
	 * at s; Linux was seen returning with 81% there: only "some" is checked */
	int n = -1;
	EXPECT(ioctl(s, FIONREAD, &n) == 0 && n > 0);
	EXPECT(readn(s, buf, sizeof(buf)) == (int)sizeof(buf));
	EXPECT(read(s, buf, 1) == 0);
	close(s);
	close(l);
}

/* ---- options, ioctls, bind rules ---- */

static void test_options(void)
{
	uint16_t port;
	int l = listener(&port, 8);
	int c = connect_to(port);
	int s = accept(l, NULL, NULL);
	int v = 1;
	socklen_t vl = sizeof(v);
	EXPECT(setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, sizeof(v)) == 0);
	v = 0;
	EXPECT(getsockopt(c, IPPROTO_TCP, TCP_NODELAY, &v, &vl) == 0 && v == 1);
	EXPECT(getsockopt(c, IPPROTO_TCP, TCP_MAXSEG, &v, &vl) == 0 && v > 500);
	v = 30;
	EXPECT(setsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(v)) == 0);
	EXPECT(getsockopt(c, IPPROTO_TCP, TCP_KEEPIDLE, &v, &vl) == 0 && v == 30);
	v = 0;
	EXPECT_ERRNO(setsockopt(c, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(v)), EINVAL);
	v = 1;
	EXPECT(setsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &v, sizeof(v)) == 0);
	EXPECT(setsockopt(c, IPPROTO_TCP, TCP_QUICKACK, &v, sizeof(v)) == 0);
	EXPECT(setsockopt(s, IPPROTO_TCP, TCP_DEFER_ACCEPT, &v, sizeof(v)) == 0);
	EXPECT(setsockopt(c, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)) == 0);
	v = 0;
	EXPECT(setsockopt(c, IPPROTO_TCP, TCP_CORK, &v, sizeof(v)) == 0);
	char cc[16] = { 0 };
	socklen_t cl = sizeof(cc);
	EXPECT(getsockopt(c, IPPROTO_TCP, TCP_CONGESTION, cc, &cl) == 0 && strcmp(cc, "cubic") == 0);
	EXPECT(setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "reno", 4) == 0);
	cl = sizeof(cc);
	EXPECT(getsockopt(c, IPPROTO_TCP, TCP_CONGESTION, cc, &cl) == 0 && strcmp(cc, "reno") == 0);
	EXPECT_ERRNO(setsockopt(c, IPPROTO_TCP, TCP_CONGESTION, "nosuchcc", 8), ENOENT);
	struct tcp_info ti;
	socklen_t il = sizeof(ti);
	EXPECT(getsockopt(c, IPPROTO_TCP, TCP_INFO, &ti, &il) == 0);
	EXPECT(ti.tcpi_state == 1 && ti.tcpi_snd_mss > 500 && ti.tcpi_rto >= 200000);
	EXPECT((ti.tcpi_options & (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE)) ==
	       (TCPI_OPT_TIMESTAMPS | TCPI_OPT_SACK | TCPI_OPT_WSCALE));
	EXPECT(write(c, "12345", 5) == 5);
	struct pollfd p = { .fd = s, .events = POLLIN };
	EXPECT(poll(&p, 1, 2000) == 1);
	int n = -1;
	EXPECT(ioctl(s, FIONREAD, &n) == 0 && n == 5);
	char buf[8];
	EXPECT(recv(s, buf, 8, MSG_PEEK) == 5);
	EXPECT(recv(s, buf, 2, 0) == 2 && memcmp(buf, "12", 2) == 0);
	EXPECT(ioctl(s, SIOCINQ, &n) == 0 && n == 3);
	EXPECT(ioctl(c, SIOCOUTQ, &n) == 0 && n >= 0);
	EXPECT(recv(s, buf, 8, MSG_DONTWAIT) == 3);
	EXPECT_ERRNO(recv(s, buf, 8, MSG_DONTWAIT), EAGAIN);
	/* MSG_WAITALL collects two writes */
	EXPECT(write(c, "ab", 2) == 2);
	usleep(10000);
	EXPECT(write(c, "cd", 2) == 2);
	EXPECT(recv(s, buf, 4, MSG_WAITALL) == 4 && memcmp(buf, "abcd", 4) == 0);
	/* /proc/net/tcp lists the listener (state 0A) and the connection (01) */
	FILE *pf = fopen("/proc/net/tcp", "r");
	EXPECT(pf != NULL);
	if (pf) {
		char line[256], want_l[32], want_e[32];
		snprintf(want_l, sizeof(want_l), "0100007F:%04X 00000000:0000 0A", port);
		snprintf(want_e, sizeof(want_e), ":%04X 01 ", port);
		bool saw_l = false, saw_e = false, header = false;
		while (fgets(line, sizeof(line), pf)) {
			if (strstr(line, "local_address"))
				header = true;
			if (strstr(line, want_l))
				saw_l = true;
			if (strstr(line, want_e))
				saw_e = true;
		}
		fclose(pf);
		EXPECT(header && saw_l && saw_e);
	}
	/* /proc/net/snmp counts the opens and segments */
	pf = fopen("/proc/net/snmp", "r");
	EXPECT(pf != NULL);
	if (pf) {
		char line[512];
		long v[16] = { 0 };
		int seen = 0;
		while (fgets(line, sizeof(line), pf))
			if (!strncmp(line, "Tcp: ", 5) && line[5] >= '0' && line[5] <= '9')
				seen = sscanf(line + 5, "%ld %ld %ld %ld %ld %ld %ld %ld %ld %ld %ld", &v[0],
					      &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7], &v[8],
					      &v[9], &v[10]);
		fclose(pf);
		/* ActiveOpens, PassiveOpens, InSegs, OutSegs */
		EXPECT(seen >= 11 && v[4] >= 1 && v[5] >= 1 && v[9] > 0 && v[10] > 0);
	}
	/* bind rules */
	int b = socket(AF_INET, SOCK_STREAM, 0);
	struct sockaddr_in a = lo_addr(port);
	EXPECT_ERRNO(bind(b, (void *)&a, sizeof(a)), EADDRINUSE);   /* a listener holds it */
	a.sin_addr.s_addr = htonl(0x0a0b0c0d);
	EXPECT_ERRNO(bind(b, (void *)&a, sizeof(a)), EADDRNOTAVAIL);
	close(b);
	close(c);
	close(s);
	close(l);
	/* after the listener closes, SO_REUSEADDR rebinds the port at once */
	b = socket(AF_INET, SOCK_STREAM, 0);
	v = 1;
	setsockopt(b, SOL_SOCKET, SO_REUSEADDR, &v, sizeof(v));
	a = lo_addr(port);
	EXPECT(bind(b, (void *)&a, sizeof(a)) == 0);
	EXPECT(listen(b, 4) == 0);
	close(b);
}

int main(int argc, char **argv)
{
	const char *only = argc > 1 ? argv[1] : NULL;
#define RUN(name) if (!only || !strcmp(only, #name)) test_##name()
	RUN(bulk);
	RUN(half_close);
	RUN(nonblocking);
	RUN(accept_nonblock);
	RUN(many);
	RUN(resets);
	RUN(options);
	RUN(linger);
	return guest_done("tcp_loop");
}
