/*
 * JUnit XML: what CI test reporters will read.
 *
 * The reports are built here with jansson, shaped like report.json, so each
 * test states exactly what goes in. What comes out is checked with xmllint
 * (Debian: libxml2-utils), an XML parser that is not ours: the file must be
 * well-formed, valid against tests/junit.xsd (the JUnit shape GitLab,
 * Jenkins and GitHub read), and say the right things when parsed back.
 * Without xmllint these tests fail rather than pass unchecked.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <jansson.h>

#include "junit.h"
#include "suites.h"

/* Also in suites.h once the runner registers this suite; repeated here so
 * the file builds on its own under -Wmissing-prototypes. */
Suite *junit_suite(void);

#define JUNIT_XSD "tests/junit.xsd"

/* ---- temporary files ---- */

typedef struct tmp_out {
	char dir[64];
	char path[96];
} tmp_out;

static void tmp_make(tmp_out *t)
{
	snprintf(t->dir, sizeof t->dir, "/tmp/meshsim-junit-XXXXXX");
	ck_assert_msg(mkdtemp(t->dir) != NULL, "mkdtemp failed");
	snprintf(t->path, sizeof t->path, "%s/junit.xml", t->dir);
}

/* Removes the output; rmdir fails, and so the test, when anything else
 * (a stray junit.xml.tmp) was left in the folder. */
static void tmp_drop(tmp_out *t)
{
	remove(t->path);
	ck_assert_msg(rmdir(t->dir) == 0, "%s: something besides junit.xml was left in it",
		      t->dir);
}

static int exists(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	size_t cap = 4096, len = 0;
	char *b = malloc(cap);
	size_t got;
	while ((got = fread(b + len, 1, cap - len - 1, f)) > 0) {
		len += got;
		if (cap - len < 2)
			b = realloc(b, cap *= 2);
	}
	fclose(f);
	b[len] = '\0';
	return b;
}

/* ---- xmllint ---- */

static int have_xmllint(void)
{
	return system("command -v xmllint >/dev/null 2>&1") == 0;
}

/* Tests that read their output with xmllint call this first, so that
 * without it they fail at once, with the fix, and leave no files behind. */
static void need_xmllint(void)
{
	ck_assert_msg(have_xmllint(),
		      "xmllint not found: these tests check the XML with it; install "
		      "libxml2-utils (apt-get install libxml2-utils; .ci/deps.sh test does)");
}

/* Run a shell command; returns its output (stdout and stderr, caller frees)
 * and its exit status in *status. */
static char *run(const char *cmd, int *status)
{
	FILE *p = popen(cmd, "r");
	ck_assert_msg(p != NULL, "cannot run: %s", cmd);
	size_t cap = 4096, len = 0;
	char *b = malloc(cap);
	size_t got;
	while ((got = fread(b + len, 1, cap - len - 1, p)) > 0) {
		len += got;
		if (cap - len < 2)
			b = realloc(b, cap *= 2);
	}
	b[len] = '\0';
	int st = pclose(p);
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return b;
}

/* Well-formed and valid against tests/junit.xsd, or the test fails with
 * xmllint's words. */
static void assert_valid(const char *file)
{
	need_xmllint();
	char cmd[512];
	snprintf(cmd, sizeof cmd, "xmllint --noout --schema " JUNIT_XSD " '%s' 2>&1", file);
	int st;
	char *out = run(cmd, &st);
	ck_assert_msg(st == 0, "%s is not valid JUnit XML:\n%s", file, out);
	free(out);
}

/* The value of an XPath expression over file (caller frees). expr goes in
 * single quotes to the shell, so it uses double quotes only. */
static char *xpath(const char *file, const char *expr)
{
	need_xmllint();
	ck_assert_msg(strchr(expr, '\'') == NULL, "xpath expression with a ': %s", expr);
	size_t len = strlen(expr) + strlen(file) + 64;
	char *cmd = malloc(len);
	snprintf(cmd, len, "xmllint --xpath '%s' '%s' 2>&1", expr, file);
	int st;
	char *out = run(cmd, &st);
	ck_assert_msg(st == 0, "%s failed:\n%s", cmd, out);
	free(cmd);
	/* xmllint ends a string or number result with a newline. */
	size_t n = strlen(out);
	if (n && out[n - 1] == '\n')
		out[n - 1] = '\0';
	return out;
}

static long xcount(const char *file, const char *expr)
{
	char *s = xpath(file, expr);
	char *end;
	long v = strtol(s, &end, 10);
	ck_assert_msg(end != s && *end == '\0', "%s: expected a whole number, got \"%s\"",
		      expr, s);
	free(s);
	return v;
}

#define ck_assert_xpath_str(file, expr, want)                                   \
	do {                                                                    \
		char *got_ = xpath((file), (expr));                             \
		ck_assert_msg(strcmp(got_, (want)) == 0, "%s: got \"%s\", want \"%s\"", \
			      (expr), got_, (want));                            \
		free(got_);                                                     \
	} while (0)

#define ck_assert_xpath_int(file, expr, want)                                   \
	ck_assert_msg(xcount((file), (expr)) == (want), "%s: want %ld, got %ld", \
		      (expr), (long)(want), xcount((file), (expr)))

/* ---- reports ---- */

/* One entry of "objectives". target and measured are stolen. */
static json_t *objective(const char *scope, const char *name, const char *metric,
			 const char *expect, const char *op, json_t *target,
			 json_t *measured, const char *unit, int met)
{
	json_t *o = json_object();
	json_object_set_new(o, "scope", json_string(scope));
	if (name)
		json_object_set_new(o, "name", json_string(name));
	json_object_set_new(o, "metric", json_string(metric));
	json_object_set_new(o, "expect", json_string(expect));
	json_object_set_new(o, "op", json_string(op));
	json_object_set_new(o, "target", target);
	json_object_set_new(o, "measured", measured);
	json_object_set_new(o, "unit", json_string(unit));
	json_object_set_new(o, "met", json_boolean(met));
	return o;
}

/* A report.json of scenario `name` with these objectives (stolen), every
 * request accounted for. */
static json_t *report(const char *name, json_t *objectives)
{
	int pass = 1;
	size_t i;
	json_t *o;
	json_array_foreach(objectives, i, o)
		pass &= json_is_true(json_object_get(o, "met"));
	char file[256];
	snprintf(file, sizeof file, "scenarios/%s.json", name);
	json_t *r = json_pack(
		"{s:i, s:s, s:s, s:s,"
		" s:{s:s, s:s, s:I, s:f, s:f},"
		" s:{s:f, s:I}, s:s, s:o,"
		" s:{s:I, s:b},"
		" s:[{s:s, s:b}]}",
		"schema_version", 1, "generator", "meshsim 0.1.0", "mode", "sim",
		"defaults", "none",
		"scenario", "name", name, "file", file, "seed", (json_int_t)7,
		"duration_s", 60.0, "drain_s", 5.0,
		"run", "end_s", 60.01, "events", (json_int_t)1597861,
		"verdict", pass ? "pass" : "fail", "objectives", objectives,
		"totals", "issued", (json_int_t)63144, "accounted", 1,
		"services", "name", "catalog", "accounted", 1);
	ck_assert_ptr_nonnull(r);
	return r;
}

/* Every objective met: three testcases, no failure. */
static json_t *report_all_met(void)
{
	json_t *objs = json_array();
	json_array_append_new(objs, objective("overall", NULL, "success_rate", ">= 0.995",
					      ">=", json_real(0.995), json_real(0.999018),
					      "ratio", 1));
	json_array_append_new(objs, objective("overall", NULL, "p99", "<= 300ms", "<=",
					      json_real(300), json_real(43.123), "ms", 1));
	json_array_append_new(objs, objective("service", "catalog", "success_rate",
					      ">= 0.999", ">=", json_real(0.999),
					      json_real(0.9995), "ratio", 1));
	return report("quickstart", objs);
}

/* Four of five objectives missed, one of each kind of value. */
static json_t *report_missed(void)
{
	json_t *objs = json_array();
	json_array_append_new(objs, objective("overall", NULL, "p99", "<= 300ms", "<=",
					      json_real(300), json_real(412.3), "ms", 0));
	json_array_append_new(objs, objective("service", "catalog", "success_rate",
					      ">= 0.999", ">=", json_real(0.999),
					      json_real(0.9871), "ratio", 0));
	json_array_append_new(objs, objective("client", "shoppers", "timeouts", "<= 10",
					      "<=", json_integer(10), json_integer(12),
					      "requests", 0));
	json_array_append_new(objs, objective("overall", NULL, "recovers_within", "<= 5s",
					      "<=", json_real(5000), json_string("never"),
					      "ms", 0));
	json_array_append_new(objs, objective("overall", NULL, "error_rate", "<= 0.01",
					      "<=", json_real(0.01), json_real(0.004),
					      "ratio", 1));
	return report("checkout", objs);
}

static json_t *report_no_objectives(void)
{
	return report("idle", json_array());
}

/* Names with every character XML gives a meaning to; its one objective is
 * missed, so the failure's message and text are escaped too. */
static json_t *report_escaping(void)
{
	json_t *objs = json_array();
	json_array_append_new(objs, objective("service", "x'y>z", "p50", "<= 10ms", "<=",
					      json_real(10), json_real(11.5), "ms", 0));
	return report("a<b&\"c\"", objs);
}

static void write_ok(const char *path, json_t *const *reports, size_t n)
{
	char err[512] = "";
	int rc = junit_write(path, reports, n, err, sizeof err);
	ck_assert_msg(rc == 0, "junit_write: %s", err);
}

static void free_reports(json_t **r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(r[i]);
}

/* ---- tests ---- */

START_TEST(test_schema_refuses_bad_junit)
{
	/* Validating against tests/junit.xsd only means something if it can
	 * fail: a testcase without a name, a count that is not a number,
	 * "skipped" on the root (junit-10.xsd has none there) and two
	 * outcomes in one testcase are all refused; a minimal file passes. */
	static const char *const bad[] = {
		"<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"0\" errors=\"0\">"
		"<testcase classname=\"c\"/></testsuite></testsuites>",
		"<testsuites><testsuite name=\"s\" tests=\"one\" failures=\"0\" errors=\"0\">"
		"</testsuite></testsuites>",
		"<testsuites skipped=\"0\"></testsuites>",
		"<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"1\" errors=\"1\">"
		"<testcase classname=\"c\" name=\"t\"><failure/><error/></testcase>"
		"</testsuite></testsuites>",
	};
	const char *good = "<testsuites><testsuite name=\"s\" tests=\"1\" failures=\"1\" "
			   "errors=\"0\"><properties><property name=\"p\" value=\"v\"/>"
			   "</properties><testcase classname=\"c\" name=\"t\" time=\"0\">"
			   "<failure message=\"m\" type=\"x\">text</failure></testcase>"
			   "</testsuite></testsuites>";
	need_xmllint();
	tmp_out t;
	tmp_make(&t);
	char cmd[512];
	snprintf(cmd, sizeof cmd, "xmllint --noout --schema " JUNIT_XSD " '%s' 2>&1", t.path);
	for (size_t i = 0; i <= sizeof bad / sizeof bad[0]; i++) {
		int is_good = i == sizeof bad / sizeof bad[0];
		FILE *f = fopen(t.path, "wb");
		ck_assert_ptr_nonnull(f);
		fputs(is_good ? good : bad[i], f);
		fclose(f);
		int st;
		char *out = run(cmd, &st);
		if (is_good)
			ck_assert_msg(st == 0, "the minimal file was refused:\n%s", out);
		else
			ck_assert_msg(st != 0, "bad file %zu was accepted:\n%s", i, bad[i]);
		free(out);
	}
	tmp_drop(&t);
}
END_TEST

START_TEST(test_xmllint_missing_is_noticed)
{
	/* With no xmllint on the PATH the check must say so (and the tests
	 * then fail with the install hint) rather than pass unchecked. */
	need_xmllint();
	char *saved = strdup(getenv("PATH") ? getenv("PATH") : "");
	setenv("PATH", "/nonexistent-meshsim-test", 1);
	int found = have_xmllint();
	setenv("PATH", saved, 1);
	free(saved);
	ck_assert_int_eq(found, 0);
}
END_TEST

START_TEST(test_all_met)
{
	need_xmllint();
	json_t *r[] = {report_all_met()};
	tmp_out t;
	tmp_make(&t);
	write_ok(t.path, r, 1);
	assert_valid(t.path);

	ck_assert_xpath_int(t.path, "count(/testsuites/testsuite)", 1);
	ck_assert_xpath_int(t.path, "count(//testcase)", 3);
	ck_assert_xpath_int(t.path, "count(//failure|//error|//skipped)", 0);
	ck_assert_xpath_str(t.path, "string(/testsuites/@tests)", "3");
	ck_assert_xpath_str(t.path, "string(/testsuites/@failures)", "0");
	ck_assert_xpath_str(t.path, "string(/testsuites/@errors)", "0");
	ck_assert_xpath_str(t.path, "string(/testsuites/@time)", "0");
	ck_assert_xpath_str(t.path, "string(//testsuite/@name)", "quickstart");
	ck_assert_xpath_str(t.path, "string(//testsuite/@tests)", "3");
	ck_assert_xpath_str(t.path, "string(//testsuite/@failures)", "0");
	ck_assert_xpath_str(t.path, "string(//testsuite/@errors)", "0");
	ck_assert_xpath_str(t.path, "string(//testsuite/@skipped)", "0");
	ck_assert_xpath_str(t.path, "string(//testsuite/@time)", "0");

	/* Named as the text summary names them, in the report's order. */
	ck_assert_xpath_str(t.path, "string(//testcase[1]/@name)",
			    "overall success_rate >= 0.995");
	ck_assert_xpath_str(t.path, "string(//testcase[2]/@name)", "overall p99 <= 300ms");
	ck_assert_xpath_str(t.path, "string(//testcase[3]/@name)",
			    "service catalog success_rate >= 0.999");
	ck_assert_xpath_int(t.path, "count(//testcase[@classname=\"meshsim.quickstart\"])", 3);
	ck_assert_xpath_int(t.path, "count(//testcase[@time=\"0\"])", 3);

	/* Enough to run it again. */
	ck_assert_xpath_int(t.path, "count(//testsuite/properties/property)", 4);
	ck_assert_xpath_str(t.path, "string(//property[@name=\"seed\"]/@value)", "7");
	ck_assert_xpath_str(t.path, "string(//property[@name=\"mode\"]/@value)", "sim");
	ck_assert_xpath_str(t.path, "string(//property[@name=\"duration\"]/@value)", "60s");
	ck_assert_xpath_str(t.path, "string(//property[@name=\"file\"]/@value)",
			    "scenarios/quickstart.json");
	tmp_drop(&t);
	free_reports(r, 1);
}
END_TEST

START_TEST(test_missed_objectives)
{
	need_xmllint();
	json_t *r[] = {report_missed()};
	tmp_out t;
	tmp_make(&t);
	write_ok(t.path, r, 1);
	assert_valid(t.path);

	ck_assert_xpath_str(t.path, "string(//testsuite/@tests)", "5");
	ck_assert_xpath_str(t.path, "string(//testsuite/@failures)", "4");
	ck_assert_xpath_str(t.path, "string(/testsuites/@tests)", "5");
	ck_assert_xpath_str(t.path, "string(/testsuites/@failures)", "4");
	ck_assert_xpath_int(t.path, "count(//testcase/failure)", 4);
	ck_assert_xpath_int(t.path, "count(//failure[@type=\"objective\"])", 4);
	/* The met one has no failure. */
	ck_assert_xpath_int(t.path,
			    "count(//testcase[@name=\"overall error_rate <= 0.01\"]/*)", 0);

	/* Measured and target, each with its unit. */
	ck_assert_xpath_str(t.path,
			    "string(//testcase[@name=\"overall p99 <= 300ms\"]/failure/@message)",
			    "p99 measured 412.3ms, expected <= 300ms");
	ck_assert_xpath_str(t.path,
			    "string(//testcase[@name=\"service catalog success_rate >= 0.999\"]"
			    "/failure/@message)",
			    "success_rate measured 0.9871, expected >= 0.999");
	ck_assert_xpath_str(t.path,
			    "string(//testcase[@name=\"client shoppers timeouts <= 10\"]"
			    "/failure/@message)",
			    "timeouts measured 12 requests, expected <= 10 requests");
	ck_assert_xpath_str(t.path,
			    "string(//testcase[@name=\"overall recovers_within <= 5s\"]"
			    "/failure/@message)",
			    "recovers_within measured never, expected <= 5000ms");

	/* The failure's text stands on its own: what, and which run. */
	ck_assert_xpath_int(t.path,
			    "count(//testcase[@name=\"overall p99 <= 300ms\"]/failure["
			    "contains(., \"overall: p99 measured 412.3ms, expected <= 300ms\") and "
			    "contains(., \"scenario checkout (scenarios/checkout.json), seed 7\")])",
			    1);
	tmp_drop(&t);
	free_reports(r, 1);
}
END_TEST

START_TEST(test_no_objectives)
{
	need_xmllint();
	json_t *r[] = {report_no_objectives()};
	tmp_out t;
	tmp_make(&t);
	write_ok(t.path, r, 1);
	assert_valid(t.path);
	ck_assert_xpath_int(t.path, "count(//testcase)", 1);
	ck_assert_xpath_str(t.path, "string(//testcase/@name)", "run completed");
	ck_assert_xpath_str(t.path, "string(//testcase/@classname)", "meshsim.idle");
	ck_assert_xpath_int(t.path, "count(//testcase/*)", 0);
	ck_assert_xpath_str(t.path, "string(//testsuite/@tests)", "1");
	ck_assert_xpath_str(t.path, "string(//testsuite/@failures)", "0");
	tmp_drop(&t);
	free_reports(r, 1);
}
END_TEST

START_TEST(test_escaping)
{
	need_xmllint();
	json_t *r[] = {report_escaping()};
	tmp_out t;
	tmp_make(&t);
	write_ok(t.path, r, 1);
	assert_valid(t.path);

	/* Parsed back, the names are what went in. */
	ck_assert_xpath_int(t.path, "count(//testcase)", 1);
	ck_assert_xpath_str(t.path, "string(//testsuite/@name)", "a<b&\"c\"");
	ck_assert_xpath_str(t.path, "string(//testcase/@classname)", "meshsim.a<b&\"c\"");
	ck_assert_xpath_str(t.path, "string(//testcase/@name)", "service x'y>z p50 <= 10ms");
	ck_assert_xpath_str(t.path, "string(//testcase/failure/@message)",
			    "p50 measured 11.5ms, expected <= 10ms");
	ck_assert_xpath_str(t.path, "string(//property[@name=\"file\"]/@value)",
			    "scenarios/a<b&\"c\".json");
	char *text = xpath(t.path, "string(//testcase/failure)");
	ck_assert_msg(strstr(text, "service x'y>z: p50 measured 11.5ms, expected <= 10ms") &&
			      strstr(text, "scenario a<b&\"c\" (scenarios/a<b&\"c\".json), seed 7"),
		      "failure text: %s", text);
	free(text);

	/* And the bytes are escaped, not merely parseable. */
	char *xml = slurp(t.path);
	ck_assert_ptr_nonnull(strstr(xml, "name=\"a&lt;b&amp;&quot;c&quot;\""));
	ck_assert_ptr_null(strstr(xml, "a<b"));
	free(xml);
	tmp_drop(&t);
	free_reports(r, 1);
}
END_TEST

START_TEST(test_escaping_controls)
{
	need_xmllint();
	/* Line ends and tabs in an attribute survive a parser as character
	 * references; characters XML 1.0 cannot carry at all (U+0001,
	 * U+FFFF) become U+FFFD, and the file stays well-formed. */
	json_t *r[] = {report("tab\there\nnew\x01-\xEF\xBF\xBF", json_array())};
	tmp_out t;
	tmp_make(&t);
	write_ok(t.path, r, 1);
	assert_valid(t.path);
	ck_assert_xpath_str(t.path, "string(//testsuite/@name)",
			    "tab\there\nnew\xEF\xBF\xBD-\xEF\xBF\xBD");
	tmp_drop(&t);
	free_reports(r, 1);
}
END_TEST

START_TEST(test_accounting_failed)
{
	need_xmllint();
	json_t *r[] = {report_all_met()};
	json_object_set_new(json_object_get(r[0], "totals"), "accounted", json_false());
	json_object_set_new(json_array_get(json_object_get(r[0], "services"), 0),
			    "accounted", json_false());
	tmp_out t;
	tmp_make(&t);
	write_ok(t.path, r, 1);
	assert_valid(t.path);

	/* Every objective met, and still a failure. */
	ck_assert_xpath_str(t.path, "string(//testsuite/@tests)", "4");
	ck_assert_xpath_str(t.path, "string(//testsuite/@failures)", "1");
	ck_assert_xpath_str(t.path, "string(/testsuites/@failures)", "1");
	ck_assert_xpath_int(t.path, "count(//testcase[@name=\"requests accounted\"]/failure)", 1);
	ck_assert_xpath_str(t.path, "string(//failure/@message)",
			    "accounted is false in totals, services[0]");
	ck_assert_xpath_str(t.path, "string(//failure/@type)", "accounting");
	tmp_drop(&t);
	free_reports(r, 1);
}
END_TEST

START_TEST(test_several_reports)
{
	need_xmllint();
	/* One suite per report, in order; the root adds them up. */
	json_t *r[] = {report_all_met(), report_missed(), report_no_objectives(),
		       report_escaping()};
	tmp_out t;
	tmp_make(&t);
	write_ok(t.path, r, 4);
	assert_valid(t.path);

	ck_assert_xpath_int(t.path, "count(/testsuites/testsuite)", 4);
	ck_assert_xpath_int(t.path, "count(//testcase)", 3 + 5 + 1 + 1);
	ck_assert_xpath_str(t.path, "string(/testsuites/@tests)", "10");
	ck_assert_xpath_str(t.path, "string(/testsuites/@failures)", "5");
	ck_assert_xpath_str(t.path, "string(/testsuites/@errors)", "0");
	ck_assert_xpath_str(t.path, "string(/testsuites/testsuite[2]/@name)", "checkout");
	ck_assert_xpath_str(t.path, "string(/testsuites/testsuite[4]/@failures)", "1");
	/* Each suite's counts match its own testcases. */
	ck_assert_xpath_int(t.path,
			    "count(//testsuite[@tests != count(testcase) or "
			    "@failures != count(testcase/failure)])",
			    0);
	tmp_drop(&t);
	free_reports(r, 4);
}
END_TEST

START_TEST(test_replaces_file_same_bytes)
{
	/* An existing file is replaced whole; two writes of the same reports
	 * give the same bytes (no timestamps, no host names). */
	json_t *r[] = {report_missed(), report_escaping()};
	tmp_out t;
	tmp_make(&t);
	FILE *f = fopen(t.path, "wb");
	ck_assert_ptr_nonnull(f);
	fputs("old contents, longer than nothing\n", f);
	fclose(f);
	write_ok(t.path, r, 2);
	char *a = slurp(t.path);
	ck_assert_ptr_null(strstr(a, "old contents"));
	write_ok(t.path, r, 2);
	char *b = slurp(t.path);
	ck_assert_str_eq(a, b);
	free(a);
	free(b);
	tmp_drop(&t); /* fails if junit.xml.tmp was left */
	free_reports(r, 2);
}
END_TEST

START_TEST(test_no_reports)
{
	need_xmllint();
	tmp_out t;
	tmp_make(&t);
	write_ok(t.path, NULL, 0);
	assert_valid(t.path);
	ck_assert_xpath_int(t.path, "count(/testsuites)", 1);
	ck_assert_xpath_int(t.path, "count(//testsuite)", 0);
	ck_assert_xpath_str(t.path, "string(/testsuites/@tests)", "0");
	tmp_drop(&t);
}
END_TEST

/* junit_write must fail with a message containing `want`, leaving no file. */
static void assert_refused(json_t *const *r, size_t n, const char *want)
{
	tmp_out t;
	tmp_make(&t);
	char err[512] = "";
	ck_assert_int_eq(junit_write(t.path, r, n, err, sizeof err), -1);
	ck_assert_msg(strstr(err, want) != NULL, "message \"%s\" lacks \"%s\"", err, want);
	ck_assert_msg(!exists(t.path), "%s was written for a bad report", t.path);
	tmp_drop(&t);
}

START_TEST(test_bad_reports_refused)
{
	json_t *r[] = {report_all_met(), report_missed()};
	json_t *o = json_array_get(json_object_get(r[1], "objectives"), 2);

	json_object_del(o, "met");
	assert_refused(r, 2, "reports[1] (scenario \"checkout\"): objectives[2].met: "
			     "expected true or false, found nothing");
	json_object_set_new(o, "met", json_string("yes"));
	assert_refused(r, 2, "objectives[2].met: expected true or false, found a string");
	json_object_set_new(o, "met", json_true());
	json_object_set_new(o, "measured", json_null());
	assert_refused(r, 2, "objectives[2].measured: expected a number, a boolean or a "
			     "string, found null");
	json_object_set_new(o, "measured", json_integer(3));
	json_object_set_new(o, "unit", json_integer(3));
	assert_refused(r, 2, "objectives[2].unit: expected a string, found an integer");
	json_object_set_new(o, "unit", json_string("requests"));

	json_object_set_new(r[0], "schema_version", json_integer(2));
	assert_refused(r, 2, "reports[0]: schema_version: this meshsim reads version 1, found 2");
	json_object_set_new(r[0], "schema_version", json_integer(1));
	json_object_del(json_object_get(r[0], "scenario"), "name");
	assert_refused(r, 2, "reports[0]: scenario.name: expected a string, found nothing");
	free_reports(r, 2);

	json_t *notrep[] = {json_array()};
	assert_refused(notrep, 1, "reports[0]: expected a report.json object, found an array");
	free_reports(notrep, 1);
}
END_TEST

START_TEST(test_unwritable_path)
{
	json_t *r[] = {report_all_met()};
	char err[512] = "";
	ck_assert_int_eq(junit_write("/nonexistent-meshsim-dir/junit.xml", r, 1, err,
				     sizeof err), -1);
	ck_assert_msg(strstr(err, "/nonexistent-meshsim-dir/junit.xml.tmp: cannot write")
			      != NULL, "message: %s", err);
	free_reports(r, 1);
}
END_TEST

Suite *junit_suite(void)
{
	Suite *s = suite_create("junit");
	TCase *tc = tcase_create("junit");
	/* Each test runs xmllint a few dozen times. */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_schema_refuses_bad_junit);
	tcase_add_test(tc, test_xmllint_missing_is_noticed);
	tcase_add_test(tc, test_all_met);
	tcase_add_test(tc, test_missed_objectives);
	tcase_add_test(tc, test_no_objectives);
	tcase_add_test(tc, test_escaping);
	tcase_add_test(tc, test_escaping_controls);
	tcase_add_test(tc, test_accounting_failed);
	tcase_add_test(tc, test_several_reports);
	tcase_add_test(tc, test_replaces_file_same_bytes);
	tcase_add_test(tc, test_no_reports);
	tcase_add_test(tc, test_bad_reports_refused);
	tcase_add_test(tc, test_unwritable_path);
	suite_add_tcase(s, tc);
	return s;
}
