/* Random streams: reproducible, independent per entity, uniform. */
#include <check.h>
#include <math.h>

#include "rng.h"
#include "suites.h"

START_TEST(test_reproducible)
{
	rng a, b;
	rng_stream(&a, 42, "service/catalog/0");
	rng_stream(&b, 42, "service/catalog/0");
	for (int i = 0; i < 1000; i++)
		ck_assert_uint_eq(rng_next(&a), rng_next(&b));
}
END_TEST

START_TEST(test_known_splitmix_values)
{
	/* Reference outputs of splitmix64 from state 0 (Vigna's code). */
	uint64_t x = 0;
	ck_assert_uint_eq(rng_splitmix64(&x), 0xe220a8397b1dcdafULL);
	ck_assert_uint_eq(rng_splitmix64(&x), 0x6e789e6aa1b965f4ULL);
	ck_assert_uint_eq(rng_splitmix64(&x), 0x06c45d188009454fULL);
}
END_TEST

START_TEST(test_streams_differ)
{
	/* Other name or other seed: other stream. */
	rng a, b, c;
	rng_stream(&a, 42, "service/catalog/0");
	rng_stream(&b, 42, "service/catalog/1");
	rng_stream(&c, 43, "service/catalog/0");
	int same_ab = 0, same_ac = 0;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = rng_next(&a);
		same_ab += x == rng_next(&b);
		same_ac += x == rng_next(&c);
	}
	ck_assert_int_eq(same_ab, 0);
	ck_assert_int_eq(same_ac, 0);
}
END_TEST

START_TEST(test_streams_uncorrelated)
{
	/* Neighbouring entities' uniforms have correlation near zero:
	 * |r| < 4/sqrt(n) is a 4-sigma bound for independent streams. */
	enum { N = 200000 };
	rng a, b;
	rng_stream(&a, 7, "client/a");
	rng_stream(&b, 7, "client/b");
	double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
	for (int i = 0; i < N; i++) {
		double x = rng_uniform(&a), y = rng_uniform(&b);
		sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y;
	}
	double cov = sxy / N - (sx / N) * (sy / N);
	double r = cov / sqrt((sxx / N - (sx / N) * (sx / N)) *
			      (syy / N - (sy / N) * (sy / N)));
	ck_assert_double_lt(fabs(r), 4.0 / sqrt((double)N));
}
END_TEST

START_TEST(test_uniform_moments_and_range)
{
	enum { N = 1000000 };
	rng r;
	rng_seed(&r, 3);
	double s = 0, s2 = 0;
	long out = 0; /* counted, not asserted per draw: a million asserts is slow */
	for (int i = 0; i < N; i++) {
		double u = rng_uniform(&r);
		out += !(u >= 0.0 && u < 1.0);
		double p = rng_uniform_pos(&r);
		out += !(p > 0.0 && p <= 1.0);
		s += u;
		s2 += u * u;
	}
	ck_assert_int_eq(out, 0);
	double mean = s / N, var = s2 / N - mean * mean;
	ck_assert_double_eq_tol(mean, 0.5, 0.002);
	ck_assert_double_eq_tol(var, 1.0 / 12.0, 0.001);
}
END_TEST

START_TEST(test_below_unbiased)
{
	/* Chi-square over 6 cells: 5 degrees of freedom, 99.99th pct 25.7. */
	enum { N = 600000 };
	rng r;
	rng_seed(&r, 11);
	long cnt[6] = {0};
	for (int i = 0; i < N; i++) {
		uint64_t k = rng_below(&r, 6);
		if (k >= 6)
			ck_abort_msg("rng_below(6) gave %llu", (unsigned long long)k);
		cnt[k]++;
	}
	double chi = 0, e = N / 6.0;
	for (int k = 0; k < 6; k++)
		chi += (cnt[k] - e) * (cnt[k] - e) / e;
	ck_assert_double_lt(chi, 25.7);
}
END_TEST

START_TEST(test_normal_moments)
{
	enum { N = 1000000 };
	rng r;
	rng_seed(&r, 5);
	double s = 0, s2 = 0;
	for (int i = 0; i < N; i++) {
		double z = rng_normal(&r);
		s += z;
		s2 += z * z;
	}
	ck_assert_double_eq_tol(s / N, 0.0, 0.005);
	ck_assert_double_eq_tol(s2 / N, 1.0, 0.005);
}
END_TEST

Suite *rng_suite(void)
{
	Suite *s = suite_create("rng");
	TCase *tc = tcase_create("rng");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_reproducible);
	tcase_add_test(tc, test_known_splitmix_values);
	tcase_add_test(tc, test_streams_differ);
	tcase_add_test(tc, test_streams_uncorrelated);
	tcase_add_test(tc, test_uniform_moments_and_range);
	tcase_add_test(tc, test_below_unbiased);
	tcase_add_test(tc, test_normal_moments);
	suite_add_tcase(s, tc);
	return s;
}
