"""The worker process: ``archivist worker`` serves the Archivist queues.

It is an RQ ``SimpleWorker``: jobs run in the worker process itself instead of a fork per job,
so the OCR model is loaded once per worker and stays loaded (a fork would lose it, and forking
after torch has started its thread pools is unsafe). A crash takes the worker down with the
job; the page's lease then runs out and the reconciler hands it to another worker.

Each worker also runs the reconciler every ``ARCHIVIST_RECONCILE_INTERVAL`` seconds; a Redis
lock makes sure only one worker at a time does.
"""

from __future__ import annotations

import logging
import threading

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker

from archivist.core.db import configure_database, with_connection
from archivist.core.queue import QUEUES, redis_connection
from archivist.core.reconcile import reconcile
from archivist.core.settings import Settings

logger = logging.getLogger("archivist.worker")
RECONCILE_LOCK = "archivist:reconcile-lock"


def _reconcile_forever(settings: Settings, redis: Redis, stop: threading.Event) -> None:
    run = with_connection(reconcile)
    while not stop.wait(settings.reconcile_interval):
        try:
            if redis.set(RECONCILE_LOCK, "1", nx=True, ex=max(1, settings.reconcile_interval)):
                report = run(settings, redis)
                if report.pages_requeued or report.versions_finalized:
                    logger.info("reconciler: %s", report)
        except RedisError as error:
            logger.warning("reconciler: Redis unavailable: %s", error)
        except Exception:  # the reconciler must never take the worker down
            logger.exception("reconciler failed")


def run(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    """Serve jobs until stopped (or, with ``burst``, until the queues are empty)."""
    configure_database(settings.database_url)
    connection = redis_connection(settings)
    queues = [Queue(queue_name, connection=connection) for queue_name in QUEUES]
    worker = SimpleWorker(queues, connection=connection, name=name)
    stop = threading.Event()
    reconciler = threading.Thread(
        target=_reconcile_forever, args=(settings, connection, stop), daemon=True
    )
    if not burst:
        reconciler.start()
    try:
        return bool(worker.work(burst=burst, with_scheduler=True))
    finally:
        stop.set()
