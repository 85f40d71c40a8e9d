/*
 * Reading and writing the program's memory from the kernel. A bad pointer
 * (unmapped, kernel half, wrong permission) gives -EFAULT, never a kernel
 * fault: the copies run in usercopy.S, whose faulting instructions have
 * fixups that the page-fault handler applies (usercopy_fixup). A fault on
 * a page the program may use but that is not there yet (demand paging) is
 * served first by mm/vm.c and the copy carries on.
 *
 * With SMAP on, the kernel cannot touch user pages by accident: only these
 * routines open the window (stac/clac).
 */
#pragma once

struct trap_frame;

/* 0, or -EFAULT when any byte of the range is not accessible. Part of the
 * destination may have been written before the fault. */
int copy_from_user(void *dst, const void *usrc, size_t n);
int copy_to_user(void *udst, const void *src, size_t n);
/* Zeroes user memory: 0 or -EFAULT. */
int clear_user(void *udst, size_t n);

/* Copies a NUL-terminated string of at most size bytes including the NUL.
 * Returns its length (without the NUL), -ENAMETOOLONG when no NUL came
 * within size bytes, -EFAULT on a bad pointer. */
long strncpy_from_user(char *dst, const char *usrc, size_t size);

/* Whether [p, p+n) lies in the program's half (no wrap). */
static inline bool user_range_ok(uint64_t p, uint64_t n)
{
	return p + n >= p && p + n <= 0x0000800000000000ull;
}

/* Called by the #PF handler for a kernel-mode fault: if tf->rip is a
 * user access in usercopy.S, redirect it to its fixup and return true. */
bool usercopy_fixup(struct trap_frame *tf);
/* Whether rip is one of those user accesses. */
bool usercopy_fixup_target(uint64_t rip);

/* Set by usercopy_init when CR4.SMAP is on (read by usercopy.S). */
extern uint8_t usercopy_smap;
/* Turns on SMEP and SMAP where the CPU has them. */
void usercopy_init(void);
