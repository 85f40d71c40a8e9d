/* Starting QEMU and relaying the console; see vm.h. */
#include "vm.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "console_proto.h"
#include "util.h"

/* After the exit frame or the console closing, how long QEMU gets to exit
 * on its own before it is killed. */
#define EXIT_GRACE_MS 5000
#define STDIN_CHUNK 4096

static int sig_pipe[2] = { -1, -1 };

static void on_signal(int sig)
{
	int saved = errno;
	unsigned char b = (unsigned char)sig;
	/* Non-blocking: if the pipe is full the loop has plenty to read anyway. */
	if (write(sig_pipe[1], &b, 1) < 0) {
		/* nothing to do */
	}
	errno = saved;
}

static int setup_signals(void)
{
	struct sigaction sa;
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGCHLD };

	if (pipe2(sig_pipe, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		if (sigaction(sigs[i], &sa, NULL) < 0)
			return -1;
	/* A reader that goes away (wisp run ... | head) must not kill us
	 * before we stop the VM; EPIPE is handled where we write. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Fork and exec QEMU. Returns its pid, or -1 after printing why. */
static pid_t spawn(const struct vm_params *p)
{
	int errp[2], e = 0;
	pid_t parent = getpid(), pid;
	ssize_t n;

	if (pipe2(errp, O_CLOEXEC) < 0) {
		err_msg("cannot start QEMU: pipe: %s", strerror(errno));
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		err_msg("cannot start QEMU: fork: %s", strerror(errno));
		close(errp[0]);
		close(errp[1]);
		return -1;
	}
	if (pid == 0) {
		sigset_t none;
		int null = open("/dev/null", O_RDWR);

		setpgid(0, 0);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127); /* wisp died before prctl took effect */
		signal(SIGPIPE, SIG_DFL);
		sigemptyset(&none);
		sigprocmask(SIG_SETMASK, &none, NULL);
		if (null < 0 || dup2(null, 0) < 0 || dup2(2, 1) < 0)
			goto fail;
		/* Exactly these descriptors cross exec; ours are all O_CLOEXEC. */
		for (int i = 0; i < 2; i++)
			if (p->child_fds[i] >= 0 && fcntl(p->child_fds[i], F_SETFD, 0) < 0)
				goto fail;
		execv(p->argv[0], p->argv);
fail:
		e = errno;
		if (write(errp[1], &e, sizeof(e)) < 0) {
			/* the parent will see EOF and a dead child */
		}
		_exit(127);
	}
	setpgid(pid, pid); /* also here, so kill(-pid) works whoever runs first */
	close(errp[1]);
	/* EOF means exec succeeded (the pipe was close-on-exec). */
	do
		n = read(errp[0], &e, sizeof(e));
	while (n < 0 && errno == EINTR);
	close(errp[0]);
	if (n == sizeof(e)) {
		err_msg("cannot run %s: %s", p->argv[0], strerror(e));
		waitpid(pid, NULL, 0);
		return -1;
	}
	return pid;
}

struct relay {
	struct cp_demux demux;
	int exit_seen;
	int ready_seen; /* the kernel reads its input now: stdin may flow */
	int32_t status;
	int stdout_dead;
	int warned_chan, warned_bad;
};

static void on_data(void *ctx, unsigned chan, const uint8_t *p, size_t n)
{
	struct relay *r = ctx;

	switch (chan) {
	case CP_STDOUT:
		/* A closed stdout loses the program's output, as it would on
		 * Linux, but the VM runs on and its status still counts. */
		if (!r->stdout_dead && write_all(1, p, n) < 0)
			r->stdout_dead = 1;
		break;
	case CP_STDERR:
	case CP_LOG_WARN:
		(void)write_all(2, p, n);
		break;
	case CP_LOG_INFO:
		if (wisp_verbose)
			(void)write_all(2, p, n);
		break;
	default:
		if (!r->warned_chan++)
			warn_msg("the kernel sent data on unknown console channel %u (ignored)", chan);
	}
}

static void on_noise(void *ctx, const uint8_t *p, size_t n)
{
	(void)ctx;
	/* Before the kernel turns on framing, firmware may print. */
	if (wisp_verbose)
		(void)write_all(2, p, n);
}

static void on_exit_frame(void *ctx, int32_t status)
{
	struct relay *r = ctx;
	r->exit_seen = 1;
	r->status = status;
}

static void on_ready(void *ctx)
{
	struct relay *r = ctx;
	r->ready_seen = 1;
}

static void on_bad(void *ctx, unsigned chan, unsigned len)
{
	struct relay *r = ctx;
	if (!r->warned_bad++)
		warn_msg("the kernel sent a malformed frame (channel %u, length %u; ignored)", chan,
			 len);
}

static int stdin_is_null(void)
{
	struct stat st, null;

	if (fcntl(0, F_GETFD) < 0)
		return 1; /* closed (main() put /dev/null there, but be sure) */
	return fstat(0, &st) == 0 && stat("/dev/null", &null) == 0 && S_ISCHR(st.st_mode) &&
	       st.st_rdev == null.st_rdev;
}

/* Read whatever QEMU left in the socket once it is gone. */
static void drain(int sock, struct relay *r, const struct cp_handlers *h)
{
	uint8_t buf[65536];

	for (;;) {
		ssize_t n = recv(sock, buf, sizeof(buf), MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		cp_demux_feed(&r->demux, h, buf, (size_t)n);
	}
}

static void kill_vm(pid_t pid)
{
	kill(-pid, SIGKILL);
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

/* Wait up to ms for the child; also reacts to signals. Returns 1 if reaped
 * (status in *ws), 0 if still running, or -sig if a fatal signal came. */
static int wait_child(pid_t pid, int *ws, int64_t ms)
{
	int64_t end = now_ms() + ms;

	for (;;) {
		struct pollfd pfd = { .fd = sig_pipe[0], .events = POLLIN };
		unsigned char sigs[64];
		int64_t left;
		ssize_t n;
		pid_t w = waitpid(pid, ws, WNOHANG);

		if (w == pid)
			return 1;
		left = end - now_ms();
		if (left <= 0)
			return 0;
		poll(&pfd, 1, (int)(left > 1000 ? 1000 : left));
		n = read(sig_pipe[0], sigs, sizeof(sigs));
		for (ssize_t i = 0; i < n; i++)
			if (sigs[i] != SIGCHLD)
				return -sigs[i];
	}
}

int vm_run(const struct vm_params *p)
{
	struct relay r;
	struct cp_handlers h = { on_data, on_noise, on_exit_frame, on_ready, on_bad, &r };
	uint8_t in[STDIN_CHUNK], out[cp_encoded_size(STDIN_CHUNK) + 3], buf[65536];
	size_t out_off = 0, out_len = 0;
	int stdin_done = 0, sock_wr_dead = 0, reaped = 0, ws = 0, rc;
	int64_t deadline = p->timeout > 0 ? now_ms() + (int64_t)(p->timeout * 1000 + 0.5) : 0;
	int64_t exit_deadline = 0; /* set when the exit frame arrives */
	pid_t pid;

	memset(&r, 0, sizeof(r));
	cp_demux_init(&r.demux);
	if (setup_signals() < 0) {
		err_msg("cannot set up signal handling: %s", strerror(errno));
		return EXIT_TOOL;
	}
	pid = spawn(p);
	for (int i = 0; i < 2; i++)
		if (p->child_fds[i] >= 0)
			close(p->child_fds[i]); /* QEMU has them now; the socket must
						 * see EOF when QEMU exits */
	if (pid < 0)
		return EXIT_TOOL;
	fcntl(p->console_fd, F_SETFL, fcntl(p->console_fd, F_GETFL) | O_NONBLOCK);

	int stdin_null = stdin_is_null();

	for (;;) {
		struct pollfd pfd[3];
		int nfds = 2, timeout = -1;
		/* Nothing goes to the guest before its ready frame. */
		if (stdin_null && r.ready_seen && !stdin_done) {
			out_len = cp_encode_eof(out);
			stdin_done = 1;
		}
		int want_stdin = !stdin_done && r.ready_seen && out_off == out_len &&
				 !r.exit_seen && !sock_wr_dead;

		pfd[0] = (struct pollfd){ .fd = sig_pipe[0], .events = POLLIN };
		pfd[1] = (struct pollfd){ .fd = p->console_fd, .events = POLLIN };
		if (out_off < out_len && !sock_wr_dead)
			pfd[1].events |= POLLOUT;
		if (want_stdin)
			pfd[nfds++] = (struct pollfd){ .fd = 0, .events = POLLIN };
		/* The program exited: the guest should power off at once, and
		 * must not keep us waiting if it cannot. */
		if (r.exit_seen && !exit_deadline) {
			exit_deadline = now_ms() + EXIT_GRACE_MS;
			deadline = 0; /* the program finished in time */
		}
		if (deadline || exit_deadline) {
			int64_t end = !deadline ? exit_deadline
				      : !exit_deadline ? deadline
				      : deadline < exit_deadline ? deadline : exit_deadline;
			int64_t left = end - now_ms();
			timeout = left <= 0 ? 0 : left > 60000 ? 60000 : (int)left;
		}
		if (poll(pfd, (nfds_t)nfds, timeout) < 0 && errno != EINTR) {
			err_msg("poll: %s", strerror(errno));
			kill_vm(pid);
			return EXIT_TOOL;
		}
		if (deadline && now_ms() >= deadline) {
			kill_vm(pid);
			drain(p->console_fd, &r, &h);
			err_msg("timed out after %s s", p->timeout_text);
			return EXIT_TIMEOUT;
		}
		if (exit_deadline && now_ms() >= exit_deadline) {
			kill_vm(pid);
			drain(p->console_fd, &r, &h);
			warn_msg("the VM did not power off within %d s after the program exited; "
				 "killed it", EXIT_GRACE_MS / 1000);
			return (int)((uint32_t)r.status & 0xff);
		}
		if (pfd[0].revents & POLLIN) {
			unsigned char sigs[64];
			ssize_t n = read(sig_pipe[0], sigs, sizeof(sigs));
			for (ssize_t i = 0; i < n; i++) {
				if (sigs[i] == SIGCHLD) {
					if (!reaped && waitpid(pid, &ws, WNOHANG) == pid)
						reaped = 1;
					continue;
				}
				if (!reaped)
					kill_vm(pid);
				drain(p->console_fd, &r, &h);
				info_msg("stopped by signal %d", sigs[i]);
				return 128 + sigs[i];
			}
		}
		if (pfd[1].revents & (POLLIN | POLLHUP | POLLERR)) {
			ssize_t n = read(p->console_fd, buf, sizeof(buf));
			if (n > 0)
				cp_demux_feed(&r.demux, &h, buf, (size_t)n);
			else if (n == 0 || (errno != EINTR && errno != EAGAIN))
				break; /* QEMU closed the console: it is exiting */
		}
		if ((pfd[1].revents & POLLOUT) && out_off < out_len) {
			ssize_t n = write(p->console_fd, out + out_off, out_len - out_off);
			if (n > 0)
				out_off += (size_t)n;
			else if (n < 0 && errno != EINTR && errno != EAGAIN)
				sock_wr_dead = 1; /* reading will see the EOF */
			if (out_off == out_len)
				out_off = out_len = 0;
		}
		if (want_stdin && nfds == 3 && (pfd[2].revents & (POLLIN | POLLHUP | POLLERR))) {
			ssize_t n = read(0, in, sizeof(in));
			if (n > 0) {
				out_len = cp_encode_stdin(out, in, (size_t)n);
			} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
				/* EOF, or an error that will not go away: end of file
				 * for the program either way. */
				out_len = cp_encode_eof(out);
				stdin_done = 1;
			}
			out_off = 0;
		}
	}

	if (cp_demux_mid_frame(&r.demux))
		info_msg("the console ended in the middle of a frame");
	if (!reaped) {
		int64_t grace = EXIT_GRACE_MS;
		if (deadline && deadline - now_ms() < grace)
			grace = deadline - now_ms() > 0 ? deadline - now_ms() : 0;
		rc = wait_child(pid, &ws, grace);
		if (rc < 0) {
			kill_vm(pid);
			return 128 - rc;
		}
		if (rc == 0) {
			kill_vm(pid);
			if (deadline && now_ms() >= deadline) {
				err_msg("timed out after %s s", p->timeout_text);
				return EXIT_TIMEOUT;
			}
			if (r.exit_seen)
				return (int)((uint32_t)r.status & 0xff);
			err_msg("QEMU closed the console but did not exit; killed it");
			return EXIT_TOOL;
		}
	}
	if (r.exit_seen)
		return (int)((uint32_t)r.status & 0xff);
	if (WIFSIGNALED(ws))
		err_msg("the VM stopped without reporting an exit status (qemu killed by signal %d)",
			WTERMSIG(ws));
	else
		err_msg("the VM stopped without reporting an exit status (qemu exit %d)",
			WEXITSTATUS(ws));
	return EXIT_TOOL;
}
