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
 *
 * Mutual TLS (scenarios with an "mtls" block) runs as in `meshsim run
 * --live`: the mesh PKI is made once and written to a private directory,
 * and every sidecar loads it from there when the run starts; handshakes
 * are real OpenSSL over loopback, certificates live a couple of seconds so
 * that they are renewed during the test.
 */
#define _XOPEN_SOURCE 700 /* nftw */
#include <check.h>
#include <ftw.h>
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
#include "tls_mesh.h"

typedef struct mini {
	model *m;
	live_topo t;
	rec *r;
	uint8_t *faults_on;
	struct event_base *base;
	live_proc **procs;
	uint32_t nprocs;
	char pki[256];          /* the mesh PKI's directory, or "" */
} mini;

static int rm_entry(const char *path, const struct stat *st, int flag,
		    struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

/* The mesh PKI, as the orchestrator makes it: once, in a private
 * directory every sidecar loads. */
static void mini_pki(mini *x)
{
	const char *tmp = getenv("TMPDIR");
	snprintf(x->pki, sizeof x->pki, "%s/check-live-pki.XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(x->pki));
	char err[512] = "";
	tls_mesh *t = tls_mesh_new(x->m, x->m->seed,
				   live_wall_ns_at(live_monotonic_ns()), NULL, NULL,
				   err, sizeof err);
	ck_assert_msg(t != NULL, "tls_mesh_new: %s", err);
	ck_assert_msg(tls_mesh_write(t, x->pki, err, sizeof err) == 0,
		      "tls_mesh_write: %s", err);
	tls_mesh_free(t);
}

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
	if (x->pki[0])
		nftw(x->pki, rm_entry, 8, FTW_DEPTH | FTW_PHYS);
	x->pki[0] = '\0';
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
		if (x->m->mtls.enabled)
			mini_pki(x);
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
				if (!lp) {
					ok = 0;
				} else {
					x->procs[x->nprocs++] = lp;
					if (x->pki[0])
						ck_assert_msg(live_proc_set_pki(lp, x->pki, err,
										sizeof err) == 0,
							      "live_proc_set_pki: %s", err);
				}
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

/* A fault switched in every process at a run time, as the orchestrator
 * does through POST /faults. */
typedef struct mini_switch {
	mini *x;
	uint32_t fault;
	int on;
	mesh_time at;           /* run time */
	struct event *ev;
} mini_switch;

static void switch_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	mini_switch *w = arg;
	for (uint32_t i = 0; i < w->x->nprocs; i++)
		ck_assert_int_eq(live_proc_set_fault(w->x->procs[i], w->fault, w->on), 0);
}

/* Run the scenario's duration and drain in real time, and make the
 * switches sw[0..nsw-1] at their times. */
static void mini_run_switch(mini *x, mini_switch *sw, uint32_t nsw)
{
	uint64_t t0 = live_monotonic_ns() + 20 * MESH_MS;
	int64_t epoch = live_wall_ns_at(t0);
	char err[512] = "";
	for (uint32_t i = 0; i < x->nprocs; i++)
		ck_assert_msg(live_proc_start(x->procs[i], t0, epoch, err, sizeof err) == 0,
			      "live_proc_start: %s", err);
	mesh_time total = x->m->duration + x->m->drain + 20 * MESH_MS;
	struct timeval tv = {.tv_sec = (time_t)(total / MESH_S),
			     .tv_usec = (suseconds_t)(total % MESH_S / 1000)};
	struct event *stop = evtimer_new(x->base, stop_loop, x->base);
	evtimer_add(stop, &tv);
	for (uint32_t k = 0; k < nsw; k++) {
		struct timeval st = live_timeval(sw[k].at + 20 * MESH_MS);
		sw[k].x = x;
		sw[k].ev = evtimer_new(x->base, switch_cb, &sw[k]);
		evtimer_add(sw[k].ev, &st);
	}
	event_base_dispatch(x->base);
	event_free(stop);
	for (uint32_t k = 0; k < nsw; k++)
		event_free(sw[k].ev);
	for (uint32_t i = 0; i < x->nprocs; i++)
		live_proc_end(x->procs[i]);
	rec_finish(x->r, x->m->duration + x->m->drain);
}

static void mini_run(mini *x)
{
	mini_run_switch(x, NULL, 0);
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

/* ---- mutual TLS ---- */

static uint64_t tls_failed(const rec_tls *t)
{
	uint64_t n = 0;
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++)
		n += t->failed[k];
	return n;
}

/* Certificates workload w got for reason `why` (tls_mesh_why). */
static uint32_t certs_of(const rec *r, uint32_t w, int why)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->ncerts; i++)
		n += r->certs[i].workload == w && r->certs[i].why == why;
	return n;
}

static const char mtls_rotation[] =
	"{ \"name\": \"mtls-rotation\", \"seed\": 17, \"duration\": \"2500ms\", \"drain\": \"300ms\","
	"  \"services\": {"
	"    \"front\": { \"replicas\": 2, \"concurrency\": 16,"
	"      \"script\": [ { \"work\": \"1ms\" },"
	"                    { \"call\": { \"service\": \"back\", \"path\": \"/b\" } } ] },"
	"    \"back\": { \"replicas\": 2, \"concurrency\": 16, \"latency\": \"1ms\" } },"
	"  \"mtls\": { \"mode\": \"STRICT\", \"cert_ttl\": \"2s\" },"
	"  \"load\": [ { \"name\": \"users\", \"to\": \"front\", \"path\": \"/\","
	"               \"rps\": 100, \"timeout\": \"1s\","
	"               \"principal\": \"cluster.local/ns/default/sa/gateway\" } ] }";

START_TEST(test_mtls_rotation)
{
	mini x;
	mini_new(&x, mtls_rotation);
	mini_run(&x);
	check_accounting(&x);
	const rec_stats *o = &x.r->overall;
	/* Certificates of 2 s renew at half their life, about every second
	 * (X.509's whole seconds make it 0.5 to 1 s): at least twice each in
	 * 2.5 s, while every request goes through two mutual TLS hops (client
	 * to front, front to back), and none fails. */
	ck_assert_uint_eq(o->outcomes[MESH_OK], o->issued);
	uint32_t nw = x.t.ninst + x.m->nclients;
	for (uint32_t w = 0; w < nw; w++) {
		ck_assert_uint_eq(certs_of(x.r, w, TLS_MESH_ISSUED), 1);
		ck_assert_uint_ge(certs_of(x.r, w, TLS_MESH_RENEWED), 2);
		for (int side = 0; side < REC_TLS_SIDES; side++) {
			const rec_tls *t = rec_tls_row(x.r, w, side);
			ck_assert_uint_eq(tls_failed(t), 0);
			ck_assert_uint_eq(t->plaintext, 0);
		}
	}
	/* Handshakes on both ends of each hop: front's and back's inbound,
	 * front's and the client's outbound. */
	for (uint32_t w = 0; w < 4; w++) {
		const rec_tls *in = rec_tls_row(x.r, w, REC_TLS_INBOUND);
		ck_assert_uint_gt(in->full + in->resumed, 0);
	}
	for (uint32_t w = 0; w < 2; w++)
		ck_assert_uint_gt(rec_tls_row(x.r, w, REC_TLS_OUTBOUND)->full, 0);
	ck_assert_uint_gt(rec_tls_row(x.r, 4, REC_TLS_OUTBOUND)->full, 0);
	check_no_leaks(&x);
	mini_done(&x);
}
END_TEST

static const char mtls_identity[] =
	"{ \"name\": \"mtls-identity\", \"seed\": 19, \"duration\": \"1s\", \"drain\": \"300ms\","
	"  \"services\": {"
	"    \"front\": { \"replicas\": 1, \"concurrency\": 16,"
	"      \"script\": [ { \"call\": { \"service\": \"back\", \"path\": \"/orders\" } } ] },"
	"    \"back\": { \"replicas\": 1, \"concurrency\": 16, \"latency\": \"1ms\" },"
	"    \"legacy\": { \"replicas\": 1, \"concurrency\": 16, \"latency\": \"1ms\" } },"
	"  \"mtls\": { \"mode\": \"STRICT\", \"services\": { \"legacy\": \"DISABLE\" } },"
	"  \"authorization\": ["
	"    { \"name\": \"back-from-front\", \"selector\": \"back\","
	"      \"rules\": [ { \"from\": [ { \"source\": { \"principals\": [\"cluster.local/ns/default/sa/front\"] } } ] } ] },"
	"    { \"name\": \"legacy-from-batch\", \"selector\": \"legacy\","
	"      \"rules\": [ { \"from\": [ { \"source\": { \"principals\": [\"cluster.local/ns/default/sa/batch\"] } } ] } ] } ],"
	"  \"load\": ["
	"    { \"name\": \"users\", \"to\": \"front\", \"rps\": 100, \"timeout\": \"1s\","
	"      \"principal\": \"cluster.local/ns/default/sa/gateway\" },"
	"    { \"name\": \"scanner\", \"to\": \"back\", \"path\": \"/orders\", \"rps\": 30, \"timeout\": \"1s\" },"
	"    { \"name\": \"intruder\", \"to\": \"back\", \"path\": \"/orders\", \"rps\": 30,"
	"      \"timeout\": \"1s\", \"principal\": \"cluster.local/ns/default/sa/intruder\" },"
	"    { \"name\": \"batch\", \"to\": \"legacy\", \"rps\": 30, \"timeout\": \"1s\","
	"      \"principal\": \"cluster.local/ns/default/sa/batch\" } ] }";

START_TEST(test_mtls_identity)
{
	mini x;
	mini_new(&x, mtls_identity);
	mini_run(&x);
	check_accounting(&x);
	/* Workloads: front 0, back 1, legacy 2; clients users 3, scanner 4,
	 * intruder 5, batch 6. */
	const rec_stats *users = &x.r->clients[0], *scanner = &x.r->clients[1];
	const rec_stats *intruder = &x.r->clients[2], *batch = &x.r->clients[3];
	/* front's certificate names it: back's policy allows it. */
	ck_assert_uint_gt(users->issued, 0);
	ck_assert_uint_eq(users->outcomes[MESH_OK], users->issued);
	/* A client outside the mesh speaks plaintext, which back's STRICT
	 * inbound closes at its first byte: 503 UR, as in the simulator,
	 * before any policy is asked. */
	ck_assert_uint_gt(scanner->issued, 0);
	ck_assert_uint_eq(scanner->outcomes[MESH_RESET], scanner->issued);
	ck_assert_uint_eq(scanner->by_status[503], scanner->issued);
	/* Counted at both ends, as the simulator does: one refused
	 * connection per request (no retries here), none served. */
	const rec_tls *back_in = rec_tls_row(x.r, 1, REC_TLS_INBOUND);
	const rec_tls *scan_out = rec_tls_row(x.r, 4, REC_TLS_OUTBOUND);
	ck_assert_uint_eq(back_in->failed[REC_TLS_PLAINTEXT_REJECTED], scanner->issued);
	ck_assert_uint_eq(back_in->plaintext, 0);
	ck_assert_uint_eq(scan_out->failed[REC_TLS_PLAINTEXT_REJECTED], scanner->issued);
	ck_assert_uint_eq(scan_out->plaintext, 0);
	/* A mesh identity of its own: the handshake succeeds, the policy
	 * denies what the certificate says. */
	ck_assert_uint_gt(intruder->issued, 0);
	ck_assert_uint_eq(intruder->outcomes[MESH_DENIED], intruder->issued);
	ck_assert_uint_gt(rec_tls_row(x.r, 5, REC_TLS_OUTBOUND)->full, 0);
	/* batch has the principal legacy's policy allows, but legacy's
	 * inbound is DISABLE: auto mTLS sends plaintext, which carries no
	 * identity, so the policy allows nothing (without an "mtls" block
	 * the harness's header would have named batch). */
	ck_assert_uint_gt(batch->issued, 0);
	ck_assert_uint_eq(batch->outcomes[MESH_DENIED], batch->issued);
	const uint64_t *v = &x.r->authz_service[2 * AUTHZ_VERDICT_COUNT];
	ck_assert_uint_eq(v[AUTHZ_DENIED_NO_ALLOW], batch->issued);
	ck_assert_uint_eq(v[AUTHZ_ALLOWED], 0);
	const rec_tls *legacy_in = rec_tls_row(x.r, 2, REC_TLS_INBOUND);
	ck_assert_uint_gt(legacy_in->plaintext, 0);
	ck_assert_uint_eq(legacy_in->full + legacy_in->resumed, 0);
	ck_assert_uint_gt(rec_tls_row(x.r, 6, REC_TLS_OUTBOUND)->plaintext, 0);
	check_no_leaks(&x);
	mini_done(&x);
}
END_TEST

static const char mtls_expire[] =
	"{ \"name\": \"mtls-expire\", \"seed\": 23, \"duration\": \"1500ms\", \"drain\": \"300ms\","
	"  \"services\": { \"back\": { \"replicas\": 2, \"concurrency\": 16, \"latency\": \"1ms\" } },"
	"  \"mtls\": { \"mode\": \"STRICT\" },"
	"  \"load\": [ { \"name\": \"users\", \"to\": \"back\", \"rps\": 100, \"timeout\": \"1s\","
	"               \"principal\": \"cluster.local/ns/default/sa/gateway\" } ],"
	"  \"faults\": [ { \"kind\": \"cert_expire\", \"target\": \"back\", \"at\": \"0s\","
	"                  \"for\": \"500ms\" } ] }";

START_TEST(test_mtls_cert_expire)
{
	mini x;
	mini_new(&x, mtls_expire);
	for (uint32_t i = 0; i < x.nprocs; i++)
		ck_assert_int_eq(live_proc_set_fault(x.procs[i], 0, 1), 0);
	mini_switch off = {.fault = 0, .on = 0, .at = 500 * MESH_MS};
	mini_run_switch(&x, &off, 1);
	check_accounting(&x);
	const rec_stats *o = &x.r->overall;
	/* While back presents an expired certificate, the client's sidecar
	 * refuses it: every handshake fails, and the requests end as Envoy's
	 * 503 UF (connect failure). Once the fault ends, back has a fresh
	 * certificate and everything succeeds. */
	ck_assert_uint_gt(o->outcomes[MESH_CONNECT_FAIL], 0);
	ck_assert_uint_gt(o->outcomes[MESH_OK], 0);
	ck_assert_uint_eq(o->outcomes[MESH_CONNECT_FAIL] + o->outcomes[MESH_OK], o->issued);
	ck_assert_uint_eq(o->by_status[503], o->outcomes[MESH_CONNECT_FAIL]);
	const rec_row *sec1 = &x.r->overall_series.rows[1];
	ck_assert_uint_gt(sec1->done, 0);
	ck_assert_uint_eq(sec1->ok, sec1->done);
	/* Counted as "expired" by the client's sidecar, which found it, and
	 * by back's, which the client's alert told. */
	const rec_tls *client_out = rec_tls_row(x.r, 2, REC_TLS_OUTBOUND);
	ck_assert_uint_gt(client_out->failed[REC_TLS_EXPIRED], 0);
	ck_assert_uint_eq(tls_failed(client_out), client_out->failed[REC_TLS_EXPIRED]);
	uint64_t in_expired = rec_tls_row(x.r, 0, REC_TLS_INBOUND)->failed[REC_TLS_EXPIRED] +
			      rec_tls_row(x.r, 1, REC_TLS_INBOUND)->failed[REC_TLS_EXPIRED];
	ck_assert_uint_gt(in_expired, 0);
	for (uint32_t w = 0; w < 2; w++) {
		ck_assert_uint_eq(certs_of(x.r, w, TLS_MESH_EXPIRED_FAULT), 1);
		ck_assert_uint_eq(certs_of(x.r, w, TLS_MESH_RESTORED), 1);
	}
	check_no_leaks(&x);
	mini_done(&x);
}
END_TEST

static const char mtls_strict_fault[] =
	"{ \"name\": \"mtls-strict-fault\", \"seed\": 29, \"duration\": \"1500ms\", \"drain\": \"300ms\","
	"  \"services\": { \"legacy\": { \"replicas\": 1, \"concurrency\": 16, \"latency\": \"1ms\" } },"
	"  \"mtls\": { \"mode\": \"PERMISSIVE\" },"
	"  \"load\": [ { \"name\": \"batch\", \"to\": \"legacy\", \"rps\": 100, \"timeout\": \"1s\" },"
	"    { \"name\": \"app\", \"to\": \"legacy\", \"method\": \"POST\", \"rps\": 50, \"timeout\": \"1s\" },"
	"    { \"name\": \"mesh\", \"to\": \"legacy\", \"rps\": 50, \"timeout\": \"1s\","
	"      \"principal\": \"cluster.local/ns/default/sa/mesh\" } ],"
	"  \"faults\": [ { \"kind\": \"mtls_strict\", \"target\": \"legacy\", \"at\": \"500ms\","
	"                  \"for\": \"500ms\" } ] }";

START_TEST(test_mtls_strict_fault)
{
	mini x;
	mini_new(&x, mtls_strict_fault);
	mini_switch sw[2] = {{.fault = 0, .on = 1, .at = 500 * MESH_MS},
			     {.fault = 0, .on = 0, .at = 1000 * MESH_MS}};
	mini_run_switch(&x, sw, 2);
	check_accounting(&x);
	/* Workloads: legacy 0; clients batch 1, app 2, mesh 3. While legacy's
	 * inbound is STRICT, the plaintext callers (no principal), GET and
	 * POST alike, are refused, on new connections and on those open from
	 * before (drained): 503 UR, and each refusal counted once at each
	 * end. The caller with an identity speaks mutual TLS throughout. */
	uint64_t refused = 0;
	for (uint32_t c = 0; c < 2; c++) {
		const rec_stats *st = &x.r->clients[c];
		ck_assert_uint_gt(st->outcomes[MESH_RESET], 0);
		ck_assert_uint_gt(st->outcomes[MESH_OK], 0);
		ck_assert_uint_eq(st->outcomes[MESH_RESET] + st->outcomes[MESH_OK], st->issued);
		const rec_tls *out = rec_tls_row(x.r, 1 + c, REC_TLS_OUTBOUND);
		ck_assert_uint_eq(out->failed[REC_TLS_PLAINTEXT_REJECTED], st->outcomes[MESH_RESET]);
		ck_assert_uint_gt(out->plaintext, 0);
		refused += st->outcomes[MESH_RESET];
	}
	const rec_tls *in = rec_tls_row(x.r, 0, REC_TLS_INBOUND);
	ck_assert_uint_eq(in->failed[REC_TLS_PLAINTEXT_REJECTED], refused);
	ck_assert_uint_gt(in->plaintext, 0);
	ck_assert_uint_gt(in->full + in->resumed, 0);
	const rec_stats *mesh = &x.r->clients[2];
	ck_assert_uint_eq(mesh->outcomes[MESH_OK], mesh->issued);
	/* A second after the start, the fault over: plaintext served again. */
	const rec_row *sec1 = &x.r->client_series[0].rows[1];
	ck_assert_uint_gt(sec1->done, 0);
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
	tcase_add_test(tc, test_mtls_rotation);
	tcase_add_test(tc, test_mtls_identity);
	tcase_add_test(tc, test_mtls_cert_expire);
	tcase_add_test(tc, test_mtls_strict_fault);
	suite_add_tcase(s, tc);
	return s;
}
