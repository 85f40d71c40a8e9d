/* The pairing heap behind the run queues and timer heaps. */
#include "check.h"
#include <stdlib.h>
#include "sched/pheap.c"

#define N 5000

static struct pheap_node nodes[N];
static bool in[N];

static int idx(struct pheap_node *n) { return (int)(n - nodes); }

int main(void)
{
	struct pheap h;
	pheap_init(&h);
	CHECK(pheap_pop(&h) == NULL);

	/* ties pop FIFO */
	for (int i = 0; i < 10; i++)
		pheap_insert(&h, &nodes[i], 7);
	for (int i = 0; i < 10; i++)
		CHECK(idx(pheap_pop(&h)) == i);
	CHECK(pheap_empty(&h) && h.count == 0);

	/* random inserts, pops and removals against a brute-force model */
	srand(1);
	uint64_t keys[N];
	unsigned long errors = 0;
	for (int round = 0; round < 200000; round++) {
		int op = rand() % 4, i = rand() % N;
		if (op <= 1 && !in[i]) {
			keys[i] = rand() % 1000;
			pheap_insert(&h, &nodes[i], keys[i]);
			in[i] = true;
		} else if (op == 2 && in[i]) {
			pheap_remove(&h, &nodes[i]);
			in[i] = false;
		} else if (op == 3 && !pheap_empty(&h)) {
			uint64_t best = UINT64_MAX;
			for (int j = 0; j < N; j++)
				if (in[j] && keys[j] < best)
					best = keys[j];
			struct pheap_node *m = pheap_pop(&h);
			errors += m->key != best || !in[idx(m)];
			in[idx(m)] = false;
		}
	}
	CHECK(errors == 0);
	size_t cnt = 0;
	for (int j = 0; j < N; j++)
		cnt += in[j];
	CHECK(cnt == h.count);
	uint64_t last = 0;
	while (!pheap_empty(&h)) {
		struct pheap_node *m = pheap_pop(&h);
		errors += m->key < last;
		last = m->key;
		cnt--;
	}
	CHECK(errors == 0 && cnt == 0);

	/* sorted and reverse-sorted inserts (deep sibling lists) */
	for (int i = 0; i < N; i++)
		pheap_insert(&h, &nodes[i], (uint64_t)(N - i));
	for (int i = 0; i < N; i++)
		CHECK(idx(pheap_pop(&h)) == N - 1 - i);
	return CHECK_SUMMARY();
}
