/*
 * scenario.h - the scenario loader: JSON file in, validated model out.
 *
 * The loader checks everything before anything runs and reports every
 * problem it finds, not only the first, each as one line naming the file,
 * the JSON path, what was expected and what was found, e.g.
 *
 *   bad.json: services.catalog.replicas: expected an integer >= 1, found -2
 *
 * Unknown keys are errors (with the nearest known key suggested), so a typo
 * is never ignored. Calls to services that do not exist and cycles in the
 * call graph are errors too, as are references to undefined services or
 * versions in "mesh" policies and "faults". scenarios/README.md documents
 * the format and scenarios/scenario.schema.json is its JSON Schema.
 *
 * Every service's policy starts from the preset named by "defaults" (see
 * model_policy_preset). Route and header conditions of matches are resolved
 * once the whole file is read, into per-route tables and masks of the
 * interned header pairs, so they cover routes and pairs that appear after
 * them in the file.
 */
#ifndef SCENARIO_H
#define SCENARIO_H

#include <stddef.h>

#include "model.h"

/* Errors found by a load, in the order found. */
typedef struct scn_errors {
	char **msg;
	size_t n, cap;
} scn_errors;

void scn_errors_free(scn_errors *e);

/* Load and validate `path`. Returns a new model (caller frees with
 * model_free) when the file is valid; NULL otherwise, with every problem
 * appended to errs (at least one). */
model *scn_load_file(const char *path, scn_errors *errs);

/* The same, from a string; `name` stands for the file in messages. */
model *scn_load_string(const char *json, const char *name, scn_errors *errs);

/* Parse a duration with a unit ("250ms", "1.5s", "2m", "100us", "30ns",
 * "1h"; "0" alone is also accepted). Returns 0 and sets *out, or -1. */
int scn_parse_duration(const char *s, mesh_time *out);

#endif
