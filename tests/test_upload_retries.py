"""A retried upload with the same idempotency key gives the first upload's document."""

from __future__ import annotations

import io
import json
import threading
from pathlib import Path
from typing import Any

import httpx2 as httpx
from samples import text_pdf
from starlette.testclient import TestClient
from support import login, row_id

from archivist.core import documents
from archivist.core.db import database
from archivist.core.documents import UploadOptions, upload_document
from archivist.core.models import Node
from archivist.core.settings import Settings

UPLOAD = """mutation($file: Upload!, $key: String, $allow: Boolean) {
  uploadDocument(file: $file, idempotencyKey: $key, allowDuplicate: $allow) {
    document { id title } errors { code message field } } }"""


def send(
    client: Any, token: str, content: bytes, key: str | None, allow: bool = False
) -> dict[str, Any]:
    """Upload ``content``; ``allow``: keep a second document of the same file (no DUPLICATE)."""
    operations = {"query": UPLOAD, "variables": {"file": None, "key": key, "allow": allow}}
    response = client.post(
        "/graphql",
        data={"operations": json.dumps(operations), "map": json.dumps({"0": ["variables.file"]})},
        files={"0": ("letter.pdf", content, "application/octet-stream")},
        headers={"Authorization": f"Bearer {token}"},
    )
    payload: dict[str, Any] = response.json()["data"]["uploadDocument"]
    return payload


def documents_titled(prefix: str) -> list[str]:
    with database.connection_context():
        query = Node.select(Node.title).where(
            (Node.kind == Node.DOCUMENT) & Node.title.startswith(prefix)
        )
        return sorted(node.title for node in query)


def test_the_same_key_gives_the_first_document(
    client: TestClient, make_user, tmp_path: Path
) -> None:
    make_user("alice")
    make_user("bob")
    alice, bob = login(client, "alice"), login(client, "bob")
    content = text_pdf(tmp_path / "letter.pdf", [["Dear", "Sir"]]).read_bytes()
    first = send(client, alice, content, "upload-1")
    again = send(client, alice, content, "upload-1")
    assert first["errors"] == [] and again == first
    assert documents_titled("letter") == ["letter"]
    # The same file under another key is a duplicate (refused unless kept on purpose).
    duplicate = send(client, alice, content, "upload-2")
    assert duplicate["document"] is None and duplicate["errors"][0]["code"] == "DUPLICATE"
    # Another key, no key (both keeping the duplicate), or another person's same key: a new
    # upload each.
    assert send(client, alice, content, "upload-2", allow=True)["document"]["title"] == "letter (2)"
    assert send(client, alice, content, None, allow=True)["document"]["title"] == "letter (3)"
    bobs = send(client, bob, content, "upload-1")["document"]
    assert bobs["id"] != first["document"]["id"]
    refused = send(client, alice, content, "")
    assert refused["errors"] == [
        {"code": "INVALID_IDEMPOTENCY_KEY", "field": "idempotencyKey",
         "message": "An idempotency key is 1 to 255 characters long."}
    ]  # fmt: skip
    # Once the first document is deleted for good, the key makes a new one.
    with database.connection_context():
        Node.delete_by_id(row_id(first["document"]["id"]))
    renewed = send(client, alice, content, "upload-1", allow=True)["document"]
    assert renewed["id"] != first["document"]["id"]


def test_the_same_key_at_the_same_moment_makes_one_document(
    live_server: str, make_user, tmp_path: Path
) -> None:
    make_user("alice")
    content = text_pdf(tmp_path / "letter.pdf", [["Dear", "Sir"]]).read_bytes()
    with httpx.Client(base_url=live_server, timeout=60) as client:
        token = login(client, "alice")  # type: ignore[arg-type]
    results: list[dict[str, Any]] = []
    start = threading.Barrier(4)

    def upload() -> None:
        with httpx.Client(base_url=live_server, timeout=60) as client:
            start.wait()
            results.append(send(client, token, content, "same-moment"))

    threads = [threading.Thread(target=upload) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(results) == 4
    assert all(result["errors"] == [] for result in results), results
    assert len({result["document"]["id"] for result in results}) == 1
    assert documents_titled("letter") == ["letter"]


def test_a_key_committed_between_the_checks_is_not_a_duplicate(
    client: TestClient, make_user, tmp_path: Path, settings: Settings, monkeypatch: Any
) -> None:
    """The race of the test above, made certain: the other upload with the same key commits
    after this one looked the key up and before it looks for a duplicate of the file."""
    make_user("alice")
    content = text_pdf(tmp_path / "letter.pdf", [["Dear", "Sir"]]).read_bytes()
    token = login(client, "alice")
    real = documents.find_duplicate
    first: list[int] = []
    started: list[bool] = []

    def other_upload_commits_first(folder: Any, original_hash: str, viewer: Any) -> Any:
        if not started:  # the other upload, whole, with the same key
            started.append(True)
            options = UploadOptions("letter.pdf", idempotency_key="between")
            other = upload_document(settings, viewer, io.BytesIO(content), options, None)
            first.append(int(other.id))
        return real(folder, original_hash, viewer)

    monkeypatch.setattr(documents, "find_duplicate", other_upload_commits_first)
    answer = send(client, token, content, "between")
    assert answer["errors"] == [], answer
    assert row_id(answer["document"]["id"]) == first[0]
    assert documents_titled("letter") == ["letter"]
