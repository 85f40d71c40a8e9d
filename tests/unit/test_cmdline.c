/* The kernel command-line parser: options, flags, quoting, argv. */
#include "check.h"
#include <stdint.h>
#include <stdbool.h>
#include "../../kernel/lib/cmdline.c"

int main(void)
{
	struct cmdline c;
	char a[] = "console=framed  nokaslr loglevel=debug env=A=b -- /bin/prog one \"two words\" \"q\\\"x\\\\\" \"\" --";
	CHECK(cmdline_parse(a, &c) == 0);
	CHECK(c.nopts == 4);
	CHECK(strcmp(cmdline_get(&c, "console"), "framed") == 0);
	CHECK(strcmp(cmdline_get(&c, "nokaslr"), "") == 0);
	CHECK(strcmp(cmdline_get(&c, "env"), "A=b") == 0);
	CHECK(cmdline_get(&c, "missing") == NULL);
	CHECK(c.argc == 6);
	CHECK(strcmp(c.argv[0], "/bin/prog") == 0);
	CHECK(strcmp(c.argv[2], "two words") == 0);
	CHECK(strcmp(c.argv[3], "q\"x\\") == 0);
	CHECK(strcmp(c.argv[4], "") == 0);
	CHECK(strcmp(c.argv[5], "--") == 0);   /* only the first -- separates */
	CHECK(c.argv[6] == NULL);

	/* The last of repeated keys wins. */
	char b[] = "x=1 x=2";
	cmdline_parse(b, &c);
	CHECK(strcmp(cmdline_get(&c, "x"), "2") == 0);
	CHECK(c.argc == 0);

	/* Empty and blank lines. */
	char e[] = "   ";
	CHECK(cmdline_parse(e, &c) == 0 && c.nopts == 0 && c.argc == 0);

	/* Too many options: reported, the rest dropped, no overflow. */
	static char big[CMDLINE_MAX_OPTS * 4 + 100];
	char *p = big;
	for (int i = 0; i < CMDLINE_MAX_OPTS + 10; i++)
		p += sprintf(p, "o%d ", i);
	CHECK(cmdline_parse(big, &c) == -1);
	CHECK(c.nopts == CMDLINE_MAX_OPTS);

	/* Early-boot flag scan stops at --. */
	CHECK(cmdline_has_flag("a nokaslr b", "nokaslr"));
	CHECK(!cmdline_has_flag("a nokaslrx b", "nokaslr"));
	CHECK(!cmdline_has_flag("a -- nokaslr", "nokaslr"));
	CHECK(!cmdline_has_flag("", "nokaslr"));
	return CHECK_SUMMARY();
}
