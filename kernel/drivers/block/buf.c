/*
 * The buffer cache (buf.h).
 *
 * One spinlock (bc_lock) guards the hash chains, the LRU list, reference
 * counts, the DIRTY flag and the counters; each buffer's sleeping mutex
 * guards its data and VALID, and is held by whoever bread() it. A buffer
 * with references is never evicted; an unreferenced dirty one is written
 * before it may go. The cache grows to bc_limit bytes (1/8 of RAM), then
 * recycles the least recently released buffers.
 *
 * Read-ahead: a miss on the block right after the previous miss on the
 * same device reads up to BC_READAHEAD blocks in one request.
 * Write-back: bsync() writes a device's dirty buffers in block order,
 * merging neighbours into one request, then flushes the disk. The flusher
 * thread writes buffers dirty for more than 5 s, or everything when more
 * than half the cache is dirty (the dirty limit).
 */
#include "drivers/block/buf.h"
#include "arch/x86_64/time.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "mm/page_alloc.h"
#include "sched/thread.h"
#include "errno.h"

#define BC_NHASH      256
#define BC_READAHEAD  8
#define BC_BATCH      64
#define BC_EXPIRE_NS  5000000000ull
#define BC_FLUSH_PERIOD_NS 1000000000ull

static spinlock_t bc_lock = SPINLOCK_INIT;
static struct list bc_lru = LIST_INIT(bc_lru);      /* front: most recently used */
static struct list bc_hash[BC_NHASH];
static struct list bc_dirty = LIST_INIT(bc_dirty);  /* dirty buffers, oldest first */
static uint64_t bc_bytes, bc_limit, bc_ndirty_bytes;
static struct bcache_stats st;
static struct wait_queue flusher_wq = WAIT_QUEUE_INIT(flusher_wq);
static volatile bool flusher_kick;

static unsigned hashof(struct blockdev *bd, uint64_t blockno)
{
	uint64_t h = (uint64_t)bd * 31 + blockno * 0x9e3779b97f4a7c15ull;
	return (unsigned)(h >> 56) % BC_NHASH;
}

static struct buf *lookup(struct blockdev *bd, uint64_t blockno, uint32_t size)
{
	struct list *head = &bc_hash[hashof(bd, blockno)];
	for (struct list *l = head->next; l != head; l = l->next) {
		struct buf *b = list_entry(l, struct buf, hash);
		if (b->bdev == bd && b->blockno == blockno && b->size == size)
			return b;
	}
	return NULL;
}

static struct buf *buf_alloc(struct blockdev *bd, uint64_t blockno, uint32_t size)
{
	struct buf *b = kzalloc(sizeof(*b));
	if (!b)
		return NULL;
	b->data = kmalloc(size);
	if (!b->data) {
		kfree(b);
		return NULL;
	}
	b->bdev = bd;
	b->blockno = blockno;
	b->size = size;
	mutex_init(&b->lock);
	return b;
}

static void buf_free(struct buf *b)
{
	kfree(b->data);
	kfree(b);
}

/* Under bc_lock: a new buffer joins the cache, referenced and locked. */
static void insert_locked(struct buf *b)
{
	b->refcnt = 1;
	mutex_trylock(&b->lock);          /* brand new: cannot fail */
	list_push_front(&bc_hash[hashof(b->bdev, b->blockno)], &b->hash);
	list_push_front(&bc_lru, &b->lru);
	bc_bytes += b->size;
	st.nbufs++;
}

static void remove_locked(struct buf *b)
{
	list_remove(&b->hash);
	list_remove(&b->lru);
	bc_bytes -= b->size;
	st.nbufs--;
}

static void clear_dirty_locked(struct buf *b)
{
	if (b->flags & BUF_DIRTY) {
		b->flags &= ~BUF_DIRTY;
		list_remove(&b->dirty);
		bc_ndirty_bytes -= b->size;
		st.ndirty--;
	}
}

/* Writes n locked buffers of one device with consecutive block numbers
 * in as few requests as the device allows. Clears DIRTY first, so a
 * change made while the write runs (impossible: we hold the locks) ... is
 * not lost; errors are remembered on the device for the next bsync. */
static int write_run(struct buf **bufs, unsigned n)
{
	struct blockdev *bd = bufs[0]->bdev;
	uint64_t f = spin_lock_irqsave(&bc_lock);
	for (unsigned i = 0; i < n; i++)
		clear_dirty_locked(bufs[i]);
	spin_unlock_irqrestore(&bc_lock, f);
	struct blk_request *rq = kzalloc(sizeof(*rq));
	if (!rq)
		return -ENOMEM;
	int err = 0;
	unsigned i = 0;
	uint32_t spb = bufs[0]->size >> BLK_SECTOR_SHIFT;
	while (i < n) {
		memset(rq, 0, sizeof(*rq));
		rq->op = BLK_OP_WRITE;
		rq->sector = bufs[i]->blockno * spb;
		uint32_t sectors = 0;
		while (i < n && rq->nsegs < bd->max_segs && bufs[i]->size <= bd->max_seg_size &&
		       sectors + spb <= bd->max_sectors) {
			rq->segs[rq->nsegs].buf = bufs[i]->data;
			rq->segs[rq->nsegs].len = bufs[i]->size;
			rq->nsegs++;
			sectors += spb;
			i++;
		}
		int r;
		if (rq->nsegs == 0) {
			/* A block larger than one segment: the plain path splits it. */
			r = blk_write(bd, bufs[i]->blockno * spb, spb, bufs[i]->data);
			i++;
		} else {
			r = blk_submit(bd, rq);
			if (r == 0)
				r = blk_wait(bd, rq);
		}
		st.writebacks++;
		if (r && !err)
			err = r;
	}
	kfree(rq);
	if (err) {
		pr_err("block: %s: write-back failed (%d); data written since the last sync may be lost",
		       bd->name, err);
		if (!bd->bcache_error)
			bd->bcache_error = err;
	}
	return err;
}

static struct buf *getblk(struct blockdev *bd, uint64_t blockno, uint32_t size, bool *created);
static void shrink(void);

static bool size_ok(struct blockdev *bd, uint64_t blockno, uint32_t size)
{
	if (size < BLK_SECTOR_SIZE || size > 65536 || (size & (size - 1)))
		return false;
	uint64_t spb = size >> BLK_SECTOR_SHIFT;
	return blockno < bd->nsectors / spb;
}

static int switch_size(struct blockdev *bd, uint32_t size)
{
	if (bd->bcache_blocksize == size)
		return 0;
	if (bd->bcache_blocksize)
		binvalidate(bd);
	bd->bcache_blocksize = size;
	bd->bcache_last_miss = UINT64_MAX - 1;
	return 0;
}

static struct buf *getblk(struct blockdev *bd, uint64_t blockno, uint32_t size, bool *created)
{
	*created = false;
	uint64_t f = spin_lock_irqsave(&bc_lock);
	struct buf *b = lookup(bd, blockno, size);
	if (b) {
		b->refcnt++;
		spin_unlock_irqrestore(&bc_lock, f);
		mutex_lock(&b->lock);
		return b;
	}
	spin_unlock_irqrestore(&bc_lock, f);
	struct buf *nb = buf_alloc(bd, blockno, size);
	if (!nb) {
		shrink();
		nb = buf_alloc(bd, blockno, size);
		if (!nb)
			return NULL;
	}
	f = spin_lock_irqsave(&bc_lock);
	b = lookup(bd, blockno, size);
	if (b) {
		b->refcnt++;
		spin_unlock_irqrestore(&bc_lock, f);
		buf_free(nb);
		mutex_lock(&b->lock);
		return b;
	}
	insert_locked(nb);
	spin_unlock_irqrestore(&bc_lock, f);
	*created = true;
	if (bc_bytes > bc_limit)
		shrink();
	return nb;
}

/* Read-ahead helper: a new locked buffer for blockno, or NULL when it is
 * cached already (or memory is short). Never sleeps on another's lock. */
static struct buf *getblk_new(struct blockdev *bd, uint64_t blockno, uint32_t size)
{
	uint64_t f = spin_lock_irqsave(&bc_lock);
	bool cached = lookup(bd, blockno, size) != NULL;
	spin_unlock_irqrestore(&bc_lock, f);
	if (cached)
		return NULL;
	struct buf *nb = buf_alloc(bd, blockno, size);
	if (!nb)
		return NULL;
	f = spin_lock_irqsave(&bc_lock);
	if (lookup(bd, blockno, size)) {
		spin_unlock_irqrestore(&bc_lock, f);
		buf_free(nb);
		return NULL;
	}
	insert_locked(nb);
	spin_unlock_irqrestore(&bc_lock, f);
	return nb;
}

/* Drops clean unreferenced buffers from the LRU tail, writing dirty ones
 * first, until the cache is within its limit (or nothing can go). */
static void shrink(void)
{
	for (int guard = 0; guard < 100000; guard++) {
		uint64_t f = spin_lock_irqsave(&bc_lock);
		if (bc_bytes <= bc_limit) {
			spin_unlock_irqrestore(&bc_lock, f);
			return;
		}
		struct buf *victim = NULL;
		for (struct list *l = bc_lru.prev; l != &bc_lru; l = l->prev) {
			struct buf *b = list_entry(l, struct buf, lru);
			if (b->refcnt == 0) {
				victim = b;
				break;
			}
		}
		if (!victim) {
			spin_unlock_irqrestore(&bc_lock, f);
			return;
		}
		if (!(victim->flags & BUF_DIRTY)) {
			remove_locked(victim);
			spin_unlock_irqrestore(&bc_lock, f);
			buf_free(victim);
			continue;
		}
		victim->refcnt++;
		spin_unlock_irqrestore(&bc_lock, f);
		mutex_lock(&victim->lock);
		if (victim->flags & BUF_DIRTY)
			write_run(&victim, 1);
		mutex_unlock(&victim->lock);
		f = spin_lock_irqsave(&bc_lock);
		victim->refcnt--;
		spin_unlock_irqrestore(&bc_lock, f);
	}
}

static struct buf *get_or_read(struct blockdev *bd, uint64_t blockno, uint32_t size, bool read)
{
	if (!bd)
		return (struct buf *)(intptr_t)-EINVAL;
	if (!size_ok(bd, blockno, size))
		return (struct buf *)(intptr_t)(size < BLK_SECTOR_SIZE || (size & (size - 1)) ||
						size > 65536 ? -EINVAL : -EIO);
	switch_size(bd, size);
	bool created;
	struct buf *b = getblk(bd, blockno, size, &created);
	if (!b)
		return (struct buf *)(intptr_t)-ENOMEM;
	if (b->flags & BUF_VALID) {
		st.hits++;
		return b;
	}
	if (!read) {
		memset(b->data, 0, size);
		b->flags |= BUF_VALID;
		return b;
	}
	st.misses++;
	/* Sequential: read this block and a few after it in one request. */
	struct buf *ra[BC_READAHEAD];
	unsigned nra = 0;
	uint32_t spb = size >> BLK_SECTOR_SHIFT;
	if (blockno == bd->bcache_last_miss + 1) {
		unsigned max = MIN((unsigned)BC_READAHEAD, bd->max_segs) - 1;
		while (nra < max && (nra + 2) * spb <= bd->max_sectors &&
		       size <= bd->max_seg_size && size_ok(bd, blockno + 1 + nra, size)) {
			struct buf *n = getblk_new(bd, blockno + 1 + nra, size);
			if (!n)
				break;
			ra[nra++] = n;
		}
	}
	bd->bcache_last_miss = blockno + nra;
	int r;
	if (nra) {
		struct blk_request *rq = kzalloc(sizeof(*rq));
		r = -ENOMEM;
		if (rq) {
			rq->op = BLK_OP_READ;
			rq->sector = blockno * spb;
			rq->segs[0] = (struct blk_seg){ b->data, size };
			for (unsigned i = 0; i < nra; i++)
				rq->segs[i + 1] = (struct blk_seg){ ra[i]->data, size };
			rq->nsegs = nra + 1;
			r = blk_submit(bd, rq);
			if (r == 0)
				r = blk_wait(bd, rq);
			kfree(rq);
		}
		st.readahead += nra;
		for (unsigned i = 0; i < nra; i++) {
			if (r == 0)
				ra[i]->flags |= BUF_VALID;
			brelse(ra[i]);
		}
	} else {
		r = blk_read(bd, blockno * spb, spb, b->data);
	}
	if (nra && bc_bytes > bc_limit)
		shrink();
	if (r) {
		brelse(b);
		return (struct buf *)(intptr_t)r;
	}
	b->flags |= BUF_VALID;
	return b;
}

struct buf *bread(struct blockdev *bd, uint64_t blockno, uint32_t blocksize)
{
	return get_or_read(bd, blockno, blocksize, true);
}

struct buf *bget(struct blockdev *bd, uint64_t blockno, uint32_t blocksize)
{
	return get_or_read(bd, blockno, blocksize, false);
}

void bdirty(struct buf *b)
{
	uint64_t f = spin_lock_irqsave(&bc_lock);
	bool first = list_empty(&bc_dirty);
	if (!(b->flags & BUF_DIRTY)) {
		b->flags |= BUF_DIRTY;
		b->dirty_since = clock_monotonic_ns();
		list_push_back(&bc_dirty, &b->dirty);
		bc_ndirty_bytes += b->size;
		st.ndirty++;
	}
	bool over = bc_ndirty_bytes > bc_limit / 2;
	spin_unlock_irqrestore(&bc_lock, f);
	if (over && !flusher_kick) {
		flusher_kick = true;
		wq_wake(&flusher_wq, 1);
	} else if (first) {
		wq_wake(&flusher_wq, 1);   /* it sleeps without a deadline when clean */
	}
}

int bwrite(struct buf *b)
{
	if (b->bdev->readonly)
		return -EROFS;
	b->flags |= BUF_VALID;
	struct buf *one = b;
	return write_run(&one, 1);
}

void brelse(struct buf *b)
{
	mutex_unlock(&b->lock);
	uint64_t f = spin_lock_irqsave(&bc_lock);
	b->refcnt--;
	list_remove(&b->lru);
	list_push_front(&bc_lru, &b->lru);
	spin_unlock_irqrestore(&bc_lock, f);
}

static void sort_bufs(struct buf **v, unsigned n)
{
	for (unsigned i = 1; i < n; i++) {
		struct buf *x = v[i];
		unsigned j = i;
		while (j > 0 && v[j - 1]->blockno > x->blockno) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

/* Writes dirty buffers (of bd, or of every device when NULL) that became
 * dirty at or before `before`. Returns the first error.
 *
 * Locking: buffers are try-locked in block order, so runs of neighbours
 * go out as one request; a buffer someone else holds is then waited for
 * alone, holding no other buffer (no lock-order deadlock with a user that
 * holds several). A buffer the caller itself holds is written as it is. */
static int writeback(struct blockdev *bd, uint64_t before)
{
	struct buf **v = kmalloc(BC_BATCH * sizeof(*v));
	uint8_t *how = kmalloc(BC_BATCH);      /* 0 busy, 1 locked by us, 2 the caller's */
	if (!v || !how) {
		kfree(v);
		kfree(how);
		return -ENOMEM;
	}
	int err = 0;
	for (;;) {
		unsigned n = 0;
		uint64_t f = spin_lock_irqsave(&bc_lock);
		struct blockdev *dev = bd;
		for (struct list *l = bc_dirty.next; l != &bc_dirty && n < BC_BATCH; l = l->next) {
			struct buf *b = list_entry(l, struct buf, dirty);
			if (b->dirty_since > before)
				break;               /* the rest are younger */
			if (!dev)
				dev = b->bdev;       /* one device per batch */
			if (b->bdev != dev)
				continue;
			b->refcnt++;
			v[n++] = b;
		}
		spin_unlock_irqrestore(&bc_lock, f);
		if (n == 0)
			break;
		sort_bufs(v, n);
		for (unsigned i = 0; i < n; i++)
			how[i] = mutex_held(&v[i]->lock) ? 2 : mutex_trylock(&v[i]->lock) ? 1 : 0;
		unsigned i = 0;
		while (i < n) {
			if (!how[i] || !(v[i]->flags & BUF_DIRTY)) {
				i++;
				continue;
			}
			unsigned j = i + 1;
			while (j < n && how[j] && (v[j]->flags & BUF_DIRTY) &&
			       v[j]->blockno == v[j - 1]->blockno + 1 && v[j]->size == v[i]->size)
				j++;
			int r = write_run(&v[i], j - i);
			if (r && !err)
				err = r;
			i = j;
		}
		for (unsigned k = 0; k < n; k++)
			if (how[k] == 1)
				mutex_unlock(&v[k]->lock);
		for (unsigned k = 0; k < n; k++) {
			if (how[k] == 0) {
				mutex_lock(&v[k]->lock);
				if (v[k]->flags & BUF_DIRTY) {
					int r = write_run(&v[k], 1);
					if (r && !err)
						err = r;
				}
				mutex_unlock(&v[k]->lock);
			}
			f = spin_lock_irqsave(&bc_lock);
			v[k]->refcnt--;
			spin_unlock_irqrestore(&bc_lock, f);
		}
	}
	kfree(v);
	kfree(how);
	return err;
}

int bsync(struct blockdev *bd)
{
	int err = writeback(bd, clock_monotonic_ns());
	int r = blk_flush(bd);
	if (!err)
		err = r;
	if (!err && bd->bcache_error)
		err = bd->bcache_error;
	bd->bcache_error = 0;
	return err;
}

int bsync_all(void)
{
	int err = 0;
	for (struct blockdev *bd = blockdev_next(NULL); bd; bd = blockdev_next(bd)) {
		int r = bsync(bd);
		if (r && !err)
			err = r;
	}
	return err;
}

int binvalidate(struct blockdev *bd)
{
	int err = writeback(bd, UINT64_MAX);
	uint64_t f = spin_lock_irqsave(&bc_lock);
	struct list gone = LIST_INIT(gone);
	for (struct list *l = bc_lru.next, *nx; l != &bc_lru; l = nx) {
		nx = l->next;
		struct buf *b = list_entry(l, struct buf, lru);
		if (b->bdev != bd)
			continue;
		if (b->refcnt || (b->flags & BUF_DIRTY)) {
			pr_warn("block: %s: block %lu still in use while its cache is dropped",
				bd->name, b->blockno);
			continue;
		}
		remove_locked(b);
		list_push_back(&gone, &b->lru);
	}
	spin_unlock_irqrestore(&bc_lock, f);
	while (!list_empty(&gone)) {
		struct buf *b = list_entry(gone.next, struct buf, lru);
		list_remove(&b->lru);
		buf_free(b);
	}
	return err;
}

void bcache_get_stats(struct bcache_stats *out)
{
	uint64_t f = spin_lock_irqsave(&bc_lock);
	*out = st;
	spin_unlock_irqrestore(&bc_lock, f);
}

static void flusher(void *arg)
{
	(void)arg;
	for (;;) {
		/* With nothing dirty there is nothing to time: an idle VM takes
		 * no timer interrupts for us. bdirty wakes us at the first dirty
		 * buffer, and from then on we look every period. */
		uint64_t f = spin_lock_irqsave(&bc_lock);
		bool clean = list_empty(&bc_dirty);
		spin_unlock_irqrestore(&bc_lock, f);
		wq_wait_event(&flusher_wq, flusher_kick || (clean && !list_empty(&bc_dirty)),
			      clean ? TIME_FOREVER : clock_monotonic_ns() + BC_FLUSH_PERIOD_NS, 0);
		bool all = flusher_kick;
		flusher_kick = false;
		uint64_t now = clock_monotonic_ns();
		writeback(NULL, all ? now : (now > BC_EXPIRE_NS ? now - BC_EXPIRE_NS : 0));
	}
}

void blk_init(void)
{
	for (unsigned i = 0; i < BC_NHASH; i++)
		list_init(&bc_hash[i]);
	struct page_stats ps;
	page_alloc_stats(&ps);
	bc_limit = ps.total_pages * MM_PAGE_SIZE / 8;
	if (bc_limit < (1u << 20))
		bc_limit = 1u << 20;
	if (bc_limit > (256u << 20))
		bc_limit = 256u << 20;
	blk_start_flusher();
}

/* The flusher needs the scheduler running; blk_start_flusher() after. */
void blk_start_flusher(void)
{
	struct thread *t = thread_create(flusher, NULL, "bflush");
	if (t)
		thread_detach(t);
	else
		pr_warn("block: no flusher thread: dirty buffers are written only by sync");
}
