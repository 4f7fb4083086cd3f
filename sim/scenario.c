#include "scenario.h"

#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Stop collecting after this many errors: past it, the rest is noise. */
#define MAX_ERRORS 200

typedef struct ctx {
	const char *file;
	scn_errors *errs;
	model *m;
	int oom;
	size_t nerr;   /* errors found, recorded or not (past MAX_ERRORS) */
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

/* Report every key of obj not in the NULL-terminated list `allowed`. */
static void check_keys(ctx *c, const json_t *obj, const char *path,
		       const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v) {
		const char *near = NULL;
		size_t best = 3;
		int ok = 0;
		for (const char *const *a = allowed; *a; a++) {
			if (strcmp(*a, key) == 0) {
				ok = 1;
				break;
			}
			size_t dd = edit_distance(key, *a);
			if (dd < best) {
				best = dd;
				near = *a;
			}
		}
		if (ok)
			continue;
		char p[PATH], list[400] = "";
		path_key(p, sizeof p, path, key);
		for (const char *const *a = allowed; *a; a++) {
			size_t l = strlen(list);
			snprintf(list + l, sizeof list - l, "%s%s",
				 a == allowed ? "" : ", ", *a);
		}
		if (near)
			errf(c, p, "unknown key \"%s\" (did you mean \"%s\"?)",
			     key, near);
		else
			errf(c, p, "unknown key \"%s\"; expected one of: %s",
			     key, list);
	}
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
			 model_service *s)
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
			 model_service *s)
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

/* First pass: names, so that calls can refer to services defined later. */
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
		s->concurrency = MODEL_UNLIMITED;
		s->queue = MODEL_UNLIMITED;
	}
}

static void parse_service(ctx *c, const json_t *v, const char *path,
			  model_service *s, const dist *default_sidecar)
{
	static const char *const keys[] = {
		"replicas", "concurrency", "queue",   "latency", "script",
		"errors",   "response_size", "sidecar", "description", NULL};
	s->sidecar_latency = *default_sidecar;
	if (!json_is_object(v)) {
		expected(c, path, "a service object", v);
		return;
	}
	check_keys(c, v, path, keys);
	uint64_t x;
	if (get_uint(c, v, "replicas", path, 1, 100000, &x) == 1)
		s->replicas = (uint32_t)x;
	if (get_uint(c, v, "concurrency", path, 1, 10000000, &x) == 1)
		s->concurrency = (uint32_t)x;
	if (get_uint(c, v, "queue", path, 0, 100000000, &x) == 1) {
		s->queue = (uint32_t)x;
		if (s->concurrency == MODEL_UNLIMITED) {
			char q[PATH];
			path_key(q, sizeof q, path, "queue");
			errf(c, q, "expected \"concurrency\" beside \"queue\", "
				   "found none (with unlimited workers nothing "
				   "ever waits, so the queue would do nothing)");
		}
	}
	if (get_uint(c, v, "response_size", path, 0, UINT64_MAX, &x) == 1)
		s->response_size = x;
	json_t *lat = json_object_get(v, "latency");
	json_t *script = json_object_get(v, "script");
	char p[PATH];
	if (lat && script) {
		path_key(p, sizeof p, path, "latency");
		errf(c, p, "expected either \"latency\" or \"script\", found "
			   "both (put the work in the script as "
			   "{\"work\": ...})");
	} else if (lat) {
		path_key(p, sizeof p, path, "latency");
		s->steps = zalloc(c, 1, sizeof *s->steps);
		if (s->steps) {
			s->steps[0].kind = STEP_WORK;
			if (parse_dist(c, lat, p, &s->steps[0].work) == 0)
				s->nsteps = 1;
		}
	} else if (script) {
		path_key(p, sizeof p, path, "script");
		parse_script(c, script, p, s);
	}
	json_t *errs = json_object_get(v, "errors");
	if (errs) {
		path_key(p, sizeof p, path, "errors");
		parse_errors(c, errs, p, s);
	}
	parse_sidecar(c, v, path, &s->sidecar_latency);
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
	for (uint32_t i = 0; i < s->nsteps; i++)
		for (uint32_t k = 0; k < s->steps[i].ncalls; k++)
			if (m->routes[s->steps[i].routes[k]].service == t)
				return 1;
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

static void parse_client(ctx *c, const json_t *v, const char *path,
			 model_client *cl, uint32_t index,
			 const dist *default_sidecar, mesh_time duration)
{
	static const char *const keys[] = {
		"name",    "to",       "path",          "arrival",
		"rps",     "users",    "think",         "timeout",
		"max_in_flight", "request_size", "sidecar", "description", NULL};
	char p[PATH], nm[64];
	cl->sidecar_latency = *default_sidecar;
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
};
#define NMETRICS (sizeof metrics / sizeof metrics[0])

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
				   : "a comparison with a count, like \"<= 100\"";
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
	o->text = dup(c, json_string_value(v));
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
		"expect",  NULL};
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
		if (!m->clients)
			return;
		for (size_t i = 0; i < n; i++) {
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

	json_t *exp = json_object_get(root, "expect");
	if (exp)
		parse_objectives(c, exp, "expect", SCOPE_OVERALL, 0);
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
