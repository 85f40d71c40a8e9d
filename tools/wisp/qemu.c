/* The QEMU command line; see qemu.h. */
#include "qemu.h"

#include <stdlib.h>
#include <string.h>

void qemu_build_argv(const struct qemu_config *c, struct strvec *argv)
{
	int kvm = strcmp(c->accel, "kvm") == 0;

	strvec_push(argv, c->binary);
	if (strcmp(c->machine, "q35") == 0) {
		strvec_push(argv, "-M");
		strvec_push(argv, "q35");
	} else {
		/* microvm: no PCI, no firmware option ROMs (qboot enters the PVH
		 * entry itself), an ISA 16550 for the console and an RTC. */
		strvec_push(argv, "-M");
		strvec_push(argv, "microvm,x-option-roms=off,isa-serial=on,rtc=on");
	}
	strvec_push(argv, "-accel");
	strvec_push(argv, kvm ? "kvm" : "tcg");
	/* TCG: every feature QEMU can emulate; KVM: the host CPU's, minus the
	 * IA32_ARCH_CAPABILITIES MSR, which the PVM hypervisor on our build
	 * machines refuses to set (QEMU 7.2 then aborts in kvm_buf_set_msrs).
	 * The kernel does not read that MSR, so real KVM loses nothing. */
	strvec_push(argv, "-cpu");
	strvec_push(argv, kvm ? "host,-arch-capabilities" : "max");
	strvec_push(argv, "-m");
	strvec_pushf(argv, "%luM", c->mem_mib);
	strvec_push(argv, "-smp");
	strvec_pushf(argv, "%lu", c->cpus);
	/* Only the devices asked for below; no ~/.config, no window, and a
	 * triple fault ends the VM instead of rebooting it forever. */
	strvec_push(argv, "-nodefaults");
	strvec_push(argv, "-no-user-config");
	strvec_push(argv, "-nographic");
	strvec_push(argv, "-no-reboot");
	strvec_push(argv, "-display");
	strvec_push(argv, "none");
	strvec_push(argv, "-kernel");
	strvec_push(argv, c->kernel);
	if (c->initrd) {
		strvec_push(argv, "-initrd");
		strvec_push(argv, c->initrd);
	}
	strvec_push(argv, "-append");
	strvec_push(argv, c->append);
	/* COM1 is one end of a socketpair: a byte-clean, flow-controlled pipe
	 * to the tool, which speaks the framed console protocol over it. */
	strvec_push(argv, "-chardev");
	strvec_pushf(argv, "socket,id=con,fd=%d", c->console_fd);
	strvec_push(argv, "-serial");
	strvec_push(argv, "chardev:con");
	/* Port 0xf4: the kernel's last resort to power off (exit code 2*v+1). */
	strvec_push(argv, "-device");
	strvec_push(argv, "isa-debug-exit,iobase=0xf4,iosize=4");
	/* Disks: virtio-blk over MMIO (microvm) or PCI (q35); the kernel
	 * names them vda, vdb, ... in this order. QEMU 7.2 gives legacy
	 * (virtio 0.9) MMIO devices unless told not to. */
	if ((c->ndisks || c->netdev) && strcmp(c->machine, "q35"))
		strvec_push(argv, "-global"), strvec_push(argv, "virtio-mmio.force-legacy=false");
	for (size_t i = 0; i < c->ndisks; i++) {
		char *file = xstrdup(c->disks[i]);
		struct strbuf d;
		strbuf_init(&d);
		/* QEMU's option syntax doubles commas inside values. */
		strbuf_addf(&d, "id=disk%zu,file=", i);
		for (const char *p = file; *p; p++) {
			if (*p == ',')
				strbuf_addc(&d, ',');
			strbuf_addc(&d, *p);
		}
		strbuf_addf(&d, ",format=%s,if=none,cache=writeback", c->disk_formats[i]);
		strvec_push(argv, "-drive");
		strvec_push(argv, d.s);
		strvec_push(argv, "-device");
		strvec_pushf(argv, "%s,drive=disk%zu",
			     strcmp(c->machine, "q35") ? "virtio-blk-device" : "virtio-blk-pci", i);
		strbuf_free(&d);
		free(file);
	}
	/* The NIC: after the disks, so adding one moves no disk's MMIO slot.
	 * On q35, romfile= keeps SeaBIOS from loading the card's iPXE option
	 * ROM: wisp does not boot from the network, and the ROM costs boot time. */
	if (c->netdev) {
		strvec_push(argv, "-netdev");
		strvec_push(argv, c->netdev);
		strvec_push(argv, "-device");
		strvec_push(argv, strcmp(c->machine, "q35") ? "virtio-net-device,netdev=n0"
							     : "virtio-net-pci,netdev=n0,romfile=");
		if (c->pcap) {
			/* QEMU writes both directions, as the NIC sees them. */
			struct strbuf d;
			strbuf_init(&d);
			strbuf_adds(&d, "filter-dump,id=dump0,netdev=n0,file=");
			for (const char *q = c->pcap; *q; q++) {
				if (*q == ',')
					strbuf_addc(&d, ',');
				strbuf_addc(&d, *q);
			}
			strvec_push(argv, "-object");
			strvec_push(argv, d.s);
			strbuf_free(&d);
		}
	}
	if (c->extra) {
		const char *s = c->extra;
		while (*s) {
			size_t n;
			s += strspn(s, " \t\n");
			n = strcspn(s, " \t\n");
			if (n) {
				char *tok = xstrndup(s, n);
				strvec_push(argv, tok);
				free(tok);
			}
			s += n;
		}
	}
}
