/*
 * main.c - the meshsim command line.
 *
 *   meshsim run FILE [--seed N] [--out DIR] [--duration D] [--quiet]
 *   meshsim check FILE...
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

#include "dist.h"
#include "rec.h"
#include "report.h"
#include "scenario.h"
#include "sim.h"



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
		"  run FILE     simulate FILE and write DIR/report.json\n"
		"  check FILE...  validate scenarios without running them\n"
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
		"usage: meshsim run FILE [--seed N] [--out DIR] [--duration D] [--quiet]\n"
		"\n"
		"Simulate the scenario in FILE in virtual time. Prints a summary and\n"
		"writes DIR/report.json. The same file and seed give the same bytes.\n"
		"\n"
		"  --seed N       use seed N instead of the scenario's \"seed\"\n"
		"  --out DIR      where report.json goes (default: ./NAME, after the\n"
		"                 scenario's name)\n"
		"  --duration D   offer load for D (like \"30s\") instead of the\n"
		"                 scenario's \"duration\"\n"
		"  --quiet        print no summary and no progress\n"
		"\n"
		"exit status: 0 every objective in \"expect\" met, 1 one missed,\n"
		"2 bad input or usage, 3 the run failed\n");
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

static int cmd_run(int argc, char **argv)
{
	const char *file = NULL, *out = NULL, *seed_s = NULL, *dur_s = NULL;
	int quiet = 0;
	for (int i = 0; i < argc; i++) {
		const char *a = argv[i];
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			usage_run(stdout);
			return EXIT_MET;
		} else if (strcmp(a, "--quiet") == 0 || strcmp(a, "-q") == 0) {
			quiet = 1;
		} else if (strcmp(a, "--seed") == 0 || strcmp(a, "--out") == 0 ||
			   strcmp(a, "--duration") == 0) {
			if (i + 1 >= argc) {
				fprintf(stderr, "meshsim run: %s needs a value\n", a);
				return EXIT_USAGE;
			}
			const char **dst = a[2] == 's' ? &seed_s : a[2] == 'o' ? &out : &dur_s;
			*dst = argv[++i];
		} else if (a[0] == '-' && a[1]) {
			fprintf(stderr, "meshsim run: unknown option %s\n", a);
			usage_run(stderr);
			return EXIT_USAGE;
		} else if (file) {
			fprintf(stderr, "meshsim run: one FILE at a time (got %s and %s)\n",
				file, a);
			return EXIT_USAGE;
		} else {
			file = a;
		}
	}
	if (!file) {
		fprintf(stderr, "meshsim run: no FILE given\n");
		usage_run(stderr);
		return EXIT_USAGE;
	}
	uint64_t seed = 0;
	if (seed_s && parse_u64(seed_s, &seed) < 0) {
		fprintf(stderr, "meshsim run: --seed: expected an integer >= 0, found \"%s\"\n",
			seed_s);
		return EXIT_USAGE;
	}
	mesh_time dur = 0;
	if (dur_s && (scn_parse_duration(dur_s, &dur) < 0 || dur == 0)) {
		fprintf(stderr, "meshsim run: --duration: expected a duration above zero "
				"with a unit, like \"30s\", found \"%s\"\n",
			dur_s);
		return EXIT_USAGE;
	}

	scn_errors e = {0};
	model *m = scn_load_file(file, &e);
	if (!m) {
		print_errors(&e);
		scn_errors_free(&e);
		return EXIT_USAGE;
	}
	if (seed_s)
		m->seed = seed;
	if (dur_s)
		m->duration = dur;
	char outbuf[4096];
	if (!out) {
		snprintf(outbuf, sizeof outbuf, "%s", m->name);
		out = outbuf;
	}

	int rc = EXIT_FAILED;
	report_verdict *v = NULL;
	sim *s = NULL;
	rec *r = rec_new(m);
	if (!r)
		goto done;
	s = sim_new(m, m->seed, r);
	if (!s)
		goto done;
	progress p = {.total = m->duration + m->drain};
	clock_gettime(CLOCK_MONOTONIC, &p.start);
	if (!quiet && isatty(STDERR_FILENO))
		sim_set_progress(s, show_progress, &p);
	int sr = sim_run(s);
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
	if (sr < 0) {
		fprintf(stderr, "meshsim run: out of memory during the simulation\n");
		goto done;
	}
	if (p.shown)
		fprintf(stderr, "\r%*s\r", 79, "");
	v = calloc(m->nobjectives ? m->nobjectives : 1, sizeof *v);
	if (!v)
		goto done;
	uint32_t missed = report_evaluate(m, r, v);
	char err[512];
	if (report_write_json(m, r, m->seed, "sim", v, out, err, sizeof err) < 0) {
		fprintf(stderr, "meshsim run: %s\n", err);
		goto done;
	}
	if (!quiet) {
		report_print_summary(stdout, m, r, m->seed, v);
		printf("report: %s/report.json (wall %.2fs)\n", out, since(&p.start));
	}
	int accounted = r->overall.live_at_end == rec_in_flight(&r->overall);
	if (!accounted)
		fprintf(stderr, "meshsim run: request accounting does not add up: "
				"%llu in flight by the recorder, %llu held by agents\n",
			(unsigned long long)rec_in_flight(&r->overall),
			(unsigned long long)r->overall.live_at_end);
	rc = missed || !accounted ? EXIT_MISSED : EXIT_MET;
done:
	if (rc == EXIT_FAILED && !v)
		fprintf(stderr, "meshsim run: failed (out of memory?)\n");
	free(v);
	sim_free(s);
	rec_free(r);
	model_free(m);
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
	fprintf(stderr, "meshsim: unknown command \"%s\"\n", cmd);
	usage_main(stderr);
	return EXIT_USAGE;
}
