#!/usr/bin/env bash
# The single sign-on and Open Badges tests against real components: installs what they run
# (the OpenID Connect provider from npm with its lockfile; the Open Badges validators from PyPI
# and npm, cached outside the repository) and runs those tests with LABS_REQUIRED=1, so a
# missing component fails instead of skipping. With TEST_DATABASE_URL set they run on
# PostgreSQL as well. Safe to run again: every install step checks first.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
CACHE="${SHOESTRING_CI_CACHE:-/var/cache/shoestring-ci}"
mkdir -p "$CACHE"

echo "==> OpenID Connect provider (tests/labs/oidc-provider)"
if [ ! -d tests/labs/oidc-provider/node_modules/oidc-provider ]; then
  (cd tests/labs/oidc-provider && npm ci --no-audit --no-fund)
fi

echo "==> Open Badges 2.0 validator (badgecheck, pinned in tests/labs/badgecheck/requirements.txt)"
VENV="$CACHE/badgecheck"
if ! "$VENV/bin/python" -c "import openbadges" 2>/dev/null; then
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --no-deps -r tests/labs/badgecheck/requirements.txt
fi
export BADGECHECK_PYTHON="$VENV/bin/python"

echo "==> Open Badges 3.0 verifier (openbadgeslib, pinned in tests/labs/openbadgeslib/requirements.txt)"
VENV3="$CACHE/openbadgeslib"
if ! "$VENV3/bin/python" -c "import openbadgeslib" 2>/dev/null; then
  python3 -m venv "$VENV3"
  "$VENV3/bin/pip" install -q --no-deps -r tests/labs/openbadgeslib/requirements.txt
fi
export OPENBADGESLIB_PYTHON="$VENV3/bin/python"

export LABS_REQUIRED=1
FILTERS=(accounts::sso badges::)

echo "==> single sign-on and badges tests (SQLite)"
for filter in "${FILTERS[@]}"; do
  cargo test --locked --test it "$filter"
done
if [ -n "${TEST_DATABASE_URL:-}" ]; then
  echo "==> single sign-on and badges tests (PostgreSQL)"
  for filter in "${FILTERS[@]}"; do
    cargo test --locked --test it "$filter"
  done
fi
