#!/bin/sh
# Tests of canary rollouts from the command line: every scenario in
# scenarios/canary meets its objectives, the report's rollout section and
# its renderings, `meshsim sweep` (and `run --seeds`), its bound, and the
# same bytes whatever the number of workers.
# Usage: MESHSIM=build/meshsim sh tests/rollout_test.sh
set -u
MESHSIM=${MESHSIM:-build/meshsim}
MESHSIM=$(cd "$(dirname "$MESHSIM")" && pwd)/$(basename "$MESHSIM")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAILED: $1"; }

expect_rc() {
	want=$1 desc=$2
	shift 2
	"$@" >"$tmp/out" 2>"$tmp/err"
	rc=$?
	if [ "$rc" -eq "$want" ]; then ok "$desc (exit $rc)"; else
		bad "$desc: exit $rc, wanted $want"; sed 's/^/    /' "$tmp/err" | head -20; fi
}

expect_text() {
	if grep -qF -- "$2" "$1"; then ok "$3"; else
		bad "$3: no \"$2\" in:"; sed 's/^/    /' "$1" | head -20; fi
}

# Every canary scenario is valid and meets its own objectives.
expect_rc 0 "check scenarios/canary/*.json" "$MESHSIM" check scenarios/canary/*.json
for f in scenarios/canary/*.json; do
	expect_rc 0 "run $f meets its objectives" "$MESHSIM" run "$f" --quiet --no-charts --out "$tmp/s"
	expect_text "$tmp/s/report.json" "\"accounted\": true" "$f accounts for every request"
	expect_text "$tmp/s/report.json" "\"rollout\": {" "$f has a rollout section"
done

# The summary and report.html show the rollout; `meshsim report` makes
# them again from report.json alone.
expect_rc 0 "run errors.json" "$MESHSIM" run scenarios/canary/errors.json --out "$tmp/e"
expect_text "$tmp/out" "verdict: ROLLED BACK after 5m" "summary shows the verdict and time to it"
expect_text "$tmp/out" "failed checks threshold reached (5)" "summary says why"
expect_text "$tmp/out" "blast radius:" "summary shows the blast radius"
expect_text "$tmp/e/report.html" "id=\"rollout\"" "report.html has a rollout section"
expect_text "$tmp/e/report.html" "id=\"rollout-timeline\"" "report.html has the timeline"
if command -v gnuplot >/dev/null 2>&1; then
	if [ -s "$tmp/e/charts/rollout-weight.svg" ] && [ -s "$tmp/e/charts/rollout-latency.png" ]; then
		ok "rollout charts drawn"; else bad "no rollout charts"; fi
fi
rm -f "$tmp/e/report.html"
expect_rc 0 "report DIR of a rollout" "$MESHSIM" report "$tmp/e"
expect_text "$tmp/out" "verdict: ROLLED BACK after 5m" "report DIR prints the rollout again"
expect_text "$tmp/e/report.html" "id=\"blast-radius\"" "report DIR writes the rollout section again"

# Same seed, same bytes.
"$MESHSIM" run scenarios/canary/latency.json --quiet --no-charts --out "$tmp/l1"
"$MESHSIM" run scenarios/canary/latency.json --quiet --no-charts --out "$tmp/l2"
if cmp -s "$tmp/l1/report.json" "$tmp/l2/report.json"; then ok "same seed, same rollout report"; else
	bad "same seed gave another rollout report"; fi

# A missed rollout objective fails the run.
sed 's/"verdict": "rolled_back"/"verdict": "promoted"/' scenarios/canary/errors.json >"$tmp/miss.json"
expect_rc 1 "a missed rollout objective" "$MESHSIM" run "$tmp/miss.json" --quiet --no-charts --out "$tmp/m"
if grep -qE "MISSED +rollout reviews +verdict" "$tmp/out" ||
	grep -q '"met": false' "$tmp/m/report.json"; then ok "the missed verdict is reported"; else
	bad "the missed verdict is not reported"; fi

# The sweep: rates with Wilson intervals; the same bytes with 1 and 2
# workers; `run --seeds` is the same; the bound gates the exit status.
expect_rc 0 "sweep of a bad canary" "$MESHSIM" sweep scenarios/canary/errors.json --seeds 24 \
	--jobs 2 --json "$tmp/w2.json" --max-false-rate 20%
expect_text "$tmp/out" "false promotion rate" "sweep names the false decision"
expect_text "$tmp/out" "95% CI" "sweep gives confidence intervals"
expect_text "$tmp/out" "within the bound" "sweep says the bound holds"
expect_rc 0 "the same sweep with one worker" "$MESHSIM" run scenarios/canary/errors.json --seeds 24 \
	--jobs 1 --json "$tmp/w1.json"
if cmp -s "$tmp/w1.json" "$tmp/w2.json"; then ok "sweep results do not depend on the workers"; else
	bad "sweep results differ with the number of workers"; fi
expect_rc 1 "a sweep above its bound" "$MESHSIM" sweep scenarios/canary/header-group.json --seeds 6 \
	--max-false-rate 0.5
expect_text "$tmp/out" "above the bound" "sweep says the bound is exceeded"
expect_rc 2 "sweep without --seeds" "$MESHSIM" sweep scenarios/canary/errors.json
expect_rc 2 "sweep of a scenario without a rollout" "$MESHSIM" sweep scenarios/quickstart.json --seeds 2
expect_text "$tmp/err" "expected a scenario with a \"rollout\" block" "and says why"
expect_rc 2 "sweep with a bad --max-false-rate" "$MESHSIM" sweep scenarios/canary/errors.json \
	--seeds 2 --max-false-rate 150%
expect_rc 0 "sweep --help" "$MESHSIM" sweep --help

# The JSON Schema accepts every canary scenario (when jsonschema is there).
if python3 -c 'import jsonschema' 2>/dev/null; then
	if python3 - scenarios/scenario.schema.json scenarios/canary/*.json >"$tmp/schema.out" 2>&1 <<'P'
import json, sys, jsonschema
v = jsonschema.Draft202012Validator(json.load(open(sys.argv[1])))
for f in sys.argv[2:]:
    errs = list(v.iter_errors(json.load(open(f))))
    assert not errs, f + ": " + "; ".join(e.message for e in errs)
P
	then ok "the schema accepts every canary scenario"
	else bad "schema check:"; sed 's/^/    /' "$tmp/schema.out" | tail -5; fi
else
	echo "skipped: schema check (python3 jsonschema not installed)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
