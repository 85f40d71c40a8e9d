/*
 * Self-test `initramfs` (selftest=initramfs): invariants of the unpacked
 * tree, checked on whatever image was booted, then path resolution on a
 * scratch directory that is removed again.
 */
#include "fs/ramfs.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/selftest.h"
#include "lib/string.h"

static int failures;

#define EXPECT(cond, ...)                                   \
	do {                                                \
		if (!(cond)) {                              \
			pr_err("initramfs selftest: " __VA_ARGS__); \
			failures++;                         \
		}                                           \
	} while (0)

static struct ramfs_inode *must(const char *path, bool follow)
{
	struct ramfs_inode *i = NULL;
	int r = ramfs_lookup(path, follow, &i);
	EXPECT(r == 0, "lookup %s: error %d", path, r);
	return r == 0 ? i : NULL;
}

static int lookup_err(const char *path, bool follow)
{
	struct ramfs_inode *i;
	return ramfs_lookup(path, follow, &i);
}

static char path[RAMFS_PATH_MAX];
static unsigned symlinks_checked, nodes_seen;

/* Walks dir (whose absolute path is in path[0..len)), checking each entry. */
static void check_dir(struct ramfs_inode *dir, size_t len, int depth)
{
	struct ramfs_readdir rd;
	const char *name;
	struct ramfs_inode *in;
	unsigned n = 0;

	ramfs_readdir_begin(&rd, dir);
	while (ramfs_readdir_next(&rd, &name, &in)) {
		n++;
		if (n == 1) {
			EXPECT(!strcmp(name, ".") && in == dir, "readdir %s: first is not '.'", path);
			continue;
		}
		if (n == 2) {
			EXPECT(!strcmp(name, "..") && in == dir->dir.parent,
			       "readdir %s: second is not '..'", path);
			continue;
		}
		nodes_seen++;
		size_t nl = strlen(name);
		if (len + 1 + nl + 1 > sizeof(path))
			continue;
		size_t at = len == 1 ? 1 : len;          /* the root's path is "/" */
		if (at > 1)
			path[at++] = '/';
		memcpy(path + at, name, nl + 1);
		size_t sub = at + nl;

		struct ramfs_inode *got = NULL;
		int r = ramfs_lookup(path, false, &got);
		EXPECT(r == 0 && got == in, "lookup %s (nofollow) does not find its entry (%d)",
		       path, r);

		if (ramfs_is_dir(in)) {
			EXPECT(in->dir.parent == dir, "%s: '..' is not its parent", path);
			if (sub + 3 < sizeof(path)) {
				memcpy(path + sub, "/..", 4);
				r = ramfs_lookup(path, true, &got);
				EXPECT(r == 0 && got == dir, "lookup %s is not the parent", path);
				path[sub] = 0;
			}
			if (depth < 64)
				check_dir(in, sub, depth + 1);
		} else if (ramfs_is_symlink(in)) {
			/* Following the link must equal resolving its target from
			 * the directory that holds it. */
			struct ramfs_inode *a = NULL, *b = NULL;
			int ra = ramfs_lookup(path, true, &a);
			int rb = ramfs_lookup_at(dir, in->target, true, &b);
			EXPECT(ra == rb && a == b, "symlink %s -> %s: follow gives %d, target gives %d",
			       path, in->target, ra, rb);
			EXPECT(in->size == strlen(in->target), "symlink %s: size", path);
			symlinks_checked++;
		} else if (ramfs_is_reg(in)) {
			EXPECT(in->size == 0 || in->data, "%s: file without data", path);
			EXPECT(in->nlink >= 1, "%s: nlink 0", path);
		}
		path[len] = 0;
	}
	EXPECT(n == dir->dir.entries + 2, "readdir %s: %u names for %u entries", path, n - 2,
	       dir->dir.entries);
}

/* Resolution rules on nodes made for the test. */
static void check_scratch(void)
{
	struct ramfs_inode *root = ramfs_root(), *d, *sub, *f, *i;
	static const char dname[] = ".wisp-selftest";
	struct ramfs_attr a = { .mode = 0755 };
	static const char data[] = "hello";

	if (ramfs_mkdir(root, dname, strlen(dname), &a, &d) < 0) {
		EXPECT(0, "cannot create /%s", dname);
		return;
	}
	EXPECT(ramfs_mkdir(d, "sub", 3, &a, &sub) == 0, "mkdir sub");
	EXPECT(ramfs_create(sub, "f", 1, &a, data, 5, &f) == 0, "create f");
	EXPECT(ramfs_symlink(d, "abs", 3, &a, "/.wisp-selftest/sub/f", 21, NULL) == 0, "symlink abs");
	EXPECT(ramfs_symlink(sub, "rel", 3, &a, "../sub/./f", 10, NULL) == 0, "symlink rel");
	EXPECT(ramfs_symlink(d, "dirlink", 7, &a, "sub", 3, NULL) == 0, "symlink dirlink");
	EXPECT(ramfs_symlink(d, "loop1", 5, &a, "loop2", 5, NULL) == 0, "symlink loop1");
	EXPECT(ramfs_symlink(d, "loop2", 5, &a, "loop1", 5, NULL) == 0, "symlink loop2");
	EXPECT(ramfs_symlink(d, "dangling", 8, &a, "nowhere", 7, NULL) == 0, "symlink dangling");
	/* c0 -> c1 -> ... -> c39 -> sub/f is 40 links: allowed; c40 makes 41. */
	for (int k = 0; k <= 40; k++) {
		char n[8], t[16];
		int nl = snprintf(n, sizeof(n), "c%d", k);
		int tl = k == 39 ? snprintf(t, sizeof(t), "sub/f") : snprintf(t, sizeof(t), "c%d", k + 1);
		if (k == 40)
			tl = snprintf(t, sizeof(t), "c0");
		EXPECT(ramfs_symlink(d, n, nl, &a, t, tl, NULL) == 0, "symlink %s", n);
	}

	EXPECT(must("/.wisp-selftest/abs", true) == f, "absolute symlink");
	EXPECT(must("/.wisp-selftest/sub/rel", true) == f, "relative symlink with ..");
	EXPECT(must("/.wisp-selftest/dirlink/f", true) == f, "symlink to a directory mid-path");
	EXPECT(must("/.wisp-selftest/dirlink/../sub/f", true) == f, "'..' after a dir symlink");
	i = must("/.wisp-selftest/abs", false);
	EXPECT(i && ramfs_is_symlink(i), "nofollow returns the symlink");
	EXPECT(must("/.wisp-selftest/dirlink/", false) == sub, "trailing slash follows");
	EXPECT(lookup_err("/.wisp-selftest/sub/f/", true) == -ENOTDIR, "file/ is ENOTDIR");
	EXPECT(lookup_err("/.wisp-selftest/sub/f/x", true) == -ENOTDIR, "file/x is ENOTDIR");
	EXPECT(lookup_err("/.wisp-selftest/loop1", true) == -ELOOP, "loop is ELOOP");
	EXPECT(lookup_err("/.wisp-selftest/loop1", false) == 0, "loop without follow");
	EXPECT(lookup_err("/.wisp-selftest/dangling", true) == -ENOENT, "dangling is ENOENT");
	EXPECT(must("/.wisp-selftest/c1", true) == f, "39 links resolve");
	EXPECT(lookup_err("/.wisp-selftest/c0", true) == 0, "40 links resolve");
	EXPECT(lookup_err("/.wisp-selftest/c40", true) == -ELOOP, "41 links are ELOOP");
	EXPECT(lookup_err("/.wisp-selftest/missing", true) == -ENOENT, "missing is ENOENT");

	struct ramfs_stat st;
	ramfs_stat(f, &st);
	EXPECT(st.size == 5 && (st.mode & RAMFS_S_IFMT) == RAMFS_S_IFREG && st.ino == f->ino,
	       "stat of a file");

	/* Remove everything again, children first. */
	static const char *const names[] = { "abs", "dirlink", "loop1", "loop2", "dangling" };
	for (size_t k = 0; k < ARRAY_SIZE(names); k++)
		EXPECT(ramfs_unlink(d, names[k], strlen(names[k])) == 0, "unlink %s", names[k]);
	for (int k = 0; k <= 40; k++) {
		char n[8];
		int nl = snprintf(n, sizeof(n), "c%d", k);
		EXPECT(ramfs_unlink(d, n, nl) == 0, "unlink %s", n);
	}
	EXPECT(ramfs_unlink(d, "sub", 3) == -ENOTEMPTY, "rmdir of a non-empty dir");
	EXPECT(ramfs_unlink(sub, "rel", 3) == 0 && ramfs_unlink(sub, "f", 1) == 0, "unlink in sub");
	EXPECT(ramfs_unlink(d, "sub", 3) == 0, "rmdir sub");
	EXPECT(ramfs_unlink(root, dname, strlen(dname)) == 0, "rmdir scratch");
	EXPECT(lookup_err("/.wisp-selftest", false) == -ENOENT, "scratch gone");
}

static int initramfs_selftest(void)
{
	failures = 0;
	struct ramfs_inode *root = ramfs_root();
	if (!root) {
		pr_err("initramfs selftest: no root directory");
		return 1;
	}
	EXPECT(ramfs_is_dir(root), "root is not a directory");
	EXPECT(root->dir.parent == root, "the root's '..' is not itself");
	static const char *const roots[] = { "/", "//", "/.", "/..", "/./../.", "/../..//", "." };
	for (size_t k = 0; k < ARRAY_SIZE(roots); k++)
		EXPECT(must(roots[k], true) == root, "%s is not the root", roots[k]);
	EXPECT(lookup_err("", true) == -ENOENT, "empty path is not ENOENT");

	path[0] = '/';
	path[1] = 0;
	symlinks_checked = nodes_seen = 0;
	check_dir(root, 1, 0);
	pr_info("initramfs selftest: %u nodes, %u symlinks checked", nodes_seen, symlinks_checked);

	struct ramfs_inode *sh;
	if (ramfs_lookup("/bin/sh", true, &sh) == 0)
		EXPECT(ramfs_is_reg(sh), "/bin/sh resolves to a non-file");

	check_scratch();
	return failures ? 1 : 0;
}
SELFTEST("initramfs", initramfs_selftest);
