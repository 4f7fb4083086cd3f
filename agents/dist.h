/*
 * dist.h - distributions of durations (service time, network hop latency,
 * sidecar processing time, think time).
 *
 * Each distribution is a small value type filled in by the scenario loader
 * and sampled with an explicit random stream. Samples are nanoseconds.
 */
#ifndef DIST_H
#define DIST_H

#include "mesh.h"
#include "rng.h"

enum dist_kind {
	DIST_CONSTANT = 1, /* always `value` */
	DIST_UNIFORM,      /* uniform over [min, max] */
	DIST_EXPONENTIAL,  /* exponential with the given mean */
	DIST_LOGNORMAL,    /* lognormal fitted to a median and a 99th pct */
	DIST_EMPIRICAL,    /* piecewise-linear between given percentiles */
};

#define DIST_MAX_POINTS 32

typedef struct dist {
	enum dist_kind kind;
	mesh_time a;        /* constant: value; uniform: min; exp: mean;
			     * lognormal: p50 */
	mesh_time b;        /* uniform: max; lognormal: p99 */
	double mu, sigma;   /* lognormal parameters of ln(X), in ln(ns) */
	int npoints;        /* empirical: number of points */
	double pct[DIST_MAX_POINTS];      /* empirical: percentiles, 0..100 */
	mesh_time val[DIST_MAX_POINTS];   /* empirical: value at pct[i] */
} dist;

/* z such that P(N(0,1) <= z) = 0.99. */
#define DIST_Z99 2.3263478740408408

/* Fillers. They do not validate (the loader does); they compute derived
 * parameters. dist_lognormal needs 0 < p50 <= p99. */
void dist_constant(dist *d, mesh_time v);
void dist_uniform(dist *d, mesh_time lo, mesh_time hi);
void dist_exponential(dist *d, mesh_time mean);
void dist_lognormal(dist *d, mesh_time p50, mesh_time p99);
/* Points must have pct[0] == 0, pct[n-1] == 100, both strictly increasing
 * in pct and non-decreasing in val; n in [2, DIST_MAX_POINTS]. */
void dist_empirical(dist *d, int n, const double *pct, const mesh_time *val);

/* Draw one sample. */
mesh_time dist_sample(const dist *d, rng *r);

/* The distribution's exact mean, in ns (as a double). */
double dist_mean(const dist *d);

/* True when every sample is zero (a hop that costs nothing). */
int dist_is_zero(const dist *d);

/* Format ns as a short duration string ("1.5ms", "250us", "2s"). */
void mesh_format_duration(mesh_time ns, char *buf, size_t len);

#endif
