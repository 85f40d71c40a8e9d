/*
 * Traps: CPU exceptions, device interrupts and IPIs all enter through one
 * IDT. Exceptions in the kernel end in a report (vector, error code,
 * registers, CR2, symbolized backtrace) and a non-zero VM exit; vectors
 * 32..255 go to handlers registered here.
 */
#pragma once
#include "arch/x86_64/gdt.h"

/* Saved by the entry stubs, in this order on the stack. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_t)(struct trap_frame *tf, void *arg);

/* CPU exceptions. */
#define TRAP_DE   0     /* divide error */
#define TRAP_DB   1     /* debug */
#define TRAP_NMI  2
#define TRAP_BP   3     /* int3 */
#define TRAP_OF   4
#define TRAP_BR   5
#define TRAP_UD   6     /* invalid opcode */
#define TRAP_NM   7     /* device not available */
#define TRAP_DF   8     /* double fault (IST) */
#define TRAP_TS   10
#define TRAP_NP   11
#define TRAP_SS   12
#define TRAP_GP   13
#define TRAP_PF   14
#define TRAP_MF   16    /* x87 error */
#define TRAP_AC   17
#define TRAP_MC   18    /* machine check (IST) */
#define TRAP_XM   19    /* SIMD error */
#define TRAP_VE   20
#define TRAP_CP   21

/* Page-fault error code bits. */
#define PF_PRESENT  (1u << 0)   /* 0: the page was not present */
#define PF_WRITE    (1u << 1)
#define PF_USER     (1u << 2)
#define PF_RESERVED (1u << 3)   /* a reserved bit set in a page-table entry */
#define PF_IFETCH   (1u << 4)
#define PF_PK       (1u << 5)
#define PF_SHSTK    (1u << 6)

/* Vectors for device interrupts and IPIs. */
#define VEC_IRQ_BASE     32    /* IOAPIC GSI n -> VEC_IRQ_BASE + n (n < 24) */
#define VEC_LAPIC_TIMER  0xF0
#define VEC_IPI_RESCHED  0xF1
#define VEC_IPI_CALL     0xF2
#define VEC_IPI_TLB      0xF3
#define VEC_SPURIOUS     0xFF

/* Boot CPU: GDT, TSS with IST stacks, IDT. Call once, early. */
void trap_init(void);
/* Application processors: load the shared IDT and their own GDT/TSS. */
void trap_init_cpu(unsigned cpu);
/* Handlers for vectors >= 32; the handler must acknowledge (EOI) itself. */
void trap_set_handler(uint8_t vector, trap_handler_t h, void *arg);
/* Whether ring 3 may raise vector with `int n` (gate DPL 3). Only int3
 * may by default; any other `int n` from ring 3 is a #GP. */
void trap_allow_user_int(uint8_t vector, bool allow);
/* Prints a backtrace starting from the given frame pointer and rip. */
void backtrace_print(uint64_t rip, uint64_t rbp);
/* The same for the code a trap interrupted (copes with frameless leaf
 * functions, which the plain walk would skip). */
void backtrace_print_trap(const struct trap_frame *tf);
/* Prints the backtrace of the caller. */
void backtrace_print_here(void);
/* Finds the function containing a kernel address: name and offset. */
bool ksym_lookup(uint64_t addr, const char **name, uint64_t *offset);

static inline bool trap_from_user(const struct trap_frame *tf) { return tf->cs & 3; }

/*
 * Handlers for exceptions (vectors 0..31), from either ring, tried before
 * anything else: mm's page-fault handler, a fixup for user-memory copies,
 * a debugger. cr2 is CR2 as read on entry (meaningful for #PF). Return true
 * when handled: the trap returns to tf (which the handler may change).
 */
typedef bool (*trap_fault_handler_t)(struct trap_frame *tf, uint64_t cr2);
void trap_set_fault_handler(uint8_t vector, trap_fault_handler_t h);

/*
 * An exception from ring 3 that no fault handler took. Weak, returns false
 * here; the Linux layer makes it a signal (trap_cr2() gives the fault
 * address). false means: report and exit.
 */
bool user_fault(struct trap_frame *tf);
/* Work before any return to ring 3 from an interrupt or exception
 * (signal delivery): weak, nothing here; may change tf; returns with
 * interrupts off. */
void user_return(struct trap_frame *tf);
/* CR2 as read when the exception being handled on this CPU came in (the
 * innermost one, if they nest): later faults cannot clobber it. */
uint64_t trap_cr2(void);

/* The exception's short name, e.g. "#PF page fault"; NULL for >= 32. */
const char *trap_name(unsigned vector);
/* Prints the fault report (registers, CR2/CR3, backtrace) at error level. */
void trap_report(const struct trap_frame *tf, uint64_t cr2, const char *why);

/* Leaves through the interrupt exit with the registers in *tf: to ring 3
 * (swapgs, iretq) or to ring 0 as tf->cs says. See trap_entry.S. */
__noreturn void trap_return(struct trap_frame *tf);
