/* pingpong: thread hand-off latency, in ns per one-way hand-off.
 *
 * Two threads pass a turn back and forth N round trips. Each waits in the
 * kernel until the turn is its own, so every hand-off is a wake-up of a
 * sleeping thread: on one CPU a context switch, across two CPUs a wake-up
 * of a CPU that is (or soon will be) idle. Two ways to wait:
 *
 *   futex     raw futex(FUTEX_WAIT_PRIVATE / FUTEX_WAKE_PRIVATE) on an int;
 *             no spinning in user space, one wake per hand-off
 *   condvar   pthread mutex + condition variable (what most programs use)
 *
 * and two placements, set with sched_setaffinity in each thread:
 *
 *   same      both threads pinned to CPU 0
 *   cross     one on CPU 0, the other on CPU 1 (needs two CPUs)
 *
 * Thread A times batches: 1000 round trips of warm-up, then the batch size
 * doubles until one batch takes >= 20 ms, then 5 batches; the figure is the
 * median batch time / (2 * round trips) (min_ns: the best batch's, less
 * touched by a busy host descheduling a vCPU). One line per case:
 *
 *   pingpong: mode=futex cpus=same handoff_ns=N min_ns=N round_trips=N cpu_a=0 cpu_b=0
 *   pingpong: mode=condvar cpus=cross error=WHAT
 *
 * The first line is `pingpong: start cpus_online=N clock_res_ns=N`.
 * cpu_a/cpu_b are what sched_getcpu() said in each thread after its batches
 * (-1 if it failed), to show the pinning held. Then `pingpong: done`.
 *
 * As PID 1 (the Linux guest's /init) it writes to /dev/console and powers
 * the machine off; otherwise (wisp) it prints to stdout and exits.
 * Built by bench/thread_bench.py with: musl-gcc -static -O2 (-pthread is
 * implied by musl's single libc).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

/* <linux/futex.h> is not in musl-gcc's include path: the ABI's numbers. */
#define FUTEX_WAIT_PRIVATE (0 | 128)
#define FUTEX_WAKE_PRIVATE (1 | 128)

#define ROUNDS 5
#define WARMUP 1000L
#define MIN_BATCH_NS 20e6
#define MAX_BATCH (1L << 22)

static int out_fd = 1;

static void say(const char *fmt, ...)
{
	char line[256];
	va_list ap;
	va_start(ap, fmt);
	int len = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (len > (int)sizeof(line) - 1)
		len = (int)sizeof(line) - 1;
	if (write(out_fd, line, (size_t)len) < 0 && out_fd != 1)
		(void)!write(1, line, (size_t)len);
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* --- the two ways to hand the turn over --------------------------------- */

/* turn: 0 = A's, 1 = B's. stop: B leaves when it gets the turn and sees it. */
static _Atomic int turn;
static _Atomic int stop;
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int use_condvar;
static int futex_errno;         /* first unexpected futex error, reported */

static long futex(_Atomic int *uaddr, int op, int val)
{
	return syscall(SYS_futex, (int *)uaddr, op, val, NULL, NULL, 0);
}

/* Wait until turn == mine. Under the mutex for the condvar (returns locked). */
static void wait_turn(int mine)
{
	if (use_condvar) {
		pthread_mutex_lock(&mtx);
		while (atomic_load_explicit(&turn, memory_order_relaxed) != mine)
			pthread_cond_wait(&cv, &mtx);
		return;
	}
	while (atomic_load(&turn) != mine) {
		/* Sleeps only while the word still says "not mine". */
		if (futex(&turn, FUTEX_WAIT_PRIVATE, !mine) < 0 &&
		    errno != EAGAIN && errno != EINTR && !futex_errno)
			futex_errno = errno;
	}
}

/* Give the turn to the other thread (after wait_turn(mine)). */
static void give_turn(int mine)
{
	atomic_store(&turn, !mine);
	if (use_condvar) {
		pthread_cond_signal(&cv);
		pthread_mutex_unlock(&mtx);
		return;
	}
	if (futex(&turn, FUTEX_WAKE_PRIVATE, 1) < 0 && !futex_errno)
		futex_errno = errno;
}

/* --- the two threads ------------------------------------------------------ */

struct side {
	int cpu;                /* pin to this CPU */
	int pin_err;            /* errno of sched_setaffinity, 0 if pinned */
	int ran_on;             /* sched_getcpu() at the end */
	double ns;              /* A: median ns per one-way hand-off */
	double min_ns;          /* A: the best batch's */
	long n;                 /* A: round trips per batch */
};

static int pin(int cpu)
{
	cpu_set_t s;
	CPU_ZERO(&s);
	CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof(s), &s) < 0)
		return errno;
	/* Linux moves a thread when it next leaves the CPU; make that now. */
	sched_yield();
	return 0;
}

static void *side_b(void *arg)
{
	struct side *b = arg;
	b->pin_err = pin(b->cpu);
	for (;;) {
		wait_turn(1);
		if (atomic_load(&stop)) {
			if (use_condvar)
				pthread_mutex_unlock(&mtx);
			break;
		}
		give_turn(1);
	}
	b->ran_on = sched_getcpu();
	return NULL;
}

/* n round trips: A's n hand-offs and B's n answers. */
static double batch(long n)
{
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		wait_turn(0);
		give_turn(0);
	}
	wait_turn(0);
	if (use_condvar)
		pthread_mutex_unlock(&mtx);
	return now_ns() - t0;
}

static void *side_a(void *arg)
{
	struct side *a = arg;
	a->pin_err = pin(a->cpu);
	batch(WARMUP);
	long n = WARMUP;
	while (n < MAX_BATCH && batch(n) < MIN_BATCH_NS)
		n *= 2;
	double r[ROUNDS];
	for (int i = 0; i < ROUNDS; i++)
		r[i] = batch(n) / (2.0 * n);
	qsort(r, ROUNDS, sizeof(r[0]), cmp);
	a->ns = r[ROUNDS / 2];
	a->min_ns = r[0];
	a->n = n;
	a->ran_on = sched_getcpu();

	/* Release B: the turn with stop set. */
	atomic_store(&stop, 1);
	wait_turn(0);
	give_turn(0);
	return NULL;
}

/* --- one case --------------------------------------------------------------- */

static void one(const char *mode, const char *where, int cpu_b)
{
	struct side a = { .cpu = 0, .ran_on = -1 }, b = { .cpu = cpu_b, .ran_on = -1 };
	pthread_t ta, tb;
	int e;

	use_condvar = !strcmp(mode, "condvar");
	atomic_store(&turn, 0);
	atomic_store(&stop, 0);
	futex_errno = 0;
	if ((e = pthread_create(&tb, NULL, side_b, &b)) != 0) {
		say("pingpong: mode=%s cpus=%s error=pthread_create:%s\n", mode, where, strerror(e));
		return;
	}
	if ((e = pthread_create(&ta, NULL, side_a, &a)) != 0) {
		say("pingpong: mode=%s cpus=%s error=pthread_create:%s\n", mode, where, strerror(e));
		/* B waits for a turn that never comes; leave it. */
		return;
	}
	pthread_join(ta, NULL);
	pthread_join(tb, NULL);
	if (a.pin_err || b.pin_err) {
		say("pingpong: mode=%s cpus=%s error=sched_setaffinity:%s\n", mode, where,
		    strerror(a.pin_err ? a.pin_err : b.pin_err));
		return;
	}
	if (futex_errno) {
		say("pingpong: mode=%s cpus=%s error=futex:%s\n", mode, where, strerror(futex_errno));
		return;
	}
	say("pingpong: mode=%s cpus=%s handoff_ns=%.1f min_ns=%.1f round_trips=%ld cpu_a=%d cpu_b=%d\n",
	    mode, where, a.ns, a.min_ns, a.n, a.ran_on, b.ran_on);
}

int main(void)
{
	int pid1 = getpid() == 1;
	if (pid1) {
		int fd = open("/dev/console", O_WRONLY | O_NOCTTY);
		if (fd >= 0)
			out_fd = fd;
	}
	long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	/* A coarse clock (Linux without a usable TSC falls back to jiffies)
	 * would make the figures meaningless: report its resolution. */
	struct timespec res;
	long res_ns = clock_getres(CLOCK_MONOTONIC, &res) ? -1 : res.tv_sec * 1000000000L + res.tv_nsec;
	say("pingpong: start cpus_online=%ld clock_res_ns=%ld\n", ncpu, res_ns);
	static const char *modes[] = { "futex", "condvar" };
	for (int m = 0; m < 2; m++) {
		one(modes[m], "same", 0);
		if (ncpu >= 2)
			one(modes[m], "cross", 1);
		else
			say("pingpong: mode=%s cpus=cross error=only_%ld_cpu\n", modes[m], ncpu);
	}
	say("pingpong: done\n");
	if (pid1) {
		sync();
		reboot(RB_POWER_OFF);   /* does not return on Linux */
	}
	return 0;
}
