/* The QEMU command line for a wisp VM. Pure: builds the argv only; vm.c
 * starts it. See docs/usage.md for why each flag is there. */
#ifndef WISP_QEMU_H
#define WISP_QEMU_H

#include "buf.h"

struct qemu_config {
	const char *binary;     /* qemu-system-x86_64, resolved */
	const char *machine;    /* "microvm" or "q35" */
	const char *accel;      /* "kvm" or "tcg" (auto is resolved before) */
	unsigned long mem_mib;
	unsigned long cpus;
	const char *kernel;
	const char *initrd;
	const char *append;     /* the kernel command line */
	int console_fd;         /* our socketpair end that QEMU inherits */
	const char *extra;      /* $WISP_QEMU_EXTRA: more args, split on blanks */
	/* virtio-blk disks, vda first (initrd may then be NULL: wisp boot). */
	size_t ndisks;
	const char *const *disks;
	const char *const *disk_formats;   /* "raw" or "qcow2" */
	/* One virtio-net NIC on this -netdev value (netopts.h), or none. */
	const char *netdev;
	const char *pcap;       /* --pcap: every frame of the NIC to this file */
};

void qemu_build_argv(const struct qemu_config *c, struct strvec *argv);

#endif
