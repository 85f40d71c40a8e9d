/*
 * initramfs: fills ramfs from uncompressed cpio newc archives, the PVH boot
 * modules (QEMU -initrd, wisp-vmm, Firecracker). See docs/initramfs.md.
 *
 * Unpacking follows Linux where it matters: later entries replace earlier
 * ones, hard links (newc: same ino, nlink >= 2) share one inode, concatenated
 * archives are one tree. Unlike Linux, missing parent directories are created
 * (0755, root) and names with `..` are refused. File data is not copied: a
 * file points into the archive, which must stay mapped and never be freed.
 */
#pragma once

#include <stdint.h>
#include <stddef.h>

struct initramfs_stats {
	uint64_t entries;      /* archive entries unpacked (trailers excluded) */
	uint64_t file_bytes;   /* bytes of regular-file data */
	uint64_t archives;     /* concatenated archives seen */
};

/* Unpacks one buffer (one or more concatenated archives) into ramfs, which
 * must be initialised, adding to *st. Returns 0, or -1 with a one-line reason
 * in err (naming the byte offset and, when there is one, the entry). Pure:
 * the host unit tests use it. */
int initramfs_unpack(const void *archive, size_t size, struct initramfs_stats *st,
		     char *err, size_t errlen);

#ifndef HOST_TEST
struct hvm_start_info;
/* Kernel: initialises ramfs and unpacks every PVH module into it, logging
 * "unpacked N files (S KiB)". Returns 0, or -1 after pr_err (the image is
 * unusable: the caller exits with EXIT_BAD_IMAGE). */
int initramfs_init(const struct hvm_start_info *si);
#endif
