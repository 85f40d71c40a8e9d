/* Messages and small host helpers shared by the non-pure parts of the tool.
 * Every failure of the tool itself is one line "wisp: error: ..." on stderr
 * and exit status 125 (docker's convention); see docs/usage.md. */
#ifndef WISP_UTIL_H
#define WISP_UTIL_H

#include <stddef.h>
#include <sys/types.h>

#define WISP_VERSION "0.1.0"

#define EXIT_TIMEOUT 124 /* --timeout expired (as timeout(1)) */
#define EXIT_TOOL 125    /* wisp itself failed: usage, packing, QEMU */

extern int wisp_verbose;

void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void warn_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with --verbose. */
void info_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Write all of buf, retrying on EINTR and short writes (and waiting on
 * EAGAIN if fd is non-blocking). Returns 0, or -1 with errno. */
int write_all(int fd, const void *buf, size_t len);

/* The first file named name in $PATH that is a regular file with mode
 * (R_OK, X_OK, ...) access; malloc'd, or NULL. An empty $PATH element is
 * the current directory, as for execvp. */
char *find_in_path(const char *name, int mode);

/* The directory holding the running wisp binary; malloc'd, or NULL. */
char *self_dir(void);

#endif
