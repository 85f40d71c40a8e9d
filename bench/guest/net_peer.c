/* A network peer for the networking tests and benchmarks, run as the guest
 * program (wisp and the Linux guest alike; static musl):
 *
 *   net_peer echo PORT
 *       listen on PORT (all addresses) and echo every byte back, one
 *       connection after another: the server of the request/response
 *       latency benchmark.
 *   net_peer udpecho PORT
 *       send every UDP datagram arriving on PORT back to its sender.
 *   net_peer xfer listen PORT SENDFILE EXPECTFILE
 *   net_peer xfer connect A.B.C.D PORT SENDFILE EXPECTFILE
 *       full duplex on one TCP connection: send SENDFILE's bytes while
 *       receiving, then shut down the sending side and read to the peer's
 *       end of stream; what arrived must be EXPECTFILE's bytes exactly.
 *       Prints "net_peer: xfer ok sent=N received=N" and exits 0, or one
 *       "net_peer: error ..." line and exits 1. In listen mode a connection
 *       that ends before sending a byte (a readiness probe) is dropped and
 *       the next one accepted.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

static void die(const char *what)
{
	printf("net_peer: error %s: %s\n", what, strerror(errno));
	fflush(stdout);
	exit(1);
}

static unsigned char *load(const char *path, size_t *len)
{
	struct stat st;
	int fd = open(path, O_RDONLY);
	unsigned char *p;
	size_t got = 0;

	if (fd < 0 || fstat(fd, &st) < 0)
		die(path);
	p = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!p)
		die("malloc");
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, p + got, (size_t)st.st_size - got);
		if (n <= 0)
			die(path);
		got += (size_t)n;
	}
	close(fd);
	*len = got;
	return p;
}

static int listener(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);

	if (fd < 0)
		die("socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	if (listen(fd, 8) < 0)
		die("listen");
	printf("net_peer: listening on %d\n", port);
	fflush(stdout);
	return fd;
}

__attribute__((noreturn)) static int echo(int port)
{
	int lfd = listener(port);
	static char buf[65536];

	for (;;) {
		int one = 1, c = accept(lfd, NULL, NULL);
		if (c < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			die("accept");
		}
		setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		for (;;) {
			ssize_t n = read(c, buf, sizeof(buf)), off = 0;
			if (n <= 0)
				break;
			while (off < n) {
				ssize_t w = send(c, buf + off, (size_t)(n - off), MSG_NOSIGNAL);
				if (w <= 0)
					break;
				off += w;
			}
			if (off < n)
				break;
		}
		close(c);
	}
}

/* 1: done and verified; 0: the peer went away before sending anything
 * (listen mode tries the next connection); exits on any other failure. */
static int xfer(int fd, const unsigned char *out, size_t out_len, const unsigned char *want,
		size_t want_len, int probe_ok)
{
	static unsigned char buf[65536];
	size_t sent = 0, got = 0;
	int wr_open = 1, rd_open = 1;

	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	if (out_len == 0) {
		shutdown(fd, SHUT_WR);
		wr_open = 0;
	}
	while (rd_open || wr_open) {
		struct pollfd p = { .fd = fd, .events = (rd_open ? POLLIN : 0) |
							(wr_open ? POLLOUT : 0) };
		int r = poll(&p, 1, 60000);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			die("poll");
		if (r == 0) {
			printf("net_peer: error no progress for 60 s (sent %zu, received %zu)\n", sent,
			       got);
			exit(1);
		}
		if (rd_open && (p.revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(fd, buf, sizeof(buf));
			if (n < 0 && errno != EAGAIN && errno != EINTR) {
				if (probe_ok && got == 0)
					return 0;
				die("read");
			}
			if (n == 0) {
				if (probe_ok && got == 0 && want_len)
					return 0;
				rd_open = 0;
				if (got != want_len)
					break;
			}
			if (n > 0) {
				if (got + (size_t)n > want_len ||
				    memcmp(buf, want + got, (size_t)n) != 0) {
					size_t at = got;
					while (at < want_len && at < got + (size_t)n &&
					       buf[at - got] == want[at])
						at++;
					printf("net_peer: error data differ at byte %zu (of %zu)\n", at,
					       want_len);
					exit(1);
				}
				got += (size_t)n;
			}
		}
		if (wr_open && (p.revents & (POLLOUT | POLLERR | POLLHUP))) {
			size_t n = out_len - sent > 65536 ? 65536 : out_len - sent;
			ssize_t w = send(fd, out + sent, n, MSG_NOSIGNAL);
			if (w < 0 && errno != EAGAIN && errno != EINTR) {
				if (probe_ok && got == 0)
					return 0;
				die("send");
			}
			if (w > 0)
				sent += (size_t)w;
			if (sent == out_len) {
				shutdown(fd, SHUT_WR);
				wr_open = 0;
			}
		}
	}
	if (got != want_len) {
		printf("net_peer: error received %zu bytes, expected %zu\n", got, want_len);
		exit(1);
	}
	if (wr_open) {
		printf("net_peer: error the peer ended before taking all %zu bytes (sent %zu)\n",
		       out_len, sent);
		exit(1);
	}
	printf("net_peer: xfer ok sent=%zu received=%zu\n", sent, got);
	fflush(stdout);
	return 1;
}

__attribute__((noreturn)) static int udpecho(int port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((unsigned short)port) };
	static char buf[65536];
	int fd = socket(AF_INET, SOCK_DGRAM, 0);

	if (fd < 0)
		die("socket");
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		die("bind");
	printf("net_peer: udp on %d\n", port);
	fflush(stdout);
	for (;;) {
		struct sockaddr_in from;
		socklen_t fl = sizeof(from);
		ssize_t n = recvfrom(fd, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			die("recvfrom");
		}
		sendto(fd, buf, (size_t)n, 0, (struct sockaddr *)&from, fl);
	}
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && !strcmp(argv[1], "echo"))
		return echo(atoi(argv[2]));
	if (argc == 3 && !strcmp(argv[1], "udpecho"))
		return udpecho(atoi(argv[2]));
	if (argc == 6 && !strcmp(argv[1], "xfer") && !strcmp(argv[2], "listen")) {
		size_t ol, wl;
		unsigned char *o = load(argv[4], &ol), *w = load(argv[5], &wl);
		int lfd = listener(atoi(argv[3]));
		for (;;) {
			int c = accept(lfd, NULL, NULL);
			if (c < 0)
				die("accept");
			int r = xfer(c, o, ol, w, wl, 1);
			close(c);
			if (r)
				return 0;
		}
	}
	if (argc == 7 && !strcmp(argv[1], "xfer") && !strcmp(argv[2], "connect")) {
		size_t ol, wl;
		unsigned char *o = load(argv[5], &ol), *w = load(argv[6], &wl);
		struct sockaddr_in sa = { .sin_family = AF_INET,
					  .sin_port = htons((unsigned short)atoi(argv[4])) };
		if (inet_pton(AF_INET, argv[3], &sa.sin_addr) != 1) {
			printf("net_peer: error bad address %s\n", argv[3]);
			return 1;
		}
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		if (fd < 0)
			die("socket");
		/* The peer may still be coming up: retry refused connections. */
		for (int i = 0;; i++) {
			if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				break;
			if (i == 100 || (errno != ECONNREFUSED && errno != ETIMEDOUT))
				die("connect");
			close(fd);
			fd = socket(AF_INET, SOCK_STREAM, 0);
			usleep(100000);
		}
		return xfer(fd, o, ol, w, wl, 0) ? 0 : 1;
	}
	fprintf(stderr, "usage: net_peer echo PORT | udpecho PORT | xfer listen PORT SEND EXPECT | "
			"xfer connect ADDR PORT SEND EXPECT\n");
	return 2;
}
