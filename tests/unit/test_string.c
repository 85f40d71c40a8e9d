/* Kernel string helpers that differ from libc: parse_u64, strlcpy/strlcat. */
#include "check.h"
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
size_t strlcpy(char *dst, const char *src, size_t size);
size_t strlcat(char *dst, const char *src, size_t size);
bool str_starts_with(const char *s, const char *prefix);
bool parse_u64(const char *s, uint64_t *out);

/* Only the pieces libc lacks are compiled from the kernel file. */
#define KSTRING_EXTRAS_ONLY
#include "../../kernel/lib/string.c"

int main(void)
{
	uint64_t v;
	CHECK(parse_u64("123", &v) && v == 123);
	CHECK(parse_u64("0x1F", &v) && v == 31);
	CHECK(parse_u64("64M", &v) && v == 64ull << 20);
	CHECK(parse_u64("2g", &v) && v == 2ull << 30);
	CHECK(parse_u64("4k", &v) && v == 4096);
	CHECK(!parse_u64("", &v));
	CHECK(!parse_u64("12x", &v));
	CHECK(!parse_u64("99999999999999999999", &v));
	CHECK(!parse_u64("17179869184G", &v));
	char buf[8];
	CHECK(strlcpy(buf, "abcdefghij", sizeof(buf)) == 10 && strcmp(buf, "abcdefg") == 0);
	strcpy(buf, "ab");
	CHECK(strlcat(buf, "cdefghij", sizeof(buf)) == 10 && strcmp(buf, "abcdefg") == 0);
	CHECK(str_starts_with("console=framed", "console="));
	CHECK(!str_starts_with("con", "console"));
	return CHECK_SUMMARY();
}
