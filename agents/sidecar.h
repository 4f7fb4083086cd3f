/*
 * sidecar.h - the mesh sidecar proxy, as logic shared by both hosts.
 *
 * One sidecar sits beside every service instance and every load client.
 * Outbound, it takes a request from its local app, picks an instance of the
 * destination service and forwards to that instance's sidecar. Inbound, it
 * takes a request from a remote sidecar and hands it to its local app. Each
 * pass through the sidecar, request or response, costs a processing time
 * drawn from its latency distribution.
 *
 * For now the sidecar forwards and balances round robin (Envoy's ROUND_ROBIN,
 * starting from a random host as Envoy does so that sidecars do not move in
 * lock step). Outbound it records every request per route: the caller's view,
 * as Envoy's upstream cluster stats and Istio's source-reported metrics are.
 */
#ifndef SIDECAR_H
#define SIDECAR_H

#include "dist.h"
#include "mesh.h"
#include "pool.h"
#include "rng.h"

/* Where the instances are: the inbound sidecar of instance i of service s is
 * agent inbound[first[s] + i], for i < count[s]. Built by the host. */
typedef struct mesh_topo {
	const uint32_t *first;
	const uint32_t *count;
	const uint32_t *inbound;
} mesh_topo;

typedef struct sidecar {
	mesh_agent base;
	uint32_t app;            /* the local app or client */
	const dist *latency;
	int latency_zero;
	const mesh_topo *topo;
	uint32_t *rr;            /* round-robin cursor per service */
	uint32_t nservices;
	rng rng;
	pool pending;
} sidecar;

/* Set up sc as agent `id` in `pod`, in front of agent `app`. Borrows env,
 * latency and topo. Draws its stream from (seed, stream). Returns 0, or -1
 * when out of memory (sc then needs no cleanup). */
int sidecar_init(sidecar *sc, mesh_env *env, uint32_t id, uint32_t pod,
		 uint32_t app, const dist *latency, const mesh_topo *topo,
		 uint32_t nservices, uint64_t seed, const char *stream);

void sidecar_destroy(sidecar *sc);

/* Requests this sidecar holds (either direction). */
static inline uint32_t sidecar_in_flight(const sidecar *sc)
{
	return sc->pending.live;
}

#endif
