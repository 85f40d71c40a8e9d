/* Unit tests for kernel/fs/ext2/: images made by the host's mke2fs -d,
 * read and changed through the module over a small write-back block cache
 * on the image file, then checked by the host's e2fsck -fn (must be clean)
 * and debugfs (must show what was written). Block sizes 1 KiB and 4 KiB,
 * inode sizes 128 and 256, a hashed directory, ENOSPC, bad images. */
#include "../../kernel/fs/ext2/ext2.c"
#include "../../kernel/fs/ext2/ext2_file.c"
#include "../../kernel/fs/ext2/ext2_dir.c"

#include "check.h"

#include <fcntl.h>
#include <stdarg.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

/* --- the host's "disk": an image file under a write-back cache ------------------- */
struct cblk {
	uint32_t blk;
	uint32_t size;
	bool dirty, held;
	uint8_t *data;
	struct cblk *next;
	unsigned long stamp;
};

#define CBUCKETS 1024
struct hdev {
	int fd;
	uint64_t size;
	struct cblk *b[CBUCKETS];
	unsigned ncached;
	unsigned long clock;
	unsigned syncs;
	bool fail_writes;
};

static char last_log[256];

static int h_read_super(void *ctx, void *buf)
{
	struct hdev *d = ctx;
	ssize_t n = pread(d->fd, buf, 1024, 1024);
	return n == 1024 ? 0 : -EIO;
}

static int writeback(struct hdev *d, struct cblk *c)
{
	if (!c->dirty)
		return 0;
	if (d->fail_writes)
		return -EIO;
	ssize_t n = pwrite(d->fd, c->data, c->size, (off_t)c->blk * c->size);
	if (n != (ssize_t)c->size)
		return -EIO;
	c->dirty = false;
	return 0;
}

/* Keeps at most 200 unheld blocks, so data really goes to the file and
 * comes back from it. */
static void evict(struct hdev *d)
{
	while (d->ncached > 200) {
		struct cblk **victim = NULL;
		for (int h = 0; h < CBUCKETS; h++)
			for (struct cblk **p = &d->b[h]; *p; p = &(*p)->next)
				if (!(*p)->held && (!victim || (*p)->stamp < (*victim)->stamp))
					victim = p;
		if (!victim)
			return;
		struct cblk *c = *victim;
		if (writeback(d, c) < 0)
			return;
		*victim = c->next;
		free(c->data);
		free(c);
		d->ncached--;
	}
}

static void *h_get(void *ctx, uint32_t blk, uint32_t bsize, bool read, void **handle, int *err)
{
	struct hdev *d = ctx;
	struct cblk *c;
	for (c = d->b[blk % CBUCKETS]; c; c = c->next)
		if (c->blk == blk)
			break;
	if (c) {
		if (c->held) {
			fprintf(stderr, "test_ext2: block %u taken twice\n", blk);
			abort();
		}
		if (c->size != bsize)
			abort();
	} else {
		if ((uint64_t)(blk + 1) * bsize > d->size) {
			*err = -EIO;
			return NULL;
		}
		c = calloc(1, sizeof(*c));
		c->data = malloc(bsize);
		c->blk = blk;
		c->size = bsize;
		if (read) {
			if (pread(d->fd, c->data, bsize, (off_t)blk * bsize) != (ssize_t)bsize) {
				free(c->data);
				free(c);
				*err = -EIO;
				return NULL;
			}
		} else {
			memset(c->data, 0xa5, bsize);   /* "undefined": the caller overwrites */
		}
		c->next = d->b[blk % CBUCKETS];
		d->b[blk % CBUCKETS] = c;
		d->ncached++;
	}
	c->held = true;
	c->stamp = ++d->clock;
	*handle = c;
	return c->data;
}

static void h_dirty(void *ctx, void *h)
{
	(void)ctx;
	struct cblk *c = h;
	if (!c->held)
		abort();
	c->dirty = true;
}

static void h_put(void *ctx, void *h)
{
	struct cblk *c = h;
	if (!c->held)
		abort();
	c->held = false;
	evict(ctx);
}

static int h_sync(void *ctx)
{
	struct hdev *d = ctx;
	d->syncs++;
	for (int h = 0; h < CBUCKETS; h++)
		for (struct cblk *c = d->b[h]; c; c = c->next) {
			if (c->held)
				abort();
			int r = writeback(d, c);
			if (r < 0)
				return r;
		}
	return 0;
}

static int64_t fake_time = 1700000000;

static void h_now(void *ctx, int64_t *sec, int64_t *nsec)
{
	(void)ctx;
	*sec = fake_time++;
	*nsec = 123456789;
}

static void h_log(void *ctx, int level, const char *msg)
{
	(void)ctx;
	snprintf(last_log, sizeof(last_log), "%s", msg);
	if (getenv("EXT2_TEST_VERBOSE"))
		fprintf(stderr, "[%d] %s\n", level, msg);
}

static void hdev_close(struct hdev *d)
{
	for (int h = 0; h < CBUCKETS; h++)
		while (d->b[h]) {
			struct cblk *c = d->b[h];
			d->b[h] = c->next;
			free(c->data);
			free(c);
		}
	close(d->fd);
	free(d);
}

static struct ext2_io io_for(const char *img, struct hdev **out)
{
	struct hdev *d = calloc(1, sizeof(*d));
	d->fd = open(img, O_RDWR);
	struct stat st;
	fstat(d->fd, &st);
	d->size = (uint64_t)st.st_size;
	*out = d;
	struct ext2_io io = {
		.ctx = d, .size = d->size, .read_super = h_read_super, .get = h_get,
		.dirty = h_dirty, .put = h_put, .sync = h_sync, .now = h_now, .log = h_log,
	};
	return io;
}

/* --- helpers ------------------------------------------------------------------------ */
static int sh(const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	int r = system(cmd);
	return WIFEXITED(r) ? WEXITSTATUS(r) : -1;
}

/* Output of a command (at most len-1 bytes). */
static char *sh_out(char *buf, size_t len, const char *fmt, ...)
{
	char cmd[2048];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	FILE *p = popen(cmd, "r");
	size_t n = p ? fread(buf, 1, len - 1, p) : 0;
	buf[n] = 0;
	if (p)
		pclose(p);
	return buf;
}

static bool fsck_clean(const char *img)
{
	int r = sh("e2fsck -fn %s > %s/fsck.out 2>&1", img, tmpdir);
	if (r != 0)
		sh("cat %s/fsck.out >&2", tmpdir);
	return r == 0;
}

/* debugfs -R 'cat PATH' equals data. */
static bool debugfs_cat_is(const char *img, const char *path, const void *data, size_t len)
{
	char out[512];
	snprintf(out, sizeof(out), "%s/cat.out", tmpdir);
	sh("debugfs -R 'cat %s' %s > %s 2>/dev/null", path, img, out);
	FILE *f = fopen(out, "rb");
	if (!f)
		return false;
	char *buf = malloc(len + 16);
	size_t n = fread(buf, 1, len + 16, f);
	fclose(f);
	bool ok = n == len && !memcmp(buf, data, len);
	if (!ok)
		fprintf(stderr, "debugfs cat %s: %zu bytes, want %zu\n", path, n, len);
	free(buf);
	return ok;
}

static uint32_t walk(struct ext2_fs *fs, const char *path)
{
	uint32_t ino = EXT2_ROOT_INO;
	while (*path) {
		while (*path == '/')
			path++;
		if (!*path)
			break;
		const char *e = strchr(path, '/');
		size_t len = e ? (size_t)(e - path) : strlen(path);
		struct ext2_node *d;
		if (ext2_iget(fs, ino, &d) < 0)
			return 0;
		int r = ext2_lookup(fs, d, path, len, &ino);
		ext2_iput(fs, d);
		if (r < 0)
			return 0;
		path += len;
	}
	return ino;
}

static struct ext2_node *node_at(struct ext2_fs *fs, const char *path)
{
	uint32_t ino = walk(fs, path);
	struct ext2_node *n = NULL;
	if (!ino || ext2_iget(fs, ino, &n) < 0)
		return NULL;
	return n;
}

static void fill_pattern(uint8_t *p, size_t len, unsigned seed)
{
	uint32_t x = seed * 2654435761u + 1;
	for (size_t i = 0; i < len; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		p[i] = (uint8_t)x;
	}
}

static bool host_file_is(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return false;
	char *buf = malloc(len + 1);
	size_t n = fread(buf, 1, len + 1, f);
	fclose(f);
	bool ok = n == len && !memcmp(buf, data, len);
	free(buf);
	return ok;
}

struct names {
	char list[64][64];
	int n;
};

static int collect(void *ctx, const char *name, size_t len, uint32_t ino, unsigned dtype,
		   uint64_t next)
{
	(void)ino;
	(void)dtype;
	(void)next;
	struct names *ns = ctx;
	if (ns->n < 64)
		snprintf(ns->list[ns->n], 64, "%.*s", (int)len, name);
	ns->n++;
	return 0;
}

static bool has_name(const struct names *ns, const char *name)
{
	for (int i = 0; i < ns->n && i < 64; i++)
		if (!strcmp(ns->list[i], name))
			return true;
	return false;
}

static int mount_img(const char *img, unsigned flags, struct ext2_fs **fs, struct hdev **d,
		     char *msg, size_t msglen)
{
	struct ext2_io io = io_for(img, d);
	int r = ext2_mount(&io, flags, fs, msg, msglen);
	if (r < 0) {
		hdev_close(*d);
		*d = NULL;
	}
	return r;
}

/* --- the source tree mke2fs -d packs --------------------------------------------------- */
#define BIG_LEN (300 * 1024 + 77)      /* double indirect with 1 KiB blocks */

static void make_tree(const char *src)
{
	sh("rm -rf %s && mkdir -p %s/sub/deeper %s/many", src, src, src);
	char p[512];
	snprintf(p, sizeof(p), "%s/hello.txt", src);
	FILE *f = fopen(p, "w");
	fputs("hello, ext2\n", f);
	fclose(f);
	uint8_t *big = malloc(BIG_LEN);
	fill_pattern(big, BIG_LEN, 7);
	snprintf(p, sizeof(p), "%s/sub/big.bin", src);
	f = fopen(p, "wb");
	fwrite(big, 1, BIG_LEN, f);
	fclose(f);
	free(big);
	sh("truncate -s 5M %s/sparse && printf tail >> %s/sparse", src, src);
	sh("ln -s hello.txt %s/fast", src);
	sh("ln -s %s %s/slow", "/a/very/long/symlink/target/that/does/not/fit/in/the/sixty/bytes/of/i_block", src);
	sh("ln %s/hello.txt %s/sub/hardlink", src, src);
	sh("for i in $(seq 0 149); do echo file$i > %s/many/entry-with-a-longish-name-$(printf %%03d $i); done", src);
	sh("echo deep > %s/sub/deeper/leaf", src);
}

/* --- tests ----------------------------------------------------------------------------- */

static void test_read(const char *img, const char *src)
{
	struct ext2_fs *fs;
	struct hdev *d;
	char msg[200];
	CHECK(mount_img(img, EXT2_MOUNT_RDONLY, &fs, &d, msg, sizeof(msg)) == 0);
	if (!fs)
		return;
	char buf[256];
	struct ext2_node *n = node_at(fs, "/hello.txt");
	CHECK(n && ext2_read(fs, n, 0, buf, sizeof(buf)) == 12 && !memcmp(buf, "hello, ext2\n", 12));
	CHECK(n && ext2_node_nlink(n) == 2);
	ext2_iput(fs, n);

	n = node_at(fs, "/sub/big.bin");
	CHECK(n && ext2_node_size(n) == BIG_LEN);
	if (n) {
		uint8_t *want = malloc(BIG_LEN), *got = malloc(BIG_LEN + 100);
		fill_pattern(want, BIG_LEN, 7);
		CHECK(ext2_read(fs, n, 0, got, BIG_LEN + 100) == BIG_LEN);
		CHECK(!memcmp(want, got, BIG_LEN));
		/* Unaligned reads across block and indirect boundaries. */
		CHECK(ext2_read(fs, n, 12 * 1024 - 3, got, 10) == 10 && !memcmp(got, want + 12 * 1024 - 3, 10));
		CHECK(ext2_read(fs, n, BIG_LEN - 5, got, 100) == 5);
		CHECK(ext2_read(fs, n, BIG_LEN, got, 100) == 0);
		free(want);
		free(got);
		ext2_iput(fs, n);
	}
	n = node_at(fs, "/sparse");
	CHECK(n && ext2_node_size(n) == 5 * 1024 * 1024 + 4);
	if (n) {
		static uint8_t zero[4096], got[4096];
		CHECK(ext2_read(fs, n, 1 << 20, got, sizeof(got)) == sizeof(got) && !memcmp(got, zero, sizeof(got)));
		CHECK(ext2_read(fs, n, 5 << 20, got, 10) == 4 && !memcmp(got, "tail", 4));
		CHECK(ext2_node_blocks(n) < 64);    /* holes are not allocated */
		CHECK(ext2_seek_data(fs, n, 0, true) >= 5 * 1024 * 1024 - 4096);
		CHECK(ext2_seek_data(fs, n, 0, false) == 0);
		ext2_iput(fs, n);
	}
	n = node_at(fs, "/fast");
	CHECK(n && ext2_readlink(fs, n, buf, sizeof(buf)) == 9 && !memcmp(buf, "hello.txt", 9));
	ext2_iput(fs, n);
	n = node_at(fs, "/slow");
	const char *slow = "/a/very/long/symlink/target/that/does/not/fit/in/the/sixty/bytes/of/i_block";
	CHECK(n && ext2_readlink(fs, n, buf, sizeof(buf)) == (ssize_t)strlen(slow) &&
	      !memcmp(buf, slow, strlen(slow)));
	ext2_iput(fs, n);
	CHECK(walk(fs, "/sub/hardlink") == walk(fs, "/hello.txt"));
	CHECK(walk(fs, "/sub/deeper/..") == walk(fs, "/sub"));
	CHECK(walk(fs, "/..") == EXT2_ROOT_INO);
	CHECK(walk(fs, "/nope") == 0);

	n = node_at(fs, "/many");
	struct names ns = { .n = 0 };
	uint64_t cookie = 0;
	CHECK(n && ext2_readdir(fs, n, &cookie, collect, &ns) == 0);
	CHECK(ns.n == 152 && has_name(&ns, ".") && has_name(&ns, ".."));
	ext2_iput(fs, n);
	n = node_at(fs, "/many/entry-with-a-longish-name-149");
	CHECK(n && ext2_read(fs, n, 0, buf, sizeof(buf)) == 8 && !memcmp(buf, "file149\n", 8));
	ext2_iput(fs, n);
	/* Read-only: writes refused. */
	n = node_at(fs, "/");
	struct ext2_node *c = NULL;
	CHECK(ext2_create(fs, n, "x", 1, E2_S_IFREG | 0644, 0, 0, 0, 0, &c) == -EROFS);
	ext2_iput(fs, n);
	(void)src;
	CHECK(ext2_unmount(fs) == 0);
	hdev_close(d);
}

/* Every kind of change, then e2fsck and debugfs. */
static void test_write(const char *img, uint32_t bsize)
{
	struct ext2_fs *fs;
	struct hdev *d;
	char msg[200];
	CHECK(mount_img(img, 0, &fs, &d, msg, sizeof(msg)) == 0);
	if (!fs)
		return;
	/* Mounted read-write: the superblock says "not clean" on disk. */
	char out[4096];
	sh_out(out, sizeof(out), "dumpe2fs -h %s 2>/dev/null | grep '^Filesystem state'", img);
	CHECK(strstr(out, "not clean") != NULL);

	struct ext2_node *root = node_at(fs, "/"), *n = NULL, *dir = NULL;
	CHECK(root != NULL);
	/* create + write, several sizes */
	CHECK(ext2_create(fs, root, "new.txt", 7, E2_S_IFREG | 0640, 0, 0, 1000, 1000, &n) == 0);
	CHECK(ext2_write(fs, n, 0, "guest data\n", 11) == 11);
	CHECK(ext2_create(fs, root, "new.txt", 7, E2_S_IFREG | 0640, 0, 0, 0, 0, &dir) == -EEXIST);
	ext2_iput(fs, n);

	size_t blen = 2 * 1024 * 1024 + 333;
	uint8_t *big = malloc(blen), *got = malloc(blen);
	fill_pattern(big, blen, 42);
	CHECK(ext2_create(fs, root, "big2", 4, E2_S_IFREG | 0644, 0, 0, 0, 0, &n) == 0);
	/* in odd pieces, to cross block and indirect boundaries unaligned */
	size_t done = 0, step = 1;
	while (done < blen) {
		size_t k = E2_MIN(step, blen - done);
		CHECK(ext2_write(fs, n, done, big + done, k) == (ssize_t)k);
		done += k;
		step = step * 3 + 7;
		if (step > 300000)
			step = 1;
	}
	CHECK(ext2_node_size(n) == blen);
	CHECK(ext2_read(fs, n, 0, got, blen) == (ssize_t)blen && !memcmp(got, big, blen));
	ext2_iput(fs, n);

	/* sparse: a write far out (triple indirect with 1 KiB blocks) */
	uint64_t far = bsize == 1024 ? 70ull << 20 : 5ull << 30;
	CHECK(ext2_create(fs, root, "holes", 5, E2_S_IFREG | 0644, 0, 0, 0, 0, &n) == 0);
	CHECK(ext2_write(fs, n, far, "far", 3) == 3);
	CHECK(ext2_write(fs, n, 100, "near", 4) == 4);
	CHECK(ext2_node_size(n) == far + 3);
	char b8[8];
	CHECK(ext2_read(fs, n, far - 2, b8, 8) == 5 && !memcmp(b8, "\0\0far", 5));
	CHECK(ext2_node_blocks(n) <= 5 * (bsize / 512));
	ext2_iput(fs, n);

	/* truncate: shrink across the indirect blocks, extend, tail zeroed */
	n = node_at(fs, "/sub/big.bin");
	CHECK(n && ext2_truncate(fs, n, 5000) == 0);
	CHECK(n && ext2_truncate(fs, n, 9000) == 0);
	uint8_t t[9000], want[9000];
	fill_pattern(want, BIG_LEN > 9000 ? 9000 : 0, 7);
	memset(want + 5000, 0, 4000);
	CHECK(n && ext2_read(fs, n, 0, t, sizeof(t)) == 9000 && !memcmp(t, want, 9000));
	ext2_iput(fs, n);

	/* mkdir, files inside, rmdir */
	CHECK(ext2_create(fs, root, "d1", 2, E2_S_IFDIR | 0755, 0, 0, 0, 0, &dir) == 0);
	uint32_t rootlinks = ext2_node_nlink(root);
	for (int i = 0; i < 80; i++) {
		char name[64];
		int len = snprintf(name, sizeof(name), "f-%d-xxxxxxxxxxxxxxxxxxxxxxxx", i);
		CHECK(ext2_create(fs, dir, name, (size_t)len, E2_S_IFREG | 0644, 0, 0, 0, 0, &n) == 0);
		CHECK(ext2_write(fs, n, 0, name, (size_t)len) == len);
		ext2_iput(fs, n);
	}
	for (int i = 0; i < 80; i += 2) {
		char name[64];
		int len = snprintf(name, sizeof(name), "f-%d-xxxxxxxxxxxxxxxxxxxxxxxx", i);
		CHECK(ext2_unlink(fs, dir, name, (size_t)len, false) == 0);
	}
	CHECK(ext2_unlink(fs, dir, "nope", 4, false) == -ENOENT);
	CHECK(ext2_create(fs, dir, "sd", 2, E2_S_IFDIR | 0700, 0, 0, 0, 0, &n) == 0);
	CHECK(ext2_node_nlink(dir) == 3);
	ext2_iput(fs, n);
	CHECK(ext2_unlink(fs, root, "d1", 2, true) == -ENOTEMPTY);
	CHECK(ext2_unlink(fs, root, "d1", 2, false) == -EISDIR);
	CHECK(ext2_unlink(fs, dir, "sd", 2, true) == 0);
	CHECK(ext2_node_nlink(dir) == 2);
	CHECK(ext2_create(fs, root, "d2", 2, E2_S_IFDIR | 0755, 0, 0, 0, 0, &n) == 0);
	CHECK(ext2_node_nlink(root) == rootlinks + 1);
	CHECK(ext2_unlink(fs, root, "d2", 2, true) == 0);
	CHECK(ext2_node_nlink(root) == rootlinks);
	ext2_iput(fs, n);     /* removed while referenced: freed now */

	/* symlinks, hard links, devices, fifo */
	const char *longt = "/some/long/target/path/that/needs/a/block/of/its/own/because/it/is/long";
	CHECK(ext2_symlink(fs, dir, "ln-fast", 7, "f-1-xxxxxxxxxxxxxxxxxxxxxxxx", 28, 0, 0, &n) == 0);
	ext2_iput(fs, n);
	CHECK(ext2_symlink(fs, dir, "ln-slow", 7, longt, strlen(longt), 0, 0, &n) == 0);
	ext2_iput(fs, n);
	n = node_at(fs, "/new.txt");
	CHECK(ext2_link(fs, dir, "hard", 4, n) == 0 && ext2_node_nlink(n) == 2);
	CHECK(ext2_link(fs, root, "d1", 2, n) == -EEXIST);
	CHECK(ext2_link(fs, root, "dirlink", 7, dir) == -EPERM);
	ext2_iput(fs, n);
	CHECK(ext2_create(fs, dir, "null", 4, E2_S_IFCHR | 0666, 1, 3, 0, 0, &n) == 0);
	ext2_iput(fs, n);
	CHECK(ext2_create(fs, dir, "fifo", 4, E2_S_IFIFO | 0600, 0, 0, 0, 0, &n) == 0);
	ext2_iput(fs, n);
	n = node_at(fs, "/d1/null");
	uint32_t maj, min;
	ext2_node_rdev(n, &maj, &min);
	CHECK(maj == 1 && min == 3);
	ext2_iput(fs, n);

	/* rename: plain, over a file, a directory across, exchange */
	CHECK(ext2_rename(fs, root, "new.txt", 7, root, "renamed.txt", 11, 0) == 0);
	CHECK(walk(fs, "/new.txt") == 0 && walk(fs, "/renamed.txt") != 0);
	CHECK(ext2_rename(fs, dir, "f-1-xxxxxxxxxxxxxxxxxxxxxxxx", 28, dir, "f-3-xxxxxxxxxxxxxxxxxxxxxxxx", 28, 0) == 0);
	n = node_at(fs, "/d1/f-3-xxxxxxxxxxxxxxxxxxxxxxxx");
	CHECK(n && ext2_read(fs, n, 0, b8, 3) == 3 && !memcmp(b8, "f-1", 3));
	ext2_iput(fs, n);
	CHECK(ext2_rename(fs, root, "sub", 3, dir, "moved", 5, 0) == 0);
	CHECK(walk(fs, "/d1/moved/deeper/..") == walk(fs, "/d1/moved"));
	CHECK(walk(fs, "/d1/moved/..") == walk(fs, "/d1"));
	CHECK(ext2_node_nlink(dir) == 3 && ext2_node_nlink(root) == rootlinks - 1);
	CHECK(ext2_rename(fs, root, "hello.txt", 9, dir, "moved", 5, 0) == -EISDIR);
	CHECK(ext2_rename(fs, root, "hello.txt", 9, dir, "hard", 4, EXT2_RENAME_NOREPLACE) == -EEXIST);
	CHECK(ext2_rename(fs, root, "fast", 4, dir, "moved", 5, EXT2_RENAME_EXCHANGE) == 0);
	CHECK(walk(fs, "/fast/..") == EXT2_ROOT_INO);
	CHECK(ext2_node_nlink(dir) == 2 && ext2_node_nlink(root) == rootlinks);
	n = node_at(fs, "/d1/moved");
	CHECK(n && ext2_readlink(fs, n, b8, 8) == 8 && !memcmp(b8, "hello.tx", 8));
	ext2_iput(fs, n);
	CHECK(ext2_rename(fs, root, "fast", 4, dir, "moved", 5, EXT2_RENAME_EXCHANGE) == 0);
	CHECK(walk(fs, "/d1/moved/..") == walk(fs, "/d1"));

	/* attributes */
	n = node_at(fs, "/renamed.txt");
	ext2_node_set_mode(fs, n, 0600);
	ext2_node_set_owner(fs, n, 70000, 5);
	ext2_node_set_time(fs, n, EXT2_MTIME, 1234567890, 500);
	ext2_iput(fs, n);

	/* unlink while "open": stays readable until put */
	n = node_at(fs, "/d1/f-5-xxxxxxxxxxxxxxxxxxxxxxxx");
	CHECK(ext2_unlink(fs, dir, "f-5-xxxxxxxxxxxxxxxxxxxxxxxx", 28, false) == 0);
	CHECK(n && ext2_node_nlink(n) == 0 && ext2_read(fs, n, 0, b8, 3) == 3);
	ext2_iput(fs, n);

	ext2_iput(fs, dir);
	ext2_iput(fs, root);
	struct ext2_statfs st;
	ext2_statfs(fs, &st);
	CHECK(st.bsize == bsize && st.bfree < st.blocks);
	CHECK(ext2_unmount(fs) == 0);
	hdev_close(d);

	CHECK(fsck_clean(img));
	sh_out(out, sizeof(out), "dumpe2fs -h %s 2>/dev/null | grep '^Filesystem state'", img);
	CHECK(strstr(out, "clean") && !strstr(out, "not clean"));
	CHECK(debugfs_cat_is(img, "/renamed.txt", "guest data\n", 11));
	CHECK(debugfs_cat_is(img, "/d1/hard", "guest data\n", 11));
	CHECK(debugfs_cat_is(img, "/big2", big, blen));
	CHECK(debugfs_cat_is(img, "/d1/moved/deeper/leaf", "deep\n", 5));
	sh_out(out, sizeof(out), "debugfs -R 'stat /renamed.txt' %s 2>/dev/null", img);
	CHECK(strstr(out, "User: 70000") && strstr(out, "Mode:  0600"));
	sh_out(out, sizeof(out), "debugfs -R 'stat /d1/ln-slow' %s 2>/dev/null", img);
	CHECK(strstr(out, "Type: symlink") != NULL);
	sh_out(out, sizeof(out), "debugfs -R 'ls -l /d1' %s 2>/dev/null", img);
	CHECK(strstr(out, "f-79-") && !strstr(out, "f-78-") && strstr(out, "fifo") && strstr(out, "null"));
	/* The far block through debugfs's block map, read from the image. */
	sh_out(out, sizeof(out), "debugfs -R 'bmap /holes %llu' %s 2>/dev/null",
	       (unsigned long long)(far / bsize), img);
	long pblk = atol(out);
	CHECK(pblk > 0);
	sh_out(out, sizeof(out), "dd if=%s bs=1 skip=%llu count=3 2>/dev/null", img,
	       (unsigned long long)pblk * bsize + far % bsize);
	CHECK(!strcmp(out, "far"));
	sh_out(out, sizeof(out), "debugfs -R 'stat /holes' %s 2>/dev/null", img);
	char want_size[64];
	snprintf(want_size, sizeof(want_size), "Size: %llu", (unsigned long long)far + 3);
	CHECK(strstr(out, want_size) != NULL);
	free(big);
	free(got);
}

/* A directory e2fsck -D indexed: read through, changed, still clean. */
static void test_hashed(const char *src, const char *img)
{
	sh("rm -f %s && mke2fs -q -F -t ext2 -b 1024 -d %s %s 8M", img, src, img);
	sh("e2fsck -fyD %s > /dev/null 2>&1", img);
	char out[4096];
	sh_out(out, sizeof(out), "debugfs -R 'htree /many' %s 2>&1 | grep -c 'Root node dump'", img);
	CHECK(atoi(out) == 1);
	struct ext2_fs *fs;
	struct hdev *d;
	char msg[200];
	CHECK(mount_img(img, 0, &fs, &d, msg, sizeof(msg)) == 0);
	if (!fs)
		return;
	struct ext2_node *n = node_at(fs, "/many"), *c;
	CHECK(n && (n->d.i_flags & EXT2_INDEX_FL));
	CHECK(walk(fs, "/many/entry-with-a-longish-name-077") != 0);
	struct names ns = { .n = 0 };
	uint64_t cookie = 0;
	CHECK(ext2_readdir(fs, n, &cookie, collect, &ns) == 0 && ns.n == 152);
	CHECK(ext2_create(fs, n, "added", 5, E2_S_IFREG | 0644, 0, 0, 0, 0, &c) == 0);
	ext2_iput(fs, c);
	CHECK(ext2_unlink(fs, n, "entry-with-a-longish-name-010", 29, false) == 0);
	CHECK(!(n->d.i_flags & EXT2_INDEX_FL));
	ext2_iput(fs, n);
	CHECK(ext2_unmount(fs) == 0);
	hdev_close(d);
	CHECK(fsck_clean(img));
	CHECK(debugfs_cat_is(img, "/many/entry-with-a-longish-name-100", "file100\n", 8));
}

/* Filling the disk: ENOSPC, and the file system stays consistent. */
static void test_full(const char *img)
{
	sh("rm -f %s && mke2fs -q -F -t ext2 -b 1024 %s 2M", img, img);
	struct ext2_fs *fs;
	struct hdev *d;
	char msg[200];
	CHECK(mount_img(img, 0, &fs, &d, msg, sizeof(msg)) == 0);
	if (!fs)
		return;
	struct ext2_node *root = node_at(fs, "/"), *n;
	CHECK(ext2_create(fs, root, "fill", 4, E2_S_IFREG | 0644, 0, 0, 0, 0, &n) == 0);
	static uint8_t chunk[65536];
	uint64_t off = 0;
	ssize_t w;
	while ((w = ext2_write(fs, n, off, chunk, sizeof(chunk))) > 0)
		off += (uint64_t)w;
	CHECK(w == -ENOSPC && off > 1024 * 1024);
	struct ext2_statfs st;
	ext2_statfs(fs, &st);
	CHECK(st.bfree == 0);
	CHECK(ext2_truncate(fs, n, 1000) == 0);
	ext2_statfs(fs, &st);
	CHECK(st.bfree > 1500);
	ext2_iput(fs, n);
	ext2_iput(fs, root);
	CHECK(ext2_unmount(fs) == 0);
	hdev_close(d);
	CHECK(fsck_clean(img));
}

static void expect_refused(const char *img, const char *what, const char *needle)
{
	struct ext2_fs *fs = NULL;
	struct hdev *d;
	char msg[200] = "";
	int r = mount_img(img, 0, &fs, &d, msg, sizeof(msg));
	CHECK(r < 0);
	if (!strstr(msg, needle))
		fprintf(stderr, "%s: message '%s', want '%s'\n", what, msg, needle);
	CHECK(strstr(msg, needle) != NULL);
	if (r == 0) {
		ext2_unmount(fs);
		hdev_close(d);
	}
}

static void test_bad(const char *img)
{
	char p[512];
	sh("rm -f %s && : > %s", img, img);
	expect_refused(img, "empty", "empty device");
	sh("rm -f %s && mke2fs -q -F -t ext2 %s 8M && truncate -s 4M %s", img, img, img);
	expect_refused(img, "truncated", "truncated");
	sh("rm -f %s && mke2fs -q -F -t ext2 %s 8M && printf '\\x00\\x00' | dd of=%s bs=1 seek=1080 conv=notrunc 2>/dev/null",
	   img, img, img);
	expect_refused(img, "magic", "magic");
	sh("rm -f %s && mke2fs -q -F -t ext4 %s 8M", img, img);
	expect_refused(img, "ext4", "unsupported ext2 features");
	sh("rm -f %s && dd if=/dev/urandom of=%s bs=1k count=64 2>/dev/null", img, img);
	expect_refused(img, "random", "magic");
	/* block size field garbage */
	sh("rm -f %s && mke2fs -q -F -t ext2 %s 8M && printf '\\x20' | dd of=%s bs=1 seek=1048 conv=notrunc 2>/dev/null",
	   img, img, img);
	expect_refused(img, "bsize", "block size");
	/* group descriptors pointing nowhere */
	sh("rm -f %s && mke2fs -q -F -t ext2 -b 1024 %s 8M && printf '\\xff\\xff\\xff\\x00' | dd of=%s bs=1 seek=2048 conv=notrunc 2>/dev/null",
	   img, img, img);
	expect_refused(img, "gdt", "group 0");

	/* An ro_compat feature it cannot maintain: read-only with a warning. */
	sh("rm -f %s && mke2fs -q -F -t ext2 -O huge_file %s 8M", img, img);
	struct ext2_fs *fs;
	struct hdev *d;
	char msg[200];
	last_log[0] = 0;
	CHECK(mount_img(img, 0, &fs, &d, msg, sizeof(msg)) == 0);
	if (fs) {
		CHECK(ext2_read_only(fs) && strstr(last_log, "huge_file") && strstr(last_log, "read-only"));
		ext2_unmount(fs);
		hdev_close(d);
	}
	snprintf(p, sizeof(p), "%s", img);
	CHECK(fsck_clean(p));
}

/* A mount never unmounted: the superblock stays "not clean" (what a crash
 * leaves), and what was synced is there. */
static void test_unclean(const char *img)
{
	sh("rm -f %s && mke2fs -q -F -t ext2 %s 8M", img, img);
	struct ext2_fs *fs;
	struct hdev *d;
	char msg[200];
	CHECK(mount_img(img, 0, &fs, &d, msg, sizeof(msg)) == 0);
	if (!fs)
		return;
	struct ext2_node *root = node_at(fs, "/"), *n;
	CHECK(ext2_create(fs, root, "synced", 6, E2_S_IFREG | 0644, 0, 0, 0, 0, &n) == 0);
	CHECK(ext2_write(fs, n, 0, "durable", 7) == 7);
	CHECK(ext2_fsync(fs, n) == 0);
	ext2_iput(fs, n);
	ext2_iput(fs, root);
	/* "crash": forget the cache without writing it */
	for (int h = 0; h < CBUCKETS; h++)
		for (struct cblk *c = d->b[h]; c; c = c->next)
			c->dirty = false;
	e2_fs_destroy(fs);
	hdev_close(d);
	char out[1024];
	sh_out(out, sizeof(out), "dumpe2fs -h %s 2>/dev/null | grep '^Filesystem state'", img);
	CHECK(strstr(out, "not clean") != NULL);
	CHECK(debugfs_cat_is(img, "/synced", "durable", 7));
	/* e2fsck -fn is clean except for the state bit (it only warns on -n) */
	CHECK(sh("e2fsck -fn %s > /dev/null 2>&1", img) == 0);
	/* and it mounts again, with a warning */
	last_log[0] = 0;
	CHECK(mount_img(img, 0, &fs, &d, msg, sizeof(msg)) == 0);
	CHECK(strstr(last_log, "not cleanly unmounted") != NULL);
	if (fs) {
		ext2_unmount(fs);
		hdev_close(d);
	}
}

int main(void)
{
	if (sh("command -v mke2fs >/dev/null && command -v e2fsck >/dev/null && command -v debugfs >/dev/null")) {
		printf("test_ext2: e2fsprogs missing, skipped\n");
		return CHECK_SUMMARY();
	}
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/test_ext2.XXXXXX");
	if (!mkdtemp(tmpdir))
		return 1;
	char src[300], img[300];
	snprintf(src, sizeof(src), "%s/src", tmpdir);
	snprintf(img, sizeof(img), "%s/img", tmpdir);
	make_tree(src);

	static const struct { uint32_t bsize; uint32_t isize; const char *size; } cfg[] = {
		{ 1024, 256, "24M" }, { 4096, 256, "32M" }, { 1024, 128, "24M" }, { 4096, 128, "32M" },
	};
	for (size_t i = 0; i < sizeof(cfg) / sizeof(cfg[0]); i++) {
		sh("rm -f %s && mke2fs -q -F -t ext2 -b %u -I %u -d %s %s %s", img, cfg[i].bsize,
		   cfg[i].isize, src, img, cfg[i].size);
		CHECK(fsck_clean(img));
		test_read(img, src);
		test_write(img, cfg[i].bsize);
	}
	test_hashed(src, img);
	test_full(img);
	test_bad(img);
	test_unclean(img);
	(void)host_file_is;
	sh("rm -rf %s", tmpdir);
	return CHECK_SUMMARY();
}
