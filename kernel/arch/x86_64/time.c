/*
 * Monotonic and wall clocks on the TSC. Reading a clock is one rdtsc and a
 * 64x64->128 multiply by a 32.32 fixed-point scale: no division, no lock,
 * the same arithmetic a vDSO can do in ring 3.
 */
#include "arch/x86_64/time.h"
#include "arch/x86_64/clocksource.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "lib/civil_time.h"
#include "lib/klog.h"
#include "lib/selftest.h"

uint64_t tsc_khz;
const char *tsc_khz_source = "none";
static uint64_t ns_per_tsc_32;   /* ns per TSC tick, 32.32 */
static uint64_t tsc_per_ns_32;   /* TSC ticks per ns, 32.32 */
static int64_t realtime_offset;  /* realtime = monotonic + offset */
static const char *wall_source = "none";

uint64_t tsc_to_ns(uint64_t d)
{
	return (uint64_t)(((unsigned __int128)d * ns_per_tsc_32) >> 32);
}

uint64_t ns_to_tsc(uint64_t ns)
{
	unsigned __int128 t = (unsigned __int128)ns * tsc_per_ns_32;
	uint64_t r = (uint64_t)(t >> 32) + ((uint32_t)t != 0);
	return t >> 96 ? UINT64_MAX : r;
}

uint64_t monotonic_ns_to_tsc(uint64_t ns)
{
	uint64_t t = ns_to_tsc(ns);
	return t > UINT64_MAX - boot_info.entry_tsc ? UINT64_MAX : t + boot_info.entry_tsc;
}

uint64_t clock_monotonic_ns(void)
{
	return tsc_to_ns(rdtsc() - boot_info.entry_tsc);
}

uint64_t clock_realtime_ns(void)
{
	return clock_monotonic_ns() + READ_ONCE(realtime_offset);
}

void clock_get_params(struct clock_params *p)
{
	p->tsc_base = boot_info.entry_tsc;
	p->ns_per_tsc_32 = ns_per_tsc_32;
	p->realtime_offset_ns = READ_ONCE(realtime_offset);
}

void clock_set_realtime_ns(uint64_t ns)
{
	WRITE_ONCE(realtime_offset, (int64_t)(ns - clock_monotonic_ns()));
}

static bool sane_khz(uint64_t khz)
{
	return khz >= 100000 && khz <= 20000000;   /* 100 MHz .. 20 GHz */
}

/* CPUID's word on the TSC rate: leaf 0x15 (crystal x ratio), leaf 0x16's
 * base frequency when 0x15 gives the ratio but not the crystal, or the
 * hypervisor timing leaf 0x40000010 (VMware's, also QEMU's). */
static bool tsc_khz_from_cpuid(uint64_t *khz, const char **src)
{
	uint32_t a, b, c, d, max;
	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 0x15) {
		cpuid(0x15, 0, &a, &b, &c, &d);
		if (a && b && c && sane_khz((uint64_t)c * b / a / 1000)) {
			*khz = (uint64_t)c * b / a / 1000;
			*src = "cpuid-0x15";
			return true;
		}
		uint32_t ratio_a = a, ratio_b = b;
		if (max >= 0x16 && ratio_a && ratio_b) {
			cpuid(0x16, 0, &a, &b, &c, &d);
			if (sane_khz((uint64_t)(a & 0xFFFF) * 1000)) {
				*khz = (uint64_t)(a & 0xFFFF) * 1000;
				*src = "cpuid-0x16";
				return true;
			}
		}
	}
	cpuid(1, 0, &a, &b, &c, &d);
	if ((c >> 31) & 1) {   /* running under a hypervisor */
		cpuid(0x40000000, 0, &max, &b, &c, &d);
		if (max >= 0x40000010 && max < 0x40010000) {
			cpuid(0x40000010, 0, &a, &b, &c, &d);
			if (sane_khz(a)) {
				*khz = a;
				*src = "cpuid-0x40000010";
				return true;
			}
		}
	}
	return false;
}

static void set_tsc_khz(uint64_t khz, const char *src)
{
	tsc_khz = khz;
	tsc_khz_source = src;
	ns_per_tsc_32 = (1000000ull << 32) / khz;
	tsc_per_ns_32 = (khz << 32) / 1000000;
}

static void log_wall_clock(void)
{
	struct civil_time t;
	uint64_t now = clock_realtime_ns();
	unix_to_civil((int64_t)(now / 1000000000), &t);
	pr_info("time: wall clock %04d-%02d-%02d %02d:%02d:%02d UTC from %s",
		t.year, t.month, t.day, t.hour, t.min, t.sec, wall_source);
}

void time_init(void)
{
	uint64_t khz, wall_ns, wall_tsc;
	const char *src;
	bool kvm_wall = false;
	if (kvmclock_read(&khz, &wall_ns, &wall_tsc) && sane_khz(khz)) {
		set_tsc_khz(khz, "kvmclock");
		kvm_wall = true;
	} else if (tsc_khz_from_cpuid(&khz, &src)) {
		set_tsc_khz(khz, src);
	} else if (pit_calibrate_tsc(1000, &khz) && sane_khz(khz)) {
		/* 1 ms: on the boot path under TCG; edge-aligned, so within ~0.1%. */
		set_tsc_khz(khz, "pit");
	} else {
		pr_warn("time: no way to measure the TSC (no kvmclock, CPUID leaf or PIT); guessing 2 GHz");
		set_tsc_khz(2000000, "guess");
	}
	pit_quiesce();   /* whatever the firmware left running there */

	if (kvm_wall) {
		realtime_offset = (int64_t)(wall_ns - tsc_to_ns(wall_tsc - boot_info.entry_tsc));
		wall_source = "kvmclock";
	} else {
		int64_t secs;
		if (rtc_read_unix(&secs)) {
			clock_set_realtime_ns((uint64_t)secs * 1000000000ull);
			wall_source = "CMOS RTC";
		} else {
			pr_warn("time: no RTC; the wall clock starts at the epoch");
			clock_set_realtime_ns(0);
		}
	}

	uint32_t a, b, c, d;
	cpuid(0x80000000, 0, &a, &b, &c, &d);
	bool invariant = false;
	if (a >= 0x80000007) {
		cpuid(0x80000007, 0, &a, &b, &c, &d);
		invariant = (d >> 8) & 1;
	}
	pr_info("time: TSC %lu kHz from %s%s", tsc_khz, tsc_khz_source,
		invariant ? "" : " (CPU does not report an invariant TSC; assumed constant)");
	log_wall_clock();
}

static int clock_selftest(void)
{
	int bad = 0;
	uint64_t prev = clock_monotonic_ns();
	for (int i = 0; i < 100000; i++) {
		uint64_t now = clock_monotonic_ns();
		if (now < prev) {
			pr_err("clock: monotonic went back from %lu to %lu ns", prev, now);
			bad++;
			break;
		}
		prev = now;
	}
	const uint64_t y2020 = 1577836800ull * 1000000000ull;
	if (clock_realtime_ns() < y2020) {
		pr_err("clock: realtime %lu ns is before 2020-01-01", clock_realtime_ns());
		bad++;
	}
	/* The set path keeps the rate. */
	uint64_t saved = clock_realtime_ns();
	clock_set_realtime_ns(y2020);
	uint64_t r = clock_realtime_ns();
	clock_set_realtime_ns(saved + (r - y2020));
	if (r < y2020 || r - y2020 > 1000000000ull) {
		pr_err("clock: set realtime to 2020 and read back %lu", r);
		bad++;
	}
	pr_info("clock: 100k monotonic reads in order, last %lu ns; TSC %lu kHz (%s)",
		prev, tsc_khz, tsc_khz_source);
	return bad;
}
SELFTEST("clock", clock_selftest);
