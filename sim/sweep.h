/*
 * sweep.h - how reliable is a rollout's analysis? The same scenario over
 * many seeds, in worker processes.
 *
 * Each seed is one simulated rollout, run until its decision (nothing
 * after it matters here). A seed's run depends only on the scenario and
 * the seed, and results are gathered in seed order, so the summary is the
 * same bytes whatever the number of workers. Rates come with Wilson score
 * intervals (Wilson 1927; Brown, Cai and DasGupta 2001 recommend it over
 * the normal approximation for proportions near 0 or 1).
 */
#ifndef SWEEP_H
#define SWEEP_H

#include <stdint.h>
#include <stdio.h>

#include "model.h"

typedef struct sweep_opts {
	uint64_t first_seed;  /* seeds first_seed .. first_seed + n - 1 */
	uint32_t n;
	uint32_t jobs;        /* worker processes (0: one per core) */
	int progress;         /* show progress on stderr */
} sweep_opts;

/* One seed's rollout. */
typedef struct sweep_result {
	uint64_t seed;
	int32_t status;          /* 0 ran; -1 out of memory; -2 time stopped;
				  * -3 the worker died */
	int32_t verdict;         /* enum ro_verdict */
	uint64_t decided_ns;     /* time to decision; UINT64_MAX: none */
	uint64_t canary_calls;   /* until the decision */
	uint64_t harmed;         /* failed + slow, until the decision */
	uint64_t events;
	uint32_t measurements;   /* analysis intervals measured */
	uint32_t not_passed;     /* ... that failed, had no data or were
				  * marginal */
} sweep_result;

/* Run m's rollout for every seed into out[o->n]. Returns 0, or -1 when the
 * workers could not be started (errno set). A seed whose run failed has
 * its status set. */
int sweep_run(const model *m, const sweep_opts *o, sweep_result *out);

/* The Wilson score interval of k successes in n at z (1.96 for 95%). */
void sweep_wilson(uint64_t k, uint64_t n, double z, double *lo, double *hi);

/* Summary of the results. */
typedef struct sweep_summary {
	uint32_t n, failed_runs;
	uint32_t promoted, rolled_back, inconclusive, undecided;
	double promoted_lo, promoted_hi, rolled_back_lo, rolled_back_hi;
	double inconclusive_lo, inconclusive_hi;
	/* the wrong decision given the scenario's truth, if it has one */
	int has_truth;
	const char *false_what;  /* "false promotion" or "false rollback" */
	uint32_t false_n;
	double false_rate, false_lo, false_hi;
	/* time to decision (s) and blast radius, over decided runs */
	double ttd_median, ttd_p90, ttd_max;
	double harm_mean, harm_median, harm_p90, harm_max;
	/* measurements over every run, and those that did not pass */
	uint64_t measurements, not_passed;
	double not_passed_lo, not_passed_hi;
} sweep_summary;

void sweep_summarize(const model *m, const sweep_result *r, uint32_t n,
		     sweep_summary *s);

/* Print the summary for people (fits in 100 columns). */
void sweep_print(FILE *f, const model *m, const sweep_opts *o,
		 const sweep_summary *s, double wall_s, uint32_t jobs);

/* Write the summary and every seed's result as JSON (no wall-clock
 * content: the same bytes for the same scenario and seeds). Returns 0 or
 * -1 with a message in err. */
int sweep_write_json(const char *path, const model *m, const sweep_opts *o,
		     const sweep_summary *s, const sweep_result *r, char *err,
		     size_t errlen);

#endif
