/* Shared by the file system calls (sys_file.c, sys_path.c) and fs glue. */
#pragma once
#include "fs/vfs.h"
#include "fs/tmpfs.h"

struct vm_file;

/* Copies a path argument into buf (PATH_MAX): its length or -ERRNO. */
long user_path(const char *upath, char *buf);
char *path_buf(void);
long do_openat(int dirfd, const char *upath, uint32_t flags, uint32_t mode, uint64_t resolve);
/* F_ADD_SEALS / F_GET_SEALS on a memfd. */
long memfd_seals(struct file *f, bool add, unsigned seals);
/* devfs.c */
bool devfs_is_zero(struct file *f);
int devfs_init(void);
/* procfs.c: names for /proc/self/maps of files mapped through an fd. */
void maps_note_name(struct inode *i, const char *name);
int procfs_init(void);
/* vfs.c */
void vfs_set_cwd(struct path *p);
void vfs_cwd_locked(struct path *out);      /* no reference, lock held */
uint32_t vfs_set_umask(uint32_t m);
/* mmap: the file behind fd. 0 and
 * *out; 1 when fd maps like anonymous memory (/dev/zero); -EBADF,
 * -EACCES (not open for reading), -ENODEV (not a regular tmpfs file). */
int fd_mmap_file(int fd, struct vm_file *out);
