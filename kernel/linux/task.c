/*
 * Tasks: for now the one task of the program, on the boot thread.
 */
#include "linux/task.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/gdt.h"
#include "arch/x86_64/layout.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/power.h"
#include "drivers/console.h"
#include "mm/page_alloc.h"
#include "lib/klog.h"
#include "lib/string.h"

#define KSTACK_ORDER 2          /* 16 KiB */

static struct task initial;
static struct task *current_task;

struct task *task_current(void)
{
	return current_task;
}

struct task *task_create_initial(void)
{
	struct task *t = &initial;
	t->kstack = page_alloc_virt(KSTACK_ORDER);
	if (!t->kstack)
		return NULL;
	t->kstack_top = (uint64_t)t->kstack + (PAGE_SIZE << KSTACK_ORDER);
	t->tid = 1;
	return t;
}

void task_activate(struct task *t)
{
	current_task = t;
	this_cpu()->kstack_top = t->kstack_top;
	trap_set_kernel_stack(cpu_id(), t->kstack_top);
	wrmsr(MSR_FS_BASE, t->fs_base);
	/* While the kernel runs, the program's GS base waits in
	 * KERNEL_GS_BASE; swapgs on the way out puts it in place. */
	wrmsr(MSR_KERNEL_GS_BASE, t->gs_base);
}

void program_exit(int status)
{
	machine_exit(status & 0xff);
}
