/*
 * The unit-test runner: every suite in one binary. CK_RUN_SUITE=name runs
 * one suite, CK_RUN_CASE=name one test case (Check reads both itself).
 * Under valgrind, set CK_FORK=no.
 */
#include <stdlib.h>

#include "suites.h"

int main(void)
{
	SRunner *sr = srunner_create(heap_suite());
	srunner_add_suite(sr, rng_suite());
	srunner_add_suite(sr, dist_suite());
	srunner_add_suite(sr, hist_suite());
	srunner_add_suite(sr, scenario_suite());
	srunner_add_suite(sr, sim_suite());
	srunner_add_suite(sr, policy_suite());
	srunner_add_suite(sr, queueing_suite());
	srunner_add_suite(sr, golden_suite());
	srunner_add_suite(sr, junit_suite());
	srunner_add_suite(sr, diff_suite());
	srunner_add_suite(sr, live_http_suite());
	srunner_add_suite(sr, rec_json_suite());
	srunner_add_suite(sr, live_suite());
	srunner_add_suite(sr, fault_kinds_suite());
	srunner_add_suite(sr, judge_suite());
	srunner_add_suite(sr, rollout_suite());
	srunner_add_suite(sr, tls_ca_suite());
	srunner_add_suite(sr, authz_suite());
	srunner_add_suite(sr, tls_mesh_suite());
	srunner_add_suite(sr, sim_tls_suite());
	srunner_add_suite(sr, rec_tls_suite());
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
