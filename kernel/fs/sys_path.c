/*
 * File system calls on paths: the stat family, getdents64, creating,
 * removing and renaming names, links, attributes, access, truncate,
 * fallocate, sync, statfs, the working directory and umask.
 */
#include "fs/shutdown.h"
#include "fs/vfs.h"
#include "fs/namei.h"
#include "fs/sys.h"
#include "fs/ramfs.h"
#include "linux/syscall.h"
#include "fs/deps.h"
#include "lib/string.h"
#include "errno.h"

/* --- stat ---------------------------------------------------------------------- */

struct linux_stat {
	uint64_t st_dev, st_ino, st_nlink;
	uint32_t st_mode, st_uid, st_gid, pad0;
	uint64_t st_rdev;
	int64_t st_size, st_blksize, st_blocks;
	int64_t st_atime, st_atime_nsec, st_mtime, st_mtime_nsec, st_ctime, st_ctime_nsec;
	int64_t reserved[3];
};
_Static_assert(sizeof(struct linux_stat) == 144, "struct stat is 144 bytes");

struct statx_ts {
	int64_t sec;
	uint32_t nsec;
	int32_t reserved;
};

struct linux_statx {
	uint32_t mask, blksize;
	uint64_t attributes;
	uint32_t nlink, uid, gid;
	uint16_t mode, spare0;
	uint64_t ino, size, blocks, attributes_mask;
	struct statx_ts atime, btime, ctime, mtime;
	uint32_t rdev_major, rdev_minor, dev_major, dev_minor;
	uint64_t mnt_id;
	uint32_t dio_mem_align, dio_offset_align;
	uint64_t spare3[12];
};
_Static_assert(sizeof(struct linux_statx) == 256, "struct statx is 256 bytes");
_Static_assert(__builtin_offsetof(struct linux_statx, mnt_id) == 144, "statx layout");

static uint64_t blocks_of(const struct inode *i)
{
	if (i->blocks || !S_ISREG(i->mode) || (i->sb && strcmp(i->sb->type, "tmpfs")))
		return i->blocks;
	return ALIGN_UP(i->size, 512) / 512;
}

static void fill_stat(const struct inode *i, struct linux_stat *s)
{
	memset(s, 0, sizeof(*s));
	if (i->sb)
		s->st_dev = vfs_encode_dev(i->sb->dev_major, i->sb->dev_minor);
	s->st_ino = i->ino;
	s->st_nlink = i->nlink;
	s->st_mode = i->mode;
	s->st_uid = i->uid;
	s->st_gid = i->gid;
	s->st_rdev = vfs_encode_dev(i->rdev_major, i->rdev_minor);
	s->st_size = (int64_t)i->size;
	s->st_blksize = 4096;
	s->st_blocks = (int64_t)blocks_of(i);
	s->st_atime = i->atime.sec;
	s->st_atime_nsec = i->atime.nsec;
	s->st_mtime = i->mtime.sec;
	s->st_mtime_nsec = i->mtime.nsec;
	s->st_ctime = i->ctime.sec;
	s->st_ctime_nsec = i->ctime.nsec;
}

/* Resolves (dirfd, path, flags) for the stat-like calls with the VFS lock
 * held by the caller. flags: AT_SYMLINK_NOFOLLOW, AT_EMPTY_PATH. */
static int at_lookup(int dirfd, const char *path, int flags, struct path *out)
{
	struct nameidata nd;
	unsigned lf = (flags & AT_SYMLINK_NOFOLLOW) ? 0 : LOOKUP_FOLLOW;
	if (flags & AT_EMPTY_PATH)
		lf |= LOOKUP_EMPTY;
	int r = namei_start(&nd, dirfd, path, lf, out);
	if (r < 0)
		return r;
	if (!*path)
		return 0;           /* AT_EMPTY_PATH: the fd itself */
	return namei_walk(&nd, out, path, lf);
}

/* Copies the path argument, takes the lock, resolves: the common prologue
 * of the calls below. Returns with the lock held on success only. */
static int at_begin(int dirfd, const char *upath, int flags, struct path *out, char **bufp)
{
	char *buf = path_buf();
	if (!buf)
		return -ENOMEM;
	long n = user_path(upath, buf);
	if (n < 0) {
		fs_free(buf);
		return (int)n;
	}
	vfs_lock();
	int r = at_lookup(dirfd, buf, flags, out);
	if (r < 0) {
		vfs_unlock();
		fs_free(buf);
		return r;
	}
	*bufp = buf;
	return 0;
}

static void at_end(char *buf)
{
	vfs_unlock();
	fs_free(buf);
}

static long stat_at(int dirfd, const char *upath, void *ust, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT))
		return -EINVAL;
	struct path p;
	char *buf;
	int r = at_begin(dirfd, upath, flags, &p, &buf);
	if (r < 0)
		return r;
	struct linux_stat st;
	fill_stat(p.inode, &st);
	at_end(buf);
	return copy_to_user(ust, &st, sizeof(st)) < 0 ? -EFAULT : 0;
}

static long sys_stat(const char *path, void *st)
{
	return stat_at(AT_FDCWD, path, st, 0);
}
SYSCALL(4, stat, sys_stat, "sp");

static long sys_lstat(const char *path, void *st)
{
	return stat_at(AT_FDCWD, path, st, AT_SYMLINK_NOFOLLOW);
}
SYSCALL(6, lstat, sys_lstat, "sp");

static long sys_newfstatat(int dirfd, const char *path, void *st, int flags)
{
	return stat_at(dirfd, path, st, flags);
}
SYSCALL(262, newfstatat, sys_newfstatat, "fspx");

static long sys_fstat(int fd, void *ust)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	struct linux_stat st;
	vfs_lock();
	fill_stat(f->path.inode, &st);
	vfs_unlock();
	file_put(f);
	return copy_to_user(ust, &st, sizeof(st)) < 0 ? -EFAULT : 0;
}
SYSCALL(5, fstat, sys_fstat, "fp");

#define STATX_BASIC_STATS 0x7ffu
#define STATX_BTIME       0x800u
#define STATX_MNT_ID      0x1000u
#define STATX__RESERVED   0x80000000u

static long sys_statx(int dirfd, const char *upath, int flags, unsigned mask, void *ustx)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH | AT_NO_AUTOMOUNT | AT_STATX_SYNC_TYPE))
		return -EINVAL;
	if ((flags & AT_STATX_SYNC_TYPE) == AT_STATX_SYNC_TYPE)
		return -EINVAL;
	if (mask & STATX__RESERVED)
		return -EINVAL;
	struct path p;
	char *buf;
	int r = at_begin(dirfd, upath, flags, &p, &buf);
	if (r < 0)
		return r;
	struct linux_stat st;
	fill_stat(p.inode, &st);
	struct linux_statx x;
	memset(&x, 0, sizeof(x));
	x.mask = STATX_BASIC_STATS | STATX_BTIME | STATX_MNT_ID;
	x.blksize = 4096;
	x.nlink = (uint32_t)st.st_nlink;
	x.uid = st.st_uid;
	x.gid = st.st_gid;
	x.mode = (uint16_t)st.st_mode;
	x.ino = st.st_ino;
	x.size = (uint64_t)st.st_size;
	x.blocks = (uint64_t)st.st_blocks;
	struct inode *i = p.inode;
	x.atime = (struct statx_ts){ i->atime.sec, (uint32_t)i->atime.nsec, 0 };
	x.btime = (struct statx_ts){ i->btime.sec, (uint32_t)i->btime.nsec, 0 };
	x.ctime = (struct statx_ts){ i->ctime.sec, (uint32_t)i->ctime.nsec, 0 };
	x.mtime = (struct statx_ts){ i->mtime.sec, (uint32_t)i->mtime.nsec, 0 };
	x.rdev_major = i->rdev_major;
	x.rdev_minor = i->rdev_minor;
	if (i->sb) {
		x.dev_major = i->sb->dev_major;
		x.dev_minor = i->sb->dev_minor;
	}
	x.mnt_id = p.mnt ? (uint64_t)p.mnt->id : 0;
	at_end(buf);
	return copy_to_user(ustx, &x, sizeof(x)) < 0 ? -EFAULT : 0;
}
SYSCALL(332, statx, sys_statx, "fsxxp");

/* --- statfs --------------------------------------------------------------------- */

struct linux_statfs {
	int64_t f_type, f_bsize;
	uint64_t f_blocks, f_bfree, f_bavail, f_files, f_ffree;
	int32_t f_fsid[2];
	int64_t f_namelen, f_frsize, f_flags;
	int64_t f_spare[4];
};
_Static_assert(sizeof(struct linux_statfs) == 120, "struct statfs is 120 bytes");

#define ST_RDONLY 1
#define ST_NOSUID 2
#define ST_NODEV  4
#define ST_NOEXEC 8

static void fill_statfs(const struct path *p, struct linux_statfs *s)
{
	memset(s, 0, sizeof(*s));
	struct super *sb = p->inode->sb;
	s->f_bsize = s->f_frsize = 4096;
	s->f_namelen = NAME_MAX;
	if (!sb)
		return;
	s->f_type = sb->magic;
	if (sb->statfs)
		sb->statfs(sb, &s->f_blocks, &s->f_bfree, &s->f_files, &s->f_ffree);
	s->f_bavail = s->f_bfree;
	s->f_fsid[0] = (int32_t)sb->dev_minor;
	s->f_fsid[1] = (int32_t)sb->dev_major;
	if (sb->read_only || (p->mnt && (p->mnt->flags & 1)))
		s->f_flags |= ST_RDONLY;
}

static long sys_statfs(const char *upath, void *ust)
{
	struct path p;
	char *buf;
	int r = at_begin(AT_FDCWD, upath, 0, &p, &buf);
	if (r < 0)
		return r;
	struct linux_statfs s;
	fill_statfs(&p, &s);
	at_end(buf);
	return copy_to_user(ust, &s, sizeof(s)) < 0 ? -EFAULT : 0;
}
SYSCALL(137, statfs, sys_statfs, "sp");

static long sys_fstatfs(int fd, void *ust)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	struct linux_statfs s;
	vfs_lock();
	fill_statfs(&f->path, &s);
	vfs_unlock();
	file_put(f);
	return copy_to_user(ust, &s, sizeof(s)) < 0 ? -EFAULT : 0;
}
SYSCALL(138, fstatfs, sys_fstatfs, "fp");

/* --- getdents64 ----------------------------------------------------------------- */

struct dents_ctx {
	uint8_t *buf;
	size_t len, used;
	int count;
};

static int dents_fill(void *ctx, const char *name, size_t len, uint64_t ino, unsigned dtype,
		      uint64_t next)
{
	struct dents_ctx *c = ctx;
	size_t reclen = ALIGN_UP(19 + len + 1, (size_t)8);
	if (c->used + reclen > c->len)
		return 1;
	uint8_t *p = c->buf + c->used;
	memset(p, 0, reclen);
	memcpy(p, &ino, 8);
	int64_t off = (int64_t)next;
	memcpy(p + 8, &off, 8);
	uint16_t rl = (uint16_t)reclen;
	memcpy(p + 16, &rl, 2);
	p[18] = (uint8_t)dtype;
	memcpy(p + 19, name, len);
	c->used += reclen;
	c->count++;
	return 0;
}

static long sys_getdents64(int fd, void *ubuf, unsigned count)
{
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	struct inode *i = f->path.inode;
	long r;
	if (!S_ISDIR(i->mode) || !i->ops->readdir) {
		r = -ENOTDIR;
		goto out;
	}
	size_t len = MIN((size_t)count, (size_t)65536);
	struct dents_ctx c = { fs_alloc(len ? len : 1), len, 0, 0 };
	if (!c.buf) {
		r = -ENOMEM;
		goto out;
	}
	vfs_lock();
	uint64_t cookie = f->pos;
	r = i->nlink ? i->ops->readdir(i, &cookie, dents_fill, &c) : 0;
	f->pos = cookie;
	if (!(f->flags & O_NOATIME))
		inode_touch(i, false, false, true);
	vfs_unlock();
	if (r == 0) {
		if (c.count == 0 && c.used == 0) {
			/* Nothing fitted: was there anything to read? */
			struct dents_ctx probe = { NULL, 0, 0, 0 };
			vfs_lock();
			uint64_t ck = f->pos;
			int more = 0;
			if (i->nlink) {
				uint8_t tmp[300];
				probe.buf = tmp;
				probe.len = sizeof(tmp);
				i->ops->readdir(i, &ck, dents_fill, &probe);
				more = probe.count;
			}
			vfs_unlock();
			r = more ? -EINVAL : 0;
		} else {
			r = copy_to_user(ubuf, c.buf, c.used) < 0 ? -EFAULT : (long)c.used;
		}
	}
	fs_free(c.buf);
out:
	file_put(f);
	return r;
}
SYSCALL(217, getdents64, sys_getdents64, "fpu");

/* --- creating and removing names ----------------------------------------------- */

/* Resolves all but the last component (nothing followed at the end).
 * Returns with the lock held on success. */
static int parent_begin(int dirfd, const char *upath, struct path *dir, struct namei_last *last,
			char **bufp)
{
	char *buf = path_buf();
	if (!buf)
		return -ENOMEM;
	long n = user_path(upath, buf);
	if (n < 0) {
		fs_free(buf);
		return (int)n;
	}
	vfs_lock();
	struct nameidata nd;
	int r = namei_start(&nd, dirfd, buf, 0, dir);
	if (r == 0)
		r = namei_parent(&nd, dir, buf, last);
	if (r < 0) {
		vfs_unlock();
		fs_free(buf);
		return r;
	}
	*bufp = buf;
	return 0;
}

static bool is_dot(const struct namei_last *l)
{
	return l->len == 1 && l->name[0] == '.';
}

static bool is_dotdot(const struct namei_last *l)
{
	return l->len == 2 && l->name[0] == '.' && l->name[1] == '.';
}

static bool read_only(const struct path *p)
{
	return (p->mnt && (p->mnt->flags & 1)) || (p->inode->sb && p->inode->sb->read_only);
}

static long make_node(int dirfd, const char *upath, uint32_t mode, uint32_t rmaj, uint32_t rmin)
{
	struct path dir;
	struct namei_last last;
	char *buf;
	int r = parent_begin(dirfd, upath, &dir, &last, &buf);
	if (r < 0)
		return r;
	if (last.len == 0 || is_dot(&last) || is_dotdot(&last))
		r = -EEXIST;
	else if (last.slash && !S_ISDIR(mode))
		r = dir.inode->ops->lookup(dir.inode, last.name, last.len, &(struct inode *){ 0 }) == 0
		    ? -EEXIST : -ENOENT;
	else if (!dir.inode->ops->create)
		r = -EPERM;
	else if (read_only(&dir))
		r = -EROFS;
	else {
		struct inode *i;
		r = dir.inode->ops->create(dir.inode, last.name, last.len, mode, rmaj, rmin, &i);
	}
	at_end(buf);
	return r;
}

static long sys_mkdirat(int dirfd, const char *path, uint32_t mode)
{
	return make_node(dirfd, path, S_IFDIR | (mode & 07777 & ~vfs_umask()), 0, 0);
}
SYSCALL(258, mkdirat, sys_mkdirat, "fso");

static long sys_mkdir(const char *path, uint32_t mode)
{
	return sys_mkdirat(AT_FDCWD, path, mode);
}
SYSCALL(83, mkdir, sys_mkdir, "so");

static long sys_mknodat(int dirfd, const char *path, uint32_t mode, uint64_t dev)
{
	uint32_t type = mode & S_IFMT;
	if (type == 0)
		type = S_IFREG;
	if (type == S_IFDIR)
		return -EPERM;
	if (type != S_IFREG && type != S_IFIFO && type != S_IFCHR && type != S_IFBLK && type != S_IFSOCK)
		return -EINVAL;
	uint32_t maj = (uint32_t)((dev >> 8) & 0xfff) | (uint32_t)((dev >> 32) & ~0xfffu);
	uint32_t min = (uint32_t)(dev & 0xff) | (uint32_t)((dev >> 12) & ~0xffu);
	return make_node(dirfd, path, type | (mode & 07777 & ~vfs_umask()), maj, min);
}
SYSCALL(259, mknodat, sys_mknodat, "fsox");

static long sys_mknod(const char *path, uint32_t mode, uint64_t dev)
{
	return sys_mknodat(AT_FDCWD, path, mode, dev);
}
SYSCALL(133, mknod, sys_mknod, "sox");

static long remove_name(int dirfd, const char *upath, bool rmdir)
{
	struct path dir;
	struct namei_last last;
	char *buf;
	int r = parent_begin(dirfd, upath, &dir, &last, &buf);
	if (r < 0)
		return r;
	if (last.len == 0)
		r = rmdir ? -EBUSY : -EISDIR;
	else if (is_dot(&last))
		r = rmdir ? -EINVAL : -EISDIR;
	else if (is_dotdot(&last))
		r = rmdir ? -ENOTEMPTY : -EISDIR;
	else if (!dir.inode->ops->unlink)
		r = -EPERM;
	else {
		struct inode *i;
		r = dir.inode->ops->lookup(dir.inode, last.name, last.len, &i);
		if (r == 0 && read_only(&dir))
			r = -EROFS;
		else if (r == 0 && !rmdir && last.slash && !S_ISDIR(i->mode))
			r = -ENOTDIR;
		else if (r == 0)
			r = dir.inode->ops->unlink(dir.inode, last.name, last.len, rmdir);
	}
	at_end(buf);
	return r;
}

static long sys_unlinkat(int dirfd, const char *path, int flags)
{
	if (flags & ~AT_REMOVEDIR)
		return -EINVAL;
	return remove_name(dirfd, path, flags & AT_REMOVEDIR);
}
SYSCALL(263, unlinkat, sys_unlinkat, "fsx");

static long sys_unlink(const char *path)
{
	return remove_name(AT_FDCWD, path, false);
}
SYSCALL(87, unlink, sys_unlink, "s");

static long sys_rmdir(const char *path)
{
	return remove_name(AT_FDCWD, path, true);
}
SYSCALL(84, rmdir, sys_rmdir, "s");

static long sys_symlinkat(const char *utarget, int dirfd, const char *upath)
{
	char *target = path_buf();
	if (!target)
		return -ENOMEM;
	long n = user_path(utarget, target);
	if (n < 0 || n == 0) {
		fs_free(target);
		return n < 0 ? n : -ENOENT;
	}
	struct path dir;
	struct namei_last last;
	char *buf;
	int r = parent_begin(dirfd, upath, &dir, &last, &buf);
	if (r < 0) {
		fs_free(target);
		return r;
	}
	if (last.len == 0 || is_dot(&last) || is_dotdot(&last))
		r = -EEXIST;
	else if (!dir.inode->ops->symlink)
		r = -EPERM;
	else if (read_only(&dir))
		r = -EROFS;
	else {
		struct inode *i;
		r = dir.inode->ops->symlink(dir.inode, last.name, last.len, target, (size_t)n, &i);
		if (r == 0 && last.slash)
			r = 0;
	}
	at_end(buf);
	fs_free(target);
	return r;
}
SYSCALL(266, symlinkat, sys_symlinkat, "sfs");

static long sys_symlink(const char *target, const char *path)
{
	return sys_symlinkat(target, AT_FDCWD, path);
}
SYSCALL(88, symlink, sys_symlink, "ss");

static long sys_readlinkat(int dirfd, const char *upath, char *ubuf, int size)
{
	if (size <= 0)
		return -EINVAL;
	struct path p;
	char *buf;
	int r = at_begin(dirfd, upath, AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH, &p, &buf);
	if (r < 0)
		return r;
	struct inode *i = p.inode;
	long n;
	if (!S_ISLNK(i->mode) || !i->ops->get_link) {
		n = -EINVAL;
		at_end(buf);
		return n;
	}
	const char *t = i->ops->get_link(i);
	n = (long)strlen(t);
	if (n > size)
		n = size;
	char *copy = fs_alloc((size_t)n + 1);
	if (copy)
		memcpy(copy, t, (size_t)n);
	at_end(buf);
	if (!copy)
		return -ENOMEM;
	if (copy_to_user(ubuf, copy, (size_t)n) < 0)
		n = -EFAULT;
	fs_free(copy);
	return n;
}
SYSCALL(267, readlinkat, sys_readlinkat, "fsbd");

static long sys_readlink(const char *path, char *buf, int size)
{
	return sys_readlinkat(AT_FDCWD, path, buf, size);
}
SYSCALL(89, readlink, sys_readlink, "sbd");

static long sys_linkat(int olddirfd, const char *uold, int newdirfd, const char *unew, int flags)
{
	if (flags & ~(AT_SYMLINK_FOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct path src;
	char *obuf;
	int r = at_begin(olddirfd, uold, (flags & AT_SYMLINK_FOLLOW ? 0 : AT_SYMLINK_NOFOLLOW) |
			 (flags & AT_EMPTY_PATH), &src, &obuf);
	if (r < 0)
		return r;
	vfs_iget(src.inode);
	at_end(obuf);
	struct path dir;
	struct namei_last last;
	char *buf;
	r = parent_begin(newdirfd, unew, &dir, &last, &buf);
	if (r < 0) {
		vfs_iput(src.inode);
		return r;
	}
	struct inode *i = src.inode;
	if (last.len == 0 || is_dot(&last) || is_dotdot(&last))
		r = -EEXIST;
	else if (S_ISDIR(i->mode))
		r = -EPERM;
	else if (dir.mnt != src.mnt)
		r = -EXDEV;
	else if (!dir.inode->ops->link)
		r = -EPERM;
	else if (read_only(&dir))
		r = -EROFS;
	else if (i->nlink == 0 && !(i->flags & INODE_LINKABLE))
		r = -ENOENT;
	else if (last.slash)
		r = -ENOENT;
	else {
		r = dir.inode->ops->link(dir.inode, last.name, last.len, i);
		if (r == 0)
			i->flags &= ~(uint32_t)INODE_LINKABLE;
	}
	at_end(buf);
	vfs_iput(i);
	return r;
}
SYSCALL(265, linkat, sys_linkat, "fsfsx");

static long sys_link(const char *old, const char *new)
{
	return sys_linkat(AT_FDCWD, old, AT_FDCWD, new, 0);
}
SYSCALL(86, link, sys_link, "ss");

static long sys_renameat2(int olddirfd, const char *uold, int newdirfd, const char *unew,
			  unsigned flags)
{
	if (flags & ~(unsigned)(RENAME_NOREPLACE | RENAME_EXCHANGE | RENAME_WHITEOUT))
		return -EINVAL;
	if ((flags & RENAME_EXCHANGE) && (flags & (RENAME_NOREPLACE | RENAME_WHITEOUT)))
		return -EINVAL;
	if (flags & RENAME_WHITEOUT)
		return -EINVAL;
	char *obuf = path_buf(), *nbuf = path_buf();
	long r = -ENOMEM;
	if (!obuf || !nbuf)
		goto free;
	if ((r = user_path(uold, obuf)) < 0 || (r = user_path(unew, nbuf)) < 0)
		goto free;
	vfs_lock();
	struct nameidata nd;
	struct path od, ndir;
	struct namei_last ol, nl;
	r = namei_start(&nd, olddirfd, obuf, 0, &od);
	if (r == 0)
		r = namei_parent(&nd, &od, obuf, &ol);
	if (r == 0)
		r = namei_start(&nd, newdirfd, nbuf, 0, &ndir);
	if (r == 0)
		r = namei_parent(&nd, &ndir, nbuf, &nl);
	if (r < 0)
		goto unlock;
	if (ol.len == 0 || is_dot(&ol) || is_dotdot(&ol) || nl.len == 0 || is_dot(&nl) ||
	    is_dotdot(&nl)) {
		r = -EBUSY;
		goto unlock;
	}
	struct inode *src, *dst = NULL;
	r = od.inode->ops->lookup(od.inode, ol.name, ol.len, &src);
	if (r < 0)
		goto unlock;
	if (ndir.inode->ops->lookup(ndir.inode, nl.name, nl.len, &dst) < 0)
		dst = NULL;
	if ((ol.slash || nl.slash) && !S_ISDIR(src->mode)) {
		r = -ENOTDIR;
		goto unlock;
	}
	if (od.mnt != ndir.mnt) {
		r = -EXDEV;
		goto unlock;
	}
	if (read_only(&od)) {
		r = -EROFS;
		goto unlock;
	}
	if (!od.inode->ops->rename) {
		r = -EPERM;
		goto unlock;
	}
	r = od.inode->ops->rename(od.inode, ol.name, ol.len, ndir.inode, nl.name, nl.len, flags);
unlock:
	vfs_unlock();
free:
	fs_free(obuf);
	fs_free(nbuf);
	return r;
}
SYSCALL(316, renameat2, sys_renameat2, "fsfsx");

static long sys_renameat(int olddirfd, const char *old, int newdirfd, const char *new)
{
	return sys_renameat2(olddirfd, old, newdirfd, new, 0);
}
SYSCALL(264, renameat, sys_renameat, "fsfs");

static long sys_rename(const char *old, const char *new)
{
	return sys_renameat2(AT_FDCWD, old, AT_FDCWD, new, 0);
}
SYSCALL(82, rename, sys_rename, "ss");

/* --- attributes --------------------------------------------------------------- */

static long chmod_inode(const struct path *p, uint32_t mode)
{
	if (read_only(p))
		return -EROFS;
	struct inode *i = p->inode;
	i->mode = (i->mode & S_IFMT) | (mode & 07777);
	inode_touch(i, false, true, false);
	return 0;
}

static long sys_fchmodat2(int dirfd, const char *upath, uint32_t mode, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct path p;
	char *buf;
	int r = at_begin(dirfd, upath, flags, &p, &buf);
	if (r < 0)
		return r;
	if (S_ISLNK(p.inode->mode))
		r = -EOPNOTSUPP;
	else
		r = (int)chmod_inode(&p, mode);
	at_end(buf);
	return r;
}
SYSCALL(452, fchmodat2, sys_fchmodat2, "fsox");

static long sys_fchmodat(int dirfd, const char *path, uint32_t mode)
{
	return sys_fchmodat2(dirfd, path, mode, 0);
}
SYSCALL(268, fchmodat, sys_fchmodat, "fso");

static long sys_chmod(const char *path, uint32_t mode)
{
	return sys_fchmodat2(AT_FDCWD, path, mode, 0);
}
SYSCALL(90, chmod, sys_chmod, "so");

static long sys_fchmod(int fd, uint32_t mode)
{
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	vfs_lock();
	long r = chmod_inode(&f->path, mode);
	vfs_unlock();
	file_put(f);
	return r;
}
SYSCALL(91, fchmod, sys_fchmod, "fo");

static long chown_inode(const struct path *p, uint32_t uid, uint32_t gid)
{
	if (read_only(p))
		return -EROFS;
	struct inode *i = p->inode;
	if (uid != (uint32_t)-1)
		i->uid = uid;
	if (gid != (uint32_t)-1)
		i->gid = gid;
	if ((uid != (uint32_t)-1 || gid != (uint32_t)-1) && !S_ISDIR(i->mode)) {
		/* Changing owners drops set-user-ID, and set-group-ID when
		 * group-executable, as Linux. */
		i->mode &= ~(uint32_t)S_ISUID;
		if (i->mode & 010)
			i->mode &= ~(uint32_t)S_ISGID;
	}
	inode_touch(i, false, true, false);
	return 0;
}

static long sys_fchownat(int dirfd, const char *upath, uint32_t uid, uint32_t gid, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct path p;
	char *buf;
	int r = at_begin(dirfd, upath, flags, &p, &buf);
	if (r < 0)
		return r;
	r = (int)chown_inode(&p, uid, gid);
	at_end(buf);
	return r;
}
SYSCALL(260, fchownat, sys_fchownat, "fsddx");

static long sys_chown(const char *path, uint32_t uid, uint32_t gid)
{
	return sys_fchownat(AT_FDCWD, path, uid, gid, 0);
}
SYSCALL(92, chown, sys_chown, "sdd");

static long sys_lchown(const char *path, uint32_t uid, uint32_t gid)
{
	return sys_fchownat(AT_FDCWD, path, uid, gid, AT_SYMLINK_NOFOLLOW);
}
SYSCALL(94, lchown, sys_lchown, "sdd");

static long sys_fchown(int fd, uint32_t uid, uint32_t gid)
{
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	vfs_lock();
	long r = chown_inode(&f->path, uid, gid);
	vfs_unlock();
	file_put(f);
	return r;
}
SYSCALL(93, fchown, sys_fchown, "fdd");

/* --- times ---------------------------------------------------------------------- */

#define UTIME_NOW  ((1l << 30) - 1)
#define UTIME_OMIT ((1l << 30) - 2)

struct ts_k {
	int64_t sec, nsec;
};

/* times NULL: both now. */
static long set_times(const struct path *p, const struct ts_k *t)
{
	struct fs_time now;
	fs_now(&now);
	struct inode *i = p->inode;
	bool changed = false;
	for (int k = 0; k < 2; k++) {
		struct fs_time *dst = k == 0 ? &i->atime : &i->mtime;
		if (!t || t[k].nsec == UTIME_NOW)
			*dst = now;
		else if (t[k].nsec == UTIME_OMIT)
			continue;
		else
			*dst = (struct fs_time){ t[k].sec, t[k].nsec };
		changed = true;
	}
	if (changed) {
		if (read_only(p))
			return -EROFS;
		i->ctime = now;
	}
	return 0;
}

static long sys_utimensat(int dirfd, const char *upath, const struct ts_k *utimes, int flags)
{
	if (flags & ~(AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct ts_k t[2];
	if (utimes) {
		if (copy_from_user(t, utimes, sizeof(t)) < 0)
			return -EFAULT;
		for (int k = 0; k < 2; k++)
			if (t[k].nsec != UTIME_NOW && t[k].nsec != UTIME_OMIT &&
			    (t[k].nsec < 0 || t[k].nsec >= 1000000000))
				return -EINVAL;
	}
	if (!upath) {
		/* futimens: the file of dirfd itself. */
		if (flags & AT_SYMLINK_NOFOLLOW)
			return -EINVAL;
		struct file *f = fd_get(dirfd);
		if (!f)
			return -EBADF;
		vfs_lock();
		long r = set_times(&f->path, utimes ? t : NULL);
		vfs_unlock();
		file_put(f);
		return r;
	}
	struct path p;
	char *buf;
	int r = at_begin(dirfd, upath, flags, &p, &buf);
	if (r < 0)
		return r;
	r = (int)set_times(&p, utimes ? t : NULL);
	at_end(buf);
	return r;
}
SYSCALL(280, utimensat, sys_utimensat, "fspx");

struct tv_k {
	int64_t sec, usec;
};

static long sys_futimesat(int dirfd, const char *path, const struct tv_k *utv)
{
	if (!utv)
		return sys_utimensat(dirfd, path, NULL, 0);
	struct tv_k tv[2];
	if (copy_from_user(tv, utv, sizeof(tv)) < 0)
		return -EFAULT;
	struct path p;
	char *buf;
	for (int k = 0; k < 2; k++)
		if (tv[k].usec < 0 || tv[k].usec >= 1000000)
			return -EINVAL;
	int r = at_begin(dirfd, path, 0, &p, &buf);
	if (r < 0)
		return r;
	struct ts_k t[2] = { { tv[0].sec, tv[0].usec * 1000 }, { tv[1].sec, tv[1].usec * 1000 } };
	r = (int)set_times(&p, t);
	at_end(buf);
	return r;
}
SYSCALL(261, futimesat, sys_futimesat, "fsp");

static long sys_utimes(const char *path, const struct tv_k *tv)
{
	return sys_futimesat(AT_FDCWD, path, tv);
}
SYSCALL(235, utimes, sys_utimes, "sp");

static long sys_utime(const char *path, const int64_t *ubuf)
{
	if (!ubuf)
		return sys_utimensat(AT_FDCWD, path, NULL, 0);
	int64_t b[2];
	if (copy_from_user(b, ubuf, sizeof(b)) < 0)
		return -EFAULT;
	struct path p;
	char *buf;
	int r = at_begin(AT_FDCWD, path, 0, &p, &buf);
	if (r < 0)
		return r;
	struct ts_k t[2] = { { b[0], 0 }, { b[1], 0 } };
	r = (int)set_times(&p, t);
	at_end(buf);
	return r;
}
SYSCALL(132, utime, sys_utime, "sp");

/* --- access ------------------------------------------------------------------------ */

#define R_OK 4
#define W_OK 2
#define X_OK 1

static long sys_faccessat2(int dirfd, const char *upath, int mode, int flags)
{
	if (mode & ~7)
		return -EINVAL;
	if (flags & ~(AT_EACCESS | AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH))
		return -EINVAL;
	struct path p;
	char *buf;
	int r = at_begin(dirfd, upath, flags & (AT_SYMLINK_NOFOLLOW | AT_EMPTY_PATH), &p, &buf);
	if (r < 0)
		return r;
	struct inode *i = p.inode;
	/* The program is root: only a read-only file system and execute
	 * permission (some x bit, or a directory) can say no. */
	if ((mode & W_OK) && read_only(&p) && !S_ISCHR(i->mode) && !S_ISFIFO(i->mode) &&
	    !S_ISSOCK(i->mode))
		r = -EROFS;
	else if ((mode & X_OK) && !S_ISDIR(i->mode) && !(i->mode & 0111))
		r = -EACCES;
	at_end(buf);
	return r;
}
SYSCALL(439, faccessat2, sys_faccessat2, "fsox");

static long sys_faccessat(int dirfd, const char *path, int mode)
{
	return sys_faccessat2(dirfd, path, mode, 0);
}
SYSCALL(269, faccessat, sys_faccessat, "fso");

static long sys_access(const char *path, int mode)
{
	return sys_faccessat2(AT_FDCWD, path, mode, 0);
}
SYSCALL(21, access, sys_access, "so");

/* --- sizes ---------------------------------------------------------------------- */

static long truncate_inode(const struct path *p, int64_t len)
{
	struct inode *i = p->inode;
	if (len < 0)
		return -EINVAL;
	if (S_ISDIR(i->mode))
		return -EISDIR;
	if (!S_ISREG(i->mode))
		return -EINVAL;
	if (read_only(p))
		return -EROFS;
	if (!i->ops->truncate)
		return -EPERM;
	return i->ops->truncate(i, (uint64_t)len);
}

static long sys_truncate(const char *upath, int64_t len)
{
	struct path p;
	char *buf;
	int r = at_begin(AT_FDCWD, upath, 0, &p, &buf);
	if (r < 0)
		return r;
	r = (int)truncate_inode(&p, len);
	at_end(buf);
	return r;
}
SYSCALL(76, truncate, sys_truncate, "sd");

static long sys_ftruncate(int fd, int64_t len)
{
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	long r;
	if (len < 0)
		r = -EINVAL;
	else if (!(f->mode & FMODE_WRITE))
		r = -EINVAL;
	else if (S_ISDIR(f->path.inode->mode))
		r = -EINVAL;
	else {
		vfs_lock();
		r = truncate_inode(&f->path, len);
		vfs_unlock();
	}
	file_put(f);
	return r;
}
SYSCALL(77, ftruncate, sys_ftruncate, "fd");

#define FALLOC_FL_KEEP_SIZE      0x01
#define FALLOC_FL_PUNCH_HOLE     0x02
#define FALLOC_FL_COLLAPSE_RANGE 0x08
#define FALLOC_FL_ZERO_RANGE     0x10
#define FALLOC_FL_INSERT_RANGE   0x20

static long sys_fallocate(int fd, int mode, int64_t off, int64_t len)
{
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	struct inode *i = f->path.inode;
	long r = 0;
	if (off < 0 || len <= 0)
		r = -EINVAL;
	else if (mode & ~(FALLOC_FL_KEEP_SIZE | FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE |
			  FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE))
		r = -EOPNOTSUPP;
	else if ((mode & FALLOC_FL_PUNCH_HOLE) && !(mode & FALLOC_FL_KEEP_SIZE))
		r = -EINVAL;
	else if (!(f->mode & FMODE_WRITE))
		r = -EBADF;
	else if (S_ISFIFO(i->mode) || (f->mode & FMODE_STREAM))
		r = -ESPIPE;
	else if (S_ISDIR(i->mode))
		r = -EISDIR;
	else if (!S_ISREG(i->mode))
		r = -ENODEV;
	else if (mode & (FALLOC_FL_COLLAPSE_RANGE | FALLOC_FL_INSERT_RANGE))
		r = -EOPNOTSUPP;
	else if ((uint64_t)off + (uint64_t)len > RAMFS_MAX_FILE)
		r = -EFBIG;
	if (r == 0) {
		vfs_lock();
		uint64_t end = (uint64_t)off + (uint64_t)len;
		if (!tmpfs_is(i))
			r = -EOPNOTSUPP;
		else if (mode & (FALLOC_FL_PUNCH_HOLE | FALLOC_FL_ZERO_RANGE))
			r = tmpfs_punch_hole(i, (uint64_t)off, (uint64_t)len);
		if (r == 0 && !(mode & FALLOC_FL_KEEP_SIZE) && end > i->size)
			r = i->ops->truncate(i, end);
		vfs_unlock();
	}
	file_put(f);
	return r;
}
SYSCALL(285, fallocate, sys_fallocate, "fddd");

/* --- sync: everything is in memory ------------------------------------------------ */

static long sys_fsync(int fd)
{
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	long r = f->ops && f->ops->fsync ? f->ops->fsync(f) : -EINVAL;
	file_put(f);
	return r;
}
SYSCALL(74, fsync, sys_fsync, "f");

static long sys_fdatasync(int fd)
{
	return sys_fsync(fd);
}
SYSCALL(75, fdatasync, sys_fdatasync, "f");

static long sys_sync(void)
{
	fs_sync_all();          /* disk file systems (fs/shutdown.h) */
	return 0;
}
SYSCALL(162, sync, sys_sync, "");

static long sys_syncfs(int fd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	file_put(f);
	return fs_sync_all();   /* disk file systems (fs/shutdown.h) */
}
SYSCALL(306, syncfs, sys_syncfs, "f");

static long sys_sync_file_range(int fd, int64_t off, int64_t len, unsigned flags)
{
	if (flags & ~7u || off < 0 || len < 0)
		return -EINVAL;
	struct file *f = fd_get_io(fd);
	if (!f)
		return -EBADF;
	long r = S_ISREG(f->path.inode->mode) || S_ISDIR(f->path.inode->mode) ? 0 : -ESPIPE;
	file_put(f);
	return r;
}
SYSCALL(277, sync_file_range, sys_sync_file_range, "fddx");

/* --- the working directory --------------------------------------------------------- */

static long sys_getcwd(char *ubuf, size_t size)
{
	char *buf = path_buf();
	if (!buf)
		return -ENOMEM;
	struct path cwd;
	vfs_cwd(&cwd);
	vfs_lock();
	int n = vfs_path_name(&cwd, buf, PATH_MAX);
	vfs_unlock();
	path_put(&cwd);
	long r;
	if (n < 0)
		r = n;
	else if ((size_t)n + 1 > size)
		r = -ERANGE;
	else
		r = copy_to_user(ubuf, buf, (size_t)n + 1) < 0 ? -EFAULT : n + 1;
	fs_free(buf);
	return r;
}
SYSCALL(79, getcwd, sys_getcwd, "pu");

static long sys_chdir(const char *upath)
{
	struct path p;
	char *buf;
	int r = at_begin(AT_FDCWD, upath, 0, &p, &buf);
	if (r < 0)
		return r;
	if (!S_ISDIR(p.inode->mode))
		r = -ENOTDIR;
	else
		path_get(&p);
	at_end(buf);
	if (r == 0)
		vfs_set_cwd(&p);
	return r;
}
SYSCALL(80, chdir, sys_chdir, "s");

static long sys_fchdir(int fd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return -EBADF;
	long r = 0;
	if (!S_ISDIR(f->path.inode->mode))
		r = -ENOTDIR;
	else {
		struct path p = f->path;
		path_get(&p);
		vfs_set_cwd(&p);
	}
	file_put(f);
	return r;
}
SYSCALL(81, fchdir, sys_fchdir, "f");

static long sys_chroot(const char *path)
{
	(void)path;
	return -EPERM;
}
SYSCALL(161, chroot, sys_chroot, "s");

static long sys_umask(uint32_t mask)
{
	return vfs_set_umask(mask);
}
SYSCALL(95, umask, sys_umask, "o");
