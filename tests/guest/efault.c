/* Bad pointers passed to system calls give EFAULT, never a crash. Raw
 * syscall() so the C library does not touch the pointers itself. */
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include "check.h"

#define KERNEL_ADDR ((void *)0xffff800000001000ull)
#define UNMAPPED    ((void *)0x10000ull)
#define NONCANON    ((void *)0x0000900000000000ull)

int main(void)
{
	char buf[64];
	EXPECT_ERRNO(syscall(SYS_write, 1, UNMAPPED, 5), EFAULT);
	EXPECT_ERRNO(syscall(SYS_write, 1, KERNEL_ADDR, 5), EFAULT);
	EXPECT_ERRNO(syscall(SYS_write, 1, NONCANON, 5), EFAULT);
	EXPECT_ERRNO(syscall(SYS_open, UNMAPPED, O_RDONLY), EFAULT);
	EXPECT_ERRNO(syscall(SYS_open, KERNEL_ADDR, O_RDONLY), EFAULT);
	EXPECT_ERRNO(syscall(SYS_uname, NULL), EFAULT);
	EXPECT_ERRNO(syscall(SYS_uname, KERNEL_ADDR), EFAULT);
	EXPECT_ERRNO(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, KERNEL_ADDR), EFAULT);
	EXPECT_ERRNO(syscall(SYS_getrandom, NONCANON, 16, 0), EFAULT);

	/* A read-only page cannot be written by the kernel either. */
	char *ro = mmap(NULL, 4096, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(ro != MAP_FAILED);
	EXPECT_ERRNO(syscall(SYS_getrandom, ro, 16, 0), EFAULT);
	EXPECT_ERRNO(syscall(SYS_uname, ro), EFAULT);
	/* ... but it can be read, and a not-yet-touched page is paged in. */
	EXPECT(syscall(SYS_write, 1, ro, 0) == 0);

	/* A buffer crossing from mapped into unmapped memory. */
	char *two = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(two != MAP_FAILED);
	EXPECT(munmap(two + 4096, 4096) == 0);
	EXPECT_ERRNO(syscall(SYS_getrandom, two + 4096 - 8, 16, 0), EFAULT);
	/* A string running into the unmapped page. */
	memset(two, 'a', 4096);
	EXPECT_ERRNO(syscall(SYS_open, two + 100, O_RDONLY), EFAULT);

	/* Demand paging during a copy: a fresh page as the destination. */
	char *fresh = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	EXPECT(syscall(SYS_getrandom, fresh, 16, 0) == 16);
	struct timespec *ts = (struct timespec *)(fresh + 64);
	EXPECT(syscall(SYS_clock_gettime, CLOCK_MONOTONIC, ts) == 0);

	/* A path longer than PATH_MAX. */
	char *long_path = malloc(8192);
	memset(long_path, 'a', 8191);
	long_path[8191] = 0;
	EXPECT_ERRNO(syscall(SYS_open, long_path, O_RDONLY), ENAMETOOLONG);
	(void)buf;
	return guest_done("efault");
}
