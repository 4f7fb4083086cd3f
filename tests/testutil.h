/* Helpers shared by the test suites. */
#ifndef TESTUTIL_H
#define TESTUTIL_H

#include "model.h"
#include "rec.h"

/* Load a scenario from a string; the test fails (with the loader's
 * messages) when it does not load. Caller frees with model_free. */
model *tu_load(const char *json);

/* Simulate m with its own seed. Returns the recorder (caller frees with
 * rec_free); *events gets the event count when events is not NULL. */
rec *tu_run(const model *m);

#endif
