/*
 * fcntl record locks and flock, on top of lockrange.h. wisp runs one
 * process, so its POSIX locks never conflict with each other (as on Linux
 * for one process: they are recorded, replaced and split, and F_GETLK
 * reports F_UNLCK); OFD locks and flock are owned by open file
 * descriptions and do conflict between two opens of the same file.
 */
#pragma once
#include "fs/lockrange.h"

struct file;

/* struct flock, x86-64 (32 bytes). */
struct k_flock {
	int16_t l_type;
	int16_t l_whence;
	int32_t pad0;
	int64_t l_start;
	int64_t l_len;
	int32_t l_pid;
	int32_t pad1;
};

#define F_RDLCK 0
#define F_WRLCK 1
#define F_UNLCK 2

/* F_GETLK, F_SETLK, F_SETLKW and the F_OFD_ forms; fl in kernel memory
 * (updated for the GETLK forms). */
int lock_fcntl(struct file *f, int cmd, struct k_flock *fl);
/* flock(2): LOCK_SH 1, LOCK_EX 2, LOCK_NB 4, LOCK_UN 8. */
int lock_flock(struct file *f, int op);
/* Closing any fd of the process on an inode drops its POSIX locks there. */
void lock_release_posix(struct file *f);
/* The last reference to an open file: its OFD locks and flock go. */
void lock_release_file(struct file *f);
