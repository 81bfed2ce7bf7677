"""Snippets and matched word forms for page hits, the same for both engines.

Engines only say which pages matched; which words of a page matched is worked out here
from the query's positive text terms (those not under ``NOT``), with the engine's stemmer
and the page's language, so highlighting agrees with what the engine searched for.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from itertools import accumulate
from operator import sub

from archivist.indexes.analysis import fold, is_cjk, normalize, word_spans, written_words
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
        return self._decide({word}, language, {})[word]

    def _decide(
        self, written: set[str], language: str, decided: dict[str, bool]
    ) -> dict[str, bool]:
        """Record in ``decided`` whether each written form matches; return ``decided``.

        One loop for all the new forms of a page: this runs for every hit of every search.
        """
        stems = self._stems.get(language)
        if stems is None:
            wanted = (self.stem(language, word) for word in self.stemmable)
            stems = self._stems[language] = {stem for stem in wanted if stem is not None}
        exact, prefixes = self._exact, self._prefixes
        folded_words, folded_prefixes = self.folded, self.folded_prefixes
        stem = self.stem
        for form in written:
            word, folded = _forms(form)
            # Plain and stemmable words, and single CJK characters (page text is cut into
            # them), then prefixes, accent-folded forms, and stems in the page's language.
            decided[form] = (
                word in exact
                or word.startswith(prefixes)
                or folded in folded_words
                or folded.startswith(folded_prefixes)
                or (bool(stems) and stem(language, word) in stems)
            )
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
        forms = written_words(text)
        if not forms:
            return "", (), ()
        # Pages repeat their words, and the hits of one search share many of them:
        # decide each written form once per language and search.
        decided = self._decided.setdefault(language, {})
        distinct = dict.fromkeys(forms)  # in order of first appearance
        self._decide(set(distinct).difference(decided), language, decided)
        matched = tuple(form for form in distinct if decided[form])
        hits = list(map(decided.__getitem__, forms)) if matched else [False] * len(forms)
        phrase_only: tuple[str, ...] = ()
        if matched and self.loose is not None:
            phrase_only = tuple(form for form in matched if not self.loose.matches(form, language))
            if phrase_only:
                hits = self._whole_phrases(forms, hits, set(phrase_only))
        first = _best_window(hits) if matched else 0
        stop = min(first + SNIPPET_WORDS, len(forms))
        spans = word_spans(text, first, stop)  # only the snippet's words need offsets
        pieces: list[str] = [_ELLIPSIS] if first > 0 else []
        cursor = spans[0][0]
        for index, (start, end) in enumerate(spans, start=first):
            pieces.append(html.escape(text[cursor:start]))
            word = html.escape(text[start:end])
            pieces.append(f"<mark>{word}</mark>" if hits[index] else word)
            cursor = end
        if stop < len(forms):
            pieces.append(_ELLIPSIS)
        else:
            pieces.append(html.escape(text[cursor:]))  # the page's closing punctuation
        snippet = " ".join("".join(pieces).split())  # OCR text is full of odd whitespace
        return snippet, matched, phrase_only

    def _whole_phrases(self, forms: list[str], hits: list[bool], only: set[str]) -> list[bool]:
        """``hits`` with the words in ``only`` kept where one of the phrases stands whole."""
        keys = [_forms(form)[1] for form in forms]
        whole = phrase_positions(keys, self.phrases)
        if whole is None:
            return hits
        return [hit and (form not in only or index in whole) for index, (form, hit) in
                enumerate(zip(forms, hits, strict=True))]  # fmt: skip


def phrase_positions(keys: list[str], phrases: tuple[tuple[str, ...], ...]) -> set[int] | None:
    """The positions of ``keys`` (folded words) where one of ``phrases`` stands whole; None
    when none of them does."""
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


def _best_window(hits: list[bool]) -> int:
    """Index of the first word of the ``SNIPPET_WORDS`` window with the most hits.

    The window starts a few words before its first hit, so the match has some context.
    """
    if not any(hits):
        return 0
    running = [0, *accumulate(hits)]
    width = min(SNIPPET_WORDS, len(hits))
    counts = list(map(sub, running[width:], running[: len(running) - width]))
    best_start = counts.index(max(counts))
    first_hit = hits.index(True, best_start)
    return max(0, min(best_start, first_hit - 3))
