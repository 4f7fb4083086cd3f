/*
 * live_agent.c - one live agent process: an app, a sidecar or the load
 * clients, hosted on libevent by live_env.c, with its admin endpoint.
 *
 *   meshsim agent app|sidecar|load FILE --net B [--pod P] [--seed N]
 *                 [--duration D] [--app HOST:PORT] [--pki DIR]
 *
 * The process loads the same scenario file as the orchestrator, so model
 * indexes (services, routes, faults) agree between all processes. It
 * serves until SIGTERM, SIGINT or POST /quit. Its admin endpoint is bound
 * to its pod's loopback address only (see live.h for the API).
 *
 * Mutual TLS (a scenario with an "mtls" block): a sidecar loads the run's
 * PKI from --pki DIR when the run starts (POST /start?t0=NS&epoch=NS; the
 * epoch is the wall clock at t0, the calendar its certificates live on),
 * gets its first certificate then, and renews it on a timer at the time
 * tls_mesh_renew_at says, as Istio's agent renews from istiod: the
 * listener and pools take each new certificate for new connections, and
 * the open ones keep theirs. Certificate faults (POST /faults) reach the
 * same tls_mesh, for this sidecar's workload (an mtls_strict fault for
 * every workload: as a caller, a sidecar counts what a STRICT callee
 * refuses).
 */
#define _GNU_SOURCE /* prctl */
#include "live_agent.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <jansson.h>

#include "client.h"
#include "live_env.h"
#include "live_http.h"
#include "rec.h"
#include "rec_json.h"
#include "scenario.h"
#include "service.h"
#include "sidecar.h"
#include "tls_mesh.h"

struct live_proc {
	enum live_kind kind;
	model *m;
	const live_topo *tp;
	mesh_topo mtopo;
	uint32_t pod;
	char ip[16];
	char name[128];
	rec *r;
	uint8_t *faults_on;
	struct event_base *base;
	live_host *host;
	lh_server *admin;
	service_agent svc;
	sidecar sc;
	client_agent *clients;
	int has_svc, has_sc;
	dist zero;
	struct event *start_ev;
	int started;
	uint64_t t0;
	/* Mutual TLS: sidecars of a scenario with an "mtls" block. */
	char *pki;              /* the run's PKI directory (--pki), or NULL */
	tls_mesh *tm;           /* the mesh PKI, from the run's start */
	struct event *renew_ev; /* when this workload renews */
};


static int usage(void)
{
	fprintf(stderr,
		"usage: meshsim agent app|sidecar|load FILE --net B [--pod P]\n"
		"                     [--seed N] [--duration D] [--app HOST:PORT]\n"
		"                     [--pki DIR]\n"
		"  One live-mode process; `meshsim run --live FILE` starts them.\n"
		"  --pki: the run's mesh PKI (mutual TLS), written by the orchestrator.\n");
	return 2;
}

/* ---- the admin endpoint ---- */

static const char *query_arg(const char *target, const char *key, char *buf,
			     size_t len)
{
	const char *q = strchr(target, '?');
	size_t kl = strlen(key);
	while (q && *q) {
		q++;
		if (!strncmp(q, key, kl) && q[kl] == '=') {
			size_t n = strcspn(q + kl + 1, "&");
			if (n >= len)
				n = len - 1;
			memcpy(buf, q + kl + 1, n);
			buf[n] = 0;
			return buf;
		}
		q = strchr(q, '&');
	}
	return NULL;
}

static int path_is(const char *target, const char *path)
{
	size_t n = strlen(path);
	return !strncmp(target, path, n) && (target[n] == 0 || target[n] == '?');
}

static void reply_text(lh_sx *x, int status, const char *text)
{
	lh_sx_respond_simple(x, status, "text/plain", text, strlen(text), NULL);
}

/* Answer 200 with j as compact JSON (j is consumed; NULL: out of memory). */
static void reply_json(lh_sx *x, json_t *j)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	json_decref(j);
	if (!text) {
		reply_text(x, 503, "out of memory\n");
		return;
	}
	lh_sx_respond_simple(x, 200, "application/json", text, strlen(text), NULL);
	free(text);
}

/* An app applies the faults that act on the app itself, as the simulator
 * does: capacity (the strongest of those on that aim at it) and pause.
 * A pause is real too (the orchestrator sends SIGSTOP after this and
 * SIGCONT before the fault ends); freezing the agent's work here makes
 * work in progress end at resume plus the time it had left, as in the
 * simulator, instead of all at once when the process wakes up. */
static void apply_app_faults(live_proc *p, uint32_t changed)
{
	if (!p->has_svc)
		return;
	const model *m = p->m;
	uint32_t s = p->tp->pod_service[p->pod];
	uint32_t i = p->pod - p->tp->first[s];
	double slow = 1.0;
	uint32_t removed = 0;
	int paused = 0;
	for (uint32_t k = 0; k < m->nfaults; k++) {
		const model_fault *f = &m->faults[k];
		if (!p->faults_on[k] || !model_fault_targets(m, f, s, i))
			continue;
		if (f->kind == FAULT_PAUSE)
			paused = 1;
		if (f->kind != FAULT_CAPACITY)
			continue;
		if (f->slowdown > slow)
			slow = f->slowdown;
		if (f->workers_removed > removed)
			removed = f->workers_removed;
	}
	service_set_capacity(&p->svc, slow, removed);
	const model_fault *f = changed < m->nfaults ? &m->faults[changed] : NULL;
	if (f && f->kind == FAULT_PAUSE && p->faults_on[changed] &&
	    model_fault_targets(m, f, s, i)) {
		/* The requests it holds as this pause starts are its hits. */
		p->r->fault_hits[changed] += service_holding(&p->svc);
	}
	service_pause(&p->svc, paused);
}

static void start_agents(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	live_proc *p = arg;
	/* libevent measures a timer from its cached loop time, so it can fire
	 * a little before t0; the agents must not start while the clock still
	 * reads 0 (a first request would seem sent before it was). */
	uint64_t now = live_monotonic_ns(), t0 = live_host_t0(p->host);
	if (now < t0) {
		struct timeval tv = live_timeval(t0 - now + 1000);
		evtimer_add(p->start_ev, &tv);
		return;
	}
	if (p->has_svc && p->svc.base.ops->start)
		p->svc.base.ops->start(&p->svc.base);
	if (p->has_sc && p->sc.base.ops->start)
		p->sc.base.ops->start(&p->sc.base);
	for (uint32_t c = 0; p->clients && c < p->m->nclients; c++)
		p->clients[c].base.ops->start(&p->clients[c].base);
}

static int admin_start(live_proc *p, const char *target, lh_sx *x)
{
	char buf[32];
	if (p->started) {
		reply_text(x, 409, "already started\n");
		return 0;
	}
	if (!query_arg(target, "t0", buf, sizeof buf)) {
		reply_text(x, 400, "POST /start?t0=NS: t0 (CLOCK_MONOTONIC ns) is missing\n");
		return 0;
	}
	char *end;
	errno = 0;
	unsigned long long t0 = strtoull(buf, &end, 10);
	if (!buf[0] || *end || errno || !t0) {
		reply_text(x, 400, "POST /start?t0=NS: expected t0 as CLOCK_MONOTONIC nanoseconds (> 0)\n");
		return 0;
	}
	long long epoch = 0;
	if (query_arg(target, "epoch", buf, sizeof buf)) {
		errno = 0;
		epoch = strtoll(buf, &end, 10);
		if (!buf[0] || *end || errno || epoch <= 0) {
			reply_text(x, 400, "POST /start?t0=NS&epoch=NS: expected epoch as the wall "
					   "clock at t0, nanoseconds since the Unix epoch (> 0)\n");
			return 0;
		}
	}
	char err[512], msg[600];
	if (live_proc_start(p, (uint64_t)t0, (int64_t)epoch, err, sizeof err) < 0) {
		fprintf(stderr, "meshsim agent %s: cannot start: %s\n", p->name, err);
		snprintf(msg, sizeof msg, "cannot start: %s\n", err);
		reply_text(x, 500, msg);
		return 0;
	}
	reply_text(x, 200, "started\n");
	return 0;
}

static void admin_faults(live_proc *p, const char *target, lh_sx *x)
{
	char id[32], on[8];
	if (!query_arg(target, "id", id, sizeof id) ||
	    !query_arg(target, "on", on, sizeof on)) {
		reply_text(x, 400, "POST /faults?id=I&on=0|1: id and on are required\n");
		return;
	}
	char *end;
	errno = 0;
	unsigned long i = strtoul(id, &end, 10);
	if (!id[0] || *end || errno || i >= p->m->nfaults || (strcmp(on, "0") && strcmp(on, "1"))) {
		char msg[160];
		snprintf(msg, sizeof msg,
			 "POST /faults: expected id in 0..%u and on 0 or 1, found id=%s on=%s\n",
			 p->m->nfaults ? p->m->nfaults - 1 : 0, id, on);
		reply_text(x, 400, msg);
		return;
	}
	if (live_proc_set_fault(p, (uint32_t)i, on[0] == '1') < 0)
		reply_text(x, 500, "the fault could not be applied (see the process's log)\n");
	else
		reply_text(x, 200, "ok\n");
}

/* One rule's change in a POST /weights body: {"rule": R, "weights":
 * {VERSION: W, ...}, "mirror": M} ("mirror" optional). Checks it against
 * service s; returns the rule's index, or -1 with the reason in msg. */
static long weights_rule_check(const model_service *s, const json_t *o,
			       const char *at, char *msg, size_t len)
{
	json_t *jr = json_object_get(o, "rule"), *jw = json_object_get(o, "weights");
	json_t *jm = json_object_get(o, "mirror");
	if (!json_is_object(o) || !json_is_integer(jr) || !json_is_object(jw) ||
	    (jm && !json_is_number(jm))) {
		snprintf(msg, len, "POST /weights: %sexpected {\"rule\": R, \"weights\": "
				   "{VERSION: W}, \"mirror\": PERCENT (optional)}\n", at);
		return -1;
	}
	json_int_t ri = json_integer_value(jr);
	if (ri < 0 || (uint64_t)ri >= s->policy.nrules || !s->policy.rules[ri].nsplits) {
		snprintf(msg, len, "POST /weights: %sservice %s has no route rule %lld "
				   "with a split\n", at, s->name, (long long)ri);
		return -2;
	}
	const model_rule *rule = &s->policy.rules[ri];
	const char *vname;
	json_t *val;
	json_object_foreach((json_t *)jw, vname, val) {
		int found = 0;
		for (uint32_t k = 0; k < rule->nsplits; k++)
			if (!strcmp(s->versions[rule->splits[k].version].name, vname))
				found = 1;
		if (!found || !json_is_number(val) || json_number_value(val) < 0) {
			snprintf(msg, len, "POST /weights: %sweights.%s: expected a version "
					   "of the rule's split with a weight >= 0\n", at, vname);
			return -1;
		}
	}
	if (jm && (json_number_value(jm) < 0 || json_number_value(jm) > 100)) {
		snprintf(msg, len, "POST /weights: %smirror: expected a percentage "
				   "from 0 to 100\n", at);
		return -1;
	}
	return (long)ri;
}

static void weights_rule_apply(model_service *s, const json_t *o, long ri)
{
	model_rule *rule = &s->policy.rules[ri];
	const char *vname;
	json_t *val, *jm = json_object_get(o, "mirror");
	json_object_foreach(json_object_get(o, "weights"), vname, val)
		for (uint32_t k = 0; k < rule->nsplits; k++)
			if (!strcmp(s->versions[rule->splits[k].version].name, vname))
				rule->splits[k].weight = json_number_value(val);
	if (jm)
		rule->mirror_percent = json_number_value(jm);
}

/* POST /weights: rewrite the split weights (and Istio's mirror percentage)
 * the sidecar reads for every new request, as a VirtualService update
 * reaches Envoy. One rule, {"service": S, "rule": R, "weights": {"v1": 90,
 * "v2": 10}, "mirror": M}, or several at once, {"service": S, "rules":
 * [{"rule": R, "weights": {...}, "mirror": M}, ...]} (a rollout's header
 * rule and default rule change together). Every rule is checked before
 * any changes: a bad request changes nothing. */
static void admin_weights(live_proc *p, lh_sx *x, struct evbuffer *body)
{
	char msg[320];
	size_t len = evbuffer_get_length(body);
	char *text = malloc(len + 1);
	if (!text) {
		reply_text(x, 503, "out of memory\n");
		return;
	}
	evbuffer_remove(body, text, len);
	text[len] = 0;
	json_error_t je;
	json_t *j = json_loads(text, 0, &je);
	free(text);
	const char *svc_name = j ? json_string_value(json_object_get(j, "service")) : NULL;
	json_t *rules = j ? json_object_get(j, "rules") : NULL;
	if (!j || !svc_name || (rules && !json_is_array(rules))) {
		snprintf(msg, sizeof msg,
			 "POST /weights: expected {\"service\": S, \"rule\": R, "
			 "\"weights\": {VERSION: W}} or {\"service\": S, \"rules\": "
			 "[{\"rule\": R, \"weights\": {VERSION: W}} ...]}, found %s\n",
			 j ? "another shape" : je.text);
		json_decref(j);
		reply_text(x, 400, msg);
		return;
	}
	model_service *s = NULL;
	for (uint32_t k = 0; k < p->m->nservices; k++)
		if (!strcmp(p->m->services[k].name, svc_name))
			s = &p->m->services[k];
	if (!s) {
		snprintf(msg, sizeof msg, "POST /weights: no service %s\n", svc_name);
		json_decref(j);
		reply_text(x, 404, msg);
		return;
	}
	size_t n = rules ? json_array_size(rules) : 1;
	long *idx = calloc(n ? n : 1, sizeof *idx);
	if (!idx) {
		json_decref(j);
		reply_text(x, 503, "out of memory\n");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char at[32] = "";
		if (rules)
			snprintf(at, sizeof at, "rules[%zu]: ", i);
		idx[i] = weights_rule_check(s, rules ? json_array_get(rules, i) : j, at,
					    msg, sizeof msg);
		if (idx[i] < 0) {
			reply_text(x, idx[i] == -2 ? 404 : 400, msg);
			free(idx);
			json_decref(j);
			return;
		}
	}
	for (size_t i = 0; i < n; i++)
		weights_rule_apply(s, rules ? json_array_get(rules, i) : j, idx[i]);
	free(idx);
	json_decref(j);
	reply_text(x, 200, "ok\n");
}

/* GET /weights: the split weights and mirror percentage this sidecar
 * routes by now, for every service with a split rule: {"pod": P,
 * "services": {S: [{"rule": R, "weights": {VERSION: W}, "mirror": M}]}}. */
static void admin_weights_get(live_proc *p, lh_sx *x)
{
	json_t *svcs = json_object();
	for (uint32_t k = 0; svcs && k < p->m->nservices; k++) {
		const model_service *s = &p->m->services[k];
		json_t *a = NULL;
		for (uint32_t i = 0; i < s->policy.nrules; i++) {
			const model_rule *rule = &s->policy.rules[i];
			if (!rule->nsplits)
				continue;
			json_t *w = json_object();
			for (uint32_t v = 0; v < rule->nsplits; v++)
				json_object_set_new(w, s->versions[rule->splits[v].version].name,
						    json_real(rule->splits[v].weight));
			if (!a)
				a = json_array();
			json_array_append_new(a, json_pack("{s:I, s:o, s:f}", "rule", (json_int_t)i,
							   "weights", w, "mirror",
							   rule->mirror_percent));
		}
		if (a)
			json_object_set_new(svcs, s->name, a);
	}
	json_t *j = svcs ? json_pack("{s:I, s:s, s:o}", "pod", (json_int_t)p->pod,
				     "name", p->name, "services", svcs)
			 : NULL;
	reply_json(x, j);
}

/* GET /versions?from=NS: the per-version series of the rollout's service
 * as this process recorded them (a caller's sidecar records every call it
 * routes to a version), from the step holding NS (ns since t0; 0 by
 * default) on: {"pod": P, "name": N, "now": NS, "versions": VERSIONS}
 * (rec_json.h). What a live analysis reads at each interval: a few rows,
 * where /snapshot carries the whole recorder. */
static void admin_versions(live_proc *p, const char *target, lh_sx *x)
{
	char buf[32];
	unsigned long long from = 0;
	if (query_arg(target, "from", buf, sizeof buf)) {
		char *end;
		errno = 0;
		from = strtoull(buf, &end, 10);
		if (!buf[0] || *end || errno) {
			reply_text(x, 400, "GET /versions?from=NS: expected ns since t0\n");
			return;
		}
	}
	mesh_env *env = live_host_env(p->host);
	mesh_time now = env->ops->now(env);
	json_t *j = json_pack("{s:I, s:s, s:I, s:o}", "pod", (json_int_t)p->pod, "name",
			      p->name, "now", (json_int_t)now, "versions",
			      rec_versions_json(p->r, (mesh_time)from));
	reply_json(x, j);
}

static void admin_metrics(live_proc *p, lh_sx *x)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	if (!f) {
		reply_text(x, 503, "out of memory\n");
		return;
	}
	char labels[160];
	snprintf(labels, sizeof labels, "pod=\"%s\"", p->name);
	live_host_tls_record(p->host);
	int bad = rec_prometheus(p->r, f, labels) < 0;
	live_host_stats st;
	live_host_stats_get(p->host, &st);
	fprintf(f,
		"# HELP meshsim_host_requests_in_total HTTP requests received by this process.\n"
		"# TYPE meshsim_host_requests_in_total counter\n"
		"meshsim_host_requests_in_total{%s} %llu\n"
		"# HELP meshsim_host_requests_out_total HTTP requests sent by this process.\n"
		"# TYPE meshsim_host_requests_out_total counter\n"
		"meshsim_host_requests_out_total{%s} %llu\n"
		"# HELP meshsim_host_no_route_total Requests answered 404 (no such service and path).\n"
		"# TYPE meshsim_host_no_route_total counter\n"
		"meshsim_host_no_route_total{%s} %llu\n"
		"# HELP meshsim_host_upstream_cx_connect_fail_total Upstream connections that failed.\n"
		"# TYPE meshsim_host_upstream_cx_connect_fail_total counter\n"
		"meshsim_host_upstream_cx_connect_fail_total{%s} %llu\n"
		"# HELP meshsim_host_upstream_rq_reset_total Upstream requests reset before their answer ended.\n"
		"# TYPE meshsim_host_upstream_rq_reset_total counter\n"
		"meshsim_host_upstream_rq_reset_total{%s} %llu\n"
		"# HELP meshsim_host_downstream_rq_abort_total Downstream requests whose caller went away.\n"
		"# TYPE meshsim_host_downstream_rq_abort_total counter\n"
		"meshsim_host_downstream_rq_abort_total{%s} %llu\n"
		"# HELP meshsim_host_connections Open connections, downstream and upstream.\n"
		"# TYPE meshsim_host_connections gauge\n"
		"meshsim_host_connections{%s,side=\"downstream\"} %u\n"
		"meshsim_host_connections{%s,side=\"upstream\"} %u\n",
		labels, (unsigned long long)st.requests_in, labels,
		(unsigned long long)st.requests_out, labels,
		(unsigned long long)st.no_route, labels,
		(unsigned long long)st.upstream_connect_fail, labels,
		(unsigned long long)st.upstream_reset, labels,
		(unsigned long long)st.downstream_abort, labels, st.connections_in,
		labels, st.connections_out);
	if (fclose(f) != 0 || bad)
		reply_text(x, 503, "metrics: out of memory\n");
	else
		lh_sx_respond_simple(x, 200, REC_PROMETHEUS_CONTENT_TYPE, buf, len, NULL);
	free(buf);
}

static void admin_snapshot(live_proc *p, lh_sx *x)
{
	mesh_env *env = live_host_env(p->host);
	mesh_time now = env->ops->now(env);
	/* The load process knows what is still in flight at the end: the
	 * cross-check that no request was lost. */
	live_proc_end(p);
	live_host_stats st;
	live_host_stats_get(p->host, &st);
	json_t *j = json_pack("{s:I, s:s, s:s, s:I, s:o, s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
			      "pod", (json_int_t)p->pod, "name", p->name, "kind",
			      p->kind == LIVE_APP ? "app" : p->kind == LIVE_SIDECAR ? "sidecar" : "load",
			      "pid", (json_int_t)getpid(),
			      "rec", rec_snapshot(p->r, now),
			      "host",
			      "requests_in", (json_int_t)st.requests_in,
			      "requests_out", (json_int_t)st.requests_out,
			      "no_route", (json_int_t)st.no_route,
			      "upstream_connect_fail", (json_int_t)st.upstream_connect_fail,
			      "upstream_reset", (json_int_t)st.upstream_reset,
			      "downstream_abort", (json_int_t)st.downstream_abort,
			      "exchanges_open", (json_int_t)st.exchanges_open,
			      "timers_open", (json_int_t)st.timers_open);
	reply_json(x, j);
}

static void admin_route(live_proc *p, lh_sx *x, const char *method,
			const char *target, struct evbuffer *body)
{
	int post = !strcmp(method, "POST");
	if (path_is(target, "/ready"))
		reply_text(x, 200, "ready\n");
	else if (path_is(target, "/metrics"))
		admin_metrics(p, x);
	else if (path_is(target, "/snapshot"))
		admin_snapshot(p, x);
	else if (!post && path_is(target, "/versions"))
		admin_versions(p, target, x);
	else if (!post && path_is(target, "/weights"))
		admin_weights_get(p, x);
	else if (post && path_is(target, "/start"))
		admin_start(p, target, x);
	else if (post && path_is(target, "/faults"))
		admin_faults(p, target, x);
	else if (post && path_is(target, "/weights"))
		admin_weights(p, x, body);
	else if (post && path_is(target, "/quit")) {
		reply_text(x, 200, "bye\n");
		event_base_loopexit(p->base, NULL);
	} else {
		reply_text(x, 404,
			   "admin: GET /ready /metrics /snapshot /versions?from= "
			   "/weights; POST /start?t0= /faults?id=&on= /weights /quit\n");
	}
}

/* The admin endpoint reads a request's (small) body before it acts. */
typedef struct admin_req {
	char method[16];
	char *target;
	struct evbuffer *body;
} admin_req;

static void admin_req_free(admin_req *q)
{
	free(q->target);
	if (q->body)
		evbuffer_free(q->body);
	free(q);
}

static void admin_on_request(void *arg, lh_sx *x, const lh_head *head)
{
	(void)arg;
	admin_req *q = calloc(1, sizeof *q);
	if (q) {
		q->target = strdup(head->target ? head->target : "/");
		q->body = evbuffer_new();
	}
	if (!q || !q->target || !q->body) {
		if (q)
			admin_req_free(q);
		reply_text(x, 503, "out of memory\n");
		return;
	}
	snprintf(q->method, sizeof q->method, "%s", head->method);
	lh_sx_set_data(x, q);
}

static void admin_on_body(void *arg, lh_sx *x, struct evbuffer *chunk)
{
	(void)arg;
	admin_req *q = lh_sx_data(x);
	if (q && evbuffer_get_length(q->body) < (1u << 20))
		evbuffer_add_buffer(q->body, chunk);
}

static void admin_on_body_end(void *arg, lh_sx *x)
{
	live_proc *p = arg;
	admin_req *q = lh_sx_data(x);
	if (!q)
		return;
	lh_sx_set_data(x, NULL);
	admin_route(p, x, q->method, q->target, q->body);
	admin_req_free(q);
}

static void admin_on_abort(void *arg, lh_sx *x)
{
	(void)arg;
	admin_req *q = lh_sx_data(x);
	if (q)
		admin_req_free(q);
}

static const lh_server_cbs admin_cbs = {
	.on_request = admin_on_request,
	.on_body = admin_on_body,
	.on_body_end = admin_on_body_end,
	.on_abort = admin_on_abort,
};

/* ---- setting up ---- */

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(((live_proc *)arg)->base, NULL);
}

static int setup(live_proc *p, const char *app_addr, char *err, size_t n)
{
	const model *m = p->m;
	mesh_env *env = live_host_env(p->host);
	uint64_t seed = m->seed;
	char stream[300];
	if (p->kind == LIVE_APP || p->kind == LIVE_SIDECAR) {
		if (p->pod >= p->tp->ninst + m->nclients ||
		    (p->kind == LIVE_APP && p->pod >= p->tp->ninst)) {
			snprintf(err, n, "--pod %u: no such %s pod (the scenario has %u instances and %u clients)",
				 p->pod, p->kind == LIVE_APP ? "app" : "sidecar",
				 p->tp->ninst, m->nclients);
			return -1;
		}
	}
	uint32_t k = p->pod;
	if (p->kind == LIVE_APP) {
		uint32_t s = p->tp->pod_service[k];
		const model_service *ms = &m->services[s];
		uint32_t i = k - p->tp->first[s];
		uint32_t v = model_version_of(ms, i);
		snprintf(stream, sizeof stream, "service/%s/%u", ms->name, i);
		service_init(&p->svc, env, 2 * k, k, ms, i, &ms->versions[v].b,
			     2 * k + 1, rec_inst(p->r, s, i), seed, stream);
		p->has_svc = 1;
		live_host_add(p->host, &p->svc.base);
		if (live_host_listen(p->host, &p->svc.base, LIVE_L_APP, p->ip,
				     LIVE_PORT_APP, err, n) < 0)
			return -1;
	} else if (p->kind == LIVE_SIDECAR) {
		/* The proxy's own cost is real here: no modelled latency. */
		uint32_t s = k < p->tp->ninst ? p->tp->pod_service[k] : MODEL_CLIENTS;
		uint32_t i = k < p->tp->ninst ? k - p->tp->first[s] : k - p->tp->ninst;
		if (s == MODEL_CLIENTS)
			snprintf(stream, sizeof stream, "sidecar/client/%s", m->clients[i].name);
		else
			snprintf(stream, sizeof stream, "sidecar/%s/%u", m->services[s].name, i);
		if (sidecar_init(&p->sc, env, 2 * k + 1, k, 2 * k, s, i, &p->zero,
				 &p->mtopo, m->nservices, seed, stream) < 0) {
			snprintf(err, n, "out of memory");
			return -1;
		}
		p->has_sc = 1;
		live_host_add(p->host, &p->sc.base);
		if (app_addr) {
			char host[64];
			const char *colon = strrchr(app_addr, ':');
			if (!colon || colon == app_addr || (size_t)(colon - app_addr) >= sizeof host) {
				snprintf(err, n, "--app %s: expected HOST:PORT", app_addr);
				return -1;
			}
			memcpy(host, app_addr, (size_t)(colon - app_addr));
			host[colon - app_addr] = 0;
			live_host_set_app_addr(p->host, host, (uint16_t)atoi(colon + 1));
		}
		if (live_host_listen(p->host, &p->sc.base, LIVE_L_OUTBOUND, p->ip,
				     LIVE_PORT_OUTBOUND, err, n) < 0)
			return -1;
		if (s != MODEL_CLIENTS &&
		    live_host_listen(p->host, &p->sc.base, LIVE_L_INBOUND, p->ip,
				     LIVE_PORT_INBOUND, err, n) < 0)
			return -1;
	} else {
		p->clients = calloc(m->nclients ? m->nclients : 1, sizeof *p->clients);
		if (!p->clients) {
			snprintf(err, n, "out of memory");
			return -1;
		}
		for (uint32_t c = 0; c < m->nclients; c++) {
			uint32_t kc = p->tp->ninst + c;
			snprintf(stream, sizeof stream, "client/%s", m->clients[c].name);
			client_init(&p->clients[c], env, 2 * kc, kc, &m->clients[c], c,
				    2 * kc + 1, m->duration, seed, stream);
			live_host_add(p->host, &p->clients[c].base);
		}
	}
	uint16_t aport = p->kind == LIVE_SIDECAR ? LIVE_PORT_ADMIN : LIVE_PORT_APP_ADMIN;
	p->admin = lh_server_new(p->base, p->ip, aport, &admin_cbs, p, err, n);
	return p->admin ? 0 : -1;
}

live_proc *live_proc_new(struct event_base *base, enum live_kind kind,
			model *m, const live_topo *t, uint32_t pod, rec *r,
			uint8_t *faults_on, const char *app_addr, char *err,
			size_t errlen)
{
	live_proc *p = calloc(1, sizeof *p);
	if (!p) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	p->kind = kind;
	p->m = m;
	p->tp = t;
	p->base = base;
	p->r = r;
	p->faults_on = faults_on;
	p->pod = kind == LIVE_LOAD ? t->npods - 1 : pod;
	live_pod_ip(t, p->pod, p->ip);
	live_pod_name(t, p->pod, p->name, sizeof p->name);
	p->mtopo.first = t->first;
	p->mtopo.count = t->count;
	p->mtopo.inbound = t->inbound;
	p->zero.kind = DIST_CONSTANT;
	p->host = live_host_new(base, t, p->pod, r, faults_on);
	if (!p->host) {
		snprintf(err, errlen, "out of memory");
		live_proc_free(p);
		return NULL;
	}
	if (setup(p, app_addr, err, errlen) < 0) {
		live_proc_free(p);
		return NULL;
	}
	return p;
}

/* ---- mutual TLS ---- */

static int is_cert_fault(enum model_fault_kind k)
{
	return k == FAULT_CERT_EXPIRE || k == FAULT_CERT_NO_ROTATE ||
	       k == FAULT_CERT_FOREIGN || k == FAULT_ROOT_ROTATE ||
	       k == FAULT_MTLS_STRICT;
}

/* Switch certificate fault i for this sidecar's workload w. An
 * mtls_strict fault goes to every workload's bookkeeping: only the mode
 * changes, and this sidecar, as a caller, wants to know which callees
 * refuse plaintext now (live_env counts the refusals at both ends, as the
 * simulator does). The other workloads have no certificate here, so
 * nothing else changes for them. */
static int tls_fault(live_proc *p, uint32_t i, int on, mesh_time now, char *err,
		     size_t n)
{
	uint32_t w = p->pod, w0 = w, w1 = w + 1;
	if (p->m->faults[i].kind == FAULT_MTLS_STRICT) {
		w0 = 0;
		w1 = tls_mesh_workloads(p->tm);
	}
	return tls_mesh_fault(p->tm, i, on, now, w0, w1, NULL, err, n);
}

static mesh_time proc_now(live_proc *p)
{
	mesh_env *env = live_host_env(p->host);
	return env->ops->now(env);
}

/* Arm the renewal timer for run time `at` (MESH_NEVER: disarm). */
static void tls_arm(live_proc *p, mesh_time at)
{
	event_del(p->renew_ev);
	if (at == MESH_NEVER)
		return;
	uint64_t when = p->t0 + at, now = live_monotonic_ns();
	/* Rounded up to the microsecond: a timer that fires before the
	 * renewal is due renews nothing and has to be armed again. */
	struct timeval tv = live_timeval(when > now ? when - now + 999 : 0);
	evtimer_add(p->renew_ev, &tv);
}

/* The renewal is due: what the Istio agent does when a certificate's
 * rotation time comes (a CSR to istiod, then an SDS push to Envoy). */
static void tls_renew_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	live_proc *p = arg;
	uint32_t w = p->pod;
	mesh_time now = proc_now(p);
	mesh_time at = tls_mesh_renew_at(p->tm, w);
	if (at != MESH_NEVER && at <= now) {
		char err[512];
		int rc = tls_mesh_renew(p->tm, w, now, err, sizeof err);
		if (rc < 0) {
			/* The agent retries a failed CSR; so do we, a second
			 * later, with the certificate it has meanwhile. */
			fprintf(stderr, "meshsim agent %s: renewal at %.3fs failed: %s; "
					"trying again in 1s\n", p->name, (double)now / 1e9, err);
			tls_arm(p, now + MESH_S);
			return;
		}
		if (rc == 1 && live_host_tls_update(p->host, err, sizeof err) < 0)
			fprintf(stderr, "meshsim agent %s: after the renewal at %.3fs: %s\n",
				p->name, (double)now / 1e9, err);
		at = tls_mesh_renew_at(p->tm, w);
		if (at != MESH_NEVER && at <= now)
			at = now + MESH_MS; /* never spin on a time that does not move */
	}
	tls_arm(p, at);
}

/* The run starts: load the PKI on the run's calendar, take the first
 * certificate, apply the certificate faults already on, and hand it all
 * to the host. */
static int tls_begin(live_proc *p, int64_t epoch, char *err, size_t n)
{
	uint32_t w = p->pod;
	if (!p->pki)
		fprintf(stderr, "meshsim agent %s: no --pki: mutual TLS with a PKI of its "
				"own, which sidecars in other processes do not trust\n", p->name);
	p->renew_ev = evtimer_new(p->base, tls_renew_cb, p);
	if (!p->renew_ev) {
		snprintf(err, n, "out of memory");
		return -1;
	}
	p->tm = tls_mesh_new(p->m, p->m->seed, epoch, p->pki, p->r, err, n);
	if (!p->tm)
		goto fail;
	mesh_time now = proc_now(p);
	if (tls_mesh_has_identity(p->tm, w) && tls_mesh_start(p->tm, w, now, err, n) < 0)
		goto fail;
	for (uint32_t i = 0; i < p->m->nfaults; i++)
		if (p->faults_on[i] && is_cert_fault(p->m->faults[i].kind) &&
		    tls_fault(p, i, 1, now, err, n) < 0)
			goto fail;
	if (live_host_set_mtls(p->host, p->tm, w, err, n) < 0)
		goto fail;
	tls_arm(p, tls_mesh_renew_at(p->tm, w));
	return 0;
fail:
	tls_mesh_free(p->tm);
	p->tm = NULL;
	event_free(p->renew_ev);
	p->renew_ev = NULL;
	return -1;
}

int live_proc_set_pki(live_proc *p, const char *dir, char *err, size_t errlen)
{
	if (p->kind != LIVE_SIDECAR || !p->m->mtls.enabled)
		return 0;
	/* A trial load, on today's calendar: the real one waits for the
	 * run's t0. */
	tls_mesh *t = tls_mesh_new(p->m, p->m->seed, live_wall_ns_at(live_monotonic_ns()),
				   dir, NULL, err, errlen);
	if (!t)
		return -1;
	tls_mesh_free(t);
	char *d = strdup(dir);
	if (!d) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	free(p->pki);
	p->pki = d;
	return 0;
}

int live_proc_start(live_proc *p, uint64_t t0, int64_t epoch_ns, char *err,
		    size_t errlen)
{
	uint64_t now = live_monotonic_ns();
	live_host_set_t0(p->host, t0);
	p->t0 = t0;
	if (p->kind == LIVE_SIDECAR && p->m->mtls.enabled && !p->tm &&
	    tls_begin(p, epoch_ns ? epoch_ns : live_wall_ns_at(t0), err, errlen) < 0)
		return -1;
	p->started = 1;
	struct timeval tv = live_timeval(t0 > now ? t0 - now : 0);
	if (!p->start_ev)
		p->start_ev = evtimer_new(p->base, start_agents, p);
	event_base_update_cache_time(p->base);
	if (p->start_ev)
		evtimer_add(p->start_ev, &tv);
	return 0;
}

int live_proc_set_fault(live_proc *p, uint32_t i, int on)
{
	if (i >= p->m->nfaults)
		return -1;
	p->faults_on[i] = (uint8_t)(on != 0);
	apply_app_faults(p, i);
	live_host_faults_changed(p->host);
	if (p->tm && is_cert_fault(p->m->faults[i].kind)) {
		/* Before the run starts, the fault is applied with the first
		 * certificate (tls_begin). */
		char err[512];
		uint32_t w = p->pod;
		mesh_time now = proc_now(p);
		if (tls_fault(p, i, on, now, err, sizeof err) < 0 ||
		    live_host_tls_update(p->host, err, sizeof err) < 0) {
			fprintf(stderr, "meshsim agent %s: fault %u %s at %.3fs: %s\n", p->name,
				i, on ? "on" : "off", (double)now / 1e9, err);
			tls_arm(p, tls_mesh_renew_at(p->tm, w));
			return -2;
		}
		tls_arm(p, tls_mesh_renew_at(p->tm, w));
	}
	return 0;
}

live_host *live_proc_host(live_proc *p)
{
	return p->host;
}

void live_proc_end(live_proc *p)
{
	live_host_tls_record(p->host);
	if (!p->clients)
		return;
	p->r->overall.live_at_end = 0;
	for (uint32_t c = 0; c < p->m->nclients; c++) {
		p->r->clients[c].live_at_end = client_in_flight(&p->clients[c]);
		p->r->overall.live_at_end += p->r->clients[c].live_at_end;
	}
}

void live_proc_free(live_proc *p)
{
	if (!p)
		return;
	if (p->start_ev)
		event_free(p->start_ev);
	if (p->renew_ev)
		event_free(p->renew_ev);
	if (p->admin)
		lh_server_free(p->admin);
	live_host_free(p->host);
	tls_mesh_free(p->tm); /* after the host, which borrows it */
	free(p->pki);
	if (p->has_svc)
		service_destroy(&p->svc);
	if (p->has_sc)
		sidecar_destroy(&p->sc);
	if (p->clients)
		for (uint32_t c = 0; c < p->m->nclients; c++)
			client_destroy(&p->clients[c]);
	free(p->clients);
	free(p);
}

int live_agent_main(int argc, char **argv)
{
	if (argc < 3)
		return usage();
	enum live_kind kind;
	if (!strcmp(argv[1], "app"))
		kind = LIVE_APP;
	else if (!strcmp(argv[1], "sidecar"))
		kind = LIVE_SIDECAR;
	else if (!strcmp(argv[1], "load"))
		kind = LIVE_LOAD;
	else
		return usage();
	const char *file = argv[2], *app_addr = NULL, *pki = NULL;
	long net = -1, pod = -1;
	int has_seed = 0;
	uint64_t seed = 0;
	mesh_time duration = 0;
	for (int i = 3; i < argc; i += 2) {
		const char *a = argv[i];
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		if (!v)
			return usage();
		if (!strcmp(a, "--net")) {
			net = strtol(v, NULL, 10);
		} else if (!strcmp(a, "--pod")) {
			pod = strtol(v, NULL, 10);
		} else if (!strcmp(a, "--seed")) {
			seed = strtoull(v, NULL, 10);
			has_seed = 1;
		} else if (!strcmp(a, "--duration")) {
			if (scn_parse_duration(v, &duration) < 0) {
				fprintf(stderr, "meshsim agent: --duration %s: expected a duration such as 30s\n", v);
				return 2;
			}
		} else if (!strcmp(a, "--app")) {
			app_addr = v;
		} else if (!strcmp(a, "--pki")) {
			pki = v;
		} else {
			return usage();
		}
	}
	if (net < 1 || net > 254 || (kind != LIVE_LOAD && pod < 0)) {
		fprintf(stderr, "meshsim agent: --net B (1..254) is required, and --pod P for an app or a sidecar\n");
		return 2;
	}
	/* Die with the orchestrator, even if it is killed. The orchestrator
	 * sets SIGKILL between fork and exec; a manual start gets SIGTERM. */
	int pdeath = 0;
	if (prctl(PR_GET_PDEATHSIG, &pdeath) == 0 && pdeath == 0)
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	signal(SIGPIPE, SIG_IGN);

	scn_errors e = {0};
	model *m = scn_load_file(file, &e);
	if (!m) {
		for (size_t i = 0; i < e.n; i++)
			fprintf(stderr, "%s\n", e.msg[i]);
		scn_errors_free(&e);
		return 2;
	}
	if (has_seed)
		m->seed = seed;
	if (duration)
		m->duration = duration;
	int status = 1;
	char err[512] = "out of memory";
	live_topo topo = {0};
	rec *r = NULL;
	uint8_t *faults_on = NULL;
	struct event_base *base = NULL;
	live_proc *p = NULL;
	struct event *sigs[3] = {NULL, NULL, NULL};
	if (live_topo_init(&topo, m, (unsigned)net) < 0)
		goto out;
	if (kind != LIVE_LOAD && (unsigned long)pod >= topo.npods - 1) {
		snprintf(err, sizeof err, "--pod %ld: the scenario has pods 0..%u",
			 pod, topo.npods - 2);
		status = 2;
		goto out;
	}
	r = rec_new(m);
	faults_on = calloc(m->nfaults + 1, 1);
	struct event_config *cfg = event_config_new();
	if (cfg) {
		/* Timers to the microsecond (timerfd), not epoll's milliseconds:
		 * service times of a few ms must not be rounded up. */
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		base = event_base_new_with_config(cfg);
		event_config_free(cfg);
	}
	if (!r || !faults_on || !base)
		goto out;
	rec_keep_seconds(r);
	p = live_proc_new(base, kind, m, &topo, (uint32_t)pod, r, faults_on,
			  app_addr, err, sizeof err);
	if (!p)
		goto out;
	if (pki) {
		char e2[400];
		if (live_proc_set_pki(p, pki, e2, sizeof e2) < 0) {
			snprintf(err, sizeof err, "the mesh PKI (--pki): %s", e2);
			goto out;
		}
	}
	int signo[3] = {SIGTERM, SIGINT, SIGHUP};
	for (int i = 0; i < 3; i++) {
		sigs[i] = evsignal_new(base, signo[i], on_signal, p);
		if (sigs[i])
			event_add(sigs[i], NULL);
	}
	fprintf(stderr, "meshsim agent %s %s: ready on %s (pid %d)\n", argv[1],
		p->name, p->ip, (int)getpid());
	event_base_dispatch(base);
	status = 0;
out:
	if (status)
		fprintf(stderr, "meshsim agent %s: %s\n", argv[1], err);
	for (int i = 0; i < 3; i++)
		if (sigs[i])
			event_free(sigs[i]);
	live_proc_free(p);
	/* libevent frees bufferevents through finalizers that run in the
	 * loop: one more turn lets them run before the base goes. */
	if (base) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		event_base_free(base);
	}
	rec_free(r);
	free(faults_on);
	live_topo_destroy(&topo);
	model_free(m);
	return status;
}
