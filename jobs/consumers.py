"""``/ws/jobs/{id}/``: a job live, as the browser's run panel and Gantt chart need it.

On connect: the job's state, then its log chunks, task events and resource samples after the seqs the client
asks for (``?log_after=&tasks_after=&samples_after=``, default 0: everything), then ``synced``, then live
messages as they happen (``job.state``, ``job.log``, ``job.tasks``, ``job.samples``), at most twenty frames a
second (see :mod:`pyrun_web.stream_consumer`). ``?streams=log,tasks`` limits what is sent. Viewers may watch;
``{"type": "cancel"}`` needs a member.
"""

from __future__ import annotations

from typing import Any

from channels.db import database_sync_to_async

from jobs import events, services
from jobs.models import Job, LogChunk
from monitoring.live import sample_dict, task_columns, task_dicts_after
from monitoring.models import ResourceSample
from pyrun_web.errors import PyrunError
from pyrun_web.stream_consumer import Stream, StreamConsumer
from pyrun_web.tenancy.models import Role


def _log_after(job_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    rows = LogChunk.objects.filter(job_id=job_id, seq__gt=after).order_by("seq")[:limit]
    return [events.chunk_dict(row) for row in rows]


def _samples_after(job_id: int, after: int, limit: int) -> list[dict[str, Any]]:
    rows = ResourceSample.objects.filter(job_id=job_id, seq__gt=after).order_by("seq")[:limit]
    return [sample_dict(row) for row in rows]


class JobConsumer(StreamConsumer):
    required_role = Role.VIEWER
    group_prefix = "job"
    streams = (
        Stream("log", "job.log", "chunks", _log_after),
        Stream("tasks", "job.tasks", "events", task_dicts_after, columns=task_columns, droppable=True),
        Stream("samples", "job.samples", "samples", _samples_after),
    )
    passthrough_types = ("job.state",)

    def get_queryset(self, user):
        return Job.objects.for_user(user)

    async def snapshot(self) -> list[dict[str, Any]]:
        job = await database_sync_to_async(Job.objects.get)(pk=self.object.pk)
        return [events.state_message(job)]

    async def on_message(self, kind: str, message: dict[str, Any]) -> None:
        if kind != "cancel":
            await super().on_message(kind, message)
            return
        if not self.membership.can(Role.MEMBER):
            self.queue_error(PyrunError("auth:user:role-required", role=Role.MEMBER.value, org=self.object.org.slug))
            return
        try:
            await database_sync_to_async(_cancel)(self.object.pk)
        except PyrunError as error:
            self.queue_error(error)


def _cancel(job_id: int) -> None:
    services.cancel(Job.objects.get(pk=job_id))
