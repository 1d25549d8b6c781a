#!/usr/bin/env bash
# Times the console's user list on 100,000 seeded users: first page, a search, a filtered and
# sorted page, and a deep page, each with wrk for a few seconds on loopback.
# Usage: bench/admin-list.sh [path/to/release/shoestring] [sqlite|postgres-url]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
BIN="$(realpath "${1:-$ROOT/target/release/shoestring}")"
WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
export DATABASE_URL="${2:-sqlite://$WORK/admin.db}" MEDIA_DIR="$WORK/media" BIND="127.0.0.1:$PORT"
export RUST_LOG=warn RATE_LIMITS=false RUN_WORKER=false
USERS="${USERS:-100000}"
SECONDS_EACH="${SECONDS_EACH:-5}"

(cd "$WORK" && "$BIN" seed --users "$USERS" --posts 100 --images 0 --password "admin list bench" --replace >/dev/null)
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$PORT/" >/dev/null 2>&1 && break; sleep 0.1; done
USER1="$(printf 'user%0*d' "$(( ${#USERS} > 4 ? ${#USERS} : 4 ))" 1)"
COOKIE="$(curl -fsS -c - -o /dev/null -H 'content-type: application/json' \
  -d "{\"username\": \"$USER1\", \"password\": \"admin list bench\"}" "http://127.0.0.1:$PORT/api/login/" \
  | awk '$6 == "sessionid" { print "sessionid=" $7 }')"

echo "users: $USERS, database: ${DATABASE_URL%%:*}, wrk -t1 -c4 -d${SECONDS_EACH}s per page"
printf "%-55s %10s %10s %10s\n" "page" "req/s" "p50" "p99"
for path in "/admin/users/" "/admin/users/?q=user0424" "/admin/users/?active=yes&staff=no&sort=username&page=2" \
  "/admin/users/?page=2000" "/admin/users/?sort=last_login&page=3999"; do
  out="$(wrk -t1 -c4 -d"${SECONDS_EACH}s" --latency -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path")"
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "http://127.0.0.1:$PORT$path")"
  [ "$status" = 200 ] || { echo "$path answered $status" >&2; exit 1; }
  rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  printf '%-55s %10s %10s %10s\n' "$path" "$rps" "$p50" "$p99"
done
