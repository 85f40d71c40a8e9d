/* Host unit test of the buddy page allocator (kernel/mm/page_alloc.c).
 *
 * "Physical memory" is a malloc'd arena: a fake physical address P lives at
 * arena + (P - arena_phys), which is just a direct map with
 * base = arena - arena_phys. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kernel/mm/page_alloc.c"
#include "check.h"

/* --- hooks ---------------------------------------------------------------- */

static __thread unsigned test_cpu;
static __thread jmp_buf *panic_jmp;
static int log_count, panic_count;
static char last_panic[256];

unsigned mm_cpu_id(void)
{
	return test_cpu;
}

void mm_log(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	printf("  mm_log: ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	__atomic_fetch_add(&log_count, 1, __ATOMIC_RELAXED);
}

void mm_panic(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(last_panic, sizeof(last_panic), fmt, ap);
	va_end(ap);
	__atomic_fetch_add(&panic_count, 1, __ATOMIC_RELAXED);
	if (panic_jmp)
		longjmp(*panic_jmp, 1);
	/* Not expected: count it as a failure and let mm carry on. */
	fprintf(stderr, "unexpected mm_panic: %s\n", last_panic);
	CHECK(!"unexpected mm_panic");
}

/* True if stmt called mm_panic. */
#define PANICS(stmt)                                      \
	({                                                \
		jmp_buf jb_;                              \
		volatile bool got_ = false;                      \
		panic_jmp = &jb_;                         \
		if (setjmp(jb_) == 0) {                   \
			stmt;                             \
		} else {                                  \
			got_ = true;                      \
			printf("  expected panic: %s\n", last_panic); \
		}                                         \
		panic_jmp = NULL;                         \
		got_;                                     \
	})

/* --- arena ------------------------------------------------------------------ */

#define ARENA_SIZE  (80UL << 20)
#define ARENA_PAGES (ARENA_SIZE / MM_PAGE_SIZE)
#define BLOCK(o)    (MM_PAGE_SIZE << (o))

static uint8_t *arena;
static uint64_t arena_phys;
static uint32_t owner[ARENA_PAGES]; /* which live block holds a page (0: none) */

static void setup(uint64_t phys0)
{
	arena_phys = phys0;
	memset(owner, 0, sizeof(owner));
	page_alloc_init((uint64_t)arena - phys0);
}

static uint64_t pidx(uint64_t phys)
{
	return (phys - arena_phys) / MM_PAGE_SIZE;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void shuffle(uint64_t *a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = rnd() % i;
		uint64_t t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static struct page_stats stats(void)
{
	struct page_stats st;
	page_alloc_stats(&st);
	return st;
}

/* Mark a freshly allocated block in the shadow; false if a page of it was
 * already handed out (overlap). */
static bool claim(uint64_t phys, unsigned order, uint32_t id)
{
	bool ok = true;
	for (uint64_t i = 0; i < (1UL << order); i++) {
		uint32_t *o = &owner[pidx(phys) + i];
		uint32_t expect = 0;
		if (!__atomic_compare_exchange_n(o, &expect, id, false, __ATOMIC_RELAXED,
						 __ATOMIC_RELAXED))
			ok = false;
	}
	return ok;
}

static void unclaim(uint64_t phys, unsigned order)
{
	for (uint64_t i = 0; i < (1UL << order); i++)
		__atomic_store_n(&owner[pidx(phys) + i], 0, __ATOMIC_RELAXED);
}

/* Tag the first and last word of each page of a block, and check them. */
static void tag(uint64_t phys, unsigned order, uint64_t t)
{
	for (uint64_t i = 0; i < (1UL << order); i++) {
		uint64_t *w = page_phys_to_virt(phys + i * MM_PAGE_SIZE);
		w[0] = t ^ i;
		w[MM_PAGE_SIZE / 8 - 1] = ~t ^ i;
	}
}

static bool tag_ok(uint64_t phys, unsigned order, uint64_t t)
{
	for (uint64_t i = 0; i < (1UL << order); i++) {
		uint64_t *w = page_phys_to_virt(phys + i * MM_PAGE_SIZE);
		if (w[0] != (t ^ i) || w[MM_PAGE_SIZE / 8 - 1] != (~t ^ i))
			return false;
	}
	return true;
}

/* Order-o aligned windows fully inside pages [s, e). */
static uint64_t windows(uint64_t s, uint64_t e, unsigned o)
{
	uint64_t lo = (s + (1UL << o) - 1) >> o, hi = e >> o;
	return hi > lo ? hi - lo : 0;
}

/* Everything free, caches drained: the free lists must be back to the
 * canonical (fully merged) shape recorded in before. */
static void check_coalesced(const struct page_stats *before)
{
	page_alloc_drain();
	struct page_stats st = stats();
	CHECK(st.free_pages == st.total_pages - st.reserved_pages);
	CHECK(st.pcp_pages == 0);
	CHECK(memcmp(st.free_blocks, before->free_blocks, sizeof(st.free_blocks)) == 0);
}

/* --- tests -------------------------------------------------------------------- */

/* A 4 MiB guest starting at phys 0: one metadata page, page 0 never used. */
static void test_tiny(void)
{
	setup(0);
	page_alloc_add_range(0, 4UL << 20);
	struct page_stats st = stats(), before = st;
	CHECK(st.nranges == 1);
	CHECK(st.meta_pages == 1);
	CHECK(st.total_pages == 1024 - 1 - 1); /* page 0, one meta page */
	CHECK(st.free_pages == st.total_pages);

	static uint64_t pages[1024];
	size_t n = 0;
	uint64_t p;
	while ((p = page_alloc(0)) != 0) {
		CHECK(n < 1024);
		CHECK(p >= 2 * MM_PAGE_SIZE && p < (4UL << 20)); /* not page 0, not meta */
		CHECK(p % MM_PAGE_SIZE == 0);
		CHECK(claim(p, 0, 1));
		memset(page_phys_to_virt(p), (int)(p >> 12), MM_PAGE_SIZE);
		pages[n++] = p;
	}
	CHECK(n == before.total_pages);
	CHECK(stats().free_pages == 0);
	CHECK(page_alloc(0) == 0 && page_alloc(3) == 0);
	CHECK(stats().alloc_failures >= 3);
	/* Every page still holds its own pattern: no two handed out twice. */
	for (size_t i = 0; i < n; i++) {
		uint8_t *v = page_phys_to_virt(pages[i]);
		bool same = true;
		for (size_t j = 0; j < MM_PAGE_SIZE; j++)
			same &= v[j] == (uint8_t)(pages[i] >> 12);
		CHECK(same);
	}
	shuffle(pages, n);
	for (size_t i = 0; i < n; i++)
		page_free(pages[i], 0);
	check_coalesced(&before);
}

/* For each order: take every block of that order, check alignment, bounds and
 * overlap, free in random order, check full merging. */
static void test_every_order(void)
{
	const uint64_t start = (1UL << 20) + 123, end = (65UL << 20) - 77;
	static uint64_t blocks[ARENA_PAGES];

	for (unsigned o = 0; o <= MM_MAX_ORDER; o++) {
		setup(0);
		page_alloc_add_range(start, end);
		struct page_stats before = stats();
		uint64_t s = (start + MM_PAGE_SIZE - 1) / MM_PAGE_SIZE + before.meta_pages;
		uint64_t e = end / MM_PAGE_SIZE;
		CHECK(before.total_pages == e - s);

		size_t n = 0;
		uint64_t p;
		bool aligned = true, inside = true, alone = true;
		while ((p = page_alloc(o)) != 0) {
			aligned &= p % BLOCK(o) == 0;
			inside &= p >= s * MM_PAGE_SIZE && p + BLOCK(o) <= e * MM_PAGE_SIZE;
			alone &= claim(p, o, 1);
			memset(page_phys_to_virt(p), 0x40 + (int)(n % 64), BLOCK(o));
			blocks[n++] = p;
		}
		CHECK(aligned && inside && alone);
		CHECK(n == windows(s, e, o));
		CHECK(stats().free_pages == before.total_pages - (n << o));
		bool intact = true;
		for (size_t i = 0; i < n; i++) {
			uint8_t *v = page_phys_to_virt(blocks[i]);
			intact &= v[0] == 0x40 + i % 64 && v[BLOCK(o) - 1] == 0x40 + i % 64;
		}
		CHECK(intact);
		shuffle(blocks, n);
		for (size_t i = 0; i < n; i++)
			page_free(blocks[i], o);
		check_coalesced(&before);
	}
}

/* Several ranges, unaligned, adjacent and with holes; bad ranges ignored.
 * Nothing may land in a hole or a metadata page, and no block may straddle
 * two ranges. */
static void test_ranges_and_holes(void)
{
	struct { uint64_t s, e; } r[] = {
		{ 0x100000 + 5, 0x2ff000 + 7 },      /* unaligned both ends */
		{ 0x300000, 0x304000 },              /* 4 pages: 1 meta + 3 */
		{ 0x1000000, 0x1800000 },            /* two adjacent ranges */
		{ 0x1800000, 0x2000000 },
		{ 0x2345000, 0x4000000 - 0x1000 },
	};
	const uint64_t phys0 = 0x40000000; /* arena starts at 1 GiB */
	setup(phys0);
	memset(arena, 0xc5, ARENA_SIZE); /* canary everywhere */

	int logs = log_count;
	for (size_t i = 0; i < sizeof(r) / sizeof(r[0]); i++)
		page_alloc_add_range(phys0 + r[i].s, phys0 + r[i].e);
	CHECK(log_count == logs);
	page_alloc_add_range(phys0 + 0x500000, phys0 + 0x501000);     /* too small */
	page_alloc_add_range(phys0 + 0x1700000, phys0 + 0x1900000);   /* all managed */
	page_alloc_add_range(phys0 + 0x600000, phys0 + 0x5ff000);     /* backwards */
	page_alloc_add_range(phys0 + 0x700800, phys0 + 0x700fff);     /* no whole page */
	CHECK(log_count == logs + 1);

	struct page_stats before = stats();
	CHECK(before.nranges == 5);
	/* Usable pages of each range: trimmed to pages, minus its metadata
	 * (one byte per page, at the start). */
	uint64_t total = 0, meta = 0, base[5];
	for (size_t i = 0; i < 5; i++) {
		uint64_t s = (phys0 + r[i].s + MM_PAGE_SIZE - 1) / MM_PAGE_SIZE;
		uint64_t e = (phys0 + r[i].e) / MM_PAGE_SIZE;
		uint64_t mp = (e - s + MM_PAGE_SIZE) / (MM_PAGE_SIZE + 1);
		base[i] = s * MM_PAGE_SIZE;
		r[i].s = (s + mp) * MM_PAGE_SIZE;
		r[i].e = e * MM_PAGE_SIZE;
		total += e - s - mp;
		meta += mp;
	}
	CHECK(before.total_pages == total);
	CHECK(before.meta_pages == meta && meta == 6);

	/* Take everything, big blocks first. */
	static struct { uint64_t p; unsigned o; } got[ARENA_PAGES];
	size_t n = 0;
	bool inside = true, alone = true;
	for (int o = MM_MAX_ORDER; o >= 0; o--) {
		uint64_t p;
		while ((p = page_alloc((unsigned)o)) != 0) {
			bool in_one = false;
			for (size_t i = 0; i < 5; i++)
				in_one |= p >= r[i].s && p + BLOCK(o) <= r[i].e;
			inside &= in_one;
			alone &= claim(p, (unsigned)o, 1);
			memset(page_phys_to_virt(p), 0x11, BLOCK(o));
			got[n].p = p;
			got[n++].o = (unsigned)o;
		}
	}
	CHECK(inside && alone);
	CHECK(stats().free_pages == 0);

	/* Holes still hold the canary (meta pages do not; skip them). */
	bool canary = true;
	for (uint64_t pg = 0; pg < ARENA_PAGES; pg++) {
		uint64_t phys = phys0 + pg * MM_PAGE_SIZE;
		bool managed = false;
		for (size_t i = 0; i < 5; i++)
			managed |= phys >= base[i] && phys < r[i].e;
		if (!managed && !owner[pg])
			canary &= arena[pg * MM_PAGE_SIZE] == 0xc5 &&
				  arena[(pg + 1) * MM_PAGE_SIZE - 1] == 0xc5;
	}
	CHECK(canary);

	for (size_t i = n; i > 1; i--) {
		size_t j = rnd() % i;
		__typeof__(got[0]) t = got[i - 1];
		got[i - 1] = got[j];
		got[j] = t;
	}
	for (size_t i = 0; i < n; i++)
		page_free(got[i].p, got[i].o);
	check_coalesced(&before);
	/* The two adjacent 8 MiB ranges never merge into a bigger block: the
	 * biggest block is still 4 MiB and page_free found no cross-range buddy. */
	CHECK(stats().free_blocks[MM_MAX_ORDER] == before.free_blocks[MM_MAX_ORDER]);
}

static void test_bad_frees(void)
{
	setup(0);
	page_alloc_add_range(1UL << 20, 9UL << 20);
	struct page_stats before = stats();
	int panics = panic_count;

	uint64_t p = page_alloc(0);
	page_free(p, 0);
	CHECK(PANICS(page_free(p, 0)));          /* still in this CPU's cache */
	page_alloc_drain();
	CHECK(PANICS(page_free(p, 0)));          /* back in the buddy lists */
	test_cpu = 1;
	CHECK(PANICS(page_free(p, 0)));          /* from another CPU */
	test_cpu = 0;

	uint64_t q = page_alloc(2);
	CHECK(q != 0);
	CHECK(PANICS(page_free(q, 1)));          /* wrong order */
	CHECK(PANICS(page_free(q, 3)));          /* misaligned for order 3 or wrong */
	CHECK(PANICS(page_free(q, 0)));          /* order 0 of an order-2 block */
	CHECK(PANICS(page_free(q + MM_PAGE_SIZE, 0)));  /* tail page */
	CHECK(PANICS(page_free(q + 8, 2)));      /* not aligned */
	CHECK(PANICS(page_free(q, MM_MAX_ORDER + 1)));
	CHECK(PANICS(page_free(64UL << 20, 0))); /* not managed memory */
	CHECK(PANICS(page_free(1UL << 20, 0)));  /* the metadata page */
	page_free(q, 2);                         /* the right one still works */
	CHECK(PANICS(page_free(q, 2)));
	page_free(0, 0);                         /* no-op, like free(NULL) */
	CHECK(panic_count == panics + 12);
	CHECK(page_alloc(MM_MAX_ORDER + 1) == 0);
	check_coalesced(&before);
}

static void test_reserve(void)
{
	setup(0);
	page_alloc_add_range(0, 8UL << 20);
	struct page_stats before = stats();

	/* A "kernel image" in the middle of RAM: ends widened to pages. */
	page_alloc_reserve(0x200000 + 100, 0x280000 - 1);
	page_alloc_reserve(0x7ff000, 0x900000);  /* partly outside: clipped */
	page_alloc_reserve(0x7000000, 0x7001000); /* outside every range */
	struct page_stats st = stats();
	CHECK(st.reserved_pages == 128 + 1);
	CHECK(st.free_pages == before.total_pages - 129);

	uint64_t p, n = 0;
	bool clear = true;
	while ((p = page_alloc(0)) != 0) {
		clear &= !(p >= 0x200000 && p < 0x280000) && p != 0x7ff000;
		CHECK(claim(p, 0, 1));
		n++;
	}
	CHECK(clear);
	CHECK(n == before.total_pages - 129);

	/* Reserving a page in use is refused and logged. */
	int logs = log_count;
	page_alloc_reserve(0x300000, 0x301000);
	CHECK(log_count == logs + 1);
	CHECK(stats().reserved_pages == 129);

	for (uint64_t pg = 0; pg < ARENA_PAGES; pg++)
		if (owner[pg])
			page_free(pg * MM_PAGE_SIZE, 0);
	CHECK(PANICS(page_free(0x200000, 1)));   /* reserved pages go back one by one */
	for (p = 0x200000; p < 0x280000; p += MM_PAGE_SIZE)
		page_free(p, 0);
	page_free(0x7ff000, 0);
	CHECK(PANICS(page_free(0x7ff000, 0)));
	CHECK(stats().reserved_pages == 0);
	check_coalesced(&before);
}

/* The boot order: reserve what is in use (kernel image, initramfs), then add
 * all RAM. The reserved memory is never written, and can be handed over
 * later. */
static void test_reserve_first(void)
{
	setup(0);
	memset(arena, 0xc5, 9UL << 20);
	page_alloc_reserve(0x200000 + 100, 0x280000 - 1); /* "kernel": 128 pages */
	page_alloc_reserve(0x600000, 0x680000);           /* "initramfs" */
	page_alloc_add_range(0, 8UL << 20);
	struct page_stats st = stats();
	CHECK(st.nranges == 3);
	CHECK(st.meta_pages == 3);
	CHECK(st.reserved_pages == 0); /* never managed */
	CHECK(st.total_pages == (0x200 - 1 - 1) + (0x600 - 0x280 - 1) + (0x800 - 0x680 - 1));

	static uint64_t pages[4096];
	size_t n = 0;
	uint64_t p;
	bool outside = true;
	while ((p = page_alloc(0)) != 0) {
		outside &= !(p >= 0x200000 && p < 0x280000) && !(p >= 0x600000 && p < 0x680000);
		memset(page_phys_to_virt(p), 0, MM_PAGE_SIZE);
		pages[n++] = p;
	}
	CHECK(outside && n == st.total_pages);
	for (size_t i = 0; i < n; i++)
		page_free(pages[i], 0);
	bool untouched = true;
	for (uint64_t a = 0x200000; a < 0x280000; a++)
		untouched &= arena[a] == 0xc5;
	for (uint64_t a = 0x600000; a < 0x680000; a++)
		untouched &= arena[a] == 0xc5;
	CHECK(untouched);

	/* The initramfs is unpacked: its pages join as a new range. */
	page_alloc_release(0x600000, 0x680000);
	st = stats();
	CHECK(st.nranges == 4 && st.total_pages == 0x1fe + 0x37f + 0x17f + 0x7f);
	int logs = log_count;
	page_alloc_release(0x600000, 0x680000); /* not reserved any more */
	CHECK(log_count == logs + 1);

	/* RAM given twice: only the new part is added; the kernel stays out. */
	page_alloc_add_range(0, 9UL << 20);
	st = stats();
	CHECK(st.nranges == 5 && st.total_pages == 0x1fe + 0x37f + 0x17f + 0x7f + 0xff);
	n = 0;
	while ((p = page_alloc(0)) != 0) {
		outside &= !(p >= 0x200000 && p < 0x280000);
		pages[n++] = p;
	}
	CHECK(outside && n == st.total_pages);
	for (size_t i = 0; i < n; i++)
		page_free(pages[i], 0);
	untouched = true;
	for (uint64_t a = 0x200000; a < 0x280000; a++)
		untouched &= arena[a] == 0xc5;
	CHECK(untouched);
	CHECK(stats().free_pages == st.total_pages);
}

static void test_block_head(void)
{
	setup(0);
	page_alloc_add_range(1UL << 20, 9UL << 20);
	unsigned o = 99;
	uint64_t p = page_alloc(3);
	for (uint64_t off = 0; off < BLOCK(3); off += 1000) {
		o = 99;
		CHECK(page_block_head(p + off, &o) == p && o == 3);
	}
	CHECK(page_block_head(p + BLOCK(3), &o) == 0 ||
	      page_block_head(p + BLOCK(3), &o) != p);
	uint64_t q = page_alloc(0);
	CHECK(page_block_head(q + 4095, &o) == q && o == 0);
	page_free(q, 0); /* in a CPU cache: not allocated */
	CHECK(page_block_head(q, &o) == 0);
	page_free(p, 3);
	CHECK(page_block_head(p + 5000, &o) == 0);
	CHECK(page_block_head(1UL << 20, &o) == 0);  /* meta page */
	CHECK(page_block_head(100UL << 20, &o) == 0); /* outside */
	page_alloc_reserve(4UL << 20, (4UL << 20) + 1);
	CHECK(page_block_head(4UL << 20, &o) == 0);   /* reserved */

	void *v = page_alloc_virt(1);
	CHECK(v != NULL && v == page_phys_to_virt(page_virt_to_phys(v)));
	CHECK(page_block_head(page_virt_to_phys(v), &o) == page_virt_to_phys(v) && o == 1);
	page_free_virt(v, 1);
	page_free_virt(NULL, 0);
}

/* Single pages go through per-CPU caches: hot reuse on one CPU, frees land
 * in the freeing CPU's cache, caches stay bounded, and nothing is stranded:
 * a CPU can still get all memory, and big blocks still form. */
static void test_pcp(void)
{
	setup(0);
	page_alloc_add_range(1UL << 20, 17UL << 20); /* 4096 pages */
	struct page_stats before = stats();
	CHECK(pcp_batch == 15 && pcp_high == 60);

	test_cpu = 0;
	uint64_t p = page_alloc(0);
	CHECK(pcps[0].count == pcp_batch - 1);
	page_free(p, 0);
	CHECK(pcps[0].count == pcp_batch);
	CHECK(stats().pcp_pages == pcp_batch);
	CHECK(page_alloc(0) == p); /* LIFO: the cache-warm page comes back */

	test_cpu = 1;
	page_free(p, 0); /* allocated on CPU 0, freed on CPU 1 */
	CHECK(pcps[1].count == 1 && pcps[0].count == pcp_batch - 1);

	/* While this CPU's cache can serve it, a single page needs no global
	 * lock: hold it and allocate / free (a regression would hang here,
	 * and the alarm in main turns that into a failure). */
	mm_lock(&pa_lock);
	test_cpu = 0;
	uint64_t a = page_alloc(0), b = page_alloc(0);
	page_free(a, 0);
	page_free(b, 0);
	mm_unlock(&pa_lock);
	CHECK(a && b && a != b);

	/* A cache never grows past pcp_high. */
	test_cpu = 2;
	static uint64_t pages[4096];
	for (int i = 0; i < 200; i++)
		pages[i] = page_alloc(0);
	test_cpu = 3;
	unsigned peak = 0;
	for (int i = 0; i < 200; i++) {
		page_free(pages[i], 0);
		peak = pcps[3].count > peak ? pcps[3].count : peak;
	}
	CHECK(peak <= pcp_high && peak > 0);

	/* CPU 4 gets every page, including those cached by other CPUs. */
	test_cpu = 4;
	size_t n = 0;
	uint64_t q;
	while ((q = page_alloc(0)) != 0)
		pages[n++] = q;
	CHECK(n == before.total_pages);
	for (size_t i = 0; i < n; i++) {
		test_cpu = (unsigned)i % 5;
		page_free(pages[i], 0);
	}
	/* Now the caches hold pages that split every 4 MiB block; asking for
	 * 4 MiB blocks drains them by itself. */
	CHECK(stats().pcp_pages > 0);
	test_cpu = 0;
	n = 0;
	while ((q = page_alloc(MM_MAX_ORDER)) != 0)
		pages[n++] = q;
	CHECK(n == before.free_blocks[MM_MAX_ORDER]);
	for (size_t i = 0; i < n; i++)
		page_free(pages[i], MM_MAX_ORDER);

	/* CPU ids past MM_MAX_CPUS share caches but work. */
	test_cpu = MM_MAX_CPUS + 7;
	q = page_alloc(0);
	CHECK(q != 0);
	page_free(q, 0);
	test_cpu = 0;
	check_coalesced(&before);
}

/* 100k random operations against a model: live blocks, page owners, tags,
 * free count after every step; failures only when no block could fit. */
static void test_stress(void)
{
	setup(0);
	page_alloc_add_range(0x100000, 0x100000 + (16UL << 20) + 0x5000);
	page_alloc_add_range(0x2000000, 0x2000000 + (8UL << 20));
	page_alloc_add_range(0x3000000 + 0x3000, 0x3400000);
	struct page_stats before = stats();

	enum { MAXLIVE = 20000 };
	static struct { uint64_t p, t; unsigned o; } live[MAXLIVE];
	size_t nlive = 0;
	uint64_t used = 0;
	unsigned fails = 0, bad_fail = 0, bad_overlap = 0, bad_tag = 0, bad_count = 0;

	for (int op = 0; op < 100000; op++) {
		test_cpu = (unsigned)(rnd() % 8);
		bool alloc = nlive == 0 || (nlive < MAXLIVE && rnd() % 100 < 52);
		if (alloc) {
			/* Mostly small, sometimes up to MM_MAX_ORDER. */
			unsigned o = 0;
			while (o < MM_MAX_ORDER && rnd() % 100 < 45)
				o++;
			uint64_t p = page_alloc(o);
			if (!p) {
				fails++;
				struct page_stats st = stats(); /* drained by the failure */
				for (unsigned k = o; k <= MM_MAX_ORDER; k++)
					bad_fail += st.free_blocks[k] != 0;
				continue;
			}
			bad_overlap += !claim(p, o, 1) || p % BLOCK(o);
			uint64_t t = rnd();
			tag(p, o, t);
			live[nlive].p = p;
			live[nlive].t = t;
			live[nlive++].o = o;
			used += 1UL << o;
		} else {
			size_t i = rnd() % nlive;
			bad_tag += !tag_ok(live[i].p, live[i].o, live[i].t);
			unclaim(live[i].p, live[i].o);
			page_free(live[i].p, live[i].o);
			used -= 1UL << live[i].o;
			live[i] = live[--nlive];
		}
		if (op % 100 == 0)
			bad_count += stats().free_pages != before.total_pages - used;
	}
	printf("  stress: %u failed allocations, %zu blocks live at the end\n", fails, nlive);
	CHECK(fails > 0); /* memory did run out at times */
	CHECK(bad_fail == 0);
	CHECK(bad_overlap == 0);
	CHECK(bad_tag == 0);
	CHECK(bad_count == 0);
	for (size_t i = 0; i < nlive; i++) {
		bad_tag += !tag_ok(live[i].p, live[i].o, live[i].t);
		page_free(live[i].p, live[i].o);
	}
	CHECK(bad_tag == 0);
	test_cpu = 0;
	check_coalesced(&before);
}

/* Real concurrency: four threads, each its own CPU id; a page handed to two
 * threads at once would fail the atomic claim. */
struct worker {
	unsigned cpu;
	unsigned bad;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	enum { N = 512 };
	struct { uint64_t p, t; unsigned o; } live[N];
	size_t nlive = 0;
	uint64_t seed = 0x1234567ULL * (w->cpu + 1);

	test_cpu = w->cpu;
	for (int op = 0; op < 30000; op++) {
		seed ^= seed << 13;
		seed ^= seed >> 7;
		seed ^= seed << 17;
		if (nlive < N && (nlive == 0 || seed % 2)) {
			unsigned o = (seed >> 8) % 8 == 0 ? (seed >> 16) % 4 : 0;
			uint64_t p = page_alloc(o);
			if (!p)
				continue;
			w->bad += !claim(p, o, w->cpu + 1);
			tag(p, o, seed);
			live[nlive].p = p;
			live[nlive].t = seed;
			live[nlive++].o = o;
		} else {
			size_t i = (seed >> 4) % nlive;
			w->bad += !tag_ok(live[i].p, live[i].o, live[i].t);
			unclaim(live[i].p, live[i].o);
			page_free(live[i].p, live[i].o);
			live[i] = live[--nlive];
		}
	}
	while (nlive) {
		nlive--;
		w->bad += !tag_ok(live[nlive].p, live[nlive].o, live[nlive].t);
		unclaim(live[nlive].p, live[nlive].o);
		page_free(live[nlive].p, live[nlive].o);
	}
	return NULL;
}

static void test_threads(void)
{
	setup(0);
	page_alloc_add_range(1UL << 20, 9UL << 20); /* small: threads compete */
	struct page_stats before = stats();
	pthread_t th[4];
	struct worker w[4];
	for (unsigned i = 0; i < 4; i++) {
		w[i] = (struct worker){ .cpu = i };
		pthread_create(&th[i], NULL, worker_main, &w[i]);
	}
	unsigned bad = 0;
	for (unsigned i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		bad += w[i].bad;
	}
	CHECK(bad == 0);
	check_coalesced(&before);
}

/* Pages [from, to) all hold the byte c, except the first page of a block
 * listed in skip (n entries). */
static bool untouched(uint64_t from, uint64_t to, uint8_t c, const uint64_t *skip, size_t n)
{
	static uint8_t ref[MM_PAGE_SIZE];
	memset(ref, c, sizeof(ref));
	for (uint64_t pg = from; pg < to; pg++) {
		bool listed = false;
		for (size_t i = 0; i < n; i++)
			listed |= skip[i] == pg;
		if (!listed && memcmp(page_phys_to_virt(pg * MM_PAGE_SIZE), ref, MM_PAGE_SIZE))
			return false;
	}
	return true;
}

/* Adding a range writes only its meta pages and the blocks below its first
 * 4 MiB boundary; the rest is carved off 4 MiB at a time when allocations
 * need it, yet counts as free from the start, in its merged shape. */
static void test_lazy(void)
{
	/* Pages 261..18685: meta 261-265, listed blocks 266(o1) 268(o2)
	 * 272(o4) 288(o5) 320(o6) 384(o7) 512(o9), then 17 max-order blocks
	 * from 1024, then a tail of 253 pages: o7 o6 o5 o4 o3 o2 o0. */
	const uint64_t s = 261, e = 73 * 256 - 3, start = s + 5;
	const uint64_t heads[] = { 266, 268, 272, 288, 320, 384, 512 };
	const uint64_t shape[MM_MAX_ORDER + 1] = { 1, 1, 2, 1, 2, 2, 2, 2, 0, 1, 17 };
	setup(0);
	memset(arena, 0xa7, ARENA_SIZE);
	page_alloc_add_range(s * MM_PAGE_SIZE, e * MM_PAGE_SIZE);
	struct page_stats before = stats();
	CHECK(before.meta_pages == 5 && before.total_pages == e - start);
	CHECK(before.free_pages == before.total_pages);
	CHECK(memcmp(before.free_blocks, shape, sizeof(shape)) == 0);
	CHECK(untouched(start, e, 0xa7, heads, sizeof(heads) / sizeof(heads[0])));
	CHECK(untouched(e, ARENA_PAGES, 0xa7, NULL, 0));

	/* Beyond the frontier nothing was handed out. */
	uint64_t far = 60UL << 20;
	unsigned o;
	CHECK(PANICS(page_free(far, 0)));
	CHECK(PANICS(page_free(far, MM_MAX_ORDER)));
	CHECK(PANICS(page_free(far + MM_PAGE_SIZE, 0)));
	CHECK(page_block_head(far, &o) == 0 && page_block_head(far + 5000, &o) == 0);

	/* Single pages (a cache's batch) come from what is listed; a 4 MiB
	 * block is the first one carved; the blocks after it stay untouched. */
	uint64_t a = page_alloc(0), b = page_alloc(MM_MAX_ORDER);
	CHECK(a >= start * MM_PAGE_SIZE && a < 1024 * MM_PAGE_SIZE);
	CHECK(b == 1024 * MM_PAGE_SIZE);
	CHECK(untouched(2048, e, 0xa7, NULL, 0));
	CHECK(page_block_head(b + 12345, &o) == b && o == MM_MAX_ORDER);
	struct page_stats st = stats();
	CHECK(st.free_pages == before.total_pages - 1 - 1024);
	CHECK(st.free_blocks[MM_MAX_ORDER] == 16);

	/* Reserve over untouched memory: carved up to it, pages kept out,
	 * everything past it still untouched. */
	const uint64_t rs = 10250, re = 10254;
	page_alloc_reserve(rs * MM_PAGE_SIZE + 100, re * MM_PAGE_SIZE - 1);
	st = stats();
	CHECK(st.reserved_pages == re - rs);
	CHECK(st.free_pages == before.total_pages - 1 - 1024 - (re - rs));
	CHECK(untouched(11264, e, 0xa7, NULL, 0));
	CHECK(PANICS(page_free(rs * MM_PAGE_SIZE, 1)));  /* reserved: order 0 only */
	/* The tail of the range: a 16 KiB block comes from the end. */
	uint64_t t = page_alloc(2);
	CHECK(t != 0);

	/* Everything else, at every order, never a reserved page. */
	static uint64_t pages[ARENA_PAGES];
	static unsigned orders[ARENA_PAGES];
	size_t n = 0;
	bool clear = true, alone = true;
	for (int k = MM_MAX_ORDER; k >= 0; k--) {
		uint64_t p;
		while ((p = page_alloc((unsigned)k)) != 0) {
			clear &= p + BLOCK(k) <= rs * MM_PAGE_SIZE || p >= re * MM_PAGE_SIZE;
			alone &= claim(p, (unsigned)k, 1);
			pages[n] = p;
			orders[n++] = (unsigned)k;
		}
	}
	CHECK(clear && alone);
	CHECK(stats().free_pages == 0);
	for (size_t i = 0; i < n; i++)
		page_free(pages[i], orders[i]);
	page_free(a, 0);
	page_free(b, MM_MAX_ORDER);
	page_free(t, 2);
	for (uint64_t pg = rs; pg < re; pg++)
		page_free(pg * MM_PAGE_SIZE, 0);
	CHECK(stats().reserved_pages == 0);
	check_coalesced(&before);

	/* Reserve late, then release: the pages go back, all merges. */
	setup(0);
	page_alloc_add_range(s * MM_PAGE_SIZE, e * MM_PAGE_SIZE);
	page_alloc_reserve(50UL << 20, 52UL << 20);
	CHECK(stats().reserved_pages == 512);
	page_alloc_release(50UL << 20, 52UL << 20);
	CHECK(stats().reserved_pages == 0);
	check_coalesced(&before);

	/* Two ranges: the first added is carved first. */
	setup(0);
	page_alloc_add_range(40UL << 20, 48UL << 20);
	page_alloc_add_range(8UL << 20, 16UL << 20);
	CHECK(page_alloc(MM_MAX_ORDER) == 44UL << 20);
	CHECK(page_alloc(MM_MAX_ORDER) == 12UL << 20);
	CHECK(page_alloc(MM_MAX_ORDER) == 0);
}

/* A 64 GiB guest only needs its metadata sizes right; do the arithmetic on
 * the formula the allocator uses without touching 16 MiB of bytes. */
static void test_meta_sizes(void)
{
	uint64_t n = (64UL << 30) / MM_PAGE_SIZE;
	uint64_t mp = (n + MM_PAGE_SIZE) / (MM_PAGE_SIZE + 1);
	CHECK(mp * MM_PAGE_SIZE >= n - mp);       /* enough bytes */
	CHECK(mp <= n / 4096 + 1);                /* ~1/4096 of RAM */
	for (n = 2; n < 20000; n++) {
		mp = (n + MM_PAGE_SIZE) / (MM_PAGE_SIZE + 1);
		if (mp * MM_PAGE_SIZE < n - mp || (mp > 1 && (mp - 1) * MM_PAGE_SIZE >= n - mp + 1))
			break;
	}
	CHECK(n == 20000);
}

int main(void)
{
	alarm(300); /* a deadlock fails the test instead of hanging make check */
	setvbuf(stdout, NULL, _IOLBF, 0);
	arena = aligned_alloc(4UL << 20, ARENA_SIZE);
	CHECK(arena != NULL);

	test_tiny();
	test_every_order();
	test_ranges_and_holes();
	test_bad_frees();
	test_reserve();
	test_reserve_first();
	test_block_head();
	test_pcp();
	test_stress();
	test_threads();
	test_lazy();
	test_meta_sizes();

	free(arena);
	return CHECK_SUMMARY();
}
