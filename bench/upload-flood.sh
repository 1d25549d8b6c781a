#!/usr/bin/env bash
# Memory under abuse: 200 concurrent logins and 30 concurrent anonymous uploads of decompression
# bombs (small all-zero PNGs that decode to hundreds of megabytes), then the same inside a
# 256 MiB memory cgroup. Reports the server's peak resident memory (VmHWM), the answers, and
# whether the process survived. Needs root for the cgroup part (cgroup v1 `memory` or v2).
# Usage: bench/upload-flood.sh [path/to/release/shoestring]
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
bench_init "$@"
PASSWORD="upload flood password"
export RATE_LIMITS=false

# A PNG of W×H black RGB pixels: a few hundred KB that inflate to W*H*3 bytes.
bomb() {
  python3 - "$1" "$2" "$3" <<'PY'
import struct, sys, zlib
w, h, out = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xffffffff)
z = zlib.compressobj(9)
row = b"\0" * (1 + 3 * w)
idat = b"".join(z.compress(row) for _ in range(h)) + z.flush()
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")
open(out, "wb").write(png)
PY
}
bomb 8000 8000 "$WORK/huge.png"   # 192 MB decoded: over any sane budget
bomb 4000 2600 "$WORK/big.png"    # 31 MB decoded: inside the pixel limit, heavy to decode

# 30 uploads (half each bomb) and 200 logins, all at once; prints the status codes seen.
flood() {
  local codes="$WORK/codes.$1"
  : >"$codes"
  for i in $(seq 1 30); do
    local file="$WORK/huge.png"
    [ $((i % 2)) = 0 ] && file="$WORK/big.png"
    curl -s -o /dev/null -w '%{http_code}\n' -F "body=bomb $i" -F "image=@$file;type=image/png" \
      -H "X-Forwarded-For: 10.0.0.$i" "$BASE/api/posts/" >>"$codes" &
  done
  for i in $(seq 1 200); do
    curl -s -o /dev/null -w '%{http_code}\n' -H 'content-type: application/json' \
      -d "{\"username\": \"user000$((i % 5 + 1))\", \"password\": \"$PASSWORD\"}" "$BASE/api/login/" >>"$codes" &
  done
  wait
  sort "$codes" | uniq -c | awk '{ printf "%s×%s ", $1, $2 }'
}
peak() { awk '/VmHWM/ { printf "%.0f MiB", $2 / 1024 }' "/proc/$SERVER/status"; }

bench_serve --users 5 --posts 10 --password "$PASSWORD"
echo "idle:            $(peak)"
echo "answers:         $(timeout 300 bash -c "$(declare -f flood); WORK=$WORK BASE=$BASE PASSWORD='$PASSWORD' flood 1")"
echo "peak RSS:        $(peak)"
kill -0 "$SERVER" && echo "server:          alive"

# The same flood with the server in a 256 MiB memory cgroup.
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
CG=""
if [ -d /sys/fs/cgroup/memory ] && [ -w /sys/fs/cgroup/memory ]; then
  CG="/sys/fs/cgroup/memory/shoestring-bench-$$"; mkdir "$CG"
  echo $((256 * 1024 * 1024)) >"$CG/memory.limit_in_bytes"
  LIMIT_FILE=memory.max_usage_in_bytes
elif [ -w /sys/fs/cgroup/cgroup.subtree_control ]; then
  CG="/sys/fs/cgroup/shoestring-bench-$$"; mkdir "$CG"
  echo $((256 * 1024 * 1024)) >"$CG/memory.max"
  LIMIT_FILE=memory.peak
fi
if [ -z "$CG" ]; then echo "no writable memory cgroup: the 256 MiB run is skipped"; exit 0; fi
export DATABASE_URL="sqlite://$WORK/limited.db"   # a fresh database: the first flood's posts count against the quota
(cd "$WORK" && "$BIN" seed --users 5 --posts 10 --images 0 --password "$PASSWORD" >/dev/null)
sh -c "echo \$\$ >'$CG/cgroup.procs'; exec '$BIN' serve" >"$WORK/server.log" 2>&1 &
SERVER=$!
trap 'kill "$SERVER" 2>/dev/null || true; sleep 0.5; rmdir "$CG" 2>/dev/null || true; rm -rf "$WORK"' EXIT
for _ in $(seq 1 100); do curl -fsS "$BASE/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "in 256 MiB:      $(timeout 300 bash -c "$(declare -f flood); WORK=$WORK BASE=$BASE PASSWORD='$PASSWORD' flood 2")"
echo "cgroup peak:     $(( $(cat "$CG/$LIMIT_FILE") / 1024 / 1024 )) MiB"
if kill -0 "$SERVER" 2>/dev/null && curl -fsS -o /dev/null "$BASE/"; then echo "server:          alive"; else echo "server:          KILLED"; exit 1; fi
