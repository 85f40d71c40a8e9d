/*
 * cpio newc reader. See cpio.h for the format; every bound is checked with
 * subtraction from the buffer size (never by adding to a position), so no
 * length read from the archive can overflow an addition.
 */
#include "fs/cpio.h"

#ifdef HOST_TEST
#include <string.h>
#else
#include "lib/string.h"
#endif

/* The 13 header fields, in archive order. */
enum {
	F_INO, F_MODE, F_UID, F_GID, F_NLINK, F_MTIME, F_FILESIZE,
	F_DEVMAJOR, F_DEVMINOR, F_RDEVMAJOR, F_RDEVMINOR, F_NAMESIZE, F_CHECK,
	F_COUNT
};

static const char *const field_err[F_COUNT] = {
	"bad hex digit in c_ino",       "bad hex digit in c_mode",
	"bad hex digit in c_uid",       "bad hex digit in c_gid",
	"bad hex digit in c_nlink",     "bad hex digit in c_mtime",
	"bad hex digit in c_filesize",  "bad hex digit in c_devmajor",
	"bad hex digit in c_devminor",  "bad hex digit in c_rdevmajor",
	"bad hex digit in c_rdevminor", "bad hex digit in c_namesize",
	"bad hex digit in c_check",
};

static int cpio_fail(struct cpio_iter *it, const char *why, size_t offset)
{
	it->err = why;
	it->err_offset = offset;
	return -1;
}

static int hexval(uint8_t c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

void cpio_iter_init(struct cpio_iter *it, const void *archive, size_t size)
{
	memset(it, 0, sizeof(*it));
	it->base = archive;
	it->size = size;
}

/* Names a foreign format at the start of a header, for a useful message. */
static const char *bad_magic(const uint8_t *h, size_t avail)
{
	if (avail >= 6 && !memcmp(h, "070707", 6))
		return "old portable cpio format (odc); use newc (cpio -H newc)";
	if (avail >= 2 && ((h[0] == 0xc7 && h[1] == 0x71) || (h[0] == 0x71 && h[1] == 0xc7)))
		return "old binary cpio format; use newc (cpio -H newc)";
	return "bad magic: not a cpio newc header (070701/070702)";
}

int cpio_next(struct cpio_iter *it, struct cpio_entry *e)
{
	if (it->err)
		return -1;
	for (;;) {
		size_t pos = it->pos, size = it->size;
		const uint8_t *b = it->base;

		if (!it->in_archive) {
			/* Between archives: NUL padding, then the next header or the end. */
			while (pos < size && b[pos] == 0)
				pos++;
			if (pos == size) {
				it->pos = pos;
				if (it->archives == 0)
					return cpio_fail(it, "empty archive: no entries and no TRAILER!!!", 0);
				return 0;
			}
			if (pos & 3)
				return cpio_fail(it, "header not 4-byte aligned after padding", pos);
		}

		if (size - pos < CPIO_NEWC_HDR_SIZE) {
			if (size - pos >= 6 && memcmp(b + pos, "07070", 5))
				return cpio_fail(it, bad_magic(b + pos, size - pos), pos);
			return cpio_fail(it, it->in_archive ?
				    "truncated: archive ends inside a header (no TRAILER!!!)" :
				    "truncated header", pos);
		}
		const uint8_t *h = b + pos;
		if (memcmp(h, "07070", 5) || (h[5] != '1' && h[5] != '2'))
			return cpio_fail(it, bad_magic(h, size - pos), pos);
		bool has_check = h[5] == '2';

		uint32_t f[F_COUNT];
		for (int i = 0; i < F_COUNT; i++) {
			uint32_t v = 0;
			for (int j = 0; j < 8; j++) {
				int d = hexval(h[6 + 8 * i + j]);
				if (d < 0)
					return cpio_fail(it, field_err[i], pos + 6 + 8 * i + j);
				v = v << 4 | (uint32_t)d;
			}
			f[i] = v;
		}

		size_t name_off = pos + CPIO_NEWC_HDR_SIZE;
		uint32_t namesize = f[F_NAMESIZE];
		if (namesize == 0)
			return cpio_fail(it, "c_namesize is 0 (the name needs at least its NUL)", pos + 6 + 8 * F_NAMESIZE);
		if (namesize > CPIO_NAME_MAX)
			return cpio_fail(it, "name longer than 4096 bytes", pos + 6 + 8 * F_NAMESIZE);
		if (namesize > size - name_off)
			return cpio_fail(it, "truncated: archive ends inside a name", name_off);
		const char *name = (const char *)b + name_off;
		if (name[namesize - 1] != 0)
			return cpio_fail(it, "name not NUL-terminated at c_namesize", name_off + namesize - 1);
		if (memchr(name, 0, namesize - 1))
			return cpio_fail(it, "NUL byte inside a name (c_namesize too large)", name_off);

		size_t name_end = name_off + namesize;      /* <= size, checked above */
		size_t pad = (4 - (name_end & 3)) & 3;
		if (pad > size - name_end)
			return cpio_fail(it, "truncated: archive ends in the padding after a name", name_end);
		size_t data_off = name_end + pad;
		uint32_t filesize = f[F_FILESIZE];
		if (filesize > size - data_off)
			return cpio_fail(it, "truncated: archive ends inside file data", data_off);
		size_t data_end = data_off + filesize;
		pad = (4 - (data_end & 3)) & 3;
		if (pad > size - data_end)
			return cpio_fail(it, "truncated: archive ends in the padding after file data", data_end);
		size_t next = data_end + pad;

		if (namesize == 11 && !memcmp(name, "TRAILER!!!", 11)) {
			it->in_archive = false;
			it->archives++;
			it->pos = next;
			continue;
		}

		if (has_check && (f[F_MODE] & CPIO_S_IFMT) == CPIO_S_IFREG) {
			uint32_t sum = 0;
			for (size_t i = 0; i < filesize; i++)
				sum += b[data_off + i];
			if (sum != f[F_CHECK])
				return cpio_fail(it, "checksum mismatch (070702 c_check)", data_off);
		}

		e->name = name;
		e->namelen = namesize - 1;
		e->data = b + data_off;
		e->size = filesize;
		e->ino = f[F_INO];
		e->mode = f[F_MODE];
		e->uid = f[F_UID];
		e->gid = f[F_GID];
		e->nlink = f[F_NLINK];
		e->mtime = f[F_MTIME];
		e->devmajor = f[F_DEVMAJOR];
		e->devminor = f[F_DEVMINOR];
		e->rdevmajor = f[F_RDEVMAJOR];
		e->rdevminor = f[F_RDEVMINOR];
		e->offset = pos;
		it->in_archive = true;
		it->pos = next;
		return 1;
	}
}
