/*
 * render_rollout.h - what people see of a rollout, made from the
 * "rollout" section of report.json (nothing when it has none): the
 * verdict and the time to it, the timeline of weights and decisions with
 * their reasons, each interval's canary against its baseline, and the
 * blast radius; as text, gnuplot charts and a section of report.html.
 */
#ifndef RENDER_ROLLOUT_H
#define RENDER_ROLLOUT_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* The rollout's part of the terminal summary (fits in 100 columns). */
void render_rollout_text(const json_t *r, FILE *f, int color);

/* Draw the rollout's charts into directory cdir (the report's charts/):
 * rollout-weight, rollout-success and rollout-latency, SVG and PNG, from
 * rollout.dat and rollout.gp written beside them. Returns 0 (also when
 * the report has no rollout), -1 with a message in why. */
int render_rollout_charts(const json_t *r, const char *cdir, char *why,
			  size_t whylen);

/* The rollout's section of report.html (id "rollout"), with the charts
 * found in dir/charts inlined. */
void render_rollout_html(FILE *f, const json_t *r, const char *dir);

#endif
