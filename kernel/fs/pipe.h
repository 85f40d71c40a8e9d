/* Pipes and FIFOs (pipe.c), eventfd (eventfd.c). */
#pragma once
#include "fs/vfs.h"

#define PIPE_BUF 4096
#define PIPE_DEFAULT_SIZE 65536
#define PIPE_MAX_SIZE (1u << 20)         /* /proc/sys/fs/pipe-max-size */

/* pipe2: two files (read end, write end) with flags O_NONBLOCK, O_DIRECT. */
int pipe_create(uint32_t flags, struct file **rd, struct file **wr);
/* Opening a FIFO from the tree (the VFS lock not held: may block). */
int fifo_open(struct inode *i, struct file *f);
/* F_GETPIPE_SZ / F_SETPIPE_SZ: -EBADF when f is not a pipe. */
long pipe_fcntl(struct file *f, int cmd, unsigned long arg);
/* FIONREAD on a pipe: bytes buffered, or -ENOTTY when f is not one. */
long pipe_nread(struct file *f);
