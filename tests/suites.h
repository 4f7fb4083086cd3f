/* The Check suites of the unit-test runner, one per tests/check_<module>.c. */
#ifndef SUITES_H
#define SUITES_H

#include <check.h>

Suite *heap_suite(void);
Suite *rng_suite(void);
Suite *dist_suite(void);
Suite *hist_suite(void);
Suite *scenario_suite(void);
Suite *sim_suite(void);
Suite *queueing_suite(void);
Suite *golden_suite(void);
Suite *policy_suite(void);
Suite *junit_suite(void);
Suite *diff_suite(void);
Suite *live_http_suite(void);
Suite *rec_json_suite(void);
Suite *live_suite(void);
Suite *fault_kinds_suite(void);
Suite *judge_suite(void);
Suite *rollout_suite(void);
Suite *tls_ca_suite(void);
Suite *authz_suite(void);
Suite *tls_mesh_suite(void);
Suite *sim_tls_suite(void);
Suite *rec_tls_suite(void);

#endif
