#include "arch/x86_64/power.h"
#include "arch/x86_64/cpu.h"
#include "drivers/console.h"
#include "fs/shutdown.h"

/* Provided by drivers/acpi when it knows how; returns if it could not. */
__attribute__((weak)) void acpi_poweroff(void) {}

void machine_exit(int status)
{
	fs_shutdown_all();     /* disks written and marked clean (normal exits only) */
	irq_disable();
	console_send_exit(status);
	outl(0xf4, (uint32_t)status);   /* isa-debug-exit */
	acpi_poweroff();
	outw(0x604, 0x2000);            /* QEMU q35/pc PIIX/ICH9 ACPI fallback */
	cpu_halt_forever();
}
