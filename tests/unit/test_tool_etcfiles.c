/* Unit tests for tools/wisp/etcfiles.c: the generated /etc is well formed. */
#include "../../tools/wisp/buf.c"
#include "../../tools/wisp/etcfiles.c"

#include "check.h"

static const struct etc_file *find(const struct etc_file *f, size_t n, const char *path)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(f[i].path, path))
			return &f[i];
	return NULL;
}

/* Every line has `fields` ':'-separated fields. */
static int colon_fields(const char *text, int fields)
{
	for (const char *l = text; *l;) {
		const char *e = strchr(l, '\n');
		int n = 1;
		if (!e)
			return 0;
		for (const char *p = l; p < e; p++)
			n += *p == ':';
		if (n != fields)
			return 0;
		l = e + 1;
	}
	return 1;
}

int main(void)
{
	struct etc_file *f;
	size_t n = etc_files("10.0.2.3", &f);
	static const char *const want[] = { "/etc/hostname", "/etc/hosts", "/etc/resolv.conf",
		"/etc/nsswitch.conf", "/etc/services", "/etc/protocols", "/etc/passwd",
		"/etc/group" };
	CHECK(n == sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
		const struct etc_file *e = find(f, n, want[i]);
		CHECK(e != NULL);
		if (e) {
			size_t len = strlen(e->text);
			CHECK(len > 0 && e->text[len - 1] == '\n');
		}
	}
	CHECK(!strcmp(find(f, n, "/etc/resolv.conf")->text, "nameserver 10.0.2.3\n"));
	CHECK(!strcmp(find(f, n, "/etc/hostname")->text, "wisp\n"));
	CHECK(strstr(find(f, n, "/etc/hosts")->text, "127.0.0.1\tlocalhost\n"));
	CHECK(strstr(find(f, n, "/etc/nsswitch.conf")->text, "hosts:\tfiles dns\n"));
	CHECK(colon_fields(find(f, n, "/etc/passwd")->text, 7));
	CHECK(colon_fields(find(f, n, "/etc/group")->text, 4));
	CHECK(strstr(find(f, n, "/etc/passwd")->text, "\nnobody:x:65534:65534:"));
	CHECK(strstr(find(f, n, "/etc/group")->text, "\nnogroup:x:65534:\n"));
	etc_files_free(f, n);

	n = etc_files(NULL, &f);
	CHECK(n == 7 && find(f, n, "/etc/resolv.conf") == NULL);
	etc_files_free(f, n);
	return CHECK_SUMMARY();
}
