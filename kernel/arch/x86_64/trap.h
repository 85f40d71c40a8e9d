/*
 * Traps: CPU exceptions, device interrupts and IPIs all enter through one
 * IDT. Exceptions in the kernel end in a report (vector, error code,
 * registers, CR2, symbolized backtrace) and a non-zero VM exit; vectors
 * 32..255 go to handlers registered here.
 */
#pragma once

/* Saved by the entry stubs, in this order on the stack. */
struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error;
	/* pushed by the CPU */
	uint64_t rip, cs, rflags, rsp, ss;
};

typedef void (*trap_handler_t)(struct trap_frame *tf, void *arg);

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
/* Prints a backtrace starting from the given frame pointer and rip. */
void backtrace_print(uint64_t rip, uint64_t rbp);
/* Prints the backtrace of the caller. */
void backtrace_print_here(void);
/* Finds the function containing a kernel address: name and offset. */
bool ksym_lookup(uint64_t addr, const char **name, uint64_t *offset);
