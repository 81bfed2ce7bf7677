"""The Xapian engine (the default): the faster one, with one writer at a time per database.

Term prefixes follow Xapian's convention of upper-case prefixes: ``W`` page words (with
positions), ``F`` their accent-folded forms (same positions; only where folding changes the
word, see :func:`_folded_terms`), ``Z`` language-tagged stems, ``S``/``XF``/``XS`` title
words, folded words and stems, ``K`` tags, ``P`` folder paths, ``XP`` ancestor folder ids,
``T`` type, ``L`` language, ``R`` readers, ``Q`` document id and ``V`` "document:version".
Values hold what must be counted, collapsed, ranged or sorted by.

Compacting (:meth:`XapianIndex.compact`) writes a compacted copy beside the folder and swaps
the two folders in one step (Linux ``renameat2(RENAME_EXCHANGE)``), so the path always holds
a whole database: readers that hold the old one keep their open files until they reopen,
which finds the new one.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import queue
import shutil
import threading
import time
from abc import abstractmethod
from collections import Counter, deque
from collections.abc import Callable, Generator, Mapping, Sequence
from contextlib import AbstractContextManager, closing, nullcontext, suppress
from functools import lru_cache
from itertools import islice
from pathlib import Path
from typing import Any, ClassVar, TypeVar

import xapian

from archivist.indexes import spelling
from archivist.indexes.analysis import (
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
from archivist.indexes.locking import (
    DEFAULT_LOCK_TIMEOUT,
    JOB_LOCK_FILE_NAME,
    IndexLockTimeout,
    read_lock,
    write_lock,
)
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
SLOT_TITLE, SLOT_DOCUMENT_NUMBER, SLOT_PAGE = 4, 5, 6  # sort keys (see _sorter)
# Facets added later (an index written before has no such values: those pages go uncounted).
SLOT_TYPE, SLOT_YEAR = 13, 14
_FACET_SLOT = {"type": SLOT_TYPE, "year": SLOT_YEAR}
# Each order's whole sort key, as MultiValueKeyMaker would build it from the slots above: the
# remote backend cannot run a KeyMaker, so a remote index sorts by these values instead.
_ORDER_KEY_SLOT = {
    (by, descending): 7 + number
    for number, (by, descending) in enumerate(
        (by, descending) for by in ("title", "created", "modified") for descending in (False, True)
    )
}
_SORT_SLOT = {"title": SLOT_TITLE, "created": SLOT_CREATED, "modified": SLOT_MODIFIED}
_KEYWORD_PREFIX = {"tag": "K", "in": "P", "type": "T", "lang": "L"}
_DATE_SLOT = {"created": SLOT_CREATED, "modified": SLOT_MODIFIED}
# A match on a folded form counts this much of an exact one, so exact spellings rank first.
FOLDED_WEIGHT = 0.5

T = TypeVar("T")


def _stemmer(language: str) -> Callable[[str], str]:
    stemmer = xapian.Stem(language)
    return lambda word: stemmer(word).decode()


_stem = build_stemmer_cache(_stemmer)


class XapianEngine(SearchIndex):
    """What every Xapian index shares: its documents, its queries, and reads that start
    again on a newly opened reader when a writer got in their way. A subclass says where
    the database is: :class:`XapianIndex` (a folder here) or ``RemoteXapianIndex``
    (``archivist.indexes.xapian_remote``: a database that ``xapian-tcpsrv`` serves).

    Not thread-safe (its ``xapian.Database`` is not): one object per thread.
    """

    backend = "xapian"
    # What a read starts again after, on a newly opened reader (see _reading).
    RETRYABLE: ClassVar[tuple[type[Exception], ...]] = (
        xapian.DatabaseModifiedError,
        xapian.DatabaseCorruptError,
    )
    # How many times a read is tried; a remote read fetches each hit over the network, so
    # writers committing in a loop overtake it more often (see RemoteXapianIndex).
    READ_TRIES: ClassVar[int] = 5
    _reader: Any = None
    # The stemmed languages present, with the revision they were read at: listing the "L"
    # terms on every search costs a term-list walk that only a write can change.
    _languages: tuple[int, list[str]] = (-1, [])
    # The most frequent words of short prefixes, with the revision they were read at.
    _prefixes: tuple[int, dict[str, list[str]]] = (-1, {})

    @abstractmethod
    def _open_reader(self) -> Any:
        """A newly opened ``xapian.Database`` (or remote one) on the latest revision."""

    def _stem_function(self) -> Callable[[str, str], str | None]:
        return _stem

    def close(self) -> None:
        if self._reader is not None:
            self._reader.close()
            self._reader = None

    def page_count(self) -> int:
        return self._reading(lambda: int(self._fresh().get_doccount()))

    def document_versions(self) -> dict[int, int]:
        def read() -> dict[int, int]:
            versions: dict[int, int] = {}
            for item in self._fresh().allterms("V"):
                document_id, version_id = item.term.decode()[1:].split(":")
                versions[int(document_id)] = int(version_id)
            return versions

        return self._reading(read)

    def _reading(self, read: Callable[[], T]) -> T:
        """Run ``read`` (which starts with :meth:`_fresh`), again from the latest revision
        if a writer recycled the blocks it was reading; the last try holds what keeps
        writers out meanwhile (:meth:`_unovertaken`), and what it raises is raised.

        Glass frees a revision's blocks two commits later. A reader that is that far behind
        (a busy machine, a writer committing in a loop) usually gets DatabaseModifiedError,
        but may instead read a reused block and get DatabaseCorruptError ("Expected block
        102 to be level 1, not 0"), even inside ``reopen``. Both are retried on a newly
        opened handle; damage that is really on disk fails every try and is raised.
        """
        for attempt in range(self.READ_TRIES):
            last = attempt == self.READ_TRIES - 1
            try:
                if last:
                    with self._unovertaken():
                        self._replace_reader()  # a revision no writer can discard meanwhile
                        return read()
                if attempt:
                    self._replace_reader()
                return read()
            except self.RETRYABLE:
                if last:
                    raise
                time.sleep(0.01 * attempt)  # let the writer finish its commit
        raise AssertionError("unreachable")

    def _unovertaken(self) -> AbstractContextManager[None]:
        """What a read's last try holds so that no writer commits during it (writers
        committing in a loop would otherwise overtake a slow reader every time: seen with
        32 clients and a writer on 2 cores). Nothing here: a remote index's writers are
        on another host."""
        return nullcontext()

    def _replace_reader(self) -> None:
        old, self._reader = self._reader, None
        if old is not None:
            with suppress(xapian.Error):  # a remote reader whose connection is gone already
                old.close()
        self._reader = self._open_reader()

    def _fresh(self) -> Any:
        """The reader, moved to the latest committed revision."""
        if self._reader is None:
            self._reader = self._open_reader()
        self._reader.reopen()
        return self._reader

    def _search(
        self, node: Node, readers: list[str], limit: int, offset: int, grouped: bool,
        scope: Scope,
    ) -> EngineResults:  # fmt: skip
        # A writer may recycle the blocks this revision was read from: start over then.
        return self._reading(lambda: self._run(node, readers, limit, offset, grouped, scope))

    def _run(
        self, node: Node, readers: list[str], limit: int, offset: int, grouped: bool,
        scope: Scope,
    ) -> EngineResults:  # fmt: skip
        database = self._fresh()
        languages = self._stemmed_languages(database)
        allowed = _or([xapian.Query(f"R{reader}") for reader in readers])
        if scope.folder_id is not None:
            allowed = xapian.Query(
                xapian.Query.OP_AND, allowed, xapian.Query(f"XP{scope.folder_id}")
            )
        query = xapian.Query(xapian.Query.OP_FILTER, _translate(node, languages, database), allowed)
        everything = database.get_doccount()
        enquire = xapian.Enquire(database)
        enquire.set_query(query)
        ordered = self._order(enquire, scope)
        # Facets and exact totals: check every match (the spies see each one). Otherwise
        # check enough to know the total up to the bound and whether a next page exists,
        # and let Xapian estimate the rest.
        counted = scope.tag_facets or bool(scope.facets) or scope.exact_up_to is None
        check = everything if counted else max(scope.exact_up_to or 0, offset + limit + 1)
        tag_spy = xapian.ValueCountMatchSpy(SLOT_TAGSET)
        if scope.tag_facets:
            enquire.add_matchspy(tag_spy)
        extra_spies = {name: xapian.ValueCountMatchSpy(_FACET_SLOT[name]) for name in scope.facets}
        for spy in extra_spies.values():
            enquire.add_matchspy(spy)
        document_spy = xapian.ValueCountMatchSpy(SLOT_DOCUMENT)
        if grouped:
            if counted:
                enquire.add_matchspy(document_spy)
            enquire.set_collapse_key(SLOT_DOCUMENT, 1)
        matches = enquire.get_mset(offset, limit, check)
        hits = []
        for match in matches:
            page = StoredPage.loads(match.document.get_data())
            pages: list[tuple[StoredPage, float]] = []
            if grouped:
                pages = self._best_pages(database, query, page.document_id, scope)
            if pages and ordered:
                page = pages[0][0]  # the document's first matching page, as in Whoosh
            hits.append(EngineHit(page, float(match.weight), pages))
        tagset_counts = {item.term.decode(): item.termfreq for item in tag_spy.values()}
        extra_counts = {
            name: {item.term.decode(): item.termfreq for item in spy.values()}
            for name, spy in extra_spies.items()
        }
        exact = matches.get_matches_lower_bound() == matches.get_matches_upper_bound()
        if grouped and counted:
            total, exact = sum(1 for _ in document_spy.values()), True
        else:
            total = matches.get_matches_estimated()
        return EngineResults(total, hits, tagset_counts, exact or counted, extra_counts)

    def _words_starting(self, prefix: str, limit: int) -> list[str]:
        def read() -> list[str]:
            database = self._fresh()
            revision = _revision(database)
            cached = revision != -1 and len(prefix) <= spelling.CACHED_PREFIX
            if cached and self._prefixes[0] == revision and prefix in self._prefixes[1]:
                return self._prefixes[1][prefix][:limit]
            counts: Counter[bytes] = Counter()
            for field in ("W", "S"):  # page words, title words
                for item in islice(database.allterms(field + prefix), spelling.MAX_LISTED):
                    counts[item.term[1:]] += item.termfreq
            ranked = sorted(counts.items(), key=lambda item: (-item[1], item[0]))
            found = [term.decode() for term, _ in ranked[:limit]]
            if cached:
                if self._prefixes[0] != revision or len(self._prefixes[1]) > 10_000:
                    self._prefixes = (revision, {})
                self._prefixes[1][prefix] = found
            return found

        return self._reading(read)

    def _words_near(self, word: str, edits: int) -> list[tuple[str, int]]:
        def read() -> list[tuple[str, int]]:
            database = self._fresh()
            counts: Counter[str] = Counter()
            shortest, longest = len(word) - edits, len(word) + edits
            for field in ("W", "S"):
                for item in database.allterms(field + word[0]):
                    candidate = item.term.decode()[1:]
                    if shortest <= len(candidate) <= longest:
                        counts[candidate] += item.termfreq
            return list(counts.items())

        return self._reading(read)

    def _readable(
        self, words: Sequence[str], readers: list[str], want: int, folder_id: int | None = None
    ) -> list[str]:
        def read() -> list[str]:
            database = self._fresh()
            allowed = _or([xapian.Query(f"R{reader}") for reader in readers])
            if folder_id is not None:
                allowed = xapian.Query(xapian.Query.OP_AND, allowed, xapian.Query(f"XP{folder_id}"))
            enquire = xapian.Enquire(database)
            # No ranking: the match stops at the first readable page.
            enquire.set_weighting_scheme(xapian.BoolWeight())
            found: list[str] = []
            for word in words:
                terms = [xapian.Query(f"{field}{word}") for field in ("W", "S")]
                enquire.set_query(xapian.Query(xapian.Query.OP_FILTER, _or(terms), allowed))
                if enquire.get_mset(0, 1).size():
                    found.append(word)
                    if len(found) == want:
                        break
            return found

        if not words or want < 1:
            return []
        return self._reading(read)

    def _similar(self, document_id: int, readers: list[str], limit: int) -> list[tuple[int, float]]:
        def read() -> list[tuple[int, float]]:
            database = self._fresh()
            pages = xapian.RSet()
            for posting in database.postlist(f"Q{document_id}"):
                pages.add_document(posting.docid)
            if pages.empty():
                return []
            enquire = xapian.Enquire(database)
            # The words that set the document's pages apart from the rest (Xapian's ESet).
            key_terms = enquire.get_eset(
                SIMILAR_TERMS, pages, xapian.ExpandDeciderFilterPrefix("W")
            )
            terms = [xapian.Query(item.term) for item in key_terms]
            if not terms:
                return []
            allowed = _or([xapian.Query(f"R{reader}") for reader in readers])
            query = xapian.Query(
                xapian.Query.OP_AND_NOT,
                xapian.Query(xapian.Query.OP_FILTER, _or(terms), allowed),
                xapian.Query(f"Q{document_id}"),
            )
            enquire.set_query(query)
            enquire.set_collapse_key(SLOT_DOCUMENT, 1)  # a document's best page stands for it
            return [
                (int(match.collapse_key.decode()), float(match.weight))
                for match in enquire.get_mset(0, limit)
            ]

        return self._reading(read)

    def _stemmed_languages(self, database: Any) -> list[str]:
        """The stemmed languages of the indexed pages, read again only after a write (on
        every search where the backend does not tell its revision: a remote database)."""
        revision = _revision(database)
        if revision == -1 or self._languages[0] != revision:
            languages = sorted(
                language
                for item in database.allterms("L")
                if (language := item.term.decode()[1:]) in STEMMED_LANGUAGES
            )
            self._languages = (revision, languages)
        return self._languages[1]

    def _best_pages(
        self, database: Any, query: Any, document_id: int, scope: Scope
    ) -> list[tuple[StoredPage, float]]:
        """The document's best pages (its first ones in page order, in another order than
        relevance)."""
        enquire = xapian.Enquire(database)
        only = xapian.Query(f"Q{document_id}")
        enquire.set_query(xapian.Query(xapian.Query.OP_FILTER, query, only))
        self._order(enquire, scope)
        return [
            (StoredPage.loads(match.document.get_data()), float(match.weight))
            for match in enquire.get_mset(0, PAGES_PER_DOCUMENT)
        ]

    def _order(self, enquire: Any, scope: Scope) -> bool:
        """Sort ``enquire`` in ``scope``'s order; False: by relevance (nothing to do)."""
        sorter = _sorter(scope)
        if sorter is None:
            return False
        enquire.set_sort_by_key(sorter, False)
        return True

    @staticmethod
    def _fill(database: Any, documents: Mapping[int, Sequence[PageRecord]]) -> None:
        """Replace the documents' pages in ``database`` in one transaction, so a failure
        half-way leaves the index as it was (closing a WritableDatabase outside one would
        commit whatever was done so far)."""
        database.begin_transaction()
        try:
            with closing(_built(documents)) as each:  # a failure here stops the builder
                for document_id, built in each:
                    # Deleting by a term costs a postlist walk even when nothing has it (a
                    # new document): a third of the time of adding a page.
                    if database.term_exists(unique := f"Q{document_id}"):
                        database.delete_document(unique)
                    for document in built:
                        database.add_document(document)
            database.commit_transaction()
        except BaseException:
            database.cancel_transaction()
            raise


# A write of at least this many pages builds its Xapian documents in a helper thread.
BUILD_AHEAD_FROM = 64
# How many documents that thread may be ahead of the writer (bounds the memory it holds).
_BUILT_AHEAD = 64
_DONE = object()


def _built(
    documents: Mapping[int, Sequence[PageRecord]],
) -> Generator[tuple[int, list[Any]], None, None]:
    """Each document's id with its pages' ``xapian.Document`` objects, in order.

    Building a page's document (the analysis, in Python) takes about as long as Xapian's
    ``add_document`` (in C++, which lets the GIL go), so a large write builds in a helper
    thread while the caller adds what was built before: the two overlap on two cores. Each
    built document is handed over once, never used by two threads at once; the stemmers are
    per thread (see ``build_stemmer_cache``). What the builder raises is raised here.
    """
    if sum(map(len, documents.values())) < BUILD_AHEAD_FROM:
        for document_id, records in documents.items():
            yield document_id, [_document(record) for record in records]
        return
    handed: queue.Queue[Any] = queue.Queue(maxsize=_BUILT_AHEAD)
    stop = threading.Event()

    def hand(item: Any) -> bool:
        while not stop.is_set():
            try:
                handed.put(item, timeout=0.05)
                return True
            except queue.Full:
                continue
        return False

    def build() -> None:
        try:
            for document_id, records in documents.items():
                if not hand((document_id, [_document(record) for record in records])):
                    return
        except BaseException as error:  # raised in the writer's thread
            hand(error)
            return
        hand(_DONE)

    builder = threading.Thread(target=build, name="xapian-build", daemon=True)
    builder.start()
    try:
        while (item := handed.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()  # the writer failed or stopped early: the builder gives up
        builder.join()


class XapianIndex(XapianEngine):
    """A :class:`SearchIndex` stored in a Xapian (glass) database folder at ``path``.

    Not thread-safe (its ``xapian.Database`` is not): one object per thread. Every write
    opens, commits and closes its own ``WritableDatabase`` under the write lock.
    """

    def __init__(self, path: str | Path, *, lock_timeout: float = DEFAULT_LOCK_TIMEOUT) -> None:
        super().__init__(path, lock_timeout=lock_timeout)
        self.path = Path(path)
        if not (self.path / "iamglass").exists():
            with write_lock(self.path, lock_timeout):
                self._writable(xapian.DB_CREATE_OR_OPEN).close()
        self._reader = self._open_reader()

    def _open_reader(self) -> Any:
        return xapian.Database(str(self.path))

    def job_lock(self) -> AbstractContextManager[None]:
        return write_lock(self.path, self.lock_timeout, name=JOB_LOCK_FILE_NAME)

    def _unovertaken(self) -> AbstractContextManager[None]:
        # The write lock, shared: writers wait for this one read (it was overtaken enough).
        return read_lock(self.path, self.lock_timeout)

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
                self._fill(database, documents)
            finally:
                database.close()

    def clear(self) -> None:
        with write_lock(self.path, self.lock_timeout):
            database = self._writable(xapian.DB_CREATE_OR_OVERWRITE)
            database.commit()
            database.close()
        self._replace_reader()

    def compact(self) -> bool:
        """Compact into a folder beside this one and swap the two folders atomically (see
        the module's docstring), holding the job and write locks so that no write is lost.
        Needs free disk space for a second copy of the index. Raises
        :class:`IndexLockTimeout` as writes do, ``OSError`` where the folders cannot be
        swapped (then the index is left as it was)."""
        beside = self.path.with_name(f".{self.path.name}.compacting")
        with self.job_lock(), write_lock(self.path, self.lock_timeout):
            shutil.rmtree(beside, ignore_errors=True)
            source = xapian.Database(str(self.path))
            try:
                source.compact(str(beside))
            finally:
                source.close()
            try:
                _exchange(beside, self.path)
            except BaseException:
                shutil.rmtree(beside, ignore_errors=True)
                raise
        # The old database (and the lock files other writers may still wait on: they see
        # that their file is gone and lock the new folder's, see archivist.indexes.locking).
        shutil.rmtree(beside, ignore_errors=True)
        self._replace_reader()
        return True


_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _exchange(first: Path, second: Path) -> None:
    """Swap two folders in one step: at every moment each path holds a whole database."""
    libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
    renameat2 = getattr(libc, "renameat2", None)
    if renameat2 is None:
        raise OSError("compacting needs renameat2 (Linux 3.15 and glibc 2.28 or later)")
    result = renameat2(
        _AT_FDCWD, os.fsencode(first), _AT_FDCWD, os.fsencode(second), _RENAME_EXCHANGE
    )
    if result != 0:
        error = ctypes.get_errno()
        raise OSError(error, f"cannot swap {first} and {second}: {os.strerror(error)}")


def _revision(database: Any) -> int:
    """The database's revision; -1 where the backend does not tell (a remote database)."""
    try:
        return int(database.get_revision())
    except xapian.UnimplementedError:
        return -1


@lru_cache(maxsize=200_000)
def _word_terms(prefixes: tuple[str, str, str], language: str, word: str) -> tuple[str, str, str]:
    """The plain, folded ("" when folding changes nothing) and stemmed ("" when the language
    has no stemmer) terms of ``word``: worked out once per distinct word, not per page."""
    plain, folded, stemmed = prefixes
    stem = _stem(language, word)
    return (
        plain + word,
        _folded_term(folded, word),
        "" if stem is None else f"{stemmed}{stem_term(language, stem)}",
    )


_TEXT_PREFIXES = ("W", "F", "Z")
_TITLE_PREFIXES = ("S", "XF", "XS")


def _document(record: PageRecord) -> Any:
    language = language_code(record.language)
    document = xapian.Document()
    document.set_data(StoredPage.of(record, language).dumps())
    add_posting, add_term = document.add_posting, document.add_term
    for prefixes, found in (
        (_TEXT_PREFIXES, words(record.text)),
        (_TITLE_PREFIXES, words(record.title)),
    ):
        counts = Counter(found)
        # Each distinct word's terms once (a page repeats its words), then one call per
        # position, iterated in C (map) rather than in a Python loop.
        terms = {word: _word_terms(prefixes, language, word) for word in counts}
        positions = range(1, len(found) + 1)
        deque(map(add_posting, [terms[word][0] for word in found], positions), maxlen=0)
        if any(folded for _, folded, _ in terms.values()):
            for position, word in zip(positions, found, strict=True):
                if folded := terms[word][1]:
                    add_posting(folded, position)
        # One call per distinct stem, with its count: far fewer calls into Xapian.
        for word, count in counts.items():
            if stemmed := terms[word][2]:
                add_term(stemmed, count)
    for tag in filter(None, map(keyword, record.tags)):
        document.add_boolean_term(f"K{tag}")
    for folder in folder_terms(record.folder_path):
        document.add_boolean_term(f"P{folder}")
    if record.document_type:
        document.add_boolean_term(f"T{keyword(record.document_type)}")
    document.add_boolean_term(f"L{language}")
    for reader in filter(None, map(keyword, record.readers)):
        document.add_boolean_term(f"R{reader}")
    for folder_id in record.folder_ids:
        document.add_boolean_term(f"XP{folder_id}")
    document.add_boolean_term(f"Q{record.document_id}")
    document.add_boolean_term(f"V{record.document_id}:{record.version_id}")
    document.add_value(SLOT_DOCUMENT, str(record.document_id))
    document.add_value(SLOT_CREATED, xapian.sortable_serialise(timestamp(record.created)))
    document.add_value(SLOT_MODIFIED, xapian.sortable_serialise(timestamp(record.modified)))
    document.add_value(SLOT_TAGSET, tagset(record.tags))
    document.add_value(SLOT_TITLE, title_sort_key(record.title))
    document.add_value(SLOT_DOCUMENT_NUMBER, xapian.sortable_serialise(record.document_id))
    document.add_value(SLOT_PAGE, xapian.sortable_serialise(record.page_number))
    if record.document_type and record.document_type.strip():
        document.add_value(SLOT_TYPE, record.document_type.strip())
    document.add_value(SLOT_YEAR, str(year_of(record.created)))
    for (by, descending), slot in _ORDER_KEY_SLOT.items():
        first = document.get_value(_SORT_SLOT[by])
        keys = ((first, descending), (document.get_value(SLOT_DOCUMENT_NUMBER), False))
        document.add_value(slot, sort_key(keys, document.get_value(SLOT_PAGE)))
    return document


def sort_key(values: Sequence[tuple[bytes, bool]], last: bytes) -> bytes:
    """The key ``xapian.MultiValueKeyMaker`` makes of ``values`` (each with whether it sorts
    descending) followed by ``last`` (ascending), so that sorting by it ascending is sorting by
    them in turn. Mirrors xapian-core's keymaker.cc (1.4): a descending value's bytes are
    inverted (a NUL becomes FF 00) and end with FF FF; an ascending one's NULs become 00 FF and
    it ends with 00 00; the last one is appended as it is."""
    key = bytearray()
    for value, descending in values:
        if descending:
            for byte in value:
                key.append(255 - byte)
                if byte == 0:
                    key.append(0)
            key += b"\xff\xff"
        else:
            key += value.replace(b"\0", b"\0\xff") + b"\0\0"
    return bytes(key + last)


def order_key_slot(scope: Scope) -> int | None:
    """The value slot holding the whole sort key of ``scope``'s order (None: relevance)."""
    if scope.order.by == "relevance":
        return None
    return _ORDER_KEY_SLOT[(scope.order.by, scope.order.descending)]


def _folded_term(prefix: str, word: str) -> str:
    """The folded term of ``word``; "" when folding leaves it as it is (no term then)."""
    folded = fold(word)
    return prefix + folded if folded != word else ""


def _sorter(scope: Scope) -> Any:
    """The sort key of a non-relevance order (None: by relevance): the order's value, then
    the document id and the page number, ascending (Whoosh sorts by the same keys)."""
    if scope.order.by == "relevance":
        return None
    sorter = xapian.MultiValueKeyMaker()
    sorter.add_value(_SORT_SLOT[scope.order.by], scope.order.descending)
    sorter.add_value(SLOT_DOCUMENT_NUMBER)
    sorter.add_value(SLOT_PAGE)
    return sorter


def _or(queries: list[Any]) -> Any:
    return queries[0] if len(queries) == 1 else xapian.Query(xapian.Query.OP_OR, queries)


def _word(text: str, plain: str, stemmed: str, languages: list[str]) -> Any:
    terms = [f"{plain}{text}"]
    for language in languages:
        if (stem := _stem(language, text)) is not None:
            terms.append(f"{stemmed}{stem_term(language, stem)}")
    return _or([xapian.Query(term) for term in dict.fromkeys(terms)])


def _folded(query: Any) -> Any:
    return xapian.Query(xapian.Query.OP_SCALE_WEIGHT, query, FOLDED_WEIGHT)


def _folded_terms(folded: str, plain: str, word: str, make: Callable[[str], Any]) -> Any:
    """Pages holding a word whose folded form is ``word``: an ``F`` term where the page's
    spelling folds to something else ("café"), its own ``W`` term where it is already folded
    ("cafe"). Indexes store an ``F`` posting only for words that folding changes (half the
    postings of an English page, and twice the indexing speed); an index written before that
    also holds ``F`` terms for unchanged words, which this finds as well, so it needs no
    reindex."""
    return xapian.Query(xapian.Query.OP_OR, [make(f"{folded}{word}"), make(f"{plain}{word}")])


def _phrase(prefix: str, found: Sequence[str]) -> Any:
    return _phrase_of([xapian.Query(f"{prefix}{word}") for word in found])


def _folds_to_itself(database: Any, prefix: str, found: Sequence[str]) -> bool:
    """Whether every word is its own folded form and no page holds a folded term for it."""
    return all(fold(word) == word and not database.term_exists(prefix + word) for word in found)


def _phrase_of(queries: list[Any]) -> Any:
    """Adjacent, in order; each item a term or an OR of terms (Xapian allows both)."""
    if len(queries) == 1:
        return queries[0]
    return xapian.Query(xapian.Query.OP_PHRASE, queries, len(queries))


def _wildcard(term: str) -> Any:
    return xapian.Query(xapian.Query.OP_WILDCARD, term, 0, xapian.Query.WILDCARD_LIMIT_ERROR)


def _translate(node: Node, languages: list[str], database: Any) -> Any:
    """Translate a query AST into a ``xapian.Query`` (``languages``: stems to look for;
    ``database``: asked which folded terms exist).

    Words, prefixes and phrases also match accent-folded forms, weighted lower."""
    in_text = getattr(node, "field", "text") == "text"
    plain, folded, stemmed = ("W", "F", "Z") if in_text else ("S", "XF", "XS")
    if isinstance(node, Word):
        exact = _word(node.text, plain, stemmed, languages)
        return _or([exact, _folded(_folded_terms(folded, plain, fold(node.text), xapian.Query))])
    if isinstance(node, Prefix):
        exact = _wildcard(f"{plain}{node.text}")
        return _or([exact, _folded(_folded_terms(folded, plain, fold(node.text), _wildcard))])
    if isinstance(node, Phrase):
        if _folds_to_itself(database, folded, node.words):
            # No page spells these words differently (no folded term for any of them), so the
            # folded phrase would match the very pages and positions the exact one does:
            # weigh the exact one as both together would (the same weights, checked by a
            # test), and check positions once: half the time of a phrase of common words.
            exact = _phrase(plain, node.words)
            return xapian.Query(xapian.Query.OP_SCALE_WEIGHT, exact, 1 + FOLDED_WEIGHT)
        exact = _phrase(plain, node.words)
        alternatives = [
            _folded_terms(folded, plain, fold(word), xapian.Query) for word in node.words
        ]
        return _or([exact, _folded(_phrase_of(alternatives))])
    if isinstance(node, Keyword):
        return xapian.Query(f"{_KEYWORD_PREFIX[node.field]}{node.value}")
    if isinstance(node, DateRange):
        return _date_range(node)
    if isinstance(node, Or):
        return _or([_translate(item, languages, database) for item in node.items])
    if isinstance(node, Not):
        negated = _translate(node.item, languages, database)
        return xapian.Query(xapian.Query.OP_AND_NOT, xapian.Query.MatchAll, negated)
    return _and(node, languages, database)


def _and(node: And, languages: list[str], database: Any) -> Any:
    # Filters restrict without scoring, negations subtract; what is left ranks the pages.
    def translate(item: Node) -> Any:
        return _translate(item, languages, database)

    scoring = [
        translate(item) for item in node.items if not isinstance(item, Keyword | DateRange | Not)
    ]
    filters = [translate(item) for item in node.items if isinstance(item, Keyword | DateRange)]
    negated = [translate(item.item) for item in node.items if isinstance(item, Not)]
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
