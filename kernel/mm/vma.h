/*
 * The program's memory map as a list of areas (VMAs): sorted by address,
 * never overlapping, neighbours with identical attributes merged. Only the
 * ranges and their attributes live here; page tables and pages are
 * mm/vm.c's. Pure: tests/unit/test_vma.c includes vma.c.
 *
 * The includer provides the memory: vma_alloc_node() (zeroed, NULL when out
 * of memory) and vma_free_node().
 */
#pragma once

#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

/* prot: the PROT_* bits of mmap. */
#define VMA_READ   1
#define VMA_WRITE  2
#define VMA_EXEC   4

/* flags */
#define VMA_SHARED     (1u << 0)    /* MAP_SHARED (no fork: behaves as private) */
#define VMA_GROWSDOWN  (1u << 1)    /* a stack that may extend downwards */
#define VMA_STACK      (1u << 2)    /* the initial stack or MAP_STACK */
#define VMA_HEAP       (1u << 3)    /* brk */
#define VMA_NORESERVE  (1u << 4)
#define VMA_LOCKED     (1u << 5)    /* mlock: accepted, nothing is ever swapped */

struct vma {
	struct vma *prev, *next;
	uint64_t start, end;         /* [start, end), page-aligned */
	uint32_t prot, flags;
	/* File-backed (private): page p of the area holds the file's bytes at
	 * off + (p - start), read with file_read; bytes at or past file_end
	 * read as zero. */
	void *file;                  /* the file (opaque); NULL: anonymous */
	void (*file_read)(void *file, uint64_t off, void *buf, size_t len);
	uint64_t off, file_end;      /* file_end <= the file's size */
};

struct vma_list {
	struct vma *first, *last;
	unsigned count;
};

void *vma_alloc_node(void);
void vma_free_node(void *p);

/* The area containing addr, or NULL. */
struct vma *vma_find(const struct vma_list *l, uint64_t addr);
/* The first area that ends after addr (it may start after addr), or NULL. */
struct vma *vma_next_after(const struct vma_list *l, uint64_t addr);
/* Whether any area overlaps [start, end). */
bool vma_overlaps(const struct vma_list *l, uint64_t start, uint64_t end);
/* Whether [start, end) is entirely covered by areas, without holes. */
bool vma_covered(const struct vma_list *l, uint64_t start, uint64_t end);

/* Inserts a copy of *tmpl (start, end and attributes; links ignored) into
 * a hole that must be free, merging with compatible neighbours. Returns the
 * area now holding the range, or NULL when out of memory. */
struct vma *vma_insert(struct vma_list *l, const struct vma *tmpl);

/* Makes addr a boundary: the area containing it (if any, and addr not
 * already its start) is split in two. 0, or -1 when out of memory. */
int vma_split_at(struct vma_list *l, uint64_t addr);

/* Removes the areas inside [start, end), splitting those that straddle an
 * end. Returns 0 or -1 (out of memory splitting: nothing was removed). */
int vma_remove(struct vma_list *l, uint64_t start, uint64_t end);

/* Sets prot on [start, end) (splitting, then merging what became equal).
 * The range should be covered. 0 or -1 (out of memory: nothing changed). */
int vma_protect(struct vma_list *l, uint64_t start, uint64_t end, uint32_t prot);

/* Merges the area with its neighbours where compatible. */
void vma_merge_around(struct vma_list *l, struct vma *v);

/* A free range of len bytes (page-aligned) inside [lo, hi): the highest
 * one when topdown, else the lowest. Returns its start, or 0 when none.
 * Keeps `gap` free bytes below a VMA_GROWSDOWN area. */
uint64_t vma_find_free(const struct vma_list *l, uint64_t len, uint64_t lo,
		       uint64_t hi, bool topdown, uint64_t gap);

/* Frees every area. */
void vma_clear(struct vma_list *l);
