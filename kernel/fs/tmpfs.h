/* tmpfs instances (tmpfs.c): ramfs trees under the VFS. */
#pragma once
#include "fs/inode.h"

/* The super of the tree the initramfs filled (ramfs_root). */
int tmpfs_adopt_root(struct super *sb);
/* A new empty instance whose root has permissions mode. */
int tmpfs_new(struct super *sb, uint32_t mode);
/* fallocate(PUNCH_HOLE). */
int tmpfs_punch_hole(struct inode *i, uint64_t off, uint64_t len);
/* Whether i belongs to a tmpfs. */
bool tmpfs_is(struct inode *i);
