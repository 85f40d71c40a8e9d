/*
 * Signals, as Linux has them for one process with threads.
 *
 * State lives in two places, like Linux's sighand/signal vs task split:
 *  - per process (signal.c, one static instance: wisp runs one program):
 *    the handlers (shared by all threads, CLONE_SIGHAND) and the pending
 *    set of process-directed signals (kill, alarm, process timers);
 *  - per thread (struct task_signals, inside struct task): the blocked
 *    mask, the pending set of thread-directed signals (tgkill, faults,
 *    SIGEV_THREAD_ID), the alternate stack, the mask to put back after
 *    sigsuspend/ppoll/pselect6/epoll_pwait.
 * One spinlock (taken with interrupts off: timers raise signals from
 * interrupt context) guards all of it.
 *
 * Delivery happens on every return to ring 3 (signal_return_to_user, from
 * the syscall exit and from the interrupt/exception exit). A thread with a
 * deliverable signal has its sched interrupt flag set, so interruptible
 * waits end with -EINTR, which the syscall exit turns into a restart or
 * EINTR (SA_RESTART) — see signal.c.
 */
#pragma once

struct trap_frame;
struct task;
struct thread;

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
#define SIGSTKFLT 16
#define SIGCHLD 17
#define SIGCONT 18
#define SIGSTOP 19
#define SIGTSTP 20
#define SIGTTIN 21
#define SIGTTOU 22
#define SIGURG 23
#define SIGXCPU 24
#define SIGXFSZ 25
#define SIGVTALRM 26
#define SIGPROF 27
#define SIGWINCH 28
#define SIGIO 29
#define SIGPWR 30
#define SIGSYS 31
#define SIGRTMIN 32

#define SIGBIT(sig) (1ull << ((sig) - 1))
#define SIG_UNBLOCKABLE (SIGBIT(SIGKILL) | SIGBIT(SIGSTOP))

#define SIG_DFL 0ul
#define SIG_IGN 1ul

#define SA_NOCLDSTOP 0x00000001u
#define SA_NOCLDWAIT 0x00000002u
#define SA_SIGINFO   0x00000004u
#define SA_RESTORER  0x04000000u
#define SA_ONSTACK   0x08000000u
#define SA_RESTART   0x10000000u
#define SA_NODEFER   0x40000000u
#define SA_RESETHAND 0x80000000u

#define SS_ONSTACK 1
#define SS_DISABLE 2
#define SS_AUTODISARM (1u << 31)

/* si_code values */
#define SI_USER    0
#define SI_KERNEL  0x80
#define SI_QUEUE   (-1)
#define SI_TIMER   (-2)
#define SI_TKILL   (-6)
#define SEGV_MAPERR 1
#define SEGV_ACCERR 2
#define BUS_ADRALN 1
#define ILL_ILLOPN 2
#define FPE_INTDIV 1
#define FPE_FLTDIV 3
#define FPE_FLTINV 7
#define TRAP_BRKPT 1
#define TRAP_TRACE 2

/* The kernel's struct sigaction for rt_sigaction (not libc's). */
struct k_sigaction {
	uint64_t handler;
	uint64_t flags;
	uint64_t restorer;
	uint64_t mask;
};

/* stack_t */
struct k_stack {
	uint64_t sp;
	int32_t flags;
	int32_t pad;
	uint64_t size;
};

/* siginfo_t, 128 bytes, the fields wisp fills at Linux's offsets. */
struct ksiginfo {
	int32_t signo, errno_, code, pad0;
	union {
		uint8_t raw[112];
		struct { int32_t pid; uint32_t uid; uint64_t value; } kill;  /* also rt */
		struct { int32_t tid; int32_t overrun; uint64_t value; } timer;
		struct { uint64_t addr; } fault;
	};
};

struct sigqueue;

/* A set of pending signals: the bits, and the siginfo of each queued
 * instance (standard signals at most one each, real-time ones queue). */
struct sigpending {
	uint64_t mask;
	struct sigqueue *head;
};

/* Per thread (struct task embeds it). Zero is a valid initial state. */
struct task_signals {
	uint64_t blocked;
	struct sigpending pending;      /* thread-directed */
	struct k_stack altstack;        /* size 0: none */
	uint64_t saved_mask;            /* put back at return to user ... */
	bool restore_mask;              /* ... when this is set */
	void *fpu_buf;                  /* a page: FPU state of frames in the making */
};

/* "SIGSEGV", or "signal 42". */
const char *signal_name(int sig, char *buf, size_t len);

/* Sends sig to the process (kill(getpid(), sig) semantics; SI_USER). May
 * be called from interrupt context. The VFS calls signal_raise_self for
 * SIGPIPE: a thread-directed SI_USER signal to the caller. */
void signal_raise_self(int sig);
int signal_send_process(int sig, const struct ksiginfo *info);
int signal_send_thread(struct task *t, int sig, const struct ksiginfo *info);
/* A synchronous fault of the current thread: forced (blocked or ignored
 * means the default action). trapno/err/cr2 go to the sigcontext. */
void signal_force_fault(int sig, int code, uint64_t addr, const struct trap_frame *tf,
			uint64_t cr2);

/*
 * Called on every return to ring 3 with interrupts on or off; returns with
 * interrupts OFF and tf ready: deliverable signals acted upon (handler
 * frames built, default actions taken), and for a system call (syscall
 * true, tf->rax its result) the restart decided. Returns true when tf was
 * changed in a way that needs the iretq exit.
 */
bool signal_return_to_user(struct trap_frame *tf, bool syscall);

/* ppoll/pselect6/epoll_pwait/sigsuspend: replace the blocked mask until
 * the return to user (a handler run then sees the old mask restored at
 * its sigreturn). umask is a user pointer to size bytes; NULL: nothing.
 * 0, -EINVAL or -EFAULT. */
int signal_set_temp_mask_user(const void *umask, size_t size);
void signal_set_temp_mask(uint64_t mask);

/* The thread has a deliverable signal (for waits outside wait queues). */
bool signal_pending(void);
/* A thread is going away (task_exit): frees its queued signals. */
void signal_task_exit(struct task *t);

/* For timers (itimer.c): sends a signal with a preallocated queue entry,
 * so a timer that fires while its signal is still pending counts an
 * overrun instead of queueing again. tid 0: to the process; a tid that
 * is gone: to the process as well. */
struct sigtimer_ref {
	int id;
	int overrun;             /* counted since the last delivery */
	int overrun_last;        /* what the last delivery reported */
	bool queued;
};
int signal_send_timer(int tid, int sig, struct sigtimer_ref *ref, uint64_t value, int code);
/* A timer being deleted: drops its queued signal, if any. */
void signal_forget_timer(struct sigtimer_ref *ref);

/* For signalfd (fs/signalfd.c). The signals pending for the calling
 * thread (its own and the process's); the first of set taken off them,
 * the thread's before the process's (0: none); and the hook signal.c
 * calls with its lock held whenever a signal was queued. */
uint64_t signal_pending_set(void);
int signal_dequeue_set(uint64_t set, struct ksiginfo *info);
void signalfd_notify(void);

/* Ends the program: a report naming the signal (for a fault: address,
 * what it is, registers), a user backtrace, exit status 128 + sig. */
__noreturn void signal_fatal(int sig, const struct trap_frame *tf, const struct ksiginfo *info,
			     int trapno, uint64_t err);
