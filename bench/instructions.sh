#!/usr/bin/env bash
# Instructions per request, counted by callgrind: deterministic where CPU time on a
# shared 2-core machine varies by ±10 % from run to run. The release build under
# valgrind on a fresh SQLite database (port 3400); wrk at concurrency 4 for 8 s on each
# of: / anonymous, / signed in, /profile signed in, POST /api/current_user signed in.
# Needs valgrind and wrk (Debian packages). Run `make release` first.
# Under valgrind the CPU has no SHA extensions, so HS256 costs several times what it
# does natively (sha2 falls back to software): judge the token path by benches/.
set -euo pipefail
cd "$(dirname "$0")/.."
dir=$(mktemp -d)
port=3400
base=http://127.0.0.1:$port
LEPTOS_ENV=PROD LEPTOS_SITE_ROOT=target/site LEPTOS_SITE_ADDR=127.0.0.1:$port RUST_LOG=warn \
  PUBLIC_ORIGIN=http://localhost:$port DATABASE_URL=sqlite://$dir/latch.db OUTBOX_DIR=$dir/outbox \
  ACCESS_TOKEN_LIFETIME=3600 \
  valgrind --tool=callgrind --callgrind-out-file="$dir/cg.%p" ./target/release/latch >"$dir/log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null; wait $server 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 120); do
  curl -sf $base/healthz >/dev/null && break
  kill -0 $server 2>/dev/null || { echo "the server did not start:"; cat "$dir/log"; exit 1; }
  sleep 0.5
done

access=$(curl -s -D - -o /dev/null -H 'Accept: application/json' --data 'username=bench&password=correct+horse+battery' \
  $base/api/register | sed -n 's/^set-cookie: jwt_access=\([^;]*\);.*/\1/Ip')
cat >"$dir/post.lua" <<LUA
wrk.method = "POST"
wrk.headers["Cookie"] = "jwt_access=$access"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Accept"] = "application/json"
LUA
# Warm up: first renders fill caches that later requests reuse.
for _ in $(seq 30); do curl -s -o /dev/null $base/; curl -s -o /dev/null -H "Cookie: jwt_access=$access" $base/profile; done

echo "| request | requests | instructions per request |"
echo "| --- | ---: | ---: |"
measure() {
  local name=$1; shift
  callgrind_control -z $server >/dev/null 2>&1
  local n; n=$(wrk -t1 -c4 -d8s "$@" | awk '/requests in/{print $1}')
  callgrind_control -d "$name" $server >/dev/null 2>&1
  [ "${n:-0}" -gt 0 ] || { echo "| $name | no answer | |"; return; }
  local file; file=$(ls -t "$dir"/cg.*.* | head -1)
  printf '| %s | %d | %d |\n' "$name" "$n" $(( $(awk '/^summary/{print $2}' "$file") / n ))
}
measure "GET / anonymous" $base/
measure "GET / signed in" -H "Cookie: jwt_access=$access" $base/
measure "GET /profile signed in" -H "Cookie: jwt_access=$access" $base/profile
measure "POST /api/current_user signed in" -s "$dir/post.lua" $base/api/current_user
