"""The folder change feed (``nodeEvents``): live, resumable, checked per event; and the
document on progress events."""

from __future__ import annotations

import threading
import time
from typing import Any

from starlette.testclient import TestClient
from support import gid, graphql, login, make_document, row_id

from archivist.core import node_events
from archivist.core.db import database
from archivist.core.models import Node
from archivist.core.progress import ProgressEvent, publish
from archivist.core.settings import Settings

FEED = """subscription($f: ID!, $after: String) { nodeEvents(folderId: $f, after: $after) {
  sequence kind nodeId folderId fromFolderId node { id title } } }"""
CREATE = "mutation($p: ID, $t: String!) { createFolder(parentId: $p, title: $t) { node { id } } }"
RENAME = 'mutation($id: ID!) { renameNode(id: $id, title: "Renamed") { errors { code } } }'
MOVE = "mutation($ids: [ID!]!, $t: ID!) { moveNodes(ids: $ids, targetId: $t) { errors { code } } }"
TRASH = "mutation($ids: [ID!]!) { deleteNodes(ids: $ids) { errors { code } } }"
EMPTY = "mutation { emptyTrash { errors { code } } }"


def _socket(client: TestClient, token: str, query: str, variables: dict | None = None) -> Any:
    socket = client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    ws = socket.__enter__()
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert ws.receive_json() == {"type": "connection_ack"}
    ws.send_json({"type": "subscribe", "id": "1", "payload": {"query": query,
                                                                "variables": variables or {}}})  # fmt: skip
    return socket, ws


def _next(ws: Any) -> dict[str, Any]:
    message = ws.receive_json()
    assert message["type"] == "next", message
    assert "errors" not in message["payload"], message
    event: dict[str, Any] = message["payload"]["data"]["nodeEvents"]
    return event


def _run(client: TestClient, token: str, query: str, **variables: Any) -> dict[str, Any]:
    body = graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


def _home(user_id: int) -> str:
    with database.connection_context():
        return gid(
            "Folder", Node.get((Node.owner_user == user_id) & (Node.special == Node.HOME)).id
        )


def _summary(event: dict[str, Any]) -> tuple:
    title = event["node"]["title"] if event["node"] else None
    return event["kind"], event["nodeId"], event["folderId"], event["fromFolderId"], title


def test_live_changes_then_resume_after_a_sequence(
    client: TestClient, make_user: Any, redis_client: Any, settings: Settings
) -> None:
    alice = make_user("alice")
    token = login(client, "alice")
    home = _home(alice.id)
    socket, ws = _socket(client, token, FEED, {"f": home})
    try:
        start = _next(ws)
        assert (start["kind"], start["node"], start["folderId"]) == ("SUBSCRIBED", None, home)
        folder = _run(client, token, CREATE, p=home, t="Letters")["createFolder"]["node"]["id"]
        created = _next(ws)
        assert _summary(created) == ("CREATED", folder, home, None, "Letters")
        _run(client, token, RENAME, id=folder)
        assert _summary(_next(ws)) == ("UPDATED", folder, home, None, "Renamed")
        other = _run(client, token, CREATE, p=home, t="Other")["createFolder"]["node"]["id"]
        assert _summary(_next(ws))[:2] == ("CREATED", other)
        _run(client, token, MOVE, ids=[folder], t=other)  # leaves the folder watched
        moved = _next(ws)
        assert _summary(moved) == ("MOVED", folder, other, home, "Renamed")
        _run(client, token, CREATE, p=other, t="Deeper")  # below the folder: not its event
        _run(client, token, TRASH, ids=[other])
        trashed = _next(ws)
        assert _summary(trashed) == ("TRASHED", other, home, None, "Other")
    finally:
        socket.__exit__(None, None, None)
    sequences = [created["sequence"], moved["sequence"], trashed["sequence"]]
    assert sequences == sorted(sequences, key=lambda s: tuple(map(int, s.split("-"))))

    # A client that saw the creation catches up on what followed, in order, then goes live.
    socket, ws = _socket(client, token, FEED, {"f": home, "after": created["sequence"]})
    try:
        assert (_next(ws)["kind"], _next(ws)["kind"]) == ("SUBSCRIBED", "UPDATED")
        assert [_next(ws)["kind"] for _ in range(3)] == ["CREATED", "MOVED", "TRASHED"]
    finally:
        socket.__exit__(None, None, None)

    # Checked when delivered: emptied from the trash (Letters went with Other), the nodes'
    # events are left out of a replay; what happens next comes through.
    _run(client, token, EMPTY)
    socket, ws = _socket(client, token, FEED, {"f": home, "after": start["sequence"]})
    try:
        assert _next(ws)["kind"] == "SUBSCRIBED"
        fresh = _run(client, token, CREATE, p=home, t="Fresh")["createFolder"]["node"]["id"]
        assert _summary(_next(ws)) == ("CREATED", fresh, home, None, "Fresh")
    finally:
        socket.__exit__(None, None, None)


def test_too_old_or_bad_sequences_and_strangers(
    client: TestClient, make_user: Any, redis_client: Any, settings: Settings
) -> None:
    alice = make_user("alice")
    make_user("bob")
    token, bob = login(client, "alice"), login(client, "bob")
    home = _home(alice.id)
    for title in ("One", "Two", "Three"):
        _run(client, token, CREATE, p=home, t=title)
    key = node_events.stream_key(redis_client, f"user:{alice.id}")
    redis_client.xtrim(key, maxlen=2, approximate=False)  # the feed forgot "One"
    kept = redis_client.xrange(key)[0][0].decode()
    for after in ("0-1", "99999999999999-0"):  # older than what is kept; not yet given
        socket, ws = _socket(client, token, FEED, {"f": home, "after": after})
        try:
            assert _next(ws)["kind"] == "RESYNC"
        finally:
            socket.__exit__(None, None, None)
    socket, ws = _socket(client, token, FEED, {"f": home, "after": kept})  # "Two" was seen
    try:
        assert _next(ws)["kind"] == "SUBSCRIBED"
        assert _summary(_next(ws))[0::4] == ("CREATED", "Three")
    finally:
        socket.__exit__(None, None, None)
    for who, variables, code in (
        (token, {"f": home, "after": "yesterday"}, "INVALID_SEQUENCE"),
        (bob, {"f": home}, "NOT_FOUND"),
    ):
        socket, ws = _socket(client, who, FEED, variables)
        message = ws.receive_json()
        socket.__exit__(None, None, None)
        errors = message["payload"] if message["type"] == "error" else message["payload"]["errors"]
        assert errors[0]["extensions"]["code"] == code, message


def test_progress_events_carry_the_document_as_it_is_now(
    client: TestClient, make_user: Any, redis_client: Any, settings: Settings
) -> None:
    alice = make_user("alice")
    document = make_document(row_id(_home(alice.id)), alice.id, "Tax letter", ["text"])
    query = "subscription { documentsProgress { documentId document { title ... on Document {"
    query += " status } } } }"
    socket, ws = _socket(client, login(client, "alice"), query)
    stop = threading.Event()

    def warm_up() -> None:  # until the feed is live
        while not stop.is_set():
            publish(redis_client, ProgressEvent(document, "ready", 1, 1))
            time.sleep(0.2)

    thread = threading.Thread(target=warm_up)
    thread.start()
    try:
        event = ws.receive_json()["payload"]["data"]["documentsProgress"]
    finally:
        stop.set()
        thread.join()
        socket.__exit__(None, None, None)
    assert event == {"documentId": gid("Document", document),
                     "document": {"title": "Tax letter", "status": "READY"}}  # fmt: skip
