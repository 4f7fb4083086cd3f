/*
 * client.h - a load client, as logic shared by both hosts.
 *
 * Open loop (as wrk2 and Vegeta do): requests leave on a schedule, constant
 * or Poisson, whatever the answers do; the rate changes in phases. Latency
 * is measured from each request's intended send time, so a stalled system
 * cannot hide its stall (no coordinated omission). An optional limit on
 * requests in flight rejects, and counts, what would exceed it.
 *
 * Closed loop: N users, each sends a request, waits for the answer (or its
 * timeout), thinks for a drawn time, and sends again.
 *
 * Every request goes through the client's own sidecar, which balances it
 * over the target service's instances. No request is sent at or after the
 * scenario's duration.
 */
#ifndef CLIENT_H
#define CLIENT_H

#include "mesh.h"
#include "model.h"
#include "pool.h"
#include "rng.h"

typedef struct client_agent {
	mesh_agent base;
	const model_client *def;
	uint32_t index;        /* in model->clients */
	uint32_t sidecar;
	mesh_time duration;
	rng rng;
	pool reqs;
	/* open loop schedule */
	uint32_t phase;        /* current phase */
	double next_d;         /* next constant-rate send time, fractional ns */
	uint64_t next_req_id;
} client_agent;

void client_init(client_agent *c, mesh_env *env, uint32_t id, uint32_t pod,
		 const model_client *def, uint32_t index, uint32_t sidecar,
		 mesh_time duration, uint64_t seed, const char *stream);
void client_destroy(client_agent *c);

static inline uint32_t client_in_flight(const client_agent *c)
{
	return c->reqs.live;
}

#endif
