/*
 * Authorization policies (agents/authz.h): Istio's evaluation rules worked
 * through the examples of its AuthorizationPolicy reference, the loader's
 * checks of the "authorization" block and of identities, simulated runs
 * where denied requests end as `denied` 403s with every request accounted
 * for, and the counters' way through a recorder snapshot.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "authz.h"
#include "rec.h"
#include "rec_json.h"
#include "scenario.h"
#include "suites.h"
#include "testutil.h"

/* A scenario around an "authorization" block: services web (namespace
 * foo), api and db (default), and one load client per service (web's with
 * no identity). `policies` is the block's JSON array. */
static model *load_policies(const char *policies)
{
	char buf[8192];
	snprintf(buf, sizeof buf,
		 "{ \"duration\": \"1s\","
		 "  \"services\": { \"web\": { \"namespace\": \"foo\" },"
		 "                  \"api\": {}, \"db\": { \"service_account\": \"db-sa\" } },"
		 "  \"authorization\": %s,"
		 "  \"load\": [ { \"to\": \"web\", \"rps\": 1 } ] }",
		 policies);
	return tu_load(buf);
}

static int svc(const model *m, const char *name)
{
	for (uint32_t i = 0; i < m->nservices; i++)
		if (!strcmp(m->services[i].name, name))
			return (int)i;
	ck_abort_msg("no service %s", name);
	return -1;
}

/* The verdict at service `at` for a request from principal `who` (NULL:
 * plaintext; its namespace is the one it names) for method and path. */
static enum authz_verdict decide(const model *m, const char *at, const char *who,
				 int method, const char *path, uint32_t *by)
{
	char ns[128] = "";
	const char *p = who ? strstr(who, "/ns/") : NULL;
	if (p) {
		snprintf(ns, sizeof ns, "%s", p + 4);
		char *e = strchr(ns, '/');
		if (e)
			*e = '\0';
	}
	authz_request q = {.peer = {who, p ? ns : NULL}, .path = path,
			   .method = (uint8_t)method};
	uint32_t dummy;
	return authz_evaluate(m->authz, &m->services[svc(m, at)].authz, &q,
			      by ? by : &dummy);
}

#define SLEEP "cluster.local/ns/default/sa/sleep"

START_TEST(test_no_policy_allows)
{
	/* "If there are no ALLOW policies for the workload, allow the
	 * request": a workload no policy selects allows everything, and its
	 * sidecar does not even look (an empty set). */
	model *m = load_policies("[ { \"name\": \"only-web\", \"selector\": \"web\","
				 "    \"action\": \"DENY\", \"rules\": [ {} ] } ]");
	const authz_set *s = &m->services[svc(m, "api")].authz;
	ck_assert_uint_eq(s->ndeny + s->nallow, 0);
	uint32_t by;
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_DELETE, "/x", &by), AUTHZ_ALLOWED);
	ck_assert_uint_eq(by, UINT32_MAX);
	model_free(m);
}
END_TEST

START_TEST(test_allow_nothing_and_allow_all)
{
	/* Istio's "allow-nothing" (an ALLOW policy without rules: "If not
	 * set, the match will never occur ... a default of deny") and
	 * "allow-all" (rules: [{}]: "An empty rule is always matched"). */
	model *m = load_policies(
		"[ { \"name\": \"allow-nothing\", \"selector\": \"web\" },"
		"  { \"name\": \"allow-nothing-2\", \"selector\": \"api\", \"rules\": [] },"
		"  { \"name\": \"allow-all\", \"selector\": \"db\", \"rules\": [ {} ] } ]");
	uint32_t by;
	ck_assert_int_eq(m->authz[0].action, AUTHZ_ALLOW); /* Istio's default */
	ck_assert_int_eq(decide(m, "web", SLEEP, METHOD_GET, "/", &by),
			 AUTHZ_DENIED_NO_ALLOW);
	ck_assert_uint_eq(by, UINT32_MAX);
	ck_assert_int_eq(decide(m, "web", NULL, METHOD_GET, "/", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_GET, "/", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	/* An empty rule matches even a plaintext peer: it asks nothing. */
	ck_assert_int_eq(decide(m, "db", NULL, METHOD_POST, "/q", &by), AUTHZ_ALLOWED);
	ck_assert_uint_eq(by, 2);
	model_free(m);
}
END_TEST

START_TEST(test_deny_all_and_empty_deny)
{
	/* DENY rules: [{}] is Istio's deny-all; a DENY policy without rules
	 * never matches (rbacPolicyMatchNever) and so denies nothing. */
	model *m = load_policies(
		"[ { \"name\": \"deny-all\", \"selector\": \"web\", \"action\": \"DENY\","
		"    \"rules\": [ {} ] },"
		"  { \"name\": \"deny-none\", \"selector\": \"api\", \"action\": \"DENY\" } ]");
	uint32_t by;
	ck_assert_int_eq(decide(m, "web", SLEEP, METHOD_GET, "/", &by), AUTHZ_DENIED);
	ck_assert_uint_eq(by, 0);
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_GET, "/", &by), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_DELETE, "/admin", &by), AUTHZ_ALLOWED);
	ck_assert_uint_eq(by, UINT32_MAX);
	model_free(m);
}
END_TEST

START_TEST(test_deny_wins_over_allow)
{
	/* DENY before ALLOW: allow-all plus a DENY on /admin: /admin is
	 * denied though the ALLOW policy matches it too. */
	model *m = load_policies(
		"[ { \"name\": \"allow-all\", \"selector\": \"api\", \"action\": \"ALLOW\","
		"    \"rules\": [ {} ] },"
		"  { \"name\": \"no-admin\", \"selector\": \"api\", \"action\": \"DENY\","
		"    \"rules\": [ { \"to\": [ { \"operation\": { \"paths\": [\"/admin\"] } } ] } ] } ]");
	uint32_t by;
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_GET, "/admin", &by), AUTHZ_DENIED);
	ck_assert_uint_eq(by, 1);
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_GET, "/admin/x", &by), AUTHZ_ALLOWED);
	ck_assert_uint_eq(by, 0);
	const authz_set *s = &m->services[svc(m, "api")].authz;
	ck_assert_uint_eq(s->ndeny, 1);
	ck_assert_uint_eq(s->nallow, 1);
	model_free(m);
}
END_TEST

START_TEST(test_reference_allow_example)
{
	/* The reference's first example: allow requests from service
	 * account cluster.local/ns/default/sa/sleep or namespace test, to
	 * GET at paths of prefix /info or POST at /data. (Its "when" on a
	 * JWT issuer is not modelled.) Any other request is denied. */
	model *m = load_policies(
		"[ { \"name\": \"httpbin\", \"selector\": \"api\", \"action\": \"ALLOW\","
		"    \"rules\": [ { \"from\": [ { \"source\": { \"principals\": [\"" SLEEP "\"] } },"
		"                              { \"source\": { \"namespaces\": [\"test\"] } } ],"
		"                   \"to\": [ { \"operation\": { \"methods\": [\"GET\"],"
		"                                               \"paths\": [\"/info*\"] } },"
		"                            { \"operation\": { \"methods\": [\"POST\"],"
		"                                               \"paths\": [\"/data\"] } } ] } ] } ]");
	const char *test = "cluster.local/ns/test/sa/anyone";
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_GET, "/info", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_GET, "/info/x", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", test, METHOD_POST, "/data", NULL), AUTHZ_ALLOWED);
	/* A matching source, an operation that is not listed. */
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_POST, "/info", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", test, METHOD_GET, "/data", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", test, METHOD_POST, "/data/x", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	/* A listed operation from a source that is not. */
	ck_assert_int_eq(decide(m, "api", "cluster.local/ns/default/sa/other", METHOD_GET,
				"/info", NULL), AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/info", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	model_free(m);
}
END_TEST

START_TEST(test_reference_deny_example)
{
	/* The reference's DENY example: deny requests from namespace dev
	 * to the POST method. */
	model *m = load_policies(
		"[ { \"name\": \"httpbin\", \"selector\": \"api\", \"action\": \"DENY\","
		"    \"rules\": [ { \"from\": [ { \"source\": { \"namespaces\": [\"dev\"] } } ],"
		"                   \"to\": [ { \"operation\": { \"methods\": [\"POST\"] } } ] } ] } ]");
	const char *dev = "cluster.local/ns/dev/sa/x", *prod = "cluster.local/ns/prod/sa/x";
	ck_assert_int_eq(decide(m, "api", dev, METHOD_POST, "/", NULL), AUTHZ_DENIED);
	ck_assert_int_eq(decide(m, "api", dev, METHOD_GET, "/", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", prod, METHOD_POST, "/", NULL), AUTHZ_ALLOWED);
	/* A plaintext peer has no namespace: the DENY does not match it,
	 * and with no ALLOW policy it is allowed. */
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_POST, "/", NULL), AUTHZ_ALLOWED);
	model_free(m);
}
END_TEST

START_TEST(test_not_paths_and_not_methods)
{
	/* The reference's Operation example: methods GET or HEAD, and a path
	 * without the prefix /admin. Then notMethods alone. */
	model *m = load_policies(
		"[ { \"name\": \"read-only\", \"selector\": \"api\","
		"    \"rules\": [ { \"to\": [ { \"operation\": { \"methods\": [\"GET\", \"HEAD\"],"
		"                                              \"notPaths\": [\"/admin*\"] } } ] } ] },"
		"  { \"name\": \"no-deletes\", \"selector\": \"db\", \"action\": \"DENY\","
		"    \"rules\": [ { \"to\": [ { \"operation\": { \"notMethods\": [\"GET\", \"HEAD\", \"OPTIONS\"],"
		"                                              \"notPaths\": [\"/scratch/*\"] } } ] } ] } ]");
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/items", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_HEAD, "/items", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/admin", NULL), AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/administrator", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_POST, "/items", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	/* Writes are denied on db, but for /scratch/. */
	ck_assert_int_eq(decide(m, "db", SLEEP, METHOD_DELETE, "/rows", NULL), AUTHZ_DENIED);
	ck_assert_int_eq(decide(m, "db", SLEEP, METHOD_PUT, "/rows", NULL), AUTHZ_DENIED);
	ck_assert_int_eq(decide(m, "db", SLEEP, METHOD_PUT, "/scratch/1", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "db", SLEEP, METHOD_OPTIONS, "/rows", NULL), AUTHZ_ALLOWED);
	model_free(m);
}
END_TEST

START_TEST(test_path_kinds)
{
	/* Exact "/a", prefix "/api/" then a star, suffix "*.png", presence
	 * "*". */
	model *m = load_policies(
		"[ { \"name\": \"exact\", \"selector\": \"web\","
		"    \"rules\": [ { \"to\": [ { \"operation\": { \"paths\": [\"/a\"] } } ] } ] },"
		"  { \"name\": \"prefix\", \"selector\": \"api\","
		"    \"rules\": [ { \"to\": [ { \"operation\": { \"paths\": [\"/api/*\"] } } ] } ] },"
		"  { \"name\": \"suffix\", \"selector\": \"db\","
		"    \"rules\": [ { \"to\": [ { \"operation\": { \"paths\": [\"*.png\", \"/x\"] } } ] } ] } ]");
	ck_assert_int_eq(decide(m, "web", NULL, METHOD_GET, "/a", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "web", NULL, METHOD_GET, "/a/", NULL), AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "web", NULL, METHOD_GET, "/ab", NULL), AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/api/", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/api/v1/x", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/api", NULL), AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "db", NULL, METHOD_GET, "/img/a.png", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "db", NULL, METHOD_GET, "/x", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "db", NULL, METHOD_GET, "/img/a.png/", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	model_free(m);
	/* Presence: any path (a request always has one). */
	m = load_policies("[ { \"name\": \"any\", \"selector\": \"api\", \"action\": \"DENY\","
			  "    \"rules\": [ { \"to\": [ { \"operation\": { \"paths\": [\"*\"] } } ] } ] } ]");
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/", NULL), AUTHZ_DENIED);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/deep/er", NULL), AUTHZ_DENIED);
	model_free(m);

	/* The matcher itself, on Istio's four kinds. */
	authz_str s;
	ck_assert_int_eq(authz_str_init(&s, "abc*"), 0);
	ck_assert_int_eq(s.kind, AUTHZ_PREFIX);
	ck_assert(authz_str_match(&s, "abc") && authz_str_match(&s, "abcd"));
	ck_assert(!authz_str_match(&s, "ab") && !authz_str_match(&s, NULL));
	free(s.text);
	ck_assert_int_eq(authz_str_init(&s, "*abc"), 0);
	ck_assert_int_eq(s.kind, AUTHZ_SUFFIX);
	ck_assert(authz_str_match(&s, "abc") && authz_str_match(&s, "xabc"));
	ck_assert(!authz_str_match(&s, "abcx"));
	free(s.text);
	ck_assert_int_eq(authz_str_init(&s, "*"), 0);
	ck_assert_int_eq(s.kind, AUTHZ_PRESENCE);
	ck_assert(authz_str_match(&s, "x") && !authz_str_match(&s, "") &&
		  !authz_str_match(&s, NULL));
	free(s.text);
}
END_TEST

START_TEST(test_namespace_matching)
{
	/* namespaces and notNamespaces, with patterns; a service's own
	 * namespace and service account make its principal. */
	model *m = load_policies(
		"[ { \"name\": \"ns\", \"selector\": \"api\","
		"    \"rules\": [ { \"from\": [ { \"source\": { \"namespaces\": [\"team-*\", \"*-prod\", \"foo\"],"
		"                                              \"notNamespaces\": [\"team-x\"] } } ] } ] } ]");
	ck_assert_str_eq(m->services[svc(m, "web")].principal, "cluster.local/ns/foo/sa/web");
	ck_assert_str_eq(m->services[svc(m, "db")].principal, "cluster.local/ns/default/sa/db-sa");
	ck_assert_str_eq(m->services[svc(m, "api")].ns, "default");
	ck_assert_int_eq(decide(m, "api", "cluster.local/ns/team-a/sa/s", METHOD_GET, "/", NULL),
			 AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", "cluster.local/ns/eu-prod/sa/s", METHOD_GET, "/", NULL),
			 AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", "cluster.local/ns/foo/sa/web", METHOD_GET, "/", NULL),
			 AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", "cluster.local/ns/team-x/sa/s", METHOD_GET, "/", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", "cluster.local/ns/prod/sa/s", METHOD_GET, "/", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", "cluster.local/ns/foobar/sa/s", METHOD_GET, "/", NULL),
			 AUTHZ_DENIED_NO_ALLOW);
	/* The caller's identity as the sidecar finds it from a message's
	 * src: services and clients by index, 0 for none. */
	authz_peer p = model_peer(m, 1 + (uint32_t)svc(m, "web"));
	ck_assert_str_eq(p.principal, "cluster.local/ns/foo/sa/web");
	ck_assert_str_eq(p.ns, "foo");
	p = model_peer(m, 0);
	ck_assert_ptr_null(p.principal);
	p = model_peer(m, 1 + m->nservices); /* the client, no principal */
	ck_assert_ptr_null(p.principal);
	ck_assert_ptr_null(p.ns);
	ck_assert_uint_eq(model_peer_of(m, "web"), 1 + (uint32_t)svc(m, "web"));
	ck_assert_uint_eq(model_peer_of(m, "client/load0"), 1 + m->nservices);
	ck_assert_uint_eq(model_peer_of(m, "client/nobody"), 0);
	ck_assert_uint_eq(model_peer_of(m, "curl"), 0);
	ck_assert_uint_eq(model_peer_of(m, NULL), 0);
	model_free(m);
}
END_TEST

START_TEST(test_plaintext_peer)
{
	/* With no principal (plaintext), principals and namespaces never
	 * match, not even "*"; their negations always do. */
	model *m = load_policies(
		"[ { \"name\": \"any-identity\", \"selector\": \"web\","
		"    \"rules\": [ { \"from\": [ { \"source\": { \"principals\": [\"*\"] } } ] } ] },"
		"  { \"name\": \"any-namespace\", \"selector\": \"api\","
		"    \"rules\": [ { \"from\": [ { \"source\": { \"namespaces\": [\"*\"] } } ] } ] },"
		"  { \"name\": \"deny-unauthenticated\", \"selector\": \"db\", \"action\": \"DENY\","
		"    \"rules\": [ { \"from\": [ { \"source\": { \"notPrincipals\": [\"*\"] } } ] } ] } ]");
	ck_assert_int_eq(decide(m, "web", NULL, METHOD_GET, "/", NULL), AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "web", SLEEP, METHOD_GET, "/", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", NULL, METHOD_GET, "/", NULL), AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_GET, "/", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "db", NULL, METHOD_GET, "/", NULL), AUTHZ_DENIED);
	ck_assert_int_eq(decide(m, "db", SLEEP, METHOD_GET, "/", NULL), AUTHZ_ALLOWED);
	model_free(m);
}
END_TEST

START_TEST(test_fields_and_lists)
{
	/* Within a source every field must hold (ANDed); a list matches on
	 * any value; sources are ORed, operations are ORed, and a rule needs
	 * a source and an operation. Methods take patterns: "P*" is POST,
	 * PUT and PATCH. A from entry without a source is any source. */
	model *m = load_policies(
		"[ { \"name\": \"and\", \"selector\": \"api\","
		"    \"rules\": [ { \"from\": [ { \"source\": { \"principals\": [\"*/sa/sleep\"],"
		"                                              \"namespaces\": [\"default\"] } } ],"
		"                   \"to\": [ { \"operation\": { \"methods\": [\"P*\"] } } ] } ] },"
		"  { \"name\": \"empty-from\", \"selector\": \"db\","
		"    \"rules\": [ { \"from\": [ {} ], \"to\": [ { \"operation\": { \"paths\": [\"/q\"] } } ] } ] } ]");
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_POST, "/", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_PATCH, "/", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "api", SLEEP, METHOD_GET, "/", NULL), AUTHZ_DENIED_NO_ALLOW);
	/* The right service account in another namespace: one field fails. */
	ck_assert_int_eq(decide(m, "api", "cluster.local/ns/other/sa/sleep", METHOD_POST, "/",
				NULL), AUTHZ_DENIED_NO_ALLOW);
	ck_assert_int_eq(decide(m, "db", NULL, METHOD_GET, "/q", NULL), AUTHZ_ALLOWED);
	ck_assert_int_eq(decide(m, "db", NULL, METHOD_GET, "/r", NULL), AUTHZ_DENIED_NO_ALLOW);
	ck_assert_uint_eq(m->authz[0].rules[0].to[0].methods,
			  1u << METHOD_POST | 1u << METHOD_PUT | 1u << METHOD_PATCH);
	model_free(m);
}
END_TEST

START_TEST(test_selector_and_namespace)
{
	/* No selector: every service (mesh-wide); a namespace and no
	 * selector: that namespace's services. */
	model *m = load_policies(
		"[ { \"name\": \"mesh-wide\", \"action\": \"DENY\" },"
		"  { \"name\": \"foo-only\", \"namespace\": \"foo\", \"rules\": [ {} ] },"
		"  { \"name\": \"two\", \"selector\": [\"api\", \"db\"], \"namespace\": \"default\","
		"    \"rules\": [ {} ] } ]");
	ck_assert_uint_eq(m->authz[0].nservices, 3);
	ck_assert_uint_eq(m->authz[1].nservices, 1);
	ck_assert_uint_eq(m->authz[1].services[0], (uint32_t)svc(m, "web"));
	ck_assert_uint_eq(m->authz[2].nservices, 2);
	ck_assert_uint_eq(m->services[svc(m, "web")].authz.ndeny, 1);
	ck_assert_uint_eq(m->services[svc(m, "web")].authz.nallow, 1);
	model_free(m);
}
END_TEST

/* The loader's messages for a bad scenario: every one is expected to be
 * among them (as a substring). */
static void expect_errors(const char *json, const char *const *want)
{
	scn_errors e = {0};
	model *m = scn_load_string(json, "bad.json", &e);
	ck_assert_ptr_null(m);
	for (const char *const *w = want; *w; w++) {
		int found = 0;
		for (size_t i = 0; i < e.n && !found; i++)
			found = strstr(e.msg[i], *w) != NULL;
		if (!found) {
			for (size_t i = 0; i < e.n; i++)
				fprintf(stderr, "  got: %s\n", e.msg[i]);
			ck_abort_msg("no error with: %s", *w);
		}
	}
	scn_errors_free(&e);
}

START_TEST(test_loader_errors)
{
	static const char bad[] =
		"{ \"duration\": \"1s\","
		"  \"services\": { \"web\": { \"namespace\": \"shop\" }, \"api\": { \"namespace\": \"a/b\" },"
		"                  \"db\": { \"service_account\": \"..\" } },"
		"  \"authorization\": ["
		"    { \"name\": \"p1\", \"selector\": \"wbe\", \"action\": \"deny\" },"
		"    { \"name\": \"p1\", \"action\": \"CUSTOM\", \"rules\": [ { \"when\": [] } ] },"
		"    { \"name\": \"p3\", \"namespace\": \"shop\", \"selector\": \"db\","
		"      \"rules\": [ { \"from\": [ { \"source\": { \"principals\": [\"spiffe://cluster.local/ns/a/sa/b\"],"
		"                                               \"ipBlocks\": [\"10.0.0.0/8\"],"
		"                                               \"not_principals\": [\"x\"] } } ],"
		"                     \"to\": [ { \"operation\": { \"methods\": [\"get\", \"P*\"],"
		"                                                 \"paths\": [\"api\", \"/a*b\", \"/x?y=1\"] } } ] } ] },"
		"    { \"name\": \"p4\", \"namespace\": \"nowhere\" },"
		"    { \"selector\": {\"matchLabels\": {\"app\": \"web\"}} } ],"
		"  \"load\": [ { \"to\": \"web\", \"rps\": 1, \"principal\": \"spiffe://cluster.local/ns/a/sa/b\" },"
		"            { \"to\": \"web\", \"rps\": 1, \"principal\": \"cluster.local/sa/b\" } ] }";
	static const char *const want[] = {
		"bad.json: services.api.namespace: expected a namespace of letters, digits",
		"found \"a/b\"",
		"bad.json: services.db.service_account: expected a service account",
		"bad.json: authorization[0].selector: expected the name of a service in \"services\", "
		"found \"wbe\", which is not defined (did you mean \"web\"?)",
		"bad.json: authorization[0].action: expected \"ALLOW\" or \"DENY\" (upper case, as "
		"Istio writes them), found \"deny\" (did you mean \"DENY\"?)",
		"bad.json: authorization[1].name: expected a unique policy name, found \"p1\" again",
		"bad.json: authorization[1].action: expected \"ALLOW\" or \"DENY\", found \"CUSTOM\": "
		"Istio's CUSTOM action is not modelled",
		"bad.json: authorization[1].rules[0].when: \"when\" is Istio's, but meshsim does not "
		"model it; expected one of: from, to",
		"bad.json: authorization[2].selector: expected a service in the policy's namespace "
		"\"shop\"",
		"authorization[2].rules[0].from[0].source.principals[0]: expected a principal without "
		"the spiffe:// prefix",
		"authorization[2].rules[0].from[0].source.ipBlocks: \"ipBlocks\" is Istio's, but "
		"meshsim does not model it",
		"authorization[2].rules[0].from[0].source.not_principals: unknown key "
		"\"not_principals\" (did you mean \"notPrincipals\"?)",
		"authorization[2].rules[0].to[0].operation.methods[0]: expected an HTTP method",
		"found \"get\" (did you mean \"GET\"?)",
		"authorization[2].rules[0].to[0].operation.paths[0]: expected a path starting with "
		"\"/\"",
		"authorization[2].rules[0].to[0].operation.paths[1]: expected a non-empty path, exact",
		"authorization[2].rules[0].to[0].operation.paths[2]: expected a path without a query",
		"bad.json: authorization[3].namespace: expected the namespace of a service (\"shop\", "
		"\"default\"), found \"nowhere\", which no service is in",
		"bad.json: authorization[4].name: expected the policy's name",
		"bad.json: authorization[4].selector: expected a service's name, or a non-empty list",
		"bad.json: load[0].principal: expected a principal as Istio writes it",
		"without the spiffe:// prefix",
		"bad.json: load[1].principal: expected a principal as Istio writes it",
		"found \"cluster.local/sa/b\"",
		NULL};
	expect_errors(bad, want);

	static const char bad_type[] =
		"{ \"duration\": \"1s\", \"services\": { \"a\": {} },"
		"  \"authorization\": { \"name\": \"x\" },"
		"  \"load\": [ { \"to\": \"a\", \"rps\": 1 } ] }";
	static const char *const want2[] = {
		"bad.json: authorization: expected a list of authorization policies", NULL};
	expect_errors(bad_type, want2);

	static const char bad_objective[] =
		"{ \"duration\": \"1s\", \"services\": { \"a\": {} },"
		"  \"load\": [ { \"to\": \"a\", \"rps\": 1 } ],"
		"  \"expect\": { \"denied\": \"<= 1%\" } }";
	static const char *const want3[] = {
		"bad.json: expect.denied: expected a comparison with a count", NULL};
	expect_errors(bad_objective, want3);
}
END_TEST

/* ---- simulated runs ---- */

static uint64_t outcomes_sum(const rec_stats *s)
{
	uint64_t n = 0;
	for (int k = 0; k < MESH_OUTCOME_COUNT; k++)
		n += s->outcomes[k];
	return n;
}

static uint32_t client_index(const model *m, const char *name)
{
	for (uint32_t i = 0; i < m->nclients; i++)
		if (!strcmp(m->clients[i].name, name))
			return i;
	ck_abort_msg("no client %s", name);
	return 0;
}

static const char shop[] =
	"{ \"name\": \"shop\", \"seed\": 4, \"duration\": \"10s\", \"drain\": \"1s\","
	"  \"defaults\": \"istio\","
	"  \"network\": { \"latency\": \"200us\" },"
	"  \"services\": {"
	"    \"front\": { \"replicas\": 2, \"script\": [ { \"work\": \"1ms\" },"
	"       { \"call\": { \"service\": \"back\", \"path\": \"/items\" } } ] },"
	"    \"back\": { \"replicas\": 2, \"latency\": \"2ms\" } },"
	"  \"mesh\": { \"back\": { \"retries\": { \"attempts\": 3, \"on\": [\"5xx\", \"retriable-4xx\"] } } },"
	"  \"authorization\": ["
	"    { \"name\": \"no-admin\", \"selector\": \"back\", \"action\": \"DENY\","
	"      \"rules\": [ { \"to\": [ { \"operation\": { \"paths\": [\"/admin/*\"] } } ] } ] },"
	"    { \"name\": \"front-only\", \"selector\": \"back\","
	"      \"rules\": [ { \"from\": [ { \"source\": { \"principals\": [\"cluster.local/ns/default/sa/front\","
	"                                                   \"cluster.local/ns/ops/sa/*\"] } } ] } ] } ],"
	"  \"load\": ["
	"    { \"name\": \"users\", \"to\": \"front\", \"rps\": 100, \"timeout\": \"1s\" },"
	"    { \"name\": \"direct\", \"to\": \"back\", \"path\": \"/items\", \"rps\": 50 },"
	"    { \"name\": \"admin\", \"to\": \"back\", \"path\": \"/admin/x\", \"rps\": 50,"
	"      \"principal\": \"cluster.local/ns/ops/sa/console\" },"
	"    { \"name\": \"ops\", \"to\": \"back\", \"path\": \"/items\", \"method\": \"POST\","
	"      \"rps\": 50, \"principal\": \"cluster.local/ns/ops/sa/console\" } ] }";

START_TEST(test_sim_denied_outcomes)
{
	model *m = tu_load(shop);
	rec *r = tu_run(m);
	const rec_stats *users = &r->clients[client_index(m, "users")];
	const rec_stats *direct = &r->clients[client_index(m, "direct")];
	const rec_stats *admin = &r->clients[client_index(m, "admin")];
	const rec_stats *ops = &r->clients[client_index(m, "ops")];
	/* front's calls carry its identity, which the ALLOW policy lists. */
	ck_assert_uint_gt(users->issued, 800);
	ck_assert_uint_eq(users->outcomes[MESH_OK], users->issued);
	/* A plaintext client matches no ALLOW policy: 403, outcome denied. */
	ck_assert_uint_gt(direct->issued, 350);
	ck_assert_uint_eq(direct->outcomes[MESH_DENIED], direct->issued);
	ck_assert_uint_eq(direct->by_status[403], direct->issued);
	/* DENY before ALLOW: ops' principal is allowed, but not /admin/. */
	ck_assert_uint_eq(admin->outcomes[MESH_DENIED], admin->issued);
	ck_assert_uint_eq(ops->outcomes[MESH_OK], ops->issued);
	/* Every request is accounted for, overall and per client. */
	const rec_stats *o = &r->overall;
	ck_assert_uint_eq(outcomes_sum(o) + rec_in_flight(o), o->issued);
	ck_assert_uint_eq(o->live_at_end, rec_in_flight(o));
	ck_assert_uint_eq(o->outcomes[MESH_DENIED],
			  direct->outcomes[MESH_DENIED] + admin->outcomes[MESH_DENIED]);
	ck_assert_uint_eq(o->issued, users->issued + direct->issued + admin->issued + ops->issued);
	/* The sidecars' view of back: the denials, never retried (403 is
	 * neither 5xx nor retriable-4xx's 409): one attempt each. */
	uint32_t b = (uint32_t)svc(m, "back");
	const rec_stats *bs = &r->services[b].st;
	ck_assert_uint_eq(bs->outcomes[MESH_DENIED], o->outcomes[MESH_DENIED]);
	ck_assert_uint_eq(bs->pol.attempts, bs->issued);
	for (int k = 0; k < REC_RETRY_COUNT; k++)
		ck_assert_uint_eq(bs->pol.retries[k], 0);
	/* Denied requests never reached the app: back's instances saw only
	 * the allowed ones. */
	uint64_t arrived = 0;
	for (uint32_t j = 0; j < m->services[b].replicas; j++)
		arrived += r->services[b].inst[j].arrived;
	ck_assert_uint_eq(arrived, users->issued + ops->issued);
	/* The counters: per verdict at back, per policy. */
	const uint64_t *v = &r->authz_service[(size_t)b * AUTHZ_VERDICT_COUNT];
	ck_assert_uint_eq(v[AUTHZ_DENIED], admin->issued);
	ck_assert_uint_eq(v[AUTHZ_DENIED_NO_ALLOW], direct->issued);
	ck_assert_uint_eq(v[AUTHZ_ALLOWED], users->issued + ops->issued);
	ck_assert_uint_eq(r->authz_policy[0], admin->issued);
	ck_assert_uint_eq(r->authz_policy[1], users->issued + ops->issued);
	/* front has no policy: nothing checked there. */
	for (int k = 0; k < AUTHZ_VERDICT_COUNT; k++)
		ck_assert_uint_eq(r->authz_service[(size_t)svc(m, "front") * AUTHZ_VERDICT_COUNT + k], 0);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_sim_denied_behind_a_service)
{
	/* front's own calls denied: the client sees front's 500
	 * (http_error), the caller sidecar's view of back keeps `denied`. */
	model *m = tu_load(
		"{ \"seed\": 2, \"duration\": \"5s\", \"drain\": \"1s\","
		"  \"services\": { \"front\": { \"script\": [ { \"call\": \"back\" } ] },"
		"                  \"back\": { \"latency\": \"1ms\" } },"
		"  \"authorization\": [ { \"name\": \"nobody\", \"selector\": \"back\" } ],"
		"  \"load\": [ { \"to\": \"front\", \"rps\": 100 } ] }");
	rec *r = tu_run(m);
	const rec_stats *o = &r->overall;
	ck_assert_uint_gt(o->issued, 300);
	ck_assert_uint_eq(o->outcomes[MESH_HTTP_ERROR], o->issued);
	ck_assert_uint_eq(o->by_status[500], o->issued);
	const rec_stats *bs = &r->services[svc(m, "back")].st;
	ck_assert_uint_eq(bs->outcomes[MESH_DENIED], o->issued);
	ck_assert_uint_eq(bs->by_status[403], o->issued);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_sim_retry_403_when_asked)
{
	/* Envoy retries a 403 only when asked, as a retriable status code:
	 * then every denied request is tried 1 + 2 times, all denied. */
	model *m = tu_load(
		"{ \"seed\": 3, \"duration\": \"5s\", \"drain\": \"1s\","
		"  \"services\": { \"back\": { \"replicas\": 3, \"latency\": \"1ms\" } },"
		"  \"mesh\": { \"back\": { \"retries\": { \"attempts\": 2, \"on\": [403],"
		"                                         \"backoff\": { \"base\": \"1ms\" } } } },"
		"  \"authorization\": [ { \"name\": \"deny-all\", \"selector\": \"back\","
		"                         \"action\": \"DENY\", \"rules\": [ {} ] } ],"
		"  \"load\": [ { \"to\": \"back\", \"rps\": 100 } ] }");
	rec *r = tu_run(m);
	const rec_stats *o = &r->overall;
	ck_assert_uint_gt(o->issued, 300);
	ck_assert_uint_eq(o->outcomes[MESH_DENIED], o->issued);
	const rec_stats *bs = &r->services[0].st;
	ck_assert_uint_eq(bs->pol.attempts, 3 * o->issued);
	ck_assert_uint_eq(bs->pol.retries[REC_RETRY_STATUS], 2 * o->issued);
	ck_assert_uint_eq(r->authz_policy[0], 3 * o->issued);
	rec_free(r);
	model_free(m);
}
END_TEST

START_TEST(test_snapshot_keeps_counters)
{
	/* The counters survive a live run's merge: a snapshot of a recorder
	 * merged into an empty one carries them, and a snapshot whose
	 * policies do not match the scenario is refused. */
	model *m = tu_load(shop);
	rec *a = rec_new(m);
	ck_assert_ptr_nonnull(a);
	rec_keep_seconds(a);
	rec_authz(a, 1, AUTHZ_DENIED, 0);
	rec_authz(a, 1, AUTHZ_DENIED, 0);
	rec_authz(a, 1, AUTHZ_ALLOWED, 1);
	rec_authz(a, 1, AUTHZ_DENIED_NO_ALLOW, UINT32_MAX);
	rec_finish(a, MESH_S);
	json_t *s = rec_snapshot(a, MESH_S);
	ck_assert_ptr_nonnull(s);
	rec *d = rec_new(m);
	char err[512];
	ck_assert_int_eq(rec_merge_snapshot(d, s, err, sizeof err), 0);
	ck_assert_int_eq(rec_merge_snapshot(d, s, err, sizeof err), 0);
	ck_assert_uint_eq(d->authz_policy[0], 4);
	ck_assert_uint_eq(d->authz_policy[1], 2);
	ck_assert_uint_eq(d->authz_service[1 * AUTHZ_VERDICT_COUNT + AUTHZ_DENIED], 4);
	ck_assert_uint_eq(d->authz_service[1 * AUTHZ_VERDICT_COUNT + AUTHZ_DENIED_NO_ALLOW], 2);
	json_t *az = json_object_get(s, "authorization");
	json_array_remove(json_object_get(az, "policies"), 0);
	ck_assert_int_eq(rec_merge_snapshot(d, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "authorization.policies"));
	json_array_set_new(json_object_get(az, "policies"), 0, json_integer(1));
	json_array_append_new(json_object_get(az, "policies"), json_integer(1));
	json_array_set_new(json_object_get(az, "services"), 0, json_array());
	ck_assert_int_eq(rec_merge_snapshot(d, s, err, sizeof err), -1);
	ck_assert_ptr_nonnull(strstr(err, "authorization.services[0]"));
	ck_assert_uint_eq(d->authz_policy[0], 4); /* unchanged */
	json_decref(s);
	rec_free(a);
	rec_free(d);
	model_free(m);
}
END_TEST

Suite *authz_suite(void)
{
	Suite *s = suite_create("authz");
	TCase *tc = tcase_create("evaluation");
	tcase_add_test(tc, test_no_policy_allows);
	tcase_add_test(tc, test_allow_nothing_and_allow_all);
	tcase_add_test(tc, test_deny_all_and_empty_deny);
	tcase_add_test(tc, test_deny_wins_over_allow);
	tcase_add_test(tc, test_reference_allow_example);
	tcase_add_test(tc, test_reference_deny_example);
	tcase_add_test(tc, test_not_paths_and_not_methods);
	tcase_add_test(tc, test_path_kinds);
	tcase_add_test(tc, test_namespace_matching);
	tcase_add_test(tc, test_plaintext_peer);
	tcase_add_test(tc, test_fields_and_lists);
	tcase_add_test(tc, test_selector_and_namespace);
	suite_add_tcase(s, tc);
	tc = tcase_create("loader");
	tcase_add_test(tc, test_loader_errors);
	suite_add_tcase(s, tc);
	tc = tcase_create("runs");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_sim_denied_outcomes);
	tcase_add_test(tc, test_sim_denied_behind_a_service);
	tcase_add_test(tc, test_sim_retry_403_when_asked);
	tcase_add_test(tc, test_snapshot_keeps_counters);
	suite_add_tcase(s, tc);
	return s;
}
