/* signalfd: blocked SIGUSR1/SIGUSR2 read as struct signalfd_siginfo after
 * raise, kill, sigqueue and tgkill; poll and epoll readiness; a blocking
 * read woken by a signal from another thread; mask updates; flags. */
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/signalfd.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static void *sender(void *arg)
{
	(void)arg;
	usleep(30000);
	kill(getpid(), SIGUSR2);
	return NULL;
}

int main(void)
{
	EXPECT(sizeof(struct signalfd_siginfo) == 128);
	sigset_t set;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	EXPECT(sigprocmask(SIG_BLOCK, &set, NULL) == 0);

	int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
	EXPECT(fd >= 0);
	EXPECT(fcntl(fd, F_GETFD) == FD_CLOEXEC);
	EXPECT(fcntl(fd, F_GETFL) & O_NONBLOCK);

	struct signalfd_siginfo si;
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);
	struct pollfd p = { .fd = fd, .events = POLLIN };
	EXPECT(poll(&p, 1, 0) == 0);

	/* raise: a thread-directed SI_TKILL from our own pid. */
	EXPECT(raise(SIGUSR1) == 0);
	EXPECT(poll(&p, 1, 0) == 1 && (p.revents & POLLIN));
	sigset_t pend;
	sigpending(&pend);
	EXPECT(sigismember(&pend, SIGUSR1));
	char small[64];
	EXPECT_ERRNO(read(fd, small, sizeof(small)), EINVAL);
	memset(&si, 0, sizeof(si));
	EXPECT(read(fd, &si, sizeof(si)) == sizeof(si));
	EXPECT(si.ssi_signo == SIGUSR1);
	EXPECT(si.ssi_code == SI_TKILL);
	EXPECT(si.ssi_pid == (uint32_t)getpid());
	EXPECT(si.ssi_uid == getuid());
	sigpending(&pend);
	EXPECT(!sigismember(&pend, SIGUSR1));
	EXPECT(poll(&p, 1, 0) == 0);
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);

	/* kill: process-directed SI_USER; epoll sees it. */
	int ep = epoll_create1(0);
	EXPECT(ep >= 0);
	struct epoll_event ev = { .events = EPOLLIN, .data.u32 = 5 };
	EXPECT(epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) == 0);
	EXPECT(epoll_wait(ep, &ev, 1, 0) == 0);
	EXPECT(kill(getpid(), SIGUSR1) == 0);
	struct epoll_event out;
	EXPECT(epoll_wait(ep, &out, 1, 1000) == 1 && out.data.u32 == 5 &&
	       (out.events & EPOLLIN));
	memset(&si, 0, sizeof(si));
	EXPECT(read(fd, &si, sizeof(si)) == sizeof(si));
	EXPECT(si.ssi_signo == SIGUSR1 && si.ssi_code == SI_USER);
	EXPECT(si.ssi_pid == (uint32_t)getpid());
	EXPECT(epoll_wait(ep, &out, 1, 0) == 0);

	/* sigqueue: the value comes through. */
	union sigval val = { .sival_int = 4242 };
	EXPECT(sigqueue(getpid(), SIGUSR1, val) == 0);
	memset(&si, 0, sizeof(si));
	EXPECT(read(fd, &si, sizeof(si)) == sizeof(si));
	EXPECT(si.ssi_signo == SIGUSR1 && si.ssi_code == SI_QUEUE && si.ssi_int == 4242);

	/* Signals outside the mask are not taken. */
	sigset_t both = set;
	sigaddset(&both, SIGUSR2);
	EXPECT(sigprocmask(SIG_BLOCK, &both, NULL) == 0);
	EXPECT(raise(SIGUSR2) == 0);
	EXPECT(poll(&p, 1, 0) == 0);
	EXPECT_ERRNO(read(fd, &si, sizeof(si)), EAGAIN);

	/* Updating the mask of the existing fd makes it readable. */
	EXPECT(signalfd(fd, &both, 0) == fd);
	EXPECT(epoll_wait(ep, &out, 1, 1000) == 1);
	EXPECT(poll(&p, 1, 0) == 1);
	/* Two signals in one read. */
	EXPECT(raise(SIGUSR1) == 0);
	struct signalfd_siginfo two[3];
	memset(two, 0, sizeof(two));
	EXPECT(read(fd, two, sizeof(two)) == 2 * sizeof(two[0]));
	EXPECT(two[0].ssi_signo == SIGUSR1 && two[1].ssi_signo == SIGUSR2);
	close(ep);

	/* A blocking signalfd, woken by a kill from another thread. */
	int bfd = signalfd(-1, &both, 0);
	EXPECT(bfd >= 0);
	pthread_t th;
	EXPECT(pthread_create(&th, NULL, sender, NULL) == 0);
	memset(&si, 0, sizeof(si));
	EXPECT(read(bfd, &si, sizeof(si)) == sizeof(si));
	EXPECT(si.ssi_signo == SIGUSR2 && si.ssi_code == SI_USER);
	pthread_join(th, NULL);
	/* poll blocking until a signal arrives (tgkill to ourselves). */
	EXPECT(pthread_create(&th, NULL, sender, NULL) == 0);
	struct pollfd bp = { .fd = bfd, .events = POLLIN };
	EXPECT(poll(&bp, 1, 2000) == 1 && (bp.revents & POLLIN));
	EXPECT(read(bfd, &si, sizeof(si)) == sizeof(si) && si.ssi_signo == SIGUSR2);
	pthread_join(th, NULL);
	EXPECT(syscall(SYS_tgkill, getpid(), (pid_t)syscall(SYS_gettid), SIGUSR1) == 0);
	EXPECT(read(bfd, &si, sizeof(si)) == sizeof(si));
	EXPECT(si.ssi_signo == SIGUSR1 && si.ssi_code == SI_TKILL);
	close(bfd);

	/* Errors. */
	EXPECT_ERRNO(signalfd(0, &set, 0), EINVAL);
	EXPECT_ERRNO(signalfd(12345, &set, 0), EBADF);
	EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &set, 8, 0x1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_signalfd4, -1, &set, 4, 0), EINVAL);
	close(fd);
	return guest_done("sig_signalfd");
}
