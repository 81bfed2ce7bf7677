"""The whole pipeline with real parts: API server, RQ workers, Redis, EasyOCR, websocket.

A 3-page PDF (one page with a text layer, two scanned) is uploaded; two workers share its pages;
progress arrives over graphql-transport-ws; the text, the searchable PDF and the failure modes
(a worker killed mid-page, Redis flushed mid-document) are checked against the database.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx2 as httpx
import pypdfium2
import pytest
from samples import SCANNED_LINES, TEXT_LAYER_WORDS, mixed_pdf
from support import LOGIN, TEST_PASSWORD, character_error_rate, gid, row_id, upload
from websockets.sync.client import connect

from archivist.core.db import database
from archivist.core.models import Document, DocumentVersion, Page

pytestmark = pytest.mark.slow

DOCUMENT = """
query Doc($id: ID!) {
  node(id: $id) {
    ... on Document {
      status error pageCount downloadUrl
      versions { number hasTextLayer note }
      pages { totalCount edges { node { number status text source engine worker } } }
    }
  }
}
"""


class Api:
    def __init__(self, base: str, token: str) -> None:
        self.base = base
        self.token = token
        self.http = httpx.Client(base_url=base, timeout=60)

    def query(self, query: str, variables: dict[str, Any] | None = None) -> dict[str, Any]:
        response = self.http.post(
            "/graphql",
            json={"query": query, "variables": variables or {}},
            headers={"Authorization": f"Bearer {self.token}"},
        )
        body: dict[str, Any] = response.json()
        assert "errors" not in body, body
        return body["data"]

    def document(self, document_id: str) -> dict[str, Any]:
        node: dict[str, Any] = self.query(DOCUMENT, {"id": document_id})["node"]
        return node

    def wait_ready(self, document_id: str, timeout: float = 240) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            document = self.document(document_id)
            if document["status"] != "PROCESSING":
                return document
            time.sleep(0.5)
        raise AssertionError(f"document {document_id} still processing after {timeout} s")


@pytest.fixture
def api(live_server: str, make_user) -> Iterator[Api]:
    make_user("alice")
    body = httpx.post(
        f"{live_server}/graphql",
        json={"query": LOGIN, "variables": {"username": "alice", "password": TEST_PASSWORD}},
    ).json()
    client = Api(live_server, body["data"]["login"]["token"])
    yield client
    client.http.close()


@contextmanager
def subscribe(
    base: str, token: str, query: str, variables: dict[str, Any] | None = None
) -> Iterator[Any]:
    url = base.replace("http://", "ws://") + "/graphql"
    with connect(url, subprotocols=["graphql-transport-ws"]) as socket:
        auth = {"Authorization": f"Bearer {token}"}
        socket.send(json.dumps({"type": "connection_init", "payload": auth}))
        assert json.loads(socket.recv(timeout=10)) == {"type": "connection_ack"}
        payload = {"query": query, "variables": variables or {}}
        socket.send(json.dumps({"type": "subscribe", "id": "1", "payload": payload}))
        yield socket


FEED = """subscription { documentsProgress {
  documentId status pageNumber pagesDone pagesTotal worker message } }"""


def test_three_pages_two_workers_live_progress(
    live_server: str, api: Api, workers, redis_client, tmp_path: Path
) -> None:
    workers.start("worker-a")
    workers.start("worker-b")
    workers.wait_registered(redis_client, 2)
    with subscribe(live_server, api.token, FEED) as feed:
        body = upload(api.http, api.token, "mixed.pdf", mixed_pdf(tmp_path / "m.pdf").read_bytes())
        document_id = body["data"]["uploadDocument"]["document"]["id"]
        events = []
        deadline = time.monotonic() + 240
        while time.monotonic() < deadline:
            message = json.loads(feed.recv(timeout=240))
            assert message["type"] == "next", message
            event = message["payload"]["data"]["documentsProgress"]
            if event["documentId"] == document_id:
                events.append(event)
                if event["status"] in ("READY", "FAILED"):
                    break
    statuses = [e["status"] for e in events]
    assert statuses[0] == "QUEUED" and statuses[-1] == "READY", statuses
    assert sorted(e["pageNumber"] for e in events if e["status"] == "PAGE_DONE") == [1, 2, 3]
    assert sorted(e["pageNumber"] for e in events if e["status"] == "STARTED") == [1, 2, 3]
    # Every page's STARTED comes before its PAGE_DONE, and the done count never goes back.
    for page in (1, 2, 3):
        order = [e["status"] for e in events if e["pageNumber"] == page]
        assert order == ["STARTED", "PAGE_DONE"], (page, order)
    done_counts = [e["pagesDone"] for e in events]
    assert done_counts == sorted(done_counts) and done_counts[-1] == 3
    assert {e["pagesTotal"] for e in events} == {3}

    document = api.wait_ready(document_id)
    pages = [edge["node"] for edge in document["pages"]["edges"]]
    assert {page["worker"] for page in pages} == {"worker-a", "worker-b"}, pages
    assert pages[0]["source"] == "TEXT_LAYER" and pages[0]["text"] == " ".join(TEXT_LAYER_WORDS)
    for page, words in zip(pages[1:], SCANNED_LINES, strict=True):
        assert (page["source"], page["engine"]) == ("OCR", "EASYOCR")
        cer = character_error_rate(" ".join(words), page["text"])
        print(f"page {page['number']}: OCR {page['text']!r}, character error rate {cer:.3f}")
        assert cer <= 0.15, page["text"]
    assert [(v["number"], v["hasTextLayer"]) for v in document["versions"]] == [
        (1, False),
        (2, True),
    ]

    # The searchable PDF's own text matches the stored page text.
    pdf_bytes = api.http.get(document["downloadUrl"]).content
    pdf = pypdfium2.PdfDocument(pdf_bytes)
    extracted = [" ".join(pdf[i].get_textpage().get_text_bounded().split()) for i in range(3)]
    assert extracted == [" ".join(page["text"].split()) for page in pages]


def _page_rows(document_id: int) -> list[Page]:
    with database.connection_context():
        return list(
            Page.select()
            .join(DocumentVersion)
            .where(DocumentVersion.document == document_id)
            .order_by(DocumentVersion.number, Page.number)
        )


def _assert_done_exactly_once(document_id: int) -> None:
    with database.connection_context():
        versions = list(
            DocumentVersion.select()
            .where(DocumentVersion.document == document_id)
            .order_by(DocumentVersion.number)
        )
        assert [v.has_text_layer for v in versions] == [False, True]
        assert Document.get(Document.node == document_id).status == Document.READY
    rows = _page_rows(document_id)
    assert len(rows) == 6  # three pages in each of the two versions, no more
    assert all(row.status == Page.DONE and row.text for row in rows)


def test_worker_killed_mid_page(
    live_server: str, api: Api, workers, redis_client, tmp_path: Path
) -> None:
    workers.start("doomed")
    workers.wait_registered(redis_client, 1)
    body = upload(api.http, api.token, "mixed.pdf", mixed_pdf(tmp_path / "m.pdf").read_bytes())
    document_id = row_id(body["data"]["uploadDocument"]["document"]["id"])
    deadline = time.monotonic() + 120
    while not any(r.status == Page.PROCESSING and r.number > 1 for r in _page_rows(document_id)):
        assert time.monotonic() < deadline, "no OCR page was ever started"
        time.sleep(0.05)
    workers.kill("doomed")  # SIGKILL in the middle of OCR
    victim = next(r for r in _page_rows(document_id) if r.status == Page.PROCESSING)
    workers.start("rescuer")
    api.wait_ready(gid("Document", document_id))
    _assert_done_exactly_once(document_id)
    rescued = next(r for r in _page_rows(document_id) if r.id == victim.id)
    assert rescued.worker == "rescuer" and rescued.attempts >= 2


def test_redis_flushed_mid_document(
    live_server: str, api: Api, workers, redis_client, tmp_path: Path
) -> None:
    body = upload(api.http, api.token, "mixed.pdf", mixed_pdf(tmp_path / "m.pdf").read_bytes())
    document_id = row_id(body["data"]["uploadDocument"]["document"]["id"])
    workers.start("first")
    deadline = time.monotonic() + 120
    while not any(r.status == Page.DONE for r in _page_rows(document_id)):
        assert time.monotonic() < deadline, "no page finished"
        time.sleep(0.05)
    redis_client.flushdb()  # every queued job, registry and worker key is gone
    api.wait_ready(gid("Document", document_id))
    _assert_done_exactly_once(document_id)


def test_many_pages_in_bounded_memory_with_progress(
    api: Api, workers, redis_client, tmp_path: Path
) -> None:
    import psutil
    from samples import blank_pdf

    from archivist.core.progress import channel

    pages = 400
    pubsub = redis_client.pubsub()
    pubsub.subscribe(channel(redis_client))
    content = blank_pdf(tmp_path / "book.pdf", pages).read_bytes()
    body = upload(api.http, api.token, "book.pdf", content, {"mode": "OFF"})
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    process = psutil.Process(workers.start("reader").pid)
    peak, done_events = 0, 0
    deadline = time.monotonic() + 300
    status = "PROCESSING"
    while status == "PROCESSING" and time.monotonic() < deadline:
        peak = max(peak, sum(p.memory_info().rss for p in [process, *process.children(True)]))
        while (message := pubsub.get_message(timeout=0.2)) is not None:
            if message["type"] == "message" and b'"page_done"' in message["data"]:
                done_events += 1
        status = api.query("query($id: ID!) { document(id: $id) { status } }", {"id": document_id})[
            "document"
        ]["status"]
    pubsub.close()
    print(f"{pages} pages: worker peak RSS {peak / 2**20:.0f} MiB, {done_events} page events")
    assert status == "READY"
    assert done_events == pages  # progress flowed for every page
    assert peak < 1024 * 2**20  # one page at a time: memory does not grow with the document


def test_unreadable_pages_fail_with_a_reason_and_can_be_retried(
    api: Api, workers, redis_client, tmp_path: Path
) -> None:
    # A language no installed model reads is refused at upload (see test_ocr_languages); a
    # worker whose machine lacks the models the API's has still fails the page with the reason.
    # Here the worker's model folder is empty: the scanned pages cannot be OCR'd, the page
    # with a text layer can still be read, and the document completes with two failures noted.
    content = mixed_pdf(tmp_path / "m.pdf").read_bytes()
    body = upload(api.http, api.token, "mixed.pdf", content, {"languages": ["en"]})
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    empty = tmp_path / "no-models"
    empty.mkdir()
    workers.start("without-models", ARCHIVIST_EASYOCR_MODEL_DIR=str(empty))
    document = api.wait_ready(document_id)
    assert (document["status"], document["error"]) == ("READY", "2 of 3 pages could not be read.")
    pages = [edge["node"] for edge in document["pages"]["edges"]]
    assert [p["status"] for p in pages] == ["DONE", "FAILED", "FAILED"]
    with database.connection_context():
        reasons = {r.error for r in _page_rows(row_id(document_id)) if r.status == Page.FAILED}
    (reason,) = reasons
    assert "with EasyOCR (en), which worker" in reason and "does not have installed" in reason
    workers.stop_all()
    workers.start("with-models")
    page_id = api.query(
        "query($id: ID!) { document(id: $id) { pages { edges { node { id } } } } }",
        {"id": document_id},
    )["document"]["pages"]["edges"][1]["node"]["id"]
    retried = api.query(
        'mutation($id: ID!) { retryPage(pageId: $id, languages: ["en"]) { errors { code } } }',
        {"id": page_id},
    )
    assert retried["retryPage"]["errors"] == []
    document = api.wait_ready(document_id)
    pages = [edge["node"] for edge in document["pages"]["edges"]]
    assert [p["status"] for p in pages] == ["DONE", "DONE", "FAILED"]
    assert pages[1]["text"] == "INVOICE NUMBER 4711"
    assert document["error"] == "1 of 3 pages could not be read."


def test_unexpected_errors_are_retried_then_fail_the_page(
    api: Api, workers, redis_client, settings, tmp_path: Path
) -> None:
    """The stored file vanishes (a lost volume): each page job is retried, then fails for good
    with a generic reason; once the file is back, processing the document again works."""
    from archivist.core.storage import Storage

    source = mixed_pdf(tmp_path / "m.pdf")
    body = upload(api.http, api.token, "mixed.pdf", source.read_bytes(), {"mode": "OFF"})
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    storage = Storage(settings.storage_dir)
    with database.connection_context():
        version = DocumentVersion.get(DocumentVersion.document == row_id(document_id))
    storage.path(version.file_hash).unlink()
    workers.start("unlucky")
    document = api.wait_ready(document_id)
    assert (document["status"], document["error"]) == (
        "FAILED",
        "No page of this document could be read.",
    )
    rows = _page_rows(row_id(document_id))
    assert {row.status for row in rows} == {Page.FAILED}
    assert {row.attempts for row in rows} == {3}  # the first try and two retries
    assert {row.error for row in rows} == {
        "This page could not be processed (internal error); try again later."
    }
    assert storage.put(source) == version.file_hash  # the file is back
    again = api.query(
        "mutation($id: ID!) { reprocessDocument(documentId: $id) { errors { code } } }",
        {"id": document_id},
    )
    assert again["reprocessDocument"]["errors"] == []
    document = api.wait_ready(document_id)
    assert document["status"] == "READY" and document["error"] is None


def test_a_page_too_complex_to_render_fails_and_the_worker_goes_on(
    api: Api, workers, redis_client, tmp_path: Path
) -> None:
    """A 3 KB page of nested forms would take PDFium past 2 GB: it fails with its reason, the
    pages around it are read, and the same worker process takes the next document."""
    from samples import pdf_with_a_bomb_page

    words = [TEXT_LAYER_WORDS, ["second", *TEXT_LAYER_WORDS]]
    content = pdf_with_a_bomb_page(tmp_path / "forms.pdf", words).read_bytes()
    body = upload(api.http, api.token, "forms.pdf", content, {"mode": "OFF"})
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    worker = workers.start("survivor", ARCHIVIST_RENDER_MEMORY="256")
    document = api.wait_ready(document_id, timeout=120)
    assert (document["status"], document["error"]) == ("READY", "1 of 3 pages could not be read.")
    pages = [edge["node"] for edge in document["pages"]["edges"]]
    assert [p["status"] for p in pages] == ["DONE", "FAILED", "DONE"]
    assert pages[2]["text"].startswith("second")
    failed = [row for row in _page_rows(row_id(document_id)) if row.status == Page.FAILED]
    assert failed and all(row.number == 2 for row in failed)  # in each version
    assert "too complex to render" in failed[0].error and "256 MiB" in failed[0].error
    assert failed[0].attempts == 1  # not retried: the reason is final
    assert worker.poll() is None
    again = upload(api.http, api.token, "next.pdf", mixed_pdf(tmp_path / "m.pdf").read_bytes(),
                   {"mode": "OFF"})  # fmt: skip
    next_id = again["data"]["uploadDocument"]["document"]["id"]
    assert api.wait_ready(next_id, timeout=120)["status"] == "READY"
    assert worker.poll() is None
