/*
 * The MC146818 CMOS real-time clock, read once at boot for the wall clock.
 * It keeps seconds only; its registers may be BCD or binary and the hour
 * 12- or 24-hour, as status register B says. A read racing the once-a-
 * second update can tear, so we wait for update-in-progress to clear and
 * read until two passes agree.
 */
#include "arch/x86_64/clocksource.h"
#include "arch/x86_64/cpu.h"
#include "lib/civil_time.h"

#define CMOS_INDEX 0x70
#define CMOS_DATA  0x71
enum { R_SEC = 0, R_MIN = 2, R_HOUR = 4, R_DAY = 7, R_MONTH = 8, R_YEAR = 9,
       R_STATUS_A = 0x0A, R_STATUS_B = 0x0B };
#define A_UIP     0x80
#define B_24H     0x02
#define B_BINARY  0x04
#define HOUR_PM   0x80

static uint8_t cmos(uint8_t reg)
{
	outb(CMOS_INDEX, reg);
	return inb(CMOS_DATA);
}

static void read_raw(uint8_t r[6])
{
	static const uint8_t regs[6] = { R_SEC, R_MIN, R_HOUR, R_DAY, R_MONTH, R_YEAR };
	/* UIP is set 244 us before an update that lasts under 2 ms. */
	for (unsigned i = 0; i < 100000 && (cmos(R_STATUS_A) & A_UIP); i++)
		cpu_relax();
	for (int i = 0; i < 6; i++)
		r[i] = cmos(regs[i]);
}

static int bcd(uint8_t v, bool binary)
{
	return binary ? v : (v >> 4) * 10 + (v & 0xF);
}

bool rtc_read_unix(int64_t *secs)
{
	uint8_t a[6], b[6];
	read_raw(a);
	for (int tries = 0; tries < 5; tries++) {
		read_raw(b);
		bool same = true;
		for (int i = 0; i < 6; i++)
			same &= a[i] == b[i];
		if (same)
			break;
		for (int i = 0; i < 6; i++)
			a[i] = b[i];
	}
	uint8_t st = cmos(R_STATUS_B);
	if (st == 0xFF && a[0] == 0xFF)
		return false;   /* no RTC: the bus floats */
	bool bin = st & B_BINARY;
	bool pm = a[2] & HOUR_PM;
	struct civil_time t = {
		.sec = bcd(a[0], bin), .min = bcd(a[1], bin), .hour = bcd(a[2] & 0x7F, bin),
		.day = bcd(a[3], bin), .month = bcd(a[4], bin),
		/* No century register we trust: the RTC's years are 2000..2099. */
		.year = 2000 + bcd(a[5], bin),
	};
	if (!(st & B_24H))   /* 12 AM is 0 h, 12 PM is 12 h */
		t.hour = t.hour % 12 + (pm ? 12 : 0);
	if (t.sec > 59 || t.min > 59 || t.hour > 23 || t.day < 1 || t.day > 31 ||
	    t.month < 1 || t.month > 12 || t.year > 2099)
		return false;
	*secs = civil_to_unix(&t);
	return true;
}
