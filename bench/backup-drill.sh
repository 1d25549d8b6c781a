#!/usr/bin/env bash
# The restore drill at size: seeds a database of about SIZE_MB (default 1024), then measures
#   - the backup's time and the worst latency of a like (a write transaction) while it runs,
#   - `backup verify` (fetch, unpack and check, restore into a scratch database, integrity and
#     invariants, boot the app and answer a request): the restore time objective (RTO),
#   - `restore` into an empty database, then the app's first answer on it.
# Usage: bench/backup-drill.sh [BIN] [DATABASE_URL] [SIZE_MB]   (PostgreSQL: an empty database)
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "${1:-}" "${2:-}"
SIZE_MB="${3:-1024}"
export BACKUP_WORK_DIR="$WORK/backup-work" RUN_WORKER=false

# The app's own `seed` writes row by row (a gigabyte takes over half an hour): it seeds the users
# and a few posts, then the rest is written in bulk by the database (like counts and counters kept
# consistent, so the drill's invariant checks hold). About 330 bytes per post with its likes.
posts=$((SIZE_MB * 1024 * 1024 / 330))
echo "seeding about $SIZE_MB MB: $posts posts"
t0=$(date +%s.%N)
bench_serve --users 2000 --posts 1000 --password 'correct horse battery staple'
BODY="': Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tempor incididunt ut labore.'"
LIKES="SELECT p.id, ((p.id * 13 + t * 101) % 2000) + 1, p.created_at FROM posts p JOIN tees ON t < p.like_count WHERE p.id > 1000"
case "$DATABASE_URL" in
  postgres*)
    psql -q "$DATABASE_URL" <<SQL
INSERT INTO posts (author_id, body, like_count, client_ip, created_at, updated_at)
  SELECT (g % 2000) + 1, 'Post ' || g || $BODY, g % 4, '127.0.0.1', 1704067200 + g, 1704067200 + g
  FROM generate_series(1, $posts) AS g;
WITH tees(t) AS (SELECT generate_series(0, 2)) INSERT INTO likes (post_id, user_id, created_at) $LIKES;
UPDATE counters SET value = (SELECT COUNT(*) FROM posts) WHERE name = 'posts';
ANALYZE;
SQL
    ;;
  *)
    sqlite3 "$WORK/bench.db" <<SQL
.timeout 30000
BEGIN IMMEDIATE;
WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < $posts)
INSERT INTO posts (author_id, body, like_count, client_ip, created_at, updated_at)
  SELECT (n % 2000) + 1, 'Post ' || n || $BODY, n % 4, '127.0.0.1', 1704067200 + n, 1704067200 + n FROM g;
WITH tees(t) AS (VALUES (0), (1), (2)) INSERT INTO likes (post_id, user_id, created_at) $LIKES;
UPDATE counters SET value = (SELECT COUNT(*) FROM posts) WHERE name = 'posts';
COMMIT;
PRAGMA wal_checkpoint(TRUNCATE);
ANALYZE;
SQL
    ;;
esac
echo "seeded in $(echo "$(date +%s.%N) - $t0" | bc) s"
case "$DATABASE_URL" in
  postgres*) size=$(psql -Atc "select pg_database_size(current_database())" "$DATABASE_URL") ;;
  *) size=$(stat -c %s "$WORK/bench.db") ;;
esac
echo "database size: $((size / 1024 / 1024)) MiB"
COOKIE="$(bench_login user0002 'correct horse battery staple')"

# A writer that likes and unlikes post 1 without pause, printing each request's latency (ms).
python3 - "$PORT" "$COOKIE" >"$WORK/latency.log" <<'PY' &
import http.client, sys, time
port, cookie = int(sys.argv[1]), sys.argv[2]
conn = None
end = time.time() + 600
while time.time() < end:
    t = time.time()
    try:
        conn = conn or http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        conn.request("POST", "/api/posts/1/like/", body="{}", headers={"Cookie": cookie, "Content-Type": "application/json"})
        r = conn.getresponse(); r.read()
        status = r.status
    except (OSError, http.client.HTTPException):
        conn, status = None, 0  # a closed keep-alive connection: count it, reconnect
    print(f"{t:.3f} {(time.time() - t) * 1000:.1f} {status}", flush=True)
PY
WRITER=$!
trap 'kill "$WRITER" 2>/dev/null || true; kill "$SERVER" 2>/dev/null || true; rm -rf "$WORK"' EXIT
sleep 3

b0=$(date +%s.%N)
"$BIN" backup --to "$WORK/backups"
b1=$(date +%s.%N)
sleep 1
kill "$WRITER" 2>/dev/null || true
archive="$(ls "$WORK"/backups/shoestring-*)"
echo "backup: $(echo "$b1 - $b0" | bc) s, archive $(($(stat -c %s "$archive") / 1024 / 1024)) MiB"
awk -v a="$b0" -v b="$b1" '
  $1 < a { before = ($2 > before ? $2 : before); nb++; if ($3 != 200) { badb++; codes[$3]++ } }
  $1 >= a && $1 <= b {
    if ($2 > during) { during = $2; at = $1 - a }
    if ($2 > 20) slow++
    nd++; if ($3 != 200) { badd++; codes[$3]++ }
  }
  END {
    printf "likes: worst %.1f ms before the backup (%d likes, %d not 200), worst %.1f ms during it, %.1f s after it began (%d likes, %d over 20 ms, %d not 200)", before, nb, badb, during, at, nd, slow, badd
    for (c in codes) printf " [status %s: %d]", c, codes[c]
    print ""
  }
' "$WORK/latency.log"

v0=$(date +%s.%N)
"$BIN" backup verify "$archive" 2>/dev/null | grep -v '^{' || true
echo "drill (backup verify): $(echo "$(date +%s.%N) - $v0" | bc) s"

kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
case "$DATABASE_URL" in
  postgres*)
    target="${DATABASE_URL%/*}/shoestring_restore_bench"
    psql -qc "drop database if exists shoestring_restore_bench" "$DATABASE_URL"
    psql -qc "create database shoestring_restore_bench" "$DATABASE_URL" ;;
  *) target="sqlite://$WORK/restored.db" ;;
esac
r0=$(date +%s.%N)
DATABASE_URL="$target" MEDIA_DIR="$WORK/restored-media" "$BIN" restore "$archive"
DATABASE_URL="$target" MEDIA_DIR="$WORK/restored-media" "$BIN" serve >"$WORK/restored.log" 2>&1 &
SERVER=$!
for _ in $(seq 1 600); do curl -fsS "$BASE/posts/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "restore to first answer: $(echo "$(date +%s.%N) - $r0" | bc) s"
case "$DATABASE_URL" in postgres*) kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
  psql -qc "drop database if exists shoestring_restore_bench" "$DATABASE_URL" ;; esac
