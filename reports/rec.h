/*
 * rec.h - the recorder: one outcome per request, histograms per client,
 * service and route, and per-second time series.
 *
 * Agents call it as requests end. It is pure bookkeeping (no I/O), so both
 * hosts use it. Memory is fixed by the scenario's shape plus one small row
 * per simulated second: it never keeps a record per request. (With
 * rec_keep_seconds, also each second's histogram in sparse form.)
 *
 * Time series are bucketed by the second in which a request ended. Requests
 * end in time order in a run, so each second's histogram is summarised into
 * its row as soon as a later second begins, and then reused.
 */
#ifndef REC_H
#define REC_H

#include "hist.h"
#include "mesh.h"
#include "model.h"
#include "rollout.h"

#define REC_MAX_STATUS 600

/* Why a sidecar retried (the failure of the try before). */
enum rec_retry_reason {
	REC_RETRY_5XX = 0, REC_RETRY_RESET, REC_RETRY_CONNECT_FAILURE,
	REC_RETRY_PER_TRY_TIMEOUT, REC_RETRY_STATUS, REC_RETRY_REFUSED,
	REC_RETRY_COUNT
};

/* What a sidecar refused (Envoy's overflow counters and "no healthy
 * upstream"). */
enum rec_overflow {
	REC_OVERFLOW_REQUESTS = 0, /* upstream_rq_pending_overflow for max_requests */
	REC_OVERFLOW_PENDING,      /* max_pending_requests */
	REC_OVERFLOW_RETRIES,      /* max_retries: retry not attempted */
	REC_OVERFLOW_BUDGET,       /* retry budget: retry not attempted */
	REC_OVERFLOW_NO_HEALTHY,   /* every host ejected, no panic */
	REC_OVERFLOW_COUNT
};

const char *rec_retry_reason_name(int k);
const char *rec_overflow_name(int k);

/* What the sidecars did for requests to a route or service. */
typedef struct rec_policy {
	uint64_t attempts;          /* tries sent (first tries and retries) */
	uint64_t retries[REC_RETRY_COUNT];
	uint64_t overflow[REC_OVERFLOW_COUNT];
	uint64_t per_try_timeouts;
	uint64_t route_timeouts;
} rec_policy;

/* Totals of one entity (a client, a service, a route). */
typedef struct rec_stats {
	uint64_t issued;
	uint64_t outcomes[MESH_OUTCOME_COUNT];
	uint64_t by_status[REC_MAX_STATUS];
	hist lat;       /* responses and timeouts, from the intended send time */
	/* Requests the host found still held by agents at the end, or
	 * UINT64_MAX when it did not count. Must equal rec_in_flight: the
	 * report's cross-check that no request was lost. */
	uint64_t live_at_end;
	rec_policy pol;  /* routes and services only */
} rec_stats;

/* One second of a time series. Latencies in ns. */
typedef struct rec_row {
	uint64_t issued;     /* requests sent in this second */
	uint64_t done;       /* requests that ended in this second */
	uint64_t ok;
	uint64_t p50, p90, p99, p999, max;
	uint64_t attempts, retries, overflows; /* services only */
	uint32_t ejected;    /* services: most (sidecar, host) ejections at once */
} rec_row;

/* One bucket of a histogram in sparse form: index (hist_index) and count. */
typedef struct rec_bucket {
	uint32_t i;
	uint64_t n;
} rec_bucket;

/* One second's latency histogram, kept in sparse form (rec_keep_seconds)
 * so that recorders of several processes can be merged second by second. */
typedef struct rec_second {
	uint64_t count;
	uint64_t min, max;   /* exact; UINT64_MAX and 0 when empty */
	double sum;
	rec_bucket *b;       /* [n] by increasing index, every count > 0; owned */
	uint32_t n;
} rec_second;

typedef struct rec_series {
	rec_row *rows;
	uint32_t nrows, cap;
	uint32_t cur;        /* the second `h` is collecting */
	hist h;
	int keep;            /* rec_keep_seconds: fill `secs` */
	rec_second *secs;    /* [cap] when keep, else NULL */
} rec_series;

/* The inbound side of one service instance: its queue and workers. */
typedef struct rec_instance {
	uint64_t arrived;
	uint64_t served;        /* started by a worker */
	uint64_t queue_full;    /* answered 503 because the queue was full */
	uint64_t waited;        /* had to queue before a worker took it */
	uint64_t max_queue;     /* longest queue seen */
	uint64_t by_status[REC_MAX_STATUS]; /* what the instance answered */
	hist wait;              /* time in queue, for every served request */
	uint64_t crashes;
	uint64_t ejections;     /* by any caller's sidecar */
} rec_instance;

/* One ejection or return of a host, for the report's timeline. */
typedef struct rec_ejection_event {
	mesh_time t;
	uint32_t service, instance;
	int delta;              /* +1 ejected, -1 back */
} rec_ejection_event;

#define REC_MAX_EJECTION_EVENTS 2000

typedef struct rec_service {
	rec_stats st;           /* as seen by callers' sidecars */
	rec_series series;
	rec_instance *inst;     /* [replicas] */
	uint32_t ejected_now;   /* (sidecar, host) pairs ejected at present */
	uint32_t ejected_sec;   /* rows up to this second carry ejected_now */
} rec_service;

/* One step of one version of the rollout's service (rollout.h), as the
 * callers' sidecars saw its calls: what a metrics server scraping them
 * would hold. Steps are the judge's step (1s without a judge). */
typedef struct rec_vrow {
	uint32_t done;          /* calls and mirrored copies that ended */
	uint32_t non5xx;        /* ... not failed (5xx, timeout, reset, ...) */
	uint32_t calls;         /* calls routed to this version (no mirror) */
	uint32_t failed;        /* ... that did not succeed */
	uint32_t slow;          /* ... that succeeded slower than the SLO */
	uint64_t p50, p99;      /* ns, over `done` with a latency */
	uint32_t ib[RO_ISTIO_BUCKETS + 1]; /* Istio's duration buckets */
} rec_vrow;

typedef struct rec_vseries {
	rec_vrow *rows;
	uint32_t nrows, cap;
	uint32_t cur;           /* the step `h` is collecting */
	hist h;
	/* Calls over the whole run, for the blast radius. */
	uint64_t calls, failed, slow;
	int keep;               /* rec_keep_seconds: fill `steps` */
	rec_second *steps;      /* [cap] when keep: each step's latencies, so
				 * that merged steps get exact p50 and p99 */
} rec_vseries;

/* Mutual TLS handshakes of one sidecar on one side. */
enum rec_tls_side { REC_TLS_INBOUND = 0, REC_TLS_OUTBOUND, REC_TLS_SIDES };
/* Why a handshake (or a plaintext connection) failed; report names in
 * rec_tls_fail_name: "expired", "unknown_ca", "identity_mismatch",
 * "plaintext_rejected", "no_client_cert", "other". */
enum rec_tls_fail {
	REC_TLS_EXPIRED = 0,       /* a certificate expired (or not yet valid) */
	REC_TLS_UNKNOWN_CA,        /* a chain that leads to no trusted root */
	REC_TLS_IDENTITY,          /* a trusted chain, the wrong SPIFFE ID */
	REC_TLS_PLAINTEXT_REJECTED,/* plaintext to a STRICT inbound */
	REC_TLS_NO_CERT,           /* a TLS client without a certificate */
	REC_TLS_OTHER,
	REC_TLS_FAIL_COUNT
};
const char *rec_tls_fail_name(int k);
/* Report names of the sides: "inbound", "outbound" ("?" for another). */
const char *rec_tls_side_name(int side);

typedef struct rec_tls {
	uint64_t full;             /* handshakes with certificates exchanged */
	uint64_t resumed;          /* handshakes resuming a session */
	uint64_t plaintext;        /* plaintext connections (inbound: accepted;
				    * outbound: opened) */
	uint64_t failed[REC_TLS_FAIL_COUNT];
} rec_tls;

/* One certificate a workload got (tls_mesh.h): when (run time), why (enum
 * tls_mesh_why), and its validity in run time (not_before may be before
 * the run's start: certificates are backdated; an expired certificate's
 * not_after is before `at`), as seconds relative to the run's epoch. */
typedef struct rec_cert_event {
	mesh_time at;
	uint32_t workload;
	uint8_t why;
	int64_t not_before_s, not_after_s; /* seconds from the run's start */
	uint32_t root;             /* which root signed it: 0 the mesh CA,
				    * k the k-th root_rotate fault's,
				    * UINT32_MAX a foreign root */
} rec_cert_event;

#define REC_CERT_ROOT_FOREIGN UINT32_MAX

/* Report names of rec_cert_event.why, in the order of tls_mesh.h's enum
 * tls_mesh_why: "issued", "renewed", "expired", "foreign", "restored"
 * ("?" for another value). The recorder keeps its own table so that
 * reports need nothing of the TLS host code (OpenSSL). */
#define REC_CERT_WHY_COUNT 5
const char *rec_cert_why_name(int why);

/* The workloads of m (tls_mesh.h's numbering): its service instances
 * (services in scenario order, their instances in order), then its load
 * clients. */
uint32_t rec_tls_workloads(const model *m);
/* Workload w's name in reports, as tls_mesh_workload_name:
 * "<service>/<instance>" or "client/<name>" ("?" out of range), into
 * buf[len] (truncated to fit). */
void rec_tls_workload_name(const model *m, uint32_t w, char *buf, size_t len);

typedef struct rec {
	const model *m;
	rec_stats *clients;     /* [nclients] from the intended send time */
	rec_series *client_series;
	rec_service *services;  /* [nservices] */
	rec_stats *routes;      /* [nroutes] */
	rec_stats overall;      /* all clients together */
	rec_series overall_series;
	mesh_time end;          /* when the run stopped */
	uint64_t events;        /* events the host processed */
	uint64_t *fault_hits;   /* [nfaults] requests a fault touched */
	/* Calls along each edge of the service graph: from a service (index
	 * s) or a load client (nservices + c) to a service. */
	uint64_t *edge_calls;   /* [(nservices + nclients) x nservices] */
	uint64_t *edge_ok;
	rec_ejection_event *ejections;
	uint32_t nejections;    /* events kept */
	uint64_t ejections_total; /* events seen, kept or not */
	int finished;           /* rec_finish has closed the run */
	/* The rollout's service, per version (MODEL_NONE: no rollout). */
	uint32_t vs_service;
	uint32_t vs_nversions;
	rec_vseries *vs;
	mesh_time vs_step;
	mesh_time vs_slo;          /* slower successes harm (MESH_NEVER: none) */
	rollout_log *ro_log;       /* what the rollout controller decided */
	/* Authorization at the callees' inbound sidecars (authz.h): per
	 * policy, the requests it decided (those a DENY policy denied, those
	 * an ALLOW policy allowed); per service, the requests checked, by
	 * verdict. All zero in a scenario without policies. */
	uint64_t *authz_policy;    /* [m->nauthz] */
	uint64_t *authz_service;   /* [nservices x AUTHZ_VERDICT_COUNT] */
	/* Mutual TLS (tls_mesh.h), per workload w (pod w's sidecar: ninst
	 * service instances, then nclients load clients) and side; all zero
	 * and no certificates without an "mtls" block. */
	uint32_t tls_nworkloads;   /* ninst + nclients (0 without the block) */
	rec_tls *tls;              /* [tls_nworkloads x REC_TLS_SIDES], NULL
				    * without the block; rec_tls_row */
	rec_cert_event *certs;     /* every certificate a workload got, in
				    * the order recorded (rec_finish and
				    * rec_merge sort them, stably, by time,
				    * workload and why) */
	uint32_t ncerts, certs_cap;
} rec;

/* A recorder for model m (borrowed; must outlive it). NULL on no memory. */
rec *rec_new(const model *m);
void rec_free(rec *r);

/* Keep each second's latency histogram of every time series (per client,
 * per service, overall), and each step's of the rollout's per-version
 * series, in sparse form when the second (step) is summarised, in
 * addition to its row: what a merge of recorders needs to compute a
 * second's percentiles over several processes exactly (rec_merge,
 * rec_json.h). Off by default: the simulator does not pay for it. Call it
 * right after rec_new; seconds summarised before are not kept. The memory
 * is one small array per second and series, of the buckets that second
 * touched (16 bytes each). Running out of memory aborts, as growing a
 * series does. */
void rec_keep_seconds(rec *r);

/* A client sent a request at time t (its intended send time). */
void rec_client_issued(rec *r, uint32_t client, mesh_time t);
/* A client's request ended at `now`. `status` is the response's (0 for
 * none). Latency runs from `intended`. Rejected requests have no latency. */
void rec_client_done(rec *r, uint32_t client, mesh_time intended,
		     mesh_time now, enum mesh_outcome o, unsigned status);

/* A sidecar sent a request on `route` at time t. */
void rec_route_issued(rec *r, uint32_t route, mesh_time t);
/* ... and it ended at now (recorded per route and per service). */
void rec_route_done(rec *r, uint32_t route, mesh_time start, mesh_time now,
		    enum mesh_outcome o, unsigned status);

/* A sidecar sent a try (first or retry) on route. */
void rec_attempt(rec *r, uint32_t route, mesh_time now);
/* ... and will retry it, for this reason. */
void rec_retry(rec *r, uint32_t route, int reason, mesh_time now);
/* ... or refused something (enum rec_overflow). */
void rec_overflow(rec *r, uint32_t route, int kind, mesh_time now);
void rec_per_try_timeout(rec *r, uint32_t route);
void rec_route_timeout(rec *r, uint32_t route);
/* A caller's sidecar ejected (+1) or brought back (-1) an instance. */
void rec_ejection(rec *r, uint32_t service, uint32_t instance, int delta,
		  mesh_time now);
/* A call from `from` (a service, or nservices + a client index) to
 * service `to` ended, successfully or not. */
void rec_edge(rec *r, uint32_t from, uint32_t to, int ok);

void rec_version_done_(rec *r, uint32_t version, mesh_time start,
		       mesh_time now, enum mesh_outcome o, unsigned status,
		       int mirrored);

/* A call to `svc` that the caller's sidecar routed to `version` ended (or
 * a mirrored copy of one, whose answer was discarded). Only the rollout's
 * service is kept, per version; for every other service this is one
 * comparison. */
static inline void rec_version_done(rec *r, uint32_t svc, uint32_t version,
				    mesh_time start, mesh_time now,
				    enum mesh_outcome o, unsigned status,
				    int mirrored)
{
	if (svc == r->vs_service && version < r->vs_nversions)
		rec_version_done_(r, version, start, now, o, status, mirrored);
}

/* Summarise the step each version is collecting if it ended before
 * `now`, so that steps before now can be read. */
void rec_version_flush(rec *r, mesh_time now);

/* The step of the per-version rows of a rollout: its judges' step, or
 * a second. */
mesh_time rec_rollout_step(const model_rollout *ro);

/* Fault i touched a request. */
void rec_fault_hit(rec *r, uint32_t fault);

/* An inbound sidecar of `service` checked a request against the
 * authorization policies selecting it: verdict v, decided by policy `by`
 * (an index into m->authz), or UINT32_MAX when no policy decided it. */
void rec_authz(rec *r, uint32_t service, enum authz_verdict v, uint32_t by);

/* Mutual TLS. Workload w's sidecar completed a handshake on `side`
 * (resumed or full); opened or accepted a plaintext connection; saw one
 * fail for `reason` (enum rec_tls_fail; a failure is counted by the side
 * that found it and by the side it was reported to: the host counts the
 * server's refusal of a client's certificate at both). Each is a no-op
 * without an "mtls" block or for a w out of range; side and reason must
 * be in range (asserted). */
void rec_tls_handshake(rec *r, uint32_t w, int side, int resumed);
void rec_tls_plaintext(rec *r, uint32_t w, int side);
void rec_tls_failure(rec *r, uint32_t w, int side, int reason);
/* Workload w got a certificate (tls_mesh.c calls it): e is copied. A
 * no-op without an "mtls" block or for a workload out of range. Running
 * out of memory aborts, as growing a series does. */
void rec_cert(rec *r, const rec_cert_event *e);
/* Sort a[n] stably by (at, workload, why), as rec_finish sorts a
 * recorder's certificates; tmp[n] is scratch. */
void rec_certs_sort(rec_cert_event *a, uint32_t n, rec_cert_event *tmp);
/* Workload w's row of counters on `side`, or NULL (no "mtls" block, w or
 * side out of range). */
static inline rec_tls *rec_tls_row(const rec *r, uint32_t w, int side)
{
	if (!r->tls || w >= r->tls_nworkloads || side < 0 || side >= REC_TLS_SIDES)
		return NULL;
	return &r->tls[(size_t)w * REC_TLS_SIDES + (size_t)side];
}

/* Attempts per request issued (1 when nothing was issued). */
double rec_amplification(const rec_stats *s);

static inline rec_instance *rec_inst(rec *r, uint32_t service, uint32_t i)
{
	return &r->services[service].inst[i];
}

/* Close the run at time `end`: summarise the seconds still open, give
 * every series its rows up to the second before `end`, and mark r
 * finished. */
void rec_finish(rec *r, mesh_time end);

/* ---- merging recorders (live mode: one recorder per process) ---- */

/* Add the latency histogram of second t of series s into h (which is not
 * emptied first): the second as kept, plus, for the second still open,
 * what it has collected so far. Needs s kept (rec_keep_seconds). */
void rec_series_second(const rec_series *s, uint32_t t, hist *h);

/* The row of second `sec` of s, created with any seconds before it (and
 * their kept histograms when s keeps seconds). Aborts when out of memory. */
rec_row *rec_series_row(rec_series *s, uint32_t sec);

/* Add the latencies in h to kept second t of s (kept: rec_keep_seconds)
 * and recompute the row's p50/p90/p99/p999/max from the whole second,
 * exactly as the recorder summarises a second. h is scratch: on return it
 * holds the whole second. */
void rec_series_add_second(rec_series *s, uint32_t t, hist *h);

/* Add recorder src (not dst itself) into dst. Both recorders must be of
 * models of the same shape (the same scenario file: entities are matched
 * by index). src must keep seconds (rec_keep_seconds); dst is switched to
 * keeping them if it does not (it should then hold nothing yet). src is
 * borrowed and may be finished or not (its open second counts). dst ends
 * finished when src is.
 *
 * Rules: counters are summed; histograms merged bucket by bucket (their
 * sums, for the mean, are whole nanoseconds in a double: exact in any
 * order while below 2^53 ns, 104 days of latency added up); a second's
 * percentiles are recomputed from the merged second; max_queue
 * (one instance lives in one process) is the maximum; end the latest;
 * live_at_end: see below. Ejection events are put together in time order
 * (stable: at equal times dst's come first) and the first
 * REC_MAX_EJECTION_EVENTS kept. The rollout's per-version series merge as
 * rec_merge_vseries says. A row's `ejected` (most (sidecar, host)
 * pairs out at once) is replayed from all the events of dst and src when
 * neither has dropped any: exact, but for events of different processes
 * at the same nanosecond, whose order is dst's then src's. Otherwise (a
 * process dropped events, or the merged log went past what dst keeps, so
 * that later merges cannot replay) the two rows' values are added: an
 * upper bound, since the processes' peaks within a second, added up, are
 * at least the peak of their sum. Mutual TLS counters are summed, and
 * src's certificate events appended to dst's and the whole list sorted as
 * rec_finish sorts it (all kept: no certificate is dropped).
 *
 * live_at_end: a source's UINT64_MAX means it did not count. The sum of
 * the counted ones is kept, and UINT64_MAX only while no source counted.
 * The report's cross-check wants live_at_end == issued - completed over
 * the merged recorder; that holds when every process that records
 * requests of an entity also counts what its agents hold (in live mode:
 * the load process for clients and overall), and processes that do not
 * count record nothing of that entity. A process that records but does
 * not count makes the check fail, which is right: nobody vouched for its
 * requests.
 *
 * Returns 0; -1 when the models differ in shape (an "mtls" block in one
 * only counts), -2 when src does not keep
 * seconds, -3 when out of memory: dst unchanged in every case. (Growing a
 * series during the merge aborts when out of memory, as recording does.) */
int rec_merge(rec *dst, const rec *src);

/* ---- the rollout's per-version series, apart (live mode's analyses) ---- */

/* An empty per-version series, keeping its steps' histograms when `keep`
 * (as rec_keep_seconds does); rec_vseries_destroy frees what it holds. */
void rec_vseries_init(rec_vseries *v, int keep);
void rec_vseries_destroy(rec_vseries *v);

/* The row of step k of v, created with any steps before it (and their
 * kept histograms when v keeps them). Aborts when out of memory. */
rec_vrow *rec_vseries_row(rec_vseries *v, uint32_t k);

/* Add the latency histogram of step k of v into h: as kept, plus what the
 * step still open has collected. Needs v kept. */
void rec_vseries_step(const rec_vseries *v, uint32_t k, hist *h);

/* Add the latencies in h to kept step k of v and recompute the row's p50
 * and p99 from the whole step, as the recorder summarises a step. h is
 * scratch: on return it holds the whole step. */
void rec_vseries_add_step(rec_vseries *v, uint32_t k, hist *h);

/* Add per-version series src[n] (each kept) into dst's, by rec_merge's
 * rules: counters and Istio buckets summed, step histograms merged and
 * each step's p50 and p99 recomputed from the merged step, run totals
 * summed. dst is switched to keeping steps. What a live analysis needs
 * from the caller sidecars, without the rest of their recorders. Returns
 * 0; -1 when dst has not n versions (another scenario, or no rollout),
 * -2 when a source does not keep steps, -3 when out of memory: dst
 * unchanged in every case. */
int rec_merge_vseries(rec *dst, const rec_vseries *src, uint32_t n);

/* Requests still in flight: issued minus every recorded outcome. */
uint64_t rec_in_flight(const rec_stats *s);
/* Requests that ended, any outcome. */
uint64_t rec_completed(const rec_stats *s);
/* Successes over requests issued (a request still in flight at the end is
 * not a success); 1 when nothing was issued. */
double rec_success_rate(const rec_stats *s);

#endif
