#!/usr/bin/env bash
# CPU instructions the server executes per request, counted by valgrind's callgrind: a figure
# that, unlike req/s on a shared machine, does not move with other load, so two binaries can be
# compared to the percent. The server runs under callgrind with counting off; wrk warms it up,
# then counting is switched on for 10 s of load and off again.
# Usage: bench/instructions.sh BINARY [PATH] [signed-in]   (PATH defaults to /, the landing page;
# `signed-in` sends the session cookie of a seeded user, as S2 does)
# Prints: requests, instructions, instructions per request. A binary with symbols (built with
# CARGO_PROFILE_RELEASE_STRIP=none) lets `callgrind_annotate $WORK/callgrind.out` name the costs.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "${1:-}" ""
TARGET_PATH="${2:-/}"
PASSWORD="instructions bench passphrase"
command -v valgrind >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q valgrind; }
command -v wrk >/dev/null || { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q wrk; }
export METRICS_BIND=off

(cd "$WORK" && "$BIN" seed --users 50 --posts 200 --images 0 --password "$PASSWORD" --replace >/dev/null)
(cd "$WORK" && exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$WORK/callgrind.out" \
  "$BIN" serve >"$WORK/server.log" 2>&1) &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 300); do curl -fsS -o /dev/null "$BASE/" 2>/dev/null && break; sleep 0.2; done
HEADER=()
[ "${3:-}" = signed-in ] && HEADER=(-H "Cookie: $(bench_login user0001 "$PASSWORD")")
status="$(curl -s -o /dev/null -w '%{http_code}' "${HEADER[@]}" "$BASE$TARGET_PATH")"
[ "$status" = 200 ] || { echo "$TARGET_PATH answered $status, not 200" >&2; exit 1; }

wrk -t1 -c8 -d3s "${HEADER[@]}" "$BASE$TARGET_PATH" >/dev/null
callgrind_control -i on "$SERVER" >/dev/null
requests="$(wrk -t1 -c8 -d10s "${HEADER[@]}" "$BASE$TARGET_PATH" | awk '/requests in/ {print $1}')"
callgrind_control -i off "$SERVER" >/dev/null
# The counts are written when the server exits.
kill -INT "$SERVER"
wait "$SERVER" 2>/dev/null || true
instructions="$(callgrind_annotate "$WORK/callgrind.out" | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1}')"
echo "$TARGET_PATH: $requests requests, $instructions instructions, $((instructions / requests)) per request"
