/* Disks as file systems at boot (rootfs.c): root=, mount=, and the
 * configuration file a `wisp build` image carries. See docs/cmdline.md. */
#pragma once

/* root=/dev/vdX: mounts that disk's ext2 as `/` (before vfs_init, which
 * then leaves the initramfs aside). Exits the machine when it cannot. */
void rootfs_mount_root(void);
/* After vfs_init: /etc/wisp/config when the command line names no
 * program (its options and argv join the command line), then every
 * mount=/dev/vdX:/path[:ro]. Exits the machine when a disk cannot be
 * mounted. */
void rootfs_init(void);
