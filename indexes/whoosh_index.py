"""The Whoosh engine: pure Python, for platforms without Xapian and as a cross-check.

Both engines index the same terms (see ``archivist.indexes.analysis``); here they are
handed to Whoosh already analyzed, as space- or separator-joined strings that its
analyzers only split, so Whoosh's own lowercasing and stop words never apply.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from itertools import islice
from pathlib import Path
from typing import Any

from whoosh import fields, index, query, sorting
from whoosh.analysis import RegexTokenizer, SpaceSeparatedTokenizer
from whoosh.lang import stemmer_for_language
from whoosh.writing import CLEAR

from archivist.indexes import spelling
from archivist.indexes.analysis import (
    KEYWORD_SEPARATOR,
    STEMMED_LANGUAGES,
    build_stemmer_cache,
    fold,
    folder_terms,
    keyword,
    language_code,
    stem_term,
    timestamp,
    title_sort_key,
    words,
    year_of,
)
from archivist.indexes.base import (
    PAGES_PER_DOCUMENT,
    SIMILAR_TERMS,
    EngineHit,
    EngineResults,
    Scope,
    SearchIndex,
    StoredPage,
    adjacent_words,
    tagset,
)
from archivist.indexes.locking import DEFAULT_LOCK_TIMEOUT, JOB_LOCK_FILE_NAME, write_lock
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

_stem = build_stemmer_cache(stemmer_for_language)
# A match on a folded form counts this much of an exact one, so exact spellings rank first.
FOLDED_WEIGHT = 0.5


def _schema() -> fields.Schema:
    spaced = SpaceSeparatedTokenizer()
    listed = RegexTokenizer(f"[^{KEYWORD_SEPARATOR}]+")
    return fields.Schema(
        doc=fields.ID(sortable=True),  # document id: deletes, grouping, document counts
        docver=fields.ID(sortable=True),  # "document:version", for document_versions()
        words=fields.TEXT(analyzer=spaced, phrase=True),
        folded=fields.TEXT(analyzer=spaced, phrase=True),  # accent-folded words
        stems=fields.TEXT(analyzer=spaced, phrase=False),
        title_words=fields.TEXT(analyzer=spaced, phrase=True),
        title_folded=fields.TEXT(analyzer=spaced, phrase=True),
        title_stems=fields.TEXT(analyzer=spaced, phrase=False),
        tag=fields.TEXT(analyzer=listed, phrase=False),
        tagset=fields.ID(sortable=True),  # for tag facets, see base._tag_facets
        folder=fields.TEXT(analyzer=listed, phrase=False),
        type=fields.ID(),
        lang=fields.ID(),
        reader=fields.TEXT(analyzer=listed, phrase=False),
        created=fields.NUMERIC(numtype=int, bits=64, signed=True),
        modified=fields.NUMERIC(numtype=int, bits=64, signed=True),
        data=fields.STORED(),
        **_added_fields(),
    )


def _added_fields() -> dict[str, Any]:
    """Fields added after the first release: an index made before gets them when opened."""
    number = {"numtype": int, "bits": 64, "signed": True, "sortable": True}
    return {
        "folder_id": fields.TEXT(
            analyzer=RegexTokenizer(f"[^{KEYWORD_SEPARATOR}]+"), phrase=False
        ),  # ancestor folder ids
        "sort_title": fields.ID(sortable=True),
        "sort_created": fields.NUMERIC(**number),
        "sort_modified": fields.NUMERIC(**number),
        "sort_document": fields.NUMERIC(**number),
        "sort_page": fields.NUMERIC(**number),
        "type_name": fields.ID(sortable=True),  # the type as named, for the type facet
        "year": fields.ID(sortable=True),  # year created, for the year facet
    }


_SORT_FIELD = {"title": "sort_title", "created": "sort_created", "modified": "sort_modified"}
_FACET_FIELD = {"type": "type_name", "year": "year"}
_WORD_FIELDS = ("words", "title_words")


class WhooshIndex(SearchIndex):
    """A :class:`SearchIndex` stored in a Whoosh index folder at ``path``.

    Not thread-safe (a Whoosh searcher is not, and :meth:`_fresh` swaps it): one object
    per thread.
    """

    backend = "whoosh"

    def __init__(self, path: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        super().__init__(path, lock_timeout=lock_timeout)
        self.path = Path(path)
        with write_lock(self.path, lock_timeout):
            if index.exists_in(str(self.path)):
                self._index = index.open_dir(str(self.path))
                missing = {
                    name: field
                    for name, field in _added_fields().items()
                    if name not in self._index.schema
                }
                if missing:
                    writer = self._index.writer(timeout=lock_timeout)
                    for name, field in missing.items():
                        writer.add_field(name, field)
                    writer.commit()
            else:
                self._index = index.create_in(str(self.path), _schema())
        self._searcher = self._index.searcher()
        # The most frequent words of short prefixes, with the searcher they were read from.
        self._prefixes: tuple[Any, dict[str, list[str]]] = (None, {})

    def _stem_function(self) -> Callable[[str, str], str | None]:
        return _stem

    def job_lock(self) -> AbstractContextManager[None]:
        return write_lock(self.path, self.lock_timeout, name=JOB_LOCK_FILE_NAME)

    def _write(self, documents: Mapping[int, Sequence[PageRecord]]) -> None:
        with write_lock(self.path, self.lock_timeout):
            writer = self._index.writer(timeout=self.lock_timeout)
            try:
                for document_id, records in documents.items():
                    writer.delete_by_term("doc", str(document_id))
                    for record in records:
                        writer.add_document(**_fields(record))
            except BaseException:
                writer.cancel()
                raise
            writer.commit()

    def clear(self) -> None:
        with write_lock(self.path, self.lock_timeout):
            self._index.writer(timeout=self.lock_timeout).commit(mergetype=CLEAR)
            # Start over with today's schema: an index made by an older release lacks
            # fields (e.g. the folded words) that writing a page now needs.
            self._index = index.create_in(str(self.path), _schema())
        self._searcher.close()
        self._searcher = self._index.searcher()

    def close(self) -> None:
        self._searcher.close()
        self._index.close()

    def _fresh(self) -> Any:
        """A searcher on the latest committed state of the index."""
        # Not Searcher.refresh(): reusing the reader of an empty index fails in Whoosh.
        if not self._searcher.up_to_date():
            self._searcher.close()
            self._searcher = self._index.searcher()
        return self._searcher

    def page_count(self) -> int:
        return int(self._fresh().doc_count())

    def document_versions(self) -> dict[int, int]:
        reader = self._fresh().reader()
        column = reader.column_reader("docver")
        versions: dict[int, int] = {}
        for docnum in reader.all_doc_ids():  # skips deleted pages
            document_id, version_id = column[docnum].split(":")
            versions[int(document_id)] = int(version_id)
        return versions

    def _search(
        self, node: Node, readers: list[str], limit: int, offset: int, grouped: bool,
        scope: Scope,
    ) -> EngineResults:  # fmt: skip
        searcher = self._fresh()
        languages = sorted(
            language
            for term in searcher.lexicon("lang")  # bytes
            if (language := term.decode()) in STEMMED_LANGUAGES
        )
        allowed: query.Query = query.Or([query.Term("reader", reader) for reader in readers])
        if scope.folder_id is not None:
            allowed = query.And([allowed, query.Term("folder_id", str(scope.folder_id))])
        combined = query.And([_translate(node, languages), _filter(allowed)])
        facets: dict[str, Any] = {}
        if scope.tag_facets:
            facets["tags"] = sorting.FieldFacet("tagset", maptype=sorting.Count)
        for name in scope.facets:
            facets[name] = sorting.FieldFacet(_FACET_FIELD[name], maptype=sorting.Count)
        sortedby = _sortedby(scope)
        # Faceting makes Whoosh collect and rank every match anyway; grouping reads the
        # ranking to the end so that each document's best pages are known. Totals are
        # always exact here (Whoosh counts the matches without scoring them).
        results = searcher.search(
            combined, limit=None if grouped else offset + limit,
            groupedby=facets or None, sortedby=sortedby,
        )  # fmt: skip
        tagset_counts = dict(results.groups("tags")) if scope.tag_facets else {}
        extra_counts = {
            name: {str(value): count for value, count in results.groups(name).items() if value}
            for name in scope.facets
        }

        def page(docnum: int) -> StoredPage:
            return StoredPage.loads(searcher.stored_fields(docnum)["data"])

        ranked: list[tuple[float, int]] = results.top_n
        if not grouped:
            ranked = _scored(searcher, combined, ranked[offset : offset + limit], sortedby)
            hits = [EngineHit(page(docnum), float(score), []) for score, docnum in ranked]
            return EngineResults(len(results), hits, tagset_counts, extra_counts=extra_counts)
        documents = searcher.reader().column_reader("doc")
        best: dict[str, list[tuple[float, int]]] = {}
        for key, docnum in ranked:
            pages = best.setdefault(documents[docnum], [])
            if len(pages) < PAGES_PER_DOCUMENT:
                pages.append((key, docnum))
        hits = []
        for pages in list(best.values())[offset : offset + limit]:
            scored = _scored(searcher, combined, pages, sortedby)
            listed = [(page(docnum), float(score)) for score, docnum in scored]
            hits.append(EngineHit(listed[0][0], listed[0][1], listed))
        return EngineResults(len(best), hits, tagset_counts, extra_counts=extra_counts)

    def _words_starting(self, prefix: str, limit: int) -> list[str]:
        searcher = self._fresh()
        cached = len(prefix) <= spelling.CACHED_PREFIX
        # Kept with the searcher they were read from: a write brings a new one (see _fresh).
        if cached and self._prefixes[0] is searcher and prefix in self._prefixes[1]:
            return self._prefixes[1][prefix][:limit]
        reader = searcher.reader()
        counts: dict[str, int] = {}
        for field in _WORD_FIELDS:
            for word, info in islice(reader.iter_prefix(field, prefix), spelling.MAX_LISTED):
                word = _text(word)
                counts[word] = counts.get(word, 0) + info.doc_frequency()
        ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
        found = [word for word, _ in ranked[:limit]]
        if cached:
            if self._prefixes[0] is not searcher or len(self._prefixes[1]) > 10_000:
                self._prefixes = (searcher, {})
            self._prefixes[1][prefix] = found
        return found

    def _words_near(self, word: str, edits: int) -> list[tuple[str, int]]:
        reader = self._fresh().reader()
        counts: dict[str, int] = {}
        shortest, longest = len(word) - edits, len(word) + edits
        for field in _WORD_FIELDS:
            for candidate, info in reader.iter_prefix(field, word[0]):
                candidate = _text(candidate)
                if shortest <= len(candidate) <= longest:
                    counts[candidate] = counts.get(candidate, 0) + info.doc_frequency()
        return list(counts.items())

    def _readable(
        self, words: Sequence[str], readers: list[str], want: int, folder_id: int | None = None
    ) -> list[str]:
        if not words or want < 1:
            return []
        searcher = self._fresh()
        allowed: query.Query = query.Or([query.Term("reader", reader) for reader in readers])
        if folder_id is not None:
            allowed = query.And([allowed, query.Term("folder_id", str(folder_id))])
        found: list[str] = []
        for word in words:
            holding = query.Or([query.Term(field, word) for field in _WORD_FIELDS])
            # The first matching page is enough: no scoring, no collecting.
            if next(iter(searcher.docs_for_query(query.And([holding, allowed]))), None) is None:
                continue
            found.append(word)
            if len(found) == want:
                break
        return found

    def _similar(self, document_id: int, readers: list[str], limit: int) -> list[tuple[int, float]]:
        searcher = self._fresh()
        own = query.Term("doc", str(document_id))
        pages = list(searcher.docs_for_query(own))
        if not pages:
            return []
        text = " ".join(
            " ".join(words(StoredPage.loads(searcher.stored_fields(docnum)["data"]).text))
            for docnum in pages
        )
        # The words that set the document apart from the rest (Whoosh's Bo1 model, as
        # more_like uses it), searched for in documents the readers may read.
        key_terms = searcher.key_terms_from_text("words", text, numterms=SIMILAR_TERMS)
        if not key_terms:
            return []
        wanted = query.Or([query.Term("words", word, boost=weight) for word, weight in key_terms])
        allowed = query.Or([query.Term("reader", reader) for reader in readers])
        combined = query.AndNot(query.And([wanted, _filter(allowed)]), own)
        results = searcher.search(combined, limit=limit, collapse="doc")
        documents = searcher.reader().column_reader("doc")
        return [(int(documents[docnum]), float(score)) for score, docnum in results.top_n]

    def compact(self) -> bool:
        """Merge every segment into one (Whoosh's optimize), under the write lock."""
        with write_lock(self.path, self.lock_timeout):
            self._index.optimize()
        return True


def _sortedby(scope: Scope) -> list[sorting.FieldFacet] | None:
    """A non-relevance order's sort keys (None: by relevance): its value, then the document
    id and the page number, ascending, as Xapian sorts."""
    if scope.order.by == "relevance":
        return None
    return [
        sorting.FieldFacet(_SORT_FIELD[scope.order.by], reverse=scope.order.descending),
        sorting.FieldFacet("sort_document"),
        sorting.FieldFacet("sort_page"),
    ]


def _scored(
    searcher: Any, combined: query.Query, ranked: list[tuple[Any, int]], sortedby: Any
) -> list[tuple[float, int]]:
    """``ranked`` (key, docnum) pairs with their relevance scores: sorted results carry sort
    keys, so their pages' scores are asked for again (one search over those pages only)."""
    if sortedby is None or not ranked:
        return ranked
    again = searcher.search(combined, limit=None, filter={docnum for _, docnum in ranked})
    scores = {docnum: score for score, docnum in again.top_n}
    return [(scores.get(docnum, 0.0), docnum) for _, docnum in ranked]


def _fields(record: PageRecord) -> dict[str, Any]:
    language = language_code(record.language)
    text_words, title_words = words(record.text), words(record.title)
    values: dict[str, Any] = {
        "doc": str(record.document_id),
        "docver": f"{record.document_id}:{record.version_id}",
        "words": " ".join(text_words),
        "stems": " ".join(_stems(language, text_words)),
        "folded": " ".join(map(fold, text_words)),
        "title_words": " ".join(title_words),
        "title_folded": " ".join(map(fold, title_words)),
        "title_stems": " ".join(_stems(language, title_words)),
        "tag": KEYWORD_SEPARATOR.join(keyword(tag) for tag in record.tags),
        "tagset": tagset(record.tags),
        "folder": KEYWORD_SEPARATOR.join(folder_terms(record.folder_path)),
        "lang": language,
        "reader": KEYWORD_SEPARATOR.join(keyword(reader) for reader in record.readers),
        "created": timestamp(record.created),
        "modified": timestamp(record.modified),
        "data": StoredPage.of(record, language).dumps(),
        "folder_id": KEYWORD_SEPARATOR.join(map(str, record.folder_ids)),
        "sort_title": title_sort_key(record.title),
        "sort_created": timestamp(record.created),
        "sort_modified": timestamp(record.modified),
        "sort_document": record.document_id,
        "sort_page": record.page_number,
        "year": str(year_of(record.created)),
    }
    if record.document_type:
        values["type"] = keyword(record.document_type)
        if record.document_type.strip():
            values["type_name"] = record.document_type.strip()
    return values


def _text(term: str | bytes) -> str:
    return term.decode() if isinstance(term, bytes) else term


def _stems(language: str, found: list[str]) -> list[str]:
    stems = (_stem(language, word) for word in found)
    return [stem_term(language, stem) for stem in stems if stem is not None]


def _filter(node: query.Query) -> query.Query:
    # Filters give every page they match the same score, so that how often a reader or
    # tag term occurs never ranks one page above another (Xapian's boolean terms weigh 0).
    return query.ConstantScoreQuery(node, 0.0)


def _word(text: str, plain: str, stemmed: str, languages: list[str]) -> query.Query:
    terms = [query.Term(plain, text)]
    for language in languages:
        if (stem := _stem(language, text)) is not None:
            terms.append(query.Term(stemmed, stem_term(language, stem)))
    return terms[0] if len(terms) == 1 else query.Or(terms)


def _phrase(field: str, found: list[str], boost: float = 1.0) -> query.Query:
    if len(found) == 1:
        return query.Term(field, found[0], boost=boost)
    return query.Phrase(field, found, boost=boost)


def _translate(node: Node, languages: list[str]) -> query.Query:
    """Translate a query AST into a Whoosh query (``languages``: stems to look for).

    Words, prefixes and phrases also match accent-folded forms, weighted lower."""
    in_text = getattr(node, "field", "text") == "text"
    plain, stemmed = ("words", "stems") if in_text else ("title_words", "title_stems")
    folded = "folded" if in_text else "title_folded"
    if isinstance(node, Word):
        exact = _word(node.text, plain, stemmed, languages)
        return query.Or([exact, query.Term(folded, fold(node.text), boost=FOLDED_WEIGHT)])
    if isinstance(node, Prefix):
        return query.Or(
            [
                query.Prefix(plain, node.text),
                query.Prefix(folded, fold(node.text), boost=FOLDED_WEIGHT),
            ]
        )
    if isinstance(node, Phrase):
        return query.Or(
            [
                _phrase(plain, list(node.words)),
                _phrase(folded, [fold(word) for word in node.words], FOLDED_WEIGHT),
            ]
        )
    if isinstance(node, Keyword):
        name = {"in": "folder"}.get(node.field, node.field)
        return query.Term(name, node.value)
    if isinstance(node, DateRange):
        end = None if node.end is None else node.end - 1
        return query.NumericRange(node.field, node.start, end)
    if isinstance(node, Or):
        return query.Or([_translate(item, languages) for item in node.items])
    if isinstance(node, Not):
        return query.AndNot(query.Every(), _translate(node.item, languages))
    return _and(node, languages)


def _and(node: And, languages: list[str]) -> query.Query:
    scoring = [
        _translate(item, languages)
        for item in node.items
        if not isinstance(item, Keyword | DateRange | Not)
    ]
    filters = [
        _filter(_translate(item, languages))
        for item in node.items
        if isinstance(item, Keyword | DateRange)
    ]
    negated = [_translate(item.item, languages) for item in node.items if isinstance(item, Not)]
    result: query.Query = query.And(scoring + filters) if scoring or filters else query.Every()
    if negated:
        result = query.AndNot(result, query.Or(negated))
    if phrase := adjacent_words(node):
        result = query.AndMaybe(result, query.Phrase("words", list(phrase)))
    return result
