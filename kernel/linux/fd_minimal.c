/*
 * MINIMAL FILE DESCRIPTORS (see fd_minimal.h): the file system calls a C
 * library needs to start and a program needs to read its files, over the
 * ramfs tree, read-only. The VFS replaces this file.
 */
#include "linux/fd_minimal.h"
#include "linux/loader.h"
#include "linux/program.h"
#include "linux/random.h"
#include "linux/syscall.h"
#include "fs/ramfs.h"
#include "mm/heap.h"
#include "mm/page_alloc.h"
#include "mm/vm.h"
#include "drivers/console.h"
#include "drivers/serial.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/usercopy.h"
#include "lib/string.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "errno.h"

#define NFD 256

enum ftype { F_CON_IN, F_CON_OUT, F_CON_ERR, F_FILE, F_DIR, F_SYMLINK, F_NULL, F_ZERO, F_RANDOM };

struct file {
	enum ftype type;
	int refs;
	unsigned flags;                 /* O_* given to open */
	struct ramfs_inode *ino;        /* F_FILE, F_DIR, F_SYMLINK (O_PATH) */
	uint64_t pos;
	struct ramfs_readdir rd;        /* F_DIR: the next entry */
};

static struct {
	struct file *f;
	bool cloexec;
} fds[NFD];

static struct file con_in = { F_CON_IN, 2, 0, NULL, 0, {0} };
static struct file con_out = { F_CON_OUT, 2, 1, NULL, 0, {0} };
static struct file con_err = { F_CON_ERR, 2, 1, NULL, 0, {0} };
static struct ramfs_inode *cwd;         /* NULL: the root */
static unsigned cur_umask = 022;

#define O_ACCMODE   03
#define O_RDONLY    0
#define O_WRONLY    01
#define O_RDWR      02
#define O_CREAT     0100
#define O_EXCL      0200
#define O_NOCTTY    0400
#define O_TRUNC     01000
#define O_APPEND    02000
#define O_NONBLOCK  04000
#define O_DIRECTORY 0200000
#define O_NOFOLLOW  0400000
#define O_CLOEXEC   02000000
#define O_PATH      010000000
#define O_TMPFILE   020000000

#define AT_FDCWD            -100
#define AT_SYMLINK_NOFOLLOW 0x100
#define AT_EACCESS          0x200
#define AT_SYMLINK_FOLLOW   0x400
#define AT_NO_AUTOMOUNT     0x800
#define AT_EMPTY_PATH       0x1000

static void fds_init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	fds[0].f = &con_in;
	fds[1].f = &con_out;
	fds[2].f = &con_err;
	con_in.refs = con_out.refs = con_err.refs = 1;
}

static struct file *get(int fd)
{
	fds_init();
	if (fd < 0 || fd >= NFD)
		return NULL;
	return fds[fd].f;
}

static void put(struct file *f)
{
	if (--f->refs == 0 && f != &con_in && f != &con_out && f != &con_err)
		kfree(f);
}

static int alloc_fd(int from, struct file *f, bool cloexec)
{
	fds_init();
	for (int i = from < 0 ? 0 : from; i < NFD; i++) {
		if (!fds[i].f) {
			fds[i].f = f;
			fds[i].cloexec = cloexec;
			f->refs++;
			return i;
		}
	}
	return -EMFILE;
}

/* --- paths ---------------------------------------------------------------- */

static long get_path(const char *upath, char *buf)
{
	long n = strncpy_from_user(buf, upath, RAMFS_PATH_MAX);
	if (n == -ENAMETOOLONG)
		return -ENAMETOOLONG;
	return n;
}

/* Special names that are not (necessarily) in the image. */
static int special(const char *path, enum ftype *t)
{
	static const struct { const char *name; enum ftype type; } devs[] = {
		{ "/dev/null", F_NULL }, { "/dev/zero", F_ZERO },
		{ "/dev/urandom", F_RANDOM }, { "/dev/random", F_RANDOM },
		{ "/dev/stdin", F_CON_IN }, { "/dev/stdout", F_CON_OUT },
		{ "/dev/stderr", F_CON_ERR }, { "/dev/console", F_CON_OUT },
		{ "/dev/tty", F_CON_OUT },
	};
	for (size_t i = 0; i < ARRAY_SIZE(devs); i++)
		if (!strcmp(path, devs[i].name)) {
			*t = devs[i].type;
			return 1;
		}
	return 0;
}

static bool is_proc_exe(const char *path)
{
	return !strcmp(path, "/proc/self/exe");
}

/* The directory dirfd names, for *at calls. */
static int dir_of(int dirfd, const char *path, struct ramfs_inode **out)
{
	if (path[0] == '/' || dirfd == AT_FDCWD) {
		*out = cwd;
		return 0;
	}
	struct file *f = get(dirfd);
	if (!f)
		return -EBADF;
	if (f->type != F_DIR)
		return -ENOTDIR;
	*out = f->ino;
	return 0;
}

static int lookup_at(int dirfd, const char *path, bool follow, struct ramfs_inode **out)
{
	if (!path[0])
		return -ENOENT;
	if (is_proc_exe(path) && follow)
		return ramfs_lookup(program_exe_path(), true, out);
	struct ramfs_inode *at;
	int r = dir_of(dirfd, path, &at);
	if (r < 0)
		return r;
	return ramfs_lookup_at(at, path, follow, out);
}

/* --- open / close ----------------------------------------------------------- */

static struct file *new_file(enum ftype t, struct ramfs_inode *ino, unsigned flags)
{
	struct file *f = kzalloc(sizeof(*f));
	if (!f)
		return NULL;
	f->type = t;
	f->ino = ino;
	f->flags = flags;
	if (t == F_DIR)
		ramfs_readdir_begin(&f->rd, ino);
	return f;
}

static long do_openat(int dirfd, const char *upath, int flags, unsigned mode)
{
	(void)mode;
	char *path = kmalloc(RAMFS_PATH_MAX);
	if (!path)
		return -ENOMEM;
	long r = get_path(upath, path);
	if (r < 0)
		goto out;
	unsigned acc = flags & O_ACCMODE;
	enum ftype t;
	struct file *f = NULL;
	if (special(path, &t)) {
		if (t == F_CON_IN || t == F_CON_OUT || t == F_CON_ERR) {
			f = t == F_CON_IN ? &con_in : t == F_CON_OUT ? &con_out : &con_err;
			f->refs++;
			r = alloc_fd(0, f, flags & O_CLOEXEC);
			put(f);
			goto out;
		}
		f = new_file(t, NULL, (unsigned)flags);
	} else {
		struct ramfs_inode *ino;
		r = lookup_at(dirfd, path, !(flags & O_NOFOLLOW), &ino);
		if (r == -ENOENT && (flags & O_CREAT))
			r = -EROFS;             /* read-only until the VFS */
		if (r < 0)
			goto out;
		if ((flags & O_CREAT) && (flags & O_EXCL)) {
			r = -EEXIST;
			goto out;
		}
		if (ramfs_is_symlink(ino)) {
			if (!(flags & O_PATH)) {
				r = -ELOOP;      /* O_NOFOLLOW on a symlink */
				goto out;
			}
			t = F_SYMLINK;
		} else if (ramfs_is_dir(ino)) {
			if (acc != O_RDONLY) {
				r = -EISDIR;
				goto out;
			}
			t = F_DIR;
		} else if (flags & O_DIRECTORY) {
			r = -ENOTDIR;
			goto out;
		} else if (ramfs_is_reg(ino)) {
			if (acc != O_RDONLY || (flags & O_TRUNC)) {
				r = -EROFS;
				goto out;
			}
			t = F_FILE;
		} else {
			r = -ENXIO;              /* device nodes, FIFOs: not yet */
			goto out;
		}
		f = new_file(t, ino, (unsigned)flags);
	}
	if (!f) {
		r = -ENOMEM;
		goto out;
	}
	r = alloc_fd(0, f, flags & O_CLOEXEC);
	if (r < 0)
		kfree(f);
out:
	kfree(path);
	return r;
}

static long sys_open(const char *path, int flags, unsigned mode)
{
	return do_openat(AT_FDCWD, path, flags, mode);
}
SYSCALL_FALLBACK(2, open, sys_open, "sxo");

static long sys_openat(int dirfd, const char *path, int flags, unsigned mode)
{
	return do_openat(dirfd, path, flags, mode);
}
SYSCALL_FALLBACK(257, openat, sys_openat, "fsxo");

static long sys_creat(const char *path, unsigned mode)
{
	return do_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode);
}
SYSCALL_FALLBACK(85, creat, sys_creat, "so");

static long sys_close(int fd)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	fds[fd].f = NULL;
	put(f);
	return 0;
}
SYSCALL_FALLBACK(3, close, sys_close, "f");

/* --- read / write ------------------------------------------------------- */

static long read_stdin(char *ubuf, size_t len)
{
	char tmp[256];
	for (;;) {
		ssize_t n = console_read_stdin(tmp, MIN(len, sizeof(tmp)));
		if (n >= 0) {
			if (n && copy_to_user(ubuf, tmp, (size_t)n) < 0)
				return -EFAULT;
			return n;
		}
		/* Nothing buffered: poll the UART until the receive
		 * interrupt and a scheduler make this a proper wait. */
		int b = serial_read_byte();
		if (b >= 0)
			console_rx_byte((uint8_t)b);
		else
			cpu_relax();
	}
}

static long file_read(struct file *f, char *ubuf, size_t len, uint64_t *pos)
{
	switch (f->type) {
	case F_CON_IN:
		return len ? read_stdin(ubuf, len) : 0;
	case F_NULL:
		return 0;
	case F_ZERO:
		return clear_user(ubuf, len) < 0 ? -EFAULT : (long)len;
	case F_RANDOM: {
		char tmp[256];
		size_t done = 0;
		while (done < len) {
			size_t n = MIN(len - done, sizeof(tmp));
			random_bytes(tmp, n);
			if (copy_to_user(ubuf + done, tmp, n) < 0)
				return done ? (long)done : -EFAULT;
			done += n;
		}
		return (long)len;
	}
	case F_FILE: {
		if ((f->flags & O_PATH))
			return -EBADF;
		uint64_t size = f->ino->size;
		if (*pos >= size)
			return 0;
		size_t n = MIN(len, size - *pos), done = 0;
		uint8_t *bounce = page_alloc_virt(0);
		if (!bounce)
			return -ENOMEM;
		while (done < n) {
			size_t chunk = MIN(n - done, (size_t)PAGE_SIZE);
			ramfs_file_read(f->ino, *pos + done, bounce, chunk);
			if (copy_to_user(ubuf + done, bounce, chunk) < 0)
				break;
			done += chunk;
		}
		page_free_virt(bounce, 0);
		if (!done && n)
			return -EFAULT;
		*pos += done;
		return (long)done;
	}
	case F_DIR:
		return -EISDIR;
	default:
		return -EBADF;
	}
}

static long file_write(struct file *f, const char *ubuf, size_t len)
{
	switch (f->type) {
	case F_CON_OUT:
	case F_CON_ERR: {
		char tmp[512];
		size_t done = 0;
		while (done < len) {
			size_t n = MIN(len - done, sizeof(tmp));
			if (copy_from_user(tmp, ubuf + done, n) < 0)
				return done ? (long)done : -EFAULT;
			console_write(f->type == F_CON_OUT ? CON_STDOUT : CON_STDERR, tmp, n);
			done += n;
		}
		return (long)len;
	}
	case F_NULL: case F_ZERO: case F_RANDOM:
		return (long)len;
	default:
		return -EBADF;
	}
}

static long sys_read(int fd, char *buf, size_t len)
{
	struct file *f = get(fd);
	if (!f || (f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if ((ssize_t)len < 0)
		return -EINVAL;
	return file_read(f, buf, len, &f->pos);
}
SYSCALL_FALLBACK(0, read, sys_read, "fbu");

static long sys_write(int fd, const char *buf, size_t len)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	if ((ssize_t)len < 0)
		return -EINVAL;
	return file_write(f, buf, len);
}
SYSCALL_FALLBACK(1, write, sys_write, "fbu");

static long sys_pread64(int fd, char *buf, size_t len, int64_t off)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	if (f->type != F_FILE)
		return f->type == F_DIR ? -EISDIR : -ESPIPE;
	uint64_t pos = (uint64_t)off;
	return file_read(f, buf, len, &pos);
}
SYSCALL_FALLBACK(17, pread64, sys_pread64, "fbud");

static long sys_pwrite64(int fd, const char *buf, size_t len, int64_t off)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	if (off < 0)
		return -EINVAL;
	if (f->type == F_FILE)
		return -EBADF;             /* opened read-only */
	return file_write(f, buf, len);
}
SYSCALL_FALLBACK(18, pwrite64, sys_pwrite64, "fbud");

struct iovec {
	uint64_t base, len;
};

#define IOV_MAX 1024

static long do_iov(int fd, const struct iovec *uiov, int cnt, bool write, int64_t off)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	if (!write && (f->flags & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	uint64_t pos = off >= 0 ? (uint64_t)off : 0;
	uint64_t *posp = off >= 0 ? &pos : &f->pos;
	if (off >= 0 && f->type != F_FILE && !write)
		return -ESPIPE;
	long total = 0;
	for (int i = 0; i < cnt; i++) {
		struct iovec v;
		if (copy_from_user(&v, &uiov[i], sizeof(v)) < 0)
			return total ? total : -EFAULT;
		if (!v.len)
			continue;
		long r = write ? file_write(f, (const char *)v.base, v.len)
			       : file_read(f, (char *)v.base, v.len, posp);
		if (r < 0)
			return total ? total : r;
		total += r;
		if ((uint64_t)r < v.len)
			break;
	}
	return total;
}

static long sys_readv(int fd, const struct iovec *iov, int cnt)
{
	return do_iov(fd, iov, cnt, false, -1);
}
SYSCALL_FALLBACK(19, readv, sys_readv, "fpd");

static long sys_writev(int fd, const struct iovec *iov, int cnt)
{
	return do_iov(fd, iov, cnt, true, -1);
}
SYSCALL_FALLBACK(20, writev, sys_writev, "fpd");

static long sys_preadv(int fd, const struct iovec *iov, int cnt, int64_t off)
{
	if (off < 0)
		return -EINVAL;
	return do_iov(fd, iov, cnt, false, off);
}
SYSCALL_FALLBACK(295, preadv, sys_preadv, "fpdd");

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2
#define SEEK_DATA 3
#define SEEK_HOLE 4

static long sys_lseek(int fd, int64_t off, int whence)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	if (f->type == F_NULL || f->type == F_ZERO || f->type == F_RANDOM)
		return 0;
	if (f->type == F_DIR) {
		/* Only rewinding is meaningful for the minimal readdir. */
		if (whence != SEEK_SET || off != 0)
			return -EINVAL;
		ramfs_readdir_begin(&f->rd, f->ino);
		f->pos = 0;
		return 0;
	}
	if (f->type != F_FILE)
		return -ESPIPE;
	int64_t size = (int64_t)f->ino->size, base;
	switch (whence) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = (int64_t)f->pos; break;
	case SEEK_END: base = size; break;
	case SEEK_DATA:
		if (off >= size)
			return -ENXIO;
		base = 0;
		break;
	case SEEK_HOLE:
		if (off >= size)
			return -ENXIO;
		off = size;
		base = 0;
		break;
	default:
		return -EINVAL;
	}
	if ((off > 0 && base > INT64_MAX - off) || base + off < 0)
		return -EINVAL;
	f->pos = (uint64_t)(base + off);
	return (long)f->pos;
}
SYSCALL_FALLBACK(8, lseek, sys_lseek, "fdd");

static long sys_sendfile(int out_fd, int in_fd, int64_t *uoff, size_t count)
{
	struct file *in = get(in_fd), *out = get(out_fd);
	if (!in || !out)
		return -EBADF;
	if (in->type != F_FILE)
		return -EINVAL;
	uint64_t pos = in->pos;
	if (uoff) {
		int64_t o;
		if (copy_from_user(&o, uoff, sizeof(o)) < 0)
			return -EFAULT;
		if (o < 0)
			return -EINVAL;
		pos = (uint64_t)o;
	}
	if (out->type != F_CON_OUT && out->type != F_CON_ERR && out->type != F_NULL)
		return -EINVAL;
	uint64_t size = in->ino->size;
	size_t n = pos >= size ? 0 : MIN(count, size - pos);
	uint8_t *bounce = n && out->type != F_NULL ? page_alloc_virt(0) : NULL;
	if (n && out->type != F_NULL && !bounce)
		return -ENOMEM;
	for (size_t done = 0; done < n && bounce; ) {
		size_t chunk = MIN(n - done, (size_t)PAGE_SIZE);
		ramfs_file_read(in->ino, pos + done, bounce, chunk);
		console_write(out->type == F_CON_OUT ? CON_STDOUT : CON_STDERR, bounce, chunk);
		done += chunk;
	}
	page_free_virt(bounce, 0);
	pos += n;
	if (uoff) {
		int64_t o = (int64_t)pos;
		if (copy_to_user(uoff, &o, sizeof(o)) < 0)
			return -EFAULT;
	} else {
		in->pos = pos;
	}
	return (long)n;
}
SYSCALL_FALLBACK(40, sendfile, sys_sendfile, "ffpu");

/* --- stat --------------------------------------------------------------- */

struct linux_stat {
	uint64_t st_dev, st_ino, st_nlink;
	uint32_t st_mode, st_uid, st_gid, pad0;
	uint64_t st_rdev;
	int64_t st_size, st_blksize, st_blocks;
	int64_t st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec;
	int64_t reserved[3];
};
_Static_assert(sizeof(struct linux_stat) == 144, "struct stat");

#define MKDEV(ma, mi) (((uint64_t)(ma) << 8) | (mi))
#define ROOT_DEV MKDEV(0, 1)            /* like an unnamed (tmpfs-ish) device */

/* The attributes of an open file or a looked-up inode, as ramfs_stat. */
static void stat_of(struct file *f, struct ramfs_inode *ino, struct ramfs_stat *st, uint64_t *dev)
{
	memset(st, 0, sizeof(*st));
	*dev = ROOT_DEV;
	if (ino) {
		ramfs_stat(ino, st);
		return;
	}
	*dev = MKDEV(0, 5);
	st->nlink = 1;
	st->ino = 1000 + (uint64_t)f->type;
	switch (f->type) {
	case F_CON_IN: case F_CON_OUT: case F_CON_ERR:
		/* A character device that is not a terminal (ioctl gives
		 * ENOTTY): programs behave as with output to a pipe. */
		st->mode = RAMFS_S_IFCHR | 0620;
		st->rdev_major = 5;
		st->rdev_minor = 1;
		break;
	case F_NULL: st->mode = RAMFS_S_IFCHR | 0666; st->rdev_major = 1; st->rdev_minor = 3; break;
	case F_ZERO: st->mode = RAMFS_S_IFCHR | 0666; st->rdev_major = 1; st->rdev_minor = 5; break;
	default: st->mode = RAMFS_S_IFCHR | 0666; st->rdev_major = 1; st->rdev_minor = 9; break;
	}
}

static int put_stat(const struct ramfs_stat *st, uint64_t dev, struct linux_stat *ust)
{
	struct linux_stat s = { 0 };
	s.st_dev = dev;
	s.st_ino = st->ino;
	s.st_nlink = st->nlink;
	s.st_mode = st->mode;
	s.st_uid = st->uid;
	s.st_gid = st->gid;
	s.st_rdev = MKDEV(st->rdev_major, st->rdev_minor);
	s.st_size = (int64_t)st->size;
	s.st_blksize = 4096;
	s.st_blocks = (int64_t)ALIGN_UP(st->size, 512) / 512;
	s.st_atime = s.st_mtime = s.st_ctime = st->mtime;
	return copy_to_user(ust, &s, sizeof(s));
}

/* Resolves (dirfd, path, flags) for the stat family to an inode, or to an
 * open file (ino NULL) for AT_EMPTY_PATH and the special names. */
static long stat_target(int dirfd, const char *upath, int flags, struct file **fp,
			struct ramfs_inode **ino)
{
	*fp = NULL;
	*ino = NULL;
	char *path = kmalloc(RAMFS_PATH_MAX);
	if (!path)
		return -ENOMEM;
	long r = get_path(upath, path);
	if (r < 0)
		goto out;
	if (!path[0]) {
		if (!(flags & AT_EMPTY_PATH)) {
			r = -ENOENT;
			goto out;
		}
		if (dirfd == AT_FDCWD) {
			*ino = cwd ? cwd : ramfs_root();
			r = 0;
			goto out;
		}
		*fp = get(dirfd);
		if (!*fp) {
			r = -EBADF;
			goto out;
		}
		*ino = (*fp)->ino;
		r = 0;
		goto out;
	}
	static struct file dev_file;
	enum ftype t;
	if (special(path, &t)) {
		dev_file.type = t;
		*fp = &dev_file;
		r = 0;
		goto out;
	}
	r = lookup_at(dirfd, path, !(flags & AT_SYMLINK_NOFOLLOW), ino);
out:
	kfree(path);
	return r;
}

static long do_fstatat(int dirfd, const char *upath, struct linux_stat *ust, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	struct file *f;
	struct ramfs_inode *ino;
	long r = stat_target(dirfd, upath, flags, &f, &ino);
	if (r < 0)
		return r;
	struct ramfs_stat st;
	uint64_t dev;
	stat_of(f, ino, &st, &dev);
	return put_stat(&st, dev, ust) < 0 ? -EFAULT : 0;
}

static long sys_stat(const char *path, struct linux_stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, 0);
}
SYSCALL_FALLBACK(4, stat, sys_stat, "sp");

static long sys_lstat(const char *path, struct linux_stat *st)
{
	return do_fstatat(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
SYSCALL_FALLBACK(6, lstat, sys_lstat, "sp");

static long sys_newfstatat(int dirfd, const char *path, struct linux_stat *st, int flags)
{
	return do_fstatat(dirfd, path, st, flags);
}
SYSCALL_FALLBACK(262, newfstatat, sys_newfstatat, "fspx");

static long sys_fstat(int fd, struct linux_stat *ust)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	struct ramfs_stat st;
	uint64_t dev;
	stat_of(f, f->ino, &st, &dev);
	return put_stat(&st, dev, ust) < 0 ? -EFAULT : 0;
}
SYSCALL_FALLBACK(5, fstat, sys_fstat, "fp");

struct statx_ts {
	int64_t tv_sec;
	uint32_t tv_nsec;
	int32_t reserved;
};

struct linux_statx {
	uint32_t stx_mask, stx_blksize;
	uint64_t stx_attributes;
	uint32_t stx_nlink, stx_uid, stx_gid;
	uint16_t stx_mode, pad1;
	uint64_t stx_ino, stx_size, stx_blocks, stx_attributes_mask;
	struct statx_ts stx_atime, stx_btime, stx_ctime, stx_mtime;
	uint32_t stx_rdev_major, stx_rdev_minor, stx_dev_major, stx_dev_minor;
	uint64_t stx_mnt_id;
	uint32_t stx_dio_mem_align, stx_dio_offset_align;
	uint64_t spare[12];
};
_Static_assert(sizeof(struct linux_statx) == 256, "struct statx");

#define STATX_BASIC_STATS 0x7ff
#define STATX_MNT_ID      0x1000

static long sys_statx(int dirfd, const char *upath, int flags, unsigned mask,
		      struct linux_statx *ubuf)
{
	(void)mask;
	struct file *f;
	struct ramfs_inode *ino;
	long r = stat_target(dirfd, upath, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &f, &ino);
	if (r < 0)
		return r;
	struct ramfs_stat st;
	uint64_t dev;
	stat_of(f, ino, &st, &dev);
	struct linux_statx x = { 0 };
	x.stx_mask = STATX_BASIC_STATS | STATX_MNT_ID;
	x.stx_blksize = 4096;
	x.stx_nlink = st.nlink;
	x.stx_uid = st.uid;
	x.stx_gid = st.gid;
	x.stx_mode = (uint16_t)st.mode;
	x.stx_ino = st.ino;
	x.stx_size = st.size;
	x.stx_blocks = ALIGN_UP(st.size, 512) / 512;
	x.stx_atime.tv_sec = x.stx_ctime.tv_sec = x.stx_mtime.tv_sec = st.mtime;
	x.stx_rdev_major = st.rdev_major;
	x.stx_rdev_minor = st.rdev_minor;
	x.stx_dev_major = (uint32_t)(dev >> 8);
	x.stx_dev_minor = (uint32_t)(dev & 0xff);
	x.stx_mnt_id = 1;
	return copy_to_user(ubuf, &x, sizeof(x)) < 0 ? -EFAULT : 0;
}
SYSCALL_FALLBACK(332, statx, sys_statx, "fsxxp");

/* --- access, readlink ------------------------------------------------------ */

#define R_OK 4
#define W_OK 2
#define X_OK 1

static long do_faccessat(int dirfd, const char *upath, int mode, int flags)
{
	if (mode & ~7)
		return -EINVAL;
	struct file *f;
	struct ramfs_inode *ino;
	long r = stat_target(dirfd, upath, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &f, &ino);
	if (r < 0)
		return r;
	if (!ino)
		return 0;                    /* the devices: all allowed */
	/* We are root: read and write always, execute when any x bit is set
	 * (or a directory). Writes fail later, the tree being read-only. */
	if ((mode & W_OK) && ramfs_is_reg(ino))
		return -EROFS;
	if ((mode & X_OK) && !ramfs_is_dir(ino) && !(ino->mode & 0111))
		return -EACCES;
	return 0;
}

static long sys_access(const char *path, int mode)
{
	return do_faccessat(AT_FDCWD, path, mode, 0);
}
SYSCALL_FALLBACK(21, access, sys_access, "so");

static long sys_faccessat(int dirfd, const char *path, int mode)
{
	return do_faccessat(dirfd, path, mode, 0);
}
SYSCALL_FALLBACK(269, faccessat, sys_faccessat, "fso");

static long sys_faccessat2(int dirfd, const char *path, int mode, int flags)
{
	return do_faccessat(dirfd, path, mode, flags);
}
SYSCALL_FALLBACK(439, faccessat2, sys_faccessat2, "fsox");

static long do_readlinkat(int dirfd, const char *upath, char *ubuf, int size)
{
	if (size <= 0)
		return -EINVAL;
	char *path = kmalloc(RAMFS_PATH_MAX);
	if (!path)
		return -ENOMEM;
	long r = get_path(upath, path);
	const char *target = NULL;
	size_t len = 0;
	if (r < 0)
		goto out;
	if (is_proc_exe(path)) {
		target = program_exe_path();
		len = strlen(target);
	} else {
		struct ramfs_inode *ino;
		r = lookup_at(dirfd, path, false, &ino);
		if (r < 0)
			goto out;
		if (!ramfs_is_symlink(ino)) {
			r = -EINVAL;
			goto out;
		}
		target = ino->target;
		len = ino->size;
	}
	len = MIN(len, (size_t)size);
	r = copy_to_user(ubuf, target, len) < 0 ? -EFAULT : (long)len;
out:
	kfree(path);
	return r;
}

static long sys_readlink(const char *path, char *buf, int size)
{
	return do_readlinkat(AT_FDCWD, path, buf, size);
}
SYSCALL_FALLBACK(89, readlink, sys_readlink, "sbd");

static long sys_readlinkat(int dirfd, const char *path, char *buf, int size)
{
	return do_readlinkat(dirfd, path, buf, size);
}
SYSCALL_FALLBACK(267, readlinkat, sys_readlinkat, "fsbd");

/* --- directories -------------------------------------------------------- */

#ifndef DT_DIR                  /* fs/inode.h has them once the VFS is in */
#define DT_FIFO 1
#define DT_CHR 2
#define DT_DIR 4
#define DT_BLK 6
#define DT_REG 8
#define DT_LNK 10
#define DT_SOCK 12
#endif

static unsigned char dtype(const struct ramfs_inode *i)
{
	switch (i->mode & RAMFS_S_IFMT) {
	case RAMFS_S_IFDIR: return DT_DIR;
	case RAMFS_S_IFREG: return DT_REG;
	case RAMFS_S_IFLNK: return DT_LNK;
	case RAMFS_S_IFCHR: return DT_CHR;
	case RAMFS_S_IFBLK: return DT_BLK;
	case RAMFS_S_IFIFO: return DT_FIFO;
	case RAMFS_S_IFSOCK: return DT_SOCK;
	}
	return 0;
}

static long sys_getdents64(int fd, void *ubuf, unsigned count)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	if (f->type != F_DIR)
		return -ENOTDIR;
	uint8_t rec[8 + 8 + 2 + 1 + RAMFS_NAME_MAX + 1 + 8];
	unsigned done = 0;
	for (;;) {
		struct ramfs_readdir save = f->rd;
		const char *name;
		struct ramfs_inode *ino;
		if (!ramfs_readdir_next(&f->rd, &name, &ino))
			break;
		size_t nlen = strlen(name);
		unsigned reclen = (unsigned)ALIGN_UP(19 + nlen + 1, 8);
		if (done + reclen > count) {
			f->rd = save;
			if (!done)
				return -EINVAL;  /* buffer too small for one entry */
			break;
		}
		memset(rec, 0, reclen);
		uint64_t off = f->pos + 1;
		uint16_t rl = (uint16_t)reclen;
		memcpy(rec, &ino->ino, 8);
		memcpy(rec + 8, &off, 8);
		memcpy(rec + 16, &rl, 2);
		rec[18] = dtype(ino);
		memcpy(rec + 19, name, nlen);
		if (copy_to_user((uint8_t *)ubuf + done, rec, reclen) < 0)
			return -EFAULT;
		done += reclen;
		f->pos++;
	}
	return done;
}
SYSCALL_FALLBACK(217, getdents64, sys_getdents64, "fpu");

/* The path of a directory, by walking `..` and finding each name. */
static int dir_path(struct ramfs_inode *d, char *buf, size_t size)
{
	char *tmp = kmalloc(RAMFS_PATH_MAX);
	if (!tmp)
		return -ENOMEM;
	buf[0] = 0;
	struct ramfs_inode *root = ramfs_root();
	int r = 0;
	while (d && d != root) {
		struct ramfs_inode *parent = d->dir.parent;
		struct ramfs_readdir rd;
		const char *name = NULL, *n;
		struct ramfs_inode *ino;
		ramfs_readdir_begin(&rd, parent);
		while (ramfs_readdir_next(&rd, &n, &ino))
			if (ino == d && strcmp(n, ".") && strcmp(n, "..")) {
				name = n;
				break;
			}
		if (!name) {
			r = -ENOENT;
			break;
		}
		snprintf(tmp, RAMFS_PATH_MAX, "/%s%s", name, buf);
		if (strlcpy(buf, tmp, size) >= size) {
			r = -ERANGE;
			break;
		}
		d = parent;
	}
	if (!r && !buf[0])
		strlcpy(buf, "/", size);
	kfree(tmp);
	return r;
}

static long sys_getcwd(char *ubuf, size_t size)
{
	char *buf = kmalloc(RAMFS_PATH_MAX);
	if (!buf)
		return -ENOMEM;
	long r = dir_path(cwd, buf, RAMFS_PATH_MAX);
	if (!r) {
		size_t len = strlen(buf) + 1;
		if (len > size)
			r = -ERANGE;
		else
			r = copy_to_user(ubuf, buf, len) < 0 ? -EFAULT : (long)len;
	}
	kfree(buf);
	return r;
}
SYSCALL_FALLBACK(79, getcwd, sys_getcwd, "pu");

static long sys_chdir(const char *upath)
{
	char *path = kmalloc(RAMFS_PATH_MAX);
	if (!path)
		return -ENOMEM;
	long r = get_path(upath, path);
	struct ramfs_inode *ino;
	if (r >= 0)
		r = lookup_at(AT_FDCWD, path, true, &ino);
	if (r >= 0) {
		if (!ramfs_is_dir(ino))
			r = -ENOTDIR;
		else
			cwd = ino == ramfs_root() ? NULL : ino;
	}
	kfree(path);
	return r < 0 ? r : 0;
}
SYSCALL_FALLBACK(80, chdir, sys_chdir, "s");

static long sys_fchdir(int fd)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	if (f->type != F_DIR)
		return -ENOTDIR;
	cwd = f->ino == ramfs_root() ? NULL : f->ino;
	return 0;
}
SYSCALL_FALLBACK(81, fchdir, sys_fchdir, "f");

static long sys_umask(unsigned mask)
{
	unsigned old = cur_umask;
	cur_umask = mask & 0777;
	return old;
}
SYSCALL_FALLBACK(95, umask, sys_umask, "o");

/* --- dup, fcntl, ioctl ------------------------------------------------------ */

static long sys_dup(int fd)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	return alloc_fd(0, f, false);
}
SYSCALL_FALLBACK(32, dup, sys_dup, "f");

static long do_dup3(int old, int new, int flags)
{
	struct file *f = get(old);
	if (!f)
		return -EBADF;
	if (new < 0 || new >= NFD)
		return -EBADF;
	if (old == new)
		return new;
	if (fds[new].f)
		put(fds[new].f);
	fds[new].f = f;
	fds[new].cloexec = flags & O_CLOEXEC;
	f->refs++;
	return new;
}

static long sys_dup2(int old, int new)
{
	if (old == new)
		return get(old) ? new : -EBADF;
	return do_dup3(old, new, 0);
}
SYSCALL_FALLBACK(33, dup2, sys_dup2, "ff");

static long sys_dup3(int old, int new, int flags)
{
	if (old == new || (flags & ~O_CLOEXEC))
		return -EINVAL;
	return do_dup3(old, new, flags);
}
SYSCALL_FALLBACK(292, dup3, sys_dup3, "ffx");

#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#define F_DUPFD_CLOEXEC 1030
#define F_GETPIPE_SZ 1032
#define FD_CLOEXEC 1

static long sys_fcntl(int fd, int cmd, long arg)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC:
		if (arg < 0 || arg >= NFD)
			return -EINVAL;
		return alloc_fd((int)arg, f, cmd == F_DUPFD_CLOEXEC);
	case F_GETFD:
		return fds[fd].cloexec ? FD_CLOEXEC : 0;
	case F_SETFD:
		fds[fd].cloexec = arg & FD_CLOEXEC;
		return 0;
	case F_GETFL:
		return f->flags & ~(unsigned)O_CLOEXEC;
	case F_SETFL: {
		unsigned changeable = O_APPEND | O_NONBLOCK;
		f->flags = (f->flags & ~changeable) | ((unsigned)arg & changeable);
		return 0;
	}
	case F_GETLK: case F_OFD_GETLK: {
		/* One process: nobody else ever holds a lock. l_type first. */
		int16_t unlck = 2;      /* F_UNLCK */
		return copy_to_user((void *)arg, &unlck, sizeof(unlck)) < 0 ? -EFAULT : 0;
	}
	case F_SETLK: case F_SETLKW: case F_OFD_SETLK: case F_OFD_SETLKW:
		return 0;
	default:
		return -EINVAL;
	}
}
SYSCALL_FALLBACK(72, fcntl, sys_fcntl, "fdx");

#define TCGETS     0x5401
#define TCSETS     0x5402
#define TIOCGPGRP  0x540F
#define TIOCGWINSZ 0x5413
#define FIONREAD   0x541B
#define FIONBIO    0x5421
#define FIONCLEX   0x5450
#define FIOCLEX    0x5451

static long sys_ioctl(int fd, unsigned long cmd, long arg)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	switch (cmd) {
	case FIONBIO: {
		int on;
		if (copy_from_user(&on, (const void *)arg, sizeof(on)) < 0)
			return -EFAULT;
		if (on)
			f->flags |= O_NONBLOCK;
		else
			f->flags &= ~(unsigned)O_NONBLOCK;
		return 0;
	}
	case FIOCLEX:
		fds[fd].cloexec = true;
		return 0;
	case FIONCLEX:
		fds[fd].cloexec = false;
		return 0;
	case FIONREAD: {
		int n = 0;
		if (f->type == F_FILE)
			n = f->pos < f->ino->size ? (int)MIN(f->ino->size - f->pos, (uint64_t)INT32_MAX) : 0;
		else if (f->type != F_CON_IN)
			return -ENOTTY;
		return copy_to_user((void *)arg, &n, sizeof(n)) < 0 ? -EFAULT : 0;
	}
	}
	/* The console is not a terminal to the program (TCGETS, TIOCGWINSZ
	 * fail): output is then block-buffered and uncoloured, exactly as on
	 * a host with the program's output going to a pipe, which is what the
	 * wisp tool's byte-exact streams are. */
	return -ENOTTY;
}
SYSCALL_FALLBACK(16, ioctl, sys_ioctl, "fxx");

/* --- for mmap ------------------------------------------------------------- */

/* Weak: the VFS's own fd_mmap_file replaces this one. */
__attribute__((weak)) int fd_mmap_file(int fd, struct vm_file *out)
{
	struct file *f = get(fd);
	if (!f)
		return -EBADF;
	if (f->type == F_ZERO)
		return 1;
	if (f->type != F_FILE)
		return -ENODEV;
	if ((f->flags & O_ACCMODE) == O_WRONLY || (f->flags & O_PATH))
		return -EACCES;
	out->file = f->ino;
	out->size = f->ino->size;
	out->read = ramfs_file_read;
	return 0;
}
