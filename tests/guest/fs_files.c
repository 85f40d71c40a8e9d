/* Files and descriptors with Linux's errno behaviour: open flags, read and
 * write families, lseek (holes), truncate, fallocate, stat/statx, dup,
 * fcntl, locks, flock, sendfile/copy_file_range, O_TMPFILE, memfd. */
#include "check.h"
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/sendfile.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/vfs.h>
#include <unistd.h>

static void open_flags(void)
{
	int fd = open("/tmp/f", O_RDWR | O_CREAT | O_EXCL, 0640);
	EXPECT(fd >= 3);
	EXPECT_ERRNO(open("/tmp/f", O_RDWR | O_CREAT | O_EXCL, 0640), EEXIST);
	EXPECT_ERRNO(open("/tmp/nope", O_RDONLY), ENOENT);
	EXPECT_ERRNO(open("/tmp/f/x", O_RDONLY), ENOTDIR);
	EXPECT_ERRNO(open("/tmp/f", O_RDONLY | O_DIRECTORY), ENOTDIR);
	EXPECT_ERRNO(open("/tmp", O_WRONLY), EISDIR);
	EXPECT_ERRNO(open("/tmp", O_RDWR | O_CREAT, 0600), EISDIR);
	EXPECT_ERRNO(open("/tmp/new/", O_RDWR | O_CREAT, 0600), EISDIR);
	EXPECT_ERRNO(open("", O_RDONLY), ENOENT);
	EXPECT_ERRNO(openat(12345, "x", O_RDONLY), EBADF);
	EXPECT_ERRNO(openat(fd, "x", O_RDONLY), ENOTDIR);
	struct stat st;
	EXPECT(fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0777) == (0640 & ~022));
	close(fd);
	/* umask applies to the mode. */
	mode_t old = umask(077);
	EXPECT(old == 022);
	fd = open("/tmp/u", O_CREAT | O_WRONLY, 0666);
	EXPECT(fstat(fd, &st) == 0 && (st.st_mode & 0777) == 0600);
	close(fd);
	umask(old);
	/* O_PATH: a handle only. */
	fd = open("/tmp/f", O_PATH);
	char c;
	EXPECT_ERRNO(read(fd, &c, 1), EBADF);
	EXPECT(fstat(fd, &st) == 0);
	EXPECT(fcntl(fd, F_GETFL) & O_PATH);
	close(fd);
	/* O_NOFOLLOW on a symlink. */
	EXPECT(symlink("/tmp/f", "/tmp/lnk") == 0);
	EXPECT_ERRNO(open("/tmp/lnk", O_RDONLY | O_NOFOLLOW), ELOOP);
	fd = open("/tmp/lnk", O_PATH | O_NOFOLLOW);
	EXPECT(fd >= 0 && fstat(fd, &st) == 0 && S_ISLNK(st.st_mode));
	char buf[64];
	EXPECT(readlinkat(fd, "", buf, sizeof(buf)) == 6 && !memcmp(buf, "/tmp/f", 6));
	close(fd);
	EXPECT_ERRNO(readlink("/tmp/f", buf, sizeof(buf)), EINVAL);
}

static void rw(void)
{
	int fd = open("/tmp/rw", O_RDWR | O_CREAT | O_TRUNC, 0644);
	EXPECT(write(fd, "hello world", 11) == 11);
	EXPECT(lseek(fd, 0, SEEK_CUR) == 11);
	EXPECT(lseek(fd, 6, SEEK_SET) == 6);
	char buf[64] = { 0 };
	EXPECT(read(fd, buf, sizeof(buf)) == 5 && !memcmp(buf, "world", 5));
	EXPECT(read(fd, buf, sizeof(buf)) == 0);
	EXPECT(pread(fd, buf, 5, 0) == 5 && !memcmp(buf, "hello", 5));
	EXPECT(lseek(fd, 0, SEEK_CUR) == 11);       /* pread leaves the offset */
	EXPECT(pwrite(fd, "HELLO", 5, 0) == 5);
	EXPECT_ERRNO(pread(fd, buf, 1, -1), EINVAL);
	EXPECT_ERRNO(lseek(fd, -100, SEEK_CUR), EINVAL);
	EXPECT_ERRNO(lseek(fd, 0, 99), EINVAL);
	struct iovec iov[3] = { { "ab", 2 }, { "", 0 }, { "cde", 3 } };
	EXPECT(lseek(fd, 0, SEEK_END) == 11);
	EXPECT(writev(fd, iov, 3) == 5);
	char a[4] = { 0 }, b[20] = { 0 };
	struct iovec riov[2] = { { a, 3 }, { b, sizeof(b) } };
	EXPECT(preadv(fd, riov, 2, 0) == 16);
	EXPECT(!memcmp(a, "HEL", 3) && !memcmp(b, "LO worldabcde", 13));
	EXPECT_ERRNO(syscall(SYS_readv, fd, riov, -1), EINVAL);
	EXPECT_ERRNO(syscall(SYS_write, fd, (void *)8, 10), EFAULT);
	EXPECT_ERRNO(read(fd, (void *)0xffff800000000000ull, 10), EFAULT);
	/* Holes: a write far out; zeros between; SEEK_DATA/SEEK_HOLE. */
	EXPECT(pwrite(fd, "Z", 1, 1 << 20) == 1);
	EXPECT(pread(fd, buf, 8, 4096) == 8 && !memcmp(buf, "\0\0\0\0\0\0\0\0", 8));
	EXPECT(lseek(fd, 0, SEEK_HOLE) == 4096);
	EXPECT(lseek(fd, 4096, SEEK_DATA) == 1 << 20);
	EXPECT_ERRNO(lseek(fd, (1 << 20) + 1, SEEK_DATA), ENXIO);
	struct stat st;
	EXPECT(fstat(fd, &st) == 0 && st.st_size == (1 << 20) + 1 && st.st_blocks < 64);
	/* Truncate and fallocate. */
	EXPECT(ftruncate(fd, 3) == 0 && fstat(fd, &st) == 0 && st.st_size == 3);
	EXPECT(ftruncate(fd, 10) == 0 && pread(fd, buf, 10, 0) == 10 && !memcmp(buf, "HEL\0\0\0\0\0\0\0", 10));
	EXPECT_ERRNO(ftruncate(fd, -1), EINVAL);
	EXPECT(truncate("/tmp/rw", 5) == 0 && fstat(fd, &st) == 0 && st.st_size == 5);
	EXPECT_ERRNO(truncate("/tmp", 0), EISDIR);
	EXPECT(fallocate(fd, 0, 0, 8192) == 0 && fstat(fd, &st) == 0 && st.st_size == 8192);
	EXPECT(fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, 100000) == 0 && fstat(fd, &st) == 0 &&
	       st.st_size == 8192);
	EXPECT(fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, 0, 2) == 0);
	EXPECT(pread(fd, buf, 3, 0) == 3 && !memcmp(buf, "\0\0L", 3));
	EXPECT_ERRNO(fallocate(fd, FALLOC_FL_PUNCH_HOLE, 0, 2), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 0), EINVAL);
	EXPECT(fsync(fd) == 0 && fdatasync(fd) == 0);
	close(fd);
	fd = open("/tmp/rw", O_RDONLY);
	EXPECT_ERRNO(write(fd, "x", 1), EBADF);
	EXPECT_ERRNO(ftruncate(fd, 0), EINVAL);
	EXPECT_ERRNO(fallocate(fd, 0, 0, 1), EBADF);
	close(fd);
	/* O_APPEND. */
	fd = open("/tmp/rw", O_WRONLY | O_APPEND);
	EXPECT(lseek(fd, 0, SEEK_SET) == 0);
	EXPECT(write(fd, "END", 3) == 3 && lseek(fd, 0, SEEK_CUR) == 8195);
	close(fd);
	EXPECT(stat("/tmp/rw", &st) == 0 && st.st_size == 8195);
}

static void stats(void)
{
	struct stat st, lst;
	EXPECT(stat("/tmp/lnk", &st) == 0 && S_ISREG(st.st_mode));
	EXPECT(lstat("/tmp/lnk", &lst) == 0 && S_ISLNK(lst.st_mode) && lst.st_size == 6);
	EXPECT(st.st_ino != lst.st_ino);
	EXPECT(fstatat(AT_FDCWD, "/tmp/lnk", &lst, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(lst.st_mode));
	EXPECT_ERRNO(fstatat(AT_FDCWD, "/tmp/lnk", &lst, 0x8000), EINVAL);
	int fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	EXPECT(fstatat(fd, "f", &st, 0) == 0 && S_ISREG(st.st_mode));
	EXPECT(fstatat(fd, "", &st, AT_EMPTY_PATH) == 0 && S_ISDIR(st.st_mode));
	EXPECT_ERRNO(fstatat(fd, "", &st, 0), ENOENT);
	close(fd);
	/* statx through the raw call (musl has no wrapper): the Linux layout. */
	struct {
		uint32_t mask, blksize;
		uint64_t attributes;
		uint32_t nlink, uid, gid;
		uint16_t mode, pad;
		uint64_t ino, size, blocks, amask;
		uint8_t rest[256 - 64];
	} sx;
	_Static_assert(sizeof(sx) == 256, "statx");
	EXPECT(syscall(SYS_statx, AT_FDCWD, "/tmp/f", 0, 0xfff, &sx) == 0);
	EXPECT((sx.mask & 0x7ff) == 0x7ff && S_ISREG(sx.mode));
	EXPECT(stat("/tmp/f", &st) == 0 && sx.ino == st.st_ino && sx.nlink == 1 && sx.blksize == 4096);
	EXPECT_ERRNO(syscall(SYS_statx, AT_FDCWD, "/tmp/f", 0, 0x80000000u, &sx), EINVAL);
	/* Times: utimensat and the ctime that follows. */
	struct timespec ts[2] = { { 1000, 5 }, { 2000, 7 } };
	EXPECT(utimensat(AT_FDCWD, "/tmp/f", ts, 0) == 0);
	EXPECT(stat("/tmp/f", &st) == 0 && st.st_atim.tv_sec == 1000 && st.st_mtim.tv_sec == 2000 &&
	       st.st_mtim.tv_nsec == 7);
	ts[0].tv_nsec = UTIME_OMIT;
	ts[1].tv_nsec = UTIME_NOW;
	EXPECT(utimensat(AT_FDCWD, "/tmp/f", ts, 0) == 0);
	EXPECT(stat("/tmp/f", &st) == 0 && st.st_atim.tv_sec == 1000 && st.st_mtim.tv_sec > 2000);
	ts[1].tv_nsec = 2000000000;
	EXPECT_ERRNO(utimensat(AT_FDCWD, "/tmp/f", ts, 0), EINVAL);
	/* chmod, chown (stored), access. */
	EXPECT(chmod("/tmp/f", 04755) == 0 && stat("/tmp/f", &st) == 0 && (st.st_mode & 07777) == 04755);
	EXPECT(chown("/tmp/f", 12, 34) == 0 && stat("/tmp/f", &st) == 0 && st.st_uid == 12 &&
	       st.st_gid == 34 && !(st.st_mode & S_ISUID));
	EXPECT(lchown("/tmp/lnk", 5, 6) == 0 && lstat("/tmp/lnk", &st) == 0 && st.st_uid == 5);
	EXPECT(access("/tmp/f", R_OK | W_OK | X_OK) == 0);
	EXPECT(chmod("/tmp/f", 0644) == 0);
	EXPECT_ERRNO(access("/tmp/f", X_OK), EACCES);
	EXPECT_ERRNO(access("/tmp/nope", F_OK), ENOENT);
	EXPECT_ERRNO(access("/tmp/f", 0100), EINVAL);
	EXPECT(faccessat(AT_FDCWD, "/tmp/f", R_OK, AT_EACCESS) == 0);
	struct statfs sf;
	EXPECT(statfs("/tmp", &sf) == 0 && sf.f_type == 0x01021994 && sf.f_bsize == 4096);
	EXPECT(statfs("/proc", &sf) == 0 && sf.f_type == 0x9fa0);
}

static void fds(void)
{
	int fd = open("/tmp/f", O_RDWR);
	int d = dup(fd);
	EXPECT(d == fd + 1);
	EXPECT(lseek(fd, 3, SEEK_SET) == 3 && lseek(d, 0, SEEK_CUR) == 3);   /* shared offset */
	EXPECT(dup2(fd, 50) == 50 && fcntl(50, F_GETFD) == 0);
	EXPECT(dup2(50, 50) == 50);
	EXPECT_ERRNO(dup3(50, 50, 0), EINVAL);
	EXPECT(dup3(fd, 51, O_CLOEXEC) == 51 && fcntl(51, F_GETFD) == FD_CLOEXEC);
	EXPECT_ERRNO(syscall(SYS_dup3, fd, 52, 1), EINVAL);
	EXPECT_ERRNO(dup2(fd, -1), EBADF);
	EXPECT_ERRNO(dup(999), EBADF);
	EXPECT(fcntl(fd, F_DUPFD, 60) == 60);
	EXPECT(fcntl(fd, F_DUPFD_CLOEXEC, 60) == 61 && fcntl(61, F_GETFD) == FD_CLOEXEC);
	EXPECT(fcntl(61, F_SETFD, 0) == 0 && fcntl(61, F_GETFD) == 0);
	EXPECT((fcntl(fd, F_GETFL) & O_ACCMODE) == O_RDWR);
	EXPECT(fcntl(fd, F_SETFL, O_APPEND | O_NONBLOCK) == 0);
	EXPECT(fcntl(d, F_GETFL) & O_APPEND);          /* status flags are shared */
	EXPECT_ERRNO(fcntl(fd, 9999), EINVAL);
	EXPECT(syscall(SYS_close_range, 50, 61, 0) == 0);
	EXPECT_ERRNO(close(50), EBADF);
	EXPECT_ERRNO(close(61), EBADF);
	EXPECT(close(d) == 0);
	EXPECT_ERRNO(close(d), EBADF);
	/* RLIMIT_NOFILE: 1024 by default. */
	EXPECT_ERRNO(fcntl(fd, F_DUPFD, 1024), EINVAL);
	EXPECT_ERRNO(dup2(fd, 1024), EBADF);
	EXPECT(dup2(fd, 1023) == 1023 && close(1023) == 0);
	/* Record locks: the same process never conflicts with itself. */
	struct flock fl = { .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 10 };
	EXPECT(fcntl(fd, F_SETLK, &fl) == 0);
	int fd2 = open("/tmp/f", O_RDWR);
	EXPECT(fcntl(fd2, F_SETLK, &fl) == 0);
	fl.l_type = F_WRLCK;
	EXPECT(fcntl(fd2, F_GETLK, &fl) == 0 && fl.l_type == F_UNLCK);
	fl = (struct flock){ .l_type = 42, .l_whence = SEEK_SET };
	EXPECT_ERRNO(fcntl(fd, F_SETLK, &fl), EINVAL);
	fl = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = -5, .l_len = 1 };
	EXPECT_ERRNO(fcntl(fd, F_SETLK, &fl), EINVAL);
	/* OFD locks: per open file, they conflict. */
	fl = (struct flock){ .l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 100, .l_len = 10 };
	EXPECT(fcntl(fd, F_OFD_SETLK, &fl) == 0);
	fl = (struct flock){ .l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 105, .l_len = 1 };
	EXPECT_ERRNO(fcntl(fd2, F_OFD_SETLK, &fl), EAGAIN);
	EXPECT(fcntl(fd2, F_OFD_GETLK, &fl) == 0 && fl.l_type == F_WRLCK && fl.l_start == 100 &&
	       fl.l_len == 10 && fl.l_pid == -1);
	/* flock. */
	EXPECT(flock(fd, LOCK_EX) == 0);
	EXPECT_ERRNO(flock(fd2, LOCK_SH | LOCK_NB), EWOULDBLOCK);
	EXPECT(flock(fd, LOCK_UN) == 0 && flock(fd2, LOCK_SH | LOCK_NB) == 0);
	EXPECT_ERRNO(flock(fd, 99), EINVAL);
	close(fd2);
	close(fd);
}

static void copies(void)
{
	int in = open("/tmp/src", O_RDWR | O_CREAT | O_TRUNC, 0644);
	static char big[100000];
	for (size_t i = 0; i < sizeof(big); i++)
		big[i] = (char)(i * 7);
	EXPECT(write(in, big, sizeof(big)) == (ssize_t)sizeof(big));
	int out = open("/tmp/dst", O_RDWR | O_CREAT | O_TRUNC, 0644);
	off_t off = 10;
	EXPECT(sendfile(out, in, &off, 50000) == 50000 && off == 50010);
	EXPECT(lseek(in, 0, SEEK_CUR) == (off_t)sizeof(big));
	loff_t oi = 0, oo = 50000;
	EXPECT(copy_file_range(in, &oi, out, &oo, 50000, 0) == 50000 && oi == 50000);
	static char back[100000];
	EXPECT(pread(out, back, sizeof(back), 0) == 100000);
	EXPECT(!memcmp(back, big + 10, 50000) && !memcmp(back + 50000, big, 50000));
	EXPECT_ERRNO(copy_file_range(in, &oi, out, &oo, 1, 1), EINVAL);
	close(in);
	close(out);
	/* O_TMPFILE, then linkat gives it a name. */
	int t = open("/tmp", O_TMPFILE | O_RDWR, 0600);
	EXPECT(t >= 0 && write(t, "tmp", 3) == 3);
	struct stat st;
	EXPECT(fstat(t, &st) == 0 && st.st_nlink == 0);
	char p[64];
	snprintf(p, sizeof(p), "/proc/self/fd/%d", t);
	EXPECT(linkat(AT_FDCWD, p, AT_FDCWD, "/tmp/named", AT_SYMLINK_FOLLOW) == 0);
	EXPECT(stat("/tmp/named", &st) == 0 && st.st_size == 3 && st.st_nlink == 1);
	close(t);
	EXPECT_ERRNO(open("/tmp", O_TMPFILE | O_RDONLY, 0600), EINVAL);
	/* memfd: a file without a name that can be mapped. */
	int m = memfd_create("test", MFD_CLOEXEC);
	EXPECT(m >= 0 && fcntl(m, F_GETFD) == FD_CLOEXEC);
	EXPECT(ftruncate(m, 8192) == 0 && pwrite(m, "mapped", 6, 4096) == 6);
	char *map = mmap(NULL, 8192, PROT_READ, MAP_PRIVATE, m, 0);
	EXPECT(map != MAP_FAILED && !memcmp(map + 4096, "mapped", 6));
	EXPECT(readlink("/proc/self/fd/3", p, sizeof(p)) > 0);
	close(m);
}

int main(void)
{
	open_flags();
	rw();
	stats();
	fds();
	copies();
	return guest_done("fs_files");
}
