/*
 * tls_ca.h - the built-in certificate authority for mutual TLS, modelled on
 * Istio's (istiod's self-signed CA, or a plug-in CA with an intermediate).
 *
 * Host-side code on OpenSSL, used by both the simulator and live mode; the
 * shared agent logic never includes it. What it does:
 *
 *   - roots and intermediates: a self-signed root created per run, in
 *     memory (tls_ca_new_root), or loaded from PEM files (tls_ca_load, the
 *     files of Istio's plug-in CA), and intermediates under either
 *     (tls_ca_new_intermediate);
 *   - workload certificates carrying a SPIFFE identity,
 *     spiffe://<trust-domain>/ns/<namespace>/sa/<service-account>, in a
 *     URI SAN, as Istio's CA issues them (tls_ca_issue);
 *   - when a workload should renew its certificate, by the Istio agent's
 *     rule (tls_ca_rotate_at);
 *   - the checks the TLS code makes of a peer: a trust store for a bundle of
 *     roots, chain verification at a given time, the peer's SPIFFE ID, and
 *     the class of a failure, which the report counts (tls_ca_verify);
 *   - the faults a scenario injects: an already-expired certificate, a
 *     certificate from another trust domain's root, a new root with or
 *     without the old one still trusted (see "Faults" below);
 *   - writing keys and certificates as PEM files (tls_ca_write_*).
 *
 * Time is the caller's: every certificate is issued "at" a clock value in
 * seconds since the Unix epoch (int64_t), the simulator's virtual time
 * mapped to a fixed epoch or live mode's wall clock. Nothing here reads the
 * clock. Keys, signatures and serial numbers do come from OpenSSL's random
 * generator, so two runs give different bytes but the same verdicts.
 *
 * Keys are ECDSA P-256 everywhere (a CA loaded from files may hold any key
 * type OpenSSL signs with; what it issues is still P-256). Signatures are
 * ECDSA with SHA-256.
 *
 * Errors: constructors return NULL and functions a negative number; both
 * fill the caller's buffer `err` (errlen bytes, may be NULL/0) with a
 * message that ends with what OpenSSL said, and leave OpenSSL's error queue
 * empty. A failed call changes nothing the caller holds (files aside: see
 * tls_ca_write_pem).
 *
 * Not thread-safe: one thread uses a tls_ca and what it issued at a time
 * (certificates and stores may be shared read-only once built).
 */
#ifndef TLS_CA_H
#define TLS_CA_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Istio's defaults, with where they are set. */
/* The self-signed root's lifetime: DefaultSelfSignedCACertTTL, 3650 days
 * (istio security/pkg/cmd/constants.go). */
#define TLS_CA_ROOT_TTL_S ((int64_t)3650 * 24 * 3600)
/* An intermediate's: DefaultRequestedCACertTTL, 365 days, the lifetime
 * Citadel asked an upstream CA for when it ran as an intermediate (same
 * file; Istio's tools/certs samples make intermediates of 730 days). */
#define TLS_CA_INTERMEDIATE_TTL_S ((int64_t)365 * 24 * 3600)
/* A workload certificate's: the agent's SECRET_TTL, 24h (istio
 * pilot/cmd/pilot-agent/options/options.go). */
#define TLS_CA_WORKLOAD_TTL_S ((int64_t)24 * 3600)
/* How far notBefore is backdated on issued certificates:
 * ClockSkewGracePeriod, 2 minutes (istio security/pkg/pki/util/
 * generate_cert.go, genCertTemplateFromCSR: NotBefore = now - 2m, NotAfter
 * = now + ttl). Istio does not backdate its self-signed root. */
#define TLS_CA_BACKDATE_S ((int64_t)120)
/* Renewal: SECRET_GRACE_PERIOD_RATIO 0.5 and SECRET_GRACE_PERIOD_RATIO_JITTER
 * 0.01 (options.go). */
#define TLS_CA_GRACE_RATIO 0.5
#define TLS_CA_GRACE_JITTER 0.01

#define TLS_CA_TRUST_DOMAIN "cluster.local"
#define TLS_CA_NAMESPACE "default"

/* The longest SPIFFE ID this module builds or accepts, with its NUL (the
 * SPIFFE ID spec: support IDs up to 2048 bytes, make none longer). */
#define TLS_CA_ID_MAX 2049

/* ---- certificate authorities ---- */

typedef struct tls_ca_opts {
	const char *trust_domain; /* "cluster.local" (also if NULL);
	                           * [a-z0-9.-_] only */
	int64_t root_ttl_s;       /* TLS_CA_ROOT_TTL_S */
	int64_t intermediate_ttl_s; /* TLS_CA_INTERMEDIATE_TTL_S */
	int64_t workload_ttl_s;   /* TLS_CA_WORKLOAD_TTL_S */
	int64_t backdate_s;       /* TLS_CA_BACKDATE_S; >= 0 */
} tls_ca_opts;

/* Fill o with Istio's defaults (above). The strings are borrowed: a
 * tls_ca copies what it keeps. */
void tls_ca_opts_init(tls_ca_opts *o);

/* A signing CA: its certificate and key, the certificates between it and
 * its root (none for a root), its root, and its options. It owns copies
 * of all of them and refers to no other tls_ca, so CAs are freed in any
 * order. */
typedef struct tls_ca tls_ca;

/* A new self-signed root with a new P-256 key, valid from `now` (not
 * backdated, as Istio's self-signed root) for o->root_ttl_s. Subject
 * O=<trust domain>, CN=Root CA; basicConstraints critical CA:TRUE;
 * keyUsage critical keyCertSign, cRLSign; subject key identifier.
 * o NULL: defaults. Returns a new CA (free with tls_ca_free), NULL on
 * error. */
tls_ca *tls_ca_new_root(const tls_ca_opts *o, int64_t now,
	char *err, size_t errlen);

/* A new intermediate CA signed by `parent`, with a new P-256 key, valid
 * from now - backdate for ttl_s seconds from now (0: the parent's
 * intermediate_ttl_s), as istiod plugged in under a root. Subject
 * O=<trust domain>, CN=Intermediate CA; CA:TRUE, pathlen:0. It inherits
 * the parent's options and trust domain. The parent is borrowed and may be
 * freed afterwards. Returns a new CA, NULL on error. */
tls_ca *tls_ca_new_intermediate(const tls_ca *parent, int64_t now,
	int64_t ttl_s, char *err, size_t errlen);

/* A CA from PEM files, the files of Istio's plug-in CA:
 *   cert_path   the signing certificate (ca-cert.pem); must be a CA;
 *   key_path    its private key (ca-key.pem), unencrypted;
 *   chain_path  NULL, or the chain above it (cert-chain.pem): copies of
 *               the signing certificate and of the root in it are skipped;
 *   root_path   NULL when the signing certificate is self-signed or the
 *               chain file ends with the root; else the root
 *               (root-cert.pem).
 * Checks that the key matches the certificate and that the chain's
 * signatures lead to the root (not their dates: whether they are valid
 * is a question for the time of each handshake). o gives the trust domain
 * and lifetimes of what this CA issues (NULL: defaults). Returns a new CA,
 * NULL on error (the message names the file). */
tls_ca *tls_ca_load(const tls_ca_opts *o, const char *cert_path,
	const char *key_path, const char *chain_path, const char *root_path,
	char *err, size_t errlen);

/* A new self-signed root for the same trust domain and options as `old`
 * (and the same subject name, as Istio's root rotation keeps it), with a
 * new key, valid from `now`. For re-rooting: issue new certificates from
 * it (or from an intermediate under it), and trust either both roots
 * (overlap) or the new one only. `old` is borrowed. Returns a new CA, NULL
 * on error. */
tls_ca *tls_ca_reroot(const tls_ca *old, int64_t now, char *err,
	size_t errlen);

/* Free a CA and everything it owns. NULL is fine. Certificates it issued
 * and stores built from its root stay valid. */
void tls_ca_free(tls_ca *ca);

/* Borrowed views of a CA, valid until tls_ca_free: its certificate, its
 * key, its root (the certificate itself for a root), the certificates
 * between it and the root (empty for a root; nearest first), its trust
 * domain. */
X509 *tls_ca_x509(const tls_ca *ca);
EVP_PKEY *tls_ca_key(const tls_ca *ca);
X509 *tls_ca_root(const tls_ca *ca);
STACK_OF(X509) *tls_ca_chain(const tls_ca *ca);
const char *tls_ca_trust_domain(const tls_ca *ca);

/* The latest notBefore (seconds since the Unix epoch) of ca's certificate,
 * the certificates above it and its root: from then on the whole chain
 * has begun. INT64_MIN if a date cannot be read. */
int64_t tls_ca_valid_from(const tls_ca *ca);

/* ---- workload certificates ---- */

/* Build "spiffe://<td>/ns/<ns>/sa/<sa>" into out (outlen bytes). td NULL:
 * "cluster.local"; ns NULL: "default"; sa required. The trust domain is
 * [a-z0-9.-_]; namespace and service account are [A-Za-z0-9.-_], not "."
 * or "..", as the SPIFFE ID spec allows. Returns 0, -1 on a bad part or a
 * too small buffer (err says which). */
int tls_ca_spiffe_id(char *out, size_t outlen, const char *td,
	const char *ns, const char *sa, char *err, size_t errlen);

/* What to issue. Zero it (or use tls_ca_req_init) and set sa. */
typedef struct tls_ca_req {
	const char *ns;           /* namespace; NULL: "default" */
	const char *sa;           /* service account; required (the service
	                           * name, by meshsim's convention) */
	const char *trust_domain; /* NULL: the CA's. Another value puts a
	                           * foreign identity in a certificate the CA
	                           * signs (an identity-mismatch fault). */
	int64_t ttl_s;            /* 0: the CA's workload_ttl_s, cut so as not
	                           * to outlive the CA's chain, as istiod caps
	                           * its default TTL (security/pkg/pki/ca/
	                           * ca.go, minTTL); an error if the chain has
	                           * expired at `now`. An explicit ttl_s is
	                           * used as given, as istiod does. */
	int window;               /* 1: use not_before/not_after as given
	                           * (ttl_s, backdate and the cap ignored;
	                           * issued_at = not_before) */
	int64_t not_before, not_after;
	/* Names besides the SPIFFE ID in the subjectAltName, for peers that
	 * check a host name rather than a SPIFFE ID (curl, a browser), as
	 * istiod's own serving certificate carries its service's DNS names:
	 * dns[0..n_dns-1] host names, ips[0..n_ips-1] IPv4 or IPv6 addresses
	 * in text. Borrowed. Usually none (zero). */
	const char *const *dns;
	size_t n_dns;
	const char *const *ips;
	size_t n_ips;
} tls_ca_req;

void tls_ca_req_init(tls_ca_req *r, const char *ns, const char *sa);

/* An issued certificate: the leaf, its new P-256 private key, the chain
 * to send with it (the issuing CA's certificate and any above it, not the
 * root: Istio's cert-chain.pem), the identity in it, and when it was
 * issued. Owns all of these. */
typedef struct tls_ca_cert tls_ca_cert;

/* Issue a workload certificate at `now`: a new P-256 key; serial 128
 * random bits; empty subject; subjectAltName critical (the subject is
 * empty, RFC 5280 4.2.1.6; Istio marks it critical too) holding one URI,
 * the SPIFFE ID; keyUsage critical digitalSignature, keyEncipherment;
 * extendedKeyUsage serverAuth, clientAuth; basicConstraints critical
 * CA:FALSE; subject and authority key identifiers (and r's DNS names and
 * IP addresses after the URI, if any). Valid from
 * now - backdate to now + ttl (Istio: NotAfter = now + ttl). `ca` and r
 * are borrowed. Returns a new certificate (free with tls_ca_cert_free),
 * NULL on error. */
tls_ca_cert *tls_ca_issue(const tls_ca *ca, const tls_ca_req *r,
	int64_t now, char *err, size_t errlen);

/* Shorthand: tls_ca_issue with defaults for namespace ns (NULL: default)
 * and service account sa. */
tls_ca_cert *tls_ca_issue_workload(const tls_ca *ca, const char *ns,
	const char *sa, int64_t now, char *err, size_t errlen);

void tls_ca_cert_free(tls_ca_cert *c);

/* Borrowed views, valid until tls_ca_cert_free: the leaf, its key, the
 * chain to send with it (nearest first, without the root), its SPIFFE ID.
 * Times are seconds since the Unix epoch: issued_at is the `now` it was
 * issued at (Istio's SecretItem.CreatedTime). */
X509 *tls_ca_cert_x509(const tls_ca_cert *c);
EVP_PKEY *tls_ca_cert_key(const tls_ca_cert *c);
STACK_OF(X509) *tls_ca_cert_chain(const tls_ca_cert *c);
const char *tls_ca_cert_id(const tls_ca_cert *c);
int64_t tls_ca_cert_issued_at(const tls_ca_cert *c);
int64_t tls_ca_cert_not_before(const tls_ca_cert *c);
int64_t tls_ca_cert_not_after(const tls_ca_cert *c);

/* ---- rotation ---- */

/* When a workload renews its certificate, by the Istio agent's rule
 * (security/pkg/nodeagent/cache/secretcache.go, rotateTime):
 *
 *   r  = clamp(grace_ratio + jitter * (2u - 1), 0, 1)
 *   at = expires - trunc(r * (expires - created))
 *
 * created is when the certificate was obtained (the agent's CreatedTime,
 * not the backdated notBefore), expires its notAfter. So with the
 * defaults (ratio 0.5, jitter 0.01) a 24h certificate renews 12h after
 * issue, give or take 14.4 minutes. Istio draws the jitter as
 * rand.Float64() * jitter with a random sign: uniform on (-jitter,
 * jitter), as 2u - 1 is for u uniform in [0, 1). The caller passes u
 * (rng_uniform of the workload's stream), so the result is deterministic.
 * Any time unit works (the result is in the unit of the arguments; pass
 * nanoseconds for sub-second precision). A certificate with expires <=
 * created renews at once: returns created. */
int64_t tls_ca_rotate_at(int64_t created, int64_t expires,
	double grace_ratio, double jitter, double u);

/* The same for an issued certificate, in seconds since the Unix epoch. */
int64_t tls_ca_cert_rotate_at(const tls_ca_cert *c, double grace_ratio,
	double jitter, double u);

/* ---- verification ---- */

/* The outcome of checking a peer, and the report counter it goes to. */
typedef enum tls_ca_verdict {
	TLS_CA_OK = 0,
	TLS_CA_EXPIRED,       /* a certificate in the chain has expired or is
	                       * not yet valid at the given time */
	TLS_CA_UNKNOWN_CA,    /* the chain does not lead to a trusted root */
	TLS_CA_ID_MISMATCH,   /* a trusted chain, but the SPIFFE ID is
	                       * missing, of another trust domain, or not
	                       * allowed */
	TLS_CA_OTHER          /* anything else (bad signature, not a CA,
	                       * wrong key usage, no memory, ...) */
} tls_ca_verdict;

/* "ok", "expired", "unknown_ca", "identity_mismatch", "other". */
const char *tls_ca_verdict_name(tls_ca_verdict v);

/* The class of an X509_V_ERR_* code (X509_STORE_CTX_get_error, or
 * SSL_get_verify_result in the TLS code). X509_V_OK is TLS_CA_OK. */
tls_ca_verdict tls_ca_classify_x509_error(int x509_err);

/* A trust store holding the roots roots[0..n-1] (n >= 1), for a bundle of
 * one root or, while a root is rotated, the old and the new. The roots are
 * borrowed (the store takes its own references). Partial chains are not
 * accepted: a chain must end at one of these roots. Returns a new store
 * (X509_STORE_free), NULL on error. */
X509_STORE *tls_ca_store_new(X509 *const *roots, size_t n, char *err,
	size_t errlen);

/* Which peers are acceptable: SPIFFE IDs in trust_domain (NULL: any
 * domain), and, when n_ids > 0, only the IDs ids[0..n_ids-1] (exact,
 * byte for byte). purpose: 0 to skip the key-purpose check, else
 * X509_PURPOSE_SSL_CLIENT (a server checking its client) or
 * X509_PURPOSE_SSL_SERVER (a client checking its server). */
typedef struct tls_ca_policy {
	const char *trust_domain;
	const char *const *ids;
	size_t n_ids;
	int purpose;
} tls_ca_policy;

/* The SPIFFE ID in cert's URI SAN into id (idlen bytes). Returns 0; -1
 * when there is none, when there are several (a SPIFFE SVID has exactly
 * one), or when it does not fit. cert is borrowed. */
int tls_ca_peer_id(X509 *cert, char *id, size_t idlen);

/* Check a peer's identity against a policy (no chain check): TLS_CA_OK
 * or TLS_CA_ID_MISMATCH. id, when not NULL, receives the peer's SPIFFE ID
 * (empty when none). err says what did not match. */
tls_ca_verdict tls_ca_check_id(X509 *leaf, const tls_ca_policy *p,
	char *id, size_t idlen, char *err, size_t errlen);

/* Verify a peer's chain as at time `at` (seconds since the Unix epoch,
 * X509_VERIFY_PARAM_set_time): leaf, with the intermediates it sent
 * (untrusted, may be NULL), must chain to a root in store, every
 * certificate valid at `at` (OpenSSL counts a certificate expired from
 * its notAfter second on); then its identity must pass p (NULL: any
 * SPIFFE ID in any domain; a missing ID still fails). Returns the
 * verdict; id as in tls_ca_check_id; err says why when not OK. All
 * arguments are borrowed. */
tls_ca_verdict tls_ca_verify(X509_STORE *store, X509 *leaf,
	STACK_OF(X509) *untrusted, int64_t at, const tls_ca_policy *p,
	char *id, size_t idlen, char *err, size_t errlen);

/* ---- files ----
 *
 * In-memory use is the default; nothing is written unless asked. Files
 * are written whole, then renamed into place, so a reader never sees half
 * a file and a rotation replaces the old one atomically. A private key's
 * file is created with open(O_CREAT | O_EXCL, 0600): it never exists with
 * other permission bits, not even for a moment (the umask may only take
 * bits away). Certificates are 0644 (less the umask). */

/* Write certs[0..n-1] as PEM to path. Returns 0, -1 on error. */
int tls_ca_write_certs(const char *path, X509 *const *certs, size_t n,
	char *err, size_t errlen);

/* Write key as unencrypted PKCS#8 PEM to path, mode 0600. Returns 0, -1 on
 * error. */
int tls_ca_write_key(const char *path, EVP_PKEY *key, char *err,
	size_t errlen);

/* Write an issued certificate to directory dir (which must exist):
 * <dir>/<name>.pem, the leaf then its chain (Istio's cert-chain.pem), and
 * <dir>/<name>-key.pem, the key. Returns 0, -1 on error (a file written
 * before the error stays). */
int tls_ca_write_pem(const char *dir, const char *name,
	const tls_ca_cert *c, char *err, size_t errlen);

/* Write a CA to directory dir: <dir>/<name>.pem, its certificate then
 * its chain up to but not including the root (the root alone for a
 * root), and, if with_key, <dir>/<name>-key.pem. Returns 0, -1 on error. */
int tls_ca_write_ca_pem(const char *dir, const char *name,
	const tls_ca *ca, int with_key, char *err, size_t errlen);

/* ---- faults ----
 *
 * The faults a scenario injects, from the calls above:
 *   expired certificate:   tls_ca_issue_expired below;
 *   not yet valid:         tls_ca_req with window set in the future;
 *   another trust domain:  a second root, tls_ca_new_root with
 *                          trust_domain "other.local": its certificates
 *                          fail as TLS_CA_UNKNOWN_CA where only the first
 *                          root is trusted;
 *   foreign identity:      tls_ca_req.trust_domain set, signed by the
 *                          trusted CA: TLS_CA_ID_MISMATCH;
 *   re-root:               tls_ca_reroot, then issue from the new root;
 *                          a store of both roots (overlap) accepts old and
 *                          new certificates, a store of the new root alone
 *                          fails the old ones as TLS_CA_UNKNOWN_CA. */

/* A workload certificate that has already expired at `now`, as if issued
 * one lifetime (the CA's workload_ttl_s) before: issued_at = now - 1 -
 * lifetime, notBefore = issued_at - backdate, notAfter = now - 1. Returns
 * a new certificate, NULL on error. */
tls_ca_cert *tls_ca_issue_expired(const tls_ca *ca, const char *ns,
	const char *sa, int64_t now, char *err, size_t errlen);

#endif
