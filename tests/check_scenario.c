/*
 * The scenario loader: durations, defaults, distributions, references,
 * cycles, load phases, objectives, and above all the error messages, since
 * a user acts on those. Scenarios are written with single quotes for
 * readability; load_as() turns them into double quotes (no test input needs
 * a real single quote).
 */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"
#include "scenario.h"
#include "suites.h"

/* ---- helpers ---- */

static model *load_as(const char *json, const char *name, scn_errors *e)
{
	char *s = strdup(json);
	ck_assert_ptr_nonnull(s);
	for (char *p = s; *p; p++)
		if (*p == '\'')
			*p = '"';
	model *m = scn_load_string(s, name, e);
	free(s);
	return m;
}

/* A whole scenario around the given services and load clients, plus extra
 * top-level members (each starting with a comma). */
static model *load_scn(const char *services, const char *load,
		       const char *extra, scn_errors *e)
{
	char buf[8192];
	int n = snprintf(buf, sizeof buf,
			 "{'duration': '10s', 'services': {%s}, 'load': [%s]%s}",
			 services, load, extra);
	ck_assert(n > 0 && (size_t)n < sizeof buf);
	return load_as(buf, "t.json", e);
}

#define MIN_SVC "'api': {'latency': '1ms'}"
#define MIN_LOAD "{'to': 'api', 'rps': 10}"

/* Every message, one a line, for failure reports. */
static const char *dump(const scn_errors *e)
{
	static char buf[8192];
	buf[0] = '\0';
	for (size_t i = 0; i < e->n; i++) {
		size_t l = strlen(buf);
		snprintf(buf + l, sizeof buf - l, "  %s\n", e->msg[i]);
	}
	return e->n ? buf : "  (none)\n";
}

/* The first message holding every one of the NULL-terminated needles. */
static const char *find_err(const scn_errors *e, ...)
	__attribute__((sentinel));

static const char *find_err(const scn_errors *e, ...)
{
	for (size_t i = 0; i < e->n; i++) {
		va_list ap;
		va_start(ap, e);
		const char *needle;
		int all = 1;
		while (all && (needle = va_arg(ap, const char *)))
			all = strstr(e->msg[i], needle) != NULL;
		va_end(ap);
		if (all)
			return e->msg[i];
	}
	return NULL;
}

#define ck_assert_err(e, ...)                                                \
	ck_assert_msg(find_err((e), __VA_ARGS__, (const char *)NULL),        \
		      "no error with all of: %s\nerrors:\n%s", #__VA_ARGS__, \
		      dump(e))

#define ck_assert_loaded(m, e) \
	ck_assert_msg((m) != NULL, "expected a model; errors:\n%s", dump(e))

#define ck_assert_rejected(m, e)                                      \
	do {                                                          \
		ck_assert_ptr_null(m);                                \
		ck_assert_msg((e)->n >= 1, "rejected without a reason"); \
	} while (0)

static int svc(const model *m, const char *name)
{
	for (uint32_t i = 0; i < m->nservices; i++)
		if (strcmp(m->services[i].name, name) == 0)
			return (int)i;
	ck_abort_msg("no service %s", name);
	return -1;
}

/* ---- durations ---- */

START_TEST(test_duration_units)
{
	static const struct {
		const char *s;
		mesh_time ns;
	} ok[] = {
		{"250ms", 250 * MESH_MS}, {"1.5s", 1500 * MESH_MS},
		{"2m", 120 * MESH_S},     {"1h", 3600 * MESH_S},
		{"100us", 100 * MESH_US}, {"30ns", 30},
		{"0", 0},                 {"0.5ms", 500 * MESH_US},
		{"7\xc2\xb5s", 7 * MESH_US}, /* "µs" in UTF-8 */
		{"0s", 0},                {"1.000000001s", MESH_S + 1},
	};
	for (size_t i = 0; i < sizeof ok / sizeof ok[0]; i++) {
		mesh_time t = 12345;
		ck_assert_msg(scn_parse_duration(ok[i].s, &t) == 0,
			      "\"%s\" rejected", ok[i].s);
		ck_assert_msg(t == ok[i].ns, "\"%s\" gave %llu ns, not %llu",
			      ok[i].s, (unsigned long long)t,
			      (unsigned long long)ok[i].ns);
	}
}
END_TEST

START_TEST(test_duration_rejects)
{
	static const char *const bad[] = {
		"", "10", "ms", "1.2.3s", "-1s", "5 s", "1d", "\xc2\xb5s",
		"1.s", ".5s", " 1s", "1s ", "1S", "99999999999999999999h",
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		mesh_time t = 0;
		ck_assert_msg(scn_parse_duration(bad[i], &t) == -1,
			      "\"%s\" accepted as %llu ns", bad[i],
			      (unsigned long long)t);
	}
}
END_TEST

/* ---- a minimal scenario and its defaults ---- */

START_TEST(test_minimal_defaults)
{
	scn_errors e = {0};
	model *m = load_scn(MIN_SVC, MIN_LOAD, "", &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_str_eq(m->name, "t");
	ck_assert_str_eq(m->file, "t.json");
	ck_assert_uint_eq(m->seed, 1);
	ck_assert_uint_eq(m->duration, 10 * MESH_S);
	ck_assert_uint_eq(m->drain, 5 * MESH_S);
	ck_assert_int_eq(m->net_latency.kind, DIST_CONSTANT);
	ck_assert_uint_eq(m->net_latency.a, 0);

	ck_assert_uint_eq(m->nservices, 1);
	const model_service *s = &m->services[0];
	ck_assert_str_eq(s->name, "api");
	ck_assert_uint_eq(s->replicas, 1);
	ck_assert_uint_eq(s->concurrency, MODEL_UNLIMITED);
	ck_assert_uint_eq(s->queue, MODEL_UNLIMITED);
	ck_assert_uint_eq(s->nerrors, 0);
	ck_assert_uint_eq(s->nsteps, 1);
	ck_assert_int_eq(s->steps[0].kind, STEP_WORK);

	ck_assert_uint_eq(m->nclients, 1);
	const model_client *c = &m->clients[0];
	ck_assert_str_eq(c->name, "load0");
	ck_assert_int_eq(c->kind, CLIENT_OPEN);
	ck_assert_int_eq(c->arrival, ARRIVAL_POISSON);
	ck_assert_uint_eq(c->timeout, MESH_NEVER);
	ck_assert_uint_eq(c->max_in_flight, MODEL_UNLIMITED);
	ck_assert_uint_eq(c->nphases, 1);
	ck_assert_uint_eq(c->phases[0].at, 0);
	ck_assert_double_eq(c->phases[0].rps, 10);
	ck_assert_uint_lt(c->route, m->nroutes);
	ck_assert_uint_eq(m->routes[c->route].service, 0);
	ck_assert_str_eq(m->routes[c->route].path, "/");
	ck_assert_uint_eq(m->nobjectives, 0);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_name_from_file_and_key)
{
	scn_errors e = {0};
	/* Only the base name counts, and only its last extension goes. */
	model *m = load_as("{'duration': '1s', 'services': {" MIN_SVC "},"
			   " 'load': [" MIN_LOAD "]}",
			   "some/dir/shop.v2.json", &e);
	ck_assert_loaded(m, &e);
	ck_assert_str_eq(m->name, "shop.v2");
	ck_assert_str_eq(m->file, "some/dir/shop.v2.json");
	model_free(m);

	m = load_scn(MIN_SVC, MIN_LOAD,
		     ", 'name': 'named', 'seed': 42, 'drain': '0'", &e);
	ck_assert_loaded(m, &e);
	ck_assert_str_eq(m->name, "named");
	ck_assert_uint_eq(m->seed, 42);
	ck_assert_uint_eq(m->drain, 0);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_explicit_settings)
{
	scn_errors e = {0};
	model *m = load_scn(
		"'api': {'replicas': 3, 'concurrency': 8, 'queue': 0,"
		" 'latency': '1ms', 'response_size': 512,"
		" 'errors': [{'status': 503, 'probability': 0.25}]}",
		"{'name': 'c', 'to': 'api', 'path': '/x', 'rps': 5,"
		" 'arrival': 'constant', 'timeout': '2s', 'max_in_flight': 9}",
		"", &e);
	ck_assert_loaded(m, &e);
	const model_service *s = &m->services[0];
	ck_assert_uint_eq(s->replicas, 3);
	ck_assert_uint_eq(s->concurrency, 8);
	ck_assert_uint_eq(s->queue, 0);
	ck_assert_uint_eq(s->response_size, 512);
	ck_assert_uint_eq(s->nerrors, 1);
	ck_assert_uint_eq(s->errors[0].status, 503);
	ck_assert_double_eq(s->errors[0].probability, 0.25);
	const model_client *c = &m->clients[0];
	ck_assert_str_eq(c->name, "c");
	ck_assert_int_eq(c->arrival, ARRIVAL_CONSTANT);
	ck_assert_uint_eq(c->timeout, 2 * MESH_S);
	ck_assert_uint_eq(c->max_in_flight, 9);
	ck_assert_str_eq(m->routes[c->route].path, "/x");
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

/* Run from the source tree, as `make test` does. */
START_TEST(test_file_quickstart)
{
	scn_errors e = {0};
	model *m = scn_load_file("scenarios/quickstart.json", &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_str_eq(m->name, "quickstart");
	ck_assert_uint_eq(m->seed, 7);
	ck_assert_uint_eq(m->duration, 60 * MESH_S);
	ck_assert_uint_eq(m->nservices, 4);
	ck_assert_uint_eq(m->nclients, 2);
	ck_assert_uint_eq(m->nobjectives, 3);
	const model_service *fe = &m->services[svc(m, "frontend")];
	ck_assert_uint_eq(fe->replicas, 2);
	ck_assert_uint_eq(fe->nsteps, 3);
	ck_assert_int_eq(fe->steps[1].kind, STEP_CALL);
	ck_assert_int_eq(fe->steps[2].kind, STEP_PARALLEL);
	ck_assert_uint_eq(fe->steps[2].ncalls, 2);
	ck_assert_uint_eq(m->routes[fe->steps[1].routes[0]].service,
			  (uint32_t)svc(m, "catalog"));
	ck_assert_uint_eq(m->services[svc(m, "ratings")].queue,
			  MODEL_UNLIMITED);
	ck_assert_uint_eq(m->clients[0].nphases, 3);
	ck_assert_int_eq(m->clients[1].kind, CLIENT_CLOSED);
	ck_assert_uint_eq(m->clients[1].users, 20);
	ck_assert_uint_eq(m->clients[1].timeout, 1 * MESH_S);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_file_missing)
{
	scn_errors e = {0};
	model *m = scn_load_file("/nonexistent/dir/nope.json", &e);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_err(&e, "/nonexistent/dir/nope.json: ", "cannot open");
	scn_errors_free(&e);
}
END_TEST

/* Errors are appended, and only this load's own count decides. */
START_TEST(test_errors_accumulate)
{
	scn_errors e = {0};
	model *m = load_scn(MIN_SVC, "{'to': 'api', 'rps': -1}", "", &e);
	ck_assert_rejected(m, &e);
	size_t before = e.n;
	m = load_scn(MIN_SVC, MIN_LOAD, "", &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(e.n, before);
	model_free(m);
	scn_errors_free(&e);
	ck_assert_uint_eq(e.n, 0);
	ck_assert_ptr_null(e.msg);
}
END_TEST

/* ---- distributions ---- */

/* The service's latency set to the given distribution JSON. */
static model *load_dist(const char *d, scn_errors *e)
{
	char svcs[1024];
	snprintf(svcs, sizeof svcs, "'api': {'latency': %s}", d);
	return load_scn(svcs, MIN_LOAD, "", e);
}

static const dist *api_dist(const model *m)
{
	ck_assert_uint_eq(m->services[0].nsteps, 1);
	return &m->services[0].steps[0].work;
}

START_TEST(test_dist_constant)
{
	scn_errors e = {0};
	model *m = load_dist("'3ms'", &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(api_dist(m)->kind, DIST_CONSTANT);
	ck_assert_uint_eq(api_dist(m)->a, 3 * MESH_MS);
	model_free(m);

	m = load_dist("{'dist': 'constant', 'value': '2.5us'}", &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(api_dist(m)->kind, DIST_CONSTANT);
	ck_assert_uint_eq(api_dist(m)->a, 2500);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_dist_uniform_exponential)
{
	scn_errors e = {0};
	model *m = load_dist("{'dist': 'uniform', 'min': '500us', 'max': '3ms'}",
			     &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(api_dist(m)->kind, DIST_UNIFORM);
	ck_assert_uint_eq(api_dist(m)->a, 500 * MESH_US);
	ck_assert_uint_eq(api_dist(m)->b, 3 * MESH_MS);
	model_free(m);

	/* min == max is a degenerate but valid uniform. */
	m = load_dist("{'dist': 'uniform', 'min': '1ms', 'max': '1ms'}", &e);
	ck_assert_loaded(m, &e);
	model_free(m);

	m = load_dist("{'dist': 'exponential', 'mean': '5ms'}", &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(api_dist(m)->kind, DIST_EXPONENTIAL);
	ck_assert_uint_eq(api_dist(m)->a, 5 * MESH_MS);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_dist_lognormal)
{
	scn_errors e = {0};
	model *m = load_dist("{'dist': 'lognormal', 'p50': '2ms', 'p99': '8ms'}",
			     &e);
	ck_assert_loaded(m, &e);
	const dist *d = api_dist(m);
	ck_assert_int_eq(d->kind, DIST_LOGNORMAL);
	ck_assert_uint_eq(d->a, 2 * MESH_MS);
	ck_assert_uint_eq(d->b, 8 * MESH_MS);
	/* The median is e^mu and the 99th percentile e^(mu + z99 sigma). */
	ck_assert_double_eq_tol(d->mu, log(2e6), 1e-9);
	ck_assert_double_eq_tol(d->sigma, log(4.0) / DIST_Z99, 1e-9);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_dist_empirical)
{
	scn_errors e = {0};
	/* Given out of order on purpose: the loader sorts by percentile. */
	model *m = load_dist("{'dist': 'empirical', 'p100': '60ms', 'p0': '1ms',"
			     " 'p90': '9ms', 'p50': '4ms', 'p99.9': '25ms'}",
			     &e);
	ck_assert_loaded(m, &e);
	const dist *d = api_dist(m);
	ck_assert_int_eq(d->kind, DIST_EMPIRICAL);
	ck_assert_int_eq(d->npoints, 5);
	static const double pct[] = {0, 50, 90, 99.9, 100};
	static const mesh_time val[] = {1 * MESH_MS, 4 * MESH_MS, 9 * MESH_MS,
					25 * MESH_MS, 60 * MESH_MS};
	for (int i = 0; i < 5; i++) {
		ck_assert_double_eq(d->pct[i], pct[i]);
		ck_assert_uint_eq(d->val[i], val[i]);
	}
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

/* Distributions are accepted wherever one is expected, not only for a
 * service's latency. */
START_TEST(test_dist_elsewhere)
{
	scn_errors e = {0};
	model *m = load_scn(
		"'api': {'script': [{'work': {'dist': 'exponential', "
		"'mean': '1ms'}}], 'sidecar': {'latency': '30us'}}",
		"{'to': 'api', 'users': 4, 'think': {'dist': 'uniform', "
		"'min': '1ms', 'max': '2ms'}}",
		", 'network': {'latency': {'dist': 'lognormal', 'p50': '250us',"
		" 'p99': '1ms'}, 'local_latency': '20us'},"
		" 'sidecar': {'latency': '100us'}",
		&e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(m->net_latency.kind, DIST_LOGNORMAL);
	ck_assert_uint_eq(m->local_latency.a, 20 * MESH_US);
	ck_assert_int_eq(api_dist(m)->kind, DIST_EXPONENTIAL);
	/* A service's own sidecar block overrides the scenario's. */
	ck_assert_uint_eq(m->services[0].sidecar_latency.a, 30 * MESH_US);
	ck_assert_uint_eq(m->clients[0].sidecar_latency.a, 100 * MESH_US);
	ck_assert_int_eq(m->clients[0].kind, CLIENT_CLOSED);
	ck_assert_uint_eq(m->clients[0].users, 4);
	ck_assert_int_eq(m->clients[0].think.kind, DIST_UNIFORM);
	ck_assert_uint_eq(m->clients[0].think.b, 2 * MESH_MS);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_dist_bad)
{
	static const struct {
		const char *json;
		const char *path, *what;
	} cases[] = {
		{"{'dist': 'uniform', 'min': '3ms', 'max': '1ms'}",
		 "services.api.latency.max", "found \"1ms\""},
		{"{'dist': 'uniform', 'min': '3ms'}", "services.api.latency",
		 "\"max\" missing"},
		{"{'dist': 'lognormal', 'p50': '8ms', 'p99': '2ms'}",
		 "services.api.latency.p99", "found \"2ms\""},
		{"{'dist': 'lognormal', 'p50': '0', 'p99': '2ms'}",
		 "services.api.latency.p50", "above zero"},
		{"{'dist': 'empirical', 'p0': '1ms', 'p50': '2ms'}",
		 "services.api.latency", "p100"},
		{"{'dist': 'empirical', 'p50': '2ms', 'p100': '3ms'}",
		 "services.api.latency", "p0"},
		{"{'dist': 'empirical', 'p0': '1ms', 'p50': '5ms', 'p90': '4ms',"
		 " 'p100': '9ms'}",
		 "services.api.latency.p90", "must not decrease"},
		{"{'dist': 'empirical', 'p0': '1ms', 'p101': '5ms', 'p100': '9ms'}",
		 "services.api.latency.p101", "unknown key"},
		{"{'dist': 'empirical', 'p0': '1ms', 'p100': 9}",
		 "services.api.latency.p100", "found 9"},
		{"{'dist': 'weibull', 'shape': 2}", "services.api.latency.dist",
		 "found \"weibull\""},
		{"{'mean': '1ms'}", "services.api.latency.dist", "found nothing"},
		{"{'dist': 'exponential'}", "services.api.latency.mean",
		 "found nothing"},
		{"{'dist': 'constant', 'value': '1 ms'}",
		 "services.api.latency.value", "found \"1 ms\""},
		{"'fast'", "services.api.latency", "found \"fast\""},
		{"12", "services.api.latency", "found 12"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		scn_errors e = {0};
		model *m = load_dist(cases[i].json, &e);
		ck_assert_msg(m == NULL, "accepted %s", cases[i].json);
		ck_assert_msg(find_err(&e, "t.json: ", cases[i].path, "expected",
				       cases[i].what, (const char *)NULL),
			      "%s: no error naming %s and %s; errors:\n%s",
			      cases[i].json, cases[i].path, cases[i].what,
			      dump(&e));
		scn_errors_free(&e);
	}
}
END_TEST

/* ---- error messages ---- */

START_TEST(test_message_format)
{
	scn_errors e = {0};
	model *m = load_scn("'catalog': {'replicas': -2, 'latency': '1ms'}",
			    "{'to': 'catalog', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_uint_eq(e.n, 1);
	/* file: path: expected ..., found ... */
	const char *msg = e.msg[0];
	ck_assert_msg(strncmp(msg, "t.json: services.catalog.replicas: expected ",
			      44) == 0,
		      "bad prefix: %s", msg);
	ck_assert_msg(strstr(msg, ", found -2") != NULL, "%s", msg);
	ck_assert_msg(strstr(msg, "integer") != NULL, "%s", msg);
	scn_errors_free(&e);

	m = load_scn("'catalog': {'replicas': 'three', 'latency': '1ms'}",
		     "{'to': 'catalog', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: services.catalog.replicas: ", "expected",
		      "found \"three\"");
	scn_errors_free(&e);

	m = load_scn(MIN_SVC, MIN_LOAD, ", 'seed': 1.5", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: seed: ", "expected", "found 1.5");
	scn_errors_free(&e);

	m = load_as("{'duration': 'soon', 'services': {" MIN_SVC "},"
		    " 'load': [" MIN_LOAD "]}",
		    "t.json", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: duration: ", "expected", "found \"soon\"");
	scn_errors_free(&e);

	/* Keys that are not identifiers are quoted in the path. */
	m = load_scn("'my svc': {'queue': true, 'latency': '1ms'}",
		     "{'to': 'my svc', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: services[\"my svc\"].queue: ", "expected",
		      "found true");
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_missing_required)
{
	scn_errors e = {0};
	model *m = load_as("{}", "t.json", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: duration: ", "found nothing");
	ck_assert_err(&e, "t.json: services: ", "found nothing");
	ck_assert_err(&e, "t.json: load: ", "found nothing");
	scn_errors_free(&e);

	m = load_scn("", MIN_LOAD, "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: services: ", "non-empty", "found an object");
	scn_errors_free(&e);

	m = load_as("[1, 2]", "t.json", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: ", "scenario object", "found an array");
	scn_errors_free(&e);
}
END_TEST

/* ---- unknown keys ---- */

START_TEST(test_unknown_keys)
{
	static const struct {
		const char *svcs, *load, *extra;
		const char *path, *key, *near;
	} cases[] = {
		{MIN_SVC, MIN_LOAD, ", 'seeds': 3", "t.json: seeds: ", "seeds",
		 "seed"},
		{"'api': {'replica': 2, 'latency': '1ms'}", MIN_LOAD, "",
		 "t.json: services.api.replica: ", "replica", "replicas"},
		{MIN_SVC, "{'to': 'api', 'rps': 1, 'timout': '1s'}", "",
		 "t.json: load[0].timout: ", "timout", "timeout"},
		/* A transposition is two edits away and still suggested. */
		{MIN_SVC, "{'to': 'api', 'rps': 1, 'tiemout': '1s'}", "",
		 "t.json: load[0].tiemout: ", "tiemout", "timeout"},
		{"'api': {'latency': {'dist': 'uniform', 'min': '1ms',"
		 " 'max': '2ms', 'maxx': '3ms'}}",
		 MIN_LOAD, "", "t.json: services.api.latency.maxx: ", "maxx",
		 "max"},
		{"'api': {'script': [{'cal': 'api'}]}", MIN_LOAD, "",
		 "t.json: services.api.script[0].cal: ", "cal", "call"},
		{MIN_SVC, MIN_LOAD, ", 'network': {'latncy': '1ms'}",
		 "t.json: network.latncy: ", "latncy", "latency"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		scn_errors e = {0};
		char key[64], near[64];
		snprintf(key, sizeof key, "unknown key \"%s\"", cases[i].key);
		snprintf(near, sizeof near, "did you mean \"%s\"?",
			 cases[i].near);
		model *m = load_scn(cases[i].svcs, cases[i].load, cases[i].extra,
				    &e);
		ck_assert_msg(m == NULL, "case %zu accepted", i);
		ck_assert_msg(find_err(&e, cases[i].path, key, near,
				       (const char *)NULL),
			      "case %zu: no error with %s %s %s; errors:\n%s",
			      i, cases[i].path, key, near, dump(&e));
		scn_errors_free(&e);
	}
}
END_TEST

START_TEST(test_unknown_key_far)
{
	/* Nothing close: list what is allowed instead of guessing. */
	scn_errors e = {0};
	model *m = load_scn("'api': {'latency': '1ms', 'zookeeper': 1}",
			    MIN_LOAD, "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_err(&e, "t.json: services.api.zookeeper: ",
		      "unknown key \"zookeeper\"", "expected one of: ",
		      "replicas");
	ck_assert_ptr_null(strstr(e.msg[0], "did you mean"));
	scn_errors_free(&e);
}
END_TEST

/* ---- references between services ---- */

START_TEST(test_undefined_service)
{
	scn_errors e = {0};
	model *m = load_scn(
		"'frontend': {'script': [{'work': '1ms'}, {'call': 'nope'}]},"
		" 'back': {'latency': '1ms'}",
		"{'to': 'frontend', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: services.frontend.script[1].call: ",
		      "expected", "found \"nope\"", "not defined");
	scn_errors_free(&e);

	m = load_scn("'frontend': {'script': [{'call': {'service': 'ghost',"
		     " 'path': '/g'}}]}",
		     "{'to': 'frontend', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: services.frontend.script[0].call.service: ",
		      "found \"ghost\"", "not defined");
	scn_errors_free(&e);

	m = load_scn("'frontend': {'script': [{'parallel': ['back',"
		     " {'service': 'missing'}]}]}, 'back': {'latency': '1ms'}",
		     "{'to': 'frontend', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: services.frontend.script[0].parallel[1]",
		      "found \"missing\"", "not defined");
	scn_errors_free(&e);

	m = load_scn(MIN_SVC, "{'to': 'api'}, {'to': 'apu', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: load[1].to: ", "found \"apu\"",
		      "not defined");
	/* load[0] has neither rps nor users. */
	ck_assert_err(&e, "t.json: load[0]: ", "found neither");
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_calls_resolve)
{
	/* A service may call one defined after it; routes are shared. */
	scn_errors e = {0};
	model *m = load_scn(
		"'fe': {'script': [{'call': {'service': 'db', 'path': '/q',"
		" 'size': 100}}, {'parallel': ['db', {'service': 'db',"
		" 'path': '/q'}]}]}, 'db': {'latency': '1ms'}",
		"{'to': 'fe', 'rps': 1}", "", &e);
	ck_assert_loaded(m, &e);
	const model_service *fe = &m->services[svc(m, "fe")];
	ck_assert_uint_eq(fe->nsteps, 2);
	uint32_t q = fe->steps[0].routes[0];
	ck_assert_str_eq(m->routes[q].path, "/q");
	ck_assert_uint_eq(m->routes[q].service, (uint32_t)svc(m, "db"));
	ck_assert_uint_eq(fe->steps[0].sizes[0], 100);
	ck_assert_uint_eq(fe->steps[1].ncalls, 2);
	ck_assert_str_eq(m->routes[fe->steps[1].routes[0]].path, "/");
	ck_assert_uint_eq(fe->steps[1].routes[1], q);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

/* ---- cycles ---- */

START_TEST(test_cycle_two)
{
	scn_errors e = {0};
	model *m = load_scn("'a': {'script': [{'call': 'b'}]},"
			    " 'b': {'script': [{'work': '1ms'}, {'call': 'a'}]}",
			    "{'to': 'a', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: services.", "cycle", "a -> b -> a");
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_cycle_self)
{
	scn_errors e = {0};
	model *m = load_scn("'a': {'script': [{'parallel': ['a']}]}",
			    "{'to': 'a', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: services.a: ", "cycle", "a -> a");
	scn_errors_free(&e);
}
END_TEST

/* The cycle is named from where it closes, not from the service the
 * search happened to start at. */
START_TEST(test_cycle_off_entry)
{
	scn_errors e = {0};
	model *m = load_scn("'entry': {'script': [{'call': 'a'}]},"
			    " 'a': {'script': [{'call': 'b'}]},"
			    " 'b': {'script': [{'call': 'a'}]}",
			    "{'to': 'entry', 'rps': 1}", "", &e);
	ck_assert_rejected(m, &e);
	ck_assert_err(&e, "t.json: services.", "the cycle a -> b -> a");
	ck_assert_ptr_null(find_err(&e, "entry ->", (const char *)NULL));
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_diamond_is_not_a_cycle)
{
	/* Two paths to the same service are fine: only a way back is not. */
	scn_errors e = {0};
	model *m = load_scn("'a': {'script': [{'parallel': ['b', 'c']}]},"
			    " 'b': {'script': [{'call': 'd'}]},"
			    " 'c': {'script': [{'call': 'd'}]},"
			    " 'd': {'latency': '1ms'}",
			    "{'to': 'a', 'rps': 1}", "", &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->nservices, 4);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

/* ---- several errors at once ---- */

START_TEST(test_all_errors_reported)
{
	scn_errors e = {0};
	model *m = load_as(
		"{'duration': '10 s', 'seed': -1, 'colour': 'red',"
		" 'services': {'api': {'replicas': 0, 'latency': 'quick'},"
		"  'fe': {'script': [{'call': 'nowhere'}]}},"
		" 'load': [{'to': 'api', 'rps': 1, 'users': 2}],"
		" 'expect': {'p95': '<= 1ms'}}",
		"t.json", &e);
	ck_assert_ptr_null(m);
	ck_assert_msg(e.n >= 8, "only %zu errors:\n%s", e.n, dump(&e));
	ck_assert_err(&e, "t.json: duration: ", "found \"10 s\"");
	ck_assert_err(&e, "t.json: seed: ", "found -1");
	ck_assert_err(&e, "t.json: colour: ", "unknown key");
	ck_assert_err(&e, "t.json: services.api.replicas: ", "found 0");
	ck_assert_err(&e, "t.json: services.api.latency: ", "found \"quick\"");
	ck_assert_err(&e, "t.json: services.fe.script[0].call: ", "nowhere");
	ck_assert_err(&e, "t.json: load[0]: ", "found both");
	ck_assert_err(&e, "t.json: expect.p95: ", "unknown objective");
	for (size_t i = 0; i < e.n; i++)
		ck_assert_msg(strncmp(e.msg[i], "t.json: ", 8) == 0,
			      "no file name: %s", e.msg[i]);
	scn_errors_free(&e);
}
END_TEST

/* ---- load ---- */

START_TEST(test_rps_forms)
{
	scn_errors e = {0};
	model *m = load_scn(MIN_SVC, "{'to': 'api', 'rps': 12.5}", "", &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->clients[0].nphases, 1);
	ck_assert_uint_eq(m->clients[0].phases[0].at, 0);
	ck_assert_double_eq(m->clients[0].phases[0].rps, 12.5);
	model_free(m);

	m = load_scn(MIN_SVC,
		     "{'to': 'api', 'rps': [{'at': '0s', 'value': 100},"
		     " {'at': '2.5s', 'value': 0}, {'at': '4s', 'value': 300}]}",
		     "", &e);
	ck_assert_loaded(m, &e);
	const model_client *c = &m->clients[0];
	ck_assert_int_eq(c->kind, CLIENT_OPEN);
	ck_assert_uint_eq(c->nphases, 3);
	ck_assert_uint_eq(c->phases[1].at, 2500 * MESH_MS);
	ck_assert_double_eq(c->phases[1].rps, 0);
	ck_assert_uint_eq(c->phases[2].at, 4 * MESH_S);
	ck_assert_double_eq(c->phases[2].rps, 300);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_rps_bad)
{
	static const struct {
		const char *load, *path, *what;
	} cases[] = {
		{"{'to': 'api', 'rps': [{'at': '0s', 'value': 1},"
		 " {'at': '3s', 'value': 2}, {'at': '3s', 'value': 3}]}",
		 "t.json: load[0].rps[2].at: ", "later than the previous"},
		{"{'to': 'api', 'rps': [{'at': '5s', 'value': 1},"
		 " {'at': '1s', 'value': 2}]}",
		 "t.json: load[0].rps[1].at: ", "found \"1s\""},
		{"{'to': 'api', 'rps': [{'at': '0s', 'value': 1},"
		 " {'at': '10s', 'value': 2}]}",
		 "t.json: load[0].rps[1].at: ", "before the scenario's duration"},
		{"{'to': 'api', 'rps': [{'at': '0s'}]}", "t.json: load[0].rps[0]: ",
		 "\"value\" missing"},
		{"{'to': 'api', 'rps': []}", "t.json: load[0].rps: ",
		 "found an array"},
		{"{'to': 'api', 'rps': -3}", "t.json: load[0].rps: ", "found -3"},
		{"{'to': 'api', 'rps': 'lots'}", "t.json: load[0].rps: ",
		 "found \"lots\""},
		{"{'to': 'api', 'rps': 5, 'users': 3}", "t.json: load[0]: ",
		 "found both"},
		{"{'to': 'api'}", "t.json: load[0]: ", "found neither"},
		{"{'to': 'api', 'users': 0}", "t.json: load[0].users: ",
		 "found 0"},
		{"{'to': 'api', 'rps': 5, 'think': '1s'}",
		 "t.json: load[0].think: ", "open-loop"},
		{"{'to': 'api', 'users': 5, 'arrival': 'poisson'}",
		 "t.json: load[0].arrival: ", "closed-loop"},
		{"{'to': 'api', 'rps': 5, 'arrival': 'bursty'}",
		 "t.json: load[0].arrival: ", "found \"bursty\""},
		{"{'to': 'api', 'rps': 5, 'timeout': '0s'}",
		 "t.json: load[0].timeout: ", "above zero"},
		{"{'rps': 5}", "t.json: load[0].to: ", "found nothing"},
		{"{'to': 'api', 'path': 'x', 'rps': 5}", "t.json: load[0].path: ",
		 "found \"x\""},
		{"{'name': 'dup', 'to': 'api', 'rps': 1},"
		 " {'name': 'dup', 'to': 'api', 'rps': 2}",
		 "t.json: load[1].name: ", "unique"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		scn_errors e = {0};
		model *m = load_scn(MIN_SVC, cases[i].load, "", &e);
		ck_assert_msg(m == NULL, "accepted %s", cases[i].load);
		ck_assert_msg(find_err(&e, cases[i].path, "expected",
				       cases[i].what, (const char *)NULL),
			      "%s: no error with %s and %s; errors:\n%s",
			      cases[i].load, cases[i].path, cases[i].what,
			      dump(&e));
		scn_errors_free(&e);
	}
}
END_TEST

/* ---- objectives ---- */

static const model_objective *objective(const model *m,
					enum model_metric metric,
					enum model_scope scope)
{
	for (uint32_t i = 0; i < m->nobjectives; i++)
		if (m->objectives[i].metric == metric &&
		    m->objectives[i].scope == scope)
			return &m->objectives[i];
	ck_abort_msg("no objective %s", model_metric_name(metric));
	return NULL;
}

START_TEST(test_expect_parse)
{
	scn_errors e = {0};
	model *m = load_scn(
		MIN_SVC ", 'db': {'latency': '1ms'}",
		"{'name': 'shoppers', 'to': 'api', 'rps': 10}",
		", 'expect': {'success_rate': '>= 0.99', 'error_rate': '< 1%',"
		" 'p99': '<= 300ms', 'requests': '> 100',"
		" 'services': {'db': {'p50': '< 2ms', 'success_rate': '>= 99%'}},"
		" 'clients': {'shoppers': {'timeouts': '== 0'}}}",
		&e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->nobjectives, 7);

	const model_objective *o =
		objective(m, METRIC_SUCCESS_RATE, SCOPE_OVERALL);
	ck_assert_int_eq(o->op, OP_GE);
	ck_assert_double_eq_tol(o->target, 0.99, 1e-12);
	ck_assert_str_eq(o->text, ">= 0.99");

	o = objective(m, METRIC_ERROR_RATE, SCOPE_OVERALL);
	ck_assert_int_eq(o->op, OP_LT);
	ck_assert_double_eq_tol(o->target, 0.01, 1e-12);

	/* Latency targets are in ns. */
	o = objective(m, METRIC_P99, SCOPE_OVERALL);
	ck_assert_int_eq(o->op, OP_LE);
	ck_assert_double_eq(o->target, 300e6);

	o = objective(m, METRIC_REQUESTS, SCOPE_OVERALL);
	ck_assert_int_eq(o->op, OP_GT);
	ck_assert_double_eq(o->target, 100);

	o = objective(m, METRIC_P50, SCOPE_SERVICE);
	ck_assert_uint_eq(o->index, (uint32_t)svc(m, "db"));
	ck_assert_int_eq(o->op, OP_LT);
	ck_assert_double_eq(o->target, 2e6);

	/* "99%" is the rate 0.99. */
	o = objective(m, METRIC_SUCCESS_RATE, SCOPE_SERVICE);
	ck_assert_uint_eq(o->index, (uint32_t)svc(m, "db"));
	ck_assert_int_eq(o->op, OP_GE);
	ck_assert_double_eq_tol(o->target, 0.99, 1e-12);
	ck_assert_str_eq(o->text, ">= 99%");

	o = objective(m, METRIC_TIMEOUTS, SCOPE_CLIENT);
	ck_assert_uint_eq(o->index, 0);
	ck_assert_int_eq(o->op, OP_EQ);
	ck_assert_double_eq(o->target, 0);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_expect_bad)
{
	static const struct {
		const char *expect, *path, *what;
	} cases[] = {
		{"{'p95': '<= 1ms'}", "t.json: expect.p95: ",
		 "unknown objective \"p95\""},
		{"{'success_rate': '0.99'}", "t.json: expect.success_rate: ",
		 "found \"0.99\""},
		{"{'success_rate': '=> 0.99'}", "t.json: expect.success_rate: ",
		 "found \"=> 0.99\""},
		{"{'success_rate': '>= 2'}", "t.json: expect.success_rate: ",
		 "between 0 and 1"},
		{"{'success_rate': '>= 0.9x'}", "t.json: expect.success_rate: ",
		 "expected"},
		{"{'success_rate': 0.99}", "t.json: expect.success_rate: ",
		 "found 0.99"},
		{"{'p99': '<= 300'}", "t.json: expect.p99: ", "found \"<= 300\""},
		{"{'p99': '<= fast'}", "t.json: expect.p99: ", "duration"},
		{"{'errors': '<= 5%'}", "t.json: expect.errors: ", "count"},
		{"{'services': {'nope': {'p99': '<= 1ms'}}}",
		 "t.json: expect.services.nope: ", "found \"nope\""},
		{"{'clients': {'nobody': {'p99': '<= 1ms'}}}",
		 "t.json: expect.clients.nobody: ", "not defined"},
		{"{'services': {'api': {'services': {}}}}",
		 "t.json: expect.services.api.services: ", "unknown objective"},
		{"{'services': ['api']}", "t.json: expect.services: ",
		 "found an array"},
		{"'p99 <= 1ms'", "t.json: expect: ", "found \"p99 <= 1ms\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		scn_errors e = {0};
		char extra[512];
		snprintf(extra, sizeof extra, ", 'expect': %s", cases[i].expect);
		model *m = load_scn(MIN_SVC, MIN_LOAD, extra, &e);
		ck_assert_msg(m == NULL, "accepted %s", cases[i].expect);
		ck_assert_msg(find_err(&e, cases[i].path, "expected",
				       cases[i].what, (const char *)NULL),
			      "%s: no error with %s and %s; errors:\n%s",
			      cases[i].expect, cases[i].path, cases[i].what,
			      dump(&e));
		scn_errors_free(&e);
	}
}
END_TEST

/* ---- JSON itself ---- */

START_TEST(test_invalid_json)
{
	scn_errors e = {0};
	/* The missing comma is on line 3. */
	model *m = load_as("{\n  'duration': '1s',\n  'seed': 1 'drain': '1s'\n}",
			   "t.json", &e);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_msg(strncmp(e.msg[0], "t.json:3:", 9) == 0, "%s", e.msg[0]);
	int line = 0, col = 0;
	ck_assert_int_eq(sscanf(e.msg[0], "t.json:%d:%d:", &line, &col), 2);
	ck_assert_int_eq(line, 3);
	ck_assert_int_gt(col, 0);
	ck_assert_err(&e, "expected valid JSON");
	scn_errors_free(&e);

	m = load_as("", "t.json", &e);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_err(&e, "t.json:", "expected valid JSON");
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_duplicate_keys)
{
	scn_errors e = {0};
	model *m = load_scn("'api': {'replicas': 1, 'replicas': 2, "
			    "'latency': '1ms'}",
			    MIN_LOAD, "", &e);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_err(&e, "t.json:1:", "duplicate", "replicas");
	scn_errors_free(&e);
}
END_TEST

Suite *scenario_suite(void)
{
	Suite *s = suite_create("scenario");
	TCase *tc = tcase_create("duration");
	tcase_add_test(tc, test_duration_units);
	tcase_add_test(tc, test_duration_rejects);
	suite_add_tcase(s, tc);

	tc = tcase_create("load");
	tcase_add_test(tc, test_minimal_defaults);
	tcase_add_test(tc, test_name_from_file_and_key);
	tcase_add_test(tc, test_explicit_settings);
	tcase_add_test(tc, test_file_quickstart);
	tcase_add_test(tc, test_file_missing);
	tcase_add_test(tc, test_errors_accumulate);
	suite_add_tcase(s, tc);

	tc = tcase_create("dist");
	tcase_add_test(tc, test_dist_constant);
	tcase_add_test(tc, test_dist_uniform_exponential);
	tcase_add_test(tc, test_dist_lognormal);
	tcase_add_test(tc, test_dist_empirical);
	tcase_add_test(tc, test_dist_elsewhere);
	tcase_add_test(tc, test_dist_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("messages");
	tcase_add_test(tc, test_message_format);
	tcase_add_test(tc, test_missing_required);
	tcase_add_test(tc, test_unknown_keys);
	tcase_add_test(tc, test_unknown_key_far);
	tcase_add_test(tc, test_all_errors_reported);
	suite_add_tcase(s, tc);

	tc = tcase_create("graph");
	tcase_add_test(tc, test_undefined_service);
	tcase_add_test(tc, test_calls_resolve);
	tcase_add_test(tc, test_cycle_two);
	tcase_add_test(tc, test_cycle_self);
	tcase_add_test(tc, test_cycle_off_entry);
	tcase_add_test(tc, test_diamond_is_not_a_cycle);
	suite_add_tcase(s, tc);

	tc = tcase_create("clients");
	tcase_add_test(tc, test_rps_forms);
	tcase_add_test(tc, test_rps_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("expect");
	tcase_add_test(tc, test_expect_parse);
	tcase_add_test(tc, test_expect_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_invalid_json);
	tcase_add_test(tc, test_duplicate_keys);
	suite_add_tcase(s, tc);
	return s;
}
