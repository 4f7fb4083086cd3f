#include "scenario_rollout.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rollout.h"
#include "scenario.h"

#define PATH 512

static void errp(const scn_hooks *h, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errp(const scn_hooks *h, const char *path, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	h->err(h->ctx, path, msg);
}

static void kpath(char *out, size_t n, const char *base, const char *key)
{
	snprintf(out, n, "%s%s%s", base, *base ? "." : "", key);
}

static void ipath(char *out, size_t n, const char *base, size_t i)
{
	snprintf(out, n, "%s[%zu]", base, i);
}

static void *zalloc(const scn_hooks *h, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		h->oom(h->ctx);
	return p;
}

static char *dup(const scn_hooks *h, const char *s)
{
	char *d = strdup(s);
	if (!d)
		h->oom(h->ctx);
	return d;
}

/* Getters: 1 when present and valid (out set), 0 when absent, -1 when
 * present but bad (reported). */

static int get_str(const scn_hooks *h, const json_t *o, const char *key,
		   const char *path, const char **out)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	char p[PATH];
	kpath(p, sizeof p, path, key);
	if (!json_is_string(v) || !*json_string_value(v)) {
		h->expected(h->ctx, p, "a non-empty string", v);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* A duration string, or (Argo's pause) a whole number of seconds when
 * seconds_ok. */
static int get_dur(const scn_hooks *h, const json_t *o, const char *key,
		   const char *path, int seconds_ok, mesh_time min,
		   mesh_time *out)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	char p[PATH], what[200];
	kpath(p, sizeof p, path, key);
	mesh_time t = 0;
	int ok;
	if (seconds_ok && json_is_integer(v)) {
		ok = json_integer_value(v) >= 0 &&
		     json_integer_value(v) < 100000000;
		t = (mesh_time)json_integer_value(v) * MESH_S;
	} else {
		ok = json_is_string(v) &&
		     scn_parse_duration(json_string_value(v), &t) == 0;
	}
	if (!ok || t < min) {
		if (min >= MESH_S)
			snprintf(what, sizeof what, "a duration of at least %gs%s",
				 (double)min / 1e9,
				 seconds_ok ? ", like \"10m\" or 600 (seconds)"
					    : ", like \"1m\"");
		else
			snprintf(what, sizeof what, "a duration%s%s",
				 min ? " above zero" : "",
				 seconds_ok ? ", like \"10m\" or 600 (seconds)"
					    : ", like \"30s\" or \"1m\"");
		h->expected(h->ctx, p, what, v);
		return -1;
	}
	*out = t;
	return 1;
}

static int get_num(const scn_hooks *h, const json_t *o, const char *key,
		   const char *path, double min, double max, double *out)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	char p[PATH], what[100];
	kpath(p, sizeof p, path, key);
	snprintf(what, sizeof what, "a number from %g to %g", min, max);
	if (!json_is_number(v) || isnan(json_number_value(v)) ||
	    json_number_value(v) < min || json_number_value(v) > max) {
		h->expected(h->ctx, p, what, v);
		return -1;
	}
	*out = json_number_value(v);
	return 1;
}

static int get_u32(const scn_hooks *h, const json_t *o, const char *key,
		   const char *path, uint32_t min, uint32_t max, uint32_t *out)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	char p[PATH], what[100];
	kpath(p, sizeof p, path, key);
	snprintf(what, sizeof what, "an integer from %u to %u", min, max);
	if (!json_is_integer(v) || json_integer_value(v) < min ||
	    json_integer_value(v) > max) {
		h->expected(h->ctx, p, what, v);
		return -1;
	}
	*out = (uint32_t)json_integer_value(v);
	return 1;
}

static int get_bool(const scn_hooks *h, const json_t *o, const char *key,
		    const char *path, int *out)
{
	json_t *v = json_object_get(o, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		char p[PATH];
		kpath(p, sizeof p, path, key);
		h->expected(h->ctx, p, "true or false", v);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

static int is_object(const scn_hooks *h, const json_t *v, const char *path,
		     const char *what)
{
	if (json_is_object(v))
		return 1;
	h->expected(h->ctx, path, what, v);
	return 0;
}

/* ---- metrics ---- */

static const struct {
	const char *name;
	enum ro_metric metric;
} metric_names[] = {
	{"request-success-rate", RO_M_SUCCESS},
	{"request-error-rate", RO_M_ERRORS},
	{"request-duration", RO_M_P99},
	{"request-duration-p50", RO_M_P50},
};
#define NMETRIC_NAMES (sizeof metric_names / sizeof metric_names[0])

static int metric_of(const scn_hooks *h, const json_t *o, const char *path,
		     int checks, enum ro_metric *out, const char **name)
{
	const char *s = NULL;
	char p[PATH];
	kpath(p, sizeof p, path, "name");
	int r = get_str(h, o, "name", path, &s);
	if (r == 0) {
		errp(h, p, "expected the metric's name, like "
			   "\"request-success-rate\", found nothing");
		return -1;
	}
	if (r < 0)
		return -1;
	/* Checks are Flagger's built-ins (and an error rate); the judge
	 * also compares medians. */
	size_t n = checks ? 3 : NMETRIC_NAMES;
	for (size_t i = 0; i < n; i++)
		if (strcmp(metric_names[i].name, s) == 0) {
			*out = metric_names[i].metric;
			*name = s;
			return 0;
		}
	errp(h, p, "expected one of \"request-success-rate\", "
		   "\"request-error-rate\", \"request-duration\"%s, found \"%s\"",
	     checks ? "" : ", \"request-duration-p50\"", s);
	return -1;
}

/* Flagger's metrics[]: {"name", "thresholdRange": {"min", "max"},
 * "interval"} and meshsim's "minRequests". */
static void parse_checks(const scn_hooks *h, const json_t *v, const char *path,
			 ro_analysis *a)
{
	static const char *const keys[] = {"name", "thresholdRange", "interval",
					   "minRequests", NULL};
	static const char *const range_keys[] = {"min", "max", NULL};
	if (!json_is_array(v)) {
		h->expected(h->ctx, path, "an array of metric checks, like "
					  "[{\"name\": \"request-success-rate\", "
					  "\"thresholdRange\": {\"min\": 99}}]",
			    v);
		return;
	}
	size_t n = json_array_size(v);
	a->checks = zalloc(h, n, sizeof *a->checks);
	if (!a->checks)
		return;
	for (size_t i = 0; i < n; i++) {
		const json_t *x = json_array_get(v, i);
		char p[PATH], q[PATH];
		ipath(p, sizeof p, path, i);
		if (!is_object(h, x, p, "a metric check, like {\"name\": "
					"\"request-duration\", \"thresholdRange\": "
					"{\"max\": 500}}"))
			continue;
		h->check_keys(h->ctx, x, p, keys);
		ro_check k = {.window = 60 * MESH_S};
		const char *name;
		if (metric_of(h, x, p, 1, &k.metric, &name) < 0)
			continue;
		get_dur(h, x, "interval", p, 0, MESH_S, &k.window);
		json_t *tr = json_object_get(x, "thresholdRange");
		kpath(q, sizeof q, p, "thresholdRange");
		if (!tr) {
			errp(h, q, "expected a range like {\"min\": 99} (percent) or "
				   "{\"max\": 500} (ms), found nothing");
			continue;
		}
		if (!is_object(h, tr, q, "a range like {\"min\": 99} or {\"max\": 500}"))
			continue;
		h->check_keys(h->ctx, tr, q, range_keys);
		double top = k.metric == RO_M_P99 ? 1e9 : 100;
		int r1 = get_num(h, tr, "min", q, 0, top, &k.min);
		int r2 = get_num(h, tr, "max", q, 0, top, &k.max);
		if (r1 < 0 || r2 < 0)
			continue;
		if (!r1 && !r2) {
			errp(h, q, "expected \"min\" or \"max\", found neither");
			continue;
		}
		k.has_min = r1 == 1;
		k.has_max = r2 == 1;
		uint32_t mr;
		int r3 = get_u32(h, x, "minRequests", p, 1, 100000000, &mr);
		if (r3 < 0)
			continue;
		k.min_requests = r3 == 1 ? mr : ro_check_default_min_requests(&k);
		k.name = dup(h, name);
		a->checks[a->nchecks++] = k;
	}
}

static void parse_judge(const scn_hooks *h, const json_t *v, const char *path,
			ro_judge *j)
{
	static const char *const keys[] = {"metrics", "groups", "scoreThresholds",
					   "confidence", "tolerance", "minSamples",
					   "step", NULL};
	static const char *const mkeys[] = {"name", "direction", "critical",
					    "group", "tolerance", NULL};
	static const char *const skeys[] = {"pass", "marginal", NULL};
	if (!is_object(h, v, path, "a judge, like {\"metrics\": [{\"name\": "
				   "\"request-error-rate\", \"direction\": "
				   "\"increase\"}]}"))
		return;
	h->check_keys(h->ctx, v, path, keys);
	char p[PATH];
	/* Kayenta's MannWhitneyClassifier: confLevel 0.95, tolerance 0.25;
	 * scoreThresholds as Spinnaker's usual 95 / 75. */
	j->confidence = 0.95;
	j->pass_score = 95;
	j->marginal_score = 75;
	j->min_samples = 10;
	j->step = MESH_S;
	double tol = 0.25;
	get_num(h, v, "confidence", path, 0.5, 0.9999, &j->confidence);
	get_num(h, v, "tolerance", path, 0, 1000, &tol);
	get_u32(h, v, "minSamples", path, 3, 1000000, &j->min_samples);
	get_dur(h, v, "step", path, 0, MESH_S, &j->step);
	if (j->step % MESH_S) {
		kpath(p, sizeof p, path, "step");
		h->expected(h->ctx, p, "a whole number of seconds, like \"10s\"",
			    json_object_get(v, "step"));
	}
	json_t *st = json_object_get(v, "scoreThresholds");
	if (st) {
		kpath(p, sizeof p, path, "scoreThresholds");
		if (is_object(h, st, p, "{\"pass\": 95, \"marginal\": 75}")) {
			h->check_keys(h->ctx, st, p, skeys);
			get_num(h, st, "pass", p, 0, 100, &j->pass_score);
			get_num(h, st, "marginal", p, 0, 100, &j->marginal_score);
			if (j->marginal_score > j->pass_score)
				errp(h, p, "expected marginal <= pass, found "
					   "marginal %g above pass %g",
				     j->marginal_score, j->pass_score);
		}
	}
	/* Groups (Kayenta's classifier.groupWeights): name -> weight. */
	json_t *g = json_object_get(v, "groups");
	if (g) {
		kpath(p, sizeof p, path, "groups");
		if (!json_is_object(g) || !json_object_size(g)) {
			h->expected(h->ctx, p, "an object of group weights, like "
					       "{\"errors\": 60, \"latency\": 40}",
				    g);
		} else {
			size_t n = json_object_size(g);
			j->group_names = zalloc(h, n, sizeof *j->group_names);
			j->group_weights = zalloc(h, n, sizeof *j->group_weights);
			const char *name;
			json_t *w;
			json_object_foreach(g, name, w) {
				if (!j->group_names || !j->group_weights)
					break;
				char q[PATH];
				kpath(q, sizeof q, p, name);
				if (!json_is_number(w) || !(json_number_value(w) > 0) ||
				    json_number_value(w) > 1e9) {
					h->expected(h->ctx, q, "a weight above 0", w);
					continue;
				}
				j->group_names[j->ngroups] = dup(h, name);
				j->group_weights[j->ngroups++] = json_number_value(w);
			}
		}
	}
	json_t *ms = json_object_get(v, "metrics");
	kpath(p, sizeof p, path, "metrics");
	if (!ms) {
		errp(h, p, "expected the metrics to compare, like [{\"name\": "
			   "\"request-error-rate\"}], found nothing");
		return;
	}
	if (!json_is_array(ms) || !json_array_size(ms)) {
		h->expected(h->ctx, p, "a non-empty array of metrics", ms);
		return;
	}
	size_t n = json_array_size(ms);
	j->metrics = zalloc(h, n, sizeof *j->metrics);
	int need_default_group = 0;
	for (size_t i = 0; j->metrics && i < n; i++) {
		const json_t *x = json_array_get(ms, i);
		char q[PATH], r[PATH];
		ipath(q, sizeof q, p, i);
		if (!is_object(h, x, q, "a metric, like {\"name\": \"request-duration\", "
					"\"direction\": \"increase\"}"))
			continue;
		h->check_keys(h->ctx, x, q, mkeys);
		ro_judge_metric m = {.tolerance = tol};
		const char *name;
		if (metric_of(h, x, q, 0, &m.metric, &name) < 0)
			continue;
		/* Bad directions by default: fewer successes, more errors,
		 * slower answers. */
		m.direction = m.metric == RO_M_SUCCESS ? JUDGE_DECREASE : JUDGE_INCREASE;
		const char *d;
		if (get_str(h, x, "direction", q, &d) == 1) {
			kpath(r, sizeof r, q, "direction");
			if (strcmp(d, "increase") == 0)
				m.direction = JUDGE_INCREASE;
			else if (strcmp(d, "decrease") == 0)
				m.direction = JUDGE_DECREASE;
			else if (strcmp(d, "either") == 0)
				m.direction = JUDGE_EITHER;
			else
				h->expected(h->ctx, r, "\"increase\", \"decrease\" or "
						       "\"either\" (Kayenta's direction)",
					    json_object_get(x, "direction"));
		}
		get_bool(h, x, "critical", q, &m.critical);
		get_num(h, x, "tolerance", q, 0, 1000, &m.tolerance);
		const char *gn;
		int rg = get_str(h, x, "group", q, &gn);
		if (rg == 1) {
			uint32_t k;
			for (k = 0; k < j->ngroups; k++)
				if (strcmp(j->group_names[k], gn) == 0)
					break;
			if (k == j->ngroups) {
				kpath(r, sizeof r, q, "group");
				errp(h, r, "expected a group named in %s.groups, found "
					   "\"%s\"",
				     path, gn);
				continue;
			}
			m.group = k;
		} else if (j->ngroups) {
			kpath(r, sizeof r, q, "group");
			errp(h, r, "expected the metric's group (one of %s.groups), "
				   "found nothing",
			     path);
			continue;
		} else {
			need_default_group = 1;
		}
		m.name = dup(h, name);
		j->metrics[j->nmetrics++] = m;
	}
	if (need_default_group && !j->ngroups) {
		/* One group, every metric in it: the score is the share of
		 * metrics that passed. Weight 0 tells the judge "equal". */
		j->group_names = zalloc(h, 1, sizeof *j->group_names);
		j->group_weights = zalloc(h, 1, sizeof *j->group_weights);
		if (j->group_names && j->group_weights) {
			j->group_names[0] = dup(h, "default");
			j->ngroups = 1;
		}
	}
}

/* What every analysis may hold: "metrics" (checks) and "judge". */
static void parse_measures(const scn_hooks *h, const json_t *v,
			   const char *path, ro_analysis *a)
{
	char p[PATH];
	json_t *x = json_object_get(v, "metrics");
	if (x) {
		kpath(p, sizeof p, path, "metrics");
		parse_checks(h, x, p, a);
	}
	x = json_object_get(v, "judge");
	if (x) {
		kpath(p, sizeof p, path, "judge");
		a->has_judge = 1;
		parse_judge(h, x, p, &a->judge);
	}
}

/* ---- Flagger: .spec.analysis ---- */

static void parse_flagger(const scn_hooks *h, const json_t *v, const char *path,
			  model_rollout *r, uint32_t svc)
{
	static const char *const keys[] = {
		"interval", "threshold", "maxWeight", "stepWeight", "stepWeights",
		"iterations", "match", "mirror", "mirrorWeight", "metrics", "judge",
		NULL};
	if (!is_object(h, v, path, "Flagger's analysis, like {\"interval\": \"1m\", "
				   "\"threshold\": 5, \"maxWeight\": 50, "
				   "\"stepWeight\": 10, \"metrics\": [...]}"))
		return;
	h->check_keys(h->ctx, v, path, keys);
	char p[PATH];
	/* Flagger's defaults: interval 60s (at least 10s), threshold 1,
	 * maxWeight 100 (or the last stepWeights entry), mirrorWeight 100. */
	r->interval = 60 * MESH_S;
	r->threshold = 1;
	r->mirror_weight = 100;
	get_dur(h, v, "interval", path, 0, 10 * MESH_S, &r->interval);
	get_u32(h, v, "threshold", path, 1, 1000000, &r->threshold);
	int has_max = get_num(h, v, "maxWeight", path, 1, 100, &r->max_weight);
	int has_step = get_num(h, v, "stepWeight", path, 0, 100, &r->step_weight);
	json_t *sw = json_object_get(v, "stepWeights");
	if (sw) {
		kpath(p, sizeof p, path, "stepWeights");
		if (!json_is_array(sw) || !json_array_size(sw)) {
			h->expected(h->ctx, p, "a non-empty array of rising weights, "
					       "like [1, 5, 10, 25, 50]",
				    sw);
		} else {
			size_t n = json_array_size(sw);
			r->step_weights = zalloc(h, n, sizeof *r->step_weights);
			double last = 0;
			for (size_t i = 0; r->step_weights && i < n; i++) {
				const json_t *x = json_array_get(sw, i);
				char q[PATH];
				ipath(q, sizeof q, p, i);
				double w = json_is_number(x) ? json_number_value(x) : -1;
				if (!(w > last) || w > 100) {
					char what[100];
					snprintf(what, sizeof what,
						 "a weight above %g and at most 100 "
						 "(weights rise)", last);
					h->expected(h->ctx, q, what, x);
					break;
				}
				r->step_weights[r->nstep_weights++] = last = w;
			}
		}
	}
	int ab = json_object_get(v, "match") != NULL;
	int iters = get_u32(h, v, "iterations", path, 1, 1000000, &r->iterations);
	get_bool(h, v, "mirror", path, &r->mirror);
	get_num(h, v, "mirrorWeight", path, 1, 100, &r->mirror_weight);
	if (ab) {
		/* Flagger's A/B testing: the matched requests go wholly to the
		 * canary for `iterations` intervals. */
		r->strategy = RO_AB;
		if (iters == 0)
			errp(h, path, "expected \"iterations\" with \"match\" (Flagger's "
				      "A/B testing runs that many intervals), found none");
		if (has_step == 1 || sw || has_max == 1)
			errp(h, path, "expected no \"stepWeight\", \"stepWeights\" or "
				      "\"maxWeight\" with \"match\" (A/B testing sends "
				      "the matched requests wholly to the canary)");
		if (r->mirror)
			errp(h, path, "expected no \"mirror\" with \"match\" (Flagger "
				      "mirrors in canary and blue/green analyses)");
	} else if (iters == 1) {
		r->strategy = RO_BLUEGREEN;
		if (has_step == 1 || sw || has_max == 1)
			errp(h, path, "expected no \"stepWeight\", \"stepWeights\" or "
				      "\"maxWeight\" with \"iterations\" and no "
				      "\"match\" (that is Flagger's blue/green)");
	} else {
		r->strategy = RO_CANARY;
		if (has_step == 1 && sw)
			errp(h, path, "expected \"stepWeight\" or \"stepWeights\", "
				      "found both");
		else if (!sw && !(r->step_weight > 0) && has_step >= 0)
			errp(h, path, "expected \"stepWeight\" (like 10) or "
				      "\"stepWeights\" (like [5, 10, 25, 50]), found "
				      "neither: the weight would never move");
		if (has_max != 1)
			r->max_weight = r->nstep_weights
						? r->step_weights[r->nstep_weights - 1]
						: 100;
	}
	json_t *m = json_object_get(v, "match");
	if (m) {
		kpath(p, sizeof p, path, "match");
		model_rule *rule = &h->m->services[svc].policy.rules[0];
		size_t n = json_is_array(m) ? json_array_size(m) : 1;
		if (json_is_array(m) && n == 0) {
			h->expected(h->ctx, p, "a non-empty array of matches", m);
		} else {
			rule->matches = zalloc(h, n, sizeof *rule->matches);
			if (rule->matches) {
				rule->nmatches = (uint32_t)n;
				for (size_t k = 0; k < n; k++) {
					char q[PATH];
					if (json_is_array(m))
						ipath(q, sizeof q, p, k);
					else
						snprintf(q, sizeof q, "%s", p);
					h->match(h->ctx, json_is_array(m) ? json_array_get(m, k) : m,
						 q, svc, &rule->matches[k]);
				}
			}
		}
	}
	parse_measures(h, v, path, &r->analysis);
}

/* ---- Argo Rollouts: .spec.strategy.canary.steps ---- */

static void parse_argo_analysis(const scn_hooks *h, const json_t *v,
				const char *path, ro_analysis *a)
{
	static const char *const keys[] = {"interval", "count", "failureLimit",
					   "inconclusiveLimit", "metrics", "judge",
					   NULL};
	if (!is_object(h, v, path, "an analysis, like {\"interval\": \"1m\", "
				   "\"count\": 5, \"metrics\": [...]}"))
		return;
	h->check_keys(h->ctx, v, path, keys);
	char p[PATH];
	int ri = get_dur(h, v, "interval", path, 1, MESH_S, &a->interval);
	int rc = get_u32(h, v, "count", path, 1, 1000000, &a->count);
	if (ri == 0) {
		kpath(p, sizeof p, path, "interval");
		errp(h, p, "expected how often to measure, like \"1m\", found nothing");
	}
	if (rc == 0) {
		kpath(p, sizeof p, path, "count");
		errp(h, p, "expected how many measurements, like 5, found nothing "
			   "(without a count Argo measures until a failure, and the "
			   "step never ends)");
	}
	get_u32(h, v, "failureLimit", path, 0, 1000000, &a->failure_limit);
	get_u32(h, v, "inconclusiveLimit", path, 0, 1000000, &a->inconclusive_limit);
	parse_measures(h, v, path, a);
}

static void parse_steps(const scn_hooks *h, const json_t *v, const char *path,
			model_rollout *r)
{
	if (!json_is_array(v) || !json_array_size(v)) {
		h->expected(h->ctx, path, "a non-empty array of Argo Rollouts steps, "
					  "like [{\"setWeight\": 20}, {\"pause\": "
					  "{\"duration\": \"10m\"}}]",
			    v);
		return;
	}
	size_t n = json_array_size(v);
	r->steps = zalloc(h, n, sizeof *r->steps);
	if (!r->steps)
		return;
	r->nsteps = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		const json_t *x = json_array_get(v, i);
		ro_step *s = &r->steps[i];
		char p[PATH], q[PATH];
		ipath(p, sizeof p, path, i);
		if (!json_is_object(x) || json_object_size(x) != 1) {
			h->expected(h->ctx, p, "a step with one key: \"setWeight\", "
					       "\"pause\" or \"analysis\"",
				    x);
			continue;
		}
		json_t *y;
		if ((y = json_object_get(x, "setWeight"))) {
			s->kind = RO_STEP_WEIGHT;
			get_num(h, x, "setWeight", p, 0, 100, &s->weight);
		} else if ((y = json_object_get(x, "pause"))) {
			static const char *const keys[] = {"duration", NULL};
			s->kind = RO_STEP_PAUSE;
			kpath(q, sizeof q, p, "pause");
			if (!is_object(h, y, q, "{\"duration\": \"10m\"}"))
				continue;
			h->check_keys(h->ctx, y, q, keys);
			if (get_dur(h, y, "duration", q, 1, MESH_S, &s->duration) == 0)
				errp(h, q, "expected a \"duration\": a pause without one "
					   "waits for a person to promote, and a "
					   "simulation has none");
		} else if ((y = json_object_get(x, "analysis"))) {
			s->kind = RO_STEP_ANALYSIS;
			kpath(q, sizeof q, p, "analysis");
			parse_argo_analysis(h, y, q, &s->analysis);
		} else {
			static const char *const keys[] = {"setWeight", "pause",
							   "analysis", NULL};
			h->check_keys(h->ctx, x, p, keys);
		}
	}
}

/* ---- alignment of windows to the judge's step ---- */

static mesh_time judge_step(const ro_analysis *a, mesh_time cur)
{
	return a->has_judge ? a->judge.step : cur;
}

static void check_aligned(const scn_hooks *h, const char *path,
			  const char *what, mesh_time t, mesh_time step)
{
	if (t % step)
		errp(h, path, "expected %s to be a whole number of the judge's step "
			      "(%gs), found %gs",
		     what, (double)step / 1e9, (double)t / 1e9);
}

static void check_analysis_aligned(const scn_hooks *h, const char *path,
				   const ro_analysis *a, mesh_time interval,
				   mesh_time step)
{
	char p[PATH];
	check_aligned(h, path, "the interval", interval, step);
	for (uint32_t i = 0; i < a->nchecks; i++) {
		snprintf(p, sizeof p, "%s.metrics[%u].interval", path, i);
		check_aligned(h, p, "the metric's interval", a->checks[i].window, step);
	}
}

/* ---- the block ---- */

static int version_of(const scn_hooks *h, const model_service *s,
		      const json_t *o, const char *key, const char *path,
		      int required, uint32_t *out)
{
	const char *name;
	char p[PATH];
	kpath(p, sizeof p, path, key);
	int r = get_str(h, o, key, path, &name);
	if (r == 0 && required)
		errp(h, p, "expected the name of a version of %s, found nothing",
		     s->name);
	if (r != 1)
		return -1;
	for (uint32_t k = 0; k < s->nversions; k++)
		if (s->versions[k].name && strcmp(s->versions[k].name, name) == 0) {
			*out = k;
			return 0;
		}
	char list[300] = "";
	for (uint32_t k = 0; k < s->nversions; k++) {
		size_t l = strlen(list);
		snprintf(list + l, sizeof list - l, "%s\"%s\"", k ? ", " : "",
			 s->versions[k].name ? s->versions[k].name : "?");
	}
	errp(h, p, "expected a version of %s (%s), found \"%s\", which is not "
		   "defined (give the service \"versions\")",
	     s->name, list, name);
	return -1;
}

void scn_parse_rollout(const scn_hooks *h, const json_t *v, mesh_time duration)
{
	static const char *const keys[] = {"service", "stable", "canary",
					   "baseline", "start", "analysis", "steps",
					   "slo_latency", "truth", "description",
					   NULL};
	model *m = h->m;
	const char *path = "rollout";
	if (!is_object(h, v, path, "a rollout, like {\"service\": \"reviews\", "
				   "\"stable\": \"v1\", \"canary\": \"v2\", "
				   "\"analysis\": {...}}"))
		return;
	h->check_keys(h->ctx, v, path, keys);
	const char *sname;
	char p[PATH];
	int rs = get_str(h, v, "service", path, &sname);
	if (rs == 0)
		errp(h, "rollout.service", "expected the service to roll out, found "
					   "nothing");
	if (rs != 1)
		return;
	uint32_t svc;
	for (svc = 0; svc < m->nservices; svc++)
		if (m->services[svc].name && strcmp(m->services[svc].name, sname) == 0)
			break;
	if (svc == m->nservices) {
		errp(h, "rollout.service", "expected the name of a service in "
					   "\"services\", found \"%s\", which is not "
					   "defined",
		     sname);
		return;
	}
	model_service *s = &m->services[svc];
	if (!s->nversions)
		return; /* its own errors say why */
	model_rollout *r = zalloc(h, 1, sizeof *r);
	if (!r)
		return;
	r->service = svc;
	r->baseline = MODEL_NONE;
	r->rule_header = r->rule_default = MODEL_NONE;
	r->slo_latency = MESH_NEVER;
	int bad = version_of(h, s, v, "stable", path, 1, &r->stable) < 0;
	bad |= version_of(h, s, v, "canary", path, 1, &r->canary) < 0;
	if (json_object_get(v, "baseline"))
		bad |= version_of(h, s, v, "baseline", path, 0, &r->baseline) < 0;
	if (!bad && r->stable == r->canary)
		errp(h, "rollout.canary", "expected a version other than the stable "
					  "one, found \"%s\" again",
		     s->versions[r->canary].name), bad = 1;
	if (!bad && r->baseline != MODEL_NONE &&
	    (r->baseline == r->stable || r->baseline == r->canary))
		errp(h, "rollout.baseline", "expected a third version (a copy of the "
					    "stable one, deployed beside the canary), "
					    "found \"%s\"",
		     s->versions[r->baseline].name), bad = 1;
	if (s->policy.nrules) {
		errp(h, path, "expected no \"routes\" in mesh.%s: the rollout "
			      "owns the service's routes, as Flagger owns its "
			      "VirtualService",
		     s->name);
		bad = 1;
	}
	get_dur(h, v, "start", path, 0, 0, &r->start);
	if (r->start >= duration && duration) {
		errp(h, "rollout.start", "expected a time before the end of "
					 "\"duration\", found %gs",
		     (double)r->start / 1e9);
	}
	get_dur(h, v, "slo_latency", path, 0, 1, &r->slo_latency);
	const char *truth;
	if (get_str(h, v, "truth", path, &truth) == 1) {
		if (strcmp(truth, "good") == 0)
			r->truth = RO_TRUTH_GOOD;
		else if (strcmp(truth, "bad") == 0)
			r->truth = RO_TRUTH_BAD;
		else
			h->expected(h->ctx, "rollout.truth", "\"good\" or \"bad\" (what "
							     "the canary really is, for "
							     "the sweep's error rates)",
				    json_object_get(v, "truth"));
	}
	json_t *an = json_object_get(v, "analysis"), *st = json_object_get(v, "steps");
	if (an && st) {
		errp(h, path, "expected \"analysis\" (Flagger) or \"steps\" (Argo "
			      "Rollouts), found both");
		bad = 1;
	} else if (!an && !st) {
		errp(h, path, "expected \"analysis\" (Flagger's canary analysis) or "
			      "\"steps\" (Argo Rollouts' canary steps), found neither");
		bad = 1;
	}
	if (bad) {
		model_rollout_free(r);
		return;
	}
	/* The rules the rollout owns: for A/B testing, one for the matched
	 * requests before the one every other request takes. */
	int ab = an && json_is_object(an) && json_object_get(an, "match");
	uint32_t nrules = ab ? 2 : 1;
	s->policy.rules = zalloc(h, nrules, sizeof *s->policy.rules);
	if (!s->policy.rules) {
		model_rollout_free(r);
		return;
	}
	s->policy.nrules = nrules;
	uint32_t nsplit = r->baseline == MODEL_NONE ? 2 : 3;
	for (uint32_t i = 0; i < nrules; i++) {
		model_rule *rule = &s->policy.rules[i];
		rule->splits = zalloc(h, nsplit, sizeof *rule->splits);
		if (!rule->splits)
			break;
		rule->nsplits = nsplit;
		rule->splits[0].version = r->stable;
		rule->splits[0].weight = 100;
		rule->splits[1].version = r->canary;
		if (nsplit == 3)
			rule->splits[2].version = r->baseline;
		rule->mirror_version = r->canary;
	}
	r->rule_header = ab ? 0 : MODEL_NONE;
	r->rule_default = ab ? 1 : 0;
	if (an) {
		kpath(p, sizeof p, path, "analysis");
		parse_flagger(h, an, p, r, svc);
	} else {
		r->strategy = RO_STEPS;
		kpath(p, sizeof p, path, "steps");
		parse_steps(h, st, p, r);
	}
	/* One step for every judge (the recorder keeps one series per
	 * version), and every window a whole number of it. */
	mesh_time step = judge_step(&r->analysis, 0);
	for (uint32_t i = 0; i < r->nsteps; i++)
		if (r->steps[i].kind == RO_STEP_ANALYSIS) {
			mesh_time js = judge_step(&r->steps[i].analysis, 0);
			if (js && step && js != step) {
				snprintf(p, sizeof p, "rollout.steps[%u].analysis.judge.step", i);
				errp(h, p, "expected the same step as every other judge of "
					   "the rollout (%gs), found %gs",
				     (double)step / 1e9, (double)js / 1e9);
			}
			if (js && !step)
				step = js;
		}
	if (step) {
		check_aligned(h, "rollout.start", "the start", r->start, step);
		if (r->strategy != RO_STEPS)
			check_analysis_aligned(h, "rollout.analysis", &r->analysis,
					       r->interval, step);
		for (uint32_t i = 0; i < r->nsteps; i++)
			if (r->steps[i].kind == RO_STEP_ANALYSIS) {
				snprintf(p, sizeof p, "rollout.steps[%u].analysis", i);
				check_analysis_aligned(h, p, &r->steps[i].analysis,
						       r->steps[i].analysis.interval, step);
			}
	}
	/* A baseline takes as much traffic as the canary, from the stable
	 * version: never more than half can go to the canary. */
	if (r->baseline != MODEL_NONE) {
		double top = r->strategy == RO_CANARY ? r->max_weight : 0;
		if (r->strategy == RO_AB || r->strategy == RO_BLUEGREEN)
			errp(h, "rollout.baseline", "expected no baseline with A/B "
						    "testing or blue/green (only a "
						    "weighted canary has a baseline "
						    "beside it)");
		if (r->strategy == RO_CANARY) {
			/* Flagger may step past maxWeight, up to 100. */
			double w = 0;
			while (w < r->max_weight) {
				double st_ = r->step_weight > 0 || !r->nstep_weights
						     ? r->step_weight
						     : 0;
				if (st_ <= 0) {
					for (uint32_t k = 0; k < r->nstep_weights; k++)
						if (r->step_weights[k] > w) {
							st_ = r->step_weights[k] - w;
							break;
						}
					if (st_ <= 0)
						break;
				}
				w += st_;
			}
			top = w;
		}
		for (uint32_t i = 0; i < r->nsteps; i++)
			if (r->steps[i].kind == RO_STEP_WEIGHT && r->steps[i].weight > top)
				top = r->steps[i].weight;
		if (top > 50)
			errp(h, "rollout.baseline", "expected canary weights of at most "
						    "50 with a baseline (it takes as "
						    "much as the canary), found %g",
			     top);
	}
	m->rollout = r;
}

/* ---- objectives: "expect": {"rollout": {...}} ---- */

void scn_parse_rollout_expect(const scn_hooks *h, const json_t *v,
			      const char *path)
{
	static const char *const keys[] = {"verdict", "decided_within",
					   "blast_radius", NULL};
	if (!is_object(h, v, path, "rollout objectives, like {\"verdict\": "
				   "\"rolled_back\", \"decided_within\": \"<= 10m\", "
				   "\"blast_radius\": \"< 500\"}"))
		return;
	if (!h->m->rollout) {
		errp(h, path, "expected a \"rollout\" block to judge, found none");
		return;
	}
	h->check_keys(h->ctx, v, path, keys);
	char p[PATH];
	json_t *x = json_object_get(v, "verdict");
	if (x) {
		kpath(p, sizeof p, path, "verdict");
		const char *s = json_is_string(x) ? json_string_value(x) : "";
		enum ro_verdict k = strcmp(s, "promoted") == 0      ? RO_PROMOTED
				    : strcmp(s, "rolled_back") == 0 ? RO_ROLLED_BACK
				    : strcmp(s, "inconclusive") == 0 ? RO_INCONCLUSIVE
								     : RO_IN_PROGRESS;
		if (k == RO_IN_PROGRESS)
			h->expected(h->ctx, p, "\"promoted\", \"rolled_back\" or "
					       "\"inconclusive\"",
				    x);
		else
			h->objective(h->ctx, SCOPE_ROLLOUT, METRIC_ROLLOUT_VERDICT,
				     OP_EQ, k, s);
	}
	for (int w = 0; w < 2; w++) {
		const char *key = w ? "blast_radius" : "decided_within";
		x = json_object_get(v, key);
		if (!x)
			continue;
		kpath(p, sizeof p, path, key);
		const char *what = w ? "a comparison with a count of requests, like "
				       "\"< 500\""
				     : "a comparison with a duration, like \"<= 10m\"";
		const char *s = json_is_string(x) ? json_string_value(x) : NULL;
		if (!s) {
			h->expected(h->ctx, p, what, x);
			continue;
		}
		while (isspace((unsigned char)*s))
			s++;
		enum model_op op;
		if (strncmp(s, ">=", 2) == 0) op = OP_GE, s += 2;
		else if (strncmp(s, "<=", 2) == 0) op = OP_LE, s += 2;
		else if (strncmp(s, "==", 2) == 0) op = OP_EQ, s += 2;
		else if (*s == '>') op = OP_GT, s += 1;
		else if (*s == '<') op = OP_LT, s += 1;
		else {
			h->expected(h->ctx, p, what, x);
			continue;
		}
		while (isspace((unsigned char)*s))
			s++;
		double target;
		if (!w) {
			mesh_time t;
			if (scn_parse_duration(s, &t) < 0) {
				h->expected(h->ctx, p, what, x);
				continue;
			}
			target = (double)t;
		} else {
			char *end;
			if (!isdigit((unsigned char)*s)) {
				h->expected(h->ctx, p, what, x);
				continue;
			}
			target = strtod(s, &end);
			if (*end || !isfinite(target)) {
				h->expected(h->ctx, p, what, x);
				continue;
			}
		}
		h->objective(h->ctx, SCOPE_ROLLOUT,
			     w ? METRIC_BLAST_RADIUS : METRIC_DECIDED_WITHIN, op,
			     target, json_string_value(x));
	}
}
