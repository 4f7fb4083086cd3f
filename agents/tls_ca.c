/*
 * tls_ca.c - the built-in certificate authority: roots, intermediates,
 * SPIFFE workload certificates, rotation times, peer verification.
 *
 * Certificates are built field by field with OpenSSL's typed extension
 * structures (no text configuration is parsed per certificate), and each
 * CA keeps its key, its key-generation context and its key identifier, so
 * issuing costs one key generation and one signature.
 */
#include "tls_ca.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

struct tls_ca {
	X509 *cert;
	EVP_PKEY *key;
	X509 *root;             /* == cert for a root */
	STACK_OF(X509) *chain;  /* between cert and root, nearest first */
	char *td;
	tls_ca_opts opts;       /* opts.trust_domain points at td */
	ASN1_OCTET_STRING *skid; /* cert's key identifier, for AKIDs */
	int64_t chain_not_after; /* earliest notAfter of cert, chain, root */
	EVP_PKEY_CTX *keygen;   /* P-256 key generation, reused */
};

struct tls_ca_cert {
	X509 *x509;
	EVP_PKEY *key;
	STACK_OF(X509) *chain;
	char id[TLS_CA_ID_MAX];
	int64_t issued_at, not_before, not_after;
};

enum cert_kind { KIND_ROOT, KIND_INTERMEDIATE, KIND_LEAF };

/* ---- errors ---- */

/* Format a message into err, then append every error in OpenSSL's queue
 * (which is left empty, whether or not there is a buffer). Returns -1. */
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	size_t n = 0;
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		int w = vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
		n = w < 0 ? 0 : (size_t)w < errlen ? (size_t)w : errlen - 1;
	}
	const char *sep = " (openssl: ";
	int any = 0;
	unsigned long e;
	while ((e = ERR_get_error()) != 0) {
		if (!err || n + 1 >= errlen)
			continue;
		char buf[256];
		ERR_error_string_n(e, buf, sizeof buf);
		int w = snprintf(err + n, errlen - n, "%s%s", sep, buf);
		n = w < 0 ? n : n + (size_t)w < errlen ? n + (size_t)w : errlen - 1;
		sep = "; ";
		any = 1;
	}
	if (any && err && n + 1 < errlen)
		snprintf(err + n, errlen - n, ")");
	return -1;
}

/* ---- small helpers ---- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), so as not to need timegm(). */
static int64_t days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

static int asn1_time_unix(const ASN1_TIME *t, int64_t *out)
{
	struct tm tm;
	if (!t || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*out = days_from_civil((int64_t)tm.tm_year + 1900, tm.tm_mon + 1,
		tm.tm_mday) * 86400 + tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
	return 0;
}

static int td_ok(const char *s)
{
	if (!s || !*s)
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
				*s == '.' || *s == '-' || *s == '_'))
			return 0;
	return 1;
}

static int segment_ok(const char *s)
{
	if (!s || !*s || !strcmp(s, ".") || !strcmp(s, ".."))
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				(*s >= '0' && *s <= '9') || *s == '.' || *s == '-' ||
				*s == '_'))
			return 0;
	return 1;
}

/* A host name for a DNS SAN: labels of letters, digits and '-', dots
 * between them (RFC 1123), case kept. */
static int dns_ok(const char *s)
{
	if (!s || !*s || *s == '.' || *s == '-')
		return 0;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
				(*s >= '0' && *s <= '9') || *s == '-' ||
				(*s == '.' && s[1] != '.' && s[1])))
			return 0;
	return 1;
}

static EVP_PKEY_CTX *keygen_new(void)
{
	EVP_PKEY_CTX *k = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	if (!k || EVP_PKEY_keygen_init(k) <= 0 ||
			EVP_PKEY_CTX_set_group_name(k, "P-256") <= 0) {
		EVP_PKEY_CTX_free(k);
		return NULL;
	}
	return k;
}

static EVP_PKEY *keygen(EVP_PKEY_CTX *k)
{
	EVP_PKEY *key = NULL;
	if (EVP_PKEY_generate(k, &key) <= 0) {
		EVP_PKEY_free(key);
		return NULL;
	}
	return key;
}

/* A copy of the stack with a reference to each certificate, plus `first`
 * (when not NULL) in front. */
static STACK_OF(X509) *chain_with(X509 *first, STACK_OF(X509) *rest)
{
	STACK_OF(X509) *s = sk_X509_new_null();
	if (!s)
		return NULL;
	if (first) {
		if (!sk_X509_push(s, first))
			goto fail;
		X509_up_ref(first);
	}
	for (int i = 0; rest && i < sk_X509_num(rest); i++) {
		X509 *x = sk_X509_value(rest, i);
		if (!sk_X509_push(s, x))
			goto fail;
		X509_up_ref(x);
	}
	return s;
fail:
	sk_X509_pop_free(s, X509_free);
	return NULL;
}

static int is_root(const tls_ca *ca)
{
	return ca->cert == ca->root;
}

/* The SHA-1 of cert's public key (RFC 5280 4.2.1.2, method 1). Safe on a
 * certificate still being built: unlike X509_get0_subject_key_id, it does
 * not make OpenSSL cache the certificate's extensions (and its hash)
 * before they are all there and signed. */
static ASN1_OCTET_STRING *pubkey_id(X509 *cert)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	ASN1_OCTET_STRING *os = ASN1_OCTET_STRING_new();
	if (!os || X509_pubkey_digest(cert, EVP_sha1(), md, &len) != 1 ||
			!ASN1_OCTET_STRING_set(os, md, (int)len)) {
		ASN1_OCTET_STRING_free(os);
		return NULL;
	}
	return os;
}

/* The key identifier of a finished certificate: its SKID extension, or
 * the hash of its key when it has none. */
static ASN1_OCTET_STRING *key_id_of(X509 *cert)
{
	const ASN1_OCTET_STRING *have = X509_get0_subject_key_id(cert);
	return have ? ASN1_OCTET_STRING_dup(have) : pubkey_id(cert);
}

/* ---- building certificates ---- */

/* Put key in x's SubjectPublicKeyInfo.
 *
 * OpenSSL 3.0's X509_set_pubkey runs a provider key through its encoder
 * and back through its decoder, about 400 us here, two thirds of the time
 * to issue a certificate. Given a key with a legacy EC_KEY behind it, it
 * takes the old direct path instead (about 10 us): so for a P-256 key we
 * hand it a public-only legacy copy of the point. That needs the EC_KEY
 * calls deprecated in 3.0; where they are compiled out, or fail, the slow
 * path gives the same certificate. */
#ifndef OPENSSL_NO_DEPRECATED_3_0
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
static EVP_PKEY *legacy_p256_public(EVP_PKEY *key)
{
	char group[32];
	size_t glen = 0;
	if (!EVP_PKEY_is_a(key, "EC") ||
			EVP_PKEY_get_group_name(key, group, sizeof group, &glen) != 1 ||
			strcmp(group, "prime256v1") != 0)
		return NULL;
	unsigned char *point = NULL;
	size_t len = EVP_PKEY_get1_encoded_public_key(key, &point);
	EC_KEY *ec = EC_KEY_new_by_curve_name(NID_X9_62_prime256v1);
	EVP_PKEY *pub = EVP_PKEY_new();
	if (len == 0 || !ec || !pub || EC_KEY_oct2key(ec, point, len, NULL) != 1 ||
			EVP_PKEY_assign_EC_KEY(pub, ec) != 1) {
		EC_KEY_free(ec);
		EVP_PKEY_free(pub);
		pub = NULL;
	}
	OPENSSL_free(point);
	return pub;
}
#pragma GCC diagnostic pop
#else
static EVP_PKEY *legacy_p256_public(EVP_PKEY *key)
{
	(void)key;
	return NULL;
}
#endif

static int set_pubkey(X509 *x, EVP_PKEY *key)
{
	EVP_PKEY *pub = legacy_p256_public(key);
	ERR_clear_error(); /* a failed fast path is no error */
	int ok = X509_set_pubkey(x, pub ? pub : key) == 1;
	EVP_PKEY_free(pub); /* x holds its own reference */
	return ok ? 0 : -1;
}

static int add_key_usage(X509 *x, const int *bits, int n)
{
	ASN1_BIT_STRING *ku = ASN1_BIT_STRING_new();
	int ok = ku != NULL;
	for (int i = 0; ok && i < n; i++)
		ok = ASN1_BIT_STRING_set_bit(ku, bits[i], 1);
	ok = ok && X509_add1_ext_i2d(x, NID_key_usage, ku, 1, X509V3_ADD_DEFAULT) == 1;
	ASN1_BIT_STRING_free(ku);
	return ok ? 0 : -1;
}

static int add_basic_constraints(X509 *x, int ca, int pathlen)
{
	BASIC_CONSTRAINTS *bc = BASIC_CONSTRAINTS_new();
	int ok = bc != NULL;
	if (ok) {
		bc->ca = ca ? 0xff : 0;
		if (pathlen >= 0) {
			bc->pathlen = ASN1_INTEGER_new();
			ok = bc->pathlen && ASN1_INTEGER_set(bc->pathlen, pathlen);
		}
	}
	ok = ok && X509_add1_ext_i2d(x, NID_basic_constraints, bc, 1,
		X509V3_ADD_DEFAULT) == 1;
	BASIC_CONSTRAINTS_free(bc);
	return ok ? 0 : -1;
}

static int add_eku(X509 *x)
{
	EXTENDED_KEY_USAGE *eku = sk_ASN1_OBJECT_new_null();
	int ok = eku && sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_server_auth)) &&
		sk_ASN1_OBJECT_push(eku, OBJ_nid2obj(NID_client_auth)) &&
		X509_add1_ext_i2d(x, NID_ext_key_usage, eku, 0, X509V3_ADD_DEFAULT) == 1;
	sk_ASN1_OBJECT_pop_free(eku, ASN1_OBJECT_free);
	return ok ? 0 : -1;
}

/* Append a name of type GEN_URI or GEN_DNS (text) or GEN_IPADD (an
 * address in text, "127.0.0.1" or "::1") to gens. */
static int push_name(GENERAL_NAMES *gens, int type, const char *text)
{
	GENERAL_NAME *gn = GENERAL_NAME_new();
	ASN1_STRING *v = type == GEN_IPADD ? a2i_IPADDRESS(text) : ASN1_IA5STRING_new();
	if (!gn || !v || (type != GEN_IPADD &&
			!ASN1_STRING_set(v, text, (int)strlen(text)))) {
		GENERAL_NAME_free(gn);
		ASN1_STRING_free(v);
		return -1;
	}
	GENERAL_NAME_set0_value(gn, type, v);
	if (!sk_GENERAL_NAME_push(gens, gn)) {
		GENERAL_NAME_free(gn);
		return -1;
	}
	return 0;
}

/* The subjectAltName: the SPIFFE URI first, then r's DNS names and IP
 * addresses, if any (r may be NULL). */
static int add_sans(X509 *x, const char *uri, const tls_ca_req *r, int critical)
{
	GENERAL_NAMES *gens = sk_GENERAL_NAME_new_null();
	int ok = gens && push_name(gens, GEN_URI, uri) == 0;
	for (size_t i = 0; ok && r && i < r->n_dns; i++)
		ok = push_name(gens, GEN_DNS, r->dns[i]) == 0;
	for (size_t i = 0; ok && r && i < r->n_ips; i++)
		ok = push_name(gens, GEN_IPADD, r->ips[i]) == 0;
	ok = ok && X509_add1_ext_i2d(x, NID_subject_alt_name, gens, critical,
		X509V3_ADD_DEFAULT) == 1;
	GENERAL_NAMES_free(gens);
	return ok ? 0 : -1;
}

static int add_key_ids(X509 *x, const ASN1_OCTET_STRING *issuer_kid)
{
	ASN1_OCTET_STRING *skid = pubkey_id(x);
	AUTHORITY_KEYID *akid = AUTHORITY_KEYID_new();
	int ok = skid && akid &&
		X509_add1_ext_i2d(x, NID_subject_key_identifier, skid, 0,
			X509V3_ADD_DEFAULT) == 1;
	if (ok) {
		/* A self-signed root names itself. */
		akid->keyid = ASN1_OCTET_STRING_dup(issuer_kid ? issuer_kid : skid);
		ok = akid->keyid && X509_add1_ext_i2d(x, NID_authority_key_identifier,
			akid, 0, X509V3_ADD_DEFAULT) == 1;
	}
	ASN1_OCTET_STRING_free(skid);
	AUTHORITY_KEYID_free(akid);
	return ok ? 0 : -1;
}

/* A certificate for `key`, signed by issuer (NULL: self-signed with key),
 * valid [nb, na]. subject NULL: empty. uri: the SAN, for a leaf, with r's
 * extra names (r may be NULL). */
static X509 *make_cert(const tls_ca *issuer, EVP_PKEY *key,
	const X509_NAME *subject, int64_t nb, int64_t na, enum cert_kind kind,
	const char *uri, const tls_ca_req *r)
{
	X509 *x = X509_new();
	X509_NAME *empty = NULL;
	BIGNUM *serial = BN_new();
	if (!x || !serial)
		goto fail;
	if (!subject)
		subject = empty = X509_NAME_new();
	if (!subject || X509_set_version(x, X509_VERSION_3) != 1)
		goto fail;
	/* RFC 5280 4.1.2.2: a positive serial of at most 20 octets; 128
	 * random bits, as Istio's genSerialNum draws. */
	if (BN_rand(serial, 128, BN_RAND_TOP_ANY, BN_RAND_BOTTOM_ANY) != 1)
		goto fail;
	if (BN_is_zero(serial) && BN_one(serial) != 1)
		goto fail;
	if (!BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(x)))
		goto fail;
	if (X509_set_subject_name(x, subject) != 1 ||
			X509_set_issuer_name(x, issuer ? X509_get_subject_name(issuer->cert)
				: subject) != 1)
		goto fail;
	if (!ASN1_TIME_set(X509_getm_notBefore(x), (time_t)nb) ||
			!ASN1_TIME_set(X509_getm_notAfter(x), (time_t)na))
		goto fail;
	if (set_pubkey(x, key) < 0)
		goto fail;

	if (kind == KIND_LEAF) {
		static const int bits[] = { 0 /* digitalSignature */,
			2 /* keyEncipherment */ };
		/* Istio's workload certificate: no subject, so the SAN is
		 * critical (RFC 5280 4.2.1.6; Istio's BuildSANExtension). */
		if (add_basic_constraints(x, 0, -1) < 0 ||
				add_key_usage(x, bits, 2) < 0 || add_eku(x) < 0 ||
				add_sans(x, uri, r, X509_NAME_entry_count(subject) == 0) < 0)
			goto fail;
	} else {
		static const int bits[] = { 5 /* keyCertSign */, 6 /* cRLSign */ };
		if (add_basic_constraints(x, 1, kind == KIND_INTERMEDIATE ? 0 : -1) < 0 ||
				add_key_usage(x, bits, 2) < 0)
			goto fail;
	}
	if (add_key_ids(x, issuer ? issuer->skid : NULL) < 0)
		goto fail;
	if (X509_sign(x, issuer ? issuer->key : key, EVP_sha256()) <= 0)
		goto fail;
	BN_free(serial);
	X509_NAME_free(empty);
	return x;
fail:
	BN_free(serial);
	X509_NAME_free(empty);
	X509_free(x);
	return NULL;
}

/* ---- CAs ---- */

void tls_ca_opts_init(tls_ca_opts *o)
{
	o->trust_domain = TLS_CA_TRUST_DOMAIN;
	o->root_ttl_s = TLS_CA_ROOT_TTL_S;
	o->intermediate_ttl_s = TLS_CA_INTERMEDIATE_TTL_S;
	o->workload_ttl_s = TLS_CA_WORKLOAD_TTL_S;
	o->backdate_s = TLS_CA_BACKDATE_S;
}

static int check_opts(const tls_ca_opts *o, char *err, size_t errlen)
{
	if (!td_ok(o->trust_domain))
		return fail(err, errlen, "trust domain \"%s\": expected letters a-z, "
			"digits, '.', '-' or '_'", o->trust_domain ? o->trust_domain : "");
	if (o->root_ttl_s <= 0 || o->intermediate_ttl_s <= 0 || o->workload_ttl_s <= 0)
		return fail(err, errlen, "certificate lifetimes must be positive");
	if (o->backdate_s < 0)
		return fail(err, errlen, "backdate must not be negative");
	return 0;
}

/* A CA shell with options, trust domain and key generator; NULL on error. */
static tls_ca *ca_alloc(const tls_ca_opts *o, char *err, size_t errlen)
{
	tls_ca_opts d;
	if (o)
		d = *o;
	else
		tls_ca_opts_init(&d);
	if (!d.trust_domain)
		d.trust_domain = TLS_CA_TRUST_DOMAIN;
	o = &d;
	if (check_opts(o, err, errlen) < 0)
		return NULL;
	tls_ca *ca = calloc(1, sizeof *ca);
	if (!ca || !(ca->td = strdup(o->trust_domain))) {
		free(ca);
		fail(err, errlen, "out of memory");
		return NULL;
	}
	ca->opts = *o;
	ca->opts.trust_domain = ca->td;
	if (!(ca->keygen = keygen_new())) {
		tls_ca_free(ca);
		fail(err, errlen, "cannot set up P-256 key generation");
		return NULL;
	}
	return ca;
}

/* Fill skid and chain_not_after once cert, chain and root are set. */
static int ca_finish(tls_ca *ca, char *err, size_t errlen)
{
	if (!(ca->skid = key_id_of(ca->cert)))
		return fail(err, errlen, "cannot compute the CA's key identifier");
	int64_t t;
	if (asn1_time_unix(X509_get0_notAfter(ca->cert), &t) < 0)
		return fail(err, errlen, "the CA certificate's notAfter is unreadable");
	ca->chain_not_after = t;
	for (int i = 0; i <= sk_X509_num(ca->chain); i++) {
		X509 *x = i < sk_X509_num(ca->chain) ? sk_X509_value(ca->chain, i) : ca->root;
		if (asn1_time_unix(X509_get0_notAfter(x), &t) < 0)
			return fail(err, errlen, "a chain certificate's notAfter is unreadable");
		if (t < ca->chain_not_after)
			ca->chain_not_after = t;
	}
	return 0;
}

static tls_ca *new_root(const tls_ca_opts *o, const X509_NAME *subject,
	int64_t now, char *err, size_t errlen)
{
	tls_ca *ca = ca_alloc(o, err, errlen);
	X509_NAME *name = NULL;
	if (!ca)
		return NULL;
	if (!subject) {
		name = X509_NAME_new();
		if (!name ||
				!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
					(const unsigned char *)ca->td, -1, -1, 0) ||
				!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
					(const unsigned char *)"Root CA", -1, -1, 0)) {
			fail(err, errlen, "cannot build the root's name");
			goto fail;
		}
		subject = name;
	}
	if (!(ca->key = keygen(ca->keygen))) {
		fail(err, errlen, "cannot generate the root's P-256 key");
		goto fail;
	}
	/* Istio's self-signed root starts at its creation, not backdated
	 * (genCertTemplateFromOptions: NotBefore = now). */
	ca->cert = make_cert(NULL, ca->key, subject, now,
		now + ca->opts.root_ttl_s, KIND_ROOT, NULL, NULL);
	if (!ca->cert) {
		fail(err, errlen, "cannot create the root certificate");
		goto fail;
	}
	X509_up_ref(ca->cert);
	ca->root = ca->cert;
	if (!(ca->chain = sk_X509_new_null())) {
		fail(err, errlen, "out of memory");
		goto fail;
	}
	if (ca_finish(ca, err, errlen) < 0)
		goto fail;
	X509_NAME_free(name);
	return ca;
fail:
	X509_NAME_free(name);
	tls_ca_free(ca);
	return NULL;
}

tls_ca *tls_ca_new_root(const tls_ca_opts *o, int64_t now, char *err,
	size_t errlen)
{
	return new_root(o, NULL, now, err, errlen);
}

tls_ca *tls_ca_reroot(const tls_ca *old, int64_t now, char *err, size_t errlen)
{
	return new_root(&old->opts, X509_get_subject_name(old->root), now, err,
		errlen);
}

tls_ca *tls_ca_new_intermediate(const tls_ca *parent, int64_t now,
	int64_t ttl_s, char *err, size_t errlen)
{
	if (ttl_s < 0) {
		fail(err, errlen, "intermediate lifetime must not be negative");
		return NULL;
	}
	tls_ca *ca = ca_alloc(&parent->opts, err, errlen);
	X509_NAME *name = X509_NAME_new();
	if (!ca)
		goto fail;
	if (!name ||
			!X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8,
				(const unsigned char *)ca->td, -1, -1, 0) ||
			!X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8,
				(const unsigned char *)"Intermediate CA", -1, -1, 0)) {
		fail(err, errlen, "cannot build the intermediate's name");
		goto fail;
	}
	if (!(ca->key = keygen(ca->keygen))) {
		fail(err, errlen, "cannot generate the intermediate's P-256 key");
		goto fail;
	}
	/* istiod signs CA certificates through the same template as workload
	 * ones (genCertTemplateFromCSR), so they are backdated alike. */
	ca->cert = make_cert(parent, ca->key, name, now - ca->opts.backdate_s,
		now + (ttl_s ? ttl_s : ca->opts.intermediate_ttl_s),
		KIND_INTERMEDIATE, NULL, NULL);
	if (!ca->cert) {
		fail(err, errlen, "cannot create the intermediate certificate");
		goto fail;
	}
	ca->root = parent->root;
	X509_up_ref(ca->root);
	ca->chain = chain_with(is_root(parent) ? NULL : parent->cert,
		parent->chain);
	if (!ca->chain) {
		fail(err, errlen, "out of memory");
		goto fail;
	}
	if (ca_finish(ca, err, errlen) < 0)
		goto fail;
	X509_NAME_free(name);
	return ca;
fail:
	X509_NAME_free(name);
	tls_ca_free(ca);
	return NULL;
}

static int no_password(char *buf, int size, int rwflag, void *u)
{
	(void)buf, (void)size, (void)rwflag, (void)u;
	return -1; /* encrypted keys are not supported: never prompt */
}

/* Append every certificate of a PEM file to out. */
static int read_certs(const char *path, STACK_OF(X509) *out, char *err,
	size_t errlen)
{
	BIO *b = BIO_new_file(path, "r");
	if (!b)
		return fail(err, errlen, "%s: cannot open: %s", path, strerror(errno));
	int n = 0;
	X509 *x;
	while ((x = PEM_read_bio_X509(b, NULL, no_password, NULL)) != NULL) {
		if (!sk_X509_push(out, x)) {
			X509_free(x);
			BIO_free(b);
			return fail(err, errlen, "out of memory");
		}
		n++;
	}
	/* The loop ends on "no start line" at the end of the file. */
	unsigned long e = ERR_peek_last_error();
	BIO_free(b);
	if (n == 0 || ERR_GET_LIB(e) != ERR_LIB_PEM ||
			ERR_GET_REASON(e) != PEM_R_NO_START_LINE)
		return fail(err, errlen, "%s: expected PEM certificates", path);
	ERR_clear_error();
	return 0;
}

tls_ca *tls_ca_load(const tls_ca_opts *o, const char *cert_path,
	const char *key_path, const char *chain_path, const char *root_path,
	char *err, size_t errlen)
{
	tls_ca *ca = ca_alloc(o, err, errlen);
	STACK_OF(X509) *certs = sk_X509_new_null();
	STACK_OF(X509) *more = sk_X509_new_null();
	STACK_OF(X509) *roots = sk_X509_new_null();
	X509_STORE *store = NULL;
	X509_STORE_CTX *ctx = NULL;
	BIO *kb = NULL;
	if (!ca)
		goto fail;
	if (!certs || !more || !roots) {
		fail(err, errlen, "out of memory");
		goto fail;
	}
	if (read_certs(cert_path, certs, err, errlen) < 0)
		goto fail;
	ca->cert = sk_X509_shift(certs);
	for (int i = 0; i < sk_X509_num(certs); i++) {
		X509 *x = sk_X509_value(certs, i);
		if (!sk_X509_push(more, x)) {
			fail(err, errlen, "out of memory");
			goto fail;
		}
		X509_up_ref(x);
	}
	if (chain_path && read_certs(chain_path, more, err, errlen) < 0)
		goto fail;
	if (root_path) {
		if (read_certs(root_path, roots, err, errlen) < 0)
			goto fail;
		ca->root = sk_X509_value(roots, 0);
		X509_up_ref(ca->root);
	} else if (X509_self_signed(ca->cert, 0) == 1) {
		ca->root = ca->cert;
		X509_up_ref(ca->root);
	} else if (sk_X509_num(more) > 0 &&
			X509_self_signed(sk_X509_value(more, sk_X509_num(more) - 1), 0) == 1) {
		ca->root = sk_X509_value(more, sk_X509_num(more) - 1);
		X509_up_ref(ca->root);
	} else {
		fail(err, errlen, "%s: not self-signed, and no root given (root-cert.pem)",
			cert_path);
		goto fail;
	}
	if (!(ca->chain = sk_X509_new_null())) {
		fail(err, errlen, "out of memory");
		goto fail;
	}
	for (int i = 0; i < sk_X509_num(more); i++) {
		X509 *x = sk_X509_value(more, i);
		if (!X509_cmp(x, ca->cert) || !X509_cmp(x, ca->root))
			continue;
		if (!sk_X509_push(ca->chain, x)) {
			fail(err, errlen, "out of memory");
			goto fail;
		}
		X509_up_ref(x);
	}
	if (!X509_cmp(ca->cert, ca->root) && ca->cert != ca->root) {
		X509_free(ca->root);
		ca->root = ca->cert;
		X509_up_ref(ca->root);
	}

	if (!(kb = BIO_new_file(key_path, "r"))) {
		fail(err, errlen, "%s: cannot open: %s", key_path, strerror(errno));
		goto fail;
	}
	if (!(ca->key = PEM_read_bio_PrivateKey(kb, NULL, no_password, NULL))) {
		fail(err, errlen, "%s: expected an unencrypted PEM private key", key_path);
		goto fail;
	}
	if (X509_check_private_key(ca->cert, ca->key) != 1) {
		fail(err, errlen, "%s: the key does not match the certificate in %s",
			key_path, cert_path);
		goto fail;
	}
	if (X509_check_ca(ca->cert) == 0) {
		fail(err, errlen, "%s: not a CA certificate (basicConstraints CA:TRUE "
			"needed to sign)", cert_path);
		goto fail;
	}
	/* The signatures must lead to the root; the dates are checked at
	 * each handshake, at that handshake's time. */
	store = X509_STORE_new();
	ctx = X509_STORE_CTX_new();
	if (!store || !ctx || X509_STORE_add_cert(store, ca->root) != 1 ||
			X509_STORE_CTX_init(ctx, store, ca->cert, ca->chain) != 1) {
		fail(err, errlen, "out of memory");
		goto fail;
	}
	X509_STORE_CTX_set_flags(ctx, X509_V_FLAG_NO_CHECK_TIME);
	if (X509_verify_cert(ctx) != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		fail(err, errlen, "%s: does not chain to the root: %s", cert_path,
			X509_verify_cert_error_string(e));
		goto fail;
	}
	if (ca_finish(ca, err, errlen) < 0)
		goto fail;
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	BIO_free(kb);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(more, X509_free);
	sk_X509_pop_free(roots, X509_free);
	ERR_clear_error();
	return ca;
fail:
	X509_STORE_CTX_free(ctx);
	X509_STORE_free(store);
	BIO_free(kb);
	sk_X509_pop_free(certs, X509_free);
	sk_X509_pop_free(more, X509_free);
	sk_X509_pop_free(roots, X509_free);
	tls_ca_free(ca);
	return NULL;
}

void tls_ca_free(tls_ca *ca)
{
	if (!ca)
		return;
	X509_free(ca->cert);
	X509_free(ca->root);
	EVP_PKEY_free(ca->key);
	sk_X509_pop_free(ca->chain, X509_free);
	ASN1_OCTET_STRING_free(ca->skid);
	EVP_PKEY_CTX_free(ca->keygen);
	free(ca->td);
	free(ca);
}

X509 *tls_ca_x509(const tls_ca *ca) { return ca->cert; }
EVP_PKEY *tls_ca_key(const tls_ca *ca) { return ca->key; }
X509 *tls_ca_root(const tls_ca *ca) { return ca->root; }
STACK_OF(X509) *tls_ca_chain(const tls_ca *ca) { return ca->chain; }
const char *tls_ca_trust_domain(const tls_ca *ca) { return ca->td; }

/* ---- workload certificates ---- */

int tls_ca_spiffe_id(char *out, size_t outlen, const char *td,
	const char *ns, const char *sa, char *err, size_t errlen)
{
	if (!td)
		td = TLS_CA_TRUST_DOMAIN;
	if (!ns)
		ns = TLS_CA_NAMESPACE;
	if (!td_ok(td))
		return fail(err, errlen, "trust domain \"%s\": expected letters a-z, "
			"digits, '.', '-' or '_'", td);
	if (!segment_ok(ns))
		return fail(err, errlen, "namespace \"%s\": expected letters, digits, "
			"'.', '-' or '_'", ns);
	if (!segment_ok(sa))
		return fail(err, errlen, "service account \"%s\": expected letters, "
			"digits, '.', '-' or '_'", sa ? sa : "");
	int n = snprintf(out, outlen, "spiffe://%s/ns/%s/sa/%s", td, ns, sa);
	if (n < 0 || (size_t)n >= outlen || (size_t)n >= TLS_CA_ID_MAX)
		return fail(err, errlen, "SPIFFE ID of %d bytes is too long", n);
	return 0;
}

void tls_ca_req_init(tls_ca_req *r, const char *ns, const char *sa)
{
	memset(r, 0, sizeof *r);
	r->ns = ns;
	r->sa = sa;
}

tls_ca_cert *tls_ca_issue(const tls_ca *ca, const tls_ca_req *r, int64_t now,
	char *err, size_t errlen)
{
	tls_ca_cert *c = calloc(1, sizeof *c);
	if (!c) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	if (tls_ca_spiffe_id(c->id, sizeof c->id,
			r->trust_domain ? r->trust_domain : ca->td, r->ns, r->sa,
			err, errlen) < 0)
		goto fail;
	if (r->window) {
		c->not_before = r->not_before;
		c->not_after = r->not_after;
		c->issued_at = r->not_before;
	} else {
		int64_t ttl = r->ttl_s;
		if (ttl < 0) {
			fail(err, errlen, "%s: negative lifetime", c->id);
			goto fail;
		}
		if (ttl == 0) {
			if (ca->chain_not_after <= now) {
				fail(err, errlen, "%s: the CA's chain has expired", c->id);
				goto fail;
			}
			ttl = ca->opts.workload_ttl_s;
			if (ttl > ca->chain_not_after - now)
				ttl = ca->chain_not_after - now;
		}
		c->issued_at = now;
		c->not_before = now - ca->opts.backdate_s;
		c->not_after = now + ttl;
	}
	if (c->not_after < c->not_before) {
		fail(err, errlen, "%s: notAfter before notBefore", c->id);
		goto fail;
	}
	for (size_t i = 0; i < r->n_dns; i++)
		if (!dns_ok(r->dns[i])) {
			fail(err, errlen, "%s: DNS name \"%s\": expected letters, "
				"digits, '-' and '.'", c->id, r->dns[i] ? r->dns[i] : "");
			goto fail;
		}
	for (size_t i = 0; i < r->n_ips; i++) {
		ASN1_OCTET_STRING *ip = r->ips[i] ? a2i_IPADDRESS(r->ips[i]) : NULL;
		ASN1_OCTET_STRING_free(ip);
		ERR_clear_error();
		if (!ip) {
			fail(err, errlen, "%s: IP address \"%s\": expected IPv4 or "
				"IPv6 in text", c->id, r->ips[i] ? r->ips[i] : "");
			goto fail;
		}
	}
	if (!(c->key = keygen(ca->keygen))) {
		fail(err, errlen, "%s: cannot generate a P-256 key", c->id);
		goto fail;
	}
	c->x509 = make_cert(ca, c->key, NULL, c->not_before, c->not_after,
		KIND_LEAF, c->id, r);
	if (!c->x509) {
		fail(err, errlen, "%s: cannot create the certificate", c->id);
		goto fail;
	}
	c->chain = chain_with(is_root(ca) ? NULL : ca->cert, ca->chain);
	if (!c->chain) {
		fail(err, errlen, "out of memory");
		goto fail;
	}
	return c;
fail:
	tls_ca_cert_free(c);
	return NULL;
}

tls_ca_cert *tls_ca_issue_workload(const tls_ca *ca, const char *ns,
	const char *sa, int64_t now, char *err, size_t errlen)
{
	tls_ca_req r;
	tls_ca_req_init(&r, ns, sa);
	return tls_ca_issue(ca, &r, now, err, errlen);
}

tls_ca_cert *tls_ca_issue_expired(const tls_ca *ca, const char *ns,
	const char *sa, int64_t now, char *err, size_t errlen)
{
	tls_ca_req r;
	tls_ca_req_init(&r, ns, sa);
	r.window = 1;
	r.not_after = now - 1;
	int64_t issued = r.not_after - ca->opts.workload_ttl_s;
	r.not_before = issued - ca->opts.backdate_s;
	tls_ca_cert *c = tls_ca_issue(ca, &r, now, err, errlen);
	if (c)
		c->issued_at = issued;
	return c;
}

void tls_ca_cert_free(tls_ca_cert *c)
{
	if (!c)
		return;
	X509_free(c->x509);
	EVP_PKEY_free(c->key);
	sk_X509_pop_free(c->chain, X509_free);
	free(c);
}

X509 *tls_ca_cert_x509(const tls_ca_cert *c) { return c->x509; }
EVP_PKEY *tls_ca_cert_key(const tls_ca_cert *c) { return c->key; }
STACK_OF(X509) *tls_ca_cert_chain(const tls_ca_cert *c) { return c->chain; }
const char *tls_ca_cert_id(const tls_ca_cert *c) { return c->id; }
int64_t tls_ca_cert_issued_at(const tls_ca_cert *c) { return c->issued_at; }
int64_t tls_ca_cert_not_before(const tls_ca_cert *c) { return c->not_before; }
int64_t tls_ca_cert_not_after(const tls_ca_cert *c) { return c->not_after; }

/* ---- rotation ---- */

int64_t tls_ca_rotate_at(int64_t created, int64_t expires, double grace_ratio,
	double jitter, double u)
{
	if (expires <= created)
		return created;
	/* Istio's rotateTime: the grace ratio moved up or down by at most
	 * the jitter, kept in [0, 1]; the grace period is that share of the
	 * time from creation to expiry, truncated as Go converts a float to
	 * a time.Duration; renew that long before expiry. */
	double r = grace_ratio + jitter * (2.0 * u - 1.0);
	if (r > 1.0)
		r = 1.0;
	if (!(r >= 0.0)) /* also NaN */
		r = 0.0;
	int64_t grace = (int64_t)(r * (double)(expires - created));
	return expires - grace;
}

int64_t tls_ca_cert_rotate_at(const tls_ca_cert *c, double grace_ratio,
	double jitter, double u)
{
	return tls_ca_rotate_at(c->issued_at, c->not_after, grace_ratio, jitter, u);
}

/* ---- verification ---- */

const char *tls_ca_verdict_name(tls_ca_verdict v)
{
	switch (v) {
	case TLS_CA_OK: return "ok";
	case TLS_CA_EXPIRED: return "expired";
	case TLS_CA_UNKNOWN_CA: return "unknown_ca";
	case TLS_CA_ID_MISMATCH: return "identity_mismatch";
	case TLS_CA_OTHER: return "other";
	}
	return "other";
}

tls_ca_verdict tls_ca_classify_x509_error(int e)
{
	switch (e) {
	case X509_V_OK:
		return TLS_CA_OK;
	case X509_V_ERR_CERT_HAS_EXPIRED:
	case X509_V_ERR_CERT_NOT_YET_VALID:
		return TLS_CA_EXPIRED;
	/* The chain does not reach a trusted root: a root we do not hold, a
	 * self-signed peer, an issuer missing from what the peer sent. */
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
	case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
	case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
	case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
	case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
	case X509_V_ERR_CERT_UNTRUSTED:
		return TLS_CA_UNKNOWN_CA;
	default:
		return TLS_CA_OTHER;
	}
}

X509_STORE *tls_ca_store_new(X509 *const *roots, size_t n, char *err,
	size_t errlen)
{
	if (n == 0) {
		fail(err, errlen, "a trust bundle needs at least one root");
		return NULL;
	}
	X509_STORE *s = X509_STORE_new();
	if (!s) {
		fail(err, errlen, "out of memory");
		return NULL;
	}
	for (size_t i = 0; i < n; i++) {
		/* The same root twice is harmless: OpenSSL keeps one. */
		if (X509_STORE_add_cert(s, roots[i]) != 1) {
			fail(err, errlen, "cannot add root %zu to the trust store", i);
			X509_STORE_free(s);
			return NULL;
		}
	}
	return s;
}

int tls_ca_peer_id(X509 *cert, char *id, size_t idlen)
{
	GENERAL_NAMES *gens = X509_get_ext_d2i(cert, NID_subject_alt_name, NULL, NULL);
	const ASN1_IA5STRING *uri = NULL;
	int n_uri = 0;
	for (int i = 0; gens && i < sk_GENERAL_NAME_num(gens); i++) {
		const GENERAL_NAME *g = sk_GENERAL_NAME_value(gens, i);
		if (g->type == GEN_URI) {
			uri = g->d.uniformResourceIdentifier;
			n_uri++;
		}
	}
	int rc = -1;
	if (n_uri == 1) {
		const char *s = (const char *)ASN1_STRING_get0_data(uri);
		size_t len = (size_t)ASN1_STRING_length(uri);
		if (len > 9 && !strncmp(s, "spiffe://", 9) && memchr(s, 0, len) == NULL &&
				len < idlen) {
			memcpy(id, s, len);
			id[len] = 0;
			rc = 0;
		}
	}
	GENERAL_NAMES_free(gens);
	ERR_clear_error(); /* a missing SAN is an answer, not an error */
	return rc;
}

tls_ca_verdict tls_ca_check_id(X509 *leaf, const tls_ca_policy *p, char *id,
	size_t idlen, char *err, size_t errlen)
{
	char buf[TLS_CA_ID_MAX];
	if (id && idlen)
		*id = 0;
	if (tls_ca_peer_id(leaf, buf, sizeof buf) < 0) {
		fail(err, errlen, "the peer's certificate has no SPIFFE ID "
			"(exactly one spiffe:// URI SAN)");
		return TLS_CA_ID_MISMATCH;
	}
	if (id && idlen)
		snprintf(id, idlen, "%s", buf);
	if (!p)
		return TLS_CA_OK;
	if (p->trust_domain) {
		const char *td = buf + 9;
		size_t tdlen = strcspn(td, "/");
		if (tdlen != strlen(p->trust_domain) ||
				strncmp(td, p->trust_domain, tdlen) != 0) {
			fail(err, errlen, "%s: not in trust domain %s", buf, p->trust_domain);
			return TLS_CA_ID_MISMATCH;
		}
	}
	if (p->n_ids > 0) {
		for (size_t i = 0; i < p->n_ids; i++)
			if (!strcmp(buf, p->ids[i]))
				return TLS_CA_OK;
		fail(err, errlen, "%s: not an allowed identity", buf);
		return TLS_CA_ID_MISMATCH;
	}
	return TLS_CA_OK;
}

tls_ca_verdict tls_ca_verify(X509_STORE *store, X509 *leaf,
	STACK_OF(X509) *untrusted, int64_t at, const tls_ca_policy *p, char *id,
	size_t idlen, char *err, size_t errlen)
{
	if (id && idlen)
		*id = 0;
	X509_STORE_CTX *ctx = X509_STORE_CTX_new();
	if (!ctx || X509_STORE_CTX_init(ctx, store, leaf, untrusted) != 1) {
		X509_STORE_CTX_free(ctx);
		fail(err, errlen, "cannot set up chain verification");
		return TLS_CA_OTHER;
	}
	X509_VERIFY_PARAM_set_time(X509_STORE_CTX_get0_param(ctx), (time_t)at);
	if (p && p->purpose && X509_STORE_CTX_set_purpose(ctx, p->purpose) != 1) {
		X509_STORE_CTX_free(ctx);
		fail(err, errlen, "unknown purpose %d", p->purpose);
		return TLS_CA_OTHER;
	}
	int ok = X509_verify_cert(ctx);
	if (ok != 1) {
		int e = X509_STORE_CTX_get_error(ctx);
		int depth = X509_STORE_CTX_get_error_depth(ctx);
		tls_ca_verdict v = e == X509_V_OK ? TLS_CA_OTHER : tls_ca_classify_x509_error(e);
		fail(err, errlen, "certificate at depth %d: %s", depth,
			X509_verify_cert_error_string(e));
		X509_STORE_CTX_free(ctx);
		return v;
	}
	X509_STORE_CTX_free(ctx);
	return tls_ca_check_id(leaf, p, id, idlen, err, errlen);
}

/* ---- files ---- */

/* Write data to path through a new temporary file in the same directory,
 * created with O_EXCL and `mode`, then renamed over path. */
static int write_file(const char *path, const char *data, size_t len,
	mode_t mode, char *err, size_t errlen)
{
	static unsigned counter;
	char tmp[4096];
	int fd = -1;
	for (int tries = 0; fd < 0 && tries < 100; tries++) {
		int n = snprintf(tmp, sizeof tmp, "%s.tmp-%ld-%u", path, (long)getpid(),
			counter++);
		if (n < 0 || (size_t)n >= sizeof tmp)
			return fail(err, errlen, "%s: path too long", path);
		fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
		if (fd < 0 && errno != EEXIST)
			return fail(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
	}
	if (fd < 0)
		return fail(err, errlen, "%s: cannot create a temporary file", path);
	size_t off = 0;
	while (off < len) {
		ssize_t w = write(fd, data + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0) {
			int e = errno;
			close(fd);
			unlink(tmp);
			return fail(err, errlen, "%s: write: %s", tmp, strerror(e));
		}
		off += (size_t)w;
	}
	if (close(fd) < 0) {
		int e = errno;
		unlink(tmp);
		return fail(err, errlen, "%s: close: %s", tmp, strerror(e));
	}
	if (rename(tmp, path) < 0) {
		int e = errno;
		unlink(tmp);
		return fail(err, errlen, "%s: rename: %s", path, strerror(e));
	}
	return 0;
}

static int write_bio(const char *path, BIO *b, mode_t mode, char *err,
	size_t errlen)
{
	char *data = NULL;
	long len = BIO_get_mem_data(b, &data);
	if (len < 0)
		return fail(err, errlen, "%s: cannot encode", path);
	return write_file(path, data, (size_t)len, mode, err, errlen);
}

int tls_ca_write_certs(const char *path, X509 *const *certs, size_t n,
	char *err, size_t errlen)
{
	BIO *b = BIO_new(BIO_s_mem());
	if (!b)
		return fail(err, errlen, "out of memory");
	for (size_t i = 0; i < n; i++)
		if (PEM_write_bio_X509(b, certs[i]) != 1) {
			BIO_free(b);
			return fail(err, errlen, "%s: cannot encode certificate %zu", path, i);
		}
	int rc = write_bio(path, b, 0644, err, errlen);
	BIO_free(b);
	return rc;
}

int tls_ca_write_key(const char *path, EVP_PKEY *key, char *err, size_t errlen)
{
	/* Secure-heap memory where available: cleared when freed. */
	BIO *b = BIO_new(BIO_s_secmem());
	if (!b)
		return fail(err, errlen, "out of memory");
	if (PEM_write_bio_PrivateKey(b, key, NULL, NULL, 0, NULL, NULL) != 1) {
		BIO_free(b);
		return fail(err, errlen, "%s: cannot encode the key", path);
	}
	int rc = write_bio(path, b, 0600, err, errlen);
	BIO_free(b);
	return rc;
}

/* <dir>/<name><suffix> into out; -1 (with err) if name has a '/' or the
 * path does not fit. */
static int file_path(char *out, size_t outlen, const char *dir,
	const char *name, const char *suffix, char *err, size_t errlen)
{
	if (!*name || strchr(name, '/'))
		return fail(err, errlen, "file name \"%s\": expected no '/'", name);
	int n = snprintf(out, outlen, "%s/%s%s", dir, name, suffix);
	if (n < 0 || (size_t)n >= outlen)
		return fail(err, errlen, "%s/%s%s: path too long", dir, name, suffix);
	return 0;
}

/* Write first, then the stack, to path. */
static int write_chain(const char *path, X509 *first, STACK_OF(X509) *rest,
	char *err, size_t errlen)
{
	size_t n = 1 + (size_t)sk_X509_num(rest);
	X509 **v = malloc(n * sizeof *v);
	if (!v)
		return fail(err, errlen, "out of memory");
	v[0] = first;
	for (size_t i = 1; i < n; i++)
		v[i] = sk_X509_value(rest, (int)i - 1);
	int rc = tls_ca_write_certs(path, v, n, err, errlen);
	free(v);
	return rc;
}

int tls_ca_write_pem(const char *dir, const char *name, const tls_ca_cert *c,
	char *err, size_t errlen)
{
	char path[4096];
	if (file_path(path, sizeof path, dir, name, ".pem", err, errlen) < 0 ||
			write_chain(path, c->x509, c->chain, err, errlen) < 0 ||
			file_path(path, sizeof path, dir, name, "-key.pem", err, errlen) < 0 ||
			tls_ca_write_key(path, c->key, err, errlen) < 0)
		return -1;
	return 0;
}

int tls_ca_write_ca_pem(const char *dir, const char *name, const tls_ca *ca,
	int with_key, char *err, size_t errlen)
{
	char path[4096];
	if (file_path(path, sizeof path, dir, name, ".pem", err, errlen) < 0 ||
			write_chain(path, ca->cert, ca->chain, err, errlen) < 0)
		return -1;
	if (with_key &&
			(file_path(path, sizeof path, dir, name, "-key.pem", err, errlen) < 0 ||
			 tls_ca_write_key(path, ca->key, err, errlen) < 0))
		return -1;
	return 0;
}

static int64_t later_not_before(int64_t have, X509 *x)
{
	int64_t t;
	if (!x || have == INT64_MIN)
		return have;
	if (asn1_time_unix(X509_get0_notBefore(x), &t) < 0)
		return INT64_MIN;
	return t > have ? t : have;
}

int64_t tls_ca_valid_from(const tls_ca *ca)
{
	int64_t t = later_not_before(INT64_MIN + 1, tls_ca_x509(ca));
	STACK_OF(X509) *ch = tls_ca_chain(ca);
	for (int i = 0; ch && i < sk_X509_num(ch); i++)
		t = later_not_before(t, sk_X509_value(ch, i));
	return later_not_before(t, tls_ca_root(ca));
}
