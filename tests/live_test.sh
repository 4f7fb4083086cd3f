#!/bin/sh
# tests/live_test.sh - live mode end to end: `meshsim run --live` starts
# real processes on loopback, runs a scenario and writes the same report as
# the simulator. Checks:
#   - scenarios/live-basic.json: the report is live, its outcomes add up to
#     the requests issued, the rate asked for was offered, the live section
#     names every pod and process, logs and metrics are written;
#   - scenarios/live-faults.json: every fault kind live mode enacts shows
#     its effect (abort, delay, crash and restart, pause, partition,
#     bandwidth), and the switch times are close to the schedule;
#   - the leak rule: after each run no process of it and no listener on
#     its own net 127.B.0.0/16; at the end, the processes of this binary
#     and the listening TCP sockets on 127.0.0.0/8 are those of the start
#     (what another run beside this one starts meanwhile is said, not
#     failed: only what is on a net of ours counts);
#   - SIGINT to the orchestrator mid-run: exit 130, every child gone within
#     3 s, no listener left; SIGKILL to it: the children die anyway
#     (PR_SET_PDEATHSIG).
# Needs python3 (reads report.json). Every run is bounded in time, and
# whatever it started is killed on exit, pass or fail.
set -u

MESHSIM=${MESHSIM:-build/meshsim}
case "$MESHSIM" in /*) ;; *) MESHSIM="$(pwd)/$MESHSIM" ;; esac
EXE=$(readlink -f "$MESHSIM")
tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshsim-live.XXXXXX")
pass=0
fail=0
started=""   # orchestrators this script started (killed on exit)

cleanup() {
	for p in $started; do
		kill -KILL "$p" 2>/dev/null
	done
	# Their children die with them (PDEATHSIG); wait for it briefly so
	# that the next test starts clean.
	sleep 0.2
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }

# Processes running this binary, one pid a line (zombies do not count: they
# run nothing and hold no socket); with an argument B, only those given
# "--net B" (the agents of a run on 127.B.0.0/16).
procs() {
	for d in /proc/[0-9]*; do
		[ "$(readlink "$d/exe" 2>/dev/null)" = "$EXE" ] || continue
		st=$(sed 's/^.*) //' "$d/stat" 2>/dev/null | cut -c1)
		[ "$st" = Z ] && continue
		if [ -n "${1:-}" ]; then
			tr '\0' ' ' <"$d/cmdline" 2>/dev/null | grep -q -- "--net $1 " || continue
		fi
		echo "${d#/proc/}"
	done | sort
}

# Listening TCP sockets on 127.0.0.0/8, as "hexaddr:hexport" lines; with
# an argument B, only those on 127.B.0.0/16. /proc/net/tcp shows an IPv4
# address as 8 hex digits in network order read as a little-endian word:
# 127.B.x.y is "yyxxBB7F".
listeners() {
	awk -v b="${1:-}" 'NR > 1 && $4 == "0A" && substr($2, 7, 2) == "7F" {
		if (b != "" && substr($2, 5, 2) != sprintf("%02X", b)) next
		print $2 }' /proc/net/tcp | sort
}

children_of() {
	for d in /proc/[0-9]*; do
		set -- $(sed 's/^.*) //' "$d/stat" 2>/dev/null)
		[ "${2:-}" = "$pp" ] && [ "$1" != Z ] && echo "${d#/proc/}"
	done
}

# The net B of the run whose logs are in $1/live.
net_of_run() {
	sed -n 's/^== meshsim agent .* --net \([0-9]*\) .*/\1/p' "$1"/live/*.log 2>/dev/null | head -1
}

nets=""  # every net our runs used

# The leak rule after a run in $2 (B from its logs): no process of this
# binary and no listener left on the run's own net.
check_leaks() {
	what=$1
	b=$(net_of_run "$2")
	if [ -z "$b" ]; then bad "$what: no net found in $2/live/*.log"; return; fi
	nets="$nets $b"
	# The children may still be exiting for a moment after a kill.
	i=0
	while [ $i -lt 30 ] && [ -n "$(listeners "$b")$(procs "$b")" ]; do
		sleep 0.1
		i=$((i + 1))
	done
	l=$(listeners "$b")
	if [ -z "$l" ]; then ok "$what: no listener left on 127.$b.0.0/16"
	else bad "$what: listeners left on 127.$b.0.0/16: $(echo $l)"; fi
	l=$(procs "$b")
	if [ -z "$l" ]; then ok "$what: no process left of the run"
	else bad "$what: processes left:"
		for p in $l; do echo "    $p: $(tr '\0' ' ' <"/proc/$p/cmdline")"; done
	fi
}

# The whole machine's view, at the end against the start: every listener
# on 127.0.0.0/8 and every process of this binary there now was there
# before, but for what another run beside this one (on a net not ours)
# started meanwhile: that is said, not failed.
check_global() {
	procs >"$tmp/procs.after"
	listeners >"$tmp/listeners.after"
	n0=$(wc -l <"$tmp/procs.before")
	n1=$(wc -l <"$tmp/procs.after")
	l0=$(wc -l <"$tmp/listeners.before")
	l1=$(wc -l <"$tmp/listeners.after")
	ours=0
	for p in $(comm -13 "$tmp/procs.before" "$tmp/procs.after"); do
		c=$(tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null)
		mine=0
		for b in $nets; do case "$c " in *"--net $b "*) mine=1 ;; esac; done
		if [ $mine = 1 ]; then ours=$((ours + 1)); echo "    left: $p $c"
		else echo "    (a process not of these runs appeared meanwhile: $p $c)"; fi
	done
	for l in $(comm -13 "$tmp/listeners.before" "$tmp/listeners.after"); do
		mine=0
		for b in $nets; do
			[ "$(echo "$l" | cut -c5-6)" = "$(printf '%02X' "$b")" ] && mine=1
		done
		if [ $mine = 1 ]; then ours=$((ours + 1)); echo "    left: listener $l"
		else echo "    (a listener not of these runs appeared meanwhile: $l)"; fi
	done
	if [ $ours -eq 0 ]; then
		ok "$1: processes of meshsim $n0 before, $n1 after; listeners on 127.0.0.0/8 $l0 before, $l1 after; none of ours left"
	else bad "$1: $ours processes or listeners of these runs left"; fi
}

# Run a command with a time limit; its exit status, or 124 on timeout.
bounded() {
	limit=$1
	shift
	"$@" &
	p=$!
	started="$started $p"
	watchdog "$limit" "$p"
	wait "$p"
	rc=$?
	kill "$w" 2>/dev/null
	wait "$w" 2>/dev/null
	return $rc
}

# SIGINT process $2 after $1 seconds, SIGKILL 3 s later; sets $w. Killing
# $w ends it and its sleep (no orphan holds our output open).
watchdog() {
	( trap 'kill $sp 2>/dev/null; exit 0' TERM
	  sleep "$1" & sp=$!; wait $sp
	  kill -INT "$2" 2>/dev/null
	  sleep 3 & sp=$!; wait $sp
	  kill -KILL "$2" 2>/dev/null ) >/dev/null 2>&1 &
	w=$!
}

if [ ! -x "$MESHSIM" ]; then echo "live_test: $MESHSIM not built" >&2; exit 2; fi
if ! command -v python3 >/dev/null 2>&1; then echo "live_test: needs python3" >&2; exit 2; fi

procs >"$tmp/procs.before"
listeners >"$tmp/listeners.before"

# ---- live-basic ----
t_start=$(date +%s)
bounded 40 "$MESHSIM" run scenarios/live-basic.json --live --out "$tmp/basic" \
	--no-charts --quiet >"$tmp/basic.out" 2>"$tmp/basic.err"
rc=$?
if [ $rc -eq 0 ]; then ok "live-basic runs live and meets its objectives (exit 0)"
else bad "live-basic: exit $rc"; sed 's/^/    /' "$tmp/basic.err" | tail -20; fi
check_leaks "live-basic" "$tmp/basic"
if [ -f "$tmp/basic/report.json" ]; then
	if python3 - "$tmp/basic/report.json" "$tmp/basic" >"$tmp/basic.py" 2>&1 <<'P'
import json, os, sys
r = json.load(open(sys.argv[1]))
out = sys.argv[2]
fails = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)
check(r["mode"] == "live", 'mode is "live"')
t = r["totals"]
o = t["outcomes"]
check(sum(o.values()) == t["issued"], "outcomes add up to issued (%d = %s)" % (t["issued"], o))
check(t["accounted"] is True, "accounted: the load process's in-flight count matches")
live = r.get("live")
check(isinstance(live, dict), "the report has a live section")
live = live or {}
check(16 <= live.get("net", 0) <= 250, "net B in 16..250 (%s)" % live.get("net"))
pods = live.get("pods", [])
names = [p["name"] for p in pods]
check(names == ["frontend-0", "frontend-1", "backend-0", "backend-1", "client-web", "load"],
      "pods in order: %s" % names)
procs = [q for p in pods for q in p["processes"]]
check(len(procs) == 10 and all(q["pid"] > 0 for q in procs),
      "10 processes with their pids (4 apps, 5 sidecars, the load)")
check(all(p["address"] == "127.%d.0.%d" % (live["net"], i + 1) for i, p in enumerate(pods)),
      "pod p has address 127.B.0.(p+1)")
c = live["clients"][0]
print("    client web: requested %.1f rps, issued %.1f rps, completed %.1f rps"
      % (c["requested_rps"], c["achieved_rps"], c["completed_rps"]))
check(c["requested_rps"] == 200, "requested rate is the schedule's 200 rps")
# Poisson arrivals: 1000 expected in 5 s, sd ~32; 15% is over 4 sd.
check(abs(c["issued"] - 1000) <= 150, "issued %d of the 1000 asked for (within 15%%)" % c["issued"])
check(c["completed"] == c["issued"] - o["in_flight"], "completed = issued - in flight")
check(t["success_rate"] >= 0.99, "success rate %.4f >= 0.99" % t["success_rate"])
svc = {s["name"]: s for s in r["services"]}
check(svc["backend"]["issued"] > 0 and svc["frontend"]["issued"] > 0,
      "the callers' sidecars recorded both services")
arr = [i["arrived"] for i in svc["backend"]["instances"]]
check(all(a > 0 for a in arr), "both backend instances served (arrived %s)" % arr)
for p in pods:
    check(os.path.getsize(os.path.join(out, "live", p["name"] + ".log")) > 0,
          "log of %s written" % p["name"])
    m = os.path.join(out, "live", "metrics", p["name"] + ".prom")
    check(os.path.exists(m) and os.path.getsize(m) > 0, "metrics of %s written" % p["name"])
    # One exposition per pod: every family declared once, every series
    # once, each sample "name{labels} value" with its container.
    import re
    types, series, bad = set(), set(), []
    for line in open(m) if os.path.exists(m) else []:
        line = line.rstrip("\n")
        if line.startswith("# TYPE "):
            name = line.split()[2]
            if name in types:
                bad.append("TYPE twice: " + name)
            types.add(name)
        elif line and not line.startswith("#"):
            mm = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{container="(app|sidecar|load)",?[^}]*\}) (\S+)$', line)
            if not mm:
                bad.append("bad sample: " + line)
            elif (mm.group(1), mm.group(2)) in series:
                bad.append("series twice: " + line)
            else:
                series.add((mm.group(1), mm.group(2)))
    check(not bad and series, "metrics of %s: one valid exposition, %d series %s" % (p["name"], len(series), bad[:2]))
sys.exit(1 if fails else 0)
P
	then ok "live-basic report checks"; sed 's/^/    /' "$tmp/basic.py" | grep -v '^    ok:'
	else bad "live-basic report checks:"; sed 's/^/    /' "$tmp/basic.py"; fi
fi
echo "    (live-basic took $(( $(date +%s) - t_start ))s)"

# ---- live-faults ----
t_start=$(date +%s)
bounded 60 "$MESHSIM" run scenarios/live-faults.json --live --out "$tmp/faults" \
	--no-charts --quiet >"$tmp/faults.out" 2>"$tmp/faults.err"
rc=$?
if [ $rc -eq 0 ]; then ok "live-faults runs live and meets its objectives (exit 0)"
else bad "live-faults: exit $rc"; sed 's/^/    /' "$tmp/faults.err" | tail -20; fi
check_leaks "live-faults" "$tmp/faults"
if [ -f "$tmp/faults/report.json" ]; then
	if python3 - "$tmp/faults/report.json" >"$tmp/faults.py" 2>&1 <<'P'
import json, sys
r = json.load(open(sys.argv[1]))
fails = []
def check(cond, what):
    print(("ok: " if cond else "FAIL: ") + what)
    if not cond:
        fails.append(what)
t = r["totals"]
check(r["mode"] == "live", 'mode is "live"')
check(sum(t["outcomes"].values()) == t["issued"], "outcomes add up to issued")
check(t["accounted"] is True, "accounted")
faults = {f["kind"]: f for f in r["faults"]}
lf = {f["id"]: f for f in r["live"]["faults"]}
for i, f in enumerate(r["faults"]):
    l = lf[i]
    print("    %-28s planned %5.2fs..%5.2fs  switched %6.3fs..%6.3fs  acked %s..%s  hits %d"
          % (f["label"], l["planned_start_s"], l["planned_end_s"], l["on_s"], l["off_s"],
             l["on_acked_s"], l["off_acked_s"], f["hits"]))
    check(l["on_s"] is not None and abs(l["on_s"] - l["planned_start_s"]) < 0.2 and
          l["off_s"] is not None and abs(l["off_s"] - l["planned_end_s"]) < 0.2,
          "%s switched on and off within 200 ms of the schedule" % f["kind"])
    check(l["failures"] == 0 or f["kind"] in ("crash", "pause"),
          "%s: every process took the switch (%d failures)" % (f["kind"], l["failures"]))
for k in ("abort", "delay", "partition", "bandwidth"):
    check(faults[k]["hits"] > 0, "%s hit requests (%d)" % (k, faults[k]["hits"]))
ts = r["timeseries"]["overall"]
def sec(col, s):
    return ts[col][s] if s < len(ts[col]) else None
sr = lambda s: sec("success_rate", s)
print("    per second: success " + " ".join("%.2f" % x if x is not None else "-" for x in ts["success_rate"]))
print("    per second: p50 ms  " + " ".join("%.0f" % x if x is not None else "-" for x in ts["p50_ms"]))
print("    per second: max ms  " + " ".join("%.0f" % x if x is not None else "-" for x in ts["max_ms"]))
check(sr(0) >= 0.95, "second 0, before any fault: success %.2f" % sr(0))
check(sr(1) <= 0.85, "abort 50%% in second 1: success %.2f" % sr(1))
check(sec("p50_ms", 2) >= 95, "delay 100ms in second 2: p50 %.1f ms" % sec("p50_ms", 2))
be = next(s for s in r["services"] if s["name"] == "backend")
check(be["instances"][0]["crashes"] == 1, "backend-0 crashed once (%d)" % be["instances"][0]["crashes"])
app0 = next(q for p in r["live"]["pods"] if p["name"] == "backend-0"
            for q in p["processes"] if q["kind"] == "app")
check(app0["restarts"] == 1 and len(app0["downtime"]) == 1 and len(app0["downtime"][0]) == 2,
      "backend-0 came back after its crash: downtime %s" % app0["downtime"])
if app0["downtime"] and len(app0["downtime"][0]) == 2:
    down, up = app0["downtime"][0]
    check(abs(down - 3) < 0.2 and 5 <= up < 6, "down at %.3fs, up at %.3fs (crash 3s..5s)" % (down, up))
bo = be["outcomes"]
check(bo["connect_failure"] + bo["reset"] > 0,
      "backend calls failed to connect or were reset (%d, %d)" % (bo["connect_failure"], bo["reset"]))
check(min(sr(3), sr(4)) <= 0.9, "crash of one of two backends in seconds 3-4: success %.2f, %.2f" % (sr(3), sr(4)))
check(max(sec("max_ms", 5), sec("max_ms", 6)) >= 300,
      "pause of backend-1 at 5.5s..6.5s held requests: max %.0f ms" % max(sec("max_ms", 5), sec("max_ms", 6)))
check(sr(7) <= 0.5, "partition frontend | backend in second 7: success %.2f" % sr(7))
check(sr(9) >= 0.9, "second 9, after every fault: success %.2f" % sr(9))
sys.exit(1 if fails else 0)
P
	then ok "live-faults: every fault's effect shows"; sed 's/^/    /' "$tmp/faults.py" | grep -v '^    ok:'
	else bad "live-faults report checks:"; sed 's/^/    /' "$tmp/faults.py"; fi
fi
echo "    (live-faults took $(( $(date +%s) - t_start ))s)"

# ---- SIGINT mid-run ----
# Start a long run, wait until the load process is up and the run going,
# then SIGINT the orchestrator.
wait_ready() {
	i=0
	while [ $i -lt 100 ]; do
		grep -q "ready" "$1/live/load.log" 2>/dev/null && return 0
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

"$MESHSIM" run scenarios/live-basic.json --live --duration 60s --out "$tmp/int" \
	--no-charts --quiet >"$tmp/int.out" 2>"$tmp/int.err" &
orch=$!
started="$started $orch"
if wait_ready "$tmp/int"; then
	sleep 1
	pp=$orch
	kids=$(children_of)
	nkids=$(echo $kids | wc -w)
	b=$(net_of_run "$tmp/int")
	kill -INT "$orch"
	t0=$(date +%s%N)
	wait "$orch"
	rc=$?
	t1=$(date +%s%N)
	if [ $rc -eq 130 ]; then ok "SIGINT: the orchestrator exits 130 ($(( (t1 - t0) / 1000000 )) ms)"
	else bad "SIGINT: exit $rc, expected 130"; tail -5 "$tmp/int.err" | sed 's/^/    /'; fi
	left=""
	for k in $kids; do
		[ -d "/proc/$k" ] && [ "$(sed 's/^.*) //' "/proc/$k/stat" | cut -c1)" != Z ] && left="$left $k"
	done
	if [ "$nkids" -ge 10 ] && [ -z "$left" ]; then
		ok "SIGINT: all $nkids children gone when it returns"
	else bad "SIGINT: children before $nkids, left:$left"; fi
	if [ $(( (t1 - t0) / 1000000 )) -le 3000 ]; then ok "SIGINT: torn down within 3 s"
	else bad "SIGINT: teardown took $(( (t1 - t0) / 1000000 )) ms"; fi
	if [ -z "$(listeners "$b")" ]; then ok "SIGINT: no listener left on 127.$b.0.0/16"
	else bad "SIGINT: listeners left: $(listeners "$b" | tr '\n' ' ')"; fi
	[ -f "$tmp/int/report.json" ] && bad "SIGINT: a report was written for an interrupted run"
else
	bad "SIGINT: the run did not come up"; tail -5 "$tmp/int.err" | sed 's/^/    /'
	kill -KILL "$orch" 2>/dev/null
	wait "$orch" 2>/dev/null
fi

# ---- SIGKILL mid-run: PR_SET_PDEATHSIG ends the children ----
"$MESHSIM" run scenarios/live-basic.json --live --duration 60s --out "$tmp/kill" \
	--no-charts --quiet >"$tmp/kill.out" 2>"$tmp/kill.err" &
orch=$!
started="$started $orch"
if wait_ready "$tmp/kill"; then
	sleep 0.5
	pp=$orch
	kids=$(children_of)
	nkids=$(echo $kids | wc -w)
	b=$(net_of_run "$tmp/kill")
	kill -KILL "$orch"
	wait "$orch" 2>/dev/null
	i=0
	while [ $i -lt 30 ]; do
		left=""
		for k in $kids; do
			[ -d "/proc/$k" ] && [ "$(sed 's/^.*) //' "/proc/$k/stat" 2>/dev/null | cut -c1)" != Z ] && left="$left $k"
		done
		[ -z "$left" ] && break
		sleep 0.1
		i=$((i + 1))
	done
	if [ "$nkids" -ge 10 ] && [ -z "$left" ]; then
		ok "SIGKILL: all $nkids children died with the orchestrator ($((i * 100)) ms)"
	else bad "SIGKILL: children before $nkids, still running after 3 s:$left"
		for k in $left; do kill -KILL "$k" 2>/dev/null; done
	fi
	i=0
	while [ -n "$(listeners "$b")" ] && [ $i -lt 30 ]; do sleep 0.1; i=$((i + 1)); done
	if [ -z "$(listeners "$b")" ]; then ok "SIGKILL: no listener left on 127.$b.0.0/16"
	else bad "SIGKILL: listeners left: $(listeners "$b" | tr '\n' ' ')"; fi
else
	bad "SIGKILL: the run did not come up"; tail -5 "$tmp/kill.err" | sed 's/^/    /'
	kill -KILL "$orch" 2>/dev/null
	wait "$orch" 2>/dev/null
fi

# After all of it: nothing of ours left anywhere on loopback.
nets="$nets $(net_of_run "$tmp/int") $(net_of_run "$tmp/kill")"
check_global "at the end"

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
