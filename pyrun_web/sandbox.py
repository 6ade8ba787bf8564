"""The one sandbox that user code runs in: jobs, terminals and builds.

A :class:`SandboxSpec` says what to run, which workspace directory to expose (read-write at
``/workspace``), which interpreter prefixes and other host paths to expose read-only, the environment and
the resource limits. :func:`popen` starts it under bubblewrap (``bwrap``):

- new user, PID, IPC, UTS and cgroup namespaces (the network is shared: jobs reach S3, Lambda, Dask), no
  capabilities, no nested user namespaces, and ``--die-with-parent``: when the platform process (or the
  outer ``bwrap``) dies, the PID namespace dies with every process in it, ``setsid`` or not;
- a read-only root made of ``/usr`` (and the ``/bin``, ``/lib*`` links), a short list of ``/etc`` files, the
  interpreter prefixes; or, for a Dockerfile runtime, the image's unpacked filesystem (``spec.root``) with only
  the host's ``resolv.conf`` and ``hosts``; private size-capped tmpfs for ``/tmp`` and ``$HOME``; nothing of
  the data dir, other workspaces or the database;
- exactly the environment of the spec (HOME, TMPDIR, PATH, LANG plus ``spec.env``): nothing is inherited.

Limits are rlimits set in ``preexec_fn`` (address space, processes, file size, CPU seconds, no core files).
``RLIMIT_NPROC`` is ignored by the kernel for root (uid 0 in the initial user namespace, which a root
platform keeps inside the sandbox) and otherwise counts every process of the uid, not of one sandbox; so
when a pids cgroup can be created (cgroup v1 ``pids`` hierarchy, or a v2 one with ``pids`` delegated), each
sandbox also gets its own cgroup with ``pids.max``. Without either, the process limit is not enforced for a
root platform and a warning says so once.

Without ``bwrap``: in production (``settings.PRODUCTION``) :func:`popen` raises
``sandbox:platform:bwrap-missing``; elsewhere it logs a warning and runs the command as a plain process
with the same clean environment, rlimits and pids cgroup, in the workspace directory and its own session,
but without any filesystem or PID isolation (a development convenience only).
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import logging
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import termios
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings

from pyrun_web.errors import PyrunError

logger = logging.getLogger(__name__)

WORKDIR = "/workspace"  # where the spec's workdir appears inside the sandbox
HOME = "/home/pyrun"
TMPDIR = "/tmp"  # noqa: S108 (a private tmpfs inside the sandbox, not the host's /tmp)
HOSTNAME = "pyrun"
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
DEFAULT_TMPFS_BYTES = 1024**3  # each of /tmp and $HOME: tmpfs lives in RAM, so it needs a cap

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
    "/etc/hosts",
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
    "/etc/resolv.conf",
    "/etc/services",
    "/etc/ssl",
    "/etc/terminfo",
    "/etc/timezone",
)
# The host's name resolution, bound over an image root's own (Docker writes these into a container at start,
# so an exported image has them empty or missing).
_NETWORK_ETC_FILES = ("/etc/resolv.conf", "/etc/hosts")


@dataclass(frozen=True)
class ResourceLimits:
    """Per-sandbox limits; ``None`` leaves a limit unset."""

    memory_bytes: int | None = None  # RLIMIT_AS: address space, so thread stacks and arenas count too
    max_processes: int | None = None  # processes and threads (RLIMIT_NPROC + pids cgroup)
    file_bytes: int | None = None  # RLIMIT_FSIZE: largest file one write may grow
    cpu_seconds: int | None = None  # RLIMIT_CPU, per process
    tmpfs_bytes: int | None = DEFAULT_TMPFS_BYTES  # size of each private tmpfs (/tmp, $HOME)

    @classmethod
    def for_org(cls, limits, **overrides) -> ResourceLimits:
        """The limits of an organisation (``Organization.limits``) for one sandbox."""
        values = {"memory_bytes": limits.job_memory_bytes, "max_processes": limits.job_max_processes}
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
    # Host directories bound read-write at the same path (e.g. the folder of the runner's monitoring socket).
    rw_binds: Sequence[Path] = ()
    # Added to the base environment (HOME, TMPDIR, PATH, LANG) and wins over it.
    env: Mapping[str, str] = field(default_factory=dict)
    limits: ResourceLimits = field(default_factory=ResourceLimits)
    # A new session detaches from any inherited terminal (no TIOCSTI into it); an interactive shell on
    # its own pty needs the pty as controlling terminal instead, so a terminal turns this off.
    new_session: bool = True
    share_net: bool = True
    # A container-image runtime's unpacked filesystem (``runtimes.rootfs``): it becomes the read-only root
    # instead of the host's /usr and /etc, with the host's name resolution bound over the image's.
    root: Path | None = None


class SandboxProcess(subprocess.Popen):
    """A Popen that releases the sandbox's host-side resources (pids cgroup, scratch dirs) once reaped."""

    _release: list[Callable[[], None]]
    # The sandbox's own pids cgroup (its pids.current counts its processes and threads), if it has one.
    pids_cgroup: Path | None = None

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
    return shutil.which("bwrap")


def build_env(spec: SandboxSpec, *, home: str = HOME, tmpdir: str = TMPDIR) -> dict[str, str]:
    """The complete environment inside the sandbox: built from nothing, never from os.environ."""
    path = ":".join([*(f"{p}/bin" for p in spec.runtime_prefixes), SYSTEM_PATH])
    env = {"HOME": home, "TMPDIR": tmpdir, "PATH": path, "LANG": "C.UTF-8"}
    env.update(spec.env)
    return env


def build_argv(spec: SandboxSpec, bwrap: str = "bwrap") -> list[str]:
    """The bwrap command line for ``spec`` (the environment is not on it: see :func:`popen`)."""
    _check_binds(spec)
    argv = [bwrap, "--unshare-all", "--unshare-user", "--disable-userns", "--die-with-parent", "--cap-drop", "ALL"]
    argv += ["--hostname", HOSTNAME]
    if spec.share_net:
        argv.append("--share-net")
    if spec.new_session:
        argv.append("--new-session")
    if spec.root is None:
        argv += _host_root()
    else:
        argv += root_binds(Path(spec.root), _mount_points(spec))
        for name in _NETWORK_ETC_FILES:
            argv += ["--ro-bind-try", name, name]
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
    argv += ["--bind", str(Path(spec.workdir).resolve()), WORKDIR]
    # The root itself is a tmpfs bwrap builds the tree on; read-only, nobody can fill it.
    argv += ["--remount-ro", "/", "--chdir", WORKDIR, "--", *spec.argv]
    return argv


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
    return ["/proc", "/dev", TMPDIR, HOME, WORKDIR, *_NETWORK_ETC_FILES, *(str(path) for path in binds)]


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

    Call it from a long-lived thread: ``--die-with-parent`` follows the thread that forked bwrap.
    """
    for reserved in ("env", "cwd", "preexec_fn", "start_new_session", "process_group"):
        if reserved in kwargs:
            raise TypeError(f"popen() sets {reserved} itself")
    if tty is not None:
        if spec.new_session:
            raise ValueError("a controlling tty needs SandboxSpec(new_session=False)")
        kwargs.update(stdin=tty, stdout=tty, stderr=tty)
    release: list[Callable[[], None]] = []
    cgroup = _new_pids_cgroup(spec.limits.max_processes)
    if cgroup is not None:
        release.append(functools.partial(_remove_cgroup, cgroup))
    bwrap = bwrap_executable()
    if bwrap is not None:
        argv, env, cwd = build_argv(spec, bwrap), build_env(spec), None
    else:
        if settings.PRODUCTION:
            raise PyrunError("sandbox:platform:bwrap-missing")
        if spec.root is not None:
            raise PyrunError("sandbox:platform:bwrap-needed-for-image")
        _warn_once("bwrap is not installed (Debian package bubblewrap): running user code WITHOUT a sandbox")
        scratch = Path(tempfile.mkdtemp(prefix="pyrun-sandbox-"))
        (scratch / "home").mkdir()
        (scratch / "tmp").mkdir()
        release.append(functools.partial(shutil.rmtree, scratch, True))
        argv, cwd = list(spec.argv), str(spec.workdir)
        env = build_env(spec, home=str(scratch / "home"), tmpdir=str(scratch / "tmp"))
    preexec = _preexec(spec.limits, cgroup, tty is not None)
    try:
        # The environment goes to bwrap itself rather than as --setenv on its command line: a command line
        # is world-readable in /proc and ends up in logs; bwrap passes its own environment on unchanged.
        process = SandboxProcess(argv, env=env, cwd=cwd, preexec_fn=preexec, start_new_session=True, **kwargs)
    except BaseException:
        for undo in reversed(release):
            with contextlib.suppress(OSError):
                undo()
        raise
    process._release = release
    process.pids_cgroup = Path(cgroup) if cgroup else None
    return process


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


def _preexec(limits: ResourceLimits, cgroup: str | None, tty: bool) -> Callable[[], None]:
    """The function run in the child between fork and exec: only syscalls, no imports, locks or logging."""
    rlimits = [(resource.RLIMIT_CORE, 0)]
    if limits.memory_bytes:
        rlimits.append((resource.RLIMIT_AS, limits.memory_bytes))
    if limits.max_processes:
        rlimits.append((resource.RLIMIT_NPROC, limits.max_processes))
    if limits.file_bytes:
        rlimits.append((resource.RLIMIT_FSIZE, limits.file_bytes))
    cpu = limits.cpu_seconds
    procs = f"{cgroup}/cgroup.procs" if cgroup else None

    def preexec() -> None:
        if procs is not None:  # join first, so every later fork is counted
            fd = os.open(procs, os.O_WRONLY)
            try:
                os.write(fd, str(os.getpid()).encode())
            finally:
                os.close(fd)
        for which, value in rlimits:
            resource.setrlimit(which, (value, value))
        if cpu:  # soft limit sends SIGXCPU (catchable), the hard one SIGKILL a little later
            resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 5))
        if tty:  # already a session leader (start_new_session runs before this)
            fcntl.ioctl(0, termios.TIOCSCTTY, 0)

    return preexec


# --- Per-sandbox pids cgroup -----------------------------------------------------------------------------

_CGROUP_PARENT = "pyrun-sandboxes"
_STALE_CGROUP_SECONDS = 60


def _new_pids_cgroup(max_processes: int | None) -> str | None:
    """A fresh cgroup with ``pids.max``, or None when no pids cgroup can be made here."""
    if not max_processes:
        return None
    parent = _pids_cgroup_parent()
    if parent is None:
        if os.geteuid() == 0:
            _warn_once("no writable pids cgroup and running as root: the sandbox process limit is not enforced")
        return None
    _sweep_stale_cgroups(parent)
    path = parent / uuid.uuid4().hex
    path.mkdir()
    (path / "pids.max").write_text(str(max_processes))
    return str(path)


@functools.cache
def _pids_cgroup_parent() -> Path | None:
    for mount in _pids_cgroup_candidates():
        parent = mount / _CGROUP_PARENT
        try:
            parent.mkdir(exist_ok=True)
            if mount.joinpath("cgroup.subtree_control").exists():  # v2: children need pids enabled
                with contextlib.suppress(OSError):
                    (parent / "cgroup.subtree_control").write_text("+pids")
            probe = parent / f"probe-{uuid.uuid4().hex}"
            probe.mkdir()
            usable = (probe / "pids.max").exists()
            probe.rmdir()
        except OSError:
            usable = False
        if usable:
            return parent
        with contextlib.suppress(OSError):
            parent.rmdir()
    return None


def _pids_cgroup_candidates() -> list[Path]:
    """Our own cgroup in the v1 pids hierarchy, then in the v2 one (from /proc/self/cgroup + mountinfo)."""
    try:
        own = dict(line.split(":", 2)[1:] for line in Path("/proc/self/cgroup").read_text().splitlines())
        mountinfo = Path("/proc/self/mountinfo").read_text().splitlines()
    except OSError:
        return []
    own_by_controller = {ctrl: path for ctrls, path in own.items() for ctrl in ctrls.split(",")}
    found: dict[str, Path] = {}
    for line in mountinfo:
        left, _, right = line.partition(" - ")
        fields, (fstype, _source, options) = left.split(), right.split()[:3]
        root, mountpoint = fields[3], fields[4]
        if fstype == "cgroup" and "pids" in options.split(","):
            key, own_path = "v1", own_by_controller.get("pids")
        elif fstype == "cgroup2":
            key, own_path = "v2", own.get("")
        else:
            continue
        if own_path is None or key in found:
            continue
        relative = os.path.relpath(own_path, root)
        if not relative.startswith(".."):
            found[key] = Path(mountpoint) / relative
    return [found[k] for k in ("v1", "v2") if k in found]


# Cgroups whose sandbox was reaped while the kernel still tore down its PID namespace (the outer bwrap
# exits before its inner init is gone), to remove on the next sweep.
_busy_cgroups: set[str] = set()


def _remove_cgroup(path: str) -> None:
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:
        _busy_cgroups.add(path)


def _sweep_stale_cgroups(parent: Path) -> None:
    """Remove cgroups left busy at release, and old ones of sandboxes never reaped (e.g. a crashed worker).

    A cgroup that still holds a process refuses rmdir, so neither can remove one in use; the age guard keeps
    the sweep off a cgroup another platform process has just made and not yet joined.
    """
    for path in list(_busy_cgroups):
        with contextlib.suppress(OSError):
            os.rmdir(path)
        if not os.path.exists(path):
            _busy_cgroups.discard(path)
    cutoff = time.time() - _STALE_CGROUP_SECONDS
    with contextlib.suppress(OSError):
        for child in parent.iterdir():
            with contextlib.suppress(OSError):
                if child.is_dir() and child.stat().st_mtime < cutoff:
                    child.rmdir()


@functools.cache
def _warn_once(message: str) -> None:
    logger.warning(message)
