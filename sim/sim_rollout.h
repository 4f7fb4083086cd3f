/*
 * sim_rollout.h - the simulator's host for the rollout controller.
 *
 * The controller (agents/rollout.h) is host-independent, and so is most
 * of hosting it (agents/rollout_host.h, shared with live mode):
 * per-version measurements read from the recorder, routes applied by
 * rewriting the split weights (and mirror percentage) of the rules the
 * sidecars read, the blast radius. What is the simulator's own is here:
 * the controller's timers on the event heap, in virtual time. The
 * scenario's model stays read-only: the sidecars read a copy of it whose
 * rollout service has its own rules.
 */
#ifndef SIM_ROLLOUT_H
#define SIM_ROLLOUT_H

#include "mesh.h"
#include "model.h"
#include "rec.h"

typedef struct sim_rollout sim_rollout;

/* Called when the rollout is decided, at the decision's virtual time. */
typedef void (*sim_rollout_decided_fn)(void *arg);

/* A host for m's rollout, recording into r (both borrowed). Returns 0 with
 * *out NULL when m has no rollout; -1 when out of memory. */
int sim_rollout_new(const model *m, rec *r, sim_rollout **out);
void sim_rollout_free(sim_rollout *x);

/* The model the agents must read: m with the rollout service's own,
 * rewritable route rules. Owned by x. */
const model *sim_rollout_model(const sim_rollout *x);

void sim_rollout_on_decided(sim_rollout *x, sim_rollout_decided_fn fn,
			    void *arg);

/* Schedule the rollout's start on env's timers. Returns 0, or -1 when out
 * of memory. */
int sim_rollout_start(sim_rollout *x, mesh_env *env);

/* The run ended: copy the blast radius into the log. */
void sim_rollout_finish(sim_rollout *x);

#endif
