/*
 * The golden test: a fixed-seed scenario's report.json, byte for byte.
 * Any change to the simulator's behaviour or the report's format shows up
 * here. When a change is meant, `make regen-golden` rewrites the file; read
 * its diff before committing it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"
#include "scenario.h"
#include "sim.h"
#include "suites.h"

#define GOLDEN_SCENARIO "tests/golden/golden.json"
#define GOLDEN_REPORT "tests/golden/golden.report.json"

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s (run from the top folder)", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	return b;
}

static char *report_of(const char *path, uint64_t seed_override)
{
	scn_errors e = {0};
	model *m = scn_load_file(path, &e);
	ck_assert_msg(m != NULL, "%s did not load", path);
	scn_errors_free(&e);
	if (seed_override)
		m->seed = seed_override;
	rec *r = rec_new(m);
	sim *s = sim_new(m, m->seed, r);
	ck_assert_int_eq(sim_run(s), 0);
	report_verdict *v = calloc(m->nobjectives + 1, sizeof *v);
	report_evaluate(m, r, v);
	char *json = report_json_string(m, r, m->seed, "sim", v);
	free(v);
	sim_free(s);
	rec_free(r);
	model_free(m);
	return json;
}

START_TEST(test_golden_bytes)
{
	char *got = report_of(GOLDEN_SCENARIO, 0);
	char *want = slurp(GOLDEN_REPORT);
	size_t lw = strlen(want);
	/* The file ends with the newline report_write_json adds. */
	ck_assert_msg(lw > 0 && want[lw - 1] == '\n', "golden file lacks its newline");
	want[lw - 1] = '\0';
	if (strcmp(got, want) != 0) {
		size_t i = 0;
		while (got[i] && got[i] == want[i])
			i++;
		size_t from = i > 80 ? i - 80 : 0;
		ck_abort_msg("report differs from %s at byte %zu:\n got: ...%.160s\nwant: ...%.160s\n"
			     "(if the change is meant: make regen-golden, and review the diff)",
			     GOLDEN_REPORT, i, got + from, want + from);
	}
	free(got);
	free(want);
}
END_TEST

START_TEST(test_same_seed_same_bytes_other_seed_other_bytes)
{
	char *a = report_of(GOLDEN_SCENARIO, 0);
	char *b = report_of(GOLDEN_SCENARIO, 0);
	char *c = report_of(GOLDEN_SCENARIO, 12345);
	ck_assert_str_eq(a, b);
	ck_assert_str_ne(a, c);
	free(a);
	free(b);
	free(c);
}
END_TEST

Suite *golden_suite(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("golden");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_golden_bytes);
	tcase_add_test(tc, test_same_seed_same_bytes_other_seed_other_bytes);
	suite_add_tcase(s, tc);
	return s;
}
