/*
 * Memory system calls: thin wrappers over mm/vm.c, which has the
 * semantics; here only the argument plumbing (fds, user buffers).
 */
#include "linux/syscall.h"
#include "fs/sys.h"
#include "mm/vm.h"
#include "mm/heap.h"
#include "arch/x86_64/usercopy.h"
#include "errno.h"

static long sys_mmap(uint64_t addr, uint64_t len, int prot, int flags, int fd, uint64_t off)
{
	if (flags & MAP_ANONYMOUS)
		return vm_mmap(addr, len, prot, flags, NULL, 0);
	struct vm_file vf;
	int r = fd_mmap_file(fd, &vf);
	if (r < 0)
		return r;
	if (r == 1)                       /* /dev/zero */
		return vm_mmap(addr, len, prot, flags | MAP_ANONYMOUS, NULL, 0);
	return vm_mmap(addr, len, prot, flags, &vf, off);
}
SYSCALL(9, mmap, sys_mmap, "puxxfx");

static long sys_munmap(uint64_t addr, uint64_t len)
{
	return vm_munmap(addr, len);
}
SYSCALL(11, munmap, sys_munmap, "pu");

static long sys_mprotect(uint64_t addr, uint64_t len, int prot)
{
	return vm_mprotect(addr, len, prot);
}
SYSCALL(10, mprotect, sys_mprotect, "pux");

static long sys_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr)
{
	return vm_mremap(old, old_len, new_len, flags, new_addr);
}
SYSCALL(25, mremap, sys_mremap, "puuxp");

static long sys_madvise(uint64_t addr, uint64_t len, int advice)
{
	return vm_madvise(addr, len, advice);
}
SYSCALL(28, madvise, sys_madvise, "pud");

static long sys_brk(uint64_t addr)
{
	return vm_brk(addr);
}
SYSCALL(12, brk, sys_brk, "p");

static long sys_mincore(uint64_t addr, uint64_t len, uint8_t *uvec)
{
	if (addr & (PAGE_SIZE - 1))
		return -EINVAL;
	uint64_t pages = ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE;
	if (pages > (1ull << 30))
		return -ENOMEM;
	uint8_t chunk[256];
	/* In chunks, so a huge range needs no huge kernel buffer. */
	for (uint64_t done = 0; done < pages; ) {
		uint64_t n = MIN(pages - done, (uint64_t)sizeof(chunk));
		long r = vm_mincore(addr + done * PAGE_SIZE, n * PAGE_SIZE, chunk);
		if (r < 0)
			return r;
		if (copy_to_user(uvec + done, chunk, n) < 0)
			return -EFAULT;
		done += n;
	}
	return 0;
}
SYSCALL(27, mincore, sys_mincore, "pup");

#define MS_ASYNC 1
#define MS_INVALIDATE 2
#define MS_SYNC 4

static long sys_msync(uint64_t addr, uint64_t len, int flags)
{
	if (flags & ~(MS_ASYNC | MS_INVALIDATE | MS_SYNC) ||
	    ((flags & MS_ASYNC) && (flags & MS_SYNC)))
		return -EINVAL;
	/* Private memory only: nothing to write back. */
	return vm_check_mapped(addr, len);
}
SYSCALL(26, msync, sys_msync, "pux");

/* Nothing is ever paged out: locking only checks the range. */
static long sys_mlock(uint64_t addr, uint64_t len)
{
	return vm_check_mapped(ALIGN_DOWN(addr, PAGE_SIZE), len + (addr & (PAGE_SIZE - 1)));
}
SYSCALL(149, mlock, sys_mlock, "pu");

static long sys_munlock(uint64_t addr, uint64_t len)
{
	return vm_check_mapped(ALIGN_DOWN(addr, PAGE_SIZE), len + (addr & (PAGE_SIZE - 1)));
}
SYSCALL(150, munlock, sys_munlock, "pu");

static long sys_mlock2(uint64_t addr, uint64_t len, int flags)
{
	if (flags & ~1)
		return -EINVAL;
	return sys_mlock(addr, len);
}
SYSCALL(325, mlock2, sys_mlock2, "pux");

#define MCL_CURRENT 1
#define MCL_FUTURE  2
#define MCL_ONFAULT 4

static long sys_mlockall(int flags)
{
	if (!flags || (flags & ~(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT)))
		return -EINVAL;
	return 0;
}
SYSCALL(151, mlockall, sys_mlockall, "x");

static long sys_munlockall(void)
{
	return 0;
}
SYSCALL(152, munlockall, sys_munlockall, "");
