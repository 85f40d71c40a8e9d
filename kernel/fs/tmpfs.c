/*
 * tmpfs: ramfs (the tree and the pages, ramfs.c) under the VFS. The root
 * file system from the initramfs is one instance; /tmp, /dev and /dev/shm
 * are others. Contents live in kernel pages; nothing is written anywhere.
 */
#include "fs/vfs.h"
#include "fs/ramfs.h"
#include "fs/tmpfs.h"
#include "mm/page_alloc.h"
#include "lib/string.h"
#include "errno.h"

#define TMPFS_MAGIC 0x01021994

static const struct inode_ops tmpfs_iops;

static void tmpfs_statfs(struct super *sb, uint64_t *blocks, uint64_t *bfree,
			 uint64_t *files, uint64_t *ffree)
{
	(void)sb;
	struct page_stats st;
	page_alloc_stats(&st);
	struct ramfs_counts c;
	ramfs_counts(&c);
	/* Like tmpfs without size=: half of memory, shared by every file. */
	*blocks = st.total_pages / 2;
	*bfree = st.free_pages / 2;
	*files = *blocks;
	*ffree = *files > c.inodes ? *files - c.inodes : 0;
}

/* Gives every inode of the instance under root (and those made later)
 * the VFS ops and the super. */
static void adopt(struct inode *i, struct super *sb)
{
	i->ops = &tmpfs_iops;
	i->sb = sb;
	i->blocks = ramfs_is_reg(i) ? ALIGN_UP(i->size, 4096) / 512 : 0;
	if (!ramfs_is_dir(i))
		return;
	for (struct ramfs_dirent *d = i->dir.first; d; d = d->next)
		adopt(d->inode, sb);
}

static int make_super(struct super *sb, struct inode *root)
{
	memset(sb, 0, sizeof(*sb));
	sb->type = "tmpfs";
	sb->magic = TMPFS_MAGIC;
	sb->root = root;
	sb->statfs = tmpfs_statfs;
	vfs_new_dev(sb);
	adopt(root, sb);
	return 0;
}

int tmpfs_adopt_root(struct super *sb)
{
	struct inode *r = ramfs_root();
	if (!r)
		return -ENOENT;
	return make_super(sb, r);
}

int tmpfs_new(struct super *sb, uint32_t mode)
{
	struct inode *r = ramfs_new_root(mode);
	if (!r)
		return -ENOMEM;
	return make_super(sb, r);
}

/* --- inode ops ---------------------------------------------------------------- */

static int t_lookup(struct inode *dir, const char *name, size_t len, struct inode **out)
{
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*out = dir->dir.parent;
		return 0;
	}
	struct inode *i = ramfs_dir_find(dir, name, len);
	if (!i)
		return -ENOENT;
	*out = i;
	return 0;
}

static void created(struct inode *dir, struct inode *i)
{
	i->ops = &tmpfs_iops;
	i->sb = dir->sb;
	inode_touch(dir, true, true, false);
}

static int t_create(struct inode *dir, const char *name, size_t len, uint32_t mode,
		    uint32_t rmaj, uint32_t rmin, struct inode **out)
{
	struct ramfs_attr a = { .mode = mode & 07777, .rdev_major = rmaj, .rdev_minor = rmin };
	struct inode *i;
	int r;
	switch (mode & S_IFMT) {
	case S_IFDIR:
		r = ramfs_mkdir(dir, name, len, &a, &i);
		break;
	case S_IFREG:
		r = ramfs_create(dir, name, len, &a, NULL, 0, &i);
		break;
	default:
		r = ramfs_mknod(dir, name, len, mode & S_IFMT, &a, &i);
		break;
	}
	if (r < 0)
		return r;
	created(dir, i);
	*out = i;
	return 0;
}

static int t_symlink(struct inode *dir, const char *name, size_t len, const char *target,
		     size_t tlen, struct inode **out)
{
	struct inode *i;
	int r = ramfs_symlink(dir, name, len, NULL, target, tlen, &i);
	if (r < 0)
		return r;
	created(dir, i);
	*out = i;
	return 0;
}

static int t_link(struct inode *dir, const char *name, size_t len, struct inode *target)
{
	int r = ramfs_link(dir, name, len, target);
	if (r == -EINVAL)
		r = -EPERM;
	if (r == 0) {
		inode_touch(dir, true, true, false);
		inode_touch(target, false, true, false);
	}
	return r;
}

static int t_unlink(struct inode *dir, const char *name, size_t len, bool want_dir)
{
	struct inode *i = ramfs_dir_find(dir, name, len);
	if (!i)
		return -ENOENT;
	if (want_dir && !ramfs_is_dir(i))
		return -ENOTDIR;
	if (!want_dir && ramfs_is_dir(i))
		return -EISDIR;
	if (i->mounted)
		return -EBUSY;
	bool last = i->nlink <= 1 || ramfs_is_dir(i);
	if (!last)
		inode_touch(i, false, true, false);
	int r = ramfs_unlink(dir, name, len);
	if (r == 0)
		inode_touch(dir, true, true, false);
	return r;
}

static int t_rename(struct inode *odir, const char *oname, size_t olen, struct inode *ndir,
		    const char *nname, size_t nlen, unsigned flags)
{
	struct inode *src = ramfs_dir_find(odir, oname, olen);
	struct inode *dst = ramfs_dir_find(ndir, nname, nlen);
	if ((src && src->mounted) || (dst && dst->mounted))
		return -EBUSY;
	int r = ramfs_rename(odir, oname, olen, ndir, nname, nlen, flags);
	if (r == 0) {
		inode_touch(odir, true, true, false);
		inode_touch(ndir, true, true, false);
		if (src)
			inode_touch(src, false, true, false);
	}
	return r;
}

static const char *t_get_link(struct inode *i)
{
	return i->target;
}

static int t_readdir(struct inode *dir, uint64_t *cookie, filldir_fn fill, void *ctx)
{
	return ramfs_readdir_cookie(dir, cookie, fill, ctx);
}

static int t_name_of(struct inode *dir, struct inode *child, char *buf, size_t len)
{
	(void)dir;
	if (!ramfs_is_dir(child) || !child->dir.self)
		return -ENOENT;
	const struct ramfs_dirent *d = child->dir.self;
	if (d->namelen >= len)
		return -ERANGE;
	memcpy(buf, d->name, d->namelen + 1);
	return d->namelen;
}

static int t_truncate(struct inode *i, uint64_t size)
{
	int r = ramfs_truncate(i, size);
	if (r == 0)
		inode_touch(i, true, true, false);
	return r;
}

static void t_evict(struct inode *i)
{
	ramfs_free(i);
}

static int t_open(struct inode *i, struct file *f)
{
	if (S_ISREG(i->mode))
		f->ops = &tmpfs_file_ops;
	else if (S_ISDIR(i->mode))
		f->ops = &dir_file_ops;
	else
		return -ENXIO;
	return 0;
}

static const struct inode_ops tmpfs_iops = {
	.lookup = t_lookup,
	.create = t_create,
	.symlink = t_symlink,
	.link = t_link,
	.unlink = t_unlink,
	.rename = t_rename,
	.get_link = t_get_link,
	.readdir = t_readdir,
	.name_of = t_name_of,
	.truncate = t_truncate,
	.open = t_open,
	.evict = t_evict,
};

/* --- file ops ---------------------------------------------------------------------- */

static ssize_t tf_read(struct file *f, struct uio *u, uint64_t *pos)
{
	struct inode *i = f->path.inode;
	vfs_lock();
	size_t done = 0;
	int err = 0;
	while (u->resid) {
		size_t avail;
		const uint8_t *src = ramfs_read_ptr(i, *pos, &avail);
		if (!avail)
			break;
		avail = MIN(avail, u->resid);
		err = src ? uio_copy_out(u, src, avail) : uio_zero(u, avail);
		if (err)
			break;
		*pos += avail;
		done += avail;
	}
	if (done && !(f->flags & O_NOATIME))
		inode_touch(i, false, false, true);
	vfs_unlock();
	return done ? (ssize_t)done : err;
}

static ssize_t tf_write(struct file *f, struct uio *u, uint64_t *pos)
{
	struct inode *i = f->path.inode;
	vfs_lock();
	if (f->flags & O_APPEND)
		*pos = i->size;
	size_t done = 0;
	int err = 0;
	while (u->resid) {
		if (*pos >= RAMFS_MAX_FILE) {
			err = -EFBIG;
			break;
		}
		size_t avail;
		uint8_t *dst = ramfs_write_ptr(i, *pos, &avail);
		if (!dst) {
			err = -ENOSPC;
			break;
		}
		avail = MIN(avail, u->resid);
		err = uio_copy_in(u, dst, avail);
		if (err)
			break;
		*pos += avail;
		done += avail;
		if (*pos > i->size)
			ramfs_set_size(i, *pos);
	}
	if (done) {
		inode_touch(i, true, true, false);
		/* Writing clears set-user-ID (no privileges here: always root,
		 * which Linux also clears it for). */
		i->mode &= ~(uint32_t)S_ISUID;
	}
	vfs_unlock();
	return done ? (ssize_t)done : err;
}

static int64_t tf_llseek(struct file *f, int64_t off, int whence)
{
	struct inode *i = f->path.inode;
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -ENOSYS;     /* the VFS does the others */
	vfs_lock();
	int64_t r;
	uint64_t size = i->size;
	if (off < 0 || (uint64_t)off >= size) {
		r = -ENXIO;
	} else {
		uint64_t p = (uint64_t)off / RAMFS_PAGE_SIZE;
		bool want = whence == SEEK_DATA;
		while (p * RAMFS_PAGE_SIZE < size && ramfs_page_present(i, p) != want)
			p++;
		uint64_t at = p * RAMFS_PAGE_SIZE;
		if (at < (uint64_t)off)
			at = (uint64_t)off;
		if (at >= size)
			r = want ? -ENXIO : (int64_t)size;
		else
			r = (int64_t)at;
	}
	vfs_unlock();
	if (r >= 0)
		f->pos = (uint64_t)r;
	return r;
}

static int tf_fsync(struct file *f)
{
	(void)f;
	return 0;
}

const struct file_ops tmpfs_file_ops = {
	.read = tf_read,
	.write = tf_write,
	.llseek = tf_llseek,
	.fsync = tf_fsync,
};

int tmpfs_punch_hole(struct inode *i, uint64_t off, uint64_t len)
{
	return ramfs_punch(i, off, len);
}

bool tmpfs_is(struct inode *i)
{
	return i->ops == &tmpfs_iops;
}
