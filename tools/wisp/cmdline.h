/* Text the tool produces or accepts, kept pure so it can be unit-tested:
 * the kernel command line, and the values of -m, -c and --timeout. */
#ifndef WISP_CMDLINE_H
#define WISP_CMDLINE_H

#include <stddef.h>

#include "buf.h"

/* Append one kernel command line token. A token that is empty or contains a
 * blank (space, tab, newline, CR), '"' or '\' is written in double quotes,
 * with '"' and '\' escaped by a backslash; others are written as is. This is
 * exactly what kernel/lib/cmdline.c undoes. */
void kcmd_add_token(struct strbuf *b, const char *tok);

/* "OPT OPT ... -- PROGRAM ARG ...": kernel options, then the program's guest
 * path and its arguments, each token quoted as above. Malloc'd. */
char *kcmd_build(const char *const *opts, size_t n_opts, const char *const *argv, size_t argc);

/* Memory size: "512" (MiB), "64M", "1G", "2048K", "1T", optional "B"/"iB"
 * suffix after the unit, case-insensitive. Must be a whole number of MiB
 * between 1 MiB and 1 TiB. Returns 0 and *mib, or -1. */
int parse_mem_mib(const char *s, unsigned long *mib);
/* A decimal count in [min, max]. Returns 0 or -1. */
int parse_count(const char *s, unsigned long min, unsigned long max, unsigned long *out);
/* Seconds, fractions allowed ("2", "0.5", "1e1"); must be > 0 and finite,
 * at most 30 days. Returns 0 or -1. */
int parse_seconds(const char *s, double *out);

#endif
