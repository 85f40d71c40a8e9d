/*
 * kvmclock (pvclock ABI, Documentation/virt/kvm/x86/msr.rst): the host
 * writes, into guest memory we name by MSR, the TSC->ns scale it uses and
 * the wall-clock time at its system_time zero. We read both once: the
 * scale gives the TSC frequency exactly, the wall clock the time of day to
 * the nanosecond. The structures are then released (MSR written 0): the
 * clocks run on the TSC alone.
 */
#include "arch/x86_64/clocksource.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"

#define KVM_FEATURE_CLOCKSOURCE  (1u << 0)
#define KVM_FEATURE_CLOCKSOURCE2 (1u << 3)
#define MSR_KVM_WALL_CLOCK       0x11
#define MSR_KVM_SYSTEM_TIME      0x12
#define MSR_KVM_WALL_CLOCK_NEW   0x4b564d00
#define MSR_KVM_SYSTEM_TIME_NEW  0x4b564d01

struct pvclock_vcpu_time_info {
	uint32_t version;
	uint32_t pad0;
	uint64_t tsc_timestamp;
	uint64_t system_time;
	uint32_t tsc_to_system_mul;
	int8_t tsc_shift;
	uint8_t flags;
	uint8_t pad[2];
} __packed;

struct pvclock_wall_clock {
	uint32_t version;
	uint32_t sec;
	uint32_t nsec;
} __packed;

static struct pvclock_vcpu_time_info vcpu_time __aligned(64);
static struct pvclock_wall_clock wall_clock __aligned(16);

/* The KVM leaves: base 0x40000000, or 0x40000100 when a Hyper-V
 * interface sits first. Returns the features word, 0 when not KVM. */
static uint32_t kvm_features(void)
{
	uint32_t a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!((c >> 31) & 1))
		return 0;
	for (uint32_t base = 0x40000000; base <= 0x40000100; base += 0x100) {
		cpuid(base, 0, &a, &b, &c, &d);
		if (b == 0x4b4d564b && c == 0x564b4d56 && d == 0x4d)   /* "KVMKVMKVM\0\0\0" */
			return a >= base + 1 ? (cpuid(base + 1, 0, &a, &b, &c, &d), a) : 0;
	}
	return 0;
}

/* ns elapsed over a TSC delta at the pvclock scale. */
static uint64_t scale(uint64_t delta, uint32_t mul, int8_t shift)
{
	if (shift < 0)
		delta >>= -shift;
	else
		delta <<= shift;
	return (uint64_t)(((unsigned __int128)delta * mul) >> 32);
}

bool kvmclock_read(uint64_t *tsc_khz, uint64_t *wall_ns, uint64_t *tsc_at)
{
	uint32_t f = kvm_features();
	uint32_t msr_time, msr_wall;
	if (f & KVM_FEATURE_CLOCKSOURCE2) {
		msr_time = MSR_KVM_SYSTEM_TIME_NEW;
		msr_wall = MSR_KVM_WALL_CLOCK_NEW;
	} else if (f & KVM_FEATURE_CLOCKSOURCE) {
		msr_time = MSR_KVM_SYSTEM_TIME;
		msr_wall = MSR_KVM_WALL_CLOCK;
	} else {
		return false;
	}
	/* The host fills both during the MSR writes. */
	wrmsr(msr_wall, kernel_virt_to_phys(&wall_clock));
	wrmsr(msr_time, kernel_virt_to_phys(&vcpu_time) | 1);

	struct pvclock_vcpu_time_info t;
	uint32_t v;
	do {
		v = READ_ONCE(vcpu_time.version);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		t = vcpu_time;
		*tsc_at = rdtsc();
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != READ_ONCE(vcpu_time.version));
	struct pvclock_wall_clock w;
	do {
		v = READ_ONCE(wall_clock.version);
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		w = wall_clock;
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
	} while ((v & 1) || v != READ_ONCE(wall_clock.version));
	wrmsr(msr_time, 0);

	if (!t.tsc_to_system_mul)
		return false;
	uint64_t khz = (1000000ull << 32) / t.tsc_to_system_mul;
	khz = t.tsc_shift < 0 ? khz << -t.tsc_shift : khz >> t.tsc_shift;
	*tsc_khz = khz;
	/* Wall clock now = host boot epoch + guest system time now. */
	uint64_t sys_now = t.system_time + scale(*tsc_at - t.tsc_timestamp,
						 t.tsc_to_system_mul, t.tsc_shift);
	*wall_ns = (uint64_t)w.sec * 1000000000ull + w.nsec + sys_now;
	return khz != 0;
}
