/* Synchronous faults delivered to handlers: SIGSEGV with si_addr and
 * si_code, a handler that fixes the page and returns (the access is
 * retried), siglongjmp out of a handler, SIGFPE on integer division,
 * SIGILL on ud2, the registers in the ucontext, FPU state kept. */
#include <setjmp.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/mman.h>
#include <ucontext.h>
#include <unistd.h>
#include "check.h"

static volatile int *volatile bad8 = (int *)8;

static volatile int hits, code;
static volatile uintptr_t addr, trapno, err, cr2, uc_rip;
static char *page;
static sigjmp_buf jb;

static void on_segv_fix(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	hits++;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	err = uc->uc_mcontext.gregs[REG_ERR];
	cr2 = uc->uc_mcontext.gregs[REG_CR2];
	(void)sig;
	/* make the page writable: returning retries the store */
	mprotect(page, 4096, PROT_READ | PROT_WRITE);
}

static void on_segv_jump(int sig, siginfo_t *si, void *ucv)
{
	(void)ucv;
	hits++;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	siglongjmp(jb, sig);
}

static void on_fpe(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	hits++;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	uc_rip = uc->uc_mcontext.gregs[REG_RIP];
	trapno = uc->uc_mcontext.gregs[REG_TRAPNO];
	siglongjmp(jb, sig);
}

static void on_ill(int sig, siginfo_t *si, void *ucv)
{
	ucontext_t *uc = ucv;
	(void)sig;
	hits++;
	code = si->si_code;
	addr = (uintptr_t)si->si_addr;
	/* skip the 2-byte ud2 and carry on */
	uc->uc_mcontext.gregs[REG_RIP] += 2;
}

static volatile double fpu_in_handler;
static void on_usr1(int sig)
{
	(void)sig;
	volatile double x = 1.0;
	for (int i = 0; i < 10; i++)
		x = x * 3.5 + 0.25;
	fpu_in_handler = x;
}

int main(void)
{
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_flags = SA_SIGINFO;

	/* 1. write to a read-only page: SEGV_ACCERR, handler fixes, retried */
	page = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(page != MAP_FAILED);
	sa.sa_sigaction = on_segv_fix;
	EXPECT(sigaction(SIGSEGV, &sa, NULL) == 0);
	*(volatile char *)(page + 100) = 42;
	EXPECT(hits == 1 && page[100] == 42);
	EXPECT(code == SEGV_ACCERR && addr == (uintptr_t)page + 100);
	EXPECT(trapno == 14 && (err & 2) && cr2 == (uintptr_t)page + 100);

	/* 2. PROT_NONE page read: ACCERR too */
	hits = 0;
	mprotect(page, 4096, PROT_NONE);
	EXPECT(*(volatile char *)(page + 8) == 0);
	EXPECT(hits == 1 && code == SEGV_ACCERR && addr == (uintptr_t)page + 8);

	/* 3. unmapped address: SEGV_MAPERR, siglongjmp out of the handler */
	sa.sa_sigaction = on_segv_jump;
	sigaction(SIGSEGV, &sa, NULL);
	hits = 0;
	munmap(page, 4096);
	volatile int r = sigsetjmp(jb, 1);
	if (r == 0) {
		*(volatile int *)(page + 16) = 1;
		hits += 100;        /* not reached */
	}
	EXPECT(r == SIGSEGV && hits == 1 && code == SEGV_MAPERR && addr == (uintptr_t)page + 16);
	/* the mask was restored by siglongjmp(.., 1): a second fault works */
	r = sigsetjmp(jb, 1);
	if (r == 0)
		*bad8 = 1;
	EXPECT(r == SIGSEGV && hits == 2 && addr == 8);

	/* 4. SIGFPE: integer division by zero */
	sa.sa_sigaction = on_fpe;
	sigaction(SIGFPE, &sa, NULL);
	hits = 0;
	volatile int zero = 0;
	r = sigsetjmp(jb, 1);
	if (r == 0) {
		volatile int x = 10 / zero;
		(void)x;
	}
	EXPECT(r == SIGFPE && hits == 1 && code == FPE_INTDIV && trapno == 0);
	EXPECT(addr == uc_rip && addr != 0);

	/* 5. SIGILL: ud2, the handler steps over it */
	sa.sa_sigaction = on_ill;
	sigaction(SIGILL, &sa, NULL);
	hits = 0;
	uintptr_t at;
	__asm__ volatile("lea 0f(%%rip), %0\n0: ud2" : "=r"(at));
	EXPECT(hits == 1 && code == ILL_ILLOPN && addr == at);

	/* 6. FPU/SSE registers survive a handler that uses them */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sigaction(SIGUSR1, &sa, NULL);
	volatile double a = 1.0 / 3.0;
	double b = a * 7.0;
	raise(SIGUSR1);
	EXPECT(b == a * 7.0 && fpu_in_handler > 1000.0);
	return guest_done("sig_fault");
}
