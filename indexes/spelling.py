"""Word completion and "did you mean", the same for every engine, from the index's own words.

Both answer only with words the searching principals may read: a stranger must not learn a
word that stands only on pages they cannot read. So every word an engine offers (from its
whole vocabulary, cheap to list) is checked against the principals' reader terms (one small
engine query each, that stops at the first readable page) before it is returned.

Why not a vocabulary per reader: it would be a copy of the index's term lists per principal
(each group and each share adds one), rewritten on every share. Why not Xapian's own spelling
suggestion (``Database.get_spelling_suggestion``): it returns the single best word of all
pages, and nothing when the word typed is itself indexed; whether it answers would then say
whether some page the searcher cannot read holds the word. Candidates here are found from the
index's terms, so an index written before these features answers without a reindex, and a
remote Xapian index (whose server cannot read spelling data) answers too.

Ranking uses the index's page frequencies, over all pages: like the relevance ranking (whose
term statistics are the whole index's), an order gives away nothing but which of two
readable words is more common overall.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from archivist.indexes.analysis import normalize
from archivist.indexes.query import And, Node, Not, Or, Phrase, Word

# A word of this many characters or fewer is respelled by one edit at most, longer ones by two.
SHORT_WORD = 4
# Candidates checked against the searcher's pages, per completion or per respelled word: the
# cost is bounded, and a searcher who reads little may see fewer completions (never a wrong one).
MAX_CHECKED = 200
# Words of a prefix an engine looks at per field (A to Z), to rank them by frequency.
MAX_LISTED = 20_000
# Prefixes this short have many words: an engine may keep their ranking until the next write.
CACHED_PREFIX = 3

_TOKEN = re.compile(r"[^\W_]+")


def edit_distance(a: str, b: str, limit: int) -> int:
    """Levenshtein distance with adjacent transpositions, or ``limit + 1`` once it is sure
    to exceed ``limit`` (what makes comparing against thousands of words affordable)."""
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    previous2: list[int] = []
    previous = list(range(len(b) + 1))
    for i, char in enumerate(a, start=1):
        current = [i] + [0] * len(b)
        for j, other in enumerate(b, start=1):
            cost = 0 if char == other else 1
            best = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
            if i > 1 and j > 1 and char == b[j - 2] and a[i - 2] == other:
                best = min(best, previous2[j - 2] + 1)
            current[j] = best
        if min(current) > limit:
            return limit + 1
        previous2, previous = previous, current
    return previous[-1]


def allowed_edits(word: str) -> int:
    return 1 if len(word) <= SHORT_WORD else 2


def nearest(word: str, candidates: Iterable[tuple[str, int]]) -> list[str]:
    """The candidates within :func:`allowed_edits` of ``word``, nearest first (fewest edits,
    then most frequent, then A to Z), at most :data:`MAX_CHECKED` of them."""
    limit = allowed_edits(word)
    near = []
    for candidate, frequency in candidates:
        if candidate != word and (distance := edit_distance(word, candidate, limit)) <= limit:
            near.append((distance, -frequency, candidate))
    return [candidate for _, _, candidate in sorted(near)[:MAX_CHECKED]]


def query_words(node: Node) -> list[str]:
    """The words of a query that a respelling may change: plain words and phrase words, not
    prefixes, filters or negated words, in query order, each once."""
    found: list[str] = []

    def walk(item: Node) -> None:
        if isinstance(item, Word):
            found.append(item.text)
        elif isinstance(item, Phrase):
            found.extend(item.words)
        elif isinstance(item, And | Or):
            for child in item.items:
                walk(child)
        elif isinstance(item, Not):
            return

    walk(node)
    return list(dict.fromkeys(found))


def respell(query: str, corrections: dict[str, str]) -> str:
    """``query`` with each word whose normalized form is in ``corrections`` replaced, keeping
    everything else as typed (operators, quotes, filters: a word right after ``:`` is a
    filter's value and stays)."""

    def replace(match: re.Match[str]) -> str:
        if match.start() > 0 and query[match.start() - 1] == ":":
            return match.group()
        return corrections.get(normalize(match.group()), match.group())

    return _TOKEN.sub(replace, query)
