/*
 * The simulator end to end, in virtual time: exact hop accounting, request
 * conservation, timeouts, queue overflow, closed and open loops, fan-out,
 * independence of random streams, and memory that follows requests in
 * flight rather than requests run.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "report.h"
#include "sim.h"
#include "suites.h"
#include "testutil.h"

/* Every client and the overall total: outcomes plus in-flight equal
 * requests issued, and the agents hold exactly the in-flight ones. */
static void assert_conserved(const model *m, const rec *r)
{
	const rec_stats *all[65];
	uint32_t n = 0;
	all[n++] = &r->overall;
	for (uint32_t i = 0; i < m->nclients && n < 65; i++)
		all[n++] = &r->clients[i];
	for (uint32_t k = 0; k < n; k++) {
		const rec_stats *s = all[k];
		uint64_t sum = 0;
		for (int o = 0; o < MESH_OUTCOME_COUNT; o++)
			sum += s->outcomes[o];
		ck_assert_uint_le(sum, s->issued);
		ck_assert_uint_eq(s->live_at_end, s->issued - sum);
	}
}

START_TEST(test_hop_costs_exact)
{
	/* One call crosses two sidecars each way. All costs are constants,
	 * so the latency is exact. */
	model *m = tu_load(
		"{\"duration\": \"1s\", \"network\": {\"latency\": \"1ms\","
		" \"local_latency\": \"100us\"}, \"sidecar\": {\"latency\": \"200us\"},"
		" \"services\": {\"a\": {\"latency\": \"0\"}},"
		" \"load\": [{\"to\": \"a\", \"arrival\": \"constant\", \"rps\": 10}]}");
	rec *r = tu_run(m);
	/* Request: client->sc local .1, sc .2 + net 1, sc .2 + local .1 to
	 * the app; the response retraces it: 2 x 1.6ms = 3.2ms. */
	ck_assert_uint_eq(r->overall.issued, 10);
	ck_assert_uint_eq(r->overall.lat.min, 3200 * MESH_US);
	ck_assert_uint_eq(r->overall.lat.max, 3200 * MESH_US);
	/* The route is measured at the caller's sidecar, from the request
	 * it got to the response it got: the whole minus the two local hops
	 * and the client sidecar's pass on the way back. */
	ck_assert_uint_eq(r->routes[0].lat.max, 2800 * MESH_US);
	assert_conserved(m, r);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_sequential_vs_parallel_calls)
{
	/* a calls b (10ms) and c (30ms): in sequence 40ms, in parallel the
	 * slower one, 30ms. */
	model *m = tu_load(
		"{\"duration\": \"1s\", \"services\": {"
		" \"seq\": {\"script\": [{\"call\": \"b\"}, {\"call\": \"c\"}]},"
		" \"par\": {\"script\": [{\"parallel\": [\"b\", \"c\"]}]},"
		" \"b\": {\"latency\": \"10ms\"}, \"c\": {\"latency\": \"30ms\"}},"
		" \"load\": [{\"name\": \"s\", \"to\": \"seq\", \"arrival\": \"constant\", \"rps\": 5},"
		"  {\"name\": \"p\", \"to\": \"par\", \"arrival\": \"constant\", \"rps\": 5}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->clients[0].lat.max, 40 * MESH_MS);
	ck_assert_uint_eq(r->clients[0].lat.min, 40 * MESH_MS);
	ck_assert_uint_eq(r->clients[1].lat.max, 30 * MESH_MS);
	/* b and c each got one call per request of each client. */
	ck_assert_uint_eq(r->services[2].st.issued, 10);
	ck_assert_uint_eq(r->services[3].st.issued, 10);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_failed_call_fails_caller)
{
	model *m = tu_load(
		"{\"duration\": \"1s\", \"services\": {"
		" \"front\": {\"script\": [{\"call\": \"back\"}, {\"work\": \"5ms\"}]},"
		" \"back\": {\"errors\": [{\"status\": 502, \"probability\": 1}]}},"
		" \"load\": [{\"to\": \"front\", \"arrival\": \"constant\", \"rps\": 20}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.issued, 20);
	ck_assert_uint_eq(r->overall.outcomes[MESH_HTTP_ERROR], 20);
	ck_assert_uint_eq(r->overall.by_status[500], 20);
	ck_assert_uint_eq(r->services[1].st.by_status[502], 20);
	/* The script stopped at the failed call: no 5ms of work. */
	ck_assert_uint_eq(r->overall.lat.max, 0);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_timeouts_and_late_answers)
{
	/* Service takes 500ms; the client gives up at 100ms. Every request
	 * times out at exactly 100ms and the late answers are dropped. */
	model *m = tu_load(
		"{\"duration\": \"2s\", \"drain\": \"1s\","
		" \"services\": {\"slow\": {\"latency\": \"500ms\"}},"
		" \"load\": [{\"to\": \"slow\", \"arrival\": \"constant\", \"rps\": 50,"
		"  \"timeout\": \"100ms\"}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.issued, 100);
	ck_assert_uint_eq(r->overall.outcomes[MESH_TIMEOUT], 100);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], 0);
	ck_assert_uint_eq(r->overall.lat.min, 100 * MESH_MS);
	ck_assert_uint_eq(r->overall.lat.max, 100 * MESH_MS);
	/* The client hung up, so its sidecar gave up too (a timeout for
	 * the route), but the instance still did the work and answered 200. */
	ck_assert_uint_eq(r->services[0].st.outcomes[MESH_TIMEOUT], 100);
	ck_assert_uint_eq(rec_inst(r, 0, 0)->by_status[200], 100);
	assert_conserved(m, r);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_queue_full_503)
{
	/* One worker, two waiting places, 10ms of work, a request every 2ms:
	 * the instance can hold 3 at a time and answers the rest 503. */
	model *m = tu_load(
		"{\"duration\": \"1s\", \"services\": {\"s\": {\"concurrency\": 1,"
		" \"queue\": 2, \"latency\": \"10ms\"}},"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 500}]}");
	rec *r = tu_run(m);
	const rec_instance *ri = rec_inst(r, 0, 0);
	ck_assert_uint_eq(r->overall.issued, 500);
	ck_assert_uint_eq(ri->arrived, 500);
	ck_assert_uint_eq(ri->served + ri->queue_full, 500);
	ck_assert_uint_eq(ri->max_queue, 2);
	/* It serves one per 10ms: about 100 in the second, plus the queue. */
	ck_assert_uint_ge(ri->served, 100);
	ck_assert_uint_le(ri->served, 103);
	ck_assert_uint_eq(r->overall.by_status[503], ri->queue_full);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], ri->served);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_conservation_with_everything)
{
	/* Errors, timeouts, rejections and requests still in flight at the
	 * end (a 10s service time with no drain): all accounted for. */
	model *m = tu_load(
		"{\"duration\": \"3s\", \"drain\": \"0s\","
		" \"network\": {\"latency\": {\"dist\": \"exponential\", \"mean\": \"1ms\"}},"
		" \"services\": {"
		"  \"a\": {\"concurrency\": 2, \"queue\": 3, \"script\": [{\"call\": \"b\"}],"
		"        \"errors\": [{\"status\": 500, \"probability\": 0.1}]},"
		"  \"b\": {\"latency\": {\"dist\": \"empirical\", \"p0\": \"1ms\","
		"        \"p90\": \"5ms\", \"p99\": \"2s\", \"p100\": \"10s\"}}},"
		" \"load\": ["
		"  {\"name\": \"x\", \"to\": \"a\", \"rps\": 300, \"timeout\": \"50ms\"},"
		"  {\"name\": \"y\", \"to\": \"a\", \"rps\": 200, \"max_in_flight\": 3},"
		"  {\"name\": \"z\", \"to\": \"b\", \"users\": 7, \"think\": \"1ms\"}]}");
	rec *r = tu_run(m);
	const rec_stats *o = &r->overall;
	ck_assert_uint_gt(o->outcomes[MESH_OK], 0);
	ck_assert_uint_gt(o->outcomes[MESH_HTTP_ERROR], 0);
	ck_assert_uint_gt(o->outcomes[MESH_TIMEOUT], 0);
	ck_assert_uint_gt(o->outcomes[MESH_REJECTED], 0);
	ck_assert_uint_gt(rec_in_flight(o), 0);
	assert_conserved(m, r);
	/* Closed loop: never more than its users in flight. */
	ck_assert_uint_le(rec_in_flight(&r->clients[2]), 7);
	/* The report says so too. */
	report_verdict v[1];
	char *json = report_json_string(m, r, m->seed, "sim", v);
	ck_assert_ptr_nonnull(strstr(json, "\"accounted\": true"));
	ck_assert_ptr_null(strstr(json, "\"accounted\": false"));
	free(json);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_closed_loop_rate)
{
	/* 10 users, 10ms of service, 90ms of thinking: each user completes
	 * one request per 100ms, so 100 per second. */
	model *m = tu_load(
		"{\"duration\": \"10s\", \"services\": {\"s\": {\"latency\": \"10ms\"}},"
		" \"load\": [{\"to\": \"s\", \"users\": 10, \"think\": \"90ms\"}]}");
	rec *r = tu_run(m);
	ck_assert_uint_ge(r->overall.issued, 990);
	ck_assert_uint_le(r->overall.issued, 1000);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], r->overall.issued);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_open_loop_phases_exact)
{
	/* Constant arrivals: 100/s for 5s, nothing for 5s, 200/s for 5s. */
	model *m = tu_load(
		"{\"duration\": \"15s\", \"services\": {\"s\": {\"latency\": \"1ms\"}},"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": ["
		"  {\"at\": \"0s\", \"value\": 100}, {\"at\": \"5s\", \"value\": 0},"
		"  {\"at\": \"10s\", \"value\": 200}]}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.issued, 500 + 1000);
	const rec_series *s = &r->client_series[0];
	ck_assert_uint_ge(s->nrows, 15);
	ck_assert_uint_eq(s->rows[0].issued, 100);
	ck_assert_uint_eq(s->rows[4].issued, 100);
	ck_assert_uint_eq(s->rows[7].issued, 0);
	ck_assert_uint_eq(s->rows[12].issued, 200);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_poisson_rate)
{
	/* Poisson at 2000/s for 100s: 200000 expected, sd 447. */
	model *m = tu_load(
		"{\"duration\": \"100s\", \"services\": {\"s\": {}},"
		" \"load\": [{\"to\": \"s\", \"rps\": 2000}]}");
	rec *r = tu_run(m);
	ck_assert_uint_ge(r->overall.issued, 200000 - 2000);
	ck_assert_uint_le(r->overall.issued, 200000 + 2000);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_round_robin_spreads_evenly)
{
	model *m = tu_load(
		"{\"duration\": \"10s\", \"services\": {\"s\": {\"replicas\": 4}},"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 100}]}");
	rec *r = tu_run(m);
	for (uint32_t i = 0; i < 4; i++)
		ck_assert_uint_eq(rec_inst(r, 0, i)->arrived, 250);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_streams_independent_of_other_entities)
{
	/* Adding a service and a client that the first client never touches
	 * changes nothing the first client sees. */
	const char *base =
		"{\"duration\": \"5s\", \"network\": {\"latency\": {\"dist\":"
		" \"exponential\", \"mean\": \"1ms\"}},"
		" \"services\": {%s\"a\": {\"replicas\": 3, \"latency\": {\"dist\":"
		" \"exponential\", \"mean\": \"5ms\"}}},"
		" \"load\": [%s{\"name\": \"main\", \"to\": \"a\", \"rps\": 400}]}";
	char j1[1024], j2[1024];
	snprintf(j1, sizeof j1, base, "", "");
	snprintf(j2, sizeof j2, base,
		 "\"other\": {\"latency\": \"3ms\"}, ",
		 "{\"name\": \"noise\", \"to\": \"other\", \"rps\": 900}, ");
	model *m1 = tu_load(j1), *m2 = tu_load(j2);
	rec *r1 = tu_run(m1), *r2 = tu_run(m2);
	const rec_stats *a = &r1->clients[0], *b = &r2->clients[1];
	ck_assert_uint_eq(a->issued, b->issued);
	ck_assert_uint_eq(a->lat.count, b->lat.count);
	ck_assert_double_eq(a->lat.sum, b->lat.sum);
	ck_assert_int_eq(memcmp(a->lat.b, b->lat.b, sizeof a->lat.b), 0);
	rec_free(r1);
	rec_free(r2);
	model_free(m1);
	model_free(m2);
}
END_TEST

START_TEST(test_memory_follows_in_flight)
{
	/* A million requests through a sidecar pair; the simulator's event
	 * records and the client's request records stay at the peak number
	 * in flight, a few hundred, not a million. */
	model *m = tu_load(
		"{\"duration\": \"1000s\", \"drain\": \"1s\","
		" \"network\": {\"latency\": \"500us\"},"
		" \"services\": {\"s\": {\"replicas\": 2, \"latency\":"
		" {\"dist\": \"exponential\", \"mean\": \"2ms\"}}},"
		" \"load\": [{\"to\": \"s\", \"rps\": 1000}]}");
	rec *r = rec_new(m);
	sim *s = sim_new(m, m->seed, r);
	ck_assert_int_eq(sim_run(s), 0);
	ck_assert_uint_ge(r->overall.issued, 990000);
	ck_assert_uint_lt(sim_event_slots(s), 20000);
	sim_free(s);
	rec_free(r);
	model_free(m);
}
END_TEST

Suite *sim_suite(void)
{
	Suite *s = suite_create("sim");
	TCase *tc = tcase_create("sim");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_hop_costs_exact);
	tcase_add_test(tc, test_sequential_vs_parallel_calls);
	tcase_add_test(tc, test_failed_call_fails_caller);
	tcase_add_test(tc, test_timeouts_and_late_answers);
	tcase_add_test(tc, test_queue_full_503);
	tcase_add_test(tc, test_conservation_with_everything);
	tcase_add_test(tc, test_closed_loop_rate);
	tcase_add_test(tc, test_open_loop_phases_exact);
	tcase_add_test(tc, test_poisson_rate);
	tcase_add_test(tc, test_round_robin_spreads_evenly);
	tcase_add_test(tc, test_streams_independent_of_other_entities);
	tcase_add_test(tc, test_memory_follows_in_flight);
	suite_add_tcase(s, tc);
	return s;
}
