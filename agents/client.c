#include "client.h"

#include <assert.h>
#include <math.h>

#include "rec.h"

typedef struct cl_req {
	pool_hdr h;
	mesh_time intended;
	uint64_t timer;
	uint32_t user;
} cl_req;

static void send_one(client_agent *c, mesh_time intended, uint32_t user);
static void user_think(client_agent *c, uint32_t user);

static void timed_out(mesh_agent *self, uint64_t tag)
{
	client_agent *c = (client_agent *)self;
	mesh_env *env = c->base.env;
	uint32_t i;
	cl_req *q = pool_lookup(&c->reqs, tag, &i);
	assert(q);
	rec_client_done(env->rec, c->index, q->intended, mesh_now(env),
			MESH_TIMEOUT, 0);
	uint32_t user = q->user;
	pool_free(&c->reqs, i);
	/* The client hangs up, so its sidecar stops working on it (Envoy
	 * resets the upstream request when the downstream goes away). */
	mesh_msg x = {.kind = MESH_CANCEL, .from = c->base.id, .tag = tag};
	env->ops->send(env, &c->base, c->sidecar, &x, 0);
	if (c->def->kind == CLIENT_CLOSED)
		user_think(c, user);
}

static void on_response(client_agent *c, const mesh_msg *m)
{
	mesh_env *env = c->base.env;
	uint32_t i;
	cl_req *q = pool_lookup(&c->reqs, m->tag, &i);
	if (!q)
		return; /* it timed out already; the late answer is dropped */
	if (q->timer)
		env->ops->timer_cancel(env, q->timer);
	enum mesh_outcome o = mesh_classify(m);
	rec_client_done(env->rec, c->index, q->intended, mesh_now(env), o,
			m->status);
	uint32_t user = q->user;
	pool_free(&c->reqs, i);
	if (c->def->kind == CLIENT_CLOSED)
		user_think(c, user);
}

static void send_one(client_agent *c, mesh_time intended, uint32_t user)
{
	mesh_env *env = c->base.env;
	const model_client *d = c->def;
	rec_client_issued(env->rec, c->index, intended);
	cl_req *q = NULL;
	uint32_t i = POOL_NONE;
	if (d->max_in_flight == MODEL_UNLIMITED || c->reqs.live < d->max_in_flight)
		i = pool_alloc(&c->reqs, (void **)&q);
	if (i == POOL_NONE) {
		rec_client_done(env->rec, c->index, intended, mesh_now(env),
				MESH_REJECTED, 0);
		/* A refused user thinks and tries again, like any other. */
		if (d->kind == CLIENT_CLOSED)
			user_think(c, user);
		return;
	}
	q->intended = intended;
	q->user = user;
	uint64_t tag = pool_tag(&c->reqs, i);
	if (d->timeout != MESH_NEVER)
		q->timer = env->ops->timer_start(env, d->timeout, &c->base,
						 timed_out, tag);
	mesh_msg m = {.kind = MESH_REQ, .method = d->method, .route = d->route,
		      .from = c->base.id, .headers = d->headers, .tag = tag,
		      .size = d->request_size,
		      .req_id = ((uint64_t)c->index << 40) | ++c->next_req_id};
	/* A user id for ring hashing: the header's name index in the top
	 * byte, the id below (see sidecar.c, hash_key). */
	if (d->user_header != MODEL_NONE && d->user_count)
		m.user = (d->user_header + 1) << 24 |
			 (uint32_t)rng_below(&c->rng, d->user_count < (1u << 24)
							       ? d->user_count
							       : (1u << 24));
	env->ops->send(env, &c->base, c->sidecar, &m, 0);
}

/* ---- closed loop ---- */

static void user_go(mesh_agent *self, uint64_t user)
{
	client_agent *c = (client_agent *)self;
	mesh_time now = mesh_now(c->base.env);
	if (now >= c->duration)
		return;
	send_one(c, now, (uint32_t)user);
}

static void user_think(client_agent *c, uint32_t user)
{
	mesh_env *env = c->base.env;
	mesh_time t = dist_sample(&c->def->think, &c->rng);
	if (mesh_now(env) + t >= c->duration)
		return;
	env->ops->timer_start(env, t, &c->base, user_go, user);
}

/* ---- open loop ---- */

static void arrival(mesh_agent *self, uint64_t arg);

/* Schedule the next arrival at or after `from`, following the phases.
 * Poisson arrivals draw exponential gaps; a gap that crosses into the next
 * phase is cut there and drawn again at the new rate, which is exact for a
 * Poisson process because it is memoryless. */
static void schedule_next(client_agent *c, mesh_time from)
{
	const model_client *d = c->def;
	mesh_env *env = c->base.env;
	mesh_time now = mesh_now(env);

	for (;;) {
		while (c->phase + 1 < d->nphases &&
		       d->phases[c->phase + 1].at <= from) {
			c->phase++;
			c->next_d = (double)d->phases[c->phase].at;
		}
		mesh_time end = c->phase + 1 < d->nphases
					? d->phases[c->phase + 1].at
					: c->duration;
		if (end > c->duration)
			end = c->duration;
		if (from >= c->duration)
			return;
		double rps = d->phases[c->phase].rps;
		if (rps <= 0.0) {
			if (end >= c->duration)
				return;
			from = end;
			continue;
		}
		double gap = 1e9 / rps;
		mesh_time t;
		if (d->arrival == ARRIVAL_POISSON) {
			t = from + (mesh_time)llround(-gap * log(rng_uniform_pos(&c->rng)));
		} else {
			if (c->next_d < (double)from)
				c->next_d = (double)from;
			t = (mesh_time)llround(c->next_d);
			c->next_d += gap;
		}
		if (t >= end) {
			if (end >= c->duration)
				return;
			from = end;
			continue;
		}
		env->ops->timer_start(env, t > now ? t - now : 0, &c->base, arrival, t);
		return;
	}
}

static void arrival(mesh_agent *self, uint64_t t)
{
	client_agent *c = (client_agent *)self;
	send_one(c, (mesh_time)t, 0);
	schedule_next(c, (mesh_time)t);
}

static void client_start(mesh_agent *self)
{
	client_agent *c = (client_agent *)self;
	const model_client *d = c->def;
	if (d->kind == CLIENT_OPEN) {
		c->phase = 0;
		c->next_d = (double)d->phases[0].at;
		schedule_next(c, d->phases[0].at);
		return;
	}
	/* Users start at random moments within one think time, so that
	 * they do not all arrive at once even when think is a constant. */
	mesh_env *env = c->base.env;
	for (uint32_t u = 0; u < d->users; u++) {
		mesh_time t = dist_sample(&d->think, &c->rng);
		t = (mesh_time)((double)t * rng_uniform(&c->rng));
		if (t < c->duration)
			env->ops->timer_start(env, t, &c->base, user_go, u);
	}
}

static void client_on_msg(mesh_agent *self, const mesh_msg *m)
{
	if (m->kind == MESH_RESP)
		on_response((client_agent *)self, m);
}

static const mesh_agent_ops client_ops = {.on_msg = client_on_msg,
					  .start = client_start};

void client_init(client_agent *c, mesh_env *env, uint32_t id, uint32_t pod,
		 const model_client *def, uint32_t index, uint32_t sidecar,
		 mesh_time duration, uint64_t seed, const char *stream)
{
	c->base.ops = &client_ops;
	c->base.env = env;
	c->base.id = id;
	c->base.pod = pod;
	c->def = def;
	c->index = index;
	c->sidecar = sidecar;
	c->duration = duration;
	c->phase = 0;
	c->next_d = 0;
	c->next_req_id = 0;
	rng_stream(&c->rng, seed, stream);
	pool_init(&c->reqs, sizeof(cl_req));
}

void client_destroy(client_agent *c)
{
	pool_destroy(&c->reqs);
}
