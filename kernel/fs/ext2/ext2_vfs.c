/*
 * ext2 under the VFS: inode_ops and file_ops over the pure module
 * (ext2.h), blocks through the buffer cache (drivers/block/buf.h).
 *
 * Locking: each mount has a mutex that serialises the module. Inode ops
 * come with the VFS lock held and take it after (order: VFS lock -> ext2
 * mount lock -> buffer locks). Reads and writes move data through a kernel
 * bounce buffer so that no user memory is touched with the mount lock
 * held.
 *
 * Attributes: the module's node is the truth for what it changes (size,
 * links, blocks, times of its operations); the VFS inode is the truth for
 * what the VFS changes by itself (chmod, chown, utimensat, inode_touch).
 * pull() copies the VFS side into the node before the module writes it,
 * push() the node back into the VFS inode after every operation.
 *
 * Inodes: a VFS inode is made for a node the first time the VFS sees it
 * and holds one node reference; it stays cached while it has links, and
 * goes (with the disk inode) when its last link and last reference go.
 *
 * Mappings (mmap, the ELF loader): vm.c reads file pages at fault time
 * under a spinlock, where disk I/O cannot sleep, so a mapped file is read
 * whole into pages first (a snapshot, kept while the file is unchanged).
 */
#include "fs/vfs.h"
#include "fs/shutdown.h"
#include "fs/ext2/ext2.h"
#include "fs/ext2/ext2_vfs.h"
#include "fs/ramfs.h"      /* fs_now */
#include "drivers/block/buf.h"
#include "mm/heap.h"
#include "mm/page_alloc.h"
#include "mm/vm.h"
#include "sched/sync.h"
#include "arch/x86_64/time.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "errno.h"

#define EXT2_SUPER_MAGIC 0xef53
#define BOUNCE (64 * 1024)

struct e2m {
	struct super sb;
	struct ext2_fs *fs;          /* NULL once shut down */
	struct blockdev *bd;
	struct mutex lock;
	struct fs_hook hook;
	char dev[16];
	char path[64];
};

struct snap {
	uint64_t size;
	uint64_t npages;
	uint8_t *pages[];
};

struct e2i {
	struct ext2_node *node;
	char *link;                  /* symlink target, read once */
	struct snap *snap;           /* for mappings; valid while !changed */
	bool changed;
};

static const struct inode_ops e2_iops;
static const struct file_ops e2_file_ops;

static struct e2m *M(struct inode *i) { return i->sb->priv; }
static struct e2i *E(struct inode *i) { return i->priv; }
static struct ext2_node *N(struct inode *i) { return E(i)->node; }

/* --- the block device under the module -------------------------------------------- */

static int io_read_super(void *ctx, void *buf)
{
	struct e2m *m = ctx;
	return blk_read(m->bd, EXT2_SUPER_OFFSET / BLK_SECTOR_SIZE, EXT2_SUPER_SIZE / BLK_SECTOR_SIZE, buf);
}

static void *io_get(void *ctx, uint32_t blk, uint32_t bsize, bool read, void **h, int *err)
{
	struct e2m *m = ctx;
	struct buf *b = read ? bread(m->bd, blk, bsize) : bget(m->bd, blk, bsize);
	if (IS_ERR_BUF(b)) {
		*err = buf_err(b);
		return NULL;
	}
	*h = b;
	return b->data;
}

static void io_dirty(void *ctx, void *h)
{
	(void)ctx;
	bdirty(h);
}

static void io_put(void *ctx, void *h)
{
	(void)ctx;
	brelse(h);
}

static int io_sync(void *ctx)
{
	struct e2m *m = ctx;
	return bsync(m->bd);
}

static void io_now(void *ctx, int64_t *sec, int64_t *nsec)
{
	(void)ctx;
	struct fs_time t;
	fs_now(&t);
	*sec = t.sec;
	*nsec = t.nsec;
}

static void io_log(void *ctx, int level, const char *msg)
{
	struct e2m *m = ctx;
	if (level == 0)
		pr_err("%s (/dev/%s)", msg, m->dev);
	else if (level == 1)
		pr_warn("%s (/dev/%s)", msg, m->dev);
	else
		pr_info("%s (/dev/%s)", msg, m->dev);
}

/* --- attributes between the node and the VFS inode ---------------------------------- */

static void push(struct inode *i)
{
	if (!i)
		return;
	struct ext2_node *n = N(i);
	i->mode = ext2_node_mode(n);
	i->uid = ext2_node_uid(n);
	i->gid = ext2_node_gid(n);
	i->nlink = ext2_node_nlink(n);
	i->size = ext2_node_size(n);
	i->blocks = ext2_node_blocks(n);
	if (S_ISCHR(i->mode) || S_ISBLK(i->mode))
		ext2_node_rdev(n, &i->rdev_major, &i->rdev_minor);
	ext2_node_time(n, EXT2_ATIME, &i->atime.sec, &i->atime.nsec);
	ext2_node_time(n, EXT2_MTIME, &i->mtime.sec, &i->mtime.nsec);
	ext2_node_time(n, EXT2_CTIME, &i->ctime.sec, &i->ctime.nsec);
	ext2_node_time(n, EXT2_CRTIME, &i->btime.sec, &i->btime.nsec);
}

static void pull(struct e2m *m, struct inode *i)
{
	if (!i)
		return;
	struct ext2_node *n = N(i);
	if (ext2_read_only(m->fs))
		return;
	ext2_node_set_mode(m->fs, n, i->mode);
	ext2_node_set_owner(m->fs, n, i->uid, i->gid);
	ext2_node_set_time(m->fs, n, EXT2_ATIME, i->atime.sec, i->atime.nsec);
	ext2_node_set_time(m->fs, n, EXT2_MTIME, i->mtime.sec, i->mtime.nsec);
	ext2_node_set_time(m->fs, n, EXT2_CTIME, i->ctime.sec, i->ctime.nsec);
}

static void pull_cb(struct ext2_node *n, void *arg)
{
	if (n->priv)
		pull(arg, n->priv);
}

/* The VFS inode for node n, taking over the caller's node reference. */
static int wrap(struct e2m *m, struct ext2_node *n, struct inode **out)
{
	if (n->priv) {
		ext2_iput(m->fs, n);          /* the VFS inode holds one already */
		*out = n->priv;
		return 0;
	}
	struct inode *i = fs_alloc(sizeof(*i));
	struct e2i *e = fs_alloc(sizeof(*e));
	if (!i || !e) {
		fs_free(i);
		fs_free(e);
		ext2_iput(m->fs, n);
		return -ENOMEM;
	}
	e->node = n;
	i->priv = e;
	i->ino = n->ino;
	i->ops = &e2_iops;
	i->sb = &m->sb;
	n->priv = i;
	push(i);
	*out = i;
	return 0;
}

static int wrap_ino(struct e2m *m, uint32_t ino, struct inode **out)
{
	struct ext2_node *n;
	int r = ext2_iget(m->fs, ino, &n);
	return r < 0 ? r : wrap(m, n, out);
}

/* Frees the VFS inode of a node with no links and no references. */
static void drop(struct e2m *m, struct inode *i)
{
	struct e2i *e = E(i);
	e->node->priv = NULL;
	ext2_iput(m->fs, e->node);
	fs_free(e->link);
	/* e->snap stays: mappings may still read it. */
	fs_free(e);
	fs_free(i);
}

static void maybe_drop(struct e2m *m, struct inode *i)
{
	if (i && i->nlink == 0 && i->refs == 0 && !i->mounted)
		drop(m, i);
}

#define LOCKED(m)                                   \
	mutex_lock(&(m)->lock);                     \
	if (!(m)->fs) {                             \
		mutex_unlock(&(m)->lock);           \
		return -EIO;                        \
	}

/* --- inode ops ---------------------------------------------------------------------- */

static int e_lookup(struct inode *dir, const char *name, size_t len, struct inode **out)
{
	struct e2m *m = M(dir);
	LOCKED(m);
	uint32_t ino;
	int r = ext2_lookup(m->fs, N(dir), name, len, &ino);
	if (r == 0)
		r = wrap_ino(m, ino, out);
	mutex_unlock(&m->lock);
	return r;
}

static int e_create(struct inode *dir, const char *name, size_t len, uint32_t mode,
		    uint32_t rmaj, uint32_t rmin, struct inode **out)
{
	struct e2m *m = M(dir);
	LOCKED(m);
	pull(m, dir);
	struct ext2_node *n;
	int r = ext2_create(m->fs, N(dir), name, len, mode, rmaj, rmin, 0, 0, &n);
	if (r == 0)
		r = wrap(m, n, out);
	push(dir);
	mutex_unlock(&m->lock);
	return r;
}

static int e_symlink(struct inode *dir, const char *name, size_t len, const char *target,
		     size_t tlen, struct inode **out)
{
	struct e2m *m = M(dir);
	LOCKED(m);
	pull(m, dir);
	struct ext2_node *n;
	int r = ext2_symlink(m->fs, N(dir), name, len, target, tlen, 0, 0, &n);
	if (r == 0)
		r = wrap(m, n, out);
	push(dir);
	mutex_unlock(&m->lock);
	return r;
}

static int e_link(struct inode *dir, const char *name, size_t len, struct inode *target)
{
	if (target->sb != dir->sb)
		return -EXDEV;
	struct e2m *m = M(dir);
	LOCKED(m);
	pull(m, dir);
	pull(m, target);
	int r = ext2_link(m->fs, N(dir), name, len, N(target));
	push(dir);
	push(target);
	mutex_unlock(&m->lock);
	return r;
}

/* The VFS inode of name in dir if one exists (no reference). */
static struct inode *cached_child(struct e2m *m, struct inode *dir, const char *name, size_t len)
{
	uint32_t ino;
	struct ext2_node *n;
	if (ext2_lookup(m->fs, N(dir), name, len, &ino) < 0 || ext2_iget(m->fs, ino, &n) < 0)
		return NULL;
	struct inode *i = n->priv;
	ext2_iput(m->fs, n);        /* cached nodes have the VFS inode's reference */
	return i;
}

static int e_unlink(struct inode *dir, const char *name, size_t len, bool want_dir)
{
	struct e2m *m = M(dir);
	LOCKED(m);
	struct inode *c = cached_child(m, dir, name, len);
	int r = c && c->mounted ? -EBUSY : 0;
	if (r == 0) {
		pull(m, dir);
		pull(m, c);
		r = ext2_unlink(m->fs, N(dir), name, len, want_dir);
		push(dir);
		push(c);
		if (r == 0 && c)
			E(c)->changed = true;
		maybe_drop(m, c);
	}
	mutex_unlock(&m->lock);
	return r;
}

static int e_rename(struct inode *odir, const char *oname, size_t olen, struct inode *ndir,
		    const char *nname, size_t nlen, unsigned flags)
{
	if (odir->sb != ndir->sb)
		return -EXDEV;
	if (flags & RENAME_WHITEOUT)
		return -EINVAL;
	struct e2m *m = M(odir);
	LOCKED(m);
	struct inode *src = cached_child(m, odir, oname, olen);
	struct inode *dst = cached_child(m, ndir, nname, nlen);
	int r = (src && src->mounted) || (dst && dst->mounted) ? -EBUSY : 0;
	if (r == 0) {
		pull(m, odir);
		pull(m, ndir);
		pull(m, src);
		pull(m, dst);
		unsigned f = (flags & RENAME_NOREPLACE ? EXT2_RENAME_NOREPLACE : 0) |
			     (flags & RENAME_EXCHANGE ? EXT2_RENAME_EXCHANGE : 0);
		r = ext2_rename(m->fs, N(odir), oname, olen, N(ndir), nname, nlen, f);
		push(odir);
		push(ndir);
		push(src);
		push(dst);
		if (dst != src)
			maybe_drop(m, dst);
	}
	mutex_unlock(&m->lock);
	return r;
}

static const char *e_get_link(struct inode *i)
{
	struct e2i *e = E(i);
	if (e->link)
		return e->link;
	struct e2m *m = M(i);
	mutex_lock(&m->lock);
	if (m->fs && !e->link) {
		size_t len = (size_t)i->size;
		char *buf = fs_alloc(len + 1);
		if (buf) {
			ssize_t n = ext2_readlink(m->fs, e->node, buf, len);
			if (n >= 0) {
				buf[n] = 0;
				e->link = buf;
			} else {
				fs_free(buf);
			}
		}
	}
	mutex_unlock(&m->lock);
	return e->link ? e->link : "";
}

struct fill_ctx {
	filldir_fn fill;
	void *ctx;
};

static int fill_adapter(void *ctx, const char *name, size_t len, uint32_t ino, unsigned dtype,
			uint64_t next)
{
	struct fill_ctx *fc = ctx;
	return fc->fill(fc->ctx, name, len, ino, dtype, next);
}

static int e_readdir(struct inode *dir, uint64_t *cookie, filldir_fn fill, void *ctx)
{
	struct e2m *m = M(dir);
	LOCKED(m);
	struct fill_ctx fc = { fill, ctx };
	int r = ext2_readdir(m->fs, N(dir), cookie, fill_adapter, &fc);
	mutex_unlock(&m->lock);
	return r;
}

static int e_truncate(struct inode *i, uint64_t size)
{
	struct e2m *m = M(i);
	LOCKED(m);
	pull(m, i);
	int r = ext2_truncate(m->fs, N(i), size);
	push(i);
	E(i)->changed = true;
	mutex_unlock(&m->lock);
	return r;
}

static int e_open(struct inode *i, struct file *f)
{
	if (S_ISREG(i->mode))
		f->ops = &e2_file_ops;
	else if (S_ISDIR(i->mode))
		f->ops = &dir_file_ops;
	else
		return -ENXIO;
	return 0;
}

static void e_evict(struct inode *i)
{
	struct e2m *m = M(i);
	mutex_lock(&m->lock);
	if (m->fs)
		maybe_drop(m, i);
	mutex_unlock(&m->lock);
}

static void snap_read(void *file, uint64_t off, void *buf, size_t len)
{
	struct snap *s = file;
	uint8_t *p = buf;
	while (len) {
		uint64_t pg = off / PAGE_SIZE;
		size_t in = (size_t)(off % PAGE_SIZE), k = MIN(len, PAGE_SIZE - in);
		if (off < s->size && s->pages[pg])
			memcpy(p, s->pages[pg] + in, k);
		else
			memset(p, 0, k);
		p += k;
		off += k;
		len -= k;
	}
}

static int e_map_file(struct inode *i, struct vm_file *out)
{
	struct e2m *m = M(i);
	struct e2i *e = E(i);
	LOCKED(m);
	int r = 0;
	if (!e->snap || e->changed || e->snap->size != i->size) {
		uint64_t size = ext2_node_size(e->node);
		uint64_t np = (size + PAGE_SIZE - 1) / PAGE_SIZE;
		struct snap *s = kzalloc(sizeof(*s) + np * sizeof(s->pages[0]));
		if (!s)
			r = -ENOMEM;
		for (uint64_t pg = 0; s && pg < np; pg++) {
			s->pages[pg] = page_alloc_virt(0);
			if (!s->pages[pg]) {
				r = -ENOMEM;
				break;
			}
			size_t want = (size_t)MIN((uint64_t)PAGE_SIZE, size - pg * PAGE_SIZE);
			ssize_t n = ext2_read(m->fs, e->node, pg * PAGE_SIZE, s->pages[pg], want);
			if (n < 0) {
				r = (int)n;
				break;
			}
			memset(s->pages[pg] + n, 0, PAGE_SIZE - (size_t)n);
		}
		if (r == 0) {
			s->size = size;
			s->npages = np;
			/* The old snapshot stays for the mappings made from it. */
			e->snap = s;
			e->changed = false;
		} else if (s) {
			for (uint64_t pg = 0; pg < np; pg++)
				if (s->pages[pg])
					page_free_virt(s->pages[pg], 0);
			kfree(s);
		}
	}
	if (r == 0) {
		out->file = e->snap;
		out->size = e->snap->size;
		out->read = snap_read;
	}
	mutex_unlock(&m->lock);
	return r;
}

static const struct inode_ops e2_iops = {
	.lookup = e_lookup,
	.create = e_create,
	.symlink = e_symlink,
	.link = e_link,
	.unlink = e_unlink,
	.rename = e_rename,
	.get_link = e_get_link,
	.readdir = e_readdir,
	.truncate = e_truncate,
	.open = e_open,
	.evict = e_evict,
	.map_file = e_map_file,
};

/* --- file ops ----------------------------------------------------------------------- */

static ssize_t ef_read(struct file *f, struct uio *u, uint64_t *pos)
{
	struct inode *i = f->path.inode;
	struct e2m *m = M(i);
	size_t want = MIN(u->resid, (size_t)BOUNCE);
	if (!want)
		return 0;
	uint8_t *buf = kmalloc(want);
	if (!buf)
		return -ENOMEM;
	size_t done = 0;
	int err = 0;
	while (u->resid) {
		size_t k = MIN(u->resid, (size_t)BOUNCE);
		mutex_lock(&m->lock);
		ssize_t n = m->fs ? ext2_read(m->fs, N(i), *pos, buf, k) : -EIO;
		mutex_unlock(&m->lock);
		if (n <= 0) {
			err = (int)n;
			break;
		}
		if ((err = uio_copy_out(u, buf, (size_t)n)) < 0)
			break;
		*pos += (uint64_t)n;
		done += (size_t)n;
		if ((size_t)n < k)
			break;
	}
	kfree(buf);
	return done ? (ssize_t)done : err;
}

static ssize_t ef_write(struct file *f, struct uio *u, uint64_t *pos)
{
	struct inode *i = f->path.inode;
	struct e2m *m = M(i);
	size_t want = MIN(u->resid, (size_t)BOUNCE);
	if (!want)
		return 0;
	uint8_t *buf = kmalloc(want);
	if (!buf)
		return -ENOMEM;
	size_t done = 0;
	int err = 0;
	while (u->resid) {
		size_t k = MIN(u->resid, (size_t)BOUNCE);
		if ((err = uio_copy_in(u, buf, k)) < 0)
			break;
		vfs_lock();
		mutex_lock(&m->lock);
		ssize_t n = -EIO;
		if (m->fs) {
			if (f->flags & O_APPEND)
				*pos = ext2_node_size(N(i));
			pull(m, i);
			n = ext2_write(m->fs, N(i), *pos, buf, k);
			E(i)->changed = true;
			push(i);
			if (n > 0)
				i->mode &= ~(uint32_t)S_ISUID;
		}
		mutex_unlock(&m->lock);
		vfs_unlock();
		if (n <= 0) {
			err = (int)n;
			break;
		}
		*pos += (uint64_t)n;
		done += (size_t)n;
		if ((size_t)n < k)
			break;
	}
	kfree(buf);
	return done ? (ssize_t)done : err;
}

static int64_t ef_llseek(struct file *f, int64_t off, int whence)
{
	if (whence != SEEK_DATA && whence != SEEK_HOLE)
		return -ENOSYS;
	if (off < 0)
		return -ENXIO;
	struct inode *i = f->path.inode;
	struct e2m *m = M(i);
	LOCKED(m);
	int64_t r = ext2_seek_data(m->fs, N(i), (uint64_t)off, whence == SEEK_DATA);
	mutex_unlock(&m->lock);
	if (r >= 0)
		f->pos = (uint64_t)r;
	return r;
}

static int sync_mount(struct e2m *m)
{
	vfs_lock();
	mutex_lock(&m->lock);
	int r = 0;
	if (m->fs) {
		ext2_for_each_node(m->fs, pull_cb, m);
		r = ext2_sync(m->fs);
	}
	mutex_unlock(&m->lock);
	vfs_unlock();
	return r;
}

static int ef_fsync(struct file *f)
{
	return sync_mount(M(f->path.inode));
}

static const struct file_ops e2_file_ops = {
	.read = ef_read,
	.write = ef_write,
	.llseek = ef_llseek,
	.fsync = ef_fsync,
};

/* --- the mount -------------------------------------------------------------------------- */

static void e_statfs(struct super *sb, uint64_t *blocks, uint64_t *bfree, uint64_t *files,
		     uint64_t *ffree)
{
	struct e2m *m = sb->priv;
	struct ext2_statfs st = { 0 };
	mutex_lock(&m->lock);
	if (m->fs)
		ext2_statfs(m->fs, &st);
	mutex_unlock(&m->lock);
	*blocks = st.blocks * st.bsize / 4096;
	*bfree = st.bavail * st.bsize / 4096;
	*files = st.files;
	*ffree = st.ffree;
}

static int hook_sync(void *arg)
{
	return sync_mount(arg);
}

/* Power-off: write everything and mark the file system clean. Without the
 * VFS lock: other threads are being stopped and may hold it; a thread
 * inside the module is waited for, a little. */
static void hook_shutdown(void *arg)
{
	struct e2m *m = arg;
	if (mutex_lock_timeout(&m->lock, clock_monotonic_ns() + 2000000000ull, 0) < 0) {
		pr_err("ext2: /dev/%s: busy at power-off: not unmounted", m->dev);
		return;
	}
	if (m->fs) {
		ext2_for_each_node(m->fs, pull_cb, m);
		int r = ext2_unmount(m->fs);
		m->fs = NULL;
		if (r < 0)
			pr_err("ext2: /dev/%s: unmounting: error %d", m->dev, -r);
		else
			pr_debug("ext2: /dev/%s unmounted cleanly", m->dev);
	}
	mutex_unlock(&m->lock);
}

/* Makes the directories of path in the root file system (mount points on
 * the initramfs need not exist in the image). */
static void mkdir_p(const char *path)
{
	struct mount *root = vfs_mount_at(0);
	if (!root)
		return;
	vfs_lock();
	struct inode *d = root->root;
	while (*path && d) {
		while (*path == '/')
			path++;
		size_t len = 0;
		while (path[len] && path[len] != '/')
			len++;
		if (!len)
			break;
		struct inode *c = NULL;
		if (d->mounted)
			d = d->mounted->root;
		if (d->ops->lookup(d, path, len, &c) < 0 &&
		    (!d->ops->create || d->ops->create(d, path, len, S_IFDIR | 0755, 0, 0, &c) < 0))
			c = NULL;
		d = c && S_ISDIR(c->mode) ? c : NULL;
		path += len;
	}
	vfs_unlock();
}

int ext2_mount_disk(const char *dev, const char *path, bool rdonly)
{
	const char *name = !strncmp(dev, "/dev/", 5) ? dev + 5 : dev;
	struct blockdev *bd = blockdev_find(name);
	if (!bd) {
		pr_err("ext2: %s: no such disk (%u disks found)", dev, blockdev_count());
		return -ENODEV;
	}
	if (bd->nsectors == 0) {
		pr_err("ext2: %s: the disk is empty (0 bytes): no file system to mount", dev);
		return -EINVAL;
	}
	struct e2m *m = kzalloc(sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->bd = bd;
	strlcpy(m->dev, name, sizeof(m->dev));
	strlcpy(m->path, path, sizeof(m->path));
	mutex_init(&m->lock);
	struct ext2_io io = {
		.ctx = m, .size = blk_size_bytes(bd), .read_super = io_read_super, .get = io_get,
		.dirty = io_dirty, .put = io_put, .sync = io_sync, .now = io_now, .log = io_log,
	};
	char msg[160];
	bool ro = rdonly || bd->readonly;
	int r = ext2_mount(&io, ro ? EXT2_MOUNT_RDONLY : 0, &m->fs, msg, sizeof(msg));
	if (r < 0) {
		pr_err("ext2: %s: cannot mount: %s", dev, msg);
		kfree(m);
		return r;
	}
	m->sb.type = "ext2";
	m->sb.magic = EXT2_SUPER_MAGIC;
	m->sb.read_only = ext2_read_only(m->fs);
	m->sb.statfs = e_statfs;
	m->sb.priv = m;
	vfs_new_dev(&m->sb);
	struct inode *root;
	if ((r = wrap_ino(m, EXT2_ROOT_INO, &root)) < 0) {
		pr_err("ext2: %s: cannot read the root directory (error %d)", dev, -r);
		ext2_unmount(m->fs);
		kfree(m);
		return r;
	}
	m->sb.root = root;
	vfs_iget(root);
	if (strcmp(path, "/"))
		mkdir_p(path);
	if ((r = vfs_mount(&m->sb, path, m->sb.read_only ? 1 : 0)) < 0) {
		pr_err("ext2: %s: cannot mount on %s (error %d)", dev, path, -r);
		ext2_unmount(m->fs);
		kfree(m);
		return r;
	}
	m->hook = (struct fs_hook){ .name = m->dev, .sync = hook_sync, .shutdown = hook_shutdown, .arg = m };
	fs_hook_add(&m->hook);
	pr_info("ext2: /dev/%s on %s%s (%u-byte blocks, \"%.16s\")", name, path,
		m->sb.read_only ? " read-only" : "", ext2_block_size(m->fs), ext2_volume_name(m->fs));
	return 0;
}
