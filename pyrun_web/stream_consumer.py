"""A websocket that follows one object's numbered streams (a job's log, task events, samples; a build's log) from
a seq onwards, without gaps or duplicates, in at most ``FRAMES_PER_SECOND`` frames a second.

How it stays exact: the consumer joins the object's Channels group *before* it reads the database, so nothing
published after the read is missed; Channels hands group messages to a consumer one at a time, after
``connect()`` returns, so they never interleave with that read. Each stream keeps a cursor (the last seq sent):
a live item at or below it is a duplicate and dropped; a live message that starts beyond ``cursor + 1`` means
something was not published (Redis was down, the group was full) and the stream is read from the database
again, from the cursor. Writers publish only what they have committed, so the database always has it.

Frames are ``{"type": "batch", "messages": [...]}``: everything that arrived in the last 50 ms, so a fan-out of
thousands of events a second costs the browser twenty frames, not thousands (and an event waits at most 50 ms for
its frame: at ten frames a second, the 95th percentile of emit → browser at 50,000 events a second was 160 ms
against 110 ms at twenty, docs/performance.md).

A high-rate writer publishes its items already as JSON (:func:`pyrun_web.infra.live.encoded`): the channel layer
then packs one string instead of thousands of dicts, and a consumer whose cursor is right before the batch
splices the text into its frame without decoding it. At 50,000 task events a second, decoding and
re-encoding was most of the web process' work.

Backpressure, for the streams marked ``droppable`` (task events): a client that reads slower than a job produces
(a browser on a slow link, a busy tab) must not make the server queue seconds of events for it, in memory, to
deliver them late. A live message still waiting ``MAX_LAG_SECONDS`` after it came is dropped with everything
queued for its stream, and the stream gets one ``{"type": "dropped", "stream", "first", "last", "count", "error":
{"id": "live:user:fell-behind", ...}}`` message instead: the seqs skipped, which the client reloads from the REST
API (or by reconnecting with ``<stream>_after``) when it wants them. The cursor stays past them, so what follows is
live again. The history a client asked for on connect is never dropped: it is bounded by the database, not by the
job's rate.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs

import orjson
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncWebsocketConsumer

from pyrun_web.errors import ERRORS, PyrunError, error_body
from pyrun_web.infra.live import ENCODED_KEYS
from pyrun_web.ws_auth import TenantObjectConsumerMixin

FRAMES_PER_SECOND = 20
MAX_FRAME_BYTES = 4 * 1024**2  # what does not fit waits for the next frame (one oversized message goes alone)
CATCH_UP_PAGE = 5000
MAX_LAG_SECONDS = 1.0  # a live message older than this when its frame is due is dropped for a summary


class _Part:
    """One message waiting in a consumer's outbox, as JSON text; stream messages know their seqs and may be dropped
    for a ``dropped`` summary."""

    __slots__ = ("droppable", "first", "last", "queued_at", "stream", "text")

    def __init__(self, text: str, stream: str | None = None, first: int = 0, last: int = 0,
                 queued_at: float = 0.0, droppable: bool = False) -> None:  # fmt: skip
        self.text, self.stream, self.first, self.last = text, stream, first, last
        self.queued_at, self.droppable = queued_at, droppable


@dataclass(frozen=True)
class Stream:
    """One numbered stream of the object: live messages of ``message_type`` carry their items in ``field``."""

    name: str  # also the query parameter ``<name>_after``
    message_type: str
    field: str
    # (object id, after seq, limit) → items as dicts with a "seq", oldest first. Runs in a thread.
    read_after: Callable[[int, int, int], list[dict[str, Any]]]
    # Items read from the database → one "columns" object, sent instead of the items' field to a client that asks
    # for ``<name>_format=columns`` (a big history parses faster as columns); live messages stay items.
    columns: Callable[[list[dict[str, Any]]], dict[str, Any]] | None = None
    # A high-rate stream (task events) whose live messages a slow client may lose for a ``dropped`` summary; a log
    # is never dropped: a reader of it (the CLI) wants every line, and a log's rate is bounded by its writer.
    droppable: bool = False


class StreamConsumer(TenantObjectConsumerMixin, AsyncWebsocketConsumer):
    """Subclasses set ``streams``, ``group_prefix`` and ``get_queryset``; they may override :meth:`snapshot`
    (messages sent first, e.g. the current state) and :meth:`on_message` (client messages)."""

    streams: tuple[Stream, ...] = ()
    group_prefix = ""
    passthrough_types: tuple[str, ...] = ()  # live messages without a seq, forwarded as they come (state)

    async def connect(self) -> None:
        found = await self.authorize()
        if found is None:
            return
        self.object, self.membership = found
        self.group = f"{self.group_prefix}-{self.object.pk}"
        query = parse_qs(self.scope.get("query_string", b"").decode("latin-1"))
        wanted = query.get("streams", [""])[-1]
        names = {s.name for s in self.streams}
        chosen = {n for n in wanted.split(",") if n in names} if wanted else names
        self.active = [s for s in self.streams if s.name in chosen]
        self.cursor = {s.name: _seq(query.get(f"{s.name}_after", ["0"])[-1]) for s in self.active}
        self.columnar = {s.name for s in self.active if s.columns and query.get(f"{s.name}_format") == ["columns"]}
        self.outbox: list[_Part] = []
        self.dropped: dict[str, _Part] = {}  # per stream: its summary waiting in the outbox, to extend
        self.wakeup = asyncio.Event()
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        for message in await self.snapshot():
            self.queue(message)
        for stream in self.active:
            await self.catch_up(stream)
        self.queue({"type": "synced", "cursors": dict(self.cursor)})
        self.flusher = asyncio.create_task(self._flush_forever())

    async def disconnect(self, code: int) -> None:
        flusher = getattr(self, "flusher", None)
        if flusher is not None:
            flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await flusher
        if getattr(self, "group", None):
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def receive(self, text_data: str | None = None, bytes_data: bytes | None = None) -> None:
        try:
            message = json.loads(text_data or "")
            kind = message["type"]
        except (ValueError, TypeError, KeyError):
            self.queue_error(PyrunError("live:user:bad-message", detail="expected a JSON object with a type"))
            return
        await self.on_message(kind, message)

    # --- For subclasses ----------------------------------------------------------------------------------

    async def snapshot(self) -> list[dict[str, Any]]:
        return []

    async def on_message(self, kind: str, message: dict[str, Any]) -> None:
        self.queue_error(PyrunError("live:user:bad-message", detail=f"unknown message type {kind!r}"))

    # --- Streams -----------------------------------------------------------------------------------------

    async def catch_up(self, stream: Stream, *, live: bool = False) -> None:
        """Send every item of ``stream`` after its cursor that the database holds now."""
        while True:
            items = await database_sync_to_async(stream.read_after)(self.object.pk, self.cursor[stream.name],
                                                                    CATCH_UP_PAGE)  # fmt: skip
            if not items:
                return
            first, self.cursor[stream.name] = items[0]["seq"], items[-1]["seq"]
            if stream.name in self.columnar and stream.columns is not None:
                message = {"type": stream.message_type, "columns": stream.columns(items)}
            else:
                message = {"type": stream.message_type, stream.field: items}
            # On connect, the history asked for; later, what a gap left out of live messages (droppable as they are).
            text = orjson.dumps(message).decode()
            self._append(text, stream, first, items[-1]["seq"], droppable=live and stream.droppable)
            if len(items) < CATCH_UP_PAGE:
                return

    async def dispatch(self, message: dict[str, Any]) -> None:
        # Group messages: one handler for every stream and pass-through type, routed here by type.
        kind = message.get("type", "")
        stream = next((s for s in self.streams if s.message_type == kind), None)
        if stream is not None:
            if stream in getattr(self, "active", ()):  # the group carries every stream; the client chose some
                await self._live(stream, message)
        elif kind in self.passthrough_types:
            self.queue(message)
        else:
            await super().dispatch(message)

    async def _live(self, stream: Stream, message: dict[str, Any]) -> None:
        cursor = self.cursor[stream.name]
        if "encoded" in message:
            first, last = message["first"], message["last"]
            if last <= cursor:
                return
            if first == cursor + 1:
                self.cursor[stream.name] = last
                self.queue_encoded(message, stream)
                return
            rest = {k: v for k, v in message.items() if k not in ENCODED_KEYS}
            message = {**rest, stream.field: orjson.loads(message["encoded"])}  # overlaps the cursor, or a gap
        items = [item for item in message.get(stream.field, ()) if item["seq"] > cursor]
        if not items:
            return
        if items[0]["seq"] != cursor + 1:
            await self.catch_up(stream, live=True)  # a gap: the database has the missing items and these
            return
        self.cursor[stream.name] = items[-1]["seq"]
        text = orjson.dumps({**message, stream.field: items}).decode()
        self._append(text, stream, items[0]["seq"], items[-1]["seq"], droppable=stream.droppable)

    # --- Frames ------------------------------------------------------------------------------------------

    def queue_error(self, error: PyrunError) -> None:
        self.queue({"type": "error", **error_body(error.id, error.message)})

    def queue_encoded(self, message: dict[str, Any], stream: Stream) -> None:
        """A live message published pre-encoded, spliced into a frame without decoding its items."""
        head = orjson.dumps({k: v for k, v in message.items() if k not in ENCODED_KEYS})
        text = b"".join((head[:-1], b',"', stream.field.encode(), b'":', message["encoded"], b"}")).decode()
        self._append(text, stream, message["first"], message["last"], droppable=stream.droppable)

    def queue(self, message: dict[str, Any]) -> None:
        """A message that is never dropped (state, errors, ``synced``)."""
        self._append(orjson.dumps(message).decode())

    def _append(self, text: str, stream: Stream | None = None, first: int = 0, last: int = 0, *,
                droppable: bool = False) -> None:  # fmt: skip
        now = asyncio.get_running_loop().time()
        name = stream.name if stream is not None else None
        self.outbox.append(_Part(text, name, first, last, now, droppable))
        if droppable:
            self._drop_behind(now)  # also while a slow send blocks the flusher: memory stays bounded
        self.wakeup.set()

    def _drop_behind(self, now: float) -> None:
        """When the oldest live message has waited ``MAX_LAG_SECONDS``, the client is not keeping up: every live
        message queued is replaced by one ``dropped`` summary per stream, kept in order with the rest."""
        oldest = next((p.queued_at for p in self.outbox if p.droppable), None)
        if oldest is None or now - oldest < MAX_LAG_SECONDS:
            return
        kept: list[_Part] = []
        for part in self.outbox:
            if not part.droppable:
                kept.append(part)
                continue
            name = part.stream or ""
            summary = self.dropped.get(name)
            if summary is None:
                summary = self.dropped[name] = _Part("", name, part.first, part.last, now)
                kept.append(summary)
            summary.last = part.last
        for summary in self.dropped.values():
            count = summary.last - summary.first + 1
            body = error_body("live:user:fell-behind", ERRORS["live:user:fell-behind"].message.format(count=count))
            summary.text = orjson.dumps({"type": "dropped", "stream": summary.stream, "first": summary.first,
                                         "last": summary.last, "count": count, **body}).decode()  # fmt: skip
        self.outbox = kept

    async def _flush_forever(self) -> None:
        interval = 1.0 / FRAMES_PER_SECOND
        loop = asyncio.get_running_loop()
        while True:
            await self.wakeup.wait()
            self.wakeup.clear()
            sent_at = loop.time()
            self._drop_behind(sent_at)
            await self._send_frame()
            if self.outbox:
                self.wakeup.set()
            await asyncio.sleep(max(0.0, interval - (loop.time() - sent_at)))

    async def _send_frame(self) -> None:
        if not self.outbox:
            return
        size, count = 0, 0
        for part in self.outbox:
            if count and size + len(part.text) > MAX_FRAME_BYTES:
                break
            size += len(part.text) + 1
            count += 1
        parts, self.outbox = self.outbox[:count], self.outbox[count:]
        for part in parts:
            if part.stream is not None and self.dropped.get(part.stream) is part:
                del self.dropped[part.stream]  # sent: the next drop starts a new summary
        await self.send(text_data='{"type":"batch","messages":[' + ",".join(p.text for p in parts) + "]}")


def _seq(value: str) -> int:
    try:
        return max(int(value), 0)
    except ValueError:
        return 0
