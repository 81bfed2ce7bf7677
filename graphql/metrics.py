"""``/metrics`` in Prometheus' text format: the API's requests and the workers' pages.

Two sources, one page:

- **The API's own**, kept in this process (one registry per app): GraphQL requests by
  operation (the root field asked for, or ``several``; never the client's operation name,
  which is free text) and outcome, with a latency histogram; open subscriptions.
- **The workers' and the queue's**, read on every scrape by :class:`ArchivistCollector`:
  pages processed and failed per engine and OCR seconds per page (counters the workers keep
  in Redis, see :mod:`archivist.core.metrics`: workers are other processes, often on other
  machines), jobs per queue and state, workers by state, pages waiting their turn (database),
  the search index's size on disk and documents owing index work.

Reading ``/metrics`` takes ``ARCHIVIST_METRICS_TOKEN`` as a bearer token or an address in
``ARCHIVIST_METRICS_ALLOW`` (the decision is :func:`archivist.core.permissions.
may_scrape_metrics`'s): 403 otherwise. With neither set the route answers 404.
"""

from __future__ import annotations

import contextvars
import os
import time
from collections.abc import AsyncGenerator, Callable, Iterator
from inspect import isawaitable
from pathlib import Path
from typing import Any

from graphql import FieldNode, GraphQLResolveInfo, GraphQLSchema
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.registry import Collector
from redis.exceptions import RedisError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from archivist.core import metrics as worker_metrics
from archivist.core import queue_overview
from archivist.core.db import run_db
from archivist.core.models import Document, Page
from archivist.core.permissions import may_scrape_metrics
from archivist.core.queue import redis_connection
from archivist.core.settings import Settings
from archivist.core.users import AuthenticationError
from archivist.graphql.context import bearer_token
from archivist.graphql.handlers import ArchivistHTTPHandler

REFUSED = "refused"  # parse, validation or a query limit: nothing ran
INTERNAL_CODES = frozenset({"INTERNAL_SERVER_ERROR", "DATABASE_UNAVAILABLE"})
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

# The root field(s) of the operation this request runs, noted by :func:`note_operation`.
_operation: contextvars.ContextVar[list[tuple[str, str]] | None] = contextvars.ContextVar(
    "archivist_operation", default=None
)


class ApiMetrics:
    """The metrics of one app: its registry, request and subscription instruments."""

    def __init__(self, settings: Settings) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "archivist_graphql_requests",
            "GraphQL requests over HTTP by operation (root field, or 'several'), its type "
            "and outcome (ok, error, internal_error, refused).",
            ["operation", "type", "outcome"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "archivist_graphql_request_seconds",
            "Seconds to answer a GraphQL request over HTTP, by operation and type.",
            ["operation", "type"],
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self.subscriptions = Gauge(
            "archivist_subscriptions",
            "GraphQL subscriptions open now in this API process, by field.",
            ["subscription"],
            registry=self.registry,
        )
        self.registry.register(ArchivistCollector(settings))

    def observe(self, operation: str, kind: str, outcome: str, seconds: float) -> None:
        self.requests.labels(operation, kind, outcome).inc()
        self.latency.labels(operation, kind).observe(seconds)

    def count_subscriptions(self, schema: GraphQLSchema) -> None:
        """Wrap every subscription field's source so that open ones are counted."""
        if schema.subscription_type is None:
            return
        for name, field in schema.subscription_type.fields.items():
            if field.subscribe is not None:
                field.subscribe = self._counted(field.subscribe, name)

    def _counted(self, subscribe: Callable[..., Any], name: str) -> Callable[..., Any]:
        gauge = self.subscriptions.labels(name)

        async def counted(*args: Any, **kwargs: Any) -> AsyncGenerator[Any, None]:
            source = subscribe(*args, **kwargs)
            if isawaitable(source):
                source = await source
            gauge.inc()
            try:
                async for event in source:
                    yield event
            finally:
                gauge.dec()
                close = getattr(source, "aclose", None)
                if close is not None:
                    await close()

        return counted


def note_operation(
    resolve: Callable[..., Any], root: Any, info: GraphQLResolveInfo, **kwargs: Any
) -> Any:
    """GraphQL middleware: note which root fields this request's operation asks for."""
    noted = _operation.get() if info.path.prev is None else None  # root fields only
    if noted is not None and not noted:
        fields = {
            selection.name.value
            for selection in info.operation.selection_set.selections
            if isinstance(selection, FieldNode)
        }
        operation = fields.pop() if len(fields) == 1 else "several"
        noted.append((operation, info.operation.operation.value))
    return resolve(root, info, **kwargs)


def _outcome(success: bool, result: Any) -> str:
    if not isinstance(result, dict):
        return "error"
    errors = result.get("errors") or []
    if not errors:
        return "ok" if success else "error"
    if "data" not in result:
        return REFUSED
    codes = {(error.get("extensions") or {}).get("code") for error in errors}
    return "internal_error" if codes & INTERNAL_CODES else "error"


class MeasuredHTTPHandler(ArchivistHTTPHandler):
    """The app's HTTP handler, counting and timing every GraphQL request it answers."""

    def __init__(self, *args: Any, metrics: ApiMetrics, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.metrics = metrics

    async def execute_graphql_query(self, request: Any, data: Any, **kwargs: Any) -> Any:
        noted: list[tuple[str, str]] = []
        token = _operation.set(noted)
        started = time.perf_counter()
        success, result = False, None
        try:
            success, result = await super().execute_graphql_query(request, data, **kwargs)
            return success, result
        finally:
            _operation.reset(token)
            operation, kind = noted[0] if noted else ("unknown", "unknown")
            outcome = _outcome(success, result) if result is not None else "internal_error"
            self.metrics.observe(operation, kind, outcome, time.perf_counter() - started)


def _directory_size(path: Path) -> int:
    total = 0
    for folder, _dirs, files in os.walk(path):
        for name in files:
            try:
                total += (Path(folder) / name).stat().st_size
            except OSError:
                continue  # replaced while we walked (a writer's temporary file)
    return total


class ArchivistCollector(Collector):
    """What the workers did and what waits, read when ``/metrics`` is scraped.

    Runs in a thread with a database connection (see :func:`metrics_route`). A Redis outage
    shows as ``archivist_redis_up 0`` with the Redis-based families left out.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def describe(self) -> list[Metric]:
        return []  # families are known only when collected (engines, queues)

    def collect(self) -> Iterator[Metric]:
        yield from self._redis_families()
        waiting = GaugeMetricFamily(
            "archivist_pages_waiting",
            "Pages waiting their turn in the database (fair scheduling), not yet queued.",
        )
        waiting.add_metric(
            [], Page.select().where((Page.status == Page.PENDING) & Page.job_id.is_null()).count()
        )
        yield waiting
        behind = GaugeMetricFamily(
            "archivist_index_documents_behind", "Documents whose index entries are owed."
        )
        behind.add_metric(
            [], Document.select().where(Document.indexed_revision < Document.index_revision).count()
        )
        yield behind
        if self.settings.xapian_remote is None:  # a remote index's disk is the index host's
            size = GaugeMetricFamily(
                "archivist_index_size_bytes", "Bytes the search index takes on disk."
            )
            size.add_metric([], _directory_size(self.settings.index_dir))
            yield size

    def _redis_families(self) -> Iterator[Metric]:
        up = GaugeMetricFamily("archivist_redis_up", "Whether Redis answered this scrape.")
        if self.settings.redis_url is None:
            up.add_metric([], 0)
            yield up
            return
        redis = redis_connection(self.settings)
        try:
            counters = worker_metrics.read_counters(redis)
            queues = queue_overview.queue_counts(redis)
            workers = queue_overview.list_workers(redis)
        except RedisError:
            up.add_metric([], 0)
            yield up
            return
        finally:
            redis.close()
        up.add_metric([], 1)
        yield up
        processed = CounterMetricFamily(
            "archivist_pages_processed",
            "Pages read by all workers, by engine (an OCR engine, text_layer or none).",
            labels=["engine"],
        )
        for engine, value in sorted(counters.processed.items()):
            processed.add_metric([engine], value)
        yield processed
        failed = CounterMetricFamily(
            "archivist_pages_failed",
            "Pages that failed for good, by the engine asked for (none: OCR off).",
            labels=["engine"],
        )
        for engine, value in sorted(counters.failed.items()):
            failed.add_metric([engine], value)
        yield failed
        ocr = HistogramMetricFamily(
            "archivist_ocr_seconds", "Seconds one page's OCR took, by engine.", labels=["engine"]
        )
        for engine, histogram in sorted(counters.ocr.items()):
            ocr.add_metric([engine], histogram.buckets, sum_value=histogram.total)
        yield ocr
        jobs = GaugeMetricFamily(
            "archivist_queue_jobs", "Jobs per queue and state.", labels=["queue", "state"]
        )
        for queue in queues:
            for state in queue_overview.JOB_STATES:
                jobs.add_metric([queue.name, state], getattr(queue, state))
        yield jobs
        by_state = GaugeMetricFamily(
            "archivist_workers", "Registered workers by state.", labels=["state"]
        )
        states: dict[str, int] = {"busy": 0, "idle": 0}
        for worker in workers:
            states[worker.state] = states.get(worker.state, 0) + 1
        for state, count in sorted(states.items()):
            by_state.add_metric([state], count)
        yield by_state


def metrics_route(settings: Settings, metrics: ApiMetrics) -> Callable[[Request], Any]:
    """The ``/metrics`` endpoint for this app (see the module docstring for who may read it)."""

    async def endpoint(request: Request) -> Response:
        if settings.metrics_token is None and not settings.metrics_allow:
            return PlainTextResponse("Not Found", status_code=404)
        try:
            token = bearer_token(request.headers.get("authorization"))
        except AuthenticationError:
            token = None
        client = request.client.host if request.client else None
        if not may_scrape_metrics(settings, client, token):
            return PlainTextResponse(
                "Forbidden: send 'Authorization: Bearer <ARCHIVIST_METRICS_TOKEN>' "
                "or scrape from an address in ARCHIVIST_METRICS_ALLOW.",
                status_code=403,
            )
        body = await run_db(generate_latest, metrics.registry)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    return endpoint
