/*
 * MINIMAL FILE DESCRIPTORS — a stand-in until the VFS (kernel/fs) brings the
 * real fd table, files, pipes and poll; it then replaces fd_minimal.c and
 * this header wholesale. What is here: fds 0/1/2 on the console, read-only
 * files and directories of the ramfs root, /dev/null, /dev/zero,
 * /dev/urandom, /dev/random, and /proc/self/exe as a symlink.
 */
#pragma once

struct vm_file;

/* For mmap: the file behind fd. 0 and *out; 1 when fd maps like
 * anonymous memory (/dev/zero); -EBADF, -EACCES (not open for reading),
 * -ENODEV (the console, a directory). */
int fd_mmap_file(int fd, struct vm_file *out);
