/* Calendar <-> Unix seconds, against dates known by heart and a sweep. */
#include "check.h"
#include "../../kernel/lib/civil_time.c"

static int64_t u(int y, int mo, int d, int h, int mi, int s)
{
	struct civil_time t = { y, mo, d, h, mi, s };
	return civil_to_unix(&t);
}

int main(void)
{
	CHECK(u(1970, 1, 1, 0, 0, 0) == 0);
	CHECK(u(2000, 1, 1, 0, 0, 0) == 946684800);
	CHECK(u(2000, 2, 29, 12, 0, 0) == 951825600);
	CHECK(u(2020, 1, 1, 0, 0, 0) == 1577836800);
	CHECK(u(2038, 1, 19, 3, 14, 8) == 2147483648ll);
	CHECK(u(2100, 3, 1, 0, 0, 0) == 4107542400ll);
	CHECK(u(1969, 12, 31, 23, 59, 59) == -1);

	/* Every day from 1900 to 2200 round-trips and follows the previous one. */
	struct civil_time t, prev = { 0 };
	int bad = 0;
	for (int64_t day = -25567; day < 84000; day++) {
		unix_to_civil(day * 86400 + 3661, &t);
		if (civil_to_unix(&t) != day * 86400 + 3661 || t.hour != 1 || t.min != 1 || t.sec != 1)
			bad++;
		if (prev.year && !(t.day == prev.day + 1 ||
				   (t.day == 1 && (t.month == prev.month + 1 ||
						   (t.month == 1 && t.year == prev.year + 1)))))
			bad++;
		prev = t;
	}
	CHECK(bad == 0);
	unix_to_civil(951825600, &t);
	CHECK(t.year == 2000 && t.month == 2 && t.day == 29 && t.hour == 12);
	unix_to_civil(-1, &t);
	CHECK(t.year == 1969 && t.month == 12 && t.day == 31 && t.sec == 59);
	return CHECK_SUMMARY();
}
