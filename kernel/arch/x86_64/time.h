/*
 * Clocks. The TSC drives both clocks: it is assumed invariant (constant
 * rate, synchronized across CPUs), which is what KVM and QEMU give guests
 * and what CPUID 0x80000007:EDX[8] promises on hardware; boot logs a note
 * when that bit is absent. Its frequency comes from kvmclock, else CPUID
 * (0x15/0x16, hypervisor leaf 0x40000010), else a short PIT measurement.
 * The wall clock is read once (kvmclock or the CMOS RTC) and then kept
 * as an offset from the monotonic clock.
 */
#pragma once

void time_init(void);
/* Nanoseconds since the kernel's first instruction. */
uint64_t clock_monotonic_ns(void);
/* Nanoseconds since the Unix epoch (wall clock). */
uint64_t clock_realtime_ns(void);
/* Sets the wall clock (settimeofday / clock_settime(CLOCK_REALTIME)). */
void clock_set_realtime_ns(uint64_t ns);
uint64_t tsc_to_ns(uint64_t tsc_delta);
/* TSC ticks in ns nanoseconds, rounded up. */
uint64_t ns_to_tsc(uint64_t ns);
/* The TSC value at monotonic time ns (for TSC-deadline timers). */
uint64_t monotonic_ns_to_tsc(uint64_t ns);
extern uint64_t tsc_khz;

/* Everything a reader needs to compute the clocks itself (a vDSO page):
 * monotonic_ns = ((rdtsc() - tsc_base) * ns_per_tsc_32) >> 32 (128-bit
 * product), realtime_ns = monotonic_ns + realtime_offset_ns. */
struct clock_params {
	uint64_t tsc_base;
	uint64_t ns_per_tsc_32;
	int64_t realtime_offset_ns;
};
void clock_get_params(struct clock_params *p);
/* "kvmclock", "cpuid-0x15", "cpuid-0x40000010", "pit" or "guess". */
extern const char *tsc_khz_source;
