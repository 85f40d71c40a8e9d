/*
 * ramfs: the tree. Each directory keeps its entries in a doubly linked list
 * (creation order, for readdir); lookup of a name goes through one hash table
 * for the whole file system, keyed by (directory, name), so unpacking a
 * directory of thousands of files stays linear.
 */
#include "fs/ramfs.h"

#ifdef HOST_TEST
#include <string.h>
#ifndef MIN
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define ALIGN_UP(x, a) (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#endif
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
	fs_now(&i->mtime);
	if (a) {
		i->mode |= a->mode & 07777;
		i->uid = a->uid;
		i->gid = a->gid;
		if (a->mtime)
			i->mtime = (struct fs_time){ a->mtime, 0 };
		i->rdev_major = a->rdev_major;
		i->rdev_minor = a->rdev_minor;
	}
	i->atime = i->ctime = i->btime = i->mtime;
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

static void free_pages(struct ramfs_inode *i, uint64_t from)
{
	for (uint64_t p = from; p < i->npages; p++) {
		if (i->pages[p]) {
			fs_free_page(i->pages[p]);
			i->pages[p] = NULL;
			i->blocks -= RAMFS_PAGE_SIZE / 512;
		}
	}
}

static void free_inode(struct ramfs_inode *i)
{
	count_type(i, -1);
	counts.inodes--;
	if (ramfs_is_symlink(i))
		fs_free(i->target);
	if (ramfs_is_reg(i) && i->pages) {
		free_pages(i, 0);
		fs_free(i->pages);
	}
	fs_free(i);
}

/* The last name went: free now unless something still holds it. */
static void drop_inode(struct ramfs_inode *i)
{
	if (i->refs == 0)
		free_inode(i);
}

void ramfs_free(struct ramfs_inode *i)
{
	if (i->nlink == 0 && i->refs == 0)
		free_inode(i);
}


struct ramfs_inode *ramfs_new_root(uint32_t mode)
{
	if (!nbuckets && grow_table() < 0)
		return NULL;
	struct ramfs_attr a = { .mode = mode };
	struct ramfs_inode *r = new_inode(RAMFS_S_IFDIR, &a);
	if (!r)
		return NULL;
	r->nlink = 2;
	r->dir.parent = r;
	r->dir.next_seq = 2;
	count_type(r, 1);
	return r;
}

int ramfs_init(void)
{
	if (root)
		return 0;
	if (grow_table() < 0)
		return -ENOMEM;
	root = ramfs_new_root(0755);
	return root ? 0 : -ENOMEM;
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
	if (dir->nlink == 0)
		return -ENOENT;     /* a removed directory takes no new names */
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
	d->seq = dir->dir.next_seq++;
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
	if (ramfs_is_dir(inode))
		inode->dir.self = d;
	return 0;
}

/* Takes d out of its directory and the hash table and frees it. */
static void remove_dirent(struct ramfs_dirent *d)
{
	struct ramfs_inode *dir = d->dir;
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
	if (ramfs_is_dir(d->inode) && d->inode->dir.self == d)
		d->inode->dir.self = NULL;
	fs_free(d);
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
	i->dir.next_seq = 2;
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
	if (i->pages) {
		free_pages(i, 0);
		fs_free(i->pages);
		i->pages = NULL;
		i->npages = 0;
	}
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
		if (a->mtime)
			i->mtime = i->atime = i->ctime = (struct fs_time){ a->mtime, 0 };
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
	remove_dirent(d);
	if (ramfs_is_dir(i)) {
		dir->nlink--;
		i->nlink = 0;
		drop_inode(i);
	} else {
		if (--i->nlink == 0)
			drop_inode(i);
	}
	return 0;
}

/* Whether dir is anc or below it. */
static bool is_below(struct ramfs_inode *dir, struct ramfs_inode *anc)
{
	for (;;) {
		if (dir == anc)
			return true;
		if (dir->dir.parent == dir)
			return false;
		dir = dir->dir.parent;
	}
}

int ramfs_rename(struct ramfs_inode *odir, const char *oname, size_t olen,
		 struct ramfs_inode *ndir, const char *nname, size_t nlen, unsigned flags)
{
	if (!ramfs_is_dir(odir) || !ramfs_is_dir(ndir))
		return -ENOTDIR;
	struct ramfs_dirent *od = find_dirent(odir, oname, olen);
	if (!od)
		return -ENOENT;
	struct ramfs_inode *src = od->inode;
	struct ramfs_dirent *nd = find_dirent(ndir, nname, nlen);
	if (nlen > RAMFS_NAME_MAX)
		return -ENAMETOOLONG;
	if ((flags & 2) && !nd)                    /* RENAME_EXCHANGE */
		return -ENOENT;
	if ((flags & 1) && nd)                     /* RENAME_NOREPLACE */
		return -EEXIST;
	if (ramfs_is_dir(src) && is_below(ndir, src))
		return -EINVAL;
	if (flags & 2) {
		struct ramfs_inode *dst = nd->inode;
		if (ramfs_is_dir(dst) && is_below(odir, dst))
			return -EINVAL;
		/* Swap what the two names point at. */
		od->inode = dst;
		nd->inode = src;
		if (ramfs_is_dir(src)) {
			src->dir.parent = ndir;
			src->dir.self = nd;
			odir->nlink--;
			ndir->nlink++;
		}
		if (ramfs_is_dir(dst)) {
			dst->dir.parent = odir;
			dst->dir.self = od;
			ndir->nlink--;
			odir->nlink++;
		}
		return 0;
	}
	if (nd) {
		struct ramfs_inode *dst = nd->inode;
		if (dst == src)
			return 0;           /* two names of one file: nothing to do */
		if (ramfs_is_dir(src) && !ramfs_is_dir(dst))
			return -ENOTDIR;
		if (!ramfs_is_dir(src) && ramfs_is_dir(dst))
			return -EISDIR;
		if (ramfs_is_dir(dst) && dst->dir.entries)
			return -ENOTEMPTY;
	} else {
		int r = check_new_name(ndir, nname, nlen);
		if (r < 0)
			return r;
	}
	/* Make room first so that failing leaves everything as it was. */
	if (nentries >= nbuckets && grow_table() < 0)
		return -ENOMEM;
	if (nd) {
		struct ramfs_inode *dst = nd->inode;
		/* Replace in place: the name keeps its readdir position. */
		nd->inode = src;
		if (ramfs_is_dir(dst)) {
			ndir->nlink--;
			dst->nlink = 0;
			dst->dir.self = NULL;
		} else {
			dst->nlink--;
		}
		if (dst->nlink == 0)
			drop_inode(dst);
		if (ramfs_is_dir(src))
			src->dir.self = nd;
	} else {
		int r = add_dirent(ndir, nname, nlen, src);
		if (r < 0)
			return r;
	}
	/* The old name goes (remove_dirent must not clear the new self). */
	if (ramfs_is_dir(src) && src->dir.self == od)
		src->dir.self = NULL;
	remove_dirent(od);
	if (ramfs_is_dir(src)) {
		if (!src->dir.self)
			src->dir.self = find_dirent(ndir, nname, nlen);
		src->dir.parent = ndir;
		odir->nlink--;
		ndir->nlink++;
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
	st->mtime = i->mtime.sec;
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

int ramfs_readdir_cookie(struct ramfs_inode *dir, uint64_t *cookie, filldir_fn fill, void *ctx)
{
	if (!ramfs_is_dir(dir))
		return -ENOTDIR;
	if (*cookie == 0) {
		if (fill(ctx, ".", 1, dir->ino, DT_DIR, 1))
			return 0;
		*cookie = 1;
	}
	if (*cookie == 1) {
		if (fill(ctx, "..", 2, dir->dir.parent->ino, DT_DIR, 2))
			return 0;
		*cookie = 2;
	}
	/* Entries are in increasing seq order: skip those already read. */
	for (struct ramfs_dirent *d = dir->dir.first; d; d = d->next) {
		if (d->seq < *cookie)
			continue;
		if (fill(ctx, d->name, d->namelen, d->inode->ino,
			 mode_to_dtype(d->inode->mode), d->seq + 1))
			return 0;
		*cookie = d->seq + 1;
	}
	return 0;
}

/* --- file contents ----------------------------------------------------------- */

static void size_changed(struct ramfs_inode *f, uint64_t size)
{
	count_type(f, -1);
	f->size = size;
	count_type(f, 1);
}

/* Makes pages[] hold at least n entries. */
static int grow_pages(struct ramfs_inode *f, uint64_t n)
{
	if (n <= f->npages)
		return 0;
	if (n > RAMFS_MAX_FILE / RAMFS_PAGE_SIZE)
		return -EFBIG;
	uint64_t cap = f->npages ? f->npages : 4;
	while (cap < n)
		cap *= 2;
	if (cap > RAMFS_MAX_FILE / RAMFS_PAGE_SIZE)
		cap = RAMFS_MAX_FILE / RAMFS_PAGE_SIZE;
	uint8_t **np = fs_alloc(cap * sizeof(*np));
	if (!np)
		return -ENOMEM;
	if (f->pages) {
		memcpy(np, f->pages, f->npages * sizeof(*np));
		fs_free(f->pages);
	}
	f->pages = np;
	f->npages = cap;
	return 0;
}

/* Copy on first write: the image bytes move into pages of the file's own. */
static int materialize(struct ramfs_inode *f)
{
	if (f->pages)
		return 0;
	uint64_t n = (f->size + RAMFS_PAGE_SIZE - 1) / RAMFS_PAGE_SIZE;
	int r = grow_pages(f, n ? n : 1);
	if (r < 0)
		return r;
	for (uint64_t p = 0; p < n; p++) {
		uint8_t *pg = fs_alloc_page();
		if (!pg) {
			free_pages(f, 0);
			fs_free(f->pages);
			f->pages = NULL;
			f->npages = 0;
			return -ENOMEM;
		}
		uint64_t off = p * RAMFS_PAGE_SIZE;
		memcpy(pg, (const uint8_t *)f->data + off, MIN(RAMFS_PAGE_SIZE, f->size - off));
		f->pages[p] = pg;
		f->blocks += RAMFS_PAGE_SIZE / 512;
	}
	f->data = NULL;
	return 0;
}

const uint8_t *ramfs_read_ptr(struct ramfs_inode *f, uint64_t off, size_t *avail)
{
	if (off >= f->size) {
		*avail = 0;
		return NULL;
	}
	uint64_t in_page = RAMFS_PAGE_SIZE - off % RAMFS_PAGE_SIZE;
	*avail = MIN(in_page, f->size - off);
	if (!f->pages)
		return f->data ? (const uint8_t *)f->data + off : NULL;
	uint64_t p = off / RAMFS_PAGE_SIZE;
	if (p >= f->npages || !f->pages[p])
		return NULL;
	return f->pages[p] + off % RAMFS_PAGE_SIZE;
}

uint8_t *ramfs_write_ptr(struct ramfs_inode *f, uint64_t off, size_t *avail)
{
	*avail = 0;
	if (off >= RAMFS_MAX_FILE || materialize(f) < 0)
		return NULL;
	uint64_t p = off / RAMFS_PAGE_SIZE;
	if (grow_pages(f, p + 1) < 0)
		return NULL;
	if (!f->pages[p]) {
		f->pages[p] = fs_alloc_page();
		if (!f->pages[p])
			return NULL;
		f->blocks += RAMFS_PAGE_SIZE / 512;
	}
	*avail = RAMFS_PAGE_SIZE - off % RAMFS_PAGE_SIZE;
	return f->pages[p] + off % RAMFS_PAGE_SIZE;
}

void ramfs_set_size(struct ramfs_inode *f, uint64_t size)
{
	size_changed(f, size);
}

bool ramfs_page_present(const struct ramfs_inode *f, uint64_t idx)
{
	if (idx * RAMFS_PAGE_SIZE >= f->size)
		return false;
	if (!f->pages)
		return f->data != NULL;
	return idx < f->npages && f->pages[idx];
}

/* Zeroes [from, to) inside one page, if that page exists. */
static void zero_range(struct ramfs_inode *f, uint64_t from, uint64_t to)
{
	uint64_t p = from / RAMFS_PAGE_SIZE;
	if (from >= to || p >= f->npages || !f->pages[p])
		return;
	memset(f->pages[p] + from % RAMFS_PAGE_SIZE, 0, to - from);
}

int ramfs_truncate(struct ramfs_inode *f, uint64_t size)
{
	if (!ramfs_is_reg(f))
		return -EINVAL;
	if (size > RAMFS_MAX_FILE)
		return -EFBIG;
	if (size == f->size)
		return 0;
	if (!f->pages && (size < f->size || !f->data)) {
		/* Shrinking image bytes (or an empty file) needs no copy. */
		if (size == 0)
			f->data = NULL;
		if (size > f->size && grow_pages(f, 1) < 0)
			return -ENOMEM;
		size_changed(f, size);
		return 0;
	}
	int r = materialize(f);
	if (r < 0)
		return r;
	if (size < f->size) {
		uint64_t keep = (size + RAMFS_PAGE_SIZE - 1) / RAMFS_PAGE_SIZE;
		free_pages(f, keep);
		/* The tail of the last page must read as zero if it grows again. */
		zero_range(f, size, MIN(f->size, ALIGN_UP(size, (uint64_t)RAMFS_PAGE_SIZE)));
	}
	size_changed(f, size);
	return 0;
}

int ramfs_punch(struct ramfs_inode *f, uint64_t off, uint64_t len)
{
	if (!ramfs_is_reg(f))
		return -EINVAL;
	if (off >= f->size || len == 0)
		return 0;
	uint64_t end = MIN(f->size, off + len);
	int r = materialize(f);
	if (r < 0)
		return r;
	while (off < end) {
		uint64_t p = off / RAMFS_PAGE_SIZE;
		uint64_t pend = MIN(end, (p + 1) * RAMFS_PAGE_SIZE);
		if (off % RAMFS_PAGE_SIZE == 0 && pend - off == RAMFS_PAGE_SIZE) {
			if (p < f->npages && f->pages[p]) {
				fs_free_page(f->pages[p]);
				f->pages[p] = NULL;
				f->blocks -= RAMFS_PAGE_SIZE / 512;
			}
		} else {
			zero_range(f, off, pend);
		}
		off = pend;
	}
	return 0;
}

void ramfs_counts(struct ramfs_counts *c)
{
	*c = counts;
}
