/* Kernel virtual mappings: see kvmap.h. */
#include "arch/x86_64/kvmap.h"
#include "arch/x86_64/cpu.h"
#include "mm/page_alloc.h"
#include "lib/string.h"
#include "sched/spinlock.h"

static spinlock_t kv_lock = SPINLOCK_INIT;
static uint64_t kva_next = KVA_BASE;

/* The entry for va at the last level, allocating tables on the way when
 * `create`. Called with kv_lock held. */
static uint64_t *walk(uint64_t va, bool create)
{
	uint64_t *table = phys_to_virt(boot_info.pml4_phys);
	static const int shifts[3] = { 39, 30, 21 };
	for (int lvl = 0; lvl < 3; lvl++) {
		uint64_t *e = &table[(va >> shifts[lvl]) & 511];
		if (!(*e & PTE_P)) {
			if (!create)
				return NULL;
			uint64_t p = page_alloc(0);
			if (!p)
				return NULL;
			memset(phys_to_virt(p), 0, PAGE_SIZE);
			*e = p | PTE_P | PTE_W;
		}
		if (*e & PTE_PS)
			return NULL;    /* large pages never appear in the KVA region */
		table = phys_to_virt(*e & PTE_ADDR_MASK);
	}
	return &table[PT_INDEX(va)];
}

int kvmap_map(uint64_t va, uint64_t phys)
{
	uint64_t f = spin_lock_irqsave(&kv_lock);
	uint64_t *pte = walk(va, true);
	if (pte)
		*pte = phys | PTE_P | PTE_W | PTE_NX;
	spin_unlock_irqrestore(&kv_lock, f);
	return pte ? 0 : -1;
}

uint64_t kvmap_unmap(uint64_t va)
{
	uint64_t f = spin_lock_irqsave(&kv_lock);
	uint64_t *pte = walk(va, false), old = 0;
	if (pte && (*pte & PTE_P)) {
		old = *pte & PTE_ADDR_MASK;
		*pte = 0;
		invlpg(va);
	}
	spin_unlock_irqrestore(&kv_lock, f);
	return old;
}

uint64_t kvmap_lookup(uint64_t va)
{
	uint64_t f = spin_lock_irqsave(&kv_lock);
	uint64_t *pte = walk(va, false);
	uint64_t r = pte && (*pte & PTE_P) ? (*pte & PTE_ADDR_MASK) : 0;
	spin_unlock_irqrestore(&kv_lock, f);
	return r;
}

uint64_t kva_reserve(uint64_t bytes)
{
	bytes = ALIGN_UP(bytes, PAGE_SIZE);
	uint64_t f = spin_lock_irqsave(&kv_lock);
	uint64_t va = 0;
	if (KVA_END - kva_next >= bytes) {
		va = kva_next;
		kva_next += bytes;
	}
	spin_unlock_irqrestore(&kv_lock, f);
	return va;
}

/* Stacks for the exception handlers of secondary CPUs (gdt.c), with an
 * unmapped guard page below like thread stacks. */
void *trap_alloc_stack(size_t size);
void *trap_alloc_stack(size_t size)
{
	size = ALIGN_UP(size, PAGE_SIZE);
	uint64_t va = kva_reserve(size + PAGE_SIZE);
	if (!va)
		return NULL;
	for (uint64_t off = 0; off < size; off += PAGE_SIZE) {
		uint64_t p = page_alloc(0);
		if (!p || kvmap_map(va + PAGE_SIZE + off, p) < 0)
			return NULL;    /* boot-time only: the pages leak */
	}
	return (void *)(va + PAGE_SIZE);
}
