/*
 * fs_alloc/fs_free: the only memory the file system takes, in one place so
 * the tree does not depend on which allocator is behind it (the host unit
 * tests put their own behind it).
 *
 * Only metadata (inodes, names, symlink targets, the hash table) lives here:
 * file data stays in the initrd module, which mm_init reserves for good.
 */
#include "fs/ramfs.h"
#include "mm/heap.h"
#include "mm/page_alloc.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/time.h"
#include "lib/string.h"

static size_t heap_bytes;

void *fs_alloc(size_t size)
{
	void *p = kzalloc(size);
	if (p)
		__atomic_fetch_add(&heap_bytes, kmalloc_usable_size(p), __ATOMIC_RELAXED);
	return p;
}

void fs_free(void *p)
{
	if (!p)
		return;
	__atomic_fetch_sub(&heap_bytes, kmalloc_usable_size(p), __ATOMIC_RELAXED);
	kfree(p);
}

size_t fs_alloc_in_use(void)
{
	return __atomic_load_n(&heap_bytes, __ATOMIC_RELAXED);
}

/* File data: whole pages from the page allocator (a 4 KiB kmalloc would
 * cost two pages with its header). */
void *fs_alloc_page(void)
{
	void *p = page_alloc_virt(0);
	if (p)
		memset(p, 0, PAGE_SIZE);
	return p;
}

void fs_free_page(void *p)
{
	page_free_virt(p, 0);
}

void fs_now(struct fs_time *t)
{
	uint64_t ns = clock_realtime_ns();
	t->sec = (int64_t)(ns / 1000000000u);
	t->nsec = (int64_t)(ns % 1000000000u);
}

char *fs_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *p = fs_alloc(n);
	if (p)
		memcpy(p, s, n);
	return p;
}
