/*
 * authz.h - Istio's AuthorizationPolicy, as the inbound sidecar enforces it.
 *
 * Istio turns every AuthorizationPolicy that selects a workload into the
 * RBAC filters of that workload's own (server-side) Envoy
 * (pilot/pkg/security/authz/builder): one filter for the DENY policies,
 * then one for the ALLOW policies. This module is the decision those
 * filters make, written once for both hosts, in terms of what a request
 * is: who sent it (the peer's principal and namespace, as mTLS gives
 * them) and what it asks for (path and method). The rules, with the
 * Istio reference (istio.io/latest/docs/reference/config/security/
 * authorization-policy/, and security/v1beta1/authorization_policy.proto):
 *
 *  1. DENY before ALLOW: "If there are any DENY policies that match the
 *     request, deny the request. If there are no ALLOW policies for the
 *     workload, allow the request. If any of the ALLOW policies match the
 *     request, allow the request. Deny the request." (CUSTOM, evaluated
 *     before DENY, and AUDIT, which decides nothing, are not modelled.)
 *     So a workload no policy selects allows everything, and one that an
 *     ALLOW policy selects allows only what some ALLOW policy matches.
 *  2. A policy matches when at least one of its rules matches. A policy
 *     with no rules matches nothing ("If not set, the match will never
 *     occur. This is equivalent to setting a default of deny for the
 *     target workloads if the action is ALLOW"; Istio generates a policy
 *     that never matches, rbacPolicyMatchNever): an ALLOW policy without
 *     rules denies everything ("allow-nothing"), a DENY policy without
 *     rules denies nothing.
 *  3. A rule matches "when at least one source, one operation and all
 *     conditions match the request. An empty rule is always matched": a
 *     rule `{}` matches every request (ALLOW `rules: [{}]` is Istio's
 *     "allow-all"; DENY `rules: [{}]` is "deny-all"). A rule without
 *     `from` matches any source, one without `to` any operation; a `from`
 *     entry without `source` (`{}`) is any source, a `to` entry without
 *     `operation` any operation (model.go: a nil source adds no
 *     condition). `when` conditions are not modelled.
 *  4. Within a source or an operation the fields are ANDed; a list matches
 *     when any of its values matches; a `not...` list when none does.
 *  5. Every string is an exact match, a prefix match "abc*", a suffix
 *     match "*abc", or the presence match "*", which matches any value
 *     that is not empty (matcher/string.go: "*" becomes the regex ".+").
 *  6. principals and namespaces come from the peer's certificate ("This
 *     field requires mTLS enabled"): a principal is written
 *     "<trust-domain>/ns/<namespace>/sa/<service-account>", without the
 *     spiffe:// prefix. A plaintext peer has neither, so a `principals`
 *     or `namespaces` value never matches it (not even "*": Envoy's
 *     authenticated matcher fails without TLS), and a `notPrincipals` or
 *     `notNamespaces` list always does (its negation holds).
 *  7. namespaces: Istio matches the principal against the regex
 *     ".*\/ns/<value, * as .*>/.*" (srcNamespaceGenerator); for the
 *     well-formed principals meshsim gives its workloads that is the same
 *     as matching the namespace the principal names, which is what is
 *     done here (the peer's namespace is given apart).
 *  8. paths match the request's path without its query (Envoy's url_path
 *     matcher); methods the request's method, with the same four kinds of
 *     match (a ":method" header matcher). meshsim resolves methods to the
 *     seven it knows when it loads a scenario (`methods` and `notMethods`
 *     become masks). Path normalization and path templates ({*}, {**})
 *     are not modelled.
 *
 * What decided a request is reported: the first matching DENY policy, the
 * first matching ALLOW policy, in the scenario's order (Envoy reports the
 * policy that matched, effective_policy_id), or none when no ALLOW policy
 * matched.
 *
 * Shared agent logic: no I/O, no clock, no allocation while deciding.
 */
#ifndef AUTHZ_H
#define AUTHZ_H

#include <stdint.h>

#include "mesh.h"

enum authz_action { AUTHZ_ALLOW = 1, AUTHZ_DENY };

/* How one string value of a rule matches (Istio's four kinds). */
enum authz_kind {
	AUTHZ_EXACT = 1, /* "abc": the value is "abc" */
	AUTHZ_PREFIX,    /* "abc*": the value starts with "abc" */
	AUTHZ_SUFFIX,    /* "*abc": the value ends with "abc" */
	AUTHZ_PRESENCE,  /* "*": the value is present and not empty */
};

typedef struct authz_str {
	enum authz_kind kind;
	char *text;     /* the value without its '*' (owned); "" for presence */
	uint32_t len;   /* strlen(text) */
} authz_str;

/* A list of values: matches when any of them does. n == 0: not given. */
typedef struct authz_strs {
	authz_str *v;
	uint32_t n;
} authz_strs;

/* Istio's Source: every given field must hold. */
typedef struct authz_source {
	authz_strs principals, not_principals;
	authz_strs namespaces, not_namespaces;
} authz_source;

/* Istio's Operation: every given field must hold. Methods are resolved to
 * masks of enum mesh_method bits by the loader. */
typedef struct authz_operation {
	authz_strs paths, not_paths;
	uint32_t methods;       /* the methods `methods` matches */
	uint32_t not_methods;   /* the methods `notMethods` matches */
	uint8_t has_methods;    /* `methods` was given (its mask may be 0) */
	uint8_t has_not_methods;
} authz_operation;

typedef struct authz_rule {
	authz_source *from;     /* any of them; none (nfrom 0): any source */
	uint32_t nfrom;
	authz_operation *to;    /* any of them; none: any operation */
	uint32_t nto;
} authz_rule;

typedef struct authz_policy {
	char *name;
	enum authz_action action;
	authz_rule *rules;      /* any of them; none: matches nothing */
	uint32_t nrules;
	uint32_t *services;     /* the services it selects, in scenario order */
	uint32_t nservices;
} authz_policy;

/* The policies that select one workload (indexes into the model's
 * policies), by action, in scenario order. Empty for most workloads. */
typedef struct authz_set {
	uint32_t *deny;
	uint32_t ndeny;
	uint32_t *allow;
	uint32_t nallow;
} authz_set;

/* The calling workload's identity, as the peer certificate gives it. Both
 * NULL for a plaintext (unauthenticated) peer. */
typedef struct authz_peer {
	const char *principal;  /* "cluster.local/ns/default/sa/frontend" */
	const char *ns;         /* "default" */
} authz_peer;

/* What a policy looks at in a request. All borrowed. */
typedef struct authz_request {
	authz_peer peer;
	const char *path;       /* without the query */
	uint8_t method;         /* enum mesh_method */
} authz_request;

enum authz_verdict {
	AUTHZ_ALLOWED = 0,      /* no DENY matched, and an ALLOW did or none
				 * selects the workload */
	AUTHZ_DENIED,           /* a DENY policy matched */
	AUTHZ_DENIED_NO_ALLOW,  /* ALLOW policies select the workload and
				 * none matched */
	AUTHZ_VERDICT_COUNT
};

/* The report's names: "allowed", "denied", "denied_no_allow". */
const char *authz_verdict_name(enum authz_verdict v);

/* Fill s from an Istio pattern: "*" presence, "*abc" suffix, "abc*"
 * prefix, anything else exact. Returns 0, or -1 when out of memory (s is
 * then empty). The caller validates the pattern (see the loader). */
int authz_str_init(authz_str *s, const char *pattern);

/* Does pattern p match value v? v NULL (the attribute is absent, as a
 * plaintext peer's principal is) matches nothing. */
int authz_str_match(const authz_str *p, const char *v);

/* Does any value of l match v? (False for an empty list.) */
int authz_strs_match(const authz_strs *l, const char *v);

int authz_source_match(const authz_source *s, const authz_peer *peer);
int authz_operation_match(const authz_operation *o, const char *path,
			  uint8_t method);
int authz_rule_match(const authz_rule *r, const authz_request *q);
/* At least one rule matches (a policy without rules never matches). */
int authz_policy_match(const authz_policy *p, const authz_request *q);

/* Istio's decision for request q at a workload selected by the policies of
 * `set` (indexes into `policies`). Sets *by to the index of the policy
 * that decided (the first DENY that matched, or the first ALLOW that
 * matched), or to UINT32_MAX when none did (allowed with no ALLOW policy,
 * or denied because no ALLOW policy matched). Allocates nothing. */
enum authz_verdict authz_evaluate(const authz_policy *policies,
				  const authz_set *set,
				  const authz_request *q, uint32_t *by);

/* Free what p, s and set own (not themselves); safe on zeroed ones. */
void authz_policy_clear(authz_policy *p);
void authz_set_clear(authz_set *set);

#endif
