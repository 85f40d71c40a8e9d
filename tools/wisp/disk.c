/* Disk images and staging directories; see disk.h. */
#include "disk.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "buf.h"
#include "paths.h"
#include "util.h"

static uint32_t le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int disk_check(const char *path, const char *what, enum disk_format *fmt)
{
	struct stat st;
	uint8_t sb[2048];
	int fd;
	ssize_t n;

	if (stat(path, &st) < 0) {
		err_msg("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode)) {
		err_msg("%s %s: is a directory, not a disk image", what, path);
		return -1;
	}
	if (st.st_size == 0 && S_ISREG(st.st_mode)) {
		err_msg("%s %s: empty file (0 bytes): no file system (make one with "
			"'mke2fs -t ext2 %s SIZE')", what, path, path);
		return -1;
	}
	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
		err_msg("%s %s: %s", what, path, strerror(errno));
		return -1;
	}
	n = pread(fd, sb, sizeof(sb), 0);
	close(fd);
	if (n >= 4 && !memcmp(sb, "QFI\xfb", 4)) {
		*fmt = DISK_QCOW2;
		return 0;
	}
	*fmt = DISK_RAW;
	if (n < (ssize_t)sizeof(sb)) {
		err_msg("%s %s: too small for an ext2 file system (%lld bytes)", what, path,
			(long long)st.st_size);
		return -1;
	}
	const uint8_t *s = sb + 1024;
	if (s[56] != 0x53 || s[57] != 0xef) {
		err_msg("%s %s: not an ext2 file system (no ext2 superblock; make one with "
			"'mke2fs -t ext2')", what, path);
		return -1;
	}
	uint32_t blocks = le32(s + 4), log = le32(s + 24);
	if (log > 6) {
		err_msg("%s %s: corrupt ext2 superblock (block size)", what, path);
		return -1;
	}
	uint64_t need = (uint64_t)blocks << (10 + log);
	if (S_ISREG(st.st_mode) && need > (uint64_t)st.st_size) {
		err_msg("%s %s: truncated: its file system needs %llu bytes, the file has %lld",
			what, path, (unsigned long long)need, (long long)st.st_size);
		return -1;
	}
	return 0;
}

/* --- cpio newc ------------------------------------------------------------------ */

static int read_full(int fd, void *buf, size_t len)
{
	uint8_t *p = buf;
	while (len) {
		ssize_t n = read(fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

static int skip_pad(int fd, uint64_t consumed)
{
	uint8_t pad[4];
	size_t k = (4 - consumed % 4) % 4;
	return k ? read_full(fd, pad, k) : 0;
}

static unsigned long hex8(const char *p)
{
	char t[9];
	memcpy(t, p, 8);
	t[8] = 0;
	return strtoul(t, NULL, 16);
}

int cpio_extract_fd(int fd, const char *dir)
{
	char hdr[110];
	uint8_t *data = NULL;
	int rc = -1;

	if (lseek(fd, 0, SEEK_SET) < 0) {
		err_msg("staging: %s", strerror(errno));
		return -1;
	}
	for (;;) {
		if (read_full(fd, hdr, sizeof(hdr)) < 0 || memcmp(hdr, "070701", 6)) {
			err_msg("staging: bad archive header");
			goto out;
		}
		unsigned long mode = hex8(hdr + 14), mtime = hex8(hdr + 46);
		unsigned long fsize = hex8(hdr + 54), nsize = hex8(hdr + 94);
		char *name = xmalloc(nsize + 1);
		if (nsize == 0 || read_full(fd, name, nsize) < 0 || skip_pad(fd, 110 + nsize) < 0) {
			free(name);
			err_msg("staging: truncated archive");
			goto out;
		}
		name[nsize] = 0;
		if (!strcmp(name, "TRAILER!!!")) {
			free(name);
			break;
		}
		free(data);
		data = xmalloc(fsize + 1);
		if (read_full(fd, data, fsize) < 0 || skip_pad(fd, fsize) < 0) {
			free(name);
			err_msg("staging: truncated archive");
			goto out;
		}
		char *path = !strcmp(name, ".") ? xstrdup(dir) : path_join(dir, name);
		free(name);
		int ok = 0;
		switch (mode & S_IFMT) {
		case S_IFDIR:
			ok = mkdir(path, 0755) == 0 || errno == EEXIST;
			if (ok)
				chmod(path, (mode_t)(mode & 07777));
			break;
		case S_IFREG: {
			int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
			ok = out >= 0 && write_all(out, data, fsize) == 0;
			if (out >= 0) {
				fchmod(out, (mode_t)(mode & 07777));
				close(out);
			}
			break;
		}
		case S_IFLNK:
			data[fsize] = 0;
			ok = symlink((char *)data, path) == 0;
			break;
		default:
			ok = 1;   /* nothing else is packed */
			break;
		}
		if (!ok) {
			err_msg("staging %s: %s", path, strerror(errno));
			free(path);
			goto out;
		}
		struct timespec ts[2] = { { (time_t)mtime, 0 }, { (time_t)mtime, 0 } };
		utimensat(AT_FDCWD, path, ts, AT_SYMLINK_NOFOLLOW);
		free(path);
	}
	rc = 0;
out:
	free(data);
	return rc;
}

int run_tool(char *const *argv)
{
	char *bin = find_in_path(argv[0], X_OK);
	int errp[2];
	pid_t pid;
	int status;
	char msg[512];
	ssize_t n = 0;

	if (!bin) {
		err_msg("%s not found in PATH (install it with scripts/deps.sh)", argv[0]);
		return -1;
	}
	if (pipe2(errp, O_CLOEXEC) < 0) {
		err_msg("pipe: %s", strerror(errno));
		free(bin);
		return -1;
	}
	pid = fork();
	if (pid < 0) {
		err_msg("fork: %s", strerror(errno));
		free(bin);
		return -1;
	}
	if (pid == 0) {
		int null = open("/dev/null", O_RDWR);
		dup2(null, 0);
		dup2(null, 1);
		dup2(errp[1], 2);
		execv(bin, argv);
		_exit(127);
	}
	close(errp[1]);
	for (;;) {
		ssize_t k = read(errp[0], msg + n, sizeof(msg) - 1 - (size_t)n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			break;
		n += k;
		if ((size_t)n == sizeof(msg) - 1) {
			char sink[4096];
			while (read(errp[0], sink, sizeof(sink)) > 0)
				;
			break;
		}
	}
	close(errp[0]);
	msg[n] = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	free(bin);
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	/* The first non-empty line says why. */
	char *line = msg;
	while (*line == '\n')
		line++;
	line[strcspn(line, "\n")] = 0;
	err_msg("%s failed%s%s", argv[0], *line ? ": " : "", line);
	return -1;
}

char *make_temp_dir(const char *prefix)
{
	const char *tmp = getenv("TMPDIR");
	if (!tmp || !*tmp)
		tmp = "/tmp";
	char *t = xasprintf("%s/%s-XXXXXX", tmp, prefix);
	if (!mkdtemp(t)) {
		err_msg("cannot create a temporary directory in %s: %s", tmp, strerror(errno));
		free(t);
		return NULL;
	}
	return t;
}

void remove_tree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) < 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		struct dirent *e;
		while (d && (e = readdir(d))) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *c = path_join(path, e->d_name);
			remove_tree(c);
			free(c);
		}
		if (d)
			closedir(d);
		rmdir(path);
	} else {
		unlink(path);
	}
}
