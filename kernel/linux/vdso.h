/*
 * The vDSO (virtual dynamic shared object): clock_gettime, gettimeofday,
 * time, clock_getres and getcpu served in ring 3, for glibc and musl. The
 * code is kernel/linux/vdso/vdso.c (user-space, built as a shared object);
 * its data page, struct vvar (kernel/linux/vdso/vvar.h), is one kernel
 * page mapped read-only into each program and kept current by the kernel.
 */
#pragma once

/* Maps the data page and, right above it, a copy of the vDSO into the
 * current program's address space. Returns the vDSO's address (the ELF
 * header: AT_SYSINFO_EHDR), or 0 when there is none (`vdso=0` on the
 * command line, or out of memory): the C libraries then make system calls. */
uint64_t vdso_map(void);

/* Publishes the clock parameters again (after the wall clock was set). */
void vdso_update(void);
