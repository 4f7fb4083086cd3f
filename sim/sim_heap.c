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

static inline int less(const sim_heap_slot *x, const sim_heap_slot *y)
{
	if (x->key != y->key)
		return x->key < y->key;
	return x->seq < y->seq;
}

static inline void place(sim_heap *h, uint32_t i, sim_heap_slot v)
{
	h->a[i] = v;
	v.n->index = i;
}

static void sift_up(sim_heap *h, uint32_t i, sim_heap_slot v)
{
	while (i > 0) {
		uint32_t p = (i - 1) / 2;
		if (!less(&v, &h->a[p]))
			break;
		place(h, i, h->a[p]);
		i = p;
	}
	place(h, i, v);
}

static void sift_down(sim_heap *h, uint32_t i, sim_heap_slot v)
{
	uint32_t len = h->len;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= len)
			break;
		if (c + 1 < len && less(&h->a[c + 1], &h->a[c]))
			c++;
		if (!less(&h->a[c], &v))
			break;
		place(h, i, h->a[c]);
		i = c;
	}
	place(h, i, v);
}

int sim_heap_push(sim_heap *h, sim_heap_node *n)
{
	if (h->len == h->cap) {
		uint32_t cap = h->cap ? h->cap * 2 : 256;
		sim_heap_slot *a = realloc(h->a, (size_t)cap * sizeof *a);
		if (!a)
			return -1;
		h->a = a;
		h->cap = cap;
	}
	n->seq = h->next_seq++;
	sim_heap_slot v = {n->key, n->seq, n};
	sift_up(h, h->len++, v);
	return 0;
}

/* Pop moves the hole at the root down along the smaller children to a
 * leaf (one comparison per level), then sifts the last element up from
 * there (Floyd's bottom-up heapsort trick). The last element usually
 * belongs near the bottom, so this costs about half the comparisons of a
 * plain sift-down, and comparisons of random keys are branch mispredicts. */
sim_heap_node *sim_heap_pop(sim_heap *h)
{
	if (!h->len)
		return NULL;
	sim_heap_node *top = h->a[0].n;
	top->index = SIM_HEAP_NONE;
	uint32_t len = --h->len;
	if (!len)
		return top;
	sim_heap_slot last = h->a[len];
	uint32_t i = 0;
	for (;;) {
		uint32_t c = 2 * i + 1;
		if (c >= len)
			break;
		if (c + 1 < len && less(&h->a[c + 1], &h->a[c]))
			c++;
		place(h, i, h->a[c]);
		i = c;
	}
	sift_up(h, i, last);
	return top;
}

int sim_heap_replace_top(sim_heap *h, sim_heap_node *n)
{
	assert(h->len > 0);
	sim_heap_node *top = h->a[0].n;
	n->seq = h->next_seq++;
	sim_heap_slot v = {n->key, n->seq, n};
	/* n may be the old top itself, reused by its owner: mark the old top
	 * out first, so that placing n sets its slot last. */
	top->index = SIM_HEAP_NONE;
	sift_down(h, 0, v);
	return 0;
}

void sim_heap_remove(sim_heap *h, sim_heap_node *n)
{
	uint32_t i = n->index;
	assert(i < h->len && h->a[i].n == n);
	sim_heap_slot last = h->a[--h->len];
	n->index = SIM_HEAP_NONE;
	if (i == h->len)
		return;
	/* The moved node may belong above or below slot i. */
	if (i > 0 && less(&last, &h->a[(i - 1) / 2]))
		sift_up(h, i, last);
	else
		sift_down(h, i, last);
}
