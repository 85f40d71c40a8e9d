/*
 * ramfs: the in-memory tree that is `/`. Directories, regular files,
 * symlinks and special files (device nodes, FIFOs, sockets: stored, not
 * interpreted) with Unix attributes and ramfs-assigned inode numbers.
 *
 * It is only the tree: the initramfs unpacker (initramfs.c) fills it, and a
 * VFS will later sit above it. Regular file data is not copied: a file
 * points at bytes that stay valid for the life of the file (the initrd
 * module memory, which therefore must never be freed).
 *
 * Memory for metadata comes only from fs_alloc/fs_free (fs_alloc.c), so the
 * tree does not depend on which kernel heap is up. Pure otherwise: the host
 * unit tests include ramfs.c and provide fs_alloc with calloc.
 *
 * Errors are negative Linux errno values, so a VFS can pass them through.
 * Not thread-safe: the caller serialises (single-threaded at boot).
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* kernel/include/errno.h (host tests reach it through -Ikernel/include). */
#include "errno.h"

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
/* Zeroed, 16-byte aligned; NULL when out of memory. */
void *fs_alloc(size_t size);
void fs_free(void *p);
/* Bytes handed out and not freed (for the boot log). */
size_t fs_alloc_in_use(void);

struct ramfs_dirent;

struct ramfs_inode {
	uint64_t ino;
	uint32_t mode;            /* type and permission bits */
	uint32_t uid, gid;
	uint32_t nlink;
	int64_t mtime;            /* seconds since the epoch */
	uint64_t size;            /* file bytes, symlink target length, 0 for dirs */
	uint32_t rdev_major, rdev_minor;
	union {
		const void *data;           /* regular file: size bytes, not owned */
		char *target;               /* symlink: NUL-terminated, owned */
		struct {                    /* directory */
			struct ramfs_inode *parent;   /* `..`; the root's is itself */
			struct ramfs_dirent *first, *last;
			uint32_t entries;
		} dir;
	};
};

struct ramfs_dirent {
	struct ramfs_dirent *next, *prev;  /* in its directory, insertion order */
	struct ramfs_dirent *hnext;     /* in its hash bucket */
	struct ramfs_inode *dir;
	struct ramfs_inode *inode;
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
 * with its last link. */
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

/* Counts, for logs and tests. */
struct ramfs_counts {
	uint64_t inodes, dirs, files, symlinks, special;
	uint64_t file_bytes;
};
void ramfs_counts(struct ramfs_counts *c);
