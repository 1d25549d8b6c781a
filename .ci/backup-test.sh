#!/usr/bin/env bash
# Backups against real parts: installs (and caches) s3s-fs, an S3-compatible server that checks
# signatures, then runs the operations tests with every real part required — on SQLite, and on
# PostgreSQL when TEST_DATABASE_URL is set — and a small end-to-end drill of the binary
# (backup under writes, `backup verify`, `restore`, first answer) that must stay under the RTO.
# Run from the repository root: TEST_DATABASE_URL=postgres://… bash .ci/backup-test.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

S3S_VERSION=0.14.1
CACHE="${SHOESTRING_CI_CACHE:-/var/cache/shoestring-ci}"
export S3S_FS_BIN="$CACHE/s3s-fs-$S3S_VERSION/bin/s3s-fs"
if [ ! -x "$S3S_FS_BIN" ]; then
  echo "Installing s3s-fs $S3S_VERSION into $CACHE (a few minutes, once)"
  mkdir -p "$CACHE"
  cargo install --locked --root "$CACHE/s3s-fs-$S3S_VERSION" "s3s-fs@$S3S_VERSION" --features binary
fi
"$S3S_FS_BIN" --version
export REQUIRE_S3S_FS=1
if [ "$(id -u)" = 0 ] && command -v unshare >/dev/null; then
  export REQUIRE_DISK_FULL_TEST=1
fi

echo "==> operations tests on SQLite"
env -u TEST_DATABASE_URL cargo test --locked --test it ops::
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "==> operations tests on PostgreSQL"
  cargo test --locked --test it ops::
fi

echo "==> end-to-end drill of the binary (20 MB)"
cargo build --locked
BIN="$(cargo metadata --locked --no-deps --format-version 1 | python3 -c 'import json, sys; print(json.load(sys.stdin)["target_directory"])')/debug/shoestring"
RTO_LIMIT_S=300
check_rto() {
  local out="$1"
  echo "$out"
  local drill
  drill="$(echo "$out" | awk '/^drill \(backup verify\)/ { print $4 }')"
  [ -n "$drill" ] || { echo "no drill time in the output" >&2; exit 1; }
  awk -v d="$drill" -v l="$RTO_LIMIT_S" 'BEGIN { exit !(d < l) }' || { echo "drill took $drill s, over $RTO_LIMIT_S s" >&2; exit 1; }
}
check_rto "$(bash bench/backup-drill.sh "$BIN" "" 20)"
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  db="shoestring_ci_drill_$$"
  psql -qc "drop database if exists $db" "$TEST_DATABASE_URL"
  psql -qc "create database $db" "$TEST_DATABASE_URL"
  check_rto "$(bash bench/backup-drill.sh "$BIN" "${TEST_DATABASE_URL%/*}/$db" 20)"
  psql -qc "drop database if exists $db with (force)" "$TEST_DATABASE_URL"
fi
echo "backup tests passed"
