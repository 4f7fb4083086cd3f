/*
 * live_orch.h - the orchestrator of a live run (`meshsim run --live`).
 *
 * It lays the scenario out on a loopback net 127.B.0.0/16 of its own (B
 * drawn per run, every address and port checked free first), starts one
 * process per agent (`meshsim agent app|sidecar|load`, this same binary,
 * fork and exec), waits until each answers GET /ready on its admin port,
 * gives them a common time origin t0 (POST /start), switches the
 * scenario's faults on their schedule (POST /faults to every process; and
 * itself kills and restarts apps for "crash", stops and continues them for
 * "pause"), runs a canary rollout's controller if the scenario has one
 * (reading the sidecars' per-version series, GET /versions, at each
 * analysis, and sending its weight changes to every sidecar, POST
 * /weights), and at t0 + duration + drain collects every process's
 * recorder (GET /snapshot) into one, and its Prometheus metrics (GET
 * /metrics). Then it tears everything down. See live.h for the addresses,
 * ports and the admin API.
 *
 * With mutual TLS (an "mtls" block) it first makes the mesh's CAs
 * (tls_mesh.h) and writes them into a new private directory under $TMPDIR
 * (mode 0700, keys 0600), which every sidecar loads when the run starts
 * (--pki DIR; POST /start carries the wall clock at t0, run time 0 on the
 * certificates' calendar). The directory is removed once every sidecar
 * has taken /start, and in any case before live_orch_run returns, however
 * the run ends (but for a SIGKILL of the orchestrator itself).
 *
 * Teardown is guaranteed in layers, so that no process and no listening
 * socket outlives a run:
 *   1. the normal end, an error and SIGINT, SIGTERM or SIGHUP to the
 *      orchestrator all end in the same teardown: POST /quit (normal end)
 *      or SIGTERM, up to 2 s of grace, then SIGKILL to the run's process
 *      group, and every child reaped;
 *   2. every child is in the run's own process group (one killpg ends them
 *      all) and carries PR_SET_PDEATHSIG = SIGKILL, so even an orchestrator
 *      killed with SIGKILL takes its children with it.
 *
 * Each process's stdout and stderr go to OUT/live/<pod>.log; metrics to
 * OUT/live/metrics/<pod>.prom (one exposition per pod: an instance pod's
 * sidecar and app samples under one family each, labelled with their
 * container, as Istio's agent merges an app's metrics with Envoy's).
 */
#ifndef LIVE_ORCH_H
#define LIVE_ORCH_H

#include <jansson.h>

#include "mesh.h"
#include "model.h"
#include "rec.h"

typedef struct live_orch_opts {
	/* The scenario file the agents load (they parse it themselves). */
	const char *scenario_path;
	/* The run's output folder: logs and metrics go to OUT/live/. */
	const char *out;
	/* No progress or status lines on stderr (errors are still said). */
	int quiet;
	/* How long every process gets to answer GET /ready (0: 10 s). */
	mesh_time ready_timeout;
} live_orch_opts;

/* What live_orch_run returns when the run went through: write the report.
 * LIVE_ORCH_BROKEN: it went through, but something broke on the way (a
 * process died unexpectedly, a snapshot is missing, a restart failed): the
 * report is written and says what in its "live" section ("problems"), and
 * the exit status is 3. Positive values are exit statuses to leave with,
 * no report written: 2 (the processes did not come up, or bad input), 3
 * (the run failed), 128 + N (interrupted by signal N: 130 for SIGINT). */
enum { LIVE_ORCH_OK = 0, LIVE_ORCH_BROKEN = -1 };

/* Run model m (borrowed) live. r must be a fresh recorder of m (rec_new):
 * every process's records are merged into it, and the crashes the
 * orchestrator caused are counted in it; with a rollout, its controller
 * logs into r->ro_log, as the simulator's does. On LIVE_ORCH_OK or
 * LIVE_ORCH_BROKEN, *live is set to the report's "live" section (a new
 * reference; the caller decrefs). Errors are said on stderr. Returns as
 * above. No child process is left on return, whatever happened. */
int live_orch_run(const model *m, const live_orch_opts *o, rec *r,
		  json_t **live);

#endif
