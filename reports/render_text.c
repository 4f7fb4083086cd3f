#include "render.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "render_rollout.h"
#include "render_util.h"

int render_want_color(FILE *f)
{
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return 0;
	return isatty(fileno(f));
}

json_t *render_load(const char *path, char *err, size_t errlen)
{
	char buf[4096];
	size_t l = strlen(path);
	if (l >= 5 && strcmp(path + l - 5, ".json") == 0)
		snprintf(buf, sizeof buf, "%s", path);
	else
		snprintf(buf, sizeof buf, "%s/report.json", path);
	json_error_t je;
	json_t *r = json_load_file(buf, 0, &je);
	if (!r) {
		if (je.line < 1)
			snprintf(err, errlen, "%s: cannot read: %s", buf, je.text);
		else
			snprintf(err, errlen, "%s:%d:%d: expected a report.json: %s",
				 buf, je.line, je.column, je.text);
		return NULL;
	}
	if (!json_is_object(r) || !json_is_integer(json_object_get(r, "schema_version"))) {
		snprintf(err, errlen, "%s: expected a meshsim report.json with "
				      "\"schema_version\", found something else",
			 buf);
		json_decref(r);
		return NULL;
	}
	if (json_integer_value(json_object_get(r, "schema_version")) != 1) {
		snprintf(err, errlen, "%s: expected schema_version 1, found %lld",
			 buf, (long long)json_integer_value(json_object_get(r, "schema_version")));
		json_decref(r);
		return NULL;
	}
	return r;
}

/* ---- small readers ---- */

double ru_num(const json_t *o, const char *key, double dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_number(v) ? json_number_value(v) : dflt;
}

const char *ru_str(const json_t *o, const char *key, const char *dflt)
{
	json_t *v = json_object_get(o, key);
	return json_is_string(v) ? json_string_value(v) : dflt;
}

json_t *ru_path(const json_t *o, const char *a, const char *b)
{
	json_t *x = json_object_get(o, a);
	return b ? json_object_get(x, b) : x;
}

void ru_ms(char *buf, size_t len, double ms_)
{
	if (ms_ < 1.0)
		snprintf(buf, len, "%.0fus", ms_ * 1e3);
	else if (ms_ < 1000.0)
		snprintf(buf, len, "%.1fms", ms_);
	else
		snprintf(buf, len, "%.2fs", ms_ / 1e3);
}

/* ---- the summary ---- */

#define GREEN "\033[32m"
#define RED "\033[31m"
#define BOLD "\033[1m"
#define DIM "\033[2m"
#define OFF "\033[0m"

static const char *c_(int color, const char *code)
{
	return color ? code : "";
}

static void latency_cells(FILE *f, const json_t *lat)
{
	static const char *const keys[] = {"p50", "p90", "p99", "p999", "max"};
	for (size_t k = 0; k < 5; k++) {
		char b[16];
		ru_ms(b, sizeof b, ru_num(lat, keys[k], 0));
		fprintf(f, " %8s", b);
	}
}

static void outcome_line(FILE *f, const json_t *stats)
{
	static const char *const keys[] = {"success", "http_error", "timeout",
					   "reset", "connect_failure", "rejected",
					   "denied", "in_flight"};
	const json_t *oc = json_object_get(stats, "outcomes");
	fprintf(f, "requests: %.0f issued =", ru_num(stats, "issued", 0));
	int first = 1;
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		double n = ru_num(oc, keys[k], 0);
		/* Success and in_flight always show (the sum must visibly
		 * add up); others when not zero. */
		if (n == 0 && k && k + 1 < sizeof keys / sizeof keys[0])
			continue;
		fprintf(f, "%s %.0f %s", first ? "" : " +", n, keys[k]);
		first = 0;
	}
	fputc('\n', f);
}

static void objectives(FILE *f, const json_t *r, int color)
{
	const json_t *objs = json_object_get(r, "objectives");
	size_t n = json_array_size(objs), met = 0;
	if (!n)
		return;
	fprintf(f, "\n%sobjectives%s\n", c_(color, BOLD), c_(color, OFF));
	for (size_t i = 0; i < n; i++) {
		const json_t *o = json_array_get(objs, i);
		int ok = json_is_true(json_object_get(o, "met"));
		met += ok;
		char scope[64], meas[32];
		const char *nm = ru_str(o, "name", NULL);
		snprintf(scope, sizeof scope, "%s%s%s", ru_str(o, "scope", "?"),
			 nm ? " " : "", nm ? nm : "");
		const json_t *mv = json_object_get(o, "measured");
		const char *unit = ru_str(o, "unit", "");
		if (json_is_string(mv))
			snprintf(meas, sizeof meas, "%s", json_string_value(mv));
		else if (json_is_boolean(mv))
			snprintf(meas, sizeof meas, "%s", json_is_true(mv) ? "true" : "false");
		else if (strcmp(unit, "ms") == 0)
			ru_ms(meas, sizeof meas, json_number_value(mv));
		else if (strcmp(unit, "ratio") == 0)
			snprintf(meas, sizeof meas, "%.4f", json_number_value(mv));
		else
			snprintf(meas, sizeof meas, "%.0f", json_number_value(mv));
		fprintf(f, "  %s%-6s%s  %-26.26s %-20.20s %-16.16s measured %s\n",
			c_(color, ok ? GREEN : RED), ok ? "MET" : "MISSED",
			c_(color, OFF), scope, ru_str(o, "metric", "?"),
			ru_str(o, "expect", ""), meas);
	}
	int pass = met == n;
	fprintf(f, "verdict: %s%s%s (%zu of %zu objectives met)\n",
		c_(color, pass ? GREEN BOLD : RED BOLD), pass ? "PASS" : "FAIL",
		c_(color, OFF), met, n);
}

static void service_table(FILE *f, const json_t *r)
{
	/* 100 columns: 16 + 8 + 9 + 5 x 9 + 6 + 8 + 8. */
	fprintf(f, "\n%-16s %7s %8s %8s %8s %8s %8s %8s %5s %7s %7s\n", "", "rps",
		"success", "p50", "p90", "p99", "p99.9", "max", "tries", "retries",
		"refused");
	const json_t *tot = json_object_get(r, "totals");
	fprintf(f, "%-16s %7.1f %7.3f%%", "all clients", ru_num(tot, "rps", 0),
		100 * ru_num(tot, "success_rate", 1));
	latency_cells(f, json_object_get(tot, "latency_ms"));
	fputc('\n', f);
	const json_t *svcs = json_object_get(r, "services");
	for (size_t i = 0; i < json_array_size(svcs); i++) {
		const json_t *s = json_array_get(svcs, i);
		double retries = 0, refused = 0;
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(s, "retries"), k, v)
			retries += json_number_value(v);
		json_object_foreach(json_object_get(s, "overflows"), k, v)
			refused += json_number_value(v);
		fprintf(f, "%-16.16s %7.1f %7.3f%%", ru_str(s, "name", "?"),
			ru_num(s, "rps", 0), 100 * ru_num(s, "success_rate", 1));
		latency_cells(f, json_object_get(s, "latency_ms"));
		fprintf(f, " %5.2f %7.0f %7.0f\n",
			ru_num(s, "retry_amplification", 1), retries, refused);
	}
}

static void notes(FILE *f, const json_t *r, int color)
{
	const json_t *svcs = json_object_get(r, "services");
	int header = 0;
	for (size_t i = 0; i < json_array_size(svcs); i++) {
		const json_t *s = json_array_get(svcs, i);
		const json_t *insts = json_object_get(s, "instances");
		double full = 0, ej = 0, crashes = 0;
		for (size_t j = 0; j < json_array_size(insts); j++) {
			const json_t *x = json_array_get(insts, j);
			full += ru_num(x, "queue_full", 0);
			ej += ru_num(x, "ejections", 0);
			crashes += ru_num(x, "crashes", 0);
		}
		double rt = ru_num(s, "route_timeouts", 0), pt = ru_num(s, "per_try_timeouts", 0);
		if (!full && !ej && !crashes && !rt && !pt)
			continue;
		if (!header++)
			fprintf(f, "\n");
		fprintf(f, "  %-16.16s", ru_str(s, "name", "?"));
		if (full)
			fprintf(f, " %.0f queue-full 503s;", full);
		if (rt)
			fprintf(f, " %.0f route timeouts;", rt);
		if (pt)
			fprintf(f, " %.0f per-try timeouts;", pt);
		if (ej)
			fprintf(f, " %.0f ejections;", ej);
		if (crashes)
			fprintf(f, " %.0f crashes;", crashes);
		fputc('\n', f);
	}
	const json_t *faults = json_object_get(r, "faults");
	if (json_array_size(faults)) {
		fprintf(f, "\n%sfaults%s\n", c_(color, BOLD), c_(color, OFF));
		for (size_t i = 0; i < json_array_size(faults); i++) {
			const json_t *x = json_array_get(faults, i);
			char when[48], rec_[48];
			const json_t *end = json_object_get(x, "end_s");
			if (json_is_number(end))
				snprintf(when, sizeof when, "%gs-%gs", ru_num(x, "start_s", 0),
					 json_number_value(end));
			else
				snprintf(when, sizeof when, "%gs-end", ru_num(x, "start_s", 0));
			const json_t *rs = json_object_get(x, "recovery_s");
			if (json_is_number(rs))
				snprintf(rec_, sizeof rec_, "recovered after %gs",
					 json_number_value(rs));
			else
				snprintf(rec_, sizeof rec_, "%sdid not recover%s",
					 c_(color, RED), c_(color, OFF));
			fprintf(f, "  %-14s %-36.36s %9.0f hits  %s\n", when,
				ru_str(x, "label", "?"), ru_num(x, "hits", 0), rec_);
		}
	}
	const json_t *ms_ = ru_path(r, "resilience", "metastability");
	if (json_is_true(json_object_get(ms_, "judged"))) {
		int bad = json_is_true(json_object_get(ms_, "metastable"));
		const json_t *b = json_object_get(ms_, "before"), *a = json_object_get(ms_, "after");
		fprintf(f, "\nmetastability: %s%s%s (success %.2f%% -> %.2f%%, p99 %.1fms -> %.1fms)\n",
			c_(color, bad ? RED : GREEN),
			bad ? "METASTABLE: still degraded after its trigger was gone"
			    : "none, it recovered",
			c_(color, OFF), 100 * ru_num(b, "success_rate", 1),
			100 * ru_num(a, "success_rate", 1), ru_num(b, "p99_ms", 0),
			ru_num(a, "p99_ms", 0));
	}
}

/* The authorization section, when the scenario has policies: what each
 * policy decided and, per service with policies, its inbound verdicts. */
static void authorization(FILE *f, const json_t *r, int color)
{
	const json_t *az = json_object_get(r, "authorization");
	if (!az)
		return;
	fprintf(f, "\n%sauthorization%s: %.0f requests denied with 403 "
		   "(RBAC: access denied)\n",
		c_(color, BOLD), c_(color, OFF), ru_num(az, "denied", 0));
	const json_t *pols = json_object_get(az, "policies");
	for (size_t i = 0; i < json_array_size(pols); i++) {
		const json_t *p = json_array_get(pols, i);
		const char *action = ru_str(p, "action", "?");
		int deny = strcmp(action, "DENY") == 0;
		char svcs[40] = "";
		const json_t *sv = json_object_get(p, "services");
		for (size_t k = 0; k < json_array_size(sv); k++) {
			size_t l = strlen(svcs);
			snprintf(svcs + l, sizeof svcs - l, "%s%s", k ? "," : "",
				 json_string_value(json_array_get(sv, k)));
		}
		fprintf(f, "  %-5s  %-24.24s on %-32.32s %9.0f %s\n", action,
			ru_str(p, "name", "?"), svcs,
			ru_num(p, deny ? "denied" : "allowed", 0),
			deny ? "denied" : "allowed");
	}
	/* Each service with policies: its inbound sidecars' verdicts. */
	const json_t *svcs = json_object_get(az, "services");
	int header = 0;
	for (size_t i = 0; i < json_array_size(svcs); i++) {
		const json_t *s = json_array_get(svcs, i);
		if (!json_array_size(json_object_get(s, "policies")))
			continue;
		if (!header++)
			fprintf(f, "  %-16s %9s %9s %9s %15s\n", "service", "checked",
				"allowed", "denied", "no ALLOW match");
		fprintf(f, "  %-16.16s %9.0f %9.0f %9.0f %15.0f\n", ru_str(s, "name", "?"),
			ru_num(s, "checked", 0), ru_num(s, "allowed", 0),
			ru_num(s, "denied", 0), ru_num(s, "denied_no_allow", 0));
	}
}

/* "expired 3, unknown_ca 1" for the nonzero counts of a failures object
 * into b[n]; "none" when all are zero. The longer reasons are shortened
 * (identity for identity_mismatch, plaintext for plaintext_rejected,
 * no_cert for no_client_cert) so that every reason fits a line. */
static void failures_list(char *b, size_t n, const json_t *fails)
{
	const char *k;
	json_t *v;
	size_t l = 0;
	b[0] = '\0';
	json_object_foreach((json_t *)fails, k, v) {
		if (!json_is_number(v) || json_number_value(v) == 0 || l >= n)
			continue;
		const char *u = strchr(k, '_');
		int len = !strcmp(k, "unknown_ca") || !u ? (int)strlen(k)
			  : !strcmp(k, "no_client_cert") ? 2 : (int)(u - k);
		l += (size_t)snprintf(b + l, n - l, "%s%.*s%s %.0f", l ? ", " : "",
				      len, k, !strcmp(k, "no_client_cert") ? "_cert" : "",
				      json_number_value(v));
	}
	if (!b[0])
		snprintf(b, n, "none");
}

/* The mutual TLS section, when the scenario has an "mtls" block:
 * handshakes and plaintext connections as the callers' sidecars counted
 * them (each connection once), failures by reason, the certificates the
 * workloads got, and the workloads whose handshakes failed. */
static void mtls(FILE *f, const json_t *r, int color)
{
	const json_t *mt = json_object_get(r, "mtls");
	if (!mt)
		return;
	char modes[200] = "";
	size_t l = 0;
	const json_t *svcs = json_object_get(mt, "services");
	const char *dflt = ru_str(mt, "mode", "PERMISSIVE");
	for (size_t i = 0; i < json_array_size(svcs) && l < sizeof modes; i++) {
		const json_t *s = json_array_get(svcs, i);
		const char *md = ru_str(s, "mode", "?");
		if (strcmp(md, dflt) != 0)
			l += (size_t)snprintf(modes + l, sizeof modes - l, "%s%s %s",
					      l ? ", " : "", ru_str(s, "name", "?"), md);
	}
	fprintf(f, "\n%smTLS%s: trust domain %.40s, mode %s\n", c_(color, BOLD),
		c_(color, OFF), ru_str(mt, "trust_domain", "?"), dflt);
	if (l)
		fprintf(f, "  inbound modes apart: %.76s\n", modes);
	const json_t *out = ru_path(mt, "totals", "outbound");
	const json_t *in = ru_path(mt, "totals", "inbound");
	const json_t *of = json_object_get(out, "failures");
	fprintf(f, "  handshakes: %.0f full, %.0f resumed; plaintext: %.0f connections, "
		   "%.0f rejected by STRICT\n",
		ru_num(out, "full", 0), ru_num(out, "resumed", 0), ru_num(out, "plaintext", 0),
		ru_num(of, "plaintext_rejected", 0));
	char b[256];
	failures_list(b, sizeof b, of);
	int bad = ru_num(out, "failed", 0) > 0 || ru_num(in, "failed", 0) > 0;
	fprintf(f, "  failed: %s%.0f%s, servers' side %.0f; by reason: %.68s\n",
		c_(color, bad ? RED : ""), ru_num(out, "failed", 0), c_(color, bad ? OFF : ""),
		ru_num(in, "failed", 0), b);
	const json_t *bw = json_object_get(mt, "certificates_by_why");
	double faulty = ru_num(bw, "expired", 0) + ru_num(bw, "foreign", 0);
	fprintf(f, "  certificates: %.0f issued, %.0f renewed, %.0f faulty (expired %.0f, "
		   "foreign %.0f), %.0f restored\n",
		ru_num(bw, "issued", 0), ru_num(bw, "renewed", 0), faulty,
		ru_num(bw, "expired", 0), ru_num(bw, "foreign", 0), ru_num(bw, "restored", 0));
	const json_t *az = json_object_get(r, "authorization");
	if (az)
		fprintf(f, "  authorization: %.0f denied, on the identities of peer certificates "
			   "(by policy: above)\n", ru_num(az, "denied", 0));
	/* Only the workloads where something failed. */
	const json_t *wls = json_object_get(mt, "workloads");
	for (size_t i = 0; i < json_array_size(wls); i++) {
		const json_t *w = json_array_get(wls, i);
		static const char *const sides[2] = {"inbound", "outbound"};
		for (int k = 0; k < 2; k++) {
			const json_t *sd = json_object_get(w, sides[k]);
			if (ru_num(sd, "failed", 0) <= 0)
				continue;
			failures_list(b, sizeof b, json_object_get(sd, "failures"));
			fprintf(f, "  %-24.24s %-8s %7.0f failed: %.48s\n", ru_str(w, "name", "?"),
				sides[k], ru_num(sd, "failed", 0), b);
		}
	}
}

void render_text(const json_t *r, FILE *f, int color)
{
	const json_t *sc = json_object_get(r, "scenario");
	const json_t *run = json_object_get(r, "run");
	fprintf(f, "%s%s%s  seed %.0f  %s  %gs of load  %.0f events  defaults %s\n",
		c_(color, BOLD), ru_str(sc, "name", "?"), c_(color, OFF),
		ru_num(sc, "seed", 0), ru_str(r, "mode", "?"),
		ru_num(sc, "duration_s", 0), ru_num(run, "events", 0),
		ru_str(r, "defaults", "none"));
	outcome_line(f, json_object_get(r, "totals"));
	objectives(f, r, color);
	render_rollout_text(r, f, color);
	service_table(f, r);
	notes(f, r, color);
	authorization(f, r, color);
	mtls(f, r, color);
}
