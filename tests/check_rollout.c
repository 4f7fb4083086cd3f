/*
 * Canary rollouts: the controller against a fake metrics source (Flagger's
 * and Argo's state machines, rollback at interval x threshold, the no-data
 * rule), Prometheus' histogram_quantile and the Wilson interval against
 * hand-worked values, the loader's messages, and whole rollouts in virtual
 * time (weights reaching the sidecars, mirroring, header routing, the
 * blast radius), and the sweep's false-promotion rate for a clearly bad
 * canary, the same whatever the number of workers.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"
#include "report.h"
#include "report_rollout.h"
#include "rollout.h"
#include "scenario.h"
#include "sim.h"
#include "suites.h"
#include "sweep.h"
#include "testutil.h"

/* ---- a fake metrics source for the controller ---- */

typedef struct fake {
	ro_stats canary, baseline;
	double cser[64], bser[64];
	size_t ncser, nbser;
	ro_routes last;
	int routes;
	uint32_t canary_version;
} fake;

static void f_window(void *ctx, uint32_t v, mesh_time from, mesh_time to,
		     ro_stats *out)
{
	fake *f = ctx;
	(void)from;
	(void)to;
	*out = v == f->canary_version ? f->canary : f->baseline;
}

static size_t f_series(void *ctx, uint32_t v, enum ro_metric k, mesh_time step,
		       mesh_time from, mesh_time to, double *out, size_t max)
{
	fake *f = ctx;
	(void)k;
	(void)step;
	(void)from;
	(void)to;
	const double *src = v == f->canary_version ? f->cser : f->bser;
	size_t n = v == f->canary_version ? f->ncser : f->nbser;
	if (n > max)
		n = max;
	memcpy(out, src, n * sizeof *out);
	return n;
}

static void f_route(void *ctx, const ro_routes *r)
{
	fake *f = ctx;
	f->last = *r;
	f->routes++;
}

static ro_stats stats(uint64_t n, double success, double p99)
{
	ro_stats s = {.requests = n, .non5xx = (uint64_t)llround(n * success / 100),
		      .success = n ? success : NAN, .p99_ms = n ? p99 : NAN,
		      .p50_ms = n ? p99 / 4 : NAN};
	return s;
}

/* A Flagger canary: two checks, interval 1m, threshold 3, 10% steps to 30. */
static model_rollout *flagger(void)
{
	model_rollout *r = calloc(1, sizeof *r);
	r->stable = 0;
	r->canary = 1;
	r->baseline = MODEL_NONE;
	r->strategy = RO_CANARY;
	r->start = 30 * MESH_S;
	r->interval = 60 * MESH_S;
	r->threshold = 3;
	r->max_weight = 30;
	r->step_weight = 10;
	r->slo_latency = MESH_NEVER;
	r->analysis.nchecks = 2;
	r->analysis.checks = calloc(2, sizeof(ro_check));
	ro_check *k = r->analysis.checks;
	k[0].name = strdup("request-success-rate");
	k[0].metric = RO_M_SUCCESS;
	k[0].has_min = 1;
	k[0].min = 99;
	k[0].window = 60 * MESH_S;
	k[0].min_requests = ro_check_default_min_requests(&k[0]);
	k[1].name = strdup("request-duration");
	k[1].metric = RO_M_P99;
	k[1].has_max = 1;
	k[1].max = 500;
	k[1].window = 60 * MESH_S;
	k[1].min_requests = ro_check_default_min_requests(&k[1]);
	return r;
}

typedef struct run {
	fake f;
	rollout_log log;
	rollout_ctl *c;
	mesh_time next;
} run;

static void run_init(run *x, const model_rollout *cfg)
{
	/* The caller has set the fake's measurements; keep them. */
	fake f = x->f;
	memset(x, 0, sizeof *x);
	x->f = f;
	x->f.routes = 0;
	x->f.canary_version = cfg->canary;
	rollout_io io = {.ctx = &x->f, .window = f_window, .series = f_series,
			 .route = f_route};
	rollout_log_init(&x->log, cfg);
	x->c = rollout_new(cfg, &io, &x->log);
	ck_assert_ptr_nonnull(x->c);
	x->next = rollout_begin(x->c, cfg->start);
}

/* Tick until decided or `max` ticks. */
static void run_ticks(run *x, int max)
{
	for (int i = 0; i < max && x->next != MESH_NEVER; i++)
		x->next = rollout_tick(x->c, x->next);
}

static void run_free(run *x)
{
	rollout_free(x->c);
	rollout_log_clear(&x->log);
}

START_TEST(test_flagger_promotes_after_max_weight)
{
	model_rollout *cfg = flagger();
	run x = {0};
	x.f.canary = stats(1000, 99.9, 80);
	x.f.baseline = stats(9000, 99.9, 80);
	run_init(&x, cfg);
	/* Tick 0 sets the first step without a check, as Flagger does. */
	ck_assert_double_eq(x.f.last.canary, 10);
	ck_assert_uint_eq(x.next, 90 * MESH_S);
	run_ticks(&x, 100);
	ck_assert_int_eq(x.log.verdict, RO_PROMOTED);
	/* 10 -> 20 -> 30 at two passing checks, promotion at the third:
	 * interval x (maxWeight / stepWeight), Flagger's formula. */
	ck_assert_uint_eq(x.log.decided_at, 30 * MESH_S + 3 * 60 * MESH_S);
	ck_assert_double_eq(x.f.last.canary, 100);
	ck_assert_uint_eq(x.log.nintervals, 3);
	run_free(&x);
	model_rollout_free(cfg);
}
END_TEST

START_TEST(test_flagger_rollback_at_interval_times_threshold)
{
	for (uint32_t threshold = 1; threshold <= 6; threshold++) {
		model_rollout *cfg = flagger();
		cfg->threshold = threshold;
		cfg->interval = 20 * MESH_S;
		run x = {0};
		x.f.canary = stats(1000, 95.0, 80);
		x.f.baseline = stats(9000, 99.9, 80);
		run_init(&x, cfg);
		run_ticks(&x, 100);
		ck_assert_int_eq(x.log.verdict, RO_ROLLED_BACK);
		ck_assert_uint_eq(x.log.decided_at - cfg->start,
				  (mesh_time)threshold * cfg->interval);
		ck_assert_double_eq(x.f.last.canary, 0);
		/* The weight never moved: halted at its first step. */
		for (uint32_t i = 0; i < x.log.nevents; i++)
			ck_assert(x.log.events[i].action != RO_ACT_ADVANCE);
		run_free(&x);
		model_rollout_free(cfg);
	}
}
END_TEST

START_TEST(test_flagger_failed_checks_accumulate)
{
	/* Flagger counts failed checks over the whole analysis; a pass in
	 * between advances but does not reset the count. */
	model_rollout *cfg = flagger();
	cfg->threshold = 2;
	cfg->max_weight = 100;
	run x = {0};
	x.f.baseline = stats(9000, 99.9, 80);
	x.f.canary = stats(1000, 95, 80);
	run_init(&x, cfg);
	x.next = rollout_tick(x.c, x.next); /* fail 1 */
	x.f.canary = stats(1000, 99.9, 80);
	x.next = rollout_tick(x.c, x.next); /* pass: 20 */
	ck_assert_double_eq(x.f.last.canary, 20);
	x.f.canary = stats(1000, 95, 80);
	x.next = rollout_tick(x.c, x.next); /* fail 2: rollback */
	ck_assert_uint_eq(x.next, MESH_NEVER);
	ck_assert_int_eq(x.log.verdict, RO_ROLLED_BACK);
	run_free(&x);
	model_rollout_free(cfg);
}
END_TEST

START_TEST(test_no_data_is_never_a_pass)
{
	/* No requests, and too few: both are "no values found", a failed
	 * check; the canary is never promoted on them. */
	uint64_t counts[] = {0, 1, 50, 99};
	for (size_t i = 0; i < 4; i++) {
		model_rollout *cfg = flagger();
		cfg->threshold = 1000;
		run x = {0};
		x.f.canary = stats(counts[i], 100, 10);
		x.f.baseline = stats(9000, 99.9, 80);
		run_init(&x, cfg);
		run_ticks(&x, 50);
		ck_assert_int_ne(x.log.verdict, RO_PROMOTED);
		ck_assert_double_eq(x.f.last.canary, 10);
		for (uint32_t k = 0; k < x.log.nintervals; k++)
			ck_assert_int_eq(x.log.intervals[k].result, RO_NODATA);
		ck_assert(strstr(x.log.events[1].reason, "no values found") != NULL);
		run_free(&x);
		model_rollout_free(cfg);
	}
	/* At the minimum it is judged. */
	model_rollout *cfg = flagger();
	run x = {0};
	x.f.canary = stats(100, 100, 10);
	x.f.baseline = stats(9000, 99.9, 80);
	run_init(&x, cfg);
	run_ticks(&x, 50);
	ck_assert_int_eq(x.log.verdict, RO_PROMOTED);
	run_free(&x);
	model_rollout_free(cfg);
}
END_TEST

START_TEST(test_default_min_requests)
{
	ro_check k = {.metric = RO_M_SUCCESS, .has_min = 1, .min = 99};
	ck_assert_uint_eq(ro_check_default_min_requests(&k), 100);
	k.min = 95;
	ck_assert_uint_eq(ro_check_default_min_requests(&k), 20);
	k.min = 50;
	ck_assert_uint_eq(ro_check_default_min_requests(&k), 10);
	k.min = 99.9;
	ck_assert_uint_eq(ro_check_default_min_requests(&k), 1000);
	ro_check d = {.metric = RO_M_P99, .has_max = 1, .max = 500};
	ck_assert_uint_eq(ro_check_default_min_requests(&d), 100);
}
END_TEST

static void add_judge(ro_analysis *a, uint32_t min_samples)
{
	a->has_judge = 1;
	ro_judge *j = &a->judge;
	j->confidence = 0.95;
	j->pass_score = 95;
	j->marginal_score = 75;
	j->min_samples = min_samples;
	j->step = MESH_S;
	j->nmetrics = 1;
	j->metrics = calloc(1, sizeof *j->metrics);
	j->metrics[0].name = strdup("request-duration");
	j->metrics[0].metric = RO_M_P99;
	j->metrics[0].direction = JUDGE_INCREASE;
	j->metrics[0].tolerance = 0.25;
	j->metrics[0].critical = 1;
	j->ngroups = 1;
	j->group_names = calloc(1, sizeof(char *));
	j->group_names[0] = strdup("default");
	j->group_weights = calloc(1, sizeof(double));
}

START_TEST(test_judge_in_the_analysis)
{
	/* Checks pass, the judge sees the canary's p99 series twice the
	 * baseline's: it fails, and so does the interval. */
	model_rollout *cfg = flagger();
	cfg->threshold = 1;
	add_judge(&cfg->analysis, 10);
	run x = {0};
	x.f.canary = stats(1000, 99.9, 80);
	x.f.baseline = stats(9000, 99.9, 80);
	x.f.ncser = x.f.nbser = 30;
	for (int i = 0; i < 30; i++) {
		x.f.bser[i] = 40 + i;
		x.f.cser[i] = 80 + 2 * i;
	}
	run_init(&x, cfg);
	run_ticks(&x, 10);
	ck_assert_int_eq(x.log.verdict, RO_ROLLED_BACK);
	ck_assert_ptr_nonnull(x.log.intervals[0].judge);
	ck_assert_int_eq(x.log.intervals[0].judge->verdict, JV_FAIL);
	ck_assert_int_eq(x.log.intervals[0].judge->m[0].cls, JUDGE_HIGH);
	ck_assert(strstr(x.log.reason, "judge FAIL") != NULL);
	run_free(&x);
	/* The same values on both sides pass; too few samples never do. */
	run y = {0};
	y.f.canary = stats(1000, 99.9, 80);
	y.f.baseline = stats(9000, 99.9, 80);
	y.f.ncser = y.f.nbser = 30;
	for (int i = 0; i < 30; i++)
		y.f.bser[i] = y.f.cser[i] = 40 + i;
	run_init(&y, cfg);
	run_ticks(&y, 10);
	ck_assert_int_eq(y.log.verdict, RO_PROMOTED);
	run_free(&y);
	run z = {0};
	z.f.canary = stats(1000, 99.9, 80);
	z.f.baseline = stats(9000, 99.9, 80);
	z.f.ncser = 5;
	z.f.nbser = 30;
	for (int i = 0; i < 30; i++)
		z.f.bser[i] = z.f.cser[i] = 40 + i;
	run_init(&z, cfg);
	run_ticks(&z, 10);
	ck_assert_int_eq(z.log.verdict, RO_ROLLED_BACK);
	ck_assert_int_eq(z.log.intervals[0].result, RO_NODATA);
	run_free(&z);
	model_rollout_free(cfg);
}
END_TEST

static model_rollout *argo(void)
{
	model_rollout *r = calloc(1, sizeof *r);
	r->stable = 0;
	r->canary = 1;
	r->baseline = MODEL_NONE;
	r->strategy = RO_STEPS;
	r->slo_latency = MESH_NEVER;
	r->nsteps = 4;
	r->steps = calloc(4, sizeof(ro_step));
	r->steps[0].kind = RO_STEP_WEIGHT;
	r->steps[0].weight = 20;
	r->steps[1].kind = RO_STEP_PAUSE;
	r->steps[1].duration = 600 * MESH_S;
	r->steps[2].kind = RO_STEP_ANALYSIS;
	ro_analysis *a = &r->steps[2].analysis;
	a->interval = 60 * MESH_S;
	a->count = 3;
	a->failure_limit = 1;
	a->inconclusive_limit = 0;
	a->nchecks = 1;
	a->checks = calloc(1, sizeof(ro_check));
	a->checks[0].name = strdup("request-success-rate");
	a->checks[0].metric = RO_M_SUCCESS;
	a->checks[0].has_min = 1;
	a->checks[0].min = 99;
	a->checks[0].window = 60 * MESH_S;
	a->checks[0].min_requests = 100;
	r->steps[3].kind = RO_STEP_WEIGHT;
	r->steps[3].weight = 60;
	return r;
}

START_TEST(test_argo_steps)
{
	model_rollout *cfg = argo();
	run x = {0};
	x.f.canary = stats(1000, 99.9, 80);
	x.f.baseline = stats(9000, 99.9, 80);
	run_init(&x, cfg);
	/* setWeight 20 at once, then the 10-minute pause. */
	ck_assert_double_eq(x.f.last.canary, 20);
	ck_assert_uint_eq(x.next, 600 * MESH_S);
	run_ticks(&x, 100);
	ck_assert_int_eq(x.log.verdict, RO_PROMOTED);
	/* Three measurements a minute apart, then setWeight 60, then done. */
	ck_assert_uint_eq(x.log.decided_at, 600 * MESH_S + 3 * 60 * MESH_S);
	ck_assert_uint_eq(x.log.nintervals, 3);
	run_free(&x);

	/* failureLimit 1: the second failure aborts. */
	run y = {0};
	y.f.canary = stats(1000, 90, 80);
	y.f.baseline = stats(9000, 99.9, 80);
	run_init(&y, cfg);
	run_ticks(&y, 100);
	ck_assert_int_eq(y.log.verdict, RO_ROLLED_BACK);
	ck_assert_uint_eq(y.log.decided_at, 600 * MESH_S + 2 * 60 * MESH_S);
	ck_assert_double_eq(y.f.last.canary, 0);
	run_free(&y);

	/* No data is inconclusive: past inconclusiveLimit 0 the rollout is
	 * held where it is, never promoted. */
	run z = {0};
	z.f.canary = stats(0, 0, 0);
	z.f.baseline = stats(9000, 99.9, 80);
	run_init(&z, cfg);
	run_ticks(&z, 100);
	ck_assert_int_eq(z.log.verdict, RO_INCONCLUSIVE);
	ck_assert_uint_eq(z.log.decided_at, 600 * MESH_S + 60 * MESH_S);
	ck_assert_double_eq(z.f.last.canary, 20);
	run_free(&z);
	model_rollout_free(cfg);
}
END_TEST

START_TEST(test_histogram_quantile_by_hand)
{
	/* 100 requests: 90 at or below 10ms (bucket (5, 10]), 10 in (250,
	 * 500]. p99: rank 99 is the 9th of the 10 in (250, 500]: 250 +
	 * 250 * 9 / 10 = 475. p50: rank 50 is the 50th of 90 in (5, 10]:
	 * 5 + 5 * 50 / 90. */
	uint64_t c[RO_ISTIO_BUCKETS + 1] = {0};
	c[3] = 90;
	c[8] = 10;
	ck_assert_double_eq_tol(ro_histogram_quantile(0.99, c), 475.0, 1e-9);
	ck_assert_double_eq_tol(ro_histogram_quantile(0.50, c), 5 + 5.0 * 50 / 90, 1e-9);
	/* The first bucket interpolates from 0. */
	uint64_t d[RO_ISTIO_BUCKETS + 1] = {0};
	d[0] = 4;
	ck_assert_double_eq_tol(ro_histogram_quantile(0.5, d), 0.25, 1e-12);
	/* In +Inf: the top finite bound, as Prometheus. */
	uint64_t e[RO_ISTIO_BUCKETS + 1] = {0};
	e[RO_ISTIO_BUCKETS] = 3;
	ck_assert_double_eq(ro_histogram_quantile(0.99, e), 3600000);
	uint64_t z[RO_ISTIO_BUCKETS + 1] = {0};
	ck_assert(isnan(ro_histogram_quantile(0.99, z)));
}
END_TEST

START_TEST(test_wilson_by_hand)
{
	double lo, hi;
	/* 0 of 100 at 95%: upper z^2 / (n + z^2) = 3.8416 / 103.8416. */
	sweep_wilson(0, 100, 1.959963984540054, &lo, &hi);
	ck_assert_double_eq(lo, 0);
	ck_assert_double_eq_tol(hi, 0.036994, 1e-6);
	/* 5 of 100: [0.021543, 0.111750] (Newcombe 1998, table I style). */
	sweep_wilson(5, 100, 1.959963984540054, &lo, &hi);
	ck_assert_double_eq_tol(lo, 0.021543, 1e-5);
	ck_assert_double_eq_tol(hi, 0.111750, 1e-5);
	sweep_wilson(100, 100, 1.959963984540054, &lo, &hi);
	ck_assert_double_eq(hi, 1);
	ck_assert_double_eq_tol(lo, 1 - 0.036994, 1e-6);
}
END_TEST

/* ---- the loader ---- */

static char *load_errors(const char *json)
{
	scn_errors e = {0};
	model *m = scn_load_string(json, "r.json", &e);
	ck_assert_ptr_null(m);
	size_t len = 1;
	for (size_t i = 0; i < e.n; i++)
		len += strlen(e.msg[i]) + 1;
	char *all = calloc(len, 1);
	for (size_t i = 0; i < e.n; i++) {
		strcat(all, e.msg[i]);
		strcat(all, "\n");
	}
	scn_errors_free(&e);
	return all;
}

#define SVC "\"services\": {\"r\": {\"latency\": \"5ms\", \"versions\": {\"v1\": {}, \"v2\": {}}}}, " \
	    "\"load\": [{\"to\": \"r\", \"rps\": 100}]"

START_TEST(test_loader_messages)
{
	struct {
		const char *json, *want;
	} cases[] = {
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"analysis\": {\"intervall\": \"1m\", \"stepWeight\": 10}}}",
		 "r.json: rollout.analysis.intervall: unknown key \"intervall\" (did you mean \"interval\"?)"},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v3\", \"analysis\": {\"stepWeight\": 10}}}",
		 "r.json: rollout.canary: expected a version of r (\"v1\", \"v2\"), found \"v3\""},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"analysis\": {\"interval\": \"5s\", \"stepWeight\": 10}}}",
		 "r.json: rollout.analysis.interval: expected a duration of at least 10s, like \"1m\", found \"5s\""},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"analysis\": {}}}",
		 "expected \"stepWeight\" (like 10) or \"stepWeights\""},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"analysis\": {\"stepWeight\": 10}, \"steps\": []}}",
		 "r.json: rollout: expected \"analysis\" (Flagger) or \"steps\" (Argo Rollouts), found both"},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"steps\": [{\"pause\": {}}]}}",
		 "r.json: rollout.steps[0].pause: expected a \"duration\""},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"steps\": [{\"analysis\": {\"interval\": \"1m\"}}]}}",
		 "r.json: rollout.steps[0].analysis.count: expected how many measurements"},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"analysis\": {\"stepWeight\": 10, \"metrics\": [{\"name\": "
		 "\"request-sucess-rate\", \"thresholdRange\": {\"min\": 99}}]}}}",
		 "r.json: rollout.analysis.metrics[0].name: expected one of \"request-success-rate\""},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"analysis\": {\"stepWeight\": 10, \"judge\": {\"step\": \"7s\", "
		 "\"metrics\": [{\"name\": \"request-duration\"}]}}}}",
		 "r.json: rollout.analysis: expected the interval to be a whole number of the judge's step (7s), found 60s"},
		{"{\"duration\": \"5m\", " SVC ", \"mesh\": {\"r\": {\"routes\": [{\"split\": {\"v1\": 1}}]}}, "
		 "\"rollout\": {\"service\": \"r\", \"stable\": \"v1\", \"canary\": \"v2\", "
		 "\"analysis\": {\"stepWeight\": 10}}}",
		 "r.json: rollout: expected no \"routes\" in mesh.r: the rollout owns the service's routes"},
		{"{\"duration\": \"5m\", " SVC ", \"expect\": {\"rollout\": {\"verdict\": \"promoted\"}}}",
		 "r.json: expect.rollout: expected a \"rollout\" block to judge, found none"},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"analysis\": {\"stepWeight\": 10}}, \"expect\": {\"rollout\": "
		 "{\"verdict\": \"passed\", \"blast_radius\": \"few\"}}}",
		 "r.json: expect.rollout.verdict: expected \"promoted\", \"rolled_back\" or \"inconclusive\", found \"passed\""},
		{"{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", \"stable\": \"v1\", "
		 "\"canary\": \"v2\", \"baseline\": \"v1\", \"analysis\": {\"stepWeight\": 10}}}",
		 "r.json: rollout.baseline: expected a third version"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *all = load_errors(cases[i].json);
		ck_assert_msg(strstr(all, cases[i].want) != NULL,
			      "case %zu: wanted \"%s\" in:\n%s", i, cases[i].want, all);
		free(all);
	}
}
END_TEST

START_TEST(test_loader_defaults)
{
	model *m = tu_load("{\"duration\": \"5m\", " SVC ", \"rollout\": {\"service\": \"r\", "
			   "\"stable\": \"v1\", \"canary\": \"v2\", \"analysis\": {\"stepWeights\": "
			   "[5, 20, 40], \"metrics\": [{\"name\": \"request-success-rate\", "
			   "\"thresholdRange\": {\"min\": 99}}]}}}");
	const model_rollout *r = m->rollout;
	/* Flagger's defaults. */
	ck_assert_uint_eq(r->interval, 60 * MESH_S);
	ck_assert_uint_eq(r->threshold, 1);
	ck_assert_double_eq(r->max_weight, 40);
	ck_assert_int_eq(r->strategy, RO_CANARY);
	ck_assert_uint_eq(r->analysis.checks[0].window, 60 * MESH_S);
	ck_assert_uint_eq(r->analysis.checks[0].min_requests, 100);
	/* The rollout owns the routes: one rule, every request to v1. */
	const model_policy *p = &m->services[0].policy;
	ck_assert_uint_eq(p->nrules, 1);
	ck_assert_uint_eq(p->rules[0].nsplits, 2);
	ck_assert_double_eq(p->rules[0].splits[0].weight, 100);
	ck_assert_double_eq(p->rules[0].splits[1].weight, 0);
	model_free(m);
}
END_TEST

/* ---- whole rollouts in virtual time ---- */

static const char *scenario_tpl =
	"{\"name\": \"t\", \"seed\": %u, \"duration\": \"%s\", \"drain\": \"2s\", "
	"\"services\": {\"r\": {\"latency\": \"5ms\", "
	"\"versions\": {\"v1\": {\"replicas\": 2}, \"v2\": {\"replicas\": 2%s}}}}, "
	"\"load\": [{\"name\": \"u\", \"to\": \"r\", \"rps\": %d, \"arrival\": \"constant\"%s}%s], "
	"\"rollout\": {\"service\": \"r\", \"stable\": \"v1\", \"canary\": \"v2\", "
	"\"start\": \"10s\", \"truth\": \"%s\", \"analysis\": %s}%s}";

static char *scenario(unsigned seed, const char *duration, const char *v2,
		      int rps, const char *client, const char *more_load,
		      const char *truth, const char *analysis, const char *more)
{
	char *s = malloc(8192);
	snprintf(s, 8192, scenario_tpl, seed, duration, v2, rps, client, more_load,
		 truth, analysis, more);
	return s;
}

#define CHECKS "\"metrics\": [{\"name\": \"request-success-rate\", \"thresholdRange\": {\"min\": 99}, \"interval\": \"10s\"}]"

START_TEST(test_weights_reach_the_sidecars)
{
	/* A constant 1000 rps; the weights 25 then 50 must show in the
	 * calls each version got within each interval. */
	char *s = scenario(3, "45s", "", 1000, "", "", "good",
			   "{\"interval\": \"10s\", \"stepWeight\": 25, \"maxWeight\": 50, "
			   "\"threshold\": 2, " CHECKS "}",
			   "");
	model *m = tu_load(s);
	free(s);
	rec *r = tu_run(m);
	const rollout_log *l = r->ro_log;
	ck_assert_int_eq(l->verdict, RO_PROMOTED);
	ck_assert_uint_eq(l->decided_at, 30 * MESH_S);
	ck_assert_uint_eq(l->nintervals, 2);
	double want[] = {25, 50};
	for (int i = 0; i < 2; i++) {
		const ro_interval *iv = &l->intervals[i];
		double n = (double)(iv->canary.requests + iv->baseline.requests);
		double share = 100.0 * (double)iv->canary.requests / n;
		/* Binomial: within 4 standard deviations of the weight. */
		double sd = 100.0 * sqrt(want[i] / 100 * (1 - want[i] / 100) / n);
		ck_assert_msg(fabs(share - want[i]) < 4 * sd, "interval %d: %.2f%% to the canary", i,
			      share);
	}
	/* After the promotion, every call goes to the canary. */
	const rec_vseries *st = &r->vs[0];
	uint64_t after = 0;
	for (uint32_t k = 31; k < st->nrows; k++)
		after += st->rows[k].calls;
	ck_assert_uint_eq(after, 0);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_rollback_in_virtual_time)
{
	/* A canary failing 20% with threshold 3 and interval 10s is rolled
	 * back exactly 30s after it got traffic; after that no call goes to
	 * it, and the blast radius counts exactly its failed calls. */
	char *s = scenario(5, "60s", ", \"errors\": [{\"status\": 500, \"probability\": 0.2}]",
			   400, "", "", "bad",
			   "{\"interval\": \"10s\", \"stepWeight\": 10, \"threshold\": 3"
			   ", \"metrics\": [{\"name\": \"request-success-rate\", \"thresholdRange\": "
			   "{\"min\": 99}, \"interval\": \"10s\", \"minRequests\": 50}]}",
			   ", \"expect\": {\"rollout\": {\"verdict\": \"rolled_back\", "
			   "\"decided_within\": \"== 30s\"}}");
	model *m = tu_load(s);
	free(s);
	rec *r = tu_run(m);
	const rollout_log *l = r->ro_log;
	ck_assert_int_eq(l->verdict, RO_ROLLED_BACK);
	ck_assert_uint_eq(l->decided_at - m->rollout->start, 3 * 10 * MESH_S);
	const rec_vseries *c = &r->vs[1];
	uint64_t after = 0, failed = 0;
	for (uint32_t k = 0; k < c->nrows; k++) {
		if (k >= 41) /* a call sent just before may end just after */
			after += c->rows[k].calls;
		failed += c->rows[k].failed;
	}
	ck_assert_uint_eq(after, 0);
	ck_assert_uint_eq(l->harmed_failed, failed);
	ck_assert_uint_gt(l->at_decision_failed, 0);
	/* The objectives see the same. */
	report_verdict v[4];
	ck_assert_uint_eq(report_evaluate(m, r, v), 0);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_mirror_harms_no_one)
{
	/* Blue/green with mirroring: the canary fails everything, but only
	 * copies reach it; users see no failure, the analysis sees them
	 * all, and the rollout is rolled back. */
	char *s = scenario(7, "40s", ", \"errors\": [{\"status\": 503, \"probability\": 1}]",
			   500, "", "", "bad",
			   "{\"interval\": \"10s\", \"iterations\": 3, \"mirror\": true, "
			   "\"threshold\": 2, " CHECKS "}",
			   "");
	model *m = tu_load(s);
	free(s);
	rec *r = tu_run(m);
	const rollout_log *l = r->ro_log;
	ck_assert_int_eq(l->verdict, RO_ROLLED_BACK);
	ck_assert_uint_eq(l->decided_at, 30 * MESH_S);
	ck_assert_uint_gt(l->intervals[0].canary.requests, 4000);
	ck_assert_uint_eq(l->intervals[0].canary.non5xx, 0);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], r->overall.issued);
	ck_assert_uint_eq(l->canary_calls, 0);
	ck_assert_uint_eq(report_blast_radius(r), 0);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_header_group_goes_to_the_canary)
{
	/* A/B: requests with x-g: 1 go to the canary, others never do. */
	char *s = scenario(9, "40s", "", 300, "",
			   ", {\"name\": \"g\", \"to\": \"r\", \"rps\": 50, \"headers\": {\"x-g\": \"1\"}}",
			   "good",
			   "{\"interval\": \"10s\", \"iterations\": 2, \"match\": {\"headers\": "
			   "{\"x-g\": {\"exact\": \"1\"}}}, \"metrics\": [{\"name\": "
			   "\"request-success-rate\", \"thresholdRange\": {\"min\": 99}, \"interval\": "
			   "\"10s\", \"minRequests\": 100}]}",
			   "");
	model *m = tu_load(s);
	free(s);
	rec *r = tu_run(m);
	const rollout_log *l = r->ro_log;
	ck_assert_int_eq(l->verdict, RO_PROMOTED);
	ck_assert_uint_eq(l->decided_at, 30 * MESH_S);
	/* During the A/B test the canary served exactly client g's calls:
	 * about 50 a second. */
	uint64_t n = l->intervals[0].canary.requests;
	ck_assert_msg(n > 400 && n < 600, "%llu canary requests", (unsigned long long)n);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_same_seed_same_report)
{
	char *s = scenario(4, "40s", ", \"errors\": [{\"status\": 500, \"probability\": 0.05}]",
			   300, "", "", "bad",
			   "{\"interval\": \"10s\", \"stepWeight\": 20, \"threshold\": 2, " CHECKS "}",
			   "");
	model *m = tu_load(s);
	free(s);
	char *a = NULL, *b = NULL;
	for (int k = 0; k < 2; k++) {
		rec *r = tu_run(m);
		report_verdict v[1];
		report_evaluate(m, r, v);
		*(k ? &b : &a) = report_json_string(m, r, m->seed, "sim", v);
		rec_free(r);
	}
	ck_assert_str_eq(a, b);
	ck_assert(strstr(a, "\"rollout\"") != NULL);
	free(a);
	free(b);
	model_free(m);
}
END_TEST

/* ---- the sweep ---- */

START_TEST(test_sweep_bad_canary_rarely_promoted)
{
	/* A canary failing 5% of requests against a 99% success check: over
	 * 40 seeds it must not be promoted even once in a long while. The
	 * stated bound: the upper end of the 95% Wilson interval of the
	 * false promotion rate below 10% (0 of 40 gives 8.8%). The results
	 * are the same bytes with one worker and with two. */
	char *s = scenario(1, "3m", ", \"errors\": [{\"status\": 500, \"probability\": 0.05}]",
			   200, "", "", "bad",
			   "{\"interval\": \"20s\", \"stepWeight\": 10, \"maxWeight\": 50, "
			   "\"threshold\": 3, \"metrics\": [{\"name\": \"request-success-rate\", "
			   "\"thresholdRange\": {\"min\": 99}, \"interval\": \"20s\"}]}",
			   "");
	model *m = tu_load(s);
	free(s);
	enum { N = 40 };
	sweep_result one[N], two[N];
	sweep_opts o = {.first_seed = 1, .n = N, .jobs = 1};
	ck_assert_int_eq(sweep_run(m, &o, one), 0);
	o.jobs = 2;
	ck_assert_int_eq(sweep_run(m, &o, two), 0);
	ck_assert(memcmp(one, two, sizeof one) == 0);
	sweep_summary sum;
	sweep_summarize(m, one, N, &sum);
	ck_assert_uint_eq(sum.failed_runs, 0);
	ck_assert(sum.has_truth);
	ck_assert_msg(sum.false_hi < 0.10, "false promotions %u of %u, upper bound %.3f",
		      sum.false_n, N, sum.false_hi);
	/* Each rollback at interval x threshold after the start. */
	for (int i = 0; i < N; i++)
		if (one[i].verdict == RO_ROLLED_BACK)
			ck_assert_uint_eq(one[i].decided_ns, 60 * MESH_S);
	model_free(m);
}
END_TEST

Suite *rollout_suite(void)
{
	Suite *s = suite_create("rollout");
	TCase *tc = tcase_create("controller");
	tcase_add_test(tc, test_flagger_promotes_after_max_weight);
	tcase_add_test(tc, test_flagger_rollback_at_interval_times_threshold);
	tcase_add_test(tc, test_flagger_failed_checks_accumulate);
	tcase_add_test(tc, test_no_data_is_never_a_pass);
	tcase_add_test(tc, test_default_min_requests);
	tcase_add_test(tc, test_judge_in_the_analysis);
	tcase_add_test(tc, test_argo_steps);
	tcase_add_test(tc, test_histogram_quantile_by_hand);
	tcase_add_test(tc, test_wilson_by_hand);
	suite_add_tcase(s, tc);
	TCase *tl = tcase_create("loader");
	tcase_add_test(tl, test_loader_messages);
	tcase_add_test(tl, test_loader_defaults);
	suite_add_tcase(s, tl);
	TCase *ts = tcase_create("simulated");
	tcase_set_timeout(ts, 120);
	tcase_add_test(ts, test_weights_reach_the_sidecars);
	tcase_add_test(ts, test_rollback_in_virtual_time);
	tcase_add_test(ts, test_mirror_harms_no_one);
	tcase_add_test(ts, test_header_group_goes_to_the_canary);
	tcase_add_test(ts, test_same_seed_same_report);
	tcase_add_test(ts, test_sweep_bad_canary_rarely_promoted);
	suite_add_tcase(s, ts);
	return s;
}
