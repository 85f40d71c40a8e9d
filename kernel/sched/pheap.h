/*
 * Intrusive pairing heap keyed by a 64-bit value: the run queues (keyed by
 * virtual runtime) and the per-CPU timer heaps (keyed by deadline) are both
 * one of these. Insert and meld are O(1), pop-min and removal of any node
 * O(log n) amortised. Ties pop in insertion order (a sequence number breaks
 * them), so equal keys behave FIFO: threads with equal vruntime round-robin.
 *
 * Pure C, no locking: the owner serialises. Host-tested (tests/unit).
 */
#pragma once
#include <stdint.h>
#include <stddef.h>
#include <stdbool.h>

struct pheap_node {
	uint64_t key;
	uint64_t seq;
	struct pheap_node *child;   /* leftmost child */
	struct pheap_node *next;    /* right sibling */
	struct pheap_node *prev;    /* left sibling, or the parent for a leftmost child */
};

struct pheap {
	struct pheap_node *root;
	uint64_t seq;
	size_t count;
};

static inline void pheap_init(struct pheap *h) { h->root = NULL; h->seq = 0; h->count = 0; }
static inline bool pheap_empty(const struct pheap *h) { return h->root == NULL; }
static inline struct pheap_node *pheap_min(const struct pheap *h) { return h->root; }

void pheap_insert(struct pheap *h, struct pheap_node *n, uint64_t key);
struct pheap_node *pheap_pop(struct pheap *h);
/* n must be in h. */
void pheap_remove(struct pheap *h, struct pheap_node *n);
