"""Redis: the queue that delivers work to the workers (the database stays the truth)."""

from __future__ import annotations

import uuid
from typing import Any

from redis import Redis
from redis.exceptions import RedisError

from archivist.core.settings import Settings, SettingsError


def redis_connection(settings: Settings) -> Redis:
    """A client for the configured Redis; raises SettingsError when none is configured."""
    if settings.redis_url is None:
        raise SettingsError(
            "ARCHIVIST_REDIS_URL: not set (scripts/run starts a Redis of its own; "
            "otherwise set it to redis://host:6379/0)"
        )
    return Redis.from_url(settings.redis_url, socket_connect_timeout=5, health_check_interval=30)


def check_redis(settings: Settings) -> None:
    """Ping Redis once; raises SettingsError naming ARCHIVIST_REDIS_URL when it cannot."""
    try:
        redis_connection(settings).ping()
    except RedisError as error:
        raise SettingsError(
            f"ARCHIVIST_REDIS_URL: cannot connect to {settings.redis_url}: {error}"
        ) from error


# Queues in the order a worker serves them: finishing a document and indexing it come before
# starting on more pages, so documents become ready (and searchable) as early as possible.
FINALIZE_QUEUE = "documents"
INDEX_QUEUE = "index"
PAGES_QUEUE = "pages"
QUEUES = (FINALIZE_QUEUE, INDEX_QUEUE, PAGES_QUEUE)

# Jobs are named, not imported: core never imports jobs (see ARCHITECTURE.md).
PROCESS_PAGE = "archivist.jobs.pipeline.process_page"
PAGE_JOB_FAILED = "archivist.jobs.pipeline.page_job_failed"
FINALIZE_VERSION = "archivist.jobs.pipeline.finalize_version"
INDEX_DOCUMENT = "archivist.jobs.indexing.index_document"


def _retry() -> Any:
    """RQ's retry policy from ARCHIVIST_RETRY_INTERVALS (seconds between tries)."""
    from rq import Retry

    from archivist.core.settings import get_settings

    intervals = list(get_settings().retry_intervals)
    return Retry(max=len(intervals), interval=intervals) if intervals else None


def new_page_job_id() -> str:
    """A fresh id for a page job; the page row keeps the id of its latest job."""
    return f"page-{uuid.uuid4().hex}"


def enqueue_pages(connection: Redis, settings: Settings, pages: list[tuple[int, str]]) -> None:
    """Enqueue one job per (page id, job id), in one round trip."""
    from rq import Callback, Queue

    queue = Queue(PAGES_QUEUE, connection=connection)
    queue.enqueue_many(
        [
            Queue.prepare_data(
                PROCESS_PAGE,
                args=(page_id,),
                job_id=job_id,
                timeout=settings.page_timeout,
                retry=_retry(),
                on_failure=Callback(PAGE_JOB_FAILED),
                result_ttl=600,
                failure_ttl=7 * 24 * 3600,
            )
            for page_id, job_id in pages
        ]
    )


def enqueue_finalize(connection: Redis, version_id: int) -> None:
    from rq import Queue

    Queue(FINALIZE_QUEUE, connection=connection).enqueue(
        FINALIZE_VERSION,
        version_id,
        job_id=f"finalize-{version_id}",
        retry=_retry(),
        job_timeout=3600,
    )


def enqueue_index(connection: Redis, *document_ids: int) -> None:
    """One index job per document (jobs, not the request, touch the index)."""
    from rq import Queue

    queue = Queue(INDEX_QUEUE, connection=connection)
    queue.enqueue_many(
        [
            Queue.prepare_data(
                INDEX_DOCUMENT,
                args=(document_id,),
                # Nothing to do once another job took it along (see archivist.jobs.indexing).
                kwargs={"owed_only": True},
                retry=_retry(),
                timeout=600,
            )
            for document_id in document_ids
        ]
    )
