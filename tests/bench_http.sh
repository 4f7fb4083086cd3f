#!/bin/sh
# tests/bench_http.sh - libevent's evhttp against our live_http.c as a bare
# HTTP/1.1 server (`make bench`): the same 17-byte page, measured with wrk
# in one run, the two servers taking turns, each figure the best of ROUNDS.
# Besides requests per second (which a busy machine drags down), it prints
# the server's CPU time per request (user + system, from /proc), which
# depends much less on what else the machine is doing. Figures, never a
# verdict.
#
#   SECS=4 ROUNDS=2 sh tests/bench_http.sh
#
# Then the price of mutual TLS: bench_http handshakes (see bench_http.c).
set -u
BENCH_HTTP=${BENCH_HTTP:-build/bench_http}
SECS=${SECS:-4}
ROUNDS=${ROUNDS:-2}
if ! command -v wrk >/dev/null 2>&1; then
	echo "bench_http: skipped: needs wrk (make deps-test installs it)"
	"$BENCH_HTTP" handshakes 500
	exit 0
fi
# A loopback address of our own: 127.B.0.1 with B from our pid.
ip="127.$(( $$ % 200 + 30 )).0.1"
port=18080
pid=""
trap '[ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null' EXIT
trap 'exit 130' INT TERM HUP

# One round of one server: "rps p50 p99 cpu_us_per_request".
round() {
	kind=$1
	"$BENCH_HTTP" "$kind" "$ip" "$port" &
	pid=$!
	i=0
	while ! curl -s -o /dev/null "http://$ip:$port/" 2>/dev/null; do
		i=$((i + 1)); [ $i -gt 100 ] && { echo "0 0 0 0"; return; }
		sleep 0.05
	done
	t0=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	w=$(wrk -t1 -c16 -d"${SECS}s" --latency "http://$ip:$port/" 2>/dev/null)
	t1=$(awk '{print $14 + $15}' "/proc/$pid/stat")
	kill "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
	pid=""
	hz=$(getconf CLK_TCK)
	echo "$w" | awk -v t="$((t1 - t0))" -v hz="$hz" '
		/Requests\/sec/ { rps = $2 }
		/requests in/ { n = $1 }
		$1 == "50%" { p50 = $2 } $1 == "99%" { p99 = $2 }
		END { printf "%d %s %s %.2f\n", rps, p50, p99, n ? t / hz * 1e6 / n : 0 }'
}

# Best of the rounds per figure: highest rps, lowest latency and CPU.
ev_all=""; lh_all=""
r=0
while [ $r -lt "$ROUNDS" ]; do
	ev_all="$ev_all
$(round evhttp)"
	lh_all="$lh_all
$(round live)"
	r=$((r + 1))
done
pick() {
	echo "$1" | awk 'NF == 4 {
		if ($1 > rps) rps = $1
		if (!c || $4 < c) c = $4
		if (!p50 || $2 + 0 < p50 + 0) p50 = $2
		if (!p99 || $3 + 0 < p99 + 0) p99 = $3 }
		END { printf "%d %s %s %.2f\n", rps, p50, p99, c }'
}
ev=$(pick "$ev_all")
lh=$(pick "$lh_all")
echo "HTTP/1.1 server, one libevent loop, 17-byte page; wrk -t1 -c16 -d${SECS}s,"
echo "servers taking turns, best of $ROUNDS rounds"
printf '%-20s %9s %9s %9s %14s\n' "server" "rps" "p50" "p99" "CPU us/req"
set -- $ev; printf '%-20s %9s %9s %9s %14s\n' "libevent evhttp" "$1" "$2" "$3" "$4"; evr=$1; evc=$4
set -- $lh; printf '%-20s %9s %9s %9s %14s\n' "live_http (ours)" "$1" "$2" "$3" "$4"; lhr=$1; lhc=$4
awk -v a="$lhr" -v b="$evr" -v c="$lhc" -v d="$evc" 'BEGIN {
	if (b > 0) printf "live_http / evhttp: %.2fx requests per second", a / b
	if (c > 0) printf ", %.2fx less CPU per request", d / c
	print "" }'

# What mutual TLS costs per request, kept connections against handshakes
# (in one process: no wrk here, as wrk has no client certificates).
echo
"$BENCH_HTTP" handshakes 500
