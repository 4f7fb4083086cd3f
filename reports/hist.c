#include "hist.h"

#include <string.h>

void hist_init(hist *h)
{
	memset(h, 0, sizeof *h);
	h->min = UINT64_MAX;
	h->lo = HIST_BUCKETS;
	h->hi = 0;
}

void hist_reset(hist *h)
{
	if (h->count)
		memset(&h->b[h->lo], 0, (h->hi - h->lo + 1) * sizeof h->b[0]);
	h->count = 0;
	h->min = UINT64_MAX;
	h->max = 0;
	h->sum = 0;
	h->lo = HIST_BUCKETS;
	h->hi = 0;
}

uint32_t hist_index(uint64_t v)
{
	if (v < HIST_LINEAR)
		return (uint32_t)v;
	int e = 63 - __builtin_clzll(v); /* 8 .. 63 */
	if (e > HIST_MAX_EXP)
		return HIST_BUCKETS - 1;
	uint32_t sub = (uint32_t)(v >> (e - HIST_SUB_BITS)) - HIST_SUB;
	return HIST_LINEAR + (uint32_t)(e - HIST_SUB_BITS - 1) * HIST_SUB + sub;
}

uint64_t hist_bucket_low(uint32_t i)
{
	if (i < HIST_LINEAR)
		return i;
	uint32_t k = i - HIST_LINEAR;
	int e = (int)(k / HIST_SUB) + HIST_SUB_BITS + 1;
	uint64_t sub = k % HIST_SUB;
	return (HIST_SUB + sub) << (e - HIST_SUB_BITS);
}

uint64_t hist_bucket_high(uint32_t i)
{
	if (i < HIST_LINEAR)
		return i;
	if (i == HIST_BUCKETS - 1)
		return UINT64_MAX;
	return hist_bucket_low(i + 1) - 1;
}

void hist_merge(hist *dst, const hist *src)
{
	if (!src->count)
		return;
	for (uint32_t i = src->lo; i <= src->hi; i++)
		dst->b[i] += src->b[i];
	dst->count += src->count;
	dst->sum += src->sum;
	if (src->min < dst->min)
		dst->min = src->min;
	if (src->max > dst->max)
		dst->max = src->max;
	if (src->lo < dst->lo)
		dst->lo = src->lo;
	if (src->hi > dst->hi)
		dst->hi = src->hi;
}

uint64_t hist_quantile(const hist *h, double q)
{
	if (!h->count)
		return 0;
	if (q <= 0.0)
		return h->min;
	if (q >= 1.0)
		return h->max;
	/* The rank of the q-quantile among count values, 1-based. */
	uint64_t rank = (uint64_t)(q * (double)h->count);
	if ((double)rank < q * (double)h->count)
		rank++;
	if (rank < 1)
		rank = 1;
	uint64_t seen = 0;
	for (uint32_t i = h->lo; i <= h->hi; i++) {
		seen += h->b[i];
		if (seen >= rank) {
			uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
			if (hi == UINT64_MAX)
				return h->max;
			uint64_t v = lo + (hi - lo) / 2;
			if (v < h->min)
				v = h->min;
			if (v > h->max)
				v = h->max;
			return v;
		}
	}
	return h->max;
}

double hist_mean(const hist *h)
{
	return h->count ? h->sum / (double)h->count : 0.0;
}
