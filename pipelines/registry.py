"""The pipelines: ready-to-run applications, each a plain folder under ``library/<slug>/`` (code, a
``.pyrun/environment.yml``, a README and sample data) plus the metadata the API lists and launches with.

Launching one copies its folder into a new workspace and runs its entrypoint with the parameters as command-line
options (``--tasks 8 --size 200``; a true bool is a bare ``--flag``). The Lithops pipelines share one
environment file, word for word, so one runtime per organisation serves them all.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pyrun_web.errors import PyrunError
from templates_lib.sources import ALWAYS_IGNORED, FolderSource

LIBRARY_DIR = Path(__file__).resolve().parent / "library"
# What a past run wrote stays out of a new workspace.
_IGNORED = ALWAYS_IGNORED | {"results"}
TYPES = ("int", "float", "str", "bool")
_EXPECTED = {"int": "an integer", "float": "a number", "str": "a string", "bool": "true or false"}
FRAMEWORK_BACKENDS = {
    "lithops": ("lithops-localhost", "lithops-aws-lambda"),
    "dask": ("dask-local", "dask-scheduler"),
}


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
    slug: str
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
    def folder(self) -> Path:
        return LIBRARY_DIR / self.slug

    @property
    def source(self) -> FolderSource:
        return FolderSource(slug=f"pipeline:{self.slug}", folder=self.folder, ignored=_IGNORED)

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


def _int(name: str, default: int, help: str, lo: int = 1, hi: int | None = None) -> Parameter:
    return Parameter(name, "int", default, help, min=lo, max=hi)


PIPELINES: dict[str, Pipeline] = {
    pipeline.slug: pipeline
    for pipeline in (
        Pipeline(
            slug="flops",
            title="FLOPS",
            description="A Lithops map of NumPy matrix multiplications: GFLOP/s per task and in total, with a bar "
            "chart. Shows how compute scales with the number of parallel workers.",
            framework="lithops",
            entrypoint="flops.py",
            expected_seconds=15,
            parameters=(
                _int("tasks", 4, "Parallel tasks.", hi=1000),
                _int("size", 500, "Matrix size n (each task multiplies n x n matrices).", lo=2, hi=10_000),
                _int("loops", 3, "Multiplications per task.", hi=1000),
                _int("seed", 1, "Random seed.", lo=0),
            ),
        ),
        Pipeline(
            slug="terasort",
            title="TeraSort",
            description="TeraGen writes 100-byte records to object storage, a map/reduce sort reads them back and "
            "writes them in key order, a validator checks the global order, the count and the checksum.",
            framework="lithops",
            entrypoint="terasort.py",
            expected_seconds=25,
            parameters=(
                _int("records", 100_000, "Records to generate (100 bytes each).", hi=100_000_000),
                _int("partitions", 4, "TeraGen and map tasks.", hi=1000),
                _int("reducers", 4, "Reduce tasks (output partitions).", hi=1000),
                _int("seed", 42, "The data depends only on this seed.", lo=0),
                Parameter("keep_output", "bool", False, "Copy the sorted output into results/output/."),
            ),
        ),
        Pipeline(
            slug="montecarlo",
            title="Monte Carlo π",
            description="Estimates π with random points over a Lithops map, round after round, printing the "
            "estimate and its error per round and drawing the convergence curve.",
            framework="lithops",
            entrypoint="montecarlo.py",
            expected_seconds=25,
            parameters=(
                _int("tasks", 8, "Parallel tasks per round.", hi=1000),
                _int("samples", 1_000_000, "Random points per task per round.", hi=1_000_000_000),
                _int("rounds", 5, "Rounds.", hi=100),
                _int("seed", 7, "Random seed.", lo=0),
            ),
        ),
        Pipeline(
            slug="dask-analytics",
            title="Dask analytics",
            description="Writes a synthetic sales dataset (Parquet or CSV) with Dask, then aggregates it with "
            "dataframe group-bys: a result table in the log, CSV tables and a bar chart in results/.",
            framework="dask",
            entrypoint="analytics.py",
            expected_seconds=15,
            parameters=(
                _int("rows", 200_000, "Orders in the generated dataset.", hi=100_000_000),
                _int("partitions", 8, "Dataset files (Dask partitions).", hi=1000),
                Parameter("format", "str", "parquet", "Dataset file format.", choices=("parquet", "csv")),
                _int("workers", 2, "Dask workers of the local cluster.", hi=64),
                _int("seed", 3, "The data depends only on this seed.", lo=0),
            ),
        ),
        Pipeline(
            slug="wordcount",
            title="Word count",
            description="Map/reduce word count with Lithops over a small public-domain corpus shipped with the "
            "pipeline (or any text file of the workspace): every word's count and a top-words chart.",
            framework="lithops",
            entrypoint="wordcount.py",
            expected_seconds=15,
            parameters=(
                Parameter("corpus", "str", "data/corpus.txt", "A UTF-8 text file of the workspace."),
                _int("mappers", 4, "Map tasks (chunks of the corpus).", hi=1000),
                _int("top", 20, "Words shown in the summary and the chart.", hi=1000),
                Parameter("include_stopwords", "bool", False, "Chart common words such as 'the' too."),
            ),
        ),
    )
}


def all_pipelines() -> list[Pipeline]:
    return list(PIPELINES.values())


def get_pipeline(slug: str) -> Pipeline:
    """The pipeline called ``slug``; ``KeyError`` when there is none."""
    return PIPELINES[slug]
