# tests/live_lib.sh - shell helpers for the tests and the benchmark that
# run meshsim's live agents by hand beside real peers (nginx, curl, wrk):
# tests/interop_test.sh and tests/bench_proxy.sh source it.
#
# The set-up they share, on a net 127.B.0.0/16 of their own:
#   pod 0 "web-0":      nginx on 127.B.0.1:8080 (the pod's app port) and
#                       its sidecar (inbound 15006, admin 15000), --app
#                       pointing at nginx;
#   pod 1 "client-c":   a client's sidecar (outbound 15001, admin 15000).
# So: direct = 127.B.0.1:8080; one sidecar = 127.B.0.1:15006; a sidecar
# pair = 127.B.0.2:15001 (Host: web), as in a mesh.
#
# Callers set $MESHSIM and $tmp, and call live_lib_cleanup from their EXIT
# trap: it kills everything these helpers started.

LIVE_LIB_PIDS=""

# A net B in 16..250 with no TCP listener on 127.B.0.0/16.
live_pick_net() {
	b=$(( 16 + ($$ % 235) ))
	i=0
	while [ $i -lt 235 ]; do
		hex=$(printf '%02X' "$b")
		if ! awk -v h="$hex" 'NR > 1 && $4 == "0A" && substr($2, 7, 2) == "7F" &&
			substr($2, 5, 2) == h { found = 1 } END { exit !found }' /proc/net/tcp; then
			echo "$b"
			return 0
		fi
		b=$(( b >= 250 ? 16 : b + 1 ))
		i=$((i + 1))
	done
	return 1
}

# Wait until something listens on ip:port (up to 5 s).
live_wait_listen() {
	hexip=$(echo "$1" | awk -F. '{ printf "%02X%02X%02X%02X", $4, $3, $2, $1 }')
	hexport=$(printf '%04X' "$2")
	i=0
	while [ $i -lt 100 ]; do
		awk -v a="$hexip:$hexport" 'NR > 1 && $4 == "0A" && $2 == a { f = 1 } END { exit !f }' \
			/proc/net/tcp && return 0
		sleep 0.05
		i=$((i + 1))
	done
	return 1
}

# The scenario the sidecars load: one service "web" (what nginx is) with
# one instance, and load clients whose only use here is to declare the
# routes the sidecars accept ("/", "/upload", "/big"); client "c" is pod 1.
live_write_web_scenario() {
	cat >"$1" <<'J'
{
  "name": "interop",
  "duration": "1h",
  "services": { "web": { "replicas": 1 } },
  "mesh": { "web": { "timeout": "10s" } },
  "load": [
    { "name": "c", "to": "web", "path": "/", "rps": 1 },
    { "name": "up", "to": "web", "path": "/upload", "method": "PUT", "rps": 1 },
    { "name": "big", "to": "web", "path": "/big", "rps": 1 }
  ]
}
J
}

# Start nginx in directory $1 on $2:$3 (no root paths: pid, logs and temp
# files in $1). Its access log, $1/access.log, shows what reached it:
# status, bytes of the request, and the headers the tests look for.
live_start_nginx() {
	dir=$1
	mkdir -p "$dir/www" "$dir/tmp"
	# 64 KiB of known bytes to serve, and a small page.
	head -c 65536 /dev/urandom >"$dir/www/big"
	printf 'hello from nginx\n' >"$dir/www/index.html"
	user=""
	[ "$(id -u)" -eq 0 ] && user="user root;"
	cat >"$dir/nginx.conf" <<N
$user
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections 1024; }
http {
    log_format meshsim '\$request_method \$uri \$status len=\$request_length '
        'rid=\$http_x_request_id foo=\$http_x_foo te=\$http_te '
        'ka=\$http_keep_alive conn=\$http_connection up=\$http_upgrade '
        'tenc=\$http_transfer_encoding';
    access_log $dir/access.log meshsim;
    client_body_temp_path $dir/tmp/body;
    proxy_temp_path $dir/tmp/proxy;
    fastcgi_temp_path $dir/tmp/fastcgi;
    uwsgi_temp_path $dir/tmp/uwsgi;
    scgi_temp_path $dir/tmp/scgi;
    keepalive_requests 100000;
    server {
        listen $2:$3;
        root $dir/www;
        # PUT writes the body to www/upload (nginx's DAV module): what
        # arrived can be compared byte for byte.
        location = /upload {
            dav_methods PUT;
            client_max_body_size 64m;
        }
        location = /small { return 200 "ok\n"; }
    }
}
N
	nginx -e "$dir/error.log" -p "$dir" -c "$dir/nginx.conf" -g 'daemon off;' \
		>"$dir/nginx.out" 2>&1 &
	LIVE_LIB_PIDS="$LIVE_LIB_PIDS $!"
	live_wait_listen "$2" "$3"
}

# Start a sidecar: live_start_sidecar SCENARIO NET POD LOG [--app HOST:PORT].
live_start_sidecar() {
	scn=$1 net=$2 pod=$3 log=$4
	shift 4
	"$MESHSIM" agent sidecar "$scn" --net "$net" --pod "$pod" "$@" >"$log" 2>&1 &
	LIVE_LIB_LAST=$!
	LIVE_LIB_PIDS="$LIVE_LIB_PIDS $!"
	ip="127.$net.0.$((pod + 1))"
	live_wait_listen "$ip" 15000 || return 1
	i=0
	while [ $i -lt 100 ]; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' "http://$ip:15000/ready")" = 200 ] && break
		sleep 0.05
		i=$((i + 1))
	done
	# The run's time origin: now.
	t0=$(python3 -c 'import time; print(time.monotonic_ns())')
	[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST "http://$ip:15000/start?t0=$t0")" = 200 ]
}

# Stop process $1 (one of ours) with SIGTERM, as an orchestrator does;
# its exit status (124: still running after 3 s, then killed).
live_stop() {
	kill -TERM "$1" 2>/dev/null
	i=0
	while kill -0 "$1" 2>/dev/null && [ $i -lt 60 ]; do
		# A zombie is done: wait collects it.
		[ "$(sed 's/^.*) //' "/proc/$1/stat" 2>/dev/null | cut -c1)" = Z ] && break
		sleep 0.05
		i=$((i + 1))
	done
	if [ $i -ge 60 ]; then
		kill -KILL "$1" 2>/dev/null
		wait "$1" 2>/dev/null
		return 124
	fi
	wait "$1"
}

# Kill what the helpers started; wait for them.
live_lib_cleanup() {
	for p in $LIVE_LIB_PIDS; do
		kill -TERM "$p" 2>/dev/null
	done
	sleep 0.3
	for p in $LIVE_LIB_PIDS; do
		kill -KILL "$p" 2>/dev/null
		wait "$p" 2>/dev/null
	done
	LIVE_LIB_PIDS=""
}
