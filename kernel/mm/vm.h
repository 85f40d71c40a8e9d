/*
 * The program's address space: the lower half of the one page table,
 * described by a list of areas (mm/vma.h). Pages arrive on first touch
 * (demand paging): zero-filled for anonymous areas, copied from the file
 * for file-backed ones (private copies: a ramfs file's bytes are never
 * mapped directly, so the program cannot write to the image).
 *
 * All functions return 0 / an address, or -ERRNO like the system calls
 * they implement; out of memory is -ENOMEM, never a panic.
 */
#pragma once
#include "mm/vma.h"
#include "arch/x86_64/layout.h"

/* mmap's prot and flags (Linux values). */
#define PROT_NONE   0
#define PROT_READ   1
#define PROT_WRITE  2
#define PROT_EXEC   4
#define PROT_GROWSDOWN 0x01000000
#define PROT_GROWSUP   0x02000000

#define MAP_SHARED          0x01
#define MAP_PRIVATE         0x02
#define MAP_SHARED_VALIDATE 0x03
#define MAP_TYPE            0x0f
#define MAP_FIXED           0x10
#define MAP_ANONYMOUS       0x20
#define MAP_32BIT           0x40
#define MAP_GROWSDOWN       0x100
#define MAP_DENYWRITE       0x800
#define MAP_EXECUTABLE      0x1000
#define MAP_LOCKED          0x2000
#define MAP_NORESERVE       0x4000
#define MAP_POPULATE        0x8000
#define MAP_NONBLOCK        0x10000
#define MAP_STACK           0x20000
#define MAP_HUGETLB         0x40000
#define MAP_SYNC            0x80000
#define MAP_FIXED_NOREPLACE 0x100000

#define MREMAP_MAYMOVE   1
#define MREMAP_FIXED     2
#define MREMAP_DONTUNMAP 4

/* Address-space layout (see docs/linux-abi.md). */
#define VM_MIN_ADDR      0x10000ull            /* like vm.mmap_min_addr */
#define VM_STACK_TOP     0x7ffffffff000ull     /* before randomisation */
#define VM_STACK_SIZE    (8ull << 20)          /* RLIMIT_STACK */
#define VM_STACK_GAP     (128ull << 20)        /* kept free below the stack */
#define VM_PIE_BASE      0x555555554000ull     /* 2/3 of the lower half, as Linux */

/* What a file-backed mapping reads: an opaque file, its size, and how to
 * read len bytes at off (within the size) into a kernel buffer. The file
 * must stay valid while mapped (ramfs files live for the whole run; the
 * VFS will hold a reference). */
struct vm_file {
	void *file;
	uint64_t size;
	void (*read)(void *file, uint64_t off, void *buf, size_t len);
};

struct vm_space {
	struct vma_list vmas;
	uint64_t brk_start, brk;       /* the heap: [brk_start, brk) */
	uint64_t mmap_top;             /* top-down mmap allocations start below */
	uint64_t stack_top;
	uint64_t pages;                /* resident pages (for sysinfo, reports) */
};

/* The address space of the running program (one, for now). */
struct vm_space *vm_current(void);

/* Registers the page-fault handler. Call once at boot. */
void vm_init(void);
/* Randomised (unless `norandmaps`) stack top and mmap base for a new
 * program; clears any previous mapping. */
void vm_reset(void);
/* A random page-aligned offset below max (0 with `norandmaps`). */
uint64_t vm_random_offset(uint64_t max);

/* mmap with Linux semantics; file NULL for anonymous mappings. */
long vm_mmap(uint64_t addr, uint64_t len, int prot, int flags,
	     const struct vm_file *file, uint64_t off);
long vm_munmap(uint64_t addr, uint64_t len);
long vm_mprotect(uint64_t addr, uint64_t len, int prot);
long vm_mremap(uint64_t old, uint64_t old_len, uint64_t new_len, int flags, uint64_t new_addr);
long vm_madvise(uint64_t addr, uint64_t len, int advice);
/* Fills vec (a kernel buffer of len/PAGE_SIZE bytes) like mincore. */
long vm_mincore(uint64_t addr, uint64_t len, uint8_t *vec);
/* Whether [addr, addr+len) is entirely mapped (msync, mlock): 0 or -ENOMEM. */
long vm_check_mapped(uint64_t addr, uint64_t len);
long vm_brk(uint64_t addr);
/* Sets where the heap starts (the loader, after the program's segments). */
void vm_set_brk(uint64_t start);

/* Faults in every page of [start, end) the areas allow: 0 or -ENOMEM. */
long vm_populate(uint64_t start, uint64_t end);

/* Serves a page fault at addr (error code bits as the CPU gives them).
 * 0 when the access may now proceed, VM_FAULT_SEGV, or VM_FAULT_OOM. */
#define VM_FAULT_SEGV 1
#define VM_FAULT_OOM  2
#define VM_FAULT_ACCESS 3      /* mapped, but the access is not allowed */
int vm_fault(uint64_t addr, uint32_t error);
/* What the last page fault the handler could not serve was (VM_FAULT_*):
 * tells the signal code SIGSEGV's si_code, or that memory ran out. */
int vm_last_fault(void);

/* Writes a description of addr ("in [heap]", "in /bin/x+0x...") for fault
 * reports; "" when nothing maps it. */
void vm_describe(uint64_t addr, char *buf, size_t len);
