/*
 * The 8254 PIT, only as a ruler: channel 0 counts down at 1.193182 MHz,
 * which measures the TSC when nothing better says how fast it runs. We
 * poll channel 0 (port 0x61 and channel 2 are absent on microvm) and never
 * let it interrupt: mode 0 raises its output once at terminal count and
 * then stays quiet, unlike the periodic mode 2 the BIOS leaves running.
 */
#include "arch/x86_64/clocksource.h"
#include "arch/x86_64/cpu.h"

#define PIT_HZ   1193182u
#define PIT_CH0  0x40
#define PIT_CMD  0x43
#define CMD_CH0_LOHI_MODE0 0x30
#define CMD_LATCH_CH0      0x00

static uint16_t pit_read(void)
{
	outb(PIT_CMD, CMD_LATCH_CH0);
	uint8_t lo = inb(PIT_CH0);
	return lo | (uint16_t)inb(PIT_CH0) << 8;
}

void pit_quiesce(void)
{
	outb(PIT_CMD, CMD_CH0_LOHI_MODE0);
	outb(PIT_CH0, 0);
	outb(PIT_CH0, 0);
}

bool pit_calibrate_tsc(unsigned window_us, uint64_t *tsc_khz)
{
	uint32_t window = (uint32_t)((uint64_t)window_us * PIT_HZ / 1000000);
	if (window < 100 || window > 60000)
		return false;
	outb(PIT_CMD, CMD_CH0_LOHI_MODE0);
	outb(PIT_CH0, 0xFF);
	outb(PIT_CH0, 0xFF);
	/* Both ends are taken just after the count ticks, so the time to read
	 * the PIT cancels out instead of adding up. Edges are taken only from
	 * a quick read: a slow one (under TCG: code being translated, a host
	 * timer) leaves the TSC sample far from the tick. The first passes
	 * through the loop are for warming up. */
	uint16_t count = pit_read();
	uint64_t t0 = 0, t1 = 0, fastest = UINT64_MAX;
	uint32_t elapsed = 0;
	uint16_t start = 0;
	for (unsigned reads = 0, edges = 0; reads < 1000000; reads++) {
		uint64_t a = rdtsc();
		uint16_t now = pit_read();
		uint64_t cost = rdtsc() - a;
		if (now == count)
			continue;
		uint16_t was = count;
		count = now;
		fastest = MIN(fastest, cost);
		if (++edges < 4 || cost > 2 * fastest || (uint16_t)(was - now) != 1)
			continue;
		if (!t0) {
			t0 = a;
			start = now;
			continue;
		}
		elapsed = (uint16_t)(start - now);
		if (elapsed >= window) {
			t1 = a;
			break;
		}
	}
	if (!t1)
		return false;
	*tsc_khz = (t1 - t0) * PIT_HZ / elapsed / 1000;
	return *tsc_khz != 0;
}
