#!/usr/bin/env bash
# nginx (Debian's) as the load balancer in front of several recorder-server nodes.
#   tests/services/nginx.sh start DIR PORT HOST:PORT...   listens on 127.0.0.1:PORT (0: a free
#                                    port) and spreads requests round robin over the upstreams;
#                                    writes DIR/env (LB_URL, LB_PORT, LB_PID), which it also prints
#   tests/services/nginx.sh stop DIR stops the nginx it started there; safe to run again
#
# Everything lives in DIR: nginx.conf, nginx.pid, error.log, access.log (with the upstream that
# answered each request) and the temporary folders; nothing under /etc/nginx or /var is read or
# written (Debian's nginx.service, if it runs, is another nginx). The workers run as the current
# user.
#
# What the configuration decides, and why (see the comments in it): round robin with HTTP/1.1
# keep-alive to the nodes; a node that refuses the connection (dead) is skipped and the request goes
# to the next one; a request whose body was already sent to a node that then failed is NOT sent
# again (a PATCH is not idempotent: the recorder asks HEAD and resumes, through the balancer, on a
# live node); bodies up to the server's 64 MiB PATCH limit; X-Forwarded-For and -Proto.
set -euo pipefail

usage() { echo "usage: $0 start DIR PORT HOST:PORT... | stop DIR" >&2; exit 2; }
(($# >= 2)) || usage
cmd=$1
dir=$2

# Whether process $1 still runs: exists and is not a zombie (nginx's master is a child of init,
# and an init that reaps late leaves it a zombie for a while).
alive() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  [[ ${stat:0:1} != Z ]]
}

# The pid in DIR/nginx.pid, if that process is still the nginx master started with DIR's config.
running_pid() {
  local pid
  pid=$(cat "$dir/nginx.pid" 2>/dev/null) || return 1
  [[ $pid =~ ^[0-9]+$ ]] && alive "$pid" || return 1
  tr '\0' ' ' 2>/dev/null <"/proc/$pid/cmdline" | grep -qF "$dir/nginx.conf" || return 1
  echo "$pid"
}

stop() {
  local pid workers p cmdline
  if pid=$(running_pid); then
    workers=$(pgrep -P "$pid" || true)
    # QUIT: graceful (requests in flight finish); KILL to the master and its workers if that takes
    # more than 5 s.
    kill -QUIT "$pid" 2>/dev/null || true
    for _ in $(seq 50); do
      alive "$pid" || break
      sleep 0.1
    done
    for p in $pid $workers; do
      alive "$p" || continue
      # Still ours: the master names the config, a worker is "nginx: worker process".
      cmdline=$(tr '\0' ' ' 2>/dev/null <"/proc/$p/cmdline") || continue
      if [[ $cmdline == *"$dir/nginx.conf"* || $cmdline == "nginx: worker"* ]]; then
        kill -KILL "$p" 2>/dev/null || true
      fi
    done
  fi
  rm -f "$dir/env" "$dir/nginx.pid"
}

free_port() {
  /usr/bin/python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

start() {
  local port=$1
  shift
  (($# >= 1)) || usage
  [[ -x /usr/sbin/nginx ]] || { echo "nginx.sh: nginx is not installed (Debian's nginx): run toolchains/setup.sh" >&2; exit 1; }
  mkdir -p "$dir"
  dir=$(cd "$dir" && pwd)
  stop
  rm -rf "$dir/tmp"
  mkdir -p "$dir/tmp"
  [[ $port == 0 ]] && port=$(free_port)
  local servers='' upstream
  for upstream in "$@"; do
    [[ $upstream =~ ^[^[:space:]\;]+:[0-9]+$ ]] || { echo "nginx.sh: upstream must be HOST:PORT, got '$upstream'" >&2; exit 2; }
    # max_fails=1 fail_timeout=5s: a node that refused a connection (or timed out) gets no
    # requests for 5 s, then one to see whether it is back.
    servers+="    server $upstream max_fails=1 fail_timeout=5s;"$'\n'
  done
  local user_line=''
  # Only a master started by root switches its workers to `user` (else nginx warns): as root,
  # they stay root, like the master, so they can use DIR.
  [[ $EUID == 0 ]] && user_line="user $(id -un) $(id -gn);"

  cat >"$dir/nginx.conf" <<EOF
# Written by tests/services/nginx.sh; regenerated at each start.
$user_line
worker_processes auto;
pid $dir/nginx.pid;
error_log $dir/error.log warn;

events {
  worker_connections 1024;  # client and node connections together, per worker
}

http {
  server_tokens off;
  log_format upstreams '\$remote_addr [\$time_local] "\$request" \$status \$body_bytes_sent '
                       'upstream=\$upstream_addr upstream_status=\$upstream_status time=\$request_time';
  access_log $dir/access.log upstreams;
  client_body_temp_path $dir/tmp/body;
  proxy_temp_path $dir/tmp/proxy;
  fastcgi_temp_path $dir/tmp/fastcgi;
  uwsgi_temp_path $dir/tmp/uwsgi;
  scgi_temp_path $dir/tmp/scgi;

  upstream recorder {
    # Round robin (nginx's default): with the shared spool any node takes any request, including
    # an upload's next PATCH, so no affinity is needed.
$servers
    # Idle HTTP/1.1 connections kept open to the nodes (per worker), so a PATCH a second per
    # recorder does not pay a TCP handshake each. Closed after 5 s idle: before the server's own
    # idle timeout (--keep-alive-seconds, 10), or nginx could send a PATCH on a connection the node
    # is closing, which it may not retry (below) and the client would see as 502.
    keepalive 32;
    keepalive_timeout 5s;
  }

  # Behind the balancer every node sees one peer address, nginx's, so its per-address connection
  # limit (--max-connections-per-address) would count all candidates together: the cluster turns
  # it off on the nodes and it holds here, per client address, with the server's default of 64.
  limit_conn_zone \$binary_remote_addr zone=per_address:10m;

  server {
    listen 127.0.0.1:$port;
    limit_conn per_address 64;
    limit_conn_status 503;

    # The server's largest request: a tus PATCH of --max-request-bytes (64 MiB). Larger bodies are
    # refused here with 413 before anything reaches a node.
    client_max_body_size 64m;

    # Request bodies are buffered (proxy_request_buffering on, nginx's default): nginx reads the
    # whole PATCH from the candidate first, and only then opens (or reuses) a connection to a node
    # and sends it at LAN speed. The server holds one thread per connection, so a candidate on a
    # slow uplink occupies a node's thread only for milliseconds, and a body cut off mid-way never
    # reaches a node. The node buffers the body in memory anyway (to check its checksum before
    # writing), so nothing is gained by streaming it through. Bodies up to 1 MiB (a recorder's
    # chunk is about one second, tens of kB) stay in memory; larger ones go to DIR/tmp/body.
    proxy_request_buffering on;
    client_body_buffer_size 1m;

    # Responses are buffered in memory only: a JSON answer frees the node's connection at once,
    # while a recording downloaded or played by HR (with Range) is streamed at the client's pace
    # through the buffers instead of being copied to this machine's disk first (which nginx would
    # do for up to 1 GiB by default).
    proxy_buffering on;
    proxy_buffers 16 64k;
    proxy_max_temp_file_size 0;

    location / {
      proxy_pass http://recorder;
      proxy_http_version 1.1;
      proxy_set_header Connection "";  # keep-alive to the node, whatever the client asked
      # The address the browser used: the HR API's CSRF check compares Origin with Host.
      proxy_set_header Host \$http_host;
      proxy_set_header X-Forwarded-For \$proxy_add_x_forwarded_for;
      # http here; a TLS listener would send https, which makes the HR cookies Secure.
      proxy_set_header X-Forwarded-Proto \$scheme;

      # A dead node refuses the connection (or does not answer it within 3 s): the request goes
      # to the next node. Only failures before the request was sent are retried for POST and
      # PATCH (no non_idempotent here): a PATCH that reached a node which died before answering
      # may have been stored there, and sending it again elsewhere is the client's decision (it
      # asks HEAD for the offset and resumes, as tus intends).
      proxy_connect_timeout 3s;
      proxy_next_upstream error timeout;
      proxy_next_upstream_timeout 15s;
      # The node's request deadline is 60 s (--request-timeout-seconds); a node that does not
      # answer within 75 s is treated as failed.
      proxy_send_timeout 75s;
      proxy_read_timeout 75s;
    }
  }
}
EOF

  local errors
  if ! errors=$(/usr/sbin/nginx -p "$dir/" -c "$dir/nginx.conf" -e "$dir/error.log" 2>&1); then
    echo "nginx.sh: nginx did not start: $errors" >&2
    tail -n 20 "$dir/error.log" >&2 2>/dev/null || true
    stop
    exit 1
  fi
  local pid='' url=http://127.0.0.1:$port code=000
  for _ in $(seq 100); do
    pid=$(running_pid) || pid=''
    # Any HTTP answer will do (502 while no node is up yet): nginx listens.
    [[ -n $pid ]] && code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 2 "$url/healthz" || true)
    [[ -n $pid && $code != 000 ]] && break
    sleep 0.1
  done
  if [[ -z $pid || $code == 000 ]]; then
    echo "nginx.sh: nginx did not answer on $url; $dir/error.log:" >&2
    tail -n 20 "$dir/error.log" >&2 2>/dev/null || true
    stop
    exit 1
  fi
  cat >"$dir/env" <<EOF
LB_URL=$url
LB_PORT=$port
LB_PID=$pid
EOF
  cat "$dir/env"
}

case $cmd in
  start)
    (($# >= 4)) || usage
    start "${@:3}"
    ;;
  stop)
    [[ -d $dir ]] || exit 0
    dir=$(cd "$dir" && pwd)
    stop
    ;;
  *) usage ;;
esac
