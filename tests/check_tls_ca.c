/* The built-in CA: what it issues, how peers are verified and classified,
 * when certificates rotate, and how keys reach the disk. All in the
 * caller's time: no test reads the clock. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include "suites.h"
#include "tls_ca.h"

/* 2026-01-01T00:00:00Z: the runs' "now". The root is made a day before,
 * so that the leaves' backdated notBefore is inside the root's life. */
#define T ((int64_t)1767225600)
#define T0 (T - 86400)
#define DAY ((int64_t)86400)

static char err[1024];

static tls_ca *root_at(const char *td, int64_t now)
{
	tls_ca_opts o;
	tls_ca_opts_init(&o);
	o.trust_domain = td;
	tls_ca *ca = tls_ca_new_root(&o, now, err, sizeof err);
	ck_assert_msg(ca != NULL, "root: %s", err);
	return ca;
}

static tls_ca *inter(const tls_ca *parent, int64_t now)
{
	tls_ca *ca = tls_ca_new_intermediate(parent, now, 0, err, sizeof err);
	ck_assert_msg(ca != NULL, "intermediate: %s", err);
	return ca;
}

static tls_ca_cert *issue(const tls_ca *ca, const char *sa, int64_t now)
{
	tls_ca_cert *c = tls_ca_issue_workload(ca, NULL, sa, now, err, sizeof err);
	ck_assert_msg(c != NULL, "issue: %s", err);
	return c;
}

static X509_STORE *store_of(X509 *a, X509 *b)
{
	X509 *roots[2] = { a, b };
	X509_STORE *s = tls_ca_store_new(roots, b ? 2 : 1, err, sizeof err);
	ck_assert_msg(s != NULL, "store: %s", err);
	return s;
}

static tls_ca_verdict verify(X509_STORE *s, const tls_ca_cert *c, int64_t at,
	const tls_ca_policy *p)
{
	return tls_ca_verify(s, tls_ca_cert_x509(c), tls_ca_cert_chain(c), at, p,
		NULL, 0, err, sizeof err);
}

/* The time an ASN1_TIME names, compared exactly with a Unix time. */
static void ck_time_is(const ASN1_TIME *t, int64_t want)
{
	ASN1_TIME *w = ASN1_TIME_set(NULL, (time_t)want);
	ck_assert_ptr_nonnull(w);
	ck_assert_int_eq(ASN1_TIME_compare(t, w), 0);
	ASN1_TIME_free(w);
}

static int is_p256(EVP_PKEY *k)
{
	char name[64];
	size_t len = 0;
	return EVP_PKEY_get_base_id(k) == EVP_PKEY_EC &&
		EVP_PKEY_get_group_name(k, name, sizeof name, &len) == 1 &&
		!strcmp(name, "prime256v1");
}

START_TEST(test_root)
{
	tls_ca *r = root_at(NULL, T0);
	X509 *x = tls_ca_x509(r);
	ck_assert_ptr_eq(tls_ca_root(r), x);
	ck_assert_int_eq(sk_X509_num(tls_ca_chain(r)), 0);
	ck_assert_str_eq(tls_ca_trust_domain(r), "cluster.local");
	ck_assert_int_eq(X509_self_signed(x, 1), 1);
	ck_assert_int_eq(X509_check_ca(x), 1);
	ck_assert(X509_get_key_usage(x) == (KU_KEY_CERT_SIGN | KU_CRL_SIGN));
	ck_assert(is_p256(tls_ca_key(r)));
	/* Istio's self-signed root: not backdated, ten years. */
	ck_time_is(X509_get0_notBefore(x), T0);
	ck_time_is(X509_get0_notAfter(x), T0 + 3650 * DAY);
	ck_assert_ptr_nonnull(X509_get0_subject_key_id(x));
	X509_NAME *n = X509_get_subject_name(x);
	char o[64];
	ck_assert_int_gt(X509_NAME_get_text_by_NID(n, NID_organizationName, o, sizeof o), 0);
	ck_assert_str_eq(o, "cluster.local");
	tls_ca_free(r);
}
END_TEST

START_TEST(test_intermediate)
{
	tls_ca *r = root_at(NULL, T0);
	tls_ca *i = inter(r, T0);
	X509 *x = tls_ca_x509(i);
	ck_assert_ptr_eq(tls_ca_root(i), tls_ca_x509(r));
	ck_assert_int_eq(sk_X509_num(tls_ca_chain(i)), 0); /* directly under the root */
	ck_assert_int_eq(X509_check_ca(x), 1);
	ck_assert_int_eq(X509_get_pathlen(x), 0);
	ck_assert_int_eq(X509_check_issued(tls_ca_x509(r), x), X509_V_OK);
	ck_time_is(X509_get0_notBefore(x), T0 - 120);
	ck_time_is(X509_get0_notAfter(x), T0 + 365 * DAY);
	ck_assert(is_p256(tls_ca_key(i)));
	/* A second level: its chain holds the first intermediate. */
	tls_ca *i2 = inter(i, T0);
	ck_assert_int_eq(sk_X509_num(tls_ca_chain(i2)), 1);
	ck_assert_ptr_eq(sk_X509_value(tls_ca_chain(i2), 0), x);
	/* The parent may go first. */
	tls_ca_free(r);
	tls_ca_free(i);
	tls_ca_cert *c = issue(i2, "deep", T);
	ck_assert_int_eq(sk_X509_num(tls_ca_cert_chain(c)), 2);
	tls_ca_cert_free(c);
	tls_ca_free(i2);
}
END_TEST

START_TEST(test_workload)
{
	tls_ca *r = root_at(NULL, T0);
	tls_ca *i = inter(r, T0);
	tls_ca_cert *c = issue(i, "reviews", T);
	X509 *x = tls_ca_cert_x509(c);
	ck_assert_str_eq(tls_ca_cert_id(c), "spiffe://cluster.local/ns/default/sa/reviews");
	/* No subject; the identity is in a critical URI SAN. */
	ck_assert_int_eq(X509_NAME_entry_count(X509_get_subject_name(x)), 0);
	int at = X509_get_ext_by_NID(x, NID_subject_alt_name, -1);
	ck_assert_int_ge(at, 0);
	ck_assert_int_eq(X509_EXTENSION_get_critical(X509_get_ext(x, at)), 1);
	char id[TLS_CA_ID_MAX];
	ck_assert_int_eq(tls_ca_peer_id(x, id, sizeof id), 0);
	ck_assert_str_eq(id, tls_ca_cert_id(c));
	/* Usages, not a CA, key identifiers linking it to its issuer. */
	ck_assert(X509_get_key_usage(x) == (KU_DIGITAL_SIGNATURE | KU_KEY_ENCIPHERMENT));
	ck_assert(X509_get_extended_key_usage(x) == (XKU_SSL_SERVER | XKU_SSL_CLIENT));
	ck_assert_int_eq(X509_check_ca(x), 0);
	ck_assert_int_ge(X509_get_ext_by_NID(x, NID_basic_constraints, -1), 0);
	ck_assert_ptr_nonnull(X509_get0_subject_key_id(x));
	ck_assert_int_eq(ASN1_OCTET_STRING_cmp(X509_get0_authority_key_id(x),
		X509_get0_subject_key_id(tls_ca_x509(i))), 0);
	/* Lifetime: backdated 2 minutes, 24h from issue. */
	ck_time_is(X509_get0_notBefore(x), T - 120);
	ck_time_is(X509_get0_notAfter(x), T + DAY);
	ck_assert_int_eq(tls_ca_cert_issued_at(c), T);
	ck_assert_int_eq(tls_ca_cert_not_before(c), T - 120);
	ck_assert_int_eq(tls_ca_cert_not_after(c), T + DAY);
	/* Its own P-256 key; the chain is the intermediate (not the root). */
	ck_assert(is_p256(tls_ca_cert_key(c)));
	ck_assert_int_eq(X509_check_private_key(x, tls_ca_cert_key(c)), 1);
	ck_assert_int_eq(sk_X509_num(tls_ca_cert_chain(c)), 1);
	ck_assert_ptr_eq(sk_X509_value(tls_ca_cert_chain(c), 0), tls_ca_x509(i));
	/* A positive serial of at most 128 bits. */
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	ck_assert_ptr_nonnull(bn);
	ck_assert(!BN_is_negative(bn) && !BN_is_zero(bn));
	ck_assert_int_le(BN_num_bits(bn), 128);
	BN_free(bn);
	/* Issued by a root directly: no chain to send. */
	tls_ca_cert *d = issue(r, "ratings", T);
	ck_assert_int_eq(sk_X509_num(tls_ca_cert_chain(d)), 0);
	tls_ca_cert_free(d);
	tls_ca_cert_free(c);
	tls_ca_free(i);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_request_options)
{
	tls_ca *r = root_at("corp.example", T0);
	tls_ca_req q;
	tls_ca_req_init(&q, "shop", "cart");
	q.ttl_s = 3600;
	tls_ca_cert *c = tls_ca_issue(r, &q, T, err, sizeof err);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_str_eq(tls_ca_cert_id(c), "spiffe://corp.example/ns/shop/sa/cart");
	ck_assert_int_eq(tls_ca_cert_not_after(c), T + 3600);
	tls_ca_cert_free(c);
	/* An explicit window. */
	q.window = 1;
	q.not_before = T + 100;
	q.not_after = T + 200;
	c = tls_ca_issue(r, &q, T, err, sizeof err);
	ck_assert_msg(c != NULL, "%s", err);
	ck_time_is(X509_get0_notBefore(tls_ca_cert_x509(c)), T + 100);
	ck_time_is(X509_get0_notAfter(tls_ca_cert_x509(c)), T + 200);
	tls_ca_cert_free(c);
	/* Bad requests fail with a message and leave no OpenSSL errors. */
	q.not_after = T;
	ck_assert_ptr_null(tls_ca_issue(r, &q, T, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "notAfter before notBefore"));
	tls_ca_req_init(&q, NULL, "a/b");
	ck_assert_ptr_null(tls_ca_issue(r, &q, T, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "service account \"a/b\""));
	tls_ca_req_init(&q, NULL, NULL);
	ck_assert_ptr_null(tls_ca_issue(r, &q, T, err, sizeof err));
	tls_ca_req_init(&q, "..", "x");
	ck_assert_ptr_null(tls_ca_issue(r, &q, T, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "namespace"));
	ck_assert_uint_eq(ERR_peek_error(), 0);
	/* Bad options. */
	tls_ca_opts o;
	tls_ca_opts_init(&o);
	o.trust_domain = "Cluster.Local";
	ck_assert_ptr_null(tls_ca_new_root(&o, T0, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "trust domain"));
	tls_ca_opts_init(&o);
	o.workload_ttl_s = 0;
	ck_assert_ptr_null(tls_ca_new_root(&o, T0, err, sizeof err));
	tls_ca_free(r);
}
END_TEST

START_TEST(test_extra_sans)
{
	tls_ca *r = root_at("cluster.local", T0);
	static const char *const dns[] = { "web.default.svc", "localhost" };
	static const char *const ips[] = { "127.10.0.1", "::1" };
	tls_ca_req q;
	tls_ca_req_init(&q, NULL, "web");
	q.dns = dns;
	q.n_dns = 2;
	q.ips = ips;
	q.n_ips = 2;
	tls_ca_cert *c = tls_ca_issue(r, &q, T, err, sizeof err);
	ck_assert_msg(c != NULL, "%s", err);
	X509 *x = tls_ca_cert_x509(c);
	/* The SPIFFE ID is still the one URI, and a host-name check (what
	 * curl does) finds the other names. */
	char id[TLS_CA_ID_MAX];
	ck_assert_int_eq(tls_ca_peer_id(x, id, sizeof id), 0);
	ck_assert_str_eq(id, "spiffe://cluster.local/ns/default/sa/web");
	ck_assert_int_eq(X509_check_host(x, "web.default.svc", 0, 0, NULL), 1);
	ck_assert_int_eq(X509_check_host(x, "other.svc", 0, 0, NULL), 0);
	ck_assert_int_eq(X509_check_ip_asc(x, "127.10.0.1", 0), 1);
	ck_assert_int_eq(X509_check_ip_asc(x, "::1", 0), 1);
	ck_assert_int_eq(X509_check_ip_asc(x, "127.0.0.1", 0), 0);
	X509_STORE *st = store_of(tls_ca_root(r), NULL);
	ck_assert_int_eq(tls_ca_verify(st, x, tls_ca_cert_chain(c), T, NULL,
		NULL, 0, err, sizeof err), TLS_CA_OK);
	X509_STORE_free(st);
	tls_ca_cert_free(c);
	/* Bad names fail with a message, and no OpenSSL errors are left. */
	static const char *const bad_dns[] = { "a..b" };
	static const char *const bad_ip[] = { "300.1.1.1" };
	tls_ca_req_init(&q, NULL, "web");
	q.dns = bad_dns;
	q.n_dns = 1;
	ck_assert_ptr_null(tls_ca_issue(r, &q, T, err, sizeof err));
	ck_assert_msg(strstr(err, "DNS name \"a..b\"") != NULL, "%s", err);
	tls_ca_req_init(&q, NULL, "web");
	q.ips = bad_ip;
	q.n_ips = 1;
	ck_assert_ptr_null(tls_ca_issue(r, &q, T, err, sizeof err));
	ck_assert_msg(strstr(err, "IP address \"300.1.1.1\"") != NULL, "%s", err);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_spiffe_id)
{
	char id[TLS_CA_ID_MAX];
	ck_assert_int_eq(tls_ca_spiffe_id(id, sizeof id, NULL, NULL, "web", err, sizeof err), 0);
	ck_assert_str_eq(id, "spiffe://cluster.local/ns/default/sa/web");
	ck_assert_int_eq(tls_ca_spiffe_id(id, sizeof id, "other.local", "prod", "web-v2",
		err, sizeof err), 0);
	ck_assert_str_eq(id, "spiffe://other.local/ns/prod/sa/web-v2");
	char small[16];
	ck_assert_int_eq(tls_ca_spiffe_id(small, sizeof small, NULL, NULL, "web", err,
		sizeof err), -1);
	ck_assert_int_eq(tls_ca_spiffe_id(id, sizeof id, "a/b", NULL, "web", err, sizeof err), -1);
	ck_assert_int_eq(tls_ca_spiffe_id(id, sizeof id, NULL, "", "web", err, sizeof err), -1);

	/* Extraction: none from a CA certificate, none into a small buffer. */
	tls_ca *r = root_at(NULL, T0);
	ck_assert_int_eq(tls_ca_peer_id(tls_ca_x509(r), id, sizeof id), -1);
	tls_ca_cert *c = issue(r, "web", T);
	ck_assert_int_eq(tls_ca_peer_id(tls_ca_cert_x509(c), small, sizeof small), -1);
	ck_assert_int_eq(tls_ca_peer_id(tls_ca_cert_x509(c), id, sizeof id), 0);
	ck_assert_str_eq(id, "spiffe://cluster.local/ns/default/sa/web");
	ck_assert_uint_eq(ERR_peek_error(), 0);
	tls_ca_cert_free(c);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_verify_times)
{
	tls_ca *r = root_at(NULL, T0);
	tls_ca *i = inter(r, T0);
	tls_ca_cert *c = issue(i, "web", T);
	X509_STORE *s = store_of(tls_ca_root(r), NULL);
	char id[TLS_CA_ID_MAX];

	ck_assert_int_eq(tls_ca_verify(s, tls_ca_cert_x509(c), tls_ca_cert_chain(c), T,
		NULL, id, sizeof id, err, sizeof err), TLS_CA_OK);
	ck_assert_str_eq(id, "spiffe://cluster.local/ns/default/sa/web");
	/* Valid over [notBefore, notAfter): OpenSSL counts a certificate
	 * expired at its notAfter second (RFC 5280 would still accept it). */
	ck_assert_int_eq(verify(s, c, T - 120, NULL), TLS_CA_OK);
	ck_assert_int_eq(verify(s, c, T + DAY - 1, NULL), TLS_CA_OK);
	ck_assert_int_eq(verify(s, c, T + DAY, NULL), TLS_CA_EXPIRED);
	ck_assert_int_eq(verify(s, c, T + DAY + 1, NULL), TLS_CA_EXPIRED);
	ck_assert_ptr_nonnull(strstr(err, "certificate has expired"));
	ck_assert_int_eq(verify(s, c, T + 30 * DAY, NULL), TLS_CA_EXPIRED);
	ck_assert_int_eq(verify(s, c, T - 121, NULL), TLS_CA_EXPIRED);
	ck_assert_ptr_nonnull(strstr(err, "not yet valid"));
	/* Before the root itself exists: not yet valid too. */
	ck_assert_int_eq(verify(s, c, T0 - 1, NULL), TLS_CA_EXPIRED);
	/* After the intermediate expires, the leaf's chain has expired. */
	tls_ca_req q;
	tls_ca_req_init(&q, NULL, "web");
	q.ttl_s = 2 * 365 * DAY; /* explicit: not capped */
	tls_ca_cert *l = tls_ca_issue(i, &q, T, err, sizeof err);
	ck_assert_msg(l != NULL, "%s", err);
	ck_assert_int_eq(verify(s, l, T0 + 365 * DAY + 1, NULL), TLS_CA_EXPIRED);
	ck_assert_int_eq(verify(s, l, T0 + 365 * DAY - 1, NULL), TLS_CA_OK);
	tls_ca_cert_free(l);
	ck_assert_uint_eq(ERR_peek_error(), 0);
	X509_STORE_free(s);
	tls_ca_cert_free(c);
	tls_ca_free(i);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_default_ttl_capped_by_chain)
{
	/* As istiod's minTTL: the default lifetime does not outlive the CA. */
	tls_ca *r = root_at(NULL, T0);
	tls_ca *i = tls_ca_new_intermediate(r, T0, DAY + 3600, err, sizeof err);
	ck_assert_msg(i != NULL, "%s", err);
	tls_ca_cert *c = issue(i, "web", T); /* the CA has 1h left */
	ck_assert_int_eq(tls_ca_cert_not_after(c), T + 3600);
	tls_ca_cert_free(c);
	ck_assert_ptr_null(tls_ca_issue_workload(i, NULL, "web", T + 2 * 3600, err,
		sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "expired"));
	tls_ca_free(i);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_unknown_ca)
{
	tls_ca *r = root_at(NULL, T0);
	tls_ca *i = inter(r, T0);
	tls_ca *stranger = root_at(NULL, T0); /* same names, another key */
	tls_ca_cert *c = issue(i, "web", T);
	X509_STORE *wrong = store_of(tls_ca_root(stranger), NULL);
	X509_STORE *right = store_of(tls_ca_root(r), NULL);
	ck_assert_int_eq(verify(wrong, c, T, NULL), TLS_CA_UNKNOWN_CA);
	/* The peer left out its intermediate. */
	ck_assert_int_eq(tls_ca_verify(right, tls_ca_cert_x509(c), NULL, T, NULL, NULL, 0,
		err, sizeof err), TLS_CA_UNKNOWN_CA);
	/* A self-signed stranger presented as a leaf. */
	ck_assert_int_eq(tls_ca_verify(right, tls_ca_x509(stranger), NULL, T, NULL, NULL, 0,
		err, sizeof err), TLS_CA_UNKNOWN_CA);
	/* A store trusting only the intermediate does not accept a chain
	 * that ends there: partial chains are off. */
	X509_STORE *mid = store_of(tls_ca_x509(i), NULL);
	ck_assert_int_eq(tls_ca_verify(mid, tls_ca_cert_x509(c), NULL, T, NULL, NULL, 0,
		err, sizeof err), TLS_CA_UNKNOWN_CA);
	X509_STORE_free(mid);
	X509_STORE_free(right);
	X509_STORE_free(wrong);
	tls_ca_cert_free(c);
	tls_ca_free(stranger);
	tls_ca_free(i);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_other_trust_domain)
{
	tls_ca *mine = root_at(NULL, T0);
	tls_ca *theirs = root_at("other.local", T0);
	tls_ca_cert *c = issue(theirs, "web", T);
	ck_assert_str_eq(tls_ca_cert_id(c), "spiffe://other.local/ns/default/sa/web");
	tls_ca_policy p = { .trust_domain = "cluster.local" };
	/* Another root: unknown CA. */
	X509_STORE *s = store_of(tls_ca_root(mine), NULL);
	ck_assert_int_eq(verify(s, c, T, &p), TLS_CA_UNKNOWN_CA);
	X509_STORE_free(s);
	/* Both roots trusted (a federated bundle), but the wrong domain. */
	s = store_of(tls_ca_root(mine), tls_ca_root(theirs));
	char id[TLS_CA_ID_MAX];
	ck_assert_int_eq(tls_ca_verify(s, tls_ca_cert_x509(c), tls_ca_cert_chain(c), T, &p,
		id, sizeof id, err, sizeof err), TLS_CA_ID_MISMATCH);
	ck_assert_str_eq(id, "spiffe://other.local/ns/default/sa/web");
	ck_assert_ptr_nonnull(strstr(err, "not in trust domain cluster.local"));
	p.trust_domain = "other.local";
	ck_assert_int_eq(verify(s, c, T, &p), TLS_CA_OK);
	/* A prefix of the domain is not the domain. */
	p.trust_domain = "other";
	ck_assert_int_eq(verify(s, c, T, &p), TLS_CA_ID_MISMATCH);
	X509_STORE_free(s);
	tls_ca_cert_free(c);
	tls_ca_free(theirs);
	tls_ca_free(mine);
}
END_TEST

START_TEST(test_identity_mismatch)
{
	tls_ca *r = root_at(NULL, T0);
	X509_STORE *s = store_of(tls_ca_root(r), NULL);
	tls_ca_cert *web = issue(r, "web", T);
	const char *allowed[] = { "spiffe://cluster.local/ns/default/sa/frontend",
		"spiffe://cluster.local/ns/default/sa/web" };
	tls_ca_policy p = { .trust_domain = "cluster.local", .ids = allowed, .n_ids = 1 };
	/* Same root, an identity not in the allowed set. */
	ck_assert_int_eq(verify(s, web, T, &p), TLS_CA_ID_MISMATCH);
	ck_assert_ptr_nonnull(strstr(err, "not an allowed identity"));
	p.n_ids = 2;
	ck_assert_int_eq(verify(s, web, T, &p), TLS_CA_OK);
	/* The trusted CA signing a foreign trust domain's identity. */
	tls_ca_req q;
	tls_ca_req_init(&q, NULL, "web");
	q.trust_domain = "evil.local";
	tls_ca_cert *forged = tls_ca_issue(r, &q, T, err, sizeof err);
	ck_assert_msg(forged != NULL, "%s", err);
	p.n_ids = 0;
	ck_assert_int_eq(verify(s, forged, T, &p), TLS_CA_ID_MISMATCH);
	ck_assert_int_eq(verify(s, forged, T, NULL), TLS_CA_OK);
	/* No SPIFFE ID at all: a trusted CA certificate as the leaf. */
	ck_assert_int_eq(tls_ca_verify(s, tls_ca_x509(r), NULL, T, NULL, NULL, 0, err,
		sizeof err), TLS_CA_ID_MISMATCH);
	ck_assert_int_eq(tls_ca_check_id(tls_ca_cert_x509(web), &p, NULL, 0, err,
		sizeof err), TLS_CA_OK);
	tls_ca_cert_free(forged);
	tls_ca_cert_free(web);
	X509_STORE_free(s);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_purpose)
{
	tls_ca *r = root_at(NULL, T0);
	tls_ca *i = inter(r, T0);
	X509_STORE *s = store_of(tls_ca_root(r), NULL);
	tls_ca_cert *c = issue(i, "web", T);
	tls_ca_policy client = { .purpose = X509_PURPOSE_SSL_CLIENT };
	tls_ca_policy server = { .purpose = X509_PURPOSE_SSL_SERVER };
	ck_assert_int_eq(verify(s, c, T, &client), TLS_CA_OK);
	ck_assert_int_eq(verify(s, c, T, &server), TLS_CA_OK);
	/* A CA certificate is no TLS client: the other class. */
	ck_assert_int_eq(tls_ca_verify(s, tls_ca_x509(i), NULL, T, &client, NULL, 0, err,
		sizeof err), TLS_CA_OTHER);
	tls_ca_cert_free(c);
	X509_STORE_free(s);
	tls_ca_free(i);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_classify)
{
	ck_assert_int_eq(tls_ca_classify_x509_error(X509_V_OK), TLS_CA_OK);
	ck_assert_int_eq(tls_ca_classify_x509_error(X509_V_ERR_CERT_HAS_EXPIRED), TLS_CA_EXPIRED);
	ck_assert_int_eq(tls_ca_classify_x509_error(X509_V_ERR_CERT_NOT_YET_VALID), TLS_CA_EXPIRED);
	ck_assert_int_eq(tls_ca_classify_x509_error(X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY),
		TLS_CA_UNKNOWN_CA);
	ck_assert_int_eq(tls_ca_classify_x509_error(X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN),
		TLS_CA_UNKNOWN_CA);
	ck_assert_int_eq(tls_ca_classify_x509_error(X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT),
		TLS_CA_UNKNOWN_CA);
	ck_assert_int_eq(tls_ca_classify_x509_error(X509_V_ERR_CERT_SIGNATURE_FAILURE),
		TLS_CA_OTHER);
	ck_assert_int_eq(tls_ca_classify_x509_error(X509_V_ERR_INVALID_CA), TLS_CA_OTHER);
	ck_assert_str_eq(tls_ca_verdict_name(TLS_CA_OK), "ok");
	ck_assert_str_eq(tls_ca_verdict_name(TLS_CA_EXPIRED), "expired");
	ck_assert_str_eq(tls_ca_verdict_name(TLS_CA_UNKNOWN_CA), "unknown_ca");
	ck_assert_str_eq(tls_ca_verdict_name(TLS_CA_ID_MISMATCH), "identity_mismatch");
	ck_assert_str_eq(tls_ca_verdict_name(TLS_CA_OTHER), "other");
}
END_TEST

START_TEST(test_rotation)
{
	/* Istio's defaults: a 24h certificate renews at half its life. */
	ck_assert_int_eq(tls_ca_rotate_at(0, DAY, TLS_CA_GRACE_RATIO, TLS_CA_GRACE_JITTER, 0.5),
		DAY / 2);
	ck_assert_int_eq(tls_ca_rotate_at(1000, 1000 + DAY, 0.5, 0.0, 0.9), 1000 + DAY / 2);
	/* Jitter moves the ratio by up to 0.01: +-864 s of 24h; u = 0 is the
	 * smallest ratio, so the latest renewal. */
	int64_t late = tls_ca_rotate_at(0, DAY, 0.5, 0.01, 0.0);
	int64_t early = tls_ca_rotate_at(0, DAY, 0.5, 0.01, 0.999999);
	ck_assert_int_ge(late, DAY / 2 + 864 - 1);
	ck_assert_int_le(late, DAY / 2 + 864);
	ck_assert_int_ge(early, DAY / 2 - 864);
	ck_assert_int_le(early, DAY / 2 - 864 + 1);
	for (int k = 0; k < 1000; k++) {
		int64_t at = tls_ca_rotate_at(0, DAY, 0.5, 0.01, k / 1000.0);
		ck_assert_int_ge(at, DAY / 2 - 864);
		ck_assert_int_le(at, DAY / 2 + 864);
	}
	/* Another ratio: renew when 20% of the life is left. */
	ck_assert_int_eq(tls_ca_rotate_at(0, 1000, 0.2, 0.0, 0.3), 800);
	/* Clamped to [0, 1]: at creation, or at expiry. */
	ck_assert_int_eq(tls_ca_rotate_at(50, 150, 0.995, 0.01, 0.99), 50);
	ck_assert_int_eq(tls_ca_rotate_at(50, 150, 0.0, 0.01, 0.0), 150);
	/* Nothing left to wait for. */
	ck_assert_int_eq(tls_ca_rotate_at(200, 150, 0.5, 0.01, 0.5), 200);
	/* Any unit: nanoseconds. */
	int64_t ns = 1000000000;
	ck_assert_int_eq(tls_ca_rotate_at(T * ns, (T + DAY) * ns, 0.5, 0.01, 0.5),
		(T + DAY / 2) * ns);
	/* From a certificate: its issue time, not its backdated notBefore. */
	tls_ca *r = root_at(NULL, T0);
	tls_ca_cert *c = issue(r, "web", T);
	ck_assert_int_eq(tls_ca_cert_rotate_at(c, 0.5, 0.01, 0.5), T + DAY / 2);
	tls_ca_cert_free(c);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_reroot_overlap)
{
	tls_ca *old = root_at(NULL, T0);
	tls_ca *oi = inter(old, T0);
	tls_ca_cert *a = issue(oi, "web", T);
	tls_ca *neu = tls_ca_reroot(old, T, err, sizeof err);
	ck_assert_msg(neu != NULL, "%s", err);
	/* Same name, another key: only key identifiers tell them apart. */
	ck_assert_int_eq(X509_NAME_cmp(X509_get_subject_name(tls_ca_root(old)),
		X509_get_subject_name(tls_ca_root(neu))), 0);
	ck_assert_int_ne(X509_cmp(tls_ca_root(old), tls_ca_root(neu)), 0);
	ck_assert_str_eq(tls_ca_trust_domain(neu), "cluster.local");
	tls_ca *ni = inter(neu, T);
	tls_ca_cert *b = issue(ni, "web", T + 60);
	tls_ca_cert *b_direct = issue(neu, "db", T + 60);

	X509_STORE *both = store_of(tls_ca_root(old), tls_ca_root(neu));
	ck_assert_int_eq(verify(both, a, T + 120, NULL), TLS_CA_OK);
	ck_assert_int_eq(verify(both, b, T + 120, NULL), TLS_CA_OK);
	ck_assert_int_eq(verify(both, b_direct, T + 120, NULL), TLS_CA_OK);
	X509_STORE *only_new = store_of(tls_ca_root(neu), NULL);
	ck_assert_int_eq(verify(only_new, a, T + 120, NULL), TLS_CA_UNKNOWN_CA);
	ck_assert_int_eq(verify(only_new, b, T + 120, NULL), TLS_CA_OK);
	X509_STORE *only_old = store_of(tls_ca_root(old), NULL);
	ck_assert_int_eq(verify(only_old, b, T + 120, NULL), TLS_CA_UNKNOWN_CA);
	ck_assert_int_eq(verify(only_old, b_direct, T + 120, NULL), TLS_CA_UNKNOWN_CA);
	X509_STORE_free(only_old);
	X509_STORE_free(only_new);
	X509_STORE_free(both);
	tls_ca_cert_free(b_direct);
	tls_ca_cert_free(b);
	tls_ca_cert_free(a);
	tls_ca_free(ni);
	tls_ca_free(neu);
	tls_ca_free(oi);
	tls_ca_free(old);
}
END_TEST

START_TEST(test_expired_fault)
{
	tls_ca *r = root_at(NULL, T0 - 30 * DAY);
	X509_STORE *s = store_of(tls_ca_root(r), NULL);
	tls_ca_cert *c = tls_ca_issue_expired(r, NULL, "web", T, err, sizeof err);
	ck_assert_msg(c != NULL, "%s", err);
	ck_assert_int_eq(tls_ca_cert_not_after(c), T - 1);
	ck_assert_int_eq(tls_ca_cert_issued_at(c), T - 1 - DAY);
	ck_assert_int_eq(tls_ca_cert_not_before(c), T - 1 - DAY - 120);
	ck_assert_int_eq(verify(s, c, T, NULL), TLS_CA_EXPIRED);
	ck_assert_int_eq(verify(s, c, T - 2, NULL), TLS_CA_OK);
	/* Due for rotation long ago. */
	ck_assert_int_lt(tls_ca_cert_rotate_at(c, 0.5, 0.01, 0.5), T);
	tls_ca_cert_free(c);
	X509_STORE_free(s);
	tls_ca_free(r);
}
END_TEST

START_TEST(test_serials_differ)
{
	tls_ca *r = root_at(NULL, T0);
	enum { N = 32 };
	tls_ca_cert *c[N];
	for (int k = 0; k < N; k++)
		c[k] = issue(r, "web", T);
	for (int k = 0; k < N; k++)
		for (int j = k + 1; j < N; j++) {
			ck_assert_int_ne(ASN1_INTEGER_cmp(X509_get0_serialNumber(tls_ca_cert_x509(c[k])),
				X509_get0_serialNumber(tls_ca_cert_x509(c[j]))), 0);
			ck_assert_int_ne(EVP_PKEY_eq(tls_ca_cert_key(c[k]), tls_ca_cert_key(c[j])), 1);
		}
	for (int k = 0; k < N; k++)
		tls_ca_cert_free(c[k]);
	tls_ca_free(r);
}
END_TEST

/* ---- files ---- */

static char dir[256];

static void mkdir_tmp(void)
{
	snprintf(dir, sizeof dir, "%s/tls_ca_XXXXXX",
		getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(dir));
}

static void rm_tmp(void)
{
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	char p[512];
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.' && (!e->d_name[1] ||
				(e->d_name[1] == '.' && !e->d_name[2])))
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
		unlink(p);
	}
	closedir(d);
	rmdir(dir);
}

static const char *in_dir(const char *name)
{
	static char p[4][512]; /* up to four in one call */
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof p[k], "%s/%s", dir, name);
	return p[k];
}

static mode_t mode_of(const char *path)
{
	struct stat st;
	ck_assert_msg(lstat(path, &st) == 0, "%s: %s", path, strerror(errno));
	return st.st_mode;
}

START_TEST(test_write_files)
{
	mkdir_tmp();
	mode_t old = umask(0); /* the permissions come from open() alone */
	tls_ca *r = root_at(NULL, T0);
	tls_ca *i = inter(r, T0);
	tls_ca_cert *c = issue(i, "web", T);
	ck_assert_msg(tls_ca_write_pem(dir, "web", c, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(tls_ca_write_ca_pem(dir, "root", r, 1, err, sizeof err) == 0, "%s", err);
	ck_assert_msg(tls_ca_write_ca_pem(dir, "inter", i, 0, err, sizeof err) == 0, "%s", err);
	umask(old);
	ck_assert_uint_eq(mode_of(in_dir("web-key.pem")), S_IFREG | 0600);
	ck_assert_uint_eq(mode_of(in_dir("root-key.pem")), S_IFREG | 0600);
	ck_assert_uint_eq(mode_of(in_dir("web.pem")), S_IFREG | 0644);
	ck_assert_uint_eq(mode_of(in_dir("root.pem")), S_IFREG | 0644);
	ck_assert_int_eq(access(in_dir("inter-key.pem"), F_OK), -1);

	/* What was written reads back: leaf then intermediate; the key. */
	FILE *f = fopen(in_dir("web.pem"), "r");
	ck_assert_ptr_nonnull(f);
	X509 *leaf = PEM_read_X509(f, NULL, NULL, NULL);
	X509 *mid = PEM_read_X509(f, NULL, NULL, NULL);
	X509 *none = PEM_read_X509(f, NULL, NULL, NULL);
	fclose(f);
	ERR_clear_error();
	ck_assert_int_eq(X509_cmp(leaf, tls_ca_cert_x509(c)), 0);
	ck_assert_int_eq(X509_cmp(mid, tls_ca_x509(i)), 0);
	ck_assert_ptr_null(none);
	f = fopen(in_dir("web-key.pem"), "r");
	ck_assert_ptr_nonnull(f);
	EVP_PKEY *k = PEM_read_PrivateKey(f, NULL, NULL, NULL);
	fclose(f);
	ck_assert_int_eq(EVP_PKEY_eq(k, tls_ca_cert_key(c)), 1);
	EVP_PKEY_free(k);
	X509_free(leaf);
	X509_free(mid);

	/* No temporary files are left. */
	DIR *d = opendir(dir);
	int n = 0;
	for (struct dirent *e; (e = readdir(d)) != NULL;)
		n += e->d_name[0] != '.';
	closedir(d);
	ck_assert_int_eq(n, 5);

	/* A name with a '/' is refused. */
	ck_assert_int_eq(tls_ca_write_pem(dir, "../x", c, err, sizeof err), -1);
	tls_ca_cert_free(c);
	tls_ca_free(i);
	tls_ca_free(r);
	rm_tmp();
}
END_TEST

START_TEST(test_key_replaces_never_reuses)
{
	/* A key is never written into a file that already exists: a looser
	 * file, or a symlink planted at the key's path, is replaced by a new
	 * 0600 file, and the symlink's target is left alone. */
	mkdir_tmp();
	tls_ca *r = root_at(NULL, T0);
	const char *key = in_dir("k.pem");
	FILE *f = fopen(key, "w");
	ck_assert_ptr_nonnull(f);
	fputs("old\n", f);
	fclose(f);
	ck_assert_int_eq(chmod(key, 0644), 0);
	struct stat before, after;
	ck_assert_int_eq(stat(key, &before), 0);
	ck_assert_msg(tls_ca_write_key(key, tls_ca_key(r), err, sizeof err) == 0, "%s", err);
	ck_assert_int_eq(stat(key, &after), 0);
	ck_assert_uint_ne(before.st_ino, after.st_ino);
	ck_assert_uint_eq(after.st_mode & 07777, 0600);

	const char *victim = in_dir("victim");
	const char *link = in_dir("l.pem");
	ck_assert_int_eq(symlink(victim, link), 0);
	ck_assert_msg(tls_ca_write_key(link, tls_ca_key(r), err, sizeof err) == 0, "%s", err);
	ck_assert_uint_eq(mode_of(link), S_IFREG | 0600);
	ck_assert_int_eq(access(victim, F_OK), -1);
	tls_ca_free(r);
	rm_tmp();
}
END_TEST

START_TEST(test_key_never_visible_with_other_bits)
{
	/* A watcher process lists the directory as fast as it can while keys
	 * are written over and over (umask 0): every file it ever sees there
	 * (finished or temporary) is 0600. A create-then-chmod would show up. */
	mkdir_tmp();
	tls_ca *r = root_at(NULL, T0);
	int stop[2], report[2];
	ck_assert_int_eq(pipe(stop), 0);
	ck_assert_int_eq(pipe(report), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(stop[1]);
		close(report[0]);
		fcntl(stop[0], F_SETFL, O_NONBLOCK);
		long seen = 0, bad = 0;
		char c;
		while (read(stop[0], &c, 1) < 0 && errno == EAGAIN) {
			DIR *d = opendir(dir);
			if (!d)
				break;
			for (struct dirent *e; (e = readdir(d)) != NULL;) {
				if (e->d_name[0] == '.')
					continue;
				char p[512];
				struct stat st;
				snprintf(p, sizeof p, "%s/%s", dir, e->d_name);
				if (lstat(p, &st) == 0) {
					seen++;
					bad += (st.st_mode & 07777) != 0600;
				}
			}
			closedir(d);
		}
		long out[2] = { seen, bad };
		ssize_t w = write(report[1], out, sizeof out);
		_exit(w == (ssize_t)sizeof out ? 0 : 1);
	}
	close(stop[0]);
	close(report[1]);
	mode_t old = umask(0);
	for (int k = 0; k < 1000; k++)
		ck_assert_msg(tls_ca_write_key(in_dir("key.pem"), tls_ca_key(r), err,
			sizeof err) == 0, "%s", err);
	umask(old);
	close(stop[1]);
	long out[2] = { 0, 0 };
	ck_assert_int_eq(read(report[0], out, sizeof out), (ssize_t)sizeof out);
	close(report[0]);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ck_assert_int_gt(out[0], 0);
	ck_assert_int_eq(out[1], 0);
	tls_ca_free(r);
	rm_tmp();
}
END_TEST

START_TEST(test_load)
{
	mkdir_tmp();
	tls_ca *r = root_at(NULL, T0);
	tls_ca *i = inter(r, T0);
	ck_assert(tls_ca_write_ca_pem(dir, "root", r, 1, err, sizeof err) == 0);
	ck_assert(tls_ca_write_ca_pem(dir, "ca", i, 1, err, sizeof err) == 0);
	X509_STORE *s = store_of(tls_ca_root(r), NULL);

	/* A self-signed root from files. */
	tls_ca *lr = tls_ca_load(NULL, in_dir("root.pem"), in_dir("root-key.pem"), NULL,
		NULL, err, sizeof err);
	ck_assert_msg(lr != NULL, "%s", err);
	ck_assert_ptr_eq(tls_ca_root(lr), tls_ca_x509(lr));
	tls_ca_cert *c = issue(lr, "web", T);
	ck_assert_int_eq(verify(s, c, T, NULL), TLS_CA_OK);
	tls_ca_cert_free(c);

	/* Istio's plug-in CA: ca-cert, ca-key, cert-chain (here with the
	 * root in it, as Istio's samples have), root-cert. */
	tls_ca *li = tls_ca_load(NULL, in_dir("ca.pem"), in_dir("ca-key.pem"),
		in_dir("root.pem"), in_dir("root.pem"), err, sizeof err);
	ck_assert_msg(li != NULL, "%s", err);
	ck_assert_int_eq(sk_X509_num(tls_ca_chain(li)), 0);
	ck_assert_int_eq(X509_cmp(tls_ca_root(li), tls_ca_root(r)), 0);
	c = issue(li, "web", T);
	ck_assert_int_eq(sk_X509_num(tls_ca_cert_chain(c)), 1);
	ck_assert_int_eq(verify(s, c, T, NULL), TLS_CA_OK);
	tls_ca_cert_free(c);
	tls_ca_free(li);
	/* The root found at the end of the chain file. */
	li = tls_ca_load(NULL, in_dir("ca.pem"), in_dir("ca-key.pem"), in_dir("root.pem"),
		NULL, err, sizeof err);
	ck_assert_msg(li != NULL, "%s", err);
	tls_ca_free(li);

	/* Errors name the file and leave OpenSSL's queue empty. */
	ck_assert_ptr_null(tls_ca_load(NULL, in_dir("ca.pem"), in_dir("ca-key.pem"), NULL,
		NULL, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "no root given"));
	ck_assert_ptr_null(tls_ca_load(NULL, in_dir("root.pem"), in_dir("ca-key.pem"), NULL,
		NULL, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "does not match"));
	ck_assert_ptr_null(tls_ca_load(NULL, in_dir("nope.pem"), in_dir("ca-key.pem"), NULL,
		NULL, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "nope.pem: cannot open"));
	FILE *f = fopen(in_dir("junk.pem"), "w");
	fputs("-----BEGIN CERTIFICATE-----\nnot base64!\n-----END CERTIFICATE-----\n", f);
	fclose(f);
	ck_assert_ptr_null(tls_ca_load(NULL, in_dir("junk.pem"), in_dir("ca-key.pem"), NULL,
		NULL, err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "junk.pem: expected PEM certificates (openssl: "));
	ck_assert_uint_eq(ERR_peek_error(), 0);
	/* A leaf is no CA. */
	c = issue(r, "web", T);
	ck_assert(tls_ca_write_pem(dir, "leaf", c, err, sizeof err) == 0);
	ck_assert_ptr_null(tls_ca_load(NULL, in_dir("leaf.pem"), in_dir("leaf-key.pem"), NULL,
		in_dir("root.pem"), err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "not a CA"));
	/* An intermediate with a root it does not chain to. */
	tls_ca *stranger = root_at(NULL, T0);
	ck_assert(tls_ca_write_ca_pem(dir, "stranger", stranger, 0, err, sizeof err) == 0);
	ck_assert_ptr_null(tls_ca_load(NULL, in_dir("ca.pem"), in_dir("ca-key.pem"), NULL,
		in_dir("stranger.pem"), err, sizeof err));
	ck_assert_ptr_nonnull(strstr(err, "does not chain to the root"));
	ck_assert_uint_eq(ERR_peek_error(), 0);
	tls_ca_free(stranger);
	tls_ca_cert_free(c);
	X509_STORE_free(s);
	tls_ca_free(lr);
	tls_ca_free(i);
	tls_ca_free(r);
	rm_tmp();
}
END_TEST

Suite *tls_ca_suite(void)
{
	Suite *s = suite_create("tls_ca");
	TCase *tc = tcase_create("issue");
	tcase_add_test(tc, test_root);
	tcase_add_test(tc, test_intermediate);
	tcase_add_test(tc, test_workload);
	tcase_add_test(tc, test_request_options);
	tcase_add_test(tc, test_extra_sans);
	tcase_add_test(tc, test_spiffe_id);
	tcase_add_test(tc, test_serials_differ);
	tcase_add_test(tc, test_default_ttl_capped_by_chain);
	suite_add_tcase(s, tc);
	tc = tcase_create("verify");
	tcase_add_test(tc, test_verify_times);
	tcase_add_test(tc, test_unknown_ca);
	tcase_add_test(tc, test_other_trust_domain);
	tcase_add_test(tc, test_identity_mismatch);
	tcase_add_test(tc, test_purpose);
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_reroot_overlap);
	tcase_add_test(tc, test_expired_fault);
	suite_add_tcase(s, tc);
	tc = tcase_create("rotation");
	tcase_add_test(tc, test_rotation);
	suite_add_tcase(s, tc);
	tc = tcase_create("files");
	/* Writing a key costs about half a millisecond (OpenSSL's PEM
	 * encoder), more under the sanitizers, and the watcher test writes
	 * a thousand against a busy reader. */
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_write_files);
	tcase_add_test(tc, test_key_replaces_never_reuses);
	tcase_add_test(tc, test_key_never_visible_with_other_bits);
	tcase_add_test(tc, test_load);
	suite_add_tcase(s, tc);
	return s;
}
