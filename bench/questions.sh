#!/usr/bin/env bash
# Does a source that hangs slow a question page? Serves one question whose source is a local
# stand-in API, measures GET /q/bench/ (wrk -t1 -c32, --latency) while the source answers at
# once, then while the refresh job's read of it hangs (the stand-in accepts and never answers);
# three rounds of each, medians. The server runs its own worker, as in production; each hanging
# read is still in flight for the whole measurement (it gives up after OUTBOUND_TIMEOUT_MS).
# Usage: bench/questions.sh [path/to/release/shoestring] [sqlite|postgres-url]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"
SECONDS_EACH="${SECONDS_EACH:-10}"
ROUNDS="${ROUNDS:-3}"
PASSWORD="questions bench password"
export RUN_WORKER=true OUTBOUND_ALLOW_LOOPBACK=true OUTBOUND_TIMEOUT_MS=15000

# The stand-in: a game log with an error today, or (after `touch hang`) connections that are
# accepted and never answered. It counts the requests it holds in `holding`.
SOURCE_PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
cat >"$WORK/source.py" <<'PY'
import datetime, http.server, json, os, sys, time, zoneinfo
work, port = sys.argv[1], int(sys.argv[2])
class Source(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if os.path.exists(os.path.join(work, "hang")):
            with open(os.path.join(work, "holding"), "a") as f: f.write("1\n")
            time.sleep(3600)
            return
        today = datetime.datetime.now(zoneinfo.ZoneInfo("America/Los_Angeles")).date().isoformat()
        body = json.dumps({"stats": [{"splits": [{"date": today, "stat": {"errors": 1}}]}]}).encode()
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args): pass
http.server.ThreadingHTTPServer(("127.0.0.1", port), Source).serve_forever()
PY
python3 "$WORK/source.py" "$WORK" "$SOURCE_PORT" &
SOURCE=$!

bench_serve --users 10 --posts 10 --password "$PASSWORD"
trap 'kill "$SERVER" "$SOURCE" 2>/dev/null || true; rm -rf "$WORK"' EXIT
(cd "$WORK" && SUPERUSER_PASSWORD="$PASSWORD" "$BIN" createsuperuser --noinput --username boss --email boss@example.com >/dev/null)

# Staff create the question through the console form, as a browser would.
JAR="$WORK/jar"
curl -fsS -c "$JAR" -b "$JAR" -o /dev/null "$BASE/api/session/"
curl -fsS -c "$JAR" -b "$JAR" -o /dev/null -H 'content-type: application/json' \
  -d "{\"username\": \"boss\", \"password\": \"$PASSWORD\"}" "$BASE/api/login/"
CSRF="$(awk '$6 == "csrftoken" { print $7 }' "$JAR")"
curl -fsS -c "$JAR" -b "$JAR" -o /dev/null -w '%{http_code}\n' "$BASE/admin/questions/new/" \
  --data-urlencode "csrf_token=$CSRF" --data-urlencode "title=Does Tatis Jr have an error today?" \
  --data-urlencode "slug=bench" --data-urlencode "source_url=http://127.0.0.1:$SOURCE_PORT/log?season={year}" \
  --data-urlencode "json_path=\$.stats[0].splits[?@.date == '{today}'].stat.errors" \
  --data-urlencode "aggregate=sum" --data-urlencode "compare_op=>" --data-urlencode "compare_value=0" \
  --data-urlencode "empty_is_zero=on" --data-urlencode "yes_text=Yes" --data-urlencode "no_text=No" \
  --data-urlencode "unknown_text=Nobody knows" --data-urlencode "refresh_minutes=1" \
  --data-urlencode "time_zone=America/Los_Angeles" --data-urlencode "action=save" | grep -q 303

wait_for() { for _ in $(seq 1 90); do eval "$1" && return 0; sleep 1; done; echo "timed out: $1" >&2; exit 1; }
wait_for 'curl -fsS "$BASE/q/bench.json" | grep -q "\"answer\":\"yes\""'

page() { wrk -t1 -c32 -d"${SECONDS_EACH}s" --latency "$BASE/q/bench/"; }
field() { awk -v k="$1" '$1 == k { print $2 }'; }
rate() { awk '/Requests\/sec/ { print $2 }'; }
ms() { sed -E 's/us$/ 0.001/; s/ms$/ 1/; s/s$/ 1000/' | awk '{ printf "%.2f", $1 * $2 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Makes the question due now (saving it again does), so the worker reads it within its 30 s tick.
touch_question() {
  curl -fsS -b "$JAR" -o /dev/null "$BASE/admin/questions/1/" --data-urlencode "csrf_token=$CSRF" \
    --data-urlencode "title=Does Tatis Jr have an error today?" --data-urlencode "slug=bench" \
    --data-urlencode "source_url=http://127.0.0.1:$SOURCE_PORT/log?season={year}" \
    --data-urlencode "json_path=\$.stats[0].splits[?@.date == '{today}'].stat.errors" \
    --data-urlencode "aggregate=sum" --data-urlencode "compare_op=>" --data-urlencode "compare_value=0" \
    --data-urlencode "empty_is_zero=on" --data-urlencode "yes_text=Yes" --data-urlencode "no_text=No" \
    --data-urlencode "unknown_text=Nobody knows" --data-urlencode "refresh_minutes=1" \
    --data-urlencode "time_zone=America/Los_Angeles" --data-urlencode "action=save"
}

wrk -t1 -c32 -d2s "$BASE/q/bench/" >/dev/null
for round in $(seq 1 "$ROUNDS"); do
  rm -f "$WORK/hang" "$WORK/holding"
  healthy="$(page)"
  touch "$WORK/hang"
  touch_question
  wait_for '[ -s "$WORK/holding" ]'
  hanging="$(page)"
  held="$(wc -l <"$WORK/holding")"
  echo "$(field 50% <<<"$healthy" | ms) $(field 99% <<<"$healthy" | ms) $(rate <<<"$healthy")" \
    "$(field 50% <<<"$hanging" | ms) $(field 99% <<<"$hanging" | ms) $(rate <<<"$hanging") $held" >>"$WORK/rounds"
  for out in "$healthy" "$hanging"; do
    if grep -q "Non-2xx" <<<"$out"; then echo "page errors:" && echo "$out" && exit 1; fi
  done
  # The hanging read gives up at OUTBOUND_TIMEOUT_MS (15 s) before the next healthy round.
  sleep $((16 - SECONDS_EACH > 0 ? 16 - SECONDS_EACH : 0))
done

col() { awk -v c="$1" '{ print $c }' "$WORK/rounds" | median; }
echo "database: ${DATABASE_URL%%:*}, $ROUNDS rounds of ${SECONDS_EACH}s, wrk -t1 -c32, medians"
printf '%-36s %8s %8s %10s\n' "GET /q/bench/" "p50 ms" "p99 ms" "req/s"
printf '%-36s %8s %8s %10s\n' "source healthy" "$(col 1)" "$(col 2)" "$(col 3)"
printf '%-36s %8s %8s %10s\n' "source hanging (read in flight)" "$(col 4)" "$(col 5)" "$(col 6)"
awk -v h="$(col 2)" -v s="$(col 5)" 'BEGIN { printf "page p99 while the source hangs: %.2f x its healthy value\n", s / h }'
