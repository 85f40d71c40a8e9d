/* ext2 internals shared by ext2.c (super, groups, allocation, nodes),
 * ext2_file.c (block map, file data) and ext2_dir.c (directories). */
#pragma once
#ifdef HOST_TEST
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#define ext2_zalloc(n) calloc(1, (n))
#define ext2_free(p)   free(p)
#else
#include "errno.h"
#include "fs/inode.h"
#include "lib/printf.h"
#include "lib/string.h"
#define ext2_zalloc(n) fs_alloc(n)
#define ext2_free(p)   fs_free(p)
#endif
#include "fs/ext2/ext2.h"

#define E2_MIN(a, b) ((a) < (b) ? (a) : (b))
#define E2_MAX(a, b) ((a) > (b) ? (a) : (b))

/* Linux mode bits, without the VFS headers (the host test has its own). */
#define E2_S_IFMT   0170000
#define E2_S_IFSOCK 0140000
#define E2_S_IFLNK  0120000
#define E2_S_IFREG  0100000
#define E2_S_IFBLK  0060000
#define E2_S_IFDIR  0040000
#define E2_S_IFCHR  0020000
#define E2_S_IFIFO  0010000
#define E2_ISDIR(m) (((m) & E2_S_IFMT) == E2_S_IFDIR)
#define E2_ISREG(m) (((m) & E2_S_IFMT) == E2_S_IFREG)
#define E2_ISLNK(m) (((m) & E2_S_IFMT) == E2_S_IFLNK)

#define E2_NODE_HASH 256

struct ext2_fs {
	struct ext2_io io;
	struct ext2_super sb;              /* the primary superblock, as on disk */
	bool sb_dirty;
	bool rdonly;
	bool errors;                       /* corruption seen while mounted */
	uint32_t bsize;                    /* bytes per block */
	uint32_t ptrs;                     /* block numbers per indirect block */
	uint32_t ngroups;
	uint32_t bpg, ipg;                 /* blocks, inodes per group */
	uint32_t inode_size;
	uint32_t first_ino;
	uint32_t gdt_blocks;
	uint8_t *gdt;                      /* gdt_blocks * bsize bytes, raw */
	uint8_t *gdt_dirty;                /* per GDT block */
	bool filetype;                     /* FILETYPE: dirents carry a type */
	uint32_t generation;
	struct ext2_node *nodes[E2_NODE_HASH];
	uint8_t *scratch;                  /* one block */
};

/* A held block. */
struct e2buf {
	void *h;
	uint8_t *data;
};

int e2_bget(struct ext2_fs *fs, uint32_t blk, bool read, struct e2buf *b);
void e2_bdirty(struct ext2_fs *fs, struct e2buf *b);
void e2_bput(struct ext2_fs *fs, struct e2buf *b);

/* Corruption: logs, marks the superblock "errors", returns -EIO. */
int e2_corrupt(struct ext2_fs *fs, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void e2_log(struct ext2_fs *fs, int level, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
void e2_now(struct ext2_fs *fs, int64_t *sec, int64_t *nsec);

static inline struct ext2_group_desc *e2_gd(struct ext2_fs *fs, uint32_t g)
{
	return (struct ext2_group_desc *)(fs->gdt + (size_t)g * sizeof(struct ext2_group_desc));
}
void e2_gd_dirty(struct ext2_fs *fs, uint32_t g);

/* Allocation. goal: a block near which to look (0: anywhere). */
int e2_alloc_block(struct ext2_fs *fs, uint32_t goal, uint32_t *out);
int e2_free_block(struct ext2_fs *fs, uint32_t blk);
int e2_alloc_inode(struct ext2_fs *fs, uint32_t parent_ino, bool dir, uint32_t *out);
bool e2_block_valid(struct ext2_fs *fs, uint32_t blk);

/* Nodes. */
void e2_node_dirty(struct ext2_node *n);
int e2_write_node(struct ext2_fs *fs, struct ext2_node *n);
void e2_touch(struct ext2_fs *fs, struct ext2_node *n, bool mtime, bool ctime);
void e2_set_size(struct ext2_node *n, uint64_t size);
/* A new node for a freshly allocated inode number (zeroed on disk). */
int e2_new_node(struct ext2_fs *fs, uint32_t ino, uint32_t mode, uint32_t uid, uint32_t gid,
		struct ext2_node **out);

/* Block map (ext2_file.c). */
int e2_bmap(struct ext2_fs *fs, struct ext2_node *n, uint64_t lblk, bool alloc,
	    uint32_t *out, bool *fresh);
/* Frees every block at or past lblk "from" (and the indirect blocks that
 * become empty). */
int e2_free_blocks_from(struct ext2_fs *fs, struct ext2_node *n, uint64_t from);
void e2_add_blocks(struct ext2_fs *fs, struct ext2_node *n, int64_t nblocks);
bool e2_fast_symlink(struct ext2_fs *fs, const struct ext2_node *n);
/* Frees an inode whose links and references are gone: blocks, xattr
 * block, bitmap bit. */
int e2_release_inode(struct ext2_fs *fs, struct ext2_node *n);
