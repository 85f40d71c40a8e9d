/*
 * Device registers. The direct map covers the low 4 GiB, so every MMIO
 * window below 4 GiB already has a virtual address; mmio_map() also makes
 * the 2 MiB around it uncached (PCD|PWT: UC with the power-on PAT) when no
 * RAM shares that 2 MiB, so writes reach the device in order and reads are
 * never served from a cache. (QEMU and KVM ignore the guest's memory type
 * for emulated MMIO; real hardware has UC MTRRs there; this is the belt to
 * those braces, and costs one 4 KiB page table at most.)
 */
#pragma once
#include "arch/x86_64/layout.h"

/* Returns the kernel address of phys..phys+size, or NULL when it is
 * outside the direct map. Call before other CPUs run (no TLB shootdown). */
volatile void *mmio_map(uint64_t phys, uint64_t size);

static inline uint32_t mmio_read32(volatile void *base, uint32_t off)
{
	return *(volatile uint32_t *)((volatile uint8_t *)base + off);
}

static inline void mmio_write32(volatile void *base, uint32_t off, uint32_t v)
{
	*(volatile uint32_t *)((volatile uint8_t *)base + off) = v;
}
