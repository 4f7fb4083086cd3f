/* Small readers of report.json shared by the renderers. */
#ifndef RENDER_UTIL_H
#define RENDER_UTIL_H

#include <jansson.h>
#include <stddef.h>

/* o[key] as a number, or dflt when missing or not a number. */
double ru_num(const json_t *o, const char *key, double dflt);
/* o[key] as a string, or dflt. */
const char *ru_str(const json_t *o, const char *key, const char *dflt);
/* o[a][b] (b may be NULL). Borrowed; NULL when missing. */
json_t *ru_path(const json_t *o, const char *a, const char *b);
/* Milliseconds as "850us", "12.3ms" or "1.25s". */
void ru_ms(char *buf, size_t len, double ms_);

#endif
