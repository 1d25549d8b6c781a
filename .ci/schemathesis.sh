#!/usr/bin/env bash
# Fuzzes the REST API from its own OpenAPI document: schemathesis generates requests for every
# operation (anonymous, then signed in as a staff user) and runs every check — no 5xx, every
# status and body as documented, schema-valid data accepted — with the exceptions explained in
# .ci/schemathesis.toml.
# Usage: .ci/schemathesis.sh path/to/shoestring
set -euo pipefail

BIN="$(realpath "$1")"
VENV="${SCHEMATHESIS_VENV:-target/schemathesis-venv}"
if [ ! -x "$VENV/bin/st" ]; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==4.32.5"
fi

WORK="$(mktemp -d)"
PORT="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')"
export DATABASE_URL="sqlite://$WORK/fuzz.db" MEDIA_DIR="$WORK/media" BIND="127.0.0.1:$PORT" RUST_LOG=warn
(cd "$WORK" && "$BIN" seed --users 5 --posts 40 --images 2 --password "fuzzing passphrase 1" >/dev/null)
"$BIN" serve >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 50); do
  curl -fsS "http://127.0.0.1:$PORT/api/session/" >/dev/null 2>&1 && break
  sleep 0.2
done

COOKIE="$(curl -fsS -c - -H 'content-type: application/json' \
  -d '{"username": "user0001", "password": "fuzzing passphrase 1"}' \
  "http://127.0.0.1:$PORT/api/login/" | awk '$6 == "sessionid" { print "sessionid=" $7 }')"
[ -n "$COOKIE" ] || { echo "could not log in for the fuzzing run" >&2; exit 1; }

run() {
  timeout 600 "$VENV/bin/st" --config-file .ci/schemathesis.toml run "http://127.0.0.1:$PORT/api/openapi.json" \
    --max-examples 25 --phases examples,coverage,fuzzing "$@"
}
echo "--- anonymous"
run
echo "--- signed in as staff"
# Logging out, deleting the account or changing the password would end the session mid-run.
run -H "Cookie: $COOKIE" --exclude-path /api/logout/ --exclude-path /api/delete-account/ \
  --exclude-path /api/change-password/
if grep -q '"level":"ERROR"\| ERROR ' "$WORK/server.log"; then
  echo "the server logged errors during fuzzing:" >&2
  grep -m 20 'ERROR' "$WORK/server.log" >&2
  exit 1
fi
