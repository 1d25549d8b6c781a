#!/usr/bin/env bash
# `shoestring deploy` in a real Debian 12 "VPS" (systemd as PID 1 in systemd-nspawn, as in
# .ci/server-test.sh), driven over SSH from a second network namespace, with wrk reading through
# Caddy over HTTPS during every step:
#  1. a new release → deployed; /version shows its commit; 0 failed requests;
#  2. a release that crashes at start → rolled back automatically; 0 failed requests; the reason;
#  3. `deploy rollback` → the release before; 0 failed requests;
#  4. two deploys at once → the second is refused while the first holds the lock;
#  5. a release whose migration fails on production's data → stopped at the rehearsal on a
#     restored copy: production's release, schema and data untouched; a clear report;
#  6. `deploy status` says all of it; old releases are pruned; a staging copy of this SQLite site
#     with release C is refused at its restore and removed whole, one with B runs and is removed;
#  7. a PostgreSQL site with two instances: the rehearsal restores into a scratch database its drill
#     role creates; the deploy restarts one instance at a time, each out of Caddy until ready;
#  8. there, a release that starts but never becomes ready → rolled back; 0 failed requests;
#  9. there, kill -9 of each instance under load → 0 failed requests, systemd restarts it;
# 10. every scheduled job ran once across both instances;
# 11. the per-account login lock holds across both; the per-address budget is per instance;
# 12. an image uploaded through one instance is served by the other;
# 13. `deploy --staging`: release C on a new two-word site with a restored copy of production's
#     data (its archive sealed with a passphrase), sending no mail; removed with one command.
# The releases: A is BINARY; B is the same tree built as another commit; C is B plus a migration
# that fails on real data (a unique index over users.is_staff while two staff users exist), and
# the crashing release is a shell script that answers `version` as a new commit, runs everything
# else as B, and exits 1 when started as a server. B and C are built into a cached target folder
# (their dependencies compile once per machine) unless DEPLOY_BIN_B and DEPLOY_BIN_C name them.
# Usage: .ci/deploy-test.sh [BINARY]   (default target/debug/shoestring; run as root)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE="${SHOESTRING_CI_CACHE:-/var/cache/shoestring-ci}"
# shellcheck source=.ci/server-lib.sh
source .ci/server-lib.sh
PASSED=0
T0=$SECONDS
WORK="$(mktemp -d /var/tmp/shoestring-deploy.XXXXXX)"
cp "$(realpath "${1:-target/debug/shoestring}")" "$WORK/release-a"
BIN="$WORK/release-a"
WRK_PID=""
finish() {
  [ -n "$WRK_PID" ] && kill "$WRK_PID" 2>/dev/null
  rm -rf "/etc/netns/$CTL_NS"
  cleanup
}
trap finish EXIT
trap "exit 130" INT TERM

install_tools_and_rootfs wrk:wrk rsync:rsync

# --- the releases ---------------------------------------------------------------------------------
commit_a="$("$BIN" version | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])')"
commit_b="$(printf 'b%s' "$commit_a" | sha1sum | cut -c1-40)"
commit_c="$(printf 'c%s' "$commit_a" | sha1sum | cut -c1-40)"
if [ -n "${DEPLOY_BIN_B:-}" ]; then cp "$DEPLOY_BIN_B" "$WORK/release-b"; else build_release b "$commit_b"; fi
if [ -n "${DEPLOY_BIN_C:-}" ]; then cp "$DEPLOY_BIN_C" "$WORK/release-c"; else
  build_release c "$commit_c" \
    "-- Assumes one staff member; production has two, so this fails there (and on its restored copy).
CREATE UNIQUE INDEX users_one_staff_member ON users (is_staff);"
fi
commit_b="$("$WORK/release-b" version | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])')"
commit_c="$("$WORK/release-c" version | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])')"
release_b="0.1.0-${commit_b:0:7}"
broken_release "$release_b"

# --- a fresh server with one site ------------------------------------------------------------------
prepare_vps
# `ip netns exec` reads /etc/netns/NAME/hosts as /etc/hosts: wrk and curl find the site by name.
mkdir -p "/etc/netns/$CTL_NS"
printf '127.0.0.1\tlocalhost\n%s\tapp.example.com app.example.org\n' "$VPS_IP" >"/etc/netns/$CTL_NS/hosts"
boot

export SMTP_URL="smtps://mailer:mail-secret@mail.invalid:465"
mapfile -t OPTS < <(ssh_opts | paste -d= - - | sed 's/^-o=//')
SSH_ARGS=()
for opt in "${OPTS[@]}"; do SSH_ARGS+=(--ssh-option "$opt"); done
ctl "$BIN" server setup --host "root@$VPS_IP" "${SSH_ARGS[@]}" --admin-user alice --phase configure \
  --domain example.com --tls internal >"$WORK/setup.txt" 2>&1 || { cat "$WORK/setup.txt"; fail "server setup failed"; }
REMOTE=(--host "alice@$VPS_IP" "${SSH_ARGS[@]}" --site example)
[ "$(as_user alice sudo readlink /opt/shoestring/sites/example/current)" = "../../releases/0.1.0-${commit_a:0:7}" ] \
  || fail "the first release is not linked as current"
pass "server setup: site example runs release A (0.1.0-${commit_a:0:7}) from /opt/shoestring/releases"

# Two staff members: real data the migration of release C does not expect.
for n in 1 2; do
  as_user alice sudo systemd-run --quiet --wait --pipe --collect -p User=shoestring-example \
    -p EnvironmentFile=/etc/shoestring/example.env -p WorkingDirectory=/var/lib/shoestring/example \
    --setenv=SUPERUSER_PASSWORD="deploy-test-password-$n" /opt/shoestring/sites/example/current/shoestring \
    createsuperuser --noinput --username "admin$n" --email "admin$n@example.com" >/dev/null
done

site_commit() { ctl curl -sk --max-time 10 https://app.example.com/version | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])'; }
site_schema() { ctl curl -sk --max-time 10 https://app.example.com/readyz | python3 -c 'import json, sys; print([c["detail"] for c in json.load(sys.stdin)["checks"] if c["name"] == "database"][0])'; }

# --- load: wrk through Caddy for the length of one step ----------------------------------------------
LOAD_URL=https://app.example.com/
# The laptop side runs at nice 10: on a real deploy its SSH client and checksums use another
# machine's CPU, not the server's two cores that serve the load.
deploy() { nice -n 10 ip netns exec "$CTL_NS" timeout 120 "$BIN" deploy "${REMOTE[@]}" "$@"; }
shop_deploy() { nice -n 10 ip netns exec "$CTL_NS" timeout 120 "$BIN" deploy "${SHOP[@]}" "$@"; }

# ONLY_INSTANCES=1 skips to the PostgreSQL site with two instances (7–11), when working on those.
if [ -z "${ONLY_INSTANCES:-}" ]; then
# --- 1. a new release -------------------------------------------------------------------------------
load_start
t=$SECONDS
deploy "$WORK/release-b" >"$WORK/deploy-b.txt" 2>&1 || { cat "$WORK/deploy-b.txt"; fail "the deploy of B failed"; }
printf '  deploy took %s s\n' $((SECONDS - t))
load_stop "deploy A→B"
cat "$WORK/deploy-b.txt"
grep -q 'backed up' "$WORK/deploy-b.txt" && grep -q 'rehearsed' "$WORK/deploy-b.txt" || fail "no backup or rehearsal"
[ "$(site_commit)" = "$commit_b" ] || fail "/version does not show B's commit"
pass "deploy of a new release: backup, rehearsal, migrate, switch; /version shows B; 0 failed requests"

# --- 2. a release that cannot start ---------------------------------------------------------------------
load_start
if deploy "$WORK/release-broken" >"$WORK/deploy-broken.txt" 2>&1; then fail "a crashing release was reported deployed"; fi
load_stop "crashing release, rolled back"
cat "$WORK/deploy-broken.txt"
grep -q "was rolled back, $release_b runs again" "$WORK/deploy-broken.txt" || fail "no rollback report"
grep -q 'fails at start on purpose' "$WORK/deploy-broken.txt" || fail "the report does not say why"
[ "$(site_commit)" = "$commit_b" ] || fail "B does not run after the rollback"
pass "a release that crashes at start: rolled back to B automatically with the reason; 0 failed requests"

# --- 3. rollback --------------------------------------------------------------------------------------
load_start
deploy rollback >"$WORK/rollback.txt" 2>&1 || { cat "$WORK/rollback.txt"; fail "deploy rollback failed"; }
load_stop "deploy rollback B→A"
cat "$WORK/rollback.txt"
[ "$(site_commit)" = "$commit_a" ] || fail "rollback did not bring A back"
pass "deploy rollback: A runs again (B's schema); 0 failed requests"

# --- 4. two deploys at once ---------------------------------------------------------------------------------
# A deploy holds the site's flock for its whole run (a second real deploy started beside it lost the
# race to a run that takes a second here, so the lock is held the way a deploy holds it, by flock).
as_user alice sudo flock /opt/shoestring/sites/example/deploy.lock sleep 10 &
holder=$!
for _ in $(seq 1 50); do as_user alice sudo flock -n /opt/shoestring/sites/example/deploy.lock true 2>/dev/null || break; sleep 0.2; done
if deploy "$WORK/release-b" >"$WORK/second.txt" 2>&1; then fail "a deploy ran while another held the lock"; fi
cat "$WORK/second.txt"
grep -q 'another deploy of site example is running' "$WORK/second.txt" || fail "the second deploy was not refused"
[ "$(site_commit)" = "$commit_a" ] || fail "the refused deploy changed the running release"
wait "$holder"
load_start
deploy "$WORK/release-b" >"$WORK/first.txt" 2>&1 || { cat "$WORK/first.txt"; fail "the deploy after the lock was freed failed"; }
load_stop "deploy A→B again"
[ "$(site_commit)" = "$commit_b" ] || fail "B does not run after the deploy"
pass "two deploys at once: the second is refused while the first holds the lock, and changes nothing"

# --- 5. a migration that fails on production's data -----------------------------------------------------------
schema_before="$(site_schema)"
current_before="$(as_user alice sudo readlink /opt/shoestring/sites/example/current)"
load_start
if deploy --keep 3 "$WORK/release-c" >"$WORK/deploy-c.txt" 2>&1; then fail "release C was deployed"; fi
load_stop "failing migration, stopped at the rehearsal"
cat "$WORK/deploy-c.txt"
grep -q 'the rehearsal on a restored copy of production failed, production untouched' "$WORK/deploy-c.txt" \
  || fail "no rehearsal report"
grep -q 'users_one_staff_member\|UNIQUE constraint failed' "$WORK/deploy-c.txt" || fail "the report does not name the failure"
[ "$(site_commit)" = "$commit_b" ] || fail "production's release changed"
[ "$(site_schema)" = "$schema_before" ] || fail "production's schema changed: $schema_before → $(site_schema)"
[ "$(as_user alice sudo readlink /opt/shoestring/sites/example/current)" = "$current_before" ] || fail "current moved"
pass "a migration that fails on real data: stopped at the rehearsal ($schema_before kept), B still serves"

# --- 6. status and pruning ------------------------------------------------------------------------------------
deploy status --json >"$WORK/status.json"
python3 - "$WORK/status.json" "$release_b" <<'PY'
import json, sys
status, release_b = json.load(open(sys.argv[1])), sys.argv[2]
site = status["sites"][0]
assert site["site"] == "example" and site["release"] == release_b, site
first = site["instances"][0]
assert first["service"] == "active" and first["ready"] == "/readyz 200 OK", site
last = site["last_deploy"]
assert last["action"] == "deploy" and last["outcome"] == "stopped" and "rehearsal" in last["reason"], last
assert site["last_backup"] and site["last_log"], site
assert len(status["releases"]) <= 3, status["releases"]
print("status:", site["release"], first["ready"], "| last:", last["release"], last["outcome"], "| releases:", status["releases"])
PY
pass "deploy status: release, health, last backup, last deploy with its reason and log; releases pruned to 3"

# --- 6b. staging copies of the SQLite site: one whose migration fails, then one that runs ----------------------
deploy --staging "$WORK/release-c" >"$WORK/stage-c.txt" 2>&1 && { cat "$WORK/stage-c.txt"; fail "a copy whose migration fails was reported made"; }
grep -q 'was not made, and what had been made of it is removed.*restore' "$WORK/stage-c.txt" \
  || { cat "$WORK/stage-c.txt"; fail "no clear report for a copy whose migration fails"; }
[ "$(as_user alice sudo ls /etc/shoestring/sites /var/lib/shoestring /opt/shoestring/sites | tr '\n' ' ')" \
  = "/etc/shoestring/sites: example.json  /opt/shoestring/sites: example  /var/lib/shoestring: example " ] \
  || fail "the failed copy left something behind: $(as_user alice sudo ls /etc/shoestring/sites /var/lib/shoestring /opt/shoestring/sites)"
[ "$(site_commit)" = "$commit_b" ] || fail "production changed"
deploy --staging "$WORK/release-b" >"$WORK/stage-b.txt" 2>&1 || { cat "$WORK/stage-b.txt"; fail "deploy --staging of the SQLite site failed"; }
stage="$(sed -n 's/^site example: staging copy \([a-z]*\) .*/\1/p' "$WORK/stage-b.txt")"
stage_host="$(sed -n 's|^  ready      https://\([^/]*\)/ .*|\1|p' "$WORK/stage-b.txt")"
admin_host="p-$stage_host"
stage_get() { ctl curl -sk --max-time 10 --resolve "$1:443:$VPS_IP" -o /dev/null -w '%{http_code}' "https://$1$2"; }
[ "$(stage_get "$stage_host" /readyz)" = 200 ] && [ "$(stage_get "$admin_host" /admin/login/)" = 200 ] \
  || fail "the SQLite copy does not answer on $stage_host and $admin_host"
as_user alice sudo test -s "/var/lib/shoestring/$stage/shoestring.db" || fail "the copy has no SQLite file of its own"
ctl "$BIN" server site remove "$stage" --host "alice@$VPS_IP" "${SSH_ARGS[@]}" >/dev/null || fail "removing the SQLite copy failed"
[ "$(as_user alice sudo ls /var/lib/shoestring | tr '\n' ' ')" = "example " ] || fail "the SQLite copy's data is still there"
pass "staging on SQLite: a copy whose migration fails is refused and removed whole; $stage_host runs B with its own copy, then removed"
fi

# --- 7. a PostgreSQL site with two instances: a deploy one instance at a time ----------------------
ctl "$BIN" server site add shop --host "alice@$VPS_IP" "${SSH_ARGS[@]}" --domain example.org --db postgres \
  --instances 2 --tls internal >"$WORK/shop.txt" 2>&1 || { cat "$WORK/shop.txt"; fail "adding the PostgreSQL site failed"; }
SHOP_ADDED=$SECONDS
SHOP=(--host "alice@$VPS_IP" "${SSH_ARGS[@]}" --site shop)
instance_commit() { # PORT: the commit the shop instance on that loopback port reports
  as_user alice curl -s --max-time 5 "http://127.0.0.1:$1/version" | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])'
}
LOAD_URL=https://app.example.org/
load_start
date -u '+deploy started at %T.%N'
shop_deploy "$WORK/release-b" >"$WORK/deploy-shop.txt" 2>&1 \
  || { cat "$WORK/deploy-shop.txt"; fail "the deploy to the PostgreSQL site failed"; }
cat "$WORK/deploy-shop.txt"
load_stop "deploy A→B, two instances"
grep -q 'rehearsed' "$WORK/deploy-shop.txt" || fail "no rehearsal on PostgreSQL"
grep -q 'ready      .* on shoestring-shop-2 ' "$WORK/deploy-shop.txt" || fail "the second instance was not restarted"
for port in 8102 14102; do [ "$(instance_commit $port)" = "$commit_b" ] || fail "the instance on $port does not run B"; done
leftover="$(as_user alice "sudo runuser -u postgres -- psql -Atc \"SELECT count(*) FROM pg_database WHERE datname LIKE 'shoestring_drill_%'\"")"
[ "$leftover" = 0 ] || fail "the rehearsal left $leftover scratch databases"
pass "two instances on PostgreSQL: rehearsal in a scratch database (none left), B on both, one at a time; 0 failed"

# --- 8. a release that starts but never becomes ready -------------------------------------------------------
# It runs B with a disk-space floor no disk meets, so /readyz answers 503 while it serves.
commit_unready=0dd0000000000000000000000000000000000000
cat >"$WORK/release-unready" <<EOF
#!/bin/sh
case "\$1" in
  version) echo '{"version":"0.1.0","commit":"$commit_unready","built_at":0}' ;;
  serve) exec env READY_MIN_FREE_MB=1000000000 /opt/shoestring/releases/$release_b/shoestring "\$@" ;;
  *) exec /opt/shoestring/releases/$release_b/shoestring "\$@" ;;
esac
EOF
chmod 0755 "$WORK/release-unready"
load_start
if shop_deploy --timeout 8 "$WORK/release-unready" >"$WORK/deploy-unready.txt" 2>&1; then
  fail "a release that never became ready was reported deployed"
fi
cat "$WORK/deploy-unready.txt"
load_stop "release never ready, rolled back (two instances)"
grep -q "was rolled back, $release_b runs again" "$WORK/deploy-unready.txt" || fail "no rollback report"
grep -q '/readyz answered 503' "$WORK/deploy-unready.txt" || fail "the report does not say why"
for port in 8102 14102; do [ "$(instance_commit $port)" = "$commit_b" ] || fail "the instance on $port does not run B"; done
pass "a release that starts but never becomes ready: kept out of Caddy, rolled back; 0 failed requests"

# --- 9. kill -9 of each instance in turn under load ---------------------------------------------------------
restarts() { as_user alice systemctl show "$1" --property=NRestarts --value; }
before="$(restarts shoestring-shop.service)/$(restarts shoestring-shop-2.service)"
load_start
as_user alice sudo systemctl kill --signal=KILL shoestring-shop-2.service
sleep 4
as_user alice sudo systemctl kill --signal=KILL shoestring-shop.service
sleep 4
load_stop "kill -9 of each instance"
after="$(restarts shoestring-shop.service)/$(restarts shoestring-shop-2.service)"
[ "$before" != "$after" ] || fail "the killed instances were not restarted ($before → $after)"
for port in 8102 14102; do [ "$(instance_commit $port)" = "$commit_b" ] || fail "the instance on $port is not back"; done
pass "kill -9 of each instance under load: restarted by systemd ($before → $after restarts); 0 failed requests"

# --- 10. scheduled jobs: each occurrence once across both instances ------------------------------------------
# questions.refresh is due every 30 s; wait for at least three occurrences since the site was added.
sleep $((SHOP_ADDED + 100 > SECONDS ? SHOP_ADDED + 100 - SECONDS : 0))
# The whole journal: the last lines of a process killed or stopped may reach journald after the
# process is gone, without the unit (journald reads it from the live process), so a line's unit is
# found from its PID's other lines.
as_user alice sudo journalctl -o json --no-pager >"$WORK/shop-journal.json"
as_user alice "sudo runuser -u postgres -- psql -Atc 'SELECT id, kind, status, attempts, run_at, locked_at, last_error FROM jobs' shoestring_shop" \
  >"$WORK/shop-jobs.txt"
python3 - "$WORK/shop-journal.json" "$WORK/shop-jobs.txt" <<'PY'
import json, sys
entries = [json.loads(line) for line in open(sys.argv[1])]
unit_of = {e["_PID"]: e["_SYSTEMD_UNIT"] for e in entries if "_PID" in e and e.get("_SYSTEMD_UNIT")}
stream_unit = {e["_STREAM_ID"]: e["_SYSTEMD_UNIT"] for e in entries if "_STREAM_ID" in e and e.get("_SYSTEMD_UNIT")}
runs, events, unknown = [], [], []
for entry in entries:
    try:
        log = json.loads(entry.get("MESSAGE", ""))
    except (ValueError, TypeError):
        continue
    fields = log.get("fields", {}) if isinstance(log, dict) else {}
    unit = entry.get("_SYSTEMD_UNIT") or unit_of.get(entry.get("_PID")) or stream_unit.get(entry.get("_STREAM_ID"), "?")
    if unit == "?" and "job_id" in fields:
        unknown.append({k: entry.get(k) for k in ("_PID", "_STREAM_ID", "_COMM", "SYSLOG_IDENTIFIER", "__REALTIME_TIMESTAMP")} | fields)
    if not unit.startswith("shoestring-shop") or "job_id" not in fields:
        continue
    events.append((fields["message"], fields.get("kind"), fields["job_id"], unit, entry["__REALTIME_TIMESTAMP"]))
    if fields["message"] == "job done":
        runs.append((fields["kind"], fields["job_id"], unit, int(entry["__REALTIME_TIMESTAMP"]) / 1e6))
# journald drops a unit's lines past its rate limit and says so; the site units raise the limit.
suppressed = [e["MESSAGE"] for e in entries if str(e.get("MESSAGE", "")).startswith("Suppressed") and "shoestring-shop" in str(e.get("MESSAGE", ""))]
assert not suppressed, f"journald dropped the instances' lines: {suppressed}"
ids = [r[1] for r in runs]
assert len(ids) == len(set(ids)), f"a job ran twice: {sorted(ids)}"
refresh = sorted(r[3] for r in runs if r[0] == "questions.refresh")
assert len(refresh) >= 3, f"questions.refresh ran {len(refresh)} times: {events}; lines of no known unit: {unknown}; jobs table: {open(sys.argv[2]).read()!r}"
gaps = [b - a for a, b in zip(refresh, refresh[1:])]
assert min(gaps) > 25, f"questions.refresh ran twice for one occurrence: gaps {gaps}"
units = sorted({r[2] for r in runs})
print(f"jobs: {len(runs)} runs, ids unique; questions.refresh {len(refresh)} times, gaps {[round(g) for g in gaps]} s; ran on {units}")
PY
pass "scheduled jobs across two instances: every job once, every occurrence of questions.refresh once"

# --- 11. rate limits across both instances -------------------------------------------------------------------
as_user alice sudo systemd-run --quiet --wait --pipe --collect -p User=shoestring-shop \
  -p EnvironmentFile=/etc/shoestring/shop.env -p WorkingDirectory=/var/lib/shoestring/shop \
  --setenv=SUPERUSER_PASSWORD=shop-owner-password /opt/shoestring/sites/shop/current/shoestring \
  createsuperuser --noinput --username owner --email owner@example.org >/dev/null
login() { # USERNAME PASSWORD: the status of a JSON login through Caddy
  ctl curl -sk -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
    -H 'Origin: https://app.example.org' --data "{\"username\":\"$1\",\"password\":\"$2\"}" https://app.example.org/api/login/
}
# Ten failures alternate between the instances; the lock is in the database, so the eleventh try,
# with the right password, is refused (the per-address budget, 30 a minute per instance, is far off).
t_login=$SECONDS
for n in $(seq 1 10); do login owner "wrong-$n" >/dev/null; done
[ "$(login owner shop-owner-password)" = 429 ] || fail "the account was not locked after 10 failures spread over both instances"
statuses=""
for n in $(seq 1 70); do statuses+="$(login "nobody$n" wrong) "; done
elapsed=$((SECONDS - t_login + 1))
allowed=$((11 + $(tr ' ' '\n' <<<"$statuses" | grep -c '^400$' || true)))
throttled=$(tr ' ' '\n' <<<"$statuses" | grep -c '^429$' || true)
# Each instance allows a burst of 30 and one more every 2 s.
budget=$((2 * (30 + elapsed / 2)))
[ "$allowed" -le "$budget" ] && [ "$throttled" -ge 1 ] \
  || fail "per-address login budget exceeded: $allowed allowed, $throttled throttled in $elapsed s (budget $budget)"
pass "rate limits: the account lock holds across instances; one address: $allowed logins allowed, $throttled refused in $elapsed s (budget $budget: 30 + 1 per 2 s per instance)"

# --- 12. media uploaded through one instance is served by the other ----------------------------------------
png="$(probe_png)"
# (ssh hands the remote shell one line: each command goes as one string, quoted for it.)
post="$(base64 -d <<<"$png" | as_user alice "curl -s --max-time 10 -H 'Host: app.example.org' -H 'Origin: https://app.example.org' \
  -F 'body=a photo for the staging copy' -F 'image=@-;filename=probe.png;type=image/png' http://127.0.0.1:8102/api/posts/")"
post_id="$(python3 -c 'import json, sys; print(json.loads(sys.argv[1])["id"])' "$post")" || fail "the upload through instance 1 failed: $post"
image_path="$(python3 -c 'import json, sys, urllib.parse; print(urllib.parse.urlsplit(json.loads(sys.argv[1])["image"]).path)' "$post")"
sum_2="$(as_user alice "curl -s --max-time 10 -H 'Host: app.example.org' http://127.0.0.1:14102$image_path" | sha256sum | cut -d' ' -f1)"
sum_1="$(as_user alice "curl -s --max-time 10 -H 'Host: app.example.org' http://127.0.0.1:8102$image_path" | sha256sum | cut -d' ' -f1)"
[ "$sum_1" = "$sum_2" ] && [ "$sum_1" != "$(: | sha256sum | cut -d' ' -f1)" ] \
  || fail "the image uploaded through instance 1 ($image_path) is not served alike by instance 2"
pass "media: post $post_id's image, uploaded through instance 1, is served by instance 2 ($image_path, same SHA-256)"

# --- 13. a staging copy: the release on production's data, no mail, removed in one command -------------------
# Production's archives are sealed with a passphrase from here on: the copy must open them too.
printf 'BACKUP_PASSPHRASE="staging test passphrase"\n' | as_user alice sudo tee -a /etc/shoestring/shop.env >/dev/null
LOAD_URL=https://app.example.org/
load_start
shop_deploy --staging "$WORK/release-c" >"$WORK/staging.txt" 2>&1 \
  || { cat "$WORK/staging.txt"; fail "deploy --staging failed"; }
cat "$WORK/staging.txt"
# Adding a site reloads Caddy, which closes the connections idle at that instant: an HTTP/1.1
# client that sends on one just then sees it closed (browsers resend such a request; HTTP/2
# clients are told by GOAWAY). wrk counts that as a read error: at most one per connection.
load_stop "deploy --staging beside production" 8
stage="$(sed -n 's/^site shop: staging copy \([a-z]*\) .*/\1/p' "$WORK/staging.txt")"
stage_host="$(sed -n 's|^  ready      https://\([^/]*\)/ .*|\1|p' "$WORK/staging.txt")"
[ -n "$stage" ] && [[ "$stage_host" =~ ^[a-z]+-[a-z]+\.example\.org$ ]] || fail "no two-word staging host in the report"
for port in 8102 14102; do [ "$(instance_commit $port)" = "$commit_b" ] || fail "production's instance on $port changed"; done
stage_curl() { ctl curl -sk --max-time 10 --resolve "$stage_host:443:$VPS_IP" "$@"; }
[ "$(stage_curl "https://$stage_host/version" | python3 -c 'import json, sys; print(json.load(sys.stdin)["commit"])')" = "$commit_c" ] \
  || fail "the staging copy does not run release C"
stage_curl "https://$stage_host/api/posts/$post_id/" | grep -q 'a photo for the staging copy' || fail "production's post is not in the copy"
[ "$(stage_curl "https://$stage_host$image_path" | sha256sum | cut -d' ' -f1)" = "$sum_1" ] || fail "production's image is not in the copy"
stage_curl -D - -o /dev/null "https://$stage_host/" | grep -qi '^x-robots-tag: noindex' || fail "the staging copy may be indexed"
[ "$(stage_curl -o /dev/null -w '%{http_code}' -H 'Content-Type: application/json' -H "Origin: https://$stage_host" \
  --data '{"email":"owner@example.org"}' "https://$stage_host/api/recover-password/")" = 200 ] || fail "no password reset on the copy"
for _ in $(seq 1 30); do
  held="$(as_user alice "sudo runuser -u postgres -- psql -Atc \"SELECT count(*) FROM outbox_messages WHERE to_addr = 'owner@example.org'\" shoestring_$stage")"
  [ "$held" = 1 ] && break
  sleep 0.5
done
[ "$held" = 1 ] || fail "the reset mail was not kept in the copy's outbox ($held)"
as_user alice sudo grep -q '^MAIL_OUTBOX=true$' "/etc/shoestring/$stage.env" || fail "the copy may send mail"
as_user alice sudo test ! -e "/var/lib/shoestring/$stage/restore" || fail "the archive or key was left in the copy"
nice -n 10 ip netns exec "$CTL_NS" timeout 120 "$BIN" deploy status --host "alice@$VPS_IP" "${SSH_ARGS[@]}" --site "$stage" \
  >"$WORK/stage-status.txt" 2>&1 || { cat "$WORK/stage-status.txt"; fail "deploy status of the copy failed"; }
grep -q "^  staging of   shop, made .*; https://$stage_host/" "$WORK/stage-status.txt" \
  || { cat "$WORK/stage-status.txt"; fail "deploy status does not say what the copy is"; }
pass "staging: $stage_host runs C on a copy of production (post, image, passphrase-sealed archive), not indexed, mail held in its outbox; production still B"

ctl "$BIN" server site remove "$stage" --host "alice@$VPS_IP" "${SSH_ARGS[@]}" >"$WORK/unstage.txt" 2>&1 \
  || { cat "$WORK/unstage.txt"; fail "removing the staging site failed"; }
cat "$WORK/unstage.txt"
[ "$(as_user alice "sudo runuser -u postgres -- psql -Atc \"SELECT count(*) FROM pg_database WHERE datname = 'shoestring_$stage'\"")" = 0 ] \
  || fail "the copy's database is still there"
as_user alice sudo test ! -e "/var/lib/shoestring/$stage" -a ! -e "/etc/shoestring/$stage.env" -a ! -e "/etc/shoestring/sites/$stage.json" \
  || fail "the copy's data, secrets or record are still there"
! as_user alice sudo grep -q "$stage_host" /etc/caddy/Caddyfile || fail "Caddy still serves the copy"
[ "$(stage_curl -o /dev/null -w '%{http_code}' "https://$stage_host/" || true)" != 200 ] || fail "the copy still answers"
pass "staging removed with one command: units, Caddy entry, database, data and secrets gone"

printf '\nunder load (wrk through Caddy, 8 connections):\n'
printf '  %s\n' "${SUMMARY[@]}"
printf '\n%s passed, 0 failed (deploy test, %s s)\n' "$PASSED" $((SECONDS - T0))
