/*
 * The Linux system-call table. Each subsystem registers the calls it
 * implements next to their code:
 *
 *     static long sys_getpid(void) { return 1; }
 *     SYSCALL(39, getpid, sys_getpid, "");
 *
 * The entries land in section .syscalls; at boot syscall_init() builds the
 * dispatch array from them. scripts/gen-syscall-doc.sh reads the same macros
 * to write docs/syscalls.md, so the table in the docs is the code's.
 *
 * Handlers return a value >= 0 or -ERRNO, like Linux. They take up to six
 * long-sized arguments (rdi, rsi, rdx, r10, r8, r9); declare only those used.
 *
 * `args` tells --trace-syscalls how to print each argument, one letter per
 * argument: d signed decimal, u unsigned, x hex, p pointer, s user string,
 * b user buffer whose length is the next argument, o octal mode, f fd.
 */
#pragma once

struct trap_frame;

typedef long (*syscall_fn)(long, long, long, long, long, long);

struct syscall_def {
	unsigned nr;
	const char *name;
	syscall_fn fn;
	const char *args;
	unsigned flags;
};

#define SYSCALL_F_FALLBACK 1u   /* yields to a SYSCALL() of the same number */

#define SYSCALL_DEF_(nr_, name_, fn_, args_, flags_)                          \
	static const struct syscall_def __syscall_##name_                     \
	__attribute__((section(".syscalls"), used, aligned(8))) =             \
	{ nr_, #name_, (syscall_fn)(void (*)(void))(fn_), args_, flags_ }

#define SYSCALL(nr_, name_, fn_, args_) SYSCALL_DEF_(nr_, name_, fn_, args_, 0)

/* A stand-in that a real implementation elsewhere replaces just by
 * existing (linux/fd_minimal.c until the VFS has the call). */
#define SYSCALL_FALLBACK(nr_, name_, fn_, args_) \
	SYSCALL_DEF_(nr_, name_, fn_, args_, SYSCALL_F_FALLBACK)

#define SYSCALL_MAX 512

/* Linux's name for each number (NULL for gaps), for logs and traces. */
extern const char *const syscall_names[SYSCALL_MAX];

/* Builds the table from the SYSCALL() entries and programs the syscall
 * MSRs on this CPU. Call once on the boot CPU before the program starts;
 * secondary CPUs call syscall_init_cpu(). */
void syscall_init(void);
void syscall_init_cpu(void);
/* The number of distinct syscalls implemented. */
unsigned syscall_count(void);

/* The trap frame of the system call the current task is in (for
 * rt_sigreturn, clone, and syscalls that change how the return goes). */
struct trap_frame *syscall_frame(void);
/* Makes the current syscall leave through iretq, restoring every register
 * from its frame (sysret would clobber rcx and r11). */
void syscall_force_iret(void);

/* For user_fault(): a `syscall` a hypervisor delivered as a fault at the
 * entry point (see syscall.c). true when it was one and has been served. */
bool syscall_from_fault(struct trap_frame *tf);
