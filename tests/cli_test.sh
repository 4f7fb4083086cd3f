#!/bin/sh
# Tests of the meshsim command line: exit statuses, messages, determinism.
# Usage: MESHSIM=build/meshsim sh tests/cli_test.sh
# Prints one line per check and ends with "N passed, N failed".
set -u
MESHSIM=${MESHSIM:-build/meshsim}
MESHSIM=$(cd "$(dirname "$MESHSIM")" && pwd)/$(basename "$MESHSIM")
top=$(pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAILED: $1"; }

# expect_rc WANT DESCRIPTION COMMAND...: run, compare the exit status.
expect_rc() {
	want=$1 desc=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$desc (exit $rc)"; else
		bad "$desc: exit $rc, wanted $want"; sed 's/^/    /' "$tmp/err" | head -20; fi
}

# expect_text FILE TEXT DESCRIPTION: FILE contains TEXT.
expect_text() {
	if grep -qF -- "$2" "$1"; then ok "$3"; else
		bad "$3: no \"$2\" in:"; sed 's/^/    /' "$1" | head -20; fi
}

expect_rc 0 "--version" "$MESHSIM" --version
expect_text "$tmp/out" "meshsim " "--version prints the version"
expect_rc 0 "--help" "$MESHSIM" --help
expect_rc 0 "run --help" "$MESHSIM" run --help
expect_text "$tmp/out" "--seed N" "run --help lists --seed"
expect_rc 0 "check --help" "$MESHSIM" check --help
expect_rc 2 "no command" "$MESHSIM"
expect_rc 2 "unknown command" "$MESHSIM" frobnicate
expect_rc 2 "run without FILE" "$MESHSIM" run
expect_rc 2 "run with an unknown option" "$MESHSIM" run scenarios/quickstart.json --sead 3
expect_rc 2 "run with a bad --seed" "$MESHSIM" run scenarios/quickstart.json --seed -1
expect_rc 2 "run with a bad --duration" "$MESHSIM" run scenarios/quickstart.json --duration 10

# Every bundled scenario is valid.
# shellcheck disable=SC2046
expect_rc 0 "check scenarios/*.json scenarios/mtls/*.json" "$MESHSIM" check $(ls scenarios/*.json scenarios/mtls/*.json | grep -v '\.schema\.json$')

# A bad file: exit 2, every error, file and JSON path in each.
cat >"$tmp/bad.json" <<'J'
{ "duration": "10", "services": { "a": { "replica": 2, "script": [ { "call": "nope" } ] } },
  "load": [ { "to": "a", "rps": 10 } ] }
J
expect_rc 2 "check a bad file" "$MESHSIM" check "$tmp/bad.json"
expect_text "$tmp/err" "bad.json: duration: expected a duration" "error names file, path and what was expected"
expect_text "$tmp/err" "found \"10\"" "error says what was found"
expect_text "$tmp/err" "services.a.replica: unknown key \"replica\" (did you mean \"replicas\"?)" "unknown key suggests the right one"
expect_text "$tmp/err" "services.a.script[0].call" "undefined service named with its path"
expect_text "$tmp/err" "3 errors" "all errors reported at once"
expect_rc 2 "run a bad file" "$MESHSIM" run "$tmp/bad.json" --out "$tmp/x"
expect_rc 2 "check a missing file" "$MESHSIM" check "$tmp/missing.json"
expect_text "$tmp/err" "missing.json: cannot open" "missing file named"
expect_rc 2 "check several, one bad" "$MESHSIM" check scenarios/quickstart.json "$tmp/bad.json"
expect_text "$tmp/out" "quickstart.json: ok" "the good one is still checked"

# A run: summary on stdout, report.json where --out says, exit 0 when met.
expect_rc 0 "run quickstart" "$MESHSIM" run scenarios/quickstart.json --out "$tmp/q1"
expect_text "$tmp/out" "verdict: PASS" "summary shows the verdict"
expect_text "$tmp/out" "in_flight" "summary shows the outcomes adding up"
expect_text "$tmp/q1/report.json" "\"schema_version\": 1" "report.json has its schema version"
expect_text "$tmp/q1/report.json" "\"accounted\": true" "report.json accounts for every request"

# Same seed, same bytes; another seed, other bytes.
"$MESHSIM" run scenarios/quickstart.json --out "$tmp/q2" --quiet
if cmp -s "$tmp/q1/report.json" "$tmp/q2/report.json"; then ok "same seed gives the same bytes"; else bad "same seed gave other bytes"; fi
"$MESHSIM" run scenarios/quickstart.json --out "$tmp/q3" --quiet --seed 99
if cmp -s "$tmp/q1/report.json" "$tmp/q3/report.json"; then bad "--seed changed nothing"; else ok "--seed gives other bytes"; fi
expect_text "$tmp/q3/report.json" "\"seed\": 99" "report records the seed used"

# --duration overrides the scenario's.
expect_rc 0 "run with --duration" "$MESHSIM" run scenarios/quickstart.json --out "$tmp/q4" --duration 5s --quiet
expect_text "$tmp/q4/report.json" "\"duration_s\": 5" "report records the duration used"

# Default output folder: named after the scenario, in the current folder.
(cd "$tmp" && "$MESHSIM" run "$top/scenarios/quickstart.json" --quiet >/dev/null 2>&1)
if [ -f "$tmp/quickstart/report.json" ]; then ok "default --out is ./NAME"; else bad "no ./quickstart/report.json by default"; fi

# A missed objective: exit 1 and the summary says which.
cat >"$tmp/miss.json" <<'J'
{ "name": "miss", "duration": "2s", "services": { "a": { "latency": "20ms" } },
  "load": [ { "to": "a", "rps": 50 } ],
  "expect": { "p50": "<= 10ms", "success_rate": ">= 99%" } }
J
expect_rc 1 "run with a missed objective" "$MESHSIM" run "$tmp/miss.json" --out "$tmp/m"
if grep -qE "MISSED +overall +p50" "$tmp/out"; then ok "summary names the missed objective"; else
	bad "summary does not name the missed objective"; fi
expect_text "$tmp/out" "verdict: FAIL (1 of 2 objectives met)" "summary counts met objectives"
expect_text "$tmp/m/report.json" "\"verdict\": \"fail\"" "report.json says fail"

# report.html beside report.json; `meshsim report` makes it again.
if [ -s "$tmp/q1/report.html" ]; then ok "run writes report.html"; else bad "no report.html"; fi
rm -f "$tmp/q1/report.html"
expect_rc 0 "report DIR" "$MESHSIM" report "$tmp/q1"
expect_text "$tmp/out" "verdict: PASS" "report DIR prints the summary again"
if [ -s "$tmp/q1/report.html" ]; then ok "report DIR writes report.html again"; else bad "report DIR wrote no report.html"; fi
expect_rc 2 "report of a folder without a report" "$MESHSIM" report "$tmp"
expect_text "$tmp/err" "report.json" "its error names the file"

# Charts need gnuplot; without it on PATH the run still succeeds, says so
# once, and writes everything else.
if command -v gnuplot >/dev/null 2>&1; then
	if [ -s "$tmp/q1/charts/rate.svg" ] && [ -s "$tmp/q1/charts/rate.png" ]; then
		ok "charts in SVG and PNG"; else bad "no charts drawn"; fi
fi
mkdir -p "$tmp/bin"
for t in sh env uname cat; do p=$(command -v $t) && ln -sf "$p" "$tmp/bin/$t"; done
PATH="$tmp/bin" "$MESHSIM" run scenarios/quickstart.json scenarios/overload.json --quiet \
	--out "$tmp/nogp" >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" -eq 0 ]; then ok "runs without gnuplot (exit 0)"; else bad "without gnuplot: exit $rc"; fi
n=$(grep -c "charts skipped: gnuplot is not installed" "$tmp/err")
if [ "$n" -eq 1 ]; then ok "says once that charts were skipped"; else bad "said it $n times"; fi
if [ -s "$tmp/nogp/quickstart/report.html" ] && [ -s "$tmp/nogp/overload/report.json" ]; then
	ok "everything else written without gnuplot"; else bad "missing files without gnuplot"; fi

# Several files run as one suite, with JUnit XML; the worst status wins.
expect_rc 1 "a suite with a missed objective" "$MESHSIM" run scenarios/quickstart.json "$tmp/miss.json" \
	--quiet --no-charts --out "$tmp/suite" --junit "$tmp/junit.xml"
if [ -s "$tmp/suite/quickstart/report.json" ] && [ -s "$tmp/suite/miss/report.json" ]; then
	ok "each scenario of a suite in its own folder"; else bad "suite folders missing"; fi
expect_text "$tmp/junit.xml" "<testsuites" "JUnit XML written"
expect_text "$tmp/junit.xml" "<failure" "the missed objective is a JUnit failure"
if command -v xmllint >/dev/null 2>&1; then
	if xmllint --noout --schema tests/junit.xsd "$tmp/junit.xml" 2>"$tmp/x.err"; then
		ok "JUnit XML valid against tests/junit.xsd"
	else bad "JUnit XML invalid:"; sed 's/^/    /' "$tmp/x.err" | head -5; fi
	n=$(xmllint --xpath 'count(//testcase)' "$tmp/junit.xml")
	if [ "$n" -eq 5 ]; then ok "one test case per objective (5)"; else bad "$n test cases, wanted 5"; fi
fi

# diff: two seeds of one scenario are no regression; a worse run is.
"$MESHSIM" run scenarios/quickstart.json --quiet --no-charts --seed 1 --out "$tmp/d1"
"$MESHSIM" run scenarios/quickstart.json --quiet --no-charts --seed 2 --out "$tmp/d2"
expect_rc 0 "diff of two seeds" "$MESHSIM" diff "$tmp/d1" "$tmp/d2"
sed 's/"mean": "5ms"/"mean": "9ms"/' scenarios/quickstart.json >"$tmp/slow.json"
"$MESHSIM" run "$tmp/slow.json" --quiet --no-charts --seed 2 --out "$tmp/d3"
expect_rc 1 "diff against a slower catalog" "$MESHSIM" diff "$tmp/d1" "$tmp/d3"
expect_text "$tmp/out" "worse" "diff says what got worse"
expect_rc 2 "diff of two different scenarios" "$MESHSIM" diff "$tmp/d1" "$tmp/m"

# Every bundled scenario runs and meets its own objectives: they are the
# documentation's examples and the resilience demonstrations, so a change
# that breaks what one of them shows fails here.
for f in scenarios/*.json scenarios/mtls/*.json; do
	case "$f" in *.schema.json) continue ;; esac
	expect_rc 0 "run $f meets its objectives" "$MESHSIM" run "$f" --quiet --no-charts --out "$tmp/s"
	expect_text "$tmp/s/report.json" "\"accounted\": true" "$f accounts for every request"
	if grep -q '"accounted": false' "$tmp/s/report.json"; then bad "$f lost a request"; fi
done

# The JSON Schema agrees with the loader on every bundled scenario, and
# rejects a typo. Needs Python's jsonschema; without it this is skipped (and
# says so), since the loader, not the schema, is what meshsim trusts.
if python3 -c 'import jsonschema' 2>/dev/null; then
	cat >"$tmp/typo.json" <<'J'
{ "duration": "1s", "services": { "a": { "replica": 2 } }, "load": [ { "to": "a", "rps": 1 } ] }
J
	if python3 - scenarios/scenario.schema.json "$tmp/typo.json" scenarios/*.json scenarios/mtls/*.json tests/golden/golden.json >"$tmp/schema.out" 2>&1 <<'P'
import json, sys, jsonschema
schema = json.load(open(sys.argv[1]))
jsonschema.Draft202012Validator.check_schema(schema)
v = jsonschema.Draft202012Validator(schema)
bad = list(v.iter_errors(json.load(open(sys.argv[2]))))
assert bad, "the schema accepted a typo"
for f in sys.argv[3:]:
    if f.endswith(".schema.json"):
        continue
    errs = list(v.iter_errors(json.load(open(f))))
    assert not errs, f + ": " + "; ".join(e.message for e in errs)
P
	then ok "the schema accepts every bundled scenario and rejects a typo"
	else bad "schema check:"; sed 's/^/    /' "$tmp/schema.out" | tail -5; fi
else
	echo "skipped: schema check (python3 jsonschema not installed)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
