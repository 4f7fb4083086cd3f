#include "pool.h"

#include <assert.h>
#include <stdlib.h>
#include <string.h>

void pool_init(pool *p, uint32_t esize)
{
	assert(esize >= sizeof(pool_hdr));
	memset(p, 0, sizeof *p);
	p->esize = esize;
	p->free_head = POOL_NONE;
}

void pool_destroy(pool *p)
{
	for (uint32_t i = 0; i < p->nchunks; i++)
		free(p->chunks[i]);
	free(p->chunks);
	uint32_t esize = p->esize;
	memset(p, 0, sizeof *p);
	p->esize = esize;
	p->free_head = POOL_NONE;
}

uint32_t pool_alloc(pool *p, void **out)
{
	uint32_t i = p->free_head;
	if (i != POOL_NONE) {
		pool_hdr *h = pool_at(p, i);
		p->free_head = h->next;
	} else {
		if (p->n == POOL_NONE - 1)
			return POOL_NONE;
		if ((p->n >> POOL_CHUNK_BITS) == p->nchunks) {
			char **c = realloc(p->chunks,
					   (p->nchunks + 1) * sizeof *c);
			if (!c)
				return POOL_NONE;
			p->chunks = c;
			c[p->nchunks] = calloc(POOL_CHUNK, p->esize);
			if (!c[p->nchunks])
				return POOL_NONE;
			p->nchunks++;
		}
		i = p->n++;
	}
	pool_hdr *h = pool_at(p, i);
	uint32_t gen = h->gen + 1; /* even (free) -> odd (live) */
	memset(h, 0, p->esize);
	h->gen = gen;
	h->next = POOL_NONE;
	p->live++;
	*out = h;
	return i;
}

void pool_free(pool *p, uint32_t i)
{
	pool_hdr *h = pool_at(p, i);
	assert(h->gen & 1);
	h->gen++;
	h->next = p->free_head;
	p->free_head = i;
	p->live--;
}

void pool_free_all(pool *p)
{
	for (uint32_t i = 0; i < p->n; i++) {
		pool_hdr *h = pool_at(p, i);
		if (h->gen & 1)
			pool_free(p, i);
	}
}
