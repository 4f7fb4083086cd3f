/*
 * live_agent.h - the agents of one live process (an app, a sidecar, or the
 * load clients), hosted on a libevent loop, with their admin endpoint.
 *
 * `meshsim agent ...` (live_agent_main in live.h) makes one of these per
 * process. Tests make several on one loop, to run a small mesh in one
 * process where a debugger and the sanitizers see all of it.
 */
#ifndef LIVE_AGENT_H
#define LIVE_AGENT_H

#include <stddef.h>
#include <stdint.h>

#include "live.h"
#include "live_env.h"
#include "model.h"
#include "rec.h"

struct event_base;

typedef struct live_proc live_proc;

/* The agents of pod `pod` (ignored for LIVE_LOAD: the load pod) of the run
 * laid out by t, on base, recording into r, reading and writing faults_on
 * (all borrowed; m is written by POST /weights). Binds the pod's listeners
 * and its admin endpoint. app_addr ("HOST:PORT") sends a sidecar's app
 * traffic to a real server instead; NULL for the pod's own app. Returns
 * NULL and fills err on failure (an address in use, a bad pod). */
live_proc *live_proc_new(struct event_base *base, enum live_kind kind,
			 model *m, const live_topo *t, uint32_t pod, rec *r,
			 uint8_t *faults_on, const char *app_addr, char *err,
			 size_t errlen);

/* Mutual TLS, for a sidecar of a scenario with an "mtls" block: load the
 * mesh PKI from directory dir (borrowed; what tls_mesh_write put there:
 * the orchestrator makes it once per run, so that every sidecar issues
 * from the same CAs and trusts the same roots) when the run starts
 * (live_proc_start), on the run's calendar. It is loaded once now as a
 * check, so that a bad directory stops the process before it says it is
 * ready. Without it such a sidecar makes a PKI of its own when the run
 * starts, which its peers in other processes do not trust (for trying a
 * sidecar alone by hand). Other kinds of process, and scenarios without
 * an "mtls" block, need none and ignore it. Returns 0, -1 with err
 * filled (nothing changed). */
int live_proc_set_pki(live_proc *p, const char *dir, char *err,
		      size_t errlen);

/* Set the run's time origin (CLOCK_MONOTONIC ns) and start the agents at
 * it: the load clients begin their schedules. epoch_ns is the wall clock
 * at t0 (ns since the Unix epoch; 0: read from the clocks now): the
 * calendar certificates are issued and checked on. A sidecar with mutual
 * TLS gets its first certificate now, at run time 0 (or the run time it
 * is if t0 is past), sets its listener and pools up (live_host_set_mtls)
 * and arms its renewal timer. Returns 0, or -1 with err filled when mutual
 * TLS cannot be set up (the agents are not started then). */
int live_proc_start(live_proc *p, uint64_t t0, int64_t epoch_ns, char *err,
		    size_t errlen);

/* Switch fault i; the process applies what concerns it (a sidecar with
 * mutual TLS: certificate faults, to its own workload, and their new
 * certificates and inbound mode to its listener and pools). Returns 0;
 * -1 for no such fault; -2 when a certificate fault could not be applied
 * (said on stderr; the fault is recorded as on or off all the same). */
int live_proc_set_fault(live_proc *p, uint32_t i, int on);

/* The load process: count the requests still in flight into r (the
 * end-of-run cross-check). Others: nothing. */
void live_proc_end(live_proc *p);

live_host *live_proc_host(live_proc *p);

/* Close its listeners and drop everything it holds. NULL is fine. */
void live_proc_free(live_proc *p);

#endif
