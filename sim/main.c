/*
 * main.c - the meshsim command line.
 *
 *   meshsim run FILE... [--seed N] [--out DIR] [--duration D] [--junit FILE]
 *               [--no-charts] [--quiet] [--live]
 *   meshsim agent app|sidecar|load FILE --net B --pod P [--seed N] ...
 *   meshsim check FILE...
 *   meshsim report DIR
 *   meshsim diff A B
 *   meshsim sweep FILE --seeds N [--first-seed S] [--jobs J] [--json FILE]
 *                 [--max-false-rate R] [--duration D] [--quiet]
 *   meshsim --version | --help
 *
 * Exit status: 0 when every objective is met, 1 when one is missed (or the
 * report's request accounting does not add up), 2 for bad input or usage,
 * 3 when the run itself failed (out of memory, report not written).
 */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diff.h"
#include "dist.h"
#include "junit.h"
#include "live.h"
#include "live_orch.h"
#include "rec.h"
#include "rollout.h"
#include "render.h"
#include "report.h"
#include "scenario.h"
#include "sim.h"
#include "sweep.h"



enum { EXIT_MET = 0, EXIT_MISSED = 1, EXIT_USAGE = 2, EXIT_FAILED = 3 };

static void usage_main(FILE *f)
{
	fprintf(f,
		"usage: meshsim <command> [options]\n"
		"\n"
		"Simulate a service mesh from a JSON scenario and report what the\n"
		"traffic saw.\n"
		"\n"
		"commands:\n"
		"  run FILE...    simulate scenarios; write report.json, charts, report.html\n"
		"  check FILE...  validate scenarios without running them\n"
		"  report DIR     make the summary, charts and report.html again from\n"
		"                 DIR/report.json\n"
		"  diff A B       compare two reports of one scenario; exit 1 on a regression\n"
		"  agent KIND ... one process of a live run (started by run --live)\n"
		"  sweep FILE     run a rollout over many seeds: how often it promotes a\n"
		"                 bad canary or rolls back a good one\n"
		"\n"
		"options:\n"
		"  --help       show help (also: meshsim <command> --help)\n"
		"  --version    show the version\n"
		"\n"
		"exit status: 0 objectives met, 1 an objective missed,\n"
		"2 bad input or usage, 3 the run failed\n");
}

static void usage_run(FILE *f)
{
	fprintf(f,
		"usage: meshsim run FILE... [--seed N] [--out DIR] [--duration D]\n"
		"                   [--junit FILE] [--no-charts] [--quiet] [--live]\n"
		"\n"
		"Simulate each scenario in virtual time. Prints a summary and writes\n"
		"DIR/report.json (the same file and seed give the same bytes), charts\n"
		"in DIR/charts (when gnuplot is installed) and DIR/report.html.\n"
		"Several files run as one suite, each into DIR/NAME.\n"
		"\n"
		"  --seed N       use seed N instead of the scenario's \"seed\"\n"
		"  --out DIR      where the report goes (default: ./NAME, after the\n"
		"                 scenario's name; with several files, DIR/NAME)\n"
		"  --duration D   offer load for D (like \"30s\") instead of the\n"
		"                 scenario's \"duration\"\n"
		"  --junit FILE   also write JUnit XML: a test suite per scenario, a\n"
		"                 test case per objective\n"
		"  --no-charts    do not run gnuplot\n"
		"  --quiet        print no summary and no progress\n"
		"  --live         run it for real: one process per app, sidecar and\n"
		"                 load, HTTP/1.1 on loopback (127.B.0.0/16), in wall\n"
		"                 time; logs and metrics in DIR/live\n"
		"  --seeds N      a sweep of N seeds instead (see meshsim sweep --help)\n"
		"\n"
		"exit status: 0 every objective in \"expect\" met, 1 one missed,\n"
		"2 bad input or usage (or, live, a process did not come up), 3 the\n"
		"run failed (the worst over all files); live, 130 on SIGINT\n");
}

static void usage_report(FILE *f)
{
	fprintf(f,
		"usage: meshsim report DIR [--no-charts] [--quiet]\n"
		"\n"
		"Read DIR/report.json (or a report.json path) and make the text summary,\n"
		"the charts and DIR/report.html again, as `meshsim run` made them.\n"
		"\n"
		"exit status: 0 the report's verdict is pass, 1 fail, 2 bad input,\n"
		"3 a renderer failed\n");
}

static void usage_diff(FILE *f)
{
	fprintf(f,
		"usage: meshsim diff A B\n"
		"\n"
		"Compare two runs of the same scenario (report.json files, or folders\n"
		"holding one), typically at different seeds or before and after a\n"
		"change: per objective and per service, the change in success rate and\n"
		"latency percentiles, flagged worse or better only when it is beyond the\n"
		"noise each run's own per-second variation explains.\n"
		"\n"
		"exit status: 0 no regression, 1 a regression, 2 bad input\n");
}

static void usage_sweep(FILE *f)
{
	fprintf(f,
		"usage: meshsim sweep FILE --seeds N [--first-seed S] [--jobs J]\n"
		"                     [--json FILE] [--max-false-rate R] [--duration D]\n"
		"                     [--quiet]\n"
		"       meshsim run FILE --seeds N ...   (the same)\n"
		"\n"
		"Simulate the scenario's rollout once per seed, S to S+N-1 (S is 1 by\n"
		"default), each until its decision, in worker processes, and report how\n"
		"often it was promoted, rolled back or left inconclusive, with 95%%\n"
		"Wilson score intervals, the time to decision and the blast radius.\n"
		"With \"truth\" in the rollout (\"good\" or \"bad\"), the wrong\n"
		"decision's rate is the false promotion or false rollback rate. The\n"
		"results are the same whatever the number of workers.\n"
		"\n"
		"  --seeds N           how many rollouts (seeds)\n"
		"  --first-seed S      the first seed (default 1)\n"
		"  --jobs J            worker processes (default: one per core)\n"
		"  --json FILE         also write every seed's result and the summary\n"
		"  --max-false-rate R  exit 1 when the upper 95%% bound of the false\n"
		"                      decision rate is above R (like 0.05 or 5%%)\n"
		"  --duration D        offer load for D instead of the scenario's\n"
		"  --quiet             no progress line\n"
		"\n"
		"exit status: 0 done (and within --max-false-rate), 1 above it,\n"
		"2 bad input or usage, 3 the sweep failed\n");
}

static void usage_check(FILE *f)
{
	fprintf(f,
		"usage: meshsim check FILE...\n"
		"\n"
		"Validate each scenario without running it. Every problem is reported,\n"
		"one per line, as FILE: JSON.PATH: expected ..., found ....\n"
		"\n"
		"exit status: 0 all valid, 2 a file has errors\n");
}

static void print_errors(const scn_errors *e)
{
	for (size_t i = 0; i < e->n; i++)
		fprintf(stderr, "%s\n", e->msg[i]);
}

static int cmd_check(int argc, char **argv)
{
	int nfiles = 0, bad = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage_check(stdout);
			return EXIT_MET;
		}
		if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "meshsim check: unknown option %s\n", argv[i]);
			usage_check(stderr);
			return EXIT_USAGE;
		}
	}
	for (int i = 0; i < argc; i++) {
		scn_errors e = {0};
		model *m = scn_load_file(argv[i], &e);
		nfiles++;
		if (m) {
			printf("%s: ok (%u services, %u load clients, %u objectives)\n",
			       argv[i], m->nservices, m->nclients, m->nobjectives);
			model_free(m);
		} else {
			print_errors(&e);
			fprintf(stderr, "%s: %zu error%s\n", argv[i], e.n,
				e.n == 1 ? "" : "s");
			bad++;
		}
		scn_errors_free(&e);
	}
	if (!nfiles) {
		fprintf(stderr, "meshsim check: no FILE given\n");
		usage_check(stderr);
		return EXIT_USAGE;
	}
	return bad ? EXIT_USAGE : EXIT_MET;
}

/* ---- progress on a terminal ---- */

typedef struct progress {
	struct timespec start;
	double last;
	int shown;
	mesh_time total;
} progress;

static double since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void show_progress(void *arg, mesh_time now, uint64_t events,
			  uint64_t requests)
{
	progress *p = arg;
	double w = since(&p->start);
	/* Only for runs longer than a second, and at most 5 times a second. */
	if (w < 1.0 || w - p->last < 0.2)
		return;
	p->last = w;
	p->shown = 1;
	fprintf(stderr, "\r  simulated %.1fs of %.1fs  wall %.1fs  %llu requests  %llu events ",
		(double)now / 1e9, (double)p->total / 1e9, w,
		(unsigned long long)requests, (unsigned long long)events);
	fflush(stderr);
}

static int parse_u64(const char *s, uint64_t *out)
{
	char *end;
	errno = 0;
	if (!*s || *s == '-')
		return -1;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = v;
	return 0;
}

/* Charts are optional: without gnuplot a run still writes everything
 * else, and says so once. */
static int charts_warned;

/* Make the charts and report.html for the report in dir; print the text
 * summary unless quiet. Returns 0, or -1 when a renderer failed (said on
 * stderr). */
static int render_all(const json_t *r, const char *dir, int quiet, int no_charts)
{
	char why[600];
	int rc = 0;
	if (!quiet)
		render_text(r, stdout, render_want_color(stdout));
	if (!no_charts) {
		int c = render_charts(r, dir, why, sizeof why);
		if (c > 0 && !charts_warned++)
			fprintf(stderr, "meshsim: %s\n", why);
		/* Charts are for people: one that gnuplot could not draw
		 * is reported, but does not change the run's verdict. */
		if (c < 0)
			fprintf(stderr, "meshsim: %s\n", why);
	}
	if (render_html(r, dir, why, sizeof why) < 0) {
		fprintf(stderr, "meshsim: %s\n", why);
		rc = -1;
	}
	return rc;
}

typedef struct run_opts {
	const char *out;
	int several;        /* more than one file: each goes to out/NAME */
	int has_seed;
	uint64_t seed;
	mesh_time duration; /* 0: the scenario's */
	int quiet;
	int no_charts;
	int live;           /* --live: real processes (live_orch.h) */
} run_opts;

/* Run one scenario. Returns its exit status and, in *report, the parsed
 * report.json (caller frees) when one was written. */
static int run_one(const char *file, const run_opts *o, json_t **report)
{
	*report = NULL;
	scn_errors e = {0};
	model *m = scn_load_file(file, &e);
	if (!m) {
		print_errors(&e);
		scn_errors_free(&e);
		return EXIT_USAGE;
	}
	if (o->has_seed)
		m->seed = o->seed;
	if (o->duration)
		m->duration = o->duration;
	char out[4096];
	if (o->several)
		snprintf(out, sizeof out, "%s/%s", o->out ? o->out : ".", m->name);
	else
		snprintf(out, sizeof out, "%s", o->out ? o->out : m->name);

	int rc = EXIT_FAILED;
	report_verdict *v = NULL;
	sim *s = NULL;
	char *text = NULL;
	json_t *live = NULL;
	int broken = 0;
	rec *r = rec_new(m);
	if (!r)
		goto done;
	progress p = {.total = m->duration + m->drain};
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	if (o->live) {
		live_orch_opts lo = {.scenario_path = file, .out = out, .quiet = o->quiet};
		int lr = live_orch_run(m, &lo, r, &live);
		if (lr > 0) {
			rc = lr;
			goto done;
		}
		broken = lr == LIVE_ORCH_BROKEN;
		/* report.json gets it as its "live" section. */
		json_t *sec = live;
		live = json_pack("{so}", "live", sec);
		if (!live)
			goto done;
		goto report;
	}
	s = sim_new(m, m->seed, r);
	if (!s)
		goto done;
	if (!o->quiet && isatty(STDERR_FILENO))
		sim_set_progress(s, show_progress, &p);
	int sr = sim_run(s);
	if (p.shown)
		fprintf(stderr, "\r%*s\r", 79, "");
	if (sr == -2) {
		fprintf(stderr,
			"meshsim run: %s: virtual time stopped at %.6fs: over %u events "
			"at one instant. A closed-loop client with no think time "
			"calling a path that takes no time does this; give \"think\", "
			"the network or the service some latency.\n",
			file, (double)sim_now(s) / 1e9, SIM_STALL_EVENTS);
		rc = EXIT_USAGE;
		goto done;
	}
	if (sr < 0 && sim_error(s)) {
		fprintf(stderr, "meshsim run: %s: %s\n", file, sim_error(s));
		rc = EXIT_USAGE;
		goto done;
	}
	if (sr < 0) {
		fprintf(stderr, "meshsim run: %s: out of memory during the simulation\n", file);
		goto done;
	}
report:
	v = calloc(m->nobjectives ? m->nobjectives : 1, sizeof *v);
	if (!v)
		goto done;
	uint32_t missed = report_evaluate(m, r, v);
	char err[512];
	const char *mode = o->live ? "live" : "sim";
	if (report_write_json_extra(m, r, m->seed, mode, v, live, out, err, sizeof err) < 0) {
		fprintf(stderr, "meshsim run: %s\n", err);
		goto done;
	}
	/* Everything people look at is made from report.json itself. */
	text = report_json_string_extra(m, r, m->seed, mode, v, live);
	*report = text ? json_loads(text, 0, NULL) : NULL;
	if (!*report) {
		fprintf(stderr, "meshsim run: cannot read back the report\n");
		goto done;
	}
	int rend = render_all(*report, out, o->quiet, o->no_charts);
	if (!o->quiet)
		printf("report: %s/report.json, %s/report.html (wall %.2fs)\n", out, out,
		       since(&p.start));
	int accounted = r->overall.live_at_end == rec_in_flight(&r->overall);
	if (!accounted)
		fprintf(stderr, "meshsim run: request accounting does not add up: "
				"%llu in flight by the recorder, %llu held by agents\n",
			(unsigned long long)rec_in_flight(&r->overall),
			(unsigned long long)r->overall.live_at_end);
	rc = missed || !accounted ? EXIT_MISSED : rend < 0 ? EXIT_FAILED : EXIT_MET;
	/* A live run whose harness broke (a process died, records missing)
	 * failed as a run, whatever its objectives say. */
	if (broken) {
		fprintf(stderr, "meshsim run: %s: the live run had problems (see \"live\" "
				"in report.json); exit status 3\n", file);
		rc = EXIT_FAILED;
	}
done:
	json_decref(live);
	free(text);
	free(v);
	sim_free(s);
	rec_free(r);
	model_free(m);
	return rc;
}

/* A rate: "0.05" or "5%". */
static int parse_rate(const char *s, double *out)
{
	char *end;
	errno = 0;
	double x = strtod(s, &end);
	if (errno || end == s)
		return -1;
	if (*end == '%') {
		x /= 100;
		end++;
	}
	if (*end || !(x >= 0 && x <= 1))
		return -1;
	*out = x;
	return 0;
}

static int cmd_sweep(int argc, char **argv)
{
	const char *file = NULL, *json = NULL, *seeds_s = NULL, *first_s = NULL,
		   *jobs_s = NULL, *max_s = NULL, *dur_s = NULL;
	int quiet = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		const char **dst = strcmp(a, "--seeds") == 0        ? &seeds_s
				   : strcmp(a, "--first-seed") == 0 ? &first_s
				   : strcmp(a, "--jobs") == 0       ? &jobs_s
				   : strcmp(a, "--json") == 0       ? &json
				   : strcmp(a, "--max-false-rate") == 0 ? &max_s
				   : strcmp(a, "--duration") == 0   ? &dur_s
								    : NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage_sweep(stdout);
			return EXIT_MET;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0 ||
			   strcmp(a, "--no-charts") == 0) {
			quiet |= a[2] != 'n';
		} else if (dst) {
			if (i + 1 >= argc) {
				fprintf(stderr, "meshsim sweep: %s needs a value\n", a);
				return EXIT_USAGE;
			}
			*dst = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "meshsim sweep: unknown option %s\n", a);
			usage_sweep(stderr);
			return EXIT_USAGE;
		} else if (file) {
			fprintf(stderr, "meshsim sweep: one FILE at a time\n");
			return EXIT_USAGE;
		} else {
			file = a;
		}
	}
	if (!file || !seeds_s) {
		fprintf(stderr, "meshsim sweep: %s\n", file ? "--seeds N is needed"
							     : "no FILE given");
		usage_sweep(stderr);
		return EXIT_USAGE;
	}
	sweep_opts o = {.first_seed = 1};
	uint64_t n = 0, jobs = 0;
	double max_rate = -1;
	mesh_time duration = 0;
	if (parse_u64(seeds_s, &n) < 0 || n < 1 || n > 10000000) {
		fprintf(stderr, "meshsim sweep: --seeds: expected an integer from 1 to "
				"10000000, found \"%s\"\n", seeds_s);
		return EXIT_USAGE;
	}
	if (first_s && parse_u64(first_s, &o.first_seed) < 0) {
		fprintf(stderr, "meshsim sweep: --first-seed: expected an integer >= 0, "
				"found \"%s\"\n", first_s);
		return EXIT_USAGE;
	}
	if (jobs_s && (parse_u64(jobs_s, &jobs) < 0 || jobs < 1 || jobs > 1024)) {
		fprintf(stderr, "meshsim sweep: --jobs: expected an integer from 1 to "
				"1024, found \"%s\"\n", jobs_s);
		return EXIT_USAGE;
	}
	if (max_s && parse_rate(max_s, &max_rate) < 0) {
		fprintf(stderr, "meshsim sweep: --max-false-rate: expected a rate like "
				"0.05 or 5%%, found \"%s\"\n", max_s);
		return EXIT_USAGE;
	}
	if (dur_s && (scn_parse_duration(dur_s, &duration) < 0 || duration == 0)) {
		fprintf(stderr, "meshsim sweep: --duration: expected a duration above "
				"zero with a unit, like \"30m\", found \"%s\"\n", dur_s);
		return EXIT_USAGE;
	}
	o.n = (uint32_t)n;
	o.jobs = (uint32_t)jobs;
	o.progress = !quiet && isatty(STDERR_FILENO);
	scn_errors e = {0};
	model *m = scn_load_file(file, &e);
	if (!m) {
		print_errors(&e);
		scn_errors_free(&e);
		return EXIT_USAGE;
	}
	if (!m->rollout) {
		fprintf(stderr, "meshsim sweep: %s: expected a scenario with a "
				"\"rollout\" block, found none\n", file);
		model_free(m);
		return EXIT_USAGE;
	}
	if (max_s && m->rollout->truth == RO_TRUTH_UNKNOWN) {
		fprintf(stderr, "meshsim sweep: --max-false-rate: %s: expected "
				"\"truth\": \"good\" or \"bad\" in the rollout (which "
				"decision is false?), found none\n", file);
		model_free(m);
		return EXIT_USAGE;
	}
	if (duration)
		m->duration = duration;
	int rc = EXIT_FAILED;
	sweep_result *res = calloc(o.n, sizeof *res);
	struct timespec t0;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (!res || sweep_run(m, &o, res) < 0) {
		fprintf(stderr, "meshsim sweep: cannot start the workers: %s\n",
			strerror(errno));
		goto done;
	}
	double wall = since(&t0);
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	uint32_t used = o.jobs ? o.jobs : cores > 0 ? (uint32_t)cores : 1;
	if (used > o.n)
		used = o.n;
	sweep_summary s;
	sweep_summarize(m, res, o.n, &s);
	sweep_print(stdout, m, &o, &s, wall, used);
	char err[600];
	if (json && sweep_write_json(json, m, &o, &s, res, err, sizeof err) < 0) {
		fprintf(stderr, "meshsim sweep: %s\n", err);
		goto done;
	}
	rc = EXIT_MET;
	if (s.failed_runs) {
		fprintf(stderr, "meshsim sweep: %u of %u runs failed\n", s.failed_runs, o.n);
		rc = EXIT_FAILED;
	} else if (max_s && s.false_hi > max_rate) {
		printf("%s rate above the bound: upper 95%% bound %.1f%% > %.1f%%\n",
		       s.false_what, 100 * s.false_hi, 100 * max_rate);
		rc = EXIT_MISSED;
	} else if (max_s) {
		printf("%s rate within the bound: upper 95%% bound %.1f%% <= %.1f%%\n",
		       s.false_what, 100 * s.false_hi, 100 * max_rate);
	}
done:
	free(res);
	model_free(m);
	return rc;
}

static int cmd_run(int argc, char **argv)
{
	run_opts o = {0};
	const char *seed_s = NULL, *dur_s = NULL, *junit = NULL;
	/* `run FILE --seeds N` is a sweep. */
	for (int i = 0; i < argc; i++)
		if (strcmp(argv[i], "--seeds") == 0)
			return cmd_sweep(argc, argv);
	const char **files = calloc((size_t)argc + 1, sizeof *files);
	int nfiles = 0;
	if (!files)
		return EXIT_FAILED;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage_run(stdout);
			free(files);
			return EXIT_MET;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			o.quiet = 1;
		} else if (strcmp(a, "--no-charts") == 0) {
			o.no_charts = 1;
		} else if (strcmp(a, "--live") == 0) {
			o.live = 1;
		} else if (strcmp(a, "--seed") == 0 || strcmp(a, "--out") == 0 ||
			   strcmp(a, "--duration") == 0 || strcmp(a, "--junit") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "meshsim run: %s needs a value\n", a);
				free(files);
				return EXIT_USAGE;
			}
			const char **dst = strcmp(a, "--seed") == 0 ? &seed_s
					   : strcmp(a, "--out") == 0 ? &o.out
					   : strcmp(a, "--junit") == 0 ? &junit
								       : &dur_s;
			*dst = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "meshsim run: unknown option %s\n", a);
			usage_run(stderr);
			free(files);
			return EXIT_USAGE;
		} else {
			files[nfiles++] = a;
		}
	}
	if (!nfiles) {
		fprintf(stderr, "meshsim run: no FILE given\n");
		usage_run(stderr);
		free(files);
		return EXIT_USAGE;
	}
	if (seed_s && parse_u64(seed_s, &o.seed) < 0) {
		fprintf(stderr, "meshsim run: --seed: expected an integer >= 0, found \"%s\"\n",
			seed_s);
		free(files);
		return EXIT_USAGE;
	}
	o.has_seed = seed_s != NULL;
	if (dur_s && (scn_parse_duration(dur_s, &o.duration) < 0 || o.duration == 0)) {
		fprintf(stderr, "meshsim run: --duration: expected a duration above zero "
				"with a unit, like \"30s\", found \"%s\"\n",
			dur_s);
		free(files);
		return EXIT_USAGE;
	}
	o.several = nfiles > 1;

	/* Several files run as one suite: each report in its own folder,
	 * the worst exit status wins (bad input, then failure, then a
	 * missed objective). */
	json_t **reports = calloc((size_t)nfiles, sizeof *reports);
	int worst = EXIT_MET;
	for (int i = 0; i < nfiles && reports; i++) {
		if (o.several && !o.quiet)
			printf("%s== %s\n", i ? "\n" : "", files[i]);
		int rc = run_one(files[i], &o, &reports[i]);
		if (rc > EXIT_FAILED) {
			/* A live run interrupted by a signal: stop the suite. */
			worst = rc;
			break;
		}
		static const int rank[] = {[EXIT_MET] = 0, [EXIT_MISSED] = 1,
					   [EXIT_FAILED] = 2, [EXIT_USAGE] = 3};
		if (rank[rc] > rank[worst])
			worst = rc;
	}
	if (junit && reports) {
		json_t **have = calloc((size_t)nfiles, sizeof *have);
		size_t n = 0;
		for (int i = 0; have && i < nfiles; i++)
			if (reports[i])
				have[n++] = reports[i];
		char err[512];
		if (!have || junit_write(junit, (json_t *const *)have, n, err, sizeof err) < 0) {
			fprintf(stderr, "meshsim run: --junit: %s\n", have ? err : "out of memory");
			if (worst == EXIT_MET || worst == EXIT_MISSED)
				worst = EXIT_FAILED;
		}
		free(have);
	}
	if (o.several && !o.quiet)
		printf("\nsuite: %d scenarios, exit status %d\n", nfiles, worst);
	for (int i = 0; reports && i < nfiles; i++)
		json_decref(reports[i]);
	free(reports);
	free(files);
	return reports ? worst : EXIT_FAILED;
}

static int cmd_report(int argc, char **argv)
{
	const char *dir = NULL;
	int no_charts = 0, quiet = 0;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage_report(stdout);
			return EXIT_MET;
		} else if (strcmp(argv[i], "--no-charts") == 0) {
			no_charts = 1;
		} else if (strcmp(argv[i], "--quiet") == 0 || strcmp(argv[i], "-q") == 0) {
			quiet = 1;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "meshsim report: unknown option %s\n", argv[i]);
			usage_report(stderr);
			return EXIT_USAGE;
		} else if (dir) {
			fprintf(stderr, "meshsim report: one DIR at a time\n");
			return EXIT_USAGE;
		} else {
			dir = argv[i];
		}
	}
	if (!dir) {
		usage_report(stderr);
		return EXIT_USAGE;
	}
	char err[600];
	json_t *r = render_load(dir, err, sizeof err);
	if (!r) {
		fprintf(stderr, "meshsim report: %s\n", err);
		return EXIT_USAGE;
	}
	/* A report.json path renders into its folder. */
	char folder[4096];
	snprintf(folder, sizeof folder, "%s", dir);
	size_t l = strlen(folder);
	if (l >= 5 && strcmp(folder + l - 5, ".json") == 0) {
		char *slash = strrchr(folder, '/');
		if (slash)
			*slash = '\0';
		else
			snprintf(folder, sizeof folder, ".");
	}
	int rc = render_all(r, folder, quiet, no_charts);
	int pass = strcmp(json_string_value(json_object_get(r, "verdict")) ?
			  json_string_value(json_object_get(r, "verdict")) : "", "pass") == 0;
	json_decref(r);
	if (rc < 0)
		return EXIT_FAILED;
	return pass ? EXIT_MET : EXIT_MISSED;
}

static int cmd_diff(int argc, char **argv)
{
	const char *a = NULL, *b = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			usage_diff(stdout);
			return EXIT_MET;
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "meshsim diff: unknown option %s\n", argv[i]);
			usage_diff(stderr);
			return EXIT_USAGE;
		} else if (!a) {
			a = argv[i];
		} else if (!b) {
			b = argv[i];
		} else {
			fprintf(stderr, "meshsim diff: two reports, A and B\n");
			return EXIT_USAGE;
		}
	}
	if (!b) {
		usage_diff(stderr);
		return EXIT_USAGE;
	}
	char err[600];
	int rc = diff_reports(a, b, stdout, render_want_color(stdout), err, sizeof err);
	if (rc == 2)
		fprintf(stderr, "meshsim diff: %s\n", err);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage_main(stderr);
		return EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 ||
	    strcmp(cmd, "help") == 0) {
		usage_main(stdout);
		return EXIT_MET;
	}
	if (strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
		printf("meshsim %s\n", MESHSIM_VERSION);
		return EXIT_MET;
	}
	if (strcmp(cmd, "run") == 0)
		return cmd_run(argc - 2, argv + 2);
	if (strcmp(cmd, "check") == 0)
		return cmd_check(argc - 2, argv + 2);
	if (strcmp(cmd, "report") == 0)
		return cmd_report(argc - 2, argv + 2);
	if (strcmp(cmd, "diff") == 0)
		return cmd_diff(argc - 2, argv + 2);
	if (strcmp(cmd, "agent") == 0)
		return live_agent_main(argc - 1, argv + 1);
	if (strcmp(cmd, "sweep") == 0)
		return cmd_sweep(argc - 2, argv + 2);
	fprintf(stderr, "meshsim: unknown command \"%s\"\n", cmd);
	usage_main(stderr);
	return EXIT_USAGE;
}
