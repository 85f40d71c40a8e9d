/* The kernel's vsnprintf against the host C library's, format by format. */
#include "check.h"
#include <stdint.h>
#include <stdarg.h>
#include <stdbool.h>
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define vsnprintf kvsnprintf
#define snprintf ksnprintf
#include "../../kernel/lib/printf.c"
#undef vsnprintf
#undef snprintf

#define SAME(...)                                                          \
	do {                                                               \
		char want[256], got[256];                                  \
		int wn = snprintf(want, sizeof(want), __VA_ARGS__);        \
		int gn = ksnprintf(got, sizeof(got), __VA_ARGS__);         \
		CHECK(wn == gn);                                           \
		CHECK(strcmp(want, got) == 0);                             \
		if (strcmp(want, got))                                     \
			fprintf(stderr, "  want '%s' got '%s'\n", want, got); \
	} while (0)

int main(void)
{
	SAME("plain");
	SAME("%d %i %u", 42, -17, 3000000000u);
	SAME("%ld %lu %lld %llu", -1l, 18446744073709551615ul, -9223372036854775807ll - 1, 1ull);
	SAME("%x %X %#x %#X %o %#o", 0xbeef, 0xBEEF, 255, 255, 8, 8);
	SAME("%5d|%-5d|%05d|%+d|% d", 42, 42, 42, 42, 42);
	SAME("%.3d|%8.3d|%-8.3d|%.0d|", 7, 7, 7, 0);
	SAME("%s|%10s|%-10s|%.2s|%*s|%-*s|", "abc", "abc", "abc", "abc", 6, "x", 6, "y");
	SAME("%c%c%3c%-3c|", 'a', 'b', 'c', 'd');
	SAME("%p %p", (void *)0x1234, (void *)0xffff800000000000);
	SAME("%zu %zd %hhu %hd", (size_t)123, (ssize_t)-5, 300, 70000);
	SAME("100%%");
	SAME("%016lx|%#018lx", 0xdeadbeeful, 0x1ul);

	/* Truncation: returns the full length, always terminates. */
	char small[5];
	int n = ksnprintf(small, sizeof(small), "hello world %d", 12);
	CHECK(n == 14);
	CHECK(strcmp(small, "hell") == 0);
	CHECK(ksnprintf(NULL, 0, "%d", 12345) == 5);
	return CHECK_SUMMARY();
}
