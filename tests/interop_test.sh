#!/bin/sh
# tests/interop_test.sh - live sidecars against real HTTP peers we did not
# write: curl as the client, nginx as the app, wrk as a load generator.
#
#   curl -> client sidecar (127.B.0.2:15001) -> web's sidecar
#        (127.B.0.1:15006) -> nginx (127.B.0.1:8080)
#
# Checks: status and body bytes through the pair; x-request-id added when
# missing and propagated when given (nginx logs what it received);
# hop-by-hop headers not forwarded (Connection and what it names,
# Keep-Alive, TE, Upgrade); a chunked upload through the pair; HTTP/1.0;
# an unknown route answered 404 by the sidecar; and wrk for a few seconds
# through one sidecar: requests done, no errors. Needs curl, wrk, nginx
# and python3 (installed by `.ci/deps.sh test`). Bounded: every wait has a
# limit, and everything started is killed on exit, pass or fail.
set -u

MESHSIM=${MESHSIM:-build/meshsim}
case "$MESHSIM" in /*) ;; *) MESHSIM="$(pwd)/$MESHSIM" ;; esac
tmp=$(mktemp -d "${TMPDIR:-/tmp}/meshsim-interop.XXXXXX")
chmod 755 "$tmp"
pass=0
fail=0
. "$(dirname "$0")/live_lib.sh"
trap 'live_lib_cleanup; rm -rf "$tmp"' EXIT
trap 'exit 130' INT TERM HUP

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAIL: $1"; }

for tool in curl wrk nginx python3; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		echo "interop_test: needs $tool (make deps-test installs it)" >&2
		exit 2
	fi
done

B=$(live_pick_net) || { echo "interop_test: no free net" >&2; exit 2; }
WEB=127.$B.0.1
CLI=127.$B.0.2
echo "net 127.$B.0.0/16: nginx on $WEB:8080, web's sidecar on $WEB:15006, client sidecar on $CLI:15001"
live_write_web_scenario "$tmp/interop.json"
if live_start_nginx "$tmp/nginx" "$WEB" 8080; then ok "nginx listens on $WEB:8080"
else bad "nginx did not start"; cat "$tmp/nginx/error.log" "$tmp/nginx/nginx.out" 2>/dev/null | tail -5; exit 1; fi
if live_start_sidecar "$tmp/interop.json" "$B" 0 "$tmp/web-0.log" --app "$WEB:8080" &&
	web_sc=$LIVE_LIB_LAST &&
	live_start_sidecar "$tmp/interop.json" "$B" 1 "$tmp/client.log" &&
	cli_sc=$LIVE_LIB_LAST; then
	ok "two sidecars ready and started"
else
	bad "the sidecars did not come up"; tail -5 "$tmp/web-0.log" "$tmp/client.log"; exit 1
fi

C="curl -s --max-time 10"
acc="$tmp/nginx/access.log"
last_log() { sleep 0.1; tail -1 "$acc"; }

# 1. GET through the pair: status and every byte of the body.
code=$($C -o "$tmp/big.out" -w '%{http_code}' -H 'Host: web' "http://$CLI:15001/big")
if [ "$code" = 200 ] && cmp -s "$tmp/big.out" "$tmp/nginx/www/big"; then
	ok "GET /big through the sidecar pair: 200 and 65536 bytes, byte for byte"
else bad "GET /big through the pair: status $code, body $(wc -c <"$tmp/big.out") bytes"; fi
code=$($C -o "$tmp/index.out" -w '%{http_code}' -H 'Host: web' "http://$CLI:15001/")
if [ "$code" = 200 ] && cmp -s "$tmp/index.out" "$tmp/nginx/www/index.html"; then
	ok "GET / through the sidecar pair: 200 and nginx's page"
else bad "GET / through the pair: status $code, body $(wc -c <"$tmp/index.out") bytes"; fi
line=$(last_log)
rid=$(echo "$line" | sed -n 's/.* rid=\([^ ]*\) .*/\1/p')
if [ -n "$rid" ] && [ "$rid" != "-" ]; then ok "x-request-id added by the sidecars: nginx saw $rid"
else bad "x-request-id: nginx saw none ($line)"; fi

# 2. A path that is no route of the scenario: the sidecar answers 404
# itself (Envoy's NR), nothing reaches nginx.
before=$(wc -l <"$acc")
code=$($C -o /dev/null -w '%{http_code}' -H 'Host: web' "http://$CLI:15001/nope")
sleep 0.1
if [ "$code" = 404 ] && [ "$(wc -l <"$acc")" = "$before" ]; then
	ok "an unknown route is answered 404 by the sidecar"
else bad "GET /nope (no such route): status $code"; fi

# 3. x-request-id given by the client is kept.
$C -o /dev/null -H 'Host: web' -H 'X-Request-Id: interop-1234' "http://$CLI:15001/"
line=$(last_log)
case "$line" in *"rid=interop-1234 "*) ok "x-request-id propagated as given" ;;
*) bad "x-request-id not propagated: $line" ;; esac

# 4. Hop-by-hop headers are not forwarded (RFC 9110 7.6.1): Connection
# and the headers it names, Keep-Alive, TE, Upgrade.
$C -o /dev/null -H 'Host: web' -H 'Connection: close, X-Foo' -H 'X-Foo: 1' \
	-H 'Keep-Alive: timeout=5' -H 'TE: trailers' -H 'Upgrade: h2c' "http://$CLI:15001/"
line=$(last_log)
case "$line" in
*"foo=- te=- ka=- "*"up=- "*) ok "hop-by-hop headers stopped at the sidecars: $line" ;;
*) bad "hop-by-hop headers reached nginx: $line" ;;
esac
case "$line" in *" 200 "*) ok "the request with hop-by-hop headers was answered 200" ;;
*) bad "the request with hop-by-hop headers: $line" ;; esac

# 5. A chunked upload through the pair: curl -T - sends 64 KiB of body
# in chunks (PUT); nginx's DAV module writes what arrived to a file.
rm -f "$tmp/nginx/www/upload"
code=$(cat "$tmp/nginx/www/big" | $C -o /dev/null -w '%{http_code}' -H 'Host: web' \
	-T - "http://$CLI:15001/upload")
line=$(last_log)
case "$code" in 20[14])
	if cmp -s "$tmp/nginx/www/upload" "$tmp/nginx/www/big"; then
		ok "chunked upload through the pair: $code, nginx stored all 65536 bytes (${line##* tenc=})"
	else bad "chunked upload: $code, nginx stored $(wc -c <"$tmp/nginx/www/upload" 2>/dev/null || echo no) bytes"; fi ;;
*) bad "chunked upload: status $code ($line)" ;;
esac

# 6. The same upload with Content-Length.
rm -f "$tmp/nginx/www/upload"
code=$($C -o /dev/null -w '%{http_code}' -H 'Host: web' -T "$tmp/nginx/www/big" \
	"http://$CLI:15001/upload")
case "$code" in 20[14])
	if cmp -s "$tmp/nginx/www/upload" "$tmp/nginx/www/big"; then
		ok "upload with Content-Length through the pair: $code, all 65536 bytes stored"
	else bad "upload with Content-Length: nginx stored the wrong bytes"; fi ;;
*) bad "upload with Content-Length: status $code" ;;
esac

# 7. HTTP/1.0 client through the pair.
code=$($C --http1.0 -o "$tmp/h10.out" -w '%{http_code}' -H 'Host: web' "http://$CLI:15001/")
if [ "$code" = 200 ] && cmp -s "$tmp/h10.out" "$tmp/nginx/www/index.html"; then ok "HTTP/1.0 through the pair"
else bad "HTTP/1.0 through the pair: status $code"; fi

# 8. Keep-alive: several requests on one connection through the pair.
n=$($C -o /dev/null -w '%{num_connects}\n' -H 'Host: web' "http://$CLI:15001/" "http://$CLI:15001/" \
	"http://$CLI:15001/" | awk '{ s += $1 } END { print s }')
if [ "$n" = 1 ]; then ok "keep-alive: three requests on one client connection"
else bad "keep-alive: $n connections for three requests"; fi

# 9. wrk through one sidecar (web's inbound) for a few seconds.
wrk -t1 -c8 -d3s -H 'Host: web' "http://$WEB:15006/" >"$tmp/wrk.out" 2>&1
reqs=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$tmp/wrk.out")
if [ "${reqs:-0}" -gt 0 ] && ! grep -qE 'Socket errors|Non-2xx' "$tmp/wrk.out"; then
	ok "wrk through one sidecar: $reqs requests, no errors ($(grep 'Requests/sec' "$tmp/wrk.out" | tr -s ' '))"
else bad "wrk through one sidecar:"; sed 's/^/    /' "$tmp/wrk.out"; fi

# 10. wrk through the pair.
wrk -t1 -c8 -d2s -H 'Host: web' "http://$CLI:15001/" >"$tmp/wrk2.out" 2>&1
reqs=$(sed -n 's/^ *\([0-9]*\) requests in .*/\1/p' "$tmp/wrk2.out")
if [ "${reqs:-0}" -gt 0 ] && ! grep -qE 'Socket errors|Non-2xx' "$tmp/wrk2.out"; then
	ok "wrk through the sidecar pair: $reqs requests, no errors"
else bad "wrk through the sidecar pair:"; sed 's/^/    /' "$tmp/wrk2.out"; fi

# The sidecars are still healthy after all that, and exit cleanly on
# SIGTERM (under the sanitizers: no leak, no error on the way out).
for ip in "$WEB" "$CLI"; do
	[ "$($C -o /dev/null -w '%{http_code}' "http://$ip:15000/ready")" = 200 ] ||
		bad "sidecar on $ip not ready after the test"
done
for p in "$web_sc" "$cli_sc"; do
	live_stop "$p"
	rc=$?
	if [ $rc -eq 0 ]; then ok "sidecar $p exits 0 on SIGTERM"
	else bad "sidecar $p: exit $rc on SIGTERM"; tail -5 "$tmp/web-0.log" "$tmp/client.log"; fi
done

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
