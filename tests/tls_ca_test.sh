#!/bin/sh
# Tests of the built-in CA against the real openssl command: what
# tests/tls_ca_tool writes (a root, an intermediate, workload certificates)
# verifies with `openssl verify`, has the fields Istio's certificates have,
# fails when it should (expired, not yet valid, another root), and its key
# files are private.
# Usage: TLS_CA_TOOL=build/tls_ca_tool sh tests/tls_ca_test.sh
# Prints one line per check and ends with "N passed, N failed".
set -u
TLS_CA_TOOL=${TLS_CA_TOOL:-build/tls_ca_tool}
TLS_CA_TOOL=$(cd "$(dirname "$TLS_CA_TOOL")" && pwd)/$(basename "$TLS_CA_TOOL")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
pass=0
fail=0

ok() { pass=$((pass + 1)); echo "ok: $1"; }
bad() { fail=$((fail + 1)); echo "FAILED: $1"; }

if ! command -v openssl >/dev/null 2>&1; then
	echo "FAILED: the openssl command is missing (apt-get install openssl)"
	exit 1
fi

# expect_ok DESCRIPTION COMMAND...: the command succeeds.
# expect_fail DESCRIPTION TEXT COMMAND...: it fails, saying TEXT.
# Both keep the command's output in $tmp/out.
expect_ok() {
	desc=$1
	shift
	if "$@" >"$tmp/out" 2>&1; then ok "$desc"; else
		bad "$desc: exit $?"; sed 's/^/    /' "$tmp/out" | head -20; fi
}
expect_fail() {
	desc=$1 want=$2
	shift 2
	if "$@" >"$tmp/out" 2>&1; then
		bad "$desc: succeeded"; sed 's/^/    /' "$tmp/out" | head -20
	elif grep -qF -- "$want" "$tmp/out"; then ok "$desc ($want)"; else
		bad "$desc: no \"$want\" in:"; sed 's/^/    /' "$tmp/out" | head -20; fi
}
# expect_text FILE TEXT DESCRIPTION: FILE contains TEXT.
expect_text() {
	if grep -qF -- "$2" "$1"; then ok "$3"; else
		bad "$3: no \"$2\" in:"; sed 's/^/    /' "$1" | head -40; fi
}
expect_eq() {
	if [ "$1" = "$2" ]; then ok "$3"; else bad "$3: \"$1\", wanted \"$2\""; fi
}

# Files are written 0644 and keys 0600 less the umask: a usual umask.
umask 022
d=$tmp/certs
mkdir "$d"
now=$(date +%s)
sa=reviews
if ! "$TLS_CA_TOOL" "$d" "$now" "$sa" >"$tmp/tool" 2>&1; then
	bad "tls_ca_tool: exit $?"; cat "$tmp/tool"
	echo "$pass passed, $fail failed"
	exit 1
fi
cd "$d" || exit 1
chain="-CAfile root.pem -untrusted intermediate.pem"

# The chain verifies, strictly, for both TLS roles.
# shellcheck disable=SC2086
expect_ok "openssl verify workload.pem" openssl verify $chain workload.pem
expect_text "$tmp/out" "workload.pem: OK" "openssl says OK"
# shellcheck disable=SC2086
expect_ok "verify -x509_strict as a TLS client" \
	openssl verify -x509_strict -purpose sslclient $chain workload.pem
# shellcheck disable=SC2086
expect_ok "verify -x509_strict as a TLS server" \
	openssl verify -x509_strict -purpose sslserver $chain workload.pem
expect_ok "the intermediate verifies under the root" \
	openssl verify -x509_strict -CAfile root.pem intermediate.pem
expect_ok "the root verifies as itself" openssl verify -x509_strict -CAfile root.pem root.pem

# The fields of an Istio workload certificate.
openssl x509 -noout -text -in workload.pem >"$tmp/text" 2>&1
expect_text "$tmp/text" "URI:spiffe://cluster.local/ns/default/sa/$sa" "URI SAN is the SPIFFE ID"
expect_text "$tmp/text" "X509v3 Subject Alternative Name: critical" "the SAN is critical"
expect_text "$tmp/text" "ASN1 OID: prime256v1" "the key is P-256"
expect_text "$tmp/text" "ecdsa-with-SHA256" "signed with ECDSA and SHA-256"
expect_text "$tmp/text" "TLS Web Server Authentication, TLS Web Client Authentication" \
	"EKU serverAuth and clientAuth"
expect_text "$tmp/text" "Digital Signature, Key Encipherment" \
	"key usage digitalSignature and keyEncipherment"
expect_text "$tmp/text" "CA:FALSE" "not a CA"
expect_text "$tmp/text" "X509v3 Authority Key Identifier" "has an authority key identifier"
expect_text "$tmp/text" "X509v3 Subject Key Identifier" "has a subject key identifier"
subject=$(openssl x509 -noout -subject -in workload.pem | sed 's/^subject=[[:space:]]*//')
expect_eq "$subject" "" "the subject is empty"
openssl x509 -noout -text -in intermediate.pem >"$tmp/itext" 2>&1
expect_text "$tmp/itext" "CA:TRUE, pathlen:0" "the intermediate is a CA, pathlen 0"
expect_text "$tmp/itext" "ASN1 OID: prime256v1" "the intermediate's key is P-256"
openssl x509 -noout -text -in root.pem >"$tmp/rtext" 2>&1
expect_text "$tmp/rtext" "Subject: O = cluster.local, CN = Root CA" "the root's name"
expect_text "$tmp/rtext" "Certificate Sign, CRL Sign" "the root signs certificates"

# Validity: 24h from issue, notBefore backdated 2 minutes (Istio's
# ClockSkewGracePeriod); the root ten years.
epoch() { date -u -d "$1" +%s; }
nb=$(epoch "$(openssl x509 -noout -startdate -in workload.pem | cut -d= -f2)")
na=$(epoch "$(openssl x509 -noout -enddate -in workload.pem | cut -d= -f2)")
expect_eq "$((na - now))" 86400 "notAfter is 24h after issue"
expect_eq "$((now - nb))" 120 "notBefore is 2 minutes before issue"
rnb=$(epoch "$(openssl x509 -noout -startdate -in root.pem | cut -d= -f2)")
rna=$(epoch "$(openssl x509 -noout -enddate -in root.pem | cut -d= -f2)")
expect_eq "$((rna - rnb))" $((3650 * 86400)) "the root lives 3650 days"

# Time: expired a second past notAfter, not yet valid before notBefore.
# shellcheck disable=SC2086
expect_fail "workload at notAfter + 1s" "certificate has expired" \
	openssl verify -attime $((na + 1)) $chain workload.pem
# shellcheck disable=SC2086
expect_ok "workload at notAfter - 1s" openssl verify -attime $((na - 1)) $chain workload.pem
# shellcheck disable=SC2086
expect_fail "workload before notBefore" "certificate is not yet valid" \
	openssl verify -attime $((nb - 1)) $chain workload.pem
# shellcheck disable=SC2086
expect_fail "the expired fault at issue time" "certificate has expired" \
	openssl verify -attime "$now" $chain expired.pem
# shellcheck disable=SC2086
expect_ok "the expired fault two seconds earlier" \
	openssl verify -attime $((now - 2)) $chain expired.pem

# Roots: another trust domain's root is not ours; re-rooting without and
# with overlap.
# shellcheck disable=SC2086
expect_fail "other.local's certificate under our root" "unable to get local issuer certificate" \
	openssl verify $chain other.pem
expect_ok "other.local's certificate under its root" openssl verify -CAfile other-root.pem other.pem
openssl x509 -noout -text -in other.pem >"$tmp/otext" 2>&1
expect_text "$tmp/otext" "URI:spiffe://other.local/ns/default/sa/$sa" "other.local identity"
expect_fail "re-rooted certificate, old root only" "unable to get local issuer certificate" \
	openssl verify -CAfile root.pem rerooted.pem
expect_fail "old certificate, new root only" "unable to get local issuer certificate" \
	openssl verify -CAfile new-root.pem -untrusted intermediate.pem workload.pem
cat root.pem new-root.pem >"$tmp/bundle.pem"
expect_ok "overlap bundle: the old certificate" \
	openssl verify -CAfile "$tmp/bundle.pem" -untrusted intermediate.pem workload.pem
expect_ok "overlap bundle: the new certificate" \
	openssl verify -CAfile "$tmp/bundle.pem" rerooted.pem
s1=$(openssl x509 -noout -subject -in root.pem)
s2=$(openssl x509 -noout -subject -in new-root.pem)
expect_eq "$s2" "$s1" "the new root keeps the old root's name"

# Serials differ; each key matches its certificate.
a=$(openssl x509 -noout -serial -in workload.pem)
b=$(openssl x509 -noout -serial -in workload2.pem)
if [ "$a" != "$b" ]; then ok "serials differ ($a, $b)"; else bad "serials equal: $a"; fi
for n in workload workload2 expired other rerooted root intermediate; do
	c=$(openssl x509 -noout -pubkey -in "$n.pem" | openssl pkey -pubin -outform DER | od -An -tx1)
	k=$(openssl pkey -in "$n-key.pem" -pubout -outform DER | od -An -tx1)
	if [ -n "$c" ] && [ "$c" = "$k" ]; then ok "$n-key.pem matches $n.pem"; else
		bad "$n-key.pem does not match $n.pem"; fi
done
openssl pkey -in workload-key.pem -noout -text >"$tmp/ktext" 2>&1
expect_text "$tmp/ktext" "ASN1 OID: prime256v1" "the workload key is P-256"

# Key files are 0600, certificates 0644; nothing else in the directory.
for f in *-key.pem; do
	expect_eq "$(stat -c %a "$f")" 600 "$f is mode 600"
done
for f in root.pem intermediate.pem workload.pem other-root.pem new-root.pem; do
	expect_eq "$(stat -c %a "$f")" 644 "$f is mode 644"
done
left=0
for f in .* *; do
	case $f in .|..) ;; *tmp*) left=$((left + 1)) ;; esac
done
expect_eq "$left" 0 "no temporary files left"

# How the key files came to be, from the system calls (when strace is
# there and may trace): each created with O_CREAT|O_EXCL and mode 0600,
# nothing chmod'ed afterwards. Complements the modes above, which only
# show the end state.
mkdir "$tmp/traced"
if command -v strace >/dev/null 2>&1 &&
	strace -f -o "$tmp/trace" -e trace=open,openat,creat,chmod,fchmod,fchmodat \
		"$TLS_CA_TOOL" "$tmp/traced" "$now" "$sa" >/dev/null 2>&1; then
	keys=$(grep -c -- '-key\.pem' "$tmp/trace")
	good=$(grep -- '-key\.pem' "$tmp/trace" | grep -c 'O_CREAT|O_EXCL.*, 0600)')
	if [ "$keys" -gt 0 ] && [ "$keys" -eq "$good" ]; then
		ok "strace: all $keys key files created O_CREAT|O_EXCL, 0600"
	else
		bad "strace: $good of $keys key-file opens are O_CREAT|O_EXCL, 0600:"
		grep -- '-key\.pem' "$tmp/trace" | sed 's/^/    /' | head -20
	fi
	expect_eq "$(grep -c 'chmod' "$tmp/trace")" 0 "strace: nothing is chmod'ed"
else
	echo "skipped: system-call check (strace missing or not permitted)"
fi

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
