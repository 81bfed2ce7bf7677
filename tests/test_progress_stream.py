"""``documentProgress`` as a client uses it: upload, subscribe at once, follow to the end.

The first event of a document still processing says PROCESSING (it was an error: the
document's status did not fit ProgressStatus), and the stream completes after READY or
FAILED instead of staying open for ever.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from samples import text_pdf
from starlette.testclient import TestClient
from support import gid, login, make_document, run_worker_burst, upload

from archivist.core.db import database
from archivist.core.models import Document, Node
from archivist.core.progress import ProgressEvent, publish
from archivist.core.settings import Settings

WATCH = """subscription($id: ID!) { documentProgress(documentId: $id) {
  status pagesDone pagesTotal } }"""


def _subscribe(client: TestClient, token: str, document_id: str) -> tuple[Any, Any]:
    socket = client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    ws = socket.__enter__()
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert ws.receive_json() == {"type": "connection_ack"}
    payload = {"query": WATCH, "variables": {"id": document_id}}
    ws.send_json({"type": "subscribe", "id": "1", "payload": payload})
    return socket, ws


def _until_complete(ws: Any) -> list[dict[str, Any]]:
    """Every event until the server completes the subscription (errors fail the test)."""
    events = []
    while True:
        message = ws.receive_json()
        if message["type"] == "complete":
            return events
        assert message["type"] == "next" and "errors" not in message["payload"], message
        events.append(message["payload"]["data"]["documentProgress"])


@pytest.mark.slow
def test_upload_then_subscribe_at_once_follows_to_ready_and_completes(
    client: TestClient, make_user: Any, redis_client: Any, settings: Settings, tmp_path: Path
) -> None:
    make_user("alice")
    token = login(client, "alice")
    pages = [["Quarterly", "report", "first", "page"], ["Second", "page", "of", "it"]]
    body = upload(client, token, "report.pdf", text_pdf(tmp_path / "r.pdf", pages).read_bytes())
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    socket, ws = _subscribe(client, token, document_id)
    try:
        first = ws.receive_json()
        assert first == {
            "type": "next", "id": "1",
            "payload": {"data": {"documentProgress":
                                 {"status": "PROCESSING", "pagesDone": 0, "pagesTotal": 2}}},
        }  # fmt: skip
        run_worker_burst(settings)
        events = _until_complete(ws)
    finally:
        socket.__exit__(None, None, None)
    assert events[-1] == {"status": "READY", "pagesDone": 2, "pagesTotal": 2}
    assert {"status": "PAGE_DONE", "pagesDone": 2, "pagesTotal": 2} in events


def _document(make_user: Any, status: str) -> tuple[int, Any]:
    alice = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == alice.id) & (Node.special == Node.HOME)).id
        document_id = make_document(home, alice.id, "letter", ["text"])
        Document.update(status=status).where(Document.node == document_id).execute()
    return document_id, alice


def test_the_stream_completes_after_failed(
    client: TestClient, make_user: Any, redis_client: Any
) -> None:
    document_id, _ = _document(make_user, "processing")
    socket, ws = _subscribe(client, login(client, "alice"), gid("Document", document_id))
    try:
        first = ws.receive_json()["payload"]["data"]["documentProgress"]
        assert first["status"] == "PROCESSING"
        publish(redis_client, ProgressEvent(document_id, "failed", 1, 1, message="broken"))
        assert _until_complete(ws) == [{"status": "FAILED", "pagesDone": 1, "pagesTotal": 1}]
    finally:
        socket.__exit__(None, None, None)


@pytest.mark.parametrize("status", ["ready", "failed"])
def test_a_finished_document_answers_its_state_and_completes(
    client: TestClient, make_user: Any, redis_client: Any, status: str
) -> None:
    document_id, _ = _document(make_user, status)
    socket, ws = _subscribe(client, login(client, "alice"), gid("Document", document_id))
    try:
        events = _until_complete(ws)
    finally:
        socket.__exit__(None, None, None)
    assert events == [{"status": status.upper(), "pagesDone": 1, "pagesTotal": 1}]
