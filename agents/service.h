/*
 * service.h - a fake service instance, as logic shared by both hosts.
 *
 * An instance has `concurrency` workers and a FIFO waiting room of `queue`
 * places. A request that finds a free worker starts at once; otherwise it
 * waits; when the waiting room is full it is answered 503 at once, as an
 * overloaded server's accept queue or an Envoy overflow does. A request holds
 * its worker for its whole script, downstream calls included, as a
 * thread-per-request server does: so a slow dependency fills its callers'
 * workers and queues, which is how slowness spreads through a mesh.
 *
 * The script is a list of steps, the shape of istio/tools isotope: work for
 * a drawn time, call one service, or call several at once and wait for all.
 * Calls go through the instance's own sidecar. If any call in a step fails
 * (a response outside 2xx) the script stops there and the instance answers
 * 500. When the script completes, the instance answers an error status with
 * the service's configured probabilities, else 200 with response_size bytes.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include "mesh.h"
#include "model.h"
#include "pool.h"
#include "rec.h"
#include "rng.h"

typedef struct service_agent {
	mesh_agent base;
	const model_service *svc;
	const model_behavior *def; /* its version's behaviour */
	uint32_t sidecar;       /* our sidecar's agent id */
	uint32_t busy;          /* workers in use */
	uint32_t qhead, qtail;  /* FIFO of waiting requests (pool indexes) */
	uint32_t qlen;
	rec_instance *ri;       /* our counters */
	rng rng;
	pool reqs;
	uint32_t index;         /* the instance's index in its service */
	int down;               /* crashed: drops everything until restarted */
	double slowdown;        /* service times are multiplied by this (>= 1) */
	uint32_t workers_removed;
} service_agent;

/* Set up a as agent `id` in `pod`, an instance of version `def` of svc,
 * with its sidecar at agent `sidecar`. Borrows env, svc, def and ri. Never
 * fails. */
void service_init(service_agent *a, mesh_env *env, uint32_t id, uint32_t pod,
		  const model_service *svc, uint32_t index,
		  const model_behavior *def, uint32_t sidecar, rec_instance *ri,
		  uint64_t seed, const char *stream);

/* The app process dies: every request it holds is forgotten (its sidecar
 * answers the callers) and nothing is answered until service_restart. */
void service_crash(service_agent *a);
/* It comes back, empty. */
void service_restart(service_agent *a);

/* A capacity fault: service times multiplied by slowdown (>= 1) and
 * `removed` workers taken away (at least one always stays). Applies to
 * work started from now on; (1, 0) restores full capacity. */
void service_set_capacity(service_agent *a, double slowdown, uint32_t removed);

void service_destroy(service_agent *a);

#endif
