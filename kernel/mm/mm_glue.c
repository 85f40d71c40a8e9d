/* What the allocators ask of the rest of the kernel (see page_alloc.h):
 * logging and panic (the CPU number comes from arch/x86_64/percpu.c). Kept apart so the allocators stay pure
 * and can be unit-tested on the host. */
#include "mm/page_alloc.h"
#include "lib/klog.h"
#include "lib/printf.h"

void mm_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vklog(KLOG_INFO, fmt, ap);   /* notes; real trouble goes to mm_panic */
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
