"""Where ``pyrun`` finds its URL, token and org: flags, then ``PYRUN_*`` variables, then the file ``pyrun login``
wrote (``$PYRUN_CONFIG``, else ``$XDG_CONFIG_HOME/pyrun/config.json``, else ``~/.config/pyrun/config.json``)."""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from pyrun_cli.errors import CliError

DEFAULT_URL = "http://127.0.0.1:8000"


@dataclass(frozen=True)
class Settings:
    url: str
    token: str | None
    org: str | None


def config_path(env: Mapping[str, str] = os.environ) -> Path:
    if env.get("PYRUN_CONFIG"):
        return Path(env["PYRUN_CONFIG"]).expanduser()
    base = Path(env["XDG_CONFIG_HOME"]) if env.get("XDG_CONFIG_HOME") else Path.home() / ".config"
    return base / "pyrun" / "config.json"


def load(path: Path) -> dict:
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise CliError(f"Cannot read the config file {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise CliError(f"The config file {path} does not hold a JSON object; run `pyrun login` again.")
    return data


def resolve(*, url: str | None, token: str | None, org: str | None, env: Mapping[str, str] = os.environ) -> Settings:
    saved = load(config_path(env))
    chosen_url = (url or env.get("PYRUN_URL") or saved.get("url") or DEFAULT_URL).rstrip("/")
    # A saved token belongs to the server it was saved for: never send it to another one.
    same_server = chosen_url == str(saved.get("url", "")).rstrip("/")
    chosen_token = token or env.get("PYRUN_TOKEN") or (saved.get("token") if same_server else None)
    chosen_org = org or env.get("PYRUN_ORG") or (saved.get("org") if same_server else None)
    return Settings(url=chosen_url, token=chosen_token, org=chosen_org)


def save(path: Path, settings: Settings) -> None:
    """Write atomically, readable by the owner only (it holds a token) from the first byte on."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    data = {"url": settings.url, "token": settings.token}
    if settings.org:
        data["org"] = settings.org
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "w") as out:
            json.dump(data, out, indent=2)
            out.write("\n")
        os.chmod(tmp, 0o600)  # O_CREAT's mode does not apply to a leftover file of the same name
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
