"""Snippets and matched word forms for page hits, the same for both engines.

Engines only say which pages matched; which words of a page matched is worked out here
from the query's positive text terms (those not under ``NOT``), with the engine's stemmer
and the page's language, so highlighting agrees with what the engine searched for.
"""

from __future__ import annotations

import html
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import compress, filterfalse, repeat
from operator import itemgetter, methodcaller

from archivist.indexes.analysis import fold, is_cjk, normalize, words_and_edges
from archivist.indexes.query import And, Node, Not, Or, Phrase, Prefix, Word

SNIPPET_WORDS = 30
_ELLIPSIS = "…"


@dataclass
class Highlighter:
    """What a query looks for in page text; build it once per search with ``for_query``."""

    stem: Callable[[str, str], str | None]
    plain: set[str] = field(default_factory=set)
    stemmable: set[str] = field(default_factory=set)
    prefixes: set[str] = field(default_factory=set)
    folded: set[str] = field(default_factory=set)  # accent-folded query words
    cjk: set[str] = field(default_factory=set)  # characters of the query's CJK bigrams
    folded_prefixes: tuple[str, ...] = ()
    # Phrases of two words or more, folded: their words count only where they stand together.
    phrases: tuple[tuple[str, ...], ...] = ()
    # The same query without those phrases (None: it has none), to tell which matched words
    # the phrases alone matched.
    loose: Highlighter | None = None
    _exact: frozenset[str] = frozenset()  # plain, stemmable and CJK characters together
    _prefixes: tuple[str, ...] = ()
    _stems: dict[str, set[str]] = field(default_factory=dict)  # language -> wanted stems
    _decided: dict[str, dict[str, bool]] = field(default_factory=dict)  # language -> word

    @classmethod
    def for_query(
        cls, node: Node, stem: Callable[[str, str], str | None], phrases: bool = True
    ) -> Highlighter:
        """Collect the text terms of ``node`` that a page must (or may) contain."""
        highlighter = cls(stem)
        found: list[tuple[str, ...]] = []
        highlighter._collect(node, found if phrases else None)
        if found:
            highlighter.phrases = tuple(dict.fromkeys(found))
            highlighter.loose = cls.for_query(node, stem, phrases=False)
        for word in highlighter.plain | highlighter.stemmable:
            if is_cjk(word):
                highlighter.cjk.update(word)
            highlighter.folded.add(fold(word))
        highlighter.folded_prefixes = tuple(fold(prefix) for prefix in highlighter.prefixes)
        highlighter._exact = frozenset(highlighter.plain | highlighter.stemmable | highlighter.cjk)
        highlighter._prefixes = tuple(highlighter.prefixes)
        return highlighter

    def _collect(self, node: Node, phrases: list[tuple[str, ...]] | None) -> None:
        """Gather ``node``'s text terms; ``phrases`` (None: leave them out) gets its phrases
        of several words."""
        if isinstance(node, And | Or):
            for item in node.items:
                self._collect(item, phrases)
        elif isinstance(node, Not):
            return  # a negated word is by definition absent from the page
        elif isinstance(node, Word) and node.field == "text":
            self.stemmable.add(node.text)
        elif isinstance(node, Phrase) and node.field == "text":
            if len(node.words) > 1:
                if phrases is None:
                    return
                phrases.append(tuple(fold(word) for word in node.words))
            self.plain.update(node.words)
        elif isinstance(node, Prefix) and node.field == "text":
            self.prefixes.add(node.text)

    def matches(self, word: str, language: str) -> bool:
        """Whether a page ``word`` (as written) in ``language`` is one the query looks for."""
        return self._decide((word,), language, {})[word]

    def _decide(
        self, written: Iterable[str], language: str, decided: dict[str, bool]
    ) -> dict[str, bool]:
        """Record in ``decided`` whether each written form matches; return ``decided``.

        This runs for every new form of every hit of every search (a search's 20 pages hold
        about 2,000 distinct forms), so the forms go through C-level ``map``s over cached
        functions instead of a Python loop: plain and stemmable words, and single CJK
        characters (page text is cut into them), then prefixes, accent-folded forms, and
        stems in the page's language.
        """
        stems = self._stems.get(language)
        if stems is None:
            wanted = (self.stem(language, word) for word in self.stemmable)
            stems = self._stems[language] = {stem for stem in wanted if stem is not None}
        new = list(written)
        keys = list(map(_forms, new))
        plain = list(map(itemgetter(0), keys))
        folded = list(map(itemgetter(1), keys))
        tests: list[Iterator[bool]] = [
            map(self._exact.__contains__, plain), map(self.folded.__contains__, folded)
        ]  # fmt: skip
        if self._prefixes:
            tests.append(map(methodcaller("startswith", self._prefixes), plain))
        if self.folded_prefixes:
            tests.append(map(methodcaller("startswith", self.folded_prefixes), folded))
        if stems:
            tests.append(map(stems.__contains__, map(self.stem, repeat(language), plain)))
        decided.update(zip(new, map(any, zip(*tests, strict=True)), strict=True))
        return decided

    def highlight(self, text: str, language: str) -> tuple[str, tuple[str, ...], tuple[str, ...]]:
        """Return ``(snippet, matched_terms, phrase_only)`` for a page.

        The snippet is the window of about ``SNIPPET_WORDS`` words with the most matches,
        HTML-escaped, matches in ``<mark>``; matched terms are the distinct word forms of
        the whole page as written, in order of first appearance. ``phrase_only`` are those
        of them that only a phrase of the query matched: they are marked only where the
        phrase stands whole (everywhere, on a page where no phrase of theirs is found whole:
        the page cut its words otherwise than the query did).
        """
        forms, edges = words_and_edges(text)
        if not forms:
            return "", (), ()
        # Pages repeat their words, and the hits of one search share many of them:
        # decide each written form once per language and search.
        decided = self._decided.setdefault(language, {})
        distinct = dict.fromkeys(forms)  # in order of first appearance
        # Not ``distinct.keys() - decided.keys()``: that walks every form the search has
        # decided so far (thousands by its last hits), this only the page's.
        if new := list(filterfalse(decided.__contains__, distinct)):
            self._decide(new, language, decided)
        matched = tuple(compress(distinct, map(decided.__getitem__, distinct)))
        hits = list(map(decided.__getitem__, forms)) if matched else []
        phrase_only: tuple[str, ...] = ()
        if matched and self.loose is not None:
            phrase_only = tuple(form for form in matched if not self.loose.matches(form, language))
            if phrase_only:
                hits = self._whole_phrases(forms, hits, set(phrase_only))
        marked = list(compress(range(len(hits)), hits))
        first = _best_window(marked)
        stop = min(first + SNIPPET_WORDS, len(forms))
        pieces: list[str] = [_ELLIPSIS] if first > 0 else []
        cursor = edges[2 * first]
        # Escaped a stretch at a time: the text between marked words, then each marked word.
        for index in marked[bisect_left(marked, first) : bisect_left(marked, stop)]:
            start, end = edges[2 * index], edges[2 * index + 1]
            word = html.escape(text[start:end])
            pieces += (html.escape(text[cursor:start]), f"<mark>{word}</mark>")
            cursor = end
        if stop < len(forms):
            pieces += (html.escape(text[cursor : edges[2 * stop - 1]]), _ELLIPSIS)
        else:
            pieces.append(html.escape(text[cursor:]))  # the page's closing punctuation
        snippet = " ".join("".join(pieces).split())  # OCR text is full of odd whitespace
        return snippet, matched, phrase_only

    def _whole_phrases(self, forms: list[str], hits: list[bool], only: set[str]) -> list[bool]:
        """``hits`` with the words in ``only`` kept where one of the phrases stands whole."""
        keys = list(map(itemgetter(1), map(_forms, forms)))
        whole = phrase_positions(keys, self.phrases)
        if whole is None:
            return hits
        kept = list(hits)
        for index in compress(range(len(forms)), hits):
            if index not in whole and forms[index] in only:
                kept[index] = False
        return kept


def phrase_positions(keys: list[str], phrases: tuple[tuple[str, ...], ...]) -> set[int] | None:
    """The positions of ``keys`` (folded words) where one of ``phrases`` stands whole; None
    when none of them does.

    The keys are joined with NULs and each phrase found as a string (in C, not a comparison
    per key): a page holds hundreds of keys, a phrase stands on it a few times. A key that
    holds a NUL itself (never a word) makes it compare key by key instead.
    """
    joined = "\x00" + "\x00".join(keys) + "\x00"
    if joined.count("\x00") != len(keys) + 1:
        return _phrase_positions_by_key(keys, phrases)
    whole: set[int] = set()
    for phrase in phrases:
        needle = "\x00" + "\x00".join(phrase) + "\x00"
        found = joined.find(needle)
        while found != -1:
            start = joined.count("\x00", 0, found)  # the key the phrase starts at
            whole.update(range(start, start + len(phrase)))
            found = joined.find(needle, found + 1)  # phrases may overlap ("a a" in "a a a")
    return whole or None


def _phrase_positions_by_key(
    keys: list[str], phrases: tuple[tuple[str, ...], ...]
) -> set[int] | None:
    whole: set[int] = set()
    for phrase in phrases:
        size, first = len(phrase), phrase[0]
        for start in range(len(keys) - size + 1):
            if keys[start] == first and tuple(keys[start : start + size]) == phrase:
                whole.update(range(start, start + size))
    return whole or None


@lru_cache(maxsize=200_000)
def _forms(word: str) -> tuple[str, str]:
    """A written word's normalized and accent-folded forms (shared by every search: pages
    of one archive keep using the same words)."""
    normalized = normalize(word)
    return normalized, fold(normalized)


def _best_window(marked: list[int]) -> int:
    """Index of the first word of the ``SNIPPET_WORDS`` window with the most marked words
    (``marked``: their indexes, ascending), the earliest such; 0 when none is.

    The window starts a few words before its first marked word when that is earlier, so
    the match has some context.
    """
    best, best_count, end = 0, 0, 0
    for start, index in enumerate(marked):  # the marked words from ``index`` on, in reach
        while end < len(marked) and marked[end] < index + SNIPPET_WORDS:
            end += 1
        # The earliest window holding them all (holding more is not possible for a best).
        earliest = max(0, marked[end - 1] - SNIPPET_WORDS + 1)
        if end - start > best_count or (end - start == best_count and earliest < best):
            best, best_count = earliest, end - start
    if not best_count:
        return 0
    first_marked = marked[bisect_left(marked, best)]
    return max(0, min(best, first_marked - 3))
