/*
 * Mutual TLS in the recorder and the report (reports/rec.h): the
 * handshake and plaintext counters per workload and side, the
 * certificate timeline and its order, merging recorders and snapshots,
 * Prometheus metrics, and the report's "mtls" section with its text and
 * HTML renderings, which exist only when the scenario has an "mtls"
 * block.
 *
 * Models are loaded from plain scenarios and given what the loader makes
 * of an "mtls" block by hand, so that these tests do not depend on the
 * scenario format of the block.
 */
#include <check.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "rec.h"
#include "rec_json.h"
#include "render.h"
#include "report.h"
#include "suites.h"
#include "testutil.h"
#include "tls_mesh.h"

/* Workloads: front/0, front/1 (0, 1), back/0..2 (2..4), then the load
 * clients web (5, with a principal) and batch (6, plaintext). */
static const char *const SCENARIO =
	"{ \"name\": \"rectls\", \"seed\": 9, \"duration\": \"20s\", \"drain\": \"1s\","
	"  \"services\": {"
	"    \"front\": { \"replicas\": 2, \"script\": [ { \"call\": \"back\" } ] },"
	"    \"back\": { \"replicas\": 3, \"latency\": \"1ms\" } },"
	"  \"load\": [ { \"name\": \"web\", \"to\": \"front\", \"rps\": 10,"
	"              \"principal\": \"cluster.local/ns/default/sa/web\" },"
	"            { \"name\": \"batch\", \"to\": \"back\", \"rps\": 5 } ] }";

#define W_FRONT0 0u
#define W_FRONT1 1u
#define W_BACK0 2u
#define W_BACK2 4u
#define W_WEB 5u
#define W_BATCH 6u
#define NWORKLOADS 7u
#define END (20 * MESH_S)

static char trust_domain[] = "example.org";

/* The model with what the loader makes of
 * "mtls": { "trust_domain": "example.org", "mode": "PERMISSIVE",
 *           "cert_ttl": "1h" } and back STRICT. */
static model *load_mtls(void)
{
	model *m = tu_load(SCENARIO);
	m->mtls.enabled = 1;
	m->mtls.trust_domain = trust_domain;
	m->mtls.mode = MTLS_PERMISSIVE;
	m->mtls.cert_ttl = 3600 * MESH_S;
	m->mtls.grace_ratio = 0.5;
	m->mtls.grace_jitter = 0.01;
	m->services[0].mtls_mode = MTLS_PERMISSIVE;
	m->services[1].mtls_mode = MTLS_STRICT;
	return m;
}

static void free_model(model *m)
{
	/* Ours, not the model's: model_free must not see it. */
	if (m->mtls.trust_domain == trust_domain)
		m->mtls.trust_domain = NULL;
	model_free(m);
}

static rec_cert_event cert(mesh_time at, uint32_t w, int why, int64_t nb, int64_t na,
			   uint32_t root)
{
	return (rec_cert_event){.at = at, .workload = w, .why = (uint8_t)why,
				.not_before_s = nb, .not_after_s = na, .root = root};
}

static void add_cert(rec *r, mesh_time at, uint32_t w, int why, int64_t nb, int64_t na,
		     uint32_t root)
{
	rec_cert_event e = cert(at, w, why, nb, na, root);
	rec_cert(r, &e);
}

/* Two certificate events alike, field by field (the struct has padding). */
static int cert_eq(const rec_cert_event *a, const rec_cert_event *b)
{
	return a->at == b->at && a->workload == b->workload && a->why == b->why &&
	       a->not_before_s == b->not_before_s && a->not_after_s == b->not_after_s &&
	       a->root == b->root;
}

static int certs_eq(const rec *a, const rec *b)
{
	if (a->ncerts != b->ncerts)
		return 0;
	for (uint32_t k = 0; k < a->ncerts; k++)
		if (!cert_eq(&a->certs[k], &b->certs[k]))
			return 0;
	return 1;
}

static char *report_of(const model *m, const rec *r)
{
	report_verdict *v = calloc(m->nobjectives + 1, sizeof *v);
	report_evaluate(m, r, v);
	char *s = report_json_string(m, r, m->seed, "sim", v);
	free(v);
	ck_assert_ptr_nonnull(s);
	return s;
}

static json_t *report_doc(const model *m, const rec *r)
{
	char *s = report_of(m, r);
	json_error_t je;
	json_t *j = json_loads(s, 0, &je);
	ck_assert_msg(j != NULL, "report does not parse: %s", je.text);
	free(s);
	return j;
}

/* A recorder of the mTLS model with a small story: front/0 calls back/0
 * over mTLS (full, then resumed), the load client batch sends plaintext
 * to back (STRICT: rejected at both ends), back/2 presents an expired
 * certificate that front/1 refuses; certificates issued at 0, renewed,
 * one expired, one foreign (a foreign root), one restored. */
static rec *story(const model *m)
{
	rec *r = rec_new(m);
	ck_assert_ptr_nonnull(r);
	rec_keep_seconds(r);
	for (uint32_t w = 0; w < NWORKLOADS; w++)
		if (w != W_BATCH)
			add_cert(r, 0, w, TLS_MESH_ISSUED, -60, 3540, 0);
	rec_tls_handshake(r, W_FRONT0, REC_TLS_OUTBOUND, 0);
	rec_tls_handshake(r, W_BACK0, REC_TLS_INBOUND, 0);
	for (int k = 0; k < 5; k++) {
		rec_tls_handshake(r, W_FRONT0, REC_TLS_OUTBOUND, 1);
		rec_tls_handshake(r, W_BACK0, REC_TLS_INBOUND, 1);
	}
	for (int k = 0; k < 3; k++) {
		rec_tls_plaintext(r, W_BATCH, REC_TLS_OUTBOUND);
		rec_tls_failure(r, W_BATCH, REC_TLS_OUTBOUND, REC_TLS_PLAINTEXT_REJECTED);
		rec_tls_failure(r, W_BACK0, REC_TLS_INBOUND, REC_TLS_PLAINTEXT_REJECTED);
	}
	add_cert(r, 5 * MESH_S, W_BACK2, TLS_MESH_EXPIRED_FAULT, -7200, -3600, 0);
	rec_tls_failure(r, W_FRONT1, REC_TLS_OUTBOUND, REC_TLS_EXPIRED);
	rec_tls_failure(r, W_BACK2, REC_TLS_INBOUND, REC_TLS_EXPIRED);
	add_cert(r, 8 * MESH_S, W_BACK2, TLS_MESH_RESTORED, -52, 3548, 0);
	add_cert(r, 9 * MESH_S, W_FRONT1, TLS_MESH_FOREIGN_FAULT, -51, 3549, REC_CERT_ROOT_FOREIGN);
	add_cert(r, 12 * MESH_S + 500 * MESH_MS, W_WEB, TLS_MESH_RENEWED, -48, 3552, 1);
	rec_finish(r, END);
	return r;
}

/* ---- names ---- */

START_TEST(test_names)
{
	static const char *const fails[] = {"expired", "unknown_ca", "identity_mismatch",
					    "plaintext_rejected", "no_client_cert", "other"};
	ck_assert_int_eq(REC_TLS_FAIL_COUNT, 6);
	for (int k = 0; k < REC_TLS_FAIL_COUNT; k++)
		ck_assert_str_eq(rec_tls_fail_name(k), fails[k]);
	ck_assert_str_eq(rec_tls_fail_name(REC_TLS_IDENTITY), "identity_mismatch");
	ck_assert_str_eq(rec_tls_fail_name(-1), "?");
	ck_assert_str_eq(rec_tls_fail_name(REC_TLS_FAIL_COUNT), "?");
	ck_assert_str_eq(rec_tls_side_name(REC_TLS_INBOUND), "inbound");
	ck_assert_str_eq(rec_tls_side_name(REC_TLS_OUTBOUND), "outbound");
	ck_assert_str_eq(rec_tls_side_name(REC_TLS_SIDES), "?");
	/* The recorder's table of whys follows tls_mesh.h's enum. */
	ck_assert_int_eq(REC_CERT_WHY_COUNT, TLS_MESH_WHY_COUNT);
	ck_assert_str_eq(rec_cert_why_name(TLS_MESH_ISSUED), "issued");
	ck_assert_str_eq(rec_cert_why_name(TLS_MESH_RENEWED), "renewed");
	ck_assert_str_eq(rec_cert_why_name(TLS_MESH_EXPIRED_FAULT), "expired");
	ck_assert_str_eq(rec_cert_why_name(TLS_MESH_FOREIGN_FAULT), "foreign");
	ck_assert_str_eq(rec_cert_why_name(TLS_MESH_RESTORED), "restored");
	ck_assert_str_eq(rec_cert_why_name(TLS_MESH_WHY_COUNT), "?");

	model *m = tu_load(SCENARIO);
	ck_assert_uint_eq(rec_tls_workloads(m), NWORKLOADS);
	static const char *const names[NWORKLOADS] = {
		"front/0", "front/1", "back/0", "back/1", "back/2", "client/web",
		"client/batch"};
	char buf[64];
	for (uint32_t w = 0; w < NWORKLOADS; w++) {
		rec_tls_workload_name(m, w, buf, sizeof buf);
		ck_assert_str_eq(buf, names[w]);
	}
	rec_tls_workload_name(m, NWORKLOADS, buf, sizeof buf);
	ck_assert_str_eq(buf, "?");
	rec_tls_workload_name(m, W_WEB, buf, 5);
	ck_assert_str_eq(buf, "clie");
	model_free(m);
}
END_TEST

/* ---- counters ---- */

START_TEST(test_counters)
{
	model *m = load_mtls();
	rec *r = rec_new(m);
	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq(r->tls_nworkloads, NWORKLOADS);
	ck_assert_ptr_nonnull(r->tls);
	rec_tls_handshake(r, W_FRONT0, REC_TLS_OUTBOUND, 0);
	rec_tls_handshake(r, W_FRONT0, REC_TLS_OUTBOUND, 1);
	rec_tls_handshake(r, W_FRONT0, REC_TLS_OUTBOUND, 1);
	rec_tls_handshake(r, W_BACK0, REC_TLS_INBOUND, 1);
	rec_tls_plaintext(r, W_BATCH, REC_TLS_OUTBOUND);
	rec_tls_plaintext(r, W_BACK2, REC_TLS_INBOUND);
	rec_tls_failure(r, W_BACK2, REC_TLS_INBOUND, REC_TLS_UNKNOWN_CA);
	rec_tls_failure(r, W_BACK2, REC_TLS_INBOUND, REC_TLS_UNKNOWN_CA);
	rec_tls_failure(r, W_WEB, REC_TLS_OUTBOUND, REC_TLS_NO_CERT);
	/* Out of range: nothing, and nothing breaks. */
	rec_tls_handshake(r, NWORKLOADS, REC_TLS_INBOUND, 0);
	rec_tls_plaintext(r, UINT32_MAX, REC_TLS_OUTBOUND);
	rec_tls_failure(r, NWORKLOADS + 3, REC_TLS_OUTBOUND, REC_TLS_OTHER);
	add_cert(r, 0, NWORKLOADS, TLS_MESH_ISSUED, 0, 1, 0);
	ck_assert_uint_eq(r->ncerts, 0);

	const rec_tls *t = rec_tls_row(r, W_FRONT0, REC_TLS_OUTBOUND);
	ck_assert_uint_eq(t->full, 1);
	ck_assert_uint_eq(t->resumed, 2);
	ck_assert_uint_eq(rec_tls_row(r, W_FRONT0, REC_TLS_INBOUND)->resumed, 0);
	ck_assert_uint_eq(rec_tls_row(r, W_BACK0, REC_TLS_INBOUND)->resumed, 1);
	ck_assert_uint_eq(rec_tls_row(r, W_BACK0, REC_TLS_INBOUND)->full, 0);
	ck_assert_uint_eq(rec_tls_row(r, W_BATCH, REC_TLS_OUTBOUND)->plaintext, 1);
	ck_assert_uint_eq(rec_tls_row(r, W_BACK2, REC_TLS_INBOUND)->plaintext, 1);
	ck_assert_uint_eq(rec_tls_row(r, W_BACK2, REC_TLS_INBOUND)->failed[REC_TLS_UNKNOWN_CA], 2);
	ck_assert_uint_eq(rec_tls_row(r, W_BACK2, REC_TLS_OUTBOUND)->failed[REC_TLS_UNKNOWN_CA], 0);
	ck_assert_uint_eq(rec_tls_row(r, W_WEB, REC_TLS_OUTBOUND)->failed[REC_TLS_NO_CERT], 1);
	ck_assert_ptr_null(rec_tls_row(r, NWORKLOADS, REC_TLS_INBOUND));
	ck_assert_ptr_null(rec_tls_row(r, 0, REC_TLS_SIDES));
	/* Nothing else moved: the sum of every counter is what was added. */
	uint64_t sum = 0;
	for (uint32_t k = 0; k < NWORKLOADS * REC_TLS_SIDES; k++) {
		sum += r->tls[k].full + r->tls[k].resumed + r->tls[k].plaintext;
		for (int q = 0; q < REC_TLS_FAIL_COUNT; q++)
			sum += r->tls[k].failed[q];
	}
	ck_assert_uint_eq(sum, 9);
	rec_free(r);
	free_model(m);
}
END_TEST

/* Without an "mtls" block nothing is allocated and every call is a
 * no-op. */
START_TEST(test_disabled_is_noop)
{
	model *m = tu_load(SCENARIO);
	rec *r = rec_new(m);
	ck_assert_ptr_nonnull(r);
	ck_assert_ptr_null(r->tls);
	ck_assert_uint_eq(r->tls_nworkloads, 0);
	rec_tls_handshake(r, 0, REC_TLS_INBOUND, 0);
	rec_tls_plaintext(r, 0, REC_TLS_OUTBOUND);
	rec_tls_failure(r, 0, REC_TLS_INBOUND, REC_TLS_EXPIRED);
	add_cert(r, 0, 0, TLS_MESH_ISSUED, 0, 1, 0);
	ck_assert_uint_eq(r->ncerts, 0);
	ck_assert_ptr_null(rec_tls_row(r, 0, REC_TLS_INBOUND));
	rec_free(r);
	model_free(m);
}
END_TEST

/* ---- the certificate timeline's order ---- */

START_TEST(test_sort_order)
{
	model *m = load_mtls();
	rec *r = rec_new(m);
	/* Recorded out of order (as several processes' merged logs or a
	 * host's timers at one instant can be); not_before_s tells equal
	 * keys apart, numbered in the order recorded. */
	add_cert(r, 2 * MESH_S, W_BACK0, TLS_MESH_RENEWED, 1, 0, 0);
	add_cert(r, 0, W_WEB, TLS_MESH_ISSUED, 2, 0, 0);
	add_cert(r, 2 * MESH_S, W_FRONT1, TLS_MESH_RESTORED, 3, 0, 0);
	add_cert(r, 2 * MESH_S, W_FRONT1, TLS_MESH_RENEWED, 4, 0, 0);
	add_cert(r, 0, W_FRONT0, TLS_MESH_ISSUED, 5, 0, 0);
	add_cert(r, 2 * MESH_S, W_BACK0, TLS_MESH_RENEWED, 6, 0, 0);
	add_cert(r, 1, W_FRONT0, TLS_MESH_EXPIRED_FAULT, 7, 0, 0);
	add_cert(r, 2 * MESH_S, W_FRONT1, TLS_MESH_RENEWED, 8, 0, 0);
	ck_assert_uint_eq(r->ncerts, 8);
	ck_assert_int_eq(r->certs[0].not_before_s, 1); /* as recorded until finished */
	rec_finish(r, END);
	static const int64_t want[8] = {5, 2, 7, 4, 8, 3, 1, 6};
	for (uint32_t k = 0; k < 8; k++)
		ck_assert_msg(r->certs[k].not_before_s == want[k],
			      "certificate %u: %lld, want %lld", k,
			      (long long)r->certs[k].not_before_s, (long long)want[k]);
	/* A long list in reverse comes out sorted, ties in recorded order. */
	rec *q = rec_new(m);
	for (uint32_t k = 0; k < 5000; k++)
		add_cert(q, (mesh_time)(5000 - k / 2) * MESH_MS, k % NWORKLOADS,
			 TLS_MESH_RENEWED, (int64_t)k, 0, 0);
	rec_finish(q, END);
	for (uint32_t k = 1; k < q->ncerts; k++) {
		const rec_cert_event *a = &q->certs[k - 1], *b = &q->certs[k];
		ck_assert(a->at < b->at || (a->at == b->at && (a->workload < b->workload ||
				(a->workload == b->workload && a->not_before_s < b->not_before_s))));
	}
	rec_free(q);
	rec_free(r);
	free_model(m);
}
END_TEST

/* ---- merging ---- */

START_TEST(test_merge)
{
	model *m = load_mtls();
	rec *a = rec_new(m), *b = rec_new(m), *d = rec_new(m);
	rec_keep_seconds(a);
	rec_keep_seconds(b);
	rec_tls_handshake(a, W_FRONT0, REC_TLS_OUTBOUND, 0);
	rec_tls_handshake(b, W_FRONT0, REC_TLS_OUTBOUND, 0);
	rec_tls_handshake(b, W_FRONT0, REC_TLS_OUTBOUND, 1);
	rec_tls_failure(a, W_BACK2, REC_TLS_INBOUND, REC_TLS_IDENTITY);
	rec_tls_failure(b, W_BACK2, REC_TLS_INBOUND, REC_TLS_IDENTITY);
	rec_tls_plaintext(b, W_BATCH, REC_TLS_OUTBOUND);
	add_cert(a, 3 * MESH_S, W_BACK0, TLS_MESH_RENEWED, 10, 0, 0);
	add_cert(a, 0, W_BACK0, TLS_MESH_ISSUED, 11, 0, 0);
	add_cert(b, 0, W_FRONT0, TLS_MESH_ISSUED, 12, 0, 0);
	add_cert(b, 3 * MESH_S, W_BACK0, TLS_MESH_RENEWED, 13, 0, 0);
	add_cert(b, 1 * MESH_S, W_FRONT0, TLS_MESH_FOREIGN_FAULT, 14, 0, REC_CERT_ROOT_FOREIGN);
	rec_finish(a, END);
	ck_assert_int_eq(rec_merge(d, a), 0);
	ck_assert_int_eq(rec_merge(d, b), 0); /* b still open: counts as it is */
	ck_assert_uint_eq(rec_tls_row(d, W_FRONT0, REC_TLS_OUTBOUND)->full, 2);
	ck_assert_uint_eq(rec_tls_row(d, W_FRONT0, REC_TLS_OUTBOUND)->resumed, 1);
	ck_assert_uint_eq(rec_tls_row(d, W_BACK2, REC_TLS_INBOUND)->failed[REC_TLS_IDENTITY], 2);
	ck_assert_uint_eq(rec_tls_row(d, W_BATCH, REC_TLS_OUTBOUND)->plaintext, 1);
	ck_assert_uint_eq(d->ncerts, 5);
	/* Sorted; at equal keys the recorder merged first comes first. */
	static const int64_t want[5] = {12, 11, 14, 10, 13};
	for (uint32_t k = 0; k < 5; k++)
		ck_assert_msg(d->certs[k].not_before_s == want[k], "certificate %u: %lld", k,
			      (long long)d->certs[k].not_before_s);
	ck_assert_uint_eq(d->certs[2].root, REC_CERT_ROOT_FOREIGN);
	/* The sources are untouched. */
	ck_assert_uint_eq(b->ncerts, 3);
	ck_assert_int_eq(b->certs[0].not_before_s, 12);
	ck_assert_uint_eq(rec_tls_row(a, W_FRONT0, REC_TLS_OUTBOUND)->full, 1);

	/* A recorder of the same scenario without mTLS is another shape. */
	model *plain = tu_load(SCENARIO);
	rec *p = rec_new(plain);
	rec_keep_seconds(p);
	ck_assert_int_eq(rec_merge(d, p), -1);
	ck_assert_int_eq(rec_merge(p, a), -1);
	ck_assert_uint_eq(d->ncerts, 5);
	rec_free(p);
	model_free(plain);
	rec_free(a);
	rec_free(b);
	rec_free(d);
	free_model(m);
}
END_TEST

/* ---- snapshots ---- */

static json_t *path_get(json_t *j, const char *path)
{
	char buf[256];
	snprintf(buf, sizeof buf, "%s", path);
	for (char *tok = strtok(buf, "."); tok && j; tok = strtok(NULL, "."))
		j = json_is_array(j) ? json_array_get(j, (size_t)atoi(tok))
				     : json_object_get(j, tok);
	ck_assert_msg(j != NULL, "test: no %s", path);
	return j;
}

static void expect_refused(rec *dst, const json_t *snap, void (*edit)(json_t *),
			   const char *want)
{
	json_t *c = json_deep_copy(snap);
	edit(c);
	char err[512] = "";
	uint32_t n = dst->ncerts;
	ck_assert_msg(rec_merge_snapshot(dst, c, err, sizeof err) == -1,
		      "a bad snapshot merged (wanted: %s)", want);
	ck_assert_msg(strstr(err, want) != NULL, "error \"%s\" does not say \"%s\"", err, want);
	ck_assert_uint_eq(dst->ncerts, n);
	json_decref(c);
}

static void s_why(json_t *j) { json_array_set_new(path_get(j, "mtls.certs.1"), 2, json_string("stolen")); }
static void s_workload(json_t *j) { json_array_set_new(path_get(j, "mtls.certs.0"), 1, json_integer(7)); }
static void s_short(json_t *j) { json_array_remove(path_get(j, "mtls.certs.0"), 5); }
static void s_side(json_t *j) { json_object_set_new(path_get(j, "mtls.tls.0"), "side", json_string("sideways")); }
static void s_reason(json_t *j) { json_object_set_new(path_get(j, "mtls.tls.0.failed"), "gremlins", json_integer(1)); }
static void s_twice(json_t *j)
{
	json_t *tls = path_get(j, "mtls.tls");
	json_array_append_new(tls, json_deep_copy(json_array_get(tls, 0)));
}
static void s_null(json_t *j) { json_object_set_new(j, "mtls", json_null()); }
static void s_nb(json_t *j) { json_array_set_new(path_get(j, "mtls.certs.0"), 3, json_real(0.5)); }

START_TEST(test_snapshot)
{
	model *m = load_mtls();
	rec *a = story(m);
	json_t *s = rec_snapshot(a, END);
	ck_assert_ptr_nonnull(s);
	json_t *mt = json_object_get(s, "mtls");
	ck_assert(json_is_object(mt));
	/* Only rows with something counted travel. */
	ck_assert_uint_eq(json_array_size(json_object_get(mt, "tls")), 5);
	ck_assert_uint_eq(json_array_size(json_object_get(mt, "certs")), a->ncerts);

	/* Through text and back: the same recorder, the same report. */
	char *text = json_dumps(s, JSON_COMPACT);
	json_t *back = json_loads(text, 0, NULL);
	ck_assert_ptr_nonnull(back);
	rec *d = rec_new(m);
	char err[512] = "";
	ck_assert_msg(rec_merge_snapshot(d, back, err, sizeof err) == 0, "%s", err);
	ck_assert(memcmp(d->tls, a->tls, NWORKLOADS * REC_TLS_SIDES * sizeof(rec_tls)) == 0);
	ck_assert_uint_eq(d->ncerts, a->ncerts);
	ck_assert(certs_eq(d, a));
	char *x = report_of(m, a), *y = report_of(m, d);
	ck_assert_str_eq(y, x);

	expect_refused(d, s, s_why, "mtls.certs[1]: expected why");
	expect_refused(d, s, s_workload, "mtls.certs[0]: no workload 7");
	expect_refused(d, s, s_short, "mtls.certs[0]: expected [at, workload, why");
	expect_refused(d, s, s_side, "mtls.tls[0].side: expected \"inbound\" or \"outbound\"");
	expect_refused(d, s, s_reason, "mtls.tls[0].failed.gremlins: unknown name");
	expect_refused(d, s, s_twice, "mtls.tls[5]: workload");
	expect_refused(d, s, s_null, "mtls: null, but this run's scenario has an \"mtls\" block");
	expect_refused(d, s, s_nb, "mtls.certs[0]: expected whole seconds");
	ck_assert_uint_eq(rec_tls_row(d, W_FRONT0, REC_TLS_OUTBOUND)->resumed, 5);

	/* A scenario without mTLS writes null, and refuses an object. */
	model *plain = tu_load(SCENARIO);
	rec *p = rec_new(plain);
	rec_keep_seconds(p);
	json_t *ps = rec_snapshot(p, END);
	ck_assert(json_is_null(json_object_get(ps, "mtls")));
	ck_assert_int_eq(rec_merge_snapshot(p, s, err, sizeof err), -1);
	ck_assert_msg(strstr(err, "mtls: expected null") != NULL, "%s", err);
	json_decref(ps);
	rec_free(p);
	model_free(plain);

	free(x);
	free(y);
	free(text);
	json_decref(back);
	json_decref(s);
	rec_free(d);
	rec_free(a);
	free_model(m);
}
END_TEST

/* ---- report.json ---- */

static const json_t *workload_of(const json_t *mt, const char *name)
{
	const json_t *wls = json_object_get(mt, "workloads");
	for (size_t i = 0; i < json_array_size(wls); i++)
		if (!strcmp(json_string_value(json_object_get(json_array_get(wls, i), "name")),
			    name))
			return json_array_get(wls, i);
	ck_abort_msg("no workload %s in the report", name);
	return NULL;
}

static json_int_t num(const json_t *o, const char *path)
{
	const json_t *v = path_get((json_t *)o, path);
	ck_assert_msg(json_is_integer(v), "%s is not an integer", path);
	return json_integer_value(v);
}

START_TEST(test_report_section)
{
	model *m = load_mtls();
	rec *a = story(m);
	json_t *j = report_doc(m, a);
	const json_t *mt = json_object_get(j, "mtls");
	ck_assert_msg(json_is_object(mt), "no mtls section");
	ck_assert_str_eq(json_string_value(json_object_get(mt, "trust_domain")), "example.org");
	ck_assert_str_eq(json_string_value(json_object_get(mt, "mode")), "PERMISSIVE");
	ck_assert_double_eq(json_real_value(json_object_get(mt, "cert_ttl_s")), 3600);
	ck_assert_str_eq(json_string_value(path_get((json_t *)mt, "services.1.mode")), "STRICT");
	ck_assert_str_eq(json_string_value(path_get((json_t *)mt, "services.1.name")), "back");
	ck_assert_int_eq(num(mt, "services.1.authz_denied"), 0);

	/* Totals per side. */
	ck_assert_int_eq(num(mt, "totals.outbound.full"), 1);
	ck_assert_int_eq(num(mt, "totals.outbound.resumed"), 5);
	ck_assert_int_eq(num(mt, "totals.outbound.plaintext"), 3);
	ck_assert_int_eq(num(mt, "totals.outbound.failures.plaintext_rejected"), 3);
	ck_assert_int_eq(num(mt, "totals.outbound.failures.expired"), 1);
	ck_assert_int_eq(num(mt, "totals.outbound.failed"), 4);
	ck_assert_int_eq(num(mt, "totals.inbound.failed"), 4);
	ck_assert_int_eq(num(mt, "totals.inbound.resumed"), 5);
	ck_assert_int_eq(num(mt, "totals.inbound.plaintext"), 0);

	/* Every workload, by name, with both sides. */
	ck_assert_uint_eq(json_array_size(json_object_get(mt, "workloads")), NWORKLOADS);
	const json_t *b0 = workload_of(mt, "back/0");
	ck_assert_str_eq(json_string_value(json_object_get(b0, "kind")), "service");
	ck_assert_int_eq(num(b0, "inbound.failures.plaintext_rejected"), 3);
	ck_assert_int_eq(num(b0, "inbound.full"), 1);
	ck_assert_int_eq(num(b0, "outbound.full"), 0);
	const json_t *batch = workload_of(mt, "client/batch");
	ck_assert_str_eq(json_string_value(json_object_get(batch, "kind")), "client");
	ck_assert(json_is_false(json_object_get(batch, "identity")));
	ck_assert(json_is_true(json_object_get(workload_of(mt, "client/web"), "identity")));
	ck_assert_int_eq(num(batch, "outbound.plaintext"), 3);

	/* The certificates: counts by why, and the timeline in order. */
	ck_assert_int_eq(num(mt, "certificates_total"), 10);
	ck_assert(json_is_false(json_object_get(mt, "certificates_truncated")));
	ck_assert_int_eq(num(mt, "certificates_by_why.issued"), 6);
	ck_assert_int_eq(num(mt, "certificates_by_why.renewed"), 1);
	ck_assert_int_eq(num(mt, "certificates_by_why.expired"), 1);
	ck_assert_int_eq(num(mt, "certificates_by_why.foreign"), 1);
	ck_assert_int_eq(num(mt, "certificates_by_why.restored"), 1);
	const json_t *certs = json_object_get(mt, "certificates");
	ck_assert_uint_eq(json_array_size(certs), 10);
	const json_t *c6 = json_array_get(certs, 6);
	ck_assert_str_eq(json_string_value(json_object_get(c6, "workload")), "back/2");
	ck_assert_str_eq(json_string_value(json_object_get(c6, "why")), "expired");
	ck_assert_double_eq(json_real_value(json_object_get(c6, "at_s")), 5);
	ck_assert_int_eq(num(c6, "not_before_s"), -7200);
	ck_assert_int_eq(num(c6, "not_after_s"), -3600);
	ck_assert_int_eq(num(c6, "root"), 0);
	const json_t *c8 = json_array_get(certs, 8);
	ck_assert_str_eq(json_string_value(json_object_get(c8, "why")), "foreign");
	ck_assert(json_is_null(json_object_get(c8, "root")));
	const json_t *c9 = json_array_get(certs, 9);
	ck_assert_str_eq(json_string_value(json_object_get(c9, "workload")), "client/web");
	ck_assert_double_eq(json_real_value(json_object_get(c9, "at_s")), 12.5);
	ck_assert_int_eq(num(c9, "root"), 1);
	json_decref(j);

	/* The same recorder's scenario without mTLS has no section at all. */
	model *plain = tu_load(SCENARIO);
	rec *p = rec_new(plain);
	rec_finish(p, END);
	char *s = report_of(plain, p);
	ck_assert_ptr_null(strstr(s, "\"mtls\""));
	ck_assert_ptr_null(strstr(s, "certificates"));
	free(s);
	rec_free(p);
	model_free(plain);
	rec_free(a);
	free_model(m);
}
END_TEST

/* The report lists the first 10000 certificates and counts them all. */
START_TEST(test_report_bounded)
{
	model *m = load_mtls();
	rec *r = rec_new(m);
	for (uint32_t k = 0; k < 10050; k++)
		add_cert(r, (mesh_time)k * MESH_MS, k % NWORKLOADS, TLS_MESH_RENEWED,
			 (int64_t)k, (int64_t)k + 60, 0);
	rec_finish(r, END);
	json_t *j = report_doc(m, r);
	const json_t *mt = json_object_get(j, "mtls");
	ck_assert_int_eq(num(mt, "certificates_total"), 10050);
	ck_assert_int_eq(num(mt, "certificates_by_why.renewed"), 10050);
	ck_assert(json_is_true(json_object_get(mt, "certificates_truncated")));
	const json_t *certs = json_object_get(mt, "certificates");
	ck_assert_uint_eq(json_array_size(certs), 10000);
	ck_assert_int_eq(num(json_array_get(certs, 9999), "not_before_s"), 9999);
	json_decref(j);
	rec_free(r);
	free_model(m);
}
END_TEST

/* ---- renderings ---- */

static char *text_of(const json_t *j)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	ck_assert_ptr_nonnull(f);
	render_text(j, f, 0);
	fclose(f);
	return buf;
}

static char *slurp(const char *path)
{
	FILE *f = fopen(path, "rb");
	ck_assert_msg(f != NULL, "cannot open %s", path);
	fseek(f, 0, SEEK_END);
	long n = ftell(f);
	fseek(f, 0, SEEK_SET);
	char *b = malloc((size_t)n + 1);
	ck_assert_uint_eq(fread(b, 1, (size_t)n, f), (size_t)n);
	b[n] = '\0';
	fclose(f);
	return b;
}

START_TEST(test_renderings)
{
	model *m = load_mtls();
	rec *a = story(m);
	json_t *j = report_doc(m, a);
	char *t = text_of(j);
	ck_assert_msg(strstr(t, "mTLS: trust domain example.org, mode PERMISSIVE\n"
				"  inbound modes apart: back STRICT\n"), "%s", t);
	ck_assert_msg(strstr(t, "handshakes: 1 full, 5 resumed; plaintext: 3 connections, "
				"3 rejected by STRICT"), "%s", t);
	ck_assert_msg(strstr(t, "failed: 4, servers' side 4; by reason: expired 1, "
				"plaintext 3\n"), "%s", t);
	ck_assert_msg(strstr(t, "certificates: 6 issued, 1 renewed, 2 faulty (expired 1, "
				"foreign 1), 1 restored"), "%s", t);
	/* Workload lines only where something failed. */
	ck_assert_msg(strstr(t, "back/0                   inbound        3 failed: "
				"plaintext 3"), "%s", t);
	ck_assert_msg(strstr(t, "front/1                  outbound       1 failed: expired 1"),
		      "%s", t);
	ck_assert_ptr_null(strstr(t, "front/0  "));
	ck_assert_ptr_null(strstr(t, "client/web"));
	for (char *l = t; (l = strchr(l, '\n')); l++) {
		char *e = strchr(l + 1, '\n');
		ck_assert_msg(!e || e - l - 1 <= 100, "a line over 100 columns: %.*s",
			      (int)(e - l), l + 1);
	}
	free(t);

	char dir[] = "/tmp/meshsim-rectls-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	char why[512] = "", err[512] = "", path[600];
	int rc = render_charts(j, dir, why, sizeof why);
	ck_assert_msg(rc >= 0, "charts: %s", why);
	ck_assert_int_eq(render_html(j, dir, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/report.html", dir);
	char *h = slurp(path);
	ck_assert_ptr_nonnull(strstr(h, "<section id=\"mtls\">"));
	ck_assert_ptr_nonnull(strstr(h, "id=\"chart-mtls-certs\""));
	ck_assert_ptr_nonnull(strstr(h, "<tr class=\"missed\"><td>back/0</td><td>inbound</td>"));
	ck_assert_ptr_nonnull(strstr(h, "example.org"));
	if (rc == 0) {
		/* gnuplot drew the timeline, and the page has it inline. */
		snprintf(path, sizeof path, "%s/charts/mtls-certs.svg", dir);
		ck_assert_int_eq(access(path, R_OK), 0);
		snprintf(path, sizeof path, "%s/charts/mtls-certs.dat", dir);
		char *d = slurp(path);
		ck_assert_ptr_nonnull(strstr(d, "\n4 5 -7200 -3600 13369344 8\n")); /* back/2, until restored */
		free(d);
		char *fig = strstr(h, "id=\"chart-mtls-certs\"><svg");
		ck_assert_msg(fig != NULL, "the timeline is not inline");
	}
	free(h);
	char cmd[700];
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
	ck_assert_int_eq(system(cmd), 0);
	json_decref(j);

	/* Without mTLS: no block in the summary, no section in the page. */
	model *plain = tu_load(SCENARIO);
	rec *p = rec_new(plain);
	rec_finish(p, END);
	json_t *pj = report_doc(plain, p);
	t = text_of(pj);
	ck_assert_ptr_null(strstr(t, "mTLS"));
	free(t);
	char dir2[] = "/tmp/meshsim-rectls-XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir2));
	ck_assert_int_eq(render_html(pj, dir2, err, sizeof err), 0);
	snprintf(path, sizeof path, "%s/report.html", dir2);
	h = slurp(path);
	ck_assert_ptr_null(strstr(h, "id=\"mtls\""));
	free(h);
	snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir2);
	ck_assert_int_eq(system(cmd), 0);
	json_decref(pj);
	rec_free(p);
	model_free(plain);
	rec_free(a);
	free_model(m);
}
END_TEST

Suite *rec_tls_suite(void)
{
	Suite *s = suite_create("rec_tls");
	TCase *tc = tcase_create("recorder");
	tcase_add_test(tc, test_names);
	tcase_add_test(tc, test_counters);
	tcase_add_test(tc, test_disabled_is_noop);
	tcase_add_test(tc, test_sort_order);
	tcase_add_test(tc, test_merge);
	tcase_add_test(tc, test_snapshot);
	suite_add_tcase(s, tc);
	tc = tcase_create("report");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_report_section);
	tcase_add_test(tc, test_report_bounded);
	tcase_add_test(tc, test_renderings);
	suite_add_tcase(s, tc);
	return s;
}
