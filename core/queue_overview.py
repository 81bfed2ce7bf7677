"""What administrators see of the work queues, and what they may do with failed jobs.

Read from RQ's own records in Redis: each queue's waiting jobs and its registries (running,
failed, scheduled for a retry, deferred), and the registered workers with the job each is
doing. A job is described by its function and ids (``process_page(42)``), never by a
document's title: administrators run the machinery, they do not read people's papers.

Who may call these is decided in :mod:`archivist.core.permissions`, not here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from redis import Redis

from archivist.core.errors import UserFacingError
from archivist.core.models import Page
from archivist.core.queue import PROCESS_PAGE, QUEUES

QUEUED = "queued"
STARTED = "started"
FAILED = "failed"
SCHEDULED = "scheduled"
DEFERRED = "deferred"
JOB_STATES = (QUEUED, STARTED, FAILED, SCHEDULED, DEFERRED)


@dataclass(frozen=True)
class JobInfo:
    id: str
    queue: str
    function: str
    description: str
    state: str
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    worker_name: str | None
    retries_left: int | None
    error: str | None
    traceback: str | None


@dataclass(frozen=True)
class QueueCounts:
    name: str
    queued: int
    started: int
    failed: int
    scheduled: int
    deferred: int


@dataclass(frozen=True)
class WorkerInfo:
    name: str
    hostname: str | None
    pid: int | None
    state: str
    queues: list[str]
    started_at: datetime | None
    last_heartbeat: datetime | None
    current_job: JobInfo | None
    successful_jobs: int
    failed_jobs: int
    working_seconds: float


def _queue(redis: Redis, name: str) -> Any:
    from rq import Queue

    if name not in QUEUES:
        raise UserFacingError("UNKNOWN_QUEUE", f"The queues are {', '.join(QUEUES)}.", "queue")
    return Queue(name, connection=redis)


def _registry(queue: Any, state: str) -> Any:
    return {
        STARTED: queue.started_job_registry,
        FAILED: queue.failed_job_registry,
        SCHEDULED: queue.scheduled_job_registry,
        DEFERRED: queue.deferred_job_registry,
    }[state]


def queue_counts(redis: Redis) -> list[QueueCounts]:
    """How many jobs each queue holds in each state, in the order workers serve them."""
    counts = []
    for name in QUEUES:
        queue = _queue(redis, name)
        counts.append(
            QueueCounts(
                name=name,
                queued=queue.count,
                started=_registry(queue, STARTED).count,
                failed=_registry(queue, FAILED).count,
                scheduled=_registry(queue, SCHEDULED).count,
                deferred=_registry(queue, DEFERRED).count,
            )
        )
    return counts


def _short_function(name: str | None) -> str:
    return (name or "?").rsplit(".", 1)[-1]


def describe_job(job: Any, state: str) -> JobInfo:
    """A job as administrators see it: function and arguments (ids), times, outcome."""
    function = _short_function(job.func_name)
    arguments = ", ".join(repr(argument) for argument in job.args or ())
    traceback = None
    if state == FAILED:  # only failed jobs have one worth reading (one more round trip)
        result = job.latest_result()
        traceback = getattr(result, "exc_string", None) or None
    error = traceback.strip().splitlines()[-1] if traceback and traceback.strip() else None
    return JobInfo(
        id=job.id,
        queue=job.origin,
        function=function,
        description=f"{function}({arguments})",
        state=state,
        enqueued_at=job.enqueued_at,
        started_at=job.started_at,
        ended_at=job.ended_at,
        worker_name=job.worker_name,
        retries_left=job.retries_left,
        error=error,
        traceback=traceback,
    )


def list_jobs(
    redis: Redis, queue_name: str, state: str, offset: int, limit: int
) -> tuple[list[JobInfo], int]:
    """One page of the jobs of ``queue_name`` in ``state`` (oldest first) and their total.

    Raises UserFacingError UNKNOWN_QUEUE.
    """
    from rq.job import Job

    queue = _queue(redis, queue_name)
    if state == QUEUED:
        total = queue.count
        ids = queue.get_job_ids(offset, limit) if limit else []
    else:
        registry = _registry(queue, state)
        total = registry.count
        ids = registry.get_job_ids(offset, offset + limit - 1) if limit else []
    jobs = Job.fetch_many(ids, connection=redis)
    return [describe_job(job, state) for job in jobs if job is not None], total


def list_workers(redis: Redis) -> list[WorkerInfo]:
    """The registered workers by name, each with the job it is doing (and since when)."""
    from rq import Worker

    workers = []
    for worker in sorted(Worker.all(connection=redis), key=lambda w: w.name):
        job = worker.get_current_job()
        workers.append(
            WorkerInfo(
                name=worker.name,
                hostname=worker.hostname,
                pid=worker.pid,
                state=str(worker.get_state()),
                queues=worker.queue_names(),
                started_at=worker.birth_date,
                last_heartbeat=worker.last_heartbeat,
                current_job=describe_job(job, STARTED) if job is not None else None,
                successful_jobs=worker.successful_job_count,
                failed_jobs=worker.failed_job_count,
                working_seconds=float(worker.total_working_time),
            )
        )
    return workers


def _failed_job(redis: Redis, job_id: str) -> Any:
    from rq.job import Job

    for name in QUEUES:
        if job_id in _registry(_queue(redis, name), FAILED):
            return Job.fetch(job_id, connection=redis)
    raise UserFacingError("JOB_NOT_FOUND", "No failed job has this id.", "jobId")


def retry_failed_job(redis: Redis, job_id: str) -> None:
    """Run a failed job again.

    A page job is done the way ``retryPage`` does it: the page (the same number in the
    document's current version) is set to be processed again in a new version, and waits its
    turn like any page; the failed job is removed. Any other job (finishing a document,
    indexing it) is idempotent and goes back to its queue as it is.

    Raises UserFacingError: JOB_NOT_FOUND, JOB_STALE (the page is gone or was processed
    again since), DOCUMENT_PROCESSING.
    """
    from archivist.core.reprocess import redo_failed_page
    from archivist.core.settings import get_settings

    job = _failed_job(redis, job_id)
    if job.func_name == PROCESS_PAGE:
        page = Page.get_or_none(Page.id == int(job.args[0]))
        if page is None:
            raise UserFacingError("JOB_STALE", "Its page no longer exists; discard the job.")
        redo_failed_page(get_settings(), redis, page)
        job.delete()
        return
    job.requeue()


def discard_failed_job(redis: Redis, job_id: str) -> None:
    """Delete a failed job for good (a failed page stays failed, with its reason).

    Raises UserFacingError JOB_NOT_FOUND.
    """
    _failed_job(redis, job_id).delete()
