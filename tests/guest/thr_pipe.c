/* A producer and a consumer thread through a pipe, the consumer waiting
 * in epoll_wait; an eventfd to say "done"; the bytes must arrive exactly. */
#include "check.h"
#include <pthread.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#define TOTAL (1 << 20)

static int pfd[2], efd;

static void *producer(void *arg)
{
	(void)arg;
	unsigned char buf[3000];
	uint32_t x = 1;
	size_t sent = 0;
	while (sent < TOTAL) {
		size_t n = sizeof(buf);
		if (n > TOTAL - sent)
			n = TOTAL - sent;
		for (size_t i = 0; i < n; i++) {
			x = x * 1103515245u + 12345u;
			buf[i] = (unsigned char)(x >> 16);
		}
		size_t off = 0;
		while (off < n) {
			ssize_t w = write(pfd[1], buf + off, n - off);
			if (w <= 0)
				return (void *)1;
			off += (size_t)w;
		}
		sent += n;
	}
	close(pfd[1]);
	uint64_t one = 1;
	if (write(efd, &one, sizeof(one)) != sizeof(one))
		return (void *)2;
	return NULL;
}

static void *consumer(void *arg)
{
	(void)arg;
	int ep = epoll_create1(0);
	struct epoll_event ev = { .events = EPOLLIN, .data.fd = pfd[0] };
	if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, pfd[0], &ev) < 0)
		return (void *)10;
	ev.data.fd = efd;
	if (epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev) < 0)
		return (void *)11;
	uint32_t x = 1;
	size_t got = 0;
	int eof = 0, done = 0;
	unsigned char buf[4096];
	while (!eof || !done) {
		struct epoll_event out[2];
		int n = epoll_wait(ep, out, 2, 10000);
		if (n <= 0)
			return (void *)12;
		for (int i = 0; i < n; i++) {
			if (out[i].data.fd == efd) {
				uint64_t v;
				if (read(efd, &v, sizeof(v)) != sizeof(v) || v != 1)
					return (void *)13;
				done = 1;
				struct epoll_event dummy;
				epoll_ctl(ep, EPOLL_CTL_DEL, efd, &dummy);
				continue;
			}
			ssize_t r = read(pfd[0], buf, sizeof(buf));
			if (r < 0)
				return (void *)14;
			if (r == 0) {
				eof = 1;
				epoll_ctl(ep, EPOLL_CTL_DEL, pfd[0], &ev);
				continue;
			}
			for (ssize_t j = 0; j < r; j++) {
				x = x * 1103515245u + 12345u;
				if (buf[j] != (unsigned char)(x >> 16))
					return (void *)15;
			}
			got += (size_t)r;
		}
	}
	close(ep);
	return got == TOTAL ? NULL : (void *)16;
}

int main(void)
{
	for (int round = 0; round < 3; round++) {
		EXPECT(pipe(pfd) == 0);
		efd = eventfd(0, 0);
		EXPECT(efd >= 0);
		pthread_t p, c;
		void *rp, *rc;
		pthread_create(&c, NULL, consumer, NULL);
		pthread_create(&p, NULL, producer, NULL);
		pthread_join(p, &rp);
		pthread_join(c, &rc);
		EXPECT(rp == NULL);
		EXPECT(rc == NULL);
		if (rc)
			fprintf(stderr, "consumer: %ld\n", (long)(intptr_t)rc);
		close(pfd[0]);
		close(efd);
	}
	return guest_done("thr_pipe");
}
