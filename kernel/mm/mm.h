/* Memory management: what the rest of the kernel calls. The allocators'
 * own interfaces are page_alloc.h and heap.h. */
#pragma once

struct boot_info;

/* Gives the page allocator all RAM the boot left free, then starts the heap. */
void mm_init(const struct boot_info *bi);

/* Four contiguous pages below 1 MiB, 16 KiB aligned, never given to the
 * allocator (for the SMP trampoline); 0 when low memory had no room. */
uint64_t mm_low_pages(void);
