/*
 * The program's address space: areas, demand paging, and the memory
 * system calls' semantics (the syscall wrappers are in linux/sys_mem.c).
 *
 * Locking: one program, one address space, one lock. Page faults take it
 * too, so nothing here copies to or from user memory while holding it.
 */
#include "mm/vm.h"
#include "mm/heap.h"
#include "mm/page_alloc.h"
#include "arch/x86_64/pgtable.h"
#include "arch/x86_64/cpu.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/smp.h"
#include "arch/x86_64/usercopy.h"
#include "sched/spinlock.h"
#include "lib/cmdline.h"
#include "lib/klog.h"
#include "lib/printf.h"
#include "lib/string.h"
#include "errno.h"

static struct vm_space the_vm;
static spinlock_t vm_lock = SPINLOCK_INIT;

struct vm_space *vm_current(void)
{
	return &the_vm;
}

void *vma_alloc_node(void)
{
	return kzalloc(sizeof(struct vma));
}

void vma_free_node(void *p)
{
	kfree(p);
}

/* The lock is taken with interrupts off (page faults take it), and its
 * holder may shoot down TLB entries (smp_call_mask) while holding it: so
 * spin serving cross-CPU calls, or two CPUs would wait for each other. */
static uint64_t vm_lock_irqsave(void)
{
	uint64_t f = irq_save();
	while (!spin_trylock(&vm_lock)) {
		smp_poll_calls();
		__asm__ volatile("pause");
	}
	return f;
}

#define LOCK()   uint64_t lock_flags_ = vm_lock_irqsave()
#define UNLOCK() spin_unlock_irqrestore(&vm_lock, lock_flags_)

static bool page_aligned(uint64_t x)
{
	return (x & (PAGE_SIZE - 1)) == 0;
}

/* --- randomisation -------------------------------------------------------- */

static uint64_t rng_state;

uint64_t vm_random_offset(uint64_t max)
{
	extern struct cmdline kernel_cmdline;
	if (max < PAGE_SIZE || cmdline_get(&kernel_cmdline, "norandmaps"))
		return 0;
	uint64_t r;
	if (!rdrand64(&r)) {
		if (!rng_state)
			rng_state = rdtsc() | 1;
		rng_state ^= rng_state << 13;
		rng_state ^= rng_state >> 7;
		rng_state ^= rng_state << 17;
		r = rng_state;
	}
	return (r % (max / PAGE_SIZE)) * PAGE_SIZE;
}

/* --- pages -------------------------------------------------------------- */

struct unmap_ctx {
	uint64_t freed;
};

static void free_leaf(uint64_t va, uint64_t pte, void *arg)
{
	struct unmap_ctx *c = arg;
	pt_clear(va);
	if (!(pte & PTE_KERNEL_PAGE))   /* the vDSO's data page stays the kernel's */
		page_free(pte & PTE_ADDR_MASK, 0);
	c->freed++;
}

/* Frees the pages of [start, end) (the areas stay). */
static void unmap_pages(uint64_t start, uint64_t end, bool free_tables)
{
	struct unmap_ctx c = { 0 };
	pt_walk(start, end, free_leaf, &c);
	the_vm.pages -= c.freed;
	if (c.freed)
		tlb_flush_range(start, end);
	if (free_tables)
		pt_free_empty(start, end);
}

static void reprotect_leaf(uint64_t va, uint64_t pte, void *arg)
{
	pt_set_flags(va, *(uint64_t *)arg | (pte & PTE_KERNEL_PAGE));
}

/* Brings in the page at va (inside v); 0 or VM_FAULT_OOM. */
static int fill_page(struct vma *v, uint64_t va)
{
	uint64_t phys = page_alloc(0);
	if (!phys)
		return VM_FAULT_OOM;
	uint8_t *p = phys_to_virt(phys);
	size_t n = 0;
	if (v->file) {
		uint64_t foff = v->off + (va - v->start);
		if (foff < v->file_end) {
			n = MIN((uint64_t)PAGE_SIZE, v->file_end - foff);
			v->file_read(v->file, foff, p, n);
		}
	}
	memset(p + n, 0, PAGE_SIZE - n);
	if (pt_map(va, phys, pt_leaf_flags(v->prot)) < 0) {
		page_free(phys, 0);
		return VM_FAULT_OOM;
	}
	the_vm.pages++;
	return 0;
}

static int fault_locked(uint64_t addr, uint32_t error)
{
	struct vma *v = vma_find(&the_vm.vmas, addr);
	if (!v)
		return VM_FAULT_SEGV;
	uint32_t need = error & PF_WRITE ? VMA_WRITE : error & PF_IFETCH ? VMA_EXEC
		      : VMA_READ | VMA_WRITE | VMA_EXEC;
	if (!(v->prot & need))
		return VM_FAULT_ACCESS;
	uint64_t va = ALIGN_DOWN(addr, PAGE_SIZE);
	uint64_t pte = pt_get(va);
	if (pte & PTE_P) {
		/* Already there with the rights asked for: a stale TLB entry
		 * (another CPU mapped it, or we just changed it). */
		invlpg(va);
		return 0;
	}
	if (pte) {
		/* A page kept while the area was PROT_NONE: the area allows
		 * the access now, so the leaf should have been updated. */
		pt_set_flags(va, pt_leaf_flags(v->prot));
		invlpg(va);
		return 0;
	}
	return fill_page(v, va);
}

int vm_fault(uint64_t addr, uint32_t error)
{
	if (addr >= USER_END || (error & PF_RESERVED))
		return VM_FAULT_SEGV;
	LOCK();
	int r = fault_locked(addr, error);
	UNLOCK();
	return r;
}

/* The #PF handler: demand paging for the program and for the kernel's
 * user-memory copies, then the copies' fixups. Anything else goes on to
 * user_fault() (ring 3) or the fatal report (ring 0). */
static int last_fault;

int vm_last_fault(void)
{
	return last_fault;
}

static bool page_fault(struct trap_frame *tf, uint64_t cr2)
{
	bool user = trap_from_user(tf);
	if (!user && !usercopy_fixup_target(tf->rip))
		return false;          /* the kernel touching user memory by itself: a bug */
	if (cr2 < USER_END) {
		int r = vm_fault(cr2, (uint32_t)tf->error);
		last_fault = r;
		if (r == 0)
			return true;
	} else {
		last_fault = VM_FAULT_SEGV;
	}
	return !user && usercopy_fixup(tf);
}

void vm_init(void)
{
	trap_set_fault_handler(TRAP_PF, page_fault);
}

void vm_reset(void)
{
	LOCK();
	for (struct vma *v = the_vm.vmas.first; v; v = v->next)
		unmap_pages(v->start, v->end, true);
	vma_clear(&the_vm.vmas);
	UNLOCK();
	the_vm.stack_top = VM_STACK_TOP - vm_random_offset(256ull << 20);
	the_vm.mmap_top = the_vm.stack_top - VM_STACK_SIZE - VM_STACK_GAP -
			  vm_random_offset(1ull << 30);
	the_vm.brk_start = the_vm.brk = 0;
	the_vm.pages = 0;
}

/* --- mmap ----------------------------------------------------------------- */

static uint32_t vma_prot(int prot)
{
	return (uint32_t)prot & (VMA_READ | VMA_WRITE | VMA_EXEC);
}

/* Removes [start, end) entirely: pages, tables, areas. Locked. */
static int unmap_locked(uint64_t start, uint64_t end)
{
	if (vma_remove(&the_vm.vmas, start, end) < 0)
		return -ENOMEM;
	unmap_pages(start, end, true);
	return 0;
}

long vm_mmap(uint64_t addr, uint64_t len, int prot, int flags,
	     const struct vm_file *file, uint64_t off)
{
	int type = flags & MAP_TYPE;
	if (type != MAP_PRIVATE && type != MAP_SHARED && type != MAP_SHARED_VALIDATE)
		return -EINVAL;
	if (!len || !page_aligned(off))
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC))
		return -EINVAL;
	uint64_t size = ALIGN_UP(len, PAGE_SIZE);
	if (size < len || size > USER_END)
		return -ENOMEM;
	if (file && off + size < off)
		return -EOVERFLOW;
	bool fixed = flags & (MAP_FIXED | MAP_FIXED_NOREPLACE);
	if (fixed && (!page_aligned(addr) || !user_range_ok(addr, size) || addr < VM_MIN_ADDR))
		return (flags & MAP_FIXED) && page_aligned(addr) ? -ENOMEM : -EINVAL;

	struct vma t = { 0 };
	t.prot = vma_prot(prot);
	if (type != MAP_PRIVATE)
		t.flags |= VMA_SHARED;
	if (flags & MAP_GROWSDOWN)
		t.flags |= VMA_GROWSDOWN;
	if (flags & MAP_STACK)
		t.flags |= VMA_STACK;
	if (flags & MAP_NORESERVE)
		t.flags |= VMA_NORESERVE;
	if (flags & MAP_LOCKED)
		t.flags |= VMA_LOCKED;
	if (file) {
		t.file = file->file;
		t.file_read = file->read;
		t.off = off;
		t.file_end = file->size;
	}

	LOCK();
	uint64_t at;
	if (fixed) {
		at = addr;
		if (vma_overlaps(&the_vm.vmas, at, at + size)) {
			if (flags & MAP_FIXED_NOREPLACE && !(flags & MAP_FIXED)) {
				UNLOCK();
				return -EEXIST;
			}
			if (unmap_locked(at, at + size) < 0) {
				UNLOCK();
				return -ENOMEM;
			}
		}
	} else {
		uint64_t lo = VM_MIN_ADDR, hi = the_vm.mmap_top;
		if (flags & MAP_32BIT)
			hi = 0x80000000ull;
		at = 0;
		/* A hint is taken when the range there is free. */
		if (addr && page_aligned(addr) && addr >= VM_MIN_ADDR &&
		    user_range_ok(addr, size) && !vma_overlaps(&the_vm.vmas, addr, addr + size))
			at = addr;
		if (!at)
			at = vma_find_free(&the_vm.vmas, size, lo, hi, true, VM_STACK_GAP);
		if (!at)
			at = vma_find_free(&the_vm.vmas, size, lo, USER_END - PAGE_SIZE, true,
					   VM_STACK_GAP);
		if (!at) {
			UNLOCK();
			return -ENOMEM;
		}
	}
	t.start = at;
	t.end = at + size;
	struct vma *v = vma_insert(&the_vm.vmas, &t);
	UNLOCK();
	if (!v)
		return -ENOMEM;
	if (flags & (MAP_POPULATE | MAP_LOCKED)) {
		long r = vm_populate(at, at + size);
		if (r < 0 && (flags & MAP_POPULATE)) {
			vm_munmap(at, size);
			return r;
		}
	}
	return (long)at;
}

long vm_populate(uint64_t start, uint64_t end)
{
	long r = 0;
	LOCK();
	for (uint64_t va = ALIGN_DOWN(start, PAGE_SIZE); va < end; va += PAGE_SIZE) {
		struct vma *v = vma_find(&the_vm.vmas, va);
		if (!v) {
			struct vma *n = vma_next_after(&the_vm.vmas, va);
			if (!n || n->start >= end)
				break;
			va = n->start - PAGE_SIZE;
			continue;
		}
		if (!v->prot || pt_get(va))
			continue;
		if (fill_page(v, va)) {
			r = -ENOMEM;
			break;
		}
	}
	UNLOCK();
	return r;
}

long vm_munmap(uint64_t addr, uint64_t len)
{
	if (!page_aligned(addr) || !len)
		return -EINVAL;
	uint64_t size = ALIGN_UP(len, PAGE_SIZE);
	if (size < len || !user_range_ok(addr, size))
		return -EINVAL;
	LOCK();
	int r = unmap_locked(addr, addr + size);
	UNLOCK();
	return r;
}

long vm_mprotect(uint64_t addr, uint64_t len, int prot)
{
	if (!page_aligned(addr))
		return -EINVAL;
	if (prot & ~(PROT_READ | PROT_WRITE | PROT_EXEC | PROT_GROWSDOWN | PROT_GROWSUP))
		return -EINVAL;
	uint64_t size = ALIGN_UP(len, PAGE_SIZE);
	if (size < len || !user_range_ok(addr, size))
		return -ENOMEM;
	if (!size)
		return 0;
	LOCK();
	uint64_t start = addr, end = addr + size;
	if (prot & PROT_GROWSDOWN) {
		/* Down to the start of the growsdown area containing addr. */
		struct vma *v = vma_find(&the_vm.vmas, addr);
		if (!v || !(v->flags & VMA_GROWSDOWN)) {
			UNLOCK();
			return -EINVAL;
		}
		start = v->start;
	}
	if (!vma_covered(&the_vm.vmas, start, end)) {
		UNLOCK();
		return -ENOMEM;
	}
	uint32_t p = vma_prot(prot);
	if (vma_protect(&the_vm.vmas, start, end, p) < 0) {
		UNLOCK();
		return -ENOMEM;
	}
	uint64_t flags = pt_leaf_flags(p);
	pt_walk(start, end, reprotect_leaf, &flags);
	tlb_flush_range(start, end);
	UNLOCK();
	return 0;
}

struct move_ctx {
	uint64_t delta;
	int err;
};

static void reserve_leaf(uint64_t va, uint64_t pte, void *arg)
{
	(void)pte;
	struct move_ctx *c = arg;
	/* Makes sure the tables for the destination exist (a zero leaf maps
	 * nothing), so the move itself cannot fail half-way. */
	if (!c->err && !pt_get(va + c->delta) && pt_map(va + c->delta, 0, 0) < 0)
		c->err = -ENOMEM;
}

static void move_leaf(uint64_t va, uint64_t pte, void *arg)
{
	struct move_ctx *c = arg;
	pt_clear(va);
	pt_map(va + c->delta, pte & PTE_ADDR_MASK, pte & ~PTE_ADDR_MASK);
}

long vm_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr)
{
	if (flags & ~(MREMAP_MAYMOVE | MREMAP_FIXED | MREMAP_DONTUNMAP))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && !(flags & MREMAP_MAYMOVE))
		return -EINVAL;
	if (flags & MREMAP_DONTUNMAP)
		return -EINVAL;        /* not supported yet */
	if (!page_aligned(old))
		return -EINVAL;
	uint64_t osize = ALIGN_UP(old_len, PAGE_SIZE), nsize = ALIGN_UP(new_len, PAGE_SIZE);
	if (!nsize || nsize < new_len || osize < old_len)
		return -EINVAL;
	if (!osize)
		return -EINVAL;        /* duplicating a shared mapping: not with private memory */
	if (!user_range_ok(old, osize))
		return -EFAULT;
	if ((flags & MREMAP_FIXED) &&
	    (!page_aligned(new_addr) || !user_range_ok(new_addr, nsize) || new_addr < VM_MIN_ADDR))
		return -EINVAL;
	if ((flags & MREMAP_FIXED) && new_addr < old + osize && old < new_addr + nsize)
		return -EINVAL;

	LOCK();
	long r;
	struct vma *v = vma_find(&the_vm.vmas, old);
	if (!v || old + osize > v->end) {
		r = -EFAULT;
		goto out;
	}
	if (!(flags & MREMAP_FIXED)) {
		if (nsize <= osize) {
			r = unmap_locked(old + nsize, old + osize);
			r = r < 0 ? r : (long)old;
			goto out;
		}
		/* Grow in place when the area ends here and the space after
		 * is free. */
		if (old + osize == v->end &&
		    user_range_ok(old, nsize) &&
		    !vma_overlaps(&the_vm.vmas, old + osize, old + nsize)) {
			struct vma t = *v;
			t.start = old + osize;
			t.end = old + nsize;
			if (t.file)
				t.off = v->off + (t.start - v->start);
			r = vma_insert(&the_vm.vmas, &t) ? (long)old : -ENOMEM;
			goto out;
		}
		if (!(flags & MREMAP_MAYMOVE)) {
			r = -ENOMEM;
			goto out;
		}
		new_addr = vma_find_free(&the_vm.vmas, nsize, VM_MIN_ADDR, the_vm.mmap_top,
					 true, VM_STACK_GAP);
		if (!new_addr) {
			r = -ENOMEM;
			goto out;
		}
	} else if (unmap_locked(new_addr, new_addr + nsize) < 0) {
		r = -ENOMEM;
		goto out;
	}
	/* v may have been split or freed by the unmap: find it again. */
	v = vma_find(&the_vm.vmas, old);
	struct vma t = *v;
	t.start = new_addr;
	t.end = new_addr + nsize;
	if (t.file)
		t.off = v->off + (old - v->start);
	uint64_t keep = MIN(osize, nsize);
	struct move_ctx c = { new_addr - old, 0 };
	pt_walk(old, old + keep, reserve_leaf, &c);
	if (c.err || !vma_insert(&the_vm.vmas, &t)) {
		r = -ENOMEM;
		goto out;
	}
	pt_walk(old, old + keep, move_leaf, &c);
	tlb_flush_range(old, old + keep);
	r = unmap_locked(old, old + osize);
	/* Only the bookkeeping could fail here, and it needed no memory
	 * before: report the new place regardless. */
	r = (long)new_addr;
out:
	UNLOCK();
	return r;
}

#define MADV_NORMAL     0
#define MADV_RANDOM     1
#define MADV_SEQUENTIAL 2
#define MADV_WILLNEED   3
#define MADV_DONTNEED   4
#define MADV_FREE       8
#define MADV_REMOVE     9
#define MADV_DONTFORK   10
#define MADV_DOFORK     11
#define MADV_HUGEPAGE   14
#define MADV_NOHUGEPAGE 15
#define MADV_DONTDUMP   16
#define MADV_DODUMP     17

long vm_madvise(uint64_t addr, uint64_t len, int advice)
{
	if (!page_aligned(addr))
		return -EINVAL;
	uint64_t size = ALIGN_UP(len, PAGE_SIZE);
	if (size < len || !user_range_ok(addr, size))
		return -EINVAL;
	switch (advice) {
	case MADV_NORMAL: case MADV_RANDOM: case MADV_SEQUENTIAL: case MADV_WILLNEED:
	case MADV_DONTNEED: case MADV_FREE: case MADV_REMOVE:
	case MADV_DONTFORK: case MADV_DOFORK: case MADV_HUGEPAGE: case MADV_NOHUGEPAGE:
	case MADV_DONTDUMP: case MADV_DODUMP:
		break;
	default:
		return -EINVAL;
	}
	if (!size)
		return 0;
	LOCK();
	long r = 0;
	if (!vma_covered(&the_vm.vmas, addr, addr + size))
		r = -ENOMEM;
	else if (advice == MADV_DONTNEED || advice == MADV_FREE || advice == MADV_REMOVE)
		/* Private memory: the next touch sees zeroes (anonymous) or
		 * the file again, as on Linux. */
		unmap_pages(addr, addr + size, false);
	UNLOCK();
	if (!r && advice == MADV_WILLNEED)
		vm_populate(addr, addr + size);
	return r;
}

long vm_check_mapped(uint64_t addr, uint64_t len)
{
	if (!page_aligned(addr))
		return -EINVAL;
	uint64_t size = ALIGN_UP(len, PAGE_SIZE);
	if (size < len || !user_range_ok(addr, size))
		return -ENOMEM;
	LOCK();
	bool ok = !size || vma_covered(&the_vm.vmas, addr, addr + size);
	UNLOCK();
	return ok ? 0 : -ENOMEM;
}

long vm_mincore(uint64_t addr, uint64_t len, uint8_t *vec)
{
	long r = vm_check_mapped(addr, len);
	if (r < 0)
		return r;
	LOCK();
	for (uint64_t i = 0; i < ALIGN_UP(len, PAGE_SIZE) / PAGE_SIZE; i++)
		vec[i] = pt_get(addr + i * PAGE_SIZE) ? 1 : 0;
	UNLOCK();
	return 0;
}

/* --- brk ------------------------------------------------------------------ */

void vm_set_brk(uint64_t start)
{
	the_vm.brk_start = the_vm.brk = ALIGN_UP(start, PAGE_SIZE);
}

long vm_brk(uint64_t addr)
{
	if (addr < the_vm.brk_start || addr >= the_vm.mmap_top)
		return (long)the_vm.brk;
	uint64_t cur = ALIGN_UP(the_vm.brk, PAGE_SIZE), want = ALIGN_UP(addr, PAGE_SIZE);
	LOCK();
	if (want > cur) {
		/* Keep one free page between the heap and the next area. */
		if (vma_overlaps(&the_vm.vmas, cur, want + PAGE_SIZE)) {
			UNLOCK();
			return (long)the_vm.brk;
		}
		struct vma t = { .start = cur, .end = want, .prot = VMA_READ | VMA_WRITE,
				 .flags = VMA_HEAP };
		if (!vma_insert(&the_vm.vmas, &t)) {
			UNLOCK();
			return (long)the_vm.brk;
		}
	} else if (want < cur && unmap_locked(want, cur) < 0) {
		UNLOCK();
		return (long)the_vm.brk;
	}
	the_vm.brk = addr;
	UNLOCK();
	return (long)addr;
}

void vm_describe(uint64_t addr, char *buf, size_t len)
{
	buf[0] = 0;
	LOCK();
	struct vma *v = vma_find(&the_vm.vmas, addr);
	if (v)
		snprintf(buf, len, "in %s area [0x%lx, 0x%lx) %c%c%c%s", v->file ? "file" :
			 v->flags & VMA_HEAP ? "heap" : v->flags & VMA_STACK ? "stack" : "anonymous",
			 v->start, v->end, v->prot & VMA_READ ? 'r' : '-',
			 v->prot & VMA_WRITE ? 'w' : '-', v->prot & VMA_EXEC ? 'x' : '-',
			 v->file ? "" : "");
	else
		snprintf(buf, len, "not mapped");
	UNLOCK();
}
