/*
 * live_env.h - the live host: the mesh environment (agents/mesh.h) on a
 * libevent loop, with messages carried as real HTTP/1.1.
 *
 * A process hosts one or more agents (an app, a sidecar, or the load
 * clients). The host gives them the monotonic clock (nanoseconds since the
 * run's t0), libevent timers, and a `send` that turns a mesh_msg into HTTP:
 *
 *   - a request from an agent becomes an HTTP request to the process that
 *     hosts its destination: an app's own sidecar (outbound port), another
 *     pod's sidecar (inbound port) or the sidecar's app;
 *   - an HTTP request arriving on a listener becomes a MESH_REQ for the
 *     agent behind it, tagged with the host's handle of that exchange; the
 *     agent's MESH_RESP with that tag becomes the HTTP response;
 *   - an HTTP response becomes a MESH_RESP to the agent that asked, with
 *     its own tag; a connection that fails becomes the 503 with Envoy's UF
 *     (connect failure) or UR (reset) flag the simulator would deliver.
 *
 * Bodies are streamed, not built: a request's body goes to every try of it
 * (kept for retries up to LIVE_RETRY_BUFFER bytes, as Envoy's
 * per_request_buffer_limit_bytes), and an upstream's response body flows to
 * the downstream as it arrives, with backpressure. What the agents carry of
 * an exchange is the `xref` handle (mesh.h).
 *
 * Wire headers the hosts add for each other (real peers ignore them):
 * x-meshsim-source (the calling service, for partitions) and
 * x-meshsim-flags (Envoy's response flags of a local reply, e.g. "UO,URX").
 * x-request-id is added when missing and always propagated.
 *
 * Mutual TLS (a scenario's "mtls" block, live_host_set_mtls): a sidecar's
 * inbound listener speaks its PeerAuthentication mode, and its
 * connections to other pods' inbound listeners are mutual TLS when Istio's
 * auto mTLS says so, as Envoy's are. The callee then learns who calls only
 * from the client's certificate, as Istio's RBAC filter does: what
 * x-meshsim-source says is no identity any more (it still names the
 * calling service for the network faults between pods, a thing of the
 * harness's network, not of the mesh).
 */
#ifndef LIVE_ENV_H
#define LIVE_ENV_H

#include <stdint.h>

#include "live.h"
#include "mesh.h"
#include "model.h"

struct event_base;
struct rec;
struct timeval;

#define LIVE_RETRY_BUFFER (1u << 20)

typedef struct live_host live_host;

/* What a listener's requests are: from the app to its sidecar
 * (outbound), from another pod to a sidecar (inbound), or from a sidecar
 * to its app. */
enum live_listener { LIVE_L_OUTBOUND = 1, LIVE_L_INBOUND, LIVE_L_APP };

/* A host on base for the run laid out by topo, recording into r, reading
 * faults_on (both borrowed). `pod` is the pod this process is. Returns NULL
 * on no memory. */
live_host *live_host_new(struct event_base *base, const live_topo *topo,
			 uint32_t pod, struct rec *r, const uint8_t *faults_on);
void live_host_free(live_host *h);

/* The environment to give the agents this host runs. */
mesh_env *live_host_env(live_host *h);

/* Host agent a (already initialised with live_host_env). */
void live_host_add(live_host *h, mesh_agent *a);

/* Listen on ip:port for requests to agent a (hosted here). Fills err on
 * failure. */
int live_host_listen(live_host *h, mesh_agent *a, enum live_listener kind,
		     const char *ip, uint16_t port, char *err, size_t errlen);

/* Send the app's traffic (a sidecar's requests to agent `app`) to
 * addr:port instead of its pod's app port: for a real server such as
 * nginx. */
void live_host_set_app_addr(live_host *h, const char *addr, uint16_t port);

/* The run's time origin, CLOCK_MONOTONIC ns. Before it is set (or before
 * t0) the clock reads 0. */
void live_host_set_t0(live_host *h, uint64_t t0);
uint64_t live_host_t0(const live_host *h);
/* CLOCK_MONOTONIC now, ns. */
uint64_t live_monotonic_ns(void);
/* The wall clock (CLOCK_REALTIME, ns since the Unix epoch) at monotonic
 * time `mono`: what run time 0 is on the calendar when mono is the run's
 * t0 (tls_mesh's epoch_ns). Both clocks are read once, back to back. */
int64_t live_wall_ns_at(uint64_t mono);
/* ns as a timeval for libevent (microseconds, rounded down). */
struct timeval live_timeval(uint64_t ns);

/* The faults changed (faults_on was written): apply what the host itself
 * enforces (bandwidth limits on the sidecar's upstream connections). */
void live_host_faults_changed(live_host *h);

struct tls_mesh;

/* Host workload w's side of the mesh's mutual TLS (agents/tls_mesh.h; w is
 * this pod's sidecar, so w == pod) with the mesh PKI t (borrowed; it must
 * outlive h). Call it once, after the listeners are made and after
 * tls_mesh_start(t, w) (a workload without an identity needs no start).
 * From then on:
 *   - the inbound listener speaks tls_mesh_inbound_mode(t, w) (STRICT,
 *     PERMISSIVE or plaintext only) with w's server context, and refuses
 *     client certificates of another trust domain;
 *   - a connection to another pod's inbound listener is mutual TLS with
 *     w's client context when tls_mesh_caller_tls(t, w, callee's service),
 *     requiring the callee workload's SPIFFE ID; else plaintext;
 *   - a request arriving on the inbound listener carries the identity of
 *     its client's certificate as mesh_msg.src (tls_mesh_src_of_id), none
 *     (0) over plaintext, whatever x-meshsim-source says;
 *   - live_host_tls_record counts the handshakes into the recorder.
 * A failed handshake ends the try as Envoy's 503 UF (connect failure), a
 * plaintext request that a STRICT inbound closes as 503 UR (reset), as in
 * the simulator. Returns 0, or -1 with err filled (h is then as it was). */
int live_host_set_mtls(live_host *h, struct tls_mesh *t, uint32_t w,
		       char *err, size_t errlen);

/* w's certificate, contexts or inbound mode changed (a renewal, a fault):
 * the listener and the pools take the new ones for the connections they
 * open from now on; open connections keep theirs, so nothing in flight
 * fails, as Envoy keeps open connections when SDS pushes a new secret.
 * Returns 0, or -1 with err filled (what could be changed was). */
int live_host_tls_update(live_host *h, char *err, size_t errlen);

/* Add the mutual TLS handshakes, plaintext connections and failures the
 * inbound listener and the pools to other pods counted since the last
 * call into the recorder (rec_tls_*), on the side that saw each: the
 * listener's as w's inbound, the pools' as w's outbound. Nothing without
 * live_host_set_mtls. Call it before the recorder is read. */
void live_host_tls_record(live_host *h);

/* Counters of the host, for /metrics and the snapshot. */
typedef struct live_host_stats {
	uint64_t requests_in;     /* HTTP requests received */
	uint64_t requests_out;    /* HTTP requests sent */
	uint64_t no_route;        /* answered 404: no such service or path */
	uint64_t upstream_connect_fail;
	uint64_t upstream_reset;
	uint64_t downstream_abort;
	uint64_t exchanges_open;  /* host exchanges in use now */
	uint64_t timers_open;
	uint32_t connections_in, connections_out;
} live_host_stats;

void live_host_stats_get(const live_host *h, live_host_stats *st);

/* HTTP exchanges the host still holds for its agents: the leak check at
 * the end of a run (timers are in live_host_stats). */
uint64_t live_host_open(const live_host *h);

#endif
