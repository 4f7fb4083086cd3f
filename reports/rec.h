/*
 * rec.h - the recorder: one outcome per request, histograms per client,
 * service and route, and per-second time series.
 *
 * Agents call it as requests end. It is pure bookkeeping (no I/O), so both
 * hosts use it. Memory is fixed by the scenario's shape plus one small row
 * per simulated second: it never keeps a record per request.
 *
 * Time series are bucketed by the second in which a request ended. Requests
 * end in time order in a run, so each second's histogram is summarised into
 * its row as soon as a later second begins, and then reused.
 */
#ifndef REC_H
#define REC_H

#include "hist.h"
#include "mesh.h"
#include "model.h"

#define REC_MAX_STATUS 600

/* Totals of one entity (a client, a service, a route). */
typedef struct rec_stats {
	uint64_t issued;
	uint64_t outcomes[MESH_OUTCOME_COUNT];
	uint64_t by_status[REC_MAX_STATUS];
	hist lat;       /* responses and timeouts, from the intended send time */
	/* Requests the host found still held by agents at the end, or
	 * UINT64_MAX when it did not count. Must equal rec_in_flight: the
	 * report's cross-check that no request was lost. */
	uint64_t live_at_end;
} rec_stats;

/* One second of a time series. Latencies in ns. */
typedef struct rec_row {
	uint64_t issued;     /* requests sent in this second */
	uint64_t done;       /* requests that ended in this second */
	uint64_t ok;
	uint64_t p50, p90, p99, p999, max;
} rec_row;

typedef struct rec_series {
	rec_row *rows;
	uint32_t nrows, cap;
	uint32_t cur;        /* the second `h` is collecting */
	hist h;
} rec_series;

/* The inbound side of one service instance: its queue and workers. */
typedef struct rec_instance {
	uint64_t arrived;
	uint64_t served;        /* started by a worker */
	uint64_t queue_full;    /* answered 503 because the queue was full */
	uint64_t waited;        /* had to queue before a worker took it */
	uint64_t max_queue;     /* longest queue seen */
	uint64_t by_status[REC_MAX_STATUS]; /* what the instance answered */
	hist wait;              /* time in queue, for every served request */
} rec_instance;

typedef struct rec_service {
	rec_stats st;           /* as seen by callers' sidecars */
	rec_series series;
	rec_instance *inst;     /* [replicas] */
} rec_service;

typedef struct rec {
	const model *m;
	rec_stats *clients;     /* [nclients] from the intended send time */
	rec_series *client_series;
	rec_service *services;  /* [nservices] */
	rec_stats *routes;      /* [nroutes] */
	rec_stats overall;      /* all clients together */
	rec_series overall_series;
	mesh_time end;          /* when the run stopped */
	uint64_t events;        /* events the host processed */
} rec;

/* A recorder for model m (borrowed; must outlive it). NULL on no memory. */
rec *rec_new(const model *m);
void rec_free(rec *r);

/* A client sent a request at time t (its intended send time). */
void rec_client_issued(rec *r, uint32_t client, mesh_time t);
/* A client's request ended at `now`. `status` is the response's (0 for
 * none). Latency runs from `intended`. Rejected requests have no latency. */
void rec_client_done(rec *r, uint32_t client, mesh_time intended,
		     mesh_time now, enum mesh_outcome o, unsigned status);

/* A sidecar sent a request on `route` at time t. */
void rec_route_issued(rec *r, uint32_t route, mesh_time t);
/* ... and it ended at now (recorded per route and per service). */
void rec_route_done(rec *r, uint32_t route, mesh_time start, mesh_time now,
		    enum mesh_outcome o, unsigned status);

static inline rec_instance *rec_inst(rec *r, uint32_t service, uint32_t i)
{
	return &r->services[service].inst[i];
}

/* Close the run at time `end`: summarise the seconds still open. */
void rec_finish(rec *r, mesh_time end);

/* Requests still in flight: issued minus every recorded outcome. */
uint64_t rec_in_flight(const rec_stats *s);
/* Requests that ended, any outcome. */
uint64_t rec_completed(const rec_stats *s);
/* Successes over requests issued (a request still in flight at the end is
 * not a success); 1 when nothing was issued. */
double rec_success_rate(const rec_stats *s);

#endif
