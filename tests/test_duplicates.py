"""Duplicates: the same content again is refused with the document that holds it, within the
target folder's owner only, unless the caller asks to keep both."""

from __future__ import annotations

from pathlib import Path

import pytest
from samples import text_pdf
from starlette.testclient import TestClient
from support import gid, graphql, login, upload

from archivist.core.db import database
from archivist.core.models import Document, Group, Membership, Node

TRASH = "mutation($ids: [ID!]!) { deleteNodes(ids: $ids) { errors { code } } }"


@pytest.fixture
def content(tmp_path: Path) -> bytes:
    return text_pdf(tmp_path / "invoice.pdf", [["Invoice", "4711"]]).read_bytes()


def _documents() -> int:
    with database.connection_context():
        return int(Document.select().count())


def test_same_content_again_is_refused_with_the_existing_document(
    client: TestClient, make_user, content: bytes
) -> None:
    make_user("alice")
    token = login(client, "alice")
    first = upload(client, token, "invoice.pdf", content)["data"]["uploadDocument"]
    existing = first["document"]["id"]

    again = upload(client, token, "renamed.pdf", content)["data"]["uploadDocument"]
    assert again["document"] is None
    (error,) = again["errors"]
    assert (error["code"], error["field"]) == ("DUPLICATE", "file")
    assert f"document {existing}" in error["message"] and "allowDuplicate" in error["message"]
    assert again["duplicateOf"] == {"id": existing, "title": "invoice"}
    assert _documents() == 1

    kept = upload(client, token, "renamed.pdf", content, {"allowDuplicate": True})
    payload = kept["data"]["uploadDocument"]
    assert payload["errors"] == [] and payload["duplicateOf"] is None
    assert payload["document"]["title"] == "renamed"
    assert _documents() == 2


def test_another_users_document_is_never_revealed(
    client: TestClient, make_user, content: bytes
) -> None:
    make_user("alice")
    make_user("bob")
    alice, bob = login(client, "alice"), login(client, "bob")
    assert upload(client, alice, "a.pdf", content)["data"]["uploadDocument"]["errors"] == []
    body = upload(client, bob, "b.pdf", content)["data"]["uploadDocument"]
    assert body["errors"] == [] and body["duplicateOf"] is None
    assert _documents() == 2


def test_a_document_in_the_trash_is_no_duplicate(
    client: TestClient, make_user, content: bytes
) -> None:
    make_user("alice")
    token = login(client, "alice")
    folder = graphql(
        client,
        'mutation { createFolder(title: "Old") { node { id } errors { code } } }',
        token=token,
    )["data"]["createFolder"]["node"]["id"]
    first = upload(client, token, "a.pdf", content, {"folder": folder})["data"]["uploadDocument"]
    assert first["errors"] == []
    # The folder goes to the trash; the document inside it is in the trash with it.
    assert graphql(client, TRASH, {"ids": [folder]}, token)["data"]["deleteNodes"]["errors"] == []
    again = upload(client, token, "a.pdf", content)["data"]["uploadDocument"]
    assert again["errors"] == [] and again["document"]["id"] != first["document"]["id"]


def test_group_folders_compare_with_the_groups_documents(
    client: TestClient, make_user, content: bytes
) -> None:
    alice = make_user("alice")
    make_user("bob")
    with database.connection_context():
        group = Group.create(name="accounts")
        Membership.create(user=alice.id, group=group)
        shared = Node.create(kind=Node.FOLDER, title="Shared", owner_group=group)
    token, bob = login(client, "alice"), login(client, "bob")
    into_group = {"folder": gid("Folder", shared.id)}
    assert (
        upload(client, token, "a.pdf", content, into_group)["data"]["uploadDocument"]["errors"]
        == []
    )
    again = upload(client, token, "a.pdf", content, into_group)["data"]["uploadDocument"]
    assert [e["code"] for e in again["errors"]] == ["DUPLICATE"]
    # Her own Inbox is another owner's tree: no duplicate there.
    mine = upload(client, token, "a.pdf", content)["data"]["uploadDocument"]
    assert mine["errors"] == []
    # Bob cannot upload into the group's folder at all: not found, nothing about duplicates.
    refused = upload(client, bob, "a.pdf", content, into_group)["data"]["uploadDocument"]
    assert [e["code"] for e in refused["errors"]] == ["NOT_FOUND"]
    assert refused["duplicateOf"] is None
