/*
 * report_rollout.h - the "rollout" section of report.json: what the
 * rollout controller did and why (timeline), each interval's measurements
 * of the canary against its baseline (checks and the judge), the verdict
 * and the time to it, and the blast radius. Documented in README.md
 * ("What the report shows") and scenarios/canary/README.md.
 */
#ifndef REPORT_ROLLOUT_H
#define REPORT_ROLLOUT_H

#include <jansson.h>

#include "model.h"
#include "rec.h"

/* The section for the run recorded in r (m must have a rollout). A new
 * reference, or NULL when out of memory. */
json_t *report_rollout_json(const model *m, const rec *r);

/* Requests the canary harmed until the decision (or the run's end):
 * calls routed to it that failed, or succeeded slower than the SLO. */
uint64_t report_blast_radius(const rec *r);

/* Time from the rollout's start to its decision, ns; MESH_NEVER when it
 * was still in progress at the end. */
mesh_time report_time_to_decision(const rec *r);

#endif
