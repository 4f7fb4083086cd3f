/* Helpers shared by the test suites. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include "model.h"
#include "rec.h"

/* Load a scenario from a string; the test fails (with the loader's
 * messages) when it does not load. Caller frees with model_free. */
model *tu_load(const char *json);

/* Simulate m with its own seed; the test fails if the run does. Returns
 * the recorder (caller frees with rec_free). */
rec *tu_run(const model *m);

#endif
