/* Distributions: each one's moments and quantiles against theory. */
#include <check.h>
#include <math.h>
#include <stdlib.h>

#include "dist.h"
#include "suites.h"

enum { N = 1000000 };

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

/* Draw N samples; return them sorted (caller frees), mean and variance. */
static uint64_t *draw(const dist *d, uint64_t seed, double *mean, double *var)
{
	rng r;
	rng_seed(&r, seed);
	uint64_t *v = malloc(N * sizeof *v);
	double s = 0, s2 = 0;
	for (int i = 0; i < N; i++) {
		v[i] = dist_sample(d, &r);
		s += (double)v[i];
		s2 += (double)v[i] * (double)v[i];
	}
	*mean = s / N;
	*var = s2 / N - *mean * *mean;
	qsort(v, N, sizeof *v, cmp_u64);
	return v;
}

static double pct(const uint64_t *v, double q)
{
	return (double)v[(size_t)(q * (N - 1))];
}

START_TEST(test_constant)
{
	dist d;
	dist_constant(&d, 5 * MESH_MS);
	rng r;
	rng_seed(&r, 1);
	for (int i = 0; i < 100; i++)
		ck_assert_uint_eq(dist_sample(&d, &r), 5 * MESH_MS);
	ck_assert_double_eq(dist_mean(&d), 5e6);
	dist_constant(&d, 0);
	ck_assert(dist_is_zero(&d));
}
END_TEST

START_TEST(test_uniform)
{
	dist d;
	dist_uniform(&d, 1 * MESH_MS, 3 * MESH_MS);
	double m, v;
	uint64_t *s = draw(&d, 2, &m, &v);
	ck_assert_uint_ge(s[0], 1 * MESH_MS);
	ck_assert_uint_le(s[N - 1], 3 * MESH_MS);
	ck_assert_double_eq_tol(m, 2e6, 2e6 * 0.002);
	/* Var of U(a, b) = (b - a)^2 / 12. */
	ck_assert_double_eq_tol(v, 4e12 / 12.0, 4e12 / 12.0 * 0.01);
	ck_assert_double_eq(dist_mean(&d), 2e6);
	free(s);
}
END_TEST

START_TEST(test_exponential)
{
	dist d;
	dist_exponential(&d, 10 * MESH_MS);
	double m, v;
	uint64_t *s = draw(&d, 3, &m, &v);
	ck_assert_double_eq_tol(m, 1e7, 1e7 * 0.005);
	ck_assert_double_eq_tol(sqrt(v), 1e7, 1e7 * 0.01); /* sd = mean */
	/* Median = mean * ln 2. */
	ck_assert_double_eq_tol(pct(s, 0.5), 1e7 * log(2.0), 1e7 * 0.01);
	free(s);
}
END_TEST

START_TEST(test_lognormal_quantiles)
{
	dist d;
	dist_lognormal(&d, 2 * MESH_MS, 20 * MESH_MS);
	double m, v;
	uint64_t *s = draw(&d, 4, &m, &v);
	ck_assert_double_eq_tol(pct(s, 0.50), 2e6, 2e6 * 0.01);
	ck_assert_double_eq_tol(pct(s, 0.99), 2e7, 2e7 * 0.03);
	/* Mean = exp(mu + sigma^2 / 2). */
	ck_assert_double_eq_tol(m, dist_mean(&d), dist_mean(&d) * 0.02);
	free(s);
}
END_TEST

START_TEST(test_empirical_quantiles)
{
	dist d;
	double p[] = {0, 50, 90, 99, 100};
	mesh_time val[] = {1 * MESH_MS, 4 * MESH_MS, 9 * MESH_MS, 25 * MESH_MS,
			   60 * MESH_MS};
	dist_empirical(&d, 5, p, val);
	double m, v;
	uint64_t *s = draw(&d, 5, &m, &v);
	ck_assert_uint_ge(s[0], 1 * MESH_MS);
	ck_assert_uint_le(s[N - 1], 60 * MESH_MS);
	ck_assert_double_eq_tol(pct(s, 0.50), 4e6, 4e6 * 0.01);
	ck_assert_double_eq_tol(pct(s, 0.90), 9e6, 9e6 * 0.01);
	ck_assert_double_eq_tol(pct(s, 0.99), 25e6, 25e6 * 0.02);
	/* Piecewise uniform: 0.5*2.5 + 0.4*6.5 + 0.09*17 + 0.01*42.5 ms. */
	double want = (0.5 * 2.5 + 0.4 * 6.5 + 0.09 * 17 + 0.01 * 42.5) * 1e6;
	ck_assert_double_eq_tol(dist_mean(&d), want, 1.0);
	ck_assert_double_eq_tol(m, want, want * 0.005);
	free(s);
}
END_TEST

START_TEST(test_format_duration)
{
	char b[32];
	mesh_format_duration(250 * MESH_MS, b, sizeof b);
	ck_assert_str_eq(b, "250ms");
	mesh_format_duration(1500 * MESH_MS, b, sizeof b);
	ck_assert_str_eq(b, "1.5s");
	mesh_format_duration(120 * MESH_S, b, sizeof b);
	ck_assert_str_eq(b, "2m");
	mesh_format_duration(7, b, sizeof b);
	ck_assert_str_eq(b, "7ns");
}
END_TEST

Suite *dist_suite(void)
{
	Suite *s = suite_create("dist");
	TCase *tc = tcase_create("dist");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_constant);
	tcase_add_test(tc, test_uniform);
	tcase_add_test(tc, test_exponential);
	tcase_add_test(tc, test_lognormal_quantiles);
	tcase_add_test(tc, test_empirical_quantiles);
	tcase_add_test(tc, test_format_duration);
	suite_add_tcase(s, tc);
	return s;
}
