#!/usr/bin/env bash
# The `shoestring server` container test: a real Debian 12 with systemd as PID 1 (systemd-nspawn),
# set up by the binary under test over SSH from a second network namespace, then probed from
# there: HTTPS, the firewall, SSH logins, fail2ban, the units, restarts and a reboot.
# Usage: .ci/server-test.sh [BINARY]   (default target/debug/shoestring; run as root)
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
BIN="$(realpath "${1:-target/debug/shoestring}")"
CACHE="${SHOESTRING_CI_CACHE:-/var/cache/shoestring-ci}"
# shellcheck source=.ci/server-lib.sh
source .ci/server-lib.sh
PASSED=0
T0=$SECONDS

install_tools_and_rootfs ping:iputils-ping

WORK="$(mktemp -d /var/tmp/shoestring-vps.XXXXXX)"
trap cleanup EXIT
trap "exit 130" INT TERM
prepare_vps
printf 'prepared in %s s\n' $((SECONDS - T0))
boot

export SMTP_URL="smtps://mailer:mail-secret@mail.invalid:465"
mapfile -t OPTS < <(ssh_opts | paste -d= - - | sed 's/^-o=//')
REMOTE=(--host "root@$VPS_IP")
for opt in "${OPTS[@]}"; do REMOTE+=(--ssh-option "$opt"); done

# --- before: Debian's defaults ------------------------------------------------------------------
grep -qx 'passwordauthentication yes' <<<"$(vps sshd -T)" || fail "expected Debian's default sshd"
[ "$(ctl ssh -o BatchMode=yes -o PubkeyAuthentication=no -o UserKnownHostsFile="$WORK/known_hosts" \
  "root@$VPS_IP" true 2>&1 | grep -o 'publickey,password' || true)" = publickey,password ] \
  || fail "before setup sshd should offer passwords"
pass "fresh server: sshd offers passwords, root may log in with a key"

# --- dry run on the fresh server changes nothing --------------------------------------------------
scp_opts=(); for opt in "${OPTS[@]}"; do scp_opts+=(-o "$opt"); done
ctl scp -q "${scp_opts[@]}" "$BIN" "root@$VPS_IP:/root/shoestring"
before="$(fingerprint)"
vps /root/shoestring server setup --admin-user alice --phase configure --dry-run | tee "$WORK/dry.txt"
grep -q 'would change (dry run, nothing applied)' "$WORK/dry.txt" || fail "no plan printed"
same_as "$before" || fail "--dry-run changed the server"
pass "--dry-run prints the plan and changes nothing"

# --- first run on the server itself: the lock-out guard holds SSH as it was -------------------------
t=$SECONDS
set +e
vps /root/shoestring server setup --admin-user alice --phase configure | tee "$WORK/run1.txt"
status=${PIPESTATUS[0]}
set -e
printf 'first run: %s s\n' $((SECONDS - t))
[ "$status" -ne 0 ] || fail "a blocked SSH step must make the run fail"
grep -q 'blocked  ssh' "$WORK/run1.txt" && grep -q 'HOST-SSH-GUARD' "$WORK/run1.txt" || fail "no guard finding"
sshd_after="$(vps sshd -T)"
grep -qx 'passwordauthentication yes' <<<"$sshd_after" || fail "the guard let passwords be turned off"
grep -qx 'permitrootlogin without-password' <<<"$sshd_after" || fail "the guard changed root login"
pass "lock-out guard: without a login by alice, root login and passwords stay as they were"

# --- over SSH from the laptop side: second connection, lockdown, first site ------------------------------
t=$SECONDS
ctl "$BIN" server setup "${REMOTE[@]}" --admin-user alice --phase configure \
  --domain example.com --tls internal 2>&1 | tee "$WORK/run2.txt"
printf 'remote run with the first site: %s s\n' $((SECONDS - t))
grep -q 'second connection: alice@' "$WORK/run2.txt" || fail "no second-connection login"
grep -q 'changed  ssh: key-only, no root login' "$WORK/run2.txt" || fail "SSH was not locked down"
grep -q 'HOST-UNIT-EXAMPLE' "$WORK/run2.txt" || fail "no unit score in the report"

# From now on root cannot log in: drive the server as alice (sudo).
REMOTE[1]="alice@$VPS_IP"
ctl "$BIN" server site add shop "${REMOTE[@]}" --domain example.org --db postgres --tls internal \
  --admin-allow 10.254.77.0/24 | tee "$WORK/site2.txt"

before="$(fingerprint)"
t=$SECONDS
ctl "$BIN" server setup "${REMOTE[@]}" --admin-user alice --phase configure | tee "$WORK/run3.txt"
printf 'second run: %s s\n' $((SECONDS - t))
grep -q 'steps: no change' "$WORK/run3.txt" || fail "the second run changed something"
same_as "$before" || fail "the second run changed files or states"
pass "second run: no change (same files, modes, ruleset and units)"
ctl "$BIN" server site add shop "${REMOTE[@]}" --domain example.org --db postgres --tls internal \
  --admin-allow 10.254.77.0/24 --dry-run | tee "$WORK/site2-again.txt"
grep -q 'steps: nothing to do' "$WORK/site2-again.txt" || fail "site add is not idempotent"
pass "site add again: nothing to do"

# --- the report -----------------------------------------------------------------------------------------
ctl "$BIN" server check "${REMOTE[@]}" --json >"$WORK/check.json"
python3 - "$WORK/check.json" <<'PY'
import json, sys
report = json.load(open(sys.argv[1]))
by_id = {f["id"]: f for f in report["findings"]}
for fid in ["HOST-SSH-PASSWORD", "HOST-SSH-ROOT", "HOST-FIREWALL", "HOST-FAIL2BAN", "HOST-UPGRADES",
            "HOST-UNIT-EXAMPLE", "HOST-UNIT-SHOP", "HOST-SITE-EXAMPLE", "HOST-SITE-SHOP", "HOST-SECRETS-SHOP"]:
    assert by_id[fid]["severity"] == "ok", (fid, by_id.get(fid))
# Each site's own `check --deploy`, run as the site: its findings are there, and none is an error.
for site in ["EXAMPLE", "SHOP"]:
    own = [f for f in report["findings"] if f["id"].startswith(site + "/")]
    assert by_id[site + "/OPS-DB"]["severity"] == "ok" and by_id[site + "/SEC-SECRET-KEY"]["severity"] == "ok", own
    assert not [f for f in own if f["severity"] == "error"], own
    assert by_id[site + "/OPS-DATA-DIR"]["severity"] == "ok", by_id.get(site + "/OPS-DATA-DIR")
print("\n".join(f'{f["severity"]:8} {f["id"]}: {f["message"]}' for f in report["findings"]))
PY
pass "server check: every host finding ok, and each site's own check --deploy without an error"
source .ci/server-probes.sh
printf '\n%s passed, 0 failed (container test, %s s)\n' "$PASSED" $((SECONDS - T0))
