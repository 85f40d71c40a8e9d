/* cpio "newc" writer; see cpio_write.h for the format. */
#include "cpio_write.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

static const uint8_t zeros[512];

void cpio_init(struct cpio_writer *w, cpio_sink_fn sink, void *ctx)
{
	memset(w, 0, sizeof(*w));
	w->sink = sink;
	w->ctx = ctx;
	w->next_ino = 1; /* 0 is left for the trailer, like GNU cpio */
}

/* Errors are sticky: the archive is unusable after any failure, and every
 * later call reports the first error. */
static int fail(struct cpio_writer *w, int err)
{
	if (!w->failed) {
		w->failed = 1;
		w->err = err;
	}
	errno = w->err;
	return -1;
}

static int put(struct cpio_writer *w, const void *buf, size_t len)
{
	if (len == 0)
		return 0;
	if (w->sink(w->ctx, buf, len) < 0)
		return fail(w, errno ? errno : EIO);
	w->offset += len;
	return 0;
}

/* Zero bytes up to the next multiple of align (a power of two <= 512). */
static int pad(struct cpio_writer *w, unsigned align)
{
	size_t n = (size_t)((align - (w->offset & (align - 1))) & (align - 1));
	return put(w, zeros, n);
}

static int header(struct cpio_writer *w, const char *name, uint32_t ino, uint32_t mode,
		  uint32_t nlink, uint32_t mtime, uint32_t size)
{
	char h[CPIO_HEADER_SIZE + 1];
	size_t namesize = strlen(name) + 1;

	/* ino mode uid gid nlink mtime filesize devmajor devminor
	 * rdevmajor rdevminor namesize check */
	snprintf(h, sizeof(h),
		 "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 CPIO_NEWC_MAGIC, ino, mode, 0u, 0u, nlink, mtime, size,
		 0u, 0u, 0u, 0u, (uint32_t)namesize, 0u);
	if (put(w, h, CPIO_HEADER_SIZE) < 0 || put(w, name, namesize) < 0)
		return -1;
	return pad(w, 4);
}

int cpio_begin(struct cpio_writer *w, const char *name, uint32_t mode,
	       int64_t mtime, uint64_t size)
{
	size_t len;

	if (w->failed)
		return fail(w, w->err);
	if (w->in_entry || w->finished || !name)
		return fail(w, EINVAL);
	len = strlen(name);
	/* An empty name or the trailer's name would end the archive early. */
	if (len == 0 || strcmp(name, CPIO_TRAILER) == 0)
		return fail(w, EINVAL);
	if (len >= CPIO_MAX_NAME)
		return fail(w, ENAMETOOLONG);
	if (size > CPIO_MAX_FILE_SIZE)
		return fail(w, EFBIG);
	/* The format has 32 unsigned bits of seconds: clamp instead of wrapping. */
	if (mtime < 0)
		mtime = 0;
	if (mtime > (int64_t)UINT32_MAX)
		mtime = UINT32_MAX;
	if (header(w, name, w->next_ino++, mode, S_ISDIR(mode) ? 2 : 1,
		   (uint32_t)mtime, (uint32_t)size) < 0)
		return -1;
	w->in_entry = 1;
	w->owed = size;
	w->entry_size = size;
	return 0;
}

int cpio_data(struct cpio_writer *w, const void *buf, size_t len)
{
	if (w->failed)
		return fail(w, w->err);
	if (!w->in_entry)
		return fail(w, EINVAL);
	/* More data than the header announced would corrupt every later entry. */
	if (len > w->owed)
		return fail(w, EFBIG);
	if (put(w, buf, len) < 0)
		return -1;
	w->owed -= len;
	return 0;
}

int cpio_end(struct cpio_writer *w)
{
	if (w->failed)
		return fail(w, w->err);
	if (!w->in_entry || w->owed != 0)
		return fail(w, EINVAL);
	w->in_entry = 0;
	return pad(w, 4);
}

int cpio_add_dir(struct cpio_writer *w, const char *name, uint32_t perm, int64_t mtime)
{
	if (cpio_begin(w, name, S_IFDIR | (perm & 07777), mtime, 0) < 0)
		return -1;
	return cpio_end(w);
}

int cpio_add_symlink(struct cpio_writer *w, const char *name, const char *target, int64_t mtime)
{
	size_t n = target ? strlen(target) : 0;

	/* The kernel's readlink result is the entry's data; empty is invalid. */
	if (n == 0)
		return fail(w, EINVAL);
	if (cpio_begin(w, name, S_IFLNK | 0777, mtime, n) < 0 ||
	    cpio_data(w, target, n) < 0)
		return -1;
	return cpio_end(w);
}

int cpio_add_file(struct cpio_writer *w, const char *name, uint32_t perm, int64_t mtime,
		  const void *data, size_t size)
{
	if (cpio_begin(w, name, S_IFREG | (perm & 07777), mtime, size) < 0 ||
	    cpio_data(w, data, size) < 0)
		return -1;
	return cpio_end(w);
}

int cpio_finish(struct cpio_writer *w)
{
	if (w->failed)
		return fail(w, w->err);
	if (w->in_entry || w->finished)
		return fail(w, EINVAL);
	if (header(w, CPIO_TRAILER, 0, 0, 1, 0, 0) < 0 || pad(w, 512) < 0)
		return -1;
	w->finished = 1;
	return 0;
}
