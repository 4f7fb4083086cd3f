#include "report.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "dist.h"
#include "report_rollout.h"
#include "rollout.h"



/* ---- objectives ---- */

static const rec_stats *scope_stats(const rec *r, const model_objective *o)
{
	switch (o->scope) {
	case SCOPE_OVERALL: return &r->overall;
	case SCOPE_SERVICE: return &r->services[o->index].st;
	case SCOPE_CLIENT: return &r->clients[o->index];
	case SCOPE_ROLLOUT: break;
	}
	return &r->overall;
}

/* ---- resilience: windows, recovery, metastability ---- */

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

report_window report_window_of(const rec_series *s, uint32_t from, uint32_t to)
{
	report_window w = {.from = from, .to = to};
	if (to > s->nrows)
		to = s->nrows;
	uint64_t p99s[4096];
	uint32_t n = 0;
	for (uint32_t t = from; t < to; t++) {
		const rec_row *row = &s->rows[t];
		w.issued += row->issued;
		w.done += row->done;
		w.ok += row->ok;
		if (row->done && n < 4096)
			p99s[n++] = row->p99;
	}
	w.success_rate = w.done ? (double)w.ok / (double)w.done : 1.0;
	if (n) {
		qsort(p99s, n, sizeof *p99s, cmp_u64);
		w.p99 = (double)p99s[n / 2];
	}
	w.rate = w.to > w.from ? (double)w.issued / (double)(w.to - w.from) : 0;
	return w;
}

#define RECOVERY_BEFORE 30 /* seconds of baseline */
#define RECOVERY_HOLD 5    /* seconds the recovery must hold */

mesh_time report_recovery(const model *m, const rec_series *s,
			  const model_fault *f)
{
	uint32_t start = (uint32_t)(f->start / MESH_S);
	uint32_t from = start > RECOVERY_BEFORE ? start - RECOVERY_BEFORE : 0;
	report_window base = report_window_of(s, from, start);
	if (!base.done)
		return MESH_NEVER;
	double sr_min = base.success_rate - 0.01;
	double p99_max = base.p99 * 1.5;
	uint32_t last = (uint32_t)((m->duration + MESH_S - 1) / MESH_S);
	if (last > s->nrows)
		last = s->nrows;
	uint32_t t0;
	mesh_time origin = f->end;
	if (f->end == MESH_NEVER && f->kind != FAULT_ROOT_ROTATE)
		return MESH_NEVER;
	if (f->end == MESH_NEVER) {
		/* A root rotation never ends, but the mesh heals it itself
		 * (renewals onto the new root): recovery counts from its
		 * start, from the first second it made worse; none made worse
		 * is no harm, recovered at once. Other faults without an end
		 * never recover. */
		origin = f->start;
		for (t0 = start; t0 < last; t0++) {
			const rec_row *row = &s->rows[t0];
			if (row->done && ((double)row->ok / (double)row->done < sr_min ||
					  (double)row->p99 > p99_max))
				break;
		}
		if (t0 >= last)
			return 0;
	} else {
		t0 = (uint32_t)((f->end + MESH_S - 1) / MESH_S);
	}
	for (uint32_t t = t0; t < last; t++) {
		int ok = 1;
		uint32_t end = t + RECOVERY_HOLD < last ? t + RECOVERY_HOLD : last;
		for (uint32_t u = t; u < end && ok; u++) {
			const rec_row *row = &s->rows[u];
			if (!row->done)
				continue;
			double sr = (double)row->ok / (double)row->done;
			ok = sr >= sr_min && (double)row->p99 <= p99_max;
		}
		if (ok) {
			mesh_time at = (mesh_time)t * MESH_S;
			return at > origin ? at - origin : 0;
		}
	}
	return MESH_NEVER;
}

/* When the offered rate first rises above its starting rate. */
static mesh_time first_rise(const model *m)
{
	mesh_time t = MESH_NEVER;
	for (uint32_t i = 0; i < m->nclients; i++) {
		const model_client *c = &m->clients[i];
		for (uint32_t k = 1; k < c->nphases; k++)
			if (c->phases[k].rps > c->phases[0].rps && c->phases[k].at < t)
				t = c->phases[k].at;
	}
	return t;
}

report_metastable report_metastability(const model *m, const rec_series *s)
{
	report_metastable x = {0};
	mesh_time trigger = first_rise(m);
	mesh_time faults_end = 0;
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const model_fault *f = &m->faults[i];
		if (f->start < trigger)
			trigger = f->start;
		mesh_time e = f->end == MESH_NEVER ? MESH_NEVER : f->end;
		if (e > faults_end)
			faults_end = e;
	}
	uint32_t dur = (uint32_t)(m->duration / MESH_S);
	if (trigger == MESH_NEVER) {
		x.why = "nothing triggered a disturbance (no fault, no rise in load)";
		return x;
	}
	uint32_t ts = (uint32_t)(trigger / MESH_S);
	uint32_t from = ts > RECOVERY_BEFORE ? ts - RECOVERY_BEFORE : 0;
	x.before = report_window_of(s, from, ts);
	uint32_t tail = dur >= 10 ? 10 : dur;
	x.after = report_window_of(s, dur - tail, dur);
	if (!x.before.done) {
		x.why = "no traffic before the trigger to compare with";
		return x;
	}
	if (faults_end > (mesh_time)(dur - tail) * MESH_S) {
		x.why = "a fault is still on in the last 10 s of load";
		return x;
	}
	if (x.after.rate > 1.1 * x.before.rate) {
		x.why = "the offered load at the end is above the load before the trigger";
		return x;
	}
	x.judged = 1;
	x.degraded = x.after.success_rate < x.before.success_rate - 0.01 ||
		     x.after.p99 > 2.0 * x.before.p99;
	x.metastable = x.degraded;
	x.why = x.degraded ? "degraded after its trigger was gone" : "recovered";
	return x;
}

static const rec_series *scope_series(const rec *r, const model_objective *o)
{
	switch (o->scope) {
	case SCOPE_OVERALL: return &r->overall_series;
	case SCOPE_SERVICE: return &r->services[o->index].series;
	case SCOPE_CLIENT: return &r->client_series[o->index];
	case SCOPE_ROLLOUT: break;
	}
	return &r->overall_series;
}

/* Attempts per request over every service: the mesh's retry amplification. */
static double total_amplification(const model *m, const rec *r)
{
	uint64_t att = 0, req = 0;
	for (uint32_t i = 0; i < m->nservices; i++) {
		att += r->services[i].st.pol.attempts;
		req += r->services[i].st.issued;
	}
	return req ? (double)att / (double)req : 1.0;
}

static double measure_special(const model *m, const rec *r,
			      const model_objective *o)
{
	switch (o->metric) {
	case METRIC_RETRY_AMPLIFICATION:
		if (o->scope == SCOPE_SERVICE)
			return rec_amplification(&r->services[o->index].st);
		if (o->scope == SCOPE_CLIENT)
			return rec_amplification(&r->routes[m->clients[o->index].route]);
		return total_amplification(m, r);
	case METRIC_RECOVERS_WITHIN: {
		mesh_time worst = 0;
		for (uint32_t i = 0; i < m->nfaults; i++) {
			mesh_time t = report_recovery(m, scope_series(r, o),
						      &m->faults[i]);
			if (t > worst)
				worst = t;
		}
		return worst == MESH_NEVER ? INFINITY : (double)worst;
	}
	case METRIC_METASTABLE: {
		report_metastable x = report_metastability(m, scope_series(r, o));
		return x.metastable ? 1.0 : 0.0;
	}
	case METRIC_ROLLOUT_VERDICT:
		return r->ro_log ? (double)r->ro_log->verdict : 0;
	case METRIC_DECIDED_WITHIN: {
		mesh_time t = report_time_to_decision(r);
		return t == MESH_NEVER ? INFINITY : (double)t;
	}
	case METRIC_BLAST_RADIUS:
		return (double)report_blast_radius(r);
	default:
		break;
	}
	return 0;
}

static double measure(const rec_stats *s, enum model_metric k)
{
	switch (k) {
	case METRIC_RETRY_AMPLIFICATION:
	case METRIC_RECOVERS_WITHIN:
	case METRIC_METASTABLE:
	case METRIC_ROLLOUT_VERDICT:
	case METRIC_DECIDED_WITHIN:
	case METRIC_BLAST_RADIUS:
		break; /* measure_special */
	case METRIC_SUCCESS_RATE: return rec_success_rate(s);
	case METRIC_ERROR_RATE: return 1.0 - rec_success_rate(s);
	case METRIC_ERRORS: return (double)(s->issued - s->outcomes[MESH_OK]);
	case METRIC_TIMEOUTS: return (double)s->outcomes[MESH_TIMEOUT];
	case METRIC_DENIED: return (double)s->outcomes[MESH_DENIED];
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
		int special = o->metric == METRIC_RETRY_AMPLIFICATION ||
			      o->metric == METRIC_RECOVERS_WITHIN ||
			      o->metric == METRIC_METASTABLE ||
			      o->scope == SCOPE_ROLLOUT;
		out[i].measured = special ? measure_special(m, r, o)
					  : measure(s, o->metric);
		/* A latency objective over no requests at all is not met:
		 * an empty run must not pass by saying nothing. */
		if (model_metric_is_latency(o->metric) && !special &&
		    s->lat.count == 0)
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
	case SCOPE_ROLLOUT: return m->services[m->rollout->service].name;
	}
	return NULL;
}

static const char *scope_kind(const model_objective *o)
{
	switch (o->scope) {
	case SCOPE_OVERALL: return "overall";
	case SCOPE_SERVICE: return "service";
	case SCOPE_CLIENT: return "client";
	case SCOPE_ROLLOUT: return "rollout";
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

/* The latency distribution as [ms, fraction at or below] points, for CDF
 * charts: one point per bucket where the fraction grew by 0.5% or more
 * since the last point, and the last bucket. */
static json_t *cdf_json(const hist *h)
{
	json_t *a = json_array();
	if (!h->count)
		return a;
	uint64_t seen = 0;
	double last = -1;
	for (uint32_t i = h->lo; i <= h->hi; i++) {
		if (!h->b[i])
			continue;
		seen += h->b[i];
		double f = (double)seen / (double)h->count;
		if (f - last < 0.005 && i != h->hi)
			continue;
		last = f;
		uint64_t v = hist_bucket_high(i);
		if (v > h->max)
			v = h->max;
		json_t *p = json_array();
		json_array_append_new(p, ms((double)v));
		json_array_append_new(p, ratio(f));
		json_array_append_new(a, p);
	}
	return a;
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

/* What the sidecars did for a route or service. */
static void policy_stats_json(json_t *o, const rec_stats *s)
{
	const rec_policy *p = &s->pol;
	json_object_set_new(o, "attempts", json_integer((json_int_t)p->attempts));
	json_object_set_new(o, "retry_amplification", ratio(rec_amplification(s)));
	json_t *rr = json_object();
	for (int k = 0; k < REC_RETRY_COUNT; k++)
		json_object_set_new(rr, rec_retry_reason_name(k),
				    json_integer((json_int_t)p->retries[k]));
	json_object_set_new(o, "retries", rr);
	json_t *ov = json_object();
	for (int k = 0; k < REC_OVERFLOW_COUNT; k++)
		json_object_set_new(ov, rec_overflow_name(k),
				    json_integer((json_int_t)p->overflow[k]));
	json_object_set_new(o, "overflows", ov);
	json_object_set_new(o, "per_try_timeouts",
			    json_integer((json_int_t)p->per_try_timeouts));
	json_object_set_new(o, "route_timeouts",
			    json_integer((json_int_t)p->route_timeouts));
}

/* The authorization section: each policy and what it decided, each
 * service's identity and the verdicts of its inbound sidecars, each
 * client's identity. Only in a scenario with policies. */
static json_t *authz_json(const model *m, const rec *r)
{
	json_t *o = json_object(), *pols = json_array();
	for (uint32_t i = 0; i < m->nauthz; i++) {
		const authz_policy *p = &m->authz[i];
		json_t *x = json_object(), *sv = json_array();
		json_object_set_new(x, "name", json_string(p->name));
		json_object_set_new(x, "action",
				    json_string(p->action == AUTHZ_DENY ? "DENY" : "ALLOW"));
		for (uint32_t k = 0; k < p->nservices; k++)
			json_array_append_new(sv, json_string(m->services[p->services[k]].name));
		json_object_set_new(x, "services", sv);
		json_object_set_new(x, "rules", json_integer(p->nrules));
		/* What it decided: the requests a DENY policy denied, or an
		 * ALLOW policy allowed (the first policy that matched). */
		json_object_set_new(x, p->action == AUTHZ_DENY ? "denied" : "allowed",
				    json_integer((json_int_t)r->authz_policy[i]));
		json_array_append_new(pols, x);
	}
	json_object_set_new(o, "policies", pols);
	uint64_t denied = 0;
	json_t *svcs = json_array();
	for (uint32_t i = 0; i < m->nservices; i++) {
		const model_service *s = &m->services[i];
		const uint64_t *v = &r->authz_service[(size_t)i * AUTHZ_VERDICT_COUNT];
		json_t *x = json_object(), *pl = json_array();
		json_object_set_new(x, "name", json_string(s->name));
		json_object_set_new(x, "namespace", json_string(s->ns));
		json_object_set_new(x, "service_account", json_string(s->service_account));
		json_object_set_new(x, "principal", json_string(s->principal));
		for (uint32_t k = 0; k < s->authz.ndeny; k++)
			json_array_append_new(pl, json_string(m->authz[s->authz.deny[k]].name));
		for (uint32_t k = 0; k < s->authz.nallow; k++)
			json_array_append_new(pl, json_string(m->authz[s->authz.allow[k]].name));
		json_object_set_new(x, "policies", pl);
		uint64_t checked = 0;
		for (int k = 0; k < AUTHZ_VERDICT_COUNT; k++)
			checked += v[k];
		json_object_set_new(x, "checked", json_integer((json_int_t)checked));
		for (int k = 0; k < AUTHZ_VERDICT_COUNT; k++)
			json_object_set_new(x, authz_verdict_name((enum authz_verdict)k),
					    json_integer((json_int_t)v[k]));
		denied += v[AUTHZ_DENIED] + v[AUTHZ_DENIED_NO_ALLOW];
		json_array_append_new(svcs, x);
	}
	json_object_set_new(o, "services", svcs);
	json_t *cls = json_array();
	for (uint32_t i = 0; i < m->nclients; i++) {
		const model_client *c = &m->clients[i];
		json_t *x = json_object();
		json_object_set_new(x, "name", json_string(c->name));
		json_object_set_new(x, "principal",
				    c->principal ? json_string(c->principal) : json_null());
		json_array_append_new(cls, x);
	}
	json_object_set_new(o, "clients", cls);
	json_object_set_new(o, "denied", json_integer((json_int_t)denied));
	return o;
}

/* ---- mutual TLS ---- */

/* The certificates listed in the report; the rest are counted. */
#define REPORT_MAX_CERTS 10000

static const char *mtls_mode_name(enum model_mtls_mode k)
{
	switch (k) {
	case MTLS_DISABLE: return "DISABLE";
	case MTLS_PERMISSIVE: return "PERMISSIVE";
	case MTLS_STRICT: return "STRICT";
	case MTLS_UNSET: break;
	}
	return "UNSET";
}

/* A side's counters: handshakes, plaintext connections, failures by
 * reason and in all. */
static json_t *tls_side_json(const rec_tls *t)
{
	json_t *o = json_object(), *f = json_object();
	uint64_t failed = 0;
	json_object_set_new(o, "full", json_integer((json_int_t)t->full));
	json_object_set_new(o, "resumed", json_integer((json_int_t)t->resumed));
	json_object_set_new(o, "plaintext", json_integer((json_int_t)t->plaintext));
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++) {
		json_object_set_new(f, rec_tls_fail_name(k), json_integer((json_int_t)t->failed[k]));
		failed += t->failed[k];
	}
	json_object_set_new(o, "failed", json_integer((json_int_t)failed));
	json_object_set_new(o, "failures", f);
	return o;
}

static void tls_add(rec_tls *d, const rec_tls *s)
{
	d->full += s->full;
	d->resumed += s->resumed;
	d->plaintext += s->plaintext;
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++)
		d->failed[k] += s->failed[k];
}

/* The "mtls" section: the configuration, every workload's handshakes per
 * side, and the timeline of certificates. Only with an "mtls" block. */
static json_t *mtls_json(const model *m, const rec *r)
{
	const model_mtls *mt = &m->mtls;
	json_t *o = json_object();
	json_object_set_new(o, "trust_domain",
			    json_string(mt->trust_domain ? mt->trust_domain : MODEL_TRUST_DOMAIN));
	json_object_set_new(o, "mode", json_string(mtls_mode_name(mt->mode)));
	json_object_set_new(o, "cert_ttl_s", seconds(mt->cert_ttl));
	json_object_set_new(o, "grace_ratio", ratio(mt->grace_ratio));
	json_object_set_new(o, "intermediate_ca", json_boolean(mt->intermediate));
	json_object_set_new(o, "plugin_ca", json_boolean(mt->ca_cert != NULL));
	/* What the simulator charges a handshake: fixed figures, or the CPU
	 * each one took ("measured": this report then differs from run to
	 * run). */
	json_object_set_new(o, "handshake_cpu", mt->handshake_measured
		? json_string("measured")
		: json_pack("{s:o,s:o}", "full_ms", ms(mt->handshake_full),
			    "resumed_ms", ms(mt->handshake_resumed)));

	json_t *svcs = json_array();
	for (uint32_t i = 0; i < m->nservices; i++) {
		const uint64_t *v = &r->authz_service[(size_t)i * AUTHZ_VERDICT_COUNT];
		json_t *x = json_object();
		json_object_set_new(x, "name", json_string(m->services[i].name));
		json_object_set_new(x, "mode", json_string(mtls_mode_name(m->services[i].mtls_mode)));
		/* Identity comes from the peer certificate with mTLS on: what
		 * its authorization policies then denied (per policy: the
		 * "authorization" section). */
		json_object_set_new(x, "authz_denied",
				    json_integer((json_int_t)(v[AUTHZ_DENIED] +
							      v[AUTHZ_DENIED_NO_ALLOW])));
		json_array_append_new(svcs, x);
	}
	json_object_set_new(o, "services", svcs);

	rec_tls tot[REC_TLS_SIDES];
	memset(tot, 0, sizeof tot);
	json_t *wls = json_array();
	uint32_t nw = r->tls ? r->tls_nworkloads : 0, ninst = rec_tls_workloads(m) - m->nclients;
	for (uint32_t w = 0; w < nw; w++) {
		char name[512];
		rec_tls_workload_name(m, w, name, sizeof name);
		int client = w >= ninst;
		json_t *x = json_object();
		json_object_set_new(x, "name", json_string(name));
		json_object_set_new(x, "kind", json_string(client ? "client" : "service"));
		json_object_set_new(x, "identity",
				    json_boolean(!client || m->clients[w - ninst].principal));
		for (int side = 0; side < REC_TLS_SIDES; side++) {
			const rec_tls *t = rec_tls_row(r, w, side);
			tls_add(&tot[side], t);
			json_object_set_new(x, rec_tls_side_name(side), tls_side_json(t));
		}
		json_array_append_new(wls, x);
	}
	json_t *to = json_object();
	for (int side = 0; side < REC_TLS_SIDES; side++)
		json_object_set_new(to, rec_tls_side_name(side), tls_side_json(&tot[side]));
	json_object_set_new(o, "totals", to);
	json_object_set_new(o, "workloads", wls);

	uint64_t bywhy[REC_CERT_WHY_COUNT] = {0};
	json_t *certs = json_array();
	for (uint32_t k = 0; k < r->ncerts; k++) {
		const rec_cert_event *e = &r->certs[k];
		if (e->why < REC_CERT_WHY_COUNT)
			bywhy[e->why]++;
		if (k >= REPORT_MAX_CERTS)
			continue;
		char name[512];
		rec_tls_workload_name(m, e->workload, name, sizeof name);
		json_t *x = json_object();
		json_object_set_new(x, "workload", json_string(name));
		json_object_set_new(x, "at_s", seconds(e->at));
		json_object_set_new(x, "why", json_string(rec_cert_why_name(e->why)));
		json_object_set_new(x, "not_before_s", json_integer((json_int_t)e->not_before_s));
		json_object_set_new(x, "not_after_s", json_integer((json_int_t)e->not_after_s));
		json_object_set_new(x, "root", e->root == REC_CERT_ROOT_FOREIGN
						       ? json_null() : json_integer(e->root));
		json_array_append_new(certs, x);
	}
	json_t *bw = json_object();
	for (int k = 0; k < REC_CERT_WHY_COUNT; k++)
		json_object_set_new(bw, rec_cert_why_name(k), json_integer((json_int_t)bywhy[k]));
	json_object_set_new(o, "certificates_by_why", bw);
	json_object_set_new(o, "certificates_total", json_integer((json_int_t)r->ncerts));
	json_object_set_new(o, "certificates_truncated",
			    json_boolean(r->ncerts > REPORT_MAX_CERTS));
	json_object_set_new(o, "certificates", certs);
	return o;
}

static const char *lb_name(enum model_lb lb)
{
	switch (lb) {
	case LB_ROUND_ROBIN: return "round_robin";
	case LB_RANDOM: return "random";
	case LB_LEAST_REQUEST: return "least_request";
	case LB_PEAK_EWMA: return "peak_ewma";
	case LB_RING_HASH: return "ring_hash";
	}
	return "?";
}

static json_t *duration_or_none(mesh_time t)
{
	return t == MESH_NEVER ? json_string("none") : ms((double)t);
}

/* The policy callers' sidecars apply to a service, after presets and
 * overrides: what the run actually used. */
static json_t *policy_json(const model_policy *p)
{
	json_t *o = json_object();
	json_object_set_new(o, "timeout_ms", duration_or_none(p->timeout));
	json_object_set_new(o, "connect_timeout_ms", ms((double)p->connect_timeout));
	json_object_set_new(o, "lb", json_string(lb_name(p->lb)));
	json_t *r = json_object();
	json_object_set_new(r, "attempts", json_integer(p->retry.attempts));
	json_object_set_new(r, "per_try_timeout_ms",
			    duration_or_none(p->retry.per_try_timeout));
	json_object_set_new(r, "budget",
			    json_string(p->retry.budget == BUDGET_ENVOY ? "envoy"
					: p->retry.budget == BUDGET_LINKERD ? "linkerd"
									     : "none"));
	json_object_set_new(o, "retries", r);
	json_t *b = json_object();
	const model_breaker *cb = &p->breaker;
#define LIMIT(x) ((x) == MODEL_UNLIMITED ? json_string("unlimited") : json_integer(x))
	json_object_set_new(b, "max_connections", LIMIT(cb->max_connections));
	json_object_set_new(b, "max_pending", LIMIT(cb->max_pending));
	json_object_set_new(b, "max_requests", LIMIT(cb->max_requests));
	json_object_set_new(b, "max_retries", LIMIT(cb->max_retries));
#undef LIMIT
	json_object_set_new(o, "circuit_breaker", b);
	json_object_set_new(o, "outlier_detection", json_boolean(p->outlier.enabled));
	json_object_set_new(o, "routes", json_integer(p->nrules));
	return o;
}

static const char *fault_kind_name(enum model_fault_kind k)
{
	switch (k) {
	case FAULT_DELAY: return "delay";
	case FAULT_ABORT: return "abort";
	case FAULT_BLACKHOLE: return "blackhole";
	case FAULT_PARTITION: return "partition";
	case FAULT_CRASH: return "crash";
	case FAULT_CAPACITY: return "capacity";
	case FAULT_NETWORK: return "network";
	case FAULT_PAUSE: return "pause";
	case FAULT_BANDWIDTH: return "bandwidth";
	case FAULT_CERT_EXPIRE: return "cert_expire";
	case FAULT_CERT_NO_ROTATE: return "cert_no_rotate";
	case FAULT_CERT_FOREIGN: return "cert_foreign";
	case FAULT_ROOT_ROTATE: return "root_rotate";
	case FAULT_MTLS_STRICT: return "mtls_strict";
	}
	return "?";
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

/* The sidecars' columns of a service's series. */
static void series_policy_json(json_t *o, const rec_series *s)
{
	json_t *att = json_array(), *ret = json_array(), *ov = json_array(),
	       *ej = json_array();
	for (uint32_t i = 0; i < s->nrows; i++) {
		const rec_row *w = &s->rows[i];
		json_array_append_new(att, json_integer((json_int_t)w->attempts));
		json_array_append_new(ret, json_integer((json_int_t)w->retries));
		json_array_append_new(ov, json_integer((json_int_t)w->overflows));
		json_array_append_new(ej, json_integer((json_int_t)w->ejected));
	}
	json_object_set_new(o, "attempts", att);
	json_object_set_new(o, "retries", ret);
	json_object_set_new(o, "overflows", ov);
	json_object_set_new(o, "ejected", ej);
}

static json_t *window_json(const report_window *w)
{
	json_t *o = json_object();
	json_object_set_new(o, "from_s", json_integer(w->from));
	json_object_set_new(o, "to_s", json_integer(w->to));
	json_object_set_new(o, "rate", json_real(round(w->rate * 1000) / 1000));
	json_object_set_new(o, "success_rate", ratio(w->success_rate));
	json_object_set_new(o, "p99_ms", ms(w->p99));
	return o;
}

static json_t *objective_value(enum model_metric k, double v)
{
	if (!isfinite(v))
		return json_string("never");
	if (k == METRIC_ROLLOUT_VERDICT)
		return json_string(ro_verdict_name((enum ro_verdict)v));
	if (k == METRIC_METASTABLE)
		return json_boolean(v != 0);
	if (k == METRIC_RETRY_AMPLIFICATION)
		return ratio(v);
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
		     const char *mode, const report_verdict *v, const json_t *extra)
{
	json_t *root = json_object();
	json_object_set_new(root, "schema_version",
			    json_integer(REPORT_SCHEMA_VERSION));
	json_object_set_new(root, "generator",
			    json_string("meshsim " MESHSIM_VERSION));
	json_object_set_new(root, "mode", json_string(mode));
	json_object_set_new(root, "defaults",
			    json_string(m->defaults ? m->defaults : "none"));

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
	/* A host's own section (live mode's "live"), near the top. */
	if (extra)
		json_object_update(root, (json_t *)extra);

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
				    json_string(model_metric_is_latency(o->metric) ? "ms"
						: o->metric == METRIC_SUCCESS_RATE ||
								o->metric == METRIC_ERROR_RATE ||
								o->metric == METRIC_RETRY_AMPLIFICATION
							? "ratio"
						: o->metric == METRIC_METASTABLE ? "boolean"
						: o->metric == METRIC_ROLLOUT_VERDICT ? "verdict"
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
		policy_stats_json(x, &rs->st);
		json_object_set_new(x, "latency_cdf", cdf_json(&rs->st.lat));
		json_object_set_new(x, "policy", policy_json(&s->policy));
		json_t *vers = json_array();
		for (uint32_t k = 0; k < s->nversions; k++) {
			json_t *y = json_object();
			json_object_set_new(y, "name", json_string(s->versions[k].name));
			json_object_set_new(y, "replicas", json_integer(s->versions[k].replicas));
			json_object_set_new(y, "first_instance", json_integer(s->versions[k].first));
			json_array_append_new(vers, y);
		}
		json_object_set_new(x, "versions", vers);
		json_t *insts = json_array();
		for (uint32_t j = 0; j < s->replicas; j++) {
			const rec_instance *ri = &rs->inst[j];
			json_t *y = json_object();
			json_object_set_new(y, "instance", json_integer(j));
			json_object_set_new(y, "version",
					    json_string(s->versions[model_version_of(s, j)].name));
			json_object_set_new(y, "crashes", json_integer((json_int_t)ri->crashes));
			json_object_set_new(y, "ejections",
					    json_integer((json_int_t)ri->ejections));
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
		policy_stats_json(x, &r->routes[i]);
		json_array_append_new(routes, x);
	}
	json_object_set_new(root, "routes", routes);

	/* The service graph: who calls whom, how often, how well. */
	json_t *graph = json_object(), *nodes = json_array(), *edges = json_array();
	for (uint32_t i = 0; i < m->nservices + m->nclients; i++) {
		json_t *x = json_object();
		int client = i >= m->nservices;
		json_object_set_new(x, "name", json_string(client
			? m->clients[i - m->nservices].name : m->services[i].name));
		json_object_set_new(x, "kind", json_string(client ? "client" : "service"));
		json_array_append_new(nodes, x);
		for (uint32_t t = 0; t < m->nservices; t++) {
			size_t k = (size_t)i * m->nservices + t;
			if (!r->edge_calls[k])
				continue;
			json_t *e = json_object();
			json_object_set_new(e, "from", json_string(client
				? m->clients[i - m->nservices].name : m->services[i].name));
			json_object_set_new(e, "from_kind", json_string(client ? "client" : "service"));
			json_object_set_new(e, "to", json_string(m->services[t].name));
			json_object_set_new(e, "calls", json_integer((json_int_t)r->edge_calls[k]));
			json_object_set_new(e, "rps", json_real(round((double)r->edge_calls[k] /
								      ((double)span / 1e9) * 1000) / 1000));
			json_object_set_new(e, "success_rate",
					    ratio((double)r->edge_ok[k] / (double)r->edge_calls[k]));
			json_array_append_new(edges, e);
		}
	}
	json_object_set_new(graph, "nodes", nodes);
	json_object_set_new(graph, "edges", edges);
	json_object_set_new(root, "graph", graph);

	json_t *faults = json_array();
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const model_fault *f = &m->faults[i];
		json_t *x = json_object();
		json_object_set_new(x, "label", json_string(f->label ? f->label : ""));
		json_object_set_new(x, "kind", json_string(fault_kind_name(f->kind)));
		json_object_set_new(x, "start_s", seconds(f->start));
		json_object_set_new(x, "end_s", f->end == MESH_NEVER ? json_null()
								       : seconds(f->end));
		json_object_set_new(x, "hits", json_integer((json_int_t)r->fault_hits[i]));
		mesh_time rt = report_recovery(m, &r->overall_series, f);
		json_object_set_new(x, "recovery_s", rt == MESH_NEVER ? json_string("never")
								     : seconds(rt));
		json_array_append_new(faults, x);
	}
	json_object_set_new(root, "faults", faults);

	json_t *ej = json_object();
	json_object_set_new(ej, "total", json_integer((json_int_t)r->ejections_total));
	json_object_set_new(ej, "truncated",
			    json_boolean(r->ejections_total > r->nejections));
	json_t *evs = json_array();
	for (uint32_t i = 0; i < r->nejections; i++) {
		const rec_ejection_event *e = &r->ejections[i];
		json_t *y = json_object();
		json_object_set_new(y, "t_s", seconds(e->t));
		json_object_set_new(y, "service", json_string(m->services[e->service].name));
		json_object_set_new(y, "instance", json_integer(e->instance));
		json_object_set_new(y, "event", json_string(e->delta > 0 ? "ejected" : "returned"));
		json_array_append_new(evs, y);
	}
	json_object_set_new(ej, "events", evs);
	json_object_set_new(root, "ejections", ej);

	report_metastable ms_ = report_metastability(m, &r->overall_series);
	json_t *res = json_object();
	json_t *mso = json_object();
	json_object_set_new(mso, "judged", json_boolean(ms_.judged));
	json_object_set_new(mso, "degraded", json_boolean(ms_.degraded));
	json_object_set_new(mso, "metastable", json_boolean(ms_.metastable));
	json_object_set_new(mso, "why", json_string(ms_.why ? ms_.why : ""));
	if (ms_.before.to > ms_.before.from)
		json_object_set_new(mso, "before", window_json(&ms_.before));
	if (ms_.after.to > ms_.after.from)
		json_object_set_new(mso, "after", window_json(&ms_.after));
	json_object_set_new(res, "metastability", mso);
	json_object_set_new(res, "retry_amplification", ratio(total_amplification(m, r)));
	json_object_set_new(root, "resilience", res);
	if (m->rollout && r->ro_log)
		json_object_set_new(root, "rollout", report_rollout_json(m, r));
	if (m->nauthz)
		json_object_set_new(root, "authorization", authz_json(m, r));
	if (m->mtls.enabled)
		json_object_set_new(root, "mtls", mtls_json(m, r));

	json_t *ts = json_object();
	json_object_set_new(ts, "interval_s", json_integer(1));
	json_object_set_new(ts, "overall", series_json(&r->overall_series));
	json_t *tsc = json_object();
	for (uint32_t i = 0; i < m->nclients; i++)
		json_object_set_new(tsc, m->clients[i].name,
				    series_json(&r->client_series[i]));
	json_object_set_new(ts, "clients", tsc);
	json_t *tss = json_object();
	for (uint32_t i = 0; i < m->nservices; i++) {
		json_t *x = series_json(&r->services[i].series);
		series_policy_json(x, &r->services[i].series);
		json_object_set_new(tss, m->services[i].name, x);
	}
	json_object_set_new(ts, "services", tss);
	json_object_set_new(root, "timeseries", ts);
	return root;
}

char *report_json_string(const model *m, const rec *r, uint64_t seed,
			 const char *mode, const report_verdict *v)
{
	return report_json_string_extra(m, r, seed, mode, v, NULL);
}

char *report_json_string_extra(const model *m, const rec *r, uint64_t seed,
			       const char *mode, const report_verdict *v,
			       const json_t *extra)
{
	json_t *root = build(m, r, seed, mode, v, extra);
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
	return report_write_json_extra(m, r, seed, mode, v, NULL, dir, err, errlen);
}

int report_write_json_extra(const model *m, const rec *r, uint64_t seed,
			    const char *mode, const report_verdict *v,
			    const json_t *extra, const char *dir, char *err,
			    size_t errlen)
{
	if (mkdirs(dir, err, errlen) < 0)
		return -1;
	char *s = report_json_string_extra(m, r, seed, mode, v, extra);
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
