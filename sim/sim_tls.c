#include "sim_tls.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "live_http.h"
#include "rec.h"
#include "tls_mesh.h"

/* The servers' session lifetime in the simulator: ten years. */
#define TLS_SIM_TICKET_TIMEOUT (3650L * 24 * 3600)

/* The connections of one (caller, callee) pair. */
typedef struct tls_pair {
	uint32_t open;       /* connections open */
	uint32_t busy;       /* of those, carrying a request */
	uint32_t drain;      /* busy ones that close after their answer */
	uint32_t src;        /* the caller's identity on these connections */
	SSL_SESSION *sess;   /* a ticket to resume with, or NULL */
	mesh_time sess_at;   /* when it was received */
	/* The last full handshake that failed: both ends' context
	 * generations, the second it was checked at, and its verdict. The
	 * same inputs give the same verdict, so a retry within that second
	 * does not run OpenSSL again (a fault makes many). */
	uint64_t fail_cg, fail_sg;
	int64_t fail_at;
	int fail_err;
	mesh_time fail_cost;  /* what it cost ("measured" only) */
} tls_pair;

/* A request on a connection: (caller, tag) -> callee. Open addressing
 * with linear probing; deletion shifts back, so no tombstones. */
typedef struct tls_flight {
	uint64_t tag;
	uint32_t cw;
	uint32_t sw;         /* UINT32_MAX: empty slot */
} tls_flight;

struct sim_tls {
	const model *m;
	struct rec *rec;
	tls_mesh *mesh;
	uint32_t ninst, nw;  /* callees are instances; callers all workloads */
	tls_pair *pairs;     /* [nw x ninst] */
	tls_flight *fl;
	size_t fl_cap, fl_n; /* cap a power of two */
	uint8_t *changed;    /* [nw] scratch for tls_mesh_fault */
	uint32_t *inst_service; /* [ninst] each instance's service */
	const uint8_t *faults_on; /* the simulator's [nfaults] */
	int64_t epoch_s;
};

static tls_pair *pair_of(const sim_tls *t, uint32_t cw, uint32_t sw)
{
	return &t->pairs[(size_t)cw * t->ninst + sw];
}

/* ---- requests on connections ---- */

static size_t fl_hash(const sim_tls *t, uint32_t cw, uint64_t tag)
{
	uint64_t x = tag * 0x9e3779b97f4a7c15u ^ ((uint64_t)cw << 32 | cw);
	x ^= x >> 29;
	x *= 0xbf58476d1ce4e5b9u;
	x ^= x >> 32;
	return (size_t)x & (t->fl_cap - 1);
}

static int fl_grow(sim_tls *t)
{
	size_t cap = t->fl_cap ? t->fl_cap * 2 : 1024;
	tls_flight *old = t->fl, *nf = malloc(cap * sizeof *nf);
	if (!nf)
		return -1;
	for (size_t i = 0; i < cap; i++)
		nf[i].sw = UINT32_MAX;
	size_t oc = t->fl_cap;
	t->fl = nf;
	t->fl_cap = cap;
	for (size_t i = 0; i < oc; i++) {
		if (old[i].sw == UINT32_MAX)
			continue;
		size_t j = fl_hash(t, old[i].cw, old[i].tag);
		while (nf[j].sw != UINT32_MAX)
			j = (j + 1) & (cap - 1);
		nf[j] = old[i];
	}
	free(old);
	return 0;
}

static int fl_add(sim_tls *t, uint32_t cw, uint64_t tag, uint32_t sw)
{
	if ((t->fl_n + 1) * 2 > t->fl_cap && fl_grow(t) < 0)
		return -1;
	size_t j = fl_hash(t, cw, tag);
	while (t->fl[j].sw != UINT32_MAX)
		j = (j + 1) & (t->fl_cap - 1);
	t->fl[j] = (tls_flight){.tag = tag, .cw = cw, .sw = sw};
	t->fl_n++;
	return 0;
}

/* Remove (cw, tag); returns its callee, or UINT32_MAX when absent. */
static uint32_t fl_take(sim_tls *t, uint32_t cw, uint64_t tag)
{
	if (!t->fl_n)
		return UINT32_MAX;
	size_t mask = t->fl_cap - 1, j = fl_hash(t, cw, tag);
	while (t->fl[j].sw != UINT32_MAX &&
	       (t->fl[j].cw != cw || t->fl[j].tag != tag))
		j = (j + 1) & mask;
	uint32_t sw = t->fl[j].sw;
	if (sw == UINT32_MAX)
		return sw;
	/* Backward-shift deletion (Knuth 6.4, algorithm R). */
	size_t i = j;
	for (;;) {
		t->fl[i].sw = UINT32_MAX;
		size_t k = i;
		for (;;) {
			k = (k + 1) & mask;
			if (t->fl[k].sw == UINT32_MAX)
				goto done;
			size_t h = fl_hash(t, t->fl[k].cw, t->fl[k].tag);
			/* k's entry may move to i unless its home lies
			 * cyclically in (i, k]. */
			if (i <= k ? (h <= i || h > k) : (h <= i && h > k))
				break;
		}
		t->fl[i] = t->fl[k];
		i = k;
	}
done:
	t->fl_n--;
	return sw;
}

/* ---- life ---- */

sim_tls *sim_tls_new(const model *m, uint64_t seed, struct rec *r,
		     uint32_t ninst, const uint8_t *faults_on, char *err,
		     size_t errlen)
{
	sim_tls *t = calloc(1, sizeof *t);
	if (!t) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	t->m = m;
	t->rec = r;
	t->faults_on = faults_on;
	t->ninst = ninst;
	t->nw = ninst + m->nclients;
	t->pairs = calloc((size_t)t->nw * (ninst ? ninst : 1), sizeof *t->pairs);
	t->changed = calloc(t->nw ? t->nw : 1, 1);
	t->inst_service = calloc(ninst ? ninst : 1, sizeof *t->inst_service);
	if (!t->pairs || !t->changed || !t->inst_service) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (uint32_t i = 0, k = 0; i < m->nservices; i++)
		for (uint32_t j = 0; j < m->services[i].replicas && k < ninst; j++)
			t->inst_service[k++] = i;
	t->mesh = tls_mesh_new(m, seed, TLS_MESH_SIM_CALENDAR, NULL, r, err,
			       errlen);
	if (!t->mesh)
		goto fail;
	t->epoch_s = tls_mesh_epoch_ns(t->mesh) / 1000000000;
	return t;
fail:
	sim_tls_free(t);
	return NULL;
}

void sim_tls_free(sim_tls *t)
{
	if (!t)
		return;
	if (t->pairs)
		for (size_t i = 0; i < (size_t)t->nw * t->ninst; i++)
			SSL_SESSION_free(t->pairs[i].sess);
	free(t->pairs);
	free(t->fl);
	free(t->changed);
	free(t->inst_service);
	tls_mesh_free(t->mesh);
	free(t);
}

int sim_tls_start(sim_tls *t, mesh_time now, char *err, size_t errlen)
{
	for (uint32_t w = 0; w < t->nw; w++)
		if (tls_mesh_has_identity(t->mesh, w) &&
		    tls_mesh_start(t->mesh, w, now, err, errlen) < 0)
			return -1;
	return 0;
}

mesh_time sim_tls_next_renewal(const sim_tls *t)
{
	mesh_time next = MESH_NEVER;
	for (uint32_t w = 0; w < t->nw; w++) {
		mesh_time at = tls_mesh_renew_at(t->mesh, w);
		if (at < next)
			next = at;
	}
	return next;
}

/* Workload w's client context changed: its tickets go with the old one.
 * Resuming one would present the old certificate's identity again (the
 * session carries it), which a renewed or faulty client no longer has.
 * A server's change needs nothing: its new context cannot decrypt old
 * tickets, so they fall back to full handshakes by themselves. */
static void drop_sessions(sim_tls *t, uint32_t cw)
{
	for (uint32_t sw = 0; sw < t->ninst; sw++) {
		tls_pair *p = pair_of(t, cw, sw);
		SSL_SESSION_free(p->sess);
		p->sess = NULL;
	}
}

int sim_tls_renew_due(sim_tls *t, mesh_time now, char *err, size_t errlen)
{
	for (uint32_t w = 0; w < t->nw; w++) {
		if (tls_mesh_renew_at(t->mesh, w) > now)
			continue;
		int r = tls_mesh_renew(t->mesh, w, now, err, errlen);
		if (r < 0)
			return -1;
		if (r > 0)
			drop_sessions(t, w);
	}
	return 0;
}

int sim_tls_fault(sim_tls *t, uint32_t fault, int on, mesh_time now,
		  char *err, size_t errlen)
{
	const model_fault *f = &t->m->faults[fault];
	if (f->kind != FAULT_CERT_EXPIRE && f->kind != FAULT_CERT_NO_ROTATE &&
	    f->kind != FAULT_CERT_FOREIGN && f->kind != FAULT_ROOT_ROTATE &&
	    f->kind != FAULT_MTLS_STRICT)
		return 0;
	memset(t->changed, 0, t->nw);
	if (tls_mesh_fault(t->mesh, fault, on, now, 0, t->nw, t->changed, err,
			   errlen) < 0)
		return -1;
	for (uint32_t w = 0; w < t->nw; w++)
		if (t->changed[w])
			drop_sessions(t, w);
	if (f->kind != FAULT_MTLS_STRICT || !on)
		return 0;
	/* Envoy drains the connections of the filter chain that went away:
	 * the plaintext ones into a target now STRICT. An idle one closes
	 * now, a busy one after its answer. */
	for (uint32_t sw = 0; sw < t->ninst; sw++) {
		if (tls_mesh_inbound_mode(t->mesh, sw) != MTLS_STRICT)
			continue;
		uint32_t svc = t->inst_service[sw];
		for (uint32_t cw = 0; cw < t->nw; cw++) {
			if (tls_mesh_caller_tls(t->mesh, cw, svc))
				continue;
			tls_pair *p = pair_of(t, cw, sw);
			p->open = p->busy;
			p->drain = p->busy;
		}
	}
	return 0;
}

/* ---- requests ---- */

static void fail_both(sim_tls *t, uint32_t cw, uint32_t sw, int reason)
{
	rec_tls_failure(t->rec, cw, REC_TLS_OUTBOUND, reason);
	rec_tls_failure(t->rec, sw, REC_TLS_INBOUND, reason);
	uint32_t f = tls_mesh_culprit(t->mesh, t->faults_on, cw, sw, reason);
	if (f != UINT32_MAX)
		rec_fault_hit(t->rec, f);
}

/* Open a TLS connection from cw to sw: a real handshake, checked as at
 * `now`. Returns SIM_TLS_SEND (the pair has one more open connection, its
 * src set) or SIM_TLS_FAIL_UF; *cost is the CPU it took. -1: no memory. */
static int handshake(sim_tls *t, tls_pair *p, uint32_t cw, uint32_t sw,
		     mesh_time now, mesh_time *cost)
{
	const model_mtls *c = &t->m->mtls;
	SSL_CTX *cc = tls_mesh_client_ctx(t->mesh, cw);
	SSL_CTX *sc = tls_mesh_server_ctx(t->mesh, sw);
	if (!cc || !sc) {
		/* A callee without a certificate cannot serve TLS (not
		 * reached: every instance has an identity). */
		fail_both(t, cw, sw, REC_TLS_OTHER);
		*cost = 0;
		return SIM_TLS_FAIL_UF;
	}
	SSL_SESSION *resume = NULL;
	if (p->sess && now - p->sess_at < MODEL_SESSION_LIFETIME)
		resume = p->sess;
	/* Whether a session may be resumed is a matter of virtual time
	 * (just above), not of how long this process has been running:
	 * OpenSSL measures a ticket's age with time() at both ends, so the
	 * server's sessions get a lifetime no run reaches, and the ticket
	 * looks just made to the client. */
	SSL_CTX_set_timeout(sc, TLS_SIM_TICKET_TIMEOUT);
	if (resume)
		SSL_SESSION_set_time(resume, (long)time(NULL));
	lh_tls_mem_result res;
	int64_t at = t->epoch_s + (int64_t)(now / MESH_S);
	uint64_t cg = tls_mesh_generation(t->mesh, cw);
	uint64_t sg = tls_mesh_generation(t->mesh, sw);
	if (!resume && p->fail_err && p->fail_cg == cg && p->fail_sg == sg &&
	    p->fail_at == at) {
		*cost = c->handshake_measured ? p->fail_cost : c->handshake_full;
		fail_both(t, cw, sw, tls_mesh_rec_reason(p->fail_err));
		return SIM_TLS_FAIL_UF;
	}
	/* "measured": the CPU this thread spent on it, both sides. The one
	 * place the simulator reads a clock; the scenario asked for it. */
	struct timespec t0, t1;
	if (c->handshake_measured)
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t0);
	if (lh_tls_handshake_mem(cc, sc, tls_mesh_spiffe_id(t->mesh, sw),
				 tls_mesh_trust_domain(t->mesh), at, resume,
				 &res) < 0)
		return -1;
	/* A ticket is used once (RFC 8446 C.4), whatever happened. */
	if (p->sess && (resume || now - p->sess_at >= MODEL_SESSION_LIFETIME)) {
		SSL_SESSION_free(p->sess);
		p->sess = NULL;
	}
	*cost = res.resumed ? c->handshake_resumed : c->handshake_full;
	if (c->handshake_measured) {
		clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t1);
		int64_t d = (int64_t)(t1.tv_sec - t0.tv_sec) * 1000000000 +
			    (t1.tv_nsec - t0.tv_nsec);
		*cost = d > 0 ? (mesh_time)d : 0;
	}
	if (res.err) {
		SSL_SESSION_free(res.ticket);
		if (!resume) {
			p->fail_cg = cg;
			p->fail_sg = sg;
			p->fail_at = at;
			p->fail_err = res.err;
			p->fail_cost = *cost;
		}
		fail_both(t, cw, sw, tls_mesh_rec_reason(res.err));
		return SIM_TLS_FAIL_UF;
	}
	if (res.ticket) {
		SSL_SESSION_free(p->sess);
		p->sess = res.ticket;
		p->sess_at = now;
	}
	rec_tls_handshake(t->rec, cw, REC_TLS_OUTBOUND, res.resumed);
	rec_tls_handshake(t->rec, sw, REC_TLS_INBOUND, res.resumed);
	p->src = tls_mesh_src_of_id(t->m, res.client_id);
	return SIM_TLS_SEND;
}

int sim_tls_request(sim_tls *t, uint32_t cw, uint32_t sw, uint32_t svc,
		    uint64_t tag, mesh_time now, mesh_time rtt,
		    mesh_time *delay, uint32_t *src)
{
	tls_pair *p = pair_of(t, cw, sw);
	*delay = 0;
	*src = 0;
	if (p->busy < p->open) {
		/* An idle connection: no handshake. */
		if (fl_add(t, cw, tag, sw) < 0)
			return -1;
		p->busy++;
		*src = p->src;
		return SIM_TLS_SEND;
	}
	enum model_mtls_mode mode = tls_mesh_inbound_mode(t->mesh, sw);
	*delay = rtt;
	if (!tls_mesh_caller_tls(t->mesh, cw, svc)) {
		if (mode == MTLS_STRICT) {
			/* Envoy finds no filter chain for plaintext and
			 * closes the connection. */
			fail_both(t, cw, sw, REC_TLS_PLAINTEXT_REJECTED);
			return SIM_TLS_FAIL_UR;
		}
		rec_tls_plaintext(t->rec, cw, REC_TLS_OUTBOUND);
		rec_tls_plaintext(t->rec, sw, REC_TLS_INBOUND);
		p->src = 0;
	} else if (mode == MTLS_DISABLE) {
		/* A ClientHello to a plaintext listener: not HTTP, closed. */
		fail_both(t, cw, sw, REC_TLS_OTHER);
		return SIM_TLS_FAIL_UF;
	} else {
		mesh_time cost;
		int v = handshake(t, p, cw, sw, now, &cost);
		if (v < 0)
			return -1;
		*delay += cost;
		if (v != SIM_TLS_SEND)
			return v;
	}
	if (fl_add(t, cw, tag, sw) < 0)
		return -1;
	p->open++;
	p->busy++;
	*src = p->src;
	return SIM_TLS_SEND;
}

void sim_tls_response(sim_tls *t, uint32_t cw, uint32_t sw, uint64_t tag)
{
	if (fl_take(t, cw, tag) != sw)
		return;
	tls_pair *p = pair_of(t, cw, sw);
	p->busy--;
	if (p->drain) {
		p->drain--;
		p->open--;
	}
}

void sim_tls_abandon(sim_tls *t, uint32_t cw, uint32_t sw, uint64_t tag)
{
	if (fl_take(t, cw, tag) != sw)
		return;
	tls_pair *p = pair_of(t, cw, sw);
	p->busy--;
	p->open--;
	/* The reset one may or may not have been draining: at most the
	 * busy ones still are. */
	if (p->drain > p->busy)
		p->drain = p->busy;
}

void sim_tls_conns(const sim_tls *t, uint32_t cw, uint32_t sw,
		   uint32_t *open, uint32_t *busy)
{
	const tls_pair *p = pair_of(t, cw, sw);
	*open = p->open;
	*busy = p->busy;
}
