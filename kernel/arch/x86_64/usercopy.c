/*
 * Checked access to user memory: range checks here, the copies in
 * usercopy.S, and the fault fixups.
 */
#include "arch/x86_64/usercopy.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/cpu.h"
#include "lib/klog.h"
#include "lib/cmdline.h"

extern struct cmdline kernel_cmdline;
#include "errno.h"

size_t __copy_user(void *dst, const void *src, size_t n);
size_t __clear_user(void *dst, size_t n);
long __strncpy_user(char *dst, const char *src, size_t n);

struct fixup {
	int32_t insn, fix;     /* relative to the field itself */
};
extern const struct fixup usercopy_fixups_start[], usercopy_fixups_end[];

uint8_t usercopy_smap;

int copy_from_user(void *dst, const void *usrc, size_t n)
{
	if (!user_range_ok((uint64_t)usrc, n))
		return -EFAULT;
	return __copy_user(dst, usrc, n) ? -EFAULT : 0;
}

int copy_to_user(void *udst, const void *src, size_t n)
{
	if (!user_range_ok((uint64_t)udst, n))
		return -EFAULT;
	return __copy_user(udst, src, n) ? -EFAULT : 0;
}

int clear_user(void *udst, size_t n)
{
	if (!user_range_ok((uint64_t)udst, n))
		return -EFAULT;
	return __clear_user(udst, n) ? -EFAULT : 0;
}

long strncpy_from_user(char *dst, const char *usrc, size_t size)
{
	uint64_t p = (uint64_t)usrc;
	if (!size)
		return -ENAMETOOLONG;
	if (!user_range_ok(p, 1))
		return -EFAULT;
	/* Never read past the end of the lower half. */
	size_t n = MIN(size, USER_END - p);
	long r = __strncpy_user(dst, usrc, n);
	if (r < 0)
		return r;
	if ((size_t)r == n)
		return n < size ? -EFAULT : -ENAMETOOLONG;
	return r;
}

static const struct fixup *find_fixup(uint64_t rip)
{
	for (const struct fixup *f = usercopy_fixups_start; f < usercopy_fixups_end; f++)
		if ((uint64_t)&f->insn + (int64_t)f->insn == rip)
			return f;
	return NULL;
}

bool usercopy_fixup_target(uint64_t rip)
{
	return find_fixup(rip) != NULL;
}

bool usercopy_fixup(struct trap_frame *tf)
{
	const struct fixup *f = find_fixup(tf->rip);
	if (!f)
		return false;
	tf->rip = (uint64_t)&f->fix + (int64_t)f->fix;
	return true;
}

void usercopy_init(void)
{
	uint32_t a, b, c, d;
	cpuid(0, 0, &a, &b, &c, &d);
	if (a < 7)
		return;
	cpuid(7, 0, &a, &b, &c, &d);
	uint64_t cr4 = read_cr4();
	/* `nosmep` / `nosmap` turn them off, as on Linux. */
	if ((b & (1u << 7)) && !cmdline_get(&kernel_cmdline, "nosmep"))
		cr4 |= CR4_SMEP;
	if ((b & (1u << 20)) && !cmdline_get(&kernel_cmdline, "nosmap"))
		cr4 |= CR4_SMAP;
	write_cr4(cr4);
	usercopy_smap = (cr4 & CR4_SMAP) != 0;
	pr_debug("usercopy: SMEP %s, SMAP %s", cr4 & CR4_SMEP ? "on" : "off",
		 usercopy_smap ? "on" : "off");
}
