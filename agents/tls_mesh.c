/*
 * tls_mesh.c - a scenario's mesh PKI (istiod's CA) and its workloads'
 * certificates (each Istio agent's secret cache), for both hosts.
 *
 * The CAs: the mesh CA (a root, an intermediate under a root, or a plug-in
 * CA's files), one new root per root_rotate fault and one foreign root per
 * cert_foreign fault that asks for one. All are made when the tls_mesh is,
 * valid from the run's epoch (roots are not backdated, as istiod's
 * self-signed root is not), so that every sidecar process of a live run
 * can load the same files (tls_mesh_write) and a rotation at any point of
 * the run finds its root ready.
 *
 * A workload presents one certificate at a time, of one kind: its own (from
 * the CA that signs now), an expired one (cert_expire) or a foreign one
 * (cert_foreign). Fault semantics, where the header leaves a choice:
 *
 *   - Every fault is counted per workload and per fault: a fault switched
 *     on twice and off once is still on, and two overlapping faults of one
 *     kind keep their effect until both have ended.
 *   - cert_expire beats cert_foreign when both are on: the workload shows
 *     the expired certificate. Among several cert_foreign faults on at
 *     once, the first in scenario order decides the foreign certificate.
 *   - While a workload shows a faulty certificate its renewal is suspended
 *     (tls_mesh_renew_at says MESH_NEVER). A real Istio agent would go on
 *     renewing and so heal the fault at its next renewal; but the fault
 *     means "this workload presents a bad certificate for the window", and
 *     a window cut short by the renewal clock would make the outcome depend
 *     on where the window falls in the certificate's life. When the last
 *     such fault ends the workload gets a fresh certificate of its own
 *     (TLS_MESH_RESTORED) and a new renewal time from it.
 *   - cert_no_rotate suspends renewal only; when it ends, a renewal that
 *     fell due meanwhile happens at once (the fault call reports the
 *     change), else the schedule it had stands.
 *   - root_rotate happens once per tls_mesh whatever the calls (its end
 *     changes nothing: a rotation is for good). The new root signs from
 *     then on, directly: istiod re-rooted with an intermediate would sign
 *     from a new intermediate under the new root, which changes nothing a
 *     peer checks (the chain still leads to the new root), so one
 *     certificate less is made.
 *   - mtls_strict changes the inbound mode only; no certificate or context
 *     changes, so it never marks a workload changed.
 *
 * A failed issue or context build leaves the workload with what it had
 * and its fault counts as they are now; the next fault call or renewal
 * tries again to bring its certificate in line with them.
 */
#include "tls_mesh.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/x509.h>

#include "live_http.h"
#include "rec.h"
#include "rng.h"
#include "tls_ca.h"

#define TM_NS_PER_S ((int64_t)1000000000)
#define TM_FOREIGN_DOMAIN "other.local"

/* What a workload's certificate is. */
enum { TM_OWN = 0, TM_EXPIRED, TM_FOREIGN };

typedef struct tm_wl {
	char *name;             /* "<service>/<instance>" or "client/<name>" */
	char *ns, *sa;          /* its identity's parts (NULL: none) */
	char *id;               /* its SPIFFE ID (NULL: none) */
	uint32_t svc, inst;     /* a service instance; svc MODEL_NONE for a
				 * load client */
	rng r;                  /* "tls/<name>": renewal jitter */
	int started;
	tls_ca_cert *cert;      /* what it presents now */
	SSL_CTX *sctx, *cctx;
	uint64_t gen;           /* changes with sctx and cctx */
	mesh_time renew_at;     /* its own certificate's renewal time */
	int kind;               /* TM_*: what cert is */
	uint32_t kind_fault;    /* TM_FOREIGN: the fault it came from */
} tm_wl;

struct tls_mesh {
	const model *m;
	int64_t epoch_ns, epoch_s;
	rec *r;
	const char *td;         /* the trust domain (the model's) */
	double ratio, jitter;
	tls_ca *mesh;           /* the mesh CA (signing) */
	tls_ca **rot;           /* [nfaults] root_rotate faults' roots */
	uint32_t *rot_index;    /* [nfaults] 1 + index among root_rotate */
	tls_ca **foreign;       /* [nfaults] cert_foreign faults' roots */
	uint8_t *rotated;       /* [nfaults] the rotation happened */
	tls_ca *signer;         /* the CA that signs now */
	uint32_t signer_root;   /* its rec_cert_event root index */
	X509 **bundle;          /* [nbundle] trusted roots (borrowed) */
	size_t nbundle;
	X509_STORE *store;      /* built from bundle */
	uint16_t *on;           /* [nw x nfaults] fault on-counts */
	tm_wl *w;
	uint32_t nw, ninst;
	uint64_t gens;          /* contexts built so far */
};

static void tm_err(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
}

/* ---- CAs ---- */

static void ca_opts(const tls_mesh *t, tls_ca_opts *o, const char *td)
{
	const model_mtls *mt = &t->m->mtls;
	tls_ca_opts_init(o);
	o->trust_domain = td;
	/* X509 counts whole seconds; a lifetime under one would be none. */
	if (mt->cert_ttl) {
		int64_t s = (int64_t)(mt->cert_ttl / MESH_S);
		o->workload_ttl_s = s < 1 ? 1 : s;
	}
}

static const char *foreign_domain(const model_fault *f)
{
	return f->foreign_domain ? f->foreign_domain : TM_FOREIGN_DOMAIN;
}

/* <dir>/<name> into out; -1 (err filled) when it does not fit. */
static int tm_path(char *out, size_t n, const char *dir, const char *name,
		   char *err, size_t errlen)
{
	int k = snprintf(out, n, "%s/%s", dir, name);
	if (k < 0 || (size_t)k >= n) {
		tm_err(err, errlen, "%s/%s: path too long", dir, name);
		return -1;
	}
	return 0;
}

/* Load CA <dir>/<name>.pem with its key <name>-key.pem (and the root in
 * root_name, or NULL for a self-signed one). */
static tls_ca *ca_load_dir(const tls_ca_opts *o, const char *dir,
			   const char *name, const char *root_name, char *err,
			   size_t errlen)
{
	char cert[4096], key[4096], root[4096], file[256];
	snprintf(file, sizeof file, "%s.pem", name);
	if (tm_path(cert, sizeof cert, dir, file, err, errlen) < 0)
		return NULL;
	snprintf(file, sizeof file, "%s-key.pem", name);
	if (tm_path(key, sizeof key, dir, file, err, errlen) < 0)
		return NULL;
	if (root_name && tm_path(root, sizeof root, dir, root_name, err,
				 errlen) < 0)
		return NULL;
	return tls_ca_load(o, cert, key, NULL, root_name ? root : NULL, err,
			   errlen);
}

/* The mesh CA: from dir, from the plug-in CA's files, or new. */
static int make_mesh_ca(tls_mesh *t, const char *dir, char *err,
			size_t errlen)
{
	const model_mtls *mt = &t->m->mtls;
	tls_ca_opts o;
	ca_opts(t, &o, t->td);
	if (dir) {
		t->mesh = ca_load_dir(&o, dir, "mesh-ca", "mesh-root.pem", err,
				      errlen);
	} else if (mt->ca_cert || mt->ca_key) {
		if (!mt->ca_cert || !mt->ca_key) {
			tm_err(err, errlen, "mtls: a plug-in CA needs both "
			       "ca_cert and ca_key");
			return -1;
		}
		t->mesh = tls_ca_load(&o, mt->ca_cert, mt->ca_key, mt->ca_chain,
				      mt->ca_root, err, errlen);
	} else {
		tls_ca *root = tls_ca_new_root(&o, t->epoch_s, err, errlen);
		if (!root || !mt->intermediate) {
			t->mesh = root;
		} else {
			/* istiod as a plug-in CA: it signs with an
			 * intermediate under the root. */
			t->mesh = tls_ca_new_intermediate(root, t->epoch_s, 0,
							  err, errlen);
			tls_ca_free(root);
		}
	}
	return t->mesh ? 0 : -1;
}

/* The roots of root_rotate faults and cert_foreign faults that ask for
 * one. */
static int make_fault_cas(tls_mesh *t, const char *dir, char *err,
			  size_t errlen)
{
	const model *m = t->m;
	uint32_t k = 0;
	for (uint32_t f = 0; f < m->nfaults; f++) {
		const model_fault *mf = &m->faults[f];
		char name[64];
		tls_ca_opts o;
		if (mf->kind == FAULT_ROOT_ROTATE) {
			t->rot_index[f] = ++k;
			snprintf(name, sizeof name, "root-%u", f);
			if (dir) {
				ca_opts(t, &o, t->td);
				t->rot[f] = ca_load_dir(&o, dir, name, NULL, err,
							errlen);
			} else {
				t->rot[f] = tls_ca_reroot(t->mesh, t->epoch_s, err,
							  errlen);
			}
			if (!t->rot[f])
				return -1;
		} else if (mf->kind == FAULT_CERT_FOREIGN && mf->foreign_root) {
			snprintf(name, sizeof name, "foreign-%u", f);
			ca_opts(t, &o, foreign_domain(mf));
			t->foreign[f] = dir
				? ca_load_dir(&o, dir, name, NULL, err, errlen)
				: tls_ca_new_root(&o, t->epoch_s, err, errlen);
			if (!t->foreign[f])
				return -1;
		}
	}
	return 0;
}

int tls_mesh_write(const tls_mesh *t, const char *dir, char *err,
		   size_t errlen)
{
	char path[4096], name[64];
	X509 *root = tls_ca_root(t->mesh);
	if (tls_ca_write_ca_pem(dir, "mesh-ca", t->mesh, 1, err, errlen) < 0 ||
	    tm_path(path, sizeof path, dir, "mesh-root.pem", err, errlen) < 0 ||
	    tls_ca_write_certs(path, &root, 1, err, errlen) < 0)
		return -1;
	for (uint32_t f = 0; f < t->m->nfaults; f++) {
		if (t->rot[f]) {
			snprintf(name, sizeof name, "root-%u", f);
			if (tls_ca_write_ca_pem(dir, name, t->rot[f], 1, err,
						errlen) < 0)
				return -1;
		}
		if (t->foreign[f]) {
			snprintf(name, sizeof name, "foreign-%u", f);
			if (tls_ca_write_ca_pem(dir, name, t->foreign[f], 1, err,
						errlen) < 0)
				return -1;
		}
	}
	return 0;
}

/* Rebuild the trust store from the bundle. */
static int store_rebuild(tls_mesh *t, char *err, size_t errlen)
{
	X509_STORE *s = tls_ca_store_new(t->bundle, t->nbundle, err, errlen);
	if (!s)
		return -1;
	X509_STORE_free(t->store); /* contexts keep their own references */
	t->store = s;
	return 0;
}

/* ---- workloads ---- */

/* ns and sa of a principal "<td>/ns/<ns>/sa/<sa>" (new strings). */
static int parse_principal(const char *p, char **ns, char **sa)
{
	const char *a = strstr(p, "/ns/");
	const char *b = a ? strstr(a + 4, "/sa/") : NULL;
	if (!a || !b || b == a + 4 || !b[4] || strchr(b + 4, '/'))
		return -1;
	*ns = strndup(a + 4, (size_t)(b - (a + 4)));
	*sa = strdup(b + 4);
	return *ns && *sa ? 0 : -2;
}

static int wl_init(tls_mesh *t, tm_wl *w, uint64_t seed, char *err,
		   size_t errlen)
{
	char buf[512], id[TLS_CA_ID_MAX];
	if (!w->name) {
		tm_err(err, errlen, "out of memory");
		return -1;
	}
	snprintf(buf, sizeof buf, "tls/%s", w->name);
	rng_stream(&w->r, seed, buf);
	w->renew_at = MESH_NEVER;
	if (!w->sa)
		return 0;
	if (tls_ca_spiffe_id(id, sizeof id, t->td, w->ns, w->sa, err,
			     errlen) < 0)
		return -1;
	if (!(w->id = strdup(id))) {
		tm_err(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

static int make_workloads(tls_mesh *t, uint64_t seed, char *err,
			  size_t errlen)
{
	const model *m = t->m;
	char buf[512], e2[384];
	uint32_t k = 0;
	for (uint32_t s = 0; s < m->nservices; s++)
		t->ninst += m->services[s].replicas;
	t->nw = t->ninst + m->nclients;
	t->w = calloc(t->nw ? t->nw : 1, sizeof *t->w);
	t->on = calloc((size_t)(t->nw ? t->nw : 1) *
		       (m->nfaults ? m->nfaults : 1), sizeof *t->on);
	if (!t->w || !t->on) {
		tm_err(err, errlen, "out of memory");
		return -1;
	}
	for (uint32_t s = 0; s < m->nservices; s++) {
		const model_service *ms = &m->services[s];
		for (uint32_t i = 0; i < ms->replicas; i++, k++) {
			tm_wl *w = &t->w[k];
			snprintf(buf, sizeof buf, "%s/%u", ms->name, i);
			w->name = strdup(buf);
			w->svc = s;
			w->inst = i;
			w->ns = strdup(ms->ns ? ms->ns : TLS_CA_NAMESPACE);
			w->sa = strdup(ms->service_account ? ms->service_account
				       : ms->name);
			if (!w->ns || !w->sa) {
				tm_err(err, errlen, "out of memory");
				return -1;
			}
			if (wl_init(t, w, seed, e2, sizeof e2) < 0) {
				tm_err(err, errlen, "services.%s: identity: %s",
				       ms->name, e2);
				return -1;
			}
		}
	}
	for (uint32_t c = 0; c < m->nclients; c++, k++) {
		const model_client *mc = &m->clients[c];
		tm_wl *w = &t->w[k];
		snprintf(buf, sizeof buf, "client/%s", mc->name);
		w->name = strdup(buf);
		w->svc = MODEL_NONE;
		w->inst = c;
		if (mc->principal) {
			int rc = parse_principal(mc->principal, &w->ns, &w->sa);
			if (rc == -1) {
				tm_err(err, errlen, "clients.%s.principal \"%s\": "
				       "expected <trust domain>/ns/<namespace>/"
				       "sa/<service account>", mc->name,
				       mc->principal);
				return -1;
			}
			if (rc < 0) {
				tm_err(err, errlen, "out of memory");
				return -1;
			}
		}
		if (wl_init(t, w, seed, e2, sizeof e2) < 0) {
			tm_err(err, errlen, "clients.%s: identity: %s", mc->name,
			       e2);
			return -1;
		}
	}
	return 0;
}

tls_mesh *tls_mesh_new(const model *m, uint64_t seed, int64_t epoch_ns,
		       const char *dir, struct rec *r, char *err,
		       size_t errlen)
{
	tls_mesh *t;
	size_t nf = m->nfaults ? m->nfaults : 1;

	if (!m->mtls.enabled) {
		tm_err(err, errlen, "the scenario has no \"mtls\" block");
		return NULL;
	}
	if (!(t = calloc(1, sizeof *t))) {
		tm_err(err, errlen, "out of memory");
		return NULL;
	}
	t->m = m;
	t->r = r;
	int sim_calendar = epoch_ns == TLS_MESH_SIM_CALENDAR;
	if (sim_calendar)
		epoch_ns = TLS_MESH_SIM_EPOCH_NS;
	t->epoch_ns = epoch_ns;
	t->epoch_s = epoch_ns / TM_NS_PER_S;
	t->td = m->mtls.trust_domain ? m->mtls.trust_domain : TLS_CA_TRUST_DOMAIN;
	t->ratio = m->mtls.grace_ratio;
	t->jitter = m->mtls.grace_jitter;
	t->rot = calloc(nf, sizeof *t->rot);
	t->rot_index = calloc(nf, sizeof *t->rot_index);
	t->foreign = calloc(nf, sizeof *t->foreign);
	t->rotated = calloc(nf, sizeof *t->rotated);
	t->bundle = calloc(nf + 1, sizeof *t->bundle);
	if (!t->rot || !t->rot_index || !t->foreign || !t->rotated ||
	    !t->bundle) {
		tm_err(err, errlen, "out of memory");
		goto fail;
	}
	if (make_mesh_ca(t, dir, err, errlen) < 0)
		goto fail;
	if (sim_calendar && m->mtls.ca_cert) {
		/* A plug-in CA made after the simulator's usual epoch: start
		 * the calendar when its whole chain has begun. */
		int64_t from = tls_ca_valid_from(t->mesh);
		if (from == INT64_MIN) {
			tm_err(err, errlen, "mtls.ca: cannot read the validity of "
			       "the plug-in CA's certificates");
			goto fail;
		}
		if (from > t->epoch_s) {
			t->epoch_s = from;
			t->epoch_ns = from * TM_NS_PER_S;
		}
	}
	if (make_fault_cas(t, dir, err, errlen) < 0)
		goto fail;
	t->signer = t->mesh;
	t->signer_root = 0;
	t->bundle[0] = tls_ca_root(t->mesh);
	t->nbundle = 1;
	if (store_rebuild(t, err, errlen) < 0 ||
	    make_workloads(t, seed, err, errlen) < 0)
		goto fail;
	return t;
fail:
	tls_mesh_free(t);
	return NULL;
}

void tls_mesh_free(tls_mesh *t)
{
	if (!t)
		return;
	for (uint32_t i = 0; t->w && i < t->nw; i++) {
		tm_wl *w = &t->w[i];
		free(w->name);
		free(w->ns);
		free(w->sa);
		free(w->id);
		tls_ca_cert_free(w->cert);
		SSL_CTX_free(w->sctx);
		SSL_CTX_free(w->cctx);
	}
	free(t->w);
	free(t->on);
	for (uint32_t f = 0; f < t->m->nfaults; f++) {
		if (t->rot)
			tls_ca_free(t->rot[f]);
		if (t->foreign)
			tls_ca_free(t->foreign[f]);
	}
	free(t->rot);
	free(t->rot_index);
	free(t->foreign);
	free(t->rotated);
	free(t->bundle);
	X509_STORE_free(t->store);
	tls_ca_free(t->mesh);
	free(t);
}

uint32_t tls_mesh_workloads(const tls_mesh *t)
{
	return t->nw;
}

const char *tls_mesh_workload_name(const tls_mesh *t, uint32_t w)
{
	return w < t->nw ? t->w[w].name : NULL;
}

int tls_mesh_has_identity(const tls_mesh *t, uint32_t w)
{
	return w < t->nw && t->w[w].id != NULL;
}

const char *tls_mesh_spiffe_id(const tls_mesh *t, uint32_t w)
{
	return w < t->nw ? t->w[w].id : NULL;
}

const char *tls_mesh_trust_domain(const tls_mesh *t)
{
	return t->td;
}

/* ---- certificates ---- */

/* How many faults of `kind` are on for w now; *first receives the first
 * of them in scenario order (when first is not NULL). */
static uint32_t faults_on(const tls_mesh *t, uint32_t w, int kind,
			  uint32_t *first)
{
	const model *m = t->m;
	uint32_t n = 0;
	for (uint32_t f = 0; f < m->nfaults; f++) {
		uint16_t c = t->on[(size_t)w * m->nfaults + f];
		if (c && (int)m->faults[f].kind == kind) {
			if (!n && first)
				*first = f;
			n += c;
		}
	}
	return n;
}

/* The certificate w should present now: TM_* (and its fault). */
static int wanted_kind(const tls_mesh *t, uint32_t w, uint32_t *fault)
{
	*fault = MODEL_NONE;
	if (faults_on(t, w, FAULT_CERT_EXPIRE, NULL))
		return TM_EXPIRED;
	if (faults_on(t, w, FAULT_CERT_FOREIGN, fault))
		return TM_FOREIGN;
	return TM_OWN;
}

/* The contexts for cert (new; both NULL on error). */
static int make_ctxs(const tls_mesh *t, const tls_ca_cert *c, SSL_CTX **s,
		     SSL_CTX **cl, char *err, size_t errlen)
{
	*s = lh_tls_ctx_new(tls_ca_cert_x509(c), tls_ca_cert_key(c),
			    tls_ca_cert_chain(c), t->store, 1, err, errlen);
	*cl = *s ? lh_tls_ctx_new(tls_ca_cert_x509(c), tls_ca_cert_key(c),
				  tls_ca_cert_chain(c), t->store, 0, err,
				  errlen) : NULL;
	if (!*cl) {
		SSL_CTX_free(*s);
		*s = NULL;
		return -1;
	}
	return 0;
}

/* Give w a certificate of kind (from fault, for TM_FOREIGN) at `now`, with
 * contexts, and record it; for its own certificate, also its renewal
 * time. On error w keeps what it had. */
static int wl_issue(tls_mesh *t, uint32_t wi, int kind, uint32_t fault,
		    int why, mesh_time now, char *err, size_t errlen)
{
	tm_wl *w = &t->w[wi];
	int64_t at_s = (t->epoch_ns + (int64_t)now) / TM_NS_PER_S;
	uint32_t root = t->signer_root;
	tls_ca_cert *c = NULL;
	SSL_CTX *sctx, *cctx;
	char e2[512];

	if (kind == TM_EXPIRED) {
		c = tls_ca_issue_expired(t->signer, w->ns, w->sa, at_s, e2,
					 sizeof e2);
	} else if (kind == TM_FOREIGN) {
		const model_fault *f = &t->m->faults[fault];
		tls_ca_req q;
		tls_ca_req_init(&q, w->ns, w->sa);
		if (f->foreign_root) {
			/* A root no one trusts, of the foreign domain. */
			c = tls_ca_issue(t->foreign[fault], &q, at_s, e2,
					 sizeof e2);
			root = UINT32_MAX;
		} else {
			/* The mesh's CA signs another domain's identity. */
			q.trust_domain = foreign_domain(f);
			c = tls_ca_issue(t->signer, &q, at_s, e2, sizeof e2);
		}
	} else {
		c = tls_ca_issue_workload(t->signer, w->ns, w->sa, at_s, e2,
					  sizeof e2);
	}
	if (!c) {
		tm_err(err, errlen, "%s: certificate: %s", w->name, e2);
		return -1;
	}
	if (make_ctxs(t, c, &sctx, &cctx, e2, sizeof e2) < 0) {
		tm_err(err, errlen, "%s: %s", w->name, e2);
		tls_ca_cert_free(c);
		return -1;
	}
	tls_ca_cert_free(w->cert);
	SSL_CTX_free(w->sctx);
	SSL_CTX_free(w->cctx);
	w->cert = c;
	w->sctx = sctx;
	w->cctx = cctx;
	w->gen = ++t->gens;
	w->kind = kind;
	w->kind_fault = fault;
	if (kind == TM_OWN) {
		/* The Istio agent's rotateTime, from when the certificate
		 * was obtained (now, to the nanosecond) to its notAfter,
		 * counted from `now` in whole seconds (notAfter = issue +
		 * ttl): so the result does not depend on where the epoch
		 * falls within a second, and live mode renews when the
		 * simulator does. */
		int64_t created = (int64_t)now;
		int64_t expires = created + (tls_ca_cert_not_after(c) - at_s) *
				  TM_NS_PER_S;
		double u = rng_uniform(&w->r);
		int64_t at = tls_ca_rotate_at(created, expires, t->ratio,
					      t->jitter, u);
		w->renew_at = at < created ? now : (mesh_time)at;
	}
	if (t->r) {
		rec_cert_event e;
		memset(&e, 0, sizeof e);
		e.at = now;
		e.workload = wi;
		e.why = (uint8_t)why;
		e.not_before_s = tls_ca_cert_not_before(c) - t->epoch_s;
		e.not_after_s = tls_ca_cert_not_after(c) - t->epoch_s;
		e.root = root;
		rec_cert(t->r, &e);
	}
	return 0;
}

/* Bring w's certificate in line with its faults. Returns 1 when it
 * changed, 0 when not, -1 on error. */
static int wl_sync(tls_mesh *t, uint32_t wi, mesh_time now, char *err,
		   size_t errlen)
{
	tm_wl *w = &t->w[wi];
	uint32_t fault;
	int kind = wanted_kind(t, wi, &fault);
	static const int why[] = {
		[TM_OWN] = TLS_MESH_RESTORED,
		[TM_EXPIRED] = TLS_MESH_EXPIRED_FAULT,
		[TM_FOREIGN] = TLS_MESH_FOREIGN_FAULT,
	};

	if (!w->started)
		return 0;
	if (kind == w->kind && (kind != TM_FOREIGN || fault == w->kind_fault))
		return 0;
	if (wl_issue(t, wi, kind, fault, why[kind], now, err, errlen) < 0)
		return -1;
	return 1;
}

int tls_mesh_start(tls_mesh *t, uint32_t w, mesh_time now, char *err,
		   size_t errlen)
{
	if (w >= t->nw || !t->w[w].id) {
		tm_err(err, errlen, "workload %u has no identity", w);
		return -1;
	}
	if (t->w[w].started)
		return 0;
	if (wl_issue(t, w, TM_OWN, MODEL_NONE, TLS_MESH_ISSUED, now, err,
		     errlen) < 0)
		return -1;
	t->w[w].started = 1;
	/* A fault switched on before the start shows at once. */
	return wl_sync(t, w, now, err, errlen) < 0 ? -1 : 0;
}

mesh_time tls_mesh_renew_at(const tls_mesh *t, uint32_t w)
{
	if (w >= t->nw || !t->w[w].started || t->w[w].kind != TM_OWN ||
	    faults_on(t, w, FAULT_CERT_NO_ROTATE, NULL))
		return MESH_NEVER;
	return t->w[w].renew_at;
}

int tls_mesh_renew(tls_mesh *t, uint32_t w, mesh_time now, char *err,
		   size_t errlen)
{
	mesh_time at = tls_mesh_renew_at(t, w);
	if (at == MESH_NEVER || now < at)
		return 0;
	if (wl_issue(t, w, TM_OWN, MODEL_NONE, TLS_MESH_RENEWED, now, err,
		     errlen) < 0)
		return -1;
	return 1;
}

/* The new root of root_rotate fault f signs from now on, and the trust
 * bundle moves to it (overlap: keeps the old roots too); every started
 * workload's contexts are rebuilt on the new bundle. */
static int rotate_root(tls_mesh *t, uint32_t f, char *err, size_t errlen)
{
	const model_fault *mf = &t->m->faults[f];
	size_t nold = t->nbundle;
	X509 *first = t->bundle[0];

	if (!mf->overlap)
		t->nbundle = 0;
	t->bundle[t->nbundle++] = tls_ca_root(t->rot[f]);
	if (store_rebuild(t, err, errlen) < 0) {
		t->bundle[0] = first; /* the bundle as it was */
		t->nbundle = nold;
		return -1;
	}
	t->rotated[f] = 1;
	t->signer = t->rot[f];
	t->signer_root = t->rot_index[f];
	for (uint32_t i = 0; i < t->nw; i++) {
		tm_wl *w = &t->w[i];
		SSL_CTX *s, *c;
		char e2[512];
		if (!w->started)
			continue;
		if (make_ctxs(t, w->cert, &s, &c, e2, sizeof e2) < 0) {
			tm_err(err, errlen, "%s: %s", w->name, e2);
			return -1;
		}
		SSL_CTX_free(w->sctx);
		SSL_CTX_free(w->cctx);
		w->sctx = s;
		w->cctx = c;
		w->gen = ++t->gens;
	}
	return 0;
}

int tls_mesh_fault(tls_mesh *t, uint32_t fault, int on, mesh_time now,
		   uint32_t w0, uint32_t w1, uint8_t *changed, char *err,
		   size_t errlen)
{
	const model *m = t->m;
	const model_fault *f;
	int rc = 0;

	if (fault >= m->nfaults) {
		tm_err(err, errlen, "fault %u: no such fault", fault);
		return -1;
	}
	if (w1 > t->nw)
		w1 = t->nw;
	f = &m->faults[fault];
	switch (f->kind) {
	case FAULT_ROOT_ROTATE:
		if (!on || t->rotated[fault])
			return 0;
		if (rotate_root(t, fault, err, errlen) < 0)
			return -1;
		for (uint32_t w = w0; changed && w < w1; w++)
			if (t->w[w].started)
				changed[w - w0] = 1;
		return 0;
	case FAULT_CERT_EXPIRE:
	case FAULT_CERT_NO_ROTATE:
	case FAULT_CERT_FOREIGN:
	case FAULT_MTLS_STRICT:
		break;
	default:
		return 0;
	}
	for (uint32_t w = w0; w < w1; w++) {
		tm_wl *wl = &t->w[w];
		uint16_t *c = &t->on[(size_t)w * m->nfaults + fault];
		int ch = 0;
		if (wl->svc == MODEL_NONE ||
		    !model_fault_targets(m, f, wl->svc, wl->inst))
			continue;
		if (on && *c < UINT16_MAX)
			(*c)++;
		else if (!on && *c)
			(*c)--;
		else
			continue;
		if (f->kind == FAULT_MTLS_STRICT)
			continue;
		ch = wl_sync(t, w, now, err, errlen);
		/* The end of cert_no_rotate: a renewal due meanwhile now. */
		if (ch == 0 && f->kind == FAULT_CERT_NO_ROTATE && !on)
			ch = tls_mesh_renew(t, w, now, err, errlen);
		if (ch < 0)
			rc = -1;
		else if (ch && changed)
			changed[w - w0] = 1;
	}
	return rc;
}

SSL_CTX *tls_mesh_server_ctx(const tls_mesh *t, uint32_t w)
{
	return w < t->nw ? t->w[w].sctx : NULL;
}

SSL_CTX *tls_mesh_client_ctx(const tls_mesh *t, uint32_t w)
{
	return w < t->nw ? t->w[w].cctx : NULL;
}

/* A service's configured mode: its own, else the mesh-wide default,
 * else Istio's default, PERMISSIVE. */
static enum model_mtls_mode configured_mode(const model *m, uint32_t svc)
{
	enum model_mtls_mode md = m->services[svc].mtls_mode;
	if (md == MTLS_UNSET)
		md = m->mtls.mode;
	return md == MTLS_UNSET ? MTLS_PERMISSIVE : md;
}

int tls_mesh_caller_tls(const tls_mesh *t, uint32_t caller, uint32_t svc)
{
	return tls_mesh_has_identity(t, caller) && svc < t->m->nservices &&
	       configured_mode(t->m, svc) != MTLS_DISABLE;
}

enum model_mtls_mode tls_mesh_inbound_mode(const tls_mesh *t, uint32_t w)
{
	if (w >= t->nw || t->w[w].svc == MODEL_NONE)
		return MTLS_DISABLE;
	if (faults_on(t, w, FAULT_MTLS_STRICT, NULL))
		return MTLS_STRICT;
	return configured_mode(t->m, t->w[w].svc);
}

uint32_t tls_mesh_src_of_id(const model *m, const char *id)
{
	static const char scheme[] = "spiffe://";
	if (!id || strncmp(id, scheme, sizeof scheme - 1) != 0)
		return 0;
	id += sizeof scheme - 1;
	for (uint32_t s = 0; s < m->nservices; s++)
		if (m->services[s].principal &&
		    strcmp(m->services[s].principal, id) == 0)
			return 1 + s;
	for (uint32_t c = 0; c < m->nclients; c++)
		if (m->clients[c].principal &&
		    strcmp(m->clients[c].principal, id) == 0)
			return 1 + m->nservices + c;
	return 0;
}

uint64_t tls_mesh_generation(const tls_mesh *t, uint32_t w)
{
	return w < t->nw ? t->w[w].gen : 0;
}

/* Does fault f aim at workload w (a service instance)? */
static int culprit_targets(const tls_mesh *t, const model_fault *f, uint32_t w)
{
	return w < t->nw && t->w[w].svc != MODEL_NONE && f->service == t->w[w].svc &&
	       model_fault_targets(t->m, f, f->service, t->w[w].inst);
}

uint32_t tls_mesh_culprit(const tls_mesh *t, const uint8_t *faults_on,
			  uint32_t cw, uint32_t sw, int reason)
{
	const model *m = t->m;
	uint32_t rotation = UINT32_MAX;
	for (uint32_t i = 0; i < m->nfaults; i++) {
		const model_fault *f = &m->faults[i];
		if (!faults_on[i])
			continue;
		int either = culprit_targets(t, f, cw) || culprit_targets(t, f, sw);
		switch (f->kind) {
		case FAULT_CERT_EXPIRE:
		case FAULT_CERT_NO_ROTATE:
			if (reason == REC_TLS_EXPIRED && either)
				return i;
			break;
		case FAULT_CERT_FOREIGN:
			if (either && (f->foreign_root ? reason == REC_TLS_UNKNOWN_CA
						       : reason == REC_TLS_IDENTITY))
				return i;
			break;
		case FAULT_MTLS_STRICT:
			if (reason == REC_TLS_PLAINTEXT_REJECTED &&
			    culprit_targets(t, f, sw))
				return i;
			break;
		case FAULT_ROOT_ROTATE:
			/* Everyone's, so only when nothing aimed at these two
			 * explains it; with overlap it harms no one. */
			if (reason == REC_TLS_UNKNOWN_CA && !f->overlap &&
			    rotation == UINT32_MAX)
				rotation = i;
			break;
		default:
			break;
		}
	}
	return rotation;
}

int64_t tls_mesh_epoch_ns(const tls_mesh *t)
{
	return t->epoch_ns;
}

int tls_mesh_rec_reason(int lh_err)
{
	switch (lh_err) {
	case LH_ERR_TLS_EXPIRED:
		return REC_TLS_EXPIRED;
	case LH_ERR_TLS_UNKNOWN_CA:
		return REC_TLS_UNKNOWN_CA;
	case LH_ERR_TLS_IDENTITY:
		return REC_TLS_IDENTITY;
	case LH_ERR_TLS_NO_CERT:
		return REC_TLS_NO_CERT;
	default:
		return REC_TLS_OTHER;
	}
}
