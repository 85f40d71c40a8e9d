/*
 * Signals: the state the program sets (handlers, mask, alternate stack)
 * and the default actions. Delivery to handlers is not there yet: a
 * synchronous fault ends the program with a report (fault.c).
 */
#pragma once

#define NSIG 64

#define SIGHUP 1
#define SIGINT 2
#define SIGQUIT 3
#define SIGILL 4
#define SIGTRAP 5
#define SIGABRT 6
#define SIGBUS 7
#define SIGFPE 8
#define SIGKILL 9
#define SIGUSR1 10
#define SIGSEGV 11
#define SIGUSR2 12
#define SIGPIPE 13
#define SIGALRM 14
#define SIGTERM 15
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19

/* The kernel's struct sigaction for rt_sigaction (not libc's). */
struct k_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

struct k_stack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

struct task_signals {
	struct k_sigaction action[NSIG];      /* index = signal - 1 */
	uint64_t blocked;
	uint64_t pending;
	struct k_stack altstack;
};

/* "SIGSEGV", or "signal 42". */
const char *signal_name(int sig, char *buf, size_t len);
