# Helpers for .ci/server-test.sh: a throwaway Debian 12 "VPS" (systemd as PID 1 in systemd-nspawn)
# in its own network namespace, reached over SSH through a veth pair from a second namespace.
# Only addresses inside these two namespaces are used; everything is removed on exit.

CTL_NS=shoe-ctl
VPS_NS=shoe-vps
CTL_IP=10.254.77.1
VPS_IP=10.254.77.2
NSPAWN_PID=""

fail() {
  printf 'FAIL: %s\n' "$*" >&2
  diagnose >&2 || true
  # HOLD_ON_FAIL=SECONDS keeps the container up that long to look inside (`nsenter -t PID …`).
  [ -n "${HOLD_ON_FAIL:-}" ] && { printf 'holding for %s s; container init %s\n' "$HOLD_ON_FAIL" "$(container_init)" >&2; sleep "$HOLD_ON_FAIL"; }
  exit 1
}

# What a failure needs to be understood: the container's console and its failed units.
diagnose() {
  [ -n "${WORK:-}" ] && [ -f "$WORK/console-vps.log" ] && tail -n 25 "$WORK/console-vps.log"
  [ -n "$NSPAWN_PID" ] || return 0
  inside systemctl --failed --no-legend --plain
  inside journalctl -b --no-pager -n 30 -p warning -u caddy -u 'shoestring-*'
  # The answers that were not 200, as Caddy logged them (status, upstream error, duration).
  inside sh -c 'cat /var/log/caddy/*access.log 2>/dev/null | grep -v "\"status\":200" | tail -n 15' || true
}

pass() {
  PASSED=$((PASSED + 1))
  printf 'ok   %s\n' "$*"
}

# Runs a command in the laptop-side namespace.
ctl() { ip netns exec "$CTL_NS" timeout 120 "$@"; }

ssh_opts() {
  printf '%s\n' -o BatchMode=yes -o ConnectTimeout=5 -o IdentitiesOnly=yes -o "IdentityFile=$WORK/key" \
    -o "UserKnownHostsFile=$WORK/known_hosts" -o StrictHostKeyChecking=accept-new -o LogLevel=ERROR
}

# Runs a command on the VPS as USER over SSH: as_user alice sudo -n true
as_user() {
  local user="$1"
  shift
  mapfile -t opts < <(ssh_opts)
  ctl ssh "${opts[@]}" "$user@$VPS_IP" "$@"
}

vps() { as_user root "$@"; }

# The container's PID 1 (systemd), found below nspawn's own processes.
container_init() {
  local pid="$NSPAWN_PID"
  for _ in 1 2 3; do
    pid="$(cat /proc/"$pid"/task/*/children 2>/dev/null | awk '{print $1}')"
    [ -n "$pid" ] || break
    if [ "$(cat /proc/"$pid"/comm 2>/dev/null)" = systemd ]; then
      echo "$pid"
      return 0
    fi
  done
  fail "no systemd inside the container"
}

# Runs a command inside the container as root without SSH (for when SSH is what is tested).
inside() {
  local init
  init="$(container_init)"
  timeout 60 nsenter -t "$init" -m -u -i -n -p -C -- "$@"
}

make_namespaces() {
  ip netns add "$CTL_NS"
  ip netns add "$VPS_NS"
  ip link add veth-ctl type veth peer name veth-vps
  ip link set veth-ctl netns "$CTL_NS"
  ip link set veth-vps netns "$VPS_NS"
  ip -n "$CTL_NS" addr add "$CTL_IP/24" dev veth-ctl
  ip -n "$VPS_NS" addr add "$VPS_IP/24" dev veth-vps
  for ns in "$CTL_NS" "$VPS_NS"; do
    ip -n "$ns" link set lo up
  done
  ip -n "$CTL_NS" link set veth-ctl up
  ip -n "$VPS_NS" link set veth-vps up
}

# Installs what a container test needs (COMMAND:PACKAGE pairs beyond the common ones) and builds
# or reuses the cached Debian 12 root filesystem.
install_tools_and_rootfs() {
  local need=() tool
  for tool in mmdebstrap:mmdebstrap systemd-nspawn:systemd-container ssh:openssh-client curl:curl "$@"; do
    command -v "${tool%%:*}" >/dev/null || need+=("${tool##*:}")
  done
  if [ "${#need[@]}" -gt 0 ]; then
    apt-get update -q
    apt-get install -y -q --no-install-recommends "${need[@]}" </dev/null
  fi
  bash .ci/server-rootfs.sh "$CACHE/bookworm-server.tar"
}

# A fresh root filesystem from the cached tarball, root's key for the operator, and the two
# namespaces: where every container test starts.
prepare_vps() {
  mkdir "$WORK/rootfs"
  tar -xf "$CACHE/bookworm-server.tar" -C "$WORK/rootfs"
  ssh-keygen -q -t ed25519 -N '' -C operator -f "$WORK/key"
  install -d -m 0700 "$WORK/rootfs/root/.ssh"
  install -m 0600 "$WORK/key.pub" "$WORK/rootfs/root/.ssh/authorized_keys"
  echo vps >"$WORK/rootfs/etc/hostname"
  printf '127.0.1.1\tvps\n' >>"$WORK/rootfs/etc/hosts"
  make_namespaces
}

boot() {
  boot_machine vps "$WORK/rootfs" "$VPS_NS" "$VPS_IP"
  NSPAWN_PID=$BOOTED_PID
}

# Boots container NAME from ROOTFS in namespace NS and waits for root's SSH at IP; its nspawn
# process is BOOTED_PID, its console $WORK/console-NAME.log.
boot_machine() { # NAME ROOTFS NS IP
  timeout 1500 systemd-nspawn -b -D "$2" --register=no --keep-unit -M "$1" \
    --network-namespace-path="/run/netns/$3" --capability=CAP_NET_ADMIN --console=passive \
    >>"$WORK/console-$1.log" 2>&1 &
  BOOTED_PID=$!
  local start=$SECONDS
  until VPS_IP="$4" as_user root true 2>/dev/null; do
    kill -0 "$BOOTED_PID" 2>/dev/null || fail "the container $1 stopped while booting (see $WORK/console-$1.log)"
    [ $((SECONDS - start)) -lt 90 ] || fail "no SSH on the container $1 after 90 s"
    sleep 0.5
  done
  VPS_IP="$4" as_user root systemctl is-system-running --wait >/dev/null || true
  printf 'container %s up in %s s\n' "$1" $((SECONDS - start))
}

# $WORK/release-broken: a release that cannot start. It names itself as commit $commit_broken and
# runs everything but `serve` as RELEASE (one installed on the server).
commit_broken=badc0de0000000000000000000000000000badc0
broken_release() { # RELEASE
  cat >"$WORK/release-broken" <<EOF
#!/bin/sh
case "\$1" in
  version) echo '{"version":"0.1.0","commit":"$commit_broken","built_at":0}' ;;
  serve) echo "this release fails at start on purpose" >&2; exit 1 ;;
  *) exec /opt/shoestring/releases/$1/shoestring "\$@" ;;
esac
EOF
  chmod 0755 "$WORK/release-broken"
}

# A 16×16 PNG, base64: an upload the app accepts (and re-encodes).
probe_png() {
  python3 - <<'PY'
import base64, struct, zlib
def chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
rows = b"".join(b"\x00" + bytes([y * 16, 64, 128]) * 16 for y in range(16))
png = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 16, 16, 8, 2, 0, 0, 0)) + chunk(b"IDAT", zlib.compress(rows)) + chunk(b"IEND", b"")
print(base64.b64encode(png).decode())
PY
}

# Stops the container (and waits for nspawn to end) without touching anything else.
halt() {
  [ -n "$NSPAWN_PID" ] || return 0
  if kill -0 "$NSPAWN_PID" 2>/dev/null; then
    inside systemctl poweroff >/dev/null 2>&1 || true
    for _ in $(seq 1 60); do
      kill -0 "$NSPAWN_PID" 2>/dev/null || break
      sleep 0.5
    done
    kill "$NSPAWN_PID" 2>/dev/null || true
  fi
  wait "$NSPAWN_PID" 2>/dev/null || true
  NSPAWN_PID=""
}

cleanup() {
  halt
  ip netns del "$CTL_NS" 2>/dev/null || true
  ip netns del "$VPS_NS" 2>/dev/null || true
  if [ -n "${WORK:-}" ] && [ -z "${KEEP_WORK:-}" ]; then
    rm -rf "$WORK"
  fi
}

# curl from the laptop side to the VPS with a name resolved to it; prints "STATUS LOCATION".
fetch() {
  local url="$1" host port
  host="$(printf '%s' "$url" | sed -E 's#^[a-z]+://([^/:]+).*#\1#')"
  port=443
  case "$url" in http://*) port=80 ;; esac
  ctl curl -sk -o /dev/null --max-time 10 --resolve "$host:$port:$VPS_IP" -w '%{http_code} %{redirect_url}' "$url"
}

expect_status() {
  local want="$1" url="$2" got
  got="$(fetch "$url")"
  [ "${got%% *}" = "$want" ] || fail "$url answered '$got', expected $want"
  pass "$url → $got"
}

# A fingerprint of what a run could change: files under /etc and the app's folders, the loaded
# ruleset and the active units.
fingerprint() {
  inside sh -c 'find /etc /var/lib/shoestring /usr/local/bin -xdev -type f -print0 2>/dev/null | sort -z | xargs -0 sha256sum;
       stat -c "%n %a %U:%G" /etc/shoestring/*.env /var/lib/shoestring/* 2>/dev/null;
       nft list ruleset | grep -v "^\s*elements";
       systemctl list-units --state=active --no-legend --plain --type=service,socket,timer,mount \
         | grep -v -e "^user" -e "^session-" | sort'
}

# Compares the server with a fingerprint taken earlier; shows the difference when there is one.
same_as() {
  local before="$1" now
  now="$(fingerprint)"
  [ "$now" = "$before" ] && return 0
  diff <(printf '%s\n' "$before") <(printf '%s\n' "$now") | head -20 >&2
  return 1
}

# Builds this tree as release NAME with COMMIT (and one more migration, when given) into a cached
# target folder, so the dependencies compile once per machine; the binary lands in $WORK/release-NAME.
build_release() { # NAME COMMIT [EXTRA_MIGRATION_SQL]
  local src="$CACHE/deploy-src" target="$CACHE/deploy-target"
  mkdir -p "$src"
  git ls-files -z --cached --others --exclude-standard | rsync -a --delete --from0 --files-from=- ./ "$src/"
  rm -f "$src"/migrations/*/0099_one_staff_member.sql
  if [ -n "${3:-}" ]; then
    for backend in sqlite postgres; do printf '%s\n' "$3" >"$src/migrations/$backend/0099_one_staff_member.sql"; done
  fi
  local t=$SECONDS
  (cd "$src" && SHOESTRING_COMMIT="$2" CARGO_TARGET_DIR="$target" cargo build --locked --quiet)
  cp "$target/debug/shoestring" "$WORK/release-$1"
  printf 'built release %s (commit %.7s) in %s s\n' "$1" "$2" $((SECONDS - t))
}

# wrk through Caddy (LOAD_URL, resolved in the laptop-side namespace) for the length of one step;
# load_stop LABEL [READ_ERRORS_ALLOWED] fails the test on any failed request and keeps the figures.
SUMMARY=()
load_start() {
  ip netns exec "$CTL_NS" wrk -t1 -c8 -d300s --timeout 10s -s .ci/deploy.lua "$LOAD_URL" \
    >"$WORK/wrk.txt" 2>&1 &
  WRK_PID=$!
  sleep 2
}
load_stop() { # LABEL [READ_ERRORS_ALLOWED]
  sleep 2
  kill -INT "$WRK_PID"
  wait "$WRK_PID" || true
  WRK_PID=""
  local result
  result="$(grep '^RESULT' "$WORK/wrk.txt")" || { cat "$WORK/wrk.txt"; fail "$1: wrk printed no result"; }
  SUMMARY+=("$1: ${result#RESULT }")
  printf '  load during %s: %s\n' "$1" "${result#RESULT }"
  for field in connect write timeout non2xx; do
    grep -q " $field=0 " <<<"$result " || fail "$1: failed requests under load ($result)"
  done
  local reads
  reads="$(sed -n 's/.* read=\([0-9]*\) .*/\1/p' <<<"$result")"
  [ "$reads" -le "${2:-0}" ] || fail "$1: failed requests under load ($result)"
}
