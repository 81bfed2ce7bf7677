"""The Xapian engine (the default): the faster one, with one writer at a time per database.

Term prefixes follow Xapian's convention of upper-case prefixes: ``W`` page words (with
positions), ``Z`` language-tagged stems, ``S``/``XS`` title words and stems, ``K`` tags,
``P`` folder paths, ``T`` type, ``L`` language, ``R`` readers, ``Q`` document id and
``V`` "document:version". Values hold what must be counted, collapsed or ranged.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import xapian

from archivist.indexes.analysis import (
    STEMMED_LANGUAGES,
    build_stemmer_cache,
    folder_terms,
    keyword,
    language_code,
    stem_term,
    timestamp,
    words,
)
from archivist.indexes.base import (
    PAGES_PER_DOCUMENT,
    EngineHit,
    EngineResults,
    SearchIndex,
    StoredPage,
    adjacent_words,
    tagset,
)
from archivist.indexes.locking import DEFAULT_LOCK_TIMEOUT, IndexLockTimeout, write_lock
from archivist.indexes.query import (
    And,
    DateRange,
    Keyword,
    Node,
    Not,
    Or,
    Phrase,
    Prefix,
    Word,
)
from archivist.indexes.records import PageRecord

SLOT_DOCUMENT, SLOT_CREATED, SLOT_MODIFIED, SLOT_TAGSET = 0, 1, 2, 3
_KEYWORD_PREFIX = {"tag": "K", "in": "P", "type": "T", "lang": "L"}
_DATE_SLOT = {"created": SLOT_CREATED, "modified": SLOT_MODIFIED}
_RETRIES = 5


def _stemmer(language: str) -> Callable[[str], str]:
    stemmer = xapian.Stem(language)
    return lambda word: stemmer(word).decode()


_stem = build_stemmer_cache(_stemmer)


class XapianIndex(SearchIndex):
    """A :class:`SearchIndex` stored in a Xapian (glass) database folder at ``path``."""

    backend = "xapian"

    def __init__(self, path: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        super().__init__(path, lock_timeout=lock_timeout)
        if not (self.path / "iamglass").exists():
            with write_lock(self.path, lock_timeout):
                self._writable(xapian.DB_CREATE_OR_OPEN).close()
        self._reader: Any = xapian.Database(str(self.path))

    def _stem(self, language: str, word: str) -> str | None:
        return _stem(language, word)

    def _writable(self, flags: int) -> Any:
        # Our lock serializes our own writers; this loop only waits out a writer that does
        # not take it (e.g. a maintenance tool), up to the same timeout.
        deadline = time.monotonic() + self.lock_timeout
        while True:
            try:
                return xapian.WritableDatabase(str(self.path), flags)
            except xapian.DatabaseLockError:
                if time.monotonic() >= deadline:
                    raise IndexLockTimeout(f"Xapian database at {self.path} stays locked") from None
                time.sleep(0.05)

    def _write(self, documents: Mapping[int, Sequence[PageRecord]]) -> None:
        with write_lock(self.path, self.lock_timeout):
            database = self._writable(xapian.DB_CREATE_OR_OPEN)
            try:
                # A transaction, so a failure half-way leaves the index as it was: closing a
                # WritableDatabase outside one would commit whatever was done so far.
                database.begin_transaction()
                try:
                    for document_id, records in documents.items():
                        database.delete_document(f"Q{document_id}")
                        for record in records:
                            database.add_document(_document(record))
                    database.commit_transaction()
                except BaseException:
                    database.cancel_transaction()
                    raise
            finally:
                database.close()

    def clear(self) -> None:
        with write_lock(self.path, self.lock_timeout):
            database = self._writable(xapian.DB_CREATE_OR_OVERWRITE)
            database.commit()
            database.close()
        self._reader.close()
        self._reader = xapian.Database(str(self.path))

    def close(self) -> None:
        self._reader.close()

    def page_count(self) -> int:
        return int(self._fresh().get_doccount())

    def document_versions(self) -> dict[int, int]:
        versions: dict[int, int] = {}
        for item in self._fresh().allterms("V"):
            document_id, version_id = item.term.decode()[1:].split(":")
            versions[int(document_id)] = int(version_id)
        return versions

    def _fresh(self) -> Any:
        """The reader, moved to the latest committed revision."""
        self._reader.reopen()
        return self._reader

    def _search(
        self, node: Node, readers: list[str], limit: int, offset: int, grouped: bool
    ) -> EngineResults:
        for attempt in range(_RETRIES):
            try:
                return self._run(node, readers, limit, offset, grouped)
            except xapian.DatabaseModifiedError:
                # A writer recycled the blocks this revision was read from: start over.
                if attempt == _RETRIES - 1:
                    raise
        raise AssertionError("unreachable")

    def _run(
        self, node: Node, readers: list[str], limit: int, offset: int, grouped: bool
    ) -> EngineResults:
        database = self._fresh()
        languages = sorted(
            language
            for item in database.allterms("L")
            if (language := item.term.decode()[1:]) in STEMMED_LANGUAGES
        )
        allowed = _or([xapian.Query(f"R{reader}") for reader in readers])
        query = xapian.Query(xapian.Query.OP_FILTER, _translate(node, languages), allowed)
        everything = database.get_doccount()
        enquire = xapian.Enquire(database)
        enquire.set_query(query)
        tag_spy = xapian.ValueCountMatchSpy(SLOT_TAGSET)
        enquire.add_matchspy(tag_spy)
        document_spy = xapian.ValueCountMatchSpy(SLOT_DOCUMENT)
        if grouped:
            enquire.add_matchspy(document_spy)
            enquire.set_collapse_key(SLOT_DOCUMENT, 1)
        # checkatleast = every document: exact totals, and the spies see every match.
        matches = enquire.get_mset(offset, limit, everything)
        hits = []
        for match in matches:
            page = StoredPage.loads(match.document.get_data())
            pages: list[tuple[StoredPage, float]] = []
            if grouped:
                pages = self._best_pages(database, query, page.document_id)
            hits.append(EngineHit(page, float(match.weight), pages))
        tagset_counts = {item.term.decode(): item.termfreq for item in tag_spy.values()}
        if grouped:
            total = sum(1 for _ in document_spy.values())
        else:
            total = matches.get_matches_estimated()
        return EngineResults(total, hits, tagset_counts)

    def _best_pages(
        self, database: Any, query: Any, document_id: int
    ) -> list[tuple[StoredPage, float]]:
        enquire = xapian.Enquire(database)
        only = xapian.Query(f"Q{document_id}")
        enquire.set_query(xapian.Query(xapian.Query.OP_FILTER, query, only))
        return [
            (StoredPage.loads(match.document.get_data()), float(match.weight))
            for match in enquire.get_mset(0, PAGES_PER_DOCUMENT)
        ]


def _document(record: PageRecord) -> Any:
    language = language_code(record.language)
    document = xapian.Document()
    document.set_data(StoredPage.of(record, language).dumps())
    for plain, stemmed, found in (("W", "Z", words(record.text)), ("S", "XS", words(record.title))):
        for position, word in enumerate(found, start=1):
            document.add_posting(f"{plain}{word}", position)
        # One call per distinct stem, with its count: far fewer calls into Xapian.
        for word, count in Counter(found).items():
            if (stem := _stem(language, word)) is not None:
                document.add_term(f"{stemmed}{stem_term(language, stem)}", count)
    for tag in filter(None, map(keyword, record.tags)):
        document.add_boolean_term(f"K{tag}")
    for folder in folder_terms(record.folder_path):
        document.add_boolean_term(f"P{folder}")
    if record.document_type:
        document.add_boolean_term(f"T{keyword(record.document_type)}")
    document.add_boolean_term(f"L{language}")
    for reader in filter(None, map(keyword, record.readers)):
        document.add_boolean_term(f"R{reader}")
    document.add_boolean_term(f"Q{record.document_id}")
    document.add_boolean_term(f"V{record.document_id}:{record.version_id}")
    document.add_value(SLOT_DOCUMENT, str(record.document_id))
    document.add_value(SLOT_CREATED, xapian.sortable_serialise(timestamp(record.created)))
    document.add_value(SLOT_MODIFIED, xapian.sortable_serialise(timestamp(record.modified)))
    document.add_value(SLOT_TAGSET, tagset(record.tags))
    return document


def _or(queries: list[Any]) -> Any:
    return queries[0] if len(queries) == 1 else xapian.Query(xapian.Query.OP_OR, queries)


def _word(text: str, plain: str, stemmed: str, languages: list[str]) -> Any:
    terms = [f"{plain}{text}"]
    for language in languages:
        if (stem := _stem(language, text)) is not None:
            terms.append(f"{stemmed}{stem_term(language, stem)}")
    return _or([xapian.Query(term) for term in dict.fromkeys(terms)])


def _translate(node: Node, languages: list[str]) -> Any:
    """Translate a query AST into a ``xapian.Query`` (``languages``: stems to look for)."""
    plain, stemmed = ("W", "Z") if getattr(node, "field", "text") == "text" else ("S", "XS")
    if isinstance(node, Word):
        return _word(node.text, plain, stemmed, languages)
    if isinstance(node, Prefix):
        return xapian.Query(
            xapian.Query.OP_WILDCARD, f"{plain}{node.text}", 0, xapian.Query.WILDCARD_LIMIT_ERROR
        )
    if isinstance(node, Phrase):
        terms = [xapian.Query(f"{plain}{word}") for word in node.words]
        if len(terms) == 1:
            return terms[0]
        return xapian.Query(xapian.Query.OP_PHRASE, terms, len(terms))
    if isinstance(node, Keyword):
        return xapian.Query(f"{_KEYWORD_PREFIX[node.field]}{node.value}")
    if isinstance(node, DateRange):
        return _date_range(node)
    if isinstance(node, Or):
        return _or([_translate(item, languages) for item in node.items])
    if isinstance(node, Not):
        return xapian.Query(
            xapian.Query.OP_AND_NOT, xapian.Query.MatchAll, _translate(node.item, languages)
        )
    return _and(node, languages)


def _and(node: And, languages: list[str]) -> Any:
    # Filters restrict without scoring, negations subtract; what is left ranks the pages.
    scoring = [
        _translate(item, languages)
        for item in node.items
        if not isinstance(item, Keyword | DateRange | Not)
    ]
    filters = [
        _translate(item, languages) for item in node.items if isinstance(item, Keyword | DateRange)
    ]
    negated = [_translate(item.item, languages) for item in node.items if isinstance(item, Not)]
    query = xapian.Query(xapian.Query.OP_AND, scoring) if scoring else xapian.Query.MatchAll
    if filters:
        query = xapian.Query(
            xapian.Query.OP_FILTER, query, xapian.Query(xapian.Query.OP_AND, filters)
        )
    if negated:
        query = xapian.Query(xapian.Query.OP_AND_NOT, query, _or(negated))
    if phrase := adjacent_words(node):
        boost = xapian.Query(
            xapian.Query.OP_PHRASE, [xapian.Query(f"W{w}") for w in phrase], len(phrase)
        )
        query = xapian.Query(xapian.Query.OP_AND_MAYBE, query, boost)
    return query


def _date_range(node: DateRange) -> Any:
    slot = _DATE_SLOT[node.field]
    # Values are whole seconds, so the half-open end becomes the inclusive end - 1.
    low = None if node.start is None else xapian.sortable_serialise(node.start)
    high = None if node.end is None else xapian.sortable_serialise(node.end - 1)
    if low is not None and high is not None:
        return xapian.Query(xapian.Query.OP_VALUE_RANGE, slot, low, high)
    if low is not None:
        return xapian.Query(xapian.Query.OP_VALUE_GE, slot, low)
    return xapian.Query(xapian.Query.OP_VALUE_LE, slot, high)
