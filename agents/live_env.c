/*
 * live_env.c - the live host: mesh_env on libevent, messages as HTTP/1.1.
 * See live_env.h for the mapping; the comments here say why it is so.
 */
#include "live_env.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/event_struct.h>

#include "live_http.h"
#include "netfault.h"
#include "pool.h"
#include "rec.h"
#include "rng.h"
#include "tls_mesh.h"

/* An agent id that is nobody's app: the caller of a request that came in
 * from another pod. The sidecar only compares it with its app's id. */
#define LIVE_REMOTE (UINT32_MAX - 2)

/* Above this many unsent bytes a relay stops reading its source. */
#define RELAY_HIGH (256u * 1024u)

enum { LX_SERVER = 1, LX_CLIENT };

/* Where a client exchange is with its response. */
enum cx_state {
	CX_WAIT_HEAD = 0, /* no response yet */
	CX_DELIVERING,    /* head given to a sidecar; body kept until it says */
	CX_HELD,          /* the sidecar passed it on with a delay: keep it */
	CX_RELAY,         /* flowing to a downstream exchange */
	CX_DISCARD,       /* nobody wants the body: read and drop it */
	CX_WAIT_END,      /* an app or client gets the answer when complete */
};

#define LX_MAX_RELAYS 4

/* One HTTP exchange the host holds for its agents: a request received on a
 * listener (server side) or a request sent upstream (client side). */
typedef struct lx {
	pool_hdr h;
	uint8_t kind;
	uint8_t lkind;          /* server: enum live_listener */
	uint8_t body_done;      /* server: request body complete;
				 * client: response body complete */
	uint8_t body_over;      /* server: too big to keep for retries */
	uint8_t state;          /* client: enum cx_state */
	uint8_t resp_err;       /* client: the body was cut short */
	uint8_t in_map;
	uint8_t tries;          /* server: tries that streamed its body */
	uint32_t self;          /* its own index in the pool */
	mesh_agent *agent;      /* server: receiver; client: sender */
	lh_head head;           /* server: request head; client: response */
	struct evbuffer *body;  /* server: request body kept for tries;
				 * client: response body held for a sidecar */
	uint32_t source;        /* server: calling service, MODEL_CLIENTS or
				 * MODEL_NONE (unknown: a real peer) */
	uint64_t relays[LX_MAX_RELAYS]; /* server: tries streaming its body */
	uint8_t read_paused;    /* server: reading its body is paused */
	uint64_t relay_from;    /* server: the upstream answer relayed here */
	/* client */
	lh_sx *sx;              /* server side's exchange */
	lh_cx *cx;
	uint32_t to;
	uint32_t route;
	uint64_t tag;           /* the sender's tag */
	uint64_t relay_to;      /* the downstream exchange receiving it */
	uint64_t body_src;      /* the downstream exchange whose body it sends */
	mesh_msg resp;          /* CX_WAIT_END: the answer to deliver */
} lx;

/* A timer of an agent, or a message the host sends later. */
typedef struct ltimer {
	pool_hdr h;
	struct event ev;
	struct live_host *host;
	mesh_agent *agent;
	mesh_timer_fn fn;       /* NULL: deliver or send `msg` */
	uint64_t arg;
	int deliver;            /* msg goes to `agent`'s on_msg */
	uint32_t to;            /* send: the destination */
	mesh_msg msg;
} ltimer;

typedef struct listener {
	lh_server *srv;
	mesh_agent *agent;
	enum live_listener kind;
	struct live_host *host;
} listener;

struct live_host {
	mesh_env env;           /* first: agents hold &env */
	struct event_base *base;
	const live_topo *topo;
	const model *m;
	uint32_t pod;
	uint32_t service;       /* this pod's service or MODEL_CLIENTS */
	uint64_t t0;
	rng rng;
	pool xs;                /* lx */
	pool timers;            /* ltimer */
	mesh_agent **agents;    /* by agent id, those hosted here */
	uint32_t nagents;
	listener lst[4];
	uint32_t nlst;
	lh_pool **inbound;      /* [npods] to each pod's sidecar inbound */
	lh_pool **outbound;     /* [npods] to each pod's sidecar outbound */
	lh_pool *app;
	char app_ip[64];
	uint16_t app_port;
	/* (agent, tag) -> client lx index + 1, open addressing */
	uint32_t *map;
	uint32_t map_cap, map_n;
	netfault_state nf;
	int nf_ok;
	live_host_stats st;
	uint64_t *bw_read;      /* [npods] bytes/s limits on inbound[p] */
	uint64_t *bw_write;
	/* Mutual TLS (live_host_set_mtls); tm NULL: none. */
	tls_mesh *tm;
	uint32_t tw;            /* our workload (== pod) */
	listener *tls_lst;      /* the inbound listener, or NULL */
	SSL_CTX *tls_sctx;      /* the contexts in force: references of ours */
	SSL_CTX *tls_cctx;
	int tls_mode;           /* the inbound's enum lh_tls_mode now */
	uint8_t *tls_pool;      /* [npods] inbound[p] speaks mutual TLS */
	lh_tls_stats *tls_seen; /* [npods] pool counters recorded so far */
	uint64_t *tls_opened;   /* [npods] plaintext pools: opened, recorded */
	uint64_t *tls_refused;  /* [npods] plaintext tries a STRICT inbound
				 * closed, not yet taken off tls_opened */
	lh_tls_stats tls_srv_seen;
	uint64_t tls_acc_seen;  /* the listener's accepted, recorded */
	uint64_t tls_drained;   /* plaintext requests refused on connections
				 * older than a switch to STRICT, and not
				 * sent again by the caller */
};

static live_host *host_of(mesh_env *e)
{
	return (live_host *)e;
}

struct timeval live_timeval(uint64_t ns)
{
	struct timeval tv = {.tv_sec = (time_t)(ns / 1000000000ull),
			     .tv_usec = (suseconds_t)(ns % 1000000000ull / 1000)};
	return tv;
}

uint64_t live_monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int64_t live_wall_ns_at(uint64_t mono)
{
	struct timespec rt;
	clock_gettime(CLOCK_REALTIME, &rt);
	uint64_t now = live_monotonic_ns();
	int64_t wall = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
	return wall + ((int64_t)mono - (int64_t)now);
}

/* ---- exchange handles ---- */

/* An xref is the exchange's pool tag: index and 32-bit generation. */
static uint64_t xref_of(live_host *h, uint32_t i)
{
	return pool_tag(&h->xs, i);
}

static lx *xref_lookup(live_host *h, uint64_t xref, uint32_t *idx)
{
	if (!xref)
		return NULL;
	return pool_lookup(&h->xs, xref, idx);
}

static lx *lx_new(live_host *h, uint8_t kind, uint32_t *idx)
{
	lx *x;
	uint32_t i = pool_alloc(&h->xs, (void **)&x);
	if (i == POOL_NONE)
		return NULL;
	uint32_t gen = x->h.gen;
	memset(x, 0, sizeof *x);
	x->h.gen = gen;
	x->kind = kind;
	x->self = i;
	x->source = MODEL_NONE;
	lh_head_init(&x->head);
	*idx = i;
	return x;
}

/* ---- (agent, tag) map of client exchanges, for cancels ---- */

static uint32_t map_hash(uint32_t agent, uint64_t tag, uint32_t cap)
{
	uint64_t x = tag ^ ((uint64_t)agent << 40) ^ agent;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return (uint32_t)x & (cap - 1);
}

static int map_put(live_host *h, uint32_t i);

static int map_grow(live_host *h)
{
	uint32_t *old = h->map, ocap = h->map_cap;
	uint32_t cap = ocap ? ocap * 2 : 1024;
	uint32_t *m = calloc(cap, sizeof *m);
	if (!m)
		return -1;
	h->map = m;
	h->map_cap = cap;
	h->map_n = 0;
	for (uint32_t k = 0; k < ocap; k++)
		if (old[k])
			map_put(h, old[k] - 1);
	free(old);
	return 0;
}

static int map_put(live_host *h, uint32_t i)
{
	if ((h->map_n + 1) * 2 > h->map_cap && map_grow(h) < 0)
		return -1;
	lx *x = pool_at(&h->xs, i);
	uint32_t k = map_hash(x->agent->id, x->tag, h->map_cap);
	while (h->map[k])
		k = (k + 1) & (h->map_cap - 1);
	h->map[k] = i + 1;
	h->map_n++;
	x->in_map = 1;
	return 0;
}

static uint32_t map_find_slot(live_host *h, uint32_t agent, uint64_t tag)
{
	if (!h->map_cap)
		return UINT32_MAX;
	uint32_t k = map_hash(agent, tag, h->map_cap);
	while (h->map[k]) {
		lx *x = pool_at(&h->xs, h->map[k] - 1);
		if (x->agent->id == agent && x->tag == tag)
			return k;
		k = (k + 1) & (h->map_cap - 1);
	}
	return UINT32_MAX;
}

/* Remove slot k, shifting later entries of its run back (no tombstones). */
static void map_del_slot(live_host *h, uint32_t k)
{
	uint32_t mask = h->map_cap - 1;
	lx *gone = pool_at(&h->xs, h->map[k] - 1);
	gone->in_map = 0;
	h->map[k] = 0;
	h->map_n--;
	uint32_t j = k;
	for (;;) {
		j = (j + 1) & mask;
		if (!h->map[j])
			return;
		lx *x = pool_at(&h->xs, h->map[j] - 1);
		uint32_t want = map_hash(x->agent->id, x->tag, h->map_cap);
		/* Move j back to k unless its home lies cyclically in (k, j]. */
		if ((j > k && (want <= k || want > j)) ||
		    (j < k && (want <= k && want > j))) {
			h->map[k] = h->map[j];
			h->map[j] = 0;
			k = j;
		}
	}
}

/* Remove x's own entry: found by identity, not by (agent, tag), since an
 * app's parallel calls share one tag. */
static void map_del(live_host *h, lx *x)
{
	if (!x->in_map)
		return;
	uint32_t k = map_hash(x->agent->id, x->tag, h->map_cap);
	while (h->map[k]) {
		if (h->map[k] == x->self + 1) {
			map_del_slot(h, k);
			return;
		}
		k = (k + 1) & (h->map_cap - 1);
	}
}

/* ---- freeing exchanges ---- */

static void client_free(live_host *h, lx *c, uint32_t i)
{
	map_del(h, c);
	lh_head_clear(&c->head);
	if (c->body)
		evbuffer_free(c->body);
	c->body = NULL;
	pool_free(&h->xs, i);
}

/* Give up a client exchange the host no longer needs: reset it. */
static void client_kill(live_host *h, lx *c, uint32_t i)
{
	if (c->cx)
		lh_cx_cancel(c->cx);
	c->cx = NULL;
	client_free(h, c, i);
}

static void post_deliver(live_host *h, mesh_agent *a, const mesh_msg *m,
			 mesh_time delay);

static void server_free(live_host *h, lx *s, uint32_t i)
{
	uint64_t rel[LX_MAX_RELAYS];
	memcpy(rel, s->relays, sizeof rel);
	int done = s->body_done;
	if (s->sx)
		lh_sx_set_data(s->sx, NULL);
	lh_head_clear(&s->head);
	if (s->body)
		evbuffer_free(s->body);
	s->body = NULL;
	pool_free(&h->xs, i);
	/* Tries still streaming a body that will not be complete now are
	 * reset; tries with their whole body go on. Their agents hear of it
	 * on a later loop turn, never from inside this call (which may come
	 * from inside an agent). */
	for (uint32_t k = 0; k < LX_MAX_RELAYS; k++) {
		uint32_t ci;
		lx *c = xref_lookup(h, rel[k], &ci);
		if (!c || c->kind != LX_CLIENT)
			continue;
		c->body_src = 0;
		if (done || !c->cx)
			continue;
		lh_cx_cancel(c->cx);
		c->cx = NULL;
		if (c->state == CX_WAIT_HEAD) {
			mesh_msg r = {.kind = MESH_RESP, .status = 503,
				      .route = c->route, .from = c->to,
				      .flags = MESH_RF_UR, .tag = c->tag};
			post_deliver(h, c->agent, &r, 0);
		}
		client_free(h, c, ci);
	}
}

/* ---- timers ---- */

static void deliver(mesh_agent *a, const mesh_msg *m)
{
	a->ops->on_msg(a, m);
}

static void do_send(live_host *h, mesh_agent *from, uint32_t to,
		    const mesh_msg *m);

static void timer_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	ltimer *t = arg;
	live_host *h = t->host;
	mesh_agent *a = t->agent;
	mesh_timer_fn fn = t->fn;
	uint64_t x = t->arg;
	int dlv = t->deliver;
	uint32_t to = t->to;
	mesh_msg msg = t->msg;
	pool_free(&h->timers, (uint32_t)t->h.next);
	if (fn)
		fn(a, x);
	else if (dlv)
		deliver(a, &msg);
	else
		do_send(h, a, to, &msg);
}

static uint64_t timer_post(live_host *h, mesh_time delay, ltimer **out)
{
	ltimer *t;
	uint32_t i = pool_alloc(&h->timers, (void **)&t);
	if (i == POOL_NONE)
		abort(); /* a lost timer would lose a request's outcome */
	t->host = h;
	/* The free-list link is unused while the record is live: keep the
	 * record's own index there, for the callback. */
	t->h.next = i;
	t->fn = NULL;
	t->deliver = 0;
	event_assign(&t->ev, h->base, -1, 0, timer_cb, t);
	struct timeval tv = live_timeval(delay);
	event_add(&t->ev, &tv);
	*out = t;
	return pool_tag(&h->timers, i);
}

static mesh_time env_now(mesh_env *e)
{
	live_host *h = host_of(e);
	uint64_t now = live_monotonic_ns();
	return h->t0 && now > h->t0 ? now - h->t0 : 0;
}

static uint64_t env_timer_start(mesh_env *e, mesh_time delay, mesh_agent *a,
				mesh_timer_fn fn, uint64_t arg)
{
	live_host *h = host_of(e);
	ltimer *t;
	uint64_t handle = timer_post(h, delay, &t);
	t->agent = a;
	t->fn = fn;
	t->arg = arg;
	return handle;
}

static void env_timer_cancel(mesh_env *e, uint64_t handle)
{
	live_host *h = host_of(e);
	uint32_t i;
	ltimer *t = pool_lookup(&h->timers, handle, &i);
	if (!t)
		return;
	event_del(&t->ev);
	pool_free(&h->timers, i);
}

/* Give `m` to agent a later (0: on the next loop turn): never from inside
 * the agent's own call, which may be half-way through changing its state. */
static void post_deliver(live_host *h, mesh_agent *a, const mesh_msg *m,
			 mesh_time delay)
{
	ltimer *t;
	timer_post(h, delay, &t);
	t->agent = a;
	t->deliver = 1;
	t->msg = *m;
}

/* ---- wire details ---- */

static const char *const flag_names[] = {"UO", "UF", "UR", "UT", "URX",
					 "UH", "FI", "DI", "RBAC"};

static uint32_t parse_flags(const char *v)
{
	uint32_t f = 0;
	while (v && *v) {
		while (*v == ',' || *v == ' ')
			v++;
		size_t n = strcspn(v, ", ");
		for (uint32_t k = 0; k < sizeof flag_names / sizeof *flag_names; k++)
			if (strlen(flag_names[k]) == n && !strncmp(v, flag_names[k], n))
				f |= 1u << k;
		v += n;
	}
	return f;
}

static void format_flags(uint32_t f, char *buf, size_t len)
{
	size_t o = 0;
	buf[0] = 0;
	for (uint32_t k = 0; k < sizeof flag_names / sizeof *flag_names; k++)
		if (f & (1u << k) && o + 5 < len)
			o += (size_t)snprintf(buf + o, len - o, "%s%s", o ? "," : "",
					      flag_names[k]);
}

static const char *const method_names[METHOD_COUNT] = {
	"GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"};

static int parse_method(const char *s)
{
	for (int k = 0; k < METHOD_COUNT; k++)
		if (!strcmp(s, method_names[k]))
			return k;
	return -1;
}

/* FNV-1a: a request id that is not our own 16 hex digits still maps to a
 * stable 64-bit id. */
static uint64_t hash_str(const char *s)
{
	uint64_t x = 1469598103934665603ull;
	for (; *s; s++) {
		x ^= (unsigned char)*s;
		x *= 1099511628211ull;
	}
	return x;
}

static uint64_t parse_req_id(const char *v)
{
	if (strlen(v) == 16) {
		uint64_t x = 0;
		int ok = 1;
		for (int k = 0; k < 16 && ok; k++) {
			int c = tolower((unsigned char)v[k]);
			if (c >= '0' && c <= '9')
				x = x << 4 | (uint64_t)(c - '0');
			else if (c >= 'a' && c <= 'f')
				x = x << 4 | (uint64_t)(c - 'a' + 10);
			else
				ok = 0;
		}
		if (ok)
			return x;
	}
	return hash_str(v);
}

static int find_service(const model *m, const char *host)
{
	size_t n = strcspn(host, ":");
	for (uint32_t s = 0; s < m->nservices; s++)
		if (strlen(m->services[s].name) == n &&
		    !strncmp(m->services[s].name, host, n))
			return (int)s;
	return -1;
}

static int find_route(const model *m, uint32_t svc, const char *target)
{
	size_t n = strcspn(target, "?#");
	for (uint32_t r = 0; r < m->nroutes; r++)
		if (m->routes[r].service == svc &&
		    strlen(m->routes[r].path) == n &&
		    !strncmp(m->routes[r].path, target, n))
			return (int)r;
	return -1;
}

/* The calling service named in x-meshsim-source. */
static uint32_t parse_source(const model *m, const char *v)
{
	if (!v)
		return MODEL_NONE;
	if (!strncmp(v, "client/", 7))
		return MODEL_CLIENTS;
	int s = find_service(m, v);
	return s < 0 ? MODEL_NONE : (uint32_t)s;
}

/* The header pairs of the scenario this request carries, and its user id
 * for ring hashing: a decimal value is the id itself (as our load clients
 * send it), anything else is hashed. */
static void parse_match_headers(const model *m, const lh_head *hd,
				uint64_t *mask, uint32_t *user)
{
	*mask = 0;
	*user = 0;
	for (uint32_t i = 0; i < m->nheaders && i < 64; i++) {
		const char *v = lh_head_get(hd, m->headers[i].name);
		if (v && !strcmp(v, m->headers[i].value))
			*mask |= 1ull << i;
	}
	for (uint32_t n = 0; n < m->nheader_names && n < 255; n++) {
		const char *v = lh_head_get(hd, m->header_names[n]);
		if (!v)
			continue;
		char *end;
		unsigned long id = strtoul(v, &end, 10);
		if (*v == 0 || *end || id >= (1u << 24))
			id = hash_str(v) & 0xffffffu;
		*user = (n + 1) << 24 | (uint32_t)id;
		break;
	}
}

static void source_name(const live_host *h, char *buf, size_t len)
{
	if (h->service == MODEL_CLIENTS) {
		uint32_t c = h->pod - h->topo->ninst;
		snprintf(buf, len, "client/%s",
			 c < h->m->nclients ? h->m->clients[c].name : "load");
	} else {
		snprintf(buf, len, "%s", h->m->services[h->service].name);
	}
}

/* ---- sending ---- */

static lh_pool *pool_for(live_host *h, mesh_agent *from, uint32_t to)
{
	char ip[16];
	uint32_t pod = to / 2;
	if (!(to & 1)) {
		if (!h->app) {
			if (h->app_port) {
				h->app = lh_pool_new(h->base, h->app_ip, h->app_port,
						     0, 0);
			} else {
				live_pod_ip(h->topo, pod, ip);
				h->app = lh_pool_new(h->base, ip, LIVE_PORT_APP, 0, 0);
			}
		}
		return h->app;
	}
	if (pod >= h->topo->npods)
		return NULL;
	live_pod_ip(h->topo, pod, ip);
	if (from->id + 1 == to) {
		if (!h->outbound[pod])
			h->outbound[pod] = lh_pool_new(h->base, ip,
						       LIVE_PORT_OUTBOUND, 0, 0);
		return h->outbound[pod];
	}
	if (!h->inbound[pod]) {
		uint32_t svc = h->topo->pod_service[pod];
		mesh_time ct = svc < h->m->nservices
				       ? h->m->services[svc].policy.connect_timeout
				       : MESH_NEVER;
		uint32_t ms = ct == MESH_NEVER ? 0 : (uint32_t)((ct + MESH_MS - 1) / MESH_MS);
		h->inbound[pod] = lh_pool_new(h->base, ip, LIVE_PORT_INBOUND, 0, ms);
		if (h->inbound[pod] && (h->bw_read[pod] || h->bw_write[pod]))
			lh_pool_set_rates(h->inbound[pod], h->bw_read[pod],
					  h->bw_write[pod]);
		/* Istio's auto mTLS: mutual TLS to a callee whose mode is not
		 * DISABLE when we have an identity, requiring the callee's
		 * SPIFFE ID (the cluster's match_subject_alt_names). */
		if (h->inbound[pod] && h->tm && h->tls_cctx && pod < h->topo->ninst &&
		    tls_mesh_caller_tls(h->tm, h->tw, svc)) {
			if (lh_pool_set_tls(h->inbound[pod], h->tls_cctx,
					    tls_mesh_spiffe_id(h->tm, pod)) < 0) {
				lh_pool_free(h->inbound[pod]);
				h->inbound[pod] = NULL;
			} else {
				h->tls_pool[pod] = 1;
			}
		}
	}
	return h->inbound[pod];
}

static void client_on_response(void *arg, lh_cx *x, const lh_head *head);
static void client_on_body(void *arg, lh_cx *x, struct evbuffer *chunk);
/* A try took in the body it was sent: read more of it, unless another
 * try of the same request still has too much to send. */
static void client_on_drain(void *arg, lh_cx *x)
{
	live_host *h = arg;
	lx *c = lh_cx_data(x);
	lx *s = c ? xref_lookup(h, c->body_src, NULL) : NULL;
	if (!s || s->kind != LX_SERVER || !s->sx || !s->read_paused || !s->tries)
		return;
	for (uint32_t k = 0; k < LX_MAX_RELAYS; k++) {
		lx *o = xref_lookup(h, s->relays[k], NULL);
		if (o && o->kind == LX_CLIENT && o->cx &&
		    lh_cx_backlog(o->cx) > RELAY_HIGH)
			return;
	}
	s->read_paused = 0;
	lh_sx_read_enable(s->sx, 1);
}

/* A relayed answer is over: end (or, cut short, reset) the downstream
 * response and let go of both exchanges. */
static void relay_finish(live_host *h, lx *c, uint32_t ci, int cut)
{
	uint32_t si;
	lx *s = xref_lookup(h, c->relay_to, &si);
	if (s && s->sx) {
		if (cut)
			lh_sx_abort(s->sx);
		else
			lh_sx_respond_end(s->sx);
		s->sx = NULL;
		server_free(h, s, si);
	}
	client_free(h, c, ci);
}

static void client_on_end(void *arg, lh_cx *x);
static void client_on_error(void *arg, lh_cx *x, int err);

static void client_on_drain(void *arg, lh_cx *x);

static const lh_client_cbs client_cbs = {
	.on_response = client_on_response,
	.on_body = client_on_body,
	.on_end = client_on_end,
	.on_error = client_on_error,
	.on_drain = client_on_drain,
};

/* The head of a request made up by an app or a load client. */
static int synth_request(live_host *h, const mesh_msg *m, lh_head *req)
{
	const model *mod = h->m;
	const model_route *rt = &mod->routes[m->route];
	char buf[64];
	snprintf(req->method, sizeof req->method, "%s",
		 m->method < METHOD_COUNT ? method_names[m->method] : "GET");
	if (lh_head_set_target(req, rt->path) < 0 ||
	    lh_head_add(req, "host", mod->services[rt->service].name) < 0)
		return -1;
	snprintf(buf, sizeof buf, "%016llx", (unsigned long long)m->req_id);
	if (lh_head_add(req, "x-request-id", buf) < 0)
		return -1;
	for (uint32_t i = 0; i < mod->nheaders && i < 64; i++)
		if (m->headers & (1ull << i) &&
		    lh_head_add(req, mod->headers[i].name, mod->headers[i].value) < 0)
			return -1;
	if (m->user) {
		uint32_t n = (m->user >> 24) - 1;
		if (n < mod->nheader_names) {
			snprintf(buf, sizeof buf, "%u", m->user & 0xffffffu);
			if (lh_head_add(req, mod->header_names[n], buf) < 0)
				return -1;
		}
	}
	req->content_length = (int64_t)m->size;
	return 0;
}

/* Request m from `from` to `to` could not be sent (no connection: UF;
 * its body is gone: UR): `from` gets the 503 the simulator would give,
 * on the next loop turn. */
static void fail_try(live_host *h, mesh_agent *from, uint32_t to,
		     const mesh_msg *m, uint32_t flags)
{
	mesh_msg r = {.kind = MESH_RESP, .status = 503, .route = m->route,
		      .from = to, .flags = flags, .tag = m->tag,
		      .req_id = m->req_id};
	post_deliver(h, from, &r, 0);
}

static void send_request(live_host *h, mesh_agent *from, uint32_t to,
			 const mesh_msg *m)
{
	uint32_t ci;
	lx *c = lx_new(h, LX_CLIENT, &ci);
	lh_pool *p = c ? pool_for(h, from, to) : NULL;
	if (!p) {
		if (c)
			pool_free(&h->xs, ci);
		fail_try(h, from, to, m, MESH_RF_UF);
		return;
	}
	c->agent = from;
	c->to = to;
	c->tag = m->tag;
	c->route = m->route;
	uint32_t si;
	lx *s = xref_lookup(h, m->xref, &si);
	if (s && s->kind != LX_SERVER)
		s = NULL;
	if (s && s->body_over && s->tries) {
		/* The body was too big to keep and went to an earlier try:
		 * it cannot be sent again (Envoy does not retry then). */
		pool_free(&h->xs, ci);
		fail_try(h, from, to, m, MESH_RF_UR);
		return;
	}
	lh_head req;
	lh_head_init(&req);
	int bad;
	if (s) {
		bad = lh_head_copy(&req, &s->head);
		lh_head_strip_hop_by_hop(&req);
		req.content_length = s->head.content_length;
	} else {
		bad = synth_request(h, m, &req);
	}
	if (!bad && (from->id & 1)) {
		char src[128];
		source_name(h, src, sizeof src);
		lh_head_del(&req, "x-meshsim-source");
		bad = lh_head_add(&req, "x-meshsim-source", src);
	}
	c->cx = bad ? NULL : lh_request(p, &req, &client_cbs, h);
	lh_head_clear(&req);
	if (!c->cx) {
		pool_free(&h->xs, ci);
		fail_try(h, from, to, m, MESH_RF_UF);
		return;
	}
	lh_cx_set_data(c->cx, c);
	h->st.requests_out++;
	map_put(h, ci);
	if (!s) {
		if (m->size)
			lh_cx_body_fill(c->cx, m->size);
		lh_cx_body_end(c->cx);
		return;
	}
	s->tries++;
	c->body_src = m->xref;
	if (s->body && evbuffer_get_length(s->body)) {
		struct evbuffer *copy = evbuffer_new();
		if (copy) {
			evbuffer_add_buffer_reference(copy, s->body);
			lh_cx_body(c->cx, copy);
			evbuffer_free(copy);
		}
	}
	if (s->body_done) {
		lh_cx_body_end(c->cx);
		return;
	}
	for (uint32_t k = 0; k < LX_MAX_RELAYS; k++) {
		lx *o = xref_lookup(h, s->relays[k], NULL);
		if (!o || o->kind != LX_CLIENT || !o->cx) {
			s->relays[k] = xref_of(h, ci);
			c->relay_to = 0;
			/* The body waited for its first try: read on. */
			if (s->read_paused && s->sx) {
				s->read_paused = 0;
				lh_sx_read_enable(s->sx, 1);
			}
			return;
		}
	}
	/* More tries at once than we stream to (tries of one request are
	 * sequential, so this is a bound, not a case): this one is reset,
	 * and its agent hears so. */
	client_kill(h, c, ci);
	fail_try(h, from, to, m, MESH_RF_UR);
}

/* A response made up by an agent (a service's answer, a sidecar's local
 * reply): Envoy's local replies carry a short text body. */
static void send_synth_response(live_host *h, lx *s, uint32_t si,
				const mesh_msg *m)
{
	lh_head resp;
	lh_head_init(&resp);
	resp.status = m->status;
	resp.major = 1;
	resp.minor = 1;
	char fl[64];
	const char *text = NULL;
	if (m->flags) {
		format_flags(m->flags, fl, sizeof fl);
		lh_head_add(&resp, "x-meshsim-flags", fl);
		if (m->flags & MESH_RF_UO)
			lh_head_add(&resp, "x-envoy-overloaded", "true");
		if (!m->size) {
			if (m->flags & MESH_RF_RBAC)
				text = "RBAC: access denied"; /* Envoy's words */
			else if (m->flags & MESH_RF_UT)
				text = "upstream request timeout";
			else if (m->flags & MESH_RF_UO)
				text = "upstream overflow";
			else if (m->flags & MESH_RF_UH)
				text = "no healthy upstream";
			else if (m->flags & MESH_RF_FI)
				text = "fault filter abort";
			else
				text = "upstream connect error or disconnect/reset "
				       "before headers";
		}
	}
	if (text) {
		lh_head_add(&resp, "content-type", "text/plain");
		resp.content_length = (int64_t)strlen(text);
	} else {
		resp.content_length = (int64_t)m->size;
	}
	char rid[32];
	snprintf(rid, sizeof rid, "%016llx", (unsigned long long)m->req_id);
	const char *orig = lh_head_get(&s->head, "x-request-id");
	lh_head_add(&resp, "x-request-id", orig ? orig : rid);
	lh_sx *sx = s->sx;
	if (lh_sx_respond_head(sx, &resp) == 0) {
		if (text) {
			struct evbuffer *b = evbuffer_new();
			if (b) {
				evbuffer_add(b, text, strlen(text));
				lh_sx_respond_body(sx, b);
				evbuffer_free(b);
			}
		} else if (m->size) {
			lh_sx_respond_fill(sx, m->size);
		}
		lh_sx_respond_end(sx);
	} else {
		lh_sx_abort(sx);
	}
	s->sx = NULL;
	lh_head_clear(&resp);
	server_free(h, s, si);
}

static void send_response(live_host *h, const mesh_msg *m)
{
	uint32_t si = 0, ci = 0;
	lx *s = pool_lookup(&h->xs, m->tag, &si);
	lx *c = xref_lookup(h, m->xref, &ci);
	if (c && (c->kind != LX_CLIENT ||
		  (c->state != CX_DELIVERING && c->state != CX_HELD)))
		c = NULL;
	if (!s || s->kind != LX_SERVER || !s->sx) {
		/* The caller went away: nobody to answer. */
		if (s && s->kind == LX_SERVER)
			server_free(h, s, si);
		if (c)
			client_kill(h, c, ci);
		return;
	}
	if (m->status == 0) {
		/* A reset: the caller sees its connection cut. */
		lh_sx_abort(s->sx);
		s->sx = NULL;
		server_free(h, s, si);
		if (c)
			client_kill(h, c, ci);
		return;
	}
	if (!c) {
		send_synth_response(h, s, si, m);
		return;
	}
	/* Relay the upstream's answer: its head now, its body as it comes. */
	lh_head resp;
	lh_head_init(&resp);
	lh_head_copy(&resp, &c->head);
	lh_head_strip_hop_by_hop(&resp);
	resp.status = m->status;
	resp.content_length = c->head.content_length;
	uint32_t fl = m->flags | parse_flags(lh_head_get(&c->head, "x-meshsim-flags"));
	lh_head_del(&resp, "x-meshsim-flags");
	if (fl) {
		char buf[64];
		format_flags(fl, buf, sizeof buf);
		lh_head_add(&resp, "x-meshsim-flags", buf);
	}
	int bad = lh_sx_respond_head(s->sx, &resp);
	lh_head_clear(&resp);
	if (bad) {
		lh_sx_abort(s->sx);
		s->sx = NULL;
		server_free(h, s, si);
		client_kill(h, c, ci);
		return;
	}
	if (c->body && evbuffer_get_length(c->body))
		lh_sx_respond_body(s->sx, c->body);
	if (c->body_done || c->resp_err) {
		if (c->resp_err)
			lh_sx_abort(s->sx);
		else
			lh_sx_respond_end(s->sx);
		s->sx = NULL;
		server_free(h, s, si);
		client_free(h, c, ci);
		return;
	}
	c->state = CX_RELAY;
	c->relay_to = xref_of(h, si);
	s->relay_from = xref_of(h, ci);
	if (c->cx)
		lh_cx_read_enable(c->cx, 1);
}

static void do_send(live_host *h, mesh_agent *from, uint32_t to,
		    const mesh_msg *m)
{
	if (m->kind == MESH_REQ) {
		send_request(h, from, to, m);
	} else if (m->kind == MESH_RESP) {
		send_response(h, m);
	} else if (m->kind == MESH_CANCEL) {
		uint32_t k = map_find_slot(h, from->id, m->tag);
		if (k != UINT32_MAX)
			client_kill(h, pool_at(&h->xs, h->map[k] - 1), h->map[k] - 1);
	}
}

/* The network between pods: partitions, added latency, loss (the same
 * code the simulator runs, agents/netfault.c). Bandwidth limits are real
 * here: the sockets are throttled (live_host_faults_changed). */
static int hop_faults(live_host *h, mesh_agent *from, uint32_t to,
		      const mesh_msg *m, mesh_time *hop)
{
	if (!h->nf_ok || !(from->id & 1))
		return NETFAULT_PASS;
	uint32_t ts;
	if (m->kind == MESH_REQ) {
		if (!(to & 1) || to / 2 == h->pod)
			return NETFAULT_PASS;
		ts = h->topo->pod_service[to / 2];
	} else {
		lx *s = pool_lookup(&h->xs, m->tag, NULL);
		if (!s || s->kind != LX_SERVER || s->lkind != LIVE_L_INBOUND ||
		    s->source == MODEL_NONE)
			return NETFAULT_PASS;
		ts = s->source;
	}
	return netfault_hop(&h->nf, h->m, h->env.faults_on, h->env.rec,
			    from->id, h->service, ts, m, &h->rng,
			    env_now(&h->env), 0, hop);
}

static void env_send(mesh_env *e, mesh_agent *from, uint32_t to,
		     const mesh_msg *m, mesh_time delay)
{
	live_host *h = host_of(e);
	mesh_time hop = 0;
	int v = hop_faults(h, from, to, m, &hop);
	if (v == NETFAULT_REFUSE) {
		/* No connection can be made across the cut: the caller hears
		 * of it when its connect timeout runs out. */
		uint32_t svc = h->topo->pod_service[to / 2];
		mesh_time ct = h->m->services[svc].policy.connect_timeout;
		mesh_msg r = {.kind = MESH_RESP, .status = 503, .route = m->route,
			      .from = to, .flags = MESH_RF_UF, .tag = m->tag,
			      .req_id = m->req_id};
		post_deliver(h, from, &r, ct == MESH_NEVER ? 0 : ct);
		return;
	}
	if (v == NETFAULT_DROP) {
		/* An answer lost across the cut: the caller times out. The
		 * exchange stays open until the caller gives up on it. */
		uint32_t ci;
		lx *c = xref_lookup(h, m->xref, &ci);
		if (c && c->kind == LX_CLIENT &&
		    (c->state == CX_DELIVERING || c->state == CX_HELD))
			client_kill(h, c, ci);
		return;
	}
	delay += hop;
	if (delay) {
		/* Keep the upstream answer this response carries until then. */
		lx *c = xref_lookup(h, m->xref, NULL);
		if (m->kind == MESH_RESP && c && c->kind == LX_CLIENT &&
		    c->state == CX_DELIVERING)
			c->state = CX_HELD;
		ltimer *t;
		timer_post(h, delay, &t);
		t->agent = from;
		t->to = to;
		t->msg = *m;
		return;
	}
	do_send(h, from, to, m);
}

static void env_abandon(mesh_env *e, mesh_agent *from, uint32_t to,
			uint64_t tag)
{
	(void)to;
	live_host *h = host_of(e);
	uint32_t k = map_find_slot(h, from->id, tag);
	if (k != UINT32_MAX)
		client_kill(h, pool_at(&h->xs, h->map[k] - 1), h->map[k] - 1);
}

static const mesh_env_ops live_env_ops = {
	.now = env_now,
	.timer_start = env_timer_start,
	.timer_cancel = env_timer_cancel,
	.send = env_send,
	.abandon = env_abandon,
};

/* ---- client exchange callbacks ---- */

static void tls_hit(live_host *h, uint32_t sw, int reason);

/* A plaintext try to another pod's inbound that the callee's STRICT
 * listener closed at its first byte: the caller counts it too, as
 * plaintext_rejected (the simulator counts the refusal at both ends), and
 * not as a plaintext connection. The caller knows the callee's mode as
 * its tls_mesh does (mtls_strict faults are applied to every workload in
 * every sidecar's tls_mesh for this). */
static void tls_note_refused(live_host *h, const lx *c)
{
	uint32_t pod = c->to / 2;
	if (!h->tm || !(c->agent->id & 1) || !(c->to & 1) || pod == h->pod ||
	    pod >= h->topo->ninst || h->tls_pool[pod] ||
	    tls_mesh_inbound_mode(h->tm, pod) != MTLS_STRICT)
		return;
	rec_tls_failure(h->env.rec, h->tw, REC_TLS_OUTBOUND, REC_TLS_PLAINTEXT_REJECTED);
	tls_hit(h, pod, REC_TLS_PLAINTEXT_REJECTED);
	h->tls_refused[pod]++;
}

static void client_on_response(void *arg, lh_cx *x, const lh_head *head)
{
	live_host *h = arg;
	lx *c = lh_cx_data(x);
	if (!c)
		return;
	lh_head_copy(&c->head, head);
	const char *rid = lh_head_get(head, "x-request-id");
	mesh_msg r = {.kind = MESH_RESP, .status = (uint16_t)head->status,
		      .route = c->route, .from = c->to,
		      .flags = parse_flags(lh_head_get(head, "x-meshsim-flags")),
		      .tag = c->tag,
		      .size = head->content_length > 0 ? (uint64_t)head->content_length : 0,
		      .req_id = rid ? parse_req_id(rid) : 0};
	if (r.status == 0)
		r.status = 502;
	if (!(c->agent->id & 1)) {
		/* An app or a load client has its answer when all of it is
		 * in, as a real client does. */
		c->state = CX_WAIT_END;
		c->resp = r;
		return;
	}
	/* A sidecar decides on the head (pass on, or retry), as Envoy. */
	r.xref = xref_of(h, c->self);
	c->state = CX_DELIVERING;
	map_del(h, c);
	c->agent->ops->on_msg(c->agent, &r);
	/* Nobody took the answer (a retry follows, or the try was given up
	 * meanwhile): read the rest of it and drop it. */
	c = xref_lookup(h, r.xref, NULL);
	if (c && c->state == CX_DELIVERING) {
		c->state = CX_DISCARD;
		if (c->body)
			evbuffer_drain(c->body, evbuffer_get_length(c->body));
	}
}

static void client_on_body(void *arg, lh_cx *x, struct evbuffer *chunk)
{
	live_host *h = arg;
	lx *c = lh_cx_data(x);
	if (!c)
		return;
	switch (c->state) {
	case CX_DELIVERING:
	case CX_HELD:
		if (!c->body)
			c->body = evbuffer_new();
		if (c->body)
			evbuffer_add_buffer(c->body, chunk);
		if (c->body && evbuffer_get_length(c->body) > RELAY_HIGH)
			lh_cx_read_enable(x, 0);
		return;
	case CX_RELAY: {
		lx *s = xref_lookup(h, c->relay_to, NULL);
		if (s && s->sx) {
			lh_sx_respond_body(s->sx, chunk);
			if (lh_sx_backlog(s->sx) > RELAY_HIGH)
				lh_cx_read_enable(x, 0);
		}
		return;
	}
	default:
		evbuffer_drain(chunk, evbuffer_get_length(chunk));
	}
}

static void client_on_end(void *arg, lh_cx *x)
{
	live_host *h = arg;
	lx *c = lh_cx_data(x);
	if (!c)
		return;
	uint32_t ci = c->self;
	c->cx = NULL;
	switch (c->state) {
	case CX_RELAY:
		relay_finish(h, c, ci, 0);
		return;
	case CX_DELIVERING:
	case CX_HELD:
		c->body_done = 1;
		return;
	case CX_WAIT_END: {
		mesh_msg r = c->resp;
		mesh_agent *a = c->agent;
		client_free(h, c, ci);
		deliver(a, &r);
		return;
	}
	default:
		client_free(h, c, ci);
	}
}

static void client_on_error(void *arg, lh_cx *x, int err)
{
	live_host *h = arg;
	lx *c = lh_cx_data(x);
	if (!c)
		return;
	uint32_t ci = c->self;
	c->cx = NULL;
	if (lh_err_is_connect(err))
		h->st.upstream_connect_fail++;
	else
		h->st.upstream_reset++;
	if (err == LH_ERR_RESET && c->state == CX_WAIT_HEAD)
		tls_note_refused(h, c);
	else if (h->tm && err >= LH_ERR_TLS_EXPIRED && err <= LH_ERR_TLS_OTHER)
		/* A failed handshake (one per connection): a hit of the fault
		 * behind it, while that fault is on. */
		tls_hit(h, c->to / 2, tls_mesh_rec_reason(err));
	switch (c->state) {
	case CX_WAIT_HEAD:
	case CX_WAIT_END: {
		/* As the simulator: a connection that cannot be made is UF, one
		 * cut before the answer is UR; the sidecar makes a 503 of it. */
		mesh_msg r = {.kind = MESH_RESP, .status = 503, .route = c->route,
			      .from = c->to,
			      .flags = lh_err_is_connect(err) ? MESH_RF_UF : MESH_RF_UR,
			      .tag = c->tag};
		mesh_agent *a = c->agent;
		client_free(h, c, ci);
		deliver(a, &r);
		return;
	}
	case CX_RELAY:
		/* Cut mid-body: the downstream sees its answer cut too. */
		relay_finish(h, c, ci, 1);
		return;
	case CX_DELIVERING:
	case CX_HELD:
		c->resp_err = 1;
		return;
	default:
		client_free(h, c, ci);
	}
}

/* ---- server exchange callbacks ---- */

static void server_on_request(void *arg, lh_sx *x, const lh_head *head)
{
	listener *l = arg;
	live_host *h = l->host;
	const model *m = h->m;
	h->st.requests_in++;
	if (l == h->tls_lst && h->tls_mode == LH_TLS_STRICT && !lh_sx_peer_id(x)) {
		/* A plaintext connection opened before the inbound turned
		 * STRICT (an mtls_strict fault): Envoy drains the filter chain
		 * that went away, so its next request finds the connection
		 * closed, as a new plaintext connection is at its first byte
		 * (the simulator closes these too). The caller's pool sends an
		 * idempotent request again on a new connection, which is
		 * refused and counted then; any other fails here, and is
		 * counted here. */
		static const char *const again[] = {"GET", "HEAD", "OPTIONS", "PUT",
						    "DELETE", "TRACE"};
		int resent = 0;
		for (size_t k = 0; k < sizeof again / sizeof *again; k++)
			resent |= !strcmp(head->method, again[k]);
		if (!resent)
			h->tls_drained++;
		lh_sx_abort(x);
		return;
	}
	const char *host = lh_head_get(head, "host");
	int svc = host ? find_service(m, host) : -1;
	int route = svc >= 0 && head->target ? find_route(m, (uint32_t)svc, head->target) : -1;
	if (route < 0) {
		/* Envoy answers 404 with the NR flag when no route matches. */
		h->st.no_route++;
		lh_head extra;
		lh_head_init(&extra);
		lh_head_add(&extra, "x-meshsim-flags", "NR");
		static const char msg[] = "no route: the scenario has no such service and path\n";
		lh_sx_respond_simple(x, 404, "text/plain", msg, sizeof msg - 1, &extra);
		lh_head_clear(&extra);
		return;
	}
	int method = parse_method(head->method);
	if (method < 0) {
		static const char msg[] = "method not implemented\n";
		lh_sx_respond_simple(x, 501, "text/plain", msg, sizeof msg - 1, NULL);
		return;
	}
	uint32_t si;
	lx *s = lx_new(h, LX_SERVER, &si);
	if (!s || lh_head_copy(&s->head, head) < 0) {
		if (s)
			pool_free(&h->xs, si);
		lh_sx_respond_simple(x, 503, "text/plain", "out of memory\n", 14, NULL);
		return;
	}
	s->sx = x;
	s->agent = l->agent;
	s->lkind = (uint8_t)l->kind;
	lh_sx_set_data(x, s);
	const char *rid = lh_head_get(head, "x-request-id");
	uint64_t req_id;
	if (rid) {
		req_id = parse_req_id(rid);
	} else {
		/* As Envoy, the first proxy gives a request its id. */
		char buf[20];
		req_id = rng_next(&h->rng);
		snprintf(buf, sizeof buf, "%016llx", (unsigned long long)req_id);
		lh_head_add(&s->head, "x-request-id", buf);
	}
	s->source = parse_source(m, lh_head_get(head, "x-meshsim-source"));
	/* The caller's identity for authorization, as the simulator's src
	 * (none from a peer that does not say: plaintext). With mutual TLS,
	 * only the client's certificate says who calls, as Istio's RBAC
	 * filter reads source.principal from the peer certificate. */
	uint32_t src = model_peer_of(m, lh_head_get(head, "x-meshsim-source"));
	if (h->tm)
		src = l->kind == LIVE_L_INBOUND
			      ? tls_mesh_src_of_id(m, lh_sx_peer_id(x)) : 0;
	mesh_msg q = {.kind = MESH_REQ, .method = (uint8_t)method,
		      .route = (uint32_t)route,
		      .src = src,
		      .xref = xref_of(h, si), .tag = pool_tag(&h->xs, si),
		      .size = head->content_length > 0 ? (uint64_t)head->content_length : 0,
		      .req_id = req_id};
	parse_match_headers(m, head, &q.headers, &q.user);
	if (l->kind == LIVE_L_OUTBOUND)
		q.from = l->agent->id - 1;
	else if (l->kind == LIVE_L_APP)
		q.from = l->agent->id + 1;
	else
		q.from = LIVE_REMOTE;
	deliver(l->agent, &q);
}

static void server_on_body(void *arg, lh_sx *x, struct evbuffer *chunk)
{
	live_host *h = ((listener *)arg)->host;
	lx *s = lh_sx_data(x);
	if (!s)
		return;
	int full = 0;
	for (uint32_t k = 0; k < LX_MAX_RELAYS; k++) {
		lx *c = xref_lookup(h, s->relays[k], NULL);
		if (c && c->kind == LX_CLIENT && c->cx) {
			struct evbuffer *copy = evbuffer_new();
			if (copy) {
				evbuffer_add_buffer_reference(copy, chunk);
				lh_cx_body(c->cx, copy);
				evbuffer_free(copy);
			}
			if (lh_cx_backlog(c->cx) > RELAY_HIGH)
				full = 1;
		}
	}
	if (!s->body_over) {
		if (!s->body)
			s->body = evbuffer_new();
		size_t have = s->body ? evbuffer_get_length(s->body) : 0;
		if (s->body && (!s->tries ||
				have + evbuffer_get_length(chunk) <= LIVE_RETRY_BUFFER)) {
			evbuffer_add_buffer(s->body, chunk);
			/* No try yet to stream to (a delay fault, a pending
			 * queue): keep what came, and stop reading once a
			 * retry buffer's worth is in. */
			if (!s->tries && have + evbuffer_get_length(chunk) > LIVE_RETRY_BUFFER)
				full = 1;
		} else {
			/* Too big to keep for a retry, as Envoy's buffer
			 * limit: tries after this one cannot be sent. */
			s->body_over = 1;
			if (s->body)
				evbuffer_drain(s->body, evbuffer_get_length(s->body));
		}
	}
	evbuffer_drain(chunk, evbuffer_get_length(chunk));
	if (full && !s->read_paused) {
		s->read_paused = 1;
		lh_sx_read_enable(x, 0);
	}
}

static void server_on_body_end(void *arg, lh_sx *x)
{
	live_host *h = ((listener *)arg)->host;
	lx *s = lh_sx_data(x);
	if (!s)
		return;
	s->body_done = 1;
	for (uint32_t k = 0; k < LX_MAX_RELAYS; k++) {
		lx *c = xref_lookup(h, s->relays[k], NULL);
		if (c && c->kind == LX_CLIENT && c->cx)
			lh_cx_body_end(c->cx);
		s->relays[k] = 0;
	}
}

static void server_on_abort(void *arg, lh_sx *x)
{
	listener *l = arg;
	live_host *h = l->host;
	lx *s = lh_sx_data(x);
	if (!s)
		return;
	h->st.downstream_abort++;
	uint32_t si = s->self;
	uint64_t tag = pool_tag(&h->xs, si);
	s->sx = NULL;
	uint32_t ci;
	lx *c = xref_lookup(h, s->relay_from, &ci);
	if (c && c->kind == LX_CLIENT)
		client_kill(h, c, ci);
	mesh_agent *a = s->agent;
	enum live_listener kind = (enum live_listener)s->lkind;
	server_free(h, s, si);
	if (kind == LIVE_L_OUTBOUND) {
		/* The app hung up (a client's timeout): the sidecar gives up
		 * the request, and resets its upstream try, as Envoy does. */
		mesh_msg q = {.kind = MESH_CANCEL, .from = a->id - 1, .tag = tag};
		deliver(a, &q);
	}
}

static void server_on_drain(void *arg, lh_sx *x)
{
	live_host *h = ((listener *)arg)->host;
	lx *s = lh_sx_data(x);
	if (!s)
		return;
	lx *c = xref_lookup(h, s->relay_from, NULL);
	if (c && c->kind == LX_CLIENT && c->cx)
		lh_cx_read_enable(c->cx, 1);
}

static const lh_server_cbs server_cbs = {
	.on_request = server_on_request,
	.on_body = server_on_body,
	.on_body_end = server_on_body_end,
	.on_abort = server_on_abort,
	.on_drain = server_on_drain,
};

/* ---- the host ---- */

live_host *live_host_new(struct event_base *base, const live_topo *topo,
			 uint32_t pod, struct rec *r, const uint8_t *faults_on)
{
	live_host *h = calloc(1, sizeof *h);
	if (!h)
		return NULL;
	h->env.ops = &live_env_ops;
	h->env.rec = r;
	h->env.model = topo->m;
	h->env.faults_on = faults_on;
	h->base = base;
	h->topo = topo;
	h->m = topo->m;
	h->pod = pod;
	h->service = pod < topo->npods ? topo->pod_service[pod] : MODEL_CLIENTS;
	char name[64];
	snprintf(name, sizeof name, "live/host/%u", pod);
	rng_stream(&h->rng, topo->m->seed ^ live_monotonic_ns(), name);
	pool_init(&h->xs, sizeof(lx));
	pool_init(&h->timers, sizeof(ltimer));
	h->nagents = 2 * topo->npods;
	h->agents = calloc(h->nagents, sizeof *h->agents);
	h->inbound = calloc(topo->npods, sizeof *h->inbound);
	h->outbound = calloc(topo->npods, sizeof *h->outbound);
	h->bw_read = calloc(topo->npods, sizeof *h->bw_read);
	h->bw_write = calloc(topo->npods, sizeof *h->bw_write);
	if (!h->agents || !h->inbound || !h->outbound || !h->bw_read ||
	    !h->bw_write) {
		live_host_free(h);
		return NULL;
	}
	h->nf_ok = netfault_init(&h->nf, topo->m, h->nagents) == 0;
	return h;
}

void live_host_free(live_host *h)
{
	if (!h)
		return;
	for (uint32_t i = 0; i < h->nlst; i++)
		lh_server_free(h->lst[i].srv);
	if (h->inbound)
		for (uint32_t p = 0; p < h->topo->npods; p++)
			if (h->inbound[p])
				lh_pool_free(h->inbound[p]);
	if (h->outbound)
		for (uint32_t p = 0; p < h->topo->npods; p++)
			if (h->outbound[p])
				lh_pool_free(h->outbound[p]);
	if (h->app)
		lh_pool_free(h->app);
	for (uint32_t i = 0; i < h->timers.n; i++) {
		ltimer *t = pool_at(&h->timers, i);
		if (t->h.gen & 1)
			event_del(&t->ev);
	}
	for (uint32_t i = 0; i < h->xs.n; i++) {
		lx *x = pool_at(&h->xs, i);
		if (x->h.gen & 1) {
			lh_head_clear(&x->head);
			if (x->body)
				evbuffer_free(x->body);
		}
	}
	if (h->nf_ok)
		netfault_destroy(&h->nf);
	SSL_CTX_free(h->tls_sctx);
	SSL_CTX_free(h->tls_cctx);
	free(h->tls_pool);
	free(h->tls_seen);
	free(h->tls_opened);
	free(h->tls_refused);
	pool_destroy(&h->xs);
	pool_destroy(&h->timers);
	free(h->agents);
	free(h->inbound);
	free(h->outbound);
	free(h->bw_read);
	free(h->bw_write);
	free(h->map);
	free(h);
}

mesh_env *live_host_env(live_host *h)
{
	return &h->env;
}

void live_host_add(live_host *h, mesh_agent *a)
{
	if (a->id < h->nagents)
		h->agents[a->id] = a;
}

int live_host_listen(live_host *h, mesh_agent *a, enum live_listener kind,
		     const char *ip, uint16_t port, char *err, size_t errlen)
{
	if (h->nlst >= sizeof h->lst / sizeof *h->lst) {
		snprintf(err, errlen, "too many listeners");
		return -1;
	}
	listener *l = &h->lst[h->nlst];
	l->agent = a;
	l->kind = kind;
	l->host = h;
	l->srv = lh_server_new(h->base, ip, port, &server_cbs, l, err, errlen);
	if (!l->srv)
		return -1;
	h->nlst++;
	return 0;
}

void live_host_set_app_addr(live_host *h, const char *addr, uint16_t port)
{
	snprintf(h->app_ip, sizeof h->app_ip, "%s", addr);
	h->app_port = port;
}

void live_host_set_t0(live_host *h, uint64_t t0)
{
	h->t0 = t0;
}

uint64_t live_host_t0(const live_host *h)
{
	return h->t0;
}

void live_host_faults_changed(live_host *h)
{
	/* A bandwidth fault is real here: the sidecar's connections to the
	 * target's instances are throttled, requests on the way out and
	 * answers on the way in (netfault.c works out the same limits the
	 * simulator applies to its links). */
	if (h->service == MODEL_CLIENTS && h->pod >= h->topo->ninst + h->m->nclients)
		return; /* the load process talks only to its sidecars */
	for (uint32_t p = 0; p < h->topo->ninst; p++) {
		uint32_t ts = h->topo->pod_service[p];
		uint64_t wr = netfault_bandwidth_rate(h->m, h->env.faults_on,
						      h->service, ts, MESH_REQ);
		uint64_t rd = netfault_bandwidth_rate(h->m, h->env.faults_on,
						      ts, h->service, MESH_RESP);
		if (rd == h->bw_read[p] && wr == h->bw_write[p])
			continue;
		h->bw_read[p] = rd;
		h->bw_write[p] = wr;
		if (h->inbound[p])
			lh_pool_set_rates(h->inbound[p], rd, wr);
	}
}

void live_host_stats_get(const live_host *h, live_host_stats *st)
{
	*st = h->st;
	st->exchanges_open = h->xs.live;
	st->timers_open = h->timers.live;
	st->connections_in = 0;
	for (uint32_t i = 0; i < h->nlst; i++)
		st->connections_in += lh_server_connections(h->lst[i].srv);
	st->connections_out = h->app ? lh_pool_connections(h->app) : 0;
	for (uint32_t p = 0; p < h->topo->npods; p++) {
		if (h->inbound[p])
			st->connections_out += lh_pool_connections(h->inbound[p]);
		if (h->outbound[p])
			st->connections_out += lh_pool_connections(h->outbound[p]);
	}
}

uint64_t live_host_open(const live_host *h)
{
	return h->xs.live;
}

/* ---- mutual TLS ---- */

static int lh_mode_of(enum model_mtls_mode m)
{
	switch (m) {
	case MTLS_STRICT:
		return LH_TLS_STRICT;
	case MTLS_PERMISSIVE:
		return LH_TLS_PERMISSIVE;
	default:
		return LH_TLS_OFF;
	}
}

/* Replace the context reference *slot holds by ctx (both may be NULL). */
static void ctx_keep(SSL_CTX **slot, SSL_CTX *ctx)
{
	if (ctx)
		SSL_CTX_up_ref(ctx);
	SSL_CTX_free(*slot);
	*slot = ctx;
}

int live_host_set_mtls(live_host *h, tls_mesh *t, uint32_t w, char *err,
		       size_t errlen)
{
	uint32_t n = h->topo->npods;
	if (h->tm) {
		snprintf(err, errlen, "mutual TLS is already set up");
		return -1;
	}
	if (w >= tls_mesh_workloads(t) || w != h->pod) {
		snprintf(err, errlen, "workload %u is not this pod's sidecar (pod %u)",
			 w, h->pod);
		return -1;
	}
	h->tls_pool = calloc(n, sizeof *h->tls_pool);
	h->tls_seen = calloc(n, sizeof *h->tls_seen);
	h->tls_opened = calloc(n, sizeof *h->tls_opened);
	h->tls_refused = calloc(n, sizeof *h->tls_refused);
	if (!h->tls_pool || !h->tls_seen || !h->tls_opened || !h->tls_refused) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	h->tls_lst = NULL;
	for (uint32_t i = 0; i < h->nlst; i++)
		if (h->lst[i].kind == LIVE_L_INBOUND && h->lst[i].agent->id == 2 * w + 1)
			h->tls_lst = &h->lst[i];
	if (h->tls_lst &&
	    lh_server_set_peer_domain(h->tls_lst->srv, tls_mesh_trust_domain(t)) < 0) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	h->tm = t;
	h->tw = w;
	h->tls_mode = LH_TLS_OFF;
	if (h->tls_lst) {
		h->tls_acc_seen = lh_server_accepted(h->tls_lst->srv);
		lh_server_tls_stats(h->tls_lst->srv, &h->tls_srv_seen);
	}
	if (live_host_tls_update(h, err, errlen) < 0) {
		h->tm = NULL;
		goto fail;
	}
	return 0;
fail:
	if (h->tls_lst) {
		lh_server_set_tls(h->tls_lst->srv, NULL, LH_TLS_OFF);
		lh_server_set_peer_domain(h->tls_lst->srv, NULL);
	}
	ctx_keep(&h->tls_sctx, NULL);
	ctx_keep(&h->tls_cctx, NULL);
	h->tls_lst = NULL;
	free(h->tls_pool);
	free(h->tls_seen);
	free(h->tls_opened);
	free(h->tls_refused);
	h->tls_pool = NULL;
	h->tls_seen = NULL;
	h->tls_opened = NULL;
	h->tls_refused = NULL;
	return -1;
}

int live_host_tls_update(live_host *h, char *err, size_t errlen)
{
	if (!h->tm)
		return 0;
	/* What was counted so far, under the mode it was counted in. */
	live_host_tls_record(h);
	int rc = 0;
	SSL_CTX *sc = tls_mesh_server_ctx(h->tm, h->tw);
	int mode = lh_mode_of(tls_mesh_inbound_mode(h->tm, h->tw));
	if (h->tls_lst && (sc != h->tls_sctx || mode != h->tls_mode)) {
		if (mode != LH_TLS_OFF && !sc) {
			snprintf(err, errlen, "workload %u has no certificate for its %s inbound",
				 h->tw, mode == LH_TLS_STRICT ? "STRICT" : "PERMISSIVE");
			rc = -1;
		} else if (lh_server_set_tls(h->tls_lst->srv, mode == LH_TLS_OFF ? NULL : sc,
					     mode) < 0) {
			snprintf(err, errlen, "the inbound listener refused its TLS context");
			rc = -1;
		} else {
			ctx_keep(&h->tls_sctx, sc);
			h->tls_mode = mode;
		}
	}
	/* A workload keeps its identity for the run, so a pool that speaks
	 * TLS keeps speaking it: a new client context is a rotation, and the
	 * pool's open connections go on with the old one. */
	SSL_CTX *cc = tls_mesh_client_ctx(h->tm, h->tw);
	if (cc && cc != h->tls_cctx) {
		for (uint32_t p = 0; p < h->topo->npods; p++)
			if (h->tls_pool[p] && h->inbound[p] &&
			    lh_pool_set_tls(h->inbound[p], cc, tls_mesh_spiffe_id(h->tm, p)) < 0) {
				snprintf(err, errlen, "out of memory");
				rc = -1;
			}
		ctx_keep(&h->tls_cctx, cc);
	}
	return rc;
}

/* A failed connection from this workload to pod sw, for `reason`: a hit
 * of the scenario fault that explains it, if one is on. Counted on the
 * caller's side only, once per connection, when it happens, as the
 * simulator counts it. */
static void tls_hit(live_host *h, uint32_t sw, int reason)
{
	uint32_t f = tls_mesh_culprit(h->tm, h->env.faults_on, h->tw, sw, reason);
	if (f != UINT32_MAX)
		rec_fault_hit(h->env.rec, f);
}

/* Add the counters in `now` beyond those in `seen` to this workload's
 * side, and remember them as seen. (Their faults' hits were counted as
 * they happened: client_on_error.) */
static void tls_count(live_host *h, int side, const lh_tls_stats *now,
		      lh_tls_stats *seen)
{
	rec *r = h->env.rec;
	uint32_t w = h->tw;

	for (uint64_t i = seen->full; i < now->full; i++)
		rec_tls_handshake(r, w, side, 0);
	for (uint64_t i = seen->resumed; i < now->resumed; i++)
		rec_tls_handshake(r, w, side, 1);
	/* lh_tls_stats.failed[] is indexed by lh_err - LH_ERR_TLS_EXPIRED. */
	for (uint32_t k = 0; k < LH_TLS_NCLASS; k++)
		for (uint64_t i = seen->failed[k]; i < now->failed[k]; i++)
			rec_tls_failure(r, w, side,
					tls_mesh_rec_reason((int)k + LH_ERR_TLS_EXPIRED));
	for (uint64_t i = seen->plaintext; i < now->plaintext; i++)
		rec_tls_plaintext(r, w, side);
	for (uint64_t i = seen->plaintext_refused; i < now->plaintext_refused; i++)
		rec_tls_failure(r, w, side, REC_TLS_PLAINTEXT_REJECTED);
	*seen = *now;
}

void live_host_tls_record(live_host *h)
{
	if (!h->tm)
		return;
	rec *r = h->env.rec;
	uint32_t w = h->tw;
	if (h->tls_lst) {
		lh_server *srv = h->tls_lst->srv;
		lh_tls_stats now;
		lh_server_tls_stats(srv, &now);
		tls_count(h, REC_TLS_INBOUND, &now, &h->tls_srv_seen);
		/* A plaintext-only inbound does not look at its connections:
		 * every one it accepted is plaintext. */
		uint64_t acc = lh_server_accepted(srv);
		if (h->tls_mode == LH_TLS_OFF)
			for (uint64_t i = h->tls_acc_seen; i < acc; i++)
				rec_tls_plaintext(r, w, REC_TLS_INBOUND);
		h->tls_acc_seen = acc;
		for (; h->tls_drained; h->tls_drained--)
			rec_tls_failure(r, w, REC_TLS_INBOUND, REC_TLS_PLAINTEXT_REJECTED);
	}
	for (uint32_t p = 0; p < h->topo->npods; p++) {
		if (!h->inbound[p])
			continue;
		if (h->tls_pool[p]) {
			lh_tls_stats now;
			lh_pool_tls_stats(h->inbound[p], &now);
			tls_count(h, REC_TLS_OUTBOUND, &now, &h->tls_seen[p]);
		} else {
			/* Connections opened, but for those a STRICT inbound
			 * refused: failures, counted as they happened. */
			uint64_t opened = lh_pool_opened(h->inbound[p]);
			uint64_t from = h->tls_opened[p] + h->tls_refused[p];
			for (uint64_t i = from; i < opened; i++)
				rec_tls_plaintext(r, w, REC_TLS_OUTBOUND);
			if (from <= opened) {
				h->tls_opened[p] = opened;
				h->tls_refused[p] = 0;
			} else {
				/* A refused try on a connection counted before
				 * (one left open when the callee turned STRICT):
				 * owed to connections not opened yet. */
				h->tls_refused[p] = from - opened;
				h->tls_opened[p] = opened;
			}
		}
	}
}
