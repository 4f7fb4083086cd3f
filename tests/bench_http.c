/*
 * bench_http.c - a one-page HTTP/1.1 server, built on libevent's evhttp or
 * on our own live_http.c, for `make bench` to compare the two with wrk.
 *
 *   bench_http evhttp|live ADDR PORT
 *
 * Both answer every request with the same 17-byte body and keep
 * connections alive. The server runs until SIGTERM or SIGINT. It is what
 * the choice of HTTP layer for live mode was measured with (README,
 * "Libraries").
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "live_http.h"

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
	(void)head;
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

int main(int argc, char **argv)
{
	if (argc != 4 || (strcmp(argv[1], "evhttp") && strcmp(argv[1], "live"))) {
		fprintf(stderr, "usage: bench_http evhttp|live ADDR PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
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
