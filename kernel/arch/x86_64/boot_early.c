/*
 * The first C code. It runs identity-mapped at the kernel's link address
 * (= physical load address), before any relocation, so it may not follow a
 * pointer stored in initialised data after apply_relocations() has run.
 *
 * It builds the final page tables — the kernel image at a random upper-half
 * base with W^X permissions, and a direct map of RAM — relocates the image
 * for that base and jumps there.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/pvh.h"
#include "lib/cmdline.h"

extern char __kernel_start[], __kernel_end[], __text_start[], __text_end[];
extern char __rodata_start[], __rodata_end[], __data_start[], __bss_end[];
extern char __ksyms_start[], __ksyms_end[];
extern uint64_t boot_pml4[];
extern uint64_t boot_entry_tsc;
extern char boot_stack_top[];

struct boot_info boot_info;
void kernel_main(struct boot_info *bi) __noreturn;
void boot_enter_high(uint64_t cr3, uint64_t stack, uint64_t entry, uint64_t arg) __noreturn;

struct elf64_rela { uint64_t offset, info; int64_t addend; };
#define R_X86_64_RELATIVE 8
extern struct elf64_rela __rela_start[], __rela_end[];

static void early_puts(const char *s)
{
	for (; *s; s++) {
		while (!(inb(0x3f8 + 5) & 0x20))
			;
		outb(0x3f8, *s);
	}
}

static __noreturn void early_fail(const char *why)
{
	early_puts("wisp: boot failed: ");
	early_puts(why);
	early_puts("\n");
	outl(0xf4, 126);  /* isa-debug-exit, if present */
	cpu_halt_forever();
}

/* Page-table pages come from a bump allocator just past the image. */
static uint64_t pt_next, pt_limit;
static const struct hvm_start_info *si;

static bool overlaps_module(uint64_t a, uint64_t b)
{
	const struct hvm_modlist_entry *m = (const void *)si->modlist_paddr;
	for (uint32_t i = 0; i < si->nr_modules; i++)
		if (a < m[i].paddr + m[i].size && m[i].paddr < b)
			return true;
	return false;
}

static uint64_t *pt_alloc(void)
{
	while (overlaps_module(pt_next, pt_next + PAGE_SIZE))
		pt_next += PAGE_SIZE;
	if (pt_next + PAGE_SIZE > pt_limit)
		early_fail("out of memory for page tables");
	uint64_t *p = (uint64_t *)pt_next;
	pt_next += PAGE_SIZE;
	for (int i = 0; i < 512; i++)
		p[i] = 0;
	return p;
}

static uint64_t *next_table(uint64_t *table, unsigned idx)
{
	if (!(table[idx] & PTE_P))
		table[idx] = (uint64_t)pt_alloc() | PTE_P | PTE_W;
	return (uint64_t *)(table[idx] & PTE_ADDR_MASK);
}

static void map_4k(uint64_t *pml4, uint64_t va, uint64_t pa, uint64_t flags)
{
	uint64_t *pdpt = next_table(pml4, PML4_INDEX(va));
	uint64_t *pd = next_table(pdpt, PDPT_INDEX(va));
	uint64_t *pt = next_table(pd, PD_INDEX(va));
	pt[PT_INDEX(va)] = pa | flags | PTE_P;
}

static void map_range_4k(uint64_t *pml4, uint64_t delta, char *start, char *end, uint64_t flags)
{
	for (uint64_t pa = (uint64_t)start; pa < (uint64_t)end; pa += PAGE_SIZE)
		map_4k(pml4, pa + delta, pa, flags);
}

static void map_direct(uint64_t *pml4, uint64_t end, bool gbpages)
{
	for (uint64_t pa = 0; pa < end;) {
		uint64_t va = DIRECT_MAP_BASE + pa;
		uint64_t *pdpt = next_table(pml4, PML4_INDEX(va));
		if (gbpages) {
			pdpt[PDPT_INDEX(va)] = pa | PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX;
			pa += 1ul << 30;
		} else {
			uint64_t *pd = next_table(pdpt, PDPT_INDEX(va));
			pd[PD_INDEX(va)] = pa | PTE_P | PTE_W | PTE_PS | PTE_G | PTE_NX;
			pa += 1ul << 21;
		}
	}
}

static uint64_t choose_base(bool kaslr, uint64_t image_size)
{
	if (!kaslr)
		return KERNEL_VIRT_MIN;
	uint32_t a, b, c, d;
	uint64_t r = 0;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!((c >> 30) & 1) || !rdrand64(&r))
		r = rdtsc() * 0x9E3779B97F4A7C15ull;  /* weak, but varies per boot */
	uint64_t slots = (KERNEL_VIRT_MAX - KERNEL_VIRT_MIN - image_size) >> 21;
	return KERNEL_VIRT_MIN + ((r >> 7) % slots << 21);
}

static void apply_relocations(uint64_t delta)
{
	for (struct elf64_rela *r = __rela_start; r < __rela_end; r++) {
		if ((uint32_t)r->info != R_X86_64_RELATIVE)
			early_fail("unexpected relocation type in kernel image");
		*(uint64_t *)r->offset = (uint64_t)r->addend + delta;
	}
}

void boot_early(uint64_t start_info_phys) __noreturn;
void boot_early(uint64_t start_info_phys)
{
	si = (const struct hvm_start_info *)start_info_phys;
	if (si->magic != HVM_START_MAGIC)
		early_fail("not started by a PVH loader (bad hvm_start_info magic)");
	if (si->version < 1 || !si->memmap_entries)
		early_fail("PVH start info has no memory map (version 0 loader)");

	/* The direct map spans RAM and, always, the low 4 GiB with its MMIO. */
	const struct hvm_memmap_entry *mm = (const void *)si->memmap_paddr;
	uint64_t top = 1ul << 32, image_end = ALIGN_UP((uint64_t)__kernel_end, PAGE_SIZE);
	pt_limit = 0;
	for (uint32_t i = 0; i < si->memmap_entries; i++) {
		if (mm[i].type != HVM_MEMMAP_RAM)
			continue;
		top = MAX(top, mm[i].addr + mm[i].size);
		if (mm[i].addr <= image_end && image_end < mm[i].addr + mm[i].size)
			pt_limit = MIN(mm[i].addr + mm[i].size, 1ul << 30);
	}
	if (!pt_limit)
		early_fail("no RAM after the kernel image");
	pt_next = image_end;

	uint32_t a, b, c, d;
	cpuid(0x80000001, 0, &a, &b, &c, &d);
	bool gbpages = (d >> 26) & 1;
	top = ALIGN_UP(top, gbpages ? 1ul << 30 : 1ul << 21);

	const char *cmdline = si->cmdline_paddr ? (const char *)si->cmdline_paddr : "";
	bool kaslr = !cmdline_has_flag(cmdline, "nokaslr");
	uint64_t image_size = (uint64_t)__kernel_end - (uint64_t)__kernel_start;
	uint64_t base = choose_base(kaslr, image_size);
	uint64_t delta = base - (uint64_t)__kernel_start;

	uint64_t *pml4 = pt_alloc();
	/* W^X: text read+execute, rodata and the symbol table read-only, data
	 * and bss read+write; nothing writable is executable. .boot stays out. */
	map_range_4k(pml4, delta, __text_start, __text_end, PTE_G);
	map_range_4k(pml4, delta, __rodata_start, __rodata_end, PTE_G | PTE_NX);
	map_range_4k(pml4, delta, __data_start, __bss_end, PTE_G | PTE_W | PTE_NX);
	map_range_4k(pml4, delta, __ksyms_start, __ksyms_end, PTE_G | PTE_NX);
	map_direct(pml4, top, gbpages);
	pml4[0] = boot_pml4[0];   /* identity, until kernel_main drops it */

	boot_info = (struct boot_info){
		.start_info_phys = start_info_phys,
		.entry_tsc = boot_entry_tsc,
		.kernel_phys_start = (uint64_t)__kernel_start,
		.kernel_phys_end = image_end,
		.kernel_virt_base = base,
		.reloc_delta = delta,
		.pt_phys_start = image_end,
		.pt_phys_end = pt_next,
		.pml4_phys = (uint64_t)pml4,
		.direct_map_end = top,
		.kaslr = kaslr,
	};

	/* From here on, initialised pointers hold upper-half addresses. */
	apply_relocations(delta);
	boot_enter_high((uint64_t)pml4, (uint64_t)boot_stack_top + delta,
			(uint64_t)kernel_main + delta, (uint64_t)&boot_info + delta);
}
