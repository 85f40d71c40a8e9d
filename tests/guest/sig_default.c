/* Default actions, chosen by the first argument: the program ends the way
 * a shell would report (the test checks the exit status and the log). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static volatile int *volatile bad = (int *)16;

int main(int argc, char **argv)
{
	const char *what = argc > 1 ? argv[1] : "";
	int p[2];
	if (!strcmp(what, "abort")) {
		printf("aborting\n");
		fflush(stdout);
		abort();
	} else if (!strcmp(what, "term")) {
		kill(getpid(), SIGTERM);
	} else if (!strcmp(what, "pipe")) {
		/* write to a pipe with no reader: SIGPIPE kills (141) */
		pipe(p);
		close(p[0]);
		write(p[1], "x", 1);
	} else if (!strcmp(what, "pipe-ignored")) {
		signal(SIGPIPE, SIG_IGN);
		pipe(p);
		close(p[0]);
		if (write(p[1], "x", 1) == -1 && errno == EPIPE) {
			printf("EPIPE\n");
			return 0;
		}
		return 1;
	} else if (!strcmp(what, "segv-blocked")) {
		/* a fault while SIGSEGV is blocked: the default action anyway */
		sigset_t s;
		sigemptyset(&s);
		sigaddset(&s, SIGSEGV);
		sigprocmask(SIG_BLOCK, &s, NULL);
		*bad = 1;
	} else if (!strcmp(what, "segv-ignored")) {
		signal(SIGSEGV, SIG_IGN);
		*bad = 1;
	} else if (!strcmp(what, "ignored")) {
		signal(SIGTERM, SIG_IGN);
		kill(getpid(), SIGTERM);
		raise(SIGCHLD);
		raise(SIGURG);
		raise(SIGWINCH);
		printf("survived\n");
		return 0;
	}
	printf("still alive\n");
	return 3;
}
