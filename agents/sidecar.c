#include "sidecar.h"

#include <assert.h>
#include <stdlib.h>

#include "model.h"
#include "rec.h"

typedef struct sc_req {
	pool_hdr h;
	uint8_t outbound;   /* 1: our app's call; 0: a remote caller's */
	uint32_t peer;      /* who to answer */
	uint32_t route;
	uint64_t peer_tag;  /* the tag to echo to peer */
	uint64_t req_id;
	mesh_time start;
} sc_req;

static mesh_time proc_time(sidecar *sc)
{
	return sc->latency_zero ? 0 : dist_sample(sc->latency, &sc->rng);
}

/* Answer a request we cannot forward, without it leaving the sidecar. */
static void reply_local(sidecar *sc, const mesh_msg *req, unsigned status)
{
	mesh_msg r = {.kind = MESH_RESP, .status = (uint16_t)status,
		      .route = req->route, .from = sc->base.id, .tag = req->tag,
		      .req_id = req->req_id};
	sc->base.env->ops->send(sc->base.env, &sc->base, req->from, &r,
				proc_time(sc));
}

static void on_request(sidecar *sc, const mesh_msg *m)
{
	mesh_env *env = sc->base.env;
	int outbound = m->from == sc->app;
	uint32_t to;

	if (outbound) {
		uint32_t svc = env->model->routes[m->route].service;
		uint32_t n = sc->topo->count[svc];
		assert(n > 0);
		uint32_t k = sc->rr[svc];
		sc->rr[svc] = k + 1 == n ? 0 : k + 1;
		to = sc->topo->inbound[sc->topo->first[svc] + k];
	} else {
		to = sc->app;
	}

	sc_req *q;
	uint32_t i = pool_alloc(&sc->pending, (void **)&q);
	if (i == POOL_NONE) {
		/* Out of memory: the request fails visibly rather than
		 * vanishing, like an overloaded proxy's local reply. */
		reply_local(sc, m, 503);
		return;
	}
	q->outbound = (uint8_t)outbound;
	q->peer = m->from;
	q->route = m->route;
	q->peer_tag = m->tag;
	q->req_id = m->req_id;
	q->start = mesh_now(env);
	if (outbound)
		rec_route_issued(env->rec, m->route, q->start);

	mesh_msg f = *m;
	f.from = sc->base.id;
	f.tag = pool_tag(&sc->pending, i);
	env->ops->send(env, &sc->base, to, &f, proc_time(sc));
}

static void on_response(sidecar *sc, const mesh_msg *m)
{
	mesh_env *env = sc->base.env;
	uint32_t i;
	sc_req *q = pool_lookup(&sc->pending, m->tag, &i);
	if (!q)
		return; /* nothing waits for it any more */
	if (q->outbound) {
		enum mesh_outcome o = m->status >= 200 && m->status < 300
					      ? MESH_OK
					      : MESH_HTTP_ERROR;
		rec_route_done(env->rec, q->route, q->start, mesh_now(env), o,
			       m->status);
	}
	mesh_msg r = *m;
	r.from = sc->base.id;
	r.tag = q->peer_tag;
	uint32_t peer = q->peer;
	pool_free(&sc->pending, i);
	env->ops->send(env, &sc->base, peer, &r, proc_time(sc));
}

static void sidecar_on_msg(mesh_agent *self, const mesh_msg *m)
{
	sidecar *sc = (sidecar *)self;
	if (m->kind == MESH_REQ)
		on_request(sc, m);
	else
		on_response(sc, m);
}

static const mesh_agent_ops sidecar_ops = {.on_msg = sidecar_on_msg};

int sidecar_init(sidecar *sc, mesh_env *env, uint32_t id, uint32_t pod,
		 uint32_t app, const dist *latency, const mesh_topo *topo,
		 uint32_t nservices, uint64_t seed, const char *stream)
{
	sc->base.ops = &sidecar_ops;
	sc->base.env = env;
	sc->base.id = id;
	sc->base.pod = pod;
	sc->app = app;
	sc->latency = latency;
	sc->latency_zero = dist_is_zero(latency);
	sc->topo = topo;
	sc->nservices = nservices;
	rng_stream(&sc->rng, seed, stream);
	pool_init(&sc->pending, sizeof(sc_req));
	sc->rr = calloc(nservices ? nservices : 1, sizeof *sc->rr);
	if (!sc->rr)
		return -1;
	/* Each cursor starts from a hash of (this sidecar's stream, the
	 * service's name), not from a draw: so adding a service changes
	 * neither the other cursors nor this sidecar's draws. */
	for (uint32_t s = 0; s < nservices; s++)
		if (topo->count[s]) {
			uint64_t x = sc->rng.s[0] ^
				     rng_hash(env->model->services[s].name);
			sc->rr[s] = (uint32_t)(rng_splitmix64(&x) %
					       topo->count[s]);
		}
	return 0;
}

void sidecar_destroy(sidecar *sc)
{
	free(sc->rr);
	sc->rr = NULL;
	pool_destroy(&sc->pending);
}
