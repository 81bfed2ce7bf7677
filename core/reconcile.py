"""The reconciler: the database says what must happen; make sure the queue knows.

A page that is queued (pending, with a job id) with no live job (Redis was flushed or
restarted, an enqueue failed), or processing under a lease nobody renewed (its worker was
killed), gets a new job. Pages waiting their turn (pending, no job id yet) are left to
:mod:`archivist.core.scheduling`: every owner who has some gets the turns their window allows,
so a turn lost with a killed worker is given again and fairness between owners holds. A version
whose pages are all finished but whose final step is lost gets it again. A document whose
index entries are behind the database (see ``core/index_state.py``) gets an index job. Running
it often is cheap and safe: a re-enqueued page that another job finishes first is simply
skipped, and an index job writes what the database says at the time it runs.

A job RQ holds as *scheduled* (a retry waiting for its interval) counts as alive only until a
little after its time: past that, no scheduler is moving it, and the work is enqueued again.
A job RQ holds as *started* counts as alive only while its worker says it is alive (see
:func:`worker_heartbeat`): a worker killed with its host mid-job (a document's final step, an
index job) leaves the job *started* in RQ for as long as the job's timeout, an hour.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis import Redis
from rq import Queue
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.registry import ScheduledJobRegistry

from archivist.core.db import utcnow
from archivist.core.index_state import asked_again, documents_behind
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.processing import current_version, take_finalize_turn
from archivist.core.queue import (
    INDEX_DOCUMENT,
    INDEX_QUEUE,
    enqueue_finalize,
    enqueue_pages,
    new_page_job_id,
)
from archivist.core.scheduling import owners_with_waiting_pages, queue_waiting_pages
from archivist.core.settings import Settings

ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
# A page created this recently may not be enqueued yet by the upload that created it; index
# work asked for this recently may still be on its way through the queue.
GRACE = timedelta(seconds=10)
# A scheduled job this long past its time has no scheduler moving it (Redis blipped and the
# worker's scheduler died with it): it no longer counts as alive.
SCHEDULE_SLACK = timedelta(seconds=30)
BATCH = 500
WORKER_ALIVE_KEY = "archivist:worker-alive:{}"


def heartbeat_ttl(settings: Settings) -> int:
    """Seconds a worker's heartbeat lasts: three reconciler intervals, at least 10."""
    return max(10, 3 * settings.reconcile_interval)


def worker_heartbeat(redis: Redis, settings: Settings, name: str) -> None:
    """Say that the worker ``name`` is alive for :func:`heartbeat_ttl` seconds (every worker
    does, from a thread of its own, a few times per TTL)."""
    redis.set(WORKER_ALIVE_KEY.format(name), "1", ex=heartbeat_ttl(settings))


@dataclass
class ReconcileReport:
    pages_requeued: int = 0
    versions_finalized: int = 0
    pages_given_turns: int = 0
    documents_reindexed: int = 0

    @property
    def anything(self) -> bool:
        return bool(
            self.pages_requeued
            or self.versions_finalized
            or self.pages_given_turns
            or self.documents_reindexed
        )

    def __str__(self) -> str:
        return (
            f"re-enqueued {self.pages_requeued} page(s), "
            f"re-enqueued the final step of {self.versions_finalized} version(s), "
            f"queued {self.pages_given_turns} waiting page(s), "
            f"re-enqueued index work for {self.documents_reindexed} document(s)"
        )


def _overdue(redis: Redis, job: Job) -> bool:
    """Whether a scheduled job is past its time by more than SCHEDULE_SLACK (or lost)."""
    registry = ScheduledJobRegistry(job.origin, connection=redis)
    try:
        when = registry.get_scheduled_time(job)
    except NoSuchJobError:  # not in the registry: nobody will ever move it to its queue
        return True
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return bool(when < datetime.now(UTC) - SCHEDULE_SLACK)


def _live_jobs(redis: Redis, job_ids: list[str]) -> set[str]:
    alive = set()
    for job in Job.fetch_many(job_ids, connection=redis):
        if job is None:
            continue
        status = job.get_status(refresh=False)
        if status == JobStatus.SCHEDULED and _overdue(redis, job):
            continue
        if status == JobStatus.STARTED and not _worker_alive(redis, job.worker_name):
            continue  # its worker died holding it
        if status in ALIVE:
            alive.add(job.id)
    return alive


def _worker_alive(redis: Redis, name: str | None) -> bool:
    return name is None or bool(redis.exists(WORKER_ALIVE_KEY.format(name)))


def _requeue_pages(settings: Settings, redis: Redis, report: ReconcileReport) -> None:
    now = utcnow()
    stale = (
        Page.select(Page.id, Page.job_id, Page.status)
        .join(DocumentVersion)
        .where(
            (
                ((Page.status == Page.PENDING) & Page.job_id.is_null(False))
                | ((Page.status == Page.PROCESSING) & (Page.lease_until < now))
            )
            & (DocumentVersion.created_at < now - GRACE)
        )
        .order_by(Page.id)
    )
    rows = [(page.id, page.job_id, page.status) for page in stale]
    for start in range(0, len(rows), BATCH):
        batch = rows[start : start + BATCH]
        pending_ids = [job for _, job, status in batch if job and status == Page.PENDING]
        alive = _live_jobs(redis, pending_ids) if pending_ids else set()
        jobs = []
        for page_id, old_job, status in batch:
            if status == Page.PENDING and old_job in alive:
                continue
            job_id = new_page_job_id()
            # Only one reconciler wins each page: the update is conditional on the old job id.
            if (
                Page.update(job_id=job_id)
                .where(
                    (Page.id == page_id)
                    & (Page.job_id == old_job if old_job else Page.job_id.is_null())
                )
                .execute()
            ):
                jobs.append((page_id, job_id))
        if jobs:
            enqueue_pages(redis, settings, jobs)
            report.pages_requeued += len(jobs)


def _refinalize(redis: Redis, report: ReconcileReport) -> None:
    processing = (
        Document.select(Document.node)
        .join(Node, on=(Document.node == Node.id))
        .where(Document.status == Document.PROCESSING)
    )
    for row in processing:
        document_id = row.node_id
        version = current_version(document_id)
        if version is None:
            continue
        if not version.finalize_enqueued:
            if take_finalize_turn(version.id):
                enqueue_finalize(redis, version.id)
                report.versions_finalized += 1
            continue
        if f"finalize-{version.id}" not in _live_jobs(redis, [f"finalize-{version.id}"]):
            job = Job.fetch_many([f"finalize-{version.id}"], connection=redis)[0]
            if job is None or job.get_status(refresh=False) != JobStatus.FINISHED:
                enqueue_finalize(redis, version.id)
                report.versions_finalized += 1


def _give_turns(settings: Settings, redis: Redis, report: ReconcileReport) -> None:
    for owner in owners_with_waiting_pages():
        report.pages_given_turns += queue_waiting_pages(redis, settings, owner)


def index_job_id(document_id: int) -> str:
    return f"index-{document_id}"


def _requeue_index(redis: Redis, report: ReconcileReport) -> None:
    owed = documents_behind(GRACE)
    if not owed:
        return
    alive = _live_jobs(redis, [index_job_id(document_id) for document_id, _ in owed])
    jobs = [
        Queue.prepare_data(
            INDEX_DOCUMENT,
            args=(document_id,),
            kwargs={"owed_only": True},
            job_id=index_job_id(document_id),
            timeout=600,
        )
        for document_id, revision in owed
        if index_job_id(document_id) not in alive and asked_again(document_id, revision)
    ]
    if jobs:
        Queue(INDEX_QUEUE, connection=redis).enqueue_many(jobs)
        report.documents_reindexed += len(jobs)


def reconcile(settings: Settings, redis: Redis) -> ReconcileReport:
    """One pass; returns what it re-enqueued."""
    report = ReconcileReport()
    _requeue_pages(settings, redis, report)
    _give_turns(settings, redis, report)
    _refinalize(redis, report)
    _requeue_index(redis, report)
    return report
