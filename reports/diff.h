/*
 * diff.h - compare two runs of the same scenario (`meshsim diff A B`).
 *
 * A and B are two report.json files of one scenario, typically the same
 * scenario run at two seeds, or before and after a change to it. For each
 * objective the diff shows what A and B measured and whether each met it;
 * for all clients together (totals) and for each service, it shows the
 * success rate, p50, p90, p99 and (where the report has it) the retry
 * amplification in A and in B, the change, the noise, and a flag.
 *
 * Noise. Two seeds of one scenario never give the same figures, so a change
 * only counts when it is larger than the seeds' spread would explain. We
 * estimate each figure's standard error from the run's own per-second time
 * series by the method of batch means, the usual way to put a confidence
 * interval on a figure from one simulation run (Law, "Simulation Modeling
 * and Analysis", ch. 9): the seconds in which requests ended (done > 0) are
 * taken in order and cut into batches of DIFF_BATCH_S seconds (a last,
 * shorter batch is dropped, so batches are alike); the figure is computed
 * per batch (success rate: sum of ok / sum of done, with ok = success_rate
 * x done per second; p50, p90, p99: the median of the batch's per-second
 * values; retry amplification: sum of attempts / sum of issued); and
 * se = sd(batch figures) / sqrt(number of batches). Batches of seconds are
 * nearly independent even when seconds are not (a queue carries load from
 * one second into the next), which is why batches beat single seconds.
 *
 * A change B - A is flagged when it is beyond DIFF_NOISE_SIGMAS standard
 * errors of the difference, |B - A| > 3 sqrt(se_A^2 + se_B^2), and also
 * beyond a practical floor (0.1 percentage point of success rate, 2% of
 * A's latency, 0.01 attempts per request), so that a very steady series
 * does not flag a change nobody would care about. It is "worse" in the bad
 * direction (success rate down, latency up, amplification up) and
 * "better" in the other; otherwise "~". A and B are the report's own
 * whole-run figures (totals / services[]), not the batch means; the batch
 * means only size the noise. With fewer than DIFF_MIN_BATCHES batches on
 * either side a figure is "too little data to judge" and never flagged.
 *
 * Objectives are matched by scope, name and metric (in order, when one
 * appears more than once). One met in A and missed in B is a regression;
 * missed in A and met in B, an improvement. Objectives and services that
 * only one side has are shown but judge nothing.
 */
#ifndef DIFF_H
#define DIFF_H

#include <stddef.h>
#include <stdio.h>

#define DIFF_BATCH_S 5          /* seconds per batch */
#define DIFF_MIN_BATCHES 4      /* fewer: too little data to judge */
#define DIFF_NOISE_SIGMAS 3.0   /* flag beyond this many standard errors */
#define DIFF_FLOOR_RATE 0.001   /* success rate: 0.1 percentage point */
#define DIFF_FLOOR_LATENCY 0.02 /* latency: 2% of A's value */
#define DIFF_FLOOR_AMP 0.01     /* retry amplification: attempts/request */

/* Exit statuses of diff_reports, as the `meshsim diff` command's. */
enum { DIFF_SAME = 0, DIFF_REGRESSION = 1, DIFF_BAD_INPUT = 2 };

/*
 * Compare two runs of the same scenario. a and b are each a report.json
 * file or a directory holding one. Prints the comparison to out, at most
 * 100 columns wide, with ANSI colours only when `color` is set.
 *
 * Returns DIFF_SAME (0) when B has no regression against A;
 * DIFF_REGRESSION (1) when it has one: an objective met in A and missed in
 * B, or a figure flagged "worse"; DIFF_BAD_INPUT (2) when an input cannot
 * be read, is not a report of schema version 1, or the two are not reports
 * of the same scenario (scenario.name differs). On 2, nothing is printed
 * to out and err gets a message naming the file, the JSON path, what was
 * expected and what was found.
 *
 * Borrows everything; reads the files and keeps nothing.
 */
int diff_reports(const char *a, const char *b, FILE *out, int color,
		 char *err, size_t errlen);

#endif
