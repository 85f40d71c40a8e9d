/*
 * The block layer: the registry of disks, request checking, splitting of
 * large transfers into driver-sized requests (several in flight at once),
 * and the completion wait.
 *
 * Waiting: one wait queue for all requests (disks here have a handful of
 * waiters at a time; each waiter re-checks its own request). A wait that
 * sees no interrupt for 100 ms polls the device, so a lost or misrouted
 * interrupt costs time and a warning, never a hang. With interrupts off
 * (early boot) the wait polls.
 */
#include "drivers/block/blockdev.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/time.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "lib/printf.h"
#include "mm/heap.h"
#include "sched/thread.h"
#include "sched/wait.h"
#include "errno.h"

static struct blockdev *devs, **devs_tail = &devs;
static unsigned ndevs;
static struct wait_queue blk_wq = WAIT_QUEUE_INIT(blk_wq);
static unsigned next_vd;

struct blockdev *blockdev_find(const char *name)
{
	for (struct blockdev *bd = devs; bd; bd = bd->next)
		if (!strcmp(bd->name, name))
			return bd;
	return NULL;
}

struct blockdev *blockdev_next(struct blockdev *prev)
{
	return prev ? prev->next : devs;
}

unsigned blockdev_count(void) { return ndevs; }

void blockdev_next_name(const char *prefix, char *out, size_t outlen)
{
	/* vda..vdz, then vdaa.. as Linux does. */
	unsigned n = next_vd++;
	if (n < 26)
		snprintf(out, outlen, "%s%c", prefix, 'a' + n);
	else
		snprintf(out, outlen, "%s%c%c", prefix, 'a' + n / 26 - 1, 'a' + n % 26);
}

int blockdev_register(struct blockdev *bd)
{
	bd->sector_size = BLK_SECTOR_SIZE;
	if (!bd->max_segs || bd->max_segs > BLK_MAX_SEGS)
		bd->max_segs = BLK_MAX_SEGS;
	if (!bd->max_seg_size)
		bd->max_seg_size = 1u << 20;
	if (!bd->max_sectors)
		bd->max_sectors = 2048;
	bd->next = NULL;
	*devs_tail = bd;
	devs_tail = &bd->next;
	ndevs++;
	uint64_t mib = bd->nsectors >> 11;
	if (bd->nsectors == 0)
		pr_warn("block: %s: the disk is empty (0 sectors); every read and write fails", bd->name);
	else
		pr_info("block: %s: %lu sectors (%lu MiB)%s%s", bd->name, bd->nsectors, mib,
			bd->readonly ? ", read-only" : "",
			bd->flush_supported ? ", write cache (flush)" : ", no write cache");
	return 0;
}

static bool irqs_on(void)
{
	uint64_t fl;
	__asm__ volatile("pushfq; popq %0" : "=r"(fl));
	return fl & (1u << 9);
}

void blk_complete(struct blk_request *rq, int status)
{
	struct blockdev *bd = rq->bdev;
	rq->status = status;
	if (status) {
		bd->nr_errors++;
	}
	if (rq->done) {
		/* The owner may free rq in done(): no touching it afterwards. */
		rq->complete = true;
		rq->done(rq);
		wq_wake(&blk_wq, INT32_MAX);
		return;
	}
	uint64_t f = wq_lock(&blk_wq);
	rq->complete = true;
	wq_wake_locked(&blk_wq, INT32_MAX);
	wq_unlock(&blk_wq, f);
}

int blk_submit(struct blockdev *bd, struct blk_request *rq)
{
	rq->bdev = bd;
	rq->status = 0;
	rq->complete = false;
	if (rq->op == BLK_OP_FLUSH) {
		if (!bd->flush_supported) {
			/* No write cache: completed writes are already stable. */
			blk_complete(rq, 0);
			return 0;
		}
		bd->nr_flushes++;
		return bd->ops->submit(bd, rq);
	}
	if (rq->op != BLK_OP_READ && rq->op != BLK_OP_WRITE)
		return -EINVAL;
	if (rq->op == BLK_OP_WRITE && bd->readonly)
		return -EROFS;
	if (rq->nsegs == 0 || rq->nsegs > bd->max_segs)
		return -EINVAL;
	uint64_t bytes = 0;
	for (unsigned i = 0; i < rq->nsegs; i++) {
		if (!rq->segs[i].len || rq->segs[i].len > bd->max_seg_size)
			return -EINVAL;
		bytes += rq->segs[i].len;
	}
	if (bytes % BLK_SECTOR_SIZE)
		return -EINVAL;
	uint64_t n = bytes >> BLK_SECTOR_SHIFT;
	if (n > bd->max_sectors)
		return -EINVAL;
	if (rq->sector > bd->nsectors || n > bd->nsectors - rq->sector)
		return -EIO;           /* beyond the end of the disk */
	if (rq->op == BLK_OP_READ)
		bd->nr_reads++, bd->sectors_read += n;
	else
		bd->nr_writes++, bd->sectors_written += n;
	return bd->ops->submit(bd, rq);
}

int blk_wait(struct blockdev *bd, struct blk_request *rq)
{
	static bool warned;
	if (!irqs_on()) {
		while (!rq->complete) {
			if (bd->ops->poll)
				bd->ops->poll(bd);
			__asm__ volatile("pause");
		}
		return rq->status;
	}
	uint64_t f = wq_lock(&blk_wq);
	while (!rq->complete) {
		int r = wq_wait_locked(&blk_wq, f, 0, clock_monotonic_ns() + 100000000ull, 0);
		if (r == -ETIMEDOUT && !rq->complete && bd->ops->poll) {
			bd->ops->poll(bd);
			if (rq->complete && !warned) {
				warned = true;
				pr_warn("block: %s: a completion came without an interrupt; polling covers it",
					bd->name);
			}
		}
		f = wq_lock(&blk_wq);
	}
	wq_unlock(&blk_wq, f);
	return rq->status;
}

/* Bytes from p that are physically contiguous (at most len). */
static uint32_t contig_len(const uint8_t *p, uint32_t len)
{
	uint64_t v = (uint64_t)p;
	if (v >= DIRECT_MAP_BASE && v < DIRECT_MAP_BASE + boot_info.direct_map_end)
		return len;
	uint32_t to_page_end = (uint32_t)(PAGE_SIZE - (v & (PAGE_SIZE - 1)));
	return MIN(len, to_page_end);
}

#define BLK_INFLIGHT 4   /* requests one blk_read/blk_write keeps in flight */

static int blk_rw(struct blockdev *bd, enum blk_op op, uint64_t sector, uint32_t count,
		  uint8_t *buf)
{
	if (op == BLK_OP_WRITE && bd->readonly)
		return -EROFS;
	if (sector > bd->nsectors || count > bd->nsectors - sector)
		return -EIO;
	if (count == 0)
		return 0;
	struct blk_request *rqs = kzalloc(BLK_INFLIGHT * sizeof(*rqs));
	if (!rqs)
		return -ENOMEM;
	uint64_t left = (uint64_t)count << BLK_SECTOR_SHIFT;
	int err = 0;
	while (left && !err) {
		unsigned nrq = 0;
		for (; nrq < BLK_INFLIGHT && left; nrq++) {
			struct blk_request *rq = &rqs[nrq];
			memset(rq, 0, sizeof(*rq));
			rq->op = op;
			rq->sector = sector;
			uint64_t bytes = 0, limit = (uint64_t)bd->max_sectors << BLK_SECTOR_SHIFT;
			while (left && rq->nsegs < bd->max_segs && bytes < limit) {
				uint32_t want = (uint32_t)MIN(MIN(left, limit - bytes), bd->max_seg_size);
				uint32_t l = contig_len(buf, want);
				rq->segs[rq->nsegs].buf = buf;
				rq->segs[rq->nsegs].len = l;
				rq->nsegs++;
				buf += l, bytes += l, left -= l;
			}
			/* Segments may end mid-sector (page-split stack buffers);
			 * a request must not: give the partial tail back. */
			uint32_t tail = (uint32_t)(bytes % BLK_SECTOR_SIZE);
			while (tail) {
				struct blk_seg *s = &rq->segs[rq->nsegs - 1];
				uint32_t t = MIN(tail, s->len);
				s->len -= t, tail -= t, bytes -= t, buf -= t, left += t;
				if (!s->len)
					rq->nsegs--;
			}
			if (!bytes) {
				err = -EINVAL;   /* cannot happen with max_segs >= 2 */
				break;
			}
			sector += bytes >> BLK_SECTOR_SHIFT;
			int r = blk_submit(bd, rq);
			if (r < 0) {
				err = r;
				break;
			}
		}
		for (unsigned i = 0; i < nrq; i++) {
			int r = blk_wait(bd, &rqs[i]);
			if (r && !err)
				err = r;
		}
	}
	kfree(rqs);
	return err;
}

int blk_read(struct blockdev *bd, uint64_t sector, uint32_t count, void *buf)
{
	return blk_rw(bd, BLK_OP_READ, sector, count, buf);
}

int blk_write(struct blockdev *bd, uint64_t sector, uint32_t count, const void *buf)
{
	return blk_rw(bd, BLK_OP_WRITE, sector, count, (uint8_t *)buf);
}

int blk_flush(struct blockdev *bd)
{
	if (!bd->flush_supported)
		return 0;
	struct blk_request *rq = kzalloc(sizeof(*rq));
	if (!rq)
		return -ENOMEM;
	rq->op = BLK_OP_FLUSH;
	int r = blk_submit(bd, rq);
	if (r == 0)
		r = blk_wait(bd, rq);
	kfree(rq);
	return r;
}
