/*
 * render_charts.c - gnuplot charts of a report.
 *
 * gnuplot is a program we run, not a library we link: the report's series
 * go into plain data files and a script beside the charts (DIR/charts/), so
 * anyone can edit the script and draw them again by hand.
 */
#include "render.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "render_rollout.h"
#include "render_util.h"

const render_chart render_charts_list[] = {
	{"rate", "Requests per second: offered and achieved"},
	{"success", "Success rate"},
	{"latency", "Latency p50 and p99 (ms, log scale)"},
	{"amplification", "Retry amplification (tries per call)"},
	{"refused", "Breaker and budget overflows, ejected hosts"},
	{"cdf", "Latency distribution per service (CDF, log scale)"},
};
const size_t render_charts_count =
	sizeof render_charts_list / sizeof render_charts_list[0];

/* Is `prog` an executable on PATH? */
static int on_path(const char *prog)
{
	const char *path = getenv("PATH");
	if (!path)
		return 0;
	char buf[4096];
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(buf, sizeof buf, "%.*s/%s", (int)n, path, prog);
		if (access(buf, X_OK) == 0)
			return 1;
		path += n;
		if (*path == ':')
			path++;
	}
	return 0;
}

static double row_num(const json_t *series, const char *col, size_t i)
{
	json_t *a = json_object_get(series, col);
	json_t *v = json_array_get(a, i);
	return json_is_number(v) ? json_number_value(v) : NAN;
}

/* One row per second: t, offered, achieved, ok, success, p50, p99,
 * amplification, overflows, ejected. NaN (written as "NaN", which gnuplot
 * skips) where a second had nothing. */
static int write_series(const json_t *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	const json_t *ts = json_object_get(r, "timeseries");
	const json_t *ov = json_object_get(ts, "overall");
	const json_t *svcs = json_object_get(ts, "services");
	size_t n = json_array_size(json_object_get(ov, "t"));
	fprintf(f, "# t offered achieved ok success p50 p99 amplification overflows ejected\n");
	for (size_t i = 0; i < n; i++) {
		double done = row_num(ov, "done", i), sr = row_num(ov, "success_rate", i);
		double att = 0, calls = 0, over = 0, ej = 0;
		const char *k;
		json_t *s;
		json_object_foreach((json_t *)svcs, k, s) {
			double a = row_num(s, "attempts", i), d = row_num(s, "issued", i);
			att += isnan(a) ? 0 : a;
			calls += isnan(d) ? 0 : d;
			double o = row_num(s, "overflows", i), e = row_num(s, "ejected", i);
			over += isnan(o) ? 0 : o;
			ej += isnan(e) ? 0 : e;
		}
		fprintf(f, "%zu %g %g %g %g %g %g %g %g %g\n", i, row_num(ov, "issued", i),
			done, isnan(sr) ? 0 : sr * done, sr, row_num(ov, "p50_ms", i),
			row_num(ov, "p99_ms", i), calls > 0 ? att / calls : NAN, over, ej);
	}
	return fclose(f);
}

/* gnuplot string literal: single quotes, with '' for a quote. */
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

static void fault_windows(FILE *f, const json_t *r, double end)
{
	const json_t *faults = json_object_get(r, "faults");
	fprintf(f, "unset object\nunset label\n");
	for (size_t i = 0; i < json_array_size(faults); i++) {
		const json_t *x = json_array_get(faults, i);
		double a = ru_num(x, "start_s", 0), b = ru_num(x, "end_s", end);
		fprintf(f, "set object %zu rect from %g, graph 0 to %g, graph 1 "
			   "fc rgb '#e06666' fs transparent solid 0.18 noborder behind\n",
			i + 1, a, b);
		fprintf(f, "set label %zu ", i + 1);
		gp_quote(f, ru_str(x, "label", "fault"));
		fprintf(f, " at %g, graph %g font ',8' tc rgb '#990000'\n", a,
			0.96 - 0.05 * (double)(i % 4));
	}
}

/* Does column `col` of the overall series hold any number? gnuplot stops
 * a script at a plot with no points at all, so such charts say so
 * instead. */
static int has_data(const json_t *r, const char *col)
{
	const json_t *a = json_object_get(ru_path(r, "timeseries", "overall"), col);
	for (size_t i = 0; i < json_array_size(a); i++) {
		const json_t *v = json_array_get(a, i);
		if (json_is_number(v) && json_number_value(v) > 0)
			return 1;
	}
	return 0;
}

/* The plot command of a chart, or an empty chart when there is nothing. */
static void plot_or_empty(FILE *f, int ok, const char *plot)
{
	if (ok)
		fprintf(f, "%s\n", plot);
	else
		fprintf(f, "unset logscale y\nset yrange [0:1]\nplot NaN t 'no data'\n");
}

static int write_script(const json_t *r, const char *path)
{
	FILE *f = fopen(path, "w");
	if (!f)
		return -1;
	double end = ru_num(json_object_get(r, "run"), "end_s", 0);
	const char *name = ru_str(json_object_get(r, "scenario"), "name", "");
	fprintf(f, "# Charts of scenario %s; run `gnuplot charts.gp` here to draw them again.\n",
		name);
	fprintf(f, "set datafile missing 'NaN'\nset grid\nset key outside right top\n"
		   "set xlabel 'time (s)'\nset xrange [0:%g]\n", end > 0 ? end : 1);
	static const char *const terms[2][2] = {
		{"svg size 900,300 dynamic font 'sans,10' background '#ffffff'", "svg"},
		{"pngcairo size 900,300 font 'sans,9'", "png"}};
	const json_t *svcs = json_object_get(r, "services");
	for (int t = 0; t < 2; t++) {
		fprintf(f, "set terminal %s\n", terms[t][0]);
		fault_windows(f, r, end);
		int done = has_data(r, "done"), lat = has_data(r, "p99_ms");
		fprintf(f, "set output 'rate.%s'\nset title 'Requests per second'\n"
			   "set ylabel 'requests/s'\nunset logscale y\nset yrange [0:*]\n",
			terms[t][1]);
		plot_or_empty(f, done || has_data(r, "issued"),
			      "plot 'series.dat' u 1:2 w l lw 2 t 'offered', '' u 1:3 w l lw 2 t 'ended', "
			      "'' u 1:4 w l lw 1 t 'succeeded'");
		fprintf(f, "set output 'success.%s'\nset title 'Success rate of requests that ended'\n"
			   "set ylabel 'success'\nset yrange [0:1.05]\n",
			terms[t][1]);
		plot_or_empty(f, done, "plot 'series.dat' u 1:5 w l lw 2 t 'success rate'");
		fprintf(f, "set output 'latency.%s'\nset title 'Latency'\nset ylabel 'ms'\n"
			   "set yrange [*:*]\nset logscale y\n",
			terms[t][1]);
		plot_or_empty(f, lat, "plot 'series.dat' u 1:6 w l lw 2 t 'p50', '' u 1:7 w l lw 2 t 'p99'");
		fprintf(f, "unset logscale y\nset output 'amplification.%s'\n"
			   "set title 'Retry amplification: tries per call'\n"
			   "set ylabel 'tries/call'\nset yrange [0:*]\n",
			terms[t][1]);
		plot_or_empty(f, done, "plot 'series.dat' u 1:8 w l lw 2 t 'all calls'");
		fprintf(f, "set output 'refused.%s'\nset title 'Refused by breakers and budgets; ejected hosts'\n"
			   "set ylabel 'per second / hosts'\nset yrange [0:*]\n"
			   "plot 'series.dat' u 1:9 w l lw 2 t 'overflows', '' u 1:10 w steps lw 2 t 'ejected (most at once)'\n",
			terms[t][1]);
		/* The CDF has no time axis and no fault windows. */
		fprintf(f, "unset object\nunset label\nset output 'cdf.%s'\n"
			   "set title 'Latency distribution per service (callers view)'\n"
			   "set xlabel 'latency (ms)'\nset ylabel 'fraction at or below'\n"
			   "set logscale x\nset xrange [*:*]\nset yrange [0:1]\nset key outside right top\n",
			terms[t][1]);
		int any = 0;
		for (size_t i = 0; i < json_array_size(svcs); i++) {
			const json_t *s = json_array_get(svcs, i);
			if (!json_array_size(json_object_get(s, "latency_cdf")))
				continue;
			fprintf(f, "%s 'cdf%zu.dat' u 1:2 w steps lw 2 t ", any ? "," : "plot", i);
			gp_quote(f, ru_str(s, "name", "?"));
			any = 1;
		}
		if (!any)
			fprintf(f, "set xrange [0.1:1000]\nplot NaN t 'no requests'");
		fprintf(f, "\nunset logscale x\nset xlabel 'time (s)'\nset xrange [0:%g]\n"
			   "set key outside right top\n",
			end > 0 ? end : 1);
	}
	return fclose(f);
}

static int write_cdfs(const json_t *r, const char *dir)
{
	const json_t *svcs = json_object_get(r, "services");
	for (size_t i = 0; i < json_array_size(svcs); i++) {
		const json_t *cdf = json_object_get(json_array_get(svcs, i), "latency_cdf");
		char path[4200];
		snprintf(path, sizeof path, "%s/cdf%zu.dat", dir, i);
		FILE *f = fopen(path, "w");
		if (!f)
			return -1;
		for (size_t k = 0; k < json_array_size(cdf); k++) {
			const json_t *p = json_array_get(cdf, k);
			fprintf(f, "%g %g\n", json_number_value(json_array_get(p, 0)),
				json_number_value(json_array_get(p, 1)));
		}
		if (fclose(f) != 0)
			return -1;
	}
	return 0;
}

/* Run gnuplot on `script` in dir; its chatter goes to dir/`log`. */
static int run_gnuplot(const char *dir, const char *script, const char *log)
{
	/* What we buffered must not be written twice, by the child too. */
	fflush(NULL);
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(126);
		if (!freopen(log, "w", stderr) || !freopen("/dev/null", "w", stdout))
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

/* ---- the certificate timeline (reports with an "mtls" section) ---- */

/* Workloads drawn at most: one row each. */
#define MTLS_CHART_ROWS 60

/* Colours by why a workload got the certificate, in
 * rec_cert_why_name's order. */
static const struct {
	const char *why;
	unsigned rgb;
} cert_colours[] = {
	{"issued", 0x3c78d8}, {"renewed", 0x6aa84f}, {"expired", 0xcc0000},
	{"foreign", 0xe69138}, {"restored", 0x8e7cc3},
};
#define NCOLOURS (sizeof cert_colours / sizeof cert_colours[0])

static unsigned cert_colour(const char *why)
{
	for (size_t k = 0; k < NCOLOURS; k++)
		if (!strcmp(why, cert_colours[k].why))
			return cert_colours[k].rgb;
	return 0x999999;
}

/* The rows of the chart: the workloads (in the report's order) that got
 * a certificate listed, at most MTLS_CHART_ROWS. row[i] is workload i's
 * row or -1. Returns the number of rows. */
static int cert_rows(const json_t *mt, int *row, size_t nw)
{
	const json_t *wls = json_object_get(mt, "workloads");
	const json_t *certs = json_object_get(mt, "certificates");
	int n = 0;
	for (size_t i = 0; i < nw; i++) {
		row[i] = -1;
		const char *name = ru_str(json_array_get(wls, i), "name", "");
		for (size_t k = 0; k < json_array_size(certs) && n < MTLS_CHART_ROWS; k++)
			if (!strcmp(ru_str(json_array_get(certs, k), "workload", ""), name)) {
				row[i] = n++;
				break;
			}
	}
	return n;
}

static int row_of(const json_t *wls, const int *row, size_t nw, const char *name)
{
	for (size_t i = 0; i < nw; i++)
		if (!strcmp(ru_str(json_array_get(wls, i), "name", ""), name))
			return row[i];
	return -1;
}

/* mtls-certs.dat and mtls.gp in cdir. On its workload's row, each
 * certificate is a thick bar over the time the workload used it (from
 * when it got it to when it got the next, or the run's end) and a thin
 * bar under it over its validity (not_before to not_after, seconds of run
 * time), both coloured by why it was issued; the run (0 to its end) is
 * between dashed lines. A renewal shows as a new thin bar that starts
 * before the old one ends (Istio renews at half of a certificate's life);
 * an expired certificate as a thick bar past the end of its thin one. */
static int write_mtls(const json_t *r, const char *cdir, int *nrows)
{
	const json_t *mt = json_object_get(r, "mtls");
	const json_t *wls = json_object_get(mt, "workloads");
	const json_t *certs = json_object_get(mt, "certificates");
	size_t nw = json_array_size(wls), nc = json_array_size(certs);
	int *row = calloc(nw ? nw : 1, sizeof *row);
	int *cy = calloc(nc ? nc : 1, sizeof *cy);
	size_t *last = calloc(MTLS_CHART_ROWS, sizeof *last);
	double *until = calloc(nc ? nc : 1, sizeof *until);
	FILE *f = NULL;
	if (!row || !cy || !last || !until)
		goto fail;
	int n = cert_rows(mt, row, nw);
	*nrows = n;
	double end = ru_num(json_object_get(r, "run"), "end_s", 0);
	if (end <= 0)
		end = 1;
	double lo = 0, hi = end;
	/* In use until the workload's next certificate (they are listed in
	 * time order), or the end. */
	for (size_t k = 0; k < nc; k++) {
		const json_t *c = json_array_get(certs, k);
		int y = cy[k] = row_of(wls, row, nw, ru_str(c, "workload", ""));
		until[k] = end;
		if (y < 0)
			continue;
		if (last[y])
			until[last[y] - 1] = ru_num(c, "at_s", 0);
		last[y] = k + 1;
	}
	char path[4300];
	snprintf(path, sizeof path, "%s/mtls-certs.dat", cdir);
	if (!(f = fopen(path, "w")))
		goto fail;
	fprintf(f, "# row at_s not_before_s not_after_s rgb in_use_until_s\n");
	for (size_t k = 0; k < nc; k++) {
		const json_t *c = json_array_get(certs, k);
		if (cy[k] < 0)
			continue;
		double nb = ru_num(c, "not_before_s", 0), na = ru_num(c, "not_after_s", 0);
		if (nb < lo)
			lo = nb;
		if (na > hi)
			hi = na;
		fprintf(f, "%d %g %g %g %u %g\n", cy[k], ru_num(c, "at_s", 0), nb, na,
			cert_colour(ru_str(c, "why", "")), until[k]);
	}
	free(cy);
	free(last);
	free(until);
	cy = NULL;
	last = NULL;
	until = NULL;
	if (fclose(f) != 0) {
		f = NULL;
		goto fail;
	}
	/* The run is what matters: a day-long certificate of a one-minute run
	 * is cut at half a run either side, with a margin always shown. */
	if (lo < -0.5 * end)
		lo = -0.5 * end;
	if (lo > -0.02 * end)
		lo = -0.02 * end;
	if (hi > 1.5 * end)
		hi = 1.5 * end;
	if (hi < 1.02 * end)
		hi = 1.02 * end;

	snprintf(path, sizeof path, "%s/mtls.gp", cdir);
	if (!(f = fopen(path, "w")))
		goto fail;
	int h = 90 + 20 * (n ? n : 1);
	fprintf(f, "# The certificate timeline; run `gnuplot mtls.gp` here to draw it again.\n"
		   "set datafile missing 'NaN'\nset grid xtics\nset key outside right top\n"
		   "set xlabel 'run time (s); the run between the dashed lines'\n"
		   "set xrange [%g:%g]\nset yrange [%g:-0.6]\n"
		   "set arrow 1 from 0, graph 0 to 0, graph 1 nohead dt 2 lw 1.5 lc rgb '#333333'\n"
		   "set arrow 2 from %g, graph 0 to %g, graph 1 nohead dt 2 lw 1.5 lc rgb '#333333'\n"
		   "set ytics (",
		lo, hi, n ? n - 0.4 : 0.6, end, end);
	for (size_t i = 0, first = 1; i < nw; i++) {
		if (row[i] < 0)
			continue;
		fprintf(f, "%s", first ? "" : ", ");
		gp_quote(f, ru_str(json_array_get(wls, i), "name", "?"));
		fprintf(f, " %d", row[i]);
		first = 0;
	}
	fprintf(f, ")\n");
	static const char *const terms[2][3] = {
		{"svg", "dynamic noenhanced font 'sans,10' background '#ffffff'", "svg"},
		{"pngcairo", "noenhanced font 'sans,9'", "png"}};
	for (int t = 0; t < 2; t++) {
		/* noenhanced: names such as not_after are no subscripts. */
		fprintf(f, "set terminal %s size 900,%d %s\n", terms[t][0], h, terms[t][1]);
		fprintf(f, "set output 'mtls-certs.%s'\n"
			   "set title 'Workload certificates: in use (thick), valid from not_before "
			   "to not_after (thin)'\n",
			terms[t][2]);
		if (!n) {
			fprintf(f, "plot NaN t 'no certificates'\n");
			continue;
		}
		/* Validity first, faint (renewals overlap), then the time in
		 * use over it, solid. */
		fprintf(f, "plot 'mtls-certs.dat' u (($3+$4)/2):($1+0.2):3:4:($1+0.1):($1+0.3):5 "
			   "w boxxyerror fs transparent solid 0.3 noborder lc rgb variable notitle, \\\n"
			   "  '' u (($2+$6)/2):($1-0.1):2:6:($1-0.35):($1+0.05):5 "
			   "w boxxyerror fs solid 0.9 border lc rgb '#ffffff' lc rgb variable notitle");
		for (size_t k = 0; k < NCOLOURS; k++)
			fprintf(f, ", \\\n  NaN w boxes fs solid 0.9 noborder lc rgb '#%06x' t '%s'",
				cert_colours[k].rgb, cert_colours[k].why);
		fprintf(f, "\n");
	}
	free(row);
	return fclose(f);
fail:
	if (f)
		fclose(f);
	free(row);
	free(cy);
	free(last);
	free(until);
	return -1;
}

static int mtls_chart(const json_t *r, const char *cdir, char *why, size_t whylen)
{
	if (!json_is_object(json_object_get(r, "mtls")))
		return 0;
	int n;
	if (write_mtls(r, cdir, &n) < 0) {
		snprintf(why, whylen, "%s: cannot write the certificate timeline", cdir);
		return -1;
	}
	if (run_gnuplot(cdir, "mtls.gp", "gnuplot-mtls.log") < 0) {
		snprintf(why, whylen, "gnuplot failed on the certificate timeline; see "
				      "%s/gnuplot-mtls.log", cdir);
		return -1;
	}
	return 0;
}

int render_charts(const json_t *r, const char *dir, char *why, size_t whylen)
{
	if (!on_path("gnuplot")) {
		snprintf(why, whylen, "charts skipped: gnuplot is not installed "
				      "(apt-get install gnuplot-nox, then: meshsim report %s)",
			 dir);
		return 1;
	}
	char cdir[4200], path[4300];
	snprintf(cdir, sizeof cdir, "%s/charts", dir);
	if (mkdir(cdir, 0777) < 0 && errno != EEXIST) {
		snprintf(why, whylen, "%s: cannot create: %s", cdir, strerror(errno));
		return -1;
	}
	snprintf(path, sizeof path, "%s/series.dat", cdir);
	if (write_series(r, path) < 0) {
		snprintf(why, whylen, "%s: cannot write", path);
		return -1;
	}
	if (write_cdfs(r, cdir) < 0) {
		snprintf(why, whylen, "%s: cannot write the CDF data", cdir);
		return -1;
	}
	snprintf(path, sizeof path, "%s/charts.gp", cdir);
	if (write_script(r, path) < 0) {
		snprintf(why, whylen, "%s: cannot write", path);
		return -1;
	}
	if (run_gnuplot(cdir, "charts.gp", "gnuplot.log") < 0) {
		snprintf(why, whylen, "gnuplot failed; see %s/gnuplot.log", cdir);
		return -1;
	}
	if (render_rollout_charts(r, cdir, why, whylen) < 0)
		return -1;
	return mtls_chart(r, cdir, why, whylen);
}
