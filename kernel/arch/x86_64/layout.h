/* The kernel's place in physical and virtual memory. Usable from C, assembly
 * and the linker script. */
#pragma once

/* PVH loaders put the image at its ELF physical address. */
#define KERNEL_LOAD_PHYS   0x100000

/* Upper half: PML4 slot 256 holds the direct map of all RAM. */
#define DIRECT_MAP_BASE    0xFFFF800000000000
/* The kernel image lands at a random 2 MiB-aligned base in slots 257..383
 * (KASLR); `nokaslr` picks the lowest. Never the top 2 GiB (PVM). */
#define KERNEL_VIRT_MIN    0xFFFF808000000000
#define KERNEL_VIRT_MAX    0xFFFFC00000000000
/* Slots 384..509: kernel virtual allocations (stacks with guard pages, vmap). */
#define KVA_BASE           0xFFFFC00000000000
#define KVA_END            0xFFFFFE8000000000

/* The program owns the lower half. */
#define USER_END           0x0000800000000000

#define PAGE_SIZE          4096
#define PAGE_SHIFT         12
