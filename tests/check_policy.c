/*
 * Mesh policies and faults, in virtual time: retries against theory, backoff
 * bounds, budget formulas, breaker limits, outlier ejection times, load
 * balancing, weighted and header routing, timeouts, crashes and partitions.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "report.h"
#include "sidecar.h"
#include "sim.h"
#include "suites.h"
#include "testutil.h"

static model_retry envoy_retry(void)
{
	model_policy p = {0};
	model_policy_preset(&p, "envoy");
	return p.retry;
}

START_TEST(test_backoff_within_envoy_bounds)
{
	/* Full jitter over (2^n - 1) * base, capped at max (25ms, 250ms). */
	model_retry r = envoy_retry();
	rng g;
	rng_seed(&g, 3);
	for (uint32_t n = 1; n <= 6; n++) {
		double bound = (double)((1u << n) - 1) * 25e6;
		double cap = bound < 250e6 ? bound : 250e6;
		double sum = 0, hi = 0;
		for (int i = 0; i < 20000; i++) {
			mesh_time t = sidecar_backoff(&r, n, &g);
			ck_assert_uint_le(t, (mesh_time)cap);
			sum += (double)t;
			if ((double)t > hi)
				hi = (double)t;
		}
		/* Uncapped: uniform, mean bound / 2. Capped: it reaches the cap. */
		if (bound <= 250e6)
			ck_assert_double_eq_tol(sum / 20000, bound / 2, bound * 0.02);
		else
			ck_assert_double_eq(hi, 250e6);
	}
}
END_TEST

START_TEST(test_retry_reasons)
{
	model_retry r = envoy_retry();
	r.on = RETRY_GATEWAY_ERROR;
	ck_assert_int_ge(sidecar_retry_reason(&r, 503, 0, 0), 0);
	ck_assert_int_lt(sidecar_retry_reason(&r, 500, 0, 0), 0);
	ck_assert_int_eq(sidecar_retry_reason(&r, 0, 0, 1), REC_RETRY_PER_TRY_TIMEOUT);
	r.on = RETRY_CONNECT_FAILURE;
	ck_assert_int_eq(sidecar_retry_reason(&r, 503, MESH_RF_UF, 0),
			 REC_RETRY_CONNECT_FAILURE);
	ck_assert_int_lt(sidecar_retry_reason(&r, 503, MESH_RF_UR, 0), 0);
	ck_assert_int_lt(sidecar_retry_reason(&r, 503, 0, 0), 0);
	r.on = RETRY_RETRIABLE_STATUS;
	r.statuses[0] = 429;
	r.nstatuses = 1;
	ck_assert_int_eq(sidecar_retry_reason(&r, 429, 0, 0), REC_RETRY_STATUS);
	ck_assert_int_lt(sidecar_retry_reason(&r, 503, 0, 0), 0);
	r.on = RETRY_5XX;
	ck_assert_int_eq(sidecar_retry_reason(&r, 500, 0, 0), REC_RETRY_5XX);
	ck_assert_int_eq(sidecar_retry_reason(&r, 503, MESH_RF_UR, 0), REC_RETRY_RESET);
	ck_assert_int_lt(sidecar_retry_reason(&r, 404, 0, 0), 0);
}
END_TEST

START_TEST(test_budget_formulas)
{
	model_retry r = envoy_retry();
	/* Envoy: 20% of (active + pending), at least 3. */
	ck_assert_double_eq(sidecar_envoy_budget(&r, 0, 0), 3.0);
	ck_assert_double_eq(sidecar_envoy_budget(&r, 10, 0), 3.0);
	ck_assert_double_eq(sidecar_envoy_budget(&r, 100, 50), 30.0);
	r.budget_percent = 50;
	r.min_concurrency = 1;
	ck_assert_double_eq(sidecar_envoy_budget(&r, 7, 1), 4.0);
	/* Linkerd: 0.2 x requests in the window + 10/s x 10s. */
	model_policy p = {0};
	model_policy_preset(&p, "linkerd");
	ck_assert_double_eq(sidecar_linkerd_budget(&p.retry, 0, 10), 100.0);
	ck_assert_double_eq(sidecar_linkerd_budget(&p.retry, 5000, 10), 1100.0);
}
END_TEST

START_TEST(test_retry_attempts_match_theory)
{
	/* Independent failures with probability p and n retries: mean
	 * attempts (1 - p^(n+1)) / (1 - p), success 1 - p^(n+1). */
	const double p = 0.3;
	const int n = 3;
	model *m = tu_load(
		"{\"duration\": \"100s\", \"services\": {\"s\": {\"replicas\": 4,"
		" \"latency\": \"1ms\", \"errors\": [{\"status\": 503, \"probability\": 0.3}]}},"
		" \"mesh\": {\"s\": {\"retries\": {\"attempts\": 3, \"on\": [\"5xx\"]}}},"
		" \"load\": [{\"to\": \"s\", \"rps\": 2000}]}");
	rec *r = tu_run(m);
	const rec_stats *rt = &r->routes[m->clients[0].route];
	double mean = (double)rt->pol.attempts / (double)rt->issued;
	double want = (1 - pow(p, n + 1)) / (1 - p);
	ck_assert_uint_ge(rt->issued, 190000);
	ck_assert_msg(fabs(mean - want) <= 0.01 * want,
		      "mean attempts %.5f, theory %.5f", mean, want);
	double sr = (double)r->overall.outcomes[MESH_OK] / (double)r->overall.issued;
	ck_assert_double_eq_tol(sr, 1 - pow(p, n + 1), 0.002);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_breaker_max_requests_exact)
{
	/* 50 requests in 0.5s to a service that takes 1s: none ends before
	 * all are sent, so exactly max_requests (10) go through. */
	model *m = tu_load(
		"{\"duration\": \"500ms\", \"services\": {\"s\": {\"latency\": \"1s\"}},"
		" \"mesh\": {\"s\": {\"circuit_breaker\": {\"max_requests\": 10}}},"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 100}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.issued, 50);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], 10);
	ck_assert_uint_eq(r->overall.outcomes[MESH_REJECTED], 40);
	ck_assert_uint_eq(r->services[0].st.pol.overflow[REC_OVERFLOW_REQUESTS], 40);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_breaker_connections_and_pending_exact)
{
	/* 10 connections busy, 5 more wait, the other 35 overflow. */
	model *m = tu_load(
		"{\"duration\": \"500ms\", \"drain\": \"5s\", \"services\": {\"s\": {\"latency\": \"1s\"}},"
		" \"mesh\": {\"s\": {\"circuit_breaker\": {\"max_connections\": 10,"
		"   \"max_pending\": 5}}},"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 100}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], 15);
	ck_assert_uint_eq(r->overall.outcomes[MESH_REJECTED], 35);
	ck_assert_uint_eq(r->services[0].st.pol.overflow[REC_OVERFLOW_PENDING], 35);
	/* The 5 that waited took two service times. */
	ck_assert_uint_ge(r->overall.lat.max, 1500 * MESH_MS);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_ejection_time_grows_and_caps)
{
	/* Instance 0 always fails; one failure ejects it (100% may go);
	 * ejections last base x n, capped at max: 1s, 2s, 3s, 3s. */
	model *m = tu_load(
		"{\"duration\": \"20s\", \"services\": {\"s\": {\"replicas\": 2, \"latency\": \"1ms\"}},"
		" \"mesh\": {\"s\": {\"outlier\": {\"consecutive_5xx\": 1, \"interval\": \"100ms\","
		"   \"base_ejection\": \"1s\", \"max_ejection\": \"3s\", \"max_ejection_percent\": 100}}},"
		" \"faults\": [{\"kind\": \"abort\", \"at\": \"0s\", \"status\": 500,"
		"   \"target\": {\"service\": \"s\", \"instance\": 0}}],"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 200}]}");
	rec *r = tu_run(m);
	/* Pair each ejection with the next return. */
	mesh_time out = 0;
	int k = 0;
	const double want[] = {1, 2, 3, 3, 3};
	for (uint32_t i = 0; i < r->nejections && k < 5; i++) {
		const rec_ejection_event *e = &r->ejections[i];
		ck_assert_uint_eq(e->instance, 0);
		if (e->delta > 0) {
			out = e->t;
		} else {
			double d = (double)(e->t - out) / 1e9;
			ck_assert_msg(d >= want[k] && d < want[k] + 0.11,
				      "ejection %d lasted %.3fs, want %.0fs", k, d, want[k]);
			k++;
		}
	}
	ck_assert_int_eq(k, 5);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_max_ejection_percent_holds_back)
{
	/* Envoy's default 10% of 3 hosts: not even one may be ejected. */
	model *m = tu_load(
		"{\"duration\": \"5s\", \"services\": {\"s\": {\"replicas\": 3}},"
		" \"mesh\": {\"s\": {\"outlier\": {\"consecutive_5xx\": 1}}},"
		" \"faults\": [{\"kind\": \"abort\", \"at\": \"0s\", \"status\": 500,"
		"   \"target\": {\"service\": \"s\", \"instance\": 0}}],"
		" \"load\": [{\"to\": \"s\", \"rps\": 100}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->ejections_total, 0);
	rec_free(r);
	model_free(m);
}
END_TEST

static double share_of_instance0(const char *lb)
{
	char json[1024];
	/* Instance 0 is slowed by 20ms; the other answers in 1ms. */
	snprintf(json, sizeof json,
		 "{\"duration\": \"20s\", \"services\": {\"s\": {\"replicas\": 2, \"latency\": \"1ms\"}},"
		 " \"mesh\": {\"s\": {\"lb\": \"%s\"}},"
		 " \"faults\": [{\"kind\": \"delay\", \"at\": \"0s\", \"delay\": \"20ms\","
		 "   \"target\": {\"service\": \"s\", \"instance\": 0}}],"
		 " \"load\": [{\"to\": \"s\", \"rps\": 400}]}",
		 lb);
	model *m = tu_load(json);
	rec *r = tu_run(m);
	double a = (double)rec_inst(r, 0, 0)->arrived, b = (double)rec_inst(r, 0, 1)->arrived;
	rec_free(r);
	model_free(m);
	return a / (a + b);
}

START_TEST(test_least_request_avoids_the_loaded_host)
{
	double rr = share_of_instance0("round_robin");
	double lr = share_of_instance0("least_request");
	double ewma = share_of_instance0("peak_ewma");
	ck_assert_double_eq_tol(rr, 0.5, 0.01);
	/* The slow host holds more requests at once, so P2C over two hosts
	 * sends it less; peak-EWMA, which sees its latency, less still. */
	ck_assert_double_lt(lr, 0.4);
	ck_assert_double_lt(ewma, lr);
}
END_TEST

START_TEST(test_weighted_split_matches_weights)
{
	model *m = tu_load(
		"{\"duration\": \"100s\", \"services\": {\"s\": {\"versions\": {"
		"   \"v1\": {\"replicas\": 2}, \"v2\": {\"replicas\": 1}}}},"
		" \"mesh\": {\"s\": {\"routes\": [{\"split\": {\"v1\": 90, \"v2\": 10}}]}},"
		" \"load\": [{\"to\": \"s\", \"rps\": 1000}]}");
	rec *r = tu_run(m);
	double v2 = (double)rec_inst(r, 0, 2)->arrived;
	double all = v2 + (double)rec_inst(r, 0, 0)->arrived + (double)rec_inst(r, 0, 1)->arrived;
	/* Binomial: sd = sqrt(0.09 / n); allow 4 sd. */
	double sd = sqrt(0.1 * 0.9 / all);
	ck_assert_msg(fabs(v2 / all - 0.1) <= 4 * sd, "v2 share %.4f, want 0.1 +- %.4f",
		      v2 / all, 4 * sd);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_header_routes_to_version)
{
	/* Tagged users go to v2, everyone else to v1. */
	model *m = tu_load(
		"{\"duration\": \"10s\", \"services\": {\"s\": {\"versions\": {"
		"   \"v1\": {\"replicas\": 2}, \"v2\": {}}}},"
		" \"mesh\": {\"s\": {\"routes\": ["
		"   {\"match\": {\"headers\": {\"x-canary\": {\"exact\": \"yes\"}}}, \"split\": {\"v2\": 1}},"
		"   {\"split\": {\"v1\": 1}}]}},"
		" \"load\": [{\"name\": \"tagged\", \"to\": \"s\", \"rps\": 50, \"headers\": {\"X-Canary\": \"yes\"}},"
		"   {\"name\": \"plain\", \"to\": \"s\", \"rps\": 200}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(rec_inst(r, 0, 2)->arrived, r->clients[0].issued);
	ck_assert_uint_eq(rec_inst(r, 0, 0)->arrived + rec_inst(r, 0, 1)->arrived,
			  r->clients[1].issued);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_route_timeout_spans_retries)
{
	/* Each try takes 100ms; per-try timeout 60ms, 5 retries, but the
	 * route timeout of 150ms ends it all: every request times out at
	 * 150ms (plus nothing: zero-cost hops). */
	model *m = tu_load(
		"{\"duration\": \"2s\", \"services\": {\"s\": {\"replicas\": 3, \"latency\": \"100ms\"}},"
		" \"mesh\": {\"s\": {\"timeout\": \"150ms\", \"retries\": {\"attempts\": 5,"
		"   \"per_try_timeout\": \"60ms\", \"on\": \"5xx\", \"backoff\": {\"base\": \"1ms\"}}}},"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 20}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.outcomes[MESH_TIMEOUT], r->overall.issued);
	ck_assert_uint_eq(r->overall.by_status[504], r->overall.issued);
	ck_assert_uint_eq(r->overall.lat.min, 150 * MESH_MS);
	ck_assert_uint_eq(r->overall.lat.max, 150 * MESH_MS);
	/* Two or three tries fit in 150ms, never six. */
	double amp = rec_amplification(&r->services[0].st);
	ck_assert_double_ge(amp, 2.0);
	ck_assert_double_le(amp, 3.0);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_crash_retries_to_other_host)
{
	/* Instance 0 crashes from 2s to 4s. Without retries about a third
	 * of the requests then fail (connect failure, or reset for those in
	 * flight); with retries on connect-failure and reset to another
	 * host, none does. */
	const char *base =
		"{\"duration\": \"6s\", \"services\": {\"s\": {\"replicas\": 3, \"latency\": \"5ms\"}},"
		" %s \"faults\": [{\"kind\": \"crash\", \"at\": \"2s\", \"for\": \"2s\","
		"   \"target\": {\"service\": \"s\", \"instance\": 0}}],"
		" \"load\": [{\"to\": \"s\", \"rps\": 300}]}";
	char j1[1024], j2[1024];
	snprintf(j1, sizeof j1, base, "");
	snprintf(j2, sizeof j2, base,
		 "\"mesh\": {\"s\": {\"retries\": {\"attempts\": 2, \"other_host\": true, \"on\": [\"connect-failure\", \"reset\"]}}},");
	model *m1 = tu_load(j1), *m2 = tu_load(j2);
	rec *r1 = tu_run(m1), *r2 = tu_run(m2);
	uint64_t f1 = r1->overall.outcomes[MESH_CONNECT_FAIL] + r1->overall.outcomes[MESH_RESET];
	ck_assert_uint_gt(f1, 150);
	ck_assert_uint_eq(r1->overall.outcomes[MESH_OK] + f1, r1->overall.issued);
	ck_assert_uint_eq(r2->overall.outcomes[MESH_OK], r2->overall.issued);
	ck_assert_uint_gt(r2->services[0].st.pol.retries[REC_RETRY_CONNECT_FAILURE], 150);
	ck_assert_uint_eq(rec_inst(r2, 0, 0)->crashes, 1);
	rec_free(r1);
	rec_free(r2);
	model_free(m1);
	model_free(m2);
}
END_TEST

START_TEST(test_partition_and_heal)
{
	/* front calls back; they are cut apart from 2s to 4s. Calls then fail
	 * after back's connect timeout (1s), so front answers 500; after
	 * the heal all is well again. */
	model *m = tu_load(
		"{\"duration\": \"8s\", \"services\": {\"front\": {\"script\": [{\"call\": \"back\"}]},"
		"   \"back\": {\"latency\": \"1ms\"}},"
		" \"mesh\": {\"back\": {\"connect_timeout\": \"1s\"}},"
		" \"faults\": [{\"kind\": \"partition\", \"at\": \"2s\", \"until\": \"4s\","
		"   \"between\": [[\"front\"], [\"back\"]]}],"
		" \"load\": [{\"to\": \"front\", \"arrival\": \"constant\", \"rps\": 100}]}");
	rec *r = tu_run(m);
	const rec_stats *b = &r->services[1].st;
	/* Calls sent during the cut: about 200, all connect failures. */
	ck_assert_uint_ge(b->outcomes[MESH_CONNECT_FAIL], 195);
	ck_assert_uint_le(b->outcomes[MESH_CONNECT_FAIL], 205);
	ck_assert_uint_eq(r->overall.by_status[500], b->outcomes[MESH_CONNECT_FAIL]);
	/* The last seconds are clean. */
	const rec_row *last = &r->overall_series.rows[7];
	ck_assert_uint_eq(last->ok, last->done);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_abort_percent_and_header_match)
{
	/* Abort half of the tagged requests only. */
	model *m = tu_load(
		"{\"duration\": \"20s\", \"services\": {\"s\": {}},"
		" \"faults\": [{\"kind\": \"abort\", \"at\": \"0s\", \"status\": 418, \"percent\": 50,"
		"   \"target\": \"s\", \"match\": {\"headers\": {\"x-test\": {\"exact\": \"1\"}}}}],"
		" \"load\": [{\"name\": \"tagged\", \"to\": \"s\", \"rps\": 500, \"headers\": {\"x-test\": \"1\"}},"
		"   {\"name\": \"plain\", \"to\": \"s\", \"rps\": 500}]}");
	rec *r = tu_run(m);
	double frac = (double)r->clients[0].by_status[418] / (double)r->clients[0].issued;
	ck_assert_double_eq_tol(frac, 0.5, 0.02);
	ck_assert_uint_eq(r->clients[1].by_status[418], 0);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_network_loss_adds_retransmissions)
{
	/* 10% loss on hops into s: about 10% of requests and 10% of answers
	 * pay at least one 200ms retransmission timeout. */
	model *m = tu_load(
		"{\"duration\": \"20s\", \"services\": {\"s\": {}},"
		" \"faults\": [{\"kind\": \"network\", \"at\": \"0s\", \"target\": \"s\", \"loss\": 0.1}],"
		" \"load\": [{\"to\": \"s\", \"rps\": 500}]}");
	rec *r = tu_run(m);
	/* Only the request hop goes into s; its answer goes to the caller. */
	uint64_t slow = 0, n = r->overall.lat.count;
	for (uint32_t i = hist_index(200 * MESH_MS); i < HIST_BUCKETS; i++)
		slow += r->overall.lat.b[i];
	ck_assert_double_eq_tol((double)slow / (double)n, 0.1, 0.01);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_capacity_restored_drains_queue)
{
	/* 4 workers, 10ms each (400/s), 200/s offered. From 2s to 4s three
	 * workers are gone (100/s): a backlog of about 200 builds. When they
	 * come back all four take from the queue at once (net 200/s), so it
	 * is gone within the next second. (Starting only one more worker per
	 * completion would leave it into the 6th second.) */
	model *m = tu_load(
		"{\"duration\": \"8s\", \"services\": {\"s\": {\"concurrency\": 4,"
		" \"latency\": \"10ms\"}},"
		" \"faults\": [{\"kind\": \"capacity\", \"at\": \"2s\", \"until\": \"4s\","
		"   \"target\": \"s\", \"workers_removed\": 3}],"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 200}]}");
	rec *r = tu_run(m);
	ck_assert_uint_gt(rec_inst(r, 0, 0)->max_queue, 150);
	ck_assert_uint_lt(r->overall_series.rows[5].p99, 50 * MESH_MS);
	ck_assert_uint_gt(r->fault_hits[0], 0);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_overlapping_crashes_hold_until_the_last_ends)
{
	model *m = tu_load(
		"{\"duration\": \"7s\", \"services\": {\"s\": {\"replicas\": 2, \"latency\": \"1ms\"}},"
		" \"faults\": [{\"kind\": \"crash\", \"at\": \"1s\", \"until\": \"3s\","
		"   \"target\": {\"service\": \"s\", \"instance\": 0}},"
		"  {\"kind\": \"crash\", \"at\": \"2s\", \"until\": \"5s\","
		"   \"target\": {\"service\": \"s\", \"instance\": 0}}],"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 100}]}");
	rec *r = tu_run(m);
	/* Between 3s and 5s instance 0 is still down: half the requests fail. */
	const rec_row *w = &r->overall_series.rows[4];
	ck_assert_uint_le(w->ok, w->done / 2 + 2);
	ck_assert_uint_eq(rec_inst(r, 0, 0)->crashes, 1);
	/* After 5s it is back. */
	w = &r->overall_series.rows[6];
	ck_assert_uint_eq(w->ok, w->done);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_one_way_partition_lets_answers_back)
{
	/* a calls b; b -> a is cut one way. a's calls to b still work: only
	 * connections b would open to a are cut. */
	model *m = tu_load(
		"{\"duration\": \"4s\", \"services\": {\"a\": {\"script\": [{\"call\": \"b\"}]},"
		"   \"b\": {\"latency\": \"1ms\"}},"
		" \"faults\": [{\"kind\": \"partition\", \"at\": \"0s\", \"between\": [[\"b\"], [\"a\"]],"
		"   \"direction\": \"one-way\"}],"
		" \"load\": [{\"to\": \"a\", \"rps\": 100}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], r->overall.issued);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_blackhole_goes_through_tries)
{
	/* A caller-side blackhole: each try times out after 20ms, is retried
	 * twice, and the request ends as a timeout at 60ms plus backoff. */
	model *m = tu_load(
		"{\"duration\": \"2s\", \"services\": {\"s\": {\"replicas\": 2}},"
		" \"mesh\": {\"s\": {\"retries\": {\"attempts\": 2, \"per_try_timeout\": \"20ms\","
		"   \"on\": \"5xx\", \"backoff\": {\"base\": \"1ms\"}}}},"
		" \"faults\": [{\"kind\": \"blackhole\", \"at\": \"0s\", \"target\": \"s\"}],"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 50}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.outcomes[MESH_TIMEOUT], r->overall.issued);
	ck_assert_uint_eq(r->services[0].st.pol.per_try_timeouts, 3 * r->overall.issued);
	ck_assert_uint_ge(r->overall.lat.min, 60 * MESH_MS);
	ck_assert_uint_lt(r->overall.lat.max, 70 * MESH_MS);
	/* The instances never saw a request. */
	ck_assert_uint_eq(rec_inst(r, 0, 0)->arrived + rec_inst(r, 0, 1)->arrived, 0);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_delay_then_abort)
{
	/* Envoy's fault filter delays first, then aborts. */
	model *m = tu_load(
		"{\"duration\": \"1s\", \"services\": {\"s\": {}},"
		" \"faults\": [{\"kind\": \"abort\", \"at\": \"0s\", \"status\": 503, \"target\": \"s\"},"
		"  {\"kind\": \"delay\", \"at\": \"0s\", \"delay\": \"30ms\", \"target\": \"s\"}],"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 20}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.by_status[503], r->overall.issued);
	ck_assert_uint_eq(r->overall.lat.min, 30 * MESH_MS);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_closed_loop_refused_users_come_back)
{
	/* 10 users, at most 5 in flight: the refused ones think and retry,
	 * so all 10 keep issuing. */
	model *m = tu_load(
		"{\"duration\": \"10s\", \"services\": {\"s\": {\"latency\": \"50ms\"}},"
		" \"load\": [{\"to\": \"s\", \"users\": 10, \"think\": \"50ms\", \"max_in_flight\": 5}]}");
	rec *r = tu_run(m);
	/* Had the refused users given up, 5 users would cycle every 100ms
	 * (500 successes, 5 rejections). Coming back, they fill free slots
	 * sooner and are refused often. */
	ck_assert_uint_ge(r->overall.outcomes[MESH_OK], 600);
	ck_assert_uint_ge(r->overall.outcomes[MESH_REJECTED], 300);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_gateway_error_retries_connect_failures)
{
	model_retry r = envoy_retry();
	r.on = RETRY_GATEWAY_ERROR;
	ck_assert_int_eq(sidecar_retry_reason(&r, 503, MESH_RF_UF, 0), REC_RETRY_CONNECT_FAILURE);
	r.on = RETRY_RESET;
	ck_assert_int_eq(sidecar_retry_reason(&r, 503, MESH_RF_UF, 0), REC_RETRY_CONNECT_FAILURE);
	/* A crashed app's 503 (UR from its sidecar) under Istio's default
	 * retriable-status-codes 503. */
	r.on = RETRY_RETRIABLE_STATUS;
	r.statuses[0] = 503;
	r.nstatuses = 1;
	ck_assert_int_eq(sidecar_retry_reason(&r, 503, MESH_RF_UR, 0), REC_RETRY_STATUS);
	/* Never an overload 503 on 5xx grounds. */
	r.on = RETRY_5XX;
	ck_assert_int_lt(sidecar_retry_reason(&r, 503, MESH_RF_UO, 0), 0);
}
END_TEST

Suite *policy_suite(void)
{
	Suite *s = suite_create("policy");
	TCase *tc = tcase_create("policy");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_backoff_within_envoy_bounds);
	tcase_add_test(tc, test_retry_reasons);
	tcase_add_test(tc, test_budget_formulas);
	tcase_add_test(tc, test_retry_attempts_match_theory);
	tcase_add_test(tc, test_breaker_max_requests_exact);
	tcase_add_test(tc, test_breaker_connections_and_pending_exact);
	tcase_add_test(tc, test_ejection_time_grows_and_caps);
	tcase_add_test(tc, test_max_ejection_percent_holds_back);
	tcase_add_test(tc, test_least_request_avoids_the_loaded_host);
	tcase_add_test(tc, test_weighted_split_matches_weights);
	tcase_add_test(tc, test_header_routes_to_version);
	tcase_add_test(tc, test_route_timeout_spans_retries);
	tcase_add_test(tc, test_crash_retries_to_other_host);
	tcase_add_test(tc, test_partition_and_heal);
	tcase_add_test(tc, test_abort_percent_and_header_match);
	tcase_add_test(tc, test_network_loss_adds_retransmissions);
	tcase_add_test(tc, test_capacity_restored_drains_queue);
	tcase_add_test(tc, test_overlapping_crashes_hold_until_the_last_ends);
	tcase_add_test(tc, test_one_way_partition_lets_answers_back);
	tcase_add_test(tc, test_blackhole_goes_through_tries);
	tcase_add_test(tc, test_delay_then_abort);
	tcase_add_test(tc, test_closed_loop_refused_users_come_back);
	tcase_add_test(tc, test_gateway_error_retries_connect_failures);
	suite_add_tcase(s, tc);
	return s;
}
