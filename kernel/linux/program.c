/*
 * program_start, placeholder edition: find the program, make sure it is an
 * x86-64 Linux ELF wisp could load (and its interpreter, when it has one),
 * say what it is, and stop there. The Linux ABI replaces the body from
 * "identified" on with loading and running it.
 *
 * Failures follow the shell's statuses: a name that does not resolve is 127,
 * anything found but not runnable is 126.
 */
#include "linux/program.h"
#include "linux/elf.h"
#include "fs/ramfs.h"
#include "arch/x86_64/time.h"
#include "lib/klog.h"

static const char *lookup_error(int err)
{
	switch (err) {
	case -ENOENT:       return "not found in the image";
	case -ENOTDIR:      return "not found: a component of the path is not a directory";
	case -ELOOP:        return "too many levels of symbolic links";
	case -ENAMETOOLONG: return "path too long";
	}
	return "lookup failed";
}

/* Finds path and validates it as an ELF program; what names it in messages
 * ("program" or "interpreter"). Returns 0 or the exit status. */
static int identify(const char *what, const char *path, struct elf_info *info)
{
	struct ramfs_inode *ino;
	int r = ramfs_lookup(path, true, &ino);
	if (r == -ENOENT) {
		pr_err("%s %s not found in the image", what, path);
		return EXIT_NOT_FOUND;
	}
	if (r < 0) {
		pr_err("%s %s: %s", what, path, lookup_error(r));
		return EXIT_NOT_EXECUTABLE;
	}
	if (ramfs_is_dir(ino)) {
		pr_err("%s %s is a directory", what, path);
		return EXIT_NOT_EXECUTABLE;
	}
	if (!ramfs_is_reg(ino)) {
		pr_err("%s %s is not a regular file (mode %#o)", what, path, ino->mode);
		return EXIT_NOT_EXECUTABLE;
	}
	if (!(ino->mode & 0111)) {
		pr_err("%s %s is not executable (mode %04o)", what, path, ino->mode & 07777);
		return EXIT_NOT_EXECUTABLE;
	}
	if (elf_parse(ino->data, ino->size, info) < 0) {
		pr_err("%s %s: %s", what, path, info->why);
		return EXIT_NOT_EXECUTABLE;
	}
	return 0;
}

int program_start(int argc, char **argv, char **envp)
{
	(void)argc;
	(void)envp;
	const char *path = argv[0];
	struct elf_info prog;
	int r = identify("program", path, &prog);
	if (r)
		return r;

	if (prog.kind == ELF_DYNAMIC) {
		struct elf_info interp;
		r = identify("interpreter", prog.interp, &interp);
		if (r) {
			pr_err("program %s needs the interpreter %s", path, prog.interp);
			return r;
		}
		pr_info("program %s: ELF64 x86-64 dynamic (interpreter %s), entry %#lx",
			path, prog.interp, prog.entry);
	} else {
		pr_info("program %s: ELF64 x86-64 %s, entry %#lx", path,
			elf_kind_name(prog.kind), prog.entry);
	}
	pr_debug("program %s: %u PT_LOAD, span [%#lx, %#lx), tls %s, stack %s", path,
		 prog.nload, prog.load_start, prog.load_end, prog.has_tls ? "yes" : "no",
		 prog.exec_stack ? "executable" : "not executable");

	pr_info("program started after %lu us", clock_monotonic_ns() / 1000);
	return 0;
}
