#!/usr/bin/env bash
# Builds (or reuses) the cached Debian 12 root filesystem that the server-setup container test boots.
# The server packages are installed at build time because the booted container has no mirror access:
# that is the offline "configure" phase the test exercises. Usage: server-rootfs.sh TARBALL
set -euo pipefail

tarball="$1"
# Bump when the package list changes, so a stale cache is rebuilt.
version=2
packages=(
  systemd-sysv dbus iproute2 procps ca-certificates curl sudo python3 openssl
  openssh-server caddy postgresql postgresql-client fail2ban python3-systemd nftables unattended-upgrades
)

if [ -s "$tarball" ] && [ "$(cat "$tarball.version" 2>/dev/null)" = "$version" ]; then
  echo "rootfs: cached $tarball"
  exit 0
fi
mkdir -p "$(dirname "$tarball")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
include="$(IFS=,; echo "${packages[*]}")"
timeout 900 mmdebstrap --variant=minbase --include="$include" --format=tar bookworm "$work/rootfs.tar"
mv "$work/rootfs.tar" "$tarball"
echo "$version" >"$tarball.version"
echo "rootfs: built $tarball ($(du -h "$tarball" | cut -f1))"
