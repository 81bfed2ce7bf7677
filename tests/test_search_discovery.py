"""Suggestions, "did you mean", similar documents and the type and year facets through GraphQL,
on every engine: a viewer learns words, tag, folder and type names and documents only from
what they may read (their own things, and what is shared with them), never a stranger's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from starlette.testclient import TestClient
from support import gid, graphql, login, make_document, settings_env
from xapian_server import xapian_server

from archivist.core.db import database
from archivist.core.models import Document, DocumentType, Node, NodeTag, Role, Share, Tag
from archivist.core.search import index_documents, search_index
from archivist.core.settings import Settings, load_settings, use_settings

SUGGEST = """query($p: String!, $n: Int) { searchSuggestions(prefix: $p, first: $n) {
  kind text objectId } }"""
SEARCH = """query($q: String!) { search(query: $q) { totalCount suggestedQuery
  facets { tags { tag { name } count } documentTypes { documentType { id name } count }
           years { year count } } } }"""
SIMILAR = """query($id: ID!) { similarDocuments(id: $id) { document { id title } score } }"""


@pytest.fixture(params=["xapian", "whoosh", "xapian-remote"])
def engine_settings(
    request: pytest.FixtureRequest, settings: Settings, tmp_path: Path
) -> Iterator[Settings]:
    """The test's settings on each engine (the remote one through a real xapian-tcpsrv)."""
    with ExitStack() as stack:
        extra: dict[str, str] = {}
        if request.param == "whoosh":
            extra["ARCHIVIST_SEARCH_BACKEND"] = "whoosh"
        elif request.param == "xapian-remote":
            extra["ARCHIVIST_XAPIAN_REMOTE"] = stack.enter_context(
                xapian_server(tmp_path / "index-host")
            )
        chosen = load_settings(settings_env(settings.data_dir, settings.database_url, **extra))
        use_settings(chosen)
        yield chosen
        search_index(chosen).close()  # this thread's handle, before its server stops
        from archivist.core import search

        search._handles.indexes.clear()


@pytest.fixture
def engine_client(engine_settings: Settings) -> Iterator[TestClient]:
    from archivist.graphql.app import create_app

    with TestClient(create_app(engine_settings)) as test_client:
        yield test_client


def _home(user_id: int) -> int:
    return int(Node.get((Node.owner_user == user_id) & (Node.special == Node.HOME)).id)


def _describe(node_id: int, owner: int, tag: str, kind: str, year: int) -> None:
    tag_row, _ = Tag.get_or_create(name=tag, owner_user=owner)
    NodeTag.create(node=node_id, tag=tag_row)
    type_row, _ = DocumentType.get_or_create(name=kind, owner_user=owner)
    Document.update(document_type=type_row).where(Document.node == node_id).execute()
    Node.update(created_at=datetime(year, 6, 1, tzinfo=UTC)).where(Node.id == node_id).execute()


@pytest.fixture
def archive(engine_settings: Settings, engine_client: TestClient, make_user: Any) -> dict[str, Any]:
    """Alice's invoice, Bob's secret zeppelin papers in his folder, a memo Bob shares with
    Alice (read only), and Carol, who has nothing."""
    alice, bob = make_user("alice"), make_user("bob")
    make_user("carol")
    with database.connection_context():
        secret = Node.create(kind=Node.FOLDER, title="Zeppelin secret", parent=_home(bob.id),
                             owner_user=bob.id)  # fmt: skip
        invoice = make_document(_home(alice.id), alice.id, "alice invoice", [
            "electricity invoice payment quarterly electricity meter",
            "electricity meter reading payment",
        ])  # fmt: skip
        zeppelin = make_document(int(secret.id), bob.id, "zeppelin plans", [
            "zeppelin confidential electricity hangar blueprint",
        ])  # fmt: skip
        memo = make_document(_home(bob.id), bob.id, "shared memo", [
            "electricity meter wombat memo payment",
        ])  # fmt: skip
        _describe(invoice, alice.id, "Taxes", "Invoice", 2024)
        _describe(zeppelin, bob.id, "Zeppelin project", "Zeppelin contract", 2021)
        _describe(memo, bob.id, "Shared tag", "Memo", 2023)
        Share.create(node=memo, user=alice.id, role=Role.get(Role.name == "Viewer"))
        index_documents(search_index(engine_settings), [invoice, zeppelin, memo])
    return {
        "alice": login(engine_client, "alice"), "bob": login(engine_client, "bob"),
        "carol": login(engine_client, "carol"), "invoice": gid("Document", invoice),
        "zeppelin": gid("Document", zeppelin), "memo": gid("Document", memo),
    }  # fmt: skip


def _suggest(client: TestClient, token: str, prefix: str, first: int = 10) -> list[Any]:
    found = graphql(client, SUGGEST, {"p": prefix, "n": first}, token=token)
    assert "errors" not in found, found
    return [(s["kind"], s["text"]) for s in found["data"]["searchSuggestions"]]


def test_suggestions_offer_only_what_the_viewer_may_read(
    engine_client: TestClient, archive: dict[str, Any]
) -> None:
    client, alice, bob, carol = engine_client, archive["alice"], archive["bob"], archive["carol"]
    assert _suggest(client, bob, "zep") == [
        ("TAG", "Zeppelin project"), ("DOCUMENT_TYPE", "Zeppelin contract"),
        ("FOLDER", "Zeppelin secret"), ("WORD", "zeppelin"),
    ]  # fmt: skip
    # Bob's word, tag, type and folder are nobody else's to learn.
    assert _suggest(client, alice, "zep") == _suggest(client, carol, "zep") == []
    assert _suggest(client, alice, "hang") == _suggest(client, alice, "conf") == []
    # Alice's own words, and the shared memo's words, tag and type.
    assert _suggest(client, alice, "ele") == [("WORD", "electricity")]
    assert _suggest(client, alice, "wom") == [("WORD", "wombat")]
    assert _suggest(client, alice, "sha") == [("TAG", "Shared tag"), ("WORD", "shared")]
    assert ("DOCUMENT_TYPE", "Memo") in _suggest(client, alice, "me")
    # The last word of what was typed is completed, most common first.
    assert _suggest(client, alice, "invoice me", first=1) == [("WORD", "meter")]
    assert _suggest(client, carol, "ele") == []
    # What LIKE would read as wildcards is taken as typed (the SQL of the name queries is
    # kept per viewer; these are composed anew), and each viewer's is their own.
    assert _suggest(client, alice, "%") == _suggest(client, alice, "_ax") == []
    assert _suggest(client, bob, "Zep%") == _suggest(client, bob, "Zep_") == []
    assert _suggest(client, alice, "tax") == [("TAG", "Taxes")]
    assert _suggest(client, bob, "tax") == []


def test_suggestion_ids_name_the_things(engine_client: TestClient, archive: dict[str, Any]) -> None:
    found = graphql(engine_client, SUGGEST, {"p": "Tax"}, token=archive["alice"])["data"]
    (tag,) = [s for s in found["searchSuggestions"] if s["kind"] == "TAG"]
    node = graphql(engine_client, "query($id: ID!) { node(id: $id) { ... on Tag { name } } }",
                   {"id": tag["objectId"]}, token=archive["alice"])  # fmt: skip
    assert node["data"]["node"] == {"name": "Taxes"}
    bad = graphql(engine_client, SUGGEST, {"p": "x", "n": 0}, token=archive["alice"])
    assert bad["errors"][0]["extensions"]["code"] == "INVALID_FIRST"


def test_did_you_mean_respells_only_into_readable_words(
    engine_client: TestClient, archive: dict[str, Any]
) -> None:
    def search(token: str, text: str) -> dict[str, Any]:
        found = graphql(engine_client, SEARCH, {"q": text}, token=token)
        assert "errors" not in found, found
        return dict(found["data"]["search"])

    alice, bob = archive["alice"], archive["bob"]
    assert search(alice, "electricty")["suggestedQuery"] == "electricity"
    assert search(alice, "electricty paymnt")["suggestedQuery"] == "electricity payment"
    assert search(alice, "electricity")["suggestedQuery"] is None  # it has hits
    # Only Bob's pages hold "zeppelin" and "hangar": Alice gets nothing to go on.
    assert search(bob, "zepelin")["suggestedQuery"] == "zeppelin"
    assert search(alice, "zepelin")["suggestedQuery"] is None
    assert search(alice, "zeppelin")["suggestedQuery"] is None
    assert search(archive["carol"], "electricty")["suggestedQuery"] is None
    # Words right in the respelling, but together in no page of hers: no suggestion.
    assert search(alice, "wombat quartrly")["suggestedQuery"] is None


def test_facets_by_type_and_year_count_only_readable_pages(
    engine_client: TestClient, archive: dict[str, Any]
) -> None:
    found = graphql(engine_client, SEARCH, {"q": "electricity"}, token=archive["alice"])
    facets = found["data"]["search"]["facets"]
    assert found["data"]["search"]["totalCount"] == 3
    assert [(f["documentType"]["name"], f["count"]) for f in facets["documentTypes"]] == [
        ("Invoice", 2), ("Memo", 1),
    ]  # fmt: skip
    assert facets["years"] == [{"year": 2024, "count": 2}, {"year": 2023, "count": 1}]
    bobs = graphql(engine_client, SEARCH, {"q": "electricity"}, token=archive["bob"])
    bob_facets = bobs["data"]["search"]["facets"]
    assert [f["documentType"]["name"] for f in bob_facets["documentTypes"]] == [
        "Memo", "Zeppelin contract",
    ]  # fmt: skip
    assert bob_facets["years"] == [{"year": 2021, "count": 1}, {"year": 2023, "count": 1}]
    nothing = graphql(engine_client, SEARCH, {"q": "hangar"}, token=archive["alice"])
    assert nothing["data"]["search"]["facets"] == {"tags": [], "documentTypes": [], "years": []}


def test_similar_documents_are_readable_ones_and_never_itself(
    engine_client: TestClient, archive: dict[str, Any]
) -> None:
    def similar(token: str, document: str) -> list[str]:
        found = graphql(engine_client, SIMILAR, {"id": document}, token=token)
        assert "errors" not in found, found
        return [item["document"]["title"] for item in found["data"]["similarDocuments"]]

    # The memo shares "meter" and "payment" with Alice's invoice (and only the everywhere
    # "electricity" with Bob's plans): alike for Alice, but the invoice is not Bob's to see.
    assert similar(archive["alice"], archive["invoice"]) == ["shared memo"]
    assert similar(archive["alice"], archive["memo"]) == ["alice invoice"]
    assert not {"alice invoice", "shared memo"} & set(similar(archive["bob"], archive["memo"]))
    denied = graphql(engine_client, SIMILAR, {"id": archive["zeppelin"]}, token=archive["alice"])
    assert denied["data"]["similarDocuments"] is None
    assert denied["errors"][0]["extensions"]["code"] == "NOT_FOUND"


def test_a_whole_or_large_reindex_compacts_the_index(settings: Settings, make_user: Any) -> None:
    """Compaction swaps in a new index folder (see archivist.indexes.xapian_index)."""
    import os
    from datetime import timedelta

    from archivist.core import search

    alice = make_user("alice")
    with database.connection_context():
        document = make_document(_home(alice.id), alice.id, "walrus", ["walrus tusks"])
        index_documents(search_index(settings), [document])
        folder = os.stat(settings.index_dir).st_ino
        assert search.reindex(settings) == 1
        assert os.stat(settings.index_dir).st_ino != folder  # compacted
        folder = os.stat(settings.index_dir).st_ino
        since = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=1)
        assert search.reindex(settings, since) == 1
        assert os.stat(settings.index_dir).st_ino == folder  # small: left as it is
        found = search_index(settings).search("walrus", principals=[f"user:{alice.id}"])
        assert found.total == 1
