/*
 * The VFS core: the lock, inode references, the mount table and path
 * resolution (namei). See vfs.h and docs/vfs.md.
 *
 * Resolution runs entirely under vfs_lock, so the walk takes no references
 * on the way: nothing it passes can be removed until it is done. Only the
 * result gets a reference, when the caller keeps it (path_get).
 */
#include "fs/vfs.h"
#include "fs/namei.h"
#include "fs/ramfs.h"
#include "sched/sync.h"
#include "lib/string.h"
#include "lib/klog.h"
#include "errno.h"

static struct mutex vfs_mutex = MUTEX_INIT(vfs_mutex);

void vfs_lock(void)
{
	mutex_lock(&vfs_mutex);
}

void vfs_unlock(void)
{
	mutex_unlock(&vfs_mutex);
}

/* --- inodes ------------------------------------------------------------------ */

void vfs_iget(struct inode *i)
{
	__atomic_add_fetch(&i->refs, 1, __ATOMIC_RELAXED);
}

/* Called with the lock held or not: eviction takes it when needed. */
void vfs_iput(struct inode *i)
{
	if (!i)
		return;
	bool held = mutex_held(&vfs_mutex);
	if (!held)
		vfs_lock();
	if (--i->refs == 0 && i->ops && i->ops->evict)
		i->ops->evict(i);
	if (!held)
		vfs_unlock();
}

void path_get(const struct path *p)
{
	vfs_iget(p->inode);
}

void path_put(struct path *p)
{
	if (p->inode)
		vfs_iput(p->inode);
	p->inode = NULL;
}

void inode_touch(struct inode *i, bool mtime, bool ctime, bool atime)
{
	struct fs_time now;
	fs_now(&now);
	if (mtime)
		i->mtime = now;
	if (ctime)
		i->ctime = now;
	if (atime)
		i->atime = now;
}

/* --- mounts ------------------------------------------------------------------- */

#define MAX_MOUNTS 32
static struct mount mounts[MAX_MOUNTS];
static int nmounts;
static uint32_t next_anon_minor = 1;

void vfs_new_dev(struct super *sb)
{
	sb->dev_major = 0;
	sb->dev_minor = next_anon_minor++;
}

struct mount *vfs_mount_at(int idx)
{
	return idx >= 0 && idx < nmounts ? &mounts[idx] : NULL;
}

struct mount *vfs_root_mount(void)
{
	return nmounts ? &mounts[0] : NULL;
}

int vfs_mount(struct super *sb, const char *path, unsigned flags)
{
	if (nmounts == MAX_MOUNTS)
		return -ENOMEM;
	struct mount *m = &mounts[nmounts];
	memset(m, 0, sizeof(*m));
	m->sb = sb;
	m->root = sb->root;
	m->flags = flags;
	m->id = nmounts + 1;
	strlcpy(m->path, path, sizeof(m->path));
	if (nmounts == 0) {
		if (strcmp(path, "/"))
			return -EINVAL;
		nmounts = 1;
		return 0;
	}
	struct path p;
	vfs_lock();
	struct nameidata nd;
	namei_init(&nd, LOOKUP_FOLLOW | LOOKUP_DIRECTORY);
	p = nd.root;
	int r = namei_walk(&nd, &p, path, nd.flags);
	if (r == 0 && p.inode->mounted)
		r = -EBUSY;
	if (r == 0) {
		m->parent = p.mnt;
		m->mountpoint = p.inode;
		vfs_iget(p.inode);      /* a mount point stays */
		p.inode->mounted = m;
		nmounts++;
	}
	vfs_unlock();
	return r;
}

/* --- path resolution -------------------------------------------------------- */

void namei_init(struct nameidata *nd, unsigned flags)
{
	memset(nd, 0, sizeof(*nd));
	nd->root.mnt = &mounts[0];
	nd->root.inode = mounts[0].root;
	nd->flags = flags;
}

static bool same_path(const struct path *a, const struct path *b)
{
	return a->inode == b->inode && a->mnt == b->mnt;
}

/* One component from the directory cur: ".", ".." (across mounts), or a
 * name; then down into whatever is mounted on the result. */
int namei_step(struct nameidata *nd, const struct path *cur, const char *name, size_t len,
	       struct path *next)
{
	if (!S_ISDIR(cur->inode->mode))
		return -ENOTDIR;
	if (len > NAME_MAX)
		return -ENAMETOOLONG;
	if (len == 1 && name[0] == '.') {
		*next = *cur;
		return 0;
	}
	struct path c = *cur;
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		if (same_path(&c, &nd->root)) {
			if (nd->flags & LOOKUP_BENEATH)
				return -EXDEV;
			*next = c;
			return 0;
		}
		while (c.inode == c.mnt->root && c.mnt->parent) {
			if (nd->flags & LOOKUP_NO_XDEV)
				return -EXDEV;
			c.inode = c.mnt->mountpoint;
			c.mnt = c.mnt->parent;
		}
	}
	if (!c.inode->ops || !c.inode->ops->lookup)
		return -ENOTDIR;
	struct inode *i;
	int r = c.inode->ops->lookup(c.inode, name, len, &i);
	if (r < 0)
		return r;
	next->mnt = c.mnt;
	next->inode = i;
	while (next->inode->mounted) {
		if (nd->flags & LOOKUP_NO_XDEV)
			return -EXDEV;
		struct mount *m = next->inode->mounted;
		next->mnt = m;
		next->inode = m->root;
	}
	return 0;
}

/* Counts one symlink against the walk's budget. */
static int link_budget(struct nameidata *nd, const struct path *link)
{
	if (nd->flags & LOOKUP_NO_SYMLINKS)
		return -ELOOP;
	if (link->inode->ops->follow && (nd->flags & LOOKUP_NO_MAGICLINKS))
		return -ELOOP;
	if (++nd->links > SYMLOOP_MAX)
		return -ELOOP;
	return 0;
}

/* Resolves the symlink `link`, found in the directory dir, to what it
 * names (following to the end). */
static int follow_link(struct nameidata *nd, const struct path *dir, const struct path *linkp,
		       struct path *out)
{
	struct path lk = *linkp, *link = &lk;       /* out may alias it */
	int r = link_budget(nd, link);
	if (r < 0)
		return r;
	const struct inode_ops *ops = link->inode->ops;
	if (ops->follow) {
		struct inode *i;
		struct mount *m;
		r = ops->follow(link->inode, &i, &m);
		if (r < 0)
			return r;
		out->inode = i;
		out->mnt = m;
		return 0;
	}
	if (!ops->get_link)
		return -EINVAL;
	if (nd->depth >= NAMEI_MAX_NEST)
		return -ELOOP;
	nd->depth++;
	*out = *dir;
	r = namei_walk(nd, out, ops->get_link(link->inode), LOOKUP_FOLLOW);
	nd->depth--;
	return r;
}

int namei_parent(struct nameidata *nd, struct path *cur, const char *path, struct namei_last *last)
{
	last->name = path;
	last->len = 0;
	last->slash = false;
	if (*path == '/') {
		if (nd->flags & LOOKUP_BENEATH)
			return -EXDEV;
		*cur = nd->root;
		while (*path == '/')
			path++;
		last->name = path;
	}
	while (*path) {
		const char *name = path;
		size_t len = 0;
		while (name[len] && name[len] != '/')
			len++;
		const char *rest = name + len;
		bool slash = false;
		while (*rest == '/') {
			rest++;
			slash = true;
		}
		if (!S_ISDIR(cur->inode->mode))
			return -ENOTDIR;
		if (len > NAME_MAX)
			return -ENAMETOOLONG;
		if (!*rest) {
			last->name = name;
			last->len = len;
			last->slash = slash;
			return 0;
		}
		struct path next;
		int r = namei_step(nd, cur, name, len, &next);
		if (r < 0)
			return r;
		if (S_ISLNK(next.inode->mode)) {
			r = follow_link(nd, cur, &next, &next);
			if (r < 0)
				return r;
		}
		if (!S_ISDIR(next.inode->mode))
			return -ENOTDIR;
		*cur = next;
		path = rest;
	}
	if (!S_ISDIR(cur->inode->mode))
		return -ENOTDIR;
	return 0;
}

int namei_walk(struct nameidata *nd, struct path *cur, const char *path, unsigned flags)
{
	bool want_dir = flags & LOOKUP_DIRECTORY;
	struct path next;
	if (!*path)
		return -ENOENT;
	for (;;) {
		struct namei_last last;
		int r = namei_parent(nd, cur, path, &last);
		if (r < 0)
			return r;
		if (last.len == 0) {        /* "/" */
			next = *cur;
			break;
		}
		want_dir |= last.slash;
		r = namei_step(nd, cur, last.name, last.len, &next);
		if (r < 0)
			return r;
		if (S_ISLNK(next.inode->mode) && ((flags & LOOKUP_FOLLOW) || last.slash)) {
			if (next.inode->ops->follow) {
				r = follow_link(nd, cur, &next, &next);
				if (r < 0)
					return r;
				break;
			}
			/* A chain of links at the end is followed in this loop, not
			 * by recursion: the target resolves from the link's directory. */
			r = link_budget(nd, &next);
			if (r < 0)
				return r;
			if (!next.inode->ops->get_link)
				return -EINVAL;
			path = next.inode->ops->get_link(next.inode);
			flags |= LOOKUP_FOLLOW;
			continue;
		}
		break;
	}
	if (want_dir && !S_ISDIR(next.inode->mode))
		return -ENOTDIR;
	*cur = next;
	return 0;
}

/* --- names of things ------------------------------------------------------------ */

struct find_name {
	uint64_t ino;
	char *buf;
	size_t len;
	int found;
};

static int find_name_fill(void *ctx, const char *name, size_t len, uint64_t ino,
			  unsigned dtype, uint64_t next)
{
	(void)dtype;
	(void)next;
	struct find_name *fn = ctx;
	if (ino != fn->ino || (len == 1 && name[0] == '.') ||
	    (len == 2 && name[0] == '.' && name[1] == '.'))
		return 0;
	if (len >= fn->len) {
		fn->found = -ERANGE;
		return 1;
	}
	memcpy(fn->buf, name, len);
	fn->buf[len] = 0;
	fn->found = (int)len;
	return 1;
}

/* The name of child in dir: its length, or -ENOENT. */
static int name_in(struct inode *dir, struct inode *child, char *buf, size_t len)
{
	if (dir->ops->name_of)
		return dir->ops->name_of(dir, child, buf, len);
	if (!dir->ops->readdir)
		return -ENOENT;
	struct find_name fn = { child->ino, buf, len, -ENOENT };
	uint64_t cookie = 0;
	int r = dir->ops->readdir(dir, &cookie, find_name_fill, &fn);
	return r < 0 ? r : fn.found;
}

int vfs_path_name(const struct path *p, char *buf, size_t len)
{
	if (len < 2)
		return -ERANGE;
	struct path root = { &mounts[0], mounts[0].root };
	struct path cur = *p;
	size_t pos = len - 1;
	buf[pos] = 0;
	char name[NAME_MAX + 1];
	if (S_ISDIR(cur.inode->mode) && cur.inode->nlink == 0)
		return -ENOENT;
	if (!S_ISDIR(cur.inode->mode))
		return -ENOENT;         /* a file's name is its opener's to keep */
	while (!same_path(&cur, &root)) {
		if (cur.inode == cur.mnt->root) {
			if (!cur.mnt->parent)
				break;
			cur.inode = cur.mnt->mountpoint;
			cur.mnt = cur.mnt->parent;
			continue;
		}
		struct inode *parent;
		int r = cur.inode->ops->lookup ? cur.inode->ops->lookup(cur.inode, "..", 2, &parent)
					       : -ENOENT;
		if (r < 0)
			return r;
		int n = name_in(parent, cur.inode, name, sizeof(name));
		if (n < 0)
			return n;
		if ((size_t)n + 1 > pos)
			return -ERANGE;
		pos -= n;
		memcpy(buf + pos, name, n);
		buf[--pos] = '/';
		cur.inode = parent;
	}
	if (pos == len - 1)
		buf[--pos] = '/';
	memmove(buf, buf + pos, len - pos);
	return (int)(len - 1 - pos);
}

/* --- entry points ------------------------------------------------------------ */

int vfs_lookup(int dirfd, const char *path, unsigned flags, struct path *out)
{
	struct nameidata nd;
	vfs_lock();
	int r = namei_start(&nd, dirfd, path, flags, out);
	if (r == 0 && !((flags & LOOKUP_EMPTY) && !*path))
		r = namei_walk(&nd, out, path, flags);
	if (r == 0)
		path_get(out);
	vfs_unlock();
	return r;
}

int vfs_stat_path(const char *path, bool follow, struct inode **out)
{
	struct path p;
	int r = vfs_lookup(AT_FDCWD, path, follow ? LOOKUP_FOLLOW : 0, &p);
	if (r == 0) {
		*out = p.inode;
		path_put(&p);
	}
	return r;
}

/* --- the working directory and umask ---------------------------------------- */

static struct path cwd;              /* referenced; NULL inode: the root */
static uint32_t umask_bits = 022;

void vfs_cwd(struct path *out)
{
	vfs_lock();
	if (cwd.inode)
		*out = cwd;
	else
		*out = (struct path){ &mounts[0], mounts[0].root };
	path_get(out);
	vfs_unlock();
}

void vfs_cwd_locked(struct path *out)
{
	if (cwd.inode)
		*out = cwd;
	else
		*out = (struct path){ &mounts[0], mounts[0].root };
}

/* Replaces the cwd with p (whose reference passes to the cwd). */
void vfs_set_cwd(struct path *p)
{
	vfs_lock();
	struct path old = cwd;
	cwd = *p;
	vfs_unlock();
	if (old.inode)
		path_put(&old);
}

uint32_t vfs_umask(void)
{
	return __atomic_load_n(&umask_bits, __ATOMIC_RELAXED);
}

uint32_t vfs_set_umask(uint32_t m)
{
	return __atomic_exchange_n(&umask_bits, m & 0777, __ATOMIC_RELAXED);
}

int namei_start(struct nameidata *nd, int dirfd, const char *path, unsigned flags,
		struct path *start)
{
	namei_init(nd, flags);
	if (*path == '/' && !(flags & (LOOKUP_IN_ROOT | LOOKUP_BENEATH))) {
		*start = nd->root;
		return 0;
	}
	if (!*path && !(flags & LOOKUP_EMPTY))
		return -ENOENT;
	if (dirfd == AT_FDCWD) {
		if (cwd.inode)
			*start = cwd;
		else
			*start = nd->root;
	} else {
		struct file *f = fd_get(dirfd);
		if (!f)
			return -EBADF;
		*start = f->path;
		file_put(f);      /* the inode cannot go while we hold the lock */
		if (*path && !S_ISDIR(start->inode->mode))
			return -ENOTDIR;
	}
	if (flags & (LOOKUP_IN_ROOT | LOOKUP_BENEATH))
		nd->root = *start;
	return 0;
}

/* --- bring-up ----------------------------------------------------------------- */

#include "fs/tmpfs.h"
#include "fs/sys.h"

static struct super root_sb, tmp_sb;

/* Makes sure path is a directory in the root (an image need not have it). */
static void ensure_dir(const char *name, uint32_t mode)
{
	struct inode *root = mounts[0].root, *i;
	if (root->ops->lookup(root, name, strlen(name), &i) == 0)
		return;
	if (root->ops->create(root, name, strlen(name), S_IFDIR | mode, 0, 0, &i) < 0)
		pr_warn("vfs: cannot create /%s", name);
}

int vfs_init(void)
{
	int r = 0;
	bool root_in_memory = nmounts == 0;
	if (root_in_memory) {   /* else a disk is `/` already (root=, fs/rootfs.c) */
		r = tmpfs_adopt_root(&root_sb);
		if (r == 0)
			r = vfs_mount(&root_sb, "/", 0);
	}
	if (r < 0)
		return r;
	vfs_lock();
	ensure_dir("dev", 0755);
	ensure_dir("proc", 0555);
	ensure_dir("sys", 0555);
	ensure_dir("tmp", 01777);
	vfs_unlock();
	if ((r = devfs_init()) < 0)
		pr_warn("vfs: /dev: error %d", r);
	if ((r = procfs_init()) < 0)
		pr_warn("vfs: /proc, /sys: error %d", r);
	/* A disk root gets a tmpfs on /tmp. An in-memory root is writable
	 * already, and a tmpfs over it would hide the files the image put in
	 * /tmp (`wisp run --add /tmp/x` must find /tmp/x). */
	if (!root_in_memory) {
		if ((r = tmpfs_new(&tmp_sb, 01777)) == 0)
			r = vfs_mount(&tmp_sb, "/tmp", 0);
		if (r < 0)
			pr_warn("vfs: /tmp: error %d", r);
	}
	r = fd_init_stdio();
	if (r < 0)
		pr_err("vfs: the console as fds 0-2: error %d", r);
	pr_debug("vfs: %d mounts", nmounts);
	return r;
}
