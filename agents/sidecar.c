#include "sidecar.h"

#include <assert.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "rec.h"

/* ---- records ---- */

enum out_state {
	OUT_DELAY = 1,  /* held by a delay fault */
	OUT_PENDING,    /* waiting for a connection (max_connections) */
	OUT_TRY,        /* a try is in flight */
	OUT_BACKOFF,    /* waiting to retry */
};

#define MAX_TRIED 8

typedef struct sc_out {
	pool_hdr h;
	uint32_t peer;         /* the app, to answer */
	uint64_t peer_tag;
	uint32_t route;
	uint32_t svc;
	uint8_t method;
	uint8_t state;
	uint8_t retrying;      /* counted in the cluster's active_retries */
	uint32_t user;
	uint64_t headers;
	uint64_t req_id;
	uint64_t size;
	uint64_t xref;         /* live: the app's exchange (its body) */
	uint64_t resp_xref;    /* live: the upstream answer being relayed */
	mesh_time start;
	const model_retry *retry;
	mesh_time timeout;
	uint32_t vfirst, vcount; /* the hosts its version split chose */
	uint32_t ver1;         /* that version + 1; 0: none chosen */
	uint32_t tries;        /* tries started */
	uint32_t cur_try;      /* POOL_NONE when none */
	uint64_t route_timer;
	uint64_t wait_timer;   /* backoff or delay fault */
	uint32_t tried[MAX_TRIED];
	uint32_t ntried;
	uint16_t last_status;
	uint32_t last_flags;
	uint32_t fault_flags;  /* DI when delayed */
	uint16_t abort_status; /* an abort fault to apply after the delay */
	uint8_t abort_reset;
	uint8_t aborting;
	uint8_t blackholed;    /* tries go nowhere (a blackhole fault) */
} sc_out;

typedef struct sc_try {
	pool_hdr h;
	uint32_t out;          /* POOL_NONE: a mirrored copy (out_tag holds
				* its service << 32 | version) */
	uint64_t out_tag;
	uint32_t host;
	mesh_time start;
	uint64_t timer;
} sc_try;

typedef struct sc_in {
	pool_hdr h;
	uint32_t peer;
	uint64_t peer_tag;
	uint32_t route;
	uint64_t req_id;
	uint64_t wait_timer;   /* delay fault */
	uint8_t held;          /* delayed by a fault: not at the app yet */
	mesh_msg msg;          /* the request, while held by a delay */
} sc_in;

static mesh_time proc_time(sidecar *sc)
{
	return sc->latency_zero ? 0 : dist_sample(sc->latency, &sc->rng);
}

static const model *M(const sidecar *sc)
{
	return sc->base.env->model;
}

static const model_policy *policy_of(const sidecar *sc, uint32_t svc)
{
	return &M(sc)->services[svc].policy;
}

/* This sidecar's node in the service graph (see rec_edge). */
static uint32_t edge_from(const sidecar *sc)
{
	return sc->service == MODEL_CLIENTS ? M(sc)->nservices + sc->instance
					    : sc->service;
}

static void send_msg(sidecar *sc, uint32_t to, const mesh_msg *m)
{
	sc->base.env->ops->send(sc->base.env, &sc->base, to, m, proc_time(sc));
}

/* ---- matching ---- */

static int match_holds(const model_match *mt, uint32_t route, uint8_t method,
		       uint64_t headers)
{
	if (mt->route_ok && !mt->route_ok[route])
		return 0;
	if (mt->methods && !(mt->methods & (1u << method)))
		return 0;
	for (uint32_t k = 0; k < mt->nhdr; k++)
		if (!(headers & mt->hdr_any[k]))
			return 0;
	return 1;
}

static const model_rule *pick_rule(const model_policy *p, uint32_t route,
				   uint8_t method, uint64_t headers)
{
	for (uint32_t i = 0; i < p->nrules; i++) {
		const model_rule *r = &p->rules[i];
		if (!r->nmatches)
			return r;
		for (uint32_t k = 0; k < r->nmatches; k++)
			if (match_holds(&r->matches[k], route, method, headers))
				return r;
	}
	return NULL;
}

/* Does fault f hit a request from this sidecar to (svc, inst)? `outbound`
 * selects the caller-side faults (aimed at a whole service) or the
 * callee-side ones (aimed at a version or an instance). */
static int fault_hits(sidecar *sc, const model_fault *f, uint32_t svc,
		      uint32_t inst, uint32_t source, int outbound,
		      uint8_t method, uint64_t headers)
{
	int narrow = f->version != MODEL_ANY || f->instance != MODEL_ANY;
	if (narrow == outbound || !model_fault_targets(M(sc), f, svc, inst))
		return 0;
	if (f->source != MODEL_ANY && f->source != source)
		return 0;
	if (f->has_match && !match_holds(&f->match, 0, method, headers))
		return 0;
	if (f->percent < 100.0 && rng_uniform(&sc->rng) * 100.0 >= f->percent)
		return 0;
	return 1;
}

/* ---- retries ---- */

mesh_time sidecar_backoff(const model_retry *r, uint32_t n, rng *g)
{
	if (n > 62)
		n = 62;
	double bound = (double)((1ULL << n) - 1) * (double)r->backoff_base;
	if (bound < 1.0)
		return 0;
	double x = rng_uniform(g) * bound;
	if (x > (double)r->backoff_max)
		x = (double)r->backoff_max;
	return (mesh_time)x;
}

int sidecar_retry_reason(const model_retry *r, unsigned status,
			 uint32_t flags, int per_try_timeout)
{
	uint32_t on = r->on;
	int gateway = status == 502 || status == 503 || status == 504;
	if (per_try_timeout) {
		/* Envoy: 5xx and gateway-error cover an upstream that does
		 * not answer in time; reset covers read timeouts too. */
		return on & (RETRY_5XX | RETRY_GATEWAY_ERROR | RETRY_RESET)
			       ? REC_RETRY_PER_TRY_TIMEOUT
			       : -1;
	}
	/* Envoy: 5xx and gateway-error also retry resets and connection
	 * failures, and reset covers connection failures too. When the
	 * cause is not retried, the 503 a sidecar made of it still is if its
	 * status is (a callee's sidecar answers 503 for a crashed app). */
	if (flags & MESH_RF_UF &&
	    on & (RETRY_CONNECT_FAILURE | RETRY_RESET | RETRY_5XX | RETRY_GATEWAY_ERROR))
		return REC_RETRY_CONNECT_FAILURE;
	if (flags & MESH_RF_UR && on & (RETRY_RESET | RETRY_5XX | RETRY_GATEWAY_ERROR))
		return REC_RETRY_RESET;
	/* Envoy never retries an answer marked x-envoy-overloaded (a
	 * breaker's 503) on 5xx grounds; refused-stream is the one way. */
	if (flags & MESH_RF_UO)
		return on & RETRY_REFUSED_STREAM ? REC_RETRY_REFUSED : -1;
	if (status >= 500 && on & RETRY_5XX)
		return REC_RETRY_5XX;
	if (gateway && on & RETRY_GATEWAY_ERROR)
		return REC_RETRY_5XX;
	if (on & RETRY_RETRIABLE_STATUS)
		for (uint32_t i = 0; i < r->nstatuses; i++)
			if (r->statuses[i] == status)
				return REC_RETRY_STATUS;
	if (status == 409 && on & RETRY_RETRIABLE_4XX)
		return REC_RETRY_STATUS;
	return -1;
}

static uint32_t budget_slot(uint64_t sec)
{
	return (uint32_t)(sec % SC_BUDGET_SLOTS);
}

/* Linkerd: count this second's requests or retries. */
static void budget_note(sc_cluster *c, mesh_time now, int retry)
{
	uint64_t sec = now / MESH_S;
	uint32_t k = budget_slot(sec);
	if (c->b_sec[k] != sec) {
		c->b_sec[k] = sec;
		c->b_req[k] = c->b_retry[k] = 0;
	}
	if (retry)
		c->b_retry[k]++;
	else
		c->b_req[k]++;
}

/* May one more retry start? Envoy's budget limits concurrent retries to a
 * percentage of active plus pending requests, but always allows
 * min_retry_concurrency; Linkerd's allows retries up to ratio times the
 * requests of the last ttl, plus min_retries_per_second times ttl. Without
 * a budget, Envoy's max_retries breaker applies. */
double sidecar_envoy_budget(const model_retry *r, uint32_t active,
			    uint32_t pending)
{
	double cap = r->budget_percent / 100.0 * (double)(active + pending);
	return cap < (double)r->min_concurrency ? (double)r->min_concurrency : cap;
}

double sidecar_linkerd_budget(const model_retry *r, uint64_t requests,
			      uint64_t ttl_seconds)
{
	return r->ratio * (double)requests +
	       r->min_per_second * (double)ttl_seconds;
}

static int retry_allowed(sidecar *sc, sc_cluster *c, const model_retry *r,
			 const model_policy *p, int *why)
{
	if (r->budget == BUDGET_ENVOY) {
		*why = REC_OVERFLOW_BUDGET;
		return (double)c->active_retries <
		       sidecar_envoy_budget(r, c->active, c->pending);
	}
	if (r->budget == BUDGET_LINKERD) {
		uint64_t now_sec = mesh_now(sc->base.env) / MESH_S;
		uint64_t ttl = (r->ttl + MESH_S - 1) / MESH_S;
		if (ttl > SC_BUDGET_SLOTS)
			ttl = SC_BUDGET_SLOTS;
		uint64_t req = 0, ret = 0;
		for (uint64_t s = 0; s < ttl && s <= now_sec; s++) {
			uint32_t k = budget_slot(now_sec - s);
			if (c->b_sec[k] == now_sec - s) {
				req += c->b_req[k];
				ret += c->b_retry[k];
			}
		}
		*why = REC_OVERFLOW_BUDGET;
		return (double)ret < sidecar_linkerd_budget(r, req, ttl);
	}
	*why = REC_OVERFLOW_RETRIES;
	return p->breaker.max_retries == MODEL_UNLIMITED ||
	       c->active_retries < p->breaker.max_retries;
}

/* ---- outlier detection ---- */

static void sweep(mesh_agent *self, uint64_t svc);

static void start_sweep(sidecar *sc, uint32_t svc)
{
	sc_cluster *c = &sc->clusters[svc];
	if (c->sweeping)
		return;
	c->sweeping = 1;
	mesh_env *env = sc->base.env;
	env->ops->timer_start(env, policy_of(sc, svc)->outlier.interval,
			      &sc->base, sweep, svc);
}

static mesh_time ejection_time(const model_outlier *o, uint32_t n)
{
	/* Envoy: base_ejection_time times the number of ejections, capped
	 * at max_ejection_time (or the base, if that is larger). */
	double t = (double)o->base_ejection * (double)n;
	double cap = (double)(o->max_ejection > o->base_ejection
				      ? o->max_ejection
				      : o->base_ejection);
	return (mesh_time)(t < cap ? t : cap);
}

/* Envoy's interval timer: bring back hosts whose ejection time is over,
 * and lower the multiplier of hosts that stayed in. */
static void sweep(mesh_agent *self, uint64_t svc)
{
	sidecar *sc = (sidecar *)self;
	sc_cluster *c = &sc->clusters[svc];
	const model_outlier *o = &policy_of(sc, (uint32_t)svc)->outlier;
	mesh_env *env = sc->base.env;
	mesh_time now = mesh_now(env);
	int busy = 0;
	c->sweeping = 0;
	for (uint32_t h = 0; h < c->n; h++) {
		sc_host *x = &c->hosts[h];
		if (x->ejected) {
			if (now >= x->ejected_at + ejection_time(o, x->ejections)) {
				x->ejected = 0;
				c->nejected--;
				rec_ejection(env->rec, (uint32_t)svc, h, -1, now);
			} else {
				busy = 1;
			}
		} else if (x->ejections) {
			x->ejections--;
		}
		if (x->ejections)
			busy = 1;
	}
	if (busy)
		start_sweep(sc, (uint32_t)svc);
}

static void maybe_eject(sidecar *sc, uint32_t svc, uint32_t h)
{
	sc_cluster *c = &sc->clusters[svc];
	const model_outlier *o = &policy_of(sc, svc)->outlier;
	sc_host *x = &c->hosts[h];
	int trip = (o->consecutive_5xx && x->consec_5xx >= o->consecutive_5xx) ||
		   (o->consecutive_gateway &&
		    x->consec_gw >= o->consecutive_gateway);
	if (!trip || x->ejected)
		return;
	x->consec_5xx = x->consec_gw = 0;
	/* Envoy ejects only while the ejected share, this host included,
	 * stays within max_ejection_percent. With few hosts and the 10%
	 * default this means no ejection at all, as in Envoy. */
	double share = 100.0 * (double)(c->nejected + 1) / (double)c->n;
	if (share > o->max_ejection_percent)
		return;
	mesh_env *env = sc->base.env;
	x->ejected = 1;
	/* Envoy stops raising the multiplier once base x n is past max +
	 * base, so a host that recovers is not held out for ever longer. */
	if ((double)o->base_ejection * (double)(x->ejections + 1) <=
	    (double)o->max_ejection + (double)o->base_ejection)
		x->ejections++;

	x->ejected_at = mesh_now(env);
	c->nejected++;
	rec_ejection(env->rec, svc, h, +1, x->ejected_at);
	start_sweep(sc, svc);
}

static void outlier_note(sidecar *sc, uint32_t svc, uint32_t h,
			 unsigned status, uint32_t flags, int timeout)
{
	const model_outlier *o = &policy_of(sc, svc)->outlier;
	if (!o->enabled)
		return;
	sc_host *x = &sc->clusters[svc].hosts[h];
	int fail5 = timeout || status >= 500 || (flags & (MESH_RF_UF | MESH_RF_UR));
	int gw = timeout || status == 502 || status == 503 || status == 504 ||
		 (flags & (MESH_RF_UF | MESH_RF_UR));
	x->consec_5xx = fail5 ? x->consec_5xx + 1 : 0;
	x->consec_gw = gw ? x->consec_gw + 1 : 0;
	if (fail5 || gw)
		maybe_eject(sc, svc, h);
}

/* ---- load balancing ---- */

static int tried_before(const sc_out *q, uint32_t h)
{
	for (uint32_t i = 0; i < q->ntried; i++)
		if (q->tried[i] == h)
			return 1;
	return 0;
}

/* Hosts in [vfirst, vfirst + vcount) that may be picked: not ejected
 * (unless the cluster is in panic) and, with other_host, not tried before
 * when another is left. */
typedef struct pick_ctx {
	const sc_cluster *c;
	const sc_out *q;
	int use_health;
	int avoid_tried;
} pick_ctx;

static int eligible(const pick_ctx *p, uint32_t h)
{
	if (p->use_health && p->c->hosts[h].ejected)
		return 0;
	if (p->avoid_tried && tried_before(p->q, h))
		return 0;
	return 1;
}

static double ewma_cost(const sc_host *x)
{
	return x->ewma * (double)(x->active + 1);
}

static uint32_t ring_pick(sidecar *sc, sc_cluster *c, const pick_ctx *p,
			  uint64_t key)
{
	/* The first point at or after the key's hash, then onwards until an
	 * eligible host. */
	uint32_t lo = 0, hi = c->ring_n;
	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (c->ring_hash[mid] < key)
			lo = mid + 1;
		else
			hi = mid;
	}
	(void)sc;
	for (uint32_t k = 0; k < c->ring_n; k++) {
		uint32_t h = c->ring_host[(lo + k) % c->ring_n];
		if (h >= p->q->vfirst && h < p->q->vfirst + p->q->vcount &&
		    eligible(p, h))
			return h;
	}
	return POOL_NONE;
}

static uint64_t hash_key(sidecar *sc, const sc_out *q, uint32_t header)
{
	const model *m = M(sc);
	/* A pair of that name the request carries, else its user id when the
	 * client sends ids under that name, else none. */
	for (uint32_t i = 0; i < m->nheaders; i++)
		if ((q->headers >> i & 1) &&
		    strcmp(m->headers[i].name, m->header_names[header]) == 0)
			return rng_hash(m->headers[i].value);
	if (q->user && (q->user >> 24) == header + 1) {
		uint64_t x = q->user & 0xffffff;
		return rng_splitmix64(&x);
	}
	return 0;
}

/* Pick a host for q's next try, or POOL_NONE when none is eligible. */
static uint32_t pick_host(sidecar *sc, uint32_t svc, sc_out *q)
{
	sc_cluster *c = &sc->clusters[svc];
	const model_policy *pol = policy_of(sc, svc);
	uint32_t first = q->vfirst, n = q->vcount;
	if (!n)
		return POOL_NONE;
	/* Envoy's panic mode: when too few hosts are healthy, balance over
	 * all of them, ejected or not. */
	uint32_t healthy = n;
	if (c->nejected) {
		healthy = 0;
		for (uint32_t h = first; h < first + n; h++)
			healthy += !c->hosts[h].ejected;
	}
	pick_ctx p = {.c = c, .q = q};
	p.use_health = !(100.0 * (double)healthy / (double)n < pol->panic_threshold);
	if (p.use_health && !healthy)
		return POOL_NONE;
	/* Retries go to a host not tried before, while one is left
	 * (Envoy's previous_hosts predicate). */
	if (q->ntried && q->retry && q->retry->other_host) {
		p.avoid_tried = 1;
		int any = 0;
		for (uint32_t h = first; h < first + n && !any; h++)
			any = eligible(&p, h);
		if (!any)
			p.avoid_tried = 0;
	}
	uint32_t choice = POOL_NONE;
	switch (pol->lb) {
	case LB_ROUND_ROBIN:
		for (uint32_t k = 0; k < c->n; k++) {
			uint32_t h = c->rr;
			c->rr = c->rr + 1 == c->n ? 0 : c->rr + 1;
			if (h >= first && h < first + n && eligible(&p, h))
				return h;
		}
		return POOL_NONE;
	case LB_RING_HASH: {
		uint64_t key = pol->ring_header == MODEL_NONE
				       ? 0
				       : hash_key(sc, q, pol->ring_header);
		if (key)
			return ring_pick(sc, c, &p, key);
		/* No key: Envoy picks a random host. */
	}
		/* fall through */
	case LB_RANDOM:
	case LB_LEAST_REQUEST:
	case LB_PEAK_EWMA: {
		uint32_t tries = pol->lb == LB_RANDOM || pol->lb == LB_RING_HASH
					 ? 1
					 : pol->choice_count;
		for (uint32_t k = 0; k < tries; k++) {
			uint32_t h = POOL_NONE;
			/* A random eligible host: a few draws, then a scan
			 * from a random start. */
			for (int d = 0; d < 4 && h == POOL_NONE; d++) {
				uint32_t x = first + (uint32_t)rng_below(&sc->rng, n);
				if (eligible(&p, x))
					h = x;
			}
			if (h == POOL_NONE) {
				uint32_t s0 = (uint32_t)rng_below(&sc->rng, n);
				for (uint32_t j = 0; j < n && h == POOL_NONE; j++) {
					uint32_t x = first + (s0 + j) % n;
					if (eligible(&p, x))
						h = x;
				}
			}
			if (h == POOL_NONE)
				return POOL_NONE;
			if (choice == POOL_NONE)
				choice = h;
			else if (pol->lb == LB_PEAK_EWMA
					 ? ewma_cost(&c->hosts[h]) < ewma_cost(&c->hosts[choice])
					 : c->hosts[h].active < c->hosts[choice].active)
				choice = h;
		}
		return choice;
	}
	}
	return POOL_NONE;
}

/* ---- outbound ---- */

static void try_start(sidecar *sc, uint32_t qi);
static void finish_out(sidecar *sc, uint32_t qi, unsigned status,
		       uint32_t flags, uint64_t size);

static void pq_push(sc_cluster *c, uint64_t tag)
{
	if (c->pq_len == c->pq_cap) {
		uint32_t cap = c->pq_cap ? c->pq_cap * 2 : 16;
		uint64_t *a = malloc(cap * sizeof *a);
		if (!a)
			abort(); /* a lost request would be a silent lie */
		for (uint32_t i = 0; i < c->pq_len; i++)
			a[i] = c->pq[(c->pq_head + i) % c->pq_cap];
		free(c->pq);
		c->pq = a;
		c->pq_cap = cap;
		c->pq_head = 0;
	}
	c->pq[(c->pq_head + c->pq_len++) % c->pq_cap] = tag;
}

/* A connection came free: the longest-waiting request gets it. */
static void pq_drain(sidecar *sc, uint32_t svc)
{
	sc_cluster *c = &sc->clusters[svc];
	const model_breaker *b = &policy_of(sc, svc)->breaker;
	while (c->pq_len && c->pending &&
	       (b->max_connections == MODEL_UNLIMITED || c->active < b->max_connections)) {
		uint64_t tag = c->pq[c->pq_head];
		c->pq_head = (c->pq_head + 1) % c->pq_cap;
		c->pq_len--;
		uint32_t qi;
		sc_out *q = pool_lookup(&sc->out, tag, &qi);
		if (!q || q->state != OUT_PENDING)
			continue; /* left the queue already (timed out) */
		c->pending--;
		q->state = OUT_TRY;
		try_start(sc, qi);
	}
}

static void end_try(sidecar *sc, sc_out *q, sc_try *t, uint32_t ti)
{
	sc_cluster *c = &sc->clusters[q->svc];
	if (t->timer)
		sc->base.env->ops->timer_cancel(sc->base.env, t->timer);
	c->hosts[t->host].active--;
	c->active--;
	pool_free(&sc->tries, ti);
	q->cur_try = POOL_NONE;
	if (q->retrying) {
		q->retrying = 0;
		c->active_retries--;
	}
}

static void per_try_timeout(mesh_agent *self, uint64_t tag);
static void backoff_done(mesh_agent *self, uint64_t tag);

/* Give up on try ti before its answer: a live host resets the upstream
 * exchange (Envoy resets the stream on a per-try or route timeout). */
static void abandon_try(sidecar *sc, const sc_out *q, const sc_try *t,
			uint32_t ti)
{
	mesh_env *env = sc->base.env;
	if (env->ops->abandon)
		env->ops->abandon(env, &sc->base,
				  sc->topo->inbound[sc->topo->first[q->svc] + t->host],
				  pool_tag(&sc->tries, ti));
}

/* A try ended without success: retry if the policy, the tries left, the
 * route timeout and the budget allow; else answer the app with it. */
static void try_failed(sidecar *sc, uint32_t qi, unsigned status,
		       uint32_t flags, uint64_t size, int timed_out)
{
	sc_out *q = pool_at(&sc->out, qi);
	mesh_env *env = sc->base.env;
	const model_retry *r = q->retry;
	sc_cluster *c = &sc->clusters[q->svc];
	const model_policy *p = policy_of(sc, q->svc);
	int reason = r ? sidecar_retry_reason(r, status, flags, timed_out) : -1;
	if (timed_out) {
		/* A per-try timeout answers 504 if nothing follows. */
		status = 504;
		flags = MESH_RF_UT;
	}
	if (reason < 0) {
		finish_out(sc, qi, status, flags, size);
		return;
	}
	if (q->tries > r->attempts) {
		finish_out(sc, qi, status, flags | MESH_RF_URX, size);
		return;
	}
	int why;
	if (!retry_allowed(sc, c, r, p, &why)) {
		/* Envoy counts upstream_rq_retry_overflow and returns what
		 * the last try got. */
		rec_overflow(env->rec, q->route, why, mesh_now(env));
		finish_out(sc, qi, status, flags, size);
		return;
	}
	rec_retry(env->rec, q->route, reason, mesh_now(env));
	q->retrying = 1;
	c->active_retries++;
	if (r->budget == BUDGET_LINKERD)
		budget_note(c, mesh_now(env), 1);
	q->state = OUT_BACKOFF;
	q->last_status = (uint16_t)status;
	q->last_flags = flags;
	mesh_time wait = sidecar_backoff(r, q->tries, &sc->rng);
	q->wait_timer = env->ops->timer_start(env, wait, &sc->base, backoff_done,
					      pool_tag(&sc->out, qi));
}

static void backoff_done(mesh_agent *self, uint64_t tag)
{
	sidecar *sc = (sidecar *)self;
	uint32_t qi;
	sc_out *q = pool_lookup(&sc->out, tag, &qi);
	if (!q || q->state != OUT_BACKOFF)
		return;
	q->wait_timer = 0;
	q->state = OUT_TRY;
	try_start(sc, qi);
}

/* Start the next try of q: breakers, host choice, connection pool. */
static void try_start(sidecar *sc, uint32_t qi)
{
	sc_out *q = pool_at(&sc->out, qi);
	mesh_env *env = sc->base.env;
	uint32_t svc = q->svc;
	sc_cluster *c = &sc->clusters[svc];
	const model_policy *p = policy_of(sc, svc);
	const model_breaker *b = &p->breaker;
	mesh_time now = mesh_now(env);

	if (b->max_requests != MODEL_UNLIMITED && c->active >= b->max_requests) {
		rec_overflow(env->rec, q->route, REC_OVERFLOW_REQUESTS, now);
		finish_out(sc, qi, 503, MESH_RF_UO, 0);
		return;
	}
	if (b->max_connections != MODEL_UNLIMITED && c->active >= b->max_connections) {
		/* HTTP/1.1: one request per connection; wait for one. */
		if (b->max_pending != MODEL_UNLIMITED && c->pending >= b->max_pending) {
			rec_overflow(env->rec, q->route, REC_OVERFLOW_PENDING, now);
			finish_out(sc, qi, 503, MESH_RF_UO, 0);
			return;
		}
		q->state = OUT_PENDING;
		c->pending++;
		pq_push(c, pool_tag(&sc->out, qi));
		return;
	}
	uint32_t h = pick_host(sc, svc, q);
	if (h == POOL_NONE) {
		rec_overflow(env->rec, q->route, REC_OVERFLOW_NO_HEALTHY, now);
		finish_out(sc, qi, 503, MESH_RF_UH, 0);
		return;
	}
	sc_try *t;
	uint32_t ti = pool_alloc(&sc->tries, (void **)&t);
	if (ti == POOL_NONE) {
		finish_out(sc, qi, 503, MESH_RF_UO, 0);
		return;
	}
	q = pool_at(&sc->out, qi); /* still valid: pools never move */
	t->out = qi;
	t->out_tag = pool_tag(&sc->out, qi);
	t->host = h;
	t->start = now;
	q->cur_try = ti;
	q->tries++;
	if (q->ntried < MAX_TRIED)
		q->tried[q->ntried++] = h;
	c->hosts[h].active++;
	c->active++;
	rec_attempt(env->rec, q->route, now);
	if (q->retry && q->retry->per_try_timeout != MESH_NEVER)
		t->timer = env->ops->timer_start(env, q->retry->per_try_timeout,
						 &sc->base, per_try_timeout,
						 pool_tag(&sc->tries, ti));
	if (q->blackholed)
		return; /* swallowed: only the timeouts will end this try */
	/* src: this workload's identity, which the callee's authorization
	 * checks (as Envoy presents the workload's certificate). */
	mesh_msg f = {.kind = MESH_REQ, .method = q->method, .route = q->route,
		      .from = sc->base.id, .user = q->user, .src = edge_from(sc) + 1,
		      .headers = q->headers, .xref = q->xref,
		      .tag = pool_tag(&sc->tries, ti), .size = q->size,
		      .req_id = q->req_id};
	send_msg(sc, sc->topo->inbound[sc->topo->first[svc] + h], &f);
}

static void per_try_timeout(mesh_agent *self, uint64_t tag)
{
	sidecar *sc = (sidecar *)self;
	uint32_t ti;
	sc_try *t = pool_lookup(&sc->tries, tag, &ti);
	if (!t)
		return;
	uint32_t qi = t->out;
	sc_out *q = pool_at(&sc->out, qi);
	t->timer = 0;
	uint32_t h = t->host;
	rec_per_try_timeout(sc->base.env->rec, q->route);
	abandon_try(sc, q, t, ti);
	end_try(sc, q, t, ti);
	outlier_note(sc, q->svc, h, 0, 0, 1);
	pq_drain(sc, q->svc);
	try_failed(sc, qi, 0, 0, 0, 1);
}

static void route_timeout(mesh_agent *self, uint64_t tag)
{
	sidecar *sc = (sidecar *)self;
	uint32_t qi;
	sc_out *q = pool_lookup(&sc->out, tag, &qi);
	if (!q)
		return;
	q->route_timer = 0;
	rec_route_timeout(sc->base.env->rec, q->route);
	/* Envoy answers 504 "upstream request timeout"; the try in flight
	 * is reset, and the upstream keeps working on it. */
	finish_out(sc, qi, 504, MESH_RF_UT, 0);
}

/* Let go of everything q holds, whatever state it is in: its try, its
 * place in the pending queue, its retry slot, its timers. q itself stays
 * allocated for the caller to answer from and free. */
static void out_release(sidecar *sc, uint32_t qi)
{
	sc_out *q = pool_at(&sc->out, qi);
	mesh_env *env = sc->base.env;
	sc_cluster *c = &sc->clusters[q->svc];
	if (q->cur_try != POOL_NONE) {
		abandon_try(sc, q, pool_at(&sc->tries, q->cur_try), q->cur_try);
		end_try(sc, q, pool_at(&sc->tries, q->cur_try), q->cur_try);
		pq_drain(sc, q->svc);
	}
	if (q->state == OUT_PENDING)
		c->pending--;
	if (q->retrying) {
		q->retrying = 0;
		c->active_retries--;
	}
	if (q->route_timer)
		env->ops->timer_cancel(env, q->route_timer);
	if (q->wait_timer)
		env->ops->timer_cancel(env, q->wait_timer);
	q->route_timer = q->wait_timer = 0;
}

/* Answer the app and forget q, whatever state it is in. */
static void finish_out(sidecar *sc, uint32_t qi, unsigned status,
		       uint32_t flags, uint64_t size)
{
	sc_out *q = pool_at(&sc->out, qi);
	mesh_env *env = sc->base.env;
	out_release(sc, qi);
	flags |= q->fault_flags;
	mesh_msg r = {.kind = MESH_RESP, .status = (uint16_t)status,
		      .route = q->route, .from = sc->base.id, .flags = flags,
		      .xref = q->resp_xref, .tag = q->peer_tag, .size = size,
		      .req_id = q->req_id};
	enum mesh_outcome oc = mesh_classify(&r);
	rec_route_done(env->rec, q->route, q->start, mesh_now(env), oc, status);
	rec_version_done(env->rec, q->svc, q->ver1 - 1u, q->start, mesh_now(env),
			 oc, status, 0);
	rec_edge(env->rec, edge_from(sc), q->svc, oc == MESH_OK);
	uint32_t peer = q->peer;
	pool_free(&sc->out, qi);
	send_msg(sc, peer, &r);
}

/* Send a copy of q to a random host of `version`, fire and forget, as
 * Envoy's request mirroring does: nothing waits for it and its answer is
 * only counted, for the version's metrics. It takes no part in balancing,
 * breakers or outlier detection, and has no timeout (a copy that is never
 * answered is dropped with the sidecar). */
static void mirror_send(sidecar *sc, const sc_out *q, uint32_t version)
{
	const model_version *v = &M(sc)->services[q->svc].versions[version];
	if (!v->replicas)
		return;
	uint32_t h = v->first + (uint32_t)rng_below(&sc->rng, v->replicas);
	sc_try *t;
	uint32_t ti = pool_alloc(&sc->tries, (void **)&t);
	if (ti == POOL_NONE)
		return;
	t->out = POOL_NONE;
	t->out_tag = (uint64_t)q->svc << 32 | version;
	t->host = h;
	t->start = mesh_now(sc->base.env);
	mesh_msg f = {.kind = MESH_REQ, .method = q->method, .route = q->route,
		      .from = sc->base.id, .user = q->user, .src = edge_from(sc) + 1,
		      .headers = q->headers, .tag = pool_tag(&sc->tries, ti),
		      .size = q->size, .req_id = q->req_id};
	send_msg(sc, sc->topo->inbound[sc->topo->first[q->svc] + h], &f);
}

/* Choose the version by the matching rule's weights and start routing. */
static void route_out(sidecar *sc, uint32_t qi)
{
	sc_out *q = pool_at(&sc->out, qi);
	mesh_env *env = sc->base.env;
	const model_service *s = &M(sc)->services[q->svc];
	const model_policy *p = &s->policy;
	const model_rule *rule = pick_rule(p, q->route, q->method, q->headers);
	q->retry = rule && rule->has_retry ? &rule->retry : &p->retry;
	if (q->retry->attempts == 0)
		q->retry = NULL;
	q->timeout = rule && rule->has_timeout ? rule->timeout : p->timeout;
	q->vfirst = 0;
	q->vcount = s->replicas;
	if (rule && rule->nsplits) {
		double total = 0, u;
		for (uint32_t k = 0; k < rule->nsplits; k++)
			total += rule->splits[k].weight;
		u = rng_uniform(&sc->rng) * total;
		uint32_t k = 0;
		while (k + 1 < rule->nsplits && u >= rule->splits[k].weight) {
			u -= rule->splits[k].weight;
			k++;
		}
		const model_version *v = &s->versions[rule->splits[k].version];
		q->vfirst = v->first;
		q->vcount = v->replicas;
		q->ver1 = rule->splits[k].version + 1;
		/* Istio's mirror (a rollout turns it on): a copy goes to the
		 * mirror version, and its answer is dropped. */
		if (rule->mirror_percent > 0 &&
		    (rule->mirror_percent >= 100 ||
		     rng_uniform(&sc->rng) * 100.0 < rule->mirror_percent))
			mirror_send(sc, q, rule->mirror_version);
	}
	if (q->retry && q->retry->budget == BUDGET_LINKERD)
		budget_note(&sc->clusters[q->svc], mesh_now(env), 0);
	if (q->timeout != MESH_NEVER)
		q->route_timer = env->ops->timer_start(env, q->timeout, &sc->base,
						       route_timeout,
						       pool_tag(&sc->out, qi));
	q->state = OUT_TRY;
	try_start(sc, qi);
}

/* The delay (if any) is over: abort now if a fault says so, else route. */
static void after_faults(sidecar *sc, uint32_t qi)
{
	sc_out *q = pool_at(&sc->out, qi);
	if (q->aborting) {
		if (q->abort_reset)
			finish_out(sc, qi, 503, MESH_RF_UR | MESH_RF_FI, 0);
		else
			finish_out(sc, qi, q->abort_status, MESH_RF_FI, 0);
		return;
	}
	route_out(sc, qi);
}

static void out_delay_done(mesh_agent *self, uint64_t tag)
{
	sidecar *sc = (sidecar *)self;
	uint32_t qi;
	sc_out *q = pool_lookup(&sc->out, tag, &qi);
	if (!q || q->state != OUT_DELAY)
		return;
	q->wait_timer = 0;
	after_faults(sc, qi);
}

static void on_app_request(sidecar *sc, const mesh_msg *m)
{
	mesh_env *env = sc->base.env;
	const model *mod = M(sc);
	uint32_t svc = mod->routes[m->route].service;
	sc_out *q;
	uint32_t qi = pool_alloc(&sc->out, (void **)&q);
	mesh_time now = mesh_now(env);
	rec_route_issued(env->rec, m->route, now);
	if (qi == POOL_NONE) {
		mesh_msg r = {.kind = MESH_RESP, .status = 503, .route = m->route,
			      .from = sc->base.id, .flags = MESH_RF_UO,
			      .tag = m->tag, .req_id = m->req_id};
		rec_route_done(env->rec, m->route, now, now, MESH_REJECTED, 503);
		rec_edge(env->rec, edge_from(sc), svc, 0);
		send_msg(sc, m->from, &r);
		return;
	}
	q->peer = m->from;
	q->peer_tag = m->tag;
	q->route = m->route;
	q->svc = svc;
	q->method = m->method;
	q->user = m->user;
	q->headers = m->headers;
	q->req_id = m->req_id;
	q->size = m->size;
	q->xref = m->xref;
	q->resp_xref = 0;
	q->start = now;
	q->cur_try = POOL_NONE;
	if (sc->service == MODEL_CLIENTS) {
		uint32_t k = (uint32_t)m->tag;
		if (k >= sc->nby_peer) {
			uint32_t n = sc->nby_peer ? sc->nby_peer : 64;
			while (n <= k)
				n *= 2;
			uint64_t *a = realloc(sc->by_peer, n * sizeof *a);
			if (!a)
				abort(); /* a cancel that finds nothing would leak work */
			memset(a + sc->nby_peer, 0, (n - sc->nby_peer) * sizeof *a);
			sc->by_peer = a;
			sc->nby_peer = n;
		}
		sc->by_peer[k] = pool_tag(&sc->out, qi);
	}

	/* Caller-side faults, as Istio applies a VirtualService's fault:
	 * once per request; Envoy's fault filter delays first, then aborts. */
	mesh_time delay = 0;
	for (uint32_t i = 0; i < mod->nfaults; i++) {
		const model_fault *f = &mod->faults[i];
		if (!env->faults_on[i] ||
		    (f->kind != FAULT_DELAY && f->kind != FAULT_ABORT &&
		     f->kind != FAULT_BLACKHOLE))
			continue;
		if (!fault_hits(sc, f, svc, 0, sc->service, 1, q->method, q->headers))
			continue;
		rec_fault_hit(env->rec, i);
		if (f->kind == FAULT_DELAY) {
			delay += dist_sample(&f->delay, &sc->rng);
			q->fault_flags |= MESH_RF_DI;
		} else if (f->kind == FAULT_ABORT) {
			if (!q->aborting) {
				q->aborting = 1;
				q->abort_reset = (uint8_t)f->reset;
				q->abort_status = f->status;
			}
		} else {
			/* Its tries go nowhere and nothing answers: the
			 * per-try and route timeouts, retries and outlier
			 * detection see a host that never replies. */
			q->blackholed = 1;
		}
	}
	if (delay) {
		q->state = OUT_DELAY;
		q->wait_timer = env->ops->timer_start(env, delay, &sc->base,
						      out_delay_done,
						      pool_tag(&sc->out, qi));
		return;
	}
	after_faults(sc, qi);
}

static void on_try_response(sidecar *sc, const mesh_msg *m)
{
	mesh_env *env = sc->base.env;
	uint32_t ti;
	sc_try *t = pool_lookup(&sc->tries, m->tag, &ti);
	if (!t)
		return; /* that try was given up */
	if (t->out == POOL_NONE) {
		/* A mirrored copy's answer: counted, then dropped. */
		rec_version_done(env->rec, (uint32_t)(t->out_tag >> 32),
				 (uint32_t)t->out_tag, t->start, mesh_now(env),
				 mesh_classify(m), m->status, 1);
		pool_free(&sc->tries, ti);
		return;
	}
	uint32_t qi = t->out;
	sc_out *q = pool_at(&sc->out, qi);
	uint32_t svc = q->svc, h = t->host;
	sc_host *x = &sc->clusters[svc].hosts[h];
	/* Peak EWMA (Linkerd): a slower sample takes over at once, faster
	 * ones decay in over the 10s window. */
	mesh_time now = mesh_now(env);
	double rtt = (double)(now - t->start);
	if (rtt > x->ewma) {
		x->ewma = rtt;
	} else {
		double w = exp(-(double)(now - x->ewma_t) / 10e9);
		x->ewma = x->ewma * w + rtt * (1.0 - w);
	}
	x->ewma_t = now;
	uint64_t t_out_tag = t->out_tag;
	end_try(sc, q, t, ti);
	outlier_note(sc, svc, h, m->status, m->flags, 0);
	pq_drain(sc, svc);
	q = pool_at(&sc->out, qi);
	/* A live host relays the upstream's body only if this answer is
	 * passed on now; a retry drops it. */
	q->resp_xref = m->xref;
	if (m->status >= 200 && m->status < 300) {
		finish_out(sc, qi, m->status, 0, m->size);
		return;
	}
	try_failed(sc, qi, m->status, m->flags, m->size, 0);
	q = pool_lookup(&sc->out, t_out_tag, &qi);
	if (q)
		q->resp_xref = 0;
}

/* ---- inbound ---- */

static void in_deliver(sidecar *sc, uint32_t ii)
{
	sc_in *r = pool_at(&sc->in, ii);
	mesh_msg f = r->msg;
	f.from = sc->base.id;
	f.tag = pool_tag(&sc->in, ii);
	r->held = 0;
	send_msg(sc, sc->app, &f);
}

static void in_answer(sidecar *sc, uint32_t ii, unsigned status,
		      uint32_t flags)
{
	sc_in *r = pool_at(&sc->in, ii);
	mesh_msg a = {.kind = MESH_RESP, .status = (uint16_t)status,
		      .route = r->route, .from = sc->base.id, .flags = flags,
		      .tag = r->peer_tag, .req_id = r->req_id};
	uint32_t peer = r->peer;
	if (r->wait_timer)
		sc->base.env->ops->timer_cancel(sc->base.env, r->wait_timer);
	pool_free(&sc->in, ii);
	send_msg(sc, peer, &a);
}

/* Count a request refused or reset because the app crashed against the
 * crash faults that hold it down. */
static void crash_hit(sidecar *sc)
{
	mesh_env *env = sc->base.env;
	const model *mod = M(sc);
	for (uint32_t i = 0; i < mod->nfaults; i++)
		if (env->faults_on[i] && mod->faults[i].kind == FAULT_CRASH &&
		    model_fault_targets(mod, &mod->faults[i], sc->service, sc->instance))
			rec_fault_hit(env->rec, i);
}

static void in_delay_done(mesh_agent *self, uint64_t tag)
{
	sidecar *sc = (sidecar *)self;
	uint32_t ii;
	sc_in *r = pool_lookup(&sc->in, tag, &ii);
	if (!r)
		return;
	r->wait_timer = 0;
	if (sc->app_down) {
		crash_hit(sc);
		in_answer(sc, ii, 503, MESH_RF_UF);
		return;
	}
	in_deliver(sc, ii);
}

/* Istio's authorization at the server-side Envoy (authz.h has the rules):
 * the caller's identity from m->src, the path of its route, its method.
 * A denied request is answered as Envoy's RBAC filter answers it, 403
 * "RBAC: access denied", at once: it reaches neither the app nor the
 * faults behind the filter, and a crashed app makes no difference.
 * Returns 1 when it was denied (and answered). */
static int authz_denies(sidecar *sc, const mesh_msg *m)
{
	mesh_env *env = sc->base.env;
	const model *mod = M(sc);
	authz_request q = {.peer = model_peer(mod, m->src),
			   .path = mod->routes[m->route].path,
			   .method = m->method};
	uint32_t by;
	enum authz_verdict v = authz_evaluate(mod->authz, sc->authz, &q, &by);
	rec_authz(env->rec, sc->service, v, by);
	if (v == AUTHZ_ALLOWED)
		return 0;
	mesh_msg a = {.kind = MESH_RESP, .status = 403, .route = m->route,
		      .from = sc->base.id, .flags = MESH_RF_RBAC, .tag = m->tag,
		      .req_id = m->req_id};
	send_msg(sc, m->from, &a);
	return 1;
}

static void on_remote_request(sidecar *sc, const mesh_msg *m)
{
	mesh_env *env = sc->base.env;
	const model *mod = M(sc);
	if (sc->authz && authz_denies(sc, m))
		return;
	sc_in *r;
	uint32_t ii = pool_alloc(&sc->in, (void **)&r);
	if (ii == POOL_NONE) {
		mesh_msg a = {.kind = MESH_RESP, .status = 503, .route = m->route,
			      .from = sc->base.id, .flags = MESH_RF_UO,
			      .tag = m->tag, .req_id = m->req_id};
		send_msg(sc, m->from, &a);
		return;
	}
	r->peer = m->from;
	r->peer_tag = m->tag;
	r->route = m->route;
	r->req_id = m->req_id;
	r->msg = *m;
	if (sc->app_down) {
		/* Nothing listens on the app's port: connection refused. */
		crash_hit(sc);
		in_answer(sc, ii, 503, MESH_RF_UF);
		return;
	}
	/* Faults aimed at this instance or version (the loader allows them
	 * no source: they hit every caller). */
	mesh_time delay = 0;
	for (uint32_t i = 0; i < mod->nfaults; i++) {
		const model_fault *f = &mod->faults[i];
		if (!env->faults_on[i] ||
		    (f->kind != FAULT_DELAY && f->kind != FAULT_ABORT &&
		     f->kind != FAULT_BLACKHOLE))
			continue;
		if (!fault_hits(sc, f, sc->service, sc->instance, MODEL_ANY, 0,
				m->method, m->headers))
			continue;
		rec_fault_hit(env->rec, i);
		if (f->kind == FAULT_DELAY) {
			delay += dist_sample(&f->delay, &sc->rng);
		} else if (f->kind == FAULT_ABORT) {
			in_answer(sc, ii, f->reset ? 503 : f->status,
				  f->reset ? MESH_RF_UR | MESH_RF_FI : MESH_RF_FI);
			return;
		} else {
			/* Swallowed: the caller times out. Nothing will ever
			 * answer, so nothing is kept. */
			pool_free(&sc->in, ii);
			return;
		}
	}
	if (delay) {
		r->held = 1;
		r->wait_timer = env->ops->timer_start(env, delay, &sc->base,
						      in_delay_done,
						      pool_tag(&sc->in, ii));
		return;
	}
	in_deliver(sc, ii);
}

static void on_app_response(sidecar *sc, const mesh_msg *m)
{
	uint32_t ii;
	sc_in *r = pool_lookup(&sc->in, m->tag, &ii);
	if (!r)
		return;
	mesh_msg a = *m;
	a.from = sc->base.id;
	a.tag = r->peer_tag;
	uint32_t peer = r->peer;
	pool_free(&sc->in, ii);
	send_msg(sc, peer, &a);
}

/* The app gave up on a request: drop it, resetting its try. Nothing is
 * sent back; the route records a timeout, the caller's view. */
static void on_app_cancel(sidecar *sc, const mesh_msg *m)
{
	mesh_env *env = sc->base.env;
	uint32_t k = (uint32_t)m->tag, qi;
	if (k >= sc->nby_peer)
		return;
	sc_out *q = pool_lookup(&sc->out, sc->by_peer[k], &qi);
	if (!q || q->peer != m->from || q->peer_tag != m->tag)
		return; /* answered already */
	out_release(sc, qi);
	rec_route_done(env->rec, q->route, q->start, mesh_now(env), MESH_TIMEOUT, 0);
	rec_version_done(env->rec, q->svc, q->ver1 - 1u, q->start, mesh_now(env),
			 MESH_TIMEOUT, 0, 0);
	rec_edge(env->rec, edge_from(sc), q->svc, 0);
	pool_free(&sc->out, qi);
}

static void sidecar_on_msg(mesh_agent *self, const mesh_msg *m)
{
	sidecar *sc = (sidecar *)self;
	int from_app = m->from == sc->app;
	if (m->kind == MESH_CANCEL) {
		if (from_app)
			on_app_cancel(sc, m);
		return;
	}
	if (m->kind == MESH_REQ) {
		if (from_app)
			on_app_request(sc, m);
		else
			on_remote_request(sc, m);
	} else {
		if (from_app)
			on_app_response(sc, m);
		else
			on_try_response(sc, m);
	}
}

void sidecar_app_down(sidecar *sc, int down)
{
	sc->app_down = down;
	if (!down)
		return;
	/* The app's connections die with it: every request it held is
	 * answered as an upstream reset. Delayed ones find the app down when
	 * their delay ends. */
	for (uint32_t i = 0; i < sc->in.n; i++) {
		sc_in *r = pool_at(&sc->in, i);
		if ((r->h.gen & 1) && !r->held) {
			crash_hit(sc);
			in_answer(sc, i, 503, MESH_RF_UR);
		}
	}
}

static const mesh_agent_ops sidecar_ops = {.on_msg = sidecar_on_msg};

/* Envoy's ring hash: each host owns an equal share of min_ring_size points
 * (1024), placed by hashing (host, replica). */
static int build_ring(sc_cluster *c, uint64_t salt)
{
	uint32_t per = (1024 + c->n - 1) / c->n;
	c->ring_n = per * c->n;
	c->ring_hash = malloc(c->ring_n * sizeof *c->ring_hash);
	c->ring_host = malloc(c->ring_n * sizeof *c->ring_host);
	if (!c->ring_hash || !c->ring_host)
		return -1;
	uint32_t k = 0;
	for (uint32_t h = 0; h < c->n; h++)
		for (uint32_t j = 0; j < per; j++, k++) {
			uint64_t x = salt ^ ((uint64_t)h << 32 | j);
			uint64_t v = rng_splitmix64(&x);
			/* insertion into the sorted prefix */
			uint32_t p = k;
			while (p > 0 && c->ring_hash[p - 1] > v) {
				c->ring_hash[p] = c->ring_hash[p - 1];
				c->ring_host[p] = c->ring_host[p - 1];
				p--;
			}
			c->ring_hash[p] = v;
			c->ring_host[p] = h;
		}
	return 0;
}

int sidecar_init(sidecar *sc, mesh_env *env, uint32_t id, uint32_t pod,
		 uint32_t app, uint32_t service, uint32_t instance,
		 const dist *latency, const mesh_topo *topo,
		 uint32_t nservices, uint64_t seed, const char *stream)
{
	memset(sc, 0, sizeof *sc);
	sc->base.ops = &sidecar_ops;
	sc->base.env = env;
	sc->base.id = id;
	sc->base.pod = pod;
	sc->app = app;
	sc->service = service;
	sc->instance = instance;
	sc->latency = latency;
	sc->latency_zero = dist_is_zero(latency);
	sc->topo = topo;
	sc->nservices = nservices;
	if (service != MODEL_CLIENTS) {
		const authz_set *a = &env->model->services[service].authz;
		if (a->ndeny || a->nallow)
			sc->authz = a;
	}
	rng_stream(&sc->rng, seed, stream);
	pool_init(&sc->out, sizeof(sc_out));
	pool_init(&sc->tries, sizeof(sc_try));
	pool_init(&sc->in, sizeof(sc_in));
	sc->clusters = calloc(nservices ? nservices : 1, sizeof *sc->clusters);
	if (!sc->clusters)
		return -1;
	/* Each round-robin cursor starts from a hash of (this sidecar's
	 * stream, the service's name), not from a draw: so adding a service
	 * changes neither the other cursors nor this sidecar's draws. */
	for (uint32_t s = 0; s < nservices; s++) {
		sc_cluster *c = &sc->clusters[s];
		c->n = topo->count[s];
		c->hosts = calloc(c->n ? c->n : 1, sizeof *c->hosts);
		if (!c->hosts)
			return -1;
		for (uint32_t h = 0; h < c->n; h++)
			c->hosts[h].ewma = 30e6; /* Linkerd's default RTT, 30ms */
		if (c->n) {
			uint64_t x = sc->rng.s[0] ^ rng_hash(env->model->services[s].name);
			c->rr = (uint32_t)(rng_splitmix64(&x) % c->n);
		}
		if (env->model->services[s].policy.lb == LB_RING_HASH && c->n &&
		    build_ring(c, rng_hash(env->model->services[s].name)) < 0)
			return -1;
	}
	return 0;
}

void sidecar_destroy(sidecar *sc)
{
	if (sc->clusters)
		for (uint32_t s = 0; s < sc->nservices; s++) {
			free(sc->clusters[s].hosts);
			free(sc->clusters[s].pq);
			free(sc->clusters[s].ring_hash);
			free(sc->clusters[s].ring_host);
		}
	free(sc->clusters);
	sc->clusters = NULL;
	free(sc->by_peer);
	sc->by_peer = NULL;
	pool_destroy(&sc->out);
	pool_destroy(&sc->tries);
	pool_destroy(&sc->in);
}
