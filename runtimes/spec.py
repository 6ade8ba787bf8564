"""The runtime spec: what ``.pyrun/environment.yml`` or ``.pyrun/Dockerfile`` asks for, normalised.

(Parsing and hashing are filled in here by the runtimes work; builders only read these fields.)
"""

from __future__ import annotations

from dataclasses import dataclass, field


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

    @property
    def is_pip_only(self) -> bool:
        return self.kind == "conda" and not self.conda_packages
