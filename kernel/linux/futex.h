/*
 * Futexes (futex.c): the kernel half of the C libraries' mutexes,
 * condition variables, joins and once-flags.
 */
#pragma once

struct task;

/* Wakes up to n waiters on the futex at user address uaddr. */
int futex_wake_addr(uint64_t uaddr, int n);
/* Walks t's robust list (set_robust_list) at thread exit: every futex
 * the thread still owns gets FUTEX_OWNER_DIED and one waiter woken. */
void futex_exit_robust_list(struct task *t);
