/*
 * Segment selectors and the per-CPU GDT layout. Usable from C and assembly.
 *
 * The slots copy Linux's, so the selectors the program can observe (%cs, %ss,
 * the cs/ss words of a signal frame's mcontext) hold the values Linux
 * programs see: user CS 0x33, user SS 0x2b. Slots 1, 4 and 7 stay empty
 * (no 32-bit kernel or 32-bit program segments).
 *
 *   SYSCALL       CS = STAR[47:32]            = KERNEL_CS
 *                 SS = STAR[47:32] + 8        = KERNEL_DS
 *   SYSRET (64)   CS = (STAR[63:48] + 16) | 3 = USER_CS
 *                 SS = (STAR[63:48] + 8) | 3  = USER_DS
 */
#pragma once

#define KERNEL_CS   0x10
#define KERNEL_DS   0x18    /* also the kernel SS */
#define USER32_CS   0x23    /* STAR's user base; the slot is left empty */
#define USER_DS     0x2b    /* also the user SS */
#define USER_CS     0x33
#define TSS_SEL     0x40    /* 16-byte descriptor: slots 8 and 9 */
#define GDT_ENTRIES 10

#define KERNEL_SS   KERNEL_DS
#define USER_SS     USER_DS

/* IST slots in each TSS (1-based, as the IDT gates name them). */
#define IST_NMI     1
#define IST_DF      2
#define IST_MC      3
#define IST_COUNT   3
#define IST_STACK_SIZE 4096

#ifndef __ASSEMBLY__
/* For wrmsr(MSR_STAR, GDT_STAR) by the syscall entry code. */
#define GDT_STAR ((uint64_t)USER32_CS << 48 | (uint64_t)KERNEL_CS << 32)

/* The index of the CPU running this, from the address of the GDT it has
 * loaded (sgdt): right even when %gs is not to be trusted, as in a fault
 * report. 0 before trap_init(). */
unsigned trap_cpu_id(void);
/* The stack the CPU switches to when an interrupt or exception arrives
 * from ring 3 (TSS.RSP0). The scheduler sets it to the top of the thread's
 * kernel stack before the thread runs in ring 3. */
void trap_set_kernel_stack(unsigned cpu, uint64_t top);
uint64_t trap_get_kernel_stack(unsigned cpu);
/* Where the exception stacks of secondary CPUs come from: memory for one
 * IST stack of `size` bytes (mapped, in the upper half), or NULL. Weak and
 * NULL here: mm provides the real one (ideally with a guard page below). */
void *trap_alloc_stack(size_t size);
#endif
