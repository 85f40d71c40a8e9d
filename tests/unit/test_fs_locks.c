/* Unit tests for the pure parts of the VFS: lock ranges (lockrange.c)
 * and the pipe's ring buffer (ring.h). */
#include "../../kernel/fs/lockrange.c"
#include "../../kernel/fs/ring.h"

#include "check.h"

#include <stdlib.h>
#include <string.h>

static size_t live;
static int fail_after = -1;

void *fs_alloc(size_t size)
{
	if (fail_after == 0)
		return NULL;
	if (fail_after > 0)
		fail_after--;
	live++;
	return calloc(1, size);
}

void fs_free(void *p)
{
	if (p)
		live--;
	free(p);
}

static int count(const struct file_lock *l)
{
	int n = 0;
	for (; l; l = l->next)
		n++;
	return n;
}

static const struct file_lock *find(const struct file_lock *l, uint64_t start)
{
	for (; l; l = l->next)
		if (l->start == start)
			return l;
	return NULL;
}

static const char A, B;

static void ranges(void)
{
	struct file_lock *list = NULL;
	CHECK(lock_apply(&list, LK_POSIX, &A, 1, LK_WRITE, 0, 99) == 0 && count(list) == 1);
	/* Same owner: never a conflict. Another: write conflicts. */
	CHECK(!lock_conflict(list, LK_POSIX, &A, LK_WRITE, 0, 10));
	CHECK(lock_conflict(list, LK_POSIX, &B, LK_READ, 50, 50));
	CHECK(!lock_conflict(list, LK_POSIX, &B, LK_READ, 100, 200));
	CHECK(!lock_conflict(list, LK_FLOCK, &B, LK_WRITE, 0, 10));   /* other class */
	/* Unlock the middle: a split. */
	CHECK(lock_apply(&list, LK_POSIX, &A, 1, LK_UNLOCK, 40, 59) == 0 && count(list) == 2);
	CHECK(find(list, 0) && find(list, 0)->end == 39 && find(list, 60) && find(list, 60)->end == 99);
	CHECK(!lock_conflict(list, LK_POSIX, &B, LK_WRITE, 40, 59));
	/* A read lock in the hole joins nothing (other type); a write lock
	 * over it merges all three. */
	CHECK(lock_apply(&list, LK_POSIX, &A, 1, LK_READ, 40, 59) == 0 && count(list) == 3);
	CHECK(!lock_conflict(list, LK_POSIX, &B, LK_READ, 45, 45));
	CHECK(lock_apply(&list, LK_POSIX, &A, 1, LK_WRITE, 40, 59) == 0 && count(list) == 1);
	CHECK(list->start == 0 && list->end == 99);
	/* Adjacent ranges merge; to-EOF ranges stay open. */
	CHECK(lock_apply(&list, LK_POSIX, &A, 1, LK_WRITE, 100, LOCK_EOF) == 0 && count(list) == 1);
	CHECK(list->end == LOCK_EOF);
	CHECK(lock_conflict(list, LK_POSIX, &B, LK_READ, UINT64_MAX - 5, LOCK_EOF));
	/* Another owner's locks are left alone. */
	CHECK(lock_apply(&list, LK_POSIX, &B, 2, LK_READ, 0, 0) == 0 && count(list) == 2);
	lock_remove_owner(&list, LK_POSIX, &A);
	CHECK(count(list) == 1 && list->owner == &B);
	/* Out of memory: nothing changes. */
	fail_after = 1;
	CHECK(lock_apply(&list, LK_POSIX, &B, 2, LK_WRITE, 5, 6) == -ENOMEM && count(list) == 1);
	fail_after = -1;
	lock_remove_owner(&list, LK_POSIX, &B);
	CHECK(list == NULL && live == 0);
}

static void ring(void)
{
	uint8_t buf[16], out[64];
	struct ring r = { buf, sizeof(buf), 0, 0 };
	size_t len;
	uint8_t *p = ring_write_span(&r, &len);
	CHECK(p == buf && len == 16);
	memcpy(p, "abcdefghij", 10);
	ring_produce(&r, 10);
	CHECK(ring_room(&r) == 6);
	p = ring_read_span(&r, &len);
	CHECK(len == 10 && !memcmp(p, "abcdefghij", 10));
	ring_consume(&r, 8);
	/* Wrap around: the free space is in two pieces. */
	p = ring_write_span(&r, &len);
	CHECK(p == buf + 10 && len == 6);
	memcpy(p, "klmnop", 6);
	ring_produce(&r, 6);
	p = ring_write_span(&r, &len);
	CHECK(p == buf && len == 8);
	memcpy(p, "qrst", 4);
	ring_produce(&r, 4);
	CHECK(r.count == 12);
	p = ring_read_span(&r, &len);
	CHECK(len == 8 && !memcmp(p, "ijklmnop", 8));
	/* Growing keeps the order. */
	uint8_t big[32];
	ring_move(&r, big, sizeof(big));
	p = ring_read_span(&r, &len);
	CHECK(len == 12 && !memcmp(p, "ijklmnopqrst", 12) && r.cap == 32);
	ring_consume(&r, 12);
	CHECK(r.count == 0 && r.head == 0);
	(void)out;
}

int main(void)
{
	ranges();
	ring();
	return CHECK_SUMMARY();
}
