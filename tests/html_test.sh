#!/bin/sh
# Opens report.html in a real headless browser (Debian's Chromium) and
# checks that its parts are there once the browser has parsed it: the
# objectives table, the service graph, every chart as inline SVG, the
# service, route and fault sections, and that nothing was fetched from
# the network; with mutual TLS (scenarios/mtls/cert-faults.json) its
# section and the certificate timeline. Also leaves a screenshot for
# people to look at.
# Usage: MESHSIM=build/meshsim sh tests/html_test.sh
# Ends with "N passed, N failed".
set -u
MESHSIM=${MESHSIM:-build/meshsim}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAILED: $1"; }

browser=""
for b in chromium chromium-browser google-chrome; do
	if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
	# make test installs chromium (.ci/deps.sh test); without it this
	# test cannot say anything, and that is a failure, not a pass.
	bad "no headless browser: apt-get install chromium"
	echo "$pass passed, $fail failed"
	exit 1
fi

# The browser is run with a fresh profile, no GPU, no network services,
# and a time limit; it only ever opens a local file.
run_browser() {
	timeout 120 "$browser" --headless --no-sandbox --disable-gpu \
		--disable-dev-shm-usage --disable-background-networking \
		--disable-component-update --disable-sync --no-first-run \
		--disable-quic --user-data-dir="$tmp/profile" "$@" 2>"$tmp/browser.log"
}

if ! "$MESHSIM" run scenarios/retry-storm-budget.json --quiet --out "$tmp/r" >/dev/null; then
	bad "meshsim run failed"
fi
page="file://$tmp/r/report.html"
if run_browser --dump-dom "$page" >"$tmp/dom.html" && [ -s "$tmp/dom.html" ]; then
	ok "chromium loaded report.html"
else
	bad "chromium could not load report.html"; sed 's/^/    /' "$tmp/browser.log" | tail -5
fi
for part in 'id="summary"' 'id="objectives"' 'id="graph"' 'id="charts"' \
	'id="services"' 'id="routes"' 'id="faults"' 'class="node"' \
	'id="chart-rate"' 'id="chart-latency"' 'id="chart-cdf"'; do
	if grep -qF "$part" "$tmp/dom.html"; then ok "the page has $part"; else bad "no $part in the page"; fi
done
nsvg=$(grep -o '<svg' "$tmp/dom.html" | wc -l)
# The service graph, six charts and the fault timeline.
if [ "$nsvg" -ge 8 ]; then ok "$nsvg inline SVG drawings"; else bad "only $nsvg inline SVG drawings"; fi
if grep -qE '(src|href)="https?:' "$tmp/dom.html"; then bad "the page refers to the network"; else ok "nothing is fetched"; fi
if grep -q 'api slowdown' "$tmp/dom.html"; then ok "the fault window is labelled"; else bad "no fault label"; fi

# With mutual TLS: the mtls section, its tables and the certificate
# timeline drawn inline; and none of it in a report without an mtls block.
if grep -qF 'id="mtls"' "$tmp/dom.html"; then bad "an mtls section without an mtls block"; else ok "no mtls section without an mtls block"; fi
if ! "$MESHSIM" run scenarios/mtls/cert-faults.json --quiet --out "$tmp/m" >/dev/null; then
	bad "meshsim run of the mTLS scenario failed"
fi
if run_browser --dump-dom "file://$tmp/m/report.html" >"$tmp/mdom.html" && [ -s "$tmp/mdom.html" ]; then
	ok "chromium loaded the mTLS report.html"
else
	bad "chromium could not load the mTLS report.html"
fi
for part in 'id="mtls"' 'id="chart-mtls-certs"' '<td>catalog/0</td>' 'plaintext_rejected'; do
	if grep -qF "$part" "$tmp/mdom.html"; then ok "the mTLS page has $part"; else bad "no $part in the mTLS page"; fi
done
if tr -d '\n' <"$tmp/mdom.html" | grep -qE 'id="chart-mtls-certs"><svg'; then
	ok "the certificate timeline is inline SVG"
else
	bad "the certificate timeline is not drawn inline"
fi

# A screenshot, kept where the next person can look at it.
mkdir -p out
if run_browser --screenshot="$tmp/shot.png" --window-size=1100,2600 "$page" && [ -s "$tmp/shot.png" ]; then
	cp "$tmp/shot.png" out/report-screenshot.png
	ok "screenshot in out/report-screenshot.png"
else
	bad "no screenshot"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
