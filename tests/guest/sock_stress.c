/* AF_UNIX under concurrency: several threads writing and reading one
 * stream pair (every byte accounted for), datagram senders to one bound
 * receiver, and a connect/accept storm — meant for -smp 2 and more. */
#include "check.h"
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define WRITERS 3
#define PER_WRITER (2 << 20)

static int sv[2];
static long sums[WRITERS];

static void *writer(void *arg)
{
	long id = (long)arg;
	static __thread unsigned char buf[7000];
	long left = PER_WRITER, sum = 0;
	while (left > 0) {
		size_t n = (size_t)(rand() % (int)sizeof(buf)) + 1;
		if ((long)n > left)
			n = (size_t)left;
		for (size_t i = 0; i < n; i++) {
			buf[i] = (unsigned char)(id * 50 + (i & 31));
			sum += buf[i];
		}
		ssize_t w = write(sv[0], buf, n);
		if (w != (ssize_t)n) {
			fprintf(stderr, "write %zd\n", w);
			break;
		}
		left -= (long)n;
	}
	sums[id] = sum;
	return NULL;
}

static long rsum, rbytes;
static pthread_mutex_t rm = PTHREAD_MUTEX_INITIALIZER;

static void *reader(void *arg)
{
	(void)arg;
	unsigned char buf[5000];
	for (;;) {
		ssize_t n = read(sv[1], buf, sizeof(buf));
		if (n <= 0)
			break;
		long s = 0;
		for (ssize_t i = 0; i < n; i++)
			s += buf[i];
		pthread_mutex_lock(&rm);
		rsum += s;
		rbytes += n;
		pthread_mutex_unlock(&rm);
	}
	return NULL;
}

static void stream_many(void)
{
	EXPECT(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	pthread_t w[WRITERS], r[2];
	for (int i = 0; i < 2; i++)
		pthread_create(&r[i], NULL, reader, NULL);
	for (long i = 0; i < WRITERS; i++)
		pthread_create(&w[i], NULL, writer, (void *)i);
	for (int i = 0; i < WRITERS; i++)
		pthread_join(w[i], NULL);
	shutdown(sv[0], SHUT_WR);
	for (int i = 0; i < 2; i++)
		pthread_join(r[i], NULL);
	long want = 0;
	for (int i = 0; i < WRITERS; i++)
		want += sums[i];
	EXPECT(rbytes == (long)WRITERS * PER_WRITER);
	EXPECT(rsum == want);
	close(sv[0]);
	close(sv[1]);
}

static struct sockaddr_un daddr;
static socklen_t dlen;

static void *dsender(void *arg)
{
	long id = (long)arg;
	int s = socket(AF_UNIX, SOCK_DGRAM, 0);
	for (int i = 0; i < 2000; i++) {
		long msg[2] = { id, i };
		if (sendto(s, msg, sizeof(msg), 0, (struct sockaddr *)&daddr, dlen) != sizeof(msg)) {
			fprintf(stderr, "sendto failed %d\n", errno);
			break;
		}
	}
	close(s);
	return NULL;
}

static void dgram_many(void)
{
	int r = socket(AF_UNIX, SOCK_DGRAM, 0);
	daddr.sun_family = AF_UNIX;
	memcpy(daddr.sun_path, "\0stress-dgram", 13);
	dlen = offsetof(struct sockaddr_un, sun_path) + 13;
	EXPECT(bind(r, (struct sockaddr *)&daddr, dlen) == 0);
	int small = 8192;
	setsockopt(r, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small));   /* senders block */
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, dsender, (void *)i);
	int next[4] = { 0 }, bad = 0;
	for (int n = 0; n < 4 * 2000; n++) {
		long msg[2];
		if (recv(r, msg, sizeof(msg), 0) != sizeof(msg) || msg[0] < 0 || msg[0] > 3) {
			bad++;
			break;
		}
		if (msg[1] != next[msg[0]])
			bad++;           /* per-sender order must hold */
		next[msg[0]] = (int)msg[1] + 1;
	}
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	EXPECT(bad == 0);
	close(r);
}

static struct sockaddr_un laddr;
static socklen_t llen;

static void *connector(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++) {
		int c = socket(AF_UNIX, SOCK_STREAM, 0);
		if (connect(c, (struct sockaddr *)&laddr, llen) == 0) {
			char b = 'x';
			write(c, &b, 1);
			read(c, &b, 1);
		} else {
			fprintf(stderr, "connect %d\n", errno);
		}
		close(c);
	}
	return NULL;
}

static void accept_storm(void)
{
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	laddr.sun_family = AF_UNIX;
	memcpy(laddr.sun_path, "\0stress-accept", 14);
	llen = offsetof(struct sockaddr_un, sun_path) + 14;
	EXPECT(bind(l, (struct sockaddr *)&laddr, llen) == 0);
	EXPECT(listen(l, 2) == 0);      /* a small backlog: connectors wait */
	pthread_t t[3];
	for (int i = 0; i < 3; i++)
		pthread_create(&t[i], NULL, connector, NULL);
	int served = 0;
	for (int n = 0; n < 600; n++) {
		int c = accept4(l, NULL, NULL, SOCK_CLOEXEC);
		if (c < 0)
			break;
		char b;
		if (read(c, &b, 1) == 1 && write(c, &b, 1) == 1)
			served++;
		close(c);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(t[i], NULL);
	EXPECT(served == 600);
	close(l);
}

int main(void)
{
	stream_many();
	dgram_many();
	accept_storm();
	return guest_done("sock_stress");
}
