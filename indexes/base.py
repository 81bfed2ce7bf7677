"""The interface every search engine implements, and the work they share.

An engine translates the query AST (``archivist.indexes.query``) into its own query,
restricted to the searching principals inside that query, and returns stored page data;
this module turns that data into :class:`PageHit` values the same way for every engine.
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import ClassVar

from archivist.indexes import spelling
from archivist.indexes.analysis import KEYWORD_SEPARATOR, keyword, words
from archivist.indexes.highlight import Highlighter
from archivist.indexes.locking import DEFAULT_LOCK_TIMEOUT
from archivist.indexes.query import And, Node, Word, parse_query
from archivist.indexes.records import RELEVANCE, PageHit, PageRecord, SearchOrder, SearchResults

PAGES_PER_DOCUMENT = 3  # pages listed under each document when results are grouped
MAX_LIMIT = 1000
# Counts a search can add besides its tag facets (each costs a little on every match).
EXTRA_FACETS = ("type", "year")
# Key terms of a document that "more like this" searches for.
SIMILAR_TERMS = 20


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
    """What narrows and orders a search besides its query (a folder, the order), and the
    extra facets it counts (see ``EXTRA_FACETS``)."""

    folder_id: int | None = None
    order: SearchOrder = RELEVANCE
    # Extra facets to count besides the tags' (see EXTRA_FACETS).
    facets: tuple[str, ...] = ()
    # Count the tag facets (over every match: the total is then exact too).
    tag_facets: bool = True
    # Without any facets, matches an engine must check before it may estimate the total
    # instead of counting it (None: always count).
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
    # Each extra facet asked for (see EXTRA_FACETS): value -> matching pages with it.
    extra_counts: dict[str, dict[str, int]] = field(default_factory=dict)


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
        facets: Sequence[str] = (),
        tag_facets: bool = True,
        exact_up_to: int | None = None,
    ) -> SearchResults:
        """Find the pages matching ``query`` that any of ``principals`` may read.

        Hits are ordered by ``order`` (relevance by default); ``offset``/``limit`` page
        through them (through documents when ``group_by_document``: a document's pages are
        then its best ones, or with another order its first matching ones, and the hit is
        the first of them). ``folder_id`` keeps pages of documents in that folder or below
        it. ``facets`` adds counts besides the tags' (``"type"``: per document type name,
        ``"year"``: per year created), over the same matches. No principals find nothing.

        Facets and the total are counted over every match. Without any facets
        (``tag_facets`` False: ``tag_facets`` of the results is then empty), an engine may
        stop counting after ``exact_up_to`` matches and estimate the total (``total_exact``
        is then False): a common word in a large archive costs the top hits, not a walk over
        all its pages. Raises
        :class:`QueryError` for a malformed query, ``ValueError`` for a negative offset
        or a limit outside 1..1000, ``TypeError`` if ``principals`` is a single string.
        """
        if isinstance(principals, str):  # a lone "user:5" would read as its characters
            raise TypeError("principals must be a sequence of principals, not one string")
        if not 1 <= limit <= MAX_LIMIT or offset < 0:
            raise ValueError(f"limit must be 1..{MAX_LIMIT} and offset >= 0")
        if unknown := set(facets) - set(EXTRA_FACETS):
            raise ValueError(f"unknown facets {sorted(unknown)} (known: {EXTRA_FACETS})")
        node = parse_query(query)
        readers = sorted({keyword(principal) for principal in principals} - {""})
        if not readers:
            return SearchResults(total=0, hits=[], tag_facets={})
        extra = tuple(dict.fromkeys(facets))
        bounded = None if tag_facets or extra else exact_up_to
        scope = Scope(folder_id, order, extra, tag_facets, bounded)
        found = self._search(node, readers, limit, offset, group_by_document, scope)
        highlighter = Highlighter.for_query(node, self._stem_function())
        hits = []
        for engine_hit in found.hits:
            hit = _page_hit(engine_hit.page, engine_hit.score, highlighter)
            if group_by_document:
                hit.pages = [
                    _page_hit(page, score, highlighter) for page, score in engine_hit.pages
                ]
            hits.append(hit)
        return SearchResults(
            found.total, hits, _tag_facets(found.tagset_counts),
            type_facets=_counted(found.extra_counts.get("type", {})),
            year_facets={
                int(year): count
                for year, count in _counted(found.extra_counts.get("year", {})).items()
                if year.isdigit()
            },
            total_exact=found.exact,
        )  # fmt: skip

    def complete(self, prefix: str, *, principals: Sequence[str], limit: int = 10) -> list[str]:
        """Indexed words (of page text and titles) starting with the last word of ``prefix``
        (none when ``prefix`` ends in a space or punctuation), most frequent first, each on at
        least one page one of ``principals`` may read (see ``archivist.indexes.spelling``).
        Raises ``ValueError`` for a limit outside 1..100,
        ``TypeError`` if ``principals`` is a single string."""
        readers = _readers(principals)
        if not 1 <= limit <= 100:
            raise ValueError("limit must be 1..100")
        typed = words(prefix)
        # After a space (or other punctuation) the next word has not been started yet.
        if not typed or not readers or not prefix[-1].isalnum():
            return []
        candidates = self._words_starting(typed[-1], spelling.MAX_CHECKED)
        return self._readable(candidates, readers, limit)

    def suggest_query(
        self, query: str, *, principals: Sequence[str], folder_id: int | None = None
    ) -> str | None:
        """ "Did you mean": ``query`` with each word that no page of ``principals`` holds
        replaced by the nearest indexed word that one does (one or two edits away), when the
        whole respelled query finds pages they may read (in ``folder_id``, as :meth:`search`
        scopes it); otherwise None. Raises
        :class:`QueryError` for a malformed query."""
        readers = _readers(principals)
        node = parse_query(query)
        if not readers:
            return None
        corrections: dict[str, str] = {}
        typed = spelling.query_words(node)
        known = set(self._readable(typed, readers, len(typed), folder_id))
        for word in typed:
            if word in known:
                continue
            edits = spelling.allowed_edits(word)
            near = spelling.nearest(word, self._words_near(word, edits))
            # The nearest word on a page they may read (in the folder searched).
            found = self._readable(near, readers, 1, folder_id)
            if found:
                corrections[word] = found[0]
        if not corrections:
            return None
        respelled = spelling.respell(query, corrections)
        if respelled == query:
            return None
        again = self.search(respelled, principals=principals, limit=1, folder_id=folder_id)
        return respelled if again.total else None

    def similar_documents(
        self, document_id: int, *, principals: Sequence[str], limit: int = 10
    ) -> list[tuple[int, float]]:
        """Documents like ``document_id`` ("more like this"): those sharing its key terms
        (the words that set it apart from the rest of the index), best first, as (document id,
        score). Only documents one of ``principals`` may read, never the document itself;
        nothing when it is not indexed. Raises ``ValueError`` for a limit outside 1..100,
        ``TypeError`` if ``principals`` is a single string."""
        readers = _readers(principals)
        if not 1 <= limit <= 100:
            raise ValueError("limit must be 1..100")
        if not readers:
            return []
        return self._similar(document_id, readers, limit)

    def compact(self) -> bool:
        """Rewrite the index in its smallest, fastest form (after a large reindex); readers
        keep answering meanwhile. Returns False where this engine or backend cannot (a remote
        index: compact it on its host). Raises :class:`IndexLockTimeout` as writes do."""
        return False

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
    def _stem_function(self) -> Callable[[str, str], str | None]:
        """This engine's cached ``stem(language, word)`` (``None``: not stemmed), a plain
        function (see ``archivist.indexes.analysis.build_stemmer_cache``): highlighting
        calls it for every new word form of a hit's page."""

    @abstractmethod
    def _words_starting(self, prefix: str, limit: int) -> list[str]:
        """The ``limit`` most frequent indexed words (page text and titles; all pages, readable
        or not) starting with ``prefix``, most frequent first (of the first
        ``spelling.MAX_LISTED`` words of each field in alphabetical order)."""

    @abstractmethod
    def _words_near(self, word: str, edits: int) -> list[tuple[str, int]]:
        """Indexed words that may be within ``edits`` edits of ``word`` (all pages), with their
        page frequencies: at least those sharing its first letter (a superset is fine)."""

    @abstractmethod
    def _readable(
        self, words: Sequence[str], readers: list[str], want: int, folder_id: int | None = None
    ) -> list[str]:
        """Those of ``words`` that a page any of ``readers`` may read holds (in its text or
        title; in ``folder_id`` or below it when given), in their order, the first ``want``."""

    @abstractmethod
    def _similar(self, document_id: int, readers: list[str], limit: int) -> list[tuple[int, float]]:
        """See :meth:`similar_documents` (``readers`` are reader terms)."""


def _readers(principals: Sequence[str]) -> list[str]:
    if isinstance(principals, str):  # a lone "user:5" would read as its characters
        raise TypeError("principals must be a sequence of principals, not one string")
    return sorted({keyword(principal) for principal in principals} - {""})


def _counted(counts: Mapping[str, int]) -> dict[str, int]:
    """Facet counts, most first, then by value; pages without a value (no type, or indexed
    before the facet existed) are left out."""
    return dict(sorted(((v, c) for v, c in counts.items() if v), key=lambda i: (-i[1], i[0])))


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
