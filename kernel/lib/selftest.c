#include "lib/selftest.h"
#include "lib/klog.h"
#include "lib/string.h"

extern const struct selftest __selftests_start[], __selftests_end[];

static bool in_list(const char *list, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if ((len == n && !strncmp(p, name, n)) || (len == 3 && !strncmp(p, "all", 3)))
			return true;
		p += len + (end ? 1 : 0);
	}
	return false;
}

static bool known(const char *word, size_t len)
{
	if (len == 3 && !strncmp(word, "all", 3))
		return true;
	for (const struct selftest *t = __selftests_start; t < __selftests_end; t++)
		if (strlen(t->name) == len && !strncmp(t->name, word, len))
			return true;
	return false;
}

int selftest_run(const char *list)
{
	for (const char *p = list; *p;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		if (!known(p, len)) {
			pr_err("selftest: no test named '%.*s'", (int)len, p);
			return -1;
		}
		p += len + (end ? 1 : 0);
	}
	int failed = 0, ran = 0;
	for (const struct selftest *t = __selftests_start; t < __selftests_end; t++) {
		if (!in_list(list, t->name))
			continue;
		pr_warn("selftest %s: running", t->name);
		int rc = t->run();
		ran++;
		if (rc)
			failed++;
		pr_warn("selftest %s: %s", t->name, rc ? "FAILED" : "ok");
	}
	pr_warn("selftests: %d ran, %d failed", ran, failed);
	return failed;
}
