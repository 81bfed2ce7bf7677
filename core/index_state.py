"""What the search index owes each document, kept in the database (the source of truth).

Every change that alters what search holds for a document (title, folder, tags, type, trash,
readers, a new version) calls :func:`mark_for_index` in the same transaction as the change.
That raises the document's ``index_revision``; an index job records the revision it wrote
(``indexed_revision``). A document whose indexed revision is behind owes index work: the
queue normally delivers it at once, and when the queue lost it (Redis flushed or down, a
killed worker), the reconciler finds the debt here and enqueues the work again.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from archivist.core.db import utcnow
from archivist.core.models import Document


def mark_for_index(document_ids: Iterable[int]) -> None:
    """Record that these documents' index entries must be rewritten.

    Call it inside the transaction that makes the change, so that the change and the debt
    are committed together. Ids of documents that are gone are ignored.
    """
    ids = sorted(set(document_ids))
    if ids:
        Document.update(
            index_revision=Document.index_revision + 1, index_requested_at=utcnow()
        ).where(Document.node.in_(ids)).execute()


def documents_behind(older_than: timedelta, limit: int = 500) -> list[tuple[int, int]]:
    """(document id, index revision) of documents owing index work asked for before
    ``older_than`` ago (younger debts are still on their way through the queue)."""
    cutoff = utcnow() - older_than
    query = (
        Document.select(Document.node, Document.index_revision)
        .where(
            (Document.indexed_revision < Document.index_revision)
            & (Document.index_requested_at.is_null() | (Document.index_requested_at < cutoff))
        )
        .order_by(Document.index_requested_at, Document.node)
        .limit(limit)
    )
    return [(row.node_id, row.index_revision) for row in query]


def asked_again(document_id: int, revision: int) -> bool:
    """Restart the document's grace period; False when another reconciler did it first or the
    debt was paid meanwhile (then the caller enqueues nothing)."""
    count: int = (
        Document.update(index_requested_at=utcnow())
        .where(
            (Document.node == document_id)
            & (Document.index_revision == revision)
            & (Document.indexed_revision < revision)
        )
        .execute()
    )
    return count > 0
