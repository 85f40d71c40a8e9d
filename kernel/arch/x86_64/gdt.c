/*
 * Per-CPU GDT and TSS. Each CPU has its own GDT (the TSS descriptor differs)
 * and its own TSS, which holds RSP0 (the stack for entries from ring 3) and
 * the IST stacks: NMI, double fault and machine check each get a stack of
 * their own, so they are handled even when the kernel stack is unusable —
 * a kernel stack overflow becomes a #DF report instead of a triple fault.
 *
 * Page faults stay on the current stack on purpose: a #PF on an IST stack
 * restarts at the top of that stack, so a #PF inside the #PF handler (mm
 * touching a not-yet-mapped page) would overwrite the frame it came from.
 */
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/percpu.h"
#include "lib/klog.h"

struct tss {
	uint32_t reserved0;
	uint64_t rsp[3];        /* stacks for entries from ring 3 (rsp[0]) */
	uint64_t reserved1;
	uint64_t ist[7];        /* ist[n-1] is IST n */
	uint64_t reserved2;
	uint16_t reserved3;
	uint16_t iomap_base;
} __packed;
_Static_assert(sizeof(struct tss) == 104, "TSS layout");

/* A cache line apart: the scheduler writes each CPU's RSP0 often. (A TSS
 * straddling a page matters only to hardware task switches, unused in
 * long mode.) */
struct cpu_tables {
	uint64_t gdt[GDT_ENTRIES];
	struct tss tss;
} __aligned(64);

static struct cpu_tables cpu_tables[MAX_CPUS];

/* The boot CPU's IST stacks are static; the others' come from
 * trap_alloc_stack() when they start, so bss does not grow with MAX_CPUS. */
static uint8_t boot_ist_stacks[IST_COUNT][IST_STACK_SIZE] __aligned(16);

__attribute__((weak)) void *trap_alloc_stack(size_t size)
{
	(void)size;
	return NULL;
}

/* Flat 64-bit segments: only type, DPL, P and L mean anything in long mode.
 * Accessed bits preset, so the CPU never writes to the table. */
#define SEG_KCODE 0x00AF9B000000FFFFull   /* P DPL0 code exec/read, L */
#define SEG_KDATA 0x00CF93000000FFFFull   /* P DPL0 data read/write */
#define SEG_UDATA 0x00CFF3000000FFFFull   /* P DPL3 data read/write */
#define SEG_UCODE 0x00AFFB000000FFFFull   /* P DPL3 code exec/read, L */

static void fill_gdt(struct cpu_tables *t)
{
	for (unsigned i = 0; i < GDT_ENTRIES; i++)
		t->gdt[i] = 0;
	t->gdt[KERNEL_CS >> 3] = SEG_KCODE;
	t->gdt[KERNEL_DS >> 3] = SEG_KDATA;
	t->gdt[USER_DS >> 3] = SEG_UDATA;
	t->gdt[USER_CS >> 3] = SEG_UCODE;

	/* 64-bit TSS descriptor, type 9 (available; ltr marks it busy). */
	uint64_t base = (uint64_t)&t->tss, limit = sizeof(t->tss) - 1;
	t->gdt[TSS_SEL >> 3] = (limit & 0xFFFF) | (base & 0xFFFFFF) << 16 |
			       0x89ull << 40 | ((limit >> 16) & 0xF) << 48 |
			       ((base >> 24) & 0xFF) << 56;
	t->gdt[(TSS_SEL >> 3) + 1] = base >> 32;
}

static void load_tables(struct cpu_tables *t)
{
	struct __packed { uint16_t limit; uint64_t base; } gdtr = {
		sizeof(t->gdt) - 1, (uint64_t)t->gdt
	};
	/* New CS by a far return; SS/DS/ES plainly. FS and GS are left alone:
	 * loading a selector there may clear the base that percpu_init set. */
	__asm__ volatile(
		"lgdt %0\n\t"
		"pushq %1\n\t"
		"leaq 1f(%%rip), %%rax\n\t"
		"pushq %%rax\n\t"
		"lretq\n"
		"1:\n\t"
		"movl %2, %%eax\n\t"
		"movl %%eax, %%ss\n\t"
		"movl %%eax, %%ds\n\t"
		"movl %%eax, %%es\n\t"
		"ltr %w3"
		:: "m"(gdtr), "i"(KERNEL_CS), "i"(KERNEL_DS), "r"(TSS_SEL)
		: "rax", "memory");
}

/* Called by trap_init_cpu (idt.c) before it loads the IDT. */
void gdt_init_cpu(unsigned cpu);
void gdt_init_cpu(unsigned cpu)
{
	if (cpu >= MAX_CPUS)
		panic("trap: cpu %u beyond MAX_CPUS (%u)", cpu, MAX_CPUS);
	struct cpu_tables *t = &cpu_tables[cpu];
	for (unsigned i = 0; i < IST_COUNT; i++) {
		if (t->tss.ist[i])
			continue;          /* a CPU brought up again keeps its stacks */
		uint8_t *s = cpu == 0 ? boot_ist_stacks[i] : trap_alloc_stack(IST_STACK_SIZE);
		if (!s)
			panic("trap: no memory for cpu %u's exception stacks", cpu);
		t->tss.ist[i] = ALIGN_DOWN((uint64_t)s + IST_STACK_SIZE, 16);
	}
	/* No I/O bitmap: the base lies past the limit, so ring 3 gets #GP on
	 * every port (IOPL stays 0). */
	t->tss.iomap_base = sizeof(t->tss);
	fill_gdt(t);
	load_tables(t);
}

unsigned trap_cpu_id(void)
{
	struct __packed { uint16_t limit; uint64_t base; } gdtr;
	__asm__ volatile("sgdt %0" : "=m"(gdtr));
	uint64_t first = (uint64_t)cpu_tables[0].gdt;
	uint64_t i = (gdtr.base - first) / sizeof(cpu_tables[0]);
	if (gdtr.base < first || i >= MAX_CPUS)
		return 0;
	return (unsigned)i;
}

void trap_set_kernel_stack(unsigned cpu, uint64_t top)
{
	cpu_tables[cpu].tss.rsp[0] = top;
}

uint64_t trap_get_kernel_stack(unsigned cpu)
{
	return cpu_tables[cpu].tss.rsp[0];
}
