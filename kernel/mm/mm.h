/* Memory management: what the rest of the kernel calls. The allocators'
 * own interfaces are page_alloc.h and heap.h. */
#pragma once

struct boot_info;

/* Gives the page allocator all RAM the boot left free, then starts the heap. */
void mm_init(const struct boot_info *bi);
