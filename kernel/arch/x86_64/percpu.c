#include "arch/x86_64/percpu.h"
#include "arch/x86_64/cpu.h"

#define MSR_TSC_AUX 0xC0000103

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
	/* The vDSO's getcpu reads the CPU number from TSC_AUX (RDPID or
	 * RDTSCP; linux/vdso.c tests the same CPUID bits). */
	uint32_t max, a, b, c, d;
	bool rdpid = false, rdtscp = false;
	cpuid(0, 0, &max, &b, &c, &d);
	if (max >= 7) {
		cpuid(7, 0, &a, &b, &c, &d);
		rdpid = c & (1u << 22);
	}
	cpuid(0x80000000, 0, &max, &b, &c, &d);
	if (max >= 0x80000001) {
		cpuid(0x80000001, 0, &a, &b, &c, &d);
		rdtscp = d & (1u << 27);
	}
	if (rdpid || rdtscp)
		wrmsr(MSR_TSC_AUX, cpu);
}

/* The allocators' per-CPU caches are indexed by this. */
unsigned mm_cpu_id(void)
{
	return cpu_id();
}
