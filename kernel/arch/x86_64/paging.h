/* x86-64 4-level page tables: entry bits and the walk primitives. */
#pragma once
#include "arch/x86_64/layout.h"

#define PTE_P    (1ul << 0)
#define PTE_W    (1ul << 1)
#define PTE_U    (1ul << 2)
#define PTE_PWT  (1ul << 3)
#define PTE_PCD  (1ul << 4)
#define PTE_A    (1ul << 5)
#define PTE_D    (1ul << 6)
#define PTE_PS   (1ul << 7)
#define PTE_G    (1ul << 8)
#define PTE_NX   (1ul << 63)
#define PTE_ADDR_MASK 0x000FFFFFFFFFF000ul

#define PML4_INDEX(va) (((va) >> 39) & 511)
#define PDPT_INDEX(va) (((va) >> 30) & 511)
#define PD_INDEX(va)   (((va) >> 21) & 511)
#define PT_INDEX(va)   (((va) >> 12) & 511)

/* What boot_early() hands to the kernel proper. */
struct boot_info {
	uint64_t start_info_phys;
	uint64_t entry_tsc;
	uint64_t kernel_phys_start, kernel_phys_end;  /* whole image incl. bss */
	uint64_t kernel_virt_base;                    /* virt of kernel_phys_start */
	uint64_t reloc_delta;                         /* virt - link address */
	uint64_t pt_phys_start, pt_phys_end;          /* pages used for page tables */
	uint64_t pml4_phys;
	uint64_t direct_map_end;                      /* phys covered by the direct map */
	bool kaslr;
};
extern struct boot_info boot_info;

static inline void *phys_to_virt(uint64_t phys) { return (void *)(DIRECT_MAP_BASE + phys); }
static inline uint64_t virt_to_phys_direct(const void *v) { return (uint64_t)v - DIRECT_MAP_BASE; }
/* Physical address of a kernel-image symbol (text, data, bss). */
static inline uint64_t kernel_virt_to_phys(const void *v) { return (uint64_t)v - boot_info.reloc_delta; }
