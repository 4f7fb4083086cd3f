#include "sim_rollout.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rollout.h"

struct sim_rollout {
	mesh_agent agent;        /* first: timers call back with it */
	const model *orig;
	model copy;              /* shallow, but for the rollout's rules */
	model_service *services;
	model_rule *rules;
	rec *r;
	const model_rollout *cfg;
	rollout_ctl *ctl;
	sim_rollout_decided_fn decided;
	void *decided_arg;
};

/* ---- what the controller reads: the recorder's per-version rows ---- */

static void rows_of(const rec *r, mesh_time from, mesh_time to, uint32_t *a,
		    uint32_t *b)
{
	*a = (uint32_t)(from / r->vs_step);
	*b = (uint32_t)(to / r->vs_step);
}

static void io_window(void *ctx, uint32_t version, mesh_time from,
		      mesh_time to, ro_stats *out)
{
	sim_rollout *x = ctx;
	rec *r = x->r;
	rec_version_flush(r, to);
	const rec_vseries *v = &r->vs[version];
	uint64_t ib[RO_ISTIO_BUCKETS + 1] = {0};
	uint32_t a, b;
	rows_of(r, from, to, &a, &b);
	memset(out, 0, sizeof *out);
	for (uint32_t k = a; k < b && k < v->nrows; k++) {
		const rec_vrow *row = &v->rows[k];
		out->requests += row->done;
		out->non5xx += row->non5xx;
		for (int i = 0; i <= RO_ISTIO_BUCKETS; i++)
			ib[i] += row->ib[i];
	}
	/* As Flagger's Prometheus queries over Istio's metrics: the share of
	 * non-5xx responses, and histogram_quantile over the buckets. */
	out->success = out->requests ? 100.0 * (double)out->non5xx /
					       (double)out->requests
				     : NAN;
	out->p99_ms = ro_histogram_quantile(0.99, ib);
	out->p50_ms = ro_histogram_quantile(0.50, ib);
}

static size_t io_series(void *ctx, uint32_t version, enum ro_metric metric,
			mesh_time step, mesh_time from, mesh_time to,
			double *out, size_t max)
{
	sim_rollout *x = ctx;
	rec *r = x->r;
	(void)step; /* the loader makes it the recorder's step */
	rec_version_flush(r, to);
	const rec_vseries *v = &r->vs[version];
	uint32_t a, b;
	rows_of(r, from, to, &a, &b);
	size_t n = 0;
	for (uint32_t k = a; k < b && k < v->nrows && n < max; k++) {
		const rec_vrow *row = &v->rows[k];
		if (!row->done)
			continue;
		uint32_t lat = 0;
		for (int i = 0; i <= RO_ISTIO_BUCKETS; i++)
			lat += row->ib[i];
		double ok = 100.0 * row->non5xx / row->done;
		switch (metric) {
		case RO_M_SUCCESS: out[n++] = ok; break;
		case RO_M_ERRORS: out[n++] = 100.0 - ok; break;
		case RO_M_P99:
			if (lat)
				out[n++] = (double)row->p99 / 1e6;
			break;
		case RO_M_P50:
			if (lat)
				out[n++] = (double)row->p50 / 1e6;
			break;
		case RO_M_COUNT: break;
		}
	}
	return n;
}

/* ---- what the controller writes: the sidecars' split weights ---- */

static void set_rule(model_rule *rule, double stable, double canary,
		     double baseline, double mirror)
{
	rule->splits[0].weight = stable;
	rule->splits[1].weight = canary;
	if (rule->nsplits > 2)
		rule->splits[2].weight = baseline;
	rule->mirror_percent = mirror;
}

static void io_route(void *ctx, const ro_routes *rt)
{
	sim_rollout *x = ctx;
	const model_rollout *c = x->cfg;
	double stable = 100.0 - rt->canary - rt->baseline;
	if (stable < 0)
		stable = 0;
	set_rule(&x->rules[c->rule_default], stable, rt->canary, rt->baseline,
		 rt->mirror);
	if (c->rule_header != MODEL_NONE) {
		double w = rt->header_to_canary ? 100 : rt->canary;
		set_rule(&x->rules[c->rule_header], 100 - w, w, 0, rt->mirror);
	}
}

/* ---- timers ---- */

static void snapshot(sim_rollout *x, int at_decision)
{
	rollout_log *l = x->r->ro_log;
	const rec_vseries *v = &x->r->vs[x->cfg->canary];
	if (at_decision) {
		l->at_decision_calls = v->calls;
		l->at_decision_failed = v->failed;
		l->at_decision_slow = v->slow;
	} else {
		l->canary_calls = v->calls;
		l->harmed_failed = v->failed;
		l->harmed_slow = v->slow;
	}
}

static void tick(mesh_agent *a, uint64_t first)
{
	sim_rollout *x = (sim_rollout *)a;
	mesh_env *env = a->env;
	mesh_time now = mesh_now(env);
	mesh_time next = first ? rollout_begin(x->ctl, now)
			       : rollout_tick(x->ctl, now);
	if (rollout_decided(x->ctl)) {
		snapshot(x, 1);
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
	snapshot(x, 0);
	if (!rollout_decided(x->ctl))
		snapshot(x, 1);
}

/* ---- set up ---- */

int sim_rollout_new(const model *m, rec *r, sim_rollout **out)
{
	*out = NULL;
	if (!m->rollout)
		return 0;
	sim_rollout *x = calloc(1, sizeof *x);
	if (!x)
		return -1;
	x->orig = m;
	x->r = r;
	x->cfg = m->rollout;
	x->copy = *m;
	x->services = malloc(m->nservices * sizeof *x->services);
	const model_policy *p = &m->services[x->cfg->service].policy;
	x->rules = calloc(p->nrules, sizeof *x->rules);
	if (!x->services || !x->rules)
		goto fail;
	memcpy(x->services, m->services, m->nservices * sizeof *x->services);
	for (uint32_t i = 0; i < p->nrules; i++) {
		x->rules[i] = p->rules[i];
		x->rules[i].splits = malloc(p->rules[i].nsplits * sizeof(model_split));
		if (!x->rules[i].splits)
			goto fail;
		memcpy(x->rules[i].splits, p->rules[i].splits,
		       p->rules[i].nsplits * sizeof(model_split));
	}
	x->services[x->cfg->service].policy.rules = x->rules;
	x->copy.services = x->services;
	rollout_io io = {.ctx = x, .window = io_window, .series = io_series,
			 .route = io_route};
	x->ctl = rollout_new(x->cfg, &io, r->ro_log);
	if (!x->ctl)
		goto fail;
	/* Before the start, every request goes to the stable version. */
	ro_routes init = {0};
	io_route(x, &init);
	*out = x;
	return 0;
fail:
	sim_rollout_free(x);
	return -1;
}

void sim_rollout_free(sim_rollout *x)
{
	if (!x)
		return;
	if (x->rules)
		for (uint32_t i = 0;
		     i < x->orig->services[x->cfg->service].policy.nrules; i++)
			free(x->rules[i].splits);
	free(x->rules);
	free(x->services);
	rollout_free(x->ctl);
	free(x);
}

const model *sim_rollout_model(const sim_rollout *x)
{
	return &x->copy;
}

void sim_rollout_on_decided(sim_rollout *x, sim_rollout_decided_fn fn,
			    void *arg)
{
	x->decided = fn;
	x->decided_arg = arg;
}
