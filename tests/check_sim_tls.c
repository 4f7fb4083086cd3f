/*
 * Mutual TLS in the simulator (sim/sim_tls.c): real handshakes over memory
 * with the workloads' certificates, connections kept and reused,
 * renewals, certificate faults, and the caller's identity as its
 * connection carries it.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "rec.h"
#include "sim.h"
#include "sim_tls.h"
#include "suites.h"
#include "testutil.h"
#include "tls_ca.h"
#include "tls_mesh.h"

/* front (2) -> back (2), a client with the ingress gateway's identity, and
 * whatever `extra` adds (fields of the top-level object, each ending in a
 * comma). */
static model *mesh(const char *mtls, const char *extra, const char *load)
{
	char buf[8192];
	snprintf(buf, sizeof buf,
		 "{ \"seed\": 5, \"duration\": \"20s\", \"drain\": \"2s\","
		 "  \"network\": { \"latency\": \"200us\" },"
		 "  \"services\": {"
		 "    \"front\": { \"replicas\": 2, \"script\": [ { \"work\": \"1ms\" },"
		 "       { \"call\": { \"service\": \"back\", \"path\": \"/items\" } } ] },"
		 "    \"back\": { \"replicas\": 2, \"latency\": \"2ms\" } },"
		 "  \"mtls\": %s, %s"
		 "  \"load\": [ %s ] }",
		 mtls, extra, load);
	return tu_load(buf);
}

static const char gw_load[] =
	"{ \"name\": \"users\", \"to\": \"front\", \"rps\": 100,"
	"  \"principal\": \"cluster.local/ns/istio-system/sa/ingressgateway\" }";

static uint64_t sum_tls(const rec *r, int side, int what)
{
	uint64_t n = 0;
	for (uint32_t w = 0; w < r->tls_nworkloads; w++) {
		const rec_tls *t = &r->tls[w * REC_TLS_SIDES + side];
		n += what == 0 ? t->full : what == 1 ? t->resumed : t->plaintext;
	}
	return n;
}

static uint64_t sum_fail(const rec *r, int side, int reason)
{
	uint64_t n = 0;
	for (uint32_t w = 0; w < r->tls_nworkloads; w++)
		n += r->tls[w * REC_TLS_SIDES + side].failed[reason];
	return n;
}

static uint32_t count_certs(const rec *r, uint32_t w, int why)
{
	uint32_t n = 0;
	for (uint32_t i = 0; i < r->ncerts; i++)
		if (r->certs[i].workload == w && r->certs[i].why == why)
			n++;
	return n;
}

/* STRICT everywhere, an identity on every caller: every request succeeds,
 * and connections are kept: a handful of handshakes for 2000 requests,
 * each counted on both ends. */
START_TEST(test_strict_reuses_connections)
{
	model *m = mesh("{ \"mode\": \"STRICT\" }", "", gw_load);
	rec *r = tu_run(m);
	const rec_stats *o = &r->overall;
	ck_assert_uint_gt(o->issued, 1900);
	ck_assert_uint_eq(o->outcomes[MESH_OK], o->issued);
	uint64_t out = sum_tls(r, REC_TLS_OUTBOUND, 0) + sum_tls(r, REC_TLS_OUTBOUND, 1);
	uint64_t in = sum_tls(r, REC_TLS_INBOUND, 0) + sum_tls(r, REC_TLS_INBOUND, 1);
	/* users -> 2 fronts, 2 fronts -> 2 backs: at least 6 pairs. */
	ck_assert_uint_ge(out, 6);
	ck_assert_uint_lt(out, o->issued / 20);
	ck_assert_uint_eq(out, in);
	ck_assert_uint_eq(sum_tls(r, REC_TLS_INBOUND, 2), 0);
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++)
		ck_assert_uint_eq(sum_fail(r, REC_TLS_INBOUND, k), 0);
	/* Every workload got one certificate at the start (24h lifetime:
	 * no renewal in 22 s), backdated 2 minutes, valid 24 hours. */
	ck_assert_uint_eq(r->ncerts, 5);
	for (uint32_t i = 0; i < r->ncerts; i++) {
		ck_assert_uint_eq(r->certs[i].why, TLS_MESH_ISSUED);
		ck_assert_int_eq(r->certs[i].not_before_s, -120);
		ck_assert_int_eq(r->certs[i].not_after_s, 24 * 3600);
	}
	rec_free(r);
	model_free(m);
}
END_TEST

/* Same seed, same run: the handshakes are real (random keys) but their
 * outcomes and counts are not. */
START_TEST(test_deterministic)
{
	model *m = mesh("{ \"mode\": \"STRICT\", \"cert_ttl\": \"6s\" }", "",
			gw_load);
	rec *a = tu_run(m), *b = tu_run(m);
	ck_assert_uint_eq(a->overall.issued, b->overall.issued);
	ck_assert_mem_eq(a->overall.outcomes, b->overall.outcomes,
			 sizeof a->overall.outcomes);
	ck_assert_uint_eq(a->tls_nworkloads, b->tls_nworkloads);
	ck_assert_mem_eq(a->tls, b->tls,
			 a->tls_nworkloads * REC_TLS_SIDES * sizeof *a->tls);
	ck_assert_uint_eq(a->ncerts, b->ncerts);
	ck_assert_mem_eq(a->certs, b->certs, a->ncerts * sizeof *a->certs);
	ck_assert_mem_eq(&a->overall.lat, &b->overall.lat, sizeof a->overall.lat);
	rec_free(a);
	rec_free(b);
	model_free(m);
}
END_TEST

/* Certificates of 4 s renew about every 2 s (Istio's grace ratio 0.5):
 * about ten renewals per workload in 22 s, and not one request fails. */
START_TEST(test_rotation_no_failures)
{
	model *m = mesh("{ \"mode\": \"STRICT\", \"cert_ttl\": \"4s\" }", "",
			gw_load);
	rec *r = tu_run(m);
	const rec_stats *o = &r->overall;
	ck_assert_uint_eq(o->outcomes[MESH_OK], o->issued);
	for (uint32_t w = 0; w < 5; w++) {
		ck_assert_uint_eq(count_certs(r, w, TLS_MESH_ISSUED), 1);
		uint32_t n = count_certs(r, w, TLS_MESH_RENEWED);
		ck_assert_msg(n >= 9 && n <= 12, "workload %u renewed %u times", w, n);
	}
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++)
		ck_assert_uint_eq(sum_fail(r, REC_TLS_OUTBOUND, k), 0);
	rec_free(r);
	model_free(m);
}
END_TEST

/* A load client without a principal is outside the mesh: plaintext.
 * PERMISSIVE serves it, with no identity (an ALLOW policy naming
 * principals denies it); STRICT closes its connections (503 UR, counted
 * as plaintext rejected at both ends). */
START_TEST(test_plaintext_client)
{
	static const char plain[] = "{ \"name\": \"anon\", \"to\": \"front\", \"rps\": 50 }";
	static const char allow[] =
		"\"authorization\": [ { \"name\": \"gw-only\", \"selector\": \"front\","
		"  \"rules\": [ { \"from\": [ { \"source\": { \"principals\":"
		"    [\"cluster.local/ns/istio-system/sa/ingressgateway\"] } } ] } ] } ],";
	char load[512];
	snprintf(load, sizeof load, "%s, %s", gw_load, plain);

	model *m = mesh("{ \"mode\": \"PERMISSIVE\" }", allow, load);
	rec *r = tu_run(m);
	ck_assert_uint_eq(r->clients[0].outcomes[MESH_OK], r->clients[0].issued);
	ck_assert_uint_gt(r->clients[1].issued, 900);
	ck_assert_uint_eq(r->clients[1].outcomes[MESH_DENIED], r->clients[1].issued);
	ck_assert_uint_gt(sum_tls(r, REC_TLS_INBOUND, 2), 0);
	ck_assert_uint_eq(sum_tls(r, REC_TLS_INBOUND, 2), sum_tls(r, REC_TLS_OUTBOUND, 2));
	rec_free(r);
	model_free(m);

	m = mesh("{ \"mode\": \"STRICT\" }", "", load);
	r = tu_run(m);
	ck_assert_uint_eq(r->clients[0].outcomes[MESH_OK], r->clients[0].issued);
	ck_assert_uint_eq(r->clients[1].outcomes[MESH_RESET], r->clients[1].issued);
	ck_assert_uint_eq(sum_fail(r, REC_TLS_INBOUND, REC_TLS_PLAINTEXT_REJECTED),
			  r->clients[1].issued);
	ck_assert_uint_eq(sum_tls(r, REC_TLS_INBOUND, 2), 0);
	rec_free(r);
	model_free(m);
}
END_TEST

/* Requests that need new connections while back's certificate has
 * expired fail 503 UF, counted as "expired"; before and after, none do;
 * the connections made before the fault keep working through it. */
START_TEST(test_cert_expire)
{
	static const char ramp[] =
		"{ \"name\": \"users\", \"to\": \"front\","
		"  \"principal\": \"cluster.local/ns/istio-system/sa/ingressgateway\","
		"  \"rps\": [ { \"at\": \"0s\", \"value\": 20 }, { \"at\": \"6s\", \"value\": 600 },"
		"             { \"at\": \"12s\", \"value\": 20 } ] }";
	model *m = mesh("{ \"mode\": \"STRICT\" }",
			"\"faults\": [ { \"kind\": \"cert_expire\", \"target\": \"back\","
			"  \"at\": \"5s\", \"until\": \"10s\" } ],", ramp);
	rec *r = tu_run(m);
	uint64_t expired = sum_fail(r, REC_TLS_OUTBOUND, REC_TLS_EXPIRED);
	ck_assert_uint_gt(expired, 0);
	ck_assert_uint_eq(expired, sum_fail(r, REC_TLS_INBOUND, REC_TLS_EXPIRED));
	ck_assert_uint_eq(sum_fail(r, REC_TLS_OUTBOUND, REC_TLS_UNKNOWN_CA), 0);
	/* Each failed connection is one hit of the fault behind it. */
	ck_assert_uint_eq(r->fault_hits[0], expired);
	/* The two back instances got an expired certificate at 5 s and a
	 * fresh one at 10 s. */
	ck_assert_uint_eq(count_certs(r, 2, TLS_MESH_EXPIRED_FAULT), 1);
	ck_assert_uint_eq(count_certs(r, 3, TLS_MESH_RESTORED), 1);
	/* Failures, not lost requests: every request has one outcome. */
	const rec_stats *o = &r->overall;
	uint64_t ended = 0;
	for (int k = 0; k < MESH_OUTCOME_COUNT; k++)
		ended += o->outcomes[k];
	ck_assert_uint_eq(ended + rec_in_flight(o), o->issued);
	ck_assert_uint_gt(o->issued - o->outcomes[MESH_OK], 0);
	rec_free(r);
	model_free(m);
}
END_TEST

/* A new root without overlap: certificates of the old root fail as
 * unknown CA on new connections until both ends have renewed; with
 * overlap nothing fails. */
START_TEST(test_root_rotation)
{
	static const char ramp[] =
		"{ \"name\": \"users\", \"to\": \"front\","
		"  \"principal\": \"cluster.local/ns/istio-system/sa/ingressgateway\","
		"  \"rps\": [ { \"at\": \"0s\", \"value\": 20 }, { \"at\": \"5s\", \"value\": 600 } ] }";
	model *m = mesh("{ \"mode\": \"STRICT\", \"cert_ttl\": \"20s\" }",
			"\"faults\": [ { \"kind\": \"root_rotate\", \"at\": \"4s\","
			"  \"overlap\": false } ],", ramp);
	rec *r = tu_run(m);
	ck_assert_uint_gt(sum_fail(r, REC_TLS_OUTBOUND, REC_TLS_UNKNOWN_CA), 0);
	ck_assert_uint_eq(r->fault_hits[0], sum_fail(r, REC_TLS_OUTBOUND, REC_TLS_UNKNOWN_CA));
	/* Renewed certificates (at about 10 s) come from the new root. */
	int renewed_new = 0;
	for (uint32_t i = 0; i < r->ncerts; i++)
		if (r->certs[i].why == TLS_MESH_RENEWED)
			renewed_new += r->certs[i].root == 1;
	ck_assert_int_gt(renewed_new, 0);
	rec_free(r);
	model_free(m);

	m = mesh("{ \"mode\": \"STRICT\", \"cert_ttl\": \"20s\" }",
		 "\"faults\": [ { \"kind\": \"root_rotate\", \"at\": \"4s\","
		 "  \"overlap\": true } ],", ramp);
	r = tu_run(m);
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++)
		ck_assert_uint_eq(sum_fail(r, REC_TLS_OUTBOUND, k), 0);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], r->overall.issued);
	ck_assert_uint_eq(r->fault_hits[0], 0);
	rec_free(r);
	model_free(m);
}
END_TEST

/* A route timeout abandons every try: each reset closes its connection, so
 * the next request to that host needs a new one (a resumed handshake:
 * the pair holds the ticket the last one left). */
START_TEST(test_abandon_closes)
{
	model *m = tu_load(
		"{ \"seed\": 3, \"duration\": \"5s\", \"drain\": \"1s\","
		"  \"services\": { \"front\": { \"script\": [ { \"call\": \"back\" } ] },"
		"                  \"back\": { \"latency\": \"50ms\" } },"
		"  \"mesh\": { \"back\": { \"timeout\": \"10ms\" } },"
		"  \"mtls\": { \"mode\": \"STRICT\" },"
		"  \"load\": [ { \"to\": \"front\", \"rps\": 20, \"arrival\": \"constant\","
		"     \"principal\": \"cluster.local/ns/default/sa/gw\" } ] }");
	rec *r = tu_run(m);
	/* front's sidecar (workload 0) -> back (workload 1): one new
	 * connection per request, all but the first resumed. */
	const rec_tls *t = &r->tls[0 * REC_TLS_SIDES + REC_TLS_OUTBOUND];
	ck_assert_uint_gt(r->overall.issued, 90);
	ck_assert_uint_eq(t->full + t->resumed, r->overall.issued);
	ck_assert_uint_eq(t->full, 1);
	rec_free(r);
	model_free(m);
}
END_TEST

/* A partition refuses requests before any connection is made: no
 * handshake is paid or counted for them (they fail as UF after the
 * connect timeout), and after the heal the connections kept from before
 * serve again. */
START_TEST(test_partition_no_handshake)
{
	model *m = mesh("{ \"mode\": \"STRICT\" }",
			"\"faults\": [ { \"kind\": \"partition\", \"between\": "
			"[[\"front\"], [\"back\"]], \"at\": \"5s\", \"for\": \"5s\" } ],",
			gw_load);
	rec *r = tu_run(m);
	uint64_t hs = 0;
	for (uint32_t w = 0; w < 2; w++) {
		const rec_tls *t = &r->tls[w * REC_TLS_SIDES + REC_TLS_OUTBOUND];
		hs += t->full + t->resumed;
	}
	/* Without the partition the fronts make 8 or so; 500 requests were
	 * refused. */
	ck_assert_uint_gt(r->fault_hits[0], 400);
	ck_assert_uint_lt(hs, 20);
	ck_assert_uint_lt(r->overall.outcomes[MESH_OK], r->overall.issued);
	/* Every request has one outcome. */
	uint64_t ended = 0;
	for (int k = 0; k < MESH_OUTCOME_COUNT; k++)
		ended += r->overall.outcomes[k];
	ck_assert_uint_eq(ended + rec_in_flight(&r->overall), r->overall.issued);
	rec_free(r);
	model_free(m);
}
END_TEST

/* "handshake_cpu": "measured" charges what each handshake took: the first
 * requests (which open the connections) wait longer than with a charge of
 * zero, and nothing else changes. */
START_TEST(test_measured_cost)
{
	model *z = mesh("{ \"mode\": \"STRICT\", \"handshake_cpu\": "
			"{ \"full\": \"0s\", \"resumed\": \"0s\" } }", "", gw_load);
	model *m = mesh("{ \"mode\": \"STRICT\", \"handshake_cpu\": \"measured\" }",
			"", gw_load);
	ck_assert_int_eq(m->mtls.handshake_measured, 1);
	ck_assert_int_eq(z->mtls.handshake_measured, 0);
	rec *a = tu_run(z), *b = tu_run(m);
	ck_assert_uint_eq(a->overall.issued, b->overall.issued);
	ck_assert_uint_eq(b->overall.outcomes[MESH_OK], b->overall.issued);
	ck_assert_uint_gt(b->overall.lat.max, a->overall.lat.max);
	rec_free(a);
	rec_free(b);
	model_free(z);
	model_free(m);
}
END_TEST

/* A plug-in CA made today (long after the simulator's usual calendar
 * begins): the calendar starts when its chain has begun, so its
 * certificates are valid and every request succeeds, the same way every
 * run. */
START_TEST(test_plugin_ca_today)
{
	char dir[] = "/tmp/check_sim_tls.XXXXXX", err[512], json[2048];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	int64_t now = (int64_t)time(NULL);
	tls_ca *root = tls_ca_new_root(NULL, now, err, sizeof err);
	ck_assert_msg(root != NULL, "%s", err);
	tls_ca *mid = tls_ca_new_intermediate(root, now, 0, err, sizeof err);
	ck_assert_msg(mid != NULL, "%s", err);
	ck_assert_int_eq(tls_ca_write_ca_pem(dir, "root", root, 0, err, sizeof err), 0);
	ck_assert_int_eq(tls_ca_write_ca_pem(dir, "ca", mid, 1, err, sizeof err), 0);
	snprintf(json, sizeof json,
		 "{ \"mode\": \"STRICT\", \"ca\": { \"cert\": \"%s/ca.pem\","
		 " \"key\": \"%s/ca-key.pem\", \"root\": \"%s/root.pem\" } }",
		 dir, dir, dir);
	model *m = mesh(json, "", gw_load);
	rec *r = tu_run(m);
	ck_assert_uint_gt(r->overall.issued, 1900);
	ck_assert_uint_eq(r->overall.outcomes[MESH_OK], r->overall.issued);
	ck_assert_uint_eq(r->ncerts, 5);
	ck_assert_int_eq(r->certs[0].not_before_s, -120);
	rec_free(r);
	model_free(m);
	tls_ca_free(mid);
	tls_ca_free(root);
	static const char *const files[] = {"root.pem", "ca.pem", "ca-key.pem"};
	for (size_t i = 0; i < 3; i++) {
		char p[256];
		snprintf(p, sizeof p, "%s/%s", dir, files[i]);
		unlink(p);
	}
	rmdir(dir);
}
END_TEST

Suite *sim_tls_suite(void)
{
	Suite *s = suite_create("sim_tls");
	TCase *c = tcase_create("sim_tls");
	tcase_set_timeout(c, 120);
	tcase_add_test(c, test_strict_reuses_connections);
	tcase_add_test(c, test_deterministic);
	tcase_add_test(c, test_rotation_no_failures);
	tcase_add_test(c, test_plaintext_client);
	tcase_add_test(c, test_cert_expire);
	tcase_add_test(c, test_root_rotation);
	tcase_add_test(c, test_abandon_closes);
	tcase_add_test(c, test_measured_cost);
	tcase_add_test(c, test_plugin_ca_today);
	tcase_add_test(c, test_partition_no_handshake);
	suite_add_tcase(s, c);
	return s;
}
