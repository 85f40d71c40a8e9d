/*
 * The VFS inode: what every file system's files look like to the layer
 * above (fs/vfs.h). Pure (no kernel headers), so ramfs.c and the host unit
 * tests can use it.
 *
 * One inode per file. The file system that owns it fills the common
 * attributes and `ops`; its own per-file data lives in the union at the end
 * (ramfs uses the named members directly, others use `priv`).
 *
 * Lifetime: an inode lives while it has a name (nlink > 0, owned by its file
 * system's tree) or a reference (refs > 0: open files, the working
 * directory). vfs_iput() drops a reference and calls ops->evict when both
 * are gone. Every change to the tree and to inode attributes happens under
 * the one VFS lock (vfs_lock, fs/vfs.h).
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* st_mode type bits (the Linux values). */
#define S_IFMT   0170000
#define S_IFSOCK 0140000
#define S_IFLNK  0120000
#define S_IFREG  0100000
#define S_IFBLK  0060000
#define S_IFDIR  0040000
#define S_IFCHR  0020000
#define S_IFIFO  0010000
#define S_ISUID  04000
#define S_ISGID  02000
#define S_ISVTX  01000

#define S_ISDIR(m)  (((m) & S_IFMT) == S_IFDIR)
#define S_ISREG(m)  (((m) & S_IFMT) == S_IFREG)
#define S_ISLNK(m)  (((m) & S_IFMT) == S_IFLNK)
#define S_ISCHR(m)  (((m) & S_IFMT) == S_IFCHR)
#define S_ISBLK(m)  (((m) & S_IFMT) == S_IFBLK)
#define S_ISFIFO(m) (((m) & S_IFMT) == S_IFIFO)
#define S_ISSOCK(m) (((m) & S_IFMT) == S_IFSOCK)

/* getdents64 d_type values. */
#define DT_UNKNOWN 0
#define DT_FIFO    1
#define DT_CHR     2
#define DT_DIR     4
#define DT_BLK     6
#define DT_REG     8
#define DT_LNK     10
#define DT_SOCK    12

static inline unsigned mode_to_dtype(uint32_t mode)
{
	return (mode & S_IFMT) >> 12;
}

struct fs_time {
	int64_t sec;
	int64_t nsec;
};

/* The file system's memory (fs_alloc.c): zeroed, NULL when out of memory. */
void *fs_alloc(size_t size);
void fs_free(void *p);
char *fs_strdup(const char *s);

struct inode;
struct file;
struct super;
struct mount;
struct file_lock;
struct ramfs_dirent;
struct vm_file;

/* readdir's callback: one entry. Returns non-zero to stop (buffer full):
 * the entry was not consumed and the cookie stays before it. */
typedef int (*filldir_fn)(void *ctx, const char *name, size_t len, uint64_t ino,
			  unsigned dtype, uint64_t next_cookie);

/*
 * What a file system does with its inodes. Names are (name, len), never
 * "." or ".." except in lookup (which must handle ".."; the VFS handles "."
 * and mount points). Every op is called with the VFS lock held and returns
 * 0 / a count, or -ERRNO. A NULL op means the file system cannot do that
 * (the VFS answers EPERM, EROFS or EINVAL as Linux would).
 */
struct inode_ops {
	/* The child (not referenced: valid while the lock is held), -ENOENT. */
	int (*lookup)(struct inode *dir, const char *name, size_t len, struct inode **out);
	/* Creates a node of type and permissions `mode` (S_IFREG, S_IFDIR,
	 * S_IFIFO, S_IFCHR, S_IFBLK, S_IFSOCK); rdev for devices. */
	int (*create)(struct inode *dir, const char *name, size_t len, uint32_t mode,
		      uint32_t rdev_major, uint32_t rdev_minor, struct inode **out);
	int (*symlink)(struct inode *dir, const char *name, size_t len, const char *target,
		       size_t tlen, struct inode **out);
	int (*link)(struct inode *dir, const char *name, size_t len, struct inode *target);
	/* Removes a name (rmdir when want_dir: -ENOTDIR / -ENOTEMPTY; else
	 * -EISDIR for a directory). */
	int (*unlink)(struct inode *dir, const char *name, size_t len, bool want_dir);
	/* RENAME_NOREPLACE / RENAME_EXCHANGE already validated by the VFS,
	 * which also checked that a directory is not moved into itself. */
	int (*rename)(struct inode *odir, const char *oname, size_t olen,
		      struct inode *ndir, const char *nname, size_t nlen, unsigned flags);
	/* Symlinks: the target, valid while the lock is held. */
	const char *(*get_link)(struct inode *i);
	/* "Magic" links (/proc/self/fd/N): the inode and mount they stand for.
	 * When present it wins over get_link for path resolution. */
	int (*follow)(struct inode *i, struct inode **out, struct mount **mnt);
	/* Directories: entries from *cookie on (0 = the start, "." and ".."
	 * first); advances *cookie past each one emitted. */
	int (*readdir)(struct inode *dir, uint64_t *cookie, filldir_fn fill, void *ctx);
	/* The name of child in dir (for getcwd and /proc/self/fd), optional:
	 * the VFS falls back to a readdir scan. */
	int (*name_of)(struct inode *dir, struct inode *child, char *buf, size_t len);
	/* Regular files: change the size (new bytes read as zero). */
	int (*truncate)(struct inode *i, uint64_t size);
	/* Opening: sets f->ops (and f->priv). NULL: the VFS picks by type. */
	int (*open)(struct inode *i, struct file *f);
	/* No names and no references left: free it (or keep it cached). */
	void (*evict)(struct inode *i);
	/* Regular files of disk file systems (ext2): fills *out with a reader
	 * of the contents that never sleeps (vm.c reads at fault time under a
	 * spinlock), for mmap and the ELF loader. NULL: tmpfs's own. */
	int (*map_file)(struct inode *i, struct vm_file *out);
};

struct inode {
	uint64_t ino;
	uint32_t mode;            /* type and permission bits */
	uint32_t uid, gid;
	uint32_t nlink;
	uint64_t size;            /* file bytes, symlink target length, 0 for dirs */
	uint64_t blocks;          /* 512-byte units allocated */
	uint32_t rdev_major, rdev_minor;
	struct fs_time atime, mtime, ctime, btime;
	const struct inode_ops *ops;
	struct super *sb;
	int32_t refs;             /* open files, cwd, ... (under the VFS lock) */
	uint32_t flags;           /* INODE_* */
	struct mount *mounted;    /* a file system mounted on this directory */
	struct file_lock *locks;  /* record locks and flock (fs/lock.h) */
	void *pipe;               /* FIFOs: the pipe while open (fs/pipe.c) */
	union {
		struct {                            /* ramfs regular file */
			const void *data;           /* unmodified image bytes, not owned */
			uint8_t **pages;            /* after the first write: page array */
			uint64_t npages;            /* capacity of pages[] */
		};
		char *target;                       /* ramfs symlink: owned */
		struct {                            /* ramfs directory */
			struct inode *parent;       /* `..`; a root's is itself */
			struct ramfs_dirent *first, *last;
			struct ramfs_dirent *self;  /* its one name (NULL for a root) */
			uint32_t entries;
			uint64_t next_seq;          /* readdir cookies of new entries */
		} dir;
		void *priv;                         /* other file systems */
	};
};

#define INODE_LINKABLE (1u << 0)    /* O_TMPFILE without O_EXCL: linkat may name it */
#define INODE_MEMFD    (1u << 1)    /* bits 16..: its F_SEAL_* seals */

/* st_dev/statfs identity of a mounted instance. */
struct super {
	const char *type;          /* "tmpfs", "proc", ... */
	uint32_t magic;            /* statfs f_type */
	uint32_t dev_major, dev_minor;
	struct inode *root;
	bool read_only;
	/* statfs numbers: total and free blocks of 4 KiB, files. */
	void (*statfs)(struct super *sb, uint64_t *blocks, uint64_t *bfree,
		       uint64_t *files, uint64_t *ffree);
	void *priv;
};
