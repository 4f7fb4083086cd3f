#include "scenario.h"

#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <regex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "scenario_rollout.h"

/* Stop collecting after this many errors: past it, the rest is noise. */
#define MAX_ERRORS 200

/* One string condition of a match, kept from parsing until the whole file
 * is read: only then are all routes and header pairs known. It never moves
 * once its regex is compiled (POSIX does not promise that a regex_t can be
 * copied). */
typedef struct pcond {
	enum model_str_match kind;
	char *name;      /* headers: the name, lower-cased */
	char *value;     /* exact, prefix, suffix: the text */
	regex_t re;      /* regex: compiled, anchored */
	int has_re;
} pcond;

/* A match whose path and header conditions are resolved at the end. */
typedef struct pmatch {
	model_match *mt;     /* in the model; its array never moves */
	uint32_t service;    /* path conditions cover this service's routes */
	pcond *path;         /* NULL: no path condition */
	pcond *hdr;          /* [mt->nhdr] */
} pmatch;

typedef struct ctx {
	const char *file;
	scn_errors *errs;
	model *m;
	int oom;
	size_t nerr;   /* errors found, recorded or not (past MAX_ERRORS) */
	const char *defaults;  /* the preset every policy starts from */
	int has_faults;        /* "faults" is a non-empty array */
	pmatch *pm;
	size_t npm, cappm;
} ctx;

void scn_errors_free(scn_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		free(e->msg[i]);
	free(e->msg);
	e->msg = NULL;
	e->n = e->cap = 0;
}

static void add_error(scn_errors *e, const char *text)
{
	if (e->n >= MAX_ERRORS)
		return;
	if (e->n == e->cap) {
		size_t cap = e->cap ? e->cap * 2 : 8;
		char **m = realloc(e->msg, cap * sizeof *m);
		if (!m)
			return;
		e->msg = m;
		e->cap = cap;
	}
	char *s = strdup(text);
	if (s)
		e->msg[e->n++] = s;
}

static void errf(ctx *c, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void errf(ctx *c, const char *path, const char *fmt, ...)
{
	char msg[1024], line[1400];
	va_list ap;
	c->nerr++;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	if (path && *path)
		snprintf(line, sizeof line, "%s: %s: %s", c->file, path, msg);
	else
		snprintf(line, sizeof line, "%s: %s", c->file, msg);
	add_error(c->errs, line);
}

/* A short description of a JSON value for "found ..." in messages. */
static void describe(const json_t *v, char *buf, size_t len)
{
	if (!v) {
		snprintf(buf, len, "nothing");
		return;
	}
	switch (json_typeof(v)) {
	case JSON_OBJECT: snprintf(buf, len, "an object"); return;
	case JSON_ARRAY: snprintf(buf, len, "an array"); return;
	case JSON_STRING: {
		const char *s = json_string_value(v);
		if (strlen(s) > 60)
			snprintf(buf, len, "\"%.57s...\"", s);
		else
			snprintf(buf, len, "\"%s\"", s);
		return;
	}
	case JSON_INTEGER:
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
		return;
	case JSON_REAL: {
		/* Keep a visible decimal point: "found 2.0", not "found 2",
		 * when an integer was expected. */
		double x = json_real_value(v);
		if (x == floor(x) && fabs(x) < 1e15)
			snprintf(buf, len, "%.1f", x);
		else
			snprintf(buf, len, "%.15g", x);
		return;
	}
	case JSON_TRUE: snprintf(buf, len, "true"); return;
	case JSON_FALSE: snprintf(buf, len, "false"); return;
	case JSON_NULL: snprintf(buf, len, "null"); return;
	}
	snprintf(buf, len, "?");
}

static void expected(ctx *c, const char *path, const char *what,
		     const json_t *found)
{
	char f[100];
	describe(found, f, sizeof f);
	errf(c, path, "expected %s, found %s", what, f);
}

/* Child paths: "a.b", "a[3]", and a["odd key"] for keys that are not
 * plain identifiers. */
static void path_key(char *out, size_t len, const char *base, const char *key)
{
	int plain = *key != '\0';
	for (const char *p = key; *p; p++)
		if (!isalnum((unsigned char)*p) && *p != '_' && *p != '-')
			plain = 0;
	if (plain)
		snprintf(out, len, "%s%s%s", base, *base ? "." : "", key);
	else
		snprintf(out, len, "%s[\"%s\"]", base, key);
}

static void path_idx(char *out, size_t len, const char *base, size_t i)
{
	snprintf(out, len, "%s[%zu]", base, i);
}

#define PATH 512

/* ---- unknown keys ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 40 || lb > 40)
		return 99;
	size_t d[41][41];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = d[i - 1][j - 1] + (a[i - 1] != b[j - 1]);
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			size_t best = sub < del ? sub : del;
			d[i][j] = best < ins ? best : ins;
		}
	return d[la][lb];
}

/* Report `key` (found at path/key) unless it is in the NULL-terminated list
 * `allowed`: suggest the nearest allowed key, or list them all. Returns 1
 * when the key is allowed. */
static int check_key(ctx *c, const char *key, const char *path,
		     const char *const *allowed)
{
	const char *near = NULL;
	size_t best = 3;
	for (const char *const *a = allowed; *a; a++) {
		if (strcmp(*a, key) == 0)
			return 1;
		size_t dd = edit_distance(key, *a);
		if (dd < best) {
			best = dd;
			near = *a;
		}
	}
	char p[PATH], list[400] = "";
	path_key(p, sizeof p, path, key);
	for (const char *const *a = allowed; *a; a++) {
		size_t l = strlen(list);
		snprintf(list + l, sizeof list - l, "%s%s",
			 a == allowed ? "" : ", ", *a);
	}
	if (near)
		errf(c, p, "unknown key \"%s\" (did you mean \"%s\"?)", key,
		     near);
	else
		errf(c, p, "unknown key \"%s\"; expected one of: %s", key, list);
	return 0;
}

/* Report every key of obj not in the NULL-terminated list `allowed`. */
static void check_keys(ctx *c, const json_t *obj, const char *path,
		       const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
		check_key(c, key, path, allowed);
}

static int in_list(const char *const *list, const char *s)
{
	for (; *list; list++)
		if (strcmp(*list, s) == 0)
			return 1;
	return 0;
}

/* ---- scalars ---- */

/* A plain decimal number: digits, optionally a point and more digits.
 * Stricter than strtod, which also takes "inf", hex and exponents. Returns
 * the number of characters read (0 when none) and sets *out. */
static size_t parse_decimal(const char *s, double *out)
{
	const char *p = s;
	while (isdigit((unsigned char)*p))
		p++;
	if (p == s)
		return 0;
	if (*p == '.') {
		if (!isdigit((unsigned char)p[1]))
			return 0;
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	}
	if (p - s > 40)
		return 0;
	char buf[48];
	memcpy(buf, s, (size_t)(p - s));
	buf[p - s] = '\0';
	*out = strtod(buf, NULL);
	return (size_t)(p - s);
}

int scn_parse_duration(const char *s, mesh_time *out)
{
	static const struct {
		const char *name;
		mesh_time ns;
	} units[] = {{"ns", 1},         {"us", MESH_US}, {"\xc2\xb5s", MESH_US},
		     {"ms", MESH_MS},   {"s", MESH_S},   {"m", 60 * MESH_S},
		     {"h", 3600 * MESH_S}};
	if (strcmp(s, "0") == 0) {
		*out = 0;
		return 0;
	}
	const char *p = s;
	if (!isdigit((unsigned char)*p))
		return -1;
	uint64_t ip = 0;
	for (; isdigit((unsigned char)*p); p++) {
		if (ip > (UINT64_MAX - 9) / 10)
			return -1;
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	uint64_t frac = 0, scale = 1;
	if (*p == '.') {
		p++;
		if (!isdigit((unsigned char)*p))
			return -1;
		for (; isdigit((unsigned char)*p); p++) {
			if (scale < 1000000000000ULL) {
				frac = frac * 10 + (uint64_t)(*p - '0');
				scale *= 10;
			}
		}
	}
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(p, units[i].name) != 0)
			continue;
		mesh_time u = units[i].ns;
		if (ip > UINT64_MAX / u / 2)
			return -1;
		/* frac/scale of a unit, rounded down to whole ns. The unit is
		 * at most 3.6e12 and frac < scale <= 1e12, so compute it as
		 * (frac * (u / g)) / (scale / g) with g = gcd-ish reduction
		 * via long double, which is exact enough below 2^64. */
		long double f = (long double)frac * (long double)u /
				(long double)scale;
		*out = ip * u + (mesh_time)f;
		return 0;
	}
	return -1;
}

/* Each getter: returns 1 when the key is present and valid (out set), 0
 * when absent (out untouched), -1 when present but invalid (reported). */

static int get_duration(ctx *c, const json_t *obj, const char *key,
			const char *path, mesh_time *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	char p[PATH];
	path_key(p, sizeof p, path, key);
	if (!json_is_string(v) ||
	    scn_parse_duration(json_string_value(v), out) < 0) {
		expected(c, p,
			 "a duration with a unit, like \"250ms\", \"2s\" or "
			 "\"1m\" (units ns, us, \xc2\xb5s, ms, s, m, h)",
			 v);
		return -1;
	}
	return 1;
}

static int get_uint(ctx *c, const json_t *obj, const char *key,
		    const char *path, uint64_t min, uint64_t max,
		    uint64_t *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	char p[PATH], what[100];
	path_key(p, sizeof p, path, key);
	if (max == UINT64_MAX)
		snprintf(what, sizeof what, "an integer >= %llu",
			 (unsigned long long)min);
	else
		snprintf(what, sizeof what, "an integer from %llu to %llu",
			 (unsigned long long)min, (unsigned long long)max);
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) < min ||
	    (uint64_t)json_integer_value(v) > max) {
		expected(c, p, what, v);
		return -1;
	}
	*out = (uint64_t)json_integer_value(v);
	return 1;
}

static int get_number(ctx *c, const json_t *obj, const char *key,
		      const char *path, double min, double max, double *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	char p[PATH], what[100];
	path_key(p, sizeof p, path, key);
	snprintf(what, sizeof what, "a number from %g to %g", min, max);
	if (!json_is_number(v) || json_number_value(v) < min ||
	    json_number_value(v) > max || isnan(json_number_value(v))) {
		expected(c, p, what, v);
		return -1;
	}
	*out = json_number_value(v);
	return 1;
}

static int get_string(ctx *c, const json_t *obj, const char *key,
		      const char *path, const char **out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	char p[PATH];
	path_key(p, sizeof p, path, key);
	if (!json_is_string(v) || !*json_string_value(v)) {
		expected(c, p, "a non-empty string", v);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

static char *dup(ctx *c, const char *s)
{
	char *d = strdup(s);
	if (!d)
		c->oom = 1;
	return d;
}

static void *zalloc(ctx *c, size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size);
	if (!p)
		c->oom = 1;
	return p;
}

/* ---- distributions ---- */

/* A distribution: a duration string (constant) or an object with "dist". */
static int parse_dist(ctx *c, const json_t *v, const char *path, dist *d)
{
	mesh_time t;
	if (json_is_string(v)) {
		if (scn_parse_duration(json_string_value(v), &t) < 0) {
			expected(c, path,
				 "a duration like \"10ms\" or a distribution "
				 "object with \"dist\"",
				 v);
			return -1;
		}
		dist_constant(d, t);
		return 0;
	}
	if (!json_is_object(v)) {
		expected(c, path,
			 "a duration like \"10ms\" or a distribution object "
			 "with \"dist\"",
			 v);
		return -1;
	}
	const char *kind = NULL;
	char p[PATH];
	path_key(p, sizeof p, path, "dist");
	json_t *k = json_object_get(v, "dist");
	if (!json_is_string(k)) {
		expected(c, p,
			 "one of \"constant\", \"uniform\", \"exponential\", "
			 "\"lognormal\", \"empirical\"",
			 k);
		return -1;
	}
	kind = json_string_value(k);
	int bad = 0;
	if (strcmp(kind, "constant") == 0) {
		static const char *const keys[] = {"dist", "value", NULL};
		check_keys(c, v, path, keys);
		int r = get_duration(c, v, "value", path, &t);
		if (r == 0) {
			path_key(p, sizeof p, path, "value");
			errf(c, p, "expected a duration, found nothing "
				   "(a constant needs \"value\")");
		}
		if (r != 1)
			return -1;
		dist_constant(d, t);
		return 0;
	}
	if (strcmp(kind, "uniform") == 0) {
		static const char *const keys[] = {"dist", "min", "max", NULL};
		check_keys(c, v, path, keys);
		mesh_time lo, hi;
		int r1 = get_duration(c, v, "min", path, &lo);
		int r2 = get_duration(c, v, "max", path, &hi);
		if (r1 == 0 || r2 == 0) {
			errf(c, path, "expected both \"min\" and \"max\" for a "
				      "uniform distribution, found %s missing",
			     r1 == 0 ? "\"min\"" : "\"max\"");
			return -1;
		}
		if (r1 < 0 || r2 < 0)
			return -1;
		if (lo > hi) {
			path_key(p, sizeof p, path, "max");
			expected(c, p, "a duration >= min",
				 json_object_get(v, "max"));
			return -1;
		}
		dist_uniform(d, lo, hi);
		return 0;
	}
	if (strcmp(kind, "exponential") == 0) {
		static const char *const keys[] = {"dist", "mean", NULL};
		check_keys(c, v, path, keys);
		int r = get_duration(c, v, "mean", path, &t);
		if (r == 0) {
			path_key(p, sizeof p, path, "mean");
			errf(c, p, "expected a duration, found nothing "
				   "(an exponential needs \"mean\")");
		}
		if (r != 1)
			return -1;
		dist_exponential(d, t);
		return 0;
	}
	if (strcmp(kind, "lognormal") == 0) {
		static const char *const keys[] = {"dist", "p50", "p99", NULL};
		check_keys(c, v, path, keys);
		mesh_time a, b;
		int r1 = get_duration(c, v, "p50", path, &a);
		int r2 = get_duration(c, v, "p99", path, &b);
		if (r1 == 0 || r2 == 0) {
			errf(c, path, "expected both \"p50\" and \"p99\" for a "
				      "lognormal distribution, found %s missing",
			     r1 == 0 ? "\"p50\"" : "\"p99\"");
			return -1;
		}
		if (r1 < 0 || r2 < 0)
			return -1;
		if (a == 0) {
			path_key(p, sizeof p, path, "p50");
			expected(c, p, "a duration above zero",
				 json_object_get(v, "p50"));
			return -1;
		}
		if (b < a) {
			path_key(p, sizeof p, path, "p99");
			expected(c, p, "a duration >= p50",
				 json_object_get(v, "p99"));
			return -1;
		}
		dist_lognormal(d, a, b);
		return 0;
	}
	if (strcmp(kind, "empirical") == 0) {
		/* Keys "p0" .. "p100": percentiles and their values. */
		double pct[DIST_MAX_POINTS];
		mesh_time val[DIST_MAX_POINTS];
		int n = 0;
		const char *key;
		json_t *x;
		json_object_foreach((json_t *)v, key, x) {
			if (strcmp(key, "dist") == 0)
				continue;
			path_key(p, sizeof p, path, key);
			double q = -1;
			size_t used = key[0] == 'p' ? parse_decimal(key + 1, &q) : 0;
			if (!used || key[1 + used] || q > 100) {
				errf(c, p, "unknown key \"%s\"; expected "
					   "\"dist\" or a percentile key "
					   "\"p0\" .. \"p100\"",
				     key);
				bad = 1;
				continue;
			}
			if (n == DIST_MAX_POINTS) {
				errf(c, p, "expected at most %d percentile "
					   "points, found more",
				     DIST_MAX_POINTS);
				bad = 1;
				break;
			}
			if (!json_is_string(x) ||
			    scn_parse_duration(json_string_value(x), &t) < 0) {
				expected(c, p, "a duration like \"10ms\"", x);
				bad = 1;
				continue;
			}
			/* Insert sorted by percentile. */
			int j = n;
			while (j > 0 && pct[j - 1] > q) {
				pct[j] = pct[j - 1];
				val[j] = val[j - 1];
				j--;
			}
			if (j > 0 && pct[j - 1] == q) {
				errf(c, p, "percentile %g is given twice", q);
				bad = 1;
				continue;
			}
			pct[j] = q;
			val[j] = t;
			n++;
		}
		if (bad)
			return -1;
		if (n < 2 || pct[0] != 0.0 || pct[n - 1] != 100.0) {
			errf(c, path, "expected an empirical distribution with "
				      "\"p0\" and \"p100\" and any percentiles "
				      "between, found %d points%s",
			     n, n >= 2 ? " without p0 or p100" : "");
			return -1;
		}
		for (int i = 1; i < n; i++)
			if (val[i] < val[i - 1]) {
				char key2[32];
				snprintf(key2, sizeof key2, "p%g", pct[i]);
				path_key(p, sizeof p, path, key2);
				errf(c, p, "expected a value >= the one at "
					   "p%g (percentiles must not "
					   "decrease)",
				     pct[i - 1]);
				return -1;
			}
		dist_empirical(d, n, pct, val);
		return 0;
	}
	expected(c, p,
		 "one of \"constant\", \"uniform\", \"exponential\", "
		 "\"lognormal\", \"empirical\"",
		 k);
	return -1;
}

/* An optional distribution under key; absent leaves *d as it is. */
static void get_dist(ctx *c, const json_t *obj, const char *key,
		     const char *path, dist *d)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return;
	char p[PATH];
	path_key(p, sizeof p, path, key);
	parse_dist(c, v, p, d);
}

/* {"latency": DIST} blocks for "sidecar". */
static void parse_sidecar(ctx *c, const json_t *obj, const char *path,
			  dist *d)
{
	json_t *v = json_object_get(obj, "sidecar");
	if (!v)
		return;
	char p[PATH];
	path_key(p, sizeof p, path, "sidecar");
	if (!json_is_object(v)) {
		expected(c, p, "an object like {\"latency\": \"200us\"}", v);
		return;
	}
	static const char *const keys[] = {"latency", NULL};
	check_keys(c, v, p, keys);
	get_dist(c, v, "latency", p, d);
}

/* ---- services ---- */

static int service_index(const model *m, const char *name)
{
	for (uint32_t i = 0; i < m->nservices; i++)
		if (strcmp(m->services[i].name, name) == 0)
			return (int)i;
	return -1;
}

/* A call target: "svc" or {"service": "svc", "path": "/x", "size": N}.
 * Returns 0 and sets route and size, or -1 (reported). */
static int parse_call(ctx *c, const json_t *v, const char *path,
		      uint32_t *route, uint64_t *size)
{
	const char *svc = NULL, *rpath = "/";
	*size = 0;
	if (json_is_string(v) && *json_string_value(v)) {
		svc = json_string_value(v);
	} else if (json_is_object(v)) {
		static const char *const keys[] = {"service", "path", "size",
						   NULL};
		check_keys(c, v, path, keys);
		int r = get_string(c, v, "service", path, &svc);
		if (r == 0) {
			char p[PATH];
			path_key(p, sizeof p, path, "service");
			errf(c, p, "expected the name of the service to call, "
				   "found nothing");
		}
		if (r != 1)
			return -1;
		if (get_string(c, v, "path", path, &rpath) < 0)
			return -1;
		if (get_uint(c, v, "size", path, 0, UINT64_MAX, size) < 0)
			return -1;
	} else {
		expected(c, path,
			 "a service name or {\"service\": ..., \"path\": ...}",
			 v);
		return -1;
	}
	if (rpath[0] != '/') {
		char p[PATH];
		path_key(p, sizeof p, path, "path");
		errf(c, p, "expected a path starting with \"/\", found \"%s\"",
		     rpath);
		return -1;
	}
	int s = service_index(c->m, svc);
	if (s < 0) {
		char p[PATH];
		if (json_is_object(v))
			path_key(p, sizeof p, path, "service");
		else
			snprintf(p, sizeof p, "%s", path);
		errf(c, p, "expected the name of a service in \"services\", "
			   "found \"%s\", which is not defined",
		     svc);
		return -1;
	}
	int r = model_route_intern(c->m, (uint32_t)s, rpath);
	if (r < 0) {
		c->oom = 1;
		return -1;
	}
	*route = (uint32_t)r;
	return 0;
}

static void parse_script(ctx *c, const json_t *arr, const char *path,
			 model_behavior *s)
{
	if (!json_is_array(arr)) {
		expected(c, path, "an array of steps", arr);
		return;
	}
	size_t n = json_array_size(arr);
	s->steps = zalloc(c, n, sizeof *s->steps);
	if (!s->steps)
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		char p[PATH], q[PATH];
		path_idx(p, sizeof p, path, i);
		model_step *st = &s->steps[s->nsteps];
		if (!json_is_object(v) || json_object_size(v) != 1) {
			expected(c, p,
				 "a step: {\"work\": DIST}, {\"call\": ...} or "
				 "{\"parallel\": [...]}",
				 v);
			continue;
		}
		static const char *const keys[] = {"work", "call", "parallel",
						   NULL};
		check_keys(c, v, p, keys);
		json_t *x;
		if ((x = json_object_get(v, "work"))) {
			path_key(q, sizeof q, p, "work");
			st->kind = STEP_WORK;
			if (parse_dist(c, x, q, &st->work) == 0)
				s->nsteps++;
		} else if ((x = json_object_get(v, "call"))) {
			path_key(q, sizeof q, p, "call");
			st->kind = STEP_CALL;
			st->ncalls = 1;
			st->routes = zalloc(c, 1, sizeof *st->routes);
			st->sizes = zalloc(c, 1, sizeof *st->sizes);
			if (!st->routes || !st->sizes ||
			    parse_call(c, x, q, st->routes, st->sizes) < 0) {
				free(st->routes);
				free(st->sizes);
				st->routes = NULL;
				st->sizes = NULL;
				continue;
			}
			s->nsteps++;
		} else if ((x = json_object_get(v, "parallel"))) {
			path_key(q, sizeof q, p, "parallel");
			if (!json_is_array(x) || json_array_size(x) == 0) {
				expected(c, q, "a non-empty array of calls", x);
				continue;
			}
			size_t k = json_array_size(x);
			st->kind = STEP_PARALLEL;
			st->routes = zalloc(c, k, sizeof *st->routes);
			st->sizes = zalloc(c, k, sizeof *st->sizes);
			int bad = !st->routes || !st->sizes;
			/* Check every call, so that all bad ones are
			 * reported, not just the first. */
			for (size_t j = 0; st->routes && st->sizes && j < k; j++) {
				char r[PATH];
				path_idx(r, sizeof r, q, j);
				if (parse_call(c, json_array_get(x, j), r,
					       &st->routes[j],
					       &st->sizes[j]) < 0)
					bad = 1;
			}
			if (bad) {
				free(st->routes);
				free(st->sizes);
				st->routes = NULL;
				st->sizes = NULL;
				continue;
			}
			st->ncalls = (uint32_t)k;
			s->nsteps++;
		}
	}
}

static void parse_errors(ctx *c, const json_t *arr, const char *path,
			 model_behavior *s)
{
	if (!json_is_array(arr)) {
		expected(c, path,
			 "an array like [{\"status\": 500, \"probability\": "
			 "0.01}]",
			 arr);
		return;
	}
	size_t n = json_array_size(arr);
	s->errors = zalloc(c, n, sizeof *s->errors);
	if (!s->errors)
		return;
	double total = 0;
	for (size_t i = 0; i < n; i++) {
		json_t *v = json_array_get(arr, i);
		char p[PATH];
		path_idx(p, sizeof p, path, i);
		if (!json_is_object(v)) {
			expected(c, p,
				 "an object like {\"status\": 500, "
				 "\"probability\": 0.01}",
				 v);
			continue;
		}
		static const char *const keys[] = {"status", "probability",
						   NULL};
		check_keys(c, v, p, keys);
		uint64_t st;
		double pr;
		int r1 = get_uint(c, v, "status", p, 100, 599, &st);
		int r2 = get_number(c, v, "probability", p, 0, 1, &pr);
		if (r1 == 0 || r2 == 0)
			errf(c, p, "expected both \"status\" and "
				   "\"probability\", found %s missing",
			     r1 == 0 ? "\"status\"" : "\"probability\"");
		if (r1 != 1 || r2 != 1)
			continue;
		if (st >= 200 && st < 300) {
			char q[PATH];
			path_key(q, sizeof q, p, "status");
			expected(c, q, "an error status (not 2xx)",
				 json_object_get(v, "status"));
			continue;
		}
		total += pr;
		s->errors[s->nerrors].status = (uint16_t)st;
		s->errors[s->nerrors].probability = pr;
		s->nerrors++;
	}
	if (total > 1.0 + 1e-12)
		errf(c, path, "expected probabilities that add up to at most "
			      "1, found %g",
		     total);
}

/* First pass: names, so that calls can refer to services defined later.
 * Every policy starts as the scenario's preset ("defaults"). */
static void declare_services(ctx *c, const json_t *svcs)
{
	model *m = c->m;
	size_t n = json_object_size(svcs);
	m->services = zalloc(c, n, sizeof *m->services);
	if (!m->services)
		return;
	const char *name;
	json_t *v;
	json_object_foreach((json_t *)svcs, name, v) {
		model_service *s = &m->services[m->nservices++];
		s->name = dup(c, name);
		s->replicas = 1;
		int r = model_policy_preset(&s->policy, c->defaults);
		assert(r == 0);
		(void)r;
	}
}

static void behavior_init(model_behavior *b)
{
	memset(b, 0, sizeof *b);
	b->concurrency = MODEL_UNLIMITED;
	b->queue = MODEL_UNLIMITED;
}

static void steps_clear(model_behavior *b)
{
	for (uint32_t j = 0; j < b->nsteps; j++) {
		free(b->steps[j].routes);
		free(b->steps[j].sizes);
	}
	free(b->steps);
	b->steps = NULL;
	b->nsteps = 0;
}

static void behavior_clear(model_behavior *b)
{
	steps_clear(b);
	free(b->errors);
	b->errors = NULL;
	b->nerrors = 0;
}

/* dst (initialised, empty) becomes a deep copy of src. */
static void behavior_copy(ctx *c, model_behavior *dst, const model_behavior *src)
{
	*dst = *src;
	dst->steps = NULL;
	dst->nsteps = 0;
	dst->errors = NULL;
	dst->nerrors = 0;
	if (src->nsteps) {
		dst->steps = zalloc(c, src->nsteps, sizeof *dst->steps);
		if (!dst->steps)
			return;
		for (uint32_t j = 0; j < src->nsteps; j++) {
			model_step *d = &dst->steps[dst->nsteps];
			const model_step *t = &src->steps[j];
			*d = *t;
			d->routes = NULL;
			d->sizes = NULL;
			if (t->ncalls) {
				d->routes = zalloc(c, t->ncalls, sizeof *d->routes);
				d->sizes = zalloc(c, t->ncalls, sizeof *d->sizes);
				if (!d->routes || !d->sizes) {
					free(d->routes);
					free(d->sizes);
					return;
				}
				memcpy(d->routes, t->routes,
				       t->ncalls * sizeof *d->routes);
				memcpy(d->sizes, t->sizes,
				       t->ncalls * sizeof *d->sizes);
			}
			dst->nsteps++;
		}
	}
	if (src->nerrors) {
		dst->errors = zalloc(c, src->nerrors, sizeof *dst->errors);
		if (!dst->errors)
			return;
		memcpy(dst->errors, src->errors,
		       src->nerrors * sizeof *dst->errors);
		dst->nerrors = src->nerrors;
	}
}

/* The behaviour keys that obj gives replace what b holds: a service's own,
 * or a version's over what it inherits from its service. */
static void parse_behavior(ctx *c, const json_t *v, const char *path,
			   model_behavior *b)
{
	uint64_t x;
	if (get_uint(c, v, "concurrency", path, 1, 10000000, &x) == 1)
		b->concurrency = (uint32_t)x;
	if (get_uint(c, v, "queue", path, 0, 100000000, &x) == 1)
		b->queue = (uint32_t)x;
	if (get_uint(c, v, "response_size", path, 0, UINT64_MAX, &x) == 1)
		b->response_size = x;
	json_t *lat = json_object_get(v, "latency");
	json_t *script = json_object_get(v, "script");
	char p[PATH];
	if (lat && script) {
		path_key(p, sizeof p, path, "latency");
		errf(c, p, "expected either \"latency\" or \"script\", found "
			   "both (put the work in the script as "
			   "{\"work\": ...})");
	} else if (lat || script) {
		/* A version's own script replaces the inherited one whole. */
		steps_clear(b);
		if (lat) {
			path_key(p, sizeof p, path, "latency");
			b->steps = zalloc(c, 1, sizeof *b->steps);
			if (b->steps) {
				b->steps[0].kind = STEP_WORK;
				if (parse_dist(c, lat, p, &b->steps[0].work) == 0)
					b->nsteps = 1;
			}
		} else {
			path_key(p, sizeof p, path, "script");
			parse_script(c, script, p, b);
		}
	}
	json_t *errs = json_object_get(v, "errors");
	if (errs) {
		free(b->errors);
		b->errors = NULL;
		b->nerrors = 0;
		path_key(p, sizeof p, path, "errors");
		parse_errors(c, errs, p, b);
	}
}

static const char queue_alone[] =
	"(with unlimited workers nothing ever waits, so the queue would do "
	"nothing)";

static void parse_versions(ctx *c, const json_t *v, const char *path,
			   const char *svc_path, model_service *s,
			   const model_behavior *base)
{
	static const char *const keys[] = {
		"replicas", "concurrency", "queue",         "latency",
		"script",   "errors",      "response_size", NULL};
	if (!json_is_object(v) || json_object_size(v) == 0) {
		expected(c, path, "a non-empty object of versions, like "
				  "{\"v1\": {\"replicas\": 2}}",
			 v);
		return;
	}
	size_t n = json_object_size(v);
	s->versions = zalloc(c, n, sizeof *s->versions);
	if (!s->versions)
		return;
	s->replicas = 0;
	const char *name;
	json_t *x;
	json_object_foreach((json_t *)v, name, x) {
		char p[PATH], q[PATH];
		path_key(p, sizeof p, path, name);
		model_version *ver = &s->versions[s->nversions++];
		behavior_init(&ver->b);
		ver->name = dup(c, name);
		ver->replicas = 1;
		ver->first = s->replicas;
		if (!*name)
			errf(c, p, "expected a version name, found an empty key");
		if (!json_is_object(x)) {
			expected(c, p, "a version object, like {\"replicas\": 2, "
				       "\"latency\": \"5ms\"}",
				 x);
			continue;
		}
		check_keys(c, x, p, keys);
		uint64_t r;
		if (get_uint(c, x, "replicas", p, 1, 100000, &r) == 1)
			ver->replicas = (uint32_t)r;
		behavior_copy(c, &ver->b, base);
		parse_behavior(c, x, p, &ver->b);
		if (ver->b.queue != MODEL_UNLIMITED &&
		    ver->b.concurrency == MODEL_UNLIMITED) {
			if (json_object_get(x, "queue")) {
				path_key(q, sizeof q, p, "queue");
				errf(c, q, "expected \"concurrency\" beside "
					   "\"queue\", found none %s",
				     queue_alone);
			} else {
				errf(c, p, "expected \"concurrency\" beside the "
					   "\"queue\" inherited from %s, found "
					   "none %s",
				     svc_path, queue_alone);
			}
		}
		s->replicas += ver->replicas;
	}
	if (s->replicas > 100000)
		errf(c, path, "expected at most 100000 replicas in all versions "
			      "together, found %u",
		     s->replicas);
}

/* ---- identities ---- */

/* A namespace or service account, as a SPIFFE ID path segment (and the
 * built-in CA, tls_ca.h) allows it: letters, digits, '.', '-', '_', not
 * "." or "..". */
static int segment_ok(const char *s)
{
	if (!*s || strcmp(s, ".") == 0 || strcmp(s, "..") == 0)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr(".-_", *s))
			return 0;
	return 1;
}

/* A trust domain: lower-case letters, digits, '.', '-', '_'. */
static int trust_domain_ok(const char *s, size_t n)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!islower((unsigned char)s[i]) && !isdigit((unsigned char)s[i]) &&
		    !strchr(".-_", s[i]))
			return 0;
	return 1;
}

/* The trust domain of every principal the loader makes: the "mtls"
 * block's (parsed before the services), else Istio's default. */
static const char *mesh_trust_domain(const ctx *c)
{
	const model_mtls *t = &c->m->mtls;
	return t->enabled && t->trust_domain ? t->trust_domain
					     : MODEL_TRUST_DOMAIN;
}

/* "<trust domain>/ns/<namespace>/sa/<service account>". */
static char *make_principal(ctx *c, const char *ns, const char *sa)
{
	const char *td = mesh_trust_domain(c);
	size_t n = strlen(td) + strlen(ns) + strlen(sa) + 9;
	char *p = malloc(n);
	if (!p) {
		c->oom = 1;
		return NULL;
	}
	snprintf(p, n, "%s/ns/%s/sa/%s", td, ns, sa);
	return p;
}

/* A service's optional "namespace" and "service_account" (Kubernetes'
 * namespace and ServiceAccount of its pods, which Istio's principal is
 * made of): "default" and the service's own name unless given. */
static void parse_identity(ctx *c, const json_t *v, const char *path,
			   model_service *s)
{
	static const char segment_what[] =
		"letters, digits, '.', '-' or '_' (a SPIFFE ID path "
		"segment), not \".\" or \"..\"";
	const char *ns = "default", *sa = s->name;
	char p[PATH], what[200];
	const char *x;
	if (get_string(c, v, "namespace", path, &x) == 1) {
		if (segment_ok(x)) {
			ns = x;
		} else {
			path_key(p, sizeof p, path, "namespace");
			snprintf(what, sizeof what, "a namespace of %s", segment_what);
			expected(c, p, what, json_object_get(v, "namespace"));
		}
	}
	if (get_string(c, v, "service_account", path, &x) == 1) {
		if (segment_ok(x)) {
			sa = x;
		} else {
			path_key(p, sizeof p, path, "service_account");
			snprintf(what, sizeof what, "a service account of %s",
				 segment_what);
			expected(c, p, what, json_object_get(v, "service_account"));
		}
	}
	free(s->ns);
	free(s->service_account);
	free(s->principal);
	s->ns = dup(c, ns);
	s->service_account = dup(c, sa ? sa : "");
	s->principal = make_principal(c, ns, sa ? sa : "");
}

static const char principal_what[] =
	"a principal as Istio writes it, \"<trust domain>/ns/<namespace>/sa/"
	"<service account>\", like \"cluster.local/ns/default/sa/shopper\"";

/* A load client's optional "principal": its identity as a caller. None:
 * plaintext, which principals and namespaces conditions never match. */
static void parse_client_principal(ctx *c, const json_t *v, const char *path,
				   model_client *cl)
{
	const char *s;
	if (get_string(c, v, "principal", path, &s) != 1)
		return;
	char p[PATH];
	path_key(p, sizeof p, path, "principal");
	if (strncmp(s, "spiffe://", 9) == 0) {
		errf(c, p, "expected %s, without the spiffe:// prefix (Istio "
			   "writes principals without it), found \"%s\"",
		     principal_what, s);
		return;
	}
	const char *a = strchr(s, '/');
	char ns[256], sa[256];
	int ok = a && trust_domain_ok(s, (size_t)(a - s)) &&
		 strncmp(a, "/ns/", 4) == 0;
	const char *b = ok ? strstr(a + 4, "/sa/") : NULL;
	ok = b && (size_t)(b - (a + 4)) < sizeof ns && strlen(b + 4) < sizeof sa;
	if (ok) {
		memcpy(ns, a + 4, (size_t)(b - (a + 4)));
		ns[b - (a + 4)] = '\0';
		snprintf(sa, sizeof sa, "%s", b + 4);
		ok = segment_ok(ns) && segment_ok(sa);
	}
	if (!ok) {
		expected(c, p, principal_what, json_object_get(v, "principal"));
		return;
	}
	/* With mutual TLS the client's principal is the identity in the
	 * certificate the mesh CA issues it, which is always of the mesh's
	 * own trust domain. */
	const char *td = mesh_trust_domain(c);
	size_t tdl = (size_t)(a - s);
	if (c->m->mtls.enabled &&
	    (strlen(td) != tdl || strncmp(s, td, tdl) != 0)) {
		errf(c, p, "expected a principal in the mesh's trust domain "
			   "\"%s\" (the \"mtls\" block's trust_domain: the mesh "
			   "CA issues certificates of that domain only), like "
			   "\"%s/ns/%s/sa/%s\", found \"%s\"",
		     td, td, ns, sa, s);
		return;
	}
	cl->principal = dup(c, s);
	cl->ns = dup(c, ns);
}

static void parse_service(ctx *c, const json_t *v, const char *path,
			  model_service *s, const dist *default_sidecar)
{
	static const char *const keys[] = {
		"replicas", "concurrency",   "queue",   "latency",
		"script",   "errors",        "response_size", "sidecar",
		"versions", "description",   "namespace", "service_account",
		NULL};
	s->sidecar_latency = *default_sidecar;
	if (!json_is_object(v)) {
		expected(c, path, "a service object", v);
		return;
	}
	check_keys(c, v, path, keys);
	model_behavior base;
	behavior_init(&base);
	parse_behavior(c, v, path, &base);
	char p[PATH];
	json_t *vers = json_object_get(v, "versions");
	if (vers) {
		/* As Istio's subsets: each version is its own Deployment
		 * with its own replica count. */
		if (json_object_get(v, "replicas")) {
			path_key(p, sizeof p, path, "replicas");
			expected(c, p, "no \"replicas\" beside \"versions\" "
				       "(replicas go in each version)",
				 json_object_get(v, "replicas"));
		}
		path_key(p, sizeof p, path, "versions");
		parse_versions(c, vers, p, path, s, &base);
		behavior_clear(&base);
	} else {
		/* One version, "default", holding everything: the service
		 * as it was written before versions existed. */
		uint64_t x;
		if (get_uint(c, v, "replicas", path, 1, 100000, &x) == 1)
			s->replicas = (uint32_t)x;
		if (base.queue != MODEL_UNLIMITED &&
		    base.concurrency == MODEL_UNLIMITED) {
			path_key(p, sizeof p, path, "queue");
			errf(c, p, "expected \"concurrency\" beside \"queue\", "
				   "found none %s",
			     queue_alone);
		}
		s->versions = zalloc(c, 1, sizeof *s->versions);
		if (s->versions) {
			s->nversions = 1;
			s->versions[0].name = dup(c, "default");
			s->versions[0].replicas = s->replicas;
			s->versions[0].first = 0;
			s->versions[0].b = base;
		} else {
			behavior_clear(&base);
		}
	}
	parse_sidecar(c, v, path, &s->sidecar_latency);
	parse_identity(c, v, path, s);
	json_t *d = json_object_get(v, "description");
	if (d && !json_is_string(d)) {
		path_key(p, sizeof p, path, "description");
		expected(c, p, "a string", d);
	}
}

/* Depth-first search for a cycle in the call graph. The first cycle found
 * is reported; once it is broken, `check` shows the next. */
static int calls_service(const model *m, const model_service *s, uint32_t t)
{
	for (uint32_t v = 0; v < s->nversions; v++) {
		const model_behavior *b = &s->versions[v].b;
		for (uint32_t i = 0; i < b->nsteps; i++)
			for (uint32_t k = 0; k < b->steps[i].ncalls; k++)
				if (m->routes[b->steps[i].routes[k]].service == t)
					return 1;
	}
	return 0;
}

static int dfs(ctx *c, uint32_t u, uint8_t *color, uint32_t *stack,
	       uint32_t depth)
{
	model *m = c->m;
	color[u] = 1;
	stack[depth] = u;
	for (uint32_t t = 0; t < m->nservices; t++) {
		if (!calls_service(m, &m->services[u], t))
			continue;
		if (color[t] == 1) {
			char chain[1024] = "";
			uint32_t start = 0;
			while (stack[start] != t)
				start++;
			for (uint32_t i = start; i <= depth; i++) {
				size_t l = strlen(chain);
				snprintf(chain + l, sizeof chain - l, "%s -> ",
					 m->services[stack[i]].name);
			}
			size_t l = strlen(chain);
			snprintf(chain + l, sizeof chain - l, "%s",
				 m->services[t].name);
			char p[PATH];
			path_key(p, sizeof p, "services",
				 m->services[u].name);
			errf(c, p, "expected a call graph without cycles, found "
				   "the cycle %s",
			     chain);
			return 1;
		}
		if (color[t] == 0 && dfs(c, t, color, stack, depth + 1))
			return 1;
	}
	color[u] = 2;
	return 0;
}

static void check_cycles(ctx *c)
{
	model *m = c->m;
	uint8_t *color = zalloc(c, m->nservices, 1);
	uint32_t *stack = zalloc(c, m->nservices, sizeof *stack);
	if (color && stack)
		for (uint32_t u = 0; u < m->nservices; u++)
			if (color[u] == 0 && dfs(c, u, color, stack, 0))
				break;
	free(color);
	free(stack);
}

/* ---- headers, methods and matches ---- */

static const char *const method_names[METHOD_COUNT] = {
	"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};

static int method_index(const char *s)
{
	for (int i = 0; i < METHOD_COUNT; i++)
		if (strcmp(method_names[i], s) == 0)
			return i;
	return -1;
}

static const char methods_what[] =
	"an HTTP method: \"GET\", \"POST\", \"PUT\", \"DELETE\", \"PATCH\", "
	"\"HEAD\" or \"OPTIONS\"";

/* An HTTP header name is a token (RFC 9110 section 5.1). */
static int header_name_ok(const char *s)
{
	if (!*s)
		return 0;
	for (; *s; s++)
		if (!isalnum((unsigned char)*s) && !strchr("!#$%&'*+-.^_`|~", *s))
			return 0;
	return 1;
}

/* A header name, lower-cased: HTTP header names are case-insensitive. */
static char *lower_dup(ctx *c, const char *s)
{
	char *d = dup(c, s);
	if (d)
		for (char *p = d; *p; p++)
			*p = (char)tolower((unsigned char)*p);
	return d;
}

/* Intern a (name, value) pair. Returns its index, or -1 (reported at path:
 * too many pairs; or out of memory). */
static int intern_pair(ctx *c, const char *path, const char *name,
		       const char *value)
{
	model *m = c->m;
	char *n = lower_dup(c, name);
	if (!n)
		return -1;
	for (uint32_t i = 0; i < m->nheaders; i++)
		if (strcmp(m->headers[i].name, n) == 0 &&
		    strcmp(m->headers[i].value, value) == 0) {
			free(n);
			return (int)i;
		}
	if (m->nheaders == MODEL_MAX_HEADERS) {
		errf(c, path, "expected at most %d distinct header pairs (name "
			      "and value) in the whole scenario, found more",
		     MODEL_MAX_HEADERS);
		free(n);
		return -1;
	}
	char *v = dup(c, value);
	model_header *h = realloc(m->headers, (m->nheaders + 1) * sizeof *h);
	if (!v || !h) {
		if (h)
			m->headers = h;
		c->oom = 1;
		free(n);
		free(v);
		return -1;
	}
	m->headers = h;
	h[m->nheaders].name = n;
	h[m->nheaders].value = v;
	return (int)m->nheaders++;
}

/* Intern a header name (ring hash, user ids). Returns its index, or -1
 * when out of memory. */
static int intern_name(ctx *c, const char *name)
{
	model *m = c->m;
	char *n = lower_dup(c, name);
	if (!n)
		return -1;
	for (uint32_t i = 0; i < m->nheader_names; i++)
		if (strcmp(m->header_names[i], n) == 0) {
			free(n);
			return (int)i;
		}
	char **h = realloc(m->header_names, (m->nheader_names + 1) * sizeof *h);
	if (!h) {
		c->oom = 1;
		free(n);
		return -1;
	}
	m->header_names = h;
	h[m->nheader_names] = n;
	return (int)m->nheader_names++;
}

/* A header name under key: a non-empty token. Returns 1 and sets *out, 0
 * when absent, -1 when bad (reported). */
static int get_header_name(ctx *c, const json_t *obj, const char *key,
			   const char *path, const char **out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	char p[PATH];
	path_key(p, sizeof p, path, key);
	if (!json_is_string(v) || !header_name_ok(json_string_value(v))) {
		expected(c, p, "a header name, like \"x-user-id\"", v);
		return -1;
	}
	*out = json_string_value(v);
	return 1;
}

/* "GET" or ["GET", "POST"]: bits (1u << method). Returns 0, or -1
 * (reported). */
static int parse_methods(ctx *c, const json_t *v, const char *path,
			 uint32_t *bits)
{
	uint32_t b = 0;
	if (json_is_string(v)) {
		int k = method_index(json_string_value(v));
		if (k < 0) {
			expected(c, path, methods_what, v);
			return -1;
		}
		*bits = 1u << k;
		return 0;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		expected(c, path, "a method like \"GET\" or a non-empty list "
				  "like [\"GET\", \"HEAD\"]",
			 v);
		return -1;
	}
	int bad = 0;
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);
		int k = json_is_string(x) ? method_index(json_string_value(x)) : -1;
		if (k < 0) {
			char p[PATH];
			path_idx(p, sizeof p, path, i);
			expected(c, p, methods_what, x);
			bad = 1;
			continue;
		}
		b |= 1u << k;
	}
	if (bad)
		return -1;
	*bits = b;
	return 0;
}

static void pcond_free(pcond *k)
{
	free(k->name);
	free(k->value);
	if (k->has_re)
		regfree(&k->re);
	memset(k, 0, sizeof *k);
}

static void pmatch_free(pmatch *pm)
{
	if (pm->path)
		pcond_free(pm->path);
	free(pm->path);
	for (uint32_t k = 0; pm->hdr && k < pm->mt->nhdr; k++)
		pcond_free(&pm->hdr[k]);
	free(pm->hdr);
}

/* A string condition: {"exact"|"prefix"|"suffix"|"regex": "..."}, or, when
 * allow_present, {"present": true}. A regex is POSIX extended and must
 * match the whole string, as Istio's (RE2) regex match does. Fills k;
 * returns 0, or -1 (reported, k empty). */
static int parse_cond(ctx *c, const json_t *v, const char *path,
		      int allow_present, int is_path, pcond *k)
{
	static const char *const kinds[] = {"exact", "prefix", "suffix",
					    "regex", "present", NULL};
	const char *what =
		allow_present
			? "a condition like {\"exact\": \"v\"}: one of "
			  "\"exact\", \"prefix\", \"suffix\", \"regex\" or "
			  "{\"present\": true}"
			: "a condition like {\"prefix\": \"/api\"}: one of "
			  "\"exact\", \"prefix\", \"suffix\" or \"regex\"";
	if (!json_is_object(v) || json_object_size(v) != 1) {
		expected(c, path, what, v);
		return -1;
	}
	const char *key = json_object_iter_key(json_object_iter((json_t *)v));
	json_t *x = json_object_get(v, key);
	char p[PATH];
	path_key(p, sizeof p, path, key);
	static const char *const no_present[] = {"exact", "prefix", "suffix",
						 "regex", NULL};
	if (!check_key(c, key, path, allow_present ? kinds : no_present))
		return -1;
	if (strcmp(key, "present") == 0) {
		if (!json_is_true(x)) {
			expected(c, p, "true (a header that must be absent "
				       "cannot be matched)",
				 x);
			return -1;
		}
		k->kind = SM_PRESENT;
		return 0;
	}
	if (!json_is_string(x)) {
		expected(c, p, "a string", x);
		return -1;
	}
	const char *s = json_string_value(x);
	if (strcmp(key, "regex") == 0) {
		size_t l = strlen(s) + 5;
		char *re = malloc(l);
		if (!re) {
			c->oom = 1;
			return -1;
		}
		snprintf(re, l, "^(%s)$", s);
		/* The regex alone first: "a)|(b" is bad, yet wrapped it
		 * would compile, and no longer be anchored. */
		int rc = regcomp(&k->re, s, REG_EXTENDED | REG_NOSUB);
		if (rc == 0) {
			regfree(&k->re);
			rc = regcomp(&k->re, re, REG_EXTENDED | REG_NOSUB);
		}
		free(re);
		if (rc != 0) {
			char why[200];
			regerror(rc, &k->re, why, sizeof why);
			char f[100];
			describe(x, f, sizeof f);
			errf(c, p, "expected a POSIX extended regular "
				   "expression, found %s (%s)",
			     f, why);
			return -1;
		}
		k->has_re = 1;
		k->kind = SM_REGEX;
		return 0;
	}
	k->kind = strcmp(key, "exact") == 0    ? SM_EXACT
		  : strcmp(key, "prefix") == 0 ? SM_PREFIX
					       : SM_SUFFIX;
	if (is_path && k->kind != SM_SUFFIX && s[0] != '/') {
		expected(c, p, "a path starting with \"/\" (every request "
			       "path does)",
			 x);
		return -1;
	}
	k->value = dup(c, s);
	return k->value ? 0 : -1;
}

/* One MATCH (Istio HTTPMatchRequest): {"path": COND, "method": ...,
 * "headers": {"name": COND, ...}}. Methods are set now; path and header
 * conditions are kept in c->pm and resolved by resolve_matches() once the
 * whole file is read. `service` is whose routes a path condition covers;
 * allow_path is 0 for a fault's match. */
static void parse_match(ctx *c, const json_t *v, const char *path,
			uint32_t service, int allow_path, model_match *mt)
{
	static const char *const keys[] = {"path", "method", "headers", NULL};
	static const char *const keys_np[] = {"method", "headers", NULL};
	if (!json_is_object(v)) {
		expected(c, path,
			 allow_path ? "a match object, like {\"path\": "
				      "{\"prefix\": \"/api\"}}"
				    : "a match object, like {\"headers\": "
				      "{\"x-canary\": {\"exact\": \"1\"}}}",
			 v);
		return;
	}
	char p[PATH];
	const char *key;
	json_t *x;
	json_object_foreach((json_t *)v, key, x) {
		if (!allow_path && strcmp(key, "path") == 0) {
			path_key(p, sizeof p, path, key);
			errf(c, p, "expected no \"path\" in a fault's match "
				   "(a fault applies to a whole service; "
				   "match on \"headers\" or \"method\")");
			continue;
		}
		check_key(c, key, path, allow_path ? keys : keys_np);
	}
	x = json_object_get(v, "method");
	if (x) {
		path_key(p, sizeof p, path, "method");
		parse_methods(c, x, p, &mt->methods);
	}
	pmatch pm;
	memset(&pm, 0, sizeof pm);
	pm.mt = mt;
	pm.service = service;
	int bad = 0;
	x = json_object_get(v, "path");
	if (x && allow_path) {
		path_key(p, sizeof p, path, "path");
		pm.path = zalloc(c, 1, sizeof *pm.path);
		if (!pm.path || parse_cond(c, x, p, 0, 1, pm.path) < 0)
			bad = 1;
	}
	x = json_object_get(v, "headers");
	if (x) {
		char hp[PATH];
		path_key(hp, sizeof hp, path, "headers");
		if (!json_is_object(x)) {
			expected(c, hp, "an object of header conditions, like "
					"{\"x-canary\": {\"exact\": \"1\"}}",
				 x);
			bad = 1;
		} else if (json_object_size(x)) {
			size_t n = json_object_size(x);
			pm.hdr = zalloc(c, n, sizeof *pm.hdr);
			mt->hdr_any = zalloc(c, n, sizeof *mt->hdr_any);
			if (!pm.hdr || !mt->hdr_any)
				bad = 1;
			const char *name;
			json_t *y;
			json_object_foreach(x, name, y) {
				if (!pm.hdr || !mt->hdr_any)
					break;
				path_key(p, sizeof p, hp, name);
				if (!header_name_ok(name)) {
					errf(c, p, "expected a header name "
						   "(letters, digits and "
						   "!#$%%&'*+-.^_`|~), found "
						   "\"%s\"",
					     name);
					bad = 1;
					continue;
				}
				pcond *k = &pm.hdr[mt->nhdr];
				if (parse_cond(c, y, p, 1, 0, k) < 0) {
					bad = 1;
					continue;
				}
				mt->nhdr++;
				k->name = lower_dup(c, name);
				/* An exact value is interned even when no
				 * client sends it, so that its mask is never
				 * empty. */
				if (k->name && k->kind == SM_EXACT &&
				    intern_pair(c, p, name, k->value) < 0)
					bad = 1;
			}
		}
	}
	if (bad || c->oom) {
		pmatch_free(&pm);
		return;
	}
	if (!pm.path && !pm.hdr)
		return;
	if (c->npm == c->cappm) {
		size_t cap = c->cappm ? c->cappm * 2 : 8;
		pmatch *q = realloc(c->pm, cap * sizeof *q);
		if (!q) {
			c->oom = 1;
			pmatch_free(&pm);
			return;
		}
		c->pm = q;
		c->cappm = cap;
	}
	c->pm[c->npm++] = pm;
}

static int cond_holds(const pcond *k, const char *s)
{
	size_t ls = strlen(s), lv;
	switch (k->kind) {
	case SM_EXACT:
		return strcmp(s, k->value) == 0;
	case SM_PREFIX:
		return strncmp(s, k->value, strlen(k->value)) == 0;
	case SM_SUFFIX:
		lv = strlen(k->value);
		return ls >= lv && strcmp(s + ls - lv, k->value) == 0;
	case SM_REGEX:
		return regexec(&k->re, s, 0, NULL, 0) == 0;
	case SM_PRESENT:
		return 1;
	}
	return 0;
}

/* Once every route and header pair is interned: path conditions become
 * per-route tables and header conditions masks of pairs, so that a
 * sidecar matches a request with a few lookups and ANDs. */
static void resolve_matches(ctx *c)
{
	model *m = c->m;
	for (size_t i = 0; i < c->npm; i++) {
		pmatch *pm = &c->pm[i];
		model_match *mt = pm->mt;
		if (pm->path) {
			mt->route_ok = zalloc(c, m->nroutes, 1);
			if (!mt->route_ok)
				return;
			for (uint32_t r = 0; r < m->nroutes; r++)
				mt->route_ok[r] =
					m->routes[r].service == pm->service &&
					cond_holds(pm->path, m->routes[r].path);
		}
		for (uint32_t k = 0; k < mt->nhdr; k++) {
			const pcond *h = &pm->hdr[k];
			uint64_t mask = 0;
			for (uint32_t j = 0; j < m->nheaders; j++)
				if (strcmp(m->headers[j].name, h->name) == 0 &&
				    cond_holds(h, m->headers[j].value))
					mask |= (uint64_t)1 << j;
			mt->hdr_any[k] = mask;
		}
	}
}

/* ---- load ---- */

static void parse_rps(ctx *c, const json_t *v, const char *path,
		      model_client *cl, mesh_time duration)
{
	if (json_is_number(v)) {
		double r = json_number_value(v);
		if (r < 0 || r > 1e8) {
			expected(c, path, "a rate from 0 to 1e8 per second", v);
			return;
		}
		cl->phases = zalloc(c, 1, sizeof *cl->phases);
		if (!cl->phases)
			return;
		cl->phases[0].at = 0;
		cl->phases[0].rps = r;
		cl->nphases = 1;
		return;
	}
	if (!json_is_array(v) || json_array_size(v) == 0) {
		expected(c, path,
			 "a rate per second, or phases like [{\"at\": \"0s\", "
			 "\"value\": 100}, ...]",
			 v);
		return;
	}
	size_t n = json_array_size(v);
	cl->phases = zalloc(c, n, sizeof *cl->phases);
	if (!cl->phases)
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(v, i);
		char p[PATH];
		path_idx(p, sizeof p, path, i);
		if (!json_is_object(x)) {
			expected(c, p, "a phase like {\"at\": \"30s\", "
				       "\"value\": 900}",
				 x);
			continue;
		}
		static const char *const keys[] = {"at", "value", NULL};
		check_keys(c, x, p, keys);
		mesh_time at;
		double r;
		int r1 = get_duration(c, x, "at", p, &at);
		int r2 = get_number(c, x, "value", p, 0, 1e8, &r);
		if (r1 == 0 || r2 == 0)
			errf(c, p, "expected both \"at\" and \"value\", found "
				   "%s missing",
			     r1 == 0 ? "\"at\"" : "\"value\"");
		if (r1 != 1 || r2 != 1)
			continue;
		if (cl->nphases && at <= cl->phases[cl->nphases - 1].at) {
			char q[PATH];
			path_key(q, sizeof q, p, "at");
			expected(c, q, "a time later than the previous phase's",
				 json_object_get(x, "at"));
			continue;
		}
		if (at >= duration && duration) {
			char q[PATH];
			path_key(q, sizeof q, p, "at");
			expected(c, q, "a time before the scenario's duration",
				 json_object_get(x, "at"));
			continue;
		}
		cl->phases[cl->nphases].at = at;
		cl->phases[cl->nphases].rps = r;
		cl->nphases++;
	}
}

/* A client's "method", "headers" and "user_ids". */
static void parse_client_headers(ctx *c, const json_t *v, const char *path,
				 model_client *cl)
{
	char p[PATH];
	json_t *x = json_object_get(v, "method");
	if (x) {
		path_key(p, sizeof p, path, "method");
		int k = json_is_string(x) ? method_index(json_string_value(x))
					  : -1;
		if (k < 0)
			expected(c, p, methods_what, x);
		else
			cl->method = (uint8_t)k;
	}
	x = json_object_get(v, "headers");
	if (x) {
		path_key(p, sizeof p, path, "headers");
		if (!json_is_object(x)) {
			expected(c, p, "an object of header values, like "
				       "{\"x-canary\": \"1\"}",
				 x);
		} else {
			const char *name;
			json_t *y;
			json_object_foreach(x, name, y) {
				char q[PATH];
				path_key(q, sizeof q, p, name);
				if (!header_name_ok(name)) {
					errf(c, q, "expected a header name "
						   "(letters, digits and "
						   "!#$%%&'*+-.^_`|~), found "
						   "\"%s\"",
					     name);
					continue;
				}
				if (!json_is_string(y)) {
					expected(c, q, "a string value", y);
					continue;
				}
				int i = intern_pair(c, q, name,
						    json_string_value(y));
				if (i >= 0)
					cl->headers |= (uint64_t)1 << i;
			}
		}
	}
	x = json_object_get(v, "user_ids");
	if (x) {
		path_key(p, sizeof p, path, "user_ids");
		if (!json_is_object(x)) {
			expected(c, p, "an object like {\"header\": "
				       "\"x-user-id\", \"count\": 1000}",
				 x);
			return;
		}
		static const char *const keys[] = {"header", "count", NULL};
		check_keys(c, x, p, keys);
		const char *h;
		uint64_t n;
		int r1 = get_header_name(c, x, "header", p, &h);
		/* Ids travel in 24 bits of a message (see client.c). */
		int r2 = get_uint(c, x, "count", p, 1, 1u << 24, &n);
		if (r1 == 0 || r2 == 0)
			errf(c, p, "expected both \"header\" and \"count\", "
				   "found %s missing",
			     r1 == 0 ? "\"header\"" : "\"count\"");
		if (r1 != 1 || r2 != 1)
			return;
		int i = intern_name(c, h);
		if (i >= 0) {
			cl->user_header = (uint32_t)i;
			cl->user_count = (uint32_t)n;
		}
	}
}

static void parse_client(ctx *c, const json_t *v, const char *path,
			 model_client *cl, uint32_t index,
			 const dist *default_sidecar, mesh_time duration)
{
	static const char *const keys[] = {
		"name",    "to",       "path",          "arrival",
		"rps",     "users",    "think",         "timeout",
		"max_in_flight", "request_size", "sidecar", "description",
		"method",  "headers",  "user_ids",      "principal", NULL};
	char p[PATH], nm[64];
	cl->sidecar_latency = *default_sidecar;
	cl->method = METHOD_GET;
	cl->user_header = MODEL_NONE;
	cl->timeout = MESH_NEVER;
	cl->max_in_flight = MODEL_UNLIMITED;
	cl->arrival = ARRIVAL_POISSON;
	dist_constant(&cl->think, 0);
	snprintf(nm, sizeof nm, "load%u", index);
	cl->name = dup(c, nm);
	if (!json_is_object(v)) {
		expected(c, path, "a load client object", v);
		return;
	}
	check_keys(c, v, path, keys);
	const char *s;
	if (get_string(c, v, "name", path, &s) == 1) {
		free(cl->name);
		cl->name = dup(c, s);
	}
	const char *to = NULL, *rpath = "/";
	int r = get_string(c, v, "to", path, &to);
	int rp = get_string(c, v, "path", path, &rpath);
	if (rp == 1 && rpath[0] != '/') {
		path_key(p, sizeof p, path, "path");
		errf(c, p, "expected a path starting with \"/\", found \"%s\"",
		     rpath);
		rp = -1;
	}
	if (r == 0) {
		path_key(p, sizeof p, path, "to");
		errf(c, p, "expected the name of the service to load, found "
			   "nothing");
	} else if (r == 1) {
		int si = service_index(c->m, to);
		path_key(p, sizeof p, path, "to");
		if (si < 0) {
			errf(c, p, "expected the name of a service in "
				   "\"services\", found \"%s\", which is not "
				   "defined",
			     to);
		} else if (rp >= 0) {
			int ri = model_route_intern(c->m, (uint32_t)si, rpath);
			if (ri < 0)
				c->oom = 1;
			else
				cl->route = (uint32_t)ri;
		}
	}
	json_t *rps = json_object_get(v, "rps");
	json_t *users = json_object_get(v, "users");
	if (rps && users) {
		errf(c, path, "expected either \"rps\" (open loop) or "
			      "\"users\" (closed loop), found both");
	} else if (!rps && !users) {
		errf(c, path, "expected \"rps\" (open loop) or \"users\" "
			      "(closed loop), found neither");
	} else if (rps) {
		cl->kind = CLIENT_OPEN;
		path_key(p, sizeof p, path, "rps");
		parse_rps(c, rps, p, cl, duration);
		const char *arr;
		if (get_string(c, v, "arrival", path, &arr) == 1) {
			path_key(p, sizeof p, path, "arrival");
			if (strcmp(arr, "poisson") == 0)
				cl->arrival = ARRIVAL_POISSON;
			else if (strcmp(arr, "constant") == 0)
				cl->arrival = ARRIVAL_CONSTANT;
			else
				expected(c, p, "\"poisson\" or \"constant\"",
					 json_object_get(v, "arrival"));
		}
		if (json_object_get(v, "think")) {
			path_key(p, sizeof p, path, "think");
			errf(c, p, "expected no think time for an open-loop "
				   "client (\"rps\"); think applies to "
				   "\"users\"");
		}
	} else {
		cl->kind = CLIENT_CLOSED;
		uint64_t u;
		if (get_uint(c, v, "users", path, 1, 10000000, &u) == 1)
			cl->users = (uint32_t)u;
		get_dist(c, v, "think", path, &cl->think);
		if (json_object_get(v, "arrival")) {
			path_key(p, sizeof p, path, "arrival");
			errf(c, p, "expected no arrival process for a "
				   "closed-loop client (\"users\"); arrivals "
				   "apply to \"rps\"");
		}
	}
	mesh_time t;
	if (get_duration(c, v, "timeout", path, &t) == 1) {
		if (t == 0) {
			path_key(p, sizeof p, path, "timeout");
			expected(c, p, "a duration above zero",
				 json_object_get(v, "timeout"));
		} else {
			cl->timeout = t;
		}
	}
	uint64_t x;
	if (get_uint(c, v, "max_in_flight", path, 1, 100000000, &x) == 1)
		cl->max_in_flight = (uint32_t)x;
	get_uint(c, v, "request_size", path, 0, UINT64_MAX,
		 &cl->request_size);
	json_t *desc = json_object_get(v, "description");
	if (desc && !json_is_string(desc)) {
		path_key(p, sizeof p, path, "description");
		expected(c, p, "a string", desc);
	}
	parse_sidecar(c, v, path, &cl->sidecar_latency);
	parse_client_headers(c, v, path, cl);
	parse_client_principal(c, v, path, cl);
}

/* ---- mesh policies ---- */

/* A duration above zero, or "none" (MESH_NEVER). Returns 1 and sets *out,
 * 0 when absent, -1 when bad (reported). */
static int get_timeout(ctx *c, const json_t *obj, const char *key,
		       const char *path, mesh_time *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	char p[PATH];
	path_key(p, sizeof p, path, key);
	mesh_time t;
	if (json_is_string(v) && strcmp(json_string_value(v), "none") == 0) {
		*out = MESH_NEVER;
		return 1;
	}
	if (!json_is_string(v) || scn_parse_duration(json_string_value(v), &t) < 0 ||
	    t == 0) {
		expected(c, p, "a duration above zero, like \"2s\", or \"none\"",
			 v);
		return -1;
	}
	*out = t;
	return 1;
}

/* A duration above zero. Same returns as get_duration. */
static int get_positive_duration(ctx *c, const json_t *obj, const char *key,
				 const char *path, mesh_time *out)
{
	mesh_time t;
	int r = get_duration(c, obj, key, path, &t);
	if (r == 1 && t == 0) {
		char p[PATH];
		path_key(p, sizeof p, path, key);
		expected(c, p, "a duration above zero",
			 json_object_get(obj, key));
		return -1;
	}
	if (r == 1)
		*out = t;
	return r;
}

static int get_bool(ctx *c, const json_t *obj, const char *key,
		    const char *path, int *out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	if (!json_is_boolean(v)) {
		char p[PATH];
		path_key(p, sizeof p, path, key);
		expected(c, p, "true or false", v);
		return -1;
	}
	*out = json_is_true(v);
	return 1;
}

static int get_u32(ctx *c, const json_t *obj, const char *key,
		   const char *path, uint32_t min, uint32_t *out)
{
	uint64_t x;
	int r = get_uint(c, obj, key, path, min, UINT32_MAX, &x);
	if (r == 1)
		*out = (uint32_t)x;
	return r;
}

/* The x-envoy-retry-on conditions the model knows (HTTP ones, no gRPC). */
static const struct {
	const char *name;
	uint32_t bit;
} retry_ons[] = {
	{"5xx", RETRY_5XX},
	{"gateway-error", RETRY_GATEWAY_ERROR},
	{"reset", RETRY_RESET},
	{"connect-failure", RETRY_CONNECT_FAILURE},
	{"retriable-4xx", RETRY_RETRIABLE_4XX},
	{"refused-stream", RETRY_REFUSED_STREAM},
	{"retriable-status-codes", RETRY_RETRIABLE_STATUS},
};
#define NRETRY_ONS (sizeof retry_ons / sizeof retry_ons[0])

static const char retry_on_what[] =
	"a retry condition (5xx, gateway-error, reset, connect-failure, "
	"retriable-4xx, refused-stream, retriable-status-codes) or a status "
	"code from 100 to 599";

/* One status code for "on"; duplicates are kept once. */
static int add_status(ctx *c, const char *path, long long code,
		      model_retry *r)
{
	if (code < 100 || code > 599) {
		errf(c, path, "expected %s, found %lld", retry_on_what, code);
		return -1;
	}
	for (uint32_t i = 0; i < r->nstatuses; i++)
		if (r->statuses[i] == code)
			return 0;
	if (r->nstatuses == sizeof r->statuses / sizeof r->statuses[0]) {
		errf(c, path, "expected at most %zu retriable status codes, "
			      "found more",
		     sizeof r->statuses / sizeof r->statuses[0]);
		return -1;
	}
	r->statuses[r->nstatuses++] = (uint16_t)code;
	r->on |= RETRY_RETRIABLE_STATUS;
	return 0;
}

/* One token of "on": a condition name, or a status code in digits (as
 * Istio's retryOn takes "503" beside the names). */
static int add_on_token(ctx *c, const char *path, const char *tok,
			model_retry *r)
{
	for (size_t i = 0; i < NRETRY_ONS; i++)
		if (strcmp(retry_ons[i].name, tok) == 0) {
			r->on |= retry_ons[i].bit;
			return 0;
		}
	size_t n = strlen(tok);
	if (n >= 1 && n <= 3 && strspn(tok, "0123456789") == n)
		return add_status(c, path, atoll(tok), r);
	errf(c, path, "expected %s, found \"%s\"", retry_on_what, tok);
	return -1;
}

/* "on": ["5xx", 503] or "5xx,503". Replaces the conditions and statuses
 * that r held (from the preset) when valid. */
static void parse_retry_on(ctx *c, const json_t *v, const char *path,
			   model_retry *r)
{
	model_retry t = *r;
	t.on = 0;
	t.nstatuses = 0;
	int bad = 0, named_status = 0;
	if (json_is_string(v)) {
		const char *s = json_string_value(v);
		char tok[64];
		for (;;) {
			const char *e = strchr(s, ',');
			size_t n = e ? (size_t)(e - s) : strlen(s);
			while (n && isspace((unsigned char)*s))
				s++, n--;
			while (n && isspace((unsigned char)s[n - 1]))
				n--;
			if (n == 0 || n >= sizeof tok) {
				expected(c, path, "a comma-separated list of "
						  "retry conditions, like "
						  "\"5xx,reset\"",
					 v);
				bad = 1;
				break;
			}
			memcpy(tok, s, n);
			tok[n] = '\0';
			if (strcmp(tok, "retriable-status-codes") == 0)
				named_status = 1;
			if (add_on_token(c, path, tok, &t) < 0)
				bad = 1;
			if (!e)
				break;
			s = e + 1;
		}
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *x = json_array_get(v, i);
			char p[PATH];
			path_idx(p, sizeof p, path, i);
			if (json_is_integer(x)) {
				if (add_status(c, p, json_integer_value(x), &t) < 0)
					bad = 1;
			} else if (json_is_string(x)) {
				if (strcmp(json_string_value(x),
					   "retriable-status-codes") == 0)
					named_status = 1;
				if (add_on_token(c, p, json_string_value(x),
						 &t) < 0)
					bad = 1;
			} else {
				expected(c, p, retry_on_what, x);
				bad = 1;
			}
		}
	} else {
		expected(c, path, "a list of retry conditions, like [\"5xx\", "
				  "503], or a string like \"5xx,503\"",
			 v);
		return;
	}
	if (bad)
		return;
	if (named_status && t.nstatuses == 0) {
		errf(c, path, "expected status codes beside "
			      "\"retriable-status-codes\", like "
			      "[\"retriable-status-codes\", 503], found none");
		return;
	}
	*r = t;
}

/* "budget": "none", Envoy's retry_budget {"percent", "min_concurrency"} or
 * Linkerd's {"ratio", "min_per_second", "ttl"}. */
static void parse_budget(ctx *c, const json_t *v, const char *path,
			 model_retry *r)
{
	static const char *const keys[] = {"percent", "min_concurrency",
					   "ratio",   "min_per_second",
					   "ttl",     NULL};
	static const char *const envoy[] = {"percent", "min_concurrency",
					    NULL};
	static const char what[] =
		"\"none\", an Envoy budget {\"percent\": 20, "
		"\"min_concurrency\": 3} or a Linkerd budget {\"ratio\": 0.2, "
		"\"min_per_second\": 10, \"ttl\": \"10s\"}";
	if (json_is_string(v) && strcmp(json_string_value(v), "none") == 0) {
		r->budget = BUDGET_NONE;
		return;
	}
	if (!json_is_object(v)) {
		expected(c, path, what, v);
		return;
	}
	check_keys(c, v, path, keys);
	int ne = 0, nl = 0;
	const char *key;
	json_t *x;
	json_object_foreach((json_t *)v, key, x) {
		if (!in_list(keys, key))
			continue;
		if (in_list(envoy, key))
			ne++;
		else
			nl++;
	}
	if (ne && nl) {
		errf(c, path, "expected either an Envoy budget (\"percent\", "
			      "\"min_concurrency\") or a Linkerd budget "
			      "(\"ratio\", \"min_per_second\", \"ttl\"), found "
			      "keys of both");
		return;
	}
	if (!ne && !nl) {
		expected(c, path, what, v);
		return;
	}
	int bad = 0;
	if (ne) {
		/* Envoy's defaults: 20% of active requests, at least 3. */
		double pct = 20.0;
		uint32_t minc = 3;
		bad |= get_number(c, v, "percent", path, 0, 100, &pct) < 0;
		bad |= get_u32(c, v, "min_concurrency", path, 0, &minc) < 0;
		if (bad)
			return;
		r->budget = BUDGET_ENVOY;
		r->budget_percent = pct;
		r->min_concurrency = minc;
	} else {
		/* Linkerd's defaults: retryRatio 0.2, minRetriesPerSecond
		 * 10, ttl 10s. */
		double ratio = 0.2, mps = 10.0;
		mesh_time ttl = 10 * MESH_S;
		bad |= get_number(c, v, "ratio", path, 0, 10, &ratio) < 0;
		bad |= get_number(c, v, "min_per_second", path, 0, 1e9, &mps) < 0;
		bad |= get_positive_duration(c, v, "ttl", path, &ttl) < 0;
		if (bad)
			return;
		r->budget = BUDGET_LINKERD;
		r->ratio = ratio;
		r->min_per_second = mps;
		r->ttl = ttl;
	}
}

/* RETRY: the keys given override r (the preset's, or the service's for a
 * route rule). Returns 0, or -1 (reported). */
static int parse_retry(ctx *c, const json_t *v, const char *path,
		       model_retry *r)
{
	static const char *const keys[] = {"attempts", "per_try_timeout", "on",
					   "backoff",  "other_host",
					   "budget",   NULL};
	if (!json_is_object(v)) {
		expected(c, path, "a retry policy, like {\"attempts\": 2, "
				  "\"on\": \"5xx\"}",
			 v);
		return -1;
	}
	size_t before = c->nerr;
	check_keys(c, v, path, keys);
	/* A retry policy without "attempts" retries once, as Envoy's
	 * num_retries defaults to 1, unless the preset already allows more. */
	if (!json_object_get(v, "attempts") && r->attempts == 0)
		r->attempts = 1;
	get_u32(c, v, "attempts", path, 0, &r->attempts);
	get_timeout(c, v, "per_try_timeout", path, &r->per_try_timeout);
	char p[PATH];
	json_t *x = json_object_get(v, "on");
	if (x) {
		path_key(p, sizeof p, path, "on");
		parse_retry_on(c, x, p, r);
	}
	x = json_object_get(v, "backoff");
	if (x) {
		path_key(p, sizeof p, path, "backoff");
		if (!json_is_object(x)) {
			expected(c, p, "an object like {\"base\": \"25ms\", "
				       "\"max\": \"250ms\"}",
				 x);
		} else {
			static const char *const bk[] = {"base", "max", NULL};
			check_keys(c, x, p, bk);
			mesh_time base = r->backoff_base, max = r->backoff_max;
			int rb = get_positive_duration(c, x, "base", p, &base);
			int rm = get_duration(c, x, "max", p, &max);
			/* As Envoy: max_interval defaults to 10 times the
			 * base interval. */
			if (rb == 1 && rm == 0)
				max = base > MESH_NEVER / 10 ? MESH_NEVER
							     : 10 * base;
			if (rb >= 0 && rm >= 0 && max < base) {
				char q[PATH];
				path_key(q, sizeof q, p, "max");
				char what[100], b[40];
				mesh_format_duration(base, b, sizeof b);
				snprintf(what, sizeof what,
					 "a duration >= the base (%s)", b);
				expected(c, q, what, json_object_get(x, "max"));
			} else if (rb >= 0 && rm >= 0) {
				r->backoff_base = base;
				r->backoff_max = max;
			}
		}
	}
	get_bool(c, v, "other_host", path, &r->other_host);
	x = json_object_get(v, "budget");
	if (x) {
		path_key(p, sizeof p, path, "budget");
		parse_budget(c, x, p, r);
	}
	return c->nerr == before ? 0 : -1;
}

static const struct {
	const char *name;
	enum model_lb lb;
} lbs[] = {
	{"round_robin", LB_ROUND_ROBIN},     {"random", LB_RANDOM},
	{"least_request", LB_LEAST_REQUEST}, {"peak_ewma", LB_PEAK_EWMA},
	{"ring_hash", LB_RING_HASH},
};
static const char lb_what[] =
	"\"round_robin\", \"random\", \"least_request\", \"peak_ewma\" or "
	"\"ring_hash\"";

static int lb_index(const json_t *v)
{
	if (!json_is_string(v))
		return -1;
	for (size_t i = 0; i < sizeof lbs / sizeof lbs[0]; i++)
		if (strcmp(lbs[i].name, json_string_value(v)) == 0)
			return (int)i;
	return -1;
}

/* "lb": a policy name or {"policy", "choice_count", "header"}. */
static void parse_lb(ctx *c, const json_t *v, const char *path,
		     model_policy *pol)
{
	char p[PATH];
	if (json_is_string(v)) {
		int k = lb_index(v);
		if (k < 0) {
			expected(c, path, lb_what, v);
			return;
		}
		if (lbs[k].lb == LB_RING_HASH) {
			errf(c, path, "expected {\"policy\": \"ring_hash\", "
				      "\"header\": \"<name>\"}, found "
				      "\"ring_hash\" alone (ring hashing needs "
				      "the header whose value it hashes)");
			return;
		}
		pol->lb = lbs[k].lb;
		pol->choice_count = 2;
		pol->ring_header = MODEL_NONE;
		return;
	}
	if (!json_is_object(v)) {
		expected(c, path, "a balancer name or an object like "
				  "{\"policy\": \"least_request\", "
				  "\"choice_count\": 2}",
			 v);
		return;
	}
	static const char *const keys[] = {"policy", "choice_count", "header",
					   NULL};
	check_keys(c, v, path, keys);
	json_t *x = json_object_get(v, "policy");
	path_key(p, sizeof p, path, "policy");
	int k = lb_index(x);
	if (k < 0) {
		expected(c, p, lb_what, x);
		return;
	}
	int bad = 0;
	/* Envoy's least_request_lb_config.choice_count: 2 by default. */
	uint32_t choices = 2;
	if (json_object_get(v, "choice_count")) {
		if (lbs[k].lb != LB_LEAST_REQUEST) {
			path_key(p, sizeof p, path, "choice_count");
			errf(c, p, "expected no \"choice_count\" with \"%s\" "
				   "(it belongs to \"least_request\")",
			     lbs[k].name);
			bad = 1;
		} else if (get_u32(c, v, "choice_count", path, 2, &choices) < 0) {
			bad = 1;
		}
	}
	uint32_t header = MODEL_NONE;
	const char *h;
	int rh = get_header_name(c, v, "header", path, &h);
	if (rh < 0)
		bad = 1;
	if (rh == 1 && lbs[k].lb != LB_RING_HASH) {
		path_key(p, sizeof p, path, "header");
		errf(c, p, "expected no \"header\" with \"%s\" (it belongs to "
			   "\"ring_hash\")",
		     lbs[k].name);
		bad = 1;
	}
	if (rh == 0 && lbs[k].lb == LB_RING_HASH) {
		path_key(p, sizeof p, path, "header");
		errf(c, p, "expected the header whose value ring_hash hashes, "
			   "like \"x-user-id\", found nothing");
		bad = 1;
	}
	if (bad)
		return;
	if (rh == 1) {
		int i = intern_name(c, h);
		if (i < 0)
			return;
		header = (uint32_t)i;
	}
	pol->lb = lbs[k].lb;
	pol->choice_count = choices;
	pol->ring_header = header;
}

/* Envoy circuit_breakers thresholds; absent keys keep the preset's. */
static void parse_breaker(ctx *c, const json_t *v, const char *path,
			  model_breaker *b)
{
	static const char *const keys[] = {"max_connections", "max_pending",
					   "max_requests", "max_retries",
					   NULL};
	if (!json_is_object(v)) {
		expected(c, path, "an object like {\"max_connections\": 1024, "
				  "\"max_pending\": 1024, \"max_requests\": "
				  "1024, \"max_retries\": 3}",
			 v);
		return;
	}
	check_keys(c, v, path, keys);
	get_u32(c, v, "max_connections", path, 1, &b->max_connections);
	get_u32(c, v, "max_pending", path, 0, &b->max_pending);
	get_u32(c, v, "max_requests", path, 1, &b->max_requests);
	get_u32(c, v, "max_retries", path, 0, &b->max_retries);
}

/* Envoy outlier_detection: an object turns it on, with the preset's values
 * for keys not given; false turns it off. */
static void parse_outlier(ctx *c, const json_t *v, const char *path,
			  model_outlier *o)
{
	static const char *const keys[] = {
		"consecutive_5xx", "consecutive_gateway_errors", "interval",
		"base_ejection",   "max_ejection", "max_ejection_percent", NULL};
	if (json_is_false(v)) {
		o->enabled = 0;
		return;
	}
	if (!json_is_object(v)) {
		expected(c, path, "an object like {\"consecutive_5xx\": 5} ({} "
				  "for the defaults), or false",
			 v);
		return;
	}
	check_keys(c, v, path, keys);
	model_outlier t = *o;
	t.enabled = 1;
	int bad = 0;
	bad |= get_u32(c, v, "consecutive_5xx", path, 0, &t.consecutive_5xx) < 0;
	bad |= get_u32(c, v, "consecutive_gateway_errors", path, 0,
		       &t.consecutive_gateway) < 0;
	bad |= get_positive_duration(c, v, "interval", path, &t.interval) < 0;
	int rb = get_positive_duration(c, v, "base_ejection", path,
				       &t.base_ejection);
	int rm = get_positive_duration(c, v, "max_ejection", path,
				       &t.max_ejection);
	bad |= rb < 0 || rm < 0;
	bad |= get_number(c, v, "max_ejection_percent", path, 0, 100,
			  &t.max_ejection_percent) < 0;
	if (bad)
		return;
	if (t.max_ejection < t.base_ejection) {
		if (rm == 1) {
			char p[PATH];
			path_key(p, sizeof p, path, "max_ejection");
			expected(c, p, "a duration >= base_ejection",
				 json_object_get(v, "max_ejection"));
			return;
		}
		/* As Envoy: max_ejection_time is 300s or base_ejection_time,
		 * whichever is larger. */
		t.max_ejection = t.base_ejection;
	}
	*o = t;
}

/* "split" (or "route"): {"<version>": weight, ...}. */
static void parse_split(ctx *c, const json_t *v, const char *path,
			const model_service *s, model_rule *rule)
{
	if (!json_is_object(v) || json_object_size(v) == 0) {
		expected(c, path, "a non-empty object of version weights, like "
				  "{\"v1\": 90, \"v2\": 10}",
			 v);
		return;
	}
	/* A service whose definition is broken has no versions to name;
	 * its own error says so. */
	if (s->nversions == 0)
		return;
	rule->splits = zalloc(c, json_object_size(v), sizeof *rule->splits);
	if (!rule->splits)
		return;
	double total = 0;
	int bad = 0;
	const char *name;
	json_t *x;
	json_object_foreach((json_t *)v, name, x) {
		char p[PATH];
		path_key(p, sizeof p, path, name);
		uint32_t k;
		for (k = 0; k < s->nversions; k++)
			if (s->versions[k].name &&
			    strcmp(s->versions[k].name, name) == 0)
				break;
		if (k == s->nversions) {
			char list[300] = "";
			for (uint32_t j = 0; j < s->nversions; j++) {
				size_t l = strlen(list);
				snprintf(list + l, sizeof list - l, "%s\"%s\"",
					 j ? ", " : "",
					 s->versions[j].name
						 ? s->versions[j].name
						 : "?");
			}
			errf(c, p, "expected a version of %s (%s), found "
				   "\"%s\", which is not defined",
			     s->name, list, name);
			bad = 1;
			continue;
		}
		if (!json_is_number(x) || json_number_value(x) < 0 ||
		    isnan(json_number_value(x)) || json_number_value(x) > 1e9) {
			expected(c, p, "a weight from 0 to 1e9", x);
			bad = 1;
			continue;
		}
		total += json_number_value(x);
		rule->splits[rule->nsplits].version = k;
		rule->splits[rule->nsplits].weight = json_number_value(x);
		rule->nsplits++;
	}
	if (!bad && total <= 0)
		errf(c, path, "expected weights that add up to more than 0, "
			      "found 0");
}

/* RULE: an Istio VirtualService http[] entry. */
static void parse_rule(ctx *c, const json_t *v, const char *path,
		       uint32_t si, model_rule *rule)
{
	static const char *const keys[] = {"match", "split", "route",
					   "timeout", "retries", NULL};
	model_service *s = &c->m->services[si];
	if (!json_is_object(v)) {
		expected(c, path, "a route rule, like {\"match\": {\"headers\": "
				  "{\"x-canary\": {\"exact\": \"1\"}}}, "
				  "\"split\": {\"v2\": 100}}",
			 v);
		return;
	}
	check_keys(c, v, path, keys);
	char p[PATH];
	json_t *m = json_object_get(v, "match");
	if (m) {
		path_key(p, sizeof p, path, "match");
		if (json_is_array(m)) {
			size_t n = json_array_size(m);
			rule->matches = zalloc(c, n, sizeof *rule->matches);
			if (rule->matches) {
				rule->nmatches = (uint32_t)n;
				for (size_t k = 0; k < n; k++) {
					char q[PATH];
					path_idx(q, sizeof q, p, k);
					parse_match(c, json_array_get(m, k), q, si,
						    1, &rule->matches[k]);
				}
			}
		} else {
			rule->matches = zalloc(c, 1, sizeof *rule->matches);
			if (rule->matches) {
				rule->nmatches = 1;
				parse_match(c, m, p, si, 1, &rule->matches[0]);
			}
		}
	}
	json_t *split = json_object_get(v, "split");
	json_t *route = json_object_get(v, "route");
	if (split && route) {
		errf(c, path, "expected either \"split\" or \"route\" (the same "
			      "thing), found both");
	} else if (split || route) {
		path_key(p, sizeof p, path, split ? "split" : "route");
		parse_split(c, split ? split : route, p, s, rule);
	} else {
		/* No split: every version, in proportion to its replicas,
		 * as plain Kubernetes Service load balancing would. */
		rule->splits = zalloc(c, s->nversions, sizeof *rule->splits);
		if (rule->splits) {
			for (uint32_t k = 0; k < s->nversions; k++) {
				rule->splits[k].version = k;
				rule->splits[k].weight = s->versions[k].replicas;
			}
			rule->nsplits = s->nversions;
		}
	}
	if (get_timeout(c, v, "timeout", path, &rule->timeout) == 1)
		rule->has_timeout = 1;
	json_t *r = json_object_get(v, "retries");
	if (r) {
		/* A rule's retries start from the service's policy. */
		rule->retry = s->policy.retry;
		path_key(p, sizeof p, path, "retries");
		if (parse_retry(c, r, p, &rule->retry) == 0)
			rule->has_retry = 1;
	}
}

/* POLICY: mesh.<service>. Keys absent keep the preset's values. */
static void parse_policy(ctx *c, const json_t *v, const char *path,
			 uint32_t si)
{
	static const char *const keys[] = {
		"timeout", "connect_timeout", "retries",         "lb",
		"circuit_breaker", "outlier", "panic_threshold", "routes",
		NULL};
	model_policy *pol = &c->m->services[si].policy;
	if (!json_is_object(v)) {
		expected(c, path, "a policy object, like {\"timeout\": \"2s\", "
				  "\"retries\": {\"attempts\": 2}}",
			 v);
		return;
	}
	check_keys(c, v, path, keys);
	char p[PATH];
	get_timeout(c, v, "timeout", path, &pol->timeout);
	get_positive_duration(c, v, "connect_timeout", path,
			      &pol->connect_timeout);
	json_t *x = json_object_get(v, "retries");
	if (x) {
		path_key(p, sizeof p, path, "retries");
		model_retry r = pol->retry;
		if (parse_retry(c, x, p, &r) == 0)
			pol->retry = r;
	}
	if ((x = json_object_get(v, "lb"))) {
		path_key(p, sizeof p, path, "lb");
		parse_lb(c, x, p, pol);
	}
	if ((x = json_object_get(v, "circuit_breaker"))) {
		path_key(p, sizeof p, path, "circuit_breaker");
		parse_breaker(c, x, p, &pol->breaker);
	}
	if ((x = json_object_get(v, "outlier"))) {
		path_key(p, sizeof p, path, "outlier");
		parse_outlier(c, x, p, &pol->outlier);
	}
	get_number(c, v, "panic_threshold", path, 0, 100, &pol->panic_threshold);
	if ((x = json_object_get(v, "routes"))) {
		path_key(p, sizeof p, path, "routes");
		if (!json_is_array(x)) {
			expected(c, p, "an array of route rules", x);
			return;
		}
		size_t n = json_array_size(x);
		pol->rules = zalloc(c, n, sizeof *pol->rules);
		if (!pol->rules)
			return;
		pol->nrules = (uint32_t)n;
		for (size_t k = 0; k < n; k++) {
			char q[PATH];
			path_idx(q, sizeof q, p, k);
			parse_rule(c, json_array_get(x, k), q, si,
				   &pol->rules[k]);
		}
	}
}

static void parse_mesh(ctx *c, const json_t *v)
{
	if (!json_is_object(v)) {
		expected(c, "mesh", "an object of policies keyed by service "
				    "name, like {\"catalog\": {\"timeout\": "
				    "\"2s\"}}",
			 v);
		return;
	}
	const char *name;
	json_t *x;
	json_object_foreach((json_t *)v, name, x) {
		char p[PATH];
		path_key(p, sizeof p, "mesh", name);
		int si = service_index(c->m, name);
		if (si < 0) {
			errf(c, p, "expected the name of a service in "
				   "\"services\", found \"%s\", which is not "
				   "defined",
			     name);
			continue;
		}
		parse_policy(c, x, p, (uint32_t)si);
	}
}

/* ---- authorization policies ---- */

/* Keys Istio's AuthorizationPolicy has that meshsim does not model: named
 * as such, rather than as typos. */
static const char *const authz_unmodelled[] = {
	"when", "provider", "targetRef", "targetRefs", "requestPrincipals",
	"notRequestPrincipals", "ipBlocks", "notIpBlocks", "remoteIpBlocks",
	"notRemoteIpBlocks", "serviceAccounts", "notServiceAccounts", "hosts",
	"notHosts", "ports", "notPorts", NULL};

static void check_authz_keys(ctx *c, const json_t *obj, const char *path,
			     const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		if (in_list(allowed, key))
			continue;
		if (in_list(authz_unmodelled, key)) {
			char p[PATH], list[300] = "";
			path_key(p, sizeof p, path, key);
			for (const char *const *a = allowed; *a; a++) {
				size_t l = strlen(list);
				snprintf(list + l, sizeof list - l, "%s%s",
					 a == allowed ? "" : ", ", *a);
			}
			errf(c, p, "\"%s\" is Istio's, but meshsim does not model "
				   "it; expected one of: %s",
			     key, list);
			continue;
		}
		check_key(c, key, path, allowed);
	}
}

/* What a string of a rule may be: Istio's exact, prefix ("abc*"), suffix
 * ("*abc") or presence ("*") match. A '*' elsewhere would be taken
 * literally by Istio, which is never what was meant. */
static int pattern_ok(const char *s)
{
	size_t n = strlen(s);
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (s[i] == '*' && i != 0 && i != n - 1)
			return 0;
	return n == 1 || !(s[0] == '*' && s[n - 1] == '*');
}

static const char pattern_what[] =
	"exact (\"abc\"), prefix (\"abc*\"), suffix (\"*abc\") or presence "
	"(\"*\")";

enum authz_field { AF_PRINCIPAL, AF_NAMESPACE, AF_PATH };

/* One list of strings of a source or an operation, into l. An absent or
 * empty list is "not given". */
static void parse_authz_strs(ctx *c, const json_t *obj, const char *key,
			     const char *path, enum authz_field f, authz_strs *l)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return;
	char p[PATH], q[PATH], what[300];
	path_key(p, sizeof p, path, key);
	if (!json_is_array(v)) {
		snprintf(what, sizeof what, "a list of strings, like [\"%s\"]",
			 f == AF_PRINCIPAL ? "cluster.local/ns/default/sa/frontend"
			 : f == AF_NAMESPACE ? "default" : "/api/*");
		expected(c, p, what, v);
		return;
	}
	size_t n = json_array_size(v);
	if (!n)
		return;
	l->v = zalloc(c, n, sizeof *l->v);
	if (!l->v)
		return;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(v, i);
		path_idx(q, sizeof q, p, i);
		const char *s = json_is_string(x) ? json_string_value(x) : NULL;
		if (!s || !pattern_ok(s)) {
			snprintf(what, sizeof what, "a non-empty %s, %s",
				 f == AF_PRINCIPAL ? "principal"
				 : f == AF_NAMESPACE ? "namespace" : "path",
				 pattern_what);
			expected(c, q, what, x);
			continue;
		}
		if (f == AF_PRINCIPAL && strncmp(s, "spiffe://", 9) == 0) {
			errf(c, q, "expected a principal without the spiffe:// "
				   "prefix (Istio writes them as \"cluster.local/"
				   "ns/<namespace>/sa/<service account>\"), found "
				   "\"%s\"",
			     s);
			continue;
		}
		if (f == AF_PATH && s[0] != '/' && s[0] != '*') {
			errf(c, q, "expected a path starting with \"/\" (or a "
				   "suffix match like \"*.png\"), found \"%s\"",
			     s);
			continue;
		}
		if (f == AF_PATH && strpbrk(s, "?#{}")) {
			errf(c, q, "expected a path without a query, fragment or "
				   "template (Istio matches the path alone; path "
				   "templates {*} and {**} are not modelled), found "
				   "\"%s\"",
			     s);
			continue;
		}
		if (authz_str_init(&l->v[l->n], s) < 0) {
			c->oom = 1;
			return;
		}
		l->n++;
	}
}

/* methods or notMethods: each an HTTP method, or a pattern over them
 * ("P*" is POST, PUT and PATCH), resolved to a mask of the methods meshsim
 * sends. */
static void parse_authz_methods(ctx *c, const json_t *obj, const char *key,
				const char *path, uint32_t *mask, uint8_t *has)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return;
	char p[PATH], q[PATH];
	path_key(p, sizeof p, path, key);
	if (!json_is_array(v)) {
		expected(c, p, "a list of methods, like [\"GET\", \"HEAD\"]", v);
		return;
	}
	if (!json_array_size(v))
		return;
	*has = 1;
	for (size_t i = 0; i < json_array_size(v); i++) {
		json_t *x = json_array_get(v, i);
		path_idx(q, sizeof q, p, i);
		const char *s = json_is_string(x) ? json_string_value(x) : NULL;
		if (!s || !pattern_ok(s)) {
			expected(c, q, "an HTTP method like \"GET\", or a pattern "
				       "over methods like \"P*\"",
				 x);
			continue;
		}
		authz_str pat;
		if (authz_str_init(&pat, s) < 0) {
			c->oom = 1;
			return;
		}
		uint32_t b = 0;
		for (int k = 0; k < METHOD_COUNT; k++)
			if (authz_str_match(&pat, method_names[k]))
				b |= 1u << k;
		free(pat.text);
		if (!b) {
			char near[40] = "";
			for (int k = 0; k < METHOD_COUNT; k++) {
				char up[16];
				size_t j = 0;
				for (; s[j] && j + 1 < sizeof up; j++)
					up[j] = (char)toupper((unsigned char)s[j]);
				up[j] = '\0';
				if (strcmp(up, method_names[k]) == 0 ||
				    edit_distance(s, method_names[k]) <= 1)
					snprintf(near, sizeof near, " (did you mean "
								   "\"%s\"?)",
						 method_names[k]);
			}
			errf(c, q, "expected %s (methods are matched as written, "
				   "upper case), or a pattern matching one of "
				   "them, found \"%s\"%s",
			     methods_what, s, near);
			continue;
		}
		*mask |= b;
	}
}

static void parse_authz_source(ctx *c, const json_t *v, const char *path,
			       authz_source *s)
{
	static const char *const keys[] = {"principals", "notPrincipals",
					   "namespaces", "notNamespaces", NULL};
	if (!json_is_object(v)) {
		expected(c, path, "a source object, like {\"principals\": "
				  "[\"cluster.local/ns/default/sa/frontend\"]}",
			 v);
		return;
	}
	check_authz_keys(c, v, path, keys);
	parse_authz_strs(c, v, "principals", path, AF_PRINCIPAL, &s->principals);
	parse_authz_strs(c, v, "notPrincipals", path, AF_PRINCIPAL, &s->not_principals);
	parse_authz_strs(c, v, "namespaces", path, AF_NAMESPACE, &s->namespaces);
	parse_authz_strs(c, v, "notNamespaces", path, AF_NAMESPACE, &s->not_namespaces);
}

static void parse_authz_operation(ctx *c, const json_t *v, const char *path,
				  authz_operation *o)
{
	static const char *const keys[] = {"paths", "notPaths", "methods",
					   "notMethods", NULL};
	if (!json_is_object(v)) {
		expected(c, path, "an operation object, like {\"paths\": "
				  "[\"/api/*\"], \"methods\": [\"GET\"]}",
			 v);
		return;
	}
	check_authz_keys(c, v, path, keys);
	parse_authz_strs(c, v, "paths", path, AF_PATH, &o->paths);
	parse_authz_strs(c, v, "notPaths", path, AF_PATH, &o->not_paths);
	parse_authz_methods(c, v, "methods", path, &o->methods, &o->has_methods);
	parse_authz_methods(c, v, "notMethods", path, &o->not_methods,
			    &o->has_not_methods);
}

/* "from": [{"source": {...}}, ...] or "to": [{"operation": {...}}, ...].
 * An entry without its source or operation ({}) matches anything, as in
 * Istio. Returns the number of entries (filled into *out), 0 when absent
 * or empty. */
static uint32_t parse_authz_list(ctx *c, const json_t *rule, const char *key,
				 const char *path, void **out)
{
	int from = strcmp(key, "from") == 0;
	const char *inner = from ? "source" : "operation";
	json_t *v = json_object_get(rule, key);
	*out = NULL;
	if (!v)
		return 0;
	char p[PATH], q[PATH], r[PATH];
	path_key(p, sizeof p, path, key);
	if (!json_is_array(v)) {
		expected(c, p, from ? "a list like [{\"source\": {\"namespaces\": "
				      "[\"default\"]}}]"
				    : "a list like [{\"operation\": {\"paths\": "
				      "[\"/api/*\"]}}]",
			 v);
		return 0;
	}
	size_t n = json_array_size(v);
	if (!n)
		return 0;
	void *a = zalloc(c, n, from ? sizeof(authz_source) : sizeof(authz_operation));
	if (!a)
		return 0;
	for (size_t i = 0; i < n; i++) {
		json_t *x = json_array_get(v, i);
		path_idx(q, sizeof q, p, i);
		if (!json_is_object(x)) {
			char what[80];
			snprintf(what, sizeof what, "an object with \"%s\"", inner);
			expected(c, q, what, x);
			continue;
		}
		const char *const keys[] = {inner, NULL};
		check_keys(c, x, q, keys);
		json_t *y = json_object_get(x, inner);
		if (!y)
			continue;
		path_key(r, sizeof r, q, inner);
		if (from)
			parse_authz_source(c, y, r, &((authz_source *)a)[i]);
		else
			parse_authz_operation(c, y, r, &((authz_operation *)a)[i]);
	}
	*out = a;
	return (uint32_t)n;
}

static void parse_authz_rule(ctx *c, const json_t *v, const char *path,
			     authz_rule *r)
{
	static const char *const keys[] = {"from", "to", NULL};
	if (!json_is_object(v)) {
		expected(c, path, "a rule object with \"from\" and/or \"to\" ({} "
				  "matches every request)",
			 v);
		return;
	}
	check_authz_keys(c, v, path, keys);
	void *a;
	r->nfrom = parse_authz_list(c, v, "from", path, &a);
	r->from = a;
	r->nto = parse_authz_list(c, v, "to", path, &a);
	r->to = a;
}

/* Does namespace ns hold any service? Lists them for messages. */
static int namespace_known(const model *m, const char *ns, char *list,
			   size_t len)
{
	int found = 0;
	list[0] = '\0';
	for (uint32_t i = 0; i < m->nservices; i++) {
		const char *x = m->services[i].ns;
		if (!x)
			continue;
		if (strcmp(x, ns) == 0)
			found = 1;
		int seen = 0;
		for (uint32_t j = 0; j < i && !seen; j++)
			seen = m->services[j].ns && strcmp(m->services[j].ns, x) == 0;
		if (!seen) {
			size_t l = strlen(list);
			snprintf(list + l, len - l, "%s\"%s\"", l ? ", " : "", x);
		}
	}
	return found;
}

/* The nearest service name to `name`, for "did you mean". */
static const char *near_service(const model *m, const char *name)
{
	const char *best = NULL;
	size_t bd = 3;
	for (uint32_t i = 0; i < m->nservices; i++) {
		size_t d = edit_distance(name, m->services[i].name);
		if (d < bd) {
			bd = d;
			best = m->services[i].name;
		}
	}
	return best;
}

/* "selector": a service's name or a list of them (the workloads the
 * policy applies to; Istio selects them by label, meshsim by service).
 * With "namespace", every selected service must be in it; without a
 * selector the policy applies to every service of the namespace, or of
 * the mesh without one (a policy in Istio's root namespace). */
static void parse_authz_selector(ctx *c, const json_t *v, const char *path,
				 authz_policy *pol)
{
	const model *m = c->m;
	const char *ns = NULL;
	char p[PATH], q[PATH];
	json_t *nv = json_object_get(v, "namespace");
	if (get_string(c, v, "namespace", path, &ns) == 1) {
		char list[300];
		if (!namespace_known(m, ns, list, sizeof list)) {
			path_key(p, sizeof p, path, "namespace");
			errf(c, p, "expected the namespace of a service (%s), "
				   "found \"%s\", which no service is in",
			     list, ns);
			return;
		}
	} else if (nv) {
		return;
	}
	uint8_t *sel = zalloc(c, m->nservices, 1);
	if (!sel)
		return;
	json_t *s = json_object_get(v, "selector");
	if (!s) {
		for (uint32_t i = 0; i < m->nservices; i++)
			sel[i] = !ns || (m->services[i].ns && strcmp(m->services[i].ns, ns) == 0);
	} else {
		path_key(p, sizeof p, path, "selector");
		int list = json_is_array(s);
		if (!(json_is_string(s) || (list && json_array_size(s)))) {
			expected(c, p, "a service's name, or a non-empty list of "
				       "them, like \"catalog\" or [\"catalog\", "
				       "\"reviews\"]",
				 s);
			free(sel);
			return;
		}
		size_t n = list ? json_array_size(s) : 1;
		for (size_t i = 0; i < n; i++) {
			json_t *x = list ? json_array_get(s, i) : s;
			if (list)
				path_idx(q, sizeof q, p, i);
			else
				snprintf(q, sizeof q, "%s", p);
			int si = json_is_string(x) ? service_index(m, json_string_value(x)) : -1;
			if (!json_is_string(x)) {
				expected(c, q, "the name of a service in \"services\"", x);
				continue;
			}
			if (si < 0) {
				const char *near = near_service(m, json_string_value(x));
				char hint[120] = "";
				if (near)
					snprintf(hint, sizeof hint, " (did you mean \"%s\"?)", near);
				errf(c, q, "expected the name of a service in \"services\", "
					   "found \"%s\", which is not defined%s",
				     json_string_value(x), hint);
				continue;
			}
			const char *sns = m->services[si].ns;
			if (ns && sns && strcmp(sns, ns) != 0) {
				errf(c, q, "expected a service in the policy's namespace "
					   "\"%s\" (Istio's selector picks workloads of "
					   "the policy's own namespace), found \"%s\", which "
					   "is in \"%s\"",
				     ns, json_string_value(x), sns);
				continue;
			}
			sel[si] = 1;
		}
	}
	uint32_t n = 0;
	for (uint32_t i = 0; i < m->nservices; i++)
		n += sel[i];
	pol->services = zalloc(c, n, sizeof *pol->services);
	if (pol->services)
		for (uint32_t i = 0; i < m->nservices; i++)
			if (sel[i])
				pol->services[pol->nservices++] = i;
	free(sel);
}

static void parse_authz_policy(ctx *c, const json_t *v, const char *path,
			       authz_policy *pol)
{
	static const char *const keys[] = {"name", "description", "action",
					   "selector", "namespace", "rules", NULL};
	char p[PATH];
	pol->action = AUTHZ_ALLOW;
	if (!json_is_object(v)) {
		expected(c, path, "a policy object, like {\"name\": \"deny-admin\", "
				  "\"selector\": \"catalog\", \"action\": \"DENY\", "
				  "\"rules\": [...]}",
			 v);
		return;
	}
	check_authz_keys(c, v, path, keys);
	const char *s;
	int r = get_string(c, v, "name", path, &s);
	if (r == 1)
		pol->name = dup(c, s);
	else if (r == 0) {
		path_key(p, sizeof p, path, "name");
		errf(c, p, "expected the policy's name (as its metadata.name in "
			   "Istio), found nothing");
	}
	json_t *d = json_object_get(v, "description");
	if (d && !json_is_string(d)) {
		path_key(p, sizeof p, path, "description");
		expected(c, p, "a string", d);
	}
	/* Istio's default action is ALLOW. */
	if (get_string(c, v, "action", path, &s) == 1) {
		path_key(p, sizeof p, path, "action");
		if (strcmp(s, "ALLOW") == 0)
			pol->action = AUTHZ_ALLOW;
		else if (strcmp(s, "DENY") == 0)
			pol->action = AUTHZ_DENY;
		else if (strcmp(s, "CUSTOM") == 0 || strcmp(s, "AUDIT") == 0)
			errf(c, p, "expected \"ALLOW\" or \"DENY\", found \"%s\": "
				   "Istio's %s action is not modelled",
			     s, s);
		else if (strcasecmp(s, "ALLOW") == 0 || strcasecmp(s, "DENY") == 0)
			errf(c, p, "expected \"ALLOW\" or \"DENY\" (upper case, as "
				   "Istio writes them), found \"%s\" (did you mean "
				   "\"%s\"?)",
			     s, strcasecmp(s, "DENY") == 0 ? "DENY" : "ALLOW");
		else
			expected(c, p, "\"ALLOW\" or \"DENY\"", json_object_get(v, "action"));
	}
	parse_authz_selector(c, v, path, pol);
	json_t *rules = json_object_get(v, "rules");
	if (!rules)
		return;
	path_key(p, sizeof p, path, "rules");
	if (!json_is_array(rules)) {
		expected(c, p, "a list of rules (none: the policy matches nothing; "
			       "[{}]: it matches every request)",
			 rules);
		return;
	}
	size_t n = json_array_size(rules);
	if (!n)
		return;
	pol->rules = zalloc(c, n, sizeof *pol->rules);
	if (!pol->rules)
		return;
	pol->nrules = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		char q[PATH];
		path_idx(q, sizeof q, p, i);
		parse_authz_rule(c, json_array_get(rules, i), q, &pol->rules[i]);
	}
}

/* "authorization": a list of Istio AuthorizationPolicies. Then each
 * service gets the sets of DENY and ALLOW policies that select it. */
static void parse_authorization(ctx *c, const json_t *v)
{
	model *m = c->m;
	if (!json_is_array(v)) {
		expected(c, "authorization", "a list of authorization policies, "
					     "like [{\"name\": \"deny-admin\", "
					     "\"selector\": \"catalog\", \"action\": "
					     "\"DENY\", \"rules\": [...]}]",
			 v);
		return;
	}
	size_t n = json_array_size(v);
	if (!n || !m->services)
		return;
	m->authz = zalloc(c, n, sizeof *m->authz);
	if (!m->authz)
		return;
	for (size_t i = 0; i < n; i++) {
		char p[PATH];
		path_idx(p, sizeof p, "authorization", i);
		authz_policy *pol = &m->authz[m->nauthz++];
		parse_authz_policy(c, json_array_get(v, i), p, pol);
		for (uint32_t j = 0; j + 1 < m->nauthz && pol->name; j++)
			if (m->authz[j].name && strcmp(m->authz[j].name, pol->name) == 0) {
				char q[PATH];
				path_key(q, sizeof q, p, "name");
				errf(c, q, "expected a unique policy name, found \"%s\" "
					   "again (authorization[%u] has it)",
				     pol->name, j);
				break;
			}
	}
	for (uint32_t s = 0; s < m->nservices && !c->oom; s++) {
		authz_set *set = &m->services[s].authz;
		uint32_t nd = 0, na = 0;
		for (uint32_t i = 0; i < m->nauthz; i++)
			for (uint32_t k = 0; k < m->authz[i].nservices; k++)
				if (m->authz[i].services[k] == s) {
					nd += m->authz[i].action == AUTHZ_DENY;
					na += m->authz[i].action != AUTHZ_DENY;
				}
		if (!nd && !na)
			continue;
		set->deny = nd ? zalloc(c, nd, sizeof *set->deny) : NULL;
		set->allow = na ? zalloc(c, na, sizeof *set->allow) : NULL;
		if ((nd && !set->deny) || (na && !set->allow))
			return;
		for (uint32_t i = 0; i < m->nauthz; i++)
			for (uint32_t k = 0; k < m->authz[i].nservices; k++)
				if (m->authz[i].services[k] == s) {
					if (m->authz[i].action == AUTHZ_DENY)
						set->deny[set->ndeny++] = i;
					else
						set->allow[set->nallow++] = i;
				}
	}
}

/* ---- mutual TLS ---- */

/*
 * The "mtls" block: Istio's PeerAuthentication modes (mesh-wide, per
 * namespace, per service) and istiod's CA (trust domain, certificate
 * lifetime, the agent's rotation rule, a plug-in CA), with Istio's names
 * and defaults. It is read in two steps: everything but the modes before
 * the services (their principals are made in its trust domain), the
 * namespace and service modes after them (they name services and
 * namespaces).
 */

static const char mode_what[] =
	"\"STRICT\", \"PERMISSIVE\" or \"DISABLE\" (Istio's PeerAuthentication "
	"mtls.mode)";

static const char *const mode_names[] = {"STRICT", "PERMISSIVE", "DISABLE",
					 NULL};

/* A mode's name as Istio's enum spells it (upper case), or MTLS_UNSET. */
static enum model_mtls_mode mode_of(const json_t *v)
{
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(s, "STRICT") == 0)
		return MTLS_STRICT;
	if (strcmp(s, "PERMISSIVE") == 0)
		return MTLS_PERMISSIVE;
	if (strcmp(s, "DISABLE") == 0)
		return MTLS_DISABLE;
	return MTLS_UNSET;
}

/* The mode at path. Returns it, or MTLS_UNSET (reported). `mesh`: the
 * mesh-wide mode, for what Istio's UNSET would mean there. */
static enum model_mtls_mode parse_mode(ctx *c, const json_t *v,
				       const char *path, int mesh)
{
	enum model_mtls_mode md = mode_of(v);
	if (md != MTLS_UNSET)
		return md;
	if (!json_is_string(v)) {
		expected(c, path, mode_what, v);
		return MTLS_UNSET;
	}
	const char *s = json_string_value(v);
	if (strcmp(s, "UNSET") == 0) {
		errf(c, path, "expected %s, found \"UNSET\": Istio's UNSET "
			      "inherits the mode of the level above, %s",
		     mode_what,
		     mesh ? "and leaving the mesh-wide \"mode\" out does that "
			    "(PERMISSIVE, Istio's default)"
			  : "which leaving this entry out does");
		return MTLS_UNSET;
	}
	const char *near = NULL;
	size_t best = 3;
	for (const char *const *n = mode_names; *n; n++) {
		size_t d = strcasecmp(s, *n) == 0 ? 0 : edit_distance(s, *n);
		if (d < best) {
			best = d;
			near = *n;
		}
	}
	if (near)
		errf(c, path, "expected %s, matched as written (upper case, as "
			      "Istio's enum), found \"%s\" (did you mean "
			      "\"%s\"?)",
		     mode_what, s, near);
	else
		expected(c, path, mode_what, v);
	return MTLS_UNSET;
}

static const char trust_domain_what[] =
	"a trust domain of lower-case letters, digits, '.', '-' or '_', at "
	"most 255 characters (a SPIFFE trust domain), like \"cluster.local\"";

/* A trust domain under key. Returns 1 (set), 0 (absent), -1 (reported). */
static int get_trust_domain(ctx *c, const json_t *obj, const char *key,
			    const char *path, const char **out)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return 0;
	const char *s = json_is_string(v) ? json_string_value(v) : "";
	if (strlen(s) > 255 || !trust_domain_ok(s, strlen(s))) {
		char p[PATH];
		path_key(p, sizeof p, path, key);
		expected(c, p, trust_domain_what, v);
		return -1;
	}
	*out = s;
	return 1;
}

/* A plug-in CA's file under mtls.ca.<key>: its path joined to the
 * scenario's directory unless absolute, and checked to be a readable
 * regular file now, so that a typo is found by `meshsim check` and not
 * when a run starts. Returns the resolved path (new), or NULL (absent, or
 * reported). */
static char *ca_file(ctx *c, const json_t *ca, const char *key,
		     const char *what)
{
	const char *s;
	if (get_string(c, ca, key, "mtls.ca", &s) != 1)
		return NULL;
	char p[PATH];
	path_key(p, sizeof p, "mtls.ca", key);
	const char *slash = strrchr(c->file, '/');
	size_t dl = s[0] != '/' && slash ? (size_t)(slash - c->file) + 1 : 0;
	size_t n = dl + strlen(s) + 1;
	char *r = malloc(n);
	if (!r) {
		c->oom = 1;
		return NULL;
	}
	memcpy(r, c->file, dl);
	memcpy(r + dl, s, strlen(s) + 1);
	struct stat st;
	const char *why = NULL;
	FILE *f = NULL;
	if (stat(r, &st) < 0)
		why = strerror(errno);
	else if (!S_ISREG(st.st_mode))
		why = "not a regular file";
	else if (!(f = fopen(r, "rb")))
		why = strerror(errno);
	if (f)
		fclose(f);
	if (why) {
		errf(c, p, "expected a readable file holding %s (relative "
			   "paths start at the scenario's directory), found "
			   "\"%s\" (%s: %s)",
		     what, s, r, why);
		free(r);
		return NULL;
	}
	return r;
}

static void parse_mtls_ca(ctx *c, const json_t *ca)
{
	static const char *const keys[] = {"intermediate", "cert", "key",
					   "chain", "root", NULL};
	model_mtls *t = &c->m->mtls;
	if (!json_is_object(ca)) {
		expected(c, "mtls.ca",
			 "an object: {\"intermediate\": true}, or a plug-in CA's "
			 "files like {\"cert\": \"ca-cert.pem\", \"key\": "
			 "\"ca-key.pem\", \"chain\": \"cert-chain.pem\", "
			 "\"root\": \"root-cert.pem\"}",
			 ca);
		return;
	}
	check_keys(c, ca, "mtls.ca", keys);
	get_bool(c, ca, "intermediate", "mtls.ca", &t->intermediate);
	json_t *cert = json_object_get(ca, "cert");
	json_t *key = json_object_get(ca, "key");
	const char *other = cert ? "\"cert\""
			    : key ? "\"key\""
			    : json_object_get(ca, "chain") ? "\"chain\""
			    : json_object_get(ca, "root") ? "\"root\"" : NULL;
	if (!other)
		return;
	/* istiod's cacerts: ca-cert.pem signs, with ca-key.pem; the chain
	 * up to the root and the root itself complete it. */
	if (t->intermediate)
		errf(c, "mtls.ca.intermediate",
		     "expected no \"intermediate\": true beside a plug-in CA's "
		     "files (the plug-in CA signs workload certificates itself, "
		     "as istiod's cacerts do; make it an intermediate in its "
		     "files instead), found true");
	if (!cert)
		errf(c, "mtls.ca.cert",
		     "expected the plug-in CA's certificate file (Istio's "
		     "ca-cert.pem) beside %s, found nothing",
		     other);
	if (!key)
		errf(c, "mtls.ca.key",
		     "expected the plug-in CA's private key file (Istio's "
		     "ca-key.pem) beside %s, found nothing",
		     cert ? "\"cert\"" : other);
	t->ca_cert = ca_file(c, ca, "cert",
			     "the CA's certificate in PEM, Istio's ca-cert.pem");
	t->ca_key = ca_file(c, ca, "key",
			    "the CA's private key in PEM, Istio's ca-key.pem");
	t->ca_chain = ca_file(c, ca, "chain",
			      "the chain above the CA in PEM, Istio's "
			      "cert-chain.pem");
	t->ca_root = ca_file(c, ca, "root",
			     "the root certificate in PEM, Istio's "
			     "root-cert.pem");
}

static void parse_mtls_rotation(ctx *c, const json_t *rot)
{
	static const char *const keys[] = {"grace_ratio", "jitter", NULL};
	model_mtls *t = &c->m->mtls;
	if (!json_is_object(rot)) {
		expected(c, "mtls.rotation", "an object like {\"grace_ratio\": "
					     "0.5, \"jitter\": 0.01}",
			 rot);
		return;
	}
	check_keys(c, rot, "mtls.rotation", keys);
	/* Istio's agent renews when this fraction of the lifetime is left
	 * (SECRET_GRACE_PERIOD_RATIO), give or take the jitter
	 * (SECRET_GRACE_PERIOD_RATIO_JITTER); both bounds keep renewal
	 * strictly between issue and expiry. */
	json_t *g = json_object_get(rot, "grace_ratio");
	int gok = 1;
	if (g) {
		double x = json_is_number(g) ? json_number_value(g) : NAN;
		if (!(x > 0 && x < 1)) {
			expected(c, "mtls.rotation.grace_ratio",
				 "a number above 0 and below 1 (the fraction of "
				 "a certificate's lifetime left when it is "
				 "renewed: Istio's SECRET_GRACE_PERIOD_RATIO, "
				 "0.5)",
				 g);
			gok = 0;
		} else {
			t->grace_ratio = x;
		}
	}
	json_t *j = json_object_get(rot, "jitter");
	if (!j)
		return;
	double r = t->grace_ratio, lim = r < 1 - r ? r : 1 - r;
	double x = json_is_number(j) ? json_number_value(j) : NAN;
	char what[400];
	if (gok)
		snprintf(what, sizeof what,
			 "a number from 0 to below %g (below grace_ratio %g and "
			 "below 1 - grace_ratio, so that renewal falls strictly "
			 "inside a certificate's lifetime: Istio's "
			 "SECRET_GRACE_PERIOD_RATIO_JITTER, 0.01)",
			 lim, r);
	else
		snprintf(what, sizeof what, "a number from 0 to below 1");
	if (!(x >= 0 && x < (gok ? lim : 1)))
		expected(c, "mtls.rotation.jitter", what, j);
	else
		t->grace_jitter = x;
}

static void parse_mtls(ctx *c, const json_t *v)
{
	static const char *const keys[] = {
		"mode", "namespaces", "services", "trust_domain", "cert_ttl",
		"rotation", "ca", "handshake_cpu", NULL};
	model_mtls *t = &c->m->mtls;
	/* Set even when the block is bad, so that its faults are judged on
	 * their own and not also blamed for a missing block. */
	t->enabled = 1;
	t->mode = MTLS_PERMISSIVE;
	t->trust_domain = dup(c, MODEL_TRUST_DOMAIN);
	t->cert_ttl = 24 * 3600 * MESH_S;
	t->grace_ratio = 0.5;
	t->grace_jitter = 0.01;
	t->handshake_full = MODEL_HANDSHAKE_FULL;
	t->handshake_resumed = MODEL_HANDSHAKE_RESUMED;
	if (!json_is_object(v)) {
		expected(c, "mtls", "an object like {\"mode\": \"STRICT\"} ({} "
				    "turns mutual TLS on with Istio's defaults)",
			 v);
		return;
	}
	check_keys(c, v, "mtls", keys);
	json_t *x = json_object_get(v, "mode");
	if (x) {
		enum model_mtls_mode md = parse_mode(c, x, "mtls.mode", 1);
		if (md != MTLS_UNSET)
			t->mode = md;
	}
	const char *td;
	if (get_trust_domain(c, v, "trust_domain", "mtls", &td) == 1) {
		free(t->trust_domain);
		t->trust_domain = dup(c, td);
	}
	mesh_time ttl;
	if (get_duration(c, v, "cert_ttl", "mtls", &ttl) == 1) {
		/* X.509 validity is in whole seconds; at 2s renewal (at half
		 * the lifetime) still has a second to happen in. */
		if (ttl < 2 * MESH_S || ttl % MESH_S)
			expected(c, "mtls.cert_ttl",
				 "a certificate lifetime of whole seconds, at "
				 "least \"2s\" (X.509 validity counts seconds), "
				 "like \"24h\" (Istio's default)",
				 json_object_get(v, "cert_ttl"));
		else
			t->cert_ttl = ttl;
	}
	if ((x = json_object_get(v, "rotation")))
		parse_mtls_rotation(c, x);
	if ((x = json_object_get(v, "ca")))
		parse_mtls_ca(c, x);
	if ((x = json_object_get(v, "handshake_cpu"))) {
		static const char *const hk[] = {"full", "resumed", NULL};
		if (json_is_string(x) && !strcmp(json_string_value(x), "measured")) {
			t->handshake_measured = 1;
		} else if (!json_is_object(x)) {
			expected(c, "mtls.handshake_cpu",
				 "an object like {\"full\": \"4200us\", "
				 "\"resumed\": \"1700us\"}, or \"measured\"",
				 x);
		} else {
			check_keys(c, x, "mtls.handshake_cpu", hk);
			get_duration(c, x, "full", "mtls.handshake_cpu",
				     &t->handshake_full);
			get_duration(c, x, "resumed", "mtls.handshake_cpu",
				     &t->handshake_resumed);
		}
	}
	/* "namespaces" and "services" wait for the services
	 * (parse_mtls_modes); only their shape is checked here. */
	static const struct {
		const char *key, *what;
	} maps[] = {
		{"namespaces", "an object of modes keyed by namespace, like "
			       "{\"shop\": \"STRICT\"}"},
		{"services", "an object of modes keyed by service name, like "
			     "{\"catalog\": \"DISABLE\"}"},
	};
	for (size_t i = 0; i < sizeof maps / sizeof maps[0]; i++) {
		x = json_object_get(v, maps[i].key);
		if (x && !json_is_object(x)) {
			char p[PATH];
			path_key(p, sizeof p, "mtls", maps[i].key);
			expected(c, p, maps[i].what, x);
		}
	}
}

/* The namespace and service modes, and every service's resolved mode: its
 * own, else its namespace's, else the mesh's, as Istio picks the
 * PeerAuthentication with a workload selector over the namespace's over
 * the root namespace's. */
static void parse_mtls_modes(ctx *c, const json_t *v)
{
	model *m = c->m;
	if (!json_is_object(v) || !m->services)
		return;
	json_t *nsv = json_object_get(v, "namespaces");
	json_t *sv = json_object_get(v, "services");
	nsv = json_is_object(nsv) ? nsv : NULL;
	sv = json_is_object(sv) ? sv : NULL;
	const char *key;
	json_t *x;
	char p[PATH];
	if (nsv)
		json_object_foreach(nsv, key, x) {
			char list[300];
			path_key(p, sizeof p, "mtls.namespaces", key);
			if (!namespace_known(m, key, list, sizeof list))
				errf(c, p, "expected the namespace of a service "
					   "(%s), found \"%s\", which no service "
					   "is in",
				     list, key);
			else
				parse_mode(c, x, p, 0);
		}
	if (sv)
		json_object_foreach(sv, key, x) {
			path_key(p, sizeof p, "mtls.services", key);
			if (service_index(m, key) < 0) {
				const char *near = near_service(m, key);
				char hint[120] = "";
				if (near)
					snprintf(hint, sizeof hint,
						 " (did you mean \"%s\"?)", near);
				errf(c, p, "expected the name of a service in "
					   "\"services\", found \"%s\", which is "
					   "not defined%s",
				     key, hint);
			} else {
				parse_mode(c, x, p, 0);
			}
		}
	for (uint32_t i = 0; i < m->nservices; i++) {
		model_service *s = &m->services[i];
		enum model_mtls_mode md = m->mtls.mode, o;
		if (nsv && s->ns &&
		    (o = mode_of(json_object_get(nsv, s->ns))) != MTLS_UNSET)
			md = o;
		if (sv &&
		    (o = mode_of(json_object_get(sv, s->name))) != MTLS_UNSET)
			md = o;
		s->mtls_mode = md;
	}
}

/* ---- faults ---- */

static const char *const fk_delay[] = {"target", "source", "percent",
				       "match",  "delay",  NULL};
static const char *const fk_abort[] = {"target", "source", "percent", "match",
				       "status", "reset",  NULL};
static const char *const fk_blackhole[] = {"target", "source", "percent",
					   "match", NULL};
static const char *const fk_partition[] = {"between", "direction", NULL};
static const char *const fk_crash[] = {"target", NULL};
static const char *const fk_capacity[] = {"target", "slowdown",
					  "workers_removed", NULL};
static const char *const fk_network[] = {"target", "latency", "loss",
					 "burst",  "rto",     NULL};
static const char *const fk_pause[] = {"target", NULL};
static const char *const fk_bandwidth[] = {"target", "source", "limit_kbps",
					   "direction", NULL};
static const char *const fk_cert[] = {"target", NULL};
static const char *const fk_cert_foreign[] = {"target", "trust_domain",
					      "signed_by", NULL};
static const char *const fk_root_rotate[] = {"overlap", NULL};

static const struct {
	const char *name;
	enum model_fault_kind kind;
	const char *const *keys;   /* beside the common ones */
	int needs_target;
} fault_kinds[] = {
	{"delay", FAULT_DELAY, fk_delay, 1},
	{"abort", FAULT_ABORT, fk_abort, 1},
	{"blackhole", FAULT_BLACKHOLE, fk_blackhole, 1},
	{"partition", FAULT_PARTITION, fk_partition, 0},
	{"crash", FAULT_CRASH, fk_crash, 1},
	{"capacity", FAULT_CAPACITY, fk_capacity, 1},
	{"network", FAULT_NETWORK, fk_network, 0},
	{"pause", FAULT_PAUSE, fk_pause, 1},
	{"bandwidth", FAULT_BANDWIDTH, fk_bandwidth, 1},
	{"cert_expire", FAULT_CERT_EXPIRE, fk_cert, 1},
	{"cert_no_rotate", FAULT_CERT_NO_ROTATE, fk_cert, 1},
	{"cert_foreign", FAULT_CERT_FOREIGN, fk_cert_foreign, 1},
	{"root_rotate", FAULT_ROOT_ROTATE, fk_root_rotate, 0},
	{"mtls_strict", FAULT_MTLS_STRICT, fk_cert, 1},
};
#define NFAULT_KINDS (sizeof fault_kinds / sizeof fault_kinds[0])

static const char *const fault_common[] = {"kind",  "at",          "for",
					   "until", "label",       "description",
					   NULL};
static const char *const fault_all[] = {
	"kind",   "at",     "for",     "until",     "label",     "description",
	"target", "source", "percent", "match",     "delay",     "status",
	"reset",  "between", "direction", "slowdown", "workers_removed",
	"latency", "loss",  "burst",   "rto",       "limit_kbps", "trust_domain",
	"signed_by", "overlap", NULL};

static const char fault_kind_what[] =
	"one of \"delay\", \"abort\", \"blackhole\", \"partition\", "
	"\"crash\", \"capacity\", \"network\", \"pause\", \"bandwidth\", "
	"\"cert_expire\", \"cert_no_rotate\", \"cert_foreign\", "
	"\"root_rotate\", \"mtls_strict\"";

/* The article before a kind's name, as it is read aloud: "an abort",
 * "an mtls_strict" (em-TLS), "a cert_expire". */
static const char *article(const char *kind)
{
	return strchr("aeiou", kind[0]) || strncmp(kind, "mtls", 4) == 0 ? "an"
									  : "a";
}

/* Keys of a fault of kind k (-1: unknown kind, any fault key passes). A key
 * that belongs to another kind is named as such. */
static void check_fault_keys(ctx *c, const json_t *v, const char *path,
			     int k)
{
	const char *key;
	json_t *x;
	json_object_foreach((json_t *)v, key, x) {
		if (in_list(fault_common, key))
			continue;
		if (k < 0) {
			check_key(c, key, path, fault_all);
			continue;
		}
		if (in_list(fault_kinds[k].keys, key))
			continue;
		if (!in_list(fault_all, key)) {
			check_key(c, key, path, fault_all);
			continue;
		}
		char p[PATH], list[300] = "";
		path_key(p, sizeof p, path, key);
		for (const char *const *a = fault_kinds[k].keys; *a; a++) {
			size_t l = strlen(list);
			snprintf(list + l, sizeof list - l, ", %s", *a);
		}
		errf(c, p, "unknown key \"%s\" for %s %s fault; expected one "
			   "of: kind, at, for, until, label, description%s",
		     key, article(fault_kinds[k].name),
		     fault_kinds[k].name, list);
	}
}

/* "target": "svc" or {"service", "version", "instance"}. Returns 0, or -1
 * (reported). */
static int parse_fault_target(ctx *c, const json_t *v, const char *path,
			      model_fault *f)
{
	model *m = c->m;
	const char *name = NULL;
	char p[PATH];
	if (json_is_string(v)) {
		name = json_string_value(v);
		snprintf(p, sizeof p, "%s", path);
	} else if (json_is_object(v)) {
		static const char *const keys[] = {"service", "version",
						   "instance", NULL};
		check_keys(c, v, path, keys);
		int r = get_string(c, v, "service", path, &name);
		path_key(p, sizeof p, path, "service");
		if (r == 0)
			errf(c, p, "expected the name of a service, found "
				   "nothing");
		if (r != 1)
			return -1;
	} else {
		expected(c, path, "a service name, or an object like "
				  "{\"service\": \"reviews\", \"version\": "
				  "\"v2\"}",
			 v);
		return -1;
	}
	int si = service_index(m, name);
	if (si < 0) {
		errf(c, p, "expected the name of a service in \"services\", "
			   "found \"%s\", which is not defined",
		     name);
		return -1;
	}
	const model_service *s = &m->services[si];
	f->service = (uint32_t)si;
	if (!json_is_object(v))
		return 0;
	int bad = 0;
	const char *vn;
	int rv = get_string(c, v, "version", path, &vn);
	if (rv < 0)
		bad = 1;
	if (rv == 1 && s->nversions == 0)
		return -1;   /* the service's own error says why */
	if (rv == 1) {
		uint32_t k;
		for (k = 0; k < s->nversions; k++)
			if (s->versions[k].name &&
			    strcmp(s->versions[k].name, vn) == 0)
				break;
		if (k == s->nversions) {
			path_key(p, sizeof p, path, "version");
			errf(c, p, "expected a version of %s, found \"%s\", "
				   "which is not defined",
			     s->name, vn);
			bad = 1;
		} else {
			f->version = k;
		}
	}
	json_t *in = json_object_get(v, "instance");
	if (in) {
		path_key(p, sizeof p, path, "instance");
		char what[120];
		snprintf(what, sizeof what,
			 "an instance index from 0 to %u (%s has %u replica%s)",
			 s->replicas ? s->replicas - 1 : 0, s->name,
			 s->replicas, s->replicas == 1 ? "" : "s");
		if (!json_is_integer(in) || json_integer_value(in) < 0 ||
		    json_integer_value(in) >= (json_int_t)s->replicas) {
			expected(c, p, what, in);
			bad = 1;
		} else if (f->version != MODEL_ANY &&
			   (uint32_t)json_integer_value(in) -
					   s->versions[f->version].first >=
				   s->versions[f->version].replicas) {
			const model_version *ver = &s->versions[f->version];
			snprintf(what, sizeof what,
				 "an instance of version %s (%u to %u)",
				 ver->name, ver->first,
				 ver->first + ver->replicas - 1);
			expected(c, p, what, in);
			bad = 1;
		} else {
			f->instance = (uint32_t)json_integer_value(in);
		}
	}
	return bad ? -1 : 0;
}

/* "between": [["a", "b"], ["c"]]: two non-empty disjoint sides. */
static void parse_partition(ctx *c, const json_t *v, const char *path,
			    model_fault *f)
{
	model *m = c->m;
	char p[PATH];
	json_t *b = json_object_get(v, "between");
	path_key(p, sizeof p, path, "between");
	static const char what[] =
		"two lists of services, like [[\"a\", \"b\"], [\"c\"]]";
	if (!b) {
		errf(c, p, "expected %s, found nothing", what);
		return;
	}
	if (!json_is_array(b) || json_array_size(b) != 2) {
		expected(c, p, what, b);
		return;
	}
	f->side = zalloc(c, m->nservices, 1);
	if (!f->side)
		return;
	for (size_t s = 0; s < 2; s++) {
		json_t *side = json_array_get(b, s);
		char q[PATH];
		path_idx(q, sizeof q, p, s);
		if (!json_is_array(side) || json_array_size(side) == 0) {
			expected(c, q, "a non-empty list of service names",
				 side);
			continue;
		}
		for (size_t i = 0; i < json_array_size(side); i++) {
			json_t *x = json_array_get(side, i);
			char r[PATH];
			path_idx(r, sizeof r, q, i);
			int si = json_is_string(x)
					 ? service_index(m, json_string_value(x))
					 : -1;
			if (si < 0) {
				if (json_is_string(x))
					errf(c, r, "expected the name of a "
						   "service in \"services\", "
						   "found \"%s\", which is not "
						   "defined",
					     json_string_value(x));
				else
					expected(c, r, "a service name", x);
				continue;
			}
			if (f->side[si] && f->side[si] != s + 1) {
				errf(c, r, "expected sides with no service in "
					   "common, found \"%s\" on both",
				     json_string_value(x));
				continue;
			}
			f->side[si] = (uint8_t)(s + 1);
		}
	}
	const char *dir;
	int r = get_string(c, v, "direction", path, &dir);
	if (r == 1) {
		if (strcmp(dir, "one-way") == 0) {
			f->one_way = 1;
		} else if (strcmp(dir, "both") != 0) {
			path_key(p, sizeof p, path, "direction");
			expected(c, p, "\"both\" or \"one-way\"",
				 json_object_get(v, "direction"));
		}
	}
}

static void parse_network_fault(ctx *c, const json_t *v, const char *path,
				model_fault *f)
{
	char p[PATH];
	json_t *lat = json_object_get(v, "latency");
	json_t *burst = json_object_get(v, "burst");
	if (!lat && !burst && !json_object_get(v, "loss")) {
		errf(c, path, "expected at least one of \"latency\", \"loss\" "
			      "or \"burst\" in a network fault, found none");
		return;
	}
	if (lat) {
		path_key(p, sizeof p, path, "latency");
		if (parse_dist(c, lat, p, &f->latency) == 0)
			f->has_latency = 1;
	}
	get_number(c, v, "loss", path, 0, 1, &f->loss);
	get_positive_duration(c, v, "rto", path, &f->rto);
	if (!burst)
		return;
	path_key(p, sizeof p, path, "burst");
	if (!json_is_object(burst)) {
		expected(c, p, "a Gilbert-Elliott model like {\"p\": 0.01, "
			       "\"r\": 0.3, \"loss_bad\": 1}",
			 burst);
		return;
	}
	static const char *const keys[] = {"p", "r", "loss_bad", NULL};
	check_keys(c, burst, p, keys);
	double gp = 0, gr = 0, lb = 1.0;
	int r1 = get_number(c, burst, "p", p, 0, 1, &gp);
	int r2 = get_number(c, burst, "r", p, 0, 1, &gr);
	int r3 = get_number(c, burst, "loss_bad", p, 0, 1, &lb);
	if (r1 == 0 || r2 == 0)
		errf(c, p, "expected both \"p\" (good to bad) and \"r\" (bad "
			   "to good), found %s missing",
		     r1 == 0 ? "\"p\"" : "\"r\"");
	if (r2 == 1 && gr == 0) {
		char q[PATH];
		path_key(q, sizeof q, p, "r");
		expected(c, q, "a number above 0 and at most 1 (with r = 0 "
			       "the bad state never ends)",
			 json_object_get(burst, "r"));
		r2 = -1;
	}
	if (r1 != 1 || r2 != 1 || r3 < 0)
		return;
	f->bursty = 1;
	f->ge_p = gp;
	f->ge_r = gr;
	f->loss_bad = lb;
}

/* Do the messages a bandwidth fault would slow ever carry a body? With
 * none it would change nothing: Envoy's filter, like this one, limits
 * body bytes only. Requests into the target carry the callers' call
 * "size" or a load client's "request_size"; its answers, the version's
 * "response_size". */
static int bandwidth_has_bodies(const model *m, const model_fault *f)
{
	if (f->bw_dirs & BW_RESPONSE) {
		const model_service *t = &m->services[f->service];
		for (uint32_t v = 0; v < t->nversions; v++)
			if (t->versions[v].b.response_size)
				return 1;
	}
	if (!(f->bw_dirs & BW_REQUEST))
		return 0;
	for (uint32_t i = 0; i < m->nclients; i++) {
		const model_client *cl = &m->clients[i];
		if (cl->request_size && m->routes[cl->route].service == f->service &&
		    (f->source == MODEL_ANY || f->source == MODEL_CLIENTS))
			return 1;
	}
	for (uint32_t i = 0; i < m->nservices; i++) {
		if (f->source != MODEL_ANY && f->source != i)
			continue;
		const model_service *s = &m->services[i];
		for (uint32_t v = 0; v < s->nversions; v++) {
			const model_behavior *b = &s->versions[v].b;
			for (uint32_t j = 0; j < b->nsteps; j++)
				for (uint32_t k = 0; k < b->steps[j].ncalls; k++)
					if (b->steps[j].sizes[k] &&
					    m->routes[b->steps[j].routes[k]].service ==
						    f->service)
						return 1;
		}
	}
	return 0;
}

/* limit_kbps (required) and direction. */
static void parse_bandwidth(ctx *c, const json_t *v, const char *path,
			    model_fault *f)
{
	char p[PATH];
	static const char what[] =
		"the limit in KiB per second, an integer from 1 to 4294967295 "
		"(Envoy's limit_kbps: 1 is 1024 bytes a second)";
	json_t *lk = json_object_get(v, "limit_kbps");
	path_key(p, sizeof p, path, "limit_kbps");
	if (!lk)
		errf(c, p, "expected %s, found nothing", what);
	else if (!json_is_integer(lk) || json_integer_value(lk) < 1 ||
		 json_integer_value(lk) > (json_int_t)UINT32_MAX)
		expected(c, p, what, lk);
	else
		f->limit_kbps = (uint64_t)json_integer_value(lk);
	f->bw_dirs = BW_REQUEST | BW_RESPONSE;
	const char *dir;
	if (get_string(c, v, "direction", path, &dir) == 1) {
		if (strcmp(dir, "request") == 0) {
			f->bw_dirs = BW_REQUEST;
		} else if (strcmp(dir, "response") == 0) {
			f->bw_dirs = BW_RESPONSE;
		} else if (strcmp(dir, "both") != 0) {
			path_key(p, sizeof p, path, "direction");
			expected(c, p, "\"request\", \"response\" or \"both\" "
				       "(Envoy's enable_mode REQUEST, RESPONSE, "
				       "REQUEST_AND_RESPONSE)",
				 json_object_get(v, "direction"));
		}
	}
	/* Only a file that loads cleanly so far is judged: a service with
	 * errors may lack the sizes it was meant to have. */
	if (c->nerr || c->oom || f->service == MODEL_ANY || !f->limit_kbps)
		return;
	if (!bandwidth_has_bodies(c->m, f)) {
		const char *t = c->m->services[f->service].name;
		errf(c, path, "expected traffic with a body for the bandwidth "
			      "limit to slow, found none (it limits body bytes, "
			      "as Envoy's filter does): give %s a "
			      "\"response_size\", or its callers' calls a "
			      "\"size\" (a load client's \"request_size\")",
		     t);
	}
}

static void fault_label(ctx *c, model_fault *f, const char *kind)
{
	model *m = c->m;
	char buf[256];
	if (f->kind == FAULT_PARTITION && f->side) {
		size_t l = (size_t)snprintf(buf, sizeof buf, "%s", kind);
		for (int s = 1; s <= 2; s++) {
			const char *sep = s == 1 ? " " : " / ";
			for (uint32_t i = 0; i < m->nservices; i++) {
				if (f->side[i] != s)
					continue;
				if (l < sizeof buf)
					l += (size_t)snprintf(buf + l, sizeof buf - l,
							      "%s%s", sep,
							      m->services[i].name);
				sep = ",";
			}
		}
	} else if (f->kind == FAULT_ROOT_ROTATE) {
		snprintf(buf, sizeof buf, "%s (%s)", kind,
			 f->overlap ? "overlap" : "no overlap");
	} else if (f->service == MODEL_ANY) {
		snprintf(buf, sizeof buf, "%s (all hops)", kind);
	} else if (f->kind == FAULT_BANDWIDTH) {
		/* Short enough for the summary's column: "bandwidth 100 KiB/s
		 * catalog" (both ways), "... to catalog" (requests), "... from
		 * catalog" (responses); with a source, "frontend->catalog",
		 * "catalog->frontend" or "frontend<->catalog". */
		const char *t = m->services[f->service].name;
		const char *src = f->source == MODEL_ANY ? NULL
				  : f->source == MODEL_CLIENTS
					  ? "clients"
					  : m->services[f->source].name;
		unsigned long long kb = (unsigned long long)f->limit_kbps;
		if (!src)
			snprintf(buf, sizeof buf, "%s %llu KiB/s %s%s", kind, kb,
				 f->bw_dirs == BW_REQUEST    ? "to "
				 : f->bw_dirs == BW_RESPONSE ? "from "
							     : "",
				 t);
		else if (f->bw_dirs == BW_RESPONSE)
			snprintf(buf, sizeof buf, "%s %llu KiB/s %s->%s", kind, kb,
				 t, src);
		else
			snprintf(buf, sizeof buf, "%s %llu KiB/s %s%s%s", kind, kb,
				 src, f->bw_dirs == BW_REQUEST ? "->" : "<->", t);
	} else {
		const model_service *s = &m->services[f->service];
		if (f->instance != MODEL_ANY)
			snprintf(buf, sizeof buf, "%s %s[%u]", kind, s->name,
				 f->instance);
		else if (f->version != MODEL_ANY)
			snprintf(buf, sizeof buf, "%s %s/%s", kind, s->name,
				 s->versions[f->version].name);
		else
			snprintf(buf, sizeof buf, "%s %s", kind, s->name);
		if (f->kind == FAULT_CERT_FOREIGN && f->foreign_root) {
			size_t l = strlen(buf);
			snprintf(buf + l, sizeof buf - l, " (foreign root)");
		}
	}
	f->label = dup(c, buf);
}

/* Does a certificate fault on service t change anything? Its certificate
 * serves its inbound when callers use TLS to it (auto mTLS: its mode is
 * not DISABLE), and its calls to services whose mode is not DISABLE. */
static int cert_in_use(const model *m, uint32_t t)
{
	if (m->services[t].mtls_mode != MTLS_DISABLE)
		return 1;
	for (uint32_t u = 0; u < m->nservices; u++)
		if (m->services[u].mtls_mode != MTLS_DISABLE &&
		    calls_service(m, &m->services[t], u))
			return 1;
	return 0;
}

/* The certificate faults and mtls_strict: they need the "mtls" block,
 * then the keys of their kind. */
static void parse_tls_fault(ctx *c, const json_t *v, const char *path,
			    model_fault *f, const char *kind)
{
	model *m = c->m;
	char p[PATH];
	if (!m->mtls.enabled) {
		errf(c, path, "expected a top-level \"mtls\" block for %s %s "
			      "fault, found none (%s needs an \"mtls\" block: "
			      "without one no TLS is modelled)",
		     article(kind), kind,
		     f->kind == FAULT_MTLS_STRICT ? "an mtls_strict fault"
						  : "a certificate fault");
		return;
	}
	switch (f->kind) {
	case FAULT_CERT_FOREIGN: {
		/* Another trust domain's identity: signed by the mesh CA, a
		 * peer rejects its SPIFFE ID (identity mismatch); by a root
		 * no one trusts, its chain (unknown CA). */
		const char *td = "other.local", *sb;
		int r = get_trust_domain(c, v, "trust_domain", path, &td);
		f->foreign_domain = dup(c, td);
		if (r >= 0 && m->mtls.trust_domain &&
		    strcmp(td, m->mtls.trust_domain) == 0) {
			path_key(p, sizeof p, path, "trust_domain");
			errf(c, p, "expected a trust domain other than the mesh's "
				   "(\"%s\"), found \"%s\"%s",
			     m->mtls.trust_domain, td,
			     json_object_get(v, "trust_domain")
				     ? ""
				     : " (the default): give the fault a "
				       "\"trust_domain\"");
		}
		if (get_string(c, v, "signed_by", path, &sb) == 1) {
			if (strcmp(sb, "foreign_root") == 0) {
				f->foreign_root = 1;
			} else if (strcmp(sb, "mesh_ca") != 0) {
				path_key(p, sizeof p, path, "signed_by");
				expected(c, p, "\"mesh_ca\" (the mesh's own CA: "
					       "peers see an identity mismatch) or "
					       "\"foreign_root\" (a root no one "
					       "trusts: an unknown CA)",
					 json_object_get(v, "signed_by"));
			}
		}
		break;
	}
	case FAULT_ROOT_ROTATE: {
		/* Istio's documented procedure keeps the old root in the
		 * trust bundle until every workload has a certificate of the
		 * new one; dropping it at once is the outage to study. Both
		 * are plausible, so the scenario says which. */
		int r = get_bool(c, v, "overlap", path, &f->overlap);
		if (r == 0) {
			path_key(p, sizeof p, path, "overlap");
			errf(c, p, "expected true (the old root stays trusted "
				   "beside the new one, Istio's documented safe "
				   "procedure) or false (only the new root is "
				   "trusted from \"at\" on), found nothing");
		}
		static const char *const ends[] = {"for", "until", NULL};
		for (const char *const *e = ends; *e; e++) {
			json_t *x = json_object_get(v, *e);
			if (!x)
				continue;
			char d[100];
			describe(x, d, sizeof d);
			path_key(p, sizeof p, path, *e);
			errf(c, p, "expected no \"%s\" for a root_rotate fault "
				   "(a root rotation is for good: the new root "
				   "signs from \"at\" on), found %s",
			     *e, d);
		}
		f->end = MESH_NEVER;
		break;
	}
	case FAULT_MTLS_STRICT:
		if (f->service != MODEL_ANY &&
		    m->services[f->service].mtls_mode == MTLS_STRICT) {
			path_key(p, sizeof p, path, "target");
			errf(c, p, "expected a service whose mode is not STRICT "
				   "already, found %s, which is (the fault would "
				   "change nothing)",
			     m->services[f->service].name);
		}
		break;
	default:
		break;
	}
	/* Only a file that loads cleanly so far is judged: modes are
	 * resolved only then. */
	if (f->kind != FAULT_ROOT_ROTATE && f->kind != FAULT_MTLS_STRICT &&
	    !c->nerr && !c->oom && f->service != MODEL_ANY &&
	    !cert_in_use(m, f->service)) {
		path_key(p, sizeof p, path, "target");
		errf(c, p, "expected a service whose certificate is in use, found "
			   "%s, which is DISABLE and calls no service that is not "
			   "(it never takes part in a TLS handshake, so the fault "
			   "would change nothing)",
		     m->services[f->service].name);
	}
}

static void parse_fault(ctx *c, const json_t *v, const char *path,
			model_fault *f, mesh_time duration)
{
	model *m = c->m;
	char p[PATH];
	f->service = MODEL_ANY;
	f->version = MODEL_ANY;
	f->instance = MODEL_ANY;
	f->source = MODEL_ANY;
	f->end = MESH_NEVER;
	f->percent = 100.0;
	f->slowdown = 1.0;
	f->rto = 200 * MESH_MS;
	if (!json_is_object(v)) {
		expected(c, path, "a fault object, like {\"kind\": \"abort\", "
				  "\"target\": \"catalog\", \"status\": 503, "
				  "\"at\": \"10s\", \"for\": \"5s\"}",
			 v);
		return;
	}
	json_t *kv = json_object_get(v, "kind");
	path_key(p, sizeof p, path, "kind");
	int k = -1;
	if (json_is_string(kv))
		for (size_t i = 0; i < NFAULT_KINDS; i++)
			if (strcmp(fault_kinds[i].name, json_string_value(kv)) == 0)
				k = (int)i;
	if (!kv)
		errf(c, p, "expected the kind of fault, %s, found nothing",
		     fault_kind_what);
	else if (k < 0)
		expected(c, p, fault_kind_what, kv);
	check_fault_keys(c, v, path, k);
	if (k >= 0)
		f->kind = fault_kinds[k].kind;

	/* When. */
	int r = get_duration(c, v, "at", path, &f->start);
	path_key(p, sizeof p, path, "at");
	if (r == 0)
		errf(c, p, "expected when the fault starts, like \"10s\", "
			   "found nothing");
	if (r == 1 && duration && f->start >= duration) {
		expected(c, p, "a time before the scenario's duration",
			 json_object_get(v, "at"));
		r = -1;
	}
	json_t *fr = json_object_get(v, "for");
	json_t *un = json_object_get(v, "until");
	if (fr && un) {
		errf(c, path, "expected either \"for\" or \"until\", found "
			      "both");
	} else if (fr) {
		mesh_time d = 0;
		if (get_positive_duration(c, v, "for", path, &d) == 1 && r == 1)
			f->end = d > MESH_NEVER - 1 - f->start ? MESH_NEVER - 1
							       : f->start + d;
	} else if (un) {
		mesh_time t = 0;
		if (get_duration(c, v, "until", path, &t) == 1 && r == 1) {
			if (t <= f->start) {
				path_key(p, sizeof p, path, "until");
				expected(c, p, "a time later than \"at\"", un);
			} else {
				f->end = t;
			}
		}
	}
	const char *label = NULL;
	get_string(c, v, "label", path, &label);
	json_t *d = json_object_get(v, "description");
	if (d && !json_is_string(d)) {
		path_key(p, sizeof p, path, "description");
		expected(c, p, "a string", d);
	}
	if (k < 0)
		return;

	/* Where. */
	json_t *t = json_object_get(v, "target");
	if (t && in_list(fault_kinds[k].keys, "target")) {
		path_key(p, sizeof p, path, "target");
		parse_fault_target(c, t, p, f);
	} else if (!t && fault_kinds[k].needs_target) {
		path_key(p, sizeof p, path, "target");
		errf(c, p, "expected the service %s %s fault applies to, "
			   "found nothing",
		     article(fault_kinds[k].name), fault_kinds[k].name);
	}
	json_t *s = json_object_get(v, "source");
	if (s && in_list(fault_kinds[k].keys, "source")) {
		path_key(p, sizeof p, path, "source");
		int si = -1;
		if (json_is_string(s) && strcmp(json_string_value(s), "clients") == 0)
			f->source = MODEL_CLIENTS;
		else if (json_is_string(s) &&
			 (si = service_index(m, json_string_value(s))) >= 0)
			f->source = (uint32_t)si;
		else if (json_is_string(s))
			errf(c, p, "expected the name of a service in "
				   "\"services\" or \"clients\", found \"%s\", "
				   "which is not defined",
			     json_string_value(s));
		else
			expected(c, p, "a service name or \"clients\"", s);
		/* A fault on a version or an instance is applied by the
		 * callee's sidecar, which does not tell callers apart. (A
		 * bandwidth fault says why it takes neither below.) */
		if ((f->version != MODEL_ANY || f->instance != MODEL_ANY) &&
		    f->source != MODEL_ANY && f->kind != FAULT_BANDWIDTH)
			errf(c, p, "expected no \"source\" with a target version or "
				   "instance (such faults act at the callee's "
				   "sidecar, for every caller), found \"%s\"",
			     json_is_string(s) ? json_string_value(s) : "?");
	}
	if (in_list(fault_kinds[k].keys, "percent"))
		get_number(c, v, "percent", path, 0, 100, &f->percent);
	json_t *mt = json_object_get(v, "match");
	if (mt && in_list(fault_kinds[k].keys, "match")) {
		path_key(p, sizeof p, path, "match");
		f->has_match = 1;
		parse_match(c, mt, p, MODEL_ANY, 0, &f->match);
	}

	/* What. */
	switch (f->kind) {
	case FAULT_DELAY: {
		json_t *x = json_object_get(v, "delay");
		path_key(p, sizeof p, path, "delay");
		if (!x)
			errf(c, p, "expected how long to delay, a duration or a "
				   "distribution, found nothing");
		else
			parse_dist(c, x, p, &f->delay);
		break;
	}
	case FAULT_ABORT: {
		json_t *st = json_object_get(v, "status");
		json_t *rs = json_object_get(v, "reset");
		if (st && rs) {
			errf(c, path, "expected either \"status\" or \"reset\", "
				      "found both");
		} else if (!st && !rs) {
			errf(c, path, "expected \"status\" (the answer, like "
				      "503) or \"reset\": true, found neither");
		} else if (st) {
			uint64_t x;
			if (get_uint(c, v, "status", path, 100, 599, &x) == 1)
				f->status = (uint16_t)x;
		} else if (!json_is_true(rs)) {
			path_key(p, sizeof p, path, "reset");
			expected(c, p, "true (or \"status\" instead)", rs);
		} else {
			f->reset = 1;
		}
		break;
	}
	case FAULT_PARTITION:
		parse_partition(c, v, path, f);
		break;
	case FAULT_CAPACITY: {
		int r1 = get_number(c, v, "slowdown", path, 1, 1e6, &f->slowdown);
		int r2 = get_u32(c, v, "workers_removed", path, 0,
				 &f->workers_removed);
		if (r1 >= 0 && r2 >= 0 && f->slowdown == 1.0 &&
		    f->workers_removed == 0)
			errf(c, path, "expected \"slowdown\" above 1 or "
				      "\"workers_removed\" above 0, found "
				      "neither (the fault would change "
				      "nothing)");
		break;
	}
	case FAULT_NETWORK:
		parse_network_fault(c, v, path, f);
		break;
	case FAULT_BANDWIDTH:
		if (f->version != MODEL_ANY || f->instance != MODEL_ANY) {
			path_key(p, sizeof p, path, "target");
			errf(c, p, "expected a whole service for a bandwidth "
				   "fault (its links carry the traffic of every "
				   "instance, like Envoy's filter on a route), "
				   "found a %s",
			     f->instance != MODEL_ANY ? "target instance"
						      : "target version");
			f->version = f->instance = MODEL_ANY;
		}
		parse_bandwidth(c, v, path, f);
		break;
	case FAULT_CERT_EXPIRE:
	case FAULT_CERT_NO_ROTATE:
	case FAULT_CERT_FOREIGN:
	case FAULT_ROOT_ROTATE:
	case FAULT_MTLS_STRICT:
		parse_tls_fault(c, v, path, f, fault_kinds[k].name);
		break;
	case FAULT_BLACKHOLE:
	case FAULT_CRASH:
	case FAULT_PAUSE:
		break;
	}
	if (label)
		f->label = dup(c, label);
	else
		fault_label(c, f, fault_kinds[k].name);
}

static void parse_faults(ctx *c, const json_t *v, mesh_time duration)
{
	model *m = c->m;
	if (!json_is_array(v)) {
		expected(c, "faults", "an array of faults", v);
		return;
	}
	size_t n = json_array_size(v);
	if (n == 0)
		return;
	m->faults = zalloc(c, n, sizeof *m->faults);
	if (!m->faults)
		return;
	m->nfaults = (uint32_t)n;
	for (size_t i = 0; i < n; i++) {
		char p[PATH];
		path_idx(p, sizeof p, "faults", i);
		parse_fault(c, json_array_get(v, i), p, &m->faults[i], duration);
	}
}

/* ---- objectives ---- */

static const struct {
	const char *key;
	enum model_metric metric;
} metrics[] = {
	{"success_rate", METRIC_SUCCESS_RATE}, {"error_rate", METRIC_ERROR_RATE},
	{"errors", METRIC_ERRORS},             {"timeouts", METRIC_TIMEOUTS},
	{"requests", METRIC_REQUESTS},         {"mean", METRIC_MEAN},
	{"p50", METRIC_P50},                   {"p90", METRIC_P90},
	{"p99", METRIC_P99},                   {"p999", METRIC_P999},
	{"max", METRIC_MAX},
	{"retry_amplification", METRIC_RETRY_AMPLIFICATION},
	{"recovers_within", METRIC_RECOVERS_WITHIN},
	{"metastable", METRIC_METASTABLE},
	{"denied", METRIC_DENIED},
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

static void add_objective(ctx *c, enum model_scope scope, uint32_t index,
			  enum model_metric metric, enum model_op op,
			  double target, const char *text)
{
	model *m = c->m;
	model_objective *o = realloc(m->objectives,
				     (m->nobjectives + 1) * sizeof *o);
	if (!o) {
		c->oom = 1;
		return;
	}
	m->objectives = o;
	o += m->nobjectives++;
	o->scope = scope;
	o->index = index;
	o->metric = metric;
	o->op = op;
	o->target = target;
	o->text = dup(c, text);
}

/* The rollout block and its objectives have their own parser
 * (sim/scenario_rollout.c), which reports through these. */
static void hk_err(void *c, const char *path, const char *msg)
{
	errf(c, path, "%s", msg);
}

static void hk_expected(void *c, const char *path, const char *what,
			const json_t *found)
{
	expected(c, path, what, found);
}

static void hk_keys(void *c, const json_t *obj, const char *path,
		    const char *const *allowed)
{
	check_keys(c, obj, path, allowed);
}

static void hk_match(void *c, const json_t *v, const char *path,
		     uint32_t service, model_match *mt)
{
	parse_match(c, v, path, service, 1, mt);
}

static void hk_objective(void *c, enum model_scope scope,
			 enum model_metric metric, enum model_op op,
			 double target, const char *text)
{
	add_objective(c, scope, 0, metric, op, target, text);
}

static void hk_oom(void *c)
{
	((ctx *)c)->oom = 1;
}

static scn_hooks hooks_of(ctx *c)
{
	scn_hooks h = {.ctx = c, .m = c->m, .err = hk_err,
		       .expected = hk_expected, .check_keys = hk_keys,
		       .match = hk_match, .objective = hk_objective,
		       .oom = hk_oom};
	return h;
}

static void parse_objective(ctx *c, const json_t *v, const char *path,
			    enum model_scope scope, uint32_t index,
			    enum model_metric metric)
{
	const char *what = model_metric_is_latency(metric)
				   ? "a comparison with a duration, like "
				     "\"<= 300ms\""
			   : metric == METRIC_SUCCESS_RATE ||
				   metric == METRIC_ERROR_RATE
				   ? "a comparison with a rate, like \">= 0.99\" "
				     "or \">= 99%\""
			   : metric == METRIC_RETRY_AMPLIFICATION
				   ? "a comparison with a ratio of attempts to "
				     "requests, like \"<= 1.5\""
				   : "a comparison with a count, like \"<= 100\"";
	if (metric == METRIC_METASTABLE) {
		/* A yes/no property of the run, so a JSON boolean: false
		 * asks that the system recovers once load and faults end. */
		if (!json_is_boolean(v))
			expected(c, path, "true or false (a JSON boolean, not a "
					  "string)",
				 v);
		else
			add_objective(c, scope, index, metric, OP_EQ,
				      json_is_true(v) ? 1 : 0,
				      json_is_true(v) ? "true" : "false");
		return;
	}
	if (metric == METRIC_RECOVERS_WITHIN && !c->has_faults) {
		errf(c, path, "expected a scenario with faults (recovers_within "
			      "is measured from the end of the last fault), "
			      "found no \"faults\"");
		return;
	}
	if (!json_is_string(v)) {
		expected(c, path, what, v);
		return;
	}
	const char *s = json_string_value(v);
	while (isspace((unsigned char)*s))
		s++;
	enum model_op op;
	if (strncmp(s, ">=", 2) == 0) op = OP_GE, s += 2;
	else if (strncmp(s, "<=", 2) == 0) op = OP_LE, s += 2;
	else if (strncmp(s, "==", 2) == 0) op = OP_EQ, s += 2;
	else if (*s == '>') op = OP_GT, s += 1;
	else if (*s == '<') op = OP_LT, s += 1;
	else {
		expected(c, path, what, v);
		return;
	}
	while (isspace((unsigned char)*s))
		s++;
	double target;
	if (model_metric_is_latency(metric)) {
		mesh_time t;
		if (scn_parse_duration(s, &t) < 0) {
			expected(c, path, what, v);
			return;
		}
		target = (double)t;
	} else {
		size_t used = parse_decimal(s, &target);
		if (!used) {
			expected(c, path, what, v);
			return;
		}
		const char *end = s + used;
		int pct = *end == '%';
		if (pct)
			end++;
		if (*end) {
			expected(c, path, what, v);
			return;
		}
		if (metric == METRIC_SUCCESS_RATE ||
		    metric == METRIC_ERROR_RATE) {
			if (pct)
				target /= 100.0;
			if (target < 0 || target > 1) {
				expected(c, path, "a rate between 0 and 1 "
						  "(or 0% and 100%)",
					 v);
				return;
			}
		} else if (pct || target < 0) {
			expected(c, path, what, v);
			return;
		}
	}
	add_objective(c, scope, index, metric, op, target,
		      json_string_value(v));
}

static void parse_objectives(ctx *c, const json_t *v, const char *path,
			     enum model_scope scope, uint32_t index)
{
	const char *key;
	json_t *x;
	if (!json_is_object(v)) {
		expected(c, path, "an object of objectives, like "
				  "{\"p99\": \"<= 300ms\"}",
			 v);
		return;
	}
	json_object_foreach((json_t *)v, key, x) {
		char p[PATH];
		path_key(p, sizeof p, path, key);
		size_t k;
		for (k = 0; k < NMETRICS; k++)
			if (strcmp(metrics[k].key, key) == 0)
				break;
		if (k < NMETRICS) {
			parse_objective(c, x, p, scope, index,
					metrics[k].metric);
			continue;
		}
		if (scope == SCOPE_OVERALL && strcmp(key, "rollout") == 0) {
			scn_hooks h = hooks_of(c);
			scn_parse_rollout_expect(&h, x, p);
			continue;
		}
		if (scope == SCOPE_OVERALL &&
		    (strcmp(key, "services") == 0 || strcmp(key, "clients") == 0)) {
			int svc = key[0] == 's';
			if (!json_is_object(x)) {
				expected(c, p, "an object keyed by name", x);
				continue;
			}
			const char *name;
			json_t *y;
			json_object_foreach(x, name, y) {
				char q[PATH];
				path_key(q, sizeof q, p, name);
				int idx = -1;
				if (svc) {
					idx = service_index(c->m, name);
				} else {
					for (uint32_t i = 0; i < c->m->nclients; i++)
						if (strcmp(c->m->clients[i].name,
							   name) == 0)
							idx = (int)i;
				}
				if (idx < 0) {
					errf(c, q, "expected the name of a %s, "
						   "found \"%s\", which is not "
						   "defined",
					     svc ? "service" : "load client",
					     name);
					continue;
				}
				parse_objectives(c, y, q,
						 svc ? SCOPE_SERVICE
						     : SCOPE_CLIENT,
						 (uint32_t)idx);
			}
			continue;
		}
		char list[400] = "";
		for (k = 0; k < NMETRICS; k++) {
			size_t l = strlen(list);
			snprintf(list + l, sizeof list - l, "%s%s",
				 k ? ", " : "", metrics[k].key);
		}
		errf(c, p, "unknown objective \"%s\"; expected one of: %s%s",
		     key, list,
		     scope == SCOPE_OVERALL ? ", services, clients" : "");
	}
}

/* ---- the whole file ---- */

static void parse_model(ctx *c, const json_t *root)
{
	static const char *const keys[] = {
		"$schema", "name",    "description", "seed",     "duration",
		"drain",   "network", "sidecar",     "services", "load",
		"expect",  "defaults", "mesh",       "faults",   "rollout",
		"authorization", "mtls", NULL};
	model *m = c->m;
	if (!json_is_object(root)) {
		expected(c, "(top level)", "a scenario object", root);
		return;
	}
	check_keys(c, root, "", keys);

	const char *s;
	if (get_string(c, root, "name", "", &s) == 1) {
		m->name = dup(c, s);
	} else {
		/* Default: the file's base name without .json. */
		const char *b = strrchr(c->file, '/');
		b = b ? b + 1 : c->file;
		m->name = dup(c, b);
		if (m->name) {
			size_t l = strlen(m->name);
			if (l > 5 && strcmp(m->name + l - 5, ".json") == 0)
				m->name[l - 5] = '\0';
		}
	}
	json_t *d = json_object_get(root, "description");
	if (d && !json_is_string(d))
		expected(c, "description", "a string", d);
	d = json_object_get(root, "$schema");
	if (d && !json_is_string(d))
		expected(c, "[\"$schema\"]", "a string (the schema's URI or path)", d);

	m->seed = 1;
	json_t *seed = json_object_get(root, "seed");
	if (seed) {
		if (!json_is_integer(seed) || json_integer_value(seed) < 0)
			expected(c, "seed", "an integer >= 0", seed);
		else
			m->seed = (uint64_t)json_integer_value(seed);
	}
	int r = get_duration(c, root, "duration", "", &m->duration);
	if (r == 0)
		errf(c, "duration", "expected how long load is offered, like "
				    "\"60s\", found nothing");
	else if (r == 1 && m->duration == 0)
		expected(c, "duration", "a duration above zero",
			 json_object_get(root, "duration"));
	m->drain = 5 * MESH_S;
	get_duration(c, root, "drain", "", &m->drain);

	dist_constant(&m->net_latency, 0);
	dist_constant(&m->local_latency, 0);
	json_t *net = json_object_get(root, "network");
	if (net) {
		if (!json_is_object(net)) {
			expected(c, "network",
				 "an object like {\"latency\": \"500us\"}", net);
		} else {
			static const char *const nk[] = {"latency",
							 "local_latency", NULL};
			check_keys(c, net, "network", nk);
			get_dist(c, net, "latency", "network", &m->net_latency);
			get_dist(c, net, "local_latency", "network",
				 &m->local_latency);
		}
	}
	dist sidecar;
	dist_constant(&sidecar, 0);
	parse_sidecar(c, root, "", &sidecar);

	/* The preset comes first: every service's policy starts from it. */
	c->defaults = "none";
	json_t *dv = json_object_get(root, "defaults");
	if (dv) {
		model_policy probe;
		memset(&probe, 0, sizeof probe);
		if (!json_is_string(dv) ||
		    model_policy_preset(&probe, json_string_value(dv)) < 0)
			expected(c, "defaults", "one of \"none\", \"envoy\", "
						"\"istio\", \"linkerd\"",
				 dv);
		else
			c->defaults = json_string_value(dv);
	}
	m->defaults = dup(c, c->defaults);
	json_t *faults = json_object_get(root, "faults");
	c->has_faults = json_is_array(faults) && json_array_size(faults) > 0;
	/* Before the services: their principals are made in its trust
	 * domain. */
	json_t *mtls = json_object_get(root, "mtls");
	if (mtls)
		parse_mtls(c, mtls);

	json_t *svcs = json_object_get(root, "services");
	if (!svcs) {
		errf(c, "services", "expected an object of services, found "
				    "nothing");
	} else if (!json_is_object(svcs) || json_object_size(svcs) == 0) {
		expected(c, "services", "a non-empty object of services", svcs);
	} else {
		declare_services(c, svcs);
		if (c->oom)
			return;
		uint32_t i = 0;
		const char *name;
		json_t *v;
		json_object_foreach(svcs, name, v) {
			char p[PATH];
			path_key(p, sizeof p, "services", name);
			parse_service(c, v, p, &m->services[i++], &sidecar);
		}
		check_cycles(c);
	}
	/* After the services, whose names and namespaces the modes name. */
	if (mtls && !c->oom)
		parse_mtls_modes(c, mtls);

	/* After the services (a policy's routes name their versions),
	 * before the load (whose routes and headers come later, which is
	 * why matches are resolved at the very end). */
	json_t *mesh = json_object_get(root, "mesh");
	if (mesh)
		parse_mesh(c, mesh);
	/* After the services, whose names and namespaces policies select. */
	json_t *authz = json_object_get(root, "authorization");
	if (authz && !c->oom)
		parse_authorization(c, authz);

	json_t *load = json_object_get(root, "load");
	if (!load) {
		errf(c, "load", "expected an array of load clients, found "
				"nothing");
	} else if (!json_is_array(load) || json_array_size(load) == 0) {
		expected(c, "load", "a non-empty array of load clients", load);
	} else {
		/* Parsed even when "services" is bad, so that its own errors
		 * show too (calls to "to" then say the service is missing). */
		size_t n = json_array_size(load);
		m->clients = zalloc(c, n, sizeof *m->clients);
		for (size_t i = 0; m->clients && i < n; i++) {
			char p[PATH];
			path_idx(p, sizeof p, "load", i);
			model_client *cl = &m->clients[m->nclients++];
			parse_client(c, json_array_get(load, i), p, cl,
				     (uint32_t)i, &sidecar, m->duration);
			for (uint32_t j = 0; j + 1 < m->nclients; j++)
				if (cl->name && m->clients[j].name &&
				    strcmp(cl->name, m->clients[j].name) == 0) {
					char q[PATH];
					path_key(q, sizeof q, p, "name");
					errf(c, q, "expected a unique client "
						   "name, found \"%s\" again",
					     cl->name);
				}
		}
	}

	if (faults)
		parse_faults(c, faults, m->duration);

	/* After the services and their policies (the rollout owns its
	 * service's routes), before the objectives that judge it. */
	json_t *ro = json_object_get(root, "rollout");
	if (ro && !c->oom) {
		scn_hooks h = hooks_of(c);
		scn_parse_rollout(&h, ro, m->duration);
	}

	json_t *exp = json_object_get(root, "expect");
	if (exp)
		parse_objectives(c, exp, "expect", SCOPE_OVERALL, 0);

	if (!c->nerr && !c->oom)
		resolve_matches(c);
}

model *scn_load_string(const char *json, const char *name, scn_errors *errs)
{
	ctx c = {.file = name, .errs = errs};
	json_error_t je;
	json_t *root = json_loads(json, JSON_REJECT_DUPLICATES, &je);
	if (!root) {
		char line[1200];
		snprintf(line, sizeof line, "%s:%d:%d: expected valid JSON: %s",
			 name, je.line, je.column, je.text);
		add_error(errs, line);
		return NULL;
	}
	c.m = calloc(1, sizeof *c.m);
	if (!c.m) {
		json_decref(root);
		add_error(errs, "out of memory");
		return NULL;
	}
	c.m->file = strdup(name);
	parse_model(&c, root);
	json_decref(root);
	for (size_t i = 0; i < c.npm; i++)
		pmatch_free(&c.pm[i]);
	free(c.pm);
	if (c.oom)
		errf(&c, NULL, "out of memory while loading");
	/* add_error may have had no room even for one message. */
	if (c.nerr && errs->n == 0)
		add_error(errs, "invalid scenario (errors could not be recorded)");
	/* Success is judged by our own count: errs may be full already. */
	if (c.nerr) {
		model_free(c.m);
		return NULL;
	}
	return c.m;
}

model *scn_load_file(const char *path, scn_errors *errs)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		char line[1200];
		snprintf(line, sizeof line, "%s: cannot open: %s", path,
			 strerror(errno));
		add_error(errs, line);
		return NULL;
	}
	char *buf = NULL;
	size_t len = 0, cap = 0;
	for (;;) {
		if (cap - len < 4096) {
			cap = cap ? cap * 2 : 65536;
			char *b = realloc(buf, cap + 1);
			if (!b) {
				free(buf);
				fclose(f);
				add_error(errs, "out of memory");
				return NULL;
			}
			buf = b;
		}
		size_t n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (n == 0)
			break;
	}
	int err = ferror(f);
	fclose(f);
	if (err) {
		char line[1200];
		snprintf(line, sizeof line, "%s: read error", path);
		add_error(errs, line);
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	if (strlen(buf) != len) {
		char line[1200];
		snprintf(line, sizeof line,
			 "%s: expected a JSON text, found a NUL byte", path);
		add_error(errs, line);
		free(buf);
		return NULL;
	}
	model *m = scn_load_string(buf, path, errs);
	free(buf);
	return m;
}
