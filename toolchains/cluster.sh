#!/usr/bin/env bash
# Several recorder-server nodes behind a load balancer on this machine, sharing one PostgreSQL
# index and one S3 bucket (the shared spool: any node takes any PATCH of an upload, any node
# finalizes; server/README.md, "Several servers: the shared spool").
#   toolchains/cluster.sh start DIR [NODES] [-- SERVER_FLAGS...]
#       sets up the machine and builds what is missing (as start.sh does), then starts in DIR:
#       a PostgreSQL 15 cluster with fsync on (tests/services/postgres.sh, DIR/pg), an S3 server
#       (tests/services/s3.sh, DIR/s3), NODES recorder-servers (default 3; each with its data
#       folder DIR/node-N, log DIR/node-N.log, a free port, --node-id node-N, the same API key)
#       and nginx in front of them (tests/services/nginx.sh, DIR/lb) on 127.0.0.1:$RECORDER_CLUSTER_PORT
#       (default 8080; 0: a free port). SERVER_FLAGS go to every node. Writes DIR/env (the URL,
#       the API key, the index URL, each node's port, pid and data folder) and prints the URL.
#   toolchains/cluster.sh stop DIR
#       stops everything started in DIR (nginx, the nodes, S3, PostgreSQL, whose cluster goes with
#       it); the nodes' logs and data folders stay. Safe to run again.
# RECORDER_SERVER_BIN: a recorder-server to run as it is, without set-up or build (the tests).
# RECORDER_API_KEY: the host API key (default: a random one, in DIR/env).
# Runs as the current user; as root, DIR is made traversable (o+x) for PostgreSQL, which runs as
# the `postgres` user (tests/services/postgres.sh).
set -euo pipefail

repo=$(cd "$(dirname "$0")/.." && pwd)
services=$repo/tests/services

usage() { echo "usage: $0 start DIR [NODES] [-- SERVER_FLAGS...] | stop DIR" >&2; exit 2; }
(($# >= 2)) || usage
cmd=$1
dir=$2
shift 2

# Whether process $1 still runs: exists and is not a zombie (the nodes and nginx end up children
# of init, and an init that reaps late leaves them as zombies for a while).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# A pid from DIR/env, if that process is still the node started with DIR/node-N.
node_pid() {
  local n=$1 pid
  pid=$(sed -n "s/^NODE_${n}_PID=//p" "$dir/env" 2>/dev/null)
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF -- "--data $dir/node-$n " || return 1
  echo "$pid"
}

stop_nodes() {
  [[ -f $dir/env ]] || return 0
  local count n pid pids=()
  count=$(sed -n 's/^NODES=//p' "$dir/env")
  for ((n = 1; n <= ${count:-0}; n++)); do
    if pid=$(node_pid "$n"); then
      kill -TERM "$pid" 2>/dev/null || true
      kill -CONT "$pid" 2>/dev/null || true  # one stopped (SIGSTOP) by a test
      pids+=("$pid")
    fi
  done
  # A node finishes its requests and jobs at SIGTERM; one that takes over 15 s gets SIGKILL.
  for _ in $(seq 150); do
    local running=0
    for pid in "${pids[@]}"; do alive "$pid" && running=1; done
    ((running)) || break
    sleep 0.1
  done
  for ((n = 1; n <= ${count:-0}; n++)); do
    if pid=$(node_pid "$n"); then
      echo "cluster.sh: node-$n (pid $pid) did not stop within 15 s: SIGKILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
}

stop() {
  "$services/nginx.sh" stop "$dir/lb"
  stop_nodes
  rm -f "$dir/env"
  "$services/s3.sh" stop "$dir/s3"
  "$services/postgres.sh" stop "$dir/pg"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# value NAME FILE: NAME=value from an env file that a service script wrote.
value() { sed -n "s/^$1=//p" "$2"; }

start() {
  local nodes=3
  if (($# > 0)) && [[ $1 != -- ]]; then nodes=$1; shift; fi
  [[ $nodes =~ ^[1-9][0-9]?$ ]] || { echo "cluster.sh: NODES must be 1 to 99, got '$nodes'" >&2; exit 2; }
  if (($# > 0)); then
    [[ $1 == -- ]] || usage
    shift
  fi
  local server_flags=("$@")

  local bin=${RECORDER_SERVER_BIN:-}
  if [[ -z $bin ]]; then
    "$repo/toolchains/setup.sh"
    "$repo/toolchains/build.sh" native wasm-simd wasm-plain
    bin=$repo/build/native/server/recorder-server
  fi
  [[ -x $bin ]] || { echo "cluster.sh: $bin is not an executable recorder-server" >&2; exit 1; }

  local started=$SECONDS
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  stop
  # A fresh cluster: the index and the bucket start empty, so nothing a node kept is valid.
  rm -rf "$dir"/node-*
  [[ $EUID == 0 ]] && chmod o+x "$dir"

  # The services, side by side (Swift takes about 8 s to start, PostgreSQL 2). PostgreSQL
  # durable: a node's acknowledgement is only as good as its commit.
  "$services/postgres.sh" start "$dir/pg" durable &
  local pg_start=$! pg_status=0 s3_status=0
  "$services/s3.sh" start "$dir/s3" >/dev/null || s3_status=$?
  wait "$pg_start" || pg_status=$?
  if ((pg_status || s3_status)); then
    echo "cluster.sh: PostgreSQL (exit $pg_status) or S3 (exit $s3_status) did not start" >&2
    stop
    exit 1
  fi
  local index
  index=$(value RECORDER_TEST_POSTGRES "$dir/pg/env")
  local s3env=$dir/s3/env
  local api_key=${RECORDER_API_KEY:-$(/usr/bin/python3 -c 'import secrets; print(secrets.token_urlsafe(24))')}

  # The nodes, started together (the first to reach PostgreSQL creates the schema under an
  # advisory lock; the others wait for it). Credentials and the API key go through the
  # environment, not flags, which `ps` would show.
  local n port pid ports=() pids=()
  for ((n = 1; n <= nodes; n++)); do
    port=$(free_port)
    mkdir -p "$dir/node-$n"
    # --max-connections-per-address 0: every connection comes from nginx's address; the limit per
    # client address holds in nginx (tests/services/nginx.sh). --trusted-proxies: nginx's
    # X-Forwarded-For names the client, whose failed HR logins are counted per address.
    setsid env AWS_ACCESS_KEY_ID="$(value AWS_ACCESS_KEY_ID "$s3env")" \
      AWS_SECRET_ACCESS_KEY="$(value AWS_SECRET_ACCESS_KEY "$s3env")" \
      AWS_REGION="$(value S3_REGION "$s3env")" RECORDER_API_KEY="$api_key" \
      "$bin" --listen "127.0.0.1:$port" --data "$dir/node-$n" --node-id "node-$n" --web "$repo/web" \
      --index "$index" --media-store s3 --spool shared --s3-endpoint "$(value S3_ENDPOINT "$s3env")" \
      --s3-bucket "$(value S3_BUCKET "$s3env")" --s3-path-style --max-connections-per-address 0 \
      --trusted-proxies 127.0.0.1 \
      "${server_flags[@]}" >>"$dir/node-$n.log" 2>&1 </dev/null &
    ports+=("$port")
    pids+=("$!")
  done
  {
    echo "NODES=$nodes"
    for ((n = 1; n <= nodes; n++)); do
      echo "NODE_${n}_PORT=${ports[n - 1]}"
      echo "NODE_${n}_PID=${pids[n - 1]}"
      echo "NODE_${n}_DATA=$dir/node-$n"
    done
  } >"$dir/env"
  chmod 600 "$dir/env"
  for ((n = 1; n <= nodes; n++)); do
    local up=0
    for _ in $(seq 600); do
      if curl -sf -o /dev/null --max-time 2 "http://127.0.0.1:${ports[n - 1]}/healthz"; then up=1; break; fi
      alive "${pids[n - 1]}" || break
      sleep 0.1
    done
    if ((!up)); then
      echo "cluster.sh: node-$n did not become healthy within 60 s; $dir/node-$n.log:" >&2
      tail -n 20 "$dir/node-$n.log" >&2
      stop
      exit 1
    fi
  done

  local upstreams=()
  for port in "${ports[@]}"; do upstreams+=("127.0.0.1:$port"); done
  if ! "$services/nginx.sh" start "$dir/lb" "${RECORDER_CLUSTER_PORT:-8080}" "${upstreams[@]}" >/dev/null; then
    stop
    exit 1
  fi
  local url
  url=$(value LB_URL "$dir/lb/env")
  {
    echo "URL=$url"
    echo "LB_PID=$(value LB_PID "$dir/lb/env")"
    echo "RECORDER_API_KEY=$api_key"
    echo "RECORDER_INDEX=$index"
  } >>"$dir/env"

  cat <<EOF
cluster.sh: $nodes recorder-servers behind nginx on $url (up in $((SECONDS - started)) s);
  PostgreSQL index $index, S3 bucket $(value S3_BUCKET "$s3env") at $(value S3_ENDPOINT "$s3env")
  host API key: in $dir/env (RECORDER_API_KEY); nodes' logs: $dir/node-N.log; nginx's: $dir/lb/
  an HR admin (asks for the password), then sign in at $url/hr/:
    $bin admin create --data $dir/node-1 --index '$index' --username alice --role admin
  stop: $0 stop $dir
EOF
}

case $cmd in
  start) start "$@" ;;
  stop)
    (($# == 0)) || usage
    [[ -d $dir ]] || exit 0
    dir=$(cd "$dir" && pwd)
    stop
    ;;
  *) usage ;;
esac
