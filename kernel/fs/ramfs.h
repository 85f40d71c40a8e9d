/*
 * ramfs: the in-memory tree that is `/`. Directories, regular files,
 * symlinks and special files (device nodes, FIFOs, sockets: stored, not
 * interpreted) with Unix attributes and ramfs-assigned inode numbers.
 *
 * It is the tree and the file contents: the initramfs unpacker
 * (initramfs.c) fills it, tmpfs.c puts it under the VFS (fs/vfs.h) as `/`,
 * /tmp and /dev/shm. Regular file data from the image is not copied: a file
 * points at bytes that stay valid for the life of the file (the initrd
 * module memory, which therefore must never be freed) until its first
 * write, which moves it into pages of its own (copy on first write).
 *
 * Memory for metadata comes only from fs_alloc/fs_free (fs_alloc.c), so the
 * tree does not depend on which kernel heap is up. Pure otherwise: the host
 * unit tests include ramfs.c and provide fs_alloc with calloc.
 *
 * Timestamps: set when a node is created; the VFS updates them afterwards
 * (so the unpacker keeps the archive's).
 * Errors are negative Linux errno values, so a VFS can pass them through.
 * Not thread-safe: the caller serialises (the VFS lock).
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* kernel/include/errno.h (host tests reach it through -Ikernel/include). */
#include "errno.h"
#include "fs/inode.h"

/* st_mode type bits (the Linux values). */
#define RAMFS_S_IFMT   0170000
#define RAMFS_S_IFSOCK 0140000
#define RAMFS_S_IFLNK  0120000
#define RAMFS_S_IFREG  0100000
#define RAMFS_S_IFBLK  0060000
#define RAMFS_S_IFDIR  0040000
#define RAMFS_S_IFCHR  0020000
#define RAMFS_S_IFIFO  0010000

#define RAMFS_NAME_MAX    255
#define RAMFS_PATH_MAX    4096    /* incl. the NUL, like Linux */
#define RAMFS_SYMLOOP_MAX 40      /* symlinks followed in one lookup (Linux) */

/* --- memory: the one place the file system allocates (fs_alloc.c) --------- */
/* fs_alloc/fs_free (fs/inode.h): zeroed, 16-byte aligned. */
/* Bytes handed out and not freed (for the boot log). */
size_t fs_alloc_in_use(void);
/* One zeroed 4 KiB page for file data; NULL when out of memory. */
void *fs_alloc_page(void);
void fs_free_page(void *p);
/* The wall-clock time for inode timestamps. */
void fs_now(struct fs_time *t);

#define RAMFS_PAGE_SIZE 4096u
/* Files are limited by the page array (one kmalloc of at most 4 MiB). */
#define RAMFS_MAX_FILE  (((uint64_t)4 << 20) / sizeof(void *) * RAMFS_PAGE_SIZE)

/* The ramfs's inodes are VFS inodes (fs/inode.h): ramfs uses the named
 * members of their union (data/pages, target, dir). */
#define ramfs_inode inode

struct ramfs_dirent {
	struct ramfs_dirent *next, *prev;  /* in its directory, insertion order */
	struct ramfs_dirent *hnext;     /* in its hash bucket */
	struct ramfs_inode *dir;
	struct ramfs_inode *inode;
	uint64_t seq;                   /* readdir cookie: increasing per directory */
	uint32_t hash;
	uint16_t namelen;
	char name[];                    /* NUL-terminated */
};

/* Attributes for creating a node. */
struct ramfs_attr {
	uint32_t mode;            /* permission bits; the type is the call's */
	uint32_t uid, gid;
	int64_t mtime;
	uint32_t rdev_major, rdev_minor;   /* special files */
};

struct ramfs_stat {
	uint64_t ino;
	uint32_t mode, nlink, uid, gid;
	uint64_t size;
	int64_t mtime;
	uint32_t rdev_major, rdev_minor;
};

/* Creates the empty root directory (mode 0755). Returns 0 or -ENOMEM. */
int ramfs_init(void);
struct ramfs_inode *ramfs_root(void);

static inline bool ramfs_is_dir(const struct ramfs_inode *i)
{
	return (i->mode & RAMFS_S_IFMT) == RAMFS_S_IFDIR;
}
static inline bool ramfs_is_reg(const struct ramfs_inode *i)
{
	return (i->mode & RAMFS_S_IFMT) == RAMFS_S_IFREG;
}
static inline bool ramfs_is_symlink(const struct ramfs_inode *i)
{
	return (i->mode & RAMFS_S_IFMT) == RAMFS_S_IFLNK;
}

/* Resolves path: absolute from the root, relative from `at` (the root when
 * NULL). Handles `.`, `..` (the root's parent is the root), repeated and
 * trailing slashes (a trailing slash requires a directory), and symlinks,
 * absolute and relative, at most RAMFS_SYMLOOP_MAX per call. The last
 * component is followed when it is a symlink only if `follow`. Returns 0 and
 * *out, or -ENOENT, -ENOTDIR, -ELOOP, -ENAMETOOLONG. */
int ramfs_lookup_at(struct ramfs_inode *at, const char *path, bool follow,
		    struct ramfs_inode **out);
int ramfs_lookup(const char *path, bool follow, struct ramfs_inode **out);

/* One name in one directory, no resolution. NULL when absent. */
struct ramfs_inode *ramfs_dir_find(struct ramfs_inode *dir, const char *name, size_t len);

/* Create `name` (len bytes, no '/', not "." or "..") in dir. Each returns 0
 * and the new inode in *out (out may be NULL), or -EEXIST, -ENOTDIR,
 * -EINVAL, -ENAMETOOLONG, -ENOMEM. */
int ramfs_mkdir(struct ramfs_inode *dir, const char *name, size_t len,
		const struct ramfs_attr *a, struct ramfs_inode **out);
/* A regular file whose contents are data[0..size), which must outlive it. */
int ramfs_create(struct ramfs_inode *dir, const char *name, size_t len,
		 const struct ramfs_attr *a, const void *data, uint64_t size,
		 struct ramfs_inode **out);
/* Replaces a regular file's contents (e.g. the hard link of a cpio archive
 * that carries the data of earlier links). */
void ramfs_set_data(struct ramfs_inode *file, const void *data, uint64_t size);
/* The target is copied (it need not be NUL-terminated). */
int ramfs_symlink(struct ramfs_inode *dir, const char *name, size_t len,
		  const struct ramfs_attr *a, const char *target, size_t tlen,
		  struct ramfs_inode **out);
/* A device node, FIFO or socket: type is one of RAMFS_S_IF{CHR,BLK,FIFO,SOCK}. */
int ramfs_mknod(struct ramfs_inode *dir, const char *name, size_t len, uint32_t type,
		const struct ramfs_attr *a, struct ramfs_inode **out);
/* A hard link to an existing non-directory. */
int ramfs_link(struct ramfs_inode *dir, const char *name, size_t len,
	       struct ramfs_inode *target);
/* Removes a name; a directory must be empty (-ENOTEMPTY). The inode is freed
 * with its last link unless it is referenced (refs > 0: then ramfs_free
 * frees it when the last reference goes). */
int ramfs_unlink(struct ramfs_inode *dir, const char *name, size_t len);

void ramfs_stat(const struct ramfs_inode *i, struct ramfs_stat *st);

/* Reading a directory: ".", "..", then the entries in creation order.
 * Creating or removing entries of dir during the walk is not allowed. */
struct ramfs_readdir {
	struct ramfs_inode *dir;
	const struct ramfs_dirent *next;
	unsigned pos;
};
void ramfs_readdir_begin(struct ramfs_readdir *rd, struct ramfs_inode *dir);
/* false at the end; else the name (NUL-terminated) and its inode. */
bool ramfs_readdir_next(struct ramfs_readdir *rd, const char **name,
			struct ramfs_inode **inode);

/* --- beyond the tree: what tmpfs.c needs -------------------------------------- */

/* A new, empty root directory for another instance (a tmpfs mount); it
 * shares the name table with the others. */
struct ramfs_inode *ramfs_new_root(uint32_t mode);
/* Removes the name oname in odir and enters it as nname in ndir (Linux
 * rename(2) rules; flags RENAME_NOREPLACE 1, RENAME_EXCHANGE 2). The caller
 * has checked that a directory is not moved below itself. */
int ramfs_rename(struct ramfs_inode *odir, const char *oname, size_t olen,
		 struct ramfs_inode *ndir, const char *nname, size_t nlen, unsigned flags);
/* A file's bytes at off: a pointer to *avail contiguous bytes (up to the
 * end of the page or of the file), or NULL when off is in a hole (*avail
 * bytes of zeros). *avail is 0 at or past the end. */
const uint8_t *ramfs_read_ptr(struct ramfs_inode *f, uint64_t off, size_t *avail);
/* Where to write at off: the page holding off (allocated, and the file
 * moved to pages of its own, as needed), *avail bytes to the page's end.
 * Does not change the size. NULL when out of memory, or past RAMFS_MAX_FILE
 * (*avail = 0). */
uint8_t *ramfs_write_ptr(struct ramfs_inode *f, uint64_t off, size_t *avail);
/* Sets the size: bytes past the old end read as zero; pages past the new
 * end are freed. 0, -ENOMEM or -EFBIG. */
int ramfs_truncate(struct ramfs_inode *f, uint64_t size);
/* Records a size grown by writes (after ramfs_write_ptr). */
void ramfs_set_size(struct ramfs_inode *f, uint64_t size);
/* Frees the pages wholly inside [off, off+len) and zeroes the partial ones
 * (fallocate PUNCH_HOLE). 0 or -ENOMEM. */
int ramfs_punch(struct ramfs_inode *f, uint64_t off, uint64_t len);
/* Whether the page at index idx holds data (SEEK_DATA/SEEK_HOLE). */
bool ramfs_page_present(const struct ramfs_inode *f, uint64_t idx);
/* An inode without names or references: free it (the VFS's evict). */
void ramfs_free(struct ramfs_inode *i);
/* Readdir with cookies (0 = start; "." and ".." first), stable while
 * entries are added and removed. fill returns non-zero to stop. */
int ramfs_readdir_cookie(struct ramfs_inode *dir, uint64_t *cookie, filldir_fn fill, void *ctx);

/* Counts, for logs and tests. */
struct ramfs_counts {
	uint64_t inodes, dirs, files, symlinks, special;
	uint64_t file_bytes;
};
void ramfs_counts(struct ramfs_counts *c);
