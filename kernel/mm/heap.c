/*
 * Kernel heap: size-classed slabs plus whole blocks for large requests.
 * See heap.h.
 *
 * A slab is one page-allocator block: a struct hp_slab header, then nobj
 * slots of one class. Which slots are in use is a bitmap in the header, not a
 * free list threaded through the slots: a write after free then cannot break
 * the allocator, and a double free is a clear bit.
 *
 * A large object is a block whose first 32 bytes are a struct hp_large.
 *
 * Either way the header sits at the start of the page-allocator block, which
 * page_block_head finds from any address inside it.
 */
#include "heap.h"
#include "page_alloc.h"

#define SLAB_MAGIC  0x62616c73u /* "slab" */
#define LARGE_MAGIC 0x656772u   /* "rge" */
#define DBG_LIVE    0x6576696cu /* "live" */
#define POISON      0x6b        /* freed memory, debug mode */
#define REDZONE     0xbb        /* around objects, debug mode */

struct hp_class {
	uint16_t size;
	uint8_t order; /* slab size: 2^order pages, chosen to waste < 1/8 */
};

static const struct hp_class hp_classes[] = {
	{ 16, 0 },  { 32, 0 },  { 48, 0 },   { 64, 0 },   { 96, 0 },
	{ 128, 0 }, { 192, 0 }, { 256, 0 },  { 384, 1 },  { 512, 1 },
	{ 768, 2 }, { 1024, 2 }, { 1536, 3 }, { 2048, 3 },
};
#define HP_NCLASSES  (sizeof(hp_classes) / sizeof(hp_classes[0]))
#define HP_MAX_SMALL 2048

struct hp_slab {
	uint32_t magic;
	uint8_t cls;
	uint8_t debug;     /* slots hold debug-mode objects */
	uint16_t nobj;
	uint16_t nfree;
	uint16_t first;    /* offset of slot 0 */
	uint32_t size;     /* slot size */
	struct hp_slab *next, *prev; /* in the cache's list, while nfree > 0 */
	uint64_t used[4];  /* bit set: slot in use (or beyond nobj) */
};
#define HP_SLAB_HDR 64
_Static_assert(sizeof(struct hp_slab) <= HP_SLAB_HDR, "slab header");

struct hp_large {
	uint32_t magic;
	uint8_t order;
	uint8_t debug;
	uint16_t pad;
	uint64_t size;      /* bytes asked for */
	uint64_t caller;
	uint64_t guard;     /* debug: REDZONE bytes */
};
_Static_assert(sizeof(struct hp_large) == 32, "large header keeps 16-byte alignment");

/* In debug mode a slot is: struct hp_dbg | object | at least DBG_TAIL bytes of
 * REDZONE up to the end of the slot. */
struct hp_dbg {
	uint64_t caller;
	uint32_t size;
	uint32_t magic;
	uint8_t guard[16];  /* REDZONE: catches small underflows */
};
#define DBG_FRONT sizeof(struct hp_dbg)
#define DBG_TAIL  16
_Static_assert(sizeof(struct hp_dbg) == 32, "debug header keeps 16-byte alignment");

/* One per class and mode: debug objects have another layout, so they never
 * share a slab with normal ones and heap_set_debug may flip at any time. */
struct hp_cache {
	mm_lock_t lock;
	unsigned nempty;          /* fully free slabs in the list */
	struct hp_slab *partial;  /* slabs with a free slot */
	uint64_t nslabs, inuse;
} __attribute__((aligned(64)));

static struct hp_cache hp_caches[2][HP_NCLASSES];
static bool hp_debug_on;
static uint64_t hp_large_objects, hp_large_pages, hp_failures; /* atomic */

/* --- slabs ------------------------------------------------------------------ */

static bool is_pow2(size_t x)
{
	return (x & (x - 1)) == 0;
}

static int class_of(size_t need)
{
	for (unsigned i = 0; i < HP_NCLASSES; i++)
		if (need <= hp_classes[i].size)
			return (int)i;
	return -1;
}

static void slab_link(struct hp_cache *c, struct hp_slab *s)
{
	s->prev = NULL;
	s->next = c->partial;
	if (c->partial)
		c->partial->prev = s;
	c->partial = s;
}

static void slab_unlink(struct hp_cache *c, struct hp_slab *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->partial = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

static struct hp_slab *slab_new(unsigned cls, bool debug)
{
	const struct hp_class *k = &hp_classes[cls];
	struct hp_slab *s = page_alloc_virt(k->order);
	if (!s)
		return NULL;

	size_t bytes = MM_PAGE_SIZE << k->order;
	/* Power-of-two slots start at a multiple of their size (the block is
	 * aligned to its size), the others at the first 16-byte boundary. */
	size_t align = is_pow2(k->size) ? k->size : 16;
	size_t first = (HP_SLAB_HDR + align - 1) & ~(align - 1);

	*s = (struct hp_slab){
		.magic = SLAB_MAGIC,
		.cls = (uint8_t)cls,
		.debug = debug,
		.nobj = (uint16_t)((bytes - first) / k->size),
		.first = (uint16_t)first,
		.size = k->size,
	};
	s->nfree = s->nobj;
	/* Slots past nobj look used forever, so the bitmap search skips them. */
	for (unsigned i = s->nobj; i < 256; i++)
		s->used[i / 64] |= 1ULL << (i % 64);
	if (debug)
		__builtin_memset((char *)s + first, POISON, bytes - first);
	return s;
}

/* c->lock held, s has a free slot. */
static char *slab_take(struct hp_cache *c, struct hp_slab *s)
{
	unsigned w = 0;
	while (s->used[w] == ~0ULL)
		w++;
	unsigned bit = (unsigned)__builtin_ctzll(~s->used[w]);
	s->used[w] |= 1ULL << bit;
	if (s->nfree == s->nobj)
		c->nempty--;
	if (--s->nfree == 0)
		slab_unlink(c, s);
	c->inuse++;
	return (char *)s + s->first + (w * 64 + bit) * s->size;
}

/* --- debug checks ------------------------------------------------------------ */

static void fill_redzones(struct hp_dbg *d, size_t slot, size_t size, uint64_t caller)
{
	d->caller = caller;
	d->size = (uint32_t)size;
	d->magic = DBG_LIVE;
	__builtin_memset(d->guard, REDZONE, sizeof(d->guard));
	__builtin_memset((char *)d + DBG_FRONT + size, REDZONE, slot - DBG_FRONT - size);
}

/* First byte of [p, p+n) that is not v, or n. */
static size_t first_not(const void *p, size_t n, uint8_t v)
{
	const uint8_t *b = p;
	size_t i = 0;
	while (i < n && b[i] == v)
		i++;
	return i;
}

/* Check the redzones of a live debug object: NULL if intact, otherwise what
 * went wrong, with *off the bad byte's offset from the object's start. */
static const char *check_redzones(const uint8_t *guard, size_t glen, const char *obj,
				  size_t size, size_t tail, long *off)
{
	size_t i = first_not(guard, glen, REDZONE);
	if (i < glen) {
		*off = (long)i - (long)glen;
		return "write before the object (underflow)";
	}
	i = first_not(obj + size, tail, REDZONE);
	if (i < tail) {
		*off = (long)(size + i);
		return "write past the end of the object (overflow)";
	}
	return NULL;
}

static void hp_report(const char *what, const char *problem, const void *p, long off,
		   size_t size, uint64_t caller)
{
	mm_panic("%s: %s: %p[%ld], object of %lu bytes allocated by %p", what,
		 problem, p, off, (unsigned long)size, (void *)caller);
}

/* A slot just taken in debug mode: check it still holds the poison written
 * when it was freed, then arm its redzones. */
static void *debug_arm(char *slot, size_t slot_size, size_t size, uint64_t caller)
{
	size_t i = first_not(slot, slot_size, POISON);
	if (i < slot_size)
		mm_panic("kmalloc: write after free at %p (slot %p of %lu bytes, offset %lu)",
			 slot + i, slot, (unsigned long)slot_size, (unsigned long)i);
	fill_redzones((struct hp_dbg *)slot, slot_size, size, caller);
	return slot + DBG_FRONT;
}

/* --- allocation -------------------------------------------------------------- */

static void *small_alloc(unsigned cls, bool debug, size_t size, uint64_t caller)
{
	struct hp_cache *c = &hp_caches[debug][cls];

	mm_lock(&c->lock);
	if (!c->partial) {
		/* Not under the lock: the page allocator may take a while. */
		mm_unlock(&c->lock);
		struct hp_slab *s = slab_new(cls, debug);
		if (!s)
			return NULL;
		mm_lock(&c->lock);
		slab_link(c, s);
		c->nempty++;
		c->nslabs++;
	}
	char *slot = slab_take(c, c->partial);
	mm_unlock(&c->lock);

	if (debug)
		return debug_arm(slot, hp_classes[cls].size, size, caller);
	return slot;
}

static void *large_alloc(size_t size, bool debug, uint64_t caller)
{
	size_t need = size + sizeof(struct hp_large) + (debug ? DBG_TAIL : 0);
	if (need < size)
		return NULL;
	unsigned order = 0;
	while ((MM_PAGE_SIZE << order) < need)
		if (++order > MM_MAX_ORDER)
			return NULL;

	struct hp_large *h = page_alloc_virt(order);
	if (!h)
		return NULL;
	*h = (struct hp_large){
		.magic = LARGE_MAGIC,
		.order = (uint8_t)order,
		.debug = debug,
		.size = size,
		.caller = caller,
	};
	if (debug) {
		__builtin_memset(&h->guard, REDZONE, sizeof(h->guard));
		__builtin_memset((char *)(h + 1) + size, REDZONE,
				 (MM_PAGE_SIZE << order) - sizeof(*h) - size);
	}
	__atomic_fetch_add(&hp_large_objects, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&hp_large_pages, 1UL << order, __ATOMIC_RELAXED);
	return h + 1;
}

static void *hp_alloc(size_t size, uint64_t caller)
{
	bool debug = heap_debug();
	size_t need = size + (debug ? DBG_FRONT + DBG_TAIL : 0);
	void *p = NULL;

	if (need >= size) {
		int cls = class_of(need);
		p = cls >= 0 ? small_alloc((unsigned)cls, debug, size, caller)
			     : large_alloc(size, debug, caller);
	}
	if (!p)
		__atomic_fetch_add(&hp_failures, 1, __ATOMIC_RELAXED);
	return p;
}

#define HP_CALLER ((uint64_t)__builtin_return_address(0))

void *kmalloc(size_t size)
{
	return hp_alloc(size, HP_CALLER);
}

void *kzalloc(size_t size)
{
	void *p = hp_alloc(size, HP_CALLER);
	if (p)
		__builtin_memset(p, 0, size);
	return p;
}

void *kcalloc(size_t n, size_t size)
{
	size_t bytes;
	if (__builtin_mul_overflow(n, size, &bytes)) {
		__atomic_fetch_add(&hp_failures, 1, __ATOMIC_RELAXED);
		return NULL;
	}
	void *p = hp_alloc(bytes, HP_CALLER);
	if (p)
		__builtin_memset(p, 0, bytes);
	return p;
}

/* --- lookup and free ---------------------------------------------------------- */

/* What p points into. Exactly one of *slab, *large is set on success. */
static bool hp_lookup(const char *what, const void *p, struct hp_slab **slab,
		   struct hp_large **large)
{
	unsigned order;
	uint64_t head = page_block_head(page_virt_to_phys(p), &order);
	*slab = NULL;
	*large = NULL;
	if (!head) {
		mm_panic("%s: %p is not allocated memory (double free?)", what, p);
		return false;
	}
	void *h = page_phys_to_virt(head);
	uint32_t magic = *(uint32_t *)h;
	if (magic == SLAB_MAGIC && ((struct hp_slab *)h)->cls < HP_NCLASSES &&
	    hp_classes[((struct hp_slab *)h)->cls].order == order) {
		*slab = h;
		return true;
	}
	if (magic == LARGE_MAGIC && ((struct hp_large *)h)->order == order) {
		if (p == (struct hp_large *)h + 1) {
			*large = h;
			return true;
		}
		mm_panic("%s: %p is inside a large object, not its start", what, p);
		return false;
	}
	mm_panic("%s: %p is not in the kernel heap", what, p);
	return false;
}

/* Slot index of p in s, or -1 if p is not where an object starts. */
static int slot_of(struct hp_slab *s, const void *p)
{
	size_t off = (size_t)((const char *)p - (const char *)s);
	if (s->debug)
		off -= DBG_FRONT;
	if (off < s->first || (off - s->first) % s->size)
		return -1;
	size_t i = (off - s->first) / s->size;
	return i < s->nobj ? (int)i : -1;
}

static void slab_free(struct hp_slab *s, void *p)
{
	struct hp_cache *c = &hp_caches[s->debug][s->cls];
	int i = slot_of(s, p);
	if (i < 0) {
		mm_panic("kfree: %p is not the start of an object", p);
		return;
	}
	uint64_t bit = 1ULL << (i % 64);
	char *slot = (char *)s + s->first + (size_t)i * s->size;
	struct hp_slab *release = NULL;

	mm_lock(&c->lock);
	if (!(s->used[i / 64] & bit)) {
		mm_unlock(&c->lock);
		mm_panic("kfree: double free of %p", p);
		return;
	}
	if (s->debug) {
		struct hp_dbg *d = (struct hp_dbg *)slot;
		long off = 0;
		const char *bad = NULL;
		if (d->magic != DBG_LIVE || d->size > s->size - DBG_FRONT - DBG_TAIL) {
			bad = "object header overwritten (underflow)";
			off = -(long)DBG_FRONT;
		} else {
			bad = check_redzones(d->guard, sizeof(d->guard), p, d->size,
					     s->size - DBG_FRONT - d->size, &off);
		}
		if (bad) {
			/* Leave the object allocated: its neighbours may be
			 * damaged too, and reuse would spread that. */
			mm_unlock(&c->lock);
			hp_report("kfree", bad, p, off, d->size, d->caller);
			return;
		}
		__builtin_memset(slot, POISON, s->size);
	}
	s->used[i / 64] &= ~bit;
	c->inuse--;
	if (++s->nfree == 1)
		slab_link(c, s);
	if (s->nfree == s->nobj) {
		/* Keep one empty slab per cache so a class that is used in
		 * bursts does not go back to the page allocator every time. */
		if (c->nempty) {
			slab_unlink(c, s);
			c->nslabs--;
			release = s;
		} else {
			c->nempty++;
		}
	}
	mm_unlock(&c->lock);
	if (release)
		page_free_virt(release, hp_classes[release->cls].order);
}

static void large_free(struct hp_large *h, void *p)
{
	unsigned order = h->order;
	size_t block = MM_PAGE_SIZE << order;
	if (h->debug) {
		long off = 0;
		const char *bad = check_redzones((const uint8_t *)&h->guard, sizeof(h->guard),
						 p, h->size,
						 block - sizeof(*h) - h->size, &off);
		if (bad) {
			hp_report("kfree", bad, p, off, h->size, h->caller);
			return;
		}
		/* Reads through stale pointers then show the pattern. */
		__builtin_memset(h, POISON, block);
	}
	h->magic = 0;
	__atomic_fetch_sub(&hp_large_objects, 1, __ATOMIC_RELAXED);
	__atomic_fetch_sub(&hp_large_pages, 1UL << order, __ATOMIC_RELAXED);
	page_free_virt(h, order);
}

void kfree(void *p)
{
	struct hp_slab *s;
	struct hp_large *l;
	if (!p || !hp_lookup("kfree", p, &s, &l))
		return;
	if (s)
		slab_free(s, p);
	else
		large_free(l, p);
}

size_t kmalloc_usable_size(void *p)
{
	struct hp_slab *s;
	struct hp_large *l;
	if (!p || !hp_lookup("kmalloc_usable_size", p, &s, &l))
		return 0;
	if (l)
		return l->debug ? l->size : (MM_PAGE_SIZE << l->order) - sizeof(*l);
	if (s->debug)
		return ((struct hp_dbg *)((char *)p - DBG_FRONT))->size;
	return s->size;
}

/* What kmalloc(size) would let the caller use, in normal mode. */
static size_t usable_for(size_t size)
{
	int cls = class_of(size);
	if (cls >= 0)
		return hp_classes[cls].size;
	size_t need = size + sizeof(struct hp_large), block = MM_PAGE_SIZE;
	while (block < need)
		block <<= 1;
	return block - sizeof(struct hp_large);
}

void *krealloc(void *p, size_t size)
{
	if (!p)
		return hp_alloc(size, HP_CALLER);
	if (size == 0) {
		kfree(p);
		return NULL;
	}

	struct hp_slab *s;
	struct hp_large *l;
	if (!hp_lookup("krealloc", p, &s, &l))
		return NULL;
	size_t old = kmalloc_usable_size(p);
	bool debug = s ? s->debug : l->debug;

	/* Stay in place if the object still fits and would not shrink into a
	 * smaller class worth moving for. Debug objects always move, so that
	 * stale pointers to the old copy hit poison. */
	if (!debug && size <= old && (size > old / 2 || usable_for(size) == old))
		return p;

	void *q = hp_alloc(size, HP_CALLER);
	if (!q)
		return NULL;
	__builtin_memcpy(q, p, size < old ? size : old);
	kfree(p);
	return q;
}

/* --- control and statistics ------------------------------------------------------ */

void heap_set_debug(bool on)
{
	__atomic_store_n(&hp_debug_on, on, __ATOMIC_RELAXED);
}

bool heap_debug(void)
{
	return __atomic_load_n(&hp_debug_on, __ATOMIC_RELAXED);
}

void heap_init(void)
{
	for (unsigned d = 0; d < 2; d++)
		for (unsigned i = 0; i < HP_NCLASSES; i++)
			hp_caches[d][i] = (struct hp_cache){ .nempty = 0 };
	hp_debug_on = false;
	hp_large_objects = hp_large_pages = hp_failures = 0;

	/* The in-use bitmap has 256 bits: every class must fit. */
	for (unsigned i = 0; i < HP_NCLASSES; i++) {
		size_t n = ((MM_PAGE_SIZE << hp_classes[i].order) - HP_SLAB_HDR) /
			   hp_classes[i].size;
		if (n > 256)
			mm_panic("heap: class %u has %lu slots per slab", hp_classes[i].size,
				 (unsigned long)n);
	}
}

void heap_trim(void)
{
	for (unsigned d = 0; d < 2; d++) {
		for (unsigned i = 0; i < HP_NCLASSES; i++) {
			struct hp_cache *c = &hp_caches[d][i];
			struct hp_slab *empty = NULL, *s, *next;

			mm_lock(&c->lock);
			for (s = c->partial; s; s = next) {
				next = s->next;
				if (s->nfree == s->nobj) {
					slab_unlink(c, s);
					c->nslabs--;
					s->next = empty;
					empty = s;
				}
			}
			c->nempty = 0;
			mm_unlock(&c->lock);

			for (s = empty; s; s = next) {
				next = s->next;
				page_free_virt(s, hp_classes[i].order);
			}
		}
	}
}

void heap_get_stats(struct heap_stats *st)
{
	*st = (struct heap_stats){ 0 };
	for (unsigned d = 0; d < 2; d++) {
		for (unsigned i = 0; i < HP_NCLASSES; i++) {
			struct hp_cache *c = &hp_caches[d][i];
			mm_lock(&c->lock);
			st->slabs += c->nslabs;
			st->slab_pages += c->nslabs << hp_classes[i].order;
			st->objects += c->inuse;
			mm_unlock(&c->lock);
		}
	}
	st->large_objects = __atomic_load_n(&hp_large_objects, __ATOMIC_RELAXED);
	st->large_pages = __atomic_load_n(&hp_large_pages, __ATOMIC_RELAXED);
	st->failures = __atomic_load_n(&hp_failures, __ATOMIC_RELAXED);
}
