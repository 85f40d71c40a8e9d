/* Tests for tools/wisp/image.c on a directory tree made here: mirrored
 * symlink chains, placed adds through image symlinks, duplicates, conflicts,
 * and the result read back by GNU cpio. */
/* SAN_CFLAGS puts kernel/include on the include path, and its errno.h (Linux's
 * E* values, identical to glibc's on x86-64) shadows libc's <errno.h>, the
 * only header that declares errno. Declare it the way glibc does. */
#include <errno.h>
#ifndef errno
extern int *__errno_location(void);
#define errno (*__errno_location())
#endif

#include "../../tools/wisp/buf.c"
#include "../../tools/wisp/paths.c"
#include "../../tools/wisp/pathmap.c"
#include "../../tools/wisp/cpio_write.c"
#include "../../tools/wisp/util.c"
#include "../../tools/wisp/image.c"

#include "check.h"

#include <sys/wait.h>

static char root[] = "/tmp/wisp-image-test-XXXXXX";

static void sh(const char *fmt, ...)
{
	char cmd[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	CHECK(system(cmd) == 0);
}

static char *P(const char *rel)
{
	static char bufs[8][512];
	static int i;
	char *b = bufs[i++ % 8];
	snprintf(b, 512, "%s/%s", root, rel);
	return b;
}

/* `cpio -t` of the archive in fd, one name per line, in archive order. */
static char *listing(int fd)
{
	char cmd[600], line[1024];
	struct strbuf b;
	FILE *f;

	snprintf(cmd, sizeof(cmd), "cpio -it --quiet < /proc/self/fd/%d", fd);
	lseek(fd, 0, SEEK_SET);
	strbuf_init(&b);
	f = popen(cmd, "r");
	if (f) {
		while (fgets(line, sizeof(line), f))
			strbuf_adds(&b, line);
		CHECK(pclose(f) == 0);
	}
	return strbuf_detach(&b);
}

static int has_line(const char *list, const char *line)
{
	size_t n = strlen(line);
	for (const char *s = list; (s = strstr(s, line)); s++)
		if ((s == list || s[-1] == '\n') && s[n] == '\n')
			return 1;
	return 0;
}

static int new_image(struct image *im)
{
	char tmpl[] = "/tmp/wisp-image-cpio-XXXXXX";
	int fd = mkstemp(tmpl);
	CHECK(fd >= 0);
	unlink(tmpl);
	image_init(im, fd);
	return fd;
}

int main(void)
{
	struct image im;
	char *list, *rel;
	int fd;

	if (system("command -v cpio >/dev/null 2>&1") != 0) {
		printf("test_tool_image: GNU cpio not installed, skipped\n");
		return CHECK_SUMMARY();
	}
	CHECK(mkdtemp(root) != NULL);
	rel = root + 1; /* archive names have no leading '/' */
	/* A merged-/usr style tree:
	 *   lib -> usr/lib, usr/lib64/ld.so -> <abs>/lib/real/ld.so (absolute),
	 *   usr/lib/real/{ld.so, libc.so.6 -> libc-2.so, libc-2.so},
	 *   app/{bin/prog, data/{a.txt, sub/b.txt, link -> ../bin/prog, fifo}} */
	sh("cd %s && mkdir -p usr/lib/real usr/lib64 app/bin app/data/sub && ln -s usr/lib lib"
	   " && echo ld > usr/lib/real/ld.so && echo libc > usr/lib/real/libc-2.so"
	   " && ln -s libc-2.so usr/lib/real/libc.so.6"
	   " && ln -s %s/lib/real/ld.so usr/lib64/ld.so"
	   " && echo prog > app/bin/prog && chmod 755 app/bin/prog"
	   " && echo a > app/data/a.txt && echo b > app/data/sub/b.txt"
	   " && ln -s ../bin/prog app/data/link && mkfifo app/data/fifo", root, root);

	fd = new_image(&im);
	/* The library through its symlink chain: lib64 link, then the absolute
	 * target through the "lib" directory symlink. */
	CHECK(image_add_mirror(&im, P("usr/lib64/ld.so"), 0) == 0);
	CHECK(image_add_mirror(&im, P("lib/real/libc.so.6"), 0) == 0);
	/* ".." after a symlink is resolved physically: phys/lnk -> x/deep, so
	 * phys/lnk/../f is phys/x/f (textually it would be phys/f, absent). */
	sh("cd %s && mkdir -p phys/x/deep && echo f > phys/x/f && ln -s x/deep phys/lnk", root);
	CHECK(image_add_mirror(&im, P("phys/lnk/../f"), 0) == 0);
	CHECK(image_add_mirror(&im, P("phys/./x/deep/../../x/f"), 0) == 0);
	/* Adding the same things again is harmless. */
	CHECK(image_add_mirror(&im, P("lib/real/libc.so.6"), 0) == 0);
	/* A mirrored directory, recursively (the fifo is skipped with a warning). */
	CHECK(image_add_mirror(&im, P("app/data"), 1) == 0);
	/* Placed: a file and a directory at explicit guest paths; "/x/lib" is new,
	 * and a guest path through the mirrored "lib" symlink lands in usr/lib. */
	CHECK(image_add_tree(&im, P("app/bin/prog"), "/opt/tool/prog") == 0);
	CHECK(image_add_tree(&im, P("app/data/sub"), "/srv") == 0);
	{
		char g[600];
		snprintf(g, sizeof(g), "%s/lib/real/extra", root);
		CHECK(image_add_tree(&im, P("app/data/a.txt"), g) == 0);
	}
	/* Conflicts: a file where a directory is, and a different file at a
	 * path that already holds one. */
	CHECK(image_add_tree(&im, P("app/data/a.txt"), "/srv") < 0);
	CHECK(image_add_tree(&im, P("app/data/a.txt"), "/opt/tool/prog") < 0);
	/* Missing files are errors. */
	CHECK(image_add_mirror(&im, P("no/such/file"), 0) < 0);
	CHECK(image_add_tree(&im, P("nothing"), "/x") < 0);
	CHECK(image_finish(&im) == 0);

	list = listing(fd);
	{
		char want[64][600];
		const char *names[] = {
			"", "/usr", "/usr/lib64", "/usr/lib64/ld.so", "/lib", "/usr/lib",
			"/usr/lib/real", "/usr/lib/real/ld.so", "/usr/lib/real/libc.so.6",
			"/usr/lib/real/libc-2.so", "/app", "/app/data", "/app/data/a.txt",
			"/app/data/link", "/app/data/sub", "/app/data/sub/b.txt",
			"/usr/lib/real/extra", "/phys", "/phys/lnk", "/phys/x", "/phys/x/deep",
			"/phys/x/f",
		};
		size_t n = sizeof(names) / sizeof(names[0]);
		for (size_t i = 0; i < n; i++) {
			snprintf(want[i], sizeof(want[i]), "%s%s", rel, names[i]);
			CHECK(has_line(list, want[i]));
			if (!has_line(list, want[i]))
				fprintf(stderr, "missing %s\n", want[i]);
		}
		/* Every parent of the temp root comes first, as directories. */
		CHECK(strncmp(list, "tmp\n", 4) == 0);
	}
	CHECK(has_line(list, "opt") && has_line(list, "opt/tool") && has_line(list, "opt/tool/prog"));
	CHECK(has_line(list, "srv") && has_line(list, "srv/b.txt"));
	CHECK(!strstr(list, "fifo"));
	CHECK(!strstr(list, "app/bin")); /* the link's target was not followed */
	{
		/* No name appears twice. */
		struct strvec seen;
		char *save = NULL, *copy = xstrdup(list);
		strvec_init(&seen);
		for (char *l = strtok_r(copy, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
			CHECK(strvec_find(&seen, l) < 0);
			strvec_push(&seen, l);
		}
		strvec_free(&seen);
		free(copy);
	}
	free(list);

	/* Extract and compare contents and link targets. */
	sh("mkdir %s/out && cd %s/out && cpio -id --quiet < /proc/%d/fd/%d", root, root,
	   (int)getpid(), fd);
	sh("cd %s/out%s && test \"$(cat usr/lib/real/libc.so.6)\" = libc"
	   " && test \"$(readlink usr/lib64/ld.so)\" = %s/lib/real/ld.so"
	   " && test \"$(readlink lib)\" = usr/lib && test \"$(cat ../opt/tool/prog 2>/dev/null ||"
	   " cat %s/out/opt/tool/prog)\" = prog && test -x %s/out/opt/tool/prog"
	   " && test \"$(cat usr/lib/real/extra)\" = a",
	   root, root, root, root, root);
	image_free(&im);
	close(fd);

	/* Generated files (the /etc the tool writes): added with their parents
	 * unless something is already there, through the image's symlinks. */
	fd = new_image(&im);
	sh("cd %s && mkdir -p etc2 && echo mine > etc2/hosts && ln -s etc2 etclink", root);
	CHECK(image_add_tree(&im, P("etc2/hosts"), "/etc/hosts") == 0);
	CHECK(image_add_text(&im, "/etc/hosts", "generated\n", 0644) == 1);
	CHECK(image_add_text(&im, "/etc/deep/er/f", "f\n", 0644) == 0);
	CHECK(image_add_text(&im, "/etc/deep/er/f", "again\n", 0644) == 1);
	CHECK(image_add_mirror(&im, P("etclink"), 0) == 0);
	{
		char g[600];
		snprintf(g, sizeof(g), "%s/etclink/new", root);
		CHECK(image_add_text(&im, g, "via link\n", 0600) == 0);
		snprintf(g, sizeof(g), "%s/etc2/new", root);
		CHECK(image_add_text(&im, g, "again\n", 0644) == 1);
	}
	/* A real file later at a generated path is a conflict, not a silent loss. */
	CHECK(image_add_tree(&im, P("etc2/hosts"), "/etc/deep/er/f") < 0);
	CHECK(image_finish(&im) == 0);
	sh("mkdir %s/out2 && cd %s/out2 && cpio -id --quiet < /proc/%d/fd/%d", root, root,
	   (int)getpid(), fd);
	sh("cd %s/out2 && test \"$(cat etc/hosts)\" = mine && test \"$(cat etc/deep/er/f)\" = f"
	   " && test -d etc/deep && test \"$(cat %s/etc2/new)\" = \"via link\""
	   " && test \"$(stat -c %%a %s/etc2/new)\" = 600 && test \"$(stat -c %%a etc/deep/er/f)\" = 644",
	   root, rel, rel);
	image_free(&im);
	close(fd);
	sh("rm -rf %s", root);
	return CHECK_SUMMARY();
}
