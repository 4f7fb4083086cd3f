/*
 * bench_http.c - a one-page HTTP/1.1 server, built on libevent's evhttp or
 * on our own live_http.c, for `make bench` to compare the two with wrk.
 *
 *   bench_http evhttp|live ADDR PORT
 *   bench_http handshakes [N]
 *
 * Both answer every request with the same 17-byte body and keep
 * connections alive. The server runs until SIGTERM or SIGINT. It is what
 * the choice of HTTP layer for live mode was measured with (README,
 * "Libraries").
 *
 * "handshakes" prices mutual TLS in one process (client and server on one
 * loop, so the CPU time is both sides'): N requests each way, on a kept
 * connection and on a new connection per request, plaintext and mTLS
 * (full handshakes, and resumed ones), and prints the CPU per request
 * against plaintext keep-alive.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "live_http.h"
#include "tls_ca.h"

static const char page[] = "hello from bench\n";

static void ev_handler(struct evhttp_request *req, void *arg)
{
	(void)arg;
	struct evbuffer *b = evbuffer_new();
	evbuffer_add(b, page, sizeof page - 1);
	evhttp_add_header(evhttp_request_get_output_headers(req),
			  "Content-Type", "text/plain");
	evhttp_send_reply(req, 200, "OK", b);
	evbuffer_free(b);
}

static void lh_request_cb(void *arg, lh_sx *x, const lh_head *head)
{
	(void)arg;
	/* "/fill/N": N bytes of filler, for the bulk figures of
	 * "handshakes". */
	if (head->target && !strncmp(head->target, "/fill/", 6)) {
		lh_head r;
		lh_head_init(&r);
		r.content_length = (int64_t)strtoull(head->target + 6, NULL, 10);
		if (lh_sx_respond_head(x, &r) == 0)
			lh_sx_respond_fill(x, (uint64_t)r.content_length);
		lh_sx_respond_end(x);
		return;
	}
	/* The body (none here) has not arrived yet; answering now is what
	 * a proxy streaming through does. */
	lh_sx_respond_simple(x, 200, "text/plain", page, sizeof page - 1, NULL);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* ---- handshakes ---- */

typedef struct hs {
	struct event_base *base;
	int done, failed;
} hs;

static void hs_end(void *arg, lh_cx *x)
{
	(void)x;
	((hs *)arg)->done = 1;
}

static void hs_error(void *arg, lh_cx *x, int err)
{
	(void)x;
	fprintf(stderr, "bench_http: request failed: %s\n", lh_err_name(err));
	((hs *)arg)->failed = ((hs *)arg)->done = 1;
}

static double cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double wall_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

enum { HS_KEEP, HS_CLOSE, HS_FRESH };

/* n GETs of target one after another on pool p (HS_FRESH: a new pool per
 * request, made by mk, so no ticket is at hand). Returns the CPU seconds,
 * and the wall seconds in *wall; -1 if a request failed. */
static double hs_run(hs *h, lh_pool *p, lh_pool *(*mk)(void *), void *mkarg,
		     int how, int n, const char *target, double *wall)
{
	static const lh_client_cbs cbs = { .on_end = hs_end, .on_error = hs_error };
	lh_head req;
	lh_head_init(&req);
	lh_head_set_target(&req, target);
	if (how != HS_KEEP)
		lh_head_add(&req, "Connection", "close");
	double c0 = cpu_s(), w0 = wall_s();
	for (int i = 0; i < n && !h->failed; i++) {
		lh_pool *q = how == HS_FRESH ? mk(mkarg) : p;
		h->done = 0;
		if (!q || !lh_request(q, &req, &cbs, h))
			h->failed = 1;
		while (!h->done && !h->failed)
			event_base_loop(h->base, EVLOOP_ONCE);
		if (how == HS_FRESH)
			lh_pool_free(q);
	}
	*wall = wall_s() - w0;
	double c = cpu_s() - c0;
	lh_head_clear(&req);
	return h->failed ? -1 : c;
}

typedef struct hs_env {
	struct event_base *base;
	uint16_t port;
	SSL_CTX *cctx;          /* NULL: plaintext */
} hs_env;

static lh_pool *hs_pool(void *arg)
{
	hs_env *e = arg;
	lh_pool *p = lh_pool_new(e->base, "127.0.0.1", e->port, 0, 2000);
	if (p && e->cctx && lh_pool_set_tls(p, e->cctx,
			"spiffe://cluster.local/ns/default/sa/bench") < 0) {
		lh_pool_free(p);
		return NULL;
	}
	return p;
}

/* Per second, on one core: what the CA issues (a new P-256 key and a
 * signature each), and the handshakes a sidecar pair completes over memory
 * (lh_tls_handshake_mem, the simulator's path: both sides' CPU, no
 * sockets), full and resumed. The in-memory figures are what the
 * simulator charges by default (model.h MODEL_HANDSHAKE_*). */
static int rates(tls_ca *ca, SSL_CTX *sctx, SSL_CTX *cctx, int n, char *err,
		 size_t errlen)
{
	int64_t now = (int64_t)time(NULL);
	double c0 = cpu_s();
	for (int i = 0; i < n; i++) {
		tls_ca_cert *c = tls_ca_issue_workload(ca, NULL, "w", now, err, errlen);
		if (!c)
			return -1;
		tls_ca_cert_free(c);
	}
	double issue = (cpu_s() - c0) / n;
	double cost[2];
	for (int resumed = 0; resumed < 2; resumed++) {
		SSL_SESSION *sess = NULL;
		lh_tls_mem_result res;
		/* A first handshake for the ticket the resumed ones use. */
		if (lh_tls_handshake_mem(cctx, sctx,
				"spiffe://cluster.local/ns/default/sa/bench",
				"cluster.local", now, NULL, &res) < 0 || res.err) {
			snprintf(err, errlen, "in-memory handshake failed");
			return -1;
		}
		sess = res.ticket;
		c0 = cpu_s();
		for (int i = 0; i < n; i++) {
			if (lh_tls_handshake_mem(cctx, sctx,
					"spiffe://cluster.local/ns/default/sa/bench",
					"cluster.local", now, resumed ? sess : NULL,
					&res) < 0 || res.err ||
			    res.resumed != resumed) {
				SSL_SESSION_free(sess);
				SSL_SESSION_free(res.ticket);
				snprintf(err, errlen, "in-memory handshake %d failed "
					 "or did not %sresume", i, resumed ? "" : "not ");
				return -1;
			}
			if (resumed) {
				SSL_SESSION_free(sess);
				sess = res.ticket;
			} else {
				SSL_SESSION_free(res.ticket);
			}
		}
		cost[resumed] = (cpu_s() - c0) / n;
		SSL_SESSION_free(sess);
	}
	printf("per second on one core: CA issues %.0f workload certificates "
	       "(%.0f us each);\n", 1 / issue, issue * 1e6);
	printf("  handshakes over memory, both sides: full %.0f/s (%.0f us), "
	       "resumed %.0f/s (%.0f us)\n", 1 / cost[0], cost[0] * 1e6,
	       1 / cost[1], cost[1] * 1e6);
	return 0;
}

static int handshakes(int n)
{
	char err[512];
	int64_t now = (int64_t)time(NULL);
	static const lh_server_cbs cbs = { .on_request = lh_request_cb };
	struct event_base *base = event_base_new();
	tls_ca *ca = tls_ca_new_root(NULL, now, err, sizeof err);
	tls_ca_cert *sc = ca ? tls_ca_issue_workload(ca, NULL, "bench", now, err,
						     sizeof err) : NULL;
	tls_ca_cert *cc = ca ? tls_ca_issue_workload(ca, NULL, "load", now, err,
						     sizeof err) : NULL;
	X509 *root = ca ? tls_ca_root(ca) : NULL;
	X509_STORE *trust = cc ? tls_ca_store_new(&root, 1, err, sizeof err) : NULL;
	SSL_CTX *sctx = NULL, *cctx = NULL;
	lh_server *plain = NULL, *mtls = NULL;
	int rc = 1;

	if (!base || !trust)
		goto out;
	sctx = lh_tls_ctx_new(tls_ca_cert_x509(sc), tls_ca_cert_key(sc),
			      tls_ca_cert_chain(sc), trust, 1, err, sizeof err);
	cctx = lh_tls_ctx_new(tls_ca_cert_x509(cc), tls_ca_cert_key(cc),
			      tls_ca_cert_chain(cc), trust, 0, err, sizeof err);
	plain = lh_server_new(base, "127.0.0.1", 0, &cbs, NULL, err, sizeof err);
	mtls = lh_server_new(base, "127.0.0.1", 0, &cbs, NULL, err, sizeof err);
	if (!sctx || !cctx || !plain || !mtls ||
	    lh_server_set_tls(mtls, sctx, LH_TLS_STRICT) < 0)
		goto out;

	hs h = { base, 0, 0 };
	hs_env pe = { base, lh_server_port(plain), NULL };
	hs_env te = { base, lh_server_port(mtls), cctx };
	lh_pool *pp = hs_pool(&pe), *tp = hs_pool(&te);
	struct { const char *name; hs_env *e; lh_pool *p; int how; } runs[] = {
		{ "plaintext, keep-alive", &pe, pp, HS_KEEP },
		{ "plaintext, new connection", &pe, pp, HS_CLOSE },
		{ "mTLS, keep-alive", &te, tp, HS_KEEP },
		{ "mTLS, resumed handshake", &te, tp, HS_CLOSE },
		{ "mTLS, full handshake", &te, NULL, HS_FRESH },
	};
	double base_cpu = 0, per[5] = {0};
	printf("mTLS 1.3 cost, client and server in one process (P-256, "
	       "%d requests each, one at a time)\n", n);
	printf("%-28s %14s %14s %10s\n", "requests", "CPU us/req", "wall us/req",
	       "CPU ratio");
	for (size_t i = 0; i < sizeof runs / sizeof runs[0]; i++) {
		double wall;
		/* A warm-up, so that every run finds a ticket or a connection. */
		hs_run(&h, runs[i].p, hs_pool, runs[i].e, runs[i].how, 1, "/",
		       &wall);
		double cpu = hs_run(&h, runs[i].p, hs_pool, runs[i].e, runs[i].how,
				    n, "/", &wall);
		if (cpu < 0) {
			snprintf(err, sizeof err, "%s: a request failed", runs[i].name);
			goto out_pools;
		}
		if (!i)
			base_cpu = cpu;
		per[i] = cpu / n;
		printf("%-28s %14.1f %14.1f %9.1fx\n", runs[i].name, cpu / n * 1e6,
		       wall / n * 1e6, base_cpu > 0 ? cpu / base_cpu : 0);
	}
	/* A new connection's request less a kept one's is the handshake (and
	 * the TCP connection) alone. */
	printf("sidecar handshakes per second on one core (client and server, over "
	       "sockets): full %.0f/s, resumed %.0f/s\n",
	       1 / (per[4] - per[2]), 1 / (per[3] - per[2]));
	/* Bulk: 64 MB down one kept connection, as a body relayed by a
	 * sidecar; both sides' CPU, so plaintext's includes the copies. */
	for (int t = 0; t < 2; t++) {
		double wall, cpu = hs_run(&h, t ? tp : pp, NULL, NULL, HS_KEEP, 4,
					  "/fill/16777216", &wall);
		if (cpu < 0) {
			snprintf(err, sizeof err, "bulk: a request failed");
			goto out_pools;
		}
		printf("%-28s %8.0f MB/s, %5.2f ms CPU per MB\n",
		       t ? "mTLS, 64 MB body" : "plaintext, 64 MB body",
		       64 / wall, cpu * 1e3 / 64);
	}
	lh_tls_stats st;
	lh_server_tls_stats(mtls, &st);
	printf("server handshakes: %llu full, %llu resumed\n",
	       (unsigned long long)st.full, (unsigned long long)st.resumed);
	if (rates(ca, sctx, cctx, n, err, sizeof err) < 0)
		goto out_pools;
	rc = 0;
out_pools:
	lh_pool_free(pp);
	lh_pool_free(tp);
out:
	if (rc)
		fprintf(stderr, "bench_http: handshakes: %s\n", err);
	lh_server_free(plain);
	lh_server_free(mtls);
	SSL_CTX_free(sctx);
	SSL_CTX_free(cctx);
	X509_STORE_free(trust);
	tls_ca_cert_free(sc);
	tls_ca_cert_free(cc);
	tls_ca_free(ca);
	if (base) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		event_base_free(base);
	}
	return rc;
}

int main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && !strcmp(argv[1], "handshakes"))
		return handshakes(argc > 2 ? atoi(argv[2]) : 500);
	if (argc != 4 || (strcmp(argv[1], "evhttp") && strcmp(argv[1], "live"))) {
		fprintf(stderr, "usage: bench_http evhttp|live ADDR PORT\n"
			"       bench_http handshakes [N]\n");
		return 2;
	}
	struct event_base *base = event_base_new();
	struct event *sigs[2] = {evsignal_new(base, SIGTERM, on_signal, base),
				 evsignal_new(base, SIGINT, on_signal, base)};
	event_add(sigs[0], NULL);
	event_add(sigs[1], NULL);
	uint16_t port = (uint16_t)atoi(argv[3]);
	struct evhttp *eh = NULL;
	lh_server *ls = NULL;
	if (!strcmp(argv[1], "evhttp")) {
		eh = evhttp_new(base);
		if (!eh || evhttp_bind_socket(eh, argv[2], port) < 0) {
			fprintf(stderr, "bench_http: cannot listen on %s:%u\n", argv[2], port);
			return 1;
		}
		evhttp_set_gencb(eh, ev_handler, NULL);
	} else {
		static const lh_server_cbs cbs = {.on_request = lh_request_cb};
		char err[256];
		ls = lh_server_new(base, argv[2], port, &cbs, NULL, err, sizeof err);
		if (!ls) {
			fprintf(stderr, "bench_http: %s\n", err);
			return 1;
		}
	}
	event_base_dispatch(base);
	if (eh)
		evhttp_free(eh);
	if (ls)
		lh_server_free(ls);
	event_free(sigs[0]);
	event_free(sigs[1]);
	event_base_loop(base, EVLOOP_NONBLOCK);
	event_base_free(base);
	return 0;
}
