/* Tiny self-check helpers for guest test programs: each program checks its
 * own results, prints one line per failure and exits 1 if any failed. */
#pragma once
#include <stdio.h>
#include <string.h>
#include <errno.h>

static int guest_failures;

#define EXPECT(cond)                                                        \
	do {                                                                \
		if (!(cond)) {                                              \
			guest_failures++;                                   \
			fprintf(stderr, "%s:%d: FAILED: %s (errno %d %s)\n", \
				__FILE__, __LINE__, #cond, errno, strerror(errno)); \
		}                                                           \
	} while (0)

/* A raw syscall result: -1 with errno e. */
#define EXPECT_ERRNO(call, e)                                               \
	do {                                                                \
		errno = 0;                                                  \
		long r_ = (long)(call);                                     \
		if (r_ != -1 || errno != (e)) {                             \
			guest_failures++;                                   \
			fprintf(stderr, "%s:%d: FAILED: %s = %ld errno %d, want errno %d\n", \
				__FILE__, __LINE__, #call, r_, errno, (e)); \
		}                                                           \
	} while (0)

static inline int guest_done(const char *name)
{
	if (guest_failures)
		fprintf(stderr, "%s: %d check(s) failed\n", name, guest_failures);
	else
		printf("%s: ok\n", name);
	return guest_failures ? 1 : 0;
}
