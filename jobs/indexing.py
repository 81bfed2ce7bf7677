"""Index jobs: bring one document's entries in the search index up to date."""

from __future__ import annotations

from archivist.core.db import with_connection
from archivist.core.search import page_records, search_index
from archivist.core.settings import get_settings


@with_connection
def index_document(document_id: int) -> int:
    """Replace the document's entries with its current pages; returns how many were indexed.

    A document that is gone (or has no finished page) leaves the index. Idempotent. Writers
    wait for each other on the index's lock (see archivist.indexes.locking).
    """
    records = page_records(document_id)
    index = search_index(get_settings())
    if records:
        index.replace_document(document_id, records)
    else:
        index.delete_document(document_id)
    return len(records)
