/*
 * SMP: starting the application processors listed in the MADT, and
 * cross-CPU function calls (TLB shoot-down among them).
 *
 * Start-up is parallel and does not wait: the boot CPU prepares each AP's
 * idle thread (its first stack), copies the trampoline below 1 MiB, sends
 * INIT to every AP, then two STARTUP IPIs to every AP, and goes on
 * booting. Each AP takes a slot number from the trampoline (arrival order:
 * slot s becomes CPU s+1), sets up its per-CPU area, GDT/TSS/IDT, local
 * APIC and timer, and enters its idle loop; the scheduler uses it from
 * the moment it is online. smp_wait_online() waits for them when a caller
 * needs them all (the SMP self-tests).
 */
#include "arch/x86_64/smp.h"
#include "mm/mm.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/pvh.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/timer.h"
#include "arch/x86_64/trap.h"
#include "drivers/acpi/acpi.h"
#include "mm/page_alloc.h"
#include "sched/sched.h"

extern struct cmdline kernel_cmdline;
#include "lib/klog.h"
#include "lib/cmdline.h"
#include "lib/string.h"

extern char trampoline_start[], trampoline_end[];
extern char tr_pm_ptr[], tr_lm_ptr[], tr_gdtr[], tr_cr3[], tr_entry[], tr_next_slot[], tr_stacks[];

uint64_t sched_prepare_ap(unsigned cpu);
void smp_ap_entry(unsigned slot);

static unsigned expected = 1;
static uint64_t bsp_cr0, bsp_cr4, bsp_efer, bsp_pat;
static uint64_t start_ns;
static volatile uint64_t last_online_ns;

#define MSR_PAT 0x277

/* Hook for other subsystems' per-CPU set-up (syscall MSRs...): weak, none. */
__attribute__((weak)) void smp_ap_hook(unsigned cpu)
{
	(void)cpu;
}

/* --- the low pages --------------------------------------------------------- */

static void ap_boot_delay_us(uint64_t us)
{
	uint64_t end = clock_monotonic_ns() + us * 1000;
	while (clock_monotonic_ns() < end)
		cpu_relax();
}

void smp_init(void)
{
	smp_init_ipis();
	start_ns = clock_monotonic_ns();
	unsigned n = acpi_cpu_count;
	const char *max = cmdline_get(&kernel_cmdline, "maxcpus");
	uint64_t m;
	if (max && parse_u64(max, &m) && m >= 1 && m < n)
		n = (unsigned)m;
	if (n > MAX_CPUS)
		n = MAX_CPUS;
	if (n <= 1)
		return;
	uint32_t me = lapic_id();
	uint64_t low = mm_low_pages();   /* trampoline, temporary PML4, PDPT, PD */
	if (!low) {
		pr_warn("smp: no free page below 1 MiB for the trampoline; %u CPUs stay off", n - 1);
		return;
	}
	/* Temporary tables: the first 2 MiB identity-mapped, upper half shared. */
	uint64_t *pml4 = phys_to_virt(low + 0x1000), *pdpt = phys_to_virt(low + 0x2000),
		 *pd = phys_to_virt(low + 0x3000);
	memset(pml4, 0, 3 * PAGE_SIZE);

	/* Idle threads first: their stacks live in the KVA region, which
	 * the copied upper half must already include. */
	char *tr = phys_to_virt(low);
	size_t size = (size_t)(trampoline_end - trampoline_start);
	memcpy(tr, trampoline_start, size);
	uint64_t *stacks = (uint64_t *)(tr + (tr_stacks - trampoline_start));
	unsigned nap = 0;
	for (unsigned i = 0; i < acpi_cpu_count && nap < n - 1; i++) {
		if (acpi_cpu_apic_id[i] == me)
			continue;
		stacks[nap] = sched_prepare_ap(nap + 1);
		nap++;
	}
	pd[0] = 0 | PTE_P | PTE_W | PTE_PS;
	pdpt[0] = virt_to_phys_direct(pd) | PTE_P | PTE_W;
	pml4[0] = virt_to_phys_direct(pdpt) | PTE_P | PTE_W;
	const uint64_t *kpml4 = phys_to_virt(boot_info.pml4_phys);
	for (int i = 256; i < 512; i++)
		pml4[i] = kpml4[i];

#define PATCH32(sym) (*(uint32_t *)(tr + ((sym) - trampoline_start)))
#define PATCH64(sym) (*(uint64_t *)(tr + ((sym) - trampoline_start)))
	PATCH32(tr_pm_ptr) += (uint32_t)low;
	PATCH32(tr_lm_ptr) += (uint32_t)low;
	*(uint32_t *)(tr + (tr_gdtr - trampoline_start) + 2) += (uint32_t)low;
	PATCH64(tr_cr3) = low + 0x1000;
	PATCH64(tr_entry) = (uint64_t)smp_ap_entry;
	PATCH32(tr_next_slot) = 0;

	bsp_cr0 = read_cr0();
	bsp_cr4 = read_cr4();
	bsp_efer = rdmsr(MSR_EFER);
	bsp_pat = rdmsr(MSR_PAT);
	expected = nap + 1;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);

	/* INIT, then STARTUP twice, to all at once. The MP spec's 10 ms after
	 * INIT is for old parts; a hypervisor's vCPUs take the STARTUP at once
	 * (Linux skips the wait on modern CPUs too). */
	uint32_t a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	bool hv = c & (1u << 31);
	unsigned sent = 0;
	for (unsigned i = 0; i < acpi_cpu_count && sent < nap; i++) {
		if (acpi_cpu_apic_id[i] == me)
			continue;
		lapic_send_init(acpi_cpu_apic_id[i]);
		sent++;
	}
	ap_boot_delay_us(hv ? 0 : 10000);
	for (int round = 0; round < 2; round++) {
		sent = 0;
		for (unsigned i = 0; i < acpi_cpu_count && sent < nap; i++) {
			if (acpi_cpu_apic_id[i] == me)
				continue;
			lapic_send_sipi(acpi_cpu_apic_id[i], (uint8_t)(low >> 12));
			sent++;
		}
		if (round == 0)
			ap_boot_delay_us(200);
	}
	pr_info("smp: starting %u application processors (trampoline at %#lx)", nap, low);
}

void smp_ap_entry(unsigned slot)
{
	unsigned cpu = slot + 1;
	uint32_t a, b, c, d;
	cpuid(1, 0, &a, &b, &c, &d);
	percpu_init(cpu, b >> 24);
	trap_init_cpu(cpu);
	write_cr3(boot_info.pml4_phys);     /* leave the trampoline's tables */
	wrmsr(MSR_EFER, bsp_efer);
	wrmsr(MSR_PAT, bsp_pat);
	write_cr0(bsp_cr0);
	write_cr4(bsp_cr4);
	write_cr3(boot_info.pml4_phys);     /* flush with the PAT in force */
	lapic_init_ap();
	percpu_area[cpu].apic_id = lapic_id();
	timer_init_ap();
	smp_ap_hook(cpu);
	last_online_ns = clock_monotonic_ns();
	sched_start_ap(cpu);
}

unsigned smp_cpus_expected(void)
{
	return expected;
}

bool smp_wait_online(uint64_t timeout_ns)
{
	uint64_t end = clock_monotonic_ns() + timeout_ns;
	while (sched_cpus_online() < expected) {
		if (clock_monotonic_ns() > end)
			return false;
		thread_sleep_ns(100000);
	}
	return true;
}

uint64_t smp_bringup_ns(void)
{
	return sched_cpus_online() >= expected && expected > 1 ? last_online_ns - start_ns : 0;
}

/* --- cross-CPU calls ----------------------------------------------------------
 * Each CPU has one outstanding request at a time (it waits for it), so a
 * target finds requests through a bitmap of callers. While waiting, a
 * caller serves calls addressed to it: two CPUs calling each other with
 * interrupts off cannot deadlock. Do not call with a spinlock held that
 * another CPU may be spinning on with interrupts off. */

struct call_req {
	void (*fn)(void *);
	void *arg;
	volatile unsigned remaining;
};

static struct call_req *volatile call_req[MAX_CPUS];
static volatile uint64_t calls_pending[MAX_CPUS];

static void serve_calls(void)
{
	unsigned me = cpu_id();
	uint64_t m = __atomic_exchange_n(&calls_pending[me], 0, __ATOMIC_ACQ_REL);
	while (m) {
		unsigned from = (unsigned)__builtin_ctzll(m);
		m &= m - 1;
		struct call_req *r = call_req[from];
		r->fn(r->arg);
		__atomic_sub_fetch(&r->remaining, 1, __ATOMIC_RELEASE);
	}
}

void smp_poll_calls(void)
{
	if (__atomic_load_n(&calls_pending[cpu_id()], __ATOMIC_ACQUIRE))
		serve_calls();
}

static void ipi_call(struct trap_frame *tf, void *arg)
{
	(void)tf, (void)arg;
	lapic_eoi();
	serve_calls();
}

void smp_call_mask(uint64_t mask, void (*fn)(void *), void *arg)
{
	uint64_t f = irq_save();
	unsigned me = cpu_id();
	mask &= sched_online_mask();
	bool self = mask & (1ull << me);
	mask &= ~(1ull << me);
	if (mask) {
		unsigned n = 0;
		for (uint64_t m = mask; m; m &= m - 1)
			n++;
		struct call_req r = { fn, arg, n };
		call_req[me] = &r;
		__atomic_thread_fence(__ATOMIC_SEQ_CST);
		for (uint64_t m = mask; m; m &= m - 1) {
			unsigned c = (unsigned)__builtin_ctzll(m);
			__atomic_or_fetch(&calls_pending[c], 1ull << me, __ATOMIC_SEQ_CST);
			lapic_send_ipi(percpu_area[c].apic_id, VEC_IPI_CALL);
		}
		while (__atomic_load_n(&r.remaining, __ATOMIC_ACQUIRE)) {
			serve_calls();
			cpu_relax();
		}
		call_req[me] = NULL;
	}
	if (self)
		fn(arg);
	irq_restore(f);
}

struct flush_range {
	uint64_t start, end;
};

static void flush_local(void *arg)
{
	struct flush_range *r = arg;
	if (r->end - r->start > 64 * PAGE_SIZE) {
		/* big range: reload CR3 (and toggle PGE for global pages) */
		uint64_t cr4 = read_cr4();
		if (cr4 & CR4_PGE) {
			write_cr4(cr4 & ~CR4_PGE);
			write_cr4(cr4);
		} else {
			write_cr3(read_cr3());
		}
		return;
	}
	for (uint64_t va = r->start; va < r->end; va += PAGE_SIZE)
		invlpg(va);
}

/* The other CPUs drop their translations of [start, end) (the caller has
 * flushed its own). */
void tlb_shootdown(uint64_t start, uint64_t end)
{
	if (sched_cpus_online() <= 1)
		return;
	struct flush_range r = { ALIGN_DOWN(start, PAGE_SIZE), ALIGN_UP(end, PAGE_SIZE) };
	smp_call_mask(sched_online_mask() & ~(1ull << cpu_id()), flush_local, &r);
}

void smp_init_ipis(void)
{
	trap_set_handler(VEC_IPI_CALL, ipi_call, NULL);
	trap_set_handler(VEC_IPI_TLB, ipi_call, NULL);
}
