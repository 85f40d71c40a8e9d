/*
 * The VFS: mounts, path resolution, open files and file descriptors.
 * See docs/vfs.md for the whole picture.
 *
 * Layers, bottom up:
 *   - file systems own inodes (fs/inode.h): ramfs/tmpfs (`/`, /tmp,
 *     /dev, /dev/shm), procfs (/proc), sysfs (/sys);
 *   - the mount table stacks their roots on directories;
 *   - namei (vfs.c) walks paths: `.`, `..` across mounts, symlinks (at most
 *     40 per walk, then ELOOP), magic links, *at() starting points;
 *   - a struct file is one open file description (offset, status flags,
 *     file_ops); anything that is not a tree file (pipes, eventfd, epoll,
 *     later sockets) is a file with an anonymous inode;
 *   - the descriptor table (fd.c) maps small integers to files.
 *
 * Locking: one sleeping lock (vfs_lock) serialises the tree, inode
 * attributes and tmpfs contents; pipes and the other stream objects have
 * their own. Nothing blocks while holding vfs_lock except on memory.
 *
 * All functions return 0 / a count / an fd, or -ERRNO (Linux values).
 */
#pragma once
#include "fs/inode.h"
#include "fs/poll.h"
#include "sched/list.h"

/* open flags (Linux x86-64). */
#define O_ACCMODE   00000003
#define O_RDONLY    00000000
#define O_WRONLY    00000001
#define O_RDWR      00000002
#define O_CREAT     00000100
#define O_EXCL      00000200
#define O_NOCTTY    00000400
#define O_TRUNC     00001000
#define O_APPEND    00002000
#define O_NONBLOCK  00004000
#define O_DSYNC     00010000
#define O_ASYNC     00020000
#define O_DIRECT    00040000
#define O_LARGEFILE 00100000
#define O_DIRECTORY 00200000
#define O_NOFOLLOW  00400000
#define O_NOATIME   01000000
#define O_CLOEXEC   02000000
#define O_SYNC      04010000
#define O_PATH      010000000
#define O_TMPFILE   (020000000 | O_DIRECTORY)

/* Flags fcntl(F_SETFL) may change. */
#define O_SETFL_MASK (O_APPEND | O_NONBLOCK | O_ASYNC | O_DIRECT | O_NOATIME)

#define AT_FDCWD            (-100)
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_REMOVEDIR        0x200
#define AT_EACCESS          0x200
#define AT_SYMLINK_FOLLOW   0x400
#define AT_NO_AUTOMOUNT     0x800
#define AT_EMPTY_PATH       0x1000
#define AT_STATX_SYNC_TYPE  0x6000

#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE  2
#define RENAME_WHITEOUT  4

#define SEEK_SET  0
#define SEEK_CUR  1
#define SEEK_END  2
#define SEEK_DATA 3
#define SEEK_HOLE 4

#define PATH_MAX 4096
#define NAME_MAX 255
#define SYMLOOP_MAX 40

struct mount {
	struct super *sb;
	struct inode *root;
	struct mount *parent;          /* NULL for `/` */
	struct inode *mountpoint;      /* in parent */
	char path[64];                 /* for /proc/self/mounts */
	unsigned flags;                /* MS_RDONLY, MS_NOSUID, ... as Linux */
	int id;
};

struct path {
	struct mount *mnt;
	struct inode *inode;
};

/* --- the data a read or write moves: a vector of buffers, user or kernel --- */
struct iovec {
	void *base;
	size_t len;
};

struct uio {
	const struct iovec *iov;
	int iovcnt;
	int idx;                /* current segment */
	size_t off;             /* offset in it */
	size_t resid;           /* bytes left in all segments */
	bool user;              /* buffers are the program's (copy_{to,from}_user) */
};

/* A one-buffer uio. */
void uio_init1(struct uio *u, struct iovec *iov, void *buf, size_t len, bool user);
/* Moves n bytes out of src into the uio / from the uio into dst, advancing
 * it: 0 or -EFAULT (then an unknown part was moved). n <= resid. */
int uio_copy_out(struct uio *u, const void *src, size_t n);
int uio_copy_in(struct uio *u, void *dst, size_t n);
/* Zeroes n bytes of the uio (holes, /dev/zero). */
int uio_zero(struct uio *u, size_t n);

/* --- open file descriptions --------------------------------------------------- */
struct file;

struct file_ops {
	/* pos: the file offset to use and advance (the file's, or pread's). */
	ssize_t (*read)(struct file *f, struct uio *u, uint64_t *pos);
	ssize_t (*write)(struct file *f, struct uio *u, uint64_t *pos);
	/* Readiness: the EPOLL* bits true now; registers pt on the file's
	 * pollhead(s) with poll_wait() when pt is not NULL (fs/poll.h). */
	uint32_t (*poll)(struct file *f, struct poll_table *pt);
	long (*ioctl)(struct file *f, unsigned long cmd, unsigned long arg);
	/* SEEK_* handled when set; else the VFS does it from the inode size. */
	int64_t (*llseek)(struct file *f, int64_t off, int whence);
	int (*fsync)(struct file *f);
	/* The last reference went. */
	void (*release)(struct file *f);
};

/* f->mode: what the file supports, derived at open. */
#define FMODE_READ   (1u << 0)
#define FMODE_WRITE  (1u << 1)
#define FMODE_PREAD  (1u << 2)     /* pread/pwrite allowed (not a stream) */
#define FMODE_LSEEK  (1u << 3)     /* lseek allowed */
#define FMODE_PATH   (1u << 4)     /* O_PATH: only a handle */
#define FMODE_STREAM (1u << 5)     /* no offset (pipes, sockets) */

struct file {
	int refs;                      /* atomic: fds and in-flight syscalls */
	const struct file_ops *ops;
	struct path path;              /* referenced inode (always set) */
	uint32_t flags;                /* O_* status flags and access mode */
	uint32_t mode;                 /* FMODE_* */
	uint64_t pos;
	void *priv;
	/* For /proc/self/fd and the management API: where it was opened
	 * ("/tmp/x"), or what it is ("pipe:[12]"); owned. */
	char *name;
	struct list epitems;           /* epoll registrations (fs/epoll.c) */
	struct pollhead *ph;           /* generic pollhead, or NULL */
};

/* A new file referencing path (vfs_iget'd by the caller's reference). */
struct file *file_alloc(const struct path *path, uint32_t flags, const struct file_ops *ops);
void file_get(struct file *f);
void file_put(struct file *f);
/* A file on a new anonymous inode (pipes, eventfd, epoll, sockets) with
 * mode (S_IFIFO | 0600, S_IFSOCK | 0777, ...) and name "pipe:[ino]"-style
 * when prefix is "pipe" (else "anon_inode:[prefix]"). */
struct file *file_anon(const char *prefix, uint32_t mode, uint32_t flags,
		       const struct file_ops *ops, void *priv);

/* --- the descriptor table (one per program: threads share it) ------------ */
#define FD_CLOEXEC 1

/* Installs f at the lowest free fd >= min; takes a reference on success.
 * -EMFILE past RLIMIT_NOFILE. */
int fd_install(struct file *f, int min, bool cloexec);
/* The file at fd with a new reference (file_put when done), or NULL. */
struct file *fd_get(int fd);
/* Like fd_get but refuses O_PATH files (EBADF), which only *at(), fstat,
 * fchdir, close, dup and fcntl may use. */
struct file *fd_get_io(int fd);
int fd_close(int fd);
/* dup2/dup3 semantics. */
int fd_dup_to(int oldfd, int newfd, bool cloexec);
int fd_get_flags(int fd);            /* FD_CLOEXEC or -EBADF */
int fd_set_flags(int fd, int flags);
int fd_close_range(unsigned first, unsigned last, unsigned flags);
/* RLIMIT_NOFILE (soft, hard): for getrlimit/prlimit64. */
void fd_get_rlimit(uint64_t *soft, uint64_t *hard);
int fd_set_rlimit(uint64_t soft, uint64_t hard);
/* For /proc/self/fd: the highest fd in use + 1. */
int fd_count_hint(void);
/* The table's capacity (at least 64), which bounds select's nfds. */
int fd_table_size(void);
/* Sets up fds 0, 1, 2 on the console. */
int fd_init_stdio(void);

/* --- the tree ------------------------------------------------------------- */
void vfs_lock(void);
void vfs_unlock(void);

/* Brings up `/` (the ramfs the initramfs filled), /dev, /proc, /sys, /tmp,
 * /dev/shm, and fds 0-2. After initramfs_init. */
int vfs_init(void);

/* Mounts sb's root on the directory at path. */
int vfs_mount(struct super *sb, const char *path, unsigned flags);
/* The mount table, for /proc/self/mounts. */
struct mount *vfs_mount_at(int idx);

void vfs_iget(struct inode *i);
void vfs_iput(struct inode *i);

/* Resolution flags. */
#define LOOKUP_FOLLOW     (1u << 0)   /* follow a final symlink */
#define LOOKUP_DIRECTORY  (1u << 1)   /* the result must be a directory */
#define LOOKUP_EMPTY      (1u << 2)   /* "" means the start (AT_EMPTY_PATH) */
#define LOOKUP_NO_SYMLINKS (1u << 3)  /* RESOLVE_NO_SYMLINKS */
#define LOOKUP_NO_MAGICLINKS (1u << 4)
#define LOOKUP_NO_XDEV    (1u << 5)
#define LOOKUP_BENEATH    (1u << 6)
#define LOOKUP_IN_ROOT    (1u << 7)

/* Resolves path from dirfd (AT_FDCWD or an open directory): *out gets a
 * reference (path_put). Takes the VFS lock itself. */
int vfs_lookup(int dirfd, const char *path, unsigned lookup_flags, struct path *out);
void path_get(const struct path *p);
void path_put(struct path *p);

/* The kernel-facing open: flags O_*, mode for O_CREAT; returns a file with
 * one reference (no fd). */
int vfs_open(int dirfd, const char *path, uint32_t flags, uint32_t mode,
	     uint64_t resolve, struct file **out);
/* Opens an inode already found (fd reopen through /proc, devices). */
int vfs_open_path(const struct path *p, uint32_t flags, struct file **out);

/* Kernel reads and writes (buffers in kernel memory). */
ssize_t vfs_read(struct file *f, void *buf, size_t len, uint64_t *pos);
ssize_t vfs_write(struct file *f, const void *buf, size_t len, uint64_t *pos);
/* With an iovec in a uio (the syscalls use these). pos NULL: f->pos. */
ssize_t vfs_readv(struct file *f, struct uio *u, uint64_t *pos);
ssize_t vfs_writev(struct file *f, struct uio *u, uint64_t *pos);
int64_t vfs_lseek(struct file *f, int64_t off, int whence);

/* Absolute name of p (getcwd, /proc/self/cwd): "/a/b". -ENOENT when it
 * was removed, -ERANGE when longer than len. Caller holds the VFS lock. */
int vfs_path_name(const struct path *p, char *buf, size_t len);

/* The program's working directory and umask. */
void vfs_cwd(struct path *out);          /* referenced */
uint32_t vfs_umask(void);

/* Kernel-side whole-file helpers (the ELF loader, procfs). */
int vfs_stat_path(const char *path, bool follow, struct inode **out);

/* Dev numbers as stat's st_dev/st_rdev encode them. */
static inline uint64_t vfs_encode_dev(uint32_t major, uint32_t minor)
{
	return (minor & 0xff) | ((uint64_t)(major & 0xfff) << 8) |
	       ((uint64_t)(minor & ~0xffu) << 12) | ((uint64_t)(major & ~0xfffu) << 32);
}

/* --- pieces other fs files share ------------------------------------------- */
/* Anonymous dev numbers for new supers. */
void vfs_new_dev(struct super *sb);
/* Timestamps. */
void inode_touch(struct inode *i, bool mtime, bool ctime, bool atime);
/* Device files: open by (major, minor) for a character device inode. */
int devfs_open(struct inode *i, struct file *f);
/* Regular tmpfs file ops (tmpfs.c), for O_TMPFILE and /dev/shm. */
extern const struct file_ops tmpfs_file_ops;
extern const struct file_ops dir_file_ops;
