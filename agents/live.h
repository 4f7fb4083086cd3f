/*
 * live.h - live mode: where the processes are and how they are driven.
 *
 * A live run starts, on loopback:
 *   - one app process per service instance ("meshsim agent app"), hosting
 *     the same service_agent the simulator runs, serving HTTP/1.1;
 *   - one sidecar process beside each instance and each load client
 *     ("meshsim agent sidecar"), hosting the same sidecar logic;
 *   - one load process ("meshsim agent load") hosting every load client;
 * and an orchestrator ("meshsim run --live") that starts them, waits until
 * they are ready, switches faults on schedule and collects their records.
 *
 * Addresses. Every pod has its own loopback address, as every pod of a
 * cluster has its own IP: pod p is 127.B.hi.lo with hi.lo = p + 1, where B
 * (the run's "net", 1..254) is chosen per run so that runs side by side do
 * not meet. Ports are Istio's: the sidecar's admin 15000, outbound 15001,
 * inbound 15006; the app on 8080; an app's or the load process's admin on
 * 15020.
 *
 * Pods: instance i of service s is pod first[s] + i, numbering instances
 * across services in scenario order (the simulator's order); load client
 * c's sidecar is pod ninst + c; the load process is pod ninst + nclients.
 *
 * Mutual TLS (a scenario with an "mtls" block): sidecar pod p is TLS
 * workload p (agents/tls_mesh.h). The orchestrator makes the mesh PKI once
 * per run, in a private directory it passes to every sidecar (--pki DIR)
 * and removes once they all have loaded it (and on every way out); the
 * sidecars' inbound listeners (15006) and their connections to each other
 * speak mutual TLS as the scenario's modes say.
 *
 * Agent ids (what the shared logic calls agents by): the app of instance k
 * is 2k and its sidecar 2k + 1; load client c is 2(ninst + c) and its
 * sidecar 2(ninst + c) + 1.
 *
 * The admin API (HTTP/1.1, bound to the pod's loopback address only):
 *   GET  /ready     200 once the listeners are up (readiness probe)
 *   POST /start?t0=NS[&epoch=NS]   set the run's time origin
 *                   (CLOCK_MONOTONIC ns); the load process starts its
 *                   clients then. epoch: the wall clock at t0 (ns since
 *                   the Unix epoch; default: read from the clocks), the
 *                   calendar of the certificates; a sidecar with mutual
 *                   TLS loads the PKI and gets its first certificate
 *                   now (500 with the reason if it cannot)
 *   POST /faults?id=I&on=0|1   switch scenario fault I on or off
 *   POST /weights   body {"service": S, "rule": R, "weights": {"v1": 90,
 *                   "v2": 10}, "mirror": M}: the split weights of route
 *                   rule R (an index into the service's "routes", or of
 *                   the rules a rollout owns; it must have a split), and
 *                   optionally Istio's mirror percentage; or several rules
 *                   at once: {"service": S, "rules": [{"rule": R,
 *                   "weights": {...}, "mirror": M} ...]}. All or nothing.
 *   GET  /weights   JSON: the split weights and mirror percentage in force,
 *                   per service with a split rule
 *   GET  /metrics   Prometheus text
 *   GET  /snapshot  JSON: {"pod": P, "kind": K, "rec": <recorder>, ...}
 *   GET  /versions?from=NS   JSON: {"pod": P, "versions": ...}: the
 *                   rollout service's per-version series as this process
 *                   recorded them, from the step holding NS on (rec_json.h):
 *                   what the orchestrator reads at each analysis
 *   POST /quit      exit cleanly
 */
#ifndef LIVE_H
#define LIVE_H

#include <stdint.h>

#include "model.h"

#define LIVE_PORT_ADMIN 15000
#define LIVE_PORT_OUTBOUND 15001
#define LIVE_PORT_INBOUND 15006
#define LIVE_PORT_APP 8080
#define LIVE_PORT_APP_ADMIN 15020

/* The process kinds. */
enum live_kind { LIVE_APP = 1, LIVE_SIDECAR, LIVE_LOAD };

/* The layout of a live run of model m. */
typedef struct live_topo {
	const model *m;
	unsigned net;        /* B in 127.B.x.y */
	uint32_t ninst;      /* service instances */
	uint32_t npods;      /* ninst + nclients + 1 (the load process) */
	uint32_t *first;     /* [nservices] first pod of each service */
	uint32_t *count;     /* [nservices] its replicas */
	uint32_t *inbound;   /* [ninst] agent id of each instance's sidecar */
	uint32_t *pod_service; /* [npods] service, or MODEL_CLIENTS */
} live_topo;

/* Fill t for model m (borrowed) on net B. Returns 0, -1 on no memory. */
int live_topo_init(live_topo *t, const model *m, unsigned net);
void live_topo_destroy(live_topo *t);

/* Pod p's address, "127.B.x.y", into buf (at least 16 bytes). */
void live_pod_ip(const live_topo *t, uint32_t pod, char *buf);
/* A name for pod p in logs and labels: "catalog-1", "client-web",
 * "load". Into buf of len bytes. */
void live_pod_name(const live_topo *t, uint32_t pod, char *buf, unsigned len);

/* `meshsim agent KIND FILE ...`: run one agent process until SIGTERM,
 * SIGINT, POST /quit or the parent's death. argv[0] is "agent". Returns
 * the exit status. */
int live_agent_main(int argc, char **argv);

#endif
