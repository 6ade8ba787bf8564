"""A test host of our own: a network namespace joined to this machine by a veth pair, with a TCP server.

It stands for things a sandbox must (not) reach: a company's private server (10.213.x.2) and the cloud metadata
endpoint (169.254.169.254, routed to the same namespace). Only root can make one; the tests that need it skip
elsewhere.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

METADATA = "169.254.169.254"
REPLY = b"reached-the-test-host"


@dataclass
class TestHost:
    address: str  # its private address
    port: int  # where its server answers, on every address of the namespace


def can_make_hosts() -> bool:
    return os.geteuid() == 0 and shutil.which("ip") is not None


def _ip(*args: str) -> None:
    subprocess.run(["ip", *args], check=True, capture_output=True)


@contextlib.contextmanager
def private_host(subnet: int = 213) -> Iterator[TestHost]:
    """A namespace at 10.<subnet>.0.2, also answering for 169.254.169.254, with a server that greets."""
    tag = uuid.uuid4().hex[:6]
    ns, host_side, ns_side = f"pyrt-{tag}", f"pyrt{tag}h", f"pyrt{tag}n"
    host_ip, ns_ip = f"10.{subnet}.0.1", f"10.{subnet}.0.2"
    port = 18000 + os.getpid() % 1000
    server = None
    _ip("netns", "add", ns)
    try:
        _ip("link", "add", host_side, "type", "veth", "peer", "name", ns_side)
        _ip("link", "set", ns_side, "netns", ns)
        _ip("addr", "add", f"{host_ip}/24", "dev", host_side)
        _ip("link", "set", host_side, "up")
        _ip("-n", ns, "addr", "add", f"{ns_ip}/24", "dev", ns_side)
        _ip("-n", ns, "link", "set", ns_side, "up")
        _ip("-n", ns, "link", "set", "lo", "up")
        _ip("-n", ns, "addr", "add", f"{METADATA}/32", "dev", "lo")
        _ip("-n", ns, "route", "add", "default", "via", host_ip)
        _ip("route", "replace", f"{METADATA}/32", "via", ns_ip)
        code = (
            "import socket\n"
            "s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)\n"
            f"s.bind(('0.0.0.0', {port})); s.listen(16)\n"
            "while True:\n"
            "    c, _ = s.accept(); c.sendall(%r); c.close()\n" % REPLY
        )
        server = subprocess.Popen(["ip", "netns", "exec", ns, sys.executable, "-c", code])
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection((ns_ip, port), timeout=0.5) as probe:
                    probe.recv(100)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield TestHost(address=ns_ip, port=port)
    finally:
        if server is not None:
            server.kill()
            server.wait()
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("route", "del", f"{METADATA}/32")
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("link", "del", host_side)
        with contextlib.suppress(subprocess.CalledProcessError):
            _ip("netns", "del", ns)


# What a hostile script runs: try each address and print one line per try ("OPEN", or the error).
PROBE = """
import socket, sys
for target in sys.argv[1:]:
    host, port = target.rsplit(":", 1)
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    s.settimeout(3)
    try:
        s.connect((host, int(port)))
        print(target, "OPEN", flush=True)
    except OSError as e:
        print(target, "BLOCKED", type(e).__name__, e.errno, flush=True)
    finally:
        s.close()
"""


def probe_results(output: str) -> dict[str, str]:
    """``{target: "OPEN" | "BLOCKED"}`` from the PROBE script's output."""
    found = {}
    for line in output.splitlines():
        parts = line.split()
        if len(parts) >= 2 and parts[1] in ("OPEN", "BLOCKED"):
            found[parts[0]] = parts[1]
    return found
