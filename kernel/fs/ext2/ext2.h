/*
 * ext2, read-write: the file system itself, as a pure module.
 *
 * It knows nothing of the VFS or of disks: blocks come from the caller's
 * buffer cache through struct ext2_io (in the kernel: drivers/block/buf.h;
 * in the host unit test: a small cache over an image file), and the VFS
 * glue (ext2_vfs.c) turns its calls into inode_ops and file_ops. The same
 * code is compiled into the kernel and into tests/unit/test_ext2.c, which
 * checks it against images made and verified by e2fsprogs.
 *
 * Callers serialise: one operation at a time per mounted file system (the
 * kernel holds the VFS lock around every call).
 *
 * Nodes: in-memory inodes, one per inode number, reference counted.
 * ext2_iget gives a reference, ext2_iput drops it; when the last reference
 * of a node with no links goes, its blocks and its inode are freed (a file
 * unlinked while open stays readable until then). The node's `d` is the
 * on-disk inode (first 152 bytes); the accessors below read it. Changes
 * reach the disk at ext2_sync/ext2_fsync/ext2_unmount or when the node's
 * last reference goes.
 *
 * Durability: see docs/ext2.md. In short: nothing is on stable storage
 * until ext2_sync or ext2_fsync returns 0; then everything written before
 * is (data and metadata: the whole file system, not only the file).
 *
 * Return values: 0 / a count, or -ERRNO (Linux values).
 */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#ifdef HOST_TEST
#include <sys/types.h>
#endif
#include "fs/ext2/ext2_disk.h"

/* Block access: the caller's buffer cache. Every call may sleep. */
struct ext2_io {
	void *ctx;
	/* Device size in bytes. */
	uint64_t size;
	/* Reads the 1024-byte primary superblock region (byte 1024) before
	 * the block size is known. */
	int (*read_super)(void *ctx, void *buf1024);
	/* Block blk (of bsize bytes), referenced and locked until put.
	 * read=false: the caller overwrites all of it (its contents are then
	 * undefined or zero). NULL with *err set on failure. Never asks for a
	 * block it already holds. */
	void *(*get)(void *ctx, uint32_t blk, uint32_t bsize, bool read, void **handle, int *err);
	void (*dirty)(void *ctx, void *handle);
	void (*put)(void *ctx, void *handle);
	/* Every dirty block written, then the device flushed. */
	int (*sync)(void *ctx);
	/* Wall clock. */
	void (*now)(void *ctx, int64_t *sec, int64_t *nsec);
	/* A message for the kernel log (level 0 error, 1 warning, 2 info). */
	void (*log)(void *ctx, int level, const char *msg);
};

struct ext2_fs;

struct ext2_node {
	uint32_t ino;
	int refs;
	bool dirty;                 /* d differs from the inode table */
	struct ext2_node *hnext;    /* the fs's node hash */
	void *priv;                 /* the VFS glue's inode */
	uint32_t goal;              /* where the next block of this file should go */
	struct ext2_dinode d;       /* as on disk */
};

#define EXT2_MOUNT_RDONLY 1u

/* Validates the superblock and group descriptors, then (read-write) marks
 * the file system not clean and counts the mount. On refusal, msg gets one
 * line saying why. */
int ext2_mount(const struct ext2_io *io, unsigned flags, struct ext2_fs **out,
	       char *msg, size_t msglen);
/* Writes everything, marks the file system clean (read-write), frees it.
 * Nodes must all have been put. */
int ext2_unmount(struct ext2_fs *fs);
/* Everything dirty to the disk, superblock state kept "not clean". */
int ext2_sync(struct ext2_fs *fs);
/* The node's changes and then ext2_sync. */
int ext2_fsync(struct ext2_fs *fs, struct ext2_node *n);

bool ext2_read_only(const struct ext2_fs *fs);
uint32_t ext2_block_size(const struct ext2_fs *fs);
/* True once corruption was found (the superblock then says "errors"). */
bool ext2_has_errors(const struct ext2_fs *fs);
const char *ext2_volume_name(const struct ext2_fs *fs);

struct ext2_statfs {
	uint64_t bsize, blocks, bfree, bavail, files, ffree;
	uint32_t namelen;
};
void ext2_statfs(struct ext2_fs *fs, struct ext2_statfs *st);

/* --- nodes ---------------------------------------------------------------------- */
int ext2_iget(struct ext2_fs *fs, uint32_t ino, struct ext2_node **out);
void ext2_iget_again(struct ext2_node *n);
void ext2_iput(struct ext2_fs *fs, struct ext2_node *n);
/* Calls fn for every node in memory (the glue's attribute write-back). */
void ext2_for_each_node(struct ext2_fs *fs, void (*fn)(struct ext2_node *n, void *arg), void *arg);

static inline uint32_t ext2_node_mode(const struct ext2_node *n) { return n->d.i_mode; }
uint64_t ext2_node_size(const struct ext2_node *n);
uint32_t ext2_node_uid(const struct ext2_node *n);
uint32_t ext2_node_gid(const struct ext2_node *n);
static inline uint32_t ext2_node_nlink(const struct ext2_node *n) { return n->d.i_links_count; }
/* 512-byte units. */
uint64_t ext2_node_blocks(const struct ext2_node *n);
void ext2_node_rdev(const struct ext2_node *n, uint32_t *major, uint32_t *minor);
enum { EXT2_ATIME, EXT2_MTIME, EXT2_CTIME, EXT2_CRTIME };
void ext2_node_time(const struct ext2_node *n, int which, int64_t *sec, int64_t *nsec);

/* Attribute changes (chmod, chown, utimensat): mode's type bits are kept. */
void ext2_node_set_mode(struct ext2_fs *fs, struct ext2_node *n, uint32_t mode);
void ext2_node_set_owner(struct ext2_fs *fs, struct ext2_node *n, uint32_t uid, uint32_t gid);
void ext2_node_set_time(struct ext2_fs *fs, struct ext2_node *n, int which, int64_t sec, int64_t nsec);

/* --- files ---------------------------------------------------------------------- */
/* Bytes read (short at the end of the file; holes read as zeros). */
ssize_t ext2_read(struct ext2_fs *fs, struct ext2_node *n, uint64_t off, void *buf, size_t len);
/* Bytes written (allocating blocks; short only on ENOSPC/EFBIG after
 * some bytes); sets mtime/ctime and the size. */
ssize_t ext2_write(struct ext2_fs *fs, struct ext2_node *n, uint64_t off, const void *buf,
		   size_t len);
/* Grows (a hole) or shrinks (freeing blocks) a regular file. */
int ext2_truncate(struct ext2_fs *fs, struct ext2_node *n, uint64_t size);
/* SEEK_DATA (data=true) / SEEK_HOLE from off: the offset, or -ENXIO. */
int64_t ext2_seek_data(struct ext2_fs *fs, struct ext2_node *n, uint64_t off, bool data);
/* The largest file size the block map reaches. */
uint64_t ext2_max_file_size(const struct ext2_fs *fs);

/* --- directories and names -------------------------------------------------------- */
/* The inode number of name in dir (".." included), or -ENOENT. */
int ext2_lookup(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		uint32_t *ino);
/* One entry: return non-zero to stop (the entry is then not consumed). */
typedef int (*ext2_filldir_fn)(void *ctx, const char *name, size_t len, uint32_t ino,
			       unsigned dtype, uint64_t next_cookie);
/* Entries from *cookie (a byte offset; 0 = the start) on. dtype is a
 * DT_* value (from the entry's file type, or the inode when absent). */
int ext2_readdir(struct ext2_fs *fs, struct ext2_node *dir, uint64_t *cookie,
		 ext2_filldir_fn fill, void *ctx);

/* Creates name in dir: mode's type is S_IFREG, S_IFDIR, S_IFIFO, S_IFCHR,
 * S_IFBLK or S_IFSOCK. *out gets a reference. -EEXIST when it exists. */
int ext2_create(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		uint32_t mode, uint32_t rdev_major, uint32_t rdev_minor, uint32_t uid,
		uint32_t gid, struct ext2_node **out);
int ext2_symlink(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		 const char *target, size_t tlen, uint32_t uid, uint32_t gid,
		 struct ext2_node **out);
/* The target into buf (not terminated); its length. */
ssize_t ext2_readlink(struct ext2_fs *fs, struct ext2_node *n, char *buf, size_t len);
int ext2_link(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
	      struct ext2_node *target);
/* want_dir: rmdir (-ENOTDIR, -ENOTEMPTY); else -EISDIR for a directory. */
int ext2_unlink(struct ext2_fs *fs, struct ext2_node *dir, const char *name, size_t len,
		bool want_dir);
#define EXT2_RENAME_NOREPLACE 1u
#define EXT2_RENAME_EXCHANGE  2u
/* The caller made sure a directory does not move into itself. */
int ext2_rename(struct ext2_fs *fs, struct ext2_node *odir, const char *oname, size_t olen,
		struct ext2_node *ndir, const char *nname, size_t nlen, unsigned flags);
