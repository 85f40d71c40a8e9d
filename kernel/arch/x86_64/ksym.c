#include "arch/x86_64/ksym.h"

static bool contains(const struct ksym *table, uint64_t count, uint64_t i,
		     uint64_t addr)
{
	const struct ksym *s = &table[i];
	if (addr < s->addr)
		return false;
	if (s->size)
		return addr - s->addr < s->size;
	/* No size (an assembly label): up to the next higher symbol. */
	for (uint64_t j = i + 1; j < count; j++)
		if (table[j].addr > s->addr)
			return addr < table[j].addr;
	return false;   /* the last symbol, unbounded: do not guess */
}

bool ksym_find(const struct ksym *table, uint64_t count, const char *names,
	       uint64_t names_len, uint64_t addr, const char **name,
	       uint64_t *offset)
{
	if (!table || !count || !names)
		return false;
	/* lo = the number of symbols at or below addr. */
	uint64_t lo = 0, hi = count;
	while (lo < hi) {
		uint64_t mid = lo + (hi - lo) / 2;
		if (table[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	/* Candidates: the run of symbols sharing the highest address <= addr,
	 * sized ones first; then, since sized symbols may nest or overlap
	 * (a local label inside a function), earlier ones that still reach. */
	uint64_t top = table[lo - 1].addr, best = count;
	for (uint64_t i = lo; i-- > 0 && table[i].addr == top;) {
		if (contains(table, count, i, addr) &&
		    (best == count || (table[i].size && !table[best].size)))
			best = i;
	}
	for (uint64_t i = lo, n = 0; best == count && i-- > 0 && n < 64; n++)
		if (table[i].size && contains(table, count, i, addr))
			best = i;
	if (best == count || table[best].name_offset >= names_len)
		return false;
	*name = names + table[best].name_offset;
	*offset = addr - table[best].addr;
	return true;
}
