/*
 * clone, clone3 and exit: the program's threads.
 *
 * A new Linux thread is a new task on a new scheduler thread (TF_USER,
 * TF_FPU, detached: nobody joins scheduler threads of the program; user
 * space joins through CLONE_CHILD_CLEARTID and a futex). Its first run
 * enters ring 3 through user_thread_start: a copy of the parent's system
 * call frame with rax = 0 and the new stack, the TLS base, and the FPU
 * state the parent had at the clone, as Linux gives a child.
 *
 * What is supported is the flag set of pthread_create in glibc and musl:
 * CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD, plus
 * CLONE_SYSVSEM, CLONE_SETTLS, CLONE_PARENT_SETTID, CLONE_CHILD_SETTID,
 * CLONE_CHILD_CLEARTID (CLONE_DETACHED, CLONE_UNTRACED, CLONE_IO and
 * CLONE_PTRACE are accepted and mean nothing here). Anything that would
 * make a new process (no CLONE_VM, CLONE_VFORK, no CLONE_THREAD) returns
 * ENOSYS with one log line: wisp runs one program (DESIGN.md decision 5).
 */
#include "linux/syscall.h"
#include "linux/task.h"
#include "linux/futex.h"
#include "sched/sched.h"
#include "mm/heap.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/usercopy.h"
#include "lib/klog.h"
#include "lib/string.h"
#include "errno.h"

#define CSIGNAL              0x000000ffull
#define CLONE_VM             0x00000100ull
#define CLONE_FS             0x00000200ull
#define CLONE_FILES          0x00000400ull
#define CLONE_SIGHAND        0x00000800ull
#define CLONE_PIDFD          0x00001000ull
#define CLONE_PTRACE         0x00002000ull
#define CLONE_VFORK          0x00004000ull
#define CLONE_PARENT         0x00008000ull
#define CLONE_THREAD         0x00010000ull
#define CLONE_NEWNS          0x00020000ull
#define CLONE_SYSVSEM        0x00040000ull
#define CLONE_SETTLS         0x00080000ull
#define CLONE_PARENT_SETTID  0x00100000ull
#define CLONE_CHILD_CLEARTID 0x00200000ull
#define CLONE_DETACHED       0x00400000ull
#define CLONE_UNTRACED       0x00800000ull
#define CLONE_CHILD_SETTID   0x01000000ull
#define CLONE_IO             0x80000000ull

#define THREAD_FLAGS (CLONE_VM | CLONE_FS | CLONE_FILES | CLONE_SIGHAND | CLONE_THREAD)
#define OK_FLAGS (THREAD_FLAGS | CLONE_SYSVSEM | CLONE_SETTLS | CLONE_PARENT_SETTID | \
		  CLONE_CHILD_CLEARTID | CLONE_CHILD_SETTID | CLONE_DETACHED |         \
		  CLONE_UNTRACED | CLONE_IO | CLONE_PTRACE)

#define RFLAGS_IF   (1ul << 9)
#define RFLAGS_USER 0x00000cd5ul      /* CF PF AF ZF SF DF OF: what ring 3 may keep */

void task_register(struct task *t);       /* task.c */
void task_unregister(struct task *t);     /* task.c */

static int next_tid = 2;                  /* 1 is the program's first thread */

/*
 * The new task's signal state. Linux shares handlers among the threads
 * (CLONE_SIGHAND), gives the child the parent's mask, nothing pending
 * and no alternate stack. Weak: the signal code replaces it when it keeps
 * the handlers process-wide.
 */
__attribute__((weak)) void task_signals_clone(struct task *child, const struct task *parent);
__attribute__((weak)) void task_signals_clone(struct task *child, const struct task *parent)
{
	memset(&child->sig, 0, sizeof(child->sig));
	child->sig.blocked = parent->sig.blocked;
}

/* An FPU save area holding the caller's current registers. */
static void *fpu_snapshot(void)
{
	void *area = fpu_area_alloc();
	if (!area)
		return NULL;
	uint64_t f = irq_save();
	fpu_save(area);
	irq_restore(f);
	return area;
}

/* The new thread's first code: becomes the task, enters ring 3. */
static __noreturn void user_thread_start(void *arg)
{
	struct task *t = arg;
	struct thread *th = thread_current();
	struct trap_frame tf = *t->start_frame;
	kfree(t->start_frame);
	t->start_frame = NULL;
	void *fpu = t->start_fpu;
	t->start_fpu = NULL;
	t->kstack_top = th->kstack_top;
	uint64_t f = irq_save();
	th->user = t;
	t->thread = th;
	wrmsr(MSR_FS_BASE, t->fs_base);
	wrmsr(MSR_KERNEL_GS_BASE, t->gs_base);
	if (fpu)
		fpu_restore(fpu);
	irq_restore(f);
	fpu_area_free(fpu);
	/* The frame lives in this function's stack frame; trap_return
	 * leaves from it, and the next entry from ring 3 starts again at
	 * the top of this kernel stack. */
	trap_return(&tf);
}

static void refuse_once(const char *what, uint64_t flags)
{
	static bool said;
	if (said)
		return;
	said = true;
	pr_warn("clone: %s (flags %#lx): wisp runs one program and creates threads only: "
		"returning ENOSYS", what, flags);
}

static long do_clone(uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid,
		     uint64_t tls)
{
	if (!(flags & CLONE_VM) || (flags & CLONE_VFORK)) {
		refuse_once(flags & CLONE_VFORK ? "vfork" : "a new process", flags);
		return -ENOSYS;
	}
	if ((flags & THREAD_FLAGS) != THREAD_FLAGS) {
		refuse_once("a process sharing memory", flags);
		return -ENOSYS;
	}
	if (flags & ~(OK_FLAGS | CSIGNAL)) {
		refuse_once("unsupported flags", flags);
		return -EINVAL;
	}
	if ((flags & CLONE_SETTLS) && tls >= USER_END)
		return -EPERM;

	struct task *parent = task_current();
	struct task *t = kzalloc(sizeof(*t));
	struct trap_frame *tf = kmalloc(sizeof(*tf));
	void *fpu = fpu_snapshot();
	if (!t || !tf || !fpu) {
		kfree(t);
		kfree(tf);
		fpu_area_free(fpu);
		return -EAGAIN;
	}
	*tf = *parent->frame;
	tf->rax = 0;
	if (newsp)
		tf->rsp = newsp;
	tf->cs = USER_CS;
	tf->ss = USER_SS;
	tf->rflags = (tf->rflags & RFLAGS_USER) | RFLAGS_IF;
	t->start_frame = tf;
	t->start_fpu = fpu;
	t->tid = __atomic_fetch_add(&next_tid, 1, __ATOMIC_RELAXED);
	t->fs_base = flags & CLONE_SETTLS ? tls : rdmsr(MSR_FS_BASE);
	t->gs_base = rdmsr(MSR_KERNEL_GS_BASE);
	if (flags & CLONE_CHILD_CLEARTID)
		t->clear_child_tid = ctid;
	task_signals_clone(t, parent);
	memcpy(t->comm, parent->comm, sizeof(t->comm));
	t->sched_policy = parent->sched_policy;

	/* The tid words are written before the child runs (one address
	 * space: the child's ctid is the parent's memory too). */
	uint32_t tid = (uint32_t)t->tid;
	if ((flags & CLONE_PARENT_SETTID) && copy_to_user((void *)ptid, &tid, 4) < 0)
		goto fault;
	if ((flags & CLONE_CHILD_SETTID) && copy_to_user((void *)ctid, &tid, 4) < 0)
		goto fault;

	task_register(t);
	struct thread *self = thread_current();
	struct thread_attr attr = {
		.sched_class = SCHED_NORMAL,
		.affinity = self->affinity,
		.flags = TF_USER | TF_FPU | TF_DETACHED,
		.cpu = -1,
	};
	char name[THREAD_NAME_LEN];
	strlcpy(name, t->comm[0] ? t->comm : "thread", sizeof(name));
	struct thread *th = thread_create_attr(user_thread_start, t, name, &attr);
	if (!th) {
		task_unregister(t);
		goto nomem;
	}
	return tid;

fault:
	kfree(t);
	kfree(tf);
	fpu_area_free(fpu);
	return -EFAULT;
nomem:
	kfree(t);
	kfree(tf);
	fpu_area_free(fpu);
	return -EAGAIN;
}

static long sys_clone(uint64_t flags, uint64_t newsp, uint64_t ptid, uint64_t ctid, uint64_t tls)
{
	return do_clone(flags, newsp, ptid, ctid, tls);
}
SYSCALL(56, clone, sys_clone, "xpppp");

struct clone_args {
	uint64_t flags, pidfd, child_tid, parent_tid, exit_signal;
	uint64_t stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};
#define CLONE_ARGS_SIZE_VER0 64

static long sys_clone3(const struct clone_args *uargs, size_t size)
{
	struct clone_args a;
	if (size < CLONE_ARGS_SIZE_VER0 || size > 4096)
		return -EINVAL;
	memset(&a, 0, sizeof(a));
	if (copy_from_user(&a, uargs, MIN(size, sizeof(a))) < 0)
		return -EFAULT;
	if (a.exit_signal > 64 || (a.flags & CSIGNAL) || a.set_tid || a.set_tid_size)
		return -EINVAL;
	if ((a.stack == 0) != (a.stack_size == 0))
		return -EINVAL;
	uint64_t sp = a.stack ? a.stack + a.stack_size : 0;   /* clone3 gives the lowest byte */
	return do_clone(a.flags, sp, a.parent_tid, a.child_tid, a.tls);
}
SYSCALL(435, clone3, sys_clone3, "pu");

/* The end of one thread; the end of the program when it is the last. */
static long sys_exit(int status)
{
	task_exit(status);
}
SYSCALL(60, exit, sys_exit, "d");
