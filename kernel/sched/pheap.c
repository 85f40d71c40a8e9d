/* Pairing heap: see pheap.h. The classic two-pass pairing on pop. */
#include "sched/pheap.h"

static bool less(const struct pheap_node *a, const struct pheap_node *b)
{
	return a->key < b->key || (a->key == b->key && a->seq < b->seq);
}

/* Links two roots (no siblings); returns the new root. */
static struct pheap_node *link(struct pheap_node *a, struct pheap_node *b)
{
	if (!a)
		return b;
	if (!b)
		return a;
	if (less(b, a)) {
		struct pheap_node *t = a;
		a = b;
		b = t;
	}
	/* b becomes a's leftmost child */
	b->next = a->child;
	if (a->child)
		a->child->prev = b;
	b->prev = a;
	a->child = b;
	a->next = NULL;
	a->prev = NULL;
	return a;
}

/* Combines a sibling list into one tree: pair left to right, then fold
 * right to left. Iterative so deep lists cannot overflow the stack. */
static struct pheap_node *combine(struct pheap_node *first)
{
	if (!first)
		return NULL;
	/* pass 1: pair up, building a reversed list through ->next */
	struct pheap_node *pairs = NULL;
	while (first) {
		struct pheap_node *a = first, *b = first->next;
		first = b ? b->next : NULL;
		a->next = a->prev = NULL;
		if (b)
			b->next = b->prev = NULL;
		struct pheap_node *t = link(a, b);
		t->next = pairs;
		pairs = t;
	}
	/* pass 2: fold (the list is already right-to-left) */
	struct pheap_node *root = pairs;
	pairs = pairs->next;
	root->next = NULL;
	while (pairs) {
		struct pheap_node *n = pairs;
		pairs = pairs->next;
		n->next = NULL;
		root = link(root, n);
	}
	return root;
}

void pheap_insert(struct pheap *h, struct pheap_node *n, uint64_t key)
{
	n->key = key;
	n->seq = h->seq++;
	n->child = n->next = n->prev = NULL;
	h->root = link(h->root, n);
	h->count++;
}

struct pheap_node *pheap_pop(struct pheap *h)
{
	struct pheap_node *r = h->root;
	if (!r)
		return NULL;
	h->root = combine(r->child);
	if (h->root)
		h->root->prev = NULL;
	r->child = r->next = r->prev = NULL;
	h->count--;
	return r;
}

void pheap_remove(struct pheap *h, struct pheap_node *n)
{
	if (n == h->root) {
		pheap_pop(h);
		return;
	}
	/* cut n's subtree out of its sibling list */
	if (n->prev->child == n)
		n->prev->child = n->next;   /* n was leftmost: prev is the parent */
	else
		n->prev->next = n->next;
	if (n->next)
		n->next->prev = n->prev;
	n->next = n->prev = NULL;
	struct pheap_node *sub = combine(n->child);
	n->child = NULL;
	if (sub)
		sub->prev = NULL;
	h->root = link(h->root, sub);
	h->count--;
}
