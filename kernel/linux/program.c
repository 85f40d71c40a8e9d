/*
 * Starting the one program: find it (and its interpreter), map them, build
 * the initial stack, enter ring 3. Never returns: the program ends the VM
 * with exit_group or a fatal signal.
 *
 * Failures follow the shell's statuses: a name that does not resolve is 127,
 * anything found but not runnable is 126.
 */
#include "linux/program.h"
#include "linux/elf.h"
#include "linux/loader.h"
#include "linux/syscall.h"
#include "linux/task.h"
#include "fs/ramfs.h"
#include "fs/vfs.h"
#include "fs/tmpfs.h"
#include "mm/vm.h"
#include "mm/heap.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/usercopy.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "errno.h"

extern struct cmdline kernel_cmdline;

/* The environment when the command line sets nothing else, like `docker
 * run` without a terminal: a PATH and HOME, no TERM (the console is not a
 * terminal to the program: see ioctl in fd_minimal.c). */
static const char *const default_env[] = {
	"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
	"HOME=/",
};

static char exe_path[RAMFS_PATH_MAX];

const char *program_exe_path(void)
{
	return exe_path;
}

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

/* The bytes of the file the ELF check reads: the first HEAD_MAX at most
 * (elf_parse looks at the ELF header, the program headers and the
 * PT_INTERP string only; headers_within checks they are in there). */
#define HEAD_MAX (256 * 1024)

static bool headers_within(const uint8_t *h, size_t n)
{
	if (n < 64)
		return false;
	uint64_t phoff;
	uint16_t phnum;
	memcpy(&phoff, h + 32, 8);
	memcpy(&phnum, h + 56, 2);
	if (phoff > n || (uint64_t)phnum * 56 > n - phoff)
		return false;
	for (unsigned i = 0; i < phnum; i++) {
		uint32_t type;
		uint64_t off, filesz;
		memcpy(&type, h + phoff + i * 56, 4);
		memcpy(&off, h + phoff + i * 56 + 8, 8);
		memcpy(&filesz, h + phoff + i * 56 + 32, 8);
		if (type == 3 && (off > n || filesz > n - off))     /* PT_INTERP */
			return false;
	}
	return true;
}

/* Finds path (through the VFS: the initramfs or a disk) and validates it
 * as an ELF program; what names it in messages ("program" or
 * "interpreter"). *vf: how the loader reads it. Returns 0 or the exit
 * status. */
static int identify(const char *what, const char *path, struct elf_info *info,
		    struct vm_file *vf)
{
	struct inode *ino;
	int r = vfs_stat_path(path, true, &ino);
	if (r == -ENOENT) {
		pr_err("%s %s not found in the image", what, path);
		return EXIT_NOT_FOUND;
	}
	if (r < 0) {
		pr_err("%s %s: %s", what, path, lookup_error(r));
		return EXIT_NOT_EXECUTABLE;
	}
	if (S_ISDIR(ino->mode)) {
		pr_err("%s %s is a directory", what, path);
		return EXIT_NOT_EXECUTABLE;
	}
	if (!S_ISREG(ino->mode)) {
		pr_err("%s %s is not a regular file (mode %#o)", what, path, ino->mode);
		return EXIT_NOT_EXECUTABLE;
	}
	if (!(ino->mode & 0111)) {
		pr_err("%s %s is not executable (mode %04o)", what, path, ino->mode & 07777);
		return EXIT_NOT_EXECUTABLE;
	}
	if (tmpfs_is(ino)) {
		*vf = (struct vm_file){ ino, ino->size, ramfs_file_read };
	} else if (!ino->ops->map_file || (r = ino->ops->map_file(ino, vf)) < 0) {
		pr_err("%s %s: cannot be read (error %d)", what, path, r ? -r : ENODEV);
		return EXIT_NOT_EXECUTABLE;
	}
	/* Kept: info->interp points into it. The mapping keeps the inode. */
	vfs_iget(ino);
	size_t n = (size_t)MIN(vf->size, (uint64_t)HEAD_MAX);
	uint8_t *head = kmalloc(n ? n : 1);
	if (!head) {
		pr_err("out of memory starting the program");
		return EXIT_BAD_IMAGE;
	}
	vf->read(vf->file, 0, head, n);
	if (n < vf->size && !headers_within(head, n)) {
		pr_err("%s %s: ELF headers beyond the first %u KiB", what, path, HEAD_MAX / 1024);
		return EXIT_NOT_EXECUTABLE;
	}
	if (elf_parse(head, vf->size, info) < 0) {
		pr_err("%s %s: %s", what, path, info->why);
		return EXIT_NOT_EXECUTABLE;
	}
	return 0;
}

/* A name without '/' is looked up in the default PATH, like a shell does. */
static void resolve(const char *name, char *out, size_t len)
{
	strlcpy(out, name, len);
	if (strchr(name, '/'))
		return;
	static const char *const dirs[] = {
		"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin",
	};
	for (size_t i = 0; i < ARRAY_SIZE(dirs); i++) {
		struct inode *ino;
		snprintf(out, len, "%s/%s", dirs[i], name);
		if (vfs_stat_path(out, true, &ino) == 0 && S_ISREG(ino->mode))
			return;
	}
	strlcpy(out, name, len);
}

/* Defaults, then `env=K=V` options in order; a later K replaces an earlier
 * one. Returns the count; env has room for max entries + NULL. */
static int build_env(char **envp_in, const char **env, int max)
{
	int n = 0;
	for (size_t i = 0; i < ARRAY_SIZE(default_env) && n < max; i++)
		env[n++] = default_env[i];
	for (int i = 0; envp_in && envp_in[i] && n < max; i++)
		env[n++] = envp_in[i];
	for (int i = 0; i < kernel_cmdline.nopts; i++) {
		const struct cmdline_opt *o = &kernel_cmdline.opts[i];
		if (strcmp(o->key, "env") || !strchr(o->value, '='))
			continue;
		size_t klen = (size_t)(strchr(o->value, '=') - o->value) + 1;
		int j;
		for (j = 0; j < n; j++)
			if (!strncmp(env[j], o->value, klen))
				break;
		if (j < n)
			env[j] = o->value;
		else if (n < max)
			env[n++] = o->value;
	}
	env[n] = NULL;
	return n;
}

static __noreturn void enter_user(struct task *t, uint64_t entry, uint64_t sp)
{
	struct trap_frame *tf = (struct trap_frame *)(t->kstack_top - sizeof(*tf));
	memset(tf, 0, sizeof(*tf));
	tf->rip = entry;
	tf->cs = USER_CS;
	tf->ss = USER_SS;
	tf->rsp = sp;
	tf->rflags = 0x202;              /* IF */
	/* A clean x87 state: default control word, no pending exceptions
	 * (what a new Linux process sees). MXCSR keeps its reset value
	 * 0x1f80, which is Linux's too; no ldmxcsr here, as PVM's ring-0
	 * emulator cannot execute it. */
	__asm__ volatile("fninit");
	pr_info("program started after %lu us", clock_monotonic_ns() / 1000);
	trap_return(tf);
}

int program_start(int argc, char **argv, char **envp)
{
	resolve(argv[0], exe_path, sizeof(exe_path));
	const char *path = exe_path;
	struct elf_info *prog = kzalloc(sizeof(*prog)), *interp = kzalloc(sizeof(*interp));
	if (!prog || !interp) {
		pr_err("out of memory starting the program");
		return EXIT_BAD_IMAGE;
	}
	struct vm_file prog_vf, interp_vf;
	bool has_interp = false;
	int r = identify("program", path, prog, &prog_vf);
	if (r)
		return r;

	if (prog->kind == ELF_DYNAMIC) {
		r = identify("interpreter", prog->interp, interp, &interp_vf);
		has_interp = r == 0;
		if (r) {
			pr_err("program %s needs the interpreter %s", path, prog->interp);
			return r;
		}
		if (interp->kind == ELF_DYNAMIC) {
			pr_err("interpreter %s itself names an interpreter", prog->interp);
			return EXIT_NOT_EXECUTABLE;
		}
		pr_info("program %s: ELF64 x86-64 dynamic (interpreter %s), entry %#lx",
			path, prog->interp, prog->entry);
	} else {
		pr_info("program %s: ELF64 x86-64 %s, entry %#lx", path,
			elf_kind_name(prog->kind), prog->entry);
	}
	pr_debug("program %s: %u PT_LOAD, span [%#lx, %#lx), tls %s, stack %s", path,
		 prog->nload, prog->load_start, prog->load_end, prog->has_tls ? "yes" : "no",
		 prog->exec_stack ? "executable" : "not executable");

	usercopy_init();
	syscall_init();
	vm_init();
	vm_reset();
	struct task *t = task_create_initial();
	if (!t) {
		pr_err("out of memory starting the program");
		return EXIT_BAD_IMAGE;
	}
	task_activate(t);

	struct loaded_image main_img, interp_img;
	r = load_image_file(&prog_vf, prog, true, &main_img);
	if (r < 0) {
		pr_err("program %s: cannot map its segments (error %d)", path, -r);
		return EXIT_NOT_EXECUTABLE;
	}
	vm_set_brk(main_img.end + vm_random_offset(32ull << 20));
	uint64_t entry = main_img.entry;
	if (has_interp) {
		r = load_image_file(&interp_vf, interp, false, &interp_img);
		if (r < 0) {
			pr_err("interpreter %s: cannot map its segments (error %d)", prog->interp, -r);
			return EXIT_NOT_EXECUTABLE;
		}
		entry = interp_img.entry;
	}

	const char *env[CMDLINE_MAX_OPTS + ARRAY_SIZE(default_env) + 16];
	int envc = build_env(envp, env, (int)ARRAY_SIZE(env) - 1);
	struct stack_args sa = {
		.argc = argc, .argv = argv, .envc = envc, .envp = (char *const *)env,
		.execfn = path, .prog = prog, .main = &main_img,
		.interp = has_interp ? &interp_img : NULL, .exec_stack = prog->exec_stack,
	};
	long sp = setup_stack(&sa);
	if (sp < 0) {
		pr_err("program %s: cannot build its stack (error %ld)", path, -sp);
		return EXIT_BAD_IMAGE;
	}
	pr_debug("program %s: entry %#lx, stack %#lx, brk %#lx", path, entry,
		 (uint64_t)sp, vm_current()->brk);
	enter_user(t, entry, (uint64_t)sp);
}
