/*
 * Local APIC bring-up. In x2APIC mode every register is an MSR (0x800 +
 * offset/16) and the ICR is one 64-bit write; in xAPIC mode the registers
 * are 32-bit MMIO at the base in IA32_APIC_BASE (0xFEE00000 unless moved),
 * reached through the direct map made uncached by mmio_map().
 */
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/mmio.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/trap.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "sched/spinlock.h"

#define MSR_APIC_BASE   0x1B
#define APIC_BASE_BSP   (1ul << 8)
#define APIC_BASE_EXTD  (1ul << 10)   /* x2APIC mode */
#define APIC_BASE_EN    (1ul << 11)
#define MSR_X2APIC_BASE 0x800
#define SVR_ENABLE      (1u << 8)
#define ICR_BUSY        (1u << 12)
#define ICR_ASSERT      (1u << 14)
#define ICR_INIT        (5u << 8)
#define ICR_STARTUP     (6u << 8)

static bool x2apic;
static volatile void *xapic;

bool lapic_is_x2apic(void)
{
	return x2apic;
}

uint32_t lapic_read(uint32_t reg)
{
	if (x2apic)
		return (uint32_t)rdmsr(MSR_X2APIC_BASE + (reg >> 4));
	return mmio_read32(xapic, reg);
}

void lapic_write(uint32_t reg, uint32_t v)
{
	if (x2apic)
		wrmsr(MSR_X2APIC_BASE + (reg >> 4), v);
	else
		mmio_write32(xapic, reg, v);
}

uint32_t lapic_id(void)
{
	uint32_t id = lapic_read(LAPIC_ID);
	return x2apic ? id : id >> 24;
}

void lapic_eoi(void)
{
	lapic_write(LAPIC_EOI, 0);
}

/* The ICR: one MSR write in x2APIC mode; high then low dword in xAPIC
 * mode, where the low write sends, so nothing may come between them. */
static void send_icr(uint32_t apic_id, uint32_t low)
{
	if (x2apic) {
		wrmsr(MSR_X2APIC_BASE + (LAPIC_ICR_LO >> 4), (uint64_t)apic_id << 32 | low);
		return;
	}
	uint64_t f = irq_save();
	while (mmio_read32(xapic, LAPIC_ICR_LO) & ICR_BUSY)
		cpu_relax();
	mmio_write32(xapic, LAPIC_ICR_HI, apic_id << 24);
	mmio_write32(xapic, LAPIC_ICR_LO, low);
	while (mmio_read32(xapic, LAPIC_ICR_LO) & ICR_BUSY)
		cpu_relax();
	irq_restore(f);
}

void lapic_send_ipi(uint32_t apic_id, uint8_t vector)
{
	send_icr(apic_id, vector);
}

void lapic_send_init(uint32_t apic_id)
{
	send_icr(apic_id, ICR_INIT | ICR_ASSERT);
}

void lapic_send_sipi(uint32_t apic_id, uint8_t page)
{
	send_icr(apic_id, ICR_STARTUP | ICR_ASSERT | page);
}

static void spurious(struct trap_frame *tf, void *arg)
{
	(void)tf, (void)arg;   /* a spurious interrupt takes no EOI */
}

/* Per-CPU part: mode switch, enable, LVTs. */
static void setup_this_cpu(void)
{
	uint64_t base = rdmsr(MSR_APIC_BASE);
	if (!(base & APIC_BASE_EN))
		wrmsr(MSR_APIC_BASE, base |= APIC_BASE_EN);
	if (x2apic && !(base & APIC_BASE_EXTD))
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);   /* xAPIC -> x2APIC */

	lapic_write(LAPIC_TPR, 0);
	lapic_write(LAPIC_SVR, SVR_ENABLE | VEC_SPURIOUS);
	/* The IOAPIC delivers device interrupts: LINT0 (the 8259's virtual
	 * wire) is masked; LINT1 is the NMI line, as the MADT's NMI entries
	 * always say on PCs. The timer stays masked until armed. */
	unsigned maxlvt = (lapic_read(LAPIC_VER) >> 16) & 0xFF;
	lapic_write(LAPIC_LVT_TIMER, LVT_MASKED | VEC_LAPIC_TIMER);
	lapic_write(LAPIC_LVT_LINT0, LVT_MASKED);
	lapic_write(LAPIC_LVT_LINT1, LVT_NMI);
	lapic_write(LAPIC_LVT_ERROR, LVT_MASKED);
	if (maxlvt >= 4)
		lapic_write(LAPIC_LVT_PERF, LVT_MASKED);
	if (maxlvt >= 5)
		lapic_write(LAPIC_LVT_THERMAL, LVT_MASKED);
	lapic_write(LAPIC_ESR, 0);   /* clears the error status (write, then read) */
	lapic_read(LAPIC_ESR);
	lapic_eoi();                 /* anything left in service by the firmware */
	this_cpu()->apic_id = lapic_id();
}

void lapic_init(void)
{
	uint32_t a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	if (!((d >> 9) & 1))
		panic("lapic: this CPU has no local APIC");
	x2apic = (c >> 21) & 1;
	if (!x2apic) {
		uint64_t phys = rdmsr(MSR_APIC_BASE) & 0x000FFFFFFFFFF000ul;
		xapic = mmio_map(phys, PAGE_SIZE);
		if (!xapic)
			panic("lapic: xAPIC base %#lx is outside the direct map", phys);
	}
	/* Mask both 8259s: device interrupts come through the IOAPIC. Harmless
	 * where there is no 8259 (microvm with pic=off). */
	outb(0x21, 0xFF);
	outb(0xA1, 0xFF);

	trap_set_handler(VEC_SPURIOUS, spurious, NULL);
	setup_this_cpu();
	pr_info("lapic: %s mode, boot CPU APIC id %u, version %#x",
		x2apic ? "x2APIC" : "xAPIC", lapic_id(), lapic_read(LAPIC_VER) & 0xFF);
}

void lapic_init_ap(void)
{
	setup_this_cpu();
}

/* SELFTEST("lapic"): a fixed IPI to ourselves arrives, once, and only when
 * interrupts are on. Vector 0xEE is otherwise unused. */
#define VEC_SELFTEST 0xEE
static volatile unsigned selftest_hits;

static void selftest_ipi(struct trap_frame *tf, void *arg)
{
	(void)tf, (void)arg;
	selftest_hits++;
	lapic_eoi();
}

static int lapic_selftest(void)
{
	trap_set_handler(VEC_SELFTEST, selftest_ipi, NULL);
	uint64_t f = irq_save();
	selftest_hits = 0;
	lapic_send_ipi(lapic_id(), VEC_SELFTEST);
	unsigned masked_hits = selftest_hits;
	irq_enable();
	for (int i = 0; i < 1000 && !selftest_hits; i++)
		cpu_relax();
	irq_restore(f);
	pr_info("lapic: %s, APIC id %u, self-IPI taken %u time(s)",
		x2apic ? "x2APIC" : "xAPIC", lapic_id(), selftest_hits);
	if (masked_hits || selftest_hits != 1) {
		pr_err("lapic: self-IPI: %u hits with interrupts off, %u after", masked_hits,
		       selftest_hits);
		return 1;
	}
	return 0;
}
SELFTEST("lapic", lapic_selftest);
