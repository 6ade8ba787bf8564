#!/usr/bin/env bash
# The Docker side of the test environment, idempotent: Docker daemon, a local registry on 127.0.0.1:5000 and a
# local base image pyrun/base:bookworm (no image can be pulled here, so it is made with debootstrap).
# Installs, starts and builds only as root (packages: root with apt); elsewhere it only reports what is missing,
# and the Docker tests skip with that reason.
# The debootstrap rootfs is cached in /var/cache/pyrun-ci: only the first run pays for it (about a minute).
set -euo pipefail

CACHE_DIR=${PYRUN_CI_CACHE:-/var/cache/pyrun-ci}
LOG_DIR=${PYRUN_CI_LOGS:-/var/log/pyrun-ci}
STATE_DIR=${PYRUN_CI_STATE:-/var/lib/pyrun-ci}
BASE_IMAGE=pyrun/base:bookworm
REGISTRY_ADDR=127.0.0.1:5000
SUITE=bookworm
ROOTFS_TAR="$CACHE_DIR/base-$SUITE-rootfs.tar"
HOST_CA=/etc/ssl/certs/ca-certificates.crt
# The classic builder: BuildKit would need its own image pulls; the SDK builds with the classic one too.
export DOCKER_BUILDKIT=0

started=$(date +%s.%N)
step_started=$started
step() {
  local now
  now=$(date +%s.%N)
  awk -v name="$1" -v a="$step_started" -v b="$now" -v c="$started" \
    'BEGIN { printf "== %-44s %6.1fs (total %6.1fs)\n", name, b - a, b - c }'
  step_started=$now
}
warn() { echo "docker-test-env: $*" >&2; }

# Prefer the CLI that came with the daemon: a newer standalone CLI defaults to BuildKit/buildx.
DOCKER=/usr/bin/docker
[ -x "$DOCKER" ] || DOCKER=$(command -v docker || true)

can_admin() { [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; }

# --- packages -------------------------------------------------------------------------------------------
need=()
command -v dockerd >/dev/null || need+=(docker.io)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v debootstrap >/dev/null || need+=(debootstrap)
# Build containers' network is fenced with nftables (runtimes/builders/build_network.py).
PATH="$PATH:/usr/sbin:/sbin" command -v nft >/dev/null || need+=(nftables)
if [ ${#need[@]} -gt 0 ]; then
  if ! can_admin; then
    warn "missing system packages: ${need[*]} (needs root + apt); Docker tests will skip"
    exit 0
  fi
  echo "installing ${need[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  DOCKER=/usr/bin/docker
fi
step "packages"

if [ "$(id -u)" != 0 ]; then
  # Not root: nothing can be started or built here; just say what the Docker tests will find.
  "$DOCKER" info >/dev/null 2>&1 || warn "no Docker daemon answers (only root can start one); Docker tests will skip"
  curl -fsS -o /dev/null "http://$REGISTRY_ADDR/v2/" 2>/dev/null || warn "no registry on $REGISTRY_ADDR"
  "$DOCKER" image inspect "$BASE_IMAGE" >/dev/null 2>&1 || warn "no $BASE_IMAGE image (built by this script as root)"
  exit 0
fi

mkdir -p "$CACHE_DIR" "$LOG_DIR" "$STATE_DIR"
# One setup at a time (parallel CI jobs on one machine would race on dockerd and the import); the daemons
# started below must not inherit fd 9, or they would hold the lock for ever.
exec 9>"$STATE_DIR/setup.lock"
flock 9

# --- dockerd --------------------------------------------------------------------------------------------
if ! "$DOCKER" info >/dev/null 2>&1; then
  echo "starting dockerd (log: $LOG_DIR/dockerd.log)"
  setsid nohup dockerd >>"$LOG_DIR/dockerd.log" 2>&1 </dev/null 9>&- &
  for _ in $(seq 60); do "$DOCKER" info >/dev/null 2>&1 && break; sleep 1; done
  if ! "$DOCKER" info >/dev/null 2>&1; then
    warn "dockerd did not come up within 60s; last log lines:"
    tail -20 "$LOG_DIR/dockerd.log" >&2
    exit 1
  fi
fi
step "dockerd $("$DOCKER" info --format '{{.ServerVersion}}')"

# --- local registry -------------------------------------------------------------------------------------
registry_up() { curl -fsS -o /dev/null "http://$REGISTRY_ADDR/v2/" 2>/dev/null; }
if ! registry_up; then
  # Debian's /etc/docker/registry/config.yml listens on all interfaces and wants htpasswd auth: use our own.
  cat >"$STATE_DIR/registry.yml" <<EOF
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: $STATE_DIR/registry
  delete:
    enabled: true
http:
  addr: $REGISTRY_ADDR
EOF
  mkdir -p "$STATE_DIR/registry"
  echo "starting docker-registry on $REGISTRY_ADDR (log: $LOG_DIR/registry.log)"
  setsid nohup "$(command -v docker-registry)" serve "$STATE_DIR/registry.yml" >>"$LOG_DIR/registry.log" 2>&1 \
    </dev/null 9>&- &
  for _ in $(seq 30); do registry_up && break; sleep 0.5; done
  if ! registry_up; then
    warn "docker-registry did not answer on $REGISTRY_ADDR; last log lines:"
    tail -20 "$LOG_DIR/registry.log" >&2
    exit 1
  fi
fi
step "registry $REGISTRY_ADDR"

# --- base image -----------------------------------------------------------------------------------------
debian_mirror() {
  # The first archive (not -security) that serves $SUITE in the apt sources, deb822 or one-line style.
  local uri
  uri=$(awk -v suite="$SUITE" '
    BEGIN { RS = ""; FS = "\n" }
    {
      uris = ""; ok = 0
      for (i = 1; i <= NF; i++) {
        if ($i ~ /^URIs:/) { sub(/^URIs:[ \t]*/, "", $i); split($i, u, /[ \t]+/); uris = u[1] }
        if ($i ~ /^Suites:/) { n = split($i, s, /[ \t]+/); for (j = 2; j <= n; j++) if (s[j] == suite) ok = 1 }
      }
      if (ok && uris != "") { print uris; exit }
    }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  if [ -z "$uri" ] && [ -f /etc/apt/sources.list ]; then
    uri=$(awk -v suite="$SUITE" '$1 == "deb" {
        i = 2
        if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }  # skip [options]
        if ($(i + 1) == suite) { print $i; exit }
      }' /etc/apt/sources.list)
  fi
  echo "${uri:-http://deb.debian.org/debian}"
}

ca_sum=$(sha256sum "$HOST_CA" | cut -c1-16)
current_ca=$("$DOCKER" image inspect -f '{{index .Config.Labels "pyrun.host-ca"}}' "$BASE_IMAGE" 2>/dev/null || true)
if [ "$current_ca" = "$ca_sum" ]; then
  step "$BASE_IMAGE present"
else
  if [ ! -s "$ROOTFS_TAR" ]; then
    mirror=$(debian_mirror)
    echo "debootstrap $SUITE from $mirror (about a minute, once; log: $LOG_DIR/debootstrap.log)"
    work=$(mktemp -d "$CACHE_DIR/rootfs.XXXXXX")
    trap 'rm -rf "$work"' EXIT
    # python-is-python3: "python" on PATH, as in the python:* images users expect.
    if ! debootstrap --variant=minbase --include=python3,python3-pip,python3-venv,python-is-python3,ca-certificates \
      "$SUITE" "$work/rootfs" "$mirror" >"$LOG_DIR/debootstrap.log" 2>&1; then
      warn "debootstrap failed; last log lines:"
      tail -30 "$LOG_DIR/debootstrap.log" >&2
      exit 1
    fi
    rm -rf "$work/rootfs/var/cache/apt/archives/"*.deb "$work/rootfs/var/lib/apt/lists/"*
    tar -C "$work/rootfs" --numeric-owner -cf "$work/rootfs.tar" .
    mv "$work/rootfs.tar" "$ROOTFS_TAR"
    rm -rf "$work"
    trap - EXIT
    step "debootstrap -> $ROOTFS_TAR ($(du -h "$ROOTFS_TAR" | cut -f1))"
  fi
  "$DOCKER" import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'CMD ["/bin/bash"]' \
    "$ROOTFS_TAR" "$BASE_IMAGE-rootfs" >/dev/null
  step "docker import $BASE_IMAGE-rootfs"
  # The host's CA bundle (it trusts this network's egress proxy) goes in a layer of its own, so a CA change
  # rebuilds only this layer, and pip inside builds verifies TLS like the host does.
  ctx=$(mktemp -d)
  cp "$HOST_CA" "$ctx/ca-certificates.crt"
  cat >"$ctx/Dockerfile" <<EOF
FROM $BASE_IMAGE-rootfs
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    PIP_CERT=/etc/ssl/certs/ca-certificates.crt \\
    REQUESTS_CA_BUNDLE=/etc/ssl/certs/ca-certificates.crt \\
    PIP_DISABLE_PIP_VERSION_CHECK=1
LABEL pyrun.host-ca=$ca_sum
EOF
  "$DOCKER" build -q -t "$BASE_IMAGE" "$ctx" >/dev/null
  rm -rf "$ctx"
  step "$BASE_IMAGE built (host CA $ca_sum)"
fi

"$DOCKER" run --rm --network host "$BASE_IMAGE" python -c 'import platform; print("base python", platform.python_version())'
step "done"
