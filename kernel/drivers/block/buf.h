/*
 * The buffer cache: block-sized copies of disk blocks, shared by everyone
 * who reads the same block, kept in LRU order, written back lazily.
 *
 * Use (xv6 style):
 *
 *     struct buf *b = bread(bd, blockno, 1024);   // locked, valid
 *     if (IS_ERR_BUF(b)) return buf_err(b);       // -EIO / -ENOMEM / -EINVAL
 *     ... read or change b->data ...
 *     bdirty(b);          // changed: written back later (bsync, the flusher)
 *     brelse(b);          // unlock, drop the reference
 *
 * - Block numbers count blocks of `blocksize` bytes (512..65536, a power
 *   of two) from the start of the device. Use one block size per device:
 *   switching sizes (ext2 reads the superblock as 1024 bytes, then uses its
 *   own size) writes back and drops the old size's unreferenced buffers
 *   first, so nothing is seen twice under two names.
 * - bread returns the buffer LOCKED (a sleeping lock): only its holder
 *   touches b->data until brelse. Holding two different blocks is fine;
 *   taking the same block twice in one thread deadlocks.
 * - Do not mix blk_write on a range with cached buffers of that range.
 *
 * Durability (what survives a crash or power cut):
 *   bdirty(b)   nothing yet: the block is written back by bsync/bflush_dev,
 *               by the flusher thread (dirty for more than 5 s, or too many
 *               dirty buffers), or when it leaves the cache.
 *   bwrite(b)   the block reached the device (not yet stable storage).
 *   bsync(bd)   every dirty block of bd written AND the device flushed:
 *               all of it is on stable storage when 0 is returned.
 *               fsync/sync of a file system on bd call this.
 * Errors of write-back are returned by the next bsync of that device.
 */
#pragma once
#include "drivers/block/blockdev.h"
#include "sched/list.h"
#include "sched/sync.h"

struct buf {
	struct blockdev *bdev;
	uint64_t blockno;
	uint32_t size;
	uint8_t *data;             /* size bytes */
	/* Internal. */
	unsigned flags;            /* BUF_VALID, BUF_DIRTY ... */
	int refcnt;                /* under the cache lock */
	struct mutex lock;         /* held by the user between bread and brelse */
	struct list lru;           /* cache list, most recently released first */
	struct list hash;          /* hash chain */
	struct list dirty;         /* on the dirty list, oldest first, while BUF_DIRTY */
	uint64_t dirty_since;      /* clock_monotonic_ns when it became dirty */
};

#define BUF_VALID 1u           /* data holds the disk's contents */
#define BUF_DIRTY 2u           /* data is newer than the disk's */

/* Error returns are small negative numbers cast to pointers. */
#define IS_ERR_BUF(b) ((uintptr_t)(b) >= (uintptr_t)-4095)
static inline int buf_err(const struct buf *b) { return (int)(intptr_t)b; }

/* The block, read from the disk unless cached; locked. */
struct buf *bread(struct blockdev *bd, uint64_t blockno, uint32_t blocksize);
/* The block WITHOUT reading it when not cached: for a block the caller
 * overwrites entirely. Its data is zeroed when it was not valid. */
struct buf *bget(struct blockdev *bd, uint64_t blockno, uint32_t blocksize);
/* Marks b changed (written back later). */
void bdirty(struct buf *b);
/* Writes b to the device now (and clears dirty); 0 or -EIO/-EROFS. */
int bwrite(struct buf *b);
/* Unlocks and drops the reference. */
void brelse(struct buf *b);
/* Writes every dirty buffer of bd, then blk_flush: durable on return 0.
 * Returns the first error (including earlier write-back errors). */
int bsync(struct blockdev *bd);
/* bsync of every device (sync(2)). */
int bsync_all(void);
/* Writes back and forgets bd's unreferenced buffers (unmount). */
int binvalidate(struct blockdev *bd);

struct bcache_stats {
	uint64_t hits, misses, readahead, writebacks, nbufs, ndirty;
};
void bcache_get_stats(struct bcache_stats *st);

/* Starts the flusher thread (after the scheduler is up). */
void blk_start_flusher(void);
