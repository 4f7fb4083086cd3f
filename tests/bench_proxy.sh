#!/bin/sh
# tests/bench_proxy.sh - what a live sidecar hop costs (`make bench`).
#
# One run measures three paths to the same server (nginx, returning a
# 17-byte page), on a loopback net 127.B.0.0/16 of its own:
#   direct        client -> nginx                       127.B.0.1:8080
#   one sidecar   client -> web's sidecar -> nginx      127.B.0.1:15006
#   sidecar pair  client -> client's sidecar -> web's sidecar -> nginx
#                                                       127.B.0.2:15001
#   pair, mTLS    the same with mutual TLS 1.3 between the two sidecars
#                 (STRICT, a PKI from tls_ca_tool)      127.C.0.2:15001
# For each: latency p50 and p99 at a fixed moderate rate (build/bench_proxy:
# open loop, evenly spaced, latency from the intended send time), and the
# most requests per second wrk gets with a few connections
# (wrk -t1 -c16). Then the added latency per hop and the rps ratio
# against the direct baseline of the same run. Figures, never a verdict:
# the machine is shared and small (2 cores run the client, the sidecars
# and nginx together).
#
# The three paths are measured in turn, ROUNDS times over, and each figure
# is the best of the rounds (lowest latency, highest rps), as bench_sim
# does: noise from a shared machine only ever makes a figure worse.
#
#   RATE=1000 SECS=4 WRK_SECS=4 ROUNDS=2 sh tests/bench_proxy.sh
set -u

MESHSIM=${MESHSIM:-build/meshsim}
BENCH_PROXY=${BENCH_PROXY:-build/bench_proxy}
TLS_CA_TOOL=${TLS_CA_TOOL:-build/tls_ca_tool}
case "$MESHSIM" in /*) ;; *) MESHSIM="$(pwd)/$MESHSIM" ;; esac
RATE=${RATE:-1000}
SECS=${SECS:-4}
WRK_SECS=${WRK_SECS:-4}
ROUNDS=${ROUNDS:-2}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshsim-bench.XXXXXX")
chmod 755 "$tmp"
. "$(dirname "$0")/live_lib.sh"
trap 'live_lib_cleanup; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

for tool in wrk nginx curl python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "bench_proxy: skipped: needs $tool (make deps-test installs curl, wrk and nginx)"
		exit 0
	fi
done
for f in "$MESHSIM" "$BENCH_PROXY"; do
	[ -x "$f" ] || { echo "bench_proxy: $f not built" >&2; exit 2; }
done

B=$(live_pick_net) || { echo "bench_proxy: no free net" >&2; exit 2; }
WEB=127.$B.0.1
CLI=127.$B.0.2
live_write_web_scenario "$tmp/bench.json"
live_start_nginx "$tmp/nginx" "$WEB" 8080 || { echo "bench_proxy: nginx did not start" >&2; exit 2; }
live_start_sidecar "$tmp/bench.json" "$B" 0 "$tmp/web-0.log" --app "$WEB:8080" &&
	live_start_sidecar "$tmp/bench.json" "$B" 1 "$tmp/client.log" ||
	{ echo "bench_proxy: the sidecars did not come up" >&2; tail -3 "$tmp"/*.log; exit 2; }

# The same pair again on a net of its own, with mutual TLS between the
# sidecars: the client's identity is the ingress gateway's.
PATHS="direct $WEB 8080:one $WEB 15006:pair $CLI 15001"
if [ -x "$TLS_CA_TOOL" ] && C=$(live_pick_net) && [ "$C" != "$B" ]; then
	CLI2=127.$C.0.2
	sed -e 's/"name": "interop",/"name": "interop-mtls", "mtls": { "mode": "STRICT" },/' \
	    -e 's|"name": "c", "to": "web", "path": "/", "rps": 1|&, "principal": "cluster.local/ns/istio-system/sa/gw"|' \
		"$tmp/bench.json" >"$tmp/bench-mtls.json"
	mkdir -m 700 "$tmp/pki"
	if "$TLS_CA_TOOL" pki "$tmp/bench-mtls.json" "$tmp/pki" &&
	   live_start_sidecar "$tmp/bench-mtls.json" "$C" 0 "$tmp/web-tls.log" --app "$WEB:8080" --pki "$tmp/pki" &&
	   live_start_sidecar "$tmp/bench-mtls.json" "$C" 1 "$tmp/client-tls.log" --pki "$tmp/pki" &&
	   [ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: web' "http://$CLI2:15001/")" = 200 ]; then
		PATHS="$PATHS:pairtls $CLI2 15001"
	else
		echo "bench_proxy: the mTLS pair did not come up; measuring plaintext only" >&2
		tail -3 "$tmp"/*-tls.log >&2
	fi
fi

echo "proxy overhead: nginx on $WEB:8080; latency at $RATE rps for ${SECS}s (open loop);"
echo "max rps: wrk -t1 -c16 -d${WRK_SECS}s; best of $ROUNDS rounds"
r=1
while [ $r -le "$ROUNDS" ]; do
	IFS=:
	for path in $PATHS; do
		IFS=' '
		set -- $path
		"$BENCH_PROXY" "$2" "$3" web / "$RATE" "$SECS" 16 >"$tmp/lat.$1.$r" 2>&1
		wrk -t1 -c16 -d"${WRK_SECS}s" -H 'Host: web' "http://$2:$3/" >"$tmp/wrk.$1.$r" 2>&1
	done
	IFS=' '
	r=$((r + 1))
done

python3 - "$tmp" "$ROUNDS" <<'P'
import re, sys
d = sys.argv[1]
rounds = int(sys.argv[2])
import os
names = [("direct", "direct (nginx)"), ("one", "one sidecar"), ("pair", "sidecar pair")]
if os.path.exists("%s/lat.pairtls.1" % d):
    names.append(("pairtls", "pair, mTLS"))
res = {}
for k, _ in names:
    best = dict(p50=float("inf"), p99=float("inf"), errors=0, rps=0.0, werr="")
    for r in range(1, rounds + 1):
        lat = open("%s/lat.%s.%d" % (d, k, r)).read()
        m = dict(re.findall(r"(\w+) ([0-9.]+)", lat))
        w = open("%s/wrk.%s.%d" % (d, k, r)).read()
        rps = re.search(r"Requests/sec:\s+([0-9.]+)", w)
        errs = re.search(r"(Socket errors:.*|Non-2xx or 3xx responses: \d+)", w)
        best["p50"] = min(best["p50"], float(m.get("p50_us", "inf")))
        best["p99"] = min(best["p99"], float(m.get("p99_us", "inf")))
        best["errors"] += int(float(m.get("errors", 0)))
        best["rps"] = max(best["rps"], float(rps.group(1)) if rps else 0.0)
        if errs:
            best["werr"] = errs.group(1)
    res[k] = best
base = res["direct"]
print()
print("%-16s %10s %10s %8s %12s %10s" % ("path", "p50", "p99", "errors", "max rps", "vs direct"))
for k, label in names:
    r = res[k]
    print("%-16s %8.0fus %8.0fus %8d %12.0f %9.2fx%s" % (
        label, r["p50"], r["p99"], r["errors"], r["rps"], r["rps"] / base["rps"],
        "  (" + r["werr"] + ")" if r["werr"] else ""))
one, pair = res["one"], res["pair"]
print()
print("added latency, at the fixed rate:")
print("  one sidecar hop          p50 %+7.0fus   p99 %+7.0fus" % (one["p50"] - base["p50"], one["p99"] - base["p99"]))
print("  sidecar pair (2 hops)    p50 %+7.0fus   p99 %+7.0fus" % (pair["p50"] - base["p50"], pair["p99"] - base["p99"]))
print("  per sidecar, from pair   p50 %+7.0fus   p99 %+7.0fus" % ((pair["p50"] - base["p50"]) / 2, (pair["p99"] - base["p99"]) / 2))
print("throughput against direct: one sidecar %.2fx, pair %.2fx" % (one["rps"] / base["rps"], pair["rps"] / base["rps"]))
if "pairtls" in res:
    t = res["pairtls"]
    print("mutual TLS on the hop between the sidecars (against the plaintext pair, same run):")
    print("  added latency            p50 %+7.0fus   p99 %+7.0fus" % (t["p50"] - pair["p50"], t["p99"] - pair["p99"]))
    print("  max rps                  %.0f against %.0f: %.2fx" % (t["rps"], pair["rps"], t["rps"] / pair["rps"] if pair["rps"] else 0))
P
