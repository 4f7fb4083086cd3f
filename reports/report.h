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

/* A compact human summary. */
void report_print_summary(FILE *f, const model *m, const rec *r,
			  uint64_t seed, const report_verdict *v);

#endif
