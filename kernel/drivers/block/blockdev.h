/*
 * Block devices: the interface file systems use to reach a disk.
 *
 * A block device is an array of 512-byte sectors. Drivers (virtio-blk)
 * register one struct blockdev per disk, named vda, vdb, ... in discovery
 * order; file systems find it by name and call blk_read/blk_write/blk_flush,
 * or go through the buffer cache (drivers/block/buf.h), which is what ext2
 * should use.
 *
 * All calls here are synchronous and sleep (thread context only, never in
 * an interrupt handler or with a spinlock held). Return values: 0, or
 * -EIO (device error, request beyond the end of the disk), -EROFS (write
 * to a read-only device), -EINVAL (bad arguments), -ENOMEM.
 *
 * Durability: blk_write returns when the device has the data, which for a
 * disk with a volatile write cache (QEMU's default, cache=writeback) is NOT
 * yet stable storage. blk_flush returns when everything written before it
 * is stable. A device without a write cache (bd->flush_supported false)
 * makes every completed write stable, and blk_flush is then a no-op that
 * returns 0.
 *
 * Several threads may call these at once on one device; requests then run
 * in flight together (up to the device's queue depth), and each caller
 * waits for its own.
 */
#pragma once

#define BLK_SECTOR_SIZE  512u
#define BLK_SECTOR_SHIFT 9

struct blockdev;
struct blk_request;

enum blk_op {
	BLK_OP_READ,
	BLK_OP_WRITE,
	BLK_OP_FLUSH,
};

/* One piece of memory in a request: a kernel virtual address that is
 * physically contiguous for len bytes (the heap, the page allocator and
 * the direct map always are; kernel stacks only within a page).
 * blk_read/blk_write split any kernel buffer this way themselves. A
 * request's segments add up to a multiple of 512; each may be any length. */
struct blk_seg {
	void *buf;
	uint32_t len;
};

#define BLK_MAX_SEGS 32

/*
 * An asynchronous request, for code that wants several in flight (the
 * buffer cache's read-ahead and write-back). Fill op/sector/segs/nsegs and
 * `done` (called once from interrupt context or from the submitter with the
 * final status; may be NULL when the caller uses blk_wait), then
 * blk_submit(). The request must stay alive until it completes.
 */
struct blk_request {
	enum blk_op op;
	uint64_t sector;
	unsigned nsegs;
	struct blk_seg segs[BLK_MAX_SEGS];
	void (*done)(struct blk_request *rq);
	void *priv;                /* the submitter's */
	/* Set by the layer. */
	struct blockdev *bdev;
	volatile int status;       /* 0, -EIO, -EROFS ... once complete */
	volatile bool complete;
	/* The driver's per-request scratch (virtio-blk: header and status
	 * byte, which the device reads/writes by DMA). */
	uint8_t drv[32] __aligned(32);
};

struct blockdev_ops {
	/* Starts rq (already checked against size, read-only and limits).
	 * May sleep for a free queue slot. Completes it later by calling
	 * blk_complete(rq, status). Returns 0, or -errno when it could not
	 * start it (then blk_complete is not called). */
	int (*submit)(struct blockdev *bd, struct blk_request *rq);
	/* Early-boot fallback before interrupts work: process completions
	 * by polling. May be NULL. */
	void (*poll)(struct blockdev *bd);
};

struct blockdev {
	char name[16];             /* "vda" */
	uint32_t sector_size;      /* always BLK_SECTOR_SIZE */
	uint64_t nsectors;         /* capacity in 512-byte sectors (may be 0) */
	bool readonly;             /* writes give -EROFS */
	bool flush_supported;      /* has a write cache; blk_flush sends a flush */
	/* Driver limits for one request (blk_read/blk_write split larger ones). */
	unsigned max_segs;         /* <= BLK_MAX_SEGS */
	uint32_t max_seg_size;     /* bytes, a multiple of 512 */
	uint32_t max_sectors;      /* per request */
	const struct blockdev_ops *ops;
	void *priv;                /* the driver's */
	struct blockdev *next;     /* registry, in registration order */
	/* Statistics (approximate; no lock). */
	uint64_t nr_reads, nr_writes, nr_flushes, nr_errors;
	uint64_t sectors_read, sectors_written;
	/* The buffer cache's per-device state (buf.c). */
	uint32_t bcache_blocksize;
	uint64_t bcache_last_miss;
	int bcache_error;          /* write-back error not yet reported by bsync */
};

/* ---- for file systems ---- */

/* count sectors at `sector` into/from buf (any kernel memory, any length
 * up to the end of the disk; split into requests as the driver needs). */
int blk_read(struct blockdev *bd, uint64_t sector, uint32_t count, void *buf);
int blk_write(struct blockdev *bd, uint64_t sector, uint32_t count, const void *buf);
/* Everything completed before the call is on stable storage on return. */
int blk_flush(struct blockdev *bd);
/* Capacity in bytes. */
static inline uint64_t blk_size_bytes(const struct blockdev *bd)
{
	return bd->nsectors << BLK_SECTOR_SHIFT;
}

/* By name ("vda"), or NULL. Devices are never unregistered. */
struct blockdev *blockdev_find(const char *name);
/* Iteration: blockdev_next(NULL) is the first, NULL after the last. */
struct blockdev *blockdev_next(struct blockdev *prev);
unsigned blockdev_count(void);

/* ---- asynchronous requests ---- */

/* Checks and starts rq; 0 when started (rq->done / blk_wait will see the
 * end), else -errno and nothing was started. */
int blk_submit(struct blockdev *bd, struct blk_request *rq);
/* Sleeps until rq is complete; returns rq->status. */
int blk_wait(struct blockdev *bd, struct blk_request *rq);

/* ---- for drivers ---- */

/* Gives the device its name (vda, vdb, ...) and adds it to the registry. */
int blockdev_register(struct blockdev *bd);
/* The driver's completion: from interrupt context or poll. */
void blk_complete(struct blk_request *rq, int status);
/* The name the next virtio disk gets ("vd" + letter). */
void blockdev_next_name(const char *prefix, char *out, size_t outlen);

/* Brings up the block layer (the buffer cache). Before any driver. */
void blk_init(void);
