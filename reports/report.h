/*
 * report.h - what a run produced: objectives, report.json, text summary.
 *
 * report.json is the one machine-readable result of a run; every other
 * rendering (the text summary now, charts and HTML later) is made from the
 * same recorder data. Its format is versioned by "schema_version" and
 * documented in README.md ("report.json"). It contains nothing that depends
 * on the wall clock or the machine, so the same scenario and seed give the
 * same bytes.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "model.h"
#include "rec.h"

#define REPORT_SCHEMA_VERSION 1
#define MESHSIM_VERSION "0.1.0"

/* The verdict on one objective. */
typedef struct report_verdict {
	const model_objective *o;
	double measured;   /* same unit as o->target */
	int met;
} report_verdict;

/* Statistics of a stretch of seconds of a time series. */
typedef struct report_window {
	uint32_t from, to;     /* seconds [from, to) */
	uint64_t issued, done, ok;
	double success_rate;   /* ok / done; 1 when nothing ended */
	double p99;            /* median of the seconds' p99s, ns */
	double rate;           /* issued per second */
} report_window;

report_window report_window_of(const rec_series *s, uint32_t from, uint32_t to);

/* How long after fault f ended the series got back to its level before f
 * began: success rate within one point and p99 within 1.5 times, held for
 * 5 seconds (or to the end of the run). The level before is the 30 s
 * before f (or what there is of it). A root rotation, which never ends,
 * counts from its start instead: the mesh heals it (0 when it made no
 * second worse); another fault without an end never recovers. Returns ns, or MESH_NEVER when it did not get
 * back (or there was no traffic before f to compare with). */
mesh_time report_recovery(const model *m, const rec_series *s,
			  const model_fault *f);

/* The metastability check: after the trigger (the first fault, or the
 * first rise of the offered rate) is gone, is the system still degraded?
 * Judged on the last 10 s of load against the 30 s before the trigger,
 * only when no fault is on then and the offered rate is back to at most
 * 1.1 times what it was. */
typedef struct report_metastable {
	int judged;            /* the conditions above held */
	int degraded;          /* success down a point or p99 over 2 times */
	int metastable;        /* judged and degraded */
	report_window before, after;
	const char *why;       /* when not judged */
} report_metastable;

report_metastable report_metastability(const model *m, const rec_series *s);

/* Evaluate every objective of m against r into out[m->nobjectives].
 * Returns the number missed. */
uint32_t report_evaluate(const model *m, const rec *r, report_verdict *out);

/* Write report.json into directory `dir` (created if needed, with parents).
 * `mode` is "sim" or "live". Returns 0, or -1 with a message in err. */
int report_write_json(const model *m, const rec *r, uint64_t seed,
		      const char *mode, const report_verdict *v,
		      const char *dir, char *err, size_t errlen);

/* The report as a string (caller frees), exactly as written to the file. */
char *report_json_string(const model *m, const rec *r, uint64_t seed,
			 const char *mode, const report_verdict *v);

/* As report_write_json and report_json_string, with the members of object
 * `extra` (borrowed; NULL: none) added at the top level after "run": a
 * host's own section, such as live mode's "live" (see README.md). */
struct json_t;
int report_write_json_extra(const model *m, const rec *r, uint64_t seed,
			    const char *mode, const report_verdict *v,
			    const struct json_t *extra, const char *dir,
			    char *err, size_t errlen);
char *report_json_string_extra(const model *m, const rec *r, uint64_t seed,
			       const char *mode, const report_verdict *v,
			       const struct json_t *extra);

#endif
