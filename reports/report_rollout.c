#include "report_rollout.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "rollout.h"

/* Numbers as the rest of report.json writes them: ms to the microsecond,
 * seconds to the millisecond, ratios to 1e-6; null when not a number. */
static json_t *num(double x, double scale)
{
	if (!isfinite(x))
		return json_null();
	return json_real(round(x * scale) / scale);
}

static json_t *secs(mesh_time t)
{
	return t == MESH_NEVER ? json_null() : json_real(round((double)t / 1e6) / 1e3);
}

static json_t *count(uint64_t n)
{
	return json_integer((json_int_t)n);
}

uint64_t report_blast_radius(const rec *r)
{
	const rollout_log *l = r->ro_log;
	return l ? l->at_decision_failed + l->at_decision_slow : 0;
}

mesh_time report_time_to_decision(const rec *r)
{
	const rollout_log *l = r->ro_log;
	if (!l || l->decided_at == MESH_NEVER)
		return MESH_NEVER;
	return l->decided_at - l->cfg->start;
}

static const char *strategy_name(enum ro_strategy s)
{
	switch (s) {
	case RO_CANARY: return "canary";
	case RO_AB: return "ab";
	case RO_BLUEGREEN: return "bluegreen";
	case RO_STEPS: return "steps";
	}
	return "?";
}

static const char *direction_name(enum judge_direction d)
{
	switch (d) {
	case JUDGE_EITHER: return "either";
	case JUDGE_INCREASE: return "increase";
	case JUDGE_DECREASE: return "decrease";
	}
	return "?";
}

static int is_ms(enum ro_metric k)
{
	return k == RO_M_P99 || k == RO_M_P50;
}

static json_t *stats_json(const ro_stats *s)
{
	json_t *o = json_object();
	json_object_set_new(o, "requests", count(s->requests));
	json_object_set_new(o, "success_pct", num(s->success, 1e4));
	json_object_set_new(o, "p50_ms", num(s->p50_ms, 1e3));
	json_object_set_new(o, "p99_ms", num(s->p99_ms, 1e3));
	return o;
}

static json_t *check_cfg_json(const ro_check *k)
{
	json_t *o = json_object();
	char e[80] = "";
	const char *u = is_ms(k->metric) ? "ms" : "%";
	if (k->has_min && k->has_max)
		snprintf(e, sizeof e, "%g%s .. %g%s", k->min, u, k->max, u);
	else if (k->has_min)
		snprintf(e, sizeof e, ">= %g%s", k->min, u);
	else
		snprintf(e, sizeof e, "<= %g%s", k->max, u);
	json_object_set_new(o, "name", json_string(k->name));
	json_object_set_new(o, "expect", json_string(e));
	json_object_set_new(o, "window_s", secs(k->window));
	json_object_set_new(o, "min_requests", count(k->min_requests));
	return o;
}

static json_t *judge_cfg_json(const ro_judge *j)
{
	json_t *o = json_object();
	json_object_set_new(o, "confidence", num(j->confidence, 1e6));
	json_object_set_new(o, "pass_score", num(j->pass_score, 1e6));
	json_object_set_new(o, "marginal_score", num(j->marginal_score, 1e6));
	json_object_set_new(o, "min_samples", count(j->min_samples));
	json_object_set_new(o, "step_s", secs(j->step));
	json_t *ms = json_array();
	for (uint32_t i = 0; i < j->nmetrics; i++) {
		const ro_judge_metric *m = &j->metrics[i];
		json_t *x = json_object();
		json_object_set_new(x, "name", json_string(m->name));
		json_object_set_new(x, "direction", json_string(direction_name(m->direction)));
		json_object_set_new(x, "tolerance", num(m->tolerance, 1e6));
		json_object_set_new(x, "critical", json_boolean(m->critical));
		json_object_set_new(x, "group", json_string(j->group_names[m->group]));
		json_array_append_new(ms, x);
	}
	json_object_set_new(o, "metrics", ms);
	json_t *gs = json_object();
	for (uint32_t i = 0; i < j->ngroups; i++)
		json_object_set_new(gs, j->group_names[i],
				    num(j->group_weights[i] > 0 ? j->group_weights[i] : 1, 1e6));
	json_object_set_new(o, "groups", gs);
	return o;
}

static json_t *analysis_json(const ro_analysis *a, int argo)
{
	json_t *o = json_object();
	if (argo) {
		json_object_set_new(o, "interval_s", secs(a->interval));
		json_object_set_new(o, "count", count(a->count));
		json_object_set_new(o, "failure_limit", count(a->failure_limit));
		json_object_set_new(o, "inconclusive_limit", count(a->inconclusive_limit));
	}
	json_t *cs = json_array();
	for (uint32_t i = 0; i < a->nchecks; i++)
		json_array_append_new(cs, check_cfg_json(&a->checks[i]));
	json_object_set_new(o, "checks", cs);
	json_object_set_new(o, "judge", a->has_judge ? judge_cfg_json(&a->judge)
						     : json_null());
	return o;
}

static json_t *relative_json(double x)
{
	if (isnan(x))
		return json_null();
	if (isinf(x))
		return json_string(x > 0 ? "+inf" : "-inf");
	return num(x, 1e6);
}

static json_t *interval_json(const ro_interval *iv)
{
	const ro_analysis *a = iv->analysis;
	json_t *o = json_object();
	json_object_set_new(o, "from_s", secs(iv->from));
	json_object_set_new(o, "to_s", secs(iv->to));
	json_object_set_new(o, "canary_weight", num(iv->weight, 1e6));
	json_object_set_new(o, "header", json_boolean(iv->header));
	json_object_set_new(o, "mirror", json_boolean(iv->mirror));
	json_object_set_new(o, "result", json_string(ro_result_name(iv->result)));
	json_object_set_new(o, "canary", stats_json(&iv->canary));
	json_object_set_new(o, "baseline", stats_json(&iv->baseline));
	json_t *cs = json_array();
	for (uint32_t i = 0; i < iv->nchecks; i++) {
		const ro_check *k = &a->checks[i];
		const ro_check_result *c = &iv->checks[i];
		double sc = is_ms(k->metric) ? 1e3 : 1e4;
		json_t *x = json_object();
		json_object_set_new(x, "name", json_string(k->name));
		json_object_set_new(x, "result", json_string(ro_result_name(c->result)));
		json_object_set_new(x, "canary", num(c->canary, sc));
		json_object_set_new(x, "baseline", num(c->baseline, sc));
		json_object_set_new(x, "canary_requests", count(c->canary_n));
		json_object_set_new(x, "baseline_requests", count(c->baseline_n));
		json_array_append_new(cs, x);
	}
	json_object_set_new(o, "checks", cs);
	if (iv->judge) {
		const judge_result *j = iv->judge;
		json_t *x = json_object(), *ms = json_array();
		json_object_set_new(x, "verdict", json_string(judge_verdict_name(j->verdict)));
		json_object_set_new(x, "score", num(j->score, 1e4));
		json_object_set_new(x, "critical_failed", json_boolean(j->critical_failed));
		for (uint32_t i = 0; i < a->judge.nmetrics; i++) {
			const judge_metric_result *m = &j->m[i];
			json_t *y = json_object();
			json_object_set_new(y, "name", json_string(a->judge.metrics[i].name));
			json_object_set_new(y, "class", json_string(judge_class_name(m->cls)));
			json_object_set_new(y, "failed", json_boolean(m->failed));
			json_object_set_new(y, "p_value", num(m->p_value, 1e6));
			json_object_set_new(y, "shift", num(m->shift, 1e6));
			json_object_set_new(y, "relative", relative_json(m->relative));
			json_object_set_new(y, "canary_samples", count(m->ncanary));
			json_object_set_new(y, "baseline_samples", count(m->nbaseline));
			json_array_append_new(ms, y);
		}
		json_object_set_new(x, "metrics", ms);
		json_object_set_new(o, "judge", x);
	}
	return o;
}

/* The canary weight in force at time t, from the timeline. */
static double weight_at(const rollout_log *l, mesh_time t)
{
	double w = 0;
	for (uint32_t i = 0; i < l->nevents && l->events[i].t <= t; i++)
		w = l->events[i].weight;
	return w;
}

static json_t *side_series(const rec_vseries *v, uint32_t n)
{
	json_t *o = json_object(), *req = json_array(), *sr = json_array(),
	       *p99 = json_array();
	for (uint32_t k = 0; k < n; k++) {
		const rec_vrow *w = k < v->nrows ? &v->rows[k] : NULL;
		uint32_t done = w ? w->done : 0;
		json_array_append_new(req, count(done));
		json_array_append_new(sr, done ? num(100.0 * w->non5xx / done, 1e4)
					       : json_null());
		uint32_t lat = 0;
		for (int i = 0; w && i <= RO_ISTIO_BUCKETS; i++)
			lat += w->ib[i];
		json_array_append_new(p99, lat ? num((double)w->p99 / 1e6, 1e3)
					       : json_null());
	}
	json_object_set_new(o, "requests", req);
	json_object_set_new(o, "success_pct", sr);
	json_object_set_new(o, "p99_ms", p99);
	return o;
}

static json_t *blast_json(uint64_t calls, uint64_t failed, uint64_t slow)
{
	json_t *o = json_object();
	json_object_set_new(o, "canary_calls", count(calls));
	json_object_set_new(o, "failed", count(failed));
	json_object_set_new(o, "slow", count(slow));
	json_object_set_new(o, "harmed", count(failed + slow));
	return o;
}

json_t *report_rollout_json(const model *m, const rec *r)
{
	const model_rollout *ro = m->rollout;
	const rollout_log *l = r->ro_log;
	const model_service *s = &m->services[ro->service];
	json_t *o = json_object();
	json_object_set_new(o, "service", json_string(s->name));
	json_object_set_new(o, "stable", json_string(s->versions[ro->stable].name));
	json_object_set_new(o, "canary", json_string(s->versions[ro->canary].name));
	json_object_set_new(o, "baseline", ro->baseline == MODEL_NONE
						   ? json_null()
						   : json_string(s->versions[ro->baseline].name));
	json_object_set_new(o, "shape", json_string(ro->strategy == RO_STEPS ? "argo"
									    : "flagger"));
	json_object_set_new(o, "strategy", json_string(strategy_name(ro->strategy)));
	json_object_set_new(o, "start_s", secs(ro->start));
	if (ro->strategy != RO_STEPS) {
		json_object_set_new(o, "interval_s", secs(ro->interval));
		json_object_set_new(o, "threshold", count(ro->threshold));
		if (ro->strategy == RO_CANARY) {
			json_object_set_new(o, "max_weight", num(ro->max_weight, 1e6));
			if (ro->nstep_weights) {
				json_t *a = json_array();
				for (uint32_t i = 0; i < ro->nstep_weights; i++)
					json_array_append_new(a, num(ro->step_weights[i], 1e6));
				json_object_set_new(o, "step_weights", a);
			} else {
				json_object_set_new(o, "step_weight", num(ro->step_weight, 1e6));
			}
		} else {
			json_object_set_new(o, "iterations", count(ro->iterations));
		}
		json_object_set_new(o, "mirror", json_boolean(ro->mirror));
		if (ro->mirror)
			json_object_set_new(o, "mirror_weight", num(ro->mirror_weight, 1e6));
		json_object_set_new(o, "analysis", analysis_json(&ro->analysis, 0));
	} else {
		json_t *st = json_array();
		for (uint32_t i = 0; i < ro->nsteps; i++) {
			const ro_step *p = &ro->steps[i];
			json_t *x = json_object();
			if (p->kind == RO_STEP_WEIGHT)
				json_object_set_new(x, "setWeight", num(p->weight, 1e6));
			else if (p->kind == RO_STEP_PAUSE)
				json_object_set_new(x, "pause_s", secs(p->duration));
			else
				json_object_set_new(x, "analysis", analysis_json(&p->analysis, 1));
			json_array_append_new(st, x);
		}
		json_object_set_new(o, "steps", st);
	}
	json_object_set_new(o, "slo_latency_ms", ro->slo_latency == MESH_NEVER
							 ? json_null()
							 : num((double)ro->slo_latency / 1e6, 1e3));
	json_object_set_new(o, "truth", ro->truth == RO_TRUTH_GOOD  ? json_string("good")
					: ro->truth == RO_TRUTH_BAD ? json_string("bad")
								    : json_null());
	json_object_set_new(o, "verdict", json_string(ro_verdict_name(l->verdict)));
	json_object_set_new(o, "reason", json_string(l->reason));
	json_object_set_new(o, "decided_at_s", secs(l->decided_at));
	json_object_set_new(o, "time_to_decision_s", secs(report_time_to_decision(r)));
	json_object_set_new(o, "records_complete", json_boolean(!l->oom));

	json_t *b = json_object();
	json_object_set_new(b, "until_decision",
			    blast_json(l->at_decision_calls, l->at_decision_failed,
				       l->at_decision_slow));
	json_object_set_new(b, "whole_run",
			    blast_json(l->canary_calls, l->harmed_failed, l->harmed_slow));
	json_object_set_new(o, "blast_radius", b);

	json_t *tl = json_array();
	for (uint32_t i = 0; i < l->nevents; i++) {
		const ro_event *e = &l->events[i];
		json_t *x = json_object();
		json_object_set_new(x, "t_s", secs(e->t));
		json_object_set_new(x, "action", json_string(ro_action_name(e->action)));
		json_object_set_new(x, "canary_weight", num(e->weight, 1e6));
		json_object_set_new(x, "header", json_boolean(e->header));
		json_object_set_new(x, "mirror", json_boolean(e->mirror));
		json_object_set_new(x, "failed_checks", count(e->failed_checks));
		json_object_set_new(x, "reason", json_string(e->reason));
		json_array_append_new(tl, x);
	}
	json_object_set_new(o, "timeline", tl);

	json_t *ivs = json_array();
	for (uint32_t i = 0; i < l->nintervals; i++)
		json_array_append_new(ivs, interval_json(&l->intervals[i]));
	json_object_set_new(o, "intervals", ivs);

	/* Per step of the recorder, over the whole run. */
	uint32_t base = ro->baseline == MODEL_NONE ? ro->stable : ro->baseline;
	uint32_t n = (uint32_t)((r->end + r->vs_step - 1) / r->vs_step);
	json_t *se = json_object(), *t = json_array(), *w = json_array();
	for (uint32_t k = 0; k < n; k++) {
		json_array_append_new(t, secs((mesh_time)k * r->vs_step));
		json_array_append_new(w, num(weight_at(l, (mesh_time)k * r->vs_step), 1e6));
	}
	json_object_set_new(se, "step_s", secs(r->vs_step));
	json_object_set_new(se, "t", t);
	json_object_set_new(se, "canary_weight", w);
	json_object_set_new(se, "canary", side_series(&r->vs[ro->canary], n));
	json_object_set_new(se, "baseline", side_series(&r->vs[base], n));
	json_object_set_new(o, "series", se);
	return o;
}
