/* Pipes, eventfd and the readiness calls (poll, ppoll, select, pselect,
 * epoll level/edge/oneshot), with Linux's errno behaviour. Single-threaded:
 * waits are timeouts. */
#include "check.h"
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/select.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static long ms_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (t.tv_sec - t0->tv_sec) * 1000 + (t.tv_nsec - t0->tv_nsec) / 1000000;
}

static void pipes(void)
{
	int p[2];
	EXPECT(pipe2(p, O_NONBLOCK | O_CLOEXEC) == 0);
	EXPECT(fcntl(p[0], F_GETFD) == FD_CLOEXEC && (fcntl(p[1], F_GETFL) & O_NONBLOCK));
	EXPECT((fcntl(p[0], F_GETFL) & O_ACCMODE) == O_RDONLY);
	EXPECT((fcntl(p[1], F_GETFL) & O_ACCMODE) == O_WRONLY);
	EXPECT_ERRNO(syscall(SYS_pipe2, p, 0x1), EINVAL);
	char buf[128];
	EXPECT_ERRNO(read(p[0], buf, sizeof(buf)), EAGAIN);
	EXPECT_ERRNO(write(p[0], "x", 1), EBADF);
	EXPECT_ERRNO(lseek(p[0], 0, SEEK_SET), ESPIPE);
	EXPECT_ERRNO(pread(p[0], buf, 1, 0), ESPIPE);
	struct stat st, st2;
	EXPECT(fstat(p[0], &st) == 0 && S_ISFIFO(st.st_mode));
	EXPECT(fstat(p[1], &st2) == 0 && st.st_ino == st2.st_ino);
	EXPECT(write(p[1], "hello", 5) == 5);
	int n = -1;
	EXPECT(ioctl(p[0], FIONREAD, &n) == 0 && n == 5);
	EXPECT(read(p[0], buf, 3) == 3 && !memcmp(buf, "hel", 3));
	EXPECT(read(p[0], buf, sizeof(buf)) == 2 && !memcmp(buf, "lo", 2));
	EXPECT(fcntl(p[0], F_GETPIPE_SZ) == 65536);
	EXPECT(fcntl(p[1], F_SETPIPE_SZ, 10000) == 16384 && fcntl(p[0], F_GETPIPE_SZ) == 16384);
	/* Fill it: a write that does not fit fails with EAGAIN, PIPE_BUF
	 * writes are all or nothing. */
	static char big[20000];
	EXPECT(write(p[1], big, sizeof(big)) == 16384);
	EXPECT_ERRNO(write(p[1], "x", 1), EAGAIN);
	EXPECT(read(p[0], big, 100) == 100);
	EXPECT_ERRNO(write(p[1], big, 200), EAGAIN);    /* 200 <= PIPE_BUF, 100 free */
	EXPECT(read(p[0], big, sizeof(big)) == 16284);
	/* The write end closed: end of file, then EPIPE the other way. */
	EXPECT(close(p[1]) == 0);
	EXPECT(read(p[0], buf, sizeof(buf)) == 0);
	EXPECT(pipe(p) == 0);
	signal(SIGPIPE, SIG_IGN);
	EXPECT(close(p[0]) == 0);
	EXPECT_ERRNO(write(p[1], "x", 1), EPIPE);
	close(p[1]);
	/* /proc/self/fd names pipes "pipe:[ino]". */
	EXPECT(pipe(p) == 0);
	char path[64], link[64] = { 0 };
	snprintf(path, sizeof(path), "/proc/self/fd/%d", p[0]);
	EXPECT(readlink(path, link, sizeof(link)) > 0 && !strncmp(link, "pipe:[", 6));
	close(p[0]);
	close(p[1]);
	/* A named FIFO, opened both ways without blocking. */
	EXPECT(mkfifo("/tmp/fifo", 0600) == 0);
	EXPECT_ERRNO(open("/tmp/fifo", O_WRONLY | O_NONBLOCK), ENXIO);
	int r = open("/tmp/fifo", O_RDONLY | O_NONBLOCK);
	int w = open("/tmp/fifo", O_WRONLY | O_NONBLOCK);
	EXPECT(r >= 0 && w >= 0);
	EXPECT(write(w, "fifo", 4) == 4 && read(r, buf, sizeof(buf)) == 4 && !memcmp(buf, "fifo", 4));
	close(r);
	close(w);
}

static void eventfds(void)
{
	int e = eventfd(3, EFD_NONBLOCK);
	uint64_t v = 0;
	EXPECT(read(e, &v, 8) == 8 && v == 3);
	EXPECT_ERRNO(read(e, &v, 8), EAGAIN);
	EXPECT_ERRNO(read(e, &v, 4), EINVAL);
	v = 5;
	EXPECT(write(e, &v, 8) == 8 && write(e, &v, 8) == 8);
	EXPECT(read(e, &v, 8) == 8 && v == 10);
	v = UINT64_MAX;
	EXPECT_ERRNO(write(e, &v, 8), EINVAL);
	v = UINT64_MAX - 1;
	EXPECT(write(e, &v, 8) == 8);
	v = 1;
	EXPECT_ERRNO(write(e, &v, 8), EAGAIN);
	close(e);
	e = eventfd(2, EFD_SEMAPHORE | EFD_NONBLOCK);
	EXPECT(read(e, &v, 8) == 8 && v == 1 && read(e, &v, 8) == 8 && v == 1);
	EXPECT_ERRNO(read(e, &v, 8), EAGAIN);
	close(e);
	EXPECT_ERRNO(eventfd(0, 0x4000000), EINVAL);
}

static void polls(void)
{
	int p[2];
	EXPECT(pipe(p) == 0);
	struct pollfd pf[3] = { { p[0], POLLIN, 0 }, { p[1], POLLOUT, 0 }, { 999, POLLIN, 0 } };
	EXPECT(poll(pf, 3, 0) == 2);
	EXPECT(pf[0].revents == 0 && pf[1].revents == POLLOUT && pf[2].revents == POLLNVAL);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT(poll(pf, 1, 50) == 0);
	long el = ms_since(&t0);
	EXPECT(el >= 45 && el < 2000);
	EXPECT(write(p[1], "x", 1) == 1);
	EXPECT(poll(pf, 1, -1) == 1 && pf[0].revents == POLLIN);
	struct timespec ts = { 0, 20000000 };
	EXPECT(ppoll(pf, 1, &ts, NULL) == 1);
	/* select. */
	fd_set rd, wr;
	FD_ZERO(&rd);
	FD_ZERO(&wr);
	FD_SET(p[0], &rd);
	FD_SET(p[1], &wr);
	struct timeval tv = { 0, 0 };
	EXPECT(select(p[1] + 1, &rd, &wr, NULL, &tv) == 2 && FD_ISSET(p[0], &rd) && FD_ISSET(p[1], &wr));
	char c;
	EXPECT(read(p[0], &c, 1) == 1);
	FD_ZERO(&rd);
	FD_SET(p[0], &rd);
	tv = (struct timeval){ 0, 30000 };
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT(select(p[0] + 1, &rd, NULL, NULL, &tv) == 0 && !FD_ISSET(p[0], &rd));
	EXPECT(ms_since(&t0) >= 25);
	FD_ZERO(&rd);
	FD_SET(50, &rd);
	EXPECT_ERRNO(select(51, &rd, NULL, NULL, &tv), EBADF);
	EXPECT_ERRNO(select(-1, NULL, NULL, NULL, &tv), EINVAL);
	/* A hang-up shows without being asked for. */
	close(p[1]);
	pf[0] = (struct pollfd){ p[0], POLLIN, 0 };
	EXPECT(poll(pf, 1, 0) == 1 && (pf[0].revents & POLLHUP));
	close(p[0]);
}

static void epolls(void)
{
	int ep = epoll_create1(EPOLL_CLOEXEC);
	EXPECT(ep >= 0 && fcntl(ep, F_GETFD) == FD_CLOEXEC);
	EXPECT_ERRNO(epoll_create1(1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_epoll_create, 0), EINVAL);
	int p[2], e = eventfd(0, EFD_NONBLOCK);
	EXPECT(pipe2(p, O_NONBLOCK) == 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 11 }, out[4];
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev) == 0);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, p[0], &ev), EEXIST);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev), ENOENT);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, ep, &ev), EINVAL);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, 999, &ev), EBADF);
	int reg = open("/tmp/reg", O_CREAT | O_RDWR, 0600);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, reg, &ev), EPERM);
	close(reg);
	EXPECT_ERRNO(epoll_wait(ep, out, 0, 0), EINVAL);
	EXPECT_ERRNO(epoll_wait(p[0], out, 1, 0), EINVAL);
	EXPECT(epoll_wait(ep, out, 4, 0) == 0);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	EXPECT(epoll_wait(ep, out, 4, 40) == 0);
	EXPECT(ms_since(&t0) >= 35);
	/* Level-triggered: reported while data is there. */
	EXPECT(write(p[1], "ab", 2) == 2);
	EXPECT(epoll_wait(ep, out, 4, -1) == 1 && out[0].events == EPOLLIN && out[0].data.u64 == 11);
	EXPECT(epoll_wait(ep, out, 4, 0) == 1);
	char buf[8];
	EXPECT(read(p[0], buf, 8) == 2);
	EXPECT(epoll_wait(ep, out, 4, 0) == 0);
	/* Edge-triggered: once per new arrival. */
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLET, .data.u64 = 22 };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_MOD, p[0], &ev) == 0);
	EXPECT(write(p[1], "c", 1) == 1);
	EXPECT(epoll_wait(ep, out, 4, 0) == 1 && out[0].data.u64 == 22);
	EXPECT(epoll_wait(ep, out, 4, 0) == 0);
	EXPECT(write(p[1], "d", 1) == 1);
	EXPECT(epoll_wait(ep, out, 4, 0) == 1);
	EXPECT(read(p[0], buf, 8) == 2);
	/* One-shot: once, until re-armed with MOD. */
	ev = (struct epoll_event){ .events = EPOLLIN | EPOLLONESHOT, .data.u64 = 33 };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0);
	uint64_t one = 1;
	EXPECT(write(e, &one, 8) == 8);
	EXPECT(epoll_wait(ep, out, 4, 0) == 1 && out[0].data.u64 == 33);
	EXPECT(epoll_wait(ep, out, 4, 0) == 0);
	EXPECT(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev) == 0);
	EXPECT(epoll_wait(ep, out, 4, 0) == 1);
	/* EPOLLEXCLUSIVE only with ADD. */
	ev.events = EPOLLIN | EPOLLEXCLUSIVE;
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_MOD, e, &ev), EINVAL);
	/* Output readiness, and a hang-up once the reader goes. */
	ev = (struct epoll_event){ .events = EPOLLOUT, .data.u64 = 44 };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL) == 0);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_DEL, e, NULL), ENOENT);
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, p[1], &ev) == 0);
	EXPECT(epoll_wait(ep, out, 4, 0) == 1 && out[0].events == EPOLLOUT);
	close(p[0]);
	EXPECT(epoll_wait(ep, out, 4, 0) == 1 && (out[0].events & EPOLLERR));
	/* A closed fd leaves the set. */
	close(p[1]);
	EXPECT(epoll_wait(ep, out, 4, 0) == 0);
	/* An epoll inside an epoll. */
	int outer = epoll_create1(0);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 55 };
	EXPECT(epoll_ctl(outer, EPOLL_CTL_ADD, ep, &ev) == 0);
	EXPECT_ERRNO(epoll_ctl(ep, EPOLL_CTL_ADD, outer, &ev), ELOOP);
	ev = (struct epoll_event){ .events = EPOLLIN, .data.u64 = 66 };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, e, &ev) == 0);
	EXPECT(epoll_wait(outer, out, 4, 0) == 1 && out[0].data.u64 == 55);
	close(outer);
	close(ep);
	close(e);
}

int main(void)
{
	pipes();
	eventfds();
	polls();
	epolls();
	return guest_done("fs_pipes");
}
