/* A program that exits with data still in TCP's send queue, the way
 * `nc host port < file` or a server's last response does: no SIOCOUTQ
 * loop, no SO_LINGER, no shutdown, no close. The exit must still deliver
 * it (tcp_sock.c's exit drain; tests/system/test_tcp.py).
 *   tcp_exit A.B.C.D PORT N [nonblock|reader]
 * connects, writes N bytes (byte i = (i * 131 + i / 65536) & 255), prints
 * how many it wrote, exits with status 7. "nonblock": writes only what
 * fits without blocking (the peer does not read), then exits. "reader": a
 * second thread sits in recv() on the socket all along, so the exit's
 * close cannot release it (no FIN): the data must still arrive, and the
 * exit must not wait for a FIN that never comes. */
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

static void *reader(void *arg)
{
	char b;
	recv(*(int *)arg, &b, 1, 0);   /* the host never sends */
	return NULL;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: tcp_exit A.B.C.D PORT N [nonblock]\n");
		return 2;
	}
	size_t n = strtoull(argv[3], NULL, 0);
	int nonblock = argc > 4 && !strcmp(argv[4], "nonblock");
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(argv[2])) };
	inet_pton(AF_INET, argv[1], &a.sin_addr);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	if (s < 0 || connect(s, (struct sockaddr *)&a, sizeof(a)) < 0) {
		perror("connect");
		return 1;
	}
	if (nonblock)
		fcntl(s, F_SETFL, O_NONBLOCK);
	pthread_t t;
	if (argc > 4 && !strcmp(argv[4], "reader"))
		pthread_create(&t, NULL, reader, &s);
	static uint8_t buf[65536];
	size_t off = 0;
	while (off < n) {
		size_t k = n - off < sizeof(buf) ? n - off : sizeof(buf);
		for (size_t i = 0; i < k; i++)
			buf[i] = (uint8_t)(((off + i) * 131 + (off + i) / 65536) & 255);
		size_t put = 0;
		while (put < k) {
			ssize_t r = write(s, buf + put, k - put);
			if (r < 0 && nonblock) {
				/* the peer stopped reading: let the slow start finish
				 * filling its window, then stop */
				usleep(200000);
				r = write(s, buf + put, k - put);
				if (r < 0)
					goto done;
			}
			if (r <= 0) {
				perror("write");
				return 1;
			}
			put += (size_t)r;
			off += (size_t)r;
		}
	}
done:
	printf("tcp_exit: wrote %zu\n", off);
	fflush(stdout);
	return 7;   /* the exit status must survive the drain */
}
