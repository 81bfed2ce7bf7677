"""The plain records the search layer indexes and returns.

These carry no project model objects: ``archivist.core`` turns its pages into
:class:`PageRecord` values, and search results come back as :class:`PageHit` values
that name pages by id, so ``indexes`` never imports the rest of the project.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(frozen=True)
class PageRecord:
    """One page of one document version, as the index stores it.

    ``folder_path`` holds the titles of the ancestor folders from the owner's Home down,
    e.g. ``("Home", "Taxes", "2024")``; ``readers`` holds the permission principals that
    may read the page (``"user:5"``, ``"group:3"``), the owner among them; ``language`` is
    an ISO 639-1 code. Naive datetimes are taken as UTC.
    """

    document_id: int
    version_id: int
    page_number: int
    title: str
    tags: tuple[str, ...]
    folder_path: tuple[str, ...]
    document_type: str | None
    language: str
    owner_id: int
    readers: tuple[str, ...]
    created: datetime
    modified: datetime
    text: str
    # The ids of the ancestor folders, from the root down (what a search's folder scope
    # matches: unlike titles, an id names one folder whatever its title holds).
    folder_ids: tuple[int, ...] = ()


@dataclass(frozen=True)
class SearchOrder:
    """How hits are ordered: ``by`` "relevance" (best first; ``descending`` is ignored),
    "title" (case- and accent-insensitive), "created" or "modified" (the document's dates).

    Ties, and every order but relevance, fall back to the document id and the page number,
    ascending, so both engines give the same order.
    """

    by: str = "relevance"
    descending: bool = False

    FIELDS = ("relevance", "title", "created", "modified")

    def __post_init__(self) -> None:
        if self.by not in self.FIELDS:
            raise ValueError(f"order by one of {self.FIELDS}, not {self.by!r}")


RELEVANCE = SearchOrder()


@dataclass
class PageHit:
    """A page that matched a query.

    ``snippet`` is HTML-escaped page text with matched words in ``<mark>…</mark>``;
    ``matched_terms`` are the word forms as they appear in the page text (in order of
    first appearance), so a caller can find their OCR word boxes. ``pages`` is only filled
    when results are grouped by document: the document's best pages, this one first.
    """

    document_id: int
    version_id: int
    page_number: int
    score: float
    snippet: str
    matched_terms: tuple[str, ...]
    pages: list[PageHit] = field(default_factory=list)
    # Of ``matched_terms``, those only a phrase of the query matched, and the query's
    # phrases (folded words): mark them only where a phrase stands whole.
    phrase_only: tuple[str, ...] = ()
    phrases: tuple[tuple[str, ...], ...] = ()


@dataclass
class SearchResults:
    """One page of search results.

    ``total`` is the number of matching pages (of documents when grouped) that the
    searching principals may read: exact unless ``total_exact`` is False (an estimate, see
    ``SearchIndex.search``); ``tag_facets`` maps each tag to its number of matching pages,
    counted over all matches, not only this page of hits; ``type_facets`` (document type
    name) and ``year_facets`` (year created, UTC) likewise, when the search asked for them,
    most first.
    """

    total: int
    hits: list[PageHit]
    tag_facets: dict[str, int]
    type_facets: dict[str, int] = field(default_factory=dict)
    year_facets: dict[int, int] = field(default_factory=dict)
    total_exact: bool = True
