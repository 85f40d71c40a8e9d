/* Unit tests for kernel/fs/cpio.c: archives made by GNU cpio (newc and crc)
 * from a real directory tree, hand-made archives for each corruption, every
 * truncation of a small archive, and random byte flips. Each parse works on
 * a malloc'ed copy of exactly the archive's size, so ASan reports any read
 * past the end. */
#include "../../kernel/fs/cpio.c"

#include "check.h"

#include <stdlib.h>
#include <stdio.h>
#include <sys/stat.h>
#include <unistd.h>

struct buf {
	unsigned char *p;
	size_t len, cap;
};

static void put(struct buf *b, const void *d, size_t n)
{
	if (b->len + n > b->cap) {
		b->cap = (b->len + n) * 2 + 64;
		b->p = realloc(b->p, b->cap);
	}
	memcpy(b->p + b->len, d, n);
	b->len += n;
}

static void pad4(struct buf *b)
{
	static const unsigned char z[4];
	put(b, z, (4 - (b->len & 3)) & 3);
}

/* One newc entry; magic "070701" or "070702" (check = byte sum then). */
static void entry(struct buf *b, const char *magic, const char *name, unsigned mode,
		  unsigned ino, unsigned nlink, const void *data, size_t size)
{
	unsigned sum = 0;
	for (size_t i = 0; i < size; i++)
		sum += ((const unsigned char *)data)[i];
	char h[CPIO_NEWC_HDR_SIZE + 1];
	snprintf(h, sizeof(h), "%s%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 magic, ino, mode, 1000u, 100u, nlink, 1700000000u, (unsigned)size, 8u, 1u,
		 0u, 0u, (unsigned)strlen(name) + 1, magic[5] == '2' ? sum : 0u);
	put(b, h, CPIO_NEWC_HDR_SIZE);
	put(b, name, strlen(name) + 1);
	pad4(b);
	put(b, data, size);
	pad4(b);
}

static void trailer(struct buf *b)
{
	entry(b, "070701", "TRAILER!!!", 0, 0, 1, "", 0);
}

/* Iterates a private copy of exactly len bytes; returns the final status
 * (0 clean end, -1 error) and counts entries. */
static int walk(const void *p, size_t len, int *count, struct cpio_iter *out_it)
{
	unsigned char *copy = malloc(len ? len : 1);
	memcpy(copy, p, len);
	struct cpio_iter it;
	struct cpio_entry e;
	int r, n = 0;
	cpio_iter_init(&it, copy, len);
	while ((r = cpio_next(&it, &e)) > 0) {
		n++;
		/* Touch every byte the entry claims, so ASan checks the bounds. */
		volatile unsigned char s = 0;
		for (size_t i = 0; i < e.size; i++)
			s += ((const unsigned char *)e.data)[i];
		for (size_t i = 0; i <= e.namelen; i++)
			s += (unsigned char)e.name[i];
		(void)s;
	}
	if (r < 0) {
		struct cpio_entry e2;
		CHECK(cpio_next(&it, &e2) == -1);   /* sticky */
		CHECK(it.err != NULL);
	}
	if (count)
		*count = n;
	if (out_it)
		*out_it = it;
	free(copy);
	return r;
}

/* --- archives made by GNU cpio ------------------------------------------- */

static char tmpdir[64];

static void sh(const char *fmt, const char *arg)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), fmt, arg, arg, arg);
	if (system(cmd) != 0)
		fprintf(stderr, "command failed: %s\n", cmd);
}

static struct buf run_cpio(const char *format)
{
	struct buf b = { 0 };
	char cmd[256];
	snprintf(cmd, sizeof(cmd), "cd %s && find . | LC_ALL=C sort | cpio -o -H %s 2>/dev/null",
		 tmpdir, format);
	FILE *f = popen(cmd, "r");
	CHECK(f != NULL);
	if (!f)
		return b;
	unsigned char chunk[4096];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		put(&b, chunk, n);
	CHECK(pclose(f) == 0);
	return b;
}

static void make_tree(void)
{
	strcpy(tmpdir, "/tmp/test_cpio.XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	sh("mkdir -p %s/dir/sub/deeper && printf 'hello\\n' > %s/dir/hello.txt && "
	   "printf '' > %s/empty", tmpdir);
	sh("printf a > %s/one && printf ab > %s/two && printf abc > %s/three", tmpdir);
	sh("head -c 70001 /dev/urandom > %s/dir/sub/random.bin && ln -s dir/hello.txt %s/link && "
	   "ln -s /absolute/target %s/dir/abslink", tmpdir);
	sh("mkfifo %s/fifo && ln %s/one %s/dir/hardlink-to-one", tmpdir);
	sh("chmod 4751 %s/three && touch -d @1234567890 %s/two", tmpdir);
	/* A long name: 200 bytes. */
	sh("touch %s/dir/aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	   "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	   "aaaaaaaaaaaaaaaaaaaaaaaa", tmpdir);
	/* Device nodes need root; skipped (and not checked) otherwise. */
	sh("mknod %s/chardev c 1 3 2>/dev/null; true", tmpdir);
}

/* Compares every archive entry with lstat() of the real file. */
static void check_against_tree(const struct buf *b, const char *format)
{
	struct cpio_iter it;
	struct cpio_entry e;
	int r, n = 0, seen_link = 0, seen_fifo = 0, seen_random = 0, hard = 0;
	cpio_iter_init(&it, b->p, b->len);
	while ((r = cpio_next(&it, &e)) > 0) {
		n++;
		CHECK(e.name[e.namelen] == 0 && strlen(e.name) == e.namelen);
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", tmpdir, e.name);
		struct stat st;
		CHECK(lstat(path, &st) == 0);
		CHECK(e.mode == st.st_mode);
		CHECK(e.uid == st.st_uid && e.gid == st.st_gid);
		CHECK(e.mtime == (uint32_t)st.st_mtime);
		CHECK(e.ino == (uint32_t)st.st_ino);
		CHECK(e.nlink == st.st_nlink);
		if (S_ISREG(st.st_mode)) {
			/* GNU cpio newc: every link but the last of a hard-link set has
			 * no data. */
			if (st.st_nlink > 1 && e.size == 0) {
				hard++;
			} else {
				CHECK(e.size == st.st_size);
				FILE *f = fopen(path, "rb");
				unsigned char *d = malloc(e.size + 1);
				CHECK(fread(d, 1, e.size + 1, f) == e.size);
				CHECK(memcmp(d, e.data, e.size) == 0);
				free(d);
				fclose(f);
			}
			if (strstr(e.name, "random.bin"))
				seen_random = 1;
		} else if (S_ISLNK(st.st_mode)) {
			char t[256];
			ssize_t tl = readlink(path, t, sizeof(t));
			CHECK(tl == (ssize_t)e.size && memcmp(t, e.data, e.size) == 0);
			seen_link++;
		} else if (S_ISFIFO(st.st_mode)) {
			seen_fifo = 1;
			CHECK(cpio_is_reg(&e) == false && e.size == 0);
		} else if (S_ISCHR(st.st_mode)) {
			CHECK(e.rdevmajor == 1 && e.rdevminor == 3);
		} else if (S_ISDIR(st.st_mode)) {
			CHECK(cpio_is_dir(&e));
		}
		CHECK(((uintptr_t)e.data - (uintptr_t)b->p) % 4 == 0);
	}
	if (r != 0)
		fprintf(stderr, "%s: %s at %zu\n", format, it.err, it.err_offset);
	CHECK(r == 0);
	CHECK(n >= 15);
	CHECK(seen_link == 2 && seen_fifo && seen_random);
	CHECK(hard == 1);
	CHECK(it.archives == 1);
}

/* Every prefix of a valid archive must fail cleanly up to the end of the
 * trailer (its padded name) and succeed from there on. */
static void truncations(const struct buf *b)
{
	size_t trailer_end = 0;
	for (size_t i = 0; i + 11 <= b->len; i++)
		if (!memcmp(b->p + i, "TRAILER!!!", 11)) {
			trailer_end = (i + 11 + 3) & ~(size_t)3;
			break;
		}
	CHECK(trailer_end > 0);
	int bad = 0;
	for (size_t len = 0; len <= b->len; len++) {
		int r = walk(b->p, len, NULL, NULL);
		if (r != (len < trailer_end ? -1 : 0))
			bad++;
	}
	CHECK(bad == 0);
}

/* --- corruption cases, hand-made ------------------------------------------- */

static struct buf small_archive(void)
{
	struct buf b = { 0 };
	entry(&b, "070701", "dir", 040755, 1, 2, "", 0);
	entry(&b, "070701", "dir/file", 0100644, 2, 1, "hello", 5);
	entry(&b, "070701", "dir/link", 0120777, 3, 1, "file", 4);
	entry(&b, "070701", "x", 0100755, 4, 1, "1234567", 7);
	trailer(&b);
	return b;
}

static const char *err_of(const void *p, size_t len, size_t *off)
{
	struct cpio_iter it;
	int r = walk(p, len, NULL, &it);
	if (r != -1)
		return NULL;
	if (off)
		*off = it.err_offset;
	return it.err;
}

static void corruptions(void)
{
	struct buf good = small_archive();
	int n;
	CHECK(walk(good.p, good.len, &n, NULL) == 0 && n == 4);

	/* The entries, as parsed. */
	struct cpio_iter it;
	struct cpio_entry e;
	cpio_iter_init(&it, good.p, good.len);
	CHECK(cpio_next(&it, &e) == 1 && !strcmp(e.name, "dir") && cpio_is_dir(&e) && e.offset == 0);
	CHECK(cpio_next(&it, &e) == 1 && !strcmp(e.name, "dir/file") && e.size == 5 &&
	      !memcmp(e.data, "hello", 5) && e.uid == 1000 && e.gid == 100 &&
	      e.mtime == 1700000000 && e.devmajor == 8 && e.devminor == 1 && e.ino == 2);
	CHECK(cpio_next(&it, &e) == 1 && cpio_is_symlink(&e) && e.size == 4);
	CHECK(cpio_next(&it, &e) == 1 && e.mode == 0100755 && e.size == 7);
	CHECK(cpio_next(&it, &e) == 0);
	CHECK(cpio_next(&it, &e) == 0);   /* the end stays the end */

	struct buf c = { 0 };
	size_t off;
	const char *why;

	/* Bad magic, and the two older cpio formats named. */
	put(&c, good.p, good.len);
	memcpy(c.p, "070703", 6);
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "bad magic") && off == 0);
	memcpy(c.p, "070707", 6);
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "odc"));
	c.p[0] = 0xc7; c.p[1] = 0x71;
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "binary"));

	/* A bad hex digit in each of the 13 fields names the field and offset. */
	for (int f = 0; f < F_COUNT; f++) {
		memcpy(c.p, good.p, good.len);
		c.p[6 + 8 * f + 3] = 'g';
		why = err_of(c.p, c.len, &off);
		CHECK(why && strstr(why, "bad hex digit") && off == (size_t)(6 + 8 * f + 3));
	}
	/* Lower-case hex is fine. */
	memcpy(c.p, good.p, good.len);
	memcpy(c.p + 6 + 8 * F_MODE, "000041ed", 8);
	CHECK(walk(c.p, c.len, &n, NULL) == 0 && n == 4);

	/* Name size 0, too big for the buffer, over 4096, no NUL, inner NUL. */
	memcpy(c.p, good.p, good.len);
	memcpy(c.p + 6 + 8 * F_NAMESIZE, "00000000", 8);
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "c_namesize is 0"));
	memcpy(c.p + 6 + 8 * F_NAMESIZE, "00001000", 8);
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "truncated") && off == CPIO_NEWC_HDR_SIZE);
	memcpy(c.p + 6 + 8 * F_NAMESIZE, "00001001", 8);
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "longer than 4096"));
	memcpy(c.p + 6 + 8 * F_NAMESIZE, "FFFFFFFF", 8);
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "longer than 4096"));
	memcpy(c.p + 6 + 8 * F_NAMESIZE, "00000003", 8);   /* "di" + 'r' where NUL should be */
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "not NUL-terminated") && off == CPIO_NEWC_HDR_SIZE + 2);
	memcpy(c.p + 6 + 8 * F_NAMESIZE, "00000005", 8);   /* covers "dir\0" + a pad NUL */
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "NUL byte inside"));

	/* File size past the end, and just past the next header (desync). */
	memcpy(c.p, good.p, good.len);
	memcpy(c.p + 6 + 8 * F_FILESIZE, "7FFFFFFF", 8);
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "inside file data"));
	memcpy(c.p + 6 + 8 * F_FILESIZE, "FFFFFFFF", 8);
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "inside file data"));
	memcpy(c.p + 6 + 8 * F_FILESIZE, "00000004", 8);   /* swallows the next magic */
	why = err_of(c.p, c.len, &off);
	CHECK(why && strstr(why, "bad magic") && off == 116 + 4);

	/* No trailer: the end of the buffer inside an archive is an error. */
	size_t no_trailer = good.len - 124;
	why = err_of(good.p, no_trailer, &off);
	CHECK(why && strstr(why, "no TRAILER") && off == no_trailer);

	/* Empty buffer, all zeros: no archive at all. */
	why = err_of("", 0, &off);
	CHECK(why && strstr(why, "empty archive"));
	unsigned char zeros[1024] = { 0 };
	why = err_of(zeros, sizeof(zeros), &off);
	CHECK(why && strstr(why, "empty archive"));

	/* A trailer alone is a valid, empty archive. */
	struct buf t = { 0 };
	trailer(&t);
	CHECK(walk(t.p, t.len, &n, NULL) == 0 && n == 0);

	/* Concatenated archives, with zero padding between (as the kernel does
	 * with 512-byte blocks), are one stream; a misaligned second header or
	 * junk after a trailer is an error. */
	struct buf cat = { 0 };
	put(&cat, good.p, good.len);
	put(&cat, zeros, 512 - (cat.len % 512));
	put(&cat, good.p, good.len);
	put(&cat, zeros, 100);
	CHECK(walk(cat.p, cat.len, &n, &it) == 0 && n == 8 && it.archives == 2);
	struct buf mis = { 0 };
	put(&mis, good.p, good.len);
	put(&mis, zeros, 2);
	put(&mis, good.p, good.len);
	why = err_of(mis.p, mis.len, &off);
	CHECK(why && strstr(why, "aligned") && off == good.len + 2);
	struct buf junk = { 0 };
	put(&junk, good.p, good.len);
	put(&junk, "junkjunk", 8);
	why = err_of(junk.p, junk.len, &off);
	CHECK(why && off == good.len);

	/* 070702: the checksum is verified for regular files. */
	struct buf crc = { 0 };
	entry(&crc, "070702", "f", 0100644, 1, 1, "checksummed", 11);
	entry(&crc, "070702", "d", 040755, 2, 2, "", 0);
	trailer(&crc);
	CHECK(walk(crc.p, crc.len, &n, NULL) == 0 && n == 2);
	crc.p[CPIO_NEWC_HDR_SIZE + 4] ^= 1;
	why = err_of(crc.p, crc.len, &off);
	CHECK(why && strstr(why, "checksum") && off == CPIO_NEWC_HDR_SIZE + 2);

	/* Every prefix of the hand-made archive. */
	truncations(&good);

	free(good.p); free(c.p); free(t.p); free(cat.p); free(mis.p); free(junk.p); free(crc.p);
}

/* Random byte flips in a valid archive: any outcome but a crash or an
 * out-of-bounds read (ASan) is fine. */
static void fuzz(void)
{
	struct buf good = small_archive();
	unsigned seed = 12345;
	int ok = 0, err = 0;
	for (int round = 0; round < 20000; round++) {
		unsigned char *c = malloc(good.len);
		memcpy(c, good.p, good.len);
		int flips = 1 + round % 4;
		for (int k = 0; k < flips; k++) {
			seed = seed * 1103515245 + 12345;
			size_t at = (seed >> 8) % good.len;
			seed = seed * 1103515245 + 12345;
			static const char alphabet[] = "0123456789abcdefABCDEF\0xG!";
			c[at] = (seed >> 16) & 1 ? (unsigned char)(seed >> 3)
					      : (unsigned char)alphabet[(seed >> 4) % (sizeof(alphabet) - 1)];
		}
		size_t len = good.len - (round % 7 == 0 ? (seed >> 5) % good.len : 0);
		if (walk(c, len, NULL, NULL) == 0)
			ok++;
		else
			err++;
		free(c);
	}
	CHECK(ok + err == 20000);
	CHECK(err > 0);
	free(good.p);
}

int main(void)
{
	make_tree();
	struct buf newc = run_cpio("newc");
	CHECK(newc.len > 70000 && newc.len % 512 == 0 && !memcmp(newc.p, "070701", 6));
	check_against_tree(&newc, "newc");
	struct buf crc = run_cpio("crc");
	CHECK(crc.len > 70000 && !memcmp(crc.p, "070702", 6));
	check_against_tree(&crc, "crc");

	/* Truncations of a small GNU cpio archive, at every byte. */
	strcat(tmpdir, "/dir/sub/deeper");
	sh("printf 'tiny file' > %s/t && ln -s t %s/l", tmpdir);
	struct buf small = run_cpio("newc");
	tmpdir[strlen(tmpdir) - strlen("/dir/sub/deeper")] = 0;
	int n;
	CHECK(walk(small.p, small.len, &n, NULL) == 0 && n == 3);
	truncations(&small);

	corruptions();
	fuzz();

	sh("rm -rf %s", tmpdir);
	free(newc.p);
	free(crc.p);
	free(small.p);
	return CHECK_SUMMARY();
}
