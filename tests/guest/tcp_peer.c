/* TCP with a peer outside the guest (tests/system/test_tcp.py):
 *   tcp_peer connect A.B.C.D PORT N   connect, then the exchange
 *   tcp_peer serve PORT N [COUNT]      accept COUNT connections (default 1),
 *                                      each: "RDY\n", then the exchange
 * The exchange: both sides send N bytes at the same time (the guest's
 * pattern: byte i = (i % 65521) * 7 + 3; the host's: (i % 65519) * 13 + 5),
 * then shut down writing; each checks every byte it got. Prints
 * "sent N received N ok" and the throughput. */
#include "check.h"
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static size_t nbytes;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void *sender(void *arg)
{
	int fd = *(int *)arg;
	static uint8_t buf[65536];
	size_t off = 0;
	while (off < nbytes) {
		size_t n = nbytes - off < sizeof(buf) ? nbytes - off : sizeof(buf);
		for (size_t i = 0; i < n; i++)
			buf[i] = (uint8_t)(((off + i) % 65521) * 7 + 3);
		size_t put = 0;
		while (put < n) {
			ssize_t r = write(fd, buf + put, n - put);
			if (r <= 0) {
				perror("write");
				return (void *)1;
			}
			put += (size_t)r;
		}
		off += n;
	}
	shutdown(fd, SHUT_WR);
	return NULL;
}

static int exchange(int fd)
{
	pthread_t t;
	double t0 = now_s();
	pthread_create(&t, NULL, sender, &fd);
	static uint8_t buf[100000];
	size_t got = 0, bad = 0;
	for (;;) {
		ssize_t r = read(fd, buf, sizeof(buf));
		if (r < 0) {
			perror("read");
			break;
		}
		if (r == 0)
			break;
		for (ssize_t i = 0; i < r; i++)
			if (buf[i] != (uint8_t)(((got + (size_t)i) % 65519) * 13 + 5))
				bad++;
		got += (size_t)r;
	}
	void *ret;
	pthread_join(t, &ret);
	/* no wait for the peer's acknowledgements before exiting: the exit
	 * delivers what TCP still holds (tcp_sock.c's exit drain), as the
	 * host tests of this program check */
	double dt = now_s() - t0;
	printf("sent %zu received %zu %s\n", nbytes, got, got == nbytes && !bad && !ret ? "ok" : "BAD");
	printf("duplex: %.1f MB/s each way\n", nbytes / dt / 1e6);
	EXPECT(got == nbytes && bad == 0 && ret == NULL);
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc >= 5 && !strcmp(argv[1], "connect")) {
		nbytes = strtoull(argv[4], NULL, 0);
		int fd = socket(AF_INET, SOCK_STREAM, 0);
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[3])) };
		inet_pton(AF_INET, argv[2], &a.sin_addr);
		if (connect(fd, (void *)&a, sizeof(a)) < 0) {
			perror("connect");
			return 1;
		}
		exchange(fd);
	} else if (argc >= 4 && !strcmp(argv[1], "serve")) {
		nbytes = strtoull(argv[3], NULL, 0);
		int count = argc >= 5 ? atoi(argv[4]) : 1;
		int l = socket(AF_INET, SOCK_STREAM, 0);
		int one = 1;
		setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
		if (bind(l, (void *)&a, sizeof(a)) < 0 || listen(l, 16) < 0) {
			perror("bind/listen");
			return 1;
		}
		printf("listening\n");
		fflush(stdout);
		for (int i = 0; i < count; i++) {
			int fd = accept(l, NULL, NULL);
			if (fd < 0) {
				perror("accept");
				return 1;
			}
			if (write(fd, "RDY\n", 4) != 4)
				perror("write RDY");
			exchange(fd);
		}
		close(l);
	} else {
		fprintf(stderr, "usage: tcp_peer connect IP PORT N | serve PORT N [COUNT]\n");
		return 2;
	}
	return guest_done("tcp_peer");
}
