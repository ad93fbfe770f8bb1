#!/usr/bin/env bash
# The reference deployment on this machine: PostgreSQL, two Latch instances (release
# build) on 127.0.0.1:3011 and :3012, nginx in front on 127.0.0.1:8080.
#
#   deploy/cluster.sh run     start everything, stop it all on Ctrl-C (make cluster)
#   deploy/cluster.sh start   start everything in the background (make test-cluster)
#   deploy/cluster.sh stop    stop whatever is running
#
# CLUSTER_DIR (default /tmp/latch-cluster) holds the database, logs and pid files;
# extra settings for the instances can be passed in the environment (say
# ACCESS_TOKEN_LIFETIME=2).
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${CLUSTER_DIR:-/tmp/latch-cluster}
PG_PORT=${CLUSTER_PG_PORT:-25452}
DB_URL="postgres://latch@127.0.0.1:$PG_PORT/latch"
NGINX="nginx -p $DIR/nginx/ -c $PWD/deploy/nginx/cluster.conf"

wait_for() { # url, what
  for _ in $(seq 100); do
    if curl -fsS -o /dev/null "$1"; then return 0; fi
    sleep 0.1
  done
  echo "cluster: $2 did not answer at $1" >&2
  return 1
}

start() {
  mkdir -p "$DIR/nginx/tmp"
  chmod 1777 "$DIR/nginx/tmp" # nginx's workers may run as nobody
  make --no-print-directory pg-start PG_PORT="$PG_PORT" PG_DIR="$DIR/pg"
  local psql
  psql="$(ls -d /usr/lib/postgresql/*/bin | sort | tail -n1)/psql"
  "$psql" "postgres://latch@127.0.0.1:$PG_PORT/postgres" -tAc "SELECT 1 FROM pg_database WHERE datname = 'latch'" |
    grep -q 1 || "$psql" "postgres://latch@127.0.0.1:$PG_PORT/postgres" -qc "CREATE DATABASE latch"
  for i in 1 2; do
    DATABASE_URL="$DB_URL" LEPTOS_SITE_ADDR="127.0.0.1:301$i" LEPTOS_ENV=PROD LEPTOS_SITE_ROOT=target/site \
      TRUSTED_PROXIES=127.0.0.1 PUBLIC_ORIGIN=http://localhost:8080 \
      ./target/release/latch >"$DIR/latch$i.log" 2>&1 &
    echo $! >"$DIR/latch$i.pid"
  done
  wait_for http://127.0.0.1:3011/healthz "instance 1"
  wait_for http://127.0.0.1:3012/healthz "instance 2"
  $NGINX
  wait_for http://127.0.0.1:8080/healthz nginx
  echo "cluster: nginx on http://localhost:8080 → latch on :3011 and :3012 → PostgreSQL on :$PG_PORT (logs in $DIR)"
}

stop() {
  if [ -f "$DIR/nginx/nginx.pid" ]; then $NGINX -s quit 2>/dev/null || true; fi
  for i in 1 2; do
    if [ -f "$DIR/latch$i.pid" ]; then kill "$(cat "$DIR/latch$i.pid")" 2>/dev/null || true; rm -f "$DIR/latch$i.pid"; fi
  done
  make --no-print-directory pg-stop PG_PORT="$PG_PORT" PG_DIR="$DIR/pg"
  echo "cluster: stopped"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  run)
    trap stop EXIT
    trap 'exit 0' INT TERM
    start
    echo "cluster: Ctrl-C stops it all"
    while sleep 3600; do :; done
    ;;
  *) echo "usage: deploy/cluster.sh run|start|stop" >&2; exit 2 ;;
esac
