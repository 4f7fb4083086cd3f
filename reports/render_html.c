/*
 * render_html.c - report.html: one self-contained file.
 *
 * Everything is inline (style, the service graph we draw as SVG, gnuplot's
 * SVG charts), nothing is fetched, so the file can be opened anywhere or
 * attached to a build. Sections carry ids (objectives, graph, charts,
 * services, routes, faults; mtls with an "mtls" block) that the browser
 * test looks for.
 */
#include "render.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render_rollout.h"
#include "render_util.h"

static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void ms_cell(FILE *f, const json_t *lat, const char *key)
{
	char b[24];
	ru_ms(b, sizeof b, ru_num(lat, key, 0));
	fprintf(f, "<td>%s</td>", b);
}

static void objectives(FILE *f, const json_t *r)
{
	const json_t *objs = json_object_get(r, "objectives");
	fprintf(f, "<section id=\"objectives\"><h2>Objectives</h2>\n");
	if (!json_array_size(objs)) {
		fprintf(f, "<p>This scenario sets no objectives.</p></section>\n");
		return;
	}
	fprintf(f, "<table><tr><th>verdict</th><th>scope</th><th>metric</th>"
		   "<th>expected</th><th>measured</th></tr>\n");
	for (size_t i = 0; i < json_array_size(objs); i++) {
		const json_t *o = json_array_get(objs, i);
		int met = json_is_true(json_object_get(o, "met"));
		fprintf(f, "<tr class=\"%s\"><td>%s</td><td>", met ? "met" : "missed",
			met ? "met" : "MISSED");
		esc(f, ru_str(o, "scope", ""));
		if (ru_str(o, "name", NULL)) {
			fputc(' ', f);
			esc(f, ru_str(o, "name", ""));
		}
		fprintf(f, "</td><td>");
		esc(f, ru_str(o, "metric", ""));
		fprintf(f, "</td><td>");
		esc(f, ru_str(o, "expect", ""));
		fprintf(f, "</td><td>");
		const json_t *mv = json_object_get(o, "measured");
		const char *unit = ru_str(o, "unit", "");
		if (json_is_string(mv))
			esc(f, json_string_value(mv));
		else if (json_is_boolean(mv))
			fputs(json_is_true(mv) ? "true" : "false", f);
		else if (strcmp(unit, "ms") == 0) {
			char b[24];
			ru_ms(b, sizeof b, json_number_value(mv));
			fputs(b, f);
		} else
			fprintf(f, "%g", json_number_value(mv));
		fprintf(f, "</td></tr>\n");
	}
	fprintf(f, "</table></section>\n");
}

/* ---- the service graph ---- */

#define NODE_W 150
#define NODE_H 40
#define COL_W 330
#define ROW_H 80

static size_t node_index(const json_t *nodes, const char *name, const char *kind)
{
	for (size_t i = 0; i < json_array_size(nodes); i++) {
		const json_t *n = json_array_get(nodes, i);
		if (strcmp(ru_str(n, "name", ""), name) == 0 &&
		    strcmp(ru_str(n, "kind", ""), kind) == 0)
			return i;
	}
	return (size_t)-1;
}

/* Columns by depth: load clients first, each service one column right of
 * its deepest caller (the call graph has no cycles). */
static void graph(FILE *f, const json_t *r)
{
	const json_t *g = json_object_get(r, "graph");
	const json_t *nodes = json_object_get(g, "nodes"), *edges = json_object_get(g, "edges");
	size_t n = json_array_size(nodes), ne = json_array_size(edges);
	fprintf(f, "<section id=\"graph\"><h2>Service graph</h2>\n");
	if (!n) {
		fprintf(f, "<p>No graph in this report.</p></section>\n");
		return;
	}
	int *depth = calloc(n, sizeof *depth), *row = calloc(n, sizeof *row);
	size_t *from = calloc(ne + 1, sizeof *from), *to = calloc(ne + 1, sizeof *to);
	if (!depth || !row || !from || !to)
		goto done;
	for (size_t e = 0; e < ne; e++) {
		const json_t *x = json_array_get(edges, e);
		from[e] = node_index(nodes, ru_str(x, "from", ""), ru_str(x, "from_kind", ""));
		to[e] = node_index(nodes, ru_str(x, "to", ""), "service");
	}
	for (size_t i = 0; i < n; i++)
		depth[i] = strcmp(ru_str(json_array_get(nodes, i), "kind", ""), "client") ? 1 : 0;
	for (size_t pass = 0; pass < n; pass++)
		for (size_t e = 0; e < ne; e++)
			if (from[e] < n && to[e] < n && depth[to[e]] < depth[from[e]] + 1)
				depth[to[e]] = depth[from[e]] + 1;
	int maxd = 0, rows[64] = {0}, maxr = 0;
	for (size_t i = 0; i < n; i++) {
		if (depth[i] > 63)
			depth[i] = 63;
		row[i] = rows[depth[i]]++;
		if (depth[i] > maxd)
			maxd = depth[i];
		if (rows[depth[i]] > maxr)
			maxr = rows[depth[i]];
	}
	int w = (maxd + 1) * COL_W + 40, h = maxr * ROW_H + 40;
	fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		   "viewBox=\"0 0 %d %d\" font-family=\"sans-serif\" font-size=\"12\">\n"
		   "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"10\" refY=\"5\" "
		   "markerWidth=\"8\" markerHeight=\"8\" orient=\"auto-start-reverse\">"
		   "<path d=\"M0,0 L10,5 L0,10 z\" fill=\"#555\"/></marker></defs>\n",
		w, h, w, h);
#define NX(i) (20 + depth[i] * COL_W)
#define NY(i) (20 + row[i] * ROW_H)
	for (size_t e = 0; e < ne; e++) {
		if (from[e] >= n || to[e] >= n)
			continue;
		const json_t *x = json_array_get(edges, e);
		double sr = ru_num(x, "success_rate", 1);
		int x1 = NX(from[e]) + NODE_W, y1 = NY(from[e]) + NODE_H / 2;
		int x2 = NX(to[e]), y2 = NY(to[e]) + NODE_H / 2;
		const char *col = sr < 0.99 ? "#cc0000" : sr < 0.999 ? "#e69138" : "#555";
		fprintf(f, "<line x1=\"%d\" y1=\"%d\" x2=\"%d\" y2=\"%d\" stroke=\"%s\" "
			   "stroke-width=\"1.5\" marker-end=\"url(#arrow)\"/>\n",
			x1, y1, x2, y2, col);
		fprintf(f, "<text class=\"edge\" x=\"%d\" y=\"%d\" text-anchor=\"middle\" fill=\"%s\">"
			   "%.0f/s, %.2f%% ok</text>\n",
			(x1 + x2) / 2, (y1 + y2) / 2 - 6, col, ru_num(x, "rps", 0), 100 * sr);
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *nd = json_array_get(nodes, i);
		int client = strcmp(ru_str(nd, "kind", ""), "client") == 0;
		fprintf(f, "<g class=\"node\"><rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
			   "rx=\"6\" fill=\"%s\" stroke=\"#333\"/><text x=\"%d\" y=\"%d\" "
			   "text-anchor=\"middle\">",
			NX(i), NY(i), NODE_W, NODE_H, client ? "#eef3fb" : "#f3f3f3",
			NX(i) + NODE_W / 2, NY(i) + NODE_H / 2 + 4);
		esc(f, ru_str(nd, "name", "?"));
		fprintf(f, "%s</text></g>\n", client ? " (load)" : "");
	}
#undef NX
#undef NY
	fprintf(f, "</svg>\n");
done:
	fprintf(f, "</section>\n");
	free(depth);
	free(row);
	free(from);
	free(to);
}

/* ---- charts ---- */

/* Copy an SVG file into the page, without its XML prolog and doctype. */
static int inline_svg(FILE *f, const char *path)
{
	FILE *in = fopen(path, "rb");
	if (!in)
		return -1;
	fseek(in, 0, SEEK_END);
	long n = ftell(in);
	fseek(in, 0, SEEK_SET);
	char *buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, in) != (size_t)n) {
		free(buf);
		fclose(in);
		return -1;
	}
	fclose(in);
	buf[n] = '\0';
	char *s = strstr(buf, "<svg");
	if (s)
		fputs(s, f);
	free(buf);
	return s ? 0 : -1;
}

static void charts(FILE *f, const char *dir)
{
	fprintf(f, "<section id=\"charts\"><h2>Over time</h2>\n"
		   "<p class=\"note\">Fault windows are shaded red and labelled.</p>\n");
	int missing = 0;
	for (size_t i = 0; i < render_charts_count; i++) {
		char path[4200];
		snprintf(path, sizeof path, "%s/charts/%s.svg", dir, render_charts_list[i].stem);
		fprintf(f, "<figure class=\"chart\" id=\"chart-%s\">", render_charts_list[i].stem);
		if (inline_svg(f, path) < 0) {
			missing++;
			fprintf(f, "<p class=\"note\">");
			esc(f, render_charts_list[i].title);
			fprintf(f, ": not drawn.</p>");
		}
		fprintf(f, "</figure>\n");
	}
	if (missing)
		fprintf(f, "<p class=\"note\">Some charts were not drawn: gnuplot draws them "
			   "(apt-get install gnuplot-nox, then meshsim report DIR).</p>\n");
	fprintf(f, "</section>\n");
}

/* ---- tables ---- */

static void stats_cells(FILE *f, const json_t *s)
{
	fprintf(f, "<td>%.0f</td><td>%.1f</td><td>%.3f%%</td>", ru_num(s, "issued", 0),
		ru_num(s, "rps", 0), 100 * ru_num(s, "success_rate", 1));
	const json_t *lat = json_object_get(s, "latency_ms");
	ms_cell(f, lat, "p50");
	ms_cell(f, lat, "p90");
	ms_cell(f, lat, "p99");
	ms_cell(f, lat, "p999");
	ms_cell(f, lat, "max");
	double retries = 0, refused = 0;
	const char *k;
	json_t *v;
	json_object_foreach(json_object_get(s, "retries"), k, v)
		retries += json_number_value(v);
	json_object_foreach(json_object_get(s, "overflows"), k, v)
		refused += json_number_value(v);
	fprintf(f, "<td>%.2f</td><td>%.0f</td><td>%.0f</td>",
		ru_num(s, "retry_amplification", 1), retries, refused);
}

static const char *stats_head =
	"<th>requests</th><th>rps</th><th>success</th><th>p50</th><th>p90</th>"
	"<th>p99</th><th>p99.9</th><th>max</th><th>tries/call</th><th>retries</th>"
	"<th>refused</th>";

static void services(FILE *f, const json_t *r)
{
	const json_t *svcs = json_object_get(r, "services");
	fprintf(f, "<section id=\"services\"><h2>Services</h2>\n<p class=\"note\">As "
		   "their callers' sidecars saw them.</p>\n<table><tr><th>service</th>%s</tr>\n",
		stats_head);
	for (size_t i = 0; i < json_array_size(svcs); i++) {
		const json_t *s = json_array_get(svcs, i);
		fprintf(f, "<tr><td>");
		esc(f, ru_str(s, "name", "?"));
		fprintf(f, "</td>");
		stats_cells(f, s);
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table>\n<h3>Instances</h3>\n<table><tr><th>instance</th><th>version</th>"
		   "<th>arrived</th><th>served</th><th>queue full</th><th>waited</th>"
		   "<th>max queue</th><th>ejections</th><th>crashes</th></tr>\n");
	for (size_t i = 0; i < json_array_size(svcs); i++) {
		const json_t *s = json_array_get(svcs, i), *insts = json_object_get(s, "instances");
		for (size_t j = 0; j < json_array_size(insts); j++) {
			const json_t *x = json_array_get(insts, j);
			fprintf(f, "<tr><td>");
			esc(f, ru_str(s, "name", "?"));
			fprintf(f, "[%zu]</td><td>", j);
			esc(f, ru_str(x, "version", ""));
			fprintf(f, "</td><td>%.0f</td><td>%.0f</td><td>%.0f</td><td>%.0f</td>"
				   "<td>%.0f</td><td>%.0f</td><td>%.0f</td></tr>\n",
				ru_num(x, "arrived", 0), ru_num(x, "served", 0),
				ru_num(x, "queue_full", 0), ru_num(x, "waited", 0),
				ru_num(x, "max_queue", 0), ru_num(x, "ejections", 0),
				ru_num(x, "crashes", 0));
		}
	}
	fprintf(f, "</table></section>\n");
}

static void routes(FILE *f, const json_t *r)
{
	const json_t *rts = json_object_get(r, "routes");
	fprintf(f, "<section id=\"routes\"><h2>Routes</h2>\n<table><tr><th>route</th>%s</tr>\n",
		stats_head);
	for (size_t i = 0; i < json_array_size(rts); i++) {
		const json_t *s = json_array_get(rts, i);
		fprintf(f, "<tr><td>");
		esc(f, ru_str(s, "service", "?"));
		esc(f, ru_str(s, "path", ""));
		fprintf(f, "</td>");
		stats_cells(f, s);
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table></section>\n");
}

static void faults(FILE *f, const json_t *r)
{
	const json_t *fl = json_object_get(r, "faults");
	double end = ru_num(json_object_get(r, "run"), "end_s", 1);
	fprintf(f, "<section id=\"faults\"><h2>Faults</h2>\n");
	if (!json_array_size(fl)) {
		fprintf(f, "<p>No faults were injected.</p>\n");
	} else {
		/* A timeline: one bar per fault over the run. */
		size_t n = json_array_size(fl);
		fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"900\" height=\"%zu\" "
			   "font-family=\"sans-serif\" font-size=\"11\">\n",
			n * 22 + 24);
		for (size_t i = 0; i < n; i++) {
			const json_t *x = json_array_get(fl, i);
			double a = ru_num(x, "start_s", 0), b = ru_num(x, "end_s", end);
			double x1 = 250 + 630 * a / (end > 0 ? end : 1);
			double x2 = 250 + 630 * b / (end > 0 ? end : 1);
			fprintf(f, "<text x=\"4\" y=\"%zu\">", i * 22 + 15);
			esc(f, ru_str(x, "label", "?"));
			fprintf(f, "</text><rect x=\"%.1f\" y=\"%zu\" width=\"%.1f\" height=\"14\" "
				   "fill=\"#e06666\"/>\n",
				x1, i * 22 + 4, x2 - x1 > 1 ? x2 - x1 : 1);
		}
		fprintf(f, "<line x1=\"250\" y1=\"%zu\" x2=\"880\" y2=\"%zu\" stroke=\"#333\"/>"
			   "<text x=\"250\" y=\"%zu\">0s</text><text x=\"880\" y=\"%zu\" "
			   "text-anchor=\"end\">%gs</text></svg>\n",
			n * 22 + 6, n * 22 + 6, n * 22 + 20, n * 22 + 20, end);
		fprintf(f, "<table><tr><th>fault</th><th>kind</th><th>from</th><th>to</th>"
			   "<th>hits</th><th>recovered after</th></tr>\n");
		for (size_t i = 0; i < n; i++) {
			const json_t *x = json_array_get(fl, i);
			fprintf(f, "<tr><td>");
			esc(f, ru_str(x, "label", "?"));
			fprintf(f, "</td><td>");
			esc(f, ru_str(x, "kind", "?"));
			fprintf(f, "</td><td>%gs</td><td>", ru_num(x, "start_s", 0));
			if (json_is_number(json_object_get(x, "end_s")))
				fprintf(f, "%gs", ru_num(x, "end_s", 0));
			else
				fprintf(f, "end");
			fprintf(f, "</td><td>%.0f</td><td>", ru_num(x, "hits", 0));
			const json_t *rs = json_object_get(x, "recovery_s");
			if (json_is_number(rs))
				fprintf(f, "%gs", json_number_value(rs));
			else
				fprintf(f, "did not recover");
			fprintf(f, "</td></tr>\n");
		}
		fprintf(f, "</table>\n");
	}
	const json_t *ms_ = ru_path(r, "resilience", "metastability");
	fprintf(f, "<p>Metastability: ");
	if (json_is_true(json_object_get(ms_, "judged")))
		fprintf(f, "%s.", json_is_true(json_object_get(ms_, "metastable"))
					  ? "<b class=\"bad\">metastable</b>: still degraded after its trigger was gone"
					  : "none; the system recovered");
	else {
		fprintf(f, "not judged (");
		esc(f, ru_str(ms_, "why", ""));
		fprintf(f, ").");
	}
	fprintf(f, " Retry amplification over all calls: %.3f.</p>\n",
		ru_num(json_object_get(r, "resilience"), "retry_amplification", 1));
	const json_t *ej = json_object_get(r, "ejections");
	fprintf(f, "<p>Outlier ejections: %.0f.</p></section>\n", ru_num(ej, "total", 0));
}

/* ---- mutual TLS ---- */

static const char *const tls_reasons[] = {
	"expired", "unknown_ca", "identity_mismatch", "plaintext_rejected",
	"no_client_cert", "other"};
#define NREASONS (sizeof tls_reasons / sizeof tls_reasons[0])

static void tls_cells(FILE *f, const json_t *sd)
{
	const json_t *fl = json_object_get(sd, "failures");
	fprintf(f, "<td>%.0f</td><td>%.0f</td><td>%.0f</td>", ru_num(sd, "full", 0),
		ru_num(sd, "resumed", 0), ru_num(sd, "plaintext", 0));
	for (size_t k = 0; k < NREASONS; k++)
		fprintf(f, "<td>%.0f</td>", ru_num(fl, tls_reasons[k], 0));
	double failed = ru_num(sd, "failed", 0);
	fprintf(f, "<td>%s%.0f%s</td>", failed > 0 ? "<b class=\"bad\">" : "", failed,
		failed > 0 ? "</b>" : "");
}

static void tls_head(FILE *f, const char *first)
{
	fprintf(f, "<table><tr><th>%s</th><th>side</th><th>full</th><th>resumed</th>"
		   "<th>plaintext</th>", first);
	for (size_t k = 0; k < NREASONS; k++) {
		fprintf(f, "<th>");
		esc(f, tls_reasons[k]);
		fprintf(f, "</th>");
	}
	fprintf(f, "<th>failed</th></tr>\n");
}

static int tls_side_used(const json_t *sd)
{
	return ru_num(sd, "full", 0) > 0 || ru_num(sd, "resumed", 0) > 0 ||
	       ru_num(sd, "plaintext", 0) > 0 || ru_num(sd, "failed", 0) > 0;
}

/* The "mtls" section of the report, when it has one: modes, handshakes
 * and failures (in all and per workload that did anything), the
 * certificates by why, and the certificate timeline chart. */
static void mtls(FILE *f, const json_t *r, const char *dir)
{
	const json_t *mt = json_object_get(r, "mtls");
	if (!json_is_object(mt))
		return;
	static const char *const sides[2] = {"outbound", "inbound"};
	fprintf(f, "<section id=\"mtls\"><h2>Mutual TLS</h2>\n<p>Trust domain ");
	esc(f, ru_str(mt, "trust_domain", "?"));
	fprintf(f, "; mesh-wide mode ");
	esc(f, ru_str(mt, "mode", "?"));
	fprintf(f, "; certificates live %gs and are renewed with %.0f%% of their life left.",
		ru_num(mt, "cert_ttl_s", 0), 100 * ru_num(mt, "grace_ratio", 0));
	const json_t *svcs = json_object_get(mt, "services");
	fprintf(f, " Inbound modes:");
	for (size_t i = 0; i < json_array_size(svcs); i++) {
		const json_t *s = json_array_get(svcs, i);
		fprintf(f, "%s ", i ? "," : "");
		esc(f, ru_str(s, "name", "?"));
		fprintf(f, " ");
		esc(f, ru_str(s, "mode", "?"));
	}
	fprintf(f, ".</p>\n<p class=\"note\">Outbound: as the callers' sidecars counted "
		   "connections (each once); inbound: as the servers' sidecars did. A failure "
		   "is counted by the side that found it and the side it was reported to. "
		   "Plaintext outbound counts connections opened, inbound those accepted.");
	if (json_object_get(r, "authorization"))
		fprintf(f, " Authorization decides on the identities these certificates "
			   "carry: denials per policy are in the summary's authorization "
			   "section and in report.json's <code>authorization</code>.");
	fprintf(f, "</p>\n");
	tls_head(f, "");
	const json_t *tot = json_object_get(mt, "totals");
	for (int k = 0; k < 2; k++) {
		fprintf(f, "<tr><td>all workloads</td><td>%s</td>", sides[k]);
		tls_cells(f, json_object_get(tot, sides[k]));
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</table>\n<h3>Workloads</h3>\n");
	const json_t *wls = json_object_get(mt, "workloads");
	int any = 0;
	for (size_t i = 0; i < json_array_size(wls); i++) {
		const json_t *w = json_array_get(wls, i);
		for (int k = 0; k < 2; k++) {
			const json_t *sd = json_object_get(w, sides[k]);
			if (!tls_side_used(sd))
				continue;
			if (!any++)
				tls_head(f, "workload");
			fprintf(f, "<tr%s><td>", ru_num(sd, "failed", 0) > 0 ? " class=\"missed\"" : "");
			esc(f, ru_str(w, "name", "?"));
			fprintf(f, "</td><td>%s</td>", sides[k]);
			tls_cells(f, sd);
			fprintf(f, "</tr>\n");
		}
	}
	if (any)
		fprintf(f, "</table>\n");
	else
		fprintf(f, "<p>No workload made or accepted a connection.</p>\n");
	const json_t *bw = json_object_get(mt, "certificates_by_why");
	fprintf(f, "<h3>Certificates</h3>\n<p>%.0f in all: %.0f issued, %.0f renewed, "
		   "%.0f expired and %.0f foreign (faults), %.0f restored.",
		ru_num(mt, "certificates_total", 0), ru_num(bw, "issued", 0),
		ru_num(bw, "renewed", 0), ru_num(bw, "expired", 0), ru_num(bw, "foreign", 0),
		ru_num(bw, "restored", 0));
	if (json_is_true(json_object_get(mt, "certificates_truncated")))
		fprintf(f, " The report lists the first %zu.",
			json_array_size(json_object_get(mt, "certificates")));
	fprintf(f, "</p>\n<figure class=\"chart\" id=\"chart-mtls-certs\">");
	char path[4200];
	snprintf(path, sizeof path, "%s/charts/mtls-certs.svg", dir);
	if (inline_svg(f, path) < 0)
		fprintf(f, "<p class=\"note\">Certificate timeline: not drawn (gnuplot draws it: "
			   "apt-get install gnuplot-nox, then meshsim report DIR).</p>");
	fprintf(f, "</figure>\n</section>\n");
}

static const char *css =
	"body{font-family:sans-serif;margin:24px;color:#222;max-width:1000px}"
	"h1{margin-bottom:4px}table{border-collapse:collapse;margin:8px 0 16px}"
	"td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;font-size:13px}"
	"td:first-child,th:first-child{text-align:left}th{background:#f3f3f3}"
	"tr.met td:first-child{color:#1e7b34;font-weight:bold}"
	"tr.missed td{background:#fde8e8}tr.missed td:first-child{color:#b00;font-weight:bold}"
	".pass{color:#1e7b34}.fail,.bad{color:#b00}.note{color:#666;font-size:13px}"
	"figure.chart{margin:8px 0}figure.chart svg{max-width:100%;height:auto}";

int render_html(const json_t *r, const char *dir, char *err, size_t errlen)
{
	char path[4200], tmp[4300];
	snprintf(path, sizeof path, "%s/report.html", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	FILE *f = fopen(tmp, "w");
	if (!f) {
		snprintf(err, errlen, "%s: cannot write: %s", tmp, strerror(errno));
		return -1;
	}
	const json_t *sc = json_object_get(r, "scenario");
	const char *verdict = ru_str(r, "verdict", "?");
	fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
		   "<title>meshsim: ");
	esc(f, ru_str(sc, "name", "?"));
	fprintf(f, "</title><style>%s</style></head><body>\n<header id=\"summary\"><h1>", css);
	esc(f, ru_str(sc, "name", "?"));
	fprintf(f, " <span class=\"%s\">%s</span></h1>\n<p>", strcmp(verdict, "pass") ? "fail" : "pass",
		strcmp(verdict, "pass") ? "FAIL" : "PASS");
	fprintf(f, "seed %.0f &middot; mode ", ru_num(sc, "seed", 0));
	esc(f, ru_str(r, "mode", "?"));
	fprintf(f, " &middot; %gs of load (+%gs drain) &middot; defaults ",
		ru_num(sc, "duration_s", 0), ru_num(sc, "drain_s", 0));
	esc(f, ru_str(r, "defaults", "none"));
	fprintf(f, " &middot; file ");
	esc(f, ru_str(sc, "file", ""));
	const json_t *tot = json_object_get(r, "totals");
	fprintf(f, "</p>\n<p>%.0f requests issued, success rate %.3f%%, ",
		ru_num(tot, "issued", 0), 100 * ru_num(tot, "success_rate", 1));
	char p99[24];
	ru_ms(p99, sizeof p99, ru_num(json_object_get(tot, "latency_ms"), "p99", 0));
	fprintf(f, "p99 %s; every request accounted for: %s.</p></header>\n", p99,
		json_is_true(json_object_get(tot, "accounted")) ? "yes" : "<b class=\"bad\">NO</b>");
	objectives(f, r);
	render_rollout_html(f, r, dir);
	graph(f, r);
	charts(f, dir);
	services(f, r);
	routes(f, r);
	faults(f, r);
	mtls(f, r, dir);
	fprintf(f, "<footer class=\"note\">");
	esc(f, ru_str(r, "generator", "meshsim"));
	fprintf(f, ", report schema %.0f.</footer>\n</body></html>\n",
		ru_num(r, "schema_version", 0));
	if (fclose(f) != 0 || rename(tmp, path) < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno));
		remove(tmp);
		return -1;
	}
	return 0;
}
