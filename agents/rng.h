/*
 * rng.h - seeded random streams.
 *
 * One scenario seed is expanded into an independent stream per entity: the
 * stream's state comes from splitmix64 over (seed, a hash of the entity's
 * stable name), so adding a service never reshuffles the draws of another.
 * The generator is xoshiro256** (Blackman and Vigna), small and fast, with
 * good statistical quality. No rand(), no global state.
 */
#ifndef RNG_H
#define RNG_H

#include <stdint.h>

typedef struct rng {
	uint64_t s[4];
	double spare;     /* the second normal of the last polar pair */
	int has_spare;
} rng;

/* One step of splitmix64: advances *x and returns the next output. */
uint64_t rng_splitmix64(uint64_t *x);

/* FNV-1a 64-bit hash of a NUL-terminated string. Used to name streams. */
uint64_t rng_hash(const char *s);

/* Seed r from a 64-bit value (expanded with splitmix64; any value works). */
void rng_seed(rng *r, uint64_t seed);

/* Seed r as the stream of entity `name` under scenario seed `seed`. */
void rng_stream(rng *r, uint64_t seed, const char *name);

/* The next 64 random bits. */
uint64_t rng_next(rng *r);

/* Uniform double in [0, 1), 53 bits of precision. */
double rng_uniform(rng *r);

/* Uniform double in (0, 1]: safe to take log() of. */
double rng_uniform_pos(rng *r);

/* Uniform integer in [0, n), without modulo bias. n > 0. */
uint64_t rng_below(rng *r, uint64_t n);

/* Standard normal N(0, 1), by Marsaglia's polar method (pairs: every
 * other call is free). */
double rng_normal(rng *r);

#endif
