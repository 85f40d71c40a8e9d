/*
 * Advisory file locks as lists of byte ranges: fcntl record locks (POSIX,
 * owned by the process, and OFD, owned by an open file description) and
 * flock (whole file, owned by an open file description). Pure: the host
 * unit test includes lockrange.c; memory from fs_alloc/fs_free.
 *
 * Ranges are [start, end] inclusive; end = LOCK_EOF means "to the end of
 * the file, whatever it becomes".
 */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

#define LOCK_EOF UINT64_MAX

enum { LK_READ = 0, LK_WRITE = 1, LK_UNLOCK = 2 };   /* F_RDLCK, F_WRLCK, F_UNLCK */
enum { LK_POSIX = 0, LK_FLOCK = 1 };                   /* classes never conflict across */

struct file_lock {
	struct file_lock *next;
	uint64_t start, end;
	const void *owner;       /* the process (POSIX) or the open file (OFD, flock) */
	int type;                /* LK_READ or LK_WRITE */
	int cls;                 /* LK_POSIX or LK_FLOCK */
	int pid;                 /* reported by F_GETLK: the pid, or -1 for OFD */
};

/* The first lock of class cls that keeps owner from taking type on
 * [start, end], or NULL. */
const struct file_lock *lock_conflict(const struct file_lock *list, int cls, const void *owner,
				      int type, uint64_t start, uint64_t end);
/* Sets owner's lock on [start, end] to type (LK_UNLOCK removes), splitting
 * and merging owner's ranges as POSIX says. 0, or -ENOMEM with the list
 * unchanged. Conflicts with other owners are the caller's to check. */
int lock_apply(struct file_lock **list, int cls, const void *owner, int pid, int type,
	       uint64_t start, uint64_t end);
/* Removes every lock of owner (and class cls). */
void lock_remove_owner(struct file_lock **list, int cls, const void *owner);
