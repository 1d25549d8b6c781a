#!/usr/bin/env bash
# One site on two machines: two Debian 12 "VPS" containers (systemd as PID 1 in systemd-nspawn)
# on one private network with the laptop side, each reached over SSH, and object storage
# (s3s-fs, which checks signatures) on the laptop side. The front machine has Caddy and
# PostgreSQL; `shoestring server site join` adds the app machine. With wrk reading through the
# front machine's Caddy over HTTPS:
#  1. requests reach the instances of both machines; the app machine's port is open to the front
#     machine only, and the front machine's PostgreSQL to the app machine only;
#  2. a session made through one machine is valid on the other; an image uploaded through one is
#     served by the other (MEDIA_STORE in object storage);
#  3. `deploy --host FRONT --host APP` → B on both machines, the database migrated once; 0 failed;
#  4. a release that cannot start → rolled back on the front machine, the app machine not reached;
#  5. kill -9 of the app machine's instance → 0 failed requests, systemd restarts it;
#  6. the app machine's site stopped whole (a machine lost) → 0 failed requests; back when started;
#  7. `server site leave` → the front machine forgets the app machine, which keeps none of the site.
# Usage: .ci/scaleout-test.sh [BINARY]   (default target/debug/shoestring; run as root)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE="${SHOESTRING_CI_CACHE:-/var/cache/shoestring-ci}"
# shellcheck source=.ci/server-lib.sh
source .ci/server-lib.sh
APP_NS=shoe-app
APP_IP=10.254.77.3
APP_PID=""
S3_PID=""
WRK_PID=""
PASSED=0
T0=$SECONDS
WORK="$(mktemp -d /var/tmp/shoestring-scaleout.XXXXXX)"
cp "$(realpath "${1:-target/debug/shoestring}")" "$WORK/release-a"
BIN="$WORK/release-a"
finish() {
  [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null
  [ -n "$S3_PID" ] && kill "$S3_PID" 2>/dev/null
  if [ -n "$APP_PID" ]; then
    kill "$APP_PID" 2>/dev/null || true
    wait "$APP_PID" 2>/dev/null || true
  fi
  ip netns del "$APP_NS" 2>/dev/null || true
  rm -rf "/etc/netns/$CTL_NS"
  cleanup
}
trap finish EXIT
trap "exit 130" INT TERM

install_tools_and_rootfs wrk:wrk rsync:rsync
S3S_FS_BIN="$CACHE/s3s-fs-0.14.1/bin/s3s-fs"
if [ ! -x "$S3S_FS_BIN" ]; then
  cargo install --locked --root "$CACHE/s3s-fs-0.14.1" "s3s-fs@0.14.1" --features binary
fi

commit_a="$("$BIN" version | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])')"
commit_b="$(printf 'b%s' "$commit_a" | sha1sum | cut -c1-40)"
if [ -n "${DEPLOY_BIN_B:-}" ]; then cp "$DEPLOY_BIN_B" "$WORK/release-b"; else build_release b "$commit_b"; fi
commit_b="$("$WORK/release-b" version | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])')"

# --- two machines and the laptop on one private network ---------------------------------------------
# The front machine is server-lib's VPS; the app machine a second container on the same bridge.
prepare_vps
ip netns add "$APP_NS"
ip -n "$CTL_NS" link add br-shoe type bridge
ip -n "$CTL_NS" link set veth-ctl master br-shoe
ip -n "$CTL_NS" addr del "$CTL_IP/24" dev veth-ctl
ip -n "$CTL_NS" addr add "$CTL_IP/24" dev br-shoe
ip link add veth-ctl2 type veth peer name veth-app
ip link set veth-ctl2 netns "$CTL_NS"
ip link set veth-app netns "$APP_NS"
ip -n "$CTL_NS" link set veth-ctl2 master br-shoe
ip -n "$APP_NS" addr add "$APP_IP/24" dev veth-app
for link in br-shoe veth-ctl2; do ip -n "$CTL_NS" link set "$link" up; done
ip -n "$APP_NS" link set lo up
ip -n "$APP_NS" link set veth-app up
mkdir "$WORK/rootfs-app"
tar -xf "$CACHE/bookworm-server.tar" -C "$WORK/rootfs-app"
install -d -m 0700 "$WORK/rootfs-app/root/.ssh"
install -m 0600 "$WORK/key.pub" "$WORK/rootfs-app/root/.ssh/authorized_keys"
echo app >"$WORK/rootfs-app/etc/hostname"
printf '127.0.1.1\tapp\n' >>"$WORK/rootfs-app/etc/hosts"
mkdir -p "/etc/netns/$CTL_NS"
printf '127.0.0.1\tlocalhost\n%s\tapp.example.org p.example.org\n' "$VPS_IP" >"/etc/netns/$CTL_NS/hosts"
boot
app() { VPS_IP="$APP_IP" as_user root "$@"; }
boot_machine app "$WORK/rootfs-app" "$APP_NS" "$APP_IP"
APP_PID=$BOOTED_PID
vps "timeout 5 bash -c 'exec 3<>/dev/tcp/$APP_IP/22'" || fail "the machines do not reach each other"
pass "two machines and the laptop on one private network ($VPS_IP front, $APP_IP app)"

# Object storage on the laptop side, as a provider's would be: both machines reach it.
mkdir -p "$WORK/s3/media"
ip netns exec "$CTL_NS" "$S3S_FS_BIN" --host "$CTL_IP" --port 9000 --access-key scaleout-key \
  --secret-key scaleout-secret-0123456789 "$WORK/s3" >"$WORK/s3.log" 2>&1 &
S3_PID=$!

# --- the site on the front machine, then joined by the app machine -------------------------------------
export SMTP_URL="smtps://mailer:mail-secret@mail.invalid:465"
mapfile -t OPTS < <(ssh_opts | paste -d= - - | sed 's/^-o=//')
SSH_ARGS=()
for opt in "${OPTS[@]}"; do SSH_ARGS+=(--ssh-option "$opt"); done
shoe() { nice -n 10 ip netns exec "$CTL_NS" timeout 300 "$BIN" "$@"; }
shoe server setup --host "root@$VPS_IP" "${SSH_ARGS[@]}" --admin-user alice --phase configure \
  --domain example.org --db postgres --tls internal >"$WORK/setup-front.txt" 2>&1 \
  || { cat "$WORK/setup-front.txt"; fail "server setup of the front machine failed"; }
# Root logs in no more: the admin users do, through sudo (each command one string for the remote shell).
# A command line with shell syntax goes as `vps bash -c '…'`.
vps() { as_user alice "sudo -n $(printf '%q ' "$@")"; }
vps bash -c "printf '%s\n' MEDIA_STORE=s3://media/uploads S3_ENDPOINT=http://$CTL_IP:9000 S3_ACCESS_KEY_ID=scaleout-key \
  S3_SECRET_ACCESS_KEY=scaleout-secret-0123456789 >>/etc/shoestring/example.env && systemctl restart shoestring-example.service"
shoe server setup --host "root@$APP_IP" "${SSH_ARGS[@]}" --admin-user bob --phase configure >"$WORK/setup-app.txt" 2>&1 \
  || { cat "$WORK/setup-app.txt"; fail "server setup of the app machine failed"; }
app() { VPS_IP="$APP_IP" as_user bob "sudo -n $(printf '%q ' "$@")"; }
shoe server site join example --front "alice@$VPS_IP" --host "bob@$APP_IP" --address "$APP_IP" "${SSH_ARGS[@]}" \
  >"$WORK/join.txt" 2>&1 || { cat "$WORK/join.txt"; fail "site join failed"; }
cat "$WORK/join.txt"
vps grep -q "reverse_proxy 127.0.0.1:8101 $APP_IP:8101 {" /etc/caddy/Caddyfile || fail "the front machine's Caddy does not proxy to the app machine"
pg_port="$(app sed -n "s|^DATABASE_URL=postgres://shoestring_example:.*@$VPS_IP:\([0-9]*\)/shoestring_example?sslmode=require$|\1|p" /etc/shoestring/example.env)"
[ -n "$pg_port" ] || fail "the app machine does not use the front machine's database"
[ "$(vps sed -n 's/^SECRET_KEY=//p' /etc/shoestring/example.env)" = "$(app sed -n 's/^SECRET_KEY=//p' /etc/shoestring/example.env)" ] \
  || fail "the machines do not share SECRET_KEY"
! app grep -q example.org /etc/caddy/Caddyfile || fail "the app machine's Caddy serves the site"
pass "site join: the front machine proxies to $APP_IP:8101; the app machine shares its secrets and database"

# --- 1. both machines serve; each port open only to the machine that needs it ----------------------------
# The app machine's own count of `GET /` answered 200, from its metrics on its loopback.
served_by_app() {
  app curl -s --max-time 5 http://127.0.0.1:9101/metrics \
    | awk -F'} ' '/^shoestring_http_request_duration_seconds_count\{route="\/",method="GET",status="200"\}/ {n = $2} END {print n + 0}'
}
before="$(served_by_app)"
for _ in $(seq 1 20); do ctl curl -sk --max-time 10 -o /dev/null https://app.example.org/; done
after="$(served_by_app)"
[ "$after" -gt "$before" ] || fail "no request reached the app machine ($before → $after)"
[ "$(vps curl -s --max-time 5 -o /dev/null -w '%{http_code}' "http://$APP_IP:8101/up")" = 200 ] || fail "the front machine cannot reach the app machine"
! ctl curl -s --max-time 3 -o /dev/null "http://$APP_IP:8101/up" || fail "the app machine's port is open to the laptop"
app timeout 5 bash -c "exec 3<>/dev/tcp/$VPS_IP/$pg_port" || fail "the app machine cannot reach PostgreSQL"
! ctl timeout 3 bash -c "exec 3<>/dev/tcp/$VPS_IP/$pg_port" 2>/dev/null || fail "PostgreSQL is open to the laptop"
tls="$(vps runuser -u postgres -- psql -Atc "SELECT string_agg(DISTINCT s.ssl::text, ',') FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.client_addr = '$APP_IP'")"
[ "$tls" = true ] || fail "the app machine's database connections are not all TLS ($tls)"
pass "both machines serve ($((after - before)) of 20 requests on the app machine); port 8101 and PostgreSQL (TLS only) open only to each other"

# --- 2. sessions and media across machines ------------------------------------------------------------------
png="$(probe_png)"
post="$(base64 -d <<<"$png" | app bash -c "curl -s --max-time 10 -H 'Host: app.example.org' -H 'Origin: https://app.example.org' \
  -F 'body=a photo from the app machine' -F 'image=@-;filename=probe.png;type=image/png' http://$APP_IP:8101/api/posts/")"
image_path="$(python3 -c 'import json, sys, urllib.parse; print(urllib.parse.urlsplit(json.loads(sys.argv[1])["image"]).path)' "$post")" \
  || fail "the upload through the app machine failed: $post"
# Uploads are re-encoded: the file each machine serves is compared, not the one sent.
sum_app="$(app bash -c "curl -s --max-time 10 -H 'Host: app.example.org' http://$APP_IP:8101$image_path" | sha256sum | cut -d' ' -f1)"
sum_front="$(vps bash -c "curl -s --max-time 10 -H 'Host: app.example.org' http://127.0.0.1:8101$image_path" | sha256sum | cut -d' ' -f1)"
[ "$sum_front" = "$sum_app" ] && [ "$sum_app" != "$(sha256sum </dev/null | cut -d' ' -f1)" ] || fail "the image uploaded through the app machine is not served by the front machine"
[ -n "$(find "$WORK/s3/media/uploads" -type f 2>/dev/null | head -1)" ] || fail "the image is not in object storage"
# A sign-in through Caddy (either machine), then its session asked of each machine directly.
vps systemd-run --quiet --wait --pipe --collect -p User=shoestring-example -p EnvironmentFile=/etc/shoestring/example.env \
  -p WorkingDirectory=/var/lib/shoestring/example --setenv=SUPERUSER_PASSWORD=scaleout-test-password \
  /opt/shoestring/sites/example/current/shoestring createsuperuser --noinput --username scaleout --email scaleout@example.org >/dev/null
cookie="$(ctl curl -sk --max-time 10 -D - -o /dev/null -H 'Content-Type: application/json' -H 'Origin: https://app.example.org' \
  --data '{"username":"scaleout","password":"scaleout-test-password"}' https://app.example.org/api/login/ \
  | sed -n 's/^[Ss]et-[Cc]ookie: \(__Host-sessionid=[^;]*\).*/\1/p')"
[ -n "$cookie" ] || fail "no session cookie from the sign-in"
for machine in vps app; do
  address=127.0.0.1
  [ "$machine" = app ] && address="$APP_IP"
  me="$("$machine" bash -c "curl -s --max-time 10 -H 'Host: app.example.org' -H 'Cookie: $cookie' http://$address:8101/api/session/")"
  grep -q '"scaleout"' <<<"$me" || fail "the session is not valid on the $machine machine: $me"
done
pass "a session is valid on both machines; an image uploaded through the app machine is served by the front (object storage)"

# --- 3. one deploy, two machines ------------------------------------------------------------------------------
LOAD_URL=https://app.example.org/
load_start
shoe deploy --host "alice@$VPS_IP" --host "bob@$APP_IP" "${SSH_ARGS[@]}" "$WORK/release-b" >"$WORK/deploy.txt" 2>&1 \
  || { cat "$WORK/deploy.txt"; fail "the deploy to both machines failed"; }
load_stop "deploy A→B on two machines"
cat "$WORK/deploy.txt"
[ "$(grep -c 'migrated   production' "$WORK/deploy.txt")" = 1 ] || fail "the database was not migrated exactly once"
grep -q 'shared     database' "$WORK/deploy.txt" || fail "the app machine did not leave the database to the front"
instance_commit() { "$@" | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])'; }
[ "$(instance_commit vps curl -s --max-time 5 http://127.0.0.1:8101/version)" = "$commit_b" ] || fail "the front machine does not run B"
[ "$(instance_commit app curl -s --max-time 5 "http://$APP_IP:8101/version")" = "$commit_b" ] || fail "the app machine does not run B"
pass "deploy --host FRONT --host APP: B on both, migrated once, each drained while it restarted; 0 failed requests"

# --- 4. a release that cannot start stops at the front machine ---------------------------------------------------
broken_release "0.1.0-${commit_b:0:7}"
load_start
if shoe deploy --host "alice@$VPS_IP" --host "bob@$APP_IP" "${SSH_ARGS[@]}" "$WORK/release-broken" >"$WORK/deploy-broken.txt" 2>&1; then
  fail "a release that cannot start was reported deployed"
fi
load_stop "a release that cannot start, two machines"
cat "$WORK/deploy-broken.txt"
grep -q "was rolled back" "$WORK/deploy-broken.txt" && grep -q "not reached: bob@$APP_IP" "$WORK/deploy-broken.txt" \
  || fail "the front machine did not roll back, or the app machine was deployed to anyway"
[ "$(instance_commit vps curl -s --max-time 5 http://127.0.0.1:8101/version)" = "$commit_b" ] || fail "the front machine does not run B"
[ "$(instance_commit app curl -s --max-time 5 "http://$APP_IP:8101/version")" = "$commit_b" ] || fail "the app machine does not run B"
pass "a release that cannot start: rolled back on the front machine, the app machine not touched; 0 failed requests"

# --- 5. kill -9 on the app machine -------------------------------------------------------------------------------
restarts() { app systemctl show shoestring-example.service --property=NRestarts --value; }
before="$(restarts)"
load_start
app bash -c 'kill -9 "$(systemctl show shoestring-example.service --property=MainPID --value)"'
sleep 5
load_stop "kill -9 of the app machine's instance"
[ "$(restarts)" != "$before" ] || fail "the killed instance was not restarted"
pass "kill -9 of the app machine's instance: restarted by systemd; 0 failed requests"

# --- 6. the app machine lost ---------------------------------------------------------------------------------------
load_start
app systemctl stop shoestring-example.socket shoestring-example.service
sleep 6
load_stop "the app machine's site stopped"
app systemctl start shoestring-example.socket
for _ in $(seq 1 40); do
  [ "$(vps curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://$APP_IP:8101/up" || true)" = 200 ] && break
  sleep 0.5
done
[ "$(vps curl -s --max-time 2 -o /dev/null -w '%{http_code}' "http://$APP_IP:8101/up")" = 200 ] || fail "the app machine did not come back"
pass "the app machine's site stopped under load: Caddy sent everything to the front machine; 0 failed requests"

# --- 7. the app machine leaves --------------------------------------------------------------------------------------
shoe server site leave example --front "alice@$VPS_IP" --host "bob@$APP_IP" --address "$APP_IP" "${SSH_ARGS[@]}" \
  >"$WORK/leave.txt" 2>&1 || { cat "$WORK/leave.txt"; fail "site leave failed"; }
! vps grep -q "$APP_IP" /etc/caddy/Caddyfile /etc/nftables.conf "$(vps runuser -u postgres -- psql -Atc 'SHOW hba_file')" \
  || fail "the front machine still knows the app machine"
app test ! -e /etc/shoestring/example.env -a ! -e /etc/shoestring/sites/example.json || fail "the site's secrets stayed on the app machine"
! app grep -q "$VPS_IP" /etc/nftables.conf || fail "the app machine's firewall still opens a port to the front machine"
[ "$(ctl curl -sk --max-time 10 -o /dev/null -w '%{http_code}' https://app.example.org/)" = 200 ] || fail "the site does not answer after the leave"
[ "$(vps runuser -u postgres -- psql -Atc "SELECT count(*) FROM users WHERE username = 'scaleout'" shoestring_example)" = 1 ] \
  || fail "the site's data did not stay on the front machine"
pass "site leave: the front machine forgets the app machine (Caddy, firewall, pg_hba), the app machine keeps none of the site; data and site intact"

printf '\nunder load (wrk through the front machine'"'"'s Caddy, 8 connections):\n'
printf '  %s\n' "${SUMMARY[@]}"
printf '\n%s passed, 0 failed (scale-out test, %s s)\n' "$PASSED" $((SECONDS - T0))
