/*
 * The process model of a single program: exit_group, identity (one fixed
 * identity, root), limits, uname, arch_prctl, the thread-library
 * registrations (threads themselves: clone.c, futex.c, sys_sched.c), and
 * the process-creation calls wisp refuses (DESIGN.md
 * decision 5: there is one program; fork, vfork, execve fail with a Linux
 * errno and one log line).
 */
#include "linux/syscall.h"
#include "linux/task.h"
#include "sched/thread.h"
#include "mm/vm.h"
#include "mm/page_alloc.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/usercopy.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "fs/vfs.h"
#include "errno.h"

static long sys_exit_group(int status)
{
	program_exit(status);
}
SYSCALL(231, exit_group, sys_exit_group, "d");

static long sys_getpid(void) { return 1; }
SYSCALL(39, getpid, sys_getpid, "");
static long sys_getppid(void) { return 0; }
SYSCALL(110, getppid, sys_getppid, "");
static long sys_gettid(void) { return task_current()->tid; }
SYSCALL(186, gettid, sys_gettid, "");
static long sys_getuid(void) { return 0; }
SYSCALL(102, getuid, sys_getuid, "");
static long sys_geteuid(void) { return 0; }
SYSCALL(107, geteuid, sys_geteuid, "");
static long sys_getgid(void) { return 0; }
SYSCALL(104, getgid, sys_getgid, "");
static long sys_getegid(void) { return 0; }
SYSCALL(108, getegid, sys_getegid, "");
static long sys_getpgrp(void) { return 1; }
SYSCALL(111, getpgrp, sys_getpgrp, "");
static long sys_getpgid(int pid) { return pid == 0 || pid == 1 ? 1 : -ESRCH; }
SYSCALL(121, getpgid, sys_getpgid, "d");
static long sys_getsid(int pid) { return pid == 0 || pid == 1 ? 1 : -ESRCH; }
SYSCALL(124, getsid, sys_getsid, "d");
static long sys_setsid(void) { return -EPERM; }   /* already a session leader */
SYSCALL(112, setsid, sys_setsid, "");
static long sys_setpgid(int pid, int pgid)
{
	return (pid == 0 || pid == 1) && (pgid == 0 || pgid == 1) ? 0 : -EPERM;
}
SYSCALL(109, setpgid, sys_setpgid, "dd");

static long sys_getgroups(int size, uint32_t *list)
{
	(void)list;
	if (size < 0)
		return -EINVAL;
	return 0;                          /* no supplementary groups */
}
SYSCALL(115, getgroups, sys_getgroups, "dp");

/* Setting the identity to what it is succeeds; anything else is EPERM
 * (there is only root). */
static long same_id(long a) { return a == 0 || a == -1 ? 0 : -EPERM; }
static long sys_setuid(long uid) { return same_id(uid); }
SYSCALL(105, setuid, sys_setuid, "d");
static long sys_setgid(long gid) { return same_id(gid); }
SYSCALL(106, setgid, sys_setgid, "d");
static long sys_setreuid(long r, long e) { return same_id(r) ? -EPERM : same_id(e); }
SYSCALL(113, setreuid, sys_setreuid, "dd");
static long sys_setregid(long r, long e) { return same_id(r) ? -EPERM : same_id(e); }
SYSCALL(114, setregid, sys_setregid, "dd");
static long sys_setresuid(long r, long e, long s)
{
	return same_id(r) || same_id(e) || same_id(s) ? -EPERM : 0;
}
SYSCALL(117, setresuid, sys_setresuid, "ddd");
static long sys_setresgid(long r, long e, long s)
{
	return same_id(r) || same_id(e) || same_id(s) ? -EPERM : 0;
}
SYSCALL(119, setresgid, sys_setresgid, "ddd");
static long sys_setgroups(long n, const void *list)
{
	(void)list;
	return n == 0 ? 0 : -EPERM;
}
SYSCALL(116, setgroups, sys_setgroups, "dp");

static long get_res(uint32_t *a, uint32_t *b, uint32_t *c)
{
	uint32_t z = 0;
	if (copy_to_user(a, &z, 4) < 0 || copy_to_user(b, &z, 4) < 0 || copy_to_user(c, &z, 4) < 0)
		return -EFAULT;
	return 0;
}
static long sys_getresuid(uint32_t *r, uint32_t *e, uint32_t *s) { return get_res(r, e, s); }
SYSCALL(118, getresuid, sys_getresuid, "ppp");
static long sys_getresgid(uint32_t *r, uint32_t *e, uint32_t *s) { return get_res(r, e, s); }
SYSCALL(120, getresgid, sys_getresgid, "ppp");

/* --- uname ---------------------------------------------------------------- */

struct utsname {
	char sysname[65], nodename[65], release[65], version[65], machine[65], domainname[65];
};

static long sys_uname(struct utsname *u)
{
	struct utsname k;
	memset(&k, 0, sizeof(k));
	strlcpy(k.sysname, "Linux", sizeof(k.sysname));
	strlcpy(k.nodename, "wisp", sizeof(k.nodename));
	/* A release glibc accepts (it refuses kernels older than it was
	 * configured for), reporting the ABI wisp follows. */
	strlcpy(k.release, "6.1.0", sizeof(k.release));
	strlcpy(k.version, "#1 wisp", sizeof(k.version));
	strlcpy(k.machine, "x86_64", sizeof(k.machine));
	strlcpy(k.domainname, "(none)", sizeof(k.domainname));
	return copy_to_user(u, &k, sizeof(k)) < 0 ? -EFAULT : 0;
}
SYSCALL(63, uname, sys_uname, "p");

/* --- limits ------------------------------------------------------------- */

#define RLIMIT_CPU 0
#define RLIMIT_FSIZE 1
#define RLIMIT_DATA 2
#define RLIMIT_STACK 3
#define RLIMIT_CORE 4
#define RLIMIT_RSS 5
#define RLIMIT_NPROC 6
#define RLIMIT_NOFILE 7
#define RLIMIT_MEMLOCK 8
#define RLIMIT_AS 9
#define RLIM_NLIMITS 16
#define RLIM_INFINITY (~0ull)

struct rlimit {
	uint64_t cur, max;
};

static struct rlimit limits[RLIM_NLIMITS];

static void limits_init(void)
{
	static bool done;
	if (done)
		return;
	done = true;
	for (int i = 0; i < RLIM_NLIMITS; i++)
		limits[i].cur = limits[i].max = RLIM_INFINITY;
	limits[RLIMIT_STACK].cur = VM_STACK_SIZE;
	limits[RLIMIT_CORE].cur = limits[RLIMIT_CORE].max = 0;
	limits[RLIMIT_NOFILE].cur = limits[RLIMIT_NOFILE].max = 256;   /* fd_minimal's table */
	limits[RLIMIT_NPROC].cur = limits[RLIMIT_NPROC].max = 4096;
	limits[RLIMIT_MEMLOCK].cur = limits[RLIMIT_MEMLOCK].max = 8ull << 20;
	limits[13].cur = limits[13].max = 0;     /* RLIMIT_NICE */
	limits[14].cur = limits[14].max = 0;     /* RLIMIT_RTPRIO */
	limits[11].cur = limits[11].max = 4096;  /* RLIMIT_SIGPENDING */
	limits[12].cur = limits[12].max = 819200; /* RLIMIT_MSGQUEUE */
}

static long sys_prlimit64(int pid, unsigned res, const struct rlimit *unew, struct rlimit *uold)
{
	limits_init();
	if (pid != 0 && pid != 1)
		return -ESRCH;
	if (res >= RLIM_NLIMITS)
		return -EINVAL;
	struct rlimit n;
	if (unew) {
		if (copy_from_user(&n, unew, sizeof(n)) < 0)
			return -EFAULT;
		if (n.cur > n.max)
			return -EINVAL;
	}
	if (res == RLIMIT_NOFILE) {
		/* The descriptor table's own limits (fs/file.c), which
		 * fd_install enforces (EMFILE): one truth for both. */
		struct rlimit o;
		fd_get_rlimit(&o.cur, &o.max);
		if (unew) {
			int r = fd_set_rlimit(n.cur, n.max);
			if (r < 0)
				return r;
		}
		if (uold && copy_to_user(uold, &o, sizeof(o)) < 0)
			return -EFAULT;
		return 0;
	}
	if (uold && copy_to_user(uold, &limits[res], sizeof(limits[res])) < 0)
		return -EFAULT;
	if (unew)
		limits[res] = n;
	return 0;
}
SYSCALL(302, prlimit64, sys_prlimit64, "dupp");

static long sys_getrlimit(unsigned res, struct rlimit *old)
{
	return sys_prlimit64(0, res, NULL, old);
}
SYSCALL(97, getrlimit, sys_getrlimit, "up");

static long sys_setrlimit(unsigned res, const struct rlimit *n)
{
	return sys_prlimit64(0, res, n, NULL);
}
SYSCALL(160, setrlimit, sys_setrlimit, "up");

/* --- arch_prctl, thread registrations ---------------------------------------- */

#define ARCH_SET_GS 0x1001
#define ARCH_SET_FS 0x1002
#define ARCH_GET_FS 0x1003
#define ARCH_GET_GS 0x1004
#define ARCH_GET_CPUID 0x1011
#define ARCH_SET_CPUID 0x1012

static long sys_arch_prctl(int code, uint64_t addr)
{
	struct task *t = task_current();
	switch (code) {
	case ARCH_SET_FS:
		if (addr >= USER_END)
			return -EPERM;
		t->fs_base = addr;
		wrmsr(MSR_FS_BASE, addr);
		return 0;
	case ARCH_SET_GS:
		if (addr >= USER_END)
			return -EPERM;
		t->gs_base = addr;
		/* The program's GS base is parked in KERNEL_GS_BASE until the
		 * swapgs on the way back. */
		wrmsr(MSR_KERNEL_GS_BASE, addr);
		return 0;
	case ARCH_GET_FS:
		return copy_to_user((void *)addr, &t->fs_base, 8) < 0 ? -EFAULT : 0;
	case ARCH_GET_GS:
		return copy_to_user((void *)addr, &t->gs_base, 8) < 0 ? -EFAULT : 0;
	case ARCH_GET_CPUID:
		return 1;                    /* cpuid is not faulting */
	case ARCH_SET_CPUID:
		return addr ? 0 : -ENODEV;
	default:
		return -EINVAL;
	}
}
SYSCALL(158, arch_prctl, sys_arch_prctl, "xp");

static long sys_set_tid_address(uint64_t tidptr)
{
	struct task *t = task_current();
	t->clear_child_tid = tidptr;
	return t->tid;
}
SYSCALL(218, set_tid_address, sys_set_tid_address, "p");

/* rseq: the C libraries register it when the kernel has it and carry on
 * without it when it returns ENOSYS. Registered here so that no warning
 * is logged for every program. */
static long sys_rseq(void)
{
	return -ENOSYS;
}
SYSCALL(334, rseq, sys_rseq, "pxxx");

#define PR_SET_PDEATHSIG 1
#define PR_GET_PDEATHSIG 2
#define PR_GET_DUMPABLE 3
#define PR_SET_DUMPABLE 4
#define PR_SET_NAME 15
#define PR_GET_NAME 16
#define PR_SET_NO_NEW_PRIVS 38
#define PR_GET_NO_NEW_PRIVS 39
#define PR_SET_THP_DISABLE 41
#define PR_GET_THP_DISABLE 42
#define PR_SET_VMA 0x53564d41

static long sys_prctl(int option, uint64_t a2, uint64_t a3, uint64_t a4, uint64_t a5)
{
	(void)a3; (void)a4; (void)a5;
	struct task *t = task_current();
	static int dumpable = 1, no_new_privs, thp_disable, pdeathsig;
	switch (option) {
	case PR_SET_NAME: {
		char name[16];
		long n = strncpy_from_user(name, (const char *)a2, sizeof(name));
		if (n == -EFAULT)
			return -EFAULT;
		name[15] = 0;
		memcpy(t->comm, name, sizeof(name));
		/* threads: the scheduler's name too (thread listings) */
		strlcpy(t->thread->name, name, sizeof(t->thread->name));
		return 0;
	}
	case PR_GET_NAME:
		return copy_to_user((void *)a2, t->comm, sizeof(t->comm)) < 0 ? -EFAULT : 0;
	case PR_SET_DUMPABLE:
		if (a2 > 1)
			return -EINVAL;
		dumpable = (int)a2;
		return 0;
	case PR_GET_DUMPABLE:
		return dumpable;
	case PR_SET_NO_NEW_PRIVS:
		if (a2 != 1)
			return -EINVAL;
		no_new_privs = 1;
		return 0;
	case PR_GET_NO_NEW_PRIVS:
		return no_new_privs;
	case PR_SET_THP_DISABLE:
		thp_disable = a2 != 0;
		return 0;
	case PR_GET_THP_DISABLE:
		return thp_disable;
	case PR_SET_PDEATHSIG:
		if (a2 > 64)
			return -EINVAL;
		pdeathsig = (int)a2;
		return 0;
	case PR_GET_PDEATHSIG:
		return copy_to_user((void *)a2, &pdeathsig, sizeof(int)) < 0 ? -EFAULT : 0;
	case PR_SET_VMA:
		return 0;                    /* naming anonymous memory: accepted */
	default:
		return -EINVAL;
	}
}
SYSCALL(157, prctl, sys_prctl, "dxxxx");

struct sysinfo {
	int64_t uptime;
	uint64_t loads[3];
	uint64_t totalram, freeram, sharedram, bufferram, totalswap, freeswap;
	uint16_t procs, pad;
	uint32_t pad2;
	uint64_t totalhigh, freehigh;
	uint32_t mem_unit;
	char reserved[4];
};
_Static_assert(sizeof(struct sysinfo) == 112, "struct sysinfo");

static long sys_sysinfo(struct sysinfo *u)
{
	struct page_stats st;
	page_alloc_stats(&st);
	struct sysinfo s = { 0 };
	s.uptime = (int64_t)(clock_monotonic_ns() / 1000000000ull);
	s.totalram = st.total_pages * PAGE_SIZE;
	s.freeram = st.free_pages * PAGE_SIZE;
	s.procs = 1;
	s.mem_unit = 1;
	return copy_to_user(u, &s, sizeof(s)) < 0 ? -EFAULT : 0;
}
SYSCALL(99, sysinfo, sys_sysinfo, "p");

static long sys_personality(unsigned long persona)
{
	/* PER_LINUX; 0xffffffff queries. */
	if (persona != 0xffffffff && (persona & 0xff) != 0)
		return -EINVAL;
	return 0;
}
SYSCALL(135, personality, sys_personality, "x");

/* --- process creation: refused ------------------------------------------------ */

static void refuse_once(int nr, const char *what)
{
	static uint32_t said;
	if (said & (1u << nr))
		return;
	said |= 1u << nr;
	pr_warn("%s: wisp runs one program and cannot create processes: returning ENOSYS", what);
}

static long sys_fork(void) { refuse_once(0, "fork"); return -ENOSYS; }
SYSCALL(57, fork, sys_fork, "");
static long sys_vfork(void) { refuse_once(1, "vfork"); return -ENOSYS; }
SYSCALL(58, vfork, sys_vfork, "");
static long sys_execve(void) { refuse_once(2, "execve"); return -ENOSYS; }
SYSCALL(59, execve, sys_execve, "spp");
static long sys_execveat(void) { refuse_once(3, "execveat"); return -ENOSYS; }
SYSCALL(322, execveat, sys_execveat, "fsppx");

/* No children ever exist. */
static long sys_wait4(void) { return -ECHILD; }
SYSCALL(61, wait4, sys_wait4, "dppp");
static long sys_waitid(void) { return -ECHILD; }
SYSCALL(247, waitid, sys_waitid, "ddpxp");
