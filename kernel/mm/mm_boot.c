/*
 * Handing RAM to the page allocator at boot. Everything the loader and the
 * boot code left in memory — the kernel image and its page tables, the PVH
 * start info, memory map, command line and modules (the initramfs) — is
 * reserved first, because adding a range writes allocator metadata into it.
 */
#include "mm/mm.h"
#include "mm/page_alloc.h"
#include "mm/heap.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/pvh.h"
#include "lib/klog.h"
#include "lib/string.h"

/* What the boot left in memory, as reserved here (for picking low pages). */
static struct { uint64_t start, end; } boot_data[16];
static unsigned nboot_data;

static void reserve(uint64_t start, uint64_t len)
{
	if (!len)
		return;
	uint64_t s = ALIGN_DOWN(start, PAGE_SIZE), e = ALIGN_UP(start + len, PAGE_SIZE);
	page_alloc_reserve(s, e);
	if (nboot_data < ARRAY_SIZE(boot_data))
		boot_data[nboot_data++] = (typeof(boot_data[0])){ s, e };
}

/* Four pages below 1 MiB for the SMP trampoline (APs start in real mode),
 * kept from the allocator from the start: taking them back later could
 * hand out pages still parked in a per-CPU cache. */
static uint64_t low_pages;

static uint64_t pick_low_pages(const struct hvm_start_info *si)
{
	const struct hvm_memmap_entry *mm = phys_to_virt(si->memmap_paddr);
	for (uint64_t p = 0x90000; p >= 0x10000; p -= 0x4000) {
		bool ram = false, busy = false;
		for (uint32_t i = 0; i < si->memmap_entries; i++)
			if (mm[i].type == HVM_MEMMAP_RAM && mm[i].addr <= p &&
			    mm[i].addr + mm[i].size >= p + 0x4000)
				ram = true;
		for (unsigned i = 0; i < nboot_data; i++)
			if (boot_data[i].start < p + 0x4000 && p < boot_data[i].end)
				busy = true;
		if (ram && !busy)
			return p;
	}
	return 0;
}

uint64_t mm_low_pages(void)
{
	return low_pages;
}

void mm_init(const struct boot_info *bi)
{
	const struct hvm_start_info *si = phys_to_virt(bi->start_info_phys);
	page_alloc_init(DIRECT_MAP_BASE);

	reserve(bi->kernel_phys_start, bi->pt_phys_end - bi->kernel_phys_start);
	reserve(bi->start_info_phys, sizeof(*si));
	reserve(si->memmap_paddr, si->memmap_entries * sizeof(struct hvm_memmap_entry));
	if (si->cmdline_paddr)
		reserve(si->cmdline_paddr, strlen(phys_to_virt(si->cmdline_paddr)) + 1);
	const struct hvm_modlist_entry *mods = phys_to_virt(si->modlist_paddr);
	if (si->nr_modules)
		reserve(si->modlist_paddr, si->nr_modules * sizeof(*mods));
	for (uint32_t i = 0; i < si->nr_modules; i++)
		reserve(mods[i].paddr, mods[i].size);
	low_pages = pick_low_pages(si);
	if (low_pages)
		reserve(low_pages, 0x4000);

	const struct hvm_memmap_entry *mm = phys_to_virt(si->memmap_paddr);
	for (uint32_t i = 0; i < si->memmap_entries; i++)
		if (mm[i].type == HVM_MEMMAP_RAM && mm[i].addr < bi->direct_map_end)
			page_alloc_add_range(mm[i].addr, MIN(mm[i].addr + mm[i].size, bi->direct_map_end));

	heap_init();
	struct page_stats st;
	page_alloc_stats(&st);
	pr_info("memory: %lu KiB free of %lu KiB", st.free_pages * 4, st.total_pages * 4);
}
