/* Unit tests for kernel/fs/ramfs.c and the unpacker kernel/fs/initramfs.c:
 * tree operations and path resolution rules, a GNU cpio archive of a real
 * directory compared file by file with lstat(), hand-made archives for each
 * unpacking rule and error, and every truncation. fs_alloc is calloc with
 * bookkeeping, so LeakSanitizer and ASan see every inode and name. */
#include "../../kernel/fs/cpio.c"
#include "../../kernel/fs/ramfs.c"
#include "../../kernel/fs/initramfs.c"

#include "check.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* --- fs_alloc for the host: every block on a list, freed by reset() ---------- */
struct blk {
	struct blk *next, *prev;
};
static struct blk blocks = { &blocks, &blocks };
static size_t in_use, fail_after = SIZE_MAX;

void *fs_alloc(size_t size)
{
	if (fail_after == 0)
		return NULL;
	if (fail_after != SIZE_MAX)
		fail_after--;
	struct blk *b = calloc(1, sizeof(*b) + size);
	b->next = blocks.next;
	b->prev = &blocks;
	blocks.next->prev = b;
	blocks.next = b;
	in_use++;
	return b + 1;
}

void fs_free(void *p)
{
	if (!p)
		return;
	struct blk *b = (struct blk *)p - 1;
	b->prev->next = b->next;
	b->next->prev = b->prev;
	in_use--;
	free(b);
}

size_t fs_alloc_in_use(void)
{
	return in_use;
}

void *fs_alloc_page(void)
{
	return fs_alloc(RAMFS_PAGE_SIZE);
}

void fs_free_page(void *p)
{
	fs_free(p);
}

void fs_now(struct fs_time *t)
{
	t->sec = 1700000000;
	t->nsec = 0;
}

static void reset(void)
{
	while (blocks.next != &blocks)
		fs_free(blocks.next + 1);
	root = NULL;
	next_ino = 1;
	memset(&counts, 0, sizeof(counts));
	buckets = NULL;
	nbuckets = nentries = 0;
	fail_after = SIZE_MAX;
	CHECK(ramfs_init() == 0);
}

static struct ramfs_inode *L(const char *path, bool follow)
{
	struct ramfs_inode *i = NULL;
	return ramfs_lookup(path, follow, &i) == 0 ? i : NULL;
}

static int E(const char *path, bool follow)
{
	struct ramfs_inode *i;
	return ramfs_lookup(path, follow, &i);
}

/* --- the tree -------------------------------------------------------------------- */

static void tree_ops(void)
{
	reset();
	struct ramfs_inode *r = ramfs_root(), *d, *s, *f, *g;
	struct ramfs_attr a = { .mode = 0750, .uid = 7, .gid = 8, .mtime = 99 };
	CHECK(r && ramfs_is_dir(r) && r->ino == 1 && r->nlink == 2 && r->dir.parent == r);

	CHECK(ramfs_mkdir(r, "d", 1, &a, &d) == 0 && d->mode == (RAMFS_S_IFDIR | 0750));
	CHECK(r->nlink == 3 && d->nlink == 2 && d->dir.parent == r);
	CHECK(ramfs_mkdir(d, "s", 1, &a, &s) == 0);
	CHECK(ramfs_create(s, "f", 1, &a, "data", 4, &f) == 0);
	CHECK(f->size == 4 && !memcmp(f->data, "data", 4) && f->uid == 7 && f->mtime.sec == 99);
	CHECK(ramfs_mkdir(r, "d", 1, &a, NULL) == -EEXIST);
	CHECK(ramfs_create(r, ".", 1, &a, "", 0, NULL) == -EEXIST);
	CHECK(ramfs_create(r, "..", 2, &a, "", 0, NULL) == -EEXIST);
	CHECK(ramfs_create(r, "a/b", 3, &a, "", 0, NULL) == -EINVAL);
	CHECK(ramfs_create(r, "", 0, &a, "", 0, NULL) == -EINVAL);
	CHECK(ramfs_create(f, "x", 1, &a, "", 0, NULL) == -ENOTDIR);
	char longname[300];
	memset(longname, 'n', sizeof(longname));
	CHECK(ramfs_create(r, longname, 256, &a, "", 0, NULL) == -ENAMETOOLONG);
	CHECK(ramfs_create(r, longname, 255, &a, "", 0, NULL) == 0);
	CHECK(ramfs_dir_find(r, longname, 255) != NULL);

	/* Resolution. */
	CHECK(L("/", true) == r && L("//", true) == r && L("/.", true) == r && L("/..", true) == r);
	CHECK(L("/../../d/./s/../s/f", true) == f && L("d/s/f", true) == f);
	CHECK(E("", true) == -ENOENT && E("/nope", true) == -ENOENT && E("/d/nope/f", true) == -ENOENT);
	CHECK(E("/d/s/f/", true) == -ENOTDIR && E("/d/s/f/x", true) == -ENOTDIR);
	CHECK(E("/d/s/f/..", true) == -ENOTDIR);
	CHECK(L("/d/s/", true) == s && L("/d//s///", false) == s);
	longname[256] = 0;
	CHECK(E(longname, true) == -ENAMETOOLONG);
	struct ramfs_inode *out;
	CHECK(ramfs_lookup_at(s, "f", true, &out) == 0 && out == f);
	CHECK(ramfs_lookup_at(s, "../..", true, &out) == 0 && out == r);
	CHECK(ramfs_lookup_at(s, "/d", true, &out) == 0 && out == d);
	char *huge = malloc(5000);
	memset(huge, '/', 4999);
	huge[4999] = 0;
	CHECK(E(huge, true) == -ENAMETOOLONG);
	huge[4095] = 0;                    /* 4095 slashes + NUL: fits */
	CHECK(L(huge, true) == r);
	free(huge);

	/* Symlinks: absolute, relative, to directories, chains, loops. */
	CHECK(ramfs_symlink(r, "abs", 3, &a, "/d/s/f", 6, NULL) == 0);
	CHECK(ramfs_symlink(s, "rel", 3, &a, "../s/./f", 8, NULL) == 0);
	CHECK(ramfs_symlink(r, "sd", 2, &a, "d/s", 3, NULL) == 0);
	CHECK(ramfs_symlink(r, "up", 2, &a, "..", 2, NULL) == 0);
	CHECK(ramfs_symlink(r, "self", 4, &a, "self", 4, NULL) == 0);
	CHECK(ramfs_symlink(r, "dang", 4, &a, "/nowhere/x", 10, NULL) == 0);
	CHECK(ramfs_symlink(r, "empty", 5, &a, "", 0, NULL) == -EINVAL);
	CHECK(ramfs_symlink(r, "nul", 3, &a, "a\0b", 3, NULL) == -EINVAL);
	g = L("/abs", false);
	CHECK(g && ramfs_is_symlink(g) && g->size == 6 && !strcmp(g->target, "/d/s/f") &&
	      (g->mode & 07777) == 0777 && g->uid == 7);
	CHECK(L("/abs", true) == f && L("/d/s/rel", true) == f && L("/sd/f", true) == f);
	CHECK(L("/sd/../s/f", true) == f);   /* `..` of the target directory */
	CHECK(L("/sd", false) != s && L("/sd/", false) == s && L("/sd/.", false) == s);
	CHECK(L("/up", true) == r && L("/up/up/d", true) == d);
	CHECK(E("/self", true) == -ELOOP && L("/self", false) != NULL);
	CHECK(E("/self/x", false) == -ELOOP);
	CHECK(E("/dang", true) == -ENOENT && L("/dang", false) != NULL);
	CHECK(E("/abs/", true) == -ENOTDIR);

	/* Exactly 40 links followed is fine, 41 is ELOOP. */
	char n[8], t[8];
	for (int k = 0; k < 41; k++) {
		int nl = snprintf(n, sizeof(n), "c%d", k);
		int tl = snprintf(t, sizeof(t), "c%d", k + 1);
		CHECK(ramfs_symlink(s, n, nl, &a, t, tl, NULL) == 0);
	}
	CHECK(ramfs_symlink(s, "c41", 3, &a, "f", 1, NULL) == 0);
	CHECK(L("/d/s/c2", true) == f);            /* 40 links */
	CHECK(E("/d/s/c1", true) == -ELOOP);        /* 41 */
	CHECK(E("/d/s/c1", false) == 0);
	/* The budget is per lookup, shared by links in the middle of a path. */
	CHECK(ramfs_symlink(r, "via", 3, &a, "d/s/c2", 6, NULL) == 0);
	CHECK(E("/via", true) == -ELOOP);           /* 1 + 40 */

	/* Hard links, stat, special files. */
	CHECK(ramfs_link(r, "hl", 2, f) == 0 && f->nlink == 2 && L("/hl", true) == f);
	CHECK(ramfs_link(r, "hd", 2, d) == -EINVAL);
	CHECK(ramfs_link(r, "hl", 2, f) == -EEXIST);
	struct ramfs_attr dev = { .mode = 0600, .rdev_major = 5, .rdev_minor = 1 };
	CHECK(ramfs_mknod(r, "console", 7, RAMFS_S_IFCHR, &dev, &g) == 0);
	CHECK((g->mode & RAMFS_S_IFMT) == RAMFS_S_IFCHR && g->rdev_major == 5);
	CHECK(ramfs_mknod(r, "bad", 3, RAMFS_S_IFREG, &dev, NULL) == -EINVAL);
	struct ramfs_stat st;
	ramfs_stat(f, &st);
	CHECK(st.ino == f->ino && st.mode == (RAMFS_S_IFREG | 0750) && st.nlink == 2 &&
	      st.size == 4 && st.uid == 7 && st.gid == 8 && st.mtime == 99);

	/* Inode numbers are unique. */
	CHECK(d->ino != s->ino && s->ino != f->ino && f->ino != r->ino);

	/* readdir: ".", "..", then creation order. */
	struct ramfs_readdir rd;
	const char *name;
	struct ramfs_inode *in;
	const char *expect[] = { ".", "..", "d", NULL, "abs", "sd", "up", "self", "dang",
				 "via", "hl", "console" };
	int k = 0;
	ramfs_readdir_begin(&rd, r);
	while (ramfs_readdir_next(&rd, &name, &in)) {
		if (k < (int)ARRAY_SIZE(expect) && expect[k])
			CHECK(!strcmp(name, expect[k]));
		if (k == 0) CHECK(in == r);
		if (k == 1) CHECK(in == r);
		k++;
	}
	CHECK(k == (int)ARRAY_SIZE(expect));
	ramfs_readdir_begin(&rd, f);
	CHECK(!ramfs_readdir_next(&rd, &name, &in));
	ramfs_readdir_begin(&rd, s);
	CHECK(ramfs_readdir_next(&rd, &name, &in) && in == s);
	CHECK(ramfs_readdir_next(&rd, &name, &in) && in == d && !strcmp(name, ".."));

	/* Unlink. */
	struct ramfs_counts c0, c1;
	ramfs_counts(&c0);
	CHECK(ramfs_unlink(r, "d", 1) == -ENOTEMPTY);
	CHECK(ramfs_unlink(r, "nope", 4) == -ENOENT);
	CHECK(ramfs_unlink(f, "x", 1) == -ENOTDIR);
	CHECK(ramfs_unlink(r, "hl", 2) == 0 && f->nlink == 1 && L("/abs", true) == f);
	for (int j = 0; j <= 41; j++) {
		int nl = snprintf(n, sizeof(n), "c%d", j);
		CHECK(ramfs_unlink(s, n, nl) == 0);
	}
	CHECK(ramfs_unlink(s, "rel", 3) == 0 && ramfs_unlink(s, "f", 1) == 0);
	CHECK(E("/abs", true) == -ENOENT);
	CHECK(ramfs_unlink(d, "s", 1) == 0 && d->nlink == 2);
	CHECK(ramfs_unlink(r, "d", 1) == 0 && r->nlink == 2);
	ramfs_counts(&c1);
	CHECK(c1.dirs == c0.dirs - 2 && c1.files == c0.files - 1 && c1.symlinks == c0.symlinks - 43);
	CHECK(c1.file_bytes == c0.file_bytes - 4);
	/* Readdir after removals still walks the rest in order. */
	ramfs_readdir_begin(&rd, r);
	k = 0;
	while (ramfs_readdir_next(&rd, &name, &in))
		k++;
	CHECK(k == 2 + (int)r->dir.entries && r->dir.entries == 10 - 2);

	/* Out of memory is reported, and leaves the tree consistent. */
	fail_after = 0;
	CHECK(ramfs_mkdir(r, "oom", 3, &a, NULL) == -ENOMEM);
	fail_after = 1;         /* inode yes, dirent no */
	CHECK(ramfs_create(r, "oom", 3, &a, "", 0, NULL) == -ENOMEM);
	fail_after = 1;         /* inode yes, target no */
	CHECK(ramfs_symlink(r, "oom", 3, &a, "x", 1, NULL) == -ENOMEM);
	fail_after = SIZE_MAX;
	CHECK(E("/oom", false) == -ENOENT);
	ramfs_counts(&c0);
	CHECK(c0.inodes == c1.inodes);
}

/* Many names: the hash table grows; all stay findable; removal works. */
static void many(void)
{
	reset();
	struct ramfs_inode *r = ramfs_root(), *d;
	CHECK(ramfs_mkdir(r, "big", 3, NULL, &d) == 0);
	char name[32];
	int bad = 0;
	for (int i = 0; i < 20000; i++) {
		int n = snprintf(name, sizeof(name), "file-%d", i);
		if (ramfs_create(i % 2 ? d : r, name, n, NULL, NULL, 0, NULL) != 0)
			bad++;
	}
	CHECK(bad == 0 && nbuckets >= 16384);
	for (int i = 0; i < 20000; i += 3) {
		int n = snprintf(name, sizeof(name), "file-%d", i);
		if (ramfs_unlink(i % 2 ? d : r, name, n) != 0)
			bad++;
	}
	char path[48];
	for (int i = 0; i < 20000; i++) {
		snprintf(path, sizeof(path), "%sfile-%d", i % 2 ? "/big/" : "/", i);
		if ((E(path, true) == 0) != (i % 3 != 0))
			bad++;
		/* The same name in the other directory only exists there. */
		snprintf(path, sizeof(path), "%sfile-%d", i % 2 ? "/" : "/big/", i);
		if (E(path, true) == 0)
			bad++;
	}
	CHECK(bad == 0);
}

/* --- unpacking ---------------------------------------------------------------------- */

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

static void ent(struct buf *b, const char *name, unsigned mode, unsigned ino, unsigned nlink,
		const char *data)
{
	size_t size = data ? strlen(data) : 0;
	char h[111];
	snprintf(h, sizeof(h), "070701%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X%08X",
		 ino, mode, 0u, 0u, nlink, 1000u, (unsigned)size, 0u, 0u, 0u, 0u,
		 (unsigned)strlen(name) + 1, 0u);
	put(b, h, 110);
	put(b, name, strlen(name) + 1);
	pad4(b);
	put(b, data ? data : "", size);
	pad4(b);
}

static void end(struct buf *b)
{
	ent(b, "TRAILER!!!", 0, 0, 1, NULL);
}

static char err[320];
static struct initramfs_stats stats;

static int unpack(const struct buf *b)
{
	err[0] = 0;
	return initramfs_unpack(b->p, b->len, &stats, err, sizeof(err));
}

static int unpack_fresh(const struct buf *b)
{
	reset();
	memset(&stats, 0, sizeof(stats));
	return unpack(b);
}

static bool says(const char *sub)
{
	if (!strstr(err, sub)) {
		fprintf(stderr, "  expected \"%s\" in \"%s\"\n", sub, err);
		return false;
	}
	return true;
}

static void unpack_rules(void)
{
	struct buf b = { 0 };
	struct ramfs_inode *i, *j;

	/* Missing parents are made; "./", "/" and "//" prefixes are the root. */
	ent(&b, "a/b/c/file", 0100644, 1, 1, "abc");
	ent(&b, "./x", 0100755, 2, 1, "x");
	ent(&b, "//y/", 0040700, 3, 2, NULL);
	ent(&b, ".", 0040711, 4, 2, NULL);
	ent(&b, "a/b", 0040701, 5, 2, NULL);       /* after its implied creation */
	end(&b);
	CHECK(unpack_fresh(&b) == 0);
	CHECK(stats.entries == 5 && stats.file_bytes == 4 && stats.archives == 1);
	i = L("/a/b/c/file", true);
	CHECK(i && i->size == 3 && !memcmp(i->data, "abc", 3) && i->mtime.sec == 1000);
	CHECK(i && i->data >= (const void *)b.p && i->data < (const void *)(b.p + b.len));
	CHECK((L("/a", true)->mode & 07777) == 0755 && (L("/a/b/c", true)->mode & 07777) == 0755);
	CHECK(L("/a/b", true)->mode == (RAMFS_S_IFDIR | 0701));
	CHECK(L("/x", true) && L("/y", true)->mode == (RAMFS_S_IFDIR | 0700));
	CHECK(ramfs_root()->mode == (RAMFS_S_IFDIR | 0711));

	/* Later entries replace earlier ones. */
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "f", 0100644, 1, 1, "first");
	ent(&b, "f", 0100600, 2, 1, "second!");
	ent(&b, "g", 0100644, 3, 1, "file");
	ent(&b, "g", 0120777, 4, 1, "f");          /* file -> symlink */
	ent(&b, "e", 0040755, 5, 2, NULL);
	ent(&b, "e", 0100644, 6, 1, "empty dir -> file");
	end(&b);
	CHECK(unpack_fresh(&b) == 0);
	i = L("/f", true);
	CHECK(i && i->size == 7 && i->mode == (RAMFS_S_IFREG | 0600));
	CHECK(L("/g", true) == i && ramfs_is_symlink(L("/g", false)));
	CHECK(L("/e", true) && ramfs_is_reg(L("/e", true)));
	CHECK(counts.files == 2 && counts.symlinks == 1);

	/* Hard links: GNU cpio puts the data on the last link. */
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "h1", 0100755, 42, 3, NULL);
	ent(&b, "d/h2", 0100755, 42, 3, NULL);
	ent(&b, "h3", 0100755, 42, 3, "shared");
	ent(&b, "other", 0100644, 43, 1, "o");
	end(&b);
	ent(&b, "h4", 0100755, 42, 2, "new archive, new inode");
	end(&b);
	CHECK(unpack_fresh(&b) == 0 && stats.archives == 2);
	i = L("/h1", true);
	CHECK(i && i == L("/d/h2", true) && i == L("/h3", true) && i->nlink == 3);
	CHECK(i && i->size == 6 && !memcmp(i->data, "shared", 6));
	j = L("/h4", true);
	CHECK(j && j != i && j->nlink == 1);
	CHECK(counts.file_bytes == 6 + 1 + 22);

	/* A hard-linked file replaced by a later entry of the same name. */
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "k", 0100644, 7, 2, NULL);
	ent(&b, "k", 0100644, 8, 1, "replaced");
	ent(&b, "k2", 0100644, 7, 2, "late data");   /* its first link is gone */
	end(&b);
	CHECK(unpack_fresh(&b) == 0);
	CHECK(L("/k", true)->size == 8 && L("/k2", true)->size == 9 && L("/k", true) != L("/k2", true));

	/* Parents through symlinks (a merged-/usr layout). */
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "usr/lib", 0040755, 1, 2, NULL);
	ent(&b, "lib", 0120777, 2, 1, "usr/lib");
	ent(&b, "lib64", 0120777, 3, 1, "/usr/lib");
	ent(&b, "lib/libc.so", 0100755, 4, 1, "ELF");
	ent(&b, "lib64/ld.so", 0100755, 5, 1, "ELF");
	end(&b);
	CHECK(unpack_fresh(&b) == 0);
	CHECK(L("/usr/lib/libc.so", true) && L("/usr/lib/ld.so", true));
	CHECK(ramfs_is_symlink(L("/lib", false)));

	/* Special files. */
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "dev/console", 0020600, 1, 1, NULL);
	ent(&b, "dev/fifo", 0010644, 2, 1, NULL);
	ent(&b, "dev/sda", 0060660, 3, 1, NULL);
	ent(&b, "dev/sock", 0140755, 4, 1, NULL);
	end(&b);
	CHECK(unpack_fresh(&b) == 0 && counts.special == 4);

	/* Errors, each with the entry and offset named. */
	struct { const char *name; unsigned mode; const char *data; const char *msg; } bad[] = {
		{ "a/../etc/passwd", 0100644, "x", "name contains '..'" },
		{ "..", 0040755, NULL, "name contains '..'" },
		{ ".", 0100644, "x", "the root entry is not a directory" },
		{ "s", 0120777, NULL, "symlink with an empty target" },
		{ "s", 0000644, "x", "unknown file type" },
	};
	for (size_t k = 0; k < ARRAY_SIZE(bad); k++) {
		free(b.p); b = (struct buf){ 0 };
		ent(&b, "ok", 0100644, 1, 1, "fine");
		ent(&b, bad[k].name, bad[k].mode, 2, 1, bad[k].data);
		end(&b);
		CHECK(unpack_fresh(&b) == -1 && says(bad[k].msg) && says("at offset 120"));
	}
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "file", 0100644, 1, 1, "x");
	ent(&b, "file/child", 0100644, 2, 1, "y");
	end(&b);
	CHECK(unpack_fresh(&b) == -1 && says("a parent is not a directory: entry 'file/child'"));
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "dir/child", 0100644, 1, 1, "x");
	ent(&b, "dir", 0100644, 2, 1, "y");
	end(&b);
	CHECK(unpack_fresh(&b) == -1 && says("would replace a non-empty directory"));
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "l", 0120777, 1, 1, "missing");
	ent(&b, "l/child", 0100644, 2, 1, "y");
	end(&b);
	CHECK(unpack_fresh(&b) == -1 && says("symlink that does not resolve"));
	free(b.p); b = (struct buf){ 0 };
	char longname[300];
	memset(longname, 'q', 256);
	longname[256] = 0;
	ent(&b, longname, 0100644, 1, 1, "x");
	end(&b);
	CHECK(unpack_fresh(&b) == -1 && says("longer than 255"));

	/* Archive-level errors come from the reader, with the offset. */
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "ok", 0100644, 1, 1, "fine");
	CHECK(unpack_fresh(&b) == -1 && says("no TRAILER!!!") && says("at offset 120"));
	static const unsigned char gz[] = { 0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, 1, 2, 3 };
	free(b.p); b = (struct buf){ 0 };
	put(&b, gz, sizeof(gz));
	CHECK(unpack_fresh(&b) == -1 && says("gzip-compressed data at offset 0"));
	free(b.p); b = (struct buf){ 0 };
	put(&b, "\x28\xb5\x2f\xfd....", 8);
	CHECK(unpack_fresh(&b) == -1 && says("zstd"));
	free(b.p); b = (struct buf){ 0 };
	put(&b, "hello world, not an archive at all, long enough for a header................."
		"...........................................", 120);
	CHECK(unpack_fresh(&b) == -1 && says("bad magic") && says("offset 0"));

	/* Out of metadata memory, at each allocation in turn. */
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "a/b/c", 0100644, 1, 2, "x");
	ent(&b, "l", 0120777, 2, 1, "a/b/c");
	ent(&b, "a/b/h", 0100644, 1, 2, "x");
	end(&b);
	int oom = 0, okays = 0;
	for (size_t n = 0; n < 40; n++) {
		reset();
		fail_after = n;
		memset(&stats, 0, sizeof(stats));
		int r = unpack(&b);
		if (r < 0)
			oom += strstr(err, "errno 12") || strstr(err, "out of memory") ? 1 : 0;
		else
			okays++;
	}
	fail_after = SIZE_MAX;
	CHECK(oom > 0 && okays > 0 && oom + okays == 40);

	/* Every truncation of a small archive: an error, never a bad read. */
	free(b.p); b = (struct buf){ 0 };
	ent(&b, "d/f", 0100644, 1, 1, "contents");
	ent(&b, "d/l", 0120777, 2, 1, "f");
	ent(&b, "h", 0100644, 3, 2, NULL);
	ent(&b, "h2", 0100644, 3, 2, "hl");
	end(&b);
	int fails = 0;
	for (size_t n = 0; n < b.len; n++) {
		reset();
		memset(&stats, 0, sizeof(stats));
		unsigned char *copy = malloc(n ? n : 1);
		memcpy(copy, b.p, n);
		if (initramfs_unpack(copy, n, &stats, err, sizeof(err)) < 0 && err[0])
			fails++;
		free(copy);
	}
	CHECK(fails == (int)b.len);
	free(b.p);
}

/* A GNU cpio archive of a real tree, compared with lstat() of each path. */
static char tmpdir[64];

static void real_tree(void)
{
	strcpy(tmpdir, "/tmp/test_ramfs.XXXXXX");
	CHECK(mkdtemp(tmpdir) != NULL);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd),
		 "cd %s && mkdir -p usr/bin usr/lib/x86_64-linux-gnu etc empty/deep/er && "
		 "ln -s usr/bin bin && ln -s usr/lib lib && ln -s ../lib/x86_64-linux-gnu/libc.so.6 usr/bin/rel && "
		 "printf 'lib' > usr/lib/x86_64-linux-gnu/libc.so.6 && printf '#!/bin/sh\\n' > usr/bin/script && "
		 "chmod 755 usr/bin/script && cp /bin/busybox usr/bin/busybox && ln -s busybox usr/bin/sh && "
		 "ln usr/bin/busybox usr/bin/busybox-hard && ln -s /usr/bin/busybox absolute && "
		 "printf 'root:x:0:0::/:/bin/sh\\n' > etc/passwd && chmod 600 etc/passwd && mkfifo etc/fifo && "
		 "ln -s loop1 loop2 && ln -s loop2 loop1 && ln -s nowhere dangling && "
		 "touch -h -d @1000000000 bin && touch -d @1500000000 etc/passwd", tmpdir);
	CHECK(system(cmd) == 0);

	struct buf b = { 0 };
	snprintf(cmd, sizeof(cmd), "cd %s && find . | cpio -o -H newc 2>/dev/null", tmpdir);
	FILE *f = popen(cmd, "r");
	unsigned char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		put(&b, chunk, n);
	CHECK(pclose(f) == 0);
	int r = unpack_fresh(&b);
	if (r)
		fprintf(stderr, "  unpack: %s\n", err);
	CHECK(r == 0);

	/* Every path find lists, nofollow: type, mode, ids, size, mtime, data. */
	snprintf(cmd, sizeof(cmd), "cd %s && find . -mindepth 1", tmpdir);
	f = popen(cmd, "r");
	char line[512];
	int paths = 0, bad = 0;
	while (fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\n")] = 0;
		char host[600];
		snprintf(host, sizeof(host), "%s/%s", tmpdir, line + 2);
		struct stat st;
		CHECK(lstat(host, &st) == 0);
		struct ramfs_inode *i = L(line + 1, false);   /* "/usr/bin/..." */
		paths++;
		if (!i) {
			fprintf(stderr, "  %s missing\n", line);
			bad++;
			continue;
		}
		struct ramfs_stat rs;
		ramfs_stat(i, &rs);
		bool same = rs.mode == st.st_mode && rs.uid == st.st_uid && rs.gid == st.st_gid &&
			    rs.mtime == st.st_mtime && rs.nlink == st.st_nlink;
		if (!S_ISDIR(st.st_mode))
			same = same && rs.size == (uint64_t)st.st_size;
		if (S_ISREG(st.st_mode)) {
			size_t len;
			FILE *hf = fopen(host, "rb");
			unsigned char *data = malloc(st.st_size + 1);
			len = fread(data, 1, st.st_size + 1, hf);
			fclose(hf);
			same = same && len == rs.size && !memcmp(data, i->data, len);
			free(data);
		}
		if (S_ISLNK(st.st_mode)) {
			char t[256];
			ssize_t tl = readlink(host, t, sizeof(t));
			same = same && tl == (ssize_t)i->size && !memcmp(t, i->target, tl);
		}
		if (!same) {
			fprintf(stderr, "  %s differs\n", line);
			bad++;
		}
	}
	pclose(f);
	CHECK(paths >= 20 && bad == 0);

	/* Resolution through the tree's symlinks. */
	struct ramfs_inode *bb = L("/usr/bin/busybox", false);
	CHECK(bb && L("/bin/busybox", true) == bb && L("/bin/sh", true) == bb);
	CHECK(L("/absolute", true) == bb && L("/usr/bin/busybox-hard", true) == bb && bb->nlink == 2);
	CHECK(L("/bin/rel", true) == L("/usr/lib/x86_64-linux-gnu/libc.so.6", true));
	CHECK(L("/lib/x86_64-linux-gnu/libc.so.6", true) != NULL);
	CHECK(E("/loop1", true) == -ELOOP && E("/dangling", true) == -ENOENT);
	CHECK(E("/bin/", false) == 0 && L("/bin/", false) == L("/usr/bin", true));
	CHECK(L("/empty/deep/er/../../deep/./er", true) == L("/empty/deep/er", true));

	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	CHECK(system(cmd) == 0);
	free(b.p);
}

int main(void)
{
	tree_ops();
	many();
	unpack_rules();
	real_tree();
	reset();
	fs_free(buckets);       /* the last reset's table and root, for LeakSanitizer */
	fs_free(root);
	CHECK(fs_alloc_in_use() == 0);
	return CHECK_SUMMARY();
}
