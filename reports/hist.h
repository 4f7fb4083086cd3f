/*
 * hist.h - log-linear latency histograms.
 *
 * Values are nanoseconds. Below 256 every value has its own bucket; above,
 * each power of two is split into 128 equal buckets, so a bucket is at most
 * 1/128 of its value wide and a reported value (the bucket's midpoint,
 * clamped to the exact min and max) is within 0.4% of the true one: better
 * than the 1% the reports promise. Values at or above 2^48 ns (78 hours)
 * share the last bucket; the exact maximum is kept apart.
 *
 * A histogram is a fixed 43 KB array; it never allocates.
 */
#ifndef HIST_H
#define HIST_H

#include <stdint.h>

#define HIST_SUB_BITS 7
#define HIST_SUB (1u << HIST_SUB_BITS)           /* 128 buckets per octave */
#define HIST_LINEAR (2u * HIST_SUB)              /* values 0..255 exact */
#define HIST_MAX_EXP 47
#define HIST_BUCKETS (HIST_LINEAR + (HIST_MAX_EXP - 7) * HIST_SUB)

typedef struct hist {
	uint64_t count;
	uint64_t min, max;   /* exact; min is UINT64_MAX when empty */
	double sum;          /* for the mean */
	uint32_t lo, hi;     /* range of buckets touched, for a fast reset */
	uint64_t b[HIST_BUCKETS];
} hist;

void hist_init(hist *h);
/* Empty h again (cheap: clears only the buckets used). */
void hist_reset(hist *h);
/* Bucket index of value v. */
uint32_t hist_index(uint64_t v);
/* The smallest and largest values that fall in bucket i. */
uint64_t hist_bucket_low(uint32_t i);
uint64_t hist_bucket_high(uint32_t i);

static inline void hist_add(hist *h, uint64_t v)
{
	uint32_t i = hist_index(v);
	h->b[i]++;
	h->count++;
	h->sum += (double)v;
	if (v < h->min)
		h->min = v;
	if (v > h->max)
		h->max = v;
	if (i < h->lo)
		h->lo = i;
	if (i > h->hi)
		h->hi = i;
}

/* Add all of src into dst. */
void hist_merge(hist *dst, const hist *src);

/* The value at quantile q in [0, 1] (0 gives min, 1 gives max); 0 when
 * empty. */
uint64_t hist_quantile(const hist *h, double q);

/* Mean in ns; 0 when empty. */
double hist_mean(const hist *h);

#endif
