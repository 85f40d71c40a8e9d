/*
 * System-call dispatch: the table built from the SYSCALL() entries, the
 * MSRs that make `syscall` land in syscall_entry.S, unknown numbers, and
 * the strace-like trace (`strace` kernel flag, `wisp run --trace-syscalls`).
 */
#include "linux/syscall.h"
#include "linux/task.h"
#include "linux/signal.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/usercopy.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "errno.h"

extern const struct syscall_def __syscalls_start[], __syscalls_end[];
extern struct cmdline kernel_cmdline;

static const struct syscall_def *table[SYSCALL_MAX];
static unsigned implemented;
static uint64_t warned[SYSCALL_MAX / 64];
static bool tracing;

void syscall_entry(void);
int syscall_dispatch(struct trap_frame *tf);

#define RFLAGS_TF   (1ul << 8)
#define RFLAGS_IF   (1ul << 9)
#define RFLAGS_DF   (1ul << 10)
#define RFLAGS_IOPL (3ul << 12)
#define RFLAGS_NT   (1ul << 14)
#define RFLAGS_AC   (1ul << 18)

#define CR0_MP (1ul << 1)
#define CR0_EM (1ul << 2)
#define CR0_TS (1ul << 3)
#define CR0_NE (1ul << 5)

void syscall_init_cpu(void)
{
	/* The program's code uses SSE: enable FXSAVE-style state and SIMD
	 * exceptions (the kernel itself never touches these registers). */
	write_cr0((read_cr0() & ~(CR0_EM | CR0_TS)) | CR0_MP | CR0_NE);
	write_cr4(read_cr4() | CR4_OSFXSR | CR4_OSXMMEXCPT);
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, GDT_STAR);
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_SFMASK, RFLAGS_TF | RFLAGS_IF | RFLAGS_DF | RFLAGS_IOPL |
			  RFLAGS_NT | RFLAGS_AC);
}

void syscall_init(void)
{
	for (const struct syscall_def *d = __syscalls_start; d < __syscalls_end; d++) {
		if (d->nr >= SYSCALL_MAX)
			panic("syscall %s: number %u out of range", d->name, d->nr);
		const struct syscall_def *old = table[d->nr];
		if (old && !(old->flags & SYSCALL_F_FALLBACK) && !(d->flags & SYSCALL_F_FALLBACK))
			panic("syscall %u registered twice: %s and %s", d->nr, old->name, d->name);
		if (old && (d->flags & SYSCALL_F_FALLBACK))
			continue;               /* the real one is there already */
		if (!old)
			implemented++;
		table[d->nr] = d;
	}
	tracing = cmdline_get(&kernel_cmdline, "strace") != NULL;
	syscall_init_cpu();
	pr_debug("syscalls: %u implemented", implemented);
}

unsigned syscall_count(void)
{
	return implemented;
}

struct trap_frame *syscall_frame(void)
{
	return task_current()->frame;
}

void syscall_force_iret(void)
{
	task_current()->force_iret = true;
}

/* --- the trace ------------------------------------------------------------ */

static const char *const errno_names[] = {
	[EPERM] = "EPERM", [ENOENT] = "ENOENT", [ESRCH] = "ESRCH", [EINTR] = "EINTR",
	[EIO] = "EIO", [ENXIO] = "ENXIO", [E2BIG] = "E2BIG", [ENOEXEC] = "ENOEXEC",
	[EBADF] = "EBADF", [ECHILD] = "ECHILD", [EAGAIN] = "EAGAIN", [ENOMEM] = "ENOMEM",
	[EACCES] = "EACCES", [EFAULT] = "EFAULT", [EBUSY] = "EBUSY", [EEXIST] = "EEXIST",
	[EXDEV] = "EXDEV", [ENODEV] = "ENODEV", [ENOTDIR] = "ENOTDIR", [EISDIR] = "EISDIR",
	[EINVAL] = "EINVAL", [ENFILE] = "ENFILE", [EMFILE] = "EMFILE", [ENOTTY] = "ENOTTY",
	[EFBIG] = "EFBIG", [ENOSPC] = "ENOSPC", [ESPIPE] = "ESPIPE", [EROFS] = "EROFS",
	[EPIPE] = "EPIPE", [ERANGE] = "ERANGE", [ENAMETOOLONG] = "ENAMETOOLONG",
	[ENOSYS] = "ENOSYS", [ENOTEMPTY] = "ENOTEMPTY", [ELOOP] = "ELOOP",
	[EOVERFLOW] = "EOVERFLOW", [ENOTSOCK] = "ENOTSOCK", [EOPNOTSUPP] = "EOPNOTSUPP",
	[ETIMEDOUT] = "ETIMEDOUT", [ENODATA] = "ENODATA",
};

static int put_str(char *b, size_t n, const char *s, size_t len, bool more)
{
	int o = snprintf(b, n, "\"");
	for (size_t i = 0; i < len && (size_t)o < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\n')
			o += snprintf(b + o, n - o, "\\n");
		else if (c == '\t')
			o += snprintf(b + o, n - o, "\\t");
		else if (c == '"' || c == '\\')
			o += snprintf(b + o, n - o, "\\%c", c);
		else if (c < 32 || c >= 127)
			o += snprintf(b + o, n - o, "\\x%02x", c);
		else
			o += snprintf(b + o, n - o, "%c", c);
	}
	if ((size_t)o < n)
		o += snprintf(b + o, n - o, "\"%s", more ? "..." : "");
	return o;
}

#define TRACE_STR 48

static int format_arg(char *b, size_t n, char kind, long v, long next, long result)
{
	char tmp[TRACE_STR + 1];
	switch (kind) {
	case 'd': case 'f':
		return snprintf(b, n, "%ld", v);
	case 'u':
		return snprintf(b, n, "%lu", v);
	case 'o':
		return snprintf(b, n, "0%lo", v);
	case 'p':
		return v ? snprintf(b, n, "0x%lx", v) : snprintf(b, n, "NULL");
	case 's': {
		if (!v)
			return snprintf(b, n, "NULL");
		long len = strncpy_from_user(tmp, (const char *)v, sizeof(tmp));
		if (len == -EFAULT)
			return snprintf(b, n, "0x%lx", v);
		bool more = len < 0;
		return put_str(b, n, tmp, more ? TRACE_STR : (size_t)len, more);
	}
	case 'b': {
		/* A buffer of `next` bytes; after a read-like call only
		 * `result` of them mean anything. */
		long len = next;
		if (result < 0)
			return snprintf(b, n, "0x%lx", v);
		if (result < len)
			len = result;
		if (len < 0)
			len = 0;
		size_t show = MIN((size_t)len, (size_t)TRACE_STR);
		if (!v || copy_from_user(tmp, (const void *)v, show) < 0)
			return snprintf(b, n, "0x%lx", v);
		return put_str(b, n, tmp, show, (size_t)len > show);
	}
	default:
		return snprintf(b, n, "0x%lx", v);
	}
}

static void trace(unsigned nr, const struct syscall_def *d, const long *a, long r, bool done)
{
	char line[512];
	const char *name = d ? d->name : nr < SYSCALL_MAX && syscall_names[nr] ? syscall_names[nr] : NULL;
	int o = name ? snprintf(line, sizeof(line), "%s(", name)
		     : snprintf(line, sizeof(line), "syscall_%u(", nr);
	const char *args = d ? d->args : "xxxxxx";
	for (int i = 0; args[i] && i < 6 && (size_t)o < sizeof(line); i++) {
		if (i)
			o += snprintf(line + o, sizeof(line) - o, ", ");
		if ((size_t)o >= sizeof(line))
			break;
		o += format_arg(line + o, sizeof(line) - o, args[i], a[i], i < 5 ? a[i + 1] : 0,
				done ? r : -1);
	}
	if ((size_t)o >= sizeof(line))
		o = sizeof(line) - 1;
	if (!done)
		snprintf(line + o, sizeof(line) - o, ") = ?");
	else if (r < 0 && r >= -4095)
		snprintf(line + o, sizeof(line) - o, ") = -1 %s (errno %ld)",
			 -r < (long)ARRAY_SIZE(errno_names) && errno_names[-r] ? errno_names[-r] : "E?", -r);
	else if (r > 4096 || r < -4096)
		snprintf(line + o, sizeof(line) - o, ") = 0x%lx", r);
	else
		snprintf(line + o, sizeof(line) - o, ") = %ld", r);
	pr_warn("strace: %s", line);
}

/* --- dispatch ----------------------------------------------------------- */

static void unknown(unsigned long nr)
{
	if (nr < SYSCALL_MAX) {
		uint64_t bit = 1ull << (nr % 64);
		if (__atomic_fetch_or(&warned[nr / 64], bit, __ATOMIC_RELAXED) & bit)
			return;
	}
	const char *name = nr < SYSCALL_MAX ? syscall_names[nr] : NULL;
	pr_warn("syscall %lu (%s) is not implemented: returning ENOSYS", nr,
		name ? name : "unknown");
}

#define NR_exit       60
#define NR_exit_group 231

/*
 * PVM workaround. On the PVM hypervisor behind this host's /dev/kvm, a
 * `syscall` from ring 3 does not reach syscall_entry in ring 0: the guest
 * sees a ring-3 instruction-fetch #PF at the LSTAR address instead, with
 * rcx and r11 already loaded as SYSCALL does. user_fault() hands such a
 * fault here and we run the system call from the exception frame, then
 * return to the instruction after the `syscall` (slow, but correct).
 */
bool syscall_from_fault(struct trap_frame *tf)
{
	if (tf->rip != (uint64_t)syscall_entry)
		return false;
	static bool said;
	if (!said) {
		said = true;
		pr_info("syscall: `syscall` arrives as a page fault at its entry point "
			"(PVM): serving system calls from the fault path");
	}
	tf->rip = tf->rcx;
	tf->rflags = (tf->r11 & ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_IOPL)) | RFLAGS_IF;
	tf->error = tf->rax;
	syscall_dispatch(tf);
	return true;
}

/* Called by syscall_entry.S. Returns non-zero to leave through iretq. */
int syscall_dispatch(struct trap_frame *tf)
{
	struct task *t = task_current();
	t->frame = tf;
	unsigned long nr = tf->rax;
	long a[6] = { (long)tf->rdi, (long)tf->rsi, (long)tf->rdx,
		      (long)tf->r10, (long)tf->r8, (long)tf->r9 };
	const struct syscall_def *d = nr < SYSCALL_MAX ? table[nr] : NULL;
	if (tracing && (nr == NR_exit || nr == NR_exit_group))
		trace((unsigned)nr, d, a, 0, false);
	long r;
	if (d) {
		r = d->fn(a[0], a[1], a[2], a[3], a[4], a[5]);
	} else {
		unknown(nr);
		r = -ENOSYS;
	}
	/* rt_sigreturn returns the rax it restored, so this holds for it too. */
	tf->rax = (uint64_t)r;
	if (tracing)
		trace((unsigned)nr, d, a, r, true);
	/* --- signals (linux/signal.c): restart or EINTR, handlers --- */
	if (signal_return_to_user(tf, true))
		t->force_iret = true;
	/* --- end signals --- */
	bool iret = t->force_iret || tf->rip >= USER_END;
	t->force_iret = false;
	return iret;
}
