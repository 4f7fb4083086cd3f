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
#include <sys/stat.h>
#include <unistd.h>

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
	/* Without "versions", one version named "default" holds it all. */
	ck_assert_uint_eq(s->nversions, 1);
	ck_assert_str_eq(s->versions[0].name, "default");
	ck_assert_uint_eq(s->versions[0].replicas, 1);
	ck_assert_uint_eq(s->versions[0].first, 0);
	const model_behavior *b = &s->versions[0].b;
	ck_assert_uint_eq(b->concurrency, MODEL_UNLIMITED);
	ck_assert_uint_eq(b->queue, MODEL_UNLIMITED);
	ck_assert_uint_eq(b->nerrors, 0);
	ck_assert_uint_eq(b->nsteps, 1);
	ck_assert_int_eq(b->steps[0].kind, STEP_WORK);
	/* No "defaults": the plain-forwarder preset, no rules. */
	ck_assert_str_eq(m->defaults, "none");
	ck_assert_uint_eq(s->policy.timeout, MESH_NEVER);
	ck_assert_uint_eq(s->policy.retry.attempts, 0);
	ck_assert_int_eq(s->policy.lb, LB_ROUND_ROBIN);
	ck_assert_uint_eq(s->policy.nrules, 0);
	ck_assert_uint_eq(m->nheaders, 0);
	ck_assert_uint_eq(m->nheader_names, 0);
	ck_assert_uint_eq(m->nfaults, 0);

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
	ck_assert_int_eq(c->method, METHOD_GET);
	ck_assert_uint_eq(c->headers, 0);
	ck_assert_uint_eq(c->user_header, MODEL_NONE);
	ck_assert_uint_eq(c->user_count, 0);
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
	ck_assert_uint_eq(s->nversions, 1);
	ck_assert_uint_eq(s->versions[0].replicas, 3);
	const model_behavior *b = &s->versions[0].b;
	ck_assert_uint_eq(b->concurrency, 8);
	ck_assert_uint_eq(b->queue, 0);
	ck_assert_uint_eq(b->response_size, 512);
	ck_assert_uint_eq(b->nerrors, 1);
	ck_assert_uint_eq(b->errors[0].status, 503);
	ck_assert_double_eq(b->errors[0].probability, 0.25);
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
	const model_service *fes = &m->services[svc(m, "frontend")];
	ck_assert_uint_eq(fes->replicas, 2);
	ck_assert_uint_eq(fes->nversions, 1);
	const model_behavior *fe = &fes->versions[0].b;
	ck_assert_uint_eq(fe->nsteps, 3);
	ck_assert_int_eq(fe->steps[1].kind, STEP_CALL);
	ck_assert_int_eq(fe->steps[2].kind, STEP_PARALLEL);
	ck_assert_uint_eq(fe->steps[2].ncalls, 2);
	ck_assert_uint_eq(m->routes[fe->steps[1].routes[0]].service,
			  (uint32_t)svc(m, "catalog"));
	ck_assert_uint_eq(m->services[svc(m, "ratings")].versions[0].b.queue,
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
	ck_assert_uint_eq(m->services[0].nversions, 1);
	ck_assert_uint_eq(m->services[0].versions[0].b.nsteps, 1);
	return &m->services[0].versions[0].b.steps[0].work;
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
	const model_behavior *fe = &m->services[svc(m, "fe")].versions[0].b;
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

/* ---- versions ---- */

static const model_version *version(const model_service *s, const char *name)
{
	for (uint32_t v = 0; v < s->nversions; v++)
		if (strcmp(s->versions[v].name, name) == 0)
			return &s->versions[v];
	ck_abort_msg("no version %s in %s", name, s->name);
	return NULL;
}

/* A rejected load with an error holding every needle; the case's text is
 * in the failure report. */
static void check_rejected(const char *svcs, const char *load,
			   const char *extra, const char *path,
			   const char *what)
{
	scn_errors e = {0};
	model *m = load_scn(svcs, load, extra, &e);
	ck_assert_msg(m == NULL, "accepted: %s | %s | %s", svcs, load, extra);
	ck_assert_msg(find_err(&e, path, what, (const char *)NULL),
		      "%s | %s | %s:\nno error with %s and %s; errors:\n%s",
		      svcs, load, extra, path, what, dump(&e));
	scn_errors_free(&e);
}

START_TEST(test_versions_inherit)
{
	scn_errors e = {0};
	model *m = load_scn(
		"'reviews': {'concurrency': 8, 'queue': 4, 'latency': '5ms',"
		" 'response_size': 100,"
		" 'errors': [{'status': 500, 'probability': 0.1}],"
		" 'versions': {"
		"  'v1': {'replicas': 2},"
		"  'v2': {},"
		"  'v3': {'replicas': 3, 'concurrency': 2, 'queue': 1,"
		"         'script': [{'work': '1ms'}, {'call': 'ratings'}],"
		"         'errors': [], 'response_size': 7}}},"
		" 'ratings': {'latency': '1ms'}",
		"{'to': 'reviews', 'rps': 1}", "", &e);
	ck_assert_loaded(m, &e);
	const model_service *s = &m->services[svc(m, "reviews")];
	ck_assert_uint_eq(s->nversions, 3);
	ck_assert_uint_eq(s->replicas, 6);
	/* In the order written; instances numbered across versions. */
	ck_assert_str_eq(s->versions[0].name, "v1");
	ck_assert_str_eq(s->versions[1].name, "v2");
	ck_assert_str_eq(s->versions[2].name, "v3");
	const model_version *v1 = version(s, "v1"), *v2 = version(s, "v2"),
			    *v3 = version(s, "v3");
	ck_assert_uint_eq(v1->replicas, 2);
	ck_assert_uint_eq(v1->first, 0);
	ck_assert_uint_eq(v2->replicas, 1);
	ck_assert_uint_eq(v2->first, 2);
	ck_assert_uint_eq(v3->replicas, 3);
	ck_assert_uint_eq(v3->first, 3);
	ck_assert_uint_eq(model_version_of(s, 2), 1);
	ck_assert_uint_eq(model_version_of(s, 5), 2);
	/* Absent keys come from the service. */
	for (int i = 0; i < 2; i++) {
		const model_behavior *b = i ? &v2->b : &v1->b;
		ck_assert_uint_eq(b->concurrency, 8);
		ck_assert_uint_eq(b->queue, 4);
		ck_assert_uint_eq(b->response_size, 100);
		ck_assert_uint_eq(b->nsteps, 1);
		ck_assert_int_eq(b->steps[0].kind, STEP_WORK);
		ck_assert_uint_eq(b->steps[0].work.a, 5 * MESH_MS);
		ck_assert_uint_eq(b->nerrors, 1);
		ck_assert_uint_eq(b->errors[0].status, 500);
	}
	/* Each version owns its copy (model_free frees each). */
	ck_assert_ptr_ne(v1->b.steps, v2->b.steps);
	ck_assert_ptr_ne(v1->b.errors, v2->b.errors);
	/* Given keys replace the inherited ones whole. */
	ck_assert_uint_eq(v3->b.concurrency, 2);
	ck_assert_uint_eq(v3->b.queue, 1);
	ck_assert_uint_eq(v3->b.response_size, 7);
	ck_assert_uint_eq(v3->b.nerrors, 0);
	ck_assert_uint_eq(v3->b.nsteps, 2);
	ck_assert_int_eq(v3->b.steps[1].kind, STEP_CALL);
	ck_assert_uint_eq(m->routes[v3->b.steps[1].routes[0]].service,
			  (uint32_t)svc(m, "ratings"));
	model_free(m);

	/* A version's latency replaces a service-level script. */
	m = load_scn("'a': {'script': [{'call': 'b'}], 'versions': {"
		     " 'old': {}, 'new': {'latency': '2ms'}}},"
		     " 'b': {'latency': '1ms'}",
		     "{'to': 'a', 'rps': 1}", "", &e);
	ck_assert_loaded(m, &e);
	s = &m->services[svc(m, "a")];
	ck_assert_int_eq(version(s, "old")->b.steps[0].kind, STEP_CALL);
	ck_assert_uint_eq(version(s, "new")->b.nsteps, 1);
	ck_assert_int_eq(version(s, "new")->b.steps[0].kind, STEP_WORK);
	ck_assert_uint_eq(version(s, "new")->b.steps[0].work.a, 2 * MESH_MS);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_versions_bad)
{
	static const struct {
		const char *svcs, *path, *what;
	} cases[] = {
		{"'api': {'replicas': 2, 'versions': {'v1': {}}}",
		 "t.json: services.api.replicas: ", "replicas go in each version"},
		{"'api': {'versions': {}}", "t.json: services.api.versions: ",
		 "non-empty object of versions"},
		{"'api': {'versions': ['v1']}", "t.json: services.api.versions: ",
		 "found an array"},
		{"'api': {'versions': {'v1': 3}}",
		 "t.json: services.api.versions.v1: ", "found 3"},
		{"'api': {'versions': {'v1': {'weight': 3}}}",
		 "t.json: services.api.versions.v1.weight: ",
		 "unknown key \"weight\""},
		{"'api': {'versions': {'v1': {'sidecar': {}}}}",
		 "t.json: services.api.versions.v1.sidecar: ", "unknown key"},
		{"'api': {'versions': {'v1': {'replicas': 0}}}",
		 "t.json: services.api.versions.v1.replicas: ", "found 0"},
		{"'api': {'versions': {'v1': {'queue': 3}}}",
		 "t.json: services.api.versions.v1.queue: ",
		 "expected \"concurrency\" beside \"queue\""},
		{"'api': {'queue': 3, 'versions': {'v1': {'concurrency': 1},"
		 " 'v2': {}}}",
		 "t.json: services.api.versions.v2: ", "inherited from services.api"},
		{"'api': {'versions': {'v1': {'latency': '1ms', 'script': []}}}",
		 "t.json: services.api.versions.v1.latency: ", "found both"},
		{"'api': {'versions': {'v1': {'latency': 'soon'}}}",
		 "t.json: services.api.versions.v1.latency: ", "found \"soon\""},
		{"'api': {'versions': {'v1': {'errors': [{'status': 500,"
		 " 'probability': 2}]}}}",
		 "t.json: services.api.versions.v1.errors[0].probability: ",
		 "found 2"},
		{"'api': {'versions': {'v1': {'script': [{'call': 'nope'}]}}}",
		 "t.json: services.api.versions.v1.script[0].call: ",
		 "not defined"},
		{"'api': {'versions': {'v1': {'replicas': 60000},"
		 " 'v2': {'replicas': 60000}}}",
		 "t.json: services.api.versions: ", "at most 100000"},
		/* A cycle through a version's own script. */
		{"'api': {'versions': {'v1': {}, 'v2': {'script': [{'call':"
		 " 'b'}]}}}, 'b': {'script': [{'call': 'api'}]}",
		 "t.json: services.", "cycle api -> b -> api"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_rejected(cases[i].svcs, "{'to': 'api', 'rps': 1}", "",
			       cases[i].path, cases[i].what);
}
END_TEST

/* ---- headers, methods, user ids ---- */

START_TEST(test_headers_interned)
{
	scn_errors e = {0};
	model *m = load_scn(
		MIN_SVC,
		"{'to': 'api', 'rps': 1, 'method': 'POST',"
		" 'headers': {'X-Canary': '1', 'x-env': 'Stage'}},"
		"{'to': 'api', 'rps': 1, 'headers': {'x-canary': '1',"
		" 'X-CANARY-2': 'a'}, 'user_ids': {'header': 'X-User-Id',"
		" 'count': 1000}},"
		"{'to': 'api', 'users': 1, 'method': 'OPTIONS',"
		" 'user_ids': {'header': 'x-user-id', 'count': 1}}",
		"", &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->nheaders, 3);
	/* Names lower-cased, values as written. */
	ck_assert_str_eq(m->headers[0].name, "x-canary");
	ck_assert_str_eq(m->headers[0].value, "1");
	ck_assert_str_eq(m->headers[1].name, "x-env");
	ck_assert_str_eq(m->headers[1].value, "Stage");
	ck_assert_str_eq(m->headers[2].name, "x-canary-2");
	ck_assert_uint_eq(m->clients[0].headers, 0x3);
	ck_assert_uint_eq(m->clients[1].headers, 0x5);
	ck_assert_uint_eq(m->clients[2].headers, 0);
	ck_assert_int_eq(m->clients[0].method, METHOD_POST);
	ck_assert_int_eq(m->clients[1].method, METHOD_GET);
	ck_assert_int_eq(m->clients[2].method, METHOD_OPTIONS);
	/* One interned name for both spellings. */
	ck_assert_uint_eq(m->nheader_names, 1);
	ck_assert_str_eq(m->header_names[0], "x-user-id");
	ck_assert_uint_eq(m->clients[0].user_header, MODEL_NONE);
	ck_assert_uint_eq(m->clients[0].user_count, 0);
	ck_assert_uint_eq(m->clients[1].user_header, 0);
	ck_assert_uint_eq(m->clients[1].user_count, 1000);
	ck_assert_uint_eq(m->clients[2].user_header, 0);
	ck_assert_uint_eq(m->clients[2].user_count, 1);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_headers_limit)
{
	/* 64 distinct pairs are fine; the 65th is an error. Case does not
	 * make a pair distinct. */
	char load[4096];
	for (int n = 64; n <= 65; n++) {
		size_t l = (size_t)snprintf(load, sizeof load,
					    "{'to': 'api', 'rps': 1, 'headers': {"
					    "'H0': 'v', 'h0': 'v'");
		for (int i = 1; i < n; i++)
			l += (size_t)snprintf(load + l, sizeof load - l,
					      ", 'h%d': 'v'", i);
		snprintf(load + l, sizeof load - l, "}}");
		scn_errors e = {0};
		model *m = load_scn(MIN_SVC, load, "", &e);
		if (n == 64) {
			ck_assert_loaded(m, &e);
			ck_assert_uint_eq(m->nheaders, 64);
			ck_assert_uint_eq(m->clients[0].headers, UINT64_MAX);
			model_free(m);
		} else {
			ck_assert_rejected(m, &e);
			ck_assert_err(&e, "t.json: load[0].headers.h64: ",
				      "at most 64 distinct header pairs");
		}
		scn_errors_free(&e);
	}
}
END_TEST

START_TEST(test_headers_bad)
{
	static const struct {
		const char *load, *path, *what;
	} cases[] = {
		{"{'to': 'api', 'rps': 1, 'method': 'FETCH'}",
		 "t.json: load[0].method: ", "found \"FETCH\""},
		{"{'to': 'api', 'rps': 1, 'method': 'get'}",
		 "t.json: load[0].method: ", "\"GET\""},
		{"{'to': 'api', 'rps': 1, 'method': ['GET']}",
		 "t.json: load[0].method: ", "found an array"},
		{"{'to': 'api', 'rps': 1, 'headers': ['x']}",
		 "t.json: load[0].headers: ", "found an array"},
		{"{'to': 'api', 'rps': 1, 'headers': {'x': 1}}",
		 "t.json: load[0].headers.x: ", "found 1"},
		{"{'to': 'api', 'rps': 1, 'headers': {'a b': 'c'}}",
		 "t.json: load[0].headers[\"a b\"]: ", "header name"},
		{"{'to': 'api', 'rps': 1, 'user_ids': {'count': 5}}",
		 "t.json: load[0].user_ids: ", "\"header\" missing"},
		{"{'to': 'api', 'rps': 1, 'user_ids': {'header': 'x-u'}}",
		 "t.json: load[0].user_ids: ", "\"count\" missing"},
		{"{'to': 'api', 'rps': 1, 'user_ids': {'header': 'x-u',"
		 " 'count': 0}}",
		 "t.json: load[0].user_ids.count: ", "found 0"},
		{"{'to': 'api', 'rps': 1, 'user_ids': {'header': '',"
		 " 'count': 3}}",
		 "t.json: load[0].user_ids.header: ", "header name"},
		{"{'to': 'api', 'rps': 1, 'user_ids': {'header': 'x-u',"
		 " 'count': 3, 'cuont': 1}}",
		 "t.json: load[0].user_ids.cuont: ", "did you mean \"count\""},
		{"{'to': 'api', 'rps': 1, 'user_ids': 1000}",
		 "t.json: load[0].user_ids: ", "found 1000"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_rejected(MIN_SVC, cases[i].load, "", cases[i].path,
			       cases[i].what);
}
END_TEST

/* ---- presets ---- */

START_TEST(test_presets)
{
	scn_errors e = {0};
	model *m = load_scn(MIN_SVC ", 'db': {'latency': '1ms'}", MIN_LOAD,
			    ", 'defaults': 'istio'", &e);
	ck_assert_loaded(m, &e);
	ck_assert_str_eq(m->defaults, "istio");
	for (uint32_t i = 0; i < m->nservices; i++) {
		const model_policy *p = &m->services[i].policy;
		ck_assert_uint_eq(p->retry.attempts, 2);
		ck_assert(p->retry.on & RETRY_RETRIABLE_STATUS);
		ck_assert_uint_eq(p->retry.nstatuses, 1);
		ck_assert_uint_eq(p->retry.statuses[0], 503);
		ck_assert_int_eq(p->lb, LB_LEAST_REQUEST);
		ck_assert_uint_eq(p->timeout, MESH_NEVER);
	}
	model_free(m);

	m = load_scn(MIN_SVC, MIN_LOAD, ", 'defaults': 'envoy'", &e);
	ck_assert_loaded(m, &e);
	const model_policy *p = &m->services[0].policy;
	ck_assert_uint_eq(p->timeout, 15 * MESH_S);
	ck_assert_uint_eq(p->breaker.max_connections, 1024);
	ck_assert_uint_eq(p->breaker.max_pending, 1024);
	ck_assert_uint_eq(p->breaker.max_requests, 1024);
	ck_assert_uint_eq(p->breaker.max_retries, 3);
	ck_assert_uint_eq(p->retry.attempts, 0);
	ck_assert_int_eq(p->lb, LB_ROUND_ROBIN);
	ck_assert_double_eq(p->panic_threshold, 50);
	model_free(m);

	m = load_scn(MIN_SVC, MIN_LOAD, ", 'defaults': 'linkerd'", &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(m->services[0].policy.lb, LB_PEAK_EWMA);
	ck_assert_int_eq(m->services[0].policy.retry.budget, BUDGET_LINKERD);
	model_free(m);

	/* "mesh" overrides a preset key by key; the rest stays. */
	m = load_scn(MIN_SVC, MIN_LOAD,
		     ", 'defaults': 'envoy', 'mesh': {'api': {'timeout': '2s',"
		     " 'circuit_breaker': {'max_pending': 10}}}",
		     &e);
	ck_assert_loaded(m, &e);
	p = &m->services[0].policy;
	ck_assert_uint_eq(p->timeout, 2 * MESH_S);
	ck_assert_uint_eq(p->breaker.max_pending, 10);
	ck_assert_uint_eq(p->breaker.max_connections, 1024);
	ck_assert_uint_eq(p->breaker.max_retries, 3);
	model_free(m);
	scn_errors_free(&e);

	check_rejected(MIN_SVC, MIN_LOAD, ", 'defaults': 'nginx'",
		       "t.json: defaults: ", "found \"nginx\"");
	check_rejected(MIN_SVC, MIN_LOAD, ", 'defaults': 'Istio'",
		       "t.json: defaults: ", "\"istio\"");
	check_rejected(MIN_SVC, MIN_LOAD, ", 'defaults': true",
		       "t.json: defaults: ", "found true");
}
END_TEST

/* ---- mesh policies ---- */

START_TEST(test_policy_keys)
{
	scn_errors e = {0};
	model *m = load_scn(
		MIN_SVC ", 'db': {'latency': '1ms'}, 'c': {'latency': '1ms'}",
		MIN_LOAD,
		", 'mesh': {'api': {'timeout': '3s', 'connect_timeout': '250ms',"
		"  'retries': {'attempts': 4, 'per_try_timeout': '500ms',"
		"   'on': ['5xx', 'reset'], 'backoff': {'base': '10ms'},"
		"   'other_host': false, 'budget': {'percent': 30}},"
		"  'lb': {'policy': 'least_request', 'choice_count': 3},"
		"  'circuit_breaker': {'max_connections': 1, 'max_pending': 0,"
		"   'max_requests': 5, 'max_retries': 0},"
		"  'outlier': {'consecutive_5xx': 3,"
		"   'consecutive_gateway_errors': 2, 'interval': '5s',"
		"   'base_ejection': '10s', 'max_ejection': '1m',"
		"   'max_ejection_percent': 50},"
		"  'panic_threshold': 0},"
		" 'db': {'timeout': 'none', 'outlier': {},"
		"  'retries': {'per_try_timeout': 'none',"
		"   'backoff': {'base': '10ms', 'max': '20ms'}}},"
		" 'c': {'outlier': false, 'retries': {'backoff': {'max': '1s'}}}}",
		&e);
	ck_assert_loaded(m, &e);
	const model_policy *p = &m->services[svc(m, "api")].policy;
	ck_assert_uint_eq(p->timeout, 3 * MESH_S);
	ck_assert_uint_eq(p->connect_timeout, 250 * MESH_MS);
	ck_assert_uint_eq(p->retry.attempts, 4);
	ck_assert_uint_eq(p->retry.per_try_timeout, 500 * MESH_MS);
	ck_assert_uint_eq(p->retry.on, RETRY_5XX | RETRY_RESET);
	ck_assert_uint_eq(p->retry.nstatuses, 0);
	/* As Envoy: the maximum backoff is 10 times the base. */
	ck_assert_uint_eq(p->retry.backoff_base, 10 * MESH_MS);
	ck_assert_uint_eq(p->retry.backoff_max, 100 * MESH_MS);
	ck_assert_int_eq(p->retry.other_host, 0);
	ck_assert_int_eq(p->retry.budget, BUDGET_ENVOY);
	ck_assert_double_eq(p->retry.budget_percent, 30);
	ck_assert_uint_eq(p->retry.min_concurrency, 3);
	ck_assert_int_eq(p->lb, LB_LEAST_REQUEST);
	ck_assert_uint_eq(p->choice_count, 3);
	ck_assert_uint_eq(p->ring_header, MODEL_NONE);
	ck_assert_uint_eq(p->breaker.max_connections, 1);
	ck_assert_uint_eq(p->breaker.max_pending, 0);
	ck_assert_uint_eq(p->breaker.max_requests, 5);
	ck_assert_uint_eq(p->breaker.max_retries, 0);
	ck_assert_int_eq(p->outlier.enabled, 1);
	ck_assert_uint_eq(p->outlier.consecutive_5xx, 3);
	ck_assert_uint_eq(p->outlier.consecutive_gateway, 2);
	ck_assert_uint_eq(p->outlier.interval, 5 * MESH_S);
	ck_assert_uint_eq(p->outlier.base_ejection, 10 * MESH_S);
	ck_assert_uint_eq(p->outlier.max_ejection, 60 * MESH_S);
	ck_assert_double_eq(p->outlier.max_ejection_percent, 50);
	ck_assert_double_eq(p->panic_threshold, 0);

	p = &m->services[svc(m, "db")].policy;
	ck_assert_uint_eq(p->timeout, MESH_NEVER);
	ck_assert_uint_eq(p->retry.per_try_timeout, MESH_NEVER);
	ck_assert_uint_eq(p->retry.backoff_base, 10 * MESH_MS);
	ck_assert_uint_eq(p->retry.backoff_max, 20 * MESH_MS);
	/* An empty outlier object: on, with Envoy's defaults. */
	ck_assert_int_eq(p->outlier.enabled, 1);
	ck_assert_uint_eq(p->outlier.consecutive_5xx, 5);
	ck_assert_uint_eq(p->outlier.interval, 10 * MESH_S);
	ck_assert_uint_eq(p->outlier.base_ejection, 30 * MESH_S);
	ck_assert_uint_eq(p->outlier.max_ejection, 300 * MESH_S);
	ck_assert_double_eq(p->outlier.max_ejection_percent, 10);

	p = &m->services[svc(m, "c")].policy;
	ck_assert_int_eq(p->outlier.enabled, 0);
	ck_assert_uint_eq(p->retry.backoff_base, 25 * MESH_MS);
	ck_assert_uint_eq(p->retry.backoff_max, 1 * MESH_S);
	model_free(m);

	/* A base ejection above the 300s default raises the maximum to it,
	 * as Envoy does. */
	m = load_scn(MIN_SVC, MIN_LOAD,
		     ", 'mesh': {'api': {'outlier': {'base_ejection': '10m'}}}",
		     &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->services[0].policy.outlier.max_ejection,
			  600 * MESH_S);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_policy_bad)
{
	static const struct {
		const char *mesh, *path, *what;
	} cases[] = {
		{"{'nope': {}}", "t.json: mesh.nope: ", "not defined"},
		{"['api']", "t.json: mesh: ", "found an array"},
		{"{'api': 3}", "t.json: mesh.api: ", "found 3"},
		{"{'api': {'retrys': {}}}", "t.json: mesh.api.retrys: ",
		 "did you mean \"retries\""},
		{"{'api': {'timeout': '0s'}}", "t.json: mesh.api.timeout: ",
		 "above zero"},
		{"{'api': {'timeout': 5}}", "t.json: mesh.api.timeout: ",
		 "or \"none\", found 5"},
		{"{'api': {'connect_timeout': '0'}}",
		 "t.json: mesh.api.connect_timeout: ", "above zero"},
		{"{'api': {'connect_timeout': 'none'}}",
		 "t.json: mesh.api.connect_timeout: ", "found \"none\""},
		{"{'api': {'retries': 2}}", "t.json: mesh.api.retries: ",
		 "found 2"},
		{"{'api': {'retries': {'atempts': 2}}}",
		 "t.json: mesh.api.retries.atempts: ", "did you mean \"attempts\""},
		{"{'api': {'retries': {'attempts': -1}}}",
		 "t.json: mesh.api.retries.attempts: ", "found -1"},
		{"{'api': {'retries': {'per_try_timeout': 'fast'}}}",
		 "t.json: mesh.api.retries.per_try_timeout: ", "found \"fast\""},
		{"{'api': {'retries': {'per_try_timeout': '0s'}}}",
		 "t.json: mesh.api.retries.per_try_timeout: ", "above zero"},
		{"{'api': {'retries': {'on': '5xx,bogus'}}}",
		 "t.json: mesh.api.retries.on: ", "found \"bogus\""},
		{"{'api': {'retries': {'on': '5xx,,reset'}}}",
		 "t.json: mesh.api.retries.on: ", "comma-separated"},
		{"{'api': {'retries': {'on': ''}}}",
		 "t.json: mesh.api.retries.on: ", "comma-separated"},
		{"{'api': {'retries': {'on': '5xx,99'}}}",
		 "t.json: mesh.api.retries.on: ", "found 99"},
		{"{'api': {'retries': {'on': ['reset', 600]}}}",
		 "t.json: mesh.api.retries.on[1]: ", "found 600"},
		{"{'api': {'retries': {'on': ['reset', 'Reset']}}}",
		 "t.json: mesh.api.retries.on[1]: ", "found \"Reset\""},
		{"{'api': {'retries': {'on': ['reset', true]}}}",
		 "t.json: mesh.api.retries.on[1]: ", "found true"},
		{"{'api': {'retries': {'on': 5}}}",
		 "t.json: mesh.api.retries.on: ", "found 5"},
		{"{'api': {'retries': {'on': ['retriable-status-codes']}}}",
		 "t.json: mesh.api.retries.on: ", "found none"},
		{"{'api': {'retries': {'on': [500, 501, 502, 503, 504, 505, 506,"
		 " 507, 508, 509, 510, 511, 512, 513, 514, 515, 516]}}}",
		 "t.json: mesh.api.retries.on[16]: ", "at most 16"},
		{"{'api': {'retries': {'backoff': {'base': '100ms',"
		 " 'max': '50ms'}}}}",
		 "t.json: mesh.api.retries.backoff.max: ", "found \"50ms\""},
		{"{'api': {'retries': {'backoff': {'max': '10ms'}}}}",
		 "t.json: mesh.api.retries.backoff.max: ", "the base (25ms)"},
		{"{'api': {'retries': {'backoff': {'base': '0'}}}}",
		 "t.json: mesh.api.retries.backoff.base: ", "above zero"},
		{"{'api': {'retries': {'backoff': '25ms'}}}",
		 "t.json: mesh.api.retries.backoff: ", "found \"25ms\""},
		{"{'api': {'retries': {'backoff': {'bsae': '1ms'}}}}",
		 "t.json: mesh.api.retries.backoff.bsae: ", "did you mean"},
		{"{'api': {'retries': {'other_host': 'yes'}}}",
		 "t.json: mesh.api.retries.other_host: ", "true or false"},
		{"{'api': {'retries': {'budget': {'percent': 20,"
		 " 'ratio': 0.2}}}}",
		 "t.json: mesh.api.retries.budget: ", "keys of both"},
		{"{'api': {'retries': {'budget': {'min_concurrency': 1,"
		 " 'ttl': '5s'}}}}",
		 "t.json: mesh.api.retries.budget: ", "keys of both"},
		{"{'api': {'retries': {'budget': {}}}}",
		 "t.json: mesh.api.retries.budget: ", "found an object"},
		{"{'api': {'retries': {'budget': 'off'}}}",
		 "t.json: mesh.api.retries.budget: ", "found \"off\""},
		{"{'api': {'retries': {'budget': {'percent': 120}}}}",
		 "t.json: mesh.api.retries.budget.percent: ", "found 120"},
		{"{'api': {'retries': {'budget': {'min_concurrency': -3}}}}",
		 "t.json: mesh.api.retries.budget.min_concurrency: ", "found -3"},
		{"{'api': {'retries': {'budget': {'ratio': 11}}}}",
		 "t.json: mesh.api.retries.budget.ratio: ", "found 11"},
		{"{'api': {'retries': {'budget': {'min_per_second': -1}}}}",
		 "t.json: mesh.api.retries.budget.min_per_second: ", "found -1"},
		{"{'api': {'retries': {'budget': {'ttl': '0s'}}}}",
		 "t.json: mesh.api.retries.budget.ttl: ", "above zero"},
		{"{'api': {'retries': {'budget': {'percent': 10, 'pct': 1}}}}",
		 "t.json: mesh.api.retries.budget.pct: ", "unknown key"},
		{"{'api': {'lb': 'fastest'}}", "t.json: mesh.api.lb: ",
		 "found \"fastest\""},
		{"{'api': {'lb': 7}}", "t.json: mesh.api.lb: ", "found 7"},
		{"{'api': {'lb': 'ring_hash'}}", "t.json: mesh.api.lb: ",
		 "needs the header"},
		{"{'api': {'lb': {'policy': 'ring_hash'}}}",
		 "t.json: mesh.api.lb.header: ", "found nothing"},
		{"{'api': {'lb': {'policy': 'ring_hash', 'header': 'a:b'}}}",
		 "t.json: mesh.api.lb.header: ", "found \"a:b\""},
		{"{'api': {'lb': {'policy': 'round_robin', 'choice_count': 3}}}",
		 "t.json: mesh.api.lb.choice_count: ", "least_request"},
		{"{'api': {'lb': {'policy': 'least_request',"
		 " 'choice_count': 1}}}",
		 "t.json: mesh.api.lb.choice_count: ", "found 1"},
		{"{'api': {'lb': {'policy': 'random', 'header': 'x'}}}",
		 "t.json: mesh.api.lb.header: ", "ring_hash"},
		{"{'api': {'lb': {'choice_count': 2}}}",
		 "t.json: mesh.api.lb.policy: ", "found nothing"},
		{"{'api': {'lb': {'policy': 'ring_hash', 'header': 'x',"
		 " 'seed': 1}}}",
		 "t.json: mesh.api.lb.seed: ", "unknown key"},
		{"{'api': {'circuit_breaker': {'max_connections': 0}}}",
		 "t.json: mesh.api.circuit_breaker.max_connections: ", "found 0"},
		{"{'api': {'circuit_breaker': {'max_requests': 0}}}",
		 "t.json: mesh.api.circuit_breaker.max_requests: ", "found 0"},
		{"{'api': {'circuit_breaker': {'max_pending': -1}}}",
		 "t.json: mesh.api.circuit_breaker.max_pending: ", "found -1"},
		{"{'api': {'circuit_breaker': {'max_retries': 1.5}}}",
		 "t.json: mesh.api.circuit_breaker.max_retries: ", "found 1.5"},
		{"{'api': {'circuit_breaker': {'max_connection': 5}}}",
		 "t.json: mesh.api.circuit_breaker.max_connection: ",
		 "did you mean \"max_connections\""},
		{"{'api': {'circuit_breaker': 5}}",
		 "t.json: mesh.api.circuit_breaker: ", "found 5"},
		{"{'api': {'outlier': true}}", "t.json: mesh.api.outlier: ",
		 "found true"},
		{"{'api': {'outlier': {'consecutive_5xx': -1}}}",
		 "t.json: mesh.api.outlier.consecutive_5xx: ", "found -1"},
		{"{'api': {'outlier': {'consecutive_gateway_errors': 'x'}}}",
		 "t.json: mesh.api.outlier.consecutive_gateway_errors: ",
		 "found \"x\""},
		{"{'api': {'outlier': {'interval': '0s'}}}",
		 "t.json: mesh.api.outlier.interval: ", "above zero"},
		{"{'api': {'outlier': {'base_ejection': '0s'}}}",
		 "t.json: mesh.api.outlier.base_ejection: ", "above zero"},
		{"{'api': {'outlier': {'base_ejection': '60s',"
		 " 'max_ejection': '30s'}}}",
		 "t.json: mesh.api.outlier.max_ejection: ", ">= base_ejection"},
		{"{'api': {'outlier': {'max_ejection_percent': 101}}}",
		 "t.json: mesh.api.outlier.max_ejection_percent: ", "found 101"},
		{"{'api': {'outlier': {'consecutive5xx': 1}}}",
		 "t.json: mesh.api.outlier.consecutive5xx: ", "did you mean"},
		{"{'api': {'panic_threshold': 120}}",
		 "t.json: mesh.api.panic_threshold: ", "found 120"},
		{"{'api': {'panic_threshold': '50%'}}",
		 "t.json: mesh.api.panic_threshold: ", "found \"50%\""},
		{"{'api': {'routes': {}}}", "t.json: mesh.api.routes: ",
		 "array of route rules"},
		{"{'api': {'routes': [5]}}", "t.json: mesh.api.routes[0]: ",
		 "found 5"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char extra[1024];
		snprintf(extra, sizeof extra, ", 'mesh': %s", cases[i].mesh);
		check_rejected(MIN_SVC, MIN_LOAD, extra, cases[i].path,
			       cases[i].what);
	}
}
END_TEST

/* The retry policy of mesh.api after loading the given "retries". */
static model *load_retries(const char *retries, scn_errors *e)
{
	char extra[1024];
	snprintf(extra, sizeof extra, ", 'mesh': {'api': {'retries': %s}}",
		 retries);
	return load_scn(MIN_SVC, MIN_LOAD, extra, e);
}

START_TEST(test_retry_on)
{
	static const struct {
		const char *name;
		uint32_t bit;
	} names[] = {
		{"5xx", RETRY_5XX},
		{"gateway-error", RETRY_GATEWAY_ERROR},
		{"reset", RETRY_RESET},
		{"connect-failure", RETRY_CONNECT_FAILURE},
		{"retriable-4xx", RETRY_RETRIABLE_4XX},
		{"refused-stream", RETRY_REFUSED_STREAM},
	};
	scn_errors e = {0};
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		char r[200];
		snprintf(r, sizeof r, "{'on': '%s'}", names[i].name);
		model *m = load_retries(r, &e);
		ck_assert_loaded(m, &e);
		ck_assert_uint_eq(m->services[0].policy.retry.on, names[i].bit);
		model_free(m);
	}
	/* A list with names and status codes; a code adds
	 * retriable-status-codes by itself, and repeats count once. */
	model *m = load_retries("{'on': ['gateway-error', 503, 409, 503]}", &e);
	ck_assert_loaded(m, &e);
	const model_retry *r = &m->services[0].policy.retry;
	ck_assert_uint_eq(r->on, RETRY_GATEWAY_ERROR | RETRY_RETRIABLE_STATUS);
	ck_assert_uint_eq(r->nstatuses, 2);
	ck_assert_uint_eq(r->statuses[0], 503);
	ck_assert_uint_eq(r->statuses[1], 409);
	model_free(m);

	/* The comma-separated form, spaces allowed, codes as digits (as
	 * Istio's retryOn). */
	m = load_retries("{'on': 'reset, retriable-status-codes ,502'}", &e);
	ck_assert_loaded(m, &e);
	r = &m->services[0].policy.retry;
	ck_assert_uint_eq(r->on, RETRY_RESET | RETRY_RETRIABLE_STATUS);
	ck_assert_uint_eq(r->nstatuses, 1);
	ck_assert_uint_eq(r->statuses[0], 502);
	model_free(m);

	/* "on" replaces the preset's conditions and codes whole; keys not
	 * given keep the preset's. */
	m = load_scn(MIN_SVC, MIN_LOAD,
		     ", 'defaults': 'istio', 'mesh': {'api': {'retries':"
		     " {'on': ['5xx']}}}",
		     &e);
	ck_assert_loaded(m, &e);
	r = &m->services[0].policy.retry;
	ck_assert_uint_eq(r->on, RETRY_5XX);
	ck_assert_uint_eq(r->nstatuses, 0);
	ck_assert_uint_eq(r->attempts, 2);
	model_free(m);

	m = load_retries("{'on': []}", &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->services[0].policy.retry.on, 0);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_budget_shapes)
{
	scn_errors e = {0};
	model *m = load_retries("{'budget': {'min_concurrency': 7}}", &e);
	ck_assert_loaded(m, &e);
	const model_retry *r = &m->services[0].policy.retry;
	ck_assert_int_eq(r->budget, BUDGET_ENVOY);
	ck_assert_double_eq(r->budget_percent, 20);
	ck_assert_uint_eq(r->min_concurrency, 7);
	model_free(m);

	m = load_retries("{'budget': {'ratio': 0.5, 'ttl': '30s'}}", &e);
	ck_assert_loaded(m, &e);
	r = &m->services[0].policy.retry;
	ck_assert_int_eq(r->budget, BUDGET_LINKERD);
	ck_assert_double_eq(r->ratio, 0.5);
	ck_assert_double_eq(r->min_per_second, 10);
	ck_assert_uint_eq(r->ttl, 30 * MESH_S);
	model_free(m);

	m = load_retries("{'budget': {'min_per_second': 2}}", &e);
	ck_assert_loaded(m, &e);
	r = &m->services[0].policy.retry;
	ck_assert_int_eq(r->budget, BUDGET_LINKERD);
	ck_assert_double_eq(r->ratio, 0.2);
	ck_assert_double_eq(r->min_per_second, 2);
	ck_assert_uint_eq(r->ttl, 10 * MESH_S);
	model_free(m);

	/* "none" turns the linkerd preset's budget off. */
	m = load_scn(MIN_SVC, MIN_LOAD,
		     ", 'defaults': 'linkerd', 'mesh': {'api': {'retries':"
		     " {'budget': 'none', 'attempts': 1}}}",
		     &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(m->services[0].policy.retry.budget, BUDGET_NONE);
	ck_assert_uint_eq(m->services[0].policy.retry.attempts, 1);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_lb_forms)
{
	static const struct {
		const char *lb;
		enum model_lb want;
		uint32_t choices;
	} cases[] = {
		{"'round_robin'", LB_ROUND_ROBIN, 2},
		{"'random'", LB_RANDOM, 2},
		{"'least_request'", LB_LEAST_REQUEST, 2},
		{"'peak_ewma'", LB_PEAK_EWMA, 2},
		{"{'policy': 'least_request'}", LB_LEAST_REQUEST, 2},
		{"{'policy': 'least_request', 'choice_count': 5}",
		 LB_LEAST_REQUEST, 5},
		{"{'policy': 'random'}", LB_RANDOM, 2},
	};
	scn_errors e = {0};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char extra[256];
		/* From istio's LEAST_REQUEST, so that a change shows. */
		snprintf(extra, sizeof extra,
			 ", 'defaults': 'istio', 'mesh': {'api': {'lb': %s}}",
			 cases[i].lb);
		model *m = load_scn(MIN_SVC, MIN_LOAD, extra, &e);
		ck_assert_loaded(m, &e);
		const model_policy *p = &m->services[0].policy;
		ck_assert_msg(p->lb == cases[i].want, "%s gave %d", cases[i].lb,
			      (int)p->lb);
		ck_assert_uint_eq(p->choice_count, cases[i].choices);
		ck_assert_uint_eq(p->ring_header, MODEL_NONE);
		model_free(m);
	}
	/* Ring hash on a header shares the name with user ids. */
	model *m = load_scn(MIN_SVC ", 'db': {'latency': '1ms'}",
			    "{'to': 'api', 'rps': 1, 'user_ids': {'header':"
			    " 'x-session', 'count': 10}}",
			    ", 'mesh': {'api': {'lb': {'policy': 'ring_hash',"
			    " 'header': 'X-User'}}, 'db': {'lb': {'policy':"
			    " 'ring_hash', 'header': 'X-Session'}}}",
			    &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->nheader_names, 2);
	const model_policy *p = &m->services[svc(m, "api")].policy;
	ck_assert_int_eq(p->lb, LB_RING_HASH);
	ck_assert_uint_lt(p->ring_header, m->nheader_names);
	ck_assert_str_eq(m->header_names[p->ring_header], "x-user");
	p = &m->services[svc(m, "db")].policy;
	ck_assert_str_eq(m->header_names[p->ring_header], "x-session");
	ck_assert_uint_eq(m->clients[0].user_header, p->ring_header);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

/* ---- route rules ---- */

/* Services for the route tests: api has versions v1 (2 replicas) and v2;
 * fe calls api on several paths, and db on "/a". */
#define ROUTE_SVCS                                                          \
	"'api': {'latency': '1ms', 'versions': {'v1': {'replicas': 2},"     \
	" 'v2': {}}},"                                                      \
	" 'db': {'latency': '1ms'},"                                        \
	" 'fe': {'script': [{'parallel': [{'service': 'api', 'path': '/a'},"\
	" {'service': 'api', 'path': '/b/x'}, {'service': 'db',"            \
	" 'path': '/a'}]}]}"

#define ROUTE_MESH                                                          \
	"'mesh': {'api': {'routes': ["                                      \
	" {'match': [{'path': {'exact': '/a'}},"                            \
	"   {'path': {'prefix': '/b/'}},"                                   \
	"   {'path': {'suffix': '.json'}},"                                 \
	"   {'path': {'regex': '/c/[0-9]+'}}],"                             \
	"  'split': {'v2': 1}}]}}"

/* Routes a client reaches only when "load" is parsed: /c/12, /c/12x,
 * /x.json and /b (no slash after b). */
#define ROUTE_LOAD                                                          \
	"'load': [{'to': 'fe', 'rps': 1},"                                  \
	" {'to': 'api', 'path': '/c/12', 'rps': 1},"                        \
	" {'to': 'api', 'path': '/c/12x', 'rps': 1},"                       \
	" {'to': 'api', 'path': '/x.json', 'rps': 1},"                      \
	" {'to': 'api', 'path': '/b', 'rps': 1},"                           \
	" {'to': 'db', 'path': '/x.json', 'rps': 1}]"

static uint32_t route_id(const model *m, const char *service,
			 const char *path)
{
	uint32_t s = (uint32_t)svc(m, service);
	for (uint32_t r = 0; r < m->nroutes; r++)
		if (m->routes[r].service == s &&
		    strcmp(m->routes[r].path, path) == 0)
			return r;
	ck_abort_msg("no route %s %s", service, path);
	return 0;
}

static void check_route_tables(const model *m)
{
	const model_policy *p = &m->services[svc(m, "api")].policy;
	ck_assert_uint_eq(p->nrules, 1);
	const model_rule *rule = &p->rules[0];
	ck_assert_uint_eq(rule->nmatches, 4);
	ck_assert_uint_eq(rule->nsplits, 1);
	ck_assert_uint_eq(rule->splits[0].version, 1);
	ck_assert_double_eq(rule->splits[0].weight, 1);
	static const struct {
		const char *svc, *path;
		int ok[4];   /* exact, prefix, suffix, regex */
	} want[] = {
		{"api", "/a", {1, 0, 0, 0}},
		{"api", "/b/x", {0, 1, 0, 0}},
		{"api", "/b", {0, 0, 0, 0}},
		{"api", "/x.json", {0, 0, 1, 0}},
		{"api", "/c/12", {0, 0, 0, 1}},
		{"api", "/c/12x", {0, 0, 0, 0}},   /* anchored: a full match */
		{"db", "/a", {0, 0, 0, 0}},        /* another service's */
		{"db", "/x.json", {0, 0, 0, 0}},
	};
	for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
		uint32_t r = route_id(m, want[i].svc, want[i].path);
		for (int k = 0; k < 4; k++) {
			ck_assert_ptr_nonnull(rule->matches[k].route_ok);
			ck_assert_msg(rule->matches[k].route_ok[r] == want[i].ok[k],
				      "match %d on %s %s: %d", k, want[i].svc,
				      want[i].path,
				      rule->matches[k].route_ok[r]);
		}
	}
}

START_TEST(test_routes_mesh_before_load)
{
	scn_errors e = {0};
	model *m = load_as("{'duration': '10s', 'services': {" ROUTE_SVCS "}, "
			   ROUTE_MESH ", " ROUTE_LOAD "}",
			   "t.json", &e);
	ck_assert_loaded(m, &e);
	check_route_tables(m);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_routes_load_before_mesh)
{
	scn_errors e = {0};
	model *m = load_as("{" ROUTE_LOAD ", 'duration': '10s', " ROUTE_MESH
			   ", 'services': {" ROUTE_SVCS "}}",
			   "t.json", &e);
	ck_assert_loaded(m, &e);
	check_route_tables(m);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_routes_headers_methods)
{
	scn_errors e = {0};
	model *m = load_scn(
		"'api': {'latency': '1ms', 'versions': {'v1': {'replicas': 3},"
		" 'v2': {}}}",
		"{'to': 'api', 'rps': 1, 'headers': {'x-env': 'stage',"
		" 'x-user': 'ann'}},"
		"{'to': 'api', 'rps': 1, 'headers': {'X-Env': 'stable',"
		" 'x-canary': '1'}},"
		"{'to': 'api', 'rps': 1, 'headers': {'x-env': 'prod'}}",
		", 'mesh': {'api': {'retries': {'attempts': 3}, 'routes': ["
		" {'match': {'headers': {'X-Canary': {'exact': '1'},"
		"   'x-env': {'prefix': 'sta'}}, 'method': ['GET', 'POST']},"
		"  'route': {'v1': 10, 'v2': 90}, 'timeout': '1s',"
		"  'retries': {'on': '5xx'}},"
		" {'match': {'headers': {'x-env': {'regex': 'st(age|able)'},"
		"   'x-user': {'present': true}, 'x-env2': {'suffix': 'd'},"
		"   'x-canary': {'exact': '2'}}, 'method': 'DELETE'}},"
		" {'timeout': 'none'}]}}",
		&e);
	ck_assert_loaded(m, &e);
	/* Pairs: x-env=stage, x-user=ann, x-env=stable, x-canary=1 (from
	 * the clients, in order: load runs after mesh, but the clients'
	 * pairs are there when masks are made), x-env=prod; plus x-canary=2
	 * from the exact condition although no client sends it. */
	ck_assert_uint_eq(m->nheaders, 6);
	int stage = -1, stable = -1, ann = -1, can1 = -1, can2 = -1, prod = -1;
	for (uint32_t i = 0; i < m->nheaders; i++) {
		const model_header *h = &m->headers[i];
		if (!strcmp(h->name, "x-env") && !strcmp(h->value, "stage"))
			stage = (int)i;
		if (!strcmp(h->name, "x-env") && !strcmp(h->value, "stable"))
			stable = (int)i;
		if (!strcmp(h->name, "x-env") && !strcmp(h->value, "prod"))
			prod = (int)i;
		if (!strcmp(h->name, "x-user") && !strcmp(h->value, "ann"))
			ann = (int)i;
		if (!strcmp(h->name, "x-canary") && !strcmp(h->value, "1"))
			can1 = (int)i;
		if (!strcmp(h->name, "x-canary") && !strcmp(h->value, "2"))
			can2 = (int)i;
	}
	ck_assert(stage >= 0 && stable >= 0 && ann >= 0 && can1 >= 0 &&
		  can2 >= 0 && prod >= 0);
#define BIT(i) ((uint64_t)1 << (i))
	const model_policy *p = &m->services[0].policy;
	ck_assert_uint_eq(p->nrules, 3);

	const model_rule *r0 = &p->rules[0];
	ck_assert_uint_eq(r0->nmatches, 1);
	const model_match *mt = &r0->matches[0];
	ck_assert_ptr_null(mt->route_ok);
	ck_assert_uint_eq(mt->methods,
			  (1u << METHOD_GET) | (1u << METHOD_POST));
	ck_assert_uint_eq(mt->nhdr, 2);
	ck_assert_uint_eq(mt->hdr_any[0], BIT(can1));
	ck_assert_uint_eq(mt->hdr_any[1], BIT(stage) | BIT(stable));
	ck_assert_uint_eq(r0->nsplits, 2);
	ck_assert_uint_eq(r0->splits[0].version, 0);
	ck_assert_double_eq(r0->splits[0].weight, 10);
	ck_assert_uint_eq(r0->splits[1].version, 1);
	ck_assert_double_eq(r0->splits[1].weight, 90);
	ck_assert_int_eq(r0->has_timeout, 1);
	ck_assert_uint_eq(r0->timeout, 1 * MESH_S);
	/* A rule's retries start from the service's. */
	ck_assert_int_eq(r0->has_retry, 1);
	ck_assert_uint_eq(r0->retry.on, RETRY_5XX);
	ck_assert_uint_eq(r0->retry.attempts, 3);

	const model_rule *r1 = &p->rules[1];
	mt = &r1->matches[0];
	ck_assert_uint_eq(mt->methods, 1u << METHOD_DELETE);
	ck_assert_uint_eq(mt->nhdr, 4);
	ck_assert_uint_eq(mt->hdr_any[0], BIT(stage) | BIT(stable));
	ck_assert_uint_eq(mt->hdr_any[1], BIT(ann));
	ck_assert_uint_eq(mt->hdr_any[2], 0);   /* nobody sends x-env2 */
	ck_assert_uint_eq(mt->hdr_any[3], BIT(can2));
	/* No split: every version, by replicas. */
	ck_assert_uint_eq(r1->nsplits, 2);
	ck_assert_double_eq(r1->splits[0].weight, 3);
	ck_assert_double_eq(r1->splits[1].weight, 1);
	ck_assert_int_eq(r1->has_timeout, 0);
	ck_assert_int_eq(r1->has_retry, 0);

	const model_rule *r2 = &p->rules[2];
	ck_assert_uint_eq(r2->nmatches, 0);
	ck_assert_int_eq(r2->has_timeout, 1);
	ck_assert_uint_eq(r2->timeout, MESH_NEVER);
#undef BIT
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_routes_bad)
{
	static const struct {
		const char *routes, *path, *what;
	} cases[] = {
		{"[{'split': {'v9': 1}}]", "t.json: mesh.api.routes[0].split.v9: ",
		 "expected a version of api (\"v1\", \"v2\"), found \"v9\""},
		{"[{'route': {'v1': 1, 'v3': 1}}]",
		 "t.json: mesh.api.routes[0].route.v3: ", "not defined"},
		{"[{'split': {'v1': 1}, 'route': {'v1': 1}}]",
		 "t.json: mesh.api.routes[0]: ", "found both"},
		{"[{'split': {'v1': 0, 'v2': 0}}]",
		 "t.json: mesh.api.routes[0].split: ", "more than 0"},
		{"[{'split': {}}]", "t.json: mesh.api.routes[0].split: ",
		 "non-empty"},
		{"[{'split': {'v1': -1}}]", "t.json: mesh.api.routes[0].split.v1: ",
		 "found -1"},
		{"[{'split': {'v1': '50%'}}]",
		 "t.json: mesh.api.routes[0].split.v1: ", "found \"50%\""},
		{"[{'match': {'path': {'regex': '(ab'}}}]",
		 "t.json: mesh.api.routes[0].match.path.regex: ",
		 "POSIX extended regular expression, found \"(ab\""},
		/* Bad alone, though it would compile inside ^(...)$. */
		{"[{'match': {'path': {'regex': '/a)|(/b'}}}]",
		 "t.json: mesh.api.routes[0].match.path.regex: ",
		 "found \"/a)|(/b\""},
		{"[{'match': [{}, {'headers': {'x': {'regex': 'a[b'}}}]}]",
		 "t.json: mesh.api.routes[0].match[1].headers.x.regex: ",
		 "regular expression"},
		{"[{'match': {'path': {'exact': '/a', 'prefix': '/'}}}]",
		 "t.json: mesh.api.routes[0].match.path: ", "found an object"},
		{"[{'match': {'path': '/a'}}]",
		 "t.json: mesh.api.routes[0].match.path: ", "found \"/a\""},
		{"[{'match': {'path': {'contains': 'a'}}}]",
		 "t.json: mesh.api.routes[0].match.path.contains: ",
		 "unknown key"},
		{"[{'match': {'path': {'present': true}}}]",
		 "t.json: mesh.api.routes[0].match.path.present: ",
		 "unknown key"},
		{"[{'match': {'path': {'prefix': 'api'}}}]",
		 "t.json: mesh.api.routes[0].match.path.prefix: ",
		 "starting with \"/\""},
		{"[{'match': {'path': {'exact': 3}}}]",
		 "t.json: mesh.api.routes[0].match.path.exact: ", "found 3"},
		{"[{'match': {'headers': {'x': {'present': false}}}}]",
		 "t.json: mesh.api.routes[0].match.headers.x.present: ",
		 "found false"},
		{"[{'match': {'headers': {'x': 'y'}}}]",
		 "t.json: mesh.api.routes[0].match.headers.x: ", "found \"y\""},
		{"[{'match': {'headers': {'x y': {'exact': 'y'}}}}]",
		 "t.json: mesh.api.routes[0].match.headers[\"x y\"]: ",
		 "header name"},
		{"[{'match': {'headers': ['x']}}]",
		 "t.json: mesh.api.routes[0].match.headers: ", "found an array"},
		{"[{'match': {'method': 'FETCH'}}]",
		 "t.json: mesh.api.routes[0].match.method: ", "found \"FETCH\""},
		{"[{'match': {'method': ['GET', 'fetch']}}]",
		 "t.json: mesh.api.routes[0].match.method[1]: ",
		 "found \"fetch\""},
		{"[{'match': {'method': []}}]",
		 "t.json: mesh.api.routes[0].match.method: ", "found an array"},
		{"[{'match': {'uri': {'exact': '/'}}}]",
		 "t.json: mesh.api.routes[0].match.uri: ", "unknown key"},
		{"[{'match': 'all'}]", "t.json: mesh.api.routes[0].match: ",
		 "found \"all\""},
		{"[{'match': [3]}]", "t.json: mesh.api.routes[0].match[0]: ",
		 "found 3"},
		{"[{'timeout': '0s'}]", "t.json: mesh.api.routes[0].timeout: ",
		 "above zero"},
		{"[{'retries': {'attempts': 'two'}}]",
		 "t.json: mesh.api.routes[0].retries.attempts: ", "found \"two\""},
		{"[{'weight': 1}]", "t.json: mesh.api.routes[0].weight: ",
		 "unknown key"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char extra[1024];
		snprintf(extra, sizeof extra,
			 ", 'mesh': {'api': {'routes': %s}}", cases[i].routes);
		check_rejected("'api': {'versions': {'v1': {}, 'v2': {}}}",
			       MIN_LOAD, extra, cases[i].path, cases[i].what);
	}
}
END_TEST

/* ---- faults ---- */

#define FAULT_SVCS                                                          \
	"'api': {'latency': '1ms', 'versions': {'v1': {'replicas': 2},"     \
	" 'v2': {'replicas': 2}}},"                                         \
	" 'db': {'latency': '1ms'}, 'cache': {'latency': '1ms'}"

START_TEST(test_faults_kinds)
{
	scn_errors e = {0};
	model *m = load_scn(
		FAULT_SVCS, MIN_LOAD,
		", 'faults': ["
		" {'kind': 'delay', 'target': 'api', 'at': '1s', 'for': '2s',"
		"  'delay': {'dist': 'exponential', 'mean': '100ms'},"
		"  'percent': 50, 'source': 'clients',"
		"  'match': {'headers': {'x-chaos': {'exact': 'on'}},"
		"   'method': 'POST'}, 'description': 'slow'},"
		" {'kind': 'abort', 'target': 'db', 'status': 503, 'at': '2s',"
		"  'until': '5s', 'source': 'api', 'label': 'db 503s'},"
		" {'kind': 'abort', 'target': 'db', 'reset': true, 'at': '0'},"
		" {'kind': 'blackhole', 'target': {'service': 'api',"
		"  'version': 'v2'}, 'at': '3s'},"
		" {'kind': 'partition', 'between': [['api', 'db'], ['cache']],"
		"  'direction': 'one-way', 'at': '4s', 'for': '1s'},"
		" {'kind': 'partition', 'between': [['db'], ['cache']],"
		"  'at': '4s'},"
		" {'kind': 'crash', 'target': {'service': 'api', 'instance': 3},"
		"  'at': '5s', 'for': '500ms'},"
		" {'kind': 'capacity', 'target': {'service': 'api',"
		"  'version': 'v1', 'instance': 1}, 'slowdown': 2.5,"
		"  'workers_removed': 1, 'at': '6s'},"
		" {'kind': 'network', 'latency': '5ms', 'loss': 0.01,"
		"  'burst': {'p': 0.05, 'r': 0.5}, 'rto': '1s', 'at': '7s'},"
		" {'kind': 'network', 'target': 'cache', 'loss': 0.2, 'at': '8s'}"
		"]",
		&e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->nfaults, 10);
	const model_fault *f = &m->faults[0];
	ck_assert_int_eq(f->kind, FAULT_DELAY);
	ck_assert_uint_eq(f->service, (uint32_t)svc(m, "api"));
	ck_assert_uint_eq(f->version, MODEL_ANY);
	ck_assert_uint_eq(f->instance, MODEL_ANY);
	ck_assert_uint_eq(f->source, MODEL_CLIENTS);
	ck_assert_uint_eq(f->start, 1 * MESH_S);
	ck_assert_uint_eq(f->end, 3 * MESH_S);
	ck_assert_double_eq(f->percent, 50);
	ck_assert_int_eq(f->delay.kind, DIST_EXPONENTIAL);
	ck_assert_uint_eq(f->delay.a, 100 * MESH_MS);
	ck_assert_int_eq(f->has_match, 1);
	ck_assert_uint_eq(f->match.methods, 1u << METHOD_POST);
	ck_assert_ptr_null(f->match.route_ok);
	ck_assert_uint_eq(f->match.nhdr, 1);
	/* The exact value is interned although no client sends it. */
	ck_assert_uint_eq(m->nheaders, 1);
	ck_assert_uint_eq(f->match.hdr_any[0], 1);
	ck_assert_str_eq(f->label, "delay api");

	f = &m->faults[1];
	ck_assert_int_eq(f->kind, FAULT_ABORT);
	ck_assert_uint_eq(f->status, 503);
	ck_assert_int_eq(f->reset, 0);
	ck_assert_uint_eq(f->start, 2 * MESH_S);
	ck_assert_uint_eq(f->end, 5 * MESH_S);
	ck_assert_uint_eq(f->source, (uint32_t)svc(m, "api"));
	ck_assert_double_eq(f->percent, 100);
	ck_assert_int_eq(f->has_match, 0);
	ck_assert_str_eq(f->label, "db 503s");

	f = &m->faults[2];
	ck_assert_int_eq(f->reset, 1);
	ck_assert_uint_eq(f->status, 0);
	ck_assert_uint_eq(f->start, 0);
	ck_assert_uint_eq(f->end, MESH_NEVER);
	ck_assert_uint_eq(f->source, MODEL_ANY);

	f = &m->faults[3];
	ck_assert_int_eq(f->kind, FAULT_BLACKHOLE);
	ck_assert_uint_eq(f->version, 1);
	ck_assert_uint_eq(f->instance, MODEL_ANY);
	ck_assert_str_eq(f->label, "blackhole api/v2");

	f = &m->faults[4];
	ck_assert_int_eq(f->kind, FAULT_PARTITION);
	ck_assert_ptr_nonnull(f->side);
	ck_assert_uint_eq(f->side[svc(m, "api")], 1);
	ck_assert_uint_eq(f->side[svc(m, "db")], 1);
	ck_assert_uint_eq(f->side[svc(m, "cache")], 2);
	ck_assert_int_eq(f->one_way, 1);
	ck_assert_uint_eq(f->service, MODEL_ANY);
	ck_assert_uint_eq(f->end, 5 * MESH_S);
	ck_assert_str_eq(f->label, "partition api,db / cache");
	f = &m->faults[5];
	ck_assert_uint_eq(f->side[svc(m, "api")], 0);
	ck_assert_int_eq(f->one_way, 0);

	f = &m->faults[6];
	ck_assert_int_eq(f->kind, FAULT_CRASH);
	ck_assert_uint_eq(f->instance, 3);
	ck_assert_uint_eq(f->end, 5500 * MESH_MS);
	ck_assert_str_eq(f->label, "crash api[3]");

	f = &m->faults[7];
	ck_assert_int_eq(f->kind, FAULT_CAPACITY);
	ck_assert_uint_eq(f->version, 0);
	ck_assert_uint_eq(f->instance, 1);
	ck_assert_double_eq(f->slowdown, 2.5);
	ck_assert_uint_eq(f->workers_removed, 1);

	f = &m->faults[8];
	ck_assert_int_eq(f->kind, FAULT_NETWORK);
	ck_assert_uint_eq(f->service, MODEL_ANY);
	ck_assert_int_eq(f->has_latency, 1);
	ck_assert_uint_eq(f->latency.a, 5 * MESH_MS);
	ck_assert_double_eq(f->loss, 0.01);
	ck_assert_int_eq(f->bursty, 1);
	ck_assert_double_eq(f->ge_p, 0.05);
	ck_assert_double_eq(f->ge_r, 0.5);
	ck_assert_double_eq(f->loss_bad, 1);
	ck_assert_uint_eq(f->rto, 1 * MESH_S);
	ck_assert_str_eq(f->label, "network (all hops)");

	f = &m->faults[9];
	ck_assert_uint_eq(f->service, (uint32_t)svc(m, "cache"));
	ck_assert_int_eq(f->has_latency, 0);
	ck_assert_int_eq(f->bursty, 0);
	ck_assert_double_eq(f->loss, 0.2);
	ck_assert_uint_eq(f->rto, 200 * MESH_MS);
	ck_assert_str_eq(f->label, "network cache");
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_faults_bad)
{
	static const struct {
		const char *fault, *path, *what;
	} cases[] = {
		{"{'target': 'api', 'at': '1s'}", "t.json: faults[0].kind: ",
		 "found nothing"},
		{"{'kind': 'explode', 'at': '1s'}", "t.json: faults[0].kind: ",
		 "found \"explode\""},
		{"{'kind': 'blackhole', 'target': 'api'}",
		 "t.json: faults[0].at: ", "found nothing"},
		{"{'kind': 'blackhole', 'target': 'api', 'at': '10s'}",
		 "t.json: faults[0].at: ", "before the scenario's duration"},
		{"{'kind': 'blackhole', 'target': 'api', 'at': '1s',"
		 " 'for': '1s', 'until': '3s'}",
		 "t.json: faults[0]: ", "either \"for\" or \"until\""},
		{"{'kind': 'blackhole', 'target': 'api', 'at': '1s', 'for': '0s'}",
		 "t.json: faults[0].for: ", "above zero"},
		{"{'kind': 'blackhole', 'target': 'api', 'at': '2s',"
		 " 'until': '2s'}",
		 "t.json: faults[0].until: ", "later than \"at\""},
		{"{'kind': 'blackhole', 'target': 'api', 'at': '1s',"
		 " 'label': ''}",
		 "t.json: faults[0].label: ", "non-empty string"},
		{"{'kind': 'blackhole', 'target': 'api', 'at': '1s', 'lable': 'x'}",
		 "t.json: faults[0].lable: ", "did you mean \"label\""},
		/* Keys of another kind. */
		{"{'kind': 'delay', 'target': 'api', 'at': '1s', 'delay': '1s',"
		 " 'status': 503}",
		 "t.json: faults[0].status: ",
		 "unknown key \"status\" for a delay fault"},
		{"{'kind': 'partition', 'between': [['api'], ['db']],"
		 " 'target': 'api', 'at': '1s'}",
		 "t.json: faults[0].target: ", "for a partition fault"},
		{"{'kind': 'partition', 'between': [['api'], ['db']],"
		 " 'percent': 50, 'at': '1s'}",
		 "t.json: faults[0].percent: ", "for a partition fault"},
		{"{'kind': 'crash', 'target': 'api', 'percent': 50, 'at': '1s'}",
		 "t.json: faults[0].percent: ", "for a crash fault"},
		{"{'kind': 'crash', 'target': 'api', 'source': 'db', 'at': '1s'}",
		 "t.json: faults[0].source: ", "for a crash fault"},
		{"{'kind': 'crash', 'target': 'api', 'match': {}, 'at': '1s'}",
		 "t.json: faults[0].match: ", "for a crash fault"},
		{"{'kind': 'network', 'loss': 0.1, 'delay': '1s', 'at': '1s'}",
		 "t.json: faults[0].delay: ", "for a network fault"},
		{"{'kind': 'abort', 'target': 'api', 'status': 503,"
		 " 'slowdown': 2, 'at': '1s'}",
		 "t.json: faults[0].slowdown: ", "for an abort fault"},
		/* Targets. */
		{"{'kind': 'delay', 'delay': '1s', 'at': '1s'}",
		 "t.json: faults[0].target: ", "found nothing"},
		{"{'kind': 'crash', 'at': '1s'}", "t.json: faults[0].target: ",
		 "found nothing"},
		{"{'kind': 'blackhole', 'target': 'web', 'at': '1s'}",
		 "t.json: faults[0].target: ", "found \"web\""},
		{"{'kind': 'blackhole', 'target': {'service': 'web'}, 'at': '1s'}",
		 "t.json: faults[0].target.service: ", "not defined"},
		{"{'kind': 'blackhole', 'target': {'version': 'v1'}, 'at': '1s'}",
		 "t.json: faults[0].target.service: ", "found nothing"},
		{"{'kind': 'blackhole', 'target': {'service': 'api',"
		 " 'version': 'v3'}, 'at': '1s'}",
		 "t.json: faults[0].target.version: ", "found \"v3\""},
		{"{'kind': 'crash', 'target': {'service': 'api', 'instance': 4},"
		 " 'at': '1s'}",
		 "t.json: faults[0].target.instance: ",
		 "from 0 to 3 (api has 4 replicas), found 4"},
		{"{'kind': 'crash', 'target': {'service': 'db', 'instance': -1},"
		 " 'at': '1s'}",
		 "t.json: faults[0].target.instance: ", "found -1"},
		{"{'kind': 'crash', 'target': {'service': 'api', 'version': 'v1',"
		 " 'instance': 2}, 'at': '1s'}",
		 "t.json: faults[0].target.instance: ",
		 "an instance of version v1 (0 to 1), found 2"},
		{"{'kind': 'crash', 'target': {'service': 'api', 'pod': 1},"
		 " 'at': '1s'}",
		 "t.json: faults[0].target.pod: ", "unknown key"},
		{"{'kind': 'crash', 'target': 3, 'at': '1s'}",
		 "t.json: faults[0].target: ", "found 3"},
		{"{'kind': 'abort', 'target': 'api', 'status': 503,"
		 " 'source': 'web', 'at': '1s'}",
		 "t.json: faults[0].source: ", "found \"web\""},
		{"{'kind': 'abort', 'target': 'api', 'status': 503,"
		 " 'percent': 150, 'at': '1s'}",
		 "t.json: faults[0].percent: ", "found 150"},
		{"{'kind': 'abort', 'target': 'api', 'status': 503,"
		 " 'match': {'path': {'prefix': '/'}}, 'at': '1s'}",
		 "t.json: faults[0].match.path: ", "no \"path\" in a fault's match"},
		{"{'kind': 'abort', 'target': 'api', 'status': 503,"
		 " 'match': [{}], 'at': '1s'}",
		 "t.json: faults[0].match: ", "found an array"},
		{"{'kind': 'abort', 'target': 'api', 'status': 503,"
		 " 'match': {'method': 'GOT'}, 'at': '1s'}",
		 "t.json: faults[0].match.method: ", "found \"GOT\""},
		/* What each kind needs. */
		{"{'kind': 'delay', 'target': 'api', 'at': '1s'}",
		 "t.json: faults[0].delay: ", "found nothing"},
		{"{'kind': 'delay', 'target': 'api', 'delay': 'long', 'at': '1s'}",
		 "t.json: faults[0].delay: ", "found \"long\""},
		{"{'kind': 'abort', 'target': 'api', 'at': '1s'}",
		 "t.json: faults[0]: ", "found neither"},
		{"{'kind': 'abort', 'target': 'api', 'status': 503,"
		 " 'reset': true, 'at': '1s'}",
		 "t.json: faults[0]: ", "found both"},
		{"{'kind': 'abort', 'target': 'api', 'status': 700, 'at': '1s'}",
		 "t.json: faults[0].status: ", "found 700"},
		{"{'kind': 'abort', 'target': 'api', 'reset': false, 'at': '1s'}",
		 "t.json: faults[0].reset: ", "found false"},
		{"{'kind': 'partition', 'at': '1s'}",
		 "t.json: faults[0].between: ", "found nothing"},
		{"{'kind': 'partition', 'between': [['api']], 'at': '1s'}",
		 "t.json: faults[0].between: ", "found an array"},
		{"{'kind': 'partition', 'between': [['api'], []], 'at': '1s'}",
		 "t.json: faults[0].between[1]: ", "non-empty list"},
		{"{'kind': 'partition', 'between': [['api', 'db'],"
		 " ['cache', 'db']], 'at': '1s'}",
		 "t.json: faults[0].between[1][1]: ", "found \"db\" on both"},
		{"{'kind': 'partition', 'between': [['api'], ['web']],"
		 " 'at': '1s'}",
		 "t.json: faults[0].between[1][0]: ", "found \"web\""},
		{"{'kind': 'partition', 'between': [['api'], [1]], 'at': '1s'}",
		 "t.json: faults[0].between[1][0]: ", "found 1"},
		{"{'kind': 'partition', 'between': [['api'], ['db']],"
		 " 'direction': 'sideways', 'at': '1s'}",
		 "t.json: faults[0].direction: ", "found \"sideways\""},
		{"{'kind': 'capacity', 'target': 'api', 'at': '1s'}",
		 "t.json: faults[0]: ", "would change nothing"},
		{"{'kind': 'capacity', 'target': 'api', 'slowdown': 1,"
		 " 'workers_removed': 0, 'at': '1s'}",
		 "t.json: faults[0]: ", "would change nothing"},
		{"{'kind': 'capacity', 'target': 'api', 'slowdown': 0.5,"
		 " 'at': '1s'}",
		 "t.json: faults[0].slowdown: ", "found 0.5"},
		{"{'kind': 'capacity', 'target': 'api', 'workers_removed': -1,"
		 " 'at': '1s'}",
		 "t.json: faults[0].workers_removed: ", "found -1"},
		{"{'kind': 'network', 'rto': '1s', 'at': '1s'}",
		 "t.json: faults[0]: ", "at least one of"},
		{"{'kind': 'network', 'loss': 2, 'at': '1s'}",
		 "t.json: faults[0].loss: ", "found 2"},
		{"{'kind': 'network', 'latency': 'x', 'at': '1s'}",
		 "t.json: faults[0].latency: ", "found \"x\""},
		{"{'kind': 'network', 'burst': {'p': 0.1, 'r': 0}, 'at': '1s'}",
		 "t.json: faults[0].burst.r: ", "above 0"},
		{"{'kind': 'network', 'burst': {'r': 0.1}, 'at': '1s'}",
		 "t.json: faults[0].burst: ", "\"p\" missing"},
		{"{'kind': 'network', 'burst': {'p': 0.1, 'r': 0.5,"
		 " 'loss_bad': 1.5}, 'at': '1s'}",
		 "t.json: faults[0].burst.loss_bad: ", "found 1.5"},
		{"{'kind': 'network', 'burst': {'p': 0.1, 'r': 0.5, 'q': 1},"
		 " 'at': '1s'}",
		 "t.json: faults[0].burst.q: ", "unknown key"},
		{"{'kind': 'network', 'loss': 0.1, 'rto': '0s', 'at': '1s'}",
		 "t.json: faults[0].rto: ", "above zero"},
		{"{'kind': 'network', 'loss': 0.1, 'target': 'web', 'at': '1s'}",
		 "t.json: faults[0].target: ", "not defined"},
		{"'crash'", "t.json: faults[0]: ", "found \"crash\""},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char extra[1024];
		snprintf(extra, sizeof extra, ", 'faults': [%s]", cases[i].fault);
		check_rejected(FAULT_SVCS, MIN_LOAD, extra, cases[i].path,
			       cases[i].what);
	}
	check_rejected(FAULT_SVCS, MIN_LOAD, ", 'faults': {}",
		       "t.json: faults: ", "found an object");
}
END_TEST

/* ---- pause and bandwidth ---- */

/* Services whose messages carry bodies: api's calls to db send 512 bytes,
 * db answers 100, and the load client sends 64 to api. */
#define BW_SVCS                                                             \
	"'api': {'script': [{'call': {'service': 'db', 'size': 512}}],"     \
	" 'versions': {'v1': {'replicas': 2}, 'v2': {}}},"                  \
	" 'db': {'response_size': 100}, 'cache': {'latency': '1ms'}"
#define BW_LOAD "{'to': 'api', 'rps': 10, 'request_size': 64}"

START_TEST(test_faults_pause_bandwidth)
{
	scn_errors e = {0};
	model *m = load_scn(
		BW_SVCS, BW_LOAD,
		", 'faults': ["
		" {'kind': 'pause', 'target': 'db', 'at': '1s', 'for': '2s'},"
		" {'kind': 'pause', 'target': {'service': 'api', 'instance': 2},"
		"  'at': '2s'},"
		" {'kind': 'pause', 'target': {'service': 'api', 'version': 'v1'},"
		"  'at': '2s', 'until': '3s'},"
		" {'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 100,"
		"  'at': '1s', 'for': '5s'},"
		" {'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 1,"
		"  'direction': 'request', 'source': 'api', 'at': '0'},"
		" {'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 4294967295,"
		"  'direction': 'response', 'source': 'api', 'at': '0'},"
		" {'kind': 'bandwidth', 'target': 'api', 'limit_kbps': 8,"
		"  'direction': 'both', 'source': 'clients', 'at': '0'},"
		" {'kind': 'bandwidth', 'target': 'api', 'limit_kbps': 8,"
		"  'direction': 'request', 'at': '0', 'label': 'thin pipe'},"
		" {'kind': 'bandwidth', 'target': 'api', 'limit_kbps': 8,"
		"  'direction': 'request', 'at': '0'},"
		" {'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 8,"
		"  'direction': 'response', 'at': '0'}"
		"]",
		&e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->nfaults, 10);
	const model_fault *f = &m->faults[0];
	ck_assert_int_eq(f->kind, FAULT_PAUSE);
	ck_assert_uint_eq(f->service, (uint32_t)svc(m, "db"));
	ck_assert_uint_eq(f->instance, MODEL_ANY);
	ck_assert_uint_eq(f->version, MODEL_ANY);
	ck_assert_uint_eq(f->start, 1 * MESH_S);
	ck_assert_uint_eq(f->end, 3 * MESH_S);
	ck_assert_str_eq(f->label, "pause db");
	f = &m->faults[1];
	ck_assert_uint_eq(f->instance, 2);
	ck_assert_uint_eq(f->end, MESH_NEVER);
	ck_assert_str_eq(f->label, "pause api[2]");
	f = &m->faults[2];
	ck_assert_uint_eq(f->version, 0);
	ck_assert_str_eq(f->label, "pause api/v1");

	f = &m->faults[3];
	ck_assert_int_eq(f->kind, FAULT_BANDWIDTH);
	ck_assert_uint_eq(f->service, (uint32_t)svc(m, "db"));
	ck_assert_uint_eq(f->limit_kbps, 100);
	ck_assert_uint_eq(f->bw_dirs, BW_REQUEST | BW_RESPONSE);
	ck_assert_uint_eq(f->source, MODEL_ANY);
	ck_assert_str_eq(f->label, "bandwidth 100 KiB/s db");
	f = &m->faults[4];
	ck_assert_uint_eq(f->limit_kbps, 1);
	ck_assert_uint_eq(f->bw_dirs, BW_REQUEST);
	ck_assert_uint_eq(f->source, (uint32_t)svc(m, "api"));
	ck_assert_str_eq(f->label, "bandwidth 1 KiB/s api->db");
	f = &m->faults[5];
	ck_assert_uint_eq(f->limit_kbps, 4294967295u);
	ck_assert_uint_eq(f->bw_dirs, BW_RESPONSE);
	ck_assert_str_eq(f->label, "bandwidth 4294967295 KiB/s db->api");
	f = &m->faults[6];
	ck_assert_uint_eq(f->source, MODEL_CLIENTS);
	ck_assert_uint_eq(f->bw_dirs, BW_REQUEST | BW_RESPONSE);
	ck_assert_str_eq(f->label, "bandwidth 8 KiB/s clients<->api");
	ck_assert_str_eq(m->faults[7].label, "thin pipe");
	ck_assert_str_eq(m->faults[8].label, "bandwidth 8 KiB/s to api");
	ck_assert_str_eq(m->faults[9].label, "bandwidth 8 KiB/s from db");
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_faults_pause_bandwidth_bad)
{
	static const struct {
		const char *fault, *path, *what;
	} cases[] = {
		/* pause */
		{"{'kind': 'pause', 'at': '1s'}", "t.json: faults[0].target: ",
		 "expected the service a pause fault applies to, found nothing"},
		{"{'kind': 'pause', 'target': 'web', 'at': '1s'}",
		 "t.json: faults[0].target: ", "found \"web\""},
		{"{'kind': 'pause', 'target': 'db', 'source': 'api', 'at': '1s'}",
		 "t.json: faults[0].source: ",
		 "unknown key \"source\" for a pause fault; expected one of: "
		 "kind, at, for, until, label, description, target"},
		{"{'kind': 'pause', 'target': 'db', 'percent': 50, 'at': '1s'}",
		 "t.json: faults[0].percent: ", "for a pause fault"},
		{"{'kind': 'pause', 'target': 'db', 'limit_kbps': 5, 'at': '1s'}",
		 "t.json: faults[0].limit_kbps: ", "for a pause fault"},
		{"{'kind': 'pause', 'target': {'service': 'api', 'instance': 3},"
		 " 'at': '1s'}",
		 "t.json: faults[0].target.instance: ",
		 "from 0 to 2 (api has 3 replicas), found 3"},
		{"{'kind': 'pause', 'target': 'db', 'at': '1s', 'fro': '1s'}",
		 "t.json: faults[0].fro: ", "did you mean \"for\""},
		{"{'kind': 'paus', 'target': 'db', 'at': '1s'}",
		 "t.json: faults[0].kind: ", "\"pause\", \"bandwidth\", \"cert_expire\""},
		{"{'kind': 'paus', 'target': 'db', 'at': '1s'}",
		 "t.json: faults[0].kind: ", "\"mtls_strict\", found \"paus\""},
		/* bandwidth */
		{"{'kind': 'bandwidth', 'target': 'db', 'at': '1s'}",
		 "t.json: faults[0].limit_kbps: ",
		 "expected the limit in KiB per second, an integer from 1 to "
		 "4294967295 (Envoy's limit_kbps: 1 is 1024 bytes a second), "
		 "found nothing"},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 0, 'at': '1s'}",
		 "t.json: faults[0].limit_kbps: ", "found 0"},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 1.5,"
		 " 'at': '1s'}",
		 "t.json: faults[0].limit_kbps: ", "found 1.5"},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': '100',"
		 " 'at': '1s'}",
		 "t.json: faults[0].limit_kbps: ", "found \"100\""},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 4294967296,"
		 " 'at': '1s'}",
		 "t.json: faults[0].limit_kbps: ", "found 4294967296"},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kpbs': 100,"
		 " 'at': '1s'}",
		 "t.json: faults[0].limit_kpbs: ", "did you mean \"limit_kbps\""},
		{"{'kind': 'bandwidth', 'limit_kbps': 100, 'at': '1s'}",
		 "t.json: faults[0].target: ",
		 "the service a bandwidth fault applies to, found nothing"},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 100,"
		 " 'direction': 'one-way', 'at': '1s'}",
		 "t.json: faults[0].direction: ",
		 "expected \"request\", \"response\" or \"both\" (Envoy's "
		 "enable_mode REQUEST, RESPONSE, REQUEST_AND_RESPONSE), found "
		 "\"one-way\""},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 100,"
		 " 'direction': 5, 'at': '1s'}",
		 "t.json: faults[0].direction: ", "found 5"},
		{"{'kind': 'bandwidth', 'target': {'service': 'api',"
		 " 'version': 'v2'}, 'limit_kbps': 100, 'at': '1s'}",
		 "t.json: faults[0].target: ",
		 "expected a whole service for a bandwidth fault (its links carry "
		 "the traffic of every instance, like Envoy's filter on a route), "
		 "found a target version"},
		{"{'kind': 'bandwidth', 'target': {'service': 'api',"
		 " 'instance': 0}, 'limit_kbps': 100, 'at': '1s'}",
		 "t.json: faults[0].target: ", "found a target instance"},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 100,"
		 " 'source': 'web', 'at': '1s'}",
		 "t.json: faults[0].source: ", "found \"web\""},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 100,"
		 " 'latency': '1ms', 'at': '1s'}",
		 "t.json: faults[0].latency: ",
		 "unknown key \"latency\" for a bandwidth fault; expected one of: "
		 "kind, at, for, until, label, description, target, source, "
		 "limit_kbps, direction"},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 100,"
		 " 'percent': 5, 'at': '1s'}",
		 "t.json: faults[0].percent: ", "for a bandwidth fault"},
		/* No body to slow: cache answers nothing and gets no calls; db
		 * gets bodies from api only; clients send api bodies, but api
		 * answers none. */
		{"{'kind': 'bandwidth', 'target': 'cache', 'limit_kbps': 100,"
		 " 'at': '1s'}",
		 "t.json: faults[0]: ",
		 "expected traffic with a body for the bandwidth limit to slow, "
		 "found none (it limits body bytes, as Envoy's filter does): give "
		 "cache a \"response_size\", or its callers' calls a \"size\" "
		 "(a load client's \"request_size\")"},
		{"{'kind': 'bandwidth', 'target': 'db', 'limit_kbps': 100,"
		 " 'direction': 'request', 'source': 'clients', 'at': '1s'}",
		 "t.json: faults[0]: ", "expected traffic with a body"},
		{"{'kind': 'bandwidth', 'target': 'api', 'limit_kbps': 100,"
		 " 'direction': 'response', 'at': '1s'}",
		 "t.json: faults[0]: ", "give api a \"response_size\""},
		/* The partition's direction keeps its own values. */
		{"{'kind': 'partition', 'between': [['api'], ['db']],"
		 " 'direction': 'request', 'at': '1s'}",
		 "t.json: faults[0].direction: ",
		 "expected \"both\" or \"one-way\", found \"request\""},
		{"{'kind': 'network', 'loss': 0.1, 'limit_kbps': 5, 'at': '1s'}",
		 "t.json: faults[0].limit_kbps: ", "for a network fault"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char extra[1024];
		snprintf(extra, sizeof extra, ", 'faults': [%s]", cases[i].fault);
		check_rejected(BW_SVCS, BW_LOAD, extra, cases[i].path,
			       cases[i].what);
	}
	/* A client's request_size alone is enough for requests into api. */
	scn_errors e = {0};
	model *m = load_scn(BW_SVCS, BW_LOAD,
			    ", 'faults': [{'kind': 'bandwidth', 'target': 'api',"
			    " 'limit_kbps': 10, 'direction': 'request',"
			    " 'source': 'clients', 'at': '1s'}]",
			    &e);
	ck_assert_loaded(m, &e);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

/* ---- new objectives ---- */

START_TEST(test_expect_new)
{
	scn_errors e = {0};
	model *m = load_scn(
		MIN_SVC, MIN_LOAD,
		", 'faults': [{'kind': 'crash', 'target': 'api', 'at': '1s',"
		" 'for': '1s'}],"
		" 'expect': {'retry_amplification': '<= 1.5',"
		" 'recovers_within': '<= 10s', 'metastable': false,"
		" 'services': {'api': {'retry_amplification': '< 2',"
		"  'metastable': true}},"
		" 'clients': {'load0': {'recovers_within': '< 500ms'}}}",
		&e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->nobjectives, 6);
	const model_objective *o =
		objective(m, METRIC_RETRY_AMPLIFICATION, SCOPE_OVERALL);
	ck_assert_int_eq(o->op, OP_LE);
	ck_assert_double_eq(o->target, 1.5);
	ck_assert_str_eq(o->text, "<= 1.5");
	o = objective(m, METRIC_RECOVERS_WITHIN, SCOPE_OVERALL);
	ck_assert_int_eq(o->op, OP_LE);
	ck_assert_double_eq(o->target, 10e9);
	o = objective(m, METRIC_METASTABLE, SCOPE_OVERALL);
	ck_assert_int_eq(o->op, OP_EQ);
	ck_assert_double_eq(o->target, 0);
	ck_assert_str_eq(o->text, "false");
	o = objective(m, METRIC_METASTABLE, SCOPE_SERVICE);
	ck_assert_double_eq(o->target, 1);
	ck_assert_str_eq(o->text, "true");
	o = objective(m, METRIC_RETRY_AMPLIFICATION, SCOPE_SERVICE);
	ck_assert_int_eq(o->op, OP_LT);
	ck_assert_double_eq(o->target, 2);
	o = objective(m, METRIC_RECOVERS_WITHIN, SCOPE_CLIENT);
	ck_assert_double_eq(o->target, 500e6);
	model_free(m);
	scn_errors_free(&e);

	/* metastable needs no faults. */
	m = load_scn(MIN_SVC, MIN_LOAD, ", 'expect': {'metastable': false}",
		     &e);
	ck_assert_loaded(m, &e);
	model_free(m);
	scn_errors_free(&e);

	static const struct {
		const char *extra, *path, *what;
	} cases[] = {
		{", 'expect': {'recovers_within': '<= 10s'}",
		 "t.json: expect.recovers_within: ",
		 "expected a scenario with faults"},
		{", 'faults': [], 'expect': {'services': {'api':"
		 " {'recovers_within': '<= 1s'}}}",
		 "t.json: expect.services.api.recovers_within: ",
		 "a scenario with faults"},
		{", 'faults': [{'kind': 'crash', 'target': 'api', 'at': '1s'}],"
		 " 'expect': {'recovers_within': '<= 10'}",
		 "t.json: expect.recovers_within: ", "duration"},
		{", 'expect': {'metastable': 'false'}",
		 "t.json: expect.metastable: ", "JSON boolean"},
		{", 'expect': {'metastable': 0}", "t.json: expect.metastable: ",
		 "found 0"},
		{", 'expect': {'retry_amplification': '<= 150%'}",
		 "t.json: expect.retry_amplification: ", "ratio"},
		{", 'expect': {'retry_amplification': '<= 2ms'}",
		 "t.json: expect.retry_amplification: ", "found \"<= 2ms\""},
		{", 'expect': {'retry_amplification': 1.5}",
		 "t.json: expect.retry_amplification: ", "found 1.5"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_rejected(MIN_SVC, MIN_LOAD, cases[i].extra, cases[i].path,
			       cases[i].what);
}
END_TEST

/* ---- mutual TLS ---- */

/* Services across namespaces for the mtls tests: a and b in shop, c in
 * ops, d in default. a calls d; d calls nothing. */
#define TLS_SVCS                                                         \
	"'a': {'namespace': 'shop', 'script': [{'call': 'd'}]},"          \
	" 'b': {'namespace': 'shop', 'latency': '1ms'},"                  \
	" 'c': {'namespace': 'ops', 'latency': '1ms'},"                   \
	" 'd': {'latency': '1ms', 'versions': {'v1': {'replicas': 2},"    \
	"                                      'v2': {}}}"
#define TLS_LOAD "{'to': 'a', 'rps': 10}"

START_TEST(test_mtls_absent)
{
	/* No block: nothing modelled, modes unresolved, Istio's default
	 * trust domain in principals. */
	scn_errors e = {0};
	model *m = load_scn(TLS_SVCS, TLS_LOAD, "", &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(m->mtls.enabled, 0);
	ck_assert_ptr_null(m->mtls.trust_domain);
	for (uint32_t i = 0; i < m->nservices; i++)
		ck_assert_int_eq(m->services[i].mtls_mode, MTLS_UNSET);
	ck_assert_str_eq(m->services[svc(m, "a")].principal,
			 "cluster.local/ns/shop/sa/a");
	model_free(m);
	/* Any trust domain in a client's principal, as before. */
	m = load_scn(TLS_SVCS, "{'to': 'a', 'rps': 1, 'principal': "
			       "'example.org/ns/x/sa/y'}",
		     "", &e);
	ck_assert_loaded(m, &e);
	ck_assert_str_eq(m->clients[0].principal, "example.org/ns/x/sa/y");
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_mtls_defaults)
{
	scn_errors e = {0};
	model *m = load_scn(TLS_SVCS, TLS_LOAD, ", 'mtls': {}", &e);
	ck_assert_loaded(m, &e);
	const model_mtls *t = &m->mtls;
	ck_assert_int_eq(t->enabled, 1);
	ck_assert_str_eq(t->trust_domain, "cluster.local");
	ck_assert_int_eq(t->mode, MTLS_PERMISSIVE);
	ck_assert_uint_eq(t->cert_ttl, 24 * 3600 * MESH_S);
	ck_assert_double_eq(t->grace_ratio, 0.5);
	ck_assert_double_eq(t->grace_jitter, 0.01);
	ck_assert_int_eq(t->intermediate, 0);
	ck_assert_ptr_null(t->ca_cert);
	ck_assert_ptr_null(t->ca_key);
	ck_assert_ptr_null(t->ca_chain);
	ck_assert_ptr_null(t->ca_root);
	ck_assert_uint_eq(t->handshake_full, MODEL_HANDSHAKE_FULL);
	ck_assert_uint_eq(t->handshake_resumed, MODEL_HANDSHAKE_RESUMED);
	/* Every service resolved to the mesh-wide default. */
	for (uint32_t i = 0; i < m->nservices; i++)
		ck_assert_int_eq(m->services[i].mtls_mode, MTLS_PERMISSIVE);
	ck_assert_str_eq(m->services[svc(m, "d")].principal,
			 "cluster.local/ns/default/sa/d");
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_mtls_explicit)
{
	scn_errors e = {0};
	model *m = load_scn(
		TLS_SVCS,
		"{'to': 'a', 'rps': 1, 'principal': 'example.org/ns/edge/sa/gw'}",
		", 'mtls': {'mode': 'DISABLE', 'trust_domain': 'example.org',"
		" 'cert_ttl': '1h', 'rotation': {'grace_ratio': 0.25,"
		" 'jitter': 0.2}, 'ca': {'intermediate': true},"
		" 'handshake_cpu': {'full': '2ms', 'resumed': '0'}}",
		&e);
	ck_assert_loaded(m, &e);
	const model_mtls *t = &m->mtls;
	ck_assert_str_eq(t->trust_domain, "example.org");
	ck_assert_int_eq(t->mode, MTLS_DISABLE);
	ck_assert_uint_eq(t->cert_ttl, 3600 * MESH_S);
	ck_assert_double_eq(t->grace_ratio, 0.25);
	ck_assert_double_eq(t->grace_jitter, 0.2);
	ck_assert_int_eq(t->intermediate, 1);
	ck_assert_uint_eq(t->handshake_full, 2 * MESH_MS);
	ck_assert_uint_eq(t->handshake_resumed, 0);
	/* Principals the loader makes are in the block's trust domain. */
	ck_assert_str_eq(m->services[svc(m, "a")].principal,
			 "example.org/ns/shop/sa/a");
	ck_assert_str_eq(m->services[svc(m, "d")].principal,
			 "example.org/ns/default/sa/d");
	ck_assert_str_eq(m->clients[0].principal, "example.org/ns/edge/sa/gw");
	ck_assert_str_eq(m->clients[0].ns, "edge");
	model_free(m);

	/* The smallest lifetime, and jitter just inside both bounds. */
	m = load_scn(TLS_SVCS, TLS_LOAD,
		     ", 'mtls': {'cert_ttl': '2s', 'rotation': {'grace_ratio': 0.9,"
		     " 'jitter': 0.09}}",
		     &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->mtls.cert_ttl, 2 * MESH_S);
	ck_assert_double_eq(m->mtls.grace_ratio, 0.9);
	ck_assert_double_eq(m->mtls.grace_jitter, 0.09);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_mtls_mode_precedence)
{
	/* service > namespace > mesh, as Istio's workload-selector policy
	 * beats its namespace's, which beats the root namespace's. */
	scn_errors e = {0};
	model *m = load_scn(TLS_SVCS, TLS_LOAD,
			    ", 'mtls': {'mode': 'STRICT',"
			    " 'namespaces': {'shop': 'DISABLE', 'ops': 'PERMISSIVE'},"
			    " 'services': {'b': 'STRICT', 'c': 'DISABLE'}}",
			    &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(m->mtls.mode, MTLS_STRICT);
	ck_assert_int_eq(m->services[svc(m, "a")].mtls_mode, MTLS_DISABLE);
	ck_assert_int_eq(m->services[svc(m, "b")].mtls_mode, MTLS_STRICT);
	ck_assert_int_eq(m->services[svc(m, "c")].mtls_mode, MTLS_DISABLE);
	ck_assert_int_eq(m->services[svc(m, "d")].mtls_mode, MTLS_STRICT);
	model_free(m);

	/* Only a namespace given: the rest keep the default PERMISSIVE. */
	m = load_scn(TLS_SVCS, TLS_LOAD,
		     ", 'mtls': {'namespaces': {'default': 'STRICT'}}", &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(m->services[svc(m, "a")].mtls_mode, MTLS_PERMISSIVE);
	ck_assert_int_eq(m->services[svc(m, "c")].mtls_mode, MTLS_PERMISSIVE);
	ck_assert_int_eq(m->services[svc(m, "d")].mtls_mode, MTLS_STRICT);
	model_free(m);

	/* Only a service given, over the mesh-wide mode. */
	m = load_scn(TLS_SVCS, TLS_LOAD,
		     ", 'mtls': {'mode': 'DISABLE', 'services': {'c': 'PERMISSIVE'}}",
		     &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(m->services[svc(m, "b")].mtls_mode, MTLS_DISABLE);
	ck_assert_int_eq(m->services[svc(m, "c")].mtls_mode, MTLS_PERMISSIVE);
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

/* Like check_rejected, with a second needle (NULL: none) that the same
 * message must hold. */
static void check_rejected2(const char *svcs, const char *load,
			    const char *extra, const char *path,
			    const char *what, const char *what2)
{
	scn_errors e = {0};
	model *m = load_scn(svcs, load, extra, &e);
	ck_assert_msg(m == NULL, "accepted: %s | %s | %s", svcs, load, extra);
	ck_assert_msg(find_err(&e, path, what, what2, (const char *)NULL),
		      "%s | %s | %s:\nno error with %s, %s and %s; errors:\n%s",
		      svcs, load, extra, path, what, what2 ? what2 : "-",
		      dump(&e));
	scn_errors_free(&e);
}

START_TEST(test_mtls_bad)
{
	static const struct {
		const char *load, *extra, *path, *what, *what2;
	} cases[] = {
		{NULL, ", 'mtls': 5", "t.json: mtls: ",
		 "expected an object like {\"mode\": \"STRICT\"} ({} turns mutual "
		 "TLS on with Istio's defaults), found 5", NULL},
		{NULL, ", 'mtls': {'modes': 'STRICT'}", "t.json: mtls.modes: ",
		 "unknown key \"modes\" (did you mean \"mode\"?)", NULL},
		{NULL, ", 'mtls': {'peers': 1}", "t.json: mtls.peers: ",
		 "unknown key \"peers\"; expected one of: mode, namespaces, "
		 "services, trust_domain, cert_ttl, rotation, ca, handshake_cpu",
		 NULL},
		/* modes, matched as Istio's enum is written */
		{NULL, ", 'mtls': {'mode': 'strict'}", "t.json: mtls.mode: ",
		 "expected \"STRICT\", \"PERMISSIVE\" or \"DISABLE\" (Istio's "
		 "PeerAuthentication mtls.mode), matched as written (upper case, "
		 "as Istio's enum), found \"strict\" (did you mean \"STRICT\"?)",
		 NULL},
		{NULL, ", 'mtls': {'mode': 'PERMISIVE'}", "t.json: mtls.mode: ",
		 "found \"PERMISIVE\" (did you mean \"PERMISSIVE\"?)", NULL},
		{NULL, ", 'mtls': {'mode': 'MUTUAL'}", "t.json: mtls.mode: ",
		 "expected \"STRICT\", \"PERMISSIVE\" or \"DISABLE\" (Istio's "
		 "PeerAuthentication mtls.mode), found \"MUTUAL\"", NULL},
		{NULL, ", 'mtls': {'mode': 1}", "t.json: mtls.mode: ",
		 "mtls.mode), found 1", NULL},
		{NULL, ", 'mtls': {'mode': 'UNSET'}", "t.json: mtls.mode: ",
		 "found \"UNSET\": Istio's UNSET inherits the mode of the level "
		 "above, and leaving the mesh-wide \"mode\" out does that "
		 "(PERMISSIVE, Istio's default)", NULL},
		{NULL, ", 'mtls': {'namespaces': ['shop']}",
		 "t.json: mtls.namespaces: ",
		 "expected an object of modes keyed by namespace, like {\"shop\": "
		 "\"STRICT\"}, found an array", NULL},
		{NULL, ", 'mtls': {'namespaces': {'shpo': 'STRICT'}}",
		 "t.json: mtls.namespaces.shpo: ",
		 "expected the namespace of a service (\"shop\", \"ops\", "
		 "\"default\"), found \"shpo\", which no service is in", NULL},
		{NULL, ", 'mtls': {'namespaces': {'ops': 'Strict'}}",
		 "t.json: mtls.namespaces.ops: ",
		 "found \"Strict\" (did you mean \"STRICT\"?)", NULL},
		{NULL, ", 'mtls': {'namespaces': {'ops': 'UNSET'}}",
		 "t.json: mtls.namespaces.ops: ",
		 "Istio's UNSET inherits the mode of the level above, which "
		 "leaving this entry out does", NULL},
		{NULL, ", 'mtls': {'services': 'a'}", "t.json: mtls.services: ",
		 "expected an object of modes keyed by service name, like "
		 "{\"catalog\": \"DISABLE\"}, found \"a\"", NULL},
		{NULL, ", 'mtls': {'services': {'e': 'STRICT'}}",
		 "t.json: mtls.services.e: ",
		 "expected the name of a service in \"services\", found \"e\", "
		 "which is not defined (did you mean \"a\"?)", NULL},
		{NULL, ", 'mtls': {'services': {'a': true}}",
		 "t.json: mtls.services.a: ", "mtls.mode), found true", NULL},
		/* trust domain */
		{NULL, ", 'mtls': {'trust_domain': 'Cluster.Local'}",
		 "t.json: mtls.trust_domain: ",
		 "expected a trust domain of lower-case letters, digits, '.', '-' "
		 "or '_', at most 255 characters (a SPIFFE trust domain), like "
		 "\"cluster.local\", found \"Cluster.Local\"", NULL},
		{NULL, ", 'mtls': {'trust_domain': ''}", "t.json: mtls.trust_domain: ",
		 "like \"cluster.local\", found \"\"", NULL},
		{NULL, ", 'mtls': {'trust_domain': 'a/b'}",
		 "t.json: mtls.trust_domain: ", "found \"a/b\"", NULL},
		/* lifetime */
		{NULL, ", 'mtls': {'cert_ttl': '1s'}", "t.json: mtls.cert_ttl: ",
		 "expected a certificate lifetime of whole seconds, at least "
		 "\"2s\" (X.509 validity counts seconds), like \"24h\" (Istio's "
		 "default), found \"1s\"", NULL},
		{NULL, ", 'mtls': {'cert_ttl': '2500ms'}", "t.json: mtls.cert_ttl: ",
		 "whole seconds", "found \"2500ms\""},
		{NULL, ", 'mtls': {'cert_ttl': '1d'}", "t.json: mtls.cert_ttl: ",
		 "expected a duration with a unit", "found \"1d\""},
		/* rotation */
		{NULL, ", 'mtls': {'rotation': 0.5}", "t.json: mtls.rotation: ",
		 "expected an object like {\"grace_ratio\": 0.5, \"jitter\": "
		 "0.01}, found 0.5", NULL},
		{NULL, ", 'mtls': {'rotation': {'grace_ration': 0.5}}",
		 "t.json: mtls.rotation.grace_ration: ",
		 "did you mean \"grace_ratio\"", NULL},
		{NULL, ", 'mtls': {'rotation': {'grace_ratio': 1}}",
		 "t.json: mtls.rotation.grace_ratio: ",
		 "expected a number above 0 and below 1 (the fraction of a "
		 "certificate's lifetime left when it is renewed: Istio's "
		 "SECRET_GRACE_PERIOD_RATIO, 0.5), found 1", NULL},
		{NULL, ", 'mtls': {'rotation': {'grace_ratio': 0}}",
		 "t.json: mtls.rotation.grace_ratio: ", "found 0", NULL},
		{NULL, ", 'mtls': {'rotation': {'grace_ratio': '0.5'}}",
		 "t.json: mtls.rotation.grace_ratio: ", "found \"0.5\"", NULL},
		{NULL, ", 'mtls': {'rotation': {'jitter': 0.5}}",
		 "t.json: mtls.rotation.jitter: ",
		 "expected a number from 0 to below 0.5 (below grace_ratio 0.5 and "
		 "below 1 - grace_ratio, so that renewal falls strictly inside a "
		 "certificate's lifetime: Istio's SECRET_GRACE_PERIOD_RATIO_JITTER, "
		 "0.01), found 0.5", NULL},
		{NULL, ", 'mtls': {'rotation': {'grace_ratio': 0.8, 'jitter': 0.25}}",
		 "t.json: mtls.rotation.jitter: ",
		 "from 0 to below 0.2 (below grace_ratio 0.8", "found 0.25"},
		{NULL, ", 'mtls': {'rotation': {'grace_ratio': 0.1, 'jitter': 0.1}}",
		 "t.json: mtls.rotation.jitter: ", "to below 0.1", "found 0.1"},
		{NULL, ", 'mtls': {'rotation': {'jitter': -0.01}}",
		 "t.json: mtls.rotation.jitter: ", "found -0.01", NULL},
		/* a bad ratio: the jitter is judged on its own */
		{NULL, ", 'mtls': {'rotation': {'grace_ratio': 2, 'jitter': 1}}",
		 "t.json: mtls.rotation.jitter: ",
		 "expected a number from 0 to below 1, found 1", NULL},
		/* ca */
		{NULL, ", 'mtls': {'ca': 'istiod'}", "t.json: mtls.ca: ",
		 "expected an object: {\"intermediate\": true}, or a plug-in CA's "
		 "files like", "found \"istiod\""},
		{NULL, ", 'mtls': {'ca': {'intermediate': 'yes'}}",
		 "t.json: mtls.ca.intermediate: ",
		 "expected true or false, found \"yes\"", NULL},
		{NULL, ", 'mtls': {'ca': {'certs': 'c.pem'}}",
		 "t.json: mtls.ca.certs: ", "did you mean \"cert\"", NULL},
		{NULL, ", 'mtls': {'ca': {'cert': '/dev/null'}}",
		 "t.json: mtls.ca.key: ",
		 "expected the plug-in CA's private key file (Istio's ca-key.pem) "
		 "beside \"cert\", found nothing", NULL},
		{NULL, ", 'mtls': {'ca': {'key': '/dev/null'}}",
		 "t.json: mtls.ca.cert: ",
		 "expected the plug-in CA's certificate file (Istio's ca-cert.pem) "
		 "beside \"key\", found nothing", NULL},
		{NULL, ", 'mtls': {'ca': {'root': 'r.pem'}}", "t.json: mtls.ca.key: ",
		 "beside \"root\", found nothing", NULL},
		{NULL, ", 'mtls': {'ca': {'chain': 'c.pem'}}", "t.json: mtls.ca.cert: ",
		 "beside \"chain\", found nothing", NULL},
		{NULL, ", 'mtls': {'ca': {'cert': 'no-such-ca.pem', 'key': 'k.pem'}}",
		 "t.json: mtls.ca.cert: ",
		 "expected a readable file holding the CA's certificate in PEM, "
		 "Istio's ca-cert.pem (relative paths start at the scenario's "
		 "directory), found \"no-such-ca.pem\" (no-such-ca.pem: No such "
		 "file or directory)", NULL},
		{NULL, ", 'mtls': {'ca': {'cert': 'no-such-ca.pem', 'key': 'k.pem'}}",
		 "t.json: mtls.ca.key: ",
		 "the CA's private key in PEM, Istio's ca-key.pem",
		 "found \"k.pem\" (k.pem: No such file or directory)"},
		{NULL, ", 'mtls': {'ca': {'cert': '/', 'key': '/dev/null'}}",
		 "t.json: mtls.ca.cert: ", "found \"/\" (/: not a regular file)",
		 NULL},
		{NULL, ", 'mtls': {'ca': {'cert': 5, 'key': '/dev/null'}}",
		 "t.json: mtls.ca.cert: ", "expected a non-empty string, found 5",
		 NULL},
		/* handshake CPU */
		{NULL, ", 'mtls': {'handshake_cpu': '1ms'}",
		 "t.json: mtls.handshake_cpu: ",
		 "expected an object like {\"full\": \"4200us\", \"resumed\": "
		 "\"1700us\"}, or \"measured\", found \"1ms\"", NULL},
		{NULL, ", 'mtls': {'handshake_cpu': {'full': 5}}",
		 "t.json: mtls.handshake_cpu.full: ",
		 "expected a duration with a unit", "found 5"},
		{NULL, ", 'mtls': {'handshake_cpu': {'resume': '1ms'}}",
		 "t.json: mtls.handshake_cpu.resume: ", "did you mean \"resumed\"",
		 NULL},
		/* clients' principals must be in the mesh's trust domain */
		{"{'to': 'a', 'rps': 1, 'principal': 'example.org/ns/x/sa/y'}",
		 ", 'mtls': {}", "t.json: load[0].principal: ",
		 "expected a principal in the mesh's trust domain "
		 "\"cluster.local\" (the \"mtls\" block's trust_domain: the mesh CA "
		 "issues certificates of that domain only), like "
		 "\"cluster.local/ns/x/sa/y\", found \"example.org/ns/x/sa/y\"",
		 NULL},
		{"{'to': 'a', 'rps': 1, 'principal': 'cluster.local/ns/x/sa/y'}",
		 ", 'mtls': {'trust_domain': 'example.org'}",
		 "t.json: load[0].principal: ",
		 "trust domain \"example.org\"",
		 "found \"cluster.local/ns/x/sa/y\""},
		{"{'to': 'a', 'rps': 1, 'principal': 'cluster.locall/ns/x/sa/y'}",
		 ", 'mtls': {}", "t.json: load[0].principal: ",
		 "found \"cluster.locall/ns/x/sa/y\"", NULL},
		{"{'to': 'a', 'rps': 1, 'principal': 'cluster/ns/x/sa/y'}",
		 ", 'mtls': {}", "t.json: load[0].principal: ",
		 "found \"cluster/ns/x/sa/y\"", NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
		check_rejected2(TLS_SVCS, cases[i].load ? cases[i].load : TLS_LOAD,
				cases[i].extra, cases[i].path, cases[i].what,
				cases[i].what2);
}
END_TEST

START_TEST(test_mtls_ca_files)
{
	/* A plug-in CA's paths are relative to the scenario's directory
	 * (absolute ones stay), stored resolved, and checked at load. */
	char dir[] = "/tmp/meshsim-ca-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char sub[64], path[128], name[128], json[2048];
	static const char *const files[] = {"ca-cert.pem", "ca-key.pem",
					    "cert-chain.pem", "root-cert.pem"};
	snprintf(sub, sizeof sub, "%s/pki", dir);
	ck_assert_int_eq(mkdir(sub, 0700), 0);
	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", sub, files[i]);
		FILE *f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs("not checked by the loader\n", f);
		ck_assert_int_eq(fclose(f), 0);
	}
	snprintf(name, sizeof name, "%s/s.json", dir);
	static const char fmt[] =
		"{'duration': '1s', 'services': {'api': {'latency': '1ms'}},"
		" 'load': [{'to': 'api', 'rps': 1}], 'mtls': {'ca': {%s}}}";

	scn_errors e = {0};
	char ca[512];
	snprintf(ca, sizeof ca,
		 "'cert': 'pki/ca-cert.pem', 'key': './pki/ca-key.pem',"
		 " 'chain': 'pki/cert-chain.pem', 'root': '%s/root-cert.pem'",
		 sub);
	snprintf(json, sizeof json, fmt, ca);
	model *m = load_as(json, name, &e);
	ck_assert_loaded(m, &e);
	snprintf(path, sizeof path, "%s/pki/ca-cert.pem", dir);
	ck_assert_str_eq(m->mtls.ca_cert, path);
	snprintf(path, sizeof path, "%s/./pki/ca-key.pem", dir);
	ck_assert_str_eq(m->mtls.ca_key, path);
	snprintf(path, sizeof path, "%s/pki/cert-chain.pem", dir);
	ck_assert_str_eq(m->mtls.ca_chain, path);
	snprintf(path, sizeof path, "%s/root-cert.pem", sub);
	ck_assert_str_eq(m->mtls.ca_root, path);
	ck_assert_int_eq(m->mtls.intermediate, 0);
	model_free(m);

	/* cert and key alone make a plug-in CA. */
	snprintf(json, sizeof json, fmt,
		 "'cert': 'pki/ca-cert.pem', 'key': 'pki/ca-key.pem',"
		 " 'intermediate': false");
	m = load_as(json, name, &e);
	ck_assert_loaded(m, &e);
	ck_assert_ptr_nonnull(m->mtls.ca_cert);
	ck_assert_ptr_null(m->mtls.ca_chain);
	ck_assert_ptr_null(m->mtls.ca_root);
	model_free(m);

	/* A missing file: the message names the path as written and as
	 * resolved. */
	snprintf(json, sizeof json, fmt,
		 "'cert': 'pki/ca-cert.pem', 'key': 'pki/ca-key.pem',"
		 " 'root': 'pki/root.pem'");
	m = load_as(json, name, &e);
	ck_assert_ptr_null(m);
	snprintf(path, sizeof path, "found \"pki/root.pem\" (%s/pki/root.pem: "
				    "No such file or directory)", dir);
	ck_assert_err(&e, ": mtls.ca.root: ", "expected a readable file holding "
		      "the root certificate in PEM, Istio's root-cert.pem", path);
	ck_assert_msg(strncmp(e.msg[0], name, strlen(name)) == 0, "%s",
		      e.msg[0]);
	scn_errors_free(&e);

	/* A directory is not a file. */
	snprintf(json, sizeof json, fmt, "'cert': 'pki', 'key': 'pki/ca-key.pem'");
	m = load_as(json, name, &e);
	ck_assert_ptr_null(m);
	ck_assert_err(&e, ": mtls.ca.cert: ", "pki: not a regular file)");
	scn_errors_free(&e);

	/* The files are the CA: no intermediate made beside them. */
	snprintf(json, sizeof json, fmt,
		 "'cert': 'pki/ca-cert.pem', 'key': 'pki/ca-key.pem',"
		 " 'intermediate': true");
	m = load_as(json, name, &e);
	ck_assert_ptr_null(m);
	ck_assert_uint_eq(e.n, 1);
	ck_assert_err(&e, ": mtls.ca.intermediate: ",
		      "expected no \"intermediate\": true beside a plug-in CA's "
		      "files", "found true");
	scn_errors_free(&e);

	for (size_t i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/%s", sub, files[i]);
		ck_assert_int_eq(unlink(path), 0);
	}
	ck_assert_int_eq(rmdir(sub), 0);
	ck_assert_int_eq(rmdir(dir), 0);
}
END_TEST

/* b is STRICT, c DISABLE, a and d PERMISSIVE. */
#define TLS_MTLS ", 'mtls': {'services': {'b': 'STRICT', 'c': 'DISABLE'}}"

START_TEST(test_mtls_faults)
{
	scn_errors e = {0};
	model *m = load_scn(
		TLS_SVCS, TLS_LOAD,
		TLS_MTLS ", 'faults': ["
		" {'kind': 'cert_expire', 'target': 'a', 'at': '1s', 'for': '2s'},"
		" {'kind': 'cert_no_rotate', 'target': {'service': 'd',"
		"  'version': 'v1'}, 'at': '2s'},"
		" {'kind': 'cert_foreign', 'target': 'a', 'at': '1s', 'until': '2s'},"
		" {'kind': 'cert_foreign', 'target': {'service': 'd', 'instance': 2},"
		"  'trust_domain': 'evil.example', 'signed_by': 'foreign_root',"
		"  'at': '1s'},"
		" {'kind': 'cert_foreign', 'target': 'b', 'signed_by': 'mesh_ca',"
		"  'at': '1s'},"
		" {'kind': 'root_rotate', 'overlap': true, 'at': '5s'},"
		" {'kind': 'root_rotate', 'overlap': false, 'at': '0'},"
		" {'kind': 'mtls_strict', 'target': 'c', 'at': '1s', 'for': '1s'},"
		" {'kind': 'mtls_strict', 'target': {'service': 'd', 'instance': 0},"
		"  'at': '1s', 'label': 'd0 strict'}"
		"]",
		&e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->nfaults, 9);
	const model_fault *f = &m->faults[0];
	ck_assert_int_eq(f->kind, FAULT_CERT_EXPIRE);
	ck_assert_uint_eq(f->service, (uint32_t)svc(m, "a"));
	ck_assert_uint_eq(f->version, MODEL_ANY);
	ck_assert_uint_eq(f->instance, MODEL_ANY);
	ck_assert_uint_eq(f->start, 1 * MESH_S);
	ck_assert_uint_eq(f->end, 3 * MESH_S);
	ck_assert_ptr_null(f->foreign_domain);
	ck_assert_str_eq(f->label, "cert_expire a");
	f = &m->faults[1];
	ck_assert_int_eq(f->kind, FAULT_CERT_NO_ROTATE);
	ck_assert_uint_eq(f->version, 0);
	ck_assert_uint_eq(f->end, MESH_NEVER);
	ck_assert_str_eq(f->label, "cert_no_rotate d/v1");
	f = &m->faults[2];
	ck_assert_int_eq(f->kind, FAULT_CERT_FOREIGN);
	ck_assert_str_eq(f->foreign_domain, "other.local");
	ck_assert_int_eq(f->foreign_root, 0);
	ck_assert_uint_eq(f->end, 2 * MESH_S);
	ck_assert_str_eq(f->label, "cert_foreign a");
	f = &m->faults[3];
	ck_assert_str_eq(f->foreign_domain, "evil.example");
	ck_assert_int_eq(f->foreign_root, 1);
	ck_assert_uint_eq(f->instance, 2);
	ck_assert_str_eq(f->label, "cert_foreign d[2] (foreign root)");
	f = &m->faults[4];
	ck_assert_int_eq(f->foreign_root, 0);
	ck_assert_str_eq(f->label, "cert_foreign b");
	f = &m->faults[5];
	ck_assert_int_eq(f->kind, FAULT_ROOT_ROTATE);
	ck_assert_uint_eq(f->service, MODEL_ANY);
	ck_assert_int_eq(f->overlap, 1);
	ck_assert_uint_eq(f->start, 5 * MESH_S);
	ck_assert_uint_eq(f->end, MESH_NEVER);
	ck_assert_str_eq(f->label, "root_rotate (overlap)");
	f = &m->faults[6];
	ck_assert_int_eq(f->overlap, 0);
	ck_assert_uint_eq(f->start, 0);
	ck_assert_str_eq(f->label, "root_rotate (no overlap)");
	f = &m->faults[7];
	ck_assert_int_eq(f->kind, FAULT_MTLS_STRICT);
	ck_assert_uint_eq(f->service, (uint32_t)svc(m, "c"));
	ck_assert_str_eq(f->label, "mtls_strict c");
	f = &m->faults[8];
	ck_assert_uint_eq(f->instance, 0);
	ck_assert_str_eq(f->label, "d0 strict");
	model_free(m);

	/* A DISABLE service's certificate still serves its calls to a
	 * service that is not DISABLE (a calls d). */
	m = load_scn(TLS_SVCS, TLS_LOAD,
		     ", 'mtls': {'services': {'a': 'DISABLE'}}, 'faults': ["
		     " {'kind': 'cert_expire', 'target': 'a', 'at': '1s'}]",
		     &e);
	ck_assert_loaded(m, &e);
	model_free(m);
	/* A foreign domain only has to differ from the mesh's own. */
	m = load_scn(TLS_SVCS, TLS_LOAD,
		     ", 'mtls': {'trust_domain': 'other.local'}, 'faults': ["
		     " {'kind': 'cert_foreign', 'target': 'a',"
		     "  'trust_domain': 'cluster.local', 'at': '1s'}]",
		     &e);
	ck_assert_loaded(m, &e);
	ck_assert_str_eq(m->faults[0].foreign_domain, "cluster.local");
	model_free(m);
	scn_errors_free(&e);
}
END_TEST

START_TEST(test_mtls_faults_bad)
{
	static const char needs_block[] =
		"fault, found none (a certificate fault needs an \"mtls\" block: "
		"without one no TLS is modelled)";
	static const struct {
		const char *mtls, *fault, *path, *what, *what2;
	} cases[] = {
		/* the block is required */
		{"", "{'kind': 'cert_expire', 'target': 'a', 'at': '1s'}",
		 "t.json: faults[0]: ",
		 "expected a top-level \"mtls\" block for a cert_expire fault",
		 needs_block},
		{"", "{'kind': 'cert_no_rotate', 'target': 'a', 'at': '1s'}",
		 "t.json: faults[0]: ", "for a cert_no_rotate fault", needs_block},
		{"", "{'kind': 'cert_foreign', 'target': 'a', 'at': '1s'}",
		 "t.json: faults[0]: ", "for a cert_foreign fault", needs_block},
		{"", "{'kind': 'root_rotate', 'overlap': true, 'at': '1s'}",
		 "t.json: faults[0]: ", "for a root_rotate fault", needs_block},
		{"", "{'kind': 'mtls_strict', 'target': 'a', 'at': '1s'}",
		 "t.json: faults[0]: ",
		 "expected a top-level \"mtls\" block for an mtls_strict fault, "
		 "found none (an mtls_strict fault needs an \"mtls\" block: "
		 "without one no TLS is modelled)", NULL},
		/* targets */
		{TLS_MTLS, "{'kind': 'cert_expire', 'at': '1s'}",
		 "t.json: faults[0].target: ",
		 "expected the service a cert_expire fault applies to, found "
		 "nothing", NULL},
		{TLS_MTLS, "{'kind': 'cert_no_rotate', 'at': '1s'}",
		 "t.json: faults[0].target: ", "a cert_no_rotate fault applies to",
		 NULL},
		{TLS_MTLS, "{'kind': 'cert_foreign', 'at': '1s'}",
		 "t.json: faults[0].target: ", "a cert_foreign fault applies to",
		 NULL},
		{TLS_MTLS, "{'kind': 'mtls_strict', 'at': '1s'}",
		 "t.json: faults[0].target: ", "an mtls_strict fault applies to",
		 NULL},
		{TLS_MTLS, "{'kind': 'cert_expire', 'target': 'zz', 'at': '1s'}",
		 "t.json: faults[0].target: ", "found \"zz\", which is not defined",
		 NULL},
		{TLS_MTLS,
		 "{'kind': 'mtls_strict', 'target': {'service': 'd', 'instance': 5},"
		 " 'at': '1s'}",
		 "t.json: faults[0].target.instance: ",
		 "from 0 to 2 (d has 3 replicas), found 5", NULL},
		{TLS_MTLS,
		 "{'kind': 'cert_no_rotate', 'target': {'service': 'd',"
		 " 'version': 'v3'}, 'at': '1s'}",
		 "t.json: faults[0].target.version: ",
		 "expected a version of d, found \"v3\"", NULL},
		/* keys of each kind */
		{TLS_MTLS,
		 "{'kind': 'cert_expire', 'target': 'a', 'percent': 5, 'at': '1s'}",
		 "t.json: faults[0].percent: ",
		 "unknown key \"percent\" for a cert_expire fault; expected one "
		 "of: kind, at, for, until, label, description, target", NULL},
		{TLS_MTLS,
		 "{'kind': 'cert_no_rotate', 'target': 'a', 'source': 'b',"
		 " 'at': '1s'}",
		 "t.json: faults[0].source: ", "for a cert_no_rotate fault",
		 NULL},
		{TLS_MTLS,
		 "{'kind': 'cert_expire', 'target': 'a', 'trust_domain': 'x.y',"
		 " 'at': '1s'}",
		 "t.json: faults[0].trust_domain: ",
		 "unknown key \"trust_domain\" for a cert_expire fault", NULL},
		{TLS_MTLS,
		 "{'kind': 'cert_foreign', 'target': 'a', 'overlap': true,"
		 " 'at': '1s'}",
		 "t.json: faults[0].overlap: ",
		 "for a cert_foreign fault; expected one of: kind, at, for, "
		 "until, label, description, target, trust_domain, signed_by",
		 NULL},
		{TLS_MTLS,
		 "{'kind': 'delay', 'target': 'a', 'delay': '1ms', 'overlap': true,"
		 " 'at': '1s'}",
		 "t.json: faults[0].overlap: ", "unknown key \"overlap\" for a "
						"delay fault", NULL},
		{TLS_MTLS,
		 "{'kind': 'cert_foreign', 'target': 'a', 'signedby': 'mesh_ca',"
		 " 'at': '1s'}",
		 "t.json: faults[0].signedby: ", "did you mean \"signed_by\"",
		 NULL},
		{TLS_MTLS, "{'kind': 'cert_expiry', 'target': 'a', 'at': '1s'}",
		 "t.json: faults[0].kind: ",
		 "\"cert_expire\", \"cert_no_rotate\", \"cert_foreign\", "
		 "\"root_rotate\", \"mtls_strict\", found \"cert_expiry\"",
		 NULL},
		/* cert_foreign */
		{TLS_MTLS,
		 "{'kind': 'cert_foreign', 'target': 'a',"
		 " 'trust_domain': 'cluster.local', 'at': '1s'}",
		 "t.json: faults[0].trust_domain: ",
		 "expected a trust domain other than the mesh's "
		 "(\"cluster.local\"), found \"cluster.local\"", NULL},
		{", 'mtls': {'trust_domain': 'other.local'}",
		 "{'kind': 'cert_foreign', 'target': 'a', 'at': '1s'}",
		 "t.json: faults[0].trust_domain: ",
		 "(\"other.local\"), found \"other.local\" (the default): give "
		 "the fault a \"trust_domain\"", NULL},
		{TLS_MTLS,
		 "{'kind': 'cert_foreign', 'target': 'a', 'trust_domain': 'Evil',"
		 " 'at': '1s'}",
		 "t.json: faults[0].trust_domain: ",
		 "expected a trust domain of lower-case letters", "found \"Evil\""},
		{TLS_MTLS,
		 "{'kind': 'cert_foreign', 'target': 'a', 'signed_by': 'root',"
		 " 'at': '1s'}",
		 "t.json: faults[0].signed_by: ",
		 "expected \"mesh_ca\" (the mesh's own CA: peers see an identity "
		 "mismatch) or \"foreign_root\" (a root no one trusts: an unknown "
		 "CA), found \"root\"", NULL},
		{TLS_MTLS,
		 "{'kind': 'cert_foreign', 'target': 'a', 'signed_by': 1,"
		 " 'at': '1s'}",
		 "t.json: faults[0].signed_by: ",
		 "expected a non-empty string, found 1", NULL},
		/* root_rotate */
		{TLS_MTLS, "{'kind': 'root_rotate', 'at': '1s'}",
		 "t.json: faults[0].overlap: ",
		 "expected true (the old root stays trusted beside the new one, "
		 "Istio's documented safe procedure) or false (only the new root "
		 "is trusted from \"at\" on), found nothing", NULL},
		{TLS_MTLS, "{'kind': 'root_rotate', 'overlap': 'yes', 'at': '1s'}",
		 "t.json: faults[0].overlap: ", "expected true or false, found "
						"\"yes\"", NULL},
		{TLS_MTLS,
		 "{'kind': 'root_rotate', 'overlap': true, 'at': '1s', 'for': '5s'}",
		 "t.json: faults[0].for: ",
		 "expected no \"for\" for a root_rotate fault (a root rotation is "
		 "for good: the new root signs from \"at\" on), found \"5s\"",
		 NULL},
		{TLS_MTLS,
		 "{'kind': 'root_rotate', 'overlap': true, 'at': '1s',"
		 " 'until': '9s'}",
		 "t.json: faults[0].until: ",
		 "expected no \"until\" for a root_rotate fault", "found \"9s\""},
		{TLS_MTLS,
		 "{'kind': 'root_rotate', 'overlap': true, 'target': 'a',"
		 " 'at': '1s'}",
		 "t.json: faults[0].target: ",
		 "unknown key \"target\" for a root_rotate fault; expected one of: "
		 "kind, at, for, until, label, description, overlap", NULL},
		/* faults that would change nothing */
		{TLS_MTLS, "{'kind': 'mtls_strict', 'target': 'b', 'at': '1s'}",
		 "t.json: faults[0].target: ",
		 "expected a service whose mode is not STRICT already, found b, "
		 "which is (the fault would change nothing)", NULL},
		{", 'mtls': {'mode': 'STRICT'}",
		 "{'kind': 'mtls_strict', 'target': {'service': 'd', 'version':"
		 " 'v2'}, 'at': '1s'}",
		 "t.json: faults[0].target: ", "found d, which is", NULL},
		{TLS_MTLS, "{'kind': 'cert_expire', 'target': 'c', 'at': '1s'}",
		 "t.json: faults[0].target: ",
		 "expected a service whose certificate is in use, found c, which "
		 "is DISABLE and calls no service that is not (it never takes "
		 "part in a TLS handshake, so the fault would change nothing)",
		 NULL},
		{TLS_MTLS, "{'kind': 'cert_no_rotate', 'target': 'c', 'at': '1s'}",
		 "t.json: faults[0].target: ", "found c, which is DISABLE",
		 NULL},
		{", 'mtls': {'mode': 'DISABLE'}",
		 "{'kind': 'cert_foreign', 'target': 'a', 'at': '1s'}",
		 "t.json: faults[0].target: ", "found a, which is DISABLE",
		 NULL},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char extra[1024];
		snprintf(extra, sizeof extra, "%s, 'faults': [%s]", cases[i].mtls,
			 cases[i].fault);
		check_rejected2(TLS_SVCS, TLS_LOAD, extra, cases[i].path,
				cases[i].what, cases[i].what2);
	}
}
END_TEST

START_TEST(test_mtls_files)
{
	/* The bundled mTLS scenarios load, with what their READMEs say. */
	scn_errors e = {0};
	model *m = scn_load_file("scenarios/mtls/strict.json", &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(m->mtls.enabled, 1);
	for (uint32_t i = 0; i < m->nservices; i++)
		ck_assert_int_eq(m->services[i].mtls_mode, MTLS_STRICT);
	ck_assert_str_eq(m->clients[0].principal,
			 "cluster.local/ns/istio-system/sa/"
			 "istio-ingressgateway-service-account");
	ck_assert_ptr_null(m->clients[1].principal);
	model_free(m);

	m = scn_load_file("scenarios/mtls/rotation.json", &e);
	ck_assert_loaded(m, &e);
	ck_assert_uint_eq(m->mtls.cert_ttl, 4 * MESH_S);
	ck_assert_uint_eq(m->duration, 12 * MESH_S);
	ck_assert_uint_eq(m->nfaults, 0);
	model_free(m);

	m = scn_load_file("scenarios/mtls/cert-faults.json", &e);
	ck_assert_loaded(m, &e);
	ck_assert_int_eq(m->services[svc(m, "legacy")].mtls_mode, MTLS_PERMISSIVE);
	ck_assert_int_eq(m->services[svc(m, "catalog")].mtls_mode, MTLS_STRICT);
	int kinds = 0;
	for (uint32_t i = 0; i < m->nfaults; i++)
		kinds |= 1 << m->faults[i].kind;
	ck_assert_int_eq(kinds, 1 << FAULT_CERT_EXPIRE |
					1 << FAULT_CERT_FOREIGN |
					1 << FAULT_MTLS_STRICT |
					1 << FAULT_ROOT_ROTATE);
	model_free(m);
	scn_errors_free(&e);
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

	tc = tcase_create("versions");
	tcase_add_test(tc, test_versions_inherit);
	tcase_add_test(tc, test_versions_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("headers");
	tcase_add_test(tc, test_headers_interned);
	tcase_add_test(tc, test_headers_limit);
	tcase_add_test(tc, test_headers_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("policy");
	tcase_add_test(tc, test_presets);
	tcase_add_test(tc, test_policy_keys);
	tcase_add_test(tc, test_policy_bad);
	tcase_add_test(tc, test_retry_on);
	tcase_add_test(tc, test_budget_shapes);
	tcase_add_test(tc, test_lb_forms);
	suite_add_tcase(s, tc);

	tc = tcase_create("routes");
	tcase_add_test(tc, test_routes_mesh_before_load);
	tcase_add_test(tc, test_routes_load_before_mesh);
	tcase_add_test(tc, test_routes_headers_methods);
	tcase_add_test(tc, test_routes_bad);
	suite_add_tcase(s, tc);

	tc = tcase_create("faults");
	tcase_add_test(tc, test_faults_kinds);
	tcase_add_test(tc, test_faults_bad);
	tcase_add_test(tc, test_faults_pause_bandwidth);
	tcase_add_test(tc, test_faults_pause_bandwidth_bad);
	tcase_add_test(tc, test_expect_new);
	suite_add_tcase(s, tc);

	tc = tcase_create("mtls");
	tcase_add_test(tc, test_mtls_absent);
	tcase_add_test(tc, test_mtls_defaults);
	tcase_add_test(tc, test_mtls_explicit);
	tcase_add_test(tc, test_mtls_mode_precedence);
	tcase_add_test(tc, test_mtls_bad);
	tcase_add_test(tc, test_mtls_ca_files);
	tcase_add_test(tc, test_mtls_faults);
	tcase_add_test(tc, test_mtls_faults_bad);
	tcase_add_test(tc, test_mtls_files);
	suite_add_tcase(s, tc);

	tc = tcase_create("json");
	tcase_add_test(tc, test_invalid_json);
	tcase_add_test(tc, test_duplicate_keys);
	suite_add_tcase(s, tc);
	return s;
}
