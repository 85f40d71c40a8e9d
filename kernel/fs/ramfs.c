/*
 * ramfs: the tree. Each directory keeps its entries in a doubly linked list
 * (creation order, for readdir); lookup of a name goes through one hash table
 * for the whole file system, keyed by (directory, name), so unpacking a
 * directory of thousands of files stays linear.
 */
#include "fs/ramfs.h"

#ifdef HOST_TEST
#include <string.h>
#else
#include "lib/string.h"
#endif

static struct ramfs_inode *root;
static uint64_t next_ino = 1;
static struct ramfs_counts counts;

static struct ramfs_dirent **buckets;
static size_t nbuckets, nentries;

#define INITIAL_BUCKETS 256

/* FNV-1a over the name, seeded with the directory's inode number. */
static uint32_t name_hash(const struct ramfs_inode *dir, const char *name, size_t len)
{
	uint32_t h = 2166136261u ^ (uint32_t)(dir->ino * 0x9e3779b9u);
	for (size_t i = 0; i < len; i++) {
		h ^= (uint8_t)name[i];
		h *= 16777619u;
	}
	return h;
}

static int grow_table(void)
{
	size_t n = nbuckets ? nbuckets * 2 : INITIAL_BUCKETS;
	struct ramfs_dirent **nb = fs_alloc(n * sizeof(*nb));
	if (!nb)
		return -ENOMEM;
	for (size_t i = 0; i < nbuckets; i++) {
		struct ramfs_dirent *d = buckets[i], *next;
		for (; d; d = next) {
			next = d->hnext;
			d->hnext = nb[d->hash & (n - 1)];
			nb[d->hash & (n - 1)] = d;
		}
	}
	fs_free(buckets);
	buckets = nb;
	nbuckets = n;
	return 0;
}

static struct ramfs_inode *new_inode(uint32_t mode, const struct ramfs_attr *a)
{
	struct ramfs_inode *i = fs_alloc(sizeof(*i));
	if (!i)
		return NULL;
	i->ino = next_ino++;
	i->mode = mode;
	if (a) {
		i->mode |= a->mode & 07777;
		i->uid = a->uid;
		i->gid = a->gid;
		i->mtime = a->mtime;
		i->rdev_major = a->rdev_major;
		i->rdev_minor = a->rdev_minor;
	}
	i->nlink = 1;
	counts.inodes++;
	return i;
}

static void count_type(const struct ramfs_inode *i, int delta)
{
	switch (i->mode & RAMFS_S_IFMT) {
	case RAMFS_S_IFDIR: counts.dirs += delta; break;
	case RAMFS_S_IFREG: counts.files += delta; counts.file_bytes += delta * (int64_t)i->size; break;
	case RAMFS_S_IFLNK: counts.symlinks += delta; break;
	default:            counts.special += delta; break;
	}
}

static void free_inode(struct ramfs_inode *i)
{
	count_type(i, -1);
	counts.inodes--;
	if (ramfs_is_symlink(i))
		fs_free(i->target);
	fs_free(i);
}

int ramfs_init(void)
{
	if (root)
		return 0;
	struct ramfs_attr a = { .mode = 0755 };
	root = new_inode(RAMFS_S_IFDIR, &a);
	if (!root)
		return -ENOMEM;
	root->nlink = 2;
	root->dir.parent = root;
	count_type(root, 1);
	return grow_table();
}

struct ramfs_inode *ramfs_root(void)
{
	return root;
}

static struct ramfs_dirent *find_dirent(struct ramfs_inode *dir, const char *name, size_t len)
{
	if (!nbuckets)
		return NULL;
	uint32_t h = name_hash(dir, name, len);
	for (struct ramfs_dirent *d = buckets[h & (nbuckets - 1)]; d; d = d->hnext)
		if (d->hash == h && d->dir == dir && d->namelen == len && !memcmp(d->name, name, len))
			return d;
	return NULL;
}

struct ramfs_inode *ramfs_dir_find(struct ramfs_inode *dir, const char *name, size_t len)
{
	if (!ramfs_is_dir(dir))
		return NULL;
	struct ramfs_dirent *d = find_dirent(dir, name, len);
	return d ? d->inode : NULL;
}

/* Checks that `name` may be created in dir. */
static int check_new_name(struct ramfs_inode *dir, const char *name, size_t len)
{
	if (!ramfs_is_dir(dir))
		return -ENOTDIR;
	if (len == 0 || memchr(name, '/', len) || memchr(name, 0, len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EEXIST;
	if (len > RAMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if (find_dirent(dir, name, len))
		return -EEXIST;
	return 0;
}

/* Enters a checked name for inode into dir. */
static int add_dirent(struct ramfs_inode *dir, const char *name, size_t len,
		      struct ramfs_inode *inode)
{
	if (nentries >= nbuckets && grow_table() < 0)
		return -ENOMEM;
	struct ramfs_dirent *d = fs_alloc(sizeof(*d) + len + 1);
	if (!d)
		return -ENOMEM;
	memcpy(d->name, name, len);
	d->name[len] = 0;
	d->namelen = (uint16_t)len;
	d->dir = dir;
	d->inode = inode;
	d->hash = name_hash(dir, name, len);
	size_t b = d->hash & (nbuckets - 1);
	d->hnext = buckets[b];
	buckets[b] = d;
	d->prev = dir->dir.last;
	if (dir->dir.last)
		dir->dir.last->next = d;
	else
		dir->dir.first = d;
	dir->dir.last = d;
	dir->dir.entries++;
	nentries++;
	return 0;
}

/* Common tail of the create calls: link the new inode or undo. */
static int attach(struct ramfs_inode *dir, const char *name, size_t len,
		  struct ramfs_inode *i, struct ramfs_inode **out)
{
	int r = add_dirent(dir, name, len, i);
	if (r < 0) {
		counts.inodes--;
		if (ramfs_is_symlink(i))
			fs_free(i->target);
		fs_free(i);
		return r;
	}
	count_type(i, 1);
	if (out)
		*out = i;
	return 0;
}

int ramfs_mkdir(struct ramfs_inode *dir, const char *name, size_t len,
		const struct ramfs_attr *a, struct ramfs_inode **out)
{
	int r = check_new_name(dir, name, len);
	if (r < 0)
		return r;
	struct ramfs_inode *i = new_inode(RAMFS_S_IFDIR, a);
	if (!i)
		return -ENOMEM;
	i->nlink = 2;
	i->dir.parent = dir;
	r = attach(dir, name, len, i, out);
	if (r == 0)
		dir->nlink++;
	return r;
}

int ramfs_create(struct ramfs_inode *dir, const char *name, size_t len,
		 const struct ramfs_attr *a, const void *data, uint64_t size,
		 struct ramfs_inode **out)
{
	int r = check_new_name(dir, name, len);
	if (r < 0)
		return r;
	struct ramfs_inode *i = new_inode(RAMFS_S_IFREG, a);
	if (!i)
		return -ENOMEM;
	i->data = data;
	i->size = size;
	return attach(dir, name, len, i, out);
}

void ramfs_set_data(struct ramfs_inode *i, const void *data, uint64_t size)
{
	count_type(i, -1);
	i->data = data;
	i->size = size;
	count_type(i, 1);
}

int ramfs_symlink(struct ramfs_inode *dir, const char *name, size_t len,
		  const struct ramfs_attr *a, const char *target, size_t tlen,
		  struct ramfs_inode **out)
{
	int r = check_new_name(dir, name, len);
	if (r < 0)
		return r;
	if (tlen == 0 || memchr(target, 0, tlen))
		return -EINVAL;
	if (tlen >= RAMFS_PATH_MAX)
		return -ENAMETOOLONG;
	struct ramfs_inode *i = new_inode(RAMFS_S_IFLNK, NULL);
	if (!i)
		return -ENOMEM;
	/* Symlink permissions are always 0777 on Linux. */
	i->mode |= 0777;
	if (a) {
		i->uid = a->uid;
		i->gid = a->gid;
		i->mtime = a->mtime;
	}
	i->target = fs_alloc(tlen + 1);
	if (!i->target) {
		counts.inodes--;
		fs_free(i);
		return -ENOMEM;
	}
	memcpy(i->target, target, tlen);
	i->size = tlen;
	return attach(dir, name, len, i, out);
}

int ramfs_mknod(struct ramfs_inode *dir, const char *name, size_t len, uint32_t type,
		const struct ramfs_attr *a, struct ramfs_inode **out)
{
	if (type != RAMFS_S_IFCHR && type != RAMFS_S_IFBLK && type != RAMFS_S_IFIFO &&
	    type != RAMFS_S_IFSOCK)
		return -EINVAL;
	int r = check_new_name(dir, name, len);
	if (r < 0)
		return r;
	struct ramfs_inode *i = new_inode(type, a);
	if (!i)
		return -ENOMEM;
	return attach(dir, name, len, i, out);
}

int ramfs_link(struct ramfs_inode *dir, const char *name, size_t len,
	       struct ramfs_inode *target)
{
	if (ramfs_is_dir(target))
		return -EINVAL;     /* Linux: EPERM; no directory hard links */
	int r = check_new_name(dir, name, len);
	if (r < 0)
		return r;
	r = add_dirent(dir, name, len, target);
	if (r == 0)
		target->nlink++;
	return r;
}

int ramfs_unlink(struct ramfs_inode *dir, const char *name, size_t len)
{
	if (!ramfs_is_dir(dir))
		return -ENOTDIR;
	struct ramfs_dirent *d = find_dirent(dir, name, len);
	if (!d)
		return -ENOENT;
	struct ramfs_inode *i = d->inode;
	if (ramfs_is_dir(i) && i->dir.entries)
		return -ENOTEMPTY;

	struct ramfs_dirent **pp = &buckets[d->hash & (nbuckets - 1)];
	while (*pp != d)
		pp = &(*pp)->hnext;
	*pp = d->hnext;
	if (d->prev)
		d->prev->next = d->next;
	else
		dir->dir.first = d->next;
	if (d->next)
		d->next->prev = d->prev;
	else
		dir->dir.last = d->prev;
	dir->dir.entries--;
	nentries--;
	fs_free(d);

	if (ramfs_is_dir(i)) {
		dir->nlink--;
		free_inode(i);
	} else if (--i->nlink == 0) {
		free_inode(i);
	}
	return 0;
}

/*
 * Path walk. Symlinks are resolved by a recursive walk of the target from the
 * directory holding the link; every link followed counts against one budget
 * per lookup, which also bounds the recursion depth.
 */
static int walk(struct ramfs_inode *cur, const char *path, bool follow, int *links,
		struct ramfs_inode **out)
{
	if (!*path)
		return -ENOENT;
	if (*path == '/') {
		cur = root;
		while (*path == '/')
			path++;
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
		bool last = !*rest;

		if (!ramfs_is_dir(cur))
			return -ENOTDIR;
		if (len > RAMFS_NAME_MAX)
			return -ENAMETOOLONG;
		struct ramfs_inode *next;
		if (len == 1 && name[0] == '.') {
			next = cur;
		} else if (len == 2 && name[0] == '.' && name[1] == '.') {
			next = cur->dir.parent;
		} else {
			next = ramfs_dir_find(cur, name, len);
			if (!next)
				return -ENOENT;
		}
		if (ramfs_is_symlink(next) && (!last || follow || slash)) {
			if (++*links > RAMFS_SYMLOOP_MAX)
				return -ELOOP;
			struct ramfs_inode *res;
			int r = walk(cur, next->target, true, links, &res);
			if (r < 0)
				return r;
			next = res;
		}
		if (last && slash && !ramfs_is_dir(next))
			return -ENOTDIR;
		cur = next;
		path = rest;
	}
	*out = cur;
	return 0;
}

int ramfs_lookup_at(struct ramfs_inode *at, const char *path, bool follow,
		    struct ramfs_inode **out)
{
	if (!root)
		return -ENOENT;
	if (strnlen(path, RAMFS_PATH_MAX) >= RAMFS_PATH_MAX)
		return -ENAMETOOLONG;
	int links = 0;
	return walk(at ? at : root, path, follow, &links, out);
}

int ramfs_lookup(const char *path, bool follow, struct ramfs_inode **out)
{
	return ramfs_lookup_at(NULL, path, follow, out);
}

void ramfs_stat(const struct ramfs_inode *i, struct ramfs_stat *st)
{
	st->ino = i->ino;
	st->mode = i->mode;
	st->nlink = i->nlink;
	st->uid = i->uid;
	st->gid = i->gid;
	st->size = i->size;
	st->mtime = i->mtime;
	st->rdev_major = i->rdev_major;
	st->rdev_minor = i->rdev_minor;
}

void ramfs_readdir_begin(struct ramfs_readdir *rd, struct ramfs_inode *dir)
{
	rd->dir = dir;
	rd->next = ramfs_is_dir(dir) ? dir->dir.first : NULL;
	rd->pos = ramfs_is_dir(dir) ? 0 : 2;
}

bool ramfs_readdir_next(struct ramfs_readdir *rd, const char **name,
			struct ramfs_inode **inode)
{
	if (rd->pos == 0) {
		rd->pos++;
		*name = ".";
		*inode = rd->dir;
		return true;
	}
	if (rd->pos == 1) {
		rd->pos++;
		*name = "..";
		*inode = rd->dir->dir.parent;
		return true;
	}
	if (!rd->next)
		return false;
	*name = rd->next->name;
	*inode = rd->next->inode;
	rd->next = rd->next->next;
	rd->pos++;
	return true;
}

void ramfs_counts(struct ramfs_counts *c)
{
	*c = counts;
}
