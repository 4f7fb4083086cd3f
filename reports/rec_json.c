#include "rec_json.h"

#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

/* ---- writing a snapshot ---- */

/* Building fails as a whole: one failed allocation marks `bad`, and the
 * snapshot is dropped rather than sent with a hole in it. */
static void put(json_t *o, const char *k, json_t *v, int *bad)
{
	if (json_object_set_new(o, k, v) < 0)
		*bad = 1;
}

static void push(json_t *a, json_t *v, int *bad)
{
	if (json_array_append_new(a, v) < 0)
		*bad = 1;
}

static json_t *u64_json(uint64_t v)
{
	if (v <= (uint64_t)INT64_MAX)
		return json_integer((json_int_t)v);
	char buf[24];
	snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
	return json_string(buf);
}

/* A histogram's sum: an integer while it is one (latencies are whole ns,
 * and a double holds every integer below 2^53 exactly), so that no
 * printing precision can change it; a number past that. */
static json_t *sum_json(double s)
{
	if (s >= 0 && s < 9007199254740992.0 && (double)(uint64_t)s == s)
		return json_integer((json_int_t)s);
	return json_real(s);
}

static json_t *hist_json(const hist *h, int *bad)
{
	json_t *o = json_object();
	put(o, "count", u64_json(h->count), bad);
	if (!h->count)
		return o;
	put(o, "min", u64_json(h->min), bad);
	put(o, "max", u64_json(h->max), bad);
	put(o, "sum", sum_json(h->sum), bad);
	json_t *b = json_array();
	for (uint32_t i = h->lo; i <= h->hi; i++) {
		if (!h->b[i])
			continue;
		json_t *p = json_array();
		push(p, json_integer(i), bad);
		push(p, u64_json(h->b[i]), bad);
		push(b, p, bad);
	}
	put(o, "buckets", b, bad);
	return o;
}

static json_t *status_json(const uint64_t *by_status, int *bad)
{
	json_t *o = json_object();
	for (unsigned k = 0; k < REC_MAX_STATUS; k++)
		if (by_status[k]) {
			char key[8];
			snprintf(key, sizeof key, "%u", k);
			put(o, key, u64_json(by_status[k]), bad);
		}
	return o;
}

static json_t *stats_json(const rec_stats *s, int *bad)
{
	json_t *o = json_object();
	put(o, "issued", u64_json(s->issued), bad);
	json_t *oc = json_object();
	for (int k = 0; k < MESH_OUTCOME_COUNT; k++)
		put(oc, mesh_outcome_name((enum mesh_outcome)k),
		    u64_json(s->outcomes[k]), bad);
	put(o, "outcomes", oc, bad);
	put(o, "status", status_json(s->by_status, bad), bad);
	put(o, "live_at_end",
	    s->live_at_end == UINT64_MAX ? json_null() : u64_json(s->live_at_end),
	    bad);
	put(o, "latency", hist_json(&s->lat, bad), bad);
	const rec_policy *p = &s->pol;
	json_t *po = json_object();
	put(po, "attempts", u64_json(p->attempts), bad);
	json_t *rr = json_object();
	for (int k = 0; k < REC_RETRY_COUNT; k++)
		put(rr, rec_retry_reason_name(k), u64_json(p->retries[k]), bad);
	put(po, "retries", rr, bad);
	json_t *ov = json_object();
	for (int k = 0; k < REC_OVERFLOW_COUNT; k++)
		put(ov, rec_overflow_name(k), u64_json(p->overflow[k]), bad);
	put(po, "overflows", ov, bad);
	put(po, "per_try_timeouts", u64_json(p->per_try_timeouts), bad);
	put(po, "route_timeouts", u64_json(p->route_timeouts), bad);
	put(o, "policy", po, bad);
	return o;
}

/* Series s as rec_finish would leave it at a time whose last second is
 * `last` (when `open`): the open second summarised, rows up to `last`,
 * and, for a service, the hosts still ejected carried to `last`. */
static json_t *series_json(const rec_series *s, const rec_service *svc,
			   int open, uint32_t last, hist *scratch, int *bad)
{
	uint32_t n = s->nrows;
	if (open && n < last + 1)
		n = last + 1;
	json_t *col[7];
	static const char *const names[7] = {
		"issued", "done", "ok", "attempts", "retries", "overflows", "ejected"};
	for (int k = 0; k < 7; k++)
		col[k] = json_array();
	json_t *lat = json_array();
	for (uint32_t t = 0; t < n; t++) {
		rec_row w = t < s->nrows ? s->rows[t] : (rec_row){0};
		if (svc && open && svc->ejected_now && t >= svc->ejected_sec &&
		    t <= last && svc->ejected_now > w.ejected)
			w.ejected = svc->ejected_now;
		uint64_t v[7] = {w.issued, w.done, w.ok, w.attempts, w.retries,
				 w.overflows, w.ejected};
		for (int k = 0; k < 7; k++)
			push(col[k], u64_json(v[k]), bad);
		hist_reset(scratch);
		rec_series_second(s, t, scratch);
		push(lat, scratch->count ? hist_json(scratch, bad) : json_null(), bad);
	}
	json_t *o = json_object();
	for (int k = 0; k < 7; k++)
		put(o, names[k], col[k], bad);
	put(o, "latency", lat, bad);
	return o;
}

static json_t *instance_json(const rec_instance *x, int *bad)
{
	json_t *o = json_object();
	put(o, "arrived", u64_json(x->arrived), bad);
	put(o, "served", u64_json(x->served), bad);
	put(o, "queue_full", u64_json(x->queue_full), bad);
	put(o, "waited", u64_json(x->waited), bad);
	put(o, "max_queue", u64_json(x->max_queue), bad);
	put(o, "crashes", u64_json(x->crashes), bad);
	put(o, "ejections", u64_json(x->ejections), bad);
	put(o, "answered", status_json(x->by_status, bad), bad);
	put(o, "wait", hist_json(&x->wait, bad), bad);
	return o;
}

static json_t *scenario_json(const model *m, int *bad)
{
	json_t *o = json_object();
	put(o, "name", json_string(m->name ? m->name : ""), bad);
	json_t *sv = json_array(), *rp = json_array();
	for (uint32_t i = 0; i < m->nservices; i++) {
		push(sv, json_string(m->services[i].name), bad);
		push(rp, json_integer(m->services[i].replicas), bad);
	}
	put(o, "services", sv, bad);
	put(o, "replicas", rp, bad);
	json_t *cl = json_array();
	for (uint32_t i = 0; i < m->nclients; i++)
		push(cl, json_string(m->clients[i].name), bad);
	put(o, "clients", cl, bad);
	json_t *rt = json_array();
	for (uint32_t i = 0; i < m->nroutes; i++) {
		json_t *p = json_array();
		push(p, json_integer(m->routes[i].service), bad);
		push(p, json_string(m->routes[i].path), bad);
		push(rt, p, bad);
	}
	put(o, "routes", rt, bad);
	put(o, "faults", json_integer(m->nfaults), bad);
	return o;
}

/* The per-version series of r's rollout service from step `first` on;
 * null without a rollout. A step still open (no later call has closed
 * it) is shown whole, as rec_finish would leave it. */
static json_t *versions_json(const rec *r, uint32_t first, hist *scratch, int *bad)
{
	const model *m = r->m;
	if (!m->rollout || !r->vs)
		return json_null();
	const model_service *svc = &m->services[r->vs_service];
	static const char *const names[5] = {"done", "non5xx", "calls", "failed", "slow"};
	json_t *o = json_object();
	put(o, "service", json_string(svc->name), bad);
	put(o, "step", u64_json(r->vs_step), bad);
	put(o, "first", json_integer(first), bad);
	json_t *vn = json_array(), *vs = json_array();
	for (uint32_t v = 0; v < r->vs_nversions; v++) {
		const rec_vseries *x = &r->vs[v];
		push(vn, json_string(svc->versions[v].name), bad);
		json_t *y = json_object(), *tot = json_object();
		put(tot, "calls", u64_json(x->calls), bad);
		put(tot, "failed", u64_json(x->failed), bad);
		put(tot, "slow", u64_json(x->slow), bad);
		put(y, "totals", tot, bad);
		json_t *col[5], *ib = json_array(), *lat = json_array();
		for (int k = 0; k < 5; k++)
			col[k] = json_array();
		for (uint32_t t = first; t < x->nrows; t++) {
			const rec_vrow *w = &x->rows[t];
			uint32_t val[5] = {w->done, w->non5xx, w->calls, w->failed, w->slow};
			for (int k = 0; k < 5; k++)
				push(col[k], json_integer(val[k]), bad);
			json_t *b = json_array();
			for (int i = 0; i <= RO_ISTIO_BUCKETS; i++)
				if (w->ib[i]) {
					json_t *pr = json_array();
					push(pr, json_integer(i), bad);
					push(pr, json_integer(w->ib[i]), bad);
					push(b, pr, bad);
				}
			push(ib, b, bad);
			hist_reset(scratch);
			rec_vseries_step(x, t, scratch);
			push(lat, scratch->count ? hist_json(scratch, bad) : json_null(), bad);
		}
		for (int k = 0; k < 5; k++)
			put(y, names[k], col[k], bad);
		put(y, "istio", ib, bad);
		put(y, "latency", lat, bad);
		push(vs, y, bad);
	}
	put(o, "names", vn, bad);
	put(o, "versions", vs, bad);
	return o;
}

json_t *rec_versions_json(const rec *r, mesh_time from)
{
	if (!r->m->rollout || !r->vs)
		return json_null();
	assert(r->vs[0].keep || !r->vs_nversions);
	hist *scratch = malloc(sizeof *scratch);
	if (!scratch)
		return NULL;
	hist_init(scratch);
	int bad = 0;
	json_t *o = versions_json(r, (uint32_t)(from / r->vs_step), scratch, &bad);
	free(scratch);
	if (bad) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* One workload's counters on one side, or NULL when all are zero. */
static json_t *tls_row_json(const rec_tls *t, uint32_t w, int side, int *bad)
{
	uint64_t any = t->full | t->resumed | t->plaintext;
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++)
		any |= t->failed[k];
	if (!any)
		return NULL;
	json_t *o = json_object(), *f = json_object();
	put(o, "workload", json_integer(w), bad);
	put(o, "side", json_string(rec_tls_side_name(side)), bad);
	put(o, "full", u64_json(t->full), bad);
	put(o, "resumed", u64_json(t->resumed), bad);
	put(o, "plaintext", u64_json(t->plaintext), bad);
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++)
		put(f, rec_tls_fail_name(k), u64_json(t->failed[k]), bad);
	put(o, "failed", f, bad);
	return o;
}

/* The "mtls" member: null without an mtls block; else the rows of
 * counters that are not all zero, and every certificate event sorted as
 * rec_finish sorts them (a recorder still open has them in the order
 * recorded). */
static json_t *mtls_json(const rec *r, int *bad)
{
	if (!r->tls)
		return json_null();
	json_t *o = json_object(), *rows = json_array(), *certs = json_array();
	put(o, "workloads", json_integer(r->tls_nworkloads), bad);
	for (uint32_t w = 0; w < r->tls_nworkloads; w++)
		for (int side = 0; side < REC_TLS_SIDES; side++) {
			json_t *x = tls_row_json(rec_tls_row(r, w, side), w, side, bad);
			if (x)
				push(rows, x, bad);
		}
	put(o, "tls", rows, bad);
	rec_cert_event *c = NULL, *tmp = NULL;
	if (r->ncerts) {
		c = malloc((size_t)r->ncerts * sizeof *c);
		tmp = malloc((size_t)r->ncerts * sizeof *tmp);
		if (!c || !tmp) {
			*bad = 1;
			goto done;
		}
		memcpy(c, r->certs, (size_t)r->ncerts * sizeof *c);
		rec_certs_sort(c, r->ncerts, tmp);
	}
	for (uint32_t k = 0; k < r->ncerts; k++) {
		json_t *a = json_array();
		push(a, u64_json(c[k].at), bad);
		push(a, json_integer(c[k].workload), bad);
		push(a, json_string(rec_cert_why_name(c[k].why)), bad);
		push(a, json_integer((json_int_t)c[k].not_before_s), bad);
		push(a, json_integer((json_int_t)c[k].not_after_s), bad);
		push(a, json_integer((json_int_t)c[k].root), bad);
		push(certs, a, bad);
	}
done:
	free(c);
	free(tmp);
	put(o, "certs", certs, bad);
	return o;
}

json_t *rec_snapshot(const rec *r, mesh_time now)
{
	assert(r->overall_series.keep);
	const model *m = r->m;
	int open = !r->finished;
	mesh_time end = open ? now : r->end;
	uint32_t last = (uint32_t)(end ? (end - 1) / MESH_S : 0);
	hist *scratch = malloc(sizeof *scratch);
	if (!scratch)
		return NULL;
	hist_init(scratch);
	int bad = 0;
	json_t *root = json_object();
	put(root, "format", json_string(REC_JSON_FORMAT), &bad);
	put(root, "version", json_integer(REC_JSON_VERSION), &bad);
	put(root, "scenario", scenario_json(m, &bad), &bad);
	put(root, "end", u64_json(end), &bad);
	put(root, "events", u64_json(r->events), &bad);

	json_t *ov = json_object();
	put(ov, "stats", stats_json(&r->overall, &bad), &bad);
	put(ov, "series", series_json(&r->overall_series, NULL, open, last,
				      scratch, &bad), &bad);
	put(root, "overall", ov, &bad);

	json_t *cls = json_array();
	for (uint32_t i = 0; i < m->nclients; i++) {
		json_t *x = json_object();
		put(x, "stats", stats_json(&r->clients[i], &bad), &bad);
		put(x, "series", series_json(&r->client_series[i], NULL, open, last,
					     scratch, &bad), &bad);
		push(cls, x, &bad);
	}
	put(root, "clients", cls, &bad);

	json_t *svcs = json_array();
	for (uint32_t i = 0; i < m->nservices; i++) {
		const rec_service *s = &r->services[i];
		json_t *x = json_object();
		put(x, "stats", stats_json(&s->st, &bad), &bad);
		put(x, "series", series_json(&s->series, s, open, last, scratch, &bad),
		    &bad);
		put(x, "ejected_now", json_integer(s->ejected_now), &bad);
		json_t *insts = json_array();
		for (uint32_t j = 0; j < m->services[i].replicas; j++)
			push(insts, instance_json(&s->inst[j], &bad), &bad);
		put(x, "instances", insts, &bad);
		push(svcs, x, &bad);
	}
	put(root, "services", svcs, &bad);

	json_t *routes = json_array();
	for (uint32_t i = 0; i < m->nroutes; i++)
		push(routes, stats_json(&r->routes[i], &bad), &bad);
	put(root, "routes", routes, &bad);

	json_t *fh = json_array();
	for (uint32_t i = 0; i < m->nfaults; i++)
		push(fh, u64_json(r->fault_hits[i]), &bad);
	put(root, "fault_hits", fh, &bad);

	json_t *az = json_object(), *azp = json_array(), *azs = json_array();
	for (uint32_t i = 0; i < m->nauthz; i++)
		push(azp, u64_json(r->authz_policy[i]), &bad);
	for (uint32_t i = 0; i < m->nservices; i++) {
		json_t *v = json_array();
		for (int k = 0; k < AUTHZ_VERDICT_COUNT; k++)
			push(v, u64_json(r->authz_service[(size_t)i * AUTHZ_VERDICT_COUNT + k]),
			     &bad);
		push(azs, v, &bad);
	}
	put(az, "policies", azp, &bad);
	put(az, "services", azs, &bad);
	put(root, "authorization", az, &bad);

	json_t *edges = json_array();
	for (uint32_t f = 0; f < m->nservices + m->nclients; f++)
		for (uint32_t t = 0; t < m->nservices; t++) {
			size_t k = (size_t)f * m->nservices + t;
			if (!r->edge_calls[k])
				continue;
			json_t *e = json_array();
			push(e, json_integer(f), &bad);
			push(e, json_integer(t), &bad);
			push(e, u64_json(r->edge_calls[k]), &bad);
			push(e, u64_json(r->edge_ok[k]), &bad);
			push(edges, e, &bad);
		}
	put(root, "edges", edges, &bad);

	json_t *ej = json_object(), *evs = json_array();
	put(ej, "total", u64_json(r->ejections_total), &bad);
	for (uint32_t k = 0; k < r->nejections; k++) {
		const rec_ejection_event *e = &r->ejections[k];
		json_t *a = json_array();
		push(a, u64_json(e->t), &bad);
		push(a, json_integer(e->service), &bad);
		push(a, json_integer(e->instance), &bad);
		push(a, json_integer(e->delta > 0 ? 1 : -1), &bad);
		push(evs, a, &bad);
	}
	put(ej, "events", evs, &bad);
	put(root, "ejections", ej, &bad);
	put(root, "versions", versions_json(r, 0, scratch, &bad), &bad);
	put(root, "mtls", mtls_json(r, &bad), &bad);

	free(scratch);
	if (bad) {
		json_decref(root);
		return NULL;
	}
	return root;
}

/* ---- reading a snapshot ---- */

/* Paths are built on the stack as the reader descends:
 * "services[1].instances[0].wait.buckets[3]". */
#define PATH_LEN 256

typedef struct rd {
	char *err;
	size_t errlen;
	const model *m;
	hist *scratch;
} rd;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int fail(rd *c, const char *path, const char *fmt, ...)
{
	char msg[384];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	snprintf(c->err, c->errlen, "snapshot %s: %s", *path ? path : "(root)", msg);
	return -1;
}

static const char *kind(const json_t *v)
{
	if (!v)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a number with a fraction";
	case JSON_TRUE:
	case JSON_FALSE: return "a boolean";
	case JSON_NULL: return "null";
	}
	return "?";
}

static const char *key_path(char *buf, const char *path, const char *key)
{
	snprintf(buf, PATH_LEN, "%s%s%s", path, *path ? "." : "", key);
	return buf;
}

static const char *index_path(char *buf, const char *path, size_t i)
{
	snprintf(buf, PATH_LEN, "%s[%zu]", path, i);
	return buf;
}

static int u64_of(rd *c, const json_t *v, const char *path, uint64_t *out)
{
	if (json_is_integer(v) && json_integer_value(v) >= 0) {
		*out = (uint64_t)json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		uint64_t x = 0;
		int ok = *s != '\0';
		for (; *s && ok; s++) {
			if (*s < '0' || *s > '9' || x > (UINT64_MAX - 9) / 10)
				ok = 0;
			else
				x = x * 10 + (uint64_t)(*s - '0');
		}
		if (ok) {
			*out = x;
			return 0;
		}
	}
	return fail(c, path, "expected a count (a non-negative integer), found %s%s",
		    kind(v), json_is_integer(v) ? " below zero" : "");
}

static const json_t *member(rd *c, const json_t *o, const char *key,
			    const char *path, char *sub)
{
	key_path(sub, path, key);
	const json_t *v = json_object_get(o, key);
	if (!v)
		fail(c, sub, "missing");
	return v;
}

static int field_u64(rd *c, const json_t *o, const char *key, const char *path,
		     uint64_t *out)
{
	char sub[PATH_LEN];
	const json_t *v = member(c, o, key, path, sub);
	return v ? u64_of(c, v, sub, out) : -1;
}

static const json_t *field_of(rd *c, const json_t *o, const char *key,
			      const char *path, char *sub, json_type type)
{
	const json_t *v = member(c, o, key, path, sub);
	if (v && json_typeof(v) != type) {
		fail(c, sub, "expected %s, found %s",
		     type == JSON_OBJECT ? "an object" : "an array", kind(v));
		return NULL;
	}
	return v;
}

/* An array member of exactly n elements (n == SIZE_MAX: any). */
static const json_t *array_of(rd *c, const json_t *o, const char *key,
			      const char *path, char *sub, size_t n, const char *what)
{
	const json_t *a = field_of(c, o, key, path, sub, JSON_ARRAY);
	if (a && n != SIZE_MAX && json_array_size(a) != n) {
		fail(c, sub, "expected %zu %s (as in this run's scenario), found %zu",
		     n, what, json_array_size(a));
		return NULL;
	}
	return a;
}

static int check_object(rd *c, const json_t *v, const char *path)
{
	return json_is_object(v) ? 0
				 : fail(c, path, "expected an object, found %s", kind(v));
}

/* HIST into h, which is empty. The histogram must be one the recorder
 * could have made: buckets increasing and in range, counts adding up, and
 * min and max inside the first and last bucket. */
static int hist_of(rd *c, const json_t *v, const char *path, hist *h)
{
	char sub[PATH_LEN], sub2[PATH_LEN];
	uint64_t count, mn, mx;
	if (check_object(c, v, path) < 0 || field_u64(c, v, "count", path, &count) < 0)
		return -1;
	const json_t *b = json_object_get(v, "buckets");
	if (!count) {
		if (b && (!json_is_array(b) || json_array_size(b)))
			return fail(c, key_path(sub, path, "buckets"),
				    "expected none with a count of 0");
		return 0;
	}
	if (field_u64(c, v, "min", path, &mn) < 0 || field_u64(c, v, "max", path, &mx) < 0)
		return -1;
	const json_t *sv = member(c, v, "sum", path, sub);
	if (!sv)
		return -1;
	if (!json_is_number(sv) || json_number_value(sv) < 0 ||
	    json_number_value(sv) != json_number_value(sv))
		return fail(c, sub, "expected a non-negative number, found %s", kind(sv));
	if (!(b = array_of(c, v, "buckets", path, sub, SIZE_MAX, NULL)))
		return -1;
	if (!json_array_size(b))
		return fail(c, sub, "expected buckets with a count of %llu",
			    (unsigned long long)count);
	uint64_t total = 0;
	uint32_t first = 0, prev = 0;
	for (size_t k = 0; k < json_array_size(b); k++) {
		const json_t *p = json_array_get(b, k);
		index_path(sub2, sub, k);
		uint64_t i, n;
		if (!json_is_array(p) || json_array_size(p) != 2)
			return fail(c, sub2, "expected [index, count], found %s", kind(p));
		if (u64_of(c, json_array_get(p, 0), sub2, &i) < 0 ||
		    u64_of(c, json_array_get(p, 1), sub2, &n) < 0)
			return -1;
		if (i >= HIST_BUCKETS)
			return fail(c, sub2, "bucket index %llu out of range (0 to %u)",
				    (unsigned long long)i, HIST_BUCKETS - 1);
		if (k && i <= prev)
			return fail(c, sub2, "bucket index %llu not above the one before (%u)",
				    (unsigned long long)i, prev);
		if (!n)
			return fail(c, sub2, "bucket with a count of 0");
		if (total + n < total)
			return fail(c, sub2, "counts overflow");
		total += n;
		h->b[i] = n;
		if (!k)
			first = (uint32_t)i;
		prev = (uint32_t)i;
	}
	h->lo = first;
	h->hi = prev;
	if (total != count)
		return fail(c, sub, "bucket counts add up to %llu, but count is %llu",
			    (unsigned long long)total, (unsigned long long)count);
	if (mn > mx || hist_index(mn) != h->lo || hist_index(mx) != h->hi)
		return fail(c, path, "min %llu and max %llu do not fall in the first "
			    "and last buckets (%u and %u)", (unsigned long long)mn,
			    (unsigned long long)mx, h->lo, h->hi);
	h->count = count;
	h->min = mn;
	h->max = mx;
	h->sum = json_number_value(sv);
	return 0;
}

static int status_of(rd *c, const json_t *o, const char *key, const char *path,
		     uint64_t *by_status)
{
	char sub[PATH_LEN], sub2[PATH_LEN];
	const json_t *v = field_of(c, o, key, path, sub, JSON_OBJECT);
	if (!v)
		return -1;
	const char *k;
	const json_t *n;
	json_object_foreach((json_t *)v, k, n) {
		key_path(sub2, sub, k);
		char *e;
		long code = strtol(k, &e, 10);
		if (*k < '1' || *k > '9' || *e || code <= 0 || code >= REC_MAX_STATUS)
			return fail(c, sub2, "expected an HTTP status from 1 to %d",
				    REC_MAX_STATUS - 1);
		if (u64_of(c, n, sub2, &by_status[code]) < 0)
			return -1;
	}
	return 0;
}

/* An object whose keys are exactly names(0..n-1), into out[n]. */
static int named_counts(rd *c, const json_t *o, const char *key, const char *path,
			const char *(*name)(int), int n, uint64_t *out)
{
	char sub[PATH_LEN];
	const json_t *v = field_of(c, o, key, path, sub, JSON_OBJECT);
	if (!v)
		return -1;
	for (int k = 0; k < n; k++)
		if (field_u64(c, v, name(k), sub, &out[k]) < 0)
			return -1;
	if (json_object_size(v) != (size_t)n) {
		const char *kk;
		const json_t *x;
		json_object_foreach((json_t *)v, kk, x) {
			int known = 0;
			for (int k = 0; k < n && !known; k++)
				known = strcmp(kk, name(k)) == 0;
			if (!known) {
				char sub2[PATH_LEN];
				return fail(c, key_path(sub2, sub, kk), "unknown name");
			}
		}
	}
	return 0;
}

static const char *outcome_name(int k)
{
	return mesh_outcome_name((enum mesh_outcome)k);
}

static int stats_of(rd *c, const json_t *v, const char *path, rec_stats *s)
{
	char sub[PATH_LEN];
	if (check_object(c, v, path) < 0 || field_u64(c, v, "issued", path, &s->issued) < 0 ||
	    named_counts(c, v, "outcomes", path, outcome_name, MESH_OUTCOME_COUNT,
			 s->outcomes) < 0 ||
	    status_of(c, v, "status", path, s->by_status) < 0)
		return -1;
	const json_t *live = member(c, v, "live_at_end", path, sub);
	if (!live)
		return -1;
	s->live_at_end = UINT64_MAX;
	if (!json_is_null(live) && u64_of(c, live, sub, &s->live_at_end) < 0)
		return -1;
	const json_t *lat = member(c, v, "latency", path, sub);
	if (!lat || hist_of(c, lat, sub, &s->lat) < 0)
		return -1;
	const json_t *p = field_of(c, v, "policy", path, sub, JSON_OBJECT);
	if (!p)
		return -1;
	char psub[PATH_LEN];
	snprintf(psub, sizeof psub, "%s", sub);
	rec_policy *pol = &s->pol;
	if (field_u64(c, p, "attempts", psub, &pol->attempts) < 0 ||
	    named_counts(c, p, "retries", psub, rec_retry_reason_name, REC_RETRY_COUNT,
			 pol->retries) < 0 ||
	    named_counts(c, p, "overflows", psub, rec_overflow_name, REC_OVERFLOW_COUNT,
			 pol->overflow) < 0 ||
	    field_u64(c, p, "per_try_timeouts", psub, &pol->per_try_timeouts) < 0 ||
	    field_u64(c, p, "route_timeouts", psub, &pol->route_timeouts) < 0)
		return -1;
	return 0;
}

static int series_of(rd *c, const json_t *v, const char *path, rec_series *s)
{
	static const char *const names[7] = {
		"issued", "done", "ok", "attempts", "retries", "overflows", "ejected"};
	char sub[PATH_LEN], sub2[PATH_LEN];
	if (check_object(c, v, path) < 0)
		return -1;
	const json_t *lat = array_of(c, v, "latency", path, sub, SIZE_MAX, NULL);
	if (!lat)
		return -1;
	size_t n = json_array_size(lat);
	if (n > UINT32_MAX)
		return fail(c, sub, "too many seconds");
	const json_t *col[7];
	for (int k = 0; k < 7; k++)
		if (!(col[k] = array_of(c, v, names[k], path, sub, n,
					"seconds (as many as \"latency\" has)")))
			return -1;
	for (uint32_t t = 0; t < (uint32_t)n; t++) {
		uint64_t x[7];
		for (int k = 0; k < 7; k++) {
			key_path(sub, path, names[k]);
			if (u64_of(c, json_array_get(col[k], t), index_path(sub2, sub, t),
				   &x[k]) < 0)
				return -1;
		}
		if (x[6] > UINT32_MAX)
			return fail(c, sub2, "more ejected hosts than can be");
		if (x[2] > x[1]) {
			key_path(sub, path, "ok");
			return fail(c, index_path(sub2, sub, t),
				    "%llu successes but %llu requests done",
				    (unsigned long long)x[2], (unsigned long long)x[1]);
		}
		rec_row *w = rec_series_row(s, t);
		w->issued = x[0];
		w->done = x[1];
		w->ok = x[2];
		w->attempts = x[3];
		w->retries = x[4];
		w->overflows = x[5];
		w->ejected = (uint32_t)x[6];
		const json_t *h = json_array_get(lat, t);
		if (json_is_null(h))
			continue;
		key_path(sub, path, "latency");
		index_path(sub2, sub, t);
		hist_reset(c->scratch);
		if (hist_of(c, h, sub2, c->scratch) < 0)
			return -1;
		if (c->scratch->count > w->done)
			return fail(c, sub2, "%llu latencies but %llu requests done "
				    "in that second", (unsigned long long)c->scratch->count,
				    (unsigned long long)w->done);
		rec_series_add_second(s, t, c->scratch);
	}
	return 0;
}

static int instance_of(rd *c, const json_t *v, const char *path, rec_instance *x)
{
	char sub[PATH_LEN];
	if (check_object(c, v, path) < 0 ||
	    field_u64(c, v, "arrived", path, &x->arrived) < 0 ||
	    field_u64(c, v, "served", path, &x->served) < 0 ||
	    field_u64(c, v, "queue_full", path, &x->queue_full) < 0 ||
	    field_u64(c, v, "waited", path, &x->waited) < 0 ||
	    field_u64(c, v, "max_queue", path, &x->max_queue) < 0 ||
	    field_u64(c, v, "crashes", path, &x->crashes) < 0 ||
	    field_u64(c, v, "ejections", path, &x->ejections) < 0 ||
	    status_of(c, v, "answered", path, x->by_status) < 0)
		return -1;
	const json_t *w = member(c, v, "wait", path, sub);
	return w ? hist_of(c, w, sub, &x->wait) : -1;
}

static int name_is(rd *c, const json_t *v, const char *path, const char *want)
{
	if (!json_is_string(v))
		return fail(c, path, "expected a string, found %s", kind(v));
	if (strcmp(json_string_value(v), want ? want : "") != 0)
		return fail(c, path, "\"%s\" here but \"%s\" in this run's scenario: "
			    "the snapshot is of another scenario", json_string_value(v),
			    want ? want : "");
	return 0;
}

/* The snapshot must come from a process that loaded the same scenario:
 * entities are matched by index. */
static int scenario_of(rd *c, const json_t *root)
{
	const model *m = c->m;
	char path[PATH_LEN], sub[PATH_LEN], sub2[PATH_LEN];
	const json_t *sc = field_of(c, root, "scenario", "", path, JSON_OBJECT);
	if (!sc)
		return -1;
	const json_t *v = member(c, sc, "name", path, sub);
	if (!v || name_is(c, v, sub, m->name) < 0)
		return -1;
	const json_t *sv = array_of(c, sc, "services", path, sub, m->nservices, "services");
	if (!sv)
		return -1;
	for (uint32_t i = 0; i < m->nservices; i++)
		if (name_is(c, json_array_get(sv, i), index_path(sub2, sub, i),
			    m->services[i].name) < 0)
			return -1;
	const json_t *rp = array_of(c, sc, "replicas", path, sub, m->nservices, "services");
	if (!rp)
		return -1;
	for (uint32_t i = 0; i < m->nservices; i++) {
		uint64_t n;
		if (u64_of(c, json_array_get(rp, i), index_path(sub2, sub, i), &n) < 0)
			return -1;
		if (n != m->services[i].replicas)
			return fail(c, sub2, "%llu replicas here but %u in this run's scenario",
				    (unsigned long long)n, m->services[i].replicas);
	}
	const json_t *cl = array_of(c, sc, "clients", path, sub, m->nclients, "load clients");
	if (!cl)
		return -1;
	for (uint32_t i = 0; i < m->nclients; i++)
		if (name_is(c, json_array_get(cl, i), index_path(sub2, sub, i),
			    m->clients[i].name) < 0)
			return -1;
	const json_t *rt = array_of(c, sc, "routes", path, sub, m->nroutes, "routes");
	if (!rt)
		return -1;
	for (uint32_t i = 0; i < m->nroutes; i++) {
		const json_t *p = json_array_get(rt, i);
		uint64_t svc;
		index_path(sub2, sub, i);
		if (!json_is_array(p) || json_array_size(p) != 2)
			return fail(c, sub2, "expected [service, path], found %s", kind(p));
		if (u64_of(c, json_array_get(p, 0), sub2, &svc) < 0)
			return -1;
		if (svc != m->routes[i].service)
			return fail(c, sub2, "route to service %llu here but to %u in this "
				    "run's scenario", (unsigned long long)svc, m->routes[i].service);
		if (name_is(c, json_array_get(p, 1), sub2, m->routes[i].path) < 0)
			return -1;
	}
	uint64_t nf;
	if (field_u64(c, sc, "faults", path, &nf) < 0)
		return -1;
	if (nf != m->nfaults)
		return fail(c, key_path(sub, path, "faults"),
			    "%llu faults here but %u in this run's scenario",
			    (unsigned long long)nf, m->nfaults);
	return 0;
}

/* The entity objects "overall", "clients[i]", "services[i]". */
static int entity_of(rd *c, const json_t *v, const char *path, rec_stats *st,
		     rec_series *se)
{
	char sub[PATH_LEN];
	if (check_object(c, v, path) < 0)
		return -1;
	const json_t *x = member(c, v, "stats", path, sub);
	if (!x || stats_of(c, x, sub, st) < 0)
		return -1;
	x = member(c, v, "series", path, sub);
	return x ? series_of(c, x, sub, se) : -1;
}

/* One version's rows, from step `first`, into v (kept, fresh). */
static int vseries_of(rd *c, const json_t *x, const char *path, uint32_t first,
		      rec_vseries *v)
{
	static const char *const names[5] = {"done", "non5xx", "calls", "failed", "slow"};
	char sub[PATH_LEN], sub2[PATH_LEN], sub3[PATH_LEN];
	if (check_object(c, x, path) < 0)
		return -1;
	const json_t *tot = field_of(c, x, "totals", path, sub, JSON_OBJECT);
	if (!tot || field_u64(c, tot, "calls", sub, &v->calls) < 0 ||
	    field_u64(c, tot, "failed", sub, &v->failed) < 0 ||
	    field_u64(c, tot, "slow", sub, &v->slow) < 0)
		return -1;
	if (v->failed > v->calls || v->slow > v->calls - v->failed)
		return fail(c, sub, "%llu failed and %llu slow calls out of %llu",
			    (unsigned long long)v->failed, (unsigned long long)v->slow,
			    (unsigned long long)v->calls);
	const json_t *lat = array_of(c, x, "latency", path, sub, SIZE_MAX, NULL);
	if (!lat)
		return -1;
	size_t n = json_array_size(lat);
	if (n > UINT32_MAX - first)
		return fail(c, sub, "too many steps");
	const json_t *col[5], *ib;
	for (int k = 0; k < 5; k++)
		if (!(col[k] = array_of(c, x, names[k], path, sub, n,
					"steps (as many as \"latency\" has)")))
			return -1;
	if (!(ib = array_of(c, x, "istio", path, sub, n,
			    "steps (as many as \"latency\" has)")))
		return -1;
	uint64_t sums[3] = {0, 0, 0};
	for (uint32_t t = 0; t < (uint32_t)n; t++) {
		uint64_t y[5];
		for (int k = 0; k < 5; k++) {
			key_path(sub, path, names[k]);
			index_path(sub2, sub, t);
			if (u64_of(c, json_array_get(col[k], t), sub2, &y[k]) < 0)
				return -1;
			if (y[k] > UINT32_MAX)
				return fail(c, sub2, "more than a step can count");
		}
		if (y[1] > y[0] || y[2] > y[0] || y[3] > y[2] || y[4] > y[2] - y[3])
			return fail(c, index_path(sub2, path, t),
				    "step counts that cannot be: done %llu, non5xx %llu, "
				    "calls %llu, failed %llu, slow %llu",
				    (unsigned long long)y[0], (unsigned long long)y[1],
				    (unsigned long long)y[2], (unsigned long long)y[3],
				    (unsigned long long)y[4]);
		for (int k = 0; k < 3; k++)
			sums[k] += y[2 + k];
		/* Istio's buckets: sparse [bucket, count] pairs. */
		uint32_t b[RO_ISTIO_BUCKETS + 1] = {0};
		uint64_t nib = 0;
		const json_t *bl = json_array_get(ib, t);
		key_path(sub, path, "istio");
		index_path(sub2, sub, t);
		if (!json_is_array(bl))
			return fail(c, sub2, "expected [[bucket, count] ...], found %s", kind(bl));
		long prev = -1;
		for (size_t k = 0; k < json_array_size(bl); k++) {
			const json_t *pr = json_array_get(bl, k);
			uint64_t i, cnt;
			index_path(sub3, sub2, k);
			if (!json_is_array(pr) || json_array_size(pr) != 2)
				return fail(c, sub3, "expected [bucket, count], found %s", kind(pr));
			if (u64_of(c, json_array_get(pr, 0), sub3, &i) < 0 ||
			    u64_of(c, json_array_get(pr, 1), sub3, &cnt) < 0)
				return -1;
			if (i > RO_ISTIO_BUCKETS || (long)i <= prev || !cnt || cnt > UINT32_MAX)
				return fail(c, sub3, "expected a bucket 0..%d above the one "
					    "before and a count above 0", RO_ISTIO_BUCKETS);
			prev = (long)i;
			b[i] = (uint32_t)cnt;
			nib += cnt;
		}
		const json_t *h = json_array_get(lat, t);
		key_path(sub, path, "latency");
		index_path(sub2, sub, t);
		hist_reset(c->scratch);
		if (!json_is_null(h) && hist_of(c, h, sub2, c->scratch) < 0)
			return -1;
		/* Every call with a latency is in one Istio bucket and in the
		 * histogram: the two counts are one. */
		if (c->scratch->count != nib || nib > y[0])
			return fail(c, sub2, "%llu latencies, %llu in Istio's buckets, "
				    "%llu done in that step",
				    (unsigned long long)c->scratch->count,
				    (unsigned long long)nib, (unsigned long long)y[0]);
		rec_vrow *w = rec_vseries_row(v, first + t);
		w->done = (uint32_t)y[0];
		w->non5xx = (uint32_t)y[1];
		w->calls = (uint32_t)y[2];
		w->failed = (uint32_t)y[3];
		w->slow = (uint32_t)y[4];
		memcpy(w->ib, b, sizeof b);
		rec_vseries_add_step(v, first + t, c->scratch);
	}
	if (sums[0] > v->calls || sums[1] > v->failed || sums[2] > v->slow)
		return fail(c, key_path(sub, path, "totals"),
			    "fewer than the steps add up to");
	return 0;
}

/* The "versions" member v (at path) into vs[nversions of the rollout's
 * service], kept and fresh. Without a rollout it must be null. */
static int versions_of(rd *c, const json_t *v, const char *path, rec_vseries *vs)
{
	const model *m = c->m;
	char sub[PATH_LEN], sub2[PATH_LEN];
	if (!m->rollout) {
		if (!json_is_null(v))
			return fail(c, path, "expected null: this run's scenario has no rollout");
		return 0;
	}
	if (check_object(c, v, path) < 0)
		return -1;
	const model_service *svc = &m->services[m->rollout->service];
	const json_t *x = member(c, v, "service", path, sub);
	if (!x || name_is(c, x, sub, svc->name) < 0)
		return -1;
	uint64_t step, first;
	if (field_u64(c, v, "step", path, &step) < 0 || field_u64(c, v, "first", path, &first) < 0)
		return -1;
	if (step != rec_rollout_step(m->rollout))
		return fail(c, key_path(sub, path, "step"), "a step of %lluns here but of "
			    "%lluns in this run's scenario", (unsigned long long)step,
			    (unsigned long long)rec_rollout_step(m->rollout));
	if (first > UINT32_MAX)
		return fail(c, key_path(sub, path, "first"), "too late a step");
	const json_t *names = array_of(c, v, "names", path, sub, svc->nversions,
				       "versions (the service's)");
	if (!names)
		return -1;
	for (uint32_t i = 0; i < svc->nversions; i++)
		if (name_is(c, json_array_get(names, i), index_path(sub2, sub, i),
			    svc->versions[i].name) < 0)
			return -1;
	const json_t *a = array_of(c, v, "versions", path, sub, svc->nversions,
				   "versions (the service's)");
	if (!a)
		return -1;
	for (uint32_t i = 0; i < svc->nversions; i++)
		if (vseries_of(c, json_array_get(a, i), index_path(sub2, sub, i),
			       (uint32_t)first, &vs[i]) < 0)
			return -1;
	return 0;
}

/* The "mtls" member v (at path) into r, fresh: null when this run's
 * scenario has no mtls block, else the rows and certificates that
 * mtls_json wrote. */
static int mtls_of(rd *c, const json_t *v, const char *path, rec *r)
{
	const model *m = c->m;
	char sub[PATH_LEN], sub2[PATH_LEN], sub3[PATH_LEN];
	if (!m->mtls.enabled) {
		if (!json_is_null(v))
			return fail(c, path, "expected null: this run's scenario has no "
				    "\"mtls\" block");
		return 0;
	}
	if (json_is_null(v))
		return fail(c, path, "null, but this run's scenario has an \"mtls\" block: "
			    "the snapshot is of another scenario");
	if (check_object(c, v, path) < 0)
		return -1;
	uint64_t nw;
	if (field_u64(c, v, "workloads", path, &nw) < 0)
		return -1;
	if (nw != r->tls_nworkloads)
		return fail(c, key_path(sub, path, "workloads"), "%llu workloads here but "
			    "%u in this run's scenario", (unsigned long long)nw,
			    r->tls_nworkloads);
	const json_t *a = array_of(c, v, "tls", path, sub, SIZE_MAX, NULL);
	if (!a)
		return -1;
	for (size_t k = 0; k < json_array_size(a); k++) {
		const json_t *x = json_array_get(a, k);
		index_path(sub2, sub, k);
		uint64_t w;
		if (check_object(c, x, sub2) < 0 || field_u64(c, x, "workload", sub2, &w) < 0)
			return -1;
		if (w >= r->tls_nworkloads)
			return fail(c, key_path(sub3, sub2, "workload"), "no workload %llu: "
				    "there are %u", (unsigned long long)w, r->tls_nworkloads);
		const json_t *sd = member(c, x, "side", sub2, sub3);
		if (!sd)
			return -1;
		int side = -1;
		for (int q = 0; q < REC_TLS_SIDES; q++)
			if (json_is_string(sd) && !strcmp(json_string_value(sd), rec_tls_side_name(q)))
				side = q;
		if (side < 0)
			return fail(c, sub3, "expected \"inbound\" or \"outbound\", found %s",
				    json_is_string(sd) ? json_string_value(sd) : kind(sd));
		rec_tls *t = rec_tls_row(r, (uint32_t)w, side);
		/* A row twice would be counted twice: refuse it. */
		uint64_t any = t->full | t->resumed | t->plaintext;
		for (int q = 0; q < REC_TLS_FAIL_COUNT; q++)
			any |= t->failed[q];
		if (any)
			return fail(c, sub2, "workload %llu %s a second time",
				    (unsigned long long)w, rec_tls_side_name(side));
		if (field_u64(c, x, "full", sub2, &t->full) < 0 ||
		    field_u64(c, x, "resumed", sub2, &t->resumed) < 0 ||
		    field_u64(c, x, "plaintext", sub2, &t->plaintext) < 0 ||
		    named_counts(c, x, "failed", sub2, rec_tls_fail_name, REC_TLS_FAIL_COUNT,
				 t->failed) < 0)
			return -1;
	}
	if (!(a = array_of(c, v, "certs", path, sub, SIZE_MAX, NULL)))
		return -1;
	if (json_array_size(a) > UINT32_MAX)
		return fail(c, sub, "too many certificates");
	for (size_t k = 0; k < json_array_size(a); k++) {
		const json_t *e = json_array_get(a, k);
		index_path(sub2, sub, k);
		if (!json_is_array(e) || json_array_size(e) != 6)
			return fail(c, sub2, "expected [at, workload, why, not_before_s, "
				    "not_after_s, root], found %s", kind(e));
		uint64_t at, w, root;
		if (u64_of(c, json_array_get(e, 0), sub2, &at) < 0 ||
		    u64_of(c, json_array_get(e, 1), sub2, &w) < 0 ||
		    u64_of(c, json_array_get(e, 5), sub2, &root) < 0)
			return -1;
		if (w >= r->tls_nworkloads)
			return fail(c, sub2, "no workload %llu: there are %u",
				    (unsigned long long)w, r->tls_nworkloads);
		if (root > UINT32_MAX)
			return fail(c, sub2, "root %llu out of range", (unsigned long long)root);
		const json_t *why = json_array_get(e, 2);
		int y = -1;
		for (int q = 0; q < REC_CERT_WHY_COUNT; q++)
			if (json_is_string(why) && !strcmp(json_string_value(why), rec_cert_why_name(q)))
				y = q;
		if (y < 0)
			return fail(c, sub2, "expected why (\"issued\", \"renewed\", \"expired\", "
				    "\"foreign\" or \"restored\") third, found %s",
				    json_is_string(why) ? json_string_value(why) : kind(why));
		const json_t *nb = json_array_get(e, 3), *na = json_array_get(e, 4);
		if (!json_is_integer(nb) || !json_is_integer(na))
			return fail(c, sub2, "expected whole seconds for not_before_s and "
				    "not_after_s, found %s and %s", kind(nb), kind(na));
		rec_cert_event ce = {
			.at = at, .workload = (uint32_t)w, .why = (uint8_t)y,
			.not_before_s = (int64_t)json_integer_value(nb),
			.not_after_s = (int64_t)json_integer_value(na),
			.root = (uint32_t)root};
		rec_cert(r, &ce);
	}
	return 0;
}

/* Everything of the snapshot into r, a fresh recorder of c->m. */
static int snapshot_of(rd *c, const json_t *root, rec *r)
{
	const model *m = c->m;
	char sub[PATH_LEN], sub2[PATH_LEN], sub3[PATH_LEN];
	if (check_object(c, root, "") < 0)
		return -1;
	const json_t *v = member(c, root, "format", "", sub);
	if (!v)
		return -1;
	if (!json_is_string(v) || strcmp(json_string_value(v), REC_JSON_FORMAT) != 0)
		return fail(c, sub, "expected \"%s\", found %s", REC_JSON_FORMAT,
			    json_is_string(v) ? json_string_value(v) : kind(v));
	uint64_t ver;
	if (field_u64(c, root, "version", "", &ver) < 0)
		return -1;
	if (ver != REC_JSON_VERSION)
		return fail(c, "version", "version %llu; this meshsim reads version %d",
			    (unsigned long long)ver, REC_JSON_VERSION);
	if (scenario_of(c, root) < 0 || field_u64(c, root, "end", "", &r->end) < 0 ||
	    field_u64(c, root, "events", "", &r->events) < 0)
		return -1;

	if (!(v = member(c, root, "overall", "", sub)) ||
	    entity_of(c, v, sub, &r->overall, &r->overall_series) < 0)
		return -1;
	const json_t *a = array_of(c, root, "clients", "", sub, m->nclients, "load clients");
	if (!a)
		return -1;
	for (uint32_t i = 0; i < m->nclients; i++)
		if (entity_of(c, json_array_get(a, i), index_path(sub2, sub, i),
			      &r->clients[i], &r->client_series[i]) < 0)
			return -1;
	if (!(a = array_of(c, root, "services", "", sub, m->nservices, "services")))
		return -1;
	for (uint32_t i = 0; i < m->nservices; i++) {
		rec_service *s = &r->services[i];
		const json_t *x = json_array_get(a, i);
		index_path(sub2, sub, i);
		if (entity_of(c, x, sub2, &s->st, &s->series) < 0)
			return -1;
		uint64_t now;
		if (field_u64(c, x, "ejected_now", sub2, &now) < 0)
			return -1;
		if (now > UINT32_MAX)
			return fail(c, key_path(sub3, sub2, "ejected_now"),
				    "more ejected hosts than can be");
		s->ejected_now = (uint32_t)now;
		/* The rows are filled up to the end: carry on from the last. */
		s->ejected_sec = s->series.nrows ? s->series.nrows - 1 : 0;
		char isub[PATH_LEN];
		const json_t *in = array_of(c, x, "instances", sub2, isub,
					    m->services[i].replicas,
					    "instances (the service's replicas)");
		if (!in)
			return -1;
		for (uint32_t j = 0; j < m->services[i].replicas; j++)
			if (instance_of(c, json_array_get(in, j), index_path(sub3, isub, j),
					&s->inst[j]) < 0)
				return -1;
	}
	if (!(a = array_of(c, root, "routes", "", sub, m->nroutes, "routes")))
		return -1;
	for (uint32_t i = 0; i < m->nroutes; i++)
		if (stats_of(c, json_array_get(a, i), index_path(sub2, sub, i),
			     &r->routes[i]) < 0)
			return -1;
	if (!(a = array_of(c, root, "fault_hits", "", sub, m->nfaults, "faults")))
		return -1;
	for (uint32_t i = 0; i < m->nfaults; i++)
		if (u64_of(c, json_array_get(a, i), index_path(sub2, sub, i),
			   &r->fault_hits[i]) < 0)
			return -1;

	const json_t *az = field_of(c, root, "authorization", "", sub, JSON_OBJECT);
	char azsub[PATH_LEN];
	if (!az || !(a = array_of(c, az, "policies", sub, azsub, m->nauthz,
				  "authorization policies")))
		return -1;
	for (uint32_t i = 0; i < m->nauthz; i++)
		if (u64_of(c, json_array_get(a, i), index_path(sub2, azsub, i),
			   &r->authz_policy[i]) < 0)
			return -1;
	if (!(a = array_of(c, az, "services", sub, azsub, m->nservices, "services")))
		return -1;
	for (uint32_t i = 0; i < m->nservices; i++) {
		const json_t *vs = json_array_get(a, i);
		index_path(sub2, azsub, i);
		if (!json_is_array(vs) || json_array_size(vs) != AUTHZ_VERDICT_COUNT)
			return fail(c, sub2, "expected [allowed, denied, denied_no_allow], "
				    "found %s", kind(vs));
		for (int k = 0; k < AUTHZ_VERDICT_COUNT; k++)
			if (u64_of(c, json_array_get(vs, (size_t)k), index_path(sub3, sub2, (size_t)k),
				   &r->authz_service[(size_t)i * AUTHZ_VERDICT_COUNT + k]) < 0)
				return -1;
	}

	if (!(a = array_of(c, root, "edges", "", sub, SIZE_MAX, NULL)))
		return -1;
	for (size_t k = 0; k < json_array_size(a); k++) {
		const json_t *e = json_array_get(a, k);
		uint64_t x[4];
		index_path(sub2, sub, k);
		if (!json_is_array(e) || json_array_size(e) != 4)
			return fail(c, sub2, "expected [from, to, calls, ok], found %s", kind(e));
		for (int j = 0; j < 4; j++)
			if (u64_of(c, json_array_get(e, (size_t)j), sub2, &x[j]) < 0)
				return -1;
		if (x[0] >= (uint64_t)m->nservices + m->nclients || x[1] >= m->nservices)
			return fail(c, sub2, "no edge from %llu to %llu: there are %u "
				    "services and %u load clients", (unsigned long long)x[0],
				    (unsigned long long)x[1], m->nservices, m->nclients);
		if (x[3] > x[2])
			return fail(c, sub2, "%llu successes out of %llu calls",
				    (unsigned long long)x[3], (unsigned long long)x[2]);
		size_t ke = (size_t)x[0] * m->nservices + (size_t)x[1];
		r->edge_calls[ke] += x[2];
		r->edge_ok[ke] += x[3];
	}

	const json_t *ej = field_of(c, root, "ejections", "", sub, JSON_OBJECT);
	if (!ej || field_u64(c, ej, "total", sub, &r->ejections_total) < 0)
		return -1;
	char esub[PATH_LEN];
	if (!(a = array_of(c, ej, "events", sub, esub, SIZE_MAX, NULL)))
		return -1;
	if (json_array_size(a) > REC_MAX_EJECTION_EVENTS)
		return fail(c, esub, "%zu events; a recorder keeps at most %d",
			    json_array_size(a), REC_MAX_EJECTION_EVENTS);
	if (json_array_size(a) > r->ejections_total)
		return fail(c, esub, "%zu events but a total of %llu",
			    json_array_size(a), (unsigned long long)r->ejections_total);
	for (size_t k = 0; k < json_array_size(a); k++) {
		const json_t *e = json_array_get(a, k);
		uint64_t t, svc, inst;
		index_path(sub2, esub, k);
		if (!json_is_array(e) || json_array_size(e) != 4)
			return fail(c, sub2, "expected [t, service, instance, 1 or -1], found %s",
				    kind(e));
		const json_t *d = json_array_get(e, 3);
		if (u64_of(c, json_array_get(e, 0), sub2, &t) < 0 ||
		    u64_of(c, json_array_get(e, 1), sub2, &svc) < 0 ||
		    u64_of(c, json_array_get(e, 2), sub2, &inst) < 0)
			return -1;
		if (svc >= m->nservices || inst >= m->services[svc].replicas)
			return fail(c, sub2, "no instance %llu of service %llu",
				    (unsigned long long)inst, (unsigned long long)svc);
		if (!json_is_integer(d) ||
		    (json_integer_value(d) != 1 && json_integer_value(d) != -1))
			return fail(c, sub2, "expected 1 (ejected) or -1 (back) last, found %s",
				    kind(d));
		r->ejections[k] = (rec_ejection_event){
			.t = t, .service = (uint32_t)svc, .instance = (uint32_t)inst,
			.delta = (int)json_integer_value(d)};
	}
	r->nejections = (uint32_t)json_array_size(a);
	if (!(v = member(c, root, "versions", "", sub)) || versions_of(c, v, sub, r->vs) < 0)
		return -1;
	if (!(v = member(c, root, "mtls", "", sub)) || mtls_of(c, v, sub, r) < 0)
		return -1;
	r->finished = 1;
	return 0;
}

int rec_merge_snapshot(rec *dst, const json_t *snap, char *err, size_t errlen)
{
	rd c = {.err = err, .errlen = errlen, .m = dst->m};
	rec *r = rec_new(dst->m);
	c.scratch = malloc(sizeof *c.scratch);
	int rc = -1;
	if (!r || !c.scratch) {
		snprintf(err, errlen, "out of memory reading a snapshot");
		goto done;
	}
	hist_init(c.scratch);
	rec_keep_seconds(r);
	/* Read it all into a recorder of its own first, so that a bad
	 * snapshot leaves dst as it was. */
	if (snapshot_of(&c, snap, r) < 0)
		goto done;
	int m = rec_merge(dst, r);
	if (m < 0) {
		snprintf(err, errlen, m == -3 ? "out of memory merging a snapshot"
					      : "cannot merge a snapshot (rec_merge: %d)", m);
		goto done;
	}
	rc = 0;
done:
	free(c.scratch);
	rec_free(r);
	return rc;
}

int rec_merge_versions_json(rec *dst, const json_t *v, char *err, size_t errlen)
{
	rd c = {.err = err, .errlen = errlen, .m = dst->m};
	uint32_t n = dst->vs_nversions;
	rec_vseries *vs = calloc(n ? n : 1, sizeof *vs);
	c.scratch = malloc(sizeof *c.scratch);
	int rc = -1;
	if (!vs || !c.scratch) {
		snprintf(err, errlen, "out of memory reading per-version series");
		goto done;
	}
	hist_init(c.scratch);
	for (uint32_t i = 0; i < n; i++)
		rec_vseries_init(&vs[i], 1);
	/* Read it all first, so that a bad document leaves dst as it was. */
	if (versions_of(&c, v, "versions", vs) < 0)
		goto done;
	int m = rec_merge_vseries(dst, vs, n);
	if (m < 0) {
		snprintf(err, errlen, m == -3 ? "out of memory merging per-version series"
					      : "cannot merge per-version series (%d)", m);
		goto done;
	}
	rc = 0;
done:
	for (uint32_t i = 0; vs && i < n; i++)
		rec_vseries_destroy(&vs[i]);
	free(vs);
	free(c.scratch);
	return rc;
}

/* ---- Prometheus text format 0.0.4 ---- */

typedef struct lbl {
	const char *k, *v;
} lbl;

/* Label values escape backslash, double quote and newline. */
static void esc_label(FILE *out, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '"')
			fputs("\\\"", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
}

/* HELP text escapes backslash and newline. */
static void family(FILE *out, const char *name, const char *type, const char *help)
{
	fprintf(out, "# HELP %s ", name);
	for (const char *s = help; *s; s++) {
		if (*s == '\\')
			fputs("\\\\", out);
		else if (*s == '\n')
			fputs("\\n", out);
		else
			fputc(*s, out);
	}
	fprintf(out, "\n# TYPE %s %s\n", name, type);
}

static void labels_out(FILE *out, const char *extra, const lbl *l, int n)
{
	if (!n && !extra)
		return;
	fputc('{', out);
	if (extra)
		fputs(extra, out);
	for (int i = 0; i < n; i++) {
		fprintf(out, "%s%s=\"", i || extra ? "," : "", l[i].k);
		esc_label(out, l[i].v);
		fputc('"', out);
	}
	fputc('}', out);
}

static void sample(FILE *out, const char *extra, const char *name,
		   const char *suffix, const lbl *l, int n, uint64_t v)
{
	fprintf(out, "%s%s", name, suffix);
	labels_out(out, extra, l, n);
	fprintf(out, " %llu\n", (unsigned long long)v);
}

/* The shortest decimal that reads back as x. */
static void real_out(FILE *out, double x)
{
	char buf[40];
	for (int prec = 15; prec <= 17; prec++) {
		snprintf(buf, sizeof buf, "%.*g", prec, x);
		if (strtod(buf, NULL) == x)
			break;
	}
	fputs(buf, out);
}

/* Istio's default request duration buckets (ms), in seconds. */
static const struct {
	const char *le;
	uint64_t ns;
} le_bounds[] = {
	{"0.0005", 500 * MESH_US}, {"0.001", MESH_MS}, {"0.005", 5 * MESH_MS},
	{"0.01", 10 * MESH_MS}, {"0.025", 25 * MESH_MS}, {"0.05", 50 * MESH_MS},
	{"0.1", 100 * MESH_MS}, {"0.25", 250 * MESH_MS}, {"0.5", 500 * MESH_MS},
	{"1", MESH_S}, {"2.5", 2500 * MESH_MS}, {"5", 5 * MESH_S},
	{"10", 10 * MESH_S}, {"30", 30 * MESH_S}, {"60", 60 * MESH_S},
	{"300", 300 * MESH_S}, {"600", 600 * MESH_S}, {"1800", 1800 * MESH_S},
	{"3600", 3600 * MESH_S},
};
#define NBOUNDS (sizeof le_bounds / sizeof le_bounds[0])
#define MAX_LABELS 8

static void histogram(FILE *out, const char *extra, const char *name,
		      const lbl *l, int n, const hist *h)
{
	assert(n < MAX_LABELS);
	lbl all[MAX_LABELS];
	memcpy(all, l, (size_t)n * sizeof *l);
	all[n].k = "le";
	uint64_t cum = 0;
	uint32_t i = h->lo;
	for (size_t k = 0; k < NBOUNDS; k++) {
		uint64_t b = le_bounds[k].ns, v;
		if (h->count && h->max <= b) {
			v = h->count;
		} else {
			/* Only whole buckets at or below the bound: never a
			 * value above it. */
			while (i <= h->hi && hist_bucket_high(i) <= b)
				cum += h->b[i++];
			v = cum;
		}
		all[n].v = le_bounds[k].le;
		sample(out, extra, name, "_bucket", all, n + 1, v);
	}
	all[n].v = "+Inf";
	sample(out, extra, name, "_bucket", all, n + 1, h->count);
	fprintf(out, "%s_sum", name);
	labels_out(out, extra, l, n);
	fputc(' ', out);
	real_out(out, h->sum / 1e9);
	fputc('\n', out);
	sample(out, extra, name, "_count", l, n, h->count);
}

/* Labels of a route: its destination service and path. */
static void route_labels(const model *m, uint32_t i, lbl *l)
{
	l[0] = (lbl){"service", m->services[m->routes[i].service].name};
	l[1] = (lbl){"route", m->routes[i].path};
}

/* Service-level counters, Envoy's cluster statistics. */
typedef uint64_t (*svc_value)(const rec *r, uint32_t s);
static uint64_t v_attempts(const rec *r, uint32_t s) { return r->services[s].st.pol.attempts; }
static uint64_t v_active_ov(const rec *r, uint32_t s) { return r->services[s].st.pol.overflow[REC_OVERFLOW_REQUESTS]; }
static uint64_t v_pending_ov(const rec *r, uint32_t s) { return r->services[s].st.pol.overflow[REC_OVERFLOW_PENDING]; }
static uint64_t v_none_healthy(const rec *r, uint32_t s) { return r->services[s].st.pol.overflow[REC_OVERFLOW_NO_HEALTHY]; }
static uint64_t v_per_try(const rec *r, uint32_t s) { return r->services[s].st.pol.per_try_timeouts; }
static uint64_t v_timeout(const rec *r, uint32_t s) { return r->services[s].st.pol.route_timeouts; }
static uint64_t v_ejected_now(const rec *r, uint32_t s) { return r->services[s].ejected_now; }
static uint64_t v_enforced(const rec *r, uint32_t s)
{
	uint64_t n = 0;
	for (uint32_t j = 0; j < r->m->services[s].replicas; j++)
		n += r->services[s].inst[j].ejections;
	return n;
}

static const struct {
	const char *name, *type, *help;
	svc_value v;
} svc_metrics[] = {
	{"meshsim_upstream_rq_total", "counter",
	 "Tries sent to the service by callers' sidecars, first tries and retries (Envoy upstream_rq_total).",
	 v_attempts},
	{"meshsim_upstream_rq_active_overflow_total", "counter",
	 "Requests refused because the max_requests circuit breaker was full (Envoy upstream_rq_active_overflow).",
	 v_active_ov},
	{"meshsim_upstream_rq_pending_overflow_total", "counter",
	 "Requests refused because the max_pending circuit breaker was full (Envoy upstream_rq_pending_overflow).",
	 v_pending_ov},
	{"meshsim_upstream_cx_none_healthy_total", "counter",
	 "Requests refused because every host was ejected (Envoy upstream_cx_none_healthy).",
	 v_none_healthy},
	{"meshsim_upstream_rq_per_try_timeout_total", "counter",
	 "Tries that hit the per-try timeout (Envoy upstream_rq_per_try_timeout).",
	 v_per_try},
	{"meshsim_upstream_rq_timeout_total", "counter",
	 "Requests that hit the route timeout, which covers all tries (Envoy upstream_rq_timeout).",
	 v_timeout},
	{"meshsim_outlier_detection_ejections_active", "gauge",
	 "(Sidecar, host) pairs ejected now by outlier detection (Envoy outlier_detection.ejections_active).",
	 v_ejected_now},
	{"meshsim_outlier_detection_ejections_enforced_total", "counter",
	 "Ejections of the service's hosts by outlier detection (Envoy outlier_detection.ejections_enforced_total).",
	 v_enforced},
};

/* Instance-level counters. */
typedef uint64_t (*inst_value)(const rec_instance *x);
static uint64_t i_arrived(const rec_instance *x) { return x->arrived; }
static uint64_t i_served(const rec_instance *x) { return x->served; }
static uint64_t i_waited(const rec_instance *x) { return x->waited; }
static uint64_t i_queue_full(const rec_instance *x) { return x->queue_full; }
static uint64_t i_max_queue(const rec_instance *x) { return x->max_queue; }
static uint64_t i_crashes(const rec_instance *x) { return x->crashes; }
static uint64_t i_ejections(const rec_instance *x) { return x->ejections; }

static const struct {
	const char *name, *type, *help;
	inst_value v;
} inst_metrics[] = {
	{"meshsim_instance_requests_total", "counter",
	 "Requests that arrived at the instance.", i_arrived},
	{"meshsim_instance_requests_served_total", "counter",
	 "Requests a worker of the instance started.", i_served},
	{"meshsim_instance_requests_queued_total", "counter",
	 "Requests that waited in the instance's queue for a worker.", i_waited},
	{"meshsim_instance_queue_full_total", "counter",
	 "Requests answered 503 because the instance's queue was full.", i_queue_full},
	{"meshsim_instance_queue_length_max", "gauge",
	 "Longest queue the instance has had.", i_max_queue},
	{"meshsim_instance_crashes_total", "counter",
	 "Times the instance's app crashed.", i_crashes},
	{"meshsim_instance_ejections_total", "counter",
	 "Times a caller's sidecar ejected the instance.", i_ejections},
};

static void instance_labels(const model *m, uint32_t s, uint32_t j, char *num,
			    lbl *l)
{
	const model_service *ms = &m->services[s];
	snprintf(num, 12, "%u", j);
	l[0] = (lbl){"service", ms->name};
	l[1] = (lbl){"version", ms->versions[model_version_of(ms, j)].name};
	l[2] = (lbl){"instance", num};
}

/* Does workload w's sidecar have anything counted on `side`? Only those
 * rows are exposed: a sidecar's /metrics then shows its own workload, not
 * every pod of the mesh at zero. */
static int tls_row_used(const rec_tls *t)
{
	uint64_t any = t->full | t->resumed | t->plaintext;
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++)
		any |= t->failed[k];
	return any != 0;
}

#define WORKLOAD_NAME 512

/* Mutual TLS, named after Envoy's TLS statistics (ssl.handshake,
 * ssl.connection_error, ssl.fail_verify_*) and Istio's agent's certificate
 * gauges: per workload (its pod's sidecar) and side. Returns -1 when out
 * of memory. */
static int tls_metrics(const rec *r, FILE *out, const char *x)
{
	const model *m = r->m;
	uint32_t nw = r->tls_nworkloads;
	lbl l[MAX_LABELS];
	char wname[WORKLOAD_NAME];
	uint32_t *newest = malloc((size_t)(nw ? nw : 1) * sizeof *newest);
	uint64_t *bywhy = calloc((size_t)(nw ? nw : 1) * REC_CERT_WHY_COUNT, sizeof *bywhy);
	if (!newest || !bywhy) {
		free(newest);
		free(bywhy);
		return -1;
	}

	family(out, "meshsim_tls_handshakes_total", "counter",
	       "Mutual TLS handshakes a workload's sidecar completed, by side and by "
	       "whether it resumed a session (Envoy ssl.handshake, ssl.session_reused).");
	for (uint32_t w = 0; w < nw; w++)
		for (int side = 0; side < REC_TLS_SIDES; side++) {
			const rec_tls *t = rec_tls_row(r, w, side);
			if (!tls_row_used(t))
				continue;
			rec_tls_workload_name(m, w, wname, sizeof wname);
			l[0] = (lbl){"workload", wname};
			l[1] = (lbl){"side", rec_tls_side_name(side)};
			l[2] = (lbl){"kind", "full"};
			sample(out, x, "meshsim_tls_handshakes_total", "", l, 3, t->full);
			l[2] = (lbl){"kind", "resumed"};
			sample(out, x, "meshsim_tls_handshakes_total", "", l, 3, t->resumed);
		}
	family(out, "meshsim_tls_handshake_failures_total", "counter",
	       "Connections whose mutual TLS handshake failed, or plaintext ones a STRICT "
	       "inbound refused, by reason (Envoy ssl.connection_error, ssl.fail_verify_*); "
	       "counted by the side that found it and the side it was reported to.");
	for (uint32_t w = 0; w < nw; w++)
		for (int side = 0; side < REC_TLS_SIDES; side++) {
			const rec_tls *t = rec_tls_row(r, w, side);
			if (!tls_row_used(t))
				continue;
			rec_tls_workload_name(m, w, wname, sizeof wname);
			l[0] = (lbl){"workload", wname};
			l[1] = (lbl){"side", rec_tls_side_name(side)};
			for (int k = 0; k < REC_TLS_FAIL_COUNT; k++) {
				l[2] = (lbl){"reason", rec_tls_fail_name(k)};
				sample(out, x, "meshsim_tls_handshake_failures_total", "", l, 3,
				       t->failed[k]);
			}
		}
	family(out, "meshsim_tls_plaintext_connections_total", "counter",
	       "Plaintext connections: inbound, those accepted (PERMISSIVE or DISABLE); "
	       "outbound, those opened.");
	for (uint32_t w = 0; w < nw; w++)
		for (int side = 0; side < REC_TLS_SIDES; side++) {
			const rec_tls *t = rec_tls_row(r, w, side);
			if (!tls_row_used(t))
				continue;
			rec_tls_workload_name(m, w, wname, sizeof wname);
			l[0] = (lbl){"workload", wname};
			l[1] = (lbl){"side", rec_tls_side_name(side)};
			sample(out, x, "meshsim_tls_plaintext_connections_total", "", l, 2,
			       t->plaintext);
		}

	/* Each workload's newest certificate: the latest in (time, why), and
	 * among equals the last recorded. */
	for (uint32_t w = 0; w < nw; w++)
		newest[w] = UINT32_MAX;
	for (uint32_t k = 0; k < r->ncerts; k++) {
		const rec_cert_event *e = &r->certs[k];
		uint32_t *n = &newest[e->workload];
		if (e->why < REC_CERT_WHY_COUNT)
			bywhy[(size_t)e->workload * REC_CERT_WHY_COUNT + e->why]++;
		if (*n == UINT32_MAX || e->at > r->certs[*n].at ||
		    (e->at == r->certs[*n].at && e->why >= r->certs[*n].why))
			*n = k;
	}
	family(out, "meshsim_certificates_total", "counter",
	       "Certificates a workload got from the mesh CA, by why: issued (its first), "
	       "renewed, expired or foreign (a fault's), restored (a fault ended).");
	for (uint32_t w = 0; w < nw; w++) {
		if (newest[w] == UINT32_MAX)
			continue;
		rec_tls_workload_name(m, w, wname, sizeof wname);
		l[0] = (lbl){"workload", wname};
		for (int k = 0; k < REC_CERT_WHY_COUNT; k++) {
			l[1] = (lbl){"why", rec_cert_why_name(k)};
			sample(out, x, "meshsim_certificates_total", "", l, 2,
			       bywhy[(size_t)w * REC_CERT_WHY_COUNT + k]);
		}
	}
	family(out, "meshsim_cert_expiry_seconds", "gauge",
	       "When the workload's newest certificate expires (its not_after), in seconds "
	       "from the run's start; below zero when it expired before the run began.");
	for (uint32_t w = 0; w < nw; w++) {
		if (newest[w] == UINT32_MAX)
			continue;
		rec_tls_workload_name(m, w, wname, sizeof wname);
		l[0] = (lbl){"workload", wname};
		fprintf(out, "meshsim_cert_expiry_seconds");
		labels_out(out, x, l, 1);
		fprintf(out, " %lld\n", (long long)r->certs[newest[w]].not_after_s);
	}
	free(newest);
	free(bywhy);
	return 0;
}

int rec_prometheus(const rec *r, FILE *out, const char *labels)
{
	const model *m = r->m;
	const char *x = labels && *labels ? labels : NULL;
	lbl l[MAX_LABELS];
	char num[12], code[8];

	family(out, "meshsim_requests_total", "counter",
	       "Requests that ended, by outcome, as the calling sidecars saw them (istio_requests_total).");
	for (uint32_t i = 0; i < m->nroutes; i++) {
		route_labels(m, i, l);
		for (int k = 0; k < MESH_OUTCOME_COUNT; k++) {
			l[2] = (lbl){"outcome", mesh_outcome_name((enum mesh_outcome)k)};
			sample(out, x, "meshsim_requests_total", "", l, 3,
			       r->routes[i].outcomes[k]);
		}
	}
	family(out, "meshsim_requests_in_flight", "gauge",
	       "Requests sent and not yet ended.");
	for (uint32_t i = 0; i < m->nroutes; i++) {
		route_labels(m, i, l);
		sample(out, x, "meshsim_requests_in_flight", "", l, 2,
		       rec_in_flight(&r->routes[i]));
	}
	family(out, "meshsim_responses_total", "counter",
	       "Responses to the calling sidecars, by HTTP status.");
	for (uint32_t i = 0; i < m->nroutes; i++) {
		route_labels(m, i, l);
		for (unsigned k = 0; k < REC_MAX_STATUS; k++)
			if (r->routes[i].by_status[k]) {
				snprintf(code, sizeof code, "%u", k);
				l[2] = (lbl){"response_code", code};
				sample(out, x, "meshsim_responses_total", "", l, 3,
				       r->routes[i].by_status[k]);
			}
	}
	family(out, "meshsim_request_duration_seconds", "histogram",
	       "Request duration as the calling sidecars saw it, all tries included "
	       "(istio_request_duration_milliseconds, in seconds).");
	for (uint32_t i = 0; i < m->nroutes; i++) {
		route_labels(m, i, l);
		histogram(out, x, "meshsim_request_duration_seconds", l, 2,
			  &r->routes[i].lat);
	}

	for (size_t k = 0; k < sizeof svc_metrics / sizeof svc_metrics[0]; k++) {
		family(out, svc_metrics[k].name, svc_metrics[k].type, svc_metrics[k].help);
		for (uint32_t s = 0; s < m->nservices; s++) {
			l[0] = (lbl){"service", m->services[s].name};
			sample(out, x, svc_metrics[k].name, "", l, 1, svc_metrics[k].v(r, s));
		}
		if (k == 0) {
			/* Retries right after the tries, by cause. */
			family(out, "meshsim_upstream_rq_retry_total", "counter",
			       "Retries, by the failure of the try before (Envoy upstream_rq_retry).");
			for (uint32_t s = 0; s < m->nservices; s++) {
				l[0] = (lbl){"service", m->services[s].name};
				for (int q = 0; q < REC_RETRY_COUNT; q++) {
					l[1] = (lbl){"reason", rec_retry_reason_name(q)};
					sample(out, x, "meshsim_upstream_rq_retry_total", "", l, 2,
					       r->services[s].st.pol.retries[q]);
				}
			}
			family(out, "meshsim_upstream_rq_retry_overflow_total", "counter",
			       "Retries not attempted because of the max_retries circuit breaker "
			       "or the retry budget (Envoy upstream_rq_retry_overflow).");
			for (uint32_t s = 0; s < m->nservices; s++) {
				const rec_policy *p = &r->services[s].st.pol;
				l[0] = (lbl){"service", m->services[s].name};
				l[1] = (lbl){"cause", rec_overflow_name(REC_OVERFLOW_RETRIES)};
				sample(out, x, "meshsim_upstream_rq_retry_overflow_total", "", l, 2,
				       p->overflow[REC_OVERFLOW_RETRIES]);
				l[1] = (lbl){"cause", rec_overflow_name(REC_OVERFLOW_BUDGET)};
				sample(out, x, "meshsim_upstream_rq_retry_overflow_total", "", l, 2,
				       p->overflow[REC_OVERFLOW_BUDGET]);
			}
		}
	}

	family(out, "meshsim_client_requests_total", "counter",
	       "Load client requests that ended, by outcome (latency from the intended send time).");
	for (uint32_t i = 0; i < m->nclients; i++) {
		l[0] = (lbl){"client", m->clients[i].name};
		for (int k = 0; k < MESH_OUTCOME_COUNT; k++) {
			l[1] = (lbl){"outcome", mesh_outcome_name((enum mesh_outcome)k)};
			sample(out, x, "meshsim_client_requests_total", "", l, 2,
			       r->clients[i].outcomes[k]);
		}
	}
	family(out, "meshsim_client_requests_in_flight", "gauge",
	       "Load client requests sent and not yet ended.");
	for (uint32_t i = 0; i < m->nclients; i++) {
		l[0] = (lbl){"client", m->clients[i].name};
		sample(out, x, "meshsim_client_requests_in_flight", "", l, 1,
		       rec_in_flight(&r->clients[i]));
	}
	family(out, "meshsim_client_request_duration_seconds", "histogram",
	       "Load client request latency from the intended send time (no coordinated omission).");
	for (uint32_t i = 0; i < m->nclients; i++) {
		l[0] = (lbl){"client", m->clients[i].name};
		histogram(out, x, "meshsim_client_request_duration_seconds", l, 1,
			  &r->clients[i].lat);
	}

	for (size_t k = 0; k < sizeof inst_metrics / sizeof inst_metrics[0]; k++) {
		family(out, inst_metrics[k].name, inst_metrics[k].type, inst_metrics[k].help);
		for (uint32_t s = 0; s < m->nservices; s++)
			for (uint32_t j = 0; j < m->services[s].replicas; j++) {
				instance_labels(m, s, j, num, l);
				sample(out, x, inst_metrics[k].name, "", l, 3,
				       inst_metrics[k].v(&r->services[s].inst[j]));
			}
	}
	family(out, "meshsim_instance_responses_total", "counter",
	       "Responses the instance's app gave, by HTTP status.");
	for (uint32_t s = 0; s < m->nservices; s++)
		for (uint32_t j = 0; j < m->services[s].replicas; j++) {
			instance_labels(m, s, j, num, l);
			const rec_instance *ri = &r->services[s].inst[j];
			for (unsigned k = 0; k < REC_MAX_STATUS; k++)
				if (ri->by_status[k]) {
					snprintf(code, sizeof code, "%u", k);
					l[3] = (lbl){"response_code", code};
					sample(out, x, "meshsim_instance_responses_total", "", l, 4,
					       ri->by_status[k]);
				}
		}
	family(out, "meshsim_instance_queue_wait_seconds", "histogram",
	       "Time requests waited in the instance's queue for a worker.");
	for (uint32_t s = 0; s < m->nservices; s++)
		for (uint32_t j = 0; j < m->services[s].replicas; j++) {
			instance_labels(m, s, j, num, l);
			histogram(out, x, "meshsim_instance_queue_wait_seconds", l, 3,
				  &r->services[s].inst[j].wait);
		}

	family(out, "meshsim_fault_hits_total", "counter",
	       "Requests a scheduled fault touched.");
	for (uint32_t i = 0; i < m->nfaults; i++) {
		snprintf(num, sizeof num, "%u", i);
		l[0] = (lbl){"fault", num};
		l[1] = (lbl){"label", m->faults[i].label ? m->faults[i].label : ""};
		sample(out, x, "meshsim_fault_hits_total", "", l, 2, r->fault_hits[i]);
	}
	if (m->rollout && r->vs) {
		const model_service *svc = &m->services[r->vs_service];
		family(out, "meshsim_version_requests_total", "counter",
		       "Calls to the rollout's service that ended, mirrored copies included, "
		       "by version and by whether they were answered 5xx "
		       "(istio_requests_total by destination_version).");
		for (uint32_t v = 0; v < r->vs_nversions; v++) {
			uint64_t done = 0, ok = 0;
			for (uint32_t k = 0; k < r->vs[v].nrows; k++) {
				done += r->vs[v].rows[k].done;
				ok += r->vs[v].rows[k].non5xx;
			}
			l[0] = (lbl){"service", svc->name};
			l[1] = (lbl){"version", svc->versions[v].name};
			l[2] = (lbl){"response_class", "non5xx"};
			sample(out, x, "meshsim_version_requests_total", "", l, 3, ok);
			l[2] = (lbl){"response_class", "5xx"};
			sample(out, x, "meshsim_version_requests_total", "", l, 3, done - ok);
		}
		family(out, "meshsim_version_calls_total", "counter",
		       "Calls to the rollout's service the callers' sidecars routed to each "
		       "version (no mirrored copies).");
		for (uint32_t v = 0; v < r->vs_nversions; v++) {
			l[0] = (lbl){"service", svc->name};
			l[1] = (lbl){"version", svc->versions[v].name};
			sample(out, x, "meshsim_version_calls_total", "", l, 2, r->vs[v].calls);
		}
	}
	family(out, "meshsim_edge_requests_total", "counter",
	       "Calls along each edge of the service graph, by whether they succeeded.");
	for (uint32_t f = 0; f < m->nservices + m->nclients; f++)
		for (uint32_t t = 0; t < m->nservices; t++) {
			size_t k = (size_t)f * m->nservices + t;
			if (!r->edge_calls[k])
				continue;
			int client = f >= m->nservices;
			l[0] = (lbl){"source", client ? m->clients[f - m->nservices].name
						     : m->services[f].name};
			l[1] = (lbl){"source_kind", client ? "client" : "service"};
			l[2] = (lbl){"destination", m->services[t].name};
			l[3] = (lbl){"success", "true"};
			sample(out, x, "meshsim_edge_requests_total", "", l, 4, r->edge_ok[k]);
			l[3] = (lbl){"success", "false"};
			sample(out, x, "meshsim_edge_requests_total", "", l, 4,
			       r->edge_calls[k] - r->edge_ok[k]);
		}
	if (r->tls && tls_metrics(r, out, x) < 0)
		return -1;
	return ferror(out) ? -1 : 0;
}
