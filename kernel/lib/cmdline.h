/*
 * The kernel command line: `key=value` options and flags, then `--` and the
 * program's argv. Tokens are separated by blanks; a token may be written in
 * double quotes, with \" and \\ as escapes, so arguments may hold spaces.
 * Documented in docs/cmdline.md.
 */
#pragma once

#define CMDLINE_MAX_OPTS 64
#define CMDLINE_MAX_ARGS 256

struct cmdline_opt {
	const char *key;
	const char *value;  /* "" for a flag */
};

struct cmdline {
	int nopts;
	struct cmdline_opt opts[CMDLINE_MAX_OPTS];
	int argc;                       /* words after `--` */
	char *argv[CMDLINE_MAX_ARGS + 1];
};

/* Splits buf in place. Returns 0, or -1 when there were more options or
 * arguments than fit (the rest are dropped). */
int cmdline_parse(char *buf, struct cmdline *out);
/* The value of the last `key=...` or flag `key`; NULL when absent. */
const char *cmdline_get(const struct cmdline *c, const char *key);
/* Whether the raw command line has the flag before any `--`, without
 * parsing into memory: usable in early boot. */
bool cmdline_has_flag(const char *raw, const char *flag);
