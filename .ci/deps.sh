#!/bin/sh
# Install the Debian packages meshsim needs to build, test or run, if any are
# missing. Called by `make` before building; safe to call again (it does
# nothing when everything is present).
#
# Usage: .ci/deps.sh build|run|test
#   build: the libraries meshsim links (jansson; libevent and http-parser for
#          live mode; OpenSSL for mTLS) and pkg-config
#   run:   build, plus gnuplot (charts are drawn by running it)
#   test:  run, plus Check (unit tests), xmllint (JUnit XML is validated
#          against a schema) and Chromium (report.html is opened in a real
#          headless browser), and the real peers live mode is checked
#          against: curl, wrk and nginx (and python3, which the live test
#          scripts read report.json with), and the openssl command (the
#          built-in CA's certificates are checked with it)
set -eu

what=${1:-build}
pkgs="pkg-config libjansson-dev libevent-dev libhttp-parser-dev libssl-dev"
case "$what" in
build) ;;
run) pkgs="$pkgs gnuplot-nox" ;;
test) pkgs="$pkgs gnuplot-nox check libxml2-utils chromium curl wrk nginx python3 openssl" ;;
*) echo ".ci/deps.sh: unknown set '$what' (expected build, run or test)" >&2; exit 2 ;;
esac

missing=""
for p in $pkgs; do
	if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
		missing="$missing $p"
	fi
done
[ -z "$missing" ] && exit 0

echo "meshsim: installing missing Debian packages:$missing" >&2
if [ "$(id -u)" -eq 0 ]; then
	SUDO=""
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
	SUDO="sudo -n"
else
	echo "meshsim: missing packages:$missing" >&2
	echo "meshsim: not root and no password-less sudo; install them with:" >&2
	echo "    sudo apt-get install -y$missing" >&2
	exit 1
fi
export DEBIAN_FRONTEND=noninteractive
# A fresh machine has no package lists; update once, then install.
$SUDO apt-get update -qq || true
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq $missing
