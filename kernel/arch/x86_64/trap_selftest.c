/*
 * Self-tests of the trap machinery.
 *
 *   trap           in ring 0: ud2 and a #PF resume through fault handlers
 *                  (the #PF the way user-copy fixups will); selectors, CPU
 *                  id and symbol lookup are right.
 *   ring3          ring 3 and back: GDT user segments, TSS.RSP0, swapgs on
 *                  entry and on exit, int3 from ring 3, a vector >= 32
 *                  reaching its handler with every register intact, an
 *                  unexpected vector ignored.
 *
 * No test executes `int n` or int3 in ring 0: under PVM (this project's
 * /dev/kvm) ring 0 is emulated and KVM's emulator implements INT only in
 * real mode, so the VM would stop with an emulation failure.
 *   fault          a kernel page fault two calls deep: the VM must end with
 *                  status 134 after a report whose backtrace names
 *                  selftest_fault_trigger. Runs only when named.
 *   stackoverflow  unbounded recursion into a guard page: the double fault
 *                  runs on its IST stack and reports. Runs only when named.
 *   panic          panic() with its backtrace. Runs only when named.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/power.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/selftest.h"
#include "lib/string.h"

extern struct cmdline kernel_cmdline;

#define VEC_TEST  0x81   /* also in trap_selftest_asm.S */
#define VEC_NONE  0x82   /* nobody handles this one */

#define EXPECT(cond) do {						\
		if (!(cond)) {						\
			pr_err("trap selftest: %s:%d: %s", __FILE__, __LINE__, #cond); \
			failures++;					\
		}							\
	} while (0)

static int failures;

uint64_t selftest_probe(uint64_t addr);
extern char selftest_probe_insn[], selftest_probe_fixup[];
uint64_t selftest_user_enter(uint64_t rip, uint64_t rsp, uint64_t *ctx);
__noreturn void selftest_user_exit(uint64_t *ctx, uint64_t value);
extern char selftest_user_code[], selftest_user_after_ints[];
extern uint64_t boot_pml4[];
extern char boot_stack[], boot_stack_top[];

/* Tests that end the VM run only when named, never under selftest=all. */
static bool named(const char *name)
{
	const char *list = cmdline_get(&kernel_cmdline, "selftest");
	size_t n = strlen(name);
	for (const char *p = list; p && *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (len == n && !strncmp(p, name, n))
			return true;
		p += len + (end ? 1 : 0);
	}
	pr_warn("selftest %s: skipped (it ends the VM: name it, selftest=%s)", name, name);
	return false;
}

/* --- trap ------------------------------------------------------------- */

static int ud_hits, pf_hits;
static uint64_t pf_cr2;

static bool ud_handler(struct trap_frame *tf, uint64_t cr2)
{
	(void)cr2;
	if (trap_from_user(tf))
		return false;
	ud_hits++;
	tf->rip += 2;                 /* skip the ud2 */
	return true;
}

static bool pf_handler(struct trap_frame *tf, uint64_t cr2)
{
	if (tf->rip != (uint64_t)selftest_probe_insn)
		return false;
	pf_hits++;
	pf_cr2 = cr2;
	EXPECT(trap_cr2() == cr2);
	EXPECT(!(tf->error & PF_PRESENT) && !(tf->error & PF_WRITE) && !(tf->error & PF_USER));
	tf->rip = (uint64_t)selftest_probe_fixup;
	tf->rax = ~0ull;
	return true;
}

static uint16_t read_seg(int which)
{
	uint16_t v = 0;
	switch (which) {
	case 0: __asm__ volatile("mov %%cs, %0" : "=r"(v)); break;
	case 1: __asm__ volatile("mov %%ss, %0" : "=r"(v)); break;
	case 2: __asm__ volatile("str %0" : "=r"(v)); break;
	}
	return v;
}

static int selftest_trap(void)
{
	failures = 0;
	uint64_t gs = rdmsr(MSR_GS_BASE);
	EXPECT(read_seg(0) == KERNEL_CS);
	/* Entries from ring 3 leave a null SS behind (allowed in ring 0 of
	 * long mode), so after `ring3` ran SS may be 0. */
	EXPECT(read_seg(1) == KERNEL_SS || read_seg(1) == 0);
	EXPECT(read_seg(2) == TSS_SEL);
	EXPECT(trap_cpu_id() == 0);
	EXPECT(trap_get_kernel_stack(0) == 0 || trap_get_kernel_stack(0) % 16 == 0);

	/* Exceptions that fault handlers resolve. */
	trap_set_fault_handler(TRAP_UD, ud_handler);
	__asm__ volatile("ud2" ::: "memory");
	trap_set_fault_handler(TRAP_UD, NULL);
	EXPECT(ud_hits == 1);

	/* A page fault fixed up the way copies from user memory will be. */
	trap_set_fault_handler(TRAP_PF, pf_handler);
	uint64_t word = 0x1234;
	EXPECT(selftest_probe((uint64_t)&word) == 0x1234);
	EXPECT(selftest_probe(0x7ff00000) == ~0ull);
	EXPECT(selftest_probe(KVA_END - PAGE_SIZE) == ~0ull);
	trap_set_fault_handler(TRAP_PF, NULL);
	EXPECT(pf_hits == 2);
	EXPECT(pf_cr2 == KVA_END - PAGE_SIZE);

	EXPECT(rdmsr(MSR_GS_BASE) == gs);

	/* The symbol table, as backtraces use it. */
	const char *name = NULL;
	uint64_t off = 1;
	EXPECT(ksym_lookup((uint64_t)selftest_trap, &name, &off) &&
	       !strcmp(name, "selftest_trap") && off == 0);
	EXPECT(ksym_lookup((uint64_t)selftest_probe_insn + 1, &name, &off) &&
	       !strcmp(name, "selftest_probe") && off == 5);
	EXPECT(!ksym_lookup(0x1000, &name, &off));
	EXPECT(trap_name(TRAP_PF) && !strcmp(trap_name(TRAP_PF), "#PF page fault"));
	return failures;
}
SELFTEST("trap", selftest_trap);

/* --- ring3 ------------------------------------------------------------ */

#define MAGIC_GS0 0x5553455247533030ull   /* read by ring 3 through %gs */
#define MAGIC_GS1 0x5553455247533131ull
#define MAGIC_RDX 0x4b45524e454c5244ull   /* written into the frame */

static struct {
	uint64_t gs_words[2];
	uint8_t stack[512] __aligned(16);
} user_area __aligned(64);

static uint64_t user_ctx, user_rsp0, kernel_gs, user_gs;
static int user_stage, test_arg, test_calls;
static bool int_gives_ud;

/* The state every entry from ring 3 must find. */
static void check_user_entry(struct trap_frame *tf)
{
	EXPECT(trap_from_user(tf));
	EXPECT(tf->cs == USER_CS && tf->ss == USER_SS);
	EXPECT(rdmsr(MSR_GS_BASE) == kernel_gs);          /* entry swapgs */
	EXPECT(rdmsr(MSR_KERNEL_GS_BASE) == user_gs);
	EXPECT((uint64_t)(tf + 1) == user_rsp0);          /* on TSS.RSP0 */
	EXPECT(trap_cpu_id() == 0);
}

/* int $0x81: the handler sees the frame and may change it. */
static void test_handler(struct trap_frame *tf, void *arg)
{
	test_calls++;
	check_user_entry(tf);
	EXPECT(arg == &test_arg && tf->vector == VEC_TEST && tf->error == 0);
	tf->rax = tf->rdi * 3;
}

/*
 * PVM (this project's /dev/kvm) delivers `int n` from ring 3 as #UD, even
 * through a DPL-3 gate: then skip to the end of the vector tests, and say
 * so. The rip is checked against the instruction bytes (cd imm8).
 */
static bool user_ud_handler(struct trap_frame *tf, uint64_t cr2)
{
	(void)cr2;
	uint64_t code = kernel_virt_to_phys(selftest_user_code);
	uint64_t end = kernel_virt_to_phys(selftest_user_after_ints);
	if (!trap_from_user(tf) || tf->rip < code || tf->rip >= end)
		return false;
	const uint8_t *insn = (const uint8_t *)selftest_user_code + (tf->rip - code);
	if (insn[0] != 0xcd)
		return false;
	int_gives_ud = true;
	tf->rip = end;
	tf->rax = 0;
	return true;
}

static bool user_bp_handler(struct trap_frame *tf, uint64_t cr2)
{
	(void)cr2;
	if (!trap_from_user(tf))
		return false;
	check_user_entry(tf);
	switch (user_stage++) {
	case 0:
		EXPECT(tf->rax == MAGIC_GS0);
		EXPECT(tf->rbx == USER_CS && tf->rcx == USER_SS);
		tf->rdx = MAGIC_RDX;
		return true;           /* back to ring 3 through the exit path */
	case 1:
		EXPECT(tf->rsi == MAGIC_GS1);             /* exit swapgs */
		EXPECT(tf->rdx == MAGIC_RDX);             /* frame write-back */
		return true;
	default:
		if (tf->rax)
			pr_err("ring3 selftest: register %lu wrong after int $0x81", tf->rax);
		EXPECT(tf->rax == 0);
		EXPECT(test_calls == (int_gives_ud ? 0 : 1));
		selftest_user_exit(&user_ctx, 0x600d);
	}
}

static int selftest_ring3(void)
{
	failures = 0;
	user_stage = 0;
	/* Ring 3 needs a user mapping; mm owns none yet, so borrow the
	 * identity tables boot.S built (dead since kernel_main): their PD
	 * maps the first GiB with 2 MiB pages. Code and data then run at
	 * their physical addresses. */
	uint64_t code = kernel_virt_to_phys(selftest_user_code);
	uint64_t data = kernel_virt_to_phys(&user_area);
	uint64_t *bpml4 = phys_to_virt(kernel_virt_to_phys(boot_pml4));
	uint64_t *live = phys_to_virt(read_cr3() & PTE_ADDR_MASK);
	if (!(bpml4[0] & PTE_P) || live[0] || code >= (1ul << 30) || data >= (1ul << 30)) {
		pr_err("ring3 selftest: cannot borrow the boot identity map");
		return 1;
	}
	uint64_t pdpt_pa = bpml4[0] & PTE_ADDR_MASK;
	uint64_t *pdpt = phys_to_virt(pdpt_pa);
	uint64_t *pd = phys_to_virt(pdpt[0] & PTE_ADDR_MASK);
	unsigned ci = code >> 21, di = data >> 21;
	uint64_t ad = PTE_A | PTE_D;
	if ((pd[ci] & ~ad) != (((uint64_t)ci << 21) | 0x83) ||
	    (pd[di] & ~ad) != (((uint64_t)di << 21) | 0x83)) {
		pr_err("ring3 selftest: boot identity map not as expected");
		return 1;
	}
	pdpt[0] |= PTE_U;
	pd[ci] |= PTE_U;
	pd[di] |= PTE_U;
	live[0] = pdpt_pa | PTE_P | PTE_W | PTE_U;
	write_cr3(read_cr3());

	uint64_t flags;
	__asm__ volatile("pushfq; popq %0; cli" : "=r"(flags) :: "memory");
	user_area.gs_words[0] = MAGIC_GS0;
	user_area.gs_words[1] = MAGIC_GS1;
	kernel_gs = rdmsr(MSR_GS_BASE);
	uint64_t old_kgs = rdmsr(MSR_KERNEL_GS_BASE);
	user_gs = data;                 /* gs_words sit at the start */
	wrmsr(MSR_KERNEL_GS_BASE, user_gs);
	uint64_t old_rsp0 = trap_get_kernel_stack(0);
	/* Traps from ring 3 land below this frame, on the stack the rest of
	 * the test does not use while ring 3 runs. */
	user_rsp0 = ALIGN_DOWN((uint64_t)__builtin_frame_address(0) - 2048, 16);
	trap_set_kernel_stack(0, user_rsp0);
	trap_set_fault_handler(TRAP_BP, user_bp_handler);
	trap_set_fault_handler(TRAP_UD, user_ud_handler);
	int_gives_ud = false;
	trap_set_handler(VEC_TEST, test_handler, &test_arg);
	trap_allow_user_int(VEC_TEST, true);
	trap_allow_user_int(VEC_NONE, true);
	test_calls = 0;

	uint64_t r = selftest_user_enter(code, data + sizeof(user_area), &user_ctx);

	trap_allow_user_int(VEC_TEST, false);
	trap_allow_user_int(VEC_NONE, false);
	trap_set_handler(VEC_TEST, NULL, NULL);
	trap_set_fault_handler(TRAP_BP, NULL);
	trap_set_fault_handler(TRAP_UD, NULL);
	trap_set_kernel_stack(0, old_rsp0);
	if (int_gives_ud)
		pr_warn("ring3 selftest: `int n` from ring 3 raised #UD (a PVM host?): "
			"vectors >= 32 not tested");
	EXPECT(rdmsr(MSR_GS_BASE) == kernel_gs);
	wrmsr(MSR_KERNEL_GS_BASE, old_kgs);
	if (flags & (1 << 9))
		irq_enable();
	live[0] = 0;
	pdpt[0] &= ~PTE_U;
	pd[ci] &= ~PTE_U;
	pd[di] &= ~PTE_U;
	write_cr3(read_cr3());
	EXPECT(r == 0x600d);
	EXPECT(user_stage == 3);
	return failures;
}
SELFTEST("ring3", selftest_ring3);

/* --- fault ------------------------------------------------------------ */

static volatile uint64_t fault_address = 0x10;   /* volatile: a real store */

__attribute__((noinline)) void selftest_fault_trigger(void);
__attribute__((noinline)) void selftest_fault_trigger(void)
{
	*(volatile uint64_t *)fault_address = 0x5e1f7e57;
	barrier();
}

__attribute__((noinline)) static void selftest_fault_outer(void)
{
	selftest_fault_trigger();
	barrier();   /* not a tail call: keep this frame in the backtrace */
}

static int selftest_fault(void)
{
	if (!named("fault"))
		return 0;
	pr_warn("fault selftest: writing to 0x%lx; expect a #PF report naming "
		"selftest_fault_trigger and exit status %d", fault_address, EXIT_KERNEL_PANIC);
	selftest_fault_outer();
	pr_err("fault selftest: the write did not fault");
	return 1;
}
SELFTEST("fault", selftest_fault);

/* --- stackoverflow ------------------------------------------------------ */

static volatile bool stop_recursing;

__attribute__((noinline)) static int selftest_recurse(int depth)
{
	volatile char pad[200];
	pad[0] = (char)depth;
	if (stop_recursing)
		return 0;
	return selftest_recurse(depth + 1) + pad[0];
}

/* The 4 KiB page-table entry mapping kernel address va, or NULL. */
static uint64_t *pte_of(uint64_t va)
{
	uint64_t *t = phys_to_virt(read_cr3() & PTE_ADDR_MASK);
	static const unsigned shift[3] = { 39, 30, 21 };
	for (int l = 0; l < 3; l++) {
		uint64_t e = t[(va >> shift[l]) & 511];
		if (!(e & PTE_P) || (e & PTE_PS))
			return NULL;
		t = phys_to_virt(e & PTE_ADDR_MASK);
	}
	return &t[PT_INDEX(va)];
}

static int selftest_stackoverflow(void)
{
	if (!named("stackoverflow"))
		return 0;
	uint64_t sp = (uint64_t)__builtin_frame_address(0);
	if (sp < (uint64_t)boot_stack || sp >= (uint64_t)boot_stack_top) {
		pr_err("stackoverflow selftest: not on the boot stack");
		return 1;
	}
	/* The boot stack has no guard page (it sits in .bss): make its lowest
	 * whole page one. */
	uint64_t guard = ALIGN_UP((uint64_t)boot_stack, PAGE_SIZE);
	uint64_t *pte = pte_of(guard);
	if (!pte || guard + PAGE_SIZE > sp) {
		pr_err("stackoverflow selftest: no page to guard");
		return 1;
	}
	*pte &= ~PTE_P;
	invlpg(guard);
	pr_warn("stackoverflow selftest: recursing into a guard page at 0x%lx; "
		"expect a #DF report and exit status %d", guard, EXIT_KERNEL_PANIC);
	selftest_recurse(0);
	return 1;
}
SELFTEST("stackoverflow", selftest_stackoverflow);

/* --- panic ---------------------------------------------------------------- */

/* panic() prints its message and backtrace_print_here()'s backtrace. */
static int selftest_panic(void)
{
	if (!named("panic"))
		return 0;
	panic("panic selftest: expect a backtrace naming selftest_panic and exit status %d",
	      EXIT_KERNEL_PANIC);
}
SELFTEST("panic", selftest_panic);
