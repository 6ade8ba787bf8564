"""The network of one sandbox: its own namespace, the internet through a user-mode stack, and no route to the
platform, the host, link-local/metadata or private networks.

How (modes, ``PYRUN_SANDBOX_NETWORK``):

- ``filtered`` (default): bwrap unshares the network namespace; once its child exists (``--info-fd``) and
  before the user's command runs (``--block-fd``), :func:`attach` starts ``slirp4netns`` on it (a tap device
  with 10.0.2.100/24, outbound NAT through ordinary sockets of the platform's host, DNS at 10.0.2.3, and
  ``--disable-host-loopback`` so 10.0.2.2 is not the host's 127.0.0.1), then loads an nftables table *inside
  the sandbox's namespace* that rejects every destination but the internet: loopback, private, link-local
  (169.254.169.254), multicast and reserved ranges, this host's own addresses and subnets, and the addresses of
  the platform's services (database, Redis, Docker). Operator-listed CIDRs (``PYRUN_SANDBOX_ALLOW_CIDRS``) and
  a job's own remote Dask scheduler are accepted before those rules. The sandbox cannot change the table: it
  has no capabilities (bwrap drops the bounding set) and cannot make a new user namespace.
- ``none``: a namespace with loopback only.
- ``host``: the host's network, shared. Unsafe (the platform's Redis and database are one connect away); only
  for a single-user laptop, and loudly logged.

Inside, the sandbox's 127.0.0.1 is its own: a Dask ``LocalCluster`` binds there without colliding with
another job's, and nobody else can reach it.
"""

from __future__ import annotations

import contextlib
import ipaddress
import logging
import os
import shutil
import socket
import subprocess
import threading
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from django.conf import settings

from pyrun_web.errors import PyrunError

logger = logging.getLogger(__name__)

FILTERED, NONE, HOST = "filtered", "none", "host"
MODES = (FILTERED, NONE, HOST)

SANDBOX_ADDRESS = "10.0.2.100"
GATEWAY = "10.0.2.2"
DNS_SERVER = "10.0.2.3"
MTU = 65520
SETUP_TIMEOUT_S = 10.0
# Never reachable from a sandbox, whatever is allowed: loopback, link-local (the cloud metadata endpoint),
# "this network", multicast and reserved; the host's own addresses and the platform's services join them.
ALWAYS_DENIED = (
    "0.0.0.0/8", "127.0.0.0/8", "169.254.0.0/16", "192.0.0.0/24", "224.0.0.0/4", "240.0.0.0/4",
    "::/128", "::1/128", "fe80::/10", "ff00::/8",
)  # fmt: skip
# Private and shared ranges (RFC 1918, 6598, 4193, benchmarking): closed unless an operator's CIDR or a job's
# own remote scheduler opens a part of them.
PRIVATE = (
    "10.0.0.0/8", "100.64.0.0/10", "172.16.0.0/12", "192.88.99.0/24", "192.168.0.0/16", "198.18.0.0/15",
    "fc00::/7",
)  # fmt: skip
RESOLV_CONF = f"nameserver {DNS_SERVER}\noptions edns0\n"
HOSTS = "127.0.0.1\tlocalhost pyrun\n::1\tlocalhost ip6-localhost ip6-loopback\n"
# The host tools run with this environment only (never the worker's, which holds its secrets).
TOOL_ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}


@dataclass(frozen=True)
class NetworkAccess:
    """What one sandbox may reach beyond the internet: ``allow`` holds ``host:port`` / ``tcp://host:port``
    endpoints (a job's own Dask scheduler: that port of that host only) or CIDRs (all of them)."""

    mode: str = ""  # "" = the deployment's PYRUN_SANDBOX_NETWORK
    allow: Sequence[str] = field(default_factory=tuple)

    @property
    def effective_mode(self) -> str:
        return self.mode or settings.PYRUN_SANDBOX_NETWORK


@dataclass
class AttachedNetwork:
    """The host side of a sandbox's network: the slirp4netns process, stopped by :meth:`close`."""

    slirp: subprocess.Popen | None
    exit_fd: int | None
    setup_seconds: float

    def close(self) -> None:
        if self.exit_fd is not None:
            with contextlib.suppress(OSError):
                os.close(self.exit_fd)  # slirp4netns would exit by itself once this end closes ...
            self.exit_fd = None
        if self.slirp is not None:
            # ... but it is called once the sandbox has ended, when nothing is left to forward: SIGKILL at once.
            # Its exit releases the last hold on the namespace's tap device, whose teardown waits for RCU grace
            # periods (15-60 ms here): reaped in the background, so the job's end is not held up by it.
            with contextlib.suppress(ProcessLookupError):
                self.slirp.kill()
            threading.Thread(target=self.slirp.wait, name="slirp4netns-reaper", daemon=True).start()
            self.slirp = None


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise PyrunError("sandbox:platform:bad-network-mode", mode=mode, modes=", ".join(MODES))
    return mode


def tools_missing() -> list[str]:
    """The host programs ``filtered`` needs and this host lacks (looked for each time: an operator may install
    them while the platform runs)."""
    return [tool for tool in ("slirp4netns", "nft", "nsenter") if shutil.which(tool, path=TOOL_ENV["PATH"]) is None]


def attach(child_pid: int, access: NetworkAccess) -> AttachedNetwork:
    """Give the network namespace of ``child_pid`` (bwrap's sandbox init) the filtered internet."""
    started = time.monotonic()
    missing = tools_missing()
    if missing:
        raise PyrunError("sandbox:platform:network-tools-missing", tools=", ".join(missing))
    always_denied, private = platform_networks()
    networks, endpoints = allowed_destinations(access.allow)
    rules = ruleset(always_denied, networks, private, endpoints)
    ready_r, ready_w = os.pipe()
    exit_r, exit_w = os.pipe()
    # By path, not by pid: given a pid, slirp4netns also joins that process's user namespace, which with
    # bwrap's --disable-userns is a nested one without rights over the network namespace.
    argv = [
        "slirp4netns", "--configure", f"--mtu={MTU}", "--disable-host-loopback", "--enable-seccomp",
        f"--ready-fd={ready_w}", f"--exit-fd={exit_r}", "--netns-type=path",
    ]  # fmt: skip
    userns = _owner_userns(child_pid)
    if userns is not None:
        argv.append(f"--userns-path=/proc/self/fd/{userns}")
    argv += [f"/proc/{child_pid}/ns/net", "tap0"]
    try:
        slirp = subprocess.Popen(
            argv,
            env=TOOL_ENV,
            pass_fds=tuple(fd for fd in (ready_w, exit_r, userns) if fd is not None),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            start_new_session=True,
        )
    except OSError as exc:
        for fd in (ready_r, ready_w, exit_r, exit_w):
            os.close(fd)
        raise PyrunError("sandbox:platform:network-failed", detail=str(exc)) from exc
    os.close(ready_w)
    os.close(exit_r)
    attached = AttachedNetwork(slirp=slirp, exit_fd=exit_w, setup_seconds=0.0)
    loading: subprocess.Popen | None = None
    try:
        # The rules load while slirp4netns starts (two process starts at once, not one after the other); the
        # command runs only once both are done, and the table does not depend on the tap device.
        loading = _start_loading_rules(child_pid, rules, userns)
        _wait_ready(ready_r, slirp)
        _rules_loaded(loading)
    except BaseException:
        if loading is not None and loading.returncode is None:
            loading.kill()
            loading.wait()
        attached.close()
        raise
    finally:
        os.close(ready_r)
        if userns is not None:
            os.close(userns)
    if slirp.stderr is not None:
        slirp.stderr.close()  # nothing reads it on: a chatty slirp must not block on a full pipe
    attached.setup_seconds = time.monotonic() - started
    return attached


def _wait_ready(ready_fd: int, slirp: subprocess.Popen) -> None:
    import select

    readable, _, _ = select.select([ready_fd], [], [], SETUP_TIMEOUT_S)
    if readable and os.read(ready_fd, 1) == b"1":
        return
    slirp.kill()
    detail = slirp.stderr.read().decode(errors="replace")[-500:] if slirp.stderr else ""
    slirp.wait()
    raise PyrunError("sandbox:platform:network-failed", detail=detail.strip() or "slirp4netns did not start")


_NS_GET_PARENT = 0xB702  # ioctl: the parent of a user namespace


def _owner_userns(child_pid: int) -> int | None:
    """For a rootless platform, a descriptor of the user namespace that owns the sandbox's network namespace
    (the parent of the child's own one, which --disable-userns nests below it); root needs none."""
    if os.geteuid() == 0:
        return None
    import fcntl

    own = os.open(f"/proc/{child_pid}/ns/user", os.O_RDONLY)
    try:
        return fcntl.ioctl(own, _NS_GET_PARENT)
    finally:
        os.close(own)


def _start_loading_rules(child_pid: int, rules: str, userns: int | None) -> subprocess.Popen:
    """``nft -f -`` inside the sandbox's network namespace, reading ``rules`` from a memory file (no pipe to
    feed: it runs on its own while the caller waits for slirp4netns)."""
    argv = ["nsenter", f"--net=/proc/{child_pid}/ns/net"]
    if userns is not None:
        argv[1:1] = [f"--user=/proc/self/fd/{userns}", "--preserve-credentials"]
    source = os.memfd_create("pyrun-nft-rules", 0)
    try:
        data = rules.encode()
        while data:
            data = data[os.write(source, data) :]
        os.lseek(source, 0, os.SEEK_SET)
        return subprocess.Popen(
            [*argv, "nft", "-f", "-"],
            stdin=source,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env=TOOL_ENV,
            text=True,
            pass_fds=(userns,) if userns is not None else (),
        )
    finally:
        os.close(source)


def _rules_loaded(loading: subprocess.Popen) -> None:
    try:
        output, _ = loading.communicate(timeout=SETUP_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        loading.kill()
        loading.wait()
        raise PyrunError("sandbox:platform:network-failed", detail="nft did not load the rules") from None
    if loading.returncode != 0:
        raise PyrunError("sandbox:platform:network-failed", detail=(output or "").strip()[-500:])


def ruleset(
    always_denied: Iterable[str],
    allowed: Iterable[str],
    private: Iterable[str],
    endpoints: Iterable[tuple[str, int]] = (),
) -> str:
    """The nftables table loaded inside a sandbox's namespace, in this order: its own loopback and DNS
    accepted; ``always_denied`` rejected; ``allowed`` networks and ``endpoints`` (address, TCP port) accepted;
    ``private`` rejected; the rest (the internet) accepted. Rejected, not dropped: a connect fails at once
    (EHOSTUNREACH) instead of hanging."""
    reject = "reject with icmpx type admin-prohibited"
    lines = [
        "table inet pyrun_sandbox {",
        "  chain output {",
        "    type filter hook output priority 0; policy accept;",
        '    oifname "lo" accept',
        f"    ip daddr {DNS_SERVER} meta l4proto {{ tcp, udp }} th dport 53 accept",
    ]
    lines += _daddr_rules(always_denied, reject)
    lines += _daddr_rules(allowed, "accept")
    for address, port in sorted(set(endpoints)):
        family = "ip" if ipaddress.ip_address(address).version == 4 else "ip6"
        lines.append(f"    {family} daddr {address} tcp dport {port} accept")
    lines += _daddr_rules(private, reject)
    # slirp4netns gives no IPv6 unless asked; should a route appear, only global unicast may leave.
    lines.append(f"    meta nfproto ipv6 ip6 daddr != 2000::/3 {reject}")
    lines += ["  }", "}", ""]
    return "\n".join(lines)


def _daddr_rules(networks: Iterable[str], verdict: str) -> list[str]:
    v4, v6 = _split(networks)
    rules = [f"    ip daddr {{ {', '.join(v4)} }} {verdict}"] if v4 else []
    return rules + ([f"    ip6 daddr {{ {', '.join(v6)} }} {verdict}"] if v6 else [])


def _split(networks: Iterable[str]) -> tuple[list[str], list[str]]:
    parsed = [ipaddress.ip_network(n, strict=False) for n in networks]
    collapsed_v4 = ipaddress.collapse_addresses(n for n in parsed if n.version == 4)
    collapsed_v6 = ipaddress.collapse_addresses(n for n in parsed if n.version == 6)
    return [str(n) for n in collapsed_v4], [str(n) for n in collapsed_v6]


def allowed_destinations(extra: Iterable[str] = ()) -> tuple[list[str], list[tuple[str, int]]]:
    """``(networks, endpoints)`` a sandbox may reach although they are private: the operator's
    ``PYRUN_SANDBOX_ALLOW_CIDRS`` (whole networks) and ``extra``, whose ``host:port`` items open that port of
    that host only (a tenant chooses them: one scheduler, not a whole private host)."""
    networks: list[str] = []
    endpoints: list[tuple[str, int]] = []
    for item in settings.PYRUN_SANDBOX_ALLOW_CIDRS:
        networks += _addresses_of(item)[0]
    for item in extra:
        found, port = _addresses_of(item)
        if port is None:
            networks += found
        else:
            endpoints += [(str(ipaddress.ip_network(net).network_address), port) for net in found]
    return networks, endpoints


def _addresses_of(item: str) -> tuple[list[str], int | None]:
    """A CIDR as is; an address or ``[scheme://]host[:port]`` as the host's addresses (resolved now) and the
    port, if any."""
    item = item.strip()
    if not item:
        return [], None
    with contextlib.suppress(ValueError):
        return [str(ipaddress.ip_network(item, strict=False))], None
    parts = urlsplit(item if "://" in item else f"//{item}")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:  # a port that is not a number
        return [], None
    if not host:
        return [], None
    with contextlib.suppress(ValueError):
        return [str(ipaddress.ip_network(host))], port
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        return [], port
    return sorted({str(ipaddress.ip_network(info[4][0])) for info in infos}), port


_PLATFORM_NETWORKS_TTL_S = 10.0
_platform_networks_cache: tuple[float, tuple[list[str], list[str]]] = (0.0, ([], []))


def platform_networks() -> tuple[list[str], list[str]]:
    """``(always_denied, private)``. Always denied, whatever is allowed: special-purpose ranges, this host's
    own addresses and the platform's services. Private, closed unless allowed: private ranges and the subnets
    this host is on (the platform's neighbours). Looked up again every few seconds (interfaces come and go, a
    service may move), not on every sandbox start: DNS lookups do not belong on a job's start-up path."""
    global _platform_networks_cache
    looked_at, found = _platform_networks_cache
    if time.monotonic() - looked_at > _PLATFORM_NETWORKS_TTL_S:
        host = _read_host_networks()
        always = [*ALWAYS_DENIED, *(net for net in host if _is_single_address(net))]
        for url in service_urls():
            always += _addresses_of(url)[0]
        found = (always, [*PRIVATE, *(net for net in host if not _is_single_address(net))])
        _platform_networks_cache = (time.monotonic(), found)
    return found


def _is_single_address(network: str) -> bool:
    return ipaddress.ip_network(network).num_addresses == 1


def _read_host_networks() -> tuple[str, ...]:
    import psutil

    found: set[str] = set()
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family not in (socket.AF_INET, socket.AF_INET6):
                continue
            ip = address.address.split("%", 1)[0]
            with contextlib.suppress(ValueError):
                found.add(str(ipaddress.ip_network(ip)))
                if address.netmask:
                    found.add(str(ipaddress.ip_network(f"{ip}/{address.netmask}", strict=False)))
    return tuple(sorted(found))


def service_urls() -> list[str]:
    """Addresses of the platform's own services, from its settings."""
    urls = [
        settings.DATABASES["default"].get("HOST", ""),
        getattr(settings, "CELERY_BROKER_URL", ""),
        getattr(settings, "REDIS_URL", ""),
        getattr(settings, "PYRUN_DOCKER_HOST", ""),
        getattr(settings, "PYRUN_DOCKER_REGISTRY", ""),
    ]
    return [url for url in urls if isinstance(url, str) and url and not url.startswith(("unix:", "/"))]


def status() -> dict[str, object]:
    """What the network wall looks like on this host, for health and the operator console."""
    mode = settings.PYRUN_SANDBOX_NETWORK
    missing = tools_missing() if mode == FILTERED else []
    return {
        "mode": mode,
        "ok": mode != HOST and not missing,
        "missing": missing,
        "allow_cidrs": list(settings.PYRUN_SANDBOX_ALLOW_CIDRS),
    }
