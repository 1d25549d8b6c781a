#!/usr/bin/env bash
# Times the console's user list on 100,000 seeded users: first page, a search, a filtered and
# sorted page, and a deep page, each with wrk for a few seconds on loopback.
# Usage: bench/admin-list.sh [path/to/release/shoestring] [sqlite|postgres-url]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"
USERS="${USERS:-100000}"
SECONDS_EACH="${SECONDS_EACH:-5}"

bench_serve --users "$USERS" --posts 100 --password "admin list bench"
COOKIE="$(bench_login "$(printf 'user%0*d' "$(( ${#USERS} > 4 ? ${#USERS} : 4 ))" 1)" "admin list bench")"

echo "users: $USERS, database: ${DATABASE_URL%%:*}, wrk -t1 -c4 -d${SECONDS_EACH}s per page"
printf "%-55s %10s %10s %10s\n" "page" "req/s" "p50" "p99"
for path in "/admin/users/" "/admin/users/?q=user0424" "/admin/users/?active=yes&staff=no&sort=username&page=2" \
  "/admin/users/?page=2000" "/admin/users/?sort=last_login&page=3999"; do
  out="$(wrk -t1 -c4 -d"${SECONDS_EACH}s" --latency -H "Cookie: $COOKIE" "$BASE$path")"
  status="$(curl -s -o /dev/null -w '%{http_code}' -H "Cookie: $COOKIE" "$BASE$path")"
  [ "$status" = 200 ] || { echo "$path answered $status" >&2; exit 1; }
  rps="$(awk '/Requests\/sec/ { print $2 }' <<<"$out")"
  p50="$(awk '$1 == "50%" { print $2 }' <<<"$out")"
  p99="$(awk '$1 == "99%" { print $2 }' <<<"$out")"
  printf '%-55s %10s %10s %10s\n' "$path" "$rps" "$p50" "$p99"
done
