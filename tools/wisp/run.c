/* `wisp run`: option parsing and the steps from a host program to a booted
 * VM; see docs/usage.md. */
#include "run.h"

#include <errno.h>
#include <fcntl.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "buf.h"
#include "cmdline.h"
#include "disk.h"
#include "etcfiles.h"
#include "image.h"
#include "libresolve.h"
#include "netopts.h"
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
	int mode;            /* MODE_RUN, MODE_BUILD, MODE_BOOT */
	struct strvec disks; /* --disk FILE[:GUESTPATH] */
	const char *output;  /* build: -o IMAGE */
	unsigned long size_mib;
	const char *format;  /* build: raw or qcow2 */
	struct net_config net;
	const char *pcap;    /* --pcap FILE */
	int net_given;       /* --net or -p: host-side options `wisp build` refuses */
};

enum { MODE_RUN, MODE_BUILD, MODE_BOOT };
static const char *const mode_name[] = { "run", "build", "boot" };

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
	      "      --disk FILE[:GUEST] attach FILE (an ext2 image) as a virtio disk,\n"
	      "                          mounted at GUEST (default /data); repeatable\n"
	      "  -p, --publish [IP:]HOST:GUEST[/udp]  forward host port HOST (on IP,\n"
	      "                          default 127.0.0.1) to the guest's port GUEST;\n"
	      "                          repeatable; needs --net user\n"
	      "      --net user|none|tap:NAME  the NIC's back-end (default user: QEMU's\n"
	      "                          NAT, guest 10.0.2.15, DNS 10.0.2.3)\n"
	      "      --ip A.B.C.D/NN[,gw=A.B.C.D][,dns=A.B.C.D] | dhcp  the guest's\n"
	      "                          address (default: slirp's 10.0.2.15, DHCP on tap)\n"
	      "      --pcap FILE         write every frame the NIC sends or receives to\n"
	      "                          FILE (pcap, for wireshark/tcpdump)\n"
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
	OPT_TRACE, OPT_VERBOSE, OPT_DISK, OPT_API_PORT, OPT_SIZE, OPT_FORMAT,
	OPT_NET, OPT_IP, OPT_PCAP,
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
	{ "disk", required_argument, NULL, OPT_DISK },
	{ "output", required_argument, NULL, 'o' },
	{ "size", required_argument, NULL, OPT_SIZE },
	{ "format", required_argument, NULL, OPT_FORMAT },
	{ "publish", required_argument, NULL, 'p' },
	{ "net", required_argument, NULL, OPT_NET },
	{ "network", required_argument, NULL, OPT_NET },
	{ "ip", required_argument, NULL, OPT_IP },
	{ "pcap", required_argument, NULL, OPT_PCAP },
	/* In the design, not built yet: refused with a clear message. */
	{ "volume", required_argument, NULL, 'v' },
	{ "api-port", required_argument, NULL, OPT_API_PORT },
	{ NULL, 0, NULL, 0 },
};

static int cur_mode;

static int usage_error(const char *fmt, const char *arg)
{
	char msg[512];
	snprintf(msg, sizeof(msg), fmt, arg);
	err_msg("%s (see 'wisp %s --help')", msg, mode_name[cur_mode]);
	return EXIT_TOOL;
}

/* Returns -1 to go on, or an exit status. */
static int parse_options(int argc, char **argv, struct run_opts *o)
{
	int c;

	opterr = 0;
	optind = 1;
	cur_mode = o->mode;
	/* '+': stop at PROGRAM, whose own options are not ours.
	 * ':': report a missing value as ':' rather than '?'. */
	while ((c = getopt_long(argc, argv, "+:m:c:e:ho:p:v:", long_opts, NULL)) != -1) {
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
			if (o->mode == MODE_BUILD)
				build_usage(0);
			else if (o->mode == MODE_BOOT)
				boot_usage(0);
			else
				run_usage(0);
			return 0;
		case 'o':
		case OPT_SIZE:
		case OPT_FORMAT:
			if (o->mode != MODE_BUILD)
				return usage_error("option '%s' is for 'wisp build'",
						   c == 'o' ? "-o" : c == OPT_SIZE ? "--size" : "--format");
			if (c == 'o')
				o->output = optarg;
			else if (c == OPT_SIZE && parse_mem_mib(optarg, &o->size_mib) < 0)
				return usage_error("bad image size '%s': use e.g. 64M or 1G", optarg);
			else if (c == OPT_FORMAT) {
				if (strcmp(optarg, "raw") && strcmp(optarg, "qcow2"))
					return usage_error("bad --format '%s': use raw or qcow2", optarg);
				o->format = optarg;
			}
			break;
		case 'p':
		case OPT_NET:
		case OPT_IP: {
			char e[256];
			int r;
			if (c != OPT_IP && o->mode == MODE_BUILD)
				return usage_error("option '%s' is for 'wisp run' and 'wisp boot': ports "
						   "and the network back-end are chosen when the image "
						   "boots", c == 'p' ? "-p" : "--net");
			r = c == 'p' ? net_add_publish(&o->net, optarg, e, sizeof(e))
			  : c == OPT_NET ? net_parse_mode(&o->net, optarg, e, sizeof(e))
					 : net_parse_ip(&o->net, optarg, e, sizeof(e));
			if (r < 0) {
				err_msg("%s (see 'wisp %s --help')", e, mode_name[cur_mode]);
				return EXIT_TOOL;
			}
			if (c != OPT_IP)
				o->net_given = 1;
			break;
		}
		case 'v':
			err_msg("--volume is not implemented yet; --add copies files in");
			return EXIT_TOOL;
		case OPT_PCAP:
			if (o->mode == MODE_BUILD)
				return usage_error("option '%s' is for 'wisp run' and 'wisp boot'", "--pcap");
			if (!*optarg)
				return usage_error("%s", "--pcap needs a file name");
			o->pcap = optarg;
			break;
		case OPT_DISK:
			if (o->mode == MODE_BUILD)
				return usage_error("option '%s' is for 'wisp run' and 'wisp boot'", "--disk");
			strvec_push(&o->disks, optarg);
			break;
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

/* /etc/hosts, resolv.conf, passwd... where the program's files and --add
 * left them out (etcfiles.h). resolv.conf names the DNS server the guest
 * can reach: --ip's dns=, else slirp's for user networking (also what a
 * built image assumes: it boots with --net user unless told otherwise). */
static int add_etc(struct image *im, const struct run_opts *o)
{
	const char *dns = NULL;
	struct etc_file *f;
	size_t n;
	int rc = 0;

	if (o->net.ip_set && o->net.dns[0])
		dns = o->net.dns;
	else if (o->net.mode == NET_USER)
		dns = SLIRP_DNS;
	n = etc_files(dns, &f);
	for (size_t i = 0; i < n && rc == 0; i++) {
		int r = image_add_text(im, f[i].path, f[i].text, 0644);
		if (r < 0)
			rc = -1;
		else if (r > 0)
			info_msg("%s comes from the added files", f[i].path);
	}
	etc_files_free(f, n);
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
	if (add_etc(im, o) < 0)
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

/* --disk FILE[:GUEST]: split at the last ':' followed by '/', like --add. */
static int disk_spec(const char *spec, char **file, char **guest)
{
	const char *colon = NULL;
	for (const char *p = spec; (p = strchr(p, ':')); p++)
		if (p[1] == '/')
			colon = p;
	if (colon == spec || !*spec) {
		err_msg("--disk %s: the file name is empty", spec);
		return -1;
	}
	*file = colon ? xstrndup(spec, (size_t)(colon - spec)) : xstrdup(spec);
	*guest = path_normalize(colon ? colon + 1 : "/data");
	if (!strcmp(*guest, "/")) {
		err_msg("--disk %s: cannot mount a data disk on /", spec);
		free(*file);
		free(*guest);
		return -1;
	}
	return 0;
}

/* Boots: the kernel with kopts and pargv, the initrd (or -1), the disks. */
struct boot_plan {
	struct strvec kopts;
	struct strvec disks, formats;
	const char **pargv;
	size_t pargc;
	int initrd;
};

/* The disks of --disk, after `first` disks already planned (vda...). */
static int plan_disks(const struct run_opts *o, struct boot_plan *b)
{
	for (size_t i = 0; i < o->disks.n; i++) {
		char *file, *guest;
		enum disk_format fmt;
		if (disk_spec(o->disks.v[i], &file, &guest) < 0)
			return -1;
		if (disk_check(file, "disk", &fmt) < 0) {
			free(file);
			free(guest);
			return -1;
		}
		strvec_pushf(&b->kopts, "mount=/dev/vd%c:%s", (char)('a' + b->disks.n), guest);
		strvec_push(&b->disks, file);
		strvec_push(&b->formats, fmt == DISK_QCOW2 ? "qcow2" : "raw");
		free(file);
		free(guest);
	}
	return 0;
}

/* A published port QEMU cannot bind makes it print a line and exit before
 * the guest starts; checking first gives one clear error instead. (Racy by
 * nature: the port may be taken between here and QEMU's bind.) */
static int check_published_port(const struct net_publish *p)
{
	struct sockaddr_in sa;
	int fd, one = 1, e = 0;

	fd = socket(AF_INET, (p->udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0; /* let QEMU report it */
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)p->host_port);
	inet_pton(AF_INET, p->host_ip, &sa.sin_addr);
	/* As slirp's listener does: a port in TIME_WAIT is free. */
	if (!p->udp)
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		e = errno;
	close(fd);
	if (!e)
		return 0;
	if (e == EADDRINUSE)
		err_msg("-p %s:%u:%u%s: port %u%s on %s is already in use on this host",
			p->host_ip, p->host_port, p->guest_port, p->udp ? "/udp" : "",
			p->host_port, p->udp ? "/udp" : "", p->host_ip);
	else if (e == EADDRNOTAVAIL)
		err_msg("-p %s:%u:%u%s: %s is not an address of this host", p->host_ip,
			p->host_port, p->guest_port, p->udp ? "/udp" : "", p->host_ip);
	else
		err_msg("-p %s:%u:%u%s: cannot bind %s:%u: %s", p->host_ip, p->host_port,
			p->guest_port, p->udp ? "/udp" : "", p->host_ip, p->host_port, strerror(e));
	return -1;
}

/* The NIC's -netdev value (NULL: no NIC) and the kernel's net options. */
static int plan_net(const struct run_opts *o, char **netdev, struct strvec *kopts)
{
	char e[256];

	*netdev = NULL;
	if (net_check(&o->net, e, sizeof(e)) < 0) {
		err_msg("%s", e);
		return -1;
	}
	for (size_t i = 0; i < o->net.npub; i++)
		if (check_published_port(&o->net.pub[i]) < 0)
			return -1;
	if (o->pcap && o->net.mode == NET_NONE) {
		err_msg("--pcap records the NIC's frames: it cannot go with --net none");
		return -1;
	}
	if (o->pcap) {
		/* Fail here, not in QEMU after the boot started. */
		int fd = open(o->pcap, O_WRONLY | O_CREAT | O_CLOEXEC, 0644);
		if (fd < 0) {
			err_msg("--pcap %s: %s", o->pcap, strerror(errno));
			return -1;
		}
		close(fd);
	}
	if (o->net.mode == NET_TAP && access("/dev/net/tun", R_OK | W_OK) < 0) {
		err_msg("--net tap:%s: /dev/net/tun: %s", o->net.tap, strerror(errno));
		return -1;
	}
	*netdev = net_netdev_arg(&o->net);
	/* wisp boot: an image may carry its own ip= (wisp build --ip), which
	 * the command line's would override; without --ip the kernel takes
	 * the image's, or runs DHCP. */
	if (o->mode != MODE_BOOT || o->net.ip_set || o->net.mode != NET_USER)
		net_kernel_opts(&o->net, kopts);
	return 0;
}

static int boot(const struct run_opts *o, struct boot_plan *b)
{
	char *kernel = NULL, *qemu = NULL, *append = NULL, *initrd_path = NULL, *netdev = NULL;
	const char *accel;
	int sv[2] = { -1, -1 }, rc = EXIT_TOOL;
	struct strvec kopts, qargv;

	strvec_init(&kopts);
	strvec_init(&qargv);
	if (!(kernel = find_kernel(o->kernel)) || !(accel = pick_accel(o->accel)))
		goto out;
	if (!(qemu = find_in_path("qemu-system-x86_64", X_OK))) {
		err_msg("qemu-system-x86_64 not found in PATH (install it with scripts/deps.sh)");
		goto out;
	}
	if (b->initrd >= 0)
		initrd_path = xasprintf("/proc/self/fd/%d", b->initrd);
	strvec_push(&kopts, "console=framed");
	if (wisp_verbose)
		strvec_push(&kopts, "loglevel=debug");
	if (o->trace)
		strvec_push(&kopts, "strace");
	for (size_t i = 0; i < b->kopts.n; i++)
		strvec_push(&kopts, b->kopts.v[i]);
	if (plan_net(o, &netdev, &kopts) < 0)
		goto out;
	for (size_t i = 0; i < o->kopts.n; i++)
		strvec_push(&kopts, o->kopts.v[i]);
	append = kcmd_build((const char *const *)kopts.v, kopts.n, b->pargv, b->pargc);

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		err_msg("socketpair: %s", strerror(errno));
		goto out;
	}
	{
		struct qemu_config qc = {
			.binary = qemu, .machine = o->machine, .accel = accel,
			.mem_mib = o->mem_mib, .cpus = o->cpus, .kernel = kernel,
			.initrd = initrd_path, .append = append, .console_fd = sv[1],
			.extra = getenv("WISP_QEMU_EXTRA"), .ndisks = b->disks.n,
			.disks = (const char *const *)b->disks.v,
			.disk_formats = (const char *const *)b->formats.v,
			.netdev = netdev,
			.pcap = netdev ? o->pcap : NULL,
		};
		struct vm_params vp = {
			.console_fd = sv[0], .child_fds = { sv[1], b->initrd },
			.timeout = o->timeout, .timeout_text = o->timeout_text,
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
		b->initrd = -1;
	}
out:
	for (int i = 0; i < 2; i++)
		if (sv[i] >= 0)
			close(sv[i]);
	free(kernel);
	free(qemu);
	free(append);
	free(initrd_path);
	free(netdev);
	strvec_free(&kopts);
	strvec_free(&qargv);
	return rc;
}

static void plan_init(struct boot_plan *b)
{
	memset(b, 0, sizeof(*b));
	strvec_init(&b->kopts);
	strvec_init(&b->disks);
	strvec_init(&b->formats);
	b->initrd = -1;
}

static void plan_free(struct boot_plan *b)
{
	strvec_free(&b->kopts);
	strvec_free(&b->disks);
	strvec_free(&b->formats);
	free(b->pargv);
	if (b->initrd >= 0)
		close(b->initrd);
}

static void opts_init(struct run_opts *o, int mode)
{
	memset(o, 0, sizeof(*o));
	o->accel = "auto";
	o->machine = "microvm";
	o->mem_mib = 128;
	o->cpus = 1;
	o->mode = mode;
	o->format = "raw";
	strvec_init(&o->adds);
	strvec_init(&o->kopts);
	strvec_init(&o->disks);
	net_config_init(&o->net);
}

static void opts_free(struct run_opts *o)
{
	strvec_free(&o->adds);
	strvec_free(&o->kopts);
	strvec_free(&o->disks);
	net_config_free(&o->net);
}

/* The program's argv for the guest: argv[0] is its guest path. */
static void plan_argv(struct boot_plan *b, const char *guest, int argc, char **argv, int first)
{
	b->pargc = (size_t)(argc - first);
	b->pargv = xcalloc(b->pargc + 1, sizeof(char *));
	b->pargv[0] = guest;
	for (int i = first + 1; i < argc; i++)
		b->pargv[i - first] = argv[i];
}

/* Packs the program and --add files into a cpio archive in an unlinked
 * temporary file; returns its fd or -1. */
static int pack(const struct run_opts *o, const char *guest, struct image *im)
{
	int fd = make_initrd_fd();
	if (fd < 0)
		return -1;
	image_init(im, fd);
	if (build_image(im, guest, o) < 0) {
		image_free(im);
		close(fd);
		return -1;
	}
	return fd;
}

int cmd_run(int argc, char **argv)
{
	struct run_opts o;
	struct boot_plan b;
	char *prog = NULL, *guest = NULL;
	struct image im;
	int rc;

	opts_init(&o, MODE_RUN);
	plan_init(&b);
	rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		goto out;
	rc = EXIT_TOOL;
	if (optind >= argc) {
		usage_error("%s", "no PROGRAM given");
		goto out;
	}
	if (!(prog = resolve_program(argv[optind])) || !(guest = guest_path_of(prog)))
		goto out;
	if (plan_disks(&o, &b) < 0)
		goto out;
	if ((b.initrd = pack(&o, guest, &im)) < 0)
		goto out;
	image_free(&im);
	plan_argv(&b, guest, argc, argv, optind);
	rc = boot(&o, &b);
out:
	plan_free(&b);
	free(prog);
	free(guest);
	opts_free(&o);
	return rc;
}

/* --- wisp build / wisp boot ------------------------------------------------------- */

void build_usage(int to_stderr)
{
	fputs("usage: wisp build -o IMAGE [OPTIONS] [--] PROGRAM [ARGS...]\n"
	      "\n"
	      "Write a bootable disk image: an ext2 file system (made by mke2fs -d) with\n"
	      "PROGRAM, its interpreter and shared libraries, the --add files, and\n"
	      "/etc/wisp/config (the command line: PROGRAM ARGS and -e variables).\n"
	      "'wisp boot IMAGE' boots it.\n"
	      "\n"
	      "options:\n"
	      "  -o, --output IMAGE      the image to write (replaced if it exists)\n"
	      "      --size SIZE         file system size: 64M, 1G (default: the\n"
	      "                          content + 50% + 16 MiB)\n"
	      "      --format raw|qcow2  image format (default raw; qcow2 needs qemu-img)\n"
	      "  -e, --env K=V           environment variable for the program\n"
	      "      --add HOST[:GUEST]  add a file or directory (as for 'wisp run')\n"
	      "      --ip A.B.C.D/NN[,gw=..][,dns=..] | dhcp  the guest's address, kept in\n"
	      "                          the image (-p and --net are 'wisp boot' options)\n"
	      "      --verbose           list what is packed\n"
	      "  -h, --help              this text\n",
	      to_stderr ? stderr : stdout);
}

void boot_usage(int to_stderr)
{
	fputs("usage: wisp boot IMAGE [OPTIONS] [-- PROGRAM ARGS...]\n"
	      "\n"
	      "Boot a disk image made by 'wisp build' (the image is the root file\n"
	      "system, attached read-write as virtio disk vda). The program and its\n"
	      "arguments come from the image's /etc/wisp/config unless given here.\n"
	      "\n"
	      "options: -m, -c, --timeout, --accel, --machine, --kernel, --disk, -p, --pcap,\n"
	      "--net, --ip, --trace-syscalls, --verbose, -e as for 'wisp run' (see\n"
	      "'wisp run --help'). Without --ip the image's address applies, else DHCP.\n",
	      to_stderr ? stderr : stdout);
}

static void progress(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void progress(const char *fmt, ...)
{
	va_list ap;
	fputs("wisp: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

static int write_text(const char *path, const char *text, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0 || write_all(fd, text, strlen(text)) < 0) {
		err_msg("%s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		return -1;
	}
	close(fd);
	return 0;
}

/* What the kernel expects in a root image besides the program. */
static int stage_extras(const char *stage, const char *config)
{
	static const struct { const char *p; mode_t m; } dirs[] = {
		{ "etc", 0755 }, { "etc/wisp", 0755 }, { "dev", 0755 }, { "proc", 0555 },
		{ "sys", 0555 }, { "tmp", 01777 }, { "data", 0755 },
	};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char *d = path_join(stage, dirs[i].p);
		if (mkdir(d, dirs[i].m) < 0 && errno != EEXIST) {
			err_msg("staging %s: %s", d, strerror(errno));
			free(d);
			return -1;
		}
		chmod(d, dirs[i].m);
		free(d);
	}
	char *c = path_join(stage, "etc/wisp/config");
	int r = write_text(c, config, 0644);
	free(c);
	return r;
}

int cmd_build(int argc, char **argv)
{
	struct run_opts o;
	struct boot_plan b;
	char *prog = NULL, *guest = NULL, *stage = NULL, *config = NULL, *raw = NULL;
	struct image im;
	int rc, fd = -1;

	opts_init(&o, MODE_BUILD);
	plan_init(&b);
	rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		goto out;
	rc = EXIT_TOOL;
	if (!o.output) {
		usage_error("%s", "no output image given (-o IMAGE)");
		goto out;
	}
	if (optind >= argc) {
		usage_error("%s", "no PROGRAM given");
		goto out;
	}
	if (!(prog = resolve_program(argv[optind])) || !(guest = guest_path_of(prog)))
		goto out;
	progress("packing %s and its libraries", guest);
	if ((fd = pack(&o, guest, &im)) < 0)
		goto out;
	uint64_t content = im.file_bytes;
	unsigned long entries = im.n_entries;
	image_free(&im);
	if (!(stage = make_temp_dir("wisp-build")))
		goto out;
	progress("staging %lu entries, %.1f MiB of files", entries, content / 1048576.0);
	if (cpio_extract_fd(fd, stage) < 0)
		goto out;
	/* The command line the kernel reads at boot: -e variables, then
	 * -- PROGRAM ARGS, in the kernel command line's syntax. */
	plan_argv(&b, guest, argc, argv, optind);
	{
		/* --ip is the guest's own setting: it travels in the image. */
		struct strvec ko;
		strvec_init(&ko);
		if (o.net.ip_set)
			net_kernel_opts(&o.net, &ko);
		for (size_t i = 0; i < o.kopts.n; i++)
			strvec_push(&ko, o.kopts.v[i]);
		config = kcmd_build((const char *const *)ko.v, ko.n, b.pargv, b.pargc);
		strvec_free(&ko);
	}
	{
		char *nl = xasprintf("%s\n", config);
		free(config);
		config = nl;
	}
	if (stage_extras(stage, config) < 0)
		goto out;

	uint64_t need = content + (uint64_t)entries * 4096 + (1u << 20);
	uint64_t size = o.size_mib ? (uint64_t)o.size_mib << 20
				   : content + content / 2 + (uint64_t)entries * 4096 + (16u << 20);
	size = (size + (1u << 20) - 1) & ~(uint64_t)((1u << 20) - 1);
	if (size < need) {
		err_msg("--size %luM is too small: the files need about %llu MiB", o.size_mib,
			(unsigned long long)((need + (1u << 20) - 1) >> 20));
		goto out;
	}
	bool qcow2 = !strcmp(o.format, "qcow2");
	/* Next to the output (not in the staged tree), renamed or converted. */
	raw = xasprintf("%s.tmp", o.output);
	{
		int out = open(raw, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (out < 0) {
			err_msg("%s: %s", raw, strerror(errno));
			goto out;
		}
		close(out);
	}
	progress("making an ext2 file system of %llu MiB", (unsigned long long)(size >> 20));
	{
		char *size_arg = xasprintf("%lluk", (unsigned long long)(size >> 10));
		char *mk[] = { "mke2fs", "-q", "-F", "-t", "ext2", "-b", "4096", "-I", "256",
			       "-m", "0", "-L", "wisp", "-d", stage, raw, size_arg, NULL };
		int r = run_tool(mk);
		free(size_arg);
		if (r < 0) {
			unlink(raw);
			goto out;
		}
	}
	if (qcow2) {
		progress("converting to qcow2");
		char *cv[] = { "qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, (char *)o.output, NULL };
		int r = run_tool(cv);
		unlink(raw);
		if (r < 0)
			goto out;
	} else if (rename(raw, o.output) < 0) {
		err_msg("%s: %s", o.output, strerror(errno));
		unlink(raw);
		goto out;
	}
	progress("wrote %s (%llu MiB, %s)", o.output, (unsigned long long)(size >> 20), o.format);
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	if (stage) {
		remove_tree(stage);
		free(stage);
	}
	plan_free(&b);
	free(prog);
	free(guest);
	free(config);
	free(raw);
	opts_free(&o);
	return rc;
}

int cmd_boot(int argc, char **argv)
{
	struct run_opts o;
	struct boot_plan b;
	enum disk_format fmt;
	int rc;

	opts_init(&o, MODE_BOOT);
	plan_init(&b);
	rc = parse_options(argc, argv, &o);
	if (rc >= 0)
		goto out;
	rc = EXIT_TOOL;
	/* IMAGE, then our options may follow it: parse again from there. */
	if (optind >= argc) {
		usage_error("%s", "no IMAGE given");
		goto out;
	}
	const char *image = argv[optind];
	int rest = optind + 1;
	if (rest < argc && strcmp(argv[rest], "--")) {
		char **sub = argv + rest - 1;   /* argv[0] slot: IMAGE */
		int subc = argc - rest + 1;
		rc = parse_options(subc, sub, &o);
		if (rc >= 0)
			goto out;
		rc = EXIT_TOOL;
		rest = rest - 1 + optind;
	}
	if (rest < argc && !strcmp(argv[rest], "--"))
		rest++;
	if (disk_check(image, "image", &fmt) < 0)
		goto out;
	strvec_push(&b.kopts, "root=/dev/vda");
	strvec_push(&b.disks, image);
	strvec_push(&b.formats, fmt == DISK_QCOW2 ? "qcow2" : "raw");
	if (plan_disks(&o, &b) < 0)
		goto out;
	if (rest < argc) {
		plan_argv(&b, argv[rest], argc, argv, rest);
	} else {
		b.pargv = xcalloc(1, sizeof(char *));
		b.pargc = 0;
	}
	rc = boot(&o, &b);
out:
	plan_free(&b);
	opts_free(&o);
	return rc;
}
