/*
 * LD_PRELOAD shim for QEMU in the network benchmark: listen() with a backlog
 * of at least 128.
 *
 * Why: libslirp (QEMU user networking) listens on each hostfwd port with a
 * backlog of 1, so the host kernel queues at most two connections that slirp
 * has not accepted yet. A client that opens many connections at once
 * (redis-benchmark -c 16, wrk -c 64) overflows that queue: the host drops the
 * handshake's last ACK, the client believes it is connected and retransmits
 * its first request at 0.2, 0.4, 0.8, ... s until slirp has room. Those
 * connections join seconds late (redis-benchmark waits for every client,
 * so its requests/s collapse 10-50x, at random, in either guest). This is
 * the back-end's artefact, not the guest's; raising the backlog removes it
 * for both guests alike. See docs/bench.md, "The network benchmark".
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <errno.h>
#include <sys/socket.h>

#define MIN_BACKLOG 128

int listen(int fd, int backlog)
{
	static int (*real_listen)(int, int);

	if (!real_listen) {
		real_listen = (int (*)(int, int))dlsym(RTLD_NEXT, "listen");
		if (!real_listen) {
			errno = ENOSYS;
			return -1;
		}
	}
	if (backlog >= 0 && backlog < MIN_BACKLOG)
		backlog = MIN_BACKLOG;
	return real_listen(fd, backlog);
}
