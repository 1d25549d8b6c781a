#!/usr/bin/env bash
# Disk full, black-box: the app's data folder on a 20 MB tmpfs in a private mount namespace (as
# root), filled to the last byte while a signed-in user keeps posting; then the filler goes.
# Expected: writes 507 while full, reads 200 throughout, /readyz 503 while full (/up 200), writes
# 201 and /readyz 200 again after, no restart.
# The server's log stays off the full disk (a log that cannot be written is an integration test).
# Usage: bench/disk-full.sh [BINARY]   (default: the release build)
set -euo pipefail
if [ "${1:-}" != "--inside" ]; then
  [ "$(id -u)" = 0 ] || { echo "needs root (a private mount namespace with a tmpfs)" >&2; exit 1; }
  exec timeout 120 unshare -m "$0" --inside "${1:-}"
fi
shift
source "$(dirname "$0")/lib.sh"
bench_init "${1:-}"
DATA="$WORK/data"
mkdir -p "$DATA"
mount -t tmpfs -o size=20m tmpfs "$DATA"
# /readyz's free-space floor, scaled to the 20 MB disk.
export DATABASE_URL="sqlite://$DATA/bench.db" MEDIA_DIR="$DATA/media" READY_MIN_FREE_MB=1
bench_serve --users 3 --posts 5 --password "disk full passphrase"
trap 'kill "$SERVER" 2>/dev/null || true; wait "$SERVER" 2>/dev/null || true; umount "$DATA"; rm -rf "$WORK"' EXIT
COOKIE="$(bench_login user0001 "disk full passphrase")"
post() {
  curl -s -o /dev/null -w "%{http_code} " -H "Cookie: $COOKIE" -H 'content-type: application/json' \
    -d "{\"body\": \"$1 $(head -c 150 /dev/zero | tr '\0' x)\"}" "$BASE/api/posts/"
}
echo "before:           $(post before)"
dd if=/dev/zero of="$DATA/filler" bs=4k 2>/dev/null || true
echo "free while full:  $(df --output=avail -B1 "$DATA" | tail -1) bytes"
echo "writes when full: $(for i in $(seq 1 8); do post "full $i"; done)"
echo "read when full:   $(curl -s -o /dev/null -w '%{http_code}' "$BASE/posts/")"
echo "/readyz when full: $(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz"), /up $(curl -s -o /dev/null -w '%{http_code}' "$BASE/up")"
rm "$DATA/filler"
echo "writes after:     $(for i in $(seq 1 8); do post "after $i"; done)"
echo "/readyz after:    $(curl -s -o /dev/null -w '%{http_code}' "$BASE/readyz")"
echo "integrity:        $(python3 -c "import sqlite3,sys; print(sqlite3.connect(sys.argv[1]).execute('PRAGMA integrity_check').fetchone()[0])" "$DATA/bench.db")"
