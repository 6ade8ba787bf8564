#!/usr/bin/env bash
# System packages the platform and its tests use: the sandbox (bubblewrap; slirp4netns, nftables and nsenter
# for its network namespace) and Chromium (browser tests; skipped with --runtime-only, as `make up` does).
# Installs only what is missing, and only where it can (root + apt); elsewhere it says what to install.
set -euo pipefail
need=()
command -v bwrap >/dev/null || need+=(bubblewrap)
command -v slirp4netns >/dev/null || need+=(slirp4netns)
PATH="$PATH:/usr/sbin:/sbin" command -v nft >/dev/null || need+=(nftables)
command -v nsenter >/dev/null || need+=(util-linux)
PATH="$PATH:/usr/sbin:/sbin" command -v ip >/dev/null || need+=(iproute2)
[ "${1:-}" = "--runtime-only" ] || command -v chromium >/dev/null || need+=(chromium)
[ ${#need[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
else
  echo "missing system packages: ${need[*]} (install them with your package manager)" >&2
fi
