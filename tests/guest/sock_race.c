/* Threads racing on shared AF_UNIX, UDP and netlink sockets: blocking sends,
 * receives, accepts and connects (bounded by 20 ms SO_RCVTIMEO/
 * SO_SNDTIMEO) against closes, shutdowns and re-creation of the same
 * slots, with fds in flight. The kernel must neither crash, hang, leak
 * into the heap checker, nor wedge a thread. argv: seed, seconds. */
#include "check.h"
#include <pthread.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <arpa/inet.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#define SLOTS 8
static int slots[SLOTS];
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static volatile int stop;
static long ops;

static uint32_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return (uint32_t)*s;
}

static void timeouts(int fd)
{
	struct timeval tv = { 0, 20000 };
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
}

/* A referenced copy of a slot's fd (dup), so closing the slot races the
 * call without the number being reused under it. */
static int take(int i)
{
	pthread_mutex_lock(&lock);
	int fd = slots[i] >= 0 ? dup(slots[i]) : -1;
	pthread_mutex_unlock(&lock);
	return fd;
}

static void put_slot(int i, int fd)
{
	pthread_mutex_lock(&lock);
	int old = slots[i];
	slots[i] = fd;
	pthread_mutex_unlock(&lock);
	if (old >= 0)
		close(old);
}

static struct sockaddr_un names[3];
static socklen_t namelen[3];

static void *worker(void *arg)
{
	uint64_t rs = (uint64_t)(uintptr_t)arg * 0x9e3779b97f4a7c15ull + 1;
	static __thread char buf[70000];
	while (!stop) {
		int i = (int)(rnd(&rs) % SLOTS), fd;
		__atomic_add_fetch(&ops, 1, __ATOMIC_RELAXED);
		switch (rnd(&rs) % 15) {
		case 0: {
			int sv[2];
			int t = (int[]){ SOCK_STREAM, SOCK_DGRAM, SOCK_SEQPACKET }[rnd(&rs) % 3];
			if (socketpair(AF_UNIX, t, 0, sv) == 0) {
				timeouts(sv[0]);
				timeouts(sv[1]);
				put_slot(i, sv[0]);
				put_slot((i + 1) % SLOTS, sv[1]);
			}
			break;
		}
		case 1: {
			int n = (int)(rnd(&rs) % 3);
			int t = n == 2 ? SOCK_DGRAM : SOCK_STREAM;
			int l = socket(AF_UNIX, t, 0);
			timeouts(l);
			if (bind(l, (struct sockaddr *)&names[n], namelen[n]) == 0 && t == SOCK_STREAM)
				listen(l, 2);
			put_slot(i, l);
			break;
		}
		case 2: {
			int n = (int)(rnd(&rs) % 3);
			int c = socket(AF_UNIX, n == 2 ? SOCK_DGRAM : SOCK_STREAM, 0);
			timeouts(c);
			connect(c, (struct sockaddr *)&names[n], namelen[n]);
			put_slot(i, c);
			break;
		}
		case 3:
			if ((fd = take(i)) >= 0) {
				int a = accept(fd, NULL, NULL);
				if (a >= 0) {
					timeouts(a);
					put_slot((i + 3) % SLOTS, a);
				}
				close(fd);
			}
			break;
		case 4: case 5:
			if ((fd = take(i)) >= 0) {
				send(fd, buf, rnd(&rs) % sizeof(buf), MSG_NOSIGNAL);
				close(fd);
			}
			break;
		case 6: case 7:
			if ((fd = take(i)) >= 0) {
				recv(fd, buf, rnd(&rs) % sizeof(buf), rnd(&rs) & 1 ? MSG_PEEK : 0);
				close(fd);
			}
			break;
		case 8:
			if ((fd = take(i)) >= 0) {
				shutdown(fd, (int)(rnd(&rs) % 3));
				close(fd);
			}
			break;
		case 9:
			put_slot(i, -1);
			break;
		case 10:
			if ((fd = take(i)) >= 0) {
				/* pass a slot's fd (maybe itself) through it */
				int p = take((int)(rnd(&rs) % SLOTS));
				if (p >= 0) {
					char cb[CMSG_SPACE(sizeof(int))];
					memset(cb, 0, sizeof(cb));
					struct iovec iov = { "f", 1 };
					struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
							     .msg_control = cb, .msg_controllen = sizeof(cb) };
					struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
					c->cmsg_level = SOL_SOCKET;
					c->cmsg_type = SCM_RIGHTS;
					c->cmsg_len = CMSG_LEN(sizeof(int));
					memcpy(CMSG_DATA(c), &p, sizeof(int));
					sendmsg(fd, &mh, MSG_NOSIGNAL);
					close(p);
				}
				close(fd);
			}
			break;
		case 12: {          /* UDP on one of three loopback ports */
			int u = socket(AF_INET, SOCK_DGRAM, 0);
			timeouts(u);
			struct sockaddr_in a = { .sin_family = AF_INET,
						 .sin_port = htons(7200 + rnd(&rs) % 3),
						 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
			if (rnd(&rs) & 1)
				bind(u, (struct sockaddr *)&a, sizeof(a));
			else
				connect(u, (struct sockaddr *)&a, sizeof(a));
			put_slot(i, u);
			break;
		}
		case 13:
			if ((fd = take(i)) >= 0) {
				struct sockaddr_in a = { .sin_family = AF_INET,
							 .sin_port = htons(7200 + rnd(&rs) % 4),
							 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
				sendto(fd, buf, rnd(&rs) % 3000, MSG_NOSIGNAL, (struct sockaddr *)&a,
				       sizeof(a));
				close(fd);
			}
			break;
		case 14: {          /* netlink: a dump request, sometimes read */
			int n = socket(AF_NETLINK, SOCK_RAW, 0);
			timeouts(n);
			struct { unsigned len; unsigned short type, flags; unsigned seq, pid;
				 unsigned char fam, pad[15]; } req = { sizeof(req), 18, 0x301, 1, 0, 0, { 0 } };
			send(n, &req, sizeof(req), 0);
			if (rnd(&rs) & 1)
				recv(n, buf, 4096, 0);
			put_slot(i, n);
			break;
		}
		case 11:
			if ((fd = take(i)) >= 0) {
				char cb[CMSG_SPACE(4 * sizeof(int))];
				struct iovec iov = { buf, 100 };
				struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1,
						     .msg_control = cb, .msg_controllen = sizeof(cb) };
				if (recvmsg(fd, &mh, MSG_CMSG_CLOEXEC) >= 0)
					for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
						if (c->cmsg_type == SCM_RIGHTS)
							for (size_t k = 0; k < (c->cmsg_len - CMSG_LEN(0)) / sizeof(int); k++) {
								int g;
								memcpy(&g, CMSG_DATA(c) + k * sizeof(int), sizeof(int));
								close(g);
							}
				close(fd);
			}
			break;
		}
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long seed = argc > 1 ? atol(argv[1]) : 1;
	int secs = argc > 2 ? atoi(argv[2]) : 3;
	signal(SIGPIPE, SIG_IGN);
	for (int i = 0; i < SLOTS; i++)
		slots[i] = -1;
	for (int n = 0; n < 3; n++) {
		names[n].sun_family = AF_UNIX;
		snprintf(names[n].sun_path + 1, sizeof(names[n].sun_path) - 1, "race%d", n);
		namelen[n] = offsetof(struct sockaddr_un, sun_path) + 6;
	}
	pthread_t t[4];
	for (long i = 0; i < 4; i++)
		pthread_create(&t[i], NULL, worker, (void *)(seed * 16 + i));
	sleep(secs);
	stop = 1;
	for (int i = 0; i < 4; i++)
		pthread_join(t[i], NULL);
	for (int i = 0; i < SLOTS; i++)
		put_slot(i, -1);
	printf("%ld operations\n", ops);
	EXPECT(ops > 100);
	return guest_done("sock_race");
}
