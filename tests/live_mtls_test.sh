#!/bin/sh
# tests/live_mtls_test.sh - mutual TLS in live mode, end to end: `meshsim
# run --live` on scenarios with an "mtls" block, real OpenSSL handshakes
# between the sidecar processes on loopback. Checks:
#   - rotation (scenarios/mtls/rotation.json: certificates of 4 s, STRICT,
#     100 rps for 12 s): every workload renews several times, no request
#     fails, handshakes are counted at both ends; each workload's first
#     renewal falls at the simulator's run time (within 20 ms: the same
#     jitter stream, the same calendar); the run's PKI directory is gone
#     and named nowhere in report.json;
#   - a real sidecar's STRICT inbound, reached with openssl s_client during
#     a live run whose mesh CA is a plug-in CA made here (tls_ca_tool):
#     without a client certificate refused ("certificate required"), with
#     one of the mesh accepted (both chains verify, an HTTP request typed
#     through s_client is answered 200, the sidecar shows the callee's
#     SPIFFE ID); plaintext is closed; and on a PERMISSIVE inbound whose
#     policy allows frontend only, a plaintext request that claims to be
#     frontend in x-meshsim-source is denied (403: identity comes from
#     certificates only) while s_client with frontend's certificate is
#     allowed; the PKI directory is private (0700, keys 0600) while it
#     exists and is removed once every sidecar has loaded it; then SIGINT
#     ends the run (130) with nothing left;
#   - a cert_expire fault: the callee's expired certificate fails the
#     callers' handshakes, the requests end as 503 UF (connect_failure),
#     counted as "expired" at both ends; a fresh certificate ("restored")
#     when it ends, and success again; and plaintext to a STRICT inbound is
#     503 UR (reset), counted as plaintext_rejected at both ends;
#   - after every run no process of it and no listener on its net.
# Usage: MESHSIM=build/meshsim TLS_CA_TOOL=build/tls_ca_tool \
#          sh tests/live_mtls_test.sh
# Needs python3, openssl, curl, timeout. Every run is bounded in time and
# whatever this script started is killed on exit, pass or fail. Prints one
# line per check and ends with "N passed, N failed".
set -u

MESHSIM=${MESHSIM:-build/meshsim}
TLS_CA_TOOL=${TLS_CA_TOOL:-build/tls_ca_tool}
case "$MESHSIM" in /*) ;; *) MESHSIM="$(pwd)/$MESHSIM" ;; esac
case "$TLS_CA_TOOL" in /*) ;; *) TLS_CA_TOOL="$(pwd)/$TLS_CA_TOOL" ;; esac
EXE=$(readlink -f "$MESHSIM")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshsim-live-mtls.XXXXXX")
pass=0
fail=0
started=""   # orchestrators this script started and has not reaped

cleanup() {
	for p in $started; do
		kill -INT "$p" 2>/dev/null
	done
	sleep 0.3
	for p in $started; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	# Their children die with them (PDEATHSIG).
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

# An orchestrator was reaped: its pid is no longer ours to signal.
forget() { started=$(echo " $started " | sed "s/ $1 / /"); }

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

for tool in python3 openssl curl timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "live_mtls_test: needs $tool" >&2
		exit 2
	fi
done
for f in "$MESHSIM" "$TLS_CA_TOOL"; do
	if [ ! -x "$f" ]; then echo "live_mtls_test: $f not built" >&2; exit 2; fi
done

# Processes of this binary given "--net B" (a run's agents), one pid a
# line; zombies do not count.
procs() {
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/exe" 2>/dev/null)" = "$EXE" ] || continue
		st=$(sed 's/^.*) //' "$d/stat" 2>/dev/null | cut -c1)
		[ "$st" = Z ] && continue
		tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q -- "--net $1 " || continue
		echo "${d#/proc/}"
	done
}

# Listening TCP sockets on 127.B.0.0/16 (/proc/net/tcp: 127.B.x.y is
# "yyxxBB7F").
listeners() {
	awk -v b="$1" 'NR > 1 && $4 == "0A" && substr($2, 7, 2) == "7F" &&
		substr($2, 5, 2) == sprintf("%02X", b) { print $2 }' /proc/net/tcp
}

# The net B and the PKI directory of the run whose logs are in $1/live.
net_of_run() {
	sed -n 's/^== meshsim agent .* --net \([0-9]*\) .*/\1/p' "$1"/live/*.log 2>/dev/null | head -1
}
pki_of_run() {
	sed -n 's/^== meshsim agent sidecar .* --pki \(.*\)$/\1/p' "$1"/live/*.log 2>/dev/null | head -1
}

# The leak rule after a run in $2: no process of it and no listener left
# on its own net.
check_leaks() {
	b=$(net_of_run "$2")
	if [ -z "$b" ]; then bad "$1: no net found in $2/live/*.log"; return; fi
	i=0
	while [ $i -lt 30 ] && [ -n "$(listeners "$b")$(procs "$b")" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	l=$(listeners "$b")
	if [ -z "$l" ]; then ok "$1: no listener left on 127.$b.0.0/16"
	else bad "$1: listeners left on 127.$b.0.0/16: $(echo $l)"; fi
	l=$(procs "$b")
	if [ -z "$l" ]; then ok "$1: no process of the run left"
	else bad "$1: processes left: $(echo $l)"; fi
}

# The PKI directory of the run in $2 is gone, and report.json does not
# name it.
check_pki_gone() {
	d=$(pki_of_run "$2")
	if [ -z "$d" ]; then bad "$1: the sidecars' logs name no --pki directory"; return; fi
	if [ ! -e "$d" ]; then ok "$1: the PKI directory is removed"
	else bad "$1: the PKI directory $d is left"; rm -rf "$d"; fi
	if [ -f "$2/report.json" ]; then
		if grep -qF "$d" "$2/report.json"; then bad "$1: report.json names the PKI directory"
		else ok "$1: report.json does not name the PKI directory"; fi
	fi
}

# Run a command with a time limit ($1 s): SIGINT then, SIGKILL 3 s later.
# Its exit status.
bounded() {
	limit=$1
	shift
	"$@" &
	p=$!
	started="$started $p"
	( trap 'kill $sp 2>/dev/null; exit 0' TERM
	  sleep "$limit" & sp=$!; wait $sp
	  kill -INT "$p" 2>/dev/null
	  sleep 3 & sp=$!; wait $sp
	  kill -KILL "$p" 2>/dev/null ) >/dev/null 2>&1 &
	w=$!
	wait "$p"
	rc=$?
	forget "$p"
	kill "$w" 2>/dev/null
	wait "$w" 2>/dev/null
	return $rc
}

# ---- rotation under load ----
t_start=$(date +%s)
rot=scenarios/mtls/rotation.json
if [ ! -f "$rot" ]; then
	# The shipped scenario's shape, should it be missing.
	rot=$tmp/rotation.json
	cat >"$rot" <<'J'
{
  "name": "mtls-rotation", "seed": 41, "duration": "12s", "drain": "1s",
  "services": {
    "frontend": { "replicas": 2, "concurrency": 32, "queue": 64,
      "script": [ { "work": "1ms" }, { "call": { "service": "backend", "path": "/items" } } ] },
    "backend": { "replicas": 2, "concurrency": 16, "queue": 64,
      "latency": { "dist": "exponential", "mean": "2ms" } }
  },
  "mesh": { "backend": { "timeout": "1s", "connect_timeout": "250ms" } },
  "mtls": { "mode": "STRICT", "cert_ttl": "4s" },
  "load": [ { "name": "web", "to": "frontend", "path": "/", "arrival": "poisson", "rps": 100,
              "timeout": "2s",
              "principal": "cluster.local/ns/istio-system/sa/istio-ingressgateway-service-account" } ]
}
J
fi
bounded 60 "$MESHSIM" run "$rot" --live --out "$tmp/rot" --no-charts --quiet \
	>"$tmp/rot.out" 2>"$tmp/rot.err"
rc=$?
if [ $rc -eq 0 ]; then ok "rotation: the live run meets its objectives (exit 0)"
else bad "rotation: exit $rc"; sed 's/^/    /' "$tmp/rot.err" | tail -20; fi
check_leaks "rotation" "$tmp/rot"
check_pki_gone "rotation" "$tmp/rot"
"$MESHSIM" run "$rot" --out "$tmp/rotsim" --no-charts --quiet >/dev/null 2>"$tmp/rotsim.err"
if [ -f "$tmp/rot/report.json" ] && [ -f "$tmp/rotsim/report.json" ]; then
	if python3 - "$tmp/rot/report.json" "$tmp/rotsim/report.json" >"$tmp/rot.py" 2>&1 <<'P'
import json, sys
r = json.load(open(sys.argv[1]))
sim = json.load(open(sys.argv[2]))
fails = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)
check(r["mode"] == "live", 'mode is "live"')
t = r["totals"]
o = t["outcomes"]
print("    requests: %d issued, outcomes %s" % (t["issued"], o))
check(t["issued"] >= 1000, "about 100 rps for 12 s were offered (%d requests)" % t["issued"])
check(o["success"] == t["issued"],
      "zero failed requests through the rotations (%d of %d succeeded)" % (o["success"], t["issued"]))
m = r["mtls"]
certs = m["certificates"]
check(not m.get("certificates_truncated"), "the certificate timeline is complete")
names = [w["name"] for w in m["workloads"] if w["identity"]]
check(len(names) == 5, "5 workloads with an identity: %s" % names)
for w in names:
    mine = [c for c in certs if c["workload"] == w]
    ren = [c["at_s"] for c in mine if c["why"] == "renewed"]
    iss = [c for c in mine if c["why"] == "issued"]
    print("    %-12s renewed at %s" % (w, " ".join("%.3f" % a for a in ren)))
    check(len(iss) == 1 and len(ren) >= 4,
          "%s: issued once, renewed %d times (>= 4: every 2 s or so in 13 s)" % (w, len(ren)))
    gaps = [b - a for a, b in zip([0.0] + ren, ren)]
    check(all(0.9 <= g <= 2.1 for g in gaps),
          "%s: renewed at half of each certificate's life (gaps %s)" % (w, ["%.2f" % g for g in gaps]))
tot = m["totals"]
for side in ("inbound", "outbound"):
    s = tot[side]
    print("    %s: %d full, %d resumed, %d plaintext, %d failed" %
          (side, s["full"], s["resumed"], s["plaintext"], s["failed"]))
    check(s["full"] + s["resumed"] > 0, "%s handshakes counted (%d)" % (side, s["full"] + s["resumed"]))
    check(s["failed"] == 0 and s["plaintext"] == 0, "%s: no failed handshake, no plaintext" % side)
ws = {w["name"]: w for w in m["workloads"]}
for w in ("backend/0", "backend/1", "frontend/0", "frontend/1"):
    i = ws[w]["inbound"]
    check(i["full"] + i["resumed"] > 0, "%s's inbound counted its handshakes" % w)
check(ws["client/web"]["outbound"]["full"] > 0, "the client's sidecar counted its handshakes")
# The same scenario in the simulator: the same renewal schedule (the same
# jitter streams, the same rule; live renews a timer's lag later, which
# each renewal carries into the next: 50 ms is far more than that adds up
# to), and the same certificate lifetimes on the calendar.
scerts = sim["mtls"]["certificates"]
for w in names:
    lc = [c for c in certs if c["workload"] == w and c["why"] == "renewed"]
    sc = [c for c in scerts if c["workload"] == w and c["why"] == "renewed"]
    n = min(len(lc), len(sc))
    worst = max([abs(a["at_s"] - b["at_s"]) for a, b in zip(lc, sc)] or [9])
    check(n >= 4 and worst <= 0.05 and abs(len(lc) - len(sc)) <= 1,
          "%s: %d renewals live, %d in the simulator, at most %.1f ms apart"
          % (w, len(lc), len(sc), worst * 1e3))
    check([c["not_after_s"] - c["not_before_s"] for c in lc[:n]] ==
          [c["not_after_s"] - c["not_before_s"] for c in sc[:n]],
          "%s: the same certificate lifetimes as in the simulator" % w)
sys.exit(1 if fails else 0)
P
	then ok "rotation: report checks"; grep -v '^ok:' "$tmp/rot.py" | sed 's/^/    /'
	else bad "rotation: report checks:"; sed 's/^/    /' "$tmp/rot.py"; fi
else
	bad "rotation: no report (live or simulator)"; sed 's/^/    /' "$tmp/rotsim.err" | tail -5
fi
echo "    (rotation took $(( $(date +%s) - t_start ))s)"

# ---- a real sidecar's STRICT inbound, reached with openssl s_client ----
# A plug-in CA of our own (istiod's cacerts): the mesh issues from its
# intermediate, and we hold a workload certificate from it too.
t_start=$(date +%s)
ca=$tmp/ca
mkdir "$ca"
if ! "$TLS_CA_TOOL" "$ca" "$(date +%s)" frontend >"$tmp/ca.out" 2>&1; then
	bad "tls_ca_tool could not make the plug-in CA"; sed 's/^/    /' "$tmp/ca.out"
	finish
fi
cat >"$ca/probe.json" <<'J'
{
  "name": "mtls-probe", "seed": 5, "duration": "60s", "drain": "1s",
  "services": {
    "frontend": { "replicas": 1, "concurrency": 16,
      "script": [ { "call": { "service": "backend", "path": "/items" } } ] },
    "backend": { "replicas": 1, "concurrency": 16, "latency": "1ms", "response_size": 64 },
    "legacy": { "replicas": 1, "concurrency": 16, "latency": "1ms", "response_size": 16 }
  },
  "mtls": { "mode": "STRICT", "services": { "legacy": "PERMISSIVE" },
            "ca": { "cert": "intermediate.pem", "key": "intermediate-key.pem", "root": "root.pem" } },
  "authorization": [
    { "name": "legacy-from-frontend", "selector": "legacy",
      "rules": [ { "from": [ { "source": { "principals": ["cluster.local/ns/default/sa/frontend"] } } ] } ] }
  ],
  "load": [ { "name": "web", "to": "frontend", "path": "/", "rps": 20, "timeout": "2s",
              "principal": "cluster.local/ns/default/sa/gateway" },
            { "name": "batch", "to": "legacy", "path": "/export", "rps": 1, "timeout": "2s" } ]
}
J
"$MESHSIM" run "$ca/probe.json" --live --out "$tmp/probe" --no-charts --quiet \
	>"$tmp/probe.out" 2>"$tmp/probe.err" &
orch=$!
started="$started $orch"
# The PKI directory, from the sidecars' first log line (written at their
# start, before they exec), while it exists.
pki=""
i=0
while [ $i -lt 200 ] && [ -z "$pki" ]; do
	pki=$(pki_of_run "$tmp/probe")
	[ -z "$pki" ] && sleep 0.02
	i=$((i + 1))
done
if [ -n "$pki" ] && [ -d "$pki" ]; then
	mode=$(stat -c %a "$pki" 2>/dev/null)
	keys=$(find "$pki" -name '*-key.pem' -exec stat -c %a {} + 2>/dev/null | sort -u | tr '\n' ' ')
	if [ "$mode" = 700 ] && [ "$keys" = "600 " ]; then
		ok "probe: the PKI directory is private while it exists (0$mode, keys 0600)"
	elif [ -d "$pki" ]; then
		bad "probe: the PKI directory is mode $mode, its keys $keys"
	fi
elif [ -z "$pki" ]; then
	bad "probe: the sidecars' logs name no --pki directory"
else
	echo "    (the PKI directory was gone before its mode could be looked at)"
fi
# Wait until the run has started: the orchestrator removes the PKI
# directory once every sidecar has loaded it at /start.
i=0
while [ $i -lt 150 ] && [ -n "$pki" ] && [ -e "$pki" ]; do
	sleep 0.1
	i=$((i + 1))
done
if [ -n "$pki" ] && [ ! -e "$pki" ]; then
	ok "probe: the PKI directory is removed once every sidecar has loaded it"
else
	bad "probe: the PKI directory is still there after 15 s"
fi
sleep 0.5
ip=$(sed -n 's/^meshsim agent sidecar backend-0: ready on \([0-9.]*\) .*/\1/p' \
	"$tmp/probe/live/backend-0.log" 2>/dev/null | head -1)
if [ -z "$ip" ] || ! kill -0 "$orch" 2>/dev/null; then
	bad "probe: the run did not come up"; tail -5 "$tmp/probe.err" | sed 's/^/    /'
else
	ok "probe: backend-0's sidecar is up on $ip"
	request='GET /items HTTP/1.1\r\nHost: backend\r\nConnection: close\r\n\r\n'
	target=$ip
	sclient() {
		out=$1
		shift
		# shellcheck disable=SC2059
		printf "$request" | timeout 10 openssl s_client -connect "$target:15006" \
			-CAfile "$ca/root.pem" -verify_return_error -ign_eof -tls1_3 \
			-showcerts "$@" >"$out" 2>&1
		return 0
	}
	# frontend's certificate from the plug-in CA, with the intermediate
	# sent along (s_client sends only the leaf of -cert).
	mine="-cert $ca/workload.pem -cert_chain $ca/intermediate.pem -key $ca/workload-key.pem"
	sclient "$tmp/nocert"
	if grep -q "HTTP/1.1" "$tmp/nocert"; then
		bad "probe: s_client without a certificate got an HTTP answer"
	elif grep -qi "alert certificate required" "$tmp/nocert"; then
		ok "probe: s_client without a client certificate is refused (certificate required)"
	else
		bad "probe: s_client without a certificate: no \"certificate required\":"
		sed 's/^/    /' "$tmp/nocert" | head -20
	fi
	# shellcheck disable=SC2086
	sclient "$tmp/good" $mine
	if grep -q "Verify return code: 0 (ok)" "$tmp/good"; then
		ok "probe: with the mesh's certificate the sidecar's chain verifies to the plug-in root"
	else bad "probe: the sidecar's chain did not verify:"; sed 's/^/    /' "$tmp/good" | head -20; fi
	if grep -q "HTTP/1.1 200 OK" "$tmp/good"; then
		ok "probe: an HTTP request through s_client is answered 200 by the app behind the sidecar"
	else bad "probe: no 200 through s_client:"; sed 's/^/    /' "$tmp/good" | head -30; fi
	# The certificate the sidecar presented: backend's SPIFFE ID.
	sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$tmp/good" |
		awk '/BEGIN/ { n++ } n == 1' >"$tmp/leaf.pem"
	san=$(openssl x509 -in "$tmp/leaf.pem" -noout -ext subjectAltName 2>/dev/null | tr -d ' \n')
	case "$san" in
	*"URI:spiffe://cluster.local/ns/default/sa/backend"*)
		ok "probe: the sidecar presents backend's SPIFFE ID ($san)" ;;
	*) bad "probe: the sidecar's certificate has SAN \"$san\"" ;;
	esac
	if timeout 10 curl -sS -o /dev/null -H 'Host: backend' "http://$ip:15006/items" \
		>"$tmp/plain" 2>&1; then
		bad "probe: plaintext HTTP to the STRICT inbound was answered"
	else
		ok "probe: plaintext HTTP to the STRICT inbound is closed (curl: $(head -c 60 "$tmp/plain"))"
	fi
	# legacy: PERMISSIVE, and its policy allows frontend's principal only.
	lip=$(sed -n 's/^meshsim agent sidecar legacy-0: ready on \([0-9.]*\) .*/\1/p' \
		"$tmp/probe/live/legacy-0.log" 2>/dev/null | head -1)
	code=$(timeout 10 curl -sS -o "$tmp/forged" -w '%{http_code}' -H 'Host: legacy' \
		-H 'x-meshsim-source: frontend' "http://$lip:15006/export" 2>&1)
	if [ "$code" = 403 ] && grep -q "RBAC: access denied" "$tmp/forged"; then
		ok "probe: plaintext claiming to be frontend (x-meshsim-source) is denied: 403 RBAC"
	else bad "probe: plaintext claiming to be frontend: \"$code\" $(head -c 80 "$tmp/forged")"; fi
	request='GET /export HTTP/1.1\r\nHost: legacy\r\nConnection: close\r\n\r\n'
	target=$lip
	# shellcheck disable=SC2086
	sclient "$tmp/legacy" $mine
	if grep -q "HTTP/1.1 200 OK" "$tmp/legacy"; then
		ok "probe: frontend's certificate is allowed by legacy's policy: 200"
	else bad "probe: frontend's certificate on legacy:"; grep -a "HTTP/1.1\|alert\|RBAC" "$tmp/legacy" | sed 's/^/    /'; fi
	b=$(net_of_run "$tmp/probe")
	kill -INT "$orch"
	wait "$orch"
	rc=$?
	forget "$orch"
	if [ $rc -eq 130 ]; then ok "probe: SIGINT ends the run (exit 130)"
	else bad "probe: SIGINT: exit $rc"; tail -5 "$tmp/probe.err" | sed 's/^/    /'; fi
	check_leaks "probe" "$tmp/probe"
	check_pki_gone "probe" "$tmp/probe"
fi
case " $started " in *" $orch "*)
	kill -KILL "$orch" 2>/dev/null
	wait "$orch" 2>/dev/null
	forget "$orch" ;;
esac
echo "    (probe took $(( $(date +%s) - t_start ))s)"

# ---- a cert_expire fault, and plaintext to STRICT ----
# The callers start at 0.5 s, after the fault (on from 0 s) has reached
# the sidecars, so that no connection made before it hides it (open
# connections keep their certificates, as Envoy's do).
t_start=$(date +%s)
cat >"$tmp/expire.json" <<'J'
{
  "name": "mtls-expire", "seed": 7, "duration": "4s", "drain": "500ms",
  "services": { "backend": { "replicas": 2, "concurrency": 16, "latency": "1ms" } },
  "mesh": { "backend": { "timeout": "1s", "connect_timeout": "250ms" } },
  "mtls": { "mode": "STRICT" },
  "load": [
    { "name": "web", "to": "backend", "path": "/items", "rps": [ { "at": "500ms", "value": 100 } ],
      "timeout": "1s", "principal": "cluster.local/ns/default/sa/web" },
    { "name": "scanner", "to": "backend", "path": "/items", "rps": 10, "timeout": "1s" }
  ],
  "faults": [ { "kind": "cert_expire", "target": "backend", "at": "0s", "for": "2500ms" } ]
}
J
bounded 40 "$MESHSIM" run "$tmp/expire.json" --live --out "$tmp/expire" --no-charts --quiet \
	>"$tmp/expire.out" 2>"$tmp/expire.err"
rc=$?
if [ $rc -eq 0 ]; then ok "cert_expire: the live run goes through (exit 0)"
else bad "cert_expire: exit $rc"; sed 's/^/    /' "$tmp/expire.err" | tail -20; fi
check_leaks "cert_expire" "$tmp/expire"
check_pki_gone "cert_expire" "$tmp/expire"
if [ -f "$tmp/expire/report.json" ]; then
	if python3 - "$tmp/expire/report.json" >"$tmp/expire.py" 2>&1 <<'P'
import json, sys
r = json.load(open(sys.argv[1]))
fails = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)
cl = {c["name"]: c for c in r["clients"]}
web, scan = cl["web"], cl["scanner"]
o = web["outcomes"]
print("    web: %d issued, %s, status %s" % (web["issued"], o, web["status"]))
check(o["connect_failure"] > 0 and o["success"] > 0 and
      o["connect_failure"] + o["success"] == web["issued"],
      "web: requests failed to connect during the fault, and succeeded after (%d + %d = %d)"
      % (o["connect_failure"], o["success"], web["issued"]))
check(web["status"].get("503", 0) == o["connect_failure"], "web: the failures are 503s (UF)")
lf = r["live"]["faults"][0]
check(lf["failures"] == 0 and lf["on_s"] is not None and lf["off_s"] is not None,
      "the fault was switched on and off in every process (on %.3fs, off %.3fs)"
      % (lf["on_s"] or -1, lf["off_s"] or -1))
ts = r["timeseries"]["clients"]["web"]["success_rate"]
print("    web per second: " + " ".join("%.2f" % x if x is not None else "-" for x in ts))
check(len(ts) > 1 and ts[0] == 0 and ts[1] == 0,
      "web: seconds 0 and 1, inside the fault: no success")
check(len(ts) > 3 and ts[3] == 1, "web: second 3, after the fault: every request succeeds")
so = scan["outcomes"]
check(scan["issued"] > 0 and so["reset"] == scan["issued"] and
      scan["status"].get("503", 0) == scan["issued"],
      "scanner (plaintext) to the STRICT inbound: every request 503 UR (reset), %d" % scan["issued"])
m = r["mtls"]
ws = {w["name"]: w for w in m["workloads"]}
wout = ws["client/web"]["outbound"]
print("    client/web outbound: %s" % wout)
check(wout["failures"]["expired"] > 0 and wout["failed"] == wout["failures"]["expired"],
      "client/web's sidecar counted its failed handshakes as expired (%d)" % wout["failures"]["expired"])
inexp = sum(ws["backend/%d" % i]["inbound"]["failures"]["expired"] for i in (0, 1))
check(inexp > 0, "backend's sidecars counted the handshakes their expired certificate lost (%d)" % inexp)
rej_in = sum(ws["backend/%d" % i]["inbound"]["failures"]["plaintext_rejected"] for i in (0, 1))
rej_out = ws["client/scanner"]["outbound"]["failures"]["plaintext_rejected"]
check(rej_in >= scan["issued"] and rej_out == scan["issued"],
      "plaintext_rejected counted at both ends (inbound %d, outbound %d, requests %d)"
      % (rej_in, rej_out, scan["issued"]))
hits = r["faults"][0]["hits"]
# A handshake that fails just after the fault's switch-off has reached
# the caller's process is a failure no fault is on for: allow two.
check(wout["failures"]["expired"] - 2 <= hits <= wout["failures"]["expired"],
      "the cert_expire fault's hits are its failed connections, counted once "
      "(%d of %d)" % (hits, wout["failures"]["expired"]))
for i in (0, 1):
    w = "backend/%d" % i
    whys = [c["why"] for c in m["certificates"] if c["workload"] == w]
    check(whys.count("expired") == 1 and whys.count("restored") == 1,
          "%s: an expired certificate for the fault, a fresh one after (%s)" % (w, whys))
sys.exit(1 if fails else 0)
P
	then ok "cert_expire: report checks"; grep -v '^ok:' "$tmp/expire.py" | sed 's/^/    /'
	else bad "cert_expire: report checks:"; sed 's/^/    /' "$tmp/expire.py"; fi
fi
echo "    (cert_expire took $(( $(date +%s) - t_start ))s)"

finish
