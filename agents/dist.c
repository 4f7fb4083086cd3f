#include "dist.h"

#include <assert.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

void dist_constant(dist *d, mesh_time v)
{
	memset(d, 0, sizeof *d);
	d->kind = DIST_CONSTANT;
	d->a = v;
}

void dist_uniform(dist *d, mesh_time lo, mesh_time hi)
{
	assert(lo <= hi);
	memset(d, 0, sizeof *d);
	d->kind = DIST_UNIFORM;
	d->a = lo;
	d->b = hi;
}

void dist_exponential(dist *d, mesh_time mean)
{
	memset(d, 0, sizeof *d);
	d->kind = DIST_EXPONENTIAL;
	d->a = mean;
}

void dist_lognormal(dist *d, mesh_time p50, mesh_time p99)
{
	assert(p50 > 0 && p50 <= p99);
	memset(d, 0, sizeof *d);
	d->kind = DIST_LOGNORMAL;
	d->a = p50;
	d->b = p99;
	/* ln X ~ N(mu, sigma^2): the median is e^mu, the 99th percentile is
	 * e^(mu + z99 sigma). */
	d->mu = log((double)p50);
	d->sigma = (log((double)p99) - d->mu) / DIST_Z99;
}

void dist_empirical(dist *d, int n, const double *pct, const mesh_time *val)
{
	assert(n >= 2 && n <= DIST_MAX_POINTS);
	assert(pct[0] == 0.0 && pct[n - 1] == 100.0);
	memset(d, 0, sizeof *d);
	d->kind = DIST_EMPIRICAL;
	d->npoints = n;
	for (int i = 0; i < n; i++) {
		d->pct[i] = pct[i];
		d->val[i] = val[i];
	}
}

static mesh_time to_ns(double x)
{
	if (!(x > 0.0))
		return 0;
	if (x >= 1.8e19)
		return UINT64_MAX - 1;
	return (mesh_time)(x + 0.5);
}

mesh_time dist_sample(const dist *d, rng *r)
{
	switch (d->kind) {
	case DIST_CONSTANT:
		return d->a;
	case DIST_UNIFORM:
		if (d->b == d->a)
			return d->a;
		return d->a + rng_below(r, d->b - d->a + 1);
	case DIST_EXPONENTIAL:
		return to_ns(-(double)d->a * log(rng_uniform_pos(r)));
	case DIST_LOGNORMAL:
		return to_ns(exp(d->mu + d->sigma * rng_normal(r)));
	case DIST_EMPIRICAL: {
		/* Inverse transform: find the segment holding u and
		 * interpolate linearly within it. */
		double u = rng_uniform(r) * 100.0;
		int i = 1;
		while (i < d->npoints - 1 && d->pct[i] <= u)
			i++;
		double p0 = d->pct[i - 1], p1 = d->pct[i];
		double v0 = (double)d->val[i - 1], v1 = (double)d->val[i];
		double f = p1 > p0 ? (u - p0) / (p1 - p0) : 0.0;
		return to_ns(v0 + f * (v1 - v0));
	}
	}
	assert(0 && "unknown distribution");
	return 0;
}

double dist_mean(const dist *d)
{
	switch (d->kind) {
	case DIST_CONSTANT:
		return (double)d->a;
	case DIST_UNIFORM:
		return ((double)d->a + (double)d->b) / 2.0;
	case DIST_EXPONENTIAL:
		return (double)d->a;
	case DIST_LOGNORMAL:
		return exp(d->mu + d->sigma * d->sigma / 2.0);
	case DIST_EMPIRICAL: {
		/* Each segment is uniform between its end values. */
		double m = 0.0;
		for (int i = 1; i < d->npoints; i++)
			m += (d->pct[i] - d->pct[i - 1]) / 100.0 *
			     ((double)d->val[i - 1] + (double)d->val[i]) / 2.0;
		return m;
	}
	}
	return 0.0;
}

int dist_is_zero(const dist *d)
{
	switch (d->kind) {
	case DIST_CONSTANT:
	case DIST_EXPONENTIAL:
		return d->a == 0;
	case DIST_UNIFORM:
		return d->b == 0;
	case DIST_LOGNORMAL:
		return 0;
	case DIST_EMPIRICAL:
		return d->val[d->npoints - 1] == 0;
	}
	return 0;
}

void mesh_format_duration(mesh_time ns, char *buf, size_t len)
{
	static const struct {
		mesh_time unit;
		const char *name;
	} units[] = {{3600 * MESH_S, "h"}, {60 * MESH_S, "m"}, {MESH_S, "s"},
		     {MESH_MS, "ms"}, {MESH_US, "us"}};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (ns >= units[i].unit) {
			if (ns % units[i].unit == 0)
				snprintf(buf, len, "%llu%s",
					 (unsigned long long)(ns / units[i].unit),
					 units[i].name);
			else
				snprintf(buf, len, "%.4g%s",
					 (double)ns / (double)units[i].unit,
					 units[i].name);
			return;
		}
	}
	snprintf(buf, len, "%lluns", (unsigned long long)ns);
}
