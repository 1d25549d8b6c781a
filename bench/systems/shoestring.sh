# Benchmark adapter for Shoestring: the release binary, seeded by its own `seed` command.
# Sourced by the shared harness (run.sh) inside a subshell; the contract is in its README.
# Scenario paths differ from the harness defaults (trailing slashes, page size as a parameter);
# `adapter_path` maps them while keeping the work per request the same: same data, 20 posts
# with author and like count.

ADAPTER_DBS="sqlite postgres"
READY_PATH="/"
APP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="${SHOESTRING_BIN:-$APP_DIR/target/release/shoestring}"

adapter_setup() {
  # SHOESTRING_BIN points at an already built binary; otherwise build the release binary here.
  [[ -n "${SHOESTRING_BIN:-}" ]] && return 0
  cd "$APP_DIR"
  cargo build --release --locked
}

adapter_versions() {
  cd "$APP_DIR"
  echo "shoestring $(git rev-parse --short HEAD 2>/dev/null || echo unknown)"
  echo "rustc $(rustc --version | awk '{print $2}')"
  for crate in axum tokio sqlx-core libsqlite3-sys argon2; do
    echo "$crate $(awk -v c="$crate" '$0 == "name = \"" c "\"" {getline; gsub(/version = |"/, ""); print; exit}' Cargo.lock)"
  done
  echo "binary $(du -k "$BIN" | awk '{print $1}') KiB"
}

adapter_config() {
  echo "one process, tokio multi-thread runtime ($(nproc) workers), sqlx pool of 8 connections, logs at warn, rate limits off"
}

adapter_hasher() { echo "argon2id m=19456 t=2 p=1, on $(( $(nproc) / 2 > 0 ? $(nproc) / 2 : 1 )) hashing thread(s)"; }

bench_env() {
  export DATABASE_URL APP_ENV=development RUST_LOG=warn RATE_LIMITS=false RUN_WORKER=false
  export MEDIA_DIR="$WORK_DIR/media" BIND="127.0.0.1:${PORT:-0}"
}

adapter_prepare_db() {
  bench_env
  "$BIN" seed --users "$SEED_USERS" --posts "$SEED_POSTS" --images 0 --password "$BENCH_PASSWORD" \
    --passwords-file "$WORK_DIR/passwords.csv"
}

adapter_start() {  # must exec: the harness measures this PID
  bench_env
  exec "$BIN" serve
}

adapter_path() {
  case "$1" in
    S1) echo "/" ;;
    S2) echo "/api/profile/" ;;
    S3) echo "/posts/?per_page=20" ;;
    S4) echo "/api/posts/?limit=20" ;;
    S5) echo "/api/login/" ;;
    *) return 1 ;;
  esac
}

adapter_headers() {
  local scenario=$1 base=$2 sid
  case "$scenario" in
    S2)  # the session cookie of a logged-in user
      sid="$(curl -sf -c - -o /dev/null -H 'Content-Type: application/json' \
        --data-binary "{\"username\":\"$BENCH_USER\",\"password\":\"$BENCH_PASSWORD\"}" "$base/api/login/" \
        | awk '$6 == "sessionid" {print $7}')"
      echo "Cookie: sessionid=$sid"
      ;;
  esac
}
