/*
 * tls_server_tool.c - a STRICT mutual-TLS server (live_http) for
 * tests/tls_interop_test.sh to reach with real peers: openssl s_client and
 * curl.
 *
 *   tls_server_tool ADDR PORT DIR
 *
 * Makes a root CA (agents/tls_ca.h) and, in DIR (which must exist):
 *   root.pem                      the root, for the peers' -CAfile/--cacert
 *   client.pem, client.key        a good client certificate ("client")
 *   expired.pem, expired.key      an expired one
 *   stranger.pem, stranger.key    one from another root (other.local)
 * Its own certificate is "origin"'s, with ADDR as an IP SAN beside the
 * SPIFFE ID, so that curl's host-name check passes. It listens on
 * ADDR:PORT (PORT 0: any) STRICT, and once listening writes the port to
 * DIR/port (whole, by a rename). Every request is answered 200 with
 * "hello <the client's SPIFFE ID>\n". On SIGTERM or SIGINT it prints its
 * handshake counters on one line and exits 0:
 *
 *   stats full=N resumed=N expired=N unknown_ca=N identity=N no_cert=N
 *   other=N by_peer=N plaintext_refused=N
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "live_http.h"
#include "tls_ca.h"

static void on_request(void *arg, lh_sx *x, const lh_head *head)
{
	char body[TLS_CA_ID_MAX + 16];
	const char *id = lh_sx_peer_id(x);
	(void)arg;
	(void)head;
	/* STRICT: there is always one. */
	int n = snprintf(body, sizeof body, "hello %s\n", id ? id : "(none)");
	lh_sx_respond_simple(x, 200, "text/plain", body, (size_t)n, NULL);
}

static void on_signal(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Write c as DIR/NAME.pem (leaf and chain) and DIR/NAME.key. */
static int write_pair(const char *dir, const char *name, const tls_ca_cert *c,
		      char *err, size_t errlen)
{
	char path[4096];
	X509 *v[8];
	STACK_OF(X509) *chain = tls_ca_cert_chain(c);
	size_t n = 0;
	v[n++] = tls_ca_cert_x509(c);
	for (int i = 0; i < sk_X509_num(chain) && n < 8; i++)
		v[n++] = sk_X509_value(chain, i);
	snprintf(path, sizeof path, "%s/%s.pem", dir, name);
	if (tls_ca_write_certs(path, v, n, err, errlen) < 0)
		return -1;
	snprintf(path, sizeof path, "%s/%s.key", dir, name);
	return tls_ca_write_key(path, tls_ca_cert_key(c), err, errlen);
}

int main(int argc, char **argv)
{
	char err[1024], path[4096];
	tls_ca *ca = NULL, *other = NULL;
	tls_ca_cert *srv = NULL, *cli = NULL, *old = NULL, *alien = NULL;
	X509_STORE *trust = NULL;
	SSL_CTX *ctx = NULL;
	lh_server *s = NULL;
	struct event_base *base = NULL;
	struct event *sigs[2] = { NULL, NULL };
	int rc = 1;

	if (argc != 4) {
		fprintf(stderr, "usage: tls_server_tool ADDR PORT DIR\n");
		return 2;
	}
	const char *addr = argv[1], *dir = argv[3];
	uint16_t port = (uint16_t)atoi(argv[2]);
	int64_t now = (int64_t)time(NULL);
	signal(SIGPIPE, SIG_IGN);

	tls_ca_opts o;
	tls_ca_opts_init(&o);
	o.trust_domain = "other.local";
	tls_ca_req q;
	tls_ca_req_init(&q, NULL, "origin");
	const char *ips[] = { addr };
	q.ips = ips;
	q.n_ips = 1;
	if (!(ca = tls_ca_new_root(NULL, now, err, sizeof err)) ||
	    !(other = tls_ca_new_root(&o, now, err, sizeof err)) ||
	    !(srv = tls_ca_issue(ca, &q, now, err, sizeof err)) ||
	    !(cli = tls_ca_issue_workload(ca, NULL, "client", now, err,
					  sizeof err)) ||
	    !(old = tls_ca_issue_expired(ca, NULL, "client", now, err,
					 sizeof err)) ||
	    !(alien = tls_ca_issue_workload(other, NULL, "client", now, err,
					    sizeof err)))
		goto fail;
	X509 *root = tls_ca_root(ca);
	snprintf(path, sizeof path, "%s/root.pem", dir);
	if (tls_ca_write_certs(path, &root, 1, err, sizeof err) < 0 ||
	    write_pair(dir, "client", cli, err, sizeof err) < 0 ||
	    write_pair(dir, "expired", old, err, sizeof err) < 0 ||
	    write_pair(dir, "stranger", alien, err, sizeof err) < 0)
		goto fail;
	if (!(trust = tls_ca_store_new(&root, 1, err, sizeof err)) ||
	    !(ctx = lh_tls_ctx_new(tls_ca_cert_x509(srv), tls_ca_cert_key(srv),
				   tls_ca_cert_chain(srv), trust, 1, err,
				   sizeof err)))
		goto fail;

	static const lh_server_cbs cbs = { .on_request = on_request };
	base = event_base_new();
	if (!base) {
		snprintf(err, sizeof err, "no event base");
		goto fail;
	}
	if (!(s = lh_server_new(base, addr, port, &cbs, NULL, err, sizeof err)))
		goto fail;
	if (lh_server_set_tls(s, ctx, LH_TLS_STRICT) < 0) {
		snprintf(err, sizeof err, "cannot set TLS on the server");
		goto fail;
	}
	sigs[0] = evsignal_new(base, SIGTERM, on_signal, base);
	sigs[1] = evsignal_new(base, SIGINT, on_signal, base);
	if (!sigs[0] || !sigs[1] || event_add(sigs[0], NULL) < 0 ||
	    event_add(sigs[1], NULL) < 0) {
		snprintf(err, sizeof err, "cannot catch signals");
		goto fail;
	}
	/* The port file appears whole, once the server listens. */
	char tmp[4096], num[16];
	snprintf(tmp, sizeof tmp, "%s/port.tmp", dir);
	snprintf(path, sizeof path, "%s/port", dir);
	FILE *f = fopen(tmp, "w");
	snprintf(num, sizeof num, "%u", (unsigned)lh_server_port(s));
	if (!f || fprintf(f, "%s\n", num) < 0 || fclose(f) != 0 ||
	    rename(tmp, path) != 0) {
		snprintf(err, sizeof err, "%s: cannot write", path);
		goto fail;
	}
	fprintf(stderr, "tls_server_tool: STRICT mTLS on %s port %s\n", addr, num);

	event_base_dispatch(base);

	lh_tls_stats st;
	lh_server_tls_stats(s, &st);
	printf("stats full=%llu resumed=%llu expired=%llu unknown_ca=%llu "
	       "identity=%llu no_cert=%llu other=%llu by_peer=%llu "
	       "plaintext_refused=%llu\n",
	       (unsigned long long)st.full, (unsigned long long)st.resumed,
	       (unsigned long long)st.failed[LH_ERR_TLS_EXPIRED - LH_ERR_TLS_EXPIRED],
	       (unsigned long long)st.failed[LH_ERR_TLS_UNKNOWN_CA - LH_ERR_TLS_EXPIRED],
	       (unsigned long long)st.failed[LH_ERR_TLS_IDENTITY - LH_ERR_TLS_EXPIRED],
	       (unsigned long long)st.failed[LH_ERR_TLS_NO_CERT - LH_ERR_TLS_EXPIRED],
	       (unsigned long long)st.failed[LH_ERR_TLS_OTHER - LH_ERR_TLS_EXPIRED],
	       (unsigned long long)st.failed_by_peer,
	       (unsigned long long)st.plaintext_refused);
	fflush(stdout);
	rc = 0;
	goto out;
fail:
	fprintf(stderr, "tls_server_tool: %s\n", err);
out:
	for (int i = 0; i < 2; i++)
		if (sigs[i])
			event_free(sigs[i]);
	lh_server_free(s);
	if (base) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		event_base_free(base);
	}
	SSL_CTX_free(ctx);
	X509_STORE_free(trust);
	tls_ca_cert_free(srv);
	tls_ca_cert_free(cli);
	tls_ca_cert_free(old);
	tls_ca_cert_free(alien);
	tls_ca_free(ca);
	tls_ca_free(other);
	return rc;
}
