/* SMP: application processor start-up and cross-CPU calls. See smp.c. */
#pragma once

/* Starts the APs the MADT lists (at most `maxcpus=` from the command line,
 * counting the boot CPU) without waiting for them. After sched_init. */
void smp_init(void);
/* The IPI handlers for cross-CPU calls. Before smp_init. */
void smp_init_ipis(void);
/* CPUs that should come online (boot CPU included). */
unsigned smp_cpus_expected(void);
/* Sleeps until all expected CPUs are online; false on timeout. */
bool smp_wait_online(uint64_t timeout_ns);
/* ns from smp_init to the last AP online (0 until then). */
uint64_t smp_bringup_ns(void);
/* Runs fn(arg) on every CPU in mask (the caller's too, if in it), with
 * interrupts off there, and returns when all are done. */
void smp_call_mask(uint64_t mask, void (*fn)(void *), void *arg);
/* Serves the cross-CPU calls pending for this CPU. For code that spins
 * with interrupts off on a lock whose holder may be inside smp_call_mask
 * waiting for this CPU (mm's vm_lock around tlb_shootdown). */
void smp_poll_calls(void);
/* Other CPUs drop their TLB entries for [start, end). */
void tlb_shootdown(uint64_t start, uint64_t end);
/* Weak hook each AP calls during bring-up, before its idle loop. */
void smp_ap_hook(unsigned cpu);
