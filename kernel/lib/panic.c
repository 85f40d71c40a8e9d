#include "lib/klog.h"
#include "lib/printf.h"
#include "arch/x86_64/power.h"
#include "arch/x86_64/cpu.h"

/* The architecture prints the stack it finds; weak until traps land. */
__attribute__((weak)) void backtrace_print_here(void) {}

volatile int panic_in_progress;

void panic(const char *fmt, ...)
{
	static volatile int nested;
	irq_disable();
	panic_in_progress = 1;
	if (nested++)
		machine_exit(EXIT_KERNEL_PANIC);
	char msg[400];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_err("panic: %s", msg);
	backtrace_print_here();
	machine_exit(EXIT_KERNEL_PANIC);
}
