/*
 * Buddy page allocator with per-CPU single-page caches. See page_alloc.h.
 *
 * State of every page lives in one byte (struct range.meta):
 *   - the first page of a block (its head) says whether the block is free
 *     (in a buddy list), allocated, cached by a CPU or reserved, and its order;
 *   - every other page of a block says TAIL.
 * This is enough to check each page_free, to merge buddies (a buddy can merge
 * only if its head byte says "free, same order") and to find the block that
 * contains any address (page_block_head), with no other per-page memory.
 *
 * Ranges are carved lazily. Writing a free-list header into every 4 MiB block
 * of a range at boot would make the host fault in (and, with transparent huge
 * pages, zero 2 MiB of) memory for every block: guest RAM would be paid for on
 * the host up front and boot time would grow with RAM. So adding a range only
 * clears its meta bytes and lists the few small blocks up to the first
 * max-order boundary; the rest, [carve, end), stays untouched until
 * buddy_alloc finds its lists empty and carves the next block off it. Pages
 * beyond the frontier have meta TAIL and are free but in no list.
 *
 * Locks: one per CPU cache (pcp) and one global (pa_lock) for the buddy lists
 * and counters. Order is pcp lock -> pa_lock; a pcp lock is never taken while
 * another is held. Page state bytes are read and written atomically because
 * the single-page paths change them under a pcp lock only.
 */
#include "page_alloc.h"

#define PG_TAIL      0x00  /* inside a block, not its head */
#define PG_FREE      0x20  /* head of a free block in a buddy list | order */
#define PG_ALLOC     0x40  /* head of an allocated block | order */
#define PG_PCP       0x60  /* single free page in a per-CPU cache */
#define PG_RESERVED  0x80  /* single page taken by page_alloc_reserve */
#define PG_STATE(b)  ((b) & 0xe0)
#define PG_ORDER(b)  ((unsigned)(b) & 0x1f)

#define NPAGES(order) (1UL << (order))

/* Header written into every free block and cached page, through the direct
 * map. The magic catches a stray write into free memory before the broken
 * links are followed. */
struct free_page {
	struct free_page *next, *prev;
	uint64_t magic;
};
#define FREE_MAGIC 0x6567617065657266ULL /* "freepage" */

/* One piece of RAM given by page_alloc_add_range. Its first pages hold meta,
 * [start, end) are the pages it manages, [carve, end) the free pages not yet
 * given to the buddy lists (never written since the range was added). */
struct range {
	uint64_t base;   /* first pfn, where meta lives */
	uint64_t start;  /* first managed pfn */
	uint64_t end;    /* one past the last pfn */
	uint64_t carve;  /* the frontier; only grows, under pa_lock */
	uint8_t *meta;   /* meta[pfn - start] */
};

/* A CPU's cache of single free pages, singly linked through next. Aligned to
 * a cache line so CPUs do not share lines. */
struct pcp {
	mm_lock_t lock;
	unsigned count;
	struct free_page *head;
} __attribute__((aligned(64)));

static uint64_t map_base;

/* Ranges are append-only and published by a release store of nranges, so
 * lookups need no lock. Entries are filled under pa_lock. */
static struct range ranges[MM_MAX_RANGES];
static unsigned nranges;

static mm_lock_t pa_lock;  /* buddy lists and the counters below */
static struct free_page free_lists[MM_MAX_ORDER + 1]; /* circular, sentinels */
static uint64_t nfree_blocks[MM_MAX_ORDER + 1];
static uint64_t buddy_free_pages, total_pages, meta_pages, reserved_pages;
static struct { uint64_t s, e; } resv[MM_MAX_RESERVED]; /* pfns kept out */
static unsigned nresv;
static uint64_t alloc_failures; /* atomic */

static struct pcp pcps[MM_MAX_CPUS];
static unsigned pcp_batch = 1, pcp_high = 4; /* resized as memory is added */

/* --- helpers ------------------------------------------------------------- */

void *page_phys_to_virt(uint64_t phys)
{
	return (void *)(map_base + phys);
}

uint64_t page_virt_to_phys(const void *virt)
{
	return (uint64_t)virt - map_base;
}

static struct free_page *pfn_page(uint64_t pfn)
{
	return page_phys_to_virt(pfn << MM_PAGE_SHIFT);
}

static uint64_t page_pfn(struct free_page *p)
{
	return page_virt_to_phys(p) >> MM_PAGE_SHIFT;
}

static struct range *find_range(uint64_t pfn)
{
	unsigned n = __atomic_load_n(&nranges, __ATOMIC_ACQUIRE);
	for (unsigned i = 0; i < n; i++)
		if (pfn >= ranges[i].start && pfn < ranges[i].end)
			return &ranges[i];
	return NULL;
}

static uint8_t meta_get(struct range *r, uint64_t pfn)
{
	return __atomic_load_n(&r->meta[pfn - r->start], __ATOMIC_RELAXED);
}

static void meta_set(struct range *r, uint64_t pfn, uint8_t v)
{
	__atomic_store_n(&r->meta[pfn - r->start], v, __ATOMIC_RELAXED);
}

/* The head of the block containing pfn. Blocks are aligned to their size, so
 * the head is pfn rounded down to some power of two, and every candidate
 * below the true head is inside the block, hence TAIL. */
static uint64_t block_head(struct range *r, uint64_t pfn)
{
	for (unsigned o = 0; o <= MM_MAX_ORDER; o++) {
		uint64_t h = pfn & ~(NPAGES(o) - 1);
		if (h < r->start)
			break;
		if (PG_STATE(meta_get(r, h)) != PG_TAIL)
			return h;
	}
	return pfn; /* unreachable while the meta bytes are consistent */
}

/* The order of the block that starts at pfn when [pfn, end) is cut into the
 * largest aligned blocks that fit: max-order blocks, smaller ones at the ends. */
static unsigned carve_order(uint64_t pfn, uint64_t end)
{
	unsigned o = MM_MAX_ORDER;
	while (o && ((pfn & (NPAGES(o) - 1)) || pfn + NPAGES(o) > end))
		o--;
	return o;
}

/* Free memory was overwritten: the lists cannot be trusted any more, so there
 * is nothing sane to unwind to. This is the one mm_panic under a lock. */
static void check_free_page(struct free_page *p)
{
	if (p->magic != FREE_MAGIC)
		mm_panic("page_alloc: free page 0x%lx overwritten (use after free?)",
			 page_virt_to_phys(p));
}

/* --- buddy lists (pa_lock held) ------------------------------------------ */

static void list_push(uint64_t pfn, unsigned order)
{
	struct free_page *head = &free_lists[order], *p = pfn_page(pfn);
	p->magic = FREE_MAGIC;
	p->prev = head;
	p->next = head->next;
	head->next->prev = p;
	head->next = p;
	nfree_blocks[order]++;
}

static void list_del(struct free_page *p, unsigned order)
{
	check_free_page(p);
	p->prev->next = p->next;
	p->next->prev = p->prev;
	p->magic = 0;
	nfree_blocks[order]--;
}

/* Put a block on its free list without merging. */
static void buddy_insert(struct range *r, uint64_t pfn, unsigned order)
{
	meta_set(r, pfn, PG_FREE | order);
	list_push(pfn, order);
	buddy_free_pages += NPAGES(order);
}

/* Give the next block of r's frontier to the buddy lists; its order.
 *
 * Merging never reaches across the frontier: the frontier moves in max-order
 * aligned steps (add_piece lists the blocks below the first boundary), so
 * every block below it lies in a max-order window wholly below it, and so
 * does its buddy. Only at the end of a range, where no whole max-order block
 * is left, does it move by smaller blocks; each is the largest that fits, so
 * a block whose buddy lies above it would have been carved twice as big had
 * that buddy fitted: the buddy runs past the end of the range, and
 * buddy_free never merges there. (And a page beyond the frontier has meta
 * TAIL, never "free, same order".) The blocks carved are thus exactly those
 * an eager cut of the whole range would have made. */
static unsigned carve_one(struct range *r)
{
	unsigned o = carve_order(r->carve, r->end);
	buddy_insert(r, r->carve, o);
	__atomic_store_n(&r->carve, r->carve + NPAGES(o), __ATOMIC_RELAXED);
	return o;
}

/* Carve until a block of at least this order is listed, first-added range
 * first (the lists are empty from order up when called). */
static bool carve(unsigned order)
{
	for (unsigned i = 0; i < nranges; i++)
		while (ranges[i].carve < ranges[i].end)
			if (carve_one(&ranges[i]) >= order)
				return true;
	return false;
}

static unsigned first_listed(unsigned order)
{
	while (order <= MM_MAX_ORDER && free_lists[order].next == &free_lists[order])
		order++;
	return order;
}

/* Take a block of exactly this order, splitting a larger one if needed.
 * Listed blocks go first, so memory already touched is reused before the
 * frontier is. */
static uint64_t buddy_alloc(unsigned order, struct range **rp)
{
	unsigned o = first_listed(order);
	if (o > MM_MAX_ORDER && carve(order))
		o = first_listed(order);
	if (o > MM_MAX_ORDER)
		return 0;

	struct free_page *p = free_lists[o].next;
	uint64_t pfn = page_pfn(p);
	struct range *r = find_range(pfn);
	list_del(p, o);
	buddy_free_pages -= NPAGES(o);
	/* Keep the lower half, give back the upper halves: the result stays
	 * aligned to its own size. */
	while (o > order) {
		o--;
		buddy_insert(r, pfn + NPAGES(o), o);
	}
	meta_set(r, pfn, PG_ALLOC | order);
	*rp = r;
	return pfn;
}

/* Free a block whose head byte the caller has checked, merging it with its
 * buddy as long as the buddy is free, of the same order and in the range. */
static void buddy_free(struct range *r, uint64_t pfn, unsigned order)
{
	meta_set(r, pfn, PG_TAIL);
	while (order < MM_MAX_ORDER) {
		uint64_t b = pfn ^ NPAGES(order);
		if (b < r->start || b + NPAGES(order) > r->end)
			break;
		if (meta_get(r, b) != (PG_FREE | order))
			break;
		list_del(pfn_page(b), order);
		buddy_free_pages -= NPAGES(order);
		meta_set(r, b, PG_TAIL);
		pfn &= ~NPAGES(order);
		order++;
	}
	buddy_insert(r, pfn, order);
}

/* --- per-CPU caches -------------------------------------------------------- */

static struct pcp *this_pcp(void)
{
	return &pcps[mm_cpu_id() % MM_MAX_CPUS];
}

/* c->lock held. */
static void pcp_push(struct pcp *c, uint64_t pfn)
{
	struct free_page *p = pfn_page(pfn);
	p->magic = FREE_MAGIC;
	p->next = c->head;
	c->head = p;
	c->count++;
}

static uint64_t pcp_pop(struct pcp *c)
{
	struct free_page *p = c->head;
	check_free_page(p);
	c->head = p->next;
	c->count--;
	p->magic = 0;
	return page_pfn(p);
}

/* c->lock held: fill the cache with a batch from the buddy lists. */
static void pcp_refill(struct pcp *c)
{
	mm_lock(&pa_lock);
	for (unsigned i = 0; i < pcp_batch; i++) {
		struct range *r;
		uint64_t pfn = buddy_alloc(0, &r);
		if (!pfn)
			break;
		meta_set(r, pfn, PG_PCP);
		pcp_push(c, pfn);
	}
	mm_unlock(&pa_lock);
}

/* c->lock held: give n cached pages back to the buddy lists. */
static void pcp_drain(struct pcp *c, unsigned n)
{
	mm_lock(&pa_lock);
	while (n-- && c->count) {
		uint64_t pfn = pcp_pop(c);
		buddy_free(find_range(pfn), pfn, 0);
	}
	mm_unlock(&pa_lock);
}

static uint64_t pcp_alloc(void)
{
	struct pcp *c = this_pcp();
	uint64_t pfn = 0;

	mm_lock(&c->lock);
	if (c->count == 0)
		pcp_refill(c);
	if (c->count) {
		pfn = pcp_pop(c);
		meta_set(find_range(pfn), pfn, PG_ALLOC | 0);
	}
	mm_unlock(&c->lock);
	return pfn;
}

void page_alloc_drain(void)
{
	for (unsigned i = 0; i < MM_MAX_CPUS; i++) {
		struct pcp *c = &pcps[i];
		mm_lock(&c->lock);
		if (c->count)
			pcp_drain(c, c->count);
		mm_unlock(&c->lock);
	}
}

/* --- API ------------------------------------------------------------------- */

void page_alloc_init(uint64_t direct_map_base)
{
	map_base = direct_map_base;
	nranges = 0;
	pa_lock.locked = 0;
	for (unsigned o = 0; o <= MM_MAX_ORDER; o++) {
		free_lists[o].next = free_lists[o].prev = &free_lists[o];
		nfree_blocks[o] = 0;
	}
	buddy_free_pages = total_pages = meta_pages = reserved_pages = 0;
	nresv = 0;
	alloc_failures = 0;
	for (unsigned i = 0; i < MM_MAX_CPUS; i++)
		pcps[i] = (struct pcp){ .count = 0 };
	pcp_batch = 1;
	pcp_high = 4;
}

/* pa_lock held: manage pages [s, e), which nothing else covers. */
static void add_piece(uint64_t s, uint64_t e)
{
	uint64_t n = e - s;
	/* One meta page describes 4096 pages and needs no byte itself:
	 * ceil(n / 4097) pages. */
	uint64_t mp = (n + MM_PAGE_SIZE) / (MM_PAGE_SIZE + 1);
	if (nranges == MM_MAX_RANGES || n <= mp) {
		mm_log("page_alloc: memory 0x%lx-0x%lx ignored (%s)", s << MM_PAGE_SHIFT,
		       e << MM_PAGE_SHIFT, n <= mp ? "too small" : "too many ranges");
		return;
	}

	struct range *r = &ranges[nranges];
	r->base = s;
	r->start = s + mp;
	r->end = e;
	r->carve = r->start;
	r->meta = page_phys_to_virt(s << MM_PAGE_SHIFT);
	__builtin_memset(r->meta, PG_TAIL, r->end - r->start);
	__atomic_store_n(&nranges, nranges + 1, __ATOMIC_RELEASE);

	/* List the blocks up to the first max-order boundary (at most one of
	 * each order, next to the meta pages) so the frontier starts aligned;
	 * the rest is carved when needed (see carve_one). */
	while (r->carve < r->end && (r->carve & (NPAGES(MM_MAX_ORDER) - 1)))
		carve_one(r);
	total_pages += r->end - r->start;
	meta_pages += mp;

	/* Caches sized to memory: a tiny guest must not strand much of its RAM
	 * in caches; a big one wants fewer trips to the global lock. */
	uint64_t b = total_pages / 256;
	b = b < 1 ? 1 : b > 16 ? 16 : b;
	__atomic_store_n(&pcp_batch, (unsigned)b, __ATOMIC_RELAXED);
	__atomic_store_n(&pcp_high, 4 * (unsigned)b, __ATOMIC_RELAXED);
}

/* pa_lock held: manage the pages of [s, e) that are neither managed already
 * nor reserved, as one range per piece between those. */
static void add_pieces(uint64_t s, uint64_t e)
{
	while (s < e) {
		/* The lowest-starting blocker that is not wholly below s. */
		uint64_t bs = e, be = e;
		for (unsigned i = 0; i < nranges + nresv; i++) {
			uint64_t a = i < nranges ? ranges[i].base : resv[i - nranges].s;
			uint64_t b = i < nranges ? ranges[i].end : resv[i - nranges].e;
			if (b > s && a < bs) {
				bs = a;
				be = b;
			}
		}
		if (bs > s)
			add_piece(s, bs);
		s = be > s ? be : s;
	}
}

void page_alloc_add_range(uint64_t phys_start, uint64_t phys_end)
{
	uint64_t s = (phys_start + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
	uint64_t e = phys_end >> MM_PAGE_SHIFT;
	if (s == 0)
		s = 1; /* phys 0 means "no memory" */
	if (phys_start > phys_end || e <= s)
		return;
	mm_lock(&pa_lock);
	add_pieces(s, e);
	mm_unlock(&pa_lock);
}

/* pa_lock held: take the free pages of [s, e) out of the ranges added so far.
 * The frontier is first carved past e so that every page has a block; this
 * touches the blocks below the region too, one page per 4 MiB, which
 * reserving before adding avoids. */
static uint64_t reserve_added(uint64_t s, uint64_t e)
{
	uint64_t busy = 0;
	for (unsigned i = 0; i < nranges; i++) {
		struct range *r = &ranges[i];
		uint64_t lo = s > r->start ? s : r->start;
		uint64_t hi = e < r->end ? e : r->end;
		while (lo < hi && r->carve < hi)
			carve_one(r);
		for (uint64_t pfn = lo; pfn < hi; pfn++) {
			uint64_t h = block_head(r, pfn);
			uint8_t m = meta_get(r, h);
			if (PG_STATE(m) != PG_FREE) {
				busy += m != PG_RESERVED;
				continue;
			}
			/* Split the free block around pfn, giving back the
			 * halves that do not contain it. */
			unsigned o = PG_ORDER(m);
			list_del(pfn_page(h), o);
			buddy_free_pages -= NPAGES(o);
			meta_set(r, h, PG_TAIL);
			while (o > 0) {
				o--;
				uint64_t upper = h + NPAGES(o);
				if (pfn >= upper) {
					buddy_insert(r, h, o);
					h = upper;
				} else {
					buddy_insert(r, upper, o);
				}
			}
			meta_set(r, pfn, PG_RESERVED);
			reserved_pages++;
		}
	}
	return busy;
}

void page_alloc_reserve(uint64_t phys_start, uint64_t phys_end)
{
	uint64_t s = phys_start >> MM_PAGE_SHIFT;
	uint64_t e = (phys_end + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
	if (e <= s)
		return;

	mm_lock(&pa_lock);
	bool full = nresv == MM_MAX_RESERVED;
	if (!full) {
		resv[nresv].s = s;
		resv[nresv++].e = e;
	}
	uint64_t busy = reserve_added(s, e);
	mm_unlock(&pa_lock);
	if (full)
		mm_log("page_alloc_reserve: too many reservations: 0x%lx-0x%lx not kept "
		       "out of ranges added later", phys_start, phys_end);
	if (busy)
		mm_log("page_alloc_reserve: %lu pages of 0x%lx-0x%lx already in use",
		       busy, phys_start, phys_end);
}

static bool in_resv(uint64_t pfn)
{
	for (unsigned i = 0; i < nresv; i++)
		if (pfn >= resv[i].s && pfn < resv[i].e)
			return true;
	return false;
}

void page_alloc_release(uint64_t phys_start, uint64_t phys_end)
{
	uint64_t s = phys_start >> MM_PAGE_SHIFT;
	uint64_t e = (phys_end + MM_PAGE_SIZE - 1) >> MM_PAGE_SHIFT;
	unsigned i;

	mm_lock(&pa_lock);
	for (i = 0; i < nresv; i++)
		if (resv[i].s == s && resv[i].e == e)
			break;
	if (i == nresv) {
		mm_unlock(&pa_lock);
		mm_log("page_alloc_release: 0x%lx-0x%lx was not reserved", phys_start,
		       phys_end);
		return;
	}
	resv[i] = resv[--nresv];

	/* Pages taken out of ranges go back one by one; the parts that were
	 * never added (they were reserved first) become new ranges. */
	for (unsigned k = 0; k < nranges; k++) {
		struct range *r = &ranges[k];
		for (uint64_t pfn = s > r->start ? s : r->start; pfn < e && pfn < r->end; pfn++) {
			if (meta_get(r, pfn) == PG_RESERVED && !in_resv(pfn)) {
				reserved_pages--;
				buddy_free(r, pfn, 0);
			}
		}
	}
	add_pieces(s ? s : 1, e);
	mm_unlock(&pa_lock);
}

static uint64_t try_alloc(unsigned order)
{
	if (order == 0)
		return pcp_alloc();
	struct range *r;
	mm_lock(&pa_lock);
	uint64_t pfn = buddy_alloc(order, &r);
	mm_unlock(&pa_lock);
	return pfn;
}

uint64_t page_alloc(unsigned order)
{
	if (order > MM_MAX_ORDER)
		return 0;
	uint64_t pfn = try_alloc(order);
	if (!pfn) {
		/* Pages parked in CPU caches may be what is missing, or may
		 * be splitting the larger blocks asked for. */
		page_alloc_drain();
		pfn = try_alloc(order);
	}
	if (!pfn)
		__atomic_fetch_add(&alloc_failures, 1, __ATOMIC_RELAXED);
	return pfn << MM_PAGE_SHIFT;
}

/* Say what was wrong with a page_free, from the state of the page's block. */
static void bad_free(struct range *r, uint64_t phys, unsigned order, uint8_t m)
{
	uint64_t pfn = phys >> MM_PAGE_SHIFT;
	if (pfn >= __atomic_load_n(&r->carve, __ATOMIC_RELAXED)) {
		mm_panic("page_free: 0x%lx (order %u) was never allocated: page is free",
			 phys, order);
		return;
	}
	if (PG_STATE(m) == PG_TAIL)
		m = meta_get(r, block_head(r, pfn));

	if (PG_STATE(m) == PG_FREE || PG_STATE(m) == PG_PCP)
		mm_panic("page_free: double free of 0x%lx (order %u): page is free",
			 phys, order);
	else if (PG_STATE(m) == PG_RESERVED)
		mm_panic("page_free: 0x%lx is a reserved page: free it with order 0",
			 phys);
	else if (block_head(r, pfn) != pfn)
		mm_panic("page_free: 0x%lx (order %u) is inside an allocated block",
			 phys, order);
	else
		mm_panic("page_free: 0x%lx freed as order %u but allocated as order %u",
			 phys, order, PG_ORDER(m));
}

void page_free(uint64_t phys, unsigned order)
{
	if (!phys)
		return;
	if (order > MM_MAX_ORDER || (phys & ((MM_PAGE_SIZE << order) - 1))) {
		mm_panic("page_free: bad address 0x%lx for order %u", phys, order);
		return;
	}
	uint64_t pfn = phys >> MM_PAGE_SHIFT;
	struct range *r = find_range(pfn);
	if (!r || pfn + NPAGES(order) > r->end) {
		mm_panic("page_free: 0x%lx is not memory of the page allocator", phys);
		return;
	}

	uint8_t m = meta_get(r, pfn);
	if (order == 0 && m != PG_RESERVED) {
		/* Common case: into this CPU's cache. The compare-and-swap
		 * makes two racing frees of one page fail loudly. */
		struct pcp *c = this_pcp();
		mm_lock(&c->lock);
		m = PG_ALLOC | 0;
		if (!__atomic_compare_exchange_n(&r->meta[pfn - r->start], &m, PG_PCP,
						 false, __ATOMIC_RELAXED, __ATOMIC_RELAXED)) {
			mm_unlock(&c->lock);
			bad_free(r, phys, order, m);
			return;
		}
		pcp_push(c, pfn);
		if (c->count > __atomic_load_n(&pcp_high, __ATOMIC_RELAXED))
			pcp_drain(c, __atomic_load_n(&pcp_batch, __ATOMIC_RELAXED));
		mm_unlock(&c->lock);
		return;
	}

	mm_lock(&pa_lock);
	m = meta_get(r, pfn);
	if (order == 0 && m == PG_RESERVED) {
		reserved_pages--;
	} else if (m != (PG_ALLOC | order)) {
		mm_unlock(&pa_lock);
		bad_free(r, phys, order, m);
		return;
	}
	buddy_free(r, pfn, order);
	mm_unlock(&pa_lock);
}

void *page_alloc_virt(unsigned order)
{
	uint64_t phys = page_alloc(order);
	return phys ? page_phys_to_virt(phys) : NULL;
}

void page_free_virt(void *virt, unsigned order)
{
	if (virt)
		page_free(page_virt_to_phys(virt), order);
}

uint64_t page_block_head(uint64_t phys, unsigned *order)
{
	uint64_t pfn = phys >> MM_PAGE_SHIFT;
	struct range *r = find_range(pfn);
	if (!r)
		return 0;
	uint64_t h = block_head(r, pfn);
	uint8_t m = meta_get(r, h);
	if (PG_STATE(m) != PG_ALLOC || h + NPAGES(PG_ORDER(m)) <= pfn)
		return 0;
	if (order)
		*order = PG_ORDER(m);
	return h << MM_PAGE_SHIFT;
}

void page_alloc_stats(struct page_stats *st)
{
	mm_lock(&pa_lock);
	st->total_pages = total_pages;
	st->free_pages = buddy_free_pages;
	st->reserved_pages = reserved_pages;
	st->meta_pages = meta_pages;
	for (unsigned o = 0; o <= MM_MAX_ORDER; o++)
		st->free_blocks[o] = nfree_blocks[o];
	/* The frontiers count as the blocks they will be carved into. */
	for (unsigned i = 0; i < nranges; i++) {
		struct range *r = &ranges[i];
		st->free_pages += r->end - r->carve;
		for (uint64_t pfn = r->carve; pfn < r->end;) {
			unsigned o = carve_order(pfn, r->end);
			uint64_t n = o == MM_MAX_ORDER ? (r->end - pfn) >> MM_MAX_ORDER : 1;
			st->free_blocks[o] += n;
			pfn += n << o;
		}
	}
	st->nranges = nranges;
	mm_unlock(&pa_lock);
	st->alloc_failures = __atomic_load_n(&alloc_failures, __ATOMIC_RELAXED);

	st->pcp_pages = 0;
	for (unsigned i = 0; i < MM_MAX_CPUS; i++) {
		mm_lock(&pcps[i].lock);
		st->pcp_pages += pcps[i].count;
		mm_unlock(&pcps[i].lock);
	}
	st->free_pages += st->pcp_pages;
}
