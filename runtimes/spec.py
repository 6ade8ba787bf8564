"""The runtime spec: what ``.pyrun/environment.yml`` or ``.pyrun/Dockerfile`` asks for, normalised.

Parsing turns the file into a :class:`RuntimeSpec` (or a ``PyrunError`` naming the line), substitutes
``$LITHOPS`` with the Lithops the platform supports plus what its monitoring agent needs, and
:func:`spec_hash` names a build: two specs with the same hash build the same runtime, so it is reused.
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml
from packaging.requirements import InvalidRequirement, Requirement
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.utils import canonicalize_name

from pyrun_web.errors import PyrunError

# Bump when a builder changes what it produces for the same spec: every runtime then builds anew.
BUILDER_VERSION = "2"

# What `$LITHOPS` stands for: the Lithops the platform's executors and agent hooks are written against,
# plus the monitoring agent's own requirements (it runs inside the job's interpreter).
LITHOPS_REQUIREMENT = "lithops==3.8.0"
AGENT_REQUIREMENTS: tuple[str, ...] = ("psutil",)
LITHOPS_PACKAGES: tuple[str, ...] = (LITHOPS_REQUIREMENT, *AGENT_REQUIREMENTS)
LITHOPS_VARIABLE = "LITHOPS"
_LITHOPS_TOKENS = {"$LITHOPS", "${LITHOPS}"}

ENVIRONMENT_FILE = ".pyrun/environment.yml"
DOCKERFILE = ".pyrun/Dockerfile"

TARGETS = ("local", "lambda-layer", "image")
MAX_DEPENDENCIES = 1000  # a sane bound, and a guard against alias-expanded YAML
_IGNORED_KEYS = {"prefix", "variables"}  # valid in conda's format, meaningless for a platform runtime
_URL_SCHEMES = ("https://", "http://", "git+https://")


@dataclass(frozen=True)
class RuntimeSpec:
    kind: str  # "conda" (environment.yml, incl. the uv fast path) or "docker"
    python: str = ""  # the python pin as written, e.g. "3.11" or ">=3.10,<3.13" ("" = platform default)
    channels: tuple[str, ...] = ()
    conda_packages: tuple[str, ...] = ()  # match specs, python excluded, e.g. ("numpy>=1.26", "mypkg")
    pip_packages: tuple[str, ...] = ()  # requirement strings, $LITHOPS already substituted
    dockerfile: str = ""  # Dockerfile text (docker kind)
    build_args: dict[str, str] = field(default_factory=dict)  # e.g. {"LITHOPS": "lithops==3.8.0 ..."}
    name: str = ""
    # Where the workspace's `.pyrun/` folder is (the Docker build context); not part of what the spec asks for.
    context_dir: str = field(default="", compare=False)

    @property
    def is_pip_only(self) -> bool:
        return self.kind == "conda" and not self.conda_packages

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "name": self.name,
            "python": self.python,
            "channels": list(self.channels),
            "conda_packages": list(self.conda_packages),
            "pip_packages": list(self.pip_packages),
            "dockerfile": self.dockerfile,
            "build_args": dict(self.build_args),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any], *, context_dir: str = "") -> RuntimeSpec:
        return cls(
            kind=data["kind"],
            name=data.get("name", ""),
            python=data.get("python", ""),
            channels=tuple(data.get("channels", ())),
            conda_packages=tuple(data.get("conda_packages", ())),
            pip_packages=tuple(data.get("pip_packages", ())),
            dockerfile=data.get("dockerfile", ""),
            build_args=dict(data.get("build_args", {})),
            context_dir=context_dir,
        )


def default_spec() -> RuntimeSpec:
    """The runtime of a workspace without a `.pyrun/` spec: the platform's default Python, nothing else."""
    return RuntimeSpec(kind="conda")


# --- environment.yml ---------------------------------------------------------------------------------------


def _line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _bad(node: yaml.Node, problem: str) -> PyrunError:
    return PyrunError("runtime:user:bad-spec", line=_line(node), problem=problem)


def _scalar(node: yaml.Node, what: str) -> str:
    if not isinstance(node, yaml.ScalarNode):
        raise _bad(node, f"{what} must be a single value, not a {'list' if _is_seq(node) else 'mapping'}")
    text = " ".join(str(node.value).split())
    if not text:
        raise _bad(node, f"{what} is empty")
    return text


def _is_seq(node: yaml.Node) -> bool:
    return isinstance(node, yaml.SequenceNode)


def _sequence(node: yaml.Node, what: str) -> list[yaml.Node]:
    if not _is_seq(node):
        raise _bad(node, f"{what} must be a list (one `- item` per line)")
    if len(node.value) > MAX_DEPENDENCIES:
        raise _bad(node, f"{what} has more than {MAX_DEPENDENCIES} entries")
    return node.value


def _compose(text: str) -> yaml.Node | None:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    try:
        return yaml.compose(text, Loader=loader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        problem = exc.problem or exc.context or "unreadable YAML"
        if exc.context and exc.problem:
            problem = f"{exc.problem} ({exc.context})"
        raise PyrunError("runtime:user:bad-yaml", line=mark.line + 1 if mark else 1, problem=problem) from None
    except yaml.YAMLError as exc:  # e.g. a reader error on a control character
        mark = getattr(exc, "position", None)
        raise PyrunError("runtime:user:bad-yaml", line=1 if mark is None else text.count("\n", 0, mark) + 1,
                         problem=str(exc).splitlines()[0]) from None  # fmt: skip


def parse_environment(text: str) -> RuntimeSpec:
    """Parse an environment.yml; every problem is a PyrunError naming the line."""
    root = _compose(text)
    if root is None:
        return default_spec()
    if not isinstance(root, yaml.MappingNode):
        raise _bad(root, "the file must be a mapping with `name`, `channels` and `dependencies`")
    name, channels, python, conda, pip = "", [], "", [], []
    seen: set[str] = set()
    for key_node, value in root.value:
        key = _scalar(key_node, "a key")
        if key in seen:
            raise _bad(key_node, f"`{key}` appears twice")
        seen.add(key)
        if key == "name":
            name = _scalar(value, "`name`")
        elif key == "channels":
            channels = [_scalar(item, "a channel") for item in _sequence(value, "`channels`")]
        elif key == "dependencies":
            python, conda, pip = _dependencies(value)
        elif key not in _IGNORED_KEYS:
            raise _bad(key_node, f"unknown key `{key}` (expected name, channels, dependencies)")
    return RuntimeSpec(
        kind="conda",
        name=name,
        python=python,
        channels=tuple(channels),
        conda_packages=tuple(conda),
        pip_packages=tuple(pip),
    )


def _dependencies(node: yaml.Node) -> tuple[str, list[str], list[str]]:
    python, python_node = "", None
    conda: list[str] = []
    pip: list[str] = []
    for item in _sequence(node, "`dependencies`"):
        if isinstance(item, yaml.MappingNode):
            for key_node, value in item.value:
                if _scalar(key_node, "a key") != "pip":
                    raise _bad(key_node, "a mapping under `dependencies` can only be `pip:` with a list of packages")
                pip.extend(_pip_entry(entry) for entry in _sequence(value, "`pip`"))
            continue
        dep = _scalar(item, "a dependency")
        if dep in _LITHOPS_TOKENS:
            pip.append(dep)
            continue
        pin = _python_pin(dep)
        if pin is not None:
            if python_node is not None:
                raise _bad(item, f"python is pinned twice (also on line {_line(python_node)})")
            _check_pin(pin, dep, item)
            python, python_node = pin, item
        elif re.fullmatch(r"pip(\s*[=<>!~].*)?", dep):
            pip.append("pip")  # conda's `- pip` asks for pip inside the environment; pip installs it as well
        else:
            conda.append(dep)
    return python, conda, _substitute_lithops(pip)


def _pip_entry(node: yaml.Node) -> str:
    entry = _scalar(node, "a pip package")
    if entry in _LITHOPS_TOKENS:
        return entry
    if entry.startswith("-"):
        raise _bad(node, f"pip options such as `{entry.split()[0]}` are not supported; list package requirements")
    try:
        requirement = Requirement(entry)
    except InvalidRequirement as exc:
        raise _bad(node, f"`{entry}` is not a pip requirement ({str(exc).splitlines()[0]})") from None
    if requirement.url and not requirement.url.startswith(_URL_SCHEMES):
        raise _bad(node, f"`{entry}`: only https:// and git+https:// URLs can be installed")
    return entry


def _substitute_lithops(pip: list[str]) -> list[str]:
    out: list[str] = []
    for entry in pip:
        out.extend(LITHOPS_PACKAGES if entry in _LITHOPS_TOKENS else (entry,))
    return list(dict.fromkeys(out))  # `$LITHOPS` next to an explicit `psutil` must not list it twice


def _python_pin(dep: str) -> str | None:
    """The version part of a python dependency (``python=3.11`` → ``3.11``), or None for other packages."""
    match = re.fullmatch(r"python(?:\s*(?P<pin>[=<>!~\s].*))?", dep)
    if match is None:
        return None
    pin = (match.group("pin") or "").strip()
    if pin.startswith("=") and not pin.startswith("=="):
        pin = pin[1:].split("=")[0]  # conda's `python=3.11=h123_0`: version, then a build string
    return pin.replace(" ", "")


def python_specifiers(pin: str) -> list[SpecifierSet]:
    """A conda-style python pin as PEP 440 specifier sets (any one may match; conda's ``|`` is an or).

    ``3.11`` and ``=3.11`` mean any 3.11.x, as in conda; ``3.11.7`` that release; operators pass through.
    """
    alternatives = []
    for alternative in pin.split("|"):
        clauses = []
        for clause in alternative.split(","):
            clause = clause.strip()
            if re.fullmatch(r"=?\d+(\.\d+)*(\.\*)?", clause):
                version = clause.lstrip("=")
                parts = version.removesuffix(".*").split(".")
                clause = f"=={version}" if len(parts) >= 3 or version.endswith("*") else f"=={version}.*"
            clauses.append(clause)
        alternatives.append(SpecifierSet(",".join(clauses)))
    return alternatives


def _check_pin(pin: str, dep: str, node: yaml.Node) -> None:
    try:
        python_specifiers(pin)
    except InvalidSpecifier:
        raise _bad(node, f"`{dep}` is not a version pin (write e.g. python=3.11 or python>=3.10)") from None


# --- Dockerfile -------------------------------------------------------------------------------------------


def _instructions(text: str) -> list[tuple[int, str]]:
    """(first line number, instruction with continuations joined), comments and blank lines dropped."""
    out: list[tuple[int, str]] = []
    pending, start = "", 0
    for number, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = number
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        out.append((start, pending + line))
        pending = ""
    if pending:
        out.append((start, pending))
    return out


def parse_dockerfile(text: str) -> RuntimeSpec:
    """A Dockerfile runtime; ``ARG LITHOPS`` receives the platform's Lithops requirements as a build-arg."""
    instructions = _instructions(text)
    if not instructions or instructions[0][1].split()[0].upper() not in ("FROM", "ARG"):
        line = instructions[0][0] if instructions else 1
        raise PyrunError("runtime:user:bad-dockerfile", line=line, problem="it must start with a FROM instruction")
    if not any(body.split()[0].upper() == "FROM" for _, body in instructions):
        raise PyrunError("runtime:user:bad-dockerfile", line=1, problem="it has no FROM instruction")
    build_args: dict[str, str] = {}
    python = ""
    for line, body in instructions:
        word, _, rest = body.partition(" ")
        word = word.upper()
        if word == "ARG" and rest.split("=")[0].strip() == LITHOPS_VARIABLE:
            build_args[LITHOPS_VARIABLE] = " ".join(LITHOPS_PACKAGES)
        elif word == "FROM" and not python:
            found = re.search(r"(?:^|/)python:(\d+\.\d+)", rest)
            python = found.group(1) if found else ""
        if re.search(r"\$\{?LITHOPS\b", body) and LITHOPS_VARIABLE not in build_args:
            raise PyrunError(
                "runtime:user:bad-dockerfile", line=line, problem="it uses $LITHOPS before declaring `ARG LITHOPS`"
            )
    return RuntimeSpec(kind="docker", python=python, dockerfile=text, build_args=build_args)


# --- Hash -------------------------------------------------------------------------------------------------


def _ws(text: str) -> str:
    return " ".join(text.split())


def _requirement(text: str) -> str:
    """``Six >= 1.16`` and ``six>=1.16`` ask for the same thing: PEP 508's canonical form."""
    try:
        requirement = Requirement(text)
    except InvalidRequirement:
        return _ws(text)
    requirement.name = canonicalize_name(requirement.name)
    return str(requirement)


def normalised(spec: RuntimeSpec) -> dict[str, Any]:
    """What identifies a spec: whitespace-normalised, dependency lists sorted; the env's name does not count.

    Channels keep their order: it is conda's priority order and changes what a solve picks.
    """
    dockerfile = "\n".join(line.rstrip() for line in spec.dockerfile.splitlines() if line.strip())
    return {
        "kind": spec.kind,
        "python": _ws(spec.python),
        "channels": [_ws(c) for c in spec.channels],
        "conda": sorted({_ws(p) for p in spec.conda_packages}),
        "pip": sorted({_requirement(p) for p in spec.pip_packages}),
        "dockerfile": dockerfile,
        "build_args": sorted((k, _ws(v)) for k, v in spec.build_args.items()),
    }


def spec_hash(spec: RuntimeSpec, *, target: str, python_version: str, context_files_digest: str = "") -> str:
    """The identity of a build: normalised spec, build-context contents, target, builder version, Python."""
    if target not in TARGETS:
        raise ValueError(f"unknown target {target!r}")
    payload = {
        "builder_version": BUILDER_VERSION,
        "spec": normalised(spec),
        "target": target,
        "python": python_version,
        "context": context_files_digest,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def invalid_spec_hash(source: str, text: str, *, target: str) -> str:
    """The identity of a spec file that does not parse, so its failure is recorded (and shown) once."""
    payload = {"builder_version": BUILDER_VERSION, "invalid": source, "text": text, "target": target}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def files_digest(files: list[tuple[str, bytes]]) -> str:
    """A digest over (relative path, contents) pairs, independent of their order."""
    digest = hashlib.sha256()
    for rel, data in sorted(files):
        digest.update(rel.encode() + b"\0" + hashlib.sha256(data).hexdigest().encode() + b"\n")
    return digest.hexdigest()
