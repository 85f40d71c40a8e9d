/*
 * ext2 directories and names: linear directories of variable-length
 * entries. A hashed (indexed, dir_index) directory reads as a linear one:
 * its index blocks look like blocks holding one empty entry. Changing one
 * drops the index flag, which leaves a valid linear directory (e2fsck -D
 * can index it again).
 */
#include "fs/ext2/ext2_int.h"

#define NO_PREV 0xffffffffu

struct dirloc {
	uint32_t pblk;
	uint32_t off;       /* of the entry in the block */
	uint32_t prev;      /* of the entry before it, or NO_PREV */
	uint32_t ino;
};

static uint32_t rec_len(struct ext2_fs *fs, const struct ext2_dirent *de)
{
	uint32_t len = de->rec_len;
	if (fs->bsize < 65536)
		return len;
	if (len == 65535 || len == 0)
		return 65536;
	return (len & 65532) | ((len & 3) << 16);
}

static void set_rec_len(struct ext2_fs *fs, struct ext2_dirent *de, uint32_t len)
{
	de->rec_len = (uint16_t)(len < 65536 ? len : fs->bsize == 65536 ? 65535 : 0);
}

static uint8_t ftype_of(uint32_t mode)
{
	switch (mode & E2_S_IFMT) {
	case E2_S_IFREG:  return EXT2_FT_REG_FILE;
	case E2_S_IFDIR:  return EXT2_FT_DIR;
	case E2_S_IFCHR:  return EXT2_FT_CHRDEV;
	case E2_S_IFBLK:  return EXT2_FT_BLKDEV;
	case E2_S_IFIFO:  return EXT2_FT_FIFO;
	case E2_S_IFSOCK: return EXT2_FT_SOCK;
	case E2_S_IFLNK:  return EXT2_FT_SYMLINK;
	}
	return EXT2_FT_UNKNOWN;
}

static unsigned dtype_of(uint8_t ft)
{
	static const unsigned dt[] = { 0, 8, 4, 2, 6, 1, 12, 10 };   /* DT_* values */
	return ft < 8 ? dt[ft] : 0;
}

/* The entry at off of a directory block, checked. */
static struct ext2_dirent *entry_at(struct ext2_fs *fs, struct ext2_node *dir, uint8_t *data,
				    uint32_t off, uint64_t lblk, int *err)
{
	struct ext2_dirent *de = (struct ext2_dirent *)(data + off);
	uint32_t rl = off + EXT2_DIRENT_HDR <= fs->bsize ? rec_len(fs, de) : 0;
	if (rl < 8 || (rl & 3) || off + rl > fs->bsize ||
	    (uint32_t)de->name_len + EXT2_DIRENT_HDR > rl) {
		*err = e2_corrupt(fs, "directory %u, block %lu: bad entry at offset %u",
				  dir->ino, (unsigned long)lblk, off);
		return NULL;
	}
	return de;
}

static int dir_block(struct ext2_fs *fs, struct ext2_node *dir, uint64_t lblk, uint32_t *pblk)
{
	int r = e2_bmap(fs, dir, lblk, false, pblk, NULL);
	if (r == 0 && !*pblk)
		r = e2_corrupt(fs, "directory %u has a hole at block %lu", dir->ino,
			       (unsigned long)lblk);
	return r;
}

static uint64_t dir_blocks(struct ext2_fs *fs, struct ext2_node *dir)
{
	return dir->d.i_size / fs->bsize;
}

/* One entry of a directory walk: the block holding it (b, its number
 * pblk), its offset and the previous entry's (NO_PREV for the first of a
 * block). The visitor returns 0 to go on, 1 to stop the walk there (it may
 * have dirtied b; dir_walk puts it), or -errno. */
struct dir_visit {
	struct e2buf *b;
	uint32_t pblk, off, prev;
	struct ext2_dirent *de;
};
typedef int (*dir_visit_fn)(struct ext2_fs *fs, const struct dir_visit *v, void *ctx);

/* Visits every entry (used or not) of every block of dir in order:
 * 1 when the visitor stopped the walk, 0 at the end, or -errno. */
static int dir_walk(struct ext2_fs *fs, struct ext2_node *dir, dir_visit_fn visit, void *ctx)
{
	uint64_t nblk = dir_blocks(fs, dir);
	for (uint64_t lblk = 0; lblk < nblk; lblk++) {
		struct dir_visit v;
		int r = dir_block(fs, dir, lblk, &v.pblk);
		if (r < 0)
			return r;
		struct e2buf b;
		if ((r = e2_bget(fs, v.pblk, true, &b)) < 0)
			return r;
		v.b = &b;
		v.prev = NO_PREV;
		for (v.off = 0; v.off < fs->bsize;) {
			v.de = entry_at(fs, dir, b.data, v.off, lblk, &r);
			if (!v.de || (r = visit(fs, &v, ctx)) != 0) {
				e2_bput(fs, &b);
				return r;
			}
			v.prev = v.off;
			v.off += rec_len(fs, v.de);
		}
		e2_bput(fs, &b);
	}
	return 0;
}

struct find_ctx {
	const char *name;
	size_t len;
	struct dirloc *loc;
};

static int find_visit(struct ext2_fs *fs, const struct dir_visit *v, void *ctx)
{
	(void)fs;
	struct find_ctx *c = ctx;
	struct ext2_dirent *de = v->de;
	if (!de->inode || de->name_len != c->len || memcmp(de->name, c->name, c->len))
		return 0;
	c->loc->pblk = v->pblk;
	c->loc->off = v->off;
	c->loc->prev = v->prev;
	c->loc->ino = de->inode;
	return 1;
}

static int find_entry(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		      struct dirloc *loc)
{
	struct find_ctx c = { name, len, loc };
	int r = dir_walk(fs, dir, find_visit, &c);
	return r == 0 ? -ENOENT : r < 0 ? r : 0;
}

static void dir_changed(struct ext2_fs *fs, struct ext2_node *dir)
{
	if (dir->d.i_flags & EXT2_INDEX_FL) {
		dir->d.i_flags &= ~(uint32_t)EXT2_INDEX_FL;
		dir->dirty = true;
	}
	e2_touch(fs, dir, true, true);
}

static void fill_entry(struct ext2_fs *fs, struct ext2_dirent *de, const char *name, size_t len,
		       uint32_t ino, uint8_t ftype)
{
	de->inode = ino;
	de->name_len = (uint8_t)len;
	de->file_type = fs->filetype ? ftype : 0;
	memcpy(de->name, name, len);
}

struct add_ctx {
	const char *name;
	size_t len;
	uint32_t ino, need;
	uint8_t ftype;
};

/* First fit: an entry with room for the new one after its own name (or
 * an unused one) is split, and the new entry takes the rest. */
static int add_visit(struct ext2_fs *fs, const struct dir_visit *v, void *ctx)
{
	struct add_ctx *c = ctx;
	struct ext2_dirent *de = v->de;
	uint32_t rl = rec_len(fs, de);
	uint32_t used = de->inode ? EXT2_DIR_REC_LEN(de->name_len) : 0;
	if (rl - used < c->need)
		return 0;
	if (used) {
		set_rec_len(fs, de, used);
		de = (struct ext2_dirent *)(v->b->data + v->off + used);
		set_rec_len(fs, de, rl - used);
	}
	fill_entry(fs, de, c->name, c->len, c->ino, c->ftype);
	e2_bdirty(fs, v->b);
	return 1;
}

static int add_entry(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		     uint32_t ino, uint8_t ftype)
{
	struct add_ctx c = { name, len, ino, EXT2_DIR_REC_LEN(len), ftype };
	int r = dir_walk(fs, dir, add_visit, &c);
	if (r < 0)
		return r;
	if (r == 1) {
		dir_changed(fs, dir);
		return 0;
	}
	uint64_t nblk = dir_blocks(fs, dir);
	/* No room: one more block. */
	uint32_t pblk;
	bool fresh;
	if ((r = e2_bmap(fs, dir, nblk, true, &pblk, &fresh)) < 0)
		return r;
	struct e2buf b;
	if ((r = e2_bget(fs, pblk, false, &b)) < 0)
		return r;
	memset(b.data, 0, fs->bsize);
	struct ext2_dirent *de = (struct ext2_dirent *)b.data;
	set_rec_len(fs, de, fs->bsize);
	fill_entry(fs, de, name, len, ino, ftype);
	e2_bdirty(fs, &b);
	e2_bput(fs, &b);
	dir->d.i_size += fs->bsize;
	dir->dirty = true;
	dir_changed(fs, dir);
	return 0;
}

static int remove_entry(struct ext2_fs *fs, struct ext2_node *dir, const struct dirloc *loc)
{
	struct e2buf b;
	int r = e2_bget(fs, loc->pblk, true, &b);
	if (r < 0)
		return r;
	struct ext2_dirent *de = (struct ext2_dirent *)(b.data + loc->off);
	if (loc->prev == NO_PREV) {
		de->inode = 0;
	} else {
		struct ext2_dirent *p = (struct ext2_dirent *)(b.data + loc->prev);
		set_rec_len(fs, p, rec_len(fs, p) + rec_len(fs, de));
	}
	e2_bdirty(fs, &b);
	e2_bput(fs, &b);
	dir_changed(fs, dir);
	return 0;
}

static int set_entry(struct ext2_fs *fs, struct ext2_node *dir, const struct dirloc *loc,
		     uint32_t ino, uint8_t ftype)
{
	struct e2buf b;
	int r = e2_bget(fs, loc->pblk, true, &b);
	if (r < 0)
		return r;
	struct ext2_dirent *de = (struct ext2_dirent *)(b.data + loc->off);
	de->inode = ino;
	if (fs->filetype)
		de->file_type = ftype;
	e2_bdirty(fs, &b);
	e2_bput(fs, &b);
	dir_changed(fs, dir);
	return 0;
}

static int set_dotdot(struct ext2_fs *fs, struct ext2_node *dir, uint32_t parent)
{
	struct dirloc loc;
	int r = find_entry(fs, dir, "..", 2, &loc);
	if (r == -ENOENT)
		return e2_corrupt(fs, "directory %u has no '..'", dir->ino);
	return r < 0 ? r : set_entry(fs, dir, &loc, parent, EXT2_FT_DIR);
}

static int nonempty_visit(struct ext2_fs *fs, const struct dir_visit *v, void *ctx)
{
	(void)fs;
	(void)ctx;
	const struct ext2_dirent *de = v->de;
	bool dot = (de->name_len == 1 && de->name[0] == '.') ||
		   (de->name_len == 2 && de->name[0] == '.' && de->name[1] == '.');
	return de->inode && !dot;
}

/* 1 empty, 0 not, or -errno. */
static int dir_empty(struct ext2_fs *fs, struct ext2_node *dir)
{
	int r = dir_walk(fs, dir, nonempty_visit, NULL);
	return r < 0 ? r : !r;
}

/* --- the interface ----------------------------------------------------------------- */

int ext2_lookup(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		uint32_t *ino)
{
	if (!E2_ISDIR(dir->d.i_mode))
		return -ENOTDIR;
	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	struct dirloc loc;
	int r = find_entry(fs, dir, name, len, &loc);
	if (r == 0)
		*ino = loc.ino;
	return r;
}

int ext2_readdir(struct ext2_fs *fs, struct ext2_node *dir, uint64_t *cookie,
		 ext2_filldir_fn fill, void *ctx)
{
	if (!E2_ISDIR(dir->d.i_mode))
		return -ENOTDIR;
	uint64_t size = dir_blocks(fs, dir) * fs->bsize;
	while (*cookie < size) {
		uint64_t lblk = *cookie / fs->bsize;
		uint32_t from = (uint32_t)(*cookie % fs->bsize);
		uint32_t pblk;
		int r = dir_block(fs, dir, lblk, &pblk);
		if (r < 0)
			return r;
		struct e2buf b;
		if ((r = e2_bget(fs, pblk, true, &b)) < 0)
			return r;
		/* Walk from the block's start: a cookie from before a change
		 * may point inside what is now a longer entry. */
		for (uint32_t off = 0; off < fs->bsize;) {
			struct ext2_dirent *de = entry_at(fs, dir, b.data, off, lblk, &r);
			if (!de) {
				e2_bput(fs, &b);
				return r;
			}
			uint32_t rl = rec_len(fs, de);
			uint64_t next = lblk * fs->bsize + off + rl;
			if (off >= from && de->inode) {
				unsigned dt = fs->filetype ? dtype_of(de->file_type) : 0;
				if (fill(ctx, de->name, de->name_len, de->inode, dt, next)) {
					e2_bput(fs, &b);
					return 0;
				}
			}
			if (off >= from)
				*cookie = next;
			off += rl;
		}
		e2_bput(fs, &b);
		*cookie = (lblk + 1) * fs->bsize;
	}
	return 0;
}

static int check_new_name(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len)
{
	if (fs->rdonly)
		return -EROFS;
	if (!E2_ISDIR(dir->d.i_mode))
		return -ENOTDIR;
	if (len == 0)
		return -ENOENT;
	if (len > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	if (dir->d.i_links_count == 0)
		return -ENOENT;     /* removed while in use */
	struct dirloc loc;
	int r = find_entry(fs, dir, name, len, &loc);
	return r == 0 ? -EEXIST : r == -ENOENT ? 0 : r;
}

/* Drops a node that never got a name. */
static void discard(struct ext2_fs *fs, struct ext2_node *n)
{
	n->d.i_links_count = 0;
	ext2_iput(fs, n);
}

int ext2_create(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		uint32_t mode, uint32_t rdev_major, uint32_t rdev_minor, uint32_t uid,
		uint32_t gid, struct ext2_node **out)
{
	int r = check_new_name(fs, dir, name, len);
	if (r < 0)
		return r;
	bool isdir = E2_ISDIR(mode);
	if (isdir && dir->d.i_links_count >= EXT2_LINK_MAX)
		return -EMLINK;
	uint32_t ino;
	if ((r = e2_alloc_inode(fs, dir->ino, isdir, &ino)) < 0)
		return r;
	struct ext2_node *n;
	if ((r = e2_new_node(fs, ino, mode, uid, gid, &n)) < 0) {
		/* The bit stays set: e2fsck would reclaim it; this is ENOMEM. */
		return r;
	}
	if (isdir) {
		uint32_t pblk;
		if ((r = e2_bmap(fs, n, 0, true, &pblk, NULL)) < 0) {
			discard(fs, n);
			return r;
		}
		struct e2buf b;
		if ((r = e2_bget(fs, pblk, false, &b)) < 0) {
			discard(fs, n);
			return r;
		}
		memset(b.data, 0, fs->bsize);
		struct ext2_dirent *de = (struct ext2_dirent *)b.data;
		set_rec_len(fs, de, 12);
		fill_entry(fs, de, ".", 1, ino, EXT2_FT_DIR);
		de = (struct ext2_dirent *)(b.data + 12);
		set_rec_len(fs, de, fs->bsize - 12);
		fill_entry(fs, de, "..", 2, dir->ino, EXT2_FT_DIR);
		e2_bdirty(fs, &b);
		e2_bput(fs, &b);
		n->d.i_size = fs->bsize;
		n->d.i_links_count = 2;
	} else {
		n->d.i_links_count = 1;
		uint32_t t = mode & E2_S_IFMT;
		if (t == E2_S_IFCHR || t == E2_S_IFBLK) {
			if (rdev_major < 256 && rdev_minor < 256)
				n->d.i_block[0] = rdev_major << 8 | rdev_minor;
			else
				n->d.i_block[1] = (rdev_minor & 0xff) | (rdev_major << 8) |
						  ((rdev_minor & ~0xffu) << 12);
		}
	}
	n->dirty = true;
	if ((r = add_entry(fs, dir, name, len, ino, ftype_of(mode))) < 0) {
		discard(fs, n);
		return r;
	}
	if (isdir) {
		dir->d.i_links_count++;
		dir->dirty = true;
	}
	*out = n;
	return 0;
}

int ext2_symlink(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		 const char *target, size_t tlen, uint32_t uid, uint32_t gid,
		 struct ext2_node **out)
{
	int r = check_new_name(fs, dir, name, len);
	if (r < 0)
		return r;
	if (tlen == 0)
		return -ENOENT;
	if (tlen >= fs->bsize)
		return -ENAMETOOLONG;
	uint32_t ino;
	if ((r = e2_alloc_inode(fs, dir->ino, false, &ino)) < 0)
		return r;
	struct ext2_node *n;
	if ((r = e2_new_node(fs, ino, E2_S_IFLNK | 0777, uid, gid, &n)) < 0)
		return r;
	n->d.i_links_count = 1;
	if (tlen < sizeof(n->d.i_block)) {
		/* Fast: the target lives in the block map's place. */
		memcpy(n->d.i_block, target, tlen);
	} else {
		uint32_t pblk;
		struct e2buf b;
		if ((r = e2_bmap(fs, n, 0, true, &pblk, NULL)) < 0 ||
		    (r = e2_bget(fs, pblk, false, &b)) < 0) {
			discard(fs, n);
			return r;
		}
		memset(b.data, 0, fs->bsize);
		memcpy(b.data, target, tlen);
		e2_bdirty(fs, &b);
		e2_bput(fs, &b);
	}
	n->d.i_size = (uint32_t)tlen;
	n->dirty = true;
	if ((r = add_entry(fs, dir, name, len, ino, EXT2_FT_SYMLINK)) < 0) {
		discard(fs, n);
		return r;
	}
	*out = n;
	return 0;
}

ssize_t ext2_readlink(struct ext2_fs *fs, struct ext2_node *n, char *buf, size_t len)
{
	if (!E2_ISLNK(n->d.i_mode))
		return -EINVAL;
	uint64_t size = n->d.i_size;
	if (e2_fast_symlink(fs, n)) {
		if (size >= sizeof(n->d.i_block))
			return e2_corrupt(fs, "fast symlink %u of length %lu", n->ino,
					  (unsigned long)size);
		size_t k = (size_t)E2_MIN(size, (uint64_t)len);
		memcpy(buf, n->d.i_block, k);
		return (ssize_t)k;
	}
	if (size >= fs->bsize)
		return e2_corrupt(fs, "symlink %u of length %lu", n->ino, (unsigned long)size);
	uint32_t pblk;
	int r = e2_bmap(fs, n, 0, false, &pblk, NULL);
	if (r < 0)
		return r;
	if (!pblk)
		return e2_corrupt(fs, "symlink %u has no block", n->ino);
	struct e2buf b;
	if ((r = e2_bget(fs, pblk, true, &b)) < 0)
		return r;
	size_t k = (size_t)E2_MIN(size, (uint64_t)len);
	memcpy(buf, b.data, k);
	e2_bput(fs, &b);
	return (ssize_t)k;
}

int ext2_link(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
	      struct ext2_node *target)
{
	if (E2_ISDIR(target->d.i_mode))
		return -EPERM;
	int r = check_new_name(fs, dir, name, len);
	if (r < 0)
		return r;
	if (target->d.i_links_count >= EXT2_LINK_MAX)
		return -EMLINK;
	if (target->d.i_links_count == 0)
		return -ENOENT;
	if ((r = add_entry(fs, dir, name, len, target->ino, ftype_of(target->d.i_mode))) < 0)
		return r;
	target->d.i_links_count++;
	e2_touch(fs, target, false, true);
	return 0;
}

int ext2_unlink(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		bool want_dir)
{
	if (fs->rdonly)
		return -EROFS;
	if (!E2_ISDIR(dir->d.i_mode))
		return -ENOTDIR;
	struct dirloc loc;
	int r = find_entry(fs, dir, name, len, &loc);
	if (r < 0)
		return r;
	struct ext2_node *n;
	if ((r = ext2_iget(fs, loc.ino, &n)) < 0)
		return r;
	bool isdir = E2_ISDIR(n->d.i_mode);
	if (want_dir && !isdir)
		r = -ENOTDIR;
	else if (!want_dir && isdir)
		r = -EISDIR;
	else if (isdir && (r = dir_empty(fs, n)) >= 0)
		r = r ? 0 : -ENOTEMPTY;
	if (r == 0)
		r = remove_entry(fs, dir, &loc);
	if (r == 0) {
		if (isdir) {
			n->d.i_links_count = 0;
			if (dir->d.i_links_count > 1)
				dir->d.i_links_count--;
		} else if (n->d.i_links_count) {
			n->d.i_links_count--;
		}
		e2_touch(fs, n, false, true);
		dir->dirty = true;
	}
	ext2_iput(fs, n);
	return r;
}

int ext2_rename(struct ext2_fs *fs, struct ext2_node *odir, const char *oname, size_t olen,
		struct ext2_node *ndir, const char *nname, size_t nlen, unsigned flags)
{
	if (fs->rdonly)
		return -EROFS;
	if (!E2_ISDIR(odir->d.i_mode) || !E2_ISDIR(ndir->d.i_mode))
		return -ENOTDIR;
	if (nlen > EXT2_NAME_LEN)
		return -ENAMETOOLONG;
	struct dirloc sloc, dloc;
	int r = find_entry(fs, odir, oname, olen, &sloc);
	if (r < 0)
		return r;
	r = find_entry(fs, ndir, nname, nlen, &dloc);
	if (r < 0 && r != -ENOENT)
		return r;
	bool exists = r == 0;
	if (exists && dloc.ino == sloc.ino)
		return 0;           /* two names of one file: nothing to do */
	if (exists && (flags & EXT2_RENAME_NOREPLACE))
		return -EEXIST;
	if (!exists && (flags & EXT2_RENAME_EXCHANGE))
		return -ENOENT;
	struct ext2_node *src, *dst = NULL;
	if ((r = ext2_iget(fs, sloc.ino, &src)) < 0)
		return r;
	if (exists && (r = ext2_iget(fs, dloc.ino, &dst)) < 0) {
		ext2_iput(fs, src);
		return r;
	}
	bool sdir = E2_ISDIR(src->d.i_mode), ddir = dst && E2_ISDIR(dst->d.i_mode);
	bool moved = odir != ndir;

	if (flags & EXT2_RENAME_EXCHANGE) {
		if (moved && ((sdir && !ddir && ndir->d.i_links_count >= EXT2_LINK_MAX) ||
			      (ddir && !sdir && odir->d.i_links_count >= EXT2_LINK_MAX))) {
			r = -EMLINK;
			goto out;
		}
		if ((r = set_entry(fs, odir, &sloc, dst->ino, ftype_of(dst->d.i_mode))) < 0 ||
		    (r = set_entry(fs, ndir, &dloc, src->ino, ftype_of(src->d.i_mode))) < 0)
			goto out;
		if (moved) {
			if (sdir && (r = set_dotdot(fs, src, ndir->ino)) < 0)
				goto out;
			if (ddir && (r = set_dotdot(fs, dst, odir->ino)) < 0)
				goto out;
			if (sdir && !ddir) {
				odir->d.i_links_count--;
				ndir->d.i_links_count++;
			} else if (ddir && !sdir) {
				ndir->d.i_links_count--;
				odir->d.i_links_count++;
			}
		}
		e2_touch(fs, src, false, true);
		e2_touch(fs, dst, false, true);
		goto out;
	}

	if (exists) {
		if (sdir && !ddir) {
			r = -ENOTDIR;
			goto out;
		}
		if (!sdir && ddir) {
			r = -EISDIR;
			goto out;
		}
		if (ddir && (r = dir_empty(fs, dst)) <= 0) {
			r = r < 0 ? r : -ENOTEMPTY;
			goto out;
		}
		if ((r = set_entry(fs, ndir, &dloc, src->ino, ftype_of(src->d.i_mode))) < 0)
			goto out;
		if (ddir) {
			dst->d.i_links_count = 0;
			ndir->d.i_links_count--;
		} else {
			dst->d.i_links_count--;
		}
		e2_touch(fs, dst, false, true);
	} else {
		if (sdir && moved && ndir->d.i_links_count >= EXT2_LINK_MAX) {
			r = -EMLINK;
			goto out;
		}
		if ((r = add_entry(fs, ndir, nname, nlen, src->ino, ftype_of(src->d.i_mode))) < 0)
			goto out;
	}
	/* The old name again: adding may have split the entry before it. */
	if ((r = find_entry(fs, odir, oname, olen, &sloc)) < 0 || sloc.ino != src->ino) {
		r = e2_corrupt(fs, "rename: '%.*s' changed in directory %u", (int)olen, oname,
			       odir->ino);
		goto out;
	}
	if ((r = remove_entry(fs, odir, &sloc)) < 0)
		goto out;
	if (sdir && moved) {
		if ((r = set_dotdot(fs, src, ndir->ino)) < 0)
			goto out;
		odir->d.i_links_count--;
		ndir->d.i_links_count++;
	}
	e2_touch(fs, src, false, true);
out:
	odir->dirty = ndir->dirty = true;
	if (dst)
		ext2_iput(fs, dst);
	ext2_iput(fs, src);
	return r;
}
