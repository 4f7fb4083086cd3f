/*
 * rec_json.h - a recorder as a JSON snapshot, merged back into another
 * recorder, and as Prometheus text metrics.
 *
 * In live mode every process (the load process, each sidecar, each service
 * instance) records into a recorder of its own. At the end the orchestrator
 * fetches a snapshot of each (GET /snapshot), merges them into one recorder
 * and writes report.json from it exactly as for a simulation. Sidecars also
 * serve their recorder as Prometheus metrics (GET /metrics).
 *
 * Snapshot format ("format": "meshsim-rec", "version": 3). Times and
 * latencies are integer nanoseconds; counts are integers (one above
 * 2^63 - 1 is written as a string of digits). Entities are named by their
 * index in the model, in scenario order: every process loads the same
 * scenario file, so indexes agree; "scenario" lets a merge check that.
 *
 *   { "format": "meshsim-rec", "version": 3,
 *     "scenario": { "name": N, "services": [name...], "replicas": [n...],
 *                   "clients": [name...], "routes": [[service, path]...],
 *                   "faults": n },
 *     "end": ns, "events": n,
 *     "overall":  { "stats": STATS, "series": SERIES },
 *     "clients":  [ { "stats": STATS, "series": SERIES } ... ],
 *     "services": [ { "stats": STATS, "series": SERIES, "ejected_now": n,
 *                     "instances": [ INSTANCE ... ] } ... ],
 *     "routes":   [ STATS ... ],
 *     "fault_hits": [ n ... ],
 *     "authorization": { "policies": [ n ... ],  per policy: requests it
 *                                                 decided (authz.h)
 *                        "services": [ [allowed, denied, denied_no_allow]
 *                                      ... ] },  per service
 *     "edges": [ [from, to, calls, ok] ... ],        only edges with calls
 *     "ejections": { "total": n, "events": [ [t, service, instance, 1|-1] ... ] },
 *     "versions": VERSIONS, or null when the scenario has no rollout,
 *     "mtls": MTLS, or null when the scenario has no "mtls" block }
 *
 *   STATS: { "issued": n, "outcomes": { "success": n, ... every outcome },
 *            "status": { "503": n, ... nonzero only },
 *            "live_at_end": n, or null when not counted,
 *            "latency": HIST,
 *            "policy": { "attempts": n, "retries": { reason: n ... },
 *                        "overflows": { kind: n ... },
 *                        "per_try_timeouts": n, "route_timeouts": n } }
 *   HIST: { "count": 0 } or { "count": n, "min": ns, "max": ns,
 *            "sum": ns (an integer while exact, else a number),
 *            "buckets": [ [index, count] ... ] }   hist.h's bucket indexes,
 *            increasing, counts > 0
 *   SERIES: one value per second from second 0, in columns "issued",
 *            "done", "ok", "attempts", "retries", "overflows", "ejected",
 *            and "latency": per second null or a HIST (that second's)
 *   INSTANCE: { "arrived", "served", "queue_full", "waited", "max_queue",
 *               "crashes", "ejections": n, "answered": { status: n },
 *               "wait": HIST }
 *   VERSIONS: the rollout service's calls per version (rec.h, rec_vseries),
 *             as the callers' sidecars recorded them, one step (rollout's
 *             judge step, 1s by default) a value from step "first":
 *             { "service": name, "step": ns, "first": k,
 *               "names": [version name ...],
 *               "versions": [ { "totals": { "calls", "failed", "slow": n },
 *                               "done", "non5xx", "calls", "failed", "slow":
 *                                   [n per step],
 *                               "istio": [ [[bucket, count] ...] per step ],
 *                                   Istio's duration buckets (rollout.h),
 *                                   sparse, 0 .. RO_ISTIO_BUCKETS (+Inf)
 *                               "latency": [ HIST or null per step ] } ... ] }
 *             A snapshot's has "first": 0; totals are over the whole run.
 *
 *   MTLS: mutual TLS (rec.h): { "workloads": n (service instances, then
 *             load clients),
 *             "tls": [ { "workload": w, "side": "inbound"|"outbound",
 *                        "full", "resumed", "plaintext": n,
 *                        "failed": { reason: n ... every reason } } ... ],
 *                 only rows with a count above zero, each at most once
 *             "certs": [ [at ns, workload, why ("issued", "renewed",
 *                        "expired", "foreign", "restored"), not_before_s,
 *                        not_after_s (seconds from the run's start, may be
 *                        below zero), root (0 the mesh CA, k the k-th
 *                        root_rotate fault's, 4294967295 a foreign root)]
 *                      ... ] } every certificate, sorted as rec_finish
 *                        sorts them
 *
 * Version 2 added "versions" and "authorization", version 3 "mtls"; a
 * snapshot of another version is refused.
 *
 * A snapshot always shows the recorder as rec_finish would leave it: a
 * recorder still open shows its open second and rows up to `now`.
 */
#ifndef REC_JSON_H
#define REC_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

#include "rec.h"

#define REC_JSON_FORMAT "meshsim-rec"
#define REC_JSON_VERSION 3

/* The Content-Type of rec_prometheus's output over HTTP. */
#define REC_PROMETHEUS_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

/* A snapshot of r (borrowed, not changed): everything another process
 * needs to merge r exactly. r must keep seconds (rec_keep_seconds; an
 * assert). `now` is used only while r is open (rec_finish not called): the
 * snapshot then shows r as rec_finish(r, now) would leave it; a finished r
 * shows its own end. Returns a new reference (caller json_decref's), or
 * NULL when out of memory. */
json_t *rec_snapshot(const rec *r, mesh_time now);

/* Add snapshot snap (borrowed) into dst, by rec_merge's rules (rec.h):
 * counters summed, histograms merged bucket by bucket, each second's
 * percentiles recomputed from its merged histogram, live_at_end summed
 * over the sources that counted, ejection events merged in time order,
 * end the latest, events summed. dst is switched to keeping seconds; it
 * should be fresh from rec_new or hold only merged snapshots.
 *
 * The whole snapshot is checked before dst changes: its shape, its
 * scenario against dst's model (name, services, replicas, clients, routes,
 * faults), and each histogram's consistency. Returns 0, or -1 with a
 * message naming the JSON path in err (dst unchanged). */
int rec_merge_snapshot(rec *dst, const json_t *snap, char *err, size_t errlen);

/* The per-version series of r's rollout service, VERSIONS above, from
 * the step that holds `from` on (earlier steps are left out; the totals
 * are whole): what a live analysis reads of a caller sidecar, GET
 * /versions, without the rest of its recorder. r must keep seconds.
 * Returns a new reference: json null when r's scenario has no rollout;
 * NULL when out of memory. */
json_t *rec_versions_json(const rec *r, mesh_time from);

/* Add VERSIONS document v (borrowed: a snapshot's "versions", or what
 * rec_versions_json made) into dst's per-version series by
 * rec_merge_vseries' rules (rec.h), after checking all of it against
 * dst's model (service, step, version names, counts that add up). Other
 * parts of dst are not touched. Returns 0, or -1 with a message naming
 * the JSON path in err (dst unchanged). */
int rec_merge_versions_json(rec *dst, const json_t *v, char *err, size_t errlen);

/* Write r's counters and histograms to `out` in the Prometheus text
 * exposition format 0.0.4. Names mirror Envoy's cluster statistics and
 * Istio's standard metrics where one means the same thing:
 *
 *   meshsim_requests_total{service,route,outcome}   caller's view, per route
 *       (istio_requests_total), and meshsim_requests_in_flight (gauge),
 *       meshsim_responses_total{service,route,response_code}
 *   meshsim_request_duration_seconds{service,route}  histogram
 *       (istio_request_duration_milliseconds, in seconds)
 *   per destination service (Envoy cluster.<name>.*):
 *       meshsim_upstream_rq_total (tries), meshsim_upstream_rq_retry_total{reason},
 *       meshsim_upstream_rq_active_overflow_total (max_requests),
 *       meshsim_upstream_rq_pending_overflow_total (max_pending),
 *       meshsim_upstream_rq_retry_overflow_total{cause="max_retries"|"retry_budget"},
 *       meshsim_upstream_cx_none_healthy_total,
 *       meshsim_upstream_rq_per_try_timeout_total, meshsim_upstream_rq_timeout_total,
 *       meshsim_outlier_detection_ejections_active (gauge),
 *       meshsim_outlier_detection_ejections_enforced_total
 *   meshsim_client_requests_total{client,outcome}, meshsim_client_requests_in_flight,
 *       meshsim_client_request_duration_seconds (histogram)
 *   per instance {service,version,instance}: meshsim_instance_requests_total,
 *       _requests_served_total, _requests_queued_total, _queue_full_total,
 *       meshsim_instance_queue_length_max (gauge), _crashes_total,
 *       _ejections_total, _responses_total{response_code},
 *       meshsim_instance_queue_wait_seconds (histogram)
 *   meshsim_fault_hits_total{fault,label}, meshsim_edge_requests_total{source,
 *       source_kind,destination,success}
 *   with a rollout, per version of its service, as the callers' sidecars
 *       routed them (istio_requests_total by destination_version):
 *       meshsim_version_requests_total{service,version,response_class=
 *       "non5xx"|"5xx"} (mirrored copies too) and
 *       meshsim_version_calls_total{service,version} (routed calls only)
 *   with an "mtls" block, per workload ("<service>/<instance>" or
 *       "client/<name>") and side ("inbound"|"outbound"), for the rows with
 *       anything counted: meshsim_tls_handshakes_total{workload,side,kind=
 *       "full"|"resumed"}, meshsim_tls_handshake_failures_total{workload,
 *       side,reason} (rec_tls_fail_name), meshsim_tls_plaintext_connections_total
 *       {workload,side}; per workload with a certificate:
 *       meshsim_certificates_total{workload,why} and the gauge
 *       meshsim_cert_expiry_seconds{workload}: its newest certificate's
 *       not_after, in seconds from the run's start (below zero for one that
 *       expired before the run began)
 *
 * Histograms have Istio's default buckets, in seconds: 0.0005 0.001 0.005
 * 0.01 0.025 0.05 0.1 0.25 0.5 1 2.5 5 10 30 60 300 600 1800 3600 +Inf.
 * They are read off the recorder's log-linear histograms, whose buckets
 * are finer but do not fall on these bounds: le="b" counts exactly the
 * values at or below the low edge of the recorder's bucket holding b, so it
 * never counts a value above b and misses only values within 1/128 (0.8%)
 * below b; when the largest value is at most b it counts all. _count counts
 * requests with a latency (every outcome but rejected).
 *
 * `labels` (may be NULL) is added to every sample's labels as written, in
 * exposition syntax, e.g. `pod="catalog-0"`; the caller escapes its
 * values. Returns 0, or -1 when writing to `out` failed. */
int rec_prometheus(const rec *r, FILE *out, const char *labels);

#endif
