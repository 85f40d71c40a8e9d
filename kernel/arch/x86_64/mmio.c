/*
 * mmio_map: uncached direct-map windows for device registers.
 *
 * boot_early() maps the low 4 GiB write-back with 1 GiB (or 2 MiB) pages.
 * For a device window we rewrite the 2 MiB entries that cover it with
 * PCD|PWT, first splitting a 1 GiB page into a page directory of 2 MiB
 * pages when needed. The split page directories come from a small static
 * pool: device windows cluster just below 4 GiB (IOAPIC 0xFEC00000, HPET,
 * LAPIC 0xFEE00000, virtio-mmio), so one or two are plenty.
 */
#include "arch/x86_64/mmio.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/pvh.h"
#include "lib/klog.h"
#include "sched/spinlock.h"

#define SZ_2M (1ul << 21)
#define SZ_1G (1ul << 30)

static uint64_t split_pd[2][512] __aligned(PAGE_SIZE);
static unsigned split_used;
static spinlock_t mmio_lock = SPINLOCK_INIT;

/* True when the PVH memory map puts RAM anywhere in [a, b). */
static bool has_ram(uint64_t a, uint64_t b)
{
	const struct hvm_start_info *si = phys_to_virt(boot_info.start_info_phys);
	const struct hvm_memmap_entry *mm = phys_to_virt(si->memmap_paddr);
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		if (mm[i].type == HVM_MEMMAP_RAM && mm[i].addr < b && a < mm[i].addr + mm[i].size)
			return true;
	return false;
}

/* The page-directory entry that maps va as a 2 MiB page, splitting a 1 GiB
 * page if that is how it is mapped; NULL when it is mapped some other way. */
static uint64_t *pde_for(uint64_t va)
{
	uint64_t *pml4 = phys_to_virt(boot_info.pml4_phys);
	uint64_t e = pml4[PML4_INDEX(va)];
	if (!(e & PTE_P))
		return NULL;
	uint64_t *pdpt = phys_to_virt(e & PTE_ADDR_MASK);
	uint64_t *pdpte = &pdpt[PDPT_INDEX(va)];
	if (!(*pdpte & PTE_P))
		return NULL;
	if (*pdpte & PTE_PS) {
		if (split_used == ARRAY_SIZE(split_pd))
			return NULL;
		uint64_t *pd = split_pd[split_used++];
		uint64_t base = *pdpte & PTE_ADDR_MASK & ~(SZ_1G - 1);
		uint64_t flags = *pdpte & ~PTE_ADDR_MASK;   /* keeps PS, G, NX, W */
		for (int i = 0; i < 512; i++)
			pd[i] = (base + i * SZ_2M) | flags;
		*pdpte = kernel_virt_to_phys(pd) | PTE_P | PTE_W;
	}
	uint64_t *pd = phys_to_virt(*pdpte & PTE_ADDR_MASK);
	uint64_t *pde = &pd[PD_INDEX(va)];
	return (*pde & PTE_P) && (*pde & PTE_PS) ? pde : NULL;
}

volatile void *mmio_map(uint64_t phys, uint64_t size)
{
	if (!size || phys + size > boot_info.direct_map_end || phys + size < phys)
		return NULL;
	uint64_t f = spin_lock_irqsave(&mmio_lock);
	bool changed = false;
	for (uint64_t p = ALIGN_DOWN(phys, SZ_2M); p < phys + size; p += SZ_2M) {
		if (has_ram(p, p + SZ_2M))
			continue;   /* never make RAM uncached: leave it write-back */
		uint64_t *pde = pde_for(DIRECT_MAP_BASE + p);
		if (!pde) {
			pr_debug("mmio: %#lx stays write-back", p);
			continue;
		}
		if ((*pde & (PTE_PCD | PTE_PWT)) != (PTE_PCD | PTE_PWT)) {
			*pde |= PTE_PCD | PTE_PWT;
			changed = true;
		}
	}
	if (changed) {
		/* Direct-map entries are global: toggling PGE flushes them
		 * (and the CR3 write covers a CPU that runs without PGE). */
		uint64_t cr4 = read_cr4();
		write_cr4(cr4 & ~CR4_PGE);
		write_cr4(cr4);
		write_cr3(read_cr3());
	}
	spin_unlock_irqrestore(&mmio_lock, f);
	return (volatile void *)phys_to_virt(phys);
}
