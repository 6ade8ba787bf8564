"""The network Dockerfile builds run on: a bridge of their own, fenced by nftables, never the host's network.

A ``RUN`` step is tenant code. On the host network it reached the platform's Redis and PostgreSQL on loopback,
the cloud metadata endpoint and the private network. Builds therefore run on the user-defined bridge
``pyrun-build`` (bridge interface ``pyrbuild0``, fixed so that firewall rules can name it), and the table
``inet pyrun_build`` drops, for packets coming from that bridge:

- everything addressed to the host itself (any of its addresses, loopback included): the ``input`` hook;
- everything forwarded to loopback, link-local (169.254.0.0/16: the metadata endpoint), private and shared
  (CGNAT) ranges, other containers on the bridge, and all IPv6 (the bridge has none): the ``forward`` hook;

except DNS to the resolvers the daemon forwards the builds' queries to (Docker's embedded DNS sends them from
the container's namespace, and a resolver often sits on a private address) and the CIDRs the operator opens
with ``PYRUN_SANDBOX_ALLOW_CIDRS``. The table only ever drops, so it composes with Docker's own iptables rules
(FORWARD policy DROP, DOCKER-USER): a packet must pass both. Outbound internet stays open: that is how builds
install packages. Registries are not excepted: pulls and pushes are made by the daemon, not by containers.

The rules are (re)installed in one atomic ``nft -f`` transaction before every build, so a firewall reload
between builds cannot leave a build unfenced. Installing them needs root on the daemon's machine; when they
cannot be installed, builds are refused (``runtime:platform:build-network-unavailable``) unless the operator
sets the loud opt-out ``PYRUN_UNSAFE_ALLOW_UNFILTERED_BUILD_NETWORK``.
"""

from __future__ import annotations

import ipaddress
import logging
import os
import shutil
import subprocess
import threading
from pathlib import Path

import docker
import docker.errors
from django.conf import settings

from pyrun_web.errors import PyrunError

logger = logging.getLogger(__name__)

NETWORK = "pyrun-build"
BRIDGE = "pyrbuild0"
TABLE = "pyrun_build"
BRIDGE_NAME_OPTION = "com.docker.network.bridge.name"
# Never reachable from a build (RFC 6890 special-purpose ranges a host or cloud keeps its services on).
BLOCKED_V4 = (
    "0.0.0.0/8",
    "10.0.0.0/8",
    "100.64.0.0/10",
    "127.0.0.0/8",
    "169.254.0.0/16",
    "172.16.0.0/12",
    "192.168.0.0/16",
)
# Docker reads the host's resolvers from here (the second file on hosts running systemd-resolved).
RESOLV_FILES = (Path("/etc/resolv.conf"), Path("/run/systemd/resolve/resolv.conf"))
NFT_TIMEOUT_S = 30

_lock = threading.Lock()  # one nft transaction and one network creation at a time per process


class RulesUnavailable(Exception):
    """The firewall of the build network cannot be installed here (not root, no nft, a remote daemon)."""


def ensure(client: docker.DockerClient) -> str:
    """The id of the build network, with its firewall installed first; ``PyrunError`` when builds must not run."""
    with _lock:
        try:
            install_rules(client)
        except RulesUnavailable as exc:
            if not settings.PYRUN_UNSAFE_ALLOW_UNFILTERED_BUILD_NETWORK:
                raise PyrunError("runtime:platform:build-network-unavailable", detail=str(exc)) from exc
            logger.warning(
                "Docker builds run WITHOUT their firewall (PYRUN_UNSAFE_ALLOW_UNFILTERED_BUILD_NETWORK): %s", exc
            )
        return _network(client)


def _network(client: docker.DockerClient) -> str:
    """The existing ``pyrun-build`` bridge on ``pyrbuild0``, or a new one. Returned by id: Docker allows two
    networks with one name, and a build must not land on a look-alike without the fixed bridge name."""
    found = [n for n in client.networks.list(names=[NETWORK]) if n.name == NETWORK]  # the filter matches substrings
    for network in found:
        if (network.attrs.get("Options") or {}).get(BRIDGE_NAME_OPTION) == BRIDGE:
            return network.id
    if found:
        raise PyrunError(
            "runtime:platform:build-network-unavailable",
            detail=f"a Docker network named {NETWORK} exists without the bridge name {BRIDGE}; remove it",
        )
    options = {
        BRIDGE_NAME_OPTION: BRIDGE,
        # Two builds (of two tenants) share the bridge: no traffic between their containers.
        "com.docker.network.bridge.enable_icc": "false",
    }
    try:
        network = client.networks.create(NETWORK, driver="bridge", options=options, check_duplicate=True)
    except docker.errors.APIError as exc:
        # Created meanwhile by another worker process: use theirs.
        for other in client.networks.list(names=[NETWORK]):
            if other.name == NETWORK and (other.attrs.get("Options") or {}).get(BRIDGE_NAME_OPTION) == BRIDGE:
                return other.id
        raise PyrunError("runtime:platform:build-network-unavailable", detail=exc.explanation or str(exc)) from exc
    return network.id


def install_rules(client: docker.DockerClient) -> None:
    """Replace the ``inet pyrun_build`` table atomically (idempotent); ``RulesUnavailable`` when it cannot be."""
    base_url = str(getattr(client.api, "base_url", ""))
    if not base_url.startswith(("http+docker://localhost", "http://127.0.0.1", "http://localhost")):
        # Rules on this machine would not fence containers on another one.
        raise RulesUnavailable(f"the Docker daemon ({base_url}) is not on this machine, where the rules would go")
    if os.geteuid() != 0:
        raise RulesUnavailable("installing nftables rules needs root")
    nft = shutil.which("nft") or next((p for p in ("/usr/sbin/nft", "/sbin/nft") if os.access(p, os.X_OK)), None)
    if nft is None:
        raise RulesUnavailable("nft is not installed (Debian package nftables)")
    script = ruleset(allowed=_allowed_cidrs(), resolvers=resolvers())
    try:
        done = subprocess.run(
            [nft, "-f", "-"], input=script, capture_output=True, text=True, timeout=NFT_TIMEOUT_S, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise RulesUnavailable(f"nft did not run: {exc}") from exc
    if done.returncode != 0:
        raise RulesUnavailable(f"nft refused the rules: {(done.stderr or done.stdout).strip()[-500:]}")


def ruleset(*, allowed: list[ipaddress.IPv4Network | ipaddress.IPv6Network], resolvers: list[str]) -> str:
    """The nft script: declaring then deleting the table makes re-running it replace the rules in one go."""
    forward = [
        f'iifname != "{BRIDGE}" return',
        f'oifname "{BRIDGE}" drop',  # build to build (when bridged traffic is filtered at all)
    ]
    if resolvers:
        forward.append(f"ip daddr {{ {', '.join(resolvers)} }} meta l4proto {{ tcp, udp }} th dport 53 accept")
    # Collapsed: overlapping intervals in one set make nft refuse the whole script.
    v4 = [str(n) for n in ipaddress.collapse_addresses(n for n in allowed if n.version == 4)]
    v6 = [str(n) for n in ipaddress.collapse_addresses(n for n in allowed if n.version == 6)]
    if v4:
        forward.append(f"ip daddr {{ {', '.join(v4)} }} accept")
    if v6:
        forward.append(f"ip6 daddr {{ {', '.join(v6)} }} accept")
    forward.append(f"ip daddr {{ {', '.join(BLOCKED_V4)} }} drop")
    forward.append("meta nfproto ipv6 drop")
    body = "\n".join(f"        {rule}" for rule in forward)
    return (
        f"table inet {TABLE}\n"
        f"delete table inet {TABLE}\n"
        f"table inet {TABLE} {{\n"
        "    chain input {\n"
        "        type filter hook input priority filter - 5; policy accept;\n"
        f'        iifname "{BRIDGE}" drop\n'
        "    }\n"
        "    chain forward {\n"
        "        type filter hook forward priority filter - 5; policy accept;\n"
        f"{body}\n"
        "    }\n"
        "}\n"
    )


def _allowed_cidrs() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    try:
        return [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in settings.PYRUN_SANDBOX_ALLOW_CIDRS]
    except ValueError as exc:
        raise RulesUnavailable(f"PYRUN_SANDBOX_ALLOW_CIDRS: {exc}") from exc


def resolvers() -> list[str]:
    """The IPv4 nameservers of the host (Docker's embedded DNS forwards to them; loopback ones it replaces)."""
    found: list[str] = []
    for path in RESOLV_FILES:
        try:
            lines = path.read_text().splitlines()
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if len(parts) >= 2 and parts[0] == "nameserver":
                try:
                    address = ipaddress.ip_address(parts[1])
                except ValueError:
                    continue
                if address.version == 4 and not address.is_loopback and str(address) not in found:
                    found.append(str(address))
    return found
