#!/bin/sh
# Mutual TLS of live_http against real peers: tests/tls_server_tool serves
# STRICT mTLS 1.3 on a loopback address of its own, with certificates from
# the built-in CA, and openssl s_client and curl talk to it:
#   - without a client certificate, with an expired one, with one from
#     another root: refused, with the alert that says why, and no HTTP;
#   - with the client certificate: the handshake verifies both ways, an
#     HTTP request typed through s_client is answered with the client's
#     SPIFFE ID, and a second s_client resumes the session;
#   - curl --cert --key --cacert over https: 200;
#   - TLS 1.2 and plaintext are refused;
#   - the server counted each refusal in its class.
# Usage: TLS_SERVER_TOOL=build/tls_server_tool sh tests/tls_interop_test.sh
# Prints one line per check and ends with "N passed, N failed".
set -u
TLS_SERVER_TOOL=${TLS_SERVER_TOOL:-build/tls_server_tool}
tmp=$(mktemp -d)
pid=""
# Everything started here ends with the script, however it ends.
cleanup() {
	if [ -n "$pid" ]; then
		kill "$pid" 2>/dev/null
		wait "$pid" 2>/dev/null
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP
pass=0
fail=0
ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAILED: $1"; }
finish() {
	echo "$pass passed, $fail failed"
	[ "$fail" -eq 0 ]
	exit $?
}

for tool in openssl curl timeout; do
	if ! command -v "$tool" >/dev/null 2>&1; then
		bad "the $tool command is missing"
		finish
	fi
done

# A loopback address of our own, from our pid (bench_http.sh uses 127.B.0.1).
ip="127.$(( $$ % 200 + 30 )).$(( $$ / 200 % 250 + 1 )).7"
d=$tmp/pki
mkdir "$d"
"$TLS_SERVER_TOOL" "$ip" 0 "$d" >"$tmp/stats" 2>"$tmp/log" &
pid=$!
i=0
while [ ! -s "$d/port" ]; do
	i=$((i + 1))
	if [ $i -gt 100 ] || ! kill -0 "$pid" 2>/dev/null; then
		bad "tls_server_tool did not come up:"
		sed 's/^/    /' "$tmp/log"
		finish
	fi
	sleep 0.1
done
port=$(cat "$d/port")
ok "tls_server_tool listens on $ip:$port"
cd "$d" || exit 1

request='GET /hello HTTP/1.1\r\nHost: mesh\r\nConnection: close\r\n\r\n'
client_id="spiffe://cluster.local/ns/default/sa/client"

# sclient OUT ARGS...: type the request through openssl s_client (TLS 1.3,
# verifying the server against our root), keep everything it printed.
sclient() {
	out=$1
	shift
	# shellcheck disable=SC2059
	printf "$request" | timeout 10 openssl s_client -connect "$ip:$port" \
		-CAfile root.pem -verify_return_error -ign_eof "$@" >"$out" 2>&1
	return 0
}
# refused DESCRIPTION OUT TEXT: no HTTP answer came back, and the output
# says TEXT (the alert).
refused() {
	if grep -q "HTTP/1.1" "$2"; then
		bad "$1: an HTTP answer came back"; sed 's/^/    /' "$2" | head -30
	elif grep -qi -- "$3" "$2"; then
		ok "$1 ($3)"
	else
		bad "$1: no \"$3\" in:"; sed 's/^/    /' "$2" | head -30
	fi
}
has() {
	if grep -qF -- "$2" "$3"; then ok "$1"; else
		bad "$1: no \"$2\" in:"; sed 's/^/    /' "$3" | head -30; fi
}

# Refused: no certificate, an expired one, one from another root.
sclient "$tmp/nocert" -tls1_3
refused "s_client without a certificate is refused" "$tmp/nocert" \
	"alert certificate required"
sclient "$tmp/expired" -tls1_3 -cert expired.pem -key expired.key
refused "s_client with an expired certificate is refused" "$tmp/expired" \
	"alert certificate expired"
sclient "$tmp/stranger" -tls1_3 -cert stranger.pem -key stranger.key
refused "s_client with another root's certificate is refused" \
	"$tmp/stranger" "alert unknown ca"

# Accepted: both chains verify, and HTTP flows through the session.
sclient "$tmp/good" -tls1_3 -cert client.pem -key client.key \
	-sess_out "$tmp/session"
has "s_client with the client certificate: the server's chain verifies" \
	"Verify return code: 0 (ok)" "$tmp/good"
has "s_client speaks TLS 1.3" "TLSv1.3" "$tmp/good"
has "an HTTP request through s_client is answered" "HTTP/1.1 200 OK" "$tmp/good"
has "the server saw the client's SPIFFE ID" "hello $client_id" "$tmp/good"
# The ticket it was given resumes a second connection.
if [ -s "$tmp/session" ]; then
	sclient "$tmp/resumed" -tls1_3 -cert client.pem -key client.key \
		-sess_in "$tmp/session"
	has "a second s_client resumes the session" "Reused, TLSv1.3" \
		"$tmp/resumed"
	has "the resumed session keeps the client's identity" \
		"hello $client_id" "$tmp/resumed"
else
	bad "s_client got no session ticket to save"
fi

# Refused too: TLS 1.2, and plaintext.
sclient "$tmp/tls12" -tls1_2 -cert client.pem -key client.key
refused "s_client limited to TLS 1.2 is refused" "$tmp/tls12" "alert protocol version"
if timeout 10 curl -sS -o /dev/null "http://$ip:$port/hello" >"$tmp/plain" 2>&1; then
	bad "plaintext HTTP was answered"
else
	ok "plaintext HTTP is refused (curl: $(head -c 60 "$tmp/plain"))"
fi

# curl, the way an operator would check a workload.
code=$(timeout 10 curl -sS --cert client.pem --key client.key \
	--cacert root.pem -o "$tmp/body" -w '%{http_code}' \
	"https://$ip:$port/hello" 2>"$tmp/curl")
if [ "$code" = "200" ]; then ok "curl --cert --key --cacert: 200"; else
	bad "curl --cert --key --cacert: \"$code\""; sed 's/^/    /' "$tmp/curl"; fi
has "curl got the client's SPIFFE ID back" "hello $client_id" "$tmp/body"
if timeout 10 curl -sS --cacert root.pem -o /dev/null \
	"https://$ip:$port/hello" >"$tmp/curl2" 2>&1; then
	bad "curl without a certificate was answered"
else
	ok "curl without a certificate is refused"
fi

# The server's own account of it all.
kill "$pid"
wait "$pid"
pid=""
stats=$(cat "$tmp/stats")
for want in "no_cert=2" "expired=1" "unknown_ca=1" "plaintext_refused=1" \
	"resumed=1"; do
	case " $stats " in
	*" $want "*) ok "the server counted $want" ;;
	*) bad "the server's counters lack $want: $stats" ;;
	esac
done
finish
