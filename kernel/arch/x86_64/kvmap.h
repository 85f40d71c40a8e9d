/*
 * Kernel virtual mappings in the KVA region (layout.h: KVA_BASE..KVA_END),
 * 4 KiB pages, for memory that needs holes around it (thread stacks with a
 * guard page below). The tables are the live ones (boot_info.pml4_phys),
 * shared by every CPU: the kernel half of the PML4 is never copied, so a
 * new mapping is visible everywhere at once; removing one needs a TLB
 * shoot-down, which the caller does (tlb_shootdown) for a batch.
 */
#pragma once
#include "arch/x86_64/paging.h"

/* Maps va -> phys, read-write, not executable. 0, or -1 when a page table
 * cannot be allocated. */
int kvmap_map(uint64_t va, uint64_t phys);
/* Unmaps va on this CPU (invlpg); returns the physical address it had, or
 * 0. Page-table pages stay (the region is reused). */
uint64_t kvmap_unmap(uint64_t va);
/* Physical address mapped at va, or 0. */
uint64_t kvmap_lookup(uint64_t va);

/* Reserves `bytes` (rounded up to pages) of the KVA region; never given
 * back (the region is 1.5 TiB). 0 when exhausted. */
uint64_t kva_reserve(uint64_t bytes);
