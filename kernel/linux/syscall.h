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

typedef long (*syscall_fn)(long, long, long, long, long, long);

struct syscall_def {
	unsigned nr;
	const char *name;
	syscall_fn fn;
	const char *args;
};

#define SYSCALL(nr_, name_, fn_, args_)                                       \
	static const struct syscall_def __syscall_##name_                     \
	__attribute__((section(".syscalls"), used, aligned(8))) =             \
	{ nr_, #name_, (syscall_fn)(void (*)(void))(fn_), args_ }

#define SYSCALL_MAX 512
