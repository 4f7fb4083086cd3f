/*
 * rollout.h - progressive delivery: a canary's rollout and its analysis.
 *
 * A rollout moves traffic of one service from its stable version to a
 * canary version in steps, checks the canary at each interval, and ends by
 * promoting it (every request goes to the canary) or rolling it back (every
 * request goes to the stable version). Two shapes are modelled, with their
 * real names and defaults:
 *
 *   Flagger (Canary .spec.analysis): interval, threshold, maxWeight,
 *     stepWeight or stepWeights (progressive canary), iterations with a
 *     header match (A/B testing), iterations alone (blue/green), mirror.
 *   Argo Rollouts (.spec.strategy.canary.steps): setWeight, pause with a
 *     duration, analysis (interval, count, failureLimit,
 *     inconclusiveLimit).
 *
 * Each analysis runs threshold checks like Flagger's built-in metrics
 * (request-success-rate at least, request-duration p99 at most) and,
 * optionally, a statistical judge that compares the canary with a baseline
 * per metric as Kayenta does (judge.h).
 *
 * The controller is host-independent. It never reads a clock or touches
 * the sidecars: the host calls rollout_begin and rollout_tick at the times
 * they return, hands it per-version measurements through rollout_io, and
 * applies the routes it asks for (the simulator rewrites the split weights
 * its sidecars read; a live host would call the sidecars' admin
 * endpoints). Everything the controller decided, and why, goes into a
 * rollout_log, which the report renders.
 */
#ifndef ROLLOUT_H
#define ROLLOUT_H

#include <stddef.h>
#include <stdint.h>

#include "judge.h"
#include "mesh.h"

/* ---- the model (filled by the scenario loader) ---- */

enum ro_strategy {
	RO_CANARY = 1,   /* Flagger: progressive weights */
	RO_AB,           /* Flagger: header match + iterations (A/B testing) */
	RO_BLUEGREEN,    /* Flagger: iterations alone (blue/green) */
	RO_STEPS,        /* Argo Rollouts: explicit steps */
};

/* What a check or the judge measures of one version. */
enum ro_metric {
	RO_M_SUCCESS = 1, /* percent of requests not answered 5xx (Flagger's
			   * request-success-rate) */
	RO_M_ERRORS,      /* percent answered 5xx */
	RO_M_P99,         /* p99 latency, ms (Flagger's request-duration) */
	RO_M_P50,         /* median latency, ms */
	RO_M_COUNT
};

const char *ro_metric_name(enum ro_metric k);

/* A threshold check: Flagger's metrics[] entry with a thresholdRange. */
typedef struct ro_check {
	char *name;            /* as written: "request-success-rate" ... */
	enum ro_metric metric;
	int has_min, has_max;
	double min, max;       /* percent, or ms */
	mesh_time window;      /* Flagger's metric interval (1m) */
	uint64_t min_requests; /* fewer requests in the window: no data */
} ro_check;

/* One metric of the judge (Kayenta's canary config metric). */
typedef struct ro_judge_metric {
	char *name;
	enum ro_metric metric;
	enum judge_direction direction;
	double tolerance;
	int critical;
	uint32_t group;
} ro_judge_metric;

typedef struct ro_judge {
	ro_judge_metric *metrics;
	uint32_t nmetrics;
	char **group_names;
	double *group_weights;
	uint32_t ngroups;
	double confidence;      /* Kayenta's confLevel, 0.95 */
	double pass_score;      /* scoreThresholds.pass, 95 */
	double marginal_score;  /* scoreThresholds.marginal, 75 */
	uint32_t min_samples;   /* per side, per metric; fewer is NODATA */
	mesh_time step;         /* resolution of the time series compared */
} ro_judge;

/* What is measured at each interval of an analysis. */
typedef struct ro_analysis {
	ro_check *checks;
	uint32_t nchecks;
	int has_judge;
	ro_judge judge;
	/* Argo's analysis step; Flagger uses the rollout's interval. */
	mesh_time interval;
	uint32_t count;               /* measurements */
	uint32_t failure_limit;       /* Argo failureLimit (0) */
	uint32_t inconclusive_limit;  /* Argo inconclusiveLimit (0) */
} ro_analysis;

enum ro_step_kind { RO_STEP_WEIGHT = 1, RO_STEP_PAUSE, RO_STEP_ANALYSIS };

typedef struct ro_step {
	enum ro_step_kind kind;
	double weight;          /* setWeight */
	mesh_time duration;     /* pause */
	ro_analysis analysis;   /* analysis */
} ro_step;

/* Ground truth a scenario may declare, for the sweep's error rates. */
enum ro_truth { RO_TRUTH_UNKNOWN = 0, RO_TRUTH_GOOD, RO_TRUTH_BAD };

typedef struct model_rollout {
	uint32_t service;
	uint32_t stable, canary;  /* version indices in the service */
	uint32_t baseline;        /* a version like the stable one, given as
				   * much traffic as the canary (Kayenta's
				   * baseline); MODEL_NONE: the stable */
	enum ro_strategy strategy;
	mesh_time start;          /* when the canary is deployed */
	/* Flagger */
	mesh_time interval;       /* 60s */
	uint32_t threshold;       /* failed checks before rollback (1) */
	double max_weight;        /* 100, or the last stepWeights entry */
	double step_weight;
	double *step_weights;
	uint32_t nstep_weights;
	uint32_t iterations;      /* A/B and blue/green */
	int mirror;               /* Istio mirror to the canary */
	double mirror_weight;     /* percent mirrored (100) */
	ro_analysis analysis;     /* Flagger's metrics, checked every interval */
	/* Argo Rollouts */
	ro_step *steps;
	uint32_t nsteps;
	/* harm: what counts in the blast radius besides failures */
	mesh_time slo_latency;    /* MESH_NEVER: latency harms no one */
	enum ro_truth truth;
	/* The route rules the loader made for the service (the rollout owns
	 * them, as Flagger owns its VirtualService): the header rule (A/B)
	 * or MODEL_NONE, and the rule every other request takes. */
	uint32_t rule_header, rule_default;
} model_rollout;

void model_rollout_free(struct model_rollout *r);

/* ---- what the controller reads and writes ---- */

/* One version's requests in a window, as a metrics server would answer. */
typedef struct ro_stats {
	uint64_t requests;     /* ended in the window (mirrored ones too) */
	uint64_t non5xx;
	double success;        /* non5xx / requests, percent; NAN: none */
	double p99_ms;         /* NAN when no request */
	double p50_ms;
} ro_stats;

/* The routes the controller wants. Percentages of the requests that take
 * the default rule; the header rule (A/B) sends its group wholly to the
 * canary when header_to_canary is set. */
typedef struct ro_routes {
	double canary;         /* percent to the canary */
	double baseline;       /* percent to the baseline version */
	int header_to_canary;
	double mirror;         /* percent mirrored to the canary */
} ro_routes;

typedef struct rollout_io {
	void *ctx;
	/* Totals of `version` over [from, to). */
	void (*window)(void *ctx, uint32_t version, mesh_time from, mesh_time to,
		       ro_stats *out);
	/* The values of `metric` of `version`, one per judge step in [from,
	 * to) that had requests, into out (at most max). Returns how many. */
	size_t (*series)(void *ctx, uint32_t version, enum ro_metric metric,
			 mesh_time step, mesh_time from, mesh_time to, double *out,
			 size_t max);
	/* Apply routes from now on. */
	void (*route)(void *ctx, const ro_routes *r);
} rollout_io;

/* ---- the log: everything the controller did, for the report ---- */

enum ro_action {
	RO_ACT_START = 1,  /* analysis started; first weight set */
	RO_ACT_ADVANCE,    /* weight (or iteration) advanced */
	RO_ACT_HALT,       /* a failed check: advancement held */
	RO_ACT_PAUSE,      /* Argo pause step */
	RO_ACT_ANALYSIS,   /* Argo analysis step started / passed */
	RO_ACT_PROMOTE,    /* every request to the canary */
	RO_ACT_ROLLBACK,   /* every request back to the stable version */
	RO_ACT_HOLD,       /* inconclusive: held for a person to decide */
};

const char *ro_action_name(enum ro_action a);

enum ro_verdict {
	RO_IN_PROGRESS = 0, RO_PROMOTED, RO_ROLLED_BACK, RO_INCONCLUSIVE
};

const char *ro_verdict_name(enum ro_verdict v);

typedef struct ro_event {
	mesh_time t;
	enum ro_action action;
	double weight;          /* canary weight after the action */
	int header, mirror;     /* header group / mirroring on after it */
	uint32_t failed_checks;
	char reason[200];
} ro_event;

/* A measurement's outcome. MARGINAL: the judge's score between its
 * marginal and pass thresholds (Flagger counts it failed, Argo
 * inconclusive). */
enum ro_result { RO_PASS = 0, RO_FAIL, RO_NODATA, RO_MARGINAL };

const char *ro_result_name(enum ro_result r);

typedef struct ro_check_result {
	enum ro_result result;
	double canary, baseline;  /* the metric of each; NAN when none */
	uint64_t canary_n, baseline_n;
} ro_check_result;

/* One measurement: an interval's analysis. */
typedef struct ro_interval {
	mesh_time from, to;
	double weight;            /* canary weight during it */
	int header, mirror;
	enum ro_result result;
	ro_stats canary, baseline; /* over [from, to) */
	ro_check_result *checks;  /* [analysis nchecks] */
	uint32_t nchecks;
	const ro_analysis *analysis;
	judge_result *judge;      /* NULL without a judge */
} ro_interval;

typedef struct rollout_log {
	const model_rollout *cfg;
	ro_event *events;
	uint32_t nevents, cap_events;
	ro_interval *intervals;
	uint32_t nintervals, cap_intervals;
	enum ro_verdict verdict;
	mesh_time decided_at;     /* MESH_NEVER while in progress */
	char reason[200];
	/* Blast radius: calls to the service that the callers' sidecars sent
	 * to the canary (mirrored copies excluded), how many failed, and how
	 * many succeeded slower than slo_latency. Filled by the host: over
	 * the whole run, and as they stood at the decision. */
	uint64_t canary_calls, harmed_failed, harmed_slow;
	uint64_t at_decision_calls, at_decision_failed, at_decision_slow;
	int oom;                  /* a record could not be kept */
} rollout_log;

void rollout_log_init(rollout_log *l, const model_rollout *cfg);
/* Free what l holds (not l itself). */
void rollout_log_clear(rollout_log *l);

/* ---- the controller ---- */

typedef struct rollout_ctl rollout_ctl;

/* A controller for cfg (borrowed), reading and routing through io
 * (copied), writing into log (borrowed, initialised by the caller). NULL
 * when out of memory. */
rollout_ctl *rollout_new(const model_rollout *cfg, const rollout_io *io,
			 rollout_log *log);
void rollout_free(rollout_ctl *c);

/* Start the rollout at `now` (the scenario's start). Returns when to call
 * rollout_tick next (absolute), or MESH_NEVER when it is decided. */
mesh_time rollout_begin(rollout_ctl *c, mesh_time now);

/* Run the analysis or step due at `now`. Returns the next time, or
 * MESH_NEVER once the rollout is decided. */
mesh_time rollout_tick(rollout_ctl *c, mesh_time now);

/* Decided (promoted, rolled back or held as inconclusive)? */
int rollout_decided(const rollout_ctl *c);

/* The default minimum requests of a check: a p99 needs 100 requests to be
 * more than the maximum, and a success rate of at least min percent needs
 * 100 / (100 - min) requests before one failure can show (at least 10). */
uint64_t ro_check_default_min_requests(const ro_check *k);

/* Prometheus' histogram_quantile over Istio's default request-duration
 * buckets (istio_request_duration_milliseconds): counts[i] requests at or
 * below ro_istio_bucket_ms[i], counts[RO_ISTIO_BUCKETS] above the last.
 * Linear within a bucket; the top finite bound when the quantile is in
 * the +Inf bucket. NAN when there are no requests. */
#define RO_ISTIO_BUCKETS 19
extern const double ro_istio_bucket_ms[RO_ISTIO_BUCKETS];
double ro_histogram_quantile(double q, const uint64_t *counts);

#endif
