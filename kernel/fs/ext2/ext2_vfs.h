/* ext2 under the VFS (ext2_vfs.c): mounting a disk. */
#pragma once
#include <stdbool.h>

/* Mounts the ext2 file system on disk dev ("/dev/vda" or "vda") on path
 * ("/" first of all mounts for the root). Logs one clear line on failure. */
int ext2_mount_disk(const char *dev, const char *path, bool rdonly);
