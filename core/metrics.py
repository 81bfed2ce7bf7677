"""Workers' counters, kept in Redis so that the API's ``/metrics`` can show them.

Workers are separate processes, often on other machines, and RQ workers come and go; a
per-process Prometheus registry would vanish with each of them and could not be scraped
behind the API. So a worker adds what it did to one Redis hash (:data:`KEY`, in the Redis
database Archivist uses) with ``HINCRBY``/``HINCRBYFLOAT``, atomically in one round trip,
and the API reads the hash on every scrape (``archivist.graphql.metrics``). The counters are
cumulative across all workers; a Redis flush resets them, which Prometheus reads as a counter
reset, as it would a restart. Recording never fails a job: a Redis error is logged.

Each hash field is ``<metric>|<label>=<value>[|le=<bucket>]``. Histograms keep one count per
bucket (not cumulative: the reader adds them up), ``_sum`` and ``_count``.
"""

from __future__ import annotations

import logging
import math
from collections import defaultdict
from dataclasses import dataclass, field

from redis import Redis
from redis.exceptions import RedisError

logger = logging.getLogger("archivist.metrics")

KEY = "archivist:metrics"

PAGES_PROCESSED = "pages_processed"
PAGES_FAILED = "pages_failed"
OCR_SECONDS = "ocr_seconds"
# Seconds one page's OCR may take, from a fast Tesseract page to a slow EasyOCR one on CPU.
OCR_BUCKETS = (0.5, 1.0, 2.5, 5.0, 10.0, 20.0, 40.0, 80.0, 160.0, 320.0, math.inf)
# The label values a page's reader can have besides an OCR engine's name.
TEXT_LAYER = "text_layer"
NO_TEXT = "none"


def _field(metric: str, engine: str, le: float | None = None) -> str:
    name = f"{metric}|engine={engine}"
    return name if le is None else f"{name}|le={_bucket_text(le)}"


def _bucket_text(le: float) -> str:
    return "+Inf" if math.isinf(le) else repr(float(le))


def _record(redis: Redis | None, increments: dict[str, float]) -> None:
    if redis is None:
        return
    try:
        with redis.pipeline(transaction=True) as pipe:
            for name, amount in increments.items():
                if isinstance(amount, int):
                    pipe.hincrby(KEY, name, amount)
                else:
                    pipe.hincrbyfloat(KEY, name, amount)
            pipe.execute()
    except RedisError as error:
        logger.warning("could not record worker metrics: %s", error)


def page_processed(redis: Redis | None, engine: str) -> None:
    """Count a page read by ``engine`` (an OCR engine, ``text_layer`` or ``none``)."""
    _record(redis, {_field(PAGES_PROCESSED, engine): 1})


def page_failed(redis: Redis | None, engine: str) -> None:
    """Count a page that failed for good; ``engine``: the one asked for, or ``none``."""
    _record(redis, {_field(PAGES_FAILED, engine): 1})


def ocr_observed(redis: Redis | None, engine: str, seconds: float) -> None:
    """Add one page's OCR time to the histogram of ``engine``."""
    bucket = next(le for le in OCR_BUCKETS if seconds <= le)
    _record(
        redis,
        {
            _field(OCR_SECONDS, engine, bucket): 1,
            f"{OCR_SECONDS}_sum|engine={engine}": float(seconds),
            f"{OCR_SECONDS}_count|engine={engine}": 1,
        },
    )


@dataclass
class Histogram:
    """One engine's OCR times as Prometheus wants them: cumulative buckets, sum, count."""

    buckets: list[tuple[str, float]] = field(default_factory=list)
    total: float = 0.0
    count: float = 0.0


@dataclass
class WorkerCounters:
    """What every worker recorded, by engine."""

    processed: dict[str, float] = field(default_factory=dict)
    failed: dict[str, float] = field(default_factory=dict)
    ocr: dict[str, Histogram] = field(default_factory=dict)


def read_counters(redis: Redis) -> WorkerCounters:
    """The workers' counters now. Raises ``RedisError`` when Redis cannot be reached."""
    raw = redis.hgetall(KEY)
    counters = WorkerCounters()
    per_bucket: dict[str, dict[str, float]] = defaultdict(dict)
    sums: dict[str, float] = {}
    counts: dict[str, float] = {}
    for key, value in raw.items():
        parts = (key.decode() if isinstance(key, bytes) else str(key)).split("|")
        labels = dict(part.split("=", 1) for part in parts[1:] if "=" in part)
        engine = labels.get("engine", "")
        number = float(value)
        metric = parts[0]
        if metric == PAGES_PROCESSED:
            counters.processed[engine] = number
        elif metric == PAGES_FAILED:
            counters.failed[engine] = number
        elif metric == OCR_SECONDS and "le" in labels:
            per_bucket[engine][labels["le"]] = number
        elif metric == f"{OCR_SECONDS}_sum":
            sums[engine] = number
        elif metric == f"{OCR_SECONDS}_count":
            counts[engine] = number
    for engine in set(per_bucket) | set(counts):
        histogram = Histogram(total=sums.get(engine, 0.0), count=counts.get(engine, 0.0))
        running = 0.0
        for le in OCR_BUCKETS:
            running += per_bucket[engine].get(_bucket_text(le), 0.0)
            histogram.buckets.append((_bucket_text(le), running))
        counters.ocr[engine] = histogram
    return counters
