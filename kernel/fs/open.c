/*
 * Opening files, and reading, writing and seeking through struct file.
 */
#include "fs/vfs.h"
#include "fs/namei.h"
#include "fs/pipe.h"
#include "fs/ramfs.h"
#include "lib/string.h"
#include "lib/printf.h"
#include "errno.h"

/* --- directories as open files ---------------------------------------------------- */

static ssize_t dir_read(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)f;
	(void)u;
	(void)pos;
	return -EISDIR;
}

static ssize_t dir_write(struct file *f, struct uio *u, uint64_t *pos)
{
	(void)f;
	(void)u;
	(void)pos;
	return -EISDIR;
}

static int64_t dir_llseek(struct file *f, int64_t off, int whence)
{
	/* The offset is a readdir cookie: only SEEK_SET to one handed out
	 * (d_off) or 0, and SEEK_CUR by 0 (telldir) mean anything. */
	if (whence == SEEK_SET && off >= 0)
		f->pos = (uint64_t)off;
	else if (whence == SEEK_CUR && off == 0)
		;
	else if (whence == SEEK_END || whence == SEEK_DATA || whence == SEEK_HOLE)
		return -EINVAL;
	else
		return -EINVAL;
	return (int64_t)f->pos;
}

static int dir_fsync(struct file *f)
{
	(void)f;
	return 0;
}

const struct file_ops dir_file_ops = {
	.read = dir_read,
	.write = dir_write,
	.llseek = dir_llseek,
	.fsync = dir_fsync,
};

/* --- names -------------------------------------------------------------------- */

/* The name an open file reports (/proc/self/fd): the parent's path and the
 * last component; the inode's own path for directories. Lock held. */
static char *file_name(const struct path *parent, const char *last, size_t len,
		       const struct path *target)
{
	char *buf = fs_alloc(PATH_MAX);
	if (!buf)
		return NULL;
	int r;
	if (S_ISDIR(target->inode->mode) || !parent)
		r = vfs_path_name(target, buf, PATH_MAX);
	else {
		r = vfs_path_name(parent, buf, PATH_MAX);
		if (r >= 0 && (size_t)r + len + 2 < PATH_MAX) {
			if (r > 1)
				buf[r++] = '/';
			memcpy(buf + r, last, len);
			buf[r + len] = 0;
			r += (int)len;
		}
	}
	if (r < 0)
		strlcpy(buf, "?", PATH_MAX);
	char *s = fs_strdup(buf);
	fs_free(buf);
	return s;
}

/* --- open ------------------------------------------------------------------------ */

static unsigned resolve_to_lookup(uint64_t resolve)
{
	unsigned f = 0;
	if (resolve & 0x01) f |= LOOKUP_NO_XDEV;
	if (resolve & 0x02) f |= LOOKUP_NO_MAGICLINKS;
	if (resolve & 0x04) f |= LOOKUP_NO_SYMLINKS | LOOKUP_NO_MAGICLINKS;
	if (resolve & 0x08) f |= LOOKUP_BENEATH;
	if (resolve & 0x10) f |= LOOKUP_IN_ROOT;
	return f;
}

/* Makes the struct file for an inode found (lock held, the inode
 * referenced by the caller). Devices and FIFOs are opened by the caller
 * after unlocking (their open may block). */
static int make_file(const struct path *p, uint32_t flags, struct file **out)
{
	struct inode *i = p->inode;
	uint32_t acc = flags & O_ACCMODE;
	bool write = acc == O_WRONLY || acc == O_RDWR;
	if (flags & O_PATH) {
		struct file *f = file_alloc(p, flags & (O_PATH | O_DIRECTORY | O_NOFOLLOW), NULL);
		if (!f)
			return -ENOMEM;
		*out = f;
		return 0;
	}
	if (acc == 3)
		return -EINVAL;
	if (S_ISDIR(i->mode) && (write || (flags & O_TRUNC)))
		return -EISDIR;
	if (S_ISLNK(i->mode))
		return -ELOOP;
	if (write && (i->sb && i->sb->read_only))
		return -EROFS;
	if (write && p->mnt && (p->mnt->flags & 1))      /* MS_RDONLY */
		return -EROFS;
	struct file *f = file_alloc(p, flags & ~(uint32_t)(O_CREAT | O_EXCL | O_NOCTTY | O_TRUNC | O_CLOEXEC),
				    NULL);
	if (!f)
		return -ENOMEM;
	int r = 0;
	if (i->ops && i->ops->open && !S_ISCHR(i->mode) && !S_ISFIFO(i->mode))
		r = i->ops->open(i, f);
	else if (S_ISDIR(i->mode))
		f->ops = &dir_file_ops;
	else if (S_ISSOCK(i->mode) || S_ISBLK(i->mode))
		r = -ENXIO;
	if (r == 0 && S_ISREG(i->mode) && (flags & O_TRUNC) && i->size) {
		if (!i->ops->truncate)
			r = -EINVAL;
		else
			r = i->ops->truncate(i, 0);
	}
	if (r < 0) {
		f->path.inode = NULL;      /* the caller keeps its reference */
		file_put(f);
		return r;
	}
	*out = f;
	return 0;
}

/* The part of opening done without the VFS lock: devices and FIFOs. */
static int finish_open(struct file *f, uint32_t flags)
{
	struct inode *i = f->path.inode;
	if (flags & O_PATH)
		return 0;
	if (S_ISCHR(i->mode))
		return devfs_open(i, f);
	if (S_ISFIFO(i->mode))
		return fifo_open(i, f);
	return 0;
}

int vfs_open(int dirfd, const char *path, uint32_t flags, uint32_t mode, uint64_t resolve,
	     struct file **out)
{
	unsigned lf = resolve_to_lookup(resolve);
	if ((flags & O_TMPFILE) == O_TMPFILE) {
		uint32_t acc = flags & O_ACCMODE;
		if ((acc != O_WRONLY && acc != O_RDWR) || (flags & O_CREAT))
			return -EINVAL;
	} else if ((flags & O_CREAT) && (flags & O_DIRECTORY)) {
		return -EINVAL;
	}
	if (flags & O_PATH)
		flags &= O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;
	struct nameidata nd;
	struct path cur, target, parent;
	struct namei_last last = { 0 };
	bool have_parent = false;
	char *name = NULL;
	vfs_lock();
	int r = namei_start(&nd, dirfd, path, lf, &cur);
	if (r < 0)
		goto out;

	if ((flags & O_TMPFILE) == O_TMPFILE) {
		r = namei_walk(&nd, &cur, path, LOOKUP_FOLLOW | LOOKUP_DIRECTORY);
		if (r < 0)
			goto out;
		if (!cur.inode->ops->create || !cur.inode->ops->unlink) {
			r = -EOPNOTSUPP;
			goto out;
		}
		/* An unnamed file: created under a private name, which goes at
		 * once (linkat(AT_EMPTY_PATH) can give it a name again). */
		static uint64_t tmpfile_seq;
		char tmpname[48];
		int n = snprintf(tmpname, sizeof(tmpname), ".wisp-tmpfile-%lu", ++tmpfile_seq);
		struct inode *i;
		r = cur.inode->ops->create(cur.inode, tmpname, n,
					   S_IFREG | (mode & 07777 & ~vfs_umask()), 0, 0, &i);
		if (r < 0)
			goto out;
		vfs_iget(i);
		cur.inode->ops->unlink(cur.inode, tmpname, n, false);
		if (!(flags & O_EXCL))
			i->flags |= INODE_LINKABLE;
		target = (struct path){ cur.mnt, i };
		struct file *f;
		r = make_file(&target, flags & ~(uint32_t)O_DIRECTORY, &f);
		if (r < 0) {
			vfs_iput(i);
			goto out;
		}
		f->name = file_name(&cur, "", 0, &cur);
		if (f->name) {
			char *s = fs_alloc(strlen(f->name) + 32);
			if (s) {
				snprintf(s, strlen(f->name) + 32, "%s/#%lu (deleted)",
					 strcmp(f->name, "/") ? f->name : "", i->ino);
				fs_free(f->name);
				f->name = s;
			}
		}
		vfs_unlock();
		*out = f;
		return 0;
	}

	for (;;) {
		r = namei_parent(&nd, &cur, path, &last);
		if (r < 0)
			goto out;
		parent = cur;
		have_parent = true;
		bool dots = last.len == 0 || (last.len == 1 && last.name[0] == '.') ||
			    (last.len == 2 && last.name[0] == '.' && last.name[1] == '.');
		if (last.len == 0)
			target = cur;
		else
			r = namei_step(&nd, &cur, last.name, last.len, &target);
		if (dots) {
			have_parent = false;
			if (r < 0)
				goto out;
			if (flags & O_CREAT) {
				r = -EISDIR;
				goto out;
			}
			break;
		}
		if (r == -ENOENT && (flags & O_CREAT)) {
			if (last.slash) {
				r = -EISDIR;
				goto out;
			}
			if (!cur.inode->ops->create) {
				r = -EACCES;
				goto out;
			}
			if ((cur.mnt->flags & 1) || (cur.inode->sb && cur.inode->sb->read_only)) {
				r = -EROFS;
				goto out;
			}
			struct inode *i;
			r = cur.inode->ops->create(cur.inode, last.name, last.len,
						   S_IFREG | (mode & 07777 & ~vfs_umask()), 0, 0, &i);
			if (r < 0)
				goto out;
			target = (struct path){ cur.mnt, i };
			flags &= ~(uint32_t)O_TRUNC;
			break;
		}
		if (r < 0)
			goto out;
		if ((flags & (O_CREAT | O_EXCL)) == (O_CREAT | O_EXCL)) {
			r = -EEXIST;
			goto out;
		}
		if (S_ISLNK(target.inode->mode)) {
			if ((flags & O_NOFOLLOW) && !last.slash) {
				if (flags & O_PATH)
					break;          /* a handle on the link itself */
				r = -ELOOP;
				goto out;
			}
			if ((nd.flags & LOOKUP_NO_SYMLINKS) ||
			    (target.inode->ops->follow && (nd.flags & LOOKUP_NO_MAGICLINKS)) ||
			    ++nd.links > SYMLOOP_MAX) {
				r = -ELOOP;
				goto out;
			}
			if (target.inode->ops->follow) {
				struct inode *i;
				struct mount *m;
				/* The link's text is the name of what it stands for. */
				if (target.inode->ops->get_link && !name)
					name = fs_strdup(target.inode->ops->get_link(target.inode));
				r = target.inode->ops->follow(target.inode, &i, &m);
				if (r < 0)
					goto out;
				target = (struct path){ m, i };
				have_parent = false;
				break;
			}
			/* Resolve the target from the link's directory; with O_CREAT
			 * a dangling link creates its target, as Linux. */
			path = target.inode->ops->get_link(target.inode);
			continue;
		}
		break;
	}
	if (((flags & O_DIRECTORY) || last.slash) && !S_ISDIR(target.inode->mode)) {
		r = -ENOTDIR;
		goto out;
	}
	if ((flags & O_CREAT) && S_ISDIR(target.inode->mode)) {
		r = -EISDIR;
		goto out;
	}
	path_get(&target);
	struct file *f;
	r = make_file(&target, flags, &f);
	if (r < 0) {
		path_put(&target);
		goto out;
	}
	f->name = name ? name : file_name(have_parent ? &parent : NULL, last.name, last.len, &target);
	name = NULL;
	vfs_unlock();
	r = finish_open(f, flags);
	if (r < 0) {
		file_put(f);
		return r;
	}
	*out = f;
	return 0;
out:
	vfs_unlock();
	fs_free(name);
	return r;
}

int vfs_open_path(const struct path *p, uint32_t flags, struct file **out)
{
	vfs_lock();
	path_get(p);
	struct file *f;
	int r = make_file(p, flags, &f);
	if (r < 0) {
		struct path q = *p;
		path_put(&q);
		vfs_unlock();
		return r;
	}
	f->name = file_name(NULL, NULL, 0, p);
	vfs_unlock();
	r = finish_open(f, flags);
	if (r < 0) {
		file_put(f);
		return r;
	}
	*out = f;
	return 0;
}

/* --- I/O ------------------------------------------------------------------------ */

ssize_t vfs_readv(struct file *f, struct uio *u, uint64_t *pos)
{
	if (!(f->mode & FMODE_READ))
		return -EBADF;
	if (!f->ops || !f->ops->read)
		return -EINVAL;
	if (u->resid == 0 && !S_ISDIR(f->path.inode->mode))
		return 0;
	uint64_t p = pos ? *pos : f->pos;
	ssize_t r = f->ops->read(f, u, &p);
	if (pos)
		*pos = p;
	else if (!(f->mode & FMODE_STREAM))
		f->pos = p;
	return r;
}

ssize_t vfs_writev(struct file *f, struct uio *u, uint64_t *pos)
{
	if (!(f->mode & FMODE_WRITE))
		return -EBADF;
	if (!f->ops || !f->ops->write)
		return -EINVAL;
	if (u->resid == 0 && S_ISREG(f->path.inode->mode))
		return 0;
	uint64_t p = pos ? *pos : f->pos;
	ssize_t r = f->ops->write(f, u, &p);
	if (pos)
		*pos = p;
	else if (!(f->mode & FMODE_STREAM))
		f->pos = p;
	return r;
}

ssize_t vfs_read(struct file *f, void *buf, size_t len, uint64_t *pos)
{
	struct iovec v;
	struct uio u;
	uio_init1(&u, &v, buf, len, false);
	return vfs_readv(f, &u, pos);
}

ssize_t vfs_write(struct file *f, const void *buf, size_t len, uint64_t *pos)
{
	struct iovec v;
	struct uio u;
	uio_init1(&u, &v, (void *)buf, len, false);
	return vfs_writev(f, &u, pos);
}

int64_t vfs_lseek(struct file *f, int64_t off, int whence)
{
	if (f->mode & FMODE_PATH)
		return -EBADF;
	if (!(f->mode & FMODE_LSEEK))
		return -ESPIPE;
	if (whence < SEEK_SET || whence > SEEK_HOLE)
		return -EINVAL;
	if (f->ops && f->ops->llseek) {
		int64_t r = f->ops->llseek(f, off, whence);
		if (r != -ENOSYS)
			return r;
	}
	int64_t size = (int64_t)f->path.inode->size, n;
	switch (whence) {
	case SEEK_SET: n = off; break;
	case SEEK_CUR: n = (int64_t)f->pos + off; break;
	case SEEK_END: n = size + off; break;
	case SEEK_DATA:
		if (off < 0 || off >= size)
			return -ENXIO;
		n = off;
		break;
	default:        /* SEEK_HOLE */
		if (off < 0 || off >= size)
			return -ENXIO;
		n = size;
		break;
	}
	if (n < 0)
		return -EINVAL;
	f->pos = (uint64_t)n;
	return n;
}
