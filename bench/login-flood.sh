#!/usr/bin/env bash
# Does a login flood starve everything else? Measures S2 (GET /api/profile/ with a session
# cookie, wrk -t1 -c32) alone, then while S5 (POST /api/login/, wrk -t1 -c8, argon2id at the
# OWASP parameters) runs at the same time, on the benchmark's seed data; three rounds of each,
# medians. Rate limits are off, so every login attempt reaches the password hasher.
# Usage: bench/login-flood.sh [path/to/release/shoestring] [sqlite|postgres-url]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"
SECONDS_EACH="${SECONDS_EACH:-10}"
ROUNDS="${ROUNDS:-3}"
PASSWORD="flood bench password"

bench_serve --users 1000 --posts 10000 --password "$PASSWORD"
COOKIE="$(bench_login user0001 "$PASSWORD")"
cat >"$WORK/login.lua" <<LUA
wrk.method = "POST"
wrk.body = '{"username": "user0002", "password": "$PASSWORD"}'
wrk.headers["Content-Type"] = "application/json"
LUA

s2() { wrk -t1 -c32 -d"${SECONDS_EACH}s" --latency -H "Cookie: $COOKIE" "$BASE/api/profile/"; }
s5() { wrk -t1 -c8 -d"${SECONDS_EACH}s" --timeout 30s --latency -s "$WORK/login.lua" "$BASE/api/login/"; }
field() { awk -v k="$1" '$1 == k { print $2 }'; }
rate() { awk '/Requests\/sec/ { print $2 }'; }
# wrk prints latencies as 812.00us, 1.20ms or 1.02s; in milliseconds:
ms() { sed -E 's/us$/ 0.001/; s/ms$/ 1/; s/s$/ 1000/' | awk '{ printf "%.2f", $1 * $2 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

wrk -t1 -c32 -d2s -H "Cookie: $COOKIE" "$BASE/api/profile/" >/dev/null
for round in $(seq 1 "$ROUNDS"); do
  quiet="$(s2)"
  s5 >"$WORK/s5.$round" &
  flood="$(s2)"
  wait $!
  echo "$(field 99% <<<"$quiet" | ms) $(rate <<<"$quiet") $(field 99% <<<"$flood" | ms) $(rate <<<"$flood")" \
    "$(rate <"$WORK/s5.$round") $(field 99% <"$WORK/s5.$round" | ms)" >>"$WORK/rounds"
  if grep -q "Non-2xx" "$WORK/s5.$round"; then echo "logins failed:" && cat "$WORK/s5.$round" && exit 1; fi
done

col() { awk -v c="$1" '{ print $c }' "$WORK/rounds" | median; }
echo "database: ${DATABASE_URL%%:*}, $ROUNDS rounds of ${SECONDS_EACH}s, medians"
printf '%-34s %10s %10s\n' "" "p99 ms" "req/s"
printf '%-34s %10s %10s\n' "S2 alone" "$(col 1)" "$(col 2)"
printf '%-34s %10s %10s\n' "S2 during the login flood" "$(col 3)" "$(col 4)"
printf '%-34s %10s %10s\n' "S5 logins during the flood" "$(col 6)" "$(col 5)"
awk -v q="$(col 1)" -v f="$(col 3)" 'BEGIN { printf "S2 p99 under the flood: %.2f x its quiet value\n", f / q }'
