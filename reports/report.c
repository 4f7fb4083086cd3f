#include "report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dist.h"



/* ---- objectives ---- */

static const rec_stats *scope_stats(const rec *r, const model_objective *o)
{
	switch (o->scope) {
	case SCOPE_OVERALL: return &r->overall;
	case SCOPE_SERVICE: return &r->services[o->index].st;
	case SCOPE_CLIENT: return &r->clients[o->index];
	}
	return &r->overall;
}

static double measure(const rec_stats *s, enum model_metric k)
{
	switch (k) {
	case METRIC_SUCCESS_RATE: return rec_success_rate(s);
	case METRIC_ERROR_RATE: return 1.0 - rec_success_rate(s);
	case METRIC_ERRORS: return (double)(s->issued - s->outcomes[MESH_OK]);
	case METRIC_TIMEOUTS: return (double)s->outcomes[MESH_TIMEOUT];
	case METRIC_REQUESTS: return (double)s->issued;
	case METRIC_MEAN: return hist_mean(&s->lat);
	case METRIC_P50: return (double)hist_quantile(&s->lat, 0.50);
	case METRIC_P90: return (double)hist_quantile(&s->lat, 0.90);
	case METRIC_P99: return (double)hist_quantile(&s->lat, 0.99);
	case METRIC_P999: return (double)hist_quantile(&s->lat, 0.999);
	case METRIC_MAX: return (double)s->lat.max;
	}
	return 0;
}

static int compare(double x, enum model_op op, double t)
{
	switch (op) {
	case OP_GE: return x >= t;
	case OP_GT: return x > t;
	case OP_LE: return x <= t;
	case OP_LT: return x < t;
	case OP_EQ: return x == t;
	}
	return 0;
}

uint32_t report_evaluate(const model *m, const rec *r, report_verdict *out)
{
	uint32_t missed = 0;
	for (uint32_t i = 0; i < m->nobjectives; i++) {
		const model_objective *o = &m->objectives[i];
		const rec_stats *s = scope_stats(r, o);
		out[i].o = o;
		out[i].measured = measure(s, o->metric);
		/* A latency objective over no requests at all is not met:
		 * an empty run must not pass by saying nothing. */
		if (model_metric_is_latency(o->metric) && s->lat.count == 0)
			out[i].met = 0;
		else
			out[i].met = compare(out[i].measured, o->op, o->target);
		missed += !out[i].met;
	}
	return missed;
}

static const char *scope_name(const model *m, const model_objective *o)
{
	switch (o->scope) {
	case SCOPE_OVERALL: return NULL;
	case SCOPE_SERVICE: return m->services[o->index].name;
	case SCOPE_CLIENT: return m->clients[o->index].name;
	}
	return NULL;
}

static const char *scope_kind(const model_objective *o)
{
	switch (o->scope) {
	case SCOPE_OVERALL: return "overall";
	case SCOPE_SERVICE: return "service";
	case SCOPE_CLIENT: return "client";
	}
	return "?";
}

/* ---- JSON ---- */

/* Milliseconds rounded to whole microseconds, so reports stay short. */
static json_t *ms(double ns)
{
	return json_real(round(ns / 1000.0) / 1000.0);
}

static json_t *ratio(double x)
{
	return json_real(round(x * 1e6) / 1e6);
}

static json_t *seconds(mesh_time t)
{
	return json_real(round((double)t / 1e6) / 1e3);
}

static json_t *latency_json(const hist *h)
{
	json_t *o = json_object();
	json_object_set_new(o, "count", json_integer((json_int_t)h->count));
	json_object_set_new(o, "mean", ms(hist_mean(h)));
	json_object_set_new(o, "p50", ms((double)hist_quantile(h, 0.50)));
	json_object_set_new(o, "p90", ms((double)hist_quantile(h, 0.90)));
	json_object_set_new(o, "p99", ms((double)hist_quantile(h, 0.99)));
	json_object_set_new(o, "p999", ms((double)hist_quantile(h, 0.999)));
	json_object_set_new(o, "max", ms((double)h->max));
	return o;
}

static json_t *status_json(const uint64_t *by_status)
{
	json_t *o = json_object();
	for (unsigned k = 0; k < REC_MAX_STATUS; k++)
		if (by_status[k]) {
			char key[8];
			snprintf(key, sizeof key, "%u", k);
			json_object_set_new(o, key,
					    json_integer((json_int_t)by_status[k]));
		}
	return o;
}

/* Counts, outcomes and latency of one entity, added to object o. */
static void stats_json(json_t *o, const rec_stats *s, mesh_time span)
{
	uint64_t in_flight = rec_in_flight(s);
	json_object_set_new(o, "issued", json_integer((json_int_t)s->issued));
	json_t *oc = json_object();
	for (int k = 0; k < MESH_OUTCOME_COUNT; k++)
		json_object_set_new(oc, mesh_outcome_name((enum mesh_outcome)k),
				    json_integer((json_int_t)s->outcomes[k]));
	json_object_set_new(oc, "in_flight", json_integer((json_int_t)in_flight));
	json_object_set_new(o, "outcomes", oc);
	/* The outcomes add up to the requests issued by construction of
	 * in_flight; what can fail is the host's independent count of the
	 * requests its agents still hold. */
	int accounted = rec_completed(s) <= s->issued &&
			(s->live_at_end == UINT64_MAX ||
			 s->live_at_end == in_flight);
	json_object_set_new(o, "accounted", json_boolean(accounted));
	json_object_set_new(o, "status", status_json(s->by_status));
	json_object_set_new(o, "success_rate", ratio(rec_success_rate(s)));
	json_object_set_new(o, "rps",
			    json_real(span ? round((double)rec_completed(s) /
						   ((double)span / 1e9) * 1000.0) /
						 1000.0
					   : 0.0));
	json_object_set_new(o, "latency_ms", latency_json(&s->lat));
}

static json_t *series_json(const rec_series *s)
{
	json_t *o = json_object();
	json_t *t = json_array(), *issued = json_array(), *done = json_array(),
	       *sr = json_array(), *p50 = json_array(), *p90 = json_array(),
	       *p99 = json_array(), *p999 = json_array(), *mx = json_array();
	for (uint32_t i = 0; i < s->nrows; i++) {
		const rec_row *w = &s->rows[i];
		json_array_append_new(t, json_integer(i));
		json_array_append_new(issued, json_integer((json_int_t)w->issued));
		json_array_append_new(done, json_integer((json_int_t)w->done));
		json_array_append_new(sr, w->done ? ratio((double)w->ok /
							  (double)w->done)
						  : json_null());
		json_array_append_new(p50, w->done ? ms((double)w->p50) : json_null());
		json_array_append_new(p90, w->done ? ms((double)w->p90) : json_null());
		json_array_append_new(p99, w->done ? ms((double)w->p99) : json_null());
		json_array_append_new(p999, w->done ? ms((double)w->p999) : json_null());
		json_array_append_new(mx, w->done ? ms((double)w->max) : json_null());
	}
	json_object_set_new(o, "t", t);
	json_object_set_new(o, "issued", issued);
	json_object_set_new(o, "done", done);
	json_object_set_new(o, "success_rate", sr);
	json_object_set_new(o, "p50_ms", p50);
	json_object_set_new(o, "p90_ms", p90);
	json_object_set_new(o, "p99_ms", p99);
	json_object_set_new(o, "p999_ms", p999);
	json_object_set_new(o, "max_ms", mx);
	return o;
}

static json_t *objective_value(enum model_metric k, double v)
{
	if (model_metric_is_latency(k))
		return ms(v);
	if (k == METRIC_SUCCESS_RATE || k == METRIC_ERROR_RATE)
		return ratio(v);
	return json_integer((json_int_t)v);
}

static double offered_rps(const model *m, const model_client *c)
{
	/* The average rate the schedule asks for over the whole duration. */
	double n = 0;
	for (uint32_t i = 0; i < c->nphases; i++) {
		mesh_time end = i + 1 < c->nphases ? c->phases[i + 1].at
						   : m->duration;
		n += c->phases[i].rps * (double)(end - c->phases[i].at) / 1e9;
	}
	return n / ((double)m->duration / 1e9);
}

static json_t *build(const model *m, const rec *r, uint64_t seed,
		     const char *mode, const report_verdict *v)
{
	json_t *root = json_object();
	json_object_set_new(root, "schema_version",
			    json_integer(REPORT_SCHEMA_VERSION));
	json_object_set_new(root, "generator",
			    json_string("meshsim " MESHSIM_VERSION));
	json_object_set_new(root, "mode", json_string(mode));

	json_t *sc = json_object();
	json_object_set_new(sc, "name", json_string(m->name));
	json_object_set_new(sc, "file", json_string(m->file ? m->file : ""));
	json_object_set_new(sc, "seed", json_integer((json_int_t)seed));
	json_object_set_new(sc, "duration_s", seconds(m->duration));
	json_object_set_new(sc, "drain_s", seconds(m->drain));
	json_object_set_new(root, "scenario", sc);

	json_t *run = json_object();
	json_object_set_new(run, "end_s", seconds(r->end));
	json_object_set_new(run, "events", json_integer((json_int_t)r->events));
	json_object_set_new(root, "run", run);

	uint32_t missed = 0;
	json_t *objs = json_array();
	for (uint32_t i = 0; i < m->nobjectives; i++) {
		const model_objective *o = v[i].o;
		json_t *x = json_object();
		json_object_set_new(x, "scope", json_string(scope_kind(o)));
		const char *nm = scope_name(m, o);
		if (nm)
			json_object_set_new(x, "name", json_string(nm));
		json_object_set_new(x, "metric",
				    json_string(model_metric_name(o->metric)));
		json_object_set_new(x, "expect", json_string(o->text));
		json_object_set_new(x, "op", json_string(model_op_name(o->op)));
		json_object_set_new(x, "target", objective_value(o->metric, o->target));
		json_object_set_new(x, "measured",
				    objective_value(o->metric, v[i].measured));
		json_object_set_new(x, "unit",
				    json_string(model_metric_is_latency(o->metric)
							? "ms"
						: o->metric == METRIC_SUCCESS_RATE ||
								o->metric == METRIC_ERROR_RATE
							? "ratio"
							: "requests"));
		json_object_set_new(x, "met", json_boolean(v[i].met));
		missed += !v[i].met;
		json_array_append_new(objs, x);
	}
	json_object_set_new(root, "verdict", json_string(missed ? "fail" : "pass"));
	json_object_set_new(root, "objectives", objs);

	mesh_time span = m->duration;
	json_t *tot = json_object();
	stats_json(tot, &r->overall, span);
	json_object_set_new(root, "totals", tot);

	json_t *cls = json_array();
	for (uint32_t i = 0; i < m->nclients; i++) {
		const model_client *c = &m->clients[i];
		const model_route *rt = &m->routes[c->route];
		json_t *x = json_object();
		json_object_set_new(x, "name", json_string(c->name));
		json_object_set_new(x, "to", json_string(m->services[rt->service].name));
		json_object_set_new(x, "path", json_string(rt->path));
		json_object_set_new(x, "kind", json_string(c->kind == CLIENT_OPEN
								   ? "open"
								   : "closed"));
		if (c->kind == CLIENT_OPEN) {
			json_object_set_new(x, "arrival",
					    json_string(c->arrival == ARRIVAL_POISSON
								? "poisson"
								: "constant"));
			json_object_set_new(x, "requested_rps",
					    json_real(round(offered_rps(m, c) * 1000) / 1000));
		} else {
			json_object_set_new(x, "users", json_integer(c->users));
		}
		json_object_set_new(x, "achieved_rps",
				    json_real(round((double)r->clients[i].issued /
						    ((double)m->duration / 1e9) * 1000) /
					      1000));
		stats_json(x, &r->clients[i], span);
		json_array_append_new(cls, x);
	}
	json_object_set_new(root, "clients", cls);

	json_t *svcs = json_array();
	for (uint32_t i = 0; i < m->nservices; i++) {
		const model_service *s = &m->services[i];
		const rec_service *rs = &r->services[i];
		json_t *x = json_object();
		json_object_set_new(x, "name", json_string(s->name));
		json_object_set_new(x, "replicas", json_integer(s->replicas));
		stats_json(x, &rs->st, span);
		json_t *insts = json_array();
		for (uint32_t j = 0; j < s->replicas; j++) {
			const rec_instance *ri = &rs->inst[j];
			json_t *y = json_object();
			json_object_set_new(y, "instance", json_integer(j));
			json_object_set_new(y, "arrived", json_integer((json_int_t)ri->arrived));
			json_object_set_new(y, "served", json_integer((json_int_t)ri->served));
			json_object_set_new(y, "queue_full",
					    json_integer((json_int_t)ri->queue_full));
			json_object_set_new(y, "waited", json_integer((json_int_t)ri->waited));
			json_object_set_new(y, "max_queue",
					    json_integer((json_int_t)ri->max_queue));
			json_object_set_new(y, "answered", status_json(ri->by_status));
			json_object_set_new(y, "queue_wait_ms", latency_json(&ri->wait));
			json_array_append_new(insts, y);
		}
		json_object_set_new(x, "instances", insts);
		json_array_append_new(svcs, x);
	}
	json_object_set_new(root, "services", svcs);

	json_t *routes = json_array();
	for (uint32_t i = 0; i < m->nroutes; i++) {
		json_t *x = json_object();
		json_object_set_new(x, "service",
				    json_string(m->services[m->routes[i].service].name));
		json_object_set_new(x, "path", json_string(m->routes[i].path));
		stats_json(x, &r->routes[i], span);
		json_array_append_new(routes, x);
	}
	json_object_set_new(root, "routes", routes);

	json_t *ts = json_object();
	json_object_set_new(ts, "interval_s", json_integer(1));
	json_object_set_new(ts, "overall", series_json(&r->overall_series));
	json_t *tsc = json_object();
	for (uint32_t i = 0; i < m->nclients; i++)
		json_object_set_new(tsc, m->clients[i].name,
				    series_json(&r->client_series[i]));
	json_object_set_new(ts, "clients", tsc);
	json_t *tss = json_object();
	for (uint32_t i = 0; i < m->nservices; i++)
		json_object_set_new(tss, m->services[i].name,
				    series_json(&r->services[i].series));
	json_object_set_new(ts, "services", tss);
	json_object_set_new(root, "timeseries", ts);
	return root;
}

char *report_json_string(const model *m, const rec *r, uint64_t seed,
			 const char *mode, const report_verdict *v)
{
	json_t *root = build(m, r, seed, mode, v);
	if (!root)
		return NULL;
	char *s = json_dumps(root, JSON_INDENT(1) | JSON_REAL_PRECISION(12));
	json_decref(root);
	return s;
}

static int mkdirs(const char *dir, char *err, size_t errlen)
{
	char buf[4096];
	if (snprintf(buf, sizeof buf, "%s", dir) >= (int)sizeof buf) {
		snprintf(err, errlen, "%s: path too long", dir);
		return -1;
	}
	for (char *p = buf + 1;; p++) {
		if (*p == '/' || *p == '\0') {
			char c = *p;
			*p = '\0';
			if (mkdir(buf, 0777) < 0 && errno != EEXIST) {
				snprintf(err, errlen, "%s: cannot create: %s", buf,
					 strerror(errno));
				return -1;
			}
			*p = c;
			if (!c)
				break;
		}
	}
	return 0;
}

int report_write_json(const model *m, const rec *r, uint64_t seed,
		      const char *mode, const report_verdict *v,
		      const char *dir, char *err, size_t errlen)
{
	if (mkdirs(dir, err, errlen) < 0)
		return -1;
	char *s = report_json_string(m, r, seed, mode, v);
	if (!s) {
		snprintf(err, errlen, "out of memory writing the report");
		return -1;
	}
	char path[4200], tmp[4300];
	snprintf(path, sizeof path, "%s/report.json", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	/* Write then rename, so a reader never sees half a report. */
	FILE *f = fopen(tmp, "wb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		free(s);
		return -1;
	}
	size_t len = strlen(s);
	int bad = fwrite(s, 1, len, f) != len || fputc('\n', f) == EOF;
	bad |= fclose(f) != 0;
	free(s);
	if (bad || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		remove(tmp);
		return -1;
	}
	return 0;
}

/* ---- text summary ---- */

static void fmt_ms(char *buf, size_t len, double ns)
{
	if (ns < 1e6)
		snprintf(buf, len, "%.0fus", ns / 1e3);
	else if (ns < 1e9)
		snprintf(buf, len, "%.1fms", ns / 1e6);
	else
		snprintf(buf, len, "%.2fs", ns / 1e9);
}

static void fmt_value(char *buf, size_t len, enum model_metric k, double v)
{
	if (model_metric_is_latency(k))
		fmt_ms(buf, len, v);
	else if (k == METRIC_SUCCESS_RATE || k == METRIC_ERROR_RATE)
		snprintf(buf, len, "%.4f", v);
	else
		snprintf(buf, len, "%.0f", v);
}

static void print_latency(FILE *f, const hist *h)
{
	char a[16], b[16], c[16], d[16], e[16];
	fmt_ms(a, sizeof a, (double)hist_quantile(h, 0.5));
	fmt_ms(b, sizeof b, (double)hist_quantile(h, 0.9));
	fmt_ms(c, sizeof c, (double)hist_quantile(h, 0.99));
	fmt_ms(d, sizeof d, (double)hist_quantile(h, 0.999));
	fmt_ms(e, sizeof e, (double)h->max);
	fprintf(f, "%9s %9s %9s %9s %9s", a, b, c, d, e);
}

void report_print_summary(FILE *f, const model *m, const rec *r,
			  uint64_t seed, const report_verdict *v)
{
	const rec_stats *o = &r->overall;
	char dur[32];
	mesh_format_duration(m->duration, dur, sizeof dur);
	fprintf(f, "scenario %s (seed %llu): %s of load, %llu events simulated\n",
		m->name, (unsigned long long)seed, dur,
		(unsigned long long)r->events);
	fprintf(f, "requests: %llu issued = %llu success + %llu http_error + "
		   "%llu timeout + %llu rejected + %llu in_flight\n",
		(unsigned long long)o->issued,
		(unsigned long long)o->outcomes[MESH_OK],
		(unsigned long long)o->outcomes[MESH_HTTP_ERROR],
		(unsigned long long)o->outcomes[MESH_TIMEOUT],
		(unsigned long long)o->outcomes[MESH_REJECTED],
		(unsigned long long)rec_in_flight(o));
	fprintf(f, "\n%-22s %9s %8s %9s %9s %9s %9s %9s\n", "", "rps", "success",
		"p50", "p90", "p99", "p99.9", "max");
	double secs = (double)m->duration / 1e9;
	fprintf(f, "%-22s %9.1f %7.3f%% ", "all clients",
		(double)rec_completed(o) / secs, 100.0 * rec_success_rate(o));
	print_latency(f, &o->lat);
	fputc('\n', f);
	for (uint32_t i = 0; i < m->nservices; i++) {
		const rec_stats *s = &r->services[i].st;
		char name[40];
		snprintf(name, sizeof name, "service %s", m->services[i].name);
		fprintf(f, "%-22.22s %9.1f %7.3f%% ", name,
			(double)rec_completed(s) / secs,
			100.0 * rec_success_rate(s));
		print_latency(f, &s->lat);
		uint64_t full = 0;
		for (uint32_t j = 0; j < m->services[i].replicas; j++)
			full += r->services[i].inst[j].queue_full;
		if (full)
			fprintf(f, "  (%llu queue-full 503s)",
				(unsigned long long)full);
		fputc('\n', f);
	}
	if (m->nobjectives) {
		fprintf(f, "\nobjectives:\n");
		uint32_t met = 0;
		for (uint32_t i = 0; i < m->nobjectives; i++) {
			const model_objective *ob = v[i].o;
			char meas[32], scope[80];
			fmt_value(meas, sizeof meas, ob->metric, v[i].measured);
			const char *nm = scope_name(m, ob);
			if (nm)
				snprintf(scope, sizeof scope, "%s %s",
					 scope_kind(ob), nm);
			else
				snprintf(scope, sizeof scope, "overall");
			fprintf(f, "  %s  %-24s %-12s %-14s measured %s\n",
				v[i].met ? "MET   " : "MISSED", scope,
				model_metric_name(ob->metric), ob->text, meas);
			met += v[i].met;
		}
		fprintf(f, "verdict: %s (%u of %u objectives met)\n",
			met == m->nobjectives ? "PASS" : "FAIL", met,
			m->nobjectives);
	}
}
