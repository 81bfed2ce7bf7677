"""The reconciler: the database says what must happen; make sure the queue knows.

A page that is pending with no live job (Redis was flushed or restarted, an enqueue failed),
or processing under a lease nobody renewed (its worker was killed), gets a new job. A version
whose pages are all finished but whose final step is lost gets it again. Running it often is
cheap and safe: a re-enqueued page that another job finishes first is simply skipped.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from redis import Redis
from rq.job import Job, JobStatus

from archivist.core.db import utcnow
from archivist.core.models import Document, DocumentVersion, Node, Page
from archivist.core.processing import current_version, take_finalize_turn
from archivist.core.queue import enqueue_finalize, enqueue_pages, new_page_job_id
from archivist.core.settings import Settings

ALIVE = {JobStatus.QUEUED, JobStatus.STARTED, JobStatus.DEFERRED, JobStatus.SCHEDULED}
# A page created this recently may not be enqueued yet by the upload that created it.
GRACE = timedelta(seconds=10)
BATCH = 500


@dataclass
class ReconcileReport:
    pages_requeued: int = 0
    versions_finalized: int = 0

    def __str__(self) -> str:
        return (
            f"re-enqueued {self.pages_requeued} page(s), "
            f"re-enqueued the final step of {self.versions_finalized} version(s)"
        )


def _live_jobs(redis: Redis, job_ids: list[str]) -> set[str]:
    alive = set()
    for job in Job.fetch_many(job_ids, connection=redis):
        if job is not None and job.get_status(refresh=False) in ALIVE:
            alive.add(job.id)
    return alive


def _requeue_pages(settings: Settings, redis: Redis, report: ReconcileReport) -> None:
    now = utcnow()
    stale = (
        Page.select(Page.id, Page.job_id, Page.status)
        .join(DocumentVersion)
        .where(
            (
                (Page.status == Page.PENDING)
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


def reconcile(settings: Settings, redis: Redis) -> ReconcileReport:
    """One pass; returns what it re-enqueued."""
    report = ReconcileReport()
    _requeue_pages(settings, redis, report)
    _refinalize(redis, report)
    return report
