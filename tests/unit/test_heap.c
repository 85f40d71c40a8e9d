/* Host unit test of the kernel heap (kernel/mm/heap.c) on top of the real page
 * allocator, whose "physical memory" is a malloc'd arena. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../kernel/mm/page_alloc.c"
#include "../../kernel/mm/heap.c"
#include "check.h"

/* --- hooks ---------------------------------------------------------------- */

static __thread unsigned test_cpu;
static __thread jmp_buf *panic_jmp;
static bool panic_returns; /* expected panic, let mm carry on */
static int panic_count;
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
	if (panic_returns) {
		printf("  expected panic: %s\n", last_panic);
		return;
	}
	fprintf(stderr, "unexpected mm_panic: %s\n", last_panic);
	CHECK(!"unexpected mm_panic");
}

/* True if stmt called mm_panic (which then does not return into mm). */
#define PANICS(stmt)                                              \
	({                                                        \
		jmp_buf jb_;                                      \
		volatile bool got_ = false;                       \
		panic_jmp = &jb_;                                 \
		if (setjmp(jb_) == 0) {                           \
			stmt;                                     \
		} else {                                          \
			got_ = true;                              \
			printf("  expected panic: %s\n", last_panic); \
		}                                                 \
		panic_jmp = NULL;                                 \
		got_;                                             \
	})

/* True if the message of the last panic contains s. */
static bool said(const char *s)
{
	return strstr(last_panic, s) != NULL;
}

/* --- arena ----------------------------------------------------------------- */

#define ARENA_SIZE (72UL << 20)
static uint8_t *arena;
static uint64_t baseline; /* free pages right after setup */

static struct page_stats pstats(void)
{
	struct page_stats st;
	page_alloc_stats(&st);
	return st;
}

static struct heap_stats hstats(void)
{
	struct heap_stats st;
	heap_get_stats(&st);
	return st;
}

static void setup(uint64_t bytes, bool debug)
{
	page_alloc_init((uint64_t)arena - 0x100000);
	page_alloc_add_range(0x100000, 0x100000 + bytes);
	heap_init();
	heap_set_debug(debug);
	baseline = pstats().free_pages;
}

/* After everything is freed: the heap holds nothing and every page is back. */
static void check_all_returned(void)
{
	heap_trim();
	struct heap_stats h = hstats();
	CHECK(h.objects == 0 && h.large_objects == 0);
	CHECK(h.slabs == 0 && h.slab_pages == 0 && h.large_pages == 0);
	CHECK(pstats().free_pages == baseline);
}

static uint64_t rng_state = 0x2545f4914f6cdd1dULL;
static uint64_t rnd(void)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return rng_state;
}

static void fill(void *p, size_t n, uint64_t seed)
{
	uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + i * 7 + (i >> 8));
}

static bool filled(const void *p, size_t n, uint64_t seed)
{
	const uint8_t *b = p;
	for (size_t i = 0; i < n; i++)
		if (b[i] != (uint8_t)(seed + i * 7 + (i >> 8)))
			return false;
	return true;
}

static bool is_pow2_size(size_t n)
{
	return n && (n & (n - 1)) == 0;
}

/* --- tests ------------------------------------------------------------------- */

/* Every size from 0 to 5000 and a few big ones, all alive at once: aligned,
 * usable as promised, not overlapping. */
static void test_sizes(bool debug)
{
	setup(64UL << 20, debug);
	enum { N = 5001 + 8 };
	static struct { char *p; size_t n; } obj[N];
	size_t big[] = { 8192, 65536, 100000, 1UL << 20, (2UL << 20) - 32,
			 (2UL << 20) - 31, (4UL << 20) - 64, (4UL << 20) - 32 };
	size_t k = 0;
	bool ok_align = true, ok_usable = true, ok_nat = true;

	for (size_t n = 0; n <= 5000; n++)
		obj[k++].n = n;
	for (size_t i = 0; i < 8; i++)
		obj[k++].n = big[i] - (debug ? 16 : 0);
	for (size_t i = 0; i < k; i++) {
		char *p = kmalloc(obj[i].n);
		CHECK(p != NULL);
		if (!p)
			continue;
		obj[i].p = p;
		ok_align &= (uintptr_t)p % 16 == 0;
		ok_usable &= kmalloc_usable_size(p) >= obj[i].n;
		if (debug)
			ok_usable &= kmalloc_usable_size(p) == obj[i].n;
		/* Power-of-two classes are naturally aligned in normal mode. */
		if (!debug && is_pow2_size(obj[i].n) && obj[i].n <= HP_MAX_SMALL)
			ok_nat &= (uintptr_t)p % obj[i].n == 0;
		fill(p, kmalloc_usable_size(p), i);
	}
	CHECK(ok_align && ok_usable && ok_nat);
	CHECK(kmalloc((4UL << 20) - 31) == NULL); /* bigger than the biggest block */
	CHECK(kmalloc(SIZE_MAX) == NULL);
	CHECK(kmalloc(SIZE_MAX - 20) == NULL);

	bool intact = true;
	for (size_t i = 0; i < k; i++)
		intact &= !obj[i].p || filled(obj[i].p, kmalloc_usable_size(obj[i].p), i);
	CHECK(intact);
	struct heap_stats h = hstats();
	CHECK(h.objects + h.large_objects == k);
	CHECK(h.failures == 3);

	for (size_t i = k; i > 1; i--) {
		size_t j = rnd() % i;
		__typeof__(obj[0]) t = obj[i - 1];
		obj[i - 1] = obj[j];
		obj[j] = t;
	}
	for (size_t i = 0; i < k; i++)
		kfree(obj[i].p);
	kfree(NULL);
	check_all_returned();
}

/* Slabs are packed: 1000 16-byte objects take 4 pages (252 per page);
 * an empty slab per class is kept until heap_trim. */
static void test_packing(void)
{
	setup(8UL << 20, false);
	static void *p[1000];
	for (int i = 0; i < 1000; i++)
		p[i] = kmalloc(16);
	struct heap_stats h = hstats();
	CHECK(h.slabs == 4 && h.slab_pages == 4 && h.objects == 1000);
	for (int i = 0; i < 1000; i++)
		kfree(p[i]);
	h = hstats();
	CHECK(h.objects == 0 && h.slabs == 1); /* one kept for reuse */

	/* A class of 2048 uses 8-page slabs of 15 objects. */
	for (int i = 0; i < 15; i++)
		p[i] = kmalloc(2048);
	h = hstats();
	CHECK(h.slabs == 2 && h.slab_pages == 1 + 8);
	for (int i = 0; i < 15; i++)
		kfree(p[i]);
	check_all_returned();
}

static void test_zero_and_calloc(void)
{
	setup(8UL << 20, false);
	char *p = kmalloc(200);
	memset(p, 0xff, 200);
	kfree(p);
	char *q = kzalloc(200);
	CHECK(q == p); /* same slot again, so the zeroing is real */
	bool zero = true;
	for (int i = 0; i < 200; i++)
		zero &= q[i] == 0;
	CHECK(zero);
	kfree(q);

	int *a = kcalloc(100, sizeof(int));
	CHECK(a != NULL);
	zero = true;
	for (int i = 0; i < 100; i++)
		zero &= a[i] == 0;
	CHECK(zero);
	kfree(a);
	CHECK(kcalloc(SIZE_MAX / 2 + 1, 2) == NULL);      /* overflows */
	CHECK(kcalloc((size_t)1 << 33, (size_t)1 << 33) == NULL);
	void *z = kcalloc(0, 100);                          /* zero bytes: valid */
	CHECK(z != NULL);
	kfree(z);
	check_all_returned();
}

static void test_realloc(bool debug)
{
	setup(64UL << 20, debug);
	/* Grow one byte-pattern through every class and into large blocks. */
	size_t n = 1;
	char *p = kmalloc(n);
	fill(p, n, 42);
	bool kept = true;
	while (n < 3000000) {
		size_t m = n + n / 3 + 1;
		p = krealloc(p, m);
		CHECK(p != NULL);
		kept &= filled(p, n, 42);
		fill(p, m, 42);
		n = m;
	}
	/* And shrink back down. */
	while (n > 1) {
		size_t m = n / 2;
		p = krealloc(p, m);
		kept &= filled(p, m, 42);
		n = m;
	}
	CHECK(kept);
	kfree(p);

	if (!debug) {
		/* Small changes stay in place; big shrinks move to free memory. */
		p = kmalloc(1000);
		CHECK(krealloc(p, 1024) == p);
		CHECK(krealloc(p, 600) == p);
		char *q = krealloc(p, 100);
		CHECK(q != p);
		kfree(q);
		p = kmalloc(100000);
		q = krealloc(p, 100);
		CHECK(q != p && kmalloc_usable_size(q) == 128);
		kfree(q);
	} else {
		p = kmalloc(1000);
		char *q = krealloc(p, 1000);
		CHECK(q != p); /* debug objects always move */
		kfree(q);
	}

	/* NULL and zero. */
	p = krealloc(NULL, 77);
	CHECK(p != NULL && kmalloc_usable_size(p) >= 77);
	CHECK(krealloc(p, 0) == NULL);
	/* Failure leaves the object alone. */
	p = kmalloc(50);
	fill(p, 50, 7);
	CHECK(krealloc(p, 64UL << 20) == NULL);
	CHECK(filled(p, 50, 7));
	kfree(p);
	check_all_returned();
}

/* Wrong frees are caught in both modes. */
static void test_bad_frees(bool debug)
{
	setup(8UL << 20, debug);
	char *p = kmalloc(40);
	kfree(p);
	CHECK(PANICS(kfree(p)) && said("double free"));

	p = kmalloc(40);
	CHECK(PANICS(kfree(p + 16)) && said("not the start"));
	CHECK(PANICS(kfree(p + 1)) && said("not the start"));
	kfree(p);

	char *big = kmalloc(50000);
	CHECK(PANICS(kfree(big + 4096)) && said("inside a large object"));
	kfree(big);
	CHECK(PANICS(kfree(big)) && said("not allocated"));

	int on_stack;
	CHECK(PANICS(kfree(&on_stack)) && said("not allocated"));
	uint8_t *page = page_alloc_virt(0);
	memset(page, 0, MM_PAGE_SIZE);
	CHECK(PANICS(kfree(page + 64)) && said("not in the kernel heap"));
	CHECK(PANICS(kmalloc_usable_size(page + 64)));
	page_free_virt(page, 0);
	CHECK(PANICS(krealloc(big, 10)));
	check_all_returned();
}

/* Debug mode: overflows, underflows and writes after free are reported. */
static void test_debug_checks(void)
{
	setup(8UL << 20, true);
	volatile uint8_t save;

	/* Overflow by one byte, then a repaired free succeeds. */
	char *p = kmalloc(10);
	p[10] = 'x';
	CHECK(PANICS(kfree(p)) && said("overflow") && said("[10]"));
	p[10] = (char)REDZONE;
	kfree(p);

	/* Overflow far into the slot's tail. */
	p = kmalloc(100);
	save = (uint8_t)p[120];
	p[120] = 0;
	CHECK(PANICS(kfree(p)) && said("overflow"));
	p[120] = (char)save;
	kfree(p);

	/* Underflow into the guard, and into the header. */
	p = kmalloc(33);
	p[-1] = 0;
	CHECK(PANICS(kfree(p)) && said("underflow") && said("[-1]"));
	p[-1] = (char)REDZONE;
	save = (uint8_t)p[-20];
	p[-20] ^= 0x55;
	CHECK(PANICS(kfree(p)) && said("header"));
	p[-20] = (char)save;
	kfree(p);

	/* Large objects have redzones too. */
	p = kmalloc(20000);
	p[20000] = 1;
	CHECK(PANICS(kfree(p)) && said("overflow"));
	p[20000] = (char)REDZONE;
	p[-3] = 1;
	CHECK(PANICS(kfree(p)) && said("underflow"));
	p[-3] = (char)REDZONE;
	kfree(p);

	/* Freed memory is poisoned... */
	p = kmalloc(24);
	char *keep = kmalloc(24); /* keeps the slab from being released */
	memset(p, 0, 24);
	kfree(p);
	bool poisoned = true;
	for (int i = -32; i < 24; i++)
		poisoned &= (uint8_t)p[i] == POISON;
	CHECK(poisoned);
	/* ...and a write after free is found when the slot is handed out. */
	p[5] = 9;
	int n = panic_count;
	panic_returns = true;
	char *q = kmalloc(24);
	panic_returns = false;
	CHECK(q == p && panic_count == n + 1 && said("write after free"));
	kfree(q);
	kfree(keep);

	/* Objects remember their mode when it is flipped. */
	heap_set_debug(false);
	char *normal = kmalloc(64);
	CHECK((uintptr_t)normal % 64 == 0 && kmalloc_usable_size(normal) == 64);
	heap_set_debug(true);
	char *dbg = kmalloc(64);
	CHECK(kmalloc_usable_size(dbg) == 64 && (uintptr_t)dbg % 16 == 0);
	normal[63] = 1; /* fine: whole slot is usable */
	kfree(normal);
	heap_set_debug(false);
	dbg[64] = 1;
	CHECK(PANICS(kfree(dbg)) && said("overflow"));
	dbg[64] = (char)REDZONE;
	kfree(dbg);
	CHECK(hstats().objects == 0);
	check_all_returned();
}

/* The heap runs out cleanly in a tiny guest and gets everything back. */
static void test_exhaustion(void)
{
	setup(4UL << 20, false);
	static void *p[100000];
	size_t n = 0;
	while (n < 100000 && (p[n] = kmalloc(64 + (n % 3) * 300)) != NULL)
		n++;
	CHECK(n > 5000 && n < 100000);
	CHECK(pstats().free_pages < 16); /* the rest is below the slab orders */
	CHECK(kmalloc(10000) == NULL);
	CHECK(hstats().failures >= 2);
	for (size_t i = 0; i < n; i++)
		kfree(p[i]);
	check_all_returned();
	/* After giving back, the same again works. */
	void *big = kmalloc((2UL << 20) - 32);
	CHECK(big != NULL);
	kfree(big);
	check_all_returned();
}

/* 100k random kmalloc / krealloc / kfree checked against a model. */
static void test_stress(bool debug, int ops)
{
	setup(64UL << 20, debug);
	enum { MAXLIVE = 4000 };
	static struct { char *p; size_t n; uint64_t seed; } live[MAXLIVE];
	size_t nlive = 0;
	unsigned bad = 0, nulls = 0;

	for (int op = 0; op < ops; op++) {
		test_cpu = (unsigned)(rnd() % 4);
		unsigned what = (unsigned)(rnd() % 100);
		size_t n;
		switch (rnd() % 16) {
		case 0:  n = rnd() % 70000; break;           /* large */
		case 1:  n = rnd() % 5000; break;
		case 2:  n = rnd() % (1 << 20) * (rnd() % 20 == 0); break;
		default: n = rnd() % 300; break;             /* small */
		}
		if (nlive < MAXLIVE && (nlive == 0 || what < 45)) {
			char *p = what % 2 ? kmalloc(n) : kzalloc(n);
			if (!p) {
				nulls++;
				continue;
			}
			if (what % 2 == 0) {
				for (size_t i = 0; i < n; i++)
					bad += p[i] != 0;
			}
			uint64_t seed = rnd();
			fill(p, n, seed);
			live[nlive].p = p;
			live[nlive].n = n;
			live[nlive++].seed = seed;
		} else if (what < 70) {
			size_t i = rnd() % nlive;
			char *p = krealloc(live[i].p, n);
			if (!p && n) {
				nulls++;
				continue;
			}
			size_t keep = n < live[i].n ? n : live[i].n;
			bad += !filled(p, keep, live[i].seed);
			if (!n) {
				live[i] = live[--nlive];
				continue;
			}
			fill(p, n, live[i].seed);
			live[i].p = p;
			live[i].n = n;
		} else {
			size_t i = rnd() % nlive;
			bad += !filled(live[i].p, live[i].n, live[i].seed);
			bad += kmalloc_usable_size(live[i].p) < live[i].n;
			kfree(live[i].p);
			live[i] = live[--nlive];
		}
	}
	CHECK(bad == 0);
	CHECK(nulls == 0);
	for (size_t i = 0; i < nlive; i++) {
		bad += !filled(live[i].p, live[i].n, live[i].seed);
		kfree(live[i].p);
	}
	CHECK(bad == 0);
	test_cpu = 0;
	check_all_returned();
}

/* Several threads on several CPU ids at once. */
static void *worker_main(void *arg)
{
	unsigned cpu = (unsigned)(uintptr_t)arg, bad = 0;
	enum { N = 300 };
	struct { char *p; size_t n; uint64_t seed; } live[N];
	size_t nlive = 0;
	uint64_t s = 0x9e3779b9ULL * (cpu + 1);

	test_cpu = cpu;
	for (int op = 0; op < 40000; op++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		size_t n = (s >> 20) % 16 == 0 ? (s >> 8) % 20000 : (s >> 8) % 512;
		if (nlive < N && (nlive == 0 || s % 2)) {
			char *p = kmalloc(n);
			if (!p)
				continue;
			fill(p, n, s);
			live[nlive].p = p;
			live[nlive].n = n;
			live[nlive++].seed = s;
		} else {
			size_t i = (s >> 3) % nlive;
			bad += !filled(live[i].p, live[i].n, live[i].seed);
			kfree(live[i].p);
			live[i] = live[--nlive];
		}
	}
	while (nlive--) {
		bad += !filled(live[nlive].p, live[nlive].n, live[nlive].seed);
		kfree(live[nlive].p);
	}
	return (void *)(uintptr_t)bad;
}

static void test_threads(bool debug)
{
	setup(32UL << 20, debug);
	pthread_t th[4];
	for (unsigned i = 0; i < 4; i++)
		pthread_create(&th[i], NULL, worker_main, (void *)(uintptr_t)i);
	uintptr_t bad = 0;
	for (unsigned i = 0; i < 4; i++) {
		void *r;
		pthread_join(th[i], &r);
		bad += (uintptr_t)r;
	}
	CHECK(bad == 0);
	check_all_returned();
}

int main(void)
{
	alarm(300); /* a deadlock fails instead of hanging make check */
	setvbuf(stdout, NULL, _IOLBF, 0);
	arena = aligned_alloc(4UL << 20, ARENA_SIZE);
	CHECK(arena != NULL);

	for (int debug = 0; debug < 2; debug++) {
		test_sizes(debug);
		test_realloc(debug);
		test_bad_frees(debug);
		test_stress(debug, debug ? 30000 : 100000);
		test_threads(debug);
	}
	test_packing();
	test_zero_and_calloc();
	test_debug_checks();
	test_exhaustion();

	free(arena);
	return CHECK_SUMMARY();
}
