#include "sim_rollout.h"

#include <stdlib.h>

#include "rollout_host.h"

/* The simulator's part of hosting a rollout: its timers on the event heap.
 * Measurements, routes and the blast radius are rollout_host's, shared
 * with live mode. */
struct sim_rollout {
	mesh_agent agent;        /* first: timers call back with it */
	rec *r;
	const model_rollout *cfg;
	rollout_host *host;
	sim_rollout_decided_fn decided;
	void *decided_arg;
};

static void tick(mesh_agent *a, uint64_t first)
{
	sim_rollout *x = (sim_rollout *)a;
	mesh_env *env = a->env;
	mesh_time now = mesh_now(env);
	mesh_time next = first ? rollout_host_begin(x->host, now)
			       : rollout_host_tick(x->host, now);
	if (rollout_host_decided(x->host)) {
		if (x->decided)
			x->decided(x->decided_arg);
		return;
	}
	if (next != MESH_NEVER && next > now)
		env->ops->timer_start(env, next - now, a, tick, 0);
}

int sim_rollout_start(sim_rollout *x, mesh_env *env)
{
	x->agent.env = env;
	return env->ops->timer_start(env, x->cfg->start, &x->agent, tick, 1) ? 0 : -1;
}

void sim_rollout_finish(sim_rollout *x)
{
	rollout_host_finish(x->host, x->r);
}

int sim_rollout_new(const model *m, rec *r, sim_rollout **out)
{
	*out = NULL;
	if (!m->rollout)
		return 0;
	sim_rollout *x = calloc(1, sizeof *x);
	if (!x)
		return -1;
	x->r = r;
	x->cfg = m->rollout;
	/* The sidecars read the host's model, whose rollout rules it
	 * rewrites in place: a change applies to the next request. */
	x->host = rollout_host_new(m, r, r->ro_log);
	if (!x->host) {
		free(x);
		return -1;
	}
	*out = x;
	return 0;
}

void sim_rollout_free(sim_rollout *x)
{
	if (!x)
		return;
	rollout_host_free(x->host);
	free(x);
}

const model *sim_rollout_model(const sim_rollout *x)
{
	return rollout_host_model(x->host);
}

void sim_rollout_on_decided(sim_rollout *x, sim_rollout_decided_fn fn,
			    void *arg)
{
	x->decided = fn;
	x->decided_arg = arg;
}
