/* timerfd: one-shot and periodic timers read directly and through epoll,
 * TFD_TIMER_ABSTIME on CLOCK_MONOTONIC and CLOCK_REALTIME, timerfd_gettime,
 * disarming, the old value out, nonblocking EAGAIN, short-buffer EINVAL. */
#include <fcntl.h>
#include <poll.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static uint64_t now_ns(clockid_t c)
{
	struct timespec ts;
	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static struct itimerspec its(long v_ms, long i_ms)
{
	struct itimerspec s = {
		.it_value = { v_ms / 1000, (v_ms % 1000) * 1000000 },
		.it_interval = { i_ms / 1000, (i_ms % 1000) * 1000000 },
	};
	return s;
}

int main(void)
{
	/* Creation: flags, bad clocks, bad flags. */
	int fd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	EXPECT(fd >= 0);
	EXPECT(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	EXPECT(fcntl(fd, F_GETFL) & O_NONBLOCK);
	EXPECT_ERRNO(timerfd_create(12345, 0), EINVAL);
	EXPECT_ERRNO(timerfd_create(CLOCK_MONOTONIC, 0x4), EINVAL);
	int bt = timerfd_create(CLOCK_BOOTTIME, 0);
	EXPECT(bt >= 0);
	close(bt);

	/* Disarmed: nothing to read, gettime all zero. */
	uint64_t v = 0;
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
	struct itimerspec cur;
	EXPECT(timerfd_gettime(fd, &cur) == 0);
	EXPECT(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec == 0);

	/* One-shot, 30 ms: gettime counts down, poll waits for it. */
	struct itimerspec s = its(30, 0), old;
	EXPECT(timerfd_settime(fd, 0, &s, NULL) == 0);
	EXPECT(timerfd_gettime(fd, &cur) == 0);
	EXPECT(cur.it_value.tv_sec == 0 && cur.it_value.tv_nsec > 0 &&
	       cur.it_value.tv_nsec <= 30000000);
	EXPECT(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 0);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
	char small[4];
	EXPECT_ERRNO(read(fd, small, 4), EINVAL);
	uint64_t t0 = now_ns(CLOCK_MONOTONIC);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	EXPECT(poll(&p, 1, 2000) == 1 && (p.revents & POLLIN));
	EXPECT(now_ns(CLOCK_MONOTONIC) - t0 >= 20000000);
	EXPECT(read(fd, &v, 8) == 8 && v == 1);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
	EXPECT(timerfd_gettime(fd, &cur) == 0 && cur.it_value.tv_sec == 0 &&
	       cur.it_value.tv_nsec == 0);

	/* Periodic 10 ms through epoll. */
	int ep = epoll_create1(EPOLL_CLOEXEC);
	EXPECT(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = 77 };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	s = its(10, 10);
	EXPECT(timerfd_settime(fd, 0, &s, NULL) == 0);
	uint64_t total = 0;
	for (int i = 0; i < 5; i++) {
		struct epoll_event out;
		int n = epoll_wait(ep, &out, 1, 2000);
		EXPECT(n == 1 && out.data.u64 == 77 && (out.events & EPOLLIN));
		v = 0;
		EXPECT(read(fd, &v, 8) == 8 && v >= 1);
		total += v;
	}
	EXPECT(total >= 5);
	/* Missed periods accumulate. */
	usleep(55000);
	EXPECT(read(fd, &v, 8) == 8 && v >= 4);
	EXPECT(timerfd_gettime(fd, &cur) == 0);
	EXPECT(cur.it_interval.tv_sec == 0 && cur.it_interval.tv_nsec == 10000000);
	EXPECT(cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 10000000);

	/* Disarm with zero; the old setting comes back. */
	s = its(0, 0);
	EXPECT(timerfd_settime(fd, 0, &s, &old) == 0);
	EXPECT(old.it_interval.tv_nsec == 10000000);
	EXPECT(old.it_value.tv_nsec > 0 && old.it_value.tv_nsec <= 10000000);
	usleep(25000);
	EXPECT_ERRNO(read(fd, &v, 8), EAGAIN);
	EXPECT(epoll_wait(ep, &ev, 1, 0) == 0);
	close(ep);

	/* Absolute on CLOCK_MONOTONIC, blocking read. */
	int bfd = timerfd_create(CLOCK_MONOTONIC, 0);
	EXPECT(bfd >= 0);
	uint64_t at = now_ns(CLOCK_MONOTONIC) + 20000000;
	s = its(0, 0);
	s.it_value.tv_sec = (time_t)(at / 1000000000u);
	s.it_value.tv_nsec = (long)(at % 1000000000u);
	EXPECT(timerfd_settime(bfd, TFD_TIMER_ABSTIME, &s, NULL) == 0);
	EXPECT(read(bfd, &v, 8) == 8 && v == 1);
	EXPECT(now_ns(CLOCK_MONOTONIC) >= at);
	/* An absolute time in the past expires at once. */
	s.it_value.tv_sec = 0;
	s.it_value.tv_nsec = 1;
	EXPECT(timerfd_settime(bfd, TFD_TIMER_ABSTIME, &s, NULL) == 0);
	EXPECT(read(bfd, &v, 8) == 8 && v == 1);
	close(bfd);

	/* Absolute on CLOCK_REALTIME. */
	int rfd = timerfd_create(CLOCK_REALTIME, 0);
	EXPECT(rfd >= 0);
	at = now_ns(CLOCK_REALTIME) + 20000000;
	s = its(0, 0);
	s.it_value.tv_sec = (time_t)(at / 1000000000u);
	s.it_value.tv_nsec = (long)(at % 1000000000u);
	EXPECT(timerfd_settime(rfd, TFD_TIMER_ABSTIME, &s, NULL) == 0);
	EXPECT(timerfd_gettime(rfd, &cur) == 0 && cur.it_value.tv_sec == 0 &&
	       cur.it_value.tv_nsec > 0 && cur.it_value.tv_nsec <= 20000000);
	EXPECT(read(rfd, &v, 8) == 8 && v == 1);
	EXPECT(now_ns(CLOCK_REALTIME) + 2000000 >= at);
	close(rfd);

	/* Bad arguments. */
	s = its(10, 0);
	s.it_value.tv_nsec = 1000000000;
	EXPECT_ERRNO(timerfd_settime(fd, 0, &s, NULL), EINVAL);
	s = its(10, 0);
	EXPECT_ERRNO(timerfd_settime(fd, 0x100, &s, NULL), EINVAL);
	EXPECT_ERRNO(timerfd_settime(0, 0, &s, NULL), EINVAL);
	EXPECT_ERRNO(timerfd_gettime(-1, &cur), EBADF);

	/* Closing an armed periodic timer. */
	s = its(1, 1);
	EXPECT(timerfd_settime(fd, 0, &s, NULL) == 0);
	usleep(5000);
	EXPECT(close(fd) == 0);
	usleep(5000);
	return guest_done("fs_timerfd");
}
