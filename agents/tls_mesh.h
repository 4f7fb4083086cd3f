/*
 * tls_mesh.h - a scenario's mesh PKI and its workloads' identities: what
 * istiod's CA and each Istio agent (pilot-agent's secret cache) do, for
 * both hosts. Host-side code on OpenSSL (agents/tls_ca.h underneath); the
 * shared agent logic never includes it.
 *
 * Workloads. Workload w is the sidecar of pod w (agents/live.h's
 * numbering, the simulator's too): instance k of the mesh (services in
 * scenario order, their instances in order) is w = k; load client c is
 * w = ninst + c. A service instance's identity is its service's namespace
 * and service account; a load client has one when the scenario gives it a
 * principal, else it is outside the mesh: no certificate, plaintext only.
 *
 * Time. Everything is in run time, mesh_time ns from the run's start (the
 * simulator's virtual clock, live mode's CLOCK_MONOTONIC - t0); epoch_ns
 * (given to tls_mesh_new) maps it to the calendar: certificates are issued
 * and verified at epoch_ns + t (seconds since the Unix epoch, X509's
 * granularity). The simulator uses a fixed epoch (TLS_MESH_SIM_EPOCH_NS),
 * live mode the wall clock at t = 0.
 *
 * Determinism. The jitter of each workload's renewal comes from a stream
 * named "tls/<workload>" of the scenario's seed (rng.h), so a workload
 * renews at the same run time in the simulator and live, and adding a
 * workload moves no other's renewals. Keys and serials come from OpenSSL's
 * random generator: verdicts are reproducible, bytes are not, and nothing
 * here puts bytes of a certificate in a report.
 *
 * What a workload holds: its certificate (leaf, key, chain) and two
 * contexts built from it (lh_tls_ctx_new: a server's, for its inbound, and
 * a client's, for its upstream connections), both trusting the mesh's
 * current trust bundle. A renewal or a fault replaces the certificate and
 * both contexts; what was built from the old ones (open connections, in
 * live mode also handshakes under way) keeps them, as Envoy keeps open
 * connections when SDS pushes a new secret. Callers of
 * tls_mesh_server_ctx/client_ctx take their own reference
 * (SSL_CTX_up_ref) if they keep a context past the next call that changes
 * it.
 *
 * Recording: every certificate a workload gets is reported to the
 * recorder (rec_cert: when, why, its validity), which the report shows as
 * the certificate timeline.
 *
 * Not thread-safe; one thread per tls_mesh.
 */
#ifndef TLS_MESH_H
#define TLS_MESH_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/ssl.h>

#include "mesh.h"
#include "model.h"

struct rec;

/* The simulator's calendar: run time 0 is 2026-01-01T00:00:00Z, or, with a
 * plug-in CA whose chain begins later, the second its last certificate
 * begins (files made today would otherwise not be valid yet): pass
 * TLS_MESH_SIM_CALENDAR as tls_mesh_new's epoch_ns, and read the epoch
 * chosen with tls_mesh_epoch_ns. Either way it depends only on the
 * scenario and its files, so runs stay reproducible. */
#define TLS_MESH_SIM_EPOCH_NS ((int64_t)1767225600 * 1000000000)
#define TLS_MESH_SIM_CALENDAR INT64_MIN

/* Why a workload got a certificate (rec_cert's why; its report names are
 * rec_cert_why_name's, in this order). */
enum tls_mesh_why {
	TLS_MESH_ISSUED = 0,   /* its first, at start */
	TLS_MESH_RENEWED,      /* renewal on schedule (grace ratio) */
	TLS_MESH_EXPIRED_FAULT,/* cert_expire fault: an expired one */
	TLS_MESH_FOREIGN_FAULT,/* cert_foreign fault: another trust domain */
	TLS_MESH_RESTORED,     /* a fault ended: a fresh one of its own */
	TLS_MESH_WHY_COUNT
};

typedef struct tls_mesh tls_mesh;

/* The PKI of m's mesh (m->mtls.enabled must be set), at run time 0 =
 * epoch_ns: the mesh CA (m->mtls: a new root, with an intermediate under it
 * if asked, or the plug-in CA's files), one new root per root_rotate
 * fault, and the root of cert_foreign faults that ask for one.
 *   dir NULL: all made in memory;
 *   dir given: all loaded from dir, where tls_mesh_write put them (live
 *   mode: the orchestrator makes and writes them once, and every sidecar
 *   process loads the same CAs).
 * seed: the scenario's seed (rotation jitter). r: the recorder that
 * rec_cert goes to (may be NULL). No workload has a certificate yet:
 * tls_mesh_start each one the host runs. Returns NULL with err filled on
 * error (the message names the file when one is at fault). */
tls_mesh *tls_mesh_new(const model *m, uint64_t seed, int64_t epoch_ns,
		       const char *dir, struct rec *r, char *err,
		       size_t errlen);
void tls_mesh_free(tls_mesh *t);

/* Run time 0 on the calendar, ns since the Unix epoch. */
int64_t tls_mesh_epoch_ns(const tls_mesh *t);

/* Write every CA's certificate (and chain) and key into dir (which must
 * exist, mode 0700 advisable): keys 0600 (tls_ca_write_key). Returns 0, -1
 * with err filled. */
int tls_mesh_write(const tls_mesh *t, const char *dir, char *err,
		   size_t errlen);

/* The number of workloads (ninst + nclients) and workload w's name for
 * reports and streams: "<service>/<instance>" or "client/<name>". */
uint32_t tls_mesh_workloads(const tls_mesh *t);
const char *tls_mesh_workload_name(const tls_mesh *t, uint32_t w);

/* Whether w has an identity (a service instance, or a client with a
 * principal), and its SPIFFE ID (NULL without one): what its peers expect
 * its certificate to carry. */
int tls_mesh_has_identity(const tls_mesh *t, uint32_t w);
const char *tls_mesh_spiffe_id(const tls_mesh *t, uint32_t w);

/* Give w (with an identity) its first certificate at run time `now`, and
 * its renewal time. Returns 0, -1 with err filled. */
int tls_mesh_start(tls_mesh *t, uint32_t w, mesh_time now, char *err,
		   size_t errlen);

/* When w renews next (run time), or MESH_NEVER: not started, no
 * identity, or renewal stopped by a cert_no_rotate fault. A host sets a
 * timer for it and calls tls_mesh_renew then; it asks again after every
 * call below that returns 1 (a renewal time may have moved). */
mesh_time tls_mesh_renew_at(const tls_mesh *t, uint32_t w);

/* Renew w's certificate at `now` if its renewal time has come (else
 * nothing): from the CA that signs now, with w's faults applied. Returns
 * 1 when w's certificate and contexts changed, 0 when not, -1 on error
 * (err filled; w keeps what it had). */
int tls_mesh_renew(tls_mesh *t, uint32_t w, mesh_time now, char *err,
		   size_t errlen);

/* Switch scenario fault `fault` (an index into m->faults; faults of other
 * kinds are ignored) on or off at `now`, for the workloads in [w0, w1)
 * that it targets (the simulator: all; a live sidecar: its own). A
 * root_rotate fault also changes the trust bundle, mesh-wide (every
 * started workload's contexts are rebuilt; pass the whole range or not,
 * the bundle is the tls_mesh's). Fills changed[w - w0] = 1 for each
 * workload whose certificate or contexts changed (changed may be NULL).
 * Returns 0, -1 with err filled. */
int tls_mesh_fault(tls_mesh *t, uint32_t fault, int on, mesh_time now,
		   uint32_t w0, uint32_t w1, uint8_t *changed, char *err,
		   size_t errlen);

/* w's current contexts (borrowed; NULL before tls_mesh_start or without
 * an identity): the server's for its inbound, the client's for its
 * upstream connections. */
SSL_CTX *tls_mesh_server_ctx(const tls_mesh *t, uint32_t w);
SSL_CTX *tls_mesh_client_ctx(const tls_mesh *t, uint32_t w);

/* A number that changes whenever w's contexts do (0: none yet), and is
 * never reused within a tls_mesh: what was true of a handshake between
 * two contexts stays true while both generations stand. */
uint64_t tls_mesh_generation(const tls_mesh *t, uint32_t w);

/* The scenario fault that explains a failed connection from workload cw
 * to sw for `reason` (enum rec_tls_fail), given which faults are on
 * (faults_on[m->nfaults]; a root rotation stays on): the first in
 * scenario order that can cause it and aims at either end (mtls_strict:
 * at sw), else a root rotation without overlap; UINT32_MAX for none (the
 * scenario's configuration alone, like a plaintext client of a STRICT
 * service). The hosts count it among the fault's hits, once per failed
 * connection. */
uint32_t tls_mesh_culprit(const tls_mesh *t, const uint8_t *faults_on,
			  uint32_t cw, uint32_t sw, int reason);

/* The report's reason (enum rec_tls_fail) for a handshake that failed
 * with class lh_err (LH_ERR_TLS_*, live_http.h); REC_TLS_OTHER for
 * anything else. */
int tls_mesh_rec_reason(int lh_err);

/* How caller workload `caller` connects to an instance of service `svc`:
 * 1 mutual TLS, 0 plaintext. Istio's auto mTLS: TLS when the caller has
 * an identity and the callee's configured PeerAuthentication mode is not
 * DISABLE. Faults do not change it (an mtls_strict fault leaves callers as
 * they were: that is the fault). */
int tls_mesh_caller_tls(const tls_mesh *t, uint32_t caller, uint32_t svc);

/* The inbound mode of workload w now (a service instance): its service's
 * configured mode, or MTLS_STRICT while an mtls_strict fault targets it.
 * MTLS_DISABLE for a load client (it has no inbound). */
enum model_mtls_mode tls_mesh_inbound_mode(const tls_mesh *t, uint32_t w);

/* The trust domain peers must be in (m->mtls.trust_domain): a server
 * refuses a client certificate of another domain (identity mismatch), as
 * Istio's inbound matches the SAN against spiffe://<trust domain>/. */
const char *tls_mesh_trust_domain(const tls_mesh *t);

/* The mesh_msg src (model_peer's numbering: 1 + service, 1 + nservices +
 * client) of the workload whose certificate carries SPIFFE ID `id`: the
 * first service, then client, whose principal is the ID without its
 * "spiffe://"; 0 for NULL or no match (a foreign identity). */
uint32_t tls_mesh_src_of_id(const model *m, const char *id);

#endif
