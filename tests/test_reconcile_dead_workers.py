"""A job RQ still holds as started counts as alive only while its worker's heartbeat lasts:
a worker killed with its host mid-job (the final step of a document) would otherwise keep
the job started for its whole timeout, and the document PROCESSING for an hour."""

from __future__ import annotations

from typing import Any

from rq import Queue
from rq.job import JobStatus

from archivist.core.reconcile import WORKER_ALIVE_KEY, _live_jobs, worker_heartbeat
from archivist.core.settings import Settings


def test_a_started_job_lives_as_long_as_its_workers_heartbeat(
    settings: Settings, redis_client: Any
) -> None:
    queue = Queue("documents", connection=redis_client)
    job = queue.enqueue("archivist.jobs.pipeline.finalize_version", 1, job_id="finalize-1")
    assert _live_jobs(redis_client, ["finalize-1"]) == {"finalize-1"}  # queued
    job.set_status(JobStatus.STARTED)
    job.worker_name = "w1"
    job.save()
    worker_heartbeat(redis_client, settings, "w1")
    assert 10 <= redis_client.ttl(WORKER_ALIVE_KEY.format("w1")) <= 3 * settings.reconcile_interval
    assert _live_jobs(redis_client, ["finalize-1"]) == {"finalize-1"}
    redis_client.delete(WORKER_ALIVE_KEY.format("w1"))  # its heartbeat ran out: w1 is gone
    assert _live_jobs(redis_client, ["finalize-1"]) == set()
