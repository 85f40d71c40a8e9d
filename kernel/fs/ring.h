/*
 * A byte ring buffer (the pipe's), capacity a power of two. Pure, header
 * only: tests/unit/test_fs_pure.c includes it.
 */
#pragma once
#include <stdint.h>
#include <stddef.h>

struct ring {
	uint8_t *buf;
	size_t cap;         /* power of two, or 0 before the buffer exists */
	size_t head;        /* index of the oldest byte */
	size_t count;       /* bytes held */
};

static inline size_t ring_room(const struct ring *r)
{
	return r->cap - r->count;
}

/* The contiguous bytes that can be read now: pointer and length. */
static inline uint8_t *ring_read_span(const struct ring *r, size_t *len)
{
	size_t first = r->cap - r->head;
	*len = r->count < first ? r->count : first;
	return r->buf + r->head;
}

static inline void ring_consume(struct ring *r, size_t n)
{
	r->head = (r->head + n) & (r->cap - 1);
	r->count -= n;
	if (r->count == 0)
		r->head = 0;         /* keeps spans long */
}

/* The contiguous free space after the data. */
static inline uint8_t *ring_write_span(const struct ring *r, size_t *len)
{
	size_t tail = (r->head + r->count) & (r->cap - 1);
	size_t first = r->cap - tail;
	size_t room = r->cap - r->count;
	*len = room < first ? room : first;
	return r->buf + tail;
}

static inline void ring_produce(struct ring *r, size_t n)
{
	r->count += n;
}

/* Moves the contents into nbuf (capacity ncap >= count), oldest first. */
static inline void ring_move(struct ring *r, uint8_t *nbuf, size_t ncap)
{
	size_t done = 0;
	while (r->count) {
		size_t len;
		uint8_t *p = ring_read_span(r, &len);
		for (size_t i = 0; i < len; i++)
			nbuf[done + i] = p[i];
		done += len;
		ring_consume(r, len);
	}
	r->buf = nbuf;
	r->cap = ncap;
	r->head = 0;
	r->count = done;
}
