/* Tiny check harness for host unit tests.
 *
 *   CHECK(cond)       count one check; on failure print file:line and the
 *                     expression to stderr and keep going (so one run shows
 *                     every failure, not just the first)
 *   CHECK_SUMMARY()   print "name: N checks, M failed" as the last line and
 *                     evaluate to the exit code: return CHECK_SUMMARY();
 *
 * Counters are atomic so tests may CHECK from several threads. */
#pragma once

#include <stdio.h>
#include <string.h>

static unsigned long check_count_, check_failed_;

#define CHECK(cond)                                                         \
	do {                                                                \
		__atomic_fetch_add(&check_count_, 1, __ATOMIC_RELAXED);     \
		if (!(cond)) {                                              \
			__atomic_fetch_add(&check_failed_, 1, __ATOMIC_RELAXED); \
			fprintf(stderr, "%s:%d: CHECK failed: %s\n",        \
				__FILE__, __LINE__, #cond);                 \
		}                                                           \
	} while (0)

/* The test's name is its source file name without directory and ".c". */
static inline int check_summary_(const char *file)
{
	const char *name = strrchr(file, '/');
	name = name ? name + 1 : file;
	int len = (int)strlen(name);
	if (len > 2 && strcmp(name + len - 2, ".c") == 0)
		len -= 2;
	printf("%.*s: %lu checks, %lu failed\n", len, name, check_count_,
	       check_failed_);
	fflush(stdout);
	return check_failed_ ? 1 : 0;
}

#define CHECK_SUMMARY() check_summary_(__BASE_FILE__)
