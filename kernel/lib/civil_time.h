/* Calendar dates <-> seconds since the Unix epoch (proleptic Gregorian,
 * UTC, no leap seconds). Pure; tested on the host (test_civil_time.c). */
#pragma once
#include <stdint.h>

struct civil_time {
	int year, month, day;     /* month 1..12, day 1..31 */
	int hour, min, sec;
};

int64_t civil_to_unix(const struct civil_time *t);
void unix_to_civil(int64_t secs, struct civil_time *t);
