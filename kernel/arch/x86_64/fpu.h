/*
 * FPU/SSE/AVX state. The kernel itself never touches these registers
 * (-mgeneral-regs-only), so only threads that run program code own state;
 * the scheduler saves it when such a thread leaves a CPU and restores it
 * when one comes back (eagerly; see docs/scheduler.md for the measurements
 * behind that choice). XSAVEOPT/XRSTOR when the CPU has XSAVE, else
 * FXSAVE/FXRSTOR.
 */
#pragma once

/* Enables SSE (CR4.OSFXSR/OSXMMEXCPT) and XSAVE (CR4.OSXSAVE, XCR0) on
 * this CPU. Every CPU calls it; the first call also sizes the area. */
void fpu_init_cpu(void);
/* Bytes of one save area (64-byte aligned). */
size_t fpu_area_size(void);
/* A clean state, as a new program thread starts with (FCW 0x37f, MXCSR 0x1f80). */
void fpu_area_init(void *area);
/* A save area from the heap, 64-byte aligned whatever the heap's own
 * alignment, holding a clean state; NULL when out of memory. */
void *fpu_area_alloc(void);
void fpu_area_free(void *area);   /* NULL is fine */
void fpu_save(void *area);
void fpu_restore(void *area);
/* The state components in use (XCR0), 0 without XSAVE. */
uint64_t fpu_xcr0(void);
/* True when ring 0 runs on an instruction emulator (PVM): it has
 * FXSAVE/FXRSTOR but neither XSAVE nor SSE instructions, so the kernel
 * uses FXSAVE and self-tests skip SSE in ring 0. `fpu=xsave|fxsave` on the
 * command line overrides the choice of save instruction. */
bool fpu_ring0_emulated(void);
