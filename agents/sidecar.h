/*
 * sidecar.h - the mesh sidecar proxy, as logic shared by both hosts.
 *
 * One sidecar sits beside every service instance and every load client.
 *
 * Outbound (its app calls another service) it does what Envoy's HTTP
 * connection manager and router do for a cluster: apply the caller-side
 * faults (Istio's VirtualService fault delay and abort are applied by the
 * calling sidecar), pick the first route rule that matches and a version by
 * its weights, enforce the circuit breakers, balance over the healthy
 * instances, time the tries and the route, retry with jittered backoff
 * under a budget, and eject outliers. It records every request per route:
 * the caller's view, as Envoy's upstream stats and Istio's source-reported
 * metrics are.
 *
 * Inbound (a remote sidecar calls its app) it first enforces the
 * authorization policies that select its service, as Istio's RBAC filter
 * in the server-side Envoy does (a denied request is answered 403 at once
 * and never reaches the app), then hands requests to the app, applies
 * faults aimed at this very instance or version, and answers for the app
 * when the app has crashed.
 *
 * Each pass through the sidecar, request or response, costs a processing
 * time drawn from its latency distribution.
 */
#ifndef SIDECAR_H
#define SIDECAR_H

#include "dist.h"
#include "mesh.h"
#include "model.h"
#include "pool.h"
#include "rng.h"

/* Where the instances are: the inbound sidecar of instance i of service s is
 * agent inbound[first[s] + i], for i < count[s]. Built by the host. */
typedef struct mesh_topo {
	const uint32_t *first;
	const uint32_t *count;
	const uint32_t *inbound;
} mesh_topo;

/* This sidecar's view of one instance of a cluster. */
typedef struct sc_host {
	uint32_t active;        /* requests in flight to it */
	uint32_t consec_5xx;
	uint32_t consec_gw;
	uint32_t ejections;     /* Envoy's ejection multiplier */
	mesh_time ejected_at;
	uint8_t ejected;
	double ewma;            /* peak-EWMA round trip, ns */
	mesh_time ewma_t;
} sc_host;

#define SC_BUDGET_SLOTS 64

/* This sidecar's view of one upstream cluster (a destination service). */
typedef struct sc_cluster {
	sc_host *hosts;
	uint32_t n;
	uint32_t rr;
	uint32_t active;         /* tries in flight */
	uint32_t pending;        /* requests waiting for a connection */
	uint64_t *pq;            /* FIFO of waiting requests' tags (may hold
				  * stale ones; `pending` is exact) */
	uint32_t pq_head, pq_len, pq_cap;
	uint32_t active_retries;
	uint32_t nejected;
	int sweeping;            /* outlier interval timer running */
	/* Linkerd's retry budget: requests and retries per second over the
	 * budget's window. */
	uint64_t b_req[SC_BUDGET_SLOTS], b_retry[SC_BUDGET_SLOTS];
	uint64_t b_sec[SC_BUDGET_SLOTS];
	/* Ring hash: points sorted by hash, each owned by a host. */
	uint64_t *ring_hash;
	uint32_t *ring_host;
	uint32_t ring_n;
} sc_cluster;

typedef struct sidecar {
	mesh_agent base;
	uint32_t app;            /* the local app or client */
	uint32_t service;        /* the app's service, or MODEL_CLIENTS */
	uint32_t instance;       /* its index within the service */
	const dist *latency;
	int latency_zero;
	const mesh_topo *topo;
	sc_cluster *clusters;    /* per destination service */
	uint32_t nservices;
	int app_down;            /* the local app has crashed */
	/* The authorization policies selecting this instance's service
	 * (authz.h), or NULL when none does: then every request is allowed
	 * at the cost of one branch. */
	const authz_set *authz;
	rng rng;
	pool out;                /* outbound requests */
	pool tries;              /* outbound tries in flight */
	pool in;                 /* inbound requests */
	/* A load client's sidecar: its outbound request by the client's
	 * record index (client tags are dense), so a cancel finds it at
	 * once. */
	uint64_t *by_peer;
	uint32_t nby_peer;
} sidecar;

/* Set up sc as agent `id` in `pod`, in front of agent `app`, which is
 * instance `instance` of `service` (MODEL_CLIENTS for a
 * load client's sidecar). Borrows env, latency and topo. Draws its stream
 * from (seed, stream). Returns 0, or -1 when out of memory (then call
 * sidecar_destroy). */
int sidecar_init(sidecar *sc, mesh_env *env, uint32_t id, uint32_t pod,
		 uint32_t app, uint32_t service, uint32_t instance,
		 const dist *latency, const mesh_topo *topo,
		 uint32_t nservices, uint64_t seed, const char *stream);

void sidecar_destroy(sidecar *sc);

/* The local app crashed (down = 1): every request it was serving is
 * answered 503 with the upstream-reset flag, and new ones 503 with the
 * connection-failure flag, until it is back (down = 0). */
void sidecar_app_down(sidecar *sc, int down);

/* The full-jitter backoff before retry number n (1-based), as Envoy's
 * JitteredExponentialBackOffStrategy: uniform in [0, (2^n - 1) * base),
 * capped at max. Exposed for tests. */
mesh_time sidecar_backoff(const model_retry *r, uint32_t n, rng *g);

/* Whether a try that ended with (status, flags), or a per-try timeout, may
 * be retried under r; and why, as an index into rec's retry reasons.
 * Returns -1 when it may not. Exposed for tests. */
int sidecar_retry_reason(const model_retry *r, unsigned status,
			 uint32_t flags, int per_try_timeout);

/* How many retries may be active at once under Envoy's retry budget:
 * budget_percent of active plus pending requests, at least
 * min_retry_concurrency. Exposed for tests. */
double sidecar_envoy_budget(const model_retry *r, uint32_t active,
			    uint32_t pending);

/* How many retries the window may hold under Linkerd's budget: ratio times
 * the requests of the window plus min_retries_per_second times its
 * seconds. Exposed for tests. */
double sidecar_linkerd_budget(const model_retry *r, uint64_t requests,
			      uint64_t ttl_seconds);

#endif
