#include "service.h"

#include <assert.h>

typedef struct svc_req {
	pool_hdr h;
	uint32_t peer;        /* our sidecar, which asked */
	uint32_t route;
	uint64_t peer_tag;
	uint64_t req_id;
	uint64_t headers;
	uint32_t user;
	mesh_time arrived;
	uint32_t step;        /* next script step */
	uint32_t pending;     /* calls of the current step not yet answered */
	uint8_t failed;       /* a call of the current step failed */
	uint32_t next;        /* queue link */
} svc_req;

static void run_script(service_agent *a, uint32_t i);

static void answer(service_agent *a, uint32_t i, unsigned status,
		   uint64_t size)
{
	svc_req *q = pool_at(&a->reqs, i);
	mesh_msg r = {.kind = MESH_RESP, .status = (uint16_t)status,
		      .route = q->route, .from = a->base.id, .tag = q->peer_tag,
		      .size = size, .req_id = q->req_id};
	if (status < REC_MAX_STATUS)
		a->ri->by_status[status]++;
	uint32_t peer = q->peer;
	pool_free(&a->reqs, i);
	a->base.env->ops->send(a->base.env, &a->base, peer, &r, 0);
}

static uint32_t workers(const service_agent *a)
{
	uint32_t c = a->def->concurrency;
	if (c == MODEL_UNLIMITED || !a->workers_removed)
		return c;
	return a->workers_removed >= c ? 1 : c - a->workers_removed;
}

/* Count a request started under reduced capacity against the capacity
 * faults that reduce it. */
static void capacity_hit(service_agent *a)
{
	mesh_env *env = a->base.env;
	const model *m = env->model;
	uint32_t svc = (uint32_t)(a->svc - m->services);
	for (uint32_t i = 0; i < m->nfaults; i++)
		if (env->faults_on[i] && m->faults[i].kind == FAULT_CAPACITY &&
		    model_fault_targets(m, &m->faults[i], svc, a->index))
			rec_fault_hit(env->rec, i);
}

static void start(service_agent *a, uint32_t i);

/* Give free workers to waiting requests, oldest first. After a capacity
 * drop more workers may be busy than there are; after it ends, several
 * may be free at once. */
static void start_waiting(service_agent *a)
{
	while (a->qlen && (workers(a) == MODEL_UNLIMITED || a->busy < workers(a))) {
		uint32_t n = a->qhead;
		svc_req *w = pool_at(&a->reqs, n);
		a->qhead = w->next;
		a->qlen--;
		start(a, n);
	}
}

static void start(service_agent *a, uint32_t i)
{
	svc_req *q = pool_at(&a->reqs, i);
	if (a->slowdown > 1.0 || a->workers_removed)
		capacity_hit(a);
	mesh_time wait = mesh_now(a->base.env) - q->arrived;
	a->busy++;
	a->ri->served++;
	if (wait)
		a->ri->waited++;
	hist_add(&a->ri->wait, wait);
	run_script(a, i);
}

/* The request's script is over: answer, and give the worker to the next
 * request waiting, if any. */
static void finish(service_agent *a, uint32_t i, int failed)
{
	const model_behavior *d = a->def;
	unsigned status = 200;
	uint64_t size = d->response_size;
	if (failed) {
		status = 500;
		size = 0;
	} else if (d->nerrors) {
		double u = rng_uniform(&a->rng), acc = 0.0;
		for (uint32_t k = 0; k < d->nerrors; k++) {
			acc += d->errors[k].probability;
			if (u < acc) {
				status = d->errors[k].status;
				size = 0;
				break;
			}
		}
	}
	answer(a, i, status, size);
	assert(a->busy > 0);
	a->busy--;
	start_waiting(a);
}

static void work_done(mesh_agent *self, uint64_t arg)
{
	service_agent *a = (service_agent *)self;
	uint32_t i;
	svc_req *q = pool_lookup(&a->reqs, arg, &i);
	if (!q)
		return; /* the instance crashed while this request worked */
	q->step++;
	run_script(a, i);
}

/* Run steps from q->step until one has to wait (a timer or calls). */
static void run_script(service_agent *a, uint32_t i)
{
	svc_req *q = pool_at(&a->reqs, i);
	mesh_env *env = a->base.env;
	const model_behavior *d = a->def;

	while (q->step < d->nsteps) {
		const model_step *s = &d->steps[q->step];
		if (s->kind == STEP_WORK) {
			mesh_time t = dist_sample(&s->work, &a->rng);
			if (a->slowdown > 1.0)
				t = (mesh_time)((double)t * a->slowdown + 0.5);
			if (t == 0) {
				q->step++;
				continue;
			}
			env->ops->timer_start(env, t, &a->base, work_done,
					      pool_tag(&a->reqs, i));
			return;
		}
		q->pending = s->ncalls;
		q->failed = 0;
		uint64_t tag = pool_tag(&a->reqs, i);
		for (uint32_t k = 0; k < s->ncalls; k++) {
			/* Calls carry the incoming request's headers on, as
			 * an app that propagates tracing and baggage headers
			 * does; header routing then works at every depth. */
			mesh_msg m = {.kind = MESH_REQ, .route = s->routes[k],
				      .from = a->base.id, .tag = tag,
				      .size = s->sizes[k], .req_id = q->req_id,
				      .headers = q->headers, .user = q->user};
			env->ops->send(env, &a->base, a->sidecar, &m, 0);
		}
		return;
	}
	finish(a, i, 0);
}

static void on_call_answer(service_agent *a, const mesh_msg *m)
{
	uint32_t i;
	svc_req *q = pool_lookup(&a->reqs, m->tag, &i);
	if (!q)
		return;
	assert(q->pending > 0);
	if (m->status < 200 || m->status >= 300)
		q->failed = 1;
	if (--q->pending)
		return;
	if (q->failed) {
		finish(a, i, 1);
		return;
	}
	q->step++;
	run_script(a, i);
}

static void on_request(service_agent *a, const mesh_msg *m)
{
	const model_behavior *d = a->def;
	mesh_env *env = a->base.env;
	if (a->down)
		return; /* its sidecar answers while the app is down */
	a->ri->arrived++;

	uint32_t w = workers(a);
	/* FIFO: a newcomer never overtakes requests already waiting. */
	int can_start = (w == MODEL_UNLIMITED || a->busy < w) && a->qlen == 0;
	if (!can_start && d->queue != MODEL_UNLIMITED && a->qlen >= d->queue) {
		a->ri->queue_full++;
		a->ri->by_status[503]++;
		mesh_msg r = {.kind = MESH_RESP, .status = 503,
			      .route = m->route, .from = a->base.id,
			      .tag = m->tag, .req_id = m->req_id};
		env->ops->send(env, &a->base, m->from, &r, 0);
		return;
	}

	svc_req *q;
	uint32_t i = pool_alloc(&a->reqs, (void **)&q);
	if (i == POOL_NONE) {
		mesh_msg r = {.kind = MESH_RESP, .status = 503,
			      .route = m->route, .from = a->base.id,
			      .tag = m->tag, .req_id = m->req_id};
		a->ri->by_status[503]++;
		env->ops->send(env, &a->base, m->from, &r, 0);
		return;
	}
	q->peer = m->from;
	q->route = m->route;
	q->peer_tag = m->tag;
	q->req_id = m->req_id;
	q->headers = m->headers;
	q->user = m->user;
	q->arrived = mesh_now(env);
	if (can_start) {
		start(a, i);
		return;
	}
	q->next = POOL_NONE;
	if (a->qlen)
		((svc_req *)pool_at(&a->reqs, a->qtail))->next = i;
	else
		a->qhead = i;
	a->qtail = i;
	a->qlen++;
	if (a->qlen > a->ri->max_queue)
		a->ri->max_queue = a->qlen;
}

static void service_on_msg(mesh_agent *self, const mesh_msg *m)
{
	service_agent *a = (service_agent *)self;
	if (m->kind == MESH_REQ)
		on_request(a, m);
	else if (!a->down)
		on_call_answer(a, m);
}

static const mesh_agent_ops service_ops = {.on_msg = service_on_msg};

void service_init(service_agent *a, mesh_env *env, uint32_t id, uint32_t pod,
		  const model_service *svc, uint32_t index,
		  const model_behavior *def, uint32_t sidecar, rec_instance *ri,
		  uint64_t seed, const char *stream)
{
	a->svc = svc;
	a->index = index;
	a->down = 0;
	a->slowdown = 1.0;
	a->workers_removed = 0;
	a->base.ops = &service_ops;
	a->base.env = env;
	a->base.id = id;
	a->base.pod = pod;
	a->def = def;
	a->sidecar = sidecar;
	a->busy = a->qlen = 0;
	a->qhead = a->qtail = POOL_NONE;
	a->ri = ri;
	rng_stream(&a->rng, seed, stream);
	pool_init(&a->reqs, sizeof(svc_req));
}

void service_destroy(service_agent *a)
{
	pool_destroy(&a->reqs);
}

void service_crash(service_agent *a)
{
	/* Forget every request: new generations make their tags, and so
	 * their timers and late call answers, stale. */
	pool_free_all(&a->reqs);
	a->busy = a->qlen = 0;
	a->qhead = a->qtail = POOL_NONE;
	a->down = 1;
	a->ri->crashes++;
}

void service_restart(service_agent *a)
{
	a->down = 0;
}

void service_set_capacity(service_agent *a, double slowdown, uint32_t removed)
{
	a->slowdown = slowdown < 1.0 ? 1.0 : slowdown;
	a->workers_removed = removed;
	if (!a->down)
		start_waiting(a);
}
