/*
 * fs_alloc/fs_free: the only memory the file system takes, in one place so
 * the tree does not depend on which allocator is behind it.
 *
 * The kernel heap (kzalloc/kfree) once mm_init() has given the page allocator
 * its RAM. Before that, a small static bump pool that never frees: it exists
 * only so unpacking works in a boot where mm_init does not run before the
 * subsystems. TRANSITIONAL: once kernel_main always calls mm_init() before
 * the "subsystems come up here" marker, delete the pool and heap_up() and
 * keep the two kzalloc/kfree lines.
 *
 * Only metadata (inodes, names, symlink targets, the hash table) lives here:
 * file data stays in the initrd module, which mm_init reserves for good.
 */
#include "fs/ramfs.h"
#include "mm/heap.h"
#include "mm/page_alloc.h"
#include "sched/spinlock.h"

#define FS_POOL_SIZE (1u << 20)

static uint8_t pool[FS_POOL_SIZE] __aligned(16);
static size_t pool_used, heap_bytes;
static spinlock_t pool_lock = SPINLOCK_INIT;

static bool in_pool(const void *p)
{
	return (const uint8_t *)p >= pool && (const uint8_t *)p < pool + FS_POOL_SIZE;
}

/* The heap can only hand out memory once the page allocator has some. */
static bool heap_up(void)
{
	static bool up;
	if (!READ_ONCE(up)) {
		struct page_stats st;
		page_alloc_stats(&st);
		if (st.total_pages)
			WRITE_ONCE(up, true);
	}
	return READ_ONCE(up);
}

void *fs_alloc(size_t size)
{
	if (heap_up()) {
		void *p = kzalloc(size);
		if (p)
			__atomic_fetch_add(&heap_bytes, kmalloc_usable_size(p), __ATOMIC_RELAXED);
		return p;
	}
	size = ALIGN_UP(size, (size_t)16);
	uint64_t f = spin_lock_irqsave(&pool_lock);
	void *p = NULL;
	if (size <= FS_POOL_SIZE - pool_used) {
		p = pool + pool_used;     /* bss, never reused: already zero */
		pool_used += size;
	}
	spin_unlock_irqrestore(&pool_lock, f);
	return p;
}

void fs_free(void *p)
{
	if (!p || in_pool(p))
		return;           /* the bump pool cannot free */
	__atomic_fetch_sub(&heap_bytes, kmalloc_usable_size(p), __ATOMIC_RELAXED);
	kfree(p);
}

size_t fs_alloc_in_use(void)
{
	return __atomic_load_n(&heap_bytes, __ATOMIC_RELAXED) + READ_ONCE(pool_used);
}
