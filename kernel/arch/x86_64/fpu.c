/* FPU/SSE/AVX state save and restore: see fpu.h. */
#include "arch/x86_64/fpu.h"
#include "mm/heap.h"
#include "arch/x86_64/cpu.h"
#include "lib/string.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "arch/x86_64/time.h"

extern struct cmdline kernel_cmdline;

static bool use_xsave, use_xsaveopt, decided, fxsave_only;
static uint64_t xcr0;
static size_t area_size = 512;

#define XCR0_X87     (1ul << 0)
#define XCR0_SSE     (1ul << 1)
#define XCR0_AVX     (1ul << 2)
#define XCR0_OPMASK  (1ul << 5)
#define XCR0_ZMM_HI256 (1ul << 6)
#define XCR0_HI16_ZMM  (1ul << 7)

static inline void xsetbv(uint32_t reg, uint64_t v)
{
	__asm__ volatile("xsetbv" :: "c"(reg), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)));
}

/*
 * Whether ring 0 runs on an instruction emulator rather than the CPU: the
 * PVM hypervisor on the development machines emulates guest ring 0 with
 * KVM's instruction emulator, which has FXSAVE/FXRSTOR but not XSAVE or
 * XRSTOR (the VM dies with "emulation failure"). Emulated ring 0 is about
 * a thousand times slower than native (~1.4 us for a two-instruction loop
 * iteration, against ~1 ns under TCG): time a short loop, best of five.
 */
static bool emulated;

bool fpu_ring0_emulated(void)
{
	return emulated;
}

static bool ring0_emulated(void)
{
	uint64_t best = UINT64_MAX;
	for (int t = 0; t < 5; t++) {
		uint64_t t0 = rdtsc();
		for (volatile int i = 0; i < 64; i++)
			;
		uint64_t d = rdtsc() - t0;
		if (d < best)
			best = d;
	}
	/* 64 iterations in more than 16 us: 250 ns each */
	return tsc_khz && best > tsc_khz * 16 / 1000;
}

void fpu_init_cpu(void)
{
	uint32_t a, b, c, d;
	if (!decided) {
		const char *opt = cmdline_get(&kernel_cmdline, "fpu");
		if (opt && !strcmp(opt, "fxsave"))
			fxsave_only = true;
		emulated = ring0_emulated();
		if (!opt || strcmp(opt, "xsave"))
			fxsave_only = fxsave_only || emulated;
		if (fxsave_only)
			pr_info("fpu: FXSAVE only (%s): XCR0 = x87|SSE, no AVX for programs",
				opt ? "fpu=fxsave" : "ring 0 is emulated here");
		decided = true;
	}
	cpuid(1, 0, &a, &b, &c, &d);
	uint64_t cr4 = read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT;
	bool xsave = c & (1u << 26);
	if (xsave)
		cr4 |= CR4_OSXSAVE;
	write_cr4(cr4);
	/* CR0: MP on, EM and TS off: x87/SSE instructions execute. NE: x87
	 * errors as #MF, not the legacy IRQ 13. */
	write_cr0((read_cr0() & ~((1ul << 2) | (1ul << 3))) | (1ul << 1) | (1ul << 5));
	if (!xsave)
		return;
	cpuid(0xD, 0, &a, &b, &c, &d);
	uint64_t supported = ((uint64_t)d << 32) | a;
	/* The user-visible components Linux enables, without the MPX,
	 * PT and AMX ones (their areas are large or need more setup). */
	uint64_t want = XCR0_X87 | XCR0_SSE | XCR0_AVX | XCR0_OPMASK |
			XCR0_ZMM_HI256 | XCR0_HI16_ZMM;
	uint64_t x = supported & want;
	if (fxsave_only) {
		/* FXSAVE saves x87 and SSE only: AVX must stay off, so that
		 * programs (which check XCR0) never put state there. */
		xsetbv(0, supported & (XCR0_X87 | XCR0_SSE));
		return;
	}
	if ((x & (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM)) !=
	    (XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM))
		x &= ~(XCR0_OPMASK | XCR0_ZMM_HI256 | XCR0_HI16_ZMM);
	xsetbv(0, x);
	if (!use_xsave) {
		xcr0 = x;
		cpuid(0xD, 0, &a, &b, &c, &d);
		area_size = ALIGN_UP((size_t)b, 64);  /* for the features now on */
		cpuid(0xD, 1, &a, &b, &c, &d);
		use_xsaveopt = a & 1;
		use_xsave = true;
	}
}

size_t fpu_area_size(void)
{
	return area_size;
}

uint64_t fpu_xcr0(void)
{
	return xcr0;
}

void fpu_area_init(void *area)
{
	memset(area, 0, area_size);
	/* Legacy area: FCW at 0, MXCSR at 24. With XSAVE, XSTATE_BV = 0 in
	 * the header says "init state" for every component, but MXCSR is
	 * still loaded from the area. */
	*(uint16_t *)area = 0x37f;
	*(uint32_t *)((char *)area + 24) = 0x1f80;
}

void fpu_save(void *area)
{
	if (use_xsaveopt)
		__asm__ volatile("xsaveopt64 (%0)" :: "r"(area), "a"((uint32_t)xcr0),
				 "d"((uint32_t)(xcr0 >> 32)) : "memory");
	else if (use_xsave)
		__asm__ volatile("xsave64 (%0)" :: "r"(area), "a"((uint32_t)xcr0),
				 "d"((uint32_t)(xcr0 >> 32)) : "memory");
	else
		__asm__ volatile("fxsave64 (%0)" :: "r"(area) : "memory");
}

void fpu_restore(void *area)
{
	if (use_xsave)
		__asm__ volatile("xrstor64 (%0)" :: "r"(area), "a"((uint32_t)xcr0),
				 "d"((uint32_t)(xcr0 >> 32)) : "memory");
	else
		__asm__ volatile("fxrstor64 (%0)" :: "r"(area) : "memory");
}

void *fpu_area_alloc(void)
{
	/* The heap's debug mode aligns to 16 only: keep the raw pointer just
	 * below the area, where fpu_area_free finds it. */
	size_t sz = fpu_area_size();
	char *raw = kmalloc(sz + 64 + sizeof(void *));
	if (!raw)
		return NULL;
	char *area = (char *)ALIGN_UP((uintptr_t)(raw + sizeof(void *)), 64);
	((void **)area)[-1] = raw;
	fpu_area_init(area);
	return area;
}

void fpu_area_free(void *area)
{
	if (area)
		kfree(((void **)area)[-1]);
}
