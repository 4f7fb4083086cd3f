/*
 * check_live.c - the live host, end to end, inside one test process.
 *
 * A small mesh (apps, sidecars, the load clients) runs on one libevent loop
 * with real sockets on loopback and real HTTP between the agents: the same
 * live_proc objects the `meshsim agent` processes are made of, so the
 * sanitizers and a debugger see all of it. The multi-process version
 * (meshsim run --live) is tested by tests/live_test.sh.
 *
 * These tests run in real time, a second or two each. They assert what
 * does not depend on the machine's speed: that every request ends in
 * exactly one recorded outcome, which outcomes (a fault's abort status, a
 * retried error that succeeds, a client timeout), and that the hosts let
 * go of every exchange and timer afterwards.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>

#include "live_agent.h"
#include "live_env.h"
#include "rec.h"
#include "scenario.h"
#include "suites.h"

typedef struct mini {
	model *m;
	live_topo t;
	rec *r;
	uint8_t *faults_on;
	struct event_base *base;
	live_proc **procs;
	uint32_t nprocs;
} mini;

static void mini_free(mini *x)
{
	for (uint32_t i = 0; i < x->nprocs; i++)
		live_proc_free(x->procs[i]);
	free(x->procs);
	x->procs = NULL;
	x->nprocs = 0;
	live_topo_destroy(&x->t);
	if (x->base) {
		event_base_loop(x->base, EVLOOP_NONBLOCK); /* finalizers */
		event_base_free(x->base);
	}
	x->base = NULL;
}

/* Every pod of the scenario in this process, on a net no other test run
 * uses at the same time (tried until every address binds). */
static void mini_new(mini *x, const char *json)
{
	memset(x, 0, sizeof *x);
	/* A peer that hangs up must not kill the test with SIGPIPE; the
	 * agent processes ignore it the same way. */
	signal(SIGPIPE, SIG_IGN);
	scn_errors e = {0};
	x->m = scn_load_string(json, "live-test", &e);
	if (!x->m && e.n)
		fprintf(stderr, "%s\n", e.msg[0]);
	ck_assert_ptr_nonnull(x->m);
	scn_errors_free(&e);
	x->r = rec_new(x->m);
	x->faults_on = calloc(x->m->nfaults + 1, 1);
	ck_assert_ptr_nonnull(x->r);
	for (unsigned attempt = 0; attempt < 20; attempt++) {
		unsigned net = 100 + (unsigned)(getpid() * 7 + attempt * 13) % 150;
		struct event_config *cfg = event_config_new();
		event_config_set_flag(cfg, EVENT_BASE_FLAG_PRECISE_TIMER);
		x->base = event_base_new_with_config(cfg);
		event_config_free(cfg);
		ck_assert_int_eq(live_topo_init(&x->t, x->m, net), 0);
		uint32_t n = 2 * x->t.ninst + x->m->nclients + 1;
		x->procs = calloc(n, sizeof *x->procs);
		char err[256];
		int ok = 1;
		for (uint32_t p = 0; p < x->t.npods && ok; p++) {
			enum live_kind kinds[2];
			uint32_t nk = 0;
			if (p < x->t.ninst)
				kinds[nk++] = LIVE_APP;
			if (p + 1 < x->t.npods)
				kinds[nk++] = LIVE_SIDECAR;
			else
				kinds[nk++] = LIVE_LOAD;
			for (uint32_t k = 0; k < nk && ok; k++) {
				live_proc *lp = live_proc_new(x->base, kinds[k], x->m,
							      &x->t, p, x->r,
							      x->faults_on, NULL,
							      err, sizeof err);
				if (!lp)
					ok = 0;
				else
					x->procs[x->nprocs++] = lp;
			}
		}
		if (ok)
			return;
		fprintf(stderr, "check_live: net %u: %s; trying another\n", net, err);
		mini_free(x);
	}
	ck_abort_msg("no free loopback net for the live test");
}

static void mini_done(mini *x)
{
	mini_free(x);
	rec_free(x->r);
	free(x->faults_on);
	model_free(x->m);
}

static void stop_loop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Run the scenario's duration and drain in real time. */
static void mini_run(mini *x)
{
	uint64_t t0 = live_monotonic_ns() + 20 * MESH_MS;
	for (uint32_t i = 0; i < x->nprocs; i++)
		live_proc_start(x->procs[i], t0);
	mesh_time total = x->m->duration + x->m->drain + 20 * MESH_MS;
	struct timeval tv = {.tv_sec = (time_t)(total / MESH_S),
			     .tv_usec = (suseconds_t)(total % MESH_S / 1000)};
	struct event *stop = evtimer_new(x->base, stop_loop, x->base);
	evtimer_add(stop, &tv);
	event_base_dispatch(x->base);
	event_free(stop);
	for (uint32_t i = 0; i < x->nprocs; i++)
		live_proc_end(x->procs[i]);
	rec_finish(x->r, x->m->duration + x->m->drain);
}

/* Nothing lost: outcomes plus what is in flight add up to what was sent,
 * and the load process's count of in-flight requests agrees. */
static void check_accounting(const mini *x)
{
	const rec_stats *o = &x->r->overall;
	ck_assert_uint_gt(o->issued, 0);
	ck_assert_uint_eq(o->live_at_end, rec_in_flight(o));
}

/* Once the load is over and drained, no host holds an exchange. */
static void check_no_leaks(const mini *x)
{
	for (uint32_t i = 0; i < x->nprocs; i++)
		ck_assert_uint_eq(live_host_open(live_proc_host(x->procs[i])), 0);
}

static const char chain[] =
	"{ \"name\": \"chain\", \"seed\": 3, \"duration\": \"1s\", \"drain\": \"300ms\","
	"  \"services\": {"
	"    \"front\": { \"replicas\": 2, \"concurrency\": 16,"
	"      \"script\": [ { \"work\": \"1ms\" },"
	"                    { \"call\": { \"service\": \"back\", \"path\": \"/b\" } } ],"
	"      \"response_size\": 3000 },"
	"    \"back\": { \"replicas\": 2, \"concurrency\": 16, \"latency\": \"2ms\","
	"      \"response_size\": 70000 } },"
	"  \"load\": [ { \"name\": \"users\", \"to\": \"front\", \"path\": \"/\","
	"               \"rps\": 200, \"timeout\": \"1s\" } ] }";

START_TEST(test_chain_all_succeed)
{
	mini x;
	mini_new(&x, chain);
	mini_run(&x);
	check_accounting(&x);
	const rec_stats *o = &x.r->overall;
	/* Poisson arrivals at 200 rps for 1 s: 200 requests give or take
	 * 4 standard deviations (57), all answered 200 by real HTTP. */
	ck_assert_uint_ge(o->issued, 143);
	ck_assert_uint_le(o->issued, 257);
	ck_assert_uint_eq(o->outcomes[MESH_OK], o->issued);
	/* Every request went through front's and back's callers' sidecars:
	 * one call each on the two routes. */
	uint64_t back = 0;
	for (uint32_t rt = 0; rt < x.m->nroutes; rt++)
		if (!strcmp(x.m->routes[rt].path, "/b"))
			back = x.r->routes[rt].outcomes[MESH_OK];
	ck_assert_uint_eq(back, o->issued);
	/* The latency is real: at least the 1 ms + 2 ms of work. */
	ck_assert_uint_ge(hist_quantile(&o->lat, 0.5), 3 * MESH_MS);
	check_no_leaks(&x);
	mini_done(&x);
}
END_TEST

static const char retried[] =
	"{ \"name\": \"retried\", \"seed\": 5, \"duration\": \"1s\", \"drain\": \"300ms\","
	"  \"services\": {"
	"    \"back\": { \"versions\": {"
	"      \"good\": { \"replicas\": 1, \"latency\": \"1ms\" },"
	"      \"bad\": { \"replicas\": 1, \"latency\": \"1ms\","
	"                 \"errors\": [ { \"status\": 503, \"probability\": 1 } ] } } } },"
	"  \"mesh\": { \"back\": { \"lb\": \"round_robin\","
	"    \"retries\": { \"attempts\": 2, \"on\": [\"5xx\"], \"backoff\": { \"base\": \"1ms\" } } } },"
	"  \"load\": [ { \"name\": \"users\", \"to\": \"back\", \"path\": \"/\","
	"               \"rps\": 100, \"timeout\": \"1s\" } ] }";

START_TEST(test_retry_over_http)
{
	mini x;
	mini_new(&x, retried);
	mini_run(&x);
	check_accounting(&x);
	const rec_stats *o = &x.r->overall;
	/* Half the first tries hit the bad instance and get a real 503; the
	 * retry goes to the other host (previous_hosts) and succeeds. */
	ck_assert_uint_eq(o->outcomes[MESH_OK], o->issued);
	const rec_stats *rt = &x.r->services[0].st;
	ck_assert_uint_gt(rt->pol.retries[REC_RETRY_5XX], o->issued / 4);
	ck_assert_uint_eq(rt->pol.attempts, o->issued + rt->pol.retries[REC_RETRY_5XX]);
	check_no_leaks(&x);
	mini_done(&x);
}
END_TEST

static const char aborted[] =
	"{ \"name\": \"aborted\", \"seed\": 9, \"duration\": \"1s\", \"drain\": \"300ms\","
	"  \"services\": { \"back\": { \"replicas\": 2, \"latency\": \"1ms\" } },"
	"  \"load\": [ { \"name\": \"users\", \"to\": \"back\", \"path\": \"/\","
	"               \"rps\": 200, \"timeout\": \"1s\" } ],"
	"  \"faults\": [ { \"kind\": \"abort\", \"target\": \"back\", \"status\": 418,"
	"                  \"percent\": 50, \"at\": \"0s\" } ] }";

START_TEST(test_abort_fault)
{
	mini x;
	mini_new(&x, aborted);
	/* The orchestrator switches faults through the admin endpoint; this
	 * is the call behind it. */
	ck_assert_int_eq(live_proc_set_fault(x.procs[0], 0, 1), 0);
	for (uint32_t i = 1; i < x.nprocs; i++)
		live_proc_set_fault(x.procs[i], 0, 1);
	mini_run(&x);
	check_accounting(&x);
	const rec_stats *o = &x.r->overall;
	uint64_t teapots = o->by_status[418];
	ck_assert_uint_eq(teapots + o->outcomes[MESH_OK], o->issued);
	/* 50% of about 200: binomial, 6 standard deviations is 42. */
	ck_assert_uint_gt(teapots, o->issued / 2 - 45);
	ck_assert_uint_lt(teapots, o->issued / 2 + 45);
	check_no_leaks(&x);
	mini_done(&x);
}
END_TEST

static const char timeouts[] =
	"{ \"name\": \"timeouts\", \"seed\": 11, \"duration\": \"600ms\", \"drain\": \"600ms\","
	"  \"services\": {"
	"    \"front\": { \"replicas\": 1, \"concurrency\": 64,"
	"      \"script\": [ { \"call\": { \"service\": \"back\", \"path\": \"/slow\" } } ] },"
	"    \"back\": { \"replicas\": 1, \"concurrency\": 64, \"latency\": \"300ms\" } },"
	"  \"load\": [ { \"name\": \"users\", \"to\": \"front\", \"path\": \"/\","
	"               \"rps\": 50, \"timeout\": \"50ms\" } ] }";

START_TEST(test_client_timeout_cancels)
{
	mini x;
	mini_new(&x, timeouts);
	mini_run(&x);
	check_accounting(&x);
	const rec_stats *o = &x.r->overall;
	/* Every request outlives its client's 50 ms: all time out, and the
	 * hang-ups travel down the chain (the sidecars reset their tries). */
	ck_assert_uint_eq(o->outcomes[MESH_TIMEOUT], o->issued);
	check_no_leaks(&x);
	mini_done(&x);
}
END_TEST

static const char authz[] =
	"{ \"name\": \"authz\", \"seed\": 13, \"duration\": \"1s\", \"drain\": \"300ms\","
	"  \"services\": {"
	"    \"front\": { \"replicas\": 1, \"concurrency\": 16,"
	"      \"script\": [ { \"call\": { \"service\": \"back\", \"path\": \"/items\" } } ] },"
	"    \"back\": { \"replicas\": 2, \"concurrency\": 16, \"latency\": \"1ms\" } },"
	"  \"authorization\": ["
	"    { \"name\": \"no-admin\", \"selector\": \"back\", \"action\": \"DENY\","
	"      \"rules\": [ { \"to\": [ { \"operation\": { \"paths\": [\"/admin/*\"] } } ] } ] },"
	"    { \"name\": \"front-only\", \"selector\": \"back\","
	"      \"rules\": [ { \"from\": [ { \"source\": { \"principals\": [\"cluster.local/ns/default/sa/front\","
	"                                                   \"cluster.local/ns/ops/sa/*\"] } } ] } ] } ],"
	"  \"load\": ["
	"    { \"name\": \"users\", \"to\": \"front\", \"rps\": 100, \"timeout\": \"1s\" },"
	"    { \"name\": \"admin\", \"to\": \"back\", \"path\": \"/admin/x\", \"rps\": 50,"
	"      \"timeout\": \"1s\", \"principal\": \"cluster.local/ns/ops/sa/console\" },"
	"    { \"name\": \"direct\", \"to\": \"back\", \"path\": \"/items\", \"rps\": 50,"
	"      \"timeout\": \"1s\" } ] }";

START_TEST(test_authz_denied_over_http)
{
	mini x;
	mini_new(&x, authz);
	mini_run(&x);
	check_accounting(&x);
	const rec_stats *users = &x.r->clients[0], *admin = &x.r->clients[1];
	const rec_stats *direct = &x.r->clients[2];
	/* The callee's sidecar answers a real 403 (x-meshsim-flags: RBAC):
	 * the DENY policy on a path, for a caller whose principal the ALLOW
	 * policy lists; and no ALLOW match for a client with no identity. */
	ck_assert_uint_gt(admin->issued, 0);
	ck_assert_uint_eq(admin->outcomes[MESH_DENIED], admin->issued);
	ck_assert_uint_eq(admin->by_status[403], admin->issued);
	ck_assert_uint_gt(direct->issued, 0);
	ck_assert_uint_eq(direct->outcomes[MESH_DENIED], direct->issued);
	/* front's calls carry its name in x-meshsim-source, and so its
	 * identity: allowed. */
	ck_assert_uint_gt(users->issued, 0);
	ck_assert_uint_eq(users->outcomes[MESH_OK], users->issued);
	const uint64_t *v = &x.r->authz_service[1 * AUTHZ_VERDICT_COUNT];
	ck_assert_uint_eq(v[AUTHZ_DENIED], admin->issued);
	ck_assert_uint_eq(v[AUTHZ_DENIED_NO_ALLOW], direct->issued);
	ck_assert_uint_eq(v[AUTHZ_ALLOWED], users->issued);
	ck_assert_uint_eq(x.r->authz_policy[0], admin->issued);
	/* The denied requests never reached back's apps. */
	uint64_t arrived = x.r->services[1].inst[0].arrived + x.r->services[1].inst[1].arrived;
	ck_assert_uint_eq(arrived, users->issued);
	check_no_leaks(&x);
	mini_done(&x);
}
END_TEST

Suite *live_suite(void)
{
	Suite *s = suite_create("live");
	TCase *tc = tcase_create("inprocess");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_chain_all_succeed);
	tcase_add_test(tc, test_retry_over_http);
	tcase_add_test(tc, test_abort_fault);
	tcase_add_test(tc, test_client_timeout_cancels);
	tcase_add_test(tc, test_authz_denied_over_http);
	suite_add_tcase(s, tc);
	return s;
}
