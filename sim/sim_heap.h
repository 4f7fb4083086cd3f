/*
 * sim_heap.h - an intrusive binary min-heap of timed nodes.
 *
 * Nodes are ordered by (key, seq): equal keys leave in the order they were
 * inserted, because the heap stamps each node with an insertion counter.
 * That makes the simulator's event order reproducible. Every node remembers
 * its slot, so cancel (remove) is O(log n) like insert and pop.
 *
 * The heap owns only its array of pointers; nodes belong to the caller.
 */
#ifndef SIM_HEAP_H
#define SIM_HEAP_H

#include <stddef.h>
#include <stdint.h>

typedef struct sim_heap_node {
	uint64_t key;   /* ordering key: event time in ns */
	uint64_t seq;   /* insertion counter, set by sim_heap_push */
	uint32_t index; /* slot in the heap array; SIM_HEAP_NONE when out */
} sim_heap_node;

#define SIM_HEAP_NONE UINT32_MAX

/* A slot keeps a copy of its node's ordering key, so that sifting compares
 * without touching the nodes themselves (they are scattered in memory). */
typedef struct sim_heap_slot {
	uint64_t key;
	uint64_t seq;
	sim_heap_node *n;
} sim_heap_slot;

typedef struct sim_heap {
	sim_heap_slot *a;
	uint32_t len, cap;
	uint64_t next_seq;
} sim_heap;

/* Initialise an empty heap. Allocates nothing yet. */
void sim_heap_init(sim_heap *h);

/* Free the array. Nodes are the caller's. */
void sim_heap_free(sim_heap *h);

/* Insert n (whose key the caller has set; it must not change while n is
 * in the heap). Returns 0, or -1 if the array
 * could not grow (the heap is unchanged). */
int sim_heap_push(sim_heap *h, sim_heap_node *n);

/* The smallest node, or NULL when empty. */
static inline sim_heap_node *sim_heap_peek(const sim_heap *h)
{
	return h->len ? h->a[0].n : NULL;
}

/* Remove and return the smallest node, or NULL when empty. */
sim_heap_node *sim_heap_pop(sim_heap *h);

/* Replace the smallest node with n (whose key the caller has set) in one
 * sift: cheaper than a pop and a push. The old top is out of the heap
 * afterwards. h must not be empty. Returns 0 (it never allocates). */
int sim_heap_replace_top(sim_heap *h, sim_heap_node *n);

/* Remove n, which must be in h. */
void sim_heap_remove(sim_heap *h, sim_heap_node *n);

static inline int sim_heap_contains(const sim_heap_node *n)
{
	return n->index != SIM_HEAP_NONE;
}

#endif
