"""Content-addressed object storage: code snapshots (and later other artifacts) keyed by their sha256.

``get_object_store()`` picks the store from ``settings.PYRUN_OBJECT_STORE_URL``: empty is a folder under
``ARTIFACTS_ROOT`` (the single-machine default), ``file:///path`` another folder (a shared volume when scaled
out), ``s3://bucket/prefix`` S3 with the platform's own credentials (boto3's default chain; boto3 itself honours
``AWS_ENDPOINT_URL``). Both lay objects out as ``ab/cd/<sha256>``. Writes are atomic: a reader sees a whole
object or none, so two workers storing the same object at once is harmless.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from pyrun_web.errors import PyrunError

_KEY = re.compile(r"[0-9a-f]{64}")


class ObjectNotFound(LookupError):
    """No object under that key (callers turn it into their own error: a missing snapshot, ...)."""


class ObjectStore(Protocol):
    def exists(self, key: str) -> bool: ...

    def put_file(self, key: str, path: Path) -> None: ...

    def get_file(self, key: str, dest: Path) -> None:
        """Write the object to ``dest`` (replaced atomically); ``ObjectNotFound`` when there is none."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; deleting a missing object is not an error."""
        ...


def layout(key: str) -> str:
    """``ab/cd/abcd…``: keys are lowercase sha256 hex digests, fanned out so no folder grows huge."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"object keys are sha256 hex digests, got {key!r}")
    return f"{key[:2]}/{key[2:4]}/{key}"


def _temp_beside(dest: Path) -> tuple[int, Path]:
    # In the destination's own folder, so the final rename never crosses a filesystem.
    fd, name = tempfile.mkstemp(dir=dest.parent, prefix=f".{dest.name}.", suffix=".part")
    return fd, Path(name)


class LocalObjectStore:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def path(self, key: str) -> Path:
        return self.root / layout(key)

    def exists(self, key: str) -> bool:
        return self.path(key).is_file()

    def put_file(self, key: str, path: Path) -> None:
        target = self.path(key)
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, temp = _temp_beside(target)
        try:
            with os.fdopen(fd, "wb") as out, open(path, "rb") as source:
                shutil.copyfileobj(source, out, 1 << 20)
                out.flush()
                # A job row may name this object as soon as we return: it must survive a crash.
                os.fsync(out.fileno())
            os.replace(temp, target)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
        _fsync_dir(target.parent)

    def get_file(self, key: str, dest: Path) -> None:
        dest = Path(dest)
        fd, temp = _temp_beside(dest)
        try:
            with os.fdopen(fd, "wb") as out:
                try:
                    source = open(self.path(key), "rb")  # noqa: SIM115 (closed below)
                except FileNotFoundError:
                    raise ObjectNotFound(key) from None
                with source:
                    shutil.copyfileobj(source, out, 1 << 20)
            os.replace(temp, dest)
        except BaseException:
            temp.unlink(missing_ok=True)
            raise

    def delete(self, key: str) -> None:
        self.path(key).unlink(missing_ok=True)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class S3ObjectStore:
    def __init__(self, bucket: str, prefix: str = "", session: Any = None) -> None:
        import boto3

        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.client = (session or boto3.Session()).client("s3")

    def s3_key(self, key: str) -> str:
        return f"{self.prefix}/{layout(key)}" if self.prefix else layout(key)

    def exists(self, key: str) -> bool:
        import botocore.exceptions

        try:
            self.client.head_object(Bucket=self.bucket, Key=self.s3_key(key))
        except botocore.exceptions.ClientError as exc:
            if _is_not_found(exc):
                return False
            raise self._failed("read", key, exc) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise self._failed("read", key, exc) from exc
        return True

    def put_file(self, key: str, path: Path) -> None:
        import boto3.exceptions
        import botocore.exceptions

        try:
            # S3 replaces a key atomically: readers see the old object or the new one, never a part.
            self.client.upload_file(str(path), self.bucket, self.s3_key(key))
        except (
            boto3.exceptions.S3UploadFailedError,
            botocore.exceptions.ClientError,
            botocore.exceptions.BotoCoreError,
        ) as exc:
            raise self._failed("store", key, exc) from exc

    def get_file(self, key: str, dest: Path) -> None:
        import botocore.exceptions

        dest = Path(dest)
        fd, temp = _temp_beside(dest)
        os.close(fd)
        try:
            self.client.download_file(self.bucket, self.s3_key(key), str(temp))
            os.replace(temp, dest)
        except botocore.exceptions.ClientError as exc:
            if _is_not_found(exc):
                raise ObjectNotFound(key) from None
            raise self._failed("read", key, exc) from exc
        except botocore.exceptions.BotoCoreError as exc:
            raise self._failed("read", key, exc) from exc
        finally:
            temp.unlink(missing_ok=True)

    def delete(self, key: str) -> None:
        import botocore.exceptions

        try:
            self.client.delete_object(Bucket=self.bucket, Key=self.s3_key(key))
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            raise self._failed("delete", key, exc) from exc

    def _failed(self, operation: str, key: str, exc: Exception) -> PyrunError:
        where = f"s3://{self.bucket}/{self.s3_key(key)}"
        return PyrunError("objects:platform:store-failed", operation=operation, key=where, detail=str(exc))


def _is_not_found(exc: Any) -> bool:
    error = exc.response.get("Error", {})
    return error.get("Code") in ("404", "NoSuchKey", "NotFound")


def get_object_store(url: str | None = None) -> ObjectStore:
    """The store ``url`` names (default: ``settings.PYRUN_OBJECT_STORE_URL``)."""
    url = settings.PYRUN_OBJECT_STORE_URL if url is None else url
    if not url:
        return LocalObjectStore(Path(settings.ARTIFACTS_ROOT) / "objects")
    parts = urlsplit(url)
    if parts.scheme == "file" and parts.path and not parts.netloc:
        return LocalObjectStore(Path(parts.path))
    if parts.scheme == "s3" and parts.netloc and not (parts.query or parts.fragment):
        return S3ObjectStore(parts.netloc, parts.path)
    raise ImproperlyConfigured(f"PYRUN_OBJECT_STORE_URL must be empty, file:///path or s3://bucket/prefix, got {url!r}")
