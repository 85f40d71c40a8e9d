/* In-kernel tests of the allocators on real guest memory (selftest=mm,heap). */
#include "mm/page_alloc.h"
#include "mm/heap.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "lib/string.h"

/* Takes every free page, writes each, checks each, gives them back. */
static int test_mm(void)
{
	struct page_stats before, after;
	page_alloc_drain();
	page_alloc_stats(&before);
	uint64_t *list = NULL, n = 0;   /* a linked list threaded through the pages */
	for (;;) {
		uint64_t *p = page_alloc_virt(0);
		if (!p)
			break;
		p[0] = (uint64_t)list;
		for (int i = 1; i < 512; i++)
			p[i] = (uint64_t)p ^ i;
		list = p;
		n++;
	}
	int bad = 0;
	while (list) {
		uint64_t *next = (uint64_t *)list[0];
		for (int i = 1; i < 512; i++)
			if (list[i] != ((uint64_t)list ^ i))
				bad++;
		page_free_virt(list, 0);
		list = next;
	}
	page_alloc_drain();
	page_alloc_stats(&after);
	if (bad || n + 64 < before.free_pages || after.free_pages != before.free_pages) {
		pr_err("mm: %lu pages taken of %lu free, %d words corrupted, %lu free after",
		       n, before.free_pages, bad, after.free_pages);
		return 1;
	}
	/* Every order, up to what is available. */
	for (unsigned order = 0; order <= 10; order++) {
		uint64_t pa = page_alloc(order);
		if (!pa)
			break;
		if (pa & ((4096ul << order) - 1)) {
			pr_err("mm: order %u block at %lx is misaligned", order, pa);
			return 1;
		}
		page_free(pa, order);
	}
	pr_info("mm: %lu pages allocated, written and freed", n);
	return 0;
}
SELFTEST("mm", test_mm);

/* Random sizes, live data checked until freed; debug mode on. */
static int test_heap(void)
{
	enum { SLOTS = 512, OPS = 20000 };
	static uint8_t *obj[SLOTS];
	static uint32_t len[SLOTS];
	bool was = heap_debug();
	heap_set_debug(true);
	struct heap_stats hs;
	heap_get_stats(&hs);
	uint64_t live_before = hs.objects;   /* e.g. the ramfs tree */
	uint64_t seed = 88172645463325252ull;
	int bad = 0, failed_allocs = 0;
	for (int op = 0; op < OPS; op++) {
		seed ^= seed << 13, seed ^= seed >> 7, seed ^= seed << 17;
		unsigned i = seed % SLOTS;
		if (obj[i]) {
			for (uint32_t k = 0; k < len[i]; k++)
				if (obj[i][k] != (uint8_t)(i + k))
					bad++;
			kfree(obj[i]);
			obj[i] = NULL;
		} else {
			len[i] = (seed >> 20) % ((seed >> 40) % 8 == 0 ? 20000 : 600);
			obj[i] = kmalloc(len[i]);
			if (!obj[i]) {
				failed_allocs++;
				continue;
			}
			for (uint32_t k = 0; k < len[i]; k++)
				obj[i][k] = (uint8_t)(i + k);
		}
	}
	for (unsigned i = 0; i < SLOTS; i++)
		kfree(obj[i]), obj[i] = NULL;
	heap_trim();
	heap_get_stats(&hs);
	heap_set_debug(was);
	if (bad || hs.objects != live_before) {
		pr_err("heap: %d bytes corrupted, %lu objects left of %lu", bad,
		       hs.objects - live_before, hs.objects);
		return 1;
	}
	pr_info("heap: %d operations, %d allocations refused", OPS, failed_allocs);
	return 0;
}
SELFTEST("heap", test_heap);
