/* Ending the VM. */
#pragma once

/* Reports the status to the host and powers off: isa-debug-exit when QEMU
 * has one (its exit code becomes status*2+1), else ACPI S5. */
__noreturn void machine_exit(int status);

/* Exit status used when the kernel itself fails (panic, fatal exception). */
#define EXIT_KERNEL_PANIC 134
