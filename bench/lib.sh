# Shared by the single-server bench scripts (sourced): one release binary on a free loopback port,
# with its own scratch folder and database, seeded by the binary's own `seed` command.

# Sets ROOT, BIN (`$1`, default the release build), WORK, PORT and BASE, and exports the server's
# settings; `$2` is the database URL (default: a SQLite file in WORK).
bench_init() {
  ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
  BIN="$(realpath "${1:-$ROOT/target/release/shoestring}")"
  WORK="$(mktemp -d)"
  PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
  BASE="http://127.0.0.1:$PORT"
  export DATABASE_URL="${2:-sqlite://$WORK/bench.db}" MEDIA_DIR="$WORK/media" BIND="127.0.0.1:$PORT"
  export APP_ENV=development RUST_LOG=warn RATE_LIMITS=false RUN_WORKER=false
}

# Seeds the database with `seed "$@"` (replacing what is there), starts the server and waits for
# its first answer; on exit the server stops and the scratch folder goes.
bench_serve() {
  (cd "$WORK" && "$BIN" seed "$@" --images 0 --replace >/dev/null)
  "$BIN" serve >"$WORK/server.log" 2>&1 &
  SERVER=$!
  trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
  for _ in $(seq 1 100); do curl -fsS "$BASE/" >/dev/null 2>&1 && break; sleep 0.1; done
}

# Prints the `sessionid=…` cookie of user `$1` signed in with password `$2`.
bench_login() {
  curl -fsS -c - -o /dev/null -H 'content-type: application/json' \
    -d "{\"username\": \"$1\", \"password\": \"$2\"}" "$BASE/api/login/" \
    | awk '$6 == "sessionid" { print "sessionid=" $7 }'
}
