/*
 * tls_ca_tool - writes what the built-in CA makes, for tests/tls_ca_test.sh
 * to check with the real openssl command.
 *
 * Usage: tls_ca_tool DIR NOW SA
 *   NOW: seconds since the Unix epoch; the CAs are made an hour before it,
 *   the workload certificates at it. SA: the service account.
 * Writes into DIR (which must exist), each cert file with its -key.pem:
 *   root.pem              the root (and key)
 *   intermediate.pem      an intermediate under it (and key)
 *   workload.pem          spiffe://cluster.local/ns/default/sa/SA from the
 *                         intermediate: leaf then intermediate (and key)
 *   workload2.pem         the same identity again (another serial)
 *   expired.pem           the same identity, expired at NOW
 *   other-root.pem        a root of trust domain other.local
 *   other.pem             a workload certificate from it
 *   new-root.pem          a new root for cluster.local (re-rooting)
 *   rerooted.pem          a workload certificate from the new root
 *
 * Usage: tls_ca_tool pki SCENARIO DIR
 *   Writes the mesh PKI of SCENARIO (which needs an "mtls" block) into DIR,
 *   as the orchestrator of a live run does (tls_mesh_write), for sidecars
 *   started by hand with --pki DIR (tests/bench_proxy.sh's mTLS paths).
 * Exits 0, or 1 with a message.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "scenario.h"
#include "tls_ca.h"
#include "tls_mesh.h"

static char err[1024];

static void die(const char *what)
{
	fprintf(stderr, "tls_ca_tool: %s: %s\n", what, err);
	exit(1);
}

static void write_cert(const char *dir, const char *name, tls_ca_cert *c)
{
	if (!c)
		die(name);
	if (tls_ca_write_pem(dir, name, c, err, sizeof err) < 0)
		die(name);
	tls_ca_cert_free(c);
}

static int pki(const char *file, const char *dir)
{
	scn_errors e = {0};
	model *m = scn_load_file(file, &e);
	for (size_t i = 0; i < e.n; i++)
		fprintf(stderr, "%s\n", e.msg[i]);
	scn_errors_free(&e);
	if (!m)
		return 1;
	if (!m->mtls.enabled) {
		fprintf(stderr, "tls_ca_tool: %s: no \"mtls\" block\n", file);
		model_free(m);
		return 1;
	}
	/* The CAs are valid from now (the wall clock: sidecars check
	 * certificates against it). */
	int64_t epoch = (int64_t)time(NULL) * 1000000000;
	tls_mesh *t = tls_mesh_new(m, m->seed, epoch, NULL, NULL, err, sizeof err);
	int rc = !t || tls_mesh_write(t, dir, err, sizeof err) < 0;
	if (rc)
		fprintf(stderr, "tls_ca_tool: %s\n", err);
	tls_mesh_free(t);
	model_free(m);
	return rc;
}

int main(int argc, char **argv)
{
	if (argc == 4 && !strcmp(argv[1], "pki"))
		return pki(argv[2], argv[3]);
	if (argc != 4) {
		fprintf(stderr, "usage: tls_ca_tool DIR NOW SA\n");
		return 2;
	}
	const char *dir = argv[1], *sa = argv[3];
	char *end;
	int64_t now = strtoll(argv[2], &end, 10);
	if (*end || end == argv[2]) {
		fprintf(stderr, "tls_ca_tool: NOW: expected seconds since the epoch\n");
		return 2;
	}
	int64_t made = now - 3600;

	tls_ca *root = tls_ca_new_root(NULL, made, err, sizeof err);
	if (!root)
		die("root");
	tls_ca *inter = tls_ca_new_intermediate(root, made, 0, err, sizeof err);
	if (!inter)
		die("intermediate");
	if (tls_ca_write_ca_pem(dir, "root", root, 1, err, sizeof err) < 0 ||
			tls_ca_write_ca_pem(dir, "intermediate", inter, 1, err, sizeof err) < 0)
		die("writing the CAs");
	write_cert(dir, "workload",
		tls_ca_issue_workload(inter, NULL, sa, now, err, sizeof err));
	write_cert(dir, "workload2",
		tls_ca_issue_workload(inter, NULL, sa, now, err, sizeof err));
	write_cert(dir, "expired",
		tls_ca_issue_expired(inter, NULL, sa, now, err, sizeof err));

	tls_ca_opts o;
	tls_ca_opts_init(&o);
	o.trust_domain = "other.local";
	tls_ca *other = tls_ca_new_root(&o, made, err, sizeof err);
	if (!other || tls_ca_write_ca_pem(dir, "other-root", other, 0, err, sizeof err) < 0)
		die("other-root");
	write_cert(dir, "other", tls_ca_issue_workload(other, NULL, sa, now, err, sizeof err));

	tls_ca *fresh = tls_ca_reroot(root, made, err, sizeof err);
	if (!fresh || tls_ca_write_ca_pem(dir, "new-root", fresh, 0, err, sizeof err) < 0)
		die("new-root");
	write_cert(dir, "rerooted", tls_ca_issue_workload(fresh, NULL, sa, now, err, sizeof err));

	tls_ca_free(fresh);
	tls_ca_free(other);
	tls_ca_free(inter);
	tls_ca_free(root);
	printf("issued_at=%" PRId64 "\n", now);
	return 0;
}
