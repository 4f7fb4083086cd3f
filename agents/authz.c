#include "authz.h"

#include <stdlib.h>
#include <string.h>

const char *authz_verdict_name(enum authz_verdict v)
{
	switch (v) {
	case AUTHZ_ALLOWED: return "allowed";
	case AUTHZ_DENIED: return "denied";
	case AUTHZ_DENIED_NO_ALLOW: return "denied_no_allow";
	case AUTHZ_VERDICT_COUNT: break;
	}
	return "?";
}

int authz_str_init(authz_str *s, const char *pattern)
{
	size_t n = strlen(pattern);
	const char *from = pattern;
	/* As Istio's StringMatcher: "*" first, then a leading '*' (suffix),
	 * then a trailing one (prefix). */
	if (strcmp(pattern, "*") == 0) {
		s->kind = AUTHZ_PRESENCE;
		n = 0;
	} else if (pattern[0] == '*') {
		s->kind = AUTHZ_SUFFIX;
		from++;
		n--;
	} else if (n && pattern[n - 1] == '*') {
		s->kind = AUTHZ_PREFIX;
		n--;
	} else {
		s->kind = AUTHZ_EXACT;
	}
	s->text = malloc(n + 1);
	if (!s->text) {
		s->len = 0;
		return -1;
	}
	memcpy(s->text, from, n);
	s->text[n] = '\0';
	s->len = (uint32_t)n;
	return 0;
}

int authz_str_match(const authz_str *p, const char *v)
{
	if (!v)
		return 0;
	switch (p->kind) {
	case AUTHZ_EXACT:
		return strcmp(v, p->text) == 0;
	case AUTHZ_PREFIX:
		return strncmp(v, p->text, p->len) == 0;
	case AUTHZ_SUFFIX: {
		size_t n = strlen(v);
		return n >= p->len && memcmp(v + n - p->len, p->text, p->len) == 0;
	}
	case AUTHZ_PRESENCE:
		return *v != '\0';
	}
	return 0;
}

int authz_strs_match(const authz_strs *l, const char *v)
{
	for (uint32_t i = 0; i < l->n; i++)
		if (authz_str_match(&l->v[i], v))
			return 1;
	return 0;
}

/* A list that was given must match; a negative list must not. An absent
 * attribute (v NULL) fails the first and passes the second, as Envoy's
 * not_id around an authenticated matcher does for a plaintext peer. */
static int field_holds(const authz_strs *yes, const authz_strs *no,
		       const char *v)
{
	if (yes->n && !authz_strs_match(yes, v))
		return 0;
	if (no->n && authz_strs_match(no, v))
		return 0;
	return 1;
}

int authz_source_match(const authz_source *s, const authz_peer *peer)
{
	return field_holds(&s->principals, &s->not_principals, peer->principal) &&
	       field_holds(&s->namespaces, &s->not_namespaces, peer->ns);
}

int authz_operation_match(const authz_operation *o, const char *path,
			  uint8_t method)
{
	uint32_t bit = 1u << method;
	if (o->has_methods && !(o->methods & bit))
		return 0;
	if (o->has_not_methods && (o->not_methods & bit))
		return 0;
	return field_holds(&o->paths, &o->not_paths, path);
}

int authz_rule_match(const authz_rule *r, const authz_request *q)
{
	int from = !r->nfrom;
	for (uint32_t i = 0; i < r->nfrom && !from; i++)
		from = authz_source_match(&r->from[i], &q->peer);
	if (!from)
		return 0;
	if (!r->nto)
		return 1;
	for (uint32_t i = 0; i < r->nto; i++)
		if (authz_operation_match(&r->to[i], q->path, q->method))
			return 1;
	return 0;
}

int authz_policy_match(const authz_policy *p, const authz_request *q)
{
	for (uint32_t i = 0; i < p->nrules; i++)
		if (authz_rule_match(&p->rules[i], q))
			return 1;
	return 0;
}

enum authz_verdict authz_evaluate(const authz_policy *policies,
				  const authz_set *set,
				  const authz_request *q, uint32_t *by)
{
	*by = UINT32_MAX;
	for (uint32_t i = 0; i < set->ndeny; i++)
		if (authz_policy_match(&policies[set->deny[i]], q)) {
			*by = set->deny[i];
			return AUTHZ_DENIED;
		}
	if (!set->nallow)
		return AUTHZ_ALLOWED;
	for (uint32_t i = 0; i < set->nallow; i++)
		if (authz_policy_match(&policies[set->allow[i]], q)) {
			*by = set->allow[i];
			return AUTHZ_ALLOWED;
		}
	return AUTHZ_DENIED_NO_ALLOW;
}

static void strs_clear(authz_strs *l)
{
	for (uint32_t i = 0; i < l->n; i++)
		free(l->v[i].text);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

void authz_policy_clear(authz_policy *p)
{
	for (uint32_t i = 0; i < p->nrules; i++) {
		authz_rule *r = &p->rules[i];
		for (uint32_t k = 0; k < r->nfrom; k++) {
			strs_clear(&r->from[k].principals);
			strs_clear(&r->from[k].not_principals);
			strs_clear(&r->from[k].namespaces);
			strs_clear(&r->from[k].not_namespaces);
		}
		for (uint32_t k = 0; k < r->nto; k++) {
			strs_clear(&r->to[k].paths);
			strs_clear(&r->to[k].not_paths);
		}
		free(r->from);
		free(r->to);
	}
	free(p->rules);
	free(p->services);
	free(p->name);
	memset(p, 0, sizeof *p);
}

void authz_set_clear(authz_set *set)
{
	free(set->deny);
	free(set->allow);
	memset(set, 0, sizeof *set);
}
