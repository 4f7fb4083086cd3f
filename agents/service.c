#include "service.h"

#include <assert.h>
#include <stdlib.h>

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
	uint8_t working;      /* in a work step: timer running, or frozen */
	uint32_t next;        /* queue link */
	uint64_t timer;       /* the work step's timer; 0 while frozen */
	mesh_time work_end;   /* when the work step ends */
	uint64_t seq;         /* the work step's place in start order */
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

/* Count n requests against every fault of kind k that is on and aims at
 * this instance: a request started under reduced capacity, or held or
 * frozen by a pause. */
static void fault_hits(service_agent *a, enum model_fault_kind k, uint32_t n)
{
	mesh_env *env = a->base.env;
	const model *m = env->model;
	uint32_t svc = (uint32_t)(a->svc - m->services);
	for (uint32_t i = 0; i < m->nfaults; i++)
		if (env->faults_on[i] && m->faults[i].kind == k &&
		    model_fault_targets(m, &m->faults[i], svc, a->index))
			for (uint32_t j = 0; j < n; j++)
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
		fault_hits(a, FAULT_CAPACITY, 1);
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
	q->working = 0;
	q->timer = 0;
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
			/* Kept so that a pause can freeze the step. */
			q->working = 1;
			q->work_end = mesh_now(env) + t;
			q->seq = a->work_seq++;
			q->timer = env->ops->timer_start(env, t, &a->base, work_done,
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

/* A request, read at `arrived` or (after a pause) held since then. */
static void on_request(service_agent *a, const mesh_msg *m, mesh_time arrived)
{
	const model_behavior *d = a->def;
	mesh_env *env = a->base.env;
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
	q->arrived = arrived;
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

/* Keep m unread until the pause ends. Returns 0, or -1 when out of
 * memory. */
static int hold(service_agent *a, const mesh_msg *m)
{
	if (a->nheld == a->held_cap) {
		uint32_t cap = a->held_cap ? 2 * a->held_cap : 16;
		service_held *h = realloc(a->held, cap * sizeof *h);
		if (!h)
			return -1;
		a->held = h;
		a->held_cap = cap;
	}
	a->held[a->nheld].m = *m;
	a->held[a->nheld].at = mesh_now(a->base.env);
	a->nheld++;
	return 0;
}

static void dispatch(service_agent *a, const mesh_msg *m, mesh_time at)
{
	if (m->kind == MESH_REQ)
		on_request(a, m, at);
	else
		on_call_answer(a, m);
}

static void service_on_msg(mesh_agent *self, const mesh_msg *m)
{
	service_agent *a = (service_agent *)self;
	if (a->down)
		return; /* its sidecar answers while the app is down */
	if (a->paused && hold(a, m) == 0) {
		if (m->kind == MESH_REQ)
			fault_hits(a, FAULT_PAUSE, 1);
		return;
	}
	dispatch(a, m, mesh_now(a->base.env));
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
	a->paused = 0;
	a->paused_at = 0;
	a->work_seq = 0;
	a->held = NULL;
	a->nheld = a->held_cap = 0;
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
	free(a->held);
	a->held = NULL;
	a->nheld = a->held_cap = 0;
}

void service_crash(service_agent *a)
{
	/* Forget every request: new generations make their tags, and so
	 * their timers and late call answers, stale. */
	pool_free_all(&a->reqs);
	a->busy = a->qlen = 0;
	a->qhead = a->qtail = POOL_NONE;
	a->nheld = 0;
	a->down = 1;
	a->ri->crashes++;
}

void service_restart(service_agent *a)
{
	a->down = 0;
	if (a->paused)
		a->paused_at = mesh_now(a->base.env);
}

typedef struct frozen {
	mesh_time end;
	uint64_t seq;
	uint32_t i;
} frozen;

static int frozen_cmp(const void *x, const void *y)
{
	const frozen *a = x, *b = y;
	if (a->end != b->end)
		return a->end < b->end ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static void freeze(service_agent *a)
{
	mesh_env *env = a->base.env;
	for (uint32_t i = 0; i < a->reqs.n; i++) {
		svc_req *q = pool_at(&a->reqs, i);
		if (!(q->h.gen & 1) || !q->working || !q->timer)
			continue;
		env->ops->timer_cancel(env, q->timer);
		q->timer = 0;
	}
}

/* Every frozen work step goes on with what it had left at the pause, in
 * the order the steps would have ended (ties: the order they started),
 * so that equal remainders end in their old order. */
static void thaw(service_agent *a)
{
	mesh_env *env = a->base.env;
	mesh_time now = mesh_now(env);
	uint32_t n = 0;
	for (uint32_t i = 0; i < a->reqs.n; i++) {
		svc_req *q = pool_at(&a->reqs, i);
		if ((q->h.gen & 1) && q->working && !q->timer)
			n++;
	}
	if (!n)
		return;
	frozen *f = malloc(n * sizeof *f);
	uint32_t k = 0;
	for (uint32_t i = 0; i < a->reqs.n; i++) {
		svc_req *q = pool_at(&a->reqs, i);
		if (!(q->h.gen & 1) || !q->working || q->timer)
			continue;
		if (!f) {
			/* Out of memory: the same times, in pool order. */
			mesh_time left = q->work_end - a->paused_at;
			q->work_end = now + left;
			q->timer = env->ops->timer_start(env, left, &a->base,
							 work_done,
							 pool_tag(&a->reqs, i));
			continue;
		}
		f[k].end = q->work_end;
		f[k].seq = q->seq;
		f[k].i = i;
		k++;
	}
	if (!f)
		return;
	qsort(f, n, sizeof *f, frozen_cmp);
	for (k = 0; k < n; k++) {
		svc_req *q = pool_at(&a->reqs, f[k].i);
		/* A step frozen at its very end (it was due when the pause
		 * began) ends at resume. */
		mesh_time left = q->work_end - a->paused_at;
		q->work_end = now + left;
		q->timer = env->ops->timer_start(env, left, &a->base, work_done,
						 pool_tag(&a->reqs, f[k].i));
	}
	free(f);
}

uint32_t service_holding(const service_agent *a)
{
	uint32_t n = a->reqs.live;
	for (uint32_t k = 0; k < a->nheld; k++)
		if (a->held[k].m.kind == MESH_REQ)
			n++;
	return n;
}

void service_pause(service_agent *a, int on)
{
	if (!on == !a->paused)
		return;
	a->paused = on ? 1 : 0;
	if (on) {
		a->paused_at = mesh_now(a->base.env);
		if (!a->down)
			freeze(a);
		return;
	}
	if (a->down)
		return; /* the crash dropped everything already */
	thaw(a);
	/* A capacity fault may have ended or grown during the pause. */
	start_waiting(a);
	/* The held messages, oldest first. Nothing is held meanwhile: the
	 * app runs again, and a host delivers nothing during this call. */
	for (uint32_t k = 0; k < a->nheld; k++)
		dispatch(a, &a->held[k].m, a->held[k].at);
	a->nheld = 0;
}

void service_set_capacity(service_agent *a, double slowdown, uint32_t removed)
{
	a->slowdown = slowdown < 1.0 ? 1.0 : slowdown;
	a->workers_removed = removed;
	if (!a->down && !a->paused)
		start_waiting(a);
}
