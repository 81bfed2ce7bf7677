"""Page text: words stored as JSON, and the plain text read from them in their order."""

from __future__ import annotations

import json
from collections.abc import Sequence

from archivist.core.words import Word


def encode_words(words: Sequence[Word]) -> str:
    """JSON for :attr:`Page.words`: [text, x0, y0, x1, y1, confidence] per word."""
    rows = [
        [w.text, *(round(v, 2) for v in (w.x0, w.y0, w.x1, w.y1)), round(w.confidence, 3)]
        for w in words
    ]
    return json.dumps(rows, ensure_ascii=False, separators=(",", ":"))


def decode_words(data: str) -> list[Word]:
    return [Word(t, x0, y0, x1, y1, c) for t, x0, y0, x1, y1, c in json.loads(data or "[]")]


def words_to_text(words: Sequence[Word]) -> str:
    """The words as lines of text, in the order given (reading order: see
    :mod:`archivist.core.reading_order`; a text layer's own order).

    The words are never re-sorted, so columns stay one after the other and right-to-left lines
    keep their logical order. A new line starts where a word's vertical middle leaves the
    current line's band (the next line, the top of the next column).
    """
    lines: list[list[str]] = []
    top = bottom = 0.0
    for word in words:
        middle = (word.y0 + word.y1) / 2
        if lines and top <= middle <= bottom:
            lines[-1].append(word.text)
            top, bottom = min(top, word.y0), max(bottom, word.y1)
        else:
            lines.append([word.text])
            top, bottom = word.y0, word.y1
    return "\n".join(" ".join(line) for line in lines)
