"""The search resolver's highlight boxes: found in Page.words without decoding every row.

``archivist.graphql.search._highlights`` looks for the matched words in the JSON as stored and
decodes only their rows. These tests hold it to the plain way (decode every row, compare each
word's normal form), on pages that make the short cut hard: escaped quotes and backslashes,
text that looks like the row separator, control characters, case folding that changes a
word's length, ligatures, other JSON layouts, empty pages, and phrases.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from typing import Any

import pytest

from archivist.core.pages import Word, encode_words
from archivist.graphql.search import _compact_rows, _highlights, _normal
from archivist.indexes import PageHit
from archivist.indexes.analysis import fold, normalize
from archivist.indexes.highlight import _phrase_positions_by_key, phrase_positions


@dataclass
class StoredWords:
    """What _highlights reads of a Page."""

    words: str


TRICKY = [
    "Straße", 'say "hi"', "back\\slash", "ﬁle", "(Payment),", "],[", '],["', "payment",
    "İstanbul", "STRASSE", "of", "the", 'a", b', "x\\", "new\nline", "n", "1", "nul\x00here",
    "of", "the", "Of", "THE", "end.", ',"start', "\tpayment", "payment\n", "\x0cThe",
    "_of", "of_", "ofthe",
]  # fmt: skip


def reference(raw: str, hit: PageHit) -> list[dict[str, Any]]:
    """Every row decoded and compared, as the resolver did before it looked in the JSON."""
    rows = json.loads(raw or "[]")
    if not hit.matched_terms:
        return []
    wanted = {_normal(term) for term in hit.matched_terms}
    only = {_normal(term) for term in hit.phrase_only}
    keys = [_normal(row[0]) for row in rows]
    whole = (
        _phrase_positions_by_key([fold(normalize(key)) for key in keys], hit.phrases)
        if only
        else None
    )
    fields = ("text", "x0", "y0", "x1", "y1", "confidence")
    return [
        dict(zip(fields, row, strict=True))
        for index, row in enumerate(rows)
        if keys[index] in wanted and (whole is None or keys[index] not in only or index in whole)
    ]


def pages() -> list[str]:
    rng = random.Random(7)
    words = [
        Word(text, rng.uniform(0, 500), rng.uniform(0, 700), rng.uniform(0, 500), 700.5, 0.91)
        for text in TRICKY
    ]
    # Without the texts that make the JSON ambiguous to split (see _compact_rows), and with.
    plain = [word for word in words if word.text not in ("],[", ',"start')]
    found = [encode_words(plain), encode_words(plain[::-1]), encode_words(words), "[]", ""]
    rows = [[w.text, w.x0, w.y0, w.x1, w.y1, w.confidence] for w in words]
    found += [json.dumps(rows), json.dumps(rows, separators=(",", ":"))]  # other layouts
    for _ in range(20):
        found.append(encode_words(rng.sample(plain, len(plain))))
    return found


def test_both_ways_are_tested() -> None:
    """Most pages are split in the JSON; the ambiguous and other layouts are decoded."""
    split = [raw for raw in pages() if _compact_rows(raw) is not None]
    assert 20 <= len(split) < len(pages()) - 4


@pytest.mark.parametrize("raw", pages())
def test_boxes_are_those_of_decoding_every_row(raw: str) -> None:
    rng = random.Random(raw)
    terms = sorted(set(TRICKY) | {"file", "strasse", "istanbul", "hi", "line", "of", "payment"})
    checked = 0
    for _ in range(60):
        matched = tuple(rng.sample(terms, rng.randrange(1, 4)))
        for phrase in (False, True):
            hit = PageHit(
                1, 1, 1, 1.0, "", matched,
                phrase_only=matched[:1] if phrase else (),
                phrases=(("of", "the"),) if phrase else (),
            )  # fmt: skip
            expected = reference(raw, hit)
            assert _highlights({(1, 1): StoredWords(raw)}, hit) == expected, (matched, phrase)
            checked += bool(expected)
    if raw not in ("", "[]"):
        assert checked > 10  # the draws do find words


def test_a_phrase_marks_only_where_it_stands_whole() -> None:
    raw = encode_words(
        [Word(t, 1, 2, 3, 4, 1.0) for t in ["of", "the", "cat", "of", "a", "dog", "the"]]
    )
    hit = PageHit(1, 1, 1, 1.0, "", ("of", "the"), phrase_only=("of", "the"),
                  phrases=(("of", "the"),))  # fmt: skip
    boxes = _highlights({(1, 1): StoredWords(raw)}, hit)
    assert [box["text"] for box in boxes] == ["of", "the"]
    assert len(_highlights({(1, 1): StoredWords(raw)}, PageHit(1, 1, 1, 1.0, "", ("of",)))) == 2


def test_phrase_positions_by_search_and_by_key_agree() -> None:
    rng = random.Random(5)
    for _ in range(5_000):
        keys = [rng.choice(["a", "b", "ab", "", "c", "a\x00b"]) for _ in range(rng.randrange(12))]
        phrases = tuple(
            tuple(rng.choice(["a", "b", "ab", "c"]) for _ in range(rng.randrange(1, 4)))
            for _ in range(rng.randrange(1, 3))
        )
        assert phrase_positions(keys, phrases) == _phrase_positions_by_key(keys, phrases)
