#include "diff.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

/* The figures compared for the totals and for each service. */
enum diff_kind { DK_SUCCESS = 0, DK_P50, DK_P90, DK_P99, DK_AMP, DK_COUNT };

static const char *const kind_label[DK_COUNT] = {
	"success rate", "p50", "p90", "p99", "retry amplification",
};
/* Keys in latency_ms and in the time series, for DK_P50..DK_P99. */
static const char *const lat_key[3] = {"p50", "p90", "p99"};
static const char *const lat_col[3] = {"p50_ms", "p90_ms", "p99_ms"};

typedef struct diff_figure {
	int present;
	double value;      /* the run's own figure: a ratio, ms, attempts/request */
	double se;         /* standard error by batch means */
	uint32_t batches;  /* batches the se rests on */
} diff_figure;

typedef struct diff_entity {
	const char *name;  /* NULL for the totals; borrowed from the JSON */
	diff_figure fig[DK_COUNT];
} diff_entity;

typedef struct diff_objective {
	const char *scope, *name, *metric, *expect, *unit; /* borrowed */
	const json_t *measured;
	int met;
	int matched;       /* paired with an objective of the other report */
} diff_objective;

typedef struct diff_report {
	char path[4096];   /* the report.json actually read */
	json_t *root;
	const char *scenario;
	json_int_t seed;
	int has_seed;
	diff_entity totals;
	diff_entity *svc;
	size_t nsvc;
	diff_objective *obj;
	size_t nobj;
} diff_report;

/* The columns of one per-second series of report.json. */
typedef struct diff_cols {
	char path[256];    /* "timeseries.services.catalog" */
	json_t *done, *sr, *p[3];
	json_t *att, *iss; /* services only; NULL when absent */
	size_t n;
} diff_cols;

/* ---- reading report.json ---- */

static const char *found(const json_t *v)
{
	if (!v)
		return "nothing";
	switch (json_typeof(v)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER:
	case JSON_REAL: return "a number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "something else";
}

static int bad(const diff_report *r, const char *path, const char *expected,
	       const json_t *v, char *err, size_t errlen)
{
	snprintf(err, errlen, "%s: %s: expected %s, found %s", r->path, path,
		 expected, found(v));
	return -1;
}

static int need_number(const diff_report *r, const json_t *v, const char *path,
		       double *out, char *err, size_t errlen)
{
	if (!json_is_number(v))
		return bad(r, path, "a number", v, err, errlen);
	*out = json_number_value(v);
	return 0;
}

static int need_string(const diff_report *r, const json_t *v, const char *path,
		       const char **out, char *err, size_t errlen)
{
	if (!json_is_string(v))
		return bad(r, path, "a string", v, err, errlen);
	*out = json_string_value(v);
	return 0;
}

/* A string member that may be absent (NULL then) but not of another type. */
static int opt_string(const diff_report *r, const json_t *o, const char *key,
		      const char *path, const char **out, char *err, size_t errlen)
{
	const json_t *v = json_object_get(o, key);
	*out = NULL;
	if (!v)
		return 0;
	char p[300];
	snprintf(p, sizeof p, "%s.%s", path, key);
	return need_string(r, v, p, out, err, errlen);
}

/* success_rate and latency_ms.p50/p90/p99 of a stats object. */
static int stats_figures(const diff_report *r, const json_t *o, const char *path,
			 diff_entity *e, char *err, size_t errlen)
{
	char p[300];
	snprintf(p, sizeof p, "%s.success_rate", path);
	if (need_number(r, json_object_get(o, "success_rate"), p,
			&e->fig[DK_SUCCESS].value, err, errlen) < 0)
		return -1;
	e->fig[DK_SUCCESS].present = 1;
	const json_t *lat = json_object_get(o, "latency_ms");
	snprintf(p, sizeof p, "%s.latency_ms", path);
	if (!json_is_object(lat))
		return bad(r, p, "an object", lat, err, errlen);
	for (int k = 0; k < 3; k++) {
		snprintf(p, sizeof p, "%s.latency_ms.%s", path, lat_key[k]);
		if (need_number(r, json_object_get(lat, lat_key[k]), p,
				&e->fig[DK_P50 + k].value, err, errlen) < 0)
			return -1;
		e->fig[DK_P50 + k].present = 1;
	}
	return 0;
}

static int cols_get(const diff_report *r, const json_t *o, diff_cols *c,
		    char *err, size_t errlen)
{
	if (!json_is_object(o))
		return bad(r, c->path, "an object", o, err, errlen);
	const char *names[5] = {"done", "success_rate", lat_col[0], lat_col[1],
				lat_col[2]};
	json_t **dst[5] = {&c->done, &c->sr, &c->p[0], &c->p[1], &c->p[2]};
	char p[300];
	for (int k = 0; k < 5; k++) {
		json_t *v = json_object_get(o, names[k]);
		snprintf(p, sizeof p, "%s.%s", c->path, names[k]);
		if (!json_is_array(v))
			return bad(r, p, "an array", v, err, errlen);
		if (k == 0)
			c->n = json_array_size(v);
		else if (json_array_size(v) != c->n) {
			snprintf(err, errlen, "%s: %s: expected %zu values (as many as done), found %zu",
				 r->path, p, c->n, json_array_size(v));
			return -1;
		}
		*dst[k] = v;
	}
	/* The sidecars' columns: services have them, the overall series not. */
	json_t *att = json_object_get(o, "attempts"), *iss = json_object_get(o, "issued");
	if (json_is_array(att) && json_is_array(iss) &&
	    json_array_size(att) == c->n && json_array_size(iss) == c->n) {
		c->att = att;
		c->iss = iss;
	}
	return 0;
}

static int col_at(const diff_report *r, const diff_cols *c, const json_t *col,
		  const char *name, size_t t, double *out, char *err, size_t errlen)
{
	const json_t *v = json_array_get(col, t);
	if (json_is_number(v)) {
		*out = json_number_value(v);
		return 0;
	}
	char p[400];
	snprintf(p, sizeof p, "%s.%s[%zu]", c->path, name, t);
	return bad(r, p, "a number (done is not 0 that second)", v, err, errlen);
}

/* Welford's running mean and variance of the batch figures. */
typedef struct diff_acc {
	uint32_t n;
	double mean, m2;
} diff_acc;

static void acc_add(diff_acc *a, double x)
{
	a->n++;
	double d = x - a->mean;
	a->mean += d / a->n;
	a->m2 += d * (x - a->mean);
}

/* sd / sqrt(n): the standard error of the mean of n batch figures. */
static double acc_se(const diff_acc *a)
{
	if (a->n < 2)
		return 0;
	return sqrt(a->m2 / (a->n - 1) / a->n);
}

static double median5(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double x = v[j];
			v[j] = v[j - 1];
			v[j - 1] = x;
		}
	return v[n / 2];
}

/*
 * The noise of e's figures by batch means over series c: the seconds with
 * done > 0 are cut into batches of DIFF_BATCH_S, a shorter last batch is
 * dropped. Retry amplification comes from the attempts and issued of the
 * nsrc series in src: the service itself, or every service for the totals
 * (as resilience.retry_amplification is computed).
 */
static int batch_noise(const diff_report *r, const diff_cols *c,
		       const diff_cols *src, size_t nsrc, diff_entity *e,
		       char *err, size_t errlen)
{
	diff_acc acc[DK_COUNT] = {{0}};
	double done = 0, ok = 0, att = 0, iss = 0, p[3][DIFF_BATCH_S];
	int in = 0;
	for (size_t t = 0; t < c->n; t++) {
		double d, sr;
		if (col_at(r, c, c->done, "done", t, &d, err, errlen) < 0)
			return -1;
		if (d <= 0)
			continue;
		if (col_at(r, c, c->sr, "success_rate", t, &sr, err, errlen) < 0)
			return -1;
		for (int k = 0; k < 3; k++)
			if (col_at(r, c, c->p[k], lat_col[k], t, &p[k][in], err,
				   errlen) < 0)
				return -1;
		/* The series keeps the ratio only; ok is back to a count. */
		done += d;
		ok += round(sr * d);
		for (size_t j = 0; j < nsrc; j++) {
			double x, y;
			if (!src[j].att || t >= src[j].n)
				continue;
			if (col_at(r, &src[j], src[j].att, "attempts", t, &x, err,
				   errlen) < 0 ||
			    col_at(r, &src[j], src[j].iss, "issued", t, &y, err,
				   errlen) < 0)
				return -1;
			att += x;
			iss += y;
		}
		if (++in < DIFF_BATCH_S)
			continue;
		acc_add(&acc[DK_SUCCESS], ok / done);
		for (int k = 0; k < 3; k++)
			acc_add(&acc[DK_P50 + k], median5(p[k], in));
		if (iss > 0)
			acc_add(&acc[DK_AMP], att / iss);
		done = ok = att = iss = 0;
		in = 0;
	}
	for (int k = 0; k < DK_COUNT; k++) {
		e->fig[k].se = acc_se(&acc[k]);
		e->fig[k].batches = acc[k].n;
	}
	return 0;
}

static int load_objectives(diff_report *r, char *err, size_t errlen)
{
	const json_t *objs = json_object_get(r->root, "objectives");
	if (!objs)
		return 0;
	if (!json_is_array(objs))
		return bad(r, "objectives", "an array", objs, err, errlen);
	r->nobj = json_array_size(objs);
	r->obj = calloc(r->nobj + 1, sizeof *r->obj);
	if (!r->obj) {
		snprintf(err, errlen, "%s: out of memory", r->path);
		return -1;
	}
	for (size_t i = 0; i < r->nobj; i++) {
		const json_t *o = json_array_get(objs, i);
		diff_objective *d = &r->obj[i];
		char p[300];
		snprintf(p, sizeof p, "objectives[%zu]", i);
		if (!json_is_object(o))
			return bad(r, p, "an object", o, err, errlen);
		if (opt_string(r, o, "name", p, &d->name, err, errlen) < 0 ||
		    opt_string(r, o, "expect", p, &d->expect, err, errlen) < 0 ||
		    opt_string(r, o, "unit", p, &d->unit, err, errlen) < 0 ||
		    opt_string(r, o, "scope", p, &d->scope, err, errlen) < 0 ||
		    opt_string(r, o, "metric", p, &d->metric, err, errlen) < 0)
			return -1;
		const json_t *met = json_object_get(o, "met");
		if (!d->scope || !d->metric || !json_is_boolean(met)) {
			const char *key = !d->scope ? "scope" : !d->metric ? "metric" : "met";
			char q[320];
			snprintf(q, sizeof q, "%s.%s", p, key);
			return bad(r, q, d->scope && d->metric ? "true or false" : "a string",
				   json_object_get(o, key), err, errlen);
		}
		d->met = json_is_true(met);
		d->measured = json_object_get(o, "measured");
	}
	return 0;
}

/* The services, their figures, and the noise of theirs and the totals'. */
static int load_services(diff_report *r, char *err, size_t errlen)
{
	int rc = -1;
	const json_t *svcs = json_object_get(r->root, "services");
	if (!json_is_array(svcs))
		return bad(r, "services", "an array", svcs, err, errlen);
	r->nsvc = json_array_size(svcs);
	r->svc = calloc(r->nsvc + 1, sizeof *r->svc);
	diff_cols *cols = calloc(r->nsvc + 1, sizeof *cols);
	if (!r->svc || !cols) {
		snprintf(err, errlen, "%s: out of memory", r->path);
		goto fail;
	}
	const json_t *ts = json_object_get(r->root, "timeseries");
	if (ts && !json_is_object(ts)) {
		bad(r, "timeseries", "an object", ts, err, errlen);
		goto fail;
	}
	const json_t *tss = json_object_get(ts, "services");
	for (size_t i = 0; i < r->nsvc; i++) {
		const json_t *o = json_array_get(svcs, i);
		diff_entity *e = &r->svc[i];
		char p[300];
		snprintf(p, sizeof p, "services[%zu]", i);
		if (!json_is_object(o)) {
			bad(r, p, "an object", o, err, errlen);
			goto fail;
		}
		char q[320];
		snprintf(q, sizeof q, "%s.name", p);
		if (need_string(r, json_object_get(o, "name"), q, &e->name, err,
				errlen) < 0 ||
		    stats_figures(r, o, p, e, err, errlen) < 0)
			goto fail;
		const json_t *amp = json_object_get(o, "retry_amplification");
		if (json_is_number(amp)) {
			e->fig[DK_AMP].present = 1;
			e->fig[DK_AMP].value = json_number_value(amp);
		}
		/* A report without a service's series is judged "too little
		 * data"; a series that is there must be well formed. */
		const json_t *series = json_object_get(tss, e->name);
		snprintf(cols[i].path, sizeof cols[i].path,
			 "timeseries.services.%s", e->name);
		if (series && (cols_get(r, series, &cols[i], err, errlen) < 0 ||
			       batch_noise(r, &cols[i], &cols[i], 1, e, err,
					   errlen) < 0))
			goto fail;
	}
	const json_t *overall = json_object_get(ts, "overall");
	diff_cols oc = {.path = "timeseries.overall"};
	if (overall && (cols_get(r, overall, &oc, err, errlen) < 0 ||
			batch_noise(r, &oc, cols, r->nsvc, &r->totals, err,
				    errlen) < 0))
		goto fail;
	rc = 0;
fail:
	free(cols);
	return rc;
}

/* Read the report named by arg (a file, or a directory holding
 * report.json) into r, which must be zeroed. Returns 0, or -1 with a
 * message in err; either way r is then released with report_free. */
static int report_load(const char *arg, diff_report *r, char *err, size_t errlen)
{
	struct stat st;
	if (stat(arg, &st) < 0) {
		snprintf(err, errlen, "%s: cannot read: %s (expected a report.json "
			 "or a directory holding one)", arg, strerror(errno));
		return -1;
	}
	if (S_ISDIR(st.st_mode))
		snprintf(r->path, sizeof r->path, "%s%sreport.json", arg,
			 arg[0] && arg[strlen(arg) - 1] == '/' ? "" : "/");
	else
		snprintf(r->path, sizeof r->path, "%s", arg);
	FILE *f = fopen(r->path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot read: %s%s", r->path,
			 strerror(errno),
			 S_ISDIR(st.st_mode) ? " (expected the directory to hold "
					       "the report.json of a run)" : "");
		return -1;
	}
	json_error_t je;
	r->root = json_loadf(f, JSON_REJECT_DUPLICATES, &je);
	fclose(f);
	if (!r->root) {
		snprintf(err, errlen, "%s:%d:%d: not a report.json: %s", r->path,
			 je.line, je.column, je.text);
		return -1;
	}
	if (!json_is_object(r->root))
		return bad(r, "(top)", "an object", r->root, err, errlen);
	const json_t *v = json_object_get(r->root, "schema_version");
	if (!json_is_integer(v) || json_integer_value(v) != 1) {
		if (json_is_integer(v))
			snprintf(err, errlen, "%s: schema_version: expected 1 (the "
				 "version this meshsim reads), found %lld", r->path,
				 (long long)json_integer_value(v));
		else
			bad(r, "schema_version", "1", v, err, errlen);
		return -1;
	}
	const json_t *sc = json_object_get(r->root, "scenario");
	if (!json_is_object(sc))
		return bad(r, "scenario", "an object", sc, err, errlen);
	if (need_string(r, json_object_get(sc, "name"), "scenario.name",
			&r->scenario, err, errlen) < 0)
		return -1;
	const json_t *seed = json_object_get(sc, "seed");
	if (json_is_integer(seed)) {
		r->seed = json_integer_value(seed);
		r->has_seed = 1;
	}
	const json_t *tot = json_object_get(r->root, "totals");
	if (!json_is_object(tot))
		return bad(r, "totals", "an object", tot, err, errlen);
	if (stats_figures(r, tot, "totals", &r->totals, err, errlen) < 0)
		return -1;
	const json_t *amp = json_object_get(json_object_get(r->root, "resilience"),
					    "retry_amplification");
	if (json_is_number(amp)) {
		r->totals.fig[DK_AMP].present = 1;
		r->totals.fig[DK_AMP].value = json_number_value(amp);
	}
	if (load_services(r, err, errlen) < 0 || load_objectives(r, err, errlen) < 0)
		return -1;
	return 0;
}

/* What report_load allocated; r may be partly loaded. */
static void report_free(diff_report *r)
{
	free(r->svc);
	free(r->obj);
	json_decref(r->root);
}

/* ---- judging ---- */

enum diff_flag { FLAG_NOISE, FLAG_WORSE, FLAG_BETTER, FLAG_LITTLE };

/* The change B - A must be beyond this to count: the noise, and at least
 * the practical floor. */
static double threshold(int k, const diff_figure *a, const diff_figure *b)
{
	double noise = DIFF_NOISE_SIGMAS * sqrt(a->se * a->se + b->se * b->se);
	double floor_ = k == DK_SUCCESS ? DIFF_FLOOR_RATE
			: k == DK_AMP	? DIFF_FLOOR_AMP
					: DIFF_FLOOR_LATENCY * fabs(a->value);
	return noise > floor_ ? noise : floor_;
}

static enum diff_flag judge(int k, const diff_figure *a, const diff_figure *b)
{
	if (a->batches < DIFF_MIN_BATCHES || b->batches < DIFF_MIN_BATCHES)
		return FLAG_LITTLE;
	double d = b->value - a->value;
	if (!(fabs(d) > threshold(k, a, b)))
		return FLAG_NOISE;
	/* Success is better up; latency and amplification better down. */
	int up_is_good = k == DK_SUCCESS;
	return (d > 0) == up_is_good ? FLAG_BETTER : FLAG_WORSE;
}

/* ---- printing ---- */

#define RED "\033[31m"
#define GREEN "\033[32m"
#define YELLOW "\033[33m"
#define BOLD "\033[1m"
#define RESET "\033[0m"

typedef struct diff_out {
	FILE *f;
	int color;
	uint32_t newly_missed, newly_met, worse, better;
} diff_out;

/* text, in colour `code` when colour is on and code is not "". */
static void paint(diff_out *o, const char *code, const char *text)
{
	if (o->color && code[0])
		fprintf(o->f, "%s%s" RESET, code, text);
	else
		fputs(text, o->f);
}

/* s cut to width columns, ".." marking a cut. */
static void clip(char *dst, size_t len, const char *s, size_t width)
{
	if (width + 1 > len)
		width = len - 1;
	size_t n = strlen(s);
	if (n <= width) {
		memcpy(dst, s, n + 1);
		return;
	}
	memcpy(dst, s, width - 2);
	memcpy(dst + width - 2, "..", 3);
}

/* A path cut at its start, which matters less than its end. */
static void clip_left(char *dst, size_t len, const char *s, size_t width)
{
	if (width + 1 > len)
		width = len - 1;
	size_t n = strlen(s);
	if (n <= width)
		memcpy(dst, s, n + 1);
	else
		snprintf(dst, len, "...%s", s + n - (width - 3));
}

static void fmt_ms(char *buf, size_t len, double ms)
{
	if (ms < 1)
		snprintf(buf, len, "%.0fus", ms * 1e3);
	else if (ms < 1000)
		snprintf(buf, len, "%.1fms", ms);
	else
		snprintf(buf, len, "%.2fs", ms / 1e3);
}

static void fmt_figure(char *buf, size_t len, int k, double v)
{
	if (k == DK_SUCCESS)
		snprintf(buf, len, "%.3f%%", 100 * v);
	else if (k == DK_AMP)
		snprintf(buf, len, "%.3f", v);
	else
		fmt_ms(buf, len, v);
}

/* The change, absolute for rates, relative for latencies; and the bar it
 * had to clear in the same terms. */
static void fmt_change(char *buf, size_t len, int k, double a, double d)
{
	if (k == DK_SUCCESS)
		snprintf(buf, len, "%+.3fpp", 100 * d);
	else if (k == DK_AMP)
		snprintf(buf, len, "%+.3f", d);
	else if (a > 0)
		snprintf(buf, len, "%+.1f%%", 100 * d / a);
	else
		snprintf(buf, len, d == 0 ? "+0.0%%" : "n/a");
}

static void fmt_bar(char *buf, size_t len, int k, double a, double bar)
{
	if (k == DK_SUCCESS)
		snprintf(buf, len, "%.3fpp", 100 * bar);
	else if (k == DK_AMP)
		snprintf(buf, len, "%.3f", bar);
	else if (a > 0)
		snprintf(buf, len, "%.1f%%", 100 * bar / a);
	else
		fmt_ms(buf, len, bar);
}

static void print_figures(diff_out *o, const char *title, const diff_entity *a,
			  const diff_entity *b)
{
	char t[100];
	clip(t, sizeof t, title, 98);
	paint(o, BOLD, t);
	fputc('\n', o->f);
	for (int k = 0; k < DK_COUNT; k++) {
		const diff_figure *fa = &a->fig[k], *fb = &b->fig[k];
		if (!fa->present || !fb->present)
			continue;
		char va[24], vb[24], ch[24], bar[24] = "-";
		fmt_figure(va, sizeof va, k, fa->value);
		fmt_figure(vb, sizeof vb, k, fb->value);
		fmt_change(ch, sizeof ch, k, fa->value, fb->value - fa->value);
		enum diff_flag fl = judge(k, fa, fb);
		if (fl != FLAG_LITTLE)
			fmt_bar(bar, sizeof bar, k, fa->value, threshold(k, fa, fb));
		const char *text = "~", *col = "";
		switch (fl) {
		case FLAG_NOISE: break;
		case FLAG_WORSE: text = "worse"; col = RED BOLD; o->worse++; break;
		case FLAG_BETTER: text = "better"; col = GREEN; o->better++; break;
		case FLAG_LITTLE: text = "too little data to judge"; col = YELLOW; break;
		}
		fprintf(o->f, "  %-20s %11s %11s %11s %11s  ", kind_label[k], va,
			vb, ch, bar);
		paint(o, col, text);
		fputc('\n', o->f);
	}
}

static void fmt_measured(char *buf, size_t len, const diff_objective *d)
{
	const json_t *v = d->measured;
	if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else if (json_is_boolean(v))
		snprintf(buf, len, "%s", json_is_true(v) ? "true" : "false");
	else if (!json_is_number(v))
		snprintf(buf, len, "-");
	else if (d->unit && strcmp(d->unit, "ms") == 0)
		fmt_ms(buf, len, json_number_value(v));
	else if (d->unit && strcmp(d->unit, "ratio") == 0)
		snprintf(buf, len, "%.4f", json_number_value(v));
	else if (strcmp(d->metric, "retry_amplification") == 0 ||
		 json_number_value(v) != floor(json_number_value(v)))
		snprintf(buf, len, "%.3f", json_number_value(v));
	else
		snprintf(buf, len, "%.0f", json_number_value(v));
}

/* One side of an objective: "24.3ms met", or "(absent)" when d is NULL;
 * padded to its column unless it ends the line. */
static void print_side(diff_out *o, const diff_objective *d, int last)
{
	const char *st = !d ? "" : d->met ? "met" : "MISSED";
	char m[24], v[12];
	if (d) {
		fmt_measured(m, sizeof m, d);
		clip(v, sizeof v, m, 9);
	} else {
		snprintf(v, sizeof v, "(absent)");
	}
	fprintf(o->f, " %9s", v);
	if (d) {
		fputc(' ', o->f);
		paint(o, d->met ? "" : RED, st);
	}
	if (!last)
		fprintf(o->f, "%*s", (int)(d ? 6 - strlen(st) : 7), "");
}

static void print_objective(diff_out *o, const diff_objective *a,
			    const diff_objective *b)
{
	const diff_objective *d = a ? a : b;
	char scope[120], s[20], metric[24], expect[16];
	if (d->name)
		snprintf(scope, sizeof scope, "%s %s", d->scope, d->name);
	else
		snprintf(scope, sizeof scope, "%s", d->scope);
	clip(s, sizeof s, scope, 17);
	clip(metric, sizeof metric, d->metric, 19);
	clip(expect, sizeof expect, d->expect ? d->expect : "", 11);
	int worse = a && b && a->met && !b->met;
	int better = a && b && !a->met && b->met;
	fprintf(o->f, "  %-17s %-19s %-11s", s, metric, expect);
	print_side(o, a, 0);
	print_side(o, b, !worse && !better);
	if (worse)
		paint(o, RED BOLD, " regression");
	else if (better)
		paint(o, GREEN, " improvement");
	o->newly_missed += worse;
	o->newly_met += better;
	fputc('\n', o->f);
}

static int same_objective(const diff_objective *x, const diff_objective *y)
{
	if (strcmp(x->scope, y->scope) != 0 || strcmp(x->metric, y->metric) != 0)
		return 0;
	if (!x->name || !y->name)
		return !x->name && !y->name;
	return strcmp(x->name, y->name) == 0;
}

static void print_objectives(diff_out *o, diff_report *a, diff_report *b)
{
	if (!a->nobj && !b->nobj) {
		fprintf(o->f, "objectives: none in either report\n\n");
		return;
	}
	fprintf(o->f, "%-51s %9s %6s %9s\n", "objectives", "A", "", "B");
	for (size_t i = 0; i < a->nobj; i++) {
		diff_objective *x = &a->obj[i], *y = NULL;
		for (size_t j = 0; j < b->nobj && !y; j++)
			if (!b->obj[j].matched && same_objective(x, &b->obj[j]))
				y = &b->obj[j];
		if (y)
			y->matched = x->matched = 1;
		print_objective(o, x, y);
	}
	for (size_t j = 0; j < b->nobj; j++)
		if (!b->obj[j].matched)
			print_objective(o, NULL, &b->obj[j]);
	fputc('\n', o->f);
}

static const diff_entity *find_service(const diff_report *r, const char *name)
{
	for (size_t i = 0; i < r->nsvc; i++)
		if (strcmp(r->svc[i].name, name) == 0)
			return &r->svc[i];
	return NULL;
}

static void print_side_path(diff_out *o, const char *side, const diff_report *r)
{
	char p[100], seed[40] = "";
	if (r->has_seed)
		snprintf(seed, sizeof seed, "  (seed %lld)", (long long)r->seed);
	clip_left(p, sizeof p, r->path, 94 - strlen(seed));
	fprintf(o->f, "  %s  %s%s\n", side, p, seed);
}

static int print_diff(diff_report *a, diff_report *b, FILE *f, int color)
{
	diff_out o = {.f = f, .color = color};
	char name[90];
	clip(name, sizeof name, a->scenario, 80);
	fprintf(f, "meshsim diff: scenario %s\n", name);
	print_side_path(&o, "A", a);
	print_side_path(&o, "B", b);
	fputc('\n', f);

	print_objectives(&o, a, b);

	fprintf(f, "%-22s %11s %11s %11s %11s  %s\n", "", "A", "B", "change",
		"noise", "flag");
	print_figures(&o, "all clients", &a->totals, &b->totals);
	for (size_t i = 0; i < a->nsvc; i++) {
		const diff_entity *y = find_service(b, a->svc[i].name);
		char nm[84], t[100];
		clip(nm, sizeof nm, a->svc[i].name, 80);
		snprintf(t, sizeof t, "service %s", nm);
		if (y)
			print_figures(&o, t, &a->svc[i], y);
		else
			fprintf(f, "%s: only in A\n", t);
	}
	for (size_t j = 0; j < b->nsvc; j++)
		if (!find_service(a, b->svc[j].name)) {
			char nm[84];
			clip(nm, sizeof nm, b->svc[j].name, 80);
			fprintf(f, "service %s: only in B\n", nm);
		}

	fprintf(f, "\nnoise: %g standard errors of the change, by batch means over "
		   "%d s batches of each\nrun's time series, and at least %gpp, %g%% "
		   "or %g; ~ means within it.\n", DIFF_NOISE_SIGMAS, DIFF_BATCH_S,
		100 * DIFF_FLOOR_RATE, 100 * DIFF_FLOOR_LATENCY, DIFF_FLOOR_AMP);
	int regress = o.newly_missed || o.worse;
	fputs("verdict: ", f);
	paint(&o, regress ? RED BOLD : GREEN, regress ? "REGRESSION" : "no regression");
	fprintf(f, " (%u objective%s newly missed, %u newly met; %u figure%s "
		   "worse, %u better)\n",
		o.newly_missed, o.newly_missed == 1 ? "" : "s", o.newly_met,
		o.worse, o.worse == 1 ? "" : "s", o.better);
	return regress ? DIFF_REGRESSION : DIFF_SAME;
}

int diff_reports(const char *a, const char *b, FILE *out, int color,
		 char *err, size_t errlen)
{
	diff_report ra = {0}, rb = {0};
	int rc = DIFF_BAD_INPUT;
	if (report_load(a, &ra, err, errlen) < 0 || report_load(b, &rb, err, errlen) < 0)
		goto fail;
	if (strcmp(ra.scenario, rb.scenario) != 0) {
		snprintf(err, errlen, "%s: scenario.name: expected \"%s\" (the scenario "
			 "of %s), found \"%s\"; diff compares two runs of the same "
			 "scenario", rb.path, ra.scenario, ra.path, rb.scenario);
		goto fail;
	}
	rc = print_diff(&ra, &rb, out, color);
fail:
	report_free(&ra);
	report_free(&rb);
	return rc;
}
