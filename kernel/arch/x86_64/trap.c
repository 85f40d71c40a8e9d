/*
 * Where every interrupt and exception lands (from trap_entry.S). Vectors
 * 32..255 go to the handler registered for them. Exceptions go to a
 * registered fault handler if one takes them, ring-3 ones then to
 * user_fault() (signals), and whatever is left is fatal: a report with the
 * registers and a symbolized backtrace, then the VM exits with status 134.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/power.h"
#include "sched/spinlock.h"
#include "lib/klog.h"
#include "lib/printf.h"

static struct {
	trap_handler_t fn;
	void *arg;
} handlers[256];
static trap_fault_handler_t fault_handlers[32];
static uint64_t warned[256 / 64];        /* unexpected vectors already logged */
static uint64_t entry_cr2[MAX_CPUS];     /* see trap_cr2() */

__attribute__((weak)) bool user_fault(struct trap_frame *tf)
{
	(void)tf;
	return false;
}

/* --- signals: the Linux layer's return-to-user work (linux/signal.c) --- */
__attribute__((weak)) void user_return(struct trap_frame *tf)
{
	(void)tf;
}

void trap_set_handler(uint8_t vector, trap_handler_t h, void *arg)
{
	if (vector < 32)
		panic("trap_set_handler: vector %u is an exception", vector);
	/* arg before fn: a CPU that sees the new fn sees its arg. */
	__atomic_store_n(&handlers[vector].arg, arg, __ATOMIC_RELAXED);
	__atomic_store_n(&handlers[vector].fn, h, __ATOMIC_RELEASE);
}

void trap_set_fault_handler(uint8_t vector, trap_fault_handler_t h)
{
	if (vector >= 32)
		panic("trap_set_fault_handler: vector %u is not an exception", vector);
	__atomic_store_n(&fault_handlers[vector], h, __ATOMIC_RELEASE);
}

uint64_t trap_cr2(void)
{
	return entry_cr2[trap_cpu_id()];
}

static const char *const names[32] = {
	[0] = "#DE divide error",          [1] = "#DB debug",
	[2] = "NMI",                       [3] = "#BP breakpoint",
	[4] = "#OF overflow",              [5] = "#BR bound range exceeded",
	[6] = "#UD invalid opcode",        [7] = "#NM device not available",
	[8] = "#DF double fault",          [9] = "coprocessor segment overrun",
	[10] = "#TS invalid TSS",          [11] = "#NP segment not present",
	[12] = "#SS stack-segment fault",  [13] = "#GP general protection",
	[14] = "#PF page fault",           [16] = "#MF x87 floating-point error",
	[17] = "#AC alignment check",      [18] = "#MC machine check",
	[19] = "#XM SIMD floating-point error", [20] = "#VE virtualization exception",
	[21] = "#CP control protection",   [28] = "#HV hypervisor injection",
	[29] = "#VC VMM communication",    [30] = "#SX security exception",
};

const char *trap_name(unsigned vector)
{
	if (vector >= 32)
		return NULL;
	return names[vector] ? names[vector] : "reserved exception";
}

static void describe_error(const struct trap_frame *tf, uint64_t cr2)
{
	uint64_t e = tf->error;
	switch (tf->vector) {
	case TRAP_PF:
		pr_err("%s at 0x%016lx: %s, %s mode%s%s%s%s [error 0x%lx]",
		       e & PF_IFETCH ? "instruction fetch" : e & PF_WRITE ? "write" : "read",
		       cr2, e & PF_PRESENT ? "protection violation" : "page not present",
		       e & PF_USER ? "user" : "kernel",
		       e & PF_RESERVED ? ", reserved bit set in a page-table entry" : "",
		       e & PF_PK ? ", protection key" : "",
		       e & PF_SHSTK ? ", shadow stack" : "",
		       !(e & PF_USER) && cr2 < USER_END ? " (a lower-half address: the program's)" : "",
		       e);
		break;
	case TRAP_TS: case TRAP_NP: case TRAP_SS: case TRAP_GP:
		if (!e)
			pr_err("error code 0");
		else if (e & 2)
			pr_err("error 0x%lx: IDT vector %lu%s", e, (e >> 3) & 0x1FFF,
			       e & 1 ? ", external event" : "");
		else
			pr_err("error 0x%lx: %s selector 0x%lx%s", e, e & 4 ? "LDT" : "GDT",
			       e & 0xFFF8, e & 1 ? ", external event" : "");
		break;
	default:
		if (tf->error)
			pr_err("error code 0x%lx", e);
	}
}

static void print_sym(const char *label, uint64_t addr)
{
	const char *name;
	uint64_t off;
	if (ksym_lookup(addr, &name, &off))
		pr_err("%s 0x%016lx %s+0x%lx", label, addr, name, off);
	else
		pr_err("%s 0x%016lx", label, addr);
}

void trap_report(const struct trap_frame *tf, uint64_t cr2, const char *why)
{
	bool user = trap_from_user(tf);
	const char *name = trap_name(tf->vector);
	pr_err("%s: %s (vector %lu) on cpu %u", why, name ? name : "interrupt",
	       tf->vector, trap_cpu_id());
	describe_error(tf, cr2);
	if (user)
		pr_err("rip 0x%016lx (ring 3)", tf->rip);
	else
		print_sym("rip", tf->rip);
	pr_err("cs  0x%04lx  ss 0x%04lx  rflags 0x%016lx  rsp 0x%016lx",
	       tf->cs, tf->ss, tf->rflags, tf->rsp);
	pr_err("rax 0x%016lx  rbx 0x%016lx  rcx 0x%016lx", tf->rax, tf->rbx, tf->rcx);
	pr_err("rdx 0x%016lx  rsi 0x%016lx  rdi 0x%016lx", tf->rdx, tf->rsi, tf->rdi);
	pr_err("rbp 0x%016lx  r8  0x%016lx  r9  0x%016lx", tf->rbp, tf->r8, tf->r9);
	pr_err("r10 0x%016lx  r11 0x%016lx  r12 0x%016lx", tf->r10, tf->r11, tf->r12);
	pr_err("r13 0x%016lx  r14 0x%016lx  r15 0x%016lx", tf->r13, tf->r14, tf->r15);
	pr_err("cr2 0x%016lx  cr3 0x%016lx  cr0 0x%08lx  cr4 0x%08lx",
	       cr2, read_cr3(), read_cr0(), read_cr4());
	if (user) {
		pr_err("(ring 3: no kernel backtrace)");
		return;
	}
	pr_err("backtrace:");
	backtrace_print_trap(tf);
}

/* The CPU printing a fatal report, so a fault inside the report itself
 * ends the VM at once instead of recursing. */
static spinlock_t report_lock = SPINLOCK_INIT;
static int report_cpu = -1;

static __noreturn void fatal(const struct trap_frame *tf, uint64_t cr2)
{
	int cpu = (int)trap_cpu_id();
	panic_in_progress = 1;     /* no disk write-back at power-off */
	if (__atomic_load_n(&report_cpu, __ATOMIC_RELAXED) == cpu) {
		/* Even the console may be what broke (its lock may be held
		 * right here): leave through isa-debug-exit before anything
		 * that prints. */
		outl(0xf4, EXIT_KERNEL_PANIC);
		machine_exit(EXIT_KERNEL_PANIC);
	}
	spin_lock(&report_lock);   /* another CPU's report ends the VM first */
	__atomic_store_n(&report_cpu, cpu, __ATOMIC_RELAXED);
	trap_report(tf, cr2, trap_from_user(tf) ? "unhandled exception in the program"
						: "fatal exception in the kernel");
	machine_exit(EXIT_KERNEL_PANIC);
}

static void unexpected(unsigned v)
{
	uint64_t bit = 1ull << (v % 64);
	if (__atomic_fetch_or(&warned[v / 64], bit, __ATOMIC_RELAXED) & bit)
		return;
	pr_warn("unexpected interrupt, vector %u (0x%x) on cpu %u: ignored",
		v, v, trap_cpu_id());
}

static void exception(struct trap_frame *tf, uint64_t cr2)
{
	unsigned v = (unsigned)tf->vector;
	trap_fault_handler_t h = __atomic_load_n(&fault_handlers[v], __ATOMIC_ACQUIRE);
	if (h && h(tf, cr2))
		return;
	if (v == TRAP_NMI) {
		/* Nobody claimed it: most likely a person asking (QEMU monitor
		 * `nmi`) where a stuck CPU is. Say, and carry on. */
		pr_warn("NMI on cpu %u, not claimed; interrupted at:", trap_cpu_id());
		if (!trap_from_user(tf))
			backtrace_print_trap(tf);
		return;
	}
	if (trap_from_user(tf) && user_fault(tf))
		return;
	fatal(tf, cr2);
}

void trap_dispatch(struct trap_frame *tf);
void trap_dispatch(struct trap_frame *tf)
{
	unsigned v = (unsigned)tf->vector;
	if (v >= 32) {
		trap_handler_t h = __atomic_load_n(&handlers[v].fn, __ATOMIC_ACQUIRE);
		if (h)
			h(tf, __atomic_load_n(&handlers[v].arg, __ATOMIC_RELAXED));
		else
			unexpected(v);
		/* --- signals: delivered on the way back to ring 3 --- */
		if (trap_from_user(tf))
			user_return(tf);
		return;
	}
	/* CR2 first: any fault from here on would overwrite it. */
	uint64_t cr2 = read_cr2();
	unsigned cpu = trap_cpu_id();
	uint64_t outer = entry_cr2[cpu];
	entry_cr2[cpu] = cr2;
	exception(tf, cr2);
	entry_cr2[cpu] = outer;
	/* --- signals: delivered on the way back to ring 3 --- */
	if (trap_from_user(tf) && v != TRAP_NMI)
		user_return(tf);
}
