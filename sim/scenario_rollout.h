/*
 * scenario_rollout.h - the loader of a scenario's "rollout" block and of
 * its objectives ("expect": {"rollout": {...}}).
 *
 * Called by sim/scenario.c once the services, the mesh policies, the load
 * and the faults are read. Reports through the loader's own error
 * functions (hooks), so that every message names the file, the JSON path,
 * what was expected and what was found, like the rest of the loader. On
 * success it sets m->rollout and gives the rollout's service the route
 * rules the rollout owns (as Flagger owns the VirtualService it makes).
 */
#ifndef SCENARIO_ROLLOUT_H
#define SCENARIO_ROLLOUT_H

#include <jansson.h>

#include "model.h"

typedef struct scn_hooks {
	void *ctx;
	model *m;
	/* An error at `path`; msg follows "FILE: PATH: ". */
	void (*err)(void *ctx, const char *path, const char *msg);
	/* "expected WHAT, found DESCRIPTION-OF-FOUND" at path. */
	void (*expected)(void *ctx, const char *path, const char *what,
			 const json_t *found);
	/* Every key of obj not in the NULL-terminated `allowed`, reported
	 * with the nearest allowed key suggested. */
	void (*check_keys)(void *ctx, const json_t *obj, const char *path,
			   const char *const *allowed);
	/* An Istio HTTPMatchRequest for routes of `service`, into *mt, whose
	 * storage must not move until the load ends. */
	void (*match)(void *ctx, const json_t *v, const char *path,
		      uint32_t service, model_match *mt);
	/* Add an objective. */
	void (*objective)(void *ctx, enum model_scope scope,
			  enum model_metric metric, enum model_op op,
			  double target, const char *text);
	void (*oom)(void *ctx);
} scn_hooks;

/* Parse the "rollout" block v (not NULL). `duration` is the scenario's. */
void scn_parse_rollout(const scn_hooks *h, const json_t *v, mesh_time duration);

/* Parse "expect.rollout" (v, at path). */
void scn_parse_rollout_expect(const scn_hooks *h, const json_t *v,
			      const char *path);

#endif
