/* Unit tests for tools/wisp/cpio_write.c: exact newc bytes, padding, error
 * paths, and a round trip through GNU cpio when it is installed. */
/* SAN_CFLAGS puts kernel/include on the include path, and its errno.h (Linux's
 * E* values, identical to glibc's on x86-64) shadows libc's <errno.h>, the
 * only header that declares errno. Declare it the way glibc does. */
#include <errno.h>
#ifndef errno
extern int *__errno_location(void);
#define errno (*__errno_location())
#endif

#include "../../tools/wisp/cpio_write.c"

#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

struct mem {
	unsigned char *p;
	size_t len, cap;
	int fail_after; /* fail once this many bytes were accepted; -1 never */
};

static int mem_sink(void *ctx, const void *buf, size_t len)
{
	struct mem *m = ctx;
	if (m->fail_after >= 0 && m->len + len > (size_t)m->fail_after) {
		errno = ENOSPC;
		return -1;
	}
	if (m->len + len > m->cap) {
		m->cap = (m->len + len) * 2;
		m->p = realloc(m->p, m->cap);
	}
	memcpy(m->p + m->len, buf, len);
	m->len += len;
	return 0;
}

static unsigned long hexfield(const unsigned char *h, int idx)
{
	char tmp[9];
	memcpy(tmp, h + 6 + 8 * idx, 8);
	tmp[8] = 0;
	return strtoul(tmp, NULL, 16);
}

/* A minimal reader: walks the archive, checks alignment and returns the
 * number of entries before the trailer (or -1 if malformed). */
struct seen {
	char name[64];
	unsigned long mode, size, nlink, mtime, ino;
	char data[64];
};

static int parse(const unsigned char *p, size_t len, struct seen *out, int max)
{
	size_t off = 0;
	int n = 0;
	for (;;) {
		if (off + CPIO_HEADER_SIZE > len || memcmp(p + off, "070701", 6) != 0)
			return -1;
		const unsigned char *h = p + off;
		unsigned long namesize = hexfield(h, 11), size = hexfield(h, 6);
		const char *name = (const char *)h + CPIO_HEADER_SIZE;
		if (off + CPIO_HEADER_SIZE + namesize > len || name[namesize - 1] != 0)
			return -1;
		size_t data = (off + CPIO_HEADER_SIZE + namesize + 3) & ~(size_t)3;
		size_t next = (data + size + 3) & ~(size_t)3;
		if (next > len)
			return -1;
		if (strcmp(name, "TRAILER!!!") == 0)
			return n;
		if (n < max) {
			snprintf(out[n].name, sizeof(out[n].name), "%s", name);
			out[n].mode = hexfield(h, 1);
			out[n].nlink = hexfield(h, 4);
			out[n].mtime = hexfield(h, 5);
			out[n].size = size;
			out[n].ino = hexfield(h, 0);
			memset(out[n].data, 0, sizeof(out[n].data));
			memcpy(out[n].data, p + data, size < 63 ? size : 63);
		}
		n++;
		off = next;
	}
}

static void test_exact_bytes(void)
{
	struct mem m = { .fail_after = -1 };
	struct cpio_writer w;

	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_add_file(&w, "a", 0644, 0x5f5e1000, "hi\n", 3) == 0);
	/* 110 header + "a\0" = 112 (aligned) + 3 data + 1 pad = 116 */
	CHECK(m.len == 116);
	CHECK(memcmp(m.p, "070701" "00000001" "000081A4" "00000000" "00000000"
			  "00000001" "5F5E1000" "00000003" "00000000" "00000000"
			  "00000000" "00000000" "00000002" "00000000", 110) == 0);
	CHECK(m.p[110] == 'a' && m.p[111] == 0);
	CHECK(memcmp(m.p + 112, "hi\n\0", 4) == 0);
	CHECK(cpio_finish(&w) == 0);
	CHECK(m.len % 512 == 0);
	CHECK(memcmp(m.p + 116, "070701", 6) == 0);
	CHECK(memcmp(m.p + 116 + 110, "TRAILER!!!", 11) == 0);
	/* Padding after the trailer is all zeros. */
	for (size_t i = 116 + 110 + 11; i < m.len; i++)
		if (m.p[i]) {
			CHECK(!"non-zero padding");
			break;
		}
	free(m.p);
}

static void test_entries_and_padding(void)
{
	struct mem m = { .fail_after = -1 };
	struct cpio_writer w;
	struct seen s[8];
	char big[1000];

	memset(big, 'x', sizeof(big));
	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_add_dir(&w, "usr", 0755, 100) == 0);
	CHECK(cpio_add_dir(&w, "usr/bin", 040755, 101) == 0); /* type bits in perm are masked */
	CHECK(cpio_add_symlink(&w, "bin", "usr/bin", 102) == 0);
	/* Names of every length mod 4 exercise the name padding. */
	CHECK(cpio_add_file(&w, "usr/bin/ab", 0755, 103, "12345", 5) == 0);
	CHECK(cpio_add_file(&w, "usr/bin/abc", 04755, 104, "", 0) == 0);
	/* Streaming an entry in pieces. */
	CHECK(cpio_begin(&w, "usr/bin/abcd", S_IFREG | 0600, 105, sizeof(big)) == 0);
	CHECK(cpio_data(&w, big, 10) == 0);
	CHECK(cpio_data(&w, big + 10, sizeof(big) - 10) == 0);
	CHECK(cpio_end(&w) == 0);
	CHECK(cpio_finish(&w) == 0);

	CHECK(parse(m.p, m.len, s, 8) == 6);
	CHECK(strcmp(s[0].name, "usr") == 0 && s[0].mode == (S_IFDIR | 0755) && s[0].nlink == 2);
	CHECK(s[1].mode == (S_IFDIR | 0755) && s[1].mtime == 101);
	CHECK(strcmp(s[2].name, "bin") == 0 && s[2].mode == (S_IFLNK | 0777));
	CHECK(s[2].size == 7 && strcmp(s[2].data, "usr/bin") == 0);
	CHECK(s[3].size == 5 && strcmp(s[3].data, "12345") == 0 && s[3].nlink == 1);
	CHECK(s[4].size == 0 && s[4].mode == (S_IFREG | 04755));
	CHECK(s[5].size == sizeof(big) && s[5].mode == (S_IFREG | 0600));
	/* Inode numbers are distinct so nothing looks like a hard link. */
	CHECK(s[0].ino != s[1].ino && s[4].ino != s[5].ino);
	free(m.p);
}

static void test_errors(void)
{
	struct mem m = { .fail_after = -1 };
	struct cpio_writer w;
	char longname[CPIO_MAX_NAME + 1];

	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_add_dir(&w, "", 0755, 0) < 0 && errno == EINVAL);

	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_add_dir(&w, "TRAILER!!!", 0755, 0) < 0 && errno == EINVAL);

	cpio_init(&w, mem_sink, &m);
	memset(longname, 'a', CPIO_MAX_NAME);
	longname[CPIO_MAX_NAME] = 0;
	CHECK(cpio_add_dir(&w, longname, 0755, 0) < 0 && errno == ENAMETOOLONG);

	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_begin(&w, "huge", S_IFREG | 0644, 0, CPIO_MAX_FILE_SIZE + 1) < 0 && errno == EFBIG);

	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_add_symlink(&w, "l", "", 0) < 0 && errno == EINVAL);

	/* Too much data, too little data, data outside an entry. */
	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_data(&w, "x", 1) < 0 && errno == EINVAL);
	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_begin(&w, "f", S_IFREG | 0644, 0, 2) == 0);
	CHECK(cpio_data(&w, "abc", 3) < 0 && errno == EFBIG);
	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_begin(&w, "f", S_IFREG | 0644, 0, 2) == 0);
	CHECK(cpio_data(&w, "a", 1) == 0);
	CHECK(cpio_end(&w) < 0 && errno == EINVAL);
	/* ...and the error sticks. */
	CHECK(cpio_finish(&w) < 0 && errno == EINVAL);

	/* Nested begin and finishing inside an entry are refused. */
	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_begin(&w, "f", S_IFREG | 0644, 0, 0) == 0);
	CHECK(cpio_finish(&w) < 0);

	/* Sink failures propagate with their errno and stick. */
	free(m.p);
	memset(&m, 0, sizeof(m));
	m.fail_after = 200;
	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_add_dir(&w, "a", 0755, 0) == 0);
	CHECK(cpio_add_dir(&w, "b", 0755, 0) < 0 && errno == ENOSPC);
	errno = 0;
	CHECK(cpio_add_dir(&w, "c", 0755, 0) < 0 && errno == ENOSPC);

	/* Out-of-range times are clamped, not wrapped. */
	free(m.p);
	memset(&m, 0, sizeof(m));
	m.fail_after = -1;
	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_add_dir(&w, "neg", 0755, -5) == 0);
	CHECK(cpio_add_dir(&w, "far", 0755, (int64_t)1 << 40) == 0);
	CHECK(hexfield(m.p, 5) == 0);
	CHECK(hexfield(m.p + 116, 5) == 0xffffffffUL); /* "neg\0" pads to 116 */
	free(m.p);
}

/* GNU cpio is the reference reader: it must list and extract what we write. */
static void test_gnu_cpio(void)
{
	struct mem m = { .fail_after = -1 };
	struct cpio_writer w;
	char dir[] = "/tmp/wisp-cpio-test-XXXXXX";
	char cmd[512], buf[256];
	FILE *f;

	if (system("command -v cpio >/dev/null 2>&1") != 0) {
		printf("test_cpio_write: GNU cpio not installed, interop test skipped\n");
		return;
	}
	cpio_init(&w, mem_sink, &m);
	CHECK(cpio_add_dir(&w, "d", 0750, 1000000000) == 0);
	CHECK(cpio_add_file(&w, "d/f.txt", 0640, 1000000001, "hello cpio\n", 11) == 0);
	CHECK(cpio_add_symlink(&w, "d/link", "f.txt", 1000000002) == 0);
	CHECK(cpio_finish(&w) == 0);

	/* (GNU cpio sets a directory's mtime before filling it, so only the
	 * file's mtime survives extraction; the directory's is checked above.) */
	CHECK(mkdtemp(dir) != NULL);
	snprintf(cmd, sizeof(cmd), "%s/a.cpio", dir);
	f = fopen(cmd, "wb");
	CHECK(f && fwrite(m.p, 1, m.len, f) == m.len);
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "cd %s && cpio -i --quiet -d --preserve-modification-time < a.cpio 2>&1 && "
		 "cat d/f.txt && readlink d/link && stat -c '%%a' d && stat -c '%%a %%Y' d/f.txt", dir);
	f = popen(cmd, "r");
	CHECK(f != NULL);
	if (f) {
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		buf[n] = 0;
		CHECK(pclose(f) == 0);
		CHECK(strcmp(buf, "hello cpio\nf.txt\n750\n640 1000000001\n") == 0);
		if (strcmp(buf, "hello cpio\nf.txt\n750\n640 1000000001\n") != 0)
			fprintf(stderr, "cpio said: %s\n", buf);
	}
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	CHECK(system(cmd) == 0);
	free(m.p);
}

int main(void)
{
	test_exact_bytes();
	test_entries_and_padding();
	test_errors();
	test_gnu_cpio();
	return CHECK_SUMMARY();
}
