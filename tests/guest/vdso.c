/* The vDSO: present (AT_SYSINFO_EHDR), a well-formed ELF exporting the
 * LINUX_2.6 symbols the C libraries look for, and agreeing with the system
 * calls. The program prints how many clock system calls it made itself:
 * run with the kernel's `strace` flag, the trace must show exactly those
 * (tests/system/test_vdso.py), proving the C library used the vDSO.
 *
 *   vdso [loops]     the checks, then `loops` timed calls each way
 *   vdso unmap       munmap the vDSO and its data page, map memory there
 */
#include <elf.h>
#include <link.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include "check.h"

static int kernel_clock_calls;      /* clock_gettime system calls we caused */

static int64_t ts_ns(const struct timespec *t)
{
	return (int64_t)t->tv_sec * 1000000000 + t->tv_nsec;
}

static int64_t raw_ns(clockid_t c)
{
	struct timespec t;
	kernel_clock_calls++;
	EXPECT(syscall(SYS_clock_gettime, c, &t) == 0);
	return ts_ns(&t);
}

static int64_t libc_ns(clockid_t c)
{
	struct timespec t;
	EXPECT(clock_gettime(c, &t) == 0);
	return ts_ns(&t);
}

/* The dynamic symbol name, defined, with version LINUX_2.6. */
static int has_symbol(const ElfW(Ehdr) *eh, const char *name)
{
	const ElfW(Phdr) *ph = (const void *)((const char *)eh + eh->e_phoff);
	uintptr_t bias = 0;
	const ElfW(Dyn) *dyn = NULL;
	for (int i = 0; i < eh->e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD && !bias)
			bias = (uintptr_t)eh + ph[i].p_offset - ph[i].p_vaddr;
		if (ph[i].p_type == PT_DYNAMIC)
			dyn = (const void *)((const char *)eh + ph[i].p_offset);
	}
	if (!dyn)
		return 0;
	const uint32_t *hash = NULL;
	const ElfW(Sym) *sym = NULL;
	const char *str = NULL;
	const uint16_t *versym = NULL;
	const ElfW(Verdef) *verdef = NULL;
	for (; dyn->d_tag != DT_NULL; dyn++) {
		const void *p = (const void *)(bias + dyn->d_un.d_ptr);
		switch (dyn->d_tag) {
		case DT_HASH: hash = p; break;
		case DT_SYMTAB: sym = p; break;
		case DT_STRTAB: str = p; break;
		case DT_VERSYM: versym = p; break;
		case DT_VERDEF: verdef = p; break;
		}
	}
	if (!hash || !sym || !str || !versym || !verdef)
		return 0;
	for (uint32_t i = 0; i < hash[1]; i++) {
		if (strcmp(str + sym[i].st_name, name) || sym[i].st_shndx == SHN_UNDEF)
			continue;
		for (const ElfW(Verdef) *d = verdef;;
		     d = (const void *)((const char *)d + d->vd_next)) {
			const ElfW(Verdaux) *a = (const void *)((const char *)d + d->vd_aux);
			if (d->vd_ndx == (versym[i] & 0x7fff))
				return !strcmp(str + a->vda_name, "LINUX_2.6");
			if (!d->vd_next)
				break;
		}
	}
	return 0;
}

#ifdef __GLIBC__
static int found_by_ldso;
static int phdr_cb(struct dl_phdr_info *info, size_t size, void *eh)
{
	(void)size;
	for (int i = 0; i < info->dlpi_phnum; i++)
		if (info->dlpi_phdr[i].p_type == PT_LOAD &&
		    info->dlpi_addr + info->dlpi_phdr[i].p_vaddr == (uintptr_t)eh)
			found_by_ldso = 1;
	return 0;
}
#endif

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec + t.tv_nsec / 1e9;
}

static int unmap_test(uintptr_t eh)
{
	/* The data page sits one page below the code; the code is < 2 pages. */
	uintptr_t start = eh - 4096;
	EXPECT(munmap((void *)start, 3 * 4096) == 0);
	char *p = mmap((void *)start, 3 * 4096, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	EXPECT(p == (char *)start);
	for (int i = 0; i < 3 * 4096; i++)
		EXPECT(p[i] == 0);          /* fresh zero pages, not the old data */
	memset(p, 0x5a, 3 * 4096);
	EXPECT(munmap(p, 3 * 4096) == 0);
	struct timespec t;
	EXPECT(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &t) == 0);
	return guest_done("vdso unmap");
}

int main(int argc, char **argv)
{
	uintptr_t eh = getauxval(AT_SYSINFO_EHDR);
	EXPECT(eh != 0);
	if (!eh)
		return guest_done("vdso");
	if (argc > 1 && !strcmp(argv[1], "unmap"))
		return unmap_test(eh);
	long loops = argc > 1 ? atol(argv[1]) : 20000;

	const ElfW(Ehdr) *e = (const void *)eh;
	EXPECT(!memcmp(e->e_ident, ELFMAG, SELFMAG));
	EXPECT(e->e_type == ET_DYN && e->e_machine == EM_X86_64);
	static const char *const names[] = {
		"__vdso_clock_gettime", "__vdso_gettimeofday", "__vdso_time",
		"__vdso_getcpu", "__vdso_clock_getres",
	};
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!has_symbol(e, names[i])) {
			guest_failures++;
			fprintf(stderr, "vdso: no %s@LINUX_2.6\n", names[i]);
		}
#ifdef __GLIBC__
	dl_iterate_phdr(phdr_cb, (void *)eh);
	EXPECT(found_by_ldso);          /* ld.so set the vDSO up as linux-vdso.so.1 */
#endif

	/* Monotonic, and between two system-call readings (same clock,
	 * same arithmetic: no slack needed beyond the ordering). */
	for (int i = 0; i < 1000; i++) {
		int64_t a = raw_ns(CLOCK_MONOTONIC), b = libc_ns(CLOCK_MONOTONIC);
		int64_t c = libc_ns(CLOCK_MONOTONIC), d = raw_ns(CLOCK_MONOTONIC);
		if (!(a <= b && b <= c && c <= d)) {
			guest_failures++;
			fprintf(stderr, "vdso: monotonic out of order: %lld %lld %lld %lld\n",
				(long long)a, (long long)b, (long long)c, (long long)d);
			break;
		}
	}
	static const clockid_t clocks[] = {
		CLOCK_MONOTONIC_RAW, CLOCK_MONOTONIC_COARSE, CLOCK_BOOTTIME,
		CLOCK_REALTIME, CLOCK_REALTIME_COARSE,
	};
	for (size_t i = 0; i < sizeof(clocks) / sizeof(clocks[0]); i++) {
		int64_t a = raw_ns(clocks[i]), b = libc_ns(clocks[i]);
		if (b - a < 0 || b - a > 5000000) {
			guest_failures++;
			fprintf(stderr, "vdso: clock %d: syscall %lld, libc %lld\n", (int)clocks[i],
				(long long)a, (long long)b);
		}
	}
	/* The wall clock: after 2020, gettimeofday and time agree with it.
	 * (First calls once: lazy binding and first-touch page faults are
	 * slow under some hypervisors, and not what is measured here.) */
	struct timeval tv;
	gettimeofday(&tv, NULL);
	time(NULL);
	int64_t rt = libc_ns(CLOCK_REALTIME);
	EXPECT(rt / 1000000000 > 1577836800);
	EXPECT(gettimeofday(&tv, NULL) == 0);
	int64_t tv_ns = (int64_t)tv.tv_sec * 1000000000 + tv.tv_usec * 1000;
	if (!(tv_ns - rt > -1000 && tv_ns - rt < 5000000)) {
		guest_failures++;
		fprintf(stderr, "vdso: gettimeofday %lld ns after clock_gettime\n",
			(long long)(tv_ns - rt));
	}
	time_t t0 = time(NULL);
	EXPECT(t0 >= rt / 1000000000 && t0 - rt / 1000000000 <= 1);
	time_t t1;
	EXPECT(time(&t1) >= t0 && t1 >= t0);

	/* Resolution: what the system call says. */
	struct timespec r1, r2;
	EXPECT(clock_getres(CLOCK_MONOTONIC, &r1) == 0);
	EXPECT(syscall(SYS_clock_getres, CLOCK_MONOTONIC, &r2) == 0);
	EXPECT(r1.tv_sec == r2.tv_sec && r1.tv_nsec == r2.tv_nsec);
	EXPECT(clock_getres(CLOCK_REALTIME, NULL) == 0);

	/* Clocks the vDSO leaves to the kernel still work through it. */
	struct timespec ct;
	kernel_clock_calls++;
	EXPECT(clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ct) == 0);
	kernel_clock_calls++;
	errno = 0;
	EXPECT(clock_gettime((clockid_t)1234, &ct) == -1 && errno == EINVAL);

	/* getcpu: the same answer as the system call (one CPU here, or a
	 * CPU number in range). */
	int cpu = sched_getcpu();
	unsigned kcpu = 99;
	EXPECT(syscall(SYS_getcpu, &kcpu, NULL, NULL) == 0);
	EXPECT(cpu >= 0 && cpu < (int)sysconf(_SC_NPROCESSORS_CONF));
	if (sysconf(_SC_NPROCESSORS_CONF) == 1)
		EXPECT(cpu == 0 && kcpu == 0);

	/* Timed: informative (the trace check is the proof). */
	struct timespec ts;
	double s0 = now_s();
	for (long i = 0; i < loops; i++)
		clock_gettime(CLOCK_MONOTONIC, &ts);
	double s1 = now_s();
	for (long i = 0; i < loops; i++)
		syscall(SYS_clock_gettime, CLOCK_MONOTONIC, &ts);
	double s2 = now_s();
	kernel_clock_calls += (int)loops;
	if (loops)
		printf("vdso: clock_gettime %.1f ns through libc, %.1f ns by syscall\n",
		       (s1 - s0) * 1e9 / loops, (s2 - s1) * 1e9 / loops);
	printf("vdso: clock_gettime syscalls made: %d\n", kernel_clock_calls);
	return guest_done("vdso");
}
