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

/* Set the run's time origin (CLOCK_MONOTONIC ns) and start the agents at
 * it: the load clients begin their schedules. */
void live_proc_start(live_proc *p, uint64_t t0);

/* Switch fault i; the process applies what concerns it. -1 for no such
 * fault. */
int live_proc_set_fault(live_proc *p, uint32_t i, int on);

/* The load process: count the requests still in flight into r (the
 * end-of-run cross-check). Others: nothing. */
void live_proc_end(live_proc *p);

live_host *live_proc_host(live_proc *p);

/* Close its listeners and drop everything it holds. NULL is fine. */
void live_proc_free(live_proc *p);

#endif
