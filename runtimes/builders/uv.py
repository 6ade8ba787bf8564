"""The fast path for specs that are a Python plus pip packages: ``uv venv`` + ``uv pip install``.

The interpreter is one the host already has (never downloaded). uv's cache lives in the data dir, one per
org, so a warm install hardlinks instead of downloading and copying. Every uv command and the bytecode
compilation run in the build sandbox (``runtimes.builders.isolation``): installing an sdist runs its build
code, which must not see the worker's secrets, the data dir, the platform's network or another org's cache.
The installed packages are then read from their ``dist-info`` folders, without starting the built
interpreter on the host.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from importlib import metadata
from pathlib import Path

from pyrun_web.errors import PyrunError
from pyrun_web.sandbox import env_policy
from runtimes.builders.base import BuildContext, BuildResult, compile_bytecode, directory_size, run_command
from runtimes.builders.isolation import build_sandbox, org_cache_dir
from runtimes.interpreters import Interpreter, find_interpreter, uv_binary, uv_env

# What uv may take from the worker's environment: the operator's index, proxy and TLS settings.
_PASSTHROUGH = {
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "no_proxy",
}
_BASE_PREFIX_SCRIPT = "import sys; print(sys.base_prefix)"


def uv_cache_dir(org_id: int) -> Path:
    return org_cache_dir("uv", org_id)


def build_env(org_id: int) -> dict[str, str]:
    """uv's variables inside the build sandbox (which sets HOME, PATH and TMPDIR itself)."""
    env = {name: value for name, value in os.environ.items() if name in _PASSTHROUGH or name.startswith("UV_")}
    env = {name: value for name, value in env.items() if not env_policy.is_refused(name)}
    env.update(uv_env())
    env["UV_CACHE_DIR"] = str(uv_cache_dir(org_id))
    return env


class UvBuilder:
    name = "uv"

    def build(self, ctx: BuildContext) -> BuildResult:
        if ctx.prefix.exists():
            shutil.rmtree(ctx.prefix)  # left by an earlier attempt that died
        ctx.prefix.parent.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix="pyrun-uv-"))
        try:
            return self._build(ctx, scratch)
        except BaseException:
            shutil.rmtree(ctx.prefix, ignore_errors=True)
            raise
        finally:
            shutil.rmtree(scratch, ignore_errors=True)

    def _build(self, ctx: BuildContext, scratch: Path) -> BuildResult:
        spec = ctx.spec
        ctx.phase("resolve")
        interpreter = self._interpreter(ctx)
        base_prefix = host_base_prefix(interpreter.path)
        ctx.log(f"Python {interpreter.version_text}")
        env = build_env(ctx.org_id)
        box = build_sandbox(
            scratch, interpreter_prefixes=[Path(base_prefix)], writable=[ctx.prefix, Path(env["UV_CACHE_DIR"])], env=env
        )
        uv = uv_binary()
        run_command(
            [uv, "venv", "--python", interpreter.path, "--no-project", ctx.prefix],
            ctx,
            check_error="runtime:platform:venv-failed",
            sandbox=box,
        )
        python = ctx.prefix / "bin" / "python"
        if spec.pip_packages:
            ctx.phase("install")  # uv resolves, downloads and installs in this one command
            installed = run_command([uv, "pip", "install", "--python", python, *spec.pip_packages], ctx, sandbox=box)
            if installed.exit_code != 0:
                raise PyrunError("runtime:user:pip-failed", output=_resolver_message(installed.output))
        ctx.phase("compile")
        compile_bytecode(ctx, python, cwd=scratch, env=env, sandbox=box)
        packages = installed_packages(ctx.prefix)
        ctx.log(f"{len(packages)} package(s): " + ", ".join(f"{p['name']}=={p['version']}" for p in packages))
        return BuildResult(
            python_version=interpreter.version_text,
            packages=packages,
            size_bytes=directory_size(ctx.prefix),
            prefix=str(ctx.prefix),
            extra={"base_prefix": base_prefix, "interpreter": str(interpreter.path)},
        )

    def _interpreter(self, ctx: BuildContext) -> Interpreter:
        # The version the spec hash recorded, exactly; if it is gone, the user's pin (and its error) decides.
        resolved = ctx.python_version
        if resolved and not resolved.startswith("unavailable:"):
            try:
                return find_interpreter(f"=={resolved}")
            except PyrunError:
                pass
        return find_interpreter(ctx.spec.python)


def host_base_prefix(executable: Path | str) -> str:
    """The install a host interpreter belongs to (run on the host: it is the platform's, not the tenant's)."""
    done = subprocess.run(
        [str(executable), "-I", "-c", _BASE_PREFIX_SCRIPT], capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise PyrunError("runtime:platform:venv-failed", output=done.stderr.strip()[-2000:])
    return done.stdout.strip()


def _resolver_message(output: str) -> str:
    """uv's own explanation, without the lines that only name our paths."""
    lines = [line for line in output.splitlines() if not line.startswith("Using Python ")]
    return "\n".join(lines[-30:]).strip()


def installed_packages(prefix: Path, source: str = "pypi", skip_installer: str = "") -> list[dict]:
    """The distributions installed in ``prefix``'s site-packages, read from their metadata files (never by
    running the prefix's interpreter, whose start-up runs the packages' ``.pth`` files); those whose INSTALLER
    is ``skip_installer`` are left out."""
    found: dict[str, dict] = {}
    for site in sorted(prefix.glob("lib/python*/site-packages")):
        for dist in metadata.distributions(path=[str(site)]):
            name = dist.metadata["Name"]
            if skip_installer and (dist.read_text("INSTALLER") or "").strip() == skip_installer:
                continue
            if name and name.lower() not in found:
                found[name.lower()] = {"name": name, "version": dist.version, "source": source}
    return sorted(found.values(), key=lambda row: row["name"].lower())
