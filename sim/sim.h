/*
 * sim.h - the discrete-event simulator: a host for the mesh agents.
 *
 * It provides the environment of agents/mesh.h in virtual time: one event
 * heap (ties broken by insertion order), timers, and a virtual network that
 * delivers each message after a hop latency drawn from the scenario (one
 * distribution within a pod, one between pods). Same scenario and seed, same
 * events in the same order, same report bytes.
 *
 * sim_new builds the whole mesh from a model: for each service instance an
 * app agent and its sidecar; for each load client the client and its own
 * sidecar. Each agent draws from its own random stream, named after it.
 */
#ifndef SIM_H
#define SIM_H

#include "mesh.h"
#include "model.h"
#include "rec.h"
#include "sim_heap.h"

typedef struct sim sim;

/* Called every so many events, so a front end can show progress. */
typedef void (*sim_progress_fn)(void *arg, mesh_time now, uint64_t events,
				uint64_t requests);

/* A simulator for m with seed `seed`, recording into r. Borrows m and r,
 * which must outlive it. NULL when out of memory. */
sim *sim_new(const model *m, uint64_t seed, rec *r);
void sim_free(sim *s);

void sim_set_progress(sim *s, sim_progress_fn fn, void *arg);

/* More events than this at one virtual instant means time has stopped. */
#define SIM_STALL_EVENTS 10000000u

/* Run until no event is left before duration + drain, then close the
 * recorder. Returns 0; -1 when the simulator ran out of memory; -2 when
 * virtual time stopped advancing (SIM_STALL_EVENTS events at one instant:
 * a loop that costs no time). After an error the report would be
 * incomplete and must not be trusted. */
int sim_run(sim *s);

/* Why sim_run returned -1 when memory was not the reason (mutual TLS: a
 * plug-in CA that cannot be loaded, a certificate that cannot be
 * issued), or NULL. */
const char *sim_error(const sim *s);

/* Events processed so far. */
uint64_t sim_events(const sim *s);
/* Event records ever allocated: the most events pending at once. Memory
 * follows this, not the number of events run. */
uint32_t sim_event_slots(const sim *s);
/* Current virtual time. */
mesh_time sim_now(const sim *s);

/* End the run as soon as the scenario's rollout is decided (a sweep needs
 * nothing after it). Nothing for a scenario without a rollout. */
void sim_stop_at_decision(sim *s);

#endif
