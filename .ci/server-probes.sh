# Probes of the set-up container, sourced by .ci/server-test.sh (which defines the helpers).

# --- HTTPS through Caddy, two sites, the admin host ----------------------------------------------------
probe_http() {
  expect_status 200 https://app.example.com/
  expect_status 200 https://app.example.org/
  expect_status 308 http://app.example.com/
  expect_status 301 https://example.com/
  expect_status 301 https://www.example.org/
  [ "$(fetch https://www.example.com/x)" = "301 https://app.example.com/x" ] || fail "www does not redirect to app"
  expect_status 404 https://app.example.com/admin/
  expect_status 404 https://p.example.com/posts/
  expect_status 404 https://p.example.com/
  local admin
  admin="$(fetch https://p.example.com/admin/)"
  case "$admin" in 30[23]\ *p.example.com/admin/login/*) pass "p.example.com/admin/ → the console's login ($admin)" ;;
    *) fail "p.example.com/admin/ answered '$admin'" ;; esac
  expect_status 200 https://p.example.com/admin/login/
  expect_status 200 https://p.example.com/static/admin/style.css
  expect_status 404 https://p.example.com/accounts/login/
  # Each site is its own process with its own settings: its port refuses the other's host name.
  [ "$(inside curl -s -o /dev/null -w '%{http_code}' -H 'Host: app.example.com' http://127.0.0.1:8101/)" = 200 ] \
    || fail "site example does not answer for its own host"
  [ "$(inside curl -s -o /dev/null -w '%{http_code}' -H 'Host: app.example.org' http://127.0.0.1:8101/)" = 400 ] \
    || fail "site example answers for the other site's host"
  inside grep -q '"host":"app.example.org"' /var/log/caddy/shop.access.log || fail "no JSON access log for shop"
  inside sh -c '! grep -q example.org /var/log/caddy/example.access.log' || fail "one log for two sites"
  pass "two sites: separate processes, settings and JSON access logs"
  local port
  # Retried for a few seconds, with what the server shows on a failure: under CPU load one scrape
  # in a few runs has failed here, and its cause is not known yet.
  for port in 9101 9102; do
    for try in $(seq 1 15); do
      inside curl -sf --max-time 5 "http://127.0.0.1:$port/metrics" | grep -q '^# TYPE' && break
      [ "$try" -lt 15 ] || {
        inside sh -c "ss -ltn; curl -sv --max-time 5 http://127.0.0.1:$port/metrics 2>&1 | head -20"
        inside journalctl -u 'shoestring-*' --no-pager -o short-precise -n 20
        fail "no /metrics on $port"
      }
      sleep 0.2
    done
  done
  pass "each site serves its own /metrics (9101, 9102)"
  local headers
  headers="$(ctl curl -sk -D - -o /dev/null --resolve "app.example.com:443:$VPS_IP" https://app.example.com/)"
  grep -qi '^strict-transport-security: max-age=31536000' <<<"$headers" || fail "no HSTS"
  grep -qi '^server:' <<<"$headers" && fail "Server header disclosed"
  pass "HSTS set, no Server header"
}

# --- firewall, SSH, fail2ban --------------------------------------------------------------------------
probe_firewall() {
  inside systemd-run --unit probe-listener --quiet python3 -m http.server 8080 --bind 0.0.0.0
  sleep 1
  inside curl -s -o /dev/null --max-time 3 http://127.0.0.1:8080/ || fail "the probe listener does not run"
  if ctl curl -s -o /dev/null --max-time 3 "http://$VPS_IP:8080/"; then fail "port 8080 is reachable"; fi
  pass "a listener on 0.0.0.0:8080 is unreachable from outside (dropped)"
  inside systemctl stop probe-listener
  ctl ping -c 1 -W 2 "$VPS_IP" >/dev/null || fail "ICMP echo is dropped"
  pass "ICMP echo answered"
}

# fail2ban counts the probes' refused logins too, and reads them from the journal a moment after they
# happen, so clearing bans afterwards races with it (a late ban also outlives a reboot). The prober's
# address is on the jail's ignore list instead, set at run time (gone at the next boot), except while
# probe_fail2ban tests the bans themselves.
trust_prober() { inside fail2ban-client set sshd addignoreip "$CTL_IP" >/dev/null; }

probe_ssh() {
  trust_prober
  as_user alice sudo -n true || fail "alice cannot log in with her key"
  pass "alice logs in with a key and uses sudo"
  if as_user root true 2>/dev/null; then fail "root can still log in"; fi
  pass "root cannot log in"
  local offered
  offered="$(ctl ssh -o BatchMode=yes -o PubkeyAuthentication=no -o UserKnownHostsFile="$WORK/known_hosts" \
    "alice@$VPS_IP" true 2>&1 || true)"
  grep -q 'Permission denied (publickey)' <<<"$offered" || fail "sshd still offers other methods: $offered"
  pass "password login refused: sshd offers publickey only"
}

probe_fail2ban() {
  local stranger="$WORK/stranger" start
  ssh-keygen -q -t ed25519 -N '' -f "$stranger"
  inside fail2ban-client set sshd delignoreip "$CTL_IP" >/dev/null 2>&1 || true
  inside fail2ban-client unban --all >/dev/null
  for _ in 1 2 3 4; do
    ctl ssh -o BatchMode=yes -o ConnectTimeout=3 -o IdentitiesOnly=yes -i "$stranger" \
      -o UserKnownHostsFile="$WORK/known_hosts" "intruder@$VPS_IP" true >/dev/null 2>&1 || true
  done
  start=$SECONDS
  until grep -q "$CTL_IP" <<<"$(inside fail2ban-client status sshd)"; do
    [ $((SECONDS - start)) -lt 15 ] || fail "no ban after failed logins"
    sleep 0.5
  done
  if as_user alice true 2>/dev/null; then fail "a banned address can still connect"; fi
  pass "failed SSH logins get the address banned"
  trust_prober
  inside fail2ban-client set sshd unbanip "$CTL_IP" >/dev/null
  as_user alice true || fail "unban did not restore SSH"
  pass "unban restores SSH"
}

# --- units -------------------------------------------------------------------------------------------------
probe_units() {
  inside systemd-analyze verify --man=no /etc/systemd/system/shoestring-example.socket \
    /etc/systemd/system/shoestring-example.service /etc/systemd/system/shoestring-shop.socket \
    /etc/systemd/system/shoestring-shop.service || fail "systemd-analyze verify failed"
  pass "systemd-analyze verify passes on every unit"
  local unit score
  for unit in shoestring-example shoestring-shop caddy; do
    score="$(inside systemd-analyze security --no-pager "$unit.service" | awk '/Overall exposure/ {print $(NF-2)}')"
    printf 'systemd-analyze security %s.service: %s\n' "$unit" "$score"
    if [ "$unit" != caddy ]; then
      awk -v s="$score" 'BEGIN { exit !(s <= 2.0) }' || fail "$unit exposure $score above 2.0"
    fi
  done
  pass "site units' exposure within 2.0"
  [ "$(inside stat -c '%a %U:%G' /etc/shoestring/shop.env)" = '640 root:shoestring-shop' ] || fail "env file mode"
  [ "$(inside stat -c '%a' /var/lib/shoestring/shop)" = 700 ] || fail "data dir mode"
  inside grep -q SECRET /etc/environment && fail "secret in /etc/environment"
  local super
  super="$(inside runuser -u postgres -- psql -XAtc "SELECT rolsuper FROM pg_roles WHERE rolname='shoestring_shop'")"
  [ "$super" = f ] || fail "the shop role is a superuser"
  pass "secrets 0640 root:site, data 0700, nothing in /etc/environment, database role not superuser"
}

# --- restarts, a reboot, removal ----------------------------------------------------------------------------
probe_restarts() {
  local codes="" restarter
  inside systemctl restart shoestring-example.service &
  restarter=$!
  for _ in $(seq 1 10); do codes+="$(fetch https://app.example.com/ | cut -d' ' -f1) "; sleep 0.1; done
  wait "$restarter"
  [ "$(tr ' ' '\n' <<<"$codes" | grep -cv '^200$\|^$')" = 0 ] || fail "requests failed during a restart: $codes"
  pass "site restart: every request answered 200 ($codes)"
  inside systemctl restart caddy.service
  sleep 1
  expect_status 200 https://app.example.com/
  t=$SECONDS
  inside systemctl reboot || true
  wait "$NSPAWN_PID" 2>/dev/null || true
  NSPAWN_PID=""
  boot_as_alice
  printf 'reboot: %s s\n' $((SECONDS - t))
  expect_status 200 https://app.example.com/
  expect_status 200 https://app.example.org/
  probe_firewall
}

boot_as_alice() {
  timeout 1500 systemd-nspawn -b -D "$WORK/rootfs" --register=no --keep-unit -M vps \
    --network-namespace-path="/run/netns/$VPS_NS" --capability=CAP_NET_ADMIN --console=passive \
    >>"$WORK/console-vps.log" 2>&1 &
  NSPAWN_PID=$!
  local start=$SECONDS
  until as_user alice true 2>/dev/null && [ "$(fetch https://app.example.com/ | cut -d' ' -f1)" = 200 ]; do
    [ $((SECONDS - start)) -lt 90 ] || fail "the site did not come back after a reboot"
    sleep 0.5
  done
}

probe_remove() {
  ctl "$BIN" server site list "${REMOTE[@]}" >"$WORK/list.txt"
  grep -q '^example  *example.com  *sqlite  *8101  *internal  *1  *active' "$WORK/list.txt" \
    && grep -q '^shop  *example.org  *postgres  *8102  *internal  *1  *active' "$WORK/list.txt" || fail "site list: $(cat "$WORK/list.txt")"
  pass "site list shows both sites, their databases, ports, instances and states"
  ctl "$BIN" server site remove shop "${REMOTE[@]}"
  [ "$(fetch https://app.example.org/ | cut -d' ' -f1)" != 200 ] || fail "a removed site still answers"
  inside test -d /var/lib/shoestring/shop || fail "remove without --purge deleted the data"
  expect_status 200 https://app.example.com/
  pass "site remove: out of Caddy, data kept, the other site unaffected"
  ctl "$BIN" server site add shop "${REMOTE[@]}" --domain example.org --db postgres --tls internal >/dev/null
  expect_status 200 https://app.example.org/
  ctl "$BIN" server site remove shop --purge "${REMOTE[@]}"
  if inside test -e /var/lib/shoestring/shop || inside test -e /etc/shoestring/shop.env || inside id shoestring-shop 2>/dev/null; then
    fail "--purge left the site's data, secrets or user"
  fi
  [ -z "$(inside runuser -u postgres -- psql -XAtc "SELECT 1 FROM pg_roles WHERE rolname='shoestring_shop'")" ] \
    || fail "--purge left the database role"
  pass "site added back onto its kept data, then purged: data, secrets, user and database gone"
}

probe_http
probe_firewall
probe_ssh
probe_units
probe_restarts
probe_fail2ban
probe_remove
