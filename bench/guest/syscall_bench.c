/* syscall_bench: the null system call and clock_gettime, in ns per call.
 *
 *   getppid   syscall(SYS_getppid) in a loop: the kernel's round trip
 *             (entry, dispatch, return) with next to no work inside
 *   clock     clock_gettime(CLOCK_MONOTONIC) through the C library: the
 *             vDSO when the kernel gives one (AT_SYSINFO_EHDR), else a
 *             system call
 *
 * Each figure is the median of 7 rounds; a round runs as many calls as take
 * at least 20 ms (found by doubling from 1000), timed with clock_gettime.
 * Prints one line for bench/syscall_bench.py:
 *
 *   syscall_bench: getppid_ns=N clock_gettime_ns=N vdso=0|1 calls=N
 *
 * As PID 1 (the Linux guest's /init) it writes to /dev/console and powers
 * the machine off; otherwise (wisp) it prints to stdout and exits.
 * Built by bench/syscall_bench.py with: musl-gcc -static -O2
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/reboot.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ROUNDS 7

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

static void do_getppid(long n)
{
	for (long i = 0; i < n; i++)
		syscall(SYS_getppid);
}

static void do_clock(long n)
{
	struct timespec t;
	for (long i = 0; i < n; i++) {
		clock_gettime(CLOCK_MONOTONIC, &t);
		__asm__ volatile("" : : "r"(&t) : "memory");
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Median ns per call over ROUNDS rounds of *calls calls each. */
static double measure(void (*fn)(long), long *calls)
{
	long n = 1000;
	for (;;) {
		double t0 = now_ns();
		fn(n);
		if (now_ns() - t0 >= 20e6 || n >= (1L << 26))
			break;
		n *= 2;
	}
	double r[ROUNDS];
	for (int i = 0; i < ROUNDS; i++) {
		double t0 = now_ns();
		fn(n);
		r[i] = (now_ns() - t0) / n;
	}
	qsort(r, ROUNDS, sizeof(r[0]), cmp);
	*calls = n;
	return r[ROUNDS / 2];
}

int main(void)
{
	int pid1 = getpid() == 1;
	long n1, n2;
	double sys_ns = measure(do_getppid, &n1);
	double clk_ns = measure(do_clock, &n2);
	char line[200];
	int len = snprintf(line, sizeof(line),
			   "syscall_bench: getppid_ns=%.1f clock_gettime_ns=%.1f vdso=%d calls=%ld,%ld\n",
			   sys_ns, clk_ns, getauxval(AT_SYSINFO_EHDR) != 0, n1, n2);
	int fd = pid1 ? open("/dev/console", O_WRONLY | O_NOCTTY) : -1;
	if (fd < 0)
		fd = 1;
	if (write(fd, line, (size_t)len) < 0 && fd != 1)
		(void)!write(1, line, (size_t)len);
	if (pid1) {
		sync();
		reboot(RB_POWER_OFF);   /* does not return on Linux */
	}
	return 0;
}
