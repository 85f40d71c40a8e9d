/*
 * ext2 file contents: the block map (12 direct blocks, then single, double
 * and triple indirect blocks), reading, writing with allocation, holes,
 * truncation.
 */
#include "fs/ext2/ext2_int.h"

/* The path through the map to logical block lblk: idx[0] in i_block, then
 * one index per level of indirection. */
static int map_path(struct ext2_fs *fs, uint64_t lblk, uint32_t idx[4], int *depth)
{
	uint64_t p = fs->ptrs;
	if (lblk < EXT2_NDIR_BLOCKS) {
		idx[0] = (uint32_t)lblk;
		*depth = 0;
		return 0;
	}
	lblk -= EXT2_NDIR_BLOCKS;
	if (lblk < p) {
		idx[0] = EXT2_IND_BLOCK;
		idx[1] = (uint32_t)lblk;
		*depth = 1;
		return 0;
	}
	lblk -= p;
	if (lblk < p * p) {
		idx[0] = EXT2_DIND_BLOCK;
		idx[1] = (uint32_t)(lblk / p);
		idx[2] = (uint32_t)(lblk % p);
		*depth = 2;
		return 0;
	}
	lblk -= p * p;
	if (lblk < p * p * p) {
		idx[0] = EXT2_TIND_BLOCK;
		idx[1] = (uint32_t)(lblk / (p * p));
		idx[2] = (uint32_t)(lblk / p % p);
		idx[3] = (uint32_t)(lblk % p);
		*depth = 3;
		return 0;
	}
	return -EFBIG;
}

uint64_t ext2_max_file_size(const struct ext2_fs *fs)
{
	uint64_t p = fs->ptrs;
	uint64_t blocks = EXT2_NDIR_BLOCKS + p + p * p + p * p * p;
	uint64_t bytes = blocks * fs->bsize;
	/* i_blocks counts 512-byte units in 32 bits (no huge_file). */
	uint64_t lim = ((1ull << 32) - 1) * 512 - (p * p + p + 2) * fs->bsize;
	return E2_MIN(bytes, lim);
}

static uint32_t default_goal(struct ext2_fs *fs, struct ext2_node *n)
{
	if (n->goal)
		return n->goal;
	uint32_t g = (n->ino - 1) / fs->ipg;
	struct ext2_group_desc *gd = e2_gd(fs, g);
	return gd->bg_inode_table + (fs->ipg * fs->inode_size + fs->bsize - 1) / fs->bsize;
}

/* A new block for n, near goal; zeroed on disk when zero (indirect
 * blocks, directory blocks are filled by their caller). */
static int new_block(struct ext2_fs *fs, struct ext2_node *n, uint32_t goal, bool zero,
		     uint32_t *out)
{
	int r = e2_alloc_block(fs, goal, out);
	if (r < 0)
		return r;
	if (zero) {
		struct e2buf b;
		if ((r = e2_bget(fs, *out, false, &b)) < 0) {
			e2_free_block(fs, *out);
			return r;
		}
		memset(b.data, 0, fs->bsize);
		e2_bdirty(fs, &b);
		e2_bput(fs, &b);
	}
	e2_add_blocks(fs, n, 1);
	return 0;
}

int e2_bmap(struct ext2_fs *fs, struct ext2_node *n, uint64_t lblk, bool alloc,
	    uint32_t *out, bool *fresh)
{
	uint32_t idx[4];
	int depth, r;
	if (fresh)
		*fresh = false;
	if ((r = map_path(fs, lblk, idx, &depth)) < 0)
		return r;
	uint32_t goal = default_goal(fs, n);
	uint32_t blk = n->d.i_block[idx[0]];
	if (!blk) {
		if (!alloc) {
			*out = 0;
			return 0;
		}
		if ((r = new_block(fs, n, goal, depth > 0, &blk)) < 0)
			return r;
		n->d.i_block[idx[0]] = blk;
		n->dirty = true;
		if (depth == 0 && fresh)
			*fresh = true;
	} else if (!e2_block_valid(fs, blk)) {
		return e2_corrupt(fs, "inode %u: block %u out of range", n->ino, blk);
	}
	for (int level = 1; level <= depth; level++) {
		struct e2buf b;
		if ((r = e2_bget(fs, blk, true, &b)) < 0)
			return r;
		uint32_t *tab = (uint32_t *)b.data;
		uint32_t child = tab[idx[level]];
		if (!child) {
			if (!alloc) {
				e2_bput(fs, &b);
				*out = 0;
				return 0;
			}
			if ((r = new_block(fs, n, blk + 1, level < depth, &child)) < 0) {
				e2_bput(fs, &b);
				return r;
			}
			tab[idx[level]] = child;
			e2_bdirty(fs, &b);
			if (level == depth && fresh)
				*fresh = true;
		} else if (!e2_block_valid(fs, child)) {
			e2_bput(fs, &b);
			return e2_corrupt(fs, "inode %u: block %u out of range", n->ino, child);
		}
		e2_bput(fs, &b);
		blk = child;
	}
	*out = blk;
	n->goal = blk + 1;
	return 0;
}

/* Frees the part of the tree under blk (depth levels of indirection) that
 * maps blocks >= start (relative to the tree's first block). *empty: blk
 * maps nothing any more. */
static int trunc_tree(struct ext2_fs *fs, struct ext2_node *n, uint32_t blk, int depth,
		      uint64_t start, bool *empty)
{
	uint64_t span = 1;
	for (int i = 1; i < depth; i++)
		span *= fs->ptrs;
	struct e2buf b;
	int r = e2_bget(fs, blk, true, &b);
	if (r < 0)
		return r;
	uint32_t *tab = (uint32_t *)b.data;
	uint64_t first = start / span;
	for (uint64_t i = first; i < fs->ptrs && r == 0; i++) {
		uint32_t c = tab[i];
		if (!c)
			continue;
		if (depth > 1) {
			bool cempty;
			r = trunc_tree(fs, n, c, depth - 1, i == first ? start % span : 0, &cempty);
			if (r < 0 || !cempty)
				continue;
		}
		r = e2_free_block(fs, c);
		tab[i] = 0;
		e2_bdirty(fs, &b);
		e2_add_blocks(fs, n, -1);
	}
	*empty = true;
	for (uint32_t i = 0; i < fs->ptrs; i++)
		if (tab[i]) {
			*empty = false;
			break;
		}
	e2_bput(fs, &b);
	return r;
}

int e2_free_blocks_from(struct ext2_fs *fs, struct ext2_node *n, uint64_t from)
{
	int r = 0;
	for (uint64_t i = from; i < EXT2_NDIR_BLOCKS; i++) {
		if (!n->d.i_block[i])
			continue;
		int e = e2_free_block(fs, n->d.i_block[i]);
		r = r ? r : e;
		n->d.i_block[i] = 0;
		e2_add_blocks(fs, n, -1);
	}
	uint64_t base = EXT2_NDIR_BLOCKS, cover = fs->ptrs;
	for (int level = 1; level <= 3; level++, base += cover, cover *= fs->ptrs) {
		uint32_t *slot = &n->d.i_block[EXT2_NDIR_BLOCKS - 1 + level];
		if (!*slot || from >= base + cover)
			continue;
		if (!e2_block_valid(fs, *slot)) {
			r = e2_corrupt(fs, "inode %u: indirect block %u out of range", n->ino, *slot);
			*slot = 0;
			continue;
		}
		bool empty;
		int e = trunc_tree(fs, n, *slot, level, from > base ? from - base : 0, &empty);
		r = r ? r : e;
		if (e == 0 && empty) {
			e = e2_free_block(fs, *slot);
			r = r ? r : e;
			*slot = 0;
			e2_add_blocks(fs, n, -1);
		}
	}
	n->dirty = true;
	n->goal = 0;
	return r;
}

bool e2_fast_symlink(struct ext2_fs *fs, const struct ext2_node *n)
{
	uint32_t acl = n->d.i_file_acl ? fs->bsize / 512 : 0;
	return E2_ISLNK(n->d.i_mode) && n->d.i_blocks == acl;
}

ssize_t ext2_read(struct ext2_fs *fs, struct ext2_node *n, uint64_t off, void *buf, size_t len)
{
	uint64_t size = ext2_node_size(n);
	if (off >= size)
		return 0;
	len = (size_t)E2_MIN((uint64_t)len, size - off);
	uint8_t *dst = buf;
	size_t done = 0;
	int r = 0;
	while (done < len) {
		uint64_t pos = off + done;
		uint64_t lblk = pos / fs->bsize;
		uint32_t boff = (uint32_t)(pos % fs->bsize);
		size_t k = E2_MIN((size_t)(fs->bsize - boff), len - done);
		uint32_t pblk;
		if ((r = e2_bmap(fs, n, lblk, false, &pblk, NULL)) < 0)
			break;
		if (!pblk) {
			memset(dst + done, 0, k);
		} else {
			struct e2buf b;
			if ((r = e2_bget(fs, pblk, true, &b)) < 0)
				break;
			memcpy(dst + done, b.data + boff, k);
			e2_bput(fs, &b);
		}
		done += k;
	}
	return done ? (ssize_t)done : r;
}

static void note_large(struct ext2_fs *fs, uint64_t size)
{
	if (size > 0x7fffffffull && fs->sb.s_rev_level &&
	    !(fs->sb.s_feature_ro_compat & EXT2_FEATURE_RO_COMPAT_LARGE_FILE)) {
		fs->sb.s_feature_ro_compat |= EXT2_FEATURE_RO_COMPAT_LARGE_FILE;
		fs->sb_dirty = true;
	}
}

ssize_t ext2_write(struct ext2_fs *fs, struct ext2_node *n, uint64_t off, const void *buf,
		   size_t len)
{
	if (fs->rdonly)
		return -EROFS;
	if (!E2_ISREG(n->d.i_mode))
		return -EINVAL;
	uint64_t max = ext2_max_file_size(fs);
	if (off >= max)
		return len ? -EFBIG : 0;
	len = (size_t)E2_MIN((uint64_t)len, max - off);
	const uint8_t *src = buf;
	size_t done = 0;
	int r = 0;
	while (done < len) {
		uint64_t pos = off + done;
		uint64_t lblk = pos / fs->bsize;
		uint32_t boff = (uint32_t)(pos % fs->bsize);
		size_t k = E2_MIN((size_t)(fs->bsize - boff), len - done);
		uint32_t pblk;
		bool fresh;
		if ((r = e2_bmap(fs, n, lblk, true, &pblk, &fresh)) < 0)
			break;
		bool full = boff == 0 && k == fs->bsize;
		struct e2buf b;
		if ((r = e2_bget(fs, pblk, !(full || fresh), &b)) < 0)
			break;
		if (fresh && !full)
			memset(b.data, 0, fs->bsize);
		memcpy(b.data + boff, src + done, k);
		e2_bdirty(fs, &b);
		e2_bput(fs, &b);
		done += k;
		if (off + done > ext2_node_size(n))
			e2_set_size(n, off + done);
	}
	if (done) {
		note_large(fs, ext2_node_size(n));
		e2_touch(fs, n, true, true);
	}
	return done ? (ssize_t)done : r;
}

int ext2_truncate(struct ext2_fs *fs, struct ext2_node *n, uint64_t size)
{
	if (fs->rdonly)
		return -EROFS;
	if (!E2_ISREG(n->d.i_mode))
		return -EINVAL;
	if (size > ext2_max_file_size(fs))
		return -EFBIG;
	uint64_t old = ext2_node_size(n);
	int r = 0;
	if (size < old) {
		r = e2_free_blocks_from(fs, n, (size + fs->bsize - 1) / fs->bsize);
		uint32_t tail = (uint32_t)(size % fs->bsize);
		uint32_t pblk = 0;
		/* Bytes past the end of the last block must read as zeros when
		 * the file grows again. */
		if (r == 0 && tail && e2_bmap(fs, n, size / fs->bsize, false, &pblk, NULL) == 0 && pblk) {
			struct e2buf b;
			if ((r = e2_bget(fs, pblk, true, &b)) == 0) {
				memset(b.data + tail, 0, fs->bsize - tail);
				e2_bdirty(fs, &b);
				e2_bput(fs, &b);
			}
		}
	}
	e2_set_size(n, size);
	note_large(fs, size);
	e2_touch(fs, n, true, true);
	return r;
}

int64_t ext2_seek_data(struct ext2_fs *fs, struct ext2_node *n, uint64_t off, bool data)
{
	uint64_t size = ext2_node_size(n);
	if (off >= size)
		return -ENXIO;
	for (uint64_t lblk = off / fs->bsize; lblk * fs->bsize < size; lblk++) {
		uint32_t pblk;
		int r = e2_bmap(fs, n, lblk, false, &pblk, NULL);
		if (r < 0)
			return r;
		if ((pblk != 0) == data) {
			uint64_t at = E2_MAX(lblk * fs->bsize, off);
			return (int64_t)at;
		}
	}
	return data ? -ENXIO : (int64_t)size;
}
