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

#include "authz.h"
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

/* What one instance does: its capacity and its script. */
typedef struct model_behavior {
	uint32_t concurrency;   /* workers per instance, or MODEL_UNLIMITED */
	uint32_t queue;         /* waiting room per instance, or MODEL_UNLIMITED */
	model_step *steps;
	uint32_t nsteps;
	model_error *errors;
	uint32_t nerrors;
	uint64_t response_size; /* bytes */
} model_behavior;

/* A version (Istio's subset, a Deployment): its own behaviour and replicas.
 * A service written without "versions" has one version, "default". The
 * instances of a service are numbered across its versions in order:
 * version v owns instances [first, first + replicas). */
typedef struct model_version {
	char *name;
	uint32_t replicas;
	uint32_t first;
	model_behavior b;
} model_version;

/* ---- matching requests (Istio HTTPMatchRequest) ---- */

/* Header (name, value) pairs that appear anywhere in the scenario are
 * interned; pair i is bit i of a message's `headers` mask. */
#define MODEL_MAX_HEADERS 64

typedef struct model_header {
	char *name;
	char *value;
} model_header;

enum model_str_match { SM_EXACT = 1, SM_PREFIX, SM_SUFFIX, SM_REGEX, SM_PRESENT };

/* One HTTPMatchRequest: every given condition must hold. The loader
 * resolves path conditions into a per-route table and header conditions
 * into masks of pairs, so matching a request costs a few AND operations. */
typedef struct model_match {
	uint8_t *route_ok;      /* [nroutes] 1 if the route's path matches; NULL:
				 * no path condition */
	uint32_t methods;       /* bit per enum mesh_method; 0: any method */
	uint64_t *hdr_any;      /* [nhdr] condition k holds when the request
				 * carries one of the pairs in hdr_any[k] */
	uint32_t nhdr;
} model_match;

/* ---- mesh policy, per destination service ---- */

enum model_lb {
	LB_ROUND_ROBIN = 1, /* Envoy ROUND_ROBIN */
	LB_RANDOM,          /* Envoy RANDOM */
	LB_LEAST_REQUEST,   /* Envoy LEAST_REQUEST: power of two choices */
	LB_PEAK_EWMA,       /* Linkerd: P2C over peak-EWMA latency x load */
	LB_RING_HASH,       /* Envoy RING_HASH on a request header */
};

/* Which failures a retry policy retries (Envoy x-envoy-retry-on). */
enum model_retry_on {
	RETRY_5XX = 1 << 0,              /* any 5xx, resets, connect failures */
	RETRY_GATEWAY_ERROR = 1 << 1,    /* 502, 503, 504 */
	RETRY_RESET = 1 << 2,            /* upstream reset, no response */
	RETRY_CONNECT_FAILURE = 1 << 3,  /* connection failure or timeout */
	RETRY_RETRIABLE_STATUS = 1 << 4, /* statuses in model_retry.statuses */
	RETRY_RETRIABLE_4XX = 1 << 5,    /* 409 */
	RETRY_REFUSED_STREAM = 1 << 6,   /* refused before processing (overflow) */
};

enum model_budget { BUDGET_NONE = 0, BUDGET_ENVOY, BUDGET_LINKERD };

typedef struct model_retry {
	uint32_t attempts;           /* retries after the first try (Istio
				      * "attempts", Envoy num_retries); 0: none */
	mesh_time per_try_timeout;   /* MESH_NEVER: none */
	uint32_t on;                 /* enum model_retry_on bits */
	uint16_t statuses[16];       /* retriable status codes */
	uint32_t nstatuses;
	mesh_time backoff_base;      /* Envoy default 25ms */
	mesh_time backoff_max;       /* Envoy default 10 x base */
	int other_host;              /* Envoy previous_hosts predicate */
	enum model_budget budget;
	double budget_percent;       /* Envoy: of active requests (20) */
	uint32_t min_concurrency;    /* Envoy: retries always allowed (3) */
	double ratio;                /* Linkerd: retries per request (0.2) */
	double min_per_second;       /* Linkerd: retries always allowed (10) */
	mesh_time ttl;               /* Linkerd: window (10s) */
} model_retry;

typedef struct model_breaker {   /* Envoy circuit_breakers thresholds */
	uint32_t max_connections;    /* 1024 */
	uint32_t max_pending;        /* 1024 */
	uint32_t max_requests;       /* 1024 */
	uint32_t max_retries;        /* 3 */
} model_breaker;

typedef struct model_outlier {   /* Envoy outlier_detection */
	int enabled;
	uint32_t consecutive_5xx;       /* 0: off */
	uint32_t consecutive_gateway;   /* 0: off */
	mesh_time interval;             /* 10s */
	mesh_time base_ejection;        /* 30s */
	mesh_time max_ejection;         /* 300s */
	double max_ejection_percent;    /* 10 */
} model_outlier;

typedef struct model_split {
	uint32_t version;   /* index in the destination's versions */
	double weight;
} model_split;

/* An Istio VirtualService http[] entry: the first rule whose match holds
 * routes the request over its split; per-rule timeout and retries replace
 * the service's when set. */
typedef struct model_rule {
	model_match *matches;   /* any of them; none: every request */
	uint32_t nmatches;
	model_split *splits;
	uint32_t nsplits;
	int has_timeout;
	mesh_time timeout;
	int has_retry;
	model_retry retry;
	/* Istio's mirror: this percentage of the rule's requests is also
	 * sent, fire and forget, to a host of version mirror_version; the
	 * copy's answer is discarded. 0: no mirroring. */
	double mirror_percent;
	uint32_t mirror_version;
} model_rule;

typedef struct model_policy {
	mesh_time timeout;           /* route timeout over all tries; MESH_NEVER */
	mesh_time connect_timeout;   /* a connection that gets no answer fails
				      * after this (partitions) */
	model_retry retry;
	model_breaker breaker;
	model_outlier outlier;
	enum model_lb lb;
	uint32_t choice_count;       /* least request: 2 */
	uint32_t ring_header;        /* ring hash: index into model->header_names */
	double panic_threshold;      /* percent; Envoy 50 */
	model_rule *rules;
	uint32_t nrules;
} model_policy;

/* ---- mutual TLS (Istio PeerAuthentication and istiod's CA) ---- */

/* A workload's inbound mode, as Istio's PeerAuthentication mtls.mode. */
enum model_mtls_mode {
	MTLS_UNSET = 0,     /* inherit (the loader resolves every service) */
	MTLS_DISABLE,       /* plaintext only */
	MTLS_PERMISSIVE,    /* mutual TLS or plaintext (Istio's default) */
	MTLS_STRICT,        /* mutual TLS only */
};

/* The scenario's "mtls" block. Without it (enabled 0) no TLS is modelled
 * and a callee knows its caller's identity for authorization anyway (as
 * auto mTLS would give it, at no cost). With it, identity comes only from
 * a peer certificate: a plaintext request carries none. */
typedef struct model_mtls {
	int enabled;
	char *trust_domain;          /* "cluster.local" */
	enum model_mtls_mode mode;   /* mesh-wide default: PERMISSIVE */
	mesh_time cert_ttl;          /* workload certificates: 24h */
	double grace_ratio;          /* renew at this fraction left: 0.5 */
	double grace_jitter;         /* +- this: 0.01 */
	int intermediate;            /* issue from an intermediate CA under
				      * the root (istiod as a plug-in CA) */
	/* A plug-in CA from files (istiod's cacerts: ca-cert.pem,
	 * ca-key.pem, cert-chain.pem, root-cert.pem), paths relative to the
	 * scenario's directory already resolved; all NULL: a new root per
	 * run. */
	char *ca_cert, *ca_key, *ca_chain, *ca_root;
	/* CPU the simulator charges a new connection's handshake (client and
	 * server together; a fixed figure keeps runs byte-reproducible):
	 * full and resumed. */
	mesh_time handshake_full;
	mesh_time handshake_resumed;
	/* "handshake_cpu": "measured": charge each handshake the CPU it
	 * really took instead (the run is then not byte-reproducible). */
	int handshake_measured;
} model_mtls;

/* Defaults: the CPU of both sides of one handshake over memory
 * (lh_tls_handshake_mem), OpenSSL 3.0, P-256, on the 2-core development
 * machine, median of 50 (`make bench` prints it: bench_http handshakes;
 * also TLS_MESH_BENCH=1 CK_RUN_SUITE=tls_mesh CK_RUN_CASE=bench
 * build/check_meshsim): 4.0 to 4.5 ms full, 1.6 to 1.8 ms resumed. */
#define MODEL_HANDSHAKE_FULL ((mesh_time)4200 * MESH_US)
#define MODEL_HANDSHAKE_RESUMED ((mesh_time)1700 * MESH_US)
/* How long a client may resume a session: TLS 1.3 tickets' lifetime in
 * OpenSSL and BoringSSL (SSL_get_default_timeout, 7200 s). */
#define MODEL_SESSION_LIFETIME ((mesh_time)7200 * MESH_S)

typedef struct model_service {
	char *name;
	model_version *versions;
	uint32_t nversions;
	uint32_t replicas;      /* all versions together */
	dist sidecar_latency;   /* this service's sidecars' processing time */
	model_policy policy;    /* how callers' sidecars treat calls to it */
	/* Its workload identity (Kubernetes namespace and service account),
	 * and the principal Istio derives from them:
	 * "cluster.local/ns/<namespace>/sa/<service_account>". */
	char *ns;               /* "default" unless given */
	char *service_account;  /* the service's name unless given */
	char *principal;
	authz_set authz;        /* the authorization policies selecting it */
	enum model_mtls_mode mtls_mode; /* its inbound's PeerAuthentication
					 * mode (resolved; with an mtls
					 * block only) */
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
	uint8_t method;            /* enum mesh_method */
	uint64_t headers;          /* pairs every request carries */
	uint32_t user_header;      /* header name index carrying a random user
				    * id, or MODEL_NONE */
	uint32_t user_count;       /* ids drawn uniformly from [0, count) */
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
	/* Its identity as a caller: a principal like
	 * "cluster.local/ns/<ns>/sa/<sa>" and the namespace it names; both
	 * NULL (the default) for a plaintext client without one. */
	char *principal;
	char *ns;
} model_client;

/* ---- faults ---- */

enum model_fault_kind {
	FAULT_DELAY = 1,   /* callers' sidecars hold requests (Istio fault.delay) */
	FAULT_ABORT,       /* callers' sidecars answer a status or reset */
	FAULT_BLACKHOLE,   /* requests are swallowed: no answer ever */
	FAULT_PARTITION,   /* no traffic between two sets of services */
	FAULT_CRASH,       /* instances' apps die; back (empty) at the end */
	FAULT_CAPACITY,    /* service time multiplied, workers removed */
	FAULT_NETWORK,     /* extra hop latency, packet loss */
	FAULT_PAUSE,       /* instances' apps stop (SIGSTOP) and go on (SIGCONT) */
	FAULT_BANDWIDTH,   /* hops into or out of the target share a slow link */
	/* Certificate faults (mutual TLS, tls_mesh.h); they need an "mtls"
	 * block. Targets are a service's instances (or version, instance). */
	FAULT_CERT_EXPIRE,   /* the targets present an expired certificate;
			      * a fresh one is issued when the fault ends */
	FAULT_CERT_NO_ROTATE,/* the targets stop renewing (istiod out of
			      * reach); renewal resumes when it ends */
	FAULT_CERT_FOREIGN,  /* the targets present a certificate of another
			      * trust domain (foreign_domain); signed by the
			      * mesh CA (foreign_root 0: an identity
			      * mismatch) or by a root no one trusts
			      * (foreign_root 1: an unknown CA); their own
			      * again when it ends */
	FAULT_ROOT_ROTATE,   /* mesh-wide, for good: a new root signs from
			      * now on; trust moves to it at once (overlap
			      * 0) or trusts both (overlap 1); workloads
			      * move to it at their next renewal */
	FAULT_MTLS_STRICT,   /* the targets' inbound turns STRICT while
			      * their callers keep the choice of TLS they
			      * made (plaintext stays plaintext) */
};

/* Which hops a bandwidth fault slows (Envoy bandwidth_limit enable_mode). */
enum model_bw_dir {
	BW_REQUEST = 1 << 0,   /* requests into the target (REQUEST) */
	BW_RESPONSE = 1 << 1,  /* the target's responses (RESPONSE) */
};

#define MODEL_ANY UINT32_MAX
#define MODEL_NONE UINT32_MAX
/* A fault's source: any caller, or only the load clients. */
#define MODEL_CLIENTS (UINT32_MAX - 1)

typedef struct model_fault {
	enum model_fault_kind kind;
	mesh_time start;
	mesh_time end;             /* MESH_NEVER: until the run ends */
	char *label;               /* for reports: "abort 503 catalog 50%" */
	/* target: a destination service (and version or instance), and/or
	 * a source (caller service or MODEL_CLIENTS) */
	uint32_t service;          /* MODEL_ANY */
	uint32_t version;          /* MODEL_ANY, or index in the service */
	uint32_t instance;         /* MODEL_ANY, or index in the service */
	uint32_t source;           /* MODEL_ANY, MODEL_CLIENTS or a service */
	double percent;            /* of matching requests; 100 */
	int has_match;
	model_match match;         /* header and method conditions only */
	/* delay */
	dist delay;
	/* abort */
	uint16_t status;           /* 0 with reset */
	int reset;
	/* partition: side[s] is 0 (not in it), 1 or 2 */
	uint8_t *side;             /* [nservices]; load clients are outside */
	int one_way;               /* only side 1 -> side 2 is cut */
	/* capacity */
	double slowdown;           /* service time multiplier, >= 1 */
	uint32_t workers_removed;  /* per instance, never below one left */
	/* network: applies to hops into the target (or all hops) */
	int has_latency;
	dist latency;              /* added to each hop */
	double loss;               /* per transmission (random model) */
	int bursty;                /* Gilbert-Elliott instead */
	double ge_p;               /* good -> bad per transmission */
	double ge_r;               /* bad -> good per transmission */
	double loss_bad;           /* loss in the bad state (good: `loss`) */
	mesh_time rto;             /* first retransmission timeout (200ms) */
	/* bandwidth: one link per direction, shared by the hops it slows */
	uint64_t limit_kbps;       /* KiB/s, as Envoy's limit_kbps */
	uint32_t bw_dirs;          /* enum model_bw_dir bits */
	/* cert_foreign */
	char *foreign_domain;      /* "other.local" unless given */
	int foreign_root;          /* 1: signed by a root no one trusts */
	/* root_rotate */
	int overlap;               /* 1: the old root stays trusted */
} model_fault;
enum model_metric {
	METRIC_SUCCESS_RATE = 1, METRIC_ERROR_RATE, METRIC_ERRORS,
	METRIC_TIMEOUTS, METRIC_REQUESTS, METRIC_MEAN, METRIC_P50, METRIC_P90,
	METRIC_P99, METRIC_P999, METRIC_MAX,
	METRIC_RETRY_AMPLIFICATION, /* attempts per request */
	METRIC_RECOVERS_WITHIN,     /* ns after the last fault window ends */
	METRIC_METASTABLE,          /* 1 when degraded after load and faults end */
	METRIC_ROLLOUT_VERDICT,     /* enum ro_verdict of the rollout */
	METRIC_DECIDED_WITHIN,      /* ns from the rollout's start to its decision */
	METRIC_BLAST_RADIUS,        /* requests the canary harmed until the decision */
	METRIC_DENIED,              /* requests denied by authorization (403) */
};
enum model_op { OP_GE = 1, OP_GT, OP_LE, OP_LT, OP_EQ };
enum model_scope { SCOPE_OVERALL = 1, SCOPE_SERVICE, SCOPE_CLIENT,
		   SCOPE_ROLLOUT /* the scenario's rollout (rollout.h) */ };

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
	model_header *headers;     /* interned (name, value) pairs */
	uint32_t nheaders;
	char **header_names;       /* interned names (ring hash, user ids) */
	uint32_t nheader_names;
	model_fault *faults;
	uint32_t nfaults;
	char *defaults;            /* preset applied: "none", "envoy", ... */
	model_client *clients;
	uint32_t nclients;
	model_objective *objectives;
	uint32_t nobjectives;
	struct model_rollout *rollout; /* a canary rollout (rollout.h), or NULL */
	authz_policy *authz;       /* authorization policies, in file order */
	uint32_t nauthz;
	model_mtls mtls;           /* mutual TLS; mtls.enabled 0: none */
} model;

/* Istio's trust domain, the start of every principal meshsim makes. */
#define MODEL_TRUST_DOMAIN "cluster.local"

/* The identity of calling workload `src` (a mesh_msg's src: 0 none,
 * 1 + a service index, 1 + nservices + a client index), for
 * authorization: both NULL for none or a client without a principal. */
static inline authz_peer model_peer(const model *m, uint32_t src)
{
	authz_peer p = {NULL, NULL};
	if (src && src - 1 < m->nservices) {
		p.principal = m->services[src - 1].principal;
		p.ns = m->services[src - 1].ns;
	} else if (src && src - 1 - m->nservices < m->nclients) {
		p.principal = m->clients[src - 1 - m->nservices].principal;
		p.ns = m->clients[src - 1 - m->nservices].ns;
	}
	return p;
}

/* The mesh_msg src of the workload x-meshsim-source names: a service's
 * name, or "client/<name>" for a load client; 0 (no identity) for
 * anything else or NULL. */
uint32_t model_peer_of(const model *m, const char *source);

/* The version that instance `inst` (index within its service) belongs to. */
static inline uint32_t model_version_of(const model_service *s, uint32_t inst)
{
	uint32_t v = 0;
	while (v + 1 < s->nversions && inst >= s->versions[v + 1].first)
		v++;
	return v;
}

/* Does fault f aim at instance `inst` (index within its service) of
 * service `svc`? A fault without a version or instance aims at them all. */
int model_fault_targets(const model *m, const model_fault *f, uint32_t svc,
			uint32_t inst);

/* Fill p with a preset's documented defaults: "none" (a plain forwarder:
 * round robin, no timeout, no retries, no limits), "envoy", "istio" or
 * "linkerd". Returns 0, or -1 for an unknown name (p unchanged). */
int model_policy_preset(model_policy *p, const char *name);

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
