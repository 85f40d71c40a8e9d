/*
 * The kernel log: every message goes into a ring buffer (dmesg) with a
 * timestamp and level, and to the console when its level is at or above
 * the console level (`loglevel=` on the command line).
 */
#pragma once

enum klog_level { KLOG_ERR, KLOG_WARN, KLOG_INFO, KLOG_DEBUG };

void klog_set_console_level(enum klog_level lvl);
bool klog_level_from_name(const char *name, enum klog_level *out);
void klog(enum klog_level lvl, const char *fmt, ...) __printf(2, 3);
void vklog(enum klog_level lvl, const char *fmt, va_list ap);
/* Copies the ring buffer as text lines "[   1.234567] message" into buf;
 * returns the length. */
size_t klog_read(char *buf, size_t size);

#define pr_err(...)   klog(KLOG_ERR, __VA_ARGS__)
#define pr_warn(...)  klog(KLOG_WARN, __VA_ARGS__)
#define pr_info(...)  klog(KLOG_INFO, __VA_ARGS__)
#define pr_debug(...) klog(KLOG_DEBUG, __VA_ARGS__)

/* Prints "wisp: panic: ...", a backtrace, and ends the VM with status 134. */
__noreturn void panic(const char *fmt, ...) __printf(1, 2);
/* Set by panic() and the fatal-exception report: the power-off that
 * follows is a crash, disks are not written back (fs/shutdown.h). */
extern volatile int panic_in_progress;
