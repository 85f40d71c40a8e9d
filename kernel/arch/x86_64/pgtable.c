/*
 * User page tables: a plain 4-level walk through the direct map.
 */
#include "arch/x86_64/pgtable.h"
#include "arch/x86_64/cpu.h"
#include "mm/page_alloc.h"
#include "lib/string.h"
#include "errno.h"

#define TABLE_FLAGS (PTE_P | PTE_W | PTE_U)
#define LEVEL_SHIFT(l) (12 + 9 * (l))        /* l = 0 (PT) .. 3 (PML4) */

static uint64_t *root(void)
{
	return phys_to_virt(boot_info.pml4_phys);
}

static uint64_t *table_of(uint64_t entry)
{
	return phys_to_virt(entry & PTE_ADDR_MASK);
}

static bool have_nx(void)
{
	static int nx = -1;
	if (nx < 0)
		nx = (rdmsr(MSR_EFER) & EFER_NXE) != 0;
	return nx;
}

uint64_t pt_leaf_flags(unsigned prot)
{
	if (!(prot & (PT_READ | PT_WRITE | PT_EXEC)))
		return PTE_U;
	uint64_t f = PTE_P | PTE_U;
	if (prot & PT_WRITE)
		f |= PTE_W;
	if (!(prot & PT_EXEC) && have_nx())
		f |= PTE_NX;
	return f;
}

/* The leaf slot for va; with alloc, missing tables are created (NULL only
 * when out of memory), else NULL when a table on the way is missing. */
static uint64_t *walk(uint64_t va, bool alloc)
{
	uint64_t *t = root();
	for (int level = 3; level > 0; level--) {
		uint64_t *e = &t[(va >> LEVEL_SHIFT(level)) & 511];
		if (!(*e & PTE_P)) {
			if (!alloc)
				return NULL;
			void *page = page_alloc_virt(0);
			if (!page)
				return NULL;
			memset(page, 0, PAGE_SIZE);
			*e = virt_to_phys_direct(page) | TABLE_FLAGS;
		}
		t = table_of(*e);
	}
	return &t[PT_INDEX(va)];
}

int pt_map(uint64_t va, uint64_t phys, uint64_t flags)
{
	uint64_t *e = walk(va, true);
	if (!e)
		return -ENOMEM;
	*e = (phys & PTE_ADDR_MASK) | flags;
	return 0;
}

uint64_t pt_get(uint64_t va)
{
	uint64_t *e = walk(va, false);
	return e ? *e : 0;
}

uint64_t pt_clear(uint64_t va)
{
	uint64_t *e = walk(va, false);
	if (!e)
		return 0;
	uint64_t old = *e;
	*e = 0;
	return old;
}

bool pt_set_flags(uint64_t va, uint64_t flags)
{
	uint64_t *e = walk(va, false);
	if (!e || !*e)
		return false;
	*e = (*e & PTE_ADDR_MASK) | flags;
	return true;
}

static void walk_level(uint64_t *t, int level, uint64_t base, uint64_t start,
		       uint64_t end, void (*fn)(uint64_t, uint64_t, void *), void *arg)
{
	uint64_t span = 1ull << LEVEL_SHIFT(level);
	for (unsigned i = 0; i < 512; i++) {
		uint64_t lo = base + i * span, hi = lo + span;
		if (hi <= start || lo >= end)
			continue;
		if (level == 0) {
			if (t[i])
				fn(lo, t[i], arg);
			continue;
		}
		if (t[i] & PTE_P)
			walk_level(table_of(t[i]), level - 1, lo, start, end, fn, arg);
	}
}

void pt_walk(uint64_t start, uint64_t end,
	     void (*fn)(uint64_t va, uint64_t pte, void *arg), void *arg)
{
	if (end > USER_END)
		end = USER_END;
	if (start < end)
		walk_level(root(), 3, 0, start, end, fn, arg);
}

static bool table_empty(const uint64_t *t)
{
	for (unsigned i = 0; i < 512; i++)
		if (t[i])
			return false;
	return true;
}

/* Frees the empty tables below t whose whole span lies in [start, end);
 * returns true when t itself ended up empty. */
static bool free_level(uint64_t *t, int level, uint64_t base, uint64_t start, uint64_t end)
{
	uint64_t span = 1ull << LEVEL_SHIFT(level);
	for (unsigned i = 0; i < 512 && level > 0; i++) {
		uint64_t lo = base + i * span, hi = lo + span;
		if (hi <= start || lo >= end || !(t[i] & PTE_P))
			continue;
		uint64_t *sub = table_of(t[i]);
		if (free_level(sub, level - 1, lo, start, end) && lo >= start && hi <= end) {
			t[i] = 0;
			page_free(virt_to_phys_direct(sub), 0);
		}
	}
	return table_empty(t);
}

void pt_free_empty(uint64_t start, uint64_t end)
{
	if (end > USER_END)
		end = USER_END;
	if (start >= end)
		return;
	/* The PML4 itself is the kernel's: only its lower-half entries go. */
	uint64_t *t = root();
	uint64_t span = 1ull << LEVEL_SHIFT(3);
	for (unsigned i = 0; i < 256; i++) {
		uint64_t lo = i * span, hi = lo + span;
		if (hi <= start || lo >= end || !(t[i] & PTE_P))
			continue;
		uint64_t *sub = table_of(t[i]);
		if (free_level(sub, 2, lo, start, end) && lo >= start && hi <= end) {
			t[i] = 0;
			page_free(virt_to_phys_direct(sub), 0);
		}
	}
	/* A freed table may still be cached in the paging-structure caches. */
	tlb_flush_range(start, end);
}

__attribute__((weak)) void tlb_shootdown(uint64_t start, uint64_t end)
{
	(void)start;
	(void)end;
}

#define FLUSH_ALL_PAGES 64

void tlb_flush_range(uint64_t start, uint64_t end)
{
	start = ALIGN_DOWN(start, PAGE_SIZE);
	if ((end - start) / PAGE_SIZE > FLUSH_ALL_PAGES) {
		/* User pages are never global, so a CR3 reload drops them all. */
		write_cr3(read_cr3());
	} else {
		for (uint64_t va = start; va < end; va += PAGE_SIZE)
			invlpg(va);
	}
	tlb_shootdown(start, end);
}
