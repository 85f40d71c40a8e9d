/* ksym_find: the address -> function+offset lookup behind kernel backtraces. */
#include "check.h"
#include "../../kernel/arch/x86_64/ksym.c"

static const char names[] = "alpha\0beta\0beta_alias\0label\0gamma\0inner\0last";
enum { ALPHA = 0, BETA = 6, BETA_ALIAS = 11, LABEL = 22, GAMMA = 28, INNER = 34, LAST = 40 };

static const struct ksym table[] = {
	{ 0x1000, 0x40, ALPHA },
	{ 0x1040, 0x00, BETA_ALIAS },   /* zero-size alias listed first */
	{ 0x1040, 0x20, BETA },
	{ 0x1080, 0x00, LABEL },        /* assembly label without .size */
	{ 0x1100, 0x100, GAMMA },
	{ 0x1120, 0x10, INNER },        /* a sized local symbol inside gamma */
	{ 0x2000, 0x00, LAST },         /* unsized and last: no upper bound */
};
#define N (sizeof(table) / sizeof(table[0]))

static bool find(uint64_t addr, const char **name, uint64_t *off)
{
	return ksym_find(table, N, names, sizeof(names), addr, name, off);
}

static bool is(uint64_t addr, const char *want, uint64_t want_off)
{
	const char *name = NULL;
	uint64_t off = ~0ull;
	return find(addr, &name, &off) && strcmp(name, want) == 0 && off == want_off;
}

int main(void)
{
	const char *name;
	uint64_t off;

	CHECK(!find(0, &name, &off));
	CHECK(!find(0xfff, &name, &off));
	CHECK(is(0x1000, "alpha", 0));
	CHECK(is(0x103f, "alpha", 0x3f));
	/* The sized alias wins over the unsized one at the same address. */
	CHECK(is(0x1040, "beta", 0));
	CHECK(is(0x105f, "beta", 0x1f));
	/* Past beta's end but before the label: only the unsized alias
	 * reaches, up to the next symbol. */
	CHECK(is(0x1060, "beta_alias", 0x20));
	CHECK(is(0x107f, "beta_alias", 0x3f));
	/* The label runs up to the next symbol. */
	CHECK(is(0x1080, "label", 0));
	CHECK(is(0x10ff, "label", 0x7f));
	CHECK(is(0x1100, "gamma", 0));
	CHECK(is(0x1125, "inner", 5));
	/* After the nested symbol ends, the enclosing function again. */
	CHECK(is(0x1130, "gamma", 0x30));
	CHECK(is(0x11ff, "gamma", 0xff));
	/* Between gamma's end and the last symbol: nothing. */
	CHECK(!find(0x1200, &name, &off));
	/* The unsized last symbol has no known end. */
	CHECK(!find(0x2000, &name, &off));
	CHECK(!find(~0ull, &name, &off));

	/* Empty and missing tables. */
	CHECK(!ksym_find(table, 0, names, sizeof(names), 0x1000, &name, &off));
	CHECK(!ksym_find(NULL, 3, names, sizeof(names), 0x1000, &name, &off));
	CHECK(!ksym_find(table, N, NULL, 0, 0x1000, &name, &off));
	/* A name offset outside the names blob is no answer, not a wild read. */
	struct ksym bad[] = { { 0x10, 0x10, 4096 } };
	CHECK(!ksym_find(bad, 1, names, sizeof(names), 0x12, &name, &off));

	/* A larger table: every address maps to its own function. */
	static struct ksym big[1000];
	static char bignames[1000 * 8];
	size_t pos = 0;
	for (unsigned i = 0; i < 1000; i++) {
		big[i] = (struct ksym){ 0xffffffff80000000ull + i * 0x100, 0xf0, pos };
		pos += (size_t)sprintf(bignames + pos, "f%u", i) + 1;
	}
	int bad_count = 0;
	for (unsigned i = 0; i < 1000; i++) {
		uint64_t a = big[i].addr + (i % 0xf0);
		char want[16];
		sprintf(want, "f%u", i);
		if (!ksym_find(big, 1000, bignames, pos, a, &name, &off) ||
		    strcmp(name, want) || off != i % 0xf0)
			bad_count++;
		/* The 16-byte gap after each function belongs to nobody. */
		if (ksym_find(big, 1000, bignames, pos, big[i].addr + 0xf8, &name, &off))
			bad_count++;
	}
	CHECK(bad_count == 0);
	return CHECK_SUMMARY();
}
