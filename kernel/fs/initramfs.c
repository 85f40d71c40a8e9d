/*
 * initramfs: cpio newc archives -> ramfs. The unpacker (initramfs_unpack) is
 * pure and host-tested; initramfs_init is the kernel glue that finds the PVH
 * modules.
 */
#include "fs/initramfs.h"
#include "fs/cpio.h"
#include "fs/ramfs.h"

#ifdef HOST_TEST
#include <stdio.h>
#include <string.h>
#else
#include "lib/printf.h"
#include "lib/string.h"
#endif

#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#endif

/* A regular file seen with nlink >= 2, so later entries with the same
 * (dev, ino) become hard links to it. Valid within one archive. */
struct hardlink {
	struct hardlink *next;
	uint32_t devmajor, devminor, ino;
	struct ramfs_inode *inode;
};

struct unpack {
	struct hardlink *links;
	char *err;
	size_t errlen;
};

static void forget_links(struct unpack *u)
{
	while (u->links) {
		struct hardlink *h = u->links;
		u->links = h->next;
		fs_free(h);
	}
}

/* Drops table entries for an inode about to lose its last name. */
static void forget_inode(struct unpack *u, struct ramfs_inode *i)
{
	for (struct hardlink **pp = &u->links; *pp;) {
		if ((*pp)->inode == i) {
			struct hardlink *h = *pp;
			*pp = h->next;
			fs_free(h);
		} else {
			pp = &(*pp)->next;
		}
	}
}

static int unpack_fail(struct unpack *u, const struct cpio_entry *e, const char *why, int errnum)
{
	if (errnum)
		snprintf(u->err, u->errlen, "%s (errno %d): entry '%.*s' at offset %zu", why,
			 errnum, (int)MIN(e->namelen, (size_t)200), e->name, e->offset);
	else
		snprintf(u->err, u->errlen, "%s: entry '%.*s' at offset %zu", why,
			 (int)MIN(e->namelen, (size_t)200), e->name, e->offset);
	return -1;
}

static void set_attrs(struct ramfs_inode *i, const struct cpio_entry *e)
{
	i->mode = (i->mode & RAMFS_S_IFMT) | (e->mode & 07777);
	i->uid = e->uid;
	i->gid = e->gid;
	i->mtime = i->atime = i->ctime = (struct fs_time){ e->mtime, 0 };
}

/* Descends from dir into the parent component c: created when missing, a
 * symlink followed (as Linux's unpacker, which goes through the VFS, does). */
static int enter_parent(struct unpack *u, const struct cpio_entry *e,
			struct ramfs_inode **dir, const char *c, size_t len)
{
	struct ramfs_inode *child = ramfs_dir_find(*dir, c, len);
	if (!child) {
		static const struct ramfs_attr implied = { .mode = 0755 };
		int r = ramfs_mkdir(*dir, c, len, &implied, &child);
		if (r < 0)
			return unpack_fail(u, e, "cannot create a parent directory", -r);
	} else if (ramfs_is_symlink(child)) {
		struct ramfs_inode *res;
		int r = ramfs_lookup_at(*dir, child->target, true, &res);
		if (r < 0)
			return unpack_fail(u, e, "a parent is a symlink that does not resolve", -r);
		child = res;
	}
	if (!ramfs_is_dir(child))
		return unpack_fail(u, e, "a parent is not a directory", 0);
	*dir = child;
	return 0;
}

static int make_node(struct unpack *u, const struct cpio_entry *e,
		     struct ramfs_inode *dir, const char *name, size_t len)
{
	struct ramfs_attr a = {
		.mode = e->mode & 07777, .uid = e->uid, .gid = e->gid, .mtime = e->mtime,
		.rdev_major = e->rdevmajor, .rdev_minor = e->rdevminor,
	};
	uint32_t type = e->mode & CPIO_S_IFMT;
	struct ramfs_inode *existing = ramfs_dir_find(dir, name, len);
	int r;

	if (existing) {
		if (type == CPIO_S_IFDIR && ramfs_is_dir(existing)) {
			set_attrs(existing, e);
			return 0;
		}
		if (ramfs_is_dir(existing) && existing->dir.entries)
			return unpack_fail(u, e, "would replace a non-empty directory", 0);
		/* A later entry replaces an earlier one, as on Linux. */
		if (existing->nlink <= 1 || ramfs_is_dir(existing))
			forget_inode(u, existing);
		r = ramfs_unlink(dir, name, len);
		if (r < 0)
			return unpack_fail(u, e, "cannot replace an earlier entry", -r);
	}

	switch (type) {
	case CPIO_S_IFDIR:
		r = ramfs_mkdir(dir, name, len, &a, NULL);
		break;
	case CPIO_S_IFREG:
		if (e->nlink >= 2) {
			for (struct hardlink *h = u->links; h; h = h->next) {
				if (h->ino == e->ino && h->devmajor == e->devmajor &&
				    h->devminor == e->devminor) {
					r = ramfs_link(dir, name, len, h->inode);
					if (r == 0 && e->size)
						ramfs_set_data(h->inode, e->data, e->size);
					if (r < 0)
						return unpack_fail(u, e, "cannot create a hard link", -r);
					return 0;
				}
			}
		}
		struct ramfs_inode *file;
		r = ramfs_create(dir, name, len, &a, e->data, e->size, &file);
		if (r == 0 && e->nlink >= 2) {
			struct hardlink *h = fs_alloc(sizeof(*h));
			if (!h)
				return unpack_fail(u, e, "out of memory", ENOMEM);
			h->devmajor = e->devmajor;
			h->devminor = e->devminor;
			h->ino = e->ino;
			h->inode = file;
			h->next = u->links;
			u->links = h;
		}
		break;
	case CPIO_S_IFLNK:
		if (e->size == 0)
			return unpack_fail(u, e, "symlink with an empty target", 0);
		if (e->size >= RAMFS_PATH_MAX)
			return unpack_fail(u, e, "symlink target longer than 4095 bytes", 0);
		if (memchr(e->data, 0, e->size))
			return unpack_fail(u, e, "NUL byte in a symlink target", 0);
		r = ramfs_symlink(dir, name, len, &a, e->data, e->size, NULL);
		break;
	case CPIO_S_IFCHR:
	case CPIO_S_IFBLK:
	case CPIO_S_IFIFO:
	case CPIO_S_IFSOCK:
		r = ramfs_mknod(dir, name, len, type, &a, NULL);
		break;
	default:
		return unpack_fail(u, e, "unknown file type in c_mode", 0);
	}
	if (r < 0)
		return unpack_fail(u, e, r == -ENOMEM ? "out of memory for file system metadata" :
			    "cannot create the entry", -r);
	return 0;
}

static int unpack_entry(struct unpack *u, const struct cpio_entry *e)
{
	struct ramfs_inode *dir = ramfs_root();
	const char *pending = NULL;     /* the last component seen so far */
	size_t pending_len = 0;
	const char *p = e->name, *end = e->name + e->namelen;

	while (p < end) {
		const char *c = p;
		while (p < end && *p != '/')
			p++;
		size_t len = (size_t)(p - c);
		if (p < end)
			p++;
		if (len == 0 || (len == 1 && c[0] == '.'))
			continue;
		if (len == 2 && c[0] == '.' && c[1] == '.')
			return unpack_fail(u, e, "name contains '..'", 0);
		if (len > RAMFS_NAME_MAX)
			return unpack_fail(u, e, "name component longer than 255 bytes", 0);
		if (pending && enter_parent(u, e, &dir, pending, pending_len) < 0)
			return -1;
		pending = c;
		pending_len = len;
	}

	if (!pending) {
		/* "." (or "/"): the root's own attributes. */
		if ((e->mode & CPIO_S_IFMT) != CPIO_S_IFDIR)
			return unpack_fail(u, e, "the root entry is not a directory", 0);
		set_attrs(dir, e);
		return 0;
	}
	return make_node(u, e, dir, pending, pending_len);
}

static const char *compression(const uint8_t *p, size_t n)
{
	if (n >= 2 && p[0] == 0x1f && (p[1] == 0x8b || p[1] == 0x9e))
		return "gzip";
	if (n >= 3 && p[0] == 'B' && p[1] == 'Z' && p[2] == 'h')
		return "bzip2";
	if (n >= 6 && !memcmp(p, "\xfd" "7zXZ\0", 6))
		return "xz";
	if (n >= 3 && p[0] == 0x5d && p[1] == 0 && p[2] == 0)
		return "lzma";
	if (n >= 4 && !memcmp(p, "\x89LZO", 4))
		return "lzo";
	if (n >= 4 && !memcmp(p, "\x02\x21\x4c\x18", 4))
		return "lz4";
	if (n >= 4 && !memcmp(p, "\x28\xb5\x2f\xfd", 4))
		return "zstd";
	return NULL;
}

int initramfs_unpack(const void *archive, size_t size, struct initramfs_stats *st,
		     char *err, size_t errlen)
{
	struct unpack u = { .err = err, .errlen = errlen };
	struct cpio_iter it;
	struct cpio_entry e;
	unsigned archives = 0;
	int r;

	cpio_iter_init(&it, archive, size);
	while ((r = cpio_next(&it, &e)) > 0) {
		if (it.archives != archives) {
			/* Inode numbers are per archive. */
			forget_links(&u);
			archives = it.archives;
		}
		if (unpack_entry(&u, &e) < 0) {
			forget_links(&u);
			return -1;
		}
		st->entries++;
		if (cpio_is_reg(&e))
			st->file_bytes += e.size;
	}
	forget_links(&u);
	st->archives += it.archives;
	if (r == 0)
		return 0;

	size_t off = it.err_offset;
	const char *z = off < size ? compression((const uint8_t *)archive + off, size - off) : NULL;
	if (z && !it.in_archive)
		snprintf(err, errlen, "%s-compressed data at offset %zu: wisp needs an "
			 "uncompressed cpio newc archive (decompress it first)", z, off);
	else
		snprintf(err, errlen, "%s at offset %zu", it.err, off);
	return -1;
}

#ifndef HOST_TEST
#include "arch/x86_64/paging.h"
#include "arch/x86_64/pvh.h"
#include "lib/klog.h"

int initramfs_init(const struct hvm_start_info *si)
{
	if (ramfs_init() < 0) {
		pr_err("initramfs: out of memory for the root directory");
		return -1;
	}
	if (si->nr_modules == 0 || !si->modlist_paddr) {
		pr_info("initramfs: none (no boot module): / is empty");
		return 0;
	}

	struct initramfs_stats st = { 0 };
	const struct hvm_modlist_entry *mods = phys_to_virt(si->modlist_paddr);
	for (uint32_t m = 0; m < si->nr_modules; m++) {
		uint64_t pa = mods[m].paddr, sz = mods[m].size;
		pr_debug("initramfs: module %u at %#lx, %lu bytes", m, pa, sz);
		if (sz == 0)
			continue;
		if (pa > boot_info.direct_map_end || sz > boot_info.direct_map_end - pa) {
			pr_err("initramfs: module %u at %#lx+%#lx lies outside the direct map (ends %#lx)",
			       m, pa, sz, boot_info.direct_map_end);
			return -1;
		}
		char err[320];
		if (initramfs_unpack(phys_to_virt(pa), sz, &st, err, sizeof(err)) < 0) {
			pr_err("initramfs: module %u: %s", m, err);
			return -1;
		}
	}
	pr_info("initramfs: unpacked %lu files (%lu KiB)", st.entries,
		(st.file_bytes + 1023) / 1024);
	pr_debug("initramfs: %lu archive(s), %zu KiB of metadata", st.archives,
		 fs_alloc_in_use() / 1024);
	return 0;
}
#endif
