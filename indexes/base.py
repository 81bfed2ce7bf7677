"""The interface every search engine implements, and the work they share.

An engine translates the query AST (``archivist.indexes.query``) into its own query,
restricted to the searching principals inside that query, and returns stored page data;
this module turns that data into :class:`PageHit` values the same way for every engine.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from archivist.indexes.analysis import KEYWORD_SEPARATOR, keyword
from archivist.indexes.highlight import Highlighter
from archivist.indexes.locking import DEFAULT_LOCK_TIMEOUT
from archivist.indexes.query import And, Node, Word, parse_query
from archivist.indexes.records import RELEVANCE, PageHit, PageRecord, SearchOrder, SearchResults

PAGES_PER_DOCUMENT = 3  # pages listed under each document when results are grouped
MAX_LIMIT = 1000


class IndexUnavailable(RuntimeError):
    """The index cannot be reached right now (a remote index whose server is down or cut
    off); a search may be tried again later, and a write's debt stays for its retry."""


@dataclass(frozen=True)
class StoredPage:
    """What an engine keeps of a page to build a hit from (its ids, language and text)."""

    document_id: int
    version_id: int
    page_number: int
    language: str
    text: str

    @classmethod
    def of(cls, record: PageRecord, language: str) -> StoredPage:
        return cls(record.document_id, record.version_id, record.page_number, language, record.text)

    def dumps(self) -> str:
        return json.dumps(
            [self.document_id, self.version_id, self.page_number, self.language, self.text]
        )

    @classmethod
    def loads(cls, data: str | bytes) -> StoredPage:
        document_id, version_id, page_number, language, text = json.loads(data)
        return cls(document_id, version_id, page_number, language, text)


@dataclass(frozen=True)
class Scope:
    """What narrows and orders a search besides its query: a folder, and the order."""

    folder_id: int | None = None
    order: SearchOrder = RELEVANCE
    # Count the facets (over every match: the total is then exact too).
    facets: bool = True
    # Without facets, matches an engine must check before it may estimate the total instead
    # of counting it (None: always count).
    exact_up_to: int | None = None


@dataclass
class EngineHit:
    """A matching page as an engine reports it, with the document's best pages if grouped."""

    page: StoredPage
    score: float
    pages: list[tuple[StoredPage, float]]


@dataclass
class EngineResults:
    total: int
    hits: list[EngineHit]
    tagset_counts: dict[str, int]  # joined tag set of a page -> matching pages with it
    exact: bool = True  # False: ``total`` is the engine's estimate


class SearchIndex(ABC):
    """A full-text index of pages, one entry per page of the newest indexed version.

    Writes from several processes wait for each other (see ``archivist.indexes.locking``);
    readers never wait for writers and see each write whole or not at all. Use as a
    context manager, or call :meth:`close` when done. An index object is not thread-safe:
    open one per thread (they share the index and its write lock). ``location`` is where the
    index is (a folder, or ``host:port`` of a remote one), for messages.
    """

    backend: ClassVar[str]

    def __init__(self, location: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        self.location = str(location)
        self.lock_timeout = lock_timeout

    def replace_document(self, document_id: int, records: Sequence[PageRecord]) -> None:
        """Atomically replace every page of ``document_id`` with ``records``.

        Use it for a new version and for any change to title, tags, folder, type or
        readers; an empty ``records`` removes the document. Raises ``ValueError`` if a
        record belongs to another document, :class:`IndexLockTimeout` if another writer
        holds the index too long.
        """
        self.replace_documents({document_id: records})

    def replace_documents(self, documents: Mapping[int, Sequence[PageRecord]]) -> None:
        """Replace several documents in one atomic write (faster for bulk reindexing).

        Raises as :meth:`replace_document` does.
        """
        for document_id, records in documents.items():
            for record in records:
                if record.document_id != document_id:
                    raise ValueError(
                        f"Page record of document {record.document_id} passed for"
                        f" document {document_id}"
                    )
        self._write(documents)

    def delete_document(self, document_id: int) -> None:
        """Remove every page of ``document_id`` (nothing happens if it is not indexed)."""
        self._write({document_id: ()})

    def search(
        self,
        query: str,
        *,
        principals: Sequence[str],
        limit: int = 20,
        offset: int = 0,
        group_by_document: bool = False,
        folder_id: int | None = None,
        order: SearchOrder = RELEVANCE,
        facets: bool = True,
        exact_up_to: int | None = None,
    ) -> SearchResults:
        """Find the pages matching ``query`` that any of ``principals`` may read.

        Hits are ordered by ``order`` (relevance by default); ``offset``/``limit`` page
        through them (through documents when ``group_by_document``: a document's pages are
        then its best ones, or with another order its first matching ones, and the hit is
        the first of them). ``folder_id`` keeps pages of documents in that folder or below
        it. No principals find nothing.

        Facets and the total are counted over every match. Without ``facets`` (then
        ``tag_facets`` is empty), an engine may stop counting after ``exact_up_to`` matches
        and estimate the total (``total_exact`` is then False): a common word in a large
        archive costs the top hits, not a walk over all its pages. Raises
        :class:`QueryError` for a malformed query, ``ValueError`` for a negative offset
        or a limit outside 1..1000, ``TypeError`` if ``principals`` is a single string.
        """
        if isinstance(principals, str):  # a lone "user:5" would read as its characters
            raise TypeError("principals must be a sequence of principals, not one string")
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise ValueError(f"limit must be 1..{MAX_LIMIT} and offset >= 0")
        node = parse_query(query)
        readers = sorted({keyword(principal) for principal in principals} - {""})
        if not readers:
            return SearchResults(total=0, hits=[], tag_facets={})
        scope = Scope(folder_id, order, facets, None if facets else exact_up_to)
        found = self._search(node, readers, limit, offset, group_by_document, scope)
        highlighter = Highlighter.for_query(node, self._stem)
        hits = []
        for engine_hit in found.hits:
            hit = _page_hit(engine_hit.page, engine_hit.score, highlighter)
            if group_by_document:
                hit.pages = [
                    _page_hit(page, score, highlighter) for page, score in engine_hit.pages
                ]
            hits.append(hit)
        return SearchResults(found.total, hits, _tag_facets(found.tagset_counts), found.exact)

    def __enter__(self) -> SearchIndex:
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.close()

    @abstractmethod
    def job_lock(self) -> AbstractContextManager[None]:
        """Held by one index job at a time, for its whole read, write and record, by every
        process that writes this index (see ``archivist.core.search.index_documents``).
        Raises :class:`IndexLockTimeout` after the lock timeout, :class:`IndexUnavailable`
        when the index cannot be reached."""

    @abstractmethod
    def document_versions(self) -> dict[int, int]:
        """Map each indexed document id to the version id its pages come from."""

    @abstractmethod
    def page_count(self) -> int:
        """How many pages the index holds."""

    @abstractmethod
    def clear(self) -> None:
        """Remove every page (before a full reindex). Raises as writes do."""

    @abstractmethod
    def close(self) -> None:
        """Release open files; the object cannot be used afterwards."""

    @abstractmethod
    def _write(self, documents: Mapping[int, Sequence[PageRecord]]) -> None:
        """Under the write lock, delete each document's pages and add its records."""

    @abstractmethod
    def _search(
        self, node: Node, readers: list[str], limit: int, offset: int, grouped: bool,
        scope: Scope,
    ) -> EngineResults:  # fmt: skip
        """Run ``node`` restricted to pages readable by any of ``readers`` (and to
        ``scope``'s folder), in ``scope``'s order (see :meth:`search`)."""

    @abstractmethod
    def _stem(self, language: str, word: str) -> str | None:
        """This engine's stem of ``word`` in ``language`` (``None``: not stemmed)."""


def adjacent_words(node: And) -> tuple[str, ...]:
    """The plain text words of an AND, in query order, to boost pages holding them as a
    phrase: that is how "net income" ranks a page saying "net income" above a page with
    "net" and "income" far apart."""
    found = tuple(
        item.text for item in node.items if isinstance(item, Word) and item.field == "text"
    )
    return found if len(found) > 1 else ()


def tagset(tags: Iterable[str]) -> str:
    """Join a page's distinct tags into one value that engines count for facets."""
    return KEYWORD_SEPARATOR.join(sorted({tag.strip() for tag in tags if tag.strip()}))


def _tag_facets(tagset_counts: Mapping[str, int]) -> dict[str, int]:
    # Engines count pages per distinct tag set (cheap, native); a tag's page count is the
    # sum over the sets that contain it, each page having exactly one set.
    facets: dict[str, int] = {}
    for joined, count in tagset_counts.items():
        for tag in joined.split(KEYWORD_SEPARATOR) if joined else ():
            facets[tag] = facets.get(tag, 0) + count
    return dict(sorted(facets.items(), key=lambda item: (-item[1], item[0])))


def _page_hit(page: StoredPage, score: float, highlighter: Highlighter) -> PageHit:
    snippet, matched, phrase_only = highlighter.highlight(page.text, page.language)
    return PageHit(
        page.document_id, page.version_id, page.page_number, score, snippet, matched,
        phrase_only=phrase_only, phrases=highlighter.phrases if phrase_only else (),
    )  # fmt: skip
