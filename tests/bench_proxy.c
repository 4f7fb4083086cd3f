/*
 * bench_proxy.c - an open-loop HTTP/1.1 load generator at a fixed rate,
 * for tests/bench_proxy.sh (the proxy-overhead benchmark).
 *
 *   bench_proxy ADDR PORT HOST PATH RATE SECONDS [CONNS]
 *
 * Sends GET PATH (Host: HOST) to ADDR:PORT at RATE requests a second,
 * evenly spaced, for SECONDS (after one second of warm-up that is not
 * measured), over at most CONNS keep-alive connections (default 16).
 * Latency runs from each request's intended send time, as wrk2 measures
 * it, so a stall cannot hide (no coordinated omission). Prints one line:
 *
 *   sent N ok N errors N p50_us X p90_us X p99_us X max_us X rps X
 *
 * It uses meshsim's own HTTP client (agents/live_http.h): the same client
 * on every path measured, so differences between paths are the hops'.
 * Exit 0, or 2 on bad arguments.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "hist.h"
#include "live_http.h"

typedef struct bench {
	struct event_base *base;
	lh_pool *pool;
	const char *host, *path;
	double rate;
	uint64_t start, warm_end, end;   /* ns, monotonic */
	uint64_t n;                      /* requests sent so far */
	uint64_t deadline;               /* stop waiting for answers */
	uint64_t sent, ok, errors, outstanding;
	hist h;
	struct event *tick;
	int stopping;
} bench;

typedef struct req {
	bench *b;
	uint64_t intended;
	int status;
	int measured;
} req;

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void done(req *q, int ok)
{
	bench *b = q->b;
	uint64_t t = now_ns();
	if (q->measured) {
		if (ok)
			b->ok++;
		else
			b->errors++;
		hist_add(&b->h, t - q->intended);
	}
	b->outstanding--;
	free(q);
	if (b->stopping && !b->outstanding)
		event_base_loopbreak(b->base);
}

static void on_response(void *arg, lh_cx *x, const lh_head *h)
{
	(void)x;
	((req *)arg)->status = h->status;
}

static void on_end(void *arg, lh_cx *x)
{
	(void)x;
	req *q = arg;
	done(q, q->status >= 200 && q->status < 300);
}

static void on_error(void *arg, lh_cx *x, int err)
{
	(void)x;
	(void)err;
	done(arg, 0);
}

static const lh_client_cbs cbs = {.on_response = on_response, .on_end = on_end,
				  .on_error = on_error};

static void send_one(bench *b, uint64_t intended)
{
	req *q = calloc(1, sizeof *q);
	if (!q)
		return;
	q->b = b;
	q->intended = intended;
	q->measured = intended >= b->warm_end;
	lh_head h;
	lh_head_init(&h);
	snprintf(h.method, sizeof h.method, "GET");
	h.major = h.minor = 1;
	h.content_length = 0;
	lh_head_set_target(&h, b->path);
	lh_head_add(&h, "Host", b->host);
	b->outstanding++;
	if (q->measured)
		b->sent++;
	lh_cx *x = lh_request(b->pool, &h, &cbs, q);
	lh_head_clear(&h);
	if (!x) {
		done(q, 0);
		return;
	}
	lh_cx_body_end(x);
}

/* Send what is due, then sleep until the next request's intended time
 * (a precise one-shot timer: a periodic tick would add its period to every
 * latency). The pool queues what it cannot send yet; that wait counts. */
static void tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	bench *b = arg;
	double gap = 1e9 / b->rate;
	for (;;) {
		uint64_t t = now_ns();
		uint64_t at = b->start + (uint64_t)((double)b->n * gap);
		if (at >= b->end) {
			/* All sent: wait for the answers, at most 5 s. */
			if (!b->stopping) {
				b->stopping = 1;
				b->deadline = t + 5000000000u;
			}
			if (!b->outstanding || t >= b->deadline) {
				event_base_loopbreak(b->base);
				return;
			}
			struct timeval tv = {0, 10000};
			event_add(b->tick, &tv);
			return;
		}
		if (at > t) {
			uint64_t d = at - t;
			struct timeval tv = {(time_t)(d / 1000000000u),
					     (suseconds_t)(d % 1000000000u / 1000)};
			event_add(b->tick, &tv);
			return;
		}
		send_one(b, at);
		b->n++;
	}
}

int main(int argc, char **argv)
{
	if (argc < 7) {
		fprintf(stderr, "usage: bench_proxy ADDR PORT HOST PATH RATE SECONDS [CONNS]\n");
		return 2;
	}
	bench b = {0};
	b.host = argv[3];
	b.path = argv[4];
	b.rate = atof(argv[5]);
	double secs = atof(argv[6]);
	unsigned conns = argc > 7 ? (unsigned)atoi(argv[7]) : 16;
	if (b.rate <= 0 || secs <= 0 || conns == 0) {
		fprintf(stderr, "bench_proxy: RATE, SECONDS and CONNS must be above 0\n");
		return 2;
	}
	struct event_config *cfg = event_config_new();
	if (cfg) {
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		b.base = event_base_new_with_config(cfg);
		event_config_free(cfg);
	}
	if (b.base)
		b.pool = lh_pool_new(b.base, argv[1], (uint16_t)atoi(argv[2]), conns, 1000);
	b.tick = b.base ? evtimer_new(b.base, tick, &b) : NULL;
	if (!b.pool || !b.tick) {
		fprintf(stderr, "bench_proxy: cannot set up\n");
		return 1;
	}
	hist_init(&b.h);
	b.start = now_ns() + 10000000u;
	b.warm_end = b.start + 1000000000u;
	b.end = b.warm_end + (uint64_t)(secs * 1e9);
	struct timeval tv = {0, 10000};
	event_add(b.tick, &tv);
	event_base_dispatch(b.base);
	uint64_t lost = b.sent - b.ok - b.errors; /* no answer in time */
	printf("sent %" PRIu64 " ok %" PRIu64 " errors %" PRIu64 " p50_us %.1f p90_us %.1f "
	       "p99_us %.1f max_us %.1f rps %.1f\n",
	       b.sent, b.ok, b.errors + lost, (double)hist_quantile(&b.h, 0.5) / 1e3,
	       (double)hist_quantile(&b.h, 0.9) / 1e3, (double)hist_quantile(&b.h, 0.99) / 1e3,
	       (double)b.h.max / 1e3, (double)b.ok / secs);
	event_free(b.tick);
	lh_pool_free(b.pool);
	event_base_free(b.base);
	return 0;
}
