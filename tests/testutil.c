#include "testutil.h"

#include <check.h>
#include <stdio.h>

#include "scenario.h"
#include "sim.h"

model *tu_load(const char *json)
{
	scn_errors e = {0};
	model *m = scn_load_string(json, "test.json", &e);
	for (size_t i = 0; i < e.n; i++)
		fprintf(stderr, "%s\n", e.msg[i]);
	scn_errors_free(&e);
	ck_assert_msg(m != NULL, "scenario did not load");
	return m;
}

rec *tu_run(const model *m)
{
	rec *r = rec_new(m);
	ck_assert_ptr_nonnull(r);
	sim *s = sim_new(m, m->seed, r);
	ck_assert_ptr_nonnull(s);
	ck_assert_int_eq(sim_run(s), 0);
	sim_free(s);
	return r;
}
