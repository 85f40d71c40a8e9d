/* Unit tests for tools/wisp/cmdline.c: quoting must round-trip through the
 * kernel's own parser (kernel/lib/cmdline.c, compiled here on the host). */
/* SAN_CFLAGS puts kernel/include on the include path, and its errno.h (Linux's
 * E* values, identical to glibc's on x86-64) shadows libc's <errno.h>, the
 * only header that declares errno. Declare it the way glibc does. */
#include <errno.h>
#ifndef errno
extern int *__errno_location(void);
#define errno (*__errno_location())
#endif

#include "../../tools/wisp/buf.c"
#include "../../tools/wisp/cmdline.c"

#include "check.h"

#include <stdbool.h>

/* The kernel's tokenizer, when it is there to test against. */
#if __has_include("../../kernel/lib/cmdline.c")
#define HAVE_KERNEL_CMDLINE 1
#include <sys/types.h>
#include "../../kernel/lib/cmdline.c"
#endif

static int tok_is(const char *in, const char *want)
{
	struct strbuf b;
	int ok;

	strbuf_init(&b);
	kcmd_add_token(&b, in);
	ok = strcmp(b.s, want) == 0;
	if (!ok)
		fprintf(stderr, "token [%s] -> [%s], want [%s]\n", in, b.s, want);
	strbuf_free(&b);
	return ok;
}

static void test_quoting(void)
{
	CHECK(tok_is("plain", "plain"));
	CHECK(tok_is("env=A=b", "env=A=b"));
	CHECK(tok_is("", "\"\""));
	CHECK(tok_is("a b", "\"a b\""));
	CHECK(tok_is("tab\there", "\"tab\there\""));
	CHECK(tok_is("nl\nx", "\"nl\nx\""));
	CHECK(tok_is("say \"hi\"", "\"say \\\"hi\\\"\""));
	CHECK(tok_is("back\\slash", "\"back\\\\slash\""));
	CHECK(tok_is("'single'", "'single'"));
	CHECK(tok_is("$HOME;|&*", "$HOME;|&*"));
}

static void test_build(void)
{
	const char *opts[] = { "console=framed", "env=GREETING=hello world", "loglevel=debug" };
	const char *argv[] = { "/usr/bin/prog", "--", "", "a\"b", "x y" };
	char *s = kcmd_build(opts, 3, argv, 5);

	CHECK(strcmp(s, "console=framed \"env=GREETING=hello world\" loglevel=debug -- "
			"/usr/bin/prog -- \"\" \"a\\\"b\" \"x y\"") == 0);
	free(s);
	s = kcmd_build(NULL, 0, argv, 1);
	CHECK(strcmp(s, "-- /usr/bin/prog") == 0);
	free(s);
}

#ifdef HAVE_KERNEL_CMDLINE
/* Whatever we write, the kernel reads back the same options and argv. */
static void test_round_trip(void)
{
	const char *opts[] = { "console=framed", "env=K=v w", "env=Q=\"\\", "strace" };
	const char *argv[] = { "/bin/my prog", "--", "", " ", "\\", "\"", "a\tb", "c\nd", "--x" };
	char *s = kcmd_build(opts, 4, argv, 9);
	struct cmdline c;

	CHECK(cmdline_parse(s, &c) == 0);
	CHECK(c.nopts == 4 && c.argc == 9);
	if (c.nopts == 4) {
		CHECK(strcmp(c.opts[0].key, "console") == 0 && strcmp(c.opts[0].value, "framed") == 0);
		CHECK(strcmp(c.opts[1].key, "env") == 0 && strcmp(c.opts[1].value, "K=v w") == 0);
		CHECK(strcmp(c.opts[2].value, "Q=\"\\") == 0);
		CHECK(strcmp(c.opts[3].key, "strace") == 0);
	}
	for (int i = 0; i < 9 && i < c.argc; i++) {
		CHECK(strcmp(c.argv[i], argv[i]) == 0);
		if (strcmp(c.argv[i], argv[i]))
			fprintf(stderr, "arg %d: [%s] want [%s]\n", i, c.argv[i], argv[i]);
	}
	free(s);
}
#endif

static int mem_is(const char *s, long want)
{
	unsigned long v = 0;
	int rc = parse_mem_mib(s, &v);
	if (want < 0)
		return rc < 0;
	return rc == 0 && v == (unsigned long)want;
}

static void test_values(void)
{
	unsigned long n;
	double d;

	CHECK(mem_is("512", 512));
	CHECK(mem_is("64M", 64));
	CHECK(mem_is("64m", 64));
	CHECK(mem_is("64MiB", 64));
	CHECK(mem_is("64MB", 64));
	CHECK(mem_is("1G", 1024));
	CHECK(mem_is("2g", 2048));
	CHECK(mem_is("2048K", 2));
	CHECK(mem_is("1T", 1 << 20));
	CHECK(mem_is("1000K", -1)); /* not whole MiB */
	CHECK(mem_is("0", -1));
	CHECK(mem_is("0M", -1));
	CHECK(mem_is("", -1));
	CHECK(mem_is("M", -1));
	CHECK(mem_is("-1", -1));
	CHECK(mem_is("12Q", -1));
	CHECK(mem_is("12 M", -1));
	CHECK(mem_is("2T", -1));
	CHECK(mem_is("99999999999999999999", -1));
	CHECK(mem_is("18014398509481984G", -1)); /* would overflow when shifted */

	CHECK(parse_count("4", 1, 64, &n) == 0 && n == 4);
	CHECK(parse_count("0", 1, 64, &n) < 0);
	CHECK(parse_count("65", 1, 64, &n) < 0);
	CHECK(parse_count("4x", 1, 64, &n) < 0);
	CHECK(parse_count("-4", 1, 64, &n) < 0);
	CHECK(parse_count("", 1, 64, &n) < 0);

	CHECK(parse_seconds("2", &d) == 0 && d == 2.0);
	CHECK(parse_seconds("0.25", &d) == 0 && d == 0.25);
	CHECK(parse_seconds(".5", &d) == 0 && d == 0.5);
	CHECK(parse_seconds("0", &d) < 0);
	CHECK(parse_seconds("-1", &d) < 0);
	CHECK(parse_seconds("inf", &d) < 0);
	CHECK(parse_seconds("nan", &d) < 0);
	CHECK(parse_seconds("1e9", &d) < 0);
	CHECK(parse_seconds("3s", &d) < 0);
	CHECK(parse_seconds("", &d) < 0);
}

int main(void)
{
	test_quoting();
	test_build();
#ifdef HAVE_KERNEL_CMDLINE
	test_round_trip();
#else
	printf("test_tool_cmdline: kernel/lib/cmdline.c not present, round trip skipped\n");
#endif
	test_values();
	return CHECK_SUMMARY();
}
