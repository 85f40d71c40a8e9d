/*
 * Looking up a function by address in a symbol table laid out as
 * scripts/gen-ksyms.sh writes it. Pure: no kernel state, so the host unit
 * test (tests/unit/test_ksyms.c) includes ksym.c as is.
 */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct ksym {
	uint64_t addr;          /* link-time address */
	uint64_t size;          /* bytes; 0 when the symbol had no .size */
	uint64_t name_offset;   /* into the names blob */
};

/*
 * Finds the symbol containing addr in table[0..count), sorted by addr.
 * A symbol with a size contains [addr, addr+size); one without contains
 * everything up to the next symbol's address. Among symbols at the same
 * address (aliases) one with a size wins. names holds NUL-terminated
 * strings of names_len bytes in all; an offset outside it is treated as no
 * symbol. On success stores the name and addr - symbol address.
 */
bool ksym_find(const struct ksym *table, uint64_t count, const char *names,
	       uint64_t names_len, uint64_t addr, const char **name,
	       uint64_t *offset);
