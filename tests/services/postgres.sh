#!/usr/bin/env bash
# A throw-away PostgreSQL 15 cluster for the tests: `start DIR` creates it in DIR (initdb, trust
# authentication, Unix socket only, so no TCP port can collide) and writes DIR/env with
#   RECORDER_TEST_POSTGRES=<libpq URL of the superuser "recorder" on the database "recorder">
# `start DIR durable` keeps fsync on (for benchmarks). `stop DIR` stops it and removes DIR. Both
# are safe to run again. PostgreSQL refuses to run as root, so under root the cluster belongs to
# the `postgres` user that Debian's package creates.
set -euo pipefail

action=${1:?usage: postgres.sh start|stop DIR}
dir=${2:?usage: postgres.sh start|stop DIR}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1)
[[ -x $bin/initdb ]] || { echo "PostgreSQL server not installed (postgresql-15): run toolchains/setup.sh" >&2; exit 1; }

as_owner() {
  if [[ $EUID == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

stop() {
  if [[ -f $dir/data/postmaster.pid ]]; then
    as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  fi
  rm -rf "$dir"
}

case $action in
  start)
    stop
    mkdir -p "$dir"
    [[ $EUID == 0 ]] && chown postgres: "$dir"
    # --no-sync and fsync=off: a test cluster that a crash may lose; the tests kill the recorder
    # servers, never PostgreSQL. Benchmarks ask for a durable one.
    fsync=off
    [[ ${3:-} == durable ]] && fsync=on
    as_owner "$bin/initdb" -D "$dir/data" -U recorder -A trust --no-sync -E UTF8 --locale=C.UTF-8 >"$dir/initdb.log"
    as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 \
      -o "-c listen_addresses='' -k $dir -p 5432 -c fsync=$fsync -c max_connections=200" start >/dev/null
    as_owner "$bin/createdb" -h "$dir" -p 5432 -U recorder recorder
    echo "RECORDER_TEST_POSTGRES=postgresql:///recorder?host=$dir&port=5432&user=recorder" >"$dir/env"
    ;;
  stop) stop ;;
  *) echo "usage: postgres.sh start|stop DIR" >&2; exit 2 ;;
esac
