"""The queue window and /metrics with real workers: a failed job seen, retried and done; the
workers' counters (kept in Redis) on /metrics once a document is read.

Workers and the API's OCR engine are Tesseract here, so that a scanned page is OCR'd in about
a second and the workers start without loading EasyOCR.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client.parser import text_string_to_metric_families
from samples import mixed_pdf, text_pdf
from starlette.testclient import TestClient
from support import graphql, login, row_id, upload

from archivist.core.db import database
from archivist.core.models import DocumentVersion
from archivist.core.settings import Settings
from archivist.core.storage import Storage

pytestmark = pytest.mark.slow

METRICS_TOKEN = "scrape-me-0123456789abcdef"
FAILED_JOBS = """{ workQueue { queues { name failedCount
  jobs(state: FAILED) { totalCount edges { node { jobId function description state error
    retriesLeft endedAt workerName } } } }
  workers { name state queues } } }"""
STATUS = "query($id: ID!) { document(id: $id) { status error queuePosition { pagesAhead } } }"


@pytest.fixture
def app(settings: Settings, redis_client: Any) -> Iterator[TestClient]:
    from archivist.graphql.app import create_app

    # The API enqueues the jobs, so its retry policy is theirs: tried three times, at once.
    configured = dataclasses.replace(
        settings, metrics_token=METRICS_TOKEN, ocr_engine="tesseract", retry_intervals=(0, 0)
    )
    with TestClient(create_app(configured)) as client:
        yield client


@pytest.fixture
def tokens(app: TestClient, make_user) -> dict[str, str]:
    make_user("root", superuser=True)
    make_user("alice")
    return {name: login(app, name) for name in ("root", "alice")}


def _wait_status(app: TestClient, token: str, document_id: str, timeout: float = 120) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        document = graphql(app, STATUS, {"id": document_id}, token=token)["data"]["document"]
        if document["status"] != "PROCESSING":
            return document
        time.sleep(0.3)
    raise AssertionError(f"document {document_id} still processing after {timeout} s")


def _samples(app: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    response = app.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert response.status_code == 200
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(response.text)
        for sample in family.samples
    }


def test_an_administrator_sees_a_failed_job_and_retries_it(
    app: TestClient, tokens: dict[str, str], workers, redis_client, settings, tmp_path: Path
) -> None:
    source = text_pdf(tmp_path / "letter.pdf", [["Dear", "archive", "keeper"]])
    body = upload(app, tokens["alice"], "letter.pdf", source.read_bytes(), {"mode": "OFF"})
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    storage = Storage(settings.storage_dir)
    with database.connection_context():
        version = DocumentVersion.get(DocumentVersion.document == row_id(document_id))
    storage.path(version.file_hash).unlink()  # a lost volume: every try of the page fails
    workers.start("w1", ARCHIVIST_OCR_ENGINE="tesseract")
    assert _wait_status(app, tokens["alice"], document_id)["status"] == "FAILED"

    assert (
        graphql(app, FAILED_JOBS, token=tokens["alice"])["errors"][0]["extensions"]["code"]
        == "FORBIDDEN"
    )
    seen = graphql(app, FAILED_JOBS, token=tokens["root"])
    assert "errors" not in seen, seen
    pages = next(q for q in seen["data"]["workQueue"]["queues"] if q["name"] == "pages")
    assert pages["failedCount"] == 1 and pages["jobs"]["totalCount"] == 1
    job = pages["jobs"]["edges"][0]["node"]
    assert (job["function"], job["state"], job["retriesLeft"]) == ("process_page", "FAILED", 0)
    assert job["error"] and job["endedAt"] and job["workerName"] == "w1"
    assert job["description"].startswith("process_page(")
    assert [(w["name"], w["queues"]) for w in seen["data"]["workQueue"]["workers"]] == [
        ("w1", ["documents", "index", "pages"])
    ]
    retry = "mutation($id: String!) { retryJob(jobId: $id) { ok errors { code message } } }"
    refused = graphql(app, retry, {"id": job["jobId"]}, token=tokens["alice"])
    assert refused["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    assert storage.put(source) == version.file_hash  # the volume is back
    retried = graphql(app, retry, {"id": job["jobId"]}, token=tokens["root"])
    assert retried["data"]["retryJob"] == {"ok": True, "errors": []}
    assert _wait_status(app, tokens["alice"], document_id)["status"] == "READY"
    # Asked again: the fields of one answer are read one after another, so the answer that
    # first says READY may hold a queue position read just before the page ended.
    document = graphql(app, STATUS, {"id": document_id}, token=tokens["alice"])["data"]
    assert document["document"] == {"status": "READY", "error": None, "queuePosition": None}
    again = graphql(app, retry, {"id": job["jobId"]}, token=tokens["root"])["data"]["retryJob"]
    assert again["errors"][0]["code"] == "JOB_NOT_FOUND"
    after = graphql(app, FAILED_JOBS, token=tokens["root"])["data"]["workQueue"]["queues"]
    assert all(queue["failedCount"] == 0 for queue in after)

    samples = _samples(app)
    assert samples[("archivist_pages_failed_total", (("engine", "none"),))] == 1
    assert samples[("archivist_pages_processed_total", (("engine", "text_layer"),))] == 1


def test_discarding_a_failed_job(
    app: TestClient, tokens: dict[str, str], workers, redis_client, settings, tmp_path: Path
) -> None:
    source = text_pdf(tmp_path / "note.pdf", [["A", "short", "note"]])
    body = upload(app, tokens["alice"], "note.pdf", source.read_bytes(), {"mode": "OFF"})
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    storage = Storage(settings.storage_dir)
    with database.connection_context():
        version = DocumentVersion.get(DocumentVersion.document == row_id(document_id))
    storage.path(version.file_hash).unlink()
    workers.start("w2", ARCHIVIST_OCR_ENGINE="tesseract")
    assert _wait_status(app, tokens["alice"], document_id)["status"] == "FAILED"
    seen = graphql(app, FAILED_JOBS, token=tokens["root"])["data"]["workQueue"]["queues"]
    job_id = next(q for q in seen if q["name"] == "pages")["jobs"]["edges"][0]["node"]["jobId"]
    discard = "mutation($id: String!) { discardJob(jobId: $id) { ok errors { code } } }"
    assert graphql(app, discard, {"id": job_id}, token=tokens["root"])["data"]["discardJob"] == {
        "ok": True,
        "errors": [],
    }
    after = graphql(app, FAILED_JOBS, token=tokens["root"])["data"]["workQueue"]["queues"]
    assert all(queue["failedCount"] == 0 for queue in after)
    assert _wait_status(app, tokens["alice"], document_id)["status"] == "FAILED"  # unchanged


def test_metrics_show_the_pages_the_workers_read(
    app: TestClient, tokens: dict[str, str], workers, redis_client, tmp_path: Path
) -> None:
    content = mixed_pdf(tmp_path / "mixed.pdf").read_bytes()
    body = upload(app, tokens["alice"], "mixed.pdf", content, {"languages": ["en"]})
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    before = _samples(app)
    assert before[("archivist_queue_jobs", (("queue", "pages"), ("state", "queued")))] == 2
    assert before[("archivist_pages_waiting", ())] == 1  # the owner's window is 2 pages
    workers.start("reader", ARCHIVIST_OCR_ENGINE="tesseract")
    workers.wait_registered(redis_client, 1)
    assert _wait_status(app, tokens["alice"], document_id)["status"] == "READY"

    samples = _samples(app)
    assert samples[("archivist_redis_up", ())] == 1
    # One page took its text layer; the two scanned ones were OCR'd by Tesseract.
    assert samples[("archivist_pages_processed_total", (("engine", "text_layer"),))] == 1
    assert samples[("archivist_pages_processed_total", (("engine", "tesseract"),))] == 2
    assert samples[("archivist_ocr_seconds_count", (("engine", "tesseract"),))] == 2
    assert samples[("archivist_ocr_seconds_bucket", (("engine", "tesseract"), ("le", "+Inf")))] == 2
    assert 0 < samples[("archivist_ocr_seconds_sum", (("engine", "tesseract"),))] < 120
    assert samples[("archivist_pages_waiting", ())] == 0
    assert (
        samples[("archivist_workers", (("state", "idle"),))]
        + samples.get(("archivist_workers", (("state", "busy"),)), 0)
        == 1
    )
    uploads = ("archivist_graphql_requests_total",
               (("operation", "uploadDocument"), ("outcome", "ok"), ("type", "mutation")))  # fmt: skip
    assert samples[uploads] == 1
    # The index job of the finished document ran (or is about to): the index has a size.
    deadline = time.monotonic() + 60
    while samples[("archivist_index_size_bytes", ())] == 0 and time.monotonic() < deadline:
        time.sleep(0.5)
        samples = _samples(app)
    assert samples[("archivist_index_size_bytes", ())] > 0
