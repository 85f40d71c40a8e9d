/* Unit tests for tools/wisp/{buf,paths,pathmap}.c. */
#include "../../tools/wisp/buf.c"
#include "../../tools/wisp/paths.c"
#include "../../tools/wisp/pathmap.c"

#include "check.h"

static int norm_is(const char *in, const char *want)
{
	char *got = path_normalize(in);
	int ok = strcmp(got, want) == 0;
	if (!ok)
		fprintf(stderr, "path_normalize(\"%s\") = \"%s\", want \"%s\"\n", in, got, want);
	free(got);
	return ok;
}

static int str_is(char *got, const char *want)
{
	int ok = strcmp(got, want) == 0;
	if (!ok)
		fprintf(stderr, "got \"%s\", want \"%s\"\n", got, want);
	free(got);
	return ok;
}

static void test_normalize(void)
{
	CHECK(norm_is("/", "/"));
	CHECK(norm_is("//", "/"));
	CHECK(norm_is("", "."));
	CHECK(norm_is(".", "."));
	CHECK(norm_is("./", "."));
	CHECK(norm_is("/usr//bin/", "/usr/bin"));
	CHECK(norm_is("/usr/./bin/.", "/usr/bin"));
	CHECK(norm_is("/usr/lib/../bin", "/usr/bin"));
	CHECK(norm_is("/..", "/"));
	CHECK(norm_is("/../../a", "/a"));
	CHECK(norm_is("a/..", "."));
	CHECK(norm_is("../a", "../a"));
	CHECK(norm_is("../../a/../b", "../../b"));
	CHECK(norm_is("a/../../b", "../b"));
	CHECK(norm_is("a/b/c/../../d", "a/d"));
	CHECK(norm_is("...", "..."));
	CHECK(norm_is("/a/.hidden/..x", "/a/.hidden/..x"));
}

static void test_join_dirname(void)
{
	CHECK(str_is(path_join("/usr/lib64", "../lib/x"), "/usr/lib/x"));
	CHECK(str_is(path_join("/usr/lib64", "/abs/y"), "/abs/y"));
	CHECK(str_is(path_join("/", "usr"), "/usr"));
	CHECK(str_is(path_dirname("/a/b"), "/a"));
	CHECK(str_is(path_dirname("/a/b/"), "/a"));
	CHECK(str_is(path_dirname("/a"), "/"));
	CHECK(str_is(path_dirname("/"), "/"));
	CHECK(str_is(path_dirname("a"), "."));
	CHECK(str_is(path_dirname("a//b"), "a"));
	CHECK(strcmp(path_basename("/usr/bin/ls"), "ls") == 0);
	CHECK(strcmp(path_basename("ls"), "ls") == 0);
	CHECK(strcmp(path_basename("/"), "") == 0);
	CHECK(path_is_parent("/", "/a"));
	CHECK(!path_is_parent("/", "/"));
	CHECK(path_is_parent("/a", "/a/b"));
	CHECK(!path_is_parent("/a", "/ab"));
	CHECK(!path_is_parent("/a", "/a"));
}

static void test_pathmap(void)
{
	struct pathmap m;
	char name[64];

	pathmap_init(&m);
	CHECK(pathmap_get(&m, "/usr") == NULL);
	CHECK(pathmap_put(&m, "/usr", PM_DIR, NULL, NULL) != NULL);
	CHECK(pathmap_put(&m, "/lib", PM_LINK, "usr/lib", NULL) != NULL);
	CHECK(pathmap_put(&m, "/usr/bin/ls", PM_FILE, NULL, "/usr/bin/ls") != NULL);
	/* Enough entries to force several rehashes. */
	for (int i = 0; i < 1000; i++) {
		snprintf(name, sizeof(name), "/d/%d", i);
		pathmap_put(&m, name, PM_DIR, NULL, NULL);
	}
	CHECK(m.count == 1003);
	CHECK(pathmap_get(&m, "/usr")->type == PM_DIR);
	CHECK(strcmp(pathmap_get(&m, "/lib")->target, "usr/lib") == 0);
	CHECK(strcmp(pathmap_get(&m, "/usr/bin/ls")->source, "/usr/bin/ls") == 0);
	CHECK(pathmap_get(&m, "/d/999") != NULL);
	CHECK(pathmap_get(&m, "/d/1000") == NULL);
	/* Replacing keeps the count. */
	pathmap_put(&m, "/lib", PM_DIR, NULL, NULL);
	CHECK(m.count == 1003 && pathmap_get(&m, "/lib")->type == PM_DIR);
	pathmap_free(&m);
}

static void test_buf(void)
{
	struct strbuf b;
	struct strvec v;
	char *s;

	strbuf_init(&b);
	for (int i = 0; i < 100; i++)
		strbuf_addf(&b, "%d,", i);
	CHECK(b.len == strlen(b.s));
	CHECK(strncmp(b.s, "0,1,2,", 6) == 0);
	s = strbuf_detach(&b);
	CHECK(b.len == 0 && b.s == NULL);
	free(s);

	strvec_init(&v);
	for (int i = 0; i < 20; i++)
		strvec_pushf(&v, "a%d", i);
	CHECK(v.n == 20 && v.v[20] == NULL);
	CHECK(strvec_find(&v, "a19") == 19 && strvec_find(&v, "b") == -1);
	strvec_free(&v);

	s = xasprintf("%s-%d", "x", 42);
	CHECK(strcmp(s, "x-42") == 0);
	free(s);
}

int main(void)
{
	test_normalize();
	test_join_dirname();
	test_pathmap();
	test_buf();
	return CHECK_SUMMARY();
}
