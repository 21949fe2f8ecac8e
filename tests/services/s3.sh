#!/usr/bin/env bash
# A throw-away S3-compatible server for tests: OpenStack Swift (Debian's swift-proxy,
# swift-account, swift-container, swift-object) with its s3api middleware and tempauth.
#   tests/services/s3.sh start DIR   starts it with all state in DIR, creates the bucket and writes
#                                    DIR/env (S3_ENDPOINT, S3_REGION, S3_BUCKET, AWS_ACCESS_KEY_ID,
#                                    AWS_SECRET_ACCESS_KEY), which it also prints
#   tests/services/s3.sh stop DIR    stops every process it started there; safe to run again
#   tests/services/s3.sh restart DIR starts a stopped one again with its objects, ports and key
#                                    (for tests of an outage)
#
# Why Swift and not Ceph's radosgw: Swift is four plain WSGI processes over a folder (no cluster to
# bootstrap: no monitor quorum, keyrings, manager or OSD to format), it runs as the current user
# on any free port and is up in a few seconds; a single-node Ceph needs a mon, a mgr and an OSD
# (bluestore on a file) before radosgw answers, which takes far longer and needs far more memory.
#
# Swift reads /etc/swift/swift.conf unless told otherwise, and only its recon tool can be told;
# each server is started through a two-line launcher that points Swift at DIR/etc first, so
# nothing outside DIR is read or written. The S3 access key is tempauth's "account:user".
set -euo pipefail

usage() { echo "usage: $0 start|stop|restart DIR" >&2; exit 2; }
(($# == 2)) || usage
cmd=$1
dir=$2
region=us-east-1
bucket=recorder-test
# Debian's own Python, which has the swift package (a python3 earlier in PATH may not).
python=/usr/bin/python3

stop() {
  [[ -f $dir/pids ]] || return 0
  local pid
  while read -r pid; do
    # Only a process we started: its command line still names this folder.
    if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/etc"; then
      kill "$pid" 2>/dev/null || true
    fi
  done <"$dir/pids"
  for _ in $(seq 50); do
    local alive=0
    while read -r pid; do
      if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/etc"; then alive=1; fi
    done <"$dir/pids"
    ((alive)) || break
    sleep 0.1
  done
  while read -r pid; do
    if [[ -r /proc/$pid/cmdline ]] && tr '\0' ' ' <"/proc/$pid/cmdline" | grep -qF "$dir/etc"; then
      kill -9 "$pid" 2>/dev/null || true
    fi
  done <"$dir/pids"
  rm -f "$dir/pids" "$dir/env"  # no server, no env file: tests run by hand then skip
}

free_port() {
  "$python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local started=$SECONDS
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  stop
  rm -rf "$dir/etc" "$dir/srv" "$dir/log" "$dir/env"
  mkdir -p "$dir/etc" "$dir/srv/d1" "$dir/log"
  local etc=$dir/etc user secret
  user=$(id -un)
  secret=$("$python" -c 'import secrets; print(secrets.token_hex(16))')
  declare -A port
  local server
  for server in proxy account container object; do port[$server]=$(free_port); done

  cat >"$etc/swift.conf" <<EOF
[swift-hash]
swift_hash_path_suffix = $("$python" -c 'import secrets; print(secrets.token_hex(8))')
[storage-policy:0]
name = default
default = yes
EOF
  for server in account container object; do
    cat >"$etc/$server-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port[$server]}
workers = 0
user = $user
swift_dir = $etc
devices = $dir/srv
mount_check = false
log_level = WARNING
[pipeline:main]
pipeline = $server-server
[app:$server-server]
use = egg:swift#$server
EOF
  done
  # The rings: one partition, one copy, one device each; built in one Python process (nine runs
  # of swift-ring-builder took 7 of the 12 s the start took).
  "$python" -c '
import sys
from swift.common.ring import RingBuilder
for server, port in zip(("account", "container", "object"), sys.argv[2:5]):
    builder = RingBuilder(0, 1, 1)
    builder.add_dev({"id": 0, "region": 1, "zone": 1, "ip": "127.0.0.1", "port": int(port),
                     "device": "d1", "weight": 1})
    builder.rebalance()
    builder.get_ring().save("%s/%s.ring.gz" % (sys.argv[1], server))
' "$etc" "${port[account]}" "${port[container]}" "${port[object]}"
  # s3api before tempauth (it turns the S3 signature into tempauth's check); slo for multipart
  # uploads; memcache is required by tempauth, and works (as a miss) without a memcached.
  cat >"$etc/proxy-server.conf" <<EOF
[DEFAULT]
bind_ip = 127.0.0.1
bind_port = ${port[proxy]}
workers = 0
user = $user
swift_dir = $etc
log_level = WARNING
[pipeline:main]
pipeline = catch_errors gatekeeper healthcheck proxy-logging cache listing_formats s3api tempauth copy slo dlo proxy-logging proxy-server
[app:proxy-server]
use = egg:swift#proxy
account_autocreate = true
[filter:s3api]
use = egg:swift#s3api
location = $region
# BUCKET.localhost:PORT addresses a bucket in the host name (virtual-host style; curl resolves
# *.localhost to the loopback address itself).
storage_domain = localhost
[filter:tempauth]
use = egg:swift#tempauth
user_test_tester = $secret .admin
[filter:catch_errors]
use = egg:swift#catch_errors
[filter:gatekeeper]
use = egg:swift#gatekeeper
[filter:healthcheck]
use = egg:swift#healthcheck
[filter:proxy-logging]
use = egg:swift#proxy_logging
[filter:cache]
use = egg:swift#memcache
memcache_servers = 127.0.0.1:1
[filter:listing_formats]
use = egg:swift#listing_formats
[filter:copy]
use = egg:swift#copy
[filter:slo]
use = egg:swift#slo
[filter:dlo]
use = egg:swift#dlo
EOF

  echo "$secret" >"$etc/secret"
  chmod 600 "$etc/secret"
  launch create
  echo "s3.sh: Swift s3api up in $((SECONDS - started)) s" >&2
}

# launch create|reuse: starts the four servers of DIR/etc, waits until the bucket answers (creating
# it first), then writes DIR/env.
launch() {
  local etc=$dir/etc server secret
  secret=$(cat "$etc/secret")
  local launcher='import sys
from swift.common import utils, wsgi
utils.set_swift_dir(sys.argv[1])
sys.exit(wsgi.run_wsgi(sys.argv[2], sys.argv[3], verbose=True))'
  for server in account container object proxy; do
    setsid "$python" -c "$launcher" "$etc" "$etc/$server-server.conf" "$server-server" \
      >>"$dir/log/$server.log" 2>&1 </dev/null &
    echo $! >>"$dir/pids"
  done

  local endpoint up=0 proxy_pid=$!
  endpoint=http://127.0.0.1:$(sed -n 's/^bind_port = //p' "$etc/proxy-server.conf")
  for _ in $(seq 600); do
    if curl -sf "$endpoint/healthcheck" >/dev/null 2>&1; then up=1; break; fi
    kill -0 "$proxy_pid" 2>/dev/null || break
    sleep 0.1
  done
  if ((!up)); then
    echo "s3.sh: the Swift proxy did not answer within 60 s; logs in $dir/log" >&2
    tail -n 20 "$dir"/log/*.log >&2
    stop
    exit 1
  fi
  # The bucket (or, when reused, a HEAD on it); the account behind it is created at the first
  # request (account_autocreate), and the other servers may still be binding their ports, so a
  # few tries.
  local code= method=(-X PUT)
  [[ $1 == reuse ]] && method=(--head)
  for _ in $(seq 100); do
    code=$(curl -s -o "$dir/log/bucket-answer.xml" -w '%{http_code}' "${method[@]}" --aws-sigv4 "aws:amz:$region:s3" \
      -H "x-amz-content-sha256: UNSIGNED-PAYLOAD" --netrc-file <(printf 'machine 127.0.0.1 login test:tester password %s\n' "$secret") \
      "$endpoint/$bucket" || true)
    [[ $code == 200 ]] && break
    sleep 0.1
  done
  if [[ $code != 200 ]]; then
    echo "s3.sh: ${method[*]} on bucket $bucket answered $code: $(cat "$dir/log/bucket-answer.xml" 2>/dev/null)" >&2
    tail -n 20 "$dir"/log/*.log >&2
    stop
    exit 1
  fi
  cat >"$dir/env" <<EOF
S3_ENDPOINT=$endpoint
S3_REGION=$region
S3_BUCKET=$bucket
AWS_ACCESS_KEY_ID=test:tester
AWS_SECRET_ACCESS_KEY=$secret
EOF
  chmod 600 "$dir/env"
  cat "$dir/env"
}

case $cmd in
  start) start ;;
  stop)
    [[ -d $dir ]] || exit 0
    dir=$(cd "$dir" && pwd)
    stop
    ;;
  restart)
    [[ -d $dir ]] && dir=$(cd "$dir" && pwd)
    [[ -f $dir/etc/secret ]] || { echo "s3.sh: nothing was started in $dir" >&2; exit 1; }
    stop
    launched=$SECONDS
    launch reuse
    echo "s3.sh: Swift s3api up again in $((SECONDS - launched)) s" >&2
    ;;
  *) usage ;;
esac
