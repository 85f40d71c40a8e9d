/*
 * A reader for cpio "newc" archives (magic 070701, and 070702 whose header
 * also carries a checksum of the data): the format of Linux initramfs images
 * and of `cpio -o -H newc`.
 *
 * Pure: no allocation, no kernel headers; the host unit tests include cpio.c.
 * Entries point into the archive, nothing is copied. Every length is checked
 * against the end of the buffer before it is used, so a truncated or corrupt
 * archive yields an error naming the offset, never a read past the end.
 *
 * One entry: a 110-byte ASCII header (magic + 13 fields of 8 hex digits),
 * the name with its NUL, zero padding to a multiple of 4 (counted from the
 * start of the archive), the data, zero padding to a multiple of 4. The
 * archive ends with an entry named "TRAILER!!!". Like Linux, archives may be
 * concatenated: NUL bytes after a trailer are skipped, and a new header may
 * follow.
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define CPIO_NEWC_HDR_SIZE  110
#define CPIO_NAME_MAX       4096    /* incl. the NUL, like PATH_MAX */

/* File type bits of c_mode (the st_mode values, shared by every Unix). */
#define CPIO_S_IFMT   0170000
#define CPIO_S_IFSOCK 0140000
#define CPIO_S_IFLNK  0120000
#define CPIO_S_IFREG  0100000
#define CPIO_S_IFBLK  0060000
#define CPIO_S_IFDIR  0040000
#define CPIO_S_IFCHR  0020000
#define CPIO_S_IFIFO  0010000

struct cpio_entry {
	const char *name;        /* NUL-terminated, inside the archive */
	size_t namelen;          /* without the NUL */
	const void *data;        /* inside the archive; size bytes */
	uint32_t size;
	uint32_t ino, mode, uid, gid, nlink, mtime;
	uint32_t devmajor, devminor, rdevmajor, rdevminor;
	size_t offset;           /* of the header, from the start of the archive */
};

struct cpio_iter {
	const uint8_t *base;
	size_t size;
	size_t pos;              /* next header */
	bool in_archive;         /* between a first header and its trailer */
	unsigned archives;       /* trailers seen */
	/* After cpio_next returned -1: why, and where (a byte offset). */
	const char *err;
	size_t err_offset;
};

void cpio_iter_init(struct cpio_iter *it, const void *archive, size_t size);

/* The next entry: 1 with *e filled in, 0 at the clean end (the trailer of the
 * last archive, then only NUL padding), -1 on a malformed archive (it->err,
 * it->err_offset say why; calling again returns -1 again). Trailers are not
 * returned as entries. */
int cpio_next(struct cpio_iter *it, struct cpio_entry *e);

static inline bool cpio_is_dir(const struct cpio_entry *e)
{
	return (e->mode & CPIO_S_IFMT) == CPIO_S_IFDIR;
}
static inline bool cpio_is_reg(const struct cpio_entry *e)
{
	return (e->mode & CPIO_S_IFMT) == CPIO_S_IFREG;
}
static inline bool cpio_is_symlink(const struct cpio_entry *e)
{
	return (e->mode & CPIO_S_IFMT) == CPIO_S_IFLNK;
}
