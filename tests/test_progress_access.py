"""Every progress event is checked against the viewer when it is delivered.

A verdict cached per document (it was, for 30 s) kept delivering a document's events after
the viewer lost it: given away, or deleted and its id handed to someone else's upload.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from starlette.testclient import TestClient
from support import gid, login, make_document

from archivist.core.db import database
from archivist.core.models import Document, Node
from archivist.core.progress import ProgressEvent, publish
from archivist.core.settings import Settings

FEED = "subscription { documentsProgress { documentId status message } }"
ONE = "subscription($id: ID!) { documentProgress(documentId: $id) { status message } }"


def _socket(client: TestClient, token: str, query: str, variables: dict | None = None) -> Any:
    socket = client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    ws = socket.__enter__()
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert ws.receive_json() == {"type": "connection_ack"}
    payload = {"query": query, "variables": variables or {}}
    ws.send_json({"type": "subscribe", "id": "1", "payload": payload})
    return socket, ws


def _documents(make_user: Any) -> tuple[int, int, int]:
    alice, bob = make_user("alice"), make_user("bob")
    with database.connection_context():
        home = Node.get((Node.owner_user == alice.id) & (Node.special == Node.HOME)).id
        given = make_document(home, alice.id, "given", ["text"])
        kept = make_document(home, alice.id, "kept", ["text"])
    return given, kept, bob.id


def _give_away(document_id: int, user_id: int) -> None:
    with database.connection_context():
        Node.update(owner_user=user_id).where(Node.id == document_id).execute()


def _event(document_id: int, status: str, message: str) -> ProgressEvent:
    return ProgressEvent(document_id=document_id, status=status, pages_done=0, pages_total=1,
                         message=message)  # fmt: skip


def test_feed_stops_delivering_a_document_the_viewer_lost(
    client: TestClient, make_user: Any, redis_client: Any, settings: Settings
) -> None:
    given, kept, bob = _documents(make_user)
    socket, feed = _socket(client, login(client, "alice"), FEED)
    stop = threading.Event()

    def warm_up() -> None:  # until the feed is live, so the permission is known to it
        while not stop.is_set():
            publish(redis_client, _event(given, "queued", "before"))
            time.sleep(0.2)

    thread = threading.Thread(target=warm_up)
    thread.start()
    try:
        first = feed.receive_json()["payload"]["data"]["documentsProgress"]
        stop.set()
        thread.join()
        assert first == {
            "documentId": gid("Document", given),
            "status": "QUEUED",
            "message": "before",
        }
        _give_away(given, bob)
        publish(redis_client, _event(given, "failed", "after"))
        publish(redis_client, _event(kept, "ready", "after"))
        seen = []
        while True:
            event = feed.receive_json()["payload"]["data"]["documentsProgress"]
            seen.append(event)
            if event["documentId"] == gid("Document", kept):
                break
    finally:
        stop.set()
        socket.__exit__(None, None, None)
    assert {
        "documentId": gid("Document", given),
        "status": "FAILED",
        "message": "after",
    } not in seen
    assert seen[-1] == {"documentId": gid("Document", kept), "status": "READY", "message": "after"}


def test_document_subscription_ends_when_the_viewer_loses_the_document(
    client: TestClient, make_user: Any, redis_client: Any, settings: Settings
) -> None:
    given, _kept, bob = _documents(make_user)
    with database.connection_context():  # a READY document's stream completes at once
        Document.update(status="processing").where(Document.node == given).execute()
    socket, ws = _socket(client, login(client, "alice"), ONE, {"id": gid("Document", given)})
    try:
        first = ws.receive_json()
        assert first["type"] == "next", first
        publish(redis_client, _event(given, "queued", "mine"))
        assert ws.receive_json()["payload"]["data"]["documentProgress"]["message"] == "mine"
        _give_away(given, bob)
        publish(redis_client, _event(given, "failed", "bob's now"))
        ended = ws.receive_json()
    finally:
        socket.__exit__(None, None, None)
    assert ended == {"type": "complete", "id": "1"}
