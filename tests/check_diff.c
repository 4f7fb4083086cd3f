/*
 * meshsim diff: two report.json files of one scenario, made here with
 * per-second series whose batch means are known, so each test knows what
 * the noise is and whether a change is beyond it.
 */
#include <check.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "diff.h"
#include "suites.h"

Suite *diff_suite(void); /* until suites.h lists it */

/* Requests issued and ended every second of a made-up report. */
#define DONE 10000

/* What a made-up report looks like. */
typedef struct fake {
	const char *name;       /* scenario.name */
	int seed;               /* scenario.seed */
	int rows;               /* seconds of series */
	int gaps;               /* every other second ends nothing */
	int alternate;          /* batches alternate, see fake_second */
	double sr, sr_jitter;   /* per-second success rate, +- spread */
	double p99, lat_jitter; /* ms; relative +- spread of the latencies */
	double amp;             /* attempts per request of service "api" */
	double p99_target;      /* the objective "p99 <= target" */
	uint32_t noise;         /* seed of the jitter */
} fake;

static fake fake_base(void)
{
	return (fake){.name = "shop", .seed = 1, .rows = 60, .sr = 0.99,
		      .sr_jitter = 0.002, .p99 = 100, .lat_jitter = 0.02,
		      .amp = 1.2, .p99_target = 1000, .noise = 1};
}

/* xorshift32 to [-1, 1]. */
static double jitter(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return (double)*s / 2147483647.5 - 1.0;
}

static char dir[64];

static void setup(void)
{
	snprintf(dir, sizeof dir, "/tmp/check_diff_XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void teardown(void)
{
	const char *names[] = {"a.json", "b.json", "c.json", "adir/report.json",
			       "adir"};
	char p[128];
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		snprintf(p, sizeof p, "%s/%s", dir, names[i]);
		remove(p);
	}
	rmdir(dir);
}

/* One second of f: success rate and p99. With `alternate`, batch k (of
 * 5 seconds with requests) is at sr - jitter when k is even and sr +
 * jitter when odd, and the last second of an odd batch has a p99 ten
 * times the rest, which the batch's median must ignore. */
static void fake_second(const fake *f, int k, int in, uint32_t *s, double *sr,
			double *p99)
{
	if (f->alternate) {
		*sr = f->sr + (k % 2 ? f->sr_jitter : -f->sr_jitter);
		*p99 = k % 2 && in == 4 ? 10 * f->p99 : f->p99;
		return;
	}
	*sr = f->sr + f->sr_jitter * jitter(s);
	if (*sr > 1)
		*sr = 1;
	*p99 = f->p99 * (1 + f->lat_jitter * jitter(s));
}

static json_t *latency(double p99)
{
	json_t *l = json_object();
	json_object_set_new(l, "p50", json_real(p99 / 4));
	json_object_set_new(l, "p90", json_real(p99 / 2));
	json_object_set_new(l, "p99", json_real(p99));
	return l;
}

/* Write f as a report.json to path. */
static void fake_write(const fake *f, const char *path)
{
	json_t *t = json_array(), *done = json_array(), *sr = json_array(),
	       *p50 = json_array(), *p90 = json_array(), *p99 = json_array(),
	       *att = json_array(), *iss = json_array();
	/* Spread the seed's bits: xorshift's first draws from a small seed
	 * are all small. */
	uint32_t s = (f->noise + 1) * 0x9E3779B9u;
	for (int i = 0; i < 8; i++)
		jitter(&s);
	double ok = 0, all = 0;
	int used = 0;
	for (int i = 0; i < f->rows; i++) {
		json_array_append_new(t, json_integer(i));
		json_array_append_new(iss, json_integer(DONE));
		json_array_append_new(att, json_integer((json_int_t)lround(DONE * f->amp)));
		if (f->gaps && i % 2) {
			/* A second in which nothing ended: null, as in reports. */
			json_array_append_new(done, json_integer(0));
			json_array_append_new(sr, json_null());
			json_array_append_new(p50, json_null());
			json_array_append_new(p90, json_null());
			json_array_append_new(p99, json_null());
			continue;
		}
		double x, y;
		fake_second(f, used / 5, used % 5, &s, &x, &y);
		used++;
		ok += round(x * DONE);
		all += DONE;
		json_array_append_new(done, json_integer(DONE));
		json_array_append_new(sr, json_real(x));
		json_array_append_new(p50, json_real(y / 4));
		json_array_append_new(p90, json_real(y / 2));
		json_array_append_new(p99, json_real(y));
	}
	json_t *series = json_object();
	json_object_set_new(series, "t", t);
	json_object_set_new(series, "done", done);
	json_object_set_new(series, "success_rate", sr);
	json_object_set_new(series, "p50_ms", p50);
	json_object_set_new(series, "p90_ms", p90);
	json_object_set_new(series, "p99_ms", p99);
	/* Service api takes every request: its series is the overall one
	 * plus the sidecars' columns. */
	json_t *api = json_deep_copy(series);
	json_object_set_new(api, "attempts", att);
	json_object_set_new(api, "issued", iss);

	double rate = all ? ok / all : 1;
	json_t *root = json_pack("{s:i, s:{s:s, s:i, s:i}, s:o}", "schema_version", 1,
				 "scenario", "name", f->name, "seed", f->seed,
				 "duration_s", f->rows, "timeseries",
				 json_pack("{s:i, s:o, s:{s:o}}", "interval_s", 1,
					   "overall", series, "services", "api", api));
	json_t *tot = json_object();
	json_object_set_new(tot, "success_rate", json_real(rate));
	json_object_set_new(tot, "latency_ms", latency(f->p99));
	json_object_set_new(root, "totals", tot);
	json_t *svc = json_object();
	json_object_set_new(svc, "name", json_string("api"));
	json_object_set_new(svc, "success_rate", json_real(rate));
	json_object_set_new(svc, "latency_ms", latency(f->p99));
	json_object_set_new(svc, "retry_amplification", json_real(f->amp));
	json_object_set_new(root, "services", json_pack("[o]", svc));
	json_object_set_new(root, "resilience",
			    json_pack("{s:f}", "retry_amplification", f->amp));
	char expect[32];
	snprintf(expect, sizeof expect, "<= %gms", f->p99_target);
	json_object_set_new(root, "objectives", json_pack(
		"[{s:s, s:s, s:s, s:f, s:s, s:b}, {s:s, s:s, s:s, s:s, s:f, s:s, s:b}]",
		"scope", "overall", "metric", "success_rate", "expect", ">= 0.5",
		"measured", rate, "unit", "ratio", "met", rate >= 0.5,
		"scope", "service", "name", "api", "metric", "p99", "expect", expect,
		"measured", f->p99, "unit", "ms", "met", f->p99 <= f->p99_target));
	ck_assert_int_eq(json_dump_file(root, path, JSON_INDENT(1)), 0);
	json_decref(root);
}

static void path_of(char *buf, size_t len, const char *name)
{
	snprintf(buf, len, "%s/%s", dir, name);
}

/* Diff a and b (paths under dir). Returns the status; *out gets the
 * output (caller frees). Every line of it fits in 100 columns. */
static int diff(const char *a, const char *b, int color, char **out, char *err,
		size_t errlen)
{
	char pa[128], pb[128];
	path_of(pa, sizeof pa, a);
	path_of(pb, sizeof pb, b);
	size_t len = 0;
	*out = NULL;
	FILE *f = open_memstream(out, &len);
	ck_assert_ptr_nonnull(f);
	err[0] = '\0';
	int rc = diff_reports(pa, pb, f, color, err, errlen);
	fclose(f);
	if (!color)
		for (const char *l = *out; *l;) {
			const char *e = strchr(l, '\n');
			size_t n = e ? (size_t)(e - l) : strlen(l);
			ck_assert_msg(n <= 100, "line wider than 100: %.*s", (int)n, l);
			l += e ? n + 1 : n;
		}
	return rc;
}

/* Write fa to a.json and fb to b.json, and diff them without colour. */
static int diff_fakes(const fake *fa, const fake *fb, char **out)
{
	char pa[128], pb[128], err[512];
	path_of(pa, sizeof pa, "a.json");
	path_of(pb, sizeof pb, "b.json");
	fake_write(fa, pa);
	fake_write(fb, pb);
	int rc = diff("a.json", "b.json", 0, out, err, sizeof err);
	ck_assert_msg(rc != DIFF_BAD_INPUT, "bad input: %s", err);
	return rc;
}

/* The line of out that starts with `start`, into buf; "" when none. */
static const char *line(const char *out, const char *start, char *buf, size_t len)
{
	buf[0] = '\0';
	for (const char *l = out; *l; l += strcspn(l, "\n") + (l[strcspn(l, "\n")] != 0))
		if (strncmp(l, start, strlen(start)) == 0) {
			snprintf(buf, len, "%.*s", (int)strcspn(l, "\n"), l);
			break;
		}
	return buf;
}

/* The line of figure `label` ("p99") in section `section` ("all clients",
 * "service api"), into buf; "" when there is none. */
static const char *row(const char *out, const char *section, const char *label,
		       char *buf, size_t len)
{
	char head[64];
	snprintf(head, sizeof head, "\n%s\n", section);
	buf[0] = '\0';
	const char *l = strstr(out, head);
	if (!l)
		return buf;
	/* The section's lines are indented; the next title is not. */
	for (l += strlen(head); strncmp(l, "  ", 2) == 0; l += strcspn(l, "\n") + 1)
		if (strncmp(l + 2, label, strlen(label)) == 0 && l[2 + strlen(label)] == ' ') {
			snprintf(buf, len, "%.*s", (int)strcspn(l, "\n"), l);
			break;
		}
	return buf;
}

static int ends_with(const char *s, const char *tail)
{
	size_t n = strlen(s), m = strlen(tail);
	return n >= m && strcmp(s + n - m, tail) == 0;
}

/* How many figures out flags `flag` ("worse", "better"). */
static int flagged(const char *out, const char *flag)
{
	char tail[40];
	int n = 0;
	snprintf(tail, sizeof tail, "  %s\n", flag);
	for (const char *l = strstr(out, tail); l; l = strstr(l + 1, tail))
		n++;
	return n;
}

START_TEST(test_identical_reports)
{
	fake f = fake_base();
	char *out;
	ck_assert_int_eq(diff_fakes(&f, &f, &out), DIFF_SAME);
	ck_assert_int_eq(flagged(out, "worse"), 0);
	ck_assert_int_eq(flagged(out, "better"), 0);
	ck_assert_ptr_null(strstr(out, "too little"));
	ck_assert_ptr_nonnull(strstr(out, "verdict: no regression (0 objectives newly missed"));
	char l[200];
	ck_assert(ends_with(row(out, "all clients", "success rate", l, sizeof l), "  ~"));
	ck_assert(ends_with(row(out, "service api", "p99", l, sizeof l), "  ~"));
	ck_assert(ends_with(row(out, "service api", "retry amplification", l,
				sizeof l), "  ~"));
	/* No colour codes unless asked for. */
	ck_assert_ptr_null(strchr(out, '\033'));
	free(out);
}
END_TEST

START_TEST(test_other_seed_is_not_a_regression)
{
	/* The same scenario at another seed: same distributions, other
	 * draws, and the whole-run figures differ by what the draws give. */
	fake a = fake_base(), b = fake_base();
	a.sr_jitter = b.sr_jitter = 0.01;
	a.lat_jitter = b.lat_jitter = 0.3;
	b.seed = 2;
	b.noise = 99;
	/* Beyond the practical floor (0.1 point, 2%), within the noise. */
	b.sr = 0.988;
	b.p99 = 104;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_SAME);
	ck_assert_int_eq(flagged(out, "worse"), 0);
	ck_assert_int_eq(flagged(out, "better"), 0);
	ck_assert(ends_with(row(out, "all clients", "success rate", l, sizeof l), "  ~"));
	ck_assert(ends_with(row(out, "all clients", "p99", l, sizeof l), "  ~"));
	ck_assert_ptr_nonnull(strstr(out, "(seed 1)"));
	ck_assert_ptr_nonnull(strstr(out, "(seed 2)"));
	free(out);
}
END_TEST

START_TEST(test_success_rate_down_is_worse)
{
	fake a = fake_base(), b = fake_base();
	b.sr = 0.90;
	b.noise = 5;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_REGRESSION);
	row(out, "all clients", "success rate", l, sizeof l);
	ck_assert_msg(ends_with(l, "worse") && (strstr(l, " -8.9") || strstr(l, " -9.0")),
		      "%s", l);
	ck_assert(ends_with(row(out, "service api", "success rate", l, sizeof l),
			    "worse"));
	/* Latency did not move. */
	ck_assert(ends_with(row(out, "all clients", "p99", l, sizeof l), "  ~"));
	ck_assert_ptr_nonnull(strstr(out, "verdict: REGRESSION"));
	free(out);
}
END_TEST

START_TEST(test_p99_up_half_is_worse)
{
	fake a = fake_base(), b = fake_base();
	b.p99 = 150;
	b.noise = 5;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_REGRESSION);
	row(out, "all clients", "p99", l, sizeof l);
	ck_assert_msg(ends_with(l, "worse"), "%s", l);
	ck_assert_ptr_nonnull(strstr(l, "+50.0%"));
	/* The objective (p99 <= 1s) is met on both sides: the figure alone
	 * is the regression. */
	ck_assert_ptr_nonnull(strstr(out, "0 objectives newly missed"));
	ck_assert(ends_with(row(out, "all clients", "success rate", l, sizeof l), "  ~"));
	free(out);
}
END_TEST

START_TEST(test_better_is_not_a_regression)
{
	fake a = fake_base(), b = fake_base();
	a.sr = 0.95;
	a.amp = 1.5;
	b.p99 = 60;
	b.amp = 1.1;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_SAME);
	ck_assert_int_eq(flagged(out, "worse"), 0);
	ck_assert(ends_with(row(out, "all clients", "success rate", l, sizeof l), "better"));
	ck_assert(ends_with(row(out, "all clients", "p99", l, sizeof l), "better"));
	ck_assert(ends_with(row(out, "service api", "retry amplification", l,
				sizeof l), "better"));
	/* Success, p50, p90, p99 and amplification, totals and api. */
	ck_assert_ptr_nonnull(strstr(out, "0 figures worse, 10 better"));
	free(out);
}
END_TEST

START_TEST(test_amplification_up_is_worse)
{
	fake a = fake_base(), b = fake_base();
	b.amp = 1.8;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_REGRESSION);
	ck_assert(ends_with(row(out, "all clients", "retry amplification", l,
				sizeof l), "worse"));
	ck_assert(ends_with(row(out, "service api", "retry amplification", l,
				sizeof l), "worse"));
	free(out);
}
END_TEST

START_TEST(test_small_change_in_noisy_series_is_noise)
{
	/* Success -1 point and p99 +10%: in series that swing by 10 points
	 * and 50% a second, that is within the noise; in steady series it
	 * is not. */
	fake a = fake_base(), b = fake_base();
	a.sr = b.sr = 0.9;
	b.sr = 0.89;
	b.p99 = 110;
	b.noise = 7;
	a.sr_jitter = b.sr_jitter = 0.10;
	a.lat_jitter = b.lat_jitter = 0.5;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_SAME);
	ck_assert(ends_with(row(out, "all clients", "success rate", l, sizeof l), "  ~"));
	ck_assert(ends_with(row(out, "all clients", "p99", l, sizeof l), "  ~"));
	free(out);

	a.sr_jitter = b.sr_jitter = 0.002;
	a.lat_jitter = b.lat_jitter = 0.02;
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_REGRESSION);
	ck_assert(ends_with(row(out, "all clients", "success rate", l, sizeof l), "worse"));
	ck_assert(ends_with(row(out, "all clients", "p99", l, sizeof l), "worse"));
	free(out);
}
END_TEST

START_TEST(test_noise_is_batch_means)
{
	/* 12 batches at 0.98 and 1.00 in turn: sd of the batch figures
	 * 0.01 sqrt(12/11), se = sd / sqrt(12) = 0.0030151; for the change,
	 * 3 sqrt(2) se = 1.279 points. Each odd batch's last second has a
	 * p99 of 1s, which the batch median ignores: p99's noise is 0 and
	 * the 2% floor is the bar. */
	fake a = fake_base();
	a.alternate = 1;
	a.sr = 0.99;
	a.sr_jitter = 0.01;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &a, &out), DIFF_SAME);
	row(out, "all clients", "success rate", l, sizeof l);
	ck_assert_msg(strstr(l, " 1.279pp ") != NULL, "%s", l);
	row(out, "all clients", "p99", l, sizeof l);
	ck_assert_msg(strstr(l, " 2.0% ") != NULL, "%s", l);
	free(out);

	/* So a drop of 1.2 points is noise here and 1.4 points is not. */
	fake b = a;
	b.sr = 0.978;
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_SAME);
	free(out);
	b.sr = 0.976;
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_REGRESSION);
	free(out);
}
END_TEST

START_TEST(test_floor_ignores_tiny_changes)
{
	/* Perfectly steady series have no noise at all; a change of 0.05
	 * point or 1% is still nothing anyone would act on. */
	fake a = fake_base(), b = fake_base();
	a.sr_jitter = b.sr_jitter = 0;
	a.lat_jitter = b.lat_jitter = 0;
	b.sr = 0.9895;
	b.p99 = 101;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_SAME);
	ck_assert(ends_with(row(out, "all clients", "p99", l, sizeof l), "  ~"));
	free(out);
	b.p99 = 103;
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_REGRESSION);
	ck_assert(ends_with(row(out, "all clients", "p99", l, sizeof l), "worse"));
	free(out);
}
END_TEST

START_TEST(test_objective_newly_missed)
{
	/* p99 from 100ms to 115ms in series too noisy to flag it, but the
	 * objective p99 <= 110ms went from met to missed. */
	fake a = fake_base(), b = fake_base();
	a.lat_jitter = b.lat_jitter = 0.9;
	a.p99_target = b.p99_target = 110;
	b.p99 = 115;
	b.noise = 3;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_REGRESSION);
	ck_assert(ends_with(row(out, "all clients", "p99", l, sizeof l), "  ~"));
	line(out, "  service api       p99", l, sizeof l);
	ck_assert_msg(strstr(l, " 100.0ms met ") && ends_with(l, " 115.0ms MISSED regression"),
		      "%s", l);
	ck_assert_ptr_nonnull(strstr(out, "1 objective newly missed"));
	/* The other objective, met on both sides, is no regression. */
	line(out, "  overall           success_rate", l, sizeof l);
	ck_assert_msg(ends_with(l, " met"), "%s", l);

	/* And back: missed in A, met in B is an improvement. */
	free(out);
	ck_assert_int_eq(diff_fakes(&b, &a, &out), DIFF_SAME);
	line(out, "  service api       p99", l, sizeof l);
	ck_assert_msg(strstr(l, "MISSED") && ends_with(l, "met    improvement"), "%s", l);
	ck_assert_ptr_nonnull(strstr(out, "1 newly met"));
	free(out);
}
END_TEST

START_TEST(test_other_scenario_is_bad_input)
{
	fake a = fake_base(), b = fake_base();
	b.name = "shop-v2";
	char pa[128], pb[128], err[512], *out;
	path_of(pa, sizeof pa, "a.json");
	path_of(pb, sizeof pb, "b.json");
	fake_write(&a, pa);
	fake_write(&b, pb);
	ck_assert_int_eq(diff("a.json", "b.json", 0, &out, err, sizeof err),
			 DIFF_BAD_INPUT);
	ck_assert_str_eq(out, "");
	ck_assert_msg(strstr(err, pb) && strstr(err, "scenario.name") &&
			      strstr(err, "expected \"shop\"") &&
			      strstr(err, "found \"shop-v2\""),
		      "%s", err);
	free(out);
}
END_TEST

START_TEST(test_missing_file_is_bad_input)
{
	fake a = fake_base();
	char pa[128], err[512], *out;
	path_of(pa, sizeof pa, "a.json");
	fake_write(&a, pa);
	ck_assert_int_eq(diff("a.json", "nope.json", 0, &out, err, sizeof err),
			 DIFF_BAD_INPUT);
	ck_assert_msg(strstr(err, "nope.json: cannot read") != NULL, "%s", err);
	ck_assert_str_eq(out, "");
	free(out);
	/* A directory without a report in it names the file it looked for. */
	ck_assert_int_eq(diff(".", "a.json", 0, &out, err, sizeof err),
			 DIFF_BAD_INPUT);
	ck_assert_msg(strstr(err, "/report.json: cannot read") != NULL, "%s", err);
	free(out);
}
END_TEST

START_TEST(test_malformed_report_is_bad_input)
{
	char pa[128], pb[128], err[512], *out;
	path_of(pa, sizeof pa, "a.json");
	path_of(pb, sizeof pb, "b.json");
	fake a = fake_base();
	fake_write(&a, pa);
	/* Not JSON. */
	FILE *f = fopen(pb, "w");
	ck_assert_ptr_nonnull(f);
	fputs("{\"schema_version\": 1,", f);
	fclose(f);
	ck_assert_int_eq(diff("a.json", "b.json", 0, &out, err, sizeof err),
			 DIFF_BAD_INPUT);
	ck_assert_msg(strstr(err, pb) != NULL, "%s", err);
	free(out);
	/* Another schema. */
	json_t *r = json_load_file(pa, 0, NULL);
	json_object_set_new(r, "schema_version", json_integer(2));
	json_dump_file(r, pb, 0);
	ck_assert_int_eq(diff("a.json", "b.json", 0, &out, err, sizeof err),
			 DIFF_BAD_INPUT);
	ck_assert_msg(strstr(err, "schema_version: expected 1") != NULL, "%s", err);
	free(out);
	/* A series column of the wrong length. */
	json_object_set_new(r, "schema_version", json_integer(1));
	json_array_remove(json_object_get(json_object_get(json_object_get(r,
		"timeseries"), "overall"), "p99_ms"), 0);
	json_dump_file(r, pb, 0);
	ck_assert_int_eq(diff("a.json", "b.json", 0, &out, err, sizeof err),
			 DIFF_BAD_INPUT);
	ck_assert_msg(strstr(err, "timeseries.overall.p99_ms: expected 60 values") != NULL,
		      "%s", err);
	free(out);
	json_decref(r);
}
END_TEST

START_TEST(test_too_little_data)
{
	/* Seconds in which nothing ended do not count: 37 seconds with
	 * every other one empty are 19 with requests, 3 batches: success
	 * 0.99 -> 0.90 is shown but not judged. */
	fake a = fake_base(), b = fake_base();
	a.rows = b.rows = 37;
	a.gaps = b.gaps = 1;
	b.sr = 0.90;
	char *out, l[200];
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_SAME);
	row(out, "all clients", "success rate", l, sizeof l);
	ck_assert_msg(ends_with(l, "too little data to judge"), "%s", l);
	ck_assert_ptr_nonnull(strstr(l, "-9.0"));
	ck_assert_int_eq(flagged(out, "worse"), 0);
	free(out);
	/* 39 seconds: 20 with requests, 4 batches, enough. */
	a.rows = b.rows = 39;
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_REGRESSION);
	ck_assert(ends_with(row(out, "all clients", "success rate", l, sizeof l), "worse"));
	free(out);
	/* One side short is enough to withhold judgement. */
	b.rows = 10;
	ck_assert_int_eq(diff_fakes(&a, &b, &out), DIFF_SAME);
	ck_assert(ends_with(row(out, "all clients", "success rate", l, sizeof l),
			    "too little data to judge"));
	free(out);
}
END_TEST

START_TEST(test_directory_input_and_colour)
{
	fake a = fake_base(), b = fake_base();
	b.sr = 0.90;
	char pd[128], pa[128], pb[128], err[512], *out;
	path_of(pd, sizeof pd, "adir");
	ck_assert_int_eq(mkdir(pd, 0777), 0);
	path_of(pa, sizeof pa, "adir/report.json");
	path_of(pb, sizeof pb, "b.json");
	fake_write(&a, pa);
	fake_write(&b, pb);
	ck_assert_int_eq(diff("adir", "b.json", 1, &out, err, sizeof err),
			 DIFF_REGRESSION);
	ck_assert_ptr_nonnull(strstr(out, pa));
	ck_assert_ptr_nonnull(strstr(out, "\033[31m"));
	ck_assert_ptr_nonnull(strstr(out, "\033[0m"));
	free(out);
	ck_assert_int_eq(diff("adir", "b.json", 0, &out, err, sizeof err),
			 DIFF_REGRESSION);
	ck_assert_ptr_null(strchr(out, '\033'));
	free(out);
}
END_TEST

Suite *diff_suite(void)
{
	Suite *s = suite_create("diff");
	TCase *tc = tcase_create("diff");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_identical_reports);
	tcase_add_test(tc, test_other_seed_is_not_a_regression);
	tcase_add_test(tc, test_success_rate_down_is_worse);
	tcase_add_test(tc, test_p99_up_half_is_worse);
	tcase_add_test(tc, test_better_is_not_a_regression);
	tcase_add_test(tc, test_amplification_up_is_worse);
	tcase_add_test(tc, test_small_change_in_noisy_series_is_noise);
	tcase_add_test(tc, test_noise_is_batch_means);
	tcase_add_test(tc, test_floor_ignores_tiny_changes);
	tcase_add_test(tc, test_objective_newly_missed);
	tcase_add_test(tc, test_other_scenario_is_bad_input);
	tcase_add_test(tc, test_missing_file_is_bad_input);
	tcase_add_test(tc, test_malformed_report_is_bad_input);
	tcase_add_test(tc, test_too_little_data);
	tcase_add_test(tc, test_directory_input_and_colour);
	suite_add_tcase(s, tc);
	return s;
}
