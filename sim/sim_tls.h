/*
 * sim_tls.h - mutual TLS between sidecars in the simulator.
 *
 * The simulator's side of the "mtls" block (model.h, tls_mesh.h): which
 * hops are TLS, the connections each caller sidecar keeps to each callee
 * instance, and the handshakes of new ones. A handshake is real: OpenSSL
 * runs it over memory (lh_tls_handshake_mem, the same setup and checks as
 * live mode's sockets) with the workloads' real certificates, verified as
 * at the virtual time, so an expired certificate or a foreign identity
 * fails exactly as it would live. What it costs is charged in virtual
 * time: the scenario's handshake CPU (a fixed figure, so that a run's bytes
 * are reproducible; or, when the scenario says "measured", the CPU the
 * handshake really took) plus one round trip, before the request goes out.
 *
 * Connections, as Envoy's HTTP/1.1 pools hold them: per (caller sidecar,
 * callee instance), `open` connections of which `busy` carry a request. A
 * request takes an idle one or opens a new one (a handshake: resumed when
 * the pair holds a session younger than MODEL_SESSION_LIFETIME, full
 * otherwise); its answer frees it. A try the caller abandons (a timeout)
 * resets its connection, as Envoy resets the stream and HTTP/1.1 cannot
 * keep the connection, so the next request needs a new one. Open
 * connections keep the certificates they were made with: a renewal or a
 * certificate fault changes new connections only, as in Envoy. An
 * mtls_strict fault drains the plaintext connections into its targets (an
 * idle one closes at once, a busy one after its answer), as Envoy drains a
 * filter chain that was removed.
 *
 * The caller's identity the callee's authorization sees is the one its
 * connection was made with: the SPIFFE ID of the client's certificate for
 * TLS, none (src 0) for plaintext.
 */
#ifndef SIM_TLS_H
#define SIM_TLS_H

#include <stddef.h>
#include <stdint.h>

#include "mesh.h"
#include "model.h"

struct rec;

typedef struct sim_tls sim_tls;

/* The simulator's mTLS for m (m->mtls.enabled), with ninst service
 * instances (workloads 0..ninst-1; clients follow). Makes the mesh's PKI
 * (tls_mesh_new on the simulator's calendar, TLS_MESH_SIM_CALENDAR).
 * faults_on: the simulator's switches (borrowed), for crediting failures
 * to faults. Returns NULL with err filled on error. */
sim_tls *sim_tls_new(const model *m, uint64_t seed, struct rec *r,
		     uint32_t ninst, const uint8_t *faults_on, char *err,
		     size_t errlen);
void sim_tls_free(sim_tls *t);

/* Issue every workload with an identity its first certificate at `now`.
 * Returns 0, -1 with err filled. */
int sim_tls_start(sim_tls *t, mesh_time now, char *err, size_t errlen);

/* The earliest renewal due (MESH_NEVER: none), and: renew every workload
 * whose time has come at `now`. The simulator keeps one timer at
 * sim_tls_next_renewal. */
mesh_time sim_tls_next_renewal(const sim_tls *t);
int sim_tls_renew_due(sim_tls *t, mesh_time now, char *err, size_t errlen);

/* Scenario fault `fault` switched on or off at `now` (other kinds are
 * ignored). Returns 0, -1 with err filled. */
int sim_tls_fault(sim_tls *t, uint32_t fault, int on, mesh_time now,
		  char *err, size_t errlen);

/* What happens to a request (tag `tag`) from caller workload cw to callee
 * instance sw (of service svc) at `now`. */
enum sim_tls_verdict {
	SIM_TLS_SEND = 0,   /* it goes, after *delay more ns, with *src */
	SIM_TLS_FAIL_UF,    /* the handshake failed: 503 UF after *delay */
	SIM_TLS_FAIL_UR,    /* plaintext to a STRICT inbound: the connection
			     * is closed, 503 UR after *delay */
};
/* rtt: the round trip a new connection's handshake costs (the caller
 * draws it). *src is the identity the callee sees. Returns -1 on no
 * memory. */
int sim_tls_request(sim_tls *t, uint32_t cw, uint32_t sw, uint32_t svc,
		    uint64_t tag, mesh_time now, mesh_time rtt,
		    mesh_time *delay, uint32_t *src);

/* The answer to caller cw's request `tag` left callee sw: its connection
 * is free again. Unknown tags (an abandoned try's late answer) are
 * ignored. */
void sim_tls_response(sim_tls *t, uint32_t cw, uint32_t sw, uint64_t tag);

/* Caller cw gave up on its request `tag` to sw: the connection is reset
 * (closed). Unknown tags are ignored. */
void sim_tls_abandon(sim_tls *t, uint32_t cw, uint32_t sw, uint64_t tag);

/* Connections caller cw holds open to sw, and how many carry a request
 * (for tests). */
void sim_tls_conns(const sim_tls *t, uint32_t cw, uint32_t sw,
		   uint32_t *open, uint32_t *busy);

#endif
