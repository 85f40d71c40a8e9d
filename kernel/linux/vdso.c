/*
 * The vDSO's kernel half: the data page and the mapping.
 *
 * The data page is allocated once and shared: every program maps the same
 * physical page, read-only, one page below the vDSO code, and the kernel
 * writes it through the direct map. Its leaf carries PTE_KERNEL_PAGE so
 * that unmapping it (munmap, the next program's vm_reset) leaves the page
 * to us instead of freeing it. The code pages are the program's own copy
 * of the image (ordinary anonymous pages, made read+exec), which keeps the
 * rest of the memory code unaware of the vDSO.
 *
 * A program could mprotect its data page writable and scribble on it; it
 * only misleads its own clocks, and vdso_map rewrites every field before
 * the next program maps it.
 */
#include "linux/vdso.h"
#include "linux/vdso/vvar.h"
#include "mm/vm.h"
#include "mm/page_alloc.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/pgtable.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/usercopy.h"
#include "sched/spinlock.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/string.h"

#define CR4_TSD (1ul << 2)          /* RDTSC only in ring 0 */

extern const uint8_t vdso_image_start[], vdso_image_end[];
extern struct cmdline kernel_cmdline;

static struct vvar *vvar;          /* the shared page, through the direct map */
static uint64_t vvar_phys;
static uint32_t vvar_flags;
static spinlock_t vvar_lock = SPINLOCK_INIT;

void vdso_update(void)
{
	if (!vvar)
		return;
	struct clock_params p;
	clock_get_params(&p);
	uint64_t f = spin_lock_irqsave(&vvar_lock);
	/* seqlock writer: odd while the fields change. x86 keeps stores in
	 * order; the barriers keep the compiler from moving them. */
	uint32_t seq = READ_ONCE(vvar->seq);
	if (seq & 1)
		seq++;                     /* left odd by a program's scribbling */
	WRITE_ONCE(vvar->seq, seq + 1);
	barrier();
	WRITE_ONCE(vvar->flags, vvar_flags);
	WRITE_ONCE(vvar->tsc_base, p.tsc_base);
	WRITE_ONCE(vvar->ns_per_tsc_32, p.ns_per_tsc_32);
	WRITE_ONCE(vvar->realtime_offset_ns, p.realtime_offset_ns);
	barrier();
	WRITE_ONCE(vvar->seq, seq + 2);
	spin_unlock_irqrestore(&vvar_lock, f);
}

/* What getcpu may use: TSC_AUX holds the CPU number wherever RDTSCP or
 * RDPID exist (percpu_init sets it on every CPU, under the same test). */
static uint32_t getcpu_flags(void)
{
	uint32_t a, b, c, d, max;
	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		if (c & (1u << 22))
			return VVAR_GETCPU_RDPID;
	}
	cpuid(0x80000000, 0, &max, &b, &c, &d);
	if (max >= 0x80000001) {
		cpuid(0x80000001, 0, &a, &b, &c, &d);
		if (d & (1u << 27))
			return VVAR_GETCPU_RDTSCP;
	}
	return 0;
}

static bool vvar_setup(void)
{
	static bool failed;
	if (vvar || failed)
		return vvar != NULL;
	uint64_t phys = page_alloc(0);
	if (!phys) {
		failed = true;
		pr_warn("vdso: no memory for the data page: programs make system calls for the time");
		return false;
	}
	struct vvar *v = phys_to_virt(phys);
	memset(v, 0, PAGE_SIZE);
	/* The clocks need user-mode RDTSC: CR4.TSD clear. */
	vvar_flags = getcpu_flags() | ((read_cr4() & CR4_TSD) ? 0 : VVAR_CLOCKS_OK);
	vvar_phys = phys;
	vvar = v;
	pr_debug("vdso: %lu-byte image, clocks %s, getcpu by %s",
		 (uint64_t)(vdso_image_end - vdso_image_start),
		 vvar_flags & VVAR_CLOCKS_OK ? "in user space" : "by system call",
		 vvar_flags & VVAR_GETCPU_RDPID ? "rdpid" :
		 vvar_flags & VVAR_GETCPU_RDTSCP ? "rdtscp" : "system call");
	return true;
}

uint64_t vdso_map(void)
{
	const char *opt = cmdline_get(&kernel_cmdline, "vdso");
	if (opt && !strcmp(opt, "0"))
		return 0;
	if (!vvar_setup())
		return 0;
	vdso_update();

	size_t len = (size_t)(vdso_image_end - vdso_image_start);
	uint64_t size = ALIGN_UP((uint64_t)len, PAGE_SIZE);
	long base = vm_mmap(0, PAGE_SIZE + size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, NULL, 0);
	if (base < 0)
		goto fail;
	uint64_t code = (uint64_t)base + PAGE_SIZE;
	/* The code: filled while writable, then read+exec. */
	if (vm_mmap(code, size, PROT_READ | PROT_WRITE,
		    MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED | MAP_POPULATE, NULL, 0) < 0 ||
	    copy_to_user((void *)code, vdso_image_start, len) < 0 ||
	    vm_mprotect(code, size, PROT_READ | PROT_EXEC) < 0)
		goto unmap;
	/* The data: our page itself. The program is not running yet, so
	 * nothing else touches its page tables. Counted as resident, as
	 * vm.c uncounts every leaf it clears. */
	if (pt_map((uint64_t)base, vvar_phys, pt_leaf_flags(PT_READ) | PTE_KERNEL_PAGE) < 0)
		goto unmap;
	vm_current()->pages++;
	return code;
unmap:
	vm_munmap((uint64_t)base, PAGE_SIZE + size);
fail:
	pr_warn("vdso: cannot map the vDSO: the program makes system calls for the time");
	return 0;
}
