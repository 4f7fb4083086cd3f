/*
 * rollout_host.h - what a host does for the rollout controller, written
 * once for both hosts.
 *
 * The controller (rollout.h) reads no clock and touches no sidecar. Its
 * host has to: hand it measurements, read from a recorder's per-version
 * series (rec.h) as a metrics server would answer Flagger's queries; turn
 * the routes it asks for into the split weights and mirror percentage of
 * the route rules the rollout owns (the loader made them, as Flagger makes
 * its VirtualService); and copy the blast radius into the log at the
 * decision and at the end. All of that is here, so that the simulator and
 * live mode cannot drift apart. What is left to each host:
 *
 *   - when to call rollout_host_begin and rollout_host_tick: the simulator
 *     at the times they return on its event heap, in virtual time; live
 *     mode on the orchestrator's libevent timers, in real time since t0;
 *   - which recorder the measurements come from (rollout_host_set_rec):
 *     the simulator's own; in live mode one merged, at each analysis, from
 *     the per-version series of every caller sidecar;
 *   - how the rules reach the sidecars: the simulator's sidecars read the
 *     model of rollout_host_model, whose rules this rewrites; live mode
 *     sends rollout_host_rules to every sidecar's admin endpoint (POST
 *     /weights) when rollout_host_on_routed says they changed.
 *
 * Shared agent logic: no I/O, no clock.
 */
#ifndef ROLLOUT_HOST_H
#define ROLLOUT_HOST_H

#include <stdint.h>

#include "mesh.h"
#include "model.h"
#include "rec.h"
#include "rollout.h"

typedef struct rollout_host rollout_host;

/* The controller changed the routes: rollout_host_rules holds the new
 * rules. Called from within rollout_host_begin or rollout_host_tick,
 * possibly more than once in one call (Argo's setWeight steps one after
 * the other). */
typedef void (*rollout_host_routed_fn)(void *arg);

/* A host for the rollout of m (m->rollout must be set; m borrowed, and
 * must outlive it), measuring from recorder r (borrowed; may be NULL
 * until rollout_host_set_rec) and logging into log (borrowed, initialised
 * with rollout_log_init). It holds a shallow copy of m whose rollout
 * service has route rules of its own, set to every request on the stable
 * version, as before a rollout starts. NULL when out of memory. */
rollout_host *rollout_host_new(const model *m, rec *r, rollout_log *log);
void rollout_host_free(rollout_host *x);

/* The model the sidecars must route by: m with the rollout's rules as the
 * controller last set them. Owned by x. */
const model *rollout_host_model(const rollout_host *x);

/* Those rules (the rollout service's route rules), *n of them. Owned by x;
 * valid until the next begin or tick changes them. */
const model_rule *rollout_host_rules(const rollout_host *x, uint32_t *n);

void rollout_host_on_routed(rollout_host *x, rollout_host_routed_fn fn, void *arg);

/* Read measurements from r (borrowed) from now on. */
void rollout_host_set_rec(rollout_host *x, rec *r);

/* Start the rollout at `now`, or run the analysis or step due at `now`
 * (rollout_begin, rollout_tick). When this decides the rollout, the blast
 * radius until the decision is taken from the recorder's canary totals.
 * Returns when to call rollout_host_tick next (absolute), or MESH_NEVER
 * once it is decided. */
mesh_time rollout_host_begin(rollout_host *x, mesh_time now);
mesh_time rollout_host_tick(rollout_host *x, mesh_time now);

int rollout_host_decided(const rollout_host *x);

/* The log it writes (the one given to rollout_host_new). */
const rollout_log *rollout_host_log(const rollout_host *x);

/* The earliest time a measurement at `now` reads from: `now` minus the
 * longest window of the rollout (its interval, every check's window and
 * every analysis step's interval), at 0 at the earliest. What a host that
 * gathers the per-version series from elsewhere must fetch. */
mesh_time rollout_host_lookback(const rollout_host *x, mesh_time now);

/* The run ended: the blast radius over the whole run from r's canary
 * totals (r borrowed; the run's whole recorder), and, when the rollout
 * was never decided, as "at the decision" too. */
void rollout_host_finish(rollout_host *x, const rec *r);

#endif
