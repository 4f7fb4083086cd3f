/*
 * live_http: HTTP/1.1 servers and pooled clients, in process. One
 * event_base hosts an origin server, pools, raw sockets and (for the
 * backpressure tests) a small proxy built from the API; each test runs the
 * loop until a condition, under a guard timer so that a bug fails instead
 * of hanging. The TLS tests give the same servers and pools mutual TLS,
 * with certificates from agents/tls_ca.h issued per test.
 */
#include <check.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/listener.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/ssl.h>

#include "live_http.h"
#include "suites.h"
#include "tls_ca.h"

#define BIG (8u * 1024 * 1024)

/* ---- the loop ---- */

typedef struct loop {
	struct event_base *base;
	struct event *guard;
	int timed_out;
} loop;

static void guard_cb(evutil_socket_t fd, short what, void *arg)
{
	loop *l = arg;
	(void)fd;
	(void)what;
	l->timed_out = 1;
	event_base_loopbreak(l->base);
}

static void loop_init(loop *l)
{
	struct timeval tv = { 5, 0 };
	memset(l, 0, sizeof *l);
	l->base = event_base_new();
	ck_assert_ptr_nonnull(l->base);
	l->guard = evtimer_new(l->base, guard_cb, l);
	evtimer_add(l->guard, &tv);
}

/* Re-arm the guard for secs from now, for tests that move a lot of bytes
 * (a guard is for hangs, and valgrind is slow). */
static void loop_guard(loop *l, int secs)
{
	struct timeval tv = { secs, 0 };
	evtimer_add(l->guard, &tv);
}

static void loop_free(loop *l)
{
	event_free(l->guard);
	event_base_free(l->base);
}

typedef int (*cond_fn)(const void *arg);

static void run_cond(loop *l, cond_fn f, const void *arg, const char *what)
{
	while (!f(arg) && !l->timed_out)
		event_base_loop(l->base, EVLOOP_ONCE);
	ck_assert_msg(!l->timed_out, "timed out waiting for %s", what);
}

static int flag_set(const void *arg)
{
	return *(const int *)arg != 0;
}

static void run_flag(loop *l, const int *flag, const char *what)
{
	run_cond(l, flag_set, flag, what);
}

/* A few passes of the loop without waiting. */
static void spin(loop *l, int n)
{
	for (int i = 0; i < n; i++)
		event_base_loop(l->base, EVLOOP_NONBLOCK);
}

/* ---- the origin server ---- */

enum { R_NONE, R_ECHO, R_SINK, R_COLLECT };
enum { T_LATER = 1 };

typedef struct origin {
	loop *l;
	lh_server *s;
	int requests, aborts, body_ends;
	char seen[8][64];
	lh_head last;           /* the last request head, copied */
	lh_sx *held;            /* an exchange the test finishes */
	uint64_t sink_bytes;
	struct evbuffer *collect;
	int stall;              /* /sink stops reading after its first bytes */
	int stalls;
	lh_sx *stalled;         /* ...until the test resumes it */
	int free_on_request;
	struct event *timer;
	int timer_kind;
	lh_sx *timer_x;
} origin;

static void o_timer(evutil_socket_t fd, short what, void *arg)
{
	origin *o = arg;
	lh_sx *x = o->timer_x;
	(void)fd;
	(void)what;
	o->timer_x = NULL;
	if (!x)
		return;
	if (o->timer_kind == T_LATER)
		lh_sx_respond_simple(x, 200, "text/plain", "later", 5, NULL);
}

static void o_arm(origin *o, lh_sx *x, int kind, int ms)
{
	struct timeval tv = { 0, ms * 1000 };
	o->timer_x = x;
	o->timer_kind = kind;
	evtimer_add(o->timer, &tv);
}

static void o_request(void *arg, lh_sx *x, const lh_head *h)
{
	origin *o = arg;
	const char *t = h->target;
	lh_head r;

	if (o->requests < 8)
		snprintf(o->seen[o->requests], sizeof o->seen[0], "%s", t);
	o->requests++;
	ck_assert_int_eq(lh_head_copy(&o->last, h), 0);
	if (o->free_on_request) {
		lh_server_free(o->s);
		o->s = NULL;
		return;
	}
	lh_head_init(&r);
	r.status = 200;
	if (!strncmp(t, "/hello", 6)) {
		lh_sx_respond_simple(x, 200, "text/plain", "hello", 5, NULL);
	} else if (!strncmp(t, "/fill/", 6)) {
		uint64_t n = strtoull(t + 6, NULL, 10);
		r.content_length = (int64_t)n;
		ck_assert_int_eq(lh_sx_respond_head(x, &r), 0);
		ck_assert_int_eq(lh_sx_respond_fill(x, n), 0);
		lh_sx_respond_end(x);
	} else if (!strcmp(t, "/chunked")) {
		struct evbuffer *b = evbuffer_new();
		r.content_length = -1;
		ck_assert_int_eq(lh_sx_respond_head(x, &r), 0);
		evbuffer_add(b, "abc", 3);
		ck_assert_int_eq(lh_sx_respond_body(x, b), 0);
		ck_assert_uint_eq(evbuffer_get_length(b), 0);
		evbuffer_add(b, "defg", 4);
		ck_assert_int_eq(lh_sx_respond_body(x, b), 0);
		lh_sx_respond_end(x);
		evbuffer_free(b);
	} else if (!strcmp(t, "/echo")) {
		lh_sx_set_data(x, (void *)(intptr_t)R_ECHO);
		r.content_length = -1;
		ck_assert_int_eq(lh_sx_respond_head(x, &r), 0);
	} else if (!strcmp(t, "/sink")) {
		lh_sx_set_data(x, (void *)(intptr_t)R_SINK);
	} else if (!strcmp(t, "/collect")) {
		lh_sx_set_data(x, (void *)(intptr_t)R_COLLECT);
	} else if (!strcmp(t, "/slow")) {
		o->held = x;
	} else if (!strcmp(t, "/later")) {
		o_arm(o, x, T_LATER, 30);
	} else if (!strcmp(t, "/now")) {
		lh_sx_respond_simple(x, 200, "text/plain", "now", 3, NULL);
	} else if (!strcmp(t, "/whoami")) {
		/* The client's SPIFFE ID, "-" for plaintext. */
		const char *id = lh_sx_peer_id(x);
		ck_assert((id != NULL) == (lh_sx_peer_cert(x) != NULL));
		if (!id)
			id = "-";
		lh_sx_respond_simple(x, 200, "text/plain", id, strlen(id), NULL);
	} else if (!strcmp(t, "/abortmid")) {
		r.content_length = 1000;
		ck_assert_int_eq(lh_sx_respond_head(x, &r), 0);
		ck_assert_int_eq(lh_sx_respond_fill(x, 100), 0);
		o->held = x;
	} else {
		lh_sx_respond_simple(x, 404, "text/plain", "no\n", 3, NULL);
	}
}

static void o_body(void *arg, lh_sx *x, struct evbuffer *chunk)
{
	origin *o = arg;
	size_t n = evbuffer_get_length(chunk);
	switch ((intptr_t)lh_sx_data(x)) {
	case R_ECHO:
		ck_assert_int_eq(lh_sx_respond_body(x, chunk), 0);
		break;
	case R_SINK:
		o->sink_bytes += n;
		if (o->stall && !o->stalls) {
			o->stalls++;
			o->stalled = x;
			lh_sx_read_enable(x, 0);
		}
		break;
	case R_COLLECT:
		evbuffer_add_buffer(o->collect, chunk);
		break;
	default:
		break;
	}
}

static void o_body_end(void *arg, lh_sx *x)
{
	origin *o = arg;
	char b[32];
	lh_head r;
	o->body_ends++;
	switch ((intptr_t)lh_sx_data(x)) {
	case R_ECHO:
		lh_sx_respond_end(x);
		break;
	case R_SINK:
		snprintf(b, sizeof b, "%llu", (unsigned long long)o->sink_bytes);
		lh_sx_respond_simple(x, 200, "text/plain", b, strlen(b), NULL);
		break;
	case R_COLLECT:
		lh_head_init(&r);
		r.content_length = (int64_t)evbuffer_get_length(o->collect);
		ck_assert_int_eq(lh_sx_respond_head(x, &r), 0);
		ck_assert_int_eq(lh_sx_respond_body(x, o->collect), 0);
		lh_sx_respond_end(x);
		break;
	default:
		break;
	}
}

static void o_abort(void *arg, lh_sx *x)
{
	origin *o = arg;
	o->aborts++;
	if (o->held == x)
		o->held = NULL;
	if (o->stalled == x)
		o->stalled = NULL;
	if (o->timer_x == x) {
		evtimer_del(o->timer);
		o->timer_x = NULL;
	}
}

static const lh_server_cbs origin_cbs = {
	o_request, o_body, o_body_end, o_abort, NULL,
};

static void origin_new(loop *l, origin *o)
{
	char err[256];
	memset(o, 0, sizeof *o);
	o->l = l;
	lh_head_init(&o->last);
	o->collect = evbuffer_new();
	o->timer = evtimer_new(l->base, o_timer, o);
	o->s = lh_server_new(l->base, "127.0.0.1", 0, &origin_cbs, o, err,
			     sizeof err);
	ck_assert_msg(o->s != NULL, "%s", err);
	ck_assert_uint_ne(lh_server_port(o->s), 0);
}

static void origin_free(origin *o)
{
	lh_server_free(o->s);
	lh_head_clear(&o->last);
	evbuffer_free(o->collect);
	event_free(o->timer);
}

/* ---- client results ---- */

enum { H_RESPONSE, H_BODY, H_END, H_ERROR };

typedef struct res res;
struct res {
	int status, responses, ends, errors, err, done, ka;
	int64_t clen;
	size_t nbody;
	struct evbuffer *body;  /* the body, when the test wants it */
	int check_x, non_x;     /* filler check: count bytes not 'x' */
	int *order, done_at;
	void (*hook)(res *r, lh_cx *x, int what);
	void *ctx;
	lh_cx *x;
	char peer_id[TLS_CA_ID_MAX]; /* the server's, "" for plaintext */
	char serial[80];        /* of the server's certificate, in hex */
};

static void serial_hex(X509 *x, char *out, size_t n)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	char *hex = bn ? BN_bn2hex(bn) : NULL;
	ck_assert_ptr_nonnull(hex);
	snprintf(out, n, "%s", hex);
	OPENSSL_free(hex);
	BN_free(bn);
}

static void c_response(void *arg, lh_cx *x, const lh_head *h)
{
	res *r = arg;
	const char *id = lh_cx_peer_id(x);
	X509 *cert = lh_cx_peer_cert(x);
	r->responses++;
	r->status = h->status;
	r->clen = h->content_length;
	r->ka = h->keep_alive;
	snprintf(r->peer_id, sizeof r->peer_id, "%s", id ? id : "");
	ck_assert((id != NULL) == (cert != NULL));
	if (cert)
		serial_hex(cert, r->serial, sizeof r->serial);
	if (r->hook)
		r->hook(r, x, H_RESPONSE);
}

static void c_body(void *arg, lh_cx *x, struct evbuffer *chunk)
{
	res *r = arg;
	size_t n = evbuffer_get_length(chunk);
	if (r->check_x) {
		struct evbuffer_iovec v[64];
		int nv = evbuffer_peek(chunk, -1, NULL, v, 64);
		ck_assert_int_le(nv, 64);
		for (int i = 0; i < nv; i++)
			for (size_t j = 0; j < v[i].iov_len; j++)
				r->non_x += ((const char *)v[i].iov_base)[j] != 'x';
	}
	r->nbody += n;
	if (r->body)
		evbuffer_add_buffer(r->body, chunk);
	if (r->hook)
		r->hook(r, x, H_BODY);
}

static void c_end(void *arg, lh_cx *x)
{
	res *r = arg;
	r->ends++;
	r->done++;
	if (r->order)
		r->done_at = (*r->order)++;
	if (r->hook)
		r->hook(r, x, H_END);
}

static void c_error(void *arg, lh_cx *x, int e)
{
	res *r = arg;
	r->errors++;
	r->err = e;
	r->done++;
	if (r->hook)
		r->hook(r, x, H_ERROR);
}

static const lh_client_cbs client_cbs = { c_response, c_body, c_end, c_error,
					  NULL };

static lh_cx *req(lh_pool *p, const char *method, const char *target,
		  int64_t cl, res *r)
{
	lh_head h;
	lh_head_init(&h);
	snprintf(h.method, sizeof h.method, "%s", method);
	h.target = (char *)target; /* lh_request copies; h owns nothing */
	h.content_length = cl;
	lh_cx *x = lh_request(p, &h, &client_cbs, r);
	ck_assert_ptr_nonnull(x);
	r->x = x;
	return x;
}

/* A GET with "Connection: close": the next request needs a new
 * connection. */
static lh_cx *req_close(lh_pool *p, const char *target, res *r)
{
	lh_head h;
	lh_head_init(&h);
	ck_assert_int_eq(lh_head_set_target(&h, target), 0);
	ck_assert_int_eq(lh_head_add(&h, "Connection", "close"), 0);
	lh_cx *x = lh_request(p, &h, &client_cbs, r);
	ck_assert_ptr_nonnull(x);
	r->x = x;
	lh_head_clear(&h);
	return x;
}

static int body_is(res *r, const char *s)
{
	size_t n = strlen(s);
	if (!r->body || evbuffer_get_length(r->body) != n)
		return 0;
	return !memcmp(evbuffer_pullup(r->body, -1), s, n);
}

/* ---- raw sockets ---- */

typedef struct raw {
	struct bufferevent *bev;
	struct evbuffer *in;
	int eof;
} raw;

static void raw_read(struct bufferevent *bev, void *arg)
{
	raw *r = arg;
	evbuffer_add_buffer(r->in, bufferevent_get_input(bev));
}

static void raw_event(struct bufferevent *bev, short what, void *arg)
{
	raw *r = arg;
	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR))
		r->eof = 1;
}

static void raw_open(loop *l, raw *r, uint16_t port)
{
	struct sockaddr_in sin;
	memset(r, 0, sizeof *r);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->in = evbuffer_new();
	r->bev = bufferevent_socket_new(l->base, -1, BEV_OPT_CLOSE_ON_FREE);
	bufferevent_setcb(r->bev, raw_read, NULL, raw_event, r);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	ck_assert_int_eq(bufferevent_socket_connect(r->bev, (struct sockaddr *)&sin,
						    sizeof sin), 0);
}

static void raw_close(raw *r)
{
	bufferevent_free(r->bev);
	evbuffer_free(r->in);
}

static void raw_send(raw *r, const char *s, size_t n)
{
	ck_assert_int_eq(bufferevent_write(r->bev, s, n), 0);
}

static long raw_find(const raw *r, const char *s)
{
	struct evbuffer_ptr p = evbuffer_search(r->in, s, strlen(s), NULL);
	return (long)p.pos;
}

static int raw_count(const raw *r, const char *s)
{
	int n = 0;
	struct evbuffer_ptr p = evbuffer_search(r->in, s, strlen(s), NULL);
	while (p.pos >= 0) {
		n++;
		evbuffer_ptr_set(r->in, &p, 1, EVBUFFER_PTR_ADD);
		p = evbuffer_search(r->in, s, strlen(s), &p);
	}
	return n;
}

typedef struct raw_want {
	const raw *r;
	const char *s;
	int n;
} raw_want;

static int raw_has(const void *arg)
{
	const raw_want *w = arg;
	return raw_count(w->r, w->s) >= w->n;
}

static void run_raw(loop *l, raw *r, const char *s, int n)
{
	raw_want w = { r, s, n };
	run_cond(l, raw_has, &w, s);
}

static int raw_eof(const void *arg)
{
	return ((const raw *)arg)->eof;
}

static lh_pool *pool_to(loop *l, uint16_t port, uint32_t max_conns)
{
	lh_pool *p = lh_pool_new(l->base, "127.0.0.1", port, max_conns, 2000);
	ck_assert_ptr_nonnull(p);
	return p;
}

/* ---- tests ---- */

START_TEST(test_get)
{
	loop l;
	origin o;
	res r = { 0 };
	loop_init(&l);
	origin_new(&l, &o);
	lh_pool *p = pool_to(&l, lh_server_port(o.s), 0);
	r.body = evbuffer_new();

	req(p, "GET", "/hello?a=1", 0, &r);
	run_flag(&l, &r.done, "the response");
	ck_assert_int_eq(r.errors, 0);
	ck_assert_int_eq(r.ends, 1);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.clen, 5);
	ck_assert_int_eq(r.ka, 1);
	ck_assert(body_is(&r, "hello"));
	/* What the server saw. */
	ck_assert_str_eq(o.last.method, "GET");
	ck_assert_str_eq(o.last.target, "/hello?a=1");
	ck_assert_uint_eq(o.last.major, 1);
	ck_assert_uint_eq(o.last.minor, 1);
	ck_assert_int_eq(o.last.content_length, 0);
	char host[32];
	snprintf(host, sizeof host, "127.0.0.1:%u", lh_server_port(o.s));
	ck_assert_str_eq(lh_head_get(&o.last, "host"), host);

	evbuffer_free(r.body);
	lh_pool_free(p);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_keepalive_reuse)
{
	loop l;
	origin o;
	loop_init(&l);
	origin_new(&l, &o);
	lh_pool *p = pool_to(&l, lh_server_port(o.s), 0);

	for (int i = 0; i < 10; i++) {
		res r = { 0 };
		req(p, "GET", i % 2 ? "/hello" : "/fill/3000", 0, &r);
		run_flag(&l, &r.done, "a response");
		ck_assert_int_eq(r.ends, 1);
		ck_assert_uint_eq(r.nbody, i % 2 ? 5 : 3000);
	}
	ck_assert_uint_eq(lh_pool_opened(p), 1);
	ck_assert_uint_eq(lh_pool_connections(p), 1);
	ck_assert_uint_eq(lh_server_accepted(o.s), 1);
	ck_assert_uint_eq(lh_server_connections(o.s), 1);
	ck_assert_int_eq(o.requests, 10);

	lh_pool_free(p);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_pipelining)
{
	loop l;
	origin o;
	raw r;
	loop_init(&l);
	origin_new(&l, &o);
	raw_open(&l, &r, lh_server_port(o.s));

	/* The first answer is slow, the second immediate: they must still
	 * leave in request order. */
	const char two[] = "GET /later HTTP/1.1\r\nHost: a\r\n\r\n"
			   "GET /now HTTP/1.1\r\nHost: a\r\n\r\n";
	raw_send(&r, two, sizeof two - 1);
	run_raw(&l, &r, "HTTP/1.1 200", 2);
	run_raw(&l, &r, "\r\n\r\nnow", 1);
	long later = raw_find(&r, "\r\n\r\nlater");
	long now = raw_find(&r, "\r\n\r\nnow");
	ck_assert_int_ge(later, 0);
	ck_assert_int_gt(now, later);
	ck_assert_int_eq(o.requests, 2);
	ck_assert_str_eq(o.seen[0], "/later");
	ck_assert_str_eq(o.seen[1], "/now");
	ck_assert_int_eq(r.eof, 0);
	ck_assert_uint_eq(lh_server_accepted(o.s), 1);

	raw_close(&r);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_chunked_bodies)
{
	loop l;
	origin o;
	res r = { 0 };
	loop_init(&l);
	origin_new(&l, &o);
	lh_pool *p = pool_to(&l, lh_server_port(o.s), 0);
	struct evbuffer *b = evbuffer_new();
	r.body = evbuffer_new();

	lh_cx *x = req(p, "POST", "/echo", -1, &r);
	const char *parts[] = { "hello ", "chunked ", "world" };
	for (int i = 0; i < 3; i++) {
		evbuffer_add(b, parts[i], strlen(parts[i]));
		ck_assert_int_eq(lh_cx_body(x, b), 0);
		ck_assert_uint_eq(evbuffer_get_length(b), 0);
		spin(&l, 3);
	}
	lh_cx_body_end(x);
	run_flag(&l, &r.done, "the echo");
	ck_assert_int_eq(r.errors, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.clen, -1);
	ck_assert(body_is(&r, "hello chunked world"));
	ck_assert_int_eq(o.last.content_length, -1);
	ck_assert_str_eq(lh_head_get(&o.last, "transfer-encoding"), "chunked");

	/* A chunked response to a plain GET, then the connection is reused. */
	res r2 = { 0 };
	r2.body = evbuffer_new();
	req(p, "GET", "/chunked", 0, &r2);
	run_flag(&l, &r2.done, "the chunked response");
	ck_assert_int_eq(r2.clen, -1);
	ck_assert(body_is(&r2, "abcdefg"));
	ck_assert_uint_eq(lh_pool_opened(p), 1);

	evbuffer_free(r.body);
	evbuffer_free(r2.body);
	evbuffer_free(b);
	lh_pool_free(p);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_byte_at_a_time)
{
	loop l;
	origin o;
	raw r;
	loop_init(&l);
	origin_new(&l, &o);
	raw_open(&l, &r, lh_server_port(o.s));
	spin(&l, 5);

	/* Every split point of a chunked request (with a chunk extension and
	 * a trailer) and of a pipelined GET behind it. */
	const char msg[] = "POST /collect HTTP/1.1\r\nHost: a\r\n"
			   "Transfer-Encoding: chunked\r\n\r\n"
			   "5;ext=1\r\nhello\r\n1\r\n \r\n5\r\nworld\r\n"
			   "0\r\nX-Trailer: t\r\n\r\n"
			   "GET /hello HTTP/1.1\r\nHost: a\r\n\r\n";
	for (size_t i = 0; i < sizeof msg - 1; i++) {
		raw_send(&r, msg + i, 1);
		spin(&l, 2);
	}
	run_raw(&l, &r, "\r\n\r\nhello world", 1);
	run_raw(&l, &r, "\r\n\r\nhello", 2);
	ck_assert_int_eq(o.requests, 2);
	/* /hello is answered inside on_request: its exchange is over before
	 * its (empty) body ends, so only /collect sees on_body_end. */
	ck_assert_int_eq(o.body_ends, 1);
	ck_assert_ptr_null(lh_head_get(&o.last, "X-Trailer"));

	raw_close(&r);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

/* ---- TLS fixtures ---- */

#define ID_ORIGIN "spiffe://cluster.local/ns/default/sa/origin"
#define ID_CLIENT "spiffe://cluster.local/ns/default/sa/client"

/* What certificate a context gets: a good one from the mesh's CA, an
 * expired one, one from another root (another trust domain), none. */
enum { K_GOOD, K_EXPIRED, K_FOREIGN, K_NONE };

typedef struct pki {
	tls_ca *ca, *foreign;
	X509_STORE *trust;      /* the mesh's root only */
	int64_t now;
} pki;

static void pki_init(pki *k)
{
	char err[512];
	tls_ca_opts o;
	k->now = (int64_t)time(NULL);
	k->ca = tls_ca_new_root(NULL, k->now, err, sizeof err);
	ck_assert_msg(k->ca != NULL, "%s", err);
	tls_ca_opts_init(&o);
	o.trust_domain = "other.local";
	k->foreign = tls_ca_new_root(&o, k->now, err, sizeof err);
	ck_assert_msg(k->foreign != NULL, "%s", err);
	X509 *root = tls_ca_root(k->ca);
	k->trust = tls_ca_store_new(&root, 1, err, sizeof err);
	ck_assert_msg(k->trust != NULL, "%s", err);
}

static void pki_free(pki *k)
{
	X509_STORE_free(k->trust);
	tls_ca_free(k->ca);
	tls_ca_free(k->foreign);
}

/* A context for service account sa, with a certificate of the given kind;
 * serial (when not NULL) receives its serial number in hex. */
static SSL_CTX *pki_ctx(pki *k, const char *sa, int kind, int server,
			char *serial, size_t n)
{
	char err[512];
	tls_ca_cert *c = NULL;
	switch (kind) {
	case K_GOOD:
		c = tls_ca_issue_workload(k->ca, NULL, sa, k->now, err, sizeof err);
		break;
	case K_EXPIRED:
		c = tls_ca_issue_expired(k->ca, NULL, sa, k->now, err, sizeof err);
		break;
	case K_FOREIGN:
		c = tls_ca_issue_workload(k->foreign, NULL, sa, k->now, err,
					  sizeof err);
		break;
	default:
		break;
	}
	ck_assert_msg(kind == K_NONE || c != NULL, "%s", err);
	SSL_CTX *ctx = lh_tls_ctx_new(c ? tls_ca_cert_x509(c) : NULL,
				      c ? tls_ca_cert_key(c) : NULL,
				      c ? tls_ca_cert_chain(c) : NULL,
				      k->trust, server, err, sizeof err);
	ck_assert_msg(ctx != NULL, "%s", err);
	if (serial && c)
		serial_hex(tls_ca_cert_x509(c), serial, n);
	/* The context holds its own references. */
	tls_ca_cert_free(c);
	return ctx;
}

/* Server s speaks mTLS in mode with a certificate for "origin". */
static void server_tls(pki *k, lh_server *s, int kind, int mode)
{
	SSL_CTX *ctx = pki_ctx(k, "origin", kind, 1, NULL, 0);
	ck_assert_int_eq(lh_server_set_tls(s, ctx, mode), 0);
	SSL_CTX_free(ctx);
}

/* Pool p speaks mTLS as "client", expecting the origin's identity. */
static void pool_tls(pki *k, lh_pool *p, int kind, const char *expect)
{
	SSL_CTX *ctx = pki_ctx(k, "client", kind, 0, NULL, 0);
	ck_assert_int_eq(lh_pool_set_tls(p, ctx, expect), 0);
	SSL_CTX_free(ctx);
}

static uint64_t failed(const lh_tls_stats *st, int err)
{
	return st->failed[err - LH_ERR_TLS_EXPIRED];
}

static uint64_t failed_all(const lh_tls_stats *st)
{
	uint64_t n = 0;
	for (int i = 0; i < LH_TLS_NCLASS; i++)
		n += st->failed[i];
	return n;
}

/* A proxy from the API: server exchanges relayed to a pool, with the
 * watermarks applied both ways. */
typedef struct proxy {
	lh_server *s;
	lh_pool *up;
	size_t peak_down, peak_up; /* largest backlog toward client / origin */
	int paused_up, paused_down;
	int flows;
	/* Called whenever the proxy pauses a side, holds over 1 MB, or has a
	 * whole body: the test's stalled reader resumes then. So the stall
	 * ends on an event, not after a time: at valgrind's speed a timed
	 * stall may end before the kernel's buffers have even filled. */
	void (*kick)(void *ctx);
	void *kick_ctx;
} proxy;

static void px_kick(proxy *px, size_t backlog)
{
	if (px->kick && backlog > 1024 * 1024)
		px->kick(px->kick_ctx);
}

typedef struct flow {
	proxy *px;
	lh_sx *sx;
	lh_cx *cx;
} flow;

static void pc_response(void *arg, lh_cx *cx, const lh_head *h)
{
	flow *f = arg;
	lh_head r;
	(void)cx;
	lh_head_init(&r);
	ck_assert_int_eq(lh_head_copy(&r, h), 0);
	lh_head_strip_hop_by_hop(&r);
	ck_assert_int_eq(lh_sx_respond_head(f->sx, &r), 0);
	lh_head_clear(&r);
}

static void pc_body(void *arg, lh_cx *cx, struct evbuffer *chunk)
{
	flow *f = arg;
	ck_assert_int_eq(lh_sx_respond_body(f->sx, chunk), 0);
	size_t b = lh_sx_backlog(f->sx);
	if (b > f->px->peak_down)
		f->px->peak_down = b;
	if (b > LH_HIGH_MARK) {
		lh_cx_read_enable(cx, 0);
		f->px->paused_up++;
		px_kick(f->px, SIZE_MAX);
	}
	px_kick(f->px, b);
}

static void pc_end(void *arg, lh_cx *cx)
{
	flow *f = arg;
	(void)cx;
	lh_sx_respond_end(f->sx);
	px_kick(f->px, SIZE_MAX);
	f->px->flows--;
	free(f);
}

static void pc_error(void *arg, lh_cx *cx, int err)
{
	flow *f = arg;
	(void)cx;
	(void)err;
	lh_sx_abort(f->sx);
	f->px->flows--;
	free(f);
}

static void pc_drain(void *arg, lh_cx *cx)
{
	flow *f = arg;
	(void)cx;
	lh_sx_read_enable(f->sx, 1);
}

static const lh_client_cbs proxy_client_cbs = {
	pc_response, pc_body, pc_end, pc_error, pc_drain,
};

static void ps_request(void *arg, lh_sx *sx, const lh_head *h)
{
	proxy *px = arg;
	flow *f = calloc(1, sizeof *f);
	lh_head up;
	ck_assert_ptr_nonnull(f);
	f->px = px;
	f->sx = sx;
	lh_sx_set_data(sx, f);
	lh_head_init(&up);
	ck_assert_int_eq(lh_head_copy(&up, h), 0);
	lh_head_strip_hop_by_hop(&up);
	lh_head_del(&up, "Host");
	f->cx = lh_request(px->up, &up, &proxy_client_cbs, f);
	ck_assert_ptr_nonnull(f->cx);
	lh_head_clear(&up);
	px->flows++;
}

static void ps_body(void *arg, lh_sx *sx, struct evbuffer *chunk)
{
	proxy *px = arg;
	flow *f = lh_sx_data(sx);
	ck_assert_int_eq(lh_cx_body(f->cx, chunk), 0);
	size_t b = lh_cx_backlog(f->cx);
	if (b > px->peak_up)
		px->peak_up = b;
	if (b > LH_HIGH_MARK) {
		lh_sx_read_enable(sx, 0);
		px->paused_down++;
		px_kick(px, SIZE_MAX);
	}
	px_kick(px, b);
}

static void ps_body_end(void *arg, lh_sx *sx)
{
	flow *f = lh_sx_data(sx);
	lh_cx_body_end(f->cx);
	px_kick(arg, SIZE_MAX);
}

static void ps_abort(void *arg, lh_sx *sx)
{
	proxy *px = arg;
	flow *f = lh_sx_data(sx);
	lh_cx_cancel(f->cx);
	px->flows--;
	free(f);
}

static void ps_drain(void *arg, lh_sx *sx)
{
	flow *f = lh_sx_data(sx);
	(void)arg;
	lh_cx_read_enable(f->cx, 1);
}

static const lh_server_cbs proxy_server_cbs = {
	ps_request, ps_body, ps_body_end, ps_abort, ps_drain,
};

/* k not NULL: mTLS on both sides of the proxy (a STRICT inbound as
 * "origin", an upstream pool as "client" expecting the origin). */
static void proxy_new(loop *l, proxy *px, uint16_t origin_port, pki *k)
{
	char err[256];
	memset(px, 0, sizeof *px);
	px->up = pool_to(l, origin_port, 0);
	px->s = lh_server_new(l->base, "127.0.0.1", 0, &proxy_server_cbs, px,
			      err, sizeof err);
	ck_assert_msg(px->s != NULL, "%s", err);
	if (k) {
		server_tls(k, px->s, K_GOOD, LH_TLS_STRICT);
		pool_tls(k, px->up, K_GOOD, ID_ORIGIN);
	}
}

static void proxy_free(proxy *px)
{
	lh_server_free(px->s);
	lh_pool_free(px->up);
}

typedef struct stall {
	lh_cx *x;
	int stalled, resumed;
} stall;

static void stall_resume(void *ctx)
{
	stall *s = ctx;
	if (s->stalled && !s->resumed) {
		s->resumed = 1;
		lh_cx_read_enable(s->x, 1);
	}
}

/* The end client reads the first bytes, then nothing until the proxy
 * has had to act. */
static void stall_hook(res *r, lh_cx *x, int what)
{
	stall *s = r->ctx;
	if (what != H_BODY || s->stalled)
		return;
	s->stalled = 1;
	s->x = x;
	lh_cx_read_enable(x, 0);
}

static void origin_resume(void *ctx)
{
	origin *o = ctx;
	if (o->stalled) {
		lh_sx_read_enable(o->stalled, 1);
		o->stalled = NULL;
	}
}

/* 8 MB from the origin through the proxy to a client that stalls; k not
 * NULL: every hop mTLS. */
static void proxy_response(pki *k)
{
	loop l;
	origin o;
	proxy px;
	res r = { 0 };
	stall st = { 0 };
	char path[32];
	loop_init(&l);
	origin_new(&l, &o);
	proxy_new(&l, &px, lh_server_port(o.s), k);
	lh_pool *p = pool_to(&l, lh_server_port(px.s), 0);
	if (k) {
		server_tls(k, o.s, K_GOOD, LH_TLS_STRICT);
		pool_tls(k, p, K_GOOD, ID_ORIGIN);
		/* 16 MB of AES-GCM: 7 s under valgrind. */
		loop_guard(&l, 60);
	}
	px.kick = stall_resume;
	px.kick_ctx = &st;
	r.hook = stall_hook;
	r.ctx = &st;
	r.check_x = 1;

	snprintf(path, sizeof path, "/fill/%u", BIG);
	req(p, "GET", path, 0, &r);
	run_flag(&l, &r.done, "8 MB through the proxy");
	ck_assert_int_eq(r.errors, 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.clen, BIG);
	ck_assert_uint_eq(r.nbody, BIG);
	ck_assert_int_eq(r.non_x, 0);
	ck_assert(st.stalled && st.resumed);
	/* The proxy paused its upstream rather than holding the body. */
	ck_assert_int_gt(px.paused_up, 0);
	ck_assert_uint_lt(px.peak_down, 1024 * 1024);
	ck_assert_int_eq(px.flows, 0);
	if (k) {
		/* Both hops were TLS: one full handshake each. */
		lh_tls_stats a, b;
		lh_server_tls_stats(px.s, &a);
		lh_server_tls_stats(o.s, &b);
		ck_assert_uint_eq(a.full, 1);
		ck_assert_uint_eq(b.full, 1);
		ck_assert_str_eq(r.peer_id, ID_ORIGIN);
	}

	lh_pool_free(p);
	proxy_free(&px);
	origin_free(&o);
	loop_free(&l);
}

START_TEST(test_proxy_backpressure_response)
{
	proxy_response(NULL);
}
END_TEST

/* 8 MB from the client through the proxy to an origin that stalls; k not
 * NULL: every hop mTLS. */
static void proxy_request(pki *k)
{
	loop l;
	origin o;
	proxy px;
	res r = { 0 };
	char want[32];
	loop_init(&l);
	origin_new(&l, &o);
	o.stall = 1;
	proxy_new(&l, &px, lh_server_port(o.s), k);
	px.kick = origin_resume;
	px.kick_ctx = &o;
	lh_pool *p = pool_to(&l, lh_server_port(px.s), 0);
	if (k) {
		server_tls(k, o.s, K_GOOD, LH_TLS_STRICT);
		pool_tls(k, p, K_GOOD, ID_ORIGIN);
		/* 16 MB of AES-GCM: 7 s under valgrind. */
		loop_guard(&l, 60);
	}
	r.body = evbuffer_new();

	/* The origin stops reading after the first bytes, until the proxy
	 * has had to act. */
	lh_cx *x = req(p, "POST", "/sink", BIG, &r);
	ck_assert_int_eq(lh_cx_body_fill(x, BIG), 0);
	run_flag(&l, &r.done, "8 MB uploaded through the proxy");
	ck_assert_int_eq(r.errors, 0);
	ck_assert_int_eq(r.status, 200);
	snprintf(want, sizeof want, "%u", BIG);
	ck_assert(body_is(&r, want));
	ck_assert_uint_eq(o.sink_bytes, BIG);
	ck_assert_int_eq(o.stalls, 1);
	ck_assert_int_gt(px.paused_down, 0);
	ck_assert_uint_lt(px.peak_up, 1024 * 1024);
	ck_assert_int_eq(px.flows, 0);

	evbuffer_free(r.body);
	lh_pool_free(p);
	proxy_free(&px);
	origin_free(&o);
	loop_free(&l);
}

START_TEST(test_proxy_backpressure_request)
{
	proxy_request(NULL);
}
END_TEST

START_TEST(test_head)
{
	loop l;
	origin o;
	res r = { 0 }, r2 = { 0 };
	loop_init(&l);
	origin_new(&l, &o);
	lh_pool *p = pool_to(&l, lh_server_port(o.s), 0);

	req(p, "HEAD", "/fill/1000", 0, &r);
	run_flag(&l, &r.done, "the HEAD response");
	ck_assert_int_eq(r.ends, 1);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(r.clen, 1000);
	ck_assert_uint_eq(r.nbody, 0);
	/* No body bytes were sent: the next answer parses on the same
	 * connection. */
	r2.body = evbuffer_new();
	req(p, "GET", "/hello", 0, &r2);
	run_flag(&l, &r2.done, "the GET after HEAD");
	ck_assert(body_is(&r2, "hello"));
	ck_assert_uint_eq(lh_pool_opened(p), 1);

	evbuffer_free(r2.body);
	lh_pool_free(p);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_http10)
{
	loop l;
	origin o;
	raw a, b, c;
	loop_init(&l);
	origin_new(&l, &o);
	uint16_t port = lh_server_port(o.s);

	/* HTTP/1.0 without keep-alive: answered, then closed. */
	raw_open(&l, &a, port);
	const char q1[] = "GET /hello HTTP/1.0\r\n\r\n";
	raw_send(&a, q1, sizeof q1 - 1);
	run_cond(&l, raw_eof, &a, "the close");
	ck_assert_int_eq(raw_find(&a, "HTTP/1.1 200 OK\r\n"), 0);
	ck_assert_int_ge(raw_find(&a, "Connection: close\r\n"), 0);
	ck_assert_int_ge(raw_find(&a, "\r\n\r\nhello"), 0);

	/* A body of unknown length to HTTP/1.0: no chunks, the close ends it. */
	raw_open(&l, &b, port);
	const char q2[] = "GET /chunked HTTP/1.0\r\n\r\n";
	raw_send(&b, q2, sizeof q2 - 1);
	run_cond(&l, raw_eof, &b, "the close");
	ck_assert_int_lt(raw_find(&b, "Transfer-Encoding"), 0);
	ck_assert_int_lt(raw_find(&b, "Content-Length"), 0);
	ck_assert_int_eq(raw_find(&b, "\r\n\r\nabcdefg"),
			 (long)evbuffer_get_length(b.in) - 11);

	/* HTTP/1.0 with keep-alive: two answers on one connection. */
	raw_open(&l, &c, port);
	const char q3[] = "GET /hello HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
	raw_send(&c, q3, sizeof q3 - 1);
	run_raw(&l, &c, "\r\n\r\nhello", 1);
	raw_send(&c, q3, sizeof q3 - 1);
	run_raw(&l, &c, "\r\n\r\nhello", 2);
	ck_assert_int_eq(raw_count(&c, "Connection: keep-alive\r\n"), 2);
	ck_assert_int_eq(c.eof, 0);
	ck_assert_uint_eq(lh_server_accepted(o.s), 3);

	raw_close(&a);
	raw_close(&b);
	raw_close(&c);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_hop_by_hop)
{
	lh_head h, c;
	lh_head_init(&h);
	lh_head_init(&c);
	ck_assert_int_eq(lh_head_add(&h, "Connection", "keep-alive, X-Foo ,x-bar"), 0);
	lh_head_add(&h, "X-Foo", "1");
	lh_head_add(&h, "Host", "svc");
	lh_head_add(&h, "x-bar", "2");
	lh_head_add(&h, "Keep-Alive", "timeout=5");
	lh_head_add(&h, "Proxy-Connection", "keep-alive");
	lh_head_add(&h, "TE", "trailers");
	lh_head_add(&h, "Transfer-Encoding", "chunked");
	lh_head_add(&h, "Upgrade", "h2c");
	lh_head_add(&h, "Content-Length", "10");
	lh_head_add(&h, "connection", "X-Other");
	lh_head_add(&h, "X-OTHER", "3");
	lh_head_add(&h, "X-Keep", "yes");
	ck_assert_int_eq(lh_head_set_target(&h, "/a?b"), 0);
	h.content_length = 10;

	ck_assert_int_eq(lh_head_copy(&c, &h), 0);
	lh_head_strip_hop_by_hop(&c);
	ck_assert_uint_eq(c.nh, 3);
	ck_assert_str_eq(c.h[0].name, "Host");
	ck_assert_str_eq(c.h[1].name, "Content-Length");
	ck_assert_str_eq(c.h[2].name, "X-Keep");
	ck_assert_str_eq(lh_head_get(&c, "content-length"), "10");
	ck_assert_ptr_null(lh_head_get(&c, "x-foo"));
	ck_assert_ptr_null(lh_head_get(&c, "X-Other"));
	ck_assert_str_eq(c.target, "/a?b");
	ck_assert_int_eq(c.content_length, 10);
	/* The source is untouched. */
	ck_assert_uint_eq(h.nh, 13);
	ck_assert_str_eq(lh_head_get(&h, "X-FOO"), "1");

	ck_assert_uint_eq(lh_head_del(&h, "x-foo"), 1);
	ck_assert_uint_eq(lh_head_del(&h, "CONNECTION"), 2);
	ck_assert_int_eq(lh_head_set(&h, "host", "other"), 0);
	ck_assert_str_eq(lh_head_get(&h, "Host"), "other");
	ck_assert_uint_eq(h.nh, 10);
	lh_head_clear(&h);
	ck_assert_uint_eq(h.nh, 0);
	ck_assert_ptr_null(h.target);
	lh_head_clear(&c);
}
END_TEST

START_TEST(test_connect_refused)
{
	loop l;
	res r = { 0 };
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	loop_init(&l);

	/* A port that was free a moment ago and has no listener. */
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
	close(fd);

	lh_pool *p = pool_to(&l, ntohs(sin.sin_port), 0);
	req(p, "GET", "/", 0, &r);
	ck_assert_int_eq(r.done, 0); /* never before lh_request returns */
	run_flag(&l, &r.done, "the connect failure");
	ck_assert_int_eq(r.errors, 1);
	ck_assert_int_eq(r.err, LH_ERR_CONNECT);
	ck_assert_str_eq(lh_err_name(r.err), "connect-failure");
	ck_assert_int_eq(r.responses, 0);
	ck_assert_uint_eq(lh_pool_connections(p), 0);

	lh_pool_free(p);
	loop_free(&l);
}
END_TEST

static void abort_hook(res *r, lh_cx *x, int what)
{
	origin *o = r->ctx;
	(void)x;
	if (what == H_BODY && o->held) {
		lh_sx_abort(o->held);
		o->held = NULL;
	}
}

START_TEST(test_server_abort)
{
	loop l;
	origin o;
	res r = { 0 };
	loop_init(&l);
	origin_new(&l, &o);
	lh_pool *p = pool_to(&l, lh_server_port(o.s), 0);
	r.hook = abort_hook;
	r.ctx = &o;

	req(p, "GET", "/abortmid", 0, &r);
	run_flag(&l, &r.done, "the reset");
	ck_assert_int_eq(r.responses, 1);
	ck_assert_int_eq(r.clen, 1000);
	ck_assert_uint_eq(r.nbody, 100);
	ck_assert_int_eq(r.ends, 0);
	ck_assert_int_eq(r.errors, 1);
	ck_assert_int_eq(r.err, LH_ERR_RESET);
	ck_assert_int_eq(o.aborts, 0); /* an abort the server made itself */

	lh_pool_free(p);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

static int held(const void *arg)
{
	return ((const origin *)arg)->held != NULL;
}

START_TEST(test_client_cancel)
{
	loop l;
	origin o;
	res r = { 0 };
	loop_init(&l);
	origin_new(&l, &o);
	lh_pool *p = pool_to(&l, lh_server_port(o.s), 0);

	lh_cx *x = req(p, "GET", "/slow", 0, &r);
	run_cond(&l, held, &o, "the request at the server");
	lh_cx_cancel(x);
	run_flag(&l, &o.aborts, "on_abort");
	spin(&l, 5);
	ck_assert_int_eq(o.aborts, 1);
	ck_assert_ptr_null(o.held);
	ck_assert_int_eq(r.done, 0); /* no callback after cancel */
	ck_assert_int_eq(r.responses, 0);
	ck_assert_uint_eq(lh_pool_connections(p), 0);

	lh_pool_free(p);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

/* A server with one canned answer per request. With close_after set it
 * closes once that is written, keep-alive in every header or not: the
 * next request on that connection loses the race. */
typedef struct stale {
	struct evconnlistener *lev;
	uint16_t port;
	int accepted, requests;
	const char *answer;
	int close_after;
	struct bufferevent *bev[8];
} stale;

static void stale_drop(stale *s, struct bufferevent *bev)
{
	for (int i = 0; i < 8; i++)
		if (s->bev[i] == bev)
			s->bev[i] = NULL;
	bufferevent_free(bev);
}

static void stale_write(struct bufferevent *bev, void *arg);
static void stale_event(struct bufferevent *bev, short what, void *arg);

static void stale_read(struct bufferevent *bev, void *arg)
{
	stale *s = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	struct evbuffer_ptr e = evbuffer_search(in, "\r\n\r\n", 4, NULL);
	if (e.pos < 0)
		return;
	evbuffer_drain(in, evbuffer_get_length(in));
	s->requests++;
	bufferevent_write(bev, s->answer, strlen(s->answer));
	/* Close once that is written (not on an earlier write callback). */
	if (s->close_after)
		bufferevent_setcb(bev, stale_read, stale_write, stale_event, s);
}

static void stale_write(struct bufferevent *bev, void *arg)
{
	stale_drop(arg, bev); /* written: close */
}

static void stale_event(struct bufferevent *bev, short what, void *arg)
{
	(void)what;
	stale_drop(arg, bev);
}

static void stale_accept(struct evconnlistener *lev, evutil_socket_t fd,
			 struct sockaddr *sa, int sl, void *arg)
{
	stale *s = arg;
	struct bufferevent *bev = bufferevent_socket_new(
		evconnlistener_get_base(lev), fd, BEV_OPT_CLOSE_ON_FREE);
	(void)sa;
	(void)sl;
	if (s->accepted < 8)
		s->bev[s->accepted] = bev;
	s->accepted++;
	bufferevent_setcb(bev, stale_read, NULL, stale_event, s);
	bufferevent_enable(bev, EV_READ | EV_WRITE);
}

static void again_hook(res *r, lh_cx *x, int what)
{
	res *next = r->ctx;
	(void)x;
	/* Sent at once on the connection just released, before its close is
	 * seen: the race a reused connection always risks. */
	if (what == H_END)
		req(next->ctx, "GET", "/second", 0, next);
}

static void stale_open(loop *l, stale *s, const char *answer, int close_after)
{
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	memset(s, 0, sizeof *s);
	memset(&sin, 0, sizeof sin);
	s->answer = answer;
	s->close_after = close_after;
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	s->lev = evconnlistener_new_bind(l->base, stale_accept, s,
					 LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE,
					 16, (struct sockaddr *)&sin, sizeof sin);
	ck_assert_ptr_nonnull(s->lev);
	getsockname(evconnlistener_get_fd(s->lev), (struct sockaddr *)&sin, &sl);
	s->port = ntohs(sin.sin_port);
}

static void stale_close(stale *s)
{
	for (int i = 0; i < 8; i++)
		if (s->bev[i])
			bufferevent_free(s->bev[i]);
	evconnlistener_free(s->lev);
}

START_TEST(test_stale_resend)
{
	loop l;
	stale s;
	res r1 = { 0 }, r2 = { 0 };
	loop_init(&l);
	stale_open(&l, &s, "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 1);
	lh_pool *p = pool_to(&l, s.port, 0);
	r1.hook = again_hook;
	r1.ctx = &r2;
	r2.ctx = p;
	r2.body = evbuffer_new();

	req(p, "GET", "/first", 0, &r1);
	run_flag(&l, &r2.done, "the second request");
	ck_assert_int_eq(r1.ends, 1);
	ck_assert_int_eq(r2.errors, 0);
	ck_assert_int_eq(r2.ends, 1);
	ck_assert(body_is(&r2, "ok"));
	ck_assert_uint_eq(lh_pool_opened(p), 2);
	ck_assert_int_eq(s.accepted, 2);

	evbuffer_free(r2.body);
	lh_pool_free(p);
	stale_close(&s);
	loop_free(&l);
}
END_TEST

/* Response framings a client meets: close-delimited (HTTP/1.0), an interim
 * 100 before the answer, 204 without a length, and not HTTP at all. */
START_TEST(test_client_framing)
{
	loop l;
	stale a, b, c, d;
	res ra = { 0 }, rb = { 0 }, rc = { 0 }, rc2 = { 0 }, rd = { 0 };
	loop_init(&l);
	stale_open(&l, &a, "HTTP/1.0 200 OK\r\nX: y\r\n\r\nuntil the close", 1);
	stale_open(&l, &b, "HTTP/1.1 100 Continue\r\n\r\n"
		   "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", 0);
	stale_open(&l, &c, "HTTP/1.1 204 No Content\r\n\r\n", 0);
	stale_open(&l, &d, "SSH-2.0-OpenSSH_9.2\r\n\r\n", 0);
	lh_pool *pa = pool_to(&l, a.port, 0), *pb = pool_to(&l, b.port, 0);
	lh_pool *pc = pool_to(&l, c.port, 0), *pd = pool_to(&l, d.port, 0);
	ra.body = evbuffer_new();
	rb.body = evbuffer_new();

	req(pa, "GET", "/", 0, &ra);
	req(pb, "GET", "/", 0, &rb);
	req(pc, "GET", "/", 0, &rc);
	req(pd, "GET", "/", 0, &rd);
	run_flag(&l, &ra.done, "the close-delimited body");
	run_flag(&l, &rb.done, "the answer after 100");
	run_flag(&l, &rc.done, "the 204");
	run_flag(&l, &rd.done, "the protocol error");

	ck_assert_int_eq(ra.ends, 1);
	ck_assert_int_eq(ra.clen, -1);
	ck_assert_int_eq(ra.ka, 0);
	ck_assert(body_is(&ra, "until the close"));
	ck_assert_int_eq(rb.responses, 1);
	ck_assert_int_eq(rb.status, 200);
	ck_assert(body_is(&rb, "ok"));
	ck_assert_int_eq(rc.ends, 1);
	ck_assert_int_eq(rc.status, 204);
	ck_assert_uint_eq(rc.nbody, 0);
	ck_assert_int_eq(rc.ka, 1);
	/* The 204 left its connection reusable. */
	req(pc, "GET", "/again", 0, &rc2);
	run_flag(&l, &rc2.done, "the second 204");
	ck_assert_int_eq(rc2.status, 204);
	ck_assert_uint_eq(lh_pool_opened(pc), 1);
	ck_assert_int_eq(rd.errors, 1);
	ck_assert_int_eq(rd.err, LH_ERR_PROTOCOL);

	evbuffer_free(ra.body);
	evbuffer_free(rb.body);
	lh_pool_free(pa);
	lh_pool_free(pb);
	lh_pool_free(pc);
	lh_pool_free(pd);
	stale_close(&a);
	stale_close(&b);
	stale_close(&c);
	stale_close(&d);
	loop_free(&l);
}
END_TEST

START_TEST(test_expect_continue)
{
	loop l;
	origin o;
	raw r;
	loop_init(&l);
	origin_new(&l, &o);
	raw_open(&l, &r, lh_server_port(o.s));

	const char head[] = "POST /collect HTTP/1.1\r\nHost: a\r\n"
			    "Content-Length: 5\r\nExpect: 100-continue\r\n\r\n";
	raw_send(&r, head, sizeof head - 1);
	run_raw(&l, &r, "HTTP/1.1 100 Continue\r\n\r\n", 1);
	raw_send(&r, "hello", 5);
	run_raw(&l, &r, "\r\n\r\nhello", 1);
	ck_assert_int_eq(raw_find(&r, "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK"), 0);

	raw_close(&r);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_connect_timeout)
{
	loop l;
	res r = { 0 }, r2 = { 0 };
	struct sockaddr_in sin;
	socklen_t sl = sizeof sin;
	int fill[3];
	loop_init(&l);

	/* A listener that never accepts, its queue filled: Linux drops the
	 * next SYN, so a connect hangs (for seconds of SYN retries, past the
	 * guard) unless the 100 ms connect timeout ends it. */
	int lfd = socket(AF_INET, SOCK_STREAM, 0);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sin, sizeof sin), 0);
	ck_assert_int_eq(listen(lfd, 0), 0);
	getsockname(lfd, (struct sockaddr *)&sin, &sl);
	for (int i = 0; i < 3; i++) {
		fill[i] = socket(AF_INET, SOCK_STREAM, 0);
		evutil_make_socket_nonblocking(fill[i]);
		(void)connect(fill[i], (struct sockaddr *)&sin, sizeof sin);
	}
	lh_pool *p = lh_pool_new(l.base, "127.0.0.1", ntohs(sin.sin_port), 0, 100);
	ck_assert_ptr_nonnull(p);
	req(p, "GET", "/", 0, &r);
	/* A target that cannot be sent fails without a connection. */
	req(p, "GET", "/a b", 0, &r2);
	run_flag(&l, &r.done, "the connect timeout");
	run_flag(&l, &r2.done, "the refused target");
	ck_assert_int_eq(r.err, LH_ERR_CONNECT);
	ck_assert_int_eq(r2.err, LH_ERR_PROTOCOL);
	ck_assert_uint_eq(lh_pool_opened(p), 1);

	lh_pool_free(p);
	for (int i = 0; i < 3; i++)
		close(fill[i]);
	close(lfd);
	loop_free(&l);
}
END_TEST

START_TEST(test_malformed)
{
	loop l;
	origin o;
	raw a, b;
	loop_init(&l);
	origin_new(&l, &o);

	raw_open(&l, &a, lh_server_port(o.s));
	const char bad[] = "THIS IS NOT HTTP\r\n\r\n";
	raw_send(&a, bad, sizeof bad - 1);
	run_cond(&l, raw_eof, &a, "the close after 400");
	ck_assert_int_eq(raw_find(&a, "HTTP/1.1 400 Bad Request\r\n"), 0);

	/* A head past 64 KB: 431, and no request reaches the handler. */
	raw_open(&l, &b, lh_server_port(o.s));
	size_t n = 70 * 1024;
	char *big = malloc(n + 64);
	int k = snprintf(big, 64, "GET / HTTP/1.1\r\nHost: a\r\nX-Big: ");
	memset(big + k, 'a', n);
	memcpy(big + k + n, "\r\n\r\n", 4);
	raw_send(&b, big, (size_t)k + n + 4);
	free(big);
	run_cond(&l, raw_eof, &b, "the close after 431");
	ck_assert_int_eq(raw_find(&b, "HTTP/1.1 431 "), 0);
	ck_assert_int_eq(o.requests, 0);

	raw_close(&a);
	raw_close(&b);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_max_conns_fifo)
{
	loop l;
	origin o;
	res r[3];
	int order = 0;
	loop_init(&l);
	origin_new(&l, &o);
	lh_pool *p = pool_to(&l, lh_server_port(o.s), 1);

	memset(r, 0, sizeof r);
	for (int i = 0; i < 3; i++) {
		char t[32];
		snprintf(t, sizeof t, "/hello?i=%d", i);
		r[i].order = &order;
		req(p, "GET", t, 0, &r[i]);
	}
	ck_assert_uint_eq(lh_pool_connections(p), 1);
	run_flag(&l, &r[2].done, "the third response");
	for (int i = 0; i < 3; i++) {
		char t[32];
		snprintf(t, sizeof t, "/hello?i=%d", i);
		ck_assert_int_eq(r[i].ends, 1);
		ck_assert_int_eq(r[i].done_at, i);
		ck_assert_str_eq(o.seen[i], t);
	}
	ck_assert_uint_eq(lh_pool_opened(p), 1);
	ck_assert_uint_eq(lh_server_accepted(o.s), 1);

	lh_pool_free(p);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_rate_limit)
{
	loop l;
	origin o;
	res r1 = { 0 }, r2 = { 0 }, r3 = { 0 };
	loop_init(&l);
	origin_new(&l, &o);
	lh_pool *p = pool_to(&l, lh_server_port(o.s), 0);

	/* Set before the pool has a connection: the one it opens joins. */
	ck_assert_int_eq(lh_pool_set_rate(p, 200 * 1024), 0);
	req(p, "GET", "/fill/40000", 0, &r1);
	run_flag(&l, &r1.done, "a rate-limited response");
	ck_assert_int_eq(r1.ends, 1);
	ck_assert_uint_eq(r1.nbody, 40000);
	/* Changed while the connection is idle, then removed. */
	ck_assert_int_eq(lh_pool_set_rate(p, 400 * 1024), 0);
	req(p, "GET", "/fill/40000", 0, &r2);
	run_flag(&l, &r2.done, "the second response");
	ck_assert_uint_eq(r2.nbody, 40000);
	ck_assert_int_eq(lh_pool_set_rate(p, 0), 0);
	ck_assert_int_eq(lh_pool_set_rate(p, 0), 0);
	req(p, "GET", "/fill/40000", 0, &r3);
	run_flag(&l, &r3.done, "the unlimited response");
	ck_assert_uint_eq(r3.nbody, 40000);
	ck_assert_uint_eq(lh_pool_opened(p), 1);

	lh_pool_free(p);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

static void free_pool_hook(res *r, lh_cx *x, int what)
{
	(void)x;
	if (what == H_BODY && r->ctx) {
		lh_pool_free(r->ctx);
		r->ctx = NULL;
	}
}

static int ctx_gone(const void *arg)
{
	return ((const res *)arg)->ctx == NULL;
}


static int no_conns(const void *arg)
{
	return lh_server_connections(arg) == 0;
}

START_TEST(test_free_in_callback)
{
	loop l;
	origin o;
	res r = { 0 }, r2 = { 0 };
	loop_init(&l);
	origin_new(&l, &o);
	lh_pool *p = pool_to(&l, lh_server_port(o.s), 0);

	/* The pool freed from its own on_body: nothing follows. */
	r.hook = free_pool_hook;
	r.ctx = p;
	req(p, "GET", "/fill/2000000", 0, &r);
	run_cond(&l, ctx_gone, &r, "the pool freed in on_body");
	run_cond(&l, no_conns, o.s, "the server to see the close");
	ck_assert_uint_ge(r.nbody, 1);
	ck_assert_int_eq(r.done, 0);

	/* The server freed from its own on_request: the client sees the
	 * connection go. */
	p = pool_to(&l, lh_server_port(o.s), 0);
	o.free_on_request = 1;
	req(p, "GET", "/hello", 0, &r2);
	run_flag(&l, &r2.done, "the reset");
	ck_assert_ptr_null(o.s);
	ck_assert_int_eq(r2.err, LH_ERR_RESET);

	lh_pool_free(p);
	origin_free(&o);
	loop_free(&l);
}
END_TEST

START_TEST(test_server_new_errors)
{
	loop l;
	origin o;
	char err[256] = "";
	loop_init(&l);
	origin_new(&l, &o);

	lh_server *s = lh_server_new(l.base, "127.0.0.1", lh_server_port(o.s),
				     &origin_cbs, NULL, err, sizeof err);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "in use") != NULL, "%s", err);
	s = lh_server_new(l.base, "localhost", 0, &origin_cbs, NULL, err,
			  sizeof err);
	ck_assert_ptr_null(s);
	ck_assert_msg(strstr(err, "numeric") != NULL, "%s", err);
	ck_assert_ptr_null(lh_pool_new(l.base, "nope", 80, 0, 0));

	origin_free(&o);
	loop_free(&l);
}
END_TEST

/* ---- TLS ---- */

/* A TLS test's world: an origin and a pool to it, both mTLS with good
 * certificates unless the test changes them. */
typedef struct tworld {
	loop l;
	pki k;
	origin o;
	lh_pool *p;
} tworld;

static void tw_init(tworld *w, int server_kind, int mode, int client_kind,
		    const char *expect)
{
	loop_init(&w->l);
	/* Handshakes are P-256 signatures and key exchanges: 0.3 s each
	 * under valgrind, and a test makes up to twenty. */
	loop_guard(&w->l, 60);
	pki_init(&w->k);
	origin_new(&w->l, &w->o);
	server_tls(&w->k, w->o.s, server_kind, mode);
	w->p = pool_to(&w->l, lh_server_port(w->o.s), 0);
	if (client_kind >= 0)
		pool_tls(&w->k, w->p, client_kind, expect);
}

static void tw_free(tworld *w)
{
	lh_pool_free(w->p);
	origin_free(&w->o);
	pki_free(&w->k);
	loop_free(&w->l);
}

/* One GET; returns its result (the body kept). */
static void tw_get(tworld *w, lh_pool *p, const char *target, res *r)
{
	memset(r, 0, sizeof *r);
	r->body = evbuffer_new();
	req(p, "GET", target, 0, r);
	run_flag(&w->l, &r->done, target);
}

static int server_failed(const void *arg)
{
	lh_tls_stats st;
	lh_server_tls_stats(arg, &st);
	return failed_all(&st) > 0;
}

START_TEST(test_tls_get)
{
	tworld w;
	res r;
	lh_tls_stats ss, ps;
	tw_init(&w, K_GOOD, LH_TLS_STRICT, K_GOOD, ID_ORIGIN);

	tw_get(&w, w.p, "/whoami", &r);
	ck_assert_int_eq(r.errors, 0);
	ck_assert_int_eq(r.status, 200);
	/* Each side saw the other's identity. */
	ck_assert(body_is(&r, ID_CLIENT));
	ck_assert_str_eq(r.peer_id, ID_ORIGIN);
	ck_assert_int_eq(r.ka, 1);
	lh_server_tls_stats(w.o.s, &ss);
	lh_pool_tls_stats(w.p, &ps);
	ck_assert_uint_eq(ss.full, 1);
	ck_assert_uint_eq(ss.resumed, 0);
	ck_assert_uint_eq(failed_all(&ss), 0);
	ck_assert_uint_eq(ps.full, 1);
	ck_assert_uint_eq(failed_all(&ps), 0);
	ck_assert_uint_eq(ss.plaintext + ss.plaintext_refused, 0);

	/* Bodies both ways, chunked, on the same connection. */
	res r2 = { 0 };
	struct evbuffer *b = evbuffer_new();
	r2.body = evbuffer_new();
	lh_cx *x = req(w.p, "POST", "/echo", -1, &r2);
	evbuffer_add(b, "secret ", 7);
	ck_assert_int_eq(lh_cx_body(x, b), 0);
	evbuffer_add(b, "payload", 7);
	ck_assert_int_eq(lh_cx_body(x, b), 0);
	lh_cx_body_end(x);
	run_flag(&w.l, &r2.done, "the echo");
	ck_assert(body_is(&r2, "secret payload"));
	ck_assert_uint_eq(lh_pool_opened(w.p), 1);

	evbuffer_free(b);
	evbuffer_free(r.body);
	evbuffer_free(r2.body);
	tw_free(&w);
}
END_TEST

START_TEST(test_tls_reuse_resume)
{
	tworld w;
	res r;
	lh_tls_stats ss, ps;
	tw_init(&w, K_GOOD, LH_TLS_STRICT, K_GOOD, ID_ORIGIN);

	/* Keep-alive: ten requests, one handshake. */
	for (int i = 0; i < 10; i++) {
		tw_get(&w, w.p, i % 2 ? "/hello" : "/fill/30000", &r);
		ck_assert_int_eq(r.ends, 1);
		ck_assert_uint_eq(r.nbody, i % 2 ? 5 : 30000);
		evbuffer_free(r.body);
	}
	ck_assert_uint_eq(lh_pool_opened(w.p), 1);
	ck_assert_uint_eq(lh_server_accepted(w.o.s), 1);
	lh_server_tls_stats(w.o.s, &ss);
	ck_assert_uint_eq(ss.full, 1);
	ck_assert_uint_eq(ss.resumed, 0);

	/* That connection closes; the next one resumes the session, and
	 * the server still knows who the client is. */
	memset(&r, 0, sizeof r);
	req_close(w.p, "/hello", &r);
	run_flag(&w.l, &r.done, "the last answer on the first connection");
	ck_assert_int_eq(r.ends, 1);
	tw_get(&w, w.p, "/whoami", &r);
	ck_assert(body_is(&r, ID_CLIENT));
	ck_assert_str_eq(r.peer_id, ID_ORIGIN);
	evbuffer_free(r.body);
	ck_assert_uint_eq(lh_pool_opened(w.p), 2);
	lh_server_tls_stats(w.o.s, &ss);
	lh_pool_tls_stats(w.p, &ps);
	ck_assert_uint_eq(ss.full, 1);
	ck_assert_uint_eq(ss.resumed, 1);
	ck_assert_uint_eq(ps.full, 1);
	ck_assert_uint_eq(ps.resumed, 1);

	/* A new context (a rotated client certificate) drops the tickets:
	 * the next connection is a full handshake again, and the idle one
	 * stays in use meanwhile. */
	pool_tls(&w.k, w.p, K_GOOD, ID_ORIGIN);
	ck_assert_uint_eq(lh_pool_connections(w.p), 1);
	tw_get(&w, w.p, "/hello", &r);
	evbuffer_free(r.body);
	ck_assert_uint_eq(lh_pool_opened(w.p), 2);

	tw_free(&w);
}
END_TEST

/* A handshake refused by the server: the client's error, the server's
 * count, and no request reached the handler. */
static void refused(int client_kind, int want)
{
	tworld w;
	res r;
	lh_tls_stats ss, ps;
	tw_init(&w, K_GOOD, LH_TLS_STRICT, client_kind, ID_ORIGIN);

	tw_get(&w, w.p, "/hello", &r);
	run_cond(&w.l, server_failed, w.o.s, "the server's count");
	ck_assert_int_eq(r.errors, 1);
	ck_assert_int_eq(r.responses, 0);
	ck_assert_msg(r.err == want, "client: %s, wanted %s", lh_err_name(r.err),
		      lh_err_name(want));
	ck_assert(lh_err_is_connect(r.err));
	ck_assert_int_eq(w.o.requests, 0);
	lh_server_tls_stats(w.o.s, &ss);
	lh_pool_tls_stats(w.p, &ps);
	ck_assert_uint_eq(failed(&ss, want), 1);
	ck_assert_uint_eq(failed_all(&ss), 1);
	ck_assert_uint_eq(ss.failed_by_peer, 0);
	ck_assert_uint_eq(ss.full + ss.resumed, 0);
	/* The client learnt it from the server's alert (TLS 1.3: after its
	 * own side of the handshake had finished). */
	ck_assert_uint_eq(failed(&ps, want), 1);
	ck_assert_uint_eq(ps.failed_by_peer, 1);
	ck_assert_uint_eq(ps.full + ps.resumed, 0);

	evbuffer_free(r.body);
	tw_free(&w);
}

START_TEST(test_tls_no_client_cert)
{
	refused(K_NONE, LH_ERR_TLS_NO_CERT);
}
END_TEST

START_TEST(test_tls_expired_client)
{
	refused(K_EXPIRED, LH_ERR_TLS_EXPIRED);
}
END_TEST

START_TEST(test_tls_unknown_ca_client)
{
	refused(K_FOREIGN, LH_ERR_TLS_UNKNOWN_CA);
}
END_TEST

/* A handshake the client refuses: its error and count; the server
 * counts the client's alert. */
static void rejected(int server_kind, const char *expect, int want,
		     int want_server)
{
	tworld w;
	res r;
	lh_tls_stats ss, ps;
	tw_init(&w, server_kind, LH_TLS_STRICT, K_GOOD, expect);

	tw_get(&w, w.p, "/hello", &r);
	run_cond(&w.l, server_failed, w.o.s, "the server's count");
	ck_assert_int_eq(r.errors, 1);
	ck_assert_msg(r.err == want, "client: %s, wanted %s", lh_err_name(r.err),
		      lh_err_name(want));
	ck_assert_int_eq(w.o.requests, 0);
	lh_pool_tls_stats(w.p, &ps);
	lh_server_tls_stats(w.o.s, &ss);
	ck_assert_uint_eq(failed(&ps, want), 1);
	ck_assert_uint_eq(ps.failed_by_peer, 0);
	ck_assert_uint_eq(ps.full + ps.resumed, 0);
	ck_assert_uint_eq(failed(&ss, want_server), 1);
	ck_assert_uint_eq(ss.failed_by_peer, 1);
	ck_assert_uint_eq(ss.full + ss.resumed, 0);

	evbuffer_free(r.body);
	tw_free(&w);
}

START_TEST(test_tls_unknown_ca_server)
{
	rejected(K_FOREIGN, ID_ORIGIN, LH_ERR_TLS_UNKNOWN_CA,
		 LH_ERR_TLS_UNKNOWN_CA);
}
END_TEST

START_TEST(test_tls_expired_server)
{
	rejected(K_EXPIRED, ID_ORIGIN, LH_ERR_TLS_EXPIRED, LH_ERR_TLS_EXPIRED);
}
END_TEST

START_TEST(test_tls_identity_mismatch)
{
	/* A good certificate of another service: the client expected
	 * someone else (Istio's SAN check). Its bad_certificate alert tells
	 * the server it was its identity. */
	rejected(K_GOOD, "spiffe://cluster.local/ns/default/sa/reviews",
		 LH_ERR_TLS_IDENTITY, LH_ERR_TLS_IDENTITY);
}
END_TEST

START_TEST(test_tls_permissive)
{
	tworld w;
	res r;
	lh_tls_stats ss;
	tw_init(&w, K_GOOD, LH_TLS_PERMISSIVE, -1, NULL);
	lh_pool *tp = pool_to(&w.l, lh_server_port(w.o.s), 0);
	pool_tls(&w.k, tp, K_GOOD, ID_ORIGIN);

	/* Plaintext: served, no identity. */
	tw_get(&w, w.p, "/whoami", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(body_is(&r, "-"));
	ck_assert_str_eq(r.peer_id, "");
	evbuffer_free(r.body);
	/* mTLS on the same port: the client's identity. */
	tw_get(&w, tp, "/whoami", &r);
	ck_assert(body_is(&r, ID_CLIENT));
	ck_assert_str_eq(r.peer_id, ID_ORIGIN);
	evbuffer_free(r.body);
	lh_server_tls_stats(w.o.s, &ss);
	ck_assert_uint_eq(ss.plaintext, 1);
	ck_assert_uint_eq(ss.full, 1);

	/* The plaintext pool turns to mTLS: its idle plaintext connection
	 * is closed, and the next request goes over TLS. */
	ck_assert_uint_eq(lh_pool_connections(w.p), 1);
	pool_tls(&w.k, w.p, K_GOOD, ID_ORIGIN);
	ck_assert_uint_eq(lh_pool_connections(w.p), 0);
	tw_get(&w, w.p, "/whoami", &r);
	ck_assert(body_is(&r, ID_CLIENT));
	evbuffer_free(r.body);

	/* STRICT from now on: a plaintext client is closed at its first
	 * byte; connections open stay as they are. */
	SSL_CTX *ctx = pki_ctx(&w.k, "origin", K_GOOD, 1, NULL, 0);
	ck_assert_int_eq(lh_server_set_tls(w.o.s, ctx, LH_TLS_STRICT), 0);
	SSL_CTX_free(ctx);
	lh_pool *pp = pool_to(&w.l, lh_server_port(w.o.s), 0);
	tw_get(&w, pp, "/whoami", &r);
	ck_assert_int_eq(r.errors, 1);
	ck_assert_int_eq(r.err, LH_ERR_RESET);
	evbuffer_free(r.body);
	lh_server_tls_stats(w.o.s, &ss);
	ck_assert_uint_eq(ss.plaintext_refused, 1);
	ck_assert_uint_eq(ss.plaintext, 1);
	tw_get(&w, tp, "/whoami", &r);
	ck_assert(body_is(&r, ID_CLIENT));
	evbuffer_free(r.body);
	ck_assert_uint_eq(lh_pool_opened(tp), 1);

	lh_pool_free(pp);
	lh_pool_free(tp);
	tw_free(&w);
}
END_TEST

START_TEST(test_tls_rotation)
{
	tworld w;
	res r, held;
	char s1[80], s2[80];
	int n_old = 0, n_new = 0;
	tw_init(&w, K_GOOD, LH_TLS_STRICT, K_GOOD, ID_ORIGIN);
	SSL_CTX *c1 = pki_ctx(&w.k, "origin", K_GOOD, 1, s1, sizeof s1);
	SSL_CTX *c2 = pki_ctx(&w.k, "origin", K_GOOD, 1, s2, sizeof s2);
	ck_assert_str_ne(s1, s2);
	ck_assert_int_eq(lh_server_set_tls(w.o.s, c1, LH_TLS_STRICT), 0);
	/* A keep-alive pool, and one that opens a connection per request. */
	lh_pool *ka = pool_to(&w.l, lh_server_port(w.o.s), 0);
	pool_tls(&w.k, ka, K_GOOD, ID_ORIGIN);

	tw_get(&w, ka, "/hello", &r);
	ck_assert_str_eq(r.serial, s1);
	evbuffer_free(r.body);
	/* A request in flight across the swap. */
	memset(&held, 0, sizeof held);
	req(w.p, "GET", "/slow", 0, &held);
	run_flag(&w.l, (const int *)&w.o.held, "the held request");

	for (int i = 0; i < 12; i++) {
		if (i == 6) {
			/* The new certificate, as SDS would push it. */
			ck_assert_int_eq(lh_server_set_tls(w.o.s, c2,
							   LH_TLS_STRICT), 0);
			lh_sx_respond_simple(w.o.held, 200, "text/plain", "ok",
					     2, NULL);
			w.o.held = NULL;
		}
		lh_pool *p = pool_to(&w.l, lh_server_port(w.o.s), 0);
		pool_tls(&w.k, p, K_GOOD, ID_ORIGIN);
		memset(&r, 0, sizeof r);
		req_close(p, "/whoami", &r);
		run_flag(&w.l, &r.done, "a request around the rotation");
		ck_assert_int_eq(r.errors, 0);
		ck_assert_int_eq(r.status, 200);
		ck_assert_str_eq(r.serial, i < 6 ? s1 : s2);
		n_old += !strcmp(r.serial, s1);
		n_new += !strcmp(r.serial, s2);
		lh_pool_free(p);
	}
	ck_assert_int_eq(n_old, 6);
	ck_assert_int_eq(n_new, 6);
	run_flag(&w.l, &held.done, "the held answer");
	ck_assert_int_eq(held.errors, 0);
	ck_assert_int_eq(held.status, 200);
	ck_assert_str_eq(held.serial, s1);

	/* The keep-alive connection made before the swap still serves,
	 * with the certificate it began with. */
	tw_get(&w, ka, "/hello", &r);
	ck_assert_int_eq(r.errors, 0);
	ck_assert_str_eq(r.serial, s1);
	evbuffer_free(r.body);
	ck_assert_uint_eq(lh_pool_opened(ka), 1);
	/* A ticket from the old context does not resume under the new
	 * one: a new connection of the same pool gets the new certificate. */
	memset(&r, 0, sizeof r);
	req_close(ka, "/hello", &r);
	run_flag(&w.l, &r.done, "the last answer of the old connection");
	tw_get(&w, ka, "/hello", &r);
	ck_assert_str_eq(r.serial, s2);
	evbuffer_free(r.body);
	lh_tls_stats ss;
	lh_server_tls_stats(w.o.s, &ss);
	ck_assert_uint_eq(failed_all(&ss), 0);
	ck_assert_uint_eq(ss.resumed, 0);

	lh_pool_free(ka);
	SSL_CTX_free(c1);
	SSL_CTX_free(c2);
	tw_free(&w);
}
END_TEST

START_TEST(test_tls_proxy_backpressure_response)
{
	pki k;
	pki_init(&k);
	proxy_response(&k);
	pki_free(&k);
}
END_TEST

START_TEST(test_tls_proxy_backpressure_request)
{
	pki k;
	pki_init(&k);
	proxy_request(&k);
	pki_free(&k);
}
END_TEST

START_TEST(test_tls_rate_limit)
{
	tworld w;
	res r;
	tw_init(&w, K_GOOD, LH_TLS_STRICT, K_GOOD, ID_ORIGIN);
	/* libevent counts a TLS connection's bytes at its socket: the
	 * bandwidth faults of live mode apply to mTLS too. */
	ck_assert_int_eq(lh_pool_set_rate(w.p, 200 * 1024), 0);
	tw_get(&w, w.p, "/fill/40000", &r);
	ck_assert_int_eq(r.ends, 1);
	ck_assert_uint_eq(r.nbody, 40000);
	evbuffer_free(r.body);
	ck_assert_int_eq(lh_pool_set_rates(w.p, 100 * 1024, 0), 0);
	tw_get(&w, w.p, "/fill/40000", &r);
	ck_assert_uint_eq(r.nbody, 40000);
	evbuffer_free(r.body);
	ck_assert_uint_eq(lh_pool_opened(w.p), 1);
	tw_free(&w);
}
END_TEST

/* A raw TLS client: raw's reader over an OpenSSL bufferevent. */
static void raw_open_tls(loop *l, raw *r, uint16_t port, SSL_CTX *ctx)
{
	struct sockaddr_in sin;
	SSL *ssl = SSL_new(ctx);
	ck_assert_ptr_nonnull(ssl);
	memset(r, 0, sizeof r[0]);
	memset(&sin, 0, sizeof sin);
	sin.sin_family = AF_INET;
	sin.sin_port = htons(port);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	r->in = evbuffer_new();
	r->bev = bufferevent_openssl_socket_new(l->base, -1, ssl,
		BUFFEREVENT_SSL_CONNECTING, BEV_OPT_CLOSE_ON_FREE);
	ck_assert_ptr_nonnull(r->bev);
	bufferevent_openssl_set_allow_dirty_shutdown(r->bev, 1);
	bufferevent_setcb(r->bev, raw_read, NULL, raw_event, r);
	bufferevent_enable(r->bev, EV_READ | EV_WRITE);
	ck_assert_int_eq(bufferevent_socket_connect(r->bev, (struct sockaddr *)&sin,
						    sizeof sin), 0);
}

/* A client pipelines more than the server reads ahead (256 KB) behind a
 * request the server holds; once the held answer goes, every request is
 * answered in turn. Meanwhile the server must stop reading rather than
 * spin: libevent calls a read callback again on every pass while its
 * input is at the high mark (sc_read_gate). k not NULL: over mTLS. */
static void pipelined_full(pki *k)
{
	loop l;
	origin o;
	SSL_CTX *cctx = NULL;
	char pad[2001];
	loop_init(&l);
	loop_guard(&l, 60);
	origin_new(&l, &o);
	if (k) {
		server_tls(k, o.s, K_GOOD, LH_TLS_STRICT);
		cctx = pki_ctx(k, "client", K_GOOD, 0, NULL, 0);
	}
	memset(pad, 'p', sizeof pad - 1);
	pad[sizeof pad - 1] = '\0';
	for (int extra = 0; extra <= 32; extra += 16) {
		raw r;
		struct evbuffer *b = evbuffer_new();
		int n = 0;
		if (k)
			raw_open_tls(&l, &r, lh_server_port(o.s), cctx);
		else
			raw_open(&l, &r, lh_server_port(o.s));
		evbuffer_add_printf(b, "GET /slow HTTP/1.1\r\nHost: a\r\n\r\n");
		while (evbuffer_get_length(b) < (256u + (unsigned)extra) * 1024) {
			evbuffer_add_printf(b, "GET /hello HTTP/1.1\r\nHost: a\r\n"
					    "X-Pad: %s\r\n\r\n", pad);
			n++;
		}
		ck_assert_int_eq(bufferevent_write_buffer(r.bev, b), 0);
		run_flag(&l, (const int *)&o.held, "the held request");
		/* The server reads up to its mark, then must go quiet: a
		 * spinning one never lets spin() return. */
		spin(&l, 50);
		lh_sx_respond_simple(o.held, 200, "text/plain", "slow", 4, NULL);
		o.held = NULL;
		run_raw(&l, &r, "\r\n\r\nhello", n);
		ck_assert_int_eq(raw_count(&r, "\r\n\r\nslow"), 1);
		ck_assert_int_eq(r.eof, 0);
		raw_close(&r);
		evbuffer_free(b);
	}
	SSL_CTX_free(cctx);
	origin_free(&o);
	loop_free(&l);
}

START_TEST(test_pipelined_read_ahead)
{
	pipelined_full(NULL);
}
END_TEST

START_TEST(test_tls_pipelined_read_ahead)
{
	pki k;
	pki_init(&k);
	pipelined_full(&k);
	pki_free(&k);
}
END_TEST

START_TEST(test_tls_mismatched_peers)
{
	tworld w;
	res r;
	lh_tls_stats ps;
	/* A TLS client to a plaintext server: the answer is not TLS. */
	loop_init(&w.l);
	loop_guard(&w.l, 60);
	pki_init(&w.k);
	origin_new(&w.l, &w.o);
	w.p = pool_to(&w.l, lh_server_port(w.o.s), 0);
	pool_tls(&w.k, w.p, K_GOOD, NULL);
	tw_get(&w, w.p, "/hello", &r);
	ck_assert_int_eq(r.errors, 1);
	ck_assert_int_eq(r.err, LH_ERR_TLS_OTHER);
	ck_assert_str_eq(lh_err_name(r.err), "tls-other");
	lh_pool_tls_stats(w.p, &ps);
	ck_assert_uint_eq(failed(&ps, LH_ERR_TLS_OTHER), 1);
	evbuffer_free(r.body);
	/* Nobody listening: still a connect failure. */
	lh_pool *q = pool_to(&w.l, 1, 0);
	pool_tls(&w.k, q, K_GOOD, NULL);
	tw_get(&w, q, "/hello", &r);
	ck_assert_int_eq(r.err, LH_ERR_CONNECT);
	evbuffer_free(r.body);
	lh_pool_tls_stats(q, &ps);
	ck_assert_uint_eq(failed_all(&ps), 0);
	lh_pool_free(q);
	tw_free(&w);
}
END_TEST

START_TEST(test_tls_ctx_errors)
{
	pki k;
	char err[512] = "";
	pki_init(&k);
	tls_ca_cert *a = tls_ca_issue_workload(k.ca, NULL, "a", k.now, err,
					       sizeof err);
	tls_ca_cert *b = tls_ca_issue_workload(k.ca, NULL, "b", k.now, err,
					       sizeof err);
	ck_assert_ptr_nonnull(a);
	ck_assert_ptr_nonnull(b);

	ck_assert_ptr_null(lh_tls_ctx_new(tls_ca_cert_x509(a), tls_ca_cert_key(b),
					  NULL, k.trust, 1, err, sizeof err));
	ck_assert_msg(strstr(err, "spiffe://cluster.local/ns/default/sa/a") &&
		      strstr(err, "do not go together"), "%s", err);
	ck_assert_ptr_null(lh_tls_ctx_new(tls_ca_cert_x509(a), tls_ca_cert_key(a),
					  NULL, NULL, 0, err, sizeof err));
	ck_assert_msg(strstr(err, "trust store") != NULL, "%s", err);
	ck_assert_ptr_null(lh_tls_ctx_new(NULL, NULL, NULL, k.trust, 1, err,
					  sizeof err));
	ck_assert_msg(strstr(err, "server needs") != NULL, "%s", err);
	ck_assert_uint_eq(ERR_peek_error(), 0);

	loop l;
	origin o;
	loop_init(&l);
	origin_new(&l, &o);
	ck_assert_int_eq(lh_server_set_tls(o.s, NULL, LH_TLS_STRICT), -1);
	ck_assert_int_eq(lh_server_set_tls(o.s, NULL, 7), -1);
	ck_assert_int_eq(lh_server_set_tls(o.s, NULL, LH_TLS_OFF), 0);
	ck_assert_int_eq(lh_err_is_connect(LH_ERR_RESET), 0);
	ck_assert_int_eq(lh_err_is_connect(LH_ERR_CONNECT), 1);
	ck_assert_str_eq(lh_err_name(LH_ERR_TLS_IDENTITY), "tls-identity-mismatch");
	origin_free(&o);
	loop_free(&l);

	tls_ca_cert_free(a);
	tls_ca_cert_free(b);
	pki_free(&k);
}
END_TEST

static int server_failed2(const void *arg)
{
	lh_tls_stats st;
	lh_server_tls_stats(arg, &st);
	return failed_all(&st) > 1;
}

START_TEST(test_tls_peer_domain)
{
	tworld w;
	res r;
	lh_tls_stats ss;
	tw_init(&w, K_GOOD, LH_TLS_STRICT, K_GOOD, ID_ORIGIN);

	/* A client of another trust domain than the one required: refused
	 * as an identity mismatch (its chain is fine). */
	ck_assert_int_eq(lh_server_set_peer_domain(w.o.s, "example.org"), 0);
	tw_get(&w, w.p, "/hello", &r);
	run_cond(&w.l, server_failed, w.o.s, "the server's count");
	ck_assert_int_eq(r.errors, 1);
	ck_assert(lh_err_is_connect(r.err));
	ck_assert_int_eq(w.o.requests, 0);
	lh_server_tls_stats(w.o.s, &ss);
	ck_assert_uint_eq(failed(&ss, LH_ERR_TLS_IDENTITY), 1);
	ck_assert_uint_eq(ss.full + ss.resumed, 0);
	evbuffer_free(r.body);
	/* A domain is matched whole: "cluster.loc" is not cluster.local. */
	ck_assert_int_eq(lh_server_set_peer_domain(w.o.s, "cluster.loc"), 0);
	tw_get(&w, w.p, "/hello", &r);
	run_cond(&w.l, server_failed2, w.o.s, "the server's second count");
	ck_assert_int_eq(r.errors, 1);
	lh_server_tls_stats(w.o.s, &ss);
	ck_assert_uint_eq(failed(&ss, LH_ERR_TLS_IDENTITY), 2);
	evbuffer_free(r.body);
	/* Its own domain: served, with the client's identity. */
	ck_assert_int_eq(lh_server_set_peer_domain(w.o.s, "cluster.local"), 0);
	tw_get(&w, w.p, "/whoami", &r);
	ck_assert_int_eq(r.status, 200);
	ck_assert(body_is(&r, ID_CLIENT));
	evbuffer_free(r.body);
	lh_server_tls_stats(w.o.s, &ss);
	ck_assert_uint_eq(ss.full, 1);
	tw_free(&w);
}
END_TEST

START_TEST(test_tls_mem)
{
	pki k;
	lh_tls_mem_result r, r2;
	pki_init(&k);
	SSL_CTX *sv = pki_ctx(&k, "origin", K_GOOD, 1, NULL, 0);
	SSL_CTX *cl = pki_ctx(&k, "client", K_GOOD, 0, NULL, 0);
	SSL_CTX *none = pki_ctx(&k, "client", K_NONE, 0, NULL, 0);
	SSL_CTX *foreign = pki_ctx(&k, "client", K_FOREIGN, 0, NULL, 0);

	/* A full handshake, then one resuming its ticket. */
	ck_assert_int_eq(lh_tls_handshake_mem(cl, sv, ID_ORIGIN, "cluster.local",
					      k.now, NULL, &r), 0);
	ck_assert_int_eq(r.err, 0);
	ck_assert_int_eq(r.resumed, 0);
	ck_assert_str_eq(r.client_id, ID_CLIENT);
	ck_assert_ptr_nonnull(r.ticket);
	ck_assert_int_eq(lh_tls_handshake_mem(cl, sv, ID_ORIGIN, "cluster.local",
					      k.now, r.ticket, &r2), 0);
	ck_assert_int_eq(r2.err, 0);
	ck_assert_int_eq(r2.resumed, 1);
	ck_assert_str_eq(r2.client_id, ID_CLIENT);
	SSL_SESSION_free(r.ticket);
	SSL_SESSION_free(r2.ticket);
	/* The time is the caller's: two days on, both have expired. */
	ck_assert_int_eq(lh_tls_handshake_mem(cl, sv, NULL, NULL,
					      k.now + 2 * 86400, NULL, &r), 0);
	ck_assert_int_eq(r.err, LH_ERR_TLS_EXPIRED);
	ck_assert_int_eq(r.by_server, 0);
	/* Refusals, and by whom. */
	ck_assert_int_eq(lh_tls_handshake_mem(none, sv, ID_ORIGIN, NULL, k.now,
					      NULL, &r), 0);
	ck_assert_int_eq(r.err, LH_ERR_TLS_NO_CERT);
	ck_assert_int_eq(r.by_server, 1);
	ck_assert_int_eq(lh_tls_handshake_mem(foreign, sv, ID_ORIGIN, NULL,
					      k.now, NULL, &r), 0);
	ck_assert_int_eq(r.err, LH_ERR_TLS_UNKNOWN_CA);
	ck_assert_int_eq(r.by_server, 1);
	ck_assert_int_eq(lh_tls_handshake_mem(cl, sv, ID_CLIENT, NULL, k.now,
					      NULL, &r), 0);
	ck_assert_int_eq(r.err, LH_ERR_TLS_IDENTITY);
	ck_assert_int_eq(r.by_server, 0);
	ck_assert_int_eq(lh_tls_handshake_mem(cl, sv, ID_ORIGIN, "example.org",
					      k.now, NULL, &r), 0);
	ck_assert_int_eq(r.err, LH_ERR_TLS_IDENTITY);
	ck_assert_int_eq(r.by_server, 1);
	ck_assert_ptr_null(r.ticket);
	/* A resumed session is held to the domain too. */
	ck_assert_int_eq(lh_tls_handshake_mem(cl, sv, ID_ORIGIN, NULL, k.now,
					      NULL, &r), 0);
	ck_assert_int_eq(lh_tls_handshake_mem(cl, sv, ID_ORIGIN, "example.org",
					      k.now, r.ticket, &r2), 0);
	ck_assert_int_eq(r2.err, LH_ERR_TLS_IDENTITY);
	ck_assert_int_eq(r2.by_server, 1);
	SSL_SESSION_free(r.ticket);
	/* The same context keeps serving pools: no pool is needed for its
	 * session callback, and nothing is left in the error queue. */
	ck_assert_uint_eq(ERR_peek_error(), 0);

	SSL_CTX_free(sv);
	SSL_CTX_free(cl);
	SSL_CTX_free(none);
	SSL_CTX_free(foreign);
	pki_free(&k);
}
END_TEST

/* One case per test, so that CK_RUN_CASE=get (say) runs one alone. */
static void add(Suite *s, const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

Suite *live_http_suite(void)
{
	/* A peer that hangs up must not end the test with SIGPIPE (the
	 * agent processes ignore it too); forked test cases inherit this. */
	signal(SIGPIPE, SIG_IGN);
	Suite *s = suite_create("live_http");
	add(s, "hop_by_hop", test_hop_by_hop);
	add(s, "get", test_get);
	add(s, "keepalive_reuse", test_keepalive_reuse);
	add(s, "pipelining", test_pipelining);
	add(s, "pipelined_read_ahead", test_pipelined_read_ahead);
	add(s, "chunked_bodies", test_chunked_bodies);
	add(s, "byte_at_a_time", test_byte_at_a_time);
	add(s, "proxy_backpressure_response", test_proxy_backpressure_response);
	add(s, "proxy_backpressure_request", test_proxy_backpressure_request);
	add(s, "head", test_head);
	add(s, "http10", test_http10);
	add(s, "connect_refused", test_connect_refused);
	add(s, "server_abort", test_server_abort);
	add(s, "client_cancel", test_client_cancel);
	add(s, "stale_resend", test_stale_resend);
	add(s, "client_framing", test_client_framing);
	add(s, "expect_continue", test_expect_continue);
	add(s, "connect_timeout", test_connect_timeout);
	add(s, "malformed", test_malformed);
	add(s, "max_conns_fifo", test_max_conns_fifo);
	add(s, "rate_limit", test_rate_limit);
	add(s, "free_in_callback", test_free_in_callback);
	add(s, "server_new_errors", test_server_new_errors);
	add(s, "tls_get", test_tls_get);
	add(s, "tls_reuse_resume", test_tls_reuse_resume);
	add(s, "tls_no_client_cert", test_tls_no_client_cert);
	add(s, "tls_expired_client", test_tls_expired_client);
	add(s, "tls_unknown_ca_client", test_tls_unknown_ca_client);
	add(s, "tls_unknown_ca_server", test_tls_unknown_ca_server);
	add(s, "tls_expired_server", test_tls_expired_server);
	add(s, "tls_identity_mismatch", test_tls_identity_mismatch);
	add(s, "tls_permissive", test_tls_permissive);
	add(s, "tls_rotation", test_tls_rotation);
	add(s, "tls_proxy_backpressure_response",
	    test_tls_proxy_backpressure_response);
	add(s, "tls_proxy_backpressure_request",
	    test_tls_proxy_backpressure_request);
	add(s, "tls_rate_limit", test_tls_rate_limit);
	add(s, "tls_pipelined_read_ahead", test_tls_pipelined_read_ahead);
	add(s, "tls_mismatched_peers", test_tls_mismatched_peers);
	add(s, "tls_ctx_errors", test_tls_ctx_errors);
	add(s, "tls_peer_domain", test_tls_peer_domain);
	add(s, "tls_mem", test_tls_mem);
	return s;
}
