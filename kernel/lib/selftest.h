/*
 * In-kernel self-tests, chosen with `selftest=name,name,...` (or `all`) on
 * the command line. Each subsystem registers its own with SELFTEST(); the
 * kernel runs the chosen ones after bring-up instead of the program, prints
 * one line per test and exits 0 when all passed, 1 otherwise.
 */
#pragma once

struct selftest {
	const char *name;
	/* Returns 0 on success; prints its own diagnostics with pr_err. */
	int (*run)(void);
};

#define SELFTEST(name_, fn_) \
	static const struct selftest __selftest_##fn_ \
	__attribute__((section(".selftests"), used, aligned(8))) = { name_, fn_ }

/* Runs the tests named in the comma-separated list; returns the number
 * that failed, or -1 when a name is unknown. */
int selftest_run(const char *list);
