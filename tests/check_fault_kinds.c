/*
 * The pause and bandwidth faults, and the shared network-fault module
 * (agents/netfault.c), in virtual time.
 *
 * The service's pause is tested twice: directly, in a small fake host
 * whose clock the test moves (so every answer's time is known to the
 * nanosecond), and end to end in the simulator, with faults switched on
 * schedule. Bandwidth is tested end to end with exact latencies, and
 * netfault_hop on its own for what the simulator never shows (hits without
 * delay, as a live host asks for them).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "netfault.h"
#include "rec.h"
#include "service.h"
#include "sim.h"
#include "suites.h"
#include "testutil.h"

/* ---- a fake host: a clock the test moves, timers, sent messages ---- */

#define FE_MAX 256

typedef struct fake_timer {
	mesh_time at;
	mesh_agent *agent;
	mesh_timer_fn fn;
	uint64_t arg;
	int live;
} fake_timer;

typedef struct fake_sent {
	mesh_time at;      /* when it leaves: now + the sender's delay */
	uint32_t to;
	mesh_msg m;
} fake_sent;

typedef struct fake_env {
	mesh_env env;      /* first: agents see &fe->env */
	mesh_time now;
	fake_timer t[FE_MAX];
	uint32_t nt;
	fake_sent sent[FE_MAX];
	uint32_t nsent;
} fake_env;

static mesh_time fe_now(mesh_env *env)
{
	return ((fake_env *)env)->now;
}

static uint64_t fe_timer_start(mesh_env *env, mesh_time delay,
			       mesh_agent *agent, mesh_timer_fn fn, uint64_t arg)
{
	fake_env *fe = (fake_env *)env;
	ck_assert_uint_lt(fe->nt, FE_MAX);
	fake_timer *t = &fe->t[fe->nt++];
	t->at = fe->now + delay;
	t->agent = agent;
	t->fn = fn;
	t->arg = arg;
	t->live = 1;
	return fe->nt; /* index + 1, never 0 */
}

static void fe_timer_cancel(mesh_env *env, uint64_t h)
{
	fake_env *fe = (fake_env *)env;
	if (h >= 1 && h <= fe->nt)
		fe->t[h - 1].live = 0;
}

static void fe_send(mesh_env *env, mesh_agent *from, uint32_t to,
		    const mesh_msg *m, mesh_time delay)
{
	(void)from;
	fake_env *fe = (fake_env *)env;
	ck_assert_uint_lt(fe->nsent, FE_MAX);
	fake_sent *s = &fe->sent[fe->nsent++];
	s->at = fe->now + delay;
	s->to = to;
	s->m = *m;
}

static const mesh_env_ops fe_ops = {
	.now = fe_now,
	.timer_start = fe_timer_start,
	.timer_cancel = fe_timer_cancel,
	.send = fe_send,
};

/* Fire the timers due up to `until`, earliest first (ties: the order they
 * were started, as the simulator does), then set the clock to `until`. */
static void fe_run(fake_env *fe, mesh_time until)
{
	for (;;) {
		fake_timer *next = NULL;
		for (uint32_t i = 0; i < fe->nt; i++)
			if (fe->t[i].live && fe->t[i].at <= until &&
			    (!next || fe->t[i].at < next->at))
				next = &fe->t[i];
		if (!next)
			break;
		next->live = 0;
		fe->now = next->at;
		next->fn(next->agent, next->arg);
	}
	fe->now = until;
}

/* One service instance "s" of the model, as app 0 with its sidecar at 1,
 * in a fake host. */
typedef struct svc_rig {
	model *m;
	rec *r;
	uint8_t faults_on[8];
	fake_env fe;
	service_agent a;
} svc_rig;

#define SIDECAR 1u

static void rig_init(svc_rig *g, const char *services, const char *faults)
{
	char json[2048];
	snprintf(json, sizeof json,
		 "{\"duration\": \"10s\", \"services\": {%s},"
		 " \"load\": [{\"to\": \"s\", \"rps\": 1}], \"faults\": [%s]}",
		 services, faults);
	memset(g, 0, sizeof *g);
	g->m = tu_load(json);
	ck_assert_uint_le(g->m->nfaults, sizeof g->faults_on);
	g->r = rec_new(g->m);
	ck_assert_ptr_nonnull(g->r);
	g->fe.env.ops = &fe_ops;
	g->fe.env.rec = g->r;
	g->fe.env.model = g->m;
	g->fe.env.faults_on = g->faults_on;
	const model_service *s = &g->m->services[0];
	ck_assert_str_eq(s->name, "s");
	service_init(&g->a, &g->fe.env, 0, 0, s, 0, &s->versions[0].b, SIDECAR,
		     rec_inst(g->r, 0, 0), 1, "service/s/0");
}

static void rig_free(svc_rig *g)
{
	service_destroy(&g->a);
	rec_free(g->r);
	model_free(g->m);
}

/* The sidecar hands the app request `tag` now. */
static void rig_request(svc_rig *g, uint64_t tag)
{
	mesh_msg m = {.kind = MESH_REQ, .route = g->m->clients[0].route,
		      .from = SIDECAR, .tag = tag, .req_id = tag};
	g->a.base.ops->on_msg(&g->a.base, &m);
}

static void rig_pause(svc_rig *g, int on)
{
	g->faults_on[0] = (uint8_t)on;
	service_pause(&g->a, on);
}

/* The k-th answer the app sent (0-based), or NULL. */
static const fake_sent *answer_k(const svc_rig *g, uint32_t k)
{
	for (uint32_t i = 0; i < g->fe.nsent; i++)
		if (g->fe.sent[i].m.kind == MESH_RESP && k-- == 0)
			return &g->fe.sent[i];
	return NULL;
}

static uint32_t answers(const svc_rig *g)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < g->fe.nsent; i++)
		n += g->fe.sent[i].m.kind == MESH_RESP;
	return n;
}

#define ck_assert_answer(g, k, tag_, at_)                                  \
	do {                                                               \
		const fake_sent *s_ = answer_k((g), (k));                  \
		ck_assert_msg(s_ != NULL, "no answer %u", (unsigned)(k));  \
		ck_assert_uint_eq(s_->m.tag, (tag_));                      \
		ck_assert_uint_eq(s_->at, (at_));                          \
		ck_assert_uint_eq(s_->to, SIDECAR);                        \
		ck_assert_uint_eq(s_->m.status, 200);                      \
	} while (0)

#define MS MESH_MS

/* ---- pause, in the fake host ---- */

START_TEST(test_pause_freezes_work_and_holds_arrivals)
{
	/* One worker, 10ms of work. Request 1 starts at 0; the app stops at
	 * 4ms with 6ms of work left and goes on at 104ms: it ends at 110ms,
	 * not 10ms. Requests 2 and 3 arrive during the pause and are served
	 * after it, in arrival order, one worker's turn each. */
	svc_rig g;
	rig_init(&g, "\"s\": {\"concurrency\": 1, \"latency\": \"10ms\"}",
		 "{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"1s\"}");
	rig_request(&g, 1);
	fe_run(&g.fe, 4 * MS);
	rig_pause(&g, 1);
	fe_run(&g.fe, 50 * MS);
	rig_request(&g, 2);
	fe_run(&g.fe, 60 * MS);
	rig_request(&g, 3);
	fe_run(&g.fe, 104 * MS);
	/* Nothing was answered, and the work did not end at 10ms. */
	ck_assert_uint_eq(answers(&g), 0);
	/* The held requests are not read yet: no queue, no arrival. */
	ck_assert_uint_eq(rec_inst(g.r, 0, 0)->arrived, 1);
	ck_assert_uint_eq(service_holding(&g.a), 3);
	rig_pause(&g, 0);
	fe_run(&g.fe, 1000 * MS);
	ck_assert_uint_eq(answers(&g), 3);
	ck_assert_answer(&g, 0, 1, 110 * MS);
	ck_assert_answer(&g, 1, 2, 120 * MS);
	ck_assert_answer(&g, 2, 3, 130 * MS);
	const rec_instance *ri = rec_inst(g.r, 0, 0);
	ck_assert_uint_eq(ri->arrived, 3);
	ck_assert_uint_eq(ri->served, 3);
	/* Queue waits run from the real arrival: 50 -> 110 and 60 -> 120. */
	ck_assert_uint_eq(ri->waited, 2);
	ck_assert_uint_eq(ri->wait.max, 60 * MS);
	/* The two arrivals during the pause are its hits (the request in
	 * progress at the start is the host's to count). */
	ck_assert_uint_eq(g.r->fault_hits[0], 2);
	rig_free(&g);
}
END_TEST

START_TEST(test_pause_shifts_work_ending_after_it)
{
	/* 200ms of work from 0; a pause from 50ms to 150ms: the work ends
	 * at 300ms, the pause's length later, as a stopped process's does. */
	svc_rig g;
	rig_init(&g, "\"s\": {\"latency\": \"200ms\"}",
		 "{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"1s\"}");
	rig_request(&g, 7);
	fe_run(&g.fe, 50 * MS);
	rig_pause(&g, 1);
	fe_run(&g.fe, 150 * MS);
	rig_pause(&g, 0);
	fe_run(&g.fe, 299 * MS);
	ck_assert_uint_eq(answers(&g), 0);
	fe_run(&g.fe, 1000 * MS);
	ck_assert_uint_eq(answers(&g), 1);
	ck_assert_answer(&g, 0, 7, 300 * MS);
	rig_free(&g);
}
END_TEST

START_TEST(test_pause_keeps_order_of_frozen_work)
{
	/* Unlimited workers, 30ms of work each. Requests at 0, 5ms (two)
	 * and 10ms; a pause from 12ms to 112ms; one arrival during it, at
	 * 50ms.
	 * The frozen steps end at 130, 135, 140; the newcomer, read at 112,
	 * ends at 142. Two steps frozen with the same time left end in the
	 * order they started. */
	svc_rig g;
	rig_init(&g, "\"s\": {\"latency\": \"30ms\"}",
		 "{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"1s\"}");
	rig_request(&g, 1);
	fe_run(&g.fe, 5 * MS);
	rig_request(&g, 2);
	rig_request(&g, 3);      /* same start as 2: same time left */
	fe_run(&g.fe, 10 * MS);
	rig_request(&g, 4);
	fe_run(&g.fe, 12 * MS);
	rig_pause(&g, 1);
	fe_run(&g.fe, 50 * MS);
	rig_request(&g, 5);
	fe_run(&g.fe, 112 * MS);
	rig_pause(&g, 0);
	fe_run(&g.fe, 1000 * MS);
	ck_assert_uint_eq(answers(&g), 5);
	ck_assert_answer(&g, 0, 1, 130 * MS);
	ck_assert_answer(&g, 1, 2, 135 * MS);
	ck_assert_answer(&g, 2, 3, 135 * MS);
	ck_assert_answer(&g, 3, 4, 140 * MS);
	ck_assert_answer(&g, 4, 5, 142 * MS);
	rig_free(&g);
}
END_TEST

START_TEST(test_pause_holds_call_answers)
{
	/* s calls b, then works 5ms. The call's answer comes during the
	 * pause: it is read at resume, and the work runs from there. */
	svc_rig g;
	rig_init(&g,
		 "\"s\": {\"script\": [{\"call\": \"b\"}, {\"work\": \"5ms\"}]},"
		 " \"b\": {}",
		 "{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"1s\"}");
	rig_request(&g, 1);
	ck_assert_uint_eq(g.fe.nsent, 1);
	ck_assert_uint_eq(g.fe.sent[0].m.kind, MESH_REQ);
	uint64_t call_tag = g.fe.sent[0].m.tag;
	fe_run(&g.fe, 2 * MS);
	rig_pause(&g, 1);
	fe_run(&g.fe, 3 * MS);
	mesh_msg ans = {.kind = MESH_RESP, .status = 200,
			.route = g.fe.sent[0].m.route, .from = SIDECAR,
			.tag = call_tag};
	g.a.base.ops->on_msg(&g.a.base, &ans);
	fe_run(&g.fe, 50 * MS);
	ck_assert_uint_eq(answers(&g), 0);
	/* A call's answer is not a request: no hit. */
	ck_assert_uint_eq(g.r->fault_hits[0], 0);
	ck_assert_uint_eq(service_holding(&g.a), 1);
	rig_pause(&g, 0);
	fe_run(&g.fe, 1000 * MS);
	ck_assert_uint_eq(answers(&g), 1);
	ck_assert_answer(&g, 0, 1, 55 * MS);
	rig_free(&g);
}
END_TEST

START_TEST(test_pause_crash_wins)
{
	/* A crash during a pause drops the frozen work and the held
	 * requests. Restarted while the pause is still on, the app is
	 * paused again, and what arrives waits for the resume. */
	svc_rig g;
	rig_init(&g, "\"s\": {\"concurrency\": 1, \"latency\": \"10ms\"}",
		 "{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"1s\"}");
	rig_request(&g, 1);
	fe_run(&g.fe, 5 * MS);
	rig_pause(&g, 1);
	fe_run(&g.fe, 6 * MS);
	rig_request(&g, 2);
	fe_run(&g.fe, 7 * MS);
	service_crash(&g.a);
	ck_assert_uint_eq(service_holding(&g.a), 0);
	fe_run(&g.fe, 8 * MS);
	rig_request(&g, 99);     /* the sidecar answers while it is down */
	service_restart(&g.a);
	fe_run(&g.fe, 9 * MS);
	rig_request(&g, 3);
	fe_run(&g.fe, 20 * MS);
	ck_assert_uint_eq(answers(&g), 0);
	rig_pause(&g, 0);
	fe_run(&g.fe, 1000 * MS);
	ck_assert_uint_eq(answers(&g), 1);
	ck_assert_answer(&g, 0, 3, 30 * MS);
	ck_assert_uint_eq(rec_inst(g.r, 0, 0)->crashes, 1);
	rig_free(&g);
}
END_TEST

START_TEST(test_pause_idempotent_and_capacity)
{
	/* Pausing twice, or resuming a running app, changes nothing. A
	 * capacity fault that ends during a pause gives its workers back only
	 * at resume. */
	svc_rig g;
	rig_init(&g, "\"s\": {\"concurrency\": 2, \"latency\": \"10ms\"}",
		 "{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"1s\"}");
	service_pause(&g.a, 0);
	service_set_capacity(&g.a, 1.0, 1);
	rig_request(&g, 1);
	rig_request(&g, 2);      /* waits: one worker left */
	fe_run(&g.fe, 5 * MS);
	rig_pause(&g, 1);
	fe_run(&g.fe, 6 * MS);
	service_set_capacity(&g.a, 1.0, 0);   /* must not start request 2 */
	fe_run(&g.fe, 50 * MS);
	service_pause(&g.a, 1);  /* must not restart the pause's clock */
	fe_run(&g.fe, 100 * MS);
	ck_assert_uint_eq(answers(&g), 0);
	rig_pause(&g, 0);
	fe_run(&g.fe, 1000 * MS);
	ck_assert_uint_eq(answers(&g), 2);
	/* 1: 5ms left at 100 -> 105; 2 takes the freed worker at 100. */
	ck_assert_answer(&g, 0, 1, 105 * MS);
	ck_assert_answer(&g, 1, 2, 110 * MS);
	rig_free(&g);
}
END_TEST

/* ---- pause, in the simulator ---- */

START_TEST(test_pause_sim_in_progress_exact)
{
	/* One request at 0 with 100ms of work; zero-cost network. A pause
	 * from 40ms to 140ms: it ends at 140 + 60 = 200ms. Two overlapping
	 * pauses, 40-100 and 80-140, stop it just as long. */
	static const char *const faults[] = {
		"{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"40ms\", \"for\": \"100ms\"}",
		"{\"kind\": \"pause\", \"target\": {\"service\": \"s\", \"instance\": 0},"
		" \"at\": \"40ms\", \"until\": \"100ms\"},"
		"{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"80ms\", \"until\": \"140ms\"}",
	};
	for (size_t k = 0; k < 2; k++) {
		char json[1024];
		snprintf(json, sizeof json,
			 "{\"duration\": \"1s\", \"services\": {\"s\": {\"latency\": \"100ms\"}},"
			 " \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 1}],"
			 " \"faults\": [%s]}",
			 faults[k]);
		model *m = tu_load(json);
		rec *r = tu_run(m);
		ck_assert_uint_eq(r->overall.issued, 1);
		ck_assert_uint_eq(r->overall.outcomes[MESH_OK], 1);
		ck_assert_uint_eq(r->overall.lat.min, 200 * MS);
		ck_assert_uint_eq(r->overall.lat.max, 200 * MS);
		/* The request in progress is a hit of every pause that stopped
		 * it. */
		for (uint32_t i = 0; i < m->nfaults; i++)
			ck_assert_uint_eq(r->fault_hits[i], 1);
		rec_free(r);
		model_free(m);
	}
}
END_TEST

START_TEST(test_pause_sim_callers_time_out)
{
	/* A request every 10ms, 1ms of work, clients that give up after
	 * 100ms, and a pause from 200ms to 500ms. The 30 requests sent during
	 * the pause wait for it; they are all read at 500 (unlimited
	 * workers) and answered at 501. Those sent at 200 .. 400 waited over
	 * 100ms and timed out (21); from 410 on they succeed. The callers'
	 * clocks ran on through the pause. */
	model *m = tu_load(
		"{\"duration\": \"1s\", \"services\": {\"s\": {\"latency\": \"1ms\"}},"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 100,"
		"  \"timeout\": \"100ms\"}],"
		" \"faults\": [{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"200ms\","
		"  \"until\": \"500ms\"}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.issued, 100);
	ck_assert_uint_eq(r->overall.outcomes[MESH_TIMEOUT], 21);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], 79);
	ck_assert_uint_eq(r->overall.lat.max, 100 * MS);
	ck_assert_uint_eq(r->fault_hits[0], 30);
	/* The app still did the work of those that timed out. */
	ck_assert_uint_eq(rec_inst(r, 0, 0)->served, 100);
	rec_free(r);
	model_free(m);

	/* Without the client timeout, every request succeeds, and the worst
	 * waited the whole pause: 300ms + 1ms. */
	m = tu_load(
		"{\"duration\": \"1s\", \"services\": {\"s\": {\"latency\": \"1ms\"}},"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 100}],"
		" \"faults\": [{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"200ms\","
		"  \"until\": \"500ms\"}]}");
	r = tu_run(m);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], 100);
	ck_assert_uint_eq(r->overall.lat.max, 301 * MS);
	ck_assert_uint_eq(r->overall.lat.min, 1 * MS);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_pause_sim_crash_during_pause)
{
	/* A pause from 100ms to 300ms and a crash from 150ms to 200ms; a
	 * request every 10ms, 1ms of work. The 5 held when the crash comes
	 * are reset by the sidecar; the 5 sent while it is down find no app
	 * (connection refused); from 200 the restarted app is still paused,
	 * so the 10 sent then wait for 300 and succeed. */
	model *m = tu_load(
		"{\"duration\": \"1s\", \"services\": {\"s\": {\"latency\": \"1ms\"}},"
		" \"load\": [{\"to\": \"s\", \"arrival\": \"constant\", \"rps\": 100}],"
		" \"faults\": [{\"kind\": \"pause\", \"target\": \"s\", \"at\": \"100ms\","
		"  \"until\": \"300ms\"}, {\"kind\": \"crash\", \"target\": \"s\","
		"  \"at\": \"150ms\", \"until\": \"200ms\"}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->overall.issued, 100);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], 90);
	const rec_stats *st = &r->services[0].st;
	ck_assert_uint_eq(st->outcomes[MESH_RESET], 5);
	ck_assert_uint_eq(st->outcomes[MESH_CONNECT_FAIL], 5);
	ck_assert_uint_eq(r->overall.lat.max, 101 * MS);
	/* Pause hits: the 5 held before the crash and the 10 after it. */
	ck_assert_uint_eq(r->fault_hits[0], 15);
	rec_free(r);
	model_free(m);
}
END_TEST

/* ---- bandwidth, in the simulator ---- */

/* One request at 0 of 1024 body bytes, answered with 2048, through a
 * bandwidth fault of 100 KiB/s: 10ms per request, 20ms per response. */
static rec *bw_run(const char *fault_keys, const char *extra_load,
		   model **out)
{
	char json[2048];
	snprintf(json, sizeof json,
		 "{\"duration\": \"1s\", \"services\": {\"s\": {\"response_size\": 2048}},"
		 " \"load\": [{\"name\": \"a\", \"to\": \"s\", \"arrival\": \"constant\","
		 "  \"rps\": 1, \"request_size\": 1024}%s],"
		 " \"faults\": [{\"kind\": \"bandwidth\", \"target\": \"s\","
		 "  \"limit_kbps\": 100, \"at\": \"0s\"%s}]}",
		 extra_load, fault_keys);
	*out = tu_load(json);
	return tu_run(*out);
}

START_TEST(test_bandwidth_exact_and_direction)
{
	static const struct {
		const char *keys;
		mesh_time lat;
	} cases[] = {
		{", \"direction\": \"request\"", 10 * MS},
		{", \"direction\": \"response\"", 20 * MS},
		{", \"direction\": \"both\"", 30 * MS},
		{"", 30 * MS},
	};
	for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
		model *m;
		rec *r = bw_run(cases[k].keys, "", &m);
		ck_assert_uint_eq(r->overall.issued, 1);
		ck_assert_uint_eq(r->overall.outcomes[MESH_OK], 1);
		ck_assert_msg(r->overall.lat.max == cases[k].lat,
			      "case %zu: %llu", k,
			      (unsigned long long)r->overall.lat.max);
		ck_assert_uint_eq(r->overall.lat.min, cases[k].lat);
		ck_assert_uint_eq(r->fault_hits[0],
				  cases[k].lat == 30 * MS ? 2 : 1);
		rec_free(r);
		model_free(m);
	}
}
END_TEST

START_TEST(test_bandwidth_fifo)
{
	/* Two clients send at 0 at once: the second request waits for the
	 * first's 10ms on the shared link, and ends at 20ms. */
	model *m;
	rec *r = bw_run(", \"direction\": \"request\"",
			", {\"name\": \"b\", \"to\": \"s\", \"arrival\": \"constant\","
			"  \"rps\": 1, \"request_size\": 1024}",
			&m);
	ck_assert_uint_eq(r->overall.issued, 2);
	ck_assert_uint_eq(r->clients[0].lat.max, 10 * MS);
	ck_assert_uint_eq(r->clients[1].lat.max, 20 * MS);
	rec_free(r);
	model_free(m);

	/* The links of the two directions are apart: both responses leave
	 * at once and share the response link (20ms each), while the
	 * request link is not slowed. */
	r = bw_run(", \"direction\": \"response\"",
		   ", {\"name\": \"b\", \"to\": \"s\", \"arrival\": \"constant\","
		   "  \"rps\": 1, \"request_size\": 1024}",
		   &m);
	ck_assert_uint_eq(r->clients[0].lat.max, 20 * MS);
	ck_assert_uint_eq(r->clients[1].lat.max, 40 * MS);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_bandwidth_source_and_window)
{
	/* Only the requests from clients are slowed; frontend's calls to s
	 * pass at once. And a link is only slow while the fault is on. */
	model *m = tu_load(
		"{\"duration\": \"2s\", \"services\": {"
		"  \"front\": {\"script\": [{\"call\": {\"service\": \"s\", \"size\": 4096}}]},"
		"  \"s\": {}},"
		" \"load\": [{\"name\": \"a\", \"to\": \"s\", \"arrival\": \"constant\","
		"  \"rps\": 1, \"request_size\": 1024},"
		"  {\"name\": \"b\", \"to\": \"front\", \"arrival\": \"constant\", \"rps\": 1}],"
		" \"faults\": [{\"kind\": \"bandwidth\", \"target\": \"s\", \"source\": \"clients\","
		"  \"limit_kbps\": 100, \"direction\": \"request\", \"at\": \"0s\", \"for\": \"1s\"}]}");
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->clients[0].issued, 2);
	/* The first (at 0) took 10ms; the second (at 1s) none. */
	ck_assert_uint_eq(r->clients[0].lat.max, 10 * MS);
	ck_assert_uint_eq(r->clients[0].lat.min, 0);
	ck_assert_uint_eq(r->clients[1].lat.max, 0);
	ck_assert_uint_eq(r->fault_hits[0], 1);
	rec_free(r);
	model_free(m);
}
END_TEST

/* ---- netfault_hop on its own ---- */

START_TEST(test_netfault_transfer_time)
{
	ck_assert_uint_eq(netfault_transfer_time(1024, 100 * 1024), 10 * MS);
	ck_assert_uint_eq(netfault_transfer_time(0, 1), 0);
	/* Rounded up: the transfer ends with its last byte. */
	ck_assert_uint_eq(netfault_transfer_time(1, 3), 333333334);
	ck_assert_uint_eq(netfault_transfer_time(7, 2), 3500 * MS);
	/* A body far larger than the rate per second. */
	ck_assert_uint_eq(netfault_transfer_time(1000000000000ull, 1000),
			  1000000000ull * MESH_S);
	/* Absurd sizes saturate instead of wrapping. */
	ck_assert_uint_eq(netfault_transfer_time(UINT64_MAX, 1), MESH_NEVER / 4);
}
END_TEST

START_TEST(test_netfault_hop_verdicts)
{
	model *m = tu_load(
		"{\"duration\": \"10s\", \"services\": {"
		"  \"a\": {\"script\": [{\"call\": \"b\"}]}, \"b\": {\"response_size\": 100}},"
		" \"mesh\": {\"b\": {\"connect_timeout\": \"250ms\"}},"
		" \"load\": [{\"to\": \"a\", \"rps\": 1}],"
		" \"faults\": ["
		"  {\"kind\": \"partition\", \"between\": [[\"a\"], [\"b\"]],"
		"   \"direction\": \"one-way\", \"at\": \"1s\"},"
		"  {\"kind\": \"bandwidth\", \"target\": \"b\", \"limit_kbps\": 1,"
		"   \"direction\": \"response\", \"at\": \"1s\"}]}");
	rec *r = rec_new(m);
	netfault_state st;
	ck_assert_int_eq(netfault_init(&st, m, 4), 0);
	uint8_t on[2] = {1, 0};
	rng g;
	rng_seed(&g, 1);
	uint32_t a = 0, b = 1;
	mesh_msg req = {.kind = MESH_REQ, .route = 0, .tag = 9, .req_id = 5};
	mesh_msg resp = {.kind = MESH_RESP, .status = 200, .size = 100};
	mesh_time hop = 0;
	ck_assert_int_eq(netfault_any_on(m, on), 1);
	/* a -> b is cut one way: a's requests are refused... */
	ck_assert_int_eq(netfault_hop(&st, m, on, r, 0, a, b, &req, &g, 0, 1, &hop),
			 NETFAULT_REFUSE);
	/* ... answers to b's own connections still pass, and so does
	 * everything from b to a, and the load clients. */
	ck_assert_int_eq(netfault_hop(&st, m, on, r, 0, a, b, &resp, &g, 0, 1, &hop),
			 NETFAULT_PASS);
	ck_assert_int_eq(netfault_hop(&st, m, on, r, 1, b, a, &req, &g, 0, 1, &hop),
			 NETFAULT_PASS);
	ck_assert_int_eq(netfault_hop(&st, m, on, r, 2, MODEL_CLIENTS, b, &req,
				      &g, 0, 1, &hop),
			 NETFAULT_PASS);
	ck_assert_uint_eq(hop, 0);
	ck_assert_uint_eq(r->fault_hits[0], 1);
	mesh_msg ref;
	ck_assert_uint_eq(netfault_refusal(m, &req, 3, &ref), 250 * MS);
	ck_assert_uint_eq(ref.kind, MESH_RESP);
	ck_assert_uint_eq(ref.status, 503);
	ck_assert_uint_eq(ref.flags, MESH_RF_UF);
	ck_assert_uint_eq(ref.from, 3);
	ck_assert_uint_eq(ref.tag, 9);
	ck_assert_uint_eq(ref.req_id, 5);

	/* Bandwidth: b's answers share a 1 KiB/s link. */
	on[0] = 0;
	on[1] = 1;
	ck_assert_uint_eq(netfault_bandwidth_rate(m, on, b, a, MESH_RESP), 1024);
	ck_assert_uint_eq(netfault_bandwidth_rate(m, on, b, a, MESH_REQ), 0);
	ck_assert_uint_eq(netfault_bandwidth_rate(m, on, a, b, MESH_REQ), 0);
	mesh_time per = netfault_transfer_time(100, 1024);
	hop = 7;
	ck_assert_int_eq(netfault_hop(&st, m, on, r, 1, b, a, &resp, &g, 0, 1, &hop),
			 NETFAULT_PASS);
	ck_assert_uint_eq(hop, 7 + per);
	/* Sent at the same time: behind the first. */
	hop = 0;
	netfault_hop(&st, m, on, r, 1, b, MODEL_CLIENTS, &resp, &g, 0, 1, &hop);
	ck_assert_uint_eq(hop, 2 * per);
	/* Sent after the link is free again: no wait. */
	hop = 0;
	netfault_hop(&st, m, on, r, 1, b, a, &resp, &g, 10 * MESH_S, 1, &hop);
	ck_assert_uint_eq(hop, per);
	/* No body: not limited, not a hit. */
	mesh_msg empty = resp;
	empty.size = 0;
	hop = 0;
	netfault_hop(&st, m, on, r, 1, b, a, &empty, &g, 10 * MESH_S, 1, &hop);
	ck_assert_uint_eq(hop, 0);
	ck_assert_uint_eq(r->fault_hits[1], 3);
	/* A live host throttles its sockets: no delay, but the hit counts. */
	hop = 0;
	netfault_hop(&st, m, on, r, 1, b, a, &resp, &g, 0, 0, &hop);
	ck_assert_uint_eq(hop, 0);
	ck_assert_uint_eq(r->fault_hits[1], 4);
	on[1] = 0;
	ck_assert_int_eq(netfault_any_on(m, on), 0);
	netfault_destroy(&st);
	netfault_destroy(&st); /* safe twice */
	rec_free(r);
	model_free(m);
}
END_TEST

/* ---- certificate faults: which workloads they aim at ---- */

START_TEST(test_cert_fault_targets)
{
	/* Certificate faults aim at a service's instances as other faults
	 * do: all of them, one version's, or one instance. root_rotate aims
	 * at no service: it is mesh-wide (tls_mesh changes the trust bundle
	 * and every workload's issuer). */
	model *m = tu_load(
		"{\"duration\": \"1s\", \"mtls\": {},"
		" \"services\": {\"s\": {\"latency\": \"1ms\", \"versions\":"
		"  {\"v1\": {\"replicas\": 2}, \"v2\": {\"replicas\": 2}}},"
		"  \"t\": {\"latency\": \"1ms\"}},"
		" \"load\": [{\"to\": \"s\", \"rps\": 1}],"
		" \"faults\": ["
		"  {\"kind\": \"cert_expire\", \"target\": \"s\", \"at\": \"0\"},"
		"  {\"kind\": \"cert_no_rotate\", \"target\": {\"service\": \"s\","
		"   \"version\": \"v2\"}, \"at\": \"0\"},"
		"  {\"kind\": \"cert_foreign\", \"target\": {\"service\": \"s\","
		"   \"instance\": 1}, \"at\": \"0\"},"
		"  {\"kind\": \"mtls_strict\", \"target\": {\"service\": \"s\","
		"   \"version\": \"v2\", \"instance\": 3}, \"at\": \"0\"},"
		"  {\"kind\": \"root_rotate\", \"overlap\": true, \"at\": \"0\"}]}");
	static const int hit[5][4] = {
		{1, 1, 1, 1}, /* the whole service */
		{0, 0, 1, 1}, /* v2: instances 2 and 3 */
		{0, 1, 0, 0}, /* instance 1 */
		{0, 0, 0, 1}, /* instance 3, of v2 */
		{0, 0, 0, 0}, /* mesh-wide, no service */
	};
	ck_assert_uint_eq(m->nfaults, 5);
	for (uint32_t f = 0; f < 5; f++) {
		for (uint32_t i = 0; i < 4; i++)
			ck_assert_msg(model_fault_targets(m, &m->faults[f], 0, i) ==
					      hit[f][i],
				      "fault %u, instance %u", f, i);
		/* Never the other service. */
		ck_assert_int_eq(model_fault_targets(m, &m->faults[f], 1, 0), 0);
	}
	model_free(m);
}
END_TEST

Suite *fault_kinds_suite(void)
{
	Suite *s = suite_create("fault_kinds");
	TCase *tc = tcase_create("pause");
	tcase_add_test(tc, test_pause_freezes_work_and_holds_arrivals);
	tcase_add_test(tc, test_pause_shifts_work_ending_after_it);
	tcase_add_test(tc, test_pause_keeps_order_of_frozen_work);
	tcase_add_test(tc, test_pause_holds_call_answers);
	tcase_add_test(tc, test_pause_crash_wins);
	tcase_add_test(tc, test_pause_idempotent_and_capacity);
	tcase_add_test(tc, test_pause_sim_in_progress_exact);
	tcase_add_test(tc, test_pause_sim_callers_time_out);
	tcase_add_test(tc, test_pause_sim_crash_during_pause);
	suite_add_tcase(s, tc);
	tc = tcase_create("bandwidth");
	tcase_add_test(tc, test_bandwidth_exact_and_direction);
	tcase_add_test(tc, test_bandwidth_fifo);
	tcase_add_test(tc, test_bandwidth_source_and_window);
	suite_add_tcase(s, tc);
	tc = tcase_create("netfault");
	tcase_add_test(tc, test_netfault_transfer_time);
	tcase_add_test(tc, test_netfault_hop_verdicts);
	suite_add_tcase(s, tc);
	tc = tcase_create("cert");
	tcase_add_test(tc, test_cert_fault_targets);
	suite_add_tcase(s, tc);
	return s;
}
