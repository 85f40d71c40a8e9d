/* Signals: handlers with siginfo and ucontext, masks, pending, sigsuspend,
 * sigtimedwait, sigqueue values, SA_RESETHAND, SA_NODEFER, sigaltstack,
 * kill/raise/tgkill to ourselves. */
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <ucontext.h>
#include <unistd.h>
#include "check.h"

static volatile sig_atomic_t got, got_signo, got_code, got_pid, got_value, nested, depth, maxdepth;
static volatile uintptr_t got_sp, got_uc_rip, alt_lo, alt_hi;
static volatile uint64_t got_mask_in_handler;

static void on_usr1(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	got++;
	got_signo = sig;
	got_code = si->si_code;
	got_pid = si->si_pid;
	got_value = si->si_value.sival_int;
	got_sp = (uintptr_t)__builtin_frame_address(0);
	got_uc_rip = uc->uc_mcontext.gregs[REG_RIP];
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	got_mask_in_handler = sigismember(&cur, SIGUSR1) | (sigismember(&cur, SIGUSR2) << 1);
}

static void on_plain(int sig)
{
	(void)sig;
	got++;
}

static void on_recursive(int sig)
{
	depth++;
	if (depth > maxdepth)
		maxdepth = depth;
	if (depth < 3)
		raise(sig);         /* SA_NODEFER: runs nested */
	depth--;
}

__attribute__((used)) volatile uintptr_t entry_sp;
__attribute__((used, noinline)) void on_align(int sig);
__attribute__((used, noinline)) void on_align(int sig)
{
	(void)sig;
	got++;
}

static void on_alt(int sig)
{
	(void)sig;
	char here;
	got++;
	nested = (uintptr_t)&here >= alt_lo && (uintptr_t)&here < alt_hi;
	stack_t ss;
	sigaltstack(NULL, &ss);
	got_code = ss.ss_flags;
}

/* Checks rsp % 16 == 8 at the handler's first instruction. */
extern void align_probe(int);
__asm__(".text\n.globl align_probe\nalign_probe:\n"
	"movq %rsp, entry_sp(%rip)\n"
	"jmp on_align\n");

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));

	/* 1. SA_SIGINFO handler, kill() → SI_USER, our pid; sa_mask applied */
	sa.sa_sigaction = on_usr1;
	sa.sa_flags = SA_SIGINFO;
	sigemptyset(&sa.sa_mask);
	sigaddset(&sa.sa_mask, SIGUSR2);
	EXPECT(sigaction(SIGUSR1, &sa, NULL) == 0);
	EXPECT(kill(getpid(), SIGUSR1) == 0);
	EXPECT(got == 1 && got_signo == SIGUSR1 && got_code == SI_USER);
	EXPECT(got_pid == getpid());
	EXPECT(got_mask_in_handler == 3);      /* itself and sa_mask blocked */
	EXPECT(got_uc_rip != 0);
	sigset_t cur;
	sigprocmask(SIG_BLOCK, NULL, &cur);
	EXPECT(!sigismember(&cur, SIGUSR1) && !sigismember(&cur, SIGUSR2));  /* restored */

	/* 2. sigqueue value, tgkill code */
	union sigval v = { .sival_int = 4242 };
	EXPECT(sigqueue(getpid(), SIGUSR1, v) == 0);
	EXPECT(got == 2 && got_code == SI_QUEUE && got_value == 4242);
	EXPECT(syscall(SYS_tgkill, getpid(), gettid(), SIGUSR1) == 0);
	EXPECT(got == 3 && got_code == SI_TKILL);
	EXPECT_ERRNO(syscall(SYS_tgkill, getpid(), 999999, SIGUSR1), ESRCH);
	EXPECT_ERRNO(kill(12345, SIGUSR1), ESRCH);
	EXPECT(kill(getpid(), 0) == 0);

	/* 3. blocked → pending → delivered on unblock */
	got = 0;
	sigset_t set, old;
	sigemptyset(&set);
	sigaddset(&set, SIGUSR1);
	EXPECT(sigprocmask(SIG_BLOCK, &set, &old) == 0);
	raise(SIGUSR1);
	raise(SIGUSR1);              /* standard signals coalesce */
	EXPECT(got == 0);
	sigset_t pend;
	EXPECT(sigpending(&pend) == 0 && sigismember(&pend, SIGUSR1));
	EXPECT(sigprocmask(SIG_SETMASK, &old, NULL) == 0);
	EXPECT(got == 1);
	EXPECT(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR1));

	/* 4. real-time signals queue, in order, with their values */
	sigemptyset(&set);
	sigaddset(&set, SIGRTMIN);
	sigprocmask(SIG_BLOCK, &set, NULL);
	for (int i = 0; i < 3; i++) {
		v.sival_int = 100 + i;
		EXPECT(sigqueue(getpid(), SIGRTMIN, v) == 0);
	}
	for (int i = 0; i < 3; i++) {
		siginfo_t si;
		struct timespec ts = { 0, 0 };
		EXPECT(sigtimedwait(&set, &si, &ts) == SIGRTMIN);
		EXPECT(si.si_value.sival_int == 100 + i && si.si_code == SI_QUEUE);
	}
	struct timespec ts = { 0, 20 * 1000 * 1000 };
	EXPECT_ERRNO(sigtimedwait(&set, NULL, &ts), EAGAIN);
	sigprocmask(SIG_UNBLOCK, &set, NULL);

	/* 5. ignored signals are discarded, even pending ones */
	sigemptyset(&set);
	sigaddset(&set, SIGUSR2);
	sigprocmask(SIG_BLOCK, &set, NULL);
	raise(SIGUSR2);
	signal(SIGUSR2, SIG_IGN);
	EXPECT(sigpending(&pend) == 0 && !sigismember(&pend, SIGUSR2));
	sigprocmask(SIG_UNBLOCK, &set, NULL);
	raise(SIGUSR2);
	raise(SIGCHLD);              /* default: ignore */
	raise(SIGWINCH);

	/* 6. SA_RESETHAND: once, then default (we check the disposition) */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_plain;
	sa.sa_flags = SA_RESETHAND;
	sigaction(SIGUSR2, &sa, NULL);
	got = 0;
	raise(SIGUSR2);
	EXPECT(got == 1);
	struct sigaction now;
	sigaction(SIGUSR2, NULL, &now);
	EXPECT(now.sa_handler == SIG_DFL);

	/* 7. SA_NODEFER: the handler can be re-entered */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_recursive;
	sa.sa_flags = SA_NODEFER;
	sigaction(SIGUSR2, &sa, NULL);
	raise(SIGUSR2);
	EXPECT(maxdepth == 3 && depth == 0);

	/* 8. stack alignment at entry: rsp % 16 == 8, as after a call */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = align_probe;
	sigaction(SIGUSR2, &sa, NULL);
	got = 0;
	raise(SIGUSR2);
	EXPECT(got == 1 && entry_sp % 16 == 8);

	/* 9. sigaltstack */
	static char altbuf[64 * 1024];
	stack_t ss = { .ss_sp = altbuf, .ss_size = sizeof(altbuf), .ss_flags = 0 };
	EXPECT(sigaltstack(&ss, NULL) == 0);
	alt_lo = (uintptr_t)altbuf;
	alt_hi = alt_lo + sizeof(altbuf);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alt;
	sa.sa_flags = SA_ONSTACK;
	sigaction(SIGUSR2, &sa, NULL);
	got = 0;
	raise(SIGUSR2);
	EXPECT(got == 1 && nested == 1 && got_code == SS_ONSTACK);
	stack_t os;
	EXPECT(sigaltstack(NULL, &os) == 0 && os.ss_sp == altbuf && os.ss_flags == 0);
	ss.ss_size = 100;
	EXPECT_ERRNO(sigaltstack(&ss, NULL), ENOMEM);
	ss.ss_flags = SS_DISABLE;
	EXPECT(sigaltstack(&ss, NULL) == 0);
	EXPECT(sigaltstack(NULL, &os) == 0 && os.ss_flags == SS_DISABLE);

	/* 10. sigsuspend: waits with a temporary mask, returns EINTR, mask back */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_plain;
	sigaction(SIGALRM, &sa, NULL);
	sigemptyset(&set);
	sigaddset(&set, SIGALRM);
	sigprocmask(SIG_BLOCK, &set, &old);
	got = 0;
	alarm(1);
	sigset_t waitmask;
	sigemptyset(&waitmask);
	errno = 0;
	EXPECT(sigsuspend(&waitmask) == -1 && errno == EINTR);
	EXPECT(got == 1);
	sigprocmask(SIG_BLOCK, NULL, &cur);
	EXPECT(sigismember(&cur, SIGALRM));
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* 11. sigtimedwait picks up a blocked signal from a timer */
	sigprocmask(SIG_BLOCK, &set, &old);
	alarm(1);
	siginfo_t si;
	EXPECT(sigwaitinfo(&set, &si) == SIGALRM && si.si_signo == SIGALRM);
	sigprocmask(SIG_SETMASK, &old, NULL);

	/* 12. invalid arguments */
	EXPECT_ERRNO(sigaction(SIGKILL, &sa, NULL), EINVAL);
	EXPECT_ERRNO(sigaction(0, &sa, NULL), EINVAL);
	EXPECT_ERRNO(syscall(SYS_rt_sigprocmask, 7, &set, NULL, 8), EINVAL);
	return guest_done("sig_basic");
}
