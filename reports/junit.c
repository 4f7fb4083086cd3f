#include "junit.h"

#include <assert.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

/* How many places with "accounted": false the failure message names; the
 * failure's text lists up to JUNIT_ACCOUNTING_MAX. */
#define JUNIT_ACCOUNTING_IN_MESSAGE 5
#define JUNIT_ACCOUNTING_MAX 100

/* ---- reading reports ---- */

static const char *type_name(const json_t *j)
{
	if (!j)
		return "nothing";
	switch (json_typeof(j)) {
	case JSON_OBJECT: return "an object";
	case JSON_ARRAY: return "an array";
	case JSON_STRING: return "a string";
	case JSON_INTEGER: return "an integer";
	case JSON_REAL: return "a real number";
	case JSON_TRUE: return "true";
	case JSON_FALSE: return "false";
	case JSON_NULL: return "null";
	}
	return "?";
}

/* "reports[2] (scenario "retry-storm"): " before every message, so the user
 * knows which of several reports it is about. */
static void fail_at(char *err, size_t errlen, size_t i, const char *scenario,
		    const char *fmt, ...)
{
	int k;
	if (scenario)
		k = snprintf(err, errlen, "reports[%zu] (scenario \"%s\"): ", i,
			     scenario);
	else
		k = snprintf(err, errlen, "reports[%zu]: ", i);
	if (k < 0 || (size_t)k >= errlen)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
	va_end(ap);
}

static const char *scenario_name(const json_t *rep)
{
	return json_string_value(json_object_get(json_object_get(rep, "scenario"),
						 "name"));
}

/* What an objective's target and measured value may be: a number, a
 * boolean (metastable) or a string ("never" for a recovery that did not
 * happen). */
static int is_scalar(const json_t *j)
{
	return json_is_number(j) || json_is_boolean(j) || json_is_string(j);
}

/* Check objective k of report i; 0 or -1 with a message. */
static int check_objective(const json_t *o, size_t i, const char *sc, size_t k,
			   char *err, size_t errlen)
{
	static const char *const strings[] = {"scope", "metric", "expect", "op",
					      "unit"};
	if (!json_is_object(o)) {
		fail_at(err, errlen, i, sc, "objectives[%zu]: expected an object, found %s",
			k, type_name(o));
		return -1;
	}
	for (size_t s = 0; s < sizeof strings / sizeof strings[0]; s++) {
		const json_t *v = json_object_get(o, strings[s]);
		if (!json_is_string(v)) {
			fail_at(err, errlen, i, sc,
				"objectives[%zu].%s: expected a string, found %s", k,
				strings[s], type_name(v));
			return -1;
		}
	}
	const json_t *nm = json_object_get(o, "name");
	if (nm && !json_is_string(nm)) {
		fail_at(err, errlen, i, sc,
			"objectives[%zu].name: expected a string, found %s", k,
			type_name(nm));
		return -1;
	}
	static const char *const values[] = {"target", "measured"};
	for (size_t s = 0; s < 2; s++) {
		const json_t *v = json_object_get(o, values[s]);
		if (!is_scalar(v)) {
			fail_at(err, errlen, i, sc,
				"objectives[%zu].%s: expected a number, a boolean or a string, found %s",
				k, values[s], type_name(v));
			return -1;
		}
	}
	const json_t *met = json_object_get(o, "met");
	if (!json_is_boolean(met)) {
		fail_at(err, errlen, i, sc,
			"objectives[%zu].met: expected true or false, found %s", k,
			type_name(met));
		return -1;
	}
	return 0;
}

/* Looks for "accounted": false anywhere under j. Counts the places into
 * *found and, when f is not NULL, writes the JSON path of the first `limit`
 * of them to f, escaped for an attribute or for text, separated by sep. */
typedef struct junit_walk {
	FILE *f;
	size_t found, limit;
	int attr;
	const char *sep;
} junit_walk;

static void put_esc(FILE *f, const char *s, int attr);

static void walk_accounting(const json_t *j, char *path, size_t len, size_t cap,
			    junit_walk *w)
{
	if (json_is_object(j)) {
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)j, key, v) {
			if (strcmp(key, "accounted") == 0 && json_is_false(v)) {
				if (w->f && w->found < w->limit) {
					if (w->found)
						fputs(w->sep, w->f);
					/* The report's top level itself has no
					 * path; say so rather than print "". */
					put_esc(w->f, len ? path : "(top level)", w->attr);
				}
				w->found++;
				continue;
			}
			int k = snprintf(path + len, cap - len, "%s%s", len ? "." : "",
					 key);
			size_t nl = k < 0 ? len : len + (size_t)k;
			walk_accounting(v, path, nl < cap ? nl : cap - 1, cap, w);
			path[len] = '\0';
		}
	} else if (json_is_array(j)) {
		size_t idx;
		json_t *v;
		json_array_foreach(j, idx, v) {
			int k = snprintf(path + len, cap - len, "[%zu]", idx);
			size_t nl = k < 0 ? len : len + (size_t)k;
			walk_accounting(v, path, nl < cap ? nl : cap - 1, cap, w);
			path[len] = '\0';
		}
	}
}

static size_t accounting_failures(const json_t *rep, FILE *f, size_t limit,
				  int attr, const char *sep)
{
	char path[512] = "";
	junit_walk w = {f, 0, limit, attr, sep};
	walk_accounting(rep, path, 0, sizeof path, &w);
	return w.found;
}

/* Check report i and count its testcases and failures; 0 or -1 with a
 * message. */
static int scan_report(const json_t *rep, size_t i, size_t *tests,
		       size_t *failures, char *err, size_t errlen)
{
	if (!json_is_object(rep)) {
		fail_at(err, errlen, i, NULL, "expected a report.json object, found %s",
			type_name(rep));
		return -1;
	}
	const json_t *ver = json_object_get(rep, "schema_version");
	if (!json_is_integer(ver)) {
		fail_at(err, errlen, i, NULL,
			"schema_version: expected an integer, found %s (is this a meshsim report.json?)",
			type_name(ver));
		return -1;
	}
	if (json_integer_value(ver) != REPORT_SCHEMA_VERSION) {
		fail_at(err, errlen, i, NULL,
			"schema_version: this meshsim reads version %d, found %" JSON_INTEGER_FORMAT,
			REPORT_SCHEMA_VERSION, json_integer_value(ver));
		return -1;
	}
	const json_t *sc = json_object_get(rep, "scenario");
	if (!json_is_object(sc)) {
		fail_at(err, errlen, i, NULL, "scenario: expected an object, found %s",
			type_name(sc));
		return -1;
	}
	const char *name = scenario_name(rep);
	if (!name) {
		fail_at(err, errlen, i, NULL, "scenario.name: expected a string, found %s",
			type_name(json_object_get(sc, "name")));
		return -1;
	}
	const json_t *objs = json_object_get(rep, "objectives");
	if (!json_is_array(objs)) {
		fail_at(err, errlen, i, name, "objectives: expected an array, found %s",
			type_name(objs));
		return -1;
	}
	size_t t = 0, f = 0, k;
	const json_t *o;
	json_array_foreach(objs, k, o) {
		if (check_objective(o, i, name, k, err, errlen) < 0)
			return -1;
		t++;
		f += json_is_false(json_object_get(o, "met"));
	}
	if (t == 0)
		t = 1; /* "run completed" */
	if (accounting_failures(rep, NULL, 0, 0, "")) {
		t++;
		f++;
	}
	*tests = t;
	*failures = f;
	return 0;
}

/* ---- writing XML ---- */

/* Escape s for XML 1.0. In attributes, tabs and line ends become character
 * references, since a parser would turn them into spaces. Characters XML 1.0
 * does not allow at all (controls, U+FFFE, U+FFFF) become U+FFFD. jansson
 * hands out valid UTF-8 only, so the rest passes through byte by byte. */
static void put_esc(FILE *f, const char *s, int attr)
{
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '&': fputs("&amp;", f); continue;
		case '<': fputs("&lt;", f); continue;
		case '>': fputs("&gt;", f); continue;
		case '"': fputs(attr ? "&quot;" : "\"", f); continue;
		case '\'': fputs(attr ? "&apos;" : "'", f); continue;
		case '\t': fputs(attr ? "&#9;" : "\t", f); continue;
		case '\n': fputs(attr ? "&#10;" : "\n", f); continue;
		case '\r': fputs("&#13;", f); continue;
		default: break;
		}
		if (*p < 0x20) {
			fputs("\xEF\xBF\xBD", f);
		} else if (p[0] == 0xEF && p[1] == 0xBF && (p[2] == 0xBE || p[2] == 0xBF)) {
			fputs("\xEF\xBF\xBD", f);
			p += 2;
		} else {
			fputc(*p, f);
		}
	}
}

/* The shortest plain decimal that reads back as v ("412.3", "0.9988",
 * "30000"), as report.json has it; never an exponent, which would read
 * badly in front of a unit ("3e+04ms"). */
static void fmt_real(char *buf, size_t len, double v)
{
	if (fabs(v) < 1e15) {
		for (int prec = 0; prec <= 17; prec++) {
			snprintf(buf, len, "%.*f", prec, v);
			if (strtod(buf, NULL) == v)
				return;
		}
	}
	snprintf(buf, len, "%.17g", v);
}

/* An objective's value with its unit: "412.3ms", "0.9988" (a ratio has
 * none), "12 requests", "true", "never". report.json gives the unit
 * "requests" to every metric that is not a latency or a rate, including
 * retry_amplification (attempts per request, a real) and metastable (a
 * boolean), so "requests" goes only after whole numbers. */
static void put_value(FILE *f, const json_t *v, const char *unit, int attr)
{
	char buf[64];
	if (json_is_string(v)) {
		put_esc(f, json_string_value(v), attr);
		return;
	}
	if (json_is_boolean(v)) {
		fputs(json_is_true(v) ? "true" : "false", f);
		return;
	}
	if (json_is_integer(v))
		snprintf(buf, sizeof buf, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	else
		fmt_real(buf, sizeof buf, json_real_value(v));
	fputs(buf, f);
	if (strcmp(unit, "ms") == 0) {
		fputs("ms", f);
	} else if (strcmp(unit, "ratio") == 0) {
		/* A plain number. */
	} else if (strcmp(unit, "requests") != 0 || json_is_integer(v)) {
		fputc(' ', f);
		put_esc(f, unit, attr);
	}
}

/* "service catalog p99 <= 300ms", as the text summary names objectives. */
static void put_objective_name(FILE *f, const json_t *o)
{
	put_esc(f, json_string_value(json_object_get(o, "scope")), 1);
	const char *nm = json_string_value(json_object_get(o, "name"));
	if (nm) {
		fputc(' ', f);
		put_esc(f, nm, 1);
	}
	fputc(' ', f);
	put_esc(f, json_string_value(json_object_get(o, "metric")), 1);
	fputc(' ', f);
	put_esc(f, json_string_value(json_object_get(o, "expect")), 1);
}

/* "p99 measured 412.3ms, expected <= 300ms". The expectation is rebuilt
 * from op and target, which are in the same unit as the measured value,
 * rather than quoted as written ("<= 0.3s"); the testcase name has that. */
static void put_verdict(FILE *f, const json_t *o, int attr)
{
	const char *unit = json_string_value(json_object_get(o, "unit"));
	put_esc(f, json_string_value(json_object_get(o, "metric")), attr);
	fputs(" measured ", f);
	put_value(f, json_object_get(o, "measured"), unit, attr);
	fputs(", expected ", f);
	put_esc(f, json_string_value(json_object_get(o, "op")), attr);
	fputc(' ', f);
	put_value(f, json_object_get(o, "target"), unit, attr);
}

/* "scenario cascade (scenarios/cascade.json), seed 9, 30s": in every
 * failure's text, so a failure read on its own says which run it was. */
static void put_run(FILE *f, const json_t *rep)
{
	const json_t *sc = json_object_get(rep, "scenario");
	const char *file = json_string_value(json_object_get(sc, "file"));
	const json_t *seed = json_object_get(sc, "seed");
	fputs("scenario ", f);
	put_esc(f, scenario_name(rep), 0);
	if (file && *file) {
		fputs(" (", f);
		put_esc(f, file, 0);
		fputc(')', f);
	}
	if (json_is_integer(seed))
		fprintf(f, ", seed %" PRIu64, (uint64_t)json_integer_value(seed));
	/* A run may be cut short with --duration; say how long this one was. */
	const json_t *dur = json_object_get(sc, "duration_s");
	if (json_is_number(dur)) {
		char buf[64];
		fmt_real(buf, sizeof buf, json_number_value(dur));
		fprintf(f, ", %ss", buf);
	}
	fputc('\n', f);
}

static void put_property(FILE *f, const char *name, const char *value)
{
	fprintf(f, "      <property name=\"%s\" value=\"", name);
	put_esc(f, value, 1);
	fputs("\"/>\n", f);
}

/* seed, mode, duration and file, those of them the report has. */
static void put_properties(FILE *f, const json_t *rep)
{
	const json_t *sc = json_object_get(rep, "scenario");
	const json_t *seed = json_object_get(sc, "seed");
	const json_t *dur = json_object_get(sc, "duration_s");
	const char *mode = json_string_value(json_object_get(rep, "mode"));
	const char *file = json_string_value(json_object_get(sc, "file"));
	char buf[80];
	fputs("    <properties>\n", f);
	if (json_is_integer(seed)) {
		/* report.json stores the uint64_t seed as a JSON integer;
		 * print the seed `meshsim run --seed` takes. */
		snprintf(buf, sizeof buf, "%" PRIu64, (uint64_t)json_integer_value(seed));
		put_property(f, "seed", buf);
	}
	if (mode)
		put_property(f, "mode", mode);
	if (json_is_number(dur)) {
		fmt_real(buf, sizeof buf - 1, json_number_value(dur));
		strcat(buf, "s");
		put_property(f, "duration", buf);
	}
	if (file)
		put_property(f, "file", file);
	fputs("    </properties>\n", f);
}

static void put_testcase_start(FILE *f, const char *scenario)
{
	fputs("    <testcase classname=\"meshsim.", f);
	put_esc(f, scenario, 1);
	fputs("\" name=\"", f);
}

static void put_suite(FILE *f, const json_t *rep, size_t tests, size_t failures)
{
	const char *name = scenario_name(rep);
	fputs("  <testsuite name=\"", f);
	put_esc(f, name, 1);
	fprintf(f, "\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" skipped=\"0\" time=\"0\">\n",
		tests, failures);
	put_properties(f, rep);

	const json_t *objs = json_object_get(rep, "objectives");
	size_t k;
	const json_t *o;
	json_array_foreach(objs, k, o) {
		put_testcase_start(f, name);
		put_objective_name(f, o);
		if (json_is_true(json_object_get(o, "met"))) {
			fputs("\" time=\"0\"/>\n", f);
			continue;
		}
		fputs("\" time=\"0\">\n      <failure type=\"objective\" message=\"", f);
		put_verdict(f, o, 1);
		fputs("\">", f);
		put_esc(f, json_string_value(json_object_get(o, "scope")), 0);
		const char *nm = json_string_value(json_object_get(o, "name"));
		if (nm) {
			fputc(' ', f);
			put_esc(f, nm, 0);
		}
		fputs(": ", f);
		put_verdict(f, o, 0);
		fputs(" (as written: \"", f);
		put_esc(f, json_string_value(json_object_get(o, "expect")), 0);
		fputs("\")\n", f);
		put_run(f, rep);
		fputs("</failure>\n    </testcase>\n", f);
	}
	if (json_array_size(objs) == 0) {
		put_testcase_start(f, name);
		fputs("run completed\" time=\"0\"/>\n", f);
	}
	size_t lost = accounting_failures(rep, NULL, 0, 0, "");
	if (lost) {
		put_testcase_start(f, name);
		fputs("requests accounted\" time=\"0\">\n"
		      "      <failure type=\"accounting\" message=\"accounted is false in ", f);
		accounting_failures(rep, f, JUNIT_ACCOUNTING_IN_MESSAGE, 1, ", ");
		if (lost > JUNIT_ACCOUNTING_IN_MESSAGE)
			fprintf(f, " and %zu more", lost - JUNIT_ACCOUNTING_IN_MESSAGE);
		/* README: accounted checks that the simulator's own count of
		 * requests still held by agents equals in_flight, so a false
		 * one is a simulator bug, not a property of the mesh. */
		fputs("\">The simulator lost track of requests: its count of requests "
		      "still held by agents differs from in_flight, so the outcome counts "
		      "of this run cannot be trusted. This is a meshsim bug; please report "
		      "it with the scenario and the seed.\n", f);
		put_run(f, rep);
		fputs("accounted is false in:\n", f);
		accounting_failures(rep, f, JUNIT_ACCOUNTING_MAX, 0, "\n");
		if (lost > JUNIT_ACCOUNTING_MAX)
			fprintf(f, "\nand %zu more", lost - JUNIT_ACCOUNTING_MAX);
		fputs("\n</failure>\n    </testcase>\n", f);
	}
	fputs("  </testsuite>\n", f);
}

int junit_write(const char *path, json_t *const *reports, size_t n,
		char *err, size_t errlen)
{
	assert(path);
	assert(reports || n == 0);
	assert(err && errlen > 0);

	/* Check everything before touching the file, so a bad report leaves
	 * no half-written XML behind. */
	size_t tests = 0, failures = 0;
	for (size_t i = 0; i < n; i++) {
		size_t t, f;
		if (scan_report(reports[i], i, &t, &f, err, errlen) < 0)
			return -1;
		tests += t;
		failures += f;
	}

	size_t plen = strlen(path);
	char *tmp = malloc(plen + sizeof ".tmp");
	if (!tmp) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	memcpy(tmp, path, plen);
	memcpy(tmp + plen, ".tmp", sizeof ".tmp");

	FILE *f = fopen(tmp, "wb");
	if (!f) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		goto fail;
	}
	fputs("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n", f);
	fprintf(f, "<testsuites name=\"meshsim\" tests=\"%zu\" failures=\"%zu\" errors=\"0\" time=\"0\">\n",
		tests, failures);
	for (size_t i = 0; i < n; i++) {
		size_t t, fl;
		/* Checked above; this only counts again. */
		scan_report(reports[i], i, &t, &fl, err, errlen);
		put_suite(f, reports[i], t, fl);
	}
	fputs("</testsuites>\n", f);
	int bad = ferror(f);
	int saved = errno;
	if (fclose(f) != 0 && !bad) {
		bad = 1;
		saved = errno;
	}
	if (bad) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp,
			 strerror(saved ? saved : EIO));
		remove(tmp);
		goto fail;
	}
	/* Write then rename, as report.json: a CI job that reads the file
	 * while meshsim runs sees the old one or the new one, never half. */
	if (rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		remove(tmp);
		goto fail;
	}
	free(tmp);
	return 0;
fail:
	free(tmp);
	return -1;
}
