"""Where PyRun keeps its state, and the secrets it generates for itself on first start.

Everything the platform writes (database, Redis, workspaces, artifacts, generated keys) lives under one
directory so that a second start on the same directory keeps all data and a backup is one copy.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parents[2]  # pyrun_web/infra/datadir.py -> the checkout


def data_dir() -> Path:
    path = Path(os.environ.get("PYRUN_DATA_DIR") or BASE_DIR / "var").expanduser().resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def persistent_secret(name: str, generate=lambda: secrets.token_urlsafe(50)) -> str:
    """Return the secret stored in the data dir under ``name``, creating it once.

    The file is created with O_EXCL so that web, worker and beat starting together agree on one value.
    """
    secrets_dir = data_dir() / "secrets"
    secrets_dir.mkdir(mode=0o700, exist_ok=True)
    path = secrets_dir / name
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return path.read_text().strip()
    with os.fdopen(fd, "w") as fh:
        fh.write(generate())
    return path.read_text().strip()
