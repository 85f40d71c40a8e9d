/* Open-addressing hash map of guest paths; see pathmap.h. */
#include "pathmap.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static uint64_t hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ull; /* FNV-1a */
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ull;
	return h;
}

void pathmap_init(struct pathmap *m)
{
	m->cap = 64;
	m->count = 0;
	m->slots = xcalloc(m->cap, sizeof(*m->slots));
}

void pathmap_free(struct pathmap *m)
{
	for (size_t i = 0; i < m->cap; i++) {
		free(m->slots[i].path);
		free(m->slots[i].target);
		free(m->slots[i].source);
	}
	free(m->slots);
	m->slots = NULL;
	m->cap = m->count = 0;
}

static struct pm_entry *find_slot(struct pm_entry *slots, size_t cap, const char *path)
{
	size_t i = hash(path) & (cap - 1);
	/* The table is never more than half full, so this ends. */
	while (slots[i].path && strcmp(slots[i].path, path) != 0)
		i = (i + 1) & (cap - 1);
	return &slots[i];
}

struct pm_entry *pathmap_get(const struct pathmap *m, const char *path)
{
	struct pm_entry *e = find_slot(m->slots, m->cap, path);
	return e->path ? e : NULL;
}

static void grow(struct pathmap *m)
{
	size_t ncap = m->cap * 2;
	struct pm_entry *n = xcalloc(ncap, sizeof(*n));

	for (size_t i = 0; i < m->cap; i++)
		if (m->slots[i].path)
			*find_slot(n, ncap, m->slots[i].path) = m->slots[i];
	free(m->slots);
	m->slots = n;
	m->cap = ncap;
}

struct pm_entry *pathmap_put(struct pathmap *m, const char *path, enum pm_type type,
			     const char *target, const char *source)
{
	struct pm_entry *e;

	if ((m->count + 1) * 2 > m->cap)
		grow(m);
	e = find_slot(m->slots, m->cap, path);
	if (!e->path)
		m->count++;
	else {
		free(e->path);
		free(e->target);
		free(e->source);
	}
	e->path = xstrdup(path);
	e->type = type;
	e->target = target ? xstrdup(target) : NULL;
	e->source = source ? xstrdup(source) : NULL;
	return e;
}
