/* fcntl locks and flock: see lock.h. */
#include "fs/lock.h"
#include "fs/vfs.h"
#include "sched/wait.h"
#include "sched/thread.h"
#include "fs/deps.h"
#include "errno.h"

#define F_GETLK      5
#define F_SETLK      6
#define F_SETLKW     7
#define F_OFD_GETLK  36
#define F_OFD_SETLK  37
#define F_OFD_SETLKW 38

#define LOCK_SH 1
#define LOCK_EX 2
#define LOCK_NB 4
#define LOCK_UN 8

/* The process, as the owner of POSIX locks. */
static const char process_owner;
#define PROCESS_PID 1

/* One queue for everything waiting for a lock; its lock guards every
 * inode's lock list. Unlocks wake all waiters, who re-check. */
static struct wait_queue lock_wq = WAIT_QUEUE_INIT(lock_wq);

/* The byte range a struct flock names, from the file's offset or size. */
static int flock_range(struct file *f, const struct k_flock *fl, uint64_t *start, uint64_t *end)
{
	int64_t base;
	switch (fl->l_whence) {
	case SEEK_SET: base = 0; break;
	case SEEK_CUR: base = (int64_t)f->pos; break;
	case SEEK_END: base = (int64_t)f->path.inode->size; break;
	default: return -EINVAL;
	}
	int64_t s = base + fl->l_start;
	if (s < 0)
		return -EINVAL;
	if (fl->l_len == 0) {
		*start = (uint64_t)s;
		*end = LOCK_EOF;
		return 0;
	}
	int64_t e;
	if (fl->l_len > 0) {
		e = s + fl->l_len - 1;
		if (e < s)
			return -EOVERFLOW;
	} else {
		e = s - 1;
		s += fl->l_len;
		if (s < 0)
			return -EINVAL;
	}
	*start = (uint64_t)s;
	*end = (uint64_t)e;
	return 0;
}

int lock_fcntl(struct file *f, int cmd, struct k_flock *fl)
{
	bool ofd = cmd == F_OFD_GETLK || cmd == F_OFD_SETLK || cmd == F_OFD_SETLKW;
	if (ofd && fl->l_pid != 0)
		return -EINVAL;
	if (fl->l_type != F_RDLCK && fl->l_type != F_WRLCK && fl->l_type != F_UNLCK)
		return -EINVAL;
	uint64_t start, end;
	int r = flock_range(f, fl, &start, &end);
	if (r < 0)
		return r;
	const void *owner = ofd ? (const void *)f : &process_owner;
	int pid = ofd ? -1 : PROCESS_PID;
	struct inode *i = f->path.inode;

	if (cmd == F_GETLK || cmd == F_OFD_GETLK) {
		if (fl->l_type == F_UNLCK)
			return -EINVAL;
		uint64_t flg = wq_lock(&lock_wq);
		const struct file_lock *c = lock_conflict(i->locks, LK_POSIX, owner, fl->l_type,
							  start, end);
		if (c) {
			fl->l_type = (int16_t)c->type;
			fl->l_whence = SEEK_SET;
			fl->l_start = (int64_t)c->start;
			fl->l_len = c->end == LOCK_EOF ? 0 : (int64_t)(c->end - c->start + 1);
			fl->l_pid = c->pid;
		} else {
			fl->l_type = F_UNLCK;
		}
		wq_unlock(&lock_wq, flg);
		return 0;
	}
	/* A lock needs the file open for that kind of access. */
	if (fl->l_type == F_RDLCK && !(f->mode & FMODE_READ))
		return -EBADF;
	if (fl->l_type == F_WRLCK && !(f->mode & FMODE_WRITE))
		return -EBADF;
	bool wait = cmd == F_SETLKW || cmd == F_OFD_SETLKW;
	uint64_t flg = wq_lock(&lock_wq);
	for (;;) {
		if (fl->l_type == F_UNLCK ||
		    !lock_conflict(i->locks, LK_POSIX, owner, fl->l_type, start, end))
			break;
		if (!wait) {
			wq_unlock(&lock_wq, flg);
			return -EAGAIN;
		}
		r = wq_wait_locked(&lock_wq, flg, 0, TIME_FOREVER, WQ_INTERRUPTIBLE);
		if (r)
			return r;
		flg = wq_lock(&lock_wq);
	}
	r = lock_apply(&i->locks, LK_POSIX, owner, pid, fl->l_type, start, end);
	if (r == 0)
		wq_wake_locked(&lock_wq, INT32_MAX);
	wq_unlock(&lock_wq, flg);
	return r == -ENOMEM ? -ENOLCK : r;
}

int lock_flock(struct file *f, int op)
{
	int type;
	switch (op & ~LOCK_NB) {
	case LOCK_SH: type = LK_READ; break;
	case LOCK_EX: type = LK_WRITE; break;
	case LOCK_UN: type = LK_UNLOCK; break;
	default: return -EINVAL;
	}
	struct inode *i = f->path.inode;
	uint64_t flg = wq_lock(&lock_wq);
	if (type != LK_UNLOCK) {
		/* Converting drops the old lock first (not atomic, as Linux). */
		bool had = false;
		for (struct file_lock *l = i->locks; l; l = l->next)
			had |= l->cls == LK_FLOCK && l->owner == f;
		if (had) {
			lock_remove_owner(&i->locks, LK_FLOCK, f);
			wq_wake_locked(&lock_wq, INT32_MAX);
		}
		while (lock_conflict(i->locks, LK_FLOCK, f, type, 0, LOCK_EOF)) {
			if (op & LOCK_NB) {
				wq_unlock(&lock_wq, flg);
				return -EWOULDBLOCK;
			}
			int r = wq_wait_locked(&lock_wq, flg, 0, TIME_FOREVER, WQ_INTERRUPTIBLE);
			if (r)
				return r;
			flg = wq_lock(&lock_wq);
		}
	}
	int r = lock_apply(&i->locks, LK_FLOCK, f, -1, type, 0, LOCK_EOF);
	wq_wake_locked(&lock_wq, INT32_MAX);
	wq_unlock(&lock_wq, flg);
	return r == -ENOMEM ? -ENOLCK : r;
}

void lock_release_posix(struct file *f)
{
	struct inode *i = f->path.inode;
	if (!i || !i->locks)
		return;
	uint64_t flg = wq_lock(&lock_wq);
	lock_remove_owner(&i->locks, LK_POSIX, &process_owner);
	wq_wake_locked(&lock_wq, INT32_MAX);
	wq_unlock(&lock_wq, flg);
}

void lock_release_file(struct file *f)
{
	struct inode *i = f->path.inode;
	if (!i || !i->locks)
		return;
	uint64_t flg = wq_lock(&lock_wq);
	lock_remove_owner(&i->locks, LK_POSIX, f);
	lock_remove_owner(&i->locks, LK_FLOCK, f);
	wq_wake_locked(&lock_wq, INT32_MAX);
	wq_unlock(&lock_wq, flg);
}
