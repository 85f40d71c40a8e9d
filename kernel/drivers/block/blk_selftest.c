/*
 * selftest=blk: the block layer and a virtio-blk scratch disk the test
 * harness attached (tests/system/test_block.py), named by `blk.test=vdX`
 * (default vda). Without blk.test the test never writes: it only reads
 * (so selftest=all is harmless with a real disk attached), and with no
 * disk at all it is skipped. What the writing test writes is checked again from the host:
 *   sectors 0..2047 (the first MiB): sector s holds the 64-bit value
 *     s ^ 0x5749535000000000 ("WISP") then bytes (s + i) & 0xff;
 *   the 4 KiB blocks 512..527 (2 MiB on) written through the buffer
 *     cache: block b is filled with the byte (b * 7) & 0xff, then its first
 *     8 bytes are the text "BCACHE00" with the last two digits b % 100.
 * A read-only disk must refuse writes with -EROFS; an empty (0-sector)
 * disk must fail every transfer with -EIO; both pass without writing.
 */
#include "drivers/block/blockdev.h"
#include "drivers/block/buf.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "sched/thread.h"
#include "errno.h"

extern struct cmdline kernel_cmdline;

static int failures;

#define EXPECT(cond) do {                                                     \
	if (!(cond)) {                                                        \
		pr_err("blk selftest: %s:%d: %s", __FILE__, __LINE__, #cond); \
		failures++;                                                   \
	}                                                                     \
} while (0)

#define PATTERN_SECTORS 2048
#define BC_FIRST 512
#define BC_COUNT 16

static void fill_sector(uint8_t *p, uint64_t s)
{
	for (unsigned i = 0; i < BLK_SECTOR_SIZE; i++)
		p[i] = (uint8_t)(s + i);
	uint64_t tag = s ^ 0x5749535000000000ull;
	memcpy(p, &tag, 8);
}

static bool check_sector(const uint8_t *p, uint64_t s)
{
	uint8_t want[BLK_SECTOR_SIZE];
	fill_sector(want, s);
	return memcmp(p, want, BLK_SECTOR_SIZE) == 0;
}

struct worker {
	struct blockdev *bd;
	uint64_t first;      /* sector */
	unsigned count;
	int errors;
};

/* Rewrites its slice of the pattern in small pieces and reads it back,
 * while the other workers do the same: several requests in flight. */
static void worker_fn(void *arg)
{
	struct worker *w = arg;
	uint8_t *buf = kmalloc(8 * BLK_SECTOR_SIZE);
	if (!buf) {
		w->errors++;
		return;
	}
	for (unsigned s = 0; s < w->count; s += 8) {
		for (unsigned k = 0; k < 8; k++)
			fill_sector(buf + k * BLK_SECTOR_SIZE, w->first + s + k);
		if (blk_write(w->bd, w->first + s, 8, buf))
			w->errors++;
		memset(buf, 0, 8 * BLK_SECTOR_SIZE);
		if (blk_read(w->bd, w->first + s, 8, buf))
			w->errors++;
		for (unsigned k = 0; k < 8; k++)
			if (!check_sector(buf + k * BLK_SECTOR_SIZE, w->first + s + k))
				w->errors++;
	}
	kfree(buf);
}

static int test_rw(struct blockdev *bd)
{
	uint32_t n = PATTERN_SECTORS;
	if (bd->nsectors < 4096 + 1024) {
		pr_err("blk selftest: %s has %lu sectors; the test needs at least 5120", bd->name,
		       bd->nsectors);
		return 1;
	}
	/* One big transfer: split into many multi-segment requests. */
	uint8_t *big = kmalloc(n * BLK_SECTOR_SIZE);
	EXPECT(big != NULL);
	if (!big)
		return failures;
	for (uint32_t s = 0; s < n; s++)
		fill_sector(big + s * BLK_SECTOR_SIZE, s);
	EXPECT(blk_write(bd, 0, n, big) == 0);
	memset(big, 0, n * BLK_SECTOR_SIZE);
	EXPECT(blk_read(bd, 0, n, big) == 0);
	unsigned bad = 0;
	for (uint32_t s = 0; s < n; s++)
		bad += !check_sector(big + s * BLK_SECTOR_SIZE, s);
	EXPECT(bad == 0);
	if (bad)
		pr_err("blk selftest: %u of %u sectors read back wrong", bad, n);

	/* A stack buffer straddling a page boundary (KVA, split by page). */
	uint8_t stackbuf[3 * BLK_SECTOR_SIZE + 64];
	uint8_t *sb = stackbuf + 32;
	EXPECT(blk_read(bd, 100, 3, sb) == 0);
	EXPECT(check_sector(sb, 100) && check_sector(sb + 512, 101) && check_sector(sb + 1024, 102));

	/* Out of range and bad arguments. */
	EXPECT(blk_read(bd, bd->nsectors, 1, sb) == -EIO);
	EXPECT(blk_read(bd, bd->nsectors - 1, 2, sb) == -EIO);
	EXPECT(blk_read(bd, bd->nsectors - 1, 1, sb) == 0);
	EXPECT(blk_flush(bd) == 0);

	/* Concurrency: four threads on four slices of the pattern. */
	struct worker w[4];
	struct thread *t[4];
	for (int i = 0; i < 4; i++) {
		w[i] = (struct worker){ bd, (uint64_t)i * (n / 4), n / 4, 0 };
		t[i] = thread_create(worker_fn, &w[i], "blktest");
		EXPECT(t[i] != NULL);
	}
	for (int i = 0; i < 4; i++)
		if (t[i]) {
			thread_join(t[i]);
			EXPECT(w[i].errors == 0);
		}

	/* The buffer cache: write through bdirty + bsync, check raw. */
	for (unsigned k = 0; k < BC_COUNT; k++) {
		struct buf *b = bget(bd, BC_FIRST + k, 4096);
		EXPECT(!IS_ERR_BUF(b));
		if (IS_ERR_BUF(b))
			break;
		memset(b->data, (int)(((BC_FIRST + k) * 7) & 0xff), 4096);
		memcpy(b->data, "BCACHE00", 8);
		b->data[6] = (uint8_t)('0' + (BC_FIRST + k) % 100 / 10);
		b->data[7] = (uint8_t)('0' + (BC_FIRST + k) % 10);
		bdirty(b);
		brelse(b);
	}
	struct bcache_stats st0, st1;
	bcache_get_stats(&st0);
	EXPECT(st0.ndirty >= BC_COUNT);
	EXPECT(bsync(bd) == 0);
	bcache_get_stats(&st1);
	EXPECT(st1.ndirty == 0);
	uint8_t *raw = kmalloc(4096);
	if (raw) {
		for (unsigned k = 0; k < BC_COUNT; k++) {
			EXPECT(blk_read(bd, (BC_FIRST + k) * 8ull, 8, raw) == 0);
			EXPECT(raw[0] == 'B' && raw[100] == (((BC_FIRST + k) * 7) & 0xff));
		}
		kfree(raw);
	}
	/* Sequential reads of the pattern through the cache: read-ahead. */
	for (unsigned blk = 0; blk < 64; blk++) {
		struct buf *b = bread(bd, blk, 4096);
		EXPECT(!IS_ERR_BUF(b));
		if (IS_ERR_BUF(b))
			break;
		EXPECT(check_sector(b->data, blk * 8) && check_sector(b->data + 3584, blk * 8 + 7));
		brelse(b);
	}
	bcache_get_stats(&st1);
	EXPECT(st1.readahead > st0.readahead);
	/* Block size switch (ext2 reads its superblock as 1 KiB first). */
	struct buf *b1 = bread(bd, 3, 1024);
	EXPECT(!IS_ERR_BUF(b1) && check_sector(b1->data, 6) && check_sector(b1->data + 512, 7));
	if (!IS_ERR_BUF(b1))
		brelse(b1);
	EXPECT(IS_ERR_BUF(bread(bd, bd->nsectors, 1024)) &&
	       buf_err(bread(bd, bd->nsectors, 1024)) == -EIO);
	EXPECT(binvalidate(bd) == 0);
	kfree(big);
	pr_info("blk selftest: %s: %lu reads, %lu writes, %lu flushes; cache hits %lu misses %lu "
		"read-ahead %lu write-backs %lu", bd->name, bd->nr_reads, bd->nr_writes,
		bd->nr_flushes, st1.hits, st1.misses, st1.readahead, st1.writebacks);
	return failures;
}

static int test_readonly(struct blockdev *bd)
{
	uint8_t *buf = kmalloc(4096);
	if (!buf)
		return 1;
	EXPECT(blk_write(bd, 0, 1, buf) == -EROFS);
	if (bd->nsectors >= 8) {
		EXPECT(blk_read(bd, 0, 8, buf) == 0);
		struct buf *b = bread(bd, 0, 4096);
		EXPECT(!IS_ERR_BUF(b));
		if (!IS_ERR_BUF(b)) {
			EXPECT(bwrite(b) == -EROFS);
			brelse(b);
		}
	}
	EXPECT(blk_flush(bd) == 0);
	kfree(buf);
	pr_info("blk selftest: %s is read-only: writes refused with EROFS", bd->name);
	return failures;
}

static int test_empty(struct blockdev *bd)
{
	uint8_t buf[512];
	EXPECT(blk_read(bd, 0, 1, buf) == -EIO);
	EXPECT(bd->readonly ? blk_write(bd, 0, 1, buf) == -EROFS : blk_write(bd, 0, 1, buf) == -EIO);
	EXPECT(IS_ERR_BUF(bread(bd, 0, 1024)));
	EXPECT(blk_read(bd, 0, 0, buf) == 0);
	pr_info("blk selftest: %s is empty (0 sectors): transfers fail with EIO", bd->name);
	return failures;
}

/* Reads only: what runs when no blk.test names a scratch disk. */
static int test_readonly_checks(struct blockdev *bd)
{
	uint8_t *buf = kmalloc(8 * BLK_SECTOR_SIZE);
	if (!buf)
		return 1;
	uint32_t n = (uint32_t)MIN(bd->nsectors, 8u);
	EXPECT(blk_read(bd, 0, n, buf) == 0);
	EXPECT(blk_read(bd, bd->nsectors, 1, buf) == -EIO);
	EXPECT(blk_read(bd, bd->nsectors - 1, 1, buf) == 0);
	kfree(buf);
	pr_info("blk selftest: %s: reads only (blk.test=%s would write test patterns)",
		bd->name, bd->name);
	return failures;
}

static int blk_selftest(void)
{
	failures = 0;
	const char *name = cmdline_get(&kernel_cmdline, "blk.test");
	if (!name && blockdev_count() == 0) {
		/* selftest=all on a machine without disks. */
		pr_info("blk selftest: no block device attached: skipped (blk.test=vdX names one)");
		return 0;
	}
	if (!name)
		name = "vda";
	for (struct blockdev *bd = blockdev_next(NULL); bd; bd = blockdev_next(bd))
		pr_info("blk selftest: found %s: %lu sectors%s%s", bd->name, bd->nsectors,
			bd->readonly ? " ro" : "", bd->flush_supported ? " flush" : "");
	struct blockdev *bd = blockdev_find(name);
	if (!bd) {
		pr_err("blk selftest: no block device %s (%u found)", name, blockdev_count());
		return 1;
	}
	if (bd->nsectors == 0)
		return test_empty(bd);
	if (bd->readonly)
		return test_readonly(bd);
	if (!cmdline_get(&kernel_cmdline, "blk.test"))
		return test_readonly_checks(bd);
	return test_rw(bd);
}
SELFTEST("blk", blk_selftest);
