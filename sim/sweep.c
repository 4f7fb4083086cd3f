/* MAP_ANONYMOUS is not in POSIX 2008; glibc and the BSDs have it. */
#define _DEFAULT_SOURCE
#include "sweep.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "rec.h"
#include "report.h"
#include "report_rollout.h"
#include "rollout.h"
#include "sim.h"

/* ---- one seed ---- */

static void run_seed(const model *m, uint64_t seed, sweep_result *out)
{
	memset(out, 0, sizeof *out);
	out->seed = seed;
	out->decided_ns = UINT64_MAX;
	rec *r = rec_new(m);
	sim *s = r ? sim_new(m, seed, r) : NULL;
	if (!s) {
		out->status = -1;
		goto done;
	}
	sim_stop_at_decision(s);
	int rc = sim_run(s);
	if (rc < 0) {
		out->status = rc;
		goto done;
	}
	out->events = sim_events(s);
	if (r->ro_log) {
		out->verdict = (int32_t)r->ro_log->verdict;
		mesh_time t = report_time_to_decision(r);
		out->decided_ns = t == MESH_NEVER ? UINT64_MAX : t;
		out->canary_calls = r->ro_log->at_decision_calls;
		out->harmed = report_blast_radius(r);
		out->measurements = r->ro_log->nintervals;
		for (uint32_t i = 0; i < r->ro_log->nintervals; i++)
			out->not_passed += r->ro_log->intervals[i].result != RO_PASS;
	}
done:
	sim_free(s);
	rec_free(r);
}

/* ---- workers ---- */

typedef struct shared {
	atomic_uint next;        /* the next seed index to take */
	atomic_uint done;
	sweep_result res[];
} shared;

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

int sweep_run(const model *m, const sweep_opts *o, sweep_result *out)
{
	uint32_t jobs = o->jobs;
	if (!jobs) {
		long c = sysconf(_SC_NPROCESSORS_ONLN);
		jobs = c > 0 ? (uint32_t)c : 1;
	}
	if (jobs > o->n)
		jobs = o->n ? o->n : 1;
	size_t size = sizeof(shared) + (size_t)o->n * sizeof(sweep_result);
	shared *sh = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return -1;
	atomic_init(&sh->next, 0);
	atomic_init(&sh->done, 0);
	for (uint32_t i = 0; i < o->n; i++) {
		sh->res[i].seed = o->first_seed + i;
		sh->res[i].status = -3; /* until a worker says otherwise */
		sh->res[i].decided_ns = UINT64_MAX;
	}
	/* What we buffered must not be written again by the children. */
	fflush(NULL);
	pid_t *pids = calloc(jobs, sizeof *pids);
	if (!pids) {
		munmap(sh, size);
		return -1;
	}
	uint32_t started = 0;
	for (; started < jobs; started++) {
		pid_t pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			/* A worker takes seeds until none is left; which worker
			 * runs a seed changes nothing in its result. */
			for (;;) {
				unsigned i = atomic_fetch_add(&sh->next, 1);
				if (i >= o->n)
					break;
				sweep_result r;
				run_seed(m, o->first_seed + i, &r);
				sh->res[i] = r;
				atomic_fetch_add(&sh->done, 1);
			}
			_exit(0);
		}
		pids[started] = pid;
	}
	if (!started) {
		free(pids);
		munmap(sh, size);
		return -1;
	}
	double t0 = now_s(), last = 0;
	uint32_t alive = started;
	int shown = 0;
	while (alive) {
		for (uint32_t k = 0; k < started; k++) {
			if (!pids[k])
				continue;
			int st;
			pid_t w = waitpid(pids[k], &st, o->progress ? WNOHANG : 0);
			if (w == pids[k] || (w < 0 && errno != EINTR)) {
				pids[k] = 0;
				alive--;
			}
		}
		if (!alive)
			break;
		if (o->progress) {
			double t = now_s() - t0;
			if (t > 1.0 && t - last > 0.2) {
				last = t;
				shown = 1;
				fprintf(stderr, "\r  %u of %u rollouts  %u workers  wall %.1fs ",
					atomic_load(&sh->done), o->n, started, t);
				fflush(stderr);
			}
			struct timespec ts = {0, 20 * 1000 * 1000};
			nanosleep(&ts, NULL);
		}
	}
	if (shown)
		fprintf(stderr, "\r%*s\r", 60, "");
	memcpy(out, sh->res, (size_t)o->n * sizeof *out);
	free(pids);
	munmap(sh, size);
	return 0;
}

/* ---- statistics ---- */

void sweep_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi)
{
	if (!n) {
		*lo = 0;
		*hi = 1;
		return;
	}
	double p = (double)k / (double)n, nn = (double)n, z2 = z * z;
	double den = 1 + z2 / nn;
	double mid = (p + z2 / (2 * nn)) / den;
	double half = z * sqrt(p * (1 - p) / nn + z2 / (4 * nn * nn)) / den;
	*lo = fmax(0, mid - half);
	*hi = fmin(1, mid + half);
	/* Exact at the ends: no rounding below 0 or above 1. */
	if (k == 0)
		*lo = 0;
	if (k == n)
		*hi = 1;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Nearest-rank quantile of sorted v[n]. */
static double quant(const double *v, uint32_t n, double q)
{
	if (!n)
		return NAN;
	uint32_t k = (uint32_t)ceil(q * n);
	if (k < 1)
		k = 1;
	return v[k - 1];
}

#define Z95 1.959963984540054

void sweep_summarize(const model *m, const sweep_result *r, uint32_t n,
		     sweep_summary *s)
{
	memset(s, 0, sizeof *s);
	s->n = n;
	double *ttd = calloc(n ? n : 1, sizeof *ttd);
	double *harm = calloc(n ? n : 1, sizeof *harm);
	uint32_t nt = 0, nh = 0;
	double hsum = 0;
	for (uint32_t i = 0; i < n; i++) {
		if (r[i].status) {
			s->failed_runs++;
			continue;
		}
		switch ((enum ro_verdict)r[i].verdict) {
		case RO_PROMOTED: s->promoted++; break;
		case RO_ROLLED_BACK: s->rolled_back++; break;
		case RO_INCONCLUSIVE: s->inconclusive++; break;
		case RO_IN_PROGRESS: s->undecided++; break;
		}
		s->measurements += r[i].measurements;
		s->not_passed += r[i].not_passed;
		if (ttd && r[i].decided_ns != UINT64_MAX)
			ttd[nt++] = (double)r[i].decided_ns / 1e9;
		if (harm) {
			harm[nh++] = (double)r[i].harmed;
			hsum += (double)r[i].harmed;
		}
	}
	uint32_t ran = n - s->failed_runs;
	sweep_wilson(s->promoted, ran, Z95, &s->promoted_lo, &s->promoted_hi);
	sweep_wilson(s->rolled_back, ran, Z95, &s->rolled_back_lo, &s->rolled_back_hi);
	sweep_wilson(s->inconclusive, ran, Z95, &s->inconclusive_lo, &s->inconclusive_hi);
	sweep_wilson(s->not_passed, s->measurements, Z95, &s->not_passed_lo,
		     &s->not_passed_hi);
	const model_rollout *ro = m->rollout;
	if (ro && ro->truth != RO_TRUTH_UNKNOWN) {
		s->has_truth = 1;
		int bad = ro->truth == RO_TRUTH_BAD;
		s->false_what = bad ? "false promotion" : "false rollback";
		s->false_n = bad ? s->promoted : s->rolled_back;
		s->false_rate = ran ? (double)s->false_n / ran : 0;
		sweep_wilson(s->false_n, ran, Z95, &s->false_lo, &s->false_hi);
	}
	if (ttd) {
		qsort(ttd, nt, sizeof *ttd, cmp_d);
		s->ttd_median = quant(ttd, nt, 0.5);
		s->ttd_p90 = quant(ttd, nt, 0.9);
		s->ttd_max = nt ? ttd[nt - 1] : NAN;
	}
	if (harm) {
		qsort(harm, nh, sizeof *harm, cmp_d);
		s->harm_mean = nh ? hsum / nh : NAN;
		s->harm_median = quant(harm, nh, 0.5);
		s->harm_p90 = quant(harm, nh, 0.9);
		s->harm_max = nh ? harm[nh - 1] : NAN;
	}
	free(ttd);
	free(harm);
}

/* ---- output ---- */

static void rate_line(FILE *f, const char *what, uint32_t k, uint32_t n,
		      double lo, double hi, const char *note)
{
	fprintf(f, "  %-14s %5u of %-5u %6.1f%%   95%% CI [%5.1f%%, %5.1f%%]%s\n",
		what, k, n, n ? 100.0 * k / n : 0.0, 100 * lo, 100 * hi, note);
}

static void dur(char *b, size_t n, double s)
{
	if (!isfinite(s))
		snprintf(b, n, "-");
	else if (s >= 60 && fmod(s, 60) == 0)
		snprintf(b, n, "%.0fm", s / 60);
	else if (s >= 60)
		snprintf(b, n, "%.0fm%02.0fs", floor(s / 60), fmod(s, 60));
	else
		snprintf(b, n, "%.1fs", s);
}

void sweep_print(FILE *f, const model *m, const sweep_opts *o,
		 const sweep_summary *s, double wall_s, uint32_t jobs)
{
	const model_rollout *ro = m->rollout;
	const model_service *sv = &m->services[ro->service];
	uint32_t ran = s->n - s->failed_runs;
	fprintf(f, "%s  sweep of %u seeds (%llu..%llu)  %u worker%s  wall %.2fs\n",
		m->name, s->n, (unsigned long long)o->first_seed,
		(unsigned long long)(o->first_seed + s->n - 1), jobs,
		jobs == 1 ? "" : "s", wall_s);
	fprintf(f, "rollout of %s: %s -> %s%s%s; the canary is %s\n", sv->name,
		sv->versions[ro->stable].name, sv->versions[ro->canary].name,
		ro->baseline != MODEL_NONE ? ", baseline " : "",
		ro->baseline != MODEL_NONE ? sv->versions[ro->baseline].name : "",
		ro->truth == RO_TRUTH_BAD    ? "bad (declared)"
		: ro->truth == RO_TRUTH_GOOD ? "good (declared)"
					     : "not declared good or bad");
	fprintf(f, "\n");
	int bad = ro->truth == RO_TRUTH_BAD, good = ro->truth == RO_TRUTH_GOOD;
	rate_line(f, "promoted", s->promoted, ran, s->promoted_lo, s->promoted_hi,
		  bad ? "  <- false promotions" : "");
	rate_line(f, "rolled back", s->rolled_back, ran, s->rolled_back_lo,
		  s->rolled_back_hi, good ? "  <- false rollbacks" : "");
	rate_line(f, "inconclusive", s->inconclusive, ran, s->inconclusive_lo,
		  s->inconclusive_hi, "");
	if (s->undecided)
		fprintf(f, "  %-14s %5u of %-5u (still in progress when the run ended)\n",
			"undecided", s->undecided, ran);
	if (s->failed_runs)
		fprintf(f, "  %u runs failed (out of memory, virtual time stopped, or the "
			   "mesh PKI could not be made; `meshsim run` of one seed says which)\n",
			s->failed_runs);
	char a[32], b[32], c[32];
	dur(a, sizeof a, s->ttd_median);
	dur(b, sizeof b, s->ttd_p90);
	dur(c, sizeof c, s->ttd_max);
	fprintf(f, "\nmeasurements that did not pass: %llu of %llu (%.1f%%, 95%% CI %.1f%% to "
		   "%.1f%%)\n",
		(unsigned long long)s->not_passed, (unsigned long long)s->measurements,
		s->measurements ? 100.0 * (double)s->not_passed / (double)s->measurements : 0.0,
		100 * s->not_passed_lo, 100 * s->not_passed_hi);
	fprintf(f, "time to decision: median %s, p90 %s, max %s\n", a, b, c);
	fprintf(f, "blast radius (requests the canary harmed until the decision): "
		   "mean %.1f, median %.0f, p90 %.0f, max %.0f\n",
		s->harm_mean, s->harm_median, s->harm_p90, s->harm_max);
	if (s->has_truth)
		fprintf(f, "%s rate: %.1f%% (95%% CI %.1f%% to %.1f%%)\n", s->false_what,
			100 * s->false_rate, 100 * s->false_lo, 100 * s->false_hi);
}

static json_t *rate_json(uint32_t k, uint32_t n, double lo, double hi)
{
	json_t *o = json_object();
	json_object_set_new(o, "count", json_integer(k));
	json_object_set_new(o, "rate", json_real(n ? round(1e6 * k / n) / 1e6 : 0));
	json_object_set_new(o, "ci95", json_pack("[ff]", round(lo * 1e6) / 1e6,
						 round(hi * 1e6) / 1e6));
	return o;
}

static json_t *maybe(double x, double scale)
{
	return isfinite(x) ? json_real(round(x * scale) / scale) : json_null();
}

int sweep_write_json(const char *path, const model *m, const sweep_opts *o,
		     const sweep_summary *s, const sweep_result *r, char *err,
		     size_t errlen)
{
	uint32_t ran = s->n - s->failed_runs;
	json_t *root = json_object();
	json_object_set_new(root, "generator", json_string("meshsim " MESHSIM_VERSION));
	json_object_set_new(root, "scenario", json_string(m->name));
	json_object_set_new(root, "file", json_string(m->file ? m->file : ""));
	json_object_set_new(root, "first_seed", json_integer((json_int_t)o->first_seed));
	json_object_set_new(root, "seeds", json_integer(s->n));
	json_object_set_new(root, "failed_runs", json_integer(s->failed_runs));
	const model_rollout *ro = m->rollout;
	json_object_set_new(root, "truth", ro->truth == RO_TRUTH_GOOD  ? json_string("good")
					   : ro->truth == RO_TRUTH_BAD ? json_string("bad")
								       : json_null());
	json_object_set_new(root, "promoted", rate_json(s->promoted, ran, s->promoted_lo,
							s->promoted_hi));
	json_object_set_new(root, "rolled_back", rate_json(s->rolled_back, ran,
							   s->rolled_back_lo,
							   s->rolled_back_hi));
	json_object_set_new(root, "inconclusive", rate_json(s->inconclusive, ran,
							    s->inconclusive_lo,
							    s->inconclusive_hi));
	json_object_set_new(root, "undecided", json_integer(s->undecided));
	if (s->has_truth) {
		json_t *x = rate_json(s->false_n, ran, s->false_lo, s->false_hi);
		json_object_set_new(x, "what", json_string(s->false_what));
		json_object_set_new(root, "false_decisions", x);
	} else {
		json_object_set_new(root, "false_decisions", json_null());
	}
	json_t *t = json_object();
	json_object_set_new(t, "median", maybe(s->ttd_median, 1e3));
	json_object_set_new(t, "p90", maybe(s->ttd_p90, 1e3));
	json_object_set_new(t, "max", maybe(s->ttd_max, 1e3));
	json_object_set_new(root, "time_to_decision_s", t);
	json_t *h = json_object();
	json_object_set_new(h, "mean", maybe(s->harm_mean, 1e3));
	json_object_set_new(h, "median", maybe(s->harm_median, 1e3));
	json_object_set_new(h, "p90", maybe(s->harm_p90, 1e3));
	json_object_set_new(h, "max", maybe(s->harm_max, 1e3));
	json_object_set_new(root, "blast_radius", h);
	json_t *ms = json_object();
	json_object_set_new(ms, "count", json_integer((json_int_t)s->measurements));
	json_object_set_new(ms, "not_passed", json_integer((json_int_t)s->not_passed));
	json_object_set_new(ms, "ci95", json_pack("[ff]", round(s->not_passed_lo * 1e6) / 1e6,
						  round(s->not_passed_hi * 1e6) / 1e6));
	json_object_set_new(root, "measurements", ms);
	json_t *runs = json_array();
	for (uint32_t i = 0; i < s->n; i++) {
		json_t *x = json_object();
		json_object_set_new(x, "seed", json_integer((json_int_t)r[i].seed));
		json_object_set_new(x, "status", json_integer(r[i].status));
		json_object_set_new(x, "verdict",
				    json_string(ro_verdict_name((enum ro_verdict)r[i].verdict)));
		json_object_set_new(x, "time_to_decision_s",
				    r[i].decided_ns == UINT64_MAX
					    ? json_null()
					    : json_real(round((double)r[i].decided_ns / 1e6) / 1e3));
		json_object_set_new(x, "canary_calls", json_integer((json_int_t)r[i].canary_calls));
		json_object_set_new(x, "harmed", json_integer((json_int_t)r[i].harmed));
		json_object_set_new(x, "events", json_integer((json_int_t)r[i].events));
		json_object_set_new(x, "measurements", json_integer(r[i].measurements));
		json_object_set_new(x, "not_passed", json_integer(r[i].not_passed));
		json_array_append_new(runs, x);
	}
	json_object_set_new(root, "runs", runs);
	int rc = json_dump_file(root, path, JSON_INDENT(1) | JSON_REAL_PRECISION(12));
	json_decref(root);
	if (rc < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		return -1;
	}
	return 0;
}
