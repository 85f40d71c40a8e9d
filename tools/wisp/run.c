/* `wisp run`: option parsing and the steps from a host program to a booted
 * VM; see docs/usage.md. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cmdline.h"
#include "image.h"
#include "libresolve.h"
#include "paths.h"
#include "qemu.h"
#include "util.h"
#include "vm.h"

#define LD_SO_CONF "/etc/ld.so.conf"
#define LD_SO_CACHE "/etc/ld.so.cache"

struct run_opts {
	const char *accel;
	const char *machine;
	unsigned long mem_mib;
	unsigned long cpus;
	double timeout;
	const char *timeout_text;
	struct strvec adds;
	struct strvec kopts; /* kernel options after console=framed */
	const char *kernel;
	int trace;
};

void run_usage(int to_stderr)
{
	fputs("usage: wisp run [OPTIONS] [--] PROGRAM [ARGS...]\n"
	      "\n"
	      "Package PROGRAM (with its interpreter and shared libraries) into an\n"
	      "initramfs and boot it in a wisp VM. The program's stdout and stderr are\n"
	      "ours, our stdin is its stdin, and its exit status is ours.\n"
	      "\n"
	      "options:\n"
	      "  -m, --memory SIZE       guest memory: 512 (MiB), 64M, 1G (default 128M)\n"
	      "  -c, --cpus N            virtual CPUs (default 1)\n"
	      "  -e, --env K=V           set an environment variable (K alone: copy ours)\n"
	      "      --add HOST[:GUEST]  add a file or directory; GUEST defaults to HOST's\n"
	      "                          absolute path\n"
	      "      --timeout S         kill the VM after S seconds (fractions allowed);\n"
	      "                          exit status 124\n"
	      "      --accel auto|kvm|tcg  auto: kvm if /dev/kvm opens, else tcg\n"
	      "      --machine microvm|q35 QEMU machine type (default microvm)\n"
	      "      --monitor qemu      the VM monitor (only qemu for now)\n"
	      "      --kernel PATH       kernel to boot (default $WISP_KERNEL, else\n"
	      "                          kernel.elf next to the wisp binary)\n"
	      "      --trace-syscalls    the kernel logs every system call\n"
	      "      --verbose           kernel info/debug log, QEMU command line, packing\n"
	      "  -h, --help              this text\n"
	      "\n"
	      "exit status: the program's (0..255); 124 timeout; 125 wisp failed;\n"
	      "128+N wisp was killed by signal N. Environment: WISP_KERNEL,\n"
	      "WISP_QEMU_EXTRA (extra QEMU arguments, split on blanks), TMPDIR.\n",
	      to_stderr ? stderr : stdout);
}

enum {
	OPT_ADD = 256, OPT_TIMEOUT, OPT_ACCEL, OPT_MACHINE, OPT_MONITOR, OPT_KERNEL,
	OPT_TRACE, OPT_VERBOSE, OPT_DISK, OPT_API_PORT,
};

static const struct option long_opts[] = {
	{ "memory", required_argument, NULL, 'm' },
	{ "cpus", required_argument, NULL, 'c' },
	{ "env", required_argument, NULL, 'e' },
	{ "add", required_argument, NULL, OPT_ADD },
	{ "timeout", required_argument, NULL, OPT_TIMEOUT },
	{ "accel", required_argument, NULL, OPT_ACCEL },
	{ "machine", required_argument, NULL, OPT_MACHINE },
	{ "monitor", required_argument, NULL, OPT_MONITOR },
	{ "kernel", required_argument, NULL, OPT_KERNEL },
	{ "trace-syscalls", no_argument, NULL, OPT_TRACE },
	{ "verbose", no_argument, NULL, OPT_VERBOSE },
	{ "help", no_argument, NULL, 'h' },
	/* In the design, not built yet: refused with a clear message. */
	{ "publish", required_argument, NULL, 'p' },
	{ "volume", required_argument, NULL, 'v' },
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "api-port", required_argument, NULL, OPT_API_PORT },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *fmt, const char *arg)
{
	char msg[512];
	snprintf(msg, sizeof(msg), fmt, arg);
	err_msg("%s (see 'wisp run --help')", msg);
	return EXIT_TOOL;
}

/* Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct run_opts *o)
{
	int c;

	opterr = 0;
	optind = 1;
	/* '+': stop at PROGRAM, whose own options are not ours.
	 * ':': report a missing value as ':' rather than '?'. */
	while ((c = getopt_long(argc, argv, "+:m:c:e:hp:v:", long_opts, NULL)) != -1) {
		switch (c) {
		case 'm':
			if (parse_mem_mib(optarg, &o->mem_mib) < 0)
				return usage_error("bad memory size '%s': use e.g. 512, 64M or 1G", optarg);
			break;
		case 'c':
			if (parse_count(optarg, 1, 255, &o->cpus) < 0)
				return usage_error("bad CPU count '%s': use 1..255", optarg);
			break;
		case 'e': {
			const char *eq = strchr(optarg, '=');
			if (optarg[0] == 0 || optarg[0] == '=')
				return usage_error("bad environment variable '%s': use K=V", optarg);
			if (eq) {
				strvec_pushf(&o->kopts, "env=%s", optarg);
			} else if (getenv(optarg)) {
				/* -e K: pass our value, like docker; unset: nothing */
				strvec_pushf(&o->kopts, "env=%s=%s", optarg, getenv(optarg));
			}
			break;
		}
		case OPT_ADD:
			strvec_push(&o->adds, optarg);
			break;
		case OPT_TIMEOUT:
			if (parse_seconds(optarg, &o->timeout) < 0)
				return usage_error("bad timeout '%s': use seconds, e.g. 30 or 0.5", optarg);
			o->timeout_text = optarg;
			break;
		case OPT_ACCEL:
			if (strcmp(optarg, "auto") && strcmp(optarg, "kvm") && strcmp(optarg, "tcg"))
				return usage_error("bad --accel '%s': use auto, kvm or tcg", optarg);
			o->accel = optarg;
			break;
		case OPT_MACHINE:
			if (strcmp(optarg, "microvm") && strcmp(optarg, "q35"))
				return usage_error("bad --machine '%s': use microvm or q35", optarg);
			o->machine = optarg;
			break;
		case OPT_MONITOR:
			if (strcmp(optarg, "wisp-vmm") == 0) {
				err_msg("--monitor wisp-vmm is not implemented yet; use --monitor qemu");
				return EXIT_TOOL;
			}
			if (strcmp(optarg, "qemu") && strcmp(optarg, "auto"))
				return usage_error("bad --monitor '%s': use qemu", optarg);
			break;
		case OPT_KERNEL:
			o->kernel = optarg;
			break;
		case OPT_TRACE:
			o->trace = 1;
			break;
		case OPT_VERBOSE:
			wisp_verbose = 1;
			break;
		case 'h':
			run_usage(0);
			return 0;
		case 'p':
			err_msg("--publish is not implemented yet");
			return EXIT_TOOL;
		case 'v':
			err_msg("--volume is not implemented yet; --add copies files in");
			return EXIT_TOOL;
		case OPT_DISK:
			err_msg("--disk is not implemented yet");
			return EXIT_TOOL;
		case OPT_API_PORT:
			err_msg("--api-port is not implemented yet");
			return EXIT_TOOL;
		case ':':
		default: {
			/* The word as typed for long options (without "=value"),
			 * else the short option's letter. */
			const char *word = argv[optind - 1];
			char name[128];
			if (strncmp(word, "--", 2) == 0) {
				size_t n = strcspn(word, "=");
				snprintf(name, sizeof(name), "%.*s", (int)n, word);
				for (const struct option *lo = long_opts; lo->name; lo++)
					if (c == '?' && word[n] == '=' && lo->has_arg == no_argument &&
					    strlen(lo->name) == n - 2 && strncmp(lo->name, word + 2, n - 2) == 0)
						return usage_error("option '%s' takes no value", name);
			} else
				snprintf(name, sizeof(name), "-%c", optopt);
			return usage_error(c == ':' ? "option '%s' needs a value" : "unknown option '%s'",
					   name);
		}
		}
	}
	return -1;
}

/* PROGRAM as given -> an existing, readable regular host file. */
static char *resolve_program(const char *prog)
{
	struct stat st;

	if (!strchr(prog, '/')) {
		char *p = find_in_path(prog, X_OK);
		if (!p)
			err_msg("%s: not found in PATH", prog);
		return p;
	}
	if (stat(prog, &st) < 0) {
		err_msg("%s: %s", prog, strerror(errno));
		return NULL;
	}
	if (!S_ISREG(st.st_mode)) {
		err_msg("%s: not a regular file", prog);
		return NULL;
	}
	if (access(prog, R_OK) < 0) {
		err_msg("%s: %s", prog, strerror(errno));
		return NULL;
	}
	return xstrdup(prog);
}

/* The program's guest path: its host path with the directory resolved but
 * the name kept, so a symlink (busybox applets, alternatives) stays a link. */
static char *guest_path_of(const char *host)
{
	char *dir = path_dirname(host), *real = realpath(dir, NULL), *g;

	g = real ? path_join(real, path_basename(host)) : NULL;
	if (!g)
		err_msg("%s: %s", dir, strerror(errno));
	free(dir);
	free(real);
	return g;
}

/* Made absolute without normalizing: the mirror walk resolves ".." through
 * the file system. */
static char *absolute(const char *p)
{
	char cwd[4096];

	if (p[0] == '/' || !getcwd(cwd, sizeof(cwd)))
		return xstrdup(p);
	return xasprintf("%s/%s", cwd, p);
}

/* --add HOST[:GUEST]. The split is at the last ':' followed by '/', so host
 * paths may contain ':' as long as GUEST is given. */
static int add_one(struct image *im, const char *spec, int placed_pass)
{
	const char *colon = NULL;
	char *host, *guest = NULL;
	int rc;

	for (const char *s = spec; (s = strchr(s, ':')); s++)
		if (s[1] == '/')
			colon = s;
	if (colon && colon == spec) {
		err_msg("--add %s: the host path is empty", spec);
		return -1;
	}
	if ((colon != NULL) != placed_pass)
		return 0; /* mirrored adds go first, placed ones second */
	host = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
	if (colon) {
		guest = path_normalize(colon + 1);
		rc = image_add_tree(im, host, guest);
	} else {
		char *abs = absolute(host);
		struct stat st;
		if (lstat(abs, &st) < 0) {
			err_msg("cannot add %s: %s", host, strerror(errno));
			rc = -1;
		} else {
			rc = image_add_mirror(im, abs, 1);
		}
		free(abs);
	}
	free(host);
	free(guest);
	return rc;
}

static int build_image(struct image *im, const char *prog_guest, const struct run_opts *o)
{
	struct deps_result deps;
	struct strbuf err;
	int rc = -1;

	strbuf_init(&err);
	if (deps_resolve(prog_guest, LD_SO_CONF, &deps, &err) < 0) {
		err_msg("%s", err.s);
		goto out;
	}
	if (!deps.is_elf)
		info_msg("%s is not an ELF file; packed as is", prog_guest);
	/* The program first, then what ld.so will open, then --add (mirrored
	 * before placed, so placed paths resolve through mirrored symlinks). */
	if (image_add_mirror(im, prog_guest, 0) < 0)
		goto out;
	for (size_t i = 0; i < deps.files.n; i++) {
		info_msg("library %s", deps.files.v[i]);
		if (image_add_mirror(im, deps.files.v[i], 0) < 0)
			goto out;
	}
	/* A library found only through ld.so.conf is found by the guest's
	 * ld.so only through the cache. */
	if (deps.used_conf_dir && access(LD_SO_CACHE, R_OK) == 0 &&
	    image_add_mirror(im, LD_SO_CACHE, 0) < 0)
		goto out;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; i < o->adds.n; i++)
			if (add_one(im, o->adds.v[i], pass) < 0)
				goto out;
	if (image_finish(im) < 0)
		goto out;
	info_msg("image: %lu entries, %llu bytes of files", im->n_entries,
		 (unsigned long long)im->file_bytes);
	rc = 0;
out:
	deps_result_free(&deps);
	strbuf_free(&err);
	return rc;
}

static char *find_kernel(const char *opt)
{
	const char *env = getenv("WISP_KERNEL");
	char *k, *dir;
	struct stat st;

	if (opt)
		k = xstrdup(opt);
	else if (env && *env)
		k = xstrdup(env);
	else if ((dir = self_dir())) {
		k = path_join(dir, "kernel.elf");
		free(dir);
	} else {
		err_msg("cannot find the kernel: pass --kernel PATH");
		return NULL;
	}
	if (stat(k, &st) < 0 || !S_ISREG(st.st_mode) || access(k, R_OK) < 0) {
		err_msg("no kernel at %s (build it with 'make', or pass --kernel PATH)", k);
		free(k);
		return NULL;
	}
	return k;
}

static const char *pick_accel(const char *accel)
{
	int fd;

	if (strcmp(accel, "tcg") == 0)
		return "tcg";
	fd = open("/dev/kvm", O_RDWR | O_CLOEXEC);
	if (fd >= 0) {
		close(fd);
		return "kvm";
	}
	if (strcmp(accel, "kvm") == 0) {
		err_msg("--accel kvm: cannot open /dev/kvm: %s", strerror(errno));
		return NULL;
	}
	info_msg("/dev/kvm: %s; using tcg", strerror(errno));
	return "tcg";
}

/* The initramfs goes to an unlinked temporary file that QEMU opens as
 * /proc/self/fd/N: nothing is left behind however wisp ends. */
static int make_initrd_fd(void)
{
	const char *dir = getenv("TMPDIR");
	char *tmpl;
	int fd;

	if (!dir || !*dir)
		dir = "/tmp";
	tmpl = xasprintf("%s/wisp-initrd-XXXXXX", dir);
	fd = mkostemp(tmpl, O_CLOEXEC);
	if (fd < 0)
		err_msg("cannot create a temporary file in %s: %s", dir, strerror(errno));
	else
		unlink(tmpl);
	free(tmpl);
	return fd;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o = { .accel = "auto", .machine = "microvm", .mem_mib = 128, .cpus = 1 };
	char *prog = NULL, *guest = NULL, *kernel = NULL, *qemu = NULL, *append = NULL;
	char *initrd_path = NULL;
	const char *accel;
	struct image im;
	int initrd = -1, sv[2] = { -1, -1 }, rc;
	int have_image = 0;
	struct strvec kopts, qargv;

	strvec_init(&o.adds);
	strvec_init(&o.kopts);
	strvec_init(&kopts);
	strvec_init(&qargv);
	rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		goto out;
	rc = EXIT_TOOL;
	if (optind >= argc) {
		usage_error("%s", "no PROGRAM given");
		goto out;
	}
	if (!(prog = resolve_program(argv[optind])) || !(guest = guest_path_of(prog)) ||
	    !(kernel = find_kernel(o.kernel)) || !(accel = pick_accel(o.accel)))
		goto out;
	if (!(qemu = find_in_path("qemu-system-x86_64", X_OK))) {
		err_msg("qemu-system-x86_64 not found in PATH (install it with scripts/deps.sh)");
		goto out;
	}

	if ((initrd = make_initrd_fd()) < 0)
		goto out;
	image_init(&im, initrd);
	have_image = 1;
	if (build_image(&im, guest, &o) < 0)
		goto out;
	initrd_path = xasprintf("/proc/self/fd/%d", initrd);

	strvec_push(&kopts, "console=framed");
	if (wisp_verbose)
		strvec_push(&kopts, "loglevel=debug");
	if (o.trace)
		strvec_push(&kopts, "strace");
	for (size_t i = 0; i < o.kopts.n; i++)
		strvec_push(&kopts, o.kopts.v[i]);
	{
		/* argv[0] in the guest is the program's guest path. */
		const char **pargv = xcalloc((size_t)(argc - optind) + 1, sizeof(char *));
		pargv[0] = guest;
		for (int i = optind + 1; i < argc; i++)
			pargv[i - optind] = argv[i];
		append = kcmd_build((const char *const *)kopts.v, kopts.n, pargv,
				    (size_t)(argc - optind));
		free(pargv);
	}

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err_msg("socketpair: %s", strerror(errno));
		goto out;
	}
	{
		struct qemu_config qc = {
			.binary = qemu, .machine = o.machine, .accel = accel,
			.mem_mib = o.mem_mib, .cpus = o.cpus, .kernel = kernel,
			.initrd = initrd_path, .append = append, .console_fd = sv[1],
			.extra = getenv("WISP_QEMU_EXTRA"),
		};
		struct vm_params vp = {
			.console_fd = sv[0], .child_fds = { sv[1], initrd },
			.timeout = o.timeout, .timeout_text = o.timeout_text,
		};
		qemu_build_argv(&qc, &qargv);
		if (wisp_verbose) {
			struct strbuf line;
			strbuf_init(&line);
			for (size_t i = 0; i < qargv.n; i++) {
				if (i)
					strbuf_addc(&line, ' ');
				kcmd_add_token(&line, qargv.v[i]);
			}
			info_msg("%s", line.s);
			strbuf_free(&line);
		}
		vp.argv = qargv.v;
		rc = vm_run(&vp);
		/* vm_run closed both child descriptors. */
		sv[1] = -1;
		initrd = -1;
	}
out:
	if (have_image)
		image_free(&im);
	if (initrd >= 0)
		close(initrd);
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	free(prog);
	free(guest);
	free(kernel);
	free(qemu);
	free(append);
	free(initrd_path);
	strvec_free(&o.adds);
	strvec_free(&o.kopts);
	strvec_free(&kopts);
	strvec_free(&qargv);
	return rc;
}
