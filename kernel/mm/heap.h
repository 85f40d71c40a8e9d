/*
 * Kernel heap: kmalloc and friends, on top of the page allocator.
 *
 * Requests up to 2048 bytes come from size classes 16, 32, 48, 64, 96, 128,
 * 192, 256, 384, 512, 768, 1024, 1536, 2048, each carved from slabs of 1 to 8
 * pages (a 64-byte header, then equal slots). Power-of-two classes are aligned
 * to their size, the others to 16 bytes. Larger requests get their own block
 * of 2^k pages with a 32-byte header in front, so they are 16-byte aligned
 * (use page_alloc for page-aligned memory). Up to 4 MiB - 32 bytes.
 *
 * kfree finds an object's slab or block through page_block_head, so any
 * pointer can be checked: freeing something that is not a live kmalloc object
 * calls mm_panic.
 *
 * Debug mode (heap_set_debug(true)), for tests and test boots; it applies to
 * objects allocated while it is on:
 *   - each small object gets a 32-byte front redzone (size, caller, guard)
 *     and at least 16 bytes of back redzone, checked on kfree (overflow,
 *     underflow), so objects are 16-byte aligned only;
 *   - freed objects are filled with 0x6b and checked when handed out again
 *     (writes after free);
 *   - kmalloc_usable_size returns the size asked for; krealloc always moves.
 * Double and invalid frees are caught in both modes (allocation bitmaps).
 * Reports go to mm_panic (see page_alloc.h for the hooks).
 *
 * Thread safety: one lock per size class (debug and normal objects use
 * separate slabs); large blocks only take the page allocator's locks.
 * Interrupts are the caller's concern, as for the page allocator.
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* Forget all heap state. Call once, after page_alloc_init and its ranges. */
void heap_init(void);

void *kmalloc(size_t size);                /* NULL when out of memory */
void *kzalloc(size_t size);                /* zeroed */
void *kcalloc(size_t n, size_t size);      /* zeroed; NULL if n*size overflows */
void *krealloc(void *p, size_t size);      /* contents kept up to the smaller
					      size; NULL p = kmalloc; size 0 frees
					      and returns NULL; on failure p is
					      untouched and NULL returned */
void kfree(void *p);                       /* NULL is a no-op */
size_t kmalloc_usable_size(void *p);       /* bytes the caller may use */

void heap_set_debug(bool on);
bool heap_debug(void);

/* Give fully free slabs back to the page allocator. Each size class keeps
 * one empty slab to avoid churn; after freeing everything, heap_trim leaves
 * the heap holding no pages. */
void heap_trim(void);

struct heap_stats {
	uint64_t slab_pages;     /* pages held by slabs (empty ones included) */
	uint64_t slabs;          /* number of slabs */
	uint64_t objects;        /* live small objects */
	uint64_t large_pages;    /* pages held by live large objects */
	uint64_t large_objects;  /* live large objects */
	uint64_t failures;       /* allocations that returned NULL */
};

void heap_get_stats(struct heap_stats *st);
