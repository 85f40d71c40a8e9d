/* What an x86-64 ELF file needs from the dynamic linker, read from its bytes
 * without running anything (the host's ldd runs the program's interpreter,
 * which is unsafe for untrusted files and impossible for foreign ones).
 *
 * Pure: parses a buffer the caller has read or mapped. Every offset and string
 * is bounds-checked, so a truncated or hostile file yields an error, never a
 * crash. */
#ifndef WISP_ELFDEPS_H
#define WISP_ELFDEPS_H

#include <stddef.h>
#include <stdint.h>

struct elf_deps {
	uint16_t type;      /* ET_EXEC or ET_DYN */
	int dynamic;        /* has PT_DYNAMIC */
	char *interp;       /* PT_INTERP, or NULL (static, static-PIE, libraries) */
	char **needed;      /* DT_NEEDED names, in order */
	size_t n_needed;
	char *rpath;        /* DT_RPATH, DT_RUNPATH, DT_SONAME, or NULL */
	char *runpath;
	char *soname;
};

/* Quick check used while searching library directories: is this the start of
 * a little-endian ELF64 x86-64 file? (glibc skips 32-bit and foreign
 * libraries found on its path; so do we.) */
int elf_is_x86_64(const void *buf, size_t len);

/* Parse buf. Returns 0 on success. On failure returns -1 and sets *why to a
 * static description ("not an ELF file", "32-bit ELF", ...). Free the result
 * with elf_deps_free even after a failure. */
int elf_deps_parse(const void *buf, size_t len, struct elf_deps *out, const char **why);
void elf_deps_free(struct elf_deps *d);

/* Expand the dynamic string tokens of an rpath element: $ORIGIN / ${ORIGIN}
 * (the directory of the object), $LIB / ${LIB} (Debian's multiarch
 * "lib/x86_64-linux-gnu") and $PLATFORM / ${PLATFORM} ("x86_64"). Malloc'd. */
char *elf_expand_tokens(const char *s, const char *origin);

#endif
