"""The worker process: ``archivist worker`` serves the Archivist queues.

It is an RQ ``SimpleWorker``: jobs run in the worker process itself instead of a fork per job,
so the OCR model is loaded once per worker and stays loaded (a fork would lose it, and forking
after torch has started its thread pools is unsafe). A crash takes the worker down with the
job; the page's lease then runs out and the reconciler hands it to another worker.

Each worker also runs the reconciler every ``ARCHIVIST_RECONCILE_INTERVAL`` seconds; a Redis
lock makes sure only one worker at a time does. A thread of its own renews the worker's
heartbeat key, so that the reconciler can tell a job whose worker died holding it (its host
killed or cut off) from one still running (see archivist.core.reconcile).

A Redis outage does not end the worker: RQ's loop gives up on a connection error, so the
worker logs the outage, waits for Redis with growing pauses (1 s up to 30 s), logs its return
and serves again as a fresh RQ worker, with a fresh scheduler (the process that moves retries
waiting in ``rq:scheduled:*`` to their queue dies with the connection). RQ checks its scheduler
every ``SCHEDULER_CHECK`` seconds, so a scheduler lost in a blip is started again soon.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import threading
import time
import uuid
from types import FrameType
from typing import Any

from redis import Redis
from redis.exceptions import RedisError
from rq import Queue, SimpleWorker

from archivist.core.db import configure_database, with_connection
from archivist.core.queue import QUEUES, redis_connection
from archivist.core.reconcile import heartbeat_ttl, reconcile, worker_heartbeat
from archivist.core.settings import Settings
from archivist.core.storage import Storage

logger = logging.getLogger("archivist.worker")
RECONCILE_LOCK = "archivist:reconcile-lock"
MAX_BACKOFF = 30.0  # seconds between tries to reach Redis, at most
SWEEP_INTERVAL = 600.0  # seconds between sweeps of stale scratch folders
SCHEDULER_CHECK = 30  # seconds between RQ's checks that its scheduler runs (RQ's default: 600)


def _reconcile_forever(settings: Settings, redis: Redis, stop: threading.Event) -> None:
    run = with_connection(reconcile)
    storage = Storage(settings.storage_dir)
    redis_down = False
    next_sweep = 0.0
    while not stop.wait(settings.reconcile_interval):
        try:
            if time.monotonic() >= next_sweep:
                next_sweep = time.monotonic() + SWEEP_INTERVAL
                swept = storage.sweep_scratch()
                if swept:
                    logger.info("removed %d stale scratch folder(s) from storage", swept)
            if redis.set(RECONCILE_LOCK, "1", nx=True, ex=max(1, settings.reconcile_interval)):
                report = run(settings, redis)
                if report.anything:
                    logger.info("reconciler: %s", report)
            if redis_down:
                logger.warning("reconciler: Redis is back")
            redis_down = False
        except RedisError as error:
            if not redis_down:  # one line per outage, not one per pass
                logger.warning("reconciler: Redis unavailable (%s); waiting for it", error)
            redis_down = True
        except Exception:  # the reconciler must never take the worker down
            logger.exception("reconciler failed")


def _beat_forever(settings: Settings, redis: Redis, name: str, stop: threading.Event) -> None:
    period = heartbeat_ttl(settings) / 3
    while True:
        with contextlib.suppress(RedisError):  # an outage: the reconciler says so
            worker_heartbeat(redis, settings, name)
        if stop.wait(period):
            return


def _wait_for_redis(redis: Redis, stop: threading.Event) -> bool:
    """Ping until Redis answers (True) or the worker is told to stop (False)."""
    delay = 1.0
    while not stop.is_set():
        try:
            redis.ping()
            return True
        except RedisError as error:
            logger.warning("Redis unavailable (%s); trying again in %.0f s", error, delay)
        stop.wait(delay)
        delay = min(delay * 2, MAX_BACKOFF)
    return False


def _stop_on_signal(stop: threading.Event) -> dict[int, Any]:
    """While no RQ worker is serving, SIGTERM and SIGINT stop the wait for Redis."""

    def handler(signum: int, frame: FrameType | None) -> None:
        stop.set()

    return {sig: signal.signal(sig, handler) for sig in (signal.SIGTERM, signal.SIGINT)}


def _retire(worker: SimpleWorker) -> None:
    """Clean up after an RQ worker whose loop ended on an error (best effort)."""
    with contextlib.suppress(Exception):
        if worker.scheduler is not None:
            worker.stop_scheduler()
    with contextlib.suppress(RedisError):
        worker.register_death()


def _log_to_stderr() -> None:
    # RQ logs its own lines; ours (the OCR device, the reconciler) need a handler too.
    archivist_logger = logging.getLogger("archivist")
    if not archivist_logger.handlers:
        handler = logging.StreamHandler()
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s", "%H:%M:%S"))
        archivist_logger.addHandler(handler)
        archivist_logger.setLevel(logging.INFO)


def load_ocr_engine(settings: Settings) -> None:
    """Load the OCR model now (not on the first page) and log which runtime and device it
    uses. A model that cannot load is logged, not fatal: its pages then fail with the reason."""
    from archivist.jobs.ocr_engines import EasyOcrEngine
    from archivist.jobs.pipeline import ocr_engine

    try:
        engine = ocr_engine(settings, settings.ocr_engine)
        if isinstance(engine, EasyOcrEngine):
            engine.load(settings.ocr_languages)
            logger.info("OCR: %s", engine.describe())
        else:
            logger.info("OCR: %s", engine.name)
    except (RuntimeError, ValueError) as error:  # OcrError, or ONNX Runtime's on a bad file
        logger.error("OCR engine %s cannot load: %s", settings.ocr_engine, error)


def run(settings: Settings, *, burst: bool = False, name: str | None = None) -> bool:
    """Serve jobs until stopped (or, with ``burst``, until the queues are empty).

    Rides out Redis outages (see the module docstring); a burst run raises on one instead.
    """
    configure_database(settings.database_url)
    _log_to_stderr()
    load_ocr_engine(settings)
    connection = redis_connection(settings)
    queues = [Queue(queue_name, connection=connection) for queue_name in QUEUES]
    stop = threading.Event()
    name = name or uuid.uuid4().hex  # one name across reconnections: the heartbeat's
    threading.Thread(
        target=_beat_forever, args=(settings, connection, name, stop), daemon=True
    ).start()
    reconciler = threading.Thread(
        target=_reconcile_forever, args=(settings, connection, stop), daemon=True
    )
    if not burst:
        reconciler.start()
    try:
        while True:
            worker = SimpleWorker(
                queues, connection=connection, name=name, maintenance_interval=SCHEDULER_CHECK
            )
            started = time.monotonic()
            try:
                worked = bool(worker.work(burst=burst, with_scheduler=True))
                if burst or worker._shutdown_requested_date is not None:
                    return worked
                reason = "its loop stopped on an error"
            except RedisError as error:
                if burst:
                    raise
                reason = f"Redis failed: {error}"
            logger.warning("worker %s: %s; reconnecting", worker.name, reason)
            previous = _stop_on_signal(stop)
            try:
                _retire(worker)
                if time.monotonic() - started < MAX_BACKOFF:
                    stop.wait(2.0)  # an error right after starting: do not spin
                if not _wait_for_redis(connection, stop):
                    return False
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
            logger.warning("worker %s: Redis is back; serving again", worker.name)
    finally:
        stop.set()
