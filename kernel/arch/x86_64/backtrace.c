/*
 * Symbolized backtraces by walking frame pointers (the kernel is built with
 * -fno-omit-frame-pointer: each frame starts with the caller's rbp, then the
 * return address). Used from fault reports and panic(), so it must never
 * fault itself: every word is read only after checking that it lies in
 * memory that holds kernel stacks (the image, kernel virtual allocations,
 * RAM in the direct map) and that the page tables map it.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/ksym.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/pvh.h"
#include "lib/klog.h"

#define MAX_FRAMES 32
#define MAX_STEPS  4096   /* frames walked, counting collapsed repeats */

/* Generated from the first link (scripts/gen-ksyms.sh). Weak: that first
 * link has no table, and these resolve to NULL there. */
extern const uint64_t ksyms_count __attribute__((weak));
extern const struct ksym ksyms_table[] __attribute__((weak));
extern const char ksyms_names[] __attribute__((weak));
extern char __ksyms_end[], __kernel_start[], __kernel_end[];
extern char __text_start[], __text_end[];
extern char trap_common[], trap_iret[];

bool ksym_lookup(uint64_t addr, const char **name, uint64_t *offset)
{
	if (!&ksyms_count || !ksyms_table || !ksyms_names)
		return false;
	uint64_t names_len = (uint64_t)(__ksyms_end - ksyms_names);
	return ksym_find(ksyms_table, ksyms_count, ksyms_names, names_len,
			 addr - boot_info.reloc_delta, name, offset);
}

/* RAM ranges from the boot memory map, copied early: the loader's table
 * may be reused as memory later. */
#define MAX_RAM_RANGES 32
static struct { uint64_t start, end; } ram[MAX_RAM_RANGES];
static unsigned nram;

void backtrace_init(void);
void backtrace_init(void)
{
	const struct hvm_start_info *si = phys_to_virt(boot_info.start_info_phys);
	const struct hvm_memmap_entry *mm = phys_to_virt(si->memmap_paddr);
	for (uint32_t i = 0; i < si->memmap_entries && nram < MAX_RAM_RANGES; i++) {
		if (mm[i].type != HVM_MEMMAP_RAM)
			continue;
		ram[nram].start = mm[i].addr;
		ram[nram].end = mm[i].addr + mm[i].size;
		nram++;
	}
}

/* Whether the page tables map va (any level may be a large page). */
static bool mapped(uint64_t va)
{
	static const unsigned shift[4] = { 39, 30, 21, 12 };
	uint64_t pa = read_cr3() & PTE_ADDR_MASK;
	for (int level = 0; level < 4; level++) {
		if (pa >= boot_info.direct_map_end)
			return false;
		uint64_t e = ((const uint64_t *)phys_to_virt(pa))[(va >> shift[level]) & 511];
		if (!(e & PTE_P))
			return false;
		if ((level == 1 || level == 2) && (e & PTE_PS))
			return true;
		pa = e & PTE_ADDR_MASK;
	}
	return true;
}

/* Memory a kernel stack may live in. Not MMIO in the direct map: reading
 * a device register can have effects. Not the lower half: the program's. */
static bool stack_region(uint64_t va)
{
	if (va >= (uint64_t)__kernel_start && va < (uint64_t)__kernel_end)
		return true;
	if (va >= KVA_BASE && va < KVA_END)
		return true;
	if (va >= DIRECT_MAP_BASE && va - DIRECT_MAP_BASE < boot_info.direct_map_end) {
		uint64_t pa = va - DIRECT_MAP_BASE;
		for (unsigned i = 0; i < nram; i++)
			if (pa >= ram[i].start && pa < ram[i].end)
				return true;
	}
	return false;
}

/* [va, va+len) may be read without faulting; len <= 4096. */
static bool readable(uint64_t va, uint64_t len)
{
	uint64_t last = va + len - 1;
	if (last < va)
		return false;
	if (!stack_region(va) || !stack_region(last) || !mapped(va))
		return false;
	return (last >> PAGE_SHIFT) == (va >> PAGE_SHIFT) || mapped(last);
}

static bool in_text(uint64_t a)
{
	return a >= (uint64_t)__text_start && a < (uint64_t)__text_end;
}

/* A return address points after its call, which may be the last
 * instruction of the function (a call to a noreturn one): look up
 * addr - 1, print the offset of addr. */
static void print_frame(unsigned n, uint64_t addr, bool is_return)
{
	const char *name;
	uint64_t off;
	if (ksym_lookup(addr - is_return, &name, &off))
		pr_err("  #%u 0x%016lx %s+0x%lx", n, addr, name, off + is_return);
	else
		pr_err("  #%u 0x%016lx ?", n, addr);
}

static void print_repeats(unsigned count)
{
	if (count)
		pr_err("  ... the frame above %u more time%s", count, count == 1 ? "" : "s");
}

/* Frames above the first, from the frame-pointer chain at rbp. */
static void walk(unsigned n, uint64_t last, uint64_t rbp)
{
	unsigned repeats = 0;
	bool exact = false;   /* the next address is an interrupted rip */
	for (unsigned step = 0; step < MAX_STEPS && n < MAX_FRAMES; step++) {
		if (!rbp || (rbp & 7) || !readable(rbp, 16))
			break;
		const uint64_t *frame = (const uint64_t *)rbp;
		uint64_t next = frame[0], ret = frame[1];
		if (!in_text(ret - !exact))
			break;
		if (ret == last) {
			repeats++;   /* deep recursion: say how deep, keep going */
		} else {
			print_repeats(repeats);
			repeats = 0;
			print_frame(n++, ret, !exact);
			last = ret;
		}
		/* trap_common pushes a frame record whose "return address" is
		 * the rip the trap interrupted, exact rather than after a call. */
		exact = ret > (uint64_t)trap_common && ret <= (uint64_t)trap_iret;
		rbp = next;
	}
	print_repeats(repeats);
}

/*
 * Where a trap hit a function that has no frame record of its own — a leaf
 * GCC left frameless even with -fno-omit-frame-pointer, or the first or
 * last instruction of a function — rbp is still the caller's, and the
 * chain would skip the caller. Its return address is then on the stack:
 * at rsp (nothing pushed yet, or all popped again) or just above the
 * pushed rbp. The window between `push %rbp` and `mov %rsp, %rbp` when
 * the compiler schedules other instructions there is not recognised.
 */
static bool caller_on_stack(uint64_t rip, uint64_t rsp, uint64_t *ret)
{
	const char *name;
	uint64_t off, slot;
	if (!in_text(rip) || !ksym_lookup(rip, &name, &off) || !in_text(rip - off))
		return false;
	const uint8_t *fn = (const uint8_t *)(rip - off), *at = (const uint8_t *)rip;
	if (off == 0 || fn[0] != 0x55 /* push %rbp */ || at[0] == 0xc3 /* ret */)
		slot = rsp;
	else if (off == 1)
		slot = rsp + 8;
	else
		return false;
	if ((slot & 7) || !readable(slot, 8))
		return false;
	*ret = *(const uint64_t *)slot;
	return in_text(*ret - 1);
}

void backtrace_print_trap(const struct trap_frame *tf)
{
	print_frame(0, tf->rip, false);
	uint64_t ret;
	if (caller_on_stack(tf->rip, tf->rsp, &ret)) {
		print_frame(1, ret, true);
		walk(2, ret, tf->rbp);
	} else {
		walk(1, tf->rip, tf->rbp);
	}
}

void backtrace_print(uint64_t rip, uint64_t rbp)
{
	print_frame(0, rip, false);
	walk(1, rip, rbp);
}

__attribute__((noinline)) void backtrace_print_here(void)
{
	const uint64_t *frame = __builtin_frame_address(0);
	pr_err("backtrace (cpu %u):", trap_cpu_id());
	print_frame(0, frame[1], true);
	walk(1, frame[1], frame[0]);
}
