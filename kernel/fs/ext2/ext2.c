/*
 * ext2: the superblock, group descriptors, block and inode allocation, and
 * the in-memory inodes ("nodes"). See ext2.h for the interface and
 * docs/ext2.md for what is supported and what survives a crash.
 */
#include "fs/ext2/ext2_int.h"
#include <stdarg.h>

/* --- messages, time, blocks ---------------------------------------------------- */

void e2_log(struct ext2_fs *fs, int level, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (fs->io.log)
		fs->io.log(fs->io.ctx, level, msg);
}

int e2_corrupt(struct ext2_fs *fs, const char *fmt, ...)
{
	char msg[200];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	e2_log(fs, 0, "ext2: corrupt file system: %s (run e2fsck)", msg);
	if (!fs->errors) {
		fs->errors = true;
		fs->sb.s_state |= EXT2_ERROR_FS;
		fs->sb_dirty = true;
	}
	return -EIO;
}

void e2_now(struct ext2_fs *fs, int64_t *sec, int64_t *nsec)
{
	*sec = 0;
	*nsec = 0;
	if (fs->io.now)
		fs->io.now(fs->io.ctx, sec, nsec);
}

int e2_bget(struct ext2_fs *fs, uint32_t blk, bool read, struct e2buf *b)
{
	if (blk >= fs->sb.s_blocks_count)
		return e2_corrupt(fs, "block %u past the end (%u blocks)", blk, fs->sb.s_blocks_count);
	int err = -EIO;
	b->data = fs->io.get(fs->io.ctx, blk, fs->bsize, read, &b->h, &err);
	if (!b->data) {
		b->h = NULL;
		return err < 0 ? err : -EIO;
	}
	return 0;
}

void e2_bdirty(struct ext2_fs *fs, struct e2buf *b)
{
	fs->io.dirty(fs->io.ctx, b->h);
}

void e2_bput(struct ext2_fs *fs, struct e2buf *b)
{
	if (b->h)
		fs->io.put(fs->io.ctx, b->h);
	b->h = NULL;
	b->data = NULL;
}

bool ext2_read_only(const struct ext2_fs *fs) { return fs->rdonly; }
uint32_t ext2_block_size(const struct ext2_fs *fs) { return fs->bsize; }
bool ext2_has_errors(const struct ext2_fs *fs) { return fs->errors; }
const char *ext2_volume_name(const struct ext2_fs *fs) { return fs->sb.s_volume_name; }

void e2_gd_dirty(struct ext2_fs *fs, uint32_t g)
{
	fs->gdt_dirty[(size_t)g * sizeof(struct ext2_group_desc) / fs->bsize] = 1;
	fs->sb_dirty = true;        /* the free counts move together */
}

bool e2_block_valid(struct ext2_fs *fs, uint32_t blk)
{
	return blk >= fs->sb.s_first_data_block + 1 + fs->gdt_blocks &&
	       blk < fs->sb.s_blocks_count;
}

/* --- bitmaps and allocation ------------------------------------------------------ */

/* The first clear bit in [from, to) of map, or -1. */
static long find_clear(const uint8_t *map, uint32_t from, uint32_t to)
{
	uint32_t i = from;
	while (i < to) {
		if ((i & 7) == 0 && i + 8 <= to && map[i >> 3] == 0xff) {
			i += 8;
			continue;
		}
		if (!(map[i >> 3] & (1u << (i & 7))))
			return i;
		i++;
	}
	return -1;
}

/* Clears one bit of a block or inode bitmap; a bit already clear means the
 * file system is corrupt (what/num name the object for the message). */
static int clear_bitmap_bit(struct ext2_fs *fs, uint32_t bitmap, uint32_t bit,
			    const char *what, uint32_t num)
{
	struct e2buf b;
	int r = e2_bget(fs, bitmap, true, &b);
	if (r < 0)
		return r;
	if (!(b.data[bit >> 3] & (1u << (bit & 7)))) {
		e2_bput(fs, &b);
		return e2_corrupt(fs, "freeing %s %u, already free", what, num);
	}
	b.data[bit >> 3] &= (uint8_t)~(1u << (bit & 7));
	e2_bdirty(fs, &b);
	e2_bput(fs, &b);
	return 0;
}

static uint32_t group_blocks(struct ext2_fs *fs, uint32_t g)
{
	uint64_t start = fs->sb.s_first_data_block + (uint64_t)g * fs->bpg;
	return (uint32_t)E2_MIN((uint64_t)fs->bpg, fs->sb.s_blocks_count - start);
}

int e2_alloc_block(struct ext2_fs *fs, uint32_t goal, uint32_t *out)
{
	if (fs->rdonly)
		return -EROFS;
	if (fs->sb.s_free_blocks_count == 0)
		return -ENOSPC;
	uint32_t fdb = fs->sb.s_first_data_block;
	if (goal < fdb || goal >= fs->sb.s_blocks_count)
		goal = fdb;
	uint32_t g0 = (goal - fdb) / fs->bpg, bit0 = (goal - fdb) % fs->bpg;
	for (uint32_t k = 0; k <= fs->ngroups; k++) {
		uint32_t g = (g0 + k) % fs->ngroups;
		struct ext2_group_desc *gd = e2_gd(fs, g);
		if (gd->bg_free_blocks_count == 0)
			continue;
		struct e2buf b;
		int r = e2_bget(fs, gd->bg_block_bitmap, true, &b);
		if (r < 0)
			return r;
		uint32_t n = group_blocks(fs, g);
		long bit = -1;
		if (k == 0 && bit0 < n)
			bit = find_clear(b.data, bit0, n);
		if (bit < 0)
			bit = find_clear(b.data, 0, n);
		if (bit < 0) {
			e2_bput(fs, &b);
			e2_corrupt(fs, "group %u: %u free blocks counted, none in the bitmap",
				   g, gd->bg_free_blocks_count);
			continue;
		}
		uint32_t blk = fdb + g * fs->bpg + (uint32_t)bit;
		if (blk == gd->bg_block_bitmap || blk == gd->bg_inode_bitmap ||
		    (blk >= gd->bg_inode_table &&
		     blk < gd->bg_inode_table + (fs->ipg * fs->inode_size + fs->bsize - 1) / fs->bsize)) {
			e2_bput(fs, &b);
			return e2_corrupt(fs, "block bitmap of group %u says metadata block %u is free",
					  g, blk);
		}
		b.data[bit >> 3] |= (uint8_t)(1u << (bit & 7));
		e2_bdirty(fs, &b);
		e2_bput(fs, &b);
		gd->bg_free_blocks_count--;
		fs->sb.s_free_blocks_count--;
		e2_gd_dirty(fs, g);
		*out = blk;
		return 0;
	}
	return -ENOSPC;
}

int e2_free_block(struct ext2_fs *fs, uint32_t blk)
{
	if (!e2_block_valid(fs, blk))
		return e2_corrupt(fs, "freeing block %u, out of range", blk);
	uint32_t g = (blk - fs->sb.s_first_data_block) / fs->bpg;
	uint32_t bit = (blk - fs->sb.s_first_data_block) % fs->bpg;
	struct ext2_group_desc *gd = e2_gd(fs, g);
	int r = clear_bitmap_bit(fs, gd->bg_block_bitmap, bit, "block", blk);
	if (r < 0)
		return r;
	gd->bg_free_blocks_count++;
	fs->sb.s_free_blocks_count++;
	e2_gd_dirty(fs, g);
	return 0;
}

int e2_alloc_inode(struct ext2_fs *fs, uint32_t parent_ino, bool dir, uint32_t *out)
{
	if (fs->rdonly)
		return -EROFS;
	if (fs->sb.s_free_inodes_count == 0)
		return -ENOSPC;
	uint32_t start = parent_ino ? (parent_ino - 1) / fs->ipg : 0;
	if (dir) {
		/* Directories spread out: the group with the most free inodes
		 * (and so, usually, room for their files nearby). */
		uint32_t best = start, most = 0;
		for (uint32_t g = 0; g < fs->ngroups; g++) {
			uint32_t f = e2_gd(fs, g)->bg_free_inodes_count;
			if (f > most) {
				most = f;
				best = g;
			}
		}
		start = best;
	}
	for (uint32_t k = 0; k < fs->ngroups; k++) {
		uint32_t g = (start + k) % fs->ngroups;
		struct ext2_group_desc *gd = e2_gd(fs, g);
		if (gd->bg_free_inodes_count == 0)
			continue;
		struct e2buf b;
		int r = e2_bget(fs, gd->bg_inode_bitmap, true, &b);
		if (r < 0)
			return r;
		uint32_t from = g == 0 ? fs->first_ino - 1 : 0;
		long bit = find_clear(b.data, from, fs->ipg);
		if (bit < 0) {
			e2_bput(fs, &b);
			e2_corrupt(fs, "group %u: %u free inodes counted, none in the bitmap",
				   g, gd->bg_free_inodes_count);
			continue;
		}
		b.data[bit >> 3] |= (uint8_t)(1u << (bit & 7));
		e2_bdirty(fs, &b);
		e2_bput(fs, &b);
		gd->bg_free_inodes_count--;
		if (dir)
			gd->bg_used_dirs_count++;
		fs->sb.s_free_inodes_count--;
		e2_gd_dirty(fs, g);
		*out = g * fs->ipg + (uint32_t)bit + 1;
		return 0;
	}
	return -ENOSPC;
}

static int free_inode_bit(struct ext2_fs *fs, uint32_t ino, bool dir)
{
	uint32_t g = (ino - 1) / fs->ipg, bit = (ino - 1) % fs->ipg;
	struct ext2_group_desc *gd = e2_gd(fs, g);
	int r = clear_bitmap_bit(fs, gd->bg_inode_bitmap, bit, "inode", ino);
	if (r < 0)
		return r;
	gd->bg_free_inodes_count++;
	if (dir && gd->bg_used_dirs_count)
		gd->bg_used_dirs_count--;
	fs->sb.s_free_inodes_count++;
	e2_gd_dirty(fs, g);
	return 0;
}

/* --- nodes ------------------------------------------------------------------------------ */

static int inode_loc(struct ext2_fs *fs, uint32_t ino, uint32_t *blk, uint32_t *off)
{
	if (ino < 1 || ino > fs->sb.s_inodes_count)
		return e2_corrupt(fs, "inode number %u out of range", ino);
	uint32_t g = (ino - 1) / fs->ipg, idx = (ino - 1) % fs->ipg;
	uint64_t byte = (uint64_t)idx * fs->inode_size;
	*blk = e2_gd(fs, g)->bg_inode_table + (uint32_t)(byte / fs->bsize);
	*off = (uint32_t)(byte % fs->bsize);
	return 0;
}

static size_t node_bytes(struct ext2_fs *fs)
{
	return E2_MIN((size_t)fs->inode_size, sizeof(struct ext2_dinode));
}

void e2_node_dirty(struct ext2_node *n)
{
	n->dirty = true;
}

int e2_write_node(struct ext2_fs *fs, struct ext2_node *n)
{
	if (!n->dirty)
		return 0;
	if (fs->rdonly) {
		n->dirty = false;
		return 0;
	}
	uint32_t blk, off;
	int r = inode_loc(fs, n->ino, &blk, &off);
	if (r < 0)
		return r;
	struct e2buf b;
	if ((r = e2_bget(fs, blk, true, &b)) < 0)
		return r;
	if (memcmp(b.data + off, &n->d, node_bytes(fs))) {
		memcpy(b.data + off, &n->d, node_bytes(fs));
		e2_bdirty(fs, &b);
	}
	e2_bput(fs, &b);
	n->dirty = false;
	return 0;
}

static struct ext2_node **hash_slot(struct ext2_fs *fs, uint32_t ino)
{
	return &fs->nodes[ino % E2_NODE_HASH];
}

static struct ext2_node *node_find(struct ext2_fs *fs, uint32_t ino)
{
	for (struct ext2_node *n = *hash_slot(fs, ino); n; n = n->hnext)
		if (n->ino == ino)
			return n;
	return NULL;
}

static void node_unhash(struct ext2_fs *fs, struct ext2_node *n)
{
	for (struct ext2_node **p = hash_slot(fs, n->ino); *p; p = &(*p)->hnext)
		if (*p == n) {
			*p = n->hnext;
			return;
		}
}

int ext2_iget(struct ext2_fs *fs, uint32_t ino, struct ext2_node **out)
{
	struct ext2_node *n = node_find(fs, ino);
	if (n) {
		n->refs++;
		*out = n;
		return 0;
	}
	uint32_t blk, off;
	int r = inode_loc(fs, ino, &blk, &off);
	if (r < 0)
		return r;
	n = ext2_zalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	struct e2buf b;
	if ((r = e2_bget(fs, blk, true, &b)) < 0) {
		ext2_free(n);
		return r;
	}
	memcpy(&n->d, b.data + off, node_bytes(fs));
	e2_bput(fs, &b);
	n->ino = ino;
	n->refs = 1;
	if (n->d.i_links_count == 0 || n->d.i_mode == 0) {
		ext2_free(n);
		return e2_corrupt(fs, "inode %u is in use by a name but free", ino);
	}
	if (n->d.i_flags & (EXT4_EXTENTS_FL | EXT4_INLINE_DATA_FL)) {
		ext2_free(n);
		return e2_corrupt(fs, "inode %u uses extents or inline data (ext4)", ino);
	}
	n->hnext = *hash_slot(fs, ino);
	*hash_slot(fs, ino) = n;
	*out = n;
	return 0;
}

void ext2_iget_again(struct ext2_node *n)
{
	n->refs++;
}

void ext2_iput(struct ext2_fs *fs, struct ext2_node *n)
{
	if (!n || --n->refs > 0)
		return;
	if (n->d.i_links_count == 0 && !fs->rdonly)
		e2_release_inode(fs, n);
	else
		e2_write_node(fs, n);
	node_unhash(fs, n);
	ext2_free(n);
}

void ext2_for_each_node(struct ext2_fs *fs, void (*fn)(struct ext2_node *n, void *arg), void *arg)
{
	for (int h = 0; h < E2_NODE_HASH; h++)
		for (struct ext2_node *n = fs->nodes[h], *next; n; n = next) {
			next = n->hnext;
			fn(n, arg);
		}
}

int e2_release_inode(struct ext2_fs *fs, struct ext2_node *n)
{
	uint32_t mode = n->d.i_mode;
	int r = 0;
	if (E2_ISREG(mode) || E2_ISDIR(mode) || (E2_ISLNK(mode) && !e2_fast_symlink(fs, n)))
		r = e2_free_blocks_from(fs, n, 0);
	if (r == 0 && n->d.i_file_acl) {
		uint32_t xb = n->d.i_file_acl;
		struct e2buf b;
		if (!e2_block_valid(fs, xb)) {
			r = e2_corrupt(fs, "inode %u: extended attribute block %u out of range",
				       n->ino, xb);
		} else if ((r = e2_bget(fs, xb, true, &b)) == 0) {
			struct ext2_xattr_header *h = (struct ext2_xattr_header *)b.data;
			bool last = h->h_magic == EXT2_XATTR_MAGIC && h->h_refcount <= 1;
			if (h->h_magic == EXT2_XATTR_MAGIC && !last) {
				h->h_refcount--;
				e2_bdirty(fs, &b);
			}
			e2_bput(fs, &b);
			if (last)
				r = e2_free_block(fs, xb);
			e2_add_blocks(fs, n, -1);
			n->d.i_file_acl = 0;
		}
	}
	if (E2_ISREG(mode) || E2_ISDIR(mode) || E2_ISLNK(mode))
		e2_set_size(n, 0);
	int64_t s, ns;
	e2_now(fs, &s, &ns);
	n->d.i_dtime = (uint32_t)s;
	e2_node_dirty(n);
	e2_write_node(fs, n);
	int r2 = free_inode_bit(fs, n->ino, E2_ISDIR(mode));
	return r ? r : r2;
}

int e2_new_node(struct ext2_fs *fs, uint32_t ino, uint32_t mode, uint32_t uid, uint32_t gid,
		struct ext2_node **out)
{
	uint32_t blk, off;
	int r = inode_loc(fs, ino, &blk, &off);
	if (r < 0)
		return r;
	struct ext2_node *n = ext2_zalloc(sizeof(*n));
	if (!n)
		return -ENOMEM;
	/* Clear the whole on-disk inode: a previous owner's in-inode
	 * attributes must not come back. */
	struct e2buf b;
	if ((r = e2_bget(fs, blk, true, &b)) < 0) {
		ext2_free(n);
		return r;
	}
	memset(b.data + off, 0, fs->inode_size);
	e2_bdirty(fs, &b);
	e2_bput(fs, &b);
	n->ino = ino;
	n->refs = 1;
	n->d.i_mode = (uint16_t)mode;
	n->d.i_uid = (uint16_t)uid;
	n->d.i_uid_high = (uint16_t)(uid >> 16);
	n->d.i_gid = (uint16_t)gid;
	n->d.i_gid_high = (uint16_t)(gid >> 16);
	n->d.i_generation = fs->generation++;
	if (fs->inode_size > EXT2_GOOD_OLD_INODE_SIZE) {
		uint32_t want = fs->sb.s_want_extra_isize ? fs->sb.s_want_extra_isize : 32;
		n->d.i_extra_isize = (uint16_t)E2_MIN(want, fs->inode_size - EXT2_GOOD_OLD_INODE_SIZE);
	}
	int64_t s, ns;
	e2_now(fs, &s, &ns);
	for (int w = EXT2_ATIME; w <= EXT2_CRTIME; w++)
		ext2_node_set_time(fs, n, w, s, ns);
	n->dirty = true;
	n->hnext = *hash_slot(fs, ino);
	*hash_slot(fs, ino) = n;
	*out = n;
	return 0;
}

/* --- attributes ------------------------------------------------------------------------------ */

uint64_t ext2_node_size(const struct ext2_node *n)
{
	uint64_t s = n->d.i_size;
	if (E2_ISREG(n->d.i_mode))
		s |= (uint64_t)n->d.i_size_high << 32;
	return s;
}

void e2_set_size(struct ext2_node *n, uint64_t size)
{
	n->d.i_size = (uint32_t)size;
	if (E2_ISREG(n->d.i_mode))
		n->d.i_size_high = (uint32_t)(size >> 32);
	n->dirty = true;
}

uint32_t ext2_node_uid(const struct ext2_node *n)
{
	return n->d.i_uid | (uint32_t)n->d.i_uid_high << 16;
}

uint32_t ext2_node_gid(const struct ext2_node *n)
{
	return n->d.i_gid | (uint32_t)n->d.i_gid_high << 16;
}

uint64_t ext2_node_blocks(const struct ext2_node *n)
{
	return n->d.i_blocks;
}

void e2_add_blocks(struct ext2_fs *fs, struct ext2_node *n, int64_t nblocks)
{
	int64_t v = (int64_t)n->d.i_blocks + nblocks * (int64_t)(fs->bsize / 512);
	n->d.i_blocks = v < 0 ? 0 : (uint32_t)v;
	n->dirty = true;
}

void ext2_node_rdev(const struct ext2_node *n, uint32_t *major, uint32_t *minor)
{
	/* Old encoding in i_block[0] (8:8 bits), new one in i_block[1]. */
	if (n->d.i_block[0]) {
		*major = (n->d.i_block[0] >> 8) & 0xff;
		*minor = n->d.i_block[0] & 0xff;
	} else {
		uint32_t d = n->d.i_block[1];
		*major = (d & 0xfff00) >> 8;
		*minor = (d & 0xff) | ((d >> 12) & 0xfff00);
	}
}

/* Which extra field holds the nanoseconds of a time, and the bytes of
 * extra inode it needs to be present. */
static bool extra_time(const struct ext2_node *n, int which, const uint32_t **field, uint32_t **wfield)
{
	static const uint16_t end[] = { 16, 12, 8, 24 };  /* atime, mtime, ctime, crtime */
	if (n->d.i_extra_isize < end[which])
		return false;
	const uint32_t *f;
	switch (which) {
	case EXT2_ATIME: f = &n->d.i_atime_extra; break;
	case EXT2_MTIME: f = &n->d.i_mtime_extra; break;
	case EXT2_CTIME: f = &n->d.i_ctime_extra; break;
	default:         f = &n->d.i_crtime_extra; break;
	}
	if (field)
		*field = f;
	if (wfield)
		*wfield = (uint32_t *)f;
	return true;
}

static uint32_t *time_sec(struct ext2_node *n, int which)
{
	switch (which) {
	case EXT2_ATIME: return &n->d.i_atime;
	case EXT2_MTIME: return &n->d.i_mtime;
	case EXT2_CTIME: return &n->d.i_ctime;
	default:         return &n->d.i_crtime;
	}
}

void ext2_node_time(const struct ext2_node *n, int which, int64_t *sec, int64_t *nsec)
{
	struct ext2_node *m = (struct ext2_node *)n;
	*sec = (int32_t)*time_sec(m, which);
	*nsec = 0;
	const uint32_t *x;
	if (which == EXT2_CRTIME && n->d.i_extra_isize < 24) {
		*sec = 0;
		return;
	}
	if (extra_time(n, which, &x, NULL)) {
		*sec += (int64_t)(*x & 3) << 32;
		*nsec = *x >> 2;
	}
}

void ext2_node_set_time(struct ext2_fs *fs, struct ext2_node *n, int which, int64_t sec, int64_t nsec)
{
	(void)fs;
	if (which == EXT2_CRTIME && n->d.i_extra_isize < 24)
		return;
	uint32_t *x;
	uint32_t lo = (uint32_t)sec;
	if (*time_sec(n, which) != lo) {
		*time_sec(n, which) = lo;
		n->dirty = true;
	}
	if (extra_time(n, which, NULL, &x)) {
		uint32_t epoch = (uint32_t)((sec - (int64_t)(int32_t)lo) >> 32) & 3;
		uint32_t v = ((uint32_t)nsec << 2) | epoch;
		if (*x != v) {
			*x = v;
			n->dirty = true;
		}
	}
}

void e2_touch(struct ext2_fs *fs, struct ext2_node *n, bool mtime, bool ctime)
{
	int64_t s, ns;
	e2_now(fs, &s, &ns);
	if (mtime)
		ext2_node_set_time(fs, n, EXT2_MTIME, s, ns);
	if (ctime)
		ext2_node_set_time(fs, n, EXT2_CTIME, s, ns);
}

void ext2_node_set_mode(struct ext2_fs *fs, struct ext2_node *n, uint32_t mode)
{
	(void)fs;
	uint16_t m = (uint16_t)((n->d.i_mode & E2_S_IFMT) | (mode & 07777));
	if (m != n->d.i_mode) {
		n->d.i_mode = m;
		n->dirty = true;
	}
}

void ext2_node_set_owner(struct ext2_fs *fs, struct ext2_node *n, uint32_t uid, uint32_t gid)
{
	(void)fs;
	if (ext2_node_uid(n) != uid || ext2_node_gid(n) != gid) {
		n->d.i_uid = (uint16_t)uid;
		n->d.i_uid_high = (uint16_t)(uid >> 16);
		n->d.i_gid = (uint16_t)gid;
		n->d.i_gid_high = (uint16_t)(gid >> 16);
		n->dirty = true;
	}
}

/* --- the superblock ------------------------------------------------------------------------ */

static const struct {
	uint32_t bit;
	const char *name;
} incompat_names[] = {
	{ EXT2_FEATURE_INCOMPAT_COMPRESSION, "compression" },
	{ EXT3_FEATURE_INCOMPAT_RECOVER, "needs_recovery" },
	{ EXT3_FEATURE_INCOMPAT_JOURNAL_DEV, "journal_dev" },
	{ EXT2_FEATURE_INCOMPAT_META_BG, "meta_bg" },
	{ EXT4_FEATURE_INCOMPAT_EXTENTS, "extent" },
	{ EXT4_FEATURE_INCOMPAT_64BIT, "64bit" },
	{ EXT4_FEATURE_INCOMPAT_MMP, "mmp" },
	{ EXT4_FEATURE_INCOMPAT_FLEX_BG, "flex_bg" },
	{ EXT4_FEATURE_INCOMPAT_EA_INODE, "ea_inode" },
	{ EXT4_FEATURE_INCOMPAT_DIRDATA, "dirdata" },
	{ EXT4_FEATURE_INCOMPAT_CSUM_SEED, "metadata_csum_seed" },
	{ EXT4_FEATURE_INCOMPAT_LARGEDIR, "large_dir" },
	{ EXT4_FEATURE_INCOMPAT_INLINE_DATA, "inline_data" },
	{ EXT4_FEATURE_INCOMPAT_ENCRYPT, "encrypt" },
	{ EXT4_FEATURE_INCOMPAT_CASEFOLD, "casefold" },
}, ro_compat_names[] = {
	{ EXT2_FEATURE_RO_COMPAT_BTREE_DIR, "btree_dir" },
	{ EXT4_FEATURE_RO_COMPAT_HUGE_FILE, "huge_file" },
	{ EXT4_FEATURE_RO_COMPAT_GDT_CSUM, "uninit_bg" },
	{ EXT4_FEATURE_RO_COMPAT_DIR_NLINK, "dir_nlink" },
	{ EXT4_FEATURE_RO_COMPAT_EXTRA_ISIZE, "extra_isize" },
	{ EXT4_FEATURE_RO_COMPAT_METADATA_CSUM, "metadata_csum" },
};

static void feature_list(uint32_t bits, bool incompat, char *out, size_t len)
{
	size_t used = 0;
	out[0] = 0;
	size_t n = incompat ? sizeof(incompat_names) / sizeof(incompat_names[0])
			    : sizeof(ro_compat_names) / sizeof(ro_compat_names[0]);
	for (size_t i = 0; i < n; i++) {
		uint32_t bit = incompat ? incompat_names[i].bit : ro_compat_names[i].bit;
		const char *name = incompat ? incompat_names[i].name : ro_compat_names[i].name;
		if (!(bits & bit))
			continue;
		bits &= ~bit;
		used += (size_t)snprintf(out + used, len - E2_MIN(used, len), "%s%s", used ? " " : "", name);
		if (used >= len)
			return;
	}
	if (bits)
		snprintf(out + used, len - E2_MIN(used, len), "%s0x%x", used ? " " : "", bits);
}

/* The superblock into the block that holds it (block 1 with 1 KiB blocks,
 * else bytes 1024.. of block 0). */
static int write_super(struct ext2_fs *fs)
{
	uint32_t blk = EXT2_SUPER_OFFSET / fs->bsize, off = EXT2_SUPER_OFFSET % fs->bsize;
	int64_t s, ns;
	e2_now(fs, &s, &ns);
	fs->sb.s_wtime = (uint32_t)s;
	struct e2buf b;
	int r;
	if ((r = e2_bget(fs, blk, true, &b)) < 0)
		return r;
	memcpy(b.data + off, &fs->sb, sizeof(fs->sb));
	e2_bdirty(fs, &b);
	e2_bput(fs, &b);
	fs->sb_dirty = false;
	return 0;
}

static void write_node_cb(struct ext2_node *n, void *arg)
{
	e2_write_node(arg, n);
}

/* Nodes, group descriptors and the superblock into the cache. */
static int write_meta(struct ext2_fs *fs)
{
	if (fs->rdonly)
		return 0;
	ext2_for_each_node(fs, write_node_cb, fs);
	for (uint32_t i = 0; i < fs->gdt_blocks; i++) {
		if (!fs->gdt_dirty[i])
			continue;
		struct e2buf b;
		int r = e2_bget(fs, fs->sb.s_first_data_block + 1 + i, true, &b);
		if (r < 0)
			return r;
		memcpy(b.data, fs->gdt + (size_t)i * fs->bsize, fs->bsize);
		e2_bdirty(fs, &b);
		e2_bput(fs, &b);
		fs->gdt_dirty[i] = 0;
	}
	if (fs->sb_dirty)
		return write_super(fs);
	return 0;
}

int ext2_sync(struct ext2_fs *fs)
{
	if (fs->rdonly)
		return 0;
	int r = write_meta(fs);
	int r2 = fs->io.sync(fs->io.ctx);
	return r ? r : r2;
}

int ext2_fsync(struct ext2_fs *fs, struct ext2_node *n)
{
	(void)n;   /* the whole file system goes: simpler, and never less */
	return ext2_sync(fs);
}

static void e2_fs_destroy(struct ext2_fs *fs)
{
	for (int h = 0; h < E2_NODE_HASH; h++)
		while (fs->nodes[h]) {
			struct ext2_node *n = fs->nodes[h];
			fs->nodes[h] = n->hnext;
			ext2_free(n);
		}
	ext2_free(fs->gdt);
	ext2_free(fs->gdt_dirty);
	ext2_free(fs->scratch);
	ext2_free(fs);
}

static void release_unlinked(struct ext2_node *n, void *arg)
{
	if (n->d.i_links_count == 0 && n->d.i_dtime == 0)
		e2_release_inode(arg, n);
}

int ext2_unmount(struct ext2_fs *fs)
{
	int r = 0;
	if (!fs->rdonly) {
		/* Files unlinked while open are closed now. */
		ext2_for_each_node(fs, release_unlinked, fs);
		r = write_meta(fs);
		if (!fs->errors)
			fs->sb.s_state |= EXT2_VALID_FS;
		fs->sb_dirty = true;
		int r2 = write_super(fs);
		int r3 = fs->io.sync(fs->io.ctx);
		r = r ? r : r2 ? r2 : r3;
	}
	e2_fs_destroy(fs);
	return r;
}

void ext2_statfs(struct ext2_fs *fs, struct ext2_statfs *st)
{
	st->bsize = fs->bsize;
	st->blocks = fs->sb.s_blocks_count;
	st->bfree = fs->sb.s_free_blocks_count;
	st->bavail = st->bfree > fs->sb.s_r_blocks_count ? st->bfree - fs->sb.s_r_blocks_count : 0;
	st->files = fs->sb.s_inodes_count;
	st->ffree = fs->sb.s_free_inodes_count;
	st->namelen = EXT2_NAME_LEN;
}

#define REFUSE(...) do { snprintf(msg, msglen, __VA_ARGS__); return -EINVAL; } while (0)

/* Checks the superblock alone: 0, or -EINVAL with msg set. */
static int check_super(const struct ext2_super *s, uint64_t dev_size, char *msg, size_t msglen)
{
	if (s->s_magic != EXT2_MAGIC)
		REFUSE("no ext2 file system (magic 0x%04x, want 0xef53)", s->s_magic);
	if (s->s_rev_level > EXT2_DYNAMIC_REV)
		REFUSE("unknown ext2 revision %u", s->s_rev_level);
	if (s->s_log_block_size > 6)
		REFUSE("bad block size (log %u; 1 KiB to 64 KiB supported)", s->s_log_block_size);
	uint32_t bsize = 1024u << s->s_log_block_size;
	if (s->s_rev_level == EXT2_DYNAMIC_REV) {
		uint32_t is = s->s_inode_size;
		if (is < EXT2_GOOD_OLD_INODE_SIZE || is > bsize || (is & (is - 1)))
			REFUSE("bad inode size %u", is);
		if (s->s_first_ino < EXT2_GOOD_OLD_FIRST_INO)
			REFUSE("bad first inode %u", s->s_first_ino);
		uint32_t unk = s->s_feature_incompat & ~(uint32_t)EXT2_INCOMPAT_SUPP;
		if (unk) {
			char names[120];
			feature_list(unk, true, names, sizeof(names));
			REFUSE("unsupported ext2 features: %s (not ext2, or made for ext3/ext4)", names);
		}
	}
	if (s->s_blocks_per_group == 0 || s->s_blocks_per_group > 8 * bsize)
		REFUSE("bad blocks per group %u", s->s_blocks_per_group);
	if (s->s_inodes_per_group == 0 || s->s_inodes_per_group > 8 * bsize)
		REFUSE("bad inodes per group %u", s->s_inodes_per_group);
	if (s->s_first_data_block != (bsize == 1024 ? 1u : 0u))
		REFUSE("bad first data block %u for %u-byte blocks", s->s_first_data_block, bsize);
	if (s->s_blocks_count <= s->s_first_data_block + 2)
		REFUSE("bad block count %u", s->s_blocks_count);
	uint64_t ngroups = ((uint64_t)s->s_blocks_count - s->s_first_data_block +
			    s->s_blocks_per_group - 1) / s->s_blocks_per_group;
	if (ngroups * s->s_inodes_per_group != s->s_inodes_count)
		REFUSE("inode count %u does not match %lu groups of %u", s->s_inodes_count,
		       (unsigned long)ngroups, s->s_inodes_per_group);
	if (s->s_free_blocks_count > s->s_blocks_count || s->s_free_inodes_count > s->s_inodes_count)
		REFUSE("free counts larger than the totals");
	uint64_t need = (uint64_t)s->s_blocks_count * bsize;
	if (need > dev_size)
		REFUSE("truncated: the file system needs %lu bytes, the device has %lu",
		       (unsigned long)need, (unsigned long)dev_size);
	return 0;
}

int ext2_mount(const struct ext2_io *io, unsigned flags, struct ext2_fs **out, char *msg,
	       size_t msglen)
{
	msg[0] = 0;
	if (io->size == 0) {
		snprintf(msg, msglen, "empty device (0 bytes): no file system");
		return -EINVAL;
	}
	if (io->size < EXT2_SUPER_OFFSET + EXT2_SUPER_SIZE) {
		snprintf(msg, msglen, "device too small for ext2 (%lu bytes)", (unsigned long)io->size);
		return -EINVAL;
	}
	struct ext2_fs *fs = ext2_zalloc(sizeof(*fs));
	if (!fs)
		return -ENOMEM;
	fs->io = *io;
	int r = io->read_super(io->ctx, &fs->sb);
	if (r < 0) {
		snprintf(msg, msglen, "cannot read the superblock (error %d)", -r);
		ext2_free(fs);
		return r;
	}
	if ((r = check_super(&fs->sb, io->size, msg, msglen)) < 0) {
		ext2_free(fs);
		return r;
	}
	struct ext2_super *s = &fs->sb;
	fs->bsize = 1024u << s->s_log_block_size;
	fs->ptrs = fs->bsize / 4;
	fs->bpg = s->s_blocks_per_group;
	fs->ipg = s->s_inodes_per_group;
	fs->ngroups = (s->s_blocks_count - s->s_first_data_block + fs->bpg - 1) / fs->bpg;
	fs->inode_size = s->s_rev_level ? s->s_inode_size : EXT2_GOOD_OLD_INODE_SIZE;
	fs->first_ino = s->s_rev_level ? s->s_first_ino : EXT2_GOOD_OLD_FIRST_INO;
	fs->filetype = s->s_rev_level && (s->s_feature_incompat & EXT2_FEATURE_INCOMPAT_FILETYPE);
	fs->gdt_blocks = (uint32_t)(((uint64_t)fs->ngroups * sizeof(struct ext2_group_desc) +
				     fs->bsize - 1) / fs->bsize);
	fs->generation = s->s_wtime ^ s->s_mnt_count << 16;
	fs->rdonly = flags & EXT2_MOUNT_RDONLY;
	fs->gdt = ext2_zalloc((size_t)fs->gdt_blocks * fs->bsize);
	fs->gdt_dirty = ext2_zalloc(fs->gdt_blocks);
	fs->scratch = ext2_zalloc(fs->bsize);
	if (!fs->gdt || !fs->gdt_dirty || !fs->scratch) {
		e2_fs_destroy(fs);
		return -ENOMEM;
	}
	if (s->s_first_data_block + 1 + fs->gdt_blocks >= s->s_blocks_count) {
		snprintf(msg, msglen, "group descriptors past the end of the file system");
		e2_fs_destroy(fs);
		return -EINVAL;
	}
	for (uint32_t i = 0; i < fs->gdt_blocks; i++) {
		struct e2buf b;
		if ((r = e2_bget(fs, s->s_first_data_block + 1 + i, true, &b)) < 0) {
			snprintf(msg, msglen, "cannot read the group descriptors (error %d)", -r);
			e2_fs_destroy(fs);
			return r;
		}
		memcpy(fs->gdt + (size_t)i * fs->bsize, b.data, fs->bsize);
		e2_bput(fs, &b);
	}
	uint32_t itb = (fs->ipg * fs->inode_size + fs->bsize - 1) / fs->bsize;
	uint64_t free_blocks = 0, free_inodes = 0;
	for (uint32_t g = 0; g < fs->ngroups; g++) {
		struct ext2_group_desc *gd = e2_gd(fs, g);
		uint64_t first = s->s_first_data_block + (uint64_t)g * fs->bpg;
		uint64_t end = first + group_blocks(fs, g);
		if (gd->bg_block_bitmap < first || gd->bg_block_bitmap >= end ||
		    gd->bg_inode_bitmap < first || gd->bg_inode_bitmap >= end ||
		    gd->bg_inode_table < first || gd->bg_inode_table + (uint64_t)itb > end) {
			snprintf(msg, msglen, "group %u: bitmaps or inode table outside the group "
				 "(corrupt group descriptors)", g);
			e2_fs_destroy(fs);
			return -EINVAL;
		}
		if (gd->bg_free_blocks_count > group_blocks(fs, g) ||
		    gd->bg_free_inodes_count > fs->ipg) {
			snprintf(msg, msglen, "group %u: free counts larger than the group", g);
			e2_fs_destroy(fs);
			return -EINVAL;
		}
		free_blocks += gd->bg_free_blocks_count;
		free_inodes += gd->bg_free_inodes_count;
	}
	/* The group counts are what allocation maintains; the superblock's
	 * totals follow them (Linux recomputes them at mount too). */
	s->s_free_blocks_count = (uint32_t)free_blocks;
	s->s_free_inodes_count = (uint32_t)free_inodes;

	uint32_t ro = s->s_rev_level ? s->s_feature_ro_compat & ~(uint32_t)EXT2_RO_COMPAT_SUPP : 0;
	if (ro && !fs->rdonly) {
		char names[120];
		feature_list(ro, false, names, sizeof(names));
		e2_log(fs, 1, "ext2: features %s cannot be kept up to date: mounting read-only", names);
		fs->rdonly = true;
	}
	if (!(s->s_state & EXT2_VALID_FS))
		e2_log(fs, 1, "ext2: the file system was not cleanly unmounted; running e2fsck is recommended");
	if (s->s_state & EXT2_ERROR_FS)
		e2_log(fs, 1, "ext2: the file system has errors; running e2fsck is recommended");

	struct ext2_node *root;
	if ((r = ext2_iget(fs, EXT2_ROOT_INO, &root)) < 0 || !E2_ISDIR(root->d.i_mode)) {
		snprintf(msg, msglen, "the root inode is not a directory (corrupt file system)");
		if (r == 0)
			ext2_iput(fs, root);
		fs->rdonly = true;
		e2_fs_destroy(fs);
		return -EINVAL;
	}
	ext2_iput(fs, root);

	if (!fs->rdonly) {
		if (s->s_max_mnt_count > 0 && s->s_mnt_count >= (uint16_t)s->s_max_mnt_count)
			e2_log(fs, 1, "ext2: maximal mount count reached; running e2fsck is recommended");
		int64_t sec, ns;
		e2_now(fs, &sec, &ns);
		s->s_state &= (uint16_t)~EXT2_VALID_FS;
		s->s_mnt_count++;
		s->s_mtime = (uint32_t)sec;
		fs->sb_dirty = true;
		if ((r = ext2_sync(fs)) < 0) {
			snprintf(msg, msglen, "cannot write the superblock (error %d)", -r);
			fs->rdonly = true;
			e2_fs_destroy(fs);
			return r;
		}
	}
	*out = fs;
	return 0;
}
