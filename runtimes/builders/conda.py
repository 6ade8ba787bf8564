"""Build a local runtime from conda packages with py-rattler (solve + install), then pip packages with uv.

Python comes from the channels when they carry one that satisfies the pin. Otherwise it comes from the host:
the prefix is first made a uv venv of a host interpreter, and a stand-in ``python`` record describing that
interpreter is pinned into the solve and written to ``conda-meta``. rattler links ``noarch: python`` packages
into the site-packages named by the python record of the transaction (``python_site_packages_path``, else
``lib/pythonX.Y/site-packages``), so they land in the venv's own site-packages; python itself is ignored by
the install, so rattler never tries to download it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import queue
import re
import shutil
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any, TypeVar

import rattler
import rattler.exceptions as rattler_errors
from django.conf import settings
from rattler import Channel, Gateway, MatchSpec, PackageRecord, PrefixRecord, RepoDataRecord, Subdir, VirtualPackage
from rattler.package import BuildString
from rattler.prefix import PrefixPaths

from pyrun_web import sandbox
from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import SandboxSpec
from runtimes.builders.base import BuildContext, BuildResult, compile_bytecode, directory_size, run_command
from runtimes.builders.isolation import build_sandbox
from runtimes.builders.uv import build_env, host_base_prefix, installed_packages
from runtimes.interpreters import available_interpreters, find_interpreter, uv_binary

T = TypeVar("T")

DEFAULT_CHANNELS = ("conda-forge",)
HOST_PYTHON_BUILD = "pyrun_host"
_CHANNEL_ERRORS = (
    rattler_errors.GatewayError,
    rattler_errors.FetchRepoDataError,
    rattler_errors.InvalidChannelError,
    rattler_errors.InvalidUrlError,
)
_BARE_VERSION = re.compile(r"^\d+(\.\d+)*(\.\*)?$")
_INFO_SCRIPT = (
    "import json, platform, sys, sysconfig; print(json.dumps({'version': platform.python_version(), "
    "'prefix': sys.prefix, 'base_prefix': sys.base_prefix, 'purelib': sysconfig.get_path('purelib')}))"
)


def resolve_channel(channel: str, alias: str | None = None) -> str:
    """The URL of a channel as written in ``environment.yml``: a bare name (``conda-forge``, ``me/label/dev``)
    goes under the channel alias (a mirror), a URL or an absolute path is used as is."""
    channel = channel.strip()
    if "://" in channel:
        return channel.rstrip("/")
    if channel.startswith("/"):
        return Path(channel).as_uri()
    alias = alias if alias is not None else settings.PYRUN_CONDA_CHANNEL_ALIAS
    return f"{alias.rstrip('/')}/{channel.strip('/')}"


def conda_python_spec(pin: str) -> str:
    """``python=3.11`` in conda means any 3.11.x, but a bare ``3.11`` in a match spec means exactly 3.11."""
    pin = pin.strip()
    if not pin:
        return "python"
    if _BARE_VERSION.match(pin):
        return f"python {pin.removesuffix('.*')}.*"
    return f"python {pin}"


def interpreter_info(python: Path, box: SandboxSpec) -> dict[str, str]:
    # In the build sandbox: the interpreter's start-up runs the installed packages' .pth files.
    done = sandbox.run(dataclasses.replace(box, argv=[str(python), "-I", "-c", _INFO_SCRIPT]), timeout=60)
    if done.returncode != 0:
        raise PyrunError("runtime:user:conda-install-failed", detail=f"{python} does not run: {done.stderr.strip()}")
    return json.loads(done.stdout)


def host_python_record(info: dict[str, str]) -> RepoDataRecord:
    """A conda record standing for the venv's interpreter. Its ``python_site_packages_path`` (CEP 17) is where
    rattler links ``noarch: python`` packages, so it is taken from the venv itself."""
    site_packages = Path(info["purelib"]).relative_to(info["prefix"]).as_posix()
    record = PackageRecord(
        "python",
        info["version"],
        BuildString(HOST_PYTHON_BUILD),
        0,
        str(Subdir.current()),
        depends=[],
        python_site_packages_path=site_packages,
    )
    file_name = f"python-{info['version']}-{HOST_PYTHON_BUILD}.conda"
    base = Path(info["base_prefix"]).as_uri()
    return RepoDataRecord(record, file_name, f"{base}/{file_name}", f"{base}/")


class _Reporter(rattler.InstallerReporter):
    """rattler calls this from its own threads: queue the lines, the build thread logs them."""

    def __init__(self, lines: queue.SimpleQueue[str]) -> None:
        self.lines = lines

    def on_transaction_start(self, total_operations: int) -> None:
        self.lines.put(f"Installing {total_operations} conda package(s)")

    def on_link_start(self, operation: int, package_name: str) -> int:
        self.lines.put(f"  linking {package_name}")
        return operation


class CondaBuilder:
    name = "conda"

    def build(self, ctx: BuildContext) -> BuildResult:
        if ctx.prefix.exists():
            shutil.rmtree(ctx.prefix)  # a prefix left by an earlier, failed attempt
        ctx.prefix.parent.mkdir(parents=True, exist_ok=True)
        # uv runs as in the uv builder: in the build sandbox, with the org's own cache.
        scratch = Path(tempfile.mkdtemp(prefix="pyrun-conda-"))
        try:
            return self._build(ctx, scratch, build_env(ctx.org_id))
        except BaseException:
            shutil.rmtree(ctx.prefix, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _build(self, ctx: BuildContext, scratch: Path, uv_env: dict[str, str]) -> BuildResult:
        spec = ctx.spec
        channels = {name: resolve_channel(name) for name in (spec.channels or DEFAULT_CHANNELS)}
        platforms = [Subdir.current(), Subdir("noarch")]
        # Beside the prefixes (rattler hardlinks from its package cache into them), one package cache per org:
        # a build writing into a linked file can only spoil its own org's later builds. Repodata is only read.
        cache = Path(settings.RUNTIMES_ROOT) / ".cache" / "rattler"
        packages_cache = cache / "pkgs" / f"org-{int(ctx.org_id)}"
        gateway = Gateway(cache_dir=cache / "repodata")
        lines: queue.SimpleQueue[str] = queue.SimpleQueue()
        ctx.phase("resolve")
        ctx.log("Channels: " + ", ".join(channels.values()))

        python_spec = conda_python_spec(spec.python)
        channel_pythons = _run(ctx, lines, _channel_pythons(gateway, channels, platforms))
        python_from_channels = any(MatchSpec(python_spec).matches(record) for record in channel_pythons)
        specs = [_match_spec(s) for s in spec.conda_packages]
        base_prefix = ""
        if python_from_channels:
            ctx.log(f"Python: from the channels ({python_spec})")
            specs.append(MatchSpec(python_spec))
            pinned: list[RepoDataRecord] = []
        else:
            found = find_interpreter(spec.python)
            interpreter = found.path
            ctx.log(f"Python: host interpreter {found.version_text} (the channels carry no {python_spec})")
            box = self._sandbox(ctx, scratch, uv_env, [host_base_prefix(interpreter)])
            venv = run_command(
                [uv_binary(), "venv", ctx.prefix, "--python", interpreter, "--no-python-downloads"], ctx, sandbox=box
            )
            if venv.exit_code != 0:
                raise PyrunError("runtime:user:conda-install-failed", detail=f"uv venv failed:\n{venv.output[-2000:]}")
            info = interpreter_info(ctx.prefix / "bin" / "python", box)
            base_prefix = info["base_prefix"]
            pinned = [host_python_record(info)]

        ctx.log(f"Solving {', '.join(map(str, specs))} for {platforms[0]} + noarch")
        started = time.monotonic()
        records = _run(ctx, lines, _solve(gateway, list(channels.values()), specs, platforms, pinned))
        conda_records = [r for r in records if not (pinned and r.name.normalized == "python")]
        ctx.log(f"Solved {len(conda_records)} package(s) in {time.monotonic() - started:.1f}s:")
        for record in sorted(conda_records, key=lambda r: r.name.normalized):
            ctx.log(f"  {record.name.normalized}={record.version} {record.build} {record.channel}")

        if pinned:
            # rattler reads conda-meta to know what is installed: python is there, it only has to be described
            meta = ctx.prefix / "conda-meta"
            meta.mkdir(parents=True, exist_ok=True)
            PrefixRecord(pinned[0], PrefixPaths()).write_to_path(meta / f"{pinned[0].file_name[:-6]}.json", True)
        started = time.monotonic()
        ctx.phase("install")  # rattler downloads the packages and links them in one call
        _run(ctx, lines, _install(records, ctx.prefix, packages_cache, bool(pinned), _Reporter(lines)))
        ctx.log(f"Installed {len(conda_records)} conda package(s) in {time.monotonic() - started:.1f}s")

        python = ctx.prefix / "bin" / "python"
        if not python.exists():
            raise PyrunError("runtime:user:conda-install-failed", detail="the environment has no bin/python")
        packages = [
            {
                "name": r.name.normalized,
                "version": str(r.version),
                "build": str(r.build),
                "channel": r.channel,
                "source": "conda",
            }
            for r in conda_records
        ]
        box = self._sandbox(ctx, scratch, uv_env, [Path(base_prefix)] if base_prefix else _host_installs_of(python))
        if spec.pip_packages:
            packages += self._pip_install(ctx, python, box)
        ctx.phase("compile")
        compile_bytecode(ctx, python, cwd=ctx.prefix, env=uv_env, sandbox=box)
        info = interpreter_info(python, box)
        extra = {"channels": list(channels.values())}
        if base_prefix:
            extra["base_prefix"] = base_prefix
        return BuildResult(
            python_version=info["version"],
            packages=packages,
            size_bytes=directory_size(ctx.prefix),
            prefix=str(ctx.prefix),
            extra=extra,
        )

    def _sandbox(self, ctx: BuildContext, scratch: Path, uv_env: dict[str, str], bases: list[Path]) -> SandboxSpec:
        return build_sandbox(
            scratch, interpreter_prefixes=bases, writable=[ctx.prefix, Path(uv_env["UV_CACHE_DIR"])], env=uv_env
        )

    def _pip_install(self, ctx: BuildContext, python: Path, box: SandboxSpec) -> list[dict]:
        run_command(
            [uv_binary(), "pip", "install", "--python", python, *ctx.spec.pip_packages],
            ctx,
            check_error="runtime:user:pip-failed",
            sandbox=box,
        )
        # conda's own python packages carry dist-info too; only what uv installed counts as pypi
        return installed_packages(ctx.prefix, skip_installer="conda")


def _host_installs_of(python: Path) -> list[Path]:
    """The host interpreter install a channel's ``bin/python`` links to, if it is one the platform knows (a
    channel package that only points at a host interpreter, as the tests' stand-in does); a link anywhere
    else binds nothing and the interpreter simply does not start in the sandbox."""
    target = python.resolve()
    for known in available_interpreters():
        if Path(known.path).resolve() == target:
            return [Path(host_base_prefix(known.path))]
    return []


def _match_spec(text: str) -> MatchSpec:
    try:
        return MatchSpec(text)
    except rattler_errors.InvalidMatchSpecError as exc:
        raise PyrunError("runtime:user:conda-solve-failed", detail=f"{text!r}: {exc}") from exc


async def _channel_pythons(gateway: Gateway, channels: dict[str, str], platforms: list[Subdir]) -> list[RepoDataRecord]:
    """Fetch each channel's repodata (naming the one that cannot be reached) and return its python records."""
    pythons: list[RepoDataRecord] = []
    for name, url in channels.items():
        try:
            result = await gateway.query([Channel(url)], platforms, ["python"], recursive=False)
        except _CHANNEL_ERRORS as exc:
            channel = repr(name) if name == url else f"{name!r} ({url})"
            raise PyrunError("runtime:user:conda-channel-unreachable", channel=channel, detail=str(exc)) from exc
        pythons += [record for records in result for record in records]
    return pythons


async def _solve(
    gateway: Gateway,
    channels: list[str],
    specs: list[MatchSpec],
    platforms: list[Subdir],
    pinned: list[RepoDataRecord],
) -> list[RepoDataRecord]:
    try:
        virtual = VirtualPackage.detect()
    except rattler_errors.DetectVirtualPackageError:
        virtual = []
    try:
        return await rattler.solve(
            [Channel(url) for url in channels],
            specs,
            gateway=gateway,
            platforms=platforms,
            pinned_packages=pinned,
            virtual_packages=virtual,
        )
    except rattler_errors.SolverError as exc:
        detail = str(exc).strip()
        if pinned:
            detail += f"\n(python is this server's {pinned[0].version}: the channels carry no python for the pin)"
        raise PyrunError("runtime:user:conda-solve-failed", detail=detail) from exc
    except _CHANNEL_ERRORS as exc:  # each channel was read just before, so this is a flaky mirror
        channel = " or ".join(map(repr, channels))
        raise PyrunError("runtime:user:conda-channel-unreachable", channel=channel, detail=str(exc)) from exc


async def _install(
    records: list[RepoDataRecord],
    prefix: Path,
    cache_dir: Path,
    host_python: bool,
    reporter: _Reporter,
) -> None:
    try:
        await rattler.install(
            records,
            prefix,
            cache_dir=cache_dir,
            ignored_packages={"python"} if host_python else None,
            reporter=reporter,
            execute_link_scripts=False,  # post-link scripts are arbitrary code outside the sandbox
        )
    except Exception as exc:  # rattler raises a dozen install/link/io error types, all with a readable text
        raise PyrunError("runtime:user:conda-install-failed", detail=str(exc).strip()) from exc


def _run(ctx: BuildContext, lines: queue.SimpleQueue[str], work: Coroutine[Any, Any, T]) -> T:
    """Run a rattler coroutine to completion on a fresh loop (the build runs in a worker thread without one),
    logging queued progress lines and stopping it on cancel or at the deadline, as run_command does."""

    def drain() -> None:
        while True:
            try:
                ctx.log(lines.get_nowait())
            except queue.Empty:
                return

    async def supervise() -> T:
        task = asyncio.ensure_future(work)
        try:
            while True:
                done, _ = await asyncio.wait({task}, timeout=0.2)
                drain()
                if done:
                    return task.result()
                if ctx.cancelled.is_set():
                    raise PyrunError("runtime:user:cancelled")
                if time.monotonic() > ctx.deadline:
                    raise PyrunError("runtime:user:timeout", seconds=int(ctx.timeout_s))
        finally:
            if not task.done():
                task.cancel()

    return asyncio.run(supervise())
