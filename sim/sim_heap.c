#include "sim_heap.h"

#include <assert.h>
#include <stdlib.h>

void sim_heap_init(sim_heap *h)
{
	h->a = NULL;
	h->len = h->cap = 0;
	h->next_seq = 0;
}

void sim_heap_free(sim_heap *h)
{
	free(h->a);
	sim_heap_init(h);
}

static inline int less(const sim_heap_node *x, const sim_heap_node *y)
{
	if (x->key != y->key)
		return x->key < y->key;
	return x->seq < y->seq;
}

static inline void place(sim_heap *h, uint32_t i, sim_heap_node *n)
{
	h->a[i] = n;
	n->index = i;
}

static void sift_up(sim_heap *h, uint32_t i, sim_heap_node *n)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!less(n, h->a[p]))
			break;
		place(h, i, h->a[p]);
		i = p;
	}
	place(h, i, n);
}

static void sift_down(sim_heap *h, uint32_t i, sim_heap_node *n)
{
	uint32_t len = h->len;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= len)
			break;
		if (c + 1 < len && less(h->a[c + 1], h->a[c]))
			c++;
		if (!less(h->a[c], n))
			break;
		place(h, i, h->a[c]);
		i = c;
	}
	place(h, i, n);
}

int sim_heap_push(sim_heap *h, sim_heap_node *n)
{
	assert(n->index == SIM_HEAP_NONE || h->len == 0 || h->a[n->index] != n);
	if (h->len == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 256;
		sim_heap_node **a = realloc(h->a, (size_t)cap * sizeof *a);
		if (!a)
			return -1;
		h->a = a;
		h->cap = cap;
	}
	n->seq = h->next_seq++;
	sift_up(h, h->len++, n);
	return 0;
}

sim_heap_node *sim_heap_pop(sim_heap *h)
{
	if (!h->len)
		return NULL;
	sim_heap_node *top = h->a[0];
	sim_heap_node *last = h->a[--h->len];
	if (h->len)
		sift_down(h, 0, last);
	top->index = SIM_HEAP_NONE;
	return top;
}

void sim_heap_remove(sim_heap *h, sim_heap_node *n)
{
	uint32_t i = n->index;
	assert(i < h->len && h->a[i] == n);
	sim_heap_node *last = h->a[--h->len];
	n->index = SIM_HEAP_NONE;
	if (i == h->len)
		return;
	/* The moved node may belong above or below slot i. */
	if (i > 0 && less(last, h->a[(i - 1) / 2]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}
