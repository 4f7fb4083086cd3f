/*
 * mesh.h - the environment interface between agent logic and its host.
 *
 * The agents (fake service, sidecar proxy, load client) are written once
 * against this interface. Two hosts provide it: the simulator (virtual time,
 * one event heap, a virtual network) and, later, live mode (libevent, real
 * sockets). Nothing here may include libevent, socket, jansson or wall-clock
 * headers; `make lint` checks that for every file under agents/ that is not a
 * live-mode host file.
 */
#ifndef MESH_H
#define MESH_H

#include <stddef.h>
#include <stdint.h>

/* Time is always nanoseconds in a uint64_t: virtual in the simulator,
 * monotonic in live mode. Never a double. */
typedef uint64_t mesh_time;

#define MESH_US ((mesh_time)1000)
#define MESH_MS ((mesh_time)1000000)
#define MESH_S ((mesh_time)1000000000)
#define MESH_NEVER UINT64_MAX

/* A message between two agents: an HTTP request or its response, reduced to
 * what the mesh logic looks at. Routes are interned by the scenario loader;
 * `route` indexes model->routes. */
/* MESH_CANCEL: the requester gave up on the request it sent with `tag`
 * (a client timing out closes its connection); no answer follows. */
enum mesh_msg_kind { MESH_REQ = 1, MESH_RESP = 2, MESH_CANCEL = 3 };

enum mesh_method {
	METHOD_GET = 0, METHOD_POST, METHOD_PUT, METHOD_DELETE, METHOD_PATCH,
	METHOD_HEAD, METHOD_OPTIONS, METHOD_COUNT
};

/* Why a response is what it is, as Envoy's response flags say: set by the
 * sidecar (or host) that made the response up instead of the service. */
enum mesh_flag {
	MESH_RF_UO = 1 << 0,   /* upstream overflow: a circuit breaker said no */
	MESH_RF_UF = 1 << 1,   /* upstream connection failure */
	MESH_RF_UR = 1 << 2,   /* upstream reset before a response */
	MESH_RF_UT = 1 << 3,   /* upstream request timeout (route timeout) */
	MESH_RF_URX = 1 << 4,  /* retries exhausted (or budget) */
	MESH_RF_UH = 1 << 5,   /* no healthy upstream */
	MESH_RF_FI = 1 << 6,   /* fault injected: abort */
	MESH_RF_DI = 1 << 7,   /* fault injected: delay */
	/* Denied by the callee's authorization policy (agents/authz.h).
	 * Envoy's RBAC filter answers 403 "RBAC: access denied" and sets no
	 * standard flag; this local one lets the caller tell the denial
	 * from an app's own 403. Written "RBAC" in x-meshsim-flags. */
	MESH_RF_RBAC = 1 << 8,
};

typedef struct mesh_msg {
	uint8_t kind;       /* MESH_REQ or MESH_RESP */
	uint8_t method;     /* enum mesh_method */
	uint16_t status;    /* HTTP status of a response; 0 in a request, and
			     * 0 in a response that is a reset */
	uint32_t route;     /* route id: destination service and path */
	uint32_t from;      /* sending agent */
	uint32_t flags;     /* enum mesh_flag bits of a response */
	uint32_t user;      /* a user id for ring hashing: (header name index
			     * + 1) << 24 | id; 0: none (see client.c) */
	uint32_t src;       /* a request's calling workload, its identity
			     * for authorization: 1 + a service index, or
			     * 1 + nservices + a load client's index (see
			     * model_peer); 0: unknown, a plaintext peer
			     * with no identity. The caller's sidecar sets
			     * it (as it presents its certificate); a live
			     * host fills it from x-meshsim-source. */
	uint64_t headers;   /* bit i: carries model header pair i */
	uint64_t tag;       /* requester's correlation tag, echoed in the reply */
	uint64_t size;      /* body bytes */
	uint64_t req_id;    /* end-to-end request id (x-request-id) */
	uint64_t xref;      /* live mode: the host's handle of the HTTP
			     * exchange whose body this message carries (a
			     * request's downstream exchange, a response's
			     * upstream one); 0: none, the host makes the
			     * body up. Agents copy it along; the simulator
			     * ignores it. A full generation-checked tag, so
			     * a handle an agent kept too long names nothing
			     * rather than someone else's exchange. */
} mesh_msg;

/* How every request ends. Exactly one of these is recorded per request. */
enum mesh_outcome {
	MESH_OK = 0,        /* 2xx response */
	MESH_HTTP_ERROR,    /* a response with a status outside 2xx */
	MESH_TIMEOUT,       /* the requester gave up waiting, or a sidecar's
			     * route timeout answered 504 */
	MESH_RESET,         /* the connection was reset before a response */
	MESH_CONNECT_FAIL,  /* no connection could be made */
	MESH_REJECTED,      /* refused locally: a client limit or a circuit
			     * breaker overflowed. (A retry the budget
			     * refuses is not an outcome: as in Envoy, the
			     * request ends with its last try's answer.) */
	MESH_DENIED,        /* refused by the callee's authorization policy:
			     * 403 with MESH_RF_RBAC */
	MESH_OUTCOME_COUNT
};

/* The outcome a response stands for, from its status and flags. A sidecar
 * turns an upstream reset or connection failure into a 503 for its app, as
 * Envoy does; the flags keep the cause. */
static inline enum mesh_outcome mesh_classify(const mesh_msg *r)
{
	if (r->status >= 200 && r->status < 300)
		return MESH_OK;
	if (r->flags & MESH_RF_RBAC)
		return MESH_DENIED;
	if (r->flags & MESH_RF_UO)
		return MESH_REJECTED;
	if (r->flags & MESH_RF_UT)
		return MESH_TIMEOUT;
	if (r->flags & MESH_RF_UF)
		return MESH_CONNECT_FAIL;
	if (r->flags & MESH_RF_UR)
		return MESH_RESET;
	return MESH_HTTP_ERROR;
}
/* In flight at the end of a run is not an outcome an agent records: the
 * recorder derives it as issued minus completed. */

const char *mesh_outcome_name(enum mesh_outcome o);

typedef struct mesh_agent mesh_agent;
typedef struct mesh_env mesh_env;

/* A timer callback: the agent it was started for and the argument given. */
typedef void (*mesh_timer_fn)(mesh_agent *agent, uint64_t arg);

/* An agent's entry points, called by the host. */
typedef struct mesh_agent_ops {
	/* A message arrived for this agent. The message is borrowed. */
	void (*on_msg)(mesh_agent *self, const mesh_msg *m);
	/* The host starts the agent once, at time zero. May be NULL. */
	void (*start)(mesh_agent *self);
} mesh_agent_ops;

struct mesh_agent {
	const mesh_agent_ops *ops;
	mesh_env *env;
	uint32_t id;        /* the agent's address in its host */
	uint32_t pod;       /* agents with the same pod talk over loopback */
};

/* What a host provides. Every function is called with the host itself. */
typedef struct mesh_env_ops {
	/* The current time in ns. */
	mesh_time (*now)(mesh_env *env);
	/* Call fn(agent, arg) after delay ns. Returns a handle for cancel,
	 * never 0. */
	uint64_t (*timer_start)(mesh_env *env, mesh_time delay, mesh_agent *agent,
				mesh_timer_fn fn, uint64_t arg);
	/* Cancel a pending timer. A handle that has fired or been cancelled
	 * is ignored, so a stale handle is harmless. */
	void (*timer_cancel)(mesh_env *env, uint64_t handle);
	/* Send m from `from` to agent `to`. The host adds the hop's latency
	 * (loopback within a pod, network between pods) to `delay`, which is
	 * the sender's own processing time. m is copied. */
	void (*send)(mesh_env *env, mesh_agent *from, uint32_t to,
		     const mesh_msg *m, mesh_time delay);
	/* `from` gave up on the request it sent to `to` with `tag` (a try
	 * timed out or its request ended): a live host resets that upstream
	 * exchange, as Envoy resets the stream. No answer will be looked
	 * at. May be NULL (the simulator: the callee works on regardless,
	 * and its late answer is ignored). */
	void (*abandon)(mesh_env *env, mesh_agent *from, uint32_t to,
			uint64_t tag);
} mesh_env_ops;

struct mesh_env {
	const mesh_env_ops *ops;
	struct rec *rec;            /* where agents record outcomes */
	const struct model *model;  /* the scenario, read-only */
	const uint8_t *faults_on;   /* [model->nfaults]: 1 while fault i is on;
				     * the host switches them on schedule */
};

static inline mesh_time mesh_now(mesh_env *e) { return e->ops->now(e); }

#endif
