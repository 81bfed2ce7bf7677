"""Index jobs: bring one document's entries in the search index up to date."""

from __future__ import annotations

from archivist.core.db import with_connection
from archivist.core.search import index_documents, search_index
from archivist.core.settings import get_settings


@with_connection
def index_document(document_id: int) -> int:
    """Write the document's entries as the database has them now; returns how many pages.

    A document that is gone, trashed or has no finished page leaves the index. Idempotent:
    it records the revision it wrote (see archivist.core.index_state), so a job lost with
    Redis is found owed and enqueued again by the reconciler. Writers wait for each other on
    the index's lock (see archivist.indexes.locking).
    """
    return index_documents(search_index(get_settings()), [document_id])
