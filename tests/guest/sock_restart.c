/* Blocking socket calls interrupted by a handler: restarted under
 * SA_RESTART, EINTR without it, and EINTR when the socket has a timeout
 * for that direction (man 7 signal). */
#include "check.h"
#include <signal.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

static int feed_fd = -1;
static volatile int fired;

static void on_alarm(int sig)
{
	(void)sig;
	fired++;
	if (feed_fd >= 0)
		write(feed_fd, "late", 4);
}

static void arm(int restart)
{
	struct sigaction sa = { .sa_handler = on_alarm, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
}

static void recv_case(int restart, int timeout, int want_errno)
{
	int sv[2];
	socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
	if (timeout) {
		struct timeval tv = { 5, 0 };
		setsockopt(sv[0], SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	}
	feed_fd = sv[1];
	fired = 0;
	arm(restart);
	char buf[8];
	errno = 0;
	ssize_t n = recv(sv[0], buf, sizeof(buf), 0);
	EXPECT(fired == 1);
	if (want_errno)
		EXPECT(n == -1 && errno == want_errno);
	else
		EXPECT(n == 4 && !memcmp(buf, "late", 4));
	feed_fd = -1;
	close(sv[0]);
	close(sv[1]);
}

static struct sockaddr_un addr;
static socklen_t alen;
static int client = -1;

static void on_alarm_connect(int sig)
{
	(void)sig;
	fired++;
	client = socket(AF_UNIX, SOCK_STREAM, 0);
	connect(client, (struct sockaddr *)&addr, alen);
}

static void accept_case(int restart)
{
	int l = socket(AF_UNIX, SOCK_STREAM, 0);
	addr.sun_family = AF_UNIX;
	memcpy(addr.sun_path, "\0restart", 8);
	alen = offsetof(struct sockaddr_un, sun_path) + 8;
	EXPECT(bind(l, (struct sockaddr *)&addr, alen) == 0);
	EXPECT(listen(l, 4) == 0);
	struct sigaction sa = { .sa_handler = on_alarm_connect, .sa_flags = restart ? SA_RESTART : 0 };
	sigemptyset(&sa.sa_mask);
	sigaction(SIGALRM, &sa, NULL);
	fired = 0;
	struct itimerval it = { { 0, 0 }, { 0, 100000 } };
	setitimer(ITIMER_REAL, &it, NULL);
	errno = 0;
	int c = accept(l, NULL, NULL);
	EXPECT(fired == 1);
	if (restart)
		EXPECT(c >= 0);
	else
		EXPECT(c == -1 && errno == EINTR);
	if (c >= 0)
		close(c);
	close(client);
	close(l);
}

int main(void)
{
	recv_case(1, 0, 0);          /* restarted: gets the handler's data */
	recv_case(0, 0, EINTR);
	recv_case(1, 1, EINTR);      /* SO_RCVTIMEO: never restarted */
	accept_case(1);
	accept_case(0);
	return guest_done("sock_restart");
}
