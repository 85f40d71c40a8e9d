/*
 * The local APIC: x2APIC (MSRs) when the CPU has it, else xAPIC (MMIO at
 * the base IA32_APIC_BASE gives). Interrupt acknowledge, IPIs and the
 * registers the one-shot timer (timer.c) programs.
 */
#pragma once

/* Boot CPU: picks the mode, enables the APIC, masks the 8259 PIC and the
 * LVTs we do not use. Needs trap_init() (spurious vector handler). */
void lapic_init(void);
/* An application processor: the same set-up, in the mode the BSP chose. */
void lapic_init_ap(void);

bool lapic_is_x2apic(void);
/* This CPU's APIC id (32-bit in x2APIC mode, 8-bit in xAPIC mode). */
uint32_t lapic_id(void);
/* End of interrupt: every handler of an APIC-delivered vector calls it. */
void lapic_eoi(void);

/* A fixed-delivery IPI to one CPU, by APIC id. */
void lapic_send_ipi(uint32_t apic_id, uint8_t vector);
/* SMP start-up: INIT (assert), then STARTUP with the real-mode entry at
 * physical page `page` (entry address = page * 4096, below 1 MiB). The
 * caller waits between them as the MP spec asks (10 ms, 200 us). */
void lapic_send_init(uint32_t apic_id);
void lapic_send_sipi(uint32_t apic_id, uint8_t page);

/* Register access by xAPIC offset (mapped to MSR 0x800 + off/16 in x2APIC mode). */
#define LAPIC_ID       0x020
#define LAPIC_VER      0x030
#define LAPIC_TPR      0x080
#define LAPIC_EOI      0x0B0
#define LAPIC_SVR      0x0F0
#define LAPIC_ESR      0x280
#define LAPIC_ICR_LO   0x300
#define LAPIC_ICR_HI   0x310
#define LAPIC_LVT_TIMER   0x320
#define LAPIC_LVT_THERMAL 0x330
#define LAPIC_LVT_PERF    0x340
#define LAPIC_LVT_LINT0   0x350
#define LAPIC_LVT_LINT1   0x360
#define LAPIC_LVT_ERROR   0x370
#define LAPIC_TIMER_INIT  0x380
#define LAPIC_TIMER_CUR   0x390
#define LAPIC_TIMER_DIV   0x3E0

#define LVT_MASKED         (1u << 16)
#define LVT_TIMER_ONESHOT  (0u << 17)
#define LVT_TIMER_TSC_DEADLINE (2u << 17)
#define LVT_NMI            (4u << 8)

uint32_t lapic_read(uint32_t reg);
void lapic_write(uint32_t reg, uint32_t v);
