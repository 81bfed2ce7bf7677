"""Another user sees none of your documents, events, previews or files."""

from __future__ import annotations

from pathlib import Path

import pytest
from samples import text_pdf
from starlette.testclient import TestClient
from support import graphql, login, run_worker_burst, upload

from archivist.core.settings import Settings

pytestmark = pytest.mark.slow

WORDS = [["Private", "letter", "from", "the", "family", "doctor", "about", "results", "today"]]
DOCUMENT = """query($id: ID!) { node(id: $id) { ... on Document {
  status originalUrl downloadUrl
  pages { edges { node { id previewUrl(size: THUMBNAIL) } } } } } }"""


@pytest.fixture
def setup(client: TestClient, make_user, redis_client, settings: Settings, tmp_path: Path):
    make_user("alice")
    make_user("bob")
    alice, bob = login(client, "alice"), login(client, "bob")
    body = upload(client, alice, "letter.pdf", text_pdf(tmp_path / "l.pdf", WORDS).read_bytes())
    document_id = body["data"]["uploadDocument"]["document"]["id"]
    run_worker_burst(settings)
    result = graphql(client, DOCUMENT, {"id": document_id}, token=alice)
    assert "errors" not in result, result
    document = result["data"]["node"]
    assert document["status"] == "READY"
    return alice, bob, document_id, document


def test_owner_gets_every_file(client: TestClient, setup) -> None:
    alice, _, _, document = setup
    page = document["pages"]["edges"][0]["node"]
    for url, kind in ((document["originalUrl"], "application/pdf"),
                      (document["downloadUrl"], "application/pdf"),
                      (page["previewUrl"], "image/jpeg")):  # fmt: skip
        signed = client.get(url)  # a signed URL works in an <img> or <a>, without a header
        assert (signed.status_code, signed.headers["content-type"]) == (200, kind), url
        bare = url.split("?")[0]
        assert client.get(bare, headers={"Authorization": f"Bearer {alice}"}).status_code == 200


def test_stranger_sees_nothing(client: TestClient, setup) -> None:
    _, bob, document_id, document = setup
    assert graphql(client, DOCUMENT, {"id": document_id}, token=bob)["data"]["node"] is None
    page = document["pages"]["edges"][0]["node"]
    for url in (document["originalUrl"], document["downloadUrl"], page["previewUrl"]):
        bare = url.split("?")[0]
        assert client.get(bare, headers={"Authorization": f"Bearer {bob}"}).status_code == 404
        assert client.get(bare).status_code == 404
        tampered = url.replace("signature=", "signature=0")
        assert client.get(tampered).status_code == 404
    retry = graphql(
        client, "mutation($id: ID!) { retryPage(pageId: $id) { errors { code } } }",
        {"id": page["id"]}, token=bob,
    )  # fmt: skip
    assert retry["data"]["retryPage"]["errors"] == [{"code": "NOT_FOUND"}]
    again = graphql(
        client, "mutation($id: ID!) { reprocessDocument(documentId: $id) { errors { code } } }",
        {"id": document_id}, token=bob,
    )  # fmt: skip
    assert again["data"]["reprocessDocument"]["errors"] == [{"code": "NOT_FOUND"}]


def _socket(client: TestClient, token: str, query: str, variables: dict | None = None):
    socket = client.websocket_connect("/graphql", subprotocols=["graphql-transport-ws"])
    ws = socket.__enter__()
    ws.send_json({"type": "connection_init", "payload": {"Authorization": f"Bearer {token}"}})
    assert ws.receive_json() == {"type": "connection_ack"}
    payload = {"query": query, "variables": variables or {}}
    ws.send_json({"type": "subscribe", "id": "1", "payload": payload})
    return socket, ws


def test_stranger_gets_no_progress(
    client: TestClient, setup, settings: Settings, tmp_path: Path
) -> None:
    alice, bob, document_id, _ = setup
    socket, ws = _socket(
        client, bob, "subscription($id: ID!) { documentProgress(documentId: $id) { status } }",
        {"id": document_id},
    )  # fmt: skip
    message = ws.receive_json()
    socket.__exit__(None, None, None)
    assert message["type"] == "error" or message["payload"].get("errors"), message

    socket, feed = _socket(client, bob, "subscription { documentsProgress { documentId status } }")
    try:
        # Alice's document is processed again: events flow, none of them to bob...
        graphql(
            client, "mutation($id: ID!) { reprocessDocument(documentId: $id) { errors { code } } }",
            {"id": document_id}, token=alice,
        )  # fmt: skip
        run_worker_burst(settings)
        # ...whose first event is about his own upload, made after all of alice's.
        body = upload(client, bob, "mine.pdf", text_pdf(tmp_path / "m.pdf", WORDS).read_bytes())
        mine = body["data"]["uploadDocument"]["document"]["id"]
        first = feed.receive_json()["payload"]["data"]["documentsProgress"]
        assert first == {"documentId": mine, "status": "QUEUED"}
    finally:
        socket.__exit__(None, None, None)


def test_owner_watches_progress_with_current_state_first(client: TestClient, setup) -> None:
    alice, _, document_id, _ = setup
    socket, ws = _socket(
        client, alice,
        "subscription($id: ID!) { documentProgress(documentId: $id) "
        "{ status pagesDone pagesTotal } }",
        {"id": document_id},
    )  # fmt: skip
    try:
        first = ws.receive_json()["payload"]["data"]["documentProgress"]
    finally:
        socket.__exit__(None, None, None)
    assert first == {"status": "READY", "pagesDone": 1, "pagesTotal": 1}


def test_reprocess_and_retry_make_new_versions(client: TestClient, setup, settings) -> None:
    alice, _, document_id, document = setup
    versions = """query($id: ID!) { document(id: $id) { status ocrMode
      versions { number note hasTextLayer } pages { edges { node { id status text } } } } }"""
    page_id = document["pages"]["edges"][0]["node"]["id"]
    body = graphql(
        client,
        "mutation($id: ID!) { reprocessDocument(documentId: $id, ocrMode: OFF) "
        "{ document { ... on Document { status } } errors { code } } }",
        {"id": document_id}, token=alice,
    )  # fmt: skip
    assert body["data"]["reprocessDocument"] == {"document": {"status": "PROCESSING"}, "errors": []}
    # While it is processing, another round is refused (the page's id names the same page
    # in every version: it is the current version's page that is busy).
    busy = graphql(
        client, "mutation($id: ID!) { retryPage(pageId: $id) { errors { code } } }",
        {"id": page_id}, token=alice,
    )  # fmt: skip
    assert busy["data"]["retryPage"]["errors"] == [{"code": "DOCUMENT_PROCESSING"}]
    run_worker_burst(settings)
    after = graphql(client, versions, {"id": document_id}, token=alice)["data"]["document"]
    assert after["status"] == "READY" and after["ocrMode"] == "OFF"
    assert [(v["number"], v["note"]) for v in after["versions"]] == [
        (1, "Uploaded"), (2, "Text layer added"), (3, "Processed again"), (4, "Text layer added"),
    ]  # fmt: skip
    page = after["pages"]["edges"][0]["node"]
    assert page["status"] == "DONE" and page["text"].startswith("Private letter")
    assert page["id"] == page_id  # four versions later, still the same page
    retried = graphql(
        client, "mutation($id: ID!) { retryPage(pageId: $id) { errors { code } } }",
        {"id": page["id"]}, token=alice,
    )  # fmt: skip
    assert retried["data"]["retryPage"]["errors"] == []
    run_worker_burst(settings)
    final = graphql(client, versions, {"id": document_id}, token=alice)["data"]["document"]
    assert final["status"] == "READY" and len(final["versions"]) == 6
