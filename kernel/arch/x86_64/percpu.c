#include "arch/x86_64/percpu.h"
#include "arch/x86_64/cpu.h"

struct percpu percpu_area[MAX_CPUS];

void percpu_init(unsigned cpu, uint32_t apic_id)
{
	struct percpu *p = &percpu_area[cpu];
	p->self = p;
	p->cpu = cpu;
	p->apic_id = apic_id;
	p->online = true;
	wrmsr(MSR_GS_BASE, (uint64_t)p);
	wrmsr(MSR_KERNEL_GS_BASE, 0);
}

/* The allocators' per-CPU caches are indexed by this. */
unsigned mm_cpu_id(void)
{
	return cpu_id();
}
