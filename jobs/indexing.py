"""Index jobs: bring one document's entries in the search index up to date."""

from __future__ import annotations

from archivist.core.db import with_connection
from archivist.core.search import index_documents, search_index
from archivist.core.settings import get_settings

# Other documents owing index work that a queued job takes along into its write.
TAKE_ALONG = 49


@with_connection
def index_document(document_id: int, owed_only: bool = False) -> int:
    """Write the document's entries as the database has them now; returns how many pages
    (of every document written).

    A document that is gone, trashed or has no finished page leaves the index. Idempotent:
    it records the revision it wrote (see archivist.core.index_state), so a job lost with
    Redis is found owed and enqueued again by the reconciler. Writers wait for each other on
    the index's lock (see archivist.indexes.locking).

    Queued jobs pass ``owed_only``: then the job writes its document only if it still owes
    index work, and takes up to :data:`TAKE_ALONG` other documents that owe it into the same
    write, so a change to many documents (one job each) costs a few commits, and the jobs
    whose documents came along find nothing owed and end at once. A debt is never dropped:
    it is paid only by a write that read the data after the debt's revision.
    """
    return index_documents(
        search_index(get_settings()), [document_id], owed_only=owed_only,
        take_owed=TAKE_ALONG if owed_only else 0,
    )  # fmt: skip
