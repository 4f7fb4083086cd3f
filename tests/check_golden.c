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
#include <unistd.h>

#include "render.h"
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

START_TEST(test_summary_text_golden)
{
	/* The terminal summary of the golden report, without colour, byte
	 * for byte. */
	char err[256];
	json_t *r = render_load(GOLDEN_REPORT, err, sizeof err);
	ck_assert_msg(r != NULL, "%s", err);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	render_text(r, f, 0);
	fclose(f);
	char *want = slurp("tests/golden/golden.summary.txt");
	ck_assert_str_eq(buf, want);
	/* It fits in 100 columns. */
	for (char *line = buf; *line;) {
		char *nl = strchr(line, '\n');
		size_t l = nl ? (size_t)(nl - line) : strlen(line);
		ck_assert_msg(l <= 100, "a summary line of %zu columns: %.*s", l, (int)l, line);
		line += l + (nl != NULL);
	}
	free(buf);
	free(want);
	json_decref(r);
}
END_TEST

START_TEST(test_summary_colour_only_when_asked)
{
	char err[256];
	json_t *r = render_load(GOLDEN_REPORT, err, sizeof err);
	ck_assert_ptr_nonnull(r);
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	render_text(r, f, 1);
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "\033[31m")); /* the missed objective, red */
	free(buf);
	buf = NULL;
	f = open_memstream(&buf, &len);
	render_text(r, f, 0);
	fclose(f);
	ck_assert_ptr_null(strchr(buf, '\033'));
	free(buf);
	/* NO_COLOR wins, even on a terminal (no-color.org). */
	setenv("NO_COLOR", "1", 1);
	ck_assert_int_eq(render_want_color(stdout), 0);
	unsetenv("NO_COLOR");
	json_decref(r);
}
END_TEST

START_TEST(test_html_has_every_part)
{
	/* The page without charts (none drawn here): every section, the
	 * service graph as SVG, no fetch of anything. */
	char err[256], dir[] = "/tmp/meshsim-html-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	json_t *r = render_load(GOLDEN_REPORT, err, sizeof err);
	ck_assert_ptr_nonnull(r);
	ck_assert_int_eq(render_html(r, dir, err, sizeof err), 0);
	char path[300];
	snprintf(path, sizeof path, "%s/report.html", dir);
	char *html = slurp(path);
	const char *parts[] = {"id=\"objectives\"", "id=\"graph\"", "id=\"charts\"",
			       "id=\"services\"", "id=\"routes\"", "id=\"faults\"",
			       "<svg", "MISSED", "gateway", "not drawn"};
	for (size_t i = 0; i < sizeof parts / sizeof parts[0]; i++)
		ck_assert_msg(strstr(html, parts[i]) != NULL, "no %s in report.html", parts[i]);
	/* (SVG's xmlns names a URL; nothing may load one.) */
	ck_assert_ptr_null(strstr(html, "src=\"http"));
	ck_assert_ptr_null(strstr(html, "href=\"http"));
	ck_assert_ptr_null(strstr(html, "<script"));
	/* The objectives come before the charts. */
	ck_assert(strstr(html, "id=\"objectives\"") < strstr(html, "id=\"charts\""));
	free(html);
	remove(path);
	rmdir(dir);
	json_decref(r);
}
END_TEST

Suite *golden_suite(void)
{
	Suite *s = suite_create("golden");
	TCase *tc = tcase_create("golden");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_golden_bytes);
	tcase_add_test(tc, test_same_seed_same_bytes_other_seed_other_bytes);
	tcase_add_test(tc, test_summary_text_golden);
	tcase_add_test(tc, test_summary_colour_only_when_asked);
	tcase_add_test(tc, test_html_has_every_part);
	suite_add_tcase(s, tc);
	return s;
}
