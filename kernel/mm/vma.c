/*
 * VMA list operations. A sorted doubly linked list: programs have tens to
 * a few hundred areas, and every operation here is a short walk.
 */
#include "mm/vma.h"

static inline uint64_t min64(uint64_t a, uint64_t b) { return a < b ? a : b; }
static inline uint64_t max64(uint64_t a, uint64_t b) { return a > b ? a : b; }

static bool compatible(const struct vma *a, const struct vma *b)
{
	/* a directly below b */
	if (a->end != b->start || a->prot != b->prot || a->flags != b->flags)
		return false;
	if (!a->file && !b->file)
		return true;
	return a->file == b->file && a->file_read == b->file_read &&
	       a->file_end == b->file_end && a->off + (a->end - a->start) == b->off;
}

struct vma *vma_find(const struct vma_list *l, uint64_t addr)
{
	for (struct vma *v = l->first; v && v->start <= addr; v = v->next)
		if (addr < v->end)
			return v;
	return NULL;
}

struct vma *vma_next_after(const struct vma_list *l, uint64_t addr)
{
	for (struct vma *v = l->first; v; v = v->next)
		if (v->end > addr)
			return v;
	return NULL;
}

bool vma_overlaps(const struct vma_list *l, uint64_t start, uint64_t end)
{
	struct vma *v = vma_next_after(l, start);
	return v && v->start < end;
}

bool vma_covered(const struct vma_list *l, uint64_t start, uint64_t end)
{
	uint64_t at = start;
	for (struct vma *v = vma_next_after(l, start); v && at < end; v = v->next) {
		if (v->start > at)
			return false;
		at = v->end;
	}
	return at >= end;
}

static void link_before(struct vma_list *l, struct vma *n, struct vma *before)
{
	n->next = before;
	n->prev = before ? before->prev : l->last;
	if (n->prev)
		n->prev->next = n;
	else
		l->first = n;
	if (before)
		before->prev = n;
	else
		l->last = n;
	l->count++;
}

static void unlink_vma(struct vma_list *l, struct vma *v)
{
	if (v->prev)
		v->prev->next = v->next;
	else
		l->first = v->next;
	if (v->next)
		v->next->prev = v->prev;
	else
		l->last = v->prev;
	l->count--;
	vma_free_node(v);
}

void vma_merge_around(struct vma_list *l, struct vma *v)
{
	if (v->prev && compatible(v->prev, v)) {
		struct vma *p = v->prev;
		p->end = v->end;
		unlink_vma(l, v);
		v = p;
	}
	if (v->next && compatible(v, v->next)) {
		v->end = v->next->end;
		unlink_vma(l, v->next);
	}
}

struct vma *vma_insert(struct vma_list *l, const struct vma *tmpl)
{
	struct vma *n = vma_alloc_node();
	if (!n)
		return NULL;
	*n = *tmpl;
	struct vma *before = vma_next_after(l, n->start);
	link_before(l, n, before);
	struct vma *prev = n->prev;
	vma_merge_around(l, n);
	/* n may have been folded into its predecessor. */
	if (prev && prev->end >= tmpl->end && prev->start <= tmpl->start)
		return prev;
	return n;
}

int vma_split_at(struct vma_list *l, uint64_t addr)
{
	struct vma *v = vma_find(l, addr);
	if (!v || v->start == addr)
		return 0;
	struct vma *hi = vma_alloc_node();
	if (!hi)
		return -1;
	*hi = *v;
	hi->start = addr;
	if (hi->file)
		hi->off += addr - v->start;
	v->end = addr;
	link_before(l, hi, v->next);
	return 0;
}

/* Splits at both ends, undoing nothing on failure (a split alone changes
 * no attribute, so a half-done one is harmless). */
static int split_range(struct vma_list *l, uint64_t start, uint64_t end)
{
	if (vma_split_at(l, start) < 0 || vma_split_at(l, end) < 0)
		return -1;
	return 0;
}

int vma_remove(struct vma_list *l, uint64_t start, uint64_t end)
{
	if (split_range(l, start, end) < 0)
		return -1;
	struct vma *v = vma_next_after(l, start);
	while (v && v->start < end) {
		struct vma *next = v->next;
		unlink_vma(l, v);
		v = next;
	}
	return 0;
}

int vma_protect(struct vma_list *l, uint64_t start, uint64_t end, uint32_t prot)
{
	if (split_range(l, start, end) < 0)
		return -1;
	struct vma *v = vma_next_after(l, start);
	struct vma *first = v, *last = NULL;
	for (; v && v->start < end; v = v->next) {
		v->prot = prot;
		last = v;
	}
	if (!first || !last)
		return 0;
	/* Merge from just before the range to just after it. */
	struct vma *from = first->prev ? first->prev : first;
	uint64_t stop = last->next ? last->next->end : last->end;
	for (v = from; v && v->start < stop; ) {
		if (v->next && compatible(v, v->next)) {
			v->end = v->next->end;
			unlink_vma(l, v->next);
		} else {
			v = v->next;
		}
	}
	return 0;
}

uint64_t vma_find_free(const struct vma_list *l, uint64_t len, uint64_t lo,
		       uint64_t hi, bool topdown, uint64_t gap)
{
	if (!len || hi < lo || hi - lo < len)
		return 0;
	if (topdown) {
		/* Holes from the highest down; each is bounded above by
		 * `top` (the start of the area above it, or hi). */
		uint64_t top = hi;
		bool below_stack = false;
		struct vma *v = l->last;
		while (v && v->start >= hi)
			v = v->prev;
		const struct vma *above = v ? v->next : l->first;
		if (above && (above->flags & VMA_GROWSDOWN) && above->start < hi + gap) {
			top = above->start;
			below_stack = true;
		}
		for (;;) {
			uint64_t h_lo = v ? max64(v->end, lo) : lo;
			uint64_t h_hi = top;
			if (below_stack)
				h_hi = h_hi > gap ? h_hi - gap : 0;
			if (h_hi > h_lo && h_hi - h_lo >= len)
				return h_hi - len;
			if (!v || v->start <= lo)
				return 0;
			top = v->start;
			below_stack = v->flags & VMA_GROWSDOWN;
			v = v->prev;
		}
	}
	uint64_t at = lo;
	for (struct vma *v = vma_next_after(l, lo); ; v = v->next) {
		uint64_t h_hi = v ? min64(v->start, hi) : hi;
		if (v && (v->flags & VMA_GROWSDOWN))
			h_hi = h_hi > gap ? h_hi - gap : 0;
		if (h_hi > at && h_hi - at >= len)
			return at;
		if (!v || v->end >= hi)
			return 0;
		at = max64(at, v->end);
	}
}

void vma_clear(struct vma_list *l)
{
	while (l->first)
		unlink_vma(l, l->first);
}
