#include "model.h"

#include <stdlib.h>
#include <string.h>

#include "rollout.h"

const char *mesh_outcome_name(enum mesh_outcome o)
{
	switch (o) {
	case MESH_OK: return "success";
	case MESH_HTTP_ERROR: return "http_error";
	case MESH_TIMEOUT: return "timeout";
	case MESH_RESET: return "reset";
	case MESH_CONNECT_FAIL: return "connect_failure";
	case MESH_REJECTED: return "rejected";
	case MESH_DENIED: return "denied";
	case MESH_OUTCOME_COUNT: break;
	}
	return "?";
}

static void behavior_free(model_behavior *b)
{
	for (uint32_t j = 0; j < b->nsteps; j++) {
		free(b->steps[j].routes);
		free(b->steps[j].sizes);
	}
	free(b->steps);
	free(b->errors);
}

static void match_free(model_match *mt)
{
	free(mt->route_ok);
	free(mt->hdr_any);
}

static void policy_free(model_policy *p)
{
	for (uint32_t i = 0; i < p->nrules; i++) {
		model_rule *r = &p->rules[i];
		for (uint32_t k = 0; k < r->nmatches; k++)
			match_free(&r->matches[k]);
		free(r->matches);
		free(r->splits);
	}
	free(p->rules);
}

void model_free(model *m)
{
	if (!m)
		return;
	for (uint32_t i = 0; i < m->nservices; i++) {
		model_service *s = &m->services[i];
		free(s->name);
		for (uint32_t v = 0; v < s->nversions; v++) {
			free(s->versions[v].name);
			behavior_free(&s->versions[v].b);
		}
		free(s->versions);
		policy_free(&s->policy);
		free(s->ns);
		free(s->service_account);
		free(s->principal);
		authz_set_clear(&s->authz);
	}
	free(m->services);
	for (uint32_t i = 0; i < m->nroutes; i++)
		free(m->routes[i].path);
	free(m->routes);
	for (uint32_t i = 0; i < m->nclients; i++) {
		free(m->clients[i].name);
		free(m->clients[i].phases);
		free(m->clients[i].principal);
		free(m->clients[i].ns);
	}
	free(m->clients);
	for (uint32_t i = 0; i < m->nobjectives; i++)
		free(m->objectives[i].text);
	free(m->objectives);
	for (uint32_t i = 0; i < m->nheaders; i++) {
		free(m->headers[i].name);
		free(m->headers[i].value);
	}
	free(m->headers);
	for (uint32_t i = 0; i < m->nheader_names; i++)
		free(m->header_names[i]);
	free(m->header_names);
	for (uint32_t i = 0; i < m->nfaults; i++) {
		free(m->faults[i].label);
		free(m->faults[i].side);
		free(m->faults[i].foreign_domain);
		match_free(&m->faults[i].match);
	}
	free(m->faults);
	model_rollout_free(m->rollout);
	for (uint32_t i = 0; i < m->nauthz; i++)
		authz_policy_clear(&m->authz[i]);
	free(m->authz);
	free(m->mtls.trust_domain);
	free(m->mtls.ca_cert);
	free(m->mtls.ca_key);
	free(m->mtls.ca_chain);
	free(m->mtls.ca_root);
	free(m->defaults);
	free(m->name);
	free(m->file);
	free(m);
}

uint32_t model_peer_of(const model *m, const char *source)
{
	if (!source)
		return 0;
	if (strncmp(source, "client/", 7) == 0) {
		for (uint32_t c = 0; c < m->nclients; c++)
			if (strcmp(m->clients[c].name, source + 7) == 0)
				return 1 + m->nservices + c;
		return 0;
	}
	for (uint32_t s = 0; s < m->nservices; s++)
		if (strcmp(m->services[s].name, source) == 0)
			return 1 + s;
	return 0;
}

int model_fault_targets(const model *m, const model_fault *f, uint32_t svc,
			uint32_t inst)
{
	if (f->service != svc)
		return 0;
	if (f->instance != MODEL_ANY && f->instance != inst)
		return 0;
	return f->version == MODEL_ANY ||
	       model_version_of(&m->services[svc], inst) == f->version;
}

/*
 * The presets: what each mesh does when a user configures nothing, from
 * its documentation.
 *
 * envoy: a route timeout of 15s; no retries unless a retry policy is set;
 *   circuit breakers at 1024 connections, 1024 pending, 1024 requests and 3
 *   concurrent retries; ROUND_ROBIN; panic threshold 50%; connect timeout
 *   5s; outlier detection off (when turned on: 5 consecutive 5xx, gateway
 *   errors not enforced, 10s interval, 30s base ejection, 300s maximum,
 *   10% maximum ejected).
 * istio: no route timeout; retries 2 times on connect-failure,
 *   refused-stream and 503 (retriable-status-codes), to another host, with
 *   Envoy's 25ms backoff; breakers effectively unlimited (Istio sets them to
 *   2^32-1); LEAST_REQUEST; connect timeout 10s; outlier detection off
 *   (when on: consecutive5xxErrors 5, 10s, 30s, maxEjectionPercent 10).
 * linkerd: no timeout; no retries unless a route is marked retryable, and
 *   then under a retry budget of 20% extra load, at least 10 retries per
 *   second, over a 10s window; peak-EWMA balancing; no panic mode; connect
 *   timeout 1s; no outlier ejection.
 * none: a plain forwarder: round robin, no timeout, no retries, no
 *   breakers (the network still has Envoy's 5s connect timeout, and the
 *   50% panic threshold applies once outlier detection is turned on).
 * In every preset a retry policy that gives no "attempts" retries once
 * (Envoy's num_retries default), and retries go to another host while one
 * is left (Envoy's previous_hosts predicate, as Istio installs it).
 */
int model_policy_preset(model_policy *p, const char *name)
{
	model_policy q;
	memset(&q, 0, sizeof q);
	q.timeout = MESH_NEVER;
	q.connect_timeout = 5 * MESH_S;
	q.retry.per_try_timeout = MESH_NEVER;
	q.retry.backoff_base = 25 * MESH_MS;
	q.retry.backoff_max = 250 * MESH_MS;
	/* Retries never go back to a host already tried while another is
	 * left: Envoy's previous_hosts retry predicate, which Istio installs
	 * by default. meshsim applies it in every preset (turn it off with
	 * "other_host": false to see plain Envoy). */
	q.retry.other_host = 1;
	q.retry.budget = BUDGET_NONE;
	q.retry.budget_percent = 20.0;
	q.retry.min_concurrency = 3;
	q.retry.ratio = 0.2;
	q.retry.min_per_second = 10.0;
	q.retry.ttl = 10 * MESH_S;
	q.breaker.max_connections = MODEL_UNLIMITED;
	q.breaker.max_pending = MODEL_UNLIMITED;
	q.breaker.max_requests = MODEL_UNLIMITED;
	q.breaker.max_retries = MODEL_UNLIMITED;
	q.outlier.enabled = 0;
	q.outlier.consecutive_5xx = 5;
	q.outlier.consecutive_gateway = 0;
	q.outlier.interval = 10 * MESH_S;
	q.outlier.base_ejection = 30 * MESH_S;
	q.outlier.max_ejection = 300 * MESH_S;
	q.outlier.max_ejection_percent = 10.0;
	q.lb = LB_ROUND_ROBIN;
	q.choice_count = 2;
	q.ring_header = MODEL_NONE;
	q.panic_threshold = 50.0;

	if (strcmp(name, "none") == 0) {
		/* as set above */
	} else if (strcmp(name, "envoy") == 0) {
		q.timeout = 15 * MESH_S;
		q.breaker.max_connections = 1024;
		q.breaker.max_pending = 1024;
		q.breaker.max_requests = 1024;
		q.breaker.max_retries = 3;
	} else if (strcmp(name, "istio") == 0) {
		q.connect_timeout = 10 * MESH_S;
		q.retry.attempts = 2;
		q.retry.on = RETRY_CONNECT_FAILURE | RETRY_REFUSED_STREAM |
			     RETRY_RETRIABLE_STATUS;
		q.retry.statuses[0] = 503;
		q.retry.nstatuses = 1;
		q.lb = LB_LEAST_REQUEST;
	} else if (strcmp(name, "linkerd") == 0) {
		q.connect_timeout = 1 * MESH_S;
		q.retry.budget = BUDGET_LINKERD;
		q.retry.on = RETRY_5XX;
		q.lb = LB_PEAK_EWMA;
		q.panic_threshold = 0.0;
	} else {
		return -1;
	}
	/* Keep rules the caller may already hold. */
	q.rules = p->rules;
	q.nrules = p->nrules;
	*p = q;
	return 0;
}

int model_route_intern(model *m, uint32_t service, const char *path)
{
	for (uint32_t i = 0; i < m->nroutes; i++)
		if (m->routes[i].service == service &&
		    strcmp(m->routes[i].path, path) == 0)
			return (int)i;
	char *p = strdup(path);
	if (!p)
		return -1;
	model_route *r = realloc(m->routes, (m->nroutes + 1) * sizeof *r);
	if (!r) {
		free(p);
		return -1;
	}
	m->routes = r;
	r[m->nroutes].service = service;
	r[m->nroutes].path = p;
	return (int)m->nroutes++;
}

const char *model_metric_name(enum model_metric k)
{
	switch (k) {
	case METRIC_SUCCESS_RATE: return "success_rate";
	case METRIC_ERROR_RATE: return "error_rate";
	case METRIC_ERRORS: return "errors";
	case METRIC_TIMEOUTS: return "timeouts";
	case METRIC_REQUESTS: return "requests";
	case METRIC_MEAN: return "mean";
	case METRIC_P50: return "p50";
	case METRIC_P90: return "p90";
	case METRIC_P99: return "p99";
	case METRIC_P999: return "p999";
	case METRIC_MAX: return "max";
	case METRIC_RETRY_AMPLIFICATION: return "retry_amplification";
	case METRIC_RECOVERS_WITHIN: return "recovers_within";
	case METRIC_METASTABLE: return "metastable";
	case METRIC_ROLLOUT_VERDICT: return "verdict";
	case METRIC_DECIDED_WITHIN: return "decided_within";
	case METRIC_BLAST_RADIUS: return "blast_radius";
	case METRIC_DENIED: return "denied";
	}
	return "?";
}

const char *model_op_name(enum model_op op)
{
	switch (op) {
	case OP_GE: return ">=";
	case OP_GT: return ">";
	case OP_LE: return "<=";
	case OP_LT: return "<";
	case OP_EQ: return "==";
	}
	return "?";
}

int model_metric_is_latency(enum model_metric k)
{
	return k == METRIC_MEAN || k == METRIC_P50 || k == METRIC_P90 ||
	       k == METRIC_P99 || k == METRIC_P999 || k == METRIC_MAX ||
	       k == METRIC_RECOVERS_WITHIN || k == METRIC_DECIDED_WITHIN;
}
