#include "sim.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "netfault.h"
#include "rng.h"
#include "service.h"
#include "sidecar.h"
#include "sim_rollout.h"
#include "sim_tls.h"

/* Events live in chunks that never move, addressed by index; freed events
 * go on a free list and their generation changes, so a stale timer handle
 * cancels nothing. */
#define EV_CHUNK_BITS 12
#define EV_CHUNK (1u << EV_CHUNK_BITS)

enum ev_kind { EV_TIMER = 1, EV_MSG, EV_FAULT };

typedef struct sim_event {
	sim_heap_node node;
	uint32_t gen;
	uint32_t self;         /* this event's index */
	uint32_t next_free;
	uint8_t kind;
	mesh_agent *agent;     /* timer owner, or message destination */
	mesh_timer_fn fn;
	uint64_t arg;
	mesh_msg msg;
} sim_event;

struct sim {
	mesh_env env;          /* first: agents see &s->env */
	const model *m;
	uint64_t seed;
	sim_heap heap;
	mesh_time now;
	mesh_time end;         /* duration + drain */
	int failed;            /* ran out of memory */
	int stalled;           /* virtual time stopped advancing */
	/* The event being run is still at the top of the heap: the first
	 * event it schedules takes its slot in one sift (most events
	 * schedule exactly one), and if it schedules none it is popped
	 * after it returns. */
	int top_done;

	sim_event **chunks;
	uint32_t nchunks, nevents, free_head;
	uint64_t processed;

	mesh_agent **agents;   /* by id */
	rng *net;              /* per agent: its outgoing hop latencies */
	uint32_t nagents;
	int net_zero, local_zero;

	service_agent *svcs;
	sidecar *scs;
	client_agent *clients;
	uint32_t ninst, nscs;
	uint32_t *topo_first, *topo_count, *topo_inbound;
	mesh_topo topo;
	uint32_t *pod_service;  /* a pod's service, or MODEL_CLIENTS */
	uint32_t *pod_instance; /* its instance in the service (or client) */
	uint8_t *faults_on;     /* [nfaults] */
	netfault_state nf;      /* the network's faults; senders are agents */
	uint32_t *crashes;      /* [ninst] crash faults holding it down */
	uint32_t *pauses;       /* [ninst] pause faults holding it stopped */
	int any_net_fault;      /* a partition, network or bandwidth fault
				 * is on */

	sim_progress_fn progress;
	void *progress_arg;
	sim_rollout *ro;        /* the scenario's rollout, or NULL */
	/* Mutual TLS (an "mtls" block), or NULL; its renewals run on one
	 * timer owned by tls_agent. */
	sim_tls *tls;
	mesh_agent tls_agent;
	uint64_t tls_timer;
	mesh_time tls_timer_at;
	char err[512];          /* why sim_run failed, if not for memory */
};

static inline sim_event *ev_at(sim *s, uint32_t i)
{
	return &s->chunks[i >> EV_CHUNK_BITS][i & (EV_CHUNK - 1)];
}

static sim_event *ev_alloc(sim *s, uint32_t *index)
{
	uint32_t i = s->free_head;
	if (i != UINT32_MAX) {
		sim_event *e = ev_at(s, i);
		s->free_head = e->next_free;
		*index = i;
		return e;
	}
	if ((s->nevents >> EV_CHUNK_BITS) == s->nchunks) {
		sim_event **c = realloc(s->chunks, (s->nchunks + 1) * sizeof *c);
		if (!c)
			return NULL;
		s->chunks = c;
		c[s->nchunks] = calloc(EV_CHUNK, sizeof(sim_event));
		if (!c[s->nchunks])
			return NULL;
		for (uint32_t k = 0; k < EV_CHUNK; k++) {
			c[s->nchunks][k].node.index = SIM_HEAP_NONE;
			c[s->nchunks][k].self = s->nchunks * EV_CHUNK + k;
		}
		s->nchunks++;
	}
	i = s->nevents++;
	*index = i;
	return ev_at(s, i);
}

static void ev_release(sim *s, sim_event *e)
{
	e->gen++;
	e->next_free = s->free_head;
	s->free_head = e->self;
}

/* Schedule e at its key. */
static int ev_push(sim *s, sim_event *e)
{
	if (s->top_done) {
		s->top_done = 0;
		return sim_heap_replace_top(&s->heap, &e->node);
	}
	return sim_heap_push(&s->heap, &e->node);
}

/* ---- the environment ---- */

static mesh_time env_now(mesh_env *env)
{
	return ((sim *)env)->now;
}

static uint64_t env_timer_start(mesh_env *env, mesh_time delay,
				mesh_agent *agent, mesh_timer_fn fn,
				uint64_t arg)
{
	sim *s = (sim *)env;
	uint32_t i;
	sim_event *e = ev_alloc(s, &i);
	if (!e || s->now + delay < s->now) {
		s->failed = 1;
		return 0;
	}
	e->kind = EV_TIMER;
	e->agent = agent;
	e->fn = fn;
	e->arg = arg;
	e->node.key = s->now + delay;
	if (ev_push(s, e) < 0) {
		ev_release(s, e);
		s->failed = 1;
		return 0;
	}
	return ((uint64_t)e->gen << 32) | ((uint64_t)i + 1);
}

static void env_timer_cancel(mesh_env *env, uint64_t handle)
{
	sim *s = (sim *)env;
	uint32_t i = (uint32_t)handle;
	if (i == 0 || i > s->nevents)
		return;
	sim_event *e = ev_at(s, i - 1);
	if (e->gen != (uint32_t)(handle >> 32) || e->kind != EV_TIMER ||
	    !sim_heap_contains(&e->node))
		return;
	sim_heap_remove(&s->heap, &e->node);
	ev_release(s, e);
}

/* Deliver m to agent `to` after `after` ns, with no hop added. */
static void sim_event_post(sim *s, mesh_agent *to, const mesh_msg *m,
			   mesh_time after)
{
	uint32_t i;
	sim_event *e = ev_alloc(s, &i);
	if (!e) {
		s->failed = 1;
		return;
	}
	e->kind = EV_MSG;
	e->agent = to;
	e->msg = *m;
	e->node.key = s->now + after;
	if (ev_push(s, e) < 0) {
		ev_release(s, e);
		s->failed = 1;
	}
}

static int net_faults(sim *s, mesh_agent *from, mesh_agent *dst,
		      const mesh_msg *m, mesh_time delay, mesh_time *hop);

static int tls_hop(sim *s, mesh_agent *from, mesh_agent *dst,
		   const mesh_msg *m, mesh_time *delay, mesh_msg *out);

static void env_send(mesh_env *env, mesh_agent *from, uint32_t to,
		     const mesh_msg *m, mesh_time delay)
{
	sim *s = (sim *)env;
	assert(to < s->nagents);
	mesh_agent *dst = s->agents[to];
	mesh_time hop = 0;
	mesh_msg tm;
	int tls = s->tls && dst->pod != from->pod && (from->id & 1) && (dst->id & 1);
	/* Sidecar to sidecar under mutual TLS: an answer frees its
	 * connection (whether or not the network then delivers it). */
	if (tls && m->kind == MESH_RESP)
		sim_tls_response(s->tls, dst->pod, from->pod, m->tag);
	/* A request takes a connection: a kept one, or a new one and its
	 * handshake, before the network carries it (its bandwidth, its
	 * losses). One a partition refuses gets no connection, as live
	 * mode's connect fails first: net_faults refuses it below. */
	if (tls && m->kind == MESH_REQ &&
	    !(s->any_net_fault &&
	      netfault_cut(s->m, s->faults_on, s->pod_service[from->pod],
			   s->pod_service[dst->pod], m))) {
		if (tls_hop(s, from, dst, m, &delay, &tm))
			return;
		m = &tm;
	}
	if (dst->pod == from->pod) {
		if (!s->local_zero)
			hop = dist_sample(&s->m->local_latency, &s->net[from->id]);
	} else {
		if (!s->net_zero)
			hop = dist_sample(&s->m->net_latency, &s->net[from->id]);
		if (s->any_net_fault && net_faults(s, from, dst, m, delay, &hop))
			return;
	}
	uint32_t i;
	sim_event *e = ev_alloc(s, &i);
	if (!e) {
		s->failed = 1;
		return;
	}
	e->kind = EV_MSG;
	e->agent = dst;
	e->msg = *m;
	e->node.key = s->now + delay + hop;
	if (ev_push(s, e) < 0) {
		ev_release(s, e);
		s->failed = 1;
	}
}

/* Faults of the network between two pods (agents/netfault.c decides).
 * Returns 1 when the message does not arrive; adds to *hop what delays it.
 * A request refused by a cut is answered by the host, as a failed connect
 * is reported by the caller's own kernel. */
static int net_faults(sim *s, mesh_agent *from, mesh_agent *dst,
		      const mesh_msg *m, mesh_time delay, mesh_time *hop)
{
	enum netfault_verdict v =
		netfault_hop(&s->nf, s->m, s->faults_on, s->env.rec, from->id,
			     s->pod_service[from->pod], s->pod_service[dst->pod],
			     m, &s->net[from->id], s->now + delay, 1, hop);
	if (v == NETFAULT_PASS)
		return 0;
	if (v == NETFAULT_REFUSE) {
		mesh_msg r;
		mesh_time ct = netfault_refusal(s->m, m, dst->id, &r);
		sim_event_post(s, from, &r, delay + ct);
	}
	return 1;
}

/* A request from one sidecar to another's inbound, under mutual TLS
 * (sim_tls.h): on a kept connection, or on a new one whose handshake costs
 * a round trip and CPU, or that fails. Returns 1 when the request does not
 * go (the caller gets its 503 answer); else 0 with *out the request to
 * send (the caller's identity as its connection carries it) and *delay
 * grown by the handshake. */
static int tls_hop(sim *s, mesh_agent *from, mesh_agent *dst,
		   const mesh_msg *m, mesh_time *delay, mesh_msg *out)
{
	mesh_time rtt = 0, more = 0;
	uint32_t src = 0;
	if (!s->net_zero) {
		uint32_t o, b;
		sim_tls_conns(s->tls, from->pod, dst->pod, &o, &b);
		if (b >= o)
			rtt = dist_sample(&s->m->net_latency, &s->net[from->id]) +
			      dist_sample(&s->m->net_latency, &s->net[from->id]);
	}
	int v = sim_tls_request(s->tls, from->pod, dst->pod,
				s->pod_service[dst->pod], m->tag, s->now + *delay,
				rtt, &more, &src);
	if (v < 0) {
		s->failed = 1;
		return 1;
	}
	if (v != SIM_TLS_SEND) {
		mesh_msg r = {.kind = MESH_RESP, .status = 503, .route = m->route,
			      .from = dst->id, .tag = m->tag, .req_id = m->req_id,
			      .flags = v == SIM_TLS_FAIL_UF ? MESH_RF_UF : MESH_RF_UR};
		sim_event_post(s, from, &r, *delay + more);
		return 1;
	}
	*out = *m;
	out->src = src;
	*delay += more;
	return 0;
}

/* The caller's sidecar gave up on a try: Envoy resets the stream, and the
 * HTTP/1.1 connection under it closes. Only mutual TLS keeps count of
 * connections; the callee works on regardless. */
static void env_abandon(mesh_env *env, mesh_agent *from, uint32_t to,
			uint64_t tag)
{
	sim *s = (sim *)env;
	if (s->tls && to < s->nagents)
		sim_tls_abandon(s->tls, from->pod, s->agents[to]->pod, tag);
}

static const mesh_env_ops sim_env_ops = {
	.now = env_now,
	.timer_start = env_timer_start,
	.timer_cancel = env_timer_cancel,
	.send = env_send,
	.abandon = env_abandon,
};

/* ---- building the mesh ---- */

/* Agent `id`'s outgoing hops draw from a stream named after the agent, so
 * adding an entity reshuffles no one else's latencies. */
static void seed_net(sim *s, uint32_t id, const char *name)
{
	char buf[300];
	snprintf(buf, sizeof buf, "net/%s", name);
	rng_stream(&s->net[id], s->seed, buf);
}

sim *sim_new(const model *m, uint64_t seed, rec *r)
{
	sim *s = calloc(1, sizeof *s);
	if (!s)
		return NULL;
	s->env.ops = &sim_env_ops;
	s->env.rec = r;
	s->env.model = m;
	s->m = m;
	s->seed = seed;
	s->end = m->duration + m->drain;
	s->free_head = UINT32_MAX;
	sim_heap_init(&s->heap);
	s->net_zero = dist_is_zero(&m->net_latency);
	s->local_zero = dist_is_zero(&m->local_latency);
	/* A rollout rewrites the split weights the sidecars read: they read
	 * its copy of the model. */
	if (sim_rollout_new(m, r, &s->ro) < 0)
		goto fail;
	if (s->ro)
		s->env.model = sim_rollout_model(s->ro);

	for (uint32_t i = 0; i < m->nservices; i++)
		s->ninst += m->services[i].replicas;
	s->nscs = s->ninst + m->nclients;
	s->nagents = 2 * s->ninst + 2 * m->nclients;

	s->svcs = calloc(s->ninst ? s->ninst : 1, sizeof *s->svcs);
	s->scs = calloc(s->nscs ? s->nscs : 1, sizeof *s->scs);
	s->clients = calloc(m->nclients ? m->nclients : 1, sizeof *s->clients);
	s->agents = calloc(s->nagents ? s->nagents : 1, sizeof *s->agents);
	s->net = calloc(s->nagents ? s->nagents : 1, sizeof *s->net);
	s->topo_first = calloc(m->nservices + 1, sizeof(uint32_t));
	s->topo_count = calloc(m->nservices + 1, sizeof(uint32_t));
	s->topo_inbound = calloc(s->ninst + 1, sizeof(uint32_t));
	s->pod_service = calloc(s->nscs + 1, sizeof(uint32_t));
	s->pod_instance = calloc(s->nscs + 1, sizeof(uint32_t));
	s->faults_on = calloc(m->nfaults + 1, 1);
	s->crashes = calloc(s->ninst + 1, sizeof *s->crashes);
	s->pauses = calloc(s->ninst + 1, sizeof *s->pauses);
	if (!s->svcs || !s->scs || !s->clients || !s->agents || !s->net ||
	    !s->topo_first || !s->topo_count || !s->topo_inbound ||
	    !s->pod_service || !s->pod_instance || !s->faults_on ||
	    !s->crashes || !s->pauses || netfault_init(&s->nf, m, s->nagents) < 0)
		goto fail;
	s->env.faults_on = s->faults_on;
	s->topo.first = s->topo_first;
	s->topo.count = s->topo_count;
	s->topo.inbound = s->topo_inbound;

	/* Agent ids: instance k of the mesh is app 2k and sidecar 2k+1; the
	 * clients follow the same way. Pods number the pairs. */
	char name[256];
	uint32_t k = 0, nsc = 0;
	/* The whole topology first: every sidecar sizes its view of every
	 * cluster when it is made. */
	for (uint32_t i = 0; i < m->nservices; i++) {
		s->topo_first[i] = k;
		s->topo_count[i] = m->services[i].replicas;
		for (uint32_t j = 0; j < m->services[i].replicas; j++)
			s->topo_inbound[k + j] = 2 * (k + j) + 1;
		k += m->services[i].replicas;
	}
	k = 0;
	for (uint32_t i = 0; i < m->nservices; i++) {
		for (uint32_t j = 0; j < m->services[i].replicas; j++, k++) {
			uint32_t app = 2 * k, sc = 2 * k + 1;
			s->topo_inbound[k] = sc;
			const model_service *ms = &m->services[i];
			uint32_t v = model_version_of(ms, j);
			s->pod_service[k] = i;
			s->pod_instance[k] = j;
			snprintf(name, sizeof name, "service/%s/%u", ms->name, j);
			service_init(&s->svcs[k], &s->env, app, k, ms, j,
				     &ms->versions[v].b, sc, rec_inst(r, i, j),
				     seed, name);
			s->agents[app] = &s->svcs[k].base;
			seed_net(s, app, name);
			snprintf(name, sizeof name, "sidecar/%s/%u",
				 m->services[i].name, j);
			if (sidecar_init(&s->scs[nsc], &s->env, sc, k, app, i,
					 j, &ms->sidecar_latency, &s->topo,
					 m->nservices, seed, name) < 0)
				goto fail;
			s->agents[sc] = &s->scs[nsc++].base;
			seed_net(s, sc, name);
		}
	}
	for (uint32_t i = 0; i < m->nclients; i++, k++) {
		uint32_t app = 2 * k, sc = 2 * k + 1;
		s->pod_service[k] = MODEL_CLIENTS;
		s->pod_instance[k] = i;
		snprintf(name, sizeof name, "client/%s", m->clients[i].name);
		client_init(&s->clients[i], &s->env, app, k, &m->clients[i], i,
			    sc, m->duration, seed, name);
		s->agents[app] = &s->clients[i].base;
		seed_net(s, app, name);
		snprintf(name, sizeof name, "sidecar/client/%s",
			 m->clients[i].name);
		if (sidecar_init(&s->scs[nsc], &s->env, sc, k, app,
				 MODEL_CLIENTS, i, &m->clients[i].sidecar_latency,
				 &s->topo, m->nservices, seed, name) < 0)
			goto fail;
		s->agents[sc] = &s->scs[nsc++].base;
		seed_net(s, sc, name);
	}
	if (m->mtls.enabled) {
		/* A PKI that cannot be made (a plug-in CA's files) fails the
		 * run, with the reason in sim_error. */
		s->tls = sim_tls_new(m, seed, r, s->ninst, s->faults_on, s->err,
				     sizeof s->err);
		if (!s->tls)
			s->failed = 1;
		s->tls_agent.env = &s->env;
		s->tls_agent.id = UINT32_MAX;
		s->tls_agent.pod = UINT32_MAX;
	}
	return s;
fail:
	sim_free(s);
	return NULL;
}

void sim_free(sim *s)
{
	if (!s)
		return;
	sim_tls_free(s->tls);
	if (s->svcs)
		for (uint32_t i = 0; i < s->ninst; i++)
			service_destroy(&s->svcs[i]);
	if (s->scs)
		for (uint32_t i = 0; i < s->nscs; i++)
			sidecar_destroy(&s->scs[i]);
	if (s->clients)
		for (uint32_t i = 0; i < s->m->nclients; i++)
			client_destroy(&s->clients[i]);
	for (uint32_t i = 0; i < s->nchunks; i++)
		free(s->chunks[i]);
	free(s->chunks);
	sim_heap_free(&s->heap);
	free(s->svcs);
	free(s->scs);
	free(s->clients);
	free(s->agents);
	free(s->net);
	free(s->topo_first);
	free(s->topo_count);
	free(s->topo_inbound);
	free(s->pod_service);
	free(s->pod_instance);
	free(s->faults_on);
	netfault_destroy(&s->nf);
	free(s->crashes);
	free(s->pauses);
	sim_rollout_free(s->ro);
	free(s);
}

void sim_set_progress(sim *s, sim_progress_fn fn, void *arg)
{
	s->progress = fn;
	s->progress_arg = arg;
}

uint32_t sim_event_slots(const sim *s)
{
	return s->nevents;
}

uint64_t sim_events(const sim *s)
{
	return s->processed;
}

mesh_time sim_now(const sim *s)
{
	return s->now;
}

static void stop_now(void *arg)
{
	sim *s = arg;
	s->end = s->now;
}

const char *sim_error(const sim *s)
{
	return s->err[0] ? s->err : NULL;
}

/* Mutual TLS: one timer at the earliest renewal due. */
static void tls_renewal(mesh_agent *a, uint64_t arg);

static void tls_arm(sim *s)
{
	mesh_time at = sim_tls_next_renewal(s->tls);
	if (at == s->tls_timer_at && s->tls_timer)
		return;
	env_timer_cancel(&s->env, s->tls_timer);
	s->tls_timer = 0;
	s->tls_timer_at = at;
	if (at == MESH_NEVER || at > s->end)
		return;
	s->tls_timer = env_timer_start(&s->env, at > s->now ? at - s->now : 0,
				       &s->tls_agent, tls_renewal, 0);
}

static void tls_renewal(mesh_agent *a, uint64_t arg)
{
	(void)arg;
	sim *s = (sim *)a->env;
	s->tls_timer = 0;
	if (sim_tls_renew_due(s->tls, s->now, s->err, sizeof s->err) < 0) {
		s->failed = 1;
		return;
	}
	tls_arm(s);
}

void sim_stop_at_decision(sim *s)
{
	if (s->ro)
		sim_rollout_on_decided(s->ro, stop_now, s);
}

/* Switch fault i on or off. Faults that live in the agents (delay, abort,
 * blackhole) and in the network are flags the agents and env_send read;
 * crashes, pauses and capacity drops act on the instances they target. */
static void fault_switch(sim *s, uint32_t i, int on)
{
	const model *m = s->m;
	const model_fault *f = &m->faults[i];
	s->faults_on[i] = (uint8_t)on;
	s->any_net_fault = netfault_any_on(m, s->faults_on);
	if (s->tls) {
		if (sim_tls_fault(s->tls, i, on, s->now, s->err, sizeof s->err) < 0)
			s->failed = 1;
		else
			tls_arm(s);
	}
	if (f->kind != FAULT_CRASH && f->kind != FAULT_CAPACITY &&
	    f->kind != FAULT_PAUSE)
		return;
	const model_service *ms = &m->services[f->service];
	for (uint32_t j = 0; j < ms->replicas; j++) {
		if (!model_fault_targets(m, f, f->service, j))
			continue;
		uint32_t k = s->topo_first[f->service] + j;
		if (f->kind == FAULT_CRASH) {
			/* Overlapping crashes: down from the first start to the
			 * last end. */
			if (on && s->crashes[k]++ == 0) {
				service_crash(&s->svcs[k]);
				sidecar_app_down(&s->scs[k], 1);
			} else if (!on && --s->crashes[k] == 0) {
				service_restart(&s->svcs[k]);
				sidecar_app_down(&s->scs[k], 0);
			}
		} else if (f->kind == FAULT_PAUSE) {
			/* Overlapping pauses: stopped from the first start to
			 * the last end. Only the app stops (live mode sends
			 * its process SIGSTOP): its sidecar, another process,
			 * keeps forwarding to it. */
			if (on) {
				/* What the app holds now is stopped by this
				 * fault, also when another one stopped it
				 * first. */
				for (uint32_t n = service_holding(&s->svcs[k]); n; n--)
					rec_fault_hit(s->env.rec, i);
				if (s->pauses[k]++ == 0)
					service_pause(&s->svcs[k], 1);
			} else if (--s->pauses[k] == 0) {
				service_pause(&s->svcs[k], 0);
			}
		} else {
			/* Overlapping capacity faults: the strongest of those on
			 * applies, and when one ends the others still hold. */
			double slow = 1.0;
			uint32_t removed = 0;
			for (uint32_t x = 0; x < m->nfaults; x++) {
				const model_fault *g = &m->faults[x];
				if (!s->faults_on[x] || g->kind != FAULT_CAPACITY ||
				    !model_fault_targets(m, g, f->service, j))
					continue;
				if (g->slowdown > slow)
					slow = g->slowdown;
				if (g->workers_removed > removed)
					removed = g->workers_removed;
			}
			service_set_capacity(&s->svcs[k], slow, removed);
		}
	}
}

static int post_fault(sim *s, mesh_time at, uint64_t arg)
{
	uint32_t i;
	sim_event *e = ev_alloc(s, &i);
	if (!e)
		return -1;
	e->kind = EV_FAULT;
	e->agent = NULL;
	e->arg = arg;
	e->node.key = at;
	if (sim_heap_push(&s->heap, &e->node) < 0) {
		ev_release(s, e);
		return -1;
	}
	return 0;
}

int sim_run(sim *s)
{
	/* The fault schedule goes in first, so that a fault at time 0 is on
	 * before the first request. */
	for (uint32_t i = 0; i < s->m->nfaults; i++) {
		const model_fault *f = &s->m->faults[i];
		if (post_fault(s, f->start, (uint64_t)i << 1 | 1) < 0 ||
		    (f->end != MESH_NEVER && post_fault(s, f->end, (uint64_t)i << 1) < 0))
			return -1;
	}
	if (s->failed)
		return -1; /* sim_new could not make the PKI */
	if (s->tls) {
		if (sim_tls_start(s->tls, 0, s->err, sizeof s->err) < 0)
			return -1;
		tls_arm(s);
	}
	if (s->ro && sim_rollout_start(s->ro, &s->env) < 0)
		return -1;
	for (uint32_t a = 0; a < s->nagents; a++)
		if (s->agents[a]->ops->start)
			s->agents[a]->ops->start(s->agents[a]);

	mesh_time last = 0;
	uint64_t same_time = 0;
	for (;;) {
		sim_heap_node *n = sim_heap_peek(&s->heap);
		if (!n || n->key > s->end || s->failed)
			break;
		sim_event *e = (sim_event *)n;
		/* A loop that costs no time (a closed-loop client with no
		 * think time over a path with no latency) would spin forever
		 * at one instant; no real scenario has this many events at
		 * the same nanosecond. */
		if (n->key == s->now && ++same_time > SIM_STALL_EVENTS) {
			s->stalled = 1;
			break;
		}
		if (n->key != s->now)
			same_time = 0;
		s->now = n->key;
		last = s->now;
		s->processed++;
		/* The event stays at the top while it runs (see top_done);
		 * its record is free for reuse at once. */
		s->top_done = 1;
		if (e->kind == EV_TIMER) {
			mesh_agent *a = e->agent;
			mesh_timer_fn fn = e->fn;
			uint64_t arg = e->arg;
			ev_release(s, e);
			fn(a, arg);
		} else if (e->kind == EV_MSG) {
			mesh_msg msg = e->msg;
			mesh_agent *a = e->agent;
			ev_release(s, e);
			a->ops->on_msg(a, &msg);
		} else {
			uint64_t arg = e->arg;
			ev_release(s, e);
			fault_switch(s, (uint32_t)(arg >> 1), (int)(arg & 1));
		}
		if (s->top_done) {
			s->top_done = 0;
			sim_heap_pop(&s->heap);
		}
		if (s->progress && (s->processed & ((1u << 20) - 1)) == 0)
			s->progress(s->progress_arg, s->now, s->processed,
				    s->env.rec->overall.issued);
	}
	if (s->stalled)
		return -2; /* now stays where time stopped, for the message */
	mesh_time end = last > s->m->duration ? last : s->m->duration;
	if (end > s->end)
		end = s->end;
	s->now = end;
	/* Count what the agents still hold, for the report's cross-check
	 * against the recorder's issued-minus-ended. */
	rec *r = s->env.rec;
	r->events = s->processed;
	r->overall.live_at_end = 0;
	for (uint32_t i = 0; i < s->m->nclients; i++) {
		r->clients[i].live_at_end = client_in_flight(&s->clients[i]);
		r->overall.live_at_end += r->clients[i].live_at_end;
	}
	if (s->ro)
		sim_rollout_finish(s->ro);
	rec_finish(r, end);
	return s->failed ? -1 : s->stalled ? -2 : 0;
}
