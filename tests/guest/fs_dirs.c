/* Names and paths with Linux's errno behaviour: mkdir/rmdir/unlink,
 * rename and renameat2, links, symlinks (loops), getdents64 while
 * removing, the working directory, *at() with dirfds, openat2's RESOLVE_
 * flags, and what /dev and /proc hold. */
#include "check.h"
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* musl has no renameat2 wrapper. */
#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE 1
#define RENAME_EXCHANGE 2
#endif
static int renameat2_(int od, const char *o, int nd, const char *n, unsigned flags)
{
	return (int)syscall(SYS_renameat2, od, o, nd, n, flags);
}
#define renameat2 renameat2_

static int exists(const char *p)
{
	struct stat st;
	return lstat(p, &st) == 0;
}

static void touch(const char *p)
{
	int fd = open(p, O_CREAT | O_WRONLY, 0644);
	EXPECT(fd >= 0);
	close(fd);
}

static void dirs(void)
{
	EXPECT(mkdir("/tmp/d", 0755) == 0);
	EXPECT_ERRNO(mkdir("/tmp/d", 0755), EEXIST);
	EXPECT_ERRNO(mkdir("/tmp/nope/d", 0755), ENOENT);
	EXPECT_ERRNO(mkdir("/", 0755), EEXIST);
	EXPECT(mkdir("/tmp/d/e/", 0755) == 0);          /* trailing slash is fine */
	touch("/tmp/d/f");
	EXPECT_ERRNO(mkdir("/tmp/d/f/g", 0755), ENOTDIR);
	EXPECT_ERRNO(rmdir("/tmp/d"), ENOTEMPTY);
	EXPECT_ERRNO(rmdir("/tmp/d/f"), ENOTDIR);
	EXPECT_ERRNO(rmdir("/tmp/d/."), EINVAL);
	EXPECT_ERRNO(rmdir("/tmp/d/.."), ENOTEMPTY);
	EXPECT_ERRNO(rmdir("/dev/shm"), EBUSY);          /* a mount point */
	EXPECT_ERRNO(unlink("/tmp/d/e"), EISDIR);
	EXPECT_ERRNO(unlink("/tmp/d/f/"), ENOTDIR);
	EXPECT_ERRNO(unlinkat(AT_FDCWD, "/tmp/d/e", 0x1), EINVAL);
	EXPECT(unlinkat(AT_FDCWD, "/tmp/d/e", AT_REMOVEDIR) == 0);
	struct stat st;
	EXPECT(stat("/tmp/d", &st) == 0 && st.st_nlink == 2);
	EXPECT(mkdir("/tmp/d/sub", 0700) == 0 && stat("/tmp/d", &st) == 0 && st.st_nlink == 3);
	EXPECT(stat("/tmp/d/sub", &st) == 0 && (st.st_mode & 0777) == 0700);
	EXPECT(rmdir("/tmp/d/sub") == 0);
	/* mknod: FIFOs and regular files; directories refused. */
	EXPECT(mknod("/tmp/d/fifo", S_IFIFO | 0600, 0) == 0);
	EXPECT(lstat("/tmp/d/fifo", &st) == 0 && S_ISFIFO(st.st_mode));
	EXPECT_ERRNO(mknod("/tmp/d/dir", S_IFDIR | 0600, 0), EPERM);
	EXPECT(unlink("/tmp/d/fifo") == 0);
}

static void links(void)
{
	EXPECT(link("/tmp/d/f", "/tmp/d/hard") == 0);
	struct stat a, b;
	EXPECT(stat("/tmp/d/f", &a) == 0 && stat("/tmp/d/hard", &b) == 0);
	EXPECT(a.st_ino == b.st_ino && a.st_nlink == 2);
	EXPECT_ERRNO(link("/tmp/d/f", "/tmp/d/hard"), EEXIST);
	EXPECT_ERRNO(link("/tmp/d", "/tmp/d2"), EPERM);
	EXPECT_ERRNO(link("/tmp/d/f", "/dev/shm/x"), EXDEV);
	EXPECT_ERRNO(link("/tmp/d/nope", "/tmp/d/x"), ENOENT);
	EXPECT(unlink("/tmp/d/hard") == 0 && stat("/tmp/d/f", &a) == 0 && a.st_nlink == 1);
	/* Symlinks. */
	EXPECT(symlink("f", "/tmp/d/s") == 0);
	EXPECT_ERRNO(symlink("f", "/tmp/d/s"), EEXIST);
	EXPECT_ERRNO(symlink("", "/tmp/d/s2"), ENOENT);
	char buf[PATH_MAX];
	EXPECT(readlink("/tmp/d/s", buf, sizeof(buf)) == 1 && buf[0] == 'f');
	EXPECT_ERRNO(syscall(SYS_readlink, "/tmp/d/s", buf, 0), EINVAL);
	EXPECT(stat("/tmp/d/s", &b) == 0 && b.st_ino == a.st_ino);
	EXPECT(symlink("l2", "/tmp/d/l1") == 0 && symlink("l1", "/tmp/d/l2") == 0);
	EXPECT_ERRNO(stat("/tmp/d/l1", &b), ELOOP);
	EXPECT_ERRNO(open("/tmp/d/l1/x", O_RDONLY), ELOOP);
	EXPECT(lstat("/tmp/d/l1", &b) == 0 && S_ISLNK(b.st_mode));
	/* 40 links in a chain resolve, 41 do not. */
	char name[64], target[64];
	for (int i = 1; i <= 41; i++) {
		snprintf(name, sizeof(name), "/tmp/d/c%d", i);
		snprintf(target, sizeof(target), i == 1 ? "f" : "c%d", i - 1);
		EXPECT(symlink(target, name) == 0);
	}
	EXPECT(stat("/tmp/d/c40", &b) == 0);
	EXPECT_ERRNO(stat("/tmp/d/c41", &b), ELOOP);
	for (int i = 1; i <= 41; i++) {
		snprintf(name, sizeof(name), "/tmp/d/c%d", i);
		EXPECT(unlink(name) == 0);
	}
	EXPECT(unlink("/tmp/d/l1") == 0 && unlink("/tmp/d/l2") == 0);
	/* Names too long. */
	memset(buf, 'a', 300);
	buf[300] = 0;
	EXPECT_ERRNO(open(buf, O_RDONLY), ENAMETOOLONG);
	char *huge = malloc(PATH_MAX + 10);
	memset(huge, 'b', PATH_MAX + 9);
	huge[PATH_MAX + 9] = 0;
	EXPECT_ERRNO(stat(huge, &b), ENAMETOOLONG);
	free(huge);
}

static void renames(void)
{
	touch("/tmp/d/r1");
	EXPECT(rename("/tmp/d/r1", "/tmp/d/r2") == 0 && !exists("/tmp/d/r1") && exists("/tmp/d/r2"));
	EXPECT(rename("/tmp/d/r2", "/tmp/d/f") == 0 && !exists("/tmp/d/r2"));   /* replaces */
	EXPECT_ERRNO(rename("/tmp/d/nope", "/tmp/d/x"), ENOENT);
	EXPECT(mkdir("/tmp/d/x", 0755) == 0 && mkdir("/tmp/d/y", 0755) == 0);
	touch("/tmp/d/y/in");
	EXPECT_ERRNO(rename("/tmp/d/x", "/tmp/d/y"), ENOTEMPTY);
	EXPECT_ERRNO(rename("/tmp/d/x", "/tmp/d/f"), ENOTDIR);
	EXPECT_ERRNO(rename("/tmp/d/f", "/tmp/d/x"), EISDIR);
	EXPECT_ERRNO(rename("/tmp/d", "/tmp/d/x/inside"), EINVAL);
	EXPECT_ERRNO(rename("/tmp/d/f", "/dev/shm/f"), EXDEV);
	EXPECT_ERRNO(rename("/tmp/d/.", "/tmp/d/z"), EBUSY);
	EXPECT(rename("/tmp/d/f", "/tmp/d/f") == 0);
	/* renameat2. */
	touch("/tmp/d/g");
	EXPECT_ERRNO(renameat2(AT_FDCWD, "/tmp/d/g", AT_FDCWD, "/tmp/d/f", RENAME_NOREPLACE), EEXIST);
	EXPECT(renameat2(AT_FDCWD, "/tmp/d/g", AT_FDCWD, "/tmp/d/x", RENAME_EXCHANGE) == 0);
	struct stat st;
	EXPECT(lstat("/tmp/d/g", &st) == 0 && S_ISDIR(st.st_mode));
	EXPECT(lstat("/tmp/d/x", &st) == 0 && S_ISREG(st.st_mode));
	EXPECT_ERRNO(renameat2(AT_FDCWD, "/tmp/d/x", AT_FDCWD, "/tmp/d/nope", RENAME_EXCHANGE), ENOENT);
	EXPECT_ERRNO(renameat2(AT_FDCWD, "/tmp/d/x", AT_FDCWD, "/tmp/d/g",
			       RENAME_EXCHANGE | RENAME_NOREPLACE), EINVAL);
	EXPECT(unlink("/tmp/d/x") == 0 && rmdir("/tmp/d/g") == 0);
	EXPECT(unlink("/tmp/d/y/in") == 0 && rmdir("/tmp/d/y") == 0);
}

/* getdents64 while removing: every entry is seen exactly once. */
static void listing(void)
{
	EXPECT(mkdir("/tmp/many", 0755) == 0);
	char p[300];
	for (int i = 0; i < 300; i++) {
		snprintf(p, sizeof(p), "/tmp/many/file%03d", i);
		touch(p);
	}
	DIR *d = opendir("/tmp/many");
	int seen = 0, dots = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, "..")) {
			dots++;
			EXPECT(e->d_type == DT_DIR);
			continue;
		}
		EXPECT(e->d_type == DT_REG);
		snprintf(p, sizeof(p), "/tmp/many/%s", e->d_name);
		EXPECT(unlink(p) == 0);
		seen++;
	}
	closedir(d);
	EXPECT(seen == 300 && dots == 2);
	EXPECT(rmdir("/tmp/many") == 0);
	int fd = open("/tmp/f0", O_CREAT | O_RDWR, 0600);
	char buf[256];
	EXPECT_ERRNO(syscall(SYS_getdents64, fd, buf, sizeof(buf)), ENOTDIR);
	close(fd);
	fd = open("/tmp", O_RDONLY | O_DIRECTORY);
	EXPECT_ERRNO(syscall(SYS_getdents64, fd, buf, 10), EINVAL);
	EXPECT(syscall(SYS_getdents64, fd, buf, sizeof(buf)) > 0);
	EXPECT(lseek(fd, 0, SEEK_SET) == 0);
	EXPECT(syscall(SYS_getdents64, fd, buf, sizeof(buf)) > 0);
	close(fd);
}

static void cwd(void)
{
	char buf[PATH_MAX];
	EXPECT(getcwd(buf, sizeof(buf)) && !strcmp(buf, "/"));
	EXPECT(mkdir("/tmp/w", 0755) == 0 && mkdir("/tmp/w/x", 0755) == 0);
	EXPECT(chdir("/tmp/w/x") == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/tmp/w/x"));
	EXPECT_ERRNO(syscall(SYS_getcwd, buf, 5), ERANGE);
	EXPECT(syscall(SYS_getcwd, buf, sizeof(buf)) == 9);  /* length with the NUL */
	touch("rel");
	EXPECT(exists("/tmp/w/x/rel"));
	EXPECT(chdir("..") == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/tmp/w"));
	EXPECT(chdir("../..") == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/"));
	EXPECT(chdir("..") == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/"));
	EXPECT_ERRNO(chdir("/tmp/w/x/rel"), ENOTDIR);
	EXPECT_ERRNO(chdir("/nope"), ENOENT);
	int fd = open("/tmp/w", O_RDONLY | O_DIRECTORY);
	EXPECT(fchdir(fd) == 0 && getcwd(buf, sizeof(buf)) && !strcmp(buf, "/tmp/w"));
	/* *at() relative to a directory fd, and AT_EMPTY_PATH. */
	EXPECT(mkdirat(fd, "y", 0755) == 0 && exists("/tmp/w/y"));
	int f = openat(fd, "x/rel", O_RDONLY);
	EXPECT(f >= 0);
	EXPECT_ERRNO(fchdir(f), ENOTDIR);
	EXPECT_ERRNO(mkdirat(f, "z", 0755), ENOTDIR);
	struct stat st;
	EXPECT(fstatat(f, "", &st, AT_EMPTY_PATH) == 0 && S_ISREG(st.st_mode));
	close(f);
	/* A removed working directory. */
	EXPECT(chdir("/tmp/w/y") == 0 && rmdir("/tmp/w/y") == 0);
	EXPECT_ERRNO(syscall(SYS_getcwd, buf, sizeof(buf)), ENOENT);
	EXPECT_ERRNO(open("new", O_CREAT | O_RDWR, 0600), ENOENT);
	EXPECT(chdir("/") == 0);
	close(fd);
}

struct open_how_k {
	uint64_t flags, mode, resolve;
};

static void openat2_resolve(void)
{
	int dir = open("/tmp/w", O_RDONLY | O_DIRECTORY);
	struct open_how_k how = { O_RDONLY, 0, 0 };
	long fd = syscall(SYS_openat2, dir, "x/rel", &how, sizeof(how));
	EXPECT(fd >= 0);
	close((int)fd);
	EXPECT(symlink("/tmp/w/x", "/tmp/w/abs") == 0);
	how.resolve = 0x04;             /* RESOLVE_NO_SYMLINKS */
	EXPECT_ERRNO(syscall(SYS_openat2, dir, "abs/rel", &how, sizeof(how)), ELOOP);
	how.resolve = 0x08;             /* RESOLVE_BENEATH */
	EXPECT_ERRNO(syscall(SYS_openat2, dir, "../w/x/rel", &how, sizeof(how)), EXDEV);
	EXPECT_ERRNO(syscall(SYS_openat2, dir, "/tmp/w/x/rel", &how, sizeof(how)), EXDEV);
	how.resolve = 0x10;             /* RESOLVE_IN_ROOT: "/" is dir */
	fd = syscall(SYS_openat2, dir, "/x/rel", &how, sizeof(how));
	EXPECT(fd >= 0);
	close((int)fd);
	how.resolve = 0x01;             /* RESOLVE_NO_XDEV */
	EXPECT_ERRNO(syscall(SYS_openat2, AT_FDCWD, "/dev/shm", &how, sizeof(how)), EXDEV);
	how.resolve = 0x100;
	EXPECT_ERRNO(syscall(SYS_openat2, dir, "x", &how, sizeof(how)), EINVAL);
	how.resolve = 0;
	EXPECT_ERRNO(syscall(SYS_openat2, dir, "x", &how, 8), EINVAL);
	how.mode = 0644;
	EXPECT_ERRNO(syscall(SYS_openat2, dir, "x", &how, sizeof(how)), EINVAL);
	close(dir);
}

static void devices_and_proc(void)
{
	char buf[4096];
	int fd = open("/dev/null", O_RDWR);
	EXPECT(write(fd, "x", 1) == 1 && read(fd, buf, 10) == 0);
	close(fd);
	fd = open("/dev/zero", O_RDONLY);
	memset(buf, 1, 100);
	EXPECT(read(fd, buf, 100) == 100 && buf[0] == 0 && buf[99] == 0);
	close(fd);
	fd = open("/dev/full", O_WRONLY);
	EXPECT_ERRNO(write(fd, "x", 1), ENOSPC);
	close(fd);
	fd = open("/dev/urandom", O_RDONLY);
	uint64_t r1 = 0, r2 = 0;
	EXPECT(read(fd, &r1, 8) == 8 && read(fd, &r2, 8) == 8 && r1 != r2);
	close(fd);
	/* /dev/stdout is fd 1, through /proc/self/fd. */
	fd = open("/dev/stdout", O_WRONLY);
	EXPECT(fd >= 0);
	struct stat a, b;
	EXPECT(fstat(fd, &a) == 0 && fstat(1, &b) == 0 && a.st_ino == b.st_ino && S_ISCHR(a.st_mode));
	close(fd);
	EXPECT(isatty(1) == 0);         /* the console is not a terminal */
	ssize_t n = readlink("/proc/self/exe", buf, sizeof(buf));
	EXPECT(n > 0 && !memcmp(buf, "/t/fs_dirs", 10));
	EXPECT(readlink("/proc/self", buf, sizeof(buf)) == 1 && buf[0] == '1');
	fd = open("/proc/self/status", O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	EXPECT(n > 0);
	buf[n > 0 ? n : 0] = 0;
	EXPECT(strstr(buf, "Pid:\t1\n") != NULL);
	close(fd);
	fd = open("/proc/self/maps", O_RDONLY);
	n = read(fd, buf, sizeof(buf) - 1);
	buf[n > 0 ? n : 0] = 0;
	EXPECT(strstr(buf, "[stack]") != NULL);
	close(fd);
	EXPECT_ERRNO(open("/proc/cpuinfo", O_WRONLY), EACCES);
	fd = open("/proc/sys/kernel/hostname", O_RDONLY);
	EXPECT(read(fd, buf, 64) == 5 && !memcmp(buf, "wisp\n", 5));
	close(fd);
	fd = open("/sys/devices/system/cpu/online", O_RDONLY);
	EXPECT(read(fd, buf, 64) >= 2 && buf[0] == '0');
	close(fd);
	EXPECT(sysconf(_SC_NPROCESSORS_ONLN) >= 1);
	/* /dev/shm is a tmpfs of its own. */
	fd = open("/dev/shm/seg", O_CREAT | O_RDWR, 0600);
	EXPECT(fd >= 0 && write(fd, "shm", 3) == 3);
	close(fd);
	EXPECT(unlink("/dev/shm/seg") == 0);
}

int main(void)
{
	dirs();
	links();
	renames();
	listing();
	cwd();
	openat2_resolve();
	devices_and_proc();
	return guest_done("fs_dirs");
}
