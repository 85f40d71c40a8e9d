/* What the allocators ask of the rest of the kernel (see page_alloc.h):
 * the CPU number, logging and panic. Kept apart so the allocators stay pure
 * and can be unit-tested on the host. */
#include "mm/page_alloc.h"
#include "lib/klog.h"
#include "lib/printf.h"

/* The per-CPU area will answer this once SMP lands. */
__attribute__((weak)) unsigned mm_cpu_id(void) { return 0; }

void mm_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vklog(KLOG_WARN, fmt, ap);
	va_end(ap);
}

void mm_panic(const char *fmt, ...)
{
	char msg[256];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	panic("mm: %s", msg);
}
