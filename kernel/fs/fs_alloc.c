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
