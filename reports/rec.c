#include "rec.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void stats_init(rec_stats *s)
{
	memset(s, 0, sizeof *s);
	hist_init(&s->lat);
	s->live_at_end = UINT64_MAX;
}

static void series_init(rec_series *s)
{
	memset(s, 0, sizeof *s);
	hist_init(&s->h);
}

/* Out of line and cold, so that series_row stays a compare and a store. */
#if defined(__GNUC__)
__attribute__((noinline, cold))
#endif
static int series_grow(rec_series *s, uint32_t n)
{
	if (n <= s->cap)
		return 0;
	uint32_t cap = s->cap ? s->cap : 64;
	while (cap < n)
		cap *= 2;
	rec_row *rows = realloc(s->rows, cap * sizeof *rows);
	if (!rows)
		return -1;
	memset(rows + s->cap, 0, (cap - s->cap) * sizeof *rows);
	s->rows = rows;
	if (s->keep) {
		rec_second *secs = realloc(s->secs, cap * sizeof *secs);
		if (!secs)
			return -1;
		for (uint32_t i = s->cap; i < cap; i++)
			secs[i] = (rec_second){.min = UINT64_MAX};
		s->secs = secs;
	}
	s->cap = cap;
	return 0;
}

/* Row for second `sec`, created with any seconds before it. Rows are tiny
 * and there is one per simulated second; failing to grow is treated as
 * fatal, since a silently missing second would be a lie in the report. */
static rec_row *series_row(rec_series *s, uint32_t sec)
{
	/* The check here and the growing apart: this runs several times per
	 * request, growing once in a long while. */
	if (sec >= s->cap && series_grow(s, sec + 1) < 0)
		abort();
	if (s->nrows < sec + 1)
		s->nrows = sec + 1;
	return &s->rows[sec];
}

/* Add kept second k into h. */
static void second_into(const rec_second *k, hist *h)
{
	if (!k->count)
		return;
	for (uint32_t j = 0; j < k->n; j++)
		h->b[k->b[j].i] += k->b[j].n;
	if (k->b[0].i < h->lo)
		h->lo = k->b[0].i;
	if (k->b[k->n - 1].i > h->hi)
		h->hi = k->b[k->n - 1].i;
	h->count += k->count;
	h->sum += k->sum;
	if (k->min < h->min)
		h->min = k->min;
	if (k->max > h->max)
		h->max = k->max;
}

static void row_summarise(rec_row *row, const hist *h)
{
	row->p50 = hist_quantile(h, 0.50);
	row->p90 = hist_quantile(h, 0.90);
	row->p99 = hist_quantile(h, 0.99);
	row->p999 = hist_quantile(h, 0.999);
	row->max = h->max;
}

/* Second t is h plus what was kept of it before (a second summarised
 * twice, should ends ever come out of order): keep the whole of it in
 * sparse form, and summarise its row from the whole. h ends up holding the
 * whole second. */
static void keep_sparse(rec_second *k, hist *h)
{
	second_into(k, h);
	uint32_t n = 0;
	for (uint32_t i = h->lo; i <= h->hi; i++)
		n += h->b[i] != 0;
	rec_bucket *b = realloc(k->b, (n ? n : 1) * sizeof *b);
	if (!b)
		abort(); /* as series_row: a second silently lost would lie */
	n = 0;
	for (uint32_t i = h->lo; i <= h->hi; i++)
		if (h->b[i])
			b[n++] = (rec_bucket){.i = i, .n = h->b[i]};
	*k = (rec_second){.count = h->count, .min = h->min, .max = h->max,
			  .sum = h->sum, .b = b, .n = n};
}

static void second_absorb(rec_series *s, uint32_t t, hist *h)
{
	rec_row *row = series_row(s, t);
	keep_sparse(&s->secs[t], h);
	row_summarise(row, h);
}

static void series_flush(rec_series *s)
{
	if (!s->h.count)
		return;
	if (s->keep)
		second_absorb(s, s->cur, &s->h);
	else
		row_summarise(series_row(s, s->cur), &s->h);
	hist_reset(&s->h);
}

static void series_free(rec_series *s)
{
	if (s->secs)
		for (uint32_t i = 0; i < s->cap; i++)
			free(s->secs[i].b);
	free(s->secs);
	free(s->rows);
}

static void series_keep(rec_series *s)
{
	if (s->keep)
		return;
	s->keep = 1;
	if (!s->cap)
		return;
	s->secs = malloc(s->cap * sizeof *s->secs);
	if (!s->secs)
		abort();
	for (uint32_t i = 0; i < s->cap; i++)
		s->secs[i] = (rec_second){.min = UINT64_MAX};
}

static void series_done(rec_series *s, mesh_time now, mesh_time lat,
			int has_lat, int ok)
{
	uint32_t sec = (uint32_t)(now / MESH_S);
	if (sec != s->cur) {
		series_flush(s);
		s->cur = sec;
	}
	rec_row *row = series_row(s, sec);
	row->done++;
	row->ok += ok;
	if (has_lat)
		hist_add(&s->h, lat);
}

static void stats_done(rec_stats *s, mesh_time lat, enum mesh_outcome o,
		       unsigned status)
{
	s->outcomes[o]++;
	if (status && status < REC_MAX_STATUS)
		s->by_status[status]++;
	if (o != MESH_REJECTED)
		hist_add(&s->lat, lat);
}

rec *rec_new(const model *m)
{
	rec *r = calloc(1, sizeof *r);
	if (!r)
		return NULL;
	r->m = m;
	r->clients = calloc(m->nclients ? m->nclients : 1, sizeof *r->clients);
	r->client_series = calloc(m->nclients ? m->nclients : 1,
				  sizeof *r->client_series);
	r->services = calloc(m->nservices ? m->nservices : 1, sizeof *r->services);
	r->routes = calloc(m->nroutes ? m->nroutes : 1, sizeof *r->routes);
	r->fault_hits = calloc(m->nfaults ? m->nfaults : 1, sizeof *r->fault_hits);
	r->ejections = calloc(REC_MAX_EJECTION_EVENTS, sizeof *r->ejections);
	size_t ne = (size_t)(m->nservices + m->nclients) * m->nservices + 1;
	r->edge_calls = calloc(ne, sizeof *r->edge_calls);
	r->edge_ok = calloc(ne, sizeof *r->edge_ok);
	if (!r->edge_calls || !r->edge_ok)
		goto fail;
	r->authz_policy = calloc(m->nauthz ? m->nauthz : 1, sizeof *r->authz_policy);
	r->authz_service = calloc((size_t)(m->nservices ? m->nservices : 1) *
					  AUTHZ_VERDICT_COUNT,
				  sizeof *r->authz_service);
	if (!r->authz_policy || !r->authz_service)
		goto fail;
	if (m->mtls.enabled) {
		r->tls_nworkloads = rec_tls_workloads(m);
		r->tls = calloc((size_t)(r->tls_nworkloads ? r->tls_nworkloads : 1) *
					REC_TLS_SIDES,
				sizeof *r->tls);
		if (!r->tls)
			goto fail;
	}
	if (!r->clients || !r->client_series || !r->services || !r->routes ||
	    !r->fault_hits || !r->ejections)
		goto fail;
	for (uint32_t i = 0; i < m->nclients; i++) {
		stats_init(&r->clients[i]);
		series_init(&r->client_series[i]);
	}
	for (uint32_t i = 0; i < m->nroutes; i++)
		stats_init(&r->routes[i]);
	for (uint32_t i = 0; i < m->nservices; i++) {
		rec_service *s = &r->services[i];
		stats_init(&s->st);
		series_init(&s->series);
		s->inst = calloc(m->services[i].replicas, sizeof *s->inst);
		if (!s->inst)
			goto fail;
		for (uint32_t j = 0; j < m->services[i].replicas; j++)
			hist_init(&s->inst[j].wait);
	}
	stats_init(&r->overall);
	series_init(&r->overall_series);
	r->vs_service = MODEL_NONE;
	if (m->rollout) {
		const model_rollout *ro = m->rollout;
		const model_service *s = &m->services[ro->service];
		r->vs = calloc(s->nversions, sizeof *r->vs);
		r->ro_log = calloc(1, sizeof *r->ro_log);
		if (!r->vs || !r->ro_log)
			goto fail;
		for (uint32_t v = 0; v < s->nversions; v++)
			rec_vseries_init(&r->vs[v], 0);
		rollout_log_init(r->ro_log, ro);
		r->vs_nversions = s->nversions;
		r->vs_service = ro->service;
		r->vs_step = rec_rollout_step(ro);
		r->vs_slo = ro->slo_latency;
	}
	return r;
fail:
	rec_free(r);
	return NULL;
}

void rec_free(rec *r)
{
	if (!r)
		return;
	if (r->services)
		for (uint32_t i = 0; i < r->m->nservices; i++) {
			free(r->services[i].inst);
			series_free(&r->services[i].series);
		}
	if (r->client_series)
		for (uint32_t i = 0; i < r->m->nclients; i++)
			series_free(&r->client_series[i]);
	series_free(&r->overall_series);
	free(r->services);
	free(r->clients);
	free(r->client_series);
	free(r->routes);
	free(r->fault_hits);
	free(r->edge_calls);
	free(r->edge_ok);
	free(r->authz_policy);
	free(r->authz_service);
	free(r->tls);
	free(r->certs);
	free(r->ejections);
	if (r->vs)
		for (uint32_t v = 0; v < r->vs_nversions; v++)
			rec_vseries_destroy(&r->vs[v]);
	free(r->vs);
	if (r->ro_log)
		rollout_log_clear(r->ro_log);
	free(r->ro_log);
	free(r);
}

static void vseries_keep(rec_vseries *v);

void rec_keep_seconds(rec *r)
{
	series_keep(&r->overall_series);
	for (uint32_t i = 0; i < r->m->nclients; i++)
		series_keep(&r->client_series[i]);
	for (uint32_t i = 0; i < r->m->nservices; i++)
		series_keep(&r->services[i].series);
	for (uint32_t v = 0; v < r->vs_nversions; v++)
		vseries_keep(&r->vs[v]);
}

void rec_client_issued(rec *r, uint32_t client, mesh_time t)
{
	r->clients[client].issued++;
	r->overall.issued++;
	uint32_t sec = (uint32_t)(t / MESH_S);
	series_row(&r->client_series[client], sec)->issued++;
	series_row(&r->overall_series, sec)->issued++;
}

void rec_client_done(rec *r, uint32_t client, mesh_time intended,
		     mesh_time now, enum mesh_outcome o, unsigned status)
{
	mesh_time lat = now - intended;
	stats_done(&r->clients[client], lat, o, status);
	stats_done(&r->overall, lat, o, status);
	int has = o != MESH_REJECTED, ok = o == MESH_OK;
	series_done(&r->client_series[client], now, lat, has, ok);
	series_done(&r->overall_series, now, lat, has, ok);
}

void rec_route_issued(rec *r, uint32_t route, mesh_time t)
{
	uint32_t svc = r->m->routes[route].service;
	r->routes[route].issued++;
	r->services[svc].st.issued++;
	series_row(&r->services[svc].series, (uint32_t)(t / MESH_S))->issued++;
}

void rec_route_done(rec *r, uint32_t route, mesh_time start, mesh_time now,
		    enum mesh_outcome o, unsigned status)
{
	uint32_t svc = r->m->routes[route].service;
	mesh_time lat = now - start;
	stats_done(&r->routes[route], lat, o, status);
	stats_done(&r->services[svc].st, lat, o, status);
	series_done(&r->services[svc].series, now, lat, o != MESH_REJECTED,
		    o == MESH_OK);
}

const char *rec_retry_reason_name(int k)
{
	static const char *const names[REC_RETRY_COUNT] = {
		"5xx", "reset", "connect_failure", "per_try_timeout",
		"retriable_status", "refused_stream"};
	return k >= 0 && k < REC_RETRY_COUNT ? names[k] : "?";
}

const char *rec_overflow_name(int k)
{
	static const char *const names[REC_OVERFLOW_COUNT] = {
		"max_requests", "max_pending", "max_retries", "retry_budget",
		"no_healthy_upstream"};
	return k >= 0 && k < REC_OVERFLOW_COUNT ? names[k] : "?";
}

static rec_row *service_row(rec *r, uint32_t route, mesh_time now,
			    rec_policy **rp, rec_policy **sp)
{
	uint32_t svc = r->m->routes[route].service;
	*rp = &r->routes[route].pol;
	*sp = &r->services[svc].st.pol;
	return series_row(&r->services[svc].series, (uint32_t)(now / MESH_S));
}

void rec_attempt(rec *r, uint32_t route, mesh_time now)
{
	rec_policy *rp, *sp;
	rec_row *row = service_row(r, route, now, &rp, &sp);
	rp->attempts++;
	sp->attempts++;
	row->attempts++;
}

void rec_retry(rec *r, uint32_t route, int reason, mesh_time now)
{
	rec_policy *rp, *sp;
	rec_row *row = service_row(r, route, now, &rp, &sp);
	rp->retries[reason]++;
	sp->retries[reason]++;
	row->retries++;
}

void rec_overflow(rec *r, uint32_t route, int kind, mesh_time now)
{
	rec_policy *rp, *sp;
	rec_row *row = service_row(r, route, now, &rp, &sp);
	rp->overflow[kind]++;
	sp->overflow[kind]++;
	row->overflows++;
}

void rec_per_try_timeout(rec *r, uint32_t route)
{
	r->routes[route].pol.per_try_timeouts++;
	r->services[r->m->routes[route].service].st.pol.per_try_timeouts++;
}

void rec_route_timeout(rec *r, uint32_t route)
{
	r->routes[route].pol.route_timeouts++;
	r->services[r->m->routes[route].service].st.pol.route_timeouts++;
}

/* The ejected count of service s changes by delta in second sec. Shared by
 * the recording and the replay of a merge, so that both count alike. */
static void ejected_step(rec_service *s, uint32_t sec, int delta)
{
	/* Seconds since the last change saw the count as it stood. */
	for (uint32_t t = s->ejected_sec; t <= sec && s->ejected_now; t++) {
		rec_row *w = series_row(&s->series, t);
		if (s->ejected_now > w->ejected)
			w->ejected = s->ejected_now;
	}
	s->ejected_sec = sec;
	if (delta > 0)
		s->ejected_now++;
	else if (s->ejected_now)
		s->ejected_now--;
	rec_row *row = series_row(&s->series, sec);
	if (s->ejected_now > row->ejected)
		row->ejected = s->ejected_now;
}

/* At the end: the seconds since the last change, up to `last`, saw the
 * count as it stands. Rows up to `last` exist. */
static void ejected_fill(rec_service *s, uint32_t last)
{
	for (uint32_t t = s->ejected_sec; t <= last && s->ejected_now; t++)
		if (s->ejected_now > s->series.rows[t].ejected)
			s->series.rows[t].ejected = s->ejected_now;
}

void rec_ejection(rec *r, uint32_t service, uint32_t instance, int delta,
		  mesh_time now)
{
	rec_service *s = &r->services[service];
	ejected_step(s, (uint32_t)(now / MESH_S), delta);
	if (delta > 0)
		s->inst[instance].ejections++;
	r->ejections_total++;
	if (r->nejections < REC_MAX_EJECTION_EVENTS) {
		rec_ejection_event *e = &r->ejections[r->nejections++];
		e->t = now;
		e->service = service;
		e->instance = instance;
		e->delta = delta;
	}
}

void rec_edge(rec *r, uint32_t from, uint32_t to, int ok)
{
	size_t k = (size_t)from * r->m->nservices + to;
	r->edge_calls[k]++;
	r->edge_ok[k] += ok != 0;
}

/* ---- the rollout's service, per version ---- */

mesh_time rec_rollout_step(const model_rollout *ro)
{
	/* The loader gives every judge of a rollout the same step. */
	if (ro->analysis.has_judge)
		return ro->analysis.judge.step;
	for (uint32_t i = 0; i < ro->nsteps; i++)
		if (ro->steps[i].kind == RO_STEP_ANALYSIS &&
		    ro->steps[i].analysis.has_judge)
			return ro->steps[i].analysis.judge.step;
	return MESH_S;
}

static rec_vrow *vrow(rec_vseries *v, uint32_t k)
{
	if (k >= v->cap) {
		uint32_t cap = v->cap ? v->cap : 64;
		while (cap <= k)
			cap *= 2;
		rec_vrow *rows = realloc(v->rows, cap * sizeof *rows);
		if (!rows)
			abort(); /* as series_row: a missing step would lie */
		memset(rows + v->cap, 0, (cap - v->cap) * sizeof *rows);
		v->rows = rows;
		if (v->keep) {
			rec_second *steps = realloc(v->steps, cap * sizeof *steps);
			if (!steps)
				abort();
			for (uint32_t i = v->cap; i < cap; i++)
				steps[i] = (rec_second){.min = UINT64_MAX};
			v->steps = steps;
		}
		v->cap = cap;
	}
	if (v->nrows < k + 1)
		v->nrows = k + 1;
	return &v->rows[k];
}

static void vrow_summarise(rec_vrow *row, const hist *h)
{
	row->p50 = hist_quantile(h, 0.50);
	row->p99 = hist_quantile(h, 0.99);
}

/* Step k is h plus what was kept of it: keep the whole, and summarise the
 * row from it (as second_absorb). h ends up holding the whole step. */
static void vstep_absorb(rec_vseries *v, uint32_t k, hist *h)
{
	rec_vrow *row = vrow(v, k);
	keep_sparse(&v->steps[k], h);
	vrow_summarise(row, h);
}

static void vflush(rec_vseries *v)
{
	if (!v->h.count)
		return;
	if (v->keep)
		vstep_absorb(v, v->cur, &v->h);
	else
		vrow_summarise(vrow(v, v->cur), &v->h);
	hist_reset(&v->h);
}

static void vseries_keep(rec_vseries *v)
{
	if (v->keep)
		return;
	v->keep = 1;
	if (!v->cap)
		return;
	v->steps = malloc(v->cap * sizeof *v->steps);
	if (!v->steps)
		abort();
	for (uint32_t i = 0; i < v->cap; i++)
		v->steps[i] = (rec_second){.min = UINT64_MAX};
}

void rec_vseries_init(rec_vseries *v, int keep)
{
	memset(v, 0, sizeof *v);
	hist_init(&v->h);
	if (keep)
		vseries_keep(v);
}

void rec_vseries_destroy(rec_vseries *v)
{
	if (v->steps)
		for (uint32_t i = 0; i < v->cap; i++)
			free(v->steps[i].b);
	free(v->steps);
	free(v->rows);
	v->steps = NULL;
	v->rows = NULL;
	v->nrows = v->cap = 0;
}

rec_vrow *rec_vseries_row(rec_vseries *v, uint32_t k)
{
	return vrow(v, k);
}

void rec_vseries_step(const rec_vseries *v, uint32_t k, hist *h)
{
	assert(v->keep);
	if (k < v->nrows)
		second_into(&v->steps[k], h);
	if (k == v->cur && v->h.count)
		hist_merge(h, &v->h);
}

void rec_vseries_add_step(rec_vseries *v, uint32_t k, hist *h)
{
	assert(v->keep);
	if (!h->count)
		return;
	vstep_absorb(v, k, h);
}

void rec_version_flush(rec *r, mesh_time now)
{
	uint32_t k = (uint32_t)(now / r->vs_step);
	for (uint32_t v = 0; v < r->vs_nversions; v++)
		if (r->vs[v].cur < k) {
			vflush(&r->vs[v]);
			r->vs[v].cur = k;
		}
}

void rec_version_done_(rec *r, uint32_t version, mesh_time start,
		       mesh_time now, enum mesh_outcome o, unsigned status,
		       int mirrored)
{
	rec_vseries *v = &r->vs[version];
	uint32_t k = (uint32_t)(now / r->vs_step);
	if (k != v->cur) {
		vflush(v);
		v->cur = k;
	}
	rec_vrow *row = vrow(v, k);
	mesh_time lat = now - start;
	row->done++;
	/* A metrics server counts a 4xx as no failure (Flagger's success
	 * rate is the share of non-5xx responses); what a sidecar made of a
	 * timeout, reset, connect failure or overflow is a 5xx. */
	int fail5 = o != MESH_OK && (o != MESH_HTTP_ERROR || status >= 500);
	row->non5xx += !fail5;
	if (o != MESH_REJECTED) {
		hist_add(&v->h, lat);
		double ms = (double)lat / 1e6;
		int b = 0;
		while (b < RO_ISTIO_BUCKETS && ms > ro_istio_bucket_ms[b])
			b++;
		row->ib[b]++;
	}
	if (mirrored)
		return;
	int failed = o != MESH_OK;
	int slow = !failed && lat > r->vs_slo;
	row->calls++;
	row->failed += failed;
	row->slow += slow;
	v->calls++;
	v->failed += failed;
	v->slow += slow;
}

void rec_fault_hit(rec *r, uint32_t fault)
{
	r->fault_hits[fault]++;
}

void rec_authz(rec *r, uint32_t service, enum authz_verdict v, uint32_t by)
{
	r->authz_service[(size_t)service * AUTHZ_VERDICT_COUNT + v]++;
	if (by < r->m->nauthz)
		r->authz_policy[by]++;
}

/* ---- mutual TLS ---- */

const char *rec_tls_fail_name(int k)
{
	static const char *const names[REC_TLS_FAIL_COUNT] = {
		"expired", "unknown_ca", "identity_mismatch", "plaintext_rejected",
		"no_client_cert", "other"};
	return k >= 0 && k < REC_TLS_FAIL_COUNT ? names[k] : "?";
}

const char *rec_tls_side_name(int side)
{
	static const char *const names[REC_TLS_SIDES] = {"inbound", "outbound"};
	return side >= 0 && side < REC_TLS_SIDES ? names[side] : "?";
}

const char *rec_cert_why_name(int why)
{
	/* tls_mesh.h's enum tls_mesh_why, in its order (check_rec_tls holds
	 * the two together). */
	static const char *const names[REC_CERT_WHY_COUNT] = {
		"issued", "renewed", "expired", "foreign", "restored"};
	return why >= 0 && why < REC_CERT_WHY_COUNT ? names[why] : "?";
}

uint32_t rec_tls_workloads(const model *m)
{
	uint32_t n = m->nclients;
	for (uint32_t i = 0; i < m->nservices; i++)
		n += m->services[i].replicas;
	return n;
}

void rec_tls_workload_name(const model *m, uint32_t w, char *buf, size_t len)
{
	for (uint32_t i = 0; i < m->nservices; i++) {
		if (w < m->services[i].replicas) {
			snprintf(buf, len, "%s/%u", m->services[i].name, w);
			return;
		}
		w -= m->services[i].replicas;
	}
	if (w < m->nclients)
		snprintf(buf, len, "client/%s", m->clients[w].name);
	else
		snprintf(buf, len, "?");
}

void rec_tls_handshake(rec *r, uint32_t w, int side, int resumed)
{
	assert(side >= 0 && side < REC_TLS_SIDES);
	rec_tls *t = rec_tls_row(r, w, side);
	if (!t)
		return;
	if (resumed)
		t->resumed++;
	else
		t->full++;
}

void rec_tls_plaintext(rec *r, uint32_t w, int side)
{
	assert(side >= 0 && side < REC_TLS_SIDES);
	rec_tls *t = rec_tls_row(r, w, side);
	if (t)
		t->plaintext++;
}

void rec_tls_failure(rec *r, uint32_t w, int side, int reason)
{
	assert(side >= 0 && side < REC_TLS_SIDES);
	assert(reason >= 0 && reason < REC_TLS_FAIL_COUNT);
	rec_tls *t = rec_tls_row(r, w, side);
	if (t)
		t->failed[reason]++;
}

/* Room for n more certificate events; -1 when out of memory (r
 * unchanged). */
static int certs_reserve(rec *r, uint32_t n)
{
	if (n <= r->certs_cap - r->ncerts)
		return 0;
	if (n > UINT32_MAX - r->ncerts)
		return -1;
	uint32_t need = r->ncerts + n;
	uint64_t cap = r->certs_cap ? r->certs_cap : 64;
	while (cap < need)
		cap *= 2;
	if (cap > UINT32_MAX)
		cap = UINT32_MAX;
	rec_cert_event *c = realloc(r->certs, (size_t)cap * sizeof *c);
	if (!c)
		return -1;
	r->certs = c;
	r->certs_cap = (uint32_t)cap;
	return 0;
}

void rec_cert(rec *r, const rec_cert_event *e)
{
	if (!r->tls || e->workload >= r->tls_nworkloads)
		return;
	/* As series_row: a certificate silently missing from the timeline
	 * would be a lie in the report. */
	if (certs_reserve(r, 1) < 0)
		abort();
	r->certs[r->ncerts++] = *e;
}

static int cert_before(const rec_cert_event *a, const rec_cert_event *b)
{
	if (a->at != b->at)
		return a->at < b->at;
	if (a->workload != b->workload)
		return a->workload < b->workload;
	return a->why < b->why;
}

void rec_certs_sort(rec_cert_event *a, uint32_t n, rec_cert_event *tmp)
{
	/* A bottom-up merge sort: stable, so that events equal in (time,
	 * workload, why) keep the order they were recorded (or merged) in,
	 * and n log n on the long lists a short cert_ttl makes. */
	rec_cert_event *src = a, *dst = tmp;
	for (size_t w = 1; w < n; w *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * w) {
			size_t mid = lo + w < n ? lo + w : n;
			size_t hi = mid + w < n ? mid + w : n;
			size_t i = lo, j = mid, k = lo;
			while (i < mid && j < hi)
				dst[k++] = cert_before(&src[j], &src[i]) ? src[j++] : src[i++];
			while (i < mid)
				dst[k++] = src[i++];
			while (j < hi)
				dst[k++] = src[j++];
		}
		rec_cert_event *x = src;
		src = dst;
		dst = x;
	}
	if (src != a)
		memcpy(a, src, (size_t)n * sizeof *a);
}

static void certs_sort_owned(rec *r)
{
	if (r->ncerts < 2)
		return;
	rec_cert_event *tmp = malloc((size_t)r->ncerts * sizeof *tmp);
	if (!tmp)
		abort(); /* as recording does */
	rec_certs_sort(r->certs, r->ncerts, tmp);
	free(tmp);
}

double rec_amplification(const rec_stats *s)
{
	return s->issued ? (double)s->pol.attempts / (double)s->issued : 1.0;
}

void rec_finish(rec *r, mesh_time end)
{
	r->end = end;
	r->finished = 1;
	for (uint32_t v = 0; v < r->vs_nversions; v++)
		vflush(&r->vs[v]);
	uint32_t last = (uint32_t)(end ? (end - 1) / MESH_S : 0);
	series_flush(&r->overall_series);
	series_row(&r->overall_series, last);
	for (uint32_t i = 0; i < r->m->nclients; i++) {
		series_flush(&r->client_series[i]);
		series_row(&r->client_series[i], last);
	}
	for (uint32_t i = 0; i < r->m->nservices; i++) {
		rec_service *s = &r->services[i];
		series_flush(&s->series);
		series_row(&s->series, last);
		ejected_fill(s, last);
	}
	certs_sort_owned(r);
}

uint64_t rec_completed(const rec_stats *s)
{
	uint64_t n = 0;
	for (int i = 0; i < MESH_OUTCOME_COUNT; i++)
		n += s->outcomes[i];
	return n;
}

uint64_t rec_in_flight(const rec_stats *s)
{
	return s->issued - rec_completed(s);
}

double rec_success_rate(const rec_stats *s)
{
	return s->issued ? (double)s->outcomes[MESH_OK] / (double)s->issued
			 : 1.0;
}

/* ---- merging recorders ---- */

void rec_series_second(const rec_series *s, uint32_t t, hist *h)
{
	assert(s->keep);
	if (t < s->nrows)
		second_into(&s->secs[t], h);
	if (t == s->cur && s->h.count)
		hist_merge(h, &s->h);
}

rec_row *rec_series_row(rec_series *s, uint32_t sec)
{
	return series_row(s, sec);
}

void rec_series_add_second(rec_series *s, uint32_t t, hist *h)
{
	assert(s->keep);
	if (!h->count)
		return;
	second_absorb(s, t, h);
}

static int same_shape(const model *a, const model *b)
{
	if (a == b)
		return 1;
	if (a->nservices != b->nservices || a->nclients != b->nclients ||
	    a->nroutes != b->nroutes || a->nfaults != b->nfaults ||
	    a->nauthz != b->nauthz || !a->mtls.enabled != !b->mtls.enabled)
		return 0;
	for (uint32_t i = 0; i < a->nservices; i++)
		if (a->services[i].replicas != b->services[i].replicas)
			return 0;
	for (uint32_t i = 0; i < a->nroutes; i++)
		if (a->routes[i].service != b->routes[i].service)
			return 0;
	return 1;
}

static void stats_merge(rec_stats *d, const rec_stats *s)
{
	d->issued += s->issued;
	for (int k = 0; k < MESH_OUTCOME_COUNT; k++)
		d->outcomes[k] += s->outcomes[k];
	for (int k = 0; k < REC_MAX_STATUS; k++)
		d->by_status[k] += s->by_status[k];
	hist_merge(&d->lat, &s->lat);
	/* See rec.h: the counted ones add up; "not counted" is no zero. */
	if (s->live_at_end != UINT64_MAX)
		d->live_at_end = d->live_at_end == UINT64_MAX
				 ? s->live_at_end : d->live_at_end + s->live_at_end;
	rec_policy *dp = &d->pol;
	const rec_policy *sp = &s->pol;
	dp->attempts += sp->attempts;
	for (int k = 0; k < REC_RETRY_COUNT; k++)
		dp->retries[k] += sp->retries[k];
	for (int k = 0; k < REC_OVERFLOW_COUNT; k++)
		dp->overflow[k] += sp->overflow[k];
	dp->per_try_timeouts += sp->per_try_timeouts;
	dp->route_timeouts += sp->route_timeouts;
}

static void instance_merge(rec_instance *d, const rec_instance *s)
{
	d->arrived += s->arrived;
	d->served += s->served;
	d->queue_full += s->queue_full;
	d->waited += s->waited;
	/* An instance's queue lives in one process: the longest it was is
	 * the longest any recorder saw. */
	if (s->max_queue > d->max_queue)
		d->max_queue = s->max_queue;
	for (int k = 0; k < REC_MAX_STATUS; k++)
		d->by_status[k] += s->by_status[k];
	hist_merge(&d->wait, &s->wait);
	d->crashes += s->crashes;
	d->ejections += s->ejections;
}

/* Counts and seconds of series s into d; `ejected` is left to the caller. */
static void series_merge(rec_series *d, const rec_series *s, hist *scratch)
{
	for (uint32_t t = 0; t < s->nrows; t++) {
		const rec_row *w = &s->rows[t];
		rec_row *v = series_row(d, t);
		v->issued += w->issued;
		v->done += w->done;
		v->ok += w->ok;
		v->attempts += w->attempts;
		v->retries += w->retries;
		v->overflows += w->overflows;
		hist_reset(scratch);
		rec_series_second(s, t, scratch);
		if (scratch->count)
			second_absorb(d, t, scratch);
	}
}

typedef struct ej_sort {
	rec_ejection_event e;
	uint32_t pos;
} ej_sort;

static int cmp_ej(const void *a, const void *b)
{
	const ej_sort *x = a, *y = b;
	if (x->e.t != y->e.t)
		return x->e.t < y->e.t ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

/* Recompute every service's `ejected` column from the whole event log
 * ev[n], as rec_ejection and rec_finish computed it while recording. */
static void ejected_replay(rec *r, const ej_sort *ev, uint32_t n)
{
	for (uint32_t i = 0; i < r->m->nservices; i++) {
		rec_service *s = &r->services[i];
		for (uint32_t t = 0; t < s->series.nrows; t++)
			s->series.rows[t].ejected = 0;
		s->ejected_now = 0;
		s->ejected_sec = 0;
	}
	for (uint32_t k = 0; k < n; k++)
		ejected_step(&r->services[ev[k].e.service],
			     (uint32_t)(ev[k].e.t / MESH_S), ev[k].e.delta);
	if (!r->finished)
		return;
	uint32_t last = (uint32_t)(r->end ? (r->end - 1) / MESH_S : 0);
	for (uint32_t i = 0; i < r->m->nservices; i++) {
		rec_service *s = &r->services[i];
		series_row(&s->series, last);
		ejected_fill(s, last);
	}
}

/* The per-version series src[n] into dst's (n checked by the callers). */
static void vs_merge(rec *dst, const rec_vseries *src, uint32_t n, hist *scratch)
{
	for (uint32_t v = 0; v < n; v++) {
		rec_vseries *d = &dst->vs[v];
		const rec_vseries *s = &src[v];
		vseries_keep(d);
		for (uint32_t k = 0; k < s->nrows; k++) {
			const rec_vrow *w = &s->rows[k];
			rec_vrow *x = vrow(d, k);
			x->done += w->done;
			x->non5xx += w->non5xx;
			x->calls += w->calls;
			x->failed += w->failed;
			x->slow += w->slow;
			for (int i = 0; i <= RO_ISTIO_BUCKETS; i++)
				x->ib[i] += w->ib[i];
			hist_reset(scratch);
			rec_vseries_step(s, k, scratch);
			if (scratch->count)
				vstep_absorb(d, k, scratch);
		}
		d->calls += s->calls;
		d->failed += s->failed;
		d->slow += s->slow;
	}
}

static int vs_mergeable(const rec *dst, const rec_vseries *src, uint32_t n)
{
	if (n != dst->vs_nversions)
		return -1;
	for (uint32_t v = 0; v < n; v++)
		if (!src[v].keep)
			return -2;
	return 0;
}

int rec_merge_vseries(rec *dst, const rec_vseries *src, uint32_t n)
{
	int rc = vs_mergeable(dst, src, n);
	if (rc < 0)
		return rc;
	hist *scratch = malloc(sizeof *scratch);
	if (!scratch)
		return -3;
	hist_init(scratch);
	vs_merge(dst, src, n, scratch);
	free(scratch);
	return 0;
}

int rec_merge(rec *dst, const rec *src)
{
	assert(dst != src);
	if (!same_shape(dst->m, src->m) || dst->vs_step != src->vs_step)
		return -1;
	if (!src->overall_series.keep)
		return -2;
	int vrc = vs_mergeable(dst, src->vs, src->vs_nversions);
	if (vrc < 0)
		return vrc;
	const model *m = dst->m;
	/* Everything that can fail cleanly is allocated before dst changes. */
	uint32_t nev = dst->nejections + src->nejections;
	ej_sort *ev = malloc((nev ? nev : 1) * sizeof *ev);
	hist *scratch = malloc(sizeof *scratch);
	rec_cert_event *ctmp = NULL;
	uint32_t nc = dst->ncerts + src->ncerts;
	if (src->ncerts > UINT32_MAX - dst->ncerts ||
	    certs_reserve(dst, src->ncerts) < 0 ||
	    !(ctmp = malloc((size_t)(nc ? nc : 1) * sizeof *ctmp)) || !ev || !scratch) {
		free(ctmp);
		free(ev);
		free(scratch);
		return -3;
	}
	hist_init(scratch);
	rec_keep_seconds(dst);

	stats_merge(&dst->overall, &src->overall);
	series_merge(&dst->overall_series, &src->overall_series, scratch);
	for (uint32_t i = 0; i < m->nclients; i++) {
		stats_merge(&dst->clients[i], &src->clients[i]);
		series_merge(&dst->client_series[i], &src->client_series[i], scratch);
	}
	for (uint32_t i = 0; i < m->nroutes; i++)
		stats_merge(&dst->routes[i], &src->routes[i]);
	for (uint32_t i = 0; i < m->nservices; i++) {
		rec_service *d = &dst->services[i];
		const rec_service *s = &src->services[i];
		stats_merge(&d->st, &s->st);
		series_merge(&d->series, &s->series, scratch);
		for (uint32_t j = 0; j < m->services[i].replicas; j++)
			instance_merge(&d->inst[j], &s->inst[j]);
	}
	vs_merge(dst, src->vs, src->vs_nversions, scratch);
	for (uint32_t i = 0; i < m->nfaults; i++)
		dst->fault_hits[i] += src->fault_hits[i];
	for (uint32_t i = 0; i < m->nauthz; i++)
		dst->authz_policy[i] += src->authz_policy[i];
	for (size_t k = 0; k < (size_t)m->nservices * AUTHZ_VERDICT_COUNT; k++)
		dst->authz_service[k] += src->authz_service[k];
	/* Mutual TLS: counters summed; certificates put together and sorted
	 * as rec_finish sorts them, so that a merge of every process's
	 * recorder lists them as one recorder would. */
	for (size_t k = 0; dst->tls && k < (size_t)dst->tls_nworkloads * REC_TLS_SIDES; k++) {
		rec_tls *d = &dst->tls[k];
		const rec_tls *s = &src->tls[k];
		d->full += s->full;
		d->resumed += s->resumed;
		d->plaintext += s->plaintext;
		for (int q = 0; q < REC_TLS_FAIL_COUNT; q++)
			d->failed[q] += s->failed[q];
	}
	if (src->ncerts)
		memcpy(dst->certs + dst->ncerts, src->certs,
		       (size_t)src->ncerts * sizeof *src->certs);
	dst->ncerts = nc;
	rec_certs_sort(dst->certs, dst->ncerts, ctmp);
	free(ctmp);
	size_t ne = (size_t)(m->nservices + m->nclients) * m->nservices;
	for (size_t k = 0; k < ne; k++) {
		dst->edge_calls[k] += src->edge_calls[k];
		dst->edge_ok[k] += src->edge_ok[k];
	}
	dst->events += src->events;
	if (src->end > dst->end)
		dst->end = src->end;
	dst->finished |= src->finished;

	/* Ejection events in time order; at equal times dst's first, then
	 * each source's in its own order (a stable sort). */
	int complete = dst->ejections_total == dst->nejections &&
		       src->ejections_total == src->nejections;
	for (uint32_t k = 0; k < nev; k++) {
		ev[k].e = k < dst->nejections ? dst->ejections[k]
					      : src->ejections[k - dst->nejections];
		ev[k].pos = k;
	}
	qsort(ev, nev, sizeof *ev, cmp_ej);
	if (complete) {
		/* Every event of every process is here: replaying them gives
		 * the most pairs out at once per second, as one recorder
		 * would have counted. */
		ejected_replay(dst, ev, nev);
	} else {
		/* Some process dropped events: each process's most at once,
		 * added up, is an upper bound. */
		for (uint32_t i = 0; i < m->nservices; i++) {
			rec_service *d = &dst->services[i];
			const rec_service *s = &src->services[i];
			for (uint32_t t = 0; t < s->series.nrows; t++)
				series_row(&d->series, t)->ejected += s->series.rows[t].ejected;
			d->ejected_now += s->ejected_now;
			if (s->ejected_sec > d->ejected_sec)
				d->ejected_sec = s->ejected_sec;
		}
	}
	dst->nejections = nev < REC_MAX_EJECTION_EVENTS ? nev : REC_MAX_EJECTION_EVENTS;
	for (uint32_t k = 0; k < dst->nejections; k++)
		dst->ejections[k] = ev[k].e;
	dst->ejections_total += src->ejections_total;
	free(ev);
	free(scratch);
	return 0;
}
