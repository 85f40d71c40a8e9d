/* Host tests for the VMA list (kernel/mm/vma.c). */
#include <stdlib.h>
#include "check.h"
#include "mm/vma.c"

static int live_nodes;
void *vma_alloc_node(void) { live_nodes++; return calloc(1, sizeof(struct vma)); }
void vma_free_node(void *p) { live_nodes--; free(p); }

#define K 0x1000ull

static struct vma anon(uint64_t s, uint64_t e, uint32_t prot)
{
	struct vma v = { .start = s, .end = e, .prot = prot };
	return v;
}

/* The list is sorted, non-overlapping, linked both ways, counted. */
static int well_formed(const struct vma_list *l)
{
	unsigned n = 0;
	const struct vma *prev = NULL;
	for (const struct vma *v = l->first; v; prev = v, v = v->next, n++) {
		if (v->prev != prev || v->start >= v->end)
			return 0;
		if (prev && prev->end > v->start)
			return 0;
		if (prev && prev->end == v->start && prev->prot == v->prot &&
		    prev->flags == v->flags && !prev->file && !v->file)
			return 0;          /* should have been merged */
	}
	return l->last == prev && n == l->count;
}

int main(void)
{
	struct vma_list l = {0};
	struct vma t = anon(10 * K, 20 * K, 3);
	CHECK(vma_insert(&l, &t));
	t = anon(20 * K, 30 * K, 3);
	struct vma *m = vma_insert(&l, &t);
	CHECK(m && m->start == 10 * K && m->end == 30 * K);   /* merged */
	CHECK(l.count == 1 && well_formed(&l));
	t = anon(40 * K, 50 * K, 1);
	vma_insert(&l, &t);
	CHECK(l.count == 2 && well_formed(&l));
	CHECK(vma_find(&l, 15 * K) == l.first);
	CHECK(vma_find(&l, 30 * K) == NULL);
	CHECK(vma_find(&l, 49 * K) == l.last);
	CHECK(vma_overlaps(&l, 29 * K, 41 * K));
	CHECK(!vma_overlaps(&l, 30 * K, 40 * K));
	CHECK(vma_covered(&l, 12 * K, 30 * K));
	CHECK(!vma_covered(&l, 12 * K, 41 * K));

	/* Remove a middle piece: split in two. */
	CHECK(vma_remove(&l, 14 * K, 16 * K) == 0);
	CHECK(l.count == 3 && well_formed(&l));
	CHECK(vma_find(&l, 15 * K) == NULL && vma_find(&l, 16 * K) && vma_find(&l, 13 * K));
	/* Protect across the hole and a neighbour, then back: merges again. */
	CHECK(vma_protect(&l, 12 * K, 20 * K, 1) == 0);
	CHECK(well_formed(&l));
	CHECK(vma_find(&l, 12 * K)->prot == 1 && vma_find(&l, 11 * K)->prot == 3);
	CHECK(vma_find(&l, 20 * K)->prot == 3);
	CHECK(vma_protect(&l, 10 * K, 30 * K, 3) == 0 && well_formed(&l));
	CHECK(l.count == 3);     /* [10,14) [16,30) [40,50) */

	/* Free ranges. */
	CHECK(vma_find_free(&l, 2 * K, 5 * K, 100 * K, false, 0) == 5 * K);
	CHECK(vma_find_free(&l, 6 * K, 5 * K, 100 * K, false, 0) == 30 * K);
	CHECK(vma_find_free(&l, 2 * K, 5 * K, 100 * K, true, 0) == 98 * K);
	CHECK(vma_find_free(&l, 2 * K, 5 * K, 50 * K, true, 0) == 38 * K);
	CHECK(vma_find_free(&l, 10 * K, 5 * K, 40 * K, true, 0) == 30 * K);
	CHECK(vma_find_free(&l, 11 * K, 5 * K, 40 * K, true, 0) == 0);
	CHECK(vma_find_free(&l, 2 * K, 14 * K, 16 * K, true, 0) == 14 * K);
	/* A growsdown area keeps a gap below it. */
	t = anon(60 * K, 70 * K, 3);
	t.flags = VMA_GROWSDOWN;
	vma_insert(&l, &t);
	CHECK(vma_find_free(&l, 2 * K, 50 * K, 60 * K, true, 4 * K) == 54 * K);
	CHECK(vma_find_free(&l, 8 * K, 50 * K, 60 * K, false, 4 * K) == 0);

	/* File areas merge only when offsets continue. */
	static uint8_t data[64 * 1024];
	struct vma f = { .start = 100 * K, .end = 102 * K, .prot = 5, .file = data,
			 .off = 0, .file_end = sizeof(data) };
	vma_insert(&l, &f);
	f.start = 102 * K; f.end = 103 * K; f.off = 2 * K;
	m = vma_insert(&l, &f);
	CHECK(m && m->start == 100 * K && m->end == 103 * K);
	f.start = 103 * K; f.end = 104 * K; f.off = 9 * K;
	vma_insert(&l, &f);
	CHECK(vma_find(&l, 103 * K)->start == 103 * K);
	/* Splitting a file area moves the upper part's offset. */
	CHECK(vma_split_at(&l, 101 * K) == 0);
	CHECK(vma_find(&l, 101 * K)->off == 1 * K && vma_find(&l, 100 * K)->off == 0);
	CHECK(well_formed(&l));

	/* Removing everything frees every node. */
	CHECK(vma_remove(&l, 0, 1000 * K) == 0);
	CHECK(l.count == 0 && !l.first && !l.last && live_nodes == 0);
	vma_insert(&l, &t);
	vma_clear(&l);
	CHECK(live_nodes == 0);
	return CHECK_SUMMARY();
}
