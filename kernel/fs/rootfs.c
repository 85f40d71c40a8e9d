/*
 * Disks at boot: the root file system from a disk (root=), data disks at
 * mount points (mount=), and /etc/wisp/config, the command line a
 * `wisp build` image carries (same syntax as the kernel's: options, `--`,
 * the program and its arguments).
 */
#include "fs/rootfs.h"
#include "fs/vfs.h"
#include "fs/ext2/ext2_vfs.h"
#include "arch/x86_64/power.h"
#include "linux/program.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "mm/heap.h"
#include "errno.h"

extern struct cmdline kernel_cmdline;

#define CONFIG_PATH "/etc/wisp/config"
#define CONFIG_MAX  (64 * 1024)

void rootfs_mount_root(void)
{
	const char *root = cmdline_get(&kernel_cmdline, "root");
	if (!root)
		return;
	bool ro = cmdline_get(&kernel_cmdline, "ro") != NULL;
	if (ext2_mount_disk(root, "/", ro) < 0) {
		pr_err("cannot mount the root file system %s", root);
		machine_exit(EXIT_BAD_IMAGE);
	}
}

/* The options and argv of the config file join the kernel's command line.
 * The command line wins: the file's options go in front of its own (the
 * last env=K or key= counts), and its argv only when it has none. */
static void load_config(void)
{
	struct file *f;
	int r = vfs_open(AT_FDCWD, CONFIG_PATH, O_RDONLY, 0, 0, &f);
	if (r == -ENOENT)
		return;
	if (r < 0) {
		pr_err("%s: cannot open (error %d)", CONFIG_PATH, -r);
		return;
	}
	char *buf = kzalloc(CONFIG_MAX + 1);
	static struct cmdline conf;
	uint64_t pos = 0;
	ssize_t n = buf ? vfs_read(f, buf, CONFIG_MAX, &pos) : -ENOMEM;
	file_put(f);
	if (n < 0) {
		pr_err("%s: cannot read (error %ld)", CONFIG_PATH, (long)-n);
		return;
	}
	if (cmdline_parse(buf, &conf) < 0)
		pr_warn("%s: too many options or arguments; the rest are ignored", CONFIG_PATH);
	struct cmdline *k = &kernel_cmdline;
	int add = MIN(conf.nopts, CMDLINE_MAX_OPTS - k->nopts);
	if (add < conf.nopts)
		pr_warn("%s: too many options; %d ignored", CONFIG_PATH, conf.nopts - add);
	memmove(&k->opts[add], &k->opts[0], (size_t)k->nopts * sizeof(k->opts[0]));
	for (int i = 0; i < add; i++)
		k->opts[i] = conf.opts[i];
	k->nopts += add;
	if (k->argc == 0) {
		for (int i = 0; i < conf.argc; i++)
			k->argv[i] = conf.argv[i];
		k->argc = conf.argc;
		k->argv[k->argc] = NULL;
	}
	pr_debug("%s: %d options, %d arguments", CONFIG_PATH, conf.nopts, conf.argc);
}

static void mount_disks(void)
{
	for (int i = 0; i < kernel_cmdline.nopts; i++) {
		const struct cmdline_opt *o = &kernel_cmdline.opts[i];
		if (strcmp(o->key, "mount"))
			continue;
		/* /dev/vdb:/data[:ro] */
		char spec[160];
		strlcpy(spec, o->value, sizeof(spec));
		char *path = strchr(spec, ':');
		if (!path || path[1] != '/') {
			pr_err("mount=%s: want mount=/dev/vdX:/path[:ro]", o->value);
			machine_exit(EXIT_BAD_IMAGE);
		}
		*path++ = 0;
		char *opt = strchr(path, ':');
		bool ro = false;
		if (opt) {
			*opt++ = 0;
			ro = !strcmp(opt, "ro");
		}
		if (ext2_mount_disk(spec, path, ro) < 0) {
			pr_err("cannot mount %s on %s", spec, path);
			machine_exit(EXIT_BAD_IMAGE);
		}
	}
}

void rootfs_init(void)
{
	if (kernel_cmdline.argc == 0)
		load_config();
	mount_disks();
}
