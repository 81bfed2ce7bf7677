"""A page keeps its id across its document's versions (a normalised client cache updates it)."""

from __future__ import annotations

from pathlib import Path

import pytest
from samples import text_pdf
from starlette.testclient import TestClient
from support import graphql, login, make_document, run_worker_burst, upload

from archivist.core.db import database
from archivist.core.migrations.m0010_page_identity import backfill
from archivist.core.models import DocumentVersion, Node, Page

PAGES = [["Alpha", "page", "one", "of", "the", "garden", "report", "for", "today"],
         ["Beta", "page", "two", "of", "the", "garden", "report", "for", "today"],
         ["Gamma", "page", "three", "of", "the", "garden", "report", "for", "today"]]  # fmt: skip
PAGES_QUERY = """query($id: ID!) { document(id: $id) { versions { number }
  pages { edges { node { id number status text previewUrl } } } } }"""


def run(client: TestClient, token: str, query: str, **variables):
    body = graphql(client, query, variables, token=token)
    assert "errors" not in body, body
    return body["data"]


def pages(client: TestClient, token: str, document_id: str) -> list[dict]:
    found = run(client, token, PAGES_QUERY, id=document_id)["document"]
    return [edge["node"] for edge in found["pages"]["edges"]]


def mutate(client: TestClient, token: str, mutation: str, **variables) -> dict:
    data = run(client, token, mutation, **variables)
    payload = next(iter(data.values()))
    assert payload["errors"] == [], payload
    return payload


@pytest.mark.slow
def test_pages_keep_their_ids_through_processing_and_edits(
    client: TestClient, make_user, redis_client, settings, tmp_path: Path
) -> None:
    make_user("alice")
    token = login(client, "alice")
    body = upload(client, token, "r.pdf", text_pdf(tmp_path / "r.pdf", PAGES).read_bytes())
    document = body["data"]["uploadDocument"]["document"]["id"]
    pending = pages(client, token, document)
    assert {page["status"] for page in pending} == {"PENDING"}
    ids = [page["id"] for page in pending]
    run_worker_burst(settings)
    done = pages(client, token, document)
    # Version 2 (the text layer) has rows of its own, but the pages are the same pages.
    assert [page["id"] for page in done] == ids
    assert {page["status"] for page in done} == {"DONE"}
    assert [page["previewUrl"] for page in done] != [page["previewUrl"] for page in pending]
    # Reordered, the ids follow the pages; rotated or with another page deleted, they stay.
    mutate(client, token, "mutation($id: ID!) { reorderPages(documentId: $id, order: [3, 1, 2])"
           " { errors { code } } }", id=document)  # fmt: skip
    reordered = pages(client, token, document)
    assert [(p["id"], p["text"].split()[0]) for p in reordered] == [
        (ids[2], "Gamma"), (ids[0], "Alpha"), (ids[1], "Beta"),
    ]  # fmt: skip
    mutate(client, token, "mutation($id: ID!) { rotatePages(documentId: $id, pages: "
           "[{page: 1, degrees: 90}]) { errors { code } } }", id=document)  # fmt: skip
    mutate(client, token, "mutation($id: ID!) { deletePages(documentId: $id, pages: [2])"
           " { errors { code } } }", id=document)  # fmt: skip
    assert [p["id"] for p in pages(client, token, document)] == [ids[2], ids[1]]
    # The id retries the page in whichever version is current; the retried page keeps it.
    mutate(client, token, "mutation($id: ID!) { retryPage(pageId: $id) { errors { code } } }",
           id=ids[1])  # fmt: skip
    run_worker_burst(settings)
    final = pages(client, token, document)
    assert [(p["id"], p["status"]) for p in final] == [(ids[2], "DONE"), (ids[1], "DONE")]
    # A deleted page cannot be retried; a copy's pages are pages of their own.
    gone = graphql(client, "mutation($id: ID!) { retryPage(pageId: $id) { errors { code } } }",
                   {"id": ids[0]}, token=token)  # fmt: skip
    assert gone["data"]["retryPage"]["errors"] == [{"code": "OLD_VERSION"}]
    copy = mutate(client, token, "mutation($id: ID!) { copyDocument(id: $id)"
                  " { document { id } errors { code } } }", id=document)  # fmt: skip
    copied = [p["id"] for p in pages(client, token, copy["document"]["id"])]
    assert len(copied) == 2 and not set(copied) & set(ids)


def test_migration_matches_older_versions_pages_by_number(client: TestClient, make_user) -> None:
    alice = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == alice.id) & (Node.special == "home"))
    document = make_document(home.id, alice.id, "old", ["one", "two"])
    with database.connection_context(), database.atomic():
        first = DocumentVersion.get(DocumentVersion.document == document)
        second = DocumentVersion.create(document=document, number=2, file_hash="1" * 64,
                                        base_hash="1" * 64, page_count=1)  # fmt: skip
        Page.create(version=second, number=1, width=1, height=1)
        old = {p.number: p.id for p in Page.select().where(Page.version == first.id)}
        assert backfill(database) == 1
        rows = list(Page.select().where(Page.version == second.id))
    assert [row.logical for row in rows] == [old[1]]
