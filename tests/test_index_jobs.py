"""Queued index jobs take other owed documents along into one write, and a job whose debt was
paid meanwhile does nothing; no debt is dropped on the way."""

from __future__ import annotations

from support import make_document

from archivist.core.db import database
from archivist.core.index_state import mark_for_index
from archivist.core.models import Document, Node
from archivist.core.search import search_index
from archivist.core.settings import Settings
from archivist.jobs.indexing import TAKE_ALONG, index_document


def owing() -> set[int]:
    with database.connection_context():
        query = Document.select(Document.node).where(
            Document.indexed_revision < Document.index_revision
        )
        return {int(node_id) for (node_id,) in query.tuples()}


def test_a_queued_job_takes_owed_documents_along(settings: Settings, make_user) -> None:
    alice = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == alice.id) & (Node.special == "home")).id
    first = make_document(home, alice.id, "first", ["apple orchard", "pear"])
    second = make_document(home, alice.id, "second", ["plum"])
    third = make_document(home, alice.id, "third", ["cherry"])
    with database.connection_context(), database.atomic():
        mark_for_index([first, second, third])
    assert owing() == {first, second, third}

    # The first job writes its document and the two others, in one write.
    assert index_document(first, owed_only=True) == 4
    assert owing() == set()
    index = search_index(settings)
    assert set(index.document_versions()) == {first, second, third}
    # Their own jobs, still queued, find the debt paid and write nothing.
    assert index_document(second, owed_only=True) == 0
    assert index_document(third, owed_only=True) == 0

    # A later change is a new debt, paid by its own job (a job whose debt is paid ends at
    # once: it does not go looking for other work).
    with database.connection_context(), database.atomic():
        Node.update(title="third, renamed").where(Node.id == third).execute()
        mark_for_index([third])
    assert owing() == {third}
    assert index_document(second, owed_only=True) == 0
    assert index_document(third, owed_only=True) == 1
    assert owing() == set()
    hits = index.search('title:"renamed"', principals=(f"user:{alice.id}",)).hits
    assert [hit.document_id for hit in hits] == [third]

    # Called directly (the pipeline, a test, a repair), a job writes its document anyway.
    assert index_document(first) == 2


def test_a_document_never_indexed_is_owed(settings: Settings, make_user) -> None:
    """A document no index job ever wrote (made before index debts were recorded, or
    straight in the database) is written by its queued job, debt recorded or not."""
    alice = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == alice.id) & (Node.special == "home")).id
    document = make_document(home, alice.id, "old", ["apple"])
    assert owing() == set()  # no debt recorded
    assert index_document(document, owed_only=True) == 1
    assert index_document(document, owed_only=True) == 0  # written now: nothing owed


def test_take_along_is_bounded(settings: Settings, make_user) -> None:
    alice = make_user("alice")
    with database.connection_context():
        home = Node.get((Node.owner_user == alice.id) & (Node.special == "home")).id
    ids = [make_document(home, alice.id, f"d{n}", ["word"]) for n in range(TAKE_ALONG + 3)]
    with database.connection_context(), database.atomic():
        mark_for_index(ids)
    assert index_document(ids[-1], owed_only=True) == TAKE_ALONG + 1
    left = owing()
    assert len(left) == 2  # left for the next job that has work
    assert index_document(ids[-1], owed_only=True) == 0
    assert index_document(min(left), owed_only=True) == 2
    assert owing() == set()
