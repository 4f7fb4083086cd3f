/*
 * Recorder snapshots, their merge, and Prometheus metrics.
 *
 * The main test records one random workload twice: whole into one
 * recorder, and split across three recorders the way live mode splits it
 * across processes (the load process, sidecars, apps). Merging the three
 * snapshots must give the very report the whole recorder gives, byte for
 * byte. With mutual TLS modelled, the workload also carries each
 * sidecar's handshakes and the certificates each workload got, recorded
 * by the sidecar's own process.
 */
#include <check.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rec_json.h"
#include "report.h"
#include "rng.h"
#include "suites.h"
#include "testutil.h"

static const char *const SCENARIO =
	"{ \"name\": \"recjson\", \"seed\": 3, \"duration\": \"30s\", \"drain\": \"1s\","
	"  \"services\": {"
	"    \"front\": { \"replicas\": 2, \"concurrency\": 4, \"queue\": 8,"
	"                 \"script\": [ { \"work\": \"1ms\" }, { \"call\": \"back\" } ] },"
	"    \"back\": { \"concurrency\": 4, \"latency\": \"2ms\","
	"                \"versions\": { \"v1\": { \"replicas\": 2 }, \"v2\": { \"replicas\": 1 } } },"
	"    \"db\": { \"latency\": \"1ms\" } },"
	"  \"load\": [ { \"name\": \"web\", \"to\": \"front\", \"rps\": 100 },"
	"            { \"name\": \"batch\", \"to\": \"back\", \"path\": \"/x\", \"users\": 2, \"think\": \"10ms\" },"
	"            { \"name\": \"probe\", \"to\": \"db\", \"rps\": 5 } ],"
	"  \"faults\": [ { \"kind\": \"delay\", \"at\": \"10s\", \"for\": \"5s\", \"target\": \"back\", \"delay\": \"5ms\" },"
	"              { \"kind\": \"abort\", \"at\": \"20s\", \"for\": \"2s\", \"target\": \"db\", \"status\": 503, \"percent\": 50 } ],"
	"  \"expect\": { \"success_rate\": \">= 80%\", \"p99\": \"<= 2s\", \"recovers_within\": \"<= 10s\","
	"              \"services\": { \"back\": { \"p50\": \"<= 20ms\" } },"
	"              \"clients\": { \"web\": { \"requests\": \">= 10\" } } } }";

/* The same with a canary rollout of "back" (v2 against v1): the callers'
 * sidecars record its calls per version, in 2-second steps (the judge's). */
static const char *const ROLLOUT_SCENARIO =
	"{ \"name\": \"recjson-rollout\", \"seed\": 3, \"duration\": \"30s\", \"drain\": \"1s\","
	"  \"services\": {"
	"    \"front\": { \"replicas\": 2, \"concurrency\": 4,"
	"                 \"script\": [ { \"work\": \"1ms\" }, { \"call\": \"back\" } ] },"
	"    \"back\": { \"concurrency\": 4, \"latency\": \"2ms\","
	"                \"versions\": { \"v1\": { \"replicas\": 2 }, \"v2\": { \"replicas\": 1 } } } },"
	"  \"load\": [ { \"name\": \"web\", \"to\": \"front\", \"rps\": 100 } ],"
	"  \"rollout\": { \"service\": \"back\", \"stable\": \"v1\", \"canary\": \"v2\","
	"               \"start\": \"10s\", \"slo_latency\": \"20ms\","
	"               \"analysis\": { \"interval\": \"10s\", \"threshold\": 2, \"stepWeight\": 20,"
	"                             \"metrics\": [ { \"name\": \"request-success-rate\","
	"                                            \"thresholdRange\": { \"min\": 90 }, \"interval\": \"10s\" } ],"
	"                             \"judge\": { \"step\": \"2s\", \"metrics\": [ { \"name\": \"request-duration\" } ] } } } }";

#define END (30 * MESH_S)
#define NPARTS 3

/* ---- a random workload as a list of recorder calls ---- */

enum ev_kind {
	E_CLIENT_ISSUED, E_CLIENT_DONE, E_ROUTE_ISSUED, E_ATTEMPT, E_RETRY,
	E_OVERFLOW, E_PER_TRY, E_ROUTE_TIMEOUT, E_ROUTE_DONE, E_EJECT, E_EDGE,
	E_FAULT, E_INST, E_VERSION, E_TLS, E_CERT,
};

/* E_TLS's operation (in `o`): a full or resumed handshake, a plaintext
 * connection, or a failure for reason o - TLS_FAIL0. */
enum { TLS_FULL, TLS_RESUMED, TLS_PLAIN, TLS_FAIL0 };

typedef struct ev {
	mesh_time t;
	uint32_t seq;
	uint8_t kind;
	uint8_t part;        /* which of the split recorders gets it */
	uint32_t a, b;       /* client/route/service, instance/reason/... */
	mesh_time start;     /* intended or start time of a done */
	int o;               /* outcome, or ejection delta, or edge ok */
	unsigned status;
	/* E_INST; E_VERSION: mirrored in crash */
	int queue_full, waited, crash;
	mesh_time wait;
	uint64_t qlen;
	/* E_CERT: validity (run seconds) and root */
	int64_t nb, na;
	uint32_t root;
} ev;

typedef struct workload {
	ev *e;
	size_t n, cap;
	uint64_t live[8];          /* per client: still in flight at END */
	mesh_time *lat[16];        /* per route: latencies recorded */
	size_t nlat[16], caplat[16];
} workload;

static ev *add(workload *w, enum ev_kind k, mesh_time t, int part)
{
	if (w->n == w->cap) {
		w->cap = w->cap ? 2 * w->cap : 4096;
		w->e = realloc(w->e, w->cap * sizeof *w->e);
		ck_assert_ptr_nonnull(w->e);
	}
	ev *e = &w->e[w->n];
	memset(e, 0, sizeof *e);
	e->t = t;
	e->seq = (uint32_t)w->n++;
	e->kind = (uint8_t)k;
	e->part = (uint8_t)part;
	return e;
}

static void note_lat(workload *w, uint32_t route, mesh_time lat)
{
	if (w->nlat[route] == w->caplat[route]) {
		w->caplat[route] = w->caplat[route] ? 2 * w->caplat[route] : 1024;
		w->lat[route] = realloc(w->lat[route], w->caplat[route] * sizeof(mesh_time));
		ck_assert_ptr_nonnull(w->lat[route]);
	}
	w->lat[route][w->nlat[route]++] = lat;
}

static int cmp_ev(const void *a, const void *b)
{
	const ev *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static mesh_time draw_latency(rng *g)
{
	double v = 5e6 * exp(1.2 * rng_normal(g));
	if (rng_uniform(g) < 0.01)
		v += 1.5e9 * (1 + rng_uniform(g));
	return (mesh_time)v + 1;
}

static enum mesh_outcome draw_outcome(rng *g, unsigned *status)
{
	double u = rng_uniform(g);
	*status = 200;
	if (u < 0.85)
		return MESH_OK;
	if (u < 0.90) {
		*status = rng_below(g, 2) ? 500 : 503;
		return MESH_HTTP_ERROR;
	}
	if (u < 0.94) {
		*status = 504;
		return MESH_TIMEOUT;
	}
	*status = 0;
	if (u < 0.96)
		return MESH_RESET;
	if (u < 0.98)
		return MESH_CONNECT_FAIL;
	*status = 503;
	return MESH_REJECTED;
}

/* The load clients live in recorders 0, 0 and 2 (1 hosts none); sidecars
 * are recorders 1 and 2; apps spread over all three. */
static const int client_part[3] = {0, 0, 2};

static uint32_t route_of(const model *m, const char *svc, const char *path)
{
	for (uint32_t i = 0; i < m->nroutes; i++)
		if (!strcmp(m->services[m->routes[i].service].name, svc) &&
		    !strcmp(m->routes[i].path, path))
			return i;
	ck_abort_msg("no route %s %s", svc, path);
	return 0;
}

/* One sidecar's part of a request on `route` from `from` (a service, or
 * nservices + client), sent at t0 and done at t1. */
static void route_request(workload *w, rng *g, const model *m, uint32_t route,
			  uint32_t from, mesh_time t0, mesh_time t1,
			  enum mesh_outcome o, unsigned status)
{
	int part = 1 + (int)rng_below(g, 2);
	uint32_t svc = m->routes[route].service;
	if (t1 < t0)
		t1 = t0;
	ev *e = add(w, E_ROUTE_ISSUED, t0, part);
	e->a = route;
	uint32_t tries = o == MESH_REJECTED ? 0 : 1 + (uint32_t)rng_below(g, 3);
	mesh_time span = t1 - t0;
	for (uint32_t k = 0; k < tries; k++) {
		mesh_time at = t0 + span * k / (tries + 1);
		e = add(w, E_ATTEMPT, at, part);
		e->a = route;
		uint32_t inst = (uint32_t)rng_below(g, m->services[svc].replicas);
		e = add(w, E_INST, at + 1000, (int)((svc + inst) % NPARTS));
		e->a = svc;
		e->b = inst;
		e->queue_full = rng_uniform(g) < 0.03;
		e->status = e->queue_full ? 503 : status ? status : 200;
		e->waited = !e->queue_full && rng_uniform(g) < 0.3;
		e->wait = e->waited ? draw_latency(g) / 4 : 0;
		e->qlen = rng_below(g, 9);
		e->crash = rng_uniform(g) < 0.0005;
		if (k + 1 < tries) {
			e = add(w, E_RETRY, at + span / (2 * (tries + 1)), part);
			e->a = route;
			e->b = (uint32_t)rng_below(g, REC_RETRY_COUNT);
			if (e->b == REC_RETRY_PER_TRY_TIMEOUT) {
				e = add(w, E_PER_TRY, e->t, part);
				e->a = route;
			}
		}
	}
	if (rng_uniform(g) < 0.05) {
		e = add(w, E_OVERFLOW, t0 + span / 3, part);
		e->a = route;
		e->b = (uint32_t)rng_below(g, REC_OVERFLOW_COUNT);
	}
	if (o == MESH_TIMEOUT && rng_below(g, 2)) {
		e = add(w, E_ROUTE_TIMEOUT, t1, part);
		e->a = route;
	}
	if (t1 >= END)
		return; /* still in flight at the end */
	e = add(w, E_ROUTE_DONE, t1, part);
	e->a = route;
	e->start = t0;
	e->o = o;
	e->status = status;
	if (o != MESH_REJECTED)
		note_lat(w, route, t1 - t0);
	e = add(w, E_EDGE, t1, part);
	e->a = from;
	e->b = svc;
	e->o = o == MESH_OK;
}

static void add_tls(workload *w, const model *m, uint64_t seed);

static void make_workload(workload *w, const model *m, uint64_t seed,
			  uint32_t ejections_per_sidecar)
{
	memset(w, 0, sizeof *w);
	rng g;
	rng_seed(&g, seed);
	uint32_t back_root = route_of(m, "back", "/");
	mesh_time t = 0;
	for (;;) {
		t += (mesh_time)(-log(rng_uniform_pos(&g)) * 3e6);
		if (t >= END)
			break;
		uint32_t c = (uint32_t)rng_below(&g, m->nclients);
		int cp = client_part[c];
		ev *e = add(w, E_CLIENT_ISSUED, t, cp);
		e->a = c;
		mesh_time lat = draw_latency(&g);
		unsigned status;
		enum mesh_outcome o = draw_outcome(&g, &status);
		if (o == MESH_REJECTED)
			lat = lat % 1000;
		mesh_time t1 = t + lat;
		uint32_t route = m->clients[c].route;
		route_request(w, &g, m, route, m->nservices + c, t + 100, t1 - 1, o, status);
		if (c == 0 && lat > 20000)
			route_request(w, &g, m, back_root, 0, t + 10000, t1 - 10000,
				      o == MESH_REJECTED ? MESH_OK : o, status ? status : 200);
		if (rng_uniform(&g) < 0.1) {
			e = add(w, E_FAULT, t + 50, (int)rng_below(&g, NPARTS));
			e->a = (uint32_t)rng_below(&g, m->nfaults);
		}
		if (t1 >= END) {
			w->live[c]++;
			continue;
		}
		e = add(w, E_CLIENT_DONE, t1, cp);
		e->a = c;
		e->start = t;
		e->o = o;
		e->status = status;
	}
	/* Outlier ejections by two sidecars (recorders 1 and 2), each
	 * consistent on its own: a host comes back only after it went. Times
	 * are distinct across sidecars (odd and even). */
	for (int k = 1; k <= 2; k++) {
		uint8_t out[8][8] = {{0}};
		mesh_time *ts = malloc(ejections_per_sidecar * sizeof *ts);
		for (uint32_t j = 0; j < ejections_per_sidecar; j++)
			ts[j] = rng_below(&g, END / 2 - 1);
		for (uint32_t j = 1; j < ejections_per_sidecar; j++)
			for (uint32_t i = j; i > 0 && ts[i - 1] > ts[i]; i--) {
				mesh_time x = ts[i];
				ts[i] = ts[i - 1];
				ts[i - 1] = x;
			}
		mesh_time prev = 0;
		for (uint32_t j = 0; j < ejections_per_sidecar; j++) {
			mesh_time at = ts[j] * 2 + (mesh_time)(k - 1);
			if (j && at <= prev)
				at = prev + 2;
			prev = at;
			uint32_t svc = (uint32_t)rng_below(&g, 2);
			uint32_t inst = (uint32_t)rng_below(&g, m->services[svc].replicas);
			ev *e = add(w, E_EJECT, at, k);
			e->a = svc;
			e->b = inst;
			e->o = out[svc][inst] ? -1 : +1;
			out[svc][inst] ^= 1;
		}
		free(ts);
	}
	add_tls(w, m, seed);
	qsort(w->e, w->n, sizeof *w->e, cmp_ev);
}

/* Mutual TLS, from a stream of its own (the draws above stay as they
 * were): each workload's sidecar (recorder 1 or 2 by workload, one
 * process per sidecar as live mode has it) records its handshakes and
 * plaintext connections on both sides, failures now and then, and its
 * certificates: the first at 0 (all workloads at the same time, so that
 * the merge must order them), renewals, faults' expired and foreign
 * ones and the restored ones after. A recorder without mTLS ignores it
 * all. */
static void add_tls(workload *w, const model *m, uint64_t seed)
{
	rng g;
	rng_seed(&g, seed ^ 0x6d746c73u);
	uint32_t nw = rec_tls_workloads(m);
	/* Last workload first: the first certificates, all at 0, are then
	 * recorded out of the order rec_finish puts them in, which an open
	 * recorder's snapshot must show as a finished one would. */
	for (uint32_t k = nw; k-- > 0;) {
		int part = 1 + (int)(k % 2);
		ev *e = add(w, E_CERT, 0, part);
		e->a = k;
		e->b = 0; /* issued */
		e->nb = -300;
		e->na = 3600 - 300;
		mesh_time t = 0;
		for (;;) {
			t += (mesh_time)(rng_below(&g, 8000) + 1) * MESH_MS;
			if (t >= END)
				break;
			e = add(w, E_CERT, t, part);
			e->a = k;
			e->b = (uint32_t)rng_below(&g, REC_CERT_WHY_COUNT - 1) + 1;
			int64_t at = (int64_t)(t / MESH_S);
			e->nb = e->b == 2 ? at - 7200 : at - 300;
			e->na = e->b == 2 ? at - 3600 : at + 3300;
			e->root = e->b == 3 && rng_below(&g, 2) ? UINT32_MAX
							: (uint32_t)rng_below(&g, 3);
		}
		for (uint32_t j = 0; j < 200; j++) {
			e = add(w, E_TLS, (mesh_time)rng_below(&g, END), part);
			e->a = k;
			e->b = (uint32_t)rng_below(&g, REC_TLS_SIDES);
			uint32_t u = (uint32_t)rng_below(&g, 100);
			e->o = u < 30 ? TLS_FULL : u < 80 ? TLS_RESUMED : u < 90 ? TLS_PLAIN
			     : TLS_FAIL0 + (int)rng_below(&g, REC_TLS_FAIL_COUNT);
		}
	}
}

/* Two certificate events alike, field by field (the struct has padding). */
static int cert_eq(const rec_cert_event *a, const rec_cert_event *b)
{
	return a->at == b->at && a->workload == b->workload && a->why == b->why &&
	       a->not_before_s == b->not_before_s && a->not_after_s == b->not_after_s &&
	       a->root == b->root;
}

static int certs_eq(const rec *a, const rec *b)
{
	if (a->ncerts != b->ncerts)
		return 0;
	for (uint32_t k = 0; k < a->ncerts; k++)
		if (!cert_eq(&a->certs[k], &b->certs[k]))
			return 0;
	return 1;
}

static void workload_free(workload *w)
{
	free(w->e);
	for (int i = 0; i < 16; i++)
		free(w->lat[i]);
}

static void apply(rec *r, const ev *e)
{
	switch (e->kind) {
	case E_CLIENT_ISSUED: rec_client_issued(r, e->a, e->t); break;
	case E_CLIENT_DONE:
		rec_client_done(r, e->a, e->start, e->t, (enum mesh_outcome)e->o, e->status);
		break;
	case E_ROUTE_ISSUED: rec_route_issued(r, e->a, e->t); break;
	case E_ATTEMPT: rec_attempt(r, e->a, e->t); break;
	case E_RETRY: rec_retry(r, e->a, (int)e->b, e->t); break;
	case E_OVERFLOW: rec_overflow(r, e->a, (int)e->b, e->t); break;
	case E_PER_TRY: rec_per_try_timeout(r, e->a); break;
	case E_ROUTE_TIMEOUT: rec_route_timeout(r, e->a); break;
	case E_ROUTE_DONE:
		rec_route_done(r, e->a, e->start, e->t, (enum mesh_outcome)e->o, e->status);
		break;
	case E_EJECT: rec_ejection(r, e->a, e->b, e->o, e->t); break;
	case E_EDGE: rec_edge(r, e->a, e->b, e->o); break;
	case E_FAULT: rec_fault_hit(r, e->a); break;
	case E_INST: {
		rec_instance *x = rec_inst(r, e->a, e->b);
		x->arrived++;
		if (e->queue_full) {
			x->queue_full++;
		} else {
			x->served++;
			if (e->waited) {
				x->waited++;
				hist_add(&x->wait, e->wait);
			}
		}
		x->by_status[e->status]++;
		if (e->qlen > x->max_queue)
			x->max_queue = e->qlen;
		x->crashes += (uint64_t)e->crash;
		break;
	}
	case E_VERSION:
		rec_version_done(r, e->a, e->b, e->start, e->t, (enum mesh_outcome)e->o,
				 e->status, e->crash);
		break;
	case E_TLS:
		if (e->o == TLS_FULL || e->o == TLS_RESUMED)
			rec_tls_handshake(r, e->a, (int)e->b, e->o == TLS_RESUMED);
		else if (e->o == TLS_PLAIN)
			rec_tls_plaintext(r, e->a, (int)e->b);
		else
			rec_tls_failure(r, e->a, (int)e->b, e->o - TLS_FAIL0);
		break;
	case E_CERT: {
		rec_cert_event c = {.at = e->t, .workload = e->a, .why = (uint8_t)e->b,
				    .not_before_s = e->nb, .not_after_s = e->na,
				    .root = e->root};
		rec_cert(r, &c);
		break;
	}
	}
}

/* The workload whole into `whole` (when not NULL) and split into
 * parts[NPARTS] (when not NULL), with the host's counts at the end as
 * sim_run sets them. The parts are left open (not finished). */
static void record(const model *m, const workload *w, rec *whole, rec **parts)
{
	uint64_t nev[NPARTS] = {0};
	for (size_t k = 0; k < w->n; k++) {
		if (whole)
			apply(whole, &w->e[k]);
		if (parts) {
			apply(parts[w->e[k].part], &w->e[k]);
			nev[w->e[k].part]++;
		}
	}
	if (whole) {
		whole->events = w->n;
		whole->overall.live_at_end = 0;
		for (uint32_t c = 0; c < m->nclients; c++) {
			whole->clients[c].live_at_end = w->live[c];
			whole->overall.live_at_end += w->live[c];
		}
		rec_finish(whole, END);
	}
	if (parts) {
		for (int p = 0; p < NPARTS; p++)
			parts[p]->events = nev[p];
		for (uint32_t c = 0; c < m->nclients; c++) {
			rec *r = parts[client_part[c]];
			r->clients[c].live_at_end = w->live[c];
			if (r->overall.live_at_end == UINT64_MAX)
				r->overall.live_at_end = 0;
			r->overall.live_at_end += w->live[c];
		}
	}
}

static char *report_of(const model *m, const rec *r)
{
	report_verdict *v = calloc(m->nobjectives + 1, sizeof *v);
	report_evaluate(m, r, v);
	char *s = report_json_string(m, r, m->seed, "sim", v);
	free(v);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void assert_same_text(const char *what, const char *got, const char *want)
{
	if (strcmp(got, want) == 0)
		return;
	size_t i = 0;
	while (got[i] && got[i] == want[i])
		i++;
	size_t from = i > 120 ? i - 120 : 0;
	ck_abort_msg("%s differs at byte %zu:\n got: ...%.240s\nwant: ...%.240s",
		     what, i, got + from, want + from);
}

static char *dump(const json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT);
	ck_assert_ptr_nonnull(s);
	return s;
}

static void merge_ok(rec *dst, const json_t *snap)
{
	char err[512] = "";
	int rc = rec_merge_snapshot(dst, snap, err, sizeof err);
	ck_assert_msg(rc == 0, "merge failed: %s", err);
}

static rec *new_kept(const model *m)
{
	rec *r = rec_new(m);
	ck_assert_ptr_nonnull(r);
	rec_keep_seconds(r);
	return r;
}

/* ---- (1) split recording merges into the same report ---- */

/* The scenario with mutual TLS modelled: what the loader makes of an
 * "mtls" block, as far as the recorder and the report look. */
static model *load_mtls(const char *json)
{
	model *m = tu_load(json);
	m->mtls.enabled = 1;
	m->mtls.mode = MTLS_PERMISSIVE;
	m->mtls.cert_ttl = 3600 * MESH_S;
	m->mtls.grace_ratio = 0.5;
	for (uint32_t i = 0; i < m->nservices; i++)
		m->services[i].mtls_mode = i == 1 ? MTLS_STRICT : MTLS_PERMISSIVE;
	return m;
}

START_TEST(test_split_merge_same_report)
{
	model *m = load_mtls(SCENARIO);
	workload w;
	/* 1200 ejection events per sidecar: each process keeps all of its
	 * own, and the whole recorder, at 2400, drops some. */
	make_workload(&w, m, 20240601, 1200);
	ck_assert_uint_gt(w.n, 50000);

	rec *a = rec_new(m); /* as the simulator records: no kept seconds */
	ck_assert_ptr_nonnull(a);
	rec *parts[NPARTS];
	for (int p = 0; p < NPARTS; p++)
		parts[p] = new_kept(m);
	record(m, &w, a, parts);
	ck_assert_uint_gt(a->ejections_total, REC_MAX_EJECTION_EVENTS);
	ck_assert_uint_eq(a->nejections, REC_MAX_EJECTION_EVENTS);
	ck_assert_uint_eq(parts[1]->overall.live_at_end, UINT64_MAX);

	/* Part 0 finished before its snapshot; part 1 still open (the
	 * snapshot closes it in its view only); part 2 travels as text. */
	rec_finish(parts[0], END);
	json_t *s0 = rec_snapshot(parts[0], 12345 /* ignored: finished */);
	json_t *s1 = rec_snapshot(parts[1], END);
	ck_assert_ptr_nonnull(s0);
	ck_assert_ptr_nonnull(s1);
	char *s1_open = dump(s1);
	json_t *s1b = rec_snapshot(parts[1], END);
	char *s1_again = dump(s1b);
	rec_finish(parts[1], END);
	json_t *s1f = rec_snapshot(parts[1], 0);
	char *s1_closed = dump(s1f);
	assert_same_text("open snapshot against the same recorder finished", s1_open,
			 s1_closed);
	assert_same_text("two snapshots of the same open recorder", s1_again, s1_open);
	rec_finish(parts[2], END);
	json_t *s2 = rec_snapshot(parts[2], END);
	char *s2_text = dump(s2);
	json_error_t jerr;
	json_t *s2_back = json_loads(s2_text, 0, &jerr);
	ck_assert_msg(s2_back != NULL, "snapshot does not parse back: %s", jerr.text);

	rec *c = rec_new(m);
	ck_assert_ptr_nonnull(c);
	merge_ok(c, s0);
	merge_ok(c, s1);
	merge_ok(c, s2_back);

	char *want = report_of(m, a);
	char *got = report_of(m, c);
	assert_same_text("report of the merged recorder", got, want);

	/* What the merge had to get right, checked apart so that a failure
	 * says which. */
	ck_assert_uint_eq(c->overall.live_at_end, a->overall.live_at_end);
	ck_assert_uint_eq(c->nejections, a->nejections);
	ck_assert_uint_eq(c->ejections_total, a->ejections_total);
	for (uint32_t i = 0; i < m->nservices; i++)
		for (uint32_t t = 0; t < a->services[i].series.nrows; t++)
			ck_assert_uint_eq(c->services[i].series.rows[t].ejected,
					  a->services[i].series.rows[t].ejected);
	ck_assert(memcmp(c->overall_series.rows, a->overall_series.rows,
			 a->overall_series.nrows * sizeof(rec_row)) == 0);
	/* Mutual TLS: every counter, and the very list of certificates. */
	ck_assert_ptr_nonnull(strstr(want, "\"mtls\""));
	ck_assert_uint_eq(c->tls_nworkloads, a->tls_nworkloads);
	ck_assert(memcmp(c->tls, a->tls, (size_t)a->tls_nworkloads * REC_TLS_SIDES *
					     sizeof(rec_tls)) == 0);
	ck_assert_uint_gt(a->ncerts, 3 * a->tls_nworkloads);
	ck_assert_uint_eq(c->ncerts, a->ncerts);
	ck_assert(certs_eq(c, a));
	uint64_t failed = 0;
	for (uint32_t k = 0; k < a->tls_nworkloads * REC_TLS_SIDES; k++)
		failed += a->tls[k].failed[REC_TLS_UNKNOWN_CA];
	ck_assert_uint_gt(failed, 0);

	free(want);
	free(got);
	free(s1_open);
	free(s1_again);
	free(s1_closed);
	free(s2_text);
	json_decref(s0);
	json_decref(s1);
	json_decref(s1b);
	json_decref(s1f);
	json_decref(s2);
	json_decref(s2_back);
	rec_free(c);
	for (int p = 0; p < NPARTS; p++)
		rec_free(parts[p]);
	rec_free(a);
	workload_free(&w);
	model_free(m);
}
END_TEST

/* Keeping seconds changes nothing in the report, and the golden test
 * keeps it off. */
START_TEST(test_keep_seconds_same_report)
{
	model *m = tu_load(SCENARIO);
	workload w;
	make_workload(&w, m, 77, 50);
	rec *a = rec_new(m), *b = new_kept(m);
	record(m, &w, a, NULL);
	record(m, &w, b, NULL);
	char *x = report_of(m, a), *y = report_of(m, b);
	assert_same_text("report with kept seconds", y, x);
	ck_assert_ptr_null(a->overall_series.secs);
	free(x);
	free(y);
	rec_free(a);
	rec_free(b);
	workload_free(&w);
	model_free(m);
}
END_TEST

/* ---- (2) snapshot -> text -> parse -> merge ---- */

START_TEST(test_round_trip)
{
	model *m = load_mtls(SCENARIO);
	workload w;
	make_workload(&w, m, 99, 300);
	rec *a = new_kept(m);
	record(m, &w, a, NULL);
	json_t *s = rec_snapshot(a, END);
	char *text = json_dumps(s, JSON_INDENT(1));
	ck_assert_ptr_nonnull(text);
	json_error_t jerr;
	json_t *back = json_loads(text, 0, &jerr);
	ck_assert_msg(back != NULL, "%s", jerr.text);
	rec *d = rec_new(m);
	merge_ok(d, back);
	char *x = report_of(m, a), *y = report_of(m, d);
	assert_same_text("report after a round trip", y, x);
	/* The merged recorder's own snapshot is the same document: nothing
	 * is lost or changed on the way. */
	json_t *s2 = rec_snapshot(d, 0);
	char *t1 = dump(s), *t2 = dump(s2);
	assert_same_text("snapshot of the merged recorder", t2, t1);
	/* Merging into an empty recorder then merging that adds up like
	 * merging directly (merge is associative). */
	rec *e = rec_new(m), *f = rec_new(m);
	merge_ok(e, back);
	merge_ok(e, back);
	json_t *se = rec_snapshot(e, 0);
	merge_ok(f, back);
	merge_ok(f, se);
	merge_ok(d, back);
	merge_ok(d, back);
	char *rf = report_of(m, f), *rd = report_of(m, d);
	assert_same_text("three merges, two ways", rf, rd);
	ck_assert_uint_eq(d->overall.issued, 3 * a->overall.issued);
	ck_assert_uint_eq(d->overall.live_at_end, 3 * a->overall.live_at_end);
	/* An instance's longest queue is one process's maximum, not a sum. */
	ck_assert_uint_gt(a->services[1].inst[0].max_queue, 0);
	ck_assert_uint_eq(d->services[1].inst[0].max_queue, a->services[1].inst[0].max_queue);
	ck_assert_uint_eq(d->services[1].inst[0].arrived, 3 * a->services[1].inst[0].arrived);
	/* Counters add up; every certificate is there three times, each
	 * event's copies side by side (the sort is stable). */
	ck_assert_uint_gt(a->tls[3].resumed, 0);
	ck_assert_uint_eq(d->tls[3].resumed, 3 * a->tls[3].resumed);
	ck_assert_uint_eq(d->ncerts, 3 * a->ncerts);
	for (uint32_t k = 0; k < a->ncerts; k++)
		for (uint32_t j = 0; j < 3; j++)
			ck_assert(cert_eq(&d->certs[3 * k + j], &a->certs[k]));

	free(rf);
	free(rd);
	json_decref(se);
	rec_free(e);
	rec_free(f);
	free(t1);
	free(t2);
	json_decref(s2);
	free(x);
	free(y);
	free(text);
	json_decref(s);
	json_decref(back);
	rec_free(a);
	rec_free(d);
	workload_free(&w);
	model_free(m);
}
END_TEST

/* live_at_end: "not counted" is no zero. */
START_TEST(test_live_at_end_rule)
{
	model *m = tu_load(SCENARIO);
	rec *x = new_kept(m), *y = new_kept(m), *z = new_kept(m), *d = rec_new(m);
	ck_assert_int_eq(rec_merge(d, x), 0);
	ck_assert_int_eq(rec_merge(d, y), 0);
	ck_assert_uint_eq(d->overall.live_at_end, UINT64_MAX);
	y->overall.live_at_end = 5;
	ck_assert_int_eq(rec_merge(d, y), 0);
	ck_assert_uint_eq(d->overall.live_at_end, 5);
	z->overall.live_at_end = 0;
	ck_assert_int_eq(rec_merge(d, z), 0);
	ck_assert_int_eq(rec_merge(d, x), 0);
	ck_assert_uint_eq(d->overall.live_at_end, 5);
	ck_assert_int_eq(rec_merge(d, y), 0);
	ck_assert_uint_eq(d->overall.live_at_end, 10);
	/* A source without kept seconds cannot be merged. */
	rec *plain = rec_new(m);
	ck_assert_int_eq(rec_merge(d, plain), -2);
	rec_free(plain);
	rec_free(x);
	rec_free(y);
	rec_free(z);
	rec_free(d);
	model_free(m);
}
END_TEST

/* When a process dropped ejection events, a second's `ejected` adds the
 * processes' values: an upper bound, never below the truth. */
START_TEST(test_ejected_upper_bound_when_truncated)
{
	model *m = tu_load(SCENARIO);
	rec *x = new_kept(m), *y = new_kept(m), *d = rec_new(m);
	/* x ejects and brings back host 0 of back over and over in second 3,
	 * past what it keeps; y has host 1 out during second 3 only early. */
	for (uint32_t k = 0; k < REC_MAX_EJECTION_EVENTS + 2; k++)
		rec_ejection(x, 1, 0, k % 2 ? -1 : +1, 3 * MESH_S + 1000 * k);
	rec_ejection(y, 1, 1, +1, 3 * MESH_S);
	rec_ejection(y, 1, 1, -1, 3 * MESH_S + 10);
	rec_finish(x, 5 * MESH_S);
	rec_finish(y, 5 * MESH_S);
	ck_assert_uint_gt(x->ejections_total, x->nejections);
	ck_assert_int_eq(rec_merge(d, x), 0);
	ck_assert_int_eq(rec_merge(d, y), 0);
	ck_assert_uint_eq(d->services[1].series.rows[3].ejected, 2);
	ck_assert_uint_eq(d->ejections_total, REC_MAX_EJECTION_EVENTS + 4);
	ck_assert_uint_eq(d->nejections, REC_MAX_EJECTION_EVENTS);
	/* Complete logs replay exactly: the two never overlapped. */
	rec *x2 = new_kept(m), *d2 = rec_new(m);
	rec_ejection(x2, 1, 0, +1, 3 * MESH_S + 100);
	rec_ejection(x2, 1, 0, -1, 3 * MESH_S + 200);
	rec_finish(x2, 5 * MESH_S);
	ck_assert_int_eq(rec_merge(d2, x2), 0);
	ck_assert_int_eq(rec_merge(d2, y), 0);
	ck_assert_uint_eq(d2->services[1].series.rows[3].ejected, 1);
	ck_assert_uint_eq(d2->nejections, 4);
	ck_assert_uint_eq(d2->ejections[0].t, 3 * MESH_S);
	ck_assert_uint_eq(d2->ejections[1].t, 3 * MESH_S + 10);
	ck_assert_uint_eq(d2->ejections[2].t, 3 * MESH_S + 100);
	rec_free(x2);
	rec_free(d2);
	rec_free(x);
	rec_free(y);
	rec_free(d);
	model_free(m);
}
END_TEST

/* ---- (2b) the rollout's per-version series ---- */

/* Calls to the rollout's service ending per version, spread over the
 * parts (the callers' sidecars, 1 and 2) as live mode spreads them;
 * mirrored copies too. */
static void make_version_workload(workload *w, const model *m, uint64_t seed)
{
	memset(w, 0, sizeof *w);
	rng g;
	rng_seed(&g, seed);
	uint32_t svc = m->rollout->service;
	uint32_t nv = m->services[svc].nversions;
	mesh_time t = 0;
	for (;;) {
		t += (mesh_time)(-log(rng_uniform_pos(&g)) * 2e6);
		if (t >= END)
			break;
		mesh_time lat = draw_latency(&g);
		unsigned status;
		enum mesh_outcome o = draw_outcome(&g, &status);
		if (o == MESH_REJECTED)
			lat = lat % 1000;
		if (t + lat >= END)
			continue; /* still in flight at the end */
		ev *e = add(w, E_VERSION, t + lat, 1 + (int)rng_below(&g, 2));
		e->a = svc;
		e->b = (uint32_t)rng_below(&g, nv);
		e->start = t;
		e->o = o;
		e->status = status;
		e->crash = rng_uniform(&g) < 0.05; /* a mirrored copy */
		/* A call of another service: no per-version record. */
		if (rng_uniform(&g) < 0.1) {
			e = add(w, E_VERSION, t + lat, (int)rng_below(&g, NPARTS));
			e->a = svc ? 0 : 1;
			e->start = t;
			e->o = MESH_OK;
			e->status = 200;
		}
	}
	qsort(w->e, w->n, sizeof *w->e, cmp_ev);
}

static void assert_same_vs(const rec *got, const rec *want, uint32_t first)
{
	ck_assert_uint_eq(got->vs_nversions, want->vs_nversions);
	for (uint32_t v = 0; v < want->vs_nversions; v++) {
		const rec_vseries *g = &got->vs[v], *x = &want->vs[v];
		ck_assert_uint_eq(g->calls, x->calls);
		ck_assert_uint_eq(g->failed, x->failed);
		ck_assert_uint_eq(g->slow, x->slow);
		ck_assert_uint_eq(g->nrows, x->nrows);
		for (uint32_t k = 0; k < x->nrows; k++) {
			rec_vrow zero = {0};
			const rec_vrow *wr = k < first ? &zero : &x->rows[k];
			ck_assert_msg(memcmp(&g->rows[k], wr, sizeof *wr) == 0,
				      "version %u, step %u differs: done %u/%u p99 %llu/%llu",
				      v, k, g->rows[k].done, wr->done,
				      (unsigned long long)g->rows[k].p99,
				      (unsigned long long)wr->p99);
		}
	}
}

/* Split over three processes, merged from their snapshots: the very rows
 * (counts, Istio buckets, each step's p50 and p99) and totals of one
 * recorder that saw everything, and so the same report, rollout section
 * and all. */
START_TEST(test_versions_split_merge)
{
	model *m = tu_load(ROLLOUT_SCENARIO);
	ck_assert_uint_eq(rec_rollout_step(m->rollout), 2 * MESH_S);
	workload w;
	make_version_workload(&w, m, 4242);
	ck_assert_uint_gt(w.n, 10000);
	rec *a = rec_new(m), *parts[NPARTS];
	ck_assert_ptr_nonnull(a);
	for (int p = 0; p < NPARTS; p++)
		parts[p] = new_kept(m);
	record(m, &w, a, parts);
	ck_assert_uint_gt(a->vs[1].calls, 1000);
	ck_assert_uint_gt(a->vs[1].failed, 0);
	ck_assert_uint_gt(a->vs[1].slow, 0);
	/* Part 1 stays open: its last step is still collecting. */
	rec_finish(parts[0], END);
	rec_finish(parts[2], END);
	ck_assert_uint_gt(parts[1]->vs[0].h.count, 0);
	json_t *snap[NPARTS];
	rec *c = rec_new(m);
	for (int p = 0; p < NPARTS; p++) {
		snap[p] = rec_snapshot(parts[p], END);
		ck_assert_ptr_nonnull(snap[p]);
		/* Through text, as between processes. */
		char *text = dump(snap[p]);
		json_t *back = json_loads(text, 0, NULL);
		ck_assert_ptr_nonnull(back);
		merge_ok(c, back);
		json_decref(back);
		free(text);
	}
	assert_same_vs(c, a, 0);
	char *want = report_of(m, a), *got = report_of(m, c);
	ck_assert_ptr_nonnull(strstr(want, "\"rollout\""));
	assert_same_text("report of the merged recorder (per version)", got, want);
	/* The merged recorder's own snapshot is each part's, added up: a
	 * second merge of it gives the same rows again. */
	json_t *sc = rec_snapshot(c, 0);
	rec *d = rec_new(m);
	merge_ok(d, sc);
	assert_same_vs(d, a, 0);
	free(want);
	free(got);
	json_decref(sc);
	for (int p = 0; p < NPARTS; p++)
		json_decref(snap[p]);
	rec_free(d);
	rec_free(c);
	for (int p = 0; p < NPARTS; p++)
		rec_free(parts[p]);
	rec_free(a);
	workload_free(&w);
	model_free(m);
}
END_TEST

/* What a live analysis reads (GET /versions?from=): from a step on, the
 * same rows as the whole recorder, nothing before; the totals whole; and
 * nothing else of the recorder touched. */
START_TEST(test_versions_from_a_step)
{
	model *m = tu_load(ROLLOUT_SCENARIO);
	workload w;
	make_version_workload(&w, m, 77);
	rec *a = rec_new(m), *parts[NPARTS];
	for (int p = 0; p < NPARTS; p++)
		parts[p] = new_kept(m);
	record(m, &w, a, parts);
	/* From 13s: the step holding it (12s to 14s, step 6) on. */
	rec *c = rec_new(m);
	rec_keep_seconds(c);
	for (int p = 0; p < NPARTS; p++) {
		json_t *v = rec_versions_json(parts[p], 13 * MESH_S);
		ck_assert_ptr_nonnull(v);
		ck_assert_int_eq(json_integer_value(json_object_get(v, "first")), 6);
		char err[512] = "";
		ck_assert_msg(rec_merge_versions_json(c, v, err, sizeof err) == 0, "%s", err);
		json_decref(v);
	}
	rec_finish(a, END);
	assert_same_vs(c, a, 6);
	ck_assert_uint_eq(c->overall.issued, 0);
	ck_assert_uint_eq(c->overall_series.nrows, 0);
	/* A scenario without a rollout has none: null, and null merges into
	 * nothing. */
	model *plain = tu_load(SCENARIO);
	rec *q = new_kept(plain);
	json_t *nv = rec_versions_json(q, 0);
	ck_assert(json_is_null(nv));
	char err[512] = "";
	ck_assert_int_eq(rec_merge_versions_json(q, nv, err, sizeof err), 0);
	json_decref(nv);
	rec_free(q);
	model_free(plain);
	rec_free(c);
	for (int p = 0; p < NPARTS; p++)
		rec_free(parts[p]);
	rec_free(a);
	workload_free(&w);
	model_free(m);
}
END_TEST

/* ---- (3) malformed snapshots: the error names the path ---- */

/* A fresh copy of snapshot s with `edit` applied, merged into dst: must
 * fail with a message containing `want`, and leave dst as it was. */
static void expect_error(rec *dst, const json_t *s, void (*edit)(json_t *),
			 const char *want, const char *report_before)
{
	json_t *c = json_deep_copy(s);
	edit(c);
	char err[512] = "";
	int rc = rec_merge_snapshot(dst, c, err, sizeof err);
	ck_assert_msg(rc == -1, "merge of a bad snapshot succeeded (wanted: %s)", want);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" does not say \"%s\"", err,
		      want);
	char *after = report_of(dst->m, dst);
	assert_same_text("recorder after a failed merge", after, report_before);
	free(after);
	json_decref(c);
}

static json_t *path_get(json_t *j, const char *path)
{
	/* "a.b.2.c": keys, and numbers as array indexes. */
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *tok = strtok(buf, "."); tok && j; tok = strtok(NULL, "."))
		j = json_is_array(j) ? json_array_get(j, (size_t)atoi(tok))
				     : json_object_get(j, tok);
	ck_assert_msg(j != NULL, "test: no %s in the snapshot", path);
	return j;
}

static void e_not_object(json_t *j) { json_object_clear(j); json_object_set_new(j, "format", json_integer(1)); }
static void e_version(json_t *j) { json_object_set_new(j, "version", json_integer(9)); }
static void e_outcome_string(json_t *j)
{
	json_object_set_new(path_get(j, "clients.1.stats.outcomes"), "success",
			    json_string("many"));
}
static void e_bucket_range(json_t *j)
{
	json_t *b = path_get(j, "services.1.instances.2.wait.buckets.0");
	json_array_set_new(b, 0, json_integer(999999));
}
static void e_hist_count(json_t *j)
{
	json_t *h = path_get(j, "overall.series.latency.5");
	json_object_set_new(h, "count",
			    json_integer(json_integer_value(json_object_get(h, "count")) + 1));
}
static void e_min_outside(json_t *j)
{
	json_t *h = path_get(j, "routes.0.latency");
	json_object_set_new(h, "min", json_integer(0));
}
static void e_scenario_name(json_t *j)
{
	json_array_set_new(path_get(j, "scenario.services"), 0, json_string("gateway"));
}
static void e_routes_short(json_t *j) { json_array_remove(path_get(j, "routes"), 0); }
static void e_series_short(json_t *j) { json_array_remove(path_get(j, "services.0.series.done"), 0); }
static void e_ejection_delta(json_t *j)
{
	json_array_set_new(path_get(j, "ejections.events.0"), 3, json_integer(2));
}
static void e_missing_end(json_t *j) { json_object_del(j, "end"); }
static void e_edge_from(json_t *j)
{
	json_array_set_new(path_get(j, "edges.0"), 0, json_integer(42));
}
static void e_status_key(json_t *j)
{
	json_object_set_new(path_get(j, "services.2.stats.status"), "6000", json_integer(1));
}
static void e_unknown_reason(json_t *j)
{
	json_object_set_new(path_get(j, "routes.1.policy.retries"), "gremlins", json_integer(1));
}
static void e_negative(json_t *j)
{
	json_array_set_new(path_get(j, "clients.0.series.issued"), 3, json_integer(-4));
}
static void e_too_many_latencies(json_t *j)
{
	/* Second 5's histogram counts more than the second's requests. */
	json_t *done = path_get(j, "overall.series.done");
	json_array_set_new(done, 5, json_integer(1));
	json_array_set_new(path_get(j, "overall.series.ok"), 5, json_integer(0));
}

START_TEST(test_malformed_snapshots)
{
	model *m = tu_load(SCENARIO);
	workload w;
	make_workload(&w, m, 5, 40);
	rec *a = new_kept(m);
	record(m, &w, a, NULL);
	json_t *s = rec_snapshot(a, END);
	rec *dst = rec_new(m);
	merge_ok(dst, s); /* dst holds something, to see it unchanged */
	char *before = report_of(m, dst);

	char err[512];
	json_t *arr = json_array();
	ck_assert_int_eq(rec_merge_snapshot(dst, arr, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "(root)") && strstr(err, "expected an object"), "%s", err);
	json_decref(arr);

	expect_error(dst, s, e_not_object, "format: expected \"meshsim-rec\"", before);
	expect_error(dst, s, e_version, "version: version 9", before);
	expect_error(dst, s, e_outcome_string, "clients[1].stats.outcomes.success: expected a count",
		     before);
	expect_error(dst, s, e_bucket_range,
		     "services[1].instances[2].wait.buckets[0]: bucket index 999999 out of range",
		     before);
	expect_error(dst, s, e_hist_count, "overall.series.latency[5].buckets: bucket counts add up",
		     before);
	expect_error(dst, s, e_min_outside, "routes[0].latency: min 0", before);
	expect_error(dst, s, e_scenario_name,
		     "scenario.services[0]: \"gateway\" here but \"front\"", before);
	expect_error(dst, s, e_routes_short, "routes: expected 4 routes", before);
	expect_error(dst, s, e_series_short, "services[0].series.done: expected 30 seconds",
		     before);
	expect_error(dst, s, e_ejection_delta, "ejections.events[0]: expected 1", before);
	expect_error(dst, s, e_missing_end, "end: missing", before);
	expect_error(dst, s, e_edge_from, "edges[0]: no edge from 42", before);
	expect_error(dst, s, e_status_key, "services[2].stats.status.6000: expected an HTTP status",
		     before);
	expect_error(dst, s, e_unknown_reason, "routes[1].policy.retries.gremlins: unknown name",
		     before);
	expect_error(dst, s, e_negative, "clients[0].series.issued[3]: expected a count", before);
	expect_error(dst, s, e_too_many_latencies, "overall.series.latency[5]: ", before);

	/* A snapshot of another scenario shape. */
	model *m2 = tu_load("{ \"name\": \"recjson\", \"duration\": \"1s\","
			    "  \"services\": { \"front\": {} },"
			    "  \"load\": [ { \"to\": \"front\", \"rps\": 1 } ] }");
	rec *other = new_kept(m2);
	json_t *so = rec_snapshot(other, MESH_S);
	ck_assert_int_eq(rec_merge_snapshot(dst, so, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "scenario.services: expected 3 services"), "%s", err);
	json_decref(so);
	rec_free(other);
	model_free(m2);

	free(before);
	json_decref(s);
	rec_free(dst);
	rec_free(a);
	workload_free(&w);
	model_free(m);
}
END_TEST

/* ---- (4) Prometheus text format ---- */

typedef struct prom_sample {
	char name[128];
	char labels[16][2][160]; /* decoded */
	int nlabels;
	double value;
} prom_sample;

static int name_char(int c, int first)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':' ||
	       (!first && c >= '0' && c <= '9');
}

/* Parse one sample line by the 0.0.4 grammar; 0 when it does not match. */
static int parse_sample(const char *s, prom_sample *out)
{
	memset(out, 0, sizeof *out);
	size_t n = 0;
	if (!name_char(*s, 1))
		return 0;
	while (name_char(*s, 0) && n < sizeof out->name - 1)
		out->name[n++] = *s++;
	if (*s == '{') {
		s++;
		while (*s != '}') {
			if (out->nlabels == 16)
				return 0;
			char *k = out->labels[out->nlabels][0], *v = out->labels[out->nlabels][1];
			n = 0;
			if (!name_char(*s, 1) || *s == ':')
				return 0;
			while (name_char(*s, 0) && *s != ':' && n < 159)
				k[n++] = *s++;
			if (*s++ != '=' || *s++ != '"')
				return 0;
			n = 0;
			while (*s != '"') {
				if (!*s || *s == '\n' || n >= 159)
					return 0;
				if (*s == '\\') {
					s++;
					if (*s == 'n')
						v[n++] = '\n';
					else if (*s == '\\' || *s == '"')
						v[n++] = *s;
					else
						return 0;
					s++;
				} else {
					v[n++] = *s++;
				}
			}
			s++;
			out->nlabels++;
			if (*s == ',')
				s++;
			else if (*s != '}')
				return 0;
		}
		s++;
	}
	if (*s++ != ' ')
		return 0;
	if (!strcmp(s, "+Inf")) {
		out->value = INFINITY;
		return 1;
	}
	char *e;
	out->value = strtod(s, &e);
	return e != s && *e == '\0';
}

static const char *label(const prom_sample *p, const char *k)
{
	for (int i = 0; i < p->nlabels; i++)
		if (!strcmp(p->labels[i][0], k))
			return p->labels[i][1];
	return NULL;
}

/* The labels but le, as one string: a histogram's series key. */
static void series_key(const prom_sample *p, char *buf, size_t len)
{
	buf[0] = '\0';
	for (int i = 0; i < p->nlabels; i++)
		if (strcmp(p->labels[i][0], "le")) {
			strncat(buf, p->labels[i][0], len - strlen(buf) - 1);
			strncat(buf, "=", len - strlen(buf) - 1);
			strncat(buf, p->labels[i][1], len - strlen(buf) - 1);
			strncat(buf, ";", len - strlen(buf) - 1);
		}
}

static int ends_with(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a >= b && !strcmp(s + a - b, suf);
}

static void v_service(json_t *j) { json_object_set_new(path_get(j, "versions"), "service", json_string("front")); }
static void v_step(json_t *j) { json_object_set_new(path_get(j, "versions"), "step", json_integer(1000000000)); }
static void v_names(json_t *j) { json_array_set_new(path_get(j, "versions.names"), 1, json_string("v3")); }
static void v_non5xx(json_t *j)
{
	json_t *d = path_get(j, "versions.versions.1.done");
	json_array_set_new(path_get(j, "versions.versions.1.non5xx"), 7,
			   json_integer(json_integer_value(json_array_get(d, 7)) + 1));
}
static void v_istio(json_t *j)
{
	/* One more in an Istio bucket than the step's histogram holds. */
	json_t *b = path_get(j, "versions.versions.0.istio.7.0");
	json_array_set_new(b, 1, json_integer(json_integer_value(json_array_get(b, 1)) + 1));
}
static void v_istio_range(json_t *j)
{
	json_array_set_new(path_get(j, "versions.versions.0.istio.7.0"), 0, json_integer(20));
}
static void v_totals(json_t *j)
{
	json_object_set_new(path_get(j, "versions.versions.1.totals"), "calls", json_integer(3));
}
static void v_short(json_t *j) { json_array_remove(path_get(j, "versions.versions.0.slow"), 0); }
static void v_missing(json_t *j) { json_object_del(j, "versions"); }
static void v_v1(json_t *j) { json_object_set_new(j, "version", json_integer(1)); }

/* A bad per-version part of a snapshot is refused with its path, and
 * changes nothing; so is one in a /versions document. */
START_TEST(test_malformed_versions)
{
	model *m = tu_load(ROLLOUT_SCENARIO);
	workload w;
	make_version_workload(&w, m, 5);
	rec *a = new_kept(m);
	record(m, &w, a, NULL);
	json_t *s = rec_snapshot(a, END);
	rec *dst = rec_new(m);
	merge_ok(dst, s);
	char *before = report_of(m, dst);
	expect_error(dst, s, v_service, "versions.service: \"front\" here but \"back\"", before);
	expect_error(dst, s, v_step, "versions.step: a step of 1000000000ns", before);
	expect_error(dst, s, v_names, "versions.names[1]: \"v3\" here but \"v2\"", before);
	expect_error(dst, s, v_non5xx, "versions.versions[1][7]: step counts that cannot be", before);
	expect_error(dst, s, v_istio, "versions.versions[0].latency[7]:", before);
	expect_error(dst, s, v_istio_range, "versions.versions[0].istio[7][0]: expected a bucket", before);
	expect_error(dst, s, v_totals, "versions.versions[1].totals", before);
	expect_error(dst, s, v_short, "versions.versions[0].slow: expected", before);
	expect_error(dst, s, v_missing, "versions: missing", before);
	expect_error(dst, s, v_v1, "version: version 1; this meshsim reads version 3", before);
	/* The same checks for a /versions document alone. */
	json_t *v = json_deep_copy(json_object_get(s, "versions"));
	json_object_set_new(v, "first", json_string("soon"));
	char err[512] = "";
	ck_assert_int_eq(rec_merge_versions_json(dst, v, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "versions.first: expected a count") != NULL, "%s", err);
	char *after = report_of(m, dst);
	assert_same_text("recorder after a failed merge of /versions", after, before);
	free(after);
	json_decref(v);
	/* A rollout's series into a recorder of a scenario without one. */
	model *plain = tu_load(SCENARIO);
	rec *q = rec_new(plain);
	ck_assert_int_eq(rec_merge_versions_json(q, json_object_get(s, "versions"), err,
						 sizeof err), -1);
	ck_assert_msg(strstr(err, "expected null: this run's scenario has no rollout") != NULL,
		      "%s", err);
	rec_free(q);
	model_free(plain);
	free(before);
	json_decref(s);
	rec_free(dst);
	rec_free(a);
	workload_free(&w);
	model_free(m);
}
END_TEST

START_TEST(test_prometheus)
{
	model *m = load_mtls(SCENARIO);
	workload w;
	make_workload(&w, m, 31, 100);
	rec *a = rec_new(m);
	record(m, &w, a, NULL);
	/* Workload 0 (front/0) got an expired certificate last: its expiry
	 * gauge is below zero. */
	rec_cert_event late = {.at = END - 1, .workload = 0, .why = 2,
			       .not_before_s = -7200, .not_after_s = -3600};
	rec_cert(a, &late);
	/* A service name that needs escaping in a label value. */
	char weird[] = "fr\"o\\nt\nend";
	char *saved = m->services[0].name;
	m->services[0].name = weird;

	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(rec_prometheus(a, f, "pod=\"p-0\""), 0);
	fclose(f);
	ck_assert_uint_gt(len, 1000);
	ck_assert(text[len - 1] == '\n');

	char fam[128] = "", type[32] = "", done_fams[8192] = " ";
	char hkey[1024] = "";
	double hprev_le = -1, hprev = -1, hinf = -1;
	int nsamples = 0, nhist = 0, found_known = 0, found_weird = 0, checked_bound = 0;
	int found_tls = 0, found_expiry = 0;
	uint32_t x_route = route_of(m, "back", "/x");
	char *save = NULL;
	for (char *line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (!strncmp(line, "# HELP ", 7))
			continue;
		if (!strncmp(line, "# TYPE ", 7)) {
			char nm[128], ty[32];
			ck_assert_int_eq(sscanf(line, "# TYPE %127s %31s", nm, ty), 2);
			ck_assert_msg(!strcmp(ty, "counter") || !strcmp(ty, "gauge") ||
					      !strcmp(ty, "histogram"), "%s", line);
			char needle[140];
			snprintf(needle, sizeof needle, " %s ", nm);
			ck_assert_msg(!strstr(done_fams, needle), "family %s twice", nm);
			strncat(done_fams, nm, sizeof done_fams - strlen(done_fams) - 2);
			strcat(done_fams, " ");
			snprintf(fam, sizeof fam, "%s", nm);
			snprintf(type, sizeof type, "%s", ty);
			if (!strcmp(ty, "counter"))
				ck_assert_msg(ends_with(nm, "_total"), "counter %s without _total", nm);
			ck_assert_msg(!strncmp(nm, "meshsim_", 8), "%s", nm);
			continue;
		}
		ck_assert_msg(line[0] != '#', "stray comment: %s", line);
		prom_sample p;
		ck_assert_msg(parse_sample(line, &p), "not a sample line: %s", line);
		nsamples++;
		ck_assert_msg(!strncmp(line, fam, strlen(fam)) && *fam,
			      "sample outside its family %s: %s", fam, line);
		ck_assert_str_eq(p.labels[0][0], "pod");
		ck_assert_str_eq(p.labels[0][1], "p-0");
		const char *svc = label(&p, "service");
		if (svc && !strcmp(svc, weird))
			found_weird = 1;
		if (!strcmp(type, "histogram")) {
			char key[1024];
			series_key(&p, key, sizeof key);
			if (ends_with(p.name, "_bucket")) {
				ck_assert_str_eq(p.name + strlen(fam), "_bucket");
				const char *le = label(&p, "le");
				ck_assert_ptr_nonnull(le);
				double lev = !strcmp(le, "+Inf") ? INFINITY : strtod(le, NULL);
				if (strcmp(key, hkey)) {
					snprintf(hkey, sizeof hkey, "%s", key);
					hprev_le = -1;
					hprev = -1;
					hinf = -1;
					nhist++;
				}
				ck_assert_msg(lev > hprev_le, "le not increasing: %s", line);
				ck_assert_msg(p.value >= hprev, "buckets not cumulative: %s", line);
				hprev_le = lev;
				hprev = p.value;
				if (isinf(lev))
					hinf = p.value;
				/* The route's bucket against the exact latencies. */
				if (!strcmp(fam, "meshsim_request_duration_seconds") &&
				    !strcmp(label(&p, "route"), "/x") && !isinf(lev)) {
					mesh_time b = (mesh_time)llround(lev * 1e9);
					uint64_t at_or_below = 0, well_below = 0;
					for (size_t k = 0; k < w.nlat[x_route]; k++) {
						at_or_below += w.lat[x_route][k] <= b;
						well_below += w.lat[x_route][k] <= b - b / 128;
					}
					ck_assert_msg(p.value <= (double)at_or_below &&
							      p.value >= (double)well_below,
						      "%s: %llu at or below, %llu well below", line,
						      (unsigned long long)at_or_below,
						      (unsigned long long)well_below);
					checked_bound++;
				}
			} else if (ends_with(p.name, "_count")) {
				ck_assert_str_eq(key, hkey);
				ck_assert_msg(hinf == p.value, "+Inf bucket %g but _count %g", hinf,
					      p.value);
			} else {
				ck_assert_msg(ends_with(p.name, "_sum"), "%s", line);
				ck_assert_str_eq(p.name + strlen(fam), "_sum");
				ck_assert_str_eq(key, hkey);
			}
		} else {
			ck_assert_str_eq(p.name, fam);
			/* Counts; the expiry gauge is a time, below zero for a
			 * certificate that expired before the run began. */
			ck_assert_msg((p.value >= 0 || !strcmp(fam, "meshsim_cert_expiry_seconds")) &&
					      p.value == floor(p.value), "%s", line);
		}
		const char *wl = label(&p, "workload");
		if (!strcmp(p.name, "meshsim_tls_handshakes_total") && wl &&
		    !strcmp(wl, "back/2") && !strcmp(label(&p, "side"), "inbound") &&
		    !strcmp(label(&p, "kind"), "resumed")) {
			/* back/2: workload 2 + 2 (front has two instances). */
			ck_assert_uint_gt(a->tls[4 * REC_TLS_SIDES].resumed, 0);
			ck_assert_uint_eq((uint64_t)p.value, a->tls[4 * REC_TLS_SIDES].resumed);
			found_tls = 1;
		}
		if (!strcmp(p.name, "meshsim_cert_expiry_seconds") && wl && !strcmp(wl, "fr\"o\\nt\nend/0")) {
			ck_assert_double_eq(p.value, -3600);
			found_expiry = 1;
		}
		if (!strcmp(p.name, "meshsim_tls_handshake_failures_total"))
			ck_assert_ptr_nonnull(label(&p, "reason"));
		if (!strcmp(p.name, "meshsim_requests_total") && svc && !strcmp(svc, "back") &&
		    !strcmp(label(&p, "route"), "/x") && !strcmp(label(&p, "outcome"), "success")) {
			ck_assert_uint_eq((uint64_t)p.value, a->routes[x_route].outcomes[MESH_OK]);
			ck_assert_uint_gt(a->routes[x_route].outcomes[MESH_OK], 100);
			found_known = 1;
		}
	}
	ck_assert(found_known);
	ck_assert(found_weird);
	ck_assert(found_tls);
	ck_assert(found_expiry);
	ck_assert_int_eq(checked_bound, 19);
	ck_assert_int_gt(nhist, m->nroutes + m->nclients);
	ck_assert_int_gt(nsamples, 200);
	free(text);

	/* Without extra labels, and through promtool when it is there. */
	char path[] = "/tmp/meshsim-prom-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	f = fdopen(fd, "w");
	ck_assert_int_eq(rec_prometheus(a, f, NULL), 0);
	fclose(f);
	if (system("command -v promtool >/dev/null 2>&1") == 0) {
		char cmd[256];
		snprintf(cmd, sizeof cmd, "promtool check metrics < %s", path);
		ck_assert_msg(system(cmd) == 0, "promtool rejects the metrics");
	}
	f = fopen(path, "r");
	char first[512];
	int saw_bare = 0;
	while (fgets(first, sizeof first, f))
		if (!strncmp(first, "meshsim_upstream_rq_total{service=", 34))
			saw_bare = 1;
	fclose(f);
	remove(path);
	ck_assert(saw_bare);

	m->services[0].name = saved;
	rec_free(a);
	workload_free(&w);
	model_free(m);
}
END_TEST

Suite *rec_json_suite(void)
{
	Suite *s = suite_create("rec_json");
	TCase *t = tcase_create("rec_json");
	tcase_set_timeout(t, 120);
	tcase_add_test(t, test_split_merge_same_report);
	tcase_add_test(t, test_keep_seconds_same_report);
	tcase_add_test(t, test_round_trip);
	tcase_add_test(t, test_live_at_end_rule);
	tcase_add_test(t, test_ejected_upper_bound_when_truncated);
	tcase_add_test(t, test_malformed_snapshots);
	tcase_add_test(t, test_versions_split_merge);
	tcase_add_test(t, test_versions_from_a_step);
	tcase_add_test(t, test_malformed_versions);
	tcase_add_test(t, test_prometheus);
	suite_add_tcase(s, t);
	return s;
}
