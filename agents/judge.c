/*
 * judge.c - the statistical canary judge (see judge.h).
 *
 * What Kayenta does, and where we differ (read in spinnaker/kayenta,
 * kayenta-judge: NetflixACAJudge.scala, MannWhitneyClassifier.scala,
 * WeightedSumScorer.scala; kayenta-mannwhitney: MannWhitney.scala; and the
 * Spinnaker guide "How canary judgment works"):
 *
 * - Kayenta compares each metric's experiment (canary) and control
 *   (baseline) samples with a two-sided Mann-Whitney test (R's wilcox.test,
 *   ported) and takes the Hodges-Lehmann estimate and its confidence
 *   interval. NetflixACAJudge runs it at confLevel 0.98 with tolerance 0.25.
 *   A metric is High when the interval's lower bound is above
 *   tolerance * |estimate| and the mean ratio canary/baseline reaches the
 *   metric's effectSize.allowedIncrease (default 1.0); Low symmetrically.
 *   We follow judge.h instead: significance is the U test's p-value against
 *   1 - confidence, and the effect is the Hodges-Lehmann shift relative to
 *   the baseline's median, compared with the metric's tolerance. Both ask
 *   "is the shift real, and is it big enough to matter"; ours states the
 *   second question in the metric's own units, which a scenario author can
 *   reason about ("10% slower is too slow").
 * - Kayenta only labels High/Low in the directions the metric's `direction`
 *   cares about; any other shift is Pass. We keep the label (a significant
 *   drop in latency is LOW) but set `failed` only for a bad direction, and
 *   score a metric as passing when it had data and did not fail, so the
 *   score is the same as Kayenta's.
 * - Kayenta's scorer: a group's score is 100 * Pass / (Pass + High + Low),
 *   NODATA metrics left out; the summary is the sum of group scores times
 *   weight / 100, where groups without a configured weight share what is
 *   left of 100, and a group none of whose metrics had data adds nothing
 *   (its weight is lost: missing data lowers the score). We do the same,
 *   but divide by the sum of the weights, since ours need not sum to 100.
 * - Kayenta zeroes the score when a critical metric is not Pass (newer
 *   versions also when a critical metric has no data). We keep the score,
 *   which says how the rest of the canary did, and make the verdict FAIL;
 *   per judge.h, only a critical metric that *failed* does that: a critical
 *   metric without data is NODATA and does not fail the judgement alone.
 * - Kayenta adds Gaussian noise when both samples are constant, so that R's
 *   test can run. We need none: with the tie correction, two different
 *   constants still give a finite variance, and one shared constant gives
 *   p = 1 (the samples are identical, which Kayenta also passes).
 * - Kayenta removes NaNs (nanStrategy "remove", the default) and then
 *   classifies an empty side as NODATA. We leave out every value that is
 *   not finite and make a side with fewer than min_samples values NODATA.
 */
#include "judge.h"

#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* The exact null distribution is used up to this many values per side, as
 * the header promises (R's wilcox.test uses exact p-values below 50 per
 * side; scipy below 8; 20 keeps the table small: 20 * 20 + 20 entries). */
enum { MW_EXACT_MAX = 20 };

/* ---- sorted copies ---------------------------------------------------- */

/* Sorting is most of a judgement's cost, so doubles get their own in-place
 * introsort (Musser 1997): quicksort with a median-of-three pivot, heapsort
 * when the recursion goes too deep, insertion sort for short runs. The
 * values are finite, so < is a total order. */
static void insertion_sort(double *v, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		double x = v[i];
		size_t j = i;
		while (j > 0 && v[j - 1] > x) {
			v[j] = v[j - 1];
			j--;
		}
		v[j] = x;
	}
}

static void sift_down(double *v, size_t n, size_t i)
{
	double x = v[i];
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= n)
			break;
		if (c + 1 < n && v[c + 1] > v[c])
			c++;
		if (!(v[c] > x))
			break;
		v[i] = v[c];
		i = c;
	}
	v[i] = x;
}

static void heap_sort(double *v, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, n, i);
	for (size_t e = n; e-- > 1;) {
		double t = v[0];
		v[0] = v[e];
		v[e] = t;
		sift_down(v, e, 0);
	}
}

static void sort_doubles(double *v, size_t n)
{
	int depth = 0;
	for (size_t m = n; m > 1; m >>= 1)
		depth += 2;
	while (n > 16) {
		if (depth-- == 0) {
			heap_sort(v, n);
			return;
		}
		/* Median of three to v[0], then Hoare's partition. */
		double *a = v, *b = v + n / 2, *c = v + n - 1, t;
		if (*b < *a) { t = *a; *a = *b; *b = t; }
		if (*c < *b) { t = *b; *b = *c; *c = t; }
		if (*b < *a) { t = *a; *a = *b; *b = t; }
		double p = *b;
		size_t i = 0, j = n - 1;
		for (;;) {
			while (v[i] < p)
				i++;
			while (v[j] > p)
				j--;
			if (i >= j)
				break;
			t = v[i];
			v[i] = v[j];
			v[j] = t;
			i++;
			j--;
		}
		/* v[0..j] <= p <= v[j+1..n): recurse into the smaller part,
		 * loop on the larger. */
		size_t nl = j + 1;
		if (nl < n - nl) {
			sort_doubles(v, nl);
			v += nl;
			n -= nl;
		} else {
			sort_doubles(v + nl, n - nl);
			n = nl;
		}
	}
	insertion_sort(v, n);
}

/* Copy the finite values of v[0..n) into out and sort them ascending.
 * Returns how many were copied. */
static size_t finite_sorted(const double *v, size_t n, double *out)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (isfinite(v[i]))
			out[k++] = v[i];
	sort_doubles(out, k);
	return k;
}

static double median_sorted(const double *v, size_t n)
{
	assert(n > 0);
	if (n % 2)
		return v[n / 2];
	return 0.5 * (v[n / 2 - 1] + v[n / 2]);
}

/* ---- Mann-Whitney U ----------------------------------------------------- */

/* The two-sided exact p-value of U (an integer, no ties) for samples of m
 * and n values: the null distribution of U is the coefficients of the
 * Gaussian binomial [m+n choose m]_q = prod_{i=1..m} (1 - q^(n+i)) /
 * (1 - q^i), built one factor at a time in exact integer arithmetic (after
 * factor i the polynomial is [n+i choose i]_q, with non-negative counts at
 * most C(40, 20) ~ 1.4e11). This is the same distribution as Mann and
 * Whitney's recurrence f(u; m, n) = f(u - n; m - 1, n) + f(u; m, n - 1),
 * in O(m * m * n) steps and one small array. */
static double mw_exact_p(uint64_t u, size_t m, size_t n)
{
	int64_t c[(MW_EXACT_MAX + 1) * (MW_EXACT_MAX + 1)] = { 1 };
	assert(m <= MW_EXACT_MAX && n <= MW_EXACT_MAX);
	size_t deg = 0;
	for (size_t i = 1; i <= m; i++) {
		size_t s = n + i, top = deg + s;
		for (size_t k = top; k >= s; k--)
			c[k] -= c[k - s];
		/* Divide by (1 - q^i): exact, so the coefficients above
		 * the new degree come out zero. */
		for (size_t k = i; k <= top; k++)
			c[k] += c[k - i];
		deg += n;
	}
	uint64_t mn = (uint64_t)m * n;
	/* The distribution is symmetric about mn / 2: P(|U - mn/2| >= d) =
	 * 2 P(U >= mn/2 + d). */
	uint64_t hi = u * 2 >= mn ? u : mn - u;
	double tail = 0, total = 0;
	for (uint64_t k = 0; k <= mn; k++) {
		total += (double)c[k];
		if (k >= hi)
			tail += (double)c[k];
	}
	double p = 2.0 * tail / total;
	return p < 1.0 ? p : 1.0;
}

/* U of xs against ys (both sorted ascending, finite) and its two-sided
 * p-value. One merge over the two samples: each run of equal values adds,
 * for each x in it, the ys below it and half the ys equal to it; the runs
 * give the tie correction sum(t^3 - t). U is kept doubled so that it stays
 * an exact integer. */
static double mw_sorted(const double *xs, size_t nx, const double *ys,
			size_t ny, double *u_out)
{
	if (nx == 0 || ny == 0) {
		*u_out = 0;
		return 1.0;
	}
	uint64_t u2 = 0;
	double ties = 0; /* sum over runs of t^3 - t */
	size_t i = 0, j = 0;
	while (i < nx || j < ny) {
		double v = i == nx ? ys[j] : j == ny ? xs[i]
			 : xs[i] < ys[j] ? xs[i] : ys[j];
		size_t a = 0, b = 0;
		while (i + a < nx && xs[i + a] == v)
			a++;
		while (j + b < ny && ys[j + b] == v)
			b++;
		u2 += 2 * (uint64_t)a * j + (uint64_t)a * b;
		double t = (double)(a + b);
		ties += t * t * t - t;
		i += a;
		j += b;
	}
	*u_out = (double)u2 / 2.0;

	if (ties == 0 && nx <= MW_EXACT_MAX && ny <= MW_EXACT_MAX)
		return nx <= ny ? mw_exact_p(u2 / 2, nx, ny)
				: mw_exact_p(u2 / 2, ny, nx);

	/* Normal approximation with the tie-corrected variance
	 * nx ny / 12 * ((N + 1) - sum(t^3 - t) / (N (N - 1))) and a
	 * continuity correction of 1/2 towards the mean, as R's wilcox.test
	 * (correct = TRUE) and scipy's mannwhitneyu (use_continuity). */
	double n1 = (double)nx, n2 = (double)ny, nn = n1 + n2;
	double var = n1 * n2 / 12.0 * ((nn + 1.0) - ties / (nn * (nn - 1.0)));
	if (!(var > 0))
		return 1.0; /* every value is the same */
	double d = fabs(*u_out - n1 * n2 / 2.0) - 0.5;
	if (d <= 0)
		return 1.0;
	double p = erfc(d / sqrt(var) / sqrt(2.0));
	return p < 1.0 ? p : 1.0;
}

/* ---- Hodges-Lehmann ----------------------------------------------------- */

/*
 * The median of the nx * ny differences, found without writing them down.
 * With xs ascending and yd the other sample descending, the difference
 * d(i, j) = xs[i] - yd[j] grows (weakly) along every row and column of the
 * implicit nx-by-ny matrix (floating-point subtraction is monotone in each
 * operand, so this holds for the computed values, and every comparison
 * below is made on a computed difference, never on a rearranged one).
 * That lets us count the differences below any value in O(nx + ny) steps,
 * and select the k-th smallest as Monahan (1984, "Fast computation of the
 * Hodges-Lehmann location estimator", ACM TOMS 10) does: keep, per row, a
 * window [lo, hi) of candidate columns; count the differences below some
 * pivot values; shrink every window to the side holding rank k.
 *
 * Invariant: everything left of a window is smaller than every candidate,
 * everything right of one is larger (each cut is at a pivot that was a
 * candidate). So a row's count below a candidate value is lo plus a count
 * inside the window, and the windows, like the counts that made them, only
 * shrink as the row index grows: one pointer sweeps all rows, and a round
 * costs O(nx + min(ny, candidates)).
 *
 * Each round samples the candidates and takes two pivots bracketing the
 * target's expected place among them, as Floyd and Rivest's SELECT (CACM
 * 18, 1975): the target almost always falls between them, and only about
 * 2 / sqrt(samples) of the candidates do, so a few rounds suffice. When the
 * bracket misses or cannot cut (many equal values), a round with one
 * sampled pivot (Monahan's) always removes at least that pivot. Once few
 * candidates remain they are gathered and quickselected.
 *
 * The samples come from a fixed-seed splitmix64 sequence local to the call.
 * They decide only how fast the search goes: the k-th smallest value is
 * unique, so the result does not depend on them, and the simulation's
 * random streams are untouched.
 */
enum { HL_SAMPLES_MIN = 16, HL_SAMPLES_MAX = 256 };

typedef struct hl_ctx {
	const double *xs, *yd;
	size_t nx, ny;
	size_t *lo, *hi, *lt, *le; /* [nx] each */
	double *buf;               /* [bufcap] */
	size_t bufcap;
	uint64_t seed;
} hl_ctx;

static uint64_t hl_next(hl_ctx *c)
{
	uint64_t z = (c->seed += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static double hl_d(const hl_ctx *c, size_t i, size_t j)
{
	return c->xs[i] - c->yd[j];
}

/* Per row, into out, the count of differences < v (le == 0) or <= v
 * (le == 1), clamped to the row's window; returns the total. Exact for a
 * candidate v, by the invariant above. */
static uint64_t hl_count(hl_ctx *c, double v, int le, size_t *out)
{
	size_t j = c->ny;
	uint64_t sum = 0;
	for (size_t i = 0; i < c->nx; i++) {
		if (j > c->hi[i])
			j = c->hi[i];
		if (le)
			while (j > c->lo[i] && hl_d(c, i, j - 1) > v)
				j--;
		else
			while (j > c->lo[i] && hl_d(c, i, j - 1) >= v)
				j--;
		out[i] = j;
		sum += j;
	}
	return sum;
}

/* The r-th candidate (from 0), rows in order; cum[i] is the number of
 * candidates in rows 0..i. */
static double hl_candidate(const hl_ctx *c, const size_t *cum, uint64_t r)
{
	size_t a = 0, b = c->nx - 1;
	while (a < b) {
		size_t mid = a + (b - a) / 2;
		if (cum[mid] > r)
			b = mid;
		else
			a = mid + 1;
	}
	uint64_t before = a ? cum[a - 1] : 0;
	return hl_d(c, a, c->lo[a] + (size_t)(r - before));
}

static void swap_d(double *a, double *b)
{
	double t = *a;
	*a = *b;
	*b = t;
}

/* Rearrange v[0..n) so that v[k] is the k-th smallest and nothing after it
 * is smaller; return v[k]. Three-way partitions, so runs of equal values
 * (ties are common in latency samples) cannot make it quadratic. */
static double quickselect(hl_ctx *c, double *v, size_t n, size_t k)
{
	size_t lo = 0, hi = n; /* the k-th smallest is in v[lo..hi) */
	assert(k < n);
	while (hi - lo > 1) {
		double p = v[lo + (size_t)(hl_next(c) % (hi - lo))];
		/* [lo, a) < p, [a, i) == p, [b, hi) > p */
		size_t a = lo, i = lo, b = hi;
		while (i < b) {
			if (v[i] < p)
				swap_d(&v[a++], &v[i++]);
			else if (v[i] > p)
				swap_d(&v[i], &v[--b]);
			else
				i++;
		}
		if (k < a)
			hi = a;
		else if (k >= b)
			lo = b;
		else
			return p;
	}
	return v[k];
}

/* Cut every window to [lo', hi') with lo' = max(lo, newlo[i]) and hi' =
 * min(hi, newhi[i]) (either may be NULL: no cut); returns the candidates
 * left, and the count left of the windows in *below. */
static uint64_t hl_cut(hl_ctx *c, const size_t *newlo, const size_t *newhi,
		       uint64_t *below)
{
	uint64_t active = 0, left = 0;
	for (size_t i = 0; i < c->nx; i++) {
		if (newlo && c->lo[i] < newlo[i])
			c->lo[i] = newlo[i];
		if (newhi && c->hi[i] > newhi[i])
			c->hi[i] = newhi[i];
		if (c->hi[i] < c->lo[i])
			c->hi[i] = c->lo[i];
		left += c->lo[i];
		active += c->hi[i] - c->lo[i];
	}
	*below = left;
	return active;
}

/* The k-th smallest (from 0) of the nx * ny differences. */
static double hl_kth(hl_ctx *c, uint64_t k)
{
	uint64_t active = (uint64_t)c->nx * c->ny, below = 0;
	int bracket = 1; /* try two sampled pivots first */
	for (size_t i = 0; i < c->nx; i++) {
		c->lo[i] = 0;
		c->hi[i] = c->ny;
	}
	for (;;) {
		assert(k >= below && k - below < active);
		if (active <= c->bufcap) {
			size_t n = 0;
			for (size_t i = 0; i < c->nx; i++)
				for (size_t j = c->lo[i]; j < c->hi[i]; j++)
					c->buf[n++] = hl_d(c, i, j);
			return quickselect(c, c->buf, n, (size_t)(k - below));
		}
		/* Prefix counts of candidates per row, in lt for now. */
		uint64_t acc = 0;
		for (size_t i = 0; i < c->nx; i++) {
			acc += c->hi[i] - c->lo[i];
			c->lt[i] = (size_t)acc;
		}
		uint64_t nlt, nle;
		if (bracket) {
			/* More samples cut closer but cost more; a round's
			 * counting costs O(nx + ny), so sample in proportion
			 * to that. The pivots sit 1.5 standard deviations of
			 * the target's sample rank either side of it. */
			double smp[HL_SAMPLES_MAX];
			size_t ns = (c->nx + c->ny) / 8;
			if (ns < HL_SAMPLES_MIN)
				ns = HL_SAMPLES_MIN;
			if (ns > HL_SAMPLES_MAX)
				ns = HL_SAMPLES_MAX;
			for (size_t s = 0; s < ns; s++)
				smp[s] = hl_candidate(c, c->lt,
						      hl_next(c) % active);
			sort_doubles(smp, ns);
			double q = (double)(k - below) / (double)active *
				   (double)ns;
			double gap = 1.5 * sqrt((double)ns) + 1;
			double pa = smp[q - gap < 0 ? 0 : (size_t)(q - gap)];
			double pb = smp[q + gap >= (double)(ns - 1)
					? ns - 1 : (size_t)(q + gap)];
			nlt = hl_count(c, pa, 0, c->lt);
			nle = hl_count(c, pb, 1, c->le);
			uint64_t before = active;
			if (k < nlt)
				active = hl_cut(c, NULL, c->lt, &below);
			else if (k >= nle)
				active = hl_cut(c, c->le, NULL, &below);
			else if (pa == pb)
				return pa; /* ranks nlt..nle-1 all hold pa */
			else
				active = hl_cut(c, c->lt, c->le, &below);
			/* Too many equal values to cut: one round with a
			 * single pivot, which always removes the pivot. */
			bracket = active < before;
			continue;
		}
		double pivot = hl_candidate(c, c->lt, hl_next(c) % active);
		nlt = hl_count(c, pivot, 0, c->lt);
		nle = hl_count(c, pivot, 1, c->le);
		if (k >= nlt && k < nle)
			return pivot;
		active = k < nlt ? hl_cut(c, NULL, c->lt, &below)
				 : hl_cut(c, c->le, NULL, &below);
		bracket = 1;
	}
}

/* The (k+1)-th smallest difference, given that v is the k-th: v again when
 * more than k + 1 differences are <= v, else the smallest difference above
 * v, which is the first one past le[i] in some row. Counts over whole rows,
 * so it reopens the windows. */
static double hl_after(hl_ctx *c, uint64_t k, double v)
{
	for (size_t i = 0; i < c->nx; i++) {
		c->lo[i] = 0;
		c->hi[i] = c->ny;
	}
	if (hl_count(c, v, 1, c->le) > k + 1)
		return v;
	double best = INFINITY;
	for (size_t i = 0; i < c->nx; i++)
		if (c->le[i] < c->ny && hl_d(c, i, c->le[i]) < best)
			best = hl_d(c, i, c->le[i]);
	return best;
}

/* Scratch for judging: sorted copies of both samples, the other sample
 * reversed, and the selection's per-row windows. Grown on demand, freed by
 * the caller of scratch_fit. */
typedef struct scratch {
	double *x, *y, *rev, *buf;
	size_t *rows;
	size_t cap, bufcap;
} scratch;

static void scratch_free(scratch *s)
{
	free(s->x);
	free(s->y);
	free(s->rev);
	free(s->buf);
	free(s->rows);
	memset(s, 0, sizeof *s);
}

/* The selection gathers the candidates once there are at most this many:
 * a few rounds of O(nx + ny) counting are then dearer than one pass. */
static size_t hl_bufcap(size_t n)
{
	return 4 * n + 64;
}

static int scratch_fit(scratch *s, size_t n)
{
	if (n <= s->cap)
		return 0;
	scratch t = { 0 };
	t.cap = n;
	t.bufcap = hl_bufcap(n);
	t.x = malloc(n * sizeof *t.x);
	t.y = malloc(n * sizeof *t.y);
	t.rev = malloc(n * sizeof *t.rev);
	t.buf = malloc(t.bufcap * sizeof *t.buf);
	t.rows = malloc(4 * n * sizeof *t.rows);
	if (!t.x || !t.y || !t.rev || !t.buf || !t.rows) {
		scratch_free(&t);
		return -1;
	}
	scratch_free(s);
	*s = t;
	return 0;
}

/* The Hodges-Lehmann shift of xs against ys (both sorted ascending,
 * finite, non-empty), using s->rev, s->buf and s->rows. */
static double hl_sorted(scratch *s, const double *xs, size_t nx,
			const double *ys, size_t ny)
{
	/* Rows are the smaller sample: fewer windows to keep. median(x - y)
	 * = -median(y - x) exactly, as IEEE subtraction and halving commute
	 * with negation. */
	int flip = ny < nx;
	if (flip) {
		const double *t = xs;
		size_t tn = nx;
		xs = ys;
		nx = ny;
		ys = t;
		ny = tn;
	}
	for (size_t j = 0; j < ny; j++)
		s->rev[j] = ys[ny - 1 - j];
	hl_ctx c = {
		.xs = xs, .yd = s->rev, .nx = nx, .ny = ny,
		.lo = s->rows, .hi = s->rows + nx, .lt = s->rows + 2 * nx,
		.le = s->rows + 3 * nx, .buf = s->buf,
		.bufcap = hl_bufcap(nx < ny ? ny : nx),
		.seed = 0x6a75646765ULL, /* "judge" */
	};
	uint64_t total = (uint64_t)nx * ny, k = (total - 1) / 2;
	double m = hl_kth(&c, k);
	if (total % 2 == 0)
		m = 0.5 * (m + hl_after(&c, k, m));
	return flip ? -m : m;
}

/* ---- public: the tests -------------------------------------------------- */

double judge_mann_whitney(const double *x, size_t nx, const double *y,
			  size_t ny, double *u)
{
	double uu = 0, p = 1.0;
	if (nx > 0 && ny > 0) {
		double *xs = malloc(nx * sizeof *xs);
		double *ys = malloc(ny * sizeof *ys);
		if (!xs || !ys) {
			uu = p = NAN;
		} else {
			size_t fx = finite_sorted(x, nx, xs);
			size_t fy = finite_sorted(y, ny, ys);
			p = mw_sorted(xs, fx, ys, fy, &uu);
		}
		free(xs);
		free(ys);
	}
	if (u)
		*u = uu;
	return p;
}

double judge_hodges_lehmann(const double *x, size_t nx, const double *y,
			    size_t ny)
{
	if (nx == 0 || ny == 0)
		return 0;
	scratch s = { 0 };
	double r = NAN;
	if (scratch_fit(&s, nx > ny ? nx : ny) == 0) {
		size_t fx = finite_sorted(x, nx, s.x);
		size_t fy = finite_sorted(y, ny, s.y);
		r = fx && fy ? hl_sorted(&s, s.x, fx, s.y, fy) : 0;
	}
	scratch_free(&s);
	return r;
}

/* ---- public: the judgement ---------------------------------------------- */

/* Classify one metric whose samples are sorted and finite. */
static void judge_metric(scratch *s, const judge_cfg *cfg,
			 const judge_metric_cfg *mc, const double *cs,
			 size_t nc, const double *bs, size_t nb,
			 judge_metric_result *r)
{
	r->ncanary = nc;
	r->nbaseline = nb;
	r->p_value = 1.0;
	if (nc == 0 || nb == 0 || nc < cfg->min_samples ||
	    nb < cfg->min_samples) {
		r->cls = JUDGE_NODATA;
		return;
	}
	r->p_value = mw_sorted(cs, nc, bs, nb, &r->u);
	r->shift = hl_sorted(s, cs, nc, bs, nb);
	double med = fabs(median_sorted(bs, nb));
	if (med > 0)
		r->relative = r->shift / med;
	else if (r->shift != 0)
		r->relative = copysign(INFINITY, r->shift);

	/* Significant when p < 1 - confidence. A significant difference
	 * whose estimated shift is exactly 0 (possible with heavy ties)
	 * has no direction to call, so it passes. */
	r->cls = JUDGE_PASS;
	if (r->p_value < 1.0 - cfg->confidence) {
		if (r->shift > 0)
			r->cls = JUDGE_HIGH;
		else if (r->shift < 0)
			r->cls = JUDGE_LOW;
	}
	/* Outside the tolerance means strictly beyond it: a shift of exactly
	 * the tolerance is allowed. */
	if (r->cls == JUDGE_HIGH && mc->direction != JUDGE_DECREASE)
		r->failed = r->relative > mc->tolerance;
	else if (r->cls == JUDGE_LOW && mc->direction != JUDGE_INCREASE)
		r->failed = -r->relative > mc->tolerance;
}

judge_result *judge_run(const judge_cfg *cfg, const double *const *canary,
			const size_t *ncanary, const double *const *baseline,
			const size_t *nbaseline)
{
	assert(cfg && (cfg->nmetrics == 0 || cfg->metrics));
	assert(cfg->confidence > 0 && cfg->confidence < 1);
	uint32_t nm = cfg->nmetrics;
	uint32_t ng = cfg->ngroups ? cfg->ngroups : 1;
	judge_result *res = calloc(1, sizeof *res + nm * sizeof res->m[0]);
	/* Per group: metrics with data, metrics passed, weight. */
	double *acc = calloc(3 * (size_t)ng, sizeof *acc);
	scratch s = { 0 };
	size_t maxn = 0;
	for (uint32_t i = 0; i < nm; i++) {
		if (ncanary[i] > maxn)
			maxn = ncanary[i];
		if (nbaseline[i] > maxn)
			maxn = nbaseline[i];
	}
	if (!res || !acc || scratch_fit(&s, maxn ? maxn : 1) < 0)
		goto fail;

	int any_data = 0;
	for (uint32_t i = 0; i < nm; i++) {
		const judge_metric_cfg *mc = &cfg->metrics[i];
		judge_metric_result *r = &res->m[i];
		size_t nc = finite_sorted(canary[i], ncanary[i], s.x);
		size_t nb = finite_sorted(baseline[i], nbaseline[i], s.y);
		judge_metric(&s, cfg, mc, s.x, nc, s.y, nb, r);

		uint32_t g = cfg->ngroups ? mc->group : 0;
		assert(g < ng);
		acc[3 * g + 2] = 1; /* the group has metrics */
		if (r->cls == JUDGE_NODATA)
			continue;
		any_data = 1;
		acc[3 * g] += 1;
		if (!r->failed)
			acc[3 * g + 1] += 1;
		if (r->failed && mc->critical)
			res->critical_failed = 1;
	}

	/* Weights: all set (> 0) or none (equal); a group with no metrics
	 * takes no part. */
	int weighted = cfg->ngroups && cfg->groups && cfg->groups[0].weight > 0;
	double wsum = 0, score = 0;
	for (uint32_t g = 0; g < ng; g++) {
		if (cfg->ngroups && cfg->groups)
			assert((cfg->groups[g].weight > 0) == weighted);
		if (acc[3 * g + 2] == 0)
			continue;
		double w = weighted ? cfg->groups[g].weight : 1.0;
		wsum += w;
		/* A group none of whose metrics had data scores 0, and its
		 * weight stays in: as Kayenta, missing data lowers the score
		 * and never raises it. */
		if (acc[3 * g] > 0)
			score += w * 100.0 * acc[3 * g + 1] / acc[3 * g];
	}
	res->score = wsum > 0 ? score / wsum : 0;

	if (!any_data)
		res->verdict = JV_NODATA;
	else if (res->critical_failed)
		res->verdict = JV_FAIL;
	else if (res->score >= cfg->pass_score)
		res->verdict = JV_PASS;
	else if (res->score >= cfg->marginal_score)
		res->verdict = JV_MARGINAL;
	else
		res->verdict = JV_FAIL;
	free(acc);
	scratch_free(&s);
	return res;

fail:
	free(res);
	free(acc);
	scratch_free(&s);
	return NULL;
}

const char *judge_class_name(enum judge_class c)
{
	switch (c) {
	case JUDGE_PASS:
		return "Pass";
	case JUDGE_HIGH:
		return "High";
	case JUDGE_LOW:
		return "Low";
	case JUDGE_NODATA:
		return "Nodata";
	}
	return "?";
}

const char *judge_verdict_name(enum judge_verdict v)
{
	switch (v) {
	case JV_PASS:
		return "PASS";
	case JV_MARGINAL:
		return "MARGINAL";
	case JV_FAIL:
		return "FAIL";
	case JV_NODATA:
		return "NODATA";
	}
	return "?";
}
