/*
 * Per-CPU data, reached through %gs. In the kernel GS_BASE points at this
 * CPU's struct percpu; while the program runs, GS_BASE is the program's own
 * and KERNEL_GS_BASE holds ours, so entries from ring 3 do `swapgs`.
 * The first fields are read by assembly at fixed offsets.
 */
#pragma once

#define MAX_CPUS 64

#define PERCPU_SELF          0
#define PERCPU_KSTACK_TOP    8    /* kernel stack for syscall entry */
#define PERCPU_USER_RSP      16   /* scratch: the program's rsp at syscall */
#define PERCPU_CURRENT       24

#ifndef __ASSEMBLY__
struct thread;

struct percpu {
	struct percpu *self;
	uint64_t kstack_top;
	uint64_t user_rsp;
	struct thread *current;
	unsigned cpu;           /* 0..MAX_CPUS-1, dense */
	uint32_t apic_id;
	bool online;
	uint64_t irq_count;     /* interrupts taken, for idle accounting */
} __aligned(64);

_Static_assert(offsetof(struct percpu, kstack_top) == PERCPU_KSTACK_TOP, "asm offset");
_Static_assert(offsetof(struct percpu, user_rsp) == PERCPU_USER_RSP, "asm offset");
_Static_assert(offsetof(struct percpu, current) == PERCPU_CURRENT, "asm offset");

extern struct percpu percpu_area[MAX_CPUS];

static inline struct percpu *this_cpu(void)
{
	struct percpu *p;
	__asm__ volatile("movq %%gs:0, %0" : "=r"(p));
	return p;
}

static inline unsigned cpu_id(void)
{
	return this_cpu()->cpu;
}

/* Points this CPU's GS_BASE at percpu_area[cpu]. */
void percpu_init(unsigned cpu, uint32_t apic_id);
#endif
