/* Unit tests for tools/wisp/libresolve.c: ld.so.conf parsing on files made
 * here, and dependency closures of host programs compared with ldd. */
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
#include "../../tools/wisp/elfdeps.c"
#include "../../tools/wisp/libresolve.c"

#include "check.h"

static char tmpdir[] = "/tmp/wisp-libresolve-XXXXXX";

static void write_file(const char *rel, const char *text)
{
	char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
	f = fopen(path, "w");
	CHECK(f != NULL);
	if (f) {
		fputs(text, f);
		fclose(f);
	}
}

static void test_ldconf(void)
{
	struct strvec dirs;
	char path[512];

	CHECK(mkdtemp(tmpdir) != NULL);
	snprintf(path, sizeof(path), "%s/conf.d", tmpdir);
	CHECK(mkdir(path, 0755) == 0);
	write_file("ld.so.conf",
		   "# comment\n"
		   "\n"
		   "   /first/dir   # trailing comment\n"
		   "include conf.d/*.conf\n"
		   "hwcap 0 nosegneg\n"
		   "/old/syntax=libc6\n"
		   "/first/dir\n"          /* duplicate: kept once */
		   "/with//slashes/\n"
		   "include missing/*.conf\n"
		   "include self.conf\n");
	write_file("conf.d/b.conf", "/from/b\n");
	write_file("conf.d/a.conf", "/from/a\ninclude ../conf.d/c.txt\n");
	write_file("conf.d/c.txt", "/from/c\n");
	write_file("self.conf", "include self.conf\n"); /* a cycle must end */

	strvec_init(&dirs);
	snprintf(path, sizeof(path), "%s/ld.so.conf", tmpdir);
	CHECK(ldconf_parse(path, &dirs) == 0);
	CHECK(dirs.n == 6);
	if (dirs.n == 6) {
		CHECK(strcmp(dirs.v[0], "/first/dir") == 0);
		CHECK(strcmp(dirs.v[1], "/from/a") == 0); /* glob order is sorted */
		CHECK(strcmp(dirs.v[2], "/from/c") == 0);
		CHECK(strcmp(dirs.v[3], "/from/b") == 0);
		CHECK(strcmp(dirs.v[4], "/old/syntax") == 0);
		CHECK(strcmp(dirs.v[5], "/with/slashes") == 0);
	} else {
		for (size_t i = 0; i < dirs.n; i++)
			fprintf(stderr, "  dir %s\n", dirs.v[i]);
	}
	strvec_free(&dirs);

	strvec_init(&dirs);
	CHECK(ldconf_parse("/nonexistent/ld.so.conf", &dirs) == 0 && dirs.n == 0);
	strvec_free(&dirs);
}

/* ldd's answer as a sorted, newline-separated list of realpaths. */
static void ldd_set(const char *prog, struct strbuf *out)
{
	char cmd[512], line[1024];
	FILE *f;
	/* ldd on the resolved path: when ldd is handed a symlink, ld.so takes
	 * $ORIGIN from the link's directory, whereas a real exec (which is what
	 * the guest does) takes it from /proc/self/exe, the resolved path. */
	char *real = realpath(prog, NULL);

	prog = real ? real : prog;
	snprintf(cmd, sizeof(cmd),
		 "ldd %s 2>/dev/null | sed -n 's/.*=> \\(\\/[^ ]*\\) .*/\\1/p; s/^\\t\\(\\/[^ ]*\\) .*/\\1/p'"
		 " | xargs -r realpath | sort -u", prog);
	f = popen(cmd, "r");
	free(real);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		strbuf_adds(out, line);
	pclose(f);
}

static int strcmp_ptr(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void our_set(const struct deps_result *res, struct strbuf *out)
{
	struct strvec real;
	strvec_init(&real);
	for (size_t i = 0; i < res->files.n; i++) {
		char *r = realpath(res->files.v[i], NULL);
		if (r && strvec_find(&real, r) < 0)
			strvec_push(&real, r);
		free(r);
	}
	qsort(real.v, real.n, sizeof(char *), strcmp_ptr);
	for (size_t i = 0; i < real.n; i++)
		strbuf_addf(out, "%s\n", real.v[i]);
	strvec_free(&real);
}

static void compare_with_ldd(const char *prog)
{
	struct deps_result res;
	struct strbuf err, want, got;

	if (access(prog, R_OK) != 0) {
		printf("test_tool_libresolve: %s not installed, skipped\n", prog);
		return;
	}
	strbuf_init(&err);
	strbuf_init(&want);
	strbuf_init(&got);
	CHECK(deps_resolve(prog, "/etc/ld.so.conf", &res, &err) == 0);
	if (err.len)
		fprintf(stderr, "%s: %s\n", prog, err.s);
	CHECK(res.is_elf && res.is_dynamic);
	ldd_set(prog, &want);
	our_set(&res, &got);
	CHECK(want.len > 0 && strcmp(want.s, got.s) == 0);
	if (strcmp(want.s, got.s))
		fprintf(stderr, "%s:\nldd:\n%sours:\n%s", prog, want.s, got.s);
	deps_result_free(&res);
	strbuf_free(&err);
	strbuf_free(&want);
	strbuf_free(&got);
}

static void test_host_programs(void)
{
	struct deps_result res;
	struct strbuf err;

	compare_with_ldd("/bin/ls");
	compare_with_ldd("/usr/bin/sqlite3");
	compare_with_ldd("/usr/bin/lua5.4");
	compare_with_ldd("/usr/bin/expr");   /* DT_RUNPATH */
	compare_with_ldd("/usr/bin/busctl"); /* DT_RUNPATH to a private directory */
	compare_with_ldd("/usr/bin/java");   /* DT_RPATH with $ORIGIN, through symlinks */

	strbuf_init(&err);
	if (access("/usr/bin/busybox", R_OK) == 0) {
		CHECK(deps_resolve("/usr/bin/busybox", "/etc/ld.so.conf", &res, &err) == 0);
		CHECK(res.is_elf && res.files.n == 0);
		deps_result_free(&res);
	}
	/* Not ELF: a script is fine and needs nothing. */
	write_file("script.sh", "#!/bin/sh\necho hi\n");
	{
		char p[512];
		snprintf(p, sizeof(p), "%s/script.sh", tmpdir);
		CHECK(deps_resolve(p, "/etc/ld.so.conf", &res, &err) == 0 && !res.is_elf);
		deps_result_free(&res);
	}
	strbuf_free(&err);
}

/* A program needing a library that does not exist: a clear error. */
static void test_missing(void)
{
	char src[512], bin[512], lib[512], cmd[2048];
	struct deps_result res;
	struct strbuf err;

	snprintf(src, sizeof(src), "%s/m.c", tmpdir);
	snprintf(lib, sizeof(lib), "%s/libgone.so", tmpdir);
	snprintf(bin, sizeof(bin), "%s/m", tmpdir);
	write_file("m.c", "int gone(void); int main(void) { return gone(); }\n");
	write_file("gone.c", "int gone(void) { return 0; }\n");
	snprintf(cmd, sizeof(cmd),
		 "cd %s && gcc -shared -fPIC -Wl,-soname,libgone.so gone.c -o libgone.so && "
		 "gcc m.c -L. -lgone -Wl,-rpath,'$ORIGIN' -o m 2>/dev/null", tmpdir);
	if (system(cmd) != 0) {
		printf("test_tool_libresolve: no gcc, missing-library test skipped\n");
		return;
	}
	strbuf_init(&err);
	/* Found through $ORIGIN... */
	CHECK(deps_resolve(bin, "/etc/ld.so.conf", &res, &err) == 0);
	CHECK(strvec_find(&res.files, lib) >= 0);
	deps_result_free(&res);
	/* ...and a clear message once it is gone. */
	CHECK(unlink(lib) == 0);
	CHECK(deps_resolve(bin, "/etc/ld.so.conf", &res, &err) < 0);
	CHECK(strstr(err.s, "needs libgone.so") && strstr(err.s, "not found"));
	deps_result_free(&res);
	strbuf_free(&err);
	(void)src;
}

int main(void)
{
	test_ldconf();
	test_host_programs();
	test_missing();
	{
		char cmd[600];
		snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
		CHECK(system(cmd) == 0);
	}
	return CHECK_SUMMARY();
}
