/*
 * selftest=vfs: the VFS through its kernel entry points (kernel buffers),
 * with the errno values the syscalls pass on. The same rules are checked
 * from ring 3 by tests/guest/fs_*.c.
 */
#include "fs/vfs.h"
#include "fs/namei.h"
#include "fs/lock.h"
#include "fs/pipe.h"
#include "fs/sys.h"
#include "lib/selftest.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "errno.h"

static int failures;

#define EXPECT(cond) do {                                                     \
	if (!(cond)) {                                                        \
		pr_err("vfs selftest: %s:%d: %s", __FILE__, __LINE__, #cond); \
		failures++;                                                   \
	}                                                                     \
} while (0)

static int open_k(const char *path, uint32_t flags, uint32_t mode, struct file **f)
{
	return vfs_open(AT_FDCWD, path, flags, mode, 0, f);
}

static int lookup(const char *path, bool follow)
{
	struct path p;
	int r = vfs_lookup(AT_FDCWD, path, follow ? LOOKUP_FOLLOW : 0, &p);
	if (r == 0)
		path_put(&p);
	return r;
}

/* Path operations as the syscalls do them, on kernel strings. */
static int do_parent(const char *path, struct path *dir, struct namei_last *last)
{
	struct nameidata nd;
	int r = namei_start(&nd, AT_FDCWD, path, 0, dir);
	return r ? r : namei_parent(&nd, dir, path, last);
}

static int k_mkdir(const char *path)
{
	struct path d;
	struct namei_last l;
	vfs_lock();
	int r = do_parent(path, &d, &l);
	struct inode *i;
	if (r == 0)
		r = d.inode->ops->create(d.inode, l.name, l.len, S_IFDIR | 0755, 0, 0, &i);
	vfs_unlock();
	return r;
}

static int k_symlink(const char *target, const char *path)
{
	struct path d;
	struct namei_last l;
	vfs_lock();
	int r = do_parent(path, &d, &l);
	struct inode *i;
	if (r == 0)
		r = d.inode->ops->symlink(d.inode, l.name, l.len, target, strlen(target), &i);
	vfs_unlock();
	return r;
}

static int k_unlink(const char *path, bool dir)
{
	struct path d;
	struct namei_last l;
	vfs_lock();
	int r = do_parent(path, &d, &l);
	if (r == 0)
		r = d.inode->ops->unlink(d.inode, l.name, l.len, dir);
	vfs_unlock();
	return r;
}

static int k_rename(const char *from, const char *to, unsigned flags)
{
	struct path od, nd;
	struct namei_last ol, nl;
	vfs_lock();
	int r = do_parent(from, &od, &ol);
	if (r == 0)
		r = do_parent(to, &nd, &nl);
	if (r == 0)
		r = od.inode->ops->rename(od.inode, ol.name, ol.len, nd.inode, nl.name, nl.len, flags);
	vfs_unlock();
	return r;
}

static void files(void)
{
	struct file *f, *g;
	EXPECT(open_k("/tmp/st", O_RDWR | O_CREAT | O_EXCL, 0640, &f) == 0);
	EXPECT(open_k("/tmp/st", O_RDWR | O_CREAT | O_EXCL, 0640, &g) == -EEXIST);
	EXPECT(vfs_write(f, "hello world", 11, NULL) == 11);
	EXPECT(f->pos == 11 && f->path.inode->size == 11);
	EXPECT(vfs_lseek(f, 6, SEEK_SET) == 6);
	char buf[64] = { 0 };
	EXPECT(vfs_read(f, buf, sizeof(buf), NULL) == 5 && !memcmp(buf, "world", 5));
	EXPECT(vfs_read(f, buf, sizeof(buf), NULL) == 0);
	/* A hole: write far away, read zeros in between; SEEK_DATA/HOLE. */
	uint64_t pos = 3 * 4096 + 10;
	EXPECT(vfs_write(f, "X", 1, &pos) == 1 && f->path.inode->size == 3 * 4096 + 11);
	pos = 5000;
	EXPECT(vfs_read(f, buf, 4, &pos) == 4 && !memcmp(buf, "\0\0\0\0", 4));
	EXPECT(vfs_lseek(f, 0, SEEK_HOLE) == 4096);
	EXPECT(vfs_lseek(f, 4096, SEEK_DATA) == 3 * 4096);
	EXPECT(vfs_lseek(f, 1 << 20, SEEK_DATA) == -ENXIO);
	EXPECT(vfs_lseek(f, -1, SEEK_SET) == -EINVAL);
	EXPECT(f->path.inode->ops->truncate(f->path.inode, 3) == 0);
	pos = 0;
	EXPECT(vfs_read(f, buf, sizeof(buf), &pos) == 3 && !memcmp(buf, "hel", 3));
	/* O_APPEND writes at the end whatever the offset. */
	EXPECT(open_k("/tmp/st", O_WRONLY | O_APPEND, 0, &g) == 0);
	EXPECT(vfs_write(g, "LO", 2, NULL) == 2 && f->path.inode->size == 5);
	file_put(g);
	/* Read-only and write-only opens. */
	EXPECT(open_k("/tmp/st", O_RDONLY, 0, &g) == 0);
	EXPECT(vfs_write(g, "x", 1, NULL) == -EBADF);
	file_put(g);
	EXPECT(open_k("/tmp/st", O_RDONLY | O_TRUNC, 0, &g) == 0 && f->path.inode->size == 0);
	file_put(g);
	EXPECT(open_k("/tmp/st/x", O_RDONLY, 0, &g) == -ENOTDIR);
	EXPECT(open_k("/tmp/st/", O_RDONLY, 0, &g) == -ENOTDIR);
	EXPECT(open_k("/tmp/st", O_RDONLY | O_DIRECTORY, 0, &g) == -ENOTDIR);
	EXPECT(open_k("/tmp", O_WRONLY, 0, &g) == -EISDIR);
	EXPECT(open_k("/tmp", O_RDONLY | O_CREAT, 0, &g) == -EISDIR);
	EXPECT(open_k("/tmp/new/", O_RDWR | O_CREAT, 0644, &g) == -EISDIR);
	EXPECT(open_k("/nonexistent", O_RDONLY, 0, &g) == -ENOENT);
	/* Unlinked while open: still readable, gone from the tree. */
	EXPECT(vfs_write(f, "still", 5, NULL) == 5);
	EXPECT(k_unlink("/tmp/st", false) == 0);
	EXPECT(lookup("/tmp/st", true) == -ENOENT);
	pos = 0;
	EXPECT(vfs_read(f, buf, 5, &pos) == 5);
	file_put(f);
	/* O_TMPFILE: no name. */
	EXPECT(open_k("/tmp", O_TMPFILE | O_RDWR, 0600, &f) == 0);
	EXPECT(f->path.inode->nlink == 0 && (f->path.inode->flags & INODE_LINKABLE));
	file_put(f);
	EXPECT(open_k("/tmp", O_TMPFILE | O_RDONLY, 0600, &f) == -EINVAL);
}

static void names(void)
{
	struct file *f;
	EXPECT(k_mkdir("/tmp/d") == 0);
	EXPECT(k_mkdir("/tmp/d") == -EEXIST);
	EXPECT(k_mkdir("/tmp/d/e") == 0);
	EXPECT(open_k("/tmp/d/e/f", O_CREAT | O_WRONLY, 0644, &f) == 0);
	file_put(f);
	EXPECT(k_unlink("/tmp/d", true) == -ENOTEMPTY);
	EXPECT(k_unlink("/tmp/d/e", false) == -EISDIR);
	EXPECT(k_unlink("/tmp/d/e/f", true) == -ENOTDIR);
	/* Symlinks: relative, chains, loops, dangling, trailing slash. */
	EXPECT(k_symlink("d/e", "/tmp/l1") == 0);
	EXPECT(k_symlink("/tmp/l1/f", "/tmp/l2") == 0);
	EXPECT(lookup("/tmp/l2", true) == 0);
	EXPECT(lookup("/tmp/l1/", false) == 0);
	EXPECT(k_symlink("loop2", "/tmp/loop1") == 0);
	EXPECT(k_symlink("loop1", "/tmp/loop2") == 0);
	EXPECT(lookup("/tmp/loop1", true) == -ELOOP);
	EXPECT(lookup("/tmp/loop1", false) == 0);
	EXPECT(lookup("/tmp/loop1/x", false) == -ELOOP);
	EXPECT(k_symlink("nowhere", "/tmp/dangling") == 0);
	EXPECT(lookup("/tmp/dangling", true) == -ENOENT);
	/* O_CREAT through a dangling symlink creates its target. */
	EXPECT(open_k("/tmp/dangling", O_CREAT | O_WRONLY, 0600, &f) == 0);
	file_put(f);
	EXPECT(lookup("/tmp/nowhere", false) == 0);
	EXPECT(open_k("/tmp/dangling", O_RDONLY | O_NOFOLLOW, 0, &f) == -ELOOP);
	EXPECT(open_k("/tmp/dangling", O_PATH | O_NOFOLLOW, 0, &f) == 0);
	EXPECT(S_ISLNK(f->path.inode->mode));
	file_put(f);
	/* `..` across the /tmp mount and at the root. */
	EXPECT(lookup("/tmp/../tmp/d/../../../tmp/d/e", true) == 0);
	struct path p;
	EXPECT(vfs_lookup(AT_FDCWD, "/tmp/d/e/../..", LOOKUP_FOLLOW, &p) == 0);
	char name[64];
	vfs_lock();
	EXPECT(vfs_path_name(&p, name, sizeof(name)) == 4 && !strcmp(name, "/tmp"));
	vfs_unlock();
	path_put(&p);
	EXPECT(vfs_lookup(AT_FDCWD, "/proc/self/fd/1", LOOKUP_FOLLOW, &p) == 0);
	EXPECT(S_ISCHR(p.inode->mode));
	path_put(&p);
	/* Renames. */
	EXPECT(k_rename("/tmp/d", "/tmp/d/e/x", 0) == -EINVAL);
	EXPECT(k_rename("/tmp/d/e/f", "/tmp/g", 0) == 0);
	EXPECT(lookup("/tmp/g", false) == 0 && lookup("/tmp/d/e/f", false) == -ENOENT);
	EXPECT(k_rename("/tmp/g", "/tmp/d", 0) == -EISDIR);
	EXPECT(k_rename("/tmp/d", "/tmp/g", 0) == -ENOTDIR);
	EXPECT(k_rename("/tmp/g", "/tmp/nowhere", RENAME_NOREPLACE) == -EEXIST);
	EXPECT(k_rename("/tmp/g", "/tmp/nowhere", RENAME_EXCHANGE) == 0);
	EXPECT(k_rename("/tmp/d/e", "/tmp/e2", 0) == 0);
	EXPECT(vfs_lookup(AT_FDCWD, "/tmp/e2", LOOKUP_FOLLOW, &p) == 0);
	vfs_lock();
	EXPECT(vfs_path_name(&p, name, sizeof(name)) > 0 && !strcmp(name, "/tmp/e2"));
	vfs_unlock();
	path_put(&p);
	EXPECT(k_unlink("/tmp/e2", true) == 0 && k_unlink("/tmp/d", true) == 0);
}

/* readdir cookies survive removals between calls. */
struct count_ctx {
	int n;
	int stop_after;
};

static int count_fill(void *ctx, const char *name, size_t len, uint64_t ino, unsigned dt,
		      uint64_t next)
{
	(void)name; (void)len; (void)ino; (void)dt; (void)next;
	struct count_ctx *c = ctx;
	if (c->n == c->stop_after)
		return 1;
	c->n++;
	return 0;
}

static void readdir(void)
{
	EXPECT(k_mkdir("/tmp/rd") == 0);
	char path[32];
	for (int k = 0; k < 20; k++) {
		struct file *f;
		snprintf(path, sizeof(path), "/tmp/rd/%d", k);
		EXPECT(open_k(path, O_CREAT | O_WRONLY, 0644, &f) == 0);
		file_put(f);
	}
	struct path p;
	EXPECT(vfs_lookup(AT_FDCWD, "/tmp/rd", LOOKUP_FOLLOW, &p) == 0);
	uint64_t cookie = 0;
	struct count_ctx c = { 0, 7 };
	vfs_lock();
	p.inode->ops->readdir(p.inode, &cookie, count_fill, &c);
	vfs_unlock();
	EXPECT(c.n == 7);             /* ".", "..", 0..4 */
	for (int k = 0; k < 5; k++) {
		snprintf(path, sizeof(path), "/tmp/rd/%d", k);
		EXPECT(k_unlink(path, false) == 0);
	}
	c = (struct count_ctx){ 0, 1000 };
	vfs_lock();
	p.inode->ops->readdir(p.inode, &cookie, count_fill, &c);
	vfs_unlock();
	EXPECT(c.n == 15);            /* nothing skipped, nothing twice */
	path_put(&p);
	for (int k = 5; k < 20; k++) {
		snprintf(path, sizeof(path), "/tmp/rd/%d", k);
		EXPECT(k_unlink(path, false) == 0);
	}
	EXPECT(k_unlink("/tmp/rd", true) == 0);
}

static void fds(void)
{
	struct file *f;
	EXPECT(open_k("/dev/null", O_RDWR, 0, &f) == 0);
	int fd = fd_install(f, 0, true);
	EXPECT(fd >= 3);
	EXPECT(fd_get_flags(fd) == FD_CLOEXEC);
	EXPECT(fd_dup_to(fd, 100, false) == 100 && fd_get_flags(100) == 0);
	EXPECT(fd_install(f, 100, false) == 101);
	EXPECT(fd_close(100) == 0 && fd_close(100) == -EBADF);
	EXPECT(fd_close_range(101, 200, 0) == 0 && fd_get_flags(101) == -EBADF);
	EXPECT(fd_close(fd) == 0);
	EXPECT(vfs_write(f, "x", 1, NULL) == 1);
	char c;
	EXPECT(vfs_read(f, &c, 1, NULL) == 0);
	file_put(f);
	EXPECT(open_k("/dev/full", O_WRONLY, 0, &f) == 0);
	EXPECT(vfs_write(f, "x", 1, NULL) == -ENOSPC);
	file_put(f);
}

static void locks(void)
{
	struct file *a, *b;
	EXPECT(open_k("/tmp/lk", O_RDWR | O_CREAT, 0644, &a) == 0);
	EXPECT(open_k("/tmp/lk", O_RDWR, 0, &b) == 0);
	struct k_flock fl = { F_WRLCK, SEEK_SET, 0, 10, 20, 0, 0 };
	EXPECT(lock_fcntl(a, 6 /* F_SETLK */, &fl) == 0);
	/* The same process never conflicts with itself. */
	EXPECT(lock_fcntl(b, 6, &fl) == 0);
	fl = (struct k_flock){ F_WRLCK, SEEK_SET, 0, 0, 0, 0, 0 };
	EXPECT(lock_fcntl(b, 5 /* F_GETLK */, &fl) == 0 && fl.l_type == F_UNLCK);
	/* OFD locks belong to the open file: a and b conflict. */
	fl = (struct k_flock){ F_WRLCK, SEEK_SET, 0, 100, 10, 0, 0 };
	EXPECT(lock_fcntl(a, 37 /* F_OFD_SETLK */, &fl) == 0);
	fl = (struct k_flock){ F_RDLCK, SEEK_SET, 0, 105, 1, 0, 0 };
	EXPECT(lock_fcntl(b, 37, &fl) == -EAGAIN);
	EXPECT(lock_fcntl(b, 36 /* F_OFD_GETLK */, &fl) == 0 && fl.l_type == F_WRLCK &&
	       fl.l_start == 100 && fl.l_len == 10 && fl.l_pid == -1);
	/* flock: per open file too. */
	EXPECT(lock_flock(a, 2 /* LOCK_EX */) == 0);
	EXPECT(lock_flock(b, 2 | 4 /* LOCK_NB */) == -EWOULDBLOCK);
	EXPECT(lock_flock(a, 8 /* LOCK_UN */) == 0);
	EXPECT(lock_flock(b, 1 | 4) == 0);
	file_put(a);      /* a's OFD lock goes with it */
	fl = (struct k_flock){ F_WRLCK, SEEK_SET, 0, 100, 10, 0, 0 };
	EXPECT(lock_fcntl(b, 37, &fl) == 0);
	file_put(b);
	EXPECT(k_unlink("/tmp/lk", false) == 0);
}

static void pipes(void)
{
	struct file *r, *w;
	EXPECT(pipe_create(O_NONBLOCK, &r, &w) == 0);
	char buf[100];
	EXPECT(vfs_read(r, buf, sizeof(buf), NULL) == -EAGAIN);
	EXPECT((file_poll(r, NULL) & EPOLLIN) == 0 && (file_poll(w, NULL) & EPOLLOUT));
	EXPECT(vfs_write(w, "abc", 3, NULL) == 3);
	EXPECT(file_poll(r, NULL) & EPOLLIN);
	EXPECT(pipe_nread(r) == 3);
	EXPECT(vfs_read(r, buf, sizeof(buf), NULL) == 3 && !memcmp(buf, "abc", 3));
	EXPECT(pipe_fcntl(r, 1032, 0) == 65536);
	EXPECT(pipe_fcntl(r, 1031, 5000) == 8192);
	/* Fill it: writes past the capacity would block. */
	static char big[8192];
	EXPECT(vfs_write(w, big, sizeof(big), NULL) == 8192);
	EXPECT(vfs_write(w, "x", 1, NULL) == -EAGAIN);
	EXPECT(!(file_poll(w, NULL) & EPOLLOUT));
	EXPECT(vfs_read(r, big, sizeof(big), NULL) == 8192);
	file_put(w);
	EXPECT(vfs_read(r, buf, 1, NULL) == 0);       /* end of file */
	EXPECT(file_poll(r, NULL) & EPOLLHUP);
	EXPECT(pipe_create(0, &r, &w) == 0);
	file_put(r);
	EXPECT(vfs_write(w, "x", 1, NULL) == -EPIPE);
	EXPECT(file_poll(w, NULL) & EPOLLERR);
	file_put(w);
}

static int vfs_selftest(void)
{
	failures = 0;
	files();
	names();
	readdir();
	fds();
	locks();
	pipes();
	return failures ? -1 : 0;
}
SELFTEST("vfs", vfs_selftest);
