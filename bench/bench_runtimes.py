"""Runtime builds: uv (cold and warm cache) vs python -m venv + pip install; reuse of a ready runtime."""

from __future__ import annotations

import os
import shutil
import statistics
import subprocess
import tempfile
from pathlib import Path

from bench.harness import BenchEnv, Result, timed_runs

PACKAGES = ("requests", "six")
REUSE_CALLS = 50
COLD_TARGET = 0.3  # a cold uv build takes at most this fraction of the pip baseline
REUSE_TARGET_S = 0.050


def _pip_env() -> dict[str, str]:
    """pip on PyPI only, like uv: without this machine's pip.conf find-links and file:// extra indexes."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") or k == "PIP_CERT"}
    env.update(PIP_CONFIG_FILE=os.devnull, PIP_DISABLE_PIP_VERSION_CHECK="1")
    return env


def _pip_build(interpreter: Path, cache: Path | None) -> None:
    with tempfile.TemporaryDirectory(prefix="pyrun-bench-pip-") as tmp:
        venv = Path(tmp) / "venv"
        subprocess.run([str(interpreter), "-m", "venv", str(venv)], check=True, env=_pip_env())
        cache_args = ["--cache-dir", str(cache)] if cache else ["--no-cache-dir"]
        subprocess.run(
            [str(venv / "bin" / "pip"), "install", "-q", *cache_args, *PACKAGES],
            check=True,
            env=_pip_env(),
            stdout=subprocess.DEVNULL,
        )


def run(env: BenchEnv) -> list[Result]:
    from pyrun_web.tenancy.services import create_tenant
    from runtimes import director, services
    from runtimes.builders.uv import uv_cache_dir
    from runtimes.interpreters import find_interpreter
    from runtimes.models import Runtime
    from runtimes.spec import parse_environment

    org, user, _key = create_tenant("bench-runtimes", "bench-runtimes@example.com")
    # Builds run in this process, exactly as the worker's task would run them.
    services.send_build = lambda runtime_id, task_id: director.run_build(runtime_id, task_id)
    spec = parse_environment("dependencies:\n  - python=3.11\n  - pip:\n" + "".join(f"      - {p}\n" for p in PACKAGES))
    interpreter = find_interpreter(spec.python).path

    def uv_build(clear_cache: bool) -> None:
        for runtime in Runtime.objects.for_org(org):
            services.delete_runtime(runtime)
        if clear_cache:
            shutil.rmtree(uv_cache_dir(org.pk), ignore_errors=True)  # the per-org cache the build uses
        runtime = services.ensure_runtime(org, spec, "local", user)
        runtime.refresh_from_db()
        assert runtime.state == Runtime.State.READY, runtime.error_message

    rounds = env.rounds(3, 5)
    pip_cache = Path(tempfile.mkdtemp(prefix="pyrun-bench-pip-cache-"))
    try:
        pip_cold = timed_runs(lambda: _pip_build(interpreter, None), repeat=rounds)
        _pip_build(interpreter, pip_cache)  # fill pip's cache
        pip_warm = timed_runs(lambda: _pip_build(interpreter, pip_cache), repeat=rounds)
    finally:
        shutil.rmtree(pip_cache, ignore_errors=True)
    uv_cold = timed_runs(lambda: uv_build(clear_cache=True), repeat=rounds)
    uv_warm = timed_runs(lambda: uv_build(clear_cache=False), repeat=rounds)

    services.ensure_runtime(org, spec, "local", user)  # the ready runtime from the last round
    reuse = [t / REUSE_CALLS for t in timed_runs(lambda: services.ensure_runtime(org, spec, "local", user),
                                                  repeat=env.rounds(5, 15), number=REUSE_CALLS)]  # fmt: skip
    assert Runtime.objects.for_org(org).count() == 1, "reuse must not create runtimes"
    med = statistics.median

    packages = " ".join(PACKAGES)
    print(
        f"   {packages} on Python {find_interpreter(spec.python).version_text}; medians of {rounds} builds; "
        f"cache-cold = uv cache emptied / pip --no-cache-dir, cache-warm = both caches filled",
        flush=True,
    )
    return [
        Result(f"uv build, cache-cold ({packages})", med(uv_cold), med(pip_cold), "venv + pip, cache-cold",
               target=COLD_TARGET, subject_runs=uv_cold, baseline_runs=pip_cold),
        Result(f"uv build, cache-warm ({packages})", med(uv_warm), med(pip_warm), "venv + pip, cache-warm",
               subject_runs=uv_warm, baseline_runs=pip_warm),
        Result("ensure_runtime reuse of a ready runtime", med(reuse), REUSE_TARGET_S, "target 50 ms", target=1.0,
               subject_runs=reuse),
    ]  # fmt: skip
