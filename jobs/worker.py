"""The worker process: ``archivist worker`` runs an RQ worker over the Archivist queues."""

from __future__ import annotations

from rq import Queue, Worker

from archivist.core.db import configure_database
from archivist.core.queue import redis_connection
from archivist.core.settings import Settings

QUEUES = ("default",)


def run(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    """Serve jobs until stopped (or, with ``burst``, until the queues are empty)."""
    configure_database(settings.database_url)
    connection = redis_connection(settings)
    queues = [Queue(queue_name, connection=connection) for queue_name in QUEUES]
    worker = Worker(queues, connection=connection, name=name)
    return bool(worker.work(burst=burst, with_scheduler=True))
