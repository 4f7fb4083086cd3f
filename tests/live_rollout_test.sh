#!/bin/sh
# tests/live_rollout_test.sh - canary rollouts in live mode: the
# orchestrator runs the simulator's controller on real time, reads the
# per-version series from the caller sidecars (GET /versions) and moves
# the traffic through their admin endpoints (POST /weights). Checks:
#   - the admin endpoint by hand, on one sidecar: GET /weights shows the
#     loader's rules (every call to the stable version); POST /weights,
#     one rule or several at once with Istio's mirror percentage, changes
#     them; bad requests are refused and change nothing; GET /versions
#     serves the per-version series;
#   - scenarios/canary/live-bad.json live: a canary failing 30% of its
#     calls is rolled back interval x (failureLimit + 1) = 2 s after it got
#     traffic, within 250 ms (the analyses run on timers of the
#     orchestrator's loop, a few ms late each, plus the gathering of the
#     series, a few ms); the log's decisions are start, analysis, two
#     failed measurements, rollback; every sidecar acknowledged each
#     weight change within 250 ms of the decision; a caller sidecar's
#     GET /weights, polled through the run, went 0 -> 20 -> 0 for v2; the
#     canary's calls stop after the rollback;
#   - scenarios/canary/live-good.json live: promoted 3 s after the start,
#     through 20, 50 and 80%, each acknowledged by every sidecar; the share
#     of calls the sidecars sent to v2 follows the weights second by
#     second;
#   - after each run, no process and no listener left on its net.
# Needs curl and python3. Every run is bounded in time, and whatever this
# script started is killed on exit, pass or fail.
set -u

MESHSIM=${MESHSIM:-build/meshsim}
case "$MESHSIM" in /*) ;; *) MESHSIM="$(pwd)/$MESHSIM" ;; esac
EXE=$(readlink -f "$MESHSIM")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshsim-liveroll.XXXXXX")
. "$(dirname "$0")/live_lib.sh"
pass=0
fail=0
started=""  # orchestrators and watchdogs this script started

cleanup() {
	for p in $started; do
		kill -KILL "$p" 2>/dev/null
	done
	live_lib_cleanup
	# Their children die with them (PDEATHSIG); let them go.
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }

if [ ! -x "$MESHSIM" ]; then echo "live_rollout_test: $MESHSIM not built" >&2; exit 2; fi
for c in curl python3; do
	command -v $c >/dev/null 2>&1 || { echo "live_rollout_test: needs $c" >&2; exit 2; }
done

# Is process $1 running (not gone, not a zombie)?
running() {
	st=$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}

# Processes of this binary given "--net $1", and listeners on 127.$1.0.0/16.
procs_on() {
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/exe" 2>/dev/null)" = "$EXE" ] || continue
		st=$(sed 's/^.*) //' "$d/stat" 2>/dev/null | cut -c1)
		[ "$st" = Z ] && continue
		tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q -- "--net $1 " && echo "${d#/proc/}"
	done
}
listeners_on() {
	awk -v h="$(printf '%02X' "$1")" 'NR > 1 && $4 == "0A" && substr($2, 7, 2) == "7F" &&
		substr($2, 5, 2) == h { print $2 }' /proc/net/tcp
}
check_leaks() {
	i=0
	while [ $i -lt 30 ] && [ -n "$(procs_on "$2")$(listeners_on "$2")" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	if [ -z "$(procs_on "$2")$(listeners_on "$2")" ]; then
		ok "$1: no process and no listener left on 127.$2.0.0/16"
	else bad "$1: left on 127.$2.0.0/16: processes $(procs_on "$2"), listeners $(listeners_on "$2")"; fi
}

t_begin=$(date +%s)

# ---- the admin endpoint, on one sidecar started by hand ----
# Pod 0 of live-bad.json is frontend-0: its sidecar routes the calls to
# reviews, whose rule 0 the rollout owns (v1 100, v2 0 from the loader).
net=$(live_pick_net) || { echo "live_rollout_test: no free net" >&2; exit 2; }
if live_start_sidecar scenarios/canary/live-bad.json "$net" 0 "$tmp/sidecar.log"; then
	ok "a sidecar of live-bad.json up on 127.$net.0.1"
else
	bad "the sidecar did not come up"; sed 's/^/    /' "$tmp/sidecar.log" | tail -5
fi
adm="http://127.$net.0.1:15000"
# post BODY: the status of POST /weights with it.
post() {
	curl -s -o "$tmp/post.out" -w '%{http_code}' --max-time 2 -X POST \
		-H 'Content-Type: application/json' --data "$1" "$adm/weights"
}
weights() { curl -s --max-time 2 "$adm/weights"; }
w0=$(weights)
if python3 -c 'import json, sys
w = json.loads(sys.argv[1])["services"]["reviews"]
assert w == [{"rule": 0, "weights": {"v1": 100.0, "v2": 0.0}, "mirror": 0.0}], w' "$w0" 2>"$tmp/py.err"
then ok "GET /weights: every call to v1 before a rollout starts"
else bad "GET /weights before: $w0"; cat "$tmp/py.err"; fi
s=$(post '{"service": "reviews", "rule": 0, "weights": {"v1": 70, "v2": 30}}')
w1=$(weights)
if [ "$s" = 200 ] && echo "$w1" | grep -q '"v1": *70.0*, *"v2": *30'; then
	ok "POST /weights (one rule) changes the split: $w1"
else bad "POST /weights one rule: $s $w1"; fi
s=$(post '{"service": "reviews", "rules": [{"rule": 0, "weights": {"v1": 40, "v2": 60}, "mirror": 25}]}')
w2=$(weights)
if [ "$s" = 200 ] && echo "$w2" | grep -q '"v2": *60' && echo "$w2" | grep -q '"mirror": *25'; then
	ok "POST /weights (rules at once, with mirror) changes the split and the mirror"
else bad "POST /weights rules: $s $w2"; fi
for bodystatus in \
	'{"service": "reviews", "rule": 0, "weights": {"v9": 10}}|400' \
	'{"service": "reviews", "rule": 3, "weights": {"v1": 10}}|404' \
	'{"service": "nope", "rule": 0, "weights": {"v1": 10}}|404' \
	'{"service": "reviews", "rules": [{"rule": 0, "weights": {"v1": 1}}, {"rule": 0, "weights": {"v2": -1}}]}|400' \
	'{"service": "reviews", "rules": [{"rule": 0, "weights": {"v1": 1}, "mirror": 101}]}|400' \
	'not json|400'; do
	body=${bodystatus%|*}
	want=${bodystatus##*|}
	s=$(post "$body")
	if [ "$s" = "$want" ] && [ "$(weights)" = "$w2" ]; then
		ok "POST /weights refuses ($s) and changes nothing: $body"
	else bad "POST /weights $body: $s (wanted $want), weights now $(weights)"; fi
done
v=$(curl -s --max-time 2 "$adm/versions?from=0")
if echo "$v" | grep -q '"names": *\["v1", *"v2"\]'; then ok "GET /versions serves the per-version series"
else bad "GET /versions: $v"; fi
s=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$adm/versions?from=soon")
if [ "$s" = 400 ]; then ok "GET /versions?from=soon: 400"; else bad "GET /versions?from=soon: $s"; fi
live_stop "$LIVE_LIB_LAST"
rc=$?
if [ $rc -eq 0 ]; then ok "the sidecar exits 0 on SIGTERM"; else bad "the sidecar: exit $rc"; fi
live_lib_cleanup
check_leaks "the sidecar by hand" "$net"

# ---- a live rollout: run it, and poll a caller sidecar's weights ----
# live_run NAME: runs scenarios/canary/NAME.json live into $tmp/NAME
# (at most 30 s), polling GET /weights of frontend-0's sidecar every
# 50 ms into $tmp/NAME.weights; sets rc and b (the run's net).
live_run() {
	out="$tmp/$1"
	"$MESHSIM" run "scenarios/canary/$1.json" --live --no-charts --out "$out" \
		>"$out.out" 2>"$out.err" &
	opid=$!
	started="$started $opid"
	b=""
	: >"$out.weights"
	t=0
	while running "$opid" && [ $t -lt 600 ]; do
		if [ -z "$b" ]; then
			b=$(sed -n 's/^== meshsim agent .* --net \([0-9]*\) .*/\1/p' \
				"$out"/live/frontend-0.log 2>/dev/null | head -1)
		else
			curl -s --max-time 0.5 "http://127.$b.0.1:15000/weights" >>"$out.weights" &&
				echo >>"$out.weights"
		fi
		sleep 0.05
		t=$((t + 1))
	done
	if running "$opid"; then
		kill -INT "$opid"
		sleep 3
		kill -KILL "$opid" 2>/dev/null
	fi
	wait "$opid"
	rc=$?
}

# check NAME: the report's checks in python (prints ok:/FAIL: lines).
check() {
	python3 - "$tmp/$1" <<'P' >"$tmp/$1.py" 2>&1
import json, sys
out = sys.argv[1]
r = json.load(open(out + "/report.json"))
name = r["scenario"]["name"]
ro, live = r["rollout"], r["live"]
fails = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + name + ": " + what)
    if not cond:
        fails.append(what)
check(r["mode"] == "live", 'the report is live')
bad = name.endswith("bad")
want_verdict = "rolled_back" if bad else "promoted"
check(ro["verdict"] == want_verdict, "verdict %s (%s: %s)" % (want_verdict, ro["verdict"], ro["reason"]))
# Argo's failureLimit 1: the second failed measurement, 2 intervals after
# the start; the good one's three one-second steps: 3 s. Real time adds a
# few ms per interval; 250 ms is the tolerance.
want_t = 2.0 if bad else 3.0
ttd = ro["time_to_decision_s"]
check(ttd is not None and want_t <= ttd <= want_t + 0.25,
      "decided %.3fs after the start (interval x count: %.1fs, + 250 ms at most)" % (ttd or -1, want_t))
actions = [e["action"] for e in ro["timeline"]]
want_actions = (["start", "analysis", "halt", "halt", "rollback"] if bad else
                ["start", "analysis", "analysis", "advance", "analysis", "analysis",
                 "advance", "analysis", "analysis", "promote"])
check(actions == want_actions, "the decisions, in order: %s" % actions)
res = [iv["result"] for iv in ro["intervals"]]
check(res == (["fail", "fail"] if bad else ["pass"] * 3), "each measurement's result: %s" % res)
ch = live["rollout"]["weight_changes"]
want_w = [20, 0] if bad else [20, 50, 80, 100]
check([c["canary_weight"] for c in ch] == want_w, "weight changes sent: %s" % [c["canary_weight"] for c in ch])
nsc = sum(1 for p in live["pods"] for x in p["processes"] if x["kind"] == "sidecar")
for c in ch:
    check(c["sidecars"] == nsc and c["acks"] == nsc and c["failures"] == 0,
          "weight %g acknowledged by all %d sidecars (%d acks)" % (c["canary_weight"], nsc, c["acks"]))
    check(c["acked_s"] is not None and 0 <= c["acked_s"] - c["t_s"] <= 0.25,
          "weight %g: decided at %.4fs, sent %.4fs, last ack %.4fs" % (c["canary_weight"], c["t_s"], c["sent_s"], c["acked_s"] or -1))
check(abs(ch[-1]["t_s"] - ro["decided_at_s"]) < 0.002, "the last change is the decision's")
an = live["rollout"]["analyses"]
check(all(a["failures"] == 0 and a["sidecars"] == nsc for a in an),
      "every analysis read all %d sidecars (%d analyses, %d to %d bytes each)"
      % (nsc, len(an), min(a["bytes"] for a in an), max(a["bytes"] for a in an)))
check(live["problems"] == [], "no problems: %s" % live["problems"])
# What the sidecars did: their per-version series, second by second.
se = ro["series"]
c, s_ = se["canary"]["requests"], se["baseline"]["requests"]
share = [100.0 * a / (a + b) if a + b else None for a, b in zip(c, s_)]
print("   canary share per second: %s" % ["-" if x is None else "%.0f%%" % x for x in share])
check(c[0] == 0, "no call to the canary before the start")
if bad:
    check(all(10 <= share[k] <= 30 for k in (1, 2)), "20%% of the calls in seconds 1 and 2 (%s)" % share[1:3])
    check(sum(c[4:]) == 0, "no call to the canary after the rollback (%s)" % c[4:])
else:
    for k, w in ((1, 20), (2, 50), (3, 80)):
        check(abs(share[k] - w) <= 12, "second %d: %.0f%% of the calls to the canary at weight %d" % (k, share[k], w))
    check(all(x == 100 for x in share[5:6]), "every call to the canary after the promotion (%s)" % share[5:6])
# The caller sidecar's own routing state, polled through the run.
seen = []
for line in open(out + ".weights"):
    line = line.strip()
    if not line:
        continue
    try:
        w = json.loads(line)["services"]["reviews"][0]["weights"]["v2"]
    except Exception:
        continue
    if not seen or seen[-1] != w:
        seen.append(w)
check(seen == ([0, 20, 0] if bad else [0, 20, 50, 80, 100]),
      "frontend-0's sidecar routed v2 at %s in turn (GET /weights)" % seen)
prom = open(out + "/live/metrics/frontend-0.prom").read()
v2 = [l for l in prom.splitlines() if l.startswith("meshsim_version_calls_total") and 'version="v2"' in l]
check(v2 and int(v2[0].split()[-1]) > 0, "its metrics count calls to v2: %s" % v2)
sys.exit(1 if fails else 0)
P
	prc=$?
	grep -E '^(ok|FAIL|   )' "$tmp/$1.py" | while IFS= read -r l; do echo "$l"; done
	pass=$((pass + $(grep -c '^ok:' "$tmp/$1.py")))
	fail=$((fail + $(grep -c '^FAIL:' "$tmp/$1.py")))
	if [ $prc -ne 0 ] && ! grep -q '^FAIL:' "$tmp/$1.py"; then
		bad "$1: the report could not be checked:"; tail -5 "$tmp/$1.py"
	fi
}

for name in live-bad live-good; do
	t0=$(date +%s)
	live_run "$name"
	if [ $rc -eq 0 ]; then ok "$name runs live and meets its objectives (exit 0, $(( $(date +%s) - t0 ))s)"
	else bad "$name: exit $rc"; sed 's/^/    /' "$tmp/$name.err" | tail -20; fi
	if [ -f "$tmp/$name/report.json" ]; then check "$name"; else bad "$name: no report.json"; fi
	if [ -n "$b" ]; then check_leaks "$name" "$b"; else bad "$name: no net found in its logs"; fi
done

echo "$pass passed, $fail failed ($(( $(date +%s) - t_begin ))s)"
[ "$fail" -eq 0 ]
