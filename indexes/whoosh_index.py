"""The Whoosh engine: pure Python, for platforms without Xapian and as a cross-check.

Both engines index the same terms (see ``archivist.indexes.analysis``); here they are
handed to Whoosh already analyzed, as space- or separator-joined strings that its
analyzers only split, so Whoosh's own lowercasing and stop words never apply.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from whoosh import fields, index, query, sorting
from whoosh.analysis import RegexTokenizer, SpaceSeparatedTokenizer
from whoosh.lang import stemmer_for_language
from whoosh.writing import CLEAR

from archivist.indexes.analysis import (
    KEYWORD_SEPARATOR,
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
from archivist.indexes.locking import DEFAULT_LOCK_TIMEOUT, write_lock
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


def _schema() -> fields.Schema:
    spaced = SpaceSeparatedTokenizer()
    listed = RegexTokenizer(f"[^{KEYWORD_SEPARATOR}]+")
    return fields.Schema(
        doc=fields.ID(sortable=True),  # document id: deletes, grouping, document counts
        docver=fields.ID(sortable=True),  # "document:version", for document_versions()
        words=fields.TEXT(analyzer=spaced, phrase=True),
        stems=fields.TEXT(analyzer=spaced, phrase=False),
        title_words=fields.TEXT(analyzer=spaced, phrase=True),
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
    )


class WhooshIndex(SearchIndex):
    """A :class:`SearchIndex` stored in a Whoosh index folder at ``path``."""

    backend = "whoosh"

    def __init__(self, path: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        super().__init__(path, lock_timeout=lock_timeout)
        with write_lock(self.path, lock_timeout):
            if index.exists_in(str(self.path)):
                self._index = index.open_dir(str(self.path))
            else:
                self._index = index.create_in(str(self.path), _schema())
        self._searcher = self._index.searcher()

    def _stem(self, language: str, word: str) -> str | None:
        return _stem(language, word)

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
        self, node: Node, readers: list[str], limit: int, offset: int, grouped: bool
    ) -> EngineResults:
        searcher = self._fresh()
        languages = sorted(
            language
            for term in searcher.lexicon("lang")  # bytes
            if (language := term.decode()) in STEMMED_LANGUAGES
        )
        allowed = query.Or([query.Term("reader", reader) for reader in readers])
        combined = query.And([_translate(node, languages), _filter(allowed)])
        facets = {"tags": sorting.FieldFacet("tagset", maptype=sorting.Count)}
        # Faceting makes Whoosh collect and rank every match anyway; grouping reads the
        # ranking to the end so that each document's best pages are known.
        results = searcher.search(
            combined, limit=None if grouped else offset + limit, groupedby=facets
        )
        tagset_counts = dict(results.groups("tags"))

        def page(docnum: int) -> StoredPage:
            return StoredPage.loads(searcher.stored_fields(docnum)["data"])

        if not grouped:
            hits = [
                EngineHit(page(docnum), float(score), [])
                for score, docnum in results.top_n[offset : offset + limit]
            ]
            return EngineResults(len(results), hits, tagset_counts)
        documents = searcher.reader().column_reader("doc")
        best: dict[str, list[tuple[float, int]]] = {}
        for score, docnum in results.top_n:
            pages = best.setdefault(documents[docnum], [])
            if len(pages) < PAGES_PER_DOCUMENT:
                pages.append((score, docnum))
        hits = []
        for pages in list(best.values())[offset : offset + limit]:
            listed = [(page(docnum), float(score)) for score, docnum in pages]
            hits.append(EngineHit(listed[0][0], listed[0][1], listed))
        return EngineResults(len(best), hits, tagset_counts)


def _fields(record: PageRecord) -> dict[str, Any]:
    language = language_code(record.language)
    text_words, title_words = words(record.text), words(record.title)
    values: dict[str, Any] = {
        "doc": str(record.document_id),
        "docver": f"{record.document_id}:{record.version_id}",
        "words": " ".join(text_words),
        "stems": " ".join(_stems(language, text_words)),
        "title_words": " ".join(title_words),
        "title_stems": " ".join(_stems(language, title_words)),
        "tag": KEYWORD_SEPARATOR.join(keyword(tag) for tag in record.tags),
        "tagset": tagset(record.tags),
        "folder": KEYWORD_SEPARATOR.join(folder_terms(record.folder_path)),
        "lang": language,
        "reader": KEYWORD_SEPARATOR.join(keyword(reader) for reader in record.readers),
        "created": timestamp(record.created),
        "modified": timestamp(record.modified),
        "data": StoredPage.of(record, language).dumps(),
    }
    if record.document_type:
        values["type"] = keyword(record.document_type)
    return values


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


def _translate(node: Node, languages: list[str]) -> query.Query:
    """Translate a query AST into a Whoosh query (``languages``: stems to look for)."""
    in_text = getattr(node, "field", "text") == "text"
    plain, stemmed = ("words", "stems") if in_text else ("title_words", "title_stems")
    if isinstance(node, Word):
        return _word(node.text, plain, stemmed, languages)
    if isinstance(node, Prefix):
        return query.Prefix(plain, node.text)
    if isinstance(node, Phrase):
        if len(node.words) == 1:
            return query.Term(plain, node.words[0])
        return query.Phrase(plain, list(node.words))
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
