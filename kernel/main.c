/*
 * kernel_main: the order in which wisp comes up. Each step is one
 * subsystem's init; see docs/architecture.md.
 */
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/paging.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/pvh.h"
#include "arch/x86_64/power.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/lapic.h"
#include "arch/x86_64/ioapic.h"
#include "arch/x86_64/timer.h"
#include "arch/x86_64/smp.h"
#include "sched/sched.h"
#include "arch/x86_64/trap.h"
#include "drivers/acpi/acpi.h"
#include "drivers/pci/pci.h"
#include "drivers/block/blockdev.h"
#include "drivers/virtio/virtio.h"
#include "drivers/serial_irq.h"
#include "drivers/serial.h"
#include "mm/mm.h"
#include "mm/heap.h"
#include "drivers/console.h"
#include "fs/rootfs.h"
#include "net/netconfig.h"
#include "net/stack.h"
#include "fs/initramfs.h"
#include "fs/vfs.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "lib/selftest.h"
#include "linux/program.h"

static char cmdline_buf[4096];
struct cmdline kernel_cmdline;

static void parse_cmdline(const struct hvm_start_info *si)
{
	if (si->cmdline_paddr)
		strlcpy(cmdline_buf, phys_to_virt(si->cmdline_paddr), sizeof(cmdline_buf));
	if (cmdline_parse(cmdline_buf, &kernel_cmdline) < 0)
		pr_warn("command line too long: extra options or arguments dropped");
}

void kernel_main(struct boot_info *bi) __noreturn;
void kernel_main(struct boot_info *bi)
{
	/* The identity map was only for the jump here; the lower half is the
	 * program's from now on. */
	uint64_t *pml4 = phys_to_virt(bi->pml4_phys);
	pml4[0] = 0;
	write_cr3(bi->pml4_phys);
	percpu_init(0, 0);

	serial_init();
	trap_init();
	const struct hvm_start_info *si = phys_to_virt(bi->start_info_phys);
	parse_cmdline(si);
	bool framed = cmdline_get(&kernel_cmdline, "console") &&
		      !strcmp(cmdline_get(&kernel_cmdline, "console"), "framed");
	console_init(framed);
	enum klog_level lvl = framed ? KLOG_WARN : KLOG_INFO;
	const char *ll = cmdline_get(&kernel_cmdline, "loglevel");
	if (ll && !klog_level_from_name(ll, &lvl))
		pr_warn("unknown loglevel '%s' (err, warn, info, debug)", ll);
	klog_set_console_level(lvl);

	time_init();
	pr_info("kernel at %p (%s), tsc %lu kHz", (void *)bi->kernel_virt_base,
		bi->kaslr ? "kaslr" : "nokaslr", tsc_khz);

	mm_init(bi);
	if (cmdline_get(&kernel_cmdline, "heap_debug"))
		heap_set_debug(true);

	/* --- subsystems come up here, in dependency order --- */
	acpi_init();
	lapic_init();
	ioapic_init();
	timer_init();
	sched_init();
	/* storage: PCI scan, block layer, virtio devices. Before smp_init:
	 * it maps device windows uncached (mmio_map does no TLB shootdown). */
	pci_init();
	blk_init();
	virtio_init();
	smp_init();
	serial_irq_init();
	console_send_ready();
	irq_enable();   /* the first point where interrupts can arrive */
	net_start();    /* netd, lo, DHCP in the background (net/netconfig.h) */

	if (initramfs_init(si) < 0)
		machine_exit(EXIT_BAD_IMAGE);
	rootfs_mount_root();    /* root=/dev/vdX: ext2 as / (fs/rootfs.c) */
	if (vfs_init() < 0)
		machine_exit(EXIT_BAD_IMAGE);
	rootfs_init();          /* /etc/wisp/config, mount=/dev/vdX:/path */
	net_init();             /* ip=, /etc/wisp/config; DHCP is not waited for (net/stack.h) */

	const char *tests = cmdline_get(&kernel_cmdline, "selftest");
	if (tests) {
		net_wait_configured();      /* self-tests use eth0's address */
		int failed = selftest_run(tests);
		machine_exit(failed == 0 ? 0 : 1);
	}

	if (kernel_cmdline.argc == 0) {
		pr_err("no program given (kernel command line: [options] -- PROGRAM [ARGS...])");
		machine_exit(125);
	}
	char *envp[] = { NULL };
	machine_exit(program_start(kernel_cmdline.argc, kernel_cmdline.argv, envp));
}
