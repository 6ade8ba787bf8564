"""A runtime: one build of one spec for one org and target, and its build log.

State changes only through the transition methods, each a conditional UPDATE on the current state, so two
workers (or a worker and a cancel) can never both win; the row is written before each side effect.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import models, transaction
from django.db.models import F
from django.utils import timezone

from pyrun_web.errors import PyrunError
from pyrun_web.logwriter import LogEntry
from pyrun_web.sandbox import env_policy
from pyrun_web.tenancy.models import Organization, TenantModel, TenantQuerySet
from runtimes import events
from runtimes.builders.base import BuildResult

# A build whose worker has not written a heartbeat for this long is considered lost.
HEARTBEAT_STALE_SECONDS = 120
TOUCH_SECONDS = 60  # last_used_at is written at most this often: reuse must stay a read


class RuntimeQuerySet(TenantQuerySet):
    def unused_since(self, cutoff) -> RuntimeQuerySet:
        """Runtimes nobody has used (or, if never used, created) since ``cutoff``, not building right now."""
        return self.exclude(state__in=Runtime.ACTIVE_STATES).filter(
            models.Q(last_used_at__lt=cutoff) | models.Q(last_used_at__isnull=True, created_at__lt=cutoff)
        )

    def reap_stale(self) -> int:
        """Fail builds whose worker stopped sending heartbeats (killed, OOM, machine lost)."""
        cutoff = timezone.now() - timedelta(seconds=HEARTBEAT_STALE_SECONDS)
        stale = self.filter(state=Runtime.State.BUILDING, heartbeat_at__lt=cutoff)
        error = PyrunError("runtime:platform:worker-lost")
        count = 0
        for runtime in stale:
            count += runtime.mark_failed(error, from_states=(Runtime.State.BUILDING,), heartbeat_before=cutoff)
        return count


class Runtime(TenantModel):
    # A label is written where it says more than the name; Django labels the others from it ("Pending", ...).
    class Kind(models.TextChoices):
        CONDA = "conda", "environment.yml"
        DOCKER = "docker", "Dockerfile"

    class Builder(models.TextChoices):
        UV = "uv", "uv venv"
        CONDA = "conda", "conda (py-rattler)"
        DOCKER = "docker"

    class Target(models.TextChoices):
        LOCAL = "local", "Local prefix"
        LAMBDA_LAYER = "lambda-layer", "AWS Lambda layer"
        IMAGE = "image", "Container image"

    class State(models.TextChoices):
        PENDING = "pending"
        BUILDING = "building"
        READY = "ready"
        FAILED = "failed"

    ACTIVE_STATES = (State.PENDING, State.BUILDING)

    class Phase(models.TextChoices):
        """The build's step, said by the builder as it starts each one (not read from the tools' output). uv
        resolves, downloads and installs in one command: its builds go resolve (interpreter, venv) → install →
        compile; conda builds solve (resolve) then download and link (install); Docker builds pull base images
        (download) and run the Dockerfile (install)."""

        RESOLVE = "resolve"
        DOWNLOAD = "download"
        INSTALL = "install"
        COMPILE = "compile"
        PUBLISH = "publish"
        DONE = "done"

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="runtimes")
    spec_hash = models.CharField(max_length=64)
    kind = models.CharField(max_length=10, choices=Kind.choices)
    builder = models.CharField(max_length=10, choices=Builder.choices, blank=True)
    target = models.CharField(max_length=16, choices=Target.choices, default=Target.LOCAL)
    state = models.CharField(max_length=10, choices=State.choices, default=State.PENDING)
    source = models.CharField(max_length=60, blank=True, help_text="The spec file, e.g. .pyrun/environment.yml.")
    spec = models.JSONField(default=dict, help_text="The normalised spec; an unparsable file keeps its text.")
    python_version = models.CharField(max_length=40, blank=True)
    # The step the last build attempt reached ("" before any); a failed build stays at the step that failed.
    build_phase = models.CharField(max_length=10, choices=Phase.choices, blank=True)
    packages = models.JSONField(default=list, blank=True, help_text="What the build installed (the lock list).")
    size_bytes = models.PositiveBigIntegerField(default=0)
    prefix = models.CharField(max_length=500, blank=True, help_text="Local runtimes: jobs run <prefix>/bin/python.")
    layer_arns = models.JSONField(default=list, blank=True)
    image_uri = models.CharField(max_length=500, blank=True)
    extra = models.JSONField(default=dict, blank=True, help_text="Builder details, e.g. base_prefix, build_dir.")
    error_id = models.CharField(max_length=80, blank=True)
    error_message = models.TextField(blank=True)
    attempts = models.PositiveIntegerField(default=0)
    celery_task_id = models.CharField(max_length=64, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )

    objects = RuntimeQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["org", "spec_hash"], name="one_runtime_per_spec_per_org")]
        indexes = [models.Index(fields=["state", "heartbeat_at"]), models.Index(fields=["last_used_at"])]

    def __str__(self) -> str:
        return f"runtime {self.pk} ({self.kind}, {self.state}, {self.spec_hash[:12]})"

    # --- Derived ------------------------------------------------------------------------------------------

    @property
    def is_active(self) -> bool:
        return self.state in self.ACTIVE_STATES

    @property
    def build_dir(self) -> Path | None:
        """The directory the environment really lives in (``prefix`` is a link to it)."""
        found = self.extra.get("build_dir")
        return Path(found) if found else None

    @property
    def sandbox_root(self) -> Path | None:
        """Container-image runtimes: the image's unpacked filesystem, which jobs run in as their root."""
        return self.build_dir if self.build_dir and self.extra.get("image_python") else None

    @property
    def python(self) -> Path | None:
        """The interpreter on this host (a local runtime's, through the real directory so paths baked in
        match; inside the unpacked filesystem for an image)."""
        if self.sandbox_root is not None:
            from runtimes.rootfs import resolve_in_root

            return resolve_in_root(self.sandbox_root, self.extra["image_python"])
        return self.build_dir / "bin" / "python" if self.build_dir else None

    @property
    def interpreter(self) -> str | None:
        """The interpreter's path as a job sees it in its sandbox."""
        if self.sandbox_root is not None:
            return self.extra["image_python"]
        return str(self.python) if self.python else None

    @property
    def has_interpreter(self) -> bool:
        python = self.python
        return python is not None and python.exists()

    @property
    def interpreter_prefixes(self) -> list[Path]:
        """What a sandbox must bind read-only, in PATH order: the environment, then its base interpreter (none
        for an image, which is the sandbox's root)."""
        if self.sandbox_root is not None:
            return []
        found = [self.build_dir] if self.build_dir else []
        if self.extra.get("base_prefix"):
            found.append(Path(self.extra["base_prefix"]))
        return found

    @property
    def image_env(self) -> dict[str, str]:
        """The environment the image declares (``ENV`` lines: PATH and the like), for jobs and terminals run in
        it. Builds refuse loader and libc variables; one of an image built before that is left out here."""
        declared = self.extra.get("image_env") or {}
        return {name: value for name, value in declared.items() if not env_policy.is_refused(name)}

    @property
    def build_seconds(self) -> float | None:
        if self.started_at and self.finished_at:
            return (self.finished_at - self.started_at).total_seconds()
        return None

    @property
    def error(self) -> dict[str, str] | None:
        """The failure as the API shows it: ``{"id", "message"}``."""
        if self.state != self.State.FAILED or not self.error_id:
            return None
        return {"id": self.error_id, "message": self.error_message}

    # --- Transitions --------------------------------------------------------------------------------------

    def _transition(self, from_states: tuple[str, ...], extra_filter: dict | None = None, **fields: Any) -> bool:
        updated = Runtime.objects.filter(pk=self.pk, state__in=from_states, **(extra_filter or {})).update(**fields)
        if updated:
            self.refresh_from_db()
            state = self.state
            transaction.on_commit(lambda: events.publish_state(self.pk, state))
        return bool(updated)

    def claim_build(self, task_id: str | None = None) -> bool:
        """pending|failed → building, for exactly one worker. With ``task_id``, only the task this build was
        queued as may claim it: a task left in the queue by a cancelled or superseded request finds nothing."""
        match = {"celery_task_id": task_id} if task_id else None
        now = timezone.now()
        return self._transition(
            (self.State.PENDING, self.State.FAILED),
            match,
            state=self.State.BUILDING,
            started_at=now,
            heartbeat_at=now,
            finished_at=None,
            error_id="",
            error_message="",
            cancel_requested_at=None,
            attempts=F("attempts") + 1,
        )

    def request_build(self, task_id: str) -> bool:
        """failed|ready → pending with a new task id: a rebuild, or a retry after a failure."""
        return self._transition(
            (self.State.FAILED, self.State.READY),
            state=self.State.PENDING,
            celery_task_id=task_id,
            error_id="",
            error_message="",
            cancel_requested_at=None,
            started_at=None,
            finished_at=None,
        )

    def mark_ready(self, result: BuildResult) -> bool:
        """building → ready with what the build produced."""
        return self._transition(
            (self.State.BUILDING,),
            state=self.State.READY,
            python_version=result.python_version,
            packages=result.packages,
            size_bytes=result.size_bytes,
            prefix=result.prefix,
            image_uri=result.image_uri,
            layer_arns=list(result.extra.get("layer_arns", [])),
            extra={k: v for k, v in result.extra.items() if k != "layer_arns"},
            finished_at=timezone.now(),
            cancel_requested_at=None,
        )

    def mark_failed(
        self,
        error: PyrunError,
        *,
        from_states: tuple[str, ...] = ACTIVE_STATES,
        heartbeat_before=None,
    ) -> bool:
        """pending|building → failed with the error's id and text."""
        extra_filter = {"heartbeat_at__lt": heartbeat_before} if heartbeat_before else None
        return self._transition(
            from_states,
            extra_filter,
            state=self.State.FAILED,
            error_id=error.id,
            error_message=error.message,
            finished_at=timezone.now(),
            celery_task_id="",
            prefix="",
        )

    def request_cancel(self) -> bool:
        """A pending build fails at once (its queued task will not claim it); a running one is flagged, and its
        worker stops the build within a heartbeat. False when there is nothing to cancel."""
        if self.mark_failed(PyrunError("runtime:user:cancelled"), from_states=(self.State.PENDING,)):
            return True
        updated = Runtime.objects.filter(pk=self.pk, state=self.State.BUILDING).update(
            cancel_requested_at=timezone.now()
        )
        self.refresh_from_db()
        return bool(updated)

    def heartbeat(self) -> bool:
        """Record that the build is alive; returns whether a cancel was requested meanwhile."""
        Runtime.objects.filter(pk=self.pk, state=self.State.BUILDING).update(heartbeat_at=timezone.now())
        return Runtime.objects.filter(pk=self.pk, cancel_requested_at__isnull=False).exists()

    def touch(self) -> None:
        now = timezone.now()
        if self.last_used_at is None or self.last_used_at < now - timedelta(seconds=TOUCH_SECONDS):
            Runtime.objects.filter(pk=self.pk).update(last_used_at=now)
            self.last_used_at = now


class RuntimeLogLine(LogEntry):
    """One line of a runtime's build log; ``seq`` increases across every build attempt of the runtime."""

    owner_field = "runtime"
    runtime = models.ForeignKey(Runtime, on_delete=models.CASCADE, related_name="log_lines")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["runtime", "seq"]
        constraints = [models.UniqueConstraint(fields=["runtime", "seq"], name="one_log_line_per_seq")]


class RuntimeUse(TenantModel):
    """Which runtimes a subject (``workspace:<storage id>``) was given: a workspace whose current spec has no
    runtime yet but which used a ready one before is *outdated*, not *none*."""

    org = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=100)
    runtime = models.ForeignKey(Runtime, on_delete=models.CASCADE, related_name="uses")
    used_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-used_at", "-id"]
        constraints = [models.UniqueConstraint(fields=["subject", "runtime"], name="one_use_per_subject_runtime")]
        indexes = [models.Index(fields=["org", "subject", "-used_at"])]

    def __str__(self) -> str:
        return f"{self.subject} → runtime {self.runtime_id}"


def enter_build_phase(runtime_id: int, phase: str) -> None:
    """Record and announce the step a build starts (``Runtime.Phase``); a client shows it as a step indicator."""
    from runtimes.events import publish_state

    Runtime.objects.filter(pk=runtime_id).update(build_phase=phase)
    state = Runtime.objects.filter(pk=runtime_id).values_list("state", flat=True).first()
    if state is not None:
        publish_state(runtime_id, state, phase=phase)
