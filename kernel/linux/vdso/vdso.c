/*
 * The vDSO: a small shared object the kernel maps into every program
 * (AT_SYSINFO_EHDR), so that reading the clocks costs no system call. glibc
 * and musl look its functions up by name and version (LINUX_2.6, as on
 * Linux) and call them instead of making the system call.
 *
 * This is user-space code: built by the Makefile's vDSO rule as a -shared
 * -nostdlib object with its own linker script (vdso.lds), never linked into
 * the kernel; kernel/linux/vdso_image.S embeds the result. It must need no
 * relocation at run time (the build checks), so the data page is reached
 * RIP-relative: vvar_page sits one page below the image (vdso.lds), where
 * kernel/linux/vdso.c maps the kernel's page.
 *
 * The arithmetic is the kernel's own (arch/x86_64/time.c): the same TSC,
 * base and scale, so a clock read here and one read by the system call
 * agree to the nanosecond. Anything this code cannot serve (the CPU-time
 * clocks, unknown clocks, a vvar that says no) goes to the system call.
 */
#include <stdint.h>
#include "linux/vdso/vvar.h"

extern const struct vvar vvar_page __attribute__((visibility("hidden")));

#define CLOCK_REALTIME 0
#define CLOCK_MONOTONIC 1
#define CLOCK_MONOTONIC_RAW 4
#define CLOCK_REALTIME_COARSE 5
#define CLOCK_MONOTONIC_COARSE 6
#define CLOCK_BOOTTIME 7

#define NR_gettimeofday 96
#define NR_time 201
#define NR_clock_gettime 228
#define NR_clock_getres 229
#define NR_getcpu 309

#define NSEC 1000000000ull

struct vdso_timespec { int64_t tv_sec, tv_nsec; };
struct vdso_timeval { int64_t tv_sec, tv_usec; };
struct vdso_timezone { int32_t tz_minuteswest, tz_dsttime; };

static inline long sys3(long nr, long a, long b, long c)
{
	long r;
	__asm__ volatile("syscall" : "=a"(r) : "a"(nr), "D"(a), "S"(b), "d"(c)
			 : "rcx", "r11", "memory");
	return r;
}

/* lfence first: the read is not hoisted above earlier loads, so clock
 * readings are ordered with the program's other memory accesses. */
static inline uint64_t rdtsc_ordered(void)
{
	uint32_t lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((uint64_t)hi << 32) | lo;
}

/* Monotonic time in ns and the realtime offset, read consistently; false
 * when the clocks must be left to the kernel. */
static inline int read_clock(uint64_t *mono, int64_t *offset)
{
	const volatile struct vvar *v = &vvar_page;
	uint32_t seq, flags;
	uint64_t base, mult, tsc;
	int64_t off;
	for (;;) {
		seq = __atomic_load_n(&vvar_page.seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			__builtin_ia32_pause();
			continue;
		}
		flags = v->flags;
		base = v->tsc_base;
		mult = v->ns_per_tsc_32;
		off = v->realtime_offset_ns;
		tsc = rdtsc_ordered();
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&vvar_page.seq, __ATOMIC_RELAXED) == seq)
			break;
	}
	if (!(flags & VVAR_CLOCKS_OK))
		return 0;
	*mono = (uint64_t)(((unsigned __int128)(tsc - base) * mult) >> 32);
	*offset = off;
	return 1;
}

int __vdso_clock_gettime(int clk, struct vdso_timespec *ts)
{
	uint64_t ns;
	int64_t off;
	switch (clk) {
	case CLOCK_REALTIME: case CLOCK_REALTIME_COARSE:
		if (!read_clock(&ns, &off))
			break;
		ns += (uint64_t)off;
		goto out;
	case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW: case CLOCK_MONOTONIC_COARSE:
	case CLOCK_BOOTTIME:      /* never suspended: the same as monotonic */
		if (!read_clock(&ns, &off))
			break;
		goto out;
	}
	return (int)sys3(NR_clock_gettime, clk, (long)ts, 0);
out:
	ts->tv_sec = (int64_t)(ns / NSEC);
	ts->tv_nsec = (int64_t)(ns % NSEC);
	return 0;
}

int __vdso_gettimeofday(struct vdso_timeval *tv, struct vdso_timezone *tz)
{
	uint64_t ns;
	int64_t off;
	if (!read_clock(&ns, &off))
		return (int)sys3(NR_gettimeofday, (long)tv, (long)tz, 0);
	ns += (uint64_t)off;
	if (tv) {
		tv->tv_sec = (int64_t)(ns / NSEC);
		tv->tv_usec = (int64_t)(ns % NSEC / 1000);
	}
	if (tz) {
		tz->tz_minuteswest = 0;          /* UTC, as the system call says */
		tz->tz_dsttime = 0;
	}
	return 0;
}

int64_t __vdso_time(int64_t *t)
{
	uint64_t ns;
	int64_t off;
	if (!read_clock(&ns, &off))
		return sys3(NR_time, (long)t, 0, 0);
	int64_t s = (int64_t)((ns + (uint64_t)off) / NSEC);
	if (t)
		*t = s;
	return s;
}

int __vdso_clock_getres(int clk, struct vdso_timespec *res)
{
	switch (clk) {
	case CLOCK_REALTIME: case CLOCK_MONOTONIC: case CLOCK_MONOTONIC_RAW:
	case CLOCK_BOOTTIME:
		if (!(vvar_page.flags & VVAR_CLOCKS_OK))
			break;
		if (res) {                   /* the TSC: 1 ns, as the kernel says */
			res->tv_sec = 0;
			res->tv_nsec = 1;
		}
		return 0;
	}
	return (int)sys3(NR_clock_getres, clk, (long)res, 0);
}

/* TSC_AUX holds the CPU number on every CPU (the kernel sets it). */
int __vdso_getcpu(unsigned *cpu, unsigned *node, void *cache)
{
	uint32_t flags = vvar_page.flags;
	uint64_t aux;
	if (flags & VVAR_GETCPU_RDPID) {
		__asm__ volatile("rdpid %0" : "=r"(aux));
	} else if (flags & VVAR_GETCPU_RDTSCP) {
		uint32_t lo, hi, c;
		__asm__ volatile("rdtscp" : "=a"(lo), "=d"(hi), "=c"(c));
		aux = c;
	} else {
		return (int)sys3(NR_getcpu, (long)cpu, (long)node, (long)cache);
	}
	if (cpu)
		*cpu = (unsigned)(aux & VVAR_TSC_AUX_CPU_MASK);
	if (node)
		*node = (unsigned)((aux >> 12) & 0xfffff);
	return 0;
}

/* The unprefixed names Linux's vDSO exports too. */
int clock_gettime(int, struct vdso_timespec *)
	__attribute__((weak, alias("__vdso_clock_gettime")));
int gettimeofday(struct vdso_timeval *, struct vdso_timezone *)
	__attribute__((weak, alias("__vdso_gettimeofday")));
int64_t time(int64_t *) __attribute__((weak, alias("__vdso_time")));
int clock_getres(int, struct vdso_timespec *)
	__attribute__((weak, alias("__vdso_clock_getres")));
int getcpu(unsigned *, unsigned *, void *) __attribute__((weak, alias("__vdso_getcpu")));
