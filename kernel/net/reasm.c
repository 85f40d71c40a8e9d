/* IPv4 reassembly (see reasm.h). */
#include "net/reasm.h"
#include "net/byteorder.h"
#include "net/checksum.h"

#define HEADROOM IPV4_MAX_HLEN       /* the header goes in front of the data */
#define MAX_DATA (65535 - IPV4_HLEN) /* payload bytes a datagram can carry */
#define BLOCKS   ((MAX_DATA + 7) / 8)

struct reasm_dgram {
	struct reasm_dgram *next;
	uint32_t src, dst;
	uint16_t id;
	uint8_t proto;
	bool have_first, have_last;
	uint64_t created;
	unsigned nfrags;
	size_t total;              /* payload bytes, once the last fragment came */
	unsigned blocks_have;      /* 8-byte blocks received */
	unsigned hlen;
	uint8_t hdr[IPV4_MAX_HLEN];   /* the first fragment's header */
	uint8_t *mem;              /* HEADROOM + cap bytes */
	size_t cap;
	uint8_t map[(BLOCKS + 7) / 8];
};

static size_t dgram_mem(const struct reasm_dgram *d)
{
	return sizeof(*d) + (d->mem ? HEADROOM + d->cap : 0);
}

void reasm_init(struct reasm *r, const struct reasm_limits *lim)
{
	static const struct reasm_limits dflt = REASM_DEFAULT_LIMITS;
	*r = (struct reasm){ .lim = lim ? *lim : dflt };
}

static void unlink_free(struct reasm *r, struct reasm_dgram *d)
{
	struct reasm_dgram **pp = &r->list;
	while (*pp != d)
		pp = &(*pp)->next;
	*pp = d->next;
	r->n--;
	r->mem -= dgram_mem(d);
	reasm_free(d->mem);
	reasm_free(d);
}

static void drop(struct reasm *r, struct reasm_dgram *d)
{
	r->st.fails++;
	unlink_free(r, d);
}

/* Makes room for `need` more bytes by evicting the oldest datagrams
 * other than `keep`. */
static bool make_room(struct reasm *r, size_t need, const struct reasm_dgram *keep)
{
	while (r->mem + need > r->lim.max_mem) {
		struct reasm_dgram *v = r->list;
		while (v && v == keep)
			v = v->next;
		if (!v)
			return false;
		r->st.evicted++;
		drop(r, v);
	}
	return true;
}

static bool bit(const struct reasm_dgram *d, size_t b) { return d->map[b / 8] >> (b % 8) & 1; }

/* Grows d's buffer to hold `need` payload bytes. */
static bool grow(struct reasm *r, struct reasm_dgram *d, size_t need)
{
	if (need <= d->cap)
		return true;
	size_t cap = d->have_last ? d->total : need;
	if (!d->have_last && cap < 2 * d->cap)
		cap = 2 * d->cap;
	if (cap > MAX_DATA)
		cap = MAX_DATA;
	if (cap < need)
		return false;
	size_t extra = cap - d->cap + (d->mem ? 0 : HEADROOM);
	if (!make_room(r, extra, d))
		return false;
	uint8_t *m = reasm_alloc(HEADROOM + cap);
	if (!m)
		return false;
	if (d->mem) {
		for (size_t i = 0; i < d->cap; i++)
			m[HEADROOM + i] = d->mem[HEADROOM + i];
		reasm_free(d->mem);
	}
	r->mem += extra;
	d->mem = m;
	d->cap = cap;
	return true;
}

static struct reasm_dgram *find_or_create(struct reasm *r, const struct ipv4_info *ip,
					  uint64_t now)
{
	struct reasm_dgram **pp = &r->list;
	for (; *pp; pp = &(*pp)->next) {
		struct reasm_dgram *d = *pp;
		if (d->src == ip->src && d->dst == ip->dst && d->id == ip->id &&
		    d->proto == ip->proto)
			return d;
	}
	if (r->n >= r->lim.max_datagrams) {
		r->st.evicted++;
		drop(r, r->list);
		pp = &r->list;
		while (*pp)
			pp = &(*pp)->next;
	}
	if (!make_room(r, sizeof(struct reasm_dgram), NULL))
		return NULL;
	struct reasm_dgram *d = reasm_alloc(sizeof(*d));
	if (!d)
		return NULL;
	for (size_t i = 0; i < sizeof(*d); i++)
		((uint8_t *)d)[i] = 0;
	d->src = ip->src;
	d->dst = ip->dst;
	d->id = ip->id;
	d->proto = ip->proto;
	d->created = now;
	/* Appended: the list stays oldest first. */
	pp = &r->list;
	while (*pp)
		pp = &(*pp)->next;
	*pp = d;
	r->n++;
	r->mem += sizeof(*d);
	return d;
}

enum reasm_result reasm_input(struct reasm *r, const struct ipv4_info *ip, uint64_t now,
			      struct reasm_done *out)
{
	size_t off = (size_t)(ip->frag & IPV4_OFFMASK) * 8;
	size_t len = ip->payload_len;
	bool more = ip->frag & IPV4_MF;
	r->st.reqds++;
	/* Every fragment but the last carries a multiple of 8 bytes, and
	 * none is empty; nothing may reach past 65535. */
	if (len == 0 || (more && len % 8) || ip->hlen + off + len > 65535) {
		r->st.bad_frags++;
		r->st.fails++;
		return REASM_DROP;
	}
	struct reasm_dgram *d = find_or_create(r, ip, now);
	if (!d) {
		r->st.fails++;
		return REASM_DROP;
	}
	size_t end = off + len;
	if (++d->nfrags > r->lim.max_frags)
		goto kill;
	if (!more) {
		if (d->have_last && end != d->total)
			goto kill;       /* a second last fragment, another end */
		/* Data at or beyond the new end already held (non-last
		 * fragments fill whole blocks, so one in the block where
		 * this one ends went past it)? */
		if (!d->have_last)
			for (size_t b = end / 8; b * 8 < d->cap; b++)
				if (bit(d, b))
					goto kill;
		d->have_last = true;
		d->total = end;
	} else if (d->have_last && end > d->total) {
		goto kill;
	}
	if (!grow(r, d, end))
		goto kill;
	const uint8_t *src = ip->payload;
	for (size_t b = off / 8; b * 8 < end; b++) {
		size_t lo = b * 8, hi = lo + 8 < end ? lo + 8 : end;
		uint8_t *dst = d->mem + HEADROOM;
		if (bit(d, b)) {
			for (size_t i = lo; i < hi; i++)
				if (dst[i] != src[i - off]) {
					r->st.overlaps++;
					goto kill;
				}
			continue;
		}
		for (size_t i = lo; i < hi; i++)
			dst[i] = src[i - off];
		d->map[b / 8] |= (uint8_t)(1u << (b % 8));
		d->blocks_have++;
	}
	if (off == 0 && !d->have_first) {
		d->have_first = true;
		d->hlen = ip->hlen;
		const uint8_t *h = ip->payload - ip->hlen;
		for (unsigned i = 0; i < ip->hlen; i++)
			d->hdr[i] = h[i];
	}
	if (!d->have_first || !d->have_last || d->blocks_have != (d->total + 7) / 8)
		return REASM_HELD;
	/* Complete: the first fragment's header in front, as one datagram. */
	uint8_t *h = d->mem + HEADROOM - d->hlen;
	for (unsigned i = 0; i < d->hlen; i++)
		h[i] = d->hdr[i];
	put_be16(h + 2, (uint16_t)(d->hlen + d->total));
	put_be16(h + 6, 0);
	put_be16(h + 10, 0);
	put_be16(h + 10, csum_fold(csum_add(0, h, d->hlen)));
	out->data = h;
	out->len = d->hlen + d->total;
	out->mem = d->mem;
	r->mem -= HEADROOM + d->cap;
	d->mem = NULL;
	unlink_free(r, d);
	r->st.oks++;
	return REASM_DONE;
kill:
	r->st.fails++;
	unlink_free(r, d);
	return REASM_DROP;
}

void reasm_release(struct reasm_done *d)
{
	reasm_free(d->mem);
	d->mem = NULL;
	d->data = NULL;
}

unsigned reasm_expire(struct reasm *r, uint64_t now, reasm_expired_fn first, void *arg)
{
	unsigned n = 0;
	while (r->list && now - r->list->created >= r->lim.timeout_ns) {
		struct reasm_dgram *d = r->list;
		if (first && d->have_first && d->mem) {
			/* Block 0 came with the first fragment: its bytes (up
			 * to 8, fewer only for a tiny datagram) follow the
			 * header in the headroom. */
			uint8_t *h = d->mem + HEADROOM - d->hlen;
			for (unsigned i = 0; i < d->hlen; i++)
				h[i] = d->hdr[i];
			size_t have = d->cap < 8 ? d->cap : 8;
			first(h, d->hlen + have, arg);
		}
		r->st.timeouts++;
		drop(r, r->list);
		n++;
	}
	return n;
}

uint64_t reasm_next_expiry(const struct reasm *r)
{
	return r->list ? r->list->created + r->lim.timeout_ns : UINT64_MAX;
}

void reasm_flush(struct reasm *r)
{
	while (r->list)
		unlink_free(r, r->list);
}
