/* Histograms: every reported quantile within 1% of the exact one. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "dist.h"
#include "hist.h"
#include "suites.h"

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

START_TEST(test_buckets_cover_and_are_narrow)
{
	/* Buckets tile the range with no gap, and each is at most 1/128 of
	 * its lowest value wide. */
	for (uint32_t i = 1; i < HIST_BUCKETS; i++) {
		ck_assert_uint_eq(hist_bucket_low(i), hist_bucket_high(i - 1) + 1);
		uint64_t lo = hist_bucket_low(i), hi = hist_bucket_high(i);
		if (i < HIST_BUCKETS - 1 && lo >= HIST_LINEAR)
			ck_assert_uint_le(hi - lo + 1, lo / 128);
		ck_assert_uint_eq(hist_index(lo), i);
		if (i < HIST_BUCKETS - 1)
			ck_assert_uint_eq(hist_index(hi), i);
	}
	ck_assert_uint_eq(hist_index(UINT64_MAX), HIST_BUCKETS - 1);
}
END_TEST

START_TEST(test_quantiles_within_one_percent)
{
	enum { N = 200000 };
	hist *h = malloc(sizeof *h);
	hist_init(h);
	uint64_t *v = malloc(N * sizeof *v);
	dist d;
	dist_lognormal(&d, 3 * MESH_MS, 80 * MESH_MS);
	rng r;
	rng_seed(&r, 17);
	for (int i = 0; i < N; i++) {
		v[i] = dist_sample(&d, &r);
		hist_add(h, v[i]);
	}
	qsort(v, N, sizeof *v, cmp_u64);
	const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99, 0.999, 0.9999};
	for (size_t k = 0; k < sizeof qs / sizeof qs[0]; k++) {
		size_t rank = (size_t)ceil(qs[k] * N);
		double exact = (double)v[rank - 1];
		double got = (double)hist_quantile(h, qs[k]);
		ck_assert_msg(fabs(got - exact) <= 0.01 * exact,
			      "q=%g: histogram %g, exact %g", qs[k], got, exact);
	}
	ck_assert_uint_eq(hist_quantile(h, 1.0), v[N - 1]);
	ck_assert_uint_eq(hist_quantile(h, 0.0), v[0]);
	ck_assert_uint_eq(h->count, N);
	free(v);
	free(h);
}
END_TEST

START_TEST(test_small_values_exact)
{
	hist *h = malloc(sizeof *h);
	hist_init(h);
	for (uint64_t x = 1; x <= 100; x++)
		hist_add(h, x);
	ck_assert_uint_eq(hist_quantile(h, 0.5), 50);
	ck_assert_uint_eq(hist_quantile(h, 0.99), 99);
	ck_assert_double_eq_tol(hist_mean(h), 50.5, 1e-9);
	free(h);
}
END_TEST

START_TEST(test_merge_and_reset)
{
	hist *a = malloc(sizeof *a), *b = malloc(sizeof *b);
	hist_init(a);
	hist_init(b);
	for (uint64_t x = 0; x < 1000; x++) {
		hist_add(a, x * 1000);
		hist_add(b, 1000000 + x * 1000);
	}
	hist_merge(a, b);
	ck_assert_uint_eq(a->count, 2000);
	ck_assert_uint_eq(a->max, 1000000 + 999 * 1000);
	ck_assert_uint_eq(a->min, 0);
	uint64_t med = hist_quantile(a, 0.5);
	ck_assert(fabs((double)med - 999000.0) <= 0.01 * 999000.0);
	hist_reset(a);
	ck_assert_uint_eq(a->count, 0);
	ck_assert_uint_eq(hist_quantile(a, 0.5), 0);
	for (uint32_t i = 0; i < HIST_BUCKETS; i++)
		ck_assert_uint_eq(a->b[i], 0);
	free(a);
	free(b);
}
END_TEST

Suite *hist_suite(void)
{
	Suite *s = suite_create("hist");
	TCase *tc = tcase_create("hist");
	tcase_add_test(tc, test_buckets_cover_and_are_narrow);
	tcase_add_test(tc, test_quantiles_within_one_percent);
	tcase_add_test(tc, test_small_values_exact);
	tcase_add_test(tc, test_merge_and_reset);
	suite_add_tcase(s, tc);
	return s;
}
