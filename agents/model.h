/*
 * model.h - the scenario as plain C data.
 *
 * The loader (sim/scenario.c) turns a JSON file into this, validating
 * everything; past the loader nothing sees JSON. The model is read-only
 * while a run is going. Routes (a service and a path) are interned so that
 * messages carry a small route id instead of a string.
 */
#ifndef MODEL_H
#define MODEL_H

#include "dist.h"
#include "mesh.h"

#define MODEL_UNLIMITED UINT32_MAX

enum model_step_kind {
	STEP_WORK = 1, /* hold the worker for a drawn time */
	STEP_CALL,     /* call one route and wait for the answer */
	STEP_PARALLEL, /* call several routes at once and wait for all */
};

typedef struct model_step {
	enum model_step_kind kind;
	dist work;          /* STEP_WORK */
	uint32_t ncalls;    /* STEP_CALL: 1; STEP_PARALLEL: >= 1 */
	uint32_t *routes;   /* the routes called */
	uint64_t *sizes;    /* request body bytes of each call */
} model_step;

typedef struct model_error {
	uint16_t status;
	double probability;
} model_error;

typedef struct model_service {
	char *name;
	uint32_t replicas;
	uint32_t concurrency;   /* workers per instance, or MODEL_UNLIMITED */
	uint32_t queue;         /* waiting room per instance, or MODEL_UNLIMITED */
	model_step *steps;
	uint32_t nsteps;
	model_error *errors;
	uint32_t nerrors;
	uint64_t response_size; /* bytes */
	dist sidecar_latency;   /* this service's sidecars' processing time */
} model_service;

typedef struct model_route {
	uint32_t service;
	char *path;
} model_route;

typedef struct model_phase {
	mesh_time at;  /* the phase starts here */
	double rps;    /* offered rate from `at` until the next phase */
} model_phase;

enum model_client_kind { CLIENT_OPEN = 1, CLIENT_CLOSED };
enum model_arrival { ARRIVAL_CONSTANT = 1, ARRIVAL_POISSON };

typedef struct model_client {
	char *name;
	enum model_client_kind kind;
	uint32_t route;            /* what every request asks for */
	/* open loop */
	enum model_arrival arrival;
	model_phase *phases;
	uint32_t nphases;
	uint32_t max_in_flight;    /* beyond this, rejected; or MODEL_UNLIMITED */
	/* closed loop */
	uint32_t users;
	dist think;
	/* both */
	mesh_time timeout;         /* MESH_NEVER when none */
	uint64_t request_size;
	dist sidecar_latency;      /* the client's own sidecar */
} model_client;

enum model_metric {
	METRIC_SUCCESS_RATE = 1, METRIC_ERROR_RATE, METRIC_ERRORS,
	METRIC_TIMEOUTS, METRIC_REQUESTS, METRIC_MEAN, METRIC_P50, METRIC_P90,
	METRIC_P99, METRIC_P999, METRIC_MAX,
};
enum model_op { OP_GE = 1, OP_GT, OP_LE, OP_LT, OP_EQ };
enum model_scope { SCOPE_OVERALL = 1, SCOPE_SERVICE, SCOPE_CLIENT };

typedef struct model_objective {
	enum model_scope scope;
	uint32_t index;            /* service or client index */
	enum model_metric metric;
	enum model_op op;
	double target;             /* latency metrics: ns; rates: 0..1 */
	char *text;                /* as written, for the report */
} model_objective;

typedef struct model {
	char *name;
	char *file;
	uint64_t seed;
	mesh_time duration;        /* load is offered during [0, duration) */
	mesh_time drain;           /* then in-flight requests get this long */
	dist net_latency;          /* a hop between pods */
	dist local_latency;        /* a hop within a pod (app <-> sidecar) */
	model_service *services;
	uint32_t nservices;
	model_route *routes;
	uint32_t nroutes;
	model_client *clients;
	uint32_t nclients;
	model_objective *objectives;
	uint32_t nobjectives;
} model;

/* Free everything m owns, and m itself. NULL is fine. */
void model_free(model *m);

/* The route id of (service, path), adding it if new. Returns the id, or -1
 * when out of memory (m unchanged). */
int model_route_intern(model *m, uint32_t service, const char *path);

const char *model_metric_name(enum model_metric k);
const char *model_op_name(enum model_op op);
/* True for metrics measured in ns. */
int model_metric_is_latency(enum model_metric k);

#endif
