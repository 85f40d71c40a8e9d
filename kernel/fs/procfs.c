/*
 * /proc and /sys: small synthetic trees described by tables of nodes.
 * A file's text is generated when it is opened (so one open reads one
 * consistent snapshot) into a buffer the file owns; directories list
 * their table, plus /proc/1/fd/ whose entries are the open descriptors,
 * each a "magic" link to the open file (opening it opens that file).
 *
 * Inodes are made on first lookup and kept (there are few of them), so
 * the walk never has to count references to them.
 */
#include "fs/vfs.h"
#include "fs/sys.h"
#include "fs/deps.h"
#include "mm/page_alloc.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/time.h"
#include "fs/deps.h"
#include "lib/cmdline.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "net/proc_net.h"
#include "net/stack.h"
#include "errno.h"

/* From other subsystems, when they are there. */
__attribute__((weak)) const char *program_exe_path(void);
__attribute__((weak)) size_t program_cmdline(char *buf, size_t len);
__attribute__((weak)) size_t program_environ(char *buf, size_t len);
__attribute__((weak)) unsigned sched_cpus_online(void);
__attribute__((weak)) int vm_for_each_vma(void (*fn)(void *ctx, const struct vma *v), void *ctx);
extern struct cmdline kernel_cmdline;

#define PROC_MAGIC  0x9fa0
#define SYSFS_MAGIC 0x62656572

/* --- text buffers ---------------------------------------------------------------- */

struct sbuf {
	char *p;
	size_t len, cap;
	bool oom;
};

static __printf(2, 3) void sb_printf(struct sbuf *b, const char *fmt, ...)
{
	for (;;) {
		va_list ap;
		va_start(ap, fmt);
		size_t room = b->cap - b->len;
		int n = vsnprintf(b->p ? b->p + b->len : NULL, b->p ? room : 0, fmt, ap);
		va_end(ap);
		if (n < 0)
			return;
		if ((size_t)n < room) {
			b->len += (size_t)n;
			return;
		}
		size_t ncap = b->cap ? b->cap * 2 : 1024;
		while (ncap < b->len + (size_t)n + 1)
			ncap *= 2;
		char *np = fs_alloc(ncap);
		if (!np) {
			b->oom = true;
			return;
		}
		if (b->p)
			memcpy(np, b->p, b->len);
		fs_free(b->p);
		b->p = np;
		b->cap = ncap;
	}
}

static void sb_bytes(struct sbuf *b, const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		sb_printf(b, "%c", s[i]);
}

static unsigned ncpus(void)
{
	unsigned n = sched_cpus_online ? sched_cpus_online() : 1;
	return n ? n : 1;
}

/* --- the generators ---------------------------------------------------------------- */

static void gen_cmdline(struct sbuf *b)
{
	char tmp[4096];
	if (program_cmdline) {
		size_t n = program_cmdline(tmp, sizeof(tmp));
		sb_bytes(b, tmp, n);
		return;
	}
	for (int i = 0; i < kernel_cmdline.argc; i++)
		sb_bytes(b, kernel_cmdline.argv[i], strlen(kernel_cmdline.argv[i]) + 1);
}

static void gen_environ(struct sbuf *b)
{
	char tmp[4096];
	if (program_environ)
		sb_bytes(b, tmp, program_environ(tmp, sizeof(tmp)));
}

static void gen_comm(struct sbuf *b)
{
	const char *exe = program_exe_path ? program_exe_path() : NULL;
	const char *name = exe && *exe ? exe : kernel_cmdline.argc ? kernel_cmdline.argv[0] : "wisp";
	const char *slash = strrchr(name, '/');
	char comm[16];
	strlcpy(comm, slash ? slash + 1 : name, sizeof(comm));
	sb_printf(b, "%s\n", comm);
}

static uint64_t vm_kb(void)
{
	struct vm_space *vm = vm_current();
	return vm ? vm->pages * 4 : 0;
}

static void gen_stat(struct sbuf *b)
{
	struct sbuf c = { 0 };
	gen_comm(&c);
	if (c.len)
		c.p[c.len - 1] = 0;
	uint64_t ticks = clock_monotonic_ns() / 10000000u;
	sb_printf(b, "1 (%s) R 0 1 1 0 -1 4194560 0 0 0 0 %lu 0 0 0 20 0 1 0 0 %lu %lu "
		  "18446744073709551615 0 0 0 0 0 0 0 0 0 0 0 0 17 0 0 0 0 0 0 0 0 0 0 0 0 0 0\n",
		  c.p ? c.p : "wisp", ticks, vm_kb() * 1024, vm_kb() / 4);
	fs_free(c.p);
}

static void gen_statm(struct sbuf *b)
{
	uint64_t pages = vm_kb() / 4;
	sb_printf(b, "%lu %lu 0 0 0 %lu 0\n", pages, pages, pages);
}

static void gen_status(struct sbuf *b)
{
	struct sbuf c = { 0 };
	gen_comm(&c);
	uint64_t soft, hard;
	fd_get_rlimit(&soft, &hard);
	sb_printf(b, "Name:\t%s", c.p ? c.p : "wisp\n");
	fs_free(c.p);
	sb_printf(b, "Umask:\t%04o\nState:\tR (running)\nTgid:\t1\nNgid:\t0\nPid:\t1\nPPid:\t0\n"
		  "TracerPid:\t0\nUid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\nFDSize:\t%lu\nGroups:\t\n"
		  "VmPeak:\t%8lu kB\nVmSize:\t%8lu kB\nVmRSS:\t%8lu kB\nThreads:\t1\n"
		  "SigQ:\t0/4096\nSigPnd:\t0000000000000000\nShdPnd:\t0000000000000000\n"
		  "CapEff:\t000001ffffffffff\nSeccomp:\t0\nCpus_allowed_list:\t0-%u\n"
		  "voluntary_ctxt_switches:\t0\nnonvoluntary_ctxt_switches:\t0\n",
		  vfs_umask(), (uint64_t)fd_count_hint(), vm_kb(), vm_kb(), vm_kb(), ncpus() - 1);
}

/* Names of files mapped through mmap(fd), for maps. */
struct mapname {
	struct mapname *next;
	struct inode *inode;
	char name[];
};
static struct mapname *mapnames;

void maps_note_name(struct inode *i, const char *name)
{
	if (!name)
		return;
	vfs_lock();
	for (struct mapname *m = mapnames; m; m = m->next)
		if (m->inode == i) {
			vfs_unlock();
			return;
		}
	struct mapname *m = fs_alloc(sizeof(*m) + strlen(name) + 1);
	if (m) {
		m->inode = i;
		memcpy(m->name, name, strlen(name) + 1);
		m->next = mapnames;
		mapnames = m;
	}
	vfs_unlock();
}

static void map_line(void *ctx, const struct vma *v)
{
	struct sbuf *b = ctx;
	const char *name = "";
	if (v->file) {
		name = "";
		for (struct mapname *m = mapnames; m; m = m->next)
			if (m->inode == v->file)
				name = m->name;
		if (!*name && program_exe_path)
			name = program_exe_path();
	} else if (v->flags & VMA_HEAP) {
		name = "[heap]";
	} else if (v->flags & VMA_STACK) {
		name = "[stack]";
	}
	int n = 0;
	char head[128];
	n = snprintf(head, sizeof(head), "%08lx-%08lx %c%c%c%c %08lx 00:00 %lu",
		     v->start, v->end, v->prot & VMA_READ ? 'r' : '-', v->prot & VMA_WRITE ? 'w' : '-',
		     v->prot & VMA_EXEC ? 'x' : '-', v->flags & VMA_SHARED ? 's' : 'p',
		     v->file ? v->off : 0, v->file ? ((struct inode *)v->file)->ino : 0);
	if (*name)
		sb_printf(b, "%-72s %s\n", head, name);
	else
		sb_printf(b, "%s\n", head);
	(void)n;
}

static void gen_maps(struct sbuf *b)
{
	if (vm_for_each_vma) {
		vm_for_each_vma(map_line, b);
		return;
	}
	struct vm_space *vm = vm_current();
	for (struct vma *v = vm ? vm->vmas.first : NULL; v; v = v->next)
		map_line(b, v);
}

static const char *fs_dev_name(const struct mount *m)
{
	if (!strcmp(m->path, "/"))
		return "rootfs";
	return m->sb->type;
}

static void gen_mounts(struct sbuf *b)
{
	for (int k = 0; ; k++) {
		struct mount *m = vfs_mount_at(k);
		if (!m)
			break;
		sb_printf(b, "%s %s %s %s 0 0\n", fs_dev_name(m), m->path, m->sb->type,
			  (m->flags & 1) ? "ro" : "rw,relatime");
	}
}

static void gen_mountinfo(struct sbuf *b)
{
	for (int k = 0; ; k++) {
		struct mount *m = vfs_mount_at(k);
		if (!m)
			break;
		sb_printf(b, "%d %d %u:%u / %s %s - %s %s %s\n", m->id, m->parent ? m->parent->id : 1,
			  m->sb->dev_major, m->sb->dev_minor, m->path,
			  (m->flags & 1) ? "ro" : "rw,relatime", m->sb->type, fs_dev_name(m),
			  (m->flags & 1) ? "ro" : "rw");
	}
}

static void gen_limits(struct sbuf *b)
{
	uint64_t soft, hard;
	fd_get_rlimit(&soft, &hard);
	sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Limit", "Soft Limit", "Hard Limit", "Units");
	static const struct { const char *name, *soft, *hard, *unit; } rows[] = {
		{ "Max cpu time", "unlimited", "unlimited", "seconds" },
		{ "Max file size", "unlimited", "unlimited", "bytes" },
		{ "Max data size", "unlimited", "unlimited", "bytes" },
		{ "Max stack size", "8388608", "unlimited", "bytes" },
		{ "Max core file size", "0", "0", "bytes" },
		{ "Max resident set", "unlimited", "unlimited", "bytes" },
		{ "Max processes", "4096", "4096", "processes" },
	};
	for (size_t k = 0; k < ARRAY_SIZE(rows); k++)
		sb_printf(b, "%-25s %-20s %-20s %-10s\n", rows[k].name, rows[k].soft, rows[k].hard,
			  rows[k].unit);
	sb_printf(b, "%-25s %-20lu %-20lu %-10s\n", "Max open files", soft, hard, "files");
	sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Max locked memory", "8388608", "8388608", "bytes");
	sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Max address space", "unlimited", "unlimited", "bytes");
	sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Max file locks", "unlimited", "unlimited", "locks");
	sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Max pending signals", "4096", "4096", "signals");
	sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Max msgqueue size", "819200", "819200", "bytes");
	sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Max nice priority", "0", "0", "");
	sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Max realtime priority", "0", "0", "");
	sb_printf(b, "%-25s %-20s %-20s %-10s\n", "Max realtime timeout", "unlimited", "unlimited", "us");
}

static void gen_cpuinfo(struct sbuf *b)
{
	uint32_t a, bx, c, d;
	char vendor[13] = { 0 };
	cpuid(0, 0, &a, &bx, &c, &d);
	memcpy(vendor, &bx, 4);
	memcpy(vendor + 4, &d, 4);
	memcpy(vendor + 8, &c, 4);
	char brand[49] = { 0 };
	cpuid(0x80000000, 0, &a, &bx, &c, &d);
	if (a >= 0x80000004) {
		for (uint32_t l = 0; l < 3; l++) {
			uint32_t r[4];
			cpuid(0x80000002 + l, 0, &r[0], &r[1], &r[2], &r[3]);
			memcpy(brand + 16 * l, r, 16);
		}
	} else {
		strlcpy(brand, "wisp virtual CPU", sizeof(brand));
	}
	cpuid(1, 0, &a, &bx, &c, &d);
	unsigned family = (a >> 8) & 0xf, model = (a >> 4) & 0xf, stepping = a & 0xf;
	if (family == 0xf)
		family += (a >> 20) & 0xff;
	if (family >= 6)
		model |= ((a >> 16) & 0xf) << 4;
	static const struct { int reg; int bit; const char *name; } fl[] = {
		{ 3, 0, "fpu" }, { 3, 4, "tsc" }, { 3, 5, "msr" }, { 3, 6, "pae" }, { 3, 8, "cx8" },
		{ 3, 9, "apic" }, { 3, 15, "cmov" }, { 3, 19, "clflush" }, { 3, 23, "mmx" },
		{ 3, 24, "fxsr" }, { 3, 25, "sse" }, { 3, 26, "sse2" }, { 2, 0, "pni" },
		{ 2, 1, "pclmulqdq" }, { 2, 9, "ssse3" }, { 2, 12, "fma" }, { 2, 13, "cx16" },
		{ 2, 19, "sse4_1" }, { 2, 20, "sse4_2" }, { 2, 22, "movbe" }, { 2, 23, "popcnt" },
		{ 2, 25, "aes" }, { 2, 26, "xsave" }, { 2, 28, "avx" }, { 2, 29, "f16c" },
		{ 2, 30, "rdrand" }, { 2, 31, "hypervisor" },
	};
	for (unsigned cpu = 0; cpu < ncpus(); cpu++) {
		sb_printf(b, "processor\t: %u\nvendor_id\t: %s\ncpu family\t: %u\nmodel\t\t: %u\n"
			  "model name\t: %s\nstepping\t: %u\ncpu MHz\t\t: %lu.%03lu\n"
			  "cache size\t: 512 KB\nphysical id\t: 0\nsiblings\t: %u\ncore id\t\t: %u\n"
			  "cpu cores\t: %u\napicid\t\t: %u\nfpu\t\t: yes\nfpu_exception\t: yes\n"
			  "cpuid level\t: 13\nwp\t\t: yes\nflags\t\t:",
			  cpu, vendor, family, model, brand, stepping, tsc_khz / 1000, tsc_khz % 1000,
			  ncpus(), cpu, ncpus(), cpu);
		for (size_t k = 0; k < ARRAY_SIZE(fl); k++)
			if ((fl[k].reg == 3 ? d : c) & (1u << fl[k].bit))
				sb_printf(b, " %s", fl[k].name);
		sb_printf(b, "\nbogomips\t: %lu.00\nclflush size\t: 64\ncache_alignment\t: 64\n"
			  "address sizes\t: 40 bits physical, 48 bits virtual\n\n",
			  tsc_khz / 500);
	}
}

static void gen_meminfo(struct sbuf *b)
{
	struct page_stats st;
	page_alloc_stats(&st);
	uint64_t total = st.total_pages * 4, avail = st.free_pages * 4;
	sb_printf(b, "MemTotal:       %8lu kB\nMemFree:        %8lu kB\nMemAvailable:   %8lu kB\n"
		  "Buffers:               0 kB\nCached:                0 kB\nSwapCached:            0 kB\n"
		  "Active:                0 kB\nInactive:              0 kB\nSwapTotal:             0 kB\n"
		  "SwapFree:              0 kB\nDirty:                 0 kB\nShmem:                 0 kB\n"
		  "Slab:                  0 kB\nCommitLimit:    %8lu kB\nCommitted_AS:   %8lu kB\n"
		  "VmallocTotal:   34359738367 kB\nHugePages_Total:       0\nHugePages_Free:        0\n"
		  "Hugepagesize:       2048 kB\n",
		  total, avail, avail, total, total - avail);
}

static void gen_pstat(struct sbuf *b)
{
	uint64_t t = clock_monotonic_ns() / 10000000u;
	sb_printf(b, "cpu  0 0 %lu %lu 0 0 0 0 0 0\n", t / 10, t * ncpus());
	for (unsigned c = 0; c < ncpus(); c++)
		sb_printf(b, "cpu%u 0 0 %lu %lu 0 0 0 0 0 0\n", c, t / 10, t);
	uint64_t boot = (clock_realtime_ns() - clock_monotonic_ns()) / 1000000000u;
	sb_printf(b, "intr 0\nctxt 0\nbtime %lu\nprocesses 1\nprocs_running 1\nprocs_blocked 0\n"
		  "softirq 0 0 0 0 0 0 0 0 0 0 0\n", boot);
}

static void gen_uptime(struct sbuf *b)
{
	uint64_t cs = clock_monotonic_ns() / 10000000u;
	sb_printf(b, "%lu.%02lu %lu.%02lu\n", cs / 100, cs % 100, cs * ncpus() / 100,
		  cs * ncpus() % 100);
}

static void gen_loadavg(struct sbuf *b)
{
	sb_printf(b, "0.00 0.00 0.00 1/1 1\n");
}

static void gen_version(struct sbuf *b)
{
	sb_printf(b, "Linux version 6.1.0 (wisp) #1 SMP\n");
}

static void gen_filesystems(struct sbuf *b)
{
	sb_printf(b, "nodev\tsysfs\nnodev\ttmpfs\nnodev\tdevtmpfs\nnodev\tproc\nnodev\tpipefs\n");
}

static void uuid(char *out, const uint8_t *r)
{
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-4%x%02x-%x%x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6] & 0xf, r[7], 8 | (r[8] & 3), r[8] >> 4 & 0xf,
		 r[9], r[10], r[11], r[12], r[13], r[14], r[15]);
}

static void gen_boot_id(struct sbuf *b)
{
	static char id[37];
	if (!id[0]) {
		uint8_t r[16];
		random_bytes(r, sizeof(r));
		uuid(id, r);
	}
	sb_printf(b, "%s\n", id);
}

static void gen_uuid(struct sbuf *b)
{
	char id[37];
	uint8_t r[16];
	random_bytes(r, sizeof(r));
	uuid(id, r);
	sb_printf(b, "%s\n", id);
}

#define TEXT(fn_name, text) \
	static void fn_name(struct sbuf *b) { sb_printf(b, "%s", text); }
TEXT(gen_hostname, "wisp\n")
TEXT(gen_osrelease, "6.1.0\n")
TEXT(gen_ostype, "Linux\n")
TEXT(gen_domainname, "(none)\n")
TEXT(gen_pid_max, "4194304\n")
TEXT(gen_ngroups, "65536\n")
TEXT(gen_cap_last, "40\n")
TEXT(gen_zero, "0\n")
TEXT(gen_somaxconn, "4096\n")
TEXT(gen_pipe_max, "1048576\n")
TEXT(gen_nr_open, "1048576\n")
TEXT(gen_file_max, "9223372036854775807\n")
TEXT(gen_thp, "always madvise [never]\n")
TEXT(gen_port_range, "32768\t60999\n")

/* /proc/net: each table is formatted by its layer (net/stack.h,
 * net/proc_net.h) into a buffer grown until it fits. */
static void gen_net(struct sbuf *b, size_t (*fn)(char *buf, size_t len))
{
	size_t cap = 4096;
	/* The boot's DHCP may still run (with the VFS lock held: at most
	 * its 3 s give-up, once). */
	net_wait_configured();
	for (int tries = 0; tries < 4; tries++) {
		char *p = fs_alloc(cap);
		if (!p) {
			b->oom = true;
			return;
		}
		size_t n = fn(p, cap);
		if (n < cap) {
			sb_printf(b, "%.*s", (int)n, p);
			fs_free(p);
			return;
		}
		fs_free(p);
		cap = n + 4096;
	}
	b->oom = true;
}
#define NET(fn_name, fn) static void fn_name(struct sbuf *b) { gen_net(b, fn); }
NET(gen_net_dev, proc_net_dev)
NET(gen_net_snmp, proc_net_snmp)
NET(gen_net_route, proc_net_route)
NET(gen_net_arp, proc_net_arp)
NET(gen_net_tcp, tcp_proc_net)
NET(gen_net_udp, udp_proc_net)
NET(gen_net_unix, unix_proc_net)

static void gen_cpu_range(struct sbuf *b)
{
	if (ncpus() == 1)
		sb_printf(b, "0\n");
	else
		sb_printf(b, "0-%u\n", ncpus() - 1);
}

/* --- the trees ---------------------------------------------------------------------- */

enum { PK_FILE, PK_DIR, PK_LINK, PK_FDDIR, PK_FDLINK };

struct pnode {
	const char *name;
	int kind;
	uint32_t perm;
	void (*gen)(struct sbuf *b);                   /* PK_FILE */
	const struct pnode *kids;                      /* PK_DIR, ends with name NULL */
	int (*link)(char *buf, size_t len);            /* PK_LINK: target into buf */
};

static int link_self(char *buf, size_t len) { return snprintf(buf, len, "1"); }
static int link_root(char *buf, size_t len) { return snprintf(buf, len, "/"); }
static int link_mounts(char *buf, size_t len) { return snprintf(buf, len, "self/mounts"); }
static int link_thread_self(char *buf, size_t len) { return snprintf(buf, len, "1"); }

static int link_exe(char *buf, size_t len)
{
	const char *exe = program_exe_path ? program_exe_path() : NULL;
	if (!exe || !*exe)
		exe = kernel_cmdline.argc ? kernel_cmdline.argv[0] : "/";
	return snprintf(buf, len, "%s", exe);
}

static int link_cwd(char *buf, size_t len)
{
	struct path p;
	vfs_cwd_locked(&p);
	return vfs_path_name(&p, buf, len);
}

#define F(n, g) { n, PK_FILE, 0444, g, NULL, NULL }
#define W(n, g) { n, PK_FILE, 0644, g, NULL, NULL }
#define D(n, k) { n, PK_DIR, 0555, NULL, k, NULL }
#define L(n, l) { n, PK_LINK, 0777, NULL, NULL, l }
#define END { NULL, 0, 0, NULL, NULL, NULL }

static const struct pnode fd_dir_node = { "fd", PK_FDDIR, 0500, NULL, NULL, NULL };
static const struct pnode fd_link_node = { "", PK_FDLINK, 0700, NULL, NULL, NULL };

static const struct pnode pid_kids[] = {
	L("exe", link_exe), L("cwd", link_cwd), L("root", link_root),
	{ "fd", PK_FDDIR, 0500, NULL, NULL, NULL },
	F("cmdline", gen_cmdline), F("environ", gen_environ), F("stat", gen_stat),
	F("statm", gen_statm), F("status", gen_status), F("maps", gen_maps),
	F("mounts", gen_mounts), F("mountinfo", gen_mountinfo), F("limits", gen_limits),
	W("comm", gen_comm), W("oom_score_adj", gen_zero),
	END
};

static const struct pnode random_kids[] = {
	F("boot_id", gen_boot_id), F("uuid", gen_uuid), F("entropy_avail", gen_pid_max), END
};
static const struct pnode kernel_kids[] = {
	W("hostname", gen_hostname), F("osrelease", gen_osrelease), F("ostype", gen_ostype),
	W("domainname", gen_domainname), F("pid_max", gen_pid_max),
	F("ngroups_max", gen_ngroups), F("cap_last_cap", gen_cap_last),
	D("random", random_kids), END
};
static const struct pnode vm_kids[] = {
	W("overcommit_memory", gen_zero), W("max_map_count", gen_pid_max), END
};
static const struct pnode core_kids[] = { W("somaxconn", gen_somaxconn), END };
static const struct pnode ipv4_kids[] = { W("ip_local_port_range", gen_port_range), END };
static const struct pnode net_kids[] = { D("core", core_kids), D("ipv4", ipv4_kids), END };
static const struct pnode fs_kids[] = {
	W("pipe-max-size", gen_pipe_max), F("nr_open", gen_nr_open), F("file-max", gen_file_max),
	END
};
static const struct pnode sys_kids[] = {
	D("kernel", kernel_kids), D("vm", vm_kids), D("net", net_kids), D("fs", fs_kids), END
};

static const struct pnode proc_net_kids[] = {
	F("dev", gen_net_dev), F("snmp", gen_net_snmp), F("route", gen_net_route),
	F("arp", gen_net_arp), F("tcp", gen_net_tcp), F("udp", gen_net_udp),
	F("unix", gen_net_unix), END
};

static const struct pnode proc_kids[] = {
	L("self", link_self), L("thread-self", link_thread_self), D("1", pid_kids),
	F("cpuinfo", gen_cpuinfo), F("meminfo", gen_meminfo), F("stat", gen_pstat),
	F("uptime", gen_uptime), F("loadavg", gen_loadavg), F("version", gen_version),
	F("filesystems", gen_filesystems), L("mounts", link_mounts), D("sys", sys_kids),
	D("net", proc_net_kids),
	END
};
static const struct pnode proc_root = D("", proc_kids);

static const struct pnode cpu_kids[] = {
	F("online", gen_cpu_range), F("possible", gen_cpu_range), F("present", gen_cpu_range), END
};
static const struct pnode system_kids[] = { D("cpu", cpu_kids), END };
static const struct pnode devices_kids[] = { D("system", system_kids), END };
static const struct pnode thp_kids[] = { F("enabled", gen_thp), END };
static const struct pnode mm_kids[] = { D("transparent_hugepage", thp_kids), END };
static const struct pnode skernel_kids[] = { D("mm", mm_kids), END };
static const struct pnode sfs_kids[] = { D("cgroup", NULL), END };
static const struct pnode sys_root_kids[] = {
	D("devices", devices_kids), D("kernel", skernel_kids), D("fs", sfs_kids), END
};
static const struct pnode sys_root = D("", sys_root_kids);

/* --- inodes ------------------------------------------------------------------------ */

struct pinfo {
	const struct pnode *node;
	int arg;                    /* PK_FDLINK: the fd */
	struct inode *parent;
	char link[PATH_MAX];        /* the last target given out (lock held) */
};

struct pcache {
	struct pcache *next;
	struct inode inode;
	struct pinfo info;
};

static struct pcache *cache;
static const struct inode_ops proc_iops, proc_fd_iops;
static struct super proc_sb, sys_sb;

static struct inode *pnode_inode(struct super *sb, const struct pnode *n, int arg,
				 struct inode *parent)
{
	for (struct pcache *c = cache; c; c = c->next)
		if (c->info.node == n && c->info.arg == arg && c->info.parent == parent)
			return &c->inode;
	struct pcache *c = fs_alloc(sizeof(*c));
	if (!c)
		return NULL;
	static uint64_t next_ino = 2;
	struct inode *i = &c->inode;
	i->ino = parent ? ++next_ino : 1;
	switch (n->kind) {
	case PK_FILE: i->mode = S_IFREG | n->perm; break;
	case PK_LINK: case PK_FDLINK: i->mode = S_IFLNK | n->perm; break;
	default: i->mode = S_IFDIR | n->perm; break;
	}
	i->nlink = S_ISDIR(i->mode) ? 2 : 1;
	i->ops = n->kind == PK_FDLINK ? &proc_fd_iops : &proc_iops;
	i->sb = sb;
	i->refs = 1;                 /* cached for good */
	inode_touch(i, true, true, true);
	i->btime = i->mtime;
	i->priv = &c->info;
	c->info.node = n;
	c->info.arg = arg;
	c->info.parent = parent ? parent : i;
	c->next = cache;
	cache = c;
	return i;
}

static struct pinfo *info(struct inode *i)
{
	return i->priv;
}

static bool fd_open(int fd)
{
	struct file *f = fd_get(fd);
	if (!f)
		return false;
	file_put(f);
	return true;
}

static int p_lookup(struct inode *dir, const char *name, size_t len, struct inode **out)
{
	struct pinfo *pi = info(dir);
	if (len == 2 && name[0] == '.' && name[1] == '.') {
		*out = pi->parent;
		return 0;
	}
	const struct pnode *n = pi->node;
	if (n->kind == PK_FDDIR) {
		int fd = 0;
		for (size_t k = 0; k < len; k++) {
			if (name[k] < '0' || name[k] > '9' || fd > 100000000)
				return -ENOENT;
			fd = fd * 10 + (name[k] - '0');
		}
		if (!len || (len > 1 && name[0] == '0') || !fd_open(fd))
			return -ENOENT;
		*out = pnode_inode(dir->sb, &fd_link_node, fd, dir);
		return *out ? 0 : -ENOMEM;
	}
	for (const struct pnode *k = n->kids; k && k->name; k++) {
		if (strlen(k->name) == len && !memcmp(k->name, name, len)) {
			*out = pnode_inode(dir->sb, k->kind == PK_FDDIR ? &fd_dir_node : k, 0, dir);
			return *out ? 0 : -ENOMEM;
		}
	}
	return -ENOENT;
}

static int p_readdir(struct inode *dir, uint64_t *cookie, filldir_fn fill, void *ctx)
{
	struct pinfo *pi = info(dir);
	if (*cookie == 0) {
		if (fill(ctx, ".", 1, dir->ino, DT_DIR, 1))
			return 0;
		*cookie = 1;
	}
	if (*cookie == 1) {
		if (fill(ctx, "..", 2, pi->parent->ino, DT_DIR, 2))
			return 0;
		*cookie = 2;
	}
	if (pi->node->kind == PK_FDDIR) {
		int max = fd_count_hint();
		for (int fd = (int)*cookie - 2; fd < max; fd++) {
			if (!fd_open(fd))
				continue;
			char nm[16];
			int len = snprintf(nm, sizeof(nm), "%d", fd);
			struct inode *i = pnode_inode(dir->sb, &fd_link_node, fd, dir);
			if (fill(ctx, nm, (size_t)len, i ? i->ino : 0, DT_LNK, (uint64_t)fd + 3))
				return 0;
			*cookie = (uint64_t)fd + 3;
		}
		return 0;
	}
	uint64_t idx = 0;
	for (const struct pnode *k = pi->node->kids; k && k->name; k++, idx++) {
		if (idx + 2 < *cookie)
			continue;
		struct inode *i = pnode_inode(dir->sb, k->kind == PK_FDDIR ? &fd_dir_node : k, 0, dir);
		unsigned dt = k->kind == PK_FILE ? DT_REG : k->kind == PK_LINK ? DT_LNK : DT_DIR;
		if (fill(ctx, k->name, strlen(k->name), i ? i->ino : 0, dt, idx + 3))
			return 0;
		*cookie = idx + 3;
	}
	return 0;
}

static const char *p_get_link(struct inode *i)
{
	struct pinfo *pi = info(i);
	pi->link[0] = 0;
	if (pi->node->kind == PK_FDLINK) {
		struct file *f = fd_get(pi->arg);
		if (f) {
			strlcpy(pi->link, f->name ? f->name : "?", sizeof(pi->link));
			file_put(f);
		}
	} else if (pi->node->link) {
		if (pi->node->link(pi->link, sizeof(pi->link)) < 0)
			pi->link[0] = 0;
	}
	return pi->link;
}

static int p_follow(struct inode *i, struct inode **out, struct mount **mnt)
{
	struct pinfo *pi = info(i);
	struct file *f = fd_get(pi->arg);
	if (!f)
		return -ENOENT;
	*out = f->path.inode;
	*mnt = f->path.mnt;
	file_put(f);               /* the lock keeps the inode */
	return 0;
}

/* File contents: generated at open. */
struct pfile {
	char *p;
	size_t len;
};

static ssize_t pf_read(struct file *f, struct uio *u, uint64_t *pos)
{
	struct pfile *pf = f->priv;
	if (*pos >= pf->len)
		return 0;
	size_t n = MIN(u->resid, pf->len - *pos);
	if (uio_copy_out(u, pf->p + *pos, n) < 0)
		return -EFAULT;
	*pos += n;
	return (ssize_t)n;
}

static ssize_t pf_write(struct file *f, struct uio *u, uint64_t *pos)
{
	/* Settings are accepted and ignored (there is nothing to tune). */
	(void)f;
	size_t n = u->resid;
	u->resid = 0;
	*pos += n;
	return (ssize_t)n;
}

static void pf_release(struct file *f)
{
	struct pfile *pf = f->priv;
	if (pf) {
		fs_free(pf->p);
		fs_free(pf);
	}
}

static const struct file_ops pfile_ops = { .read = pf_read, .write = pf_write,
	.release = pf_release };

static int p_open(struct inode *i, struct file *f)
{
	struct pinfo *pi = info(i);
	if (S_ISDIR(i->mode)) {
		f->ops = &dir_file_ops;
		return 0;
	}
	if (pi->node->kind != PK_FILE)
		return -ELOOP;
	if ((f->mode & FMODE_WRITE) && !(i->mode & 0200))
		return -EACCES;
	struct pfile *pf = fs_alloc(sizeof(*pf));
	if (!pf)
		return -ENOMEM;
	struct sbuf b = { 0 };
	pi->node->gen(&b);
	if (b.oom) {
		fs_free(b.p);
		fs_free(pf);
		return -ENOMEM;
	}
	pf->p = b.p;
	pf->len = b.len;
	f->ops = &pfile_ops;
	f->priv = pf;
	return 0;
}

static int p_truncate(struct inode *i, uint64_t size)
{
	(void)i;
	(void)size;
	return 0;       /* "echo x > /proc/sys/..." opens with O_TRUNC */
}

static const struct inode_ops proc_iops = {
	.lookup = p_lookup,
	.readdir = p_readdir,
	.get_link = p_get_link,
	.open = p_open,
	.truncate = p_truncate,
};

/* fd/N are magic links; other links are plain. */
static const struct inode_ops proc_fd_iops = {
	.get_link = p_get_link,
	.follow = p_follow,
};

static void no_statfs(struct super *sb, uint64_t *blocks, uint64_t *bfree, uint64_t *files,
		      uint64_t *ffree)
{
	(void)sb;
	*blocks = *bfree = *files = *ffree = 0;
}

int procfs_init(void)
{
	proc_sb = (struct super){ .type = "proc", .magic = PROC_MAGIC, .statfs = no_statfs };
	vfs_new_dev(&proc_sb);
	proc_sb.root = pnode_inode(&proc_sb, &proc_root, 0, NULL);
	sys_sb = (struct super){ .type = "sysfs", .magic = SYSFS_MAGIC, .statfs = no_statfs,
				 .read_only = true };
	vfs_new_dev(&sys_sb);
	sys_sb.root = pnode_inode(&sys_sb, &sys_root, 0, NULL);
	if (!proc_sb.root || !sys_sb.root)
		return -ENOMEM;
	int r = vfs_mount(&proc_sb, "/proc", 0);
	if (r == 0)
		r = vfs_mount(&sys_sb, "/sys", 0);
	return r;
}
