"""Page text: words stored as JSON, and the plain text read from them in reading order."""

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
    """The words as lines of text: a word joins a line when it overlaps it vertically by half
    its height; lines are read top to bottom, words left to right."""
    lines: list[tuple[float, float, list[Word]]] = []  # (top, bottom, words)
    for word in sorted(words, key=lambda w: (w.y0 + w.y1) / 2):
        middle = (word.y0 + word.y1) / 2
        for index, (top, bottom, members) in enumerate(lines):
            if top <= middle <= bottom:
                members.append(word)
                lines[index] = (min(top, word.y0), max(bottom, word.y1), members)
                break
        else:
            lines.append((word.y0, word.y1, [word]))
    lines.sort(key=lambda line: line[0])
    return "\n".join(
        " ".join(w.text for w in sorted(members, key=lambda w: w.x0)) for _, _, members in lines
    )
