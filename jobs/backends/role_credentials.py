"""An assumed role's credentials for a job that may outlive them: renewed in the background for as long as the job
runs, and read by the job through the AWS SDKs' ``credential_process``.

STS sessions of an assumed role last an hour at most (by default), and a long Lithops map or a long training job
would start failing with ``ExpiredToken`` after it. Static keys in ``LITHOPS_CONFIG`` or ``AWS_*`` variables
cannot change under a running process; a credential process can: botocore (and the AWS CLI and the other SDKs)
runs it again shortly before the ``Expiration`` it reported (15 minutes before, 10 at the latest), and the
runner has rewritten the file it reads by then, ``RENEW_BEFORE_SECONDS`` before expiry.

The files live in a private folder of the worker, bound read-only into the job's sandbox at the same path: the
job reads its own credentials, nothing else of the worker's. Nothing here logs a credential.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import threading
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pyrun_web.errors import PyrunError
from pyrun_web.tenancy import aws

logger = logging.getLogger(__name__)

RENEW_BEFORE_SECONDS = 20 * 60  # before the SDK's own refresh, which starts 15 minutes before expiry
RETRY_SECONDS = 60  # after a failed renewal (STS unreachable): the old session is still valid for a while
CAT = shutil.which("cat") or "/bin/cat"  # the sandbox binds the system's /usr read-only: same path inside


class RoleCredentials:
    """The job's session of ``account``'s role, kept fresh in ``directory``/credentials.json."""

    def __init__(self, account: Any, *, job_id: Any) -> None:
        self.account = account
        self.session_name = f"pyrun-job-{job_id}"  # shows up in the org's CloudTrail
        self.directory = Path(tempfile.mkdtemp(prefix="pyrun-aws-"))
        self.credentials_path = self.directory / "credentials.json"
        self.config_path = self.directory / "config"
        self.expiration: datetime | None = None
        self.renewals = 0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        try:
            self.renew()
            self.config_path.write_text(
                f"[default]\nregion = {account.region}\ncredential_process = {CAT} {self.credentials_path}\n"
            )
        except BaseException:
            shutil.rmtree(self.directory, ignore_errors=True)
            raise

    def environment(self) -> dict[str, str]:
        """What points the job's SDKs at the credential process (and nowhere else for credentials)."""
        return {
            "AWS_CONFIG_FILE": str(self.config_path),
            "AWS_SHARED_CREDENTIALS_FILE": str(self.directory / "no-credentials"),
            "AWS_SDK_LOAD_CONFIG": "1",  # the Go and JavaScript v2 SDKs read the config file only when told
        }

    def renew(self) -> None:
        """Assume the role again and replace the file the job reads (atomically: a reader sees old or new)."""
        credentials = aws.assume_role(self.account, session_name=self.session_name)
        expiration = credentials["Expiration"]
        if expiration.tzinfo is None:
            expiration = expiration.replace(tzinfo=UTC)
        document = {
            "Version": 1,
            "AccessKeyId": credentials["AccessKeyId"],
            "SecretAccessKey": credentials["SecretAccessKey"],
            "SessionToken": credentials["SessionToken"],
            "Expiration": expiration.isoformat(),
        }
        fd, temporary = tempfile.mkstemp(dir=self.directory, prefix=".credentials-")
        with os.fdopen(fd, "w") as handle:
            json.dump(document, handle)
        os.replace(temporary, self.credentials_path)
        self.expiration = expiration
        self.renewals += 1

    def seconds_until_renewal(self, now: datetime | None = None) -> float:
        assert self.expiration is not None
        now = now or datetime.now(UTC)
        return max(0.0, (self.expiration - now).total_seconds() - RENEW_BEFORE_SECONDS)

    def start(self) -> None:
        """Renew in the background until :meth:`close`."""
        self._thread = threading.Thread(target=self._renew_forever, name="role-credentials", daemon=True)
        self._thread.start()

    def _renew_forever(self) -> None:
        wait = self.seconds_until_renewal()
        while not self._stop.wait(wait):
            try:
                self.renew()
                wait = self.seconds_until_renewal()
            except PyrunError as error:
                logger.warning("role %s: renewing a job's session failed (%s)", self.account.role_arn, error.id)
                wait = RETRY_SECONDS

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        shutil.rmtree(self.directory, ignore_errors=True)
