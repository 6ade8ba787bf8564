"""The pipelines: ready-to-run applications, each a plain folder under ``library/<slug>/``: code, a
``pipeline.toml``, a ``.pyrun/environment.yml``, a README and sample data.

The manifest, ``pipeline.toml``, is the one place a pipeline's facts live (title, description, framework,
entrypoint, expected duration, default backend, parameters): this module reads it, checked when the module loads,
to list and launch the pipeline, and the script reads it through ``library/pipeline_options.py`` (copied into
every pipeline's workspace) to build its command line.

Launching one copies its folder into a new workspace and runs its entrypoint with the parameters as command-line
options (``--tasks 8 --size 200``; a true bool is a bare ``--flag``). The Lithops pipelines share one
environment file, word for word, so one runtime per organisation serves them all.
"""

from __future__ import annotations

import re
import shutil
import tomllib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from pyrun_web.errors import PyrunError
from templates_lib.sources import ALWAYS_IGNORED, FolderSource

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
MANIFEST = "pipeline.toml"
# Copied next to every pipeline's entrypoint: the scripts build their options from the manifest with it.
SHARED_FILES = ("pipeline_options.py",)
# The order the gallery lists them in; every folder of the library with a manifest is one of them.
ORDER = ("flops", "terasort", "montecarlo", "dask-analytics", "wordcount")
# What a past run wrote stays out of a new workspace.
_IGNORED = ALWAYS_IGNORED | {"results"}
TYPES = ("int", "float", "str", "bool")
_EXPECTED = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}
FRAMEWORK_BACKENDS = {
    "lithops": ("lithops-localhost", "lithops-aws-lambda"),
    "dask": ("dask-local", "dask-scheduler"),
}


class ManifestError(ValueError):
    """A ``pipeline.toml`` that cannot serve: the message names the file, the key and what is wrong."""


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str  # one of TYPES
    default: Any
    help: str
    min: float | None = None
    max: float | None = None
    choices: tuple[str, ...] | None = None

    @property
    def flag(self) -> str:
        return "--" + self.name.replace("_", "-")

    def clean(self, value: Any) -> Any:
        """``value`` checked against the type, bounds and choices; PyrunError (400) naming the parameter."""
        if self.type == "bool":
            ok = isinstance(value, bool)
        elif self.type == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif self.type == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            value = float(value) if ok else value
        else:
            ok = isinstance(value, str) and "\x00" not in value and len(value) <= 500
        if not ok:
            raise self._bad(f"expected {_EXPECTED[self.type]}, got {value!r}"[:300])
        if self.min is not None and value < self.min:
            raise self._bad(f"at least {self.min:g}")
        if self.max is not None and value > self.max:
            raise self._bad(f"at most {self.max:g}")
        if self.choices is not None and value not in self.choices:
            raise self._bad("one of " + ", ".join(self.choices))
        return value

    def args(self, value: Any) -> list[str]:
        if self.type == "bool":
            return [self.flag] if value else []
        text = repr(value) if self.type == "float" else str(value)
        # A value that looks like an option ("-x", "-1") must be glued to its flag for argparse.
        return [f"{self.flag}={text}"] if text.startswith("-") else [self.flag, text]

    def _bad(self, reason: str) -> PyrunError:
        return PyrunError("pipelines:user:bad-parameter", name=self.name, reason=reason)


@dataclass(frozen=True)
class Pipeline:
    """One pipeline, as its ``pipeline.toml`` declares it (``load_pipeline``)."""

    slug: str  # the name of its folder
    folder: Path  # library/<slug>/
    title: str
    description: str
    framework: str  # "lithops" or "dask"
    entrypoint: str
    expected_seconds: int  # on the embedded default (2 cores, local processes), without the first runtime build
    parameters: tuple[Parameter, ...] = field(default_factory=tuple)
    backend: str = ""  # the default backend; empty: the framework's local one

    @property
    def default_backend(self) -> str:
        return self.backend or FRAMEWORK_BACKENDS[self.framework][0]

    @property
    def source(self) -> PipelineSource:
        return PipelineSource(slug=f"pipeline:{self.slug}", folder=self.folder)

    def files(self) -> list[str]:
        return self.source.files()

    @property
    def backends(self) -> tuple[str, ...]:
        return FRAMEWORK_BACKENDS[self.framework]

    def clean_parameters(self, given: Any) -> dict[str, Any]:
        """Every parameter's value: the given ones checked, the others their default."""
        if given is None:
            given = {}
        if not isinstance(given, dict):
            raise PyrunError("pipelines:user:bad-parameters", reason="parameters must be an object {name: value}")
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            reason = f"unknown; {self.slug} takes: {', '.join(known) or 'none'}"
            raise PyrunError("pipelines:user:bad-parameter", name=str(unknown[0])[:100], reason=reason)
        return {name: p.clean(given[name]) if name in given else p.default for name, p in known.items()}

    def args(self, values: dict[str, Any]) -> list[str]:
        """The entrypoint's command-line arguments for cleaned ``values``."""
        return [arg for p in self.parameters for arg in p.args(values[p.name])]

    def check_backend(self, backend: str | None) -> str:
        chosen = backend or self.default_backend
        if chosen not in self.backends:
            raise PyrunError(
                "pipelines:user:bad-backend",
                backend=str(chosen)[:100],
                pipeline=self.slug,
                framework=self.framework,
                choices=", ".join(self.backends),
            )
        return chosen


@dataclass(frozen=True)
class PipelineSource:
    """What a launch copies into the new workspace: the pipeline's folder and, next to its entrypoint, the
    library's ``SHARED_FILES``."""

    slug: str  # recorded as the workspace's template
    folder: Path

    def _paths(self) -> dict[str, Path]:
        """Each file's path in the workspace and where it is copied from."""
        own = FolderSource(slug=self.slug, folder=self.folder, ignored=_IGNORED).files()
        return {rel: self.folder / rel for rel in own} | {name: LIBRARY_DIR / name for name in SHARED_FILES}

    def files(self) -> list[str]:
        return sorted(self._paths())

    def size(self) -> int:
        return sum(path.stat().st_size for path in self._paths().values())

    def copy_into(self, target: Path) -> None:
        """Copy the files into an existing, empty folder."""
        for rel, path in self._paths().items():
            (target / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(path, target / rel)


# The keys of a manifest and of one of its parameters: the TOML types each accepts (a bool is never a number).
_PIPELINE_KEYS: dict[str, tuple[type, ...]] = {
    "title": (str,),
    "description": (str,),
    "framework": (str,),
    "entrypoint": (str,),
    "expected_seconds": (int,),
    "backend": (str,),
    "parameters": (list,),
}
_PARAMETER_KEYS: dict[str, tuple[type, ...]] = {
    "name": (str,),
    "type": (str,),
    "default": (bool, int, float, str),
    "help": (str,),
    "min": (int, float),
    "max": (int, float),
    "choices": (list,),
}
_OPTIONAL = {"backend", "parameters", "min", "max", "choices"}


def _check_keys(table: Any, keys: dict[str, tuple[type, ...]], where: str) -> dict[str, Any]:
    """``table`` when it is a TOML table with every required key of ``keys``, no other key, each of its type."""
    if not isinstance(table, dict):
        raise ManifestError(f"{where}: expected a table")
    unknown, missing = sorted(table.keys() - keys.keys()), sorted(keys.keys() - table.keys() - _OPTIONAL)
    if unknown:
        raise ManifestError(f"{where}: unknown key {unknown[0]!r} (known: {', '.join(keys)})")
    if missing:
        raise ManifestError(f"{where}: {missing[0]!r} is missing")
    for key, value in table.items():
        if not isinstance(value, keys[key]) or (isinstance(value, bool) and bool not in keys[key]):
            expected = " or ".join(kind.__name__ for kind in keys[key])
            raise ManifestError(f"{where}: {key!r} must be of type {expected}, not {type(value).__name__}")
    return table


def _parameter(table: Any, where: str) -> Parameter:
    table = _check_keys(table, _PARAMETER_KEYS, where)
    name, kind = table["name"], table["type"]
    where = f"{where} ({name})"
    if not re.fullmatch(r"[a-z][a-z0-9_]*", name):
        raise ManifestError(f"{where}: a name is lower-case letters, digits and underscores (it becomes --name)")
    if kind not in TYPES:
        raise ManifestError(f"{where}: 'type' must be one of {', '.join(TYPES)}")
    if kind == "bool" and table["default"] is not False:
        raise ManifestError(f"{where}: a bool's default is false: its bare --flag can only turn it on")
    if {"min", "max"} & table.keys() and kind not in ("int", "float"):
        raise ManifestError(f"{where}: 'min' and 'max' are for numbers")
    choices = table.get("choices")
    if choices is not None and (kind != "str" or not choices or not all(isinstance(c, str) for c in choices)):
        raise ManifestError(f"{where}: 'choices' is a non-empty list of strings, for a str parameter")
    parameter = Parameter(
        name,
        kind,
        table["default"],
        table["help"],
        min=table.get("min"),
        max=table.get("max"),
        choices=tuple(choices) if choices is not None else None,
    )
    try:
        return replace(parameter, default=parameter.clean(parameter.default))
    except PyrunError as error:
        raise ManifestError(f"{where}: the default is refused: {error.params['reason']}") from None


def load_pipeline(folder: Path) -> Pipeline:
    """The pipeline of ``folder``, from its ``pipeline.toml``; ``ManifestError`` saying what is wrong with it."""
    where = f"pipelines/library/{folder.name}/{MANIFEST}"
    try:
        manifest = tomllib.loads((folder / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ManifestError(f"{where}: {error}") from error
    _check_keys(manifest, _PIPELINE_KEYS, where)
    framework, backend = manifest["framework"], manifest.get("backend", "")
    if framework not in FRAMEWORK_BACKENDS:
        raise ManifestError(f"{where}: 'framework' must be one of {', '.join(FRAMEWORK_BACKENDS)}")
    if backend and backend not in FRAMEWORK_BACKENDS[framework]:
        raise ManifestError(f"{where}: 'backend' must be one of {', '.join(FRAMEWORK_BACKENDS[framework])}")
    if not (folder / manifest["entrypoint"]).is_file():
        raise ManifestError(f"{where}: 'entrypoint' {manifest['entrypoint']!r} is not a file of the folder")
    if manifest["expected_seconds"] <= 0:
        raise ManifestError(f"{where}: 'expected_seconds' must be positive")
    parameters = tuple(
        _parameter(table, f"{where}: parameters[{i}]") for i, table in enumerate(manifest.get("parameters", []))
    )
    names = [p.name for p in parameters]
    twice = sorted({name for name in names if names.count(name) > 1})
    if twice:
        raise ManifestError(f"{where}: two parameters are called {twice[0]!r}")
    return Pipeline(
        slug=folder.name,
        folder=folder,
        title=manifest["title"],
        description=manifest["description"],
        framework=framework,
        entrypoint=manifest["entrypoint"],
        expected_seconds=manifest["expected_seconds"],
        parameters=parameters,
        backend=backend,
    )


def _load_library() -> dict[str, Pipeline]:
    unlisted = sorted({path.parent.name for path in LIBRARY_DIR.glob(f"*/{MANIFEST}")} - set(ORDER))
    if unlisted:
        raise ManifestError(f"pipelines/library/{unlisted[0]}/{MANIFEST}: its slug is missing from {__name__}.ORDER")
    return {slug: load_pipeline(LIBRARY_DIR / slug) for slug in ORDER}


PIPELINES: dict[str, Pipeline] = _load_library()
