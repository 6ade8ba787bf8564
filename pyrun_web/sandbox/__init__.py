"""The one sandbox that user code runs in: jobs, terminals and builds (docs/security.md has the threat model).

A :class:`SandboxSpec` says what to run, which workspace directory to expose (read-write at
``/workspace``), which interpreter prefixes and other host paths to expose read-only, the environment, the
network access and the resource limits. :func:`popen` starts it under bubblewrap (``bwrap``):

- new user, PID, IPC, UTS, cgroup and network namespaces, no capabilities (bounding set dropped), no nested
  user namespaces, a seccomp filter, and ``--die-with-parent``: when the platform process (or the outer
  ``bwrap``) dies, the PID namespace dies with every process in it, ``setsid`` or not;
- the launcher boundary: ``bwrap`` itself starts with a fixed environment (bwrap is not setuid, so its loader
  would obey ``LD_PRELOAD``, ``GCONV_PATH``, ... and run tenant code on the host); the sandbox's environment
  reaches the sandboxed process only, as ``--setenv`` options read from a memory file (``--args FD``), which is
  neither on a command line (``/proc/*/cmdline`` is world-readable) nor in bwrap's own environment;
- the network of :mod:`pyrun_web.sandbox.network` (internet only, by default);
- a read-only root made of ``/usr`` (and the ``/bin``, ``/lib*`` links), a short list of ``/etc`` files, the
  interpreter prefixes; or, for a Dockerfile runtime, the image's unpacked filesystem (``spec.root``); a
  generated ``resolv.conf`` and ``hosts``; private size-capped tmpfs for ``/tmp`` and ``$HOME``; nothing of
  the data dir, other workspaces or the database;
- its own cgroup (:mod:`pyrun_web.sandbox.cgroups`): a process count that does not depend on the uid, a CPU
  weight, a memory limit that also counts its tmpfs; plus rlimits (address space, file size, CPU seconds, no
  core files).

Fail closed: without ``bwrap``, the network tools or a pids cgroup, :func:`popen` refuses to run user code
(``sandbox:platform:*``), unless the operator set ``PYRUN_UNSAFE_SINGLE_USER`` for a single-user laptop. Without
``bwrap`` that opt-out runs the command as a plain process with the same clean environment and limits, in the
workspace directory and its own session, but without any filesystem, network or PID isolation.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import json
import logging
import os
import resource
import select
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import cgroups, network
from pyrun_web.sandbox.network import NetworkAccess

logger = logging.getLogger(__name__)

WORKDIR = "/workspace"  # where the spec's workdir appears inside the sandbox
HOME = "/home/pyrun"
TMPDIR = "/tmp"  # noqa: S108 (a private tmpfs inside the sandbox, not the host's /tmp)
# Where SandboxSpec.tools appear inside the sandbox (a path of the sandbox's own, naming no host folder).
TOOLS_DIR = "/opt/pyrun/bin"
HOSTNAME = "pyrun"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_TMPFS_BYTES = 1024**3  # each of /tmp and $HOME: tmpfs lives in RAM, so it needs a cap
# The whole environment of bwrap itself (and of every other host-side helper): nothing of the job's.
LAUNCHER_ENV = {"PATH": SYSTEM_PATH, "LANG": "C.UTF-8"}
INFO_TIMEOUT_S = 10.0

# Merged-/usr systems have these as symlinks into /usr; older ones as real directories.
_ROOT_DIRS = ("/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32")
# What programs need from /etc (TLS roots, name resolution, users, loader, locale, terminal); nothing that
# may hold credentials (no shadow, gitconfig, pip.conf, environment).
_ETC_FILES = (
    "/etc/alternatives",
    "/etc/bash.bashrc",
    "/etc/ca-certificates",
    "/etc/ca-certificates.conf",
    "/etc/crypto-policies",
    "/etc/debian_version",
    "/etc/gai.conf",
    "/etc/group",
    "/etc/host.conf",
    "/etc/inputrc",
    "/etc/ld.so.cache",
    "/etc/ld.so.conf",
    "/etc/ld.so.conf.d",
    "/etc/localtime",
    "/etc/locale.alias",
    "/etc/mime.types",
    "/etc/nsswitch.conf",
    "/etc/os-release",
    "/etc/passwd",
    "/etc/pki",
    "/etc/protocols",
    "/etc/services",
    "/etc/ssl",
    "/etc/terminfo",
    "/etc/timezone",
)
# Written by the sandbox itself (its own DNS server and names), over the host's or an image's own.
_NETWORK_ETC_FILES = ("/etc/resolv.conf", "/etc/hosts")


@dataclass(frozen=True)
class ResourceLimits:
    """Per-sandbox limits; ``None`` leaves a limit unset."""

    memory_bytes: int | None = None  # RLIMIT_AS (address space) and the cgroup's memory (which counts tmpfs)
    max_processes: int | None = None  # processes and threads (pids cgroup)
    file_bytes: int | None = None  # RLIMIT_FSIZE: largest file one write may grow
    cpu_seconds: int | None = None  # RLIMIT_CPU, per process
    tmpfs_bytes: int | None = DEFAULT_TMPFS_BYTES  # size of each private tmpfs (/tmp, $HOME)
    disk_bytes: int | None = None  # the workdir plus both tmpfs (enforced by whoever supervises the sandbox)

    @classmethod
    def for_org(cls, limits, **overrides) -> ResourceLimits:
        """The limits of an organisation (``Organization.limits``) for one sandbox."""
        disk = getattr(limits, "job_disk_bytes", None)
        values = {
            "memory_bytes": limits.job_memory_bytes,
            "max_processes": limits.job_max_processes,
            "disk_bytes": disk,
            "tmpfs_bytes": min(DEFAULT_TMPFS_BYTES, disk) if disk else DEFAULT_TMPFS_BYTES,
        }
        values.update(overrides)
        return cls(**values)


def default_runtime_prefix() -> Path:
    """The interpreter install the platform itself runs on; user code gets it until it defines a runtime."""
    return Path(sys.base_prefix)


@dataclass(frozen=True)
class SandboxSpec:
    argv: Sequence[str]
    # Host directory bound read-write at WORKDIR, which is also the working directory.
    workdir: Path
    # Interpreter installs (a runtime venv first, then its base interpreter): bound read-only at the same
    # path, their bin/ put on PATH in this order.
    runtime_prefixes: Sequence[Path] = field(default_factory=lambda: (default_runtime_prefix(),))
    # More host paths bound read-only at the same path (e.g. the monitoring agent).
    ro_binds: Sequence[Path] = ()
    # Host directories bound read-write at the same path (e.g. the folder of the runner's monitoring socket,
    # a build's prefix and cache).
    rw_binds: Sequence[Path] = ()
    # Added to the base environment (HOME, TMPDIR, PATH, LANG) and wins over it.
    env: Mapping[str, str] = field(default_factory=dict)
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    # A new session detaches from any inherited terminal (no TIOCSTI into it); an interactive shell on
    # its own pty needs the pty as controlling terminal instead, so a terminal turns this off.
    new_session: bool = True
    network: NetworkAccess = field(default_factory=NetworkAccess)
    # A container-image runtime's unpacked filesystem (``runtimes.rootfs``): it becomes the read-only root
    # instead of the host's /usr and /etc.
    root: Path | None = None
    # Small executables (file name -> content) placed read-only at TOOLS_DIR, e.g. the terminal's pip shim. Not
    # put on PATH (the caller says where they go). Without bwrap (single-user fallback) there are none.
    tools: Mapping[str, bytes] = field(default_factory=dict)


class SandboxProcess(subprocess.Popen):
    """A Popen that releases the sandbox's host-side resources (cgroup, network, scratch dirs) once reaped."""

    _release: list[Callable[[], None]]
    cgroup: cgroups.SandboxCgroup | None = None
    # How long the network namespace took to get its filtered internet (0 without one).
    network_setup_seconds: float = 0.0

    @property
    def pids_cgroup(self) -> Path | None:
        """The sandbox's own pids cgroup (its pids.current counts its processes and threads), if it has one."""
        return self.cgroup.path("pids") if self.cgroup else None

    def poll(self) -> int | None:
        code = super().poll()
        if code is not None:
            self._release_resources()
        return code

    def wait(self, timeout: float | None = None) -> int:
        code = super().wait(timeout)
        self._release_resources()
        return code

    def kill_all(self) -> None:
        """SIGKILL the sandbox: the outer bwrap (its PID namespace follows) or, without bwrap, its session."""
        if self.returncode is not None:  # reaped: the pid may belong to someone else by now
            return
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(self.pid, signal.SIGKILL)

    def _release_resources(self) -> None:
        while getattr(self, "_release", None):
            with contextlib.suppress(OSError):
                self._release.pop()()


def bwrap_executable() -> str | None:
    return shutil.which("bwrap", path=SYSTEM_PATH)


def build_env(spec: SandboxSpec, *, home: str = HOME, tmpdir: str = TMPDIR) -> dict[str, str]:
    """The complete environment inside the sandbox: built from nothing, never from os.environ."""
    path = ":".join([*(f"{p}/bin" for p in spec.runtime_prefixes), SYSTEM_PATH])
    env = {"HOME": home, "TMPDIR": tmpdir, "PATH": path, "LANG": "C.UTF-8"}
    env.update(spec.env)
    return env


def env_args(env: Mapping[str, str]) -> bytes:
    """bwrap options, NUL-separated (for ``--args FD``), that replace the sandbox's environment by ``env``.
    ``--clearenv`` comes first: given after them, it would clear them."""
    parts = ["--clearenv"]
    for name, value in env.items():
        if "=" in name or "\0" in name or "\0" in value:
            raise ValueError(f"unusable environment variable {name!r}")
        parts += ["--setenv", name, value]
    return b"".join(part.encode() + b"\0" for part in parts)


@dataclass
class _Fds:
    """Descriptors handed to bwrap; the parent's copies are closed once it has started."""

    passed: list[int] = field(default_factory=list)

    def memfd(self, name: str, data: bytes) -> int:
        fd = os.memfd_create(name, 0)
        _write_all(fd, data)
        os.lseek(fd, 0, os.SEEK_SET)
        self.passed.append(fd)
        return fd

    def close(self) -> None:
        for fd in self.passed:
            with contextlib.suppress(OSError):
                os.close(fd)
        self.passed.clear()


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def build_argv(spec: SandboxSpec, bwrap: str = "bwrap", fds: _Fds | None = None) -> list[str]:
    """The bwrap command line for ``spec``; the environment, ``resolv.conf`` and ``hosts`` and the seccomp
    filter go through descriptors opened in ``fds`` (never on the command line)."""
    _check_binds(spec)
    fds = fds if fds is not None else _Fds()
    mode = network.check_mode(spec.network.effective_mode)
    argv = [bwrap, "--args", str(fds.memfd("pyrun-env", env_args(build_env(spec))))]
    argv += ["--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--cap-drop", "ALL"]
    argv += ["--hostname", HOSTNAME]
    if mode == network.HOST:
        argv.append("--share-net")
    if spec.new_session:
        argv.append("--new-session")
    program = _seccomp_program()
    if program:
        argv += ["--seccomp", str(fds.memfd("pyrun-seccomp", program))]
    if spec.root is None:
        argv += _host_root()
    else:
        argv += root_binds(Path(spec.root), _mount_points(spec))
    if mode == network.HOST:
        for name in _NETWORK_ETC_FILES:
            argv += ["--ro-bind-try", name, name]
    else:
        resolv = network.RESOLV_CONF if mode == network.FILTERED else ""
        argv += ["--ro-bind-data", str(fds.memfd("pyrun-resolv", resolv.encode())), "/etc/resolv.conf"]
        argv += ["--ro-bind-data", str(fds.memfd("pyrun-hosts", network.HOSTS.encode())), "/etc/hosts"]
    argv += ["--proc", "/proc", "--dev", "/dev"]
    # /tmp first: a bind below /tmp made before it would be hidden by the tmpfs.
    for target in (TMPDIR, HOME):
        if spec.limits.tmpfs_bytes:
            argv += ["--size", str(spec.limits.tmpfs_bytes)]
        argv += ["--tmpfs", target]
    for path in [*spec.runtime_prefixes, *spec.ro_binds]:
        argv += ["--ro-bind", str(path), str(path)]
    for path in spec.rw_binds:
        argv += ["--bind", str(path), str(path)]
    for name, data in spec.tools.items():
        path = _tool_path(name)
        argv += ["--perms", "0555", "--ro-bind-data", str(fds.memfd(f"pyrun-tool-{name}", data)), path]
    argv += ["--bind", str(Path(spec.workdir).resolve()), WORKDIR]
    # The root itself is a tmpfs bwrap builds the tree on; read-only, nobody can fill it.
    argv += ["--remount-ro", "/", "--chdir", WORKDIR, "--", *spec.argv]
    return argv


@functools.cache
def _seccomp_program() -> bytes:
    try:
        from pyrun_web.sandbox import seccomp
    except ImportError:
        return b""
    try:
        return seccomp.program()
    except Exception as exc:  # an architecture without a syscall table: the other walls still stand
        _warn_once(f"no seccomp filter for this machine: {exc}")
        return b""


def _host_root() -> list[str]:
    argv = ["--ro-bind", "/usr", "/usr"]
    for name in _ROOT_DIRS:
        if os.path.islink(name):
            argv += ["--symlink", os.readlink(name), name]
        elif os.path.isdir(name):
            argv += ["--ro-bind", name, name]
    for name in _ETC_FILES:
        argv += ["--ro-bind-try", name, name]
    return argv


def _mount_points(spec: SandboxSpec) -> list[str]:
    """Where the sandbox mounts something of its own over an image root."""
    binds = [*spec.runtime_prefixes, *spec.ro_binds, *spec.rw_binds]
    tools = [_tool_path(name) for name in spec.tools]
    return ["/proc", "/dev", TMPDIR, HOME, WORKDIR, *_NETWORK_ETC_FILES, *(str(path) for path in binds), *tools]


def _tool_path(name: str) -> str:
    if not name or "/" in name or "\0" in name or name in (".", ".."):
        raise ValueError(f"unusable sandbox tool name {name!r}")
    return f"{TOOLS_DIR}/{name}"


def root_binds(root: Path, mount_points: Sequence[str], dest: str = "/") -> list[str]:
    """bwrap arguments that rebuild ``root`` read-only at ``dest``, leaving every path of ``mount_points``
    free for a later mount.

    Binding the image root whole would make it impossible to create mount points inside it (it is read-only);
    so a directory with a mount point below it is recreated with ``--dir`` and its entries bound one by one,
    and the mount point itself is left out. Symlinks are recreated as symlinks (their targets resolve inside
    the sandbox, never on the host).
    """
    argv: list[str] = []
    try:
        entries = sorted(os.scandir(root), key=lambda entry: entry.name)
    except OSError:
        return argv
    for entry in entries:
        path = f"{dest.rstrip('/')}/{entry.name}"
        below = [point for point in mount_points if point == path or point.startswith(path + "/")]
        if path in below:
            continue  # mounted over later: its parent directory is enough
        if entry.is_symlink():
            if not below:
                argv += ["--symlink", os.readlink(entry.path), path]
        elif entry.is_dir(follow_symlinks=False):
            if below:
                argv += ["--dir", path, *root_binds(Path(entry.path), below, path)]
            else:
                argv += ["--ro-bind", entry.path, path]
        elif not below:
            argv += ["--ro-bind", entry.path, path]
    return argv


def popen(spec: SandboxSpec, *, tty: int | None = None, **kwargs) -> SandboxProcess:
    """Start ``spec`` in the sandbox; ``kwargs`` go to :class:`subprocess.Popen` (stdio, text, ...).

    ``tty``: a pty slave fd to use as stdin, stdout, stderr and controlling terminal (needs
    ``spec.new_session=False``). The sandbox always starts in its own session, so it never gets the
    platform's terminal signals and :meth:`SandboxProcess.kill_all` reaches it as a process group.

    With the filtered network, the sandbox waits (``--block-fd``) until its namespace has its network and
    rules: the user's command never runs unfiltered.

    Without a ``tty``, bwrap is started without a ``preexec_fn``, so Python can ``vfork`` instead of copying
    the page tables of a large worker (5-25 ms of every job's start here): the sandbox waits on
    ``--block-fd`` while this process moves bwrap and its child into the sandbox's cgroup and sets their
    rlimits (``prlimit``), which every process of the sandbox inherits; the command runs only after that.
    A terminal sets its controlling tty between fork and exec, so it keeps the ``preexec_fn``.

    Call it from a long-lived thread: ``--die-with-parent`` follows the thread that forked bwrap.
    """
    for reserved in ("env", "cwd", "preexec_fn", "start_new_session", "process_group", "pass_fds"):
        if reserved in kwargs:
            raise TypeError(f"popen() sets {reserved} itself")
    if tty is not None:
        if spec.new_session:
            raise ValueError("a controlling tty needs SandboxSpec(new_session=False)")
        kwargs.update(stdin=tty, stdout=tty, stderr=tty)
    bwrap = bwrap_executable()
    if bwrap is None:
        return _popen_unsandboxed(spec, tty, **kwargs)
    mode = network.check_mode(spec.network.effective_mode)
    if mode == network.HOST:
        _refuse_unless_single_user("sandbox:platform:network-host")
    cgroup = _cgroup_for(spec.limits)
    release: list[Callable[[], None]] = []
    if cgroup is not None:
        release.append(cgroup.remove)
    fds = _Fds()
    info_r = block_w = None
    # Limits after the start, while the sandbox is blocked (see above); a terminal's tty needs the preexec_fn.
    confine_later = tty is None
    try:
        argv = build_argv(spec, bwrap, fds)
        if mode == network.FILTERED or confine_later:
            info_r, info_w = os.pipe()
            block_r, block_w = os.pipe()
            fds.passed += [info_w, block_r]
            argv[1:1] = ["--info-fd", str(info_w), "--block-fd", str(block_r)]
        process = SandboxProcess(
            argv,
            env=LAUNCHER_ENV,
            preexec_fn=None if confine_later else _preexec(spec.limits, cgroup, tty is not None),
            start_new_session=True,
            pass_fds=tuple(fds.passed),
            **kwargs,
        )
    except BaseException:
        fds.close()
        for fd in (info_r, block_w):
            if fd is not None:
                os.close(fd)
        _undo(release)
        raise
    fds.close()
    process._release = release
    process.cgroup = cgroup
    if info_r is not None and block_w is not None:
        try:
            child = _child_pid(info_r, process, quiet=mode != network.FILTERED)
            if child is not None and confine_later:
                _confine([child, process.pid], spec.limits, cgroup)
            if mode == network.FILTERED:
                _wait_until_blocked(child, block_r, process)
                attached = network.attach(child, spec.network)
                release.insert(0, attached.close)
                process.network_setup_seconds = attached.setup_seconds
        except BaseException:
            os.close(block_w)  # the sandbox is killed before it ever runs the command
            process.kill_all()
            process.wait()
            raise
        finally:
            os.close(info_r)
        # A sandbox that died meanwhile has nobody reading: its exit status tells the caller, not this write.
        with contextlib.suppress(BrokenPipeError):
            os.write(block_w, b"1")
        os.close(block_w)
    return process


def run(spec: SandboxSpec, timeout: float = 120) -> subprocess.CompletedProcess:
    """Run ``spec`` to its end and collect its output as text (short probes and tests); killed at ``timeout``."""
    process = popen(spec, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        out, err = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill_all()
        out, err = process.communicate()
    finally:
        process.kill_all()
        process.wait()
    return subprocess.CompletedProcess(list(spec.argv), process.returncode, out, err)


def _child_pid(info_fd: int, process: subprocess.Popen, *, quiet: bool = False) -> int | None:
    """The pid (in our namespace) of bwrap's sandbox init, from its ``--info-fd`` JSON.

    ``quiet``: None when bwrap failed before making it (a missing bind, say): it is exiting with its own message
    on stderr, which tells the caller more than an error here would (nothing of the sandbox ever ran)."""
    data = b""
    while b"}" not in data:
        readable, _, _ = select.select([info_fd], [], [], INFO_TIMEOUT_S)
        chunk = os.read(info_fd, 4096) if readable else b""
        if not chunk:
            if quiet and readable:
                return None
            process.kill_all()
            raise PyrunError("sandbox:platform:network-failed", detail="bwrap did not report its child")
        data += chunk
    return int(json.loads(data[: data.index(b"}") + 1])["child-pid"])


def _confine(pids: Sequence[int], limits: ResourceLimits, cgroup: cgroups.SandboxCgroup | None) -> None:
    """Move ``pids`` (bwrap's sandbox init, then bwrap) into the sandbox's cgroup and set their rlimits, while the
    init waits on ``--block-fd``: every process that runs the command descends from it and inherits both. A
    sandbox that died meanwhile (ESRCH) has nothing left to confine; any other failure fails the start."""
    for pid in pids:
        try:
            for path in cgroup.procs_files if cgroup else []:
                fd = os.open(path, os.O_WRONLY)
                try:
                    os.write(fd, str(pid).encode())
                finally:
                    os.close(fd)
            for which, value in _rlimits(limits, cgroup):
                resource.prlimit(pid, which, value)
        except ProcessLookupError:
            continue


def _wait_until_blocked(child: int, block_fd: int, process: subprocess.Popen) -> None:
    """Wait until bwrap's child has finished its own setup (its loopback among it) and sits in ``read`` on the
    block descriptor: configuring the namespace's network while bwrap still configures ``lo`` makes one of
    them fail now and then."""
    deadline = time.monotonic() + INFO_TIMEOUT_S
    wanted = hex(block_fd)
    while time.monotonic() < deadline:
        try:
            fields = Path(f"/proc/{child}/syscall").read_text().split()
            wchan = Path(f"/proc/{child}/wchan").read_text()
        except OSError:
            break  # gone: its setup failed
        if len(fields) > 1 and fields[1] == wanted and "pipe_read" in wchan:
            return
        time.sleep(0.0002)
    process.kill_all()
    raise PyrunError("sandbox:platform:network-failed", detail="bwrap's sandbox did not finish its own setup")


def _cgroup_for(limits: ResourceLimits) -> cgroups.SandboxCgroup | None:
    wanted = cgroups.CgroupLimits(
        max_processes=limits.max_processes,
        memory_bytes=limits.memory_bytes,
        cpu_weight=settings.PYRUN_SANDBOX_CPU_WEIGHT or None,
        cpu_max_cores=settings.PYRUN_SANDBOX_CPU_MAX_CORES or None,
    )
    cgroup = cgroups.create(wanted)
    if limits.max_processes and (cgroup is None or cgroup.path("pids") is None):
        # RLIMIT_NPROC counts every process of the uid (and nothing for root): one org's fork storm would
        # starve every other org's jobs.
        _refuse_unless_single_user("sandbox:platform:no-pids-cgroup")
    return cgroup


def _refuse_unless_single_user(error_id: str) -> None:
    if not settings.PYRUN_UNSAFE_SINGLE_USER:
        raise PyrunError(error_id)
    _warn_once(f"PYRUN_UNSAFE_SINGLE_USER: running user code although {PyrunError(error_id).message}")


def _popen_unsandboxed(spec: SandboxSpec, tty: int | None, **kwargs) -> SandboxProcess:
    """The single-user laptop's fallback: a plain process with a clean environment and limits."""
    if spec.root is not None:
        raise PyrunError("sandbox:platform:bwrap-needed-for-image")
    _refuse_unless_single_user("sandbox:platform:bwrap-missing")
    release: list[Callable[[], None]] = []
    cgroup = cgroups.create(cgroups.CgroupLimits(max_processes=spec.limits.max_processes))
    if cgroup is not None:
        release.append(cgroup.remove)
    scratch = Path(tempfile.mkdtemp(prefix="pyrun-sandbox-"))
    (scratch / "home").mkdir()
    (scratch / "tmp").mkdir()
    release.append(functools.partial(shutil.rmtree, scratch, True))
    env = build_env(spec, home=str(scratch / "home"), tmpdir=str(scratch / "tmp"))
    try:
        process = SandboxProcess(
            list(spec.argv),
            env=env,
            cwd=str(spec.workdir),
            preexec_fn=_preexec(spec.limits, cgroup, tty is not None),
            start_new_session=True,
            **kwargs,
        )
    except BaseException:
        _undo(release)
        raise
    process._release = release
    process.cgroup = cgroup
    return process


def _undo(release: list[Callable[[], None]]) -> None:
    for undo in reversed(release):
        with contextlib.suppress(OSError):
            undo()


def _check_binds(spec: SandboxSpec) -> None:
    """Refuse any bind that would expose the platform's data dir (a programming error)."""
    protected = [Path(settings.DATA_DIR).resolve(), Path(settings.WORKSPACES_ROOT).resolve()]
    workdir = Path(spec.workdir).resolve()
    if not workdir.is_dir():
        raise ValueError(f"sandbox workdir {workdir} is not a directory")
    if any(secret.is_relative_to(workdir) for secret in protected):
        raise ValueError(f"sandbox workdir {workdir} would expose the platform's data")
    if spec.root is not None and not Path(spec.root).is_dir():
        raise ValueError(f"sandbox root {spec.root} is not a directory")
    for path in [*spec.runtime_prefixes, *spec.ro_binds, *spec.rw_binds]:
        resolved = Path(path).resolve()
        if not resolved.is_absolute() or not resolved.exists():
            raise ValueError(f"sandbox bind {path} does not exist")
        for secret in protected:
            if resolved == secret or secret.is_relative_to(resolved):
                raise ValueError(f"sandbox bind {path} would expose {secret}")
        if resolved.is_relative_to(protected[1]):
            raise ValueError(f"sandbox bind {path} is inside the workspaces root")


def _preexec(limits: ResourceLimits, cgroup: cgroups.SandboxCgroup | None, tty: bool) -> Callable[[], None]:
    """The function run in the child between fork and exec: only syscalls, no imports, locks or logging."""
    rlimits = _rlimits(limits, cgroup)
    procs = cgroup.procs_files if cgroup else []

    def preexec() -> None:
        for path in procs:  # join first, so every later fork is counted
            fd = os.open(path, os.O_WRONLY)
            try:
                os.write(fd, str(os.getpid()).encode())
            finally:
                os.close(fd)
        for which, value in rlimits:
            resource.setrlimit(which, value)
        if tty:  # already a session leader (start_new_session runs before this)
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    return preexec


def _rlimits(limits: ResourceLimits, cgroup: cgroups.SandboxCgroup | None) -> list[tuple[int, tuple[int, int]]]:
    """(resource, (soft, hard)) of a sandbox's processes."""
    rlimits = [(resource.RLIMIT_CORE, (0, 0))]
    if limits.memory_bytes:
        rlimits.append((resource.RLIMIT_AS, (limits.memory_bytes, limits.memory_bytes)))
    if limits.max_processes and (cgroup is None or cgroup.path("pids") is None):
        # The single-user fallback only.
        rlimits.append((resource.RLIMIT_NPROC, (limits.max_processes, limits.max_processes)))
    if limits.file_bytes:
        rlimits.append((resource.RLIMIT_FSIZE, (limits.file_bytes, limits.file_bytes)))
    if limits.cpu_seconds:  # soft limit sends SIGXCPU (catchable), the hard one SIGKILL a little later
        rlimits.append((resource.RLIMIT_CPU, (limits.cpu_seconds, limits.cpu_seconds + 5)))
    return rlimits


def status() -> dict[str, object]:
    """The walls on this host, for ``health/`` (staff) and the operator console."""
    bwrap, net, groups = bwrap_executable(), network.status(), cgroups.status()
    return {
        "bwrap": bool(bwrap),
        "network": net,
        "cgroups": groups,
        "seccomp": bool(_seccomp_program()),
        "unsafe_single_user": settings.PYRUN_UNSAFE_SINGLE_USER,
        "ok": bool(bwrap) and net["ok"] and groups["pids"] != "unavailable",
    }


def describe(walls: Mapping[str, object] | None = None) -> str:
    """One line on the walls for a person starting the platform: what is up, or what is missing and its effect."""
    walls = walls or status()
    net = walls["network"]
    missing = []
    if not walls["bwrap"]:
        missing.append("bwrap (Debian package bubblewrap)")
    if net["mode"] == network.FILTERED and net["missing"]:
        missing.append(", ".join(net["missing"]) + " (Debian packages slirp4netns, nftables, util-linux)")
    if net["mode"] == network.HOST:
        missing.append("a network namespace (PYRUN_SANDBOX_NETWORK=host)")
    if walls["cgroups"]["pids"] == "unavailable":
        missing.append("a writable pids cgroup")
    if not missing:
        cgroup_text = ", ".join(f"{name} {kind}" for name, kind in walls["cgroups"].items())
        seccomp = "on" if walls["seccomp"] else "off"
        return f"sandbox: ok (bwrap, {net['mode']} network, seccomp {seccomp}, {cgroup_text})"
    effect = (
        "user code runs with WEAKER WALLS (PYRUN_UNSAFE_SINGLE_USER)"
        if walls["unsafe_single_user"]
        else "jobs, terminals and builds will be REFUSED"
    )
    return f"sandbox: missing {'; '.join(missing)}: {effect}"


@functools.cache
def _warn_once(message: str) -> None:
    logger.warning(message)
