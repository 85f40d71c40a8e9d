/*
 * Signal generation, queueing and delivery (see signal.h for where the
 * state lives). The frame a handler runs on is Linux's x86-64 rt_sigframe
 * byte for byte, because C libraries and unwinders read it:
 *
 *     rsp at handler entry -> pretcode (sa_restorer: calls rt_sigreturn)
 *                             struct ucontext (flags, link, stack_t,
 *                               sigcontext = the registers in Linux's
 *                               order, the blocked mask)
 *                             siginfo (128 bytes)
 *     ... 64-byte aligned:    FXSAVE/XSAVE image of the FPU state, with
 *                             the "FPXS" software bytes and the "EXPF"
 *                             trailer Linux writes when it uses XSAVE
 *
 * below the interrupted rsp minus the 128-byte red zone, or at the top of
 * the alternate stack (SA_ONSTACK), aligned so that rsp % 16 == 8 at the
 * handler's first instruction, as after a call.
 *
 * Lock order: proc.lock, then the tasks lock (task_for_each,
 * task_with_tid), then scheduler locks (thread_interrupt).
 */
#include "linux/signal.h"
#include "linux/task.h"
#include "linux/syscall.h"
#include "sched/sched.h"
#include "sched/hw.h"
#include "mm/vm.h"
#include "mm/page_alloc.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/fpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/time.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/usercopy.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "errno.h"

#define ERESTARTNOINTR 513
#define ERESTARTNOHAND 514
#define ERESTART_RESTARTBLOCK 516

/* --- queue entries ------------------------------------------------------- */

/* One queued instance of a signal. A fixed pool: timers queue from
 * interrupt context, where the heap is not available. */
struct sigqueue {
	struct sigqueue *next;
	struct ksiginfo info;
	struct sigtimer_ref *timer;     /* a timer's entry (overrun accounting) */
	bool has_trap;                  /* a fault's: for the sigcontext ... */
	int trapno;
	uint64_t err, cr2;
};

#define SIGQ_POOL 512

static struct {
	spinlock_t lock;
	struct k_sigaction action[NSIG];        /* index = signal - 1 */
	struct sigpending shared;               /* process-directed */
	struct sigqueue pool[SIGQ_POOL];
	struct sigqueue *free;
	bool pool_ready;
} proc = { .lock = SPINLOCK_INIT };

static struct sigqueue *q_alloc(void)
{
	if (!proc.pool_ready) {
		for (int i = 0; i < SIGQ_POOL; i++) {
			proc.pool[i].next = proc.free;
			proc.free = &proc.pool[i];
		}
		proc.pool_ready = true;
	}
	struct sigqueue *q = proc.free;
	if (q) {
		proc.free = q->next;
		memset(q, 0, sizeof(*q));
	}
	return q;
}

static void q_free(struct sigqueue *q)
{
	q->next = proc.free;
	proc.free = q;
}

/* --- classification --------------------------------------------------------- */

/* Default action "ignore". Stop and continue signals count as ignored:
 * there is no job control (nobody to continue a stopped program). */
static bool default_ignored(int sig)
{
	switch (sig) {
	case SIGCHLD: case SIGURG: case SIGWINCH: case SIGCONT:
	case SIGSTOP: case SIGTSTP: case SIGTTIN: case SIGTTOU:
		return true;
	}
	return false;
}

static bool ignored(int sig)
{
	uint64_t h = proc.action[sig - 1].handler;
	return sig != SIGKILL && (h == SIG_IGN || (h == SIG_DFL && default_ignored(sig)));
}

#define SYNC_SIGNALS (SIGBIT(SIGSEGV) | SIGBIT(SIGBUS) | SIGBIT(SIGILL) | \
		      SIGBIT(SIGTRAP) | SIGBIT(SIGFPE) | SIGBIT(SIGSYS))

const char *signal_name(int sig, char *buf, size_t len)
{
	static const char *const names[] = {
		[SIGHUP] = "SIGHUP", [SIGINT] = "SIGINT", [SIGQUIT] = "SIGQUIT",
		[SIGILL] = "SIGILL", [SIGTRAP] = "SIGTRAP", [SIGABRT] = "SIGABRT",
		[SIGBUS] = "SIGBUS", [SIGFPE] = "SIGFPE", [SIGKILL] = "SIGKILL",
		[SIGUSR1] = "SIGUSR1", [SIGSEGV] = "SIGSEGV", [SIGUSR2] = "SIGUSR2",
		[SIGPIPE] = "SIGPIPE", [SIGALRM] = "SIGALRM", [SIGTERM] = "SIGTERM",
		[SIGSTKFLT] = "SIGSTKFLT", [SIGCHLD] = "SIGCHLD", [SIGCONT] = "SIGCONT",
		[SIGSTOP] = "SIGSTOP", [SIGTSTP] = "SIGTSTP", [SIGTTIN] = "SIGTTIN",
		[SIGTTOU] = "SIGTTOU", [SIGURG] = "SIGURG", [SIGXCPU] = "SIGXCPU",
		[SIGXFSZ] = "SIGXFSZ", [SIGVTALRM] = "SIGVTALRM", [SIGPROF] = "SIGPROF",
		[SIGWINCH] = "SIGWINCH", [SIGIO] = "SIGIO", [SIGPWR] = "SIGPWR",
		[SIGSYS] = "SIGSYS",
	};
	if (sig > 0 && sig < (int)ARRAY_SIZE(names) && names[sig])
		return names[sig];
	if (sig >= SIGRTMIN && sig <= NSIG)
		snprintf(buf, len, "SIGRT%d", sig - SIGRTMIN);
	else
		snprintf(buf, len, "signal %d", sig);
	return buf;
}

/* --- pending sets ----------------------------------------------------------- */

static uint64_t deliverable_mask(struct task *t)
{
	return (t->sig.pending.mask | proc.shared.mask) & (~t->sig.blocked | SIG_UNBLOCKABLE);
}

/* Keeps the thread's interrupt flag equal to "has a deliverable signal",
 * so interruptible waits end exactly when there is something to deliver.
 * A thread running ring-3 code on another CPU gets an IPI: the return from
 * it delivers. proc.lock held. */
static void recalc(struct task *t)
{
	struct thread *th = t->thread;
	if (!th)
		return;
	if (!deliverable_mask(t)) {
		if (th->interrupted)
			thread_clear_interrupt(th);
		return;
	}
	if (!th->interrupted || th->state == THREAD_BLOCKED)
		thread_interrupt(th);
	if (th != thread_current() && th->state == THREAD_RUNNING && th->cpu != cpu_id() &&
	    hw_ipi_present())
		hw_send_ipi(th->cpu, VEC_IPI_RESCHED);
}

static void flush_sig(struct sigpending *p, int sig)
{
	struct sigqueue **pp = &p->head;
	while (*pp) {
		struct sigqueue *q = *pp;
		if (q->info.signo == sig) {
			*pp = q->next;
			if (q->timer)
				q->timer->queued = false;
			q_free(q);
		} else {
			pp = &q->next;
		}
	}
	p->mask &= ~SIGBIT(sig);
}

/* Queues one instance. Standard signals coalesce; real-time ones queue
 * while the pool lasts (then -EAGAIN, like RLIMIT_SIGPENDING). A signal
 * from the kernel is never lost: without an entry the bit alone says it. */
static int enqueue(struct sigpending *p, const struct ksiginfo *info, bool from_kernel,
		   struct sigqueue **out)
{
	int sig = info->signo;
	if (out)
		*out = NULL;
	if (sig < SIGRTMIN && (p->mask & SIGBIT(sig)))
		return 0;
	struct sigqueue *q = q_alloc();
	if (!q) {
		if (sig >= SIGRTMIN && !from_kernel)
			return -EAGAIN;
		p->mask |= SIGBIT(sig);
		return 0;
	}
	q->info = *info;
	struct sigqueue **pp = &p->head;
	while (*pp)
		pp = &(*pp)->next;
	*pp = q;
	p->mask |= SIGBIT(sig);
	if (out)
		*out = q;
	return 0;
}

/* Takes the first instance of sig off p into *out. */
static void take(struct sigpending *p, int sig, struct sigqueue *out)
{
	struct sigqueue *found = NULL;
	for (struct sigqueue **pp = &p->head; *pp; pp = &(*pp)->next) {
		if ((*pp)->info.signo == sig) {
			found = *pp;
			*pp = found->next;
			break;
		}
	}
	bool more = false;
	for (struct sigqueue *o = p->head; o && !more; o = o->next)
		more = o->info.signo == sig;
	memset(out, 0, sizeof(*out));
	if (found) {
		*out = *found;
		out->next = NULL;
		if (found->timer) {
			struct sigtimer_ref *r = found->timer;
			r->queued = false;
			r->overrun_last = r->overrun;
			r->overrun = 0;
			out->info.timer.overrun = r->overrun_last;
		}
		q_free(found);
	} else {
		out->info.signo = sig;
		out->info.code = SI_KERNEL;
	}
	if (!more)
		p->mask &= ~SIGBIT(sig);
}

/* The signal to act on next among `allowed`: synchronous faults first,
 * then the lowest number; the thread's own before the process's. 0: none. */
static int dequeue(struct task *t, uint64_t allowed, struct sigqueue *out)
{
	uint64_t m = (t->sig.pending.mask | proc.shared.mask) & allowed;
	if (!m)
		return 0;
	uint64_t pick = m & SYNC_SIGNALS ? m & SYNC_SIGNALS : m;
	int sig = __builtin_ctzll(pick) + 1;
	take(t->sig.pending.mask & SIGBIT(sig) ? &t->sig.pending : &proc.shared, sig, out);
	return sig;
}

/* --- sending -------------------------------------------------------------- */

struct pick {
	uint64_t bit;
	struct task *found, *any;
};

static void pick_fn(struct task *t, void *arg)
{
	struct pick *p = arg;
	if (!t->thread)
		return;
	if (!p->any)
		p->any = t;
	if (!p->found && !(t->sig.blocked & p->bit))
		p->found = t;
}

/* proc.lock held. target NULL: the process. */
static int send_locked(struct task *target, const struct ksiginfo *info, bool from_kernel,
		       struct sigqueue **out)
{
	int sig = info->signo;
	struct task *wake = target;
	if (!target) {
		/* Process-directed: the caller if it takes it, else any
		 * thread that does not block it (Linux's complete_signal). */
		struct pick p = { .bit = SIGBIT(sig) };
		struct task *me = task_current();
		if (me && !(me->sig.blocked & p.bit))
			p.found = me;
		else
			task_for_each(pick_fn, &p);
		wake = p.found;
		if (ignored(sig) && p.found)
			return 0;              /* nobody blocks it: discarded */
	} else if (ignored(sig) && !(target->sig.blocked & SIGBIT(sig))) {
		return 0;
	}
	int r = enqueue(target ? &target->sig.pending : &proc.shared, info, from_kernel, out);
	if (r == 0 && wake)
		recalc(wake);
	if (r == 0)
		signalfd_notify();      /* signalfd hook: wake its pollers (fs/signalfd.c) */
	return r;
}

static void self_info(struct ksiginfo *i, int sig, int code)
{
	memset(i, 0, sizeof(*i));
	i->signo = sig;
	i->code = code;
	i->kill.pid = 1;            /* wisp's one pid */
	i->kill.uid = 0;
}

/* To the process (t NULL) or one thread; without info, as sent by the
 * program to itself with code self_code. */
static int send_checked(struct task *t, int sig, const struct ksiginfo *info, int self_code)
{
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	if (!sig)
		return 0;
	struct ksiginfo i;
	if (info) {
		i = *info;
		i.signo = sig;
	} else {
		self_info(&i, sig, self_code);
	}
	uint64_t f = spin_lock_irqsave(&proc.lock);
	int r = send_locked(t, &i, !info, NULL);
	spin_unlock_irqrestore(&proc.lock, f);
	return r;
}

int signal_send_process(int sig, const struct ksiginfo *info)
{
	return send_checked(NULL, sig, info, SI_USER);
}

int signal_send_thread(struct task *t, int sig, const struct ksiginfo *info)
{
	return send_checked(t, sig, info, SI_TKILL);
}

void signal_raise_self(int sig)
{
	struct task *t = task_current();
	struct ksiginfo i;
	self_info(&i, sig, SI_USER);
	if (t)
		signal_send_thread(t, sig, &i);
	else
		signal_send_process(sig, &i);
}

struct timer_send {
	const struct ksiginfo *info;
	struct sigqueue *q;
	int r;
	bool done;
};

static void timer_send_fn(struct task *t, void *arg)
{
	struct timer_send *s = arg;
	s->r = send_locked(t, s->info, true, &s->q);
	s->done = true;
}

int signal_send_timer(int tid, int sig, struct sigtimer_ref *ref, uint64_t value, int code)
{
	uint64_t f = spin_lock_irqsave(&proc.lock);
	if (ref->queued) {
		/* Still pending from the last expiry: count, don't queue. */
		if (ref->overrun < INT32_MAX)
			ref->overrun++;
		spin_unlock_irqrestore(&proc.lock, f);
		return 0;
	}
	struct ksiginfo i;
	memset(&i, 0, sizeof(i));
	i.signo = sig;
	i.code = code;
	i.timer.tid = ref->id;
	i.timer.value = value;
	if (code != SI_TIMER) {
		i.kill.pid = 1;
		i.kill.uid = 0;
	}
	struct timer_send s = { &i, NULL, 0, false };
	if (tid)
		task_with_tid(tid, timer_send_fn, &s);
	if (!s.done)
		s.r = send_locked(NULL, &i, true, &s.q);
	if (s.q && code == SI_TIMER) {
		s.q->timer = ref;
		ref->queued = true;
	}
	spin_unlock_irqrestore(&proc.lock, f);
	return s.r;
}

static void forget_in(struct sigpending *p, struct sigtimer_ref *ref)
{
	for (struct sigqueue **pp = &p->head; *pp;) {
		struct sigqueue *q = *pp;
		if (q->timer != ref) {
			pp = &q->next;
			continue;
		}
		int sig = q->info.signo;
		*pp = q->next;
		q_free(q);
		bool more = false;
		for (struct sigqueue *o = p->head; o; o = o->next)
			more |= o->info.signo == sig;
		if (!more)
			p->mask &= ~SIGBIT(sig);
	}
}

struct forget_arg { struct sigtimer_ref *ref; };

static void forget_fn(struct task *t, void *arg)
{
	forget_in(&t->sig.pending, ((struct forget_arg *)arg)->ref);
}

void signal_forget_timer(struct sigtimer_ref *ref)
{
	uint64_t f = spin_lock_irqsave(&proc.lock);
	if (ref->queued) {
		forget_in(&proc.shared, ref);
		struct forget_arg a = { ref };
		task_for_each(forget_fn, &a);
		ref->queued = false;
	}
	spin_unlock_irqrestore(&proc.lock, f);
}

void signal_force_fault(int sig, int code, uint64_t addr, const struct trap_frame *tf,
			uint64_t cr2)
{
	struct task *t = task_current();
	struct ksiginfo i;
	memset(&i, 0, sizeof(i));
	i.signo = sig;
	i.code = code;
	i.fault.addr = addr;
	uint64_t f = spin_lock_irqsave(&proc.lock);
	/* Linux's force_sig: a fault the program blocks or ignores cannot
	 * be held back (the instruction would fault again): default action. */
	struct k_sigaction *a = &proc.action[sig - 1];
	if (a->handler == SIG_IGN || (t->sig.blocked & SIGBIT(sig))) {
		a->handler = SIG_DFL;
		t->sig.blocked &= ~SIGBIT(sig);
	}
	struct sigqueue *q = NULL;
	if (!(t->sig.pending.mask & SIGBIT(sig)))
		enqueue(&t->sig.pending, &i, true, &q);
	if (q) {
		q->has_trap = true;
		q->trapno = (int)tf->vector;
		q->err = tf->error;
		q->cr2 = cr2;
	}
	recalc(t);
	spin_unlock_irqrestore(&proc.lock, f);
}

bool signal_pending(void)
{
	struct task *t = task_current();
	return t && deliverable_mask(t) != 0;
}

void signal_task_exit(struct task *t)
{
	uint64_t f = spin_lock_irqsave(&proc.lock);
	while (t->sig.pending.head) {
		struct sigqueue *q = t->sig.pending.head;
		t->sig.pending.head = q->next;
		if (q->timer)
			q->timer->queued = false;
		q_free(q);
	}
	t->sig.pending.mask = 0;
	spin_unlock_irqrestore(&proc.lock, f);
	if (t->sig.fpu_buf) {
		page_free_virt(t->sig.fpu_buf, 0);
		t->sig.fpu_buf = NULL;
	}
}

void signal_set_temp_mask(uint64_t mask)
{
	struct task *t = task_current();
	uint64_t f = spin_lock_irqsave(&proc.lock);
	if (!t->sig.restore_mask) {
		t->sig.saved_mask = t->sig.blocked;
		t->sig.restore_mask = true;
	}
	t->sig.blocked = mask & ~SIG_UNBLOCKABLE;
	recalc(t);
	spin_unlock_irqrestore(&proc.lock, f);
}

int signal_set_temp_mask_user(const void *umask, size_t size)
{
	if (!umask)
		return 0;
	if (size != 8)
		return -EINVAL;
	uint64_t m;
	if (copy_from_user(&m, umask, sizeof(m)) < 0)
		return -EFAULT;
	signal_set_temp_mask(m);
	return 0;
}

/* --- the fatal report ------------------------------------------------------ */

/* Walks the program's frame-pointer chain, as far as it is readable. */
static void user_backtrace(const struct trap_frame *tf)
{
	pr_err("user backtrace (frame pointers):");
	pr_err("  #0  0x%016lx", tf->rip);
	uint64_t fp = tf->rbp;
	for (int i = 1; i < 16 && fp; i++) {
		uint64_t frame[2];
		if (fp & 7 || copy_from_user(frame, (const void *)fp, sizeof(frame)) < 0)
			break;
		if (!frame[1])
			break;
		pr_err("  #%-2d 0x%016lx", i, frame[1]);
		if (frame[0] <= fp)
			break;
		fp = frame[0];
	}
}

static const char *origin(const struct ksiginfo *i)
{
	switch (i->code) {
	case SI_USER:  return "sent by the program (kill)";
	case SI_TKILL: return "sent by the program (tgkill)";
	case SI_QUEUE: return "sent by the program (sigqueue)";
	case SI_TIMER: return "from a POSIX timer";
	case SI_KERNEL: return "from the kernel";
	}
	return "from the kernel";
}

void signal_fatal(int sig, const struct trap_frame *tf, const struct ksiginfo *info,
		  int trapno, uint64_t err)
{
	char buf[16], where[96];
	const char *name = signal_name(sig, buf, sizeof(buf));
	bool fault = trapno >= 0 && info && (SIGBIT(sig) & SYNC_SIGNALS);
	if (fault) {
		uint64_t addr = info->fault.addr;
		pr_err("program killed by %s at address 0x%lx", name, addr);
		vm_describe(addr, where, sizeof(where));
		const char *tn = trapno >= 0 && trapno < 32 ? trap_name((unsigned)trapno) : NULL;
		pr_err("%s (%s), rip 0x%lx, rsp 0x%lx; address %s", tn ? tn : "fault",
		       trapno == TRAP_PF ? (err & PF_WRITE ? "write" :
					    err & PF_IFETCH ? "execute" : "read") : "fault",
		       tf->rip, tf->rsp, where[0] ? where : "not mapped");
	} else {
		pr_err("program killed by %s (%s), rip 0x%lx, rsp 0x%lx", name,
		       info ? origin(info) : "from the kernel", tf->rip, tf->rsp);
	}
	user_backtrace(tf);
	program_exit(128 + sig);
}

/* --- the frame ------------------------------------------------------------ */

struct sigcontext_k {
	uint64_t r8, r9, r10, r11, r12, r13, r14, r15;
	uint64_t rdi, rsi, rbp, rbx, rdx, rax, rcx, rsp;
	uint64_t rip, eflags;
	uint16_t cs, gs, fs, ss;
	uint64_t err, trapno, oldmask, cr2;
	uint64_t fpstate;
	uint64_t reserved1[8];
};

struct ucontext_k {
	uint64_t uc_flags;
	uint64_t uc_link;
	struct k_stack uc_stack;
	struct sigcontext_k uc_mcontext;
	uint64_t uc_sigmask;
};

struct rt_sigframe {
	uint64_t pretcode;
	struct ucontext_k uc;
	struct ksiginfo info;
};

_Static_assert(sizeof(struct sigcontext_k) == 256, "sigcontext");
_Static_assert(offsetof(struct ucontext_k, uc_mcontext) == 40, "uc_mcontext");
_Static_assert(offsetof(struct ucontext_k, uc_sigmask) == 296, "uc_sigmask");
_Static_assert(offsetof(struct rt_sigframe, info) == 312, "rt_sigframe");
_Static_assert(sizeof(struct ksiginfo) == 128, "siginfo");

#define UC_FP_XSTATE 1
#define UC_SIGCONTEXT_SS 2
#define UC_STRICT_RESTORE_SS 4

#define FP_XSTATE_MAGIC1 0x46505853u
#define FP_XSTATE_MAGIC2 0x46505845u
#define FPX_SW_OFF 464
#define XSAVE_HDR_OFF 512

#define RFLAGS_TF (1ul << 8)
#define RFLAGS_DF (1ul << 10)
#define RFLAGS_RF (1ul << 16)
/* What sigreturn may change (Linux's FIX_EFLAGS). */
#define RFLAGS_USER (0x1ul | 0x4ul | 0x10ul | 0x40ul | 0x80ul | 0x100ul | 0x400ul | \
		     0x800ul | (1ul << 16) | (1ul << 18))

/* Bytes of the FPU image in a frame: the XSAVE area plus the 4-byte
 * trailer, or the 512-byte FXSAVE area. */
static size_t fpu_image_size(void)
{
	return fpu_xcr0() ? fpu_area_size() + 4 : 512;
}

static void *fpu_buf(struct task *t)
{
	if (!t->sig.fpu_buf)
		t->sig.fpu_buf = page_alloc_virt(0);
	return t->sig.fpu_buf;
}

/* The program's FPU registers are live while its thread runs (the kernel
 * never touches them). Plain XSAVE, not XSAVEOPT: the modified
 * optimisation must not apply to this scratch area. */
static void fpu_capture(void *buf)
{
	uint64_t x = fpu_xcr0();
	if (x) {
		memset((char *)buf + XSAVE_HDR_OFF, 0, 64);
		__asm__ volatile("xsave64 (%0)" :: "r"(buf), "a"((uint32_t)x),
				 "d"((uint32_t)(x >> 32)) : "memory");
		uint32_t *sw = (uint32_t *)((char *)buf + FPX_SW_OFF);
		memset(sw, 0, 48);
		sw[0] = FP_XSTATE_MAGIC1;
		sw[1] = (uint32_t)(fpu_area_size() + 4);
		*(uint64_t *)&sw[2] = x;
		sw[4] = (uint32_t)fpu_area_size();
		*(uint32_t *)((char *)buf + fpu_area_size()) = FP_XSTATE_MAGIC2;
	} else {
		__asm__ volatile("fxsave64 (%0)" :: "r"(buf) : "memory");
	}
}

static bool on_altstack(struct task *t, uint64_t sp)
{
	const struct k_stack *as = &t->sig.altstack;
	return as->size && sp > as->sp && sp - as->sp <= as->size;
}

static int altstack_flags(struct task *t, uint64_t sp)
{
	if (!t->sig.altstack.size)
		return SS_DISABLE;
	return on_altstack(t, sp) ? SS_ONSTACK : 0;
}

static int setup_frame(struct task *t, struct trap_frame *tf, int sig,
		       const struct k_sigaction *act, const struct sigqueue *q, uint64_t oldmask)
{
	if (!(act->flags & SA_RESTORER) || !act->restorer)
		return -EFAULT;     /* x86-64 has no kernel-provided trampoline */
	void *buf = fpu_buf(t);
	if (!buf)
		return -ENOMEM;
	struct k_stack *as = &t->sig.altstack;
	uint64_t sp = tf->rsp - 128;        /* the red zone */
	bool was_on = on_altstack(t, tf->rsp);
	if ((act->flags & SA_ONSTACK) && as->size && !was_on)
		sp = as->sp + as->size;
	size_t fsz = fpu_image_size();
	uint64_t fp = (sp - fsz) & ~63ul;
	sp = fp - sizeof(struct rt_sigframe);
	sp = (sp & ~15ul) - 8;
	bool on = (act->flags & SA_ONSTACK) && as->size ? true : was_on;
	if (on && !(sp > as->sp && sp - as->sp <= as->size))
		return -EFAULT;     /* the alternate stack overflowed */
	if (sp >= USER_END || sp < PAGE_SIZE)
		return -EFAULT;

	fpu_capture(buf);
	if (copy_to_user((void *)fp, buf, fsz) < 0)
		return -EFAULT;

	struct rt_sigframe f;
	memset(&f, 0, sizeof(f));
	f.pretcode = act->restorer;
	f.uc.uc_flags = (fpu_xcr0() ? UC_FP_XSTATE : 0) | UC_SIGCONTEXT_SS | UC_STRICT_RESTORE_SS;
	f.uc.uc_stack.sp = as->sp;
	f.uc.uc_stack.size = as->size;
	f.uc.uc_stack.flags = altstack_flags(t, tf->rsp) | (as->flags & (int32_t)SS_AUTODISARM);
	struct sigcontext_k *sc = &f.uc.uc_mcontext;
	sc->r8 = tf->r8; sc->r9 = tf->r9; sc->r10 = tf->r10; sc->r11 = tf->r11;
	sc->r12 = tf->r12; sc->r13 = tf->r13; sc->r14 = tf->r14; sc->r15 = tf->r15;
	sc->rdi = tf->rdi; sc->rsi = tf->rsi; sc->rbp = tf->rbp; sc->rbx = tf->rbx;
	sc->rdx = tf->rdx; sc->rax = tf->rax; sc->rcx = tf->rcx; sc->rsp = tf->rsp;
	sc->rip = tf->rip;
	sc->eflags = tf->rflags;
	sc->cs = USER_CS;
	sc->ss = USER_SS;
	sc->trapno = q->has_trap ? (uint64_t)q->trapno : 0;
	sc->err = q->err;
	sc->cr2 = q->cr2;
	sc->oldmask = oldmask;
	sc->fpstate = fp;
	f.uc.uc_sigmask = oldmask;
	f.info = q->info;
	if (copy_to_user((void *)sp, &f, sizeof(f)) < 0)
		return -EFAULT;
	if (as->flags & (int32_t)SS_AUTODISARM) {
		as->sp = 0;
		as->size = 0;
		as->flags = 0;
	}

	tf->rdi = (uint64_t)sig;
	tf->rsi = sp + offsetof(struct rt_sigframe, info);
	tf->rdx = sp + offsetof(struct rt_sigframe, uc);
	tf->rax = 0;
	tf->rsp = sp;
	tf->rip = act->handler;
	tf->rflags &= ~(RFLAGS_TF | RFLAGS_DF | RFLAGS_RF);
	tf->cs = USER_CS;
	tf->ss = USER_SS;
	/* The handler starts with a clean FPU state, as on Linux. */
	fpu_area_init(buf);
	fpu_restore(buf);
	return 0;
}

/* --- return to user ------------------------------------------------------- */

#define NR_rt_sigreturn 15

/* Calls that block in wait queues which report -EINTR, and that Linux
 * restarts under SA_RESTART (its -ERESTARTSYS). Others (sleeps, poll,
 * select, epoll_wait, sigsuspend, sigtimedwait) end with EINTR. */
static bool restartable(uint64_t nr)
{
	switch (nr) {
	case 0: case 1: case 2: case 16: case 17: case 18: case 19: case 20:  /* read..writev */
	case 40: case 42: case 43: case 44: case 45: case 46: case 47:        /* sendfile, sockets */
	case 61: case 72: case 73: case 202: case 247: case 257: case 275:    /* wait4, fcntl, flock, futex, waitid, openat, splice */
	case 276: case 278: case 288: case 295: case 296: case 299: case 307: /* tee, vmsplice, accept4, preadv, pwritev, recvmmsg, sendmmsg */
	case 326: case 327: case 328:                                         /* copy_file_range, preadv2, pwritev2 */
		return true;
	}
	return false;
}

static bool is_restart_code(long r)
{
	return r == -ERESTARTSYS || r == -ERESTARTNOINTR || r == -ERESTARTNOHAND ||
	       r == -ERESTART_RESTARTBLOCK;
}

static void restart(struct trap_frame *tf)
{
	tf->rax = tf->error;        /* orig_rax: the number again */
	tf->rip -= 2;               /* back onto the `syscall` instruction */
}

bool signal_return_to_user(struct trap_frame *tf, bool syscall)
{
	struct task *t = task_current();
	if (!t) {
		irq_disable();
		return false;
	}
	bool changed = false;
	long r = (long)tf->rax;
	if (syscall && tf->error == NR_rt_sigreturn)
		syscall = false;    /* rax is the restored one, not a result */
	/* The fast path, which nearly every return takes: nothing to deliver
	 * (recalc() keeps the thread's interrupt flag set while a signal is
	 * deliverable), no restart, no mask to put back; no lock. Interrupts
	 * go off before the look, so a signal sent after it comes with an
	 * IPI that is taken once in ring 3, and delivered on that return. */
	irq_disable();
	if (t->thread && !READ_ONCE(t->thread->interrupted) && !t->sig.restore_mask &&
	    !(syscall && (r == -EINTR || is_restart_code(r))))
		return false;
	if (syscall && r == -EINTR && restartable(tf->error))
		r = -ERESTARTSYS;
	bool pending_restart = syscall && is_restart_code(r);
	for (;;) {
		irq_disable();
		spin_lock(&proc.lock);
		struct sigqueue q;
		int sig = dequeue(t, ~t->sig.blocked | SIG_UNBLOCKABLE, &q);
		if (!sig) {
			if (pending_restart) {
				restart(tf);
				changed = true;
			}
			if (t->sig.restore_mask) {
				t->sig.blocked = t->sig.saved_mask;
				t->sig.restore_mask = false;
			}
			recalc(t);
			spin_unlock(&proc.lock);
			return changed;         /* interrupts stay off */
		}
		struct k_sigaction act = proc.action[sig - 1];
		uint64_t oldmask = t->sig.restore_mask ? t->sig.saved_mask : t->sig.blocked;
		recalc(t);
		spin_unlock(&proc.lock);
		irq_enable();

		if (sig == SIGKILL || act.handler == SIG_DFL) {
			if (sig != SIGKILL && default_ignored(sig))
				continue;
			signal_fatal(sig, tf, &q.info, q.has_trap ? q.trapno : -1, q.err);
		}
		if (act.handler == SIG_IGN)
			continue;
		if (pending_restart) {
			if (r == -ERESTARTNOINTR || (r == -ERESTARTSYS && (act.flags & SA_RESTART)))
				restart(tf);
			else
				tf->rax = (uint64_t)-EINTR;
			pending_restart = false;
		}
		changed = true;
		if (setup_frame(t, tf, sig, &act, &q, oldmask) < 0) {
			/* No room for the frame (or no restorer): SIGSEGV, as
			 * Linux's force_sigsegv; fatal if that is what failed. */
			pr_warn("signal: cannot build the frame for signal %d at rsp 0x%lx", sig, tf->rsp);
			if (sig == SIGSEGV)
				signal_fatal(SIGSEGV, tf, &q.info, q.has_trap ? q.trapno : -1, q.err);
			uint64_t f = spin_lock_irqsave(&proc.lock);
			proc.action[SIGSEGV - 1].handler = SIG_DFL;
			spin_unlock_irqrestore(&proc.lock, f);
			signal_force_fault(SIGSEGV, SI_KERNEL, 0, tf, 0);
			continue;
		}
		uint64_t f = spin_lock_irqsave(&proc.lock);
		t->sig.restore_mask = false;
		uint64_t b = oldmask | act.mask;
		if (!(act.flags & SA_NODEFER))
			b |= SIGBIT(sig);
		t->sig.blocked = b & ~SIG_UNBLOCKABLE;
		if (act.flags & SA_RESETHAND) {
			proc.action[sig - 1].handler = SIG_DFL;
		}
		recalc(t);
		spin_unlock_irqrestore(&proc.lock, f);
	}
}

/* --- rt_sigreturn ----------------------------------------------------------- */

static int altstack_set(struct task *t, const struct k_stack *ss, uint64_t cur_sp);

/* Loads the FPU image at user address fp (0: a clean state). false when
 * it is not a valid image. */
static bool fpu_load(struct task *t, uint64_t fp)
{
	void *buf = fpu_buf(t);
	if (!buf)
		return false;
	uint64_t x = fpu_xcr0();
	if (!fp) {
		fpu_area_init(buf);
		fpu_restore(buf);
		return true;
	}
	if (fp & 63 || copy_from_user(buf, (const void *)fp, 512) < 0)
		return false;
	uint32_t *mxcsr = (uint32_t *)((char *)buf + 24);
	*mxcsr &= 0xffff;           /* reserved bits would make the restore #GP */
	if (x) {
		uint32_t *sw = (uint32_t *)((char *)buf + FPX_SW_OFF);
		size_t sz = fpu_area_size();
		uint32_t magic2 = 0;
		bool xs = sw[0] == FP_XSTATE_MAGIC1 && sw[1] == sz + 4 &&
			  copy_from_user((char *)buf + 512, (const char *)fp + 512, sz - 512) == 0 &&
			  copy_from_user(&magic2, (const char *)fp + sz, 4) == 0 &&
			  magic2 == FP_XSTATE_MAGIC2;
		uint64_t *hdr = (uint64_t *)((char *)buf + XSAVE_HDR_OFF);
		uint64_t bv = xs ? hdr[0] & x : 3;      /* legacy image: x87 + SSE */
		memset(hdr, 0, 64);
		hdr[0] = bv;
	}
	fpu_restore(buf);
	return true;
}

static long sys_rt_sigreturn(void)
{
	struct task *t = task_current();
	struct trap_frame *tf = syscall_frame();
	uint64_t frame = tf->rsp - 8;       /* the handler's ret took pretcode */
	struct ucontext_k uc;
	if (copy_from_user(&uc, (const void *)(frame + 8), sizeof(uc)) < 0)
		goto bad;
	const struct sigcontext_k *sc = &uc.uc_mcontext;
	if (!fpu_load(t, sc->fpstate))
		goto bad;
	tf->r8 = sc->r8; tf->r9 = sc->r9; tf->r10 = sc->r10; tf->r11 = sc->r11;
	tf->r12 = sc->r12; tf->r13 = sc->r13; tf->r14 = sc->r14; tf->r15 = sc->r15;
	tf->rdi = sc->rdi; tf->rsi = sc->rsi; tf->rbp = sc->rbp; tf->rbx = sc->rbx;
	tf->rdx = sc->rdx; tf->rax = sc->rax; tf->rcx = sc->rcx; tf->rsp = sc->rsp;
	tf->rip = sc->rip;
	tf->rflags = (tf->rflags & ~RFLAGS_USER) | (sc->eflags & RFLAGS_USER);
	tf->cs = USER_CS;
	tf->ss = USER_SS;
	uint64_t f = spin_lock_irqsave(&proc.lock);
	t->sig.blocked = uc.uc_sigmask & ~SIG_UNBLOCKABLE;
	t->sig.restore_mask = false;
	recalc(t);
	spin_unlock_irqrestore(&proc.lock, f);
	struct k_stack ss = uc.uc_stack;
	altstack_set(t, &ss, tf->rsp);     /* errors ignored, as on Linux */
	syscall_force_iret();
	return (long)tf->rax;
bad:
	pr_warn("rt_sigreturn: bad signal frame at 0x%lx", frame);
	{
		struct ksiginfo i;
		memset(&i, 0, sizeof(i));
		i.signo = SIGSEGV;
		i.code = SI_KERNEL;
		signal_fatal(SIGSEGV, tf, &i, -1, 0);
	}
}
SYSCALL(15, rt_sigreturn, sys_rt_sigreturn, "");

/* --- the state syscalls -------------------------------------------------------- */

#define SIG_BLOCK 0
#define SIG_UNBLOCK 1
#define SIG_SETMASK 2
#define MINSIGSTKSZ 2048

struct flush_arg { int sig; };

static void flush_fn(struct task *t, void *arg)
{
	int sig = ((struct flush_arg *)arg)->sig;
	if (t->sig.pending.mask & SIGBIT(sig)) {
		flush_sig(&t->sig.pending, sig);
		recalc(t);
	}
}

static long sys_rt_sigaction(int sig, const struct k_sigaction *uact,
			     struct k_sigaction *uold, size_t setsize)
{
	if (setsize != 8)
		return -EINVAL;
	if (sig < 1 || sig > NSIG)
		return -EINVAL;
	struct k_sigaction act, old;
	if (uact) {
		if (sig == SIGKILL || sig == SIGSTOP)
			return -EINVAL;
		if (copy_from_user(&act, uact, sizeof(act)) < 0)
			return -EFAULT;
		act.mask &= ~SIG_UNBLOCKABLE;
	}
	uint64_t f = spin_lock_irqsave(&proc.lock);
	old = proc.action[sig - 1];
	if (uact) {
		proc.action[sig - 1] = act;
		/* POSIX: setting a pending signal to be ignored discards it. */
		if (ignored(sig)) {
			flush_sig(&proc.shared, sig);
			struct flush_arg a = { sig };
			task_for_each(flush_fn, &a);
		}
	}
	spin_unlock_irqrestore(&proc.lock, f);
	if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(13, rt_sigaction, sys_rt_sigaction, "dppu");

static long sys_rt_sigprocmask(int how, const uint64_t *uset, uint64_t *uold, size_t setsize)
{
	if (setsize != 8)
		return -EINVAL;
	struct task *t = task_current();
	uint64_t set = 0;
	if (uset && copy_from_user(&set, uset, sizeof(set)) < 0)
		return -EFAULT;
	if (uset && how != SIG_BLOCK && how != SIG_UNBLOCK && how != SIG_SETMASK)
		return -EINVAL;
	uint64_t f = spin_lock_irqsave(&proc.lock);
	uint64_t old = t->sig.blocked;
	if (uset) {
		switch (how) {
		case SIG_BLOCK: t->sig.blocked |= set; break;
		case SIG_UNBLOCK: t->sig.blocked &= ~set; break;
		default: t->sig.blocked = set; break;
		}
		t->sig.blocked &= ~SIG_UNBLOCKABLE;
		recalc(t);
	}
	spin_unlock_irqrestore(&proc.lock, f);
	if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(14, rt_sigprocmask, sys_rt_sigprocmask, "dppu");

static long sys_rt_sigpending(uint64_t *uset, size_t setsize)
{
	if (setsize > 8)
		return -EINVAL;
	struct task *t = task_current();
	uint64_t f = spin_lock_irqsave(&proc.lock);
	uint64_t p = (t->sig.pending.mask | proc.shared.mask) & t->sig.blocked;
	spin_unlock_irqrestore(&proc.lock, f);
	return copy_to_user(uset, &p, setsize) < 0 ? -EFAULT : 0;
}
SYSCALL(127, rt_sigpending, sys_rt_sigpending, "pu");

static int altstack_set(struct task *t, const struct k_stack *ss, uint64_t cur_sp)
{
	int mode = ss->flags & ~(int32_t)SS_AUTODISARM;
	if (mode != 0 && mode != SS_DISABLE && mode != SS_ONSTACK)
		return -EINVAL;
	if (on_altstack(t, cur_sp))
		return -EPERM;
	struct k_stack n = { 0 };
	if (mode != SS_DISABLE) {
		if (ss->size < MINSIGSTKSZ)
			return -ENOMEM;
		n.sp = ss->sp;
		n.size = ss->size;
		n.flags = ss->flags & (int32_t)SS_AUTODISARM;
	}
	t->sig.altstack = n;
	return 0;
}

static long sys_sigaltstack(const struct k_stack *uss, struct k_stack *uold)
{
	struct task *t = task_current();
	uint64_t sp = syscall_frame()->rsp;
	struct k_stack old = t->sig.altstack;
	old.flags = altstack_flags(t, sp) | (old.flags & (int32_t)SS_AUTODISARM);
	old.pad = 0;
	if (uss) {
		struct k_stack ss;
		if (copy_from_user(&ss, uss, sizeof(ss)) < 0)
			return -EFAULT;
		int r = altstack_set(t, &ss, sp);
		if (r < 0)
			return r;
	}
	if (uold && copy_to_user(uold, &old, sizeof(old)) < 0)
		return -EFAULT;
	return 0;
}
SYSCALL(131, sigaltstack, sys_sigaltstack, "pp");

/* Sleeps until a signal is deliverable. */
static void wait_for_signal(uint64_t deadline)
{
	thread_sleep_until(deadline, true);
}

static long sys_pause(void)
{
	while (!signal_pending())
		wait_for_signal(TIME_FOREVER);
	return -ERESTARTNOHAND;
}
SYSCALL(34, pause, sys_pause, "");

static long sys_rt_sigsuspend(const uint64_t *umask, size_t size)
{
	int r = signal_set_temp_mask_user(umask, size);
	if (r < 0)
		return r;
	if (!umask)
		return -EFAULT;
	while (!signal_pending())
		wait_for_signal(TIME_FOREVER);
	return -ERESTARTNOHAND;
}
SYSCALL(130, rt_sigsuspend, sys_rt_sigsuspend, "pu");

struct timespec_s {
	int64_t sec, nsec;
};

static long sys_rt_sigtimedwait(const uint64_t *uset, struct ksiginfo *uinfo,
				const struct timespec_s *uts, size_t size)
{
	if (size != 8)
		return -EINVAL;
	uint64_t set;
	if (copy_from_user(&set, uset, sizeof(set)) < 0)
		return -EFAULT;
	set &= ~SIG_UNBLOCKABLE;
	uint64_t deadline = TIME_FOREVER;
	if (uts) {
		struct timespec_s ts;
		if (copy_from_user(&ts, uts, sizeof(ts)) < 0)
			return -EFAULT;
		if (ts.sec < 0 || ts.nsec < 0 || ts.nsec >= 1000000000)
			return -EINVAL;
		uint64_t ns = (uint64_t)ts.sec * 1000000000u + (uint64_t)ts.nsec;
		deadline = clock_monotonic_ns() + ns;
	}
	struct task *t = task_current();
	struct sigqueue q;
	uint64_t f = spin_lock_irqsave(&proc.lock);
	int sig = dequeue(t, set, &q);
	if (!sig && deadline > clock_monotonic_ns()) {
		/* Let the signals waited for interrupt the sleep, like
		 * Linux's real_blocked: unblocked only while waiting. */
		uint64_t saved = t->sig.blocked;
		t->sig.blocked &= ~set;
		recalc(t);
		spin_unlock_irqrestore(&proc.lock, f);
		while (!signal_pending() && clock_monotonic_ns() < deadline)
			wait_for_signal(deadline);
		f = spin_lock_irqsave(&proc.lock);
		t->sig.blocked = saved;
		sig = dequeue(t, set, &q);
		recalc(t);
	}
	spin_unlock_irqrestore(&proc.lock, f);
	if (!sig)
		return clock_monotonic_ns() >= deadline ? -EAGAIN : -EINTR;
	if (uinfo && copy_to_user(uinfo, &q.info, sizeof(q.info)) < 0)
		return -EFAULT;
	return sig;
}
SYSCALL(128, rt_sigtimedwait, sys_rt_sigtimedwait, "ppppu");

/* --- signalfd hooks (fs/signalfd.c) ------------------------------------------ */

uint64_t signal_pending_set(void)
{
	struct task *t = task_current();
	uint64_t f = spin_lock_irqsave(&proc.lock);
	uint64_t m = proc.shared.mask | (t ? t->sig.pending.mask : 0);
	spin_unlock_irqrestore(&proc.lock, f);
	return m;
}

int signal_dequeue_set(uint64_t set, struct ksiginfo *info)
{
	struct task *t = task_current();
	if (!t)
		return 0;
	struct sigqueue q;
	uint64_t f = spin_lock_irqsave(&proc.lock);
	int sig = dequeue(t, set, &q);
	if (sig)
		recalc(t);
	spin_unlock_irqrestore(&proc.lock, f);
	if (sig)
		*info = q.info;
	return sig;
}

/* --- sending from the program ----------------------------------------------- */

#define WISP_PID 1

static long sys_kill(int pid, int sig)
{
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	/* Ourselves: our pid, our process group (0), everyone we may (-1),
	 * our group by number (-1 as pgid). */
	if (pid != WISP_PID && pid != 0 && pid != -1 && pid != -WISP_PID)
		return -ESRCH;
	return signal_send_process(sig, NULL);
}
SYSCALL(62, kill, sys_kill, "dd");

struct tsend {
	int sig;
	const struct ksiginfo *info;
	int r;
};

/* Under proc.lock, then the tasks lock (task_with_tid): the one order. */
static void tsend_fn(struct task *t, void *arg)
{
	struct tsend *s = arg;
	if (!s->sig) {
		s->r = 0;
		return;
	}
	struct ksiginfo i;
	if (s->info) {
		i = *s->info;
		i.signo = s->sig;
	} else {
		self_info(&i, s->sig, SI_TKILL);
	}
	s->r = send_locked(t, &i, false, NULL);
}

static long send_tid(int tid, int sig, const struct ksiginfo *info)
{
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	if (tid <= 0)
		return -EINVAL;
	struct tsend s = { sig, info, 0 };
	uint64_t f = spin_lock_irqsave(&proc.lock);
	int r = task_with_tid(tid, tsend_fn, &s);
	spin_unlock_irqrestore(&proc.lock, f);
	return r < 0 ? r : s.r;
}

static long sys_tkill(int tid, int sig)
{
	return send_tid(tid, sig, NULL);
}
SYSCALL(200, tkill, sys_tkill, "dd");

static long sys_tgkill(int tgid, int tid, int sig)
{
	if (tgid <= 0)
		return -EINVAL;
	if (tgid != WISP_PID)
		return -ESRCH;
	return send_tid(tid, sig, NULL);
}
SYSCALL(234, tgkill, sys_tgkill, "ddd");

static long sys_rt_sigqueueinfo(int pid, int sig, const struct ksiginfo *uinfo)
{
	struct ksiginfo i;
	if (copy_from_user(&i, uinfo, sizeof(i)) < 0)
		return -EFAULT;
	if (pid != WISP_PID)
		return -ESRCH;
	if (sig < 0 || sig > NSIG)
		return -EINVAL;
	return signal_send_process(sig, &i);
}
SYSCALL(129, rt_sigqueueinfo, sys_rt_sigqueueinfo, "ddp");

static long sys_rt_tgsigqueueinfo(int tgid, int tid, int sig, const struct ksiginfo *uinfo)
{
	struct ksiginfo i;
	if (copy_from_user(&i, uinfo, sizeof(i)) < 0)
		return -EFAULT;
	if (tgid != WISP_PID)
		return -ESRCH;
	return send_tid(tid, sig, &i);
}
SYSCALL(297, rt_tgsigqueueinfo, sys_rt_tgsigqueueinfo, "dddp");

/* The interrupt/exception exit to ring 3 (trap.c). */
void user_return(struct trap_frame *tf)
{
	signal_return_to_user(tf, false);
}
