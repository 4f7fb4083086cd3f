/*
 * render.h - what people look at, made from report.json.
 *
 * Every renderer reads the parsed report.json (a jansson document), never
 * the recorder: so `meshsim report DIR` can make them again from a saved
 * report, and what a person sees is exactly what the machine-readable
 * report says.
 *
 *   render_text    the terminal summary (fits in 100 columns)
 *   render_charts  gnuplot charts over time, fault windows shaded, and
 *                  latency CDFs: SVG and PNG files in the report's folder
 *   render_html    report.html: one self-contained file
 */
#ifndef RENDER_H
#define RENDER_H

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>

/* Print the summary of report `r` (borrowed). ANSI colour only when
 * `color` is set: callers pass render_want_color(stream). */
void render_text(const json_t *r, FILE *f, int color);

/* Colour for stream f: a terminal, and NO_COLOR not set (no-color.org). */
int render_want_color(FILE *f);

/* The charts a report gets, by file stem: DIR/charts/<stem>.svg and .png. */
typedef struct render_chart {
	const char *stem;
	const char *title;
} render_chart;

extern const render_chart render_charts_list[];
extern const size_t render_charts_count;

/* Draw the charts of report `r` into directory dir with gnuplot, run as a
 * program. Returns 0 when they were drawn; 1 when gnuplot is not installed
 * (nothing drawn, `why` says how to get it); -1 on another failure (why
 * says what). Never touches report.json. */
int render_charts(const json_t *r, const char *dir, char *why, size_t whylen);

/* Write dir/report.html for report `r`, with the charts found in dir
 * inlined (those missing are noted in the page). Returns 0 or -1 with a
 * message in err. */
int render_html(const json_t *r, const char *dir, char *err, size_t errlen);

/* Read dir/report.json (or a report.json path). Returns a new reference
 * or NULL with a message in err. */
json_t *render_load(const char *path, char *err, size_t errlen);

#endif
