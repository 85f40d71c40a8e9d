/*
 * Open file descriptions, the descriptor table, and uio copies.
 *
 * The table is one per program (the threads share it, as CLONE_FILES).
 * A spinlock guards it; files are reference-counted, and every syscall
 * works on its own reference (fd_get ... file_put), so closing an fd in
 * one thread while another reads through it is safe: the read finishes
 * on the file, which goes away after it.
 */
#include "fs/vfs.h"
#include "fs/lock.h"
#include "fs/ramfs.h"
#include "fs/deps.h"
#include "sched/spinlock.h"
#include "lib/string.h"
#include "lib/printf.h"
#include "errno.h"

/* --- uio ------------------------------------------------------------------------ */

void uio_init1(struct uio *u, struct iovec *iov, void *buf, size_t len, bool user)
{
	iov->base = buf;
	iov->len = len;
	u->iov = iov;
	u->iovcnt = 1;
	u->idx = 0;
	u->off = 0;
	u->resid = len;
	u->user = user;
}

/* Runs fn over the next n bytes of the uio, segment by segment. */
static int uio_move(struct uio *u, void *kbuf, size_t n, int dir)
{
	uint8_t *k = kbuf;
	while (n) {
		if (u->idx >= u->iovcnt)
			return -EFAULT;
		const struct iovec *v = &u->iov[u->idx];
		size_t chunk = MIN(n, v->len - u->off);
		if (chunk) {
			uint8_t *p = (uint8_t *)v->base + u->off;
			int r = 0;
			if (dir == 0)          /* out: kernel -> uio */
				r = u->user ? copy_to_user(p, k, chunk) : (memcpy(p, k, chunk), 0);
			else if (dir == 1)     /* in: uio -> kernel */
				r = u->user ? copy_from_user(k, p, chunk) : (memcpy(k, p, chunk), 0);
			else
				r = u->user ? clear_user(p, chunk) : (memset(p, 0, chunk), 0);
			if (r < 0)
				return -EFAULT;
			if (k)
				k += chunk;
			n -= chunk;
			u->resid -= chunk;
			u->off += chunk;
		}
		if (u->off == v->len) {
			u->idx++;
			u->off = 0;
		}
	}
	return 0;
}

int uio_copy_out(struct uio *u, const void *src, size_t n)
{
	return uio_move(u, (void *)src, n, 0);
}

int uio_copy_in(struct uio *u, void *dst, size_t n)
{
	return uio_move(u, dst, n, 1);
}

int uio_zero(struct uio *u, size_t n)
{
	return uio_move(u, NULL, n, 2);
}

/* --- files ------------------------------------------------------------------------ */

/* epoll.c: drops the epoll registrations of a file going away. */
void epoll_file_release(struct file *f);

struct file *file_alloc(const struct path *path, uint32_t flags, const struct file_ops *ops)
{
	struct file *f = fs_alloc(sizeof(*f));
	if (!f)
		return NULL;
	f->refs = 1;
	f->ops = ops;
	f->path = *path;
	f->flags = flags;
	list_init(&f->epitems);
	uint32_t acc = flags & O_ACCMODE;
	if (flags & O_PATH)
		f->mode = FMODE_PATH;
	else {
		if (acc == O_RDONLY || acc == O_RDWR)
			f->mode |= FMODE_READ;
		if (acc == O_WRONLY || acc == O_RDWR)
			f->mode |= FMODE_WRITE;
		f->mode |= FMODE_PREAD | FMODE_LSEEK;
	}
	return f;
}

void file_get(struct file *f)
{
	__atomic_add_fetch(&f->refs, 1, __ATOMIC_RELAXED);
}

void file_put(struct file *f)
{
	if (__atomic_sub_fetch(&f->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	if (!list_empty(&f->epitems))
		epoll_file_release(f);
	if (f->ops && f->ops->release)
		f->ops->release(f);
	lock_release_file(f);
	path_put(&f->path);
	fs_free(f->name);
	fs_free(f);
}

/* Anonymous inodes: one per pipe, eventfd, epoll, socket, for fstat. */
static void anon_evict(struct inode *i)
{
	fs_free(i);
}

static const struct inode_ops anon_iops = { .evict = anon_evict };
static struct super anon_sb = { .type = "anon_inodefs", .magic = 0x09041934 };
static struct mount anon_mnt = { .sb = &anon_sb, .path = "anon" };
static uint64_t anon_ino = 1000;

struct file *file_anon(const char *prefix, uint32_t mode, uint32_t flags,
		       const struct file_ops *ops, void *priv)
{
	struct inode *i = fs_alloc(sizeof(*i));
	if (!i)
		return NULL;
	if (!anon_sb.dev_minor)
		vfs_new_dev(&anon_sb);
	i->ino = __atomic_add_fetch(&anon_ino, 1, __ATOMIC_RELAXED);
	i->mode = mode;
	i->nlink = 1;
	i->ops = &anon_iops;
	i->sb = &anon_sb;
	i->refs = 1;
	i->priv = priv;
	inode_touch(i, true, true, true);
	i->btime = i->mtime;
	struct path p = { &anon_mnt, i };
	struct file *f = file_alloc(&p, flags, ops);
	if (!f) {
		fs_free(i);
		return NULL;
	}
	f->priv = priv;
	f->mode &= ~(FMODE_PREAD | FMODE_LSEEK);
	f->mode |= FMODE_STREAM;
	char name[64];
	if (!strcmp(prefix, "pipe") || !strcmp(prefix, "socket"))
		snprintf(name, sizeof(name), "%s:[%lu]", prefix, i->ino);
	else
		snprintf(name, sizeof(name), "anon_inode:%s", prefix);
	f->name = fs_strdup(name);
	return f;
}

/* --- the descriptor table ------------------------------------------------------ */

#define NOFILE_DEFAULT 1024
#define NOFILE_HARD    (1u << 20)      /* Linux's fs.nr_open */

static spinlock_t fd_lock = SPINLOCK_INIT;
static struct file **fds;
static uint8_t *fd_cloexec;
static int fd_cap;
static uint64_t nofile_soft = NOFILE_DEFAULT, nofile_hard = NOFILE_HARD;

/* Grows the table to hold fd `need` (called without the lock). */
static int grow(int need)
{
	int cap = fd_cap ? fd_cap : 64;
	while (cap <= need)
		cap *= 2;
	struct file **nf = fs_alloc(cap * sizeof(*nf));
	uint8_t *nc = fs_alloc(cap);
	if (!nf || !nc) {
		fs_free(nf);
		fs_free(nc);
		return -ENOMEM;
	}
	uint64_t fl = spin_lock_irqsave(&fd_lock);
	if (cap <= fd_cap) {            /* someone else grew it */
		spin_unlock_irqrestore(&fd_lock, fl);
		fs_free(nf);
		fs_free(nc);
		return 0;
	}
	struct file **of = fds;
	uint8_t *oc = fd_cloexec;
	if (fd_cap) {
		memcpy(nf, fds, fd_cap * sizeof(*nf));
		memcpy(nc, fd_cloexec, fd_cap);
	}
	fds = nf;
	fd_cloexec = nc;
	fd_cap = cap;
	spin_unlock_irqrestore(&fd_lock, fl);
	fs_free(of);
	fs_free(oc);
	return 0;
}

int fd_install(struct file *f, int min, bool cloexec)
{
	if (min < 0)
		return -EINVAL;
	for (;;) {
		uint64_t fl = spin_lock_irqsave(&fd_lock);
		uint64_t limit = nofile_soft;
		if ((uint64_t)min >= limit) {
			spin_unlock_irqrestore(&fd_lock, fl);
			return -EMFILE;
		}
		int fd = min;
		while (fd < fd_cap && fds[fd])
			fd++;
		if ((uint64_t)fd >= limit) {
			spin_unlock_irqrestore(&fd_lock, fl);
			return -EMFILE;
		}
		if (fd < fd_cap) {
			fds[fd] = f;
			fd_cloexec[fd] = cloexec;
			file_get(f);
			spin_unlock_irqrestore(&fd_lock, fl);
			return fd;
		}
		spin_unlock_irqrestore(&fd_lock, fl);
		int r = grow(fd);
		if (r < 0)
			return r;
	}
}

struct file *fd_get(int fd)
{
	struct file *f = NULL;
	uint64_t fl = spin_lock_irqsave(&fd_lock);
	if (fd >= 0 && fd < fd_cap && fds[fd]) {
		f = fds[fd];
		file_get(f);
	}
	spin_unlock_irqrestore(&fd_lock, fl);
	return f;
}

struct file *fd_get_io(int fd)
{
	struct file *f = fd_get(fd);
	if (f && (f->mode & FMODE_PATH)) {
		file_put(f);
		return NULL;
	}
	return f;
}

/* Takes fd out of the table; returns its file (the table's reference). */
static struct file *fd_take(int fd)
{
	struct file *f = NULL;
	uint64_t fl = spin_lock_irqsave(&fd_lock);
	if (fd >= 0 && fd < fd_cap) {
		f = fds[fd];
		fds[fd] = NULL;
		fd_cloexec[fd] = 0;
	}
	spin_unlock_irqrestore(&fd_lock, fl);
	return f;
}

/* What closing one fd does to the file: POSIX record locks of the
 * process on the inode go (whatever fd they were taken through). */
static void close_file(struct file *f)
{
	lock_release_posix(f);
	file_put(f);
}

int fd_close(int fd)
{
	struct file *f = fd_take(fd);
	if (!f)
		return -EBADF;
	close_file(f);
	return 0;
}

int fd_dup_to(int oldfd, int newfd, bool cloexec)
{
	if (newfd < 0 || (uint64_t)newfd >= nofile_soft)
		return -EBADF;
	struct file *f = fd_get(oldfd);
	if (!f)
		return -EBADF;
	if (newfd >= fd_cap) {
		int r = grow(newfd);
		if (r < 0) {
			file_put(f);
			return r;
		}
	}
	uint64_t fl = spin_lock_irqsave(&fd_lock);
	struct file *old = fds[newfd];
	fds[newfd] = f;               /* our reference becomes the table's */
	fd_cloexec[newfd] = cloexec;
	spin_unlock_irqrestore(&fd_lock, fl);
	if (old == f)                 /* dup2(fd, fd) */
		file_put(f);
	else if (old)
		close_file(old);
	return newfd;
}

int fd_get_flags(int fd)
{
	int r = -EBADF;
	uint64_t fl = spin_lock_irqsave(&fd_lock);
	if (fd >= 0 && fd < fd_cap && fds[fd])
		r = fd_cloexec[fd] ? FD_CLOEXEC : 0;
	spin_unlock_irqrestore(&fd_lock, fl);
	return r;
}

int fd_set_flags(int fd, int flags)
{
	int r = -EBADF;
	uint64_t fl = spin_lock_irqsave(&fd_lock);
	if (fd >= 0 && fd < fd_cap && fds[fd]) {
		fd_cloexec[fd] = (flags & FD_CLOEXEC) != 0;
		r = 0;
	}
	spin_unlock_irqrestore(&fd_lock, fl);
	return r;
}

#define CLOSE_RANGE_UNSHARE 2
#define CLOSE_RANGE_CLOEXEC 4

int fd_close_range(unsigned first, unsigned last, unsigned flags)
{
	if (flags & ~(unsigned)(CLOSE_RANGE_UNSHARE | CLOSE_RANGE_CLOEXEC))
		return -EINVAL;
	if (first > last)
		return -EINVAL;
	for (unsigned fd = first; fd <= last && fd < (unsigned)fd_cap; fd++) {
		if (flags & CLOSE_RANGE_CLOEXEC) {
			fd_set_flags((int)fd, FD_CLOEXEC);
			continue;
		}
		struct file *f = fd_take((int)fd);
		if (f)
			close_file(f);
	}
	return 0;
}

void fd_get_rlimit(uint64_t *soft, uint64_t *hard)
{
	*soft = nofile_soft;
	*hard = nofile_hard;
}

int fd_set_rlimit(uint64_t soft, uint64_t hard)
{
	if (soft > hard)
		return -EINVAL;
	if (hard > NOFILE_HARD)
		return -EPERM;
	nofile_soft = soft;
	nofile_hard = hard;
	return 0;
}

int fd_count_hint(void)
{
	uint64_t fl = spin_lock_irqsave(&fd_lock);
	int n = fd_cap;
	while (n > 0 && !fds[n - 1])
		n--;
	spin_unlock_irqrestore(&fd_lock, fl);
	return n;
}

int fd_table_size(void)
{
	return fd_cap > 64 ? fd_cap : 64;
}
