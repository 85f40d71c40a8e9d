/* Find, on the host, every file the dynamic linker will load for a program:
 * its PT_INTERP and the DT_NEEDED closure, searched the way glibc's ld.so
 * does (DT_RPATH, DT_RUNPATH with $ORIGIN, the ld.so.conf directories that
 * ld.so.cache is built from, then the default directories). Like ldd, but
 * nothing is executed: the files are only parsed (elfdeps.h).
 *
 * The search order (for a name without '/', needed by object O):
 *   1. O's DT_RPATH, then the executable's DT_RPATH, unless O has DT_RUNPATH
 *   2. O's DT_RUNPATH
 *   3. the directories of /etc/ld.so.conf (with include globs)
 *   4. /lib/x86_64-linux-gnu /usr/lib/x86_64-linux-gnu /lib64 /lib /usr/lib
 * A candidate must be an ELF64 x86-64 file (32-bit ones are skipped, as
 * ld.so does). LD_LIBRARY_PATH is ignored: the guest does not see the host's
 * environment. */
#ifndef WISP_LIBRESOLVE_H
#define WISP_LIBRESOLVE_H

#include "buf.h"

struct deps_result {
	struct strvec files;  /* host paths as found (not realpath'd): interp first */
	int used_conf_dir;    /* some library came from an ld.so.conf directory
			       * that is not a default one: the guest's ld.so
			       * needs /etc/ld.so.cache to find it */
	int is_elf, is_dynamic;
};

/* Append the directories listed in an ld.so.conf-format file to dirs.
 * Missing files are not an error (returns 0); includes nest up to 8 deep. */
int ldconf_parse(const char *path, struct strvec *dirs);

/* Resolve everything program (an existing host file) needs. conf is the
 * ld.so.conf path ("/etc/ld.so.conf" normally; tests pass their own).
 * Returns 0, or -1 with a one-line reason in err (no "wisp: error:" prefix).
 * A file that is not ELF (a script) yields 0 with is_elf = 0. */
int deps_resolve(const char *program, const char *conf, struct deps_result *res,
		 struct strbuf *err);
void deps_result_free(struct deps_result *res);

#endif
