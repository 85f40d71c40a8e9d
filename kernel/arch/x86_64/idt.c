/*
 * The IDT: one table shared by all CPUs, 256 interrupt gates pointing at
 * the stubs in trap_entry.S. Interrupt gates (not trap gates) so every
 * handler starts with interrupts off; it may enable them itself.
 */
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/trap.h"

struct gate {
	uint16_t off_lo;
	uint16_t sel;
	uint8_t ist;
	uint8_t type;           /* P | DPL | 0xE (64-bit interrupt gate) */
	uint16_t off_mid;
	uint32_t off_hi;
	uint32_t reserved;
} __packed;
_Static_assert(sizeof(struct gate) == 16, "gate layout");

static struct gate idt[256] __aligned(4096);

extern char trap_stubs[];   /* 256 stubs, 16 bytes apart */
void gdt_init_cpu(unsigned cpu);
void backtrace_init(void);

static void set_gate(unsigned vec, unsigned ist, unsigned dpl)
{
	uint64_t a = (uint64_t)trap_stubs + vec * 16;
	idt[vec] = (struct gate){
		.off_lo = a & 0xFFFF,
		.sel = KERNEL_CS,
		.ist = ist,
		.type = 0x8E | dpl << 5,
		.off_mid = (a >> 16) & 0xFFFF,
		.off_hi = a >> 32,
	};
}

static void load_idt(void)
{
	struct __packed { uint16_t limit; uint64_t base; } idtr = {
		sizeof(idt) - 1, (uint64_t)idt
	};
	__asm__ volatile("lidt %0" :: "m"(idtr) : "memory");
}

void trap_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		set_gate(v, 0, 0);
	set_gate(TRAP_NMI, IST_NMI, 0);
	set_gate(TRAP_DF, IST_DF, 0);
	set_gate(TRAP_MC, IST_MC, 0);
	/* int3 from ring 3 is a breakpoint, as on Linux (debuggers, and
	 * programs that trap into their own SIGTRAP handler). Every other
	 * `int n` from ring 3 is a #GP. */
	set_gate(TRAP_BP, 0, 3);
	backtrace_init();
	trap_init_cpu(0);
}

void trap_allow_user_int(uint8_t vector, bool allow)
{
	/* One byte: other CPUs see the old gate or the new one. */
	uint8_t type = 0x8E | (allow ? 3 << 5 : 0);
	__atomic_store_n(&idt[vector].type, type, __ATOMIC_RELAXED);
}

void trap_init_cpu(unsigned cpu)
{
	gdt_init_cpu(cpu);
	load_idt();
}
