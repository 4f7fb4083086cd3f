/*
 * junit.h - runs as JUnit XML, for the test reporters of CI systems.
 *
 * GitLab, Jenkins and the GitHub test-report actions all read the JUnit
 * shape that Ant's XML formatter made common (Jenkins validates it against
 * the xunit plugin's junit-10.xsd). Each run becomes a <testsuite> and each
 * objective a <testcase>, so a missed objective shows up in the merge
 * request or the build page the way a failing unit test does.
 *
 * The writer reads parsed report.json documents, not the simulator's
 * structures: it can turn reports from earlier runs, or other machines,
 * into one file. Like report.json, the XML has no wall-clock or machine
 * content (every time is "0"), so the same reports give the same bytes.
 */
#ifndef JUNIT_H
#define JUNIT_H

#include <stddef.h>

#include <jansson.h>

/*
 * Write JUnit XML for the n reports to `path`: first to "<path>.tmp", then
 * renamed over `path`, so a reader never sees half a file.
 *
 * The file has a <testsuites name="meshsim"> root and one <testsuite> per
 * report, named after its scenario and carrying the properties seed, mode,
 * duration and file. Each objective is a <testcase> with classname
 * "meshsim.<scenario>" and a name as the text summary prints it ("overall
 * p99 <= 300ms", "service catalog success_rate >= 0.999"); a missed one has
 * a <failure type="objective"> whose message gives the measured value and
 * the target with their units ("p99 measured 412.3ms, expected <= 300ms").
 * A report without objectives gets one passing testcase "run completed". A
 * report with "accounted": false anywhere in it (requests lost by the
 * simulator) gets a failing testcase "requests accounted" as well.
 *
 * tests/failures/errors counts are on every <testsuite> and on the root,
 * "skipped" on every <testsuite> only (junit-10.xsd has none on the root),
 * and time="0" everywhere: JUnit time is wall time, and a simulated run
 * has none worth comparing between builds.
 *
 * reports: n parsed report.json documents (schema_version 1), borrowed;
 * may be NULL when n is 0 (the file then has no suites). Every report is
 * checked before anything is written: a report that lacks what the XML
 * needs is an error naming the report and the JSON path.
 *
 * Returns 0, or -1 with a message in err (errlen > 0); on failure `path`
 * is left as it was and no temporary file remains.
 */
int junit_write(const char *path, json_t *const *reports, size_t n,
		char *err, size_t errlen);

#endif
