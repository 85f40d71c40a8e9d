/*
 * Page-table primitives for the program's half of the one address space
 * (PML4 entries 0..255). The kernel half is boot_early's and never changes
 * here. Thread switches never touch CR3, so "the" page table is the one
 * boot_info.pml4_phys names.
 *
 * Leaf entries map 4 KiB pages. Intermediate tables are allocated on
 * demand, permissive (P|W|U): the leaf alone decides what the program may
 * do. A user page a leaf maps is owned by that mapping (mm/vm.c frees it).
 *
 * Callers serialise (mm/vm.c holds the address-space lock).
 */
#pragma once
#include "arch/x86_64/paging.h"

/* What a user page may be used for (the PROT_* values of mmap). */
#define PT_READ   1
#define PT_WRITE  2
#define PT_EXEC   4

/* Software bit of a leaf (ignored by the MMU): the page is the kernel's,
 * shared into the program (the vDSO's data page), so clearing the leaf
 * must not free it. */
#define PTE_KERNEL_PAGE (1ul << 9)

/* The leaf flags for prot: P|U, W when writable, NX when not executable
 * (if the CPU has NX). prot 0 (PROT_NONE) gives PTE_U alone: a leaf that
 * keeps its page but is not present, so every access faults. A non-zero
 * leaf always owns a page; a zero leaf maps nothing. */
uint64_t pt_leaf_flags(unsigned prot);

/* Maps the page at va (page-aligned, below USER_END) to phys with the leaf
 * flags; replaces whatever was there without freeing it. 0, or -ENOMEM
 * when an intermediate table cannot be allocated. */
int pt_map(uint64_t va, uint64_t phys, uint64_t flags);

/* The leaf entry for va, or 0 when nothing is mapped there. */
uint64_t pt_get(uint64_t va);

/* Clears the leaf for va; returns the entry that was there (0 if none).
 * Does not flush the TLB: call tlb_flush_range after a batch. */
uint64_t pt_clear(uint64_t va);

/* Changes the flags of a non-zero leaf, keeping its address. Returns false
 * when nothing is mapped at va. No TLB flush. */
bool pt_set_flags(uint64_t va, uint64_t flags);

/* Calls fn for every non-zero leaf in [start, end): far cheaper than
 * pt_get on each page of a mostly empty range, as whole missing tables
 * are skipped. */
void pt_walk(uint64_t start, uint64_t end,
	     void (*fn)(uint64_t va, uint64_t pte, void *arg), void *arg);

/* Frees the page-table pages wholly inside [start, end) that map nothing
 * any more (after a large munmap). */
void pt_free_empty(uint64_t start, uint64_t end);

/* Drops stale translations for [start, end) on this CPU (invlpg, or a CR3
 * reload for large ranges) and asks the others through tlb_shootdown. */
void tlb_flush_range(uint64_t start, uint64_t end);

/* Weak, a no-op here: the SMP code makes the other CPUs flush the range. */
void tlb_shootdown(uint64_t start, uint64_t end);
