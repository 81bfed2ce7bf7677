"""Progress subscriptions: processing events from Redis, relayed to who may see them.

One Redis pub/sub connection per API process (the :class:`Broadcaster`) feeds every
subscriber's queue. A subscriber gets the document's state from the database first, then live
events; it subscribes before reading that state, so nothing falls in between. The document's
state says PROCESSING, READY or FAILED (the ``Document.status``); ``documentProgress``
completes after its first READY or FAILED event. Each event is
checked against the viewer when it is delivered (see :func:`_checked`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncGenerator, AsyncIterator
from datetime import datetime
from typing import Any

from ariadne import SubscriptionType
from graphql import GraphQLError, GraphQLResolveInfo
from redis.asyncio import Redis
from redis.exceptions import RedisError

from archivist.core.db import run_db
from archivist.core.errors import NotFound
from archivist.core.models import Node
from archivist.core.nodes import get_node
from archivist.core.permissions import readable_by
from archivist.core.processing import document_progress
from archivist.core.progress import FAILED, READY, ProgressEvent, channel
from archivist.core.users import Viewer
from archivist.graphql.context import Context, require_viewer

logger = logging.getLogger("archivist.graphql.progress")

QUEUE_SIZE = 10_000
# After these a document's round of processing is over: ``documentProgress`` completes.
FINAL = frozenset({READY, FAILED})
CHECK_BATCH = 500  # events checked with one query at most


class Broadcaster:
    """Fans Redis progress messages out to in-process subscribers."""

    def __init__(self, redis_url: str | None) -> None:
        self.redis_url = redis_url
        self.subscribers: set[asyncio.Queue[ProgressEvent]] = set()
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[ProgressEvent]]:
        queue: asyncio.Queue[ProgressEvent] = asyncio.Queue(QUEUE_SIZE)
        self.subscribers.add(queue)
        try:
            await self._start()
            yield queue
        finally:
            self.subscribers.discard(queue)

    async def _start(self) -> None:
        if self.redis_url is None:
            return
        if self._task is None or self._task.done():
            self._ready = asyncio.Event()
            self._task = asyncio.create_task(self._listen(self.redis_url))
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._ready.wait(), timeout=5)

    async def _listen(self, url: str) -> None:
        while True:
            try:
                client = Redis.from_url(url)
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(channel(client))
                    self._ready.set()
                    async for message in pubsub.listen():
                        if message.get("type") == "message":
                            self._deliver(ProgressEvent.from_json(message["data"]))
            except (RedisError, OSError) as error:
                self._ready.clear()
                logger.warning("progress feed lost Redis (%s); reconnecting", error)
                await asyncio.sleep(1)

    def _deliver(self, event: ProgressEvent) -> None:
        for queue in list(self.subscribers):
            try:
                queue.put_nowait(event)
            except asyncio.QueueFull:
                logger.warning("a progress subscriber is not reading; dropping an event")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task


subscription = SubscriptionType()


def _as_graphql(event: ProgressEvent) -> dict[str, Any]:
    return {
        "document_id": event.document_id,
        "status": event.status.upper(),
        "page_number": event.page_number,
        "pages_done": event.pages_done,
        "pages_total": event.pages_total,
        "message": event.message,
        "worker": event.worker,
        "at": datetime.fromisoformat(event.at.rstrip("Z")),
    }


def _readable_documents(viewer: Viewer, document_ids: set[int]) -> set[int]:
    """Which of ``document_ids`` the viewer may read now (one indexed query)."""
    rows = Node.select(Node.id).where(Node.id.in_(document_ids) & readable_by(viewer))
    return {row.id for row in rows}


async def _checked(
    queue: asyncio.Queue[ProgressEvent], viewer: Viewer, wanted: int | None = None
) -> AsyncIterator[tuple[ProgressEvent, bool]]:
    """The events from ``queue`` (only ``wanted``'s, if given), each with whether the
    viewer may read its document at the moment it is delivered.

    Every event is checked, never a verdict cached across events: a document can be given
    away or deleted at any time. Events already waiting are checked together, with one
    query for the batch, so a burst costs one round trip, not one per event.
    """
    while True:
        batch = [await queue.get()]
        while len(batch) < CHECK_BATCH and not queue.empty():
            batch.append(queue.get_nowait())
        if wanted is not None:
            batch = [event for event in batch if event.document_id == wanted]
            if not batch:
                continue
        allowed = await run_db(_readable_documents, viewer, {e.document_id for e in batch})
        for event in batch:
            yield event, event.document_id in allowed


@subscription.source("documentProgress")
async def document_progress_source(
    _: Any,
    info: GraphQLResolveInfo,
    document_id: str,
) -> AsyncGenerator[ProgressEvent, None]:
    context: Context = info.context
    viewer = require_viewer(info)
    try:
        node = await run_db(get_node, viewer, document_id)
    except NotFound as error:
        raise GraphQLError(error.message, extensions={"code": error.code}) from None
    if node.kind != Node.DOCUMENT:
        raise GraphQLError("This is a folder, not a document.", extensions={"code": "NOT_FOUND"})
    async with context.broadcaster.subscribe() as queue:
        current = await run_db(document_progress, node.id)
        yield current
        if current.status in FINAL:
            return  # nothing more will come of this round: the stream completes
        async for event, allowed in _checked(queue, viewer, node.id):
            if not allowed:
                return  # deleted or no longer the viewer's: the subscription ends
            yield event
            if event.status in FINAL:
                return


@subscription.source("documentsProgress")
async def documents_progress_source(
    _: Any, info: GraphQLResolveInfo
) -> AsyncGenerator[ProgressEvent, None]:
    context: Context = info.context
    viewer = require_viewer(info)
    async with context.broadcaster.subscribe() as queue:
        async for event, allowed in _checked(queue, viewer):
            if allowed:
                yield event


@subscription.field("documentProgress")
@subscription.field("documentsProgress")
def resolve_progress(event: ProgressEvent, *_: Any, **__: Any) -> dict[str, Any]:
    return _as_graphql(event)


bindables = [subscription]
