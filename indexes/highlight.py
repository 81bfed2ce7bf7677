"""Snippets and matched word forms for page hits, the same for both engines.

Engines only say which pages matched; which words of a page matched is worked out here
from the query's positive text terms (those not under ``NOT``), with the engine's stemmer
and the page's language, so highlighting agrees with what the engine searched for.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from dataclasses import dataclass, field
from itertools import accumulate

from archivist.indexes.analysis import normalize, word_spans
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
    _stems: dict[str, set[str]] = field(default_factory=dict)  # language -> wanted stems
    _decided: dict[str, dict[str, bool]] = field(default_factory=dict)  # language -> word

    @classmethod
    def for_query(cls, node: Node, stem: Callable[[str, str], str | None]) -> Highlighter:
        """Collect the text terms of ``node`` that a page must (or may) contain."""
        highlighter = cls(stem)
        highlighter._collect(node)
        return highlighter

    def _collect(self, node: Node) -> None:
        if isinstance(node, And | Or):
            for item in node.items:
                self._collect(item)
        elif isinstance(node, Not):
            return  # a negated word is by definition absent from the page
        elif isinstance(node, Word) and node.field == "text":
            self.stemmable.add(node.text)
        elif isinstance(node, Phrase) and node.field == "text":
            self.plain.update(node.words)
        elif isinstance(node, Prefix) and node.field == "text":
            self.prefixes.add(node.text)

    def matches(self, word: str, language: str) -> bool:
        """Whether a page ``word`` (as written) in ``language`` is one the query looks for."""
        word = normalize(word)
        if word in self.plain or word in self.stemmable:
            return True
        if any(word.startswith(prefix) for prefix in self.prefixes):
            return True
        stems = self._stems.get(language)
        if stems is None:
            wanted = (self.stem(language, word) for word in self.stemmable)
            stems = self._stems[language] = {stem for stem in wanted if stem is not None}
        return bool(stems) and self.stem(language, word) in stems

    def highlight(self, text: str, language: str) -> tuple[str, tuple[str, ...]]:
        """Return ``(snippet, matched_terms)`` for a page.

        The snippet is the window of about ``SNIPPET_WORDS`` words with the most matches,
        HTML-escaped, matches in ``<mark>``; matched terms are the distinct word forms of
        the whole page as written, in order of first appearance.
        """
        spans = word_spans(text)
        forms = [text[start:end] for start, end in spans]
        # Pages repeat their words, and the hits of one search share many of them:
        # decide each written form once per language and search.
        decided = self._decided.setdefault(language, {})
        for form in set(forms).difference(decided):
            decided[form] = self.matches(form, language)
        hits = [decided[form] for form in forms]
        matched = tuple(dict.fromkeys(form for form, hit in zip(forms, hits, strict=True) if hit))
        if not spans:
            return "", ()
        first = _best_window(hits)
        last = min(first + SNIPPET_WORDS, len(spans)) - 1
        pieces: list[str] = [_ELLIPSIS] if first > 0 else []
        cursor = spans[first][0]
        for index in range(first, last + 1):
            start, end = spans[index]
            pieces.append(html.escape(text[cursor:start]))
            word = html.escape(text[start:end])
            pieces.append(f"<mark>{word}</mark>" if hits[index] else word)
            cursor = end
        if last < len(spans) - 1:
            pieces.append(_ELLIPSIS)
        else:
            pieces.append(html.escape(text[cursor:]))  # the page's closing punctuation
        snippet = " ".join("".join(pieces).split())  # OCR text is full of odd whitespace
        return snippet, matched


def _best_window(hits: list[bool]) -> int:
    """Index of the first word of the ``SNIPPET_WORDS`` window with the most hits.

    The window starts a few words before its first hit, so the match has some context.
    """
    if not any(hits):
        return 0
    running = [0, *accumulate(hits)]
    width = min(SNIPPET_WORDS, len(hits))
    counts = [running[start + width] - running[start] for start in range(len(hits) - width + 1)]
    best_start = counts.index(max(counts))
    first_hit = hits.index(True, best_start)
    return max(0, min(best_start, first_hit - 3))
