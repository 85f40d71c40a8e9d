/* cpio "newc" archive writer (the SVR4 format without checksums, magic
 * "070701"): the format Linux's initramfs and the wisp kernel unpack.
 *
 * Pure: the writer never touches the file system. Bytes go to a sink callback,
 * so the same code writes to a file, a pipe or a memory buffer in tests.
 * Names are written exactly as given; the image builder passes them relative
 * ("usr/bin/busybox", no leading '/'), like gen_init_cpio and `cpio -o` do.
 *
 * Layout of one entry: 110-byte ASCII header, name + NUL, zero padding to a
 * multiple of 4, data, zero padding to a multiple of 4. The archive ends with
 * an entry named "TRAILER!!!" and is padded to a 512-byte block like GNU cpio. */
#ifndef WISP_CPIO_WRITE_H
#define WISP_CPIO_WRITE_H

#include <stddef.h>
#include <stdint.h>

#define CPIO_NEWC_MAGIC "070701"
#define CPIO_HEADER_SIZE 110
#define CPIO_TRAILER "TRAILER!!!"
/* newc stores sizes in 8 hex digits. */
#define CPIO_MAX_FILE_SIZE 0xffffffffull
#define CPIO_MAX_NAME 4096

/* Writes len bytes; returns 0, or -1 with errno set. */
typedef int (*cpio_sink_fn)(void *ctx, const void *buf, size_t len);

struct cpio_writer {
	cpio_sink_fn sink;
	void *ctx;
	uint64_t offset;   /* bytes written so far */
	uint32_t next_ino; /* every entry gets its own inode number: no hard links */
	uint64_t owed;     /* data bytes the current entry still expects */
	uint64_t entry_size;
	int in_entry;
	int failed;        /* sticky: after an error every call fails */
	int err;           /* the errno of the first failure */
	int finished;
};

void cpio_init(struct cpio_writer *w, cpio_sink_fn sink, void *ctx);

/* Start an entry: mode is the full st_mode (type and permission bits), size
 * the exact number of data bytes that cpio_data will supply. Returns 0, or -1
 * with errno (EINVAL bad name/state, ENAMETOOLONG, EFBIG, or the sink's). */
int cpio_begin(struct cpio_writer *w, const char *name, uint32_t mode,
	       int64_t mtime, uint64_t size);
int cpio_data(struct cpio_writer *w, const void *buf, size_t len);
/* Close the entry: checks all data arrived, pads to 4. */
int cpio_end(struct cpio_writer *w);

/* One-call helpers built on the three above. perm is masked to 07777. */
int cpio_add_dir(struct cpio_writer *w, const char *name, uint32_t perm, int64_t mtime);
int cpio_add_symlink(struct cpio_writer *w, const char *name, const char *target, int64_t mtime);
int cpio_add_file(struct cpio_writer *w, const char *name, uint32_t perm, int64_t mtime,
		  const void *data, size_t size);

/* Write the trailer and the final padding. */
int cpio_finish(struct cpio_writer *w);

#endif
