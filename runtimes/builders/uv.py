"""The fast path for specs that are a Python plus pip packages: ``uv venv`` + ``uv pip install``.

The interpreter is one the host already has (never downloaded). uv's cache lives in the data dir, next to
the runtimes, so a warm install hardlinks instead of downloading and copying. uv runs with a clean
environment and a scratch HOME: installing an sdist runs its build code, which must not see the worker's
secrets or the operator's home.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from django.conf import settings

from pyrun_web.errors import PyrunError
from runtimes.builders.base import BuildContext, BuildResult, compile_bytecode, directory_size, run_command
from runtimes.interpreters import Interpreter, find_interpreter, uv_binary, uv_env

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
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


def uv_cache_dir() -> Path:
    return Path(settings.DATA_DIR) / "cache" / "uv"


def build_env(scratch: Path) -> dict[str, str]:
    env = {name: value for name, value in os.environ.items() if name in _PASSTHROUGH or name.startswith("UV_")}
    env.update(uv_env())
    env.update(
        {
            "PATH": SYSTEM_PATH,
            "HOME": str(scratch),
            "TMPDIR": str(scratch),
            "LANG": "C.UTF-8",
            "UV_CACHE_DIR": str(uv_cache_dir()),
        }
    )
    return env


class UvBuilder:
    name = "uv"

    def build(self, ctx: BuildContext) -> BuildResult:
        if ctx.prefix.exists():
            shutil.rmtree(ctx.prefix)  # left by an earlier attempt that died
        ctx.prefix.parent.mkdir(parents=True, exist_ok=True)
        uv_cache_dir().mkdir(parents=True, exist_ok=True)
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
        interpreter = self._interpreter(ctx)
        base_prefix = _base_prefix(interpreter)
        ctx.log(f"Python {interpreter.version_text} from {base_prefix}")
        env = build_env(scratch)
        uv = uv_binary()
        run_command(
            [uv, "venv", "--python", interpreter.path, "--no-project", ctx.prefix],
            ctx,
            cwd=scratch,
            env=env,
            inherit_env=False,
            check_error="runtime:platform:venv-failed",
        )
        python = ctx.prefix / "bin" / "python"
        if spec.pip_packages:
            installed = run_command(
                [uv, "pip", "install", "--python", python, *spec.pip_packages],
                ctx,
                cwd=scratch,
                env=env,
                inherit_env=False,
            )
            if installed.exit_code != 0:
                raise PyrunError("runtime:user:pip-failed", output=_resolver_message(installed.output))
        compile_bytecode(ctx, python, cwd=scratch, env=env)
        packages = _installed(uv, python, env, scratch)
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


def _base_prefix(interpreter: Interpreter) -> str:
    done = subprocess.run(
        [str(interpreter.path), "-I", "-c", _BASE_PREFIX_SCRIPT], capture_output=True, text=True, timeout=60
    )
    if done.returncode != 0:
        raise PyrunError("runtime:platform:venv-failed", output=done.stderr.strip()[-2000:])
    return done.stdout.strip()


def _resolver_message(output: str) -> str:
    """uv's own explanation, without the lines that only name our paths."""
    lines = [line for line in output.splitlines() if not line.startswith("Using Python ")]
    return "\n".join(lines[-30:]).strip()


def _installed(uv: str, python: Path, env: dict[str, str], cwd: Path) -> list[dict]:
    done = subprocess.run(
        [uv, "pip", "list", "--python", str(python), "--format", "json"],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
    )
    if done.returncode != 0:
        raise PyrunError("runtime:platform:inspect-failed", output=done.stderr.strip()[-2000:])
    return [{"name": row["name"], "version": row["version"], "source": "pypi"} for row in json.loads(done.stdout)]
