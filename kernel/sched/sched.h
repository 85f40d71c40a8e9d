/*
 * The scheduler's interface to the rest of the kernel (threads: thread.h;
 * blocking: wait.h, sync.h; timers: timer.h).
 */
#pragma once
#include "sched/thread.h"

struct trap_frame;

/* Boot CPU: run queues, timers, FPU, the boot thread and CPU 0's idle
 * thread. After mm_init. */
void sched_init(void);
/* An application processor, on its idle thread's stack: never returns. */
__noreturn void sched_start_ap(unsigned cpu);

/* Gives up the CPU; the caller's state says what happens to it
 * (THREAD_RUNNING: stays runnable; THREAD_BLOCKED: waits for thread_wake;
 * THREAD_DEAD). */
void schedule(void);
/* Makes a blocked thread runnable. true when it was blocked. Callable
 * from interrupt handlers. */
bool thread_wake(struct thread *t);
/* Sets the calling thread's state with a full barrier (before checking a
 * wake-up condition). */
void set_current_state(int state);

/* Preemption point for interrupt handlers: switches away from the
 * interrupted thread when a reschedule is pending and the interrupted
 * context is preemptible (ring 3, or a kernel thread that allows it with
 * interrupts on). Call after EOI, as the handler's last action. */
void sched_preempt_check(struct trap_frame *tf);
/* A voluntary preemption point for long kernel loops. */
void cond_resched(void);
void preempt_disable(void);
void preempt_enable(void);

/* CPUs running the scheduler. */
unsigned sched_cpus_online(void);
uint64_t sched_online_mask(void);
/* Context switches done on a CPU so far. */
uint64_t sched_switches(unsigned cpu);
