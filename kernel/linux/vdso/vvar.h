/*
 * The vDSO's data page ("vvar"): one kernel page, mapped read-only into
 * every program just below the vDSO's code, holding what the vDSO needs to
 * compute the clocks in ring 3 without a system call. Shared by the kernel
 * (kernel/linux/vdso.c writes it) and the vDSO (vdso.c reads it), so it
 * depends on nothing but <stdint.h>.
 *
 * The kernel updates it under a sequence count, as a seqlock: seq is odd
 * while an update is under way; a reader that saw an odd or changed seq
 * tries again.
 */
#pragma once
#include <stdint.h>

/* flags */
#define VVAR_CLOCKS_OK    (1u << 0)   /* the TSC may be read in ring 3 */
#define VVAR_GETCPU_RDPID  (1u << 1)  /* TSC_AUX holds the CPU number: use rdpid */
#define VVAR_GETCPU_RDTSCP (1u << 2)  /* ... or rdtscp (no rdpid) */

struct vvar {
	uint32_t seq;
	uint32_t flags;
	/* monotonic_ns = ((tsc - tsc_base) * ns_per_tsc_32) >> 32, with a
	 * 64x64->128 product; realtime_ns = monotonic_ns + realtime_offset_ns
	 * (arch/x86_64/time.h: the kernel's clocks use the same arithmetic). */
	uint64_t tsc_base;
	uint64_t ns_per_tsc_32;
	int64_t realtime_offset_ns;
};

/* TSC_AUX holds (node << 12) | cpu, as on Linux. */
#define VVAR_TSC_AUX_CPU_MASK 0xfff
