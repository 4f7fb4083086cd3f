#include "rollout_host.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

struct rollout_host {
	const model *orig;
	model copy;              /* shallow, but for the rollout's rules */
	model_service *services;
	model_rule *rules;
	uint32_t nrules;
	rec *r;                  /* where measurements are read */
	const model_rollout *cfg;
	rollout_log *log;
	rollout_ctl *ctl;
	rollout_host_routed_fn routed;
	void *routed_arg;
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
	rollout_host *x = ctx;
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
	rollout_host *x = ctx;
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

/* ---- what the controller writes: the rules' split weights ---- */

/* The loader orders a rollout rule's splits stable, canary, baseline. */
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
	rollout_host *x = ctx;
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
	if (x->routed)
		x->routed(x->routed_arg);
}

/* ---- the blast radius ---- */

static void blast(rollout_log *l, const rec *r, uint32_t canary, int at_decision)
{
	const rec_vseries *v = &r->vs[canary];
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

static mesh_time after(rollout_host *x, mesh_time next)
{
	if (rollout_decided(x->ctl)) {
		blast(x->log, x->r, x->cfg->canary, 1);
		return MESH_NEVER;
	}
	return next;
}

mesh_time rollout_host_begin(rollout_host *x, mesh_time now)
{
	return after(x, rollout_begin(x->ctl, now));
}

mesh_time rollout_host_tick(rollout_host *x, mesh_time now)
{
	return after(x, rollout_tick(x->ctl, now));
}

int rollout_host_decided(const rollout_host *x)
{
	return rollout_decided(x->ctl);
}

const rollout_log *rollout_host_log(const rollout_host *x)
{
	return x->log;
}

void rollout_host_finish(rollout_host *x, const rec *r)
{
	blast(x->log, r, x->cfg->canary, 0);
	if (!rollout_decided(x->ctl))
		blast(x->log, r, x->cfg->canary, 1);
}

static mesh_time analysis_lookback(const ro_analysis *a, mesh_time w)
{
	if (a->interval > w)
		w = a->interval;
	for (uint32_t i = 0; i < a->nchecks; i++)
		if (a->checks[i].window > w)
			w = a->checks[i].window;
	return w;
}

mesh_time rollout_host_lookback(const rollout_host *x, mesh_time now)
{
	const model_rollout *c = x->cfg;
	mesh_time w = analysis_lookback(&c->analysis, c->interval);
	for (uint32_t i = 0; i < c->nsteps; i++)
		if (c->steps[i].kind == RO_STEP_ANALYSIS)
			w = analysis_lookback(&c->steps[i].analysis, w);
	return now > w ? now - w : 0;
}

/* ---- set up ---- */

rollout_host *rollout_host_new(const model *m, rec *r, rollout_log *log)
{
	rollout_host *x = calloc(1, sizeof *x);
	if (!x)
		return NULL;
	x->orig = m;
	x->r = r;
	x->cfg = m->rollout;
	x->log = log;
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
		x->nrules = i + 1;
		memcpy(x->rules[i].splits, p->rules[i].splits,
		       p->rules[i].nsplits * sizeof(model_split));
	}
	x->services[x->cfg->service].policy.rules = x->rules;
	x->copy.services = x->services;
	rollout_io io = {.ctx = x, .window = io_window, .series = io_series,
			 .route = io_route};
	x->ctl = rollout_new(x->cfg, &io, log);
	if (!x->ctl)
		goto fail;
	/* Before the start, every request goes to the stable version. */
	ro_routes init = {0};
	io_route(x, &init);
	return x;
fail:
	rollout_host_free(x);
	return NULL;
}

void rollout_host_free(rollout_host *x)
{
	if (!x)
		return;
	for (uint32_t i = 0; i < x->nrules; i++)
		free(x->rules[i].splits);
	free(x->rules);
	free(x->services);
	rollout_free(x->ctl);
	free(x);
}

const model *rollout_host_model(const rollout_host *x)
{
	return &x->copy;
}

const model_rule *rollout_host_rules(const rollout_host *x, uint32_t *n)
{
	*n = x->nrules;
	return x->rules;
}

void rollout_host_on_routed(rollout_host *x, rollout_host_routed_fn fn, void *arg)
{
	x->routed = fn;
	x->routed_arg = arg;
}

void rollout_host_set_rec(rollout_host *x, rec *r)
{
	x->r = r;
}
