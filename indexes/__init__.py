"""Full-text search over document pages: one interface, two engines (Xapian, Whoosh).

``indexes`` imports nothing else of the project: ``archivist.core`` hands it plain
:class:`PageRecord` values and gets :class:`SearchResults` back.

>>> index = open_index("xapian", "data/index")            # doctest: +SKIP
>>> index.replace_document(7, records)                    # doctest: +SKIP
>>> index.search("invoice tag:2024", principals=["user:5", "group:3"])  # doctest: +SKIP
>>> open_index("xapian", "data/index", remote="index.internal:8100")  # doctest: +SKIP
"""

from __future__ import annotations

from pathlib import Path

from archivist.indexes.base import IndexUnavailable, SearchIndex
from archivist.indexes.locking import DEFAULT_LOCK_TIMEOUT, IndexLockTimeout
from archivist.indexes.query import QueryError
from archivist.indexes.records import PageHit, PageRecord, SearchOrder, SearchResults
from archivist.indexes.whoosh_index import WhooshIndex
from archivist.indexes.xapian_index import XapianIndex
from archivist.indexes.xapian_remote import DEFAULT_REMOTE_TIMEOUT, RemoteXapianIndex

BACKENDS: dict[str, type[SearchIndex]] = {"xapian": XapianIndex, "whoosh": WhooshIndex}

__all__ = [
    "BACKENDS",
    "IndexLockTimeout",
    "IndexUnavailable",
    "PageHit",
    "PageRecord",
    "QueryError",
    "RemoteXapianIndex",
    "SearchIndex",
    "SearchOrder",
    "SearchResults",
    "WhooshIndex",
    "XapianIndex",
    "open_index",
]


def open_index(
    backend: str,
    path: str | Path,
    *,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT,
    remote: str | None = None,
    remote_timeout: float = DEFAULT_REMOTE_TIMEOUT,
) -> SearchIndex:
    """Open (creating it if needed) the search index of ``backend`` at folder ``path``.

    ``backend`` is ``"xapian"`` (the default engine) or ``"whoosh"``; anything else raises
    ``ValueError``. Opening an index of the other engine's format fails in the engine. With
    ``remote`` (``host:port``, Xapian only), the index is the one ``xapian-tcpsrv`` serves
    there and ``path`` is not used; ``remote_timeout`` bounds each network operation (seconds).
    """
    try:
        engine = BACKENDS[backend.strip().lower()]
    except KeyError:
        known = ", ".join(BACKENDS)
        raise ValueError(f'Unknown search backend "{backend}" (known: {known})') from None
    if remote is not None:
        if engine is not XapianIndex:
            raise ValueError(f"A remote index needs the xapian backend, not {backend!r}")
        return RemoteXapianIndex(remote, lock_timeout=lock_timeout, timeout=remote_timeout)
    return engine(path, lock_timeout=lock_timeout)
