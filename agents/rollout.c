#include "rollout.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model.h"

/* ---- names ---- */

const char *ro_metric_name(enum ro_metric k)
{
	switch (k) {
	case RO_M_SUCCESS: return "request-success-rate";
	case RO_M_ERRORS: return "request-error-rate";
	case RO_M_P99: return "request-duration";
	case RO_M_P50: return "request-duration-p50";
	case RO_M_COUNT: break;
	}
	return "?";
}

const char *ro_action_name(enum ro_action a)
{
	switch (a) {
	case RO_ACT_START: return "start";
	case RO_ACT_ADVANCE: return "advance";
	case RO_ACT_HALT: return "halt";
	case RO_ACT_PAUSE: return "pause";
	case RO_ACT_ANALYSIS: return "analysis";
	case RO_ACT_PROMOTE: return "promote";
	case RO_ACT_ROLLBACK: return "rollback";
	case RO_ACT_HOLD: return "hold";
	}
	return "?";
}

const char *ro_verdict_name(enum ro_verdict v)
{
	switch (v) {
	case RO_IN_PROGRESS: return "in_progress";
	case RO_PROMOTED: return "promoted";
	case RO_ROLLED_BACK: return "rolled_back";
	case RO_INCONCLUSIVE: return "inconclusive";
	}
	return "?";
}

const char *ro_result_name(enum ro_result r)
{
	switch (r) {
	case RO_PASS: return "pass";
	case RO_FAIL: return "fail";
	case RO_NODATA: return "nodata";
	case RO_MARGINAL: return "marginal";
	}
	return "?";
}

/* ---- the model ---- */

static void analysis_free(ro_analysis *a)
{
	for (uint32_t i = 0; i < a->nchecks; i++)
		free(a->checks[i].name);
	free(a->checks);
	for (uint32_t i = 0; i < a->judge.nmetrics; i++)
		free(a->judge.metrics[i].name);
	free(a->judge.metrics);
	for (uint32_t i = 0; i < a->judge.ngroups; i++)
		free(a->judge.group_names[i]);
	free(a->judge.group_names);
	free(a->judge.group_weights);
}

void model_rollout_free(struct model_rollout *r)
{
	if (!r)
		return;
	analysis_free(&r->analysis);
	for (uint32_t i = 0; i < r->nsteps; i++)
		analysis_free(&r->steps[i].analysis);
	free(r->steps);
	free(r->step_weights);
	free(r);
}

/* ---- Istio's request-duration histogram, as Prometheus reads it ---- */

/* Envoy's default histogram buckets, which Istio's
 * istio_request_duration_milliseconds uses, in ms. */
const double ro_istio_bucket_ms[RO_ISTIO_BUCKETS] = {
	0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000,
	30000, 60000, 300000, 600000, 1800000, 3600000};

double ro_histogram_quantile(double q, const uint64_t *counts)
{
	uint64_t total = 0;
	for (int i = 0; i <= RO_ISTIO_BUCKETS; i++)
		total += counts[i];
	if (!total)
		return NAN;
	/* Prometheus: the rank q * total, found in the cumulative counts,
	 * interpolated linearly within its bucket (from 0 in the first). */
	double rank = q * (double)total, below = 0;
	for (int i = 0; i < RO_ISTIO_BUCKETS; i++) {
		double n = (double)counts[i];
		if (below + n >= rank && n > 0) {
			double lo = i ? ro_istio_bucket_ms[i - 1] : 0.0;
			double hi = ro_istio_bucket_ms[i];
			return lo + (hi - lo) * (rank - below) / n;
		}
		below += n;
	}
	/* In the +Inf bucket: the largest finite bound. */
	return ro_istio_bucket_ms[RO_ISTIO_BUCKETS - 1];
}

uint64_t ro_check_default_min_requests(const ro_check *k)
{
	if (k->metric == RO_M_P99)
		return 100;
	if (k->metric == RO_M_P50)
		return 10;
	double bound = 0;
	if (k->metric == RO_M_SUCCESS && k->has_min)
		bound = 100.0 - k->min;
	else if (k->metric == RO_M_ERRORS && k->has_max)
		bound = k->max;
	if (bound <= 0.01)
		return 10000;
	double n = ceil(100.0 / bound - 1e-9);
	return n < 10 ? 10 : (uint64_t)n;
}

/* ---- the log ---- */

void rollout_log_init(rollout_log *l, const model_rollout *cfg)
{
	memset(l, 0, sizeof *l);
	l->cfg = cfg;
	l->decided_at = MESH_NEVER;
}

void rollout_log_clear(rollout_log *l)
{
	for (uint32_t i = 0; i < l->nintervals; i++) {
		free(l->intervals[i].checks);
		free(l->intervals[i].judge);
	}
	free(l->intervals);
	free(l->events);
	const model_rollout *cfg = l->cfg;
	rollout_log_init(l, cfg);
}

static void *grow(void *a, uint32_t *cap, uint32_t n, size_t size)
{
	if (n < *cap)
		return a;
	uint32_t c = *cap ? *cap * 2 : 16;
	void *b = realloc(a, (size_t)c * size);
	if (b)
		*cap = c;
	return b;
}

/* ---- the controller ---- */

struct rollout_ctl {
	const model_rollout *cfg;
	rollout_io io;
	rollout_log *log;
	mesh_time started;
	double weight;          /* canary weight of the default rule */
	int header;             /* the header group goes to the canary */
	int mirrored;
	uint32_t failed;        /* Flagger's failedChecks */
	uint32_t iterations;    /* Flagger's status.iterations */
	int decided;
	/* Argo */
	uint32_t step;
	int in_step;
	uint32_t measured, failures, inconclusives;
};

static void event(rollout_ctl *c, mesh_time now, enum ro_action a,
		  const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void event(rollout_ctl *c, mesh_time now, enum ro_action a,
		  const char *fmt, ...)
{
	rollout_log *l = c->log;
	ro_event *e = grow(l->events, &l->cap_events, l->nevents, sizeof *e);
	if (!e) {
		l->oom = 1;
		return;
	}
	l->events = e;
	e += l->nevents++;
	memset(e, 0, sizeof *e);
	e->t = now;
	e->action = a;
	e->weight = c->weight;
	e->header = c->header;
	e->mirror = c->mirrored;
	e->failed_checks = c->failed;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(e->reason, sizeof e->reason, fmt, ap);
	va_end(ap);
}

static uint32_t baseline_version(const model_rollout *r)
{
	return r->baseline == MODEL_NONE ? r->stable : r->baseline;
}

static void apply(rollout_ctl *c)
{
	ro_routes r = {.canary = c->weight, .header_to_canary = c->header,
		       .mirror = c->mirrored ? c->cfg->mirror_weight : 0};
	/* Kayenta's baseline: as much traffic as the canary, taken from the
	 * stable version, for as long as the analysis runs. */
	if (c->cfg->baseline != MODEL_NONE && !c->decided)
		r.baseline = c->weight;
	c->io.route(c->io.ctx, &r);
}

static void decide(rollout_ctl *c, mesh_time now, enum ro_verdict v,
		   const char *why)
{
	rollout_log *l = c->log;
	c->decided = 1;
	l->verdict = v;
	l->decided_at = now;
	snprintf(l->reason, sizeof l->reason, "%s", why);
	if (v == RO_PROMOTED) {
		c->weight = 100;
		c->header = 0;
		c->mirrored = 0;
		apply(c);
		event(c, now, RO_ACT_PROMOTE, "Promotion: every request to the canary");
	} else if (v == RO_ROLLED_BACK) {
		c->weight = 0;
		c->header = 0;
		c->mirrored = 0;
		apply(c);
		event(c, now, RO_ACT_ROLLBACK, "Rolling back: every request to the "
					       "stable version");
	} else {
		/* Held where it is, for a person to decide (Argo pauses an
		 * inconclusive rollout); the baseline stops taking traffic. */
		apply(c);
		event(c, now, RO_ACT_HOLD, "Paused: held at this weight for a "
					   "person to decide");
	}
}

rollout_ctl *rollout_new(const model_rollout *cfg, const rollout_io *io,
			 rollout_log *log)
{
	rollout_ctl *c = calloc(1, sizeof *c);
	if (!c)
		return NULL;
	c->cfg = cfg;
	c->io = *io;
	c->log = log;
	return c;
}

void rollout_free(rollout_ctl *c)
{
	free(c);
}

int rollout_decided(const rollout_ctl *c)
{
	return c->decided;
}

static double stat_of(const ro_stats *s, enum ro_metric k)
{
	if (!s->requests)
		return NAN;
	switch (k) {
	case RO_M_SUCCESS: return s->success;
	case RO_M_ERRORS: return 100.0 - s->success;
	case RO_M_P99: return s->p99_ms;
	case RO_M_P50: return s->p50_ms;
	case RO_M_COUNT: break;
	}
	return NAN;
}

static void fmt_value(char *b, size_t n, enum ro_metric k, double v)
{
	if (k == RO_M_P99 || k == RO_M_P50) {
		if (v >= 1000)
			snprintf(b, n, "%.3gs", v / 1000);
		else
			snprintf(b, n, "%.4gms", v);
	} else {
		snprintf(b, n, "%.2f%%", v);
	}
}

static void fmt_window(char *b, size_t n, mesh_time t)
{
	if (t % (60 * MESH_S) == 0)
		snprintf(b, n, "%llum", (unsigned long long)(t / (60 * MESH_S)));
	else
		snprintf(b, n, "%gs", (double)t / 1e9);
}

/* One threshold check, as Flagger's built-in metrics: the canary's value
 * over the check's window against its range. Fewer requests than the
 * check's minimum is "no values found", never a pass. */
static enum ro_result run_check(rollout_ctl *c, const ro_check *k,
				mesh_time now, ro_check_result *out,
				char *why, size_t len)
{
	const model_rollout *cfg = c->cfg;
	mesh_time from = now > k->window ? now - k->window : 0;
	ro_stats cs, bs;
	c->io.window(c->io.ctx, cfg->canary, from, now, &cs);
	c->io.window(c->io.ctx, baseline_version(cfg), from, now, &bs);
	out->canary = stat_of(&cs, k->metric);
	out->baseline = stat_of(&bs, k->metric);
	out->canary_n = cs.requests;
	out->baseline_n = bs.requests;
	char w[32];
	fmt_window(w, sizeof w, k->window);
	if (cs.requests < k->min_requests) {
		snprintf(why, len,
			 "no values found for %s: %llu requests to the canary in "
			 "the last %s, fewer than %llu (too little traffic to judge)",
			 k->name, (unsigned long long)cs.requests, w,
			 (unsigned long long)k->min_requests);
		return out->result = RO_NODATA;
	}
	char v[32], t[32];
	fmt_value(v, sizeof v, k->metric, out->canary);
	if (k->has_min && out->canary < k->min) {
		fmt_value(t, sizeof t, k->metric, k->min);
		snprintf(why, len, "%s %s < %s", k->name, v, t);
		return out->result = RO_FAIL;
	}
	if (k->has_max && out->canary > k->max) {
		fmt_value(t, sizeof t, k->metric, k->max);
		snprintf(why, len, "%s %s > %s", k->name, v, t);
		return out->result = RO_FAIL;
	}
	return out->result = RO_PASS;
}

/* The judge over [from, now): each metric's per-step values of the canary
 * against the baseline's. Returns the result (the interval owns it). */
static judge_result *run_judge(rollout_ctl *c, const ro_judge *j,
			       mesh_time from, mesh_time now)
{
	const model_rollout *cfg = c->cfg;
	uint32_t nm = j->nmetrics;
	size_t cap = (size_t)((now - from) / j->step) + 2;
	judge_metric_cfg *mc = calloc(nm, sizeof *mc);
	judge_group_cfg *gc = calloc(j->ngroups ? j->ngroups : 1, sizeof *gc);
	double *buf = calloc(2 * (size_t)nm * cap, sizeof *buf);
	const double **cv = calloc(nm, sizeof *cv), **bv = calloc(nm, sizeof *bv);
	size_t *cn = calloc(nm, sizeof *cn), *bn = calloc(nm, sizeof *bn);
	judge_result *res = NULL;
	if (!mc || !gc || !buf || !cv || !bv || !cn || !bn)
		goto done;
	for (uint32_t i = 0; i < j->ngroups; i++) {
		gc[i].name = j->group_names[i];
		gc[i].weight = j->group_weights[i];
	}
	for (uint32_t i = 0; i < nm; i++) {
		const ro_judge_metric *m = &j->metrics[i];
		mc[i].name = m->name;
		mc[i].direction = m->direction;
		mc[i].tolerance = m->tolerance;
		mc[i].critical = m->critical;
		mc[i].group = m->group;
		double *cb = buf + 2 * i * cap, *bb = cb + cap;
		cn[i] = c->io.series(c->io.ctx, cfg->canary, m->metric, j->step,
				     from, now, cb, cap);
		bn[i] = c->io.series(c->io.ctx, baseline_version(cfg), m->metric,
				     j->step, from, now, bb, cap);
		cv[i] = cb;
		bv[i] = bb;
	}
	judge_cfg jc = {.metrics = mc, .nmetrics = nm, .groups = gc,
			.ngroups = j->ngroups, .confidence = j->confidence,
			.pass_score = j->pass_score,
			.marginal_score = j->marginal_score,
			.min_samples = j->min_samples};
	res = judge_run(&jc, cv, cn, bv, bn);
done:
	free(mc);
	free(gc);
	free(buf);
	free(cv);
	free(bv);
	free(cn);
	free(bn);
	return res;
}

/* Describe the judge's outcome in one line. */
static void judge_why(const ro_judge *j, const judge_result *r, char *why,
		      size_t len)
{
	int n = snprintf(why, len, "judge %s, score %.0f", judge_verdict_name(r->verdict),
			 r->score);
	for (uint32_t i = 0; i < j->nmetrics && n > 0 && (size_t)n < len; i++) {
		const judge_metric_result *m = &r->m[i];
		if (m->cls == JUDGE_NODATA)
			n += snprintf(why + n, len - (size_t)n,
				      "; %s: too few samples (%zu canary, %zu baseline)",
				      j->metrics[i].name, m->ncanary, m->nbaseline);
		else if (m->failed)
			n += snprintf(why + n, len - (size_t)n, "; %s %s by %+.0f%% (p=%.2g)%s",
				      j->metrics[i].name, judge_class_name(m->cls),
				      100 * m->relative, m->p_value,
				      j->metrics[i].critical ? ", critical" : "");
	}
}

/* One measurement: every check and the judge over the interval ending now.
 * Flagger stops at the first failing check; all run here so that the
 * report shows each, and `why` names the first that did not pass. */
static enum ro_result measure(rollout_ctl *c, const ro_analysis *a,
			      mesh_time interval, mesh_time now, char *why,
			      size_t len)
{
	rollout_log *l = c->log;
	const model_rollout *cfg = c->cfg;
	ro_interval *iv = grow(l->intervals, &l->cap_intervals, l->nintervals,
			       sizeof *iv);
	snprintf(why, len, "all checks passed");
	if (!iv) {
		l->oom = 1;
		return RO_NODATA;
	}
	l->intervals = iv;
	iv += l->nintervals++;
	memset(iv, 0, sizeof *iv);
	iv->to = now;
	iv->from = now > interval ? now - interval : 0;
	if (iv->from < c->started)
		iv->from = c->started;
	iv->weight = c->weight;
	iv->header = c->header;
	iv->mirror = c->mirrored;
	iv->analysis = a;
	c->io.window(c->io.ctx, cfg->canary, iv->from, now, &iv->canary);
	c->io.window(c->io.ctx, baseline_version(cfg), iv->from, now, &iv->baseline);
	iv->checks = calloc(a->nchecks ? a->nchecks : 1, sizeof *iv->checks);
	if (!iv->checks) {
		l->oom = 1;
		return iv->result = RO_NODATA;
	}
	iv->nchecks = a->nchecks;
	enum ro_result worst = RO_PASS;
	char first[200] = "";
	for (uint32_t i = 0; i < a->nchecks; i++) {
		char w[200];
		enum ro_result r = run_check(c, &a->checks[i], now, &iv->checks[i],
					     w, sizeof w);
		if (r != RO_PASS && !first[0])
			snprintf(first, sizeof first, "%s", w);
		if (r == RO_FAIL || (r == RO_NODATA && worst == RO_PASS))
			worst = r;
	}
	if (a->has_judge) {
		iv->judge = run_judge(c, &a->judge, iv->from, now);
		if (!iv->judge) {
			l->oom = 1;
			worst = worst == RO_PASS ? RO_NODATA : worst;
		} else {
			enum ro_result r = iv->judge->verdict == JV_PASS ? RO_PASS
					   : iv->judge->verdict == JV_FAIL ? RO_FAIL
					   : iv->judge->verdict == JV_MARGINAL ? RO_MARGINAL
									      : RO_NODATA;
			if (r != RO_PASS && !first[0]) {
				char w[200];
				judge_why(&a->judge, iv->judge, w, sizeof w);
				snprintf(first, sizeof first, "%s", w);
			}
			if (r == RO_FAIL || (r != RO_PASS && worst == RO_PASS))
				worst = r;
		}
	}
	if (first[0])
		snprintf(why, len, "%s", first);
	return iv->result = worst;
}

/* Flagger's next step: stepWeight, or the next of stepWeights, never past
 * 100 in all. */
static double next_step(const model_rollout *r, double w)
{
	if (r->step_weight > 0 || r->nstep_weights == 0)
		return r->step_weight;
	double room = 100.0 - w;
	if (room <= 0)
		return 1;
	for (uint32_t i = 0; i < r->nstep_weights; i++)
		if (r->step_weights[i] > w)
			return fmin(room, r->step_weights[i] - w);
	return room;
}

/* ---- Flagger ---- */

static mesh_time flagger_begin(rollout_ctl *c, mesh_time now)
{
	const model_rollout *r = c->cfg;
	switch (r->strategy) {
	case RO_CANARY:
		if (r->mirror) {
			c->mirrored = 1;
			apply(c);
			event(c, now, RO_ACT_START,
			      "Starting canary analysis: mirroring %g%% of requests "
			      "to the canary before shifting traffic",
			      r->mirror_weight);
		} else {
			c->weight = fmin(100, next_step(r, 0));
			apply(c);
			event(c, now, RO_ACT_START,
			      "Starting canary analysis: canary weight %g", c->weight);
		}
		break;
	case RO_AB:
		c->header = 1;
		c->iterations = 1;
		apply(c);
		event(c, now, RO_ACT_START,
		      "Starting canary analysis: requests matching the header "
		      "go to the canary (iteration 1 of %u)", r->iterations);
		break;
	case RO_BLUEGREEN:
		c->mirrored = r->mirror;
		c->iterations = 1;
		apply(c);
		if (r->mirror)
			event(c, now, RO_ACT_START,
			      "Starting blue/green analysis: mirroring %g%% of requests "
			      "to the canary (iteration 1 of %u)",
			      r->mirror_weight, r->iterations);
		else
			event(c, now, RO_ACT_START,
			      "Starting blue/green analysis: no request goes to the "
			      "canary until it is switched (iteration 1 of %u)",
			      r->iterations);
		break;
	case RO_STEPS:
		break;
	}
	return now + r->interval;
}

static mesh_time flagger_tick(rollout_ctl *c, mesh_time now)
{
	const model_rollout *r = c->cfg;
	char why[200];
	enum ro_result res = measure(c, &r->analysis, r->interval, now, why, sizeof why);
	if (res != RO_PASS) {
		/* Flagger: a failed check halts advancement; at `threshold`
		 * failed checks it rolls back. (Flagger acts on the reached
		 * threshold at its next run, an interval later; meshsim acts at
		 * once, as Flagger's documented interval x threshold says.) */
		c->failed++;
		event(c, now, RO_ACT_HALT, "Halt: %s (failed checks %u of %u)", why,
		      c->failed, r->threshold);
		if (c->failed >= r->threshold) {
			char b[200];
			snprintf(b, sizeof b, "failed checks threshold reached (%u): %s",
				 c->failed, why);
			decide(c, now, RO_ROLLED_BACK, b);
			return MESH_NEVER;
		}
		return now + r->interval;
	}
	switch (r->strategy) {
	case RO_CANARY:
		if (c->weight < r->max_weight) {
			if (r->mirror && c->weight == 0 && c->mirrored) {
				c->mirrored = 0;
				c->weight = fmin(100, next_step(r, 0));
				event(c, now, RO_ACT_ADVANCE,
				      "Mirroring passed; advance canary weight %g", c->weight);
			} else {
				c->weight = fmin(100, c->weight + next_step(r, c->weight));
				event(c, now, RO_ACT_ADVANCE, "Advance canary weight %g",
				      c->weight);
			}
			apply(c);
			return now + r->interval;
		}
		decide(c, now, RO_PROMOTED, "maximum weight reached and every check "
					    "passed");
		return MESH_NEVER;
	case RO_AB:
		if (c->iterations < r->iterations) {
			c->iterations++;
			event(c, now, RO_ACT_ADVANCE, "Advance canary iteration %u of %u",
			      c->iterations, r->iterations);
			return now + r->interval;
		}
		decide(c, now, RO_PROMOTED, "every iteration passed");
		return MESH_NEVER;
	case RO_BLUEGREEN:
		if (c->iterations < r->iterations) {
			c->iterations++;
			event(c, now, RO_ACT_ADVANCE, "Advance canary iteration %u of %u",
			      c->iterations, r->iterations);
			return now + r->interval;
		}
		if (c->iterations == r->iterations) {
			/* Flagger's blue/green: switch every request to the
			 * canary and analyse once more before promoting. */
			c->iterations++;
			c->mirrored = 0;
			c->weight = 100;
			apply(c);
			event(c, now, RO_ACT_ADVANCE, "%s",
			      r->mirror ? "Stop traffic mirroring and route all traffic to canary"
					: "Routing all traffic to canary");
			return now + r->interval;
		}
		decide(c, now, RO_PROMOTED, "every iteration passed, and then all "
					    "traffic on the canary");
		return MESH_NEVER;
	case RO_STEPS:
		break;
	}
	return MESH_NEVER;
}

/* ---- Argo Rollouts ---- */

/* Run steps from c->step until one has to wait; returns when to come
 * back, or MESH_NEVER when every step is done (promoted). */
static mesh_time argo_steps(rollout_ctl *c, mesh_time now)
{
	const model_rollout *r = c->cfg;
	while (c->step < r->nsteps) {
		const ro_step *s = &r->steps[c->step];
		char d[32];
		switch (s->kind) {
		case RO_STEP_WEIGHT:
			c->weight = s->weight;
			apply(c);
			event(c, now, c->step == 0 ? RO_ACT_START : RO_ACT_ADVANCE,
			      "Step %u: setWeight %g", c->step + 1, s->weight);
			c->step++;
			continue;
		case RO_STEP_PAUSE:
			c->in_step = 1;
			fmt_window(d, sizeof d, s->duration);
			event(c, now, RO_ACT_PAUSE, "Step %u: pause %s", c->step + 1, d);
			return now + s->duration;
		case RO_STEP_ANALYSIS:
			c->in_step = 1;
			c->measured = c->failures = c->inconclusives = 0;
			fmt_window(d, sizeof d, s->analysis.interval);
			event(c, now, RO_ACT_ANALYSIS,
			      "Step %u: analysis, %u measurements every %s "
			      "(failureLimit %u, inconclusiveLimit %u)",
			      c->step + 1, s->analysis.count, d, s->analysis.failure_limit,
			      s->analysis.inconclusive_limit);
			return now + s->analysis.interval;
		}
	}
	decide(c, now, RO_PROMOTED, "every step completed");
	return MESH_NEVER;
}

static mesh_time argo_tick(rollout_ctl *c, mesh_time now)
{
	const model_rollout *r = c->cfg;
	const ro_step *s = &r->steps[c->step];
	if (s->kind == RO_STEP_PAUSE) {
		c->in_step = 0;
		c->step++;
		return argo_steps(c, now);
	}
	const ro_analysis *a = &s->analysis;
	char why[200];
	enum ro_result res = measure(c, a, a->interval, now, why, sizeof why);
	c->measured++;
	/* Argo: a measurement fails, or is inconclusive (no data, or a
	 * judge's marginal score, as its Kayenta provider maps it). The
	 * analysis fails past failureLimit and is inconclusive past
	 * inconclusiveLimit. */
	if (res == RO_FAIL)
		c->failures++;
	else if (res != RO_PASS)
		c->inconclusives++;
	if (res != RO_PASS) {
		c->failed++;
		event(c, now, RO_ACT_HALT, "Measurement %u of %u %s: %s",
		      c->measured, a->count, res == RO_FAIL ? "failed" : "inconclusive",
		      why);
	}
	if (c->failures > a->failure_limit) {
		char b[200];
		snprintf(b, sizeof b, "analysis failed (%u failed measurements, "
				      "failureLimit %u): %s",
			 c->failures, a->failure_limit, why);
		decide(c, now, RO_ROLLED_BACK, b);
		return MESH_NEVER;
	}
	if (c->inconclusives > a->inconclusive_limit) {
		char b[200];
		snprintf(b, sizeof b, "analysis inconclusive (%u inconclusive "
				      "measurements, inconclusiveLimit %u): %s",
			 c->inconclusives, a->inconclusive_limit, why);
		decide(c, now, RO_INCONCLUSIVE, b);
		return MESH_NEVER;
	}
	if (c->measured < a->count)
		return now + a->interval;
	event(c, now, RO_ACT_ANALYSIS, "Step %u: analysis successful (%u of %u "
				       "measurements passed)",
	      c->step + 1, c->measured - c->failures - c->inconclusives, a->count);
	c->in_step = 0;
	c->step++;
	return argo_steps(c, now);
}

mesh_time rollout_begin(rollout_ctl *c, mesh_time now)
{
	c->started = now;
	c->log->verdict = RO_IN_PROGRESS;
	if (c->cfg->strategy == RO_STEPS)
		return argo_steps(c, now);
	return flagger_begin(c, now);
}

mesh_time rollout_tick(rollout_ctl *c, mesh_time now)
{
	if (c->decided)
		return MESH_NEVER;
	if (c->cfg->strategy == RO_STEPS)
		return argo_tick(c, now);
	return flagger_tick(c, now);
}
