#include "rng.h"

#include <math.h>

uint64_t rng_splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

uint64_t rng_hash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	return h;
}

void rng_seed(rng *r, uint64_t seed)
{
	uint64_t x = seed;
	for (int i = 0; i < 4; i++)
		r->s[i] = rng_splitmix64(&x);
	/* xoshiro must not start from all zeros; splitmix64 never gives four
	 * zero outputs in a row, but keep the invariant explicit. */
	if (!(r->s[0] | r->s[1] | r->s[2] | r->s[3]))
		r->s[0] = 1;
	r->spare = 0;
	r->has_spare = 0;
}

void rng_stream(rng *r, uint64_t seed, const char *name)
{
	uint64_t x = seed;
	uint64_t a = rng_splitmix64(&x);
	rng_seed(r, a ^ rng_hash(name));
}

static inline uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t rng_next(rng *r)
{
	uint64_t *s = r->s;
	uint64_t result = rotl(s[1] * 5, 7) * 9;
	uint64_t t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return result;
}

double rng_uniform(rng *r)
{
	return (double)(rng_next(r) >> 11) * 0x1.0p-53;
}

double rng_uniform_pos(rng *r)
{
	return ((double)(rng_next(r) >> 11) + 1.0) * 0x1.0p-53;
}

uint64_t rng_below(rng *r, uint64_t n)
{
	/* Lemire's rejection: accept unless the low part falls in the short
	 * range that would bias small results. */
	uint64_t threshold = -n % n;
	for (;;) {
		uint64_t x = rng_next(r);
		if (x >= threshold)
			return x % n;
	}
}

double rng_normal(rng *r)
{
	if (r->has_spare) {
		r->has_spare = 0;
		return r->spare;
	}
	double u, v, q;
	do {
		u = 2.0 * rng_uniform(r) - 1.0;
		v = 2.0 * rng_uniform(r) - 1.0;
		q = u * u + v * v;
	} while (q >= 1.0 || q == 0.0);
	double f = sqrt(-2.0 * log(q) / q);
	r->spare = v * f;
	r->has_spare = 1;
	return u * f;
}
