/*
 * render_rollout.c - the rollout's text, charts and HTML section, from
 * report.json's "rollout" section only.
 */
#include "render_rollout.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "render_util.h"

static const char *verdict_text(const char *v)
{
	if (strcmp(v, "promoted") == 0)
		return "PROMOTED";
	if (strcmp(v, "rolled_back") == 0)
		return "ROLLED BACK";
	if (strcmp(v, "inconclusive") == 0)
		return "INCONCLUSIVE (held for a person)";
	return "IN PROGRESS at the end of the run";
}

/* "1m30s", "45s", "2.5s". */
static void when(char *b, size_t n, double s)
{
	if (!isfinite(s))
		snprintf(b, n, "-");
	else if (s >= 60 && fmod(s, 60) == 0)
		snprintf(b, n, "%dm", (int)(s / 60));
	else if (s >= 60 && fabs(s - round(s)) < 1e-6)
		snprintf(b, n, "%dm%02ds", (int)(s / 60), (int)fmod(s, 60));
	else if (s >= 60)
		snprintf(b, n, "%dm%04.1fs", (int)(s / 60), fmod(s, 60));
	else
		snprintf(b, n, "%gs", s);
}

static void shape(char *b, size_t n, const json_t *ro)
{
	const char *st = ru_str(ro, "strategy", "?");
	char iv[32];
	when(iv, sizeof iv, ru_num(ro, "interval_s", NAN));
	if (strcmp(st, "steps") == 0)
		snprintf(b, n, "Argo Rollouts steps");
	else if (strcmp(st, "canary") == 0)
		snprintf(b, n, "Flagger canary, interval %s, threshold %.0f, max weight %g%s",
			 iv, ru_num(ro, "threshold", 0), ru_num(ro, "max_weight", 0),
			 json_is_true(json_object_get(ro, "mirror")) ? ", mirror first" : "");
	else if (strcmp(st, "ab") == 0)
		snprintf(b, n, "Flagger A/B by header, interval %s, threshold %.0f, %.0f iterations",
			 iv, ru_num(ro, "threshold", 0), ru_num(ro, "iterations", 0));
	else
		snprintf(b, n, "Flagger blue/green%s, interval %s, threshold %.0f, %.0f iterations",
			 json_is_true(json_object_get(ro, "mirror")) ? " with mirroring" : "",
			 iv, ru_num(ro, "threshold", 0), ru_num(ro, "iterations", 0));
}

static void cell(char *b, size_t n, const json_t *side, const char *key, int ms)
{
	const json_t *v = json_object_get(side, key);
	if (!json_is_number(v))
		snprintf(b, n, "-");
	else if (ms)
		ru_ms(b, n, json_number_value(v));
	else
		snprintf(b, n, "%.2f%%", json_number_value(v));
}

#define GREEN "\033[32m"
#define RED "\033[31m"
#define BOLD "\033[1m"
#define OFF "\033[0m"

void render_rollout_text(const json_t *r, FILE *f, int color)
{
	const json_t *ro = json_object_get(r, "rollout");
	if (!json_is_object(ro))
		return;
	const char *v = ru_str(ro, "verdict", "?");
	char sh[160], t[32];
	shape(sh, sizeof sh, ro);
	when(t, sizeof t, ru_num(ro, "time_to_decision_s", NAN));
	int good = strcmp(v, "promoted") == 0;
	fprintf(f, "\n%srollout%s %s: %s -> %s%s%s (%s)\n", color ? BOLD : "",
		color ? OFF : "", ru_str(ro, "service", "?"), ru_str(ro, "stable", "?"),
		ru_str(ro, "canary", "?"),
		json_is_string(json_object_get(ro, "baseline")) ? ", baseline " : "",
		json_is_string(json_object_get(ro, "baseline")) ? ru_str(ro, "baseline", "")
								  : "",
		sh);
	fprintf(f, "verdict: %s%s%s", color ? (good ? GREEN BOLD : RED BOLD) : "",
		verdict_text(v), color ? OFF : "");
	if (json_is_number(json_object_get(ro, "time_to_decision_s")))
		fprintf(f, " after %s", t);
	fprintf(f, "\n");
	if (*ru_str(ro, "reason", ""))
		fprintf(f, "  why: %.92s\n", ru_str(ro, "reason", ""));
	const json_t *tl = json_object_get(ro, "timeline");
	for (size_t i = 0; i < json_array_size(tl); i++) {
		const json_t *e = json_array_get(tl, i);
		when(t, sizeof t, ru_num(e, "t_s", 0));
		const char *a = ru_str(e, "action", "?");
		int red = strcmp(a, "halt") == 0 || strcmp(a, "rollback") == 0;
		fprintf(f, "  %6s %s%-8s%s %3.0f%%%s %.76s\n", t,
			color && red ? RED : "", a, color && red ? OFF : "",
			ru_num(e, "canary_weight", 0),
			json_is_true(json_object_get(e, "header")) ? "h"
			: json_is_true(json_object_get(e, "mirror")) ? "m"
								       : " ",
			ru_str(e, "reason", ""));
	}
	const json_t *ivs = json_object_get(ro, "intervals");
	if (json_array_size(ivs)) {
		fprintf(f, "  %-17s %6s %-8s %8s %8s %8s | %8s %8s %8s\n", "interval",
			"weight", "result", "canary", "success", "p99", "baseline",
			"success", "p99");
		for (size_t i = 0; i < json_array_size(ivs); i++) {
			const json_t *x = json_array_get(ivs, i);
			char a[32], b[32], w[40], cs[16], cp[16], bs[16], bp[16];
			when(a, sizeof a, ru_num(x, "from_s", 0));
			when(b, sizeof b, ru_num(x, "to_s", 0));
			snprintf(w, sizeof w, "%s-%s", a, b);
			const json_t *c = json_object_get(x, "canary"),
				     *bl = json_object_get(x, "baseline");
			cell(cs, sizeof cs, c, "success_pct", 0);
			cell(cp, sizeof cp, c, "p99_ms", 1);
			cell(bs, sizeof bs, bl, "success_pct", 0);
			cell(bp, sizeof bp, bl, "p99_ms", 1);
			const char *res = ru_str(x, "result", "?");
			int ok = strcmp(res, "pass") == 0;
			fprintf(f, "  %-17.17s %5.0f%% %s%-8s%s %8.0f %8s %8s | %8.0f %8s %8s\n",
				w, ru_num(x, "canary_weight", 0), color ? (ok ? GREEN : RED) : "",
				res, color ? OFF : "", ru_num(c, "requests", 0), cs, cp,
				ru_num(bl, "requests", 0), bs, bp);
		}
	}
	const json_t *bu = ru_path(ro, "blast_radius", "until_decision");
	const json_t *slo = json_object_get(ro, "slo_latency_ms");
	char s[32] = "";
	if (json_is_number(slo))
		ru_ms(s, sizeof s, json_number_value(slo));
	fprintf(f, "blast radius: %.0f of %.0f calls to the canary harmed until the decision "
		   "(%.0f failed, %.0f over %s)\n",
		ru_num(bu, "harmed", 0), ru_num(bu, "canary_calls", 0), ru_num(bu, "failed", 0),
		ru_num(bu, "slow", 0), s[0] ? s : "no SLO");
}

/* ---- charts ---- */

static double col(const json_t *o, const char *key, size_t i)
{
	const json_t *v = json_array_get(json_object_get(o, key), i);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

static void gp_quote(FILE *f, const char *s)
{
	fputc('\'', f);
	for (; *s; s++) {
		if (*s == '\'')
			fputc('\'', f);
		if ((unsigned char)*s >= 32)
			fputc(*s, f);
	}
	fputc('\'', f);
}

static int write_data(const json_t *ro, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	const json_t *se = json_object_get(ro, "series");
	const json_t *c = json_object_get(se, "canary"), *b = json_object_get(se, "baseline");
	size_t n = json_array_size(json_object_get(se, "t"));
	fprintf(f, "# t canary_weight canary_success baseline_success canary_p99 "
		   "baseline_p99 canary_requests baseline_requests\n");
	for (size_t i = 0; i < n; i++)
		fprintf(f, "%g %g %g %g %g %g %g %g\n", col(se, "t", i),
			col(se, "canary_weight", i), col(c, "success_pct", i),
			col(b, "success_pct", i), col(c, "p99_ms", i), col(b, "p99_ms", i),
			col(c, "requests", i), col(b, "requests", i));
	return fclose(f);
}

/* Decisions as vertical lines: halts dashed, the verdict solid. */
static void markers(FILE *f, const json_t *ro)
{
	const json_t *tl = json_object_get(ro, "timeline");
	fprintf(f, "unset arrow\nunset label\n");
	int k = 1;
	for (size_t i = 0; i < json_array_size(tl); i++) {
		const json_t *e = json_array_get(tl, i);
		const char *a = ru_str(e, "action", "");
		double t = ru_num(e, "t_s", 0);
		const char *colr = strcmp(a, "promote") == 0    ? "#1e7b34"
				   : strcmp(a, "rollback") == 0 ? "#b00000"
				   : strcmp(a, "halt") == 0     ? "#e69138"
				   : strcmp(a, "hold") == 0     ? "#7f6000"
								: NULL;
		if (!colr)
			continue;
		int final = strcmp(a, "halt") != 0;
		fprintf(f, "set arrow %d from %g, graph 0 to %g, graph 1 nohead lc rgb '%s' "
			   "lw %d dt %d\n",
			k, t, t, colr, final ? 2 : 1, final ? 1 : 2);
		if (final) {
			fprintf(f, "set label %d ", k);
			gp_quote(f, a);
			fprintf(f, " at %g, graph 0.93 offset 0.5,0 font ',9' tc rgb '%s'\n", t,
				colr);
		}
		k++;
	}
}

static int run_gnuplot(const char *dir, const char *script)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(126);
		if (!freopen("gnuplot-rollout.log", "w", stderr) ||
		    !freopen("/dev/null", "w", stdout))
			_exit(126);
		execlp("gnuplot", "gnuplot", script, (char *)NULL);
		_exit(127);
	}
	int st;
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : -1;
}

int render_rollout_charts(const json_t *r, const char *cdir, char *why,
			  size_t whylen)
{
	const json_t *ro = json_object_get(r, "rollout");
	if (!json_is_object(ro))
		return 0;
	char path[4300];
	snprintf(path, sizeof path, "%s/rollout.dat", cdir);
	if (write_data(ro, path) < 0) {
		snprintf(why, whylen, "%s: cannot write", path);
		return -1;
	}
	snprintf(path, sizeof path, "%s/rollout.gp", cdir);
	FILE *f = fopen(path, "w");
	if (!f) {
		snprintf(why, whylen, "%s: cannot write", path);
		return -1;
	}
	double end = ru_num(json_object_get(r, "run"), "end_s", 1);
	double step = ru_num(json_object_get(ro, "series"), "step_s", 1);
	fprintf(f, "# The rollout's charts; run `gnuplot rollout.gp` here to draw them again.\n"
		   "set datafile missing 'NaN'\nset grid\nset key outside right top\n"
		   "set xlabel 'time (s)'\nset xrange [0:%g]\n",
		end > 0 ? end : 1);
	static const char *const terms[2][2] = {
		{"svg size 900,300 dynamic font 'sans,10' background '#ffffff'", "svg"},
		{"pngcairo size 900,300 font 'sans,9'", "png"}};
	for (int t = 0; t < 2; t++) {
		fprintf(f, "set terminal %s\n", terms[t][0]);
		markers(f, ro);
		fprintf(f, "set output 'rollout-weight.%s'\n"
			   "set title 'Canary weight (percent of requests) and decisions'\n"
			   "set ylabel 'canary weight %%'\nset yrange [0:105]\n"
			   "plot 'rollout.dat' u 1:2 w steps lw 2 lc rgb '#3d85c6' t 'canary weight'\n",
			terms[t][1]);
		fprintf(f, "set output 'rollout-success.%s'\n"
			   "set title 'Success rate per %gs: canary against baseline'\n"
			   "set ylabel 'non-5xx %%'\nset yrange [*:100.5]\n"
			   "plot 'rollout.dat' u 1:4 w l lw 1 lc rgb '#888888' t 'baseline', "
			   "'' u 1:3 w l lw 2 lc rgb '#cc0000' t 'canary'\n",
			terms[t][1], step);
		fprintf(f, "set output 'rollout-latency.%s'\n"
			   "set title 'p99 latency per %gs: canary against baseline (ms, log scale)'\n"
			   "set ylabel 'ms'\nset yrange [*:*]\nset logscale y\n"
			   "plot 'rollout.dat' u 1:6 w l lw 1 lc rgb '#888888' t 'baseline', "
			   "'' u 1:5 w l lw 2 lc rgb '#cc0000' t 'canary'\nunset logscale y\n",
			terms[t][1], step);
	}
	if (fclose(f) != 0) {
		snprintf(why, whylen, "%s: cannot write", path);
		return -1;
	}
	if (run_gnuplot(cdir, "rollout.gp") < 0) {
		snprintf(why, whylen, "gnuplot failed on the rollout's charts; see "
				      "%s/gnuplot-rollout.log",
			 cdir);
		return -1;
	}
	return 0;
}

/* ---- HTML ---- */

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static int inline_svg(FILE *f, const char *path)
{
	FILE *in = fopen(path, "rb");
	if (!in)
		return -1;
	fseek(in, 0, SEEK_END);
	long n = ftell(in);
	fseek(in, 0, SEEK_SET);
	char *buf = n >= 0 ? malloc((size_t)n + 1) : NULL;
	if (!buf || fread(buf, 1, (size_t)n, in) != (size_t)n) {
		free(buf);
		fclose(in);
		return -1;
	}
	fclose(in);
	buf[n] = '\0';
	char *s = strstr(buf, "<svg");
	if (s)
		fputs(s, f);
	free(buf);
	return s ? 0 : -1;
}

static void side_cells(FILE *f, const json_t *side)
{
	char s[16], p[16];
	cell(s, sizeof s, side, "success_pct", 0);
	cell(p, sizeof p, side, "p99_ms", 1);
	fprintf(f, "<td>%.0f</td><td>%s</td><td>%s</td>", ru_num(side, "requests", 0), s, p);
}

void render_rollout_html(FILE *f, const json_t *r, const char *dir)
{
	const json_t *ro = json_object_get(r, "rollout");
	if (!json_is_object(ro))
		return;
	const char *v = ru_str(ro, "verdict", "?");
	char sh[160], t[32];
	shape(sh, sizeof sh, ro);
	fprintf(f, "<section id=\"rollout\"><h2>Rollout</h2>\n<p>");
	esc(f, ru_str(ro, "service", "?"));
	fprintf(f, ": ");
	esc(f, ru_str(ro, "stable", "?"));
	fprintf(f, " &rarr; ");
	esc(f, ru_str(ro, "canary", "?"));
	if (json_is_string(json_object_get(ro, "baseline"))) {
		fprintf(f, " (baseline ");
		esc(f, ru_str(ro, "baseline", ""));
		fprintf(f, ")");
	}
	fprintf(f, " &middot; ");
	esc(f, sh);
	fprintf(f, "</p>\n<p id=\"rollout-verdict\" class=\"%s\"><b>",
		strcmp(v, "promoted") == 0 ? "pass" : "fail");
	esc(f, verdict_text(v));
	fprintf(f, "</b>");
	if (json_is_number(json_object_get(ro, "time_to_decision_s"))) {
		when(t, sizeof t, ru_num(ro, "time_to_decision_s", 0));
		fprintf(f, " after %s", t);
	}
	fprintf(f, ": ");
	esc(f, ru_str(ro, "reason", ""));
	fprintf(f, "</p>\n");
	const json_t *bu = ru_path(ro, "blast_radius", "until_decision");
	const json_t *bw = ru_path(ro, "blast_radius", "whole_run");
	fprintf(f, "<p id=\"blast-radius\">Blast radius: <b>%.0f</b> requests harmed until the "
		   "decision (%.0f failed, %.0f slower than the SLO) of %.0f calls the callers' "
		   "sidecars sent to the canary; over the whole run %.0f of %.0f.</p>\n",
		ru_num(bu, "harmed", 0), ru_num(bu, "failed", 0), ru_num(bu, "slow", 0),
		ru_num(bu, "canary_calls", 0), ru_num(bw, "harmed", 0),
		ru_num(bw, "canary_calls", 0));
	static const char *const charts[] = {"rollout-weight", "rollout-success",
					     "rollout-latency"};
	for (size_t i = 0; i < 3; i++) {
		char path[4300];
		snprintf(path, sizeof path, "%s/charts/%s.svg", dir, charts[i]);
		fprintf(f, "<figure class=\"chart\" id=\"chart-%s\">", charts[i]);
		if (inline_svg(f, path) < 0)
			fprintf(f, "<p class=\"note\">%s: not drawn.</p>", charts[i]);
		fprintf(f, "</figure>\n");
	}
	fprintf(f, "<h3>Timeline</h3>\n<table id=\"rollout-timeline\"><tr><th>time</th>"
		   "<th>action</th><th>canary weight</th><th>failed checks</th><th>reason</th></tr>\n");
	const json_t *tl = json_object_get(ro, "timeline");
	for (size_t i = 0; i < json_array_size(tl); i++) {
		const json_t *e = json_array_get(tl, i);
		when(t, sizeof t, ru_num(e, "t_s", 0));
		const char *a = ru_str(e, "action", "?");
		int bad = strcmp(a, "halt") == 0 || strcmp(a, "rollback") == 0;
		fprintf(f, "<tr%s><td>%s</td><td>", bad ? " class=\"missed\"" : "", t);
		esc(f, a);
		fprintf(f, "</td><td>%g%%%s%s</td><td>%.0f</td><td style=\"text-align:left\">",
			ru_num(e, "canary_weight", 0),
			json_is_true(json_object_get(e, "header")) ? " + header group" : "",
			json_is_true(json_object_get(e, "mirror")) ? " + mirror" : "",
			ru_num(e, "failed_checks", 0));
		esc(f, ru_str(e, "reason", ""));
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table>\n<h3>Each interval: canary against baseline</h3>\n"
		   "<table id=\"rollout-intervals\"><tr><th>interval</th><th>weight</th>"
		   "<th>result</th><th>canary requests</th><th>success</th><th>p99</th>"
		   "<th>baseline requests</th><th>success</th><th>p99</th><th>checks and judge</th></tr>\n");
	const json_t *ivs = json_object_get(ro, "intervals");
	for (size_t i = 0; i < json_array_size(ivs); i++) {
		const json_t *x = json_array_get(ivs, i);
		char a[32], b[32];
		when(a, sizeof a, ru_num(x, "from_s", 0));
		when(b, sizeof b, ru_num(x, "to_s", 0));
		const char *res = ru_str(x, "result", "?");
		fprintf(f, "<tr class=\"%s\"><td>%s&ndash;%s</td><td>%g%%</td><td>",
			strcmp(res, "pass") == 0 ? "met" : "missed", a, b,
			ru_num(x, "canary_weight", 0));
		esc(f, res);
		fprintf(f, "</td>");
		side_cells(f, json_object_get(x, "canary"));
		side_cells(f, json_object_get(x, "baseline"));
		fprintf(f, "<td style=\"text-align:left\">");
		const json_t *cs = json_object_get(x, "checks");
		for (size_t k = 0; k < json_array_size(cs); k++) {
			const json_t *c = json_array_get(cs, k);
			esc(f, ru_str(c, "name", "?"));
			fprintf(f, " %s; ", ru_str(c, "result", "?"));
		}
		const json_t *j = json_object_get(x, "judge");
		if (json_is_object(j)) {
			fprintf(f, "judge %s (score %.0f)", ru_str(j, "verdict", "?"),
				ru_num(j, "score", 0));
			const json_t *ms = json_object_get(j, "metrics");
			for (size_t k = 0; k < json_array_size(ms); k++) {
				const json_t *m = json_array_get(ms, k);
				fprintf(f, "; ");
				esc(f, ru_str(m, "name", "?"));
				fprintf(f, " %s p=%.3g", ru_str(m, "class", "?"),
					ru_num(m, "p_value", NAN));
				if (json_is_true(json_object_get(m, "failed")))
					fprintf(f, " <b class=\"bad\">failed</b>");
			}
		}
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table></section>\n");
}
