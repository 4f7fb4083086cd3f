/*
 * The simulator against queueing theory. With network and sidecar costs at
 * zero, one instance with c workers, an unbounded queue, Poisson arrivals
 * and a given service-time distribution is an M/G/c queue, whose means are
 * known in closed form. Each test runs at least a million requests and
 * requires the simulated value within 2% of theory. The seeds are fixed, so
 * the results are exact repeats; the sample sizes keep the statistical
 * error well inside 2% (about 0.5% one sigma at these loads).
 */
#include <check.h>
#include <math.h>
#include <stdio.h>

#include "rec.h"
#include "suites.h"
#include "testutil.h"

typedef struct measured {
	uint64_t requests;
	double mean_response_ns;  /* client-observed, exact mean */
	double mean_wait_ns;      /* time in queue, exact mean */
	double p_wait;            /* fraction that had to queue */
} measured;

static measured run_queue(const char *service_time, int workers, double rps,
			  const char *duration)
{
	char json[1024];
	snprintf(json, sizeof json,
		 "{\"name\": \"queue\", \"seed\": 11, \"duration\": \"%s\","
		 " \"drain\": \"60s\","
		 " \"services\": {\"s\": {\"concurrency\": %d,"
		 "   \"latency\": %s}},"
		 " \"load\": [{\"to\": \"s\", \"arrival\": \"poisson\","
		 "   \"rps\": %g}]}",
		 duration, workers, service_time, rps);
	model *m = tu_load(json);
	rec *r = tu_run(m);
	measured x = {0};
	x.requests = r->overall.issued;
	/* Everything must have finished within the drain. */
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], r->overall.issued);
	x.mean_response_ns = hist_mean(&r->overall.lat);
	const rec_instance *ri = rec_inst(r, 0, 0);
	x.mean_wait_ns = hist_mean(&ri->wait);
	x.p_wait = (double)ri->waited / (double)ri->served;
	rec_free(r);
	model_free(m);
	return x;
}

static void assert_within(double got, double want, double tol, const char *what)
{
	ck_assert_msg(fabs(got - want) <= tol * want,
		      "%s: simulated %.6g, theory %.6g (%.2f%% off, allowed %.0f%%)",
		      what, got, want, 100.0 * fabs(got - want) / want, 100 * tol);
}

/* Erlang C: the probability that an arrival waits in M/M/c, offered load a
 * = lambda / mu erlangs. */
static double erlang_c(int c, double a)
{
	double term = 1.0, sum = 0.0;
	for (int k = 0; k < c; k++) {
		sum += term;
		term *= a / (k + 1);
	}
	/* term is now a^c / c! */
	double top = term * c / (c - a);
	return top / (sum + top);
}

START_TEST(test_mm1)
{
	/* lambda = 500/s, mu = 1000/s: rho = 0.5. Mean response time
	 * 1 / (mu - lambda) = 2ms; P(wait) = rho. */
	measured x = run_queue("{\"dist\": \"exponential\", \"mean\": \"1ms\"}",
			       1, 500, "2000s");
	ck_assert_uint_ge(x.requests, 1000000);
	assert_within(x.mean_response_ns, 2e6, 0.02, "M/M/1 mean response");
	assert_within(x.p_wait, 0.5, 0.02, "M/M/1 P(wait)");
}
END_TEST

START_TEST(test_mmc_erlang_c)
{
	/* c = 4, mu = 1000/s each, lambda = 2800/s: rho = 0.7. */
	const int c = 4;
	const double lambda = 2800, mu = 1000, a = lambda / mu;
	double pw = erlang_c(c, a);
	double resp = pw / (c * mu - lambda) + 1.0 / mu; /* seconds */
	measured x = run_queue("{\"dist\": \"exponential\", \"mean\": \"1ms\"}",
			       c, lambda, "400s");
	ck_assert_uint_ge(x.requests, 1000000);
	assert_within(x.p_wait, pw, 0.02, "M/M/4 P(wait) (Erlang C)");
	assert_within(x.mean_response_ns, resp * 1e9, 0.02, "M/M/4 mean response");
}
END_TEST

START_TEST(test_md1_pollaczek_khinchine)
{
	/* Deterministic 1ms service, lambda = 500/s: rho = 0.5. By
	 * Pollaczek-Khinchine, Wq = rho / (2 mu (1 - rho)) = 0.5ms. */
	measured x = run_queue("\"1ms\"", 1, 500, "2000s");
	ck_assert_uint_ge(x.requests, 1000000);
	assert_within(x.mean_wait_ns, 0.5e6, 0.02, "M/D/1 mean wait");
	assert_within(x.mean_response_ns, 1.5e6, 0.02, "M/D/1 mean response");
}
END_TEST

Suite *queueing_suite(void)
{
	Suite *s = suite_create("queueing");
	TCase *tc = tcase_create("queueing");
	tcase_set_timeout(tc, 300);
	tcase_add_test(tc, test_mm1);
	tcase_add_test(tc, test_mmc_erlang_c);
	tcase_add_test(tc, test_md1_pollaczek_khinchine);
	suite_add_tcase(s, tc);
	return s;
}
