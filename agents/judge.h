/*
 * judge.h - the statistical canary judge, as Kayenta's NetflixACAJudge and
 * MannWhitneyClassifier do it.
 *
 * For each metric, the canary's samples are compared with the baseline's by
 * a two-sided Mann-Whitney U test at a confidence level. A metric whose
 * difference is not significant passes. A significant one is High or Low by
 * the sign of the Hodges-Lehmann estimate of the shift; it fails only when
 * that shift, relative to the baseline's median, is outside the tolerance
 * and in a direction the metric cares about. Too few samples on either side
 * make a metric NODATA: never a pass.
 *
 * The score is the weighted share of groups' passing metrics, as Kayenta:
 * each group's score is the percentage of its metrics that passed, and the
 * run's score is the weight-averaged group score (equal weights when none
 * are given). A critical metric that fails fails the whole judgement
 * whatever the score. Score >= pass_score: PASS; >= marginal_score:
 * MARGINAL; else FAIL. When no metric had data: NODATA.
 *
 * In detail (judge.c says where this follows Kayenta and where not):
 * - A metric "passed" when it had data and did not fail: a significant
 *   shift in a direction the metric does not care about, or one within
 *   the tolerance, passes.
 * - A NODATA metric is left out of its group's percentage (Kayenta: Pass /
 *   (Pass + High + Low)); a group all of whose metrics are NODATA scores 0
 *   and keeps its weight, so missing data can lower the score, never raise
 *   it. A group with no metrics configured takes no part.
 * - With ngroups == 0, every metric is in one group (group is ignored).
 *   Weights are all > 0, or all 0 for equal weights.
 * - A critical failure makes the verdict FAIL but leaves the score as
 *   computed (Kayenta zeroes it). A critical NODATA metric is not a failure.
 * - Values that are not finite (NaN, +-inf) are left out before judging,
 *   as Kayenta's default nanStrategy "remove"; ncanary and nbaseline in the
 *   result count the values judged. A NODATA metric has p_value 1 and u,
 *   shift and relative 0.
 *
 * Pure computation: no I/O, no allocation beyond what a call returns in its
 * result (scratch space is the caller's or on a bounded heap buffer freed
 * before return).
 */
#ifndef JUDGE_H
#define JUDGE_H

#include <stddef.h>
#include <stdint.h>

enum judge_direction {
	JUDGE_EITHER = 0,   /* a shift either way is bad */
	JUDGE_INCREASE = 1, /* only an increase is bad (latency, errors) */
	JUDGE_DECREASE = 2, /* only a decrease is bad (success rate) */
};

typedef struct judge_metric_cfg {
	const char *name;
	enum judge_direction direction;
	double tolerance;     /* allowed relative shift, e.g. 0.10 = 10% */
	int critical;         /* a failure fails the judgement */
	uint32_t group;       /* index into judge_cfg.groups */
} judge_metric_cfg;

typedef struct judge_group_cfg {
	const char *name;
	double weight;        /* > 0; weights need not sum to 100 */
} judge_group_cfg;

typedef struct judge_cfg {
	const judge_metric_cfg *metrics;
	uint32_t nmetrics;
	const judge_group_cfg *groups;
	uint32_t ngroups;
	double confidence;    /* e.g. 0.95: significant when p < 1 - it */
	double pass_score;    /* Kayenta's scoreThresholds.pass, e.g. 95 */
	double marginal_score;/* Kayenta's scoreThresholds.marginal, e.g. 75 */
	uint32_t min_samples; /* per side; fewer is NODATA (e.g. 10) */
} judge_cfg;

enum judge_class { JUDGE_PASS = 0, JUDGE_HIGH, JUDGE_LOW, JUDGE_NODATA };
enum judge_verdict { JV_PASS = 0, JV_MARGINAL, JV_FAIL, JV_NODATA };

typedef struct judge_metric_result {
	enum judge_class cls;
	int failed;           /* cls is High/Low in a bad direction, beyond
			       * the tolerance */
	double p_value;       /* two-sided */
	double u;             /* U statistic of the canary sample */
	double shift;         /* Hodges-Lehmann: median of canary - baseline
			       * pairwise differences */
	double relative;      /* shift / |baseline median| (0 when that is 0
			       * and shift is 0; +-inf otherwise) */
	size_t ncanary, nbaseline;
} judge_metric_result;

typedef struct judge_result {
	enum judge_verdict verdict;
	double score;         /* 0..100 */
	int critical_failed;
	judge_metric_result m[]; /* [nmetrics] */
} judge_result;

/* Judge every metric: canary[i] holds ncanary[i] samples of metric i, and
 * baseline[i] nbaseline[i]. Returns a new result (caller frees with free),
 * or NULL when out of memory. Borrows everything; O(n log n) per metric. */
judge_result *judge_run(const judge_cfg *cfg, const double *const *canary,
			const size_t *ncanary, const double *const *baseline,
			const size_t *nbaseline);

/* The two-sided p-value of the Mann-Whitney U test of x against y, with
 * the tie-corrected normal approximation and continuity correction (exact
 * distribution when both samples have at most 20 values and there are no
 * ties). *u receives U of x (pairs where x > y, ties count half). Returns
 * 1 when either sample is empty. Values that are not finite are left out.
 * u may be NULL. Borrows x and y; returns NaN (and *u NaN) when out of
 * memory. O(n log n). */
double judge_mann_whitney(const double *x, size_t nx, const double *y,
			  size_t ny, double *u);

/* The Hodges-Lehmann estimate of the shift of x against y: the median of
 * the nx * ny differences x_i - y_j (the mean of the two middle ones when
 * nx * ny is even). 0 when either is empty. Values that are not finite are
 * left out. Exact for any size, without listing the differences: O((nx +
 * ny) log(nx ny)) expected. Borrows x and y; NaN when out of memory. */
double judge_hodges_lehmann(const double *x, size_t nx, const double *y,
			    size_t ny);

const char *judge_class_name(enum judge_class c);
const char *judge_verdict_name(enum judge_verdict v);

#endif
