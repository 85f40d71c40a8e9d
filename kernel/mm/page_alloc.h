/*
 * Physical page allocator: a binary buddy allocator with per-CPU caches of
 * single pages.
 *
 * Memory is handed over as ranges of physical addresses (page_alloc_add_range,
 * any number of calls). Each range keeps one byte of state per page,
 * stored in the first page(s) of that range, so the cost is 1/4096 of RAM in
 * a 4 MiB guest as in a 64 GiB one. Free blocks are linked through their own
 * memory via the direct map (virt = direct_map_base + phys). Blocks are
 * aligned to their size in physical address space (an order-9 block is a
 * 2 MiB-aligned 2 MiB region), and never merge across the ends of a range.
 * A range is handed to the free lists lazily, 4 MiB block by 4 MiB block, as
 * allocations need it: memory the guest never uses is never written, so the
 * host never has to back it, and adding RAM costs no time per block.
 *
 * Single pages come from a per-CPU cache protected by its own lock, refilled
 * from and drained to the buddy lists in batches under the global lock, so the
 * common page_alloc(0)/page_free(x, 0) never touches the global lock.
 *
 * Boot order:
 *   page_alloc_init(direct_map_base);    the direct map must already cover
 *                                        all RAM; base aligned to 4 MiB or
 *                                        more so blocks stay aligned in
 *                                        virtual memory too
 *   page_alloc_reserve(kernel image), page_alloc_reserve(initramfs), ...
 *   page_alloc_add_range(...) for each RAM entry of the memory map
 *   heap_init();
 *
 * Interrupts are the caller's concern: do not call these from an interrupt
 * handler that can interrupt a caller on the same CPU.
 *
 * Hooks the kernel (and each unit test) must provide:
 *   unsigned mm_cpu_id(void);             current CPU, 0..MM_MAX_CPUS-1 (larger
 *                                         ids share caches, still correct)
 *   void mm_log(const char *fmt, ...);    printf-like message (uses %s %u %d %ld
 *                                         %lu %lx %p); may be called with an mm
 *                                         lock held, so it must not allocate
 *   void mm_panic(const char *fmt, ...);  fatal: double free, bad pointer,
 *                                         corruption. The kernel panics; tests
 *                                         may longjmp out: mm holds no lock when
 *                                         calling it (except on finding its own
 *                                         free lists overwritten), and copes if
 *                                         it returns.
 * and memset/memcpy (the compiler may emit calls to them).
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define MM_PAGE_SHIFT 12
#define MM_PAGE_SIZE  (1UL << MM_PAGE_SHIFT)
#define MM_MAX_ORDER  10      /* largest block: 2^10 pages = 4 MiB */
#define MM_MAX_CPUS   64
#define MM_MAX_RANGES 64      /* pieces of RAM managed */
#define MM_MAX_RESERVED 32    /* page_alloc_reserve regions remembered */

/* --- hooks provided by the kernel / the tests ------------------------------ */
unsigned mm_cpu_id(void);
void mm_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void mm_panic(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* --- a minimal spinlock, shared by mm ------------------------------------- */
typedef struct {
	uint32_t locked;
} mm_lock_t;

static inline void mm_lock(mm_lock_t *l)
{
	while (__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			__asm__ volatile("pause");
}

static inline void mm_unlock(mm_lock_t *l)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
}

/* --- API -------------------------------------------------------------------- */

/* Forget all state and set the direct map. Call once before anything else. */
void page_alloc_init(uint64_t direct_map_base);

/* Give the RAM [phys_start, phys_end) to the allocator. The ends are trimmed
 * inward to pages; page 0, pages already given and reserved regions are
 * skipped, and each remaining piece becomes a range whose first pages hold its
 * metadata (a piece too small for that and one page is ignored, logged).
 * The allocator writes the metadata pages and a few blocks after them right
 * away, the rest when it is first allocated (free-list links), so reserve
 * what is in use first. */
void page_alloc_add_range(uint64_t phys_start, uint64_t phys_end);

/* Keep [phys_start, phys_end) (ends widened to pages) out of the allocator.
 * Call it BEFORE adding the RAM around memory in use (kernel image,
 * initramfs, boot page tables): ranges added later skip the region, and its
 * contents are never touched. Called after, it takes the region's free pages
 * out of the ranges already added (for memory whose contents do not matter;
 * pages in use are logged and left alone); such pages may be given back one
 * by one with page_free(phys, 0). Reserving late also writes a free-list
 * link into each never-used 4 MiB block of the range below the region.
 * At most MM_MAX_RESERVED calls are remembered for later ranges. */
void page_alloc_reserve(uint64_t phys_start, uint64_t phys_end);

/* Hand a reserved region over to the allocator (e.g. the initramfs once it is
 * unpacked). The bounds must be those given to page_alloc_reserve. */
void page_alloc_release(uint64_t phys_start, uint64_t phys_end);

/* 2^order contiguous pages aligned to their size; physical address, or 0 when
 * out of memory (phys 0 is never handed out). Contents are not cleared. */
uint64_t page_alloc(unsigned order);

/* Free a block from page_alloc with the same order. page_free(0, o) does
 * nothing. Double frees, wrong orders and foreign addresses call mm_panic. */
void page_free(uint64_t phys, unsigned order);

/* The same through the direct map; NULL on failure / no-op on NULL. */
void *page_alloc_virt(unsigned order);
void page_free_virt(void *virt, unsigned order);

/* Direct-map conversions (valid for any phys given to the allocator). */
void *page_phys_to_virt(uint64_t phys);
uint64_t page_virt_to_phys(const void *virt);

/* If phys lies inside a block currently allocated with page_alloc, return the
 * block's first address and store its order in *order; otherwise return 0.
 * Lets the kernel heap find its header from any pointer into a block. */
uint64_t page_block_head(uint64_t phys, unsigned *order);

/* Move every page in every per-CPU cache back to the buddy lists. page_alloc
 * does this by itself before failing. */
void page_alloc_drain(void);

struct page_stats {
	uint64_t total_pages;     /* pages managed, over all ranges (metadata excluded) */
	uint64_t free_pages;      /* free: in buddy lists + in per-CPU caches +
				   * not yet carved off the ranges */
	uint64_t pcp_pages;       /* of free_pages, those in per-CPU caches */
	uint64_t reserved_pages;  /* pages of ranges held by page_alloc_reserve */
	uint64_t meta_pages;      /* holding the allocator's per-page bytes */
	/* Free blocks per order: in the buddy lists, plus the blocks the memory
	 * not yet carved will become (as many max-order blocks as fit, smaller
	 * ones at a range's end), so a fresh allocator shows its merged shape. */
	uint64_t free_blocks[MM_MAX_ORDER + 1];
	uint64_t alloc_failures;  /* page_alloc calls that returned 0 */
	unsigned nranges;         /* ranges accepted */
};

void page_alloc_stats(struct page_stats *st);
