"""A hostile script's view of the network: the internet yes; the host, its loopback services, the metadata
endpoint, private networks and other sandboxes never, unless an operator (or the job's own remote scheduler)
opens a private address, which still never opens the host or the metadata endpoint."""

from __future__ import annotations

import socket
import subprocess
import threading
import time

import psutil
import pytest

from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import network
from pyrun_web.sandbox.network import NetworkAccess
from tests.security.netns import METADATA, PROBE, can_make_hosts, private_host, probe_results
from tests.security.sandboxes import needs_bwrap, run_python

pytestmark = [
    needs_bwrap,
    pytest.mark.skipif(bool(network.tools_missing()), reason="slirp4netns/nftables missing"),
]


@pytest.fixture
def workdir(tmp_path):
    path = tmp_path / "ws"
    path.mkdir()
    return path


class Listener:
    """A TCP server of the platform's host (standing for Redis, PostgreSQL, the web server) that counts who
    got through."""

    def __init__(self, host: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.accepted = 0
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted += 1
            conn.close()

    def close(self) -> None:
        self.sock.close()


def host_address() -> str:
    """A non-loopback IPv4 address of this host."""
    for addresses in psutil.net_if_addrs().values():
        for address in addresses:
            if address.family == socket.AF_INET and not address.address.startswith("127."):
                return address.address
    pytest.skip("this host has no non-loopback IPv4 address")


def probe(workdir, *targets: str, **spec) -> dict[str, str]:
    result = run_python(workdir, PROBE, *targets, **spec)
    assert result.returncode == 0, result.stderr
    return probe_results(result.stdout)


def test_the_hosts_loopback_and_own_address_are_out_of_reach(workdir):
    on_loopback, on_all = Listener("127.0.0.1"), Listener("0.0.0.0")  # noqa: S104 (as a service listening on every address)
    try:
        found = probe(workdir, f"127.0.0.1:{on_loopback.port}", f"{host_address()}:{on_all.port}", "10.0.2.2:22")
    finally:
        on_loopback.close()
        on_all.close()
    assert set(found.values()) == {"BLOCKED"}, found
    assert on_loopback.accepted == on_all.accepted == 0


def test_the_platforms_redis_and_database_are_out_of_reach(workdir, settings):
    from urllib.parse import urlsplit

    targets = []
    if settings.REDIS_URL.startswith("redis://"):
        parts = urlsplit(settings.REDIS_URL)
        targets.append(f"{parts.hostname}:{parts.port or 6379}")
    db = settings.DATABASES["default"]
    if db.get("HOST"):
        targets.append(f"{db['HOST']}:{db.get('PORT') or 5432}")
    targets += ["127.0.0.1:6379", "127.0.0.1:5432"]
    found = probe(workdir, *targets)
    assert set(found.values()) == {"BLOCKED"}, found


def test_the_internet_is_reachable(workdir):
    found = probe(workdir, "pypi.org:443")
    assert found == {"pypi.org:443": "OPEN"}


def test_dns_works_through_the_sandboxs_own_resolver(workdir):
    result = run_python(
        workdir, "import socket; print(socket.gethostbyname('pypi.org')); print(open('/etc/resolv.conf').read())"
    )
    assert result.returncode == 0, result.stderr
    assert f"nameserver {network.DNS_SERVER}" in result.stdout


def test_the_rules_cannot_be_removed_from_inside(workdir):
    listener = Listener("0.0.0.0")  # noqa: S104 (as a service listening on every address)
    script = (
        "import subprocess, sys\n"
        "done = subprocess.run(['nft', 'flush', 'ruleset'], capture_output=True, text=True)\n"
        "print('flush exit', done.returncode)\n"
        "exec(open(sys.argv[1]).read())\n"
    )
    (workdir / "probe.py").write_text(PROBE.replace("sys.argv[1:]", "sys.argv[2:]"))
    try:
        result = run_python(workdir, script, "/workspace/probe.py", f"{host_address()}:{listener.port}")
    finally:
        listener.close()
    assert "flush exit 0" not in result.stdout
    assert set(probe_results(result.stdout).values()) == {"BLOCKED"}, result.stdout + result.stderr
    assert listener.accepted == 0


def test_two_sandboxes_bind_the_same_port_and_cannot_reach_each_other(workdir, tmp_path):
    """Two tenants' Dask schedulers on 127.0.0.1:8786: no "port in use", and neither sees the other's."""
    server = (
        "import socket, time\n"
        "s = socket.socket(); s.bind(('127.0.0.1', 8786)); s.listen(); print('listening', flush=True)\n"
        "time.sleep(20)\n"
    )
    import sys
    from pathlib import Path

    from pyrun_web import sandbox
    from pyrun_web.sandbox import SandboxSpec

    python = str(Path(sys.base_prefix) / "bin" / "python3")
    other = tmp_path / "other"
    other.mkdir()
    first = sandbox.popen(
        SandboxSpec(argv=[python, "-c", server], workdir=other),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert first.stdout.readline().strip() == "listening"
        second = run_python(
            workdir,
            "import socket\n"
            "c = socket.socket()\n"
            "print('connect', c.connect_ex(('127.0.0.1', 8786)))\n"
            "s = socket.socket(); s.bind(('127.0.0.1', 8786)); s.listen(); print('bound')\n",
        )
    finally:
        first.kill_all()
        first.wait()
    assert second.returncode == 0, second.stderr
    assert "connect 111" in second.stdout and "bound" in second.stdout  # 111: refused, nobody listens there


def test_the_host_network_mode_is_refused_on_a_shared_server(workdir, settings):
    settings.PYRUN_SANDBOX_NETWORK = "host"
    settings.PYRUN_UNSAFE_SINGLE_USER = False
    with pytest.raises(PyrunError) as caught:
        run_python(workdir, "print(1)")
    assert caught.value.id == "sandbox:platform:network-host"


def test_the_no_network_mode_has_only_loopback(workdir, settings):
    settings.PYRUN_SANDBOX_NETWORK = "none"
    result = run_python(workdir, "import socket; print(socket.if_nameindex())")
    assert result.returncode == 0, result.stderr
    assert "'lo'" in result.stdout and "tap0" not in result.stdout


def test_the_network_setup_is_reported_on_the_process(workdir):
    """bench/ prints this figure; a sandbox without the filtered network reports none."""
    from pyrun_web import sandbox
    from pyrun_web.sandbox import SandboxSpec

    filtered = sandbox.popen(SandboxSpec(argv=["/bin/true"], workdir=workdir))
    bare = sandbox.popen(SandboxSpec(argv=["/bin/true"], workdir=workdir, network=NetworkAccess(mode="none")))
    assert filtered.wait(30) == 0 and bare.wait(30) == 0
    assert 0 < filtered.network_setup_seconds < 30
    assert bare.network_setup_seconds == 0


@pytest.mark.skipif(not can_make_hosts(), reason="making a test host needs root and iproute2")
class TestPrivateAddresses:
    def test_a_private_host_and_the_metadata_endpoint_are_closed_by_default(self, workdir):
        with private_host() as host:
            found = probe(workdir, f"{host.address}:{host.port}", f"{METADATA}:{host.port}")
        assert found == {f"{host.address}:{host.port}": "BLOCKED", f"{METADATA}:{host.port}": "BLOCKED"}

    def test_an_operator_cidr_opens_a_private_host_but_never_the_metadata_endpoint(self, workdir, settings):
        settings.PYRUN_SANDBOX_ALLOW_CIDRS = ["10.213.0.0/24", "169.254.0.0/16"]
        with private_host() as host:
            found = probe(workdir, f"{host.address}:{host.port}", f"{METADATA}:{host.port}")
        assert found == {f"{host.address}:{host.port}": "OPEN", f"{METADATA}:{host.port}": "BLOCKED"}

    def test_a_jobs_remote_scheduler_is_open_for_that_job_only(self, workdir, tmp_path):
        with private_host() as host:
            scheduler = f"tcp://{host.address}:{host.port}"
            allowed = probe(workdir, f"{host.address}:{host.port}", network=NetworkAccess(allow=(scheduler,)))
            other = tmp_path / "other-job"
            other.mkdir()
            others = probe(other, f"{host.address}:{host.port}")
            other_port = run_python(
                workdir, PROBE, f"{host.address}:{host.port + 1}", network=NetworkAccess(allow=(scheduler,))
            )
        assert allowed == {f"{host.address}:{host.port}": "OPEN"}
        assert others == {f"{host.address}:{host.port}": "BLOCKED"}
        # Only the scheduler's port: another port of that host is filtered (EHOSTUNREACH), not merely closed.
        assert f"{host.address}:{host.port + 1} BLOCKED OSError 113" in other_port.stdout, other_port.stdout

    def test_a_scheduler_address_naming_the_host_opens_nothing(self, workdir):
        listener = Listener("0.0.0.0")  # noqa: S104 (as a service listening on every address)
        address = f"{host_address()}:{listener.port}"
        try:
            found = probe(workdir, address, network=NetworkAccess(allow=(f"tcp://{address}",)))
        finally:
            listener.close()
        assert found == {address: "BLOCKED"} and listener.accepted == 0


def test_a_terminal_shell_has_the_same_network_wall(workdir):
    """The browser terminal is a sandbox of its own (started by the web process): no host loopback either."""
    from pyrun_web.sandbox import ResourceLimits
    from workspaces.terminal import ShellSession

    listener = Listener("127.0.0.1")
    (workdir / "probe.py").write_text(PROBE)
    session = ShellSession(workdir, ResourceLimits(max_processes=64), cols=200, rows=40)
    output = b""
    try:
        session.pending += f"python3 probe.py 127.0.0.1:{listener.port}; echo probe-$((1+1))-done\n".encode()
        session.write_pending()
        deadline = time.monotonic() + 30
        while b"probe-2-done" not in output and time.monotonic() < deadline:  # (not in the typed line)
            chunk = session.read()
            if chunk:
                output += chunk
            else:
                time.sleep(0.05)
    finally:
        session.process.kill_all()
        session.process.wait()
        listener.close()
    assert probe_results(output.decode(errors="replace")) == {f"127.0.0.1:{listener.port}": "BLOCKED"}, output
    assert listener.accepted == 0
