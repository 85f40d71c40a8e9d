/* Disk images: `wisp build` (a staged directory made into an ext2 image
 * with mke2fs -d, optionally converted to qcow2) and the checks `wisp
 * boot` and `--disk` make before handing an image to QEMU. See
 * docs/usage.md. */
#ifndef WISP_DISK_H
#define WISP_DISK_H

#include <stdint.h>

/* What a disk image file is, from its first bytes. */
enum disk_format { DISK_RAW, DISK_QCOW2 };

/* Checks path is an image QEMU can attach and the kernel can mount:
 * exists, not empty, qcow2 (header only) or raw ext2 whose superblock's
 * size fits in the file. One error line and -1 otherwise. what: "image"
 * or "disk", for the message. */
int disk_check(const char *path, const char *what, enum disk_format *fmt);

/* Unpacks a newc cpio archive (what image.c writes) from fd into dir:
 * directories, regular files, symlinks, with modes and times. 0 or -1
 * after one error line. */
int cpio_extract_fd(int fd, const char *dir);

/* Runs argv (argv[0] looked up in PATH), its stdout discarded; on failure
 * prints one error line with the first line of its stderr. 0 or -1. */
int run_tool(char *const *argv);

/* A temporary directory under $TMPDIR; malloc'd, or NULL. */
char *make_temp_dir(const char *prefix);
/* rm -rf. */
void remove_tree(const char *path);

#endif
