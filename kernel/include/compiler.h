/* Included first in every kernel translation unit (-include). */
#pragma once

#ifndef __ASSEMBLY__
/* The kernel is a static PIE: hidden visibility keeps every reference to a
 * global RIP-relative instead of going through a GOT. */
#pragma GCC visibility push(hidden)

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdarg.h>

typedef int64_t ssize_t;

#define __packed      __attribute__((packed))
#define __noreturn    __attribute__((noreturn))
#define __aligned(n)  __attribute__((aligned(n)))
#define __unused      __attribute__((unused))
#define __section(s)  __attribute__((section(s)))
#define __printf(a, b) __attribute__((format(printf, a, b)))
#define likely(x)     __builtin_expect(!!(x), 1)
#define unlikely(x)   __builtin_expect(!!(x), 0)

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define ALIGN_UP(x, a)   (((x) + ((a) - 1)) & ~((__typeof__(x))(a) - 1))
#define ALIGN_DOWN(x, a) ((x) & ~((__typeof__(x))(a) - 1))
#define MIN(a, b) ((a) < (b) ? (a) : (b))
#define MAX(a, b) ((a) > (b) ? (a) : (b))

#define READ_ONCE(x)     (*(const volatile __typeof__(x) *)&(x))
#define WRITE_ONCE(x, v) (*(volatile __typeof__(x) *)&(x) = (v))
#define barrier()        __asm__ volatile("" ::: "memory")

#define container_of(ptr, type, member) \
	((type *)((char *)(ptr) - offsetof(type, member)))
#endif
