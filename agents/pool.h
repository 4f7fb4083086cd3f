/*
 * pool.h - a pool of fixed-size records addressed by generation-checked tags.
 *
 * Agents keep their requests in flight here. A record's tag (index plus
 * generation) travels in messages and timers; when the record is freed its
 * generation changes, so a late answer or a stale timer finds nothing
 * instead of someone else's request. Records live in chunks that never move,
 * so a pointer stays valid until the record is freed. Freed records are
 * reused: memory follows the requests in flight, not the requests run.
 */
#ifndef POOL_H
#define POOL_H

#include <stddef.h>
#include <stdint.h>

#define POOL_CHUNK_BITS 10
#define POOL_CHUNK (1u << POOL_CHUNK_BITS)
#define POOL_NONE UINT32_MAX

/* Every record starts with this header. */
typedef struct pool_hdr {
	uint32_t gen;   /* odd while in use, even while free */
	uint32_t next;  /* free list link */
} pool_hdr;

typedef struct pool {
	uint32_t esize;     /* record size in bytes, header included */
	uint32_t n;         /* records ever created */
	uint32_t live;      /* records in use */
	uint32_t free_head;
	uint32_t nchunks;
	char **chunks;
} pool;

/* An empty pool of records of esize bytes (>= sizeof(pool_hdr)). */
void pool_init(pool *p, uint32_t esize);
/* Free all memory; records still in use are dropped. */
void pool_destroy(pool *p);

static inline void *pool_at(const pool *p, uint32_t i)
{
	return p->chunks[i >> POOL_CHUNK_BITS] +
	       (size_t)(i & (POOL_CHUNK - 1)) * p->esize;
}

/* Take a record, zeroed past its header. Returns its index and sets *out,
 * or POOL_NONE when out of memory (pool unchanged). */
uint32_t pool_alloc(pool *p, void **out);

/* Give record i back. Its tag goes stale. */
void pool_free(pool *p, uint32_t i);

/* Give back every live record. Their tags go stale, and stay stale: the
 * generations go on, so no old tag can name a future record. */
void pool_free_all(pool *p);

/* The tag of live record i. Never 0. */
static inline uint64_t pool_tag(const pool *p, uint32_t i)
{
	const pool_hdr *h = (const pool_hdr *)pool_at(p, i);
	return ((uint64_t)h->gen << 32) | i;
}

/* The live record a tag names, or NULL when it has been freed since. */
static inline void *pool_lookup(const pool *p, uint64_t tag, uint32_t *index)
{
	uint32_t i = (uint32_t)tag;
	if (i >= p->n)
		return NULL;
	pool_hdr *h = (pool_hdr *)pool_at(p, i);
	if (h->gen != (uint32_t)(tag >> 32) || !(h->gen & 1))
		return NULL;
	if (index)
		*index = i;
	return h;
}

#endif
