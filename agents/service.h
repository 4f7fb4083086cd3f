/*
 * service.h - a fake service instance, as logic shared by both hosts.
 *
 * An instance has `concurrency` workers and a FIFO waiting room of `queue`
 * places. A request that finds a free worker starts at once; otherwise it
 * waits; when the waiting room is full it is answered 503 at once, as an
 * overloaded server's accept queue or an Envoy overflow does. A request holds
 * its worker for its whole script, downstream calls included, as a
 * thread-per-request server does: so a slow dependency fills its callers'
 * workers and queues, which is how slowness spreads through a mesh.
 *
 * The script is a list of steps, the shape of istio/tools isotope: work for
 * a drawn time, call one service, or call several at once and wait for all.
 * Calls go through the instance's own sidecar. If any call in a step fails
 * (a response outside 2xx) the script stops there and the instance answers
 * 500. When the script completes, the instance answers an error status with
 * the service's configured probabilities, else 200 with response_size bytes.
 *
 * A paused instance (service_pause: live mode sends the app process SIGSTOP
 * and SIGCONT) makes no progress: what arrives is held unread, in arrival
 * order, as the kernel keeps it in the socket buffers and the accept
 * backlog; work in progress is frozen, so a work step ends the pause's
 * length later than it would have; nothing is answered. At resume the
 * frozen work goes on with what it had left, then the held messages are
 * read, oldest first. Its sidecar, a process of its own, is not paused.
 */
#ifndef SERVICE_H
#define SERVICE_H

#include "mesh.h"
#include "model.h"
#include "pool.h"
#include "rec.h"
#include "rng.h"

/* A message that arrived while the app was paused. */
typedef struct service_held {
	mesh_msg m;
	mesh_time at;           /* when it arrived */
} service_held;

typedef struct service_agent {
	mesh_agent base;
	const model_service *svc;
	const model_behavior *def; /* its version's behaviour */
	uint32_t sidecar;       /* our sidecar's agent id */
	uint32_t busy;          /* workers in use */
	uint32_t qhead, qtail;  /* FIFO of waiting requests (pool indexes) */
	uint32_t qlen;
	rec_instance *ri;       /* our counters */
	rng rng;
	pool reqs;
	uint32_t index;         /* the instance's index in its service */
	int down;               /* crashed: drops everything until restarted */
	double slowdown;        /* service times are multiplied by this (>= 1) */
	uint32_t workers_removed;
	int paused;             /* stopped: holds what arrives, work frozen */
	mesh_time paused_at;    /* when the pause began */
	uint64_t work_seq;      /* work steps started, to keep their order */
	service_held *held;     /* arrived while paused, oldest first */
	uint32_t nheld, held_cap;
} service_agent;

/* Set up a as agent `id` in `pod`, an instance of version `def` of svc,
 * with its sidecar at agent `sidecar`. Borrows env, svc, def and ri. Never
 * fails. */
void service_init(service_agent *a, mesh_env *env, uint32_t id, uint32_t pod,
		  const model_service *svc, uint32_t index,
		  const model_behavior *def, uint32_t sidecar, rec_instance *ri,
		  uint64_t seed, const char *stream);

/* The app process dies: every request it holds is forgotten (its sidecar
 * answers the callers) and nothing is answered until service_restart. A
 * crash during a pause wins: the held messages and frozen work go too. */
void service_crash(service_agent *a);
/* It comes back, empty; still paused when a pause is on (live mode stops
 * the new process too), until service_pause(a, 0). */
void service_restart(service_agent *a);

/* Pause (on = 1) or resume (on = 0) the app, as SIGSTOP and SIGCONT do.
 * While paused, each request that arrives counts as a hit of every pause
 * fault on that targets the instance (env->faults_on); the requests it
 * holds when a pause starts are the host's to count (service_holding), as
 * only the host knows which of several overlapping pauses is starting.
 * Resuming restarts the frozen work, each step with the time it had left,
 * in the order the steps would have ended, then hands the held messages to
 * the app in arrival order (a held request keeps its arrival time, so its
 * queue wait includes the pause). Pausing a paused app, or resuming a
 * running one, does nothing. Never fails: if a message cannot be held for
 * want of memory it is read at once. */
void service_pause(service_agent *a, int on);

/* The requests the app holds: waiting, working, waiting on its calls, and
 * (paused) arrived but not yet read. 0 while it is down. */
uint32_t service_holding(const service_agent *a);

/* A capacity fault: service times multiplied by slowdown (>= 1) and
 * `removed` workers taken away (at least one always stays). Applies to
 * work started from now on; (1, 0) restores full capacity. */
void service_set_capacity(service_agent *a, double slowdown, uint32_t removed);

void service_destroy(service_agent *a);

#endif
