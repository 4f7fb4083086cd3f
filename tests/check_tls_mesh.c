/* The mesh PKI (agents/tls_mesh.h): identities, the renewal schedule,
 * certificate faults and what they do to real handshakes (run in memory
 * by lh_tls_handshake_mem, checked as at the simulated time), and the CA
 * files live mode shares. Models are built by hand: a small mesh of
 *
 *   w 0, 1  front/0, front/1   ns shop, sa front
 *   w 2     back/0             ns default, sa back-sa
 *   w 3     client/load        principal cluster.local/ns/shop/sa/loader
 *   w 4     client/anon        no principal: outside the mesh
 *
 * with the faults each test adds. No test reads the clock.
 *
 * TLS_MESH_BENCH=1 adds a case that prints the CPU of one full and one
 * resumed in-memory handshake (the median of 50), the figures behind
 * MODEL_HANDSHAKE_FULL and MODEL_HANDSHAKE_RESUMED. */
#include <check.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <openssl/x509.h>

#include "live_http.h"
#include "model.h"
#include "rec.h"
#include "suites.h"
#include "tls_mesh.h"

#define H ((mesh_time)3600 * MESH_S)
#define MIN ((mesh_time)60 * MESH_S)
#define EPOCH_S (TLS_MESH_SIM_EPOCH_NS / 1000000000)

enum { W_FRONT0, W_FRONT1, W_BACK, W_LOAD, W_ANON, NW };
enum { S_FRONT, S_BACK };

#define ID_FRONT "spiffe://cluster.local/ns/shop/sa/front"
#define ID_BACK "spiffe://cluster.local/ns/default/sa/back-sa"
#define ID_LOAD "spiffe://cluster.local/ns/shop/sa/loader"

#define MAX_FAULTS 8
#define MAX_STRS 64

typedef struct fx {
	model m;
	model_service svc[2];
	model_version ver[2];
	model_client cl[2];
	model_fault faults[MAX_FAULTS];
	char *strs[MAX_STRS];
	int nstrs;
	rec *r;
	tls_mesh *t;
} fx;

static char err[1024];

static char *str(fx *f, const char *s)
{
	ck_assert_int_lt(f->nstrs, MAX_STRS);
	char *d = strdup(s);
	ck_assert_ptr_nonnull(d);
	f->strs[f->nstrs++] = d;
	return d;
}

static void service(fx *f, uint32_t i, const char *name, uint32_t replicas,
		    const char *ns, const char *sa)
{
	char p[256];
	model_service *s = &f->svc[i];
	model_version *v = &f->ver[i];
	v->name = str(f, "default");
	v->replicas = replicas;
	v->first = 0;
	s->name = str(f, name);
	s->versions = v;
	s->nversions = 1;
	s->replicas = replicas;
	s->ns = str(f, ns);
	s->service_account = str(f, sa);
	snprintf(p, sizeof p, "cluster.local/ns/%s/sa/%s", ns, sa);
	s->principal = str(f, p);
	s->mtls_mode = MTLS_UNSET;
}

static void fx_init(fx *f)
{
	memset(f, 0, sizeof *f);
	service(f, S_FRONT, "front", 2, "shop", "front");
	service(f, S_BACK, "back", 1, "default", "back-sa");
	f->cl[0].name = str(f, "load");
	f->cl[0].principal = str(f, "cluster.local/ns/shop/sa/loader");
	f->cl[0].ns = str(f, "shop");
	f->cl[1].name = str(f, "anon");
	f->m.name = str(f, "tls-mesh-test");
	f->m.seed = 42;
	f->m.services = f->svc;
	f->m.nservices = 2;
	f->m.clients = f->cl;
	f->m.nclients = 2;
	f->m.faults = f->faults;
	f->m.mtls.enabled = 1;
	f->m.mtls.trust_domain = str(f, "cluster.local");
	f->m.mtls.mode = MTLS_PERMISSIVE;
	f->m.mtls.cert_ttl = 24 * H;
	f->m.mtls.grace_ratio = 0.5;
	f->m.mtls.grace_jitter = 0.01;
	f->m.mtls.handshake_full = MODEL_HANDSHAKE_FULL;
	f->m.mtls.handshake_resumed = MODEL_HANDSHAKE_RESUMED;
}

/* Add a fault of kind on service svc (MODEL_ANY for mesh-wide ones);
 * returns its index. */
static uint32_t fault(fx *f, enum model_fault_kind kind, uint32_t svc,
		      mesh_time start, mesh_time end)
{
	ck_assert_uint_lt(f->m.nfaults, MAX_FAULTS);
	uint32_t i = f->m.nfaults++;
	model_fault *mf = &f->faults[i];
	mf->kind = kind;
	mf->start = start;
	mf->end = end;
	mf->label = str(f, "test fault");
	mf->service = svc;
	mf->version = MODEL_ANY;
	mf->instance = MODEL_ANY;
	mf->source = MODEL_ANY;
	mf->percent = 100;
	return i;
}

static void fx_start(fx *f, uint64_t seed, const char *dir)
{
	f->r = rec_new(&f->m);
	ck_assert_ptr_nonnull(f->r);
	f->t = tls_mesh_new(&f->m, seed, TLS_MESH_SIM_EPOCH_NS, dir, f->r, err,
			    sizeof err);
	ck_assert_msg(f->t != NULL, "tls_mesh_new: %s", err);
	for (uint32_t w = 0; w < NW; w++)
		if (tls_mesh_has_identity(f->t, w))
			ck_assert_msg(tls_mesh_start(f->t, w, 0, err, sizeof err) == 0,
				      "start %u: %s", w, err);
}

static void fx_free(fx *f)
{
	tls_mesh_free(f->t);
	rec_free(f->r);
	for (int i = 0; i < f->nstrs; i++)
		free(f->strs[i]);
}

/* One handshake from workload c to workload s at run time `now`, with the
 * checks the hosts make: the client expects s's SPIFFE ID, the server
 * wants the mesh's trust domain. */
static lh_tls_mem_result hs_at(tls_mesh *t, uint32_t c, uint32_t s,
			       mesh_time now, SSL_SESSION *resume)
{
	lh_tls_mem_result res;
	int64_t at = (TLS_MESH_SIM_EPOCH_NS + (int64_t)now) / 1000000000;
	ck_assert_ptr_nonnull(tls_mesh_client_ctx(t, c));
	ck_assert_ptr_nonnull(tls_mesh_server_ctx(t, s));
	ck_assert_int_eq(lh_tls_handshake_mem(tls_mesh_client_ctx(t, c),
					      tls_mesh_server_ctx(t, s),
					      tls_mesh_spiffe_id(t, s),
					      tls_mesh_trust_domain(t), at,
					      resume, &res), 0);
	return res;
}

/* A handshake that must succeed (the ticket freed). */
static void hs_ok(tls_mesh *t, uint32_t c, uint32_t s, mesh_time now)
{
	lh_tls_mem_result res = hs_at(t, c, s, now, NULL);
	ck_assert_msg(res.err == 0, "%u -> %u at %llus: %s (by %s)", c, s,
		      (unsigned long long)(now / MESH_S), lh_err_name(res.err),
		      res.by_server ? "server" : "client");
	SSL_SESSION_free(res.ticket);
}

/* A handshake that must fail with class e, refused by the server or not. */
static void hs_fail(tls_mesh *t, uint32_t c, uint32_t s, mesh_time now,
		    int e, int by_server)
{
	lh_tls_mem_result res = hs_at(t, c, s, now, NULL);
	ck_assert_msg(res.err == e && res.by_server == by_server,
		      "%u -> %u: %s by %s, wanted %s by %s", c, s,
		      res.err ? lh_err_name(res.err) : "success",
		      res.by_server ? "server" : "client", lh_err_name(e),
		      by_server ? "server" : "client");
	ck_assert_ptr_null(res.ticket);
	ck_assert_str_eq(res.client_id, "");
}

/* The last certificate event recorded for w. */
static const rec_cert_event *last_cert(const fx *f, uint32_t w)
{
	const rec_cert_event *e = NULL;
	for (uint32_t i = 0; i < f->r->ncerts; i++)
		if (f->r->certs[i].workload == w)
			e = &f->r->certs[i];
	ck_assert_ptr_nonnull(e);
	return e;
}

static void fault_on(fx *f, uint32_t i, int on, mesh_time now, uint8_t *ch)
{
	memset(ch, 0, NW);
	ck_assert_msg(tls_mesh_fault(f->t, i, on, now, 0, NW, ch, err,
				     sizeof err) == 0, "fault: %s", err);
}

START_TEST(test_identities)
{
	fx f;
	fx_init(&f);
	fx_start(&f, 42, NULL);
	tls_mesh *t = f.t;

	ck_assert_uint_eq(tls_mesh_workloads(t), NW);
	ck_assert_str_eq(tls_mesh_workload_name(t, W_FRONT1), "front/1");
	ck_assert_str_eq(tls_mesh_workload_name(t, W_BACK), "back/0");
	ck_assert_str_eq(tls_mesh_workload_name(t, W_LOAD), "client/load");
	ck_assert_str_eq(tls_mesh_workload_name(t, W_ANON), "client/anon");
	ck_assert_str_eq(tls_mesh_spiffe_id(t, W_FRONT0), ID_FRONT);
	ck_assert_str_eq(tls_mesh_spiffe_id(t, W_BACK), ID_BACK);
	ck_assert_str_eq(tls_mesh_spiffe_id(t, W_LOAD), ID_LOAD);
	ck_assert(!tls_mesh_has_identity(t, W_ANON));
	ck_assert_ptr_null(tls_mesh_spiffe_id(t, W_ANON));
	ck_assert_ptr_null(tls_mesh_client_ctx(t, W_ANON));
	ck_assert_uint_eq(tls_mesh_renew_at(t, W_ANON), MESH_NEVER);
	ck_assert_int_eq(tls_mesh_start(t, W_ANON, 0, err, sizeof err), -1);
	ck_assert_str_eq(tls_mesh_trust_domain(t), "cluster.local");
	/* One certificate each, issued at the start, valid from 2 minutes
	 * before (Istio's backdating) for 24 hours, from the mesh CA. */
	ck_assert_uint_eq(f.r->ncerts, 4);
	const rec_cert_event *e = last_cert(&f, W_LOAD);
	ck_assert_uint_eq(e->why, TLS_MESH_ISSUED);
	ck_assert_uint_eq(e->at, 0);
	ck_assert_int_eq(e->not_before_s, -120);
	ck_assert_int_eq(e->not_after_s, 86400);
	ck_assert_uint_eq(e->root, 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_handshake_and_resume)
{
	fx f;
	fx_init(&f);
	fx_start(&f, 42, NULL);
	tls_mesh *t = f.t;

	lh_tls_mem_result a = hs_at(t, W_FRONT0, W_BACK, MIN, NULL);
	ck_assert_int_eq(a.err, 0);
	ck_assert_int_eq(a.resumed, 0);
	ck_assert_str_eq(a.client_id, ID_FRONT);
	ck_assert_ptr_nonnull(a.ticket);
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m, a.client_id), 1 + S_FRONT);

	/* The ticket resumes: no certificates, the same identity. */
	lh_tls_mem_result b = hs_at(t, W_FRONT0, W_BACK, 2 * MIN, a.ticket);
	ck_assert_int_eq(b.err, 0);
	ck_assert_int_eq(b.resumed, 1);
	ck_assert_str_eq(b.client_id, ID_FRONT);
	ck_assert_ptr_nonnull(b.ticket);
	/* And so does the ticket of the resumption. */
	lh_tls_mem_result c = hs_at(t, W_FRONT0, W_BACK, 3 * MIN, b.ticket);
	ck_assert_int_eq(c.resumed, 1);
	SSL_SESSION_free(a.ticket);
	SSL_SESSION_free(b.ticket);
	SSL_SESSION_free(c.ticket);

	/* A load client with a principal talks mTLS too. */
	lh_tls_mem_result d = hs_at(t, W_LOAD, W_FRONT1, MIN, NULL);
	ck_assert_int_eq(d.err, 0);
	ck_assert_str_eq(d.client_id, ID_LOAD);
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m, d.client_id),
			  1 + f.m.nservices + 0);
	SSL_SESSION_free(d.ticket);

	/* The client checks the server's identity: back's certificate is
	 * not front's. */
	lh_tls_mem_result e;
	ck_assert_int_eq(lh_tls_handshake_mem(tls_mesh_client_ctx(t, W_LOAD),
					      tls_mesh_server_ctx(t, W_BACK),
					      ID_FRONT, NULL, EPOCH_S + 60, NULL,
					      &e), 0);
	ck_assert_int_eq(e.err, LH_ERR_TLS_IDENTITY);
	ck_assert_int_eq(e.by_server, 0);
	ck_assert_ptr_null(e.ticket);
	fx_free(&f);
}
END_TEST

START_TEST(test_renew_schedule)
{
	fx f, g, h;
	fx_init(&f);
	fx_init(&g);
	fx_init(&h);
	fx_start(&f, 42, NULL);
	fx_start(&g, 42, NULL);
	fx_start(&h, 43, NULL);
	/* Istio's defaults: 24 h certificates renewed at half their life,
	 * give or take 1% of it (14.4 minutes). */
	mesh_time lo = 12 * H - (mesh_time)864 * MESH_S;
	mesh_time hi = 12 * H + (mesh_time)864 * MESH_S;
	int differ = 0, jittered = 0;
	for (uint32_t w = 0; w < W_ANON; w++) {
		mesh_time a = tls_mesh_renew_at(f.t, w);
		ck_assert_msg(a >= lo && a <= hi, "w %u renews at %llu", w,
			      (unsigned long long)a);
		/* The same seed, the same schedule. */
		ck_assert_uint_eq(a, tls_mesh_renew_at(g.t, w));
		differ += a != tls_mesh_renew_at(h.t, w);
		jittered += a != 12 * H;
	}
	ck_assert_int_gt(differ, 0);
	ck_assert_int_gt(jittered, 0);
	fx_free(&f);
	fx_free(&g);
	fx_free(&h);

	/* Live mode's epoch falls anywhere within a second: the schedule
	 * is the same. */
	fx_init(&f);
	fx_start(&f, 42, NULL);
	tls_mesh *t2 = tls_mesh_new(&f.m, 42, TLS_MESH_SIM_EPOCH_NS + 567890123,
				    NULL, NULL, err, sizeof err);
	ck_assert_ptr_nonnull(t2);
	ck_assert_int_eq(tls_mesh_start(t2, W_BACK, 5 * MIN, err, sizeof err), 0);
	/* (f's back started at 0: compare the interval from the start.) */
	ck_assert_uint_eq(tls_mesh_renew_at(t2, W_BACK) - 5 * MIN,
			  tls_mesh_renew_at(f.t, W_BACK));
	tls_mesh_free(t2);
	fx_free(&f);

	/* Without jitter, exactly half of a 24 h life. */
	fx_init(&f);
	f.m.mtls.grace_jitter = 0;
	fx_start(&f, 42, NULL);
	ck_assert_uint_eq(tls_mesh_renew_at(f.t, W_BACK), 12 * H);
	fx_free(&f);
}
END_TEST

START_TEST(test_renewal)
{
	fx f;
	fx_init(&f);
	fx_start(&f, 42, NULL);
	tls_mesh *t = f.t;
	mesh_time at = tls_mesh_renew_at(t, W_BACK);

	/* Not before its time. */
	ck_assert_int_eq(tls_mesh_renew(t, W_BACK, at - 1, err, sizeof err), 0);
	ck_assert_uint_eq(f.r->ncerts, 4);
	SSL_CTX *old = tls_mesh_server_ctx(t, W_BACK);
	ck_assert_int_eq(SSL_CTX_up_ref(old), 1);
	ck_assert_int_eq(tls_mesh_renew(t, W_BACK, at, err, sizeof err), 1);
	ck_assert_ptr_ne(tls_mesh_server_ctx(t, W_BACK), old);
	const rec_cert_event *e = last_cert(&f, W_BACK);
	ck_assert_uint_eq(e->why, TLS_MESH_RENEWED);
	ck_assert_uint_eq(e->at, at);
	/* Backdated 2 minutes from the renewal, 24 hours from it. */
	ck_assert_int_eq(e->not_before_s, (int64_t)(at / MESH_S) - 120);
	ck_assert_int_eq(e->not_after_s, (int64_t)(at / MESH_S) + 86400);
	/* The next renewal, half the new life on. */
	mesh_time next = tls_mesh_renew_at(t, W_BACK);
	ck_assert_uint_ge(next, at + 12 * H - 15 * MIN);
	ck_assert_uint_le(next, at + 12 * H + 15 * MIN);

	/* Handshakes go on, with the new certificate and with the old
	 * context a connection kept; the old certificate would have expired
	 * by 24 h, the new one has not. */
	hs_ok(t, W_FRONT0, W_BACK, at + MIN);
	hs_ok(t, W_BACK, W_FRONT0, at + MIN);
	ck_assert_int_eq(tls_mesh_renew(t, W_FRONT0,
					tls_mesh_renew_at(t, W_FRONT0), err,
					sizeof err), 1);
	hs_ok(t, W_FRONT0, W_BACK, 24 * H + MIN);
	lh_tls_mem_result r;
	int64_t at_s = EPOCH_S + (int64_t)((at + MIN) / MESH_S);
	ck_assert_int_eq(lh_tls_handshake_mem(tls_mesh_client_ctx(t, W_FRONT0),
					      old, ID_BACK, "cluster.local",
					      at_s, NULL, &r), 0);
	ck_assert_int_eq(r.err, 0);
	SSL_SESSION_free(r.ticket);
	ck_assert_int_eq(lh_tls_handshake_mem(tls_mesh_client_ctx(t, W_FRONT0),
					      old, ID_BACK, "cluster.local",
					      EPOCH_S + 24 * 3600 + 60, NULL,
					      &r), 0);
	ck_assert_int_eq(r.err, LH_ERR_TLS_EXPIRED);
	SSL_CTX_free(old);
	fx_free(&f);
}
END_TEST

START_TEST(test_cert_expire)
{
	fx f;
	uint8_t ch[NW];
	fx_init(&f);
	uint32_t a = fault(&f, FAULT_CERT_EXPIRE, S_BACK, H, 2 * H);
	uint32_t b = fault(&f, FAULT_CERT_EXPIRE, S_BACK, H, 3 * H);
	fx_start(&f, 42, NULL);
	tls_mesh *t = f.t;

	fault_on(&f, a, 1, H, ch);
	ck_assert_int_eq(ch[W_BACK], 1);
	ck_assert_int_eq(ch[W_FRONT0] + ch[W_FRONT1] + ch[W_LOAD], 0);
	ck_assert_uint_eq(last_cert(&f, W_BACK)->why, TLS_MESH_EXPIRED_FAULT);
	ck_assert_int_lt(last_cert(&f, W_BACK)->not_after_s, 3600);
	/* No renewal would heal it while the fault lasts. */
	ck_assert_uint_eq(tls_mesh_renew_at(t, W_BACK), MESH_NEVER);
	/* The client refuses an expired server; the server refuses an
	 * expired client. */
	hs_fail(t, W_FRONT0, W_BACK, H + MIN, LH_ERR_TLS_EXPIRED, 0);
	hs_fail(t, W_BACK, W_FRONT0, H + MIN, LH_ERR_TLS_EXPIRED, 1);
	hs_ok(t, W_FRONT0, W_FRONT1, H + MIN);

	/* A second fault overlaps; the first ending leaves it expired. */
	fault_on(&f, b, 1, H, ch);
	ck_assert_int_eq(ch[W_BACK], 0);
	fault_on(&f, a, 0, 2 * H, ch);
	ck_assert_int_eq(ch[W_BACK], 0);
	hs_fail(t, W_FRONT0, W_BACK, 2 * H + MIN, LH_ERR_TLS_EXPIRED, 0);
	/* The last one ends: a fresh certificate and a new schedule. */
	fault_on(&f, b, 0, 3 * H, ch);
	ck_assert_int_eq(ch[W_BACK], 1);
	const rec_cert_event *e = last_cert(&f, W_BACK);
	ck_assert_uint_eq(e->why, TLS_MESH_RESTORED);
	ck_assert_int_eq(e->not_before_s, 3 * 3600 - 120);
	mesh_time next = tls_mesh_renew_at(t, W_BACK);
	ck_assert_uint_ge(next, 15 * H - 15 * MIN);
	ck_assert_uint_le(next, 15 * H + 15 * MIN);
	hs_ok(t, W_FRONT0, W_BACK, 3 * H + MIN);
	hs_ok(t, W_BACK, W_FRONT0, 3 * H + MIN);
	/* Other kinds' faults and repeated ends change nothing. */
	fault_on(&f, b, 0, 4 * H, ch);
	ck_assert_int_eq(ch[W_BACK], 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_cert_foreign)
{
	fx f;
	uint8_t ch[NW];
	fx_init(&f);
	uint32_t mesh = fault(&f, FAULT_CERT_FOREIGN, S_BACK, H, 2 * H);
	f.faults[mesh].foreign_domain = str(&f, "other.local");
	uint32_t root = fault(&f, FAULT_CERT_FOREIGN, S_BACK, 3 * H, 4 * H);
	f.faults[root].foreign_domain = str(&f, "evil.example");
	f.faults[root].foreign_root = 1;
	fx_start(&f, 42, NULL);
	tls_mesh *t = f.t;

	/* Signed by the mesh CA, another domain's identity: the client
	 * wants back's ID, the server wants cluster.local's domain. */
	fault_on(&f, mesh, 1, H, ch);
	ck_assert_int_eq(ch[W_BACK], 1);
	const rec_cert_event *e = last_cert(&f, W_BACK);
	ck_assert_uint_eq(e->why, TLS_MESH_FOREIGN_FAULT);
	ck_assert_uint_eq(e->root, 0);
	ck_assert_uint_eq(tls_mesh_renew_at(t, W_BACK), MESH_NEVER);
	hs_fail(t, W_FRONT0, W_BACK, H + MIN, LH_ERR_TLS_IDENTITY, 0);
	hs_fail(t, W_BACK, W_FRONT0, H + MIN, LH_ERR_TLS_IDENTITY, 1);
	/* Its identity maps to no caller. */
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m,
		"spiffe://other.local/ns/default/sa/back-sa"), 0);
	fault_on(&f, mesh, 0, 2 * H, ch);
	ck_assert_int_eq(ch[W_BACK], 1);
	ck_assert_uint_eq(last_cert(&f, W_BACK)->why, TLS_MESH_RESTORED);
	hs_ok(t, W_FRONT0, W_BACK, 2 * H + MIN);

	/* From a root no one trusts: an unknown CA, both ways. */
	fault_on(&f, root, 1, 3 * H, ch);
	ck_assert_int_eq(ch[W_BACK], 1);
	ck_assert_uint_eq(last_cert(&f, W_BACK)->root, UINT32_MAX);
	hs_fail(t, W_FRONT0, W_BACK, 3 * H + MIN, LH_ERR_TLS_UNKNOWN_CA, 0);
	hs_fail(t, W_BACK, W_FRONT0, 3 * H + MIN, LH_ERR_TLS_UNKNOWN_CA, 1);
	/* Both faults at once: the first in scenario order decides. */
	fault_on(&f, mesh, 1, 3 * H, ch);
	ck_assert_int_eq(ch[W_BACK], 1);
	hs_fail(t, W_FRONT0, W_BACK, 3 * H + MIN, LH_ERR_TLS_IDENTITY, 0);
	fault_on(&f, mesh, 0, 3 * H, ch);
	hs_fail(t, W_FRONT0, W_BACK, 3 * H + MIN, LH_ERR_TLS_UNKNOWN_CA, 0);
	fault_on(&f, root, 0, 4 * H, ch);
	ck_assert_int_eq(ch[W_BACK], 1);
	hs_ok(t, W_BACK, W_FRONT0, 4 * H + MIN);
	fx_free(&f);
}
END_TEST

/* A root rotation at 1 h: what old and new certificates make of each
 * other. */
static void rotation(int overlap)
{
	fx f;
	uint8_t ch[NW];
	fx_init(&f);
	fault(&f, FAULT_DELAY, S_BACK, 0, H); /* not a certificate fault */
	uint32_t rr = fault(&f, FAULT_ROOT_ROTATE, MODEL_ANY, H, MESH_NEVER);
	f.faults[rr].overlap = overlap;
	fx_start(&f, 42, NULL);
	tls_mesh *t = f.t;

	fault_on(&f, 0, 1, 0, ch);
	for (int w = 0; w < NW; w++)
		ck_assert_int_eq(ch[w], 0);
	hs_ok(t, W_FRONT0, W_BACK, MIN);
	fault_on(&f, rr, 1, H, ch);
	/* Every workload's contexts are new (the trust bundle), though no
	 * certificate is. */
	for (int w = 0; w < W_ANON; w++)
		ck_assert_int_eq(ch[w], 1);
	ck_assert_int_eq(ch[W_ANON], 0);
	ck_assert_uint_eq(f.r->ncerts, 4);
	/* Again, or its end: nothing more (a rotation is for good). */
	fault_on(&f, rr, 1, H, ch);
	ck_assert_int_eq(ch[W_BACK], 0);
	fault_on(&f, rr, 0, 2 * H, ch);
	ck_assert_int_eq(ch[W_BACK], 0);

	if (overlap)
		hs_ok(t, W_FRONT0, W_BACK, H + MIN);
	else /* old certificates, the new root only: the server's fails */
		hs_fail(t, W_FRONT0, W_BACK, H + MIN, LH_ERR_TLS_UNKNOWN_CA, 0);

	/* back renews from the new root. */
	mesh_time at = tls_mesh_renew_at(t, W_BACK);
	ck_assert_int_eq(tls_mesh_renew(t, W_BACK, at, err, sizeof err), 1);
	ck_assert_uint_eq(last_cert(&f, W_BACK)->root, 1);
	if (overlap) {
		hs_ok(t, W_FRONT0, W_BACK, at + MIN);
		hs_ok(t, W_BACK, W_FRONT0, at + MIN);
	} else {
		/* Each side refuses the other's old certificate. */
		hs_fail(t, W_FRONT0, W_BACK, at + MIN, LH_ERR_TLS_UNKNOWN_CA, 1);
		hs_fail(t, W_BACK, W_FRONT0, at + MIN, LH_ERR_TLS_UNKNOWN_CA, 0);
	}
	/* front/0 renews too: all is well again (13 h: after both
	 * renewals, whatever their jitter). */
	ck_assert_int_eq(tls_mesh_renew(t, W_FRONT0,
					tls_mesh_renew_at(t, W_FRONT0), err,
					sizeof err), 1);
	ck_assert_uint_eq(last_cert(&f, W_FRONT0)->root, 1);
	hs_ok(t, W_BACK, W_FRONT0, 13 * H);
	hs_ok(t, W_FRONT0, W_BACK, 13 * H);
	/* front/1 has not: only the overlap keeps it in. */
	if (overlap)
		hs_ok(t, W_FRONT1, W_BACK, 13 * H);
	else
		hs_fail(t, W_FRONT1, W_BACK, 13 * H, LH_ERR_TLS_UNKNOWN_CA, 1);
	fx_free(&f);
}

START_TEST(test_root_rotate_no_overlap)
{
	rotation(0);
}
END_TEST

START_TEST(test_root_rotate_overlap)
{
	rotation(1);
}
END_TEST

START_TEST(test_root_rotate_intermediate)
{
	/* The mesh CA is an intermediate; the new root signs directly. */
	fx f;
	uint8_t ch[NW];
	fx_init(&f);
	f.m.mtls.intermediate = 1;
	uint32_t rr = fault(&f, FAULT_ROOT_ROTATE, MODEL_ANY, H, MESH_NEVER);
	f.faults[rr].overlap = 1;
	fx_start(&f, 42, NULL);
	hs_ok(f.t, W_FRONT0, W_BACK, MIN);
	fault_on(&f, rr, 1, H, ch);
	ck_assert_int_eq(tls_mesh_renew(f.t, W_BACK,
					tls_mesh_renew_at(f.t, W_BACK), err,
					sizeof err), 1);
	hs_ok(f.t, W_FRONT0, W_BACK, 13 * H);
	hs_ok(f.t, W_BACK, W_FRONT0, 13 * H);
	fx_free(&f);
}
END_TEST

START_TEST(test_cert_no_rotate)
{
	fx f;
	uint8_t ch[NW];
	fx_init(&f);
	uint32_t nr = fault(&f, FAULT_CERT_NO_ROTATE, S_BACK, H, 30 * H);
	uint32_t brief = fault(&f, FAULT_CERT_NO_ROTATE, S_FRONT, H, 2 * H);
	fx_start(&f, 42, NULL);
	tls_mesh *t = f.t;
	mesh_time front_at = tls_mesh_renew_at(t, W_FRONT0);

	fault_on(&f, nr, 1, H, ch);
	fault_on(&f, brief, 1, H, ch);
	for (int w = 0; w < NW; w++)
		ck_assert_int_eq(ch[w], 0); /* nothing changes yet */
	ck_assert_uint_eq(tls_mesh_renew_at(t, W_BACK), MESH_NEVER);
	ck_assert_uint_eq(tls_mesh_renew_at(t, W_FRONT0), MESH_NEVER);
	ck_assert_int_eq(tls_mesh_renew(t, W_BACK, 13 * H, err, sizeof err), 0);
	/* Ended before the renewal was due: the schedule stands. */
	fault_on(&f, brief, 0, 2 * H, ch);
	ck_assert_int_eq(ch[W_FRONT0], 0);
	ck_assert_uint_eq(tls_mesh_renew_at(t, W_FRONT0), front_at);
	/* front/1 renews as usual, once the brief fault is over. */
	ck_assert_int_eq(tls_mesh_renew(t, W_FRONT1,
					tls_mesh_renew_at(t, W_FRONT1), err,
					sizeof err), 1);
	/* back's certificate runs out at 24 h. */
	hs_ok(t, W_FRONT0, W_BACK, 24 * H - MIN);
	hs_fail(t, W_FRONT0, W_BACK, 24 * H + MIN, LH_ERR_TLS_EXPIRED, 0);
	hs_fail(t, W_BACK, W_FRONT1, 24 * H + MIN, LH_ERR_TLS_EXPIRED, 1);
	/* The fault ends long overdue: a renewal at once. */
	uint32_t before = f.r->ncerts;
	fault_on(&f, nr, 0, 30 * H, ch);
	ck_assert_int_eq(ch[W_BACK], 1);
	ck_assert_uint_eq(f.r->ncerts, before + 1);
	ck_assert_uint_eq(last_cert(&f, W_BACK)->why, TLS_MESH_RENEWED);
	ck_assert_uint_eq(last_cert(&f, W_BACK)->at, 30 * H);
	ck_assert_uint_gt(tls_mesh_renew_at(t, W_BACK), 30 * H);
	/* front/0 renewed as usual meanwhile; all are current. */
	ck_assert_int_eq(tls_mesh_renew(t, W_FRONT0, 30 * H, err, sizeof err), 1);
	ck_assert_int_eq(tls_mesh_renew(t, W_FRONT1, 30 * H, err, sizeof err), 1);
	hs_ok(t, W_FRONT0, W_BACK, 30 * H + MIN);
	hs_ok(t, W_BACK, W_FRONT1, 30 * H + MIN);
	fx_free(&f);
}
END_TEST

START_TEST(test_modes)
{
	fx f;
	uint8_t ch[NW];
	fx_init(&f);
	f.svc[S_BACK].mtls_mode = MTLS_DISABLE;
	uint32_t st = fault(&f, FAULT_MTLS_STRICT, S_FRONT, H, 2 * H);
	fx_start(&f, 42, NULL);
	tls_mesh *t = f.t;

	/* Auto mTLS: a caller with an identity, a callee not DISABLE. */
	ck_assert_int_eq(tls_mesh_caller_tls(t, W_BACK, S_FRONT), 1);
	ck_assert_int_eq(tls_mesh_caller_tls(t, W_LOAD, S_FRONT), 1);
	ck_assert_int_eq(tls_mesh_caller_tls(t, W_FRONT0, S_BACK), 0);
	ck_assert_int_eq(tls_mesh_caller_tls(t, W_ANON, S_FRONT), 0);
	ck_assert_int_eq(tls_mesh_inbound_mode(t, W_FRONT0), MTLS_PERMISSIVE);
	ck_assert_int_eq(tls_mesh_inbound_mode(t, W_BACK), MTLS_DISABLE);
	ck_assert_int_eq(tls_mesh_inbound_mode(t, W_LOAD), MTLS_DISABLE);

	fault_on(&f, st, 1, H, ch);
	for (int w = 0; w < NW; w++)
		ck_assert_int_eq(ch[w], 0); /* no certificate changes */
	ck_assert_int_eq(tls_mesh_inbound_mode(t, W_FRONT0), MTLS_STRICT);
	ck_assert_int_eq(tls_mesh_inbound_mode(t, W_FRONT1), MTLS_STRICT);
	ck_assert_int_eq(tls_mesh_inbound_mode(t, W_BACK), MTLS_DISABLE);
	/* Callers keep their choice: that is the fault. */
	ck_assert_int_eq(tls_mesh_caller_tls(t, W_ANON, S_FRONT), 0);
	fault_on(&f, st, 0, 2 * H, ch);
	ck_assert_int_eq(tls_mesh_inbound_mode(t, W_FRONT0), MTLS_PERMISSIVE);

	/* The mesh-wide default applies to services left unset. */
	fx_free(&f);
	fx_init(&f);
	f.m.mtls.mode = MTLS_STRICT;
	f.svc[S_BACK].mtls_mode = MTLS_PERMISSIVE;
	fx_start(&f, 42, NULL);
	ck_assert_int_eq(tls_mesh_inbound_mode(f.t, W_FRONT1), MTLS_STRICT);
	ck_assert_int_eq(tls_mesh_inbound_mode(f.t, W_BACK), MTLS_PERMISSIVE);
	fx_free(&f);
}
END_TEST

START_TEST(test_src_of_id)
{
	fx f;
	fx_init(&f);
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m, ID_FRONT), 1 + S_FRONT);
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m, ID_BACK), 1 + S_BACK);
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m, ID_LOAD), 1 + 2 + 0);
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m, NULL), 0);
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m, ""), 0);
	/* The principal without the scheme is no SPIFFE ID. */
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m,
		"cluster.local/ns/shop/sa/front"), 0);
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m,
		"spiffe://cluster.local/ns/shop/sa/fron"), 0);
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m,
		"spiffe://cluster.local/ns/default/sa/front"), 0);
	/* A service and a client with one principal: the service. */
	f.cl[0].principal = f.svc[S_BACK].principal;
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m, ID_BACK), 1 + S_BACK);
	f.cl[0].principal = NULL;
	ck_assert_uint_eq(tls_mesh_src_of_id(&f.m, ID_LOAD), 0);
	fx_free(&f);
}
END_TEST

START_TEST(test_errors)
{
	fx f;
	fx_init(&f);
	f.cl[0].principal = str(&f, "loader");
	tls_mesh *t = tls_mesh_new(&f.m, 1, TLS_MESH_SIM_EPOCH_NS, NULL, NULL,
				   err, sizeof err);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(err, "clients.load.principal"));
	f.cl[0].principal = NULL;
	f.m.mtls.enabled = 0;
	t = tls_mesh_new(&f.m, 1, TLS_MESH_SIM_EPOCH_NS, NULL, NULL, err,
			 sizeof err);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(err, "mtls"));
	f.m.mtls.enabled = 1;
	t = tls_mesh_new(&f.m, 1, TLS_MESH_SIM_EPOCH_NS, "/nonexistent-dir",
			 NULL, err, sizeof err);
	ck_assert_ptr_null(t);
	ck_assert_ptr_nonnull(strstr(err, "/nonexistent-dir/mesh-ca.pem"));
	fx_free(&f);
}
END_TEST

static void rm_dir(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char p[4096];
	ck_assert_ptr_nonnull(d);
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static void check_mode(const char *dir, const char *name, mode_t want)
{
	char p[4096];
	struct stat sb;
	snprintf(p, sizeof p, "%s/%s", dir, name);
	ck_assert_msg(stat(p, &sb) == 0, "%s missing", p);
	ck_assert_msg((sb.st_mode & 0777) == want, "%s: mode %o", p,
		      (unsigned)(sb.st_mode & 0777));
}

/* One handshake between workload c of mesh a and workload s of mesh b. */
static int cross(tls_mesh *a, uint32_t c, tls_mesh *b, uint32_t s,
		 mesh_time now, int *by_server)
{
	lh_tls_mem_result res;
	int64_t at = (TLS_MESH_SIM_EPOCH_NS + (int64_t)now) / 1000000000;
	ck_assert_int_eq(lh_tls_handshake_mem(tls_mesh_client_ctx(a, c),
					      tls_mesh_server_ctx(b, s),
					      tls_mesh_spiffe_id(b, s),
					      tls_mesh_trust_domain(b), at,
					      NULL, &res), 0);
	SSL_SESSION_free(res.ticket);
	*by_server = res.by_server;
	return res.err;
}

START_TEST(test_write_load)
{
	fx f, g;
	uint8_t ch[NW];
	int by;
	char dir[] = "/tmp/check_tls_mesh.XXXXXX";
	ck_assert_ptr_nonnull(mkdtemp(dir));
	fx_init(&f);
	f.m.mtls.intermediate = 1;
	uint32_t rr = fault(&f, FAULT_ROOT_ROTATE, MODEL_ANY, H, MESH_NEVER);
	uint32_t fr = fault(&f, FAULT_CERT_FOREIGN, S_BACK, H, 2 * H);
	f.faults[fr].foreign_root = 1;
	fx_start(&f, 42, NULL);
	ck_assert_msg(tls_mesh_write(f.t, dir, err, sizeof err) == 0, "%s", err);
	check_mode(dir, "mesh-ca-key.pem", 0600);
	check_mode(dir, "root-0-key.pem", 0600);
	check_mode(dir, "foreign-1-key.pem", 0600);
	/* Another process's view: the same CAs from the files. */
	fx_init(&g);
	g.m.mtls.intermediate = 1;
	rr = fault(&g, FAULT_ROOT_ROTATE, MODEL_ANY, H, MESH_NEVER);
	fr = fault(&g, FAULT_CERT_FOREIGN, S_BACK, H, 2 * H);
	g.faults[fr].foreign_root = 1;
	fx_start(&g, 42, dir);
	/* The same schedule, too: it depends on the seed alone. */
	ck_assert_uint_eq(tls_mesh_renew_at(f.t, W_BACK),
			  tls_mesh_renew_at(g.t, W_BACK));
	ck_assert_int_eq(cross(f.t, W_FRONT0, g.t, W_BACK, MIN, &by), 0);
	ck_assert_int_eq(cross(g.t, W_BACK, f.t, W_FRONT0, MIN, &by), 0);

	/* Both rotate their root: the new one is the same in both. */
	fault_on(&f, rr, 1, H, ch);
	memset(ch, 0, sizeof ch);
	ck_assert_int_eq(tls_mesh_fault(g.t, rr, 1, H, 0, NW, ch, err,
					sizeof err), 0);
	ck_assert_int_eq(tls_mesh_renew(f.t, W_FRONT0,
					tls_mesh_renew_at(f.t, W_FRONT0), err,
					sizeof err), 1);
	ck_assert_int_eq(tls_mesh_renew(g.t, W_BACK,
					tls_mesh_renew_at(g.t, W_BACK), err,
					sizeof err), 1);
	ck_assert_int_eq(cross(f.t, W_FRONT0, g.t, W_BACK, 13 * H, &by), 0);
	ck_assert_int_eq(cross(g.t, W_BACK, f.t, W_FRONT0, 13 * H, &by), 0);
	/* The foreign root is shared and trusted by neither. */
	ck_assert_int_eq(tls_mesh_fault(g.t, fr, 1, 13 * H, 0, NW, ch, err,
					sizeof err), 0);
	ck_assert_int_eq(cross(f.t, W_FRONT0, g.t, W_BACK, 13 * H, &by),
			 LH_ERR_TLS_UNKNOWN_CA);
	ck_assert_int_eq(by, 0);
	fx_free(&f);
	fx_free(&g);
	rm_dir(dir);
}
END_TEST

START_TEST(test_plugin_ca)
{
	/* A plug-in CA from files (istiod's cacerts): written by one mesh,
	 * named in another's model. */
	fx f, g;
	char dir[] = "/tmp/check_tls_mesh.XXXXXX", p[4][4200];
	ck_assert_ptr_nonnull(mkdtemp(dir));
	fx_init(&f);
	f.m.mtls.intermediate = 1;
	fx_start(&f, 42, NULL);
	ck_assert_int_eq(tls_mesh_write(f.t, dir, err, sizeof err), 0);
	fx_init(&g);
	snprintf(p[0], sizeof p[0], "%s/mesh-ca.pem", dir);
	snprintf(p[1], sizeof p[1], "%s/mesh-ca-key.pem", dir);
	snprintf(p[2], sizeof p[2], "%s/mesh-root.pem", dir);
	g.m.mtls.ca_cert = p[0];
	g.m.mtls.ca_key = p[1];
	g.m.mtls.ca_root = p[2];
	fx_start(&g, 7, NULL);
	int by;
	ck_assert_int_eq(cross(f.t, W_LOAD, g.t, W_FRONT1, MIN, &by), 0);
	ck_assert_int_eq(cross(g.t, W_BACK, f.t, W_FRONT1, MIN, &by), 0);
	fx_free(&f);
	fx_free(&g);
	rm_dir(dir);
}
END_TEST

/* ---- the cost of a handshake (TLS_MESH_BENCH=1) ---- */

static double cpu_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

START_TEST(bench_handshake_cpu)
{
	enum { N = 50 };
	double full[N], resumed[N];
	fx f;
	fx_init(&f);
	fx_start(&f, 42, NULL);
	for (int i = 0; i < N; i++) {
		double t0 = cpu_us();
		lh_tls_mem_result a = hs_at(f.t, W_FRONT0, W_BACK, MIN, NULL);
		double t1 = cpu_us();
		lh_tls_mem_result b = hs_at(f.t, W_FRONT0, W_BACK, MIN, a.ticket);
		double t2 = cpu_us();
		ck_assert(a.err == 0 && b.err == 0 && b.resumed);
		full[i] = t1 - t0;
		resumed[i] = t2 - t1;
		SSL_SESSION_free(a.ticket);
		SSL_SESSION_free(b.ticket);
	}
	qsort(full, N, sizeof full[0], cmp_double);
	qsort(resumed, N, sizeof resumed[0], cmp_double);
	printf("lh_tls_handshake_mem CPU, median of %d (both sides): full %.0f us,"
	       " resumed %.0f us (min %.0f / %.0f, max %.0f / %.0f)\n", N,
	       full[N / 2], resumed[N / 2], full[0], resumed[0], full[N - 1],
	       resumed[N - 1]);
	fx_free(&f);
}
END_TEST

Suite *tls_mesh_suite(void)
{
	Suite *s = suite_create("tls_mesh");
	TCase *tc = tcase_create("tls_mesh");
	/* Each test makes tens of P-256 keys and handshakes: seconds under
	 * valgrind or the sanitizers. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_identities);
	tcase_add_test(tc, test_handshake_and_resume);
	tcase_add_test(tc, test_renew_schedule);
	tcase_add_test(tc, test_renewal);
	tcase_add_test(tc, test_cert_expire);
	tcase_add_test(tc, test_cert_foreign);
	tcase_add_test(tc, test_root_rotate_no_overlap);
	tcase_add_test(tc, test_root_rotate_overlap);
	tcase_add_test(tc, test_root_rotate_intermediate);
	tcase_add_test(tc, test_cert_no_rotate);
	tcase_add_test(tc, test_modes);
	tcase_add_test(tc, test_src_of_id);
	tcase_add_test(tc, test_errors);
	tcase_add_test(tc, test_write_load);
	tcase_add_test(tc, test_plugin_ca);
	suite_add_tcase(s, tc);
	if (getenv("TLS_MESH_BENCH")) {
		TCase *b = tcase_create("bench");
		tcase_set_timeout(b, 120);
		tcase_add_test(b, bench_handshake_cpu);
		suite_add_tcase(s, b);
	}
	return s;
}
