/*
 * File system calls on descriptors: open/close, read/write and their
 * vector and positional forms, lseek, dup, fcntl, ioctl, flock, pipes,
 * sendfile/copy_file_range/splice, memfd. Path calls are in sys_path.c.
 * Semantics and errno values follow Linux x86-64.
 */
#include "fs/vfs.h"
#include "fs/lock.h"
#include "fs/pipe.h"
#include "fs/ramfs.h"
#include "fs/sys.h"
#include "fs/deps.h"
#include "mm/page_alloc.h"
#include "linux/syscall.h"
#include "fs/deps.h"
#include "fs/deps.h"
#include "lib/string.h"
#include "lib/printf.h"
#include "errno.h"

long user_path(const char *upath, char *buf)
{
	if (!upath)
		return -EFAULT;
	long n = strncpy_from_user(buf, upath, PATH_MAX);
	return n;
}

/* A PATH_MAX buffer for a path argument (two calls need two). */
char *path_buf(void)
{
	return fs_alloc(PATH_MAX);
}

/* --- open and close ---------------------------------------------------------------- */

#define VALID_OPEN_FLAGS (O_ACCMODE | O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_APPEND | \
			  O_NONBLOCK | O_DSYNC | O_ASYNC | O_DIRECT | O_LARGEFILE | O_DIRECTORY | \
			  O_NOFOLLOW | O_NOATIME | O_CLOEXEC | O_SYNC | O_PATH | O_TMPFILE)

long do_openat(int dirfd, const char *upath, uint32_t flags, uint32_t mode, uint64_t resolve)
{
	char *path = path_buf();
	if (!path)
		return -ENOMEM;
	long r = user_path(upath, path);
	if (r >= 0) {
		struct file *f;
		r = vfs_open(dirfd, path, flags, mode, resolve, &f);
		if (r == 0) {
			r = fd_install(f, 0, flags & O_CLOEXEC);
			file_put(f);
		}
	}
	fs_free(path);
	return r;
}

static long sys_open(const char *path, int flags, uint32_t mode)
{
	return do_openat(AT_FDCWD, path, (uint32_t)flags & VALID_OPEN_FLAGS, mode, 0);
}
SYSCALL(2, open, sys_open, "sxo");

static long sys_openat(int dirfd, const char *path, int flags, uint32_t mode)
{
	return do_openat(dirfd, path, (uint32_t)flags & VALID_OPEN_FLAGS, mode, 0);
}
SYSCALL(257, openat, sys_openat, "fsxo");

static long sys_creat(const char *path, uint32_t mode)
{
	return do_openat(AT_FDCWD, path, O_CREAT | O_WRONLY | O_TRUNC, mode, 0);
}
SYSCALL(85, creat, sys_creat, "so");

struct open_how {
	uint64_t flags, mode, resolve;
};

static long sys_openat2(int dirfd, const char *path, const struct open_how *uhow, size_t size)
{
	struct open_how how = { 0 };
	if (size < sizeof(how))
		return -EINVAL;
	if (size > 4096)
		return -E2BIG;
	if (copy_from_user(&how, uhow, sizeof(how)) < 0)
		return -EFAULT;
	/* A larger struct is fine only if its extra bytes are zero. */
	for (size_t off = sizeof(how); off < size; off++) {
		uint8_t b;
		if (copy_from_user(&b, (const uint8_t *)uhow + off, 1) < 0)
			return -EFAULT;
		if (b)
			return -E2BIG;
	}
	if (how.flags & ~(uint64_t)VALID_OPEN_FLAGS)
		return -EINVAL;
	if (how.resolve & ~0x3full)
		return -EINVAL;
	if ((how.resolve & 0x08) && (how.resolve & 0x10))     /* BENEATH + IN_ROOT */
		return -EINVAL;
	if (how.mode & ~07777ull)
		return -EINVAL;
	if (how.mode && !(how.flags & O_CREAT) && (how.flags & O_TMPFILE) != O_TMPFILE)
		return -EINVAL;
	if ((how.flags & O_PATH) && (how.flags & ~(uint64_t)(O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)))
		return -EINVAL;
	return do_openat(dirfd, path, (uint32_t)how.flags, (uint32_t)how.mode, how.resolve);
}
SYSCALL(437, openat2, sys_openat2, "fspu");

static long sys_close(int fd)
{
	return fd_close(fd);
}
SYSCALL(3, close, sys_close, "f");

static long sys_close_range(unsigned first, unsigned last, unsigned flags)
{
	return fd_close_range(first, last, flags);
}
SYSCALL(436, close_range, sys_close_range, "uux");

/* --- read and write ---------------------------------------------------------------- */

#define IOV_MAX 1024

/* Copies in an iovec array and checks it: total length fits ssize_t. */
static long get_iov(const struct iovec *uiov, int cnt, struct iovec **out, struct uio *u)
{
	if (cnt < 0 || cnt > IOV_MAX)
		return -EINVAL;
	struct iovec *iov = cnt ? fs_alloc(sizeof(*iov) * cnt) : NULL;
	if (cnt && !iov)
		return -ENOMEM;
	if (cnt && copy_from_user(iov, uiov, sizeof(*iov) * cnt) < 0) {
		fs_free(iov);
		return -EFAULT;
	}
	size_t total = 0;
	for (int i = 0; i < cnt; i++) {
		if ((int64_t)iov[i].len < 0 || total + iov[i].len > (size_t)INT64_MAX) {
			fs_free(iov);
			return -EINVAL;
		}
		total += iov[i].len;
	}
	u->iov = iov;
	u->iovcnt = cnt;
	u->idx = 0;
	u->off = 0;
	u->resid = total;
	u->user = true;
	*out = iov;
	return 0;
}

/* Linux caps one read or write at 0x7ffff000 bytes. */
#define RW_MAX 0x7ffff000ul

static long rw(int fd, void *buf, size_t len, bool write, int64_t off, bool positional)
{
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	long r;
	if (positional && !(f->mode & FMODE_PREAD))
		r = -ESPIPE;
	else if (positional && off < 0)
		r = -EINVAL;
	else if (!(f->mode & (write ? FMODE_WRITE : FMODE_READ)))
		r = -EBADF;
	else if (!user_range_ok((uint64_t)buf, len) && len)
		r = -EFAULT;
	else {
		struct iovec v;
		struct uio u;
		uio_init1(&u, &v, buf, MIN(len, RW_MAX), true);
		uint64_t pos = (uint64_t)off;
		r = write ? vfs_writev(f, &u, positional ? &pos : NULL)
			  : vfs_readv(f, &u, positional ? &pos : NULL);
	}
	file_put(f);
	return r;
}

static long sys_read(int fd, void *buf, size_t len)
{
	return rw(fd, buf, len, false, 0, false);
}
SYSCALL(0, read, sys_read, "fbu");

static long sys_write(int fd, const void *buf, size_t len)
{
	return rw(fd, (void *)buf, len, true, 0, false);
}
SYSCALL(1, write, sys_write, "fbu");

static long sys_pread64(int fd, void *buf, size_t len, int64_t off)
{
	return rw(fd, buf, len, false, off, true);
}
SYSCALL(17, pread64, sys_pread64, "fbud");

static long sys_pwrite64(int fd, const void *buf, size_t len, int64_t off)
{
	return rw(fd, (void *)buf, len, true, off, true);
}
SYSCALL(18, pwrite64, sys_pwrite64, "fbud");

static long rwv(int fd, const struct iovec *uiov, int cnt, bool write, int64_t off, bool positional)
{
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	long r;
	struct iovec *iov = NULL;
	struct uio u;
	if (!(f->mode & (write ? FMODE_WRITE : FMODE_READ)))
		r = -EBADF;
	else if (positional && !(f->mode & FMODE_PREAD))
		r = -ESPIPE;
	else if (positional && off < 0)
		r = -EINVAL;
	else if ((r = get_iov(uiov, cnt, &iov, &u)) == 0) {
		uint64_t pos = (uint64_t)off;
		if (u.resid == 0)
			r = 0;
		else
			r = write ? vfs_writev(f, &u, positional ? &pos : NULL)
				  : vfs_readv(f, &u, positional ? &pos : NULL);
	}
	fs_free(iov);
	file_put(f);
	return r;
}

static long sys_readv(int fd, const struct iovec *iov, int cnt)
{
	return rwv(fd, iov, cnt, false, 0, false);
}
SYSCALL(19, readv, sys_readv, "fpd");

static long sys_writev(int fd, const struct iovec *iov, int cnt)
{
	return rwv(fd, iov, cnt, true, 0, false);
}
SYSCALL(20, writev, sys_writev, "fpd");

/* preadv/pwritev take the offset split in two registers (lo, hi). */
static long sys_preadv(int fd, const struct iovec *iov, int cnt, uint64_t lo, uint64_t hi)
{
	(void)hi;
	return rwv(fd, iov, cnt, false, (int64_t)lo, true);
}
SYSCALL(295, preadv, sys_preadv, "fpddd");

static long sys_pwritev(int fd, const struct iovec *iov, int cnt, uint64_t lo, uint64_t hi)
{
	(void)hi;
	return rwv(fd, iov, cnt, true, (int64_t)lo, true);
}
SYSCALL(296, pwritev, sys_pwritev, "fpddd");

#define RWF_SUPPORTED 0x1f      /* HIPRI DSYNC SYNC NOWAIT APPEND: accepted */

static long sys_preadv2(int fd, const struct iovec *iov, int cnt, uint64_t lo, uint64_t hi, int flags)
{
	(void)hi;
	if (flags & ~RWF_SUPPORTED)
		return -EOPNOTSUPP;
	return rwv(fd, iov, cnt, false, (int64_t)lo, (int64_t)lo != -1);
}
SYSCALL(327, preadv2, sys_preadv2, "fpdddx");

static long sys_pwritev2(int fd, const struct iovec *iov, int cnt, uint64_t lo, uint64_t hi, int flags)
{
	(void)hi;
	if (flags & ~RWF_SUPPORTED)
		return -EOPNOTSUPP;
	return rwv(fd, iov, cnt, true, (int64_t)lo, (int64_t)lo != -1);
}
SYSCALL(328, pwritev2, sys_pwritev2, "fpdddx");

static long sys_lseek(int fd, int64_t off, int whence)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	long r = vfs_lseek(f, off, whence);
	file_put(f);
	return r;
}
SYSCALL(8, lseek, sys_lseek, "fdd");

/* --- dup, fcntl, ioctl, flock --------------------------------------------------- */

static long sys_dup(int fd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	long r = fd_install(f, 0, false);
	file_put(f);
	return r;
}
SYSCALL(32, dup, sys_dup, "f");

static long sys_dup2(int oldfd, int newfd)
{
	if (oldfd == newfd) {
		struct file *f = fd_get(oldfd);
		if (!f)
			return -EBADF;
		file_put(f);
		return newfd;
	}
	return fd_dup_to(oldfd, newfd, false);
}
SYSCALL(33, dup2, sys_dup2, "ff");

static long sys_dup3(int oldfd, int newfd, int flags)
{
	if (flags & ~O_CLOEXEC)
		return -EINVAL;
	if (oldfd == newfd)
		return -EINVAL;
	return fd_dup_to(oldfd, newfd, flags & O_CLOEXEC);
}
SYSCALL(292, dup3, sys_dup3, "ffx");

#define F_DUPFD 0
#define F_GETFD 1
#define F_SETFD 2
#define F_GETFL 3
#define F_SETFL 4
#define F_GETLK 5
#define F_SETLK 6
#define F_SETLKW 7
#define F_SETOWN 8
#define F_GETOWN 9
#define F_SETSIG 10
#define F_GETSIG 11
#define F_SETOWN_EX 15
#define F_GETOWN_EX 16
#define F_OFD_GETLK 36
#define F_OFD_SETLK 37
#define F_OFD_SETLKW 38
#define F_SETLEASE 1024
#define F_GETLEASE 1025
#define F_NOTIFY 1026
#define F_DUPFD_CLOEXEC 1030
#define F_SETPIPE_SZ 1031
#define F_GETPIPE_SZ 1032
#define F_ADD_SEALS 1033
#define F_GET_SEALS 1034

static long sys_fcntl(int fd, int cmd, unsigned long arg)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	long r;
	bool path = f->mode & FMODE_PATH;
	switch (cmd) {
	case F_DUPFD:
	case F_DUPFD_CLOEXEC: {
		uint64_t soft, hard;
		fd_get_rlimit(&soft, &hard);
		if (arg >= soft)
			r = -EINVAL;
		else
			r = fd_install(f, (int)arg, cmd == F_DUPFD_CLOEXEC);
		break;
	}
	case F_GETFD:
		r = fd_get_flags(fd);
		break;
	case F_SETFD:
		r = fd_set_flags(fd, (int)arg);
		break;
	case F_GETFL:
		r = f->flags & ~(uint32_t)O_CLOEXEC;
		if (path)
			r = O_PATH | (f->flags & (O_DIRECTORY | O_NOFOLLOW));
		else
			r |= O_LARGEFILE;
		break;
	case F_SETFL:
		if (path) {
			r = -EBADF;
			break;
		}
		/* O_APPEND cannot be cleared on an append-only file (none here). */
		f->flags = (f->flags & ~(uint32_t)O_SETFL_MASK) | ((uint32_t)arg & O_SETFL_MASK);
		r = 0;
		break;
	case F_GETLK: case F_SETLK: case F_SETLKW:
	case F_OFD_GETLK: case F_OFD_SETLK: case F_OFD_SETLKW: {
		if (path) {
			r = -EBADF;
			break;
		}
		struct k_flock fl;
		if (copy_from_user(&fl, (void *)arg, sizeof(fl)) < 0) {
			r = -EFAULT;
			break;
		}
		r = lock_fcntl(f, cmd, &fl);
		if (r == 0 && (cmd == F_GETLK || cmd == F_OFD_GETLK) &&
		    copy_to_user((void *)arg, &fl, sizeof(fl)) < 0)
			r = -EFAULT;
		break;
	}
	case F_SETOWN: case F_SETSIG: case F_SETOWN_EX:
		r = path ? -EBADF : 0;
		break;
	case F_GETOWN: case F_GETSIG:
		r = path ? -EBADF : 0;
		break;
	case F_GETOWN_EX: {
		int32_t ex[2] = { 0, 0 };
		r = path ? -EBADF : copy_to_user((void *)arg, ex, sizeof(ex)) < 0 ? -EFAULT : 0;
		break;
	}
	case F_GETLEASE:
		r = path ? -EBADF : F_UNLCK;
		break;
	case F_SETLEASE:
	case F_NOTIFY:
		r = -EINVAL;
		break;
	case F_SETPIPE_SZ:
	case F_GETPIPE_SZ:
		r = path ? -EBADF : pipe_fcntl(f, cmd, arg);
		break;
	case F_ADD_SEALS:
	case F_GET_SEALS:
		r = path ? -EBADF : memfd_seals(f, cmd == F_ADD_SEALS, (unsigned)arg);
		break;
	default:
		r = -EINVAL;
	}
	file_put(f);
	return r;
}
SYSCALL(72, fcntl, sys_fcntl, "fdx");

#define FIONREAD   0x541B
#define FIONBIO    0x5421
#define FIOASYNC   0x5452
#define FIONCLEX   0x5450
#define FIOCLEX    0x5451

static long sys_ioctl(int fd, unsigned long cmd, unsigned long arg)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	long r;
	if (f->mode & FMODE_PATH) {
		r = -EBADF;
		goto out;
	}
	switch (cmd) {
	case FIOCLEX:
		r = fd_set_flags(fd, FD_CLOEXEC);
		goto out;
	case FIONCLEX:
		r = fd_set_flags(fd, 0);
		goto out;
	case FIONBIO:
	case FIOASYNC: {
		int on;
		if (copy_from_user(&on, (void *)arg, sizeof(on)) < 0) {
			r = -EFAULT;
			goto out;
		}
		uint32_t bit = cmd == FIONBIO ? O_NONBLOCK : O_ASYNC;
		if (on)
			f->flags |= bit;
		else
			f->flags &= ~bit;
		r = 0;
		goto out;
	}
	case FIONREAD: {
		struct inode *i = f->path.inode;
		long n;
		if (S_ISREG(i->mode))
			n = f->pos < i->size ? (long)MIN(i->size - f->pos, (uint64_t)INT32_MAX) : 0;
		else if ((n = pipe_nread(f)) == -ENOTTY) {
			if (f->ops && f->ops->ioctl) {
				r = f->ops->ioctl(f, cmd, arg);
				goto out;
			}
			r = -ENOTTY;
			goto out;
		}
		int v = (int)n;
		r = copy_to_user((void *)arg, &v, sizeof(v)) < 0 ? -EFAULT : 0;
		goto out;
	}
	}
	r = f->ops && f->ops->ioctl ? f->ops->ioctl(f, cmd, arg) : -ENOTTY;
out:
	file_put(f);
	return r;
}
SYSCALL(16, ioctl, sys_ioctl, "fxx");

static long sys_flock(int fd, int op)
{
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	long r = lock_flock(f, op);
	file_put(f);
	return r;
}
SYSCALL(73, flock, sys_flock, "fd");

/* --- pipes --------------------------------------------------------------------- */

static long sys_pipe2(int *ufds, int flags)
{
	if (flags & ~(O_CLOEXEC | O_NONBLOCK | O_DIRECT))
		return -EINVAL;
	struct file *rd, *wr;
	int r = pipe_create((uint32_t)flags, &rd, &wr);
	if (r < 0)
		return r;
	int fds[2];
	fds[0] = fd_install(rd, 0, flags & O_CLOEXEC);
	fds[1] = fds[0] < 0 ? fds[0] : fd_install(wr, 0, flags & O_CLOEXEC);
	file_put(rd);
	file_put(wr);
	if (fds[1] < 0) {
		if (fds[0] >= 0)
			fd_close(fds[0]);
		return fds[1];
	}
	if (copy_to_user(ufds, fds, sizeof(fds)) < 0) {
		fd_close(fds[0]);
		fd_close(fds[1]);
		return -EFAULT;
	}
	return 0;
}
SYSCALL(293, pipe2, sys_pipe2, "px");

static long sys_pipe(int *ufds)
{
	return sys_pipe2(ufds, 0);
}
SYSCALL(22, pipe, sys_pipe, "p");

/* --- copying between files ------------------------------------------------------ */

#define COPY_CHUNK 65536u

/* Moves up to len bytes from in (at *ipos, or its offset) to out (at
 * *opos, or its offset). Stops at end of input or a short write. */
static long copy_between(struct file *in, uint64_t *ipos, struct file *out, uint64_t *opos,
			 size_t len, bool once)
{
	uint8_t *buf = page_alloc_virt(4);       /* 64 KiB */
	if (!buf)
		return -ENOMEM;
	size_t done = 0;
	long r = 0;
	while (done < len) {
		size_t n = MIN(len - done, (size_t)COPY_CHUNK);
		r = vfs_read(in, buf, n, ipos);
		if (r <= 0)
			break;
		size_t got = (size_t)r;
		size_t w = 0;
		while (w < got) {
			r = vfs_write(out, buf + w, got - w, opos);
			if (r <= 0)
				break;
			w += (size_t)r;
		}
		done += w;
		if (w < got && !(in->mode & FMODE_STREAM)) {
			/* A short write (a nonblocking socket that filled up):
			 * the input offset goes back to what was written, so
			 * no byte is skipped. */
			if (ipos)
				*ipos -= got - w;
			else
				in->pos -= got - w;
		}
		if (w < got || got < n || once)
			break;
	}
	page_free_virt(buf, 4);
	return done ? (long)done : r;
}

static long sys_sendfile(int outfd, int infd, int64_t *uoff, size_t count)
{
	struct file *in = fd_get_io(infd), *out = fd_get_io(outfd);
	long r;
	if (!in || !out) {
		r = -EBADF;
		goto out;
	}
	if (!(in->mode & FMODE_READ) || !(out->mode & FMODE_WRITE)) {
		r = -EBADF;
		goto out;
	}
	if (out->flags & O_APPEND || S_ISDIR(in->path.inode->mode)) {
		r = -EINVAL;
		goto out;
	}
	count = MIN(count, RW_MAX);
	if (uoff) {
		int64_t off;
		if (copy_from_user(&off, uoff, sizeof(off)) < 0) {
			r = -EFAULT;
			goto out;
		}
		if (off < 0 || !(in->mode & FMODE_PREAD)) {
			r = off < 0 ? -EINVAL : -ESPIPE;
			goto out;
		}
		uint64_t pos = (uint64_t)off;
		r = copy_between(in, &pos, out, NULL, count, false);
		off = (int64_t)pos;
		if (copy_to_user(uoff, &off, sizeof(off)) < 0)
			r = -EFAULT;
	} else {
		r = copy_between(in, NULL, out, NULL, count, false);
	}
out:
	if (in)
		file_put(in);
	if (out)
		file_put(out);
	return r;
}
SYSCALL(40, sendfile, sys_sendfile, "ffpu");

static long sys_copy_file_range(int infd, int64_t *uoin, int outfd, int64_t *uoout, size_t len,
				unsigned flags)
{
	if (flags)
		return -EINVAL;
	struct file *in = fd_get_io(infd), *out = fd_get_io(outfd);
	long r;
	int64_t oin = 0, oout = 0;
	if (!in || !out) {
		r = -EBADF;
		goto out;
	}
	if (!(in->mode & FMODE_READ) || !(out->mode & FMODE_WRITE) || (out->flags & O_APPEND)) {
		r = -EBADF;
		goto out;
	}
	if (S_ISDIR(in->path.inode->mode) || S_ISDIR(out->path.inode->mode)) {
		r = -EISDIR;
		goto out;
	}
	if (!S_ISREG(in->path.inode->mode) || !S_ISREG(out->path.inode->mode)) {
		r = -EINVAL;
		goto out;
	}
	if ((uoin && copy_from_user(&oin, uoin, 8) < 0) || (uoout && copy_from_user(&oout, uoout, 8) < 0)) {
		r = -EFAULT;
		goto out;
	}
	if (oin < 0 || oout < 0) {
		r = -EINVAL;
		goto out;
	}
	uint64_t ipos = uoin ? (uint64_t)oin : in->pos, opos = uoout ? (uint64_t)oout : out->pos;
	if (in->path.inode == out->path.inode && ipos < opos + len && opos < ipos + len) {
		r = -EINVAL;
		goto out;
	}
	r = copy_between(in, &ipos, out, &opos, MIN(len, RW_MAX), false);
	if (r > 0) {
		if (uoin) {
			oin = (int64_t)ipos;
			copy_to_user(uoin, &oin, 8);
		} else {
			in->pos = ipos;
		}
		if (uoout) {
			oout = (int64_t)opos;
			copy_to_user(uoout, &oout, 8);
		} else {
			out->pos = opos;
		}
	}
out:
	if (in)
		file_put(in);
	if (out)
		file_put(out);
	return r;
}
SYSCALL(326, copy_file_range, sys_copy_file_range, "fpfpux");

static long sys_splice(int infd, int64_t *uoin, int outfd, int64_t *uoout, size_t len, unsigned flags)
{
	(void)flags;
	struct file *in = fd_get_io(infd), *out = fd_get_io(outfd);
	long r;
	if (!in || !out) {
		r = -EBADF;
		goto out;
	}
	if (!(in->mode & FMODE_READ) || !(out->mode & FMODE_WRITE)) {
		r = -EBADF;
		goto out;
	}
	bool inpipe = pipe_nread(in) >= 0, outpipe = pipe_nread(out) >= 0;
	if (!inpipe && !outpipe) {
		r = -EINVAL;
		goto out;
	}
	if ((inpipe && uoin) || (outpipe && uoout)) {
		r = -ESPIPE;
		goto out;
	}
	int64_t oin = 0, oout = 0;
	if ((uoin && copy_from_user(&oin, uoin, 8) < 0) || (uoout && copy_from_user(&oout, uoout, 8) < 0)) {
		r = -EFAULT;
		goto out;
	}
	if (oin < 0 || oout < 0) {
		r = -EINVAL;
		goto out;
	}
	uint64_t ipos = (uint64_t)oin, opos = (uint64_t)oout;
	/* One read's worth, as splice moves what is there. */
	r = copy_between(in, uoin ? &ipos : NULL, out, uoout ? &opos : NULL,
			 MIN(len, (size_t)COPY_CHUNK), true);
	if (r > 0) {
		if (uoin) {
			oin = (int64_t)ipos;
			copy_to_user(uoin, &oin, 8);
		}
		if (uoout) {
			oout = (int64_t)opos;
			copy_to_user(uoout, &oout, 8);
		}
	}
out:
	if (in)
		file_put(in);
	if (out)
		file_put(out);
	return r;
}
SYSCALL(275, splice, sys_splice, "fpfpux");

/* --- memfd ---------------------------------------------------------------------- */

#define MFD_CLOEXEC       1u
#define MFD_ALLOW_SEALING 2u
#define MFD_HUGETLB       4u
#define MFD_NOEXEC_SEAL   8u
#define MFD_EXEC          0x10u
#define F_SEAL_SEAL       1u

static const struct file_ops memfd_marker;

long memfd_seals(struct file *f, bool add, unsigned seals)
{
	struct inode *i = f->path.inode;
	if (!(i->flags & INODE_MEMFD))
		return -EINVAL;
	if (!add)
		return i->flags >> 16;
	if ((i->flags >> 16) & F_SEAL_SEAL)
		return -EPERM;
	if (seals & ~0x3fu)
		return -EINVAL;
	/* Recorded and reported; not enforced yet. */
	i->flags |= seals << 16;
	return 0;
}

static long sys_memfd_create(const char *uname, unsigned flags)
{
	(void)memfd_marker;
	if (flags & ~(MFD_CLOEXEC | MFD_ALLOW_SEALING | MFD_NOEXEC_SEAL | MFD_EXEC))
		return flags & MFD_HUGETLB ? -EINVAL : -EINVAL;
	char name[256];
	long n = strncpy_from_user(name, uname, sizeof(name));
	if (n < 0)
		return n == -ENAMETOOLONG ? -EINVAL : n;
	if (n > 249)
		return -EINVAL;
	struct file *f;
	int r = vfs_open(AT_FDCWD, "/dev/shm", O_TMPFILE | O_RDWR | O_EXCL, 0777, 0, &f);
	if (r < 0)
		return r;
	struct inode *i = f->path.inode;
	i->flags |= INODE_MEMFD;
	if (!(flags & MFD_ALLOW_SEALING))
		i->flags |= F_SEAL_SEAL << 16;
	fs_free(f->name);
	f->name = fs_alloc(n + 32);
	if (f->name)
		snprintf(f->name, n + 32, "/memfd:%s (deleted)", name);
	r = fd_install(f, 0, flags & MFD_CLOEXEC);
	file_put(f);
	return r;
}
SYSCALL(319, memfd_create, sys_memfd_create, "sx");

/* --- mmap's view of a descriptor ---------------------------------------------------- */

int fd_mmap_file(int fd, struct vm_file *out)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	int r = 0;
	struct inode *i = f->path.inode;
	if (f->mode & FMODE_PATH)
		r = -EBADF;
	else if (devfs_is_zero(f))
		r = 1;
	else if (!S_ISREG(i->mode) || (!tmpfs_is(i) && !i->ops->map_file))
		r = -ENODEV;
	else if (!(f->mode & FMODE_READ))
		r = -EACCES;
	if (r == 0 && i->ops->map_file) {
		/* A disk file (ext2): its own never-sleeping reader. */
		r = i->ops->map_file(i, out);
		if (r == 0) {
			vfs_iget(i);
			maps_note_name(i, f->name);
		}
	} else if (r == 0) {
		/* The mapping reads the inode at fault time: it keeps it alive
		 * (for good, until mappings can give references back). */
		vfs_iget(i);
		out->file = i;
		out->size = i->size;
		out->read = ramfs_file_read;
		maps_note_name(i, f->name);
	}
	file_put(f);
	return r;
}
