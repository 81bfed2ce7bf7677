"""Watching the work: the queues and workers (administrators), a document's place in line.

Who may see the queues is :func:`archivist.core.permissions.can_administer_queue`'s call;
every root field here asks it. ``Document.queuePosition`` is reached only through a document
the viewer may read, and says counts, never whose pages they are.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from ariadne import MutationType, ObjectType, QueryType, SubscriptionType
from graphql import GraphQLError, GraphQLResolveInfo
from redis import Redis
from redis.exceptions import RedisError

from archivist.core import queue_overview
from archivist.core.db import run_db, utcnow
from archivist.core.errors import UserFacingError
from archivist.core.models import Document, Node, Page
from archivist.core.permissions import can_administer_queue
from archivist.core.queue import redis_connection
from archivist.core.scheduling import QueuePosition, queue_position
from archivist.core.settings import Settings
from archivist.core.users import Viewer
from archivist.graphql.connections import position_connection, position_window
from archivist.graphql.context import VIEWER_SCOPE_KEY, Context, require_viewer
from archivist.graphql.payloads import ok, user_errors

query = QueryType()
mutation = MutationType()
subscription = SubscriptionType()
job_queue_type = ObjectType("JobQueue")
job_type = ObjectType("Job")
document_type = ObjectType("Document")

MIN_INTERVAL, MAX_INTERVAL = 1, 3600


def _forbidden() -> UserFacingError:
    return UserFacingError("FORBIDDEN", "Only administrators may see and act on the work queues.")


def _require_admin(info: GraphQLResolveInfo) -> Viewer:
    viewer = require_viewer(info)
    if not can_administer_queue(viewer):
        raise _forbidden()
    return viewer


def _redis(settings: Settings) -> Redis:
    if settings.redis_url is None:
        raise UserFacingError("QUEUE_UNAVAILABLE", "No queue (Redis) is configured.")
    return redis_connection(settings)


def _unavailable(error: RedisError) -> UserFacingError:
    return UserFacingError("QUEUE_UNAVAILABLE", f"The queue (Redis) cannot be reached: {error}")


@dataclass(frozen=True)
class WorkQueue:
    at: datetime
    queues: list[queue_overview.QueueCounts]
    workers: list[queue_overview.WorkerInfo]
    pages_waiting: int


def read_work_queue(settings: Settings) -> WorkQueue:
    redis = _redis(settings)
    try:
        queues = queue_overview.queue_counts(redis)
        workers = queue_overview.list_workers(redis)
    except RedisError as error:
        raise _unavailable(error) from None
    waiting = Page.select().where((Page.status == Page.PENDING) & Page.job_id.is_null()).count()
    return WorkQueue(utcnow(), queues, workers, waiting)


@query.field("workQueue")
async def resolve_work_queue(_: Any, info: GraphQLResolveInfo) -> WorkQueue:
    _require_admin(info)
    context: Context = info.context
    return await run_db(read_work_queue, context.settings)


@job_queue_type.field("queuedCount")
def resolve_queued_count(counts: queue_overview.QueueCounts, *_: Any) -> int:
    return counts.queued


@job_queue_type.field("startedCount")
def resolve_started_count(counts: queue_overview.QueueCounts, *_: Any) -> int:
    return counts.started


@job_queue_type.field("failedCount")
def resolve_failed_count(counts: queue_overview.QueueCounts, *_: Any) -> int:
    return counts.failed


@job_queue_type.field("scheduledCount")
def resolve_scheduled_count(counts: queue_overview.QueueCounts, *_: Any) -> int:
    return counts.scheduled


@job_queue_type.field("deferredCount")
def resolve_deferred_count(counts: queue_overview.QueueCounts, *_: Any) -> int:
    return counts.deferred


@job_queue_type.field("jobs")
async def resolve_jobs(
    counts: queue_overview.QueueCounts,
    info: GraphQLResolveInfo,
    state: str,
    **arguments: Any,
) -> dict[str, Any]:
    _require_admin(info)  # reached only through the admin's roots; asked again all the same
    context: Context = info.context
    # Jobs come and go: a cursor is a position in this queue's list in this state.
    listing = f"jobs:{counts.name}:{state}"
    offset, limit = position_window("JobQueue", "jobs", listing, **arguments)

    def read() -> tuple[list[queue_overview.JobInfo], int]:
        try:
            return queue_overview.list_jobs(
                _redis(context.settings), counts.name, state.lower(), offset, limit
            )
        except RedisError as error:
            raise _unavailable(error) from None

    jobs, total = await asyncio.to_thread(read)
    return position_connection(jobs, total, offset, listing)


@job_type.field("jobId")
def resolve_job_id(job: queue_overview.JobInfo, *_: Any) -> str:
    return job.id


@job_type.field("state")
def resolve_job_state(job: queue_overview.JobInfo, *_: Any) -> str:
    return job.state.upper()


async def _act_on_failed_job(info: GraphQLResolveInfo, action: Any, job_id: str) -> dict[str, Any]:
    _require_admin(info)
    context: Context = info.context
    try:
        await run_db(action, _redis(context.settings), job_id)
    except UserFacingError as error:
        return {**user_errors(error), "ok": False}
    except RedisError as error:
        return {**user_errors(_unavailable(error)), "ok": False}
    return ok(ok=True)


@mutation.field("retryJob")
async def resolve_retry_job(_: Any, info: GraphQLResolveInfo, job_id: str) -> dict[str, Any]:
    return await _act_on_failed_job(info, queue_overview.retry_failed_job, job_id)


@mutation.field("discardJob")
async def resolve_discard_job(_: Any, info: GraphQLResolveInfo, job_id: str) -> dict[str, Any]:
    return await _act_on_failed_job(info, queue_overview.discard_failed_job, job_id)


def _current_viewer(info: GraphQLResolveInfo) -> Viewer | None:
    """The socket's viewer as last checked (the websocket handler refreshes it)."""
    context: Context = info.context
    viewer: Viewer | None = context.request.scope.get(VIEWER_SCOPE_KEY, context.viewer)
    return viewer


@subscription.source("queueStats")
async def queue_stats_source(
    _: Any, info: GraphQLResolveInfo, interval_seconds: int = 5
) -> AsyncGenerator[WorkQueue, None]:
    viewer = require_viewer(info)
    if not can_administer_queue(viewer):
        error = _forbidden()
        raise GraphQLError(error.message, extensions={"code": error.code})
    if not MIN_INTERVAL <= interval_seconds <= MAX_INTERVAL:
        raise GraphQLError(
            f"intervalSeconds is {MIN_INTERVAL} to {MAX_INTERVAL} (got {interval_seconds}).",
            extensions={"code": "INVALID_INTERVAL"},
        )
    context: Context = info.context
    while True:
        current = _current_viewer(info)
        if current is None or not can_administer_queue(current):
            return  # no longer an administrator: the feed ends
        try:
            yield await run_db(read_work_queue, context.settings)
        except UserFacingError as failure:
            raise GraphQLError(failure.message, extensions={"code": failure.code}) from None
        await asyncio.sleep(interval_seconds)


@subscription.field("queueStats")
def resolve_queue_stats(snapshot: WorkQueue, *_: Any, **__: Any) -> WorkQueue:
    return snapshot


def _position(settings: Settings, document_id: int) -> QueuePosition | None:
    document = Document.get_or_none(Document.node == document_id)
    if document is None or document.status != Document.PROCESSING or settings.redis_url is None:
        return None
    try:
        return queue_position(redis_connection(settings), document_id)
    except RedisError:
        return None  # where it stands is unknown while Redis is away


@document_type.field("queuePosition")
async def resolve_queue_position(node: Node, info: GraphQLResolveInfo) -> QueuePosition | None:
    context: Context = info.context
    require_viewer(info)  # the document itself was resolved under can_read
    return await run_db(_position, context.settings, node.id)


bindables = [query, mutation, subscription, job_queue_type, job_type, document_type]
